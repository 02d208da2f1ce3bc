package jwks

import (
	"slices"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// FuzzParseKeySet feeds arbitrary documents to the JWK Set parser: it must
// not panic, and every key it keeps must be a public key that fits an
// allowed algorithm.
func FuzzParseKeySet(f *testing.F) {
	for _, seed := range []string{
		`{"keys":[{"kty":"EC","crv":"P-256","kid":"a","use":"sig","alg":"ES256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`,
		`{"keys":[{"kty":"oct","k":"AAAA"}]}`,
		`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","x":"!!","y":""}]}`,
		`{"keys":null}`, `{"keys":[1,"a",null,{}]}`, `[]`, `{`,
	} {
		f.Add([]byte(seed))
	}
	algs := []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA}
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, _, err := Parse(data, algs)
		if err != nil {
			return
		}
		if len(ks.all) == 0 {
			t.Fatal("key set without keys returned without error")
		}
		for _, k := range ks.all {
			if !slices.ContainsFunc(algs, func(a jose.SignatureAlgorithm) bool { return k.fits(string(a)) }) {
				t.Errorf("kept key %T fits no allowed algorithm", k.key)
			}
		}
	})
}
