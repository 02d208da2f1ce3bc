package bearer_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit/bearer"
)

// fakeValidator knows a few tokens by name.
func fakeValidator(now time.Time) bearer.ValidatorFunc {
	return func(ctx context.Context, token string) (*bearer.Claims, error) {
		switch token {
		case "good", "abc==", "body-token":
			return &bearer.Claims{Subject: "alice", ClientID: "web", Scope: []string{"read", "write"}, ExpiresAt: now.Add(time.Hour)}, nil
		case "no-expiry":
			return &bearer.Claims{Subject: "svc", Scope: []string{"read"}}, nil
		case "expired-claims":
			return &bearer.Claims{Subject: "alice", Scope: []string{"read"}, ExpiresAt: now}, nil
		case "fault":
			return nil, errors.New("token store exploded")
		case "unavailable":
			return nil, errors.Join(bearer.ErrUnavailable, errors.New("dial tcp: connection refused"))
		case "nil":
			return nil, nil
		default:
			return nil, bearer.ErrInvalidToken
		}
	}
}

const (
	realm            = `api`
	noTokenChallenge = `Bearer realm="api"`
	invalidToken     = `Bearer realm="api", error="invalid_token", error_description="the access token is invalid, expired or revoked"`
	malformedAuth    = `Bearer realm="api", error="invalid_request", error_description="malformed Authorization header"`
)

func invalidRequest(description string) string {
	return `Bearer realm="api", error="invalid_request", error_description="` + description + `"`
}

// request builds a request; header lines are "Name: value".
func request(method, target, body string, header ...string) *http.Request {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	for _, h := range header {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Add(name, value)
	}
	return req
}

const form = "Content-Type: application/x-www-form-urlencoded"

// outcome is what a request through the middleware produced.
type outcome struct {
	Status    int
	Challenge string         // WWW-Authenticate
	Reached   bool           // the handler ran
	Claims    *bearer.Claims // as the handler found them
	Body      string         // the body as the handler read it
	PostForm  url.Values     // as the handler found it
}

// serve sends req through m.Wrap(h, scopes...) to a handler h that records
// what it sees.
func serve(m *bearer.Middleware, req *http.Request, scopes ...string) outcome {
	return serveThrough(func(h http.Handler) http.Handler { return m.Wrap(h, scopes...) }, req)
}

// serveWith sends req through m.WrapWith(h, reqs) to a handler h that
// records what it sees.
func serveWith(m *bearer.Middleware, req *http.Request, reqs bearer.Requirements) outcome {
	return serveThrough(func(h http.Handler) http.Handler { return m.WrapWith(h, reqs) }, req)
}

func serveThrough(wrap func(http.Handler) http.Handler, req *http.Request) outcome {
	var out outcome
	h := wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out.Reached = true
		out.Claims, _ = bearer.FromContext(r.Context())
		b, _ := io.ReadAll(r.Body)
		out.Body = string(b)
		out.PostForm = r.PostForm
		w.WriteHeader(http.StatusNoContent)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out.Status = rec.Code
	out.Challenge = rec.Header().Get("WWW-Authenticate")
	if n := len(rec.Header().Values("WWW-Authenticate")); n > 1 {
		out.Challenge = "several WWW-Authenticate headers"
	}
	return out
}

