package oauthkit

import (
	"context"
	"errors"
)

// ErrInvalidCredentials is returned by a UserAuthenticator for a wrong
// username or password.
var ErrInvalidCredentials = errors.New("oauthkit: invalid resource owner credentials")

// UserAuthenticator checks a resource owner's username and password, for the
// password grant (package grants) and the host's own login pages.
//
// Implementations must be safe for concurrent use, and should take the same
// time for unknown users as for wrong passwords.
type UserAuthenticator interface {
	// AuthenticateUser returns the subject identifier of the user, or an
	// error wrapping ErrInvalidCredentials. Any other error is an internal
	// fault.
	AuthenticateUser(ctx context.Context, username, password string) (subject string, err error)
}
