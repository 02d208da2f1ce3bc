package postgres

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/storetest"
	"github.com/oauthkit/oauthkit/storage/tenant"
)

// TestRoundTrips counts the network round trips of each store operation
// and of each kind of token request, after a first run has prepared the
// statements: one per operation, however many statements or rows it
// involves, but two for RedeemCode, which calls back in the middle of its
// transaction. Round trips are counted as writes to the connection, each of
// which is followed by waiting for the server. It also checks that each
// token request commits once: the rows it writes all carry the ID of one
// transaction (xmin). With the client cache on and warm (CacheClients),
// each token request takes one round trip fewer: the client's.
func TestRoundTrips(t *testing.T) { testRoundTrips(t, "") }

// TestRoundTripsThroughTenantView is TestRoundTrips through a tenant's view
// of the store (package storage/tenant): the same round trips, and the same
// single commit per token request.
func TestRoundTripsThroughTenantView(t *testing.T) { testRoundTrips(t, "acme") }

// testRoundTrips is TestRoundTrips through the view of tenantID, if not
// empty.
func testRoundTrips(t *testing.T, tenantID string) {
	db := newTestDB(t)
	c := &counter{}
	cfg := db.poolConfig(t)
	cfg.MaxConns = 1 // statements are prepared per connection
	c.instrument(cfg)
	base := New(db.pool(t, cfg))
	// scope returns the store the test runs on, and key the key under which
	// it stores an ID.
	scope := func(s *Store) storetest.TenantStore { return s }
	key := func(id string) string { return id }
	if tenantID != "" {
		scope = func(s *Store) storetest.TenantStore {
			v, err := tenant.Scope(s, tenantID)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		key = func(id string) string { return tenantID + tenant.Separator + id }
	}
	s := scope(base)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := s.CreateClient(ctx, testClient(t)); err != nil {
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

	// issue is a RedeemCode callback issuing a pair of tokens.
	issue := func(name string, run int) func(*oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
		return func(c *oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
			return pair(name, run, "", c.GrantID), nil
		}
	}
	code := func(name string, run int) string {
		id := name + string(rune('0'+run))
		if err := s.CreateCode(ctx, &oauthkit.AuthorizationCode{ID: id, GrantID: "g-" + id, ClientID: "app", ExpiresAt: now.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		return id
	}

	cases := []struct {
		name string
		want int64 // round trips, each one driver call; 1 if 0
		op   func(run int) error
	}{
		{"Client", 0, func(int) error { _, err := s.Client(ctx, testClientID); return err }},
		{"CreateCode", 0, func(run int) error {
			return s.CreateCode(ctx, &oauthkit.AuthorizationCode{ID: "code" + string(rune('0'+run)), GrantID: "g", ClientID: "app", ExpiresAt: now.Add(time.Minute)})
		}},
		{"ConsumeCode", 0, func(run int) error {
			_, err := s.ConsumeCode(ctx, "code"+string(rune('0'+run)), "app", now)
			return err
		}},
		{"ConsumeCodeReused", 0, func(run int) error {
			_, err := s.ConsumeCode(ctx, "code"+string(rune('0'+run)), "app", now)
			return expect(err, oauthkit.ErrReused)
		}},
		{"CreateTokens", 0, func(run int) error { return s.CreateTokens(ctx, pair("create", run, "", "g")...) }},
		{"Token", 0, func(int) error { _, err := s.Token(ctx, "acreate0", now); return err }},
		{"RotateRefreshToken", 0, func(run int) error {
			r := fresh("rotate", run)
			c.reset()
			return s.RotateRefreshToken(ctx, r.ID, now, 0, pair("next", run, r.ID, r.GrantID)...)
		}},
		{"RotateRefreshTokenRetry", 0, func(run int) error {
			r := fresh("retry", run)
			if err := s.RotateRefreshToken(ctx, r.ID, now, time.Minute, pair("retry-a", run, r.ID, r.GrantID)...); err != nil {
				return err
			}
			c.reset()
			return s.RotateRefreshToken(ctx, r.ID, now, time.Minute, pair("retry-b", run, r.ID, r.GrantID)...)
		}},
		{"RotateRefreshTokenReuse", 0, func(run int) error {
			r := fresh("reuse", run)
			if err := s.RotateRefreshToken(ctx, r.ID, now, 0, pair("reuse-a", run, r.ID, r.GrantID)...); err != nil {
				return err
			}
			c.reset()
			return expect(s.RotateRefreshToken(ctx, r.ID, now, 0, pair("reuse-b", run, r.ID, r.GrantID)...), oauthkit.ErrReused)
		}},
		{"RotateRefreshTokenNotFound", 0, func(run int) error {
			return expect(s.RotateRefreshToken(ctx, "unknown", now, 0, pair("nf", run, "unknown", "g")...), oauthkit.ErrNotFound)
		}},
		{"RevokeToken", 0, func(int) error { return s.RevokeToken(ctx, "acreate0") }},
		{"RevokeGrant", 0, func(int) error { return s.RevokeGrant(ctx, "g") }},
		{"RevokeSubject", 0, func(int) error { return s.RevokeSubject(ctx, "alice") }},
		// BEGIN and the code's UPDATE; issue; the tokens' INSERT and COMMIT.
		{"RedeemCode", 2, func(run int) error {
			id := code("redeem", run)
			c.reset()
			_, err := s.RedeemCode(ctx, id, "app", now, issue("redeem", run))
			return err
		}},
		// BEGIN and the UPDATE, which finds nothing; ROLLBACK.
		{"RedeemCodeNotFound", 2, func(run int) error {
			_, err := s.RedeemCode(ctx, "unknown", "app", now, issue("redeem-nf", run))
			return expect(err, oauthkit.ErrNotFound)
		}},
		// BEGIN and the UPDATE, which counts a replay; COMMIT.
		{"RedeemCodeReused", 2, func(run int) error {
			id := code("redeem-reused", run)
			if _, err := s.ConsumeCode(ctx, id, "app", now); err != nil {
				return err
			}
			c.reset()
			_, err := s.RedeemCode(ctx, id, "app", now, issue("redeem-reused", run))
			return expect(err, oauthkit.ErrReused)
		}},
		// pgxpool pings a connection idle for more than a second before
		// handing it out, unless ConfigurePool says otherwise.
		{"ClientAfterIdle", 0, func(int) error {
			time.Sleep(1100 * time.Millisecond)
			c.reset()
			_, err := s.Client(ctx, testClientID)
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := max(tc.want, 1)
			writes, calls := measure(t, tc.op)
			if writes != want || calls != want {
				t.Errorf("%s: %d round trips in %d driver calls, want %d in %d", tc.name, writes, calls, want, want)
			}
		})
	}

	// With the client cache on (the same pool), a client read before is
	// served without a round trip.
	cachedBase := New(base.pool)
	cachedBase.CacheClients(ClientCache{MaxStaleness: time.Hour})
	cached := scope(cachedBase)
	t.Run("ClientCached", func(t *testing.T) {
		writes, calls := measure(t, func(int) error { _, err := cached.Client(ctx, testClientID); return err })
		if writes != 0 || calls != 0 {
			t.Errorf("ClientCached: %d round trips in %d driver calls, want 0", writes, calls)
		}
	})

	// Token requests through the server: every one reads the client (one
	// round trip, none with the client cache on and warm), then does its
	// single-use operation and stores the new tokens, in one transaction.
	// Each request's writes is the query that returns the number of
	// transactions that wrote its rows.
	inst := newInstance(t, s, nil)
	warm := newInstance(t, cached, nil)
	// apart redeems codes in two transactions, as the server does with a
	// CodeStore that is not a CodeRedeemer.
	apart := newInstance(t, s, func(c *oauthkit.Config) { c.Codes = struct{ oauthkit.CodeStore }{s} })
	check := db.conn(t)
	codeExchange := func(inst *instance) func(t *testing.T) (*http.Request, string, string) {
		return func(t *testing.T) (*http.Request, string, string) {
			code, verifier := authorize(t, inst)
			return tokenRequest(codeForm(code, verifier)), `SELECT xmin FROM oauthkit_codes WHERE id = $1
				UNION ALL SELECT xmin FROM oauthkit_tokens WHERE grant_id = (SELECT grant_id FROM oauthkit_codes WHERE id = $1)`,
				key(oauthkit.HashToken(code))
		}
	}
	requests := []struct {
		name    string
		inst    *instance
		want    int64
		commits int
		req     func(t *testing.T) (r *http.Request, writes string, arg string)
	}{
		// The client; the grant's lock and the INSERT.
		{"ClientCredentials", inst, 2, 1, func(*testing.T) (*http.Request, string, string) {
			return tokenRequest(clientCredentialsForm), "", ""
		}},
		// The client; RedeemCode's two.
		{"CodeExchange", inst, 3, 1, codeExchange(inst)},
		// The client; ConsumeCode; CreateTokens: the check below tells
		// two commits from one.
		{"CodeExchangeWithoutRedeemer", apart, 3, 2, codeExchange(apart)},
		// The client; the refresh token (Token); the rotation.
		{"RefreshRotation", inst, 3, 1, func(t *testing.T) (*http.Request, string, string) {
			code, verifier := authorize(t, inst)
			w := serveToken(inst, tokenRequest(codeForm(code, verifier)))
			refresh := decodeToken(t, w).RefreshToken
			return tokenRequest(refreshForm(refresh)), `SELECT xmin FROM oauthkit_tokens WHERE id = $1 OR parent_id = $1`,
				key(oauthkit.HashToken(refresh))
		}},
		// With the client cache warm (the first of measure's two runs
		// fills it): the same without the client.
		{"ClientCredentialsCachedClient", warm, 1, 1, func(*testing.T) (*http.Request, string, string) {
			return tokenRequest(clientCredentialsForm), "", ""
		}},
		{"CodeExchangeCachedClient", warm, 2, 1, codeExchange(warm)},
		{"RefreshRotationCachedClient", warm, 2, 1, func(t *testing.T) (*http.Request, string, string) {
			code, verifier := authorize(t, warm)
			w := serveToken(warm, tokenRequest(codeForm(code, verifier)))
			refresh := decodeToken(t, w).RefreshToken
			return tokenRequest(refreshForm(refresh)), `SELECT xmin FROM oauthkit_tokens WHERE id = $1 OR parent_id = $1`,
				key(oauthkit.HashToken(refresh))
		}},
	}
	for _, tc := range requests {
		t.Run(tc.name, func(t *testing.T) {
			var writes, arg string
			rt, calls := measure(t, func(int) error {
				var r *http.Request
				r, writes, arg = tc.req(t)
				c.reset()
				if w := serveToken(tc.inst, r); w.Code != http.StatusOK {
					t.Fatalf("%d %s", w.Code, w.Body)
				}
				return nil
			})
			if rt != tc.want || calls != tc.want {
				t.Errorf("%s request: %d round trips in %d driver calls, want %d", tc.name, rt, calls, tc.want)
			}
			if writes == "" {
				return
			}
			var rows, commits int
			if err := check.QueryRow(t.Context(), `SELECT count(*), count(DISTINCT xmin::text) FROM (`+writes+`) AS w`, arg).Scan(&rows, &commits); err != nil {
				t.Fatal(err)
			}
			if rows < 3 || commits != tc.commits {
				t.Errorf("%s request: %d rows written in %d transactions, want at least 3 in %d", tc.name, rows, commits, tc.commits)
			}
		})
	}
}
