package oauthkit_test

// End-to-end tests: the server runs on an httptest.Server with its handlers
// mounted on a mux, and golang.org/x/oauth2 plays the client, finding the
// endpoints through the metadata document (RFC 8414) as a real client would.

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/memory"
)

const (
	// e2eRedirectURI is the registered redirection URI. Nothing listens
	// there: the tests read the redirect's Location instead of following it.
	e2eRedirectURI = "https://client.example/callback"
	// e2eAwkwardSecret holds every character that HTTP Basic authentication
	// or form encoding treats specially; RFC 6749 §2.3.1 has clients
	// form-urlencode the secret before Basic encoding it.
	e2eAwkwardSecret = "p@ss:w/rd+100% &k=v"
	// e2eUser and e2ePassword are a resource owner of e2eUsers; the
	// password, too, needs form encoding.
	e2eUser     = "bob"
	e2ePassword = "correct horse: battery/staple+1%&="
	// e2eUserSubject is the subject e2eUsers returns for e2eUser.
	e2eUserSubject = "user-bob"
)

// e2eMetadata is the part of the RFC 8414 §2 metadata document the tests
// read, with the field names of the RFC rather than the library's type, so
// that a wrong JSON name in the library is caught.
type e2eMetadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	// RFC 9207 §3.
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported"`
	// RFC 9126 §5.
	PushedAuthorizationRequestEndpoint string `json:"pushed_authorization_request_endpoint"`
	RequirePushedAuthorizationRequests bool   `json:"require_pushed_authorization_requests"`
}

// e2eEnv is a running server and what a test needs to talk to it.
type e2eEnv struct {
	ts     *httptest.Server
	tokens *memory.Tokens
	meta   e2eMetadata
	// ctx carries the test server's HTTP client to x/oauth2.
	ctx  context.Context
	logs *syncLog
	// faultsExpected turns off the check that nothing was logged.
	faultsExpected bool
}

// e2eStart runs a server with cfg, completed with memory stores (also the
// pushed-request store, if cfg.PAR is set), the test server's URL as issuer, a consenting Authorizer unless cfg has one, and a
// logger into e2eEnv.logs. It then discovers the endpoints from the metadata
// document. At the end of the test it checks that no internal fault was
// logged, unless faultsExpected is set.
func e2eStart(t *testing.T, cfg oauthkit.Config, clients ...*oauthkit.Client) *e2eEnv {
	t.Helper()
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	// One store for clients, codes and tokens, as a database would be: the
	// code exchange takes the one-transaction path (CodeRedeemer).
	store := memory.NewStore(clients...)
	e := &e2eEnv{ts: ts, tokens: store.Tokens, logs: &syncLog{}}
	cfg.Issuer = ts.URL
	cfg.Clients, cfg.Codes, cfg.Tokens = store, store, store
	if cfg.Authorizer == nil {
		cfg.Authorizer = e2eConsent("alice")
	}
	if cfg.PAR != nil {
		par := *cfg.PAR
		par.Store = store
		cfg.PAR = &par
	}
	cfg.Logger = slog.New(slog.NewTextHandler(e.logs, nil))
	srv, err := oauthkit.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux.Handle("/authorize", srv.AuthorizeHandler())
	mux.Handle("/token", srv.TokenHandler())
	mux.Handle("/par", srv.PushedAuthorizationHandler())
	mux.Handle("/.well-known/oauth-authorization-server", srv.MetadataHandler())
	e.ctx = context.WithValue(t.Context(), oauth2.HTTPClient, ts.Client())
	e.meta = e2eDiscover(t, ts.Client(), ts.URL)
	t.Cleanup(func() {
		if logs := e.logs.String(); logs != "" && !e.faultsExpected {
			t.Errorf("internal faults logged:\n%s", logs)
		}
	})
	return e
}

