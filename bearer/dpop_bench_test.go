package bearer_test

import (
	"context"
	"crypto/ecdsa"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/internal/cpubench"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// BenchmarkDPoPES256 compares a request through the middleware with a
// DPoP-bound ES256 JWT access token and its ES256 proof (the token checked
// against a cached key set, the proof's every rule, its jti remembered in
// storage/memory's replay cache, cnf.jkt compared) with a bare go-jose
// verification of the access token alone. Such a request verifies two
// signatures, so it cannot cost less than twice "bare". Each request has
// its own proof, signed before the timer starts. Both report cpu-ns/op, the
// process's CPU time per request, besides ns/op; "interleaved" runs the two
// in turns and reports the ratio itself.
func BenchmarkDPoPES256(b *testing.B) {
	key := newECKey(b, "ec1")
	client := newProofKey(b)
	now := time.Now()
	claims := claimsAt(now)
	claims["cnf"] = map[string]string{"jkt": client.jkt}
	token := sign(b, key, "at+jwt", claims)
	pub := &key.priv.(*ecdsa.PrivateKey).PublicKey

	bare := func(b *testing.B) {
		jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := jws.Verify(pub); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		start := cpubench.Start()
		defer cpubench.Report(b, start)
		for range b.N {
			bare(b)
		}
	})

	// middleware returns the guarded handler and a request through it with
	// each of n proofs.
	middleware := func(b *testing.B, n int) (http.Handler, func(i int)) {
		srv := httptest.NewServer(newJWKSServer(key))
		defer srv.Close()
		jwks, err := bearer.NewJWKS(bearer.JWKSConfig{URL: srv.URL, Issuer: testIssuer, Audience: testAudience})
		if err != nil {
			b.Fatal(err)
		}
		if err := jwks.Refresh(context.Background()); err != nil {
			b.Fatal(err)
		}
		m, err := bearer.New(bearer.Config{Validator: jwks,
			DPoP: &bearer.DPoPConfig{Origin: rsOrigin, Algorithms: []string{"ES256"}, Replay: memory.NewReplayCache()}})
		if err != nil {
			b.Fatal(err)
		}
		h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }), "read")
		proofs := make([]string, n)
		for i := range proofs {
			proofs[i] = client.proof(b, time.Now(), token, nil)
		}
		auth := "DPoP " + token
		return h, func(i int) {
			req := httptest.NewRequest(http.MethodGet, rsURL, nil)
			req.Header.Set("Authorization", auth)
			req.Header.Set("DPoP", proofs[i])
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusNoContent {
				b.Fatalf("status %d: %s", rec.Code, rec.Header().Get("WWW-Authenticate"))
			}
		}
	}
	b.Run("middleware", func(b *testing.B) {
		_, serve := middleware(b, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		start := cpubench.Start()
		defer cpubench.Report(b, start)
		for i := range b.N {
			serve(i)
		}
	})
	// The two in turns of 50, so that the machine's load hits them alike:
	// "x-bare" is middleware / bare in CPU time.
	b.Run("interleaved", func(b *testing.B) {
		_, serve := middleware(b, b.N)
		b.ResetTimer()
		if per := cpubench.Interleave(b.N, 50, func(int) { bare(b) }, serve); per != nil {
			b.ReportMetric(per[1]/per[0], "x-bare")
		}
	})
}
