package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/oauthkit/oauthkit"
)

// keepExpiredDevices is how long after it expires a device authorization is
// still kept, so that the device's polls are answered expired_token
// (RFC 8628 §3.5) rather than invalid_grant: a device polls every few
// seconds, and stops at its first expired_token.
const keepExpiredDevices = 5 * time.Minute

// slowDown is what RFC 8628 §3.5 adds to the polling interval of a device
// that polls too fast.
const slowDown = 5 * time.Second

// Devices is an [oauthkit.DeviceStore] holding device authorizations in
// maps, by ID and by user code. The zero value is an empty store, ready to
// use.
//
// Every method takes one lock, so each is atomic: of concurrent decisions
// one wins, and of concurrent polls of an approved authorization exactly
// one sees it approved.
//
// An expired authorization is kept, and PollDeviceAuthorization reports it
// as it is, for at least five minutes after its ExpiresAt (by the times its
// callers pass); the first sweep after that forgets it, and its polls are
// then ErrNotFound. Its user code is free as soon as it expires: see
// CreateDeviceAuthorization.
type Devices struct {
	mu     sync.Mutex
	byID   map[string]*oauthkit.DeviceAuthorization
	byUser map[string]*oauthkit.DeviceAuthorization // UserCodeID → the authorization that last took it
	sweep  sweeper
	// latest is the latest now a caller has passed: the store's notion of
	// the current time when CreateDeviceAuthorization, which is given
	// none, judges whether an authorization has expired.
	latest time.Time
}

var _ oauthkit.DeviceStore = (*Devices)(nil)

// NewDevices returns an empty device authorization store.
func NewDevices() *Devices { return &Devices{} }

// CreateDeviceAuthorization stores a new pending authorization; see
// oauthkit.DeviceStore. It needs an ID, a UserCodeID and an ExpiresAt. It
// stores the authorization as pending, never polled and undecided, whatever
// a's Status, LastPolledAt, Subject, AuthTime and ACR say.
//
// It is given no time, so it judges expiry at the latest time a caller
// passed to the other methods, which is no later than the current time: an
// ID or a user code held by an authorization expired by then is taken over
// (the old authorization's polls are then ErrNotFound); one held by an
// authorization not yet seen to expire is an error wrapping
// oauthkit.ErrExists, and the caller draws another code.
//
// When a sweep is due (after as many inserts as the last sweep left, and at
// least 1024), it first forgets the authorizations expired more than
// five minutes before that latest time.
func (s *Devices) CreateDeviceAuthorization(_ context.Context, a *oauthkit.DeviceAuthorization) error {
	if a == nil || a.ID == "" || a.UserCodeID == "" || a.ExpiresAt.IsZero() {
		return errors.New("memory: device authorization needs an ID, a user code ID and an expiry")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID == nil {
		s.byID = make(map[string]*oauthkit.DeviceAuthorization)
		s.byUser = make(map[string]*oauthkit.DeviceAuthorization)
	}
	if old, ok := s.byID[a.ID]; ok && s.latest.Before(old.ExpiresAt) {
		return fmt.Errorf("device authorization: %w", oauthkit.ErrExists)
	}
	if old, ok := s.byUser[a.UserCodeID]; ok && s.latest.Before(old.ExpiresAt) {
		return fmt.Errorf("device authorization: user code: %w", oauthkit.ErrExists)
	}
	if s.sweep.due() {
		s.deleteExpired(s.latest)
	}
	if old, ok := s.byID[a.ID]; ok {
		s.remove(old)
	}
	c := &oauthkit.DeviceAuthorization{
		ID:         a.ID,
		UserCodeID: a.UserCodeID,
		ClientID:   a.ClientID,
		Scope:      slices.Clone(a.Scope),
		Resources:  slices.Clone(a.Resources),
		ExpiresAt:  a.ExpiresAt,
		Interval:   a.Interval,
		Status:     oauthkit.DevicePending,
	}
	s.byID[c.ID] = c
	s.byUser[c.UserCodeID] = c
	return nil
}

// DeviceAuthorizationByUserCode returns the pending authorization with the
// given user code; see oauthkit.DeviceStore.
func (s *Devices) DeviceAuthorizationByUserCode(_ context.Context, userCodeID string, now time.Time) (*oauthkit.DeviceAuthorization, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.pending(userCodeID, now)
	if err != nil {
		return nil, err
	}
	return cloneDevice(a), nil
}

// DecideDeviceAuthorization approves (approval non-nil: its Subject,
// AuthTime and ACR) or denies (approval nil) the pending authorization with
// the given user code; see oauthkit.DeviceStore.
func (s *Devices) DecideDeviceAuthorization(_ context.Context, userCodeID string, now time.Time, approval *oauthkit.DeviceAuthorization) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.pending(userCodeID, now)
	if err != nil {
		return err
	}
	if approval == nil {
		a.Status = oauthkit.DeviceDenied
		return nil
	}
	a.Status = oauthkit.DeviceApproved
	a.Subject, a.AuthTime, a.ACR = approval.Subject, approval.AuthTime, approval.ACR
	return nil
}

