package bearer_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/oauthkit/oauthkit/bearer"
)

// A resource server guards its routes on the host's own mux. The validator
// here knows one token; real servers use JWKS, Introspection or both.
func ExampleMiddleware_Require() {
	validator := bearer.ValidatorFunc(func(ctx context.Context, token string) (*bearer.Claims, error) {
		if token != "2YotnFZFEjr1zCsicMWpAA" {
			return nil, bearer.ErrInvalidToken
		}
		return &bearer.Claims{Subject: "alice", Scope: []string{"photos.read"}}, nil
	})
	mw, err := bearer.New(bearer.Config{Validator: validator, Realm: "photos"})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	requireRead := mw.Require("photos.read")
	mux.Handle("GET /photos", requireRead(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := bearer.FromContext(r.Context())
		fmt.Fprintf(w, "photos of %s", claims.Subject)
	})))
	mux.Handle("DELETE /photos", mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}), "photos.write"))

	for _, req := range []struct{ method, auth string }{
		{"GET", ""},
		{"GET", "Bearer 2YotnFZFEjr1zCsicMWpAA"},
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
		fmt.Println(w.Code, w.Header().Get("WWW-Authenticate")+w.Body.String())
	}
	// Output:
	// 401 Bearer realm="photos"
	// 200 photos of alice
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
