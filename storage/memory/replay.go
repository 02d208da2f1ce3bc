package memory

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/oauthkit/oauthkit"
)

// ReplayCache is an [oauthkit.ReplayCache] holding keys in a map. The zero
// value is an empty cache, ready to use.
//
// It keeps each key as its SHA-256 and its expiry as integers, so that
// the map holds no pointers: however many keys it remembers (a DPoP proof
// each, at a busy server), the garbage collector has nothing to mark per
// key. Any string is a key, of any length.
type ReplayCache struct {
	mu    sync.Mutex
	keys  map[[sha256.Size]byte]instant // SHA-256 of a key → when it expires
	sweep sweeper
}

var _ oauthkit.ReplayCache = (*ReplayCache)(nil)

// NewReplayCache returns an empty replay cache.
func NewReplayCache() *ReplayCache { return &ReplayCache{} }

// Remember records key until expiresAt and reports whether it was new; see
// oauthkit.ReplayCache. It never fails.
//
// When a sweep is due (after as many new keys as the last sweep left, and
// at least 1024), Remember first drops the keys expired at its now, which
// must therefore not be later than the current time.
func (c *ReplayCache) Remember(_ context.Context, key string, now, expiresAt time.Time) (bool, error) {
	k, at, exp := hashKey(key), instantOf(now), instantOf(expiresAt)
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.keys[k]; ok {
		if at.before(prev) {
			return false, nil
		}
		c.keys[k] = exp // expired: new again, in place
		return true, nil
	}
	if c.keys == nil {
		c.keys = make(map[[sha256.Size]byte]instant)
	}
	if c.sweep.due() {
		c.deleteExpired(at)
	}
	c.keys[k] = exp
	return true, nil
}

// DeleteExpired forgets the keys expired at now. It never fails; the error
// is for the signature every store shares.
func (c *ReplayCache) DeleteExpired(_ context.Context, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deleteExpired(instantOf(now))
	return nil
}

func (c *ReplayCache) deleteExpired(now instant) {
	for k, exp := range c.keys {
		if !now.before(exp) {
			delete(c.keys, k)
		}
	}
	c.sweep.swept(len(c.keys))
}

// len returns the number of keys held, expired or not.
func (c *ReplayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.keys)
}

// hashKey is the map key of a replay key: its SHA-256, which sets keys
// apart byte for byte (as the table's key does for token IDs).
func hashKey(s string) [sha256.Size]byte { return key(s) }

// instant is a time without a location, so without a pointer: Unix
// seconds and nanoseconds, which hold any time.Time.
type instant struct {
	sec  int64
	nsec int32
}

func instantOf(t time.Time) instant { return instant{t.Unix(), int32(t.Nanosecond())} }

// before reports whether i is before j.
func (i instant) before(j instant) bool {
	return i.sec < j.sec || i.sec == j.sec && i.nsec < j.nsec
}
