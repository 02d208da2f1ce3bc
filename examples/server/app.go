package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/dpop"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/jwt"
	"github.com/oauthkit/oauthkit/pkce"
)

// Paths at which the example server mounts its endpoints, under the issuer.
const (
	pathAuthorize  = "/authorize"
	pathToken      = "/token"
	pathRevoke     = "/revoke"
	pathIntrospect = "/introspect"
	pathPAR        = "/par"
	pathMetadata   = "/.well-known/oauth-authorization-server"
	pathOpenID     = "/.well-known/openid-configuration" // the same document, when OpenID Connect is on
	pathJWKS       = "/.well-known/jwks.json"
	pathUserInfo   = "/userinfo"
	pathAPIMe      = "/api/me"
	pathAPI        = "/api"      // the demo API's resource indicator, {issuer}/api (RFC 8707)
	pathCallback   = "/callback" // the demo clients' callback page, /callback/{client_id}
	// The device authorization grant (RFC 8628), when a client uses it: the
	// device authorization endpoint, and the verification page (the
	// verification_uri).
	pathDeviceAuthorization = "/device_authorization"
	pathDevice              = "/device"
)

// scopeAPIRead is the scope that the demo API at /api/me requires.
const scopeAPIRead = "read"

// codeLifetime is how long an authorization code may be redeemed: the
// oauthkit.Config.CodeLifetime of the server, which the banner and the
// callback page tell.
var codeLifetime = oauthkit.DefaultCodeLifetime

// hashSecret hashes the config's human-chosen secrets and passwords. Tests
// swap in bcrypt at its lowest cost, which oauthkit.VerifySecret also reads,
// to keep -race runs fast.
var hashSecret = oauthkit.HashLowEntropySecret

// app is the example server: an oauthkit.Server, the host's pages and a
// demo API on one mux. It is an http.Handler.
type app struct {
	issuer  string
	server  *oauthkit.Server
	clients oauthkit.ClientStore
	pages   *pages
	mux     *http.ServeMux
	views   []clientView // the clients as the index page shows them
	try     tryIt
	keys    *jwt.KeySet // signs JWT access tokens and ID tokens; nil when neither is issued
	oidc    bool        // OpenID Connect is on
	device  bool        // the device authorization grant is on
	store   string      // which store is used, for the banner
	// codeLifetime is the server's Config.CodeLifetime.
	codeLifetime time.Duration
	// byID are the config's clients, for the callback page.
	byID map[string]clientConfig
	// resourceMetadataPath is where the demo API's RFC 9728 metadata is.
	resourceMetadataPath string
	// tenants are the apps of the config's tenants, each an issuer of its
	// own at {issuer}/{id}, mounted under /{id}/.
	tenants []*app
}