// e2eDiscover fetches the metadata document of issuer from its well-known
// URI (RFC 8414 §3) and checks that it names the same issuer (§3.3).
func e2eDiscover(t *testing.T, hc *http.Client, issuer string) e2eMetadata {
	t.Helper()
	resp, err := hc.Get(issuer + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatalf("fetching metadata: %v", err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "application/json" {
		t.Fatalf("metadata response: status %d, Content-Type %q; want 200 application/json", resp.StatusCode, ct)
	}
	var m e2eMetadata
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("decoding metadata: %v", err)
	}
	if m.Issuer != issuer {
		t.Fatalf("metadata issuer = %q, want %q (RFC 8414 §3.3)", m.Issuer, issuer)
	}
	return m
}

// e2eConsent is an Authorizer whose resource owner, subject, is signed in
// and approves every request.
func e2eConsent(subject string) oauthkit.Authorizer {
	return oauthkit.AuthorizerFunc(func(w http.ResponseWriter, r *http.Request, req *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
		return &oauthkit.Consent{Subject: subject, AuthTime: time.Now()}, nil
	})
}

// e2eUsers is a fake UserAuthenticator knowing e2eUser, or failing every
// call with fault when it is set.
type e2eUsers struct{ fault error }

func (u e2eUsers) AuthenticateUser(_ context.Context, username, password string) (string, error) {
	if u.fault != nil {
		return "", u.fault
	}
	if username != e2eUser || subtle.ConstantTimeCompare([]byte(password), []byte(e2ePassword)) != 1 {
		return "", fmt.Errorf("user %q: %w", username, oauthkit.ErrInvalidCredentials)
	}
	return e2eUserSubject, nil
}

// config returns an x/oauth2 client configuration for the discovered
// endpoints.
func (e *e2eEnv) config(clientID, secret string, style oauth2.AuthStyle, scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: secret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   e.meta.AuthorizationEndpoint,
			TokenURL:  e.meta.TokenEndpoint,
			AuthStyle: style,
		},
		RedirectURL: e2eRedirectURI,
		Scopes:      scopes,
	}
}

