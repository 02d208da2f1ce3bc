package oauthkit

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit/internal/authheader"
	"github.com/oauthkit/oauthkit/internal/jwks"
)

// Errors of client registration ([RFC 7591 §3.2.2]). Their descriptions
// name the field at fault.
//
// [RFC 7591 §3.2.2]: https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2
var (
	// ErrInvalidRedirectURI: a redirect_uris value is invalid.
	ErrInvalidRedirectURI = &Error{Code: "invalid_redirect_uri"}
	// ErrInvalidClientMetadata: another metadata field is invalid.
	ErrInvalidClientMetadata = &Error{Code: "invalid_client_metadata"}
)

// RegistrationConfig turns on dynamic client registration ([RFC 7591]) and
// its management protocol ([RFC 7592]): see [Server.RegistrationHandler].
//
// [RFC 7591]: https://www.rfc-editor.org/rfc/rfc7591
// [RFC 7592]: https://www.rfc-editor.org/rfc/rfc7592
type RegistrationConfig struct {
	// Store keeps the clients that register. Required. It is usually
	// Config.Clients itself, so that every endpoint finds them at once.
	Store ClientRegistry

	// InitialAccessToken, if set, guards registration with an initial
	// access token (RFC 7591 §3): a registration request must carry one as
	// a Bearer token, and InitialAccessToken reports whether token is
	// valid; an error is an internal fault. Nil means open registration,
	// bounded by Config.RateLimiter and Authorize. [InitialAccessTokens]
	// makes one from fixed tokens.
	InitialAccessToken func(ctx context.Context, token string) (bool, error)

	// Authorize, if set, is the host's policy on each registration (POST)
	// and update (PUT), called with the request and its metadata once they
	// have been validated, defaults filled in. Nil lets them all through.
	// It returns nil to proceed, an *Error to send (such as
	// ErrInvalidClientMetadata with a description, or ErrAccessDenied with
	// Status 403), or another error for an internal fault. It must not
	// modify md.
	Authorize func(ctx context.Context, r *http.Request, md *ClientMetadata) error

	// GrantTypes are the grant types a client may register, each served by
	// the server. Nil means authorization_code and refresh_token: open
	// registration of client_credentials clients would hand out machine
	// credentials to anyone.
	GrantTypes []string
	// AuthMethods are the token_endpoint_auth_method values a client may
	// register: client_secret_basic, client_secret_post, none and
	// private_key_jwt, each a method of the server. Nil means those of them
	// the server has. (client_secret_jwt is not registrable: its secret
	// must be sealed by the host.)
	AuthMethods []string
	// Scopes are the scopes a client may register; a registration without
	// a scope gets all of them. Nil means Config.ScopesSupported.
	Scopes []string
	// SecretLifetime is how long a generated client secret is accepted
	// (client_secret_expires_at). Zero means forever.
	SecretLifetime time.Duration

	// MaxClientsPerSource, if positive, caps the clients one source may
	// have registered at a time: a registration from a source that has
	// that many clients stored is refused (403 access_denied) until one is
	// deleted. The source is the host of the request's RemoteAddr, the key
	// by which a TokenBucket limits registrations (behind a proxy, the
	// host sets RemoteAddr to the client's). Store must then be a
	// [ClientCapper], which counts and stores in one atomic step. Zero
	// means no cap: with open registration, Config.RateLimiter is then the
	// only bound on what one source registers.
	MaxClientsPerSource int

	path string // the path of Endpoints.Registration, set by New
}

// ClientRegistry keeps the clients that register themselves (RFC 7591) and
// manage their registration (RFC 7592). Its ClientStore methods read what
// its other methods write.
//
// Implementations must be safe for concurrent use.
type ClientRegistry interface {
	ClientStore
	// CreateClient stores a new client. It returns an error wrapping
	// ErrExists, and stores nothing, if a client with its ID exists.
	CreateClient(ctx context.Context, c *Client) error
	// UpdateClient replaces the client whose ID is c.ID with c. It returns
	// an error wrapping ErrNotFound, and stores nothing, if there is none.
	UpdateClient(ctx context.Context, c *Client) error
	// DeleteClient removes the client with the given ID. Unknown IDs are
	// not an error.
	DeleteClient(ctx context.Context, id string) error
}

// ClientCapper is a ClientRegistry that caps the clients each source
// registers (RegistrationConfig.MaxClientsPerSource). It is asserted when
// the cap is configured; New refuses a cap on a store without it.
//
// Implementations must be safe for concurrent use.
type ClientCapper interface {
	ClientRegistry
	// CreateClientCapped stores c as CreateClient does and records that
	// source registered it, unless source has max clients stored already:
	// then it returns an error wrapping ErrLimitReached and stores nothing.
	// The count and the insert are one atomic step: of concurrent calls
	// with one source, no more succeed than leave it with max clients. A
	// client removed by DeleteClient no longer counts; UpdateClient keeps
	// its source. A taken ID is an error wrapping ErrExists, as with
	// CreateClient.
	CreateClientCapped(ctx context.Context, c *Client, source string, max int) error
}

