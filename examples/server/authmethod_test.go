package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// A client registered without token_endpoint_auth_method authenticates
// with client_secret_basic or client_secret_post, whichever it sends (x/oauth2
// AuthStyleInParams, AuthStyleInHeader and its auto-detection); a client
// whose config names a method may use only that one (example-server.md,
// issue 7 item 5).
func TestTokenEndpointAuthMethods(t *testing.T) {
	cfg, err := parseConfig("", strings.NewReader(`{"clients": [
		{"id": "any", "secret": "any-secret", "grant_types": ["client_credentials"], "scopes": ["read"]},
		{"id": "basic", "secret": "basic-secret", "token_endpoint_auth_method": "client_secret_basic", "grant_types": ["client_credentials"], "scopes": ["read"]},
		{"id": "post", "secret": "post-secret", "token_endpoint_auth_method": "client_secret_post", "grant_types": ["client_credentials"], "scopes": ["read"]}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, cfg, false)
	t.Cleanup(ts.Close)
	ctx := clientContext(t.Context(), ts)

	styles := map[oauth2.AuthStyle]string{
		oauth2.AuthStyleInHeader:   "client_secret_basic",
		oauth2.AuthStyleInParams:   "client_secret_post",
		oauth2.AuthStyleAutoDetect: "auto-detect",
	}
	tests := []struct {
		client  string
		style   oauth2.AuthStyle
		wantErr string // an RFC 6749 §5.2 error code; empty for success
	}{
		{client: "any", style: oauth2.AuthStyleInHeader},
		{client: "any", style: oauth2.AuthStyleInParams},
		{client: "any", style: oauth2.AuthStyleAutoDetect},
		{client: "basic", style: oauth2.AuthStyleInHeader},
		{client: "basic", style: oauth2.AuthStyleInParams, wantErr: "invalid_client"},
		{client: "post", style: oauth2.AuthStyleInHeader, wantErr: "invalid_client"},
		{client: "post", style: oauth2.AuthStyleInParams},
		// x/oauth2 tries the header, is refused, and tries the form.
		{client: "post", style: oauth2.AuthStyleAutoDetect},
	}
	for _, tt := range tests {
		t.Run(tt.client+" with "+styles[tt.style], func(t *testing.T) {
			cc := clientcredentials.Config{
				ClientID: tt.client, ClientSecret: tt.client + "-secret", TokenURL: ts.issuer + pathToken,
				Scopes: []string{"read"}, AuthStyle: tt.style,
			}
			tok, err := cc.Token(ctx)
			if tt.wantErr != "" {
				if got := retrieveError(t, err); got != tt.wantErr {
					t.Errorf("error = %q, want %q", got, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if tok.AccessToken == "" {
				t.Errorf("token = %+v, want an access token", tok)
			}
		})
	}
}

// The demo client web, registered without token_endpoint_auth_method, runs
// the whole authorization code flow with x/oauth2 sending its secret in the
// form (AuthStyleInParams): code exchange, refresh, introspection and
// revocation.
func TestAuthorizationCodeClientSecretPost(t *testing.T) {
	ts := demoServer()
	ctx := clientContext(t.Context(), ts)
	conf := oauthConfig(ts, "web", "s3cret", "read")
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	ua := newUserAgent(t, ts)

	verifier := oauth2.GenerateVerifier()
	loc := ua.authorize(conf.AuthCodeURL("post-1", oauth2.S256ChallengeOption(verifier)), actionApprove)
	q := checkRedirect(t, ts, loc, "post-1")
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange with client_secret_post: %v", err)
	}
	old := *tok
	old.Expiry = time.Now().Add(-time.Minute)
	fresh, err := conf.TokenSource(ctx, &old).Token()
	if err != nil {
		t.Fatalf("refresh with client_secret_post: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
		t.Errorf("refresh gave %+v, want new tokens", fresh)
	}
	if got := introspect(t, ts, "web", "s3cret", fresh.AccessToken); got["active"] != true || got["sub"] != "alice" {
		t.Errorf("introspection = %v, want alice's active token", got)
	}
	revoke(t, ts, "web", "s3cret", fresh.RefreshToken)
	if got := introspect(t, ts, "web", "s3cret", fresh.AccessToken); got["active"] != false {
		t.Errorf("after revocation, introspection = %v, want inactive", got)
	}

	t.Run("wrong secret", func(t *testing.T) {
		bad := *conf
		bad.ClientSecret = "not-s3cret"
		verifier := oauth2.GenerateVerifier()
		loc := ua.authorize(bad.AuthCodeURL("post-2", oauth2.S256ChallengeOption(verifier)), actionApprove)
		q := checkRedirect(t, ts, loc, "post-2")
		_, err := bad.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if got := retrieveError(t, err); got != "invalid_client" {
			t.Errorf("error = %q, want invalid_client", got)
		}
	})
}

// The banner's curl line for a client registered for client_secret_post
// only sends the secret in the form, and works as printed.
func TestRunCurlLineClientSecretPost(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.json")
	cfg := `{"clients": [{"id": "svc", "secret": "it's a $ecret: 100%", "token_endpoint_auth_method": "client_secret_post",
		"grant_types": ["client_credentials"], "scopes": ["read"]}], "users": []}`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	banner := startRun(t, "-addr", "127.0.0.1:0", "-config", path)
	line := bannerLine(t, banner, "Try it (client_credentials for svc)")
	if strings.Contains(line, " -u ") || !strings.Contains(line, "client_secret=") {
		t.Errorf("curl line %q does not send the secret in the form", line)
	}
	if !strings.Contains(banner, "(client_secret_post only)") {
		t.Errorf("the banner does not say the client is restricted to client_secret_post:\n%s", banner)
	}
	checkTokenResponse(t, "as parsed", doCurl(t, line), "read")
	checkTokenResponse(t, "with curl", shellCurl(t, line), "read")
}