// authorize plays the browser: it opens conf's authorization URL and returns
// the parameters of the redirect back to the client, which it does not
// follow.
func (e *e2eEnv) authorize(t *testing.T, conf *oauth2.Config, state string, opts ...oauth2.AuthCodeOption) url.Values {
	t.Helper()
	browser := &http.Client{
		Transport: e.ts.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := browser.Get(conf.AuthCodeURL(state, opts...))
	if err != nil {
		t.Fatalf("authorization request: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("authorization response: status %d, want 302; body %q", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("Location %q: %v", resp.Header.Get("Location"), err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != conf.RedirectURL || loc.Fragment != "" {
		t.Fatalf("redirected to %q, want the query of %q", loc, conf.RedirectURL)
	}
	return loc.Query()
}

// code returns the code of a successful authorization response, after
// checking that the response also carries the state and, RFC 9207 §2, the
// issuer, and nothing else.
func (e *e2eEnv) code(t *testing.T, params url.Values, state string) string {
	t.Helper()
	code := params.Get("code")
	if code == "" {
		t.Fatalf("authorization response %v has no code", params)
	}
	rest := url.Values{}
	for k, v := range params {
		if k != "code" {
			rest[k] = v
		}
	}
	want := url.Values{"state": {state}, "iss": {e.ts.URL}}
	if diff := cmp.Diff(want, rest); diff != "" {
		t.Fatalf("authorization response parameters besides code (-want +got):\n%s", diff)
	}
	return code
}

// codeFlow runs the authorization code flow with PKCE (S256) for conf and
// returns the tokens.
func (e *e2eEnv) codeFlow(t *testing.T, conf *oauth2.Config) *oauth2.Token {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	state := rand.Text()
	code := e.code(t, e.authorize(t, conf, state, oauth2.S256ChallengeOption(verifier)), state)
	tok, err := conf.Exchange(e.ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return tok
}

// e2eIssued is what the tests check of a token response and the stored
// tokens behind it.
type e2eIssued struct {
	TokenType  string
	Scope      string
	HasRefresh bool
	Access     e2eStored
	Refresh    *e2eStored
}

// e2eStored is what the tests check of a stored token.
type e2eStored struct {
	Kind     oauthkit.TokenKind
	ClientID string
	Subject  string
	Scope    []string
}

// checkIssued checks a token response against want, and that its tokens are
// stored and active.
func (e *e2eEnv) checkIssued(t *testing.T, tok *oauth2.Token, want e2eIssued) {
	t.Helper()
	scope, _ := tok.Extra("scope").(string)
	got := e2eIssued{
		TokenType:  tok.Type(),
		Scope:      scope,
		HasRefresh: tok.RefreshToken != "",
		Access:     e.stored(t, tok.AccessToken),
	}
	if tok.RefreshToken != "" {
		r := e.stored(t, tok.RefreshToken)
		got.Refresh = &r
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("issued tokens (-want +got):\n%s", diff)
	}
	if now := time.Now(); !tok.Expiry.After(now.Add(oauthkit.DefaultAccessTokenLifetime-time.Minute)) || tok.Expiry.After(now.Add(oauthkit.DefaultAccessTokenLifetime)) {
		t.Errorf("access token expiry = %v, want about %v from now", tok.Expiry, oauthkit.DefaultAccessTokenLifetime)
	}
}

// stored looks up a raw token in the store; a missing token is reported as
// an empty e2eStored.
func (e *e2eEnv) stored(t *testing.T, raw string) e2eStored {
	t.Helper()
	st, err := e.tokens.Token(e.ctx, oauthkit.HashToken(raw), time.Now())
	switch {
	case errors.Is(err, oauthkit.ErrNotFound):
		return e2eStored{}
	case err != nil:
		t.Fatalf("store lookup: %v", err)
	}
	return e2eStored{Kind: st.Kind, ClientID: st.ClientID, Subject: st.Subject, Scope: st.Scope}
}

// checkRevoked checks that none of raws is an active token any more.
func (e *e2eEnv) checkRevoked(t *testing.T, raws ...string) {
	t.Helper()
	for i, raw := range raws {
		if got := e.stored(t, raw); got.Kind != 0 {
			t.Errorf("token %d is still stored after revocation: %+v", i, got)
		}
	}
}

// e2eRefresh asks conf's TokenSource for a token when it holds an expired
// one with refreshToken, so that it must refresh.
func e2eRefresh(e *e2eEnv, conf *oauth2.Config, refreshToken string) (*oauth2.Token, error) {
	expired := &oauth2.Token{AccessToken: "expired", RefreshToken: refreshToken, Expiry: time.Now().Add(-time.Hour)}
	return conf.TokenSource(e.ctx, expired).Token()
}

// e2eCheckRetrieveError checks that err is the token endpoint's error
// response with the given code and HTTP status.
func e2eCheckRetrieveError(t *testing.T, err error, wantCode string, wantStatus int) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v, want an *oauth2.RetrieveError %q", err, wantCode)
	}
	if re.ErrorCode != wantCode || re.Response.StatusCode != wantStatus {
		t.Errorf("token error = %d %q (%q), want %d %q", re.Response.StatusCode, re.ErrorCode, re.ErrorDescription, wantStatus, wantCode)
	}
	// RFC 6749 §5.2: a client that tried HTTP authentication gets 401 and a
	// challenge.
	if wwwAuth := re.Response.Header.Get("WWW-Authenticate"); wantStatus == http.StatusUnauthorized && !strings.HasPrefix(wwwAuth, "Basic ") {
		t.Errorf("WWW-Authenticate = %q, want a Basic challenge", wwwAuth)
	}
}

// e2eConfidentialClient registers the client "app" with the given secret
// hash and authentication method, for every grant the tests use.
func e2eConfidentialClient(hash, method string) *oauthkit.Client {
	return &oauthkit.Client{
		ID:           "app",
		SecretHash:   hash,
		AuthMethod:   method,
		RedirectURIs: []string{e2eRedirectURI},
		GrantTypes: []string{
			oauthkit.GrantTypeAuthorizationCode,
			oauthkit.GrantTypeRefreshToken,
			oauthkit.GrantTypeClientCredentials,
			oauthkit.GrantTypePassword,
		},
		Scopes:        []string{"read", "write"},
		DefaultScopes: []string{"read"},
	}
}

// e2eGrants is the Config.Grants of servers that serve every grant.
func e2eGrants(users oauthkit.UserAuthenticator) []oauthkit.GrantHandler {
	return []oauthkit.GrantHandler{grants.ClientCredentials{}, grants.Password{Users: users}}
}

// e2eAccess and e2eRefreshView describe the tokens of a successful grant.
func e2eAccess(clientID, subject string, scope ...string) e2eStored {
	return e2eStored{Kind: oauthkit.AccessToken, ClientID: clientID, Subject: subject, Scope: scope}
}

func e2eRefreshView(clientID, subject string, scope ...string) *e2eStored {
	return &e2eStored{Kind: oauthkit.RefreshToken, ClientID: clientID, Subject: subject, Scope: scope}
}

// TestE2EConfidentialClient runs every flow of a confidential client, with
// the secret in the Authorization header (client_secret_basic) and in the
// body (client_secret_post), and with a generated secret and a low-entropy
// one full of characters that need encoding.
func TestE2EConfidentialClient(t *testing.T) {
	styles := []struct {
		name       string
		style      oauth2.AuthStyle
		method     string
		otherStyle oauth2.AuthStyle // the style of the other method
	}{
		{"client_secret_basic", oauth2.AuthStyleInHeader, oauthkit.AuthMethodSecretBasic, oauth2.AuthStyleInParams},
		{"client_secret_post", oauth2.AuthStyleInParams, oauthkit.AuthMethodSecretPost, oauth2.AuthStyleInHeader},
	}
	secrets := []struct {
		name string
		make func() (secret, hash string, err error)
	}{
		{"generated secret", func() (string, string, error) { return oauthkit.GenerateSecret(nil) }},
		{"low-entropy secret with reserved characters", func() (string, string, error) {
			hash, err := oauthkit.HashLowEntropySecret(e2eAwkwardSecret)
			return e2eAwkwardSecret, hash, err
		}},
	}
	// statusFor is the status of invalid_client for a client that used style.
	statusFor := func(style oauth2.AuthStyle) int {
		if style == oauth2.AuthStyleInHeader {
			return http.StatusUnauthorized
		}
		return http.StatusBadRequest
	}
	flows := []struct {
		name string
		run  func(t *testing.T, e *e2eEnv, conf *oauth2.Config, otherStyle oauth2.AuthStyle)
	}{
		{"authorization code with PKCE", func(t *testing.T, e *e2eEnv, conf *oauth2.Config, _ oauth2.AuthStyle) {
			tok := e.codeFlow(t, conf)
			e.checkIssued(t, tok, e2eIssued{
				TokenType: "Bearer", Scope: "read write", HasRefresh: true,
				Access:  e2eAccess("app", "alice", "read", "write"),
				Refresh: e2eRefreshView("app", "alice", "read", "write"),
			})
		}},
		{"refresh token rotation and reuse detection", func(t *testing.T, e *e2eEnv, conf *oauth2.Config, _ oauth2.AuthStyle) {
			first := e.codeFlow(t, conf)
			second, err := e2eRefresh(e, conf, first.RefreshToken)
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if second.AccessToken == first.AccessToken || second.RefreshToken == first.RefreshToken {
				t.Fatalf("refresh did not issue a new access token and a new refresh token (RFC 9700 §4.14.2)")
			}
			e.checkIssued(t, second, e2eIssued{
				TokenType: "Bearer", Scope: "read write", HasRefresh: true,
				Access:  e2eAccess("app", "alice", "read", "write"),
				Refresh: e2eRefreshView("app", "alice", "read", "write"),
			})
			// The rotated token presented again is a replay: refused, and
			// the whole family revoked, the newest tokens included.
			_, err = e2eRefresh(e, conf, first.RefreshToken)
			e2eCheckRetrieveError(t, err, "invalid_grant", http.StatusBadRequest)
			_, err = e2eRefresh(e, conf, second.RefreshToken)
			e2eCheckRetrieveError(t, err, "invalid_grant", http.StatusBadRequest)
			e.checkRevoked(t, first.AccessToken, first.RefreshToken, second.AccessToken, second.RefreshToken)
		}},
		{"client credentials", func(t *testing.T, e *e2eEnv, conf *oauth2.Config, _ oauth2.AuthStyle) {
			cc := clientcredentials.Config{
				ClientID: conf.ClientID, ClientSecret: conf.ClientSecret,
				TokenURL: e.meta.TokenEndpoint, AuthStyle: conf.Endpoint.AuthStyle,
				Scopes: []string{"write"},
			}
			tok, err := cc.Token(e.ctx)
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			// No refresh token (RFC 6749 §4.4.3); the client is the subject.
			e.checkIssued(t, tok, e2eIssued{
				TokenType: "Bearer", Scope: "write",
				Access: e2eAccess("app", "app", "write"),
			})
		}},
		{"password with refresh", func(t *testing.T, e *e2eEnv, conf *oauth2.Config, _ oauth2.AuthStyle) {
			tok, err := conf.PasswordCredentialsToken(e.ctx, e2eUser, e2ePassword)
			if err != nil {
				t.Fatalf("PasswordCredentialsToken: %v", err)
			}
			want := e2eIssued{
				TokenType: "Bearer", Scope: "read write", HasRefresh: true,
				Access:  e2eAccess("app", e2eUserSubject, "read", "write"),
				Refresh: e2eRefreshView("app", e2eUserSubject, "read", "write"),
			}
			e.checkIssued(t, tok, want)
			next, err := e2eRefresh(e, conf, tok.RefreshToken)
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if next.RefreshToken == tok.RefreshToken {
				t.Errorf("refresh did not rotate the refresh token")
			}
			e.checkIssued(t, next, want)
			_, err = conf.PasswordCredentialsToken(e.ctx, e2eUser, "wrong")
			e2eCheckRetrieveError(t, err, "invalid_grant", http.StatusBadRequest)
		}},
		{"wrong secret", func(t *testing.T, e *e2eEnv, conf *oauth2.Config, _ oauth2.AuthStyle) {
			cc := clientcredentials.Config{
				ClientID: conf.ClientID, ClientSecret: conf.ClientSecret + "x",
				TokenURL: e.meta.TokenEndpoint, AuthStyle: conf.Endpoint.AuthStyle,
			}
			_, err := cc.Token(e.ctx)
			e2eCheckRetrieveError(t, err, "invalid_client", statusFor(conf.Endpoint.AuthStyle))
		}},
		{"registered method only", func(t *testing.T, e *e2eEnv, conf *oauth2.Config, otherStyle oauth2.AuthStyle) {
			// The right secret by another method than the registered one.
			cc := clientcredentials.Config{
				ClientID: conf.ClientID, ClientSecret: conf.ClientSecret,
				TokenURL: e.meta.TokenEndpoint, AuthStyle: otherStyle,
			}
			_, err := cc.Token(e.ctx)
			e2eCheckRetrieveError(t, err, "invalid_client", statusFor(otherStyle))
		}},
	}
	for _, st := range styles {
		for _, sec := range secrets {
			t.Run(st.name+"/"+sec.name, func(t *testing.T) {
				secret, hash, err := sec.make()
				if err != nil {
					t.Fatal(err)
				}
				e := e2eStart(t, oauthkit.Config{Grants: e2eGrants(e2eUsers{})}, e2eConfidentialClient(hash, st.method))
				for _, f := range flows {
					t.Run(f.name, func(t *testing.T) {
						f.run(t, e, e.config("app", secret, st.style, "read", "write"), st.otherStyle)
					})
				}
			})
		}
	}
}

// TestE2EAuthStyleAutoDetect checks that clients left with x/oauth2's default,
// which tries the Authorization header first and the body second, work: a
// failed client authentication must not use up the code or refresh token.
func TestE2EAuthStyleAutoDetect(t *testing.T) {
	secret, hash, err := oauthkit.GenerateSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	public := &oauthkit.Client{
		ID:           "spa",
		RedirectURIs: []string{e2eRedirectURI},
		GrantTypes:   []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken},
		Scopes:       []string{"read", "write"},
	}
	tests := []struct {
		name   string
		client *oauthkit.Client
		secret string
	}{
		{"client_secret_basic", e2eConfidentialClient(hash, oauthkit.AuthMethodSecretBasic), secret},
		{"client_secret_post", e2eConfidentialClient(hash, oauthkit.AuthMethodSecretPost), secret},
		{"no named method", e2eConfidentialClient(hash, ""), secret},
		{"public client", public, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e2eStart(t, oauthkit.Config{}, tt.client)
			conf := e.config(tt.client.ID, tt.secret, oauth2.AuthStyleAutoDetect, "read")
			tok := e.codeFlow(t, conf)
			next, err := e2eRefresh(e, conf, tok.RefreshToken)
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			e.checkIssued(t, next, e2eIssued{
				TokenType: "Bearer", Scope: "read", HasRefresh: true,
				Access:  e2eAccess(tt.client.ID, "alice", "read"),
				Refresh: e2eRefreshView(tt.client.ID, "alice", "read"),
			})
		})
	}
}

