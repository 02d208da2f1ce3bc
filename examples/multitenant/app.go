package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/jwt"
	"github.com/oauthkit/oauthkit/storage/tenant"
)

// Paths under each tenant's issuer, {base}/{tenant}. The document's two
// endpoints are also served without their trailing slash.
const (
	pathAuth  = "/oauth2/v1/auth/"
	pathToken = "/oauth2/v1/token/"
	pathKeys  = "/oauth2/v1/keys"
	pathMe    = "/api/v1/me"

	clientID    = "webapp" // each tenant's demo client, with the same ID and secret at both
	redirectURI = "https://app.example.com/callback"
)

// demoTenants are the hub's tenants: each has users of its own (alice at
// acme is not alice at globex) and its own access-token lifetime.
var demoTenants = []struct {
	id       string
	lifetime time.Duration
	users    []demoUser
}{
	{"acme", 10 * time.Minute, []demoUser{
		{"alice", "wonderland", []string{"profile", "orders"}},
		{"bob", "builder", []string{"profile"}},
	}},
	{"globex", time.Hour, []demoUser{
		{"alice", "looking-glass", []string{"profile", "orders"}},
	}},
}

// demoUser is a user, its password and its rights: the scopes it may
// grant to apps.
type demoUser struct {
	name, password string
	rights         []string
}

// config is what newApp needs.
type config struct {
	Base          string       // the hub's URL; a tenant's issuer is Base + "/" + its ID
	Store         tenant.Store // shared by every tenant, each through its view
	ClientSecret  string       // of each tenant's demo client
	AdminPassword string       // of user admin at the admin routes
	Logger        *slog.Logger // nil means slog.Default()
}

// hub is the identity hub: the tenants' servers, and what the host keeps of
// each tenant beside them, on one mux.
type hub struct {
	*http.ServeMux
	tenants       *oauthkit.Tenants
	byID          map[string]*hubTenant
	adminPassword string
	log           *slog.Logger
}

// hubTenant is one tenant's view of the shared store, its users and its
// API.
type hubTenant struct {
	view  *tenant.View
	users *directory
	api   http.Handler
}

// newApp returns the hub on one mux: for each tenant its authorization and
// token endpoints, keys, metadata and /api/v1/me, and the admin routes.
func newApp(ctx context.Context, cfg config) (*hub, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	tenants, err := oauthkit.NewTenants(oauthkit.TenantsConfig{
		Tenant: func(r *http.Request) string { return r.PathValue("tenant") },
		Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	h := &hub{tenants: tenants, byID: map[string]*hubTenant{}, adminPassword: cfg.AdminPassword, log: cfg.Logger}
	secretHash, err := oauthkit.HashSecret(cfg.ClientSecret)
	if err != nil {
		return nil, err
	}
	for _, d := range demoTenants {
		t := &hubTenant{}
		if t.view, err = tenant.Scope(cfg.Store, d.id); err != nil {
			return nil, err
		}
		if t.users, err = newDirectory(d.users); err != nil {
			return nil, err
		}
		err = putClient(ctx, t.view, &oauthkit.Client{
			ID: clientID, SecretHash: secretHash, RedirectURIs: []string{redirectURI},
			GrantTypes: []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken},
			Scopes:     []string{"profile", "orders"},
		})
		if err != nil {
			return nil, err
		}
		key, err := jwt.GenerateKey("ES256") // per tenant, new at each start
		if err != nil {
			return nil, err
		}
		keys, err := jwt.NewKeySet(key)
		if err != nil {
			return nil, err
		}
		issuer := cfg.Base + "/" + d.id
		srv, err := oauthkit.New(oauthkit.Config{
			Issuer:    issuer,
			Endpoints: oauthkit.Endpoints{Authorization: issuer + pathAuth, Token: issuer + pathToken, JWKS: issuer + pathKeys},
			Clients:   t.view, Codes: t.view, Tokens: t.view,
			AccessTokens:        &jwt.AccessTokens{Keys: keys},
			AccessTokenLifetime: d.lifetime,
			Authorizer:          oauthkit.AuthorizerFunc(t.authorize),
			RefreshPolicy:       oauthkit.RefreshPolicyFunc(t.checkRefresh),
			Logger:              cfg.Logger,
		})
		if err != nil {
			return nil, err
		}
		guard, err := bearer.New(bearer.Config{Validator: bearer.Local(srv, ""), Realm: d.id, Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
		t.api = guard.Wrap(http.HandlerFunc(me), "profile")
		tenants.Set(d.id, srv)
		h.byID[d.id] = t
	}

	mux := http.NewServeMux()
	h.ServeMux = mux
	auth := tenants.Handler((*oauthkit.Server).AuthorizeHandler)
	token := tenants.Handler((*oauthkit.Server).TokenHandler)
	mux.Handle("/{tenant}"+pathAuth+"{$}", auth)
	mux.Handle("/{tenant}"+strings.TrimSuffix(pathAuth, "/"), auth)
	mux.Handle("/{tenant}"+pathToken+"{$}", token)
	mux.Handle("/{tenant}"+strings.TrimSuffix(pathToken, "/"), token)
	mux.Handle("GET /{tenant}"+pathKeys, tenants.Handler((*oauthkit.Server).JWKSHandler))
	tenants.HandleMetadata(mux, "/{tenant}")
	mux.Handle("/{tenant}"+pathMe, h.tenant(func(t *hubTenant, w http.ResponseWriter, r *http.Request) {
		t.api.ServeHTTP(w, r)
	}))
	mux.Handle("POST /{tenant}/admin/users/{user}/block", h.admin(h.block))
	mux.Handle("PUT /{tenant}/admin/users/{user}/rights", h.admin(h.setRights))
	return h, nil
}

// putClient stores c, or updates it if a client of its ID is stored
// already: a PostgreSQL store keeps the clients of the last run.
func putClient(ctx context.Context, v *tenant.View, c *oauthkit.Client) error {
	err := v.CreateClient(ctx, c)
	if errors.Is(err, oauthkit.ErrExists) {
		err = v.UpdateClient(ctx, c)
	}
	return err
}

// tenant serves a request with the hub's tenant named by its path, or
// answers 404.
func (h *hub) tenant(f func(*hubTenant, http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := h.byID[r.PathValue("tenant")]
		if t == nil {
			http.NotFound(w, r)
			return
		}
		f(t, w, r)
	})
}

// me is the tenant's API: who the access token is for.
func me(w http.ResponseWriter, r *http.Request) {
	c, _ := bearer.FromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"iss": c.Issuer, "sub": c.Subject, "client_id": c.ClientID, "scope": strings.Join(c.Scope, " ")})
}

