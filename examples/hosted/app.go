package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/jwt"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// Paths: the document's endpoints, and what a hosted sign-in needs beside
// them.
const (
	pathAuthorize = "/oauth2/authorize"
	pathToken     = "/oauth2/token"
	pathRevoke    = "/oauth2/revoke"
	pathJWKS      = "/.well-known/jwks.json"
	pathMetadata  = "/.well-known/oauth-authorization-server"
	pathLogin     = "/login"
	pathAPI       = "/api/pets"
	scopePets     = "api/pets"
)

// Redirection URIs of the demo clients. Nothing listens there: the
// browser's address bar shows the response.
const (
	webRedirectURI = "https://app.example.com/callback"
	spaRedirectURI = "https://spa.example.com/callback"
)

// config is what newApp needs.
type config struct {
	// Issuer is the issuer identifier; the endpoints and the API are
	// under it.
	Issuer string
	// Clients are the registered clients (see demoClients).
	Clients []*oauthkit.Client
	// Key signs the access tokens: an RS256 key, which every resource
	// server can check (RFC 9068 §2.1). Nil generates one.
	Key *jwt.Key
	// Users is the user directory. Nil means demoUsers.
	Users directory
	// Logger receives internal faults. Nil means slog.Default().
	Logger *slog.Logger
}

// demoClients returns the demo clients: web, a confidential client of the
// code flow with refresh tokens; reports, a confidential client of the code
// flow without them; spa, a public client of the implicit flow.
func demoClients(webSecretHash, reportsSecretHash string) []*oauthkit.Client {
	return []*oauthkit.Client{{
		ID: "web", SecretHash: webSecretHash, AuthMethod: oauthkit.AuthMethodSecretBasic,
		RedirectURIs: []string{webRedirectURI},
		GrantTypes:   []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken},
		Scopes:       []string{scopePets}, DefaultScopes: []string{scopePets},
	}, {
		ID: "reports", SecretHash: reportsSecretHash, AuthMethod: oauthkit.AuthMethodSecretBasic,
		RedirectURIs: []string{webRedirectURI},
		GrantTypes:   []string{oauthkit.GrantTypeAuthorizationCode},
		Scopes:       []string{scopePets}, DefaultScopes: []string{scopePets},
	}, {
		ID:           "spa",
		RedirectURIs: []string{spaRedirectURI},
		GrantTypes:   []string{oauthkit.GrantTypeImplicit},
		Scopes:       []string{scopePets}, DefaultScopes: []string{scopePets},
	}}
}

