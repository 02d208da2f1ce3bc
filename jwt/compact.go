package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// compactSigner makes compact JWS (RFC 7515 §7.1) for one key and one "typ"
// header. The protected header is the same for every token, so it is encoded
// once, here, instead of once per token: go-jose's Signer marshals it through
// reflection on every call, which cost as much as a fifth of an Ed25519
// signature. Tokens are verified with go-jose, which the tests do for every
// algorithm.
type compactSigner struct {
	key     *Key
	prefix  string // BASE64URL(protected header) + "."
	sigSize int    // length of the key's signatures
}

// header is the protected header: alg, kid, and typ when set.
type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ,omitempty"`
}

func newCompactSigner(k *Key, typ string) (*compactSigner, error) {
	h, err := json.Marshal(header{Alg: string(k.alg), Kid: k.kid, Typ: typ})
	if err != nil {
		return nil, fmt.Errorf("jwt: encoding header: %w", err)
	}
	size, err := signatureSize(k)
	if err != nil {
		return nil, err
	}
	return &compactSigner{key: k, prefix: base64.RawURLEncoding.EncodeToString(h) + ".", sigSize: size}, nil
}

// sign returns BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(signature).
func (c *compactSigner) sign(payload []byte) (string, error) {
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(c.prefix)+enc.EncodedLen(len(payload))+1+enc.EncodedLen(c.sigSize))
	buf = append(buf, c.prefix...)
	buf = enc.AppendEncode(buf, payload)
	sig, err := signRaw(c.key, buf)
	if err != nil {
		return "", fmt.Errorf("jwt: signing: %w", err)
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

// signatureSize is the length of k's JWS signature.
func signatureSize(k *Key) (int, error) {
	switch k.alg {
	case ES256:
		return 64, nil
	case ES384:
		return 96, nil
	case ES512:
		return 132, nil
	case RS256, PS256:
		return k.priv.Public().(*rsa.PublicKey).Size(), nil
	case EdDSA:
		return ed25519.SignatureSize, nil
	default:
		return 0, fmt.Errorf("jwt: no signer for algorithm %s", k.alg)
	}
}

// signRaw signs the JWS signing input with k as RFC 7518 §3 and RFC 8037 §3.1
// say: ECDSA as the fixed-width R || S, RSA with PKCS #1 v1.5 or PSS over
// SHA-256, Ed25519 over the input itself.
func signRaw(k *Key, input []byte) ([]byte, error) {
	switch k.alg {
	case EdDSA:
		return ed25519.Sign(k.priv.(ed25519.PrivateKey), input), nil
	case RS256:
		sum := crypto.SHA256.New()
		sum.Write(input)
		return rsa.SignPKCS1v15(nil, k.priv.(*rsa.PrivateKey), crypto.SHA256, sum.Sum(nil))
	case PS256:
		sum := crypto.SHA256.New()
		sum.Write(input)
		// RFC 7518 §3.5: the salt is as long as the hash.
		return rsa.SignPSS(rand.Reader, k.priv.(*rsa.PrivateKey), crypto.SHA256, sum.Sum(nil), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	}
	var h crypto.Hash
	var width int
	switch k.alg {
	case ES256:
		h, width = crypto.SHA256, 32
	case ES384:
		h, width = crypto.SHA384, 48
	case ES512:
		h, width = crypto.SHA512, 66
	default:
		return nil, fmt.Errorf("jwt: no signer for algorithm %s", k.alg)
	}
	sum := h.New()
	sum.Write(input)
	r, s, err := ecdsa.Sign(rand.Reader, k.priv.(*ecdsa.PrivateKey), sum.Sum(nil))
	if err != nil {
		return nil, err
	}
	sig := make([]byte, 2*width)
	r.FillBytes(sig[:width])
	s.FillBytes(sig[width:])
	return sig, nil
}
