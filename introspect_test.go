package oauthkit_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/jwt"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// Fixture values of the token service tests.
const (
	svcIssuer          = "https://auth.example.com"
	svcRedirect        = "https://client.example/cb"
	svcSubject         = "alice"
	svcACR             = "urn:example:acr:password"
	svcAccessLifetime  = 10 * time.Minute
	svcRefreshLifetime = 24 * time.Hour
)

// svcClock is an injectable Config.Now that tests move forward.
type svcClock struct {
	mu sync.Mutex
	t  time.Time
}

func svcNewClock() *svcClock {
	return &svcClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
}

func (c *svcClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *svcClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// svcCreds is how a test request authenticates its client.
type svcCreds struct {
	id, secret string
	method     string // an oauthkit.AuthMethod… constant, or "" for no credentials at all
}

// addTo adds the credentials that travel in the body to form.
func (c svcCreds) addTo(form url.Values) {
	switch c.method {
	case oauthkit.AuthMethodSecretPost:
		form.Set("client_id", c.id)
		form.Set("client_secret", c.secret)
	case oauthkit.AuthMethodNone:
		form.Set("client_id", c.id)
	}
}

// setHeader adds the credentials that travel in the Authorization header
// (RFC 6749 §2.3.1: each part form-encoded, then Basic).
func (c svcCreds) setHeader(r *http.Request) {
	if c.method == oauthkit.AuthMethodSecretBasic {
		r.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	}
}

// svcClientSpec describes a registered client of the fixture and its secret.
type svcClientSpec struct {
	method   string
	secret   string
	grants   []string
	audience []string
	format   string
}

var svcCodeGrants = []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken, oauthkit.GrantTypeClientCredentials}

// svcClients are the fixture's clients: web apps with opaque and JWT access
// tokens, one whose tokens are for the resource server "rs", resource
// servers, a public client and a stranger.
var svcClients = map[string]svcClientSpec{
	"app":     {method: oauthkit.AuthMethodSecretBasic, secret: "app-secret-0123456789abcdefghijklmnopqrstuv", grants: svcCodeGrants},
	"jwt-app": {method: oauthkit.AuthMethodSecretBasic, secret: "jwt-secret-0123456789abcdefghijklmnopqrstuv", grants: svcCodeGrants, audience: []string{"rs"}, format: "jwt"},
	"aud-app": {method: oauthkit.AuthMethodSecretBasic, secret: "aud-secret-0123456789abcdefghijklmnopqrstuv", grants: svcCodeGrants, audience: []string{"rs"}},
	"other":   {method: oauthkit.AuthMethodSecretBasic, secret: "oth-secret-0123456789abcdefghijklmnopqrstuv", grants: svcCodeGrants},
	"rs":      {method: oauthkit.AuthMethodSecretBasic, secret: "rs--secret-0123456789abcdefghijklmnopqrstuv"},
	"rs-post": {method: oauthkit.AuthMethodSecretPost, secret: "rsp-secret-0123456789abcdefghijklmnopqrstuv"},
	"spa":     {method: oauthkit.AuthMethodNone, grants: svcCodeGrants[:2]},
}

// svcAs returns the credentials with which the fixture client id
// authenticates by its registered method.
func svcAs(id string) svcCreds {
	spec := svcClients[id]
	return svcCreds{id: id, secret: spec.secret, method: spec.method}
}

// svcEnv is a server over in-memory stores with a movable clock.
type svcEnv struct {
	srv    *oauthkit.Server
	clock  *svcClock
	signer *oidcSigner
	tokens *svcFaultyTokens
	log    *syncLog
}

// svcNewEnv builds the fixture server; mod, if not nil, adjusts the Config
// before New.
func svcNewEnv(t *testing.T, mod func(*oauthkit.Config)) *svcEnv {
	t.Helper()
	e := &svcEnv{
		clock:  svcNewClock(),
		signer: oidcNewSigner(t),
		tokens: &svcFaultyTokens{TokenStore: memory.NewTokens()},
		log:    &syncLog{},
	}
	clients := memory.NewClients()
	for id, spec := range svcClients {
		c := &oauthkit.Client{
			ID:                id,
			AuthMethod:        spec.method,
			RedirectURIs:      []string{svcRedirect},
			GrantTypes:        spec.grants,
			Scopes:            []string{"read", "write", "openid"},
			DefaultScopes:     []string{"read"},
			Audience:          spec.audience,
			AccessTokenFormat: spec.format,
		}
		if spec.secret != "" {
			hash, err := oauthkit.HashSecret(spec.secret)
			if err != nil {
				t.Fatal(err)
			}
			c.SecretHash = hash
		}
		clients.Put(c)
	}
	cfg := oauthkit.Config{
		Issuer:             svcIssuer,
		Clients:            clients,
		Codes:              memory.NewCodes(),
		Tokens:             e.tokens,
		AccessTokenFormats: map[string]oauthkit.TokenIssuer{"jwt": &jwt.AccessTokens{Keys: e.signer.KeySet}},
		Grants:             []oauthkit.GrantHandler{grants.ClientCredentials{}},
		Authorizer: oauthkit.AuthorizerFunc(func(w http.ResponseWriter, r *http.Request, req *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
			return &oauthkit.Consent{Subject: svcSubject, AuthTime: e.clock.Now().Add(-time.Minute), ACR: svcACR}, nil
		}),
		AccessTokenLifetime:  svcAccessLifetime,
		RefreshTokenLifetime: svcRefreshLifetime,
		Now:                  e.clock.Now,
		Logger:               slog.New(slog.NewTextHandler(e.log, nil)),
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := oauthkit.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.srv = srv
	return e
}

// svcDo sends a form request to h, authenticated with creds.
func svcDo(h http.Handler, method string, creds svcCreds, form url.Values) *httptest.ResponseRecorder {
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	creds.addTo(f)
	r := httptest.NewRequest(method, svcIssuer+"/endpoint", strings.NewReader(f.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	creds.setHeader(r)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// svcAuthorize runs an authorization request through the endpoint and
// returns the redirect's parameters.
func svcAuthorize(t *testing.T, srv *oauthkit.Server, q url.Values) url.Values {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, svcIssuer+"/authorize?"+q.Encode(), nil)
	rec := httptest.NewRecorder()
	srv.AuthorizeHandler().ServeHTTP(rec, r)
	if rec.Code != http.StatusFound {
		t.Fatalf("authorize: status %d, body %q", rec.Code, rec.Body)
	}
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if loc.Fragment != "" {
		params, err := url.ParseQuery(loc.Fragment)
		if err != nil {
			t.Fatal(err)
		}
		return params
	}
	return loc.Query()
}

// svcCodeFlow runs the authorization code flow with PKCE for a fixture
// client and returns the token response.
func svcCodeFlow(t *testing.T, e *svcEnv, clientID, scope string) oauthkit.TokenResponse {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	params := svcAuthorize(t, e.srv, url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {svcRedirect},
		"scope":                 {scope},
		"state":                 {"st"},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	})
	code := params.Get("code")
	if code == "" {
		t.Fatalf("authorize: no code in %v", params)
	}
	rec := svcDo(e.srv.TokenHandler(), http.MethodPost, svcAs(clientID), url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {svcRedirect},
		"code_verifier": {verifier},
	})
	return svcTokenResponse(t, rec)
}

// svcRefresh exchanges a refresh token and returns the recorder.
func svcRefresh(e *svcEnv, clientID, refreshToken string) *httptest.ResponseRecorder {
	return svcDo(e.srv.TokenHandler(), http.MethodPost, svcAs(clientID), url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
	})
}

