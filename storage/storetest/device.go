package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
)

// Device authorizations of the kit.
const (
	// deviceLifetime is how long the kit's device and user codes live.
	deviceLifetime = 10 * time.Minute
	// deviceInterval is their polling interval, RFC 8628 §3.2's default.
	deviceInterval = 5 * time.Second
	// slowDown is what RFC 8628 §3.5 adds to the interval of a device
	// that polls too fast.
	slowDown = 5 * time.Second
	// deviceRacers is how many goroutines the device checks start at once.
	deviceRacers = 50
)

// TestDeviceStore tests an [oauthkit.DeviceStore] implementation. newStore
// must return a store that holds none of the kit's authorizations.
// TestDeviceStore checks that every field of an authorization round-trips
// through creation, polls and approval, and that creation stores a pending,
// undecided, never-polled authorization whatever the caller set; that an ID
// or a user code held by an unexpired authorization is an error wrapping
// [oauthkit.ErrExists] that stores nothing, while the user code of an
// expired one may be taken; that DeviceAuthorizationByUserCode finds only
// pending, unexpired authorizations, by their exact user code; that an
// authorization is decided once, approved or denied, and never when
// expired; that PollDeviceAuthorization returns the authorization as it was
// before the poll, records the poll of a pending one and grows its interval
// by five seconds when it comes too soon, redeems an approved one once,
// changes nothing for an unknown ID, another client's authorization or an
// expired one; that the store neither keeps the caller's authorization nor
// hands out its own; and that, of 50 concurrent calls, exactly one decision
// wins, exactly one poll of an approved authorization sees it approved,
// exactly one creation takes a user code, and concurrent polls of a pending
// authorization each count.
//
// A store may forget an authorization some time after it expires: the kit
// polls expired authorizations within a minute of their expiry, except in
// one check that accepts either answer. CreateDeviceAuthorization is given
// no time; the kit lets a new authorization take the user code of one that
// expired ten minutes earlier by the wall clock, after a poll at the
// current time has shown the store that it expired.
func TestDeviceStore(t *testing.T, newStore func(t *testing.T) oauthkit.DeviceStore) {
	t.Run("RoundTrip", func(t *testing.T) { testDeviceRoundTrip(t, newStore) })
	t.Run("CreatePending", func(t *testing.T) { testDeviceCreatePending(t, newStore) })
	t.Run("Duplicate", func(t *testing.T) { testDeviceDuplicate(t, newStore) })
	t.Run("ReuseExpiredUserCode", func(t *testing.T) { testDeviceReuseUserCode(t, newStore) })
	t.Run("ByUserCode", func(t *testing.T) { testDeviceByUserCode(t, newStore) })
	t.Run("Decide", func(t *testing.T) { testDeviceDecide(t, newStore) })
	t.Run("PollNotFound", func(t *testing.T) { testDevicePollNotFound(t, newStore) })
	t.Run("PollInterval", func(t *testing.T) { testDevicePollInterval(t, newStore) })
	t.Run("PollExpired", func(t *testing.T) { testDevicePollExpired(t, newStore) })
	t.Run("PollApproved", func(t *testing.T) { testDevicePollApproved(t, newStore) })
	t.Run("PollDenied", func(t *testing.T) { testDevicePollDenied(t, newStore) })
	t.Run("Copies", func(t *testing.T) { testDeviceCopies(t, newStore) })
	t.Run("ConcurrentPoll", func(t *testing.T) { testDeviceConcurrentPoll(t, newStore) })
	t.Run("ConcurrentPollPending", func(t *testing.T) { testDeviceConcurrentPollPending(t, newStore) })
	t.Run("ConcurrentDecide", func(t *testing.T) { testDeviceConcurrentDecide(t, newStore) })
	t.Run("ConcurrentCreateSameUserCode", func(t *testing.T) { testDeviceConcurrentCreate(t, newStore) })
}

type newDeviceStore = func(t *testing.T) oauthkit.DeviceStore

