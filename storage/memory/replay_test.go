package memory

import (
	"fmt"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/storetest"
)

func TestReplayCache(t *testing.T) {
	t.Run("New", func(t *testing.T) {
		storetest.TestReplayCache(t, func(t *testing.T) oauthkit.ReplayCache { return NewReplayCache() })
	})
	t.Run("ZeroValue", func(t *testing.T) {
		storetest.TestReplayCache(t, func(t *testing.T) oauthkit.ReplayCache { return new(ReplayCache) })
	})
	t.Run("Store", func(t *testing.T) {
		storetest.TestReplayCache(t, func(t *testing.T) oauthkit.ReplayCache { return NewStore() })
	})
}

// TestReplayCacheSweep checks that Remember drops the keys expired at its
// now once a sweep is due, and only those, and that memory stays bounded
// at a steady rate of new keys.
func TestReplayCacheSweep(t *testing.T) {
	ctx := t.Context()
	c := NewReplayCache()
	const life = 100 * time.Second
	biggest := 0
	for i := range 8 * minSweep { // one new key a second
		now := base.Add(time.Duration(i) * time.Second)
		if ok, err := c.Remember(ctx, fmt.Sprint("k", i), now, now.Add(life)); !ok || err != nil {
			t.Fatalf("Remember(k%d) = %v, %v; want true", i, ok, err)
		}
		biggest = max(biggest, c.len())
	}
	live := int(life / time.Second)
	if bound := live + max(live, minSweep); biggest > bound {
		t.Errorf("the cache grew to %d keys, want at most %d", biggest, bound)
	}
	// Every key still live is still remembered.
	last := base.Add(time.Duration(8*minSweep-1) * time.Second)
	for i := 8*minSweep - live + 1; i < 8*minSweep; i++ {
		if ok, err := c.Remember(ctx, fmt.Sprint("k", i), last, last.Add(life)); ok || err != nil {
			t.Fatalf("Remember(k%d) of a live key after sweeps = %v, %v; want false", i, ok, err)
		}
	}
}

// TestReplayCacheReplaceNoInsert checks that remembering an expired key
// again reuses its entry: it is not an insert that counts towards a sweep.
func TestReplayCacheReplaceNoInsert(t *testing.T) {
	ctx := t.Context()
	c := NewReplayCache()
	for i := range 3 * minSweep {
		now := base.Add(time.Duration(i) * time.Second)
		if ok, _ := c.Remember(ctx, "k", now, now.Add(time.Second)); !ok {
			t.Fatalf("Remember #%d of an expired key = false", i)
		}
	}
	if c.len() != 1 || c.sweep.inserts != 1 {
		t.Errorf("after re-remembering one key: %d keys, %d inserts counted; want 1, 1", c.len(), c.sweep.inserts)
	}
}

func TestReplayCacheDeleteExpired(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name  string
		cache func() (*ReplayCache, func(now time.Time) error)
	}{
		{"ReplayCache", func() (*ReplayCache, func(time.Time) error) {
			c := NewReplayCache()
			return c, func(now time.Time) error { return c.DeleteExpired(ctx, now) }
		}},
		{"Store", func() (*ReplayCache, func(time.Time) error) {
			s := NewStore()
			return s.ReplayCache, func(now time.Time) error { return s.DeleteExpired(ctx, now) }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, deleteExpired := tc.cache()
			for _, k := range []struct {
				key     string
				expires time.Time
			}{{"past", base.Add(-time.Second)}, {"now", base}, {"future", base.Add(time.Microsecond)}} {
				if ok, err := c.Remember(ctx, k.key, base.Add(-time.Hour), k.expires); !ok || err != nil {
					t.Fatalf("Remember(%s) = %v, %v", k.key, ok, err)
				}
			}
			if err := deleteExpired(base); err != nil {
				t.Fatal(err)
			}
			if c.len() != 1 {
				t.Errorf("%d keys left, want 1 (future)", c.len())
			}
			if ok, _ := c.Remember(ctx, "future", base, base.Add(time.Hour)); ok {
				t.Error("the live key was forgotten")
			}
		})
	}

	// A Store built without NewStore has no replay cache to sweep.
	s := &Store{Clients: NewClients(), Codes: NewCodes(), Tokens: NewTokens()}
	if err := s.DeleteExpired(ctx, base); err != nil {
		t.Errorf("DeleteExpired of a Store without a ReplayCache: %v", err)
	}
}

// TestReplayCacheFarTimes checks times outside the years 1678 to 2262,
// which Unix nanoseconds cannot hold.
func TestReplayCacheFarTimes(t *testing.T) {
	ctx := t.Context()
	c := NewReplayCache()
	far := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	if ok, _ := c.Remember(ctx, "far", base, far); !ok {
		t.Fatal("first Remember = false")
	}
	if ok, _ := c.Remember(ctx, "far", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), far); ok {
		t.Error("a key remembered until 9999 was new in 3000")
	}
	if ok, _ := c.Remember(ctx, "past", time.Time{}, time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC)); !ok {
		t.Fatal("first Remember at the zero time = false")
	}
	if ok, _ := c.Remember(ctx, "past", base, base.Add(time.Hour)); !ok {
		t.Error("a key remembered until year 1 was not new in 2030")
	}
	for _, tc := range []struct {
		a, b time.Time
		want bool
	}{
		{time.Time{}, base, true},
		{base, far, true},
		{far, far.Add(time.Nanosecond), true},
		{base, base, false},
		{base.In(time.FixedZone("X", 3600)), base, false},
		{base.Add(time.Nanosecond), base, false},
		{base.Add(-time.Nanosecond), base, true},
	} {
		if got := instantOf(tc.a).before(instantOf(tc.b)); got != tc.want {
			t.Errorf("instantOf(%v).before(%v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
