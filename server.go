package oauthkit

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oauthkit/oauthkit/dpop"
)

// Defaults for the zero values of Config.
const (
	DefaultCodeLifetime         = time.Minute
	MaxCodeLifetime             = 10 * time.Minute // RFC 6749 §4.1.2
	DefaultAccessTokenLifetime  = time.Hour
	DefaultRefreshTokenLifetime = 30 * 24 * time.Hour
	DefaultMaxRequestBytes      = 64 << 10
)

// Config configures a Server. The zero value of every optional field is the
// secure default; fields that give up a protection say so in their name.
// A Config must not be modified after it has been passed to New.
type Config struct {
	// Issuer is the server's issuer identifier (RFC 8414 §2): an https URL
	// with no query or fragment and no trailing slash (endpoint URLs and the
	// metadata's location are the issuer with a path appended); http is
	// accepted only for loopback hosts, for development. Required.
	Issuer string

	// Endpoints are the absolute URLs at which the host mounts the handlers,
	// published in the metadata document. An empty Authorization or Token
	// defaults to Issuer + "/authorize" or Issuer + "/token", an empty
	// PushedAuthorization to Issuer + "/par" when PAR is set, and with
	// Config.Device an empty DeviceAuthorization to Issuer +
	// "/device_authorization"; the others are published only when set.
	Endpoints Endpoints

	// Clients finds registered clients. Required.
	Clients ClientStore
	// Codes keeps authorization codes. Required.
	Codes CodeStore
	// Tokens keeps issued tokens. Required.
	Tokens TokenStore
	// AccessTokens mints access tokens. Nil means opaque tokens
	// ([OpaqueTokens]).
	AccessTokens TokenIssuer
	// AccessTokenFormats are further issuers, chosen per client by
	// Client.AccessTokenFormat (for example "jwt").
	AccessTokenFormats map[string]TokenIssuer

	// IDTokens signs OpenID Connect ID tokens; setting it turns OpenID
	// Connect on for requests with the openid scope. Package jwt provides
	// one. Requires Endpoints.JWKS, where the host publishes the keys.
	IDTokens Signer
	// IDTokenLifetime is how long ID tokens live. Zero means
	// DefaultIDTokenLifetime.
	IDTokenLifetime time.Duration
	// Claims supplies the userinfo claims of OpenID Connect. Nil means
	// userinfo answers only "sub".
	Claims ClaimsSource
	// ScopesSupported and ClaimsSupported are published in the metadata
	// (scopes_supported, claims_supported); they restrict nothing.
	ScopesSupported []string
	ClaimsSupported []string

	// Authorizer authenticates the resource owner and obtains consent at the
	// authorization endpoint. Required for AuthorizeHandler.
	Authorizer Authorizer
	// ErrorPage renders an authorization error that must not be redirected
	// to the client because client_id or redirect_uri is invalid
	// (RFC 6749 §4.1.2.1). Nil writes a plain-text 400 response.
	ErrorPage func(w http.ResponseWriter, r *http.Request, err *Error)

	// ClientAuthMethods are client authentication methods besides the
	// built-in client_secret_basic, client_secret_post and none, such as an
	// RFC 7523 assertion method. An entry named like a built-in or earlier
	// one replaces it. Only the built-in client_secret_basic answers a
	// failure with 401 and a WWW-Authenticate challenge (RFC 6749 §5.2);
	// other methods' failures are 400 invalid_client.
	ClientAuthMethods []ClientAuthMethod

	// ReplayCache remembers the single-use identifiers of client
	// assertions (RFC 7523 §3) and DPoP proofs (RFC 9449 §11.1), shared by
	// every instance on one store. Required by client authentication
	// methods that take assertions, and by DPoP.
	ReplayCache ReplayCache

	// DPoP turns on DPoP-bound tokens (RFC 9449): see DPoPConfig. Nil
	// means off: a DPoP header is ignored and every token is a bearer
	// token. It requires ReplayCache.
	DPoP *DPoPConfig

	// Codecs read the requests and write the answers of the token,
	// introspection and revocation endpoints for APIs that are not RFC 6749
	// (form in, snake_case JSON out), such as JSONCodec. Nil means RFC 6749.
	Codecs Codecs

	// RateLimiter limits each client's requests at the token,
	// introspection, revocation and pushed authorization request
	// endpoints; TokenBucket is one. Nil means no limit.
	RateLimiter RateLimiter

	// PAR turns on pushed authorization requests (RFC 9126), served by
	// PushedAuthorizationHandler. Nil means off: the authorization
	// endpoint refuses request_uri with request_uri_not_supported.
	PAR *PARConfig
	// Registration turns on dynamic client registration (RFC 7591) and its
	// management (RFC 7592) at Endpoints.Registration. Nil means off.
	Registration *RegistrationConfig

	// Resources are resource indicators (RFC 8707) every client may ask
	// for with the resource parameter, at the authorization and token
	// endpoints: absolute URIs without a fragment, such as an API's URL.
	// Client.Resources adds more per client; any other is refused with
	// invalid_target. A token issued for resources has them as its
	// audience. Empty, with no Client.Resources, refuses every resource
	// parameter.
	Resources []string

	// Device turns on the device authorization grant (RFC 8628) for
	// clients registered for GrantTypeDeviceCode. Nil leaves it off.
	Device *DeviceConfig

	// Issuance decides, per token request, lifetimes, extra claims and
	// response parameters, the token type and imported token values (see
	// IssuanceHook). Nil keeps the defaults.
	Issuance IssuanceHook

	// RefreshPolicy is consulted by the refresh_token grant before it
	// rotates a refresh token or issues anything: whether the user is still
	// active and which of the granted scopes the user may still have (see
	// RefreshPolicy). Nil honours every valid refresh token as granted.
	RefreshPolicy RefreshPolicy

	// Grants are grant types served at the token endpoint besides the
	// built-in authorization_code and refresh_token, such as those of package
	// grants or the host's own extension grants. A later entry for a grant
	// type replaces an earlier one.
	Grants []GrantHandler

	// AllowImplicitGrant enables response_type=token for clients registered
	// with GrantTypeImplicit. The implicit grant exposes access tokens in the
	// browser and is deprecated by RFC 9700 §2.1.2.
	AllowImplicitGrant bool
	// InsecureAllowQueryParameters lets clients send the parameters of the
	// token, introspection and revocation endpoints in the URL's query of
	// their POST, as some legacy clients do; a parameter sent in both the
	// query and the body is refused as repeated. RFC 6749 §3.2 and RFC 9700
	// keep credentials (client secrets, codes, refresh tokens) out of URLs,
	// which servers, proxies and browsers log. A POST with no body and no
	// Content-Type then needs none: its parameters are the query's.
	InsecureAllowQueryParameters bool
	// AllowPlainPKCE accepts code_challenge_method=plain, which protects
	// nothing if the authorization request leaks (RFC 7636 §4.2).
	AllowPlainPKCE bool
	// PKCEOptionalForConfidentialClients lets confidential clients omit PKCE.
	// Public clients must always use it. RFC 9700 §2.1.1 recommends PKCE for
	// every client, as the defence against code injection.
	PKCEOptionalForConfidentialClients bool
	// DisableRefreshTokenRotation keeps a refresh token valid after use
	// instead of replacing it, giving up reuse detection (RFC 9700 §4.14.2).
	DisableRefreshTokenRotation bool
	// RefreshTokenGracePeriod lets a client retry, for this long, a refresh
	// whose response it lost: the immediately previous refresh token is then
	// accepted once more, and never twice; the successor that retry replaced
	// stays known, and presenting it later is reuse, which revokes the family
	// (RFC 9700 §4.14.2). Zero means no retries.
	RefreshTokenGracePeriod time.Duration

	// CodeLifetime is how long an authorization code is redeemable. Zero
	// means DefaultCodeLifetime; at most MaxCodeLifetime.
	CodeLifetime time.Duration
	// AccessTokenLifetime is how long access tokens live. Zero means
	// DefaultAccessTokenLifetime.
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime is how long a refresh token lives from its issue;
	// each rotation issues a new one. Zero means DefaultRefreshTokenLifetime.
	RefreshTokenLifetime time.Duration
	// MaxRequestBytes bounds request bodies. Zero means
	// DefaultMaxRequestBytes.
	MaxRequestBytes int64

	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Rand is the source of codes and tokens. Nil means crypto/rand.
	Rand io.Reader
	// Logger receives internal faults (never tokens, codes or secrets).
	// Nil means slog.Default().
	Logger *slog.Logger
}

