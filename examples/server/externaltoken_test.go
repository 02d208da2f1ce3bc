package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// seedConfig is the content platform of seed 001 in the example's config
// file: its client SkyVaultapp (secret "secret") registered for the grant
// external_token, and its user admin (password "admin"); and a client
// legacy, registered for the password grant only.
const seedConfig = `{
  "clients": [
    {"id": "SkyVaultapp", "secret": "secret", "grant_types": ["external_token", "refresh_token"], "scopes": ["read", "write"]},
    {"id": "legacy", "secret": "legacy-secret", "grant_types": ["password", "refresh_token"], "scopes": ["read"]}
  ],
  "users": [{"username": "admin", "password": "admin"}]
}`

// seedCall is one HTTP exchange of the seed 001 test.
type seedCall struct {
	status int
	header http.Header
	body   map[string]any
}

// seedPost posts form to the server's endpoint u as client with secret
// (HTTP Basic, as curl -u does).
func seedPost(t *testing.T, ts *testServer, u, client, secret string, form url.Values) seedCall {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, secret)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	c := seedCall{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &c.body); err != nil {
		t.Fatalf("POST %s: %d %q: %v", u, resp.StatusCode, raw, err)
	}
	return c
}

// seedAPI calls the demo API with the access token.
func seedAPI(t *testing.T, ts *testServer, token string) (int, meResponse) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ts.issuer+pathAPIMe, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var me meResponse
	json.NewDecoder(resp.Body).Decode(&me)
	return resp.StatusCode, me
}