func testDeviceRoundTrip(t *testing.T, newStore newDeviceStore) {
	e := newEnv(t)
	cases := []struct {
		name     string
		device   *oauthkit.DeviceAuthorization
		approval *oauthkit.DeviceAuthorization
	}{
		{"AllFields", e.device("all"), e.approval()},
		{"NoOptionalFields", e.bareDevice("bare"), &oauthkit.DeviceAuthorization{Subject: "alice"}},
		{"EmptyLists", func() *oauthkit.DeviceAuthorization {
			d := e.bareDevice("empty")
			d.Scope, d.Resources = []string{}, []string{}
			return d
		}(), e.approval()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			want := *tc.device
			want.Status = oauthkit.DevicePending
			must(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(e.ctx, tc.device))
			e.wantByUserCode(t, s, &want, e.now, "after CreateDeviceAuthorization")
			e.wantPoll(t, s, &want, e.now, "first poll")
			want.LastPolledAt = e.now
			e.wantByUserCode(t, s, &want, e.now, "after a poll")
			wantOK(t, "DecideDeviceAuthorization", s.DecideDeviceAuthorization(e.ctx, want.UserCodeID, e.now, tc.approval))
			want.Status = oauthkit.DeviceApproved
			want.Subject, want.AuthTime, want.ACR = tc.approval.Subject, tc.approval.AuthTime, tc.approval.ACR
			e.wantPoll(t, s, &want, e.now.Add(deviceInterval), "poll after approval")
			want.Status = oauthkit.DeviceRedeemed
			e.wantPoll(t, s, &want, e.now.Add(2*deviceInterval), "poll after redemption")
		})
	}
}

func testDeviceCreatePending(t *testing.T, newStore newDeviceStore) {
	// Status, LastPolledAt and the approval are the store's to set: a
	// caller's values, by mistake or not, never approve an authorization.
	e := newEnv(t)
	s := newStore(t)
	d := e.approvedDevice("d", e.now)
	must(t, "CreateDeviceAuthorization of an authorization with Status approved", s.CreateDeviceAuthorization(e.ctx, d))
	want := e.pendingDevice("d")
	e.wantByUserCode(t, s, want, e.now, "after creation")
	e.wantPoll(t, s, want, e.now, "first poll")
}

func testDeviceDuplicate(t *testing.T, newStore newDeviceStore) {
	e := newEnv(t)
	cases := []struct {
		name     string
		approved bool // approve the first before storing the second
		sameID   bool // the second has the first's ID, or else its user code
	}{
		{"ID", false, true},
		{"UserCode", false, false},
		{"IDOfApproved", true, true},
		{"UserCodeOfApproved", true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			first := e.device("d")
			must(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(e.ctx, first))
			if tc.approved {
				must(t, "DecideDeviceAuthorization", s.DecideDeviceAuthorization(e.ctx, first.UserCodeID, e.now, e.approval()))
			}
			second := e.bareDevice("other")
			second.ClientID = e.tag + "-stranger"
			if tc.sameID {
				second.ID = first.ID
			} else {
				second.UserCodeID = first.UserCodeID
			}
			wantErr(t, "CreateDeviceAuthorization with a held "+map[bool]string{true: "ID", false: "user code"}[tc.sameID],
				s.CreateDeviceAuthorization(e.ctx, second), oauthkit.ErrExists)

			// Nothing of the second was stored.
			if tc.sameID {
				_, err := s.DeviceAuthorizationByUserCode(e.ctx, second.UserCodeID, e.now)
				wantErr(t, "DeviceAuthorizationByUserCode of the refused authorization's user code", err, oauthkit.ErrNotFound)
			} else {
				_, err := s.PollDeviceAuthorization(e.ctx, second.ID, second.ClientID, e.now)
				wantErr(t, "PollDeviceAuthorization of the refused authorization's ID", err, oauthkit.ErrNotFound)
			}
			if tc.approved {
				e.wantPoll(t, s, e.approvedDevice("d", time.Time{}), e.now, "poll of the first")
				return
			}
			e.wantByUserCode(t, s, e.pendingDevice("d"), e.now, "of the first")
			e.wantPoll(t, s, e.pendingDevice("d"), e.now, "poll of the first")
		})
	}
}

