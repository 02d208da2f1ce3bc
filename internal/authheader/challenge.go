package authheader

import (
	"net/http"
	"strings"
)

// The error codes of [RFC 6750 §3.1].
//
// [RFC 6750 §3.1]: https://www.rfc-editor.org/rfc/rfc6750#section-3.1
const (
	InvalidRequest    = "invalid_request"    // 400: a malformed request
	InvalidToken      = "invalid_token"      // 401: expired, revoked, malformed or otherwise invalid
	InsufficientScope = "insufficient_scope" // 403: the token lacks a required scope
)

// Challenge is a Bearer challenge of the WWW-Authenticate response header
// ([RFC 6750 §3]). Empty fields are left out.
//
// A request without a token gets a challenge with no Error ("the resource
// server SHOULD NOT include an error code or other error information"); a
// request with a malformed header, a bad token or too little scope gets one
// of the codes above.
//
// [RFC 6750 §3]: https://www.rfc-editor.org/rfc/rfc6750#section-3
type Challenge struct {
	// Realm names the protected resource ("realm").
	Realm string
	// Error is InvalidRequest, InvalidToken, InsufficientScope or empty
	// ("error").
	Error string
	// Description explains the error to the client's developer
	// ("error_description"); it must never hold a token.
	Description string
	// Scope is the space-separated scope the resource requires ("scope"),
	// sent with InsufficientScope.
	Scope string
}

// Status returns the HTTP status for c.Error ([RFC 6750 §3.1]): 400 for
// invalid_request, 403 for insufficient_scope, 401 otherwise, including
// when there is no error code.
//
// [RFC 6750 §3.1]: https://www.rfc-editor.org/rfc/rfc6750#section-3.1
func (c Challenge) Status() int {
	switch c.Error {
	case InvalidRequest:
		return http.StatusBadRequest
	case InsufficientScope:
		return http.StatusForbidden
	default:
		return http.StatusUnauthorized
	}
}

// Write answers a request with c: it sets the WWW-Authenticate header and
// writes c.Status(), with no body.
func (c Challenge) Write(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", c.String())
	w.WriteHeader(c.Status())
}

// String formats c as "Bearer" followed by its non-empty parameters, each a
// quoted-string ([RFC 9110 §5.6.4]). It never produces an invalid header
// whatever the fields hold: in the realm, '"' and '\' are escaped and bytes
// that a quoted-string cannot carry are dropped; error, error_description
// and scope keep only the characters [RFC 6750 §3] allows them
// (%x20-21 / %x23-5B / %x5D-7E), so '"' and '\' are dropped there too.
//
// [RFC 9110 §5.6.4]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.4
// [RFC 6750 §3]: https://www.rfc-editor.org/rfc/rfc6750#section-3
func (c Challenge) String() string {
	var b strings.Builder
	b.Grow(len("Bearer") + len(c.Realm) + len(c.Error) + len(c.Description) + len(c.Scope) + 64)
	b.WriteString("Bearer")
	sep := " "
	param := func(name, value string, realm bool) {
		if value == "" {
			return
		}
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteString(`="`)
		for i := 0; i < len(value); i++ {
			switch ch := value[i]; {
			case ch < 0x20 || ch > 0x7e:
				// no representation in a quoted-string: dropped
			case ch == '"' || ch == '\\':
				if realm {
					b.WriteByte('\\')
					b.WriteByte(ch)
				}
			default:
				b.WriteByte(ch)
			}
		}
		b.WriteByte('"')
		sep = ", "
	}
	param("realm", c.Realm, true)
	param("error", c.Error, false)
	param("error_description", c.Description, false)
	param("scope", c.Scope, false)
	return b.String()
}

// ValidRealm reports whether s can be sent as a realm unchanged: printable
// ASCII and space only. A host's configured realm should be checked with
// it, so that String never has to drop anything from it.
func ValidRealm(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
