package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/oauthkit/oauthkit"
)

// TestRedeemCodeTransactions checks, beyond the conformance kit, how
// RedeemCode ends its transaction on every path: whether the code is used
// afterwards, that no lock on it is left behind, and that its connection
// either goes back to the pool outside any transaction or is closed, never
// returned inside the transaction (pgxpool destroys a connection released
// in one).
func TestRedeemCodeTransactions(t *testing.T) {
	db := newTestDB(t)
	cfg := db.poolConfig(t)
	cfg.MaxConns = 1 // the connection a case leaves is the next case's
	pool := db.pool(t, cfg)
	s := New(pool)
	check := db.conn(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	errIssue := errors.New("code_verifier does not match")

	type env struct {
		id     string
		cancel context.CancelFunc
	}
	tokens := func(e env, c *oauthkit.AuthorizationCode) []*oauthkit.Token {
		return []*oauthkit.Token{
			{ID: "a-" + e.id, Kind: oauthkit.AccessToken, GrantID: c.GrantID, ClientID: c.ClientID, IssuedAt: now, ExpiresAt: now.Add(time.Hour)},
			{ID: "r-" + e.id, Kind: oauthkit.RefreshToken, GrantID: c.GrantID, ClientID: c.ClientID, IssuedAt: now, ExpiresAt: now.Add(time.Hour)},
		}
	}
	cases := []struct {
		name     string
		client   string
		setup    func(e env)
		issue    func(e env, c *oauthkit.AuthorizationCode) ([]*oauthkit.Token, error)
		wantErr  error // nil for success, errPanic for a panic
		wantUsed bool
		kept     bool // the connection goes back to the pool
	}{
		{"Redeemed", "app", nil, func(e env, c *oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
			return tokens(e, c), nil
		}, nil, true, true},
		{"NoTokens", "app", nil, func(env, *oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
			return nil, nil
		}, nil, true, true},
		{"OtherClient", "stranger", nil, nil, oauthkit.ErrNotFound, false, true},
		{"Reused", "app", func(e env) {
			if _, err := s.ConsumeCode(t.Context(), e.id, "app", now); err != nil {
				t.Fatal(err)
			}
		}, nil, oauthkit.ErrReused, true, true},
		{"IssueFails", "app", nil, func(env, *oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
			return nil, errIssue
		}, errIssue, true, true},
		{"RevokedGrant", "app", func(e env) {
			if err := s.RevokeGrant(t.Context(), "g-"+e.id); err != nil {
				t.Fatal(err)
			}
		}, func(e env, c *oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
			return tokens(e, c), nil
		}, oauthkit.ErrReused, false, true},
		{"TakenID", "app", func(e env) {
			if err := s.CreateTokens(t.Context(), &oauthkit.Token{ID: "r-" + e.id, Kind: oauthkit.RefreshToken, GrantID: "other", ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}, func(e env, c *oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
			return tokens(e, c), nil
		}, oauthkit.ErrExists, false, true},
		{"BadToken", "app", nil, func(e env, c *oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
			return []*oauthkit.Token{{ID: "a-" + e.id}}, nil
		}, errBadToken, false, true},
		// The request ends while issue runs: the transaction cannot be
		// finished on the connection, which is closed.
		{"CancelledDuringIssue", "app", nil, func(e env, c *oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
			e.cancel()
			return tokens(e, c), nil
		}, context.Canceled, false, false},
		{"IssuePanics", "app", nil, func(env, *oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
			panic("issue panics")
		}, errPanic, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			e := env{id: "code-" + tc.name, cancel: cancel}
			if err := s.CreateCode(ctx, &oauthkit.AuthorizationCode{ID: e.id, GrantID: "g-" + e.id, ClientID: "app", ExpiresAt: now.Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			if tc.setup != nil {
				tc.setup(e)
			}
			conns := pool.Stat().NewConnsCount()
			issue := func(c *oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
				if tc.issue == nil {
					t.Error("issue called")
					return nil, errIssue
				}
				return tc.issue(e, c)
			}
			err := func() (err error) {
				defer func() {
					if recover() != nil {
						err = errPanic
					}
				}()
				_, err = s.RedeemCode(ctx, e.id, tc.client, now, issue)
				return err
			}()
			var ok bool
			switch tc.wantErr {
			case nil:
				ok = err == nil
			case errBadToken:
				ok = err != nil && !errors.Is(err, oauthkit.ErrExists) && !errors.Is(err, oauthkit.ErrUnavailable)
			default:
				ok = errors.Is(err, tc.wantErr)
			}
			if !ok {
				t.Errorf("RedeemCode: error = %v, want %v", err, tc.wantErr)
			}
			// No transaction holds the code: a closed connection's is
			// rolled back by the server as soon as it sees the close.
			waitFor(t, "no transaction holds a lock on the code", func() bool {
				tx, err := check.Begin(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback(t.Context())
				_, err = tx.Exec(t.Context(), "SELECT FROM oauthkit_codes WHERE id = $1 FOR UPDATE NOWAIT", e.id)
				if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "55P03" {
					return false
				} else if err != nil {
					t.Fatal(err)
				}
				return true
			})
			var uses int
			if err := check.QueryRow(t.Context(), "SELECT uses FROM oauthkit_codes WHERE id = $1", e.id).Scan(&uses); err != nil {
				t.Fatal(err)
			}
			if used := uses > 0; used != tc.wantUsed {
				t.Errorf("code used = %v (%d uses), want %v", used, uses, tc.wantUsed)
			}
			// The pool hands out a connection outside any transaction: the
			// same one if RedeemCode ended its transaction, a new one if it
			// could not.
			c, err := pool.Acquire(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			status := c.Conn().PgConn().TxStatus()
			c.Release()
			if status != 'I' {
				t.Errorf("the pool handed out a connection in transaction status %q, want 'I'", status)
			}
			if kept := pool.Stat().NewConnsCount() == conns; kept != tc.kept {
				t.Errorf("connection kept = %v, want %v", kept, tc.kept)
			}
		})
	}
}

// Errors the cases of TestRedeemCodeTransactions expect: a panic, and an
// error that wraps no store sentinel.
var (
	errPanic    = errors.New("panic")
	errBadToken = errors.New("a plain refusal")
)
