package grants

import (
	"context"
	"errors"

	"github.com/oauthkit/oauthkit"
)

// Password serves the resource owner password credentials grant
// (RFC 6749 §4.3). RFC 9700 §2.4 says it MUST NOT be used: it teaches users
// to type passwords into clients and cannot do multi-factor login. It exists
// for migrating legacy clients, and is served only when the host adds it to
// Config.Grants and registers the client for GrantTypePassword.
type Password struct {
	// Users checks the resource owner's credentials. Required.
	Users oauthkit.UserAuthenticator
}

// GrantType returns "password".
func (Password) GrantType() string { return oauthkit.GrantTypePassword }

// HandleGrant authenticates the resource owner and grants the requested
// scope, with a refresh token if the client may use one.
func (p Password) HandleGrant(ctx context.Context, req *oauthkit.TokenRequest) (*oauthkit.Grant, error) {
	if p.Users == nil {
		return nil, errors.New("grants: Password.Users is nil")
	}
	username, password := req.Form.Get("username"), req.Form.Get("password")
	if username == "" || password == "" {
		return nil, oauthkit.ErrInvalidRequest.WithDescription("missing username or password")
	}
	scope, err := req.Scope()
	if err != nil {
		return nil, err
	}
	subject, err := p.Users.AuthenticateUser(ctx, username, password)
	switch {
	case errors.Is(err, oauthkit.ErrInvalidCredentials):
		return nil, oauthkit.ErrInvalidGrant.WithDescription("invalid resource owner credentials")
	case err != nil:
		return nil, err
	}
	return &oauthkit.Grant{Subject: subject, Scope: scope, AuthTime: req.Time, RefreshToken: true}, nil
}
