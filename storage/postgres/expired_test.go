package postgres

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/oauthkit/oauthkit"
)

func TestDeleteExpired(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	past, future := now.Add(-time.Minute), now.Add(time.Hour)
	codes := []struct {
		id      string
		expires time.Time
		consume bool
	}{
		{"code-expired", past, false},
		{"code-expired-used", past, true},
		{"code-live", future, false},
		{"code-live-used", future, true}, // kept to detect its reuse
	}
	for _, c := range codes {
		if err := s.CreateCode(ctx, &oauthkit.AuthorizationCode{ID: c.id, GrantID: "g", ClientID: "app", ExpiresAt: c.expires}); err != nil {
			t.Fatal(err)
		}
		if c.consume {
			if _, err := s.ConsumeCode(ctx, c.id, "app", past.Add(-time.Second)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tok := func(id string, kind oauthkit.TokenKind, expires time.Time) *oauthkit.Token {
		return &oauthkit.Token{ID: id, Kind: kind, GrantID: "g-" + id, IssuedAt: past.Add(-time.Hour), ExpiresAt: expires}
	}
	if err := s.CreateTokens(ctx,
		tok("access-expired", oauthkit.AccessToken, past),
		tok("refresh-expired", oauthkit.RefreshToken, past),
		tok("access-live", oauthkit.AccessToken, future),
		tok("refresh-live-rotated", oauthkit.RefreshToken, future), // kept to detect its reuse
	); err != nil {
		t.Fatal(err)
	}
	if err := s.RotateRefreshToken(ctx, "refresh-live-rotated", past, 0); err != nil {
		t.Fatal(err)
	}
	// A grant revoked now is remembered; one revoked long ago is not.
	if err := s.RevokeGrant(ctx, "grant-revoked-now"); err != nil {
		t.Fatal(err)
	}
	db.exec(t, `INSERT INTO `+db.schema+`.oauthkit_revoked_grants VALUES ('grant-revoked-long-ago', now() - interval '1 hour', now() - interval '50 minutes')`)
	for id, expires := range map[string]time.Time{"par-expired": past, "par-live": future} {
		if err := s.CreatePushedRequest(ctx, &oauthkit.PushedRequest{ID: id, ClientID: "app", ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
	}
	// More expired rows than one DELETE removes.
	db.exec(t, fmt.Sprintf(`INSERT INTO %s.oauthkit_tokens (id, kind, grant_id, client_id, subject, expires_at, acr)
		SELECT 'bulk-' || i, 'access_token', 'bulk', '', '', now() - interval '1 minute', ''
		FROM generate_series(1, %d) AS i`, db.schema, 2*deleteBatch+10))

	// Two instances cleaning at once share the work.
	other := db.store(t)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, st := range []*Store{s, other} {
		wg.Go(func() { errs[i] = st.DeleteExpired(ctx, now) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("DeleteExpired #%d: %v", i, err)
		}
	}
	conn := db.conn(t)
	left := func(table string) []string {
		key := "id"
		if table == "oauthkit_revoked_grants" {
			key = "grant_id"
		}
		rows, _ := conn.Query(ctx, "SELECT "+key+" FROM "+table+" ORDER BY 1")
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if d := cmp.Diff([]string{"code-live", "code-live-used"}, left("oauthkit_codes")); d != "" {
		t.Errorf("codes left (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"access-live", "refresh-live-rotated"}, left("oauthkit_tokens")); d != "" {
		t.Errorf("tokens left (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"grant-revoked-now"}, left("oauthkit_revoked_grants")); d != "" {
		t.Errorf("revoked grants left (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"par-live"}, left("oauthkit_pushed_requests")); d != "" {
		t.Errorf("pushed requests left (-want +got):\n%s", d)
	}
	// What is left still behaves: the used code is a reuse, the rotated
	// token a reuse.
	if _, err := s.ConsumeCode(ctx, "code-live-used", "app", now); !errors.Is(err, oauthkit.ErrReused) {
		t.Errorf("ConsumeCode of the used code after DeleteExpired: error = %v, want ErrReused", err)
	}
	late := &oauthkit.Token{ID: "late", Kind: oauthkit.AccessToken, GrantID: "grant-revoked-now", ExpiresAt: future}
	if err := s.CreateTokens(ctx, late); !errors.Is(err, oauthkit.ErrReused) {
		t.Errorf("CreateTokens in the grant revoked now, after DeleteExpired: error = %v, want ErrReused", err)
	}
	if err := s.DeleteExpired(ctx, now); err != nil {
		t.Errorf("DeleteExpired with nothing to delete: %v", err)
	}
}
