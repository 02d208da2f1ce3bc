package jwt

import (
	"encoding/json"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

// TestCompactSignerVerifiesWithGoJose signs with every algorithm the key set
// supports and has go-jose, independently, verify the token against the
// published JWKS and read back the header and payload.
func TestCompactSignerVerifiesWithGoJose(t *testing.T) {
	for _, alg := range []string{ES256, ES384, ES512, RS256, PS256, EdDSA} {
		for _, typ := range []string{"", typeJWT, typeAccessToken, "custom+jwt"} {
			t.Run(alg+"/typ="+typ, func(t *testing.T) {
				key := testKey(t, alg)
				ks := testKeySet(t, key)
				claims := map[string]any{"sub": "alice", "n": 1.5, "s": "ü \"quoted\""}
				tok, err := ks.Sign(t.Context(), typ, claims)
				if err != nil {
					t.Fatal(err)
				}
				if n := strings.Count(tok, "."); n != 2 {
					t.Fatalf("compact JWS has %d dots", n)
				}
				var set jose.JSONWebKeySet
				if err := json.Unmarshal(ks.JWKS(), &set); err != nil {
					t.Fatal(err)
				}
				jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
				if err != nil {
					t.Fatal(err)
				}
				h := jws.Signatures[0].Protected
				if h.KeyID != key.kid || h.Algorithm != alg || h.ExtraHeaders["typ"] != nilIfEmpty(typ) {
					t.Errorf("header = kid %q alg %q typ %v; want %q %q %q", h.KeyID, h.Algorithm, h.ExtraHeaders["typ"], key.kid, alg, typ)
				}
				payload, err := jws.Verify(set.Key(key.kid)[0].Key)
				if err != nil {
					t.Fatalf("go-jose does not verify the token: %v", err)
				}
				var got map[string]any
				if err := json.Unmarshal(payload, &got); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(claims, got); diff != "" {
					t.Errorf("payload (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
