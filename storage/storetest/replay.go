package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
)

// replayLifetime is how long the kit's keys are remembered: about the
// lifetime a server accepts for a client assertion or a DPoP proof.
const replayLifetime = 5 * time.Minute

// TestReplayCache tests an [oauthkit.ReplayCache] implementation. newStore
// must return a cache that holds none of the kit's keys. TestReplayCache
// checks that Remember reports a key new once and then not new until its
// record expires (at now equal to expiresAt, as for every expiry in the
// kit); that an expired key is new again, and is then remembered until the
// expiry of that call, later or earlier than the first; that keys are
// compared byte for byte, so that keys differing only in case, a trailing
// space, a last byte, Unicode normalization, a NUL byte or invalid UTF-8
// are distinct keys (any string is a key: the error of Remember is for
// internal faults only); and that of 100 concurrent Remember calls with one
// key, fresh or expired, exactly one reports it new, while 100 concurrent
// calls with distinct keys all do.
func TestReplayCache(t *testing.T, newStore func(t *testing.T) oauthkit.ReplayCache) {
	t.Run("Once", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		k, other := e.key("k"), e.key("other")
		expires := e.now.Add(replayLifetime)
		e.remember(t, s, k, e.now, expires, true, "first")
		e.remember(t, s, k, e.now, expires, false, "second")
		e.remember(t, s, k, e.now.Add(time.Second), expires.Add(time.Hour), false, "third, a second later")
		e.remember(t, s, k, expires.Add(-time.Microsecond), expires, false, "at ExpiresAt-1µs")
		e.remember(t, s, other, e.now, expires, true, "another key")
	})

	t.Run("Expiry", func(t *testing.T) {
		e := newEnv(t)
		expires := e.now.Add(replayLifetime)
		cases := []struct {
			name string
			at   time.Time
			want bool
		}{
			{"JustBefore", expires.Add(-time.Microsecond), false},
			{"AtExpiresAt", expires, true},
			{"Later", expires.Add(time.Hour), true},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				k := e.key("k")
				e.remember(t, s, k, e.now, expires, true, "first")
				at := offset("ExpiresAt", tc.at.Sub(expires))
				e.remember(t, s, k, tc.at, tc.at.Add(replayLifetime), tc.want, "at "+at)
				if tc.want {
					e.remember(t, s, k, tc.at, tc.at.Add(replayLifetime), false, "again at "+at)
				}
			})
		}
	})

	t.Run("NewExpiry", func(t *testing.T) {
		// A key remembered again after its record expired is kept until
		// the expiry of that call: later, or earlier, than the first.
		e := newEnv(t)
		first := e.now.Add(replayLifetime)
		cases := []struct {
			name string
			next time.Duration // the second lifetime
		}{
			{"Longer", 2 * replayLifetime},
			{"Shorter", time.Second},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				k := e.key("k")
				e.remember(t, s, k, e.now, first, true, "first")
				second := first.Add(tc.next)
				e.remember(t, s, k, first, second, true, "at the first ExpiresAt")
				e.remember(t, s, k, second.Add(-time.Microsecond), second.Add(time.Hour), false, "at the second ExpiresAt-1µs")
				e.remember(t, s, k, second, second.Add(time.Hour), true, "at the second ExpiresAt")
			})
		}
	})

	t.Run("Keys", func(t *testing.T) {
		e := newEnv(t)
		// The key has a non-ASCII letter and ends in ASCII, so that its
		// Prefix lookalike is valid UTF-8.
		k := e.key("café jti-1")
		cases := append(lookalikes(k), struct{ name, id string }{"Unknown", e.key("unknown")})
		cases = append(cases, byteLookalikes(k)...)
		expires := e.now.Add(replayLifetime)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				e.remember(t, s, k, e.now, expires, true, "stored key")
				e.remember(t, s, tc.id, e.now, expires, true, "lookalike "+format(tc.id))
				e.remember(t, s, tc.id, e.now, expires, false, "lookalike "+format(tc.id)+" again")
				e.remember(t, s, k, e.now, expires, false, "stored key after a lookalike")
			})
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		k := e.key("k")
		e.wantOneNew(t, s, k, e.now, "a new key")
	})

	t.Run("ConcurrentExpired", func(t *testing.T) {
		// Replacing an expired record is as atomic as a first insert.
		e := newEnv(t)
		s := newStore(t)
		k := e.key("k")
		expires := e.now.Add(replayLifetime)
		e.remember(t, s, k, e.now, expires, true, "first")
		e.wantOneNew(t, s, k, expires, "an expired key")
	})

	t.Run("ConcurrentDistinct", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		expires := e.now.Add(replayLifetime)
		got := make([]bool, goroutines)
		errs := race(goroutines, func(i int) error {
			var err error
			got[i], err = s.Remember(e.ctx, e.key(fmt.Sprint(i)), e.now, expires)
			return err
		})
		n, fresh := tally(errs), 0
		for i := range got {
			if errs[i] == nil && got[i] {
				fresh++
			}
		}
		if fresh != goroutines {
			t.Errorf("%d concurrent Remember of distinct keys: %d new, errors %v, want all new (first error: %v)",
				goroutines, fresh, n, firstOther(errs))
		}
		for i := range goroutines {
			e.remember(t, s, e.key(fmt.Sprint(i)), e.now, expires, false, "a concurrently remembered key, again")
		}
	})
}