// Endpoints are the URLs of the server's endpoints, as mounted by the host.
type Endpoints struct {
	Authorization string
	Token         string
	Revocation    string
	Introspection string
	JWKS          string
	UserInfo      string
	// PushedAuthorization is PushedAuthorizationHandler's URL (RFC 9126
	// §5); only with Config.PAR.
	PushedAuthorization string
	// DeviceAuthorization is RFC 8628 §4's device_authorization_endpoint,
	// published only with Config.Device.
	DeviceAuthorization string
	// Registration is the client registration endpoint (RFC 7591 §3),
	// published when Config.Registration is set; empty means
	// Issuer + "/register".
	Registration string
}

// Server is an OAuth 2.0 authorization server. Its handlers are safe for
// concurrent use.
type Server struct {
	cfg          Config
	now          func() time.Time
	log          *slog.Logger
	grants       map[string]GrantHandler
	verifiers    []TokenVerifier            // issuers of self-contained tokens
	authMethods  []ClientAuthMethod         // built-in and configured, by name
	redeemer     CodeRedeemer               // Config.Codes, if it is also Config.Tokens and can redeem in one transaction
	repeatable   map[string]map[string]bool // grant type → parameters allowed to repeat
	authOptional map[string]bool            // grant types whose client need not authenticate
	device       *deviceState               // Config.Device, validated; nil when off
	metadataJSON []byte
	dpop         *dpop.Verifier // nil when Config.DPoP is
	openIDWarned sync.Map       // client ID → true, once warnOpenIDOff has logged it
}

