package memory

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/storetest"
)

func TestDevices(t *testing.T) {
	t.Run("New", func(t *testing.T) {
		storetest.TestDeviceStore(t, func(t *testing.T) oauthkit.DeviceStore { return NewDevices() })
	})
	t.Run("ZeroValue", func(t *testing.T) {
		storetest.TestDeviceStore(t, func(t *testing.T) oauthkit.DeviceStore { return new(Devices) })
	})
	t.Run("Store", func(t *testing.T) {
		storetest.TestDeviceStore(t, func(t *testing.T) oauthkit.DeviceStore { return NewStore() })
	})
}

// device returns a pending authorization expiring at expires.
func device(id, userCode string, expires time.Time) *oauthkit.DeviceAuthorization {
	return &oauthkit.DeviceAuthorization{ID: id, UserCodeID: userCode, ClientID: "tv", ExpiresAt: expires, Interval: 5 * time.Second}
}

func TestCreateDeviceAuthorizationInvalid(t *testing.T) {
	cases := []struct {
		name string
		a    *oauthkit.DeviceAuthorization
	}{
		{"Nil", nil},
		{"NoID", device("", "u", base)},
		{"NoUserCode", device("d", "", base)},
		{"NoExpiry", device("d", "u", time.Time{})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := NewDevices()
			err := s.CreateDeviceAuthorization(t.Context(), tc.a)
			if err == nil || errors.Is(err, oauthkit.ErrExists) {
				t.Errorf("CreateDeviceAuthorization = %v, want an error of its own", err)
			}
			if s.len() != 0 {
				t.Errorf("the store holds %d authorizations, want none", s.len())
			}
		})
	}
}

// TestDevicesTakeOver checks what CreateDeviceAuthorization, which is given
// no time, takes for expired: an authorization expired at the latest time a
// caller passed, and no other.
func TestDevicesTakeOver(t *testing.T) {
	ctx := t.Context()
	cases := []struct {
		name     string
		seen     time.Time // the latest time a caller passed; zero for none
		sameID   bool      // the new authorization has the old one's ID, or else its user code
		takeOver bool
	}{
		{"UserCodeNoTimeSeen", time.Time{}, false, false},
		{"UserCodeSeenBeforeExpiry", base.Add(-time.Microsecond), false, false},
		{"UserCodeSeenAtExpiry", base, false, true},
		{"IDNoTimeSeen", time.Time{}, true, false},
		{"IDSeenAtExpiry", base, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := NewDevices()
			if err := s.CreateDeviceAuthorization(ctx, device("old", "u-old", base)); err != nil {
				t.Fatal(err)
			}
			if !tc.seen.IsZero() {
				s.PollDeviceAuthorization(ctx, "unknown", "tv", tc.seen)
			}
			next := device("next", "u-old", base.Add(time.Hour))
			if tc.sameID {
				next = device("old", "u-next", base.Add(time.Hour))
			}
			err := s.CreateDeviceAuthorization(ctx, next)
			if got := err == nil; got != tc.takeOver {
				t.Fatalf("CreateDeviceAuthorization = %v, want taken over %v", err, tc.takeOver)
			}
			if !tc.takeOver {
				if !errors.Is(err, oauthkit.ErrExists) {
					t.Errorf("CreateDeviceAuthorization = %v, want ErrExists", err)
				}
				return
			}
			got, err := s.DeviceAuthorizationByUserCode(ctx, next.UserCodeID, base)
			if err != nil || got.ID != next.ID {
				t.Errorf("DeviceAuthorizationByUserCode of the new user code = %v, %v; want the new authorization", got, err)
			}
			if tc.sameID {
				// The old user code is gone with the old authorization.
				if _, err := s.DeviceAuthorizationByUserCode(ctx, "u-old", base.Add(-time.Hour)); !errors.Is(err, oauthkit.ErrNotFound) {
					t.Errorf("DeviceAuthorizationByUserCode of the taken-over ID's user code: error = %v, want ErrNotFound", err)
				}
				if n := len(s.byUser); n != 1 {
					t.Errorf("%d user codes indexed, want 1", n)
				}
			}
		})
	}
}

