package oauthkit_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/jwt"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// oidcSigner is the tests' oauthkit.Signer: a jwt.KeySet with one ES256
// key, which can be made to fail as an unreachable key service would.
type oidcSigner struct {
	*jwt.KeySet
	fail atomic.Bool
}

func oidcNewSigner(t testing.TB) *oidcSigner {
	t.Helper()
	key, err := jwt.GenerateKey(jwt.ES256)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := jwt.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	return &oidcSigner{KeySet: ks}
}

// Sign signs with the key set unless the signer was told to fail.
func (s *oidcSigner) Sign(ctx context.Context, typ string, claims any) (string, error) {
	if s.fail.Load() {
		return "", errors.New("oidc signer: HSM at 10.0.0.9 unreachable")
	}
	return s.KeySet.Sign(ctx, typ, claims)
}

// oidcClaims is a ClaimsSource over a fixed directory of users, releasing
// claims by scope (OIDC Core §5.4).
type oidcClaims struct {
	mu     sync.Mutex
	users  map[string]map[string]any
	scopes [][]string // the scope of every call
	err    error
}

func (c *oidcClaims) Claims(_ context.Context, subject string, scope []string) (map[string]any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scopes = append(c.scopes, slices.Clone(scope))
	if c.err != nil {
		return nil, c.err
	}
	user, ok := c.users[subject]
	if !ok {
		return nil, fmt.Errorf("user %s: %w", subject, oauthkit.ErrNotFound)
	}
	out := map[string]any{}
	if slices.Contains(scope, "email") {
		out["email"], out["email_verified"] = user["email"], user["email_verified"]
	}
	if slices.Contains(scope, "profile") {
		out["name"] = user["name"]
	}
	return out, nil
}

func (c *oidcClaims) setErr(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = err
}

func (c *oidcClaims) setUsers(users map[string]map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.users = users
}

func (c *oidcClaims) calls() [][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.scopes)
}

const (
	oidcSecretWeb    = "web-secret-0123456789abcdefghijklmnopqrstuvw"
	oidcSecretHybrid = "hyb-secret-0123456789abcdefghijklmnopqrstuvw"
)

// oidcEnv is an OpenID provider on a loopback HTTP server, with the
// metadata, JWKS, authorize, token, userinfo and revocation endpoints.
type oidcEnv struct {
	ts     *httptest.Server
	srv    *oauthkit.Server
	signer *oidcSigner
	clock  *svcClock
	claims *oidcClaims
	tokens *svcFaultyTokens
	log    *syncLog

	mu       sync.Mutex
	consent  func(req *oauthkit.AuthorizeRequest, now time.Time) (*oauthkit.Consent, error)
	requests []*oauthkit.AuthorizeRequest // as seen by the Authorizer
}

// oidcNewEnv starts the provider; mod, if not nil, adjusts the Config
// before New.
func oidcNewEnv(t *testing.T, mod func(*oauthkit.Config)) *oidcEnv {
	t.Helper()
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	e := &oidcEnv{
		ts:     ts,
		signer: oidcNewSigner(t),
		clock:  svcNewClock(),
		claims: &oidcClaims{users: map[string]map[string]any{
			svcSubject: {"email": "alice@example.com", "email_verified": true, "name": "Alice Liddell"},
		}},
		tokens: &svcFaultyTokens{TokenStore: memory.NewTokens()},
		log:    &syncLog{},
	}
	hashWeb, err1 := oauthkit.HashSecret(oidcSecretWeb)
	hashHybrid, err2 := oauthkit.HashSecret(oidcSecretHybrid)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	scopes := []string{"openid", "profile", "email", "read"}
	clients := memory.NewClients(
		&oauthkit.Client{
			ID: "web", SecretHash: hashWeb, RedirectURIs: []string{svcRedirect}, Scopes: scopes,
			GrantTypes: []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken},
		},
		&oauthkit.Client{
			ID: "hybrid", SecretHash: hashHybrid, RedirectURIs: []string{svcRedirect}, Scopes: scopes,
			GrantTypes: []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken, oauthkit.GrantTypeImplicit},
		},
	)
	cfg := oauthkit.Config{
		Issuer: ts.URL,
		Endpoints: oauthkit.Endpoints{
			JWKS:       ts.URL + "/jwks",
			UserInfo:   ts.URL + "/userinfo",
			Revocation: ts.URL + "/revoke",
		},
		Clients:  clients,
		Codes:    memory.NewCodes(),
		Tokens:   e.tokens,
		IDTokens: e.signer,
		Claims:   e.claims,
		Authorizer: oauthkit.AuthorizerFunc(func(w http.ResponseWriter, r *http.Request, req *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.requests = append(e.requests, req)
			if e.consent != nil {
				return e.consent(req, e.clock.Now())
			}
			return &oauthkit.Consent{Subject: svcSubject, AuthTime: e.clock.Now().Add(-time.Minute), ACR: svcACR}, nil
		}),
		AllowImplicitGrant:  true,
		AccessTokenLifetime: svcAccessLifetime,
		Now:                 e.clock.Now,
		Logger:              slog.New(slog.NewTextHandler(e.log, nil)),
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := oauthkit.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.srv = srv
	mux.Handle("/.well-known/openid-configuration", srv.MetadataHandler())
	mux.Handle("/jwks", e.signer.JWKSHandler())
	mux.Handle("/authorize", srv.AuthorizeHandler())
	mux.Handle("/token", srv.TokenHandler())
	mux.Handle("/userinfo", srv.UserInfoHandler())
	mux.Handle("/revoke", srv.RevocationHandler())
	return e
}

// setConsent replaces the Authorizer's answer.
func (e *oidcEnv) setConsent(f func(req *oauthkit.AuthorizeRequest, now time.Time) (*oauthkit.Consent, error)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.consent = f
}

// seen returns the requests the Authorizer has been called with.
func (e *oidcEnv) seen() []*oauthkit.AuthorizeRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.requests)
}

