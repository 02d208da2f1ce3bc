package main

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit"
)

// oidcConfig is the demo config with the web client also allowed the email
// scope, so that every claim of the config users can be asked for.
func oidcConfig(format string) config {
	cfg := demoConfig()
	cfg.AccessTokenFormat = format
	cfg.Clients[0].Scopes = append(cfg.Clients[0].Scopes, "email")
	return cfg
}

// A relying party built on go-oidc discovers the example server, verifies
// its ID tokens and reads userinfo, whatever the access token format.
func TestOpenIDConnect(t *testing.T) {
	for _, format := range []string{formatOpaque, formatJWT} {
		t.Run(format, func(t *testing.T) {
			ts := startServer(t, oidcConfig(format), false)
			t.Cleanup(ts.Close)
			ctx := oidc.ClientContext(clientContext(t.Context(), ts), ts.Client())

			provider, err := oidc.NewProvider(ctx, ts.issuer)
			if err != nil {
				t.Fatalf("discovery: %v", err)
			}
			var disc struct {
				JWKS     string   `json:"jwks_uri"`
				UserInfo string   `json:"userinfo_endpoint"`
				Algs     []string `json:"id_token_signing_alg_values_supported"`
				Claims   []string `json:"claims_supported"`
			}
			if err := provider.Claims(&disc); err != nil {
				t.Fatal(err)
			}
			if disc.JWKS != ts.issuer+pathJWKS || disc.UserInfo != ts.issuer+pathUserInfo || !cmp.Equal(disc.Algs, []string{"ES256"}) {
				t.Errorf("discovery = %+v; want jwks_uri %s, userinfo_endpoint %s, ES256", disc, ts.issuer+pathJWKS, ts.issuer+pathUserInfo)
			}
			for _, c := range userClaimNames {
				if !slices.Contains(disc.Claims, c) {
					t.Errorf("claims_supported %v lacks %s", disc.Claims, c)
				}
			}

			conf := oauth2.Config{
				ClientID: "web", ClientSecret: "s3cret", Endpoint: provider.Endpoint(),
				RedirectURL: callbackURI(ts.issuer, "web"), Scopes: []string{oidc.ScopeOpenID, "profile", "email", "read"},
			}
			nonce := rand.Text()
			verifier := oauth2.GenerateVerifier()
			loc := newUserAgent(t, ts).authorize(conf.AuthCodeURL("oidc-state", oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), actionApprove)
			code := checkRedirect(t, ts, loc, "oidc-state").Get("code")
			tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			rawID, _ := tok.Extra("id_token").(string)
			if rawID == "" {
				t.Fatalf("no id_token in the token response %+v", tok)
			}

			idt, err := provider.Verifier(&oidc.Config{ClientID: "web"}).Verify(ctx, rawID)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if idt.Nonce != nonce || idt.Subject != "alice" || idt.Issuer != ts.issuer || !cmp.Equal(idt.Audience, []string{"web"}) {
				t.Errorf("ID token nonce %q sub %q iss %q aud %v; want nonce %q, alice, %s, [web]", idt.Nonce, idt.Subject, idt.Issuer, idt.Audience, nonce, ts.issuer)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			var idClaims map[string]any
			if err := idt.Claims(&idClaims); err != nil {
				t.Fatal(err)
			}
			if idClaims["azp"] != "web" || idClaims["auth_time"] == nil {
				t.Errorf("ID token claims %v: want azp web and auth_time", idClaims)
			}
			if _, ok := idClaims["email"]; ok {
				t.Errorf("the code flow's ID token carries profile claims (%v); they belong to userinfo (OIDC Core §5.4)", idClaims)
			}

			t.Run("refused ID tokens", func(t *testing.T) {
				tests := []struct {
					name     string
					clientID string
					raw      string
				}{
					{name: "another audience", clientID: "spa", raw: rawID},
					{name: "tampered signature", clientID: "web", raw: tamper(rawID)},
					{name: "the access token", clientID: "web", raw: tok.AccessToken},
				}
				for _, tt := range tests {
					t.Run(tt.name, func(t *testing.T) {
						if _, err := provider.Verifier(&oidc.Config{ClientID: tt.clientID}).Verify(ctx, tt.raw); err == nil {
							t.Errorf("Verify accepted it")
						}
					})
				}
			})

			t.Run("userinfo", func(t *testing.T) {
				ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
				if err != nil {
					t.Fatalf("UserInfo: %v", err)
				}
				var got map[string]any
				if err := ui.Claims(&got); err != nil {
					t.Fatal(err)
				}
				want := map[string]any{"sub": "alice", "name": "Alice Liddell", "preferred_username": "alice", "email": "alice@example.com", "email_verified": false}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("userinfo (-want +got):\n%s", diff)
				}
			})

			t.Run("userinfo refuses", func(t *testing.T) {
				tests := []struct {
					name       string
					auth       string
					wantStatus int
					wantError  string
				}{
					{name: "no token", wantStatus: 401},
					{name: "a user's token without openid", auth: "Bearer " + passwordToken(t, ts).AccessToken, wantStatus: 403, wantError: `error="insufficient_scope"`},
					// A client's own token speaks for no user (RFC 9700
					// §4.15.1), whatever its scope.
					{name: "a client's own token", auth: "Bearer " + clientToken(t, ts, "read").AccessToken, wantStatus: 401, wantError: `error="invalid_token"`},
					{name: "the ID token", auth: "Bearer " + rawID, wantStatus: 401, wantError: `error="invalid_token"`},
					{name: "the refresh token", auth: "Bearer " + tok.RefreshToken, wantStatus: 401, wantError: `error="invalid_token"`},
				}
				for _, tt := range tests {
					t.Run(tt.name, func(t *testing.T) {
						got := callAPI(t, ts, http.MethodGet, pathUserInfo, tt.auth)
						if got.status != tt.wantStatus || !strings.HasPrefix(got.challenge, "Bearer") || !strings.Contains(got.challenge, tt.wantError) {
							t.Errorf("status %d, WWW-Authenticate %q; want %d and %s", got.status, got.challenge, tt.wantStatus, tt.wantError)
						}
					})
				}
			})

			t.Run("the ID token is no access token", func(t *testing.T) {
				// Signed by the same keys, it must not pass for one (RFC
				// 9068 §5).
				if got := callAPI(t, ts, http.MethodGet, pathAPIMe, "Bearer "+rawID); got.status != http.StatusUnauthorized {
					t.Errorf("GET /api/me with the ID token: status %d, want 401", got.status)
				}
			})
		})
	}
}

