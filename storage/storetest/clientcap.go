package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
)

// TestClientCapper tests an [oauthkit.ClientCapper], a client registry that
// caps the clients each source registers. newStore must return an empty
// store. TestClientCapper checks that a source gets max clients and then
// an error wrapping [oauthkit.ErrLimitReached] that stores nothing, that
// sources are counted apart, that a deleted client frees its place and an
// updated one keeps it, that a taken ID is an error wrapping
// [oauthkit.ErrExists], and that of 100 concurrent registrations of one
// source exactly max succeed.
func TestClientCapper(t *testing.T, newStore func(t *testing.T) oauthkit.ClientCapper) {
	client := func(e *env, i int) *oauthkit.Client {
		c := testClients(e.tag)[3]
		c.ID = fmt.Sprintf("%s-capped-%d", e.tag, i)
		return c
	}
	t.Run("Cap", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		const max = 3
		for i := range max {
			must(t, "CreateClientCapped", s.CreateClientCapped(e.ctx, client(e, i), "192.0.2.1", max))
		}
		over := client(e, max)
		wantErr(t, "CreateClientCapped beyond the cap", s.CreateClientCapped(e.ctx, over, "192.0.2.1", max), oauthkit.ErrLimitReached)
		_, err := s.Client(e.ctx, over.ID)
		wantErr(t, "Client refused by the cap", err, oauthkit.ErrNotFound)
		// Another source has its own count; a higher max lets one more in.
		wantOK(t, "CreateClientCapped from another source", s.CreateClientCapped(e.ctx, client(e, 10), "2001:db8::1", max))
		wantOK(t, "CreateClientCapped with a higher max", s.CreateClientCapped(e.ctx, client(e, 11), "192.0.2.1", max+1))
		wantErr(t, "CreateClientCapped at the higher max", s.CreateClientCapped(e.ctx, client(e, 12), "192.0.2.1", max+1), oauthkit.ErrLimitReached)
		// An update keeps the client's place; a deletion frees it.
		updated := client(e, 0)
		updated.Name = "renamed"
		must(t, "UpdateClient", s.UpdateClient(e.ctx, updated))
		wantErr(t, "CreateClientCapped after an update", s.CreateClientCapped(e.ctx, over, "192.0.2.1", max+1), oauthkit.ErrLimitReached)
		must(t, "DeleteClient", s.DeleteClient(e.ctx, updated.ID))
		wantOK(t, "CreateClientCapped after a deletion", s.CreateClientCapped(e.ctx, over, "192.0.2.1", max+1))
		// A taken ID is ErrExists, whatever the count.
		wantErr(t, "CreateClientCapped of a taken ID", s.CreateClientCapped(e.ctx, client(e, 10), "198.51.100.7", max), oauthkit.ErrExists)
		// Clients created without a source do not count.
		wantOK(t, "CreateClient", s.CreateClient(e.ctx, client(e, 20)))
		wantOK(t, "CreateClientCapped from a new source", s.CreateClientCapped(e.ctx, client(e, 21), "198.51.100.7", 1))
	})

	t.Run("ConcurrentCreate", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		const max = 10
		errs := race(goroutines, func(i int) error {
			return s.CreateClientCapped(e.ctx, client(e, i), "203.0.113.9", max)
		})
		n := tally(errs)
		if n["nil"] != max || n["ErrLimitReached"] != goroutines-max {
			t.Errorf("%d concurrent CreateClientCapped from one source, max %d: %v, want %d nil and the rest ErrLimitReached (first other error: %v)",
				goroutines, max, n, max, firstOther(errs, oauthkit.ErrLimitReached))
		}
		stored := 0
		for i := range goroutines {
			if _, err := s.Client(e.ctx, client(e, i).ID); err == nil {
				stored++
			}
		}
		if stored != n["nil"] {
			t.Errorf("%d clients stored, %d created", stored, n["nil"])
		}
	})
}

// ClientRevokingStore is a token store that revokes a client's tokens.
type ClientRevokingStore interface {
	oauthkit.TokenStore
	oauthkit.ClientRevoker
}

// TestClientRevoker tests an [oauthkit.ClientRevoker]. newStore must return
// an empty store. TestClientRevoker checks that RevokeClientTokens revokes
// every token of the client, in every grant, rotated ones and their
// successors too, leaves other clients' tokens alone, makes CreateTokens
// refuse tokens of the revoked grants with an error wrapping
// [oauthkit.ErrReused], and is no error for an unknown client or twice.
func TestClientRevoker(t *testing.T, newStore func(t *testing.T) ClientRevokingStore) {
	t.Run("Revoke", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		t1 := e.now.Add(time.Minute)
		mine, other := e.tag+"-mine", e.tag+"-other"
		of := func(client string, toks []*oauthkit.Token) []*oauthkit.Token {
			for _, tok := range toks {
				tok.ClientID = client
			}
			return toks
		}
		must(t, "CreateTokens", s.CreateTokens(e.ctx, of(mine, e.tokens("a1 r1", "g"))...))
		must(t, "CreateTokens", s.CreateTokens(e.ctx, of(mine, e.tokens("a5", "h"))...))
		must(t, "CreateTokens", s.CreateTokens(e.ctx, of(other, e.tokens("a3 r3", "k"))...))
		r1 := of(mine, e.tokens("r1", "g"))[0]
		next := of(mine, e.exchange(r1, "2", t1))
		must(t, "RotateRefreshToken", s.RotateRefreshToken(e.ctx, r1.ID, t1, 0, next...))

		wantOK(t, "RevokeClientTokens", s.RevokeClientTokens(e.ctx, mine))
		for _, tok := range append(of(mine, e.tokens("a1 r1 a5", "")), next...) {
			e.wantGone(t, s, tok.ID, t1, "after RevokeClientTokens of its client")
		}
		for _, tok := range of(other, e.tokens("a3 r3", "k")) {
			e.wantToken(t, s, tok, t1, "after RevokeClientTokens of another client")
		}
		late := of(mine, e.tokens("a4", "g"))
		wantErr(t, "CreateTokens in a grant revoked with its client", s.CreateTokens(e.ctx, late...), oauthkit.ErrReused)
		e.wantGone(t, s, late[0].ID, t1, "refused after RevokeClientTokens")
		wantOK(t, "RevokeClientTokens again", s.RevokeClientTokens(e.ctx, mine))
		wantOK(t, "RevokeClientTokens of an unknown client", s.RevokeClientTokens(e.ctx, e.tag+"-unknown"))
		e.wantToken(t, s, of(other, e.tokens("a3", "k"))[0], t1, "after RevokeClientTokens of an unknown client")
	})
}
