package postgres

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthkit/oauthkit"
	"golang.org/x/oauth2"
)

// TestMultiInstance runs two authorization servers, each with its own
// oauthkit.Server, Store and connection pool, on one database, as two
// instances behind a load balancer, and checks that the single-use and
// rotation guarantees hold across them.
func TestMultiInstance(t *testing.T) {
	db := newTestDB(t)
	a := newInstance(t, db.store(t), nil)
	b := newInstance(t, db.store(t), nil)
	if err := a.store.CreateClient(t.Context(), testClient(t)); err != nil {
		t.Fatal(err)
	}
	check := db.conn(t)
	instances := map[string]*instance{"A": a, "B": b}

	// wantGone checks that neither instance accepts any of the tokens.
	wantGone := func(t *testing.T, why string, raw ...string) {
		t.Helper()
		for name, inst := range instances {
			for _, r := range raw {
				if _, err := inst.store.Token(t.Context(), oauthkit.HashToken(r), time.Now()); !errors.Is(err, oauthkit.ErrNotFound) {
					t.Errorf("token %.8s… at %s %s: error = %v, want ErrNotFound", r, name, why, err)
				}
			}
		}
	}

	t.Run("CodeFromARedeemedAtB", func(t *testing.T) {
		code, verifier := authorize(t, a)
		tok, err := oauth2Config(a, b).Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange at B of a code issued by A: %v", err)
		}
		for name, inst := range instances {
			got, err := inst.store.Token(t.Context(), oauthkit.HashToken(tok.AccessToken), time.Now())
			if err != nil {
				t.Fatalf("access token at %s: %v", name, err)
			}
			if diff := cmp.Diff([]string{"read"}, got.Scope); got.Subject != "alice" || got.ClientID != testClientID || diff != "" {
				t.Errorf("access token at %s: subject %q, client %q, scope diff (-want +got) %s; want alice, %s", name, got.Subject, got.ClientID, diff, testClientID)
			}
		}
		// The second redemption, at A, is refused and revokes what the
		// first issued (RFC 6749 §4.1.2).
		_, err = oauth2Config(a, a).Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
		if re, ok := errors.AsType[*oauth2.RetrieveError](err); !ok || re.ErrorCode != "invalid_grant" {
			t.Fatalf("second redemption at A: error = %v, want invalid_grant", err)
		}
		wantGone(t, "after the code was replayed", tok.AccessToken, tok.RefreshToken)
	})

	// 100 redemptions of one code, split across A and B: the code's
	// single use holds across instances.
	t.Run("ConcurrentRedemptions", func(t *testing.T) {
		const n = 100
		code, verifier := authorize(t, b)
		type result struct {
			status int
			resp   tokenResponse
			body   string
		}
		results := make([]result, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			inst := a
			if i%2 == 1 {
				inst = b
			}
			wg.Go(func() {
				<-start
				status, resp, body, err := doToken(t.Context(), inst, codeForm(code, verifier))
				if err != nil {
					body = err.Error()
				}
				results[i] = result{status, resp, body}
			})
		}
		close(start)
		wg.Wait()
		var issued []string
		for i, r := range results {
			switch {
			case r.status == http.StatusOK && r.resp.AccessToken != "":
				issued = append(issued, r.resp.AccessToken)
			case r.status == http.StatusBadRequest && r.resp.Error == "invalid_grant":
			default:
				t.Errorf("redemption %d: %d %s, want 200 with a token or 400 invalid_grant", i, r.status, r.body)
			}
		}
		// One redemption wins the code; the replays revoke its grant, before
		// or after the winner stores its tokens (RFC 6749 §4.1.2). So at
		// most one token is issued, and none survives.
		if len(issued) > 1 {
			t.Fatalf("%d concurrent redemptions of one code at A and B issued %d tokens, want at most 1", n, len(issued))
		}
		t.Logf("%d of %d concurrent redemptions got a token before a replay revoked the grant", len(issued), n)
		if rows := db.count(t, check, "oauthkit_tokens", "grant_id = (SELECT grant_id FROM oauthkit_codes WHERE id = $1)", oauthkit.HashToken(code)); rows != 0 {
			t.Errorf("%d token rows left for the replayed code's grant, want 0", rows)
		}
		wantGone(t, "after the code was replayed", issued...)
		var uses int
		if err := check.QueryRow(t.Context(), `SELECT uses FROM oauthkit_codes WHERE id = $1`, oauthkit.HashToken(code)).Scan(&uses); err != nil {
			t.Fatal(err)
		}
		if uses != n {
			t.Errorf("code use count %d, want %d: every redemption must reach the single-use check", uses, n)
		}
	})

	// The race the replays above may or may not hit, forced: B detects the
	// replay and revokes the grant before A, which redeemed the code first,
	// stores its tokens; A's tokens are then refused.
	t.Run("ReplayDuringRedemption", func(t *testing.T) {
		now := time.Now()
		code := &oauthkit.AuthorizationCode{ID: "replayed", GrantID: "g-replayed", ClientID: testClientID, ExpiresAt: now.Add(time.Minute)}
		if err := a.store.CreateCode(t.Context(), code); err != nil {
			t.Fatal(err)
		}
		if _, err := a.store.ConsumeCode(t.Context(), code.ID, code.ClientID, now); err != nil {
			t.Fatalf("first redemption at A: %v", err)
		}
		if _, err := b.store.ConsumeCode(t.Context(), code.ID, code.ClientID, now); !errors.Is(err, oauthkit.ErrReused) {
			t.Fatalf("replay at B: error = %v, want ErrReused", err)
		}
		if err := b.store.RevokeGrant(t.Context(), code.GrantID); err != nil {
			t.Fatal(err)
		}
		late := &oauthkit.Token{ID: "late", Kind: oauthkit.AccessToken, GrantID: code.GrantID, ExpiresAt: now.Add(time.Hour)}
		if err := a.store.CreateTokens(t.Context(), late); !errors.Is(err, oauthkit.ErrReused) {
			t.Errorf("A storing the tokens of the grant B revoked: error = %v, want ErrReused", err)
		}
		if _, err := b.store.Token(t.Context(), "late", now); !errors.Is(err, oauthkit.ErrNotFound) {
			t.Errorf("the refused token at B: error = %v, want ErrNotFound", err)
		}
	})

	// Tokens stored at A while B revokes their grant: in either order, no
	// token of the grant is left, because both take the grant's lock.
	t.Run("CreateRacingRevoke", func(t *testing.T) {
		const n = 50
		now := time.Now()
		var wg sync.WaitGroup
		for i := range n {
			grant := fmt.Sprint("g-race-", i)
			wg.Go(func() {
				tok := &oauthkit.Token{ID: grant + "-a", Kind: oauthkit.AccessToken, GrantID: grant, ExpiresAt: now.Add(time.Hour)}
				if err := a.store.CreateTokens(t.Context(), tok); err != nil && !errors.Is(err, oauthkit.ErrReused) {
					t.Errorf("CreateTokens at A: %v", err)
				}
			})
			wg.Go(func() {
				if err := b.store.RevokeGrant(t.Context(), grant); err != nil {
					t.Errorf("RevokeGrant at B: %v", err)
				}
			})
		}
		wg.Wait()
		if rows := db.count(t, check, "oauthkit_tokens", "grant_id LIKE 'g-race-%'"); rows != 0 {
			t.Errorf("%d tokens left in grants revoked while they were stored, want 0", rows)
		}
	})

	t.Run("RefreshRotatedAtAReusedAtB", func(t *testing.T) {
		code, verifier := authorize(t, a)
		status, first, body := postToken(t, a, codeForm(code, verifier))
		if status != http.StatusOK {
			t.Fatalf("code exchange at A: %d %s", status, body)
		}
		status, second, body := postToken(t, a, refreshForm(first.RefreshToken))
		if status != http.StatusOK || second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
			t.Fatalf("refresh at A: %d %s, want 200 with a new refresh token", status, body)
		}
		status, reuse, body := postToken(t, b, refreshForm(first.RefreshToken))
		if status != http.StatusBadRequest || reuse.Error != "invalid_grant" {
			t.Fatalf("reuse at B of the refresh token rotated at A: %d %s, want 400 invalid_grant", status, body)
		}
		// The family is revoked at both: the latest refresh token is refused
		// everywhere and no token of the grant is left.
		for name, inst := range instances {
			status, _, body := postToken(t, inst, refreshForm(second.RefreshToken))
			if status != http.StatusBadRequest {
				t.Errorf("refresh at %s with the latest refresh token after reuse: %d %s, want 400 invalid_grant", name, status, body)
			}
		}
		wantGone(t, "after refresh token reuse", first.AccessToken, first.RefreshToken, second.AccessToken, second.RefreshToken)
		if n := db.count(t, check, "oauthkit_tokens", "grant_id = (SELECT grant_id FROM oauthkit_codes WHERE id = $1)", oauthkit.HashToken(code)); n != 0 {
			t.Errorf("%d token rows left in the revoked grant, want 0", n)
		}
	})

	t.Run("ConcurrentRefreshes", func(t *testing.T) {
		const n = 50
		code, verifier := authorize(t, b)
		status, first, body := postToken(t, b, codeForm(code, verifier))
		if status != http.StatusOK {
			t.Fatalf("code exchange at B: %d %s", status, body)
		}
		results := make([]tokenResponse, n)
		statuses := make([]int, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			inst := a
			if i%2 == 1 {
				inst = b
			}
			wg.Go(func() {
				<-start
				statuses[i], results[i], _, _ = doToken(t.Context(), inst, refreshForm(first.RefreshToken))
			})
		}
		close(start)
		wg.Wait()
		var winners []tokenResponse
		for i, r := range results {
			switch {
			case statuses[i] == http.StatusOK:
				winners = append(winners, r)
			case statuses[i] != http.StatusBadRequest || r.Error != "invalid_grant":
				t.Errorf("refresh %d: %d %+v, want 200 or 400 invalid_grant", i, statuses[i], r)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("%d concurrent refreshes of one token at A and B succeeded %d times, want exactly 1", n, len(winners))
		}
		// The requests that lost saw the token rotated: reuse, which
		// revokes the family, the winner's new tokens included.
		wantGone(t, "after concurrent reuse", first.AccessToken, winners[0].AccessToken, winners[0].RefreshToken)
	})
}