// New validates cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	if err := validateIssuer(cfg.Issuer); err != nil {
		return nil, err
	}
	switch {
	case cfg.Clients == nil:
		return nil, errors.New("oauthkit: Config.Clients is required")
	case cfg.Codes == nil:
		return nil, errors.New("oauthkit: Config.Codes is required")
	case cfg.Tokens == nil:
		return nil, errors.New("oauthkit: Config.Tokens is required")
	case cfg.IDTokens != nil && cfg.Endpoints.JWKS == "":
		return nil, errors.New("oauthkit: Config.IDTokens needs Config.Endpoints.JWKS, where clients find the keys")
	case cfg.CodeLifetime < 0 || cfg.CodeLifetime > MaxCodeLifetime:
		return nil, fmt.Errorf("oauthkit: Config.CodeLifetime must be between 0 and %v", MaxCodeLifetime)
	case cfg.AccessTokenLifetime < 0 || cfg.RefreshTokenLifetime < 0 || cfg.RefreshTokenGracePeriod < 0 || cfg.MaxRequestBytes < 0 || cfg.IDTokenLifetime < 0:
		return nil, errors.New("oauthkit: Config lifetimes and limits must not be negative")
	}
	switch {
	case cfg.PAR != nil:
		par := *cfg.PAR // the caller's value stays as it is
		if err := par.validate(); err != nil {
			return nil, err
		}
		cfg.PAR = &par
		if cfg.Endpoints.PushedAuthorization == "" {
			cfg.Endpoints.PushedAuthorization = cfg.Issuer + "/par"
		}
	case cfg.Endpoints.PushedAuthorization != "":
		return nil, errors.New("oauthkit: Config.Endpoints.PushedAuthorization needs Config.PAR")
	}
	for _, r := range cfg.Resources {
		if !validResource(r) {
			return nil, fmt.Errorf("oauthkit: Config.Resources: %q is not an absolute URI without a fragment (RFC 8707 §2)", r)
		}
	}
	if cfg.CodeLifetime == 0 {
		cfg.CodeLifetime = DefaultCodeLifetime
	}
	if cfg.AccessTokenLifetime == 0 {
		cfg.AccessTokenLifetime = DefaultAccessTokenLifetime
	}
	if cfg.RefreshTokenLifetime == 0 {
		cfg.RefreshTokenLifetime = DefaultRefreshTokenLifetime
	}
	if cfg.IDTokenLifetime == 0 {
		cfg.IDTokenLifetime = DefaultIDTokenLifetime
	}
	if cfg.MaxRequestBytes == 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.Endpoints.Authorization == "" {
		cfg.Endpoints.Authorization = cfg.Issuer + "/authorize"
	}
	if cfg.Endpoints.Token == "" {
		cfg.Endpoints.Token = cfg.Issuer + "/token"
	}
	if cfg.Device == nil && cfg.Endpoints.DeviceAuthorization != "" {
		return nil, errors.New("oauthkit: Config.Endpoints.DeviceAuthorization needs Config.Device")
	}
	if cfg.Device != nil && cfg.Endpoints.DeviceAuthorization == "" {
		cfg.Endpoints.DeviceAuthorization = cfg.Issuer + "/device_authorization"
	}
	s := &Server{
		cfg:          cfg,
		now:          cfg.Now,
		log:          cfg.Logger,
		grants:       make(map[string]GrantHandler),
		repeatable:   make(map[string]map[string]bool),
		authOptional: make(map[string]bool),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if cfg.Device != nil {
		var err error
		if s.device, err = newDeviceState(*cfg.Device, s.now); err != nil {
			return nil, err
		}
	}
	var err error
	if s.dpop, err = newDPoPVerifier(&cfg, s.now); err != nil {
		return nil, err
	}
	if s.cfg.AccessTokens == nil {
		s.cfg.AccessTokens = OpaqueTokens{Rand: cfg.Rand}
	}
	for _, iss := range append([]TokenIssuer{s.cfg.AccessTokens}, mapValues(cfg.AccessTokenFormats)...) {
		if v, ok := iss.(TokenVerifier); ok {
			s.verifiers = append(s.verifiers, v)
		}
	}
	for _, m := range append(slices.Clone(builtinAuthMethods), cfg.ClientAuthMethods...) {
		if m == nil || m.Name() == "" {
			return nil, errors.New("oauthkit: Config.ClientAuthMethods has a nil method or an empty name")
		}
		if i := slices.IndexFunc(s.authMethods, func(o ClientAuthMethod) bool { return o.Name() == m.Name() }); i >= 0 {
			s.authMethods[i] = m
		} else {
			s.authMethods = append(s.authMethods, m)
		}
	}
	for i, m := range s.authMethods {
		if b, ok := m.(serverBinder); ok { // a method that needs the server's configuration
			bound, err := b.bind(s)
			if err != nil {
				return nil, err
			}
			s.authMethods[i] = bound
		}
	}
	for _, c := range []Codec{cfg.Codecs.Token, cfg.Codecs.Introspection, cfg.Codecs.Revocation} {
		if v, ok := c.(interface{ validate() error }); ok {
			if err := v.validate(); err != nil {
				return nil, err
			}
		}
	}
	if r, ok := cfg.Codes.(CodeRedeemer); ok && sameValue(cfg.Codes, cfg.Tokens) {
		s.redeemer = r
	}
	builtins := []GrantHandler{authorizationCodeGrant{s}, refreshTokenGrant{s}}
	if s.device != nil {
		builtins = append(builtins, deviceCodeGrant{s})
	}
	for _, g := range append(builtins, cfg.Grants...) {
		if g == nil || g.GrantType() == "" {
			return nil, errors.New("oauthkit: Config.Grants has a nil handler or an empty grant type")
		}
		s.grants[g.GrantType()] = g
		if oa, ok := g.(OptionalClientAuthentication); ok && oa.ClientAuthenticationOptional() {
			s.authOptional[g.GrantType()] = true
		}
		set := map[string]bool{"resource": true} // RFC 8707 §2, for every grant
		if rp, ok := g.(RepeatableParameters); ok {
			for _, p := range rp.RepeatableParameters() {
				if slices.Contains(coreTokenParams, p) {
					return nil, fmt.Errorf("oauthkit: grant %s declares core parameter %s repeatable", g.GrantType(), p)
				}
				set[p] = true
			}
		}
		s.repeatable[g.GrantType()] = set
	}
	if err := s.setUpRegistration(); err != nil {
		return nil, err
	}
	if s.metadataJSON, err = s.buildMetadata(); err != nil {
		return nil, err
	}
	return s, nil
}