func testDeviceReuseUserCode(t *testing.T, newStore newDeviceStore) {
	// User codes are short (RFC 8628 §6.1), so they are drawn again: once
	// an authorization has expired, its user code is free for a new one.
	e := newEnv(t)
	s := newStore(t)
	old := e.device("old")
	old.ExpiresAt = e.now.Add(-deviceLifetime)
	must(t, "CreateDeviceAuthorization of an expired authorization", s.CreateDeviceAuthorization(e.ctx, old))
	// The store learns the time; it may have forgotten the old one.
	if _, err := s.PollDeviceAuthorization(e.ctx, old.ID, old.ClientID, e.now); err != nil {
		wantErr(t, "PollDeviceAuthorization of an authorization expired ten minutes ago", err, oauthkit.ErrNotFound)
	}
	next := e.device("next")
	next.UserCodeID = old.UserCodeID
	if !wantOK(t, "CreateDeviceAuthorization with the user code of an expired authorization", s.CreateDeviceAuthorization(e.ctx, next)) {
		return
	}
	want := e.pendingDevice("next")
	want.UserCodeID = old.UserCodeID
	e.wantByUserCode(t, s, want, e.now, "of the reused user code")
	// The old device code never reaches the new authorization.
	got, err := s.PollDeviceAuthorization(e.ctx, old.ID, old.ClientID, e.now)
	if err != nil {
		wantErr(t, "PollDeviceAuthorization of the expired authorization", err, oauthkit.ErrNotFound)
	} else {
		wantOld := e.pendingDevice("old")
		wantOld.ExpiresAt, wantOld.LastPolledAt = old.ExpiresAt, got.LastPolledAt
		wantEqual(t, "PollDeviceAuthorization of the expired authorization", got, wantOld)
	}
	e.wantPoll(t, s, want, e.now, "poll of the new authorization")
}

func testDeviceByUserCode(t *testing.T, newStore newDeviceStore) {
	e := newEnv(t)
	t.Run("NotFound", func(t *testing.T) {
		stored := e.device("d")
		cases := append(lookalikes(stored.UserCodeID),
			struct{ name, id string }{"Unknown", e.id("user/unknown")},
			struct{ name, id string }{"DeviceCode", stored.ID})
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				must(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(e.ctx, e.device("d")))
				_, err := s.DeviceAuthorizationByUserCode(e.ctx, tc.id, e.now)
				wantErr(t, "DeviceAuthorizationByUserCode("+format(tc.id)+")", err, oauthkit.ErrNotFound)
				e.wantByUserCode(t, s, e.pendingDevice("d"), e.now, "of the stored authorization after a lookalike")
			})
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		expires := e.now.Add(deviceLifetime)
		cases := []struct {
			name  string
			at    time.Time
			found bool
		}{
			{"JustBefore", expires.Add(-time.Microsecond), true},
			{"AtExpiresAt", expires, false},
			{"Later", expires.Add(time.Minute), false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				must(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(e.ctx, e.device("d")))
				call := "at " + offset("ExpiresAt", tc.at.Sub(expires))
				if tc.found {
					e.wantByUserCode(t, s, e.pendingDevice("d"), tc.at, call)
					return
				}
				_, err := s.DeviceAuthorizationByUserCode(e.ctx, e.device("d").UserCodeID, tc.at)
				wantErr(t, "DeviceAuthorizationByUserCode "+call, err, oauthkit.ErrNotFound)
			})
		}
	})
	t.Run("Decided", func(t *testing.T) {
		for _, approve := range []bool{true, false} {
			name := map[bool]string{true: "Approved", false: "Denied"}[approve]
			t.Run(name, func(t *testing.T) {
				s := newStore(t)
				d := e.device("d")
				must(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(e.ctx, d))
				must(t, "DecideDeviceAuthorization", s.DecideDeviceAuthorization(e.ctx, d.UserCodeID, e.now, e.decision(approve)))
				_, err := s.DeviceAuthorizationByUserCode(e.ctx, d.UserCodeID, e.now)
				wantErr(t, "DeviceAuthorizationByUserCode of an authorization "+name, err, oauthkit.ErrNotFound)
			})
		}
	})
}