// pending returns the stored authorization with the given user code if it
// is pending and unexpired at now. It runs with s.mu held.
func (s *Devices) pending(userCodeID string, now time.Time) (*oauthkit.DeviceAuthorization, error) {
	s.saw(now)
	a, ok := s.byUser[userCodeID]
	if !ok || !now.Before(a.ExpiresAt) || a.Status != oauthkit.DevicePending {
		return nil, fmt.Errorf("device authorization: %w", oauthkit.ErrNotFound)
	}
	return a, nil
}

// PollDeviceAuthorization records a token request for the authorization
// with the given ID and returns the authorization as it was before; see
// oauthkit.DeviceStore for what it changes. An authorization that expired
// more than five minutes before now may have been forgotten: ErrNotFound.
func (s *Devices) PollDeviceAuthorization(_ context.Context, id, clientID string, now time.Time) (*oauthkit.DeviceAuthorization, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saw(now)
	a, ok := s.byID[id]
	if !ok || a.ClientID != clientID {
		return nil, fmt.Errorf("device authorization: %w", oauthkit.ErrNotFound)
	}
	prev := cloneDevice(a)
	if !now.Before(a.ExpiresAt) {
		return prev, nil
	}
	switch a.Status {
	case oauthkit.DevicePending:
		if !a.LastPolledAt.IsZero() && now.Sub(a.LastPolledAt) < a.Interval {
			a.Interval += slowDown
		}
		a.LastPolledAt = now
	case oauthkit.DeviceApproved:
		a.Status = oauthkit.DeviceRedeemed
	}
	return prev, nil
}

// DeleteExpired forgets the authorizations expired more than five minutes
// before now. It never fails; the error is for the
// signature every store shares.
func (s *Devices) DeleteExpired(_ context.Context, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteExpired(now)
	return nil
}

func (s *Devices) deleteExpired(now time.Time) {
	cutoff := now.Add(-keepExpiredDevices)
	for _, a := range s.byID {
		if !cutoff.Before(a.ExpiresAt) {
			s.remove(a)
		}
	}
	s.sweep.swept(len(s.byID))
}

// remove forgets a, and its user code unless another authorization has
// taken it since.
func (s *Devices) remove(a *oauthkit.DeviceAuthorization) {
	delete(s.byID, a.ID)
	if s.byUser[a.UserCodeID] == a {
		delete(s.byUser, a.UserCodeID)
	}
}

// saw records that a caller passed now.
func (s *Devices) saw(now time.Time) {
	if now.After(s.latest) {
		s.latest = now
	}
}

// len returns the number of authorizations held, expired or not.
func (s *Devices) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// cloneDevice returns a copy of a that shares no memory with it.
func cloneDevice(a *oauthkit.DeviceAuthorization) *oauthkit.DeviceAuthorization {
	c := *a
	c.Scope = slices.Clone(a.Scope)
	c.Resources = slices.Clone(a.Resources)
	return &c
}
