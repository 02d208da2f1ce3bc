package bearer

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
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
	minRSABits       = 2048
)

// allAlgorithms are the asymmetric JWS algorithms a JWKS validator accepts.
// "none" and the HMAC algorithms are never accepted: a resource server that
// can verify an HMAC can also forge one.
var allAlgorithms = []string{
	"ES256", "ES384", "ES512",
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"EdDSA",
}

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
// Tokens bound to a key ("cnf", RFC 9449, RFC 8705) are refused, since a
// bearer token is used without proof of possession. A token whose "sub"
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
	url        string
	issuer     string
	audience   string
	algs       []jose.SignatureAlgorithm
	client     *http.Client
	leeway     time.Duration
	minRefresh time.Duration
	maxAge     time.Duration
	now        func() time.Time
	log        *slog.Logger

	keys atomic.Pointer[keySet] // nil until the first successful fetch

	mu          sync.Mutex
	fetching    *call[*keySet] // the fetch in progress, or nil
	lastAttempt time.Time      // start of the latest fetch
	lastErr     error          // outcome of the latest completed fetch
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
		url:        cfg.URL,
		issuer:     cfg.Issuer,
		audience:   cfg.Audience,
		client:     cfg.Client,
		leeway:     cfg.Leeway,
		minRefresh: cfg.MinRefreshInterval,
		maxAge:     cfg.MaxAge,
		now:        cfg.Now,
		log:        cfg.Logger,
	}
	algs := cfg.Algorithms
	if algs == nil {
		algs = allAlgorithms
	}
	if len(algs) == 0 {
		return nil, errors.New("bearer: JWKSConfig.Algorithms is empty")
	}
	for _, a := range algs {
		if !slices.Contains(allAlgorithms, a) {
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
	if v.minRefresh == 0 {
		v.minRefresh = DefaultMinRefreshInterval
	}
	if v.maxAge == 0 {
		v.maxAge = DefaultKeySetMaxAge
	}
	if v.client == nil {
		v.client = &http.Client{Timeout: DefaultFetchTimeout}
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.log == nil {
		v.log = slog.Default()
	}
	return v, nil
}

// Refresh fetches the key set now, unless a fetch started less than
// MinRefreshInterval ago, and reports the outcome of the latest fetch.
// Validate fetches when needed; Refresh lets a host load the keys at
// startup or check that they can be had.
func (v *JWKS) Refresh(ctx context.Context) error {
	_, err := v.refresh(ctx, v.keys.Load())
	return err
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
	case c.hasExtra("cnf"):
		return invalid("sender-constrained token (cnf) presented as a bearer token")
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

// key returns the public key for a token's kid and alg, fetching the key
// set if it is missing or lacks the key. A stale set is refreshed in the
// background while it goes on being used.
func (v *JWKS) key(ctx context.Context, kid, alg string) (any, error) {
	ks := v.keys.Load()
	if ks == nil {
		var err error
		if ks, err = v.refresh(ctx, nil); ks == nil {
			return nil, err
		}
	} else if !v.now().Before(ks.fetched.Add(v.maxAge)) {
		v.start(ctx, ks)
	}
	if k := ks.lookup(kid, alg); k != nil {
		return k, nil
	}
	fresh, err := v.refresh(ctx, ks)
	if fresh != nil {
		if k := fresh.lookup(kid, alg); k != nil {
			return k, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return nil, invalid("unknown signing key")
}

// refresh returns a key set newer than seen, fetching one if need be; see
// start. The set returned is nil only if no fetch ever succeeded; the error
// is that of the latest fetch, wrapping ErrUnavailable, or ctx's.
func (v *JWKS) refresh(ctx context.Context, seen *keySet) (*keySet, error) {
	c, cur, err := v.start(ctx, seen)
	if c != nil {
		cur, err = c.wait(ctx)
	}
	if cur == nil && err == nil {
		err = unavailable(errors.New("no key set"))
	}
	return cur, err
}

// start begins a fetch of the key set and returns it, unless a set newer
// than seen is installed already, or a fetch is running (which it returns),
// or the latest fetch started less than minRefresh ago: then it returns the
// current set and the outcome of the latest fetch.
func (v *JWKS) start(ctx context.Context, seen *keySet) (*call[*keySet], *keySet, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	cur := v.keys.Load()
	switch {
	case cur != seen && cur != nil:
		return nil, cur, nil
	case v.fetching != nil:
		return v.fetching, nil, nil
	case !v.lastAttempt.IsZero() && v.now().Sub(v.lastAttempt) < v.minRefresh:
		return nil, cur, v.lastErr
	}
	// Nobody joins the call: a fetch goes on even if every request that
	// waits for it goes away, for the next ones.
	c := newCall[*keySet](ctx)
	v.fetching = c
	v.lastAttempt = v.now()
	go v.fetch(c)
	return c, nil, nil
}

// fetch runs call c: it fetches and installs the key set, and completes c
// with the new set, or with the current one and the error.
func (v *JWKS) fetch(c *call[*keySet]) {
	ctx, cancel := context.WithTimeout(c.ctx, DefaultFetchTimeout)
	defer cancel()
	ks, err := v.download(ctx)
	v.mu.Lock()
	defer v.mu.Unlock()
	if err != nil {
		err = unavailable(err)
		v.log.WarnContext(ctx, "bearer: fetching the JSON Web Key Set failed", "url", v.url, "error", err)
		ks = v.keys.Load()
	} else {
		v.keys.Store(ks)
	}
	v.lastErr = err
	v.fetching = nil
	c.finish(ks, err)
}

// download GETs and parses the key set.
func (v *JWKS) download(ctx context.Context) (*keySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("key set endpoint answered %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxResponseBytes {
		return nil, errors.New("key set larger than 1 MiB")
	}
	ks, skipped, err := parseKeySet(body, v.algs)
	if err != nil {
		return nil, err
	}
	if skipped > 0 {
		v.log.DebugContext(ctx, "bearer: ignored unusable keys in the JSON Web Key Set", "url", v.url, "count", skipped)
	}
	ks.fetched = v.now()
	return ks, nil
}

// keySet is a parsed JSON Web Key Set, immutable once published.
type keySet struct {
	byKID   map[string][]verifyKey
	all     []verifyKey
	fetched time.Time
}

// verifyKey is a public signature verification key.
type verifyKey struct {
	alg string // the JWK's "alg", or empty
	key any    // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// parseKeySet keeps the usable keys of a JWK Set (RFC 7517 §5): public
// signature keys of a type some allowed algorithm uses. Other keys are
// skipped and counted; a set with no usable key is an error. A set that
// publishes a private key is refused outright.
func parseKeySet(data []byte, algs []jose.SignatureAlgorithm) (*keySet, int, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, 0, errors.New("key set is not a JWK Set")
	}
	ks := &keySet{byKID: make(map[string][]verifyKey)}
	skipped := 0
	for _, raw := range set.Keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(raw); err != nil || !jwk.Valid() {
			skipped++
			continue
		}
		if !jwk.IsPublic() {
			if _, symmetric := jwk.Key.([]byte); !symmetric {
				return nil, 0, errors.New("key set publishes a private key")
			}
			skipped++ // a shared secret: never used for verification
			continue
		}
		k := verifyKey{alg: jwk.Algorithm, key: jwk.Key}
		if jwk.Use != "" && jwk.Use != "sig" ||
			!slices.ContainsFunc(algs, func(a jose.SignatureAlgorithm) bool { return k.fits(string(a)) }) {
			skipped++
			continue
		}
		ks.byKID[jwk.KeyID] = append(ks.byKID[jwk.KeyID], k)
		ks.all = append(ks.all, k)
	}
	if len(ks.all) == 0 {
		return nil, 0, errors.New("key set has no usable signature key")
	}
	return ks, skipped, nil
}

// lookup returns the key to verify a token signed with alg by the key kid.
// A token without kid is accepted only if exactly one key fits alg, so that
// a token cannot make the validator try every key.
func (ks *keySet) lookup(kid, alg string) any {
	candidates := ks.byKID[kid]
	if kid == "" {
		candidates = ks.all
	}
	var found any
	for _, k := range candidates {
		if k.fits(alg) {
			if found != nil {
				return nil
			}
			found = k.key
		}
	}
	return found
}

// fits reports whether k can verify signatures made with alg.
func (k verifyKey) fits(alg string) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch key := k.key.(type) {
	case *rsa.PublicKey:
		return key.N.BitLen() >= minRSABits && (strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS"))
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return key.Curve == elliptic.P256()
		case "ES384":
			return key.Curve == elliptic.P384()
		case "ES512":
			return key.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}