// newApp wires the library into a plain net/http app. cfg must be valid (see
// parseConfig) and have its issuer set. The config's clients are put into
// st, which nil means new memory stores; newApp does not close st.
//
// This is the one place that wires the library:
//   - access tokens are opaque, or JWTs (RFC 9068) signed with a key set
//     generated at start when cfg.AccessTokenFormat is "jwt";
//   - OpenID Connect is on when a client may ask for the openid scope: ID
//     tokens are signed with the same key set, userinfo answers the config
//     users' name and email, and the metadata is also served as
//     /.well-known/openid-configuration;
//   - the key set, when there is one, is published at pathJWKS;
//   - GET /api/me is a resource that the bearer middleware guards, with
//     tokens validated in process by the oauthkit.Server (bearer.Local);
//   - client authentication by private_key_jwt and client_secret_jwt
//     (RFC 7523 §2.2), and the JWT bearer grant (RFC 7523 §2.1), are wired
//     when a client of the config uses them, with the store as the replay
//     cache of their assertions.
func newApp(ctx context.Context, cfg config, st *stores, logger *slog.Logger) (*app, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("newApp: the issuer is not set")
	}
	cfg.Clients = slices.Clone(cfg.Clients) // not the caller's
	cfg.resolveCallbacks()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if st == nil {
		st = memoryStores()
	}
	shared := st
	if len(cfg.Tenants) > 0 {
		// The server's own records are kept as a tenant's too, under an ID
		// no tenant may take, so that its endpoints find none of the
		// tenants' records, not even a client by its prefixed ID.
		var err error
		if st, err = shared.scope(ownTenantID); err != nil {
			return nil, err
		}
	}
	users, err := newUserStore(cfg.Users)
	if err != nil {
		return nil, err
	}
	var views []clientView
	byID := make(map[string]clientConfig, len(cfg.Clients))
	names := make(map[string]string, len(cfg.Clients))
	var extra []oauthkit.GrantHandler
	var scopes []string    // every client's scopes, for scopes_supported
	privateKeyJWT := false // some client authenticates with private_key_jwt
	// sealKey seals the secrets of client_secret_jwt clients; nil until one
	// needs it.
	var sealKey []byte
	jwtBearer := false     // some client may use the JWT bearer grant
	clientSigned := false  // and one of those signs its own assertions (jwks)
	tokenExchange := false // some client may use token exchange (RFC 8693)
	device := false        // some client may use the device authorization grant
	for _, c := range cfg.Clients {
		for _, sc := range c.Scopes {
			if !slices.Contains(scopes, sc) {
				scopes = append(scopes, sc)
			}
		}
		byID[c.ID] = c
		if c.Name != "" {
			names[c.ID] = c.Name
		}
		oc := &oauthkit.Client{
			ID:                                 c.ID,
			Name:                               c.Name,
			RedirectURIs:                       slices.Clone(c.RedirectURIs),
			GrantTypes:                         slices.Clone(c.GrantTypes),
			Scopes:                             slices.Clone(c.Scopes),
			Resources:                          slices.Clone(c.Resources),
			RequirePushedAuthorizationRequests: c.RequirePushedAuthorizationRequests,
			DPoPBoundAccessTokens:              c.DPoPBoundAccessTokens,
		}
		switch {
		case c.Public:
			oc.AuthMethod = oauthkit.AuthMethodNone
		case c.AuthMethod == oauthkit.AuthMethodPrivateKeyJWT:
			// No secret: the client signs assertions with its private
			// key, which its public keys verify.
			oc.AuthMethod = c.AuthMethod
			oc.JWKS = slices.Clone(c.JWKS)
			privateKeyJWT = true
		case c.AuthMethod == oauthkit.AuthMethodClientSecretJWT:
			// The server verifies an HMAC keyed with the secret, so it
			// keeps the secret itself, sealed (AES-256-GCM, bound to the
			// client ID), never a hash. See newSealKey for the key.
			if sealKey == nil {
				sealKey = newSealKey()
			}
			oc.AuthMethod = c.AuthMethod
			if oc.SealedSecret, err = oauthkit.SealClientSecret(sealKey, c.ID, c.Secret); err != nil {
				return nil, fmt.Errorf("sealing the secret of client %q: %w", c.ID, err)
			}
		default:
			// Config secrets are chosen by people: hash them slowly.
			if oc.SecretHash, err = hashSecret(c.Secret); err != nil {
				return nil, fmt.Errorf("hashing the secret of client %q: %w", c.ID, err)
			}
			// Empty unless the config names a method: the client may
			// then use client_secret_basic or client_secret_post, as
			// most client libraries expect (RFC 6749 §2.3.1).
			oc.AuthMethod = c.AuthMethod
		}
		if len(c.JWKS) > 0 && oc.JWKS == nil {
			// The public keys of the assertions the client signs for the
			// JWT bearer grant; they do not authenticate it.
			oc.JWKS = slices.Clone(c.JWKS)
		}
		if c.uses(grants.GrantTypeJWTBearer) {
			jwtBearer = true
			clientSigned = clientSigned || len(c.JWKS) > 0
		}
		tokenExchange = tokenExchange || c.uses(grants.GrantTypeTokenExchange)
		// The library's rules for a registration, which cfg.validate
		// has applied to the redirect URIs already.
		if err := oc.Validate(); err != nil {
			return nil, fmt.Errorf("client %q: %w", c.ID, err)
		}
		if err := st.putClient(ctx, oc); err != nil {
			return nil, fmt.Errorf("storing client %q: %w", c.ID, err)
		}
		views = append(views, clientView{ID: c.ID, Name: c.Name, Public: c.Public, GrantTypes: slices.Clone(c.GrantTypes)})
		device = device || c.uses(oauthkit.GrantTypeDeviceCode)
		if c.uses(oauthkit.GrantTypeClientCredentials) && !hasGrant(extra, oauthkit.GrantTypeClientCredentials) {
			extra = append(extra, grants.ClientCredentials{})
		}
		if c.uses(oauthkit.GrantTypePassword) && !hasGrant(extra, oauthkit.GrantTypePassword) {
			extra = append(extra, grants.Password{Users: users})
		}
		if c.uses(grants.GrantTypeExternalToken) && !hasGrant(extra, grants.GrantTypeExternalToken) {
			// Seed 001's grant: once the user's password checks, the
			// access and refresh tokens the client sends (minted by
			// another server) become this server's, stored as hashes.
			extra = append(extra, grants.ExternalToken{Users: users})
		}
	}

	pg, err := newPages(users, cfg.Issuer, logger)
	if err != nil {
		return nil, err
	}
	pg.clientNames = names
	pg.scopeDescriptions = cfg.scopeDescriptions()
	a := &app{
		issuer:       cfg.Issuer,
		clients:      st.clients,
		pages:        pg,
		mux:          http.NewServeMux(),
		views:        views,
		oidc:         slices.Contains(scopes, oauthkit.ScopeOpenID),
		device:       device,
		store:        shared.desc,
		codeLifetime: codeLifetime,
		byID:         byID,
	}
	oc := oauthkit.Config{
		Issuer: cfg.Issuer,
		Endpoints: oauthkit.Endpoints{
			Authorization: cfg.Issuer + pathAuthorize,
			Token:         cfg.Issuer + pathToken,
			Revocation:    cfg.Issuer + pathRevoke,
			Introspection: cfg.Issuer + pathIntrospect,
			// RFC 9126: request_uri values are single-use and live
			// oauthkit.DefaultPARLifetime.
			PushedAuthorization: cfg.Issuer + pathPAR,
		},
		PAR: &oauthkit.PARConfig{
			Store:                st.pushed,
			RequireForAllClients: cfg.RequirePushedAuthorizationRequests,
		},
		Clients:     st.clients,
		Codes:       st.codes,
		Tokens:      st.tokens,
		ReplayCache: st.replay,
		Authorizer:  pg,
		ErrorPage:   pg.errorPage,
		Grants:      extra,
		// RFC 8707: every client may ask for the demo API by its resource
		// indicator; clients[].resources add more per client.
		Resources:       []string{cfg.Issuer + pathAPI},
		ScopesSupported: scopes,
		CodeLifetime:    a.codeLifetime,
		Logger:          logger,
	}
	if privateKeyJWT {
		// RFC 7523 §2.2 client assertions, verified with the client's
		// jwks; their jti is remembered in the store, so that each is
		// accepted once. The metadata lists private_key_jwt and the
		// accepted algorithms (token_endpoint_auth_signing_alg_values_supported).
		oc.ClientAuthMethods = append(oc.ClientAuthMethods, oauthkit.PrivateKeyJWT{Algorithms: clientKeyAlgorithms})
		oc.ReplayCache = st.replay
	}
	if sealKey != nil {
		// The same assertions, MACed with the client's secret (HS256,
		// HS384 or HS512). With private_key_jwt as well, the header's alg
		// tells the two apart.
		oc.ClientAuthMethods = append(oc.ClientAuthMethods, oauthkit.ClientSecretJWT{SealKey: sealKey})
		oc.ReplayCache = st.replay
	}
	var bearerGrant *grants.JWTBearer
	if jwtBearer || tokenExchange && len(cfg.TrustedIssuers) > 0 {
		// RFC 7523 §2.1: an assertion of a trusted issuer, or one the
		// client signed with a key of its jwks, for a user of the config.
		// Its jti goes into the same replay cache as client assertions',
		// so that one JWT serves once, as a grant or as a credential.
		// Token exchange verifies trusted issuers' JWTs with it too.
		bearerGrant, err = grants.NewJWTBearer(grants.JWTBearerConfig{
			Issuer:                 cfg.Issuer,
			TokenEndpoint:          cfg.Issuer + pathToken,
			ReplayCache:            st.replay,
			TrustedIssuers:         trustedIssuers(cfg.TrustedIssuers),
			ClientSignedAssertions: clientSigned,
			Subject:                users.assertionSubject,
			Algorithms:             clientKeyAlgorithms,
		})
		if err != nil {
			return nil, err
		}
		if jwtBearer {
			oc.Grants = append(oc.Grants, bearerGrant)
		}
		oc.ReplayCache = st.replay
	}
	if tokenExchange {
		// RFC 8693: a client registered for the grant may exchange an
		// access token of this server, or a trusted issuer's JWT, for a
		// token of the same user, with an actor_token recorded as act.
		// Registration is the example's whole policy; a real server
		// decides per client, subject and audience.
		oc.Grants = append(oc.Grants, grants.NewTokenExchange(grants.TokenExchangeConfig{
			JWT:    bearerGrant,
			Policy: func(context.Context, *grants.Exchange) error { return nil },
		}))
	}
	if device {
		// RFC 8628: the library serves the device authorization endpoint
		// and the device_code grant; the verification page is this app's
		// (device.go). User-code lookups are limited per network address
		// by the library's default limit.
		oc.Device = &oauthkit.DeviceConfig{Store: st.devices, VerificationURI: cfg.Issuer + pathDevice, Interval: deviceInterval}
		oc.Endpoints.DeviceAuthorization = cfg.Issuer + pathDeviceAuthorization
	}
	// DPoP (RFC 9449): a token request with a proof gets tokens bound to
	// its key (a public client's refresh token too), with every algorithm
	// the library accepts. Each proof's jti goes into the store's replay
	// cache, so that a proof serves once.
	oc.DPoP = &oauthkit.DPoPConfig{}
	var nonces *dpop.Nonces
	if cfg.DPoPNonce {
		// A key new at each start, as the demo signing key: nonces issued
		// before a restart are refused, and clients retry with a new one.
		// Instances sharing a database would share the key instead.
		if nonces, err = dpop.NewNonces([]byte(rand.Text()+rand.Text()), 0); err != nil {
			return nil, err
		}
		oc.DPoP.Nonces = nonces
	}
	if n := cfg.TokenRequestsPerMinute; n > 0 {
		oc.RateLimiter = tokenEndpointLimit(n)
	}
	if err := setUpRegistration(&oc, cfg, st); err != nil {
		return nil, err
	}
	if cfg.AccessTokenFormat == formatJWT || a.oidc {
		// A demo key, new at each start: tokens signed before a restart
		// no longer verify. A real server loads its keys (jwt.ParsePEM).
		key, err := jwt.GenerateKey(jwt.ES256)
		if err != nil {
			return nil, err
		}
		if a.keys, err = jwt.NewKeySet(key); err != nil {
			return nil, err
		}
		oc.Endpoints.JWKS = cfg.Issuer + pathJWKS
	}
	if cfg.AccessTokenFormat == formatJWT {
		oc.AccessTokens = &jwt.AccessTokens{Keys: a.keys}
	}
	if a.oidc {
		// The "typ" header keeps ID tokens and JWT access tokens signed by
		// the same keys apart (RFC 9068 §5).
		oc.IDTokens = a.keys
		oc.Claims = users
		oc.ClaimsSupported = userClaimNames
		oc.Endpoints.UserInfo = cfg.Issuer + pathUserInfo
	}
	if a.server, err = oauthkit.New(oc); err != nil {
		return nil, err
	}
	pg.server = a.server
	if a.try, err = newTryIt(cfg); err != nil {
		return nil, err
	}
	// RFC 9728: the demo API's metadata, which every 401 from it points
	// to, so that a client that knows only the API finds this server.
	resourceMetadataURL, err := bearer.MetadataURL(cfg.Issuer + pathAPI)
	if err != nil {
		return nil, err
	}
	resourceMetadata, err := bearer.MetadataHandler(bearer.ProtectedResourceMetadata{
		Resource:             cfg.Issuer + pathAPI,
		AuthorizationServers: []string{cfg.Issuer},
		ScopesSupported:      []string{scopeAPIRead},
		// The algorithms the token endpoint accepts are those the API does.
		DPoPSigningAlgValuesSupported: a.server.Metadata().DPoPSigningAlgValuesSupported,
	})
	if err != nil {
		return nil, err
	}
	issuerURL, err := url.Parse(cfg.Issuer)
	if err != nil {
		return nil, err
	}
	api, err := bearer.New(bearer.Config{
		ResourceMetadata: resourceMetadataURL.String(),
		// A token with an audience (resource indicators, RFC 8707) must
		// name the demo API; one without is for any resource server of
		// this issuer.
		Validator: bearer.Local(a.server, cfg.Issuer+pathAPI),
		Realm:     apiRealm,
		// A DPoP-bound token only as "Authorization: DPoP" with a proof
		// of its key for this request (RFC 9449 §7); the API answers at
		// the issuer's origin, and shares the replay cache and nonces of
		// the authorization server.
		DPoP: &bearer.DPoPConfig{
			Origin: issuerURL.Scheme + "://" + issuerURL.Host,
			Replay: st.replay,
			Nonces: nonces,
		},
		Logger: logger,
	})
	if err != nil {
		return nil, err
	}

	// The library's handlers check methods themselves and answer with RFC
	// errors, so they are mounted for every method.
	srv := a.server
	a.mux.Handle(pathAuthorize, srv.AuthorizeHandler())
	a.mux.Handle(pathToken, srv.TokenHandler())
	a.mux.Handle(pathRevoke, srv.RevocationHandler())
	a.mux.Handle(pathIntrospect, srv.IntrospectionHandler())
	a.mux.Handle(pathPAR, srv.PushedAuthorizationHandler())
	a.mux.Handle(pathMetadata, srv.MetadataHandler())
	if cfg.Registration != nil {
		a.mux.Handle(pathRegister, srv.RegistrationHandler())
		a.mux.Handle(pathRegister+"/", srv.RegistrationHandler())
	}
	if a.keys != nil {
		a.mux.Handle(pathJWKS, a.keys.JWKSHandler())
	}
	if a.oidc {
		a.mux.Handle(pathOpenID, srv.MetadataHandler())
		a.mux.Handle(pathUserInfo, srv.UserInfoHandler())
	}
	a.mux.Handle("GET "+pathAPIMe, api.Wrap(http.HandlerFunc(apiMe), scopeAPIRead))
	a.mux.Handle(resourceMetadataURL.Path, resourceMetadata)
	a.resourceMetadataPath = resourceMetadataURL.Path
	if a.device {
		a.mux.Handle(pathDeviceAuthorization, srv.DeviceAuthorizationHandler())
		a.mux.HandleFunc(pathDevice, pg.device)
	}
	a.mux.HandleFunc("GET "+pathCallback, a.callback)
	a.mux.HandleFunc("GET "+pathCallback+"/{client}", a.callback)
	a.mux.HandleFunc("GET /{$}", a.index)
	if err := a.mountTenants(ctx, cfg, shared, logger); err != nil {
		return nil, err
	}
	return a, nil
}

