package memory

import (
	"context"
	"fmt"
	"strings"

	"github.com/oauthkit/oauthkit"
)

// Clients is also an [oauthkit.ClientRegistry], the store of dynamic client
// registration (RFC 7591, RFC 7592).
var _ oauthkit.ClientRegistry = (*Clients)(nil)

// Clients caps the clients of each source (RegistrationConfig.MaxClientsPerSource).
var _ oauthkit.ClientCapper = (*Clients)(nil)

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

// CreateClientCapped adds c as CreateClient does, unless source has max
// clients stored: then it returns an error wrapping
// oauthkit.ErrLimitReached. See oauthkit.ClientCapper.
func (s *Clients) CreateClientCapped(_ context.Context, c *oauthkit.Client, source string, max int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c.ID]; ok {
		return fmt.Errorf("client %q: %w", c.ID, oauthkit.ErrExists)
	}
	if s.counts[source] >= max {
		return fmt.Errorf("clients of a source: %w", oauthkit.ErrLimitReached)
	}
	if s.sources == nil {
		s.sources, s.counts = make(map[string]string), make(map[string]int)
	}
	s.clients[c.ID] = c
	s.sources[c.ID] = source
	s.counts[source]++
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
	s.remove(id)
	return nil
}

// remove forgets the client with the given ID and, if CreateClientCapped
// stored it, that its source registered it. It runs with s.mu held.
func (s *Clients) remove(id string) {
	delete(s.clients, id)
	if source, ok := s.sources[id]; ok {
		delete(s.sources, id)
		if s.counts[source]--; s.counts[source] <= 0 {
			delete(s.counts, source)
		}
	}
}

// Tokens revokes a client's tokens when it deletes its registration.
var _ oauthkit.ClientRevoker = (*Tokens)(nil)

// RevokeClientTokens revokes every token of the client clientID, and
// refuses tokens of their grants stored afterwards, as RevokeGrant does. It
// walks every stored token.
func (s *Tokens) RevokeClientTokens(_ context.Context, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	grants := make(map[string]bool)
	for r := range s.tokens.records() {
		if t := r.token(); t.ClientID == clientID {
			grants[strings.Clone(t.GrantID)] = true
		}
	}
	for g := range grants {
		s.revokeGrant(g)
	}
	return nil
}
