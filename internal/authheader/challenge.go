package authheader

import (
	"net/http"
	"strings"
)

// The error codes of [RFC 6750 §3.1], the one [RFC 9470 §3] adds, and
// those of DPoP ([RFC 9449 §7.1], [RFC 9449 §9]).
//
// [RFC 6750 §3.1]: https://www.rfc-editor.org/rfc/rfc6750#section-3.1
// [RFC 9470 §3]: https://www.rfc-editor.org/rfc/rfc9470#section-3
// [RFC 9449 §7.1]: https://www.rfc-editor.org/rfc/rfc9449#section-7.1
// [RFC 9449 §9]: https://www.rfc-editor.org/rfc/rfc9449#section-9
const (
	InvalidRequest    = "invalid_request"    // 400: a malformed request
	InvalidToken      = "invalid_token"      // 401: expired, revoked, malformed or otherwise invalid
	InsufficientScope = "insufficient_scope" // 403: the token lacks a required scope
	// 401: the user's authentication is too weak or too old (step-up)
	InsufficientUserAuthentication = "insufficient_user_authentication"
	// 401: the DPoP proof is missing or invalid (RFC 9449 §7.1)
	InvalidDPoPProof = "invalid_dpop_proof"
	// 401: the DPoP proof lacks a current server nonce (RFC 9449 §9)
	UseDPoPNonce = "use_dpop_nonce"
)

// Challenge is a Bearer ([RFC 6750 §3]) or DPoP ([RFC 9449 §7.1])
// challenge of the WWW-Authenticate response header. Empty fields are left
// out. A resource that accepts both schemes answers with one challenge of
// each ([Join]), the error in the one of the scheme the request used.
//
// A request without a token gets a challenge with no Error ("the resource
// server SHOULD NOT include an error code or other error information"); a
// request with a malformed header, a bad token or too little scope gets one
// of the codes above. A resource that publishes metadata names it in every
// challenge (ResourceMetadata, [RFC 9728 §5.1]).
//
// [RFC 6750 §3]: https://www.rfc-editor.org/rfc/rfc6750#section-3
// [RFC 9728 §5.1]: https://www.rfc-editor.org/rfc/rfc9728#section-5.1
// [RFC 9449 §7.1]: https://www.rfc-editor.org/rfc/rfc9449#section-7.1
type Challenge struct {
	// Scheme is SchemeBearer, the default when empty, or SchemeDPoP.
	Scheme string
	// Realm names the protected resource ("realm").
	Realm string
	// Error is InvalidRequest, InvalidToken, InsufficientScope,
	// InsufficientUserAuthentication, InvalidDPoPProof, UseDPoPNonce or
	// empty ("error").
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
	// Algs is the space-separated list of the JWS algorithms accepted in
	// DPoP proofs ("algs", [RFC 9449 §7.1]), sent in a DPoP challenge.
	//
	// [RFC 9449 §7.1]: https://www.rfc-editor.org/rfc/rfc9449#section-7.1
	Algs string
	// ResourceMetadata is the URL of the protected resource's metadata
	// ("resource_metadata", [RFC 9728 §5.1]).
	//
	// [RFC 9728 §5.1]: https://www.rfc-editor.org/rfc/rfc9728#section-5.1
	ResourceMetadata string
}

// Status returns the HTTP status for c.Error ([RFC 6750 §3.1]): 400 for
// invalid_request, 403 for insufficient_scope, 401 otherwise, including
// insufficient_user_authentication, the DPoP errors and when there is no
// error code.
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

// Join formats challenges as one WWW-Authenticate field value, separated by
// commas ([RFC 9110 §11.6.1]).
//
// [RFC 9110 §11.6.1]: https://www.rfc-editor.org/rfc/rfc9110#section-11.6.1
func Join(challenges ...Challenge) string {
	s := make([]string, len(challenges))
	for i, c := range challenges {
		s[i] = c.String()
	}
	return strings.Join(s, ", ")
}

// WithDPoP formats c for a resource that accepts both the Bearer and the
// DPoP scheme ([RFC 9449 §7.2]): a Bearer challenge and a DPoP challenge
// listing algs, both with c's realm and resource metadata, and c's error,
// description and scope in the challenge of scheme, the scheme the request
// used (Bearer if empty). c.Scheme and c.Algs are ignored.
//
// [RFC 9449 §7.2]: https://www.rfc-editor.org/rfc/rfc9449#section-7.2
func WithDPoP(c Challenge, scheme, algs string) string {
	plain := Challenge{Realm: c.Realm, ResourceMetadata: c.ResourceMetadata}
	b, d := c, c
	b.Scheme, b.Algs = SchemeBearer, ""
	d.Scheme, d.Algs = SchemeDPoP, algs
	if scheme == SchemeDPoP {
		b = plain
	} else {
		d = plain
		d.Scheme, d.Algs = SchemeDPoP, algs
	}
	return Join(b, d)
}

// String formats c as its scheme followed by its non-empty parameters, each a
// quoted-string ([RFC 9110 §5.6.4]). It never produces an invalid header
// whatever the fields hold: in the realm, '"' and '\' are escaped and bytes
// that a quoted-string cannot carry are dropped; error, error_description
// and scope keep only the characters [RFC 6750 §3] allows them
// (%x20-21 / %x23-5B / %x5D-7E), so '"' and '\' are dropped there too.
// The parameters of RFC 9470 (acr_values, max_age), RFC 9449 (algs) and
// RFC 9728 (resource_metadata) follow, in that order, under the same rule
// as scope.
//
// [RFC 9110 §5.6.4]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.4
// [RFC 6750 §3]: https://www.rfc-editor.org/rfc/rfc6750#section-3
func (c Challenge) String() string {
	var b strings.Builder
	scheme := SchemeBearer
	if c.Scheme == SchemeDPoP {
		scheme = SchemeDPoP
	}
	b.Grow(len(scheme) + len(c.Realm) + len(c.Error) + len(c.Description) + len(c.Scope) +
		len(c.ACRValues) + len(c.MaxAge) + len(c.Algs) + len(c.ResourceMetadata) + 128)
	b.WriteString(scheme)
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
	param("algs", c.Algs, false)
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
