package postgres

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/storetest"
)

func TestDeviceStore(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	storetest.TestDeviceStore(t, func(t *testing.T) oauthkit.DeviceStore {
		db.exec(t, "TRUNCATE "+db.schema+".oauthkit_device_authorizations")
		return s
	})
}

// testDevice returns a pending device authorization of the client "tv".
func testDevice(id string, expires time.Time) *oauthkit.DeviceAuthorization {
	return &oauthkit.DeviceAuthorization{ID: id, UserCodeID: "user-" + id, ClientID: "tv",
		Scope: []string{"openid"}, ExpiresAt: expires, Interval: 5 * time.Second}
}

// TestDevicePollAcrossStores polls one approved authorization 50 times at
// once through two Stores, each with a pool of its own, as two instances
// behind a load balancer would: exactly one poll, on one of them, sees it
// approved (and issues its tokens).
func TestDevicePollAcrossStores(t *testing.T) {
	db := newTestDB(t)
	stores := []*Store{db.store(t), db.store(t)}
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	for round := range 3 {
		d := testDevice(fmt.Sprint("d", round), now.Add(10*time.Minute))
		if err := stores[0].CreateDeviceAuthorization(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := stores[1].DecideDeviceAuthorization(ctx, d.UserCodeID, now, &oauthkit.DeviceAuthorization{Subject: "alice"}); err != nil {
			t.Fatal(err)
		}
		const n = 50
		got := make([]*oauthkit.DeviceAuthorization, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				got[i], errs[i] = stores[i%len(stores)].PollDeviceAuthorization(ctx, d.ID, d.ClientID, now.Add(time.Second))
			})
		}
		close(start)
		wg.Wait()
		statuses := map[oauthkit.DeviceStatus]int{}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d: poll #%d: %v", round, i, errs[i])
			}
			statuses[got[i].Status]++
		}
		if statuses[oauthkit.DeviceApproved] != 1 || statuses[oauthkit.DeviceRedeemed] != n-1 {
			t.Errorf("round %d: %d concurrent polls through %d Stores: statuses %v, want 1 approved and %d redeemed",
				round, n, len(stores), statuses, n-1)
		}
	}
}

// TestDeviceRoundTrips checks that each DeviceStore call is one round trip,
// one driver call, whatever it finds.
func TestDeviceRoundTrips(t *testing.T) {
	db := newTestDB(t)
	c := &counter{}
	cfg := db.poolConfig(t)
	cfg.MaxConns = 1 // statements are prepared per connection
	c.instrument(cfg)
	s := New(db.pool(t, cfg))
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	// Prepare the statements.
	w := testDevice("warm-up", now.Add(time.Minute))
	s.CreateDeviceAuthorization(ctx, w)
	s.DeviceAuthorizationByUserCode(ctx, w.UserCodeID, now)
	s.DecideDeviceAuthorization(ctx, w.UserCodeID, now, nil)
	s.PollDeviceAuthorization(ctx, w.ID, w.ClientID, now)

	d := testDevice("d", now.Add(time.Minute))
	cases := []struct {
		name string
		call func() error
		want error
	}{
		{"Create", func() error { return s.CreateDeviceAuthorization(ctx, d) }, nil},
		{"CreateTaken", func() error { return s.CreateDeviceAuthorization(ctx, d) }, oauthkit.ErrExists},
		{"ByUserCode", func() error { _, err := s.DeviceAuthorizationByUserCode(ctx, d.UserCodeID, now); return err }, nil},
		{"PollPending", func() error { _, err := s.PollDeviceAuthorization(ctx, d.ID, d.ClientID, now); return err }, nil},
		{"PollOtherClient", func() error { _, err := s.PollDeviceAuthorization(ctx, d.ID, "other", now); return err }, oauthkit.ErrNotFound},
		{"Approve", func() error {
			return s.DecideDeviceAuthorization(ctx, d.UserCodeID, now, &oauthkit.DeviceAuthorization{Subject: "alice"})
		}, nil},
		{"DecideAgain", func() error { return s.DecideDeviceAuthorization(ctx, d.UserCodeID, now, nil) }, oauthkit.ErrNotFound},
		{"PollApproved", func() error { _, err := s.PollDeviceAuthorization(ctx, d.ID, d.ClientID, now); return err }, nil},
		{"PollRedeemed", func() error { _, err := s.PollDeviceAuthorization(ctx, d.ID, d.ClientID, now); return err }, nil},
		{"PollExpired", func() error {
			_, err := s.PollDeviceAuthorization(ctx, d.ID, d.ClientID, now.Add(time.Hour))
			return err
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.reset()
			if err := tc.call(); !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			if w, n := c.writes.Load(), c.calls.Load(); w != 1 || n != 1 {
				t.Errorf("%d round trips in %d driver calls, want 1 in 1", w, n)
			}
		})
	}
}