// mountTenants builds an app for each tenant of cfg, an issuer of its own
// at {issuer}/{id}, over its view of the shared store st (storage/tenant),
// with its own clients, users, keys, sessions and pages, and mounts it
// under /{id}/: nothing of one tenant (code, token, session) is found by
// another. Its metadata is also where RFC 8414 §3.1 puts it,
// /.well-known/oauth-authorization-server/{id}, and its demo API's where
// RFC 9728 §3.1 does, /.well-known/oauth-protected-resource/{id}/api.
func (a *app) mountTenants(ctx context.Context, cfg config, st *stores, logger *slog.Logger) error {
	for _, t := range cfg.Tenants {
		tst, err := st.scope(t.ID)
		if err != nil {
			return err
		}
		ta, err := newApp(ctx, cfg.forTenant(t), tst, logger.With("tenant", t.ID))
		if err != nil {
			return fmt.Errorf("tenant %s: %w", t.ID, err)
		}
		prefix := "/" + t.ID
		a.mux.Handle(prefix+"/", http.StripPrefix(prefix, ta))
		ta.server.HandleMetadata(a.mux)
		a.mux.Handle(ta.resourceMetadataPath, ta)
		a.tenants = append(a.tenants, ta)
	}
	return nil
}

// newSealKey returns the key that seals the secrets of client_secret_jwt
// clients: random, new at each start. The example can afford that because
// it seals and stores the config's clients at every start (st.putClient
// replaces them, in PostgreSQL too), so no sealed secret has to outlive the
// process. The price: a sealed secret stored by an earlier run, or by
// another instance sharing the database, does not open with this key (the
// client's assertions then fail as a server error), so run one instance per
// database. A real server loads one fixed key from a secret manager, kept
// out of the database, and seals each secret once.
func newSealKey() []byte {
	key := make([]byte, oauthkit.SealKeySize)
	rand.Read(key) // never fails (crypto/rand)
	return key
}

