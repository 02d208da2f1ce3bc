package postgres

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/oauthkit/oauthkit"
)

// Store keeps oauthkit's clients, authorization codes, tokens, replay keys
// and device authorizations in PostgreSQL. It implements
// [oauthkit.ClientStore], [oauthkit.CodeStore] and [oauthkit.TokenStore], so
// one value fills Config.Clients, Config.Codes and Config.Tokens;
// [oauthkit.CodeRedeemer], so that the token endpoint consumes a code and
// stores its tokens in one transaction; [oauthkit.ReplayCache], so that
// single-use keys are single-use across instances;
// [oauthkit.DeviceStore], so that a device authorization is decided once and
// redeemed once across instances; and [oauthkit.SubjectRevoker]. One Store
// serves many tenants through the views of package
// [github.com/oauthkit/oauthkit/storage/tenant].
//
// A Store is safe for concurrent use, and any number of Stores, in any
// number of processes, may share one database: every single-use operation
// is atomic in the database.
type Store struct {
	pool    *pgxpool.Pool
	owned   bool                        // Close closes pool
	clients atomic.Pointer[clientCache] // nil unless CacheClients turned it on
}

var (
	_ oauthkit.ClientStore  = (*Store)(nil)
	_ oauthkit.CodeStore    = (*Store)(nil)
	_ oauthkit.TokenStore   = (*Store)(nil)
	_ oauthkit.CodeRedeemer = (*Store)(nil)
)

// Open connects to the database at url, a PostgreSQL connection string such
// as "postgres://user@host:5432/db?sslmode=verify-full" (see
// [pgxpool.ParseConfig] for pool settings such as pool_max_conns), and
// checks that it answers. It does not run migrations: call
// [Store.Migrate]. The Store owns the pool; release it with [Store.Close].
//
// The pool is set up by [ConfigurePool], so that a request that gives up
// (its context is cancelled or times out) also stops its statement in the
// database, and so that requests under light load do not wait for a ping
// before their statements.
//
// If the database cannot be reached, the error wraps
// oauthkit.ErrUnavailable.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, wrapErr("open", err)
	}
	ConfigurePool(cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrapErr("open", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, wrapErr("open", err)
	}
	return &Store{pool: pool, owned: true}, nil
}

// cancelWait is how long a cancelled statement waits for the server to
// acknowledge the cancel request before its connection is closed.
const cancelWait = time.Second

// pingAfterIdle is how long a connection must have been idle before the
// pool pings it when handing it out; pgxpool's default is a second.
const pingAfterIdle = time.Minute

// ConfigurePool applies to cfg the settings [Open] gives its own pool, for a
// host that builds its pool itself and passes it to [New]:
//
//   - a statement whose context ends is cancelled in the server (the
//     connection is dropped if the server does not answer the cancel within
//     a second);
//   - on PostgreSQL 14 and later the server checks every second that the
//     client of a running statement is still connected
//     (client_connection_check_interval), unless cfg sets that parameter
//     already;
//   - unless cfg.ShouldPing is set, a connection is pinged before it is
//     handed out only if it has been idle for more than a minute, not a
//     second as pgxpool does by default: under light load that ping is one
//     more round trip before nearly every request. A connection that broke
//     less than a minute ago (a database restart, a failover) then fails
//     the one request that uses it, with an error wrapping
//     oauthkit.ErrUnavailable, and the pool drops it.
//
// It wraps cfg.AfterConnect.
func ConfigurePool(cfg *pgxpool.Config) {
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelWait}
	}
	if cfg.ShouldPing == nil {
		cfg.ShouldPing = func(_ context.Context, p pgxpool.ShouldPingParams) bool {
			return p.IdleDuration > pingAfterIdle
		}
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["client_connection_check_interval"]; ok {
		return
	}
	after := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		// The setting exists from PostgreSQL 14; as a startup parameter it
		// would make older servers refuse the connection.
		major, _, _ := strings.Cut(conn.PgConn().ParameterStatus("server_version"), ".")
		if v, err := strconv.Atoi(major); err == nil && v >= 14 {
			if _, err := conn.Exec(ctx, "SET client_connection_check_interval = 1000"); err != nil {
				return err
			}
		}
		if after != nil {
			return after(ctx, conn)
		}
		return nil
	}
}

