package oauthkit_test

// Dynamic client registration (RFC 7591) and its management (RFC 7592),
// end to end: clients register over HTTP, then use every grant they
// registered for through golang.org/x/oauth2.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// regEnv is a running server with registration on.
type regEnv struct {
	*e2eEnv
	srv   *oauthkit.Server
	store *memory.Store
	// registration is the registration_endpoint the metadata publishes.
	registration string
}

// regStart runs a server with registration open for authorization_code,
// refresh_token and client_credentials, scopes read and write, then
// changed by configure.
func regStart(t *testing.T, configure func(*oauthkit.Config)) *regEnv {
	t.Helper()
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	store := memory.NewStore()
	e := &regEnv{e2eEnv: &e2eEnv{ts: ts, tokens: store.Tokens, logs: &syncLog{}}, store: store}
	cfg := oauthkit.Config{
		Issuer:  ts.URL,
		Clients: store, Codes: store, Tokens: store,
		Authorizer:      e2eConsent("alice"),
		Grants:          []oauthkit.GrantHandler{grants.ClientCredentials{}},
		ScopesSupported: []string{"read", "write"},
		Registration: &oauthkit.RegistrationConfig{
			Store: store,
			GrantTypes: []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken,
				oauthkit.GrantTypeClientCredentials},
		},
		Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
	}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := oauthkit.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.srv = srv
	mux.Handle("/authorize", srv.AuthorizeHandler())
	mux.Handle("/token", srv.TokenHandler())
	mux.Handle("/register", srv.RegistrationHandler())
	mux.Handle("/register/", srv.RegistrationHandler())
	mux.Handle("/.well-known/oauth-authorization-server", srv.MetadataHandler())
	e.ctx = context.WithValue(t.Context(), oauth2.HTTPClient, ts.Client())
	e.meta = e2eDiscover(t, ts.Client(), ts.URL)
	var m struct {
		RegistrationEndpoint string `json:"registration_endpoint"`
	}
	getJSON(t, ts.Client(), ts.URL+"/.well-known/oauth-authorization-server", &m)
	e.registration = m.RegistrationEndpoint
	t.Cleanup(func() {
		if logs := e.logs.String(); logs != "" && !e.faultsExpected {
			t.Errorf("internal faults logged:\n%s", logs)
		}
	})
	return e
}

func getJSON(t *testing.T, hc *http.Client, url string, v any) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// regResponse is a response of the registration or configuration endpoint.
type regResponse struct {
	status int
	header http.Header
	body   map[string]any
}

// do sends a request with a JSON body (nil for none) and a Bearer token
// (empty for none).
func (e *regEnv) do(t *testing.T, method, url, token string, body any) regResponse {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(body); err != nil {
				t.Fatal(err)
			}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := regResponse{status: resp.StatusCode, header: resp.Header}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s %s: body %q is not a JSON object", method, url, raw)
		}
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" && resp.StatusCode != http.StatusNotFound {
		t.Errorf("%s %s: Cache-Control = %q, want no-store (RFC 7591 §3.2)", method, url, cc)
	}
	return r
}

