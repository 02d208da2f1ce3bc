package tenant_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
	"github.com/oauthkit/oauthkit/storage/tenant"
)

// Two tenants share one store; what one stores, the other cannot find,
// whatever ID it is asked for.
func ExampleScope() {
	ctx := context.Background()
	now := time.Now()
	shared := memory.NewStore()
	acme, err := tenant.Scope(shared, "acme")
	if err != nil {
		log.Fatal(err)
	}
	globex, err := tenant.Scope(shared, "globex")
	if err != nil {
		log.Fatal(err)
	}

	id := oauthkit.HashToken("a refresh token acme issued")
	err = acme.CreateTokens(ctx, &oauthkit.Token{ID: id, Kind: oauthkit.RefreshToken, GrantID: "g1",
		ClientID: "web", Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		log.Fatal(err)
	}

	t, err := acme.Token(ctx, id, now)
	fmt.Println(t.ClientID, t.Subject, err)
	_, err = globex.Token(ctx, id, now)
	fmt.Println(errors.Is(err, oauthkit.ErrNotFound))
	// globex's alice is not acme's.
	if err := globex.RevokeSubject(ctx, "alice"); err != nil {
		log.Fatal(err)
	}
	_, err = acme.Token(ctx, id, now)
	fmt.Println(err)
	if err := acme.RevokeSubject(ctx, "alice"); err != nil {
		log.Fatal(err)
	}
	_, err = acme.Token(ctx, id, now)
	fmt.Println(errors.Is(err, oauthkit.ErrNotFound))
	_, err = tenant.Scope(shared, "Not/A-Tenant")
	fmt.Println(errors.Is(err, tenant.ErrInvalidID))
	// Output:
	// web alice <nil>
	// true
	// <nil>
	// true
	// true
}
