package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"math/big"

	"github.com/oauthkit/oauthkit/internal/jwks"
)

// Errors of verifySignature, causes of a refusal kept for logs.
var (
	errSignatureLength = errors.New("dpop: signature of the wrong length for its alg and key")
	errSignature       = errors.New("dpop: signature does not verify")
	errAlgKey          = errors.New("dpop: key does not fit alg")
)

// verifySignature verifies sig, a JWS signature made with alg, over the
// JWS signing input (RFC 7515 §5.2: the first two segments of the compact
// serialization and the dot between them), with key, a public key that
// jwks.KeyFits alg. It is the one check of a proof's signature, with the
// signature encodings of RFC 7518 §3 and RFC 8037 §3.1 taken exactly:
//
//   - ES256, ES384, ES512 (RFC 7518 §3.4): R and S, each as long as the
//     curve's order in bytes (32, 48, 66), concatenated; crypto/ecdsa
//     refuses R or S out of [1, n-1], and does not require a low S;
//   - RS256, RS384, RS512 (RFC 7518 §3.3): RSASSA-PKCS1-v1_5, a signature
//     as long as the modulus;
//   - PS256, PS384, PS512 (RFC 7518 §3.5): RSASSA-PSS with MGF1 of the
//     same hash and a salt as long as the hash;
//   - EdDSA (RFC 8037 §3.1): Ed25519 only, 64 bytes, crypto/ed25519
//     refusing a non-canonical S.
//
// The key was parsed once, with its header (headerCache), and is shared by
// every proof of that header.
func verifySignature(key any, alg, input string, sig []byte) error {
	if !jwks.KeyFits(key, alg) {
		return errAlgKey
	}
	family, h := algorithm(alg)
	switch key := key.(type) {
	case *ecdsa.PublicKey:
		if family != "ES" {
			return errAlgKey
		}
		size := (key.Curve.Params().N.BitLen() + 7) / 8
		if len(sig) != 2*size {
			return errSignatureLength
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		if !ecdsa.Verify(key, digest(h, input), r, s) {
			return errSignature
		}
	case *rsa.PublicKey:
		if len(sig) != key.Size() {
			return errSignatureLength
		}
		var err error
		switch family {
		case "RS":
			err = rsa.VerifyPKCS1v15(key, h, digest(h, input), sig)
		case "PS":
			err = rsa.VerifyPSS(key, h, digest(h, input), sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		default:
			return errAlgKey
		}
		if err != nil {
			return errSignature
		}
	case ed25519.PublicKey:
		if len(sig) != ed25519.SignatureSize {
			return errSignatureLength
		}
		if !ed25519.Verify(key, []byte(input), sig) {
			return errSignature
		}
	default:
		return errAlgKey
	}
	return nil
}

// algorithm returns the family of the JWS algorithm alg ("ES", "RS", "PS")
// and its hash, or "" and 0 for EdDSA and any other.
func algorithm(alg string) (family string, h crypto.Hash) {
	switch alg {
	case "ES256", "RS256", "PS256":
		h = crypto.SHA256
	case "ES384", "RS384", "PS384":
		h = crypto.SHA384
	case "ES512", "RS512", "PS512":
		h = crypto.SHA512
	default:
		return "", 0
	}
	return alg[:2], h
}

// digest returns the hash h of the signing input.
func digest(h crypto.Hash, input string) []byte {
	d := h.New()
	d.Write([]byte(input))
	return d.Sum(nil)
}
