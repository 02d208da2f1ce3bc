package memory

import (
	"context"
	"fmt"

	"github.com/oauthkit/oauthkit"
)

// Clients is also an [oauthkit.ClientRegistry], the store of dynamic client
// registration (RFC 7591, RFC 7592).
var _ oauthkit.ClientRegistry = (*Clients)(nil)

// CreateClient adds c, or returns an error wrapping oauthkit.ErrExists if a
// client with its ID is stored. The store keeps c; do not modify it after.
func (s *Clients) CreateClient(_ context.Context, c *oauthkit.Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c.ID]; ok {
		return fmt.Errorf("client %q: %w", c.ID, oauthkit.ErrExists)
	}
	s.clients[c.ID] = c
	return nil
}

// UpdateClient replaces the client with c's ID by c, or returns an error
// wrapping oauthkit.ErrNotFound if there is none. The store keeps c; do
// not modify it after.
func (s *Clients) UpdateClient(_ context.Context, c *oauthkit.Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c.ID]; !ok {
		return fmt.Errorf("client %q: %w", c.ID, oauthkit.ErrNotFound)
	}
	s.clients[c.ID] = c
	return nil
}

// DeleteClient removes the client with the given ID. Unknown IDs are not
// an error.
func (s *Clients) DeleteClient(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.clients, id)
	return nil
}
