package postgres

import (
	"errors"
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
	if err := a.store.PutClient(t.Context(), testClient(t)); err != nil {
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
		if len(issued) != 1 {
			t.Fatalf("%d concurrent redemptions of one code at A and B issued %d tokens, want exactly 1", n, len(issued))
		}
		// The replays revoke the grant; at most the one issuance's two
		// tokens were ever stored for it.
		grantRows := db.count(t, check, "oauthkit_tokens", "grant_id = (SELECT grant_id FROM oauthkit_codes WHERE id = $1)", oauthkit.HashToken(code))
		if grantRows > 2 {
			t.Errorf("%d token rows for the code's grant, want at most 2 (one access and one refresh token)", grantRows)
		}
		var uses int
		if err := check.QueryRow(t.Context(), `SELECT uses FROM oauthkit_codes WHERE id = $1`, oauthkit.HashToken(code)).Scan(&uses); err != nil {
			t.Fatal(err)
		}
		if uses != n {
			t.Errorf("code use count %d, want %d: every redemption must reach the single-use check", uses, n)
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
