package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
)

// JWS algorithms (RFC 7518 §3.1, RFC 8037 §3.1) that keys may have.
const (
	ES256 = "ES256" // ECDSA P-256 with SHA-256; the default
	ES384 = "ES384" // ECDSA P-384 with SHA-384
	ES512 = "ES512" // ECDSA P-521 with SHA-512
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256; RSA keys of 2048 bits or more
	PS256 = "PS256" // RSASSA-PSS with SHA-256; RSA keys of 2048 bits or more
	EdDSA = "EdDSA" // Ed25519
)

// MinRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3 requires
// 2048 bits).
const MinRSABits = 2048

// Key is a private signing key together with its JWS algorithm and key ID.
// It is immutable and safe for concurrent use. Make one with GenerateKey,
// NewKey, ParsePEM or ParseJWK; the zero Key holds no key and is refused
// by NewKeySet and Rotate.
type Key struct {
	priv   crypto.Signer
	alg    jose.SignatureAlgorithm
	kid    string
	public jose.JSONWebKey // public key with kid, alg and use
}

// GenerateKey returns a new random key for alg: ES256 (the default when alg
// is empty), ES384, ES512, RS256 or PS256 (2048-bit RSA), or EdDSA (Ed25519).
// The key ID is its RFC 7638 thumbprint. Persist the key with MarshalPEM
// and load it back with ParsePEM, so that tokens outlive a restart.
func GenerateKey(alg string) (*Key, error) {
	if alg == "" {
		alg = ES256
	}
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ES384:
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case ES512:
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case RS256, PS256:
		priv, err = rsa.GenerateKey(rand.Reader, MinRSABits)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("jwt: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("jwt: generating %s key: %w", alg, err)
	}
	return NewKey(priv, alg)
}

// NewKey returns a Key for priv, an *ecdsa.PrivateKey, *rsa.PrivateKey or
// ed25519.PrivateKey, signing with alg. An empty alg is inferred from the
// key: ES256, ES384 or ES512 by curve, RS256 for RSA, EdDSA for Ed25519. It
// refuses an algorithm that does not fit the key (such as ES384 with a P-256
// key), RSA keys under MinRSABits and every other key type. The key ID is
// the key's RFC 7638 JWK thumbprint.
func NewKey(priv crypto.Signer, alg string) (*Key, error) {
	return newKey(priv, alg, "")
}

func newKey(priv crypto.Signer, alg, kid string) (*Key, error) {
	want, err := keyAlgorithm(priv)
	if err != nil {
		return nil, err
	}
	switch {
	case alg == "":
		alg = want
	case alg == want, alg == PS256 && want == RS256:
	default:
		return nil, fmt.Errorf("jwt: algorithm %s does not fit a %s key", alg, keyDescription(priv))
	}
	if k, ok := priv.(*rsa.PrivateKey); ok {
		c := *k // Precompute mutates; leave the caller's key alone
		c.Precompute()
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("jwt: invalid RSA key: %w", err)
		}
		priv = &c
	}
	k := &Key{
		priv:   priv,
		alg:    jose.SignatureAlgorithm(alg),
		public: jose.JSONWebKey{Key: priv.Public(), Algorithm: alg, Use: "sig"},
	}
	if kid == "" {
		sum, err := k.public.Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("jwt: computing key thumbprint: %w", err)
		}
		kid = base64.RawURLEncoding.EncodeToString(sum)
	}
	k.kid = kid
	k.public.KeyID = kid
	return k, nil
}

// keyAlgorithm returns the default algorithm of a supported key, or an error
// for any other key.
func keyAlgorithm(priv crypto.Signer) (string, error) {
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		if k == nil {
			break
		}
		switch k.Curve {
		case elliptic.P256():
			return ES256, nil
		case elliptic.P384():
			return ES384, nil
		case elliptic.P521():
			return ES512, nil
		}
		return "", fmt.Errorf("jwt: unsupported elliptic curve %s", k.Curve.Params().Name)
	case *rsa.PrivateKey:
		if k == nil || k.N == nil {
			break
		}
		if bits := k.N.BitLen(); bits < MinRSABits {
			return "", fmt.Errorf("jwt: RSA key of %d bits is too short; at least %d are required", bits, MinRSABits)
		}
		return RS256, nil
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return "", errors.New("jwt: malformed Ed25519 private key")
		}
		return EdDSA, nil
	}
	return "", fmt.Errorf("jwt: unsupported key type %T", priv)
}

