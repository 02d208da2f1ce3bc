package dpop

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit/internal/jwks"
)

// Defaults and limits of a Verifier.
const (
	// DefaultMaxAge is how long after its iat a proof is accepted when
	// Config.MaxAge is zero.
	DefaultMaxAge = 60 * time.Second
	// DefaultLeeway is how far ahead of the server's clock a proof's iat
	// may be when Config.Leeway is zero.
	DefaultLeeway = 5 * time.Second
	// MaxProofBytes bounds a proof: far beyond an RSA-4096 key and
	// signature and the few claims of a proof.
	MaxProofBytes = 8 << 10
	// MinRSABits is the smallest RSA modulus accepted in a proof's jwk,
	// as in every key set of the module.
	MinRSABits = jwks.MinRSABits
)

// Type is the typ header of every DPoP proof (RFC 9449 §4.2).
const Type = "dpop+jwt"

// asymmetric are the JWS algorithms a proof may be signed with, and the
// default of Config.Algorithms.
var asymmetric = []string{
	"ES256", "ES384", "ES512",
	"EdDSA",
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
}

// Errors of Verify, to be matched with errors.Is. An error matching none
// of them is an internal fault.
var (
	// ErrInvalidProof means that a proof broke a rule of RFC 9449 §4.3:
	// the caller answers invalid_dpop_proof (RFC 9449 §5, §7.1).
	ErrInvalidProof = errors.New("dpop: invalid DPoP proof")
	// ErrUseNonce means that a proof lacks a nonce the server accepts: the
	// caller answers use_dpop_nonce with a fresh nonce in a DPoP-Nonce
	// header (RFC 9449 §8, §9). It does not match ErrInvalidProof.
	ErrUseNonce = errors.New("dpop: a DPoP proof with a server nonce is required")
	// ErrReplay means that a proof's jti was used before with its key
	// (RFC 9449 §11.1). It matches ErrInvalidProof too.
	ErrReplay = errors.New("dpop: DPoP proof replayed")
)

// refusal is a proof refused for something its sender can see and fix.
type refusal struct {
	kind   error // ErrInvalidProof, ErrUseNonce or ErrReplay
	reason string
	cause  error // for logs, or nil
}

func refuse(reason string) *refusal {
	return &refusal{kind: ErrInvalidProof, reason: reason}
}

// Error returns a description fit for an error_description: it never
// includes the cause.
func (r *refusal) Error() string { return "DPoP proof " + r.reason }

func (r *refusal) Unwrap() error { return r.cause }

func (r *refusal) Is(target error) bool {
	return target == r.kind || target == ErrInvalidProof && r.kind == ErrReplay
}

// ReplayCache remembers single-use identifiers until they expire. Its
// method is that of oauthkit.ReplayCache, whose implementations (memory,
// PostgreSQL) serve here as they are.
//
// Implementations must be safe for concurrent use.
type ReplayCache interface {
	// Remember atomically records key until expiresAt and reports whether
	// it was new: false if key is recorded already and its record has not
	// expired at now. Of concurrent calls with one key, exactly one
	// reports true. Any error is an internal fault.
	Remember(ctx context.Context, key string, now, expiresAt time.Time) (bool, error)
}

// NonceChecker decides which server nonces a proof may carry
// (RFC 9449 §8). [Nonces] is one, stateless.
//
// Implementations must be safe for concurrent use.
type NonceChecker interface {
	// CheckNonce reports whether nonce, non-empty, from a proof received
	// at now, is one the server issued and still accepts. Any error is an
	// internal fault.
	CheckNonce(ctx context.Context, nonce string, now time.Time) (bool, error)
}

// Config configures a Verifier. Its zero value is not usable: Replay is
// required. Every other field has a secure default.
type Config struct {
	// Algorithms are the JWS algorithms accepted, in the order to publish
	// them (dpop_signing_alg_values_supported, the algs of a
	// WWW-Authenticate challenge). Only asymmetric algorithms are allowed:
	// ES256, ES384, ES512, EdDSA, RS256, RS384, RS512, PS256, PS384,
	// PS512. Nil means all of these.
	Algorithms []string

	// MaxAge is how long after its iat a proof is accepted, and so how
	// long its jti is remembered. Zero means DefaultMaxAge.
	MaxAge time.Duration

	// Leeway is how far ahead of the server's clock a proof's iat may be.
	// Zero means DefaultLeeway.
	Leeway time.Duration

	// Replay remembers the jti of each accepted proof with its key's
	// thumbprint, so that each proof is accepted once across every
	// instance sharing it. Required.
	Replay ReplayCache

	// Nonces, if set, requires every proof to carry a nonce it accepts;
	// a proof without one is refused with ErrUseNonce. Nil means that
	// nonces are neither required nor checked.
	Nonces NonceChecker

	// Time returns the current time. Nil means time.Now.
	Time func() time.Time
}

