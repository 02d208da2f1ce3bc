// Package postgres keeps oauthkit's clients, authorization codes and tokens
// in PostgreSQL, so that several instances of an authorization server can
// run behind a load balancer on one database without losing the single-use
// and rotation guarantees. It is a module of its own
// (github.com/oauthkit/oauthkit/storage/postgres), so that the core library
// does not depend on a database driver; it uses github.com/jackc/pgx/v5.
//
// # Setup
//
// One [Store] is the ClientStore, CodeStore and TokenStore of a server:
//
//	store, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"))
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//	if err := store.Migrate(ctx); err != nil {
//		return err
//	}
//	srv, err := oauthkit.New(oauthkit.Config{
//		Issuer:  "https://auth.example.com",
//		Clients: store,
//		Codes:   store,
//		Tokens:  store,
//		// ...
//	})
//
// Register clients with [Store.PutClient] (which refuses registrations that
// fail oauthkit.Client.Validate) or with SQL on the table oauthkit_clients.
// A host that configures its own pool passes it to [New] instead of
// calling [Open], after applying Open's settings with [ConfigurePool].
//
// # Schema and migrations
//
// [Store.Migrate] creates the tables (oauthkit_clients, oauthkit_codes,
// oauthkit_tokens, oauthkit_revoked_grants) in the first schema of the connection's search_path,
// which a connection string can set (search_path=auth). It applies the SQL
// files returned by [Migrations] that the table oauthkit_schema_migrations
// does not list yet, in one transaction, under an advisory lock: it is
// idempotent and every instance may run it at startup. Hosts that apply
// schema changes with their own tool can read the files instead.
//
// Codes and tokens are stored under oauthkit.HashToken of their value,
// client secrets only as the hashes oauthkit makes: a copy of the database
// yields no usable credential. Revoking a token deletes its row; revoking a
// grant deletes its tokens and records the grant for
// oauthkit.MaxCodeLifetime, during which its tokens are refused.
//
// # Single use across instances
//
// Every single-use operation is atomic in the database. A code is consumed
// by one UPDATE whose row lock orders concurrent redemptions and whose use
// count tells the first from a replay. A refresh token is exchanged in one
// round trip: a batch, which PostgreSQL runs as one transaction, that takes
// an advisory lock on the token's grant and then, in one statement, rotates
// the token and stores its successors, or retries within the grace period,
// or revokes the grant on reuse. Because the lock is held until commit and
// the statement's snapshot is taken after it, concurrent exchanges in one
// grant, from any instance, see each other's writes: a reused token revokes
// the successor that another request stored a moment before. Storing new
// tokens and revoking a grant take the same lock, so that a code replayed
// on one instance while its first redemption on another is still storing
// its tokens revokes them: they are either deleted or refused.
//
// Each request costs one round trip per store call: two for
// client_credentials (the client; the grant's lock and the token insert, in
// one batch), three for a code exchange or a refresh (the client, the
// single-use operation, the insert, which for a refresh is part of the
// rotation's batch). BENCHMARKS.md has
// the figures.
//
// # Faults and timeouts
//
// Errors follow the store contract: a taken ID wraps oauthkit.ErrExists; a
// lost or refused connection, a timeout, a cancelled context, a server
// shutting down or a serialization failure wraps oauthkit.ErrUnavailable,
// which the authorization endpoint answers with temporarily_unavailable and
// the token endpoint with server_error; anything else is an internal
// fault. Driver errors stay wrapped for the host's logs; oauthkit never
// sends them to clients. IDs that PostgreSQL text cannot hold (a NUL byte,
// invalid UTF-8) are not found, without a query.
//
// Every call honours its context. A Store made by [Open] also cancels the
// statement in the server when the context ends, and has the server drop
// the session of a connection that is gone, so that an exchange whose
// client gave up is rolled back rather than committed later. A request that
// fails this way has stored nothing; one whose response was lost after the
// commit can be retried within Config.RefreshTokenGracePeriod.
//
// # Expired rows
//
// Expired codes and tokens are not found, but stay in their tables (used
// codes and rotated refresh tokens must stay until they expire, to detect
// reuse) until [Store.DeleteExpired] removes them, with the records of
// grants revoked more than oauthkit.MaxCodeLifetime ago. Schedule it, for example
// every few minutes on every instance:
//
//	go func() {
//		for now := range time.Tick(5 * time.Minute) {
//			if err := store.DeleteExpired(ctx, now); err != nil {
//				slog.Error("deleting expired oauthkit rows", "error", err)
//			}
//		}
//	}()
//
// # Tests
//
// The tests need a PostgreSQL server; without the environment variable
// OAUTHKIT_POSTGRES_URL they are skipped. Each test creates a schema of its
// own with a random name and drops it at the end, so runs never collide:
//
//	cd storage/postgres
//	OAUTHKIT_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go test -race ./...
//
// They include the storetest conformance kit, two server instances on one
// database, a proxy that cuts the database mid-request, and benchmarks
// (go test -run '^$' -bench .).
package postgres
