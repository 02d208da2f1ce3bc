// Command minimal is the README's wiring as a complete program: an
// authorization server added to a plain net/http app with its own login.
//
//	go run ./examples/minimal            # listens on 127.0.0.1:8080
//
// It registers one confidential client, "web", whose secret it prints at
// start, and one user, alice with password wonderland. Its login is a toy (a
// cookie holding the user name, no CSRF protection): the point is where a
// real app's login plugs in. See examples/server for a complete one.
package main

import (
	"context"
	"flag"
	"fmt"
	"html"
	"log"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	secret, hash, err := oauthkit.GenerateSecret(nil)
	if err != nil {
		log.Fatal(err)
	}
	issuer := "http://" + *addr
	h, err := newApp(issuer, hash)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("authorization server at %s\nclient web, secret %s, redirect URI %s\nuser alice, password wonderland\n",
		issuer, secret, redirectURI)
	log.Fatal(http.ListenAndServe(*addr, h))
}

// redirectURI is the demo client's registered redirection URI.
const redirectURI = "http://127.0.0.1:9999/callback"

// newApp returns the app's handler: the authorization server's endpoints on
// the app's own mux, beside its login page.
func newApp(issuer, secretHash string) (http.Handler, error) {
	store := memory.NewStore(&oauthkit.Client{
		ID:           "web",
		SecretHash:   secretHash, // from oauthkit.GenerateSecret, or HashLowEntropySecret for a chosen one
		RedirectURIs: []string{redirectURI},
		GrantTypes:   []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken},
		Scopes:       []string{"read", "write"},
	})
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:  issuer,
		Clients: store, Codes: store, Tokens: store,
		Endpoints: oauthkit.Endpoints{
			Revocation:    issuer + "/revoke",
			Introspection: issuer + "/introspect",
		},
		Authorizer: oauthkit.AuthorizerFunc(authorize),
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux() // your existing mux
	mux.Handle("/authorize", srv.AuthorizeHandler())
	mux.Handle("POST /token", srv.TokenHandler())
	mux.Handle("POST /revoke", srv.RevocationHandler())
	mux.Handle("POST /introspect", srv.IntrospectionHandler())
	mux.Handle("GET /.well-known/oauth-authorization-server", srv.MetadataHandler())
	mux.HandleFunc("/login", login)
	return mux, nil
}

// authorize is the app's part of the authorization endpoint: the signed-in
// user consents; with no one signed in, the user is sent to the login page,
// unless the client asked for no interaction (prompt=none).
func authorize(w http.ResponseWriter, r *http.Request, req *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
	user, ok := currentUser(r)
	switch {
	case ok:
		return &oauthkit.Consent{Subject: user, AuthTime: time.Now()}, nil
	case slices.Contains(strings.Fields(req.Params.Get("prompt")), "none"):
		return nil, oauthkit.ErrLoginRequired
	default:
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
		return nil, oauthkit.ErrResponseWritten
	}
}

// users are the app's users and their passwords, as hashes.
var users = func() map[string]string {
	hash, err := oauthkit.HashLowEntropySecret("wonderland")
	if err != nil {
		panic(err)
	}
	return map[string]string{"alice": hash}
}()

// currentUser is the app's session lookup.
func currentUser(r *http.Request) (string, bool) {
	c, err := r.Cookie("user")
	if err != nil || users[c.Value] == "" {
		return "", false
	}
	return c.Value, true
}

// login shows the login form and signs the user in, then returns to next,
// which must be a request to the authorization endpoint: anything else
// would make the page an open redirector.
func login(w http.ResponseWriter, r *http.Request) {
	next := r.FormValue("next")
	if !safeNext(next) {
		http.Error(w, "bad next parameter", http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodPost {
		user := r.PostFormValue("username")
		ok, err := verifyPassword(r.Context(), user, r.PostFormValue("password"))
		switch {
		case err != nil:
			http.Error(w, "try again in a moment", http.StatusServiceUnavailable)
			return
		case ok:
			http.SetCookie(w, &http.Cookie{Name: "user", Value: user, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
	}
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	fmt.Fprintf(w, `<form method="post"><input type="hidden" name="next" value="%s">
<input name="username" placeholder="alice"> <input name="password" type="password"> <button>Sign in</button></form>`,
		html.EscapeString(next))
}

// safeNext reports whether next is a path of the authorization endpoint on
// this server.
func safeNext(next string) bool {
	u, err := url.Parse(next)
	return err == nil && u.Scheme == "" && u.Host == "" && u.Path == "/authorize" && !strings.HasPrefix(next, "//")
}

// verifyPassword checks a user's password; an unknown user takes as long.
func verifyPassword(ctx context.Context, user, password string) (bool, error) {
	hash, known := users[user]
	if !known {
		hash = users["alice"]
	}
	ok, err := oauthkit.VerifySecret(ctx, hash, password)
	return ok && known, err
}