// Discovery, the key set and userinfo are served only when the config asks
// for what needs them.
func TestEndpointsFollowConfig(t *testing.T) {
	withoutOpenID := func(format string) config {
		cfg := demoConfig()
		cfg.AccessTokenFormat = format
		cfg.Clients[0].Scopes = []string{"profile", "read", "write"}
		return cfg
	}
	tests := []struct {
		name         string
		cfg          config
		wantKeys     bool
		wantOpenID   bool
		wantEndpoint []string // banner names besides the always-present ones
	}{
		{name: "opaque, no openid client", cfg: withoutOpenID(formatOpaque)},
		{name: "jwt, no openid client", cfg: withoutOpenID(formatJWT), wantKeys: true, wantEndpoint: []string{"jwks"}},
		{name: "opaque with openid (the demo)", cfg: demoConfig(), wantKeys: true, wantOpenID: true, wantEndpoint: []string{"discovery", "userinfo", "jwks"}},
		{name: "jwt with openid", cfg: oidcConfig(formatJWT), wantKeys: true, wantOpenID: true, wantEndpoint: []string{"discovery", "userinfo", "jwks"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, tt.cfg, false)
			t.Cleanup(ts.Close)
			status := func(path string) int {
				resp, err := ts.Client().Get(ts.issuer + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			want := func(on bool) int {
				if on {
					return http.StatusOK
				}
				return http.StatusNotFound
			}
			m := ts.app.server.Metadata()
			got := map[string]any{
				"jwks status":      status(pathJWKS),
				"discovery status": status(pathOpenID),
				"jwks_uri":         m.JWKSURI,
				"userinfo":         m.UserInfoEndpoint,
				"ID token algs":    m.IDTokenSigningAlgValuesSupported,
			}
			wantM := map[string]any{
				"jwks status":      want(tt.wantKeys),
				"discovery status": want(tt.wantOpenID),
				"jwks_uri":         "",
				"userinfo":         "",
				"ID token algs":    []string(nil),
			}
			if tt.wantKeys {
				wantM["jwks_uri"] = ts.issuer + pathJWKS
			}
			if tt.wantOpenID {
				wantM["userinfo"] = ts.issuer + pathUserInfo
				wantM["ID token algs"] = []string{"ES256"}
			}
			if diff := cmp.Diff(wantM, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			var names []string
			for _, e := range ts.app.endpoints() {
				if !slices.Contains([]string{"issuer", "authorize", "token", "revoke", "introspect", "par", "metadata", "api"}, e[0]) {
					names = append(names, e[0])
				}
			}
			if diff := cmp.Diff(tt.wantEndpoint, names); diff != "" {
				t.Errorf("endpoints listed (-want +got):\n%s", diff)
			}
			if !tt.wantOpenID {
				if got := status(pathUserInfo); got != http.StatusNotFound {
					t.Errorf("GET %s: status %d, want 404 without OpenID Connect", pathUserInfo, got)
				}
			}
		})
	}
}

func TestUserClaims(t *testing.T) {
	users, err := newUserStore([]userConfig{
		{Username: "alice", Password: "wonderland", Email: "alice@example.com", Name: "Alice Liddell"},
		{Username: "bob", Password: "builder"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		subject string
		scope   []string
		want    map[string]any
		wantErr error
	}{
		{name: "openid only", subject: "alice", scope: []string{"openid"}, want: map[string]any{}},
		{name: "profile", subject: "alice", scope: []string{"openid", "profile"}, want: map[string]any{"name": "Alice Liddell", "preferred_username": "alice"}},
		{name: "email", subject: "alice", scope: []string{"openid", "email"}, want: map[string]any{"email": "alice@example.com", "email_verified": false}},
		{name: "both", subject: "alice", scope: []string{"email", "openid", "profile"}, want: map[string]any{
			"name": "Alice Liddell", "preferred_username": "alice", "email": "alice@example.com", "email_verified": false}},
		{name: "user without name or email", subject: "bob", scope: []string{"openid", "profile", "email"}, want: map[string]any{"preferred_username": "bob"}},
		{name: "unknown user", subject: "mallory", scope: []string{"openid", "profile"}, wantErr: oauthkit.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := users.Claims(t.Context(), tt.subject, tt.scope)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Claims error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); tt.wantErr == nil && diff != "" {
				t.Errorf("Claims (-want +got):\n%s", diff)
			}
			for _, v := range got {
				if v == "wonderland" || v == "builder" {
					t.Errorf("Claims returned a password: %v", got)
				}
			}
		})
	}
}

// The login and consent pages honour the OpenID Connect prompt and max_age
// parameters (OIDC Core §3.1.2.1).
func TestOpenIDPrompt(t *testing.T) {
	cfg := demoConfig()
	cfg.Clients = cfg.Clients[:1]
	ts := startServer(t, cfg, false)
	t.Cleanup(ts.Close)
	conf := oauthConfig(ts, "web", "s3cret")
	authURL := func(scope string, params ...string) string {
		q := url.Values{
			"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {conf.RedirectURL}, "state": {"p"},
			"scope": {scope}, "code_challenge": {pkceChallenge}, "code_challenge_method": {"S256"},
		}
		for i := 0; i+1 < len(params); i += 2 {
			q.Set(params[i], params[i+1])
		}
		return ts.issuer + pathAuthorize + "?" + q.Encode()
	}
	// signedIn returns a user agent signed in as alice who approved
	// "openid read".
	signedIn := func(t *testing.T) *userAgent {
		ua := newUserAgent(t, ts)
		if loc := ua.authorize(authURL("openid read"), actionApprove); loc.Query().Get("code") == "" {
			t.Fatalf("signing in ended at %s", loc)
		}
		return ua
	}

	const (
		wantLogin   = "login page"
		wantConsent = "consent page"
		wantCode    = "code"
	)
	tests := []struct {
		name      string
		signedIn  bool
		url       string
		want      string // wantLogin, wantConsent, wantCode, or an error code in the redirect
		thenLogin string // after signing in on the login page: wantCode or wantConsent
	}{
		{name: "none, not signed in", url: authURL("openid read", "prompt", "none"), want: "login_required"},
		{name: "none, signed in and approved", signedIn: true, url: authURL("openid read", "prompt", "none"), want: wantCode},
		{name: "none, scope not approved", signedIn: true, url: authURL("openid read write", "prompt", "none"), want: "consent_required"},
		{name: "none with an old sign-in", signedIn: true, url: authURL("openid read", "prompt", "none", "max_age", "0"), want: "login_required"},
		{name: "login, signed in", signedIn: true, url: authURL("openid read", "prompt", "login"), want: wantLogin, thenLogin: wantCode},
		{name: "select_account, signed in", signedIn: true, url: authURL("openid read", "prompt", "select_account"), want: wantLogin, thenLogin: wantCode},
		{name: "consent, approved before", signedIn: true, url: authURL("openid read", "prompt", "consent"), want: wantConsent},
		{name: "login consent, signed in", signedIn: true, url: authURL("openid read", "prompt", "login consent"), want: wantLogin, thenLogin: wantConsent},
		{name: "no prompt, signed in", signedIn: true, url: authURL("openid read"), want: wantCode},
		{name: "max_age not reached", signedIn: true, url: authURL("openid read", "max_age", "3600"), want: wantCode},
		{name: "max_age 0, signed in", signedIn: true, url: authURL("openid read", "max_age", "0"), want: wantLogin, thenLogin: wantCode},
		// Without openid, prompt is not an OpenID Connect parameter.
		{name: "none without openid", url: authURL("read", "prompt", "none"), want: wantLogin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ua := newUserAgent(t, ts)
			if tt.signedIn {
				ua = signedIn(t)
			}
			p := ua.get(tt.url)
			if got := outcome(t, ts, p); got != tt.want {
				t.Fatalf("got the %s, want the %s", got, tt.want)
			}
			if tt.thenLogin == "" {
				return
			}
			old := ua.cookie(ts.issuer, "oauthkit-session")
			p = ua.login(p, "alice", "wonderland")
			if got := outcome(t, ts, p); got != tt.thenLogin {
				t.Fatalf("after signing in again: got the %s, want the %s", got, tt.thenLogin)
			}
			if ua.cookie(ts.issuer, "oauthkit-session") == old {
				t.Errorf("signing in again kept the session ID")
			}
		})
	}
}

// pkceChallenge is a fixed S256 challenge, for requests that are never
// redeemed.
var pkceChallenge = oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())

