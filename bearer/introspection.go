package bearer

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oauthkit/oauthkit/internal/flight"
)

// Defaults for the zero values of IntrospectionConfig.
const (
	DefaultCacheTTL         = 30 * time.Second
	DefaultNegativeCacheTTL = 5 * time.Second
	DefaultCacheSize        = 10000
	DefaultMaxConcurrent    = 16
)

// IntrospectionConfig configures an Introspection validator. The zero value
// of every optional field is the secure default.
type IntrospectionConfig struct {
	// URL is the authorization server's introspection endpoint
	// (RFC 7662 §2). It must be https; http is accepted only for loopback
	// hosts. Required.
	URL string
	// ClientID and ClientSecret are the resource server's credentials at
	// the authorization server, sent with HTTP Basic authentication
	// (RFC 6749 §2.3.1). Required.
	ClientID     string
	ClientSecret string

	// Issuer, if set, must equal the "iss" of every introspection response.
	Issuer string
	// Audience, if set, must be in the "aud" of every introspection
	// response. Leave it empty only if the authorization server checks the
	// audience itself, as oauthkit's does for the client calling it.
	Audience string

	// Client makes the introspection requests. Nil means a client with a
	// DefaultFetchTimeout timeout.
	Client *http.Client
	// CacheTTL is how long an active token's claims are remembered, so that
	// a client's burst of requests costs one introspection. Entries never
	// outlive the token's "exp". A revoked token may be accepted for this
	// long. Zero means DefaultCacheTTL; negative disables the cache.
	CacheTTL time.Duration
	// NegativeCacheTTL is how long a refused token (inactive, expired, for
	// another audience, ...) is remembered, so that a token presented again
	// and again costs one introspection per NegativeCacheTTL. A token the
	// authorization server does not know yet (a lagging replica) stays
	// refused for this long. Zero means DefaultNegativeCacheTTL; negative
	// disables the negative cache.
	NegativeCacheTTL time.Duration
	// CacheSize bounds the number of cached tokens, active and refused
	// ones each: refused tokens never evict active ones. Zero means
	// DefaultCacheSize.
	CacheSize int
	// MaxConcurrent bounds the introspection calls in flight at once, so
	// that a flood of distinct tokens, junk ones included, does not become
	// a flood of calls to the authorization server. Requests beyond it
	// wait for a free slot for as long as their context allows. Zero means
	// DefaultMaxConcurrent.
	MaxConcurrent int

	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Logger receives introspection failures. Nil means slog.Default().
	Logger *slog.Logger
}

// Introspection is a Validator that asks the authorization server about each
// token ([RFC 7662]) and caches the answers briefly. It is safe for
// concurrent use.
//
// A token is accepted if the response says "active": true; its "exp", if
// any, is in the future; its token_type, if any, is Bearer or DPoP; and
// "iss" and "aud" match Issuer and Audience when those are set. A token
// bound to a DPoP key ("cnf": {"jkt": …}, RFC 9449 §6.2) has its thumbprint
// in Claims.JKT, and the middleware asks for its proof; token_type DPoP
// without one, or a token bound to a key by other means (RFC 8705), is
// refused. A response whose "sub" equals its "client_id" is the client's own
// token: its claims have SubjectIsClient set (see [Claims]).
//
// Concurrent requests with the same token share one introspection call,
// which ends as soon as every request waiting for it has gone (its context
// ended); at most MaxConcurrent calls are in flight, and requests beyond
// that wait their turn. Answers are cached, active ones for CacheTTL and
// refused ones for NegativeCacheTTL. The caches are keyed by the SHA-256 of
// the token; they never hold tokens.
//
// [RFC 7662]: https://www.rfc-editor.org/rfc/rfc7662
type Introspection struct {
	url      string
	auth     string // the Authorization header value
	issuer   string
	audience string
	client   *http.Client
	ttl      time.Duration
	negTTL   time.Duration
	size     int
	sem      chan struct{} // one value per call in flight
	now      func() time.Time
	log      *slog.Logger

	mu      sync.Mutex
	cache   map[[sha256.Size]byte]cacheEntry            // active tokens
	refused map[[sha256.Size]byte]refusedEntry          // the negative cache
	calls   map[[sha256.Size]byte]*flight.Call[*Claims] // calls in progress
}

