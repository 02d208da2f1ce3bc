package oauthkit_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/internal/cpubench"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// BenchmarkDPoP measures what a DPoP proof adds to a token request: a
// client_credentials request without a proof and the same request with an
// ES256 proof, on one server with DPoP on (memory stores, the memory replay
// cache remembering every proof's jti), beside a bare go-jose ES256
// verification of one such proof with a known key, the floor of any proof
// check. The overhead, "proof" minus "no_proof", is compared with "bare".
// Each request has its own proof, signed before the timer starts. Besides
// ns/op each reports cpu-ns/op, the process's CPU time per request, which
// waiting for a busy machine's CPU does not inflate; "interleaved" runs the
// three in turns and reports the ratio itself.
func BenchmarkDPoP(b *testing.B) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: priv}, &jose.SignerOptions{
		ExtraHeaders: map[jose.HeaderKey]any{"typ": "dpop+jwt", "jwk": jose.JSONWebKey{Key: &priv.PublicKey}},
	})
	if err != nil {
		b.Fatal(err)
	}
	proofs := func(b *testing.B, n int) []string {
		b.Helper()
		out := make([]string, n)
		now := time.Now().Unix()
		for i := range out {
			jws, err := signer.Sign([]byte(`{"jti":"` + rand.Text() + `","htm":"POST","htu":"` + benchIssuer + `/token","iat":` + itoa(now) + `}`))
			if err != nil {
				b.Fatal(err)
			}
			if out[i], err = jws.CompactSerialize(); err != nil {
				b.Fatal(err)
			}
		}
		return out
	}
	h := benchDPoPServer(b).TokenHandler()
	serve := func(b *testing.B, proof string) {
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(benchCCForm))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("svc", benchSecret)
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	bare := func(b *testing.B, proof string) {
		jws, err := jose.ParseSignedCompact(proof, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := jws.Verify(&priv.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("bare", func(b *testing.B) {
		proof := proofs(b, 1)[0]
		b.ReportAllocs()
		b.ResetTimer()
		start := cpubench.Start()
		defer cpubench.Report(b, start)
		for range b.N {
			bare(b, proof)
		}
	})
	b.Run("no_proof", func(b *testing.B) {
		b.ReportAllocs()
		start := cpubench.Start()
		defer cpubench.Report(b, start)
		for range b.N {
			serve(b, "")
		}
	})
	b.Run("proof", func(b *testing.B) {
		ps := proofs(b, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		start := cpubench.Start()
		defer cpubench.Report(b, start)
		for i := range b.N {
			serve(b, ps[i])
		}
	})
	// The three in turns of 50 requests, so that the machine's load hits
	// them alike: "overhead/bare" is (proof - no_proof) / bare in CPU time.
	b.Run("interleaved", func(b *testing.B) {
		ps := proofs(b, b.N)
		b.ResetTimer()
		per := cpubench.Interleave(b.N, 50,
			func(i int) { bare(b, ps[0]) },
			func(i int) { serve(b, "") },
			func(i int) { serve(b, ps[i]) })
		if per != nil {
			b.ReportMetric((per[2]-per[1])/per[0], "overhead/bare")
		}
	})
}

// benchDPoPServer is benchServer's client_credentials client on a server
// with DPoP on.
func benchDPoPServer(b *testing.B) *oauthkit.Server {
	b.Helper()
	hash, err := oauthkit.HashSecret(benchSecret)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer: benchIssuer,
		Clients: memory.NewClients(&oauthkit.Client{
			ID: "svc", SecretHash: hash,
			GrantTypes: []string{oauthkit.GrantTypeClientCredentials},
			Scopes:     []string{"read", "write"},
		}),
		Codes:       memory.NewCodes(),
		Tokens:      memory.NewTokens(),
		ReplayCache: memory.NewReplayCache(),
		Grants:      []oauthkit.GrantHandler{grants.ClientCredentials{}},
		DPoP:        &oauthkit.DPoPConfig{},
	})
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