// outcome names what an authorization response is: the login or consent
// page, a redirect with a code, or the error code of a redirect.
func outcome(t *testing.T, ts *testServer, p *page) string {
	t.Helper()
	switch {
	case isLoginPage(p):
		return "login page"
	case isConsentPage(p):
		return "consent page"
	case p.location == nil:
		t.Fatalf("status %d, want a page or a redirect:\n%s", p.status, p.body)
	}
	q := checkRedirect(t, ts, p.location, "p")
	if e := q.Get("error"); e != "" {
		return e
	}
	if q.Get("code") == "" {
		t.Fatalf("redirect %s has neither code nor error", p.location)
	}
	return "code"
}

// A sign-in older than max_age asks the user to sign in again.
func TestMaxAgeExpiredSession(t *testing.T) {
	cfg := demoConfig()
	cfg.Clients = cfg.Clients[:1]
	ts := startServer(t, cfg, false)
	t.Cleanup(ts.Close)
	conf := oauthConfig(ts, "web", "s3cret", "openid", "read")
	ua := newUserAgent(t, ts)
	ua.authorize(conf.AuthCodeURL("p", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), actionApprove)

	// Two hours later, by the pages' clock. (The pages read it only while
	// serving, and this test's requests run one at a time.)
	later := time.Now().Add(2 * time.Hour)
	ts.app.pages.now = func() time.Time { return later }
	authURL := conf.AuthCodeURL("p", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("max_age", "3600"))
	p := ua.get(authURL)
	if got := outcome(t, ts, p); got != "login page" {
		t.Fatalf("a 2-hour-old sign-in with max_age=3600: got the %s, want the login page", got)
	}
	if got := outcome(t, ts, ua.login(p, "alice", "wonderland")); got != "code" {
		t.Errorf("after signing in again: got the %s, want a code", got)
	}
}
