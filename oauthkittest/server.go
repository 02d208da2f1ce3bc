// Package oauthkittest runs an oauthkit authorization server for a host's
// unit tests, in the spirit of net/http/httptest: one call starts it on a
// loopback httptest.Server with in-memory stores and two registered clients,
// and a few more get tokens from it.
//
//	as := oauthkittest.NewServer(t)                    // closed by t.Cleanup
//	tok := as.AuthorizationCode(t, as.Public, "read")  // code + PKCE, through the real endpoints
//	tok = as.Refresh(t, as.Public, tok)                // refresh_token
//	tok = as.ClientCredentials(t, as.Confidential)     // client_credentials
//	tok = as.Mint(t, oauthkittest.Grant{Subject: "alice", Audience: []string{"https://api.example.com"}})
//	validator := bearer.Local(as.Server, "https://api.example.com")
//
// The server's clock stands still until the test moves it (Server.Clock),
// and its randomness is seeded from the test's name, so that a test sees
// the same secrets and tokens on every run. Nothing here is fit for
// production: the tokens are predictable.
package oauthkittest

import (
	"crypto/sha256"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// DefaultSubject is the resource owner as whom a Server's default
// Authorizer approves every authorization request.
const DefaultSubject = "alice"

// defaultScopes are the scopes the registered clients may request unless
// WithScopes says otherwise.
var defaultScopes = []string{"read", "write"}

// Paths at which a Server mounts the endpoints, below its URL.
const (
	authorizationPath = "/authorize"
	tokenPath         = "/token"
	revocationPath    = "/revoke"
	introspectionPath = "/introspect"
	userInfoPath      = "/userinfo"
	metadataPath      = "/.well-known/oauth-authorization-server"
)

// Server is an oauthkit authorization server listening on a loopback
// httptest.Server, with in-memory stores. Create it with NewServer. Its
// methods are safe for concurrent use; those that can fail take the calling
// test's testing.TB, so that a Server shared by subtests reports each
// failure in the subtest that met it.
type Server struct {
	// Server is the authorization server, for in-process resource servers
	// (bearer.Local) and direct calls such as ValidateAccessToken.
	*oauthkit.Server

	// URL is the server's base URL, such as http://127.0.0.1:40123, and its
	// issuer identifier.
	URL string
	// HTTPServer is the listening server; its Client talks to it.
	HTTPServer *httptest.Server
	// Mux routes requests to the endpoints: /authorize, /token, /revoke,
	// /introspect, /userinfo, and the metadata at
	// /.well-known/oauth-authorization-server and
	// /.well-known/openid-configuration. A test may mount more on it, such
	// as a JWKS handler.
	Mux *http.ServeMux
	// Store holds the clients, codes and tokens; Store.Put registers more
	// clients.
	Store *memory.Store
	// Clock is the server's clock. It reads the time NewServer was called,
	// to the second, until the test moves it: code that checks expiry with
	// time.Now, such as package bearer's middleware or golang.org/x/oauth2,
	// agrees with it until then.
	Clock *Clock

	// Confidential is a registered confidential client with a generated
	// secret, for the authorization_code, refresh_token and
	// client_credentials grants; it authenticates with client_secret_basic
	// or client_secret_post.
	Confidential Client
	// Public is a registered public (native) client with no secret, for the
	// authorization_code and refresh_token grants.
	Public Client

	rand io.Reader
}

// Client is a registered client as a test uses it: with its plain secret.
type Client struct {
	// ID is the client_id.
	ID string
	// Secret is the client secret, or empty for a public client.
	Secret string
	// RedirectURI is the redirection URI the flows use, or empty to let the
	// server choose the client's only registered one.
	RedirectURI string
}

// An Option changes how NewServer sets up a Server.
type Option func(*options)

type options struct {
	configure []func(*oauthkit.Config)
	clients   []*oauthkit.Client
	scopes    []string
}

// WithConfig lets f change the oauthkit.Config before the server is
// created: its lifetimes, Authorizer, token formats, grants and so on.
// Config.Issuer, Now and Rand are set to the Server's URL, Clock and
// deterministic randomness when f runs, and Clients, Codes and Tokens to
// its Store; replacing them gives up what they provide. The endpoints stay mounted at their paths whatever
// Config.Endpoints says. Options apply in order.
func WithConfig(f func(*oauthkit.Config)) Option {
	return func(o *options) { o.configure = append(o.configure, f) }
}

// WithClients registers more clients, such as a resource server that calls
// the introspection endpoint. Their secrets are the test's to hash
// (oauthkit.GenerateSecret).
func WithClients(clients ...*oauthkit.Client) Option {
	return func(o *options) { o.clients = append(o.clients, clients...) }
}

// WithScopes sets the scopes that the Confidential and Public clients may
// request, instead of read and write, and openid when a WithConfig turns
// OpenID Connect on (sets Config.IDTokens).
func WithScopes(scopes ...string) Option {
	return func(o *options) { o.scopes = slices.Clone(scopes) }
}

// NewServer starts a Server for the test t and stops it when t ends. Its
// default Authorizer approves every request as DefaultSubject; the
// client_credentials grant is on. Failures are reported with t.Fatal.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	scopes := o.scopes
	if scopes == nil {
		scopes = slices.Clone(defaultScopes)
	}

	mux := http.NewServeMux()
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	s := &Server{
		URL:        hs.URL,
		HTTPServer: hs,
		Mux:        mux,
		Clock:      &Clock{now: time.Now().UTC().Truncate(time.Second)},
		Public:     Client{ID: "public", RedirectURI: "http://127.0.0.1/callback"},
		rand:       newRand(t.Name()),
	}
	secret, hash, err := oauthkit.GenerateSecret(s.rand)
	if err != nil {
		t.Fatalf("oauthkittest: generating the client secret: %v", err)
	}
	s.Confidential = Client{ID: "confidential", Secret: secret, RedirectURI: "https://client.example.com/callback"}
	s.Store = memory.NewStore()

	cfg := oauthkit.Config{
		Issuer: s.URL,
		Endpoints: oauthkit.Endpoints{
			Authorization: s.URL + authorizationPath,
			Token:         s.URL + tokenPath,
			Revocation:    s.URL + revocationPath,
			Introspection: s.URL + introspectionPath,
			UserInfo:      s.URL + userInfoPath,
		},
		Clients:         s.Store,
		Codes:           s.Store,
		Tokens:          s.Store,
		Authorizer:      Approve(DefaultSubject),
		Grants:          []oauthkit.GrantHandler{grants.ClientCredentials{}},
		ScopesSupported: slices.Clone(scopes),
		Now:             s.Clock.Now,
		Rand:            s.rand,
		Logger:          slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
	for _, f := range o.configure {
		f(&cfg)
	}
	if o.scopes == nil && cfg.IDTokens != nil {
		scopes = append([]string{oauthkit.ScopeOpenID}, scopes...)
	}
	s.Store.Put(&oauthkit.Client{
		ID:           s.Confidential.ID,
		SecretHash:   hash,
		RedirectURIs: []string{s.Confidential.RedirectURI},
		GrantTypes:   []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken, oauthkit.GrantTypeClientCredentials},
		Scopes:       scopes,
	})
	s.Store.Put(&oauthkit.Client{
		ID:           s.Public.ID,
		AuthMethod:   oauthkit.AuthMethodNone,
		RedirectURIs: []string{s.Public.RedirectURI},
		GrantTypes:   []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken},
		Scopes:       slices.Clone(scopes),
	})
	for _, c := range o.clients {
		s.Store.Put(c)
	}
	// Mint's way in: see mint.go.
	cfg.Clients = mintClients{cfg.Clients}
	cfg.Grants = append(slices.Clip(cfg.Grants), mintGrant{})
	if a, ok := cfg.Authorizer.(approver); ok && a.now == nil {
		a.now = cfg.Now
		cfg.Authorizer = a
	}
	if s.Server, err = oauthkit.New(cfg); err != nil {
		t.Fatalf("oauthkittest: %v", err)
	}

	mux.Handle(authorizationPath, s.AuthorizeHandler())
	mux.Handle(tokenPath, s.TokenHandler())
	mux.Handle(revocationPath, s.RevocationHandler())
	mux.Handle(introspectionPath, s.IntrospectionHandler())
	mux.Handle(userInfoPath, s.UserInfoHandler())
	mux.Handle("GET "+metadataPath, s.MetadataHandler())
	mux.Handle("GET /.well-known/openid-configuration", s.MetadataHandler())
	return s
}

