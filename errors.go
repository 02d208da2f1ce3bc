package oauthkit

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an OAuth 2.0 error response: the error code, an optional
// human-readable description and URI, and an optional internal cause.
//
// The code, description and URI are sent to the client
// ([RFC 6749 §4.1.2.1] at the authorization endpoint, [RFC 6749 §5.2] at the
// token endpoint). The cause is never sent: handlers log it with the
// configured [log/slog.Logger] and it is reachable with [errors.Unwrap].
//
// Match errors by code with [errors.Is] against the exported values, for
// example errors.Is(err, ErrInvalidGrant). The exported values must not be
// modified; derive new errors with [Error.WithDescription] and [Error.Wrap].
//
// [RFC 6749 §4.1.2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
// [RFC 6749 §5.2]: https://www.rfc-editor.org/rfc/rfc6749#section-5.2
type Error struct {
	// Code is the error code, such as "invalid_request".
	Code string
	// Description is the error_description: ASCII text for the client
	// developer, never containing internal detail.
	Description string
	// URI is the error_uri, or empty.
	URI string
	// Status is the HTTP status of a direct (non-redirect) response. Zero
	// means the status RFC 6749 assigns to Code.
	Status int

	cause error
}

// Protocol errors. Their codes are those of RFC 6749, RFC 6750, RFC 7009,
// OpenID Connect Core, RFC 8707 (invalid_target), RFC 8628 (the device
// flow's polling answers), RFC 9449 (DPoP) and RFC 9101 (invalid_request_uri,
// which RFC 9126 uses for a bad pushed request_uri).
var (
	ErrInvalidRequest          = &Error{Code: "invalid_request"}
	ErrInvalidClient           = &Error{Code: "invalid_client"}
	ErrInvalidGrant            = &Error{Code: "invalid_grant"}
	ErrUnauthorizedClient      = &Error{Code: "unauthorized_client"}
	ErrUnsupportedGrantType    = &Error{Code: "unsupported_grant_type"}
	ErrInvalidScope            = &Error{Code: "invalid_scope"}
	ErrAccessDenied            = &Error{Code: "access_denied"}
	ErrUnsupportedResponseType = &Error{Code: "unsupported_response_type"}
	ErrServerError             = &Error{Code: "server_error"}
	ErrTemporarilyUnavailable  = &Error{Code: "temporarily_unavailable", Status: http.StatusServiceUnavailable}
	ErrUnsupportedTokenType    = &Error{Code: "unsupported_token_type"}
	ErrInvalidToken            = &Error{Code: "invalid_token", Status: http.StatusUnauthorized}
	ErrInsufficientScope       = &Error{Code: "insufficient_scope", Status: http.StatusForbidden}
	ErrLoginRequired           = &Error{Code: "login_required"}
	ErrConsentRequired         = &Error{Code: "consent_required"}
	ErrInteractionRequired     = &Error{Code: "interaction_required"}
	ErrRequestNotSupported     = &Error{Code: "request_not_supported"}
	ErrRequestURINotSupported  = &Error{Code: "request_uri_not_supported"}
	ErrInvalidRequestURI       = &Error{Code: "invalid_request_uri"}
	ErrInvalidTarget           = &Error{Code: "invalid_target"}
	ErrAuthorizationPending    = &Error{Code: "authorization_pending"}
	ErrSlowDown                = &Error{Code: "slow_down"}
	ErrExpiredToken            = &Error{Code: "expired_token"}
	ErrInvalidDPoPProof        = &Error{Code: "invalid_dpop_proof"}
	ErrUseDPoPNonce            = &Error{Code: "use_dpop_nonce"}
)

// Store errors. Stores return these (possibly wrapped) so that handlers can
// map them to protocol errors; any other error from a store is an internal
// fault and becomes server_error.
var (
	// ErrNotFound means the item does not exist, has expired or was revoked.
	ErrNotFound = errors.New("oauthkit: not found")
	// ErrReused means a single-use item (an authorization code, a rotated
	// refresh token) was presented again after it had been used.
	ErrReused = errors.New("oauthkit: already used")
	// ErrExists means an item with the same ID is already stored.
	ErrExists = errors.New("oauthkit: already exists")
	// ErrUnavailable means the store cannot be reached for now (a database
	// restarting, a timeout), or that too many slow secret verifications
	// are waiting (VerifySecret). The authorization endpoint answers
	// temporarily_unavailable (RFC 6749 §4.1.2.1); the token, introspection
	// and revocation endpoints, for which RFC 6749 has no such code, answer
	// server_error with status 503 and Retry-After.
	ErrUnavailable = errors.New("oauthkit: store unavailable")
	// ErrLimitReached means that a capped store operation would exceed its
	// cap: a source that registered RegistrationConfig.MaxClientsPerSource
	// clients registering one more (ClientCapper).
	ErrLimitReached = errors.New("oauthkit: limit reached")
)

// Error returns the code and, when present, the description.
func (e *Error) Error() string {
	if e.Description == "" {
		return e.Code
	}
	return e.Code + ": " + e.Description
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// WithDescription returns a copy of e with the description set from format
// and args, as by [fmt.Sprintf].
func (e *Error) WithDescription(format string, args ...any) *Error {
	c := *e
	if len(args) == 0 {
		c.Description = format
	} else {
		c.Description = fmt.Sprintf(format, args...)
	}
	return &c
}

// Wrap returns a copy of e whose internal cause is cause. The cause is logged,
// never sent to the client.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// HTTPStatus is the status of a direct response carrying e: e.Status if set,
// otherwise 400 Bad Request, or 500 for server_error (RFC 6749 §5.2).
func (e *Error) HTTPStatus() int {
	switch {
	case e.Status != 0:
		return e.Status
	case e.Code == ErrServerError.Code:
		return http.StatusInternalServerError
	default:
		return http.StatusBadRequest
	}
}

// asError converts any error into a protocol error. An *Error anywhere in
// err's chain is returned as is; anything else is an internal fault and
// becomes server_error wrapping err.
func asError(err error) *Error {
	var oe *Error
	if errors.As(err, &oe) {
		return oe
	}
	return ErrServerError.Wrap(err)
}

// authorizeError is asError for the authorization endpoint, where an
// unavailable store is temporarily_unavailable rather than server_error.
func authorizeError(err error) *Error {
	oe := asError(err)
	if oe.Code == ErrServerError.Code && errors.Is(oe, ErrUnavailable) {
		return ErrTemporarilyUnavailable.Wrap(oe.Unwrap())
	}
	return oe
}
