package oauthkit

// Helpers shared by the internal (package oauthkit) tests: fake stores, a
// fixed clock, deterministic randomness, a captured log, golden files, and a
// test server wired with a set of clients that covers every registration the
// tests need.
//
// The fakes live here rather than in storage/memory because an internal test
// cannot import a package that imports oauthkit. Like the memory stores they
// implement the store contracts of store.go, including single-use codes and
// refresh token rotation with a grace period, and they can be told to fail.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit/pkce"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares got with the file testdata/golden/name, or rewrites the
// file when the -update flag is set.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", filepath.FromSlash(name))
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got; run go test -update if the change is intended):\n%s", path, diff)
	}
}

// goldenName turns a test case name into a file name.
func goldenName(caseName string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9', r == '-':
			return r
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		default:
			return '_'
		}
	}, caseName)
}

// faults makes a fake store method fail with a chosen error.
type faults struct {
	mu sync.Mutex
	m  map[string]error
}

// failOn makes every later call of method return err.
func (f *faults) failOn(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = make(map[string]error)
	}
	f.m[method] = err
}

func (f *faults) fault(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.m[method]
}

// fakeClients is a ClientStore over a fixed set of clients.
type fakeClients struct {
	faults
	clients map[string]*Client
}

func (s *fakeClients) Client(_ context.Context, id string) (*Client, error) {
	if err := s.fault("Client"); err != nil {
		return nil, err
	}
	c, ok := s.clients[id]
	if !ok {
		return nil, fmt.Errorf("client %q: %w", id, ErrNotFound)
	}
	return c, nil
}

// fakeCodes is a CodeStore in a map.
type fakeCodes struct {
	faults
	mu    sync.Mutex
	codes map[string]*fakeCode
}

type fakeCode struct {
	code     AuthorizationCode
	consumed bool
}

