package main

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/oauthkit/oauthkit/bearer"
)

// This file is the demo resource server: GET /api/me behind the bearer
// middleware of package bearer. It runs in the same process as the
// authorization server, so it validates tokens with bearer.Local, which asks
// the oauthkit.Server directly, whatever their format, and sees revocations
// at once. A resource server elsewhere would use bearer.NewJWKS for JWT
// access tokens or bearer.NewIntrospection for opaque ones.

// apiRealm is the realm of the API's WWW-Authenticate challenges.
const apiRealm = "oauthkit-example"

// meResponse is the body of GET /api/me, named as the claims of RFC 9068
// §2.2, and the user the token acts for, absent for a client's own token
// (client_credentials), whose sub is the client (RFC 9700 §4.15.1).
type meResponse struct {
	Subject  string `json:"sub"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	User     string `json:"user,omitempty"`
}

// apiMe answers who the request's access token speaks for: its subject,
// client, scope and user. The middleware has validated the token and its scope.
func apiMe(w http.ResponseWriter, r *http.Request) {
	claims, ok := bearer.FromContext(r.Context())
	if !ok { // mounted without the middleware: a programming error
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	user, _ := claims.ResourceOwner()
	body, err := json.Marshal(meResponse{
		Subject:  claims.Subject,
		ClientID: claims.ClientID,
		Scope:    strings.Join(claims.Scope, " "),
		User:     user,
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