func TestDevicesDeleteExpired(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name  string
		store func() (*Devices, func(now time.Time) error)
	}{
		{"Devices", func() (*Devices, func(time.Time) error) {
			s := NewDevices()
			return s, func(now time.Time) error { return s.DeleteExpired(ctx, now) }
		}},
		{"Store", func() (*Devices, func(time.Time) error) {
			s := NewStore()
			return s.Devices, func(now time.Time) error { return s.DeleteExpired(ctx, now) }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, deleteExpired := tc.store()
			cases := []struct {
				id      string
				expires time.Time
				kept    bool
			}{
				{"long-ago", base.Add(-time.Hour), false},
				{"at-the-limit", base.Add(-keepExpiredDevices), false},
				{"within-the-limit", base.Add(-keepExpiredDevices + time.Microsecond), true}, // polls still see it expired
				{"live", base.Add(time.Minute), true},
			}
			for _, c := range cases {
				if err := s.CreateDeviceAuthorization(ctx, device(c.id, "u-"+c.id, c.expires)); err != nil {
					t.Fatal(err)
				}
			}
			if err := deleteExpired(base); err != nil {
				t.Fatal(err)
			}
			for _, c := range cases {
				_, err := s.PollDeviceAuthorization(ctx, c.id, "tv", base)
				if got := err == nil; got != c.kept {
					t.Errorf("PollDeviceAuthorization(%s) after DeleteExpired: error = %v, want kept %v", c.id, err, c.kept)
				}
				_, kept := s.byUser["u-"+c.id]
				if kept != c.kept {
					t.Errorf("user code of %s indexed %v, want %v", c.id, kept, c.kept)
				}
			}
		})
	}
	// A Store built without NewStore has no device store to sweep.
	s := &Store{Clients: NewClients(), Codes: NewCodes(), Tokens: NewTokens()}
	if err := s.DeleteExpired(ctx, base); err != nil {
		t.Errorf("DeleteExpired of a Store without Devices: %v", err)
	}
}

// TestDevicesSweep checks that CreateDeviceAuthorization forgets the
// authorizations expired five minutes before the latest time a caller
// passed, every so many inserts, and that memory stays bounded at a steady
// rate of new authorizations.
func TestDevicesSweep(t *testing.T) {
	ctx := t.Context()
	s := NewDevices()
	const life = 100 * time.Second
	biggest := 0
	for i := range 8 * minSweep { // one device a second, polled once
		now := base.Add(time.Duration(i) * time.Second)
		id := fmt.Sprint("d", i)
		if err := s.CreateDeviceAuthorization(ctx, device(id, "u"+id, now.Add(life))); err != nil {
			t.Fatalf("CreateDeviceAuthorization(%s): %v", id, err)
		}
		if _, err := s.PollDeviceAuthorization(ctx, id, "tv", now); err != nil {
			t.Fatalf("PollDeviceAuthorization(%s): %v", id, err)
		}
		biggest = max(biggest, s.len())
	}
	kept := int((life + keepExpiredDevices) / time.Second)
	if bound := kept + max(kept, minSweep); biggest > bound {
		t.Errorf("the store grew to %d authorizations, want at most %d", biggest, bound)
	}
	// Every authorization expired less than five minutes ago is still
	// there, reported expired.
	last := base.Add(time.Duration(8*minSweep-1) * time.Second)
	for i := 8*minSweep - kept + 1; i < 8*minSweep; i++ {
		id := fmt.Sprint("d", i)
		if _, err := s.PollDeviceAuthorization(ctx, id, "tv", last); err != nil {
			t.Fatalf("PollDeviceAuthorization(%s), expired %v before, after sweeps: %v", id, last.Sub(base.Add(time.Duration(i)*time.Second+life)), err)
		}
	}
	if len(s.byUser) != s.len() {
		t.Errorf("%d user codes indexed for %d authorizations", len(s.byUser), s.len())
	}
}
