package grants_test

import (
	"context"
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

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/memory"
)

const (
	etSecret = "a-generated-secret-of-at-least-32-characters"
	// etVerified is the grant type of the fixture's ExternalToken that
	// checks the external token with Verify instead of a password.
	etVerified = "urn:example:external-token-verified"
	// etUpstream is the one access token the fixture's upstream server
	// knows, alice's.
	etUpstream = "upstream-AT-7Hq2xZ9kLm4Pn8Rt3Vw6Yb1Cd5Fg0Jk"
)

// etFixture is a server with the external_token grant (password checked
// by fakeUsers) and etVerified (external token checked by Verify), its
// token, introspection and revocation endpoints, and an API behind package
// bearer. Its clients authenticate with client_secret_basic and etSecret:
// "proxy" is registered for both grants and refresh_token, "norefresh"
// for external_token alone, "cc" for client_credentials alone.
type etFixture struct {
	url   string
	users *fakeUsers
}

func newETFixture(t *testing.T, users *fakeUsers) *etFixture {
	t.Helper()
	hash, err := oauthkit.HashSecret(etSecret)
	if err != nil {
		t.Fatal(err)
	}
	client := func(id string, grantTypes ...string) *oauthkit.Client {
		return &oauthkit.Client{ID: id, SecretHash: hash, GrantTypes: grantTypes,
			Scopes: []string{"read", "write"}, DefaultScopes: []string{"read"}}
	}
	store := memory.NewStore(
		client("proxy", grants.GrantTypeExternalToken, etVerified, oauthkit.GrantTypeRefreshToken),
		client("norefresh", grants.GrantTypeExternalToken),
		client("cc", oauthkit.GrantTypeClientCredentials),
	)
	verify := func(_ context.Context, req *oauthkit.TokenRequest, accessToken string) (string, error) {
		switch {
		case accessToken == "upstream-down-0a1b2c3d4e5f60718293a4b5c6d7e8f9":
			return "", errors.New("upstream introspection: connection refused")
		case accessToken != etUpstream || req.Client.ID != "proxy":
			return "", oauthkit.ErrInvalidCredentials
		}
		return aliceSubject, nil
	}
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:  ts.URL,
		Clients: store, Codes: store, Tokens: store,
		Grants: []oauthkit.GrantHandler{
			grants.ExternalToken{Users: users},
			grants.ExternalToken{Type: etVerified, Verify: verify},
			grants.ClientCredentials{},
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	api, err := bearer.New(bearer.Config{Validator: bearer.Local(srv, "")})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("POST /token", srv.TokenHandler())
	mux.Handle("POST /introspect", srv.IntrospectionHandler())
	mux.Handle("POST /revoke", srv.RevocationHandler())
	mux.Handle("GET /api", api.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := bearer.FromContext(r.Context())
		io.WriteString(w, "hello "+claims.Subject)
	}), "read"))
	return &etFixture{url: ts.URL, users: users}
}

// post sends form to path as client and returns the status, the
// Retry-After header and the JSON body.
func (f *etFixture) post(t *testing.T, path, client string, form url.Values) (int, string, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, etSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("%s: %d %q: %v", path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), body
}