// authorize signs the user in with the login page, which posts back to the
// authorization endpoint, and grants the requested scopes the user holds.
// Signing in is consenting: the demo has no separate consent page.
func (t *hubTenant) authorize(w http.ResponseWriter, r *http.Request, req *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
	if r.Method != http.MethodPost || !req.Form.Has("username") {
		return loginPage(w, r, req, "")
	}
	name := req.Form.Get("username")
	rights, err := t.users.signIn(r.Context(), name, req.Form.Get("password"))
	switch {
	case errors.Is(err, oauthkit.ErrInvalidCredentials):
		return loginPage(w, r, req, "Wrong username or password.")
	case errors.Is(err, errBlocked):
		return nil, oauthkit.ErrAccessDenied.WithDescription("the user is blocked")
	case err != nil:
		return nil, err // a fault: server_error, redirected to the client
	}
	scope := intersect(req.Scope, rights)
	if len(scope) == 0 {
		return nil, oauthkit.ErrAccessDenied.WithDescription("the user holds none of the requested scopes")
	}
	return &oauthkit.Consent{Subject: name, Scope: scope, AuthTime: time.Now()}, nil
}

// checkRefresh is the tenant's Config.RefreshPolicy: a refresh token works
// while the user is offline, as long as the user is not blocked, and
// grants only the scopes the user still holds.
func (t *hubTenant) checkRefresh(_ context.Context, tok *oauthkit.Token, scope []string) ([]string, error) {
	rights, ok := t.users.active(tok.Subject)
	if !ok {
		return nil, oauthkit.ErrInvalidGrant.WithDescription("the user is blocked")
	}
	if scope = intersect(scope, rights); len(scope) == 0 {
		return nil, oauthkit.ErrInvalidGrant.WithDescription("the user no longer holds any of the token's scopes")
	}
	return scope, nil
}

