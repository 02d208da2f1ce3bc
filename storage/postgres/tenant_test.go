package postgres

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/storetest"
	"github.com/oauthkit/oauthkit/storage/tenant"
)

// allTables are the tables a store's records live in.
const allTables = "oauthkit_clients, oauthkit_codes, oauthkit_tokens, oauthkit_revoked_grants, " +
	"oauthkit_replay_cache, oauthkit_device_authorizations, oauthkit_pushed_requests"

// scope returns tenant id's view of s.
func scope(t testing.TB, s *Store, id string) *tenant.View {
	t.Helper()
	v, err := tenant.Scope(s, id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestTenantViewKits runs every store kit through a tenant's view of the
// PostgreSQL store, so that the view is held to every contract on the
// database too.
func TestTenantViewKits(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	newView := func(t *testing.T) *tenant.View {
		db.exec(t, "SET search_path = "+db.schema+"; TRUNCATE "+allTables)
		return scope(t, s, "acme")
	}
	t.Run("ClientStore", func(t *testing.T) {
		storetest.TestClientStore(t, func(t *testing.T, clients ...*oauthkit.Client) oauthkit.ClientStore {
			v := newView(t)
			for _, c := range clients {
				if err := v.CreateClient(t.Context(), c); err != nil {
					t.Fatal(err)
				}
			}
			return v
		})
	})
	t.Run("ClientRegistry", func(t *testing.T) {
		storetest.TestClientRegistry(t, func(t *testing.T) oauthkit.ClientRegistry { return newView(t) })
	})
	t.Run("CodeStore", func(t *testing.T) {
		storetest.TestCodeStore(t, func(t *testing.T) oauthkit.CodeStore { return newView(t) })
	})
	t.Run("CodeRedeemer", func(t *testing.T) {
		storetest.TestCodeRedeemer(t, func(t *testing.T) storetest.RedeemingStore { return newView(t) })
	})
	t.Run("TokenStore", func(t *testing.T) {
		storetest.TestTokenStore(t, func(t *testing.T) oauthkit.TokenStore { return newView(t) })
	})
	t.Run("SubjectRevoker", func(t *testing.T) {
		storetest.TestSubjectRevoker(t, func(t *testing.T) storetest.SubjectRevokingStore { return newView(t) })
	})
	t.Run("ReplayCache", func(t *testing.T) {
		storetest.TestReplayCache(t, func(t *testing.T) oauthkit.ReplayCache { return newView(t) })
	})
	t.Run("DeviceStore", func(t *testing.T) {
		storetest.TestDeviceStore(t, func(t *testing.T) oauthkit.DeviceStore { return newView(t) })
	})
	t.Run("PushedRequestStore", func(t *testing.T) {
		storetest.TestPushedRequestStore(t, func(t *testing.T) oauthkit.PushedRequestStore { return newView(t) })
	})
}

// TestTenantIsolation runs the isolation kit on two tenants' views of one
// Store: one pool, one schema.
func TestTenantIsolation(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	storetest.TestTenantIsolation(t, func(t *testing.T) (a, b storetest.TenantStore) {
		db.exec(t, "SET search_path = "+db.schema+"; TRUNCATE "+allTables)
		return scope(t, s, "a"), scope(t, s, "b")
	})
}

// TestTenantsOnOnePool runs two tenants' authorization servers on views of
// one Store, and so one pool, each with a client of the same ID and secret
// and, to leave the store alone to keep them apart, the same issuer: what
// one issues, the other refuses (the attacks of issue 11), and every key
// the database holds is under its tenant's prefix.
func TestTenantsOnOnePool(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	a := newInstance(t, scope(t, s, "a"), nil)
	b := newInstance(t, scope(t, s, "b"), nil)
	for _, inst := range []*instance{a, b} {
		if err := inst.store.CreateClient(t.Context(), testClient(t)); err != nil {
			t.Fatal(err)
		}
	}
	code, verifier := authorize(t, a)
	if w := serveToken(b, tokenRequest(codeForm(code, verifier))); w.Code != http.StatusBadRequest || decodeToken(t, w).Error != "invalid_grant" {
		t.Errorf("A's code at B: %d %s, want 400 invalid_grant", w.Code, w.Body)
	}
	w := serveToken(a, tokenRequest(codeForm(code, verifier)))
	if w.Code != http.StatusOK {
		t.Fatalf("A's code at A, after B refused it: %d %s", w.Code, w.Body)
	}
	tok := decodeToken(t, w)
	if w := serveToken(b, tokenRequest(refreshForm(tok.RefreshToken))); w.Code != http.StatusBadRequest || decodeToken(t, w).Error != "invalid_grant" {
		t.Errorf("A's refresh token at B: %d %s, want 400 invalid_grant", w.Code, w.Body)
	}
	if _, err := b.store.Token(t.Context(), oauthkit.HashToken(tok.AccessToken), time.Now()); !errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("A's access token in B's store: error = %v, want ErrNotFound", err)
	}
	if w := serveToken(a, tokenRequest(refreshForm(tok.RefreshToken))); w.Code != http.StatusOK {
		t.Errorf("A's refresh token at A, after B refused it: %d %s", w.Code, w.Body)
	}
	if w := serveToken(b, tokenRequest(clientCredentialsForm)); w.Code != http.StatusOK {
		t.Errorf("client credentials at B: %d %s", w.Code, w.Body)
	}

	// Every key column, and so every index on one, starts with a tenant.
	check := db.conn(t)
	for _, c := range []struct {
		table   string
		columns []string
	}{
		{"oauthkit_clients", []string{"id"}},
		{"oauthkit_codes", []string{"id", "grant_id", "client_id", "subject"}},
		{"oauthkit_tokens", []string{"id", "grant_id", "coalesce(parent_id, 'a/')", "client_id", "subject"}},
		{"oauthkit_revoked_grants", []string{"grant_id"}},
	} {
		where := ""
		for i, col := range c.columns {
			if i > 0 {
				where += " OR "
			}
			where += "NOT (" + col + " LIKE 'a/%' OR " + col + " LIKE 'b/%')"
		}
		if n := db.count(t, check, c.table, where); n != 0 {
			t.Errorf("%s: %d rows with a key of no tenant", c.table, n)
		}
		if n := db.count(t, check, c.table, "true"); n == 0 && c.table != "oauthkit_revoked_grants" {
			t.Errorf("%s: no rows to check", c.table)
		}
	}
}

// DeleteAll through a view empties the tenant's part of the client cache
// too, and leaves the other tenant's cached clients.
func TestDeleteAllInvalidatesClientCache(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	s.CacheClients(ClientCache{MaxStaleness: time.Hour})
	a, b := scope(t, s, "a"), scope(t, s, "b")
	for _, v := range []*tenant.View{a, b} {
		if err := v.CreateClient(t.Context(), testClient(t)); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Client(t.Context(), testClientID); err != nil { // cached
			t.Fatal(err)
		}
	}
	if err := a.DeleteAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Client(t.Context(), testClientID); !errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("a.Client after a.DeleteAll: error = %v, want ErrNotFound", err)
	}
	if _, err := b.Client(t.Context(), testClientID); err != nil {
		t.Errorf("b.Client after a.DeleteAll: %v", err)
	}
	if err := s.DeleteKeyPrefix(t.Context(), ""); err == nil {
		t.Error("DeleteKeyPrefix(\"\"): no error")
	}
}
