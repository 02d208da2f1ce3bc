package oauthkit_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// TestTokenBucket checks the bucket's arithmetic by a fake clock: Burst at
// once, then Rate per second, each client and endpoint on its own.
func TestTokenBucket(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	b := &oauthkit.TokenBucket{Rate: 2, Burst: 3, Now: func() time.Time { return now }}
	key := oauthkit.RateLimitKey{Endpoint: "token", ClientID: "a"}
	allow := func(k oauthkit.RateLimitKey) (bool, time.Duration) { return b.Allow(t.Context(), k) }
	for i := range 3 {
		if ok, _ := allow(key); !ok {
			t.Fatalf("request %d of a burst of 3 refused", i+1)
		}
	}
	ok, wait := allow(key)
	if ok || wait != 500*time.Millisecond {
		t.Errorf("4th request at once = %t, retry after %v; want refused, 500ms", ok, wait)
	}
	if ok, _ := allow(oauthkit.RateLimitKey{Endpoint: "token", ClientID: "b"}); !ok {
		t.Error("another client was refused")
	}
	if ok, _ := allow(oauthkit.RateLimitKey{Endpoint: "revocation", ClientID: "a"}); !ok {
		t.Error("the same client at another endpoint was refused")
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := allow(key); !ok {
		t.Error("refused after a token was refilled")
	}
	if ok, _ := allow(key); ok {
		t.Error("allowed beyond the refill")
	}
	now = now.Add(time.Hour) // refills to Burst, never beyond
	for i := range 3 {
		if ok, _ := allow(key); !ok {
			t.Fatalf("request %d after a long pause refused", i+1)
		}
	}
	if ok, _ := allow(key); ok {
		t.Error("the bucket refilled beyond its Burst")
	}
	// A zero bucket limits nothing.
	if ok, _ := (&oauthkit.TokenBucket{}).Allow(t.Context(), key); !ok {
		t.Error("a TokenBucket without Rate and Burst refused")
	}
}

// TestRateLimitedTokenEndpoint checks the token endpoint's answer to a
// client over its limit: 429, Retry-After in whole seconds, the JSON error
// temporarily_unavailable, and no fault logged; and that the limiter is
// asked with the authenticated client.
func TestRateLimitedTokenEndpoint(t *testing.T) {
	secret, hash, err := oauthkit.GenerateSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	store := memory.NewStore(&oauthkit.Client{ID: "svc", SecretHash: hash, GrantTypes: []string{oauthkit.GrantTypeClientCredentials}})
	now := time.Unix(1_800_000_000, 0)
	var log bytes.Buffer
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer: "https://auth.example.com", Clients: store, Codes: store, Tokens: store,
		Grants:      []oauthkit.GrantHandler{grants.ClientCredentials{}},
		RateLimiter: &oauthkit.TokenBucket{Rate: 0.25, Burst: 1, Now: func() time.Time { return now }},
		Logger:      slog.New(slog.NewTextHandler(&log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	request := func(secret string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("svc", secret)
		rec := httptest.NewRecorder()
		srv.TokenHandler().ServeHTTP(rec, r)
		return rec
	}
	if rec := request(secret); rec.Code != http.StatusOK {
		t.Fatalf("first request: %d %s", rec.Code, rec.Body)
	}
	// A failed authentication is not counted against the client.
	if rec := request("wrong"); rec.Code != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d %s", rec.Code, rec.Body)
	}
	rec := request(secret)
	var body struct{ Error string }
	json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "4" || body.Error != "temporarily_unavailable" {
		t.Errorf("over the limit: status %d, Retry-After %q, error %q; want 429, \"4\", temporarily_unavailable", rec.Code, rec.Header().Get("Retry-After"), body.Error)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Error("the 429 lacks Cache-Control: no-store")
	}
	if log.Len() != 0 {
		t.Errorf("a rate-limited request was logged as a fault: %s", log.String())
	}
	now = now.Add(4 * time.Second)
	if rec := request(secret); rec.Code != http.StatusOK {
		t.Errorf("after Retry-After: %d %s", rec.Code, rec.Body)
	}
}

// TestTokenBucketConcurrent takes tokens from many goroutines at once: the
// bucket hands out exactly Burst of them, and the race detector watches.
func TestTokenBucketConcurrent(t *testing.T) {
	b := &oauthkit.TokenBucket{Rate: 1e-9, Burst: 50}
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			if ok, _ := b.Allow(t.Context(), oauthkit.RateLimitKey{Endpoint: "token", ClientID: "c"}); ok {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 50 {
		t.Errorf("%d of 200 concurrent requests allowed, want the burst of 50", n)
	}
}
