package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

func TestGenerateKey(t *testing.T) {
	tests := []struct {
		alg, wantAlg string
	}{
		{"", ES256},
		{ES256, ES256},
		{ES384, ES384},
		{ES512, ES512},
		{RS256, RS256},
		{PS256, PS256},
		{EdDSA, EdDSA},
	}
	for _, tt := range tests {
		t.Run("alg="+tt.alg, func(t *testing.T) {
			t.Parallel()
			k, err := GenerateKey(tt.alg)
			if err != nil {
				t.Fatalf("GenerateKey(%q): %v", tt.alg, err)
			}
			if got := k.Algorithm(); got != tt.wantAlg {
				t.Errorf("Algorithm() = %q, want %q", got, tt.wantAlg)
			}
			if got, want := k.KeyID(), thumbprint(t, k.Public()); got != want {
				t.Errorf("KeyID() = %q, want the RFC 7638 thumbprint %q", got, want)
			}
			if rk, ok := k.Public().(*rsa.PublicKey); ok && rk.N.BitLen() < MinRSABits {
				t.Errorf("RSA key has %d bits", rk.N.BitLen())
			}
			// The key signs, and the signature verifies with its public key.
			ks := testKeySet(t, k)
			tok, err := ks.Sign(t.Context(), "JWT", map[string]any{"exp": testNow.Unix() + 60})
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			obj, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(tt.wantAlg)})
			if err != nil {
				t.Fatalf("ParseSignedCompact: %v", err)
			}
			if _, err := obj.Verify(k.Public()); err != nil {
				t.Errorf("signature does not verify with the public key: %v", err)
			}
		})
	}
}

func TestGenerateKeyUnsupported(t *testing.T) {
	for _, alg := range []string{"none", "HS256", "RS512", "es256", "Ed25519"} {
		t.Run(alg, func(t *testing.T) {
			if k, err := GenerateKey(alg); err == nil {
				t.Errorf("GenerateKey(%q) = %v, want an error", alg, k.Algorithm())
			}
		})
	}
}

