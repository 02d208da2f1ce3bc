package jwt

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/oauthkit/oauthkit"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus in testdata/fuzz")

const fuzzSeedDir = "testdata/fuzz/FuzzVerifyAccessToken"

// fuzzVerifier is the verifier the fuzz target attacks: an Ed25519 active key
// and an ES256 verify-only key, both fixtures.
func fuzzVerifier(tb testing.TB) (*AccessTokens, jose.JSONWebKeySet) {
	ks := testKeySet(tb, testKey(tb, EdDSA), testKey(tb, ES256))
	var jwks jose.JSONWebKeySet
	if err := json.Unmarshal(ks.JWKS(), &jwks); err != nil {
		tb.Fatal(err)
	}
	return &AccessTokens{Keys: ks}, jwks
}

// FuzzVerifyAccessToken feeds arbitrary strings to VerifyAccessToken. It
// must never panic; every refusal must wrap ErrNotFound; and whatever it
// accepts, go-jose must accept too, with the claims VerifyAccessToken
// promises to have checked.
func FuzzVerifyAccessToken(f *testing.F) {
	at, jwks := fuzzVerifier(f)
	for _, s := range []string{"", ".", "..", "a.b.c", "eyJhbGciOiJub25lIn0..", "{}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		id, err := at.VerifyAccessToken(t.Context(), testIssuer, token, testNow)
		if err != nil {
			if !errors.Is(err, oauthkit.ErrNotFound) || !errors.Is(err, ErrInvalidToken) || id != "" {
				t.Fatalf("VerifyAccessToken = %q, %v; want an error wrapping ErrNotFound", id, err)
			}
			return
		}
		obj, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256})
		if err != nil {
			t.Fatalf("accepted a token go-jose cannot parse: %v", err)
		}
		payload, err := obj.Verify(&jwks)
		if err != nil {
			t.Fatalf("accepted a token go-jose does not verify: %v", err)
		}
		if typ, _ := obj.Signatures[0].Protected.ExtraHeaders[jose.HeaderType].(string); !sameMediaType(typ, "at+jwt") {
			t.Fatalf("accepted typ %q", typ)
		}
		var c struct {
			Iss string  `json:"iss"`
			Exp float64 `json:"exp"`
			Jti string  `json:"jti"`
		}
		if err := json.Unmarshal(payload, &c); err != nil {
			t.Fatalf("accepted claims %s: %v", payload, err)
		}
		if c.Iss != testIssuer || c.Jti == "" || float64(testNow.Unix()) >= c.Exp || id != oauthkit.SelfContainedTokenID(c.Jti) {
			t.Fatalf("accepted claims %s, id %q", payload, id)
		}
	})
}

// fuzzSeeds are the corpus: valid tokens and near misses of each check.
// Ed25519 signatures are deterministic, so -update rewrites those seeds
// identically; the ES256 seed changes each time.
func fuzzSeeds(t *testing.T) map[string]string {
	at, _ := fuzzVerifier(t)
	ed, es := testKey(t, EdDSA), testKey(t, ES256)
	future := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	claims := func(extra string) []byte {
		return []byte(`{"iss":"` + testIssuer + `","exp":` + strconv.FormatInt(future.Unix(), 10) +
			`,"aud":"https://api.example.com","sub":"alice","client_id":"c","iat":` +
			strconv.FormatInt(testNow.Unix(), 10) + `,"jti":"seed"` + extra + `}`)
	}
	at.Rand = &fixedRand{}
	tok := testToken()
	tok.ExpiresAt = future
	valid, err := at.IssueAccessToken(t.Context(), testIssuer, tok)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(valid, ".")
	edSign := func(h map[string]any, p []byte) string { return joseSign(t, jose.EdDSA, ed.priv, ed.kid, h, p) }
	return map[string]string{
		"valid-eddsa":      valid,
		"valid-es256":      joseSign(t, jose.ES256, es.priv, es.kid, map[string]any{"typ": "at+jwt"}, claims("")),
		"valid-media-type": edSign(map[string]any{"typ": "application/at+jwt"}, claims(`,"scope":"a b","auth_time":1767322000,"acr":"x"`)),
		"valid-aud-array":  edSign(map[string]any{"typ": "at+jwt"}, claims(`,"aud":["a","b"],"nbf":1.5`)),
		"tampered-payload": parts[0] + "." + b64.EncodeToString(claims(`,"sub":"mallory"`)) + "." + parts[2],
		"typ-jwt":          edSign(map[string]any{"typ": "JWT"}, claims("")),
		"wrong-iss":        edSign(map[string]any{"typ": "at+jwt"}, []byte(`{"iss":"x","exp":1e10,"jti":"j"}`)),
		"expired":          edSign(map[string]any{"typ": "at+jwt"}, []byte(`{"iss":"`+testIssuer+`","exp":1,"jti":"j"}`)),
		"no-jti":           edSign(map[string]any{"typ": "at+jwt"}, []byte(`{"iss":"`+testIssuer+`","exp":1e10}`)),
		"crit":             edSign(map[string]any{"typ": "at+jwt", "crit": []string{"b64"}, "b64": false}, claims("")),
		"alg-none":         forge(map[string]any{"alg": "none", "kid": ed.kid, "typ": "at+jwt"}, claims(""), nil),
		"hs256": forge(map[string]any{"alg": "HS256", "kid": ed.kid, "typ": "at+jwt"}, claims(""), func(in []byte) []byte {
			m := hmac.New(sha256.New, ed.Public().(ed25519.PublicKey))
			m.Write(in)
			return m.Sum(nil)
		}),
		"opaque":          "2YotnFZFEjr1zCsicMWpAA",
		"json-serialized": jsonSerialization(t, valid),
	}
}

