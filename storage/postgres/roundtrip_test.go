package postgres

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
)

// TestRoundTrips counts the network round trips of each store operation
// and of each kind of token request, after a first run has prepared the
// statements: one per operation, however many statements or rows it
// involves. Round trips are counted as writes to the connection, each of
// which is followed by waiting for the server.
func TestRoundTrips(t *testing.T) {
	db := newTestDB(t)
	c := &counter{}
	cfg := db.poolConfig(t)
	cfg.MaxConns = 1 // statements are prepared per connection
	c.instrument(cfg)
	s := New(db.pool(t, cfg))
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := s.PutClient(ctx, testClient(t)); err != nil {
		t.Fatal(err)
	}

	// measure runs op twice, the first time to prepare its statements, and
	// returns the round trips and driver calls of the second.
	measure := func(t *testing.T, op func(run int) error) (writes, calls int64) {
		t.Helper()
		for run := range 2 {
			c.reset()
			if err := op(run); err != nil {
				t.Fatalf("run %d: %v", run, err)
			}
		}
		return c.writes.Load(), c.calls.Load()
	}
	token := func(id, parent string, kind oauthkit.TokenKind, grant string) *oauthkit.Token {
		return &oauthkit.Token{ID: id, Kind: kind, GrantID: grant, ParentID: parent, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	}
	// pair returns the access and refresh token of one issuance.
	pair := func(name string, run int, parent, grant string) []*oauthkit.Token {
		suffix := name + string(rune('0'+run))
		return []*oauthkit.Token{token("a"+suffix, parent, oauthkit.AccessToken, grant), token("r"+suffix, parent, oauthkit.RefreshToken, grant)}
	}
	// fresh stores a refresh token of a grant of its own and returns it.
	fresh := func(name string, run int) *oauthkit.Token {
		toks := pair(name, run, "", name+string(rune('0'+run)))
		if err := s.CreateTokens(ctx, toks...); err != nil {
			t.Fatal(err)
		}
		return toks[1]
	}
	// expect is nil if err wraps sentinel.
	expect := func(err, sentinel error) error {
		if errors.Is(err, sentinel) {
			return nil
		}
		return fmt.Errorf("error = %v, want %v", err, sentinel)
	}

	cases := []struct {
		name string
		op   func(run int) error
	}{
		{"Client", func(int) error { _, err := s.Client(ctx, testClientID); return err }},
		{"CreateCode", func(run int) error {
			return s.CreateCode(ctx, &oauthkit.AuthorizationCode{ID: "code" + string(rune('0'+run)), GrantID: "g", ClientID: "app", ExpiresAt: now.Add(time.Minute)})
		}},
		{"ConsumeCode", func(run int) error {
			_, err := s.ConsumeCode(ctx, "code"+string(rune('0'+run)), "app", now)
			return err
		}},
		{"ConsumeCodeReused", func(run int) error {
			_, err := s.ConsumeCode(ctx, "code"+string(rune('0'+run)), "app", now)
			return expect(err, oauthkit.ErrReused)
		}},
		{"CreateTokens", func(run int) error { return s.CreateTokens(ctx, pair("create", run, "", "g")...) }},
		{"Token", func(int) error { _, err := s.Token(ctx, "acreate0", now); return err }},
		{"RotateRefreshToken", func(run int) error {
			r := fresh("rotate", run)
			c.reset()
			return s.RotateRefreshToken(ctx, r.ID, now, 0, pair("next", run, r.ID, r.GrantID)...)
		}},
		{"RotateRefreshTokenRetry", func(run int) error {
			r := fresh("retry", run)
			if err := s.RotateRefreshToken(ctx, r.ID, now, time.Minute, pair("retry-a", run, r.ID, r.GrantID)...); err != nil {
				return err
			}
			c.reset()
			return s.RotateRefreshToken(ctx, r.ID, now, time.Minute, pair("retry-b", run, r.ID, r.GrantID)...)
		}},
		{"RotateRefreshTokenReuse", func(run int) error {
			r := fresh("reuse", run)
			if err := s.RotateRefreshToken(ctx, r.ID, now, 0, pair("reuse-a", run, r.ID, r.GrantID)...); err != nil {
				return err
			}
			c.reset()
			return expect(s.RotateRefreshToken(ctx, r.ID, now, 0, pair("reuse-b", run, r.ID, r.GrantID)...), oauthkit.ErrReused)
		}},
		{"RotateRefreshTokenNotFound", func(run int) error {
			return expect(s.RotateRefreshToken(ctx, "unknown", now, 0, pair("nf", run, "unknown", "g")...), oauthkit.ErrNotFound)
		}},
		{"RevokeToken", func(int) error { return s.RevokeToken(ctx, "acreate0") }},
		{"RevokeGrant", func(int) error { return s.RevokeGrant(ctx, "g") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			writes, calls := measure(t, tc.op)
			if writes != 1 || calls != 1 {
				t.Errorf("%s: %d round trips in %d driver calls, want 1 in 1", tc.name, writes, calls)
			}
		})
	}

	// Token requests: every one reads the client (one round trip), then
	// does its single-use operation and stores the new tokens.
	inst := newInstance(t, s, nil)
	requests := []struct {
		name string
		want int64
		req  func(t *testing.T) *http.Request
	}{
		{"ClientCredentials", 2, func(*testing.T) *http.Request { return tokenRequest(clientCredentialsForm) }},
		{"CodeExchange", 3, func(t *testing.T) *http.Request {
			code, verifier := authorize(t, inst)
			return tokenRequest(codeForm(code, verifier))
		}},
		{"RefreshRotation", 3, func(t *testing.T) *http.Request {
			code, verifier := authorize(t, inst)
			w := serveToken(inst, tokenRequest(codeForm(code, verifier)))
			return tokenRequest(refreshForm(decodeToken(t, w).RefreshToken))
		}},
	}
	for _, tc := range requests {
		t.Run(tc.name, func(t *testing.T) {
			writes, calls := measure(t, func(int) error {
				r := tc.req(t)
				c.reset()
				if w := serveToken(inst, r); w.Code != http.StatusOK {
					t.Fatalf("%d %s", w.Code, w.Body)
				}
				return nil
			})
			if writes != tc.want || calls != tc.want {
				t.Errorf("%s request: %d round trips in %d driver calls, want %d", tc.name, writes, calls, tc.want)
			}
		})
	}
}
