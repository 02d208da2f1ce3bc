package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// rateLimitConfig has two client_credentials clients, a and b, and the
// given rate_limit member ("" for none).
func rateLimitConfig(t *testing.T, rateLimit string) config {
	t.Helper()
	in := `{"clients": [
		{"id": "a", "secret": "a-secret", "grant_types": ["client_credentials"], "scopes": ["read"]},
		{"id": "b", "secret": "b-secret", "grant_types": ["client_credentials"], "scopes": ["read"]}
	], "users": []` + rateLimit + `}`
	cfg, err := parseConfig("", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// clientCredentials posts a client_credentials request as id (secret
// id-secret, client_secret_basic) and returns the response with its body.
func clientCredentials(t *testing.T, ts *testServer, id string) (*http.Response, []byte) {
	t.Helper()
	return postToken(t, ts, id, id+"-secret", url.Values{"grant_type": {"client_credentials"}})
}

// postToken posts form to the token endpoint, with HTTP Basic
// authentication as id and secret unless id is empty.
func postToken(t *testing.T, ts *testServer, id, secret string, form url.Values) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.issuer+pathToken, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// rate_limit.token_requests_per_minute N: a client's N+1-th token request
// within a minute is answered 429 with Retry-After and a JSON error body;
// another client is not affected, nor are introspection and revocation.
func TestRateLimit(t *testing.T) {
	const n = 3
	cfg := rateLimitConfig(t, `, "rate_limit": {"token_requests_per_minute": 3}`)
	ts := startServer(t, cfg, false)
	t.Cleanup(ts.Close)
	var banner strings.Builder
	printBanner(&banner, ts.app, cfg)
	if want := "\nRate limit: 3 token requests per client per minute, then 429 Too Many Requests\n"; !strings.Contains(banner.String(), want) {
		t.Errorf("the banner does not show %q:\n%s", want, banner.String())
	}

	var token string
	for i := range n {
		resp, body := clientCredentials(t, ts, "a")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d of a: status %d: %s", i+1, resp.StatusCode, body)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
			t.Fatalf("request %d of a: %s: %v", i+1, body, err)
		}
		token = tok.AccessToken
	}

	resp, body := clientCredentials(t, ts, "a")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("request %d of a: status %d, want 429: %s", n+1, resp.StatusCode, body)
	}
	// A token comes back every 60/n = 20 seconds.
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60/n {
		t.Errorf("Retry-After = %q, want 1 to %d seconds", resp.Header.Get("Retry-After"), 60/n)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want JSON", ct)
	}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Errorf("body %s is not a JSON error: %v", body, err)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}

	// Other clients have their own budget.
	for i := range n {
		if resp, body := clientCredentials(t, ts, "b"); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d of b, after a was limited: status %d: %s", i+1, resp.StatusCode, body)
		}
	}
	// Only the token endpoint is limited.
	for range n + 1 {
		if got := introspect(t, ts, "a", "a-secret", token); got["active"] != true {
			t.Fatalf("introspection by a = %v, want its active token", got)
		}
	}
	revoke(t, ts, "a", "a-secret", token)
}

// Without rate_limit nothing is limited.
func TestNoRateLimit(t *testing.T) {
	cfg := rateLimitConfig(t, "")
	ts := startServer(t, cfg, false)
	t.Cleanup(ts.Close)
	var banner strings.Builder
	printBanner(&banner, ts.app, cfg)
	if strings.Contains(banner.String(), "Rate limit") {
		t.Errorf("the banner shows a rate limit:\n%s", banner.String())
	}
	for i := range 20 {
		if resp, body := clientCredentials(t, ts, "a"); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d: %s", i+1, resp.StatusCode, body)
		}
	}
}
