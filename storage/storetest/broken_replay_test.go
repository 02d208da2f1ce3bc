package storetest_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
	"github.com/oauthkit/oauthkit/storage/storetest"
)

// Replay caches that break one rule each, for TestKitCatchesBrokenStores.
func init() {
	brokenStores = append(brokenStores, []struct {
		name  string
		test  func(t *testing.T)
		fails string
	}{
		{"ReplayForgets", replayKit(func() oauthkit.ReplayCache { return forgetfulReplay{} }), "Once"},
		{"ReplayTimeless", replayKit(func() oauthkit.ReplayCache { return timelessReplay{memory.NewReplayCache()} }), "Expiry/AtExpiresAt"},
		{"ReplayKeepsFirstExpiry", replayKit(func() oauthkit.ReplayCache { return &mapReplay{keepFirstExpiry: true} }), "NewExpiry/Longer"},
		{"ReplayIgnoresCase", replayKit(func() oauthkit.ReplayCache { return foldReplay{memory.NewReplayCache()} }), "Keys/OtherCase"},
		{"ReplayCutsAtNUL", replayKit(func() oauthkit.ReplayCache { return cutReplay{memory.NewReplayCache()} }), "Keys/NUL"},
		{"ReplayLookupThenInsert", replayKit(func() oauthkit.ReplayCache { return &mapReplay{lookupThenInsert: true} }), "Concurrent"},
		{"ReplayLookupThenReplace", replayKit(func() oauthkit.ReplayCache { return &mapReplay{lookupThenReplace: true} }), "ConcurrentExpired"},
	}...)
}

func replayKit(newStore func() oauthkit.ReplayCache) func(*testing.T) {
	return func(t *testing.T) {
		storetest.TestReplayCache(t, func(*testing.T) oauthkit.ReplayCache { return newStore() })
	}
}

// forgetfulReplay reports every key new.
type forgetfulReplay struct{}

func (forgetfulReplay) Remember(context.Context, string, time.Time, time.Time) (bool, error) {
	return true, nil
}

// timelessReplay never lets a key expire.
type timelessReplay struct{ *memory.ReplayCache }

func (c timelessReplay) Remember(ctx context.Context, key string, _, expiresAt time.Time) (bool, error) {
	return c.ReplayCache.Remember(ctx, key, time.Time{}, expiresAt)
}

// foldReplay compares keys without regard to case.
type foldReplay struct{ *memory.ReplayCache }

func (c foldReplay) Remember(ctx context.Context, key string, now, expiresAt time.Time) (bool, error) {
	return c.ReplayCache.Remember(ctx, strings.ToLower(key), now, expiresAt)
}

// cutReplay drops what follows a NUL byte, as C strings do.
type cutReplay struct{ *memory.ReplayCache }

func (c cutReplay) Remember(ctx context.Context, key string, now, expiresAt time.Time) (bool, error) {
	key, _, _ = strings.Cut(key, "\x00")
	return c.ReplayCache.Remember(ctx, key, now, expiresAt)
}

// mapReplay is a replay cache with one of three faults: it keeps a record's
// first expiry when the key is remembered again; or it looks a key up and
// inserts it in two steps; or it does so for an expired key only.
type mapReplay struct {
	keepFirstExpiry, lookupThenInsert, lookupThenReplace bool

	mu   sync.Mutex
	keys map[string]time.Time
}

func (c *mapReplay) Remember(_ context.Context, key string, now, expiresAt time.Time) (bool, error) {
	c.mu.Lock()
	if c.keys == nil {
		c.keys = make(map[string]time.Time)
	}
	exp, ok := c.keys[key]
	c.mu.Unlock()
	if ok && now.Before(exp) {
		return false, nil
	}
	if c.lookupThenInsert || ok && c.lookupThenReplace {
		time.Sleep(time.Millisecond) // the window between the two steps
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, found := c.keys[key]; !c.lookupThenInsert && !(ok && c.lookupThenReplace) && found && now.Before(cur) {
		return false, nil
	}
	if ok && c.keepFirstExpiry {
		expiresAt = exp
	}
	c.keys[key] = expiresAt
	return true, nil
}