func TestMiddleware(t *testing.T) {
	clk := newClock()
	m, err := bearer.New(bearer.Config{Validator: fakeValidator(t0), Realm: realm, Now: clk.Now, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	alice := &bearer.Claims{Subject: "alice", ClientID: "web", Scope: []string{"read", "write"}, ExpiresAt: t0.Add(time.Hour)}
	ok := outcome{Status: http.StatusNoContent, Reached: true, Claims: alice}

	tests := []struct {
		name   string
		req    *http.Request
		scopes []string
		want   outcome
	}{
		// RFC 6750 §3: no authentication information, no error code.
		{name: "no token", req: request("GET", "/", ""), want: outcome{Status: 401, Challenge: noTokenChallenge}},
		{name: "other scheme", req: request("GET", "/", "", "Authorization: Basic d2ViOnNlY3JldA=="), want: outcome{Status: 401, Challenge: noTokenChallenge}},
		{name: "scheme only looks like Bearer", req: request("GET", "/", "", "Authorization: Bearerx good"), want: outcome{Status: 401, Challenge: noTokenChallenge}},

		// RFC 6750 §2.1: the header, scheme case-insensitive.
		{name: "Bearer", req: request("GET", "/", "", "Authorization: Bearer good"), want: ok},
		{name: "bearer", req: request("GET", "/", "", "Authorization: bearer good"), want: ok},
		{name: "BEARER", req: request("GET", "/", "", "Authorization: BEARER good"), want: ok},
		{name: "several spaces", req: request("GET", "/", "", "Authorization: Bearer   good"), want: ok},
		{name: "padded token", req: request("GET", "/", "", "Authorization: Bearer abc=="), want: ok},
		{name: "scopes held", req: request("GET", "/", "", "Authorization: Bearer good"), scopes: []string{"write", "read"}, want: ok},
		{name: "no expiry in claims", req: request("GET", "/", "", "Authorization: Bearer no-expiry"),
			want: outcome{Status: http.StatusNoContent, Reached: true, Claims: &bearer.Claims{Subject: "svc", Scope: []string{"read"}}}},

		// RFC 6750 §3.1 invalid_request: malformed.
		{name: "Bearer without token", req: request("GET", "/", "", "Authorization: Bearer"), want: outcome{Status: 400, Challenge: malformedAuth}},
		{name: "Bearer and spaces", req: request("GET", "/", "", "Authorization: Bearer   "), want: outcome{Status: 400, Challenge: malformedAuth}},
		{name: "two tokens in the header", req: request("GET", "/", "", "Authorization: Bearer good good"), want: outcome{Status: 400, Challenge: malformedAuth}},
		{name: "two challenges in the header", req: request("GET", "/", "", "Authorization: Bearer good, Bearer good"), want: outcome{Status: 400, Challenge: malformedAuth}},
		{name: "auth-param instead of token68", req: request("GET", "/", "", "Authorization: Bearer token=good"), want: outcome{Status: 400, Challenge: malformedAuth}},
		{name: "padding inside the token", req: request("GET", "/", "", "Authorization: Bearer a=b"), want: outcome{Status: 400, Challenge: malformedAuth}},
		{name: "tab after the scheme", req: request("GET", "/", "", "Authorization: Bearer\tgood"), want: outcome{Status: 400, Challenge: malformedAuth}},
		{name: "quoted token", req: request("GET", "/", "", `Authorization: Bearer "good"`), want: outcome{Status: 400, Challenge: malformedAuth}},
		{name: "empty header", req: request("GET", "/", "", "Authorization: "), want: outcome{Status: 400, Challenge: malformedAuth}},
		{name: "non-ASCII token", req: request("GET", "/", "", "Authorization: Bearer gööd"), want: outcome{Status: 400, Challenge: malformedAuth}},
		{name: "two Authorization headers", req: request("GET", "/", "", "Authorization: Bearer good", "Authorization: Bearer good"),
			want: outcome{Status: 400, Challenge: invalidRequest("more than one Authorization header")}},
		{name: "Bearer and Basic headers", req: request("GET", "/", "", "Authorization: Basic d2ViOnNlY3JldA==", "Authorization: Bearer good"),
			want: outcome{Status: 400, Challenge: invalidRequest("more than one Authorization header")}},

		// RFC 6750 §3.1 invalid_token.
		{name: "invalid token", req: request("GET", "/", "", "Authorization: Bearer bad"), want: outcome{Status: 401, Challenge: invalidToken}},
		{name: "invalid token, scope also missing", req: request("GET", "/", "", "Authorization: Bearer bad"), scopes: []string{"admin"}, want: outcome{Status: 401, Challenge: invalidToken}},
		{name: "validator returns expired claims", req: request("GET", "/", "", "Authorization: Bearer expired-claims"), want: outcome{Status: 401, Challenge: invalidToken}},

		// RFC 6750 §3.1 insufficient_scope.
		{name: "scope missing", req: request("GET", "/", "", "Authorization: Bearer good"), scopes: []string{"read", "admin"},
			want: outcome{Status: 403, Challenge: `Bearer realm="api", error="insufficient_scope", error_description="the access token lacks a required scope", scope="read admin"`}},

		// Faults: no challenge, no detail.
		{name: "validator unavailable", req: request("GET", "/", "", "Authorization: Bearer unavailable"), want: outcome{Status: 503}},
		{name: "validator fault", req: request("GET", "/", "", "Authorization: Bearer fault"), want: outcome{Status: 500}},
		{name: "validator returns nothing", req: request("GET", "/", "", "Authorization: Bearer nil"), want: outcome{Status: 500}},

		// RFC 6750 §2.3 is not supported: the query is never read.
		{name: "token in the query", req: request("GET", "/?access_token=good", ""), want: outcome{Status: 401, Challenge: noTokenChallenge}},
		{name: "token in the query and the header", req: request("GET", "/?access_token=bad", "", "Authorization: Bearer good"), want: ok},

		// RFC 6750 §2.2 is off by default: the body is not read.
		{name: "form body disabled", req: request("POST", "/", "access_token=good", form), want: outcome{Status: 401, Challenge: noTokenChallenge}},
		{name: "form body disabled, header used, body untouched", req: request("POST", "/", "access_token=bad&x=1", form, "Authorization: Bearer good"),
			want: outcome{Status: http.StatusNoContent, Reached: true, Claims: alice, Body: "access_token=bad&x=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := serve(m, tt.req, tt.scopes...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMiddlewareFormBody(t *testing.T) {
	m, err := bearer.New(bearer.Config{Validator: fakeValidator(t0), Realm: realm, AllowFormBody: true, MaxBodyBytes: 100, Now: newClock().Now, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	alice := &bearer.Claims{Subject: "alice", ClientID: "web", Scope: []string{"read", "write"}, ExpiresAt: t0.Add(time.Hour)}
	okWith := func(form url.Values) outcome {
		return outcome{Status: http.StatusNoContent, Reached: true, Claims: alice, PostForm: form}
	}
	tests := []struct {
		name string
		req  *http.Request
		want outcome
	}{
		{name: "POST", req: request("POST", "/", "access_token=body-token&x=1", form), want: okWith(url.Values{"access_token": {"body-token"}, "x": {"1"}})},
		{name: "PUT", req: request("PUT", "/", "access_token=body-token", form), want: okWith(url.Values{"access_token": {"body-token"}})},
		{name: "PATCH", req: request("PATCH", "/", "access_token=body-token", form), want: okWith(url.Values{"access_token": {"body-token"}})},
		{name: "content type with charset", req: request("POST", "/", "access_token=body-token", form+"; charset=utf-8"), want: okWith(url.Values{"access_token": {"body-token"}})},
		{name: "header, form without token", req: request("POST", "/", "x=1", form, "Authorization: Bearer good"), want: okWith(url.Values{"x": {"1"}})},
		{name: "Basic header, token in the body", req: request("POST", "/", "access_token=body-token", form, "Authorization: Basic d2ViOnNlY3JldA=="),
			want: okWith(url.Values{"access_token": {"body-token"}})},
		{name: "empty form, no token", req: request("POST", "/", "", form), want: outcome{Status: 401, Challenge: noTokenChallenge}},
		{name: "invalid token in the body", req: request("POST", "/", "access_token=bad", form), want: outcome{Status: 401, Challenge: invalidToken}},

		// Not a form request: the body is not read.
		{name: "GET with a form body", req: request("GET", "/", "access_token=body-token", form), want: outcome{Status: 401, Challenge: noTokenChallenge}},
		{name: "DELETE with a form body", req: request("DELETE", "/", "access_token=body-token", form), want: outcome{Status: 401, Challenge: noTokenChallenge}},
		{name: "multipart", req: request("POST", "/", "--b\r\nContent-Disposition: form-data; name=\"access_token\"\r\n\r\nbody-token\r\n--b--\r\n", "Content-Type: multipart/form-data; boundary=b"),
			want: outcome{Status: 401, Challenge: noTokenChallenge}},
		{name: "JSON", req: request("POST", "/", `{"access_token":"body-token"}`, "Content-Type: application/json"), want: outcome{Status: 401, Challenge: noTokenChallenge}},
		{name: "JSON with header", req: request("POST", "/", `{"access_token":"bad"}`, "Content-Type: application/json", "Authorization: Bearer good"),
			want: outcome{Status: http.StatusNoContent, Reached: true, Claims: alice, Body: `{"access_token":"bad"}`}},

		// invalid_request.
		{name: "header and body", req: request("POST", "/", "access_token=body-token", form, "Authorization: Bearer good"),
			want: outcome{Status: 400, Challenge: invalidRequest("access token in both the Authorization header and the body")}},
		{name: "two body tokens", req: request("POST", "/", "access_token=body-token&access_token=body-token", form),
			want: outcome{Status: 400, Challenge: invalidRequest("more than one access_token parameter")}},
		{name: "malformed body token", req: request("POST", "/", "access_token=a+b", form), want: outcome{Status: 400, Challenge: invalidRequest("malformed access_token parameter")}},
		{name: "empty body token", req: request("POST", "/", "access_token=", form), want: outcome{Status: 400, Challenge: invalidRequest("malformed access_token parameter")}},
		{name: "malformed body", req: request("POST", "/", "access_token=%zz", form), want: outcome{Status: 400, Challenge: invalidRequest("malformed request body")}},
		{name: "body too large", req: request("POST", "/", "access_token=body-token&pad="+strings.Repeat("x", 100), form), want: outcome{Status: 400, Challenge: invalidRequest("request body too large")}},
		{name: "non-ASCII body", req: request("POST", "/", "access_token=body-token&name=José", form), want: outcome{Status: 400, Challenge: invalidRequest("request body is not ASCII")}},
		{name: "malformed header beats body", req: request("POST", "/", "access_token=body-token", form, "Authorization: Bearer a b"), want: outcome{Status: 400, Challenge: malformedAuth}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := serve(m, tt.req)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

// Challenge parameters are quoted-strings: the realm is escaped, and left
// out when empty.
func TestMiddlewareRealm(t *testing.T) {
	tests := []struct {
		name, realm, token, want string
	}{
		{name: "quote and backslash", realm: `my "api" \ v2`, token: "", want: `Bearer realm="my \"api\" \\ v2"`},
		{name: "quote and backslash, error", realm: `a"b`, token: "bad", want: `Bearer realm="a\"b", error="invalid_token", error_description="the access token is invalid, expired or revoked"`},
		{name: "no realm", realm: "", token: "", want: `Bearer`},
		{name: "no realm, error", realm: "", token: "bad", want: `Bearer error="invalid_token", error_description="the access token is invalid, expired or revoked"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := bearer.New(bearer.Config{Validator: fakeValidator(t0), Realm: tt.realm, Logger: discard})
			if err != nil {
				t.Fatal(err)
			}
			req := request("GET", "/", "")
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			if got := serve(m, req).Challenge; got != tt.want {
				t.Errorf("WWW-Authenticate: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

func TestNew(t *testing.T) {
	v := fakeValidator(t0)
	tests := []struct {
		name    string
		cfg     bearer.Config
		wantErr bool
	}{
		{name: "minimal", cfg: bearer.Config{Validator: v}},
		{name: "no validator", cfg: bearer.Config{}, wantErr: true},
		{name: "realm with a newline", cfg: bearer.Config{Validator: v, Realm: "a\r\nSet-Cookie: x=1"}, wantErr: true},
		{name: "realm not ASCII", cfg: bearer.Config{Validator: v, Realm: "café"}, wantErr: true},
		{name: "negative body limit", cfg: bearer.Config{Validator: v, MaxBodyBytes: -1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bearer.New(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Errorf("New: error %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}

func TestWrapInvalidScope(t *testing.T) {
	m, err := bearer.New(bearer.Config{Validator: fakeValidator(t0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, scope := range []string{"", "a b", `a"b`, `a\b`, "é"} {
		t.Run(scope, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Wrap(h, %q) did not panic", scope)
				}
			}()
			m.Wrap(http.NotFoundHandler(), scope)
		})
	}
}

// Faults are logged without the token; refused tokens are logged at debug
// level only.
func TestMiddlewareLogging(t *testing.T) {
	const secret = "s3cr3t-t0ken"
	tests := []struct {
		name    string
		err     error
		level   slog.Level
		wantLog string
	}{
		{name: "fault", err: errors.New("database on fire"), level: slog.LevelError, wantLog: "database on fire"},
		{name: "unavailable", err: errors.Join(bearer.ErrUnavailable, errors.New("timeout")), level: slog.LevelError, wantLog: "timeout"},
		{name: "invalid, debug", err: errors.Join(bearer.ErrInvalidToken, errors.New("wrong audience")), level: slog.LevelDebug, wantLog: "wrong audience"},
		{name: "invalid, info", err: errors.Join(bearer.ErrInvalidToken, errors.New("wrong audience")), level: slog.LevelInfo, wantLog: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			v := bearer.ValidatorFunc(func(context.Context, string) (*bearer.Claims, error) { return nil, tt.err })
			m, err := bearer.New(bearer.Config{Validator: v, Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tt.level}))})
			if err != nil {
				t.Fatal(err)
			}
			serve(m, request("GET", "/", "", "Authorization: Bearer "+secret))
			log := buf.String()
			if tt.wantLog == "" && log != "" || !strings.Contains(log, tt.wantLog) {
				t.Errorf("log %q, want it to contain %q", log, tt.wantLog)
			}
			if strings.Contains(log, secret) {
				t.Errorf("the token was logged: %s", log)
			}
		})
	}
}

// A validator interrupted because the client went away is not an operator
// fault.
func TestMiddlewareClientGone(t *testing.T) {
	var buf bytes.Buffer
	v := bearer.ValidatorFunc(func(ctx context.Context, _ string) (*bearer.Claims, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	m, err := bearer.New(bearer.Config{Validator: v, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := serve(m, request("GET", "/", "", "Authorization: Bearer good").WithContext(ctx))
	if got.Status != http.StatusServiceUnavailable || got.Reached {
		t.Errorf("outcome %+v, want 503 without reaching the handler", got)
	}
	if buf.Len() != 0 {
		t.Errorf("logged at info or above: %s", buf.String())
	}
}

func TestWrap(t *testing.T) {
	m, err := bearer.New(bearer.Config{Validator: fakeValidator(t0), Now: newClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }), "admin")
	tests := []struct {
		name, auth string
		want       int
	}{
		{name: "no token", want: 401},
		{name: "scope missing", auth: "Bearer good", want: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request("GET", "/", "")
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("status %d, want %d", rec.Code, tt.want)
			}
		})
	}
}

func TestFromContext(t *testing.T) {
	c := &bearer.Claims{Subject: "alice"}
	tests := []struct {
		name   string
		ctx    context.Context
		want   *bearer.Claims
		wantOK bool
	}{
		{name: "empty", ctx: context.Background()},
		{name: "set", ctx: bearer.NewContext(context.Background(), c), want: c, wantOK: true},
		{name: "nil claims", ctx: bearer.NewContext(context.Background(), nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := bearer.FromContext(tt.ctx)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("FromContext = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestClaimsHasScope(t *testing.T) {
	c := &bearer.Claims{Scope: []string{"read", "write"}}
	tests := []struct {
		scopes []string
		want   bool
	}{
		{nil, true},
		{[]string{"read"}, true},
		{[]string{"write", "read"}, true},
		{[]string{"read", "admin"}, false},
		{[]string{"rea"}, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.scopes, "+"), func(t *testing.T) {
			if got := c.HasScope(tt.scopes...); got != tt.want {
				t.Errorf("HasScope(%q) = %v, want %v", tt.scopes, got, tt.want)
			}
		})
	}
}
