package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit/grants"
)

// exchangeConfig has a password client "app", a service "svc" (the
// actor), and a gateway registered for token exchange that may also ask
// for the resource https://orders.example.
const exchangeConfig = `{
  "clients": [
    {"id": "app", "secret": "app-secret", "grant_types": ["password", "refresh_token"], "scopes": ["read", "write"]},
    {"id": "svc", "secret": "svc-secret", "grant_types": ["client_credentials"], "scopes": ["read"]},
    {"id": "gateway", "secret": "gateway-secret", "grant_types": ["urn:ietf:params:oauth:grant-type:token-exchange"], "scopes": ["read"],
     "resources": ["https://orders.example"]}
  ],
  "users": [{"username": "alice", "password": "alice-password"}]
}`

// TestTokenExchangeAndResources drives the example-server contract's token
// exchange and resource indicators over HTTP: the exchanged token is
// alice's with act naming svc (introspection), its audience the requested
// resources; /api/me accepts tokens for {issuer}/api and refuses tokens
// for other resources only; a resource the client may not have is
// invalid_target; a refresh may narrow the resources, never widen them.
func TestTokenExchangeAndResources(t *testing.T) {
	cfg, err := parseConfig("", strings.NewReader(exchangeConfig))
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, cfg, false)
	t.Cleanup(ts.Close)
	api := ts.issuer + pathAPI
	tokenURL := ts.issuer + pathToken

	password := func(resources ...string) seedCall {
		return seedPost(t, ts, tokenURL, "app", "app-secret", url.Values{"grant_type": {"password"},
			"username": {"alice"}, "password": {"alice-password"}, "scope": {"read"}, "resource": resources})
	}
	alice := password(api)
	if alice.status != 200 {
		t.Fatalf("password grant with resource %s: %d %v", api, alice.status, alice.body)
	}
	if status, me := seedAPI(t, ts, alice.body["access_token"].(string)); status != 200 || me.Subject == "" {
		t.Errorf("/api/me with a token for %s: %d %+v", api, status, me)
	}
	// A resource this client may not ask for.
	if c := password("https://orders.example"); c.status != 400 || c.body["error"] != "invalid_target" {
		t.Errorf("resource not allowed: %d %v", c.status, c.body)
	}
	// A refresh cannot widen the family's resources.
	if c := seedPost(t, ts, tokenURL, "app", "app-secret", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {alice.body["refresh_token"].(string)}, "resource": {"https://orders.example"}}); c.status != 400 || c.body["error"] != "invalid_target" {
		t.Errorf("widening refresh: %d %v", c.status, c.body)
	}

	svc := seedPost(t, ts, tokenURL, "svc", "svc-secret", url.Values{"grant_type": {"client_credentials"}})
	ex := seedPost(t, ts, tokenURL, "gateway", "gateway-secret", url.Values{
		"grant_type":    {grants.GrantTypeTokenExchange},
		"subject_token": {alice.body["access_token"].(string)}, "subject_token_type": {grants.TokenTypeAccessToken},
		"actor_token": {svc.body["access_token"].(string)}, "actor_token_type": {grants.TokenTypeAccessToken},
		"resource": {"https://orders.example"},
	})
	if ex.status != 200 || ex.body["issued_token_type"] != grants.TokenTypeAccessToken {
		t.Fatalf("token exchange: %d %v", ex.status, ex.body)
	}
	exchanged := ex.body["access_token"].(string)
	in := seedPost(t, ts, ts.issuer+pathIntrospect, "gateway", "gateway-secret", url.Values{"token": {exchanged}})
	act, _ := in.body["act"].(map[string]any)
	if in.body["active"] != true || act["sub"] != "svc" || in.body["sub"] == "" || in.body["client_id"] != "gateway" {
		t.Errorf("introspection of the exchanged token: %v", in.body)
	}
	// Its audience is the orders service only: the demo API refuses it.
	if status, _ := seedAPI(t, ts, exchanged); status != 401 {
		t.Errorf("/api/me with a token for another resource: %d, want 401", status)
	}
	// Scope beyond the subject token's.
	if c := seedPost(t, ts, tokenURL, "gateway", "gateway-secret", url.Values{
		"grant_type":    {grants.GrantTypeTokenExchange},
		"subject_token": {alice.body["access_token"].(string)}, "subject_token_type": {grants.TokenTypeAccessToken},
		"scope": {"write"},
	}); c.status != 400 || c.body["error"] != "invalid_scope" {
		t.Errorf("wider scope: %d %v", c.status, c.body)
	}
}

// TestProtectedResourceMetadata checks RFC 9728 for the demo API: its
// metadata document at {issuer}/.well-known/oauth-protected-resource/api,
// and resource_metadata in the challenge of every 401 from /api/me, so
// that a client that knows only the API finds this server.
func TestProtectedResourceMetadata(t *testing.T) {
	cfg, err := parseConfig("", strings.NewReader(exchangeConfig))
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, cfg, false)
	t.Cleanup(ts.Close)
	mdURL := ts.issuer + "/.well-known/oauth-protected-resource/api"

	resp, err := ts.Client().Get(ts.issuer + pathAPIMe)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if challenge := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || !strings.Contains(challenge, `resource_metadata="`+mdURL+`"`) {
		t.Errorf("/api/me without a token: %d %q, want 401 naming %s", resp.StatusCode, challenge, mdURL)
	}
	resp, err = ts.Client().Get(mdURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var md map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&md); err != nil || resp.StatusCode != 200 {
		t.Fatalf("metadata: %d %v", resp.StatusCode, err)
	}
	want := map[string]any{
		"resource":                 ts.issuer + pathAPI,
		"authorization_servers":    []any{ts.issuer},
		"scopes_supported":         []any{scopeAPIRead},
		"bearer_methods_supported": []any{"header"},
		// DPoP is on in the example: the algorithms of the token endpoint.
		"dpop_signing_alg_values_supported": []any{"ES256", "ES384", "ES512", "EdDSA", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"},
	}
	if diff := cmp.Diff(want, md); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
}
