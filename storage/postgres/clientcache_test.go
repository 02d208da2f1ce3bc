package postgres

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
)

// fakeClock is a clock that tests move by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// cachedStore returns a store with the client cache on (with clock, if not
// nil), the counter of its round trips and the test client, stored.
func cachedStore(t *testing.T, db *testDB, cache ClientCache, clock *fakeClock) (*Store, *counter) {
	t.Helper()
	c := &counter{}
	cfg := db.poolConfig(t)
	c.instrument(cfg)
	s := New(db.pool(t, cfg))
	if clock != nil {
		cache.now = clock.now
	}
	s.CacheClients(cache)
	if err := s.PutClient(t.Context(), testClient(t)); err != nil {
		t.Fatal(err)
	}
	return s, c
}

// clientName reads the client testClientID and returns its name and the
// round trips the read took.
func clientName(t *testing.T, s *Store, c *counter) (string, int64) {
	t.Helper()
	c.reset()
	client, err := s.Client(t.Context(), testClientID)
	if err != nil {
		t.Fatal(err)
	}
	return client.Name, c.writes.Load()
}

// TestClientCacheHit: a cached client is served without a round trip, even
// after the database changed it (the stale read the cache trades for it).
func TestClientCacheHit(t *testing.T) {
	db := newTestDB(t)
	s, c := cachedStore(t, db, ClientCache{MaxStaleness: time.Hour}, nil)
	if _, rt := clientName(t, s, c); rt == 0 { // 2 the first time: the statement is prepared
		t.Error("first read: no round trip")
	}
	db.exec(t, `UPDATE `+db.schema+`.oauthkit_clients SET name = 'changed by SQL'`)
	if name, rt := clientName(t, s, c); rt != 0 || name != "" {
		t.Errorf("cached read: name %q in %d round trips, want the cached %q in 0", name, rt, "")
	}
	// Without the cache, the same store reads the database again.
	s.CacheClients(ClientCache{})
	if name, rt := clientName(t, s, c); rt != 1 || name != "changed by SQL" {
		t.Errorf("read without the cache: name %q in %d round trips, want %q in 1", name, rt, "changed by SQL")
	}
	if s.clients.Load() != nil {
		t.Error("CacheClients(ClientCache{}) left a cache")
	}
}

// TestClientCacheExpiry: a client is served from the cache for MaxStaleness
// after the read that cached it began, then read again.
func TestClientCacheExpiry(t *testing.T) {
	db := newTestDB(t)
	clock := newFakeClock()
	s, c := cachedStore(t, db, ClientCache{MaxStaleness: time.Minute}, clock)
	clientName(t, s, c)
	db.exec(t, `UPDATE `+db.schema+`.oauthkit_clients SET name = 'v2'`)
	clock.advance(time.Minute - time.Nanosecond)
	if name, rt := clientName(t, s, c); rt != 0 || name != "" {
		t.Errorf("just before expiry: name %q in %d round trips, want %q in 0", name, rt, "")
	}
	clock.advance(time.Nanosecond)
	if name, rt := clientName(t, s, c); rt != 1 || name != "v2" {
		t.Errorf("at expiry: name %q in %d round trips, want %q in 1", name, rt, "v2")
	}
	if name, rt := clientName(t, s, c); rt != 0 || name != "v2" {
		t.Errorf("after the refetch: name %q in %d round trips, want %q in 0", name, rt, "v2")
	}
}

