// Package postgres keeps oauthkit's clients, authorization codes, tokens,
// replay keys and device authorizations in PostgreSQL, so that several
// instances of an authorization server can run behind a load balancer on
// one database without losing the single-use and rotation guarantees. It is a module of its own
// (github.com/oauthkit/oauthkit/storage/postgres), so that the core library
// does not depend on a database driver; it uses github.com/jackc/pgx/v5.
//
// # Setup
//
// One [Store] is the ClientStore, CodeStore, TokenStore, ReplayCache and
// DeviceStore of a server, and the PushedRequestStore of its Config.PAR
// (RFC 9126):
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
//		Issuer:      "https://auth.example.com",
//		Clients:     store,
//		Codes:       store,
//		Tokens:      store,
//		ReplayCache: store,
//		// ...
//	})
//
// Register clients with [Store.PutClient] (which refuses registrations that
// fail oauthkit.Client.Validate) or with SQL on the table oauthkit_clients.
// Every token request reads its client from the database unless the host
// turns on [Store.CacheClients] (see Round trips for what that gives up).
// A host that configures its own pool passes it to [New] instead of
// calling [Open], after applying Open's settings with [ConfigurePool].
//
// # Schema and migrations
//
// [Store.Migrate] creates the tables (oauthkit_clients, oauthkit_codes,
// oauthkit_tokens, oauthkit_revoked_grants, oauthkit_replay_cache,
// oauthkit_device_authorizations, oauthkit_pushed_requests) and two
// functions
// (oauthkit_deadline, oauthkit_refuse_revoked) in the first schema of the
// connection's search_path, which a connection string can set
// (search_path=auth). It applies the SQL files returned by [Migrations]
// that the table oauthkit_schema_migrations does not list yet, in one
// transaction, under an advisory lock: it is idempotent and every instance
// may run it at startup. Hosts that apply schema changes with their own
// tool can read the files instead.
//
// Codes and tokens are stored under oauthkit.HashToken of their value,
// client secrets only as the hashes oauthkit makes: a copy of the database
// yields no usable credential. Revoking a token deletes its row; revoking a
// grant deletes its tokens and records the grant for
// oauthkit.MaxCodeLifetime, during which its tokens are refused. Replay
// keys ([Store.Remember]) are stored as their SHA-256, so that any string
// is a key: long ones, and ones PostgreSQL text cannot hold (a NUL byte,
// invalid UTF-8), are recorded like any other, never refused.
//
// # Transactions: what is atomic with what
//
// Every single-use operation is atomic in the database, and every token
// request commits once:
//
//   - [Store.RedeemCode], which the token endpoint uses for a code exchange
//     (the Store is both its Config.Codes and its Config.Tokens), consumes
//     the code and stores the tokens issued for it in one transaction: the
//     code is used if and only if its tokens are stored (but for a code
//     whose redemption the server refuses, say for a wrong PKCE verifier:
//     that code stays used, with no tokens). Its first statement, an
//     UPDATE, takes the code's row lock until the commit, so that
//     concurrent redemptions are ordered and a replay waits, then finds the
//     code used.
//   - [Store.ConsumeCode] alone is one UPDATE, committed at once.
//   - [Store.RotateRefreshToken] is one transaction that takes an advisory
//     lock on the token's grant and then, in one statement, rotates the
//     token and stores its successors, or retries within the grace period,
//     or revokes the grant on reuse. A retry is accepted once: it marks the
//     previous token retried, revokes the access tokens issued for it and
//     keeps the refresh token issued for it as rotated, so that a second
//     retry, or that refresh token presented later, is reuse and revokes
//     the family (RFC 9700 §4.14.2).
//   - [Store.CreateTokens] and [Store.RevokeGrant] each are one transaction
//     under the same grant locks.
//   - [Store.RevokeSubject] is one transaction that first locks every grant
//     with a token or a code of the subject (in one order, as CreateTokens
//     locks its grants), waiting for the redemptions and exchanges in them,
//     and then, in a statement that sees what those stored, deletes the
//     grants' tokens and records the grants revoked: a redemption or
//     exchange that comes after finds its token gone or its grant revoked.
//     Migration 0008 indexes tokens and codes by subject for it.
//   - [Store.Remember] is one INSERT ... ON CONFLICT DO UPDATE, which
//     inserts the key, or takes over its row if it has expired, or else
//     changes nothing and returns no row; a concurrent call with the same
//     key waits for the first's row lock, then sees its row. Of concurrent
//     calls with one key, from any instance, exactly one reports it new.
//   - Each method of the [oauthkit.DeviceStore] is one statement.
//     [Store.DecideDeviceAuthorization] is one UPDATE of a pending row, and
//     [Store.PollDeviceAuthorization] one UPDATE of a row it has locked
//     (SELECT ... FOR UPDATE in the same statement), which returns the row as
//     it was: concurrent calls wait for the row lock and then see what the
//     first wrote, so that of concurrent decisions one wins, of concurrent
//     polls of an approved authorization exactly one sees it approved, and
//     every poll of a pending one counts towards its slow_down.
//     [Store.CreateDeviceAuthorization] is one INSERT ... ON CONFLICT DO
//     NOTHING, which first deletes an expired row holding its ID or user
//     code (judged by the database's clock, as the method is given no
//     time).
//
// Because the grant's lock is held until commit and each statement's
// snapshot is taken after it, concurrent exchanges in one grant, from any
// instance, see each other's writes: a reused token revokes the successor
// that another request stored a moment before. Storing new tokens and
// revoking a grant take the same lock, so that a code replayed on one
// instance while its first redemption on another is still storing its
// tokens revokes them: they are either deleted or refused. Reading a token
// ([Store.Token]) is a plain SELECT outside these transactions: a refresh
// reads its token, then rotates it, and the rotation decides alone.
//
// # Many tenants
//
// One Store serves any number of tenants through the views of package
// [github.com/oauthkit/oauthkit/storage/tenant], one per tenant, on one
// pool: a view stores every key and subject under its tenant's prefix, so
// the tenant is the first part of every key column and of every index on
// one, and no lookup of one tenant can reach another's rows. A view adds
// no round trip. [Store.DeleteKeyPrefix], which a view's DeleteAll calls,
// deletes a removed tenant's rows in one transaction.
//
// # Round trips
//
// Every store call is one round trip (a batch of statements, which
// PostgreSQL runs as one transaction), except [Store.RedeemCode], which
// needs two because it calls back into the server between the code's
// consumption and the tokens' insert: BEGIN and the UPDATE, then the grant
// lock, the INSERT and COMMIT. Through the token endpoint that is two round
// trips for client_credentials (the client; the insert) and three for a
// code exchange (the client; RedeemCode's two) and for a refresh (the
// client; the refresh token; the rotation), each with one commit.
//
// The client's round trip goes if the host opts into the client cache,
// which is off by default because it serves stale clients:
//
//	store.CacheClients(postgres.ClientCache{MaxStaleness: time.Minute})
//
// A client changed or deleted in the database other than through this
// Store (by another instance, or by SQL) is then still served from this
// Store's cache for up to MaxStaleness: a deleted client still
// authenticates, a replaced secret still verifies (and the new one does
// not), for that long. Changes
// made through this Store ([Store.PutClient], [Store.DeleteClient])
// invalidate its own cache at once. Only clients found are cached (a new
// client is found at once), at most [ClientCache.MaxEntries] of them, and
// every caller gets a copy of its own. With the cache warm, a code exchange
// and a refresh take two round trips, client_credentials one, each still
// with one commit.
//
// [ConfigurePool] also keeps pgxpool from pinging a connection idle for
// more than a second before each request, which would add one round trip
// to most requests under light load; it pings only connections idle for a
// minute. BENCHMARKS.md has the figures.
//
// # Faults and timeouts
//
// Errors follow the store contract: a taken ID wraps oauthkit.ErrExists; a
// lost or refused connection, a timeout, a cancelled context, a server
// shutting down or a serialization failure wraps oauthkit.ErrUnavailable,
// which the authorization endpoint answers with temporarily_unavailable and
// the token endpoint with server_error (status 503); anything else is an
// internal fault. Driver errors stay wrapped for the host's logs; oauthkit
// never sends them to clients. IDs that PostgreSQL text cannot hold (a NUL
// byte, invalid UTF-8) are not found, without a query; replay keys are
// hashed, so any key is stored.
//
// Every call honours its context. Every transaction that writes codes,
// tokens or replay keys is also bounded by its context's deadline in the database (10
// seconds away if the context has none): its first statement fails it if
// the database's clock is already past the deadline, and otherwise sets
// lock_timeout (and, for a code redemption, which pauses between its round
// trips, idle_in_transaction_session_timeout) to the time left; its last
// statement before COMMIT fails it if the deadline has passed. So a write
// delayed past its deadline, by a lock or by a network that silently drops
// packets and delivers them late, rolls back instead of committing after
// its client was told it failed. This assumes that the clocks of the
// server and of the database agree (to well within the request's time
// budget, as NTP keeps them), and leaves one window: a commit that starts
// just before the deadline may finish a few milliseconds after it.
//
// A request that fails has not necessarily stored nothing: its transaction
// may have committed before the deadline and its answer been lost on the
// way back. A refresh in that state is recovered by the client's retry
// within Config.RefreshTokenGracePeriod; a code exchange is not (the code
// is used, and presenting it again is a replay, which revokes its grant),
// and its client must start a new authorization.
//
// A Store made by [Open] also cancels the statement in the server when the
// context ends, and has the server drop the session of a connection that
// it can tell is gone (closed or reset, not silently cut off).
//
// # Expired rows
//
// Expired codes and tokens are not found, but stay in their tables (used
// codes and rotated refresh tokens must stay until they expire, to detect
// reuse) until [Store.DeleteExpired] removes them, with the records of
// grants revoked more than oauthkit.MaxCodeLifetime ago, the expired
// replay keys (an expired key's row is also reused when the key comes
// again) and the device authorizations expired more than five minutes ago
// (until then a poll returns them, for the server to answer expired_token).
// Schedule it, for example every few minutes on every instance:
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
// database, a proxy that cuts the database mid-request, one that silently
// drops packets and delivers them late, and benchmarks
// (go test -run '^$' -bench .).
package postgres