func svcTokenResponse(t *testing.T, rec *httptest.ResponseRecorder) oauthkit.TokenResponse {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("token: status %d, body %s", rec.Code, rec.Body)
	}
	var tr oauthkit.TokenResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

// svcIntrospect asks the introspection endpoint about token as caller and
// returns the decoded 200 response.
func svcIntrospect(t *testing.T, e *svcEnv, caller, token string) map[string]any {
	t.Helper()
	rec := svcDo(e.srv.IntrospectionHandler(), http.MethodPost, svcAs(caller), url.Values{"token": {token}})
	if rec.Code != http.StatusOK {
		t.Fatalf("introspect: status %d, body %s", rec.Code, rec.Body)
	}
	if got, want := rec.Header().Get("Content-Type"), "application/json;charset=UTF-8"; got != want {
		t.Errorf("introspect: Content-Type %q, want %q", got, want)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("introspect: Cache-Control %q, want no-store", got)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("introspect: %v in %s", err, rec.Body)
	}
	return m
}

// svcRevoke revokes token as caller and returns the recorder.
func svcRevoke(e *svcEnv, caller, token, hint string) *httptest.ResponseRecorder {
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	return svcDo(e.srv.RevocationHandler(), http.MethodPost, svcAs(caller), form)
}

var svcInactive = map[string]any{"active": false}

// svcErrorBody decodes an RFC 6749 §5.2 error response.
func svcErrorBody(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("error body %q: %v", rec.Body, err)
	}
	return m
}

// svcFaultyTokens is a TokenStore whose reads or revocations can be made to
// fail as an unreachable database would.
type svcFaultyTokens struct {
	oauthkit.TokenStore
	failReads, failRevokes atomic.Bool
}

var svcErrDatabase = errors.New("svc: connection to 10.0.0.7:5432 refused")

func (f *svcFaultyTokens) Token(ctx context.Context, id string, now time.Time) (*oauthkit.Token, error) {
	if f.failReads.Load() {
		return nil, svcErrDatabase
	}
	return f.TokenStore.Token(ctx, id, now)
}

func (f *svcFaultyTokens) RevokeToken(ctx context.Context, id string) error {
	if f.failRevokes.Load() {
		return svcErrDatabase
	}
	return f.TokenStore.RevokeToken(ctx, id)
}

func (f *svcFaultyTokens) RevokeGrant(ctx context.Context, grantID string) error {
	if f.failRevokes.Load() {
		return svcErrDatabase
	}
	return f.TokenStore.RevokeGrant(ctx, grantID)
}

// svcJTI reads the jti of a JWT access token without verifying it.
func svcJTI(t *testing.T, raw string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", raw)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		JTI string `json:"jti"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.JTI == "" {
		t.Fatalf("no jti in %s: %v", payload, err)
	}
	return c.JTI
}

// svcIssued is one token handed out by the fixture, with what it should
// introspect as.
type svcIssued struct {
	value    string
	kind     oauthkit.TokenKind
	client   string
	refresh  string // the refresh token issued alongside
	issuedAt time.Time
	lifetime time.Duration
}

// svcKinds are the token kinds of the fixture: how to obtain one and which
// client owns it.
var svcKinds = []struct {
	name   string
	client string
	kind   oauthkit.TokenKind
}{
	{"opaque access token", "app", oauthkit.AccessToken},
	{"opaque access token with audience", "aud-app", oauthkit.AccessToken},
	{"JWT access token", "jwt-app", oauthkit.AccessToken},
	{"refresh token", "app", oauthkit.RefreshToken},
	{"refresh token of a JWT client", "jwt-app", oauthkit.RefreshToken},
}

func svcIssue(t *testing.T, e *svcEnv, client string, kind oauthkit.TokenKind) svcIssued {
	t.Helper()
	issuedAt := e.clock.Now()
	tr := svcCodeFlow(t, e, client, "read write")
	if tr.RefreshToken == "" {
		t.Fatal("no refresh token issued")
	}
	if kind == oauthkit.RefreshToken {
		return svcIssued{value: tr.RefreshToken, kind: kind, client: client, refresh: tr.RefreshToken, issuedAt: issuedAt, lifetime: svcRefreshLifetime}
	}
	return svcIssued{value: tr.AccessToken, kind: kind, client: client, refresh: tr.RefreshToken, issuedAt: issuedAt, lifetime: svcAccessLifetime}
}