// trustedIssuers converts the config's trusted_issuers for the JWT bearer
// grant.
func trustedIssuers(ts []trustedIssuerConfig) []grants.TrustedIssuer {
	out := make([]grants.TrustedIssuer, 0, len(ts))
	for _, t := range ts {
		out = append(out, grants.TrustedIssuer{Issuer: t.Issuer, JWKS: slices.Clone(t.JWKS)})
	}
	return out
}

// tokenEndpointLimit returns the rate limit of the config's rate_limit:
// perMinute token requests per client and minute, which may come at once,
// and then one every 60/perMinute seconds (a token bucket). Introspection
// and revocation are not limited.
func tokenEndpointLimit(perMinute int) oauthkit.RateLimiter {
	return onlyEndpoint{
		endpoint: endpointToken,
		limit:    &oauthkit.TokenBucket{Rate: float64(perMinute) / 60, Burst: perMinute},
	}
}

// endpointToken is the token endpoint's name in oauthkit.RateLimitKey.
const endpointToken = "token"

// onlyEndpoint is a rate limit that applies at one endpoint and lets every
// request to the others through.
type onlyEndpoint struct {
	endpoint string
	limit    oauthkit.RateLimiter
}

func (o onlyEndpoint) Allow(ctx context.Context, key oauthkit.RateLimitKey) (bool, time.Duration) {
	if key.Endpoint != o.endpoint {
		return true, 0
	}
	return o.limit.Allow(ctx, key)
}

