package bearer_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit/bearer"
)

// The resource server's credentials hold characters that RFC 6749 §2.3.1
// form-encoding must escape before Basic encoding.
const (
	rsClientID = "rs:1 ü"
	rsSecret   = "p@ss w+rd/%&=:"
)

// introspector is a fake RFC 7662 endpoint. It checks the client's
// authentication and request shape, answers from a map of token to JSON
// response, and counts calls.
type introspector struct {
	mu        sync.Mutex
	responses map[string]string // token → response body
	status    int               // if set, the status of every response
	problems  []string          // requests that broke RFC 7662 or RFC 6749
	calls     atomic.Int32
	gate      chan struct{} // if set, each call waits for a value from it
}

func (s *introspector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	if s.gate != nil {
		<-s.gate
	}
	if problem := checkIntrospectionRequest(r); problem != "" {
		s.mu.Lock()
		s.problems = append(s.problems, problem)
		s.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status != 0 {
		w.WriteHeader(s.status)
		return
	}
	body, ok := s.responses[r.PostForm.Get("token")]
	if !ok {
		body = `{"active":false}`
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(body))
}

// checkIntrospectionRequest returns what is wrong with an introspection
// request, or "".
func checkIntrospectionRequest(r *http.Request) string {
	const basic = "Basic "
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, basic) {
		return "no Basic authentication"
	}
	raw, err := base64.StdEncoding.DecodeString(auth[len(basic):])
	if err != nil {
		return "bad base64 in Basic authentication"
	}
	user, pass, _ := strings.Cut(string(raw), ":")
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	switch {
	case err1 != nil || err2 != nil || id != rsClientID || secret != rsSecret:
		return fmt.Sprintf("wrong credentials %q", raw)
	case r.Method != http.MethodPost:
		return "method " + r.Method
	case r.Header.Get("Content-Type") != "application/x-www-form-urlencoded":
		return "content type " + r.Header.Get("Content-Type")
	case r.ParseForm() != nil:
		return "unparsable form"
	case r.URL.RawQuery != "":
		return "parameters in the query"
	case len(r.PostForm["token"]) != 1 || r.PostForm.Get("token") == "":
		return "no token parameter"
	case r.PostForm.Get("token_type_hint") != "access_token":
		return "token_type_hint " + r.PostForm.Get("token_type_hint")
	}
	return ""
}

