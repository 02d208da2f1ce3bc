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

// benchRig is a server on an instrumented store.
type benchRig struct {
	inst  *instance
	calls *counter
}

func newBenchRig(b *testing.B) *benchRig {
	b.Helper()
	db := newTestDB(b)
	c := &counter{}
	cfg := db.poolConfig(b)
	c.instrument(cfg)
	s := New(db.pool(b, cfg))
	if err := s.PutClient(b.Context(), testClient(b)); err != nil {
		b.Fatal(err)
	}
	return &benchRig{inst: newInstance(b, s, nil), calls: c}
}

// start resets the counts and the timer before the measured loop.
func (r *benchRig) start(b *testing.B) {
	b.ReportAllocs()
	r.calls.reset()
	b.ResetTimer()
}

// report adds the round trips and driver calls per request to the results.
func (r *benchRig) report(b *testing.B) {
	b.StopTimer()
	b.ReportMetric(float64(r.calls.writes.Load())/float64(b.N), "roundtrips/op")
	b.ReportMetric(float64(r.calls.calls.Load())/float64(b.N), "dbcalls/op")
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

// BenchmarkClientCredentials: the client lookup and one INSERT of the
// access token.
func BenchmarkClientCredentials(b *testing.B) {
	r := newBenchRig(b)
	form := clientCredentialsForm.Encode()
	r.serve(b, form) // prepare the statements
	r.start(b)
	for range b.N {
		r.serve(b, form)
	}
	r.report(b)
}

// BenchmarkCodeExchange: the client lookup, the code's single-use UPDATE,
// and one INSERT of the access and refresh tokens. The codes are stored
// before the timer starts.
func BenchmarkCodeExchange(b *testing.B) {
	r := newBenchRig(b)
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
	r.start(b)
	for i := range b.N {
		r.serve(b, forms[i])
	}
	r.report(b)
}

// BenchmarkRefreshRotation: the client lookup, the refresh token lookup,
// and one batch that locks the grant, rotates the token and inserts the
// new pair. Each request exchanges the refresh token the previous one
// returned.
func BenchmarkRefreshRotation(b *testing.B) {
	r := newBenchRig(b)
	code, verifier := authorizeInProcess(b, r.inst)
	refresh := field(r.serve(b, codeForm(code, verifier).Encode()), "refresh_token")
	refresh = field(r.serve(b, refreshForm(refresh).Encode()), "refresh_token") // prepare the statements
	r.start(b)
	for range b.N {
		refresh = field(r.serve(b, refreshForm(refresh).Encode()), "refresh_token")
	}
	r.report(b)
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
