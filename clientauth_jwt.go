package oauthkit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit/internal/assertion"
	"github.com/oauthkit/oauthkit/internal/jwks"
	"github.com/oauthkit/oauthkit/internal/publicnet"
)

// Names of the JWT assertion client authentication methods, [PrivateKeyJWT]
// and [ClientSecretJWT] (OpenID Connect Core 1.0 §9, RFC 7591 §2).
const (
	AuthMethodPrivateKeyJWT   = "private_key_jwt"
	AuthMethodClientSecretJWT = "client_secret_jwt"
)

// ClientAssertionTypeJWTBearer is the client_assertion_type of a JWT client
// assertion ([RFC 7523 §2.2]).
//
// [RFC 7523 §2.2]: https://www.rfc-editor.org/rfc/rfc7523#section-2.2
const ClientAssertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Defaults for the zero values of PrivateKeyJWT.
const (
	// DefaultAssertionMaxLifetime bounds how far ahead a client
	// assertion's exp may be.
	DefaultAssertionMaxLifetime = 5 * time.Minute
	// DefaultJWKSFetchTimeout bounds each fetch of a client's jwks_uri.
	DefaultJWKSFetchTimeout = 5 * time.Second
)

// PrivateKeyJWT is the private_key_jwt client authentication method
// ([RFC 7523 §2.2] and [§3], [OpenID Connect Core 1.0 §9]): the client signs a
// JWT with its private key and sends it as client_assertion, with
// client_assertion_type [ClientAssertionTypeJWTBearer]. Add it to
// Config.ClientAuthMethods; it needs Config.ReplayCache. A client uses it
// when registered with AuthMethod [AuthMethodPrivateKeyJWT] and its public
// keys in Client.JWKS or at Client.JWKSURI.
//
// An assertion is accepted only if it is a compact JWS signed with an
// allowed asymmetric algorithm by a key of the client's (found by kid, or
// the client's only key of the algorithm's type; never a key the JWS
// header embeds or points to), and if its claims have iss and sub equal to
// the client's ID (and to client_id, if the request has one), an aud that
// contains the issuer or the token endpoint URL (Config.Endpoints.Token),
// an exp in the future and at most MaxLifetime ahead, nbf and iat (if
// present) not in the future, and a jti not used before: the jti is
// remembered in Config.ReplayCache until the exp, so that an assertion is
// accepted once across every instance sharing the cache. A leeway of 30
// seconds tolerates clocks that run apart (for nbf, iat and the bound on
// exp, never for exp itself). "none" and the HMAC algorithms are never
// accepted, so a public key cannot serve as an HMAC secret.
//
// A Client.JWKSURI must be https; it is fetched with a time and size
// bound, cached, fetched again when an assertion names a key it lacks (at
// most once per 10 seconds) and after 10 minutes. A fetch that fails or
// times out is an internal fault wrapping [ErrUnavailable] (503 and
// Retry-After at the token endpoint); a document that is not a usable JWK
// Set is refused as invalid_client.
//
// For client_secret_jwt, an HMAC keyed with the client secret, see
// [ClientSecretJWT].
//
// [RFC 7523 §2.2]: https://www.rfc-editor.org/rfc/rfc7523#section-2.2
// [§3]: https://www.rfc-editor.org/rfc/rfc7523#section-3
// [OpenID Connect Core 1.0 §9]: https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication
type PrivateKeyJWT struct {
	// Algorithms lists the JWS algorithms accepted, among ES256, ES384,
	// ES512, RS256, RS384, RS512, PS256, PS384, PS512 and EdDSA (RSA keys
	// of at least 2048 bits). Nil means all of them.
	Algorithms []string
	// MaxLifetime bounds how far in the future an assertion's exp may be,
	// and so how long its jti is remembered. Zero means
	// DefaultAssertionMaxLifetime.
	MaxLifetime time.Duration
	// HTTPClient fetches clients' jwks_uri documents. Nil means a client
	// with a FetchTimeout timeout, and, for clients that registered
	// themselves (Client.Registration set: RFC 7591, client ID metadata
	// documents), which chose their jwks_uri, one that reaches only public
	// addresses, against server-side request forgery. A host that sets
	// HTTPClient takes that on for every client.
	HTTPClient *http.Client
	// FetchTimeout bounds each fetch of a jwks_uri, whatever HTTPClient's
	// own timeout. Zero means DefaultJWKSFetchTimeout.
	FetchTimeout time.Duration
}