// Key IDs are RFC 7638 thumbprints; the RFCs give two test vectors.
func TestKeyIDIsRFC7638Thumbprint(t *testing.T) {
	tests := []struct {
		name, jwk, want string
	}{
		// RFC 7638 §3.1, the RSA key of RFC 7517 Appendix A.1, whose
		// private half is in RFC 7517 Appendix A.2.
		{"RFC 7638 §3.1 RSA", string(readTestdata(t, "rfc7517-a2-rsa.json")), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"},
		// RFC 8037 Appendix A.1 (key) and A.3 (thumbprint).
		{"RFC 8037 A.3 Ed25519", `{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseJWK([]byte(tt.jwk))
			if err != nil {
				t.Fatal(err)
			}
			if got := k.KeyID(); got != tt.want {
				t.Errorf("KeyID() = %q, want %q", got, tt.want)
			}
			if got := thumbprint(t, k.Public()); got != tt.want {
				t.Errorf("the test's own thumbprint = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParsePEM(t *testing.T) {
	two := string(readTestdata(t, "ec-p256-pkcs8.pem")) + string(readTestdata(t, "ed25519-pkcs8.pem"))
	tests := []struct {
		name    string
		file    string // a file in testdata/keys
		data    string // the PEM itself, if file is empty
		alg     string
		wantAlg string
		wantErr string
	}{
		{name: "EC SEC 1", file: "ec-p256-sec1.pem", wantAlg: ES256},
		{name: "EC SEC 1 with parameters block", file: "ec-p256-sec1-params.pem", wantAlg: ES256},
		{name: "EC PKCS 8", file: "ec-p256-pkcs8.pem", alg: ES256, wantAlg: ES256},
		{name: "EC P-384", file: "ec-p384-pkcs8.pem", wantAlg: ES384},
		{name: "EC P-521", file: "ec-p521-pkcs8.pem", alg: ES512, wantAlg: ES512},
		{name: "RSA PKCS 1", file: "rsa2048-pkcs1.pem", wantAlg: RS256},
		{name: "RSA PKCS 8 as PS256", file: "rsa2048-pkcs8.pem", alg: PS256, wantAlg: PS256},
		{name: "Ed25519", file: "ed25519-pkcs8.pem", wantAlg: EdDSA},

		{name: "P-384 key for ES256", file: "ec-p384-pkcs8.pem", alg: ES256, wantErr: "does not fit"},
		{name: "P-256 key for ES384", file: "ec-p256-sec1.pem", alg: ES384, wantErr: "does not fit"},
		{name: "RSA key for ES256", file: "rsa2048-pkcs1.pem", alg: ES256, wantErr: "does not fit"},
		{name: "EC key for RS256", file: "ec-p256-pkcs8.pem", alg: RS256, wantErr: "does not fit"},
		{name: "Ed25519 key for ES256", file: "ed25519-pkcs8.pem", alg: ES256, wantErr: "does not fit"},
		{name: "RSA key for HS256", file: "rsa2048-pkcs1.pem", alg: "HS256", wantErr: "does not fit"},
		{name: "RSA 1024", file: "rsa1024-pkcs8.pem", wantErr: "too short"},
		{name: "secp256k1", file: "ec-secp256k1-sec1.pem", wantErr: "EC PRIVATE KEY"},
		{name: "Ed448", file: "ed448-pkcs8.pem", wantErr: "PRIVATE KEY"},
		{name: "X25519", file: "x25519-pkcs8.pem", wantErr: "unsupported key type"},
		{name: "encrypted PKCS 8", file: "ec-p256-encrypted.pem", wantErr: "not a private key"},
		{name: "encrypted SEC 1", file: "ec-p256-sec1-encrypted.pem", wantErr: "encrypted"},
		{name: "public key", file: "ec-p256-public.pem", wantErr: "not a private key"},
		{name: "certificate", file: "ec-p256-cert.pem", wantErr: "not a private key"},
		{name: "two keys", data: two, wantErr: "more than one"},
		{name: "empty", data: "", wantErr: "no PEM"},
		{name: "not PEM", data: "not a key", wantErr: "no PEM"},
		{name: "corrupt DER", data: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", wantErr: "parsing PRIVATE KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.data)
			if tt.file != "" {
				data = readTestdata(t, tt.file)
			}
			k, err := ParsePEM(data, tt.alg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePEM error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePEM: %v", err)
			}
			if got := k.Algorithm(); got != tt.wantAlg {
				t.Errorf("Algorithm() = %q, want %q", got, tt.wantAlg)
			}
			if got, want := k.KeyID(), thumbprint(t, k.Public()); got != want {
				t.Errorf("KeyID() = %q, want %q", got, want)
			}
		})
	}
}

func TestMarshalPEMRoundTrip(t *testing.T) {
	for alg := range keyFiles {
		t.Run(alg, func(t *testing.T) {
			k := testKey(t, alg)
			data, err := k.MarshalPEM()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(data), "-----BEGIN PRIVATE KEY-----\n") {
				t.Errorf("MarshalPEM wrote %.40q…, want a PKCS #8 block", data)
			}
			back, err := ParsePEM(data, alg)
			if err != nil {
				t.Fatalf("ParsePEM(MarshalPEM()): %v", err)
			}
			if back.KeyID() != k.KeyID() || back.Algorithm() != k.Algorithm() {
				t.Errorf("round trip gave kid %q alg %q, want %q %q", back.KeyID(), back.Algorithm(), k.KeyID(), k.Algorithm())
			}
			pub := k.Public().(interface{ Equal(crypto.PublicKey) bool })
			if !pub.Equal(back.Public()) {
				t.Error("round trip changed the public key")
			}
		})
	}
}

// jwkOf returns the JWK JSON of a fixture key, with extra members merged in
// (a nil value deletes the member).
func jwkOf(t *testing.T, alg string, extra map[string]any) string {
	t.Helper()
	k := testKey(t, alg)
	raw, err := json.Marshal(jose.JSONWebKey{Key: k.priv})
	if err != nil {
		t.Fatal(err)
	}
	return mergeJSON(t, string(raw), extra)
}

func mergeJSON(t *testing.T, doc string, extra map[string]any) string {
	t.Helper()
	m := make(map[string]any)
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestParseJWK(t *testing.T) {
	rfcRSA := string(readTestdata(t, "rfc7517-a2-rsa.json"))
	// RFC 7517 Appendix A.2, the EC key, registered there for encryption.
	rfcEC := `{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",` +
		`"y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","d":"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE","use":"enc","kid":"1"}`
	rsa1024, err := ParsePEM(readTestdata(t, "rsa1024-pkcs8.pem"), "")
	if err == nil {
		t.Fatalf("the 1024-bit fixture was accepted as %v", rsa1024.KeyID())
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallJWK, _ := json.Marshal(jose.JSONWebKey{Key: small})

	tests := []struct {
		name    string
		jwk     string
		wantAlg string
		wantKID string // "" means the thumbprint
		wantErr string
	}{
		{name: "RFC 7517 RSA", jwk: rfcRSA, wantAlg: RS256},
		{name: "RSA keeps kid", jwk: mergeJSON(t, rfcRSA, map[string]any{"kid": "2011-04-29"}), wantAlg: RS256, wantKID: "2011-04-29"},
		{name: "RSA as PS256", jwk: mergeJSON(t, rfcRSA, map[string]any{"alg": "PS256"}), wantAlg: PS256},
		{name: "RSA without alg", jwk: mergeJSON(t, rfcRSA, map[string]any{"alg": nil}), wantAlg: RS256},
		{name: "EC use sig", jwk: mergeJSON(t, rfcEC, map[string]any{"use": "sig"}), wantAlg: ES256, wantKID: "1"},
		{name: "EC key_ops sign", jwk: mergeJSON(t, rfcEC, map[string]any{"use": nil, "key_ops": []string{"sign", "verify"}}), wantAlg: ES256, wantKID: "1"},
		{name: "P-384", jwk: jwkOf(t, ES384, nil), wantAlg: ES384},
		{name: "P-521", jwk: jwkOf(t, ES512, map[string]any{"alg": "ES512"}), wantAlg: ES512},
		{name: "Ed25519", jwk: jwkOf(t, EdDSA, nil), wantAlg: EdDSA},

		{name: "use enc", jwk: rfcEC, wantErr: `use is "enc"`},
		{name: "key_ops verify only", jwk: mergeJSON(t, rfcEC, map[string]any{"use": nil, "key_ops": []string{"verify"}}), wantErr: "key_ops"},
		{name: "alg does not fit curve", jwk: jwkOf(t, ES256, map[string]any{"alg": "ES384"}), wantErr: "does not fit"},
		{name: "alg HS256 on RSA", jwk: mergeJSON(t, rfcRSA, map[string]any{"alg": "HS256"}), wantErr: "does not fit"},
		{name: "alg none", jwk: jwkOf(t, EdDSA, map[string]any{"alg": "none"}), wantErr: "does not fit"},
		{name: "public EC", jwk: mergeJSON(t, rfcEC, map[string]any{"use": "sig", "d": nil}), wantErr: "public key"},
		{name: "public RSA", jwk: `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB"}`, wantErr: "public key"},
		{name: "symmetric", jwk: `{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow","alg":"HS256"}`, wantErr: "symmetric"},
		{name: "RSA 1024", jwk: string(smallJWK), wantErr: "too short"},
		{name: "RSA p*q != n", jwk: mergeJSON(t, rfcRSA, map[string]any{"q": "AQAB"}), wantErr: "parsing JWK"},
		{name: "unknown kty", jwk: `{"kty":"XYZ","d":"AA"}`, wantErr: "parsing JWK"},
		{name: "missing kty", jwk: `{"d":"AA"}`, wantErr: "parsing JWK"},
		{name: "not JSON", jwk: `{"kty":`, wantErr: "parsing JWK"},
		{name: "JWK set", jwk: `{"keys":[]}`, wantErr: "parsing JWK"},
		{name: "empty", jwk: ``, wantErr: "parsing JWK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseJWK([]byte(tt.jwk))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseJWK error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseJWK: %v", err)
			}
			wantKID := tt.wantKID
			if wantKID == "" {
				wantKID = thumbprint(t, k.Public())
			}
			if diff := cmp.Diff([]string{tt.wantAlg, wantKID}, []string{k.Algorithm(), k.KeyID()}); diff != "" {
				t.Errorf("alg, kid mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// opaqueSigner is a crypto.Signer of a kind NewKey does not support, such
// as a hardware key.
type opaqueSigner struct{ crypto.Signer }

func TestNewKeyRejects(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		priv    crypto.Signer
		alg     string
		wantErr string
	}{
		{"nil ECDSA key", (*ecdsa.PrivateKey)(nil), "", "unsupported key type"},
		{"nil RSA key", (*rsa.PrivateKey)(nil), "", "unsupported key type"},
		{"RSA key without modulus", &rsa.PrivateKey{}, "", "unsupported key type"},
		{"wrapped signer", opaqueSigner{ec}, "", "unsupported key type"},
		{"short Ed25519 key", ed25519.PrivateKey(make([]byte, 10)), "", "malformed Ed25519"},
		{"unknown alg", ec, "ES257", "does not fit"},
		{"P-224", p224, "", "unsupported elliptic curve P-224"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewKey(tt.priv, tt.alg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewKey = %v, %v; want an error containing %q", k, err, tt.wantErr)
			}
		})
	}
}

func TestNewKeyLeavesCallerKeyAlone(t *testing.T) {
	der := readTestdata(t, "rsa2048-pkcs1.pem")
	k, err := ParsePEM(der, "")
	if err != nil {
		t.Fatal(err)
	}
	priv := k.priv.(*rsa.PrivateKey)
	// A key built by hand, without precomputed values.
	bare := &rsa.PrivateKey{PublicKey: priv.PublicKey, D: priv.D, Primes: priv.Primes}
	if _, err := NewKey(bare, RS256); err != nil {
		t.Fatalf("NewKey: %v", err)
	}
	if bare.Precomputed.Dp != nil {
		t.Error("NewKey precomputed the caller's key in place")
	}
}
