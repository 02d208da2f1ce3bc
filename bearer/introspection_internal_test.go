package bearer

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The cache stays within CacheSize whatever the number of tokens, and is
// keyed by hashes: no raw token is kept.
func TestIntrospectionCacheBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"active":true}`))
	}))
	defer srv.Close()
	tests := []struct {
		size, tokens int
	}{
		{size: 1, tokens: 5},
		{size: 8, tokens: 50},
		{size: 100, tokens: 300},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.size), func(t *testing.T) {
			v, err := NewIntrospection(IntrospectionConfig{
				URL: srv.URL, ClientID: "rs", ClientSecret: "secret", CacheSize: tt.size,
				Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			last := ""
			for i := range tt.tokens {
				last = fmt.Sprintf("token-%d", i)
				if _, err := v.Validate(context.Background(), last); err != nil {
					t.Fatal(err)
				}
				v.mu.Lock()
				n := len(v.cache)
				v.mu.Unlock()
				if n > tt.size {
					t.Fatalf("after %d tokens the cache holds %d entries, more than %d", i+1, n, tt.size)
				}
			}
			if _, ok := v.cache[sha256.Sum256([]byte(last))]; !ok {
				t.Errorf("the latest token is not cached under its SHA-256")
			}
		})
	}
}