// TestClientCacheInvalidation: PutClient and DeleteClient through the store
// take effect on its next read, however long the cache's MaxStaleness.
func TestClientCacheInvalidation(t *testing.T) {
	db := newTestDB(t)
	s, c := cachedStore(t, db, ClientCache{MaxStaleness: time.Hour}, nil)
	ctx := t.Context()
	clientName(t, s, c)
	updated := testClient(t)
	updated.Name = "renamed"
	if err := s.PutClient(ctx, updated); err != nil {
		t.Fatal(err)
	}
	if name, rt := clientName(t, s, c); rt != 1 || name != "renamed" {
		t.Errorf("after PutClient: name %q in %d round trips, want %q in 1", name, rt, "renamed")
	}
	if err := s.DeleteClient(ctx, testClientID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client(ctx, testClientID); !errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("after DeleteClient: error %v, want ErrNotFound", err)
	}
	// Another store on the database (another instance) is not told.
	other := New(db.pool(t, db.poolConfig(t)))
	other.CacheClients(ClientCache{MaxStaleness: time.Hour})
	if err := s.PutClient(ctx, testClient(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Client(ctx, testClientID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteClient(ctx, testClientID); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Client(ctx, testClientID); err != nil {
		t.Errorf("another store's cache: %v, want the deleted client, stale", err)
	}
}

// TestClientCacheNotFound: a client that is not found is not cached, so
// that one added a moment later is found at once.
func TestClientCacheNotFound(t *testing.T) {
	db := newTestDB(t)
	s, c := cachedStore(t, db, ClientCache{MaxStaleness: time.Hour}, nil)
	ctx := t.Context()
	for range 2 {
		c.reset()
		if _, err := s.Client(ctx, "new"); !errors.Is(err, oauthkit.ErrNotFound) {
			t.Fatalf("error %v, want ErrNotFound", err)
		}
		if c.writes.Load() == 0 {
			t.Error("lookup of an unknown client: no round trip")
		}
	}
	db.exec(t, `INSERT INTO `+db.schema+`.oauthkit_clients (id, redirect_uris, grant_types, scopes, default_scopes, audience)
		SELECT 'new', redirect_uris, grant_types, scopes, default_scopes, audience FROM `+db.schema+`.oauthkit_clients WHERE id = $1`, testClientID)
	if _, err := s.Client(ctx, "new"); err != nil {
		t.Errorf("client added by SQL: %v", err)
	}
	if n := s.clients.Load().len(); n != 1 {
		t.Errorf("%d clients cached, want 1", n)
	}
}

// TestClientCacheSize: the cache holds at most MaxEntries clients, and
// every client is still served right.
func TestClientCacheSize(t *testing.T) {
	db := newTestDB(t)
	s, c := cachedStore(t, db, ClientCache{MaxStaleness: time.Hour, MaxEntries: 3}, nil)
	ctx := t.Context()
	for i := range 10 {
		client := testClient(t)
		client.ID, client.Name = fmt.Sprint("client-", i), fmt.Sprint("name-", i)
		if err := s.PutClient(ctx, client); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		for i := range 10 {
			got, err := s.Client(ctx, fmt.Sprint("client-", i))
			if err != nil || got.Name != fmt.Sprint("name-", i) {
				t.Fatalf("client-%d: %+v, %v", i, got, err)
			}
			if n := s.clients.Load().len(); n > 3 {
				t.Fatalf("%d clients cached, want at most 3", n)
			}
		}
	}
	// The default bound.
	s.CacheClients(ClientCache{MaxStaleness: time.Hour})
	if n := s.clients.Load().cfg.MaxEntries; n != DefaultClientCacheEntries {
		t.Errorf("MaxEntries %d by default, want %d", n, DefaultClientCacheEntries)
	}
	// Hits do not evict.
	s.CacheClients(ClientCache{MaxStaleness: time.Hour, MaxEntries: 1})
	clientName(t, s, c)
	if _, rt := clientName(t, s, c); rt != 0 {
		t.Errorf("hit in a full cache: %d round trips, want 0", rt)
	}
}

// TestClientCacheCopies: every caller gets a client of its own, which it
// may modify without changing what others get.
func TestClientCacheCopies(t *testing.T) {
	db := newTestDB(t)
	s, _ := cachedStore(t, db, ClientCache{MaxStaleness: time.Hour}, nil)
	ctx := t.Context()
	want := testClient(t)
	for range 3 {
		got, err := s.Client(ctx, testClientID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != want.ID || !reflect.DeepEqual(got.Scopes, want.Scopes) || !reflect.DeepEqual(got.RedirectURIs, want.RedirectURIs) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		got.Name = "modified"
		got.Scopes[0] = "modified"
		got.RedirectURIs = append(got.RedirectURIs, "https://evil.example/cb")
		got.GrantTypes[0] = "modified"
	}
}

// TestCloneClient: cloneClient copies every list of a Client (and its JWK
// Set's bytes), so that none
// is shared; it fails if oauthkit.Client gains a field of a kind that
// cloneClient does not copy.
func TestCloneClient(t *testing.T) {
	c := &oauthkit.Client{
		ID: "id", Name: "n", SecretHash: "$h", AuthMethod: "m", AccessTokenFormat: "f",
		RedirectURIs: []string{"r1", "r2"}, GrantTypes: []string{"g"}, Scopes: []string{"s1", "s2", "s3"},
		DefaultScopes: []string{}, Audience: nil, JWKS: []byte(`{"keys":[]}`), JWKSURI: "https://c.example/jwks",
		SealedSecret: []byte{1, 2, 3}, Resources: []string{"https://api.example/"},
		DPoPBoundAccessTokens: true, RequirePushedAuthorizationRequests: true,
		Registration: &oauthkit.ClientRegistration{AccessTokenHash: "h", ResponseTypes: []string{"code"}, Contacts: []string{"c"}},
	}
	d := cloneClient(c)
	if !reflect.DeepEqual(c, d) {
		t.Fatalf("clone %+v, want %+v", d, c)
	}
	cv, dv := reflect.ValueOf(c).Elem(), reflect.ValueOf(d).Elem()
	for i := range cv.NumField() {
		f := cv.Type().Field(i)
		switch f.Type.Kind() {
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int64:
		case reflect.Slice:
			if k := f.Type.Elem().Kind(); k != reflect.String && k != reflect.Uint8 {
				t.Errorf("field %s: cloneClient copies only lists of strings and bytes", f.Name)
			}
			if cv.Field(i).Len() > 0 && cv.Field(i).Pointer() == dv.Field(i).Pointer() {
				t.Errorf("field %s shared by the clone", f.Name)
			}
			if cv.Field(i).IsNil() != dv.Field(i).IsNil() {
				t.Errorf("field %s: nil %v, clone's nil %v", f.Name, cv.Field(i).IsNil(), dv.Field(i).IsNil())
			}
		case reflect.Pointer:
			if f.Name != "Registration" {
				t.Errorf("field %s of kind %s: teach cloneClient to copy it", f.Name, f.Type.Kind())
			}
			if cv.Field(i).Pointer() == dv.Field(i).Pointer() {
				t.Errorf("field %s shared by the clone", f.Name)
			}
		default:
			t.Errorf("field %s of kind %s: teach cloneClient to copy it", f.Name, f.Type.Kind())
		}
	}
	if d.Registration.Contacts[0] = "x"; c.Registration.Contacts[0] != "c" {
		t.Errorf("the clone's Registration.Contacts shared with the original")
	}
	// Appending to one list of the clone does not write over the next.
	d.RedirectURIs = append(d.RedirectURIs, "x")
	if d.GrantTypes[0] != "g" {
		t.Errorf("append to RedirectURIs overwrote GrantTypes: %q", d.GrantTypes)
	}
}

// TestClientCacheFillAfterInvalidation: a read that began before a write
// through the store does not cache what it read if the write's invalidation
// came first (without a database: the cache alone).
func TestClientCacheFillAfterInvalidation(t *testing.T) {
	clock := newFakeClock()
	s := &Store{}
	s.CacheClients(ClientCache{MaxStaleness: time.Hour, now: clock.now})
	cache := s.clients.Load()
	old := &oauthkit.Client{ID: "a", Name: "old"}

	_, gen, readAt := cache.get("a") // a read begins
	cache.invalidate("a")            // a write commits and invalidates
	cache.fill(old, gen, readAt)     // the read, which saw the old row, ends
	if got, _, _ := cache.get("a"); got != nil {
		t.Errorf("cached %+v, read before the write", got)
	}
	_, gen, readAt = cache.get("a")
	cache.fill(&oauthkit.Client{ID: "a", Name: "new"}, gen, readAt)
	if got, _, _ := cache.get("a"); got == nil || got.Name != "new" {
		t.Errorf("cached %+v, want the client read after the write", got)
	}
	// The staleness counts from before the read.
	clock.advance(time.Hour)
	if got, _, _ := cache.get("a"); got != nil {
		t.Errorf("cached %+v after MaxStaleness", got)
	}
	if n := cache.len(); n != 0 {
		t.Errorf("%d expired clients kept after a lookup", n)
	}
}

// TestClientCacheConcurrent reads, writes and deletes clients from many
// goroutines, each modifying what it reads, and switches the cache, for the
// race detector; every client read is one that was written.
func TestClientCacheConcurrent(t *testing.T) {
	db := newTestDB(t)
	s, _ := cachedStore(t, db, ClientCache{MaxStaleness: time.Hour, MaxEntries: 4}, nil)
	ctx := t.Context()
	ids := []string{"c0", "c1", "c2", "c3", "c4", "c5"}
	for _, id := range ids {
		client := testClient(t)
		client.ID = id
		if err := s.PutClient(ctx, client); err != nil {
			t.Fatal(err)
		}
	}
	template := testClient(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 60 {
				id := ids[(g+i)%len(ids)]
				switch {
				case g == 0 && i%10 == 0:
					s.CacheClients(ClientCache{MaxStaleness: time.Hour, MaxEntries: 2 + i%3})
				case g == 1 && i%3 == 0:
					client := cloneClient(template)
					client.ID, client.Name = id, fmt.Sprint("v", i)
					if err := s.PutClient(ctx, client); err != nil {
						t.Error(err)
						return
					}
				case g == 2 && i%7 == 0:
					if err := s.DeleteClient(ctx, id); err != nil {
						t.Error(err)
						return
					}
				default:
					c, err := s.Client(ctx, id)
					if errors.Is(err, oauthkit.ErrNotFound) {
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					if c.ID != id || c.Scopes[0] != "read" || len(c.RedirectURIs) != 1 {
						t.Errorf("read %+v for %s", c, id)
						return
					}
					c.Scopes[0] = "modified by its reader"
					c.RedirectURIs = append(c.RedirectURIs, "https://modified.example/")
				}
			}
		})
	}
	wg.Wait()
	// After the writes, the store serves what is in the database.
	for _, id := range ids {
		want, wantErr := (&Store{pool: s.pool}).Client(ctx, id)
		got, err := s.Client(ctx, id)
		if !errors.Is(err, oauthkit.ErrNotFound) || !errors.Is(wantErr, oauthkit.ErrNotFound) {
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: cached %+v (%v), database %+v (%v)", id, got, err, want, wantErr)
			}
		}
	}
}