func (e *oidcEnv) provider(t *testing.T) *oidc.Provider {
	t.Helper()
	p, err := oidc.NewProvider(t.Context(), e.ts.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return p
}

func (e *oidcEnv) verifier(p *oidc.Provider, clientID string) *oidc.IDTokenVerifier {
	return p.Verifier(&oidc.Config{ClientID: clientID, Now: e.clock.Now})
}

func oidcOAuth2Config(p *oidc.Provider, clientID, scope string) *oauth2.Config {
	secret := oidcSecretWeb
	if clientID == "hybrid" {
		secret = oidcSecretHybrid
	}
	// AuthStyleInHeader: auto-detection would retry a failed request with
	// the other style, re-sending the code.
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	return &oauth2.Config{
		ClientID: clientID, ClientSecret: secret, Endpoint: ep,
		RedirectURL: svcRedirect, Scopes: strings.Fields(scope),
	}
}

// oidcResponse is an authorization response as the client receives it.
type oidcResponse struct {
	params   url.Values
	fragment bool // the parameters came in the fragment, not the query
}

// authorize follows authURL to the redirect to the client and returns the
// response parameters.
func (e *oidcEnv) authorize(t *testing.T, authURL string) oidcResponse {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %s", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	base := *loc
	base.RawQuery, base.Fragment = "", ""
	if base.String() != svcRedirect {
		t.Fatalf("redirected to %s, want %s", loc, svcRedirect)
	}
	if loc.Fragment != "" {
		if loc.RawQuery != "" {
			t.Errorf("fragment response also has a query: %s", loc)
		}
		params, err := url.ParseQuery(loc.Fragment)
		if err != nil {
			t.Fatal(err)
		}
		return oidcResponse{params, true}
	}
	return oidcResponse{loc.Query(), false}
}

// oidcHalfHash is the at_hash / c_hash of value for an ES256 ID token: the
// base64url left half of its SHA-256 (OIDC Core §3.1.3.6, §3.3.2.11).
func oidcHalfHash(value string) string {
	sum := sha256.Sum256([]byte(value))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// oidcIDClaims are the ID token claims the tests look at.
type oidcIDClaims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience any    `json:"aud"`
	Exp      int64  `json:"exp"`
	Iat      int64  `json:"iat"`
	AuthTime *int64 `json:"auth_time"`
	Nonce    string `json:"nonce"`
	ACR      string `json:"acr"`
	AZP      string `json:"azp"`
	AtHash   string `json:"at_hash"`
	CHash    string `json:"c_hash"`
	Email    string `json:"email"`
	Name     string `json:"name"`
}

// oidcVerify verifies rawIDToken as go-oidc does for a relying party and
// returns its claims; it also checks the JOSE header against the JWKS key.
func (e *oidcEnv) oidcVerify(t *testing.T, p *oidc.Provider, clientID, rawIDToken string) (*oidc.IDToken, oidcIDClaims) {
	t.Helper()
	idt, err := e.verifier(p, clientID).Verify(t.Context(), rawIDToken)
	if err != nil {
		t.Fatalf("ID token does not verify: %v", err)
	}
	var c oidcIDClaims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSigned(rawIDToken, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	h := jws.Signatures[0].Protected
	if h.KeyID != e.signer.ActiveKeyID() || h.Algorithm != "ES256" || h.ExtraHeaders[jose.HeaderType] != "JWT" {
		t.Errorf("ID token header kid=%q alg=%q typ=%v; want kid %q, ES256, JWT", h.KeyID, h.Algorithm, h.ExtraHeaders[jose.HeaderType], e.signer.ActiveKeyID())
	}
	return idt, c
}

func TestOIDCCodeFlow(t *testing.T) {
	tests := []struct {
		name         string
		scope        string
		wantUserInfo map[string]any
	}{
		{"openid only", "openid", map[string]any{"sub": svcSubject}},
		{"openid email", "openid email", map[string]any{"sub": svcSubject, "email": "alice@example.com", "email_verified": true}},
		{"openid profile email read", "openid profile email read", map[string]any{
			"sub": svcSubject, "email": "alice@example.com", "email_verified": true, "name": "Alice Liddell"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := oidcNewEnv(t, nil)
			ctx := t.Context()
			p := e.provider(t)
			conf := oidcOAuth2Config(p, "web", tt.scope)
			verifier, nonce := oauth2.GenerateVerifier(), "n-"+rand.Text()
			resp := e.authorize(t, conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)))
			if resp.fragment || resp.params.Get("state") != "st-1" || resp.params.Get("iss") != e.ts.URL {
				t.Fatalf("authorization response %v (fragment %v)", resp.params, resp.fragment)
			}
			tok, err := conf.Exchange(ctx, resp.params.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			rawID, ok := tok.Extra("id_token").(string)
			if !ok || rawID == "" {
				t.Fatalf("no id_token in token response")
			}
			idt, claims := e.oidcVerify(t, p, "web", rawID)
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			now := e.clock.Now()
			authTime := now.Add(-time.Minute).Unix()
			want := oidcIDClaims{
				Issuer: e.ts.URL, Subject: svcSubject, Audience: "web",
				Exp: now.Add(oauthkit.DefaultIDTokenLifetime).Unix(), Iat: now.Unix(), AuthTime: &authTime,
				Nonce: nonce, ACR: svcACR, AZP: "web", AtHash: oidcHalfHash(tok.AccessToken),
			}
			if diff := cmp.Diff(want, claims); diff != "" {
				t.Errorf("ID token claims (-want +got):\n%s", diff)
			}

			info, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("UserInfo: %v", err)
			}
			var got map[string]any
			if err := info.Claims(&got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantUserInfo, got); diff != "" {
				t.Errorf("userinfo (-want +got):\n%s", diff)
			}
			if info.Subject != idt.Subject {
				t.Errorf("userinfo sub %q, ID token sub %q (OIDC Core §5.3.4)", info.Subject, idt.Subject)
			}
			if diff := cmp.Diff([][]string{strings.Fields(tt.scope)}, e.claims.calls()); diff != "" {
				t.Errorf("ClaimsSource scopes (-want +got):\n%s", diff)
			}

			// OIDC Core §12.2: this provider issues no ID token on refresh.
			e.clock.Advance(time.Minute)
			refreshed, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if refreshed.AccessToken == tok.AccessToken || refreshed.Extra("id_token") != nil {
				t.Errorf("refresh response: new access token %v, id_token %v; want a new token and no id_token",
					refreshed.AccessToken != tok.AccessToken, refreshed.Extra("id_token"))
			}
		})
	}
}

