package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/storetest"
)

func TestReplayCache(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	storetest.TestReplayCache(t, func(t *testing.T) oauthkit.ReplayCache {
		db.exec(t, "TRUNCATE "+db.schema+".oauthkit_replay_cache")
		return s
	})
}

// TestReplayCacheAcrossStores races Remember of one key through several
// Stores, each with a pool of its own, as instances behind a load balancer
// would: exactly one call, on one of them, reports the key new.
func TestReplayCacheAcrossStores(t *testing.T) {
	db := newTestDB(t)
	stores := []*Store{db.store(t), db.store(t), db.store(t), db.store(t)}
	now := time.Now().UTC().Truncate(time.Microsecond)
	for round, at := range []time.Time{now, now.Add(time.Minute)} { // new, then expired
		const n = 60
		fresh := make([]bool, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				fresh[i], errs[i] = stores[i%len(stores)].Remember(t.Context(), "jti", at, at.Add(time.Minute))
			})
		}
		close(start)
		wg.Wait()
		count := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d: Remember #%d: %v", round, i, errs[i])
			}
			if fresh[i] {
				count++
			}
		}
		if count != 1 {
			t.Errorf("round %d: %d of %d concurrent Remember calls through %d Stores reported the key new, want 1", round, count, n, len(stores))
		}
	}
}

// TestReplayCacheRoundTrips checks that Remember is one round trip, one
// driver call, whether the key is new, replayed or expired, and that the
// key is stored as its SHA-256.
func TestReplayCacheRoundTrips(t *testing.T) {
	db := newTestDB(t)
	c := &counter{}
	cfg := db.poolConfig(t)
	cfg.MaxConns = 1 // statements are prepared per connection
	c.instrument(cfg)
	s := New(db.pool(t, cfg))
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	// Prepare the statements.
	if _, err := s.Remember(ctx, "warm-up", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		key  string
		at   time.Time
		want bool
	}{
		{"New", "k", now, true},
		{"Replayed", "k", now, false},
		{"Expired", "k", now.Add(time.Minute), true},
		{"NotUTF8", "k\x00\xff", now, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.reset()
			got, err := s.Remember(ctx, tc.key, tc.at, tc.at.Add(time.Minute))
			if err != nil || got != tc.want {
				t.Fatalf("Remember = %v, %v; want %v", got, err, tc.want)
			}
			if w, n := c.writes.Load(), c.calls.Load(); w != 1 || n != 1 {
				t.Errorf("%d round trips in %d driver calls, want 1 in 1", w, n)
			}
		})
	}
	h := sha256.Sum256([]byte("k\x00\xff"))
	if n := db.count(t, db.conn(t), "oauthkit_replay_cache", "key_hash = $1", h[:]); n != 1 {
		t.Errorf("%d rows under the SHA-256 of the key, want 1", n)
	}
}

func TestReplayCacheDeleteExpired(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	keys := []struct {
		key     string
		expires time.Time
	}{{"past", now.Add(-time.Minute)}, {"now", now}, {"future", now.Add(time.Microsecond)}}
	for _, k := range keys {
		if ok, err := s.Remember(ctx, k.key, now.Add(-time.Hour), k.expires); !ok || err != nil {
			t.Fatalf("Remember(%s) = %v, %v", k.key, ok, err)
		}
	}
	// More expired rows than one DELETE removes.
	db.exec(t, fmt.Sprintf(`INSERT INTO %s.oauthkit_replay_cache
		SELECT sha256(('bulk-' || i)::bytea), now() - interval '1 minute' FROM generate_series(1, %d) AS i`,
		db.schema, 2*deleteBatch+10))
	if err := s.DeleteExpired(ctx, now); err != nil {
		t.Fatal(err)
	}
	rows, _ := db.conn(t).Query(ctx, "SELECT key_hash FROM oauthkit_replay_cache")
	left, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatal(err)
	}
	future := sha256.Sum256([]byte("future"))
	if d := cmp.Diff([][]byte{future[:]}, left); d != "" {
		t.Errorf("replay keys left (-want +got):\n%s", d)
	}
	if ok, err := s.Remember(ctx, "future", now, now.Add(time.Hour)); ok || err != nil {
		t.Errorf("Remember of the live key after DeleteExpired = %v, %v; want false", ok, err)
	}
}