// ServeHTTP serves the example server's endpoints and pages.
func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

func (c *clientConfig) uses(grantType string) bool { return slices.Contains(c.GrantTypes, grantType) }

// signsAssertions reports whether the client authenticates with a JWT it
// signs or MACs (private_key_jwt, client_secret_jwt), which a curl command
// cannot make.
func (c *clientConfig) signsAssertions() bool {
	return c.AuthMethod == oauthkit.AuthMethodPrivateKeyJWT || c.AuthMethod == oauthkit.AuthMethodClientSecretJWT
}

func hasGrant(hs []oauthkit.GrantHandler, grantType string) bool {
	return slices.ContainsFunc(hs, func(h oauthkit.GrantHandler) bool { return h.GrantType() == grantType })
}

// index is the home page: the endpoints, the clients, and a link that starts
// the authorization code flow.
func (a *app) index(w http.ResponseWriter, r *http.Request) {
	a.pages.render(w, "", http.StatusOK, indexTemplate, pageData{
		Title:     "oauthkit example server",
		Issuer:    a.issuer,
		Endpoints: a.endpoints(),
		Clients:   a.views,
		TryURL:    a.try.AuthorizeURL,
	})
}

// endpoints lists the server's URLs by name.
func (a *app) endpoints() [][2]string {
	e := [][2]string{
		{"issuer", a.issuer},
		{"authorize", a.issuer + pathAuthorize},
		{"token", a.issuer + pathToken},
		{"revoke", a.issuer + pathRevoke},
		{"introspect", a.issuer + pathIntrospect},
		{"par", a.issuer + pathPAR},
		{"metadata", a.issuer + pathMetadata},
	}
	if a.oidc {
		e = append(e, [2]string{"discovery", a.issuer + pathOpenID}, [2]string{"userinfo", a.issuer + pathUserInfo})
	}
	if a.keys != nil {
		e = append(e, [2]string{"jwks", a.issuer + pathJWKS})
	}
	if a.device {
		e = append(e, [2]string{"device_authorization", a.issuer + pathDeviceAuthorization}, [2]string{"device", a.issuer + pathDevice})
	}
	return append(e, [2]string{"api", a.issuer + pathAPIMe})
}