// Name returns AuthMethodPrivateKeyJWT.
func (PrivateKeyJWT) Name() string { return AuthMethodPrivateKeyJWT }

// Presented reports whether client_assertion_type is
// ClientAssertionTypeJWTBearer.
func (PrivateKeyJWT) Presented(_ *http.Request, form url.Values) bool {
	return form.Get("client_assertion_type") == ClientAssertionTypeJWTBearer
}

// Authenticate returns an internal error: the method authenticates only as
// an entry of Config.ClientAuthMethods, which gives it the server's issuer,
// token endpoint and replay cache.
func (PrivateKeyJWT) Authenticate(context.Context, *http.Request, url.Values, ClientStore) (*Client, error) {
	return nil, errors.New("oauthkit: PrivateKeyJWT authenticates only through Config.ClientAuthMethods")
}

// SigningAlgorithms returns the accepted algorithms, for the metadata's
// token_endpoint_auth_signing_alg_values_supported.
func (m PrivateKeyJWT) SigningAlgorithms() []string {
	if m.Algorithms == nil {
		return slices.Clone(jwks.Algorithms)
	}
	return slices.Clone(m.Algorithms)
}

// serverBinder is implemented by the client authentication methods of this
// package that need the server's configuration: New replaces each with the
// method bind returns, or fails with its error.
type serverBinder interface {
	bind(s *Server) (ClientAuthMethod, error)
}

// bind checks m and returns it bound to the server's issuer, token endpoint,
// replay cache and clock.
func (m PrivateKeyJWT) bind(s *Server) (ClientAuthMethod, error) {
	switch {
	case m.MaxLifetime < 0 || m.FetchTimeout < 0:
		return nil, errors.New("oauthkit: PrivateKeyJWT durations must not be negative")
	case m.Algorithms != nil && len(m.Algorithms) == 0:
		return nil, errors.New("oauthkit: PrivateKeyJWT.Algorithms is empty")
	}
	var algs []jose.SignatureAlgorithm
	for _, a := range m.SigningAlgorithms() {
		if !slices.Contains(jwks.Algorithms, a) {
			return nil, fmt.Errorf("oauthkit: PrivateKeyJWT.Algorithms: %q is not an allowed asymmetric JWS algorithm", a)
		}
		algs = append(algs, jose.SignatureAlgorithm(a))
	}
	if m.FetchTimeout == 0 {
		m.FetchTimeout = DefaultJWKSFetchTimeout
	}
	keys := assertion.NewClientKeys(algs, m.HTTPClient, m.FetchTimeout, s.now)
	selfRegistered := keys
	if m.HTTPClient == nil {
		selfRegistered = assertion.NewClientKeys(algs, publicnet.NewClient(publicnet.Config{Timeout: m.FetchTimeout}), m.FetchTimeout, s.now)
	}
	return s.bindAssertionAuth("PrivateKeyJWT", AuthMethodPrivateKeyJWT, algs, m.MaxLifetime,
		func(ctx context.Context, client *Client, kid, alg string) (any, error) {
			k := keys
			if client.Registration != nil {
				k = selfRegistered
			}
			key, err := k.Key(ctx, client.JWKS, client.JWKSURI, kid, alg)
			if errors.Is(err, jwks.ErrUnavailable) {
				return nil, fmt.Errorf("oauthkit: fetching the JWK Set of client %s: %w: %w", client.ID, ErrUnavailable, err)
			}
			return key, err
		})
}

