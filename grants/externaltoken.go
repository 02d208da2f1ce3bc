package grants

import (
	"context"
	"errors"

	"github.com/oauthkit/oauthkit"
)

// GrantTypeExternalToken is the default grant_type of ExternalToken, the
// name a content-services platform gives its grant (seed 001). It is not an
// absolute URI, as RFC 6749 §4.5 asks of an extension grant; set
// ExternalToken.Type to serve it under one.
const GrantTypeExternalToken = "external_token"

// ExternalToken serves a grant that imports tokens minted elsewhere: the
// client sends an access token (and optionally a refresh token) that
// another authorization server issued, and they become this server's tokens
// for the user, returned as the token response. It is meant for taking
// over from, or standing in front of, an authorization server that is
// already there: tokens in circulation keep working without a new login.
//
// The request's parameters are username, password, access_token, and
// optionally refresh_token and scope (the scope granted is that of
// [oauthkit.TokenRequest.Scope]). The values are imported through
// [oauthkit.Grant.ImportAccessToken] and ImportRefreshToken: stored only as
// hashes, then introspected, refreshed with rotation, revoked and accepted
// by package bearer like any token of this server. A value that is not a
// b64token (RFC 6750 §2.1) of at least 32 characters with the variety of a
// random value is refused with invalid_request, one already in use with
// invalid_grant; the importer answers for their randomness (128 bits at
// least). A client that may not use the refresh_token grant may not import
// a refresh token (unauthorized_client); without one, a client that may
// refresh gets a new refresh token.
//
// Who the user is, and whether the client may import the token, is checked
// by Users, by Verify, or by both. Users checks username and password with
// the host's [oauthkit.UserAuthenticator], as the password grant does (and
// inherits its faults: RFC 9700 §2.4 says the password grant must not be
// used; prefer Verify where the upstream server can be asked):
//
//	oauthkit.Config{
//		Grants: []oauthkit.GrantHandler{grants.ExternalToken{Users: users}},
//	}
//
// Verify checks the external access token itself, against the server
// that issued it (its JWKS, or its RFC 7662 introspection endpoint), and
// says whose it is:
//
//	grants.ExternalToken{
//		Verify: func(ctx context.Context, req *oauthkit.TokenRequest, accessToken string) (string, error) {
//			claims, err := upstream.Introspect(ctx, accessToken) // the host's client of the old server
//			switch {
//			case err != nil:
//				return "", err // a fault: server_error
//			case !claims.Active || claims.ClientID != req.Client.ID:
//				return "", oauthkit.ErrInvalidCredentials // invalid_grant
//			}
//			return claims.Subject, nil
//		},
//	}
//
// With both, the password is checked first and the two must name the same
// user. The server refuses a client not registered for the grant type
// (unauthorized_client) before the grant sees the request.
type ExternalToken struct {
	// Type is the grant_type served; empty means GrantTypeExternalToken.
	Type string
	// Users checks the username and password parameters; both are then
	// required. Nil means that they are not read, and Verify is required.
	Users oauthkit.UserAuthenticator
	// Verify checks the external access token (the access_token
	// parameter) for the request req and returns the subject of the user
	// it was issued for, which must not be empty. To refuse the token it
	// returns an error wrapping oauthkit.ErrInvalidCredentials (answered
	// invalid_grant) or an *oauthkit.Error (answered as it is); any other
	// error is an internal fault. Nil means that the token is not checked,
	// and Users is required.
	Verify func(ctx context.Context, req *oauthkit.TokenRequest, accessToken string) (subject string, err error)
}

// GrantType returns Type, or GrantTypeExternalToken.
func (g ExternalToken) GrantType() string {
	if g.Type != "" {
		return g.Type
	}
	return GrantTypeExternalToken
}

// HandleGrant checks the user and the external token and grants the
// requested scope, with the submitted tokens to import.
func (g ExternalToken) HandleGrant(ctx context.Context, req *oauthkit.TokenRequest) (*oauthkit.Grant, error) {
	if g.Users == nil && g.Verify == nil {
		return nil, errors.New("grants: ExternalToken has neither Users nor Verify")
	}
	access, refresh := req.Form.Get("access_token"), req.Form.Get("refresh_token")
	username, password := req.Form.Get("username"), req.Form.Get("password")
	switch {
	case access == "":
		return nil, oauthkit.ErrInvalidRequest.WithDescription("missing access_token")
	case g.Users != nil && (username == "" || password == ""):
		return nil, oauthkit.ErrInvalidRequest.WithDescription("missing username or password")
	case refresh != "" && !req.Client.AllowsGrant(oauthkit.GrantTypeRefreshToken):
		return nil, oauthkit.ErrUnauthorizedClient.WithDescription("client is not registered for the refresh_token grant")
	}
	scope, err := req.Scope()
	if err != nil {
		return nil, err
	}
	grant := &oauthkit.Grant{Scope: scope, RefreshToken: true, ImportAccessToken: access, ImportRefreshToken: refresh}
	if g.Users != nil {
		grant.Subject, err = g.Users.AuthenticateUser(ctx, username, password)
		switch {
		case errors.Is(err, oauthkit.ErrInvalidCredentials):
			return nil, oauthkit.ErrInvalidGrant.WithDescription("invalid resource owner credentials")
		case err != nil:
			return nil, err // a fault, such as oauthkit.ErrUnavailable
		}
		grant.AuthTime = req.Time
	}
	if g.Verify != nil {
		subject, err := g.Verify(ctx, req, access)
		var oerr *oauthkit.Error
		switch {
		case errors.As(err, &oerr):
			return nil, oerr
		case errors.Is(err, oauthkit.ErrInvalidCredentials):
			return nil, oauthkit.ErrInvalidGrant.WithDescription("the external access token was not accepted")
		case err != nil:
			return nil, err
		case subject == "":
			return nil, errors.New("grants: ExternalToken.Verify returned an empty subject")
		case grant.Subject != "" && subject != grant.Subject:
			return nil, oauthkit.ErrInvalidGrant.WithDescription("the external access token is another user's")
		}
		grant.Subject = subject
	}
	if grant.Subject == "" {
		return nil, errors.New("grants: ExternalToken: the UserAuthenticator returned an empty subject")
	}
	return grant, nil
}