// TestE2ENoNamedAuthMethod checks that a client registered with a secret
// and no token_endpoint_auth_method may send its secret either way
// (RFC 6749 §2.3.1), as x/oauth2's AuthStyleInParams and AuthStyleInHeader
// do, through every grant it has; and that naming a method restricts it.
func TestE2ENoNamedAuthMethod(t *testing.T) {
	secret, hash, err := oauthkit.GenerateSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, style := range []struct {
		name  string
		style oauth2.AuthStyle
	}{{"InParams", oauth2.AuthStyleInParams}, {"InHeader", oauth2.AuthStyleInHeader}} {
		t.Run(style.name, func(t *testing.T) {
			e := e2eStart(t, oauthkit.Config{Grants: e2eGrants(nil)}, e2eConfidentialClient(hash, ""))
			conf := e.config("app", secret, style.style, "read")
			tok := e.codeFlow(t, conf)
			if _, err := e2eRefresh(e, conf, tok.RefreshToken); err != nil {
				t.Fatalf("refresh: %v", err)
			}
			cc := clientcredentials.Config{ClientID: "app", ClientSecret: secret, TokenURL: e.meta.TokenEndpoint, AuthStyle: style.style}
			if _, err := cc.Token(e.ctx); err != nil {
				t.Fatalf("client_credentials: %v", err)
			}
		})
	}
	t.Run("NamedMethodRestricts", func(t *testing.T) {
		e := e2eStart(t, oauthkit.Config{Grants: e2eGrants(nil)}, e2eConfidentialClient(hash, oauthkit.AuthMethodSecretBasic))
		cc := clientcredentials.Config{ClientID: "app", ClientSecret: secret, TokenURL: e.meta.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams}
		_, err := cc.Token(e.ctx)
		e2eCheckRetrieveError(t, err, "invalid_client", http.StatusBadRequest)
	})
}

