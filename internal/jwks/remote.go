package jwks

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit/internal/flight"
)

// Defaults for the zero values of Config.
const (
	DefaultMinRefreshInterval = 10 * time.Second
	DefaultMaxAge             = 10 * time.Minute
	DefaultFetchTimeout       = 10 * time.Second
	DefaultMaxBytes           = 1 << 20
)

// Config configures a Remote. The zero value of every field but URL and
// Algorithms is the default.
type Config struct {
	// URL is where the key set is published. The caller checks its scheme.
	URL string
	// Algorithms are the algorithms the keys are for: keys that fit none of
	// them are skipped.
	Algorithms []jose.SignatureAlgorithm
	// Client fetches the key set. Nil means a client with a FetchTimeout
	// timeout.
	Client *http.Client
	// FetchTimeout bounds each fetch, whatever Client's own timeout. Zero
	// means DefaultFetchTimeout.
	FetchTimeout time.Duration
	// MaxBytes bounds the key set document. Zero means DefaultMaxBytes.
	MaxBytes int64
	// MinRefreshInterval bounds how often the key set is fetched: a key
	// the set lacks triggers a fetch at most once per MinRefreshInterval,
	// whatever the number of requests. Zero means DefaultMinRefreshInterval.
	MinRefreshInterval time.Duration
	// MaxAge is how long a fetched set is used before it is fetched again in
	// the background; until a fetch succeeds, the old keys are used. Zero
	// means DefaultMaxAge.
	MaxAge time.Duration
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Logger receives fetch failures, prefixed by LogPrefix and ": ". Nil
	// means no logging (the caller reports the errors).
	Logger    *slog.Logger
	LogPrefix string
}

// Remote is a JSON Web Key Set published at a URL. It is fetched on first
// use, when MaxAge has passed (in the background, the old set going on
// being used), and when a key is asked for that the set lacks; concurrent
// requests share one fetch, and fetches start at most once per
// MinRefreshInterval. Key reads the current set without locking. A Remote
// is safe for concurrent use.
type Remote struct {
	cfg Config

	keys atomic.Pointer[Set] // nil until the first successful fetch

	mu          sync.Mutex
	fetching    *flight.Call[*Set] // the fetch in progress, or nil
	lastAttempt time.Time          // start of the latest fetch
	lastErr     error              // outcome of the latest completed fetch
}

// NewRemote returns a Remote for cfg, with defaults for its zero values. It
// does not fetch the set.
func NewRemote(cfg Config) *Remote {
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = DefaultFetchTimeout
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.FetchTimeout}
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MinRefreshInterval <= 0 {
		cfg.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Remote{cfg: cfg}
}

// Refresh fetches the key set now, unless a fetch started less than
// MinRefreshInterval ago, and returns the outcome of the latest fetch.
func (r *Remote) Refresh(ctx context.Context) error {
	_, err := r.refresh(ctx, r.keys.Load())
	return err
}

// Key returns the public key for a signature made with alg by the key kid
// (see Set.Key), fetching the set if it is missing or lacks the key. Its
// error is ErrUnknownKey if the set holds no such key; otherwise, that of
// the latest fetch (wrapping ErrUnavailable or ErrInvalidSet) when it
// failed, or ctx's.
func (r *Remote) Key(ctx context.Context, kid, alg string) (any, error) {
	ks := r.keys.Load()
	if ks == nil {
		var err error
		if ks, err = r.refresh(ctx, nil); ks == nil {
			return nil, err
		}
	} else if !r.cfg.Now().Before(ks.fetched.Add(r.cfg.MaxAge)) {
		r.start(ctx, ks)
	}
	if k := ks.Key(kid, alg); k != nil {
		return k, nil
	}
	fresh, err := r.refresh(ctx, ks)
	if fresh != nil {
		if k := fresh.Key(kid, alg); k != nil {
			return k, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return nil, ErrUnknownKey
}

// refresh returns a key set newer than seen, fetching one if need be; see
// start. The set returned is nil only if no fetch ever succeeded; the error
// is that of the latest fetch, or ctx's.
func (r *Remote) refresh(ctx context.Context, seen *Set) (*Set, error) {
	c, cur, err := r.start(ctx, seen)
	if c != nil {
		cur, err = c.Wait(ctx)
	}
	if cur == nil && err == nil {
		err = fmt.Errorf("%w: no key set", ErrUnavailable)
	}
	return cur, err
}

// start begins a fetch of the key set and returns it, unless a set newer
// than seen is installed already, or a fetch is running (which it returns),
// or the latest fetch started less than MinRefreshInterval ago: then it
// returns the current set and the outcome of the latest fetch.
func (r *Remote) start(ctx context.Context, seen *Set) (*flight.Call[*Set], *Set, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.keys.Load()
	switch {
	case cur != seen && cur != nil:
		return nil, cur, nil
	case r.fetching != nil:
		return r.fetching, nil, nil
	case !r.lastAttempt.IsZero() && r.cfg.Now().Sub(r.lastAttempt) < r.cfg.MinRefreshInterval:
		return nil, cur, r.lastErr
	}
	// Nobody joins the call: a fetch goes on even if every request that
	// waits for it goes away, for the next ones.
	c := flight.New[*Set](ctx)
	r.fetching = c
	r.lastAttempt = r.cfg.Now()
	go r.fetch(c)
	return c, nil, nil
}

// fetch runs call c: it fetches and installs the key set, and completes c
// with the new set, or with the current one and the error.
func (r *Remote) fetch(c *flight.Call[*Set]) {
	ctx, cancel := context.WithTimeout(c.Ctx, r.cfg.FetchTimeout)
	defer cancel()
	ks, err := r.download(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.cfg.Logger.WarnContext(ctx, r.cfg.LogPrefix+": fetching the JSON Web Key Set failed", "url", r.cfg.URL, "error", err)
		ks = r.keys.Load()
	} else {
		r.keys.Store(ks)
	}
	r.lastErr = err
	r.fetching = nil
	c.Finish(ks, err)
}

// download GETs and parses the key set.
func (r *Remote) download(ctx context.Context) (*Set, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: key set endpoint answered %s", ErrUnavailable, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, r.cfg.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if int64(len(body)) > r.cfg.MaxBytes {
		return nil, fmt.Errorf("%w: key set larger than %d bytes", ErrInvalidSet, r.cfg.MaxBytes)
	}
	ks, skipped, err := Parse(body, r.cfg.Algorithms)
	if err != nil {
		return nil, err
	}
	if skipped > 0 {
		r.cfg.Logger.DebugContext(ctx, r.cfg.LogPrefix+": ignored unusable keys in the JSON Web Key Set", "url", r.cfg.URL, "count", skipped)
	}
	ks.fetched = r.cfg.Now()
	return ks, nil
}
