package postgres

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/oauthkit/oauthkit"
	"golang.org/x/oauth2"
)

// The benchmarks send token requests through the token handler in process
// (an httptest request and recorder built in the loop) to a store on the
// real database, and report the database round trips per request besides
// time and allocations. Run them with:
//
//	OAUTHKIT_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//		go test -run '^$' -bench . -benchtime 2000x -benchmem
//
// Before each request, untimed, each runs the baseline: one INSERT of a row
// the size of a token's, committed (one round trip, one commit), through a
// pool of its own set up as the store's, without oauthkit, its HTTP
// handling or its statements: the floor under any request that stores a
// token. The requests' time is also reported as a ratio to the baseline's
// (x-baseline), both summed over the run: as they alternate, a change of
// the shared machine's speed hits both alike.

// benchRig is a server on an instrumented store, and the baseline.
type benchRig struct {
	inst  *instance
	calls *counter

	base     *pgxpool.Pool
	baseIDs  []string
	baseTime time.Duration
	reqTime  time.Duration
}

// newBenchRig returns a rig whose store caches clients if cacheClients.
func newBenchRig(b *testing.B, cacheClients bool) *benchRig {
	b.Helper()
	db := newTestDB(b)
	c := &counter{}
	cfg := db.poolConfig(b)
	c.instrument(cfg)
	s := New(db.pool(b, cfg))
	if cacheClients {
		s.CacheClients(ClientCache{MaxStaleness: time.Hour})
	}
	if err := s.PutClient(b.Context(), testClient(b)); err != nil {
		b.Fatal(err)
	}
	db.exec(b, `CREATE TABLE `+db.schema+`.bench_baseline (id text PRIMARY KEY, grant_id text NOT NULL,
		subject text NOT NULL, scope text[], expires_at timestamptz NOT NULL)`)
	r := &benchRig{inst: newInstance(b, s, nil), calls: c, base: db.pool(b, db.poolConfig(b))}
	r.baseIDs = make([]string, b.N+1)
	for i := range r.baseIDs {
		r.baseIDs[i] = oauthkit.HashToken(rand.Text())
	}
	r.baseline(b, b.N) // prepare the statement
	return r
}

// baseline runs the baseline's INSERT, with the i-th ID.
func (r *benchRig) baseline(b *testing.B, i int) {
	if _, err := r.base.Exec(b.Context(), `INSERT INTO bench_baseline VALUES ($1, $2, $3, $4, $5)`,
		r.baseIDs[i], r.baseIDs[i], "alice", []string{"read"}, time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
}

// run runs request b.N times, each after the baseline, untimed, and reports
// the round trips and driver calls per request and the ratio of the time of
// the requests to the time of the baselines.
func (r *benchRig) run(b *testing.B, request func(i int)) {
	b.ReportAllocs()
	r.calls.reset()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		t0 := time.Now()
		r.baseline(b, i)
		t1 := time.Now()
		b.StartTimer()
		request(i)
		r.baseTime += t1.Sub(t0)
		r.reqTime += time.Since(t1)
	}
	b.StopTimer()
	b.ReportMetric(float64(r.calls.writes.Load())/float64(b.N), "roundtrips/op")
	b.ReportMetric(float64(r.calls.calls.Load())/float64(b.N), "dbcalls/op")
	b.ReportMetric(float64(r.baseTime.Nanoseconds())/float64(b.N), "baseline-ns/op")
	b.ReportMetric(float64(r.reqTime)/float64(r.baseTime), "x-baseline")
}

// serve sends one token request and returns the body, failing on an error.
func (r *benchRig) serve(b *testing.B, form string) string {
	w := serveToken(r.inst, encodedTokenRequest(form))
	if w.Code != http.StatusOK {
		b.Fatalf("token request: %d %s", w.Code, w.Body)
	}
	return w.Body.String()
}

