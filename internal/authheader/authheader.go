// Package authheader reads access tokens from the Authorization request
// header, presented with the Bearer ([RFC 6750 §2.1]) or the DPoP
// ([RFC 9449 §7.1]) scheme, and writes the Bearer and DPoP challenges of
// the WWW-Authenticate response header ([RFC 6750 §3], [RFC 9449 §7.1]).
// It is the one implementation of both, shared by the userinfo endpoint of
// package oauthkit and the middleware of package bearer, so that the two
// cannot drift apart.
//
// [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1
// [RFC 6750 §3]: https://www.rfc-editor.org/rfc/rfc6750#section-3
// [RFC 9449 §7.1]: https://www.rfc-editor.org/rfc/rfc9449#section-7.1
package authheader

import (
	"errors"
	"net/http"
	"strings"
)

// Errors of FromHeader and Parse. Both mean a malformed request: 400
// invalid_request ([RFC 6750 §3.1]). Their messages are fit for an
// error_description.
//
// [RFC 6750 §3.1]: https://www.rfc-editor.org/rfc/rfc6750#section-3.1
var (
	// ErrMalformed is returned for an Authorization header value that is
	// not valid syntax.
	ErrMalformed = errors.New("malformed Authorization header")
	// ErrRepeated is returned for a request with more than one
	// Authorization header field.
	ErrRepeated = errors.New("more than one Authorization header")
)

// The schemes of Credentials.
const (
	SchemeBearer = "Bearer" // RFC 6750 §2.1
	SchemeDPoP   = "DPoP"   // RFC 9449 §7.1
)

// Credentials are an access token and the scheme it was presented with.
// The zero value means that the request carries no access token.
type Credentials struct {
	// Scheme is SchemeBearer or SchemeDPoP, spelled so whatever the case
	// the client used.
	Scheme string
	// Token is the access token, a b64token.
	Token string
}

// FromHeader returns the access token of a request's Authorization
// header: the zero Credentials and nil if there is no such header or if it
// names another scheme (such as Basic), ErrRepeated if there are several,
// and Parse's error if the one value is malformed.
func FromHeader(h http.Header) (Credentials, error) {
	switch values := h["Authorization"]; len(values) {
	case 0:
		return Credentials{}, nil
	case 1:
		return Parse(values[0])
	default:
		return Credentials{}, ErrRepeated
	}
}

// Parse parses the value of an Authorization header field
// ([RFC 9110 §11.6.2]) and returns the token if the scheme is Bearer
// ([RFC 6750 §2.1]) or DPoP ([RFC 9449 §7.1]): the scheme matched
// case-insensitively, one or more spaces, and a b64token (token68 syntax),
// with nothing before or after.
//
// For a value of another scheme it returns the zero Credentials and nil.
// It returns ErrMalformed for a value that is not "scheme [ SP credentials ]"
// with a valid scheme, and for a Bearer or DPoP value whose token is
// missing or not a b64token, such as two tokens or auth-params.
//
// [RFC 9110 §11.6.2]: https://www.rfc-editor.org/rfc/rfc9110#section-11.6.2
// [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1
// [RFC 9449 §7.1]: https://www.rfc-editor.org/rfc/rfc9449#section-7.1
func Parse(value string) (Credentials, error) {
	scheme, rest, _ := strings.Cut(value, " ")
	switch {
	case !isToken(scheme):
		return Credentials{}, ErrMalformed
	case strings.EqualFold(scheme, SchemeBearer):
		scheme = SchemeBearer
	case strings.EqualFold(scheme, SchemeDPoP):
		scheme = SchemeDPoP
	default:
		return Credentials{}, nil
	}
	token := strings.TrimLeft(rest, " ")
	if !IsB64Token(token) {
		return Credentials{}, ErrMalformed
	}
	return Credentials{Scheme: scheme, Token: token}, nil
}

// IsB64Token reports whether s is a b64token, the syntax of a bearer token
// ([RFC 6750 §2.1]):
//
//	b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1
func IsB64Token(s string) bool {
	end := len(strings.TrimRight(s, "="))
	if end == 0 {
		return false
	}
	for i := 0; i < end; i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}

// isToken reports whether s is an RFC 9110 §5.6.2 token: 1*tchar.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