// TestFuzzSeeds keeps the committed corpus in step with fuzzSeeds: run with
// -update to rewrite it. The valid seeds must verify, so that the fuzzer
// starts from tokens that reach every check.
func TestFuzzSeeds(t *testing.T) {
	seeds := fuzzSeeds(t)
	if *update {
		if err := os.MkdirAll(fuzzSeedDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, s := range seeds {
			data := fmt.Sprintf("go test fuzz v1\nstring(%q)\n", s)
			if err := os.WriteFile(filepath.Join(fuzzSeedDir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	at, _ := fuzzVerifier(t)
	for name := range seeds {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(fuzzSeedDir, name))
			if err != nil {
				t.Fatalf("missing seed (run go test -run TestFuzzSeeds -update): %v", err)
			}
			body, ok := strings.CutPrefix(string(data), "go test fuzz v1\nstring(")
			if !ok {
				t.Fatalf("seed is not a fuzz corpus file: %.40q", data)
			}
			token, err := strconv.Unquote(strings.TrimSuffix(body, ")\n"))
			if err != nil {
				t.Fatalf("seed: %v", err)
			}
			_, err = at.VerifyAccessToken(t.Context(), testIssuer, token, testNow)
			if valid := strings.HasPrefix(name, "valid-"); valid != (err == nil) {
				t.Errorf("VerifyAccessToken(seed %s) error = %v", name, err)
			}
		})
	}
}

// FuzzParseKeys feeds arbitrary bytes to ParsePEM and ParseJWK. Neither may
// panic, and a key either accepts must sign a token that verifies.
func FuzzParseKeys(f *testing.F) {
	for _, name := range []string{"ec-p256-sec1-params.pem", "rsa2048-pkcs1.pem", "ed25519-pkcs8.pem", "ec-p256-encrypted.pem", "rfc7517-a2-rsa.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(`{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`))
	f.Add([]byte(`{"kty":"oct","k":"AAAA"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func([]byte) (*Key, error){
			func(b []byte) (*Key, error) { return ParsePEM(b, "") },
			ParseJWK,
		} {
			k, err := parse(data)
			if err != nil {
				continue
			}
			ks, err := NewKeySet(k)
			if err != nil {
				t.Fatalf("accepted key %s does not make a key set: %v", k.KeyID(), err)
			}
			tok, err := ks.Sign(t.Context(), "JWT", map[string]int64{"exp": testNow.Unix() + 1})
			if err != nil {
				t.Fatalf("accepted key %s does not sign: %v", k.KeyID(), err)
			}
			if _, err := ks.Verify(tok, "JWT", testNow); err != nil {
				t.Fatalf("token of accepted key %s does not verify: %v", k.KeyID(), err)
			}
		}
	})
}