// New returns a Store using pool, which the caller configures, owns and
// closes. The pool's search_path decides the schema the store's tables are
// in (see [Store.Migrate]). New leaves the pool's settings alone; with pgx's
// defaults, a statement whose context is cancelled is abandoned by the
// client but may still complete in the server, which [ConfigurePool]
// prevents.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Close closes the pool if the Store was made by [Open]; a pool passed to
// [New] is left to its owner.
func (s *Store) Close() {
	if s.owned {
		s.pool.Close()
	}
}

// deleteBatch bounds the rows one DELETE of DeleteExpired removes, so that
// cleaning a large backlog never holds locks for long.
const deleteBatch = 5000

// DeleteExpired removes the codes, tokens, records of revoked grants,
// replay keys and pushed authorization requests expired at now, and the
// device authorizations expired five minutes before now: until then, used
// codes and rotated refresh tokens are kept to detect their reuse, revoked
// grants (kept for oauthkit.MaxCodeLifetime) to refuse their late tokens,
// replay keys to refuse their replays, and device authorizations so that
// their devices' polls are answered expired_token rather than
// invalid_grant. It deletes in batches of a few thousand rows and may be
// called concurrently from several instances.
//
// Nothing else removes expired rows, which the store already treats as not
// found (or, for a device authorization, as expired): schedule
// DeleteExpired, for example every few minutes.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) error {
	for _, table := range []struct {
		name, key string
		keep      time.Duration // how long after expiry rows are kept
	}{
		{"oauthkit_codes", "id", 0}, {"oauthkit_tokens", "id", 0}, {"oauthkit_revoked_grants", "grant_id", 0},
		{"oauthkit_replay_cache", "key_hash", 0}, {"oauthkit_device_authorizations", "id", keepExpiredDevices},
		{"oauthkit_pushed_requests", "id", 0},
	} {
		// SKIP LOCKED lets instances running this at the same time share
		// the work instead of waiting for each other.
		sql := `DELETE FROM ` + table.name + ` WHERE ` + table.key + ` IN (
			SELECT ` + table.key + ` FROM ` + table.name + ` WHERE expires_at <= $2 LIMIT $1 FOR UPDATE SKIP LOCKED)`
		for {
			tag, err := s.pool.Exec(ctx, sql, deleteBatch, micro(now.Add(-table.keep)))
			if err != nil {
				return wrapErr("delete expired", err)
			}
			if tag.RowsAffected() < deleteBatch {
				break
			}
		}
	}
	return nil
}

// defaultTimeout bounds a write whose context has no deadline.
const defaultTimeout = 10 * time.Second

// withDeadline returns ctx, given a deadline defaultTimeout away if it has
// none, and that deadline. Every transaction that writes codes or tokens
// passes the deadline to checkDeadline.
func withDeadline(ctx context.Context) (context.Context, time.Time, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return ctx, d, func() {}
	}
	ctx, cancel := context.WithTimeout(ctx, defaultTimeout)
	d, _ := ctx.Deadline()
	return ctx, d, cancel
}

// checkDeadline fails the transaction it runs in if the database's clock is
// past $1, the deadline of the request, and otherwise bounds the lock waits
// of the rest of the transaction to the time left (migration 0003). Every
// writing transaction runs it first, so that it waits for a lock no longer
// than its request, and last, just before it commits, so that a
// transaction that reaches the database late (held up by a network
// partition) or was slow rolls back instead of committing after its client
// has given up. (It leaves statement_timeout alone: arming that timer for
// every statement costs more than the statements, which are index lookups,
// and the last check catches a slow one.)
const checkDeadline = `SELECT oauthkit_deadline($1)`

// checkDeadlineIdle is checkDeadline for a transaction that waits for the
// server between its round trips (RedeemCode): it also bounds those pauses,
// so that the database ends the transaction, and releases its locks, at the
// deadline if its client never comes back.
const checkDeadlineIdle = `SELECT oauthkit_deadline($1), oauthkit_deadline($1, 'idle_in_transaction_session_timeout')`

// deadlinePassed is in the message of the error with which checkDeadline
// fails a transaction (SQLSTATE 22023, invalid_parameter_value: see
// migration 0003).
const deadlinePassed = "oauthkit: the request's deadline has passed"

// micro truncates t to the microsecond resolution of timestamptz, so that
// every comparison the database makes is the one Go would make on the stored
// value.
func micro(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

// nullTime is t for a timestamptz parameter, or NULL for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return micro(t)
}