// mapValues returns m's values sorted by key, so that start-up is
// deterministic.
func mapValues[V any](m map[string]V) []V {
	keys := slices.Sorted(maps.Keys(m))
	vs := make([]V, len(keys))
	for i, k := range keys {
		vs[i] = m[k]
	}
	return vs
}

// sameValue reports whether a and b are the same comparable value, such as
// one store passed as two interfaces.
func sameValue(a, b any) bool {
	t := reflect.TypeOf(a)
	return t == reflect.TypeOf(b) && t != nil && t.Comparable() && a == b
}

// coreTokenParams are token endpoint parameters that must never repeat,
// whatever a grant declares.
var coreTokenParams = []string{"grant_type", "client_id", "client_secret", "scope", "code", "redirect_uri",
	"code_verifier", "refresh_token", "username", "password"}

func validateIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	switch {
	case issuer == "":
		return errors.New("oauthkit: Config.Issuer is required")
	case err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.ContainsAny(issuer, "?#"):
		return fmt.Errorf("oauthkit: Config.Issuer %q must be an absolute URL with no query, fragment or user info", issuer)
	case strings.HasSuffix(issuer, "/"):
		return fmt.Errorf("oauthkit: Config.Issuer %q must not end with a slash: write %q (RFC 8414 §3 appends the metadata path to it)", issuer, strings.TrimRight(issuer, "/"))
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return nil
	default:
		return fmt.Errorf("oauthkit: Config.Issuer %q must use https (http only for loopback)", issuer)
	}
}

