package postgres

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/oauthkit/oauthkit"
)

// timeout is the deadline the tests give a call that the database keeps
// waiting.
const timeout = 300 * time.Millisecond

// TestTimeouts checks that a call whose context times out while the
// database keeps it waiting (on a lock another session holds) returns in
// time with an error wrapping ErrUnavailable, and that its statement is
// cancelled in the server: once the lock is released, nothing of it has
// been written, and the same operation succeeds as if for the first time.
func TestTimeouts(t *testing.T) {
	t.Parallel() // mostly waiting for the server
	db := newTestDB(t)
	// One connection, on which each subtest first runs its statement once,
	// so that the statement timed out is executing, not being prepared.
	cfg := db.poolConfig(t)
	cfg.MaxConns = 1
	s := New(db.pool(t, cfg))
	now := time.Now().UTC().Truncate(time.Microsecond)
	// blocker holds a lock in a transaction of its own, released when the
	// subtest ends.
	blocker := func(t *testing.T, sql string, args ...any) pgx.Tx {
		tx, err := db.conn(t).Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tx.Rollback(context.Background()) })
		if _, err := tx.Exec(t.Context(), sql, args...); err != nil {
			t.Fatal(err)
		}
		return tx
	}
	// settle waits, by taking the lock again, for a statement the server
	// failed to cancel, so that its writes would be seen.
	settle := func(t *testing.T, lock string) {
		if _, err := db.conn(t).Exec(t.Context(), "BEGIN; "+lock+"; COMMIT"); err != nil {
			t.Fatal(err)
		}
	}
	// timedOut runs f with a short deadline and checks how it failed.
	timedOut := func(t *testing.T, f func(ctx context.Context) error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), timeout)
		defer cancel()
		start := time.Now()
		err := f(ctx)
		if !errors.Is(err, oauthkit.ErrUnavailable) {
			t.Errorf("error = %v, want one wrapping oauthkit.ErrUnavailable", err)
		}
		if d := time.Since(start); d > timeout+cancelWait+time.Second {
			t.Errorf("returned after %v, want about %v", d, timeout)
		}
	}

	t.Run("RotateRefreshToken", func(t *testing.T) {
		r0 := &oauthkit.Token{ID: "r0", Kind: oauthkit.RefreshToken, GrantID: "g0", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		r1 := &oauthkit.Token{ID: "r1", Kind: oauthkit.RefreshToken, GrantID: "g1", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		next := []*oauthkit.Token{{ID: "a2", Kind: oauthkit.AccessToken, GrantID: "g1", ParentID: "r1", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}}
		if err := s.CreateTokens(t.Context(), r0, r1); err != nil {
			t.Fatal(err)
		}
		if err := s.RotateRefreshToken(t.Context(), "r0", now, 0, &oauthkit.Token{ID: "a0", Kind: oauthkit.AccessToken, GrantID: "g0", ParentID: "r0", ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		tx := blocker(t, "SELECT pg_advisory_xact_lock("+grantLockClass+", hashtext('g1'))")
		timedOut(t, func(ctx context.Context) error { return s.RotateRefreshToken(ctx, "r1", now, 0, next...) })
		if err := tx.Rollback(t.Context()); err != nil {
			t.Fatal(err)
		}
		settle(t, "SELECT pg_advisory_xact_lock("+grantLockClass+", hashtext('g1'))")
		if _, err := s.Token(t.Context(), "a2", now); !errors.Is(err, oauthkit.ErrNotFound) {
			t.Errorf("Token(a2) after the timed-out rotation: error = %v, want ErrNotFound", err)
		}
		if err := s.RotateRefreshToken(t.Context(), "r1", now, 0, next...); err != nil {
			t.Errorf("RotateRefreshToken after the timed-out one: %v, want success (the first must not have rotated)", err)
		}
	})

	t.Run("ConsumeCode", func(t *testing.T) {
		for _, id := range []string{"c0", "c1"} {
			if err := s.CreateCode(t.Context(), &oauthkit.AuthorizationCode{ID: id, GrantID: "g2", ClientID: "app", ExpiresAt: now.Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.ConsumeCode(t.Context(), "c0", "app", now); err != nil {
			t.Fatal(err)
		}
		tx := blocker(t, "SELECT FROM oauthkit_codes WHERE id = 'c1' FOR UPDATE")
		timedOut(t, func(ctx context.Context) error { _, err := s.ConsumeCode(ctx, "c1", "app", now); return err })
		if err := tx.Rollback(t.Context()); err != nil {
			t.Fatal(err)
		}
		settle(t, "SELECT FROM oauthkit_codes WHERE id = 'c1' FOR UPDATE")
		if _, err := s.ConsumeCode(t.Context(), "c1", "app", now); err != nil {
			t.Errorf("ConsumeCode after the timed-out one: %v, want a first use", err)
		}
	})

	t.Run("RedeemCode", func(t *testing.T) {
		for _, id := range []string{"c2", "c3"} {
			if err := s.CreateCode(t.Context(), &oauthkit.AuthorizationCode{ID: id, GrantID: "g-" + id, ClientID: "app", ExpiresAt: now.Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
		issue := func(c *oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
			return []*oauthkit.Token{{ID: "a-" + c.ID, Kind: oauthkit.AccessToken, GrantID: c.GrantID, ExpiresAt: now.Add(time.Hour)}}, nil
		}
		if _, err := s.RedeemCode(t.Context(), "c2", "app", now, issue); err != nil {
			t.Fatal(err)
		}
		tx := blocker(t, "SELECT FROM oauthkit_codes WHERE id = 'c3' FOR UPDATE")
		timedOut(t, func(ctx context.Context) error { _, err := s.RedeemCode(ctx, "c3", "app", now, issue); return err })
		if err := tx.Rollback(t.Context()); err != nil {
			t.Fatal(err)
		}
		settle(t, "SELECT FROM oauthkit_codes WHERE id = 'c3' FOR UPDATE")
		if _, err := s.RedeemCode(t.Context(), "c3", "app", now, issue); err != nil {
			t.Errorf("RedeemCode after the timed-out one: %v, want a first use", err)
		}
	})

	// A redemption whose issue stalls past the deadline, with the code's
	// row locked: the database ends the idle transaction at the deadline,
	// so that the code is not held for longer, whether or not its client
	// ever comes back.
	t.Run("RedeemCodeStalled", func(t *testing.T) {
		if err := s.CreateCode(t.Context(), &oauthkit.AuthorizationCode{ID: "c4", GrantID: "g-c4", ClientID: "app", ExpiresAt: now.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), timeout)
		defer cancel()
		deadline, _ := ctx.Deadline()
		check := db.conn(t)
		var freed time.Time
		_, err := s.RedeemCode(ctx, "c4", "app", now, func(c *oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
			// Wait, within a bound, for the code's row lock to be
			// released while this transaction still holds it.
			if _, err := check.Exec(t.Context(), "BEGIN; SET LOCAL lock_timeout = '5s'; SELECT FROM oauthkit_codes WHERE id = 'c4' FOR UPDATE; ROLLBACK"); err != nil {
				t.Errorf("locking the code while its redemption stalls: %v", err)
			}
			freed = time.Now()
			return nil, nil
		})
		if !errors.Is(err, oauthkit.ErrUnavailable) {
			t.Errorf("RedeemCode after a stall past its deadline: error = %v, want ErrUnavailable", err)
		}
		if late := freed.Sub(deadline); late > time.Second {
			t.Errorf("the code's lock was released %v after the deadline, want at most a second", late)
		}
		if _, err := s.ConsumeCode(t.Context(), "c4", "app", now); err != nil {
			t.Errorf("ConsumeCode after the stalled redemption: %v, want a first use", err)
		}
	})

	t.Run("CreateTokens", func(t *testing.T) {
		tok := &oauthkit.Token{ID: "a3", Kind: oauthkit.AccessToken, GrantID: "g3", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateTokens(t.Context(), &oauthkit.Token{ID: "a03", Kind: oauthkit.AccessToken, GrantID: "g3", ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		tx := blocker(t, "LOCK TABLE oauthkit_tokens IN SHARE MODE")
		timedOut(t, func(ctx context.Context) error { return s.CreateTokens(ctx, tok) })
		if err := tx.Rollback(t.Context()); err != nil {
			t.Fatal(err)
		}
		settle(t, "LOCK TABLE oauthkit_tokens IN EXCLUSIVE MODE")
		if err := s.CreateTokens(t.Context(), tok); err != nil {
			t.Errorf("CreateTokens after the timed-out one: %v, want success (the first must not have stored)", err)
		}
	})

	t.Run("RevokeGrant", func(t *testing.T) {
		tok := &oauthkit.Token{ID: "a4", Kind: oauthkit.AccessToken, GrantID: "g4", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateTokens(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeGrant(t.Context(), "g04"); err != nil {
			t.Fatal(err)
		}
		tx := blocker(t, "SELECT pg_advisory_xact_lock("+grantLockClass+", hashtext('g4'))")
		timedOut(t, func(ctx context.Context) error { return s.RevokeGrant(ctx, "g4") })
		if err := tx.Rollback(t.Context()); err != nil {
			t.Fatal(err)
		}
		settle(t, "SELECT pg_advisory_xact_lock("+grantLockClass+", hashtext('g4'))")
		if _, err := s.Token(t.Context(), "a4", now); err != nil {
			t.Errorf("Token(a4) after a timed-out RevokeGrant: %v, want it still there", err)
		}
	})

	// Through the token endpoint: the request's context times out while
	// the token INSERT waits; the answer is server_error and no token is
	// stored, now or after the lock is released.
	t.Run("TokenEndpoint", func(t *testing.T) {
		if err := s.PutClient(t.Context(), testClient(t)); err != nil {
			t.Fatal(err)
		}
		inst := newInstance(t, s, nil)
		if w := serveToken(inst, tokenRequest(clientCredentialsForm)); w.Code != http.StatusOK {
			t.Fatalf("token endpoint: %d %s", w.Code, w.Body)
		}
		check := db.conn(t)
		before := db.count(t, check, "oauthkit_tokens", "true")
		tx := blocker(t, "LOCK TABLE oauthkit_tokens IN SHARE MODE")
		ctx, cancel := context.WithTimeout(t.Context(), timeout)
		defer cancel()
		w := serveToken(inst, tokenRequest(clientCredentialsForm).WithContext(ctx))
		if w.Code != http.StatusServiceUnavailable || w.Body.String() != `{"error":"server_error"}` {
			t.Errorf("token endpoint timing out: %d %s, want 503 {\"error\":\"server_error\"}", w.Code, w.Body)
		}
		if err := tx.Rollback(t.Context()); err != nil {
			t.Fatal(err)
		}
		settle(t, "LOCK TABLE oauthkit_tokens IN EXCLUSIVE MODE")
		if n := db.count(t, check, "oauthkit_tokens", "true"); n != before {
			t.Errorf("%d token rows after the timed-out request, want %d", n, before)
		}
	})
}

// TestDeadlineFunction checks oauthkit_deadline (migration 0003), which
// every writing transaction calls first and last: before the deadline it
// bounds the transaction's lock waits (or, asked to, its idle pauses) to
// the time left; after it, it fails the transaction with an error that
// wraps ErrUnavailable.
func TestDeadlineFunction(t *testing.T) {
	db := newTestDB(t)
	conn := db.conn(t)
	cases := []struct {
		name    string
		sql     string
		setting string        // "" for an error
		min     time.Duration // of the setting; 0 for the largest
		max     time.Duration
	}{
		{"LockTimeout", `SELECT oauthkit_deadline(now() + interval '5 s')`, "lock_timeout", 4 * time.Second, 5 * time.Second},
		{"IdleTimeout", `SELECT oauthkit_deadline(now() + interval '5 s', 'idle_in_transaction_session_timeout')`, "idle_in_transaction_session_timeout", 4 * time.Second, 5 * time.Second},
		{"FarFuture", `SELECT oauthkit_deadline(now() + interval '100 years')`, "lock_timeout", 0, 0},
		{"Passed", `SELECT oauthkit_deadline(now() - interval '1 ms')`, "", 0, 0},
		{"LongPassed", `SELECT oauthkit_deadline('-infinity')`, "", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := conn.Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(t.Context())
			_, err = tx.Exec(t.Context(), tc.sql)
			if tc.setting == "" {
				if !errors.Is(wrapErr("test", err), oauthkit.ErrUnavailable) {
					t.Errorf("%s: error = %v, want one that wraps ErrUnavailable", tc.sql, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", tc.sql, err)
			}
			var ms int64
			if err := tx.QueryRow(t.Context(), `SELECT setting::bigint FROM pg_settings WHERE name = $1`, tc.setting).Scan(&ms); err != nil {
				t.Fatal(err)
			}
			got := time.Duration(ms) * time.Millisecond
			if tc.min == 0 {
				if got < 24*time.Hour {
					t.Errorf("%s after %s: %v, want the largest", tc.setting, tc.sql, got)
				}
				return
			}
			if got < tc.min || got > tc.max {
				t.Errorf("%s after %s: %v, want between %v and %v", tc.setting, tc.sql, got, tc.min, tc.max)
			}
		})
	}
}
