package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// testNow is the fixed clock of the tests.
var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// keyFiles are the fixture keys, one per algorithm the benchmarks and the
// round-trip tests cover.
var keyFiles = map[string]string{
	ES256: "ec-p256-pkcs8.pem",
	ES384: "ec-p384-pkcs8.pem",
	ES512: "ec-p521-pkcs8.pem",
	RS256: "rsa2048-pkcs8.pem",
	PS256: "rsa2048-pkcs1.pem",
	EdDSA: "ed25519-pkcs8.pem",
}

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "keys", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// testKey loads the fixture key for alg.
func testKey(tb testing.TB, alg string) *Key {
	tb.Helper()
	k, err := ParsePEM(readTestdata(tb, keyFiles[alg]), alg)
	if err != nil {
		tb.Fatalf("ParsePEM(%s): %v", keyFiles[alg], err)
	}
	return k
}

func testKeySet(tb testing.TB, active *Key, verifyOnly ...*Key) *KeySet {
	tb.Helper()
	ks, err := NewKeySet(active, verifyOnly...)
	if err != nil {
		tb.Fatalf("NewKeySet: %v", err)
	}
	return ks
}

// fixedRand returns 1, 2, 3, … so that jti values are predictable.
type fixedRand struct{ b byte }

func (f *fixedRand) Read(p []byte) (int, error) {
	for i := range p {
		f.b++
		p[i] = f.b
	}
	return len(p), nil
}

// errReader fails every read.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, os.ErrClosed }

var b64 = base64.RawURLEncoding

// thumbprint computes the RFC 7638 §3 thumbprint of pub independently of
// go-jose: the SHA-256 of the required members in lexicographic order.
func thumbprint(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	var canonical string
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		canonical = `{"crv":"` + k.Curve.Params().Name + `","kty":"EC","x":"` +
			b64.EncodeToString(k.X.FillBytes(make([]byte, size))) + `","y":"` +
			b64.EncodeToString(k.Y.FillBytes(make([]byte, size))) + `"}`
	case *rsa.PublicKey:
		canonical = `{"e":"` + b64.EncodeToString(big.NewInt(int64(k.E)).Bytes()) +
			`","kty":"RSA","n":"` + b64.EncodeToString(k.N.Bytes()) + `"}`
	case ed25519.PublicKey:
		canonical = `{"crv":"Ed25519","kty":"OKP","x":"` + b64.EncodeToString(k) + `"}`
	default:
		t.Fatalf("thumbprint: unexpected key type %T", pub)
	}
	sum := sha256.Sum256([]byte(canonical))
	return b64.EncodeToString(sum[:])
}

// forge builds a compact JWS from a header and payload, signed by sign (nil
// for an empty signature).
func forge(header map[string]any, payload []byte, sign func(input []byte) []byte) string {
	h, err := json.Marshal(header)
	if err != nil {
		panic(err)
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(payload)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + b64.EncodeToString(sig)
}

// joseSign signs payload with go-jose directly, with any headers, as an
// attacker holding (or guessing) a key would.
func joseSign(t *testing.T, alg jose.SignatureAlgorithm, priv any, kid string, headers map[string]any, payload []byte) string {
	t.Helper()
	opts := new(jose.SignerOptions)
	for k, v := range headers {
		opts.WithHeader(jose.HeaderKey(k), v)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: priv, KeyID: kid}}, opts)
	if err != nil {
		t.Fatalf("jose.NewSigner: %v", err)
	}
	obj, err := sig.Sign(payload)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// splitJWS returns the decoded header and payload of a compact JWS and its
// signature segment.
func splitJWS(t *testing.T, token string) (header, payload map[string]any, sig string) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &payload} {
		raw, err := b64.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
	}
	return header, payload, parts[2]
}