// userStore is the oauthkit.UserAuthenticator over the config's users,
// whose passwords it keeps only as Argon2id hashes, and the
// oauthkit.ClaimsSource of OpenID Connect. A user's subject is the username.
type userStore struct {
	hashes   map[string]string     // username → hash
	profiles map[string]userConfig // username → the user, without the password
	// dummy is the hash of a random password, checked for unknown users so
	// that they take as long as known ones. (oauthkit.VerifySecret bounds
	// how many Argon2id checks run at once.)
	dummy string
	// verify is oauthkit.VerifySecret; tests make it busy.
	verify func(ctx context.Context, hash, secret string) (bool, error)
}

func newUserStore(users []userConfig) (*userStore, error) {
	s := &userStore{
		hashes:   make(map[string]string, len(users)),
		profiles: make(map[string]userConfig, len(users)),
		verify:   oauthkit.VerifySecret,
	}
	for _, u := range users {
		h, err := hashSecret(u.Password)
		if err != nil {
			return nil, fmt.Errorf("hashing the password of user %q: %w", u.Username, err)
		}
		s.hashes[u.Username] = h
		u.Password = ""
		s.profiles[u.Username] = u
	}
	random, err := randomString()
	if err != nil {
		return nil, err
	}
	if s.dummy, err = hashSecret(random); err != nil {
		return nil, err
	}
	return s, nil
}

