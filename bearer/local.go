package bearer

import (
	"context"
	"errors"
	"slices"

	"github.com/oauthkit/oauthkit"
)

// Local returns a Validator for a resource server running in the same
// process as the authorization server srv: it looks tokens up in srv's
// stores (opaque and JWT access tokens alike, with revocation seen at once)
// instead of fetching keys or calling introspection. A non-empty audience
// refuses tokens issued for other resource servers: a token with an
// audience must name it; a token without one is accepted. The claims'
// SubjectIsClient comes from the token's record (oauthkit.Token), so a
// client's own token is never taken for a user's; so does JKT, the DPoP
// key a token is bound to.
func Local(srv *oauthkit.Server, audience string) Validator {
	return ValidatorFunc(func(ctx context.Context, token string) (*Claims, error) {
		t, err := srv.ValidateAccessToken(ctx, token)
		switch {
		case errors.Is(err, oauthkit.ErrNotFound):
			return nil, invalid("unknown, expired or revoked token")
		case errors.Is(err, oauthkit.ErrUnavailable):
			return nil, unavailable(err)
		case err != nil:
			return nil, err
		case audience != "" && len(t.Audience) > 0 && !slices.Contains(t.Audience, audience):
			return nil, invalid("token is for another audience")
		}
		return &Claims{
			Subject:         t.Subject,
			SubjectIsClient: t.SubjectIsClient,
			ClientID:        t.ClientID,
			Scope:           t.Scope,
			Audience:        t.Audience,
			Issuer:          srv.Issuer(),
			ExpiresAt:       t.ExpiresAt,
			IssuedAt:        t.IssuedAt,
			AuthTime:        t.AuthTime,
			ACR:             t.ACR,
			JKT:             t.JKT,
		}, nil
	})
}