// TestExternalTokenSeed001 replays seed 001's external_token request:
//
//	curl -XPOST -vu SkyVaultapp:secret 'http://localhost:9191/oauth/token?username=admin&password=admin&access_token=YOUR_CUSTOM_TOKEN&refresh_token=YOUR_CUSTOM_REFRESH_TOKEN&grant_type=external_token'
//
// against the token endpoint of the metadata, with the parameters in the
// body (RFC 6749 §3.2 keeps credentials out of URLs; the example-server
// contract does not ask for query parameters) and random token values in
// place of the placeholders, which are refused. The response is the
// seed's: the submitted tokens, token_type bearer, expires_in; the tokens
// then work as the server's own.
func TestExternalTokenSeed001(t *testing.T) {
	cfg, err := parseConfig("", strings.NewReader(seedConfig))
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, cfg, false)
	t.Cleanup(ts.Close)

	resp, err := ts.Client().Get(ts.issuer + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		TokenEndpoint         string   `json:"token_endpoint"`
		IntrospectionEndpoint string   `json:"introspection_endpoint"`
		GrantTypesSupported   []string `json:"grant_types_supported"`
	}
	err = json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if err != nil || !strings.Contains(strings.Join(meta.GrantTypesSupported, " "), "external_token") {
		t.Fatalf("metadata %+v, %v: want external_token in grant_types_supported", meta, err)
	}

	seed := func(access, refresh string) url.Values {
		return url.Values{"username": {"admin"}, "password": {"admin"}, "access_token": {access}, "refresh_token": {refresh}, "grant_type": {"external_token"}}
	}
	// The seed's placeholders are no random values.
	if c := seedPost(t, ts, meta.TokenEndpoint, "SkyVaultapp", "secret", seed("YOUR_CUSTOM_TOKEN", "YOUR_CUSTOM_REFRESH_TOKEN")); c.status != 400 || c.body["error"] != "invalid_request" {
		t.Errorf("the seed's placeholders: %d %v, want invalid_request", c.status, c.body)
	}

	access, refresh := "upstream-AT-821c99d4_2c9f_4990_b68d_18eacaff54b2", "upstream-RT-e6f8624f_213d_4343_a971_980e83f734be"
	c := seedPost(t, ts, meta.TokenEndpoint, "SkyVaultapp", "secret", seed(access, refresh))
	if c.status != 200 || c.body["access_token"] != access || c.body["refresh_token"] != refresh ||
		!strings.EqualFold(c.body["token_type"].(string), "bearer") || c.body["expires_in"] == nil {
		t.Fatalf("seed 001 external_token: %d %v, want the submitted tokens, token_type bearer and expires_in", c.status, c.body)
	}
	if cc := c.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	in := seedPost(t, ts, meta.IntrospectionEndpoint, "SkyVaultapp", "secret", url.Values{"token": {access}})
	if in.body["active"] != true || in.body["sub"] != "admin" || in.body["client_id"] != "SkyVaultapp" {
		t.Errorf("introspection of the imported access token: %v", in.body)
	}
	// The seed sends no scope, and the example's clients have no default
	// scope: the token is granted none, and the demo API, which wants read,
	// refuses it for its scope alone.
	if status, _ := seedAPI(t, ts, access); status != http.StatusForbidden {
		t.Errorf("API with an imported token of no scope: %d, want 403 insufficient_scope", status)
	}

	// The imported refresh token rotates like any other.
	c = seedPost(t, ts, meta.TokenEndpoint, "SkyVaultapp", "secret", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	if c.status != 200 || c.body["refresh_token"] == refresh || c.body["refresh_token"] == nil {
		t.Fatalf("refresh with the imported token: %d %v", c.status, c.body)
	}

	// With scope=read the demo API accepts the imported token.
	form := seed("upstream-AT-0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0", "upstream-RT-1a2b3c4d_5e6f_7081_92a3_b4c5d6e7f809")
	form.Set("scope", "read")
	c = seedPost(t, ts, meta.TokenEndpoint, "SkyVaultapp", "secret", form)
	if c.status != 200 || c.body["scope"] != "read" {
		t.Fatalf("external_token with scope read: %d %v", c.status, c.body)
	}
	if status, me := seedAPI(t, ts, form.Get("access_token")); status != 200 || me.User != "admin" || me.ClientID != "SkyVaultapp" {
		t.Errorf("API with the imported token: %d %+v, want admin through SkyVaultapp", status, me)
	}

	// Refused: a wrong password, a value in use, a client not registered
	// for the grant.
	for name, tc := range map[string]struct {
		client, secret string
		form           url.Values
		want           string
	}{
		"wrong password": {"SkyVaultapp", "secret", func() url.Values {
			f := seed("upstream-AT-fedcba98_7654_3210_0123_456789abcdef", "upstream-RT-fedcba98_7654_3210_0123_456789abcdef")
			f.Set("password", "tiger")
			return f
		}(), "invalid_grant"},
		"value in use":          {"SkyVaultapp", "secret", seed(access, "upstream-RT-99887766_5544_3322_1100_aabbccddeeff"), "invalid_grant"},
		"client not registered": {"legacy", "legacy-secret", seed("upstream-AT-13579bdf_2468_ace0_1357_9bdf2468ace0", ""), "unauthorized_client"},
	} {
		if c := seedPost(t, ts, meta.TokenEndpoint, tc.client, tc.secret, tc.form); c.status != 400 || c.body["error"] != tc.want {
			t.Errorf("%s: %d %v, want %s", name, c.status, c.body, tc.want)
		}
	}
}

// TestExternalTokenNotServed checks that the demo server, whose config has
// no client registered for external_token, does not serve the grant.
func TestExternalTokenNotServed(t *testing.T) {
	ts := demoServer()
	form := url.Values{"grant_type": {"external_token"}, "username": {"alice"}, "password": {"wonderland"},
		"access_token": {"upstream-AT-821c99d4_2c9f_4990_b68d_18eacaff54b2"}}
	c := seedPost(t, ts, ts.issuer+pathToken, "legacy", "legacy-secret", form)
	if c.status != 400 || c.body["error"] != "unsupported_grant_type" {
		t.Errorf("external_token at the demo server: %d %v, want unsupported_grant_type", c.status, c.body)
	}
}
