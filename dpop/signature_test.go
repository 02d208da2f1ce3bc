package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"
	"slices"
	"sync"
	"testing"

	"github.com/oauthkit/oauthkit/internal/jwks"
)

const sigInput = "eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJ4In0"

var (
	sigKeysOnce sync.Once
	sigKeys     struct {
		p256, p384, p521 *ecdsa.PrivateKey
		rsa              *rsa.PrivateKey
		ed               ed25519.PrivateKey
	}
)

func signatureKeys(t testing.TB) {
	t.Helper()
	sigKeysOnce.Do(func() {
		var err error
		for _, k := range []struct {
			dst **ecdsa.PrivateKey
			c   elliptic.Curve
		}{{&sigKeys.p256, elliptic.P256()}, {&sigKeys.p384, elliptic.P384()}, {&sigKeys.p521, elliptic.P521()}} {
			if *k.dst, err = ecdsa.GenerateKey(k.c, rand.Reader); err != nil {
				panic(err)
			}
		}
		if sigKeys.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if _, sigKeys.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
			panic(err)
		}
	})
}

// esSig returns R||S, each of size bytes, of sigInput hashed with h.
func esSig(t testing.TB, k *ecdsa.PrivateKey, h crypto.Hash) (r, s *big.Int, sig []byte) {
	t.Helper()
	r, s, err := ecdsa.Sign(rand.Reader, k, digest(h, sigInput))
	if err != nil {
		t.Fatal(err)
	}
	return r, s, rs(k, r, s)
}

// rs encodes r and s as RFC 7518 §3.4 does, for k's curve.
func rs(k *ecdsa.PrivateKey, r, s *big.Int) []byte {
	size := (k.Curve.Params().N.BitLen() + 7) / 8
	sig := make([]byte, 2*size)
	r.FillBytes(sig[:size])
	s.FillBytes(sig[size:])
	return sig
}

