package oauthkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakePushed is a PushedRequestStore in a map.
type fakePushed struct {
	faults
	mu   sync.Mutex
	reqs map[string]*PushedRequest
}

func (s *fakePushed) CreatePushedRequest(_ context.Context, r *PushedRequest) error {
	if err := s.fault("CreatePushedRequest"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reqs == nil {
		s.reqs = make(map[string]*PushedRequest)
	}
	if _, ok := s.reqs[r.ID]; ok {
		return ErrExists
	}
	c := *r
	s.reqs[r.ID] = &c
	return nil
}

func (s *fakePushed) find(id, clientID string, now time.Time, consume bool) (*PushedRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.reqs[id]
	if !ok || r.ClientID != clientID || !now.Before(r.ExpiresAt) {
		return nil, ErrNotFound
	}
	if consume {
		delete(s.reqs, id)
	}
	c := *r
	return &c, nil
}

func (s *fakePushed) PushedRequest(_ context.Context, id, clientID string, now time.Time) (*PushedRequest, error) {
	if err := s.fault("PushedRequest"); err != nil {
		return nil, err
	}
	return s.find(id, clientID, now, false)
}

func (s *fakePushed) ConsumePushedRequest(_ context.Context, id, clientID string, now time.Time) (*PushedRequest, error) {
	if err := s.fault("ConsumePushedRequest"); err != nil {
		return nil, err
	}
	return s.find(id, clientID, now, true)
}

func (s *fakePushed) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// newPAREnv returns a test server with pushed authorization requests on,
// and its pushed-request store.
func newPAREnv(t testing.TB, configure func(*Config)) (*testEnv, *fakePushed) {
	store := &fakePushed{}
	e := newTestEnv(t, func(c *Config) {
		c.PAR = &PARConfig{Store: store}
		c.Resources = []string{apiResource}
		if configure != nil {
			configure(c)
		}
	})
	return e, store
}

// parPost returns a pushed authorization request with form as its body.
func parPost(form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/par", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// par serves a pushed authorization request.
func (e *testEnv) par(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.srv.PushedAuthorizationHandler().ServeHTTP(w, r)
	return w
}

// push pushes codeRequest(client, extra), authenticated as the client is
// registered to, and returns the request_uri.
func (e *testEnv) push(t testing.TB, client string, extra url.Values) string {
	t.Helper()
	w := e.par(asPAR(client, codeRequest(client, extra)))
	var resp struct {
		RequestURI string `json:"request_uri"`
		ExpiresIn  int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); w.Code != http.StatusCreated || err != nil || resp.RequestURI == "" {
		t.Fatalf("push by %s: %d %s, want 201 with a request_uri", client, w.Code, w.Body)
	}
	return resp.RequestURI
}

// asPAR is asClient for the pushed authorization request endpoint.
func asPAR(client string, form url.Values) *http.Request {
	r := asClient(client, form)
	r.URL.Path = "/par"
	return r
}

// useRequestURI sends the browser to the authorization endpoint with
// client_id, request_uri and extra.
func (e *testEnv) useRequestURI(client, requestURI string, extra url.Values) *httptest.ResponseRecorder {
	return e.authorizeGet(changed(url.Values{"client_id": {client}, "request_uri": {requestURI}}, extra))
}

func TestPushedAuthorizationResponse(t *testing.T) {
	e, store := newPAREnv(t, func(c *Config) { c.PAR.Lifetime = 90 * time.Second })
	w := e.par(asPAR("web", codeRequest("web", url.Values{"login_hint": {"alice"}})))
	if w.Code != http.StatusCreated {
		t.Fatalf("push: %d %s, want 201", w.Code, w.Body)
	}
	for h, want := range map[string]string{"Content-Type": "application/json;charset=UTF-8", "Cache-Control": "no-store", "Pragma": "no-cache"} {
		if got := w.Header().Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	var resp map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	uri, _ := resp["request_uri"].(string)
	random, ok := strings.CutPrefix(uri, RequestURIPrefix)
	if !ok || !validThumbprint(random) || len(resp) != 2 || resp["expires_in"] != float64(90) {
		t.Errorf("response %s, want a request_uri of %s and 256 random bits, and expires_in 90", w.Body, RequestURIPrefix)
	}
	stored, err := store.PushedRequest(t.Context(), HashToken(uri), "web", testEpoch)
	if err != nil {
		t.Fatal(err)
	}
	want := &PushedRequest{ID: HashToken(uri), ClientID: "web", Form: codeRequest("web", url.Values{"login_hint": {"alice"}}), ExpiresAt: testEpoch.Add(90 * time.Second)}
	if d := cmp.Diff(want, stored); d != "" {
		t.Errorf("stored request (-want +got):\n%s", d)
	}

	// client_secret_post: the secret is for authentication only, and never
	// stored (RFC 9126 §2.1).
	w = e.par(asPAR("post", codeRequest("post", nil)))
	if w.Code != http.StatusCreated {
		t.Fatalf("push by post: %d %s", w.Code, w.Body)
	}
	json.Unmarshal(w.Body.Bytes(), &resp)
	stored, _ = store.PushedRequest(t.Context(), HashToken(resp["request_uri"].(string)), "post", testEpoch)
	if stored == nil || stored.Form.Has("client_secret") || stored.Form.Get("client_id") != "post" {
		t.Errorf("stored form %v, want client_id and no client_secret", stored)
	}
}

// TestPushedAuthorizationErrors covers the errors of the endpoint itself:
// RFC 6749 §5.2 JSON, with the statuses of RFC 9126 §2.3.
func TestPushedAuthorizationErrors(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*Config)
		req       func() *http.Request
		status    int
		code      string
		header    map[string]string
	}{
		{name: "GET", req: func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/par?"+codeRequest("spa", nil).Encode(), nil)
		},
			status: 405, code: "invalid_request", header: map[string]string{"Allow": "POST"}},
		{name: "confidential client without credentials", req: func() *http.Request { return parPost(codeRequest("web", nil)) }, status: 400, code: "invalid_client"},
		{name: "wrong secret", req: func() *http.Request { return withBasic(parPost(codeRequest("web", nil)), "web", "wrong") },
			status: 401, code: "invalid_client", header: map[string]string{"WWW-Authenticate": `Basic realm="` + testIssuer + `"`}},
		{name: "no credentials at all", req: func() *http.Request { return parPost(url.Values{"response_type": {"code"}}) }, status: 400, code: "invalid_client"},
		{name: "client_id of another client", req: func() *http.Request { return withBasic(parPost(codeRequest("spa", nil)), "web", webSecret) }, status: 400, code: "invalid_request"},
		{name: "no client_id", req: func() *http.Request {
			return withBasic(parPost(codeRequest("web", url.Values{"client_id": {""}})), "web", webSecret)
		}, status: 400, code: "invalid_request"},
		{name: "request_uri pushed", req: func() *http.Request {
			return asPAR("spa", codeRequest("spa", url.Values{"request_uri": {RequestURIPrefix + "x"}}))
		}, status: 400, code: "invalid_request"},
		{name: "request object pushed", req: func() *http.Request { return asPAR("spa", codeRequest("spa", url.Values{"request": {"e30.e30."}})) }, status: 400, code: "request_not_supported"},
		{name: "repeated parameter", req: func() *http.Request { return asPAR("spa", codeRequest("spa", url.Values{"scope": {"read", "read"}})) }, status: 400, code: "invalid_request"},
		{name: "unregistered redirect_uri", req: func() *http.Request {
			return asPAR("spa", codeRequest("spa", url.Values{"redirect_uri": {"https://evil.example.com/cb"}}))
		}, status: 400, code: "invalid_request"},
		{name: "unknown scope", req: func() *http.Request { return asPAR("spa", codeRequest("spa", url.Values{"scope": {"root"}})) }, status: 400, code: "invalid_scope"},
		{name: "unknown resource", req: func() *http.Request {
			return asPAR("spa", codeRequest("spa", url.Values{"resource": {"https://evil.example.com/"}}))
		}, status: 400, code: "invalid_target"},
		{name: "no PKCE", req: func() *http.Request {
			return asPAR("spa", codeRequest("spa", url.Values{"code_challenge": {""}, "code_challenge_method": {""}}))
		}, status: 400, code: "invalid_request"},
		{name: "malformed dpop_jkt", configure: func(c *Config) { c.DPoP, c.ReplayCache = &DPoPConfig{}, &fakeReplay{} }, req: func() *http.Request { return asPAR("spa", codeRequest("spa", url.Values{"dpop_jkt": {"x"}})) }, status: 400, code: "invalid_request"},
		{name: "unsupported response_type", req: func() *http.Request { return asPAR("spa", codeRequest("spa", url.Values{"response_type": {"token"}})) }, status: 400, code: "unsupported_response_type"},
		{name: "store failure", configure: func(c *Config) {
			c.PAR.Store.(*fakePushed).failOn("CreatePushedRequest", errors.New("par table: disk on fire"))
		}, req: func() *http.Request { return asPAR("spa", codeRequest("spa", nil)) }, status: 500, code: "server_error"},
		{name: "store unavailable", configure: func(c *Config) {
			c.PAR.Store.(*fakePushed).failOn("CreatePushedRequest", fmt.Errorf("dial: %w", ErrUnavailable))
		}, req: func() *http.Request { return asPAR("spa", codeRequest("spa", nil)) }, status: 503, code: "server_error", header: map[string]string{"Retry-After": retryAfter}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, store := newPAREnv(t, tc.configure)
			w := e.par(tc.req())
			var body struct {
				Error string `json:"error"`
			}
			json.Unmarshal(w.Body.Bytes(), &body)
			if w.Code != tc.status || body.Error != tc.code {
				t.Errorf("%d %s, want %d %s", w.Code, w.Body, tc.status, tc.code)
			}
			for h, want := range tc.header {
				if got := w.Header().Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Error("no Cache-Control: no-store")
			}
			if n := store.len(); n != 0 {
				t.Errorf("%d requests stored, want none", n)
			}
		})
	}
}

