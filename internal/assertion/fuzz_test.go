package assertion

import (
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// FuzzParseAssertion feeds arbitrary assertions to the parser, the claim
// checks and HeaderAlg: they must not panic; a parsed assertion has one
// signature, made with an allowed algorithm, whose alg HeaderAlg reads
// too; its claims pass the checks only if they carry everything RFC 7523
// §3 requires. The seed corpus is in testdata/fuzz/FuzzParseAssertion.
func FuzzParseAssertion(f *testing.F) {
	for _, seed := range []string{
		"", "a.b.c", "....", "a.b.c.d.e",
		// {"alg":"ES256","kid":"k1"} . {"iss":"svc","sub":"svc","aud":"https://as.example.com","exp":2000000000,"jti":"1"} . junk
		"eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJzdmMiLCJzdWIiOiJzdmMiLCJhdWQiOiJodHRwczovL2FzLmV4YW1wbGUuY29tIiwiZXhwIjoyMDAwMDAwMDAwLCJqdGkiOiIxIn0.AAAA",
		// {"alg":"none"}
		"eyJhbGciOiJub25lIn0.eyJpc3MiOiJzdmMifQ.",
	} {
		f.Add(seed)
	}
	algs := []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.RS256, jose.PS256, jose.HS256}
	v := &Verifier{
		Algorithms:  algs,
		Audiences:   []string{"https://as.example.com", "https://as.example.com/token"},
		MaxLifetime: 5 * time.Minute,
	}
	now := time.Unix(1999999900, 0)
	f.Fuzz(func(t *testing.T, raw string) {
		alg := HeaderAlg(raw)
		jws, c, r := Parse(raw, algs)
		if r != nil {
			if r.Reason == "" || jws != nil || c != nil {
				t.Fatalf("refusal %v with results %v %v", r, jws, c)
			}
			return
		}
		if len(jws.Signatures) != 1 || !slices.Contains(algs, jose.SignatureAlgorithm(jws.Signatures[0].Header.Algorithm)) {
			t.Fatalf("parsed %d signatures, alg %q", len(jws.Signatures), jws.Signatures[0].Header.Algorithm)
		}
		if got := jws.Signatures[0].Header.Algorithm; alg != got && len(raw) < 1024 {
			t.Fatalf("HeaderAlg = %q, the parsed header's alg is %q", alg, got)
		}
		if v.Check(c, now) != nil {
			return
		}
		switch {
		case c.Subject == "" || c.Issuer == "" || c.ID == "" || c.Expiry == nil:
			t.Fatalf("claims %+v pass the checks", c)
		case !now.Before(c.Expiry.Time()) || c.Expiry.Time().After(now.Add(v.MaxLifetime+Leeway)):
			t.Fatalf("exp %v passes the checks at %v", c.Expiry.Time(), now)
		case !c.Audience.Contains(v.Audiences[0]) && !c.Audience.Contains(v.Audiences[1]):
			t.Fatalf("aud %v passes the checks", c.Audience)
		}
	})
}
