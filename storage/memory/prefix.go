package memory

import (
	"context"
	"errors"
	"strings"
)

// DeleteKeyPrefix forgets every client, code, token, revoked grant, device
// authorization and pushed request whose ID starts with prefix: what one
// tenant stored through its view (package storage/tenant), when the tenant
// is removed. Replay keys are kept as hashes, so they stay until they
// expire. It refuses an empty prefix, which would empty the store. It walks
// every entry, each store under its own lock.
func (s *Store) DeleteKeyPrefix(_ context.Context, prefix string) error {
	if prefix == "" {
		return errors.New("memory: DeleteKeyPrefix needs a prefix")
	}
	has := func(id string) bool { return strings.HasPrefix(id, prefix) }

	s.Clients.mu.Lock()
	for id := range s.Clients.clients {
		if has(id) {
			s.Clients.remove(id)
		}
	}
	s.Clients.mu.Unlock()

	s.Codes.mu.Lock()
	for id := range s.Codes.codes {
		if has(id) {
			delete(s.Codes.codes, id)
		}
	}
	s.Codes.mu.Unlock()

	s.Tokens.mu.Lock()
	var ids []string
	for r := range s.Tokens.tokens.records() {
		if id := r.id(); has(id) {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		s.Tokens.remove(id)
	}
	for g := range s.Tokens.revoked {
		if has(g) {
			delete(s.Tokens.revoked, g)
		}
	}
	s.Tokens.mu.Unlock()

	if d := s.Devices; d != nil {
		d.mu.Lock()
		for id := range d.byID {
			if has(id) {
				delete(d.byID, id)
			}
		}
		for id := range d.byUser {
			if has(id) {
				delete(d.byUser, id)
			}
		}
		d.mu.Unlock()
	}
	if p := s.PushedRequests; p != nil {
		p.mu.Lock()
		for id := range p.requests {
			if has(id) {
				delete(p.requests, id)
			}
		}
		p.mu.Unlock()
	}
	return nil
}
