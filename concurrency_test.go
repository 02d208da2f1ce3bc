package oauthkit_test

// Concurrency tests: single-use things (authorization codes, rotated refresh
// tokens) presented by many goroutines at the same instant must be accepted
// exactly once. Run them under -race.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/pkce"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// concRacers is how many goroutines present the same grant at once.
const concRacers = 100

// concRedirectURI is the registered redirection URI of concClient.
const concRedirectURI = "https://client.example/callback"

// concServer is a server with memory stores and one confidential client,
// "app", whose secret is returned. The secret is hashed with HashSecret, so
// that a hundred client authentications cost microseconds, not the
// gigabytes of memory a hundred Argon2id runs would take.
func concServer(t *testing.T) (*oauthkit.Server, *memory.Tokens, string) {
	t.Helper()
	return concServerWithCodes(t, memory.NewCodes())
}

// concServerOneStore is concServer with codes and tokens in one
// memory.Store, which redeems a code and stores its tokens in one step.
func concServerOneStore(t *testing.T) (*oauthkit.Server, *memory.Tokens, string) {
	t.Helper()
	store := memory.NewStore()
	return concServerWith(t, store, store, store.Tokens)
}

// concServerWithCodes is concServer with the given code store.
func concServerWithCodes(t *testing.T, codes oauthkit.CodeStore) (*oauthkit.Server, *memory.Tokens, string) {
	t.Helper()
	tokens := memory.NewTokens()
	return concServerWith(t, codes, tokens, tokens)
}

// concServerWith is concServer with the given code and token stores;
// stored is where tokens keeps its tokens, returned for inspection.
func concServerWith(t *testing.T, codes oauthkit.CodeStore, tokens oauthkit.TokenStore, stored *memory.Tokens) (*oauthkit.Server, *memory.Tokens, string) {
	t.Helper()
	secret, hash, err := oauthkit.GenerateSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer: "https://auth.example.com",
		Clients: memory.NewClients(&oauthkit.Client{
			ID:           "app",
			SecretHash:   hash,
			RedirectURIs: []string{concRedirectURI},
			GrantTypes:   []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken},
			Scopes:       []string{"read"},
		}),
		Codes:  codes,
		Tokens: tokens,
		Authorizer: oauthkit.AuthorizerFunc(func(http.ResponseWriter, *http.Request, *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
			return &oauthkit.Consent{Subject: "alice"}, nil
		}),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return srv, stored, secret
}

// concCode runs an authorization request through srv and returns the code
// and its PKCE verifier.
func concCode(t *testing.T, srv *oauthkit.Server) (code, verifier string) {
	t.Helper()
	verifier, err := pkce.GenerateVerifier(nil)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {"app"},
		"redirect_uri":          {concRedirectURI},
		"scope":                 {"read"},
		"code_challenge":        {pkce.Challenge(verifier)},
		"code_challenge_method": {pkce.S256},
	}
	rec := httptest.NewRecorder()
	srv.AuthorizeHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/authorize?"+q.Encode(), nil))
	loc, err := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorization response: %d, Location %q; want 302 with a code", rec.Code, rec.Header().Get("Location"))
	}
	return loc.Query().Get("code"), verifier
}

// concTokenRequest is a token request from "app" with form as its body.
func concTokenRequest(form url.Values, secret string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app", secret)
	return req
}

// concOutcome is one token response, reduced to what the tests count.
type concOutcome struct {
	status int
	body   []byte
}

// key is "200" for a success and "<status> <error code>" for an error.
func (o concOutcome) key() string {
	if o.status == http.StatusOK {
		return "200"
	}
	var e struct {
		Error string `json:"error"`
	}
	json.Unmarshal(o.body, &e)
	return fmt.Sprintf("%d %s", o.status, e.Error)
}

// concRace sends n identical token requests to h at once: every goroutine
// builds its request, then waits at a start barrier until all are ready.
func concRace(h http.Handler, n int, form url.Values, secret string) []concOutcome {
	out := make([]concOutcome, n)
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			req := concTokenRequest(form, secret)
			rec := httptest.NewRecorder()
			ready.Done()
			<-start
			h.ServeHTTP(rec, req)
			out[i] = concOutcome{rec.Code, rec.Body.Bytes()}
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return out
}

// concTally counts outcomes by key and returns the body of the one success.
func concTally(outcomes []concOutcome) (map[string]int, oauthkit.TokenResponse) {
	counts := make(map[string]int)
	var win oauthkit.TokenResponse
	for _, o := range outcomes {
		counts[o.key()]++
		if o.status == http.StatusOK {
			json.Unmarshal(o.body, &win)
		}
	}
	return counts, win
}

