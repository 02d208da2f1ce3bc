// Package assertion verifies the JWT assertions of [RFC 7523 §3]: the one
// implementation of their parsing and claim rules, shared by the client
// authentication methods private_key_jwt and client_secret_jwt (package
// oauthkit) and the JWT bearer grant (package grants).
//
// A Verifier parses a compact JWS restricted to its algorithms, checks the
// claims (iss, sub, aud, exp bounded ahead, nbf, iat, jti), asks its caller
// for the key (the caller decides whose keys the issuer may sign with),
// verifies the signature, and only then remembers the jti in a replay
// cache, so that each assertion is accepted once. What the caller must
// answer for a refusal (invalid_client, invalid_grant) is the caller's: a
// refusal is a *Refusal whose description the caller sends.
//
// [RFC 7523 §3]: https://www.rfc-editor.org/rfc/rfc7523#section-3
package assertion

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Limits of every assertion.
const (
	// Leeway tolerates clocks that run apart: for nbf, iat and the bound
	// on exp, never for exp itself.
	Leeway = 30 * time.Second
	// MaxBytes bounds an assertion: far beyond an RSA-4096 signature and a
	// few claims.
	MaxBytes = 8 << 10
)

// Claims are the claims of an assertion that RFC 7523 §3 rules on.
type Claims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ID        string           `json:"jti"`
}

// Refusal is an assertion refused for something its sender can see and
// fix. Its description is fit for an error_description.
type Refusal struct {
	// Reason says what is wrong.
	Reason string
	// OfAssertion reports that Reason completes a sentence about the
	// assertion ("expired"): Description puts the parameter's name first.
	OfAssertion bool
	// Err is a cause for logs, or nil.
	Err error
}

// Refuse returns a Refusal of the assertion itself, such as
// Refuse("signed with an unknown key").
func Refuse(format string, args ...any) *Refusal {
	return &Refusal{Reason: fmt.Sprintf(format, args...), OfAssertion: true}
}

// Error returns the description of an assertion parameter.
func (r *Refusal) Error() string { return r.Description("assertion") }

// Unwrap returns the cause.
func (r *Refusal) Unwrap() error { return r.Err }

// Description returns the error_description of the refusal of param, the
// parameter that carried the assertion ("client_assertion", "assertion").
func (r *Refusal) Description(param string) string {
	if r.OfAssertion {
		return param + " " + r.Reason
	}
	return r.Reason
}

// ReplayCache is oauthkit.ReplayCache, which the root package cannot
// name here.
type ReplayCache interface {
	Remember(ctx context.Context, key string, now, expiresAt time.Time) (bool, error)
}

// Verifier holds the rules of one use of assertions. Its fields must not
// change once it is in use; it is safe for concurrent use.
type Verifier struct {
	// Algorithms are the JWS algorithms accepted. Never "none"; HMAC ones
	// only where the key is a shared secret, never a public key.
	Algorithms []jose.SignatureAlgorithm
	// Audiences are the values of which aud must contain one: the
	// authorization server's issuer and its token endpoint URL.
	Audiences []string
	// MaxLifetime bounds how far ahead exp may be, and so how long a jti
	// is remembered.
	MaxLifetime time.Duration
	// Replay remembers each jti until its assertion's exp.
	Replay ReplayCache
}

// KeyFunc returns the key to verify an assertion with, whose claims passed
// the checks, signed with alg by the key kid ("" if the header names
// none). It decides whom the issuer is, and whose keys it may sign with.
// Its error is returned by Verify as it is.
type KeyFunc func(ctx context.Context, c *Claims, kid, alg string) (any, error)

