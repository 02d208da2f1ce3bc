package bearer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit/internal/jwks"
)

// Defaults for the zero values of JWKSConfig and IntrospectionConfig.
const (
	DefaultLeeway             = 30 * time.Second
	DefaultMinRefreshInterval = 10 * time.Second
	DefaultKeySetMaxAge       = 10 * time.Minute
	DefaultFetchTimeout       = 10 * time.Second
)

// Limits on what is read from the network and from requests.
const (
	maxTokenBytes    = 16 << 10
	maxResponseBytes = 1 << 20
)

// JWKSConfig configures a JWKS validator. The zero value of every optional
// field is the secure default.
type JWKSConfig struct {
	// URL is where the authorization server publishes its JSON Web Key Set:
	// the jwks_uri of its metadata (RFC 8414 §2). It must be https; http is
	// accepted only for loopback hosts. Required.
	URL string
	// Issuer is the authorization server's issuer identifier; a token's
	// "iss" must equal it exactly. Required.
	Issuer string
	// Audience identifies this resource server; a token's "aud" must
	// contain it (RFC 9068 §4). Required.
	Audience string

	// Algorithms lists the JWS algorithms accepted, among ES256, ES384,
	// ES512, RS256, RS384, RS512, PS256, PS384, PS512 and EdDSA. Nil means
	// all of them. "none" and HS256/HS384/HS512 are refused.
	Algorithms []string

	// Client fetches the key set. Nil means a client with a
	// DefaultFetchTimeout timeout.
	Client *http.Client
	// Leeway tolerates clocks that run apart: a token whose "nbf" or "iat"
	// is at most Leeway in the future is accepted. Zero means
	// DefaultLeeway; negative means none. A token is never accepted at or
	// after its "exp" (RFC 9068 §4).
	Leeway time.Duration
	// MinRefreshInterval bounds how often the key set is fetched: a token
	// signed with an unknown key ("kid") triggers a fetch, at most once per
	// MinRefreshInterval, whatever the number of requests. Zero means
	// DefaultMinRefreshInterval.
	MinRefreshInterval time.Duration
	// MaxAge is how long a fetched key set is used before it is fetched
	// again, so that keys the authorization server withdraws stop being
	// accepted. If that fetch fails, the old keys are used until a fetch
	// succeeds. Zero means DefaultKeySetMaxAge.
	MaxAge time.Duration

	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Logger receives key set fetch failures. Nil means slog.Default().
	Logger *slog.Logger
}

// JWKS is a Validator of JWT access tokens ([RFC 9068]) that checks them
// locally with the keys the authorization server publishes at its jwks_uri.
// It is safe for concurrent use.
//
// A token is accepted only if it is a compact JWS whose header has typ
// "at+jwt" (or "application/at+jwt") and an allowed asymmetric alg, whose
// signature verifies with a published key of matching type (RSA keys of at
// least 2048 bits), and whose claims have "iss" equal to the Issuer, "aud"
// containing the Audience, an "exp" in the future, "iat" and "nbf" (if any)
// not in the future beyond the leeway, and "sub", "client_id" and "jti".
// A token bound to a DPoP key ("cnf": {"jkt": …}, RFC 9449 §6.1) has its
// thumbprint in Claims.JKT, and the middleware asks for its proof; a token
// bound to a key by other means (RFC 8705) is refused. A token whose "sub"
// equals its "client_id" is the client's own: its claims have
// SubjectIsClient set (see [Claims]).
//
// Anything that is not three dot-separated parts is refused with
// ErrUnrecognizedToken, so that [Fallback] can pass opaque tokens on.
// Encrypted (JWE) access tokens are not supported.
//
// The key set is fetched on first use, when MaxAge has passed, and when a
// token names a key it does not hold; fetches are shared by concurrent
// requests and rate-limited. Validation reads the current key set without
// locking.
//
// [RFC 9068]: https://www.rfc-editor.org/rfc/rfc9068
type JWKS struct {
	issuer   string
	audience string
	algs     []jose.SignatureAlgorithm
	leeway   time.Duration
	now      func() time.Time
	keys     *jwks.Remote
}

