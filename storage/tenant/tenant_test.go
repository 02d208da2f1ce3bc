package tenant_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
	"github.com/oauthkit/oauthkit/storage/storetest"
	"github.com/oauthkit/oauthkit/storage/tenant"
)

// view returns tenant id's view of shared.
func view(t *testing.T, shared tenant.Store, id string) *tenant.View {
	t.Helper()
	v, err := tenant.Scope(shared, id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// newView returns a tenant's view of a fresh shared store.
func newView(t *testing.T) *tenant.View {
	return view(t, memory.NewStore(), "acme")
}

// Every contract of the stores holds through a view.
func TestViewKits(t *testing.T) {
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
	t.Run("ClientCapper", func(t *testing.T) {
		storetest.TestClientCapper(t, func(t *testing.T) oauthkit.ClientCapper { return newView(t) })
	})
	t.Run("ClientRevoker", func(t *testing.T) {
		storetest.TestClientRevoker(t, func(t *testing.T) storetest.ClientRevokingStore { return newView(t) })
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

func TestIsolation(t *testing.T) {
	storetest.TestTenantIsolation(t, func(t *testing.T) (a, b storetest.TenantStore) {
		shared := memory.NewStore()
		return view(t, shared, "a"), view(t, shared, "b")
	})
}

// Tenants whose IDs are prefixes of each other's, or would be if the
// separator were dropped, stay apart.
func TestIsolationOfPrefixIDs(t *testing.T) {
	for _, pair := range [][2]string{{"a", "ab"}, {"a-b", "a"}, {"ab", "a"}} {
		t.Run(pair[0]+"_"+pair[1], func(t *testing.T) {
			storetest.TestTenantIsolation(t, func(t *testing.T) (a, b storetest.TenantStore) {
				shared := memory.NewStore()
				return view(t, shared, pair[0]), view(t, shared, pair[1])
			})
		})
	}
}

func TestScopeRefusesBadIDs(t *testing.T) {
	for _, id := range []string{"", "-a", "A", "a/b", "a:b", "a b", "a.b", "é", "a\x00", strings.Repeat("a", 64)} {
		if _, err := tenant.Scope(memory.NewStore(), id); !errors.Is(err, tenant.ErrInvalidID) {
			t.Errorf("Scope(%q): error = %v, want ErrInvalidID", id, err)
		}
	}
	for _, id := range []string{"a", "0", "acme", "a-", "tenant-42", strings.Repeat("z", 63)} {
		if _, err := tenant.Scope(memory.NewStore(), id); err != nil {
			t.Errorf("Scope(%q): %v", id, err)
		}
	}
	if _, err := tenant.Scope(nil, "a"); err == nil {
		t.Error("Scope(nil, a): no error")
	}
}

// The shared store holds a view's records under the tenant's prefix, and
// nothing the view stores is found under the bare ID.
func TestKeysArePrefixed(t *testing.T) {
	ctx, now := t.Context(), time.Now()
	shared := memory.NewStore()
	v := view(t, shared, "acme")
	if err := v.CreateClient(ctx, &oauthkit.Client{ID: "web"}); err != nil {
		t.Fatal(err)
	}
	tok := &oauthkit.Token{ID: "t", Kind: oauthkit.AccessToken, GrantID: "g", ClientID: "web", Subject: "alice",
		IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := v.CreateTokens(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := shared.Client(ctx, "web"); !errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("shared.Client(web): error = %v, want ErrNotFound", err)
	}
	if c, err := shared.Client(ctx, "acme/web"); err != nil || c.ID != "acme/web" {
		t.Errorf("shared.Client(acme/web) = %v, %v", c, err)
	}
	got, err := shared.Token(ctx, "acme/t", now)
	if err != nil {
		t.Fatal(err)
	}
	want := &oauthkit.Token{ID: "acme/t", Kind: oauthkit.AccessToken, GrantID: "acme/g", ClientID: "acme/web", Subject: "acme/alice",
		IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	if d := cmp.Diff(want, got, cmpopts.EquateApproxTime(time.Microsecond)); d != "" {
		t.Errorf("shared.Token(acme/t) (-want +got):\n%s", d)
	}
	got, err = v.Token(ctx, "t", now)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(tok, got, cmpopts.EquateApproxTime(time.Microsecond)); d != "" {
		t.Errorf("v.Token(t) (-want +got):\n%s", d)
	}
	if c, err := v.Client(ctx, "web"); err != nil || c.ID != "web" {
		t.Errorf("v.Client(web) = %v, %v", c, err)
	}
	if err := v.CreateClient(ctx, &oauthkit.Client{}); err == nil {
		t.Error("v.CreateClient of a client without an ID: no error")
	}
	if _, err := v.Client(ctx, ""); !errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("v.Client(\"\"): error = %v, want ErrNotFound", err)
	}
}

// A self-contained token's ID stays in a space of its own under the
// prefix: its bare identifier's hash is not found.
func TestSelfContainedIDsStayApart(t *testing.T) {
	ctx, now := t.Context(), time.Now()
	v := view(t, memory.NewStore(), "acme")
	id := oauthkit.SelfContainedTokenID("jti-1")
	err := v.CreateTokens(ctx, &oauthkit.Token{ID: id, Kind: oauthkit.AccessToken, GrantID: "g", IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := v.Token(ctx, id, now); err != nil || got.ID != id {
		t.Errorf("Token(%s) = %v, %v", id, got, err)
	}
	if _, err := v.Token(ctx, oauthkit.HashToken("jti-1"), now); !errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("Token of the identifier's hash: error = %v, want ErrNotFound", err)
	}
}

// misrouting is a broken shared store that looks every token up under
// tenant a's prefix, whichever tenant asks.
type misrouting struct{ *memory.Store }

func (s misrouting) Token(ctx context.Context, id string, now time.Time) (*oauthkit.Token, error) {
	_, rest, _ := strings.Cut(id, tenant.Separator)
	return s.Store.Token(ctx, "a"+tenant.Separator+rest, now)
}

// A view never hands out a record that the shared store returned under
// another tenant's prefix: a broken store is an internal fault, not a leak.
func TestForeignRecordRefused(t *testing.T) {
	ctx, now := t.Context(), time.Now()
	shared := misrouting{memory.NewStore()}
	a, b := view(t, shared, "a"), view(t, shared, "b")
	err := a.CreateTokens(ctx, &oauthkit.Token{ID: "t", Kind: oauthkit.AccessToken, GrantID: "g", IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Token(ctx, "t", now)
	if got != nil || err == nil || errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("b.Token of a's token through a misrouting store = %v, %v; want no token and an internal fault", got, err)
	}
}

// A source's cap counts per tenant, and revoking a client's tokens in one
// tenant leaves the same client ID's tokens in another alone.
func TestClientCapAndRevocationPerTenant(t *testing.T) {
	shared := memory.NewStore()
	a, b := view(t, shared, "a"), view(t, shared, "b")
	ctx := t.Context()
	for _, v := range []*tenant.View{a, b} {
		if err := v.CreateClientCapped(ctx, &oauthkit.Client{ID: "app"}, "203.0.113.7", 1); err != nil {
			t.Fatalf("tenant %s: first client of the source: %v", v.ID(), err)
		}
	}
	if err := a.CreateClientCapped(ctx, &oauthkit.Client{ID: "app2"}, "203.0.113.7", 1); !errors.Is(err, oauthkit.ErrLimitReached) {
		t.Errorf("tenant a: second client of the source: %v, want ErrLimitReached", err)
	}
	now := time.Now()
	for _, v := range []*tenant.View{a, b} {
		if err := v.CreateTokens(ctx, &oauthkit.Token{ID: "t", Kind: oauthkit.AccessToken, GrantID: "g", ClientID: "app",
			Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.RevokeClientTokens(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Token(ctx, "t", now); !errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("tenant a's token after RevokeClientTokens: %v, want ErrNotFound", err)
	}
	if _, err := b.Token(ctx, "t", now); err != nil {
		t.Errorf("tenant b's token of the same client ID: %v", err)
	}
}