func testDeviceDecide(t *testing.T, newStore newDeviceStore) {
	e := newEnv(t)
	t.Run("Once", func(t *testing.T) {
		for _, first := range []bool{true, false} {
			for _, second := range []bool{true, false} {
				name := fmt.Sprintf("%sThen%s", decisionName(first), decisionName(second))
				t.Run(name, func(t *testing.T) {
					s := newStore(t)
					d := e.device("d")
					must(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(e.ctx, d))
					wantOK(t, "first DecideDeviceAuthorization", s.DecideDeviceAuthorization(e.ctx, d.UserCodeID, e.now, e.decision(first)))
					other := e.decision(second)
					if other != nil {
						other.Subject = "mallory"
					}
					wantErr(t, "second DecideDeviceAuthorization", s.DecideDeviceAuthorization(e.ctx, d.UserCodeID, e.now, other), oauthkit.ErrNotFound)
					want := e.approvedDevice("d", time.Time{})
					if !first {
						want = e.deniedDevice("d")
					}
					e.wantPoll(t, s, want, e.now, "poll after two decisions")
				})
			}
		}
	})
	t.Run("Expired", func(t *testing.T) {
		expires := e.now.Add(deviceLifetime)
		for _, at := range []time.Time{expires, expires.Add(time.Minute)} {
			call := "DecideDeviceAuthorization at " + offset("ExpiresAt", at.Sub(expires))
			t.Run(offset("ExpiresAt", at.Sub(expires)), func(t *testing.T) {
				for _, approve := range []bool{true, false} {
					s := newStore(t)
					d := e.device("d")
					must(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(e.ctx, d))
					wantErr(t, call+" ("+decisionName(approve)+")", s.DecideDeviceAuthorization(e.ctx, d.UserCodeID, at, e.decision(approve)), oauthkit.ErrNotFound)
					e.wantPoll(t, s, e.pendingDevice("d"), e.now, "poll after a decision on the expired authorization")
				}
			})
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		stored := e.device("d")
		cases := append(lookalikes(stored.UserCodeID),
			struct{ name, id string }{"Unknown", e.id("user/unknown")},
			struct{ name, id string }{"DeviceCode", stored.ID})
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				must(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(e.ctx, e.device("d")))
				err := s.DecideDeviceAuthorization(e.ctx, tc.id, e.now, e.approval())
				wantErr(t, "DecideDeviceAuthorization("+format(tc.id)+")", err, oauthkit.ErrNotFound)
				e.wantPoll(t, s, e.pendingDevice("d"), e.now, "poll after a decision on a lookalike")
			})
		}
	})
}

func testDevicePollNotFound(t *testing.T, newStore newDeviceStore) {
	// An unknown device code, or another client's, learns nothing and
	// changes nothing: no poll recorded, no slow_down, no redemption.
	e := newEnv(t)
	stored := e.device("d")
	type poll struct{ name, id, client string }
	cases := []poll{
		{"Unknown", e.id("device/unknown"), stored.ClientID},
		{"UserCode", stored.UserCodeID, stored.ClientID},
		{"OtherClient", stored.ID, e.tag + "-stranger"},
		{"ClientLookalike", stored.ID, swapCase(stored.ClientID)},
	}
	for _, l := range lookalikes(stored.ID) {
		cases = append(cases, poll{l.name, l.id, stored.ClientID})
	}
	for _, approved := range []bool{false, true} {
		t.Run(map[bool]string{false: "Pending", true: "Approved"}[approved], func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					s := newStore(t)
					must(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(e.ctx, e.device("d")))
					want := e.pendingDevice("d")
					if approved {
						must(t, "DecideDeviceAuthorization", s.DecideDeviceAuthorization(e.ctx, stored.UserCodeID, e.now, e.approval()))
						want = e.approvedDevice("d", time.Time{})
					}
					for i := range 2 {
						_, err := s.PollDeviceAuthorization(e.ctx, tc.id, tc.client, e.now.Add(time.Duration(i)*time.Second))
						wantErr(t, fmt.Sprintf("PollDeviceAuthorization(%s, %s) #%d", format(tc.id), format(tc.client), i+1), err, oauthkit.ErrNotFound)
					}
					e.wantPoll(t, s, want, e.now.Add(2*time.Second), "poll by its client after the others")
				})
			}
		})
	}
}