// ClientRevoker is a TokenStore (Config.Tokens) that revokes every token of
// a client at once. The client configuration endpoint calls it when a
// client deletes its registration (RFC 7592 §2.3), before the deletion;
// without it the client's tokens stay valid until they expire, though a
// deleted client can no longer refresh them. A token issued to a request
// that authenticated the client before the deletion and stored its tokens
// after the revocation also stays valid until it expires; a resource
// server that checks JWT access tokens by their signature alone accepts
// them until they expire in any case.
//
// Implementations must be safe for concurrent use.
type ClientRevoker interface {
	// RevokeClientTokens revokes every token whose ClientID is clientID,
	// as RevokeGrant revokes each of their grants: tokens of those grants
	// stored afterwards are refused too. Unknown clients are not an error.
	RevokeClientTokens(ctx context.Context, clientID string) error
}

// InitialAccessTokens returns a RegistrationConfig.InitialAccessToken that
// accepts exactly the given tokens, compared in constant time through
// their hashes. Empty tokens are never accepted.
func InitialAccessTokens(tokens ...string) func(ctx context.Context, token string) (bool, error) {
	var hashes [][]byte
	for _, t := range tokens {
		if t != "" {
			hashes = append(hashes, []byte(HashToken(t)))
		}
	}
	return func(_ context.Context, token string) (bool, error) {
		h := []byte(HashToken(token))
		ok := 0
		for _, want := range hashes {
			ok |= subtle.ConstantTimeCompare(h, want)
		}
		return ok == 1, nil
	}
}

// ClientMetadata is the client metadata of RFC 7591 §2 that the server
// registers, as a registration or update request sends it and the response
// echoes it; and of RFC 9449 §5.2 and RFC 9126 §6. Fields the server does not
// know are ignored (RFC 7591 §2), among them software_statement (§2.3):
// the server does not process software statements.
type ClientMetadata struct {
	RedirectURIs            []string        `json:"redirect_uris,omitempty"`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method,omitempty"`
	GrantTypes              []string        `json:"grant_types,omitempty"`
	ResponseTypes           []string        `json:"response_types,omitempty"`
	ClientName              string          `json:"client_name,omitempty"`
	ClientURI               string          `json:"client_uri,omitempty"`
	LogoURI                 string          `json:"logo_uri,omitempty"`
	Scope                   string          `json:"scope,omitempty"`
	Contacts                []string        `json:"contacts,omitempty"`
	TOSURI                  string          `json:"tos_uri,omitempty"`
	PolicyURI               string          `json:"policy_uri,omitempty"`
	JWKSURI                 string          `json:"jwks_uri,omitempty"`
	JWKS                    json.RawMessage `json:"jwks,omitempty"`
	SoftwareID              string          `json:"software_id,omitempty"`
	SoftwareVersion         string          `json:"software_version,omitempty"`
	// DPoPBoundAccessTokens is dpop_bound_access_tokens (RFC 9449 §5.2).
	DPoPBoundAccessTokens bool `json:"dpop_bound_access_tokens,omitempty"`
	// RequirePushedAuthorizationRequests is
	// require_pushed_authorization_requests (RFC 9126 §6).
	RequirePushedAuthorizationRequests bool `json:"require_pushed_authorization_requests,omitempty"`
}

