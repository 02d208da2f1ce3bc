package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oauthkit/oauthkit"
)

// envPostgres names the environment variable with the test database's URL,
// as for package storage/postgres; CI sets it to
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const envPostgres = "OAUTHKIT_POSTGRES_URL"

// postgresSchema creates a schema with a random name in the test database,
// dropped when the test ends, and returns the database URL with its
// search_path set to it: runs never see each other's rows. It skips the
// test when envPostgres is not set.
func postgresSchema(t *testing.T) (dbURL, schema string) {
	t.Helper()
	base := os.Getenv(envPostgres)
	if base == "" {
		t.Skipf("%s is not set, so the -store postgres tests are skipped; to run them: %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go test ./examples/...", envPostgres, envPostgres)
	}
	schema = "oauthkit_example_" + strings.ToLower(rand.Text())
	exec := func(sql string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatalf("connecting to %s: %v", envPostgres, err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("CREATE SCHEMA " + schema)
	t.Cleanup(func() { exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", envPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), schema
}

// countRows counts the rows of table in schema.
func countRows(t *testing.T, dbURL, table string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("counting %s: %v", table, err)
	}
	return n
}

// The server runs on PostgreSQL with the same config file as in memory:
// it migrates a fresh schema, stores the config's clients, and keeps codes
// and tokens across a restart, which also updates the clients.
func TestRunWithPostgres(t *testing.T) {
	dbURL, _ := postgresSchema(t)
	// A password in the URL (ignored by a trust-auth server) must never be
	// shown.
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := u.User.Password(); !ok {
		u.User = url.UserPassword(u.User.Username(), "hunter2")
	}
	withPassword := u.String()

	dir := t.TempDir()
	configFile := func(svcSecret string) string {
		path := filepath.Join(dir, svcSecret+".json")
		cfg := `{"clients": [
			{"id": "svc", "secret": "` + svcSecret + `", "grant_types": ["client_credentials"], "scopes": ["read", "write"]},
			{"id": "web", "secret": "s3cret", "redirect_uris": ["http://127.0.0.1:9999/cb"],
			 "grant_types": ["authorization_code", "refresh_token"], "scopes": ["openid", "profile", "read"]}
		], "users": [{"username": "alice", "password": "wonderland", "name": "Alice Liddell"}]}`
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	// The same file runs in memory first.
	startRun(t, "-addr", "127.0.0.1:0", "-config", configFile("first-secret"))

	banner, stop := startStoppableRun(t, "-addr", "127.0.0.1:0", "-config", configFile("first-secret"), "-store", withPassword)
	if strings.Contains(banner, "hunter2") {
		t.Errorf("the banner shows the database password:\n%s", banner)
	}
	if want := "\nStore: PostgreSQL at " + u.Redacted() + "\n"; !strings.Contains(banner, want) {
		t.Errorf("the banner does not say %q:\n%s", strings.TrimSpace(want), banner)
	}
	issuer := bannerURL(t, banner, "issuer")
	if got := countRows(t, dbURL, "oauthkit_clients"); got != 2 {
		t.Errorf("%d clients stored, want the config's 2", got)
	}

	// Tokens of every kind, through the printed commands.
	tokenLine := bannerLine(t, banner, "Try it (client_credentials for svc)")
	var cc struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(doCurl(t, tokenLine), &cc); err != nil || cc.AccessToken == "" {
		t.Fatalf("client_credentials with the printed command: %v", err)
	}
	ua := newAgent(t, http.DefaultClient, issuer)
	loc := ua.authorize(bannerLine(t, banner, "open this in a browser"), actionApprove)
	exchange := strings.Replace(bannerLine(t, banner, "take the code from the address"), codePlaceholder, loc.Query().Get("code"), 1)
	var code struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		IDToken      string `json:"id_token"`
	}
	if err := json.Unmarshal(doCurl(t, exchange), &code); err != nil || code.AccessToken == "" || code.RefreshToken == "" || code.IDToken == "" {
		t.Fatalf("code exchange with the printed command: %+v, %v", code, err)
	}
	if got := countRows(t, dbURL, "oauthkit_tokens"); got < 3 {
		t.Errorf("%d tokens stored in PostgreSQL, want at least 3", got)
	}
	me := func(tok string) apiResponse {
		t.Helper()
		return callAPI(t, &testServer{issuer: issuer}, http.MethodGet, pathAPIMe, "Bearer "+tok)
	}
	if got := me(code.AccessToken); got.status != http.StatusOK || !strings.Contains(got.body, `"sub":"alice"`) {
		t.Errorf("GET /api/me: %+v", got)
	}
	stop()

	// A restart on the same database, with svc's secret changed.
	banner = startRun(t, "-addr", "127.0.0.1:0", "-config", configFile("second-secret"), "-store", dbURL)
	issuer = bannerURL(t, banner, "issuer")
	if got := countRows(t, dbURL, "oauthkit_clients"); got != 2 {
		t.Errorf("after the restart, %d clients stored, want 2", got)
	}
	tests := []struct {
		name       string
		auth       string
		wantStatus int
		wantBody   string
	}{
		{name: "opaque token of the first run", auth: cc.AccessToken, wantStatus: 200, wantBody: `{"sub":"svc","client_id":"svc","scope":"read write"}` + "\n"},
		{name: "user token of the first run", auth: code.AccessToken, wantStatus: 200, wantBody: `{"sub":"alice","client_id":"web","scope":"openid profile read","user":"alice"}` + "\n"},
		{name: "the ID token", auth: code.IDToken, wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := me(tt.auth)
			if got.status != tt.wantStatus || tt.wantBody != "" && got.body != tt.wantBody {
				t.Errorf("GET /api/me: %d %s, want %d %s", got.status, got.body, tt.wantStatus, tt.wantBody)
			}
		})
	}

	t.Run("clients updated from the config", func(t *testing.T) {
		for _, tt := range []struct {
			secret string
			want   int
		}{{"first-secret", http.StatusUnauthorized}, {"second-secret", http.StatusOK}} {
			req, err := http.NewRequest(http.MethodPost, issuer+pathToken, strings.NewReader("grant_type=client_credentials&scope=read"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("svc", tt.secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("client_credentials with %s: status %d, want %d", tt.secret, resp.StatusCode, tt.want)
			}
		}
	})

	t.Run("refresh and revoke across the restart", func(t *testing.T) {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {code.RefreshToken}}
		req, err := http.NewRequest(http.MethodPost, issuer+pathToken, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("web", "s3cret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var fresh struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&fresh); err != nil || resp.StatusCode != http.StatusOK || fresh.AccessToken == "" {
			t.Fatalf("refresh: status %d, %v", resp.StatusCode, err)
		}
		ts := &testServer{issuer: issuer}
		revoke(t, ts, "svc", "second-secret", cc.AccessToken)
		if got := me(cc.AccessToken); got.status != http.StatusUnauthorized {
			t.Errorf("after revocation, GET /api/me: status %d, want 401", got.status)
		}
	})
}

// bannerURL returns the URL of the banner line named name.
func bannerURL(t *testing.T, banner, name string) string {
	t.Helper()
	for _, m := range urlLineRE.FindAllStringSubmatch(banner, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	t.Fatalf("no %s line in the banner:\n%s", name, banner)
	return ""
}

// The PostgreSQL stores as openStores makes them: migrated, with
// DeleteExpired wired, described without the password.
func TestOpenStoresPostgres(t *testing.T) {
	dbURL, _ := postgresSchema(t)
	st, err := openStores(t.Context(), dbURL)
	if err != nil {
		t.Fatalf("openStores: %v", err)
	}
	defer st.close()
	if st.deleteExpired == nil {
		t.Fatalf("no DeleteExpired for PostgreSQL")
	}
	c := &oauthkit.Client{ID: "x", AuthMethod: oauthkit.AuthMethodNone, RedirectURIs: []string{"https://x.example/cb"},
		GrantTypes: []string{oauthkit.GrantTypeAuthorizationCode}}
	if err := st.putClient(t.Context(), c); err != nil {
		t.Fatalf("putClient: %v", err)
	}
	if got, err := st.clients.Client(t.Context(), "x"); err != nil || got.ID != "x" {
		t.Errorf("Client(x) = %+v, %v", got, err)
	}
	now := time.Now()
	if err := st.tokens.CreateTokens(t.Context(), &oauthkit.Token{ID: "old", Kind: oauthkit.AccessToken, GrantID: "g", ClientID: "x",
		Subject: "s", IssuedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.deleteExpired(t.Context(), time.Now()); err != nil {
		t.Errorf("deleteExpired: %v", err)
	}
	if got := countRows(t, dbURL, "oauthkit_tokens"); got != 0 {
		t.Errorf("%d tokens left after deleteExpired, want 0", got)
	}
}

// sweep calls DeleteExpired on schedule, logs its failures, and stops with
// its context.
func TestSweep(t *testing.T) {
	var (
		mu    sync.Mutex
		calls int
		logs  bytes.Buffer
	)
	ctx, cancel := context.WithCancel(t.Context())
	tick := make(chan struct{}, 16)
	var badNow []time.Time
	deleteExpired := func(_ context.Context, now time.Time) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if d := time.Since(now); d < 0 || d > time.Minute {
			badNow = append(badNow, now)
		}
		select {
		case tick <- struct{}{}:
		default:
		}
		if calls == 2 {
			return errors.New("database down")
		}
		return nil
	}
	logger := slog.New(slog.NewTextHandler(&syncWriter{mu: &mu, w: &logs}, nil))
	done := make(chan struct{})
	go func() {
		sweep(ctx, time.Millisecond, deleteExpired, logger)
		close(done)
	}()
	for range 3 {
		select {
		case <-tick:
		case <-time.After(10 * time.Second):
			t.Fatal("sweep did not call deleteExpired three times")
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("sweep did not stop with its context")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(badNow) > 0 {
		t.Errorf("deleteExpired called with now %v, want the time of the tick", badNow)
	}
	if n := strings.Count(logs.String(), `msg="deleting expired codes and tokens" error="database down"`); n != 1 {
		t.Errorf("the failure was logged %d times, want once:\n%s", n, logs.String())
	}
}

// syncWriter writes to w under mu.
type syncWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	// The logger writes from inside deleteExpired's caller, after
	// deleteExpired has released mu.
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// The memory store as openStores makes it: one value for clients, codes
// and tokens (so that codes are redeemed in one step), swept like
// PostgreSQL.
func TestMemoryStores(t *testing.T) {
	st, err := openStores(t.Context(), "memory")
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	if st.deleteExpired == nil || !strings.HasPrefix(st.desc, "memory") {
		t.Errorf("memory stores: desc %q, deleteExpired set %v; want memory, and DeleteExpired", st.desc, st.deleteExpired != nil)
	}
	if _, ok := st.codes.(oauthkit.CodeRedeemer); !ok || any(st.codes) != any(st.tokens) {
		t.Errorf("the memory codes and tokens are not one CodeRedeemer: codes %T, tokens %T", st.codes, st.tokens)
	}
	c := &oauthkit.Client{ID: "x", AuthMethod: oauthkit.AuthMethodNone}
	if err := st.putClient(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if got, err := st.clients.Client(t.Context(), "x"); err != nil || got.ID != "x" {
		t.Errorf("Client(x) = %+v, %v", got, err)
	}
	now := time.Now()
	old := &oauthkit.Token{ID: "old", Kind: oauthkit.AccessToken, GrantID: "g", ClientID: "x",
		Subject: "s", IssuedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}
	if err := st.tokens.CreateTokens(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	// Looked up at a time before it expired, the token is found while
	// it is stored.
	before := now.Add(-90 * time.Minute)
	if _, err := st.tokens.Token(t.Context(), "old", before); err != nil {
		t.Fatalf("Token(old) before the sweep: %v", err)
	}
	if err := st.deleteExpired(t.Context(), now); err != nil {
		t.Errorf("deleteExpired: %v", err)
	}
	if _, err := st.tokens.Token(t.Context(), "old", before); !errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("Token(old) after the sweep: %v, want ErrNotFound", err)
	}
}

// A database where the schema cannot be created is refused at start, with
// the URL's password hidden.
func TestOpenStoresMigrationFails(t *testing.T) {
	dbURL, _ := postgresSchema(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", "no_such_schema_"+strings.ToLower(rand.Text()))
	u.RawQuery = q.Encode()
	u.User = url.UserPassword(u.User.Username(), "hunter2")
	st, err := openStores(t.Context(), u.String())
	if err == nil {
		st.close()
		t.Fatal("openStores succeeded on a search_path with no schema")
	}
	if want := "-store: migrating " + u.Redacted() + ": "; !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("openStores error = %v, want prefix %q and no password", err, want)
	}
}

// sqlStateError is an error the database server sent, as pgconn.PgError.
type sqlStateError struct{ msg, state string }

func (e *sqlStateError) Error() string    { return e.msg }
func (e *sqlStateError) SQLState() string { return e.state }

// openError says why the database could not be opened in one message, with
// what to check, whatever the driver's chain of prefixes.
func TestOpenError(t *testing.T) {
	const where = "postgres://u:xxxxx@db.example:5432/x"
	wrapped := func(err error) error {
		return fmt.Errorf("postgres: open: %w", fmt.Errorf("failed to connect: %w", err))
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{
			name: "refused",
			err:  wrapped(&net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}),
			want: "-store: cannot connect to PostgreSQL at " + where + ": connection refused: nothing listens at 127.0.0.1:1; check that the PostgreSQL server is running and accepts TCP connections there, and that the host and port of the -store URL are right",
		},
		{
			name: "unknown host",
			err:  wrapped(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "db.example", IsNotFound: true}}),
			want: "-store: cannot connect to PostgreSQL at " + where + `: the host "db.example" is not known; check the host name in the -store URL`,
		},
		{
			name: "refused by the server",
			err:  wrapped(&sqlStateError{msg: `FATAL: password authentication failed for user "u" (SQLSTATE 28P01)`, state: "28P01"}),
			want: "-store: cannot connect to PostgreSQL at " + where + `: the database server refused: FATAL: password authentication failed for user "u" (SQLSTATE 28P01); check the user, password and database name in the -store URL`,
		},
		{
			name: "no answer in time",
			err:  wrapped(context.DeadlineExceeded),
			want: "-store: cannot connect to PostgreSQL at " + where + ": no answer within 30s; check that the PostgreSQL server is running and reachable, and the -store URL",
		},
		{
			name: "anything else",
			err:  errors.New("postgres: open: something new"),
			want: "-store: cannot open the PostgreSQL database " + where + ": postgres: open: something new",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := openError(where, tt.err)
			if err.Error() != tt.want {
				t.Errorf("openError:\n got %s\nwant %s", err, tt.want)
			}
			if !errors.Is(err, errors.Unwrap(tt.err)) && !errors.Is(err, tt.err) {
				t.Errorf("openError does not wrap the driver's error")
			}
		})
	}
}