// api calls the bearer-protected API with token and returns the status
// and body.
func (f *etFixture) api(t *testing.T, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.url+"/api", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// etForm is an external_token request of alice importing access and,
// if not empty, refresh.
func etForm(access, refresh string) url.Values {
	f := url.Values{"grant_type": {"external_token"}, "username": {"alice"}, "password": {alicePassword}, "access_token": {access}}
	if refresh != "" {
		f.Set("refresh_token", refresh)
	}
	return f
}

// TestExternalTokenEndToEnd imports a token pair as seed 001 does and
// uses it as any other: the response is the imported values, introspection
// and the bearer middleware accept the access token, the refresh token
// rotates, revocation ends them.
func TestExternalTokenEndToEnd(t *testing.T) {
	f := newETFixture(t, &fakeUsers{})
	access, refresh := "ext-AT-9f8e7d6c5b4a39281706f5e4d3c2b1a0ZyXwVu", "ext-RT-0a1b2c3d4e5f60718293a4b5c6d7e8f9AbCdEf"
	form := etForm(access, refresh)
	form.Set("scope", "read write")
	status, _, body := f.post(t, "/token", "proxy", form)
	want := map[string]any{"access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expires_in": float64(3600), "scope": "read write"}
	if status != 200 || !cmp.Equal(body, want) {
		t.Fatalf("external_token: %d %v, want 200 %v", status, body, want)
	}
	if _, _, body := f.post(t, "/introspect", "proxy", url.Values{"token": {access}}); body["active"] != true || body["sub"] != aliceSubject || body["client_id"] != "proxy" || body["scope"] != "read write" {
		t.Errorf("introspection of the imported access token: %v", body)
	}
	if status, got := f.api(t, access); status != 200 || got != "hello "+aliceSubject {
		t.Errorf("API with the imported access token: %d %q", status, got)
	}

	// The imported refresh token rotates; used again, it is reuse, which
	// revokes the family (the new tokens too).
	status, _, body = f.post(t, "/token", "proxy", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	newAccess, _ := body["access_token"].(string)
	newRefresh, _ := body["refresh_token"].(string)
	if status != 200 || newAccess == "" || newAccess == access || newRefresh == "" || newRefresh == refresh {
		t.Fatalf("refresh with the imported token: %d %v", status, body)
	}
	if status, got := f.api(t, newAccess); status != 200 || got != "hello "+aliceSubject {
		t.Errorf("API with the refreshed access token: %d %q", status, got)
	}
	if status, _, body := f.post(t, "/token", "proxy", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("the rotated imported refresh token again: %d %v, want invalid_grant", status, body)
	}
	if status, _ := f.api(t, newAccess); status != 401 {
		t.Errorf("API with a token of a reused family: %d, want 401", status)
	}

	// Revocation of an imported access token.
	access2 := "ext-AT-2-9f8e7d6c5b4a39281706f5e4d3c2b1a0ZyXwVu"
	if status, _, body := f.post(t, "/token", "proxy", etForm(access2, "")); status != 200 || body["access_token"] != access2 || body["refresh_token"] == nil {
		t.Fatalf("external_token without refresh_token: %d %v, want the access token and a new refresh token", status, body)
	}
	if status, _, _ := f.post(t, "/revoke", "proxy", url.Values{"token": {access2}}); status != 200 {
		t.Fatalf("revocation: %d", status)
	}
	if _, _, body := f.post(t, "/introspect", "proxy", url.Values{"token": {access2}}); body["active"] != false {
		t.Errorf("introspection of the revoked imported token: %v", body)
	}
	if status, _ := f.api(t, access2); status != 401 {
		t.Errorf("API with the revoked imported token: %d, want 401", status)
	}
}

// TestExternalTokenVerify imports a token that Verify checks against the
// upstream server, with no password.
func TestExternalTokenVerify(t *testing.T) {
	f := newETFixture(t, &fakeUsers{})
	form := url.Values{"grant_type": {etVerified}, "access_token": {"upstream-forged-0a1b2c3d4e5f60718293a4b5c6d7e8"}}
	if status, _, body := f.post(t, "/token", "proxy", form); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("token unknown upstream: %d %v, want invalid_grant", status, body)
	}
	form.Set("access_token", "upstream-down-0a1b2c3d4e5f60718293a4b5c6d7e8f9")
	if status, _, body := f.post(t, "/token", "proxy", form); status != 500 || body["error"] != "server_error" {
		t.Errorf("upstream down: %d %v, want server_error", status, body)
	}
	form.Set("access_token", etUpstream)
	if status, _, body := f.post(t, "/token", "proxy", form); status != 200 || body["access_token"] != etUpstream {
		t.Fatalf("verified token: %d %v", status, body)
	}
	if status, got := f.api(t, etUpstream); status != 200 || got != "hello "+aliceSubject {
		t.Errorf("API with the verified imported token: %d %q", status, got)
	}
	if len(f.users.calls) != 0 {
		t.Errorf("password checked for the Verify grant: %q", f.users.calls)
	}
}

// TestExternalTokenHostile checks what the token endpoint answers to
// requests that must fail, and that none of them leaves a token behind.
func TestExternalTokenHostile(t *testing.T) {
	f := newETFixture(t, &fakeUsers{})
	inUse := "ext-AT-used-9f8e7d6c5b4a39281706f5e4d3c2b1a0Zy"
	if status, _, body := f.post(t, "/token", "proxy", etForm(inUse, "")); status != 200 {
		t.Fatalf("setup: %d %v", status, body)
	}
	good := "ext-AT-good-9f8e7d6c5b4a39281706f5e4d3c2b1a0Zy"
	with := func(form url.Values, name, value string) url.Values {
		form.Set(name, value)
		return form
	}
	without := func(form url.Values, name string) url.Values {
		form.Del(name)
		return form
	}
	twice := func(form url.Values, name, value string) url.Values {
		form.Add(name, value)
		return form
	}
	tests := []struct {
		name, client string
		form         url.Values
		status       int
		error        string
	}{
		{"wrong password", "proxy", with(etForm(good, ""), "password", "guess"), 400, "invalid_grant"},
		{"unknown user", "proxy", with(etForm(good, ""), "username", "mallory"), 400, "invalid_grant"},
		{"missing password", "proxy", without(etForm(good, ""), "password"), 400, "invalid_request"},
		{"missing access_token", "proxy", without(etForm(good, ""), "access_token"), 400, "invalid_request"},
		{"short", "proxy", etForm("0a1b2c3d4e5f6a7b", ""), 400, "invalid_request"},
		{"low entropy", "proxy", etForm(strings.Repeat("ab", 20), ""), 400, "invalid_request"},
		{"a word repeated", "proxy", etForm("password1password1password1password1", ""), 400, "invalid_request"},
		{"not b64token", "proxy", etForm("has space 0123456789abcdefghijklmnopqrstuv", ""), 400, "invalid_request"},
		{"not ASCII", "proxy", etForm("non-ASCII-é-0123456789abcdefghijklmnopqrstuv", ""), 400, "invalid_request"},
		{"weak refresh token", "proxy", etForm(good, "YOUR_CUSTOM_REFRESH_TOKEN"), 400, "invalid_request"},
		{"same value twice", "proxy", etForm(good, good), 400, "invalid_request"},
		{"access token in use", "proxy", etForm(inUse, ""), 400, "invalid_grant"},
		{"in use as refresh token", "proxy", etForm(good, inUse), 400, "invalid_grant"},
		{"scope the client may not have", "proxy", with(etForm(good, ""), "scope", "admin"), 400, "invalid_scope"},
		{"client not registered for the grant", "cc", etForm(good, ""), 400, "unauthorized_client"},
		{"refresh token for a client without refresh_token", "norefresh", etForm(good, "ext-RT-good-0a1b2c3d4e5f60718293a4b5c6d7e8f9"), 400, "unauthorized_client"},
		{"access_token sent twice", "proxy", twice(etForm(good, ""), "access_token", inUse), 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := f.post(t, "/token", tt.client, tt.form)
			if status != tt.status || body["error"] != tt.error {
				t.Errorf("%d %v, want %d %s", status, body, tt.status, tt.error)
			}
		})
	}
	if status, _ := f.api(t, good); status != 401 {
		t.Errorf("a refused import left %q usable: %d", good, status)
	}
}

