package oauthkit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/oauthkit/oauthkit/internal/jwks"
)

// AuthMethodPrivateKeyJWT is the name of the [PrivateKeyJWT] client
// authentication method (OpenID Connect Core 1.0 §9, RFC 7591 §2).
const AuthMethodPrivateKeyJWT = "private_key_jwt"

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

// Limits of assertion client authentication.
const (
	assertionLeeway      = 30 * time.Second // clocks that run apart: nbf, iat and the exp bound
	maxAssertionBytes    = 8 << 10          // far beyond an RSA-4096 signature and a few claims
	maxClientKeySetBytes = 64 << 10         // a client's jwks_uri document
	maxCachedKeySets     = 1024             // parsed JWK Sets and remote key sets kept, each
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
// client_secret_jwt (an HMAC keyed with the client secret) is not
// supported: it needs the secret itself, which the server stores only as a
// hash.
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
	// with a FetchTimeout timeout.
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
	case s.cfg.ReplayCache == nil:
		return nil, errors.New("oauthkit: PrivateKeyJWT needs Config.ReplayCache, to use each assertion once")
	case m.MaxLifetime < 0 || m.FetchTimeout < 0:
		return nil, errors.New("oauthkit: PrivateKeyJWT durations must not be negative")
	case m.Algorithms != nil && len(m.Algorithms) == 0:
		return nil, errors.New("oauthkit: PrivateKeyJWT.Algorithms is empty")
	}
	b := &privateKeyJWT{
		PrivateKeyJWT: m,
		issuer:        s.cfg.Issuer,
		tokenEndpoint: s.cfg.Endpoints.Token,
		replay:        s.cfg.ReplayCache,
		now:           s.now,
		sets:          make(map[string]*jwks.Set),
		remotes:       make(map[string]*jwks.Remote),
	}
	for _, a := range m.SigningAlgorithms() {
		if !slices.Contains(jwks.Algorithms, a) {
			return nil, fmt.Errorf("oauthkit: PrivateKeyJWT.Algorithms: %q is not an allowed asymmetric JWS algorithm", a)
		}
		b.algs = append(b.algs, jose.SignatureAlgorithm(a))
	}
	if b.MaxLifetime == 0 {
		b.MaxLifetime = DefaultAssertionMaxLifetime
	}
	if b.FetchTimeout == 0 {
		b.FetchTimeout = DefaultJWKSFetchTimeout
	}
	return b, nil
}

// privateKeyJWT is a PrivateKeyJWT bound to a server by New.
type privateKeyJWT struct {
	PrivateKeyJWT
	algs          []jose.SignatureAlgorithm
	issuer        string
	tokenEndpoint string
	replay        ReplayCache
	now           func() time.Time

	mu      sync.Mutex
	sets    map[string]*jwks.Set    // Client.JWKS → its parsed keys
	remotes map[string]*jwks.Remote // Client.JWKSURI → its keys
}

// assertionClaims are the claims of a client assertion (RFC 7523 §3).
type assertionClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ID        string           `json:"jti"`
}

// errAssertion returns invalid_client for a refused assertion.
func errAssertion(format string, args ...any) *Error {
	return ErrInvalidClient.WithDescription("client_assertion "+format, args...)
}

// parseAssertion parses a client assertion without verifying it: its JWS,
// restricted to algs, and its claims. Its errors are invalid_client.
func parseAssertion(assertion string, algs []jose.SignatureAlgorithm) (*jose.JSONWebSignature, *assertionClaims, *Error) {
	switch {
	case assertion == "":
		return nil, nil, ErrInvalidClient.WithDescription("client_assertion missing")
	case len(assertion) > maxAssertionBytes:
		return nil, nil, errAssertion("too long")
	case strings.Count(assertion, ".") != 2:
		return nil, nil, errAssertion("is not a signed JWT in compact serialization")
	}
	jws, err := jose.ParseSignedCompact(assertion, algs)
	if err != nil {
		if _, ok := errors.AsType[*jose.ErrUnexpectedSignatureAlgorithm](err); ok {
			return nil, nil, errAssertion("signature algorithm not allowed")
		}
		return nil, nil, errAssertion("is not a well-formed JWS")
	}
	var c assertionClaims
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c); err != nil {
		return nil, nil, errAssertion("claims are not a well-formed JSON object")
	}
	return jws, &c, nil
}

// check applies the claim rules of RFC 7523 §3 at now, but the jti's
// single use.
func (m *privateKeyJWT) check(c *assertionClaims, clientID string, now time.Time) *Error {
	switch {
	case c.Subject == "" || c.Issuer != c.Subject:
		return errAssertion("iss and sub must both be the client ID")
	case clientID != "" && clientID != c.Subject:
		return ErrInvalidClient.WithDescription("client_id does not match the client_assertion sub")
	case !c.Audience.Contains(m.issuer) && !c.Audience.Contains(m.tokenEndpoint):
		return errAssertion("aud must contain the issuer or the token endpoint URL")
	case c.Expiry == nil:
		return errAssertion("exp missing")
	case !now.Before(c.Expiry.Time()):
		return errAssertion("expired")
	case c.Expiry.Time().After(now.Add(m.MaxLifetime + assertionLeeway)):
		return errAssertion("exp more than %v ahead", m.MaxLifetime)
	case c.NotBefore != nil && c.NotBefore.Time().After(now.Add(assertionLeeway)):
		return errAssertion("not yet valid (nbf)")
	case c.IssuedAt != nil && c.IssuedAt.Time().After(now.Add(assertionLeeway)):
		return errAssertion("iat in the future")
	case c.ID == "":
		return errAssertion("jti missing")
	}
	return nil
}

