package bearer

import (
	"errors"
	"strings"
)

// ErrMalformedRequest is returned by ParseAuthorization for an Authorization
// header that is not valid syntax. The middleware answers such requests with
// 400 invalid_request (RFC 6750 §3.1).
var ErrMalformedRequest = errors.New("bearer: malformed Authorization header")

// ParseAuthorization parses the value of an Authorization header field
// ([RFC 9110 §11.6.2]) and returns the token if the scheme is Bearer
// ([RFC 6750 §2.1]): the scheme matched case-insensitively, one or more
// spaces, and a b64token (token68 syntax), with nothing before or after.
//
// For a value of another scheme, such as Basic, it returns "" and nil: the
// request carries no bearer token. It returns ErrMalformedRequest for a value
// that is not "scheme [ SP credentials ]" with a valid scheme, and for a
// Bearer value whose token is missing or not a b64token, such as two tokens
// or auth-params.
//
// [RFC 9110 §11.6.2]: https://www.rfc-editor.org/rfc/rfc9110#section-11.6.2
// [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1
func ParseAuthorization(value string) (token string, err error) {
	scheme, rest, _ := strings.Cut(value, " ")
	if !isToken(scheme) {
		return "", ErrMalformedRequest
	}
	if !strings.EqualFold(scheme, "Bearer") {
		return "", nil
	}
	token = strings.TrimLeft(rest, " ")
	if !isB64Token(token) {
		return "", ErrMalformedRequest
	}
	return token, nil
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

// isB64Token reports whether s matches RFC 6750 §2.1
//
//	b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
func isB64Token(s string) bool {
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

// challenge is a Bearer challenge of the WWW-Authenticate response header
// (RFC 6750 §3).
type challenge struct {
	realm       string
	code        string // error; empty when the request had no token
	description string // error_description
	scope       string // scope, for insufficient_scope
}

// String formats c as "Bearer" followed by its non-empty parameters, each a
// quoted-string (RFC 9110 §5.6.4).
func (c challenge) String() string {
	var b strings.Builder
	b.WriteString("Bearer")
	sep := " "
	param := func(name, value string) {
		if value == "" {
			return
		}
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteString(`="`)
		writeQuoted(&b, value)
		b.WriteByte('"')
		sep = ", "
	}
	param("realm", c.realm)
	param("error", c.code)
	param("error_description", c.description)
	param("scope", c.scope)
	return b.String()
}

// writeQuoted writes s as the content of a quoted-string: '"' and '\' are
// escaped with a backslash. s must hold no control characters.
func writeQuoted(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
}

// validQuotedText reports whether s can be sent in a quoted-string: visible
// ASCII, space and tab only (RFC 9110 §5.6.4, leaving out obs-text).
func validQuotedText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c > 0x7e {
			return false
		}
	}
	return true
}