// TestConcurrentRedemption presents one authorization code, and one refresh
// token, from concRacers goroutines at once: at most one gets tokens, every
// other gets invalid_grant, and since every loser is a replay, no token of
// the grant is live afterwards (RFC 6749 §4.1.2, §10.5; RFC 9700 §4.14.2).
//
// A refresh token rotates and stores its successors in one atomic call, so
// exactly one racer wins. A code is consumed before its tokens are stored,
// so a replay may revoke the grant in between; the winner is then refused
// too (RFC 6749 §4.1.2: deny, and revoke what the code issued), and nobody
// gets tokens.
func TestConcurrentRedemption(t *testing.T) {
	tests := []struct {
		name string
		// oneStore: codes and tokens in one memory.Store, which redeems a
		// code and stores its tokens in one step.
		oneStore bool
		// mayAllLose: whether the race may end with no winner.
		mayAllLose bool
		// form returns the request body all racers send.
		form func(t *testing.T, srv *oauthkit.Server, secret string) url.Values
	}{
		{
			name:       "authorization code",
			mayAllLose: true,
			form:       concCodeForm,
		},
		{
			// The winner's code is used if and only if its tokens are
			// stored, so there is always a winner (whose tokens the
			// replays then revoke).
			name:     "authorization code, one store",
			oneStore: true,
			form:     concCodeForm,
		},
		{
			name: "refresh token",
			form: func(t *testing.T, srv *oauthkit.Server, secret string) url.Values {
				code, verifier := concCode(t, srv)
				rec := httptest.NewRecorder()
				srv.TokenHandler().ServeHTTP(rec, concTokenRequest(url.Values{
					"grant_type":    {oauthkit.GrantTypeAuthorizationCode},
					"code":          {code},
					"redirect_uri":  {concRedirectURI},
					"code_verifier": {verifier},
				}, secret))
				var resp oauthkit.TokenResponse
				if err := json.Unmarshal(rec.Body.Bytes(), &resp); rec.Code != http.StatusOK || err != nil || resp.RefreshToken == "" {
					t.Fatalf("code exchange: %d %s", rec.Code, rec.Body)
				}
				return url.Values{
					"grant_type":    {oauthkit.GrantTypeRefreshToken},
					"refresh_token": {resp.RefreshToken},
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			newServer := concServer
			if tt.oneStore {
				newServer = concServerOneStore
			}
			srv, tokens, secret := newServer(t)
			form := tt.form(t, srv, secret)
			counts, win := concTally(concRace(srv.TokenHandler(), concRacers, form, secret))
			want := map[string]int{"200": 1, "400 invalid_grant": concRacers - 1}
			if tt.mayAllLose && counts["200"] == 0 {
				want = map[string]int{"400 invalid_grant": concRacers}
			}
			if diff := cmp.Diff(want, counts); diff != "" {
				t.Fatalf("outcomes of %d concurrent redemptions (-want +got):\n%s", concRacers, diff)
			}
			if counts["200"] == 0 {
				return
			}
			if win.AccessToken == "" || win.TokenType != "Bearer" {
				t.Errorf("winning response = %+v, want a Bearer access token", win)
			}
			// Every loser presented a used code or a rotated token: a
			// replay, which revokes the grant, the winner's tokens included.
			for name, raw := range map[string]string{"access": win.AccessToken, "refresh": win.RefreshToken} {
				if _, err := tokens.Token(t.Context(), oauthkit.HashToken(raw), time.Now()); err == nil {
					t.Errorf("the winner's %s token survived the detected replays", name)
				}
			}
		})
	}
}

// concCodeForm is the body of a code redemption for a new code of srv.
func concCodeForm(t *testing.T, srv *oauthkit.Server, _ string) url.Values {
	code, verifier := concCode(t, srv)
	return url.Values{
		"grant_type":    {oauthkit.GrantTypeAuthorizationCode},
		"code":          {code},
		"redirect_uri":  {concRedirectURI},
		"code_verifier": {verifier},
	}
}

// TestConcurrentIndependentFlows runs many complete flows (authorize,
// exchange, refresh) at once against one server, so that the race detector
// sees the handlers and the stores shared between requests.
func TestConcurrentIndependentFlows(t *testing.T) {
	const flows = 20
	srv, _, secret := concServer(t)
	errs := make([]error, flows)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range flows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = concFlow(srv, secret)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("flow %d: %v", i, err)
		}
	}
}

