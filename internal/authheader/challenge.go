package authheader

import (
	"net/http"
	"strings"
)

// The error codes of [RFC 6750 §3.1], and the one [RFC 9470 §3] adds.
//
// [RFC 6750 §3.1]: https://www.rfc-editor.org/rfc/rfc6750#section-3.1
// [RFC 9470 §3]: https://www.rfc-editor.org/rfc/rfc9470#section-3
const (
	InvalidRequest    = "invalid_request"    // 400: a malformed request
	InvalidToken      = "invalid_token"      // 401: expired, revoked, malformed or otherwise invalid
	InsufficientScope = "insufficient_scope" // 403: the token lacks a required scope
	// 401: the user's authentication is too weak or too old (step-up)
	InsufficientUserAuthentication = "insufficient_user_authentication"
)

// Challenge is a Bearer challenge of the WWW-Authenticate response header
// ([RFC 6750 §3]). Empty fields are left out.
//
// A request without a token gets a challenge with no Error ("the resource
// server SHOULD NOT include an error code or other error information"); a
// request with a malformed header, a bad token or too little scope gets one
// of the codes above. A resource that publishes metadata names it in every
// challenge (ResourceMetadata, [RFC 9728 §5.1]).
//
// [RFC 6750 §3]: https://www.rfc-editor.org/rfc/rfc6750#section-3
// [RFC 9728 §5.1]: https://www.rfc-editor.org/rfc/rfc9728#section-5.1
type Challenge struct {
	// Realm names the protected resource ("realm").
	Realm string
	// Error is InvalidRequest, InvalidToken, InsufficientScope,
	// InsufficientUserAuthentication or empty ("error").
	Error string
	// Description explains the error to the client's developer
	// ("error_description"); it must never hold a token.
	Description string
	// Scope is the space-separated scope the resource requires ("scope"),
	// sent with InsufficientScope.
	Scope string
	// ACRValues is the space-separated list of authentication context
	// class references the resource accepts, in order of preference
	// ("acr_values", [RFC 9470 §3]), sent with
	// InsufficientUserAuthentication.
	//
	// [RFC 9470 §3]: https://www.rfc-editor.org/rfc/rfc9470#section-3
	ACRValues string
	// MaxAge is the longest time allowed since the user last authenticated,
	// in decimal seconds ("max_age", [RFC 9470 §3]), sent with
	// InsufficientUserAuthentication. Empty means none; "0" is a value.
	//
	// [RFC 9470 §3]: https://www.rfc-editor.org/rfc/rfc9470#section-3
	MaxAge string
	// ResourceMetadata is the URL of the protected resource's metadata
	// ("resource_metadata", [RFC 9728 §5.1]).
	//
	// [RFC 9728 §5.1]: https://www.rfc-editor.org/rfc/rfc9728#section-5.1
	ResourceMetadata string
}

// Status returns the HTTP status for c.Error ([RFC 6750 §3.1]): 400 for
// invalid_request, 403 for insufficient_scope, 401 otherwise, including
// insufficient_user_authentication and when there is no error code.
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
// The parameters of RFC 9470 (acr_values, max_age) and RFC 9728
// (resource_metadata) follow, in that order, under the same rule as scope.
//
// [RFC 9110 §5.6.4]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.4
// [RFC 6750 §3]: https://www.rfc-editor.org/rfc/rfc6750#section-3
func (c Challenge) String() string {
	var b strings.Builder
	b.Grow(len("Bearer") + len(c.Realm) + len(c.Error) + len(c.Description) + len(c.Scope) +
		len(c.ACRValues) + len(c.MaxAge) + len(c.ResourceMetadata) + 128)
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
	param("acr_values", c.ACRValues, false)
	param("max_age", c.MaxAge, false)
	param("resource_metadata", c.ResourceMetadata, false)
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