func (s *fakeCodes) CreateCode(_ context.Context, code *AuthorizationCode) error {
	if err := s.fault("CreateCode"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.codes == nil {
		s.codes = make(map[string]*fakeCode)
	}
	if _, ok := s.codes[code.ID]; ok {
		return fmt.Errorf("code: %w", ErrExists)
	}
	c := *code
	c.Scope = slices.Clone(code.Scope)
	s.codes[code.ID] = &fakeCode{code: c}
	return nil
}

func (s *fakeCodes) ConsumeCode(_ context.Context, id, clientID string, now time.Time) (*AuthorizationCode, error) {
	if err := s.fault("ConsumeCode"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.codes[id]
	if !ok || !now.Before(e.code.ExpiresAt) || e.code.ClientID != clientID {
		return nil, fmt.Errorf("code: %w", ErrNotFound)
	}
	c := e.code
	c.Scope = slices.Clone(c.Scope)
	if e.consumed {
		return &c, fmt.Errorf("code: %w", ErrReused)
	}
	e.consumed = true
	return &c, nil
}

// stored returns the stored code whose raw value is raw.
func (s *fakeCodes) stored(raw string) (AuthorizationCode, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.codes[HashToken(raw)]
	if !ok {
		return AuthorizationCode{}, false
	}
	return e.code, true
}

// fakeTokens is a TokenStore in a map. Revoked tokens are deleted.
type fakeTokens struct {
	faults
	mu     sync.Mutex
	tokens map[string]*Token
}

func (s *fakeTokens) CreateTokens(_ context.Context, tokens ...*Token) error {
	if err := s.fault("CreateTokens"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.create(tokens)
}

func (s *fakeTokens) create(tokens []*Token) error {
	for i, t := range tokens {
		if t.ID == "" || t.GrantID == "" || t.ExpiresAt.IsZero() {
			return errors.New("fake: token needs an ID, a grant ID and an expiry")
		}
		if _, ok := s.tokens[t.ID]; ok || slices.ContainsFunc(tokens[:i], func(u *Token) bool { return u.ID == t.ID }) {
			return fmt.Errorf("token: %w", ErrExists)
		}
	}
	if s.tokens == nil {
		s.tokens = make(map[string]*Token)
	}
	for _, t := range tokens {
		c := *t
		c.Scope, c.Audience, c.RotatedAt = slices.Clone(t.Scope), slices.Clone(t.Audience), time.Time{}
		s.tokens[c.ID] = &c
	}
	return nil
}

func (s *fakeTokens) Token(_ context.Context, id string, now time.Time) (*Token, error) {
	if err := s.fault("Token"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[id]
	if !ok || !now.Before(t.ExpiresAt) {
		return nil, fmt.Errorf("token: %w", ErrNotFound)
	}
	c := *t
	c.Scope, c.Audience = slices.Clone(t.Scope), slices.Clone(t.Audience)
	return &c, nil
}

func (s *fakeTokens) RotateRefreshToken(_ context.Context, id string, now time.Time, grace time.Duration, next ...*Token) error {
	if err := s.fault("RotateRefreshToken"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.tokens[id]
	if !ok || old.Kind != RefreshToken || !now.Before(old.ExpiresAt) {
		return fmt.Errorf("refresh token: %w", ErrNotFound)
	}
	switch {
	case old.RotatedAt.IsZero():
		if err := s.create(next); err != nil {
			return err
		}
		old.RotatedAt = now
		return nil
	case grace > 0 && now.Sub(old.RotatedAt) <= grace && s.successorUnused(id):
		for cid, c := range s.tokens {
			if c.ParentID == id {
				delete(s.tokens, cid)
			}
		}
		return s.create(next)
	default:
		s.revokeGrant(old.GrantID)
		return fmt.Errorf("refresh token: %w", ErrReused)
	}
}

func (s *fakeTokens) successorUnused(id string) bool {
	for _, c := range s.tokens {
		if c.ParentID == id && c.Kind == RefreshToken {
			return c.RotatedAt.IsZero()
		}
	}
	return false
}

func (s *fakeTokens) RevokeToken(_ context.Context, id string) error {
	if err := s.fault("RevokeToken"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, id)
	return nil
}

func (s *fakeTokens) RevokeGrant(_ context.Context, grantID string) error {
	if err := s.fault("RevokeGrant"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokeGrant(grantID)
	return nil
}

func (s *fakeTokens) revokeGrant(grantID string) {
	for id, t := range s.tokens {
		if t.GrantID == grantID {
			delete(s.tokens, id)
		}
	}
}

// stored returns the live token whose raw value is raw (opaque tokens only).
func (s *fakeTokens) stored(raw string) (Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[HashToken(raw)]
	if !ok {
		return Token{}, false
	}
	return *t, true
}

// kinds counts the stored tokens of each kind.
func (s *fakeTokens) kinds() map[TokenKind]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := make(map[TokenKind]int)
	for _, t := range s.tokens {
		n[t.Kind]++
	}
	return n
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

var testEpoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// seededRand is a deterministic, concurrency-safe io.Reader.
type seededRand struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

func newSeededRand() *seededRand {
	return &seededRand{r: rand.NewChaCha8([32]byte{'o', 'a', 'u', 't', 'h', 'k', 'i', 't'})}
}

func (s *seededRand) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Read(p)
}

// failingReader is a broken source of randomness.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy pool on fire") }

// logBuffer collects log output; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Test clients. Secrets of confidential clients are long enough for
// HashSecret, so that verifying them costs nothing.
const (
	testIssuer = "https://auth.example.com"

	webSecret  = "web-secret-0123456789abcdefghijklmnopqrstuv"
	postSecret = "post-secret-0123456789abcdefghijklmnopqrstu"
	svcSecret  = "svc-secret-0123456789abcdefghijklmnopqrstuvw"

	webRedirect    = "https://app.example.com/cb"
	spaRedirect    = "https://spa.example.com/cb"
	tenantRedirect = "https://tenant.example.com/cb?tenant=a"

	// testVerifier and testChallenge are a PKCE pair (RFC 7636 Appendix B).
	testVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	testChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

// testClientSet returns the registered clients:
//
//   - web: confidential, client_secret_basic, code and refresh;
//   - post: confidential, client_secret_post, code and refresh;
//   - spa: public, code and refresh;
//   - native: public, loopback redirect URIs (RFC 8252 §7.3);
//   - localhost: public, an http://localhost redirect URI;
//   - tenant: public, a redirect URI with a query;
//   - multi: public, two redirect URIs;
//   - implicit: public, implicit and refresh, no code;
//   - svc: confidential, only the test resource grant, no redirect URI.
func testClientSet(t testing.TB) []*Client {
	t.Helper()
	hash := func(secret string) string {
		h, err := HashSecret(secret)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	codeRefresh := []string{GrantTypeAuthorizationCode, GrantTypeRefreshToken}
	scopes := []string{"read", "write", "admin"}
	return []*Client{
		{ID: "web", SecretHash: hash(webSecret), RedirectURIs: []string{webRedirect}, GrantTypes: codeRefresh, Scopes: scopes, DefaultScopes: []string{"read"}},
		{ID: "post", SecretHash: hash(postSecret), AuthMethod: AuthMethodSecretPost, RedirectURIs: []string{"https://post.example.com/cb"}, GrantTypes: codeRefresh, Scopes: scopes},
		{ID: "spa", RedirectURIs: []string{spaRedirect}, GrantTypes: codeRefresh, Scopes: scopes},
		{ID: "native", RedirectURIs: []string{"http://127.0.0.1/cb", "http://[::1]:8080/cb"}, GrantTypes: codeRefresh, Scopes: scopes},
		{ID: "localhost", RedirectURIs: []string{"http://localhost:8080/cb"}, GrantTypes: codeRefresh, Scopes: scopes},
		{ID: "tenant", RedirectURIs: []string{tenantRedirect}, GrantTypes: codeRefresh, Scopes: scopes},
		{ID: "multi", RedirectURIs: []string{"https://multi.example.com/a", "https://multi.example.com/b"}, GrantTypes: codeRefresh, Scopes: scopes},
		{ID: "implicit", RedirectURIs: []string{"https://implicit.example.com/cb"}, GrantTypes: []string{GrantTypeImplicit, GrantTypeRefreshToken}, Scopes: scopes},
		{ID: "svc", SecretHash: hash(svcSecret), GrantTypes: []string{resourceGrantType}, Scopes: scopes},
	}
}

// resourceGrantType is an extension grant whose "resource" parameter may
// repeat (RFC 8707).
const resourceGrantType = "urn:example:grant:resource"

// resourceGrant grants the client itself the requested scope for the
// requested resources.
type resourceGrant struct{}

func (resourceGrant) GrantType() string              { return resourceGrantType }
func (resourceGrant) RepeatableParameters() []string { return []string{"resource"} }

func (resourceGrant) HandleGrant(_ context.Context, req *TokenRequest) (*Grant, error) {
	scope, err := req.Scope()
	if err != nil {
		return nil, err
	}
	return &Grant{Subject: req.Client.ID, Scope: scope, Audience: req.Form["resource"]}, nil
}

// approveAll is the default test Authorizer: alice approves everything.
var approveAll = AuthorizerFunc(func(http.ResponseWriter, *http.Request, *AuthorizeRequest) (*Consent, error) {
	return &Consent{Subject: "alice", AuthTime: testEpoch}, nil
})

// testEnv is a Server over fakes, with handles on everything it uses.
type testEnv struct {
	srv     *Server
	clients *fakeClients
	codes   *fakeCodes
	tokens  *fakeTokens
	clock   *fakeClock
	logs    *logBuffer
}

// newTestEnv returns a server with the test clients, a fixed clock,
// deterministic randomness and a captured log. configure, if not nil, may
// change the Config before New.
func newTestEnv(t testing.TB, configure func(*Config)) *testEnv {
	t.Helper()
	e := &testEnv{
		clients: &fakeClients{clients: make(map[string]*Client)},
		codes:   &fakeCodes{},
		tokens:  &fakeTokens{},
		clock:   &fakeClock{now: testEpoch},
		logs:    &logBuffer{},
	}
	for _, c := range testClientSet(t) {
		e.clients.clients[c.ID] = c
	}
	cfg := Config{
		Issuer:     testIssuer,
		Resources:  []string{"https://a.example", "https://b.example"},
		Clients:    e.clients,
		Codes:      e.codes,
		Tokens:     e.tokens,
		Authorizer: approveAll,
		Grants:     []GrantHandler{resourceGrant{}},
		Now:        e.clock.Now,
		Rand:       newSeededRand(),
		Logger:     slog.New(slog.NewTextHandler(e.logs, nil)),
	}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.srv = srv
	return e
}

// authorizeGet sends params to the authorization endpoint as a GET.
func (e *testEnv) authorizeGet(params url.Values) *httptest.ResponseRecorder {
	return e.authorizeRaw(http.MethodGet, params.Encode())
}

// authorizeRaw sends a raw query (GET) or form body (POST).
func (e *testEnv) authorizeRaw(method, raw string) *httptest.ResponseRecorder {
	var r *http.Request
	if method == http.MethodPost {
		r = httptest.NewRequest(method, "/authorize", strings.NewReader(raw))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, "/authorize", nil)
		r.URL.RawQuery = raw
	}
	w := httptest.NewRecorder()
	e.srv.AuthorizeHandler().ServeHTTP(w, r)
	return w
}

// codeRequest returns the parameters of a valid code request by client
// with PKCE (testChallenge), changed by extra: an empty value in extra
// removes the parameter.
func codeRequest(client string, extra url.Values) url.Values {
	return changed(url.Values{
		"client_id":             {client},
		"response_type":         {ResponseTypeCode},
		"state":                 {"xyz"},
		"code_challenge":        {testChallenge},
		"code_challenge_method": {pkce.S256},
	}, extra)
}

// changed returns base with the parameters of extra set; a single empty
// value in extra removes the parameter.
func changed(base, extra url.Values) url.Values {
	v := url.Values{}
	for k, vs := range base {
		v[k] = slices.Clone(vs)
	}
	for k, vs := range extra {
		if len(vs) == 1 && vs[0] == "" {
			delete(v, k)
		} else {
			v[k] = slices.Clone(vs)
		}
	}
	return v
}

// authorizeCode runs a successful authorization request and returns the
// code from the redirect.
func (e *testEnv) authorizeCode(t testing.TB, client string, extra url.Values) string {
	t.Helper()
	w := e.authorizeGet(codeRequest(client, extra))
	res := readAuthorizeResponse(t, w)
	code := res.params.Get("code")
	if code == "" {
		t.Fatalf("authorization request by %s failed: status %d, params %v, body %q", client, w.Code, res.params, w.Body.String())
	}
	return code
}

// authorizeResult is what an authorization response carried, and where.
type authorizeResult struct {
	// to is the URI the response was sent to, without the query and
	// fragment; empty if the response was not sent to the client.
	to string
	// mode is where the parameters were: query, fragment or form_post.
	mode string
	// params are the response parameters (for query mode, the whole query,
	// which includes a registered query).
	params url.Values
	// query is the query of the redirect in fragment mode, or the form's
	// action in form_post mode.
	query string
}

var (
	formActionRE = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	hiddenRE     = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// readAuthorizeResponse finds where an authorization response went.
func readAuthorizeResponse(t testing.TB, w *httptest.ResponseRecorder) authorizeResult {
	t.Helper()
	if loc := w.Header().Get("Location"); loc != "" {
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("unparsable Location %q: %v", loc, err)
		}
		res := authorizeResult{mode: ResponseModeQuery}
		if strings.Contains(loc, "#") {
			res.mode = ResponseModeFragment
			res.query = u.RawQuery
			if res.params, err = url.ParseQuery(u.Fragment); err != nil {
				t.Fatalf("unparsable fragment in %q: %v", loc, err)
			}
		} else if res.params, err = url.ParseQuery(u.RawQuery); err != nil {
			t.Fatalf("unparsable query in %q: %v", loc, err)
		}
		u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
		res.to = u.String()
		return res
	}
	body := w.Body.String()
	if m := formActionRE.FindStringSubmatch(body); m != nil && strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		action, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatalf("unparsable form action %q: %v", m[1], err)
		}
		res := authorizeResult{mode: ResponseModeFormPost, params: url.Values{}, query: action.RawQuery}
		for _, in := range hiddenRE.FindAllStringSubmatch(body, -1) {
			res.params.Add(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
		}
		action.RawQuery = ""
		res.to = action.String()
		return res
	}
	return authorizeResult{}
}

// tokenPost returns a token request with form as its body.
func tokenPost(form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// withBasic adds HTTP Basic client credentials, form-encoded as RFC 6749
// §2.3.1 requires.
func withBasic(r *http.Request, id, secret string) *http.Request {
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return r
}

// asClient returns a token request authenticated the way each test client
// is registered to: Basic for web and svc, client_secret_post for post,
// client_id alone for public clients.
func asClient(client string, form url.Values) *http.Request {
	f := url.Values{}
	for k, vs := range form {
		f[k] = slices.Clone(vs)
	}
	switch client {
	case "web":
		return withBasic(tokenPost(f), "web", webSecret)
	case "svc":
		return withBasic(tokenPost(f), "svc", svcSecret)
	case "post":
		f.Set("client_id", "post")
		f.Set("client_secret", postSecret)
	default:
		f.Set("client_id", client)
	}
	return tokenPost(f)
}

// token serves a token request.
func (e *testEnv) token(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.srv.TokenHandler().ServeHTTP(w, r)
	return w
}

// redeem exchanges a code issued with codeRequest(client, nil) and returns
// the token response, failing the test on error.
func (e *testEnv) redeem(t testing.TB, client, code string) TokenResponse {
	t.Helper()
	return e.mustToken(t, asClient(client, url.Values{
		"grant_type":    {GrantTypeAuthorizationCode},
		"code":          {code},
		"code_verifier": {testVerifier},
	}))
}

// refresh exchanges a refresh token, failing the test on error.
func (e *testEnv) refresh(t testing.TB, client, refreshToken string) TokenResponse {
	t.Helper()
	return e.mustToken(t, asClient(client, url.Values{
		"grant_type":    {GrantTypeRefreshToken},
		"refresh_token": {refreshToken},
	}))
}

func (e *testEnv) mustToken(t testing.TB, r *http.Request) TokenResponse {
	t.Helper()
	w := e.token(r)
	if w.Code != http.StatusOK {
		t.Fatalf("token request failed: %d %s", w.Code, w.Body)
	}
	var resp TokenResponse
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatalf("token response %q: %v", w.Body, err)
	}
	return resp
}
