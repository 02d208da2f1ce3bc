package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
	"github.com/oauthkit/oauthkit/storage/postgres"
)

// storeMemory is the -store value for the in-memory stores, the default.
const storeMemory = "memory"

// stores are where the server keeps clients, codes and tokens: one memory
// store or one PostgreSQL store that is all three. Being one value, it also
// redeems a code and stores its tokens in one step (oauthkit.CodeRedeemer).
type stores struct {
	// desc says which store is used, for the banner and the log: never a
	// password.
	desc    string
	clients oauthkit.ClientStore
	codes   oauthkit.CodeStore
	tokens  oauthkit.TokenStore
	// putClient adds a client from the config, or replaces the stored
	// client with its ID.
	putClient func(ctx context.Context, c *oauthkit.Client) error
	// deleteExpired removes the codes and tokens expired at now. The
	// memory store also forgets them as it goes, every so many inserts; a
	// sweep bounds how long they stay when few come.
	deleteExpired func(ctx context.Context, now time.Time) error
	// close releases the stores.
	close func()
}

// memoryStores returns a new, empty in-memory store.
func memoryStores() *stores {
	store := memory.NewStore()
	return &stores{
		desc:    "memory (everything is lost when the server stops)",
		clients: store,
		codes:   store,
		tokens:  store,
		putClient: func(_ context.Context, c *oauthkit.Client) error {
			store.Put(c)
			return nil
		},
		deleteExpired: store.DeleteExpired,
		close:         func() {},
	}
}

// openTimeout bounds connecting to the database and migrating it at start.
const openTimeout = 30 * time.Second

// openStores opens the stores that the -store flag names: "memory", or a
// PostgreSQL URL (postgres:// or postgresql://), whose schema it migrates.
func openStores(ctx context.Context, spec string) (*stores, error) {
	if spec == storeMemory {
		return memoryStores(), nil
	}
	u, err := url.Parse(spec)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf(`-store: want "memory" or a PostgreSQL URL such as postgres://user@127.0.0.1:5432/db?sslmode=disable, got %q`, redact(spec))
	}
	where := u.Redacted()
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	store, err := postgres.Open(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("-store: opening %s: %w", where, err)
	}
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("-store: migrating %s: %w", where, err)
	}
	return &stores{
		desc:          "PostgreSQL at " + where,
		clients:       store,
		codes:         store,
		tokens:        store,
		putClient:     store.PutClient,
		deleteExpired: store.DeleteExpired,
		close:         store.Close,
	}, nil
}

// redact returns spec for an error message, cut before anything that may be
// a password when it is not a URL the server understands.
func redact(spec string) string {
	if i := strings.IndexAny(spec, "@ "); i >= 0 || strings.Contains(spec, "password") {
		return "(not shown: it may hold a password)"
	}
	return spec
}

// sweepInterval is how often expired codes and tokens are deleted.
const sweepInterval = 5 * time.Minute

// sweep calls deleteExpired every interval, with the time of the tick as
// now, until ctx is done, logging its failures (a database that is down for
// a while is not fatal: the next sweep catches up).
func sweep(ctx context.Context, interval time.Duration, deleteExpired func(context.Context, time.Time) error, logger *slog.Logger) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if err := deleteExpired(ctx, now); err != nil && ctx.Err() == nil {
				logger.ErrorContext(ctx, "deleting expired codes and tokens", "error", err)
			}
		}
	}
}