// register registers md and returns the client information response.
func (e *regEnv) register(t *testing.T, md map[string]any) map[string]any {
	t.Helper()
	r := e.do(t, http.MethodPost, e.registration, "", md)
	if r.status != http.StatusCreated {
		t.Fatalf("registration: status %d, body %v; want 201", r.status, r.body)
	}
	return r.body
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func TestRegistrationThenEveryGrant(t *testing.T) {
	e := regStart(t, nil)
	if want := e.ts.URL + "/register"; e.registration != want {
		t.Fatalf("registration_endpoint = %q, want %q", e.registration, want)
	}
	before := time.Now().Unix()
	info := e.register(t, map[string]any{
		"redirect_uris":              []string{e2eRedirectURI},
		"grant_types":                []string{"authorization_code", "refresh_token", "client_credentials"},
		"token_endpoint_auth_method": "client_secret_post",
		"client_name":                "Registered App",
		"client_uri":                 "https://client.example/",
		"contacts":                   []string{"ops@client.example"},
		"software_id":                "4NRB1-0XZABZI9E6-5SM3R",
		"software_version":           "2.1",
		"scope":                      "read write",
		"unknown_extension":          map[string]any{"ignored": true},
		"client_name#ja-Jpan-JP":     "クライアント名",
	})
	id, secret := str(info, "client_id"), str(info, "client_secret")
	issued, _ := info["client_id_issued_at"].(float64)
	switch {
	case len(id) != 43 || len(secret) != 43:
		t.Fatalf("client_id %q, client_secret %q: want 256-bit random values", id, secret)
	case int64(issued) < before || int64(issued) > time.Now().Unix():
		t.Errorf("client_id_issued_at = %v, want now", info["client_id_issued_at"])
	case str(info, "registration_client_uri") != e.registration+"/"+id:
		t.Errorf("registration_client_uri = %q", info["registration_client_uri"])
	case len(str(info, "registration_access_token")) != 43:
		t.Errorf("registration_access_token = %q", info["registration_access_token"])
	}
	wantEcho := map[string]any{
		"client_id":                  id,
		"client_secret":              secret,
		"client_secret_expires_at":   float64(0),
		"client_id_issued_at":        issued,
		"registration_access_token":  info["registration_access_token"],
		"registration_client_uri":    info["registration_client_uri"],
		"redirect_uris":              []any{e2eRedirectURI},
		"grant_types":                []any{"authorization_code", "refresh_token", "client_credentials"},
		"response_types":             []any{"code"},
		"token_endpoint_auth_method": "client_secret_post",
		"client_name":                "Registered App",
		"client_uri":                 "https://client.example/",
		"contacts":                   []any{"ops@client.example"},
		"software_id":                "4NRB1-0XZABZI9E6-5SM3R",
		"software_version":           "2.1",
		"scope":                      "read write",
	}
	if diff := cmp.Diff(wantEcho, info); diff != "" {
		t.Errorf("client information response (-want +got):\n%s", diff)
	}
	stored, err := e.store.Client(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored.SecretHash, secret) || stored.Registration.AccessTokenHash != oauthkit.HashToken(str(info, "registration_access_token")) {
		t.Errorf("stored secret hash %q, token hash %q: want hashes only", stored.SecretHash, stored.Registration.AccessTokenHash)
	}

	// Every grant it registered for, at once.
	conf := e.config(id, secret, oauth2.AuthStyleInParams, "read")
	tok := e.codeFlow(t, conf)
	e.checkIssued(t, tok, e2eIssued{
		TokenType: "Bearer", Scope: "read", HasRefresh: true,
		Access:  e2eStored{Kind: oauthkit.AccessToken, ClientID: id, Subject: "alice", Scope: []string{"read"}},
		Refresh: &e2eStored{Kind: oauthkit.RefreshToken, ClientID: id, Subject: "alice", Scope: []string{"read"}},
	})
	if _, err := e2eRefresh(e.e2eEnv, conf, tok.RefreshToken); err != nil {
		t.Errorf("refresh: %v", err)
	}
	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: e.meta.TokenEndpoint,
		Scopes: []string{"write"}, AuthStyle: oauth2.AuthStyleInParams}
	if _, err := cc.Token(e.ctx); err != nil {
		t.Errorf("client_credentials: %v", err)
	}

	// A public client: the code flow with PKCE and refresh.
	pub := e.register(t, map[string]any{
		"redirect_uris":              []string{"http://127.0.0.1/callback"},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"token_endpoint_auth_method": "none",
	})
	if _, ok := pub["client_secret"]; ok {
		t.Errorf("a public client got a client_secret: %v", pub)
	}
	if _, ok := pub["client_secret_expires_at"]; ok {
		t.Errorf("a public client got client_secret_expires_at: %v", pub)
	}
	pconf := e.config(str(pub, "client_id"), "", oauth2.AuthStyleInParams, "read")
	pconf.RedirectURL = "http://127.0.0.1:49152/callback" // any port (RFC 8252 §7.3)
	ptok := e.codeFlow(t, pconf)
	if _, err := e2eRefresh(e.e2eEnv, pconf, ptok.RefreshToken); err != nil {
		t.Errorf("public refresh: %v", err)
	}
	// It registered no client_credentials: refused.
	pcc := clientcredentials.Config{ClientID: str(pub, "client_id"), TokenURL: e.meta.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams}
	if _, err := pcc.Token(e.ctx); err == nil {
		t.Error("client_credentials for a public client without the grant: no error")
	}
}