var loginTemplate = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign in</title></head><body>
<p>Sign in to let <b>{{.Client}}</b> use: {{.Scope}}</p>{{with .Message}}<p>{{.}}</p>{{end}}
<form method="post" action="{{.Action}}">
{{range $k, $vs := .Hidden}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">
{{end}}{{end}}<input name="username"> <input name="password" type="password"> <button>Sign in and allow</button>
</form></body></html>
`))

// loginPage shows the login form, carrying the authorization request's
// parameters back to the endpoint.
func loginPage(w http.ResponseWriter, r *http.Request, req *oauthkit.AuthorizeRequest, message string) (*oauthkit.Consent, error) {
	hidden := url.Values(maps.Clone(req.Form))
	hidden.Del("username")
	hidden.Del("password")
	h := w.Header()
	h.Set("Content-Type", "text/html;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY") // RFC 6749 §10.13: no clickjacking of the login
	err := loginTemplate.Execute(w, map[string]any{
		"Client": req.Client.ID, "Scope": strings.Join(req.Scope, " "), "Message": message, "Action": r.URL.Path, "Hidden": hidden,
	})
	if err != nil {
		return nil, err
	}
	return nil, oauthkit.ErrResponseWritten
}

// admin serves the admin routes to user admin with the admin password,
// by HTTP Basic, for a tenant of the hub.
func (h *hub) admin(f func(*hubTenant, http.ResponseWriter, *http.Request)) http.Handler {
	return h.tenant(func(t *hubTenant, w http.ResponseWriter, r *http.Request) {
		user, password, _ := r.BasicAuth()
		if subtle.ConstantTimeCompare([]byte(user+":"+password), []byte("admin:"+h.adminPassword)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="identity hub admin", charset="UTF-8"`)
			http.Error(w, "sign in as admin", http.StatusUnauthorized)
			return
		}
		f(t, w, r)
	})
}

// block blocks a user of the tenant and revokes every grant the user gave:
// the user's refresh tokens, access tokens and codes stop working at once.
// The refresh policy refuses a blocked user too, whatever the store holds.
func (h *hub) block(t *hubTenant, w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("user")
	if !t.users.update(name, func(u *user) { u.blocked = true }) {
		http.NotFound(w, r)
		return
	}
	if err := t.view.RevokeSubject(r.Context(), name); err != nil {
		h.log.ErrorContext(r.Context(), "revoking a blocked user's grants", "tenant", t.view.ID(), "error", err)
		http.Error(w, "the user is blocked, but their tokens could not be revoked; try again", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// setRights replaces a user's rights with the form's scope: the user's
// refresh tokens grant no more than that from their next refresh.
func (h *hub) setRights(t *hubTenant, w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil || !r.PostForm.Has("scope") {
		http.Error(w, "send the rights as scope=…, form-encoded", http.StatusBadRequest)
		return
	}
	rights := strings.Fields(r.PostForm.Get("scope"))
	if !t.users.update(r.PathValue("user"), func(u *user) { u.rights = rights }) {
		http.NotFound(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// intersect returns the scopes of scope that are in rights.
func intersect(scope, rights []string) []string {
	var out []string
	for _, s := range scope {
		if slices.Contains(rights, s) {
			out = append(out, s)
		}
	}
	return out
}

// errBlocked is what signIn returns for a blocked user's right password.
var errBlocked = errors.New("the user is blocked")

// directory is a tenant's users, the host's own: kept in memory here, in a
// real hub in its database. It is safe for concurrent use.
type directory struct {
	mu    sync.Mutex
	users map[string]*user
	dummy string // a hash to check unknown users' passwords against
}

// user is a user of a tenant.
type user struct {
	hash    string
	rights  []string
	blocked bool
}

// newDirectory hashes the passwords of users.
func newDirectory(users []demoUser) (*directory, error) {
	d := &directory{users: map[string]*user{}}
	for _, u := range users {
		hash, err := oauthkit.HashLowEntropySecret(u.password)
		if err != nil {
			return nil, err
		}
		d.users[u.name] = &user{hash: hash, rights: u.rights}
		d.dummy = hash
	}
	return d, nil
}

// signIn checks a user's password and returns the user's rights; an
// unknown user costs as much as a wrong password.
func (d *directory) signIn(ctx context.Context, name, password string) ([]string, error) {
	d.mu.Lock()
	u, known := d.users[name]
	hash := d.dummy
	if known {
		hash = u.hash
	}
	d.mu.Unlock()
	ok, err := oauthkit.VerifySecret(ctx, hash, password)
	switch {
	case err != nil:
		return nil, err
	case !ok || !known:
		return nil, oauthkit.ErrInvalidCredentials
	}
	rights, active := d.active(name)
	if !active {
		return nil, errBlocked
	}
	return rights, nil
}

// active returns the rights of a user who is known and not blocked.
func (d *directory) active(name string) ([]string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u := d.users[name]
	if u == nil || u.blocked {
		return nil, false
	}
	return u.rights, true
}

// update changes a user with f; false if there is no such user.
func (d *directory) update(name string, f func(*user)) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	u := d.users[name]
	if u != nil {
		f(u)
	}
	return u != nil
}
