package postgres

import (
	"context"
	"crypto/rand"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// envURL names the environment variable holding the test database's
// address; CI sets it to postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const envURL = "OAUTHKIT_POSTGRES_URL"

// testURL returns the test database's address, or skips the test.
func testURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(envURL)
	if url == "" {
		t.Skipf("%s is not set, so the PostgreSQL tests are skipped; to run them: %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go test ./...", envURL, envURL)
	}
	return url
}

// testDB is a schema of its own in the test database, migrated, and dropped
// when the test ends: runs never see each other's rows.
type testDB struct {
	url    string
	schema string
}

// newTestDB creates and migrates a schema with a random name.
func newTestDB(t testing.TB) *testDB {
	t.Helper()
	db := newEmptyDB(t)
	if err := db.store(t).Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

// newEmptyDB creates a schema with a random name and no tables.
func newEmptyDB(t testing.TB) *testDB {
	t.Helper()
	db := &testDB{url: testURL(t), schema: "oauthkit_test_" + strings.ToLower(rand.Text())}
	db.exec(t, "CREATE SCHEMA "+db.schema)
	t.Cleanup(func() { db.exec(t, "DROP SCHEMA "+db.schema+" CASCADE") })
	return db
}

// exec runs sql on a connection of its own, outside the test's pools.
func (db *testDB) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db.url)
	if err != nil {
		t.Fatalf("connecting to %s: %v", envURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// conn returns a connection to the schema outside the test's pools, for
// checking rows directly and holding locks; it is closed when the test ends.
func (db *testDB) conn(t testing.TB) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(db.url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = db.schema
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatalf("connecting to %s: %v", envURL, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// count returns the number of rows of table matching where.
func (db *testDB) count(t testing.TB, conn *pgx.Conn, table, where string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM "+table+" WHERE "+where, args...).Scan(&n); err != nil {
		t.Fatalf("counting %s: %v", table, err)
	}
	return n
}

// poolConfig returns the configuration of a pool on the schema, set up as
// Open sets up its own.
func (db *testDB) poolConfig(t testing.TB) *pgxpool.Config {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(db.url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = db.schema
	ConfigurePool(cfg)
	return cfg
}

// pool opens a pool with cfg, closed when the test ends.
func (db *testDB) pool(t testing.TB, cfg *pgxpool.Config) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// store returns a Store with a pool of its own on the schema.
func (db *testDB) store(t testing.TB) *Store {
	t.Helper()
	return New(db.pool(t, db.poolConfig(t)))
}

// counter counts what a pool sends to the database: driver calls (a query
// or a batch, each one round trip once its statements are prepared) and
// network writes (each the start of a round trip, prepares included).
type counter struct {
	calls  atomic.Int64
	writes atomic.Int64
	// onCall, if set, is called before each query or batch is sent, with
	// its SQL.
	onCall atomic.Pointer[func(conn *pgx.Conn, sql string)]
}

// instrument makes cfg report to c.
func (c *counter) instrument(cfg *pgxpool.Config) {
	cfg.ConnConfig.Tracer = c
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{KeepAlive: 5 * time.Minute}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: conn, writes: &c.writes}, nil
	}
}

func (c *counter) reset() { c.calls.Store(0); c.writes.Store(0) }

func (c *counter) call(conn *pgx.Conn, sql string) {
	c.calls.Add(1)
	if f := c.onCall.Load(); f != nil {
		(*f)(conn, sql)
	}
}

func (c *counter) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	c.call(conn, data.SQL)
	return ctx
}

func (c *counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *counter) TraceBatchStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	var sql []string
	for _, q := range data.Batch.QueuedQueries {
		sql = append(sql, q.SQL)
	}
	c.call(conn, strings.Join(sql, ";\n"))
	return ctx
}

func (c *counter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *counter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// countingConn counts the writes to a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}