// TestE2EPublicClient runs the code flow of a public client (no secret,
// token_endpoint_auth_method none), for which PKCE is mandatory.
func TestE2EPublicClient(t *testing.T) {
	e := e2eStart(t, oauthkit.Config{}, &oauthkit.Client{
		ID:           "spa",
		AuthMethod:   oauthkit.AuthMethodNone,
		RedirectURIs: []string{e2eRedirectURI},
		GrantTypes:   []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken},
		Scopes:       []string{"read", "write"},
	})
	conf := e.config("spa", "", oauth2.AuthStyleInParams, "read")

	t.Run("PKCE S256 and refresh", func(t *testing.T) {
		tok := e.codeFlow(t, conf)
		want := e2eIssued{
			TokenType: "Bearer", Scope: "read", HasRefresh: true,
			Access:  e2eAccess("spa", "alice", "read"),
			Refresh: e2eRefreshView("spa", "alice", "read"),
		}
		e.checkIssued(t, tok, want)
		next, err := e2eRefresh(e, conf, tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if next.RefreshToken == tok.RefreshToken {
			t.Errorf("refresh did not rotate the refresh token")
		}
		e.checkIssued(t, next, want)
	})

	t.Run("without PKCE", func(t *testing.T) {
		state := rand.Text()
		params := e.authorize(t, conf, state)
		got := url.Values{"error": params["error"], "state": params["state"], "iss": params["iss"], "code": params["code"]}
		want := url.Values{"error": {"invalid_request"}, "state": {state}, "iss": {e.ts.URL}, "code": nil}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("authorization response (-want +got):\n%s", diff)
		}
	})

	exchangeErrors := []struct {
		name       string
		conf       *oauth2.Config
		verifier   func(verifier string) []oauth2.AuthCodeOption
		wantCode   string
		wantStatus int
	}{
		{
			name: "wrong code_verifier",
			conf: conf,
			verifier: func(string) []oauth2.AuthCodeOption {
				return []oauth2.AuthCodeOption{oauth2.VerifierOption(oauth2.GenerateVerifier())}
			},
			wantCode:   "invalid_grant",
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "no code_verifier",
			conf:       conf,
			verifier:   func(string) []oauth2.AuthCodeOption { return nil },
			wantCode:   "invalid_grant",
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "malformed code_verifier",
			conf:       conf,
			verifier:   func(v string) []oauth2.AuthCodeOption { return []oauth2.AuthCodeOption{oauth2.VerifierOption(v + "+")} },
			wantCode:   "invalid_request",
			wantStatus: http.StatusBadRequest,
		},
		{
			// An empty Basic password is still Basic authentication, which
			// this client is not registered for.
			name:       "Authorization header with empty secret",
			conf:       e.config("spa", "", oauth2.AuthStyleInHeader, "read"),
			verifier:   func(v string) []oauth2.AuthCodeOption { return []oauth2.AuthCodeOption{oauth2.VerifierOption(v)} },
			wantCode:   "invalid_client",
			wantStatus: http.StatusUnauthorized,
		},
	}
	for _, tt := range exchangeErrors {
		t.Run(tt.name, func(t *testing.T) {
			verifier := oauth2.GenerateVerifier()
			state := rand.Text()
			code := e.code(t, e.authorize(t, tt.conf, state, oauth2.S256ChallengeOption(verifier)), state)
			_, err := tt.conf.Exchange(e.ctx, code, tt.verifier(verifier)...)
			e2eCheckRetrieveError(t, err, tt.wantCode, tt.wantStatus)
		})
	}
}

