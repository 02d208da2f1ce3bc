package postgres

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
)

// blackhole is a TCP proxy on 127.0.0.1 that can be partitioned: it then
// stops forwarding bytes, both ways, without closing or resetting anything,
// as a network that silently drops packets. What a side sends meanwhile
// (and its closing the connection) is held and delivered when the
// partition heals, as TCP retransmission would deliver it; a connection
// attempted meanwhile never reaches the database, and is closed when the
// partition heals.
type blackhole struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	up    chan struct{} // closed while the network is up
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// newBlackhole starts a proxy to the TCP address target.
func newBlackhole(t testing.TB, target string) *blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{ln: ln, target: target, up: make(chan struct{}), conns: make(map[net.Conn]bool)}
	close(b.up)
	b.wg.Go(b.serve)
	t.Cleanup(func() {
		b.heal()
		ln.Close()
		b.mu.Lock()
		for c := range b.conns {
			c.Close()
		}
		b.mu.Unlock()
		b.wg.Wait()
	})
	return b
}

// upChan returns a channel closed once the network is up.
func (b *blackhole) upChan() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.up
}

// partition stops the forwarding of bytes, until heal.
func (b *blackhole) partition() {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-b.up:
		b.up = make(chan struct{})
	default: // partitioned already
	}
}

// heal delivers what the partition held, and forwards bytes again.
func (b *blackhole) heal() {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-b.up:
	default:
		close(b.up)
	}
}

// track records connections, for the test's cleanup to close.
func (b *blackhole) track(cs ...net.Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range cs {
		b.conns[c] = true
	}
}

func (b *blackhole) serve() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.track(c)
		up := b.upChan()
		select {
		case <-up:
		default:
			// Attempted during the partition: it never gets through.
			b.wg.Go(func() { <-up; c.Close() })
			continue
		}
		s, err := net.Dial("tcp", b.target)
		if err != nil {
			c.Close()
			continue
		}
		b.track(s)
		b.wg.Go(func() { b.pipe(s, c) })
		b.wg.Go(func() { b.pipe(c, s) })
	}
}

// pipe copies src to dst, holding what it reads (and src's end) while the
// network is partitioned.
func (b *blackhole) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		<-b.upChan()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil { // its end, too, was held
			return
		}
	}
}

// newPartitionRig is newFaultRig with a blackhole instead of a proxy that
// resets connections, and a refresh grace period of a minute.
func newPartitionRig(t *testing.T, db *testDB) (*faultRig, *blackhole) {
	t.Helper()
	cfg := db.poolConfig(t)
	if strings.HasPrefix(cfg.ConnConfig.Host, "/") {
		t.Skip("the partition test needs a TCP address in " + envURL)
	}
	bh := newBlackhole(t, net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))))
	port := uint16(bh.ln.Addr().(*net.TCPAddr).Port)
	cfg.ConnConfig.Host, cfg.ConnConfig.Port = "127.0.0.1", port
	for _, fb := range cfg.ConnConfig.Fallbacks {
		fb.Host, fb.Port = "127.0.0.1", port
	}
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	// One connection, whose statements the setup prepares, so that the
	// batch held by the partition is the rotation itself.
	cfg.MaxConns = 1
	calls := &counter{}
	cfg.ConnConfig.Tracer = calls
	store := New(db.pool(t, cfg))
	if err := db.store(t).PutClient(t.Context(), testClient(t)); err != nil {
		t.Fatal(err)
	}
	inst := newInstance(t, store, func(c *oauthkit.Config) { c.RefreshTokenGracePeriod = time.Minute })
	return &faultRig{db: db, calls: calls, inst: inst, direct: db.conn(t)}, bh
}

