package storetest_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/storetest"
)

// Device stores that break one rule each, for TestKitCatchesBrokenStores.
func init() {
	brokenStores = append(brokenStores, []struct {
		name  string
		test  func(t *testing.T)
		fails string
	}{
		{"DevicesTrustCaller", deviceKit(mapDevices{trustCaller: true}), "CreatePending"},
		{"DevicesKeepUserCodes", deviceKit(mapDevices{keepUserCodes: true}), "ReuseExpiredUserCode"},
		{"DevicesFindDecided", deviceKit(mapDevices{findDecided: true}), "ByUserCode/Decided/Approved"},
		{"DevicesDecideTwice", deviceKit(mapDevices{decideTwice: true}), "Decide/Once/ApproveThenDeny"},
		{"DevicesDecideExpired", deviceKit(mapDevices{decideExpired: true}), "Decide/Expired/ExpiresAt"},
		{"DevicesIgnoreClient", deviceKit(mapDevices{ignoreClient: true}), "PollNotFound/Approved/OtherClient"},
		{"DevicesNoSlowDown", deviceKit(mapDevices{noSlowDown: true}), "PollInterval"},
		{"DevicesReturnAfter", deviceKit(mapDevices{returnAfter: true}), "PollInterval"},
		{"DevicesRedeemExpired", deviceKit(mapDevices{redeemExpired: true}), "PollExpired/Approved"},
		{"DevicesShareMemory", deviceKit(mapDevices{share: true}), "Copies"},
		{"DevicesPollThenRedeem", deviceKit(mapDevices{twoSteps: true}), "ConcurrentPoll"},
		{"DevicesLoseSlowDowns", deviceKit(mapDevices{twoSteps: true}), "ConcurrentPollPending"},
		{"DevicesDecideInTwoSteps", deviceKit(mapDevices{twoSteps: true}), "ConcurrentDecide"},
		{"DevicesCreateInTwoSteps", deviceKit(mapDevices{twoSteps: true}), "ConcurrentCreateSameUserCode"},
	}...)
}

// deviceKit runs the kit on new stores with the faults of f.
func deviceKit(f mapDevices) func(*testing.T) {
	return func(t *testing.T) {
		storetest.TestDeviceStore(t, func(*testing.T) oauthkit.DeviceStore {
			s := f
			s.byID = make(map[string]*oauthkit.DeviceAuthorization)
			s.mu = new(sync.Mutex)
			return &s
		})
	}
}

// mapDevices is a device store with the faults its flags name; with none
// set, it passes the kit.
type mapDevices struct {
	trustCaller   bool // stores Status, LastPolledAt and the approval as given
	keepUserCodes bool // an expired authorization's user code stays taken
	findDecided   bool // finds decided authorizations by user code
	decideTwice   bool // decides decided authorizations again
	decideExpired bool // decides expired authorizations
	ignoreClient  bool // polls another client's authorization
	noSlowDown    bool // never grows the interval
	returnAfter   bool // returns the authorization as it is after the poll
	redeemExpired bool // redeems expired authorizations
	share         bool // keeps and returns its own values
	twoSteps      bool // reads, then writes, each under the lock

	mu   *sync.Mutex
	byID map[string]*oauthkit.DeviceAuthorization
	// latest is the latest time a caller passed.
	latest time.Time
}

func (s *mapDevices) copyOf(a *oauthkit.DeviceAuthorization) *oauthkit.DeviceAuthorization {
	if s.share {
		return a
	}
	c := *a
	c.Scope, c.Resources = slices.Clone(a.Scope), slices.Clone(a.Resources)
	return &c
}

// step ends a read and starts the write: under the lock, unless twoSteps.
func (s *mapDevices) step() {
	if s.twoSteps {
		s.mu.Unlock()
		time.Sleep(time.Millisecond)
		s.mu.Lock()
	}
}

func (s *mapDevices) byUserCode(userCodeID string) *oauthkit.DeviceAuthorization {
	var found *oauthkit.DeviceAuthorization
	for _, a := range s.byID {
		if a.UserCodeID == userCodeID && (found == nil || a.ExpiresAt.After(found.ExpiresAt)) {
			found = a
		}
	}
	return found
}

func (s *mapDevices) CreateDeviceAuthorization(_ context.Context, a *oauthkit.DeviceAuthorization) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	held := func(old *oauthkit.DeviceAuthorization) bool {
		return old != nil && (s.keepUserCodes || s.latest.Before(old.ExpiresAt))
	}
	if held(s.byID[a.ID]) || held(s.byUserCode(a.UserCodeID)) {
		return fmt.Errorf("device: %w", oauthkit.ErrExists)
	}
	s.step()
	c := s.copyOf(a)
	if !s.trustCaller {
		c.Status, c.LastPolledAt, c.Subject, c.AuthTime, c.ACR = oauthkit.DevicePending, time.Time{}, "", time.Time{}, ""
	}
	s.byID[a.ID] = c
	return nil
}

func (s *mapDevices) pending(userCodeID string, now time.Time, decide bool) (*oauthkit.DeviceAuthorization, error) {
	s.latest = later(s.latest, now)
	a := s.byUserCode(userCodeID)
	if a == nil ||
		!now.Before(a.ExpiresAt) && !(decide && s.decideExpired) ||
		a.Status != oauthkit.DevicePending && !(decide && s.decideTwice) && !(!decide && s.findDecided) {
		return nil, fmt.Errorf("device: %w", oauthkit.ErrNotFound)
	}
	return a, nil
}

func (s *mapDevices) DeviceAuthorizationByUserCode(_ context.Context, userCodeID string, now time.Time) (*oauthkit.DeviceAuthorization, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.pending(userCodeID, now, false)
	if err != nil {
		return nil, err
	}
	return s.copyOf(a), nil
}

func (s *mapDevices) DecideDeviceAuthorization(_ context.Context, userCodeID string, now time.Time, approval *oauthkit.DeviceAuthorization) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.pending(userCodeID, now, true)
	if err != nil {
		return err
	}
	s.step()
	if approval == nil {
		a.Status = oauthkit.DeviceDenied
		return nil
	}
	a.Status, a.Subject, a.AuthTime, a.ACR = oauthkit.DeviceApproved, approval.Subject, approval.AuthTime, approval.ACR
	return nil
}

func (s *mapDevices) PollDeviceAuthorization(_ context.Context, id, clientID string, now time.Time) (*oauthkit.DeviceAuthorization, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latest = later(s.latest, now)
	a, ok := s.byID[id]
	if !ok || a.ClientID != clientID && !s.ignoreClient {
		return nil, fmt.Errorf("device: %w", oauthkit.ErrNotFound)
	}
	prev := s.copyOf(a)
	if !prev.ExpiresAt.After(now) && !s.redeemExpired {
		return prev, nil
	}
	status, last, interval := a.Status, a.LastPolledAt, a.Interval
	s.step()
	switch status {
	case oauthkit.DevicePending:
		if !last.IsZero() && now.Sub(last) < interval && !s.noSlowDown {
			interval += 5 * time.Second
		}
		a.LastPolledAt, a.Interval = now, interval
	case oauthkit.DeviceApproved:
		a.Status = oauthkit.DeviceRedeemed
	}
	if s.returnAfter || s.share {
		return s.copyOf(a), nil
	}
	return prev, nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// TestMapDevices checks the broken stores' base: without a fault, it
// passes the kit, so that each fault alone fails it.
func TestMapDevices(t *testing.T) { deviceKit(mapDevices{})(t) }
