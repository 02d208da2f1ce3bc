package dpop_test

import (
	"context"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit/dpop"
)

type acceptAllReplay struct{}

func (acceptAllReplay) Remember(context.Context, string, time.Time, time.Time) (bool, error) {
	return true, nil
}

// BenchmarkVerify checks an ES256 proof with every rule, but the replay
// cache's work (a cache that accepts all, so one proof serves each
// iteration); BareES256 is go-jose's parsing and verification of the same
// proof with a known key, the cost of a proof check before Verify verified
// signatures with the key of a cached header (see BENCHMARKS.md, "DPoP").
func BenchmarkVerify(b *testing.B) {
	es := testKeys(b)["ES256"]
	proof := sign(b, es, nil, claimsAt(now, nil))
	b.Run("ES256", func(b *testing.B) {
		v := newVerifier(b, dpop.Config{Replay: acceptAllReplay{}})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(context.Background(), proof, tokenReq); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ES256-resource", func(b *testing.B) {
		v := newVerifier(b, dpop.Config{Replay: acceptAllReplay{}})
		const token = "an-access-token"
		proof := sign(b, es, nil, claimsAt(now, map[string]any{"htm": "GET", "htu": "https://api.example.com/me", "ath": ath(token)}))
		req := dpop.Request{Method: "GET", URL: "https://api.example.com/me", AccessToken: token}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(context.Background(), proof, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("BareES256", func(b *testing.B) {
		pub := es.priv.Public()
		b.ReportAllocs()
		for b.Loop() {
			jws, err := jose.ParseSignedCompact(proof, []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := jws.Verify(pub); err != nil {
				b.Fatal(err)
			}
		}
	})
}