// freshRefresh returns a refresh token obtained by a code exchange and one
// refresh, which prepares the rotation's statements on the connection, and
// its record.
func (r *faultRig) freshRefresh(t *testing.T) (string, *oauthkit.Token) {
	t.Helper()
	code, verifier := authorize(t, r.inst)
	w := serveToken(r.inst, tokenRequest(codeForm(code, verifier)))
	if w.Code != http.StatusOK {
		t.Fatalf("code exchange: %d %s", w.Code, w.Body)
	}
	w = serveToken(r.inst, tokenRequest(refreshForm(decodeToken(t, w).RefreshToken)))
	if w.Code != http.StatusOK {
		t.Fatalf("refresh: %d %s", w.Code, w.Body)
	}
	refresh := decodeToken(t, w).RefreshToken
	old, err := r.inst.store.Token(t.Context(), oauthkit.HashToken(refresh), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return refresh, old
}

// whenBlocked calls f, in a goroutine of its own, once the backend pid waits
// for a lock: the batch it runs has reached the database. The test waits
// for f at its end.
func (r *faultRig) whenBlocked(t *testing.T, pid uint32, f func()) {
	done := make(chan struct{})
	t.Cleanup(func() { <-done })
	conn := r.db.conn(t) // of this goroutine's own
	go func() {
		defer close(done)
		defer f()
		for start := time.Now(); time.Since(start) < 15*time.Second; time.Sleep(5 * time.Millisecond) {
			var ev string
			err := conn.QueryRow(context.Background(),
				`SELECT coalesce(wait_event_type, '') FROM pg_stat_activity WHERE pid = $1`, int32(pid)).Scan(&ev)
			if err == nil && ev == "Lock" {
				return
			}
		}
		t.Errorf("backend %d never waited for a lock", pid)
	}()
}

// rotated reports whether the refresh token id has been rotated, and counts
// the tokens issued in exchange for it.
func (r *faultRig) rotated(t *testing.T, id string) (bool, int) {
	t.Helper()
	var rotated bool
	if err := r.direct.QueryRow(t.Context(), "SELECT rotated_at IS NOT NULL FROM oauthkit_tokens WHERE id = $1", id).Scan(&rotated); err != nil {
		t.Fatal(err)
	}
	return rotated, r.db.count(t, r.direct, "oauthkit_tokens", "parent_id = $1", id)
}

// TestSilentPartition checks what a refresh does when the network between
// the server and the database silently drops packets (a partition, not a
// reset, which TestDatabaseGoesAway covers): the database does not notice
// that its client has gone, and what the client sent may reach it late.
// The request fails at its deadline with 503; whatever happens after,
// nothing commits after that deadline, so that a client told the refresh
// failed finds its refresh token unused. Only a transaction that committed
// before the deadline, and whose answer was lost, is left, and the client's
// retry within the grace period recovers from it.
func TestSilentPartition(t *testing.T) {
	t.Parallel() // mostly waiting
	db := newTestDB(t)
	r, bh := newPartitionRig(t, db)

	// refreshCut sends a refresh whose context ends after d and returns its
	// answer, with the backend pid its rotation was sent to (from the
	// hook), once the request has failed and the deadline has passed.
	// atSend runs just before the rotation's batch is written.
	refreshCut := func(t *testing.T, refresh string, d time.Duration, atSend func(pid uint32)) uint32 {
		t.Helper()
		pids := make(chan uint32, 1)
		r.onStatement(lockGrantOf, func(pid uint32) { pids <- pid; atSend(pid) })
		defer r.clearHook()
		ctx, cancel := context.WithTimeout(t.Context(), d)
		defer cancel()
		deadline, _ := ctx.Deadline()
		wantServerError(t, serveToken(r.inst, tokenRequest(refreshForm(refresh)).WithContext(ctx)))
		if time.Now().Before(deadline) {
			t.Fatalf("the refresh failed before its deadline")
		}
		return receive(t, pids)
	}
	// settle heals the partition and waits until the database has read
	// everything it held (the batch, then the client's goodbye) and ended
	// the session.
	settle := func(t *testing.T, pid uint32) {
		t.Helper()
		bh.heal()
		waitFor(t, "the database ends the session of the abandoned connection", func() bool { return r.gone(t, pid) })
	}
	wantUnused := func(t *testing.T, refresh string, old *oauthkit.Token) {
		t.Helper()
		if rotated, children := r.rotated(t, old.ID); rotated || children != 0 {
			t.Errorf("after the partition: refresh token rotated %v, %d tokens issued for it; want false, 0: the exchange committed after its deadline", rotated, children)
		}
		if w := serveToken(r.inst, tokenRequest(refreshForm(refresh))); w.Code != http.StatusOK {
			t.Errorf("refresh after the partition healed: %d %s, want 200", w.Code, w.Body)
		}
	}

	// The batch is sent into the partition, which holds it past the
	// deadline and then delivers it.
	t.Run("BatchDeliveredLate", func(t *testing.T) {
		refresh, old := r.freshRefresh(t)
		pid := refreshCut(t, refresh, timeout, func(uint32) { bh.partition() })
		settle(t, pid)
		wantUnused(t, refresh, old)
	})

	// The batch reaches the database and waits for the grant's lock; the
	// partition starts; the lock is released after the deadline.
	t.Run("LockReleasedLate", func(t *testing.T) {
		refresh, old := r.freshRefresh(t)
		blocker, err := db.conn(t).Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// After whenBlocked's goroutine, which its cleanup, registered later,
		// waits for.
		t.Cleanup(func() { blocker.Rollback(context.Background()) })
		if _, err := blocker.Exec(t.Context(), "SELECT pg_advisory_xact_lock("+grantLockClass+", hashtext($1::text))", old.GrantID); err != nil {
			t.Fatal(err)
		}
		pid := refreshCut(t, refresh, timeout, func(pid uint32) {
			r.whenBlocked(t, pid, bh.partition)
		})
		if err := blocker.Rollback(t.Context()); err != nil {
			t.Fatal(err)
		}
		settle(t, pid)
		wantUnused(t, refresh, old)
	})

	// The exchange commits before the deadline and its answer is lost:
	// the client, told the request failed, retries with the same refresh
	// token within the grace period and gets new tokens.
	t.Run("AnswerLost", func(t *testing.T) {
		refresh, old := r.freshRefresh(t)
		blocker, err := db.conn(t).Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// After whenBlocked's goroutine, which its cleanup, registered later,
		// waits for.
		t.Cleanup(func() { blocker.Rollback(context.Background()) })
		if _, err := blocker.Exec(t.Context(), "SELECT pg_advisory_xact_lock("+grantLockClass+", hashtext($1::text))", old.GrantID); err != nil {
			t.Fatal(err)
		}
		pid := refreshCut(t, refresh, 2*timeout, func(pid uint32) {
			r.whenBlocked(t, pid, func() {
				bh.partition()
				blocker.Rollback(context.Background()) // well before the deadline
			})
		})
		settle(t, pid)
		if rotated, children := r.rotated(t, old.ID); !rotated || children != 2 {
			t.Fatalf("refresh token rotated %v, %d tokens issued for it; want true, 2 (committed before the deadline)", rotated, children)
		}
		if w := serveToken(r.inst, tokenRequest(refreshForm(refresh))); w.Code != http.StatusOK {
			t.Errorf("retry of the refresh whose answer was lost: %d %s, want 200", w.Code, w.Body)
		}
	})

	// The rig catches a late commit: with the deadline check made a no-op
	// (as the store was before migration 0003), the batch delivered late
	// commits.
	t.Run("RigCatchesLateCommit", func(t *testing.T) {
		refresh, old := r.freshRefresh(t)
		if _, err := r.direct.Exec(t.Context(), `CREATE OR REPLACE FUNCTION oauthkit_deadline(deadline timestamptz, setting text DEFAULT 'lock_timeout')
			RETURNS text LANGUAGE sql AS $$SELECT ''::text$$`); err != nil {
			t.Fatal(err)
		}
		pid := refreshCut(t, refresh, timeout, func(uint32) { bh.partition() })
		settle(t, pid)
		if rotated, _ := r.rotated(t, old.ID); !rotated {
			t.Errorf("without the deadline check, the batch delivered late did not commit: the rig proves nothing")
		}
	})
}