func pssSig(t testing.TB, h crypto.Hash, salt int) []byte {
	t.Helper()
	sig, err := rsa.SignPSS(rand.Reader, sigKeys.rsa, h, digest(h, sigInput), &rsa.PSSOptions{SaltLength: salt})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func pkcs1Sig(t testing.TB, h crypto.Hash) []byte {
	t.Helper()
	sig, err := rsa.SignPKCS1v15(nil, sigKeys.rsa, h, digest(h, sigInput))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// TestVerifySignature: the signature encodings of RFC 7518 §3.3-3.5 and
// RFC 8037 §3.1, exactly; malformed signatures and keys that do not fit
// alg are refused, with the cause for logs.
func TestVerifySignature(t *testing.T) {
	signatureKeys(t)
	p256, p384, p521 := sigKeys.p256, sigKeys.p384, sigKeys.p521
	r, s, es256 := esSig(t, p256, crypto.SHA256)
	n := p256.Curve.Params().N
	_, _, es384 := esSig(t, p384, crypto.SHA384)
	_, _, es512 := esSig(t, p521, crypto.SHA512)
	rs256, rs384 := pkcs1Sig(t, crypto.SHA256), pkcs1Sig(t, crypto.SHA384)
	ps256, ps512 := pssSig(t, crypto.SHA256, rsa.PSSSaltLengthEqualsHash), pssSig(t, crypto.SHA512, rsa.PSSSaltLengthEqualsHash)
	edSig := ed25519.Sign(sigKeys.ed, []byte(sigInput))
	ecPub, rsaPub, edPub := &p256.PublicKey, &sigKeys.rsa.PublicKey, sigKeys.ed.Public()

	// A DER (ASN.1) ECDSA signature, as crypto/ecdsa's SignASN1 makes.
	der, err := ecdsa.SignASN1(rand.Reader, p256, digest(crypto.SHA256, sigInput))
	if err != nil {
		t.Fatal(err)
	}
	// Ed25519 with S + L: the same signature, not canonical (RFC 8032 §5.1.7).
	edL, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	sLE := slices.Clone(edSig[32:])
	slices.Reverse(sLE)
	sPlusL := new(big.Int).Add(new(big.Int).SetBytes(sLE), edL).FillBytes(make([]byte, 32))
	slices.Reverse(sPlusL)
	edMalleated := append(slices.Clone(edSig[:32]), sPlusL...)

	tests := []struct {
		name string
		key  any
		alg  string
		sig  []byte
		want error // nil: accepted
	}{
		{"ES256", ecPub, "ES256", es256, nil},
		{"ES256 high S", ecPub, "ES256", rs(p256, r, new(big.Int).Sub(n, s)), nil},
		{"ES384", &p384.PublicKey, "ES384", es384, nil},
		{"ES512 (66-byte R and S)", &p521.PublicKey, "ES512", es512, nil},
		{"RS256", rsaPub, "RS256", rs256, nil},
		{"RS384", rsaPub, "RS384", rs384, nil},
		{"PS256", rsaPub, "PS256", ps256, nil},
		{"PS512", rsaPub, "PS512", ps512, nil},
		{"EdDSA", edPub, "EdDSA", edSig, nil},

		{"ES256 empty", ecPub, "ES256", nil, errSignatureLength},
		{"ES256 one byte short", ecPub, "ES256", es256[:63], errSignatureLength},
		{"ES256 one byte long", ecPub, "ES256", append(slices.Clone(es256), 0), errSignatureLength},
		{"ES256 leading zero", ecPub, "ES256", append([]byte{0}, es256...), errSignatureLength},
		{"ES256 DER-encoded", ecPub, "ES256", der, errSignatureLength},
		{"ES256 zero", ecPub, "ES256", make([]byte, 64), errSignature},
		{"ES256 R zero", ecPub, "ES256", append(make([]byte, 32), es256[32:]...), errSignature},
		{"ES256 S zero", ecPub, "ES256", append(slices.Clone(es256[:32]), make([]byte, 32)...), errSignature},
		{"ES256 R = n", ecPub, "ES256", rs(p256, n, s), errSignature},
		{"ES256 S = n", ecPub, "ES256", rs(p256, r, n), errSignature},
		{"ES256 S = n-1", ecPub, "ES256", rs(p256, r, new(big.Int).Sub(n, big.NewInt(1))), errSignature},
		{"ES256 R and S swapped", ecPub, "ES256", append(slices.Clone(es256[32:]), es256[:32]...), errSignature},
		{"ES256 bit flipped", ecPub, "ES256", flip(es256, 10), errSignature},
		{"ES512 of 64-byte R and S", &p521.PublicKey, "ES512", es512[2:130], errSignatureLength},
		{"RS256 short", rsaPub, "RS256", rs256[1:], errSignatureLength},
		{"RS256 with a leading zero", rsaPub, "RS256", append([]byte{0}, rs256...), errSignatureLength},
		{"RS256 zero", rsaPub, "RS256", make([]byte, len(rs256)), errSignature},
		{"RS256 bit flipped", rsaPub, "RS256", flip(rs256, 100), errSignature},
		{"RS256 signature checked as RS384", rsaPub, "RS384", rs256, errSignature},
		{"PS256 signature as RS256", rsaPub, "RS256", ps256, errSignature},
		{"RS256 signature as PS256", rsaPub, "PS256", rs256, errSignature},
		{"PS256 with a salt of 0", rsaPub, "PS256", pssSig(t, crypto.SHA256, 0), errSignature},
		{"PS256 with the longest salt", rsaPub, "PS256", pssSig(t, crypto.SHA256, rsa.PSSSaltLengthAuto), errSignature},
		{"EdDSA short", edPub, "EdDSA", edSig[:63], errSignatureLength},
		{"EdDSA zero", edPub, "EdDSA", make([]byte, 64), errSignature},
		{"EdDSA S + L", edPub, "EdDSA", edMalleated, errSignature},
		{"EdDSA halves swapped", edPub, "EdDSA", append(slices.Clone(edSig[32:]), edSig[:32]...), errSignature},

		{"ES384 with a P-256 key", ecPub, "ES384", es256, errAlgKey},
		{"ES256 with a P-384 key", &p384.PublicKey, "ES256", es384, errAlgKey},
		{"RS256 with an EC key", ecPub, "RS256", es256, errAlgKey},
		{"ES256 with an RSA key", rsaPub, "ES256", rs256, errAlgKey},
		{"EdDSA with an EC key", ecPub, "EdDSA", es256, errAlgKey},
		{"ES256 with an Ed25519 key", edPub, "ES256", edSig, errAlgKey},
		{"RS999, an RSA prefix", rsaPub, "RS999", rs256, errAlgKey},
		{"HS256", rsaPub, "HS256", rs256, errAlgKey},
		{"none", ecPub, "none", nil, errAlgKey},
		{"empty alg", ecPub, "", es256, errAlgKey},
		{"a private key", p256, "ES256", es256, errAlgKey},
		{"a symmetric key", []byte("secret"), "HS256", es256, errAlgKey},
		{"nil key", nil, "ES256", es256, errAlgKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := verifySignature(tt.key, tt.alg, sigInput, tt.sig); !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("verifySignature = %v, want %v", err, tt.want)
			}
			if tt.want == nil {
				if err := verifySignature(tt.key, tt.alg, sigInput+"x", tt.sig); !errors.Is(err, errSignature) {
					t.Errorf("over another input: %v, want %v", err, errSignature)
				}
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	b = slices.Clone(b)
	b[i] ^= 1
	return b
}

// FuzzVerifySignature: any signature bytes and alg, with every kind of key,
// never panic; only an alg that fits the key is ever accepted. The seed
// corpus is in testdata/fuzz/FuzzVerifySignature.
func FuzzVerifySignature(f *testing.F) {
	signatureKeys(f)
	for _, seed := range []struct {
		alg string
		sig []byte
	}{
		{"ES256", make([]byte, 64)},
		{"ES512", make([]byte, 132)},
		{"EdDSA", make([]byte, 64)},
		{"RS256", make([]byte, 256)},
		{"PS256", nil},
	} {
		f.Add(seed.alg, seed.sig)
	}
	keys := []any{&sigKeys.p256.PublicKey, &sigKeys.p384.PublicKey, &sigKeys.p521.PublicKey, &sigKeys.rsa.PublicKey, sigKeys.ed.Public()}
	f.Fuzz(func(t *testing.T, alg string, sig []byte) {
		for _, k := range keys {
			err := verifySignature(k, alg, sigInput, sig)
			if err == nil && !jwks.KeyFits(k, alg) {
				t.Fatalf("accepted alg %q with key %T", alg, k)
			}
			if err != nil && !errors.Is(err, errSignature) && !errors.Is(err, errSignatureLength) && !errors.Is(err, errAlgKey) {
				t.Fatalf("unexpected error %v", err)
			}
		}
	})
}
