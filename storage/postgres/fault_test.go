package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/oauthkit/oauthkit"
	"golang.org/x/oauth2"
)

// proxy is a TCP proxy between a pool and PostgreSQL that the test can cut:
// the database going away, as far as the pool can tell.
type proxy struct {
	ln      net.Listener
	network string
	target  string

	mu     sync.Mutex
	refuse bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

// newProxy starts a proxy to the database of cfg's host and port.
func newProxy(t testing.TB, network, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, network: network, target: target, conns: make(map[net.Conn]bool)}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.refuse
		p.mu.Unlock()
		if refuse {
			reset(c)
			continue
		}
		s, err := net.Dial(p.network, p.target)
		if err != nil {
			reset(c)
			continue
		}
		p.mu.Lock()
		if p.refuse {
			p.mu.Unlock()
			reset(c)
			reset(s)
			continue
		}
		p.conns[c], p.conns[s] = true, true
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(c, s) })
		p.wg.Go(func() { p.pipe(s, c) })
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	io.Copy(dst, src)
	reset(dst)
	reset(src)
}

// cut drops every connection, abruptly, and refuses new ones until restore.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = true
	for c := range p.conns {
		reset(c)
	}
	clear(p.conns)
}

// restore lets connections through again.
func (p *proxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = false
}

// reset closes c with a TCP reset, as a crashed peer would.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// faultRig is a server whose store reaches the database through a proxy,
// with a hook on the statements the store sends, and a direct connection to
// check the rows.
type faultRig struct {
	db     *testDB
	proxy  *proxy
	calls  *counter
	inst   *instance
	direct *pgx.Conn
}

func newFaultRig(t *testing.T) *faultRig {
	t.Helper()
	db := newTestDB(t)
	cfg := db.poolConfig(t)
	network, target := "tcp", net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port)))
	if strings.HasPrefix(cfg.ConnConfig.Host, "/") {
		network, target = "unix", cfg.ConnConfig.Host+"/.s.PGSQL."+strconv.Itoa(int(cfg.ConnConfig.Port))
	}
	px := newProxy(t, network, target)
	port := uint16(px.ln.Addr().(*net.TCPAddr).Port)
	cfg.ConnConfig.Host, cfg.ConnConfig.Port = "127.0.0.1", port
	for _, fb := range cfg.ConnConfig.Fallbacks {
		fb.Host, fb.Port = "127.0.0.1", port
	}
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	// One connection, so that a statement prepared by an earlier request is
	// prepared for the next, and the statement cut is the one sent.
	cfg.MaxConns = 1
	calls := &counter{}
	cfg.ConnConfig.Tracer = calls
	store := New(db.pool(t, cfg))
	if err := db.store(t).PutClient(t.Context(), testClient(t)); err != nil {
		t.Fatal(err)
	}
	return &faultRig{db: db, proxy: px, calls: calls, inst: newInstance(t, store, nil), direct: db.conn(t)}
}

// onStatement calls f(pid) before the store sends a statement (or batch)
// containing sql, once; f runs in the request's goroutine.
func (r *faultRig) onStatement(sql string, f func(pid uint32)) {
	var once sync.Once
	hook := func(conn *pgx.Conn, sent string) {
		if strings.Contains(sent, sql) {
			once.Do(func() { f(conn.PgConn().PID()) })
		}
	}
	r.calls.onCall.Store(&hook)
}

func (r *faultRig) clearHook() { r.calls.onCall.Store(nil) }

// tokens counts the token rows, read directly.
func (r *faultRig) tokens(t *testing.T) int {
	return r.db.count(t, r.direct, "oauthkit_tokens", "true")
}

// waitFor polls cond until it holds, failing the test after a while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// receive returns the next value of ch, failing the test if none comes.
func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(15 * time.Second):
		t.Fatal("timed out waiting for the store's statement")
		panic("unreachable")
	}
}