func TestOIDCNoIDToken(t *testing.T) {
	tests := []struct {
		name  string
		scope string
		mod   func(*oauthkit.Config)
	}{
		{"scope without openid", "email read", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := oidcNewEnv(t, tt.mod)
			conf := &oauth2.Config{
				ClientID: "web", ClientSecret: oidcSecretWeb, RedirectURL: svcRedirect, Scopes: strings.Fields(tt.scope),
				Endpoint: oauth2.Endpoint{AuthURL: e.ts.URL + "/authorize", TokenURL: e.ts.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader},
			}
			verifier := oauth2.GenerateVerifier()
			resp := e.authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n")))
			tok, err := conf.Exchange(t.Context(), resp.params.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if id := tok.Extra("id_token"); id != nil {
				t.Errorf("id_token %v issued for scope %q", id, tt.scope)
			}
			if len(e.seen()) != 1 || e.seen()[0].Prompt != nil || e.seen()[0].MaxAge != nil {
				t.Errorf("Authorizer saw OpenID parameters on a plain OAuth request")
			}
		})
	}
}

// TestOIDCOffRefusesOpenID checks that a server without ID tokens refuses
// the openid scope instead of granting it as a plain scope, which would
// leave the client waiting for an ID token that never comes.
func TestOIDCOffRefusesOpenID(t *testing.T) {
	e := oidcNewEnv(t, func(c *oauthkit.Config) { c.IDTokens = nil })
	conf := &oauth2.Config{
		ClientID: "web", ClientSecret: oidcSecretWeb, RedirectURL: svcRedirect, Scopes: []string{"openid", "read"},
		Endpoint: oauth2.Endpoint{AuthURL: e.ts.URL + "/authorize", TokenURL: e.ts.URL + "/token"},
	}
	resp := e.authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oidc.Nonce("n")))
	if got := resp.params.Get("error"); got != "invalid_scope" {
		t.Errorf("error %q, want invalid_scope", got)
	}
}

func TestOIDCFrontChannel(t *testing.T) {
	tests := []struct {
		responseType string
		scope        string
		wantCode     bool
		wantToken    bool
		// wantClaims: no access token is issued at all, so the scope's
		// claims are in the ID token (OIDC Core §5.4).
		wantClaims bool
	}{
		{responseType: "id_token token", scope: "openid email", wantToken: true},
		{responseType: "token id_token", scope: "openid email", wantToken: true},
		{responseType: "code id_token", scope: "openid", wantCode: true},
		{responseType: "code id_token", scope: "openid email profile", wantCode: true},
		{responseType: "code id_token token", scope: "openid email", wantCode: true, wantToken: true},
		{responseType: "id_token", scope: "openid email profile", wantClaims: true},
	}
	for _, tt := range tests {
		t.Run(tt.responseType+"/"+tt.scope, func(t *testing.T) {
			e := oidcNewEnv(t, nil)
			p := e.provider(t)
			conf := oidcOAuth2Config(p, "hybrid", tt.scope)
			nonce, verifier := "n-"+rand.Text(), oauth2.GenerateVerifier()
			opts := []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_type", tt.responseType), oidc.Nonce(nonce)}
			if tt.wantCode {
				opts = append(opts, oauth2.S256ChallengeOption(verifier))
			}
			resp := e.authorize(t, conf.AuthCodeURL("st-2", opts...))
			got := resp.params
			if !resp.fragment {
				t.Fatalf("response in the query, want the fragment: %v", got)
			}
			if got.Get("error") != "" {
				t.Fatalf("error response: %v", got)
			}
			if got.Get("state") != "st-2" || got.Get("iss") != e.ts.URL {
				t.Errorf("state %q iss %q", got.Get("state"), got.Get("iss"))
			}
			code, access := got.Get("code"), got.Get("access_token")
			if (code != "") != tt.wantCode || (access != "") != tt.wantToken {
				t.Fatalf("response has code %v access_token %v; want %v %v", code != "", access != "", tt.wantCode, tt.wantToken)
			}
			if tt.wantToken && (got.Get("token_type") != "Bearer" || got.Get("expires_in") != fmt.Sprint(int(svcAccessLifetime.Seconds()))) {
				t.Errorf("token_type %q expires_in %q", got.Get("token_type"), got.Get("expires_in"))
			}
			if got.Has("refresh_token") {
				t.Error("refresh token in a front-channel response (RFC 6749 §4.2.2)")
			}
			idt, claims := e.oidcVerify(t, p, "hybrid", got.Get("id_token"))
			if claims.Nonce != nonce {
				t.Errorf("nonce %q, want %q", claims.Nonce, nonce)
			}
			// OIDC Core §3.2.2.10, §3.3.2.11: at_hash with an access token,
			// c_hash with a code, each the left half of the SHA-256.
			wantAt, wantC := "", ""
			if tt.wantToken {
				wantAt = oidcHalfHash(access)
				if err := idt.VerifyAccessToken(access); err != nil {
					t.Errorf("go-oidc at_hash check: %v", err)
				}
			}
			if tt.wantCode {
				wantC = oidcHalfHash(code)
			}
			if claims.AtHash != wantAt || claims.CHash != wantC {
				t.Errorf("at_hash %q c_hash %q; want %q %q", claims.AtHash, claims.CHash, wantAt, wantC)
			}
			if tt.wantClaims && (claims.Email != "alice@example.com" || claims.Name != "Alice Liddell") {
				t.Errorf("ID token without access token lacks the scope's claims: email %q name %q", claims.Email, claims.Name)
			}
			if !tt.wantClaims && (claims.Email != "" || claims.Name != "") {
				t.Errorf("front-channel ID token of a flow that issues an access token carries userinfo claims: email %q name %q", claims.Email, claims.Name)
			}
			if tt.wantToken {
				info, err := p.UserInfo(t.Context(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: access, TokenType: "Bearer"}))
				if err != nil || info.Subject != svcSubject {
					t.Errorf("userinfo with the front-channel access token: %v, %v", info, err)
				}
			}
			if !tt.wantCode {
				return
			}
			// The code redeems to an ID token for the same user and nonce.
			tok, err := conf.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			idt2, claims2 := e.oidcVerify(t, p, "hybrid", tok.Extra("id_token").(string))
			if claims2.Subject != claims.Subject || claims2.Nonce != nonce {
				t.Errorf("token endpoint ID token sub %q nonce %q; want %q %q (OIDC Core §3.3.3.6)", claims2.Subject, claims2.Nonce, claims.Subject, nonce)
			}
			if err := idt2.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("token endpoint at_hash: %v", err)
			}
		})
	}
}

