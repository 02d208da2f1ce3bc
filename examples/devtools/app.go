package main

import (
	"context"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/jwt"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// Paths under the issuer.
const (
	pathAuthorize    = "/v1/authorize"
	pathToken        = "/v1/token"
	pathConfirmation = "/v1/sessions/confirmation" // the cross-device client's redirect URI: shows the code
	pathJWKS         = "/.well-known/jwks.json"
	pathMetadata     = "/.well-known/oauth-authorization-server"
	// sameDeviceRedirect is the same-device client's redirect URI: the tool
	// listens on a loopback port of its choice (RFC 8252 §7.3).
	sameDeviceRedirect = "http://127.0.0.1/oauth/callback"
)

// config is what newApp needs.
type config struct {
	// Issuer is the issuer identifier and the base of every URL.
	Issuer string
	// RateLimiter limits token requests; nil means 30 at once, then one a
	// second, per source address.
	RateLimiter oauthkit.RateLimiter
	// Rand is the source of session tokens; nil means crypto/rand.
	Rand   io.Reader
	Logger *slog.Logger
}

// app is the sign-in service.
type app struct {
	http.Handler
	srv    *oauthkit.Server
	store  *memory.Store
	minter minter
}

// newApp returns the sign-in service: the code flow with PKCE for the two
// public clients of the document, at /v1/authorize (with a login page) and
// /v1/token (the document's JSON API, DPoP proofs required).
func newApp(cfg config) (*app, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RateLimiter == nil {
		cfg.RateLimiter = perAddress{&oauthkit.TokenBucket{Rate: 1, Burst: 30}}
	}
	confirmation := cfg.Issuer + pathConfirmation
	devtools := func(id, redirectURI string) *oauthkit.Client {
		return &oauthkit.Client{
			ID: id, RedirectURIs: []string{redirectURI}, Scopes: []string{oauthkit.ScopeOpenID},
			GrantTypes: []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken},
			// Every token request carries a proof, whose key the refresh
			// token is bound to (cnf.jkt).
			DPoPBoundAccessTokens: true,
		}
	}
	store := memory.NewStore(devtools(clientSameDevice, sameDeviceRedirect), devtools(clientCrossDevice, confirmation))
	key, err := jwt.GenerateKey("ES256")
	if err != nil {
		return nil, err
	}
	keys, err := jwt.NewKeySet(key)
	if err != nil {
		return nil, err
	}
	m, err := newMinter(cfg.Rand)
	if err != nil {
		return nil, err
	}
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer: cfg.Issuer,
		Endpoints: oauthkit.Endpoints{
			Authorization: cfg.Issuer + pathAuthorize, Token: cfg.Issuer + pathToken, JWKS: cfg.Issuer + pathJWKS,
		},
		Clients: store, Codes: store, Tokens: store, ReplayCache: store,
		IDTokens:            keys,
		Authorizer:          oauthkit.AuthorizerFunc(authorize),
		DPoP:                &oauthkit.DPoPConfig{},
		Codecs:              oauthkit.Codecs{Token: newAPI()},
		Issuance:            m,
		RateLimiter:         cfg.RateLimiter,
		AccessTokenLifetime: 15 * time.Minute, // expiresIn: at most 900
		Logger:              cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(pathAuthorize, srv.AuthorizeHandler())
	mux.Handle(pathToken, srv.TokenHandler()) // answers other methods with 405 itself
	mux.Handle("GET "+pathJWKS, keys.JWKSHandler())
	mux.Handle("GET "+pathMetadata, srv.MetadataHandler())
	mux.HandleFunc("GET "+pathConfirmation, confirm)
	return &app{Handler: mux, srv: srv, store: store, minter: m}, nil
}

// perAddress limits token requests per source address rather than per
// client: the two client IDs are public, shared by every copy of the tool,
// so that a bucket per client would let one caller starve all the others.
// Behind a proxy, set RemoteAddr to the caller's address first.
type perAddress struct{ *oauthkit.TokenBucket }

// Allow asks the bucket of the request's source address.
func (l perAddress) Allow(ctx context.Context, key oauthkit.RateLimitKey) (bool, time.Duration) {
	key.ClientID = "" // TokenBucket then keys on the source host
	return l.TokenBucket.Allow(ctx, key)
}

// users are the demo users and their password hashes.
var users = func() map[string]string {
	hash, err := oauthkit.HashLowEntropySecret("wonderland")
	if err != nil {
		panic(err)
	}
	return map[string]string{"alice": hash}
}()

// authorize signs the user in with the login page, which posts back to the
// authorization endpoint with the original parameters. A real service
// would keep a session and ask for consent.
func authorize(w http.ResponseWriter, r *http.Request, req *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
	user, failed := req.Form.Get("username"), false
	if r.Method == http.MethodPost && user != "" {
		hash, known := users[user]
		if !known {
			hash = users["alice"] // an unknown user takes as long
		}
		ok, err := oauthkit.VerifySecret(r.Context(), hash, req.Form.Get("password"))
		switch {
		case err != nil:
			return nil, err
		case ok && known:
			return &oauthkit.Consent{Subject: user, AuthTime: time.Now()}, nil
		}
		failed = true
	}
	if slices.Contains(req.Prompt, "none") {
		return nil, oauthkit.ErrLoginRequired
	}
	hidden := make(map[string][]string)
	for name, values := range req.Form {
		if name != "username" && name != "password" {
			hidden[name] = values
		}
	}
	w.Header().Set("Content-Security-Policy", "frame-ancestors 'none'")
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	loginPage.Execute(w, map[string]any{"Action": pathAuthorize, "Hidden": hidden, "Failed": failed, "Client": req.Client.ID})
	return nil, oauthkit.ErrResponseWritten
}

var loginPage = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<title>Sign in</title>
<p>Sign in to allow {{.Client}}.{{if .Failed}} <strong>Wrong user name or password.</strong>{{end}}
<form method="post" action="{{.Action}}">
{{range $k, $vs := .Hidden}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">
{{end}}{{end}}<input name="username" placeholder="alice"> <input name="password" type="password"> <button>Sign in</button>
</form>
`))

// confirm is the cross-device client's redirect URI: it shows the code
// for the user to paste into the tool on the other device.
func confirm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	confirmationPage.Execute(w, r.URL.Query())
}

var confirmationPage = template.Must(template.New("confirmation").Parse(`<!DOCTYPE html>
<title>Signed in</title>
{{with .Get "code"}}<p>Paste this code into your tool: <code id="code">{{.}}</code>{{else}}<p>Sign-in failed: {{.Get "error"}}{{end}}
`))
