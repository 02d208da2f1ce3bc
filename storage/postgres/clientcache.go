package postgres

import (
	"bytes"
	"slices"
	"sync"
	"time"

	"github.com/oauthkit/oauthkit"
)

// DefaultClientCacheEntries is the number of clients a client cache holds
// when [ClientCache.MaxEntries] is zero.
const DefaultClientCacheEntries = 1000

// ClientCache configures the in-process client cache that [Store.CacheClients]
// turns on. The cache is off by default, because it gives up freshness:
//
// A client changed or deleted in the database other than through this Store
// (by another instance, or by SQL) is still served from this Store's cache
// for up to MaxStaleness: a deleted client can still authenticate, a
// replaced secret still verifies (and its replacement does not), a removed
// redirect URI, grant type or scope is still allowed, for that long. Changes
// made through this Store ([Store.PutClient], [Store.DeleteClient])
// invalidate its own cache at once; those made through another Store, even
// in the same process, do not.
//
// In exchange, a lookup of a cached client (by the token and authorization
// endpoints) costs no round trip: with the cache warm, a code exchange or a
// refresh takes two round trips instead of three, client_credentials one
// instead of two.
type ClientCache struct {
	// MaxStaleness is how long a client read from the database is served
	// from the cache, so the longest a change made elsewhere can go unseen.
	// Zero or less turns the cache off.
	MaxStaleness time.Duration
	// MaxEntries bounds the number of clients held; when it is full, caching
	// another evicts an arbitrary one. Zero means
	// DefaultClientCacheEntries.
	MaxEntries int

	now func() time.Time // time.Now if nil; set by tests
}

// CacheClients turns on the in-process cache of clients described by cfg,
// or turns it off if cfg.MaxStaleness is not positive. It is off unless
// called: read what it gives up at [ClientCache]. Call it once, after [Open]
// or [New] and before serving requests; calling it again replaces the cache
// with an empty one. It is safe for concurrent use.
//
// Only clients found are cached: a client ID that is not found is looked up
// again on every request, so a client added by any instance is found at
// once. The cache holds at most cfg.MaxEntries clients. [Store.Client]
// returns a copy of the cached client to each caller, which may modify it
// without affecting the cache or other callers (oauthkit's server never
// modifies the clients it reads).
func (s *Store) CacheClients(cfg ClientCache) {
	if cfg.MaxStaleness <= 0 {
		s.clients.Store(nil)
		return
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultClientCacheEntries
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	s.clients.Store(&clientCache{cfg: cfg, entries: make(map[string]cachedClient)})
}

// clientCache holds clients read from the database, each until its expiry.
//
// A lookup that misses reads the client from the database and then fills
// the cache, unless the cache was invalidated in between: gen, which every
// invalidation increments, tells. So a write through the Store that commits
// while another request is reading the old client never leaves the old one
// cached.
type clientCache struct {
	cfg ClientCache

	mu      sync.Mutex
	gen     uint64
	entries map[string]cachedClient
}

type cachedClient struct {
	client  *oauthkit.Client // never modified, never handed out
	expires time.Time
}

// get returns a copy of the cached client with the given ID, or nil and
// what fill needs: the current generation, and the time, before the read,
// from which the client's staleness counts.
func (c *clientCache) get(id string) (client *oauthkit.Client, gen uint64, readAt time.Time) {
	now := c.cfg.now()
	c.mu.Lock()
	e, ok := c.entries[id]
	if ok && now.Before(e.expires) {
		c.mu.Unlock()
		return cloneClient(e.client), 0, time.Time{}
	}
	if ok {
		delete(c.entries, id)
	}
	gen = c.gen
	c.mu.Unlock()
	return nil, gen, now
}

// fill caches a copy of client, read from the database after get returned
// gen and readAt, unless the cache has been invalidated since.
func (c *clientCache) fill(client *oauthkit.Client, gen uint64, readAt time.Time) {
	own := cloneClient(client)
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if _, ok := c.entries[client.ID]; !ok && len(c.entries) >= c.cfg.MaxEntries {
		for id := range c.entries { // an arbitrary one
			delete(c.entries, id)
			break
		}
	}
	c.entries[client.ID] = cachedClient{client: own, expires: readAt.Add(c.cfg.MaxStaleness)}
}

// invalidate drops the client with the given ID, and keeps the reads in
// progress from filling the cache with what they read.
func (c *clientCache) invalidate(id string) {
	c.mu.Lock()
	delete(c.entries, id)
	c.gen++
	c.mu.Unlock()
}

// len returns the number of clients cached, expired or not.
func (c *clientCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// cloneClient returns a copy of c that shares no memory with it: its lists
// in one new array (nil lists stay nil), its JWK Set and sealed secret
// copied.
func cloneClient(c *oauthkit.Client) *oauthkit.Client {
	d := *c
	d.JWKS = bytes.Clone(c.JWKS)
	d.SealedSecret = bytes.Clone(c.SealedSecret)
	if c.Registration != nil {
		r := *c.Registration
		r.ResponseTypes, r.Contacts = slices.Clone(r.ResponseTypes), slices.Clone(r.Contacts)
		d.Registration = &r
	}
	lists := [...]*[]string{&d.RedirectURIs, &d.GrantTypes, &d.Scopes, &d.DefaultScopes, &d.Audience, &d.Resources}
	n := 0
	for _, l := range lists {
		n += len(*l)
	}
	buf := make([]string, n)
	for _, l := range lists {
		if *l == nil {
			continue
		}
		k := copy(buf, *l)
		*l, buf = buf[:k:k], buf[k:]
	}
	return &d
}