func TestOIDCFrontChannelErrors(t *testing.T) {
	tests := []struct {
		name         string
		client       string
		responseType string
		scope        string
		nonce        string
		extra        url.Values
		mod          func(*oauthkit.Config)
		setup        func(e *oidcEnv)
		wantError    string
		wantFragment bool
		wantLogged   string // the internal cause, logged and never sent
	}{
		{name: "id_token token without nonce", responseType: "id_token token", scope: "openid", wantError: "invalid_request", wantFragment: true},
		{name: "id_token without nonce", responseType: "id_token", scope: "openid", wantError: "invalid_request", wantFragment: true},
		{name: "code id_token without nonce", responseType: "code id_token", scope: "openid", wantError: "invalid_request", wantFragment: true},
		{name: "code id_token token without nonce", responseType: "code id_token token", scope: "openid", wantError: "invalid_request", wantFragment: true},
		{name: "id_token without the openid scope", responseType: "id_token", scope: "email", nonce: "n", wantError: "invalid_request", wantFragment: true},
		{name: "id_token token in the query", responseType: "id_token token", scope: "openid", nonce: "n",
			extra: url.Values{"response_mode": {"query"}}, wantError: "invalid_request", wantFragment: true},
		{name: "repeated response type", responseType: "id_token id_token", scope: "openid", nonce: "n", wantError: "unsupported_response_type"},
		{name: "unknown response type", responseType: "id_token code_token", scope: "openid", nonce: "n", wantError: "unsupported_response_type"},
		{name: "implicit grant not allowed", responseType: "id_token token", scope: "openid", nonce: "n",
			mod: func(c *oauthkit.Config) { c.AllowImplicitGrant = false }, wantError: "unsupported_response_type", wantFragment: true},
		{name: "server without ID tokens", responseType: "id_token", scope: "openid", nonce: "n",
			mod: func(c *oauthkit.Config) { c.IDTokens = nil }, wantError: "unsupported_response_type", wantFragment: true},
		{name: "client without the implicit grant", client: "web", responseType: "code id_token", scope: "openid", nonce: "n",
			wantError: "unauthorized_client", wantFragment: true},
		{name: "claims source fails", responseType: "id_token", scope: "openid email", nonce: "n",
			setup: func(e *oidcEnv) { e.claims.setErr(errors.New("directory at 10.0.0.9 down")) }, wantError: "server_error", wantFragment: true, wantLogged: "10.0.0.9"},
		{name: "subject unknown to the claims source", responseType: "id_token", scope: "openid email", nonce: "n",
			setup: func(e *oidcEnv) { e.claims.setUsers(nil) }, wantError: "server_error", wantFragment: true, wantLogged: "user alice"},
		{name: "signer fails", responseType: "id_token token", scope: "openid", nonce: "n",
			setup: func(e *oidcEnv) { e.signer.fail.Store(true) }, wantError: "server_error", wantFragment: true, wantLogged: "10.0.0.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := oidcNewEnv(t, tt.mod)
			if tt.setup != nil {
				tt.setup(e)
			}
			client := tt.client
			if client == "" {
				client = "hybrid"
			}
			q := url.Values{
				"client_id": {client}, "redirect_uri": {svcRedirect}, "response_type": {tt.responseType},
				"scope": {tt.scope}, "state": {"st-3"},
				"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
			}
			if tt.nonce != "" {
				q.Set("nonce", tt.nonce)
			}
			for k, v := range tt.extra {
				q[k] = v
			}
			resp := e.authorize(t, e.ts.URL+"/authorize?"+q.Encode())
			got := resp.params
			if got.Get("error") != tt.wantError || got.Get("state") != "st-3" || got.Get("iss") != e.ts.URL {
				t.Errorf("response %v; want error %s with state and iss", got, tt.wantError)
			}
			if resp.fragment != tt.wantFragment {
				t.Errorf("error in fragment %v, want %v", resp.fragment, tt.wantFragment)
			}
			for _, k := range []string{"code", "access_token", "id_token"} {
				if got.Has(k) {
					t.Errorf("error response carries %s", k)
				}
			}
			if tt.wantLogged != "" {
				if strings.Contains(got.Get("error_description"), tt.wantLogged) || !strings.Contains(e.log.String(), tt.wantLogged) {
					t.Errorf("internal cause must be logged and not sent: %v; log %s", got, e.log)
				}
			}
		})
	}
}