// svcLiveResponse is the RFC 7662 §2.2 response for a live token: every
// member the fixture's tokens carry.
func svcLiveResponse(tok svcIssued) map[string]any {
	m := map[string]any{
		"active":    true,
		"scope":     "read write",
		"client_id": tok.client,
		"sub":       svcSubject,
		"exp":       float64(tok.issuedAt.Add(tok.lifetime).Unix()),
		"iat":       float64(tok.issuedAt.Unix()),
		"iss":       svcIssuer,
		"auth_time": float64(tok.issuedAt.Add(-time.Minute).Unix()),
		"acr":       svcACR,
	}
	m["token_type"] = "Bearer"
	if tok.kind == oauthkit.RefreshToken {
		m["token_type"] = "refresh_token" // never to be taken for a bearer token
	}
	if aud := svcClients[tok.client].audience; aud != nil {
		a := make([]any, len(aud))
		for i, v := range aud {
			a[i] = v
		}
		m["aud"] = a
	}
	return m
}

func TestIntrospectTokenStates(t *testing.T) {
	states := []struct {
		name string
		// prepare changes the world after tok was issued and returns the
		// token to present.
		prepare     func(t *testing.T, e *svcEnv, tok svcIssued) string
		refreshOnly bool
		active      bool
	}{
		{
			name:    "live",
			prepare: func(t *testing.T, e *svcEnv, tok svcIssued) string { return tok.value },
			active:  true,
		},
		{
			name: "one second before expiry",
			prepare: func(t *testing.T, e *svcEnv, tok svcIssued) string {
				e.clock.Advance(tok.lifetime - time.Second)
				return tok.value
			},
			active: true,
		},
		{
			name: "expired at exp",
			prepare: func(t *testing.T, e *svcEnv, tok svcIssued) string {
				e.clock.Advance(tok.lifetime)
				return tok.value
			},
		},
		{
			name: "long expired",
			prepare: func(t *testing.T, e *svcEnv, tok svcIssued) string {
				e.clock.Advance(tok.lifetime + 365*24*time.Hour)
				return tok.value
			},
		},
		{
			name: "revoked",
			prepare: func(t *testing.T, e *svcEnv, tok svcIssued) string {
				if rec := svcRevoke(e, tok.client, tok.value, ""); rec.Code != http.StatusOK {
					t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
				}
				return tok.value
			},
		},
		{
			name: "grant revoked by refresh token revocation",
			prepare: func(t *testing.T, e *svcEnv, tok svcIssued) string {
				if rec := svcRevoke(e, tok.client, tok.refresh, ""); rec.Code != http.StatusOK {
					t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
				}
				return tok.value
			},
		},
		{
			name: "rotated",
			prepare: func(t *testing.T, e *svcEnv, tok svcIssued) string {
				svcTokenResponse(t, svcRefresh(e, tok.client, tok.value))
				return tok.value
			},
			refreshOnly: true,
		},
		{
			name: "family revoked after reuse of a rotated token",
			prepare: func(t *testing.T, e *svcEnv, tok svcIssued) string {
				next := svcTokenResponse(t, svcRefresh(e, tok.client, tok.value))
				if rec := svcRefresh(e, tok.client, tok.value); rec.Code != http.StatusBadRequest {
					t.Fatalf("reuse: %d %s", rec.Code, rec.Body)
				}
				return next.RefreshToken
			},
			refreshOnly: true,
		},
	}
	for _, kind := range svcKinds {
		for _, st := range states {
			if st.refreshOnly && kind.kind != oauthkit.RefreshToken {
				continue
			}
			t.Run(kind.name+"/"+st.name, func(t *testing.T) {
				e := svcNewEnv(t, nil)
				tok := svcIssue(t, e, kind.client, kind.kind)
				present := st.prepare(t, e, tok)
				want := svcInactive
				if st.active {
					want = svcLiveResponse(tok)
				}
				got := svcIntrospect(t, e, kind.client, present)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("introspection (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestIntrospectVisibility(t *testing.T) {
	tests := []struct {
		name   string
		client string
		kind   oauthkit.TokenKind
		caller string
		active bool
	}{
		{"access token to its client", "app", oauthkit.AccessToken, "app", true},
		{"access token without audience to another client", "app", oauthkit.AccessToken, "other", true},
		{"access token without audience to a resource server", "app", oauthkit.AccessToken, "rs", true},
		{"access token with audience to its client", "aud-app", oauthkit.AccessToken, "aud-app", true},
		{"access token with audience to an audience member", "aud-app", oauthkit.AccessToken, "rs", true},
		{"access token with audience to a client outside it", "aud-app", oauthkit.AccessToken, "other", false},
		{"access token with audience to a resource server outside it", "aud-app", oauthkit.AccessToken, "rs-post", false},
		{"JWT access token to an audience member", "jwt-app", oauthkit.AccessToken, "rs", true},
		{"JWT access token to a client outside its audience", "jwt-app", oauthkit.AccessToken, "app", false},
		{"refresh token to its client", "app", oauthkit.RefreshToken, "app", true},
		{"refresh token to another client", "app", oauthkit.RefreshToken, "other", false},
		{"refresh token to a resource server", "app", oauthkit.RefreshToken, "rs", false},
		{"refresh token to a member of its audience", "aud-app", oauthkit.RefreshToken, "rs", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := svcNewEnv(t, nil)
			tok := svcIssue(t, e, tt.client, tt.kind)
			want := svcInactive
			if tt.active {
				want = svcLiveResponse(tok)
			}
			if diff := cmp.Diff(want, svcIntrospect(t, e, tt.caller, tok.value)); diff != "" {
				t.Errorf("introspection (-want +got):\n%s", diff)
			}
		})
	}
}

// svcForeignJWT is a well-formed JWT access token signed by a key that is not
// the server's.
func svcForeignJWT(t *testing.T) string {
	t.Helper()
	tok, err := (&jwt.AccessTokens{Keys: oidcNewSigner(t).KeySet}).IssueAccessToken(t.Context(), svcIssuer, &oauthkit.Token{
		ClientID: "jwt-app", Subject: svcSubject, Scope: []string{"read"}, Audience: []string{"rs"},
		IssuedAt: svcNewClock().Now(), ExpiresAt: svcNewClock().Now().Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestIntrospectInvalidTokens(t *testing.T) {
	tests := []struct {
		name  string
		token func(t *testing.T, e *svcEnv) string
	}{
		{"garbage", func(*testing.T, *svcEnv) string { return "garbage" }},
		{"three dots", func(*testing.T, *svcEnv) string { return "a.b.c" }},
		{"unicode", func(*testing.T, *svcEnv) string { return "jeton-\u00e9t\u00e9-\u2603" }},
		{"JWT from another key", func(t *testing.T, _ *svcEnv) string { return svcForeignJWT(t) }},
		{"ID token signed by the server's key", func(t *testing.T, e *svcEnv) string {
			tok, err := e.signer.Sign(t.Context(), "JWT", map[string]any{"iss": svcIssuer, "sub": svcSubject, "aud": "jwt-app", "exp": e.clock.Now().Add(time.Hour).Unix()})
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}},
		{"tampered JWT access token", func(t *testing.T, e *svcEnv) string {
			tok := svcIssue(t, e, "jwt-app", oauthkit.AccessToken).value
			i := strings.LastIndexByte(tok, '.')
			sig := []byte(tok[i+1:])
			sig[3] ^= 'A' ^ 'B'
			return tok[:i+1] + string(sig)
		}},
		{"opaque access token with a character changed", func(t *testing.T, e *svcEnv) string {
			tok := []byte(svcIssue(t, e, "app", oauthkit.AccessToken).value)
			tok[0] ^= 1
			return string(tok)
		}},
		{"hash of a live token", func(t *testing.T, e *svcEnv) string {
			return oauthkit.HashToken(svcIssue(t, e, "app", oauthkit.AccessToken).value)
		}},
		{"huge token", func(*testing.T, *svcEnv) string { return strings.Repeat("x", 9000) }},
		{"huge JWT-shaped token", func(*testing.T, *svcEnv) string {
			return strings.Repeat("a", 4000) + "." + strings.Repeat("b", 4000) + "." + strings.Repeat("c", 4000)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := svcNewEnv(t, nil)
			tok := tt.token(t, e)
			for _, caller := range []string{"jwt-app", "app", "rs"} {
				if diff := cmp.Diff(svcInactive, svcIntrospect(t, e, caller, tok)); diff != "" {
					t.Errorf("introspection by %s (-want +got):\n%s", caller, diff)
				}
			}
		})
	}
}

// svcRequestCase is a malformed or unauthenticated request to a token
// service endpoint and the RFC error it must get.
type svcRequestCase struct {
	name        string
	method      string
	contentType string // default application/x-www-form-urlencoded
	creds       svcCreds
	rawAuth     string // an Authorization header to send instead of creds'
	body        string // raw body, if set, instead of form
	form        url.Values
	faulty      bool // the token store fails
	wantStatus  int
	wantError   string
	wantBasic   bool // WWW-Authenticate: Basic expected
}

func svcRunRequestCase(t *testing.T, h func(*oauthkit.Server) http.Handler, tt svcRequestCase) {
	t.Helper()
	e := svcNewEnv(t, nil)
	e.tokens.failReads.Store(tt.faulty)
	form := url.Values{}
	for k, v := range tt.form {
		form[k] = v
	}
	tt.creds.addTo(form)
	body := form.Encode()
	if tt.body != "" {
		body = tt.body
	}
	r := httptest.NewRequest(tt.method, svcIssuer+"/endpoint", strings.NewReader(body))
	tt.creds.setHeader(r)
	if tt.rawAuth != "" {
		r.Header.Set("Authorization", tt.rawAuth)
	}
	ct := tt.contentType
	if ct == "" {
		ct = "application/x-www-form-urlencoded"
	}
	r.Header.Set("Content-Type", ct)
	rec := httptest.NewRecorder()
	h(e.srv).ServeHTTP(rec, r)

	if rec.Code != tt.wantStatus {
		t.Errorf("status %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	if got, want := rec.Header().Get("Content-Type"), "application/json;charset=UTF-8"; got != want {
		t.Errorf("Content-Type %q, want %q", got, want)
	}
	got := svcErrorBody(t, rec)
	if got["error"] != tt.wantError {
		t.Errorf("error %v, want %s", got["error"], tt.wantError)
	}
	for k := range got {
		if k != "error" && k != "error_description" && k != "error_uri" {
			t.Errorf("unexpected member %q in error body %s", k, rec.Body)
		}
	}
	wantAuth := ""
	if tt.wantBasic {
		wantAuth = `Basic realm="` + svcIssuer + `"`
	}
	if got := rec.Header().Get("WWW-Authenticate"); got != wantAuth {
		t.Errorf("WWW-Authenticate %q, want %q", got, wantAuth)
	}
	if tt.wantStatus == http.StatusMethodNotAllowed {
		if got := rec.Header().Get("Allow"); got != http.MethodPost {
			t.Errorf("Allow %q, want POST", got)
		}
	}
	if tt.faulty {
		if strings.Contains(rec.Body.String(), "10.0.0.7") {
			t.Errorf("internal cause leaked to the client: %s", rec.Body)
		}
		if !strings.Contains(e.log.String(), "10.0.0.7") {
			t.Errorf("internal cause not logged; log:\n%s", e.log)
		}
	}
}

// svcCommonRequestCases are the failures introspection and revocation share.
func svcCommonRequestCases() []svcRequestCase {
	tok := url.Values{"token": {"some-token"}}
	wrong := svcAs("app")
	wrong.secret = "wrong-secret-0123456789abcdefghijklmnopqr"
	return []svcRequestCase{
		{name: "no client authentication", method: "POST", form: tok, wantStatus: 400, wantError: "invalid_client"},
		{name: "wrong secret in Basic", method: "POST", creds: wrong, form: tok, wantStatus: 401, wantError: "invalid_client", wantBasic: true},
		{name: "unknown client in Basic", method: "POST", creds: svcCreds{id: "nobody", secret: "x", method: oauthkit.AuthMethodSecretBasic}, form: tok, wantStatus: 401, wantError: "invalid_client", wantBasic: true},
		{name: "malformed Basic header", method: "POST", rawAuth: "Basic !!!not-base64", form: tok, wantStatus: 401, wantError: "invalid_client", wantBasic: true},
		{name: "empty secret in Basic", method: "POST", creds: svcCreds{id: "app", method: oauthkit.AuthMethodSecretBasic}, form: tok, wantStatus: 401, wantError: "invalid_client", wantBasic: true},
		{name: "confidential client by client_id only", method: "POST", creds: svcCreds{id: "app", method: oauthkit.AuthMethodNone}, form: tok, wantStatus: 400, wantError: "invalid_client"},
		{name: "secret_post client using Basic", method: "POST", creds: svcCreds{id: "rs-post", secret: svcClients["rs-post"].secret, method: oauthkit.AuthMethodSecretBasic}, form: tok, wantStatus: 401, wantError: "invalid_client", wantBasic: true},
		{name: "Basic client using client_secret_post", method: "POST", creds: svcCreds{id: "app", secret: svcClients["app"].secret, method: oauthkit.AuthMethodSecretPost}, form: tok, wantStatus: 400, wantError: "invalid_client"},
		{name: "Basic and client_secret together", method: "POST", creds: svcAs("app"), form: url.Values{"token": {"t"}, "client_secret": {"x"}}, wantStatus: 400, wantError: "invalid_request"},
		{name: "GET", method: "GET", creds: svcAs("app"), form: tok, wantStatus: 405, wantError: "invalid_request"},
		{name: "PUT", method: "PUT", creds: svcAs("app"), form: tok, wantStatus: 405, wantError: "invalid_request"},
		{name: "JSON body", method: "POST", contentType: "application/json", creds: svcAs("app"), body: `{"token":"some-token"}`, wantStatus: 400, wantError: "invalid_request"},
		{name: "no content type", method: "POST", contentType: "text/plain", creds: svcAs("app"), form: tok, wantStatus: 400, wantError: "invalid_request"},
		{name: "malformed body", method: "POST", creds: svcAs("app"), body: "token=%zz", wantStatus: 400, wantError: "invalid_request"},
		{name: "body too large", method: "POST", creds: svcAs("app"), body: "token=" + strings.Repeat("x", oauthkit.DefaultMaxRequestBytes), wantStatus: 400, wantError: "invalid_request"},
		{name: "missing token", method: "POST", creds: svcAs("app"), form: url.Values{"token_type_hint": {"access_token"}}, wantStatus: 400, wantError: "invalid_request"},
		{name: "empty token", method: "POST", creds: svcAs("app"), form: url.Values{"token": {""}}, wantStatus: 400, wantError: "invalid_request"},
		{name: "repeated token", method: "POST", creds: svcAs("app"), form: url.Values{"token": {"a", "b"}}, wantStatus: 400, wantError: "invalid_request"},
		{name: "token store unavailable", method: "POST", creds: svcAs("app"), form: tok, faulty: true, wantStatus: 500, wantError: "server_error"},
	}
}

func TestIntrospectRequestErrors(t *testing.T) {
	tests := append(svcCommonRequestCases(),
		svcRequestCase{name: "public client", method: "POST", creds: svcAs("spa"), form: url.Values{"token": {"t"}}, wantStatus: 400, wantError: "invalid_client"},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svcRunRequestCase(t, (*oauthkit.Server).IntrospectionHandler, tt)
		})
	}
}

func TestIntrospectAuthMethods(t *testing.T) {
	tests := []struct {
		name   string
		caller string
	}{
		{"client_secret_basic", "rs"},
		{"client_secret_post", "rs-post"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := svcNewEnv(t, nil)
			tok := svcIssue(t, e, "app", oauthkit.AccessToken)
			if diff := cmp.Diff(svcLiveResponse(tok), svcIntrospect(t, e, tt.caller, tok.value)); diff != "" {
				t.Errorf("introspection (-want +got):\n%s", diff)
			}
		})
	}
}

// TestIntrospectClientCredentialsToken checks a token whose subject is the
// client itself and that has no refresh token, auth_time or acr.
func TestIntrospectClientCredentialsToken(t *testing.T) {
	e := svcNewEnv(t, nil)
	tr := svcTokenResponse(t, svcDo(e.srv.TokenHandler(), http.MethodPost, svcAs("aud-app"), url.Values{
		"grant_type": {"client_credentials"}, "scope": {"write"},
	}))
	want := map[string]any{
		"active": true, "scope": "write", "client_id": "aud-app", "sub": "aud-app", "token_type": "Bearer",
		"exp": float64(e.clock.Now().Add(svcAccessLifetime).Unix()), "iat": float64(e.clock.Now().Unix()),
		"aud": []any{"rs"}, "iss": svcIssuer,
	}
	if diff := cmp.Diff(want, svcIntrospect(t, e, "rs", tr.AccessToken)); diff != "" {
		t.Errorf("introspection (-want +got):\n%s", diff)
	}
}

func TestRevocationRequestErrors(t *testing.T) {
	for _, tt := range svcCommonRequestCases() {
		t.Run(tt.name, func(t *testing.T) {
			svcRunRequestCase(t, (*oauthkit.Server).RevocationHandler, tt)
		})
	}
}

// svcAccessActive reports whether an access token still works at a resource
// server, through ValidateAccessToken.
func svcAccessActive(t *testing.T, e *svcEnv, token string) bool {
	t.Helper()
	_, err := e.srv.ValidateAccessToken(t.Context(), token)
	if err != nil && !errors.Is(err, oauthkit.ErrNotFound) {
		t.Fatalf("ValidateAccessToken: %v", err)
	}
	return err == nil
}

func TestRevocation(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *svcEnv)
	}{
		{"unknown token", func(t *testing.T, e *svcEnv) {
			svcWantRevoked(t, svcRevoke(e, "app", "no-such-token", ""))
		}},
		{"JWT from another key", func(t *testing.T, e *svcEnv) {
			svcWantRevoked(t, svcRevoke(e, "jwt-app", svcForeignJWT(t), ""))
		}},
		{"huge token", func(t *testing.T, e *svcEnv) {
			svcWantRevoked(t, svcRevoke(e, "app", strings.Repeat("y", 20000), ""))
		}},
		{"expired token", func(t *testing.T, e *svcEnv) {
			tok := svcIssue(t, e, "app", oauthkit.AccessToken)
			e.clock.Advance(svcAccessLifetime)
			svcWantRevoked(t, svcRevoke(e, "app", tok.value, ""))
		}},
		{"access token twice", func(t *testing.T, e *svcEnv) {
			tok := svcIssue(t, e, "app", oauthkit.AccessToken)
			svcWantRevoked(t, svcRevoke(e, "app", tok.value, ""))
			svcWantRevoked(t, svcRevoke(e, "app", tok.value, ""))
			if svcAccessActive(t, e, tok.value) {
				t.Error("revoked access token still validates")
			}
		}},
		{"another client's access token", func(t *testing.T, e *svcEnv) {
			tok := svcIssue(t, e, "app", oauthkit.AccessToken)
			rec := svcRevoke(e, "other", tok.value, "")
			svcWantError(t, rec, http.StatusBadRequest, "unauthorized_client")
			if diff := cmp.Diff(svcLiveResponse(tok), svcIntrospect(t, e, "app", tok.value)); diff != "" {
				t.Errorf("token changed by a stranger's revocation (-want +got):\n%s", diff)
			}
		}},
		{"another client's refresh token", func(t *testing.T, e *svcEnv) {
			tok := svcIssue(t, e, "app", oauthkit.RefreshToken)
			svcWantError(t, svcRevoke(e, "other", tok.value, "refresh_token"), http.StatusBadRequest, "unauthorized_client")
			svcTokenResponse(t, svcRefresh(e, "app", tok.value))
		}},
		{"a public client cannot revoke a confidential client's token", func(t *testing.T, e *svcEnv) {
			tok := svcIssue(t, e, "app", oauthkit.RefreshToken)
			svcWantError(t, svcRevoke(e, "spa", tok.value, ""), http.StatusBadRequest, "unauthorized_client")
			svcTokenResponse(t, svcRefresh(e, "app", tok.value))
		}},
		{"refresh token revokes the family and its access tokens", func(t *testing.T, e *svcEnv) {
			first := svcCodeFlow(t, e, "app", "read write")
			e.clock.Advance(time.Minute)
			second := svcTokenResponse(t, svcRefresh(e, "app", first.RefreshToken))
			svcWantRevoked(t, svcRevoke(e, "app", second.RefreshToken, "refresh_token"))
			for name, tok := range map[string]string{
				"first access token": first.AccessToken, "second access token": second.AccessToken,
				"first refresh token": first.RefreshToken, "second refresh token": second.RefreshToken,
			} {
				if diff := cmp.Diff(svcInactive, svcIntrospect(t, e, "app", tok)); diff != "" {
					t.Errorf("%s after revocation (-want +got):\n%s", name, diff)
				}
			}
			if svcAccessActive(t, e, second.AccessToken) {
				t.Error("access token issued from the revoked refresh token still validates")
			}
			svcWantError(t, svcRefresh(e, "app", second.RefreshToken), http.StatusBadRequest, "invalid_grant")
		}},
		{"access token leaves the refresh token live", func(t *testing.T, e *svcEnv) {
			tok := svcIssue(t, e, "app", oauthkit.AccessToken)
			svcWantRevoked(t, svcRevoke(e, "app", tok.value, "access_token"))
			if diff := cmp.Diff(svcInactive, svcIntrospect(t, e, "app", tok.value)); diff != "" {
				t.Errorf("revoked access token (-want +got):\n%s", diff)
			}
			refresh := tok
			refresh.value, refresh.kind, refresh.lifetime = tok.refresh, oauthkit.RefreshToken, svcRefreshLifetime
			if diff := cmp.Diff(svcLiveResponse(refresh), svcIntrospect(t, e, "app", tok.refresh)); diff != "" {
				t.Errorf("refresh token after access token revocation (-want +got):\n%s", diff)
			}
			next := svcTokenResponse(t, svcRefresh(e, "app", tok.refresh))
			if !svcAccessActive(t, e, next.AccessToken) {
				t.Error("access token from the surviving refresh token does not validate")
			}
		}},
		{"hint refresh_token for an access token", func(t *testing.T, e *svcEnv) {
			tok := svcIssue(t, e, "app", oauthkit.AccessToken)
			svcWantRevoked(t, svcRevoke(e, "app", tok.value, "refresh_token"))
			if svcAccessActive(t, e, tok.value) {
				t.Error("access token survived revocation with a wrong hint")
			}
		}},
		{"hint access_token for a refresh token", func(t *testing.T, e *svcEnv) {
			tok := svcIssue(t, e, "app", oauthkit.RefreshToken)
			svcWantRevoked(t, svcRevoke(e, "app", tok.value, "access_token"))
			svcWantError(t, svcRefresh(e, "app", tok.value), http.StatusBadRequest, "invalid_grant")
		}},
		{"unknown hint", func(t *testing.T, e *svcEnv) {
			tok := svcIssue(t, e, "app", oauthkit.RefreshToken)
			svcWantRevoked(t, svcRevoke(e, "app", tok.value, "urn:example:weird"))
			svcWantError(t, svcRefresh(e, "app", tok.value), http.StatusBadRequest, "invalid_grant")
		}},
		{"public client by client_id", func(t *testing.T, e *svcEnv) {
			tok := svcIssue(t, e, "spa", oauthkit.RefreshToken)
			svcWantRevoked(t, svcRevoke(e, "spa", tok.value, ""))
			svcWantError(t, svcRefresh(e, "spa", tok.value), http.StatusBadRequest, "invalid_grant")
		}},
		{"JWT access token reads inactive after revocation", func(t *testing.T, e *svcEnv) {
			tok := svcIssue(t, e, "jwt-app", oauthkit.AccessToken)
			svcWantRevoked(t, svcRevoke(e, "jwt-app", tok.value, ""))
			for _, caller := range []string{"jwt-app", "rs"} {
				if diff := cmp.Diff(svcInactive, svcIntrospect(t, e, caller, tok.value)); diff != "" {
					t.Errorf("introspection by %s (-want +got):\n%s", caller, diff)
				}
			}
			if svcAccessActive(t, e, tok.value) {
				t.Error("revoked JWT access token still validates")
			}
			svcTokenResponse(t, svcRefresh(e, "jwt-app", tok.refresh))
		}},
		{"store fails to revoke", func(t *testing.T, e *svcEnv) {
			tok := svcIssue(t, e, "app", oauthkit.RefreshToken)
			e.tokens.failRevokes.Store(true)
			rec := svcRevoke(e, "app", tok.value, "")
			svcWantError(t, rec, http.StatusInternalServerError, "server_error")
			if strings.Contains(rec.Body.String(), "10.0.0.7") || !strings.Contains(e.log.String(), "10.0.0.7") {
				t.Errorf("cause must be logged and not sent; body %s; log %s", rec.Body, e.log)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, svcNewEnv(t, nil))
		})
	}
}

// svcWantRevoked checks an RFC 7009 §2.2 success: 200 and no body.
func svcWantRevoked(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("revocation: status %d body %q, want 200 and no body", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("revocation: Cache-Control %q, want no-store", got)
	}
}

func svcWantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if rec.Code != status {
		t.Errorf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if got := svcErrorBody(t, rec)["error"]; got != code {
		t.Errorf("error %v, want %s", got, code)
	}
}

func TestValidateAccessToken(t *testing.T) {
	tests := []struct {
		name string
		// token issues what to present, moves the world on, and returns
		// the stored token expected, or nil for ErrNotFound.
		token func(t *testing.T, e *svcEnv) (string, *oauthkit.Token)
	}{
		{"live opaque access token", func(t *testing.T, e *svcEnv) (string, *oauthkit.Token) {
			tok := svcIssue(t, e, "app", oauthkit.AccessToken)
			return tok.value, svcWantToken(tok, oauthkit.HashToken(tok.value))
		}},
		{"live JWT access token", func(t *testing.T, e *svcEnv) (string, *oauthkit.Token) {
			tok := svcIssue(t, e, "jwt-app", oauthkit.AccessToken)
			return tok.value, svcWantToken(tok, oauthkit.SelfContainedTokenID(svcJTI(t, tok.value)))
		}},
		{"access token one second before expiry", func(t *testing.T, e *svcEnv) (string, *oauthkit.Token) {
			tok := svcIssue(t, e, "aud-app", oauthkit.AccessToken)
			e.clock.Advance(svcAccessLifetime - time.Second)
			return tok.value, svcWantToken(tok, oauthkit.HashToken(tok.value))
		}},
		{"access token after refresh rotation", func(t *testing.T, e *svcEnv) (string, *oauthkit.Token) {
			tok := svcIssue(t, e, "app", oauthkit.AccessToken)
			next := svcTokenResponse(t, svcRefresh(e, "app", tok.refresh))
			want := svcWantToken(tok, oauthkit.HashToken(next.AccessToken))
			want.ParentID = oauthkit.HashToken(tok.refresh)
			return next.AccessToken, want
		}},
		{"opaque access token at expiry", func(t *testing.T, e *svcEnv) (string, *oauthkit.Token) {
			tok := svcIssue(t, e, "app", oauthkit.AccessToken)
			e.clock.Advance(svcAccessLifetime)
			return tok.value, nil
		}},
		{"JWT access token at expiry", func(t *testing.T, e *svcEnv) (string, *oauthkit.Token) {
			tok := svcIssue(t, e, "jwt-app", oauthkit.AccessToken)
			e.clock.Advance(svcAccessLifetime)
			return tok.value, nil
		}},
		{"refresh token", func(t *testing.T, e *svcEnv) (string, *oauthkit.Token) {
			return svcIssue(t, e, "app", oauthkit.RefreshToken).value, nil
		}},
		{"rotated refresh token", func(t *testing.T, e *svcEnv) (string, *oauthkit.Token) {
			tok := svcIssue(t, e, "app", oauthkit.RefreshToken)
			svcTokenResponse(t, svcRefresh(e, "app", tok.value))
			return tok.value, nil
		}},
		{"revoked access token", func(t *testing.T, e *svcEnv) (string, *oauthkit.Token) {
			tok := svcIssue(t, e, "app", oauthkit.AccessToken)
			svcWantRevoked(t, svcRevoke(e, "app", tok.value, ""))
			return tok.value, nil
		}},
		{"access token of a replayed code", func(t *testing.T, e *svcEnv) (string, *oauthkit.Token) {
			verifier := oauth2.GenerateVerifier()
			params := svcAuthorize(t, e.srv, url.Values{
				"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {svcRedirect},
				"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
			})
			form := url.Values{"grant_type": {"authorization_code"}, "code": {params.Get("code")}, "redirect_uri": {svcRedirect}, "code_verifier": {verifier}}
			tr := svcTokenResponse(t, svcDo(e.srv.TokenHandler(), http.MethodPost, svcAs("app"), form))
			svcWantError(t, svcDo(e.srv.TokenHandler(), http.MethodPost, svcAs("app"), form), http.StatusBadRequest, "invalid_grant")
			return tr.AccessToken, nil
		}},
		{"JWT from another key", func(t *testing.T, e *svcEnv) (string, *oauthkit.Token) { return svcForeignJWT(t), nil }},
		{"garbage", func(*testing.T, *svcEnv) (string, *oauthkit.Token) { return "garbage", nil }},
		{"empty", func(*testing.T, *svcEnv) (string, *oauthkit.Token) { return "", nil }},
		{"huge", func(*testing.T, *svcEnv) (string, *oauthkit.Token) { return strings.Repeat("z", 1<<20), nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := svcNewEnv(t, nil)
			raw, want := tt.token(t, e)
			got, err := e.srv.ValidateAccessToken(t.Context(), raw)
			if want == nil {
				if !errors.Is(err, oauthkit.ErrNotFound) || got != nil {
					t.Fatalf("ValidateAccessToken = %+v, %v; want ErrNotFound", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ValidateAccessToken: %v", err)
			}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(oauthkit.Token{}, "GrantID"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ValidateAccessToken (-want +got):\n%s", diff)
			}
			if got.GrantID == "" {
				t.Error("token has no GrantID")
			}
		})
	}
}

// svcWantToken is the stored access token expected for tok.
func svcWantToken(tok svcIssued, id string) *oauthkit.Token {
	return &oauthkit.Token{
		ID:        id,
		Kind:      oauthkit.AccessToken,
		ClientID:  tok.client,
		Subject:   svcSubject,
		Scope:     []string{"read", "write"},
		Audience:  svcClients[tok.client].audience,
		IssuedAt:  tok.issuedAt,
		ExpiresAt: tok.issuedAt.Add(svcAccessLifetime),
		AuthTime:  tok.issuedAt.Add(-time.Minute),
		ACR:       svcACR,
	}
}

func TestValidateAccessTokenStoreFault(t *testing.T) {
	e := svcNewEnv(t, nil)
	tok := svcIssue(t, e, "app", oauthkit.AccessToken)
	e.tokens.failReads.Store(true)
	got, err := e.srv.ValidateAccessToken(t.Context(), tok.value)
	if got != nil || err == nil || errors.Is(err, oauthkit.ErrNotFound) {
		t.Fatalf("ValidateAccessToken = %v, %v; want an internal error, not ErrNotFound", got, err)
	}
	if !errors.Is(err, svcErrDatabase) {
		t.Errorf("error %v does not wrap the store's", err)
	}
}

// svcFaultyVerifier is the JWT access token format whose verification can
// fail as a remote key service that is down would: with an error that is
// not ErrNotFound.
type svcFaultyVerifier struct {
	*jwt.AccessTokens
	fail atomic.Bool
}

func (v *svcFaultyVerifier) VerifyAccessToken(ctx context.Context, issuer, token string, now time.Time) (string, error) {
	if v.fail.Load() {
		return "", errors.New("svc: key service at 10.0.0.8 unreachable")
	}
	return v.AccessTokens.VerifyAccessToken(ctx, issuer, token, now)
}

// TestValidateAccessTokenVerifierFault: a TokenVerifier's error other than
// ErrNotFound is an internal fault, to be reported as one (ValidateAccessToken's
// contract), not read as "no such token".
func TestValidateAccessTokenVerifierFault(t *testing.T) {
	var v *svcFaultyVerifier
	e := svcNewEnv(t, func(c *oauthkit.Config) {
		v = &svcFaultyVerifier{AccessTokens: &jwt.AccessTokens{Keys: oidcNewSigner(t).KeySet}}
		c.AccessTokens = v
	})
	tr := svcTokenResponse(t, svcDo(e.srv.TokenHandler(), http.MethodPost, svcAs("app"), url.Values{"grant_type": {"client_credentials"}}))
	if _, err := e.srv.ValidateAccessToken(t.Context(), tr.AccessToken); err != nil {
		t.Fatalf("ValidateAccessToken before the fault: %v", err)
	}
	v.fail.Store(true)
	if _, err := e.srv.ValidateAccessToken(t.Context(), tr.AccessToken); err == nil || errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("ValidateAccessToken with a failing verifier = %v; want an internal error, not ErrNotFound", err)
	}
	rec := svcDo(e.srv.IntrospectionHandler(), http.MethodPost, svcAs("rs"), url.Values{"token": {tr.AccessToken}})
	svcWantError(t, rec, http.StatusInternalServerError, "server_error")
	if !strings.Contains(e.log.String(), "10.0.0.8") {
		t.Errorf("verifier fault not logged; log:\n%s", e.log)
	}
}

// svcCountingVerifier counts the tokens that reach signature verification.
type svcCountingVerifier struct {
	*jwt.AccessTokens
	calls atomic.Int64
}

func (v *svcCountingVerifier) VerifyAccessToken(ctx context.Context, issuer, token string, now time.Time) (string, error) {
	v.calls.Add(1)
	return v.AccessTokens.VerifyAccessToken(ctx, issuer, token, now)
}

// TestValidateAccessTokenBoundsInput: a presented token larger than any the
// server issues is refused before signature verification, so a resource
// server cannot be made to verify megabytes (STYLE.md: bound input).
func TestValidateAccessTokenBoundsInput(t *testing.T) {
	part := func(n int) string { return strings.Repeat("A", n) }
	tests := []struct {
		name       string
		token      string
		wantVerify bool
	}{
		{"JWT-shaped, small", part(100) + "." + part(100) + "." + part(100), true},
		{"JWT-shaped, 1 MiB", part(1<<20) + "." + part(100) + "." + part(100), false},
		{"opaque, 1 MiB", part(1 << 20), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &svcCountingVerifier{AccessTokens: &jwt.AccessTokens{Keys: oidcNewSigner(t).KeySet}}
			e := svcNewEnv(t, func(c *oauthkit.Config) { c.AccessTokens = v })
			if _, err := e.srv.ValidateAccessToken(t.Context(), tt.token); !errors.Is(err, oauthkit.ErrNotFound) {
				t.Errorf("ValidateAccessToken: %v, want ErrNotFound", err)
			}
			if got := v.calls.Load() > 0; got != tt.wantVerify {
				t.Errorf("verifier called %v, want %v", got, tt.wantVerify)
			}
		})
	}
}