// TestDeviceDeleteExpired checks that DeleteExpired keeps device
// authorizations five minutes past their expiry, for expired_token, and
// removes them after.
func TestDeviceDeleteExpired(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	cases := []struct {
		id      string
		expires time.Time
		kept    bool
	}{
		{"long-ago", now.Add(-time.Hour), false},
		{"at-the-limit", now.Add(-keepExpiredDevices), false},
		{"within-the-limit", now.Add(-keepExpiredDevices + time.Microsecond), true},
		{"live", now.Add(time.Minute), true},
	}
	for _, c := range cases {
		if err := s.CreateDeviceAuthorization(ctx, testDevice(c.id, c.expires)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteExpired(ctx, now); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		a, err := s.PollDeviceAuthorization(ctx, c.id, "tv", now)
		if got := err == nil; got != c.kept {
			t.Errorf("PollDeviceAuthorization(%s) after DeleteExpired: %v, %v; want kept %v", c.id, a, err, c.kept)
		}
	}
}

// TestDeviceUnstorable checks that values PostgreSQL text cannot hold are
// refused (creation, approval) or not found (lookups), without a query.
func TestDeviceUnstorable(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, bad := range []string{"a\x00b", "a\xffb"} {
		for _, d := range []*oauthkit.DeviceAuthorization{
			testDevice(bad, now.Add(time.Minute)),
			{ID: "d", UserCodeID: bad, ClientID: "tv", ExpiresAt: now.Add(time.Minute)},
			{ID: "d", UserCodeID: "u", ClientID: "tv", Scope: []string{bad}, ExpiresAt: now.Add(time.Minute)},
			{ID: "d", UserCodeID: "u", ClientID: "tv", Resources: []string{bad}, ExpiresAt: now.Add(time.Minute)},
		} {
			if err := s.CreateDeviceAuthorization(ctx, d); err == nil || errors.Is(err, oauthkit.ErrExists) {
				t.Errorf("CreateDeviceAuthorization(%+q) = %v, want an error of its own", d, err)
			}
		}
		if _, err := s.DeviceAuthorizationByUserCode(ctx, bad, now); !errors.Is(err, oauthkit.ErrNotFound) {
			t.Errorf("DeviceAuthorizationByUserCode(%q): %v, want ErrNotFound", bad, err)
		}
		if err := s.DecideDeviceAuthorization(ctx, bad, now, nil); !errors.Is(err, oauthkit.ErrNotFound) {
			t.Errorf("DecideDeviceAuthorization(%q): %v, want ErrNotFound", bad, err)
		}
		if _, err := s.PollDeviceAuthorization(ctx, bad, "tv", now); !errors.Is(err, oauthkit.ErrNotFound) {
			t.Errorf("PollDeviceAuthorization(%q): %v, want ErrNotFound", bad, err)
		}
		if _, err := s.PollDeviceAuthorization(ctx, "d", bad, now); !errors.Is(err, oauthkit.ErrNotFound) {
			t.Errorf("PollDeviceAuthorization by client %q: %v, want ErrNotFound", bad, err)
		}
	}
	if err := s.CreateDeviceAuthorization(ctx, testDevice("d", now.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	err := s.DecideDeviceAuthorization(ctx, "user-d", now, &oauthkit.DeviceAuthorization{Subject: "a\x00b"})
	if err == nil || errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("DecideDeviceAuthorization with an unstorable subject = %v, want an error of its own", err)
	}
	if n := db.count(t, db.conn(t), "oauthkit_device_authorizations", "status = 'pending'"); n != 1 {
		t.Errorf("%d pending authorizations after a refused approval, want 1", n)
	}
}

// TestDeviceCreateInvalid checks that an authorization missing what the
// store needs is refused, without a query.
func TestDeviceCreateInvalid(t *testing.T) {
	s := New(nil) // no query may be sent
	now := time.Now()
	for _, d := range []*oauthkit.DeviceAuthorization{
		nil,
		{UserCodeID: "u", ExpiresAt: now},
		{ID: "d", ExpiresAt: now},
		{ID: "d", UserCodeID: "u"},
	} {
		if err := s.CreateDeviceAuthorization(t.Context(), d); err == nil {
			t.Errorf("CreateDeviceAuthorization(%+v) succeeded", d)
		}
	}
}

// TestDeviceConcurrentTakeOver creates 50 authorizations at once, through
// two Stores, with the user code of an expired one: exactly one takes it
// over, and the others are ErrExists.
func TestDeviceConcurrentTakeOver(t *testing.T) {
	db := newTestDB(t)
	stores := []*Store{db.store(t), db.store(t)}
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := stores[0].CreateDeviceAuthorization(ctx, testDevice("old", now.Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	const n = 50
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			d := testDevice(fmt.Sprint("new", i), now.Add(10*time.Minute))
			d.UserCodeID = "user-old"
			errs[i] = stores[i%len(stores)].CreateDeviceAuthorization(ctx, d)
		})
	}
	close(start)
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won < 0:
			won = i
		case err == nil:
			t.Errorf("creations #%d and #%d both took the user code", won, i)
		case !errors.Is(err, oauthkit.ErrExists):
			t.Errorf("creation #%d: %v, want nil or ErrExists", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no creation took the expired authorization's user code")
	}
	a, err := stores[1].DeviceAuthorizationByUserCode(ctx, "user-old", now)
	if err != nil || a.ID != fmt.Sprint("new", won) {
		t.Errorf("DeviceAuthorizationByUserCode = %+v, %v; want new%d", a, err, won)
	}
	if _, err := stores[0].PollDeviceAuthorization(ctx, "old", "tv", now); !errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("PollDeviceAuthorization of the authorization taken over: %v, want ErrNotFound", err)
	}
}