// TestExternalTokenUsersUnavailable checks that a UserAuthenticator that
// cannot check the password for now (too many slow verifications waiting)
// is a fault answered 503, not a wrong password.
func TestExternalTokenUsersUnavailable(t *testing.T) {
	f := newETFixture(t, &fakeUsers{fault: fmt.Errorf("verifying: %w", oauthkit.ErrUnavailable)})
	status, retry, body := f.post(t, "/token", "proxy", etForm("ext-AT-busy-9f8e7d6c5b4a39281706f5e4d3c2b1a0Zy", ""))
	if status != 503 || retry == "" || body["error"] != "server_error" {
		t.Errorf("unavailable: %d Retry-After %q %v, want 503 server_error", status, retry, body)
	}
}

// TestExternalToken checks HandleGrant alone: what it grants, and the
// configuration it refuses.
func TestExternalToken(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	client := &oauthkit.Client{ID: "proxy", GrantTypes: []string{"external_token", "refresh_token"}, Scopes: []string{"read", "write"}, DefaultScopes: []string{"read"}}
	req := func(form url.Values) *oauthkit.TokenRequest {
		return &oauthkit.TokenRequest{GrantType: "external_token", Client: client, Form: form, Time: now}
	}
	access, refresh := "ext-AT-9f8e7d6c5b4a39281706f5e4d3c2b1a0ZyXwVu", "ext-RT-0a1b2c3d4e5f60718293a4b5c6d7e8f9AbCdEf"
	got, err := grants.ExternalToken{Users: &fakeUsers{}}.HandleGrant(t.Context(), req(etForm(access, refresh)))
	want := &oauthkit.Grant{Subject: aliceSubject, Scope: []string{"read"}, AuthTime: now, RefreshToken: true, ImportAccessToken: access, ImportRefreshToken: refresh}
	if err != nil || !cmp.Equal(got, want, grantOpts) {
		t.Errorf("HandleGrant = %+v, %v; want %+v", got, err, want)
	}

	// Both checks: the password's user and the token's must agree.
	verify := func(_ context.Context, _ *oauthkit.TokenRequest, token string) (string, error) {
		if token == access {
			return aliceSubject, nil
		}
		return "user-2", nil
	}
	g := grants.ExternalToken{Users: &fakeUsers{}, Verify: verify}
	if got, err := g.HandleGrant(t.Context(), req(etForm(access, ""))); err != nil || got.Subject != aliceSubject {
		t.Errorf("password and Verify agreeing: %+v, %v", got, err)
	}
	_, err = g.HandleGrant(t.Context(), req(etForm("ext-AT-bob-9f8e7d6c5b4a39281706f5e4d3c2b1a0ZyXwVu", "")))
	checkError(t, err, oauthkit.ErrInvalidGrant)

	// A protocol error of Verify is answered as it is.
	g = grants.ExternalToken{Verify: func(context.Context, *oauthkit.TokenRequest, string) (string, error) {
		return "", oauthkit.ErrInvalidScope.WithDescription("upstream scope")
	}}
	_, err = g.HandleGrant(t.Context(), req(etForm(access, "")))
	checkError(t, err, oauthkit.ErrInvalidScope)

	// Neither Users nor Verify, or an empty subject: a fault.
	for name, g := range map[string]grants.ExternalToken{
		"unconfigured":  {},
		"empty subject": {Verify: func(context.Context, *oauthkit.TokenRequest, string) (string, error) { return "", nil }},
	} {
		_, err := g.HandleGrant(t.Context(), req(etForm(access, "")))
		var oe *oauthkit.Error
		if err == nil || errors.As(err, &oe) {
			t.Errorf("%s: %v, want an internal fault", name, err)
		}
	}

	if got := (grants.ExternalToken{}).GrantType(); got != "external_token" {
		t.Errorf("GrantType() = %q, want external_token", got)
	}
	if got := (grants.ExternalToken{Type: etVerified}).GrantType(); got != etVerified {
		t.Errorf("GrantType() = %q, want %s", got, etVerified)
	}
}