// assertionAuth is a JWT assertion method bound to a server: private_key_jwt
// or client_secret_jwt (RFC 7523 §2.2), which differ only in their
// algorithms and in where the key comes from.
type assertionAuth struct {
	name     string
	verifier assertion.Verifier
	now      func() time.Time
	// key returns the client's key for kid and alg: an *assertion.Refusal,
	// or an internal fault.
	key func(ctx context.Context, client *Client, kid, alg string) (any, error)
	// hmac reports that the method takes HMAC assertions; shared that
	// another method of the server takes the other ones, so that the alg
	// routes an assertion to one of them.
	hmac, shared bool
}

// bindAssertionAuth checks what the assertion methods need of the server
// and returns the method name (of type typ), bound to it.
func (s *Server) bindAssertionAuth(typ, name string, algs []jose.SignatureAlgorithm, maxLifetime time.Duration,
	key func(ctx context.Context, client *Client, kid, alg string) (any, error)) (*assertionAuth, error) {
	if s.cfg.ReplayCache == nil {
		return nil, fmt.Errorf("oauthkit: %s needs Config.ReplayCache, to use each assertion once", typ)
	}
	if maxLifetime == 0 {
		maxLifetime = DefaultAssertionMaxLifetime
	}
	hmac := name == AuthMethodClientSecretJWT
	other := AuthMethodClientSecretJWT
	if hmac {
		other = AuthMethodPrivateKeyJWT
	}
	return &assertionAuth{
		name: name,
		verifier: assertion.Verifier{
			Algorithms:  algs,
			Audiences:   []string{s.cfg.Issuer, s.cfg.Endpoints.Token},
			MaxLifetime: maxLifetime,
			Replay:      s.cfg.ReplayCache,
		},
		now:  s.now,
		key:  key,
		hmac: hmac,
		shared: slices.ContainsFunc(s.authMethods, func(m ClientAuthMethod) bool {
			return m.Name() == other
		}),
	}, nil
}

func (a *assertionAuth) Name() string { return a.name }

// Presented reports a client assertion; when the server has both
// private_key_jwt and client_secret_jwt, an HMAC one (by its header's alg)
// is client_secret_jwt's and any other private_key_jwt's.
func (a *assertionAuth) Presented(_ *http.Request, form url.Values) bool {
	if form.Get("client_assertion_type") != ClientAssertionTypeJWTBearer {
		return false
	}
	return !a.shared || strings.HasPrefix(assertion.HeaderAlg(form.Get("client_assertion")), "HS") == a.hmac
}

// SigningAlgorithms returns the accepted algorithms.
func (a *assertionAuth) SigningAlgorithms() []string {
	algs := make([]string, len(a.verifier.Algorithms))
	for i, alg := range a.verifier.Algorithms {
		algs[i] = string(alg)
	}
	return algs
}

func (a *assertionAuth) Authenticate(ctx context.Context, _ *http.Request, form url.Values, clients ClientStore) (*Client, error) {
	var client *Client
	_, err := a.verifier.Verify(ctx, form.Get("client_assertion"), a.now(), func(ctx context.Context, c *assertion.Claims, kid, alg string) (any, error) {
		switch id := form.Get("client_id"); {
		case c.Issuer != c.Subject:
			return nil, assertion.Refuse("iss and sub must both be the client ID")
		case id != "" && id != c.Subject:
			return nil, ErrInvalidClient.WithDescription("client_id does not match the client_assertion sub")
		}
		var err error
		if client, err = clients.Client(ctx, c.Subject); err != nil {
			return nil, err
		}
		if !client.allowsAuthMethod(a.name) {
			return nil, errClientAuthFailed() // and its keys are not fetched
		}
		return a.key(ctx, client, kid, alg)
	})
	if r, ok := errors.AsType[*assertion.Refusal](err); ok {
		return nil, ErrInvalidClient.WithDescription("%s", r.Description("client_assertion")).Wrap(r.Err)
	}
	if err != nil {
		return nil, err
	}
	return client, nil
}