func TestRegistrationDefaults(t *testing.T) {
	e := regStart(t, nil)
	tests := []struct {
		name string
		md   map[string]any
		want map[string]any // fields of the response
	}{{
		name: "nothing but redirect_uris",
		md:   map[string]any{"redirect_uris": []string{e2eRedirectURI}},
		want: map[string]any{"grant_types": []any{"authorization_code"}, "response_types": []any{"code"},
			"token_endpoint_auth_method": "client_secret_basic", "scope": "read write"},
	}, {
		name: "response types from grant types",
		md:   map[string]any{"grant_types": []string{"client_credentials"}, "scope": "read"},
		want: map[string]any{"grant_types": []any{"client_credentials"}, "response_types": nil,
			"token_endpoint_auth_method": "client_secret_basic", "scope": "read"},
	}, {
		name: "grant types from response types",
		md:   map[string]any{"response_types": []string{"code"}, "redirect_uris": []string{e2eRedirectURI}},
		want: map[string]any{"grant_types": []any{"authorization_code"}, "response_types": []any{"code"},
			"token_endpoint_auth_method": "client_secret_basic", "scope": "read write"},
	}, {
		name: "duplicates dropped, nulls as absent",
		md: map[string]any{"grant_types": []string{"authorization_code", "authorization_code"},
			"redirect_uris": []string{e2eRedirectURI, e2eRedirectURI}, "jwks": nil, "client_name": nil},
		want: map[string]any{"grant_types": []any{"authorization_code"}, "response_types": []any{"code"},
			"token_endpoint_auth_method": "client_secret_basic", "scope": "read write"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := e.register(t, tt.md)
			got := map[string]any{}
			for k := range tt.want {
				got[k] = info[k]
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("registered (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRegistrationInvalidMetadata(t *testing.T) {
	e := regStart(t, nil)
	jwk := `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`
	code := []string{e2eRedirectURI}
	tests := []struct {
		name     string
		body     any
		wantCode string
		wantDesc string // a part of error_description: the field at fault
	}{
		{"not JSON", []byte(`{"redirect_uris":`), "invalid_client_metadata", "not a JSON object"},
		{"JSON array", []byte(`[]`), "invalid_client_metadata", "not a JSON object"},
		{"redirect_uris not an array", map[string]any{"redirect_uris": e2eRedirectURI}, "invalid_client_metadata", "redirect_uris: must be a JSON array of strings"},
		{"redirect URI not a string", map[string]any{"redirect_uris": []any{1}}, "invalid_client_metadata", "redirect_uris: must be a JSON array of strings"},
		{"dpop flag not a boolean", map[string]any{"redirect_uris": code, "dpop_bound_access_tokens": "yes"}, "invalid_client_metadata", "dpop_bound_access_tokens: must be a JSON boolean"},
		{"client_name not a string", map[string]any{"client_name": 7, "redirect_uris": code}, "invalid_client_metadata", "client_name: must be a JSON string"},
		{"redirect URI relative", map[string]any{"redirect_uris": []string{"/cb"}}, "invalid_redirect_uri", "redirect_uris[0]"},
		{"redirect URI with fragment", map[string]any{"redirect_uris": []string{e2eRedirectURI, "https://client.example/cb#x"}}, "invalid_redirect_uri", "redirect_uris[1]: has a fragment"},
		{"redirect URI http not loopback", map[string]any{"redirect_uris": []string{"http://client.example/cb"}}, "invalid_redirect_uri", "redirect_uris[0]: http is allowed only for loopback"},
		{"redirect URI http localhost", map[string]any{"redirect_uris": []string{"http://localhost/cb"}}, "invalid_redirect_uri", "localhost"},
		{"redirect URI javascript", map[string]any{"redirect_uris": []string{"javascript:alert(1)"}}, "invalid_redirect_uri", "redirect_uris[0]"},
		{"redirect URI user info", map[string]any{"redirect_uris": []string{"https://u:p@client.example/cb"}}, "invalid_redirect_uri", "user information"},
		{"no redirect URI for the code grant", map[string]any{"grant_types": []string{"authorization_code"}}, "invalid_redirect_uri", "redirect_uris: required"},
		{"jwks and jwks_uri", map[string]any{"redirect_uris": code, "jwks": json.RawMessage(jwk), "jwks_uri": "https://client.example/jwks"}, "invalid_client_metadata", "jwks, jwks_uri"},
		{"jwks not a key set", map[string]any{"redirect_uris": code, "jwks": map[string]any{"keys": []any{}}}, "invalid_client_metadata", "jwks:"},
		{"jwks with a private key", map[string]any{"redirect_uris": code, "jwks": json.RawMessage(`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}]}`)}, "invalid_client_metadata", "jwks:"},
		{"jwks_uri http", map[string]any{"redirect_uris": code, "jwks_uri": "http://client.example/jwks"}, "invalid_client_metadata", "jwks_uri: must be an https URL"},
		{"unknown auth method", map[string]any{"redirect_uris": code, "token_endpoint_auth_method": "tls_client_auth"}, "invalid_client_metadata", "token_endpoint_auth_method: tls_client_auth is not supported"},
		{"private_key_jwt not configured", map[string]any{"redirect_uris": code, "token_endpoint_auth_method": "private_key_jwt", "jwks": json.RawMessage(jwk)}, "invalid_client_metadata", "token_endpoint_auth_method"},
		{"grant type not allowed", map[string]any{"grant_types": []string{"password"}}, "invalid_client_metadata", "grant_types: password"},
		{"grant type unknown", map[string]any{"grant_types": []string{"urn:example:magic"}}, "invalid_client_metadata", "grant_types: urn:example:magic"},
		{"grant type empty string", map[string]any{"grant_types": []string{""}}, "invalid_client_metadata", "grant_types[0]"},
		{"response type token without implicit", map[string]any{"redirect_uris": code, "response_types": []string{"code", "token"}}, "invalid_client_metadata", "response_types: token"},
		{"response type code without its grant", map[string]any{"response_types": []string{"code"}, "grant_types": []string{"client_credentials"}}, "invalid_client_metadata", "response_types: code needs the grant type authorization_code"},
		{"code grant without its response type", map[string]any{"redirect_uris": code, "grant_types": []string{"authorization_code"}, "response_types": []string{}}, "invalid_client_metadata", "response_types: empty"},
		{"response type id_token", map[string]any{"redirect_uris": code, "response_types": []string{"id_token"}}, "invalid_client_metadata", "response_types: id_token"},
		{"public client_credentials", map[string]any{"grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "none"}, "invalid_client_metadata", "grant_types: client_credentials needs client authentication"},
		{"scope not allowed", map[string]any{"redirect_uris": code, "scope": "read admin"}, "invalid_client_metadata", "scope: admin"},
		{"scope malformed", map[string]any{"redirect_uris": code, "scope": "read \"x\""}, "invalid_client_metadata", "scope: malformed"},
		{"client_uri javascript", map[string]any{"redirect_uris": code, "client_uri": "javascript:alert(1)"}, "invalid_client_metadata", "client_uri"},
		{"logo_uri http", map[string]any{"redirect_uris": code, "logo_uri": "http://client.example/logo.png"}, "invalid_client_metadata", "logo_uri: must be an https URL"},
		{"tos_uri relative", map[string]any{"redirect_uris": code, "tos_uri": "/tos"}, "invalid_client_metadata", "tos_uri"},
		{"policy_uri data", map[string]any{"redirect_uris": code, "policy_uri": "data:text/html,x"}, "invalid_client_metadata", "policy_uri"},
		{"client_name control character", map[string]any{"redirect_uris": code, "client_name": "a\u0000b"}, "invalid_client_metadata", "client_name"},
		{"client_name too long", map[string]any{"redirect_uris": code, "client_name": strings.Repeat("x", 300)}, "invalid_client_metadata", "client_name: longer than"},
		{"contact too long", map[string]any{"redirect_uris": code, "contacts": []string{"a@b", strings.Repeat("x", 300)}}, "invalid_client_metadata", "contacts[1]"},
		{"too many redirect URIs", map[string]any{"redirect_uris": slicesRepeat(e2eRedirectURI, 40)}, "invalid_redirect_uri", "redirect_uris: more than"},
		{"software_version not a string", map[string]any{"redirect_uris": code, "software_version": 2}, "invalid_client_metadata", "software_version: must be a JSON string"},
		// Flags this server (no Config.DPoP, no Config.PAR) cannot honour:
		// accepted, they would leave the client with server_error at every
		// token request, or with no way to start an authorization.
		{"dpop_bound_access_tokens without DPoP", map[string]any{"redirect_uris": code, "dpop_bound_access_tokens": true}, "invalid_client_metadata", "dpop_bound_access_tokens"},
		{"require_pushed_authorization_requests without PAR", map[string]any{"redirect_uris": code, "require_pushed_authorization_requests": true}, "invalid_client_metadata", "require_pushed_authorization_requests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, e.registration, "", tt.body)
			desc := str(r.body, "error_description")
			if r.status != http.StatusBadRequest || str(r.body, "error") != tt.wantCode || !strings.Contains(desc, tt.wantDesc) {
				t.Errorf("response %d %v; want 400 %s with %q in the description", r.status, r.body, tt.wantCode, tt.wantDesc)
			}
		})
	}
	if n := e.store.Clients; n == nil {
		t.Fatal("no client store")
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestRegistrationRequestErrors(t *testing.T) {
	e := regStart(t, func(cfg *oauthkit.Config) { cfg.MaxRequestBytes = 1024 })
	post := func(ct string, body []byte) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, e.registration, bytes.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, ct := range []string{"", "application/x-www-form-urlencoded", "text/json"} {
		if resp := post(ct, []byte(`{}`)); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("Content-Type %q: status %d, want 400", ct, resp.StatusCode)
		}
	}
	if resp := post("application/json; charset=utf-8", []byte(`{"redirect_uris":["`+e2eRedirectURI+`"]}`)); resp.StatusCode != http.StatusCreated {
		t.Errorf("application/json with charset: status %d, want 201", resp.StatusCode)
	}
	big := []byte(`{"client_name":"` + strings.Repeat("x", 2000) + `"}`)
	if resp := post("application/json", big); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("body beyond MaxRequestBytes: status %d, want 400", resp.StatusCode)
	}
	for _, tc := range []struct {
		method, path string
		want         int
		allow        string
	}{
		{http.MethodGet, "/register", http.StatusMethodNotAllowed, "POST"},
		{http.MethodPut, "/register", http.StatusMethodNotAllowed, "POST"},
		{http.MethodPost, "/register/abc", http.StatusMethodNotAllowed, "GET, PUT, DELETE"},
		{http.MethodPatch, "/register/abc", http.StatusMethodNotAllowed, "GET, PUT, DELETE"},
		{http.MethodGet, "/register/", http.StatusNotFound, ""},
		{http.MethodGet, "/register/a/b", http.StatusNotFound, ""},
	} {
		req, _ := http.NewRequest(tc.method, e.ts.URL+tc.path, nil)
		resp, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d Allow %q, want %d Allow %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), tc.want, tc.allow)
		}
	}
}

func TestRegistrationInitialAccessToken(t *testing.T) {
	e := regStart(t, func(cfg *oauthkit.Config) {
		cfg.Registration.InitialAccessToken = oauthkit.InitialAccessTokens("initial-token-1", "")
	})
	md := map[string]any{"redirect_uris": []string{e2eRedirectURI}}
	tests := []struct {
		name       string
		header     string
		wantStatus int
		wantChall  string
	}{
		{"missing", "", http.StatusUnauthorized, `Bearer realm="` + e.ts.URL + `"`},
		{"wrong", "Bearer initial-token-2", http.StatusUnauthorized, `Bearer realm="` + e.ts.URL + `", error="invalid_token", error_description="invalid initial access token"`},
		{"empty is never valid", "Bearer =", http.StatusBadRequest, `Bearer realm="` + e.ts.URL + `", error="invalid_request", error_description="malformed Authorization header"`},
		{"basic", "Basic aW5pdGlhbDp0b2tlbg==", http.StatusUnauthorized, `Bearer realm="` + e.ts.URL + `"`},
		{"right", "Bearer initial-token-1", http.StatusCreated, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := json.Marshal(md)
			req, _ := http.NewRequest(http.MethodPost, e.registration, bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := e.ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("WWW-Authenticate") != tt.wantChall {
				t.Errorf("status %d, WWW-Authenticate %q; want %d, %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), tt.wantStatus, tt.wantChall)
			}
		})
	}
}

func TestRegistrationAuthorizeHook(t *testing.T) {
	var seen []string
	e := regStart(t, func(cfg *oauthkit.Config) {
		cfg.Registration.Authorize = func(ctx context.Context, r *http.Request, md *oauthkit.ClientMetadata) error {
			seen = append(seen, r.Method+" "+md.TokenEndpointAuthMethod)
			switch md.ClientName {
			case "refused":
				return oauthkit.ErrInvalidClientMetadata.WithDescription("client_name: not on our list")
			case "fault":
				return errors.New("policy store on fire")
			}
			return nil
		}
	})
	e.register(t, map[string]any{"redirect_uris": []string{e2eRedirectURI}})
	r := e.do(t, http.MethodPost, e.registration, "", map[string]any{"redirect_uris": []string{e2eRedirectURI}, "client_name": "refused"})
	if r.status != http.StatusBadRequest || str(r.body, "error_description") != "client_name: not on our list" {
		t.Errorf("refused: %d %v", r.status, r.body)
	}
	e.faultsExpected = true
	r = e.do(t, http.MethodPost, e.registration, "", map[string]any{"redirect_uris": []string{e2eRedirectURI}, "client_name": "fault"})
	if r.status != http.StatusInternalServerError || str(r.body, "error") != "server_error" || strings.Contains(str(r.body, "error_description"), "fire") {
		t.Errorf("fault: %d %v", r.status, r.body)
	}
	if want := []string{"POST client_secret_basic", "POST client_secret_basic", "POST client_secret_basic"}; !cmp.Equal(seen, want) {
		t.Errorf("Authorize saw %v, want %v", seen, want)
	}
}

func TestRegistrationManagement(t *testing.T) {
	e := regStart(t, nil)
	info := e.register(t, map[string]any{
		"redirect_uris":              []string{e2eRedirectURI},
		"grant_types":                []string{"authorization_code", "client_credentials"},
		"token_endpoint_auth_method": "client_secret_basic",
		"client_name":                "Before",
		"scope":                      "read",
	})
	id, secret, rat, uri := str(info, "client_id"), str(info, "client_secret"), str(info, "registration_access_token"), str(info, "registration_client_uri")
	other := e.register(t, map[string]any{"redirect_uris": []string{e2eRedirectURI}})

	// Read (RFC 7592 §2.1): everything but the secret and the token.
	r := e.do(t, http.MethodGet, uri, rat, nil)
	want := map[string]any{}
	for k, v := range info {
		if k != "client_secret" && k != "registration_access_token" {
			want[k] = v
		}
	}
	if r.status != http.StatusOK || !cmp.Equal(want, r.body) {
		t.Errorf("read: %d %s", r.status, cmp.Diff(want, r.body))
	}

	// The registration access token, and only the client's own.
	for _, tc := range []struct {
		name, token, uri string
		wantStatus       int
		wantError        string
	}{
		{"missing token", "", uri, http.StatusUnauthorized, ""},
		{"wrong token", "not-the-token", uri, http.StatusUnauthorized, "invalid_token"},
		{"another client's token", str(other, "registration_access_token"), uri, http.StatusUnauthorized, "invalid_token"},
		{"the secret as token", secret, uri, http.StatusUnauthorized, "invalid_token"},
		{"unknown client", rat, e.registration + "/unknown", http.StatusUnauthorized, "invalid_token"},
	} {
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			t.Run(tc.name+"/"+method, func(t *testing.T) {
				r := e.do(t, method, tc.uri, tc.token, nil)
				chall := r.header.Get("WWW-Authenticate")
				if r.status != tc.wantStatus || !strings.HasPrefix(chall, "Bearer ") || tc.wantError != "" && !strings.Contains(chall, `error="`+tc.wantError+`"`) {
					t.Errorf("%d %q, want %d with a Bearer challenge %q", r.status, chall, tc.wantStatus, tc.wantError)
				}
			})
		}
	}

	// Update (RFC 7592 §2.2): full replacement, same validation.
	update := func(md map[string]any) regResponse { return e.do(t, http.MethodPut, uri, rat, md) }
	base := func() map[string]any {
		return map[string]any{"client_id": id, "redirect_uris": []string{e2eRedirectURI},
			"grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "client_secret_post", "scope": "read write"}
	}
	bad := []struct {
		name   string
		change func(map[string]any)
		code   string
		desc   string
	}{
		{"without client_id", func(m map[string]any) { delete(m, "client_id") }, "invalid_client_metadata", "client_id: required"},
		{"changing client_id", func(m map[string]any) { m["client_id"] = str(other, "client_id") }, "invalid_client_metadata", "client_id: does not match"},
		{"choosing a secret", func(m map[string]any) { m["client_secret"] = "my own secret of more than thirty-two chars" }, "invalid_client_metadata", "client_secret: does not match"},
		{"bad redirect URI", func(m map[string]any) { m["redirect_uris"] = []string{"https://x.example/#f"} }, "invalid_redirect_uri", "redirect_uris[0]"},
		{"bad scope", func(m map[string]any) { m["scope"] = "admin" }, "invalid_client_metadata", "scope: admin"},
	}
	for _, tc := range bad {
		t.Run("update "+tc.name, func(t *testing.T) {
			md := base()
			tc.change(md)
			r := update(md)
			if r.status != http.StatusBadRequest || str(r.body, "error") != tc.code || !strings.Contains(str(r.body, "error_description"), tc.desc) {
				t.Errorf("%d %v, want 400 %s %q", r.status, r.body, tc.code, tc.desc)
			}
		})
	}
	md := base()
	md["client_secret"] = secret // the current one: allowed
	md["registration_access_token"] = rat
	md["client_id_issued_at"] = info["client_id_issued_at"] // echoed back from a read: ignored
	r = update(md)
	if r.status != http.StatusOK {
		t.Fatalf("update: %d %v", r.status, r.body)
	}
	wantUpdated := map[string]any{
		"client_id": id, "client_id_issued_at": info["client_id_issued_at"], "client_secret_expires_at": float64(0),
		"registration_client_uri": uri, "redirect_uris": []any{e2eRedirectURI}, "grant_types": []any{"client_credentials"},
		"token_endpoint_auth_method": "client_secret_post", "scope": "read write",
	}
	if diff := cmp.Diff(wantUpdated, r.body); diff != "" {
		t.Errorf("update response (-want +got):\n%s", diff)
	}
	// The update took effect, with the same secret: client_secret_post
	// now, write too, and the name is gone.
	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: e.meta.TokenEndpoint, Scopes: []string{"write"}, AuthStyle: oauth2.AuthStyleInParams}
	if _, err := cc.Token(e.ctx); err != nil {
		t.Errorf("client_credentials after the update: %v", err)
	}
	cc.AuthStyle = oauth2.AuthStyleInHeader
	if _, err := cc.Token(e.ctx); err == nil {
		t.Error("client_secret_basic after switching to client_secret_post: no error")
	}
	if c, _ := e.store.Client(t.Context(), id); c.Name != "" {
		t.Errorf("client_name after an update without it = %q, want it deleted (RFC 7592 §2.2)", c.Name)
	}

	// Switching to a public client drops the secret; back to a secret
	// issues a new one.
	md = base()
	md["grant_types"], md["token_endpoint_auth_method"] = []string{"authorization_code"}, "none"
	if r := update(md); r.status != http.StatusOK || r.body["client_secret"] != nil || r.body["client_secret_expires_at"] != nil {
		t.Errorf("update to none: %d %v", r.status, r.body)
	}
	r = update(base())
	newSecret := str(r.body, "client_secret")
	if r.status != http.StatusOK || len(newSecret) != 43 || newSecret == secret {
		t.Fatalf("update back to a secret: %d %v", r.status, r.body)
	}
	cc.ClientSecret, cc.AuthStyle = newSecret, oauth2.AuthStyleInParams
	if _, err := cc.Token(e.ctx); err != nil {
		t.Errorf("client_credentials with the new secret: %v", err)
	}

	// Delete (RFC 7592 §2.3): 204, then the client is gone everywhere.
	if r := e.do(t, http.MethodDelete, uri, rat, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %v", r.status, r.body)
	}
	_, err := cc.Token(e.ctx)
	e2eCheckRetrieveError(t, err, "invalid_client", http.StatusBadRequest)
	if r := e.do(t, http.MethodGet, uri, rat, nil); r.status != http.StatusUnauthorized {
		t.Errorf("read after delete: %d, want 401", r.status)
	}
	if r := e.do(t, http.MethodDelete, uri, rat, nil); r.status != http.StatusUnauthorized {
		t.Errorf("delete after delete: %d, want 401", r.status)
	}
}

func TestRegistrationHostClientsHaveNoConfiguration(t *testing.T) {
	e := regStart(t, nil)
	e.store.Put(&oauthkit.Client{ID: "host", GrantTypes: []string{oauthkit.GrantTypeClientCredentials}, SecretHash: "$sha256$x"})
	if r := e.do(t, http.MethodGet, e.registration+"/host", "anything", nil); r.status != http.StatusUnauthorized {
		t.Errorf("reading a host's client: %d, want 401", r.status)
	}
}

func TestRegistrationSecretExpires(t *testing.T) {
	clock := &regClock{t: time.Now().Truncate(time.Second)}
	e := regStart(t, func(cfg *oauthkit.Config) {
		cfg.Now = clock.Now
		cfg.Registration.SecretLifetime = time.Hour
	})
	info := e.register(t, map[string]any{"grant_types": []string{"client_credentials"}, "scope": "read"})
	if got, want := info["client_secret_expires_at"], float64(clock.Now().Add(time.Hour).Unix()); got != want {
		t.Errorf("client_secret_expires_at = %v, want %v", got, want)
	}
	cc := clientcredentials.Config{ClientID: str(info, "client_id"), ClientSecret: str(info, "client_secret"), TokenURL: e.meta.TokenEndpoint}
	if _, err := cc.Token(e.ctx); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	clock.Advance(time.Hour)
	_, err := cc.Token(e.ctx)
	e2eCheckRetrieveError(t, err, "invalid_client", http.StatusUnauthorized)
}

// regClock is a settable clock safe for concurrent use.
type regClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *regClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *regClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestRegistrationRateLimited(t *testing.T) {
	e := regStart(t, func(cfg *oauthkit.Config) {
		cfg.RateLimiter = &oauthkit.TokenBucket{Rate: 0.001, Burst: 2}
	})
	md := map[string]any{"redirect_uris": []string{e2eRedirectURI}}
	e.register(t, md)
	e.register(t, md)
	r := e.do(t, http.MethodPost, e.registration, "", md)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || str(r.body, "error") != "temporarily_unavailable" {
		t.Errorf("third registration: %d %v Retry-After %q; want 429", r.status, r.body, r.header.Get("Retry-After"))
	}
	// Management has a bucket of its own: registrations do not use it up.
	for i := range 3 {
		r := e.do(t, http.MethodGet, e.registration+"/unknown", "token", nil)
		if want := []int{401, 401, 429}[i]; r.status != want {
			t.Errorf("management request %d: %d, want %d", i, r.status, want)
		}
	}
}

func TestRegistrationConcurrent(t *testing.T) {
	e := regStart(t, nil)
	const n = 100
	ids := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			b, _ := json.Marshal(map[string]any{"redirect_uris": []string{e2eRedirectURI}})
			resp, err := e.ts.Client().Post(e.registration, "application/json", bytes.NewReader(b))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var info map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || resp.StatusCode != http.StatusCreated {
				errs <- errors.New("registration failed: " + resp.Status)
				return
			}
			ids[i] = str(info, "client_id")
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("client_id %q issued twice", id)
		}
		seen[id] = true
		if _, err := e.store.Client(t.Context(), id); err != nil {
			t.Errorf("client %q not stored: %v", id, err)
		}
	}
}

func TestRegistrationConfigErrors(t *testing.T) {
	store := memory.NewStore()
	base := func() oauthkit.Config {
		return oauthkit.Config{Issuer: "https://as.example", Clients: store, Codes: store, Tokens: store,
			Registration: &oauthkit.RegistrationConfig{Store: store}}
	}
	tests := []struct {
		name   string
		change func(*oauthkit.Config)
		want   string
	}{
		{"no store", func(c *oauthkit.Config) { c.Registration.Store = nil }, "Registration.Store is required"},
		{"grant not served", func(c *oauthkit.Config) { c.Registration.GrantTypes = []string{"client_credentials"} }, `does not serve "client_credentials"`},
		{"implicit not allowed", func(c *oauthkit.Config) { c.Registration.GrantTypes = []string{"implicit"} }, `does not serve "implicit"`},
		{"client_secret_jwt", func(c *oauthkit.Config) { c.Registration.AuthMethods = []string{"client_secret_jwt"} }, "cannot be registered"},
		{"private_key_jwt not configured", func(c *oauthkit.Config) { c.Registration.AuthMethods = []string{"private_key_jwt"} }, "not among the server's methods"},
		{"negative lifetime", func(c *oauthkit.Config) { c.Registration.SecretLifetime = -1 }, "must not be negative"},
		{"negative client cap", func(c *oauthkit.Config) { c.Registration.MaxClientsPerSource = -1 }, "must not be negative"},
		{"client cap without a ClientCapper", func(c *oauthkit.Config) {
			c.Registration.Store = &switchRegistry{ClientRegistry: store}
			c.Registration.MaxClientsPerSource = 1
		}, "needs a Store that is a ClientCapper"},
		{"bad scope", func(c *oauthkit.Config) { c.Registration.Scopes = []string{"a b"} }, "not a scope token"},
		{"endpoint with query", func(c *oauthkit.Config) { c.Endpoints.Registration = "https://as.example/register?x" }, "Endpoints.Registration"},
		{"endpoint with trailing slash", func(c *oauthkit.Config) { c.Endpoints.Registration = "https://as.example/register/" }, "Endpoints.Registration"},
		{"endpoint without registration", func(c *oauthkit.Config) {
			c.Registration = nil
			c.Endpoints.Registration = "https://as.example/register"
		}, "without Config.Registration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			tt.change(&cfg)
			_, err := oauthkit.New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error with %q", err, tt.want)
			}
		})
	}
	// Off: no registration_endpoint, and the handler answers 404.
	cfg := base()
	cfg.Registration = nil
	srv, err := oauthkit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Metadata().RegistrationEndpoint; got != "" {
		t.Errorf("registration_endpoint = %q with registration off", got)
	}
	w := httptest.NewRecorder()
	srv.RegistrationHandler().ServeHTTP(w, httptest.NewRequest(http.MethodPost, "https://as.example/register", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("registration off: %d, want 404", w.Code)
	}
}