// waitEvent returns the wait event type of the backend pid, "gone" if the
// backend has exited.
func (r *faultRig) waitEvent(t *testing.T, pid uint32) string {
	var ev string
	err := r.direct.QueryRow(t.Context(), `SELECT coalesce(wait_event_type, '') FROM pg_stat_activity WHERE pid = $1`, int32(pid)).Scan(&ev)
	if errors.Is(err, pgx.ErrNoRows) {
		return "gone"
	}
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// wantServerError checks a token endpoint answer to a database fault: 503
// with Retry-After, and nothing but server_error, with no detail
// (RFC 6749 §5.2).
func wantServerError(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code != http.StatusServiceUnavailable || strings.TrimSpace(w.Body.String()) != `{"error":"server_error"}` {
		t.Errorf("token endpoint with the database gone: %d %s, want 503 {\"error\":\"server_error\"}", w.Code, w.Body)
	}
	if got := w.Header().Get("Retry-After"); got == "" {
		t.Errorf("no Retry-After with the 503 (RFC 9110 §10.2.3)")
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
}

// wantRecovered checks that the same store serves the token endpoint again.
func (r *faultRig) wantRecovered(t *testing.T) {
	t.Helper()
	before := r.tokens(t)
	if w := serveToken(r.inst, tokenRequest(clientCredentialsForm)); w.Code != http.StatusOK {
		t.Fatalf("token endpoint after the database came back: %d %s, want 200", w.Code, w.Body)
	}
	if n := r.tokens(t); n != before+1 {
		t.Errorf("after a token was issued: %d token rows, want %d", n, before+1)
	}
}

func TestDatabaseGoesAway(t *testing.T) {
	t.Parallel() // mostly waiting for the server
	r := newFaultRig(t)
	r.wantRecovered(t) // prepares the INSERT on the pool's connection

	t.Run("TokenEndpointRefused", func(t *testing.T) {
		before := r.tokens(t)
		r.proxy.cut()
		defer r.proxy.restore()
		wantServerError(t, serveToken(r.inst, tokenRequest(clientCredentialsForm)))
		wantServerError(t, serveToken(r.inst, tokenRequest(clientCredentialsForm))) // on a new connection, refused
		if n := r.tokens(t); n != before {
			t.Errorf("%d token rows, want %d: no token may be stored", n, before)
		}
		r.proxy.restore()
		r.wantRecovered(t)
	})

	t.Run("TokenEndpointCutBeforeInsert", func(t *testing.T) {
		before := r.tokens(t)
		r.onStatement("INSERT INTO oauthkit_tokens", func(uint32) { r.proxy.cut() })
		defer r.clearHook()
		defer r.proxy.restore()
		wantServerError(t, serveToken(r.inst, tokenRequest(clientCredentialsForm)))
		if n := r.tokens(t); n != before {
			t.Errorf("%d token rows, want %d: no token may be stored", n, before)
		}
		r.clearHook()
		r.proxy.restore()
		r.wantRecovered(t)
	})

	// The INSERT reaches the server and waits there for a lock; the
	// connection is cut while it waits. The server must notice and roll
	// back rather than store a token that no one received.
	t.Run("TokenEndpointCutInFlight", func(t *testing.T) {
		before := r.tokens(t)
		blocker, err := r.db.conn(t).Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer blocker.Rollback(context.Background())
		if _, err := blocker.Exec(t.Context(), "LOCK TABLE oauthkit_tokens IN SHARE MODE"); err != nil {
			t.Fatal(err)
		}
		pids := make(chan uint32, 1)
		r.onStatement("INSERT INTO oauthkit_tokens", func(pid uint32) { pids <- pid })
		defer r.clearHook()
		done := make(chan *httptest.ResponseRecorder)
		go func() { done <- serveToken(r.inst, tokenRequest(clientCredentialsForm)) }()
		defer r.proxy.restore()
		pid := receive(t, pids)
		waitFor(t, "the INSERT waits for its lock", func() bool { return r.blockedOn(t, pid) })
		r.proxy.cut()
		wantServerError(t, receive(t, done))
		waitFor(t, "the server ends the session of the cut connection", func() bool { return r.gone(t, pid) })
		if err := blocker.Rollback(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := r.tokens(t); n != before {
			t.Errorf("%d token rows, want %d: no token may be stored", n, before)
		}
		r.clearHook()
		r.proxy.restore()
		r.wantRecovered(t)
	})

	// A refresh token exchange is cut while its batch waits in the server
	// for the grant's lock: nothing may be rotated, and the refresh token
	// must still work once the database is back.
	t.Run("RefreshCutInFlight", func(t *testing.T) {
		code, verifier := authorize(t, r.inst)
		w := serveToken(r.inst, tokenRequest(codeForm(code, verifier)))
		if w.Code != http.StatusOK {
			t.Fatalf("code exchange: %d %s", w.Code, w.Body)
		}
		refresh := decodeToken(t, w).RefreshToken
		old, err := r.inst.store.Token(t.Context(), oauthkit.HashToken(refresh), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		before := r.tokens(t)
		blocker, err := r.db.conn(t).Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer blocker.Rollback(context.Background())
		if _, err := blocker.Exec(t.Context(), "SELECT pg_advisory_xact_lock("+grantLockClass+", hashtext($1::text))", old.GrantID); err != nil {
			t.Fatal(err)
		}
		pids := make(chan uint32, 1)
		r.onStatement(lockGrantOf, func(pid uint32) { pids <- pid })
		defer r.clearHook()
		done := make(chan *httptest.ResponseRecorder)
		go func() { done <- serveToken(r.inst, tokenRequest(refreshForm(refresh))) }()
		defer r.proxy.restore()
		pid := receive(t, pids)
		waitFor(t, "the rotation waits for the grant's lock", func() bool { return r.blockedOn(t, pid) })
		r.proxy.cut()
		wantServerError(t, receive(t, done))
		waitFor(t, "the server ends the session of the cut connection", func() bool { return r.gone(t, pid) })
		if err := blocker.Rollback(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := r.tokens(t); n != before {
			t.Errorf("%d token rows, want %d: no token may be stored", n, before)
		}
		var rotated bool
		if err := r.direct.QueryRow(t.Context(), "SELECT rotated_at IS NOT NULL FROM oauthkit_tokens WHERE id = $1", old.ID).Scan(&rotated); err != nil || rotated {
			t.Errorf("refresh token rotated = %v (error %v), want false: the cut exchange must leave no trace", rotated, err)
		}
		r.clearHook()
		r.proxy.restore()
		if w := serveToken(r.inst, tokenRequest(refreshForm(refresh))); w.Code != http.StatusOK {
			t.Errorf("refresh after the database came back: %d %s, want 200", w.Code, w.Body)
		}
	})

	// Without its client store the authorization endpoint cannot check
	// the redirect URI, so it must not redirect: it answers 503
	// temporarily_unavailable itself (RFC 6749 §4.1.2.1).
	t.Run("AuthorizeRefused", func(t *testing.T) {
		r.proxy.cut()
		defer r.proxy.restore()
		w := httptest.NewRecorder()
		r.inst.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, authorizeURL(), nil))
		if w.Code != http.StatusServiceUnavailable || !strings.HasPrefix(w.Body.String(), "temporarily_unavailable") || w.Header().Get("Location") != "" {
			t.Errorf("authorization endpoint with the database gone: %d %q, Location %q; want 503 temporarily_unavailable, no redirect",
				w.Code, w.Body, w.Header().Get("Location"))
		}
		t.Run("RetryAfter", func(t *testing.T) {
			if got := w.Header().Get("Retry-After"); got != "5" {
				t.Errorf("Retry-After = %q, want 5 (RFC 9110 §10.2.3)", got)
			}
		})
	})

	// The client is found, then the database goes away before the code is
	// stored: the error is redirected to the client as
	// temporarily_unavailable, and no code exists.
	t.Run("AuthorizeCutBeforeCreateCode", func(t *testing.T) {
		before := r.db.count(t, r.direct, "oauthkit_codes", "true")
		r.onStatement("INSERT INTO oauthkit_codes", func(uint32) { r.proxy.cut() })
		defer r.clearHook()
		defer r.proxy.restore()
		w := httptest.NewRecorder()
		r.inst.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, authorizeURL(), nil))
		loc, err := url.Parse(w.Header().Get("Location"))
		if w.Code != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), testRedirectURI+"?") {
			t.Fatalf("authorization endpoint: %d, Location %q; want 302 to %s", w.Code, w.Header().Get("Location"), testRedirectURI)
		}
		want := url.Values{"error": {"temporarily_unavailable"}, "state": {"st"}, "iss": {testIssuer}}
		if got := loc.Query(); got.Encode() != want.Encode() {
			t.Errorf("redirected parameters %v, want %v", got, want)
		}
		if n := r.db.count(t, r.direct, "oauthkit_codes", "true"); n != before {
			t.Errorf("%d code rows, want %d: no code may be stored", n, before)
		}
		r.clearHook()
		r.proxy.restore()
		code, verifier := authorize(t, r.inst)
		if w := serveToken(r.inst, tokenRequest(codeForm(code, verifier))); w.Code != http.StatusOK {
			t.Errorf("code exchange after the database came back: %d %s", w.Code, w.Body)
		}
	})
}

// authorizeURL is an authorization request of the test client, for
// in-process requests.
func authorizeURL() string {
	return oauth2Config(&instance{}, &instance{}).AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
}

// blockedOn reports whether the backend pid waits for a lock.
func (r *faultRig) blockedOn(t *testing.T, pid uint32) bool { return r.waitEvent(t, pid) == "Lock" }

// gone reports whether the backend pid has exited.
func (r *faultRig) gone(t *testing.T, pid uint32) bool { return r.waitEvent(t, pid) == "gone" }

func decodeToken(t *testing.T, w *httptest.ResponseRecorder) tokenResponse {
	t.Helper()
	var tr tokenResponse
	if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil {
		t.Fatalf("token response %q: %v", w.Body, err)
	}
	return tr
}