// field extracts a string member of a JSON token response.
func field(body, name string) string {
	_, rest, ok := strings.Cut(body, `"`+name+`":"`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// clientCaches runs bench as two sub-benchmarks: the store without its
// client cache (the default), then with it (Store.CacheClients), warm.
func clientCaches(b *testing.B, bench func(b *testing.B, r *benchRig)) {
	b.Run("uncached", func(b *testing.B) { bench(b, newBenchRig(b, false)) })
	b.Run("cached", func(b *testing.B) { bench(b, newBenchRig(b, true)) })
}

// BenchmarkClientCredentials: the client lookup (unless cached) and one
// INSERT of the access token.
func BenchmarkClientCredentials(b *testing.B) { clientCaches(b, benchClientCredentials) }

func benchClientCredentials(b *testing.B, r *benchRig) {
	form := clientCredentialsForm.Encode()
	r.serve(b, form) // prepare the statements, cache the client
	r.run(b, func(int) { r.serve(b, form) })
}

// BenchmarkCodeExchange: the client lookup (unless cached), then
// RedeemCode: the code's single-use UPDATE in a transaction, and the INSERT
// of the access and refresh tokens with the commit. The codes are stored
// before the timer starts.
func BenchmarkCodeExchange(b *testing.B) { clientCaches(b, benchCodeExchange) }

func benchCodeExchange(b *testing.B, r *benchRig) {
	verifier := oauth2.GenerateVerifier()
	challenge := oauth2.S256ChallengeFromVerifier(verifier)
	forms := make([]string, b.N+1)
	for i := range forms {
		raw := rand.Text() + strconv.Itoa(i)
		err := r.inst.store.CreateCode(b.Context(), &oauthkit.AuthorizationCode{
			ID: oauthkit.HashToken(raw), GrantID: rand.Text(), ClientID: testClientID,
			RedirectURI: testRedirectURI, RedirectURIParam: true, Subject: "alice", Scope: []string{"read"},
			CodeChallenge: challenge, CodeChallengeMethod: "S256", ExpiresAt: time.Now().Add(oauthkit.MaxCodeLifetime),
		})
		if err != nil {
			b.Fatal(err)
		}
		forms[i] = codeForm(raw, verifier).Encode()
	}
	r.serve(b, forms[b.N]) // prepare the statements
	r.run(b, func(i int) { r.serve(b, forms[i]) })
}

// BenchmarkRefreshRotation: the client lookup (unless cached), the refresh
// token lookup, and one batch that locks the grant, rotates the token and
// inserts the new pair. Each request exchanges the refresh token the
// previous one returned.
func BenchmarkRefreshRotation(b *testing.B) { clientCaches(b, benchRefreshRotation) }

func benchRefreshRotation(b *testing.B, r *benchRig) {
	code, verifier := authorizeInProcess(b, r.inst)
	refresh := field(r.serve(b, codeForm(code, verifier).Encode()), "refresh_token")
	refresh = field(r.serve(b, refreshForm(refresh).Encode()), "refresh_token") // prepare the statements
	r.run(b, func(int) { refresh = field(r.serve(b, refreshForm(refresh).Encode()), "refresh_token") })
}

// authorizeInProcess is authorize without an HTTP server.
func authorizeInProcess(b *testing.B, inst *instance) (code, verifier string) {
	b.Helper()
	verifier = oauth2.GenerateVerifier()
	u := oauth2Config(&instance{}, &instance{}).AuthCodeURL("st", oauth2.S256ChallengeOption(verifier))
	w := httptest.NewRecorder()
	inst.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, u, nil))
	loc, err := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
		b.Fatalf("authorization response %d, Location %q", w.Code, w.Header().Get("Location"))
	}
	return loc.Query().Get("code"), verifier
}

// BenchmarkPollDevice: one PollDeviceAuthorization of a pending device
// authorization (the device's token request while the user has not yet
// decided, answered authorization_pending), after the baseline, untimed:
// one UPDATE that locks the row, records the poll and returns the row as
// it was. Each poll comes one interval after the one before, so that it is
// not slowed down.
func BenchmarkPollDevice(b *testing.B) {
	r := newBenchRig(b, false)
	s := r.inst.store
	ctx := b.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	const interval = 5 * time.Second
	d := &oauthkit.DeviceAuthorization{ID: oauthkit.HashToken(rand.Text()), UserCodeID: oauthkit.HashToken(rand.Text()),
		ClientID: testClientID, Scope: []string{"read"}, ExpiresAt: now.Add(time.Duration(b.N+2) * interval),
		Interval: interval}
	if err := s.CreateDeviceAuthorization(ctx, d); err != nil {
		b.Fatal(err)
	}
	poll := func(i int) {
		a, err := s.PollDeviceAuthorization(ctx, d.ID, d.ClientID, now.Add(time.Duration(i)*interval))
		if err != nil || a.Status != oauthkit.DevicePending || a.Interval != interval {
			b.Fatalf("PollDeviceAuthorization = %+v, %v; want it pending, not slowed down", a, err)
		}
	}
	poll(0) // prepare the statements
	r.run(b, func(i int) { poll(i + 1) })
}