func TestRegistrationStoreFaults(t *testing.T) {
	e := regStart(t, func(cfg *oauthkit.Config) {
		cfg.Registration.Store = faultyRegistry{cfg.Registration.Store}
	})
	e.faultsExpected = true
	r := e.do(t, http.MethodPost, e.registration, "", map[string]any{"redirect_uris": []string{e2eRedirectURI}})
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || str(r.body, "error") != "server_error" {
		t.Errorf("store unavailable: %d %v", r.status, r.body)
	}
	r = e.do(t, http.MethodGet, e.registration+"/x", "token", nil)
	if r.status != http.StatusServiceUnavailable {
		t.Errorf("read with the store unavailable: %d %v", r.status, r.body)
	}
}

// Faults of the store and of randomness at each step of management: a
// deleted client during an update is 401, like an unknown one; other
// faults are server_error, logged.
func TestRegistrationManagementFaults(t *testing.T) {
	for _, tc := range []struct {
		name       string
		method     string
		fail       string // the registry method that fails
		err        error
		wantStatus int
	}{
		{"update of a client deleted meanwhile", http.MethodPut, "UpdateClient", oauthkit.ErrNotFound, http.StatusUnauthorized},
		{"update fault", http.MethodPut, "UpdateClient", errors.New("disk on fire"), http.StatusInternalServerError},
		{"delete fault", http.MethodDelete, "DeleteClient", oauthkit.ErrUnavailable, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := &switchRegistry{}
			e := regStart(t, func(cfg *oauthkit.Config) {
				reg.ClientRegistry = cfg.Registration.Store
				cfg.Registration.Store = reg
			})
			e.faultsExpected = tc.wantStatus != http.StatusUnauthorized
			info := e.register(t, map[string]any{"redirect_uris": []string{e2eRedirectURI}})
			reg.fail, reg.err = tc.fail, tc.err
			r := e.do(t, tc.method, str(info, "registration_client_uri"), str(info, "registration_access_token"),
				map[string]any{"client_id": info["client_id"], "redirect_uris": []string{e2eRedirectURI}})
			if r.status != tc.wantStatus {
				t.Errorf("%s: %d %v, want %d", tc.method, r.status, r.body, tc.wantStatus)
			}
		})
	}
	t.Run("randomness fails", func(t *testing.T) {
		e := regStart(t, func(cfg *oauthkit.Config) { cfg.Rand = failingRand{} })
		e.faultsExpected = true
		r := e.do(t, http.MethodPost, e.registration, "", map[string]any{"redirect_uris": []string{e2eRedirectURI}})
		if r.status != http.StatusInternalServerError || str(r.body, "error") != "server_error" {
			t.Errorf("%d %v, want 500 server_error", r.status, r.body)
		}
	})
}

// failingRand is a Config.Rand that always fails.
type failingRand struct{}

func (failingRand) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

// switchRegistry fails the method named fail with err, once set.
type switchRegistry struct {
	oauthkit.ClientRegistry
	fail string
	err  error
}

func (s *switchRegistry) UpdateClient(ctx context.Context, c *oauthkit.Client) error {
	if s.fail == "UpdateClient" {
		return s.err
	}
	return s.ClientRegistry.UpdateClient(ctx, c)
}

func (s *switchRegistry) DeleteClient(ctx context.Context, id string) error {
	if s.fail == "DeleteClient" {
		return s.err
	}
	return s.ClientRegistry.DeleteClient(ctx, id)
}

// faultyRegistry fails every call with ErrUnavailable.
type faultyRegistry struct{ oauthkit.ClientRegistry }

func (faultyRegistry) Client(context.Context, string) (*oauthkit.Client, error) {
	return nil, oauthkit.ErrUnavailable
}
func (faultyRegistry) CreateClient(context.Context, *oauthkit.Client) error {
	return oauthkit.ErrUnavailable
}
