package jwt

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// MaxTokenBytes bounds the tokens Verify parses; longer input is refused
// before any decoding.
const MaxTokenBytes = 16 << 10

// supportedAlgs are the algorithms a token may name to be parsed at all; it
// must then name the very algorithm of the key its "kid" names.
var supportedAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.ES512, jose.RS256, jose.PS256, jose.EdDSA}

// ErrInvalidToken is wrapped by every error Verify returns: the token is
// malformed, not signed by a key of the set, of the wrong type, expired or
// not yet valid. The error text says which; it is meant for logs, not for
// the party that presented the token.
var ErrInvalidToken = errors.New("jwt: invalid token")

var (
	errMalformed   = fmt.Errorf("%w: malformed", ErrInvalidToken)
	errAlgorithm   = fmt.Errorf("%w: algorithm not accepted", ErrInvalidToken)
	errUnknownKey  = fmt.Errorf("%w: unknown key ID", ErrInvalidToken)
	errHeader      = fmt.Errorf("%w: unsupported header", ErrInvalidToken)
	errType        = fmt.Errorf("%w: wrong typ", ErrInvalidToken)
	errSignature   = fmt.Errorf("%w: bad signature", ErrInvalidToken)
	errExpired     = fmt.Errorf("%w: expired", ErrInvalidToken)
	errNotYetValid = fmt.Errorf("%w: not yet valid", ErrInvalidToken)
	errIssuer      = fmt.Errorf("%w: wrong issuer", ErrInvalidToken)
	errClaim       = fmt.Errorf("%w: missing claim", ErrInvalidToken)
)

// Claims are the registered claims (RFC 7519 §4.1) of a verified token, and
// its whole payload for any other claim.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	Expiry    time.Time
	NotBefore time.Time // zero when absent
	IssuedAt  time.Time // zero when absent
	ID        string
	// Raw is the verified JSON payload; unmarshal it for other claims.
	Raw json.RawMessage
}

// Verify checks a compact JWS signed by a key of the set and returns its
// claims. It accepts only:
//
//   - a "kid" header naming a key of the set, and an "alg" header equal to
//     that key's algorithm (so never "none", an HMAC algorithm, or another
//     algorithm with the same key);
//   - a "typ" header equal to typ, compared as a media type (RFC 7515
//     §4.1.9: case-insensitively, with or without "application/"); an empty
//     typ requires the header to be absent;
//   - no "crit" or "b64" header;
//   - a valid signature over a JSON object payload;
//   - an "exp" claim after now, and an "nbf" claim, if present, not after
//     now. No clock skew is allowed: the keys are the issuer's own, and so
//     is the clock that set the claims.
//
// Every error wraps ErrInvalidToken. Checking "iss", "aud" and any other
// claim is the caller's business.
func (s *KeySet) Verify(token, typ string, now time.Time) (*Claims, error) {
	if len(token) > MaxTokenBytes {
		return nil, errMalformed
	}
	snap := s.load()
	obj, err := jose.ParseSignedCompact(token, supportedAlgs)
	if err != nil {
		var algErr *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &algErr) {
			return nil, errAlgorithm
		}
		return nil, errMalformed
	}
	h := obj.Signatures[0].Protected // compact serialization: exactly one
	key, ok := snap.keys[h.KeyID]
	switch {
	case !ok:
		return nil, errUnknownKey
	case h.Algorithm != string(key.alg):
		return nil, errAlgorithm
	}
	var gotType string
	for name, v := range h.ExtraHeaders {
		switch name {
		case "crit", "b64":
			return nil, errHeader
		case jose.HeaderType:
			if gotType, ok = v.(string); !ok || gotType == "" {
				return nil, errType
			}
		}
	}
	if !sameMediaType(gotType, typ) {
		return nil, errType
	}
	payload, err := obj.Verify(key.public.Key)
	if err != nil {
		return nil, errSignature
	}
	return parseClaims(payload, now)
}

// sameMediaType compares "typ" values as RFC 7515 §4.1.9 asks: media types
// are case-insensitive, and "application/" may be omitted.
func sameMediaType(got, want string) bool {
	return strings.EqualFold(trimApplication(got), trimApplication(want))
}

func trimApplication(t string) string {
	const prefix = "application/"
	if len(t) > len(prefix) && strings.EqualFold(t[:len(prefix)], prefix) {
		return t[len(prefix):]
	}
	return t
}

// registeredClaims is the wire form of the claims Verify reads.
type registeredClaims struct {
	Iss string       `json:"iss"`
	Sub string       `json:"sub"`
	Aud audience     `json:"aud"`
	Exp *numericDate `json:"exp"`
	Nbf *numericDate `json:"nbf"`
	Iat *numericDate `json:"iat"`
	Jti string       `json:"jti"`
}

func parseClaims(payload []byte, now time.Time) (*Claims, error) {
	if len(payload) == 0 || payload[0] != '{' {
		return nil, errMalformed
	}
	var rc registeredClaims
	if err := json.Unmarshal(payload, &rc); err != nil {
		return nil, errMalformed
	}
	c := &Claims{
		Issuer:   rc.Iss,
		Subject:  rc.Sub,
		Audience: rc.Aud,
		ID:       rc.Jti,
		Raw:      payload,
	}
	if rc.Exp == nil {
		return nil, fmt.Errorf("%w exp", errClaim)
	}
	c.Expiry = rc.Exp.t
	if rc.Nbf != nil {
		c.NotBefore = rc.Nbf.t
	}
	if rc.Iat != nil {
		c.IssuedAt = rc.Iat.t
	}
	switch {
	case !now.Before(c.Expiry):
		return nil, errExpired
	case now.Before(c.NotBefore):
		return nil, errNotYetValid
	}
	return c, nil
}

// audience is the "aud" claim: one string or an array of strings
// (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*a = list
	return nil
}

// maxUnixSeconds clamps NumericDates to about the year 36800, well inside
// what time.Time and float64 represent exactly.
const maxUnixSeconds = 1 << 40

// numericDate is a JSON NumericDate (RFC 7519 §2): seconds since the epoch,
// possibly fractional.
type numericDate struct{ t time.Time }

func (d *numericDate) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("jwt: NumericDate %s: %w", b, err)
	}
	f = math.Max(-maxUnixSeconds, math.Min(maxUnixSeconds, f))
	sec := math.Floor(f)
	d.t = time.Unix(int64(sec), int64((f-sec)*1e9))
	return nil
}