func testDevicePollInterval(t *testing.T, newStore newDeviceStore) {
	// Each poll returns the previous poll's time and the interval it was
	// measured against; a poll sooner than the interval grows the interval
	// by five seconds (RFC 8628 §3.5, slow_down), for good.
	e := newEnv(t)
	s := newStore(t)
	must(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(e.ctx, e.device("d")))
	const i = deviceInterval
	t0 := e.now
	polls := []struct {
		what     string
		at       time.Time
		last     time.Time // LastPolledAt returned
		interval time.Duration
	}{
		{"first poll", t0, time.Time{}, i},
		{"poll after the interval", t0.Add(i), t0, i},
		{"poll 1µs before the interval", t0.Add(2*i - time.Microsecond), t0.Add(i), i},
		{"poll after the old interval", t0.Add(3*i - time.Microsecond), t0.Add(2*i - time.Microsecond), i + slowDown},
		{"poll after the grown interval", t0.Add(4*i + 2*slowDown - time.Microsecond), t0.Add(3*i - time.Microsecond), i + 2*slowDown},
		{"poll at the same time", t0.Add(4*i + 2*slowDown - time.Microsecond), t0.Add(4*i + 2*slowDown - time.Microsecond), i + 2*slowDown},
	}
	for _, p := range polls {
		want := e.pendingDevice("d")
		want.LastPolledAt, want.Interval = p.last, p.interval
		e.wantPoll(t, s, want, p.at, p.what)
	}
	last := polls[len(polls)-1]
	want := e.pendingDevice("d")
	want.LastPolledAt, want.Interval = last.at, last.interval+slowDown
	e.wantByUserCode(t, s, want, last.at, "after the polls")
}

func testDevicePollExpired(t *testing.T, newStore newDeviceStore) {
	// An expired authorization is returned as it is, for the caller to
	// answer expired_token, and nothing changes: an approved one is not
	// redeemed, a pending one's poll is not recorded.
	e := newEnv(t)
	expires := e.now.Add(deviceLifetime)
	for _, approved := range []bool{false, true} {
		t.Run(map[bool]string{false: "Pending", true: "Approved"}[approved], func(t *testing.T) {
			s := newStore(t)
			d := e.device("d")
			must(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(e.ctx, d))
			_, err := s.PollDeviceAuthorization(e.ctx, d.ID, d.ClientID, e.now)
			must(t, "PollDeviceAuthorization", err)
			want := e.pendingDevice("d")
			want.LastPolledAt = e.now
			if approved {
				must(t, "DecideDeviceAuthorization", s.DecideDeviceAuthorization(e.ctx, d.UserCodeID, e.now, e.approval()))
				want = e.approvedDevice("d", e.now)
			}
			for _, at := range []time.Time{expires, expires, expires.Add(time.Second), expires.Add(time.Minute)} {
				e.wantPoll(t, s, want, at, "poll at "+offset("ExpiresAt", at.Sub(expires)))
			}
		})
	}
	t.Run("JustBefore", func(t *testing.T) {
		s := newStore(t)
		d := e.device("d")
		must(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(e.ctx, d))
		must(t, "DecideDeviceAuthorization", s.DecideDeviceAuthorization(e.ctx, d.UserCodeID, e.now, e.approval()))
		at := expires.Add(-time.Microsecond)
		e.wantPoll(t, s, e.approvedDevice("d", time.Time{}), at, "poll at ExpiresAt-1µs")
		want := e.approvedDevice("d", time.Time{})
		want.Status = oauthkit.DeviceRedeemed
		e.wantPoll(t, s, want, expires, "poll at ExpiresAt")
	})
}