// TestPushedAuthorizationFlow follows a pushed request to the
// authorization endpoint and the token endpoint (RFC 9126 §4).
func TestPushedAuthorizationFlow(t *testing.T) {
	e, store := newPARDPoPEnv(t, nil) // DPoP on, for dpop_jkt
	uri := e.push(t, "web", url.Values{
		"state": {"pushed-state"}, "scope": {"read write"}, "resource": {apiResource}, "dpop_jkt": {testJKT},
	})
	// The parameters beside request_uri are ignored: the pushed ones
	// count.
	w := e.useRequestURI("web", uri, url.Values{
		"scope": {"admin"}, "state": {"front"}, "redirect_uri": {"https://evil.example.com/cb"}, "response_type": {"token"},
	})
	res := readAuthorizeResponse(t, w)
	if res.to != webRedirect || res.params.Get("state") != "pushed-state" || res.params.Get("code") == "" {
		t.Fatalf("response %d to %q with %v, want a code and the pushed state at %s", w.Code, res.to, res.params, webRedirect)
	}
	code, _ := e.codes.stored(res.params.Get("code"))
	if d := cmp.Diff([]string{"read", "write"}, code.Scope); d != "" || code.DPoPJKT != testJKT || !cmp.Equal(code.Resources, []string{apiResource}) {
		t.Errorf("code scope diff %s, dpop_jkt %q, resources %v; want the pushed ones", d, code.DPoPJKT, code.Resources)
	}
	if store.len() != 0 {
		t.Error("the pushed request is still stored after its code was issued")
	}
	// The code is bound to the pushed dpop_jkt: without a proof of that
	// key it is refused (RFC 9449 §10).
	if w := e.token(asClient("web", url.Values{"grant_type": {GrantTypeAuthorizationCode},
		"code": {res.params.Get("code")}, "code_verifier": {testVerifier}})); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"invalid_grant"`) {
		t.Errorf("the pushed dpop_jkt's code redeemed without a proof: %d %s", w.Code, w.Body)
	}

	// Used once: the same request_uri again, reloaded or replayed, is
	// refused on the error page, never redirected.
	w = e.useRequestURI("web", uri, nil)
	if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" || !strings.HasPrefix(w.Body.String(), "invalid_request_uri:") {
		t.Errorf("second use: %d, Location %q, body %q; want 400 invalid_request_uri on the error page", w.Code, w.Header().Get("Location"), w.Body)
	}
}

// TestPushedRequestURIRefused covers request_uri values the authorization
// endpoint must refuse with invalid_request_uri on its error page: it
// cannot know the redirect URI, which is in the pushed request.
func TestPushedRequestURIRefused(t *testing.T) {
	tests := []struct {
		name   string
		use    func(t *testing.T, e *testEnv, uri string) *httptest.ResponseRecorder
		status int
		code   string
	}{
		{"another client", func(t *testing.T, e *testEnv, uri string) *httptest.ResponseRecorder {
			return e.useRequestURI("spa", uri, nil)
		}, 400, "invalid_request_uri"},
		{"expired", func(t *testing.T, e *testEnv, uri string) *httptest.ResponseRecorder {
			e.clock.Advance(DefaultPARLifetime)
			return e.useRequestURI("web", uri, nil)
		}, 400, "invalid_request_uri"},
		{"unknown", func(t *testing.T, e *testEnv, uri string) *httptest.ResponseRecorder {
			return e.useRequestURI("web", uri+"x", nil)
		}, 400, "invalid_request_uri"},
		{"not a pushed request's", func(t *testing.T, e *testEnv, uri string) *httptest.ResponseRecorder {
			return e.useRequestURI("web", "https://client.example.com/request.jwt", nil)
		}, 400, "invalid_request_uri"},
		{"repeated", func(t *testing.T, e *testEnv, uri string) *httptest.ResponseRecorder {
			return e.authorizeGet(url.Values{"client_id": {"web"}, "request_uri": {uri, uri}})
		}, 400, "invalid_request_uri"},
		{"no client_id", func(t *testing.T, e *testEnv, uri string) *httptest.ResponseRecorder {
			return e.authorizeGet(url.Values{"request_uri": {uri}})
		}, 400, "invalid_request"},
		{"lookup fault", func(t *testing.T, e *testEnv, uri string) *httptest.ResponseRecorder {
			e.srv.cfg.PAR.Store.(*fakePushed).failOn("PushedRequest", errors.New("par table: disk on fire"))
			return e.useRequestURI("web", uri, nil)
		}, 500, "server_error"},
		{"consume fault", func(t *testing.T, e *testEnv, uri string) *httptest.ResponseRecorder {
			e.srv.cfg.PAR.Store.(*fakePushed).failOn("ConsumePushedRequest", fmt.Errorf("dial: %w", ErrUnavailable))
			return e.useRequestURI("web", uri, nil)
		}, 503, "temporarily_unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newPAREnv(t, nil)
			uri := e.push(t, "web", nil)
			w := tc.use(t, e, uri)
			if w.Code != tc.status || w.Header().Get("Location") != "" || !strings.HasPrefix(w.Body.String(), tc.code+":") {
				t.Errorf("%d, Location %q, body %q; want %d %s on the error page", w.Code, w.Header().Get("Location"), w.Body, tc.status, tc.code)
			}
			if n := e.codes.count(); n != 0 {
				t.Errorf("%d codes issued, want none", n)
			}
		})
	}
	t.Run("after the refusals, its own client can still use it", func(t *testing.T) {
		e, _ := newPAREnv(t, nil)
		uri := e.push(t, "web", nil)
		e.useRequestURI("spa", uri, nil)
		e.useRequestURI("web", uri+"x", nil)
		res := readAuthorizeResponse(t, e.useRequestURI("web", uri, nil))
		if res.params.Get("code") == "" {
			t.Errorf("use by its client after other clients' attempts: %v, want a code", res.params)
		}
	})
}

// TestPushedRequestAcrossPages follows a pushed request through a login
// page that posts back, a reload, and a decision: the request_uri is read
// until the endpoint answers the client, and used up then.
func TestPushedRequestAcrossPages(t *testing.T) {
	for _, decision := range []string{"approve", "deny"} {
		t.Run(decision, func(t *testing.T) {
			e, store := newPAREnv(t, nil)
			var seen []*AuthorizeRequest
			e.srv.cfg.Authorizer = AuthorizerFunc(func(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest) (*Consent, error) {
				seen = append(seen, req)
				switch req.Form.Get("action") {
				case "approve":
					return &Consent{Subject: "alice", AuthTime: testEpoch}, nil
				case "deny":
					return nil, ErrAccessDenied
				}
				w.WriteHeader(http.StatusOK) // the login page, posting back req.Form
				return nil, ErrResponseWritten
			})
			uri := e.push(t, "web", url.Values{"login_hint": {"alice"}, "state": {"s1"}})
			for range 2 { // the page, and a reload of it
				if w := e.useRequestURI("web", uri, url.Values{"scope": {"admin"}}); w.Code != http.StatusOK {
					t.Fatalf("login page: %d %q", w.Code, w.Body)
				}
			}
			if store.len() != 1 {
				t.Fatal("the pushed request was used up by showing a page")
			}
			page := seen[0]
			if d := cmp.Diff(url.Values{"client_id": {"web"}, "request_uri": {uri}}, page.Form); d != "" {
				t.Errorf("Form for the pages (-want +got):\n%s", d)
			}
			if page.Params.Get("login_hint") != "alice" || page.Params.Get("scope") != "" || !cmp.Equal(page.Scope, []string{"read"}) {
				t.Errorf("Params %v, Scope %v; want the pushed parameters", page.Params, page.Scope)
			}
			// The page posts back its fields with req.Form.
			form := changed(page.Form, url.Values{"action": {decision}, "username": {"alice"}})
			w := e.authorizeRaw(http.MethodPost, form.Encode())
			res := readAuthorizeResponse(t, w)
			wantParam := map[string]string{"approve": "code", "deny": "error"}[decision]
			if w.Code != http.StatusSeeOther || res.to != webRedirect || res.params.Get(wantParam) == "" || res.params.Get("state") != "s1" {
				t.Fatalf("decision: %d to %q with %v, want 303 to %s with %s and state s1", w.Code, res.to, res.params, webRedirect, wantParam)
			}
			if got := seen[len(seen)-1].Form.Get("username"); got != "alice" {
				t.Errorf("the page's own field reached the Authorizer as %q", got)
			}
			// After the decision, a replay of the post or a reload is
			// refused.
			for _, w := range []*httptest.ResponseRecorder{e.authorizeRaw(http.MethodPost, form.Encode()), e.useRequestURI("web", uri, nil)} {
				if w.Code != http.StatusBadRequest || !strings.HasPrefix(w.Body.String(), "invalid_request_uri:") {
					t.Errorf("use after the decision: %d %q, want 400 invalid_request_uri", w.Code, w.Body)
				}
			}
		})
	}
}

// TestPushedRequestConcurrentUse sends 50 authorization requests with one
// request_uri at once: exactly one gets a code.
func TestPushedRequestConcurrentUse(t *testing.T) {
	e, _ := newPAREnv(t, nil)
	uri := e.push(t, "spa", nil)
	const n = 50
	results := make([]*httptest.ResponseRecorder, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			results[i] = e.useRequestURI("spa", uri, nil)
		})
	}
	close(start)
	wg.Wait()
	codes := 0
	for i, w := range results {
		switch {
		case w.Code == http.StatusFound:
			codes++
		case w.Code != http.StatusBadRequest || !strings.HasPrefix(w.Body.String(), "invalid_request_uri:"):
			t.Errorf("use %d: %d %q, want a code or invalid_request_uri", i, w.Code, w.Body)
		}
	}
	if codes != 1 || e.codes.count() != 1 {
		t.Errorf("%d concurrent uses: %d responses with a code, %d codes stored; want exactly 1", n, codes, e.codes.count())
	}
}

// TestPushedRequestRevalidated checks that a pushed request is validated
// again when used (RFC 9126 §4, §7.4): a client whose registration changed
// in between gets the error, and the request is used up.
func TestPushedRequestRevalidated(t *testing.T) {
	e, store := newPAREnv(t, nil)
	uri := e.push(t, "web", url.Values{"scope": {"write"}})
	e.clients.clients["web"].Scopes = []string{"read"}
	res := readAuthorizeResponse(t, e.useRequestURI("web", uri, nil))
	if res.to != webRedirect || res.params.Get("error") != "invalid_scope" {
		t.Errorf("use after the client lost the scope: to %q with %v, want invalid_scope at %s", res.to, res.params, webRedirect)
	}
	if store.len() != 0 {
		t.Error("the refused pushed request is still usable")
	}
}

// TestPARRequired checks the server's and the client's policy that
// authorization requests be pushed (RFC 9126 §4, §5, §6).
func TestPARRequired(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*Config)
		pushed    bool
		want      string // "code", or the error redirected to the client
	}{
		{"client requires, not pushed", func(c *Config) { c.Clients.(*fakeClients).clients["web"].RequirePushedAuthorizationRequests = true }, false, "invalid_request"},
		{"client requires, pushed", func(c *Config) { c.Clients.(*fakeClients).clients["web"].RequirePushedAuthorizationRequests = true }, true, "code"},
		{"server requires, not pushed", func(c *Config) { c.PAR.RequireForAllClients = true }, false, "invalid_request"},
		{"server requires, pushed", func(c *Config) { c.PAR.RequireForAllClients = true }, true, "code"},
		{"nobody requires, not pushed", nil, false, "code"},
		{"client requires, PAR off", func(c *Config) {
			c.PAR = nil
			c.Clients.(*fakeClients).clients["web"].RequirePushedAuthorizationRequests = true
		}, false, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newPAREnv(t, tc.configure)
			var w *httptest.ResponseRecorder
			if tc.pushed {
				w = e.useRequestURI("web", e.push(t, "web", nil), nil)
			} else {
				w = e.authorizeGet(codeRequest("web", nil))
			}
			res := readAuthorizeResponse(t, w)
			got := res.params.Get("error")
			if res.params.Get("code") != "" {
				got = "code"
			}
			if res.to != webRedirect || got != tc.want {
				t.Errorf("%d to %q with %v, want %s at %s", w.Code, res.to, res.params, tc.want, webRedirect)
			}
		})
	}
	t.Run("an invalid redirect URI is still not redirected", func(t *testing.T) {
		e, _ := newPAREnv(t, func(c *Config) { c.PAR.RequireForAllClients = true })
		w := e.authorizeGet(codeRequest("web", url.Values{"redirect_uri": {"https://evil.example.com/cb"}}))
		if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
			t.Errorf("%d, Location %q; want 400 on the error page", w.Code, w.Header().Get("Location"))
		}
	})
}

func TestPAROff(t *testing.T) {
	e := newTestEnv(t, nil)
	w := e.par(asPAR("spa", codeRequest("spa", nil)))
	if w.Code != http.StatusNotFound {
		t.Errorf("PAR endpoint with Config.PAR nil: %d, want 404", w.Code)
	}
	res := readAuthorizeResponse(t, e.authorizeGet(codeRequest("web", url.Values{"request_uri": {RequestURIPrefix + "x"}})))
	if res.params.Get("error") != "request_uri_not_supported" {
		t.Errorf("request_uri with PAR off: %v, want request_uri_not_supported", res.params)
	}
	if m := e.srv.Metadata(); m.PushedAuthorizationRequestEndpoint != "" || m.RequirePushedAuthorizationRequests {
		t.Errorf("metadata with PAR off: %q, %v", m.PushedAuthorizationRequestEndpoint, m.RequirePushedAuthorizationRequests)
	}
}

func TestPARConfig(t *testing.T) {
	store := &fakePushed{}
	base := func() Config {
		return Config{Issuer: testIssuer, Clients: &fakeClients{}, Codes: &fakeCodes{}, Tokens: &fakeTokens{}}
	}
	for _, tc := range []struct {
		name string
		set  func(*Config)
		err  string
	}{
		{"no store", func(c *Config) { c.PAR = &PARConfig{} }, "Config.PAR.Store is required"},
		{"negative lifetime", func(c *Config) { c.PAR = &PARConfig{Store: store, Lifetime: -time.Second} }, "Config.PAR.Lifetime"},
		{"lifetime over ten minutes", func(c *Config) { c.PAR = &PARConfig{Store: store, Lifetime: MaxPARLifetime + time.Second} }, "Config.PAR.Lifetime"},
		{"endpoint without PAR", func(c *Config) { c.Endpoints.PushedAuthorization = testIssuer + "/par" }, "needs Config.PAR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			tc.set(&cfg)
			if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("New: error %v, want one about %s", err, tc.err)
			}
		})
	}
	t.Run("defaults and metadata", func(t *testing.T) {
		cfg := base()
		par := &PARConfig{Store: store, RequireForAllClients: true}
		cfg.PAR = par
		srv, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if par.Lifetime != 0 {
			t.Error("New changed the caller's PARConfig")
		}
		if srv.cfg.PAR.Lifetime != DefaultPARLifetime {
			t.Errorf("lifetime %v, want %v", srv.cfg.PAR.Lifetime, DefaultPARLifetime)
		}
		m := srv.Metadata()
		if m.PushedAuthorizationRequestEndpoint != testIssuer+"/par" || !m.RequirePushedAuthorizationRequests {
			t.Errorf("metadata: %q, %v; want %s/par, true", m.PushedAuthorizationRequestEndpoint, m.RequirePushedAuthorizationRequests, testIssuer)
		}
	})
}

// count returns how many codes are stored.
func (s *fakeCodes) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.codes)
}