// NewJWKS validates cfg and returns a JWKS validator. It does not fetch the
// key set; call [JWKS.Refresh] to do so at startup.
func NewJWKS(cfg JWKSConfig) (*JWKS, error) {
	if err := checkEndpoint("JWKSConfig.URL", cfg.URL); err != nil {
		return nil, err
	}
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("bearer: JWKSConfig.Issuer is required")
	case cfg.Audience == "":
		return nil, errors.New("bearer: JWKSConfig.Audience is required")
	case cfg.MinRefreshInterval < 0 || cfg.MaxAge < 0:
		return nil, errors.New("bearer: JWKSConfig intervals must not be negative")
	}
	v := &JWKS{
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		leeway:   cfg.Leeway,
		now:      cfg.Now,
	}
	algs := cfg.Algorithms
	if algs == nil {
		algs = jwks.Algorithms
	}
	if len(algs) == 0 {
		return nil, errors.New("bearer: JWKSConfig.Algorithms is empty")
	}
	for _, a := range algs {
		if !slices.Contains(jwks.Algorithms, a) {
			return nil, fmt.Errorf("bearer: JWKSConfig.Algorithms: %q is not an allowed asymmetric JWS algorithm", a)
		}
		v.algs = append(v.algs, jose.SignatureAlgorithm(a))
	}
	switch {
	case v.leeway == 0:
		v.leeway = DefaultLeeway
	case v.leeway < 0:
		v.leeway = 0
	}
	if v.now == nil {
		v.now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	v.keys = jwks.NewRemote(jwks.Config{
		URL:                cfg.URL,
		Algorithms:         v.algs,
		Client:             cfg.Client,
		FetchTimeout:       DefaultFetchTimeout,
		MaxBytes:           maxResponseBytes,
		MinRefreshInterval: cmp.Or(cfg.MinRefreshInterval, DefaultMinRefreshInterval),
		MaxAge:             cmp.Or(cfg.MaxAge, DefaultKeySetMaxAge),
		Now:                v.now,
		Logger:             cfg.Logger,
		LogPrefix:          "bearer",
	})
	return v, nil
}

// Refresh fetches the key set now, unless a fetch started less than
// MinRefreshInterval ago, and reports the outcome of the latest fetch.
// Validate fetches when needed; Refresh lets a host load the keys at
// startup or check that they can be had.
func (v *JWKS) Refresh(ctx context.Context) error {
	return keySetError(v.keys.Refresh(ctx))
}

// Validate checks token as a JWT access token; see [JWKS].
func (v *JWKS) Validate(ctx context.Context, token string) (*Claims, error) {
	if strings.Count(token, ".") != 2 {
		return nil, ErrUnrecognizedToken
	}
	if len(token) > maxTokenBytes {
		return nil, invalid("token too long")
	}
	jws, err := jose.ParseSignedCompact(token, v.algs)
	if err != nil {
		var algErr *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &algErr) {
			return nil, invalid("signature algorithm not allowed")
		}
		return nil, invalid("malformed JWS")
	}
	header := jws.Signatures[0].Protected
	if typ, _ := header.ExtraHeaders[jose.HeaderType].(string); !isAccessTokenType(typ) {
		return nil, invalid(`typ is not "at+jwt"`)
	}
	key, err := v.key(ctx, header.KeyID, header.Algorithm)
	if err != nil {
		return nil, err
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, invalid("bad signature")
	}
	claims, err := parseClaims(payload)
	if err != nil {
		return nil, invalid(err.Error())
	}
	if err := v.checkClaims(claims); err != nil {
		return nil, err
	}
	claims.SubjectIsClient = claims.subjectIsClient()
	return claims, nil
}

// isAccessTokenType reports whether typ is "at+jwt" or "application/at+jwt",
// compared case-insensitively (RFC 9068 §2.1, RFC 7515 §4.1.9).
func isAccessTokenType(typ string) bool {
	typ = strings.ToLower(typ)
	return typ == "at+jwt" || typ == "application/at+jwt"
}

// checkClaims applies the claim checks of RFC 9068 §4.
func (v *JWKS) checkClaims(c *Claims) error {
	now := v.now()
	switch {
	case c.Issuer != v.issuer:
		return invalid("wrong issuer")
	case !slices.Contains(c.Audience, v.audience):
		return invalid("wrong audience")
	case c.ExpiresAt.IsZero():
		return invalid("no exp")
	case !now.Before(c.ExpiresAt):
		return invalid("expired")
	case c.IssuedAt.IsZero():
		return invalid("no iat")
	case c.IssuedAt.After(now.Add(v.leeway)):
		return invalid("iat in the future")
	case c.Subject == "" || c.ClientID == "" || c.ID == "":
		return invalid("sub, client_id or jti missing")
	}
	if err := c.takeConfirmation(); err != nil {
		return err
	}
	if raw, ok := c.Extra["nbf"]; ok && !isNull(raw) {
		nbf, err := parseNumericDate(raw)
		if err != nil {
			return invalid("malformed nbf")
		}
		if nbf.After(now.Add(v.leeway)) {
			return invalid("not yet valid (nbf)")
		}
	}
	return nil
}

// key returns the public key for a token's kid and alg from the remote key
// set, mapping its errors to the package's.
func (v *JWKS) key(ctx context.Context, kid, alg string) (any, error) {
	k, err := v.keys.Key(ctx, kid, alg)
	switch {
	case err == nil:
		return k, nil
	case errors.Is(err, jwks.ErrUnknownKey):
		return nil, invalid("unknown signing key")
	default:
		return nil, keySetError(err)
	}
}

// keySetError maps a failed fetch of the key set, whether the endpoint
// could not be reached or served no usable set, to ErrUnavailable. Other
// errors (ctx's) are returned as they are.
func keySetError(err error) error {
	if errors.Is(err, jwks.ErrUnavailable) || errors.Is(err, jwks.ErrInvalidSet) {
		return unavailable(err)
	}
	return err
}