func testDevicePollApproved(t *testing.T, newStore newDeviceStore) {
	e := newEnv(t)
	s := newStore(t)
	d := e.device("d")
	must(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(e.ctx, d))
	must(t, "DecideDeviceAuthorization", s.DecideDeviceAuthorization(e.ctx, d.UserCodeID, e.now, e.approval()))
	want := e.approvedDevice("d", time.Time{})
	// A fast poll does not slow down an approved authorization: its tokens
	// are issued (the caller decides; the store grows no interval).
	e.wantPoll(t, s, want, e.now, "first poll")
	want.Status = oauthkit.DeviceRedeemed
	for i, at := range []time.Time{e.now, e.now.Add(deviceInterval), e.now.Add(time.Minute)} {
		e.wantPoll(t, s, want, at, fmt.Sprintf("poll #%d", i+2))
	}
}

func testDevicePollDenied(t *testing.T, newStore newDeviceStore) {
	e := newEnv(t)
	s := newStore(t)
	d := e.device("d")
	must(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(e.ctx, d))
	must(t, "DecideDeviceAuthorization", s.DecideDeviceAuthorization(e.ctx, d.UserCodeID, e.now, nil))
	for i, at := range []time.Time{e.now, e.now, e.now.Add(deviceInterval)} {
		e.wantPoll(t, s, e.deniedDevice("d"), at, fmt.Sprintf("poll #%d", i+1))
	}
}

func testDeviceCopies(t *testing.T, newStore newDeviceStore) {
	e := newEnv(t)
	s := newStore(t)
	d := e.device("d")
	must(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(e.ctx, d))
	d.Scope[0], d.Resources[0] = "admin", "https://evil.example/" // the caller's is the caller's
	got, err := s.DeviceAuthorizationByUserCode(e.ctx, d.UserCodeID, e.now)
	if !wantOK(t, "DeviceAuthorizationByUserCode", err) {
		return
	}
	wantEqual(t, "DeviceAuthorizationByUserCode after the caller changed its authorization", got, e.pendingDevice("d"))
	if len(got.Scope) == 0 || len(got.Resources) == 0 {
		return // reported by wantEqual
	}
	got.Scope[0], got.Resources[0] = "admin", "https://evil.example/" // and the returned one too
	got.Status = oauthkit.DeviceApproved
	got, err = s.PollDeviceAuthorization(e.ctx, d.ID, d.ClientID, e.now)
	if !wantOK(t, "PollDeviceAuthorization", err) {
		return
	}
	wantEqual(t, "PollDeviceAuthorization after the caller changed a returned authorization", got, e.pendingDevice("d"))
	if len(got.Scope) == 0 {
		return
	}
	got.Scope[0] = "admin"
	want := e.pendingDevice("d")
	want.LastPolledAt = e.now
	e.wantPoll(t, s, want, e.now.Add(deviceInterval), "poll after the caller changed a polled authorization")
}

func testDeviceConcurrentPoll(t *testing.T, newStore newDeviceStore) {
	e := newEnv(t)
	s := newStore(t)
	d := e.device("d")
	must(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(e.ctx, d))
	must(t, "DecideDeviceAuthorization", s.DecideDeviceAuthorization(e.ctx, d.UserCodeID, e.now, e.approval()))
	got := make([]*oauthkit.DeviceAuthorization, deviceRacers)
	errs := race(deviceRacers, func(i int) error {
		var err error
		got[i], err = s.PollDeviceAuthorization(e.ctx, d.ID, d.ClientID, e.now)
		return err
	})
	statuses := map[oauthkit.DeviceStatus]int{}
	for i := range got {
		if errs[i] == nil && got[i] != nil {
			statuses[got[i].Status]++
		}
	}
	if n := tally(errs); n["nil"] != deviceRacers || statuses[oauthkit.DeviceApproved] != 1 || statuses[oauthkit.DeviceRedeemed] != deviceRacers-1 {
		t.Errorf("%d concurrent polls of an approved authorization: statuses %v, errors %v, want exactly 1 approved and %d redeemed (first error: %v)",
			deviceRacers, statuses, n, deviceRacers-1, firstOther(errs))
	}
	want := e.approvedDevice("d", time.Time{})
	want.Status = oauthkit.DeviceRedeemed
	e.wantPoll(t, s, want, e.now, "poll after the concurrent polls")
}