// TestOIDCRequestObjectNotSupported: the provider supports neither request
// objects nor request_uri (it advertises neither), so OIDC Core §6.1 and
// §6.2 require it to refuse them rather than act on the outer parameters.
func TestOIDCRequestObjectNotSupported(t *testing.T) {
	tests := []struct {
		param     string
		value     string
		wantError string
	}{
		{"request", "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.", "request_not_supported"},
		{"request_uri", "https://client.example/request.jwt", "request_uri_not_supported"},
	}
	for _, tt := range tests {
		t.Run(tt.param, func(t *testing.T) {
			e := oidcNewEnv(t, nil)
			q := url.Values{
				"client_id": {"web"}, "response_type": {"code"}, "scope": {"openid"}, "state": {"st-6"}, tt.param: {tt.value},
				"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
			}
			got := e.authorize(t, e.ts.URL+"/authorize?"+q.Encode()).params
			if got.Get("error") != tt.wantError || got.Get("state") != "st-6" || got.Has("code") || len(e.seen()) != 0 {
				t.Errorf("response %v after %d Authorizer calls; want only error %s, with state", got, len(e.seen()), tt.wantError)
			}
		})
	}
}

func TestOIDCSignerFaultAtTokenEndpoint(t *testing.T) {
	e := oidcNewEnv(t, nil)
	p := e.provider(t)
	conf := oidcOAuth2Config(p, "web", "openid")
	verifier := oauth2.GenerateVerifier()
	resp := e.authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	e.signer.fail.Store(true)
	_, err := conf.Exchange(t.Context(), resp.params.Get("code"), oauth2.VerifierOption(verifier))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response.StatusCode != http.StatusInternalServerError || re.ErrorCode != "server_error" {
		t.Fatalf("Exchange with a failing signer: %v; want 500 server_error", err)
	}
	if strings.Contains(string(re.Body), "10.0.0.9") || !strings.Contains(e.log.String(), "10.0.0.9") {
		t.Errorf("internal cause must be logged and not sent: %s; log %s", re.Body, e.log)
	}
}