// concFlow runs one authorization code flow and one refresh through srv. It
// returns an error rather than failing a test, since it runs outside the
// test goroutine.
func concFlow(srv *oauthkit.Server, secret string) error {
	verifier, err := pkce.GenerateVerifier(nil)
	if err != nil {
		return err
	}
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {"app"},
		"code_challenge":        {pkce.Challenge(verifier)},
		"code_challenge_method": {pkce.S256},
		"state":                 {verifier[:8]},
	}
	rec := httptest.NewRecorder()
	srv.AuthorizeHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/authorize?"+q.Encode(), nil))
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil || rec.Code != http.StatusFound || loc.Query().Get("state") != verifier[:8] {
		return fmt.Errorf("authorization response %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	exchange := url.Values{
		"grant_type":    {oauthkit.GrantTypeAuthorizationCode},
		"code":          {loc.Query().Get("code")},
		"code_verifier": {verifier},
	}
	var first oauthkit.TokenResponse
	if err := concPost(srv, exchange, secret, &first); err != nil {
		return fmt.Errorf("code exchange: %w", err)
	}
	refresh := url.Values{"grant_type": {oauthkit.GrantTypeRefreshToken}, "refresh_token": {first.RefreshToken}}
	var second oauthkit.TokenResponse
	if err := concPost(srv, refresh, secret, &second); err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		return fmt.Errorf("refresh did not rotate the refresh token")
	}
	return nil
}

// concPost sends a token request and decodes a 200 response into resp.
func concPost(srv *oauthkit.Server, form url.Values, secret string, resp *oauthkit.TokenResponse) error {
	rec := httptest.NewRecorder()
	srv.TokenHandler().ServeHTTP(rec, concTokenRequest(form, secret))
	if rec.Code != http.StatusOK {
		return fmt.Errorf("status %d: %s", rec.Code, rec.Body)
	}
	return json.Unmarshal(rec.Body.Bytes(), resp)
}

// concGatedCodes is a CodeStore that holds up the first successful
// ConsumeCode, after the code is marked used, until release is closed: the
// window in which the token endpoint has redeemed a code but not yet stored
// its tokens.
type concGatedCodes struct {
	oauthkit.CodeStore
	consumed chan struct{} // closed when the first redemption is held
	release  chan struct{}
}

func (g *concGatedCodes) ConsumeCode(ctx context.Context, id, clientID string, now time.Time) (*oauthkit.AuthorizationCode, error) {
	c, err := g.CodeStore.ConsumeCode(ctx, id, clientID, now)
	if err == nil {
		close(g.consumed)
		<-g.release
	}
	return c, err
}

// TestConcurrentReplayDuringRedemption replays a code while its first
// redemption is between ConsumeCode and storing the tokens. The replay is
// refused and detected ("code already used"), so the tokens of the first
// redemption should not survive it (RFC 6749 §4.1.2).
func TestConcurrentReplayDuringRedemption(t *testing.T) {
	gate := &concGatedCodes{CodeStore: memory.NewCodes(), consumed: make(chan struct{}), release: make(chan struct{})}
	srv, tokens, secret := concServerWithCodes(t, gate)
	code, verifier := concCode(t, srv)
	form := url.Values{
		"grant_type":    {oauthkit.GrantTypeAuthorizationCode},
		"code":          {code},
		"redirect_uri":  {concRedirectURI},
		"code_verifier": {verifier},
	}
	first := make(chan concOutcome)
	go func() {
		rec := httptest.NewRecorder()
		srv.TokenHandler().ServeHTTP(rec, concTokenRequest(form, secret))
		first <- concOutcome{rec.Code, rec.Body.Bytes()}
	}()
	<-gate.consumed
	rec := httptest.NewRecorder()
	srv.TokenHandler().ServeHTTP(rec, concTokenRequest(form, secret))
	close(gate.release)
	won := <-first
	if got := (concOutcome{rec.Code, rec.Body.Bytes()}).key(); got != "400 invalid_grant" {
		t.Fatalf("replay answered %s, want 400 invalid_grant", got)
	}
	if won.status != http.StatusOK {
		// Refusing the first redemption too would also be safe.
		return
	}
	var resp oauthkit.TokenResponse
	if err := json.Unmarshal(won.body, &resp); err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]string{"access": resp.AccessToken, "refresh": resp.RefreshToken} {
		if _, err := tokens.Token(t.Context(), oauthkit.HashToken(raw), time.Now()); err == nil {
			t.Errorf("the %s token of the first redemption survived the detected replay", name)
		}
	}
}
