package memory

import (
	"testing"

	"github.com/oauthkit/oauthkit"
)

// TestDeleteKeyPrefixUncountsCappedClients checks that a capped client
// DeleteKeyPrefix removes no longer counts towards its source's cap, as one
// DeleteClient removes (oauthkit.ClientCapper), and that the store forgets
// its source.
func TestDeleteKeyPrefixUncountsCappedClients(t *testing.T) {
	ctx := t.Context()
	s := NewStore()
	if err := s.CreateClientCapped(ctx, &oauthkit.Client{ID: "a/c1"}, "203.0.113.7", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateClientCapped(ctx, &oauthkit.Client{ID: "b/c1"}, "203.0.113.8", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteKeyPrefix(ctx, "a/"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateClientCapped(ctx, &oauthkit.Client{ID: "a/c2"}, "203.0.113.7", 1); err != nil {
		t.Errorf("CreateClientCapped after DeleteKeyPrefix removed the source's one client: %v", err)
	}
	if _, ok := s.Clients.sources["a/c1"]; ok {
		t.Error("the store still holds the source of a client DeleteKeyPrefix removed")
	}
	if n := s.Clients.counts["203.0.113.8"]; n != 1 {
		t.Errorf("the other source counts %d clients, want 1", n)
	}
}