func TestOIDCPrompt(t *testing.T) {
	tests := []struct {
		name       string
		scope      string
		prompt     string
		consentErr error // the Authorizer's answer, nil for consent
		wantError  string
		wantPrompt []string
		wantCalled bool
	}{
		{name: "login and consent passed to the Authorizer", scope: "openid", prompt: "login consent", wantPrompt: []string{"login", "consent"}, wantCalled: true},
		{name: "select_account", scope: "openid", prompt: "select_account", wantPrompt: []string{"select_account"}, wantCalled: true},
		{name: "extra spaces", scope: "openid", prompt: " consent  login ", wantPrompt: []string{"consent", "login"}, wantCalled: true},
		{name: "no prompt", scope: "openid", wantCalled: true},
		{name: "none with an active session", scope: "openid", prompt: "none", wantPrompt: []string{"none"}, wantCalled: true},
		{name: "none and the Authorizer needs a login", scope: "openid", prompt: "none", consentErr: oauthkit.ErrLoginRequired,
			wantError: "login_required", wantPrompt: []string{"none"}, wantCalled: true},
		{name: "none and the Authorizer needs consent", scope: "openid", prompt: "none", consentErr: oauthkit.ErrConsentRequired,
			wantError: "consent_required", wantPrompt: []string{"none"}, wantCalled: true},
		{name: "none and the Authorizer needs interaction", scope: "openid", prompt: "none",
			consentErr: oauthkit.ErrInteractionRequired.WithDescription("pick an account"), wantError: "interaction_required", wantPrompt: []string{"none"}, wantCalled: true},
		{name: "unknown value", scope: "openid", prompt: "login bogus", wantError: "invalid_request"},
		{name: "none with login", scope: "openid", prompt: "none login", wantError: "invalid_request"},
		{name: "none twice", scope: "openid", prompt: "none none", wantError: "invalid_request"},
		{name: "ignored without the openid scope", scope: "read", prompt: "bogus", wantCalled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := oidcNewEnv(t, nil)
			e.setConsent(func(req *oauthkit.AuthorizeRequest, now time.Time) (*oauthkit.Consent, error) {
				if tt.consentErr != nil {
					return nil, tt.consentErr
				}
				return &oauthkit.Consent{Subject: svcSubject, AuthTime: now}, nil
			})
			q := url.Values{
				"client_id": {"web"}, "response_type": {"code"}, "scope": {tt.scope}, "state": {"st-4"},
				"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
			}
			if tt.prompt != "" {
				q.Set("prompt", tt.prompt)
			}
			got := e.authorize(t, e.ts.URL+"/authorize?"+q.Encode()).params
			if got.Get("error") != tt.wantError || got.Get("state") != "st-4" {
				t.Errorf("response %v, want error %q with state", got, tt.wantError)
			}
			if (got.Get("code") != "") != (tt.wantError == "") {
				t.Errorf("code present %v, want %v", got.Get("code") != "", tt.wantError == "")
			}
			seen := e.seen()
			if (len(seen) == 1) != tt.wantCalled || len(seen) > 1 {
				t.Fatalf("Authorizer called %d times, want called %v", len(seen), tt.wantCalled)
			}
			if tt.wantCalled {
				if diff := cmp.Diff(tt.wantPrompt, seen[0].Prompt); diff != "" {
					t.Errorf("AuthorizeRequest.Prompt (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestOIDCMaxAge(t *testing.T) {
	tests := []struct {
		name       string
		maxAge     *string
		authAge    time.Duration // how long ago the user authenticated
		noAuthTime bool
		wantError  string
		wantMaxAge *time.Duration
		wantCalled bool
	}{
		{name: "fresh authentication", maxAge: oidcPtr("3600"), authAge: time.Minute, wantMaxAge: oidcPtr(time.Hour), wantCalled: true},
		{name: "exactly max_age old", maxAge: oidcPtr("60"), authAge: time.Minute, wantMaxAge: oidcPtr(time.Minute), wantCalled: true},
		{name: "one second too old", maxAge: oidcPtr("60"), authAge: 61 * time.Second, wantError: "login_required", wantMaxAge: oidcPtr(time.Minute), wantCalled: true},
		{name: "old authentication", maxAge: oidcPtr("60"), authAge: 2 * time.Hour, wantError: "login_required", wantMaxAge: oidcPtr(time.Minute), wantCalled: true},
		{name: "no auth time", maxAge: oidcPtr("86400"), noAuthTime: true, wantError: "login_required", wantMaxAge: oidcPtr(24 * time.Hour), wantCalled: true},
		{name: "zero, authenticated now", maxAge: oidcPtr("0"), authAge: 0, wantMaxAge: oidcPtr(time.Duration(0)), wantCalled: true},
		{name: "zero, authenticated a second ago", maxAge: oidcPtr("0"), authAge: time.Second, wantError: "login_required", wantMaxAge: oidcPtr(time.Duration(0)), wantCalled: true},
		{name: "absent, old authentication", authAge: 30 * 24 * time.Hour, wantCalled: true},
		{name: "letters", maxAge: oidcPtr("abc"), wantError: "invalid_request"},
		{name: "negative", maxAge: oidcPtr("-1"), wantError: "invalid_request"},
		{name: "plus sign", maxAge: oidcPtr("+5"), wantError: "invalid_request"},
		{name: "fraction", maxAge: oidcPtr("1.5"), wantError: "invalid_request"},
		{name: "empty", maxAge: oidcPtr(""), wantError: "invalid_request"},
		{name: "overflowing", maxAge: oidcPtr("99999999999999999999999"), wantError: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := oidcNewEnv(t, nil)
			e.setConsent(func(req *oauthkit.AuthorizeRequest, now time.Time) (*oauthkit.Consent, error) {
				c := &oauthkit.Consent{Subject: svcSubject, AuthTime: now.Add(-tt.authAge)}
				if tt.noAuthTime {
					c.AuthTime = time.Time{}
				}
				return c, nil
			})
			p := e.provider(t)
			conf := oidcOAuth2Config(p, "web", "openid")
			verifier := oauth2.GenerateVerifier()
			opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
			if tt.maxAge != nil {
				opts = append(opts, oauth2.SetAuthURLParam("max_age", *tt.maxAge))
			}
			got := e.authorize(t, conf.AuthCodeURL("st-5", opts...)).params
			if got.Get("error") != tt.wantError || got.Get("state") != "st-5" {
				t.Fatalf("response %v, want error %q with state", got, tt.wantError)
			}
			seen := e.seen()
			if (len(seen) == 1) != tt.wantCalled || len(seen) > 1 {
				t.Fatalf("Authorizer called %d times, want called %v", len(seen), tt.wantCalled)
			}
			if tt.wantCalled {
				if diff := cmp.Diff(tt.wantMaxAge, seen[0].MaxAge); diff != "" {
					t.Errorf("AuthorizeRequest.MaxAge (-want +got):\n%s", diff)
				}
			}
			if tt.wantError != "" {
				return
			}
			tok, err := conf.Exchange(t.Context(), got.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			_, claims := e.oidcVerify(t, p, "web", tok.Extra("id_token").(string))
			// OIDC Core §3.1.2.1: with max_age, auth_time is required.
			if want := e.clock.Now().Add(-tt.authAge).Unix(); claims.AuthTime == nil || *claims.AuthTime != want {
				t.Errorf("auth_time %v, want %d", claims.AuthTime, want)
			}
		})
	}
}

func oidcPtr[T any](v T) *T { return &v }

func TestOIDCNewConfig(t *testing.T) {
	signer := oidcNewSigner(t)
	tests := []struct {
		name    string
		mod     func(*oauthkit.Config)
		wantErr bool
	}{
		{"ID tokens with JWKS", func(c *oauthkit.Config) { c.IDTokens, c.Endpoints.JWKS = signer, svcIssuer+"/jwks" }, false},
		{"ID tokens without JWKS", func(c *oauthkit.Config) { c.IDTokens = signer }, true},
		{"negative ID token lifetime", func(c *oauthkit.Config) {
			c.IDTokens, c.Endpoints.JWKS, c.IDTokenLifetime = signer, svcIssuer+"/jwks", -time.Second
		}, true},
		{"JWKS without ID tokens", func(c *oauthkit.Config) { c.Endpoints.JWKS = svcIssuer + "/jwks" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := oauthkit.Config{Issuer: svcIssuer, Clients: memory.NewClients(), Codes: memory.NewCodes(), Tokens: memory.NewTokens()}
			tt.mod(&cfg)
			srv, err := oauthkit.New(cfg)
			if (err != nil) != tt.wantErr || (srv == nil) == (err == nil) {
				t.Errorf("New = %v, %v; want error %v", srv, err, tt.wantErr)
			}
		})
	}
}

// oidcChallenge parses an RFC 6750 §3 WWW-Authenticate value into its
// scheme and auth-params; it fails the test on anything else.
func oidcChallenge(t *testing.T, h string) (string, map[string]string) {
	t.Helper()
	scheme, rest, _ := strings.Cut(h, " ")
	params := map[string]string{}
	re := regexp.MustCompile(`^([a-z_]+)="([\x20\x21\x23-\x5b\x5d-\x7e]*)"(, |$)`)
	for rest != "" {
		m := re.FindStringSubmatch(rest)
		if m == nil {
			t.Fatalf("malformed challenge %q at %q", h, rest)
		}
		if _, dup := params[m[1]]; dup {
			t.Fatalf("challenge %q repeats %s", h, m[1])
		}
		params[m[1]] = m[2]
		rest = rest[len(m[0]):]
	}
	return scheme, params
}

func TestUserInfo(t *testing.T) {
	type tokens struct{ openid, plain oauth2.Token }
	tests := []struct {
		name       string
		method     string
		auth       func(tk tokens) string // the Authorization header
		repeat     bool                   // send the Authorization header twice
		setup      func(t *testing.T, e *oidcEnv, tk tokens)
		wantStatus int
		wantError  string // error auth-param; "" for a challenge without one
		wantBody   map[string]any
	}{
		{name: "GET", method: "GET", auth: func(tk tokens) string { return "Bearer " + tk.openid.AccessToken },
			wantStatus: 200, wantBody: map[string]any{"sub": svcSubject, "email": "alice@example.com", "email_verified": true}},
		{name: "POST", method: "POST", auth: func(tk tokens) string { return "Bearer " + tk.openid.AccessToken },
			wantStatus: 200, wantBody: map[string]any{"sub": svcSubject, "email": "alice@example.com", "email_verified": true}},
		{name: "scheme in lower case", method: "GET", auth: func(tk tokens) string { return "bearer " + tk.openid.AccessToken },
			wantStatus: 200, wantBody: map[string]any{"sub": svcSubject, "email": "alice@example.com", "email_verified": true}},
		{name: "no token", method: "GET", auth: func(tokens) string { return "" }, wantStatus: 401},
		{name: "Basic credentials", method: "GET", auth: func(tokens) string { return "Basic d2ViOnNlY3JldA==" }, wantStatus: 401},
		{name: "Bearer without token", method: "GET", auth: func(tokens) string { return "Bearer " }, wantStatus: 400, wantError: "invalid_request"},
		{name: "two tokens in one header", method: "GET", auth: func(tk tokens) string { return "Bearer " + tk.openid.AccessToken + " " + tk.openid.AccessToken },
			wantStatus: 400, wantError: "invalid_request"},
		{name: "token with auth-params", method: "GET", auth: func(tk tokens) string { return `Bearer token="` + tk.openid.AccessToken + `"` },
			wantStatus: 400, wantError: "invalid_request"},
		{name: "malformed scheme", method: "GET", auth: func(tk tokens) string { return "Bearer: " + tk.openid.AccessToken },
			wantStatus: 400, wantError: "invalid_request"},
		{name: "two Authorization headers", method: "GET", auth: func(tk tokens) string { return "Bearer " + tk.openid.AccessToken }, repeat: true,
			wantStatus: 400, wantError: "invalid_request"},
		{name: "garbage token", method: "GET", auth: func(tokens) string { return "Bearer garbage" }, wantStatus: 401, wantError: "invalid_token"},
		{name: "refresh token", method: "GET", auth: func(tk tokens) string { return "Bearer " + tk.openid.RefreshToken }, wantStatus: 401, wantError: "invalid_token"},
		{name: "ID token", method: "GET", auth: func(tk tokens) string { return "Bearer " + tk.openid.Extra("id_token").(string) }, wantStatus: 401, wantError: "invalid_token"},
		{name: "expired token", method: "GET", auth: func(tk tokens) string { return "Bearer " + tk.openid.AccessToken },
			setup: func(t *testing.T, e *oidcEnv, _ tokens) { e.clock.Advance(svcAccessLifetime) }, wantStatus: 401, wantError: "invalid_token"},
		{name: "revoked token", method: "GET", auth: func(tk tokens) string { return "Bearer " + tk.openid.AccessToken },
			setup: func(t *testing.T, e *oidcEnv, tk tokens) {
				r, _ := http.NewRequest("POST", e.ts.URL+"/revoke", strings.NewReader(url.Values{"token": {tk.openid.AccessToken}}.Encode()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.SetBasicAuth("web", oidcSecretWeb)
				resp, err := http.DefaultClient.Do(r)
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("revoke: %v %v", resp, err)
				}
				resp.Body.Close()
			}, wantStatus: 401, wantError: "invalid_token"},
		{name: "token without the openid scope", method: "GET", auth: func(tk tokens) string { return "Bearer " + tk.plain.AccessToken },
			wantStatus: 403, wantError: "insufficient_scope"},
		{name: "subject no longer exists", method: "GET", auth: func(tk tokens) string { return "Bearer " + tk.openid.AccessToken },
			setup: func(t *testing.T, e *oidcEnv, _ tokens) { e.claims.setUsers(nil) }, wantStatus: 401, wantError: "invalid_token"},
		{name: "claims source fails", method: "GET", auth: func(tk tokens) string { return "Bearer " + tk.openid.AccessToken },
			setup:      func(t *testing.T, e *oidcEnv, _ tokens) { e.claims.setErr(errors.New("directory at 10.0.0.9 down")) },
			wantStatus: 500},
		{name: "token store fails", method: "GET", auth: func(tk tokens) string { return "Bearer " + tk.openid.AccessToken },
			setup:      func(t *testing.T, e *oidcEnv, _ tokens) { e.tokens.failReads.Store(true) },
			wantStatus: 500},
		{name: "PUT", method: "PUT", auth: func(tk tokens) string { return "Bearer " + tk.openid.AccessToken }, wantStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := oidcNewEnv(t, nil)
			var tk tokens
			for _, x := range []struct {
				scope string
				dst   *oauth2.Token
			}{{"openid email", &tk.openid}, {"email read", &tk.plain}} {
				conf := &oauth2.Config{
					ClientID: "web", ClientSecret: oidcSecretWeb, RedirectURL: svcRedirect, Scopes: strings.Fields(x.scope),
					Endpoint: oauth2.Endpoint{AuthURL: e.ts.URL + "/authorize", TokenURL: e.ts.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader},
				}
				verifier := oauth2.GenerateVerifier()
				resp := e.authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
				tok, err := conf.Exchange(t.Context(), resp.params.Get("code"), oauth2.VerifierOption(verifier))
				if err != nil {
					t.Fatal(err)
				}
				*x.dst = *tok
			}
			if tt.setup != nil {
				tt.setup(t, e, tk)
			}
			r, err := http.NewRequest(tt.method, e.ts.URL+"/userinfo", nil)
			if err != nil {
				t.Fatal(err)
			}
			if a := tt.auth(tk); a != "" {
				r.Header.Set("Authorization", a)
				if tt.repeat {
					r.Header.Add("Authorization", a)
				}
			}
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			if tt.wantBody != nil {
				if err := json.Unmarshal(raw, &body); err != nil {
					t.Fatalf("userinfo body %q: %v", raw, err)
				}
			} else if len(raw) != 0 {
				t.Errorf("error response has a body: %q", raw)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			if diff := cmp.Diff(tt.wantBody, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			switch tt.wantStatus {
			case 400, 401, 403:
				scheme, params := oidcChallenge(t, resp.Header.Get("WWW-Authenticate"))
				want := map[string]string{"realm": e.ts.URL}
				if tt.wantError != "" {
					want["error"] = tt.wantError
					want["error_description"] = params["error_description"]
				}
				if tt.wantError == "insufficient_scope" {
					want["scope"] = "openid"
				}
				if scheme != "Bearer" || cmp.Diff(want, params) != "" {
					t.Errorf("challenge %q; want scheme Bearer and params (-want +got):\n%s", resp.Header.Get("WWW-Authenticate"), cmp.Diff(want, params))
				}
				if tt.wantError != "" && params["error_description"] == "" {
					t.Errorf("challenge without error_description")
				}
			case 405:
				if got := resp.Header.Get("Allow"); got != "GET, POST" {
					t.Errorf("Allow %q, want GET, POST", got)
				}
			case 500:
				if !strings.Contains(e.log.String(), "10.0.0") {
					t.Errorf("internal fault not logged; log:\n%s", e.log)
				}
			}
		})
	}
}

// The userinfo endpoint and package bearer parse the Authorization header
// and write their challenges with the same code (internal/authheader): the
// same request gets the same status and error code from both (RFC 6750 §3).
func TestUserInfoAndBearerAgree(t *testing.T) {
	e := oidcNewEnv(t, nil)
	conf := &oauth2.Config{
		ClientID: "web", ClientSecret: oidcSecretWeb, RedirectURL: svcRedirect, Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: e.ts.URL + "/authorize", TokenURL: e.ts.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader},
	}
	verifier := oauth2.GenerateVerifier()
	resp := e.authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	tok, err := conf.Exchange(t.Context(), resp.params.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	mw, err := bearer.New(bearer.Config{Validator: bearer.Local(e.srv, ""), Realm: e.ts.URL, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	protected := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))

	type answer struct {
		Status int
		Scheme string
		Realm  string
		Error  string
	}
	tests := []struct {
		name   string
		header []string // Authorization header fields
		want   answer
	}{
		{name: "no header", want: answer{Status: 401, Scheme: "Bearer", Realm: e.ts.URL}},
		{name: "other scheme", header: []string{"Basic d2ViOnNlY3JldA=="}, want: answer{Status: 401, Scheme: "Bearer", Realm: e.ts.URL}},
		{name: "Bearer without token", header: []string{"Bearer"}, want: answer{Status: 400, Scheme: "Bearer", Realm: e.ts.URL, Error: "invalid_request"}},
		{name: "two tokens", header: []string{"Bearer a b"}, want: answer{Status: 400, Scheme: "Bearer", Realm: e.ts.URL, Error: "invalid_request"}},
		{name: "not a b64token", header: []string{`Bearer "abc"`}, want: answer{Status: 400, Scheme: "Bearer", Realm: e.ts.URL, Error: "invalid_request"}},
		{name: "two headers", header: []string{"Bearer " + tok.AccessToken, "Bearer " + tok.AccessToken},
			want: answer{Status: 400, Scheme: "Bearer", Realm: e.ts.URL, Error: "invalid_request"}},
		{name: "unknown token", header: []string{"Bearer garbage"}, want: answer{Status: 401, Scheme: "Bearer", Realm: e.ts.URL, Error: "invalid_token"}},
		{name: "valid token", header: []string{"Bearer " + tok.AccessToken}, want: answer{Status: 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, h := range map[string]http.Handler{"userinfo": e.srv.UserInfoHandler(), "bearer": protected} {
				r := httptest.NewRequest("GET", "/", nil)
				for _, v := range tt.header {
					r.Header.Add("Authorization", v)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				got := answer{Status: rec.Code}
				if c := rec.Header().Get("WWW-Authenticate"); c != "" {
					var params map[string]string
					got.Scheme, params = oidcChallenge(t, c)
					got.Realm, got.Error = params["realm"], params["error"]
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", name, diff)
				}
			}
		})
	}
}

// A client's own token (client_credentials) has no end-user: userinfo
// refuses it with invalid_token and never asks Config.Claims, even when the
// client ID is spelled like a user's subject (RFC 9700 §4.15.1).
func TestUserInfoRefusesClientToken(t *testing.T) {
	const secret = "svc-secret-0123456789abcdefghijklmnopqrstuvw"
	hash, err := oauthkit.HashSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	e := oidcNewEnv(t, func(c *oauthkit.Config) {
		c.Clients = memory.NewClients(&oauthkit.Client{
			ID: svcSubject, SecretHash: hash, Scopes: []string{"openid", "email"},
			GrantTypes: []string{oauthkit.GrantTypeClientCredentials},
		})
		c.Grants = append(c.Grants, grants.ClientCredentials{})
	})
	cc := clientcredentials.Config{
		ClientID: svcSubject, ClientSecret: secret, TokenURL: e.ts.URL + "/token",
		Scopes: []string{"openid", "email"}, AuthStyle: oauth2.AuthStyleInHeader,
	}
	tok, err := cc.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	stored, err := e.srv.ValidateAccessToken(t.Context(), tok.AccessToken)
	if err != nil || stored.Subject != svcSubject || !stored.SubjectIsClient {
		t.Fatalf("token as stored: %+v, %v; want subject %q marked as the client's", stored, err, svcSubject)
	}

	r := httptest.NewRequest("GET", "/userinfo", nil)
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	rec := httptest.NewRecorder()
	e.srv.UserInfoHandler().ServeHTTP(rec, r)
	scheme, params := oidcChallenge(t, rec.Header().Get("WWW-Authenticate"))
	got := map[string]any{"status": rec.Code, "scheme": scheme, "params": params, "body": rec.Body.String()}
	want := map[string]any{"status": 401, "scheme": "Bearer", "body": "", "params": map[string]string{
		"realm": e.ts.URL, "error": "invalid_token", "error_description": "the access token has no end-user",
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("userinfo with a client's token (-want +got):\n%s", diff)
	}
	if calls := e.claims.calls(); len(calls) != 0 {
		t.Errorf("Config.Claims called for a client's token: %q", calls)
	}
}
