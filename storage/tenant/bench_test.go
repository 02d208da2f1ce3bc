package tenant_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
	"github.com/oauthkit/oauthkit/storage/storetest"
	"github.com/oauthkit/oauthkit/storage/tenant"
)

// The benchmarks measure what a view adds to each call of the in-memory
// store, the fastest store and so the one where the overhead shows most:
// each runs the same calls on the bare store (the baseline) and through a
// view.
func stores(b *testing.B) map[string]storetest.TenantStore {
	shared := memory.NewStore()
	v, err := tenant.Scope(shared, "tenant-0042")
	if err != nil {
		b.Fatal(err)
	}
	return map[string]storetest.TenantStore{"Bare": memory.NewStore(), "View": v}
}

func BenchmarkClient(b *testing.B) {
	for _, name := range []string{"Bare", "View"} {
		b.Run(name, func(b *testing.B) {
			s := stores(b)[name]
			if err := s.CreateClient(b.Context(), &oauthkit.Client{ID: "web-app"}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Client(b.Context(), "web-app"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkToken(b *testing.B) {
	now := time.Now()
	for _, name := range []string{"Bare", "View"} {
		b.Run(name, func(b *testing.B) {
			s := stores(b)[name]
			id := oauthkit.HashToken("an access token")
			err := s.CreateTokens(b.Context(), &oauthkit.Token{ID: id, Kind: oauthkit.AccessToken, GrantID: "g",
				ClientID: "web-app", Subject: "alice", Scope: []string{"read"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Token(b.Context(), id, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCreateTokens stores an access and a refresh token per call, as
// a code exchange does.
func BenchmarkCreateTokens(b *testing.B) {
	now := time.Now()
	for _, name := range []string{"Bare", "View"} {
		b.Run(name, func(b *testing.B) {
			s := stores(b)[name]
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				g := strconv.Itoa(i)
				err := s.CreateTokens(b.Context(),
					&oauthkit.Token{ID: oauthkit.HashToken("a" + g), Kind: oauthkit.AccessToken, GrantID: g,
						ClientID: "web-app", Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(time.Hour)},
					&oauthkit.Token{ID: oauthkit.HashToken("r" + g), Kind: oauthkit.RefreshToken, GrantID: g,
						ClientID: "web-app", Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScope is the cost of making a tenant's view.
func BenchmarkScope(b *testing.B) {
	shared := memory.NewStore()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tenant.Scope(shared, "tenant-0042"); err != nil {
			b.Fatal(err)
		}
	}
}
