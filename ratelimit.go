package oauthkit

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// RateLimiter limits the requests of each client at the back-channel
// endpoints (token, introspection, revocation, device authorization), and
// the user-code lookups of a device verification page per limiter key
// (DeviceConfig.UserCodeLimiter). The server asks it once per back-channel
// request whose client is authenticated; a refused request is answered 429
// Too Many Requests with Retry-After and the error temporarily_unavailable
// (RFC 6749 §4.1.2.1's code for an overloaded server). A nil
// Config.RateLimiter means no limit; a nil DeviceConfig.UserCodeLimiter, a
// TokenBucket. TokenBucket is an in-memory implementation.
//
// Implementations must be safe for concurrent use.
type RateLimiter interface {
	// Allow reports whether one more request of key may be served now and,
	// if not, how long the client should wait before it tries again.
	Allow(ctx context.Context, key RateLimitKey) (ok bool, retryAfter time.Duration)
}

// RateLimitKey says whose request a RateLimiter is asked about.
type RateLimitKey struct {
	// Endpoint is "token", "introspection", "revocation",
	// "pushed_authorization", "device_authorization", "registration",
	// "client_configuration", or "device_verification" for a user-code
	// lookup (Server.DeviceRequest).
	Endpoint string
	// ClientID is the authenticated client, or empty where no client is
	// authenticated: a user-code lookup, and the "registration" and
	// "client_configuration" endpoints (RFC 7591, RFC 7592).
	ClientID string
	// Caller is the limiter key the host passed with a user-code lookup
	// (Server.DeviceRequest), such as the user's network address or
	// session; empty at the back-channel endpoints.
	Caller string
	// RemoteAddr is the request's network address, as in
	// http.Request.RemoteAddr, for limits by network. Behind a proxy, the
	// host sets it to the client's.
	RemoteAddr string
}

// rateLimit asks the configured RateLimiter about a request, and answers a
// refusal's Retry-After (RFC 9110 §10.2.3) in whole seconds, at least one.
func (s *Server) rateLimit(ctx context.Context, w http.ResponseWriter, key RateLimitKey) *Error {
	if s.cfg.RateLimiter == nil {
		return nil
	}
	ok, wait := s.cfg.RateLimiter.Allow(ctx, key)
	if ok {
		return nil
	}
	w.Header().Set("Retry-After", strconv.FormatInt(max(1, int64(math.Ceil(wait.Seconds()))), 10))
	e := ErrTemporarilyUnavailable.WithDescription("too many requests")
	e.Status = http.StatusTooManyRequests
	return e
}

// TokenBucket is an in-memory RateLimiter: for each client at each
// endpoint (for each Caller of a user-code lookup, and each source host
// where no client is authenticated), a bucket of Burst requests that refills at Rate requests per
// second. Buckets that have refilled are forgotten as it goes, so memory
// follows the clients active in the last Burst/Rate seconds. Each process
// has its own buckets: with several instances, each allows the rate.
//
// Set Rate and Burst before use; they must be positive, or Allow allows
// everything. Its methods are safe for concurrent use.
type TokenBucket struct {
	// Rate is the sustained number of requests per second.
	Rate float64
	// Burst is how many requests may come at once.
	Burst int
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	buckets map[tokenBucketKey]*bucketState
	inserts int // since the last sweep
}

type tokenBucketKey struct{ endpoint, clientID, source string }

// bucketState is a bucket's level at a time.
type bucketState struct {
	tokens float64
	at     time.Time
}

// Allow takes a token from key's bucket, or reports how long until the
// bucket holds one.
func (b *TokenBucket) Allow(_ context.Context, key RateLimitKey) (bool, time.Duration) {
	if b.Rate <= 0 || b.Burst <= 0 {
		return true, 0
	}
	now := time.Now()
	if b.Now != nil {
		now = b.Now()
	}
	k := tokenBucketKey{key.Endpoint, key.ClientID, key.Caller}
	if key.ClientID == "" && key.Caller == "" {
		k.source = remoteHost(key.RemoteAddr)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buckets == nil {
		b.buckets = make(map[tokenBucketKey]*bucketState)
	}
	st, ok := b.buckets[k]
	if !ok {
		b.sweep(now)
		st = &bucketState{tokens: float64(b.Burst), at: now}
		b.buckets[k] = st
	}
	st.tokens = b.level(st, now)
	st.at = now
	if st.tokens < 1 {
		return false, time.Duration((1 - st.tokens) / b.Rate * float64(time.Second))
	}
	st.tokens--
	return true, 0
}

// level is st's number of tokens at now.
func (b *TokenBucket) level(st *bucketState, now time.Time) float64 {
	return min(float64(b.Burst), st.tokens+max(0, now.Sub(st.at).Seconds())*b.Rate)
}

// sweep forgets the buckets that have refilled, every so many new buckets
// (as many as the last sweep left, at least 1024), so that each insert pays
// a constant share of it.
func (b *TokenBucket) sweep(now time.Time) {
	b.inserts++
	if b.inserts < max(len(b.buckets), 1024) {
		return
	}
	for k, st := range b.buckets {
		if b.level(st, now) >= float64(b.Burst) {
			delete(b.buckets, k)
		}
	}
	b.inserts = 0
}
