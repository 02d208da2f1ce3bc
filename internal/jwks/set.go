// Package jwks verifies JWS signatures with the keys of a JSON Web Key Set
// ([RFC 7517 §5]): a set given as a document ([Parse]), or one published at a
// URL ([Remote]), fetched, cached, and fetched again when a token names a key
// it lacks, at a bounded rate. It is the one implementation shared by
// package bearer (the authorization server's keys), package oauthkit (the
// keys of clients that authenticate with private_key_jwt) and package
// grants (the keys of JWT bearer assertions' issuers), the last two through
// package assertion.
//
// Only asymmetric signature keys are kept: "none" and the HMAC algorithms
// are never accepted, since whoever can verify an HMAC can forge one, and a
// public key must never serve as an HMAC secret.
//
// [RFC 7517 §5]: https://www.rfc-editor.org/rfc/rfc7517#section-5
package jwks

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Algorithms are the asymmetric JWS algorithms a key set may verify.
var Algorithms = []string{
	"ES256", "ES384", "ES512",
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"EdDSA",
}

// MinRSABits is the smallest RSA modulus a key set keeps.
const MinRSABits = 2048

// Errors of Parse and Remote.Key. The messages are fit for logs, not for
// responses.
var (
	// ErrUnknownKey means that no key of the set fits the kid and alg.
	ErrUnknownKey = errors.New("jwks: no key fits the kid and alg")
	// ErrInvalidSet means that a document is not a usable JWK Set: not
	// JSON, too large, without a usable signature key, or publishing a
	// private key.
	ErrInvalidSet = errors.New("jwks: not a usable JWK Set")
	// ErrUnavailable means that a key set could not be fetched: the
	// network, a timeout, or an answer other than 200.
	ErrUnavailable = errors.New("jwks: key set unavailable")
)

// Set is a parsed JSON Web Key Set, immutable and safe for concurrent use.
type Set struct {
	byKID   map[string][]verifyKey
	all     []verifyKey
	fetched time.Time
}

// verifyKey is a public signature verification key.
type verifyKey struct {
	alg string // the JWK's "alg", or empty
	key any    // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// Parse keeps the usable keys of a JWK Set: public signature keys of a type
// some of algs uses. Other keys are skipped and counted. A set with no
// usable key, or that publishes a private key, is refused with an error
// wrapping ErrInvalidSet.
func Parse(data []byte, algs []jose.SignatureAlgorithm) (set *Set, skipped int, err error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, 0, invalidSet("key set is not a JWK Set")
	}
	ks := &Set{byKID: make(map[string][]verifyKey)}
	for _, raw := range doc.Keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(raw); err != nil || !jwk.Valid() {
			skipped++
			continue
		}
		if !jwk.IsPublic() {
			if _, symmetric := jwk.Key.([]byte); !symmetric {
				return nil, 0, invalidSet("key set publishes a private key")
			}
			skipped++ // a shared secret: never used for verification
			continue
		}
		k := verifyKey{alg: jwk.Algorithm, key: jwk.Key}
		if jwk.Use != "" && jwk.Use != "sig" ||
			!slices.ContainsFunc(algs, func(a jose.SignatureAlgorithm) bool { return k.fits(string(a)) }) {
			skipped++
			continue
		}
		ks.byKID[jwk.KeyID] = append(ks.byKID[jwk.KeyID], k)
		ks.all = append(ks.all, k)
	}
	if len(ks.all) == 0 {
		return nil, 0, invalidSet("key set has no usable signature key")
	}
	return ks, skipped, nil
}

func invalidSet(reason string) error { return fmt.Errorf("%w: %s", ErrInvalidSet, reason) }

// Key returns the key to verify a signature made with alg by the key kid,
// or nil. A signature without kid is verified only if exactly one key fits
// alg, so that a token cannot make the verifier try every key.
func (s *Set) Key(kid, alg string) any {
	candidates := s.byKID[kid]
	if kid == "" {
		candidates = s.all
	}
	var found any
	for _, k := range candidates {
		if k.fits(alg) {
			if found != nil {
				return nil
			}
			found = k.key
		}
	}
	return found
}

// Len returns the number of usable keys in the set.
func (s *Set) Len() int { return len(s.all) }

// fits reports whether k can verify signatures made with alg.
func (k verifyKey) fits(alg string) bool {
	return (k.alg == "" || k.alg == alg) && KeyFits(k.key, alg)
}

// KeyFits reports whether the public key key can verify signatures made
// with the JWS algorithm alg: ES256, ES384 and ES512 on their curves, RS*
// and PS* with an RSA key of at least MinRSABits, EdDSA with Ed25519. It is
// the one such check, for key sets and DPoP proofs alike.
func KeyFits(key any, alg string) bool {
	switch key := key.(type) {
	case *rsa.PublicKey:
		return key.N.BitLen() >= MinRSABits && (strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS"))
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return key.Curve == elliptic.P256()
		case "ES384":
			return key.Curve == elliptic.P384()
		case "ES512":
			return key.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}
