// Package pkce implements Proof Key for Code Exchange (RFC 7636): making
// code verifiers and challenges on the client side, and checking them on the
// server side.
//
// It imports nothing from oauthkit, so the root package uses it too.
package pkce

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
)

// Code challenge methods (RFC 7636 §4.2).
const (
	S256  = "S256"
	Plain = "plain"
)

// Errors returned by Verify.
var (
	ErrMalformedVerifier = errors.New("pkce: code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]")
	ErrMismatch          = errors.New("pkce: code_verifier does not match code_challenge")
	ErrUnsupportedMethod = errors.New("pkce: unsupported code_challenge_method")
)

// ValidVerifier reports whether v is a syntactically valid code verifier:
// 43 to 128 unreserved characters (RFC 7636 §4.1). A code challenge has the
// same syntax.
func ValidVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !unreserved(v[i]) {
			return false
		}
	}
	return true
}

// ValidChallenge reports whether challenge is well formed for method: for
// S256 exactly 43 base64url characters (a SHA-256 hash), for plain a valid
// verifier.
func ValidChallenge(method, challenge string) bool {
	switch method {
	case S256:
		if len(challenge) != 43 {
			return false
		}
		_, err := base64.RawURLEncoding.DecodeString(challenge)
		return err == nil
	case Plain:
		return ValidVerifier(challenge)
	default:
		return false
	}
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// Challenge returns the S256 code challenge of verifier:
// BASE64URL(SHA256(ASCII(verifier))) (RFC 7636 §4.2).
func Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// GenerateVerifier returns a new code verifier of 43 characters carrying 256
// bits from r (RFC 7636 §7.1). Nil r means crypto/rand.
func GenerateVerifier(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [32]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Verify checks verifier against the challenge and method of the
// authorization request (RFC 7636 §4.6), in constant time. It returns
// ErrMalformedVerifier, ErrUnsupportedMethod, ErrMismatch or nil.
func Verify(method, challenge, verifier string) error {
	if !ValidVerifier(verifier) {
		return ErrMalformedVerifier
	}
	var computed string
	switch method {
	case S256:
		computed = Challenge(verifier)
	case Plain:
		computed = verifier
	default:
		return ErrUnsupportedMethod
	}
	if subtle.ConstantTimeCompare([]byte(computed), []byte(challenge)) != 1 {
		return ErrMismatch
	}
	return nil
}
