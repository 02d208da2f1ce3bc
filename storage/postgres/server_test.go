package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/storetest"
	"golang.org/x/oauth2"
)

// The test client: confidential, allowed every grant the tests use.
const (
	testIssuer      = "https://as.example.com"
	testClientID    = "app"
	testSecret      = "a-generated-client-secret-of-at-least-32-chars"
	testRedirectURI = "https://app.example.com/cb"
)

func testClient(t testing.TB) *oauthkit.Client {
	t.Helper()
	hash, err := oauthkit.HashSecret(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return &oauthkit.Client{
		ID:           testClientID,
		SecretHash:   hash,
		RedirectURIs: []string{testRedirectURI},
		GrantTypes: []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken,
			oauthkit.GrantTypeClientCredentials},
		Scopes: []string{"read", "write"},
	}
}

// instance is one authorization server on a store: its own oauthkit.Server
// behind its own httptest.Server, as one of several instances behind a load
// balancer would be.
type instance struct {
	store   storetest.TenantStore // a *Store, or a tenant's view of one
	handler http.Handler
	url     string
}

// newInstance starts a server on store. configure, if not nil, adjusts its
// Config.
func newInstance(t testing.TB, store storetest.TenantStore, configure func(*oauthkit.Config)) *instance {
	t.Helper()
	cfg := oauthkit.Config{
		Issuer:  testIssuer,
		Clients: store,
		Codes:   store,
		Tokens:  store,
		Grants:  []oauthkit.GrantHandler{grants.ClientCredentials{}},
		Authorizer: oauthkit.AuthorizerFunc(func(w http.ResponseWriter, r *http.Request, req *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
			return &oauthkit.Consent{Subject: "alice", AuthTime: time.Now()}, nil
		}),
		// Faults are expected in these tests; keep them out of the output.
		Logger: slog.New(slog.DiscardHandler),
	}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := oauthkit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/authorize", srv.AuthorizeHandler())
	mux.Handle("/token", srv.TokenHandler())
	if cfg.PAR != nil {
		mux.Handle("/par", srv.PushedAuthorizationHandler())
	}
	inst := &instance{store: store, handler: mux}
	if _, ok := t.(*testing.T); ok {
		ts := httptest.NewServer(mux)
		t.Cleanup(ts.Close)
		inst.url = ts.URL
	}
	return inst
}

// oauth2Config is the test client's configuration for golang.org/x/oauth2,
// authorizing at one instance and exchanging at another.
func oauth2Config(authorizeAt, tokenAt *instance) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     testClientID,
		ClientSecret: testSecret,
		RedirectURL:  testRedirectURI,
		Scopes:       []string{"read"},
		Endpoint: oauth2.Endpoint{
			AuthURL:   authorizeAt.url + "/authorize",
			TokenURL:  tokenAt.url + "/token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
	}
}

// noRedirects is an HTTP client that returns redirects instead of
// following them.
var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

// authorize runs an authorization request at inst and returns the code and
// its PKCE verifier.
func authorize(t testing.TB, inst *instance) (code, verifier string) {
	t.Helper()
	verifier = oauth2.GenerateVerifier()
	resp, err := noRedirects.Get(oauth2Config(inst, inst).AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("authorization response: %s, Location %q, want 302 with a code", resp.Status, resp.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("code") == "" || q.Get("state") != "st" || q.Get("iss") != testIssuer {
		t.Fatalf("authorization response redirects to %s, want a code, state=st and iss=%s", loc, testIssuer)
	}
	return q.Get("code"), verifier
}

// tokenResponse is a token endpoint response, success or error.
type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	RefreshToken     string `json:"refresh_token"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// tokenRequest returns a token request from the test client.
func tokenRequest(form url.Values) *http.Request { return encodedTokenRequest(form.Encode()) }

// encodedTokenRequest is tokenRequest with the form encoded.
func encodedTokenRequest(form string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(testClientID, testSecret)
	return r
}

// postToken sends a token request to inst over HTTP.
func postToken(t testing.TB, inst *instance, form url.Values) (int, tokenResponse, string) {
	t.Helper()
	status, tr, body, err := doToken(t.Context(), inst, form)
	if err != nil {
		t.Fatal(err)
	}
	return status, tr, body
}

// doToken is postToken for goroutines other than the test's.
func doToken(ctx context.Context, inst *instance, form url.Values) (int, tokenResponse, string, error) {
	r := tokenRequest(form)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, inst.url+"/token", r.Body)
	if err != nil {
		return 0, tokenResponse{}, "", err
	}
	req.Header = r.Header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, tokenResponse{}, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, tokenResponse{}, "", err
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return 0, tokenResponse{}, "", fmt.Errorf("token response %s: %q is not JSON: %v", resp.Status, body, err)
	}
	return resp.StatusCode, tr, string(body), nil
}

// serveToken sends a token request to inst's handler in process.
func serveToken(inst *instance, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	inst.handler.ServeHTTP(w, r)
	return w
}

func codeForm(code, verifier string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {testRedirectURI}, "code_verifier": {verifier}}
}

func refreshForm(refresh string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}
}

var clientCredentialsForm = url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}

// TestServerHardening checks, through the token endpoint on PostgreSQL,
// two store changes of the hardening issue: a stranger's attempt to redeem
// another client's code changes nothing, so that the owner's redemption
// still succeeds and is no replay (issue 7, item 6); and a client's own
// token is stored as such, a user's as a user's (item 7).
func TestServerHardening(t *testing.T) {
	db := newTestDB(t)
	inst := newInstance(t, db.store(t), nil)
	stranger := testClient(t)
	stranger.ID = "stranger"
	for _, c := range []*oauthkit.Client{testClient(t), stranger} {
		if err := inst.store.CreateClient(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("StrangerCannotBurnCode", func(t *testing.T) {
		code, verifier := authorize(t, inst)
		r := tokenRequest(codeForm(code, verifier))
		r.SetBasicAuth(stranger.ID, testSecret)
		if w := serveToken(inst, r); w.Code != http.StatusBadRequest || decodeToken(t, w).Error != "invalid_grant" {
			t.Errorf("redemption by another client: %d %s, want 400 invalid_grant", w.Code, w.Body)
		}
		w := serveToken(inst, tokenRequest(codeForm(code, verifier)))
		if w.Code != http.StatusOK {
			t.Fatalf("redemption by the code's client after a stranger's attempt: %d %s, want 200", w.Code, w.Body)
		}
		if _, err := inst.store.Token(t.Context(), oauthkit.HashToken(decodeToken(t, w).AccessToken), time.Now()); err != nil {
			t.Errorf("the owner's access token: %v, want it stored (not revoked as by a replay)", err)
		}
	})

	t.Run("SubjectIsClient", func(t *testing.T) {
		code, verifier := authorize(t, inst)
		cases := []struct {
			name string
			form url.Values
			want bool
		}{
			{"ClientCredentials", clientCredentialsForm, true},
			{"AuthorizationCode", codeForm(code, verifier), false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				w := serveToken(inst, tokenRequest(tc.form))
				if w.Code != http.StatusOK {
					t.Fatalf("%d %s", w.Code, w.Body)
				}
				tok, err := inst.store.Token(t.Context(), oauthkit.HashToken(decodeToken(t, w).AccessToken), time.Now())
				if err != nil {
					t.Fatal(err)
				}
				if tok.SubjectIsClient != tc.want {
					t.Errorf("stored SubjectIsClient = %v (subject %q), want %v", tok.SubjectIsClient, tok.Subject, tc.want)
				}
			})
		}
	})
}
