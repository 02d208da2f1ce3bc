package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/bearer"
)

// This file is the demo resource server: GET /api/me behind the bearer
// middleware of package bearer. It runs in the same process as the
// authorization server, so it validates tokens by asking the oauthkit.Server
// directly, whatever their format, and sees revocations at once. A resource
// server elsewhere would use bearer.NewJWKS for JWT access tokens or
// bearer.NewIntrospection for opaque ones.

// apiRealm is the realm of the API's WWW-Authenticate challenges.
const apiRealm = "oauthkit-example"

// serverValidator returns a bearer.Validator backed by
// srv.ValidateAccessToken: an active access token of srv, in any format, is
// valid; an unknown, expired, revoked or malformed one, or a refresh token,
// is refused with bearer.ErrInvalidToken; a store that cannot be reached is
// bearer.ErrUnavailable (503).
func serverValidator(srv *oauthkit.Server) bearer.Validator {
	return bearer.ValidatorFunc(func(ctx context.Context, token string) (*bearer.Claims, error) {
		t, err := srv.ValidateAccessToken(ctx, token)
		switch {
		case errors.Is(err, oauthkit.ErrNotFound):
			return nil, fmt.Errorf("%w: %w", bearer.ErrInvalidToken, err)
		case errors.Is(err, oauthkit.ErrUnavailable):
			return nil, fmt.Errorf("%w: %w", bearer.ErrUnavailable, err)
		case err != nil:
			return nil, err
		}
		return &bearer.Claims{
			Subject:   t.Subject,
			ClientID:  t.ClientID,
			Scope:     slices.Clone(t.Scope),
			Audience:  slices.Clone(t.Audience),
			Issuer:    srv.Issuer(),
			ExpiresAt: t.ExpiresAt,
			IssuedAt:  t.IssuedAt,
			AuthTime:  t.AuthTime,
			ACR:       t.ACR,
		}, nil
	})
}

// meResponse is the body of GET /api/me, named as the claims of RFC 9068
// §2.2.
type meResponse struct {
	Subject  string `json:"sub"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

// apiMe answers who the request's access token speaks for: its subject,
// client and scope. The middleware has validated the token and its scope.
func apiMe(w http.ResponseWriter, r *http.Request) {
	claims, ok := bearer.FromContext(r.Context())
	if !ok { // mounted without the middleware: a programming error
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	body, err := json.Marshal(meResponse{
		Subject:  claims.Subject,
		ClientID: claims.ClientID,
		Scope:    strings.Join(claims.Scope, " "),
	})
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.Write(append(body, '\n'))
}
