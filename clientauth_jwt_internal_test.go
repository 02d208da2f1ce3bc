package oauthkit

import (
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// FuzzParseAssertion feeds arbitrary client_assertion values to the
// assertion parser and the claim checks: they must not panic; a parsed
// assertion has one signature, made with an allowed algorithm; its claims
// pass the checks only if they carry everything RFC 7523 §3 requires. The
// seed corpus is in testdata/fuzz/FuzzParseAssertion.
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
	algs := []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.RS256, jose.PS256}
	m := &privateKeyJWT{
		PrivateKeyJWT: PrivateKeyJWT{MaxLifetime: DefaultAssertionMaxLifetime},
		algs:          algs,
		issuer:        "https://as.example.com",
		tokenEndpoint: "https://as.example.com/token",
	}
	now := time.Unix(1999999900, 0)
	f.Fuzz(func(t *testing.T, assertion string) {
		jws, c, oerr := parseAssertion(assertion, algs)
		if oerr != nil {
			if oerr.Code != ErrInvalidClient.Code || jws != nil || c != nil {
				t.Fatalf("error %v with results %v %v", oerr, jws, c)
			}
			return
		}
		if len(jws.Signatures) != 1 || !slices.Contains(algs, jose.SignatureAlgorithm(jws.Signatures[0].Header.Algorithm)) {
			t.Fatalf("parsed %d signatures, alg %q", len(jws.Signatures), jws.Signatures[0].Header.Algorithm)
		}
		if m.check(c, "", now) != nil {
			return
		}
		switch {
		case c.Subject == "" || c.Issuer != c.Subject || c.ID == "" || c.Expiry == nil:
			t.Fatalf("claims %+v pass the checks", c)
		case !now.Before(c.Expiry.Time()) || c.Expiry.Time().After(now.Add(m.MaxLifetime+assertionLeeway)):
			t.Fatalf("exp %v passes the checks at %v", c.Expiry.Time(), now)
		case !c.Audience.Contains(m.issuer) && !c.Audience.Contains(m.tokenEndpoint):
			t.Fatalf("aud %v passes the checks", c.Audience)
		}
	})
}
