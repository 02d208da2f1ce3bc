package postgres

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
)

// TestRefreshRetryOnce checks the refresh grace period through two server
// instances on one database (RFC 9700 §4.14.2): the previous refresh token
// is accepted once more within the grace period, at either instance, and
// then never again; the successor that retry replaced is never valid again;
// and either misuse revokes the whole family, so that a thief replaying a
// stolen refresh token cannot keep the grant.
func TestRefreshRetryOnce(t *testing.T) {
	db := newTestDB(t)
	withGrace := func(c *oauthkit.Config) { c.RefreshTokenGracePeriod = time.Minute }
	a := newInstance(t, db.store(t), withGrace)
	b := newInstance(t, db.store(t), withGrace)
	if err := a.store.CreateClient(t.Context(), testClient(t)); err != nil {
		t.Fatal(err)
	}
	// refresh exchanges token at inst and returns the answer's status and
	// refresh token.
	refresh := func(t *testing.T, inst *instance, token string) (int, string) {
		w := serveToken(inst, tokenRequest(refreshForm(token)))
		if w.Code != http.StatusOK {
			return w.Code, ""
		}
		return w.Code, decodeToken(t, w).RefreshToken
	}
	ok := func(t *testing.T, what string, inst *instance, token string) string {
		t.Helper()
		status, next := refresh(t, inst, token)
		if status != http.StatusOK {
			t.Fatalf("%s: %d, want 200", what, status)
		}
		return next
	}
	refused := func(t *testing.T, what string, inst *instance, token string) {
		t.Helper()
		if status, _ := refresh(t, inst, token); status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400 invalid_grant", what, status)
		}
	}
	first := func(t *testing.T) string {
		t.Helper()
		code, verifier := authorize(t, a)
		w := serveToken(a, tokenRequest(codeForm(code, verifier)))
		if w.Code != http.StatusOK {
			t.Fatalf("code exchange: %d %s", w.Code, w.Body)
		}
		return decodeToken(t, w).RefreshToken
	}

	cases := []struct {
		name string
		// misuse presents tokens after r1 was exchanged for r2 at A and
		// retried for r3 at B; it returns the tokens that must be dead.
		misuse func(t *testing.T, r1, r2, r3 string) []string
	}{
		{"SecondRetry", func(t *testing.T, r1, r2, r3 string) []string {
			refused(t, "second retry of r1", a, r1)
			return []string{r1, r2, r3}
		}},
		{"ReplacedSuccessor", func(t *testing.T, r1, r2, r3 string) []string {
			refused(t, "r2, replaced by the retry", b, r2)
			return []string{r1, r2, r3}
		}},
		{"RetryAfterTheReplacedSuccessorWasRevoked", func(t *testing.T, r1, r2, r3 string) []string {
			// The client revokes r2 (RFC 7009); r1 has been retried once
			// already all the same.
			if err := a.store.RevokeToken(t.Context(), oauthkit.HashToken(r2)); err != nil {
				t.Fatal(err)
			}
			refused(t, "r1 after r2 was revoked", b, r1)
			return []string{r1, r3}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r1 := first(t)
			r2 := ok(t, "refresh of r1", a, r1)
			r3 := ok(t, "retry of r1 within grace", b, r1)
			for _, dead := range tc.misuse(t, r1, r2, r3) {
				refused(t, "a token of the family revoked by reuse", a, dead)
			}
		})
	}

	// Retries of one refresh token racing at both instances: at most one
	// is accepted besides the first exchange, and as the others are reuse,
	// the family is revoked.
	t.Run("Concurrent", func(t *testing.T) {
		r1 := first(t)
		r2 := ok(t, "refresh of r1", a, r1)
		const n = 20
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			statuses = map[int]int{}
			issued   []string
		)
		for i := range n {
			inst := []*instance{a, b}[i%2]
			wg.Go(func() {
				status, next := refresh(t, inst, r1)
				mu.Lock()
				defer mu.Unlock()
				statuses[status]++
				if next != "" {
					issued = append(issued, next)
				}
			})
		}
		wg.Wait()
		if statuses[http.StatusOK] > 1 || statuses[http.StatusOK]+statuses[http.StatusBadRequest] != n {
			t.Errorf("%d concurrent retries of r1: statuses %v, want at most one 200 and the rest 400", n, statuses)
		}
		for _, dead := range append(issued, r1, r2) {
			refused(t, fmt.Sprintf("a token of the family after %d retries", n), b, dead)
		}
	})
}
