package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// registrationConfigFor parses the demo config with the given registration
// member.
func registrationConfigFor(t *testing.T, registration string) config {
	t.Helper()
	cfg, err := parseConfig("", strings.NewReader(`{"registration": `+registration+`}`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// postJSON sends body to url with an optional Bearer token and returns the
// status and the decoded JSON answer.
func postJSON(t *testing.T, ts *testServer, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// "registration": {"initial_access_token": …} turns on the registration
// endpoint, found in the metadata; a registered client uses every grant it
// registered for at once, and manages its registration at its
// registration_client_uri.
func TestRegistration(t *testing.T) {
	const initial = "demo-initial-access-token"
	ts := startServer(t, registrationConfigFor(t, `{"initial_access_token": "`+initial+`"}`), false)
	var md struct {
		RegistrationEndpoint string `json:"registration_endpoint"`
	}
	resp, err := ts.Client().Get(ts.issuer + pathMetadata)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&md)
	resp.Body.Close()
	if md.RegistrationEndpoint != ts.issuer+"/register" {
		t.Fatalf("registration_endpoint = %q, want %q", md.RegistrationEndpoint, ts.issuer+"/register")
	}

	meta := map[string]any{
		"redirect_uris":              []string{"http://127.0.0.1/cb"},
		"grant_types":                []string{"authorization_code", "refresh_token", "client_credentials"},
		"token_endpoint_auth_method": "client_secret_basic",
		"client_name":                "Registered",
		"scope":                      "read write",
	}
	if status, _ := postJSON(t, ts, http.MethodPost, md.RegistrationEndpoint, "", meta); status != http.StatusUnauthorized {
		t.Errorf("without the initial access token: %d, want 401", status)
	}
	if status, _ := postJSON(t, ts, http.MethodPost, md.RegistrationEndpoint, "wrong-token-value", meta); status != http.StatusUnauthorized {
		t.Errorf("with a wrong initial access token: %d, want 401", status)
	}
	bad := map[string]any{"redirect_uris": []string{"http://app.example/cb"}}
	if status, body := postJSON(t, ts, http.MethodPost, md.RegistrationEndpoint, initial, bad); status != http.StatusBadRequest || body["error"] != "invalid_redirect_uri" {
		t.Errorf("bad redirect URI: %d %v", status, body)
	}
	bad = map[string]any{"redirect_uris": []string{"http://127.0.0.1/cb"}, "scope": "root"}
	if status, body := postJSON(t, ts, http.MethodPost, md.RegistrationEndpoint, initial, bad); status != http.StatusBadRequest || body["error"] != "invalid_client_metadata" {
		t.Errorf("bad scope: %d %v", status, body)
	}
	status, info := postJSON(t, ts, http.MethodPost, md.RegistrationEndpoint, initial, meta)
	if status != http.StatusCreated {
		t.Fatalf("registration: %d %v", status, info)
	}
	id, secret := info["client_id"].(string), info["client_secret"].(string)

	// Every grant at once: the code flow with PKCE through the login and
	// consent pages, a refresh, client credentials.
	ctx := clientContext(t.Context(), ts)
	conf := &oauth2.Config{ClientID: id, ClientSecret: secret, Scopes: []string{"read"},
		Endpoint:    oauth2.Endpoint{AuthURL: ts.issuer + pathAuthorize, TokenURL: ts.issuer + pathToken, AuthStyle: oauth2.AuthStyleInHeader},
		RedirectURL: "http://127.0.0.1/cb"}
	verifier := oauth2.GenerateVerifier()
	loc := newUserAgent(t, ts).authorize(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), "approve")
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
		t.Errorf("refresh: %v", err)
	}
	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: ts.issuer + pathToken, Scopes: []string{"write"}}
	if _, err := cc.Token(ctx); err != nil {
		t.Errorf("client_credentials: %v", err)
	}

	// Read, update and delete at registration_client_uri.
	uri, rat := info["registration_client_uri"].(string), info["registration_access_token"].(string)
	if status, got := postJSON(t, ts, http.MethodGet, uri, rat, nil); status != http.StatusOK || got["client_name"] != "Registered" {
		t.Errorf("read: %d %v", status, got)
	}
	meta["client_id"], meta["client_name"] = id, "Renamed"
	if status, got := postJSON(t, ts, http.MethodPut, uri, rat, meta); status != http.StatusOK || got["client_name"] != "Renamed" {
		t.Errorf("update: %d %v", status, got)
	}
	if status, _ := postJSON(t, ts, http.MethodGet, uri, "not-the-token", nil); status != http.StatusUnauthorized {
		t.Errorf("read with a wrong token: %d, want 401", status)
	}
	if status, _ := postJSON(t, ts, http.MethodDelete, uri, rat, nil); status != http.StatusNoContent {
		t.Errorf("delete: %d, want 204", status)
	}
	if _, err := cc.Token(ctx); err == nil {
		t.Error("client_credentials after delete: no error")
	}
}

// Without initial_access_token, registration is open; without
// "registration", there is no endpoint.
func TestRegistrationOpenAndOff(t *testing.T) {
	ts := startServer(t, registrationConfigFor(t, `{}`), false)
	status, info := postJSON(t, ts, http.MethodPost, ts.issuer+pathRegister, "", map[string]any{
		"redirect_uris": []string{"http://127.0.0.1/cb"}, "token_endpoint_auth_method": "none"})
	if status != http.StatusCreated || info["client_secret"] != nil {
		t.Errorf("open registration of a public client: %d %v", status, info)
	}
	off := startServer(t, demoConfig(), false)
	if status, _ := postJSON(t, off, http.MethodPost, off.issuer+pathRegister, "", map[string]any{}); status != http.StatusNotFound {
		t.Errorf("registration off: %d, want 404", status)
	}
	if m := off.app.server.Metadata(); m.RegistrationEndpoint != "" {
		t.Errorf("registration_endpoint %q with registration off", m.RegistrationEndpoint)
	}
}

// The registration object is checked like the rest of the config.
func TestRegistrationConfigErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"registration": {"initial_acess_token": "x"}}`, "registration.initial_acess_token: unknown field"},
		{`{"registration": {"initial_access_token": 7}}`, "registration.initial_access_token"},
		{`{"registration": {"initial_access_token": "short"}}`, "registration.initial_access_token: want at least 16 characters"},
		{`{"registration": {"initial_access_token": "has spaces in it, too many"}}`, "registration.initial_access_token: character ' '"},
		{`{"registration": []}`, "registration"},
	} {
		_, err := parseConfig("", strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.in, err, tc.want)
		}
	}
	if cfg, err := parseConfig("", strings.NewReader(`{"registration": null}`)); err != nil || cfg.Registration != nil {
		t.Errorf("registration null: %v, %v", cfg.Registration, err)
	}
}

// Open registration is rate-limited per address.
func TestRegistrationRateLimit(t *testing.T) {
	ts := startServer(t, registrationConfigFor(t, `{}`), false)
	md := map[string]any{"redirect_uris": []string{"http://127.0.0.1/cb"}, "token_endpoint_auth_method": "none"}
	for i := range registrationsPerMinute {
		if status, body := postJSON(t, ts, http.MethodPost, ts.issuer+pathRegister, "", md); status != http.StatusCreated {
			t.Fatalf("registration %d: %d %v", i, status, body)
		}
	}
	if status, body := postJSON(t, ts, http.MethodPost, ts.issuer+pathRegister, "", md); status != http.StatusTooManyRequests {
		t.Errorf("registration beyond the limit: %d %v, want 429", status, body)
	}
}