// AuthenticateUser checks the password of username; the subject is the
// username. It returns oauthkit.ErrInvalidCredentials for an unknown user or
// a wrong password, after the same work in both cases; an error wrapping
// oauthkit.ErrUnavailable when the password could not be checked because
// too many checks are waiting; and ctx's error when ctx ended first.
func (s *userStore) AuthenticateUser(ctx context.Context, username, password string) (string, error) {
	hash, known := s.hashes[username]
	if !known {
		hash = s.dummy
	}
	// A constant-time compare. It fails, without checking anything, when
	// too many slow checks are waiting (an error wrapping
	// oauthkit.ErrUnavailable) or when ctx ends first (ctx's error): the
	// login page and the password grant answer those as "try again", never
	// as a wrong password.
	ok, err := s.verify(ctx, hash, password)
	if err != nil {
		return "", err
	}
	if !known || !ok {
		return "", oauthkit.ErrInvalidCredentials
	}
	return username, nil
}

// assertionSubject is the JWT bearer grant's grants.SubjectFunc: the sub of
// an assertion, of a trusted issuer or signed by the client, must be the
// username of a user of the config, who is then the subject. Any other sub is
// refused (invalid_grant).
//
// This follows the example-server contract, which takes a trusted issuer's
// sub for a username: every issuer, and every client registered for the
// grant with its jwks, can name any user of the config. A real server maps
// each issuer's subs to its own users (an account linked to that issuer
// and sub), and decides which users each client may act for.
func (s *userStore) assertionSubject(_ context.Context, issuer, sub string, _ *oauthkit.Client) (string, error) {
	if _, ok := s.profiles[sub]; !ok {
		return "", fmt.Errorf("assertion of %s: sub %q is not a user: %w", issuer, sub, oauthkit.ErrNotFound)
	}
	return sub, nil
}

// OpenID Connect scopes that release claims (OIDC Core §5.4).
const (
	scopeProfile = "profile"
	scopeEmail   = "email"
)

// userClaimNames are the claims userStore.Claims may answer, published as
// claims_supported.
var userClaimNames = []string{"name", "preferred_username", "email", "email_verified"}

// Claims returns the claims about the user subject that scope releases
// (OIDC Core §5.4): for profile, name (when the config has one) and
// preferred_username; for email, email (when the config has one) and
// email_verified, which is false because nobody checked the address. It
// returns an error wrapping oauthkit.ErrNotFound for a user no longer in
// the config, such as the subject of a token stored in PostgreSQL before a
// restart with other users.
func (s *userStore) Claims(_ context.Context, subject string, scope []string) (map[string]any, error) {
	u, ok := s.profiles[subject]
	if !ok {
		return nil, fmt.Errorf("user %q: %w", subject, oauthkit.ErrNotFound)
	}
	claims := make(map[string]any)
	if slices.Contains(scope, scopeProfile) {
		claims["preferred_username"] = u.Username
		if u.Name != "" {
			claims["name"] = u.Name
		}
	}
	if slices.Contains(scope, scopeEmail) && u.Email != "" {
		claims["email"] = u.Email
		claims["email_verified"] = false
	}
	return claims, nil
}

// tryIt holds ready-to-run commands for the banner and the index page.
type tryIt struct {
	// Curl is a token request that works as printed; CurlAbout says what it
	// does. Both are empty when no client can make one without a browser.
	Curl, CurlAbout string
	// AuthorizeURL starts the authorization code flow with PKCE in a
	// browser, and Exchange redeems the code it yields (its placeholder
	// codePlaceholder replaced by the code). Both are empty when no client
	// can use the flow.
	AuthorizeURL, Exchange string
	// API calls the demo API at /api/me with an access token, whose
	// placeholder tokenPlaceholder is to be replaced by the token.
	API string
	// ClientID, State and Verifier are those of AuthorizeURL: the callback
	// page puts Verifier into its command for a response with that client
	// and state.
	ClientID, State, Verifier string
	// Callback is the callback page that AuthorizeURL leads to, or empty
	// when its redirect URI is the client's own.
	Callback string
}

// demoState is the state parameter of tryIt.AuthorizeURL.
const demoState = "demo"

// codePlaceholder stands for the authorization code in tryIt.Exchange.
const codePlaceholder = "PASTE_THE_CODE_HERE"

// tokenPlaceholder stands for an access token in tryIt.API.
const tokenPlaceholder = "PASTE_THE_ACCESS_TOKEN_HERE"

