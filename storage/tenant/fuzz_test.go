package tenant_test

import (
	"errors"
	"testing"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
	"github.com/oauthkit/oauthkit/storage/tenant"
)

// FuzzIsolation checks the prefix scheme against any pair of tenant IDs and
// client IDs: Scope accepts exactly the valid IDs, a view finds its own
// client under the ID it stored it with, and another tenant's view finds no
// client of the first, whatever ID it is asked for (prefixes are never
// prefixes of each other's keys).
func FuzzIsolation(f *testing.F) {
	f.Add("a", "ab", "b/web", "web")
	f.Add("ab", "a", "web", "b/web")
	f.Add("a-b", "a", "web", "-b/web")
	f.Add("acme", "acme-2", "", "2/")
	f.Add("0", "00", "0/x", "x")
	f.Add("Acme", "acme", "web", "web")
	f.Add("a/b", "a", "b/web", "web")
	f.Fuzz(func(t *testing.T, ida, idb, ca, cb string) {
		ctx := t.Context()
		shared := memory.NewStore()
		a, errA := tenant.Scope(shared, ida)
		b, errB := tenant.Scope(shared, idb)
		for _, c := range []struct {
			id  string
			err error
		}{{ida, errA}, {idb, errB}} {
			if tenant.ValidID(c.id) != (c.err == nil) || (c.err != nil && !errors.Is(c.err, tenant.ErrInvalidID)) {
				t.Fatalf("Scope(%q): error %v, ValidID %v", c.id, c.err, tenant.ValidID(c.id))
			}
		}
		if errA != nil || errB != nil || ida == idb {
			return
		}
		if err := a.CreateClient(ctx, &oauthkit.Client{ID: ca}); err != nil {
			if ca == "" {
				return
			}
			t.Fatalf("a.CreateClient(%q): %v", ca, err)
		}
		if c, err := a.Client(ctx, ca); err != nil || c.ID != ca {
			t.Fatalf("a.Client(%q) = %v, %v", ca, c, err)
		}
		if c, err := b.Client(ctx, cb); !errors.Is(err, oauthkit.ErrNotFound) {
			t.Fatalf("b.Client(%q) found a's client %q: %v, %v", cb, ca, c, err)
		}
	})
}
