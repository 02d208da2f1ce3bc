package postgres

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
)

// TestRevocationsLockGrantsInOneOrder checks that RevokeClientTokens and
// RevokeSubject, which each lock many grants, take the locks in one order
// (that of lockGrants), so that they never wait for each other's second
// lock: a deadlock would fail one of them after deadlock_timeout.
//
// Grants ga and gb sort ga before gb by name and after it by hash. A
// blocker holds ga's lock; RevokeSubject queues for it first, then
// RevokeClientTokens. When the blocker lets go, RevokeSubject has ga and
// asks for gb: had RevokeClientTokens locked by hash, it would hold gb and
// wait for ga.
func TestRevocationsLockGrantsInOneOrder(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	direct := db.conn(t)
	ctx := t.Context()

	var ga, gb string
	for {
		base := "g-" + strings.ToLower(rand.Text()) + "-"
		ga, gb = base+"a", base+"b"
		var swapped bool
		if err := direct.QueryRow(ctx, "SELECT hashtext($1) > hashtext($2)", ga, gb).Scan(&swapped); err != nil {
			t.Fatal(err)
		}
		if swapped {
			break
		}
	}
	now := time.Now()
	for _, g := range []string{ga, gb} {
		tok := &oauthkit.Token{ID: "t-" + g, Kind: oauthkit.AccessToken, GrantID: g, ClientID: "c", Subject: "alice",
			IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateTokens(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}

	// waiting returns how many sessions wait for ga's lock.
	waiting := func() int {
		var n int
		if err := direct.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND classid::bigint = `+grantLockClass+` AND objid::bigint = (hashtext($1)::bigint + 4294967296) % 4294967296`,
			ga).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	blocker, err := direct.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback(context.Background())
	if _, err := blocker.Exec(ctx, "SELECT pg_advisory_xact_lock("+grantLockClass+", hashtext($1::text))", ga); err != nil {
		t.Fatal(err)
	}
	subjectDone, clientDone := make(chan error, 1), make(chan error, 1)
	go func() { subjectDone <- s.RevokeSubject(ctx, "alice") }()
	waitFor(t, "RevokeSubject waits for ga", func() bool { return waiting() == 1 })
	go func() { clientDone <- s.RevokeClientTokens(ctx, "c") }()
	waitFor(t, "RevokeClientTokens waits for ga", func() bool { return waiting() == 2 })
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := receive(t, subjectDone); err != nil {
		t.Errorf("RevokeSubject: %v", err)
	}
	if err := receive(t, clientDone); err != nil {
		t.Errorf("RevokeClientTokens: %v", err)
	}
	if n := db.count(t, direct, "oauthkit_tokens", "grant_id IN ($1, $2)", ga, gb); n != 0 {
		t.Errorf("%d tokens of the grants left, want none", n)
	}
}