func newTryIt(cfg config) (tryIt, error) {
	t := tryIt{
		API: strings.Join([]string{"curl", "-s", "-H", shellQuote("Authorization: Bearer " + tokenPlaceholder), shellQuote(cfg.Issuer + pathAPIMe)}, " "),
	}
	token := cfg.Issuer + pathToken
	// The commands work as printed: never with a client that must sign an
	// assertion (private_key_jwt, client_secret_jwt), which curl cannot.
	clients := slices.DeleteFunc(slices.Clone(cfg.Clients), func(c clientConfig) bool {
		return c.signsAssertions()
	})
	for _, c := range clients {
		if c.uses(oauthkit.GrantTypeClientCredentials) {
			t.Curl = curlLine(token, c, "grant_type=client_credentials", formParam("scope", strings.Join(c.Scopes, " ")))
			t.CurlAbout = fmt.Sprintf("client_credentials for %s", c.ID)
			break
		}
	}
	if t.Curl == "" && len(cfg.Users) > 0 {
		u := cfg.Users[0]
		for _, c := range clients {
			if c.uses(oauthkit.GrantTypePassword) {
				t.Curl = curlLine(token, c, "grant_type=password", formParam("username", u.Username),
					formParam("password", u.Password), formParam("scope", strings.Join(c.Scopes, " ")))
				t.CurlAbout = fmt.Sprintf("password grant for %s as %s", c.ID, u.Username)
				break
			}
		}
	}
	for _, c := range clients {
		if !c.uses(oauthkit.GrantTypeAuthorizationCode) || len(cfg.Users) == 0 {
			continue
		}
		verifier, err := pkce.GenerateVerifier(nil)
		if err != nil {
			return tryIt{}, err
		}
		q := url.Values{
			"response_type":         {"code"},
			"client_id":             {c.ID},
			"redirect_uri":          {c.RedirectURIs[0]},
			"state":                 {demoState},
			"code_challenge":        {pkce.Challenge(verifier)},
			"code_challenge_method": {pkce.S256},
		}
		if len(c.Scopes) > 0 {
			q.Set("scope", strings.Join(c.Scopes, " "))
		}
		t.AuthorizeURL = cfg.Issuer + pathAuthorize + "?" + q.Encode()
		t.Exchange = curlLine(token, c, "grant_type=authorization_code", formParam("redirect_uri", c.RedirectURIs[0]),
			formParam("code_verifier", verifier), "code="+codePlaceholder)
		t.ClientID, t.State, t.Verifier = c.ID, demoState, verifier
		if cb := callbackURI(cfg.Issuer, c.ID); c.RedirectURIs[0] == cb {
			t.Callback = cb
		}
		break
	}
	return t, nil
}

// formParam returns name=value form-urlencoded, for curl -d, or "" when
// value is empty.
func formParam(name, value string) string {
	if value == "" {
		return ""
	}
	return name + "=" + url.QueryEscape(value)
}

// assertionPlaceholder stands for a client assertion in a command of a
// private_key_jwt client: a JWT that only the client can sign.
const assertionPlaceholder = "PASTE_A_SIGNED_CLIENT_ASSERTION_HERE"

// curlLine returns a shell command posting params to the token endpoint as
// client c: HTTP Basic for a confidential client, whose ID and secret are
// form-urlencoded first (RFC 6749 §2.3.1), client_id and client_secret in
// the form for one registered for client_secret_post only, client_id for
// a public one, or client_id and a placeholder for the client assertion
// (RFC 7523 §2.2) for a private_key_jwt or client_secret_jwt one.
func curlLine(tokenURL string, c clientConfig, params ...string) string {
	args := []string{"curl", "-s"}
	switch {
	case c.Public:
		params = append([]string{formParam("client_id", c.ID)}, params...)
	case c.signsAssertions():
		params = append([]string{formParam("client_id", c.ID), formParam("client_assertion_type", oauthkit.ClientAssertionTypeJWTBearer),
			formParam("client_assertion", assertionPlaceholder)}, params...)
	case c.AuthMethod == oauthkit.AuthMethodSecretPost:
		params = append([]string{formParam("client_id", c.ID), formParam("client_secret", c.Secret)}, params...)
	default:
		args = append(args, "-u", shellQuote(url.QueryEscape(c.ID)+":"+url.QueryEscape(c.Secret)))
	}
	for _, p := range params {
		if p != "" {
			args = append(args, "-d", shellQuote(p))
		}
	}
	return strings.Join(append(args, shellQuote(tokenURL)), " ")
}

// shellQuote quotes s for a POSIX shell, unless it needs no quoting.
func shellQuote(s string) string {
	safe := s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == ""
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