// TestReplayCacheTimeout checks that Remember waiting on a key another
// transaction is inserting gives up at its deadline with an error wrapping
// ErrUnavailable, having recorded nothing.
func TestReplayCacheTimeout(t *testing.T) {
	t.Parallel() // mostly waiting for the server
	db := newTestDB(t)
	s := db.store(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	if _, err := s.Remember(t.Context(), "warm-up", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	tx, err := db.conn(t).Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	h := sha256.Sum256([]byte("k"))
	if _, err := tx.Exec(t.Context(), "INSERT INTO oauthkit_replay_cache VALUES ($1, now() + interval '1 hour')", h[:]); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	start := time.Now()
	_, err = s.Remember(ctx, "k", now, now.Add(time.Minute))
	if !errors.Is(err, oauthkit.ErrUnavailable) {
		t.Errorf("Remember waiting on another insert of its key: error = %v, want one wrapping oauthkit.ErrUnavailable", err)
	}
	if d := time.Since(start); d > timeout+cancelWait+time.Second {
		t.Errorf("returned after %v, want about %v", d, timeout)
	}
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Remember(t.Context(), "k", now, now.Add(time.Minute)); !ok || err != nil {
		t.Errorf("Remember after the timed-out one and the other's rollback = %v, %v; want true", ok, err)
	}
}

// TestReplayCacheUpgradeFromVersion3 brings a database at version 3, with
// codes and tokens in it, to version 4: they are kept, and Remember works.
func TestReplayCacheUpgradeFromVersion3(t *testing.T) {
	db := newEmptyDB(t)
	s := db.store(t)
	v3 := fstest.MapFS{}
	for _, name := range []string{"0001_init.sql", "0002_revoked_grants.sql", "0003_client_subjects_retries_deadlines.sql"} {
		sql, err := fs.ReadFile(Migrations(), name)
		if err != nil {
			t.Fatal(err)
		}
		v3[name] = &fstest.MapFile{Data: sql}
	}
	if err := s.migrate(t.Context(), v3); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	// As the store wrote codes at version 3 (CreateCode now writes columns
	// of later versions).
	db.exec(t, `INSERT INTO `+db.schema+`.oauthkit_codes (id, grant_id, client_id, redirect_uri, redirect_uri_param,
		subject, acr, code_challenge, code_challenge_method, nonce, expires_at)
		VALUES ('c', 'g', 'app', '', false, '', '', '', '', '', $1)`, now.Add(time.Minute))
	if _, err := s.Remember(t.Context(), "k", now, now.Add(time.Minute)); err == nil {
		t.Error("Remember at version 3 succeeded, want an error (no table)")
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate from version 3: %v", err)
	}
	if d := cmp.Diff(allMigrations, applied(t, db)); d != "" {
		t.Errorf("recorded migrations (-want +got):\n%s", d)
	}
	if _, err := s.ConsumeCode(t.Context(), "c", "app", now); err != nil {
		t.Errorf("ConsumeCode of a code stored at version 3: %v", err)
	}
	for i, want := range []bool{true, false} {
		if ok, err := s.Remember(t.Context(), "k", now, now.Add(time.Minute)); ok != want || err != nil {
			t.Errorf("Remember #%d after Migrate = %v, %v; want %v", i+1, ok, err, want)
		}
	}
}

// BenchmarkRemember: one Remember of a new key, and of a replayed one, each
// after the baseline (see bench_test.go), untimed.
func BenchmarkRemember(b *testing.B) {
	for _, replay := range []bool{false, true} {
		name := "new"
		if replay {
			name = "replayed"
		}
		b.Run(name, func(b *testing.B) {
			r := newBenchRig(b, false)
			s := r.inst.store
			ctx := b.Context()
			now := time.Now().UTC().Truncate(time.Microsecond)
			keys := make([]string, b.N)
			for i := range keys {
				keys[i] = fmt.Sprintf("https://client.example %s %d", now, i)
				if replay {
					if _, err := s.Remember(ctx, keys[i], now, now.Add(time.Hour)); err != nil {
						b.Fatal(err)
					}
				}
			}
			r.run(b, func(i int) {
				if ok, err := s.Remember(ctx, keys[i], now, now.Add(time.Hour)); err != nil || ok == replay {
					b.Fatalf("Remember = %v, %v; want %v", ok, err, !replay)
				}
			})
		})
	}
}