// TestE2EAuthorizationCodeErrors covers the ways a code flow goes wrong that
// a client sees.
func TestE2EAuthorizationCodeErrors(t *testing.T) {
	appSecret, appHash, err := oauthkit.GenerateSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	otherSecret, otherHash, err := oauthkit.GenerateSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	other := e2eConfidentialClient(otherHash, oauthkit.AuthMethodSecretBasic)
	other.ID = "other"
	other.RedirectURIs = append(other.RedirectURIs, "https://client.example/other")
	app := e2eConfidentialClient(appHash, oauthkit.AuthMethodSecretBasic)
	app.RedirectURIs = append(app.RedirectURIs, "https://client.example/other")

	t.Run("consent denied", func(t *testing.T) {
		deny := oauthkit.AuthorizerFunc(func(http.ResponseWriter, *http.Request, *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
			return nil, oauthkit.ErrAccessDenied.WithDescription("the user said no")
		})
		e := e2eStart(t, oauthkit.Config{Authorizer: deny}, app)
		conf := e.config("app", appSecret, oauth2.AuthStyleInHeader, "read")
		state := rand.Text()
		got := e.authorize(t, conf, state, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
		want := url.Values{"error": {"access_denied"}, "error_description": {"the user said no"}, "state": {state}, "iss": {e.ts.URL}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("authorization response (-want +got):\n%s", diff)
		}
	})

	t.Run("plain PKCE", func(t *testing.T) {
		e := e2eStart(t, oauthkit.Config{}, app)
		conf := e.config("app", appSecret, oauth2.AuthStyleInHeader, "read")
		state := rand.Text()
		v := oauth2.GenerateVerifier()
		params := e.authorize(t, conf, state,
			oauth2.SetAuthURLParam("code_challenge", v), oauth2.SetAuthURLParam("code_challenge_method", "plain"))
		if params.Get("error") != "invalid_request" || params.Has("code") {
			t.Errorf("authorization response = %v, want error invalid_request and no code (RFC 7636 §4.2, AllowPlainPKCE off)", params)
		}
	})

	// Each case gets a code for app and sends a token request built by
	// exchange; check then looks at the outcome.
	tests := []struct {
		name     string
		exchange func(e *e2eEnv, code, verifier string) (*oauth2.Token, error)
		wantCode string
	}{
		{
			name: "code replayed by its client",
			exchange: func(e *e2eEnv, code, verifier string) (*oauth2.Token, error) {
				conf := e.config("app", appSecret, oauth2.AuthStyleInHeader, "read")
				first, err := conf.Exchange(e.ctx, code, oauth2.VerifierOption(verifier))
				if err != nil {
					return nil, fmt.Errorf("first exchange: %w", err)
				}
				_, err = conf.Exchange(e.ctx, code, oauth2.VerifierOption(verifier))
				return first, err
			},
			wantCode: "invalid_grant",
		},
		{
			name: "code of another client",
			exchange: func(e *e2eEnv, code, verifier string) (*oauth2.Token, error) {
				conf := e.config("other", otherSecret, oauth2.AuthStyleInHeader, "read")
				_, err := conf.Exchange(e.ctx, code, oauth2.VerifierOption(verifier))
				return nil, err
			},
			wantCode: "invalid_grant",
		},
		{
			name: "redirect_uri differs from the authorization request",
			exchange: func(e *e2eEnv, code, verifier string) (*oauth2.Token, error) {
				conf := e.config("app", appSecret, oauth2.AuthStyleInHeader, "read")
				conf.RedirectURL = "https://client.example/other"
				_, err := conf.Exchange(e.ctx, code, oauth2.VerifierOption(verifier))
				return nil, err
			},
			wantCode: "invalid_grant",
		},
		{
			name: "wrong code_verifier",
			exchange: func(e *e2eEnv, code, _ string) (*oauth2.Token, error) {
				conf := e.config("app", appSecret, oauth2.AuthStyleInHeader, "read")
				_, err := conf.Exchange(e.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
				return nil, err
			},
			wantCode: "invalid_grant",
		},
		{
			name: "unknown code",
			exchange: func(e *e2eEnv, _, verifier string) (*oauth2.Token, error) {
				conf := e.config("app", appSecret, oauth2.AuthStyleInHeader, "read")
				_, err := conf.Exchange(e.ctx, rand.Text(), oauth2.VerifierOption(verifier))
				return nil, err
			},
			wantCode: "invalid_grant",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e2eStart(t, oauthkit.Config{}, app, other)
			conf := e.config("app", appSecret, oauth2.AuthStyleInHeader, "read")
			verifier := oauth2.GenerateVerifier()
			state := rand.Text()
			code := e.code(t, e.authorize(t, conf, state, oauth2.S256ChallengeOption(verifier)), state)
			first, err := tt.exchange(e, code, verifier)
			e2eCheckRetrieveError(t, err, tt.wantCode, http.StatusBadRequest)
			if first != nil {
				// RFC 6749 §4.1.2: tokens issued from a replayed code are
				// revoked.
				e.checkRevoked(t, first.AccessToken, first.RefreshToken)
			}
		})
	}

	t.Run("replay by another client revokes nothing", func(t *testing.T) {
		e := e2eStart(t, oauthkit.Config{}, app, other)
		conf := e.config("app", appSecret, oauth2.AuthStyleInHeader, "read")
		verifier := oauth2.GenerateVerifier()
		state := rand.Text()
		code := e.code(t, e.authorize(t, conf, state, oauth2.S256ChallengeOption(verifier)), state)
		tok, err := conf.Exchange(e.ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		stranger := e.config("other", otherSecret, oauth2.AuthStyleInHeader, "read")
		_, err = stranger.Exchange(e.ctx, code, oauth2.VerifierOption(verifier))
		e2eCheckRetrieveError(t, err, "invalid_grant", http.StatusBadRequest)
		e.checkIssued(t, tok, e2eIssued{
			TokenType: "Bearer", Scope: "read", HasRefresh: true,
			Access:  e2eAccess("app", "alice", "read"),
			Refresh: e2eRefreshView("app", "alice", "read"),
		})
	})
}

// TestE2EPasswordAuthenticatorFault checks that a failing UserAuthenticator
// gives the client a bare server_error and the operator a log line, with the
// password in neither.
func TestE2EPasswordAuthenticatorFault(t *testing.T) {
	secret, hash, err := oauthkit.GenerateSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	fault := errors.New("user directory unreachable at ldap://10.0.0.7")
	e := e2eStart(t, oauthkit.Config{Grants: e2eGrants(e2eUsers{fault: fault})}, e2eConfidentialClient(hash, oauthkit.AuthMethodSecretBasic))
	e.faultsExpected = true
	conf := e.config("app", secret, oauth2.AuthStyleInHeader, "read")
	_, err = conf.PasswordCredentialsToken(e.ctx, e2eUser, e2ePassword)
	e2eCheckRetrieveError(t, err, "server_error", http.StatusInternalServerError)
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && string(re.Body) != `{"error":"server_error"}` {
		t.Errorf("response body = %s, want only the error code", re.Body)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, fault.Error()) {
		t.Errorf("the cause is not logged; logs:\n%s", logs)
	}
	if strings.Contains(logs, e2ePassword) || strings.Contains(logs, secret) {
		t.Errorf("a password or secret was logged:\n%s", logs)
	}
}

// TestE2EMetadata checks the metadata document a client discovers, and that
// its endpoints are the ones the host mounted.
func TestE2EMetadata(t *testing.T) {
	e := e2eStart(t, oauthkit.Config{Grants: e2eGrants(e2eUsers{})})
	want := e2eMetadata{
		Issuer:                                     e.ts.URL,
		AuthorizationEndpoint:                      e.ts.URL + "/authorize",
		TokenEndpoint:                              e.ts.URL + "/token",
		ResponseTypesSupported:                     []string{"code"},
		ResponseModesSupported:                     []string{"query", "fragment", "form_post"},
		GrantTypesSupported:                        []string{"authorization_code", "client_credentials", "password", "refresh_token"},
		TokenEndpointAuthMethodsSupported:          []string{"client_secret_basic", "client_secret_post", "none"},
		CodeChallengeMethodsSupported:              []string{"S256"},
		AuthorizationResponseIssParameterSupported: true,
	}
	if diff := cmp.Diff(want, e.meta); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}

	methods := []struct {
		method     string
		wantStatus int
	}{
		{http.MethodGet, http.StatusOK},
		{http.MethodHead, http.StatusOK},
		{http.MethodPost, http.StatusMethodNotAllowed},
		{http.MethodDelete, http.StatusMethodNotAllowed},
	}
	for _, m := range methods {
		t.Run(m.method, func(t *testing.T) {
			req, err := http.NewRequestWithContext(e.ctx, m.method, e.ts.URL+"/.well-known/oauth-authorization-server", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := e.ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != m.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, m.wantStatus)
			}
		})
	}
}
