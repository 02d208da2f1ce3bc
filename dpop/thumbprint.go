package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"errors"

	"github.com/go-jose/go-jose/v4"
)

// Thumbprint returns the JWK SHA-256 thumbprint of a public key
// ([RFC 7638 §3]), base64url-encoded without padding: the value of cnf.jkt
// in a DPoP-bound token (RFC 9449 §6.1) and of the dpop_jkt parameter of
// an authorization request (RFC 9449 §10). key is an *ecdsa.PublicKey, an
// *rsa.PublicKey or an ed25519.PublicKey; a private key is refused, so
// that it is never mistaken for its public half.
//
// [RFC 7638 §3]: https://www.rfc-editor.org/rfc/rfc7638#section-3
func Thumbprint(key crypto.PublicKey) (string, error) {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if k == nil {
			return "", errors.New("dpop: nil key")
		}
	case *rsa.PublicKey:
		if k == nil {
			return "", errors.New("dpop: nil key")
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", errors.New("dpop: malformed Ed25519 key")
		}
	default:
		return "", errors.New("dpop: thumbprint of a key that is not an EC, RSA or Ed25519 public key")
	}
	jwk := jose.JSONWebKey{Key: key}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", errors.New("dpop: thumbprint of an unusable key")
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}