type cacheEntry struct {
	claims  *Claims
	expires time.Time
}

// refusedEntry remembers why a token was refused.
type refusedEntry struct {
	err     error // wraps ErrInvalidToken
	expires time.Time
}

// NewIntrospection validates cfg and returns an Introspection validator.
func NewIntrospection(cfg IntrospectionConfig) (*Introspection, error) {
	if err := checkEndpoint("IntrospectionConfig.URL", cfg.URL); err != nil {
		return nil, err
	}
	switch {
	case cfg.ClientID == "" || cfg.ClientSecret == "":
		return nil, errors.New("bearer: IntrospectionConfig.ClientID and ClientSecret are required")
	case cfg.CacheSize < 0:
		return nil, errors.New("bearer: IntrospectionConfig.CacheSize must not be negative")
	case cfg.MaxConcurrent < 0:
		return nil, errors.New("bearer: IntrospectionConfig.MaxConcurrent must not be negative")
	}
	maxConcurrent := cfg.MaxConcurrent
	if maxConcurrent == 0 {
		maxConcurrent = DefaultMaxConcurrent
	}
	// RFC 6749 §2.3.1: both are form-urlencoded before Basic encoding.
	userPass := url.QueryEscape(cfg.ClientID) + ":" + url.QueryEscape(cfg.ClientSecret)
	v := &Introspection{
		url:      cfg.URL,
		auth:     "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass)),
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		client:   cfg.Client,
		ttl:      cfg.CacheTTL,
		negTTL:   cfg.NegativeCacheTTL,
		size:     cfg.CacheSize,
		sem:      make(chan struct{}, maxConcurrent),
		now:      cfg.Now,
		log:      cfg.Logger,
		cache:    make(map[[sha256.Size]byte]cacheEntry),
		refused:  make(map[[sha256.Size]byte]refusedEntry),
		calls:    make(map[[sha256.Size]byte]*flight.Call[*Claims]),
	}
	if v.ttl == 0 {
		v.ttl = DefaultCacheTTL
	}
	if v.negTTL == 0 {
		v.negTTL = DefaultNegativeCacheTTL
	}
	if v.size == 0 {
		v.size = DefaultCacheSize
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

// Validate introspects token, or answers from the cache; see
// [Introspection].
func (v *Introspection) Validate(ctx context.Context, token string) (*Claims, error) {
	if token == "" || len(token) > maxTokenBytes {
		return nil, invalid("empty or too long")
	}
	key := sha256.Sum256([]byte(token))
	now := v.now()
	v.mu.Lock()
	if e, ok := v.cache[key]; ok {
		if now.Before(e.expires) {
			v.mu.Unlock()
			return e.claims.clone(), nil
		}
		delete(v.cache, key)
	}
	if e, ok := v.refused[key]; ok {
		if now.Before(e.expires) {
			v.mu.Unlock()
			return nil, e.err
		}
		delete(v.refused, key)
	}
	c := v.calls[key]
	if c == nil || !c.Join() { // none, or one every waiter has left
		c = flight.New[*Claims](ctx)
		c.Join()
		v.calls[key] = c
		go v.run(key, token, c)
	}
	v.mu.Unlock()
	claims, err := c.Wait(ctx)
	if err != nil {
		return nil, err
	}
	return claims.clone(), nil
}

// run performs call c: it introspects token, caches the answer, and
// completes c.
func (v *Introspection) run(key [sha256.Size]byte, token string, c *flight.Call[*Claims]) {
	claims, err := v.introspectLimited(c.Ctx, token)
	abandoned := c.Ctx.Err() != nil // only abandonment cancels it before finish
	if err != nil && !errors.Is(err, ErrInvalidToken) && !abandoned {
		v.log.WarnContext(c.Ctx, "bearer: token introspection failed", "url", v.url, "error", err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.calls[key] == c {
		delete(v.calls, key)
	}
	// Cache the answer before the waiters have it, with the time it came:
	// a waiter that asks again at once must find it, and the entry's
	// lifetime must not depend on when the waiters are woken.
	defer c.Finish(claims, err)
	now := v.now()
	switch {
	case err == nil && v.ttl > 0:
		expires := now.Add(v.ttl)
		if !claims.ExpiresAt.IsZero() && claims.ExpiresAt.Before(expires) {
			expires = claims.ExpiresAt
		}
		if !now.Before(expires) {
			return
		}
		if len(v.cache) >= v.size {
			evict(v.cache, v.size, now, func(e cacheEntry) time.Time { return e.expires })
		}
		v.cache[key] = cacheEntry{claims: claims, expires: expires}
	case errors.Is(err, ErrInvalidToken) && v.negTTL > 0:
		if len(v.refused) >= v.size {
			evict(v.refused, v.size, now, func(e refusedEntry) time.Time { return e.expires })
		}
		v.refused[key] = refusedEntry{err: err, expires: now.Add(v.negTTL)}
	}
}

// introspectLimited is introspect once a slot among the MaxConcurrent is
// free, or ctx's error if ctx ends first.
func (v *Introspection) introspectLimited(ctx context.Context, token string) (*Claims, error) {
	select {
	case v.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-v.sem }()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultFetchTimeout)
	defer cancel()
	return v.introspect(ctx, token)
}

// evict makes room in a full cache m of capacity size: it drops expired
// entries and, if that frees less than an eighth of it, arbitrary others.
func evict[E any](m map[[sha256.Size]byte]E, size int, now time.Time, expires func(E) time.Time) {
	for k, e := range m {
		if !now.Before(expires(e)) {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) < size-size/8 {
			break
		}
		delete(m, k)
	}
}

// introspect asks the introspection endpoint about token (RFC 7662 §2.1)
// and checks the answer.
func (v *Introspection) introspect(ctx context.Context, token string) (*Claims, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.url, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", v.auth)
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, unavailable(errors.New("introspection request failed: " + redactURLError(err)))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 500:
		return nil, unavailable(fmt.Errorf("introspection endpoint answered %s", resp.Status))
	case resp.StatusCode != http.StatusOK:
		// 401 and 403 mean the resource server's credentials are refused.
		return nil, fmt.Errorf("bearer: introspection endpoint answered %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, unavailable(errors.New("reading the introspection response failed"))
	}
	if len(body) > maxResponseBytes {
		return nil, errors.New("bearer: introspection response larger than 1 MiB")
	}
	claims, err := parseClaims(body)
	if err != nil {
		return nil, fmt.Errorf("bearer: malformed introspection response: %w", err)
	}
	return claims, v.check(claims)
}

// check applies the checks of [Introspection] to a response.
func (v *Introspection) check(c *Claims) error {
	raw, _ := c.takeExtra("active")
	if string(raw) != "true" {
		return invalid("inactive")
	}
	if err := c.takeConfirmation(); err != nil {
		return err
	}
	if raw, ok := c.Extra["token_type"]; ok && !isNull(raw) {
		var typ string
		switch {
		case json.Unmarshal(raw, &typ) != nil:
			return invalid("malformed token_type")
		case strings.EqualFold(typ, "dpop") && c.JKT == "":
			return invalid("token_type DPoP without cnf.jkt")
		case !strings.EqualFold(typ, "bearer") && !strings.EqualFold(typ, "dpop"):
			return invalid("token_type is neither Bearer nor DPoP")
		}
	}
	switch {
	case !c.ExpiresAt.IsZero() && !v.now().Before(c.ExpiresAt):
		return invalid("expired")
	case v.issuer != "" && c.Issuer != v.issuer:
		return invalid("wrong issuer")
	case v.audience != "" && !slices.Contains(c.Audience, v.audience):
		return invalid("wrong audience")
	}
	c.SubjectIsClient = c.subjectIsClient()
	return nil
}

// redactURLError returns the message of an http.Client error without the
// request URL's query, if any.
func redactURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}
