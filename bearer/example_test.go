package bearer_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/oauthkit/oauthkit/bearer"
)

// A resource server guards its routes on the host's own mux. The validator
// here knows two tokens, one issued for the user alice and one the client
// "backup" obtained for itself; real servers use JWKS, Introspection or
// both.
func ExampleMiddleware_Wrap() {
	validator := bearer.ValidatorFunc(func(ctx context.Context, token string) (*bearer.Claims, error) {
		switch token {
		case "2YotnFZFEjr1zCsicMWpAA":
			return &bearer.Claims{Subject: "alice", ClientID: "gallery", Scope: []string{"photos.read"}}, nil
		case "mF_9.B5f-4.1JqM":
			return &bearer.Claims{Subject: "backup", SubjectIsClient: true, ClientID: "backup", Scope: []string{"photos.read"}}, nil
		}
		return nil, bearer.ErrInvalidToken
	})
	mw, err := bearer.New(bearer.Config{Validator: validator, Realm: "photos"})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /photos", mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := bearer.FromContext(r.Context())
		user, ok := claims.ResourceOwner()
		if !ok { // the client's own token: there is no user to list photos of
			http.Error(w, "a user's token is required", http.StatusForbidden)
			return
		}
		fmt.Fprintf(w, "photos of %s", user)
	}), "photos.read"))
	mux.Handle("DELETE /photos", mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}), "photos.write"))

	for _, req := range []struct{ method, auth string }{
		{"GET", ""},
		{"GET", "Bearer 2YotnFZFEjr1zCsicMWpAA"},
		{"GET", "Bearer mF_9.B5f-4.1JqM"},
		{"GET", "Bearer expired"},
		{"GET", "Bearer two tokens"},
		{"DELETE", "Bearer 2YotnFZFEjr1zCsicMWpAA"},
	} {
		r := httptest.NewRequest(req.method, "/photos", nil)
		if req.auth != "" {
			r.Header.Set("Authorization", req.auth)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(w.Code, strings.TrimSpace(w.Header().Get("WWW-Authenticate")+w.Body.String()))
	}
	// Output:
	// 401 Bearer realm="photos"
	// 200 photos of alice
	// 403 a user's token is required
	// 401 Bearer realm="photos", error="invalid_token", error_description="the access token is invalid, expired or revoked"
	// 400 Bearer realm="photos", error="invalid_request", error_description="malformed Authorization header"
	// 403 Bearer realm="photos", error="insufficient_scope", error_description="the access token lacks a required scope", scope="photos.write"
}

// JWT access tokens are checked locally against the authorization server's
// keys; any other token is introspected.
func ExampleFallback() {
	jwks, err := bearer.NewJWKS(bearer.JWKSConfig{
		URL:      "https://auth.example.com/.well-known/jwks.json",
		Issuer:   "https://auth.example.com",
		Audience: "https://api.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	introspection, err := bearer.NewIntrospection(bearer.IntrospectionConfig{
		URL:          "https://auth.example.com/introspect",
		ClientID:     "api",
		ClientSecret: os.Getenv("INTROSPECTION_SECRET"),
		Audience:     "https://api.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	mw, err := bearer.New(bearer.Config{Validator: bearer.Fallback(jwks, introspection)})
	if err != nil {
		log.Fatal(err)
	}
	// Load the keys at startup rather than on the first request.
	if err := jwks.Refresh(context.Background()); err != nil {
		log.Print(err) // requests will retry
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", mw.Wrap(http.NotFoundHandler()))
}
