package storetest

import (
	"fmt"
	"testing"

	"github.com/oauthkit/oauthkit"
)

// TestClientRegistry tests an [oauthkit.ClientRegistry] implementation, the
// store of dynamic client registration. newStore must return an empty
// store. TestClientRegistry checks that a created client comes back with
// every field intact (its Registration too), that creating a client whose
// ID is taken is an error wrapping [oauthkit.ErrExists] and changes
// nothing, that an update replaces the whole client and an update of an
// unknown client is an error wrapping [oauthkit.ErrNotFound] and stores
// nothing, that a deleted client is not found and deleting an unknown one
// is no error, and that of concurrent creations of one ID exactly one
// succeeds.
func TestClientRegistry(t *testing.T, newStore func(t *testing.T) oauthkit.ClientRegistry) {
	t.Run("RoundTrip", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		for _, c := range testClients(e.tag) {
			must(t, "CreateClient", s.CreateClient(e.ctx, c))
		}
		for _, want := range testClients(e.tag) {
			t.Run(want.ID[len(e.tag)+1:], func(t *testing.T) {
				got, err := s.Client(e.ctx, want.ID)
				if wantOK(t, "Client", err) {
					wantEqual(t, "Client", got, want)
				}
			})
		}
	})

	t.Run("Exists", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		first := testClients(e.tag)[0]
		must(t, "CreateClient", s.CreateClient(e.ctx, first))
		second := testClients(e.tag)[3]
		second.ID = first.ID
		wantErr(t, "CreateClient of a taken ID", s.CreateClient(e.ctx, second), oauthkit.ErrExists)
		got, err := s.Client(e.ctx, first.ID)
		if wantOK(t, "Client after a refused CreateClient", err) {
			wantEqual(t, "Client after a refused CreateClient", got, testClients(e.tag)[0])
		}
	})

	t.Run("Update", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		clients := testClients(e.tag)
		must(t, "CreateClient", s.CreateClient(e.ctx, clients[0]))
		must(t, "CreateClient", s.CreateClient(e.ctx, clients[1]))
		// The whole client is replaced: fields the update leaves empty
		// are empty afterwards.
		next := testClients(e.tag)[2]
		next.ID = clients[0].ID
		next.Registration = &oauthkit.ClientRegistration{AccessTokenHash: clients[0].Registration.AccessTokenHash}
		if wantOK(t, "UpdateClient", s.UpdateClient(e.ctx, next)) {
			got, err := s.Client(e.ctx, next.ID)
			if wantOK(t, "Client after UpdateClient", err) {
				want := testClients(e.tag)[2]
				want.ID = clients[0].ID
				want.Registration = &oauthkit.ClientRegistration{AccessTokenHash: clients[0].Registration.AccessTokenHash}
				wantEqual(t, "Client after UpdateClient", got, want)
			}
		}
		got, err := s.Client(e.ctx, clients[1].ID)
		if wantOK(t, "Client of another client after UpdateClient", err) {
			wantEqual(t, "Client of another client after UpdateClient", got, testClients(e.tag)[1])
		}
	})

	t.Run("UpdateUnknown", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		c := testClients(e.tag)[0]
		wantErr(t, "UpdateClient of an unknown client", s.UpdateClient(e.ctx, c), oauthkit.ErrNotFound)
		_, err := s.Client(e.ctx, c.ID)
		wantErr(t, "Client after UpdateClient of an unknown client", err, oauthkit.ErrNotFound)
	})

	t.Run("Delete", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		clients := testClients(e.tag)
		for _, c := range clients[:2] {
			must(t, "CreateClient", s.CreateClient(e.ctx, c))
		}
		wantOK(t, "DeleteClient", s.DeleteClient(e.ctx, clients[0].ID))
		_, err := s.Client(e.ctx, clients[0].ID)
		wantErr(t, "Client after DeleteClient", err, oauthkit.ErrNotFound)
		got, err := s.Client(e.ctx, clients[1].ID)
		if wantOK(t, "Client of another client after DeleteClient", err) {
			wantEqual(t, "Client of another client after DeleteClient", got, testClients(e.tag)[1])
		}
		wantOK(t, "DeleteClient of a deleted client", s.DeleteClient(e.ctx, clients[0].ID))
		wantOK(t, "DeleteClient of an unknown client", s.DeleteClient(e.ctx, e.tag+"-unknown"))
		// The ID is free again.
		wantOK(t, "CreateClient after DeleteClient", s.CreateClient(e.ctx, testClients(e.tag)[0]))
	})

	t.Run("ConcurrentCreate", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		errs := race(goroutines, func(i int) error {
			c := testClients(e.tag)[3]
			c.Name = fmt.Sprint(i)
			return s.CreateClient(e.ctx, c)
		})
		n := tally(errs)
		if n["nil"] != 1 || n["ErrExists"] != goroutines-1 {
			t.Errorf("%d concurrent CreateClient of one ID: %v, want 1 nil and the rest ErrExists (first other error: %v)", goroutines, n, firstOther(errs, oauthkit.ErrExists))
		}
	})
}