func keyDescription(priv crypto.Signer) string {
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PrivateKey:
		return "RSA"
	default:
		return "Ed25519"
	}
}

// KeyID returns the key ID, sent as the JWS "kid" header.
func (k *Key) KeyID() string { return k.kid }

// Algorithm returns the JWS "alg" the key signs with, such as "ES256".
func (k *Key) Algorithm() string { return string(k.alg) }

// Public returns the public key, or nil for the zero Key.
func (k *Key) Public() crypto.PublicKey {
	if k.priv == nil {
		return nil
	}
	return k.priv.Public()
}

// MarshalPEM returns the private key as a PKCS #8 "PRIVATE KEY" PEM block,
// for storing it where the host keeps secrets. ParsePEM reads it back; the
// algorithm is not recorded and must be passed again for PS256 keys.
func (k *Key) MarshalPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		return nil, fmt.Errorf("jwt: encoding key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePEM reads a private key from PEM: a PKCS #8 "PRIVATE KEY", a SEC 1
// "EC PRIVATE KEY" (optionally preceded by its "EC PARAMETERS", as OpenSSL
// writes it) or a PKCS #1 "RSA PRIVATE KEY". Exactly one key block is
// allowed. Encrypted keys, public keys and certificates are refused. alg is
// as for NewKey; the key ID is the RFC 7638 thumbprint.
func ParsePEM(pemBytes []byte, alg string) (*Key, error) {
	var key *pem.Block
	for rest := pemBytes; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch {
		case b.Type == "EC PARAMETERS":
			continue
		case key != nil:
			return nil, errors.New("jwt: PEM holds more than one block")
		case len(b.Headers) != 0:
			return nil, errors.New("jwt: encrypted PEM keys are not supported")
		}
		key = b
	}
	if key == nil {
		return nil, errors.New("jwt: no PEM private key found")
	}
	var (
		priv any
		err  error
	)
	switch key.Type {
	case "PRIVATE KEY":
		priv, err = x509.ParsePKCS8PrivateKey(key.Bytes)
	case "EC PRIVATE KEY":
		priv, err = x509.ParseECPrivateKey(key.Bytes)
	case "RSA PRIVATE KEY":
		priv, err = x509.ParsePKCS1PrivateKey(key.Bytes)
	default:
		return nil, fmt.Errorf("jwt: PEM block %q is not a private key", key.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("jwt: parsing %s: %w", key.Type, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("jwt: unsupported key type %T", priv)
	}
	return NewKey(signer, alg)
}

// ParseJWK reads a private key from a JSON Web Key (RFC 7517 §4): kty "EC"
// (P-256, P-384, P-521), "RSA" or "OKP" (Ed25519). Its "alg", if present,
// must fit the key (otherwise it is inferred as by NewKey); its "use", if
// present, must be "sig", and its "key_ops", if present, must include
// "sign". Its "kid", if present, is kept; otherwise the key ID is the
// RFC 7638 thumbprint. Public keys and symmetric ("oct") keys are refused.
func ParseJWK(data []byte) (*Key, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("jwt: parsing JWK: %w", err)
	}
	var extra struct {
		KeyOps []string `json:"key_ops"`
	}
	if err := json.Unmarshal(data, &extra); err != nil {
		return nil, fmt.Errorf("jwt: parsing JWK: %w", err)
	}
	switch {
	case jwk.Use != "" && jwk.Use != "sig":
		return nil, fmt.Errorf("jwt: JWK use is %q, not \"sig\"", jwk.Use)
	case extra.KeyOps != nil && !slices.Contains(extra.KeyOps, "sign"):
		return nil, errors.New("jwt: JWK key_ops does not include \"sign\"")
	case jwk.IsPublic():
		return nil, errors.New("jwt: JWK is a public key; a private key is required")
	}
	if _, ok := jwk.Key.([]byte); ok {
		return nil, errors.New("jwt: symmetric (oct) JWKs are not supported; JWTs are signed with asymmetric keys")
	}
	signer, ok := jwk.Key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("jwt: unsupported JWK key type %T", jwk.Key)
	}
	return newKey(signer, jwk.Algorithm, jwk.KeyID)
}
