package bearer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Claims describe the access token of a request that passed the middleware:
// who it was issued to, for what, and until when. The names follow the JWT
// claims of [RFC 9068 §2.2], which are also the members of an introspection
// response ([RFC 7662 §2.2]).
//
// Handlers find them with [FromContext]. A Validator returns Claims that
// belong to the caller; a handler may read them but should not modify them.
//
// A handler acting for a user gets the user with [Claims.ResourceOwner],
// not from Subject: a token the client obtained for itself (client
// credentials) has the client's ID as its subject, which may be spelled like
// a user's ([RFC 9700 §4.15.1]).
//
// [RFC 9068 §2.2]: https://www.rfc-editor.org/rfc/rfc9068#section-2.2
// [RFC 7662 §2.2]: https://www.rfc-editor.org/rfc/rfc7662#section-2.2
// [RFC 9700 §4.15.1]: https://www.rfc-editor.org/rfc/rfc9700#section-4.15.1
type Claims struct {
	// Subject is the token's subject ("sub"): the resource owner, or the
	// client itself when SubjectIsClient is set. Use ResourceOwner to get
	// the user.
	Subject string
	// SubjectIsClient reports that no resource owner is involved: the
	// client obtained the token for itself (the client credentials grant)
	// and Subject is its client ID ([RFC 9068 §2.2]).
	//
	// [Local] copies it from the authorization server's record. JWT access
	// tokens and introspection responses carry no such flag, so [JWKS] and
	// [Introspection] set it when "sub" equals "client_id", as RFC 9068
	// §2.2 prescribes for tokens without a resource owner. That is sound
	// only if the authorization server never lets a client ID equal a
	// user's subject ([RFC 9700 §4.15.1]); oauthkit marks client tokens
	// itself, and its example server refuses such clients. A ValidatorFunc
	// must set it itself.
	SubjectIsClient bool
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
	// JKT is the RFC 7638 thumbprint of the DPoP key the token is bound
	// to ("cnf": {"jkt": …}, [RFC 9449 §6]), or empty for a bearer token.
	// The middleware lets a token with JKT through only when it comes with
	// the DPoP scheme and a proof made with that key (Config.DPoP), never
	// as a bearer token. A host calling a Validator itself must check it
	// the same way.
	//
	// [RFC 9449 §6]: https://www.rfc-editor.org/rfc/rfc9449#section-6
	JKT string
	// Extra holds every other claim or introspection member, such as "nbf",
	// "username" or a host's own claims, as raw JSON to unmarshal into the
	// type the host expects. Nil when there are none.
	Extra map[string]json.RawMessage
}

// ResourceOwner returns the subject of the user (the resource owner) the
// token was issued for, and false if it was issued for no user: when
// SubjectIsClient is set, or when the subject is unknown. Handlers that act
// for a user should use it rather than read Subject.
func (c *Claims) ResourceOwner() (string, bool) {
	if c.SubjectIsClient || c.Subject == "" {
		return "", false
	}
	return c.Subject, true
}

// subjectIsClient reports whether c, from a JWT or an introspection
// response, is a client's own token: one whose "sub" is its "client_id"
// (RFC 9068 §2.2).
func (c *Claims) subjectIsClient() bool {
	return c.Subject != "" && c.Subject == c.ClientID
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
//
// Most access tokens carry registered claims only; those are decoded into a
// struct in one pass. Anything else takes the general path through a map.
func parseClaims(data []byte) (*Claims, error) {
	if onlyRegistered(data) {
		return parseRegistered(data)
	}
	return parseGeneral(data)
}

// registeredNames are the members that have a field in Claims.
// "cnf" has no field, but a DPoP-bound token always carries it: it goes to
// Extra on this path as on the general one, for takeConfirmation.
var registeredNames = [...]string{"iss", "sub", "client_id", "jti", "acr", "aud", "scope", "exp", "iat", "auth_time", "cnf"}

// onlyRegistered reports whether data is a JSON object whose members are
// registered names, spelled exactly, without escapes, each at most once, so
// that decoding into registeredClaims means the same as the general path.
// It only looks at the top-level keys; data may still be invalid JSON.
func onlyRegistered(data []byte) bool {
	i := 0
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	if i == len(data) || data[i] != '{' {
		return false
	}
	depth, inString, escaped, expectKey, keyStart := 0, false, false, false, -1
	var seen uint16 // registered names met so far: a repeated one takes the general path
	for ; i < len(data); i++ {
		c := data[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				if keyStart >= 0 {
					return false // an escaped key: let the general path decode it
				}
				escaped = true
			case c == '"':
				inString = false
				if keyStart >= 0 {
					n := slices.Index(registeredNames[:], string(data[keyStart:i]))
					if n < 0 || seen&(1<<n) != 0 {
						return false
					}
					seen |= 1 << n
					keyStart = -1
				}
			}
			continue
		}
		switch c {
		case '"':
			inString = true
			if depth == 1 && expectKey {
				keyStart, expectKey = i+1, false
			}
		case '{', '[':
			depth++
			expectKey = depth == 1
		case '}', ']':
			depth--
		case ',':
			expectKey = depth == 1
		}
	}
	return true
}