// Issuer returns the configured issuer identifier.
func (s *Server) Issuer() string { return s.cfg.Issuer }

// newID returns a fresh 256-bit random identifier, base64url-encoded.
func (s *Server) newID() (string, error) { return randomToken(s.cfg.Rand) }

// randomToken returns 256 random bits from r, base64url-encoded (43
// characters). Nil r means crypto/rand, read without a heap allocation.
func randomToken(r io.Reader) (string, error) {
	var b [32]byte
	if r == nil {
		rand.Read(b[:]) // never fails, and b stays on the stack
	} else {
		// A slice handed to an arbitrary Reader escapes: read into one of
		// its own, so that b stays on the stack in the default case.
		buf := make([]byte, len(b))
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("oauthkit: reading randomness: %w", err)
		}
		copy(b[:], buf)
	}
	var enc [43]byte
	base64.RawURLEncoding.Encode(enc[:], b[:])
	return string(enc[:]), nil
}

// retryAfter is the Retry-After value (RFC 9110 §10.2.3) of a 503
// response: a store coming back, a queue of slow verifications draining.
const retryAfter = "5"

// logFault logs the internal cause of a server_error or
// temporarily_unavailable. A request whose client went away, or that a rate
// limit refused, is no fault (and, logged, would let anyone flood the log).
func (s *Server) logFault(ctx context.Context, endpoint string, e *Error) {
	switch {
	case e.Code != ErrServerError.Code && e.Code != ErrTemporarilyUnavailable.Code,
		errors.Is(e, context.Canceled),
		e.Unwrap() == nil && e.Code == ErrTemporarilyUnavailable.Code: // a rate limit: no fault
		return
	}
	s.log.ErrorContext(ctx, "oauthkit: internal fault", "endpoint", endpoint, "error", e.Unwrap())
}