// key returns a key unique to the subtest and name, shaped like a caller's:
// an issuer and a jti.
func (e *env) key(name string) string {
	return e.tag + " https://client.example " + name
}

// remember calls Remember and reports a result other than want, or an
// error. call says which call it is, for the message.
func (e *env) remember(t *testing.T, s oauthkit.ReplayCache, key string, now, expiresAt time.Time, want bool, call string) {
	t.Helper()
	got, err := s.Remember(e.ctx, key, now, expiresAt)
	if !wantOK(t, "Remember ("+call+")", err) {
		return
	}
	if got != want {
		t.Errorf("Remember (%s) = %v, want %v", call, got, want)
	}
}

// wantOneNew runs 100 concurrent Remember calls with key at now and checks
// that exactly one reports it new, and none fails.
func (e *env) wantOneNew(t *testing.T, s oauthkit.ReplayCache, key string, now time.Time, what string) {
	t.Helper()
	got := make([]bool, goroutines)
	errs := race(goroutines, func(i int) error {
		var err error
		got[i], err = s.Remember(e.ctx, key, now, now.Add(replayLifetime))
		return err
	})
	fresh := 0
	for i := range got {
		if errs[i] == nil && got[i] {
			fresh++
		}
	}
	if n := tally(errs); fresh != 1 || n["nil"] != goroutines {
		t.Errorf("%d concurrent Remember of %s: %d new, errors %v, want exactly 1 new and no error (first error: %v)",
			goroutines, what, fresh, n, firstOther(errs))
	}
	e.remember(t, s, key, now, now.Add(replayLifetime), false, "after the concurrent calls")
}

// byteLookalikes are keys that a correct ReplayCache must not confuse with
// key, which holds "café" and ends in ASCII: the cases a store that
// normalizes Unicode, re-encodes, or cuts strings at a NUL byte gets
// wrong. Some are not valid UTF-8, which a store must take as keys all the
// same.
func byteLookalikes(key string) []struct{ name, id string } {
	return []struct{ name, id string }{
		{"Decomposed", strings.Replace(key, "café", "cafe\u0301", 1)},
		{"Latin1", strings.Replace(key, "café", "caf\xe9", 1)},
		{"NUL", key + "\x00"},
		{"NULInside", strings.Replace(key, "é", "é\x00", 1)},
		{"InvalidUTF8", key + "\xff"},
	}
}