// Verifier checks DPoP proofs. It is safe for concurrent use.
type Verifier struct {
	algs    []string
	headers headerCache
	maxAge  time.Duration
	leeway  time.Duration
	replay  ReplayCache
	nonces  NonceChecker
	now     func() time.Time
}

// New returns a Verifier of the proofs that c describes, or an error if c
// is not valid.
func New(c Config) (*Verifier, error) {
	v := &Verifier{
		maxAge: c.MaxAge, leeway: c.Leeway,
		replay: c.Replay, nonces: c.Nonces, now: c.Time,
	}
	algs := c.Algorithms
	if algs == nil {
		algs = asymmetric
	}
	if len(algs) == 0 {
		return nil, errors.New("dpop: Config.Algorithms is empty")
	}
	for _, a := range algs {
		if !slices.Contains(asymmetric, a) {
			return nil, fmt.Errorf("dpop: Config.Algorithms: %q is not an asymmetric JWS algorithm", a)
		}
		if !slices.Contains(v.algs, a) {
			v.algs = append(v.algs, a)
		}
	}
	switch {
	case c.Replay == nil:
		return nil, errors.New("dpop: Config.Replay is required")
	case c.MaxAge < 0 || c.Leeway < 0:
		return nil, errors.New("dpop: Config.MaxAge and Config.Leeway must not be negative")
	}
	if v.maxAge == 0 {
		v.maxAge = DefaultMaxAge
	}
	if v.leeway == 0 {
		v.leeway = DefaultLeeway
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v, nil
}

// Algorithms returns the JWS algorithms the Verifier accepts: the value of
// dpop_signing_alg_values_supported and of a challenge's algs parameter
// (RFC 9449 §5.1, §7.1).
func (v *Verifier) Algorithms() []string { return slices.Clone(v.algs) }

// Request is the HTTP request a proof came with.
type Request struct {
	// Method is the request's method, such as "POST".
	Method string
	// URL is the absolute http or https URL the client sent the request
	// to, as the client sees it (behind a proxy, the public URL): such as
	// the token endpoint's URL. Its query and fragment are ignored.
	URL string
	// AccessToken is the access token that came with the request, at a
	// resource server: the proof must then carry its hash (ath). Empty
	// means none, and ath is not checked.
	AccessToken string
}

// Proof is an accepted DPoP proof.
type Proof struct {
	// Thumbprint is the RFC 7638 SHA-256 thumbprint of the proof's key,
	// base64url-encoded: the value of cnf.jkt and of dpop_jkt.
	Thumbprint string
	// Key is the proof's public key: *ecdsa.PublicKey, *rsa.PublicKey or
	// ed25519.PublicKey. Proofs with the same header share it: it must not
	// be modified.
	Key any
	// Algorithm is the JWS algorithm the proof was signed with.
	Algorithm string
	// ID is the proof's jti.
	ID string
	// IssuedAt is the proof's iat.
	IssuedAt time.Time
	// Nonce is the proof's nonce, or empty.
	Nonce string
}

// FromHeader returns the DPoP proof of a request's headers: "" and nil if
// it has none; an error matching ErrInvalidProof if it has more than one
// DPoP header, or one with more than one value, or an empty one
// (RFC 9449 §4.3).
func FromHeader(h http.Header) (string, error) {
	values := h.Values("DPoP")
	switch {
	case len(values) == 0:
		return "", nil
	case len(values) > 1 || strings.Contains(values[0], ","):
		return "", refuse("sent in more than one DPoP header")
	}
	proof := strings.TrimSpace(values[0])
	if proof == "" {
		return "", refuse("missing: the DPoP header is empty")
	}
	return proof, nil
}

// Verify checks proof, which came with the request r, and remembers its
// jti. It returns the accepted proof, or an error matching ErrInvalidProof
// or ErrUseNonce, or an internal fault: the replay cache's, the nonce
// checker's, or that r is not valid.
func (v *Verifier) Verify(ctx context.Context, proof string, r Request) (*Proof, error) {
	now := v.now()
	htu, err := NormalizeHTU(r.URL)
	if err != nil {
		return nil, errors.New("dpop: Request.URL is not an absolute http or https URL")
	}
	if r.Method == "" {
		return nil, errors.New("dpop: Request.Method is empty")
	}
	p, input, sig, c, rf := v.parse(proof)
	if rf != nil {
		return nil, rf
	}
	if rf := v.check(p, c, r, htu, now); rf != nil {
		return nil, rf
	}
	if err := verifySignature(p.Key, p.Algorithm, input, sig); err != nil {
		return nil, &refusal{kind: ErrInvalidProof, reason: "signature invalid", cause: err}
	}
	if v.nonces != nil {
		if c.Nonce == "" {
			return nil, &refusal{kind: ErrUseNonce, reason: "nonce missing"}
		}
		ok, err := v.nonces.CheckNonce(ctx, c.Nonce, now)
		switch {
		case err != nil:
			return nil, fmt.Errorf("dpop: checking a nonce: %w", err)
		case !ok:
			return nil, &refusal{kind: ErrUseNonce, reason: "nonce invalid or expired"}
		}
	}
	ok, err := v.replay.Remember(ctx, replayKey(p.Thumbprint, p.ID), now, p.IssuedAt.Add(v.maxAge+time.Second))
	switch {
	case err != nil:
		return nil, fmt.Errorf("dpop: remembering a proof's jti: %w", err)
	case !ok:
		return nil, &refusal{kind: ErrReplay, reason: "replayed (jti used before)"}
	}
	return p, nil
}

// header is the protected header of a proof (RFC 7515 §4.1, RFC 9449 §4.2).
type header struct {
	Typ  *string         `json:"typ"`
	Alg  string          `json:"alg"`
	JWK  json.RawMessage `json:"jwk"`
	Crit json.RawMessage `json:"crit"`
}

// privateMembers are the JWK members that carry private or secret key
// material (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"}

// claims are the claims of a proof (RFC 9449 §4.2).
type claims struct {
	JTI   string   `json:"jti"`
	HTM   string   `json:"htm"`
	HTU   string   `json:"htu"`
	IAT   *float64 `json:"iat"`
	ATH   string   `json:"ath"`
	Nonce string   `json:"nonce"`
}

// parse parses a proof without verifying its signature or its claims'
// values: a compact JWS (RFC 7515 §7.1) of a proof's type, with a public
// key of an allowed algorithm, and claims of the right types. It returns
// the JWS signing input and the decoded signature, and a Proof with Key,
// Algorithm, Thumbprint, ID, IssuedAt (if present) and Nonce set.
func (v *Verifier) parse(raw string) (*Proof, string, []byte, *claims, *refusal) {
	switch {
	case raw == "":
		return nil, "", nil, nil, refuse("missing")
	case len(raw) > MaxProofBytes:
		return nil, "", nil, nil, refuse("too long")
	case strings.Count(raw, ".") != 2:
		return nil, "", nil, nil, refuse("is not a JWT in compact serialization")
	}
	b64Header, rest, _ := strings.Cut(raw, ".")
	b64Claims, b64Sig, _ := strings.Cut(rest, ".")
	key, rf := v.headers.get(b64Header, v.checkHeader)
	if rf != nil {
		return nil, "", nil, nil, rf
	}
	payload, err := b64.DecodeString(b64Claims)
	if err != nil {
		return nil, "", nil, nil, refuse("claims are not base64url-encoded")
	}
	sig, err := b64.DecodeString(b64Sig)
	if err != nil || len(sig) == 0 {
		return nil, "", nil, nil, refuse("signature missing or not base64url-encoded")
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, "", nil, nil, refuse("claims are not a JSON object of the right types")
	}
	p := &Proof{Key: key.key, Algorithm: key.alg, Thumbprint: key.thumbprint, ID: c.JTI, Nonce: c.Nonce}
	if c.IAT != nil {
		iat := *c.IAT
		if !(iat > 0 && iat < 1e11) { // 1e11 s is in the year 5138
			return nil, "", nil, nil, refuse("iat out of range")
		}
		sec, frac := math.Modf(iat)
		p.IssuedAt = time.Unix(int64(sec), int64(frac*1e9))
	}
	return p, raw[:len(b64Header)+1+len(b64Claims)], sig, &c, nil
}

// b64 is the encoding of a compact JWS's parts (RFC 7515 §2): base64url
// without padding, and strict, so that each part has one encoding.
var b64 = base64.RawURLEncoding.Strict()

// checkHeader checks a proof's protected header, base64url-encoded as
// b64Header (the proof's first segment): typ, an allowed alg, no crit, and a public
// jwk fit for alg. It returns the header's key, or why it is refused.
func (v *Verifier) checkHeader(b64Header string) (*headerKey, *refusal) {
	var h header
	hb, err := b64.DecodeString(b64Header)
	if err != nil || json.Unmarshal(hb, &h) != nil {
		return nil, refuse("header is not a base64url-encoded JSON object")
	}
	switch {
	case h.Typ == nil || !strings.EqualFold(*h.Typ, Type):
		return nil, refuse(`typ is not "dpop+jwt"`)
	case !slices.Contains(v.algs, h.Alg):
		return nil, refuse("alg not allowed")
	case len(h.JWK) == 0 || string(h.JWK) == "null":
		return nil, refuse("jwk missing")
	case h.Crit != nil: // RFC 7515 §4.1.11: no extension is understood here
		return nil, refuse("crit header not understood")
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(h.JWK, &members); err != nil {
		return nil, refuse("jwk is not a JSON object")
	}
	for _, m := range privateMembers {
		if _, ok := members[m]; ok {
			return nil, refuse("jwk is not a public key")
		}
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(h.JWK); err != nil {
		return nil, &refusal{kind: ErrInvalidProof, reason: "jwk is not a well-formed public key", cause: err}
	}
	switch {
	case !jwk.Valid():
		return nil, refuse("jwk missing or not a usable key")
	case !jwk.IsPublic():
		return nil, refuse("jwk is not a public key")
	case !jwks.KeyFits(jwk.Key, h.Alg):
		return nil, refuse("jwk does not fit alg")
	}
	jkt, err := Thumbprint(jwk.Key)
	if err != nil { // KeyFits only lets through keys Thumbprint knows
		return nil, refuse("jwk missing or not a usable key")
	}
	return &headerKey{key: jwk.Key, alg: h.Alg, thumbprint: jkt}, nil
}

// headerKey is what a proof's protected header yields once checked: its
// key, the key's thumbprint and the alg.
type headerKey struct {
	key        any
	alg        string
	thumbprint string
}

// headerCacheSize bounds headerCache: a client signs its proofs with one
// key, so their headers repeat, and a few hundred clients at a time keep
// their entries.
const headerCacheSize = 1024

// headerCache remembers checked proof headers by their base64url form: a
// client's proofs share one header, whose jwk is then decoded, checked and
// hashed into a thumbprint once, and each proof's signature is verified
// with that key directly (verifySignature). A header is the same bytes or not looked up at all, so a
// hit means exactly what checking it again would. Refused headers are not
// kept. When full, the cache starts over. It is safe for concurrent use.
type headerCache struct {
	mu sync.Mutex
	m  map[string]*headerKey
}

// get returns the key of the header b64Header, from the cache or by check.
func (c *headerCache) get(b64Header string, check func(string) (*headerKey, *refusal)) (*headerKey, *refusal) {
	c.mu.Lock()
	k, ok := c.m[b64Header]
	c.mu.Unlock()
	if ok {
		return k, nil
	}
	k, rf := check(b64Header)
	if rf != nil {
		return nil, rf
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= headerCacheSize {
		c.m = make(map[string]*headerKey)
	}
	c.m[b64Header] = k
	c.mu.Unlock()
	return k, nil
}

// check applies the claim rules of RFC 9449 §4.3 at now but the nonce's
// and the jti's single use, against r, whose URL normalizes to htu.
func (v *Verifier) check(p *Proof, c *claims, r Request, htu string, now time.Time) *refusal {
	switch {
	case c.JTI == "":
		return refuse("jti missing")
	case c.HTM == "":
		return refuse("htm missing")
	case c.HTM != r.Method:
		return refuse("htm does not match the request method")
	case c.HTU == "":
		return refuse("htu missing")
	}
	if got, err := NormalizeHTU(c.HTU); err != nil || got != htu {
		return refuse("htu does not match the request URL")
	}
	switch {
	case c.IAT == nil:
		return refuse("iat missing")
	case p.IssuedAt.Before(now.Add(-v.maxAge)):
		return refuse("iat too old")
	case p.IssuedAt.After(now.Add(v.leeway)):
		return refuse("iat in the future")
	}
	if r.AccessToken != "" {
		if c.ATH == "" {
			return refuse("ath missing")
		}
		sum := sha256.Sum256([]byte(r.AccessToken))
		var want [43]byte
		base64.RawURLEncoding.Encode(want[:], sum[:])
		if subtle.ConstantTimeCompare(want[:], []byte(c.ATH)) != 1 {
			return refuse("ath does not match the access token")
		}
	}
	return nil
}

// replayKey is the replay cache key of the proof jti made with the key of
// thumbprint jkt: a jti is unique per key (RFC 9449 §11.1). The thumbprint
// has a fixed length, so the two cannot run into each other.
func replayKey(jkt, jti string) string {
	h := sha256.New()
	h.Write([]byte(jkt))
	h.Write([]byte(jti))
	return "dpop:" + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}
