package memory

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/oauthkit/oauthkit"
)

// PushedRequests is a PushedRequestStore (RFC 9126) holding pushed
// authorization requests in a map.
type PushedRequests struct {
	mu       sync.Mutex
	requests map[string]*oauthkit.PushedRequest
	sweep    sweeper
}

// NewPushedRequests returns an empty pushed-request store.
func NewPushedRequests() *PushedRequests {
	return &PushedRequests{requests: make(map[string]*oauthkit.PushedRequest)}
}

// CreatePushedRequest stores a new pushed request; see
// oauthkit.PushedRequestStore. A request needs an ID and an ExpiresAt.
//
// When a sweep is due (after as many inserts as the last sweep left),
// CreatePushedRequest first drops the requests expired at r.ExpiresAt less
// oauthkit.MaxPARLifetime: no later than now for a request that lives at
// most MaxPARLifetime, as oauthkit.Server ensures.
func (s *PushedRequests) CreatePushedRequest(_ context.Context, r *oauthkit.PushedRequest) error {
	if r == nil || r.ID == "" || r.ExpiresAt.IsZero() {
		return errors.New("memory: pushed request needs an ID and an expiry")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.requests[r.ID]; ok {
		return fmt.Errorf("pushed request: %w", oauthkit.ErrExists)
	}
	if s.sweep.due() {
		s.deleteExpired(r.ExpiresAt.Add(-oauthkit.MaxPARLifetime))
	}
	s.requests[r.ID] = clonePushed(r)
	return nil
}

// PushedRequest returns the pushed request without using it up; see
// oauthkit.PushedRequestStore.
func (s *PushedRequests) PushedRequest(_ context.Context, id, clientID string, now time.Time) (*oauthkit.PushedRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.requests[id]
	if !ok || !now.Before(r.ExpiresAt) || r.ClientID != clientID {
		return nil, fmt.Errorf("pushed request: %w", oauthkit.ErrNotFound)
	}
	return clonePushed(r), nil
}

// ConsumePushedRequest removes the pushed request and returns it; see
// oauthkit.PushedRequestStore.
func (s *PushedRequests) ConsumePushedRequest(_ context.Context, id, clientID string, now time.Time) (*oauthkit.PushedRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.requests[id]
	if !ok || !now.Before(r.ExpiresAt) || r.ClientID != clientID {
		return nil, fmt.Errorf("pushed request: %w", oauthkit.ErrNotFound)
	}
	delete(s.requests, id)
	return r, nil // no longer the store's
}

// DeleteExpired forgets the pushed requests expired at now. It never
// fails; the error is for the signature every store shares.
func (s *PushedRequests) DeleteExpired(_ context.Context, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteExpired(now)
	return nil
}

func (s *PushedRequests) deleteExpired(now time.Time) {
	for id, r := range s.requests {
		if !now.Before(r.ExpiresAt) {
			delete(s.requests, id)
		}
	}
	s.sweep.swept(len(s.requests))
}

// clonePushed returns a copy of r sharing nothing with it.
func clonePushed(r *oauthkit.PushedRequest) *oauthkit.PushedRequest {
	c := *r
	c.Form = make(url.Values, len(r.Form))
	for k, v := range r.Form {
		c.Form[k] = append([]string(nil), v...)
	}
	return &c
}