func testDeviceConcurrentPollPending(t *testing.T, newStore newDeviceStore) {
	// Every poll counts, as if they came one after the other: the first
	// finds no previous poll, each of the others a poll at the same time,
	// too soon, which grows the interval.
	e := newEnv(t)
	s := newStore(t)
	d := e.device("d")
	must(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(e.ctx, d))
	got := make([]*oauthkit.DeviceAuthorization, deviceRacers)
	errs := race(deviceRacers, func(i int) error {
		var err error
		got[i], err = s.PollDeviceAuthorization(e.ctx, d.ID, d.ClientID, e.now)
		return err
	})
	first, intervals := 0, map[time.Duration]bool{}
	for i := range got {
		if errs[i] != nil || got[i] == nil {
			continue
		}
		if got[i].LastPolledAt.IsZero() {
			first++
		}
		intervals[got[i].Interval] = true
	}
	// The first two polls return the first interval; each later one an
	// interval five seconds longer than the one before.
	if n := tally(errs); n["nil"] != deviceRacers || first != 1 || len(intervals) != deviceRacers-1 {
		t.Errorf("%d concurrent polls of a pending authorization: %d found no previous poll, %d distinct intervals, errors %v; want 1, %d and none (first error: %v)",
			deviceRacers, first, len(intervals), n, deviceRacers-1, firstOther(errs))
	}
	want := e.pendingDevice("d")
	want.LastPolledAt, want.Interval = e.now, deviceInterval+(deviceRacers-1)*slowDown
	e.wantByUserCode(t, s, want, e.now, "after the concurrent polls")
}

func testDeviceConcurrentDecide(t *testing.T, newStore newDeviceStore) {
	e := newEnv(t)
	s := newStore(t)
	d := e.device("d")
	must(t, "CreateDeviceAuthorization", s.CreateDeviceAuthorization(e.ctx, d))
	// Even goroutines approve, each for a subject of its own; odd ones deny.
	decision := func(i int) *oauthkit.DeviceAuthorization {
		if i%2 == 1 {
			return nil
		}
		a := e.approval()
		a.Subject = fmt.Sprint("user-", i)
		return a
	}
	errs := race(deviceRacers, func(i int) error {
		return s.DecideDeviceAuthorization(e.ctx, d.UserCodeID, e.now, decision(i))
	})
	n := tally(errs)
	if n["nil"] != 1 || n["ErrNotFound"] != deviceRacers-1 {
		t.Errorf("%d concurrent decisions: results %v, want exactly 1 nil and %d ErrNotFound (first other error: %v)",
			deviceRacers, n, deviceRacers-1, firstOther(errs, oauthkit.ErrNotFound))
		return
	}
	for i, err := range errs {
		if err != nil {
			continue
		}
		want := e.deniedDevice("d")
		if a := decision(i); a != nil {
			want = e.approvedDevice("d", time.Time{})
			want.Subject = a.Subject
		}
		e.wantPoll(t, s, want, e.now, "poll after the concurrent decisions")
	}
}

func testDeviceConcurrentCreate(t *testing.T, newStore newDeviceStore) {
	e := newEnv(t)
	s := newStore(t)
	errs := race(deviceRacers, func(i int) error {
		d := e.device(fmt.Sprint(i))
		d.UserCodeID = e.device("shared").UserCodeID
		return s.CreateDeviceAuthorization(e.ctx, d)
	})
	n := tally(errs)
	if n["nil"] != 1 || n["ErrExists"] != deviceRacers-1 {
		t.Errorf("%d concurrent CreateDeviceAuthorization with one user code: results %v, want exactly 1 nil and %d ErrExists (first other error: %v)",
			deviceRacers, n, deviceRacers-1, firstOther(errs, oauthkit.ErrExists))
		return
	}
	for i, err := range errs {
		if err != nil {
			continue
		}
		want := e.pendingDevice(fmt.Sprint(i))
		want.UserCodeID = e.device("shared").UserCodeID
		e.wantByUserCode(t, s, want, e.now, "of the user code that was taken")
	}
}

