package grants

import (
	"context"

	"github.com/oauthkit/oauthkit"
)

// ClientCredentials serves the client_credentials grant (RFC 6749 §4.4): a
// confidential client obtains an access token for itself. The subject of the
// token is the client ID, and no refresh token is issued (RFC 6749 §4.4.3).
type ClientCredentials struct{}

// GrantType returns "client_credentials".
func (ClientCredentials) GrantType() string { return oauthkit.GrantTypeClientCredentials }

// HandleGrant grants the requested scope to the client itself. Public
// clients are refused with unauthorized_client (RFC 6749 §4.4).
func (ClientCredentials) HandleGrant(_ context.Context, req *oauthkit.TokenRequest) (*oauthkit.Grant, error) {
	if req.Client.Public() {
		return nil, oauthkit.ErrUnauthorizedClient.WithDescription("public clients cannot use client_credentials")
	}
	scope, err := req.Scope()
	if err != nil {
		return nil, err
	}
	return &oauthkit.Grant{Scope: scope}, nil // no resource owner: the client is the subject
}
