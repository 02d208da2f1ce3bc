package tenant_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// TestManyTenantsRace has 100 tenants on one store redeem, at once, codes
// that all have the same ID, client and grant: in each tenant exactly one
// of its racing redemptions wins, and every tenant's own redemption is
// unaffected by the 99 others. Run it under -race.
func TestManyTenantsRace(t *testing.T) {
	const tenants, racers = 100, 4
	ctx, now := t.Context(), time.Now()
	shared := memory.NewStore()
	code := &oauthkit.AuthorizationCode{ID: oauthkit.HashToken("code"), GrantID: "g", ClientID: "web", Subject: "alice",
		ExpiresAt: now.Add(time.Minute)}
	for i := range tenants {
		if err := view(t, shared, fmt.Sprint("t", i)).CreateCode(ctx, code); err != nil {
			t.Fatal(err)
		}
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins = make(map[int]int)
	)
	start := make(chan struct{})
	for i := range tenants {
		v := view(t, shared, fmt.Sprint("t", i))
		for r := range racers {
			wg.Go(func() {
				<-start
				_, err := v.RedeemCode(ctx, code.ID, "web", now, func(c *oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
					return []*oauthkit.Token{{ID: fmt.Sprint("at-", r), Kind: oauthkit.AccessToken, GrantID: c.GrantID,
						ClientID: c.ClientID, Subject: c.Subject, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}}, nil
				})
				switch {
				case err == nil:
					mu.Lock()
					wins[i]++
					mu.Unlock()
				case !errors.Is(err, oauthkit.ErrReused):
					t.Errorf("tenant %d: RedeemCode: %v", i, err)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	for i := range tenants {
		if wins[i] != 1 {
			t.Errorf("tenant %d: %d of %d racing redemptions of its code won, want 1", i, wins[i], racers)
		}
	}
}
