package bearer_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

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

// A resource publishes its metadata (RFC 9728) so that a client that knows
// only its URL finds the authorization server: the 401 challenge names the
// metadata URL, and the metadata names the authorization server.
func ExampleMetadataHandler() {
	const resource = "https://api.example.com/photos"
	metadataURL, err := bearer.MetadataURL(resource)
	if err != nil {
		log.Fatal(err)
	}
	metadata, err := bearer.MetadataHandler(bearer.ProtectedResourceMetadata{
		Resource:             resource,
		AuthorizationServers: []string{"https://auth.example.com"},
		ScopesSupported:      []string{"photos.read"},
	})
	if err != nil {
		log.Fatal(err)
	}
	validator := bearer.ValidatorFunc(func(ctx context.Context, token string) (*bearer.Claims, error) {
		return nil, bearer.ErrInvalidToken
	})
	mw, err := bearer.New(bearer.Config{Validator: validator, ResourceMetadata: metadataURL.String()})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET "+metadataURL.Path, metadata)
	mux.Handle("GET /photos", mw.Wrap(http.NotFoundHandler(), "photos.read"))

	for _, path := range []string{"/photos", metadataURL.Path} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Println(w.Code, w.Header().Get("WWW-Authenticate")+w.Body.String())
	}
	// Output:
	// 401 Bearer resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/photos"
	// 200 {"resource":"https://api.example.com/photos","authorization_servers":["https://auth.example.com"],"scopes_supported":["photos.read"],"bearer_methods_supported":["header"]}
}

// A route that moves money asks for a multi-factor authentication (acr
// "mfa") less than five minutes old; other routes take any valid token. A
// token that falls short gets a step-up challenge (RFC 9470), which the
// client answers by sending the user back to the authorization server with
// acr_values and max_age.
func ExampleMiddleware_WrapWith() {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	validator := bearer.ValidatorFunc(func(ctx context.Context, token string) (*bearer.Claims, error) {
		switch token {
		case "password-an-hour-ago":
			return &bearer.Claims{Subject: "alice", Scope: []string{"pay"}, ACR: "pwd", AuthTime: now.Add(-time.Hour)}, nil
		case "mfa-just-now":
			return &bearer.Claims{Subject: "alice", Scope: []string{"pay"}, ACR: "mfa", AuthTime: now.Add(-time.Minute)}, nil
		}
		return nil, bearer.ErrInvalidToken
	})
	mw, err := bearer.New(bearer.Config{Validator: validator, Now: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}
	pay := mw.WrapWith(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "paid")
	}), bearer.Requirements{Scopes: []string{"pay"}, ACRValues: []string{"mfa"}, MaxAge: 5 * time.Minute})

	for _, token := range []string{"password-an-hour-ago", "mfa-just-now"} {
		r := httptest.NewRequest("POST", "/payments", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		pay.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("WWW-Authenticate")+w.Body.String())
	}
	// Output:
	// 401 Bearer error="insufficient_user_authentication", error_description="a different or more recent user authentication is required", scope="pay", acr_values="mfa", max_age="300"
	// 200 paid
}