// activeResponse returns an RFC 7662 response for an active token, edited
// by edit.
func activeResponse(edit func(m map[string]any)) string {
	m := map[string]any{
		"active":     true,
		"scope":      "read write",
		"client_id":  "web",
		"username":   "alice@example.com",
		"token_type": "Bearer",
		"exp":        t0.Add(time.Hour).Unix(),
		"iat":        t0.Unix(),
		"sub":        "alice",
		"aud":        []string{testAudience},
		"iss":        testIssuer,
		"jti":        "j1",
	}
	if edit != nil {
		edit(m)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func newIntrospection(t *testing.T, url string, edit func(c *bearer.IntrospectionConfig)) *bearer.Introspection {
	t.Helper()
	cfg := bearer.IntrospectionConfig{
		URL: url, ClientID: rsClientID, ClientSecret: rsSecret,
		Issuer: testIssuer, Audience: testAudience, Logger: discard,
	}
	if edit != nil {
		edit(&cfg)
	}
	v, err := bearer.NewIntrospection(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// errFault stands for an error that is neither ErrInvalidToken nor
// ErrUnavailable: an internal fault.
var errFault = errors.New("fault")

func checkKind(t *testing.T, err, want error) {
	t.Helper()
	if want != errFault {
		checkErr(t, err, want)
		return
	}
	if err == nil || errors.Is(err, bearer.ErrInvalidToken) || errors.Is(err, bearer.ErrUnavailable) {
		t.Fatalf("error %v, want an internal fault", err)
	}
}

func TestIntrospection(t *testing.T) {
	fake := &introspector{responses: map[string]string{
		"active": activeResponse(func(m map[string]any) {
			m["auth_time"] = t0.Add(-time.Minute).Unix()
			m["acr"] = "2"
		}),
		"minimal":       `{"active":true,"aud":"` + testAudience + `","iss":"` + testIssuer + `"}`,
		"client-own":    `{"active":true,"aud":"` + testAudience + `","iss":"` + testIssuer + `","sub":"svc","client_id":"svc"}`,
		"no-sub":        `{"active":true,"aud":"` + testAudience + `","iss":"` + testIssuer + `","client_id":"svc"}`,
		"bearer-lower":  activeResponse(func(m map[string]any) { m["token_type"] = "bearer" }),
		"inactive":      `{"active":false}`,
		"no-active":     `{"scope":"read"}`,
		"active-string": activeResponse(func(m map[string]any) { m["active"] = "true" }),
		"active-1":      activeResponse(func(m map[string]any) { m["active"] = 1 }),
		"expired":       activeResponse(func(m map[string]any) { m["exp"] = t0.Unix() }),
		"dpop":          activeResponse(func(m map[string]any) { m["token_type"] = "DPoP" }),
		"refresh":       activeResponse(func(m map[string]any) { m["token_type"] = "refresh_token" }),
		"dpop-bound":    `{"active":true,"aud":"` + testAudience + `","iss":"` + testIssuer + `","token_type":"DPoP","cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}`,
		"cnf": activeResponse(func(m map[string]any) {
			m["cnf"] = map[string]string{"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}
		}),
		"wrong-aud": activeResponse(func(m map[string]any) { m["aud"] = "https://other.example.com" }),
		"no-aud":    activeResponse(func(m map[string]any) { delete(m, "aud") }),
		"wrong-iss": activeResponse(func(m map[string]any) { m["iss"] = "https://evil.example.com" }),
		"no-iss":    activeResponse(func(m map[string]any) { delete(m, "iss") }),
		"bad-exp":   activeResponse(func(m map[string]any) { m["exp"] = "soon" }),
		"not-json":  `<html>oops</html>`,
		"array":     `[{"active":true}]`,
		"too-big":   `{"active":true,"pad":"` + strings.Repeat("x", 1<<20) + `"}`,
	}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	v := newIntrospection(t, srv.URL, func(c *bearer.IntrospectionConfig) { c.Now = newClock().Now; c.CacheTTL = -1 })

	tests := []struct {
		token     string
		want      *bearer.Claims
		wantErr   error
		wantCalls int32
	}{
		{
			token: "active",
			want: &bearer.Claims{
				Subject: "alice", ClientID: "web", Scope: []string{"read", "write"},
				Audience: []string{testAudience}, Issuer: testIssuer,
				ExpiresAt: t0.Add(time.Hour), IssuedAt: t0, AuthTime: t0.Add(-time.Minute), ACR: "2", ID: "j1",
				Extra: map[string]json.RawMessage{
					"username":   json.RawMessage(`"alice@example.com"`),
					"token_type": json.RawMessage(`"Bearer"`),
				},
			},
			wantCalls: 1,
		},
		{token: "minimal", want: &bearer.Claims{Audience: []string{testAudience}, Issuer: testIssuer}, wantCalls: 1},
		{token: "client-own", want: &bearer.Claims{Subject: "svc", SubjectIsClient: true, ClientID: "svc", Audience: []string{testAudience}, Issuer: testIssuer}, wantCalls: 1},
		{token: "no-sub", want: &bearer.Claims{ClientID: "svc", Audience: []string{testAudience}, Issuer: testIssuer}, wantCalls: 1},
		{token: "bearer-lower", want: &bearer.Claims{
			Subject: "alice", ClientID: "web", Scope: []string{"read", "write"}, Audience: []string{testAudience}, Issuer: testIssuer,
			ExpiresAt: t0.Add(time.Hour), IssuedAt: t0, ID: "j1",
			Extra: map[string]json.RawMessage{"username": json.RawMessage(`"alice@example.com"`), "token_type": json.RawMessage(`"bearer"`)},
		}, wantCalls: 1},
		{token: "inactive", wantErr: bearer.ErrInvalidToken, wantCalls: 1},
		{token: "unknown", wantErr: bearer.ErrInvalidToken, wantCalls: 1},
		{token: "no-active", wantErr: bearer.ErrInvalidToken, wantCalls: 1},
		{token: "active-string", wantErr: bearer.ErrInvalidToken, wantCalls: 1},
		{token: "active-1", wantErr: bearer.ErrInvalidToken, wantCalls: 1},
		{token: "expired", wantErr: bearer.ErrInvalidToken, wantCalls: 1},
		{token: "dpop", wantErr: bearer.ErrInvalidToken, wantCalls: 1}, // token_type DPoP without cnf.jkt
		{token: "dpop-bound", want: &bearer.Claims{
			Audience: []string{testAudience}, Issuer: testIssuer, JKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
			Extra: map[string]json.RawMessage{"token_type": json.RawMessage(`"DPoP"`)},
		}, wantCalls: 1},
		{token: "refresh", wantErr: bearer.ErrInvalidToken, wantCalls: 1},
		{token: "cnf", wantErr: bearer.ErrInvalidToken, wantCalls: 1},
		{token: "wrong-aud", wantErr: bearer.ErrInvalidToken, wantCalls: 1},
		{token: "no-aud", wantErr: bearer.ErrInvalidToken, wantCalls: 1},
		{token: "wrong-iss", wantErr: bearer.ErrInvalidToken, wantCalls: 1},
		{token: "no-iss", wantErr: bearer.ErrInvalidToken, wantCalls: 1},
		{token: "bad-exp", wantErr: errFault, wantCalls: 1},
		{token: "not-json", wantErr: errFault, wantCalls: 1},
		{token: "array", wantErr: errFault, wantCalls: 1},
		{token: "too-big", wantErr: errFault, wantCalls: 1},
		{token: "", wantErr: bearer.ErrInvalidToken, wantCalls: 0},
		{token: strings.Repeat("x", 20000), wantErr: bearer.ErrInvalidToken, wantCalls: 0},
	}
	for _, tt := range tests {
		t.Run(tt.token[:min(len(tt.token), 20)], func(t *testing.T) {
			before := fake.calls.Load()
			got, err := v.Validate(context.Background(), tt.token)
			checkKind(t, err, tt.wantErr)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
			if n := fake.calls.Load() - before; n != tt.wantCalls {
				t.Errorf("%d introspection calls, want %d", n, tt.wantCalls)
			}
		})
	}
	if len(fake.problems) > 0 {
		t.Errorf("malformed introspection requests: %q", fake.problems)
	}
}

// Without Issuer and Audience, the response's iss and aud are not checked:
// the authorization server vouches for them.
func TestIntrospectionNoIssuerAudience(t *testing.T) {
	fake := &introspector{responses: map[string]string{"other": activeResponse(func(m map[string]any) {
		m["aud"] = "https://other.example.com"
		delete(m, "iss")
	})}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	v := newIntrospection(t, srv.URL, func(c *bearer.IntrospectionConfig) {
		c.Issuer, c.Audience, c.Now = "", "", newClock().Now
	})
	if _, err := v.Validate(context.Background(), "other"); err != nil {
		t.Fatal(err)
	}
}

// Endpoint failures: server errors and network failures are ErrUnavailable
// (503); a refusal of the resource server's credentials is a fault (500),
// since retrying will not help.
func TestIntrospectionEndpointFailure(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		wantErr error
	}{
		{name: "500", status: http.StatusInternalServerError, wantErr: bearer.ErrUnavailable},
		{name: "503", status: http.StatusServiceUnavailable, wantErr: bearer.ErrUnavailable},
		{name: "401", status: http.StatusUnauthorized, wantErr: errFault},
		{name: "403", status: http.StatusForbidden, wantErr: errFault},
		{name: "400", status: http.StatusBadRequest, wantErr: errFault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &introspector{status: tt.status}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			v := newIntrospection(t, srv.URL, nil)
			_, err := v.Validate(context.Background(), "zq9-secret-token")
			checkKind(t, err, tt.wantErr)
			if strings.Contains(err.Error(), "zq9-secret-token") {
				t.Errorf("error %q contains the token", err)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		v := newIntrospection(t, srv.URL, nil)
		_, err := v.Validate(context.Background(), "tok")
		checkKind(t, err, bearer.ErrUnavailable)
	})
	t.Run("wrong credentials", func(t *testing.T) {
		fake := &introspector{responses: map[string]string{"tok": activeResponse(nil)}}
		srv := httptest.NewServer(fake)
		defer srv.Close()
		v := newIntrospection(t, srv.URL, func(c *bearer.IntrospectionConfig) { c.ClientSecret = "wrong" })
		_, err := v.Validate(context.Background(), "tok")
		checkKind(t, err, errFault)
	})
}

// Active answers are cached for CacheTTL, never beyond the token's exp;
// inactive answers for NegativeCacheTTL; the cache hands out copies.
func TestIntrospectionCache(t *testing.T) {
	fake := &introspector{responses: map[string]string{
		"long": activeResponse(nil),
		// Used from t0+30s: it expires 10 s later, before the TTL.
		"short":    activeResponse(func(m map[string]any) { m["exp"] = t0.Add(40 * time.Second).Unix() }),
		"inactive": `{"active":false}`,
	}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	clk := newClock()
	v := newIntrospection(t, srv.URL, func(c *bearer.IntrospectionConfig) { c.Now = clk.Now })

	steps := []struct {
		name      string
		advance   time.Duration
		token     string
		wantErr   error
		wantCalls int32
	}{
		{name: "first use calls", token: "long", wantCalls: 1},
		{name: "cached", token: "long", wantCalls: 1},
		{name: "cached until the TTL", advance: 29 * time.Second, token: "long", wantCalls: 1},
		{name: "TTL over", advance: time.Second, token: "long", wantCalls: 2},
		{name: "cached again", token: "long", wantCalls: 2},
		{name: "short-lived token", token: "short", wantCalls: 3},
		{name: "short-lived token cached", advance: 5 * time.Second, token: "short", wantCalls: 3},
		{name: "short-lived token expired: not served from the cache", advance: 5 * time.Second, token: "short", wantErr: bearer.ErrInvalidToken, wantCalls: 4},
		{name: "inactive", token: "inactive", wantErr: bearer.ErrInvalidToken, wantCalls: 5},
		{name: "inactive cached", token: "inactive", wantErr: bearer.ErrInvalidToken, wantCalls: 5},
		{name: "inactive cached until the negative TTL", advance: bearer.DefaultNegativeCacheTTL - time.Second, token: "inactive", wantErr: bearer.ErrInvalidToken, wantCalls: 5},
		{name: "negative TTL over", advance: time.Second, token: "inactive", wantErr: bearer.ErrInvalidToken, wantCalls: 6},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		_, err := v.Validate(context.Background(), s.token)
		if s.wantErr == nil && err != nil || s.wantErr != nil && !errors.Is(err, s.wantErr) {
			t.Fatalf("%s: error %v, want %v", s.name, err, s.wantErr)
		}
		if n := fake.calls.Load(); n != s.wantCalls {
			t.Fatalf("%s: %d calls, want %d", s.name, n, s.wantCalls)
		}
	}

	t.Run("copies", func(t *testing.T) {
		c1, err := v.Validate(context.Background(), "long")
		if err != nil {
			t.Fatal(err)
		}
		c1.Scope[0] = "admin"
		c1.Audience[0] = "changed"
		c1.Extra["username"][1] = 'X'
		c2, err := v.Validate(context.Background(), "long")
		if err != nil {
			t.Fatal(err)
		}
		if c2.Scope[0] != "read" || c2.Audience[0] != testAudience || string(c2.Extra["username"]) != `"alice@example.com"` {
			t.Errorf("a caller's change reached the cache: %+v", c2)
		}
	})

	t.Run("disabled", func(t *testing.T) {
		fake := &introspector{responses: map[string]string{"long": activeResponse(nil)}}
		srv := httptest.NewServer(fake)
		defer srv.Close()
		v := newIntrospection(t, srv.URL, func(c *bearer.IntrospectionConfig) { c.Now = clk.Now; c.CacheTTL = -1 })
		for range 3 {
			if _, err := v.Validate(context.Background(), "long"); err != nil {
				t.Fatal(err)
			}
		}
		if n := fake.calls.Load(); n != 3 {
			t.Errorf("%d calls, want 3", n)
		}
	})
}

// Concurrent requests with one token share one introspection call; other
// tokens get their own.
func TestIntrospectionSingleFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		fake := &introspector{gate: make(chan struct{}), responses: map[string]string{
			"a": activeResponse(func(m map[string]any) { m["exp"] = now.Add(time.Hour).Unix() }),
			"b": activeResponse(func(m map[string]any) { m["exp"] = now.Add(time.Hour).Unix() }),
		}}
		v := newIntrospection(t, "https://as.example.com/introspect", func(c *bearer.IntrospectionConfig) {
			c.Client = &http.Client{Transport: handlerTransport{fake}}
		})
		const n = 10
		errs := make([]error, 2*n)
		var wg sync.WaitGroup
		for i := range 2 * n {
			tok := []string{"a", "b"}[i%2]
			wg.Go(func() { _, errs[i] = v.Validate(context.Background(), tok) })
		}
		synctest.Wait()
		if got := fake.calls.Load(); got != 2 {
			t.Fatalf("%d calls in flight, want 2", got)
		}
		close(fake.gate)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("request %d: %v", i, err)
			}
		}
		if got := fake.calls.Load(); got != 2 {
			t.Errorf("%d calls, want 2", got)
		}
	})
}

func TestNewIntrospection(t *testing.T) {
	ok := bearer.IntrospectionConfig{URL: "https://as.example.com/introspect", ClientID: "rs", ClientSecret: "secret"}
	tests := []struct {
		name    string
		edit    func(c *bearer.IntrospectionConfig)
		wantErr bool
	}{
		{name: "minimal", edit: func(c *bearer.IntrospectionConfig) {}},
		{name: "loopback http", edit: func(c *bearer.IntrospectionConfig) { c.URL = "http://127.0.0.1/introspect" }},
		{name: "no URL", edit: func(c *bearer.IntrospectionConfig) { c.URL = "" }, wantErr: true},
		{name: "remote http", edit: func(c *bearer.IntrospectionConfig) { c.URL = "http://as.example.com/introspect" }, wantErr: true},
		{name: "fragment", edit: func(c *bearer.IntrospectionConfig) { c.URL = "https://as.example.com/introspect#x" }, wantErr: true},
		{name: "no client ID", edit: func(c *bearer.IntrospectionConfig) { c.ClientID = "" }, wantErr: true},
		{name: "no secret", edit: func(c *bearer.IntrospectionConfig) { c.ClientSecret = "" }, wantErr: true},
		{name: "negative cache size", edit: func(c *bearer.IntrospectionConfig) { c.CacheSize = -1 }, wantErr: true},
		{name: "negative concurrency limit", edit: func(c *bearer.IntrospectionConfig) { c.MaxConcurrent = -1 }, wantErr: true},
		{name: "negative cache disabled", edit: func(c *bearer.IntrospectionConfig) { c.NegativeCacheTTL = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			_, err := bearer.NewIntrospection(cfg)
			if (err != nil) != tt.wantErr {
				t.Errorf("NewIntrospection: error %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}
