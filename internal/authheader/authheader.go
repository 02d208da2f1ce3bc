// Package authheader reads bearer tokens from the Authorization request
// header ([RFC 6750 §2.1]) and writes the Bearer challenges of the
// WWW-Authenticate response header ([RFC 6750 §3]). It is the one
// implementation of both, shared by the userinfo endpoint of package
// oauthkit and the middleware of package bearer, so that the two cannot
// drift apart.
//
// [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1
// [RFC 6750 §3]: https://www.rfc-editor.org/rfc/rfc6750#section-3
package authheader

import (
	"errors"
	"net/http"
	"strings"
)

// Errors of Token and ParseBearer. Both mean a malformed request: 400
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

// Token returns the bearer token of a request's Authorization header: ""
// and nil if there is no such header or if it names another scheme (such as
// Basic: the request carries no bearer token), ErrRepeated if there are
// several, and ParseBearer's error if the one value is malformed.
func Token(h http.Header) (string, error) {
	switch values := h["Authorization"]; len(values) {
	case 0:
		return "", nil
	case 1:
		return ParseBearer(values[0])
	default:
		return "", ErrRepeated
	}
}

// ParseBearer parses the value of an Authorization header field
// ([RFC 9110 §11.6.2]) and returns the token if the scheme is Bearer
// ([RFC 6750 §2.1]): the scheme matched case-insensitively, one or more
// spaces, and a b64token (token68 syntax), with nothing before or after.
//
// For a value of another scheme it returns "" and nil. It returns
// ErrMalformed for a value that is not "scheme [ SP credentials ]" with a
// valid scheme, and for a Bearer value whose token is missing or not a
// b64token, such as two tokens or auth-params.
//
// [RFC 9110 §11.6.2]: https://www.rfc-editor.org/rfc/rfc9110#section-11.6.2
// [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1
func ParseBearer(value string) (token string, err error) {
	scheme, rest, _ := strings.Cut(value, " ")
	if !isToken(scheme) {
		return "", ErrMalformed
	}
	if !strings.EqualFold(scheme, "Bearer") {
		return "", nil
	}
	token = strings.TrimLeft(rest, " ")
	if !IsB64Token(token) {
		return "", ErrMalformed
	}
	return token, nil
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