// registeredClaims is what parseRegistered decodes into. Times start as
// NaN, which JSON cannot express, so that absent and null times stay NaN.
type registeredClaims struct {
	Issuer   string          `json:"iss"`
	Subject  string          `json:"sub"`
	ClientID string          `json:"client_id"`
	ID       string          `json:"jti"`
	ACR      string          `json:"acr"`
	Audience audience        `json:"aud"`
	Scope    string          `json:"scope"`
	Exp      float64         `json:"exp"`
	Iat      float64         `json:"iat"`
	AuthTime float64         `json:"auth_time"`
	Cnf      json.RawMessage `json:"cnf"`
}

// parseRegistered is parseClaims for an object of registered claims only.
func parseRegistered(data []byte) (*Claims, error) {
	r := registeredClaims{Exp: math.NaN(), Iat: math.NaN(), AuthTime: math.NaN()}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, errClaim
	}
	c := &Claims{
		Subject:  r.Subject,
		ClientID: r.ClientID,
		Scope:    splitScope(r.Scope),
		Audience: r.Audience,
		Issuer:   r.Issuer,
		ACR:      r.ACR,
		ID:       r.ID,
	}
	if r.Cnf != nil {
		c.Extra = map[string]json.RawMessage{"cnf": r.Cnf}
	}
	var err1, err2, err3 error
	c.ExpiresAt, err1 = optionalDate(r.Exp)
	c.IssuedAt, err2 = optionalDate(r.Iat)
	c.AuthTime, err3 = optionalDate(r.AuthTime)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, errClaim
	}
	return c, nil
}

// optionalDate is numericDate, with NaN meaning absent: the zero time.
func optionalDate(f float64) (time.Time, error) {
	if math.IsNaN(f) {
		return time.Time{}, nil
	}
	return numericDate(f)
}

// parseGeneral is parseClaims for any object.
func parseGeneral(data []byte) (*Claims, error) {
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
	take("aud", func(raw json.RawMessage) error { return json.Unmarshal(raw, (*audience)(&c.Audience)) })
	take("scope", func(raw json.RawMessage) error {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		c.Scope = splitScope(s)
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

// splitScope splits a scope parameter into its words, or nil if none.
func splitScope(s string) []string {
	if f := strings.Fields(s); len(f) > 0 {
		return f
	}
	return nil
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
	return numericDate(f)
}

// numericDate converts seconds since the epoch, refusing dates before 1970
// or after 9999.
func numericDate(f float64) (time.Time, error) {
	if f < 0 || f > maxNumericDate {
		return time.Time{}, errClaim
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// audience decodes "aud": one string or an array of strings (RFC 7519
// §4.1.3).
type audience []string

// UnmarshalJSON decodes a string or an array of strings; null leaves a
// untouched.
func (a *audience) UnmarshalJSON(raw []byte) error {
	switch {
	case isNull(raw):
		return nil
	case len(raw) > 1 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw):
		*a = audience{string(raw[1 : len(raw)-1])} // valid JSON: no escapes to undo
		return nil
	case len(raw) > 0 && raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	default:
		return json.Unmarshal(raw, (*[]string)(a))
	}
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

// takeConfirmation moves the "cnf" member of c.Extra, if any, to c.JKT: a
// JWK thumbprint (RFC 9449 §6). A token bound to a key by any other means
// (an mTLS certificate, RFC 8705) is refused: no proof of it can be
// checked here.
func (c *Claims) takeConfirmation() error {
	raw, ok := c.takeExtra("cnf")
	if !ok || isNull(raw) {
		return nil
	}
	var cnf struct {
		JKT *string `json:"jkt"`
	}
	switch err := json.Unmarshal(raw, &cnf); {
	case err != nil:
		return invalid("malformed cnf")
	case cnf.JKT == nil:
		return invalid("bound to a key by a method other than DPoP (cnf without jkt)")
	case *cnf.JKT == "":
		return invalid("empty cnf.jkt")
	}
	c.JKT = *cnf.JKT
	return nil
}