// Verify parses raw, checks its claims at now, verifies its signature with
// the key that key returns, and remembers its jti. It returns the claims,
// or a *Refusal, or key's error, or an internal fault (the replay cache's).
func (v *Verifier) Verify(ctx context.Context, raw string, now time.Time, key KeyFunc) (*Claims, error) {
	jws, claims, r := Parse(raw, v.Algorithms)
	if r != nil {
		return nil, r
	}
	if r := v.Check(claims, now); r != nil {
		return nil, r
	}
	header := jws.Signatures[0].Header
	k, err := key(ctx, claims, header.KeyID, header.Algorithm)
	if err != nil {
		return nil, err
	}
	if _, err := jws.Verify(k); err != nil {
		return nil, &Refusal{Reason: "signature invalid", OfAssertion: true, Err: err}
	}
	ok, err := v.Replay.Remember(ctx, ReplayKey(claims.Issuer, claims.ID), now, claims.Expiry.Time())
	switch {
	case err != nil:
		return nil, fmt.Errorf("remembering an assertion's jti: %w", err)
	case !ok:
		return nil, Refuse("replayed (jti used before)")
	}
	return claims, nil
}

// Parse parses an assertion without verifying it: its JWS, restricted to
// algs, with one signature, and its claims.
func Parse(raw string, algs []jose.SignatureAlgorithm) (*jose.JSONWebSignature, *Claims, *Refusal) {
	switch {
	case raw == "":
		return nil, nil, Refuse("missing")
	case len(raw) > MaxBytes:
		return nil, nil, Refuse("too long")
	case strings.Count(raw, ".") != 2:
		return nil, nil, Refuse("is not a signed JWT in compact serialization")
	}
	jws, err := jose.ParseSignedCompact(raw, algs)
	if err != nil {
		if _, ok := errors.AsType[*jose.ErrUnexpectedSignatureAlgorithm](err); ok {
			return nil, nil, Refuse("signature algorithm not allowed")
		}
		return nil, nil, Refuse("is not a well-formed JWS")
	}
	var c Claims
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c); err != nil {
		return nil, nil, Refuse("claims are not a well-formed JSON object")
	}
	return jws, &c, nil
}

// Check applies the claim rules of RFC 7523 §3 at now, but those the
// KeyFunc applies (who the issuer is) and the jti's single use.
func (v *Verifier) Check(c *Claims, now time.Time) *Refusal {
	switch {
	case c.Issuer == "":
		return Refuse("iss missing")
	case c.Subject == "":
		return Refuse("sub missing")
	case !v.audienceOK(c.Audience):
		return Refuse("aud must contain the issuer or the token endpoint URL")
	case c.Expiry == nil:
		return Refuse("exp missing")
	case !now.Before(c.Expiry.Time()):
		return Refuse("expired")
	case c.Expiry.Time().After(now.Add(v.MaxLifetime + Leeway)):
		return Refuse("exp more than %v ahead", v.MaxLifetime)
	case c.NotBefore != nil && c.NotBefore.Time().After(now.Add(Leeway)):
		return Refuse("not yet valid (nbf)")
	case c.IssuedAt != nil && c.IssuedAt.Time().After(now.Add(Leeway)):
		return Refuse("iat in the future")
	case c.ID == "":
		return Refuse("jti missing")
	}
	return nil
}

func (v *Verifier) audienceOK(aud jwt.Audience) bool {
	for _, a := range v.Audiences {
		if a != "" && aud.Contains(a) {
			return true
		}
	}
	return false
}

// ReplayKey is the replay cache key of the assertion iss issued with jti:
// a jti is unique per issuer (RFC 7519 §4.1.7), whatever the assertion is
// used for, so that one JWT serves once, as a client assertion or as a
// grant. Both are hashed, length-prefixed, into a key of fixed length.
func ReplayKey(iss, jti string) string {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(iss)))
	h.Write(n[:])
	h.Write([]byte(iss))
	h.Write([]byte(jti))
	return "jwt-assertion:" + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// HeaderAlg returns the alg of a compact JWS's protected header, or "" if
// raw has none it can read. It only looks, cheaply: a client presenting an
// assertion is routed by it to the method that verifies such signatures.
func HeaderAlg(raw string) string {
	head, _, ok := strings.Cut(raw, ".")
	if !ok || len(head) > 1024 {
		return ""
	}
	var buf [768]byte
	n, err := base64.RawURLEncoding.Decode(buf[:], []byte(head))
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(buf[:n], &h) != nil {
		return ""
	}
	return h.Alg
}
