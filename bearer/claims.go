package bearer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Claims describe the access token of a request that passed the middleware:
// who it was issued to, for what, and until when. The names follow the JWT
// claims of [RFC 9068 §2.2], which are also the members of an introspection
// response ([RFC 7662 §2.2]).
//
// Handlers find them with [FromContext]. A Validator returns Claims that
// belong to the caller; a handler may read them but should not modify them.
//
// [RFC 9068 §2.2]: https://www.rfc-editor.org/rfc/rfc9068#section-2.2
// [RFC 7662 §2.2]: https://www.rfc-editor.org/rfc/rfc7662#section-2.2
type Claims struct {
	// Subject is the resource owner ("sub"); for the client credentials
	// grant, the client itself.
	Subject string
	// ClientID is the client the token was issued to ("client_id").
	ClientID string
	// Scope is the granted scope ("scope"), split on spaces.
	Scope []string
	// Audience lists the resource servers the token is meant for ("aud").
	Audience []string
	// Issuer is the authorization server that issued the token ("iss").
	Issuer string
	// ExpiresAt is when the token expires ("exp"); zero if unknown. The
	// middleware refuses claims whose ExpiresAt has passed.
	ExpiresAt time.Time
	// IssuedAt is when the token was issued ("iat"), or zero.
	IssuedAt time.Time
	// AuthTime is when the resource owner authenticated ("auth_time"), or
	// zero.
	AuthTime time.Time
	// ACR is the authentication context class reference ("acr"), or empty.
	ACR string
	// ID is the token's unique identifier ("jti"), or empty.
	ID string
	// Extra holds every other claim or introspection member, such as "nbf",
	// "username" or a host's own claims, as raw JSON to unmarshal into the
	// type the host expects. Nil when there are none.
	Extra map[string]json.RawMessage
}

// HasScope reports whether the claims grant every one of scopes.
func (c *Claims) HasScope(scopes ...string) bool {
	for _, s := range scopes {
		if !slices.Contains(c.Scope, s) {
			return false
		}
	}
	return true
}

// clone returns a copy of c that shares nothing mutable with it.
func (c *Claims) clone() *Claims {
	d := *c
	d.Scope = slices.Clone(c.Scope)
	d.Audience = slices.Clone(c.Audience)
	if c.Extra != nil {
		d.Extra = make(map[string]json.RawMessage, len(c.Extra))
		for k, v := range c.Extra {
			d.Extra[k] = slices.Clone(v)
		}
	}
	return &d
}

type claimsKey struct{}

// NewContext returns a copy of ctx carrying claims. The middleware calls it
// for every request it lets through; tests of handlers can call it too.
func NewContext(ctx context.Context, claims *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, claims)
}

// FromContext returns the claims of the request's access token, put there by
// the middleware, and whether there were any.
func FromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// errClaim reports a claim of the wrong JSON type or out of range.
var errClaim = errors.New("malformed claim")

// parseClaims decodes a JWT claims set or an introspection response: a JSON
// object whose registered members go to their fields and whose others stay
// in Extra. A member of the wrong type is an error; null counts as absent.
func parseClaims(data []byte) (*Claims, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		return nil, errors.New("claims are not a JSON object")
	}
	c := new(Claims)
	var err error
	take := func(name string, parse func(json.RawMessage) error) {
		raw, ok := m[name]
		if !ok {
			return
		}
		delete(m, name)
		if err == nil && !isNull(raw) {
			if perr := parse(raw); perr != nil {
				err = fmt.Errorf("%w %q", errClaim, name)
			}
		}
	}
	take("iss", stringInto(&c.Issuer))
	take("sub", stringInto(&c.Subject))
	take("client_id", stringInto(&c.ClientID))
	take("jti", stringInto(&c.ID))
	take("acr", stringInto(&c.ACR))
	take("aud", func(raw json.RawMessage) error { return parseAudience(raw, &c.Audience) })
	take("scope", func(raw json.RawMessage) error {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		c.Scope = strings.Fields(s)
		return nil
	})
	take("exp", timeInto(&c.ExpiresAt))
	take("iat", timeInto(&c.IssuedAt))
	take("auth_time", timeInto(&c.AuthTime))
	if err != nil {
		return nil, err
	}
	if len(m) > 0 {
		c.Extra = m
	}
	return c, nil
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

func stringInto(dst *string) func(json.RawMessage) error {
	return func(raw json.RawMessage) error { return json.Unmarshal(raw, dst) }
}

func timeInto(dst *time.Time) func(json.RawMessage) error {
	return func(raw json.RawMessage) error {
		t, err := parseNumericDate(raw)
		*dst = t
		return err
	}
}

// maxNumericDate is the last second of year 9999: later dates are nonsense.
const maxNumericDate = 253402300799

// parseNumericDate decodes a NumericDate (RFC 7519 §2): seconds since the
// epoch, possibly fractional.
func parseNumericDate(raw json.RawMessage) (time.Time, error) {
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return time.Time{}, err
	}
	if f < 0 || f > maxNumericDate {
		return time.Time{}, errClaim
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// parseAudience decodes "aud": one string or an array of strings.
func parseAudience(raw json.RawMessage, dst *[]string) error {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		*dst = []string{s}
		return nil
	}
	return json.Unmarshal(raw, dst)
}

// takeExtra removes the member name from c.Extra and returns it.
func (c *Claims) takeExtra(name string) (json.RawMessage, bool) {
	raw, ok := c.Extra[name]
	if !ok {
		return nil, false
	}
	delete(c.Extra, name)
	if len(c.Extra) == 0 {
		c.Extra = nil
	}
	return raw, true
}

// hasExtra reports whether c.Extra has a non-null member name.
func (c *Claims) hasExtra(name string) bool {
	raw, ok := c.Extra[name]
	return ok && !isNull(raw)
}
