package tenant_test

import (
	"errors"
	"strings"
	"testing"

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