// device returns a device authorization with every field set that its
// creator sets, its ID and UserCodeID made from name.
func (e *env) device(name string) *oauthkit.DeviceAuthorization {
	return &oauthkit.DeviceAuthorization{
		ID:         e.id("device/" + name),
		UserCodeID: e.id("user/" + name),
		ClientID:   e.tv(),
		Scope:      []string{"openid", "write", "read"},
		Resources:  []string{"https://api.example.com/", "https://files.example.com/ü?x=1"},
		ExpiresAt:  e.now.Add(deviceLifetime),
		Interval:   deviceInterval,
	}
}

// bareDevice returns a device authorization with only the fields the
// library always sets.
func (e *env) bareDevice(name string) *oauthkit.DeviceAuthorization {
	return &oauthkit.DeviceAuthorization{
		ID:         e.id("device/" + name),
		UserCodeID: e.id("user/" + name),
		ClientID:   e.tv(),
		ExpiresAt:  e.now.Add(deviceLifetime),
		Interval:   deviceInterval,
	}
}

// pendingDevice is device(name) as stored: pending.
func (e *env) pendingDevice(name string) *oauthkit.DeviceAuthorization {
	d := e.device(name)
	d.Status = oauthkit.DevicePending
	return d
}

// approval is the resource owner's approval of the kit's authorizations.
func (e *env) approval() *oauthkit.DeviceAuthorization {
	return &oauthkit.DeviceAuthorization{
		Subject:  "248289761001-ü",
		AuthTime: e.now.Add(-2 * time.Minute),
		ACR:      "urn:example:acr:mfa",
	}
}

// decision returns approval() if approve is set, and nil (a denial) if not.
func (e *env) decision(approve bool) *oauthkit.DeviceAuthorization {
	if approve {
		return e.approval()
	}
	return nil
}

func decisionName(approve bool) string {
	if approve {
		return "Approve"
	}
	return "Deny"
}

// approvedDevice is device(name) as stored once approved, last polled at
// lastPolled.
func (e *env) approvedDevice(name string, lastPolled time.Time) *oauthkit.DeviceAuthorization {
	d := e.device(name)
	a := e.approval()
	d.Status, d.LastPolledAt = oauthkit.DeviceApproved, lastPolled
	d.Subject, d.AuthTime, d.ACR = a.Subject, a.AuthTime, a.ACR
	return d
}

// deniedDevice is device(name) as stored once denied, never polled.
func (e *env) deniedDevice(name string) *oauthkit.DeviceAuthorization {
	d := e.device(name)
	d.Status = oauthkit.DeviceDenied
	return d
}

// tv is the client ID of the kit's device authorizations.
func (e *env) tv() string { return e.tag + "-tv" }

// wantByUserCode checks that the store returns want for its user code.
func (e *env) wantByUserCode(t *testing.T, s oauthkit.DeviceStore, want *oauthkit.DeviceAuthorization, at time.Time, why string) {
	t.Helper()
	got, err := s.DeviceAuthorizationByUserCode(e.ctx, want.UserCodeID, at)
	if wantOK(t, "DeviceAuthorizationByUserCode ("+why+")", err) {
		wantEqual(t, "DeviceAuthorizationByUserCode ("+why+")", got, want)
	}
}

// wantPoll polls want's authorization, by its client, at at and checks
// that the store returns want.
func (e *env) wantPoll(t *testing.T, s oauthkit.DeviceStore, want *oauthkit.DeviceAuthorization, at time.Time, why string) {
	t.Helper()
	got, err := s.PollDeviceAuthorization(e.ctx, want.ID, want.ClientID, at)
	if wantOK(t, "PollDeviceAuthorization ("+why+")", err) {
		wantEqual(t, "PollDeviceAuthorization ("+why+")", got, want)
	}
}