// ClientInformation is the client information response of RFC 7591 §3.2.1
// and RFC 7592 §3: the registered metadata, the client's credentials, and
// where and with what token it manages its registration. ClientSecret and
// RegistrationAccessToken are sent once, when they are issued: the server
// keeps only their hashes.
type ClientInformation struct {
	ClientID                string `json:"client_id"`
	ClientSecret            string `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64  `json:"client_id_issued_at,omitempty"`
	ClientSecretExpiresAt   *int64 `json:"client_secret_expires_at,omitempty"` // 0: never; absent without a secret
	RegistrationAccessToken string `json:"registration_access_token,omitempty"`
	RegistrationClientURI   string `json:"registration_client_uri,omitempty"`
	ClientMetadata
}

// Bounds of registered metadata: far beyond real clients, well short of
// what would let one registration fill a store.
const (
	maxRegisteredValues  = 32   // redirect URIs, contacts, grant or response types
	maxRegisteredURILen  = 2048 // a URI
	maxRegisteredTextLen = 256  // client_name, a contact, software_id, software_version
)

// registrableAuthMethods are the methods a registration can set up: those
// that need no secret the host must seal.
var registrableAuthMethods = []string{AuthMethodSecretBasic, AuthMethodSecretPost, AuthMethodNone, AuthMethodPrivateKeyJWT}

// setUpRegistration validates Config.Registration, filling in its
// defaults, and Endpoints.Registration.
func (s *Server) setUpRegistration() error {
	rc := s.cfg.Registration
	if rc == nil {
		if s.cfg.Endpoints.Registration != "" {
			return errors.New("oauthkit: Config.Endpoints.Registration is set without Config.Registration")
		}
		return nil
	}
	c := *rc // the host's value stays as it is
	switch {
	case c.Store == nil:
		return errors.New("oauthkit: Config.Registration.Store is required")
	case c.SecretLifetime < 0:
		return errors.New("oauthkit: Config.Registration.SecretLifetime must not be negative")
	case c.MaxClientsPerSource < 0:
		return errors.New("oauthkit: Config.Registration.MaxClientsPerSource must not be negative")
	}
	if _, ok := c.Store.(ClientCapper); c.MaxClientsPerSource > 0 && !ok {
		return errors.New("oauthkit: Config.Registration.MaxClientsPerSource needs a Store that is a ClientCapper, which counts each source's clients atomically")
	}
	served := func(gt string) bool {
		_, ok := s.grants[gt]
		return ok || gt == GrantTypeImplicit && s.cfg.AllowImplicitGrant
	}
	if c.GrantTypes == nil {
		c.GrantTypes = []string{GrantTypeAuthorizationCode, GrantTypeRefreshToken}
	}
	for _, gt := range c.GrantTypes {
		if !served(gt) {
			return fmt.Errorf("oauthkit: Config.Registration.GrantTypes: the server does not serve %q", gt)
		}
	}
	methods := authMethodNames(s.authMethods)
	if c.AuthMethods == nil {
		for _, m := range registrableAuthMethods {
			if slices.Contains(methods, m) {
				c.AuthMethods = append(c.AuthMethods, m)
			}
		}
	}
	for _, m := range c.AuthMethods {
		switch {
		case !slices.Contains(registrableAuthMethods, m):
			return fmt.Errorf("oauthkit: Config.Registration.AuthMethods: %q cannot be registered", m)
		case !slices.Contains(methods, m):
			return fmt.Errorf("oauthkit: Config.Registration.AuthMethods: %q is not among the server's methods (Config.ClientAuthMethods)", m)
		}
	}
	if c.Scopes == nil {
		c.Scopes = s.cfg.ScopesSupported
	}
	for _, sc := range c.Scopes {
		if got, ok := splitScope(sc); !ok || len(got) != 1 {
			return fmt.Errorf("oauthkit: Config.Registration.Scopes: %q is not a scope token", sc)
		}
	}
	if s.cfg.Endpoints.Registration == "" {
		s.cfg.Endpoints.Registration = s.cfg.Issuer + "/register"
	}
	u, err := url.Parse(s.cfg.Endpoints.Registration)
	if err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(u.Path, "/") {
		return fmt.Errorf("oauthkit: Config.Endpoints.Registration %q must be an absolute URL without query, fragment or trailing slash", s.cfg.Endpoints.Registration)
	}
	c.path = u.Path
	s.cfg.Registration = &c
	return nil
}

// RegistrationHandler returns the handler of the client registration
// endpoint (RFC 7591 §3), Endpoints.Registration, and of the client
// configuration endpoints below it (RFC 7592 §2), each client's
// registration_client_uri: Endpoints.Registration, a slash and its client
// ID. Mount it at both, the path of Endpoints.Registration and that path
// with a slash, without stripping the prefix:
//
//	mux.Handle("/register", h)
//	mux.Handle("/register/", h)
//
// POST to the registration endpoint registers a client (201); GET, PUT and
// DELETE on a client's configuration endpoint, with its registration access
// token as a Bearer token, read (200), replace (200) and delete (204) its
// registration. Config.RateLimiter, if set, is asked about every request,
// before anything else, with the request's RemoteAddr and no ClientID, and
// Endpoint "registration" (POST) or "client_configuration" (the others). A
// TokenBucket there limits each source host: with Rate N/period and Burst
// N, it caps the clients one host registers per period;
// RegistrationConfig.MaxClientsPerSource caps those it has at a time. A
// DELETE revokes the client's tokens if Config.Tokens is a ClientRevoker
// (RFC 7592 §2.3).
// With Config.Registration nil, the handler answers every request with 404.
func (s *Server) RegistrationHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := s.cfg.Registration
		if rc == nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h["Cache-Control"] = headerNoStore
		h["Pragma"] = headerNoCache
		ctx := r.Context()
		var id string
		switch p, base := r.URL.Path, rc.path; {
		case p == base:
		case len(p) > len(base)+1 && strings.HasPrefix(p, base+"/") && !strings.Contains(p[len(base)+1:], "/"):
			id = p[len(base)+1:]
		default:
			http.NotFound(w, r)
			return
		}
		endpoint := "registration"
		if id != "" {
			endpoint = "client_configuration"
		}
		if oerr := s.rateLimit(ctx, w, RateLimitKey{Endpoint: endpoint, RemoteAddr: r.RemoteAddr}); oerr != nil {
			s.writeRegistrationError(ctx, w, oerr)
			return
		}
		if id == "" {
			if r.Method != http.MethodPost {
				methodNotAllowed(w, http.MethodPost)
				return
			}
			s.register(w, r)
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodPut, http.MethodDelete:
			s.manageClient(w, r, id)
		default:
			methodNotAllowed(w, "GET, PUT, DELETE")
		}
	})
}

// methodNotAllowed answers 405 with Allow.
func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	e := ErrInvalidRequest.WithDescription("method not allowed")
	e.Status = http.StatusMethodNotAllowed
	writeJSONError(w, e)
}

// writeRegistrationError writes the JSON error response of RFC 7591 §3.2.2
// (RFC 6749 §5.2's form) and logs internal faults.
func (s *Server) writeRegistrationError(ctx context.Context, w http.ResponseWriter, oerr *Error) {
	s.logFault(ctx, "registration", oerr)
	if oerr.Code == ErrServerError.Code && errors.Is(oerr, ErrUnavailable) {
		c := *oerr
		c.Status = http.StatusServiceUnavailable
		oerr = &c
		w.Header().Set("Retry-After", retryAfter)
	}
	writeJSONError(w, oerr)
}

// bearerChallenge answers a request at the registration or configuration
// endpoint whose Bearer token is missing (no error code), malformed
// (invalid_request) or invalid (invalid_token), as RFC 6750 §3 does.
func (s *Server) bearerChallenge(w http.ResponseWriter, code, description string) {
	authheader.Challenge{Realm: s.cfg.Issuer, Error: code, Description: description}.Write(w)
}

// bearerToken reads the request's Bearer token, or answers the request and
// reports false.
func (s *Server) bearerToken(w http.ResponseWriter, r *http.Request) (string, bool) {
	creds, err := authheader.FromHeader(r.Header)
	token := ""
	if creds.Scheme == authheader.SchemeBearer { // a registration access token is a bearer token (RFC 7592 §3)
		token = creds.Token
	}
	switch {
	case err != nil:
		s.bearerChallenge(w, authheader.InvalidRequest, err.Error())
		return "", false
	case token == "":
		s.bearerChallenge(w, "", "")
		return "", false
	}
	return token, true
}

// register serves a client registration request (RFC 7591 §3.1).
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rc := s.cfg.Registration
	if rc.InitialAccessToken != nil {
		token, ok := s.bearerToken(w, r)
		if !ok {
			return
		}
		valid, err := rc.InitialAccessToken(ctx, token)
		switch {
		case err != nil:
			s.writeRegistrationError(ctx, w, asError(err))
			return
		case !valid:
			s.bearerChallenge(w, authheader.InvalidToken, "invalid initial access token")
			return
		}
	}
	info, oerr := func() (*ClientInformation, *Error) {
		md, oerr := s.readClientMetadata(w, r, nil)
		if oerr != nil {
			return nil, oerr
		}
		client, oerr := clientFromMetadata(md, s.registrationPolicy())
		if oerr != nil {
			return nil, oerr
		}
		if oerr := s.authorizeRegistration(r, md); oerr != nil {
			return nil, oerr
		}
		now := s.now().Truncate(time.Second)
		var err error
		if client.ID, err = s.newID(); err != nil {
			return nil, ErrServerError.Wrap(err)
		}
		info := &ClientInformation{ClientID: client.ID}
		if needsSecret(client.AuthMethod) {
			if info.ClientSecret, err = s.newSecret(client, now); err != nil {
				return nil, ErrServerError.Wrap(err)
			}
		}
		if info.RegistrationAccessToken, err = randomToken(s.cfg.Rand); err != nil {
			return nil, ErrServerError.Wrap(err)
		}
		client.Registration.AccessTokenHash = HashToken(info.RegistrationAccessToken)
		client.Registration.IssuedAt = now
		if err := client.Validate(); err != nil { // a backstop: clientFromMetadata checks all of it
			return nil, ErrServerError.Wrap(err)
		}
		if err := s.createClient(ctx, client, r); err != nil {
			if errors.Is(err, ErrLimitReached) {
				e := ErrAccessDenied.WithDescription("this source has registered as many clients as it may")
				e.Status = http.StatusForbidden
				return nil, e
			}
			return nil, ErrServerError.Wrap(err)
		}
		s.fillInformation(info, client)
		return info, nil
	}()
	if oerr != nil {
		s.writeRegistrationError(ctx, w, oerr)
		return
	}
	writeJSON(w, http.StatusCreated, info)
}

// createClient stores a new client registered by the request r, within
// the cap on its source's clients if there is one.
func (s *Server) createClient(ctx context.Context, c *Client, r *http.Request) error {
	rc := s.cfg.Registration
	if rc.MaxClientsPerSource > 0 {
		// setUpRegistration has checked that Store is a ClientCapper.
		return rc.Store.(ClientCapper).CreateClientCapped(ctx, c, remoteHost(r.RemoteAddr), rc.MaxClientsPerSource)
	}
	return rc.Store.CreateClient(ctx, c)
}

// deleteClient deletes a client's registration (RFC 7592 §2.3) and, if
// Config.Tokens is a ClientRevoker, revokes its tokens first: if that
// fails, nothing is deleted and the client may try again.
func (s *Server) deleteClient(ctx context.Context, id string) error {
	if rv, ok := s.cfg.Tokens.(ClientRevoker); ok {
		if err := rv.RevokeClientTokens(ctx, id); err != nil {
			return err
		}
	}
	return s.cfg.Registration.Store.DeleteClient(ctx, id)
}

// manageClient serves the client read, update and delete requests of
// RFC 7592 §2, authorized by the client's registration access token.
func (s *Server) manageClient(w http.ResponseWriter, r *http.Request, id string) {
	ctx := r.Context()
	store := s.cfg.Registration.Store
	token, ok := s.bearerToken(w, r)
	if !ok {
		return
	}
	client, err := store.Client(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		// RFC 7592 §2.1-2.3: an unknown client is 401.
		s.bearerChallenge(w, authheader.InvalidToken, "invalid registration access token")
		return
	case err != nil:
		s.writeRegistrationError(ctx, w, ErrServerError.Wrap(err))
		return
	}
	var want string
	if client.Registration != nil {
		want = client.Registration.AccessTokenHash
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(HashToken(token)), []byte(want)) != 1 {
		s.bearerChallenge(w, authheader.InvalidToken, "invalid registration access token")
		return
	}
	switch r.Method {
	case http.MethodGet:
		info := &ClientInformation{ClientID: client.ID}
		s.fillInformation(info, client)
		writeJSON(w, http.StatusOK, info)
	case http.MethodDelete:
		if err := s.deleteClient(ctx, id); err != nil {
			s.writeRegistrationError(ctx, w, ErrServerError.Wrap(err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPut:
		info, oerr := s.updateClient(w, r, client)
		switch {
		case oerr != nil && errors.Is(oerr.Unwrap(), ErrNotFound): // deleted meanwhile
			s.bearerChallenge(w, authheader.InvalidToken, "invalid registration access token")
		case oerr != nil:
			s.writeRegistrationError(ctx, w, oerr)
		default:
			writeJSON(w, http.StatusOK, info)
		}
	}
}

// updateClient replaces old's metadata with the request's (RFC 7592 §2.2):
// the same validation as a registration, the same client ID, the same
// secret if the client still needs one (a new one if it needs one and had
// none), the same registration access token.
func (s *Server) updateClient(w http.ResponseWriter, r *http.Request, old *Client) (*ClientInformation, *Error) {
	ctx := r.Context()
	var ids struct {
		ClientID     *string `json:"client_id"`
		ClientSecret *string `json:"client_secret"`
	}
	md, oerr := s.readClientMetadata(w, r, &ids)
	if oerr != nil {
		return nil, oerr
	}
	switch {
	case ids.ClientID == nil:
		return nil, ErrInvalidClientMetadata.WithDescription("client_id: required in an update (RFC 7592 §2.2)")
	case *ids.ClientID != old.ID:
		return nil, ErrInvalidClientMetadata.WithDescription("client_id: does not match the client's (RFC 7592 §2.2)")
	}
	if ids.ClientSecret != nil {
		ok, err := VerifySecret(ctx, old.SecretHash, *ids.ClientSecret)
		switch {
		case err != nil:
			return nil, ErrServerError.Wrap(err)
		case !ok:
			return nil, ErrInvalidClientMetadata.WithDescription("client_secret: does not match the client's; a client cannot choose its secret (RFC 7592 §2.2)")
		}
	}
	client, oerr := clientFromMetadata(md, s.registrationPolicy())
	if oerr != nil {
		return nil, oerr
	}
	if oerr := s.authorizeRegistration(r, md); oerr != nil {
		return nil, oerr
	}
	client.ID = old.ID
	if old.Registration != nil {
		client.Registration.AccessTokenHash = old.Registration.AccessTokenHash
		client.Registration.IssuedAt = old.Registration.IssuedAt
	}
	info := &ClientInformation{ClientID: client.ID}
	if needsSecret(client.AuthMethod) {
		if old.SecretHash != "" {
			client.SecretHash = old.SecretHash
			if old.Registration != nil {
				client.Registration.SecretExpiresAt = old.Registration.SecretExpiresAt
			}
		} else {
			var err error
			if info.ClientSecret, err = s.newSecret(client, s.now().Truncate(time.Second)); err != nil {
				return nil, ErrServerError.Wrap(err)
			}
		}
	}
	if err := client.Validate(); err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	if err := s.cfg.Registration.Store.UpdateClient(ctx, client); err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	s.fillInformation(info, client)
	return info, nil
}

// needsSecret reports whether a client of a registrable method gets a
// client secret.
func needsSecret(method string) bool {
	return method == AuthMethodSecretBasic || method == AuthMethodSecretPost
}

// newSecret generates a client secret for c, sets its hash and expiry, and
// returns it.
func (s *Server) newSecret(c *Client, now time.Time) (string, error) {
	secret, hash, err := GenerateSecret(s.cfg.Rand)
	if err != nil {
		return "", err
	}
	c.SecretHash = hash
	if lt := s.cfg.Registration.SecretLifetime; lt > 0 {
		c.Registration.SecretExpiresAt = now.Add(lt)
	}
	return secret, nil
}

// authorizeRegistration asks the host's policy, if any.
func (s *Server) authorizeRegistration(r *http.Request, md *ClientMetadata) *Error {
	if s.cfg.Registration.Authorize == nil {
		return nil
	}
	if err := s.cfg.Registration.Authorize(r.Context(), r, md); err != nil {
		return asError(err)
	}
	return nil
}

// fillInformation sets the metadata and registration fields of info from
// the registered client c.
func (s *Server) fillInformation(info *ClientInformation, c *Client) {
	info.ClientMetadata = metadataOf(c)
	info.RegistrationClientURI = s.cfg.Endpoints.Registration + "/" + c.ID
	if reg := c.Registration; reg != nil && !reg.IssuedAt.IsZero() {
		info.ClientIDIssuedAt = reg.IssuedAt.Unix()
	}
	if c.SecretHash != "" {
		var exp int64
		if c.Registration != nil && !c.Registration.SecretExpiresAt.IsZero() {
			exp = c.Registration.SecretExpiresAt.Unix()
		}
		info.ClientSecretExpiresAt = &exp
	}
}

// metadataOf returns the registered metadata of c.
func metadataOf(c *Client) ClientMetadata {
	md := ClientMetadata{
		RedirectURIs:                       c.RedirectURIs,
		TokenEndpointAuthMethod:            c.authMethod(),
		GrantTypes:                         c.GrantTypes,
		ClientName:                         c.Name,
		Scope:                              strings.Join(c.Scopes, " "),
		JWKSURI:                            c.JWKSURI,
		JWKS:                               c.JWKS,
		DPoPBoundAccessTokens:              c.DPoPBoundAccessTokens,
		RequirePushedAuthorizationRequests: c.RequirePushedAuthorizationRequests,
	}
	if reg := c.Registration; reg != nil {
		md.ResponseTypes = reg.ResponseTypes
		md.ClientURI, md.LogoURI, md.TOSURI, md.PolicyURI = reg.ClientURI, reg.LogoURI, reg.TOSURI, reg.PolicyURI
		md.Contacts = reg.Contacts
		md.SoftwareID, md.SoftwareVersion = reg.SoftwareID, reg.SoftwareVersion
	}
	return md
}

// readClientMetadata reads a JSON client metadata document (RFC 7591 §3.1)
// of at most MaxRequestBytes, and into also, if not nil, for the fields
// ClientMetadata has not.
func (s *Server) readClientMetadata(w http.ResponseWriter, r *http.Request, also any) (*ClientMetadata, *Error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, ErrInvalidRequest.WithDescription("content type must be application/json (RFC 7591 §3.1)")
	}
	body, oerr := s.readBody(w, r)
	if oerr != nil {
		return nil, oerr
	}
	md, err := parseClientMetadata(body)
	if err != nil {
		return nil, asError(err)
	}
	if also != nil {
		if err := json.Unmarshal(body, also); err != nil {
			return nil, metadataDecodeError(err)
		}
	}
	return md, nil
}

// parseClientMetadata parses a client metadata document (RFC 7591 §2): a
// JSON object whose fields of ClientMetadata have their types. Other fields
// are ignored. It returns an *Error, invalid_client_metadata naming the
// field at fault. It only parses: the registration endpoint validates the
// values against the server's configuration.
func parseClientMetadata(data []byte) (*ClientMetadata, error) {
	var md ClientMetadata
	if err := json.Unmarshal(data, &md); err != nil {
		return nil, metadataDecodeError(err)
	}
	if len(md.JWKS) > 0 && string(md.JWKS) == "null" {
		md.JWKS = nil
	}
	return &md, nil
}

// metadataDecodeError describes a JSON decoding failure of client metadata.
func metadataDecodeError(err error) *Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		field, _, _ := strings.Cut(te.Field, ".")
		return ErrInvalidClientMetadata.WithDescription("%s: must be %s", field, metadataFieldTypes[field])
	}
	return ErrInvalidClientMetadata.WithDescription("the client metadata is not a JSON object")
}

// metadataFieldTypes names the JSON type of each field of ClientMetadata,
// and of the fields an update adds.
var metadataFieldTypes = func() map[string]string {
	m := map[string]string{"client_id": "a JSON string", "client_secret": "a JSON string"}
	t := reflect.TypeFor[ClientMetadata]()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case f.Type == reflect.TypeFor[json.RawMessage]():
			m[name] = "a JSON object"
		case f.Type.Kind() == reflect.Slice:
			m[name] = "a JSON array of strings"
		case f.Type.Kind() == reflect.Bool:
			m[name] = "a JSON boolean"
		default:
			m[name] = "a JSON string"
		}
	}
	return m
}()

// registrationPolicy is what a client may register: by the registration
// endpoint, or by a client ID metadata document.
type registrationPolicy struct {
	grantTypes, authMethods, scopes []string
	// defaultAuthMethod is the token_endpoint_auth_method of metadata
	// without one.
	defaultAuthMethod string
	// dpop and par report whether the server can honour
	// dpop_bound_access_tokens (Config.DPoP) and
	// require_pushed_authorization_requests (Config.PAR); metadata that
	// sets one it cannot is refused.
	dpop, par bool
}

// registrationPolicy returns the policy of the registration endpoint.
func (s *Server) registrationPolicy() registrationPolicy {
	rc := s.cfg.Registration
	return registrationPolicy{grantTypes: rc.GrantTypes, authMethods: rc.AuthMethods, scopes: rc.Scopes,
		defaultAuthMethod: AuthMethodSecretBasic, // RFC 7591 §2's default
		dpop:              s.dpop != nil, par: s.cfg.PAR != nil}
}

// clientFromMetadata validates md field by field (RFC 7591 §2) against
// what rc may register, fills in its defaults in place, and returns the
// client it describes, without ID, secret or registration access token.
func clientFromMetadata(md *ClientMetadata, rc registrationPolicy) (*Client, *Error) {
	invalid := ErrInvalidClientMetadata.WithDescription

	// grant_types and response_types, consistent (RFC 7591 §2.1): an
	// omitted one follows from the other, both omitted are
	// authorization_code and code.
	var oerr *Error
	if md.GrantTypes, oerr = registeredList("grant_types", md.GrantTypes); oerr != nil {
		return nil, oerr
	}
	if md.ResponseTypes, oerr = registeredList("response_types", md.ResponseTypes); oerr != nil {
		return nil, oerr
	}
	switch {
	case md.GrantTypes == nil && md.ResponseTypes == nil:
		md.GrantTypes, md.ResponseTypes = []string{GrantTypeAuthorizationCode}, []string{ResponseTypeCode}
	case md.GrantTypes == nil:
		for _, rt := range md.ResponseTypes {
			if gt := grantOfResponseType(rt); gt != "" {
				md.GrantTypes = append(md.GrantTypes, gt)
			}
		}
	case md.ResponseTypes == nil:
		for _, gt := range md.GrantTypes {
			if rt := responseTypeOfGrant(gt); rt != "" {
				md.ResponseTypes = append(md.ResponseTypes, rt)
			}
		}
	}
	for _, rt := range md.ResponseTypes {
		gt := grantOfResponseType(rt)
		switch {
		case gt == "" || !slices.Contains(rc.grantTypes, gt):
			return nil, invalid("response_types: %s is not a response type clients may register here", rt)
		case !slices.Contains(md.GrantTypes, gt):
			return nil, invalid("response_types: %s needs the grant type %s (RFC 7591 §2.1)", rt, gt)
		}
	}
	for _, gt := range md.GrantTypes {
		if !slices.Contains(rc.grantTypes, gt) {
			return nil, invalid("grant_types: %s is not a grant type clients may register here", gt)
		}
	}
	for _, gt := range md.GrantTypes {
		if rt := responseTypeOfGrant(gt); rt != "" && !slices.Contains(md.ResponseTypes, rt) {
			return nil, invalid("grant_types: %s needs the response type %s (RFC 7591 §2.1)", gt, rt)
		}
	}

	// token_endpoint_auth_method, from the server's table.
	if md.TokenEndpointAuthMethod == "" {
		md.TokenEndpointAuthMethod = rc.defaultAuthMethod
	}
	method := md.TokenEndpointAuthMethod
	switch {
	case !slices.Contains(rc.authMethods, method):
		return nil, invalid("token_endpoint_auth_method: %s is not supported; use one of %s", printable(method), strings.Join(rc.authMethods, ", "))
	case method == AuthMethodNone && slices.Contains(md.GrantTypes, GrantTypeClientCredentials):
		return nil, invalid("grant_types: client_credentials needs client authentication, and token_endpoint_auth_method is none")
	}

	// Requirements the server could never meet (RFC 7591 §2 lets it refuse
	// them): a client bound to DPoP would get server_error at every token
	// request (Server.tokenProof), one bound to PAR no authorization.
	switch {
	case md.DPoPBoundAccessTokens && !rc.dpop:
		return nil, invalid("dpop_bound_access_tokens: this server does not issue DPoP-bound tokens (RFC 9449 §5.2)")
	case md.RequirePushedAuthorizationRequests && !rc.par:
		return nil, invalid("require_pushed_authorization_requests: this server does not accept pushed authorization requests (RFC 9126 §6)")
	}

	// redirect_uris, by the rules of Client.Validate.
	if len(md.RedirectURIs) > maxRegisteredValues {
		return nil, ErrInvalidRedirectURI.WithDescription("redirect_uris: more than %d", maxRegisteredValues)
	}
	for i, raw := range md.RedirectURIs {
		if err := validateRedirectURI(raw); err != nil {
			return nil, ErrInvalidRedirectURI.WithDescription("redirect_uris[%d]: %v", i, err)
		}
		if len(raw) > maxRegisteredURILen {
			return nil, ErrInvalidRedirectURI.WithDescription("redirect_uris[%d]: longer than %d bytes", i, maxRegisteredURILen)
		}
	}
	md.RedirectURIs = dedupe(md.RedirectURIs)
	if len(md.RedirectURIs) == 0 && (slices.Contains(md.GrantTypes, GrantTypeAuthorizationCode) || slices.Contains(md.GrantTypes, GrantTypeImplicit)) {
		return nil, ErrInvalidRedirectURI.WithDescription("redirect_uris: required for the authorization_code and implicit grant types")
	}

	// jwks xor jwks_uri.
	switch {
	case len(md.JWKS) > 0 && md.JWKSURI != "":
		return nil, invalid("jwks, jwks_uri: send one or the other (RFC 7591 §2)")
	case len(md.JWKS) > 0:
		if _, _, err := jwks.Parse(md.JWKS, signatureAlgorithms()); err != nil || md.JWKS[0] != '{' {
			return nil, invalid("jwks: not a JWK Set of public signature keys")
		}
	case md.JWKSURI != "":
		if oerr := checkMetadataURL("jwks_uri", md.JWKSURI, false); oerr != nil {
			return nil, oerr
		}
	case method == AuthMethodPrivateKeyJWT:
		return nil, invalid("jwks: private_key_jwt needs jwks or jwks_uri")
	}

	// scope, within what the host allows.
	scopes, ok := splitScope(md.Scope)
	if !ok {
		return nil, invalid("scope: malformed (RFC 6749 §3.3)")
	}
	for _, sc := range scopes {
		if !slices.Contains(rc.scopes, sc) {
			return nil, invalid("scope: %s is not a scope clients may register here", printable(sc))
		}
	}
	if md.Scope == "" {
		scopes = slices.Clone(rc.scopes)
	}
	md.Scope = strings.Join(scopes, " ")

	// What is only kept and echoed back.
	if oerr := checkText("client_name", md.ClientName); oerr != nil {
		return nil, oerr
	}
	for _, f := range []struct{ name, value string }{
		{"client_uri", md.ClientURI}, {"logo_uri", md.LogoURI}, {"tos_uri", md.TOSURI}, {"policy_uri", md.PolicyURI},
	} {
		if f.value != "" {
			if oerr := checkMetadataURL(f.name, f.value, true); oerr != nil {
				return nil, oerr
			}
		}
	}
	if len(md.Contacts) > maxRegisteredValues {
		return nil, invalid("contacts: more than %d", maxRegisteredValues)
	}
	for i, c := range md.Contacts {
		if oerr := checkText(fmt.Sprintf("contacts[%d]", i), c); oerr != nil {
			return nil, oerr
		}
	}
	if oerr := checkText("software_id", md.SoftwareID); oerr != nil {
		return nil, oerr
	}
	if oerr := checkText("software_version", md.SoftwareVersion); oerr != nil {
		return nil, oerr
	}

	c := &Client{
		Name:                               md.ClientName,
		AuthMethod:                         method,
		RedirectURIs:                       md.RedirectURIs,
		GrantTypes:                         md.GrantTypes,
		Scopes:                             scopes,
		JWKS:                               md.JWKS,
		JWKSURI:                            md.JWKSURI,
		DPoPBoundAccessTokens:              md.DPoPBoundAccessTokens,
		RequirePushedAuthorizationRequests: md.RequirePushedAuthorizationRequests,
		Registration: &ClientRegistration{
			ResponseTypes:   md.ResponseTypes,
			ClientURI:       md.ClientURI,
			LogoURI:         md.LogoURI,
			TOSURI:          md.TOSURI,
			PolicyURI:       md.PolicyURI,
			Contacts:        md.Contacts,
			SoftwareID:      md.SoftwareID,
			SoftwareVersion: md.SoftwareVersion,
		},
	}
	return c, nil
}

// grantOfResponseType and responseTypeOfGrant are the correspondence of
// RFC 7591 §2.1 for the response types the server knows.
func grantOfResponseType(rt string) string {
	switch rt {
	case ResponseTypeCode:
		return GrantTypeAuthorizationCode
	case "token":
		return GrantTypeImplicit
	}
	return ""
}

func responseTypeOfGrant(gt string) string {
	switch gt {
	case GrantTypeAuthorizationCode:
		return ResponseTypeCode
	case GrantTypeImplicit:
		return "token"
	}
	return ""
}

// registeredList checks a list of registered names: bounded in number,
// none empty, each printable; duplicates are dropped.
func registeredList(field string, values []string) ([]string, *Error) {
	if values == nil {
		return nil, nil
	}
	if len(values) > maxRegisteredValues {
		return nil, ErrInvalidClientMetadata.WithDescription("%s: more than %d", field, maxRegisteredValues)
	}
	for i, v := range values {
		if v == "" || len(v) > maxRegisteredURILen || printable(v) != v {
			return nil, ErrInvalidClientMetadata.WithDescription("%s[%d]: not a name", field, i)
		}
	}
	out := dedupe(values)
	if len(out) == 0 {
		return nil, ErrInvalidClientMetadata.WithDescription("%s: empty", field)
	}
	return out, nil
}

// dedupe returns values without repeats, in order.
func dedupe(values []string) []string {
	var out []string
	for _, v := range values {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// printable returns s if it is printable ASCII, or a placeholder, so that
// an error description never echoes anything else.
func printable(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\' {
			return "(a value)"
		}
	}
	return s
}

// checkText checks a human-readable metadata value: valid UTF-8 without
// control characters, at most maxRegisteredTextLen bytes.
func checkText(field, v string) *Error {
	switch {
	case len(v) > maxRegisteredTextLen:
		return ErrInvalidClientMetadata.WithDescription("%s: longer than %d bytes", field, maxRegisteredTextLen)
	case !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }):
		return ErrInvalidClientMetadata.WithDescription("%s: not valid UTF-8 text without control characters", field)
	}
	return nil
}

// checkMetadataURL checks a URL of the client's metadata: absolute https
// (or, with loopbackHTTP, http on a loopback host), with a host, without
// user information or fragment, at most maxRegisteredURILen bytes. It keeps
// scripts (javascript:, data:) out of pages that show the URLs.
func checkMetadataURL(field, raw string, loopbackHTTP bool) *Error {
	u, err := url.Parse(raw)
	switch {
	case len(raw) > maxRegisteredURILen:
		return ErrInvalidClientMetadata.WithDescription("%s: longer than %d bytes", field, maxRegisteredURILen)
	case err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || strings.Contains(raw, "#"):
		return ErrInvalidClientMetadata.WithDescription("%s: not an absolute URL with a host and without user information or fragment", field)
	case u.Scheme == "https":
		return nil
	case loopbackHTTP && u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return nil
	default:
		return ErrInvalidClientMetadata.WithDescription("%s: must be an https URL", field)
	}
}

// signatureAlgorithms are the algorithms a registered key set's keys may
// be for.
func signatureAlgorithms() []jose.SignatureAlgorithm {
	algs := make([]jose.SignatureAlgorithm, len(jwks.Algorithms))
	for i, a := range jwks.Algorithms {
		algs[i] = jose.SignatureAlgorithm(a)
	}
	return algs
}

// remoteHost returns the host of an http.Request.RemoteAddr, or the
// address as it is if it has no port.
func remoteHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}
