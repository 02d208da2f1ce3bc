package postgres_test

import (
	"context"
	"log"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/postgres"
)

// A server whose clients, codes and tokens live in PostgreSQL: any number of
// instances may run this on one database.
func Example() {
	ctx := context.Background()
	store, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	// Clients are registered once, by any instance or by an admin tool.
	hash, err := oauthkit.HashSecret(os.Getenv("SERVICE_CLIENT_SECRET"))
	if err != nil {
		log.Fatal(err)
	}
	err = store.PutClient(ctx, &oauthkit.Client{
		ID:         "reporting-service",
		SecretHash: hash,
		GrantTypes: []string{oauthkit.GrantTypeClientCredentials},
		Scopes:     []string{"reports:read"},
	})
	if err != nil {
		log.Fatal(err)
	}

	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:  "https://auth.example.com",
		Clients: store,
		Codes:   store,
		Tokens:  store,
		Grants:  []oauthkit.GrantHandler{grants.ClientCredentials{}},
	})
	if err != nil {
		log.Fatal(err)
	}

	// Expired codes and tokens are removed in the background.
	go func() {
		for now := range time.Tick(5 * time.Minute) {
			if err := store.DeleteExpired(ctx, now); err != nil {
				slog.Error("deleting expired oauthkit rows", "error", err)
			}
		}
	}()

	http.Handle("POST /token", srv.TokenHandler())
	// log.Fatal(http.ListenAndServe(":8080", nil))
}
