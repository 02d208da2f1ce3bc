package bearer

import (
	"github.com/oauthkit/oauthkit/internal/authheader"
)

// ErrMalformedRequest is returned by ParseAuthorization for an Authorization
// header that is not valid syntax. The middleware answers such requests with
// 400 invalid_request (RFC 6750 §3.1).
var ErrMalformedRequest = authheader.ErrMalformed

// ParseAuthorization parses the value of an Authorization header field
// ([RFC 9110 §11.6.2]) and returns the token if the scheme is Bearer
// ([RFC 6750 §2.1]): the scheme matched case-insensitively, one or more
// spaces, and a b64token (token68 syntax), with nothing before or after.
//
// For a value of another scheme, such as Basic, it returns "" and nil: the
// request carries no bearer token. A DPoP value (RFC 9449 §7.1) is no
// bearer token either, but it is checked: a malformed one is
// ErrMalformedRequest. It returns ErrMalformedRequest for a value
// that is not "scheme [ SP credentials ]" with a valid scheme, and for a
// Bearer value whose token is missing or not a b64token, such as two tokens
// or auth-params.
//
// The middleware and the userinfo endpoint of package oauthkit parse the
// header with this same code.
//
// [RFC 9110 §11.6.2]: https://www.rfc-editor.org/rfc/rfc9110#section-11.6.2
// [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1
func ParseAuthorization(value string) (token string, err error) {
	c, err := authheader.Parse(value)
	if c.Scheme != authheader.SchemeBearer {
		return "", err
	}
	return c.Token, nil
}

// isScopeToken reports whether s is an RFC 6749 §3.3 scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ).
func isScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
			return false
		}
	}
	return true
}