// Approve returns an Authorizer that approves every authorization request
// as subject, for the whole requested scope, authenticated just now: by
// the Server's clock when given to NewServer (through WithConfig), by
// time.Now elsewhere.
func Approve(subject string) oauthkit.Authorizer {
	return approver{subject: subject}
}

type approver struct {
	subject string
	now     func() time.Time // nil: time.Now
}

func (a approver) Authorize(http.ResponseWriter, *http.Request, *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
	now := time.Now
	if a.now != nil {
		now = a.now
	}
	return &oauthkit.Consent{Subject: a.subject, AuthTime: now()}, nil
}

// Deny returns an Authorizer that refuses every authorization request with
// access_denied, as a resource owner who says no.
func Deny() oauthkit.Authorizer {
	return oauthkit.AuthorizerFunc(func(http.ResponseWriter, *http.Request, *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
		return nil, oauthkit.ErrAccessDenied.WithDescription("the resource owner denied the request")
	})
}

// Clock is a clock that moves only when told to. It is safe for concurrent
// use; its zero value reads the zero time.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (back, if d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set sets the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// lockedRand is a deterministic source of randomness, safe for concurrent
// use.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

// newRand returns randomness seeded from seed: the same on every run.
func newRand(seed string) *lockedRand {
	return &lockedRand{r: rand.NewChaCha8(sha256.Sum256([]byte("oauthkittest " + seed)))}
}

func (l *lockedRand) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}