// newApp returns the authorization server, its sign-in page and the API it
// protects, on one mux.
func newApp(cfg config) (http.Handler, error) {
	for _, c := range cfg.Clients {
		if err := c.Validate(); err != nil {
			return nil, err
		}
		if c.Public() && c.AllowsGrant(oauthkit.GrantTypeRefreshToken) {
			// RFC 9700 §4.14.2: a public client's refresh tokens need
			// rotation (or DPoP), which this server turns off.
			return nil, fmt.Errorf("public client %s may not have refresh tokens: rotation is off", c.ID)
		}
	}
	if cfg.Users == nil {
		cfg.Users = demoUsers
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Key == nil {
		var err error
		if cfg.Key, err = jwt.GenerateKey(jwt.RS256); err != nil {
			return nil, err
		}
	}
	if cfg.Key.Algorithm() != jwt.RS256 {
		return nil, fmt.Errorf("the signing key is %s, want RS256", cfg.Key.Algorithm())
	}
	keys, err := jwt.NewKeySet(cfg.Key)
	if err != nil {
		return nil, err
	}
	apiURL := cfg.Issuer + "/api"
	a := &app{users: cfg.Users, secure: strings.HasPrefix(cfg.Issuer, "https://"), sessions: map[string]session{}}
	store := memory.NewStore(cfg.Clients...)
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer: cfg.Issuer,
		Endpoints: oauthkit.Endpoints{
			Authorization: cfg.Issuer + pathAuthorize,
			Token:         cfg.Issuer + pathToken,
			Revocation:    cfg.Issuer + pathRevoke,
			JWKS:          cfg.Issuer + pathJWKS,
		},
		Clients: store, Codes: store, Tokens: store,
		AccessTokens:    &jwt.AccessTokens{Keys: keys, DefaultAudience: []string{apiURL}},
		Authorizer:      a,
		Issuance:        oauthkit.IssuanceFunc(a.issue),
		ScopesSupported: []string{scopePets},
		// The document's choices; README.md says what each gives up.
		AllowImplicitGrant:                 true,
		PKCEOptionalForConfidentialClients: true,
		DisableRefreshTokenRotation:        true,
		Logger:                             cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	// The API checks the JWTs on its own, with the published keys, as a
	// separate service would.
	jwks, err := bearer.NewJWKS(bearer.JWKSConfig{
		URL: cfg.Issuer + pathJWKS, Issuer: cfg.Issuer, Audience: apiURL,
		Algorithms: []string{jwt.RS256}, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	guard, err := bearer.New(bearer.Config{Validator: jwks, Realm: "api", Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("GET "+pathAuthorize, srv.AuthorizeHandler()) // "only supports HTTPS GET"
	mux.Handle(pathToken, srv.TokenHandler())                // POST only: it answers other methods itself
	mux.Handle(pathRevoke, srv.RevocationHandler())
	mux.Handle("GET "+pathJWKS, keys.JWKSHandler())
	mux.Handle("GET "+pathMetadata, srv.MetadataHandler())
	mux.HandleFunc(pathLogin, a.login)
	mux.Handle("GET "+pathAPI, guard.Wrap(http.HandlerFunc(pets), scopePets))
	return mux, nil
}

// user is a user of the directory.
type user struct {
	Subject      string // stable and opaque: the tokens' sub
	Username     string // what the user signs in with: the tokens' username
	PasswordHash string // from oauthkit.HashLowEntropySecret
}

// directory is the host's user directory, such as a database.
type directory interface {
	// byUsername returns the user with username, or nil if there is none.
	byUsername(ctx context.Context, username string) (*user, error)
	// bySubject returns the user with subject sub, or nil if there is none.
	bySubject(ctx context.Context, sub string) (*user, error)
}

// users is a directory in memory.
type users []*user

func (us users) byUsername(_ context.Context, username string) (*user, error) {
	for _, u := range us {
		if u.Username == username {
			return u, nil
		}
	}
	return nil, nil
}

func (us users) bySubject(_ context.Context, sub string) (*user, error) {
	for _, u := range us {
		if u.Subject == sub {
			return u, nil
		}
	}
	return nil, nil
}

// demoUsers holds alice, password wonderland.
var demoUsers = func() users {
	hash, err := oauthkit.HashLowEntropySecret("wonderland")
	if err != nil {
		panic(err)
	}
	return users{{Subject: "822415d3-fc7f-4934-9e55-9dec65e72148", Username: "alice", PasswordHash: hash}}
}()

// app is the host's part: sign-in sessions, the Authorizer and the
// issuance hook.
type app struct {
	users  directory
	secure bool // cookies only over https

	mu       sync.Mutex
	sessions map[string]session // by session ID, the cookie's value
}

// session is a signed-in user.
type session struct {
	subject  string
	authTime time.Time
}

const sessionCookie = "session"

// Authorize lets the signed-in user's request through: the clients are the
// API product's own, so there is no consent page. Without a session, the
// user goes to the sign-in page first.
func (a *app) Authorize(w http.ResponseWriter, r *http.Request, req *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
	s, ok := a.session(r)
	if ok {
		u, err := a.users.bySubject(r.Context(), s.subject)
		if err != nil {
			return nil, err // redirected to the client as server_error
		}
		if u != nil {
			return &oauthkit.Consent{Subject: u.Subject, AuthTime: s.authTime}, nil
		}
	}
	http.Redirect(w, r, pathLogin+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
	return nil, oauthkit.ErrResponseWritten
}

// issue adds the document's claims to every access token: token_use and
// the user's username (scope and client_id are the library's, RFC 9068).
func (a *app) issue(ctx context.Context, iss *oauthkit.Issuance) error {
	u, err := a.users.bySubject(ctx, iss.Subject)
	switch {
	case err != nil:
		return err // server_error
	case u == nil:
		return oauthkit.ErrInvalidGrant.WithDescription("the user no longer exists")
	}
	iss.AccessTokenClaims = map[string]any{"token_use": "access", "username": u.Username}
	return nil
}

func (a *app) session(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[c.Value]
	return s, ok
}

// login shows the sign-in form and signs the user in, then returns to
// next, which must be a request to the authorization endpoint: anything
// else would make the page an open redirector.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	next := r.FormValue("next")
	if !safeNext(next) {
		http.Error(w, "bad next parameter", http.StatusBadRequest)
		return
	}
	message := ""
	if r.Method == http.MethodPost {
		u, err := a.verifyPassword(r.Context(), r.PostFormValue("username"), r.PostFormValue("password"))
		if err != nil {
			http.Error(w, "try again in a moment", http.StatusServiceUnavailable)
			return
		}
		if u != nil {
			id := rand.Text()
			a.mu.Lock()
			a.sessions[id] = session{subject: u.Subject, authTime: time.Now()}
			a.mu.Unlock()
			http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		message = "<p>Wrong username or password.</p>"
	}
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	fmt.Fprintf(w, `<!DOCTYPE html><title>Sign in</title>%s<form method="post"><input type="hidden" name="next" value="%s">
<input name="username" placeholder="alice"> <input name="password" type="password"> <button>Sign in</button></form>`,
		message, html.EscapeString(next))
}

// safeNext reports whether next is a path of the authorization endpoint on
// this server.
func safeNext(next string) bool {
	u, err := url.Parse(next)
	return err == nil && u.Scheme == "" && u.Host == "" && u.Path == pathAuthorize && strings.HasPrefix(next, pathAuthorize)
}

// verifyPassword returns the user whose username and password these are,
// or nil; an unknown user takes as long as a wrong password.
func (a *app) verifyPassword(ctx context.Context, username, password string) (*user, error) {
	u, err := a.users.byUsername(ctx, username)
	if err != nil {
		return nil, err
	}
	hash := demoUsers[0].PasswordHash // any hash of the same cost
	if u != nil {
		hash = u.PasswordHash
	}
	ok, err := oauthkit.VerifySecret(ctx, hash, password)
	if err != nil || !ok || u == nil {
		return nil, err
	}
	return u, nil
}

// pets is the API: it answers only with a valid token granting api/pets.
func pets(w http.ResponseWriter, r *http.Request) {
	c, _ := bearer.FromContext(r.Context())
	sub, ok := c.ResourceOwner()
	var username string
	if !ok || json.Unmarshal(c.Extra["username"], &username) != nil {
		http.Error(w, "a user's token is required", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"sub": sub, "username": username, "client_id": c.ClientID, "pets": []string{"Rex", "Tom"}})
}