func (m *privateKeyJWT) Authenticate(ctx context.Context, _ *http.Request, form url.Values, clients ClientStore) (*Client, error) {
	jws, claims, oerr := parseAssertion(form.Get("client_assertion"), m.algs)
	if oerr != nil {
		return nil, oerr
	}
	now := m.now()
	if oerr := m.check(claims, form.Get("client_id"), now); oerr != nil {
		return nil, oerr
	}
	client, err := clients.Client(ctx, claims.Subject)
	if err != nil {
		return nil, err
	}
	if !client.allowsAuthMethod(AuthMethodPrivateKeyJWT) {
		return nil, errClientAuthFailed() // and its keys are not fetched
	}
	header := jws.Signatures[0].Header
	key, err := m.key(ctx, client, header.KeyID, header.Algorithm)
	if err != nil {
		return nil, err
	}
	if _, err := jws.Verify(key); err != nil {
		return nil, errAssertion("signature invalid")
	}
	ok, err := m.replay.Remember(ctx, assertionReplayKey(client.ID, claims.ID), now, claims.Expiry.Time())
	switch {
	case err != nil:
		return nil, fmt.Errorf("oauthkit: remembering a client assertion's jti: %w", err)
	case !ok:
		return nil, errAssertion("replayed (jti used before)")
	}
	return client, nil
}

// assertionReplayKey is the replay cache key of a client's assertion: the
// jti is unique per issuer, the client (RFC 7519 §4.1.7). Both are hashed,
// length-prefixed, into a key of fixed length.
func assertionReplayKey(clientID, jti string) string {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(clientID)))
	h.Write(n[:])
	h.Write([]byte(clientID))
	h.Write([]byte(jti))
	return "private_key_jwt:" + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// key returns the client's public key for kid and alg, from Client.JWKS or
// Client.JWKSURI.
func (m *privateKeyJWT) key(ctx context.Context, client *Client, kid, alg string) (any, error) {
	switch {
	case len(client.JWKS) > 0 && client.JWKSURI != "":
		return nil, ErrInvalidClient.WithDescription("the client has both jwks and jwks_uri registered")
	case len(client.JWKS) > 0:
		set, err := m.parsedSet(client.JWKS)
		if err != nil {
			return nil, ErrInvalidClient.WithDescription("the client's registered JWK Set is not usable").Wrap(err)
		}
		if k := set.Key(kid, alg); k != nil {
			return k, nil
		}
		return nil, errAssertion("signed with an unknown key")
	case client.JWKSURI != "":
		remote, err := m.remote(client.JWKSURI)
		if err != nil {
			return nil, ErrInvalidClient.WithDescription("the client's jwks_uri is not an https URL")
		}
		k, err := remote.Key(ctx, kid, alg)
		switch {
		case err == nil:
			return k, nil
		case errors.Is(err, jwks.ErrUnknownKey):
			return nil, errAssertion("signed with an unknown key")
		case errors.Is(err, jwks.ErrInvalidSet):
			return nil, ErrInvalidClient.WithDescription("the client's jwks_uri serves no usable JWK Set").Wrap(err)
		case errors.Is(err, jwks.ErrUnavailable):
			return nil, fmt.Errorf("oauthkit: fetching the JWK Set of client %s: %w: %w", client.ID, ErrUnavailable, err)
		default:
			return nil, err // ctx's
		}
	default:
		return nil, ErrInvalidClient.WithDescription("the client has no registered keys")
	}
}

// parsedSet returns the parsed form of a registered JWK Set, from a bounded
// cache: parsing costs more than the lookup.
func (m *privateKeyJWT) parsedSet(data []byte) (*jwks.Set, error) {
	m.mu.Lock()
	set := m.sets[string(data)]
	m.mu.Unlock()
	if set != nil {
		return set, nil
	}
	set, _, err := jwks.Parse(data, m.algs)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sets) >= maxCachedKeySets {
		clear(m.sets)
	}
	m.sets[string(data)] = set
	return set, nil
}

// remote returns the remote key set at rawURL, which must be https, from a
// bounded cache that keeps fetched keys and the rate limit of refetches.
func (m *privateKeyJWT) remote(rawURL string) (*jwks.Remote, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.remotes[rawURL]; r != nil {
		return r, nil
	}
	if u, err := url.Parse(rawURL); err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return nil, errors.New("not an https URL")
	}
	if len(m.remotes) >= maxCachedKeySets {
		for k := range m.remotes { // drop one: its keys are fetched again if needed
			delete(m.remotes, k)
			break
		}
	}
	r := jwks.NewRemote(jwks.Config{
		URL:          rawURL,
		Algorithms:   m.algs,
		Client:       m.HTTPClient,
		FetchTimeout: m.FetchTimeout,
		MaxBytes:     maxClientKeySetBytes,
		Now:          m.now,
	})
	m.remotes[rawURL] = r
	return r, nil
}
