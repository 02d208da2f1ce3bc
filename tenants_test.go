package oauthkit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/jwt"
	"github.com/oauthkit/oauthkit/storage/memory"
	"github.com/oauthkit/oauthkit/storage/tenant"
)

const (
	tnHost     = "https://id.example.com"
	tnClient   = "app" // the same client ID, and secret, in every tenant: the worst case
	tnSecret   = "app-secret-0123456789abcdefghijklmnopqrstuvw"
	tnRedirect = "https://app.example/cb"
)

// tnEnv is a host serving every tenant from one shared memory store, each
// tenant through its view (storage/tenant), with keys of its own, on one
// mux under /{tenant}/.
type tnEnv struct {
	shared  *memory.Store
	tenants *oauthkit.Tenants
	mux     *http.ServeMux
	jwt     bool // JWT access tokens, not opaque ones

	mu     sync.Mutex
	known  map[string]bool        // the host's list of tenants
	keys   map[string]*jwt.KeySet // each tenant's keys, as built
	builds atomic.Int64
	fail   atomic.Bool                   // the next builds fail, as a database that is down
	slow   atomic.Pointer[chan struct{}] // builds wait for it to close
	log    syncLog
}

func tnNewEnv(t testing.TB, jwtTokens bool, ids ...string) *tnEnv {
	t.Helper()
	e := &tnEnv{shared: memory.NewStore(), jwt: jwtTokens, known: map[string]bool{}, keys: map[string]*jwt.KeySet{}}
	tenants, err := oauthkit.NewTenants(oauthkit.TenantsConfig{
		Tenant: func(r *http.Request) string { return r.PathValue("tenant") },
		Server: e.build,
		Logger: slog.New(slog.NewTextHandler(&e.log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.tenants = tenants
	e.mux = http.NewServeMux()
	for path, endpoint := range map[string]func(*oauthkit.Server) http.Handler{
		"/authorize":            (*oauthkit.Server).AuthorizeHandler,
		"/token":                (*oauthkit.Server).TokenHandler,
		"/introspect":           (*oauthkit.Server).IntrospectionHandler,
		"/revoke":               (*oauthkit.Server).RevocationHandler,
		"/par":                  (*oauthkit.Server).PushedAuthorizationHandler,
		"/device_authorization": (*oauthkit.Server).DeviceAuthorizationHandler,
		"/jwks":                 (*oauthkit.Server).JWKSHandler,
	} {
		e.mux.Handle("/{tenant}"+path, tenants.Handler(endpoint))
	}
	tenants.HandleMetadata(e.mux, "/{tenant}")
	for _, id := range ids {
		e.add(t, id)
	}
	return e
}

// add registers tenant id with the host, and its client in its view.
func (e *tnEnv) add(t testing.TB, id string) {
	t.Helper()
	view, err := tenant.Scope(e.shared, id)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := oauthkit.HashSecret(tnSecret)
	if err != nil {
		t.Fatal(err)
	}
	if err := view.CreateClient(t.Context(), &oauthkit.Client{
		ID: tnClient, SecretHash: hash, RedirectURIs: []string{tnRedirect}, Scopes: []string{"openid", "read"},
		GrantTypes: []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken, oauthkit.GrantTypeDeviceCode},
	}); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	e.known[id] = true
	e.mu.Unlock()
}

// build is TenantsConfig.Server: the tenant's Server over its view, with
// keys of its own.
func (e *tnEnv) build(_ context.Context, id string) (*oauthkit.Server, error) {
	e.builds.Add(1)
	if slow := e.slow.Load(); slow != nil {
		<-*slow
	}
	if e.fail.Load() {
		return nil, errors.New("tenant directory at 10.0.0.9 unreachable")
	}
	e.mu.Lock()
	known := e.known[id]
	e.mu.Unlock()
	if !known {
		return nil, oauthkit.ErrUnknownTenant
	}
	view, err := tenant.Scope(e.shared, id)
	if err != nil {
		return nil, err
	}
	key, err := jwt.GenerateKey("ES256")
	if err != nil {
		return nil, err
	}
	keys, err := jwt.NewKeySet(key)
	if err != nil {
		return nil, err
	}
	iss := tnHost + "/" + id
	cfg := oauthkit.Config{
		Issuer:      iss,
		Endpoints:   oauthkit.Endpoints{JWKS: iss + "/jwks", Introspection: iss + "/introspect", Revocation: iss + "/revoke"},
		Clients:     view,
		Codes:       view,
		Tokens:      view,
		ReplayCache: view,
		IDTokens:    keys,
		Authorizer: oauthkit.AuthorizerFunc(func(http.ResponseWriter, *http.Request, *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
			return &oauthkit.Consent{Subject: "alice"}, nil
		}),
		PAR:    &oauthkit.PARConfig{Store: view},
		Device: &oauthkit.DeviceConfig{Store: view, VerificationURI: iss + "/device"},
	}
	if e.jwt {
		cfg.AccessTokens = &jwt.AccessTokens{Keys: keys}
	}
	srv, err := oauthkit.New(cfg)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.keys[id] = keys
	e.mu.Unlock()
	return srv, nil
}

func (e *tnEnv) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, r)
	return w
}

// post sends form to a tenant's endpoint as the client, authenticated.
func (e *tnEnv) post(id, path string, form url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, tnHost+"/"+id+path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(tnClient, tnSecret)
	return e.do(r)
}

// authorize runs an authorization request at tenant id, with PKCE, and
// returns the response's Location.
func (e *tnEnv) authorize(id string, q url.Values) *httptest.ResponseRecorder {
	return e.do(httptest.NewRequest(http.MethodGet, tnHost+"/"+id+"/authorize?"+q.Encode(), nil))
}

func tnCodeRequest() url.Values {
	return url.Values{
		"response_type": {"code"}, "client_id": {tnClient}, "redirect_uri": {tnRedirect}, "scope": {"openid read"},
		"state": {"s"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(tnVerifier)}, "code_challenge_method": {"S256"},
	}
}

var tnVerifier = oauth2.GenerateVerifier()

// code returns a fresh authorization code of tenant id.
func (e *tnEnv) code(t testing.TB, id string) string {
	t.Helper()
	w := e.authorize(id, tnCodeRequest())
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize at %s: %d %q %s", id, w.Code, w.Header().Get("Location"), w.Body)
	}
	return loc.Query().Get("code")
}

func (e *tnEnv) redeemForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {tnRedirect}, "code_verifier": {tnVerifier}}
}

// tokens returns a token response of tenant id.
func (e *tnEnv) tokens(t testing.TB, id string) oauthkit.TokenResponse {
	t.Helper()
	return tnOK(t, e.post(id, "/token", e.redeemForm(e.code(t, id))))
}

func tnOK(t testing.TB, w *httptest.ResponseRecorder) oauthkit.TokenResponse {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("token request: %d %s", w.Code, w.Body)
	}
	var tr oauthkit.TokenResponse
	if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

func tnErrorCode(w *httptest.ResponseRecorder) string {
	var body struct{ Error string }
	json.Unmarshal(w.Body.Bytes(), &body)
	return body.Error
}

func (e *tnEnv) active(t testing.TB, id, token string) bool {
	t.Helper()
	w := e.post(id, "/introspect", url.Values{"token": {token}})
	var body struct{ Active bool }
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &body) != nil {
		t.Fatalf("introspection at %s: %d %s", id, w.Code, w.Body)
	}
	return body.Active
}

// TestTenantsCrossTenant presents every artefact of tenant a at tenant b,
// whose client has the same ID and secret and whose records are in the
// same memory store: all are refused, and each still works at a afterwards
// (b's refusal used nothing up).
func TestTenantsCrossTenant(t *testing.T) {
	for _, format := range []string{"opaque", "jwt"} {
		t.Run(format, func(t *testing.T) {
			e := tnNewEnv(t, format == "jwt", "a", "b")
			t.Run("Code", func(t *testing.T) {
				code := e.code(t, "a")
				if w := e.post("b", "/token", e.redeemForm(code)); w.Code != http.StatusBadRequest || tnErrorCode(w) != "invalid_grant" {
					t.Errorf("a's code at b: %d %s, want invalid_grant", w.Code, w.Body)
				}
				tnOK(t, e.post("a", "/token", e.redeemForm(code)))
			})
			t.Run("RefreshToken", func(t *testing.T) {
				tr := e.tokens(t, "a")
				form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}}
				if w := e.post("b", "/token", form); w.Code != http.StatusBadRequest || tnErrorCode(w) != "invalid_grant" {
					t.Errorf("a's refresh token at b: %d %s, want invalid_grant", w.Code, w.Body)
				}
				tnOK(t, e.post("a", "/token", form))
			})
			t.Run("AccessTokenAtIntrospection", func(t *testing.T) {
				tr := e.tokens(t, "a")
				if e.active(t, "b", tr.AccessToken) {
					t.Error("a's access token is active at b's introspection")
				}
				if !e.active(t, "a", tr.AccessToken) {
					t.Error("a's access token is inactive at a")
				}
			})
			t.Run("AccessTokenAtBearer", func(t *testing.T) {
				tr := e.tokens(t, "a")
				for id, want := range map[string]bool{"b": false, "a": true} {
					srv, err := e.tenants.Server(t.Context(), id)
					if err != nil {
						t.Fatal(err)
					}
					mw, err := bearer.New(bearer.Config{Validator: bearer.Local(srv, "")})
					if err != nil {
						t.Fatal(err)
					}
					api := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
					r := httptest.NewRequest(http.MethodGet, tnHost+"/"+id+"/api", nil)
					r.Header.Set("Authorization", "Bearer "+tr.AccessToken)
					w := httptest.NewRecorder()
					api.ServeHTTP(w, r)
					if got := w.Code == http.StatusOK; got != want {
						t.Errorf("a's access token at %s's API: %d, want accepted %v", id, w.Code, want)
					}
				}
			})
			t.Run("RevocationAtOtherTenant", func(t *testing.T) {
				tr := e.tokens(t, "a")
				e.post("b", "/revoke", url.Values{"token": {tr.AccessToken}}) // 200 either way (RFC 7009 §2.2)
				if !e.active(t, "a", tr.AccessToken) {
					t.Error("b's revocation endpoint revoked a's token")
				}
			})
			t.Run("IDToken", func(t *testing.T) {
				tr := e.tokens(t, "a")
				if tr.IDToken == "" {
					t.Fatal("no ID token")
				}
				e.mu.Lock()
				ka, kb := e.keys["a"], e.keys["b"]
				e.mu.Unlock()
				if _, err := kb.Verify(tr.IDToken, "JWT", time.Now()); err == nil {
					t.Error("a's ID token verifies with b's keys")
				}
				c, err := ka.Verify(tr.IDToken, "JWT", time.Now())
				if err != nil || c.Issuer != tnHost+"/a" {
					t.Errorf("a's ID token at a: %+v, %v; want issuer %s/a", c, err, tnHost)
				}
			})
			t.Run("PushedRequestURI", func(t *testing.T) {
				w := e.post("a", "/par", tnCodeRequest())
				var par struct {
					RequestURI string `json:"request_uri"`
				}
				if w.Code != http.StatusCreated || json.Unmarshal(w.Body.Bytes(), &par) != nil {
					t.Fatalf("PAR at a: %d %s", w.Code, w.Body)
				}
				q := url.Values{"client_id": {tnClient}, "request_uri": {par.RequestURI}}
				if w := e.authorize("b", q); w.Code != http.StatusBadRequest || strings.Contains(w.Header().Get("Location"), "code=") {
					t.Errorf("a's request_uri at b: %d %q, want 400 and no code", w.Code, w.Header().Get("Location"))
				}
				if w := e.authorize("a", q); !strings.Contains(w.Header().Get("Location"), "code=") {
					t.Errorf("a's request_uri at a: %d %q, want a code", w.Code, w.Header().Get("Location"))
				}
			})
			t.Run("DeviceCode", func(t *testing.T) {
				w := e.post("a", "/device_authorization", url.Values{"scope": {"read"}})
				var da struct {
					DeviceCode string `json:"device_code"`
				}
				if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &da) != nil {
					t.Fatalf("device authorization at a: %d %s", w.Code, w.Body)
				}
				form := url.Values{"grant_type": {oauthkit.GrantTypeDeviceCode}, "device_code": {da.DeviceCode}}
				if w := e.post("b", "/token", form); tnErrorCode(w) != "invalid_grant" {
					t.Errorf("a's device code at b: %d %s, want invalid_grant", w.Code, w.Body)
				}
				if w := e.post("a", "/token", form); tnErrorCode(w) != "authorization_pending" {
					t.Errorf("a's device code at a: %d %s, want authorization_pending", w.Code, w.Body)
				}
			})
		})
	}
}

// TestTenantsMetadataAndKeys: each tenant publishes its own issuer at the
// RFC 8414 §3.1 and OpenID Connect Discovery paths, and its own keys.
func TestTenantsMetadataAndKeys(t *testing.T) {
	e := tnNewEnv(t, true, "a", "b")
	for _, id := range []string{"a", "b"} {
		for _, path := range []string{"/.well-known/oauth-authorization-server/" + id, "/" + id + "/.well-known/openid-configuration"} {
			w := e.do(httptest.NewRequest(http.MethodGet, tnHost+path, nil))
			var m oauthkit.Metadata
			if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &m) != nil {
				t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
			}
			if m.Issuer != tnHost+"/"+id || m.TokenEndpoint != tnHost+"/"+id+"/token" || m.JWKSURI != tnHost+"/"+id+"/jwks" {
				t.Errorf("GET %s: issuer %q, token endpoint %q, jwks_uri %q", path, m.Issuer, m.TokenEndpoint, m.JWKSURI)
			}
		}
		w := e.do(httptest.NewRequest(http.MethodGet, tnHost+"/"+id+"/jwks", nil))
		e.mu.Lock()
		want := string(e.keys[id].JWKS())
		e.mu.Unlock()
		if w.Code != http.StatusOK || w.Body.String() != want {
			t.Errorf("GET /%s/jwks: %d %s, want %s", id, w.Code, w.Body, want)
		}
	}
	if a, b := e.do(httptest.NewRequest(http.MethodGet, tnHost+"/a/jwks", nil)).Body.String(), e.do(httptest.NewRequest(http.MethodGet, tnHost+"/b/jwks", nil)).Body.String(); a == b {
		t.Error("tenants a and b publish the same keys")
	}
}

// TestTenantsUnknown: a request for an unknown tenant, or for none, gets
// the 404 of a mux without the route, telling nothing; a fault building a
// tenant is a 500, logged, and retried at the next request.
func TestTenantsUnknown(t *testing.T) {
	e := tnNewEnv(t, false, "a")
	plain := httptest.NewRecorder()
	http.NotFound(plain, httptest.NewRequest(http.MethodGet, "/", nil))
	for _, path := range []string{"/zz/token", "/.well-known/oauth-authorization-server/zz", "/zz/.well-known/openid-configuration", "/Bad%20ID/token"} {
		w := e.do(httptest.NewRequest(http.MethodPost, tnHost+path, strings.NewReader("grant_type=client_credentials")))
		if strings.Contains(path, ".well-known") {
			w = e.do(httptest.NewRequest(http.MethodGet, tnHost+path, nil))
		}
		if w.Code != http.StatusNotFound || w.Body.String() != plain.Body.String() {
			t.Errorf("%s: %d %q, want the mux's 404", path, w.Code, w.Body)
		}
	}
	tenants, _ := oauthkit.NewTenants(oauthkit.TenantsConfig{Tenant: func(*http.Request) string { return "" }, Server: e.build})
	w := httptest.NewRecorder()
	tenants.Handler((*oauthkit.Server).TokenHandler).ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/token", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("no tenant: %d, want 404", w.Code)
	}
	if _, err := oauthkit.NewTenants(oauthkit.TenantsConfig{}); err == nil {
		t.Error("NewTenants without Tenant succeeded")
	}

	e.add(t, "b")
	e.fail.Store(true)
	if w := e.post("b", "/token", e.redeemForm("x")); w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "10.0.0.9") {
		t.Errorf("build fault: %d %q, want 500 without the cause", w.Code, w.Body)
	}
	if !strings.Contains(e.log.String(), "10.0.0.9") || !strings.Contains(e.log.String(), "tenant=b") {
		t.Errorf("build fault not logged: %s", e.log.String())
	}
	e.fail.Store(false)
	if w := e.post("b", "/token", e.redeemForm("x")); tnErrorCode(w) != "invalid_grant" {
		t.Errorf("after the fault: %d %s, want the tenant served", w.Code, w.Body)
	}
}

// TestTenantsPanickingBuild: a panic of TenantsConfig.Server is a fault
// (500), not the end of the process.
func TestTenantsPanickingBuild(t *testing.T) {
	tenants, _ := oauthkit.NewTenants(oauthkit.TenantsConfig{
		Tenant: func(*http.Request) string { return "a" },
		Server: func(context.Context, string) (*oauthkit.Server, error) { panic("boom") },
		Logger: slog.New(slog.DiscardHandler),
	})
	w := httptest.NewRecorder()
	tenants.Handler((*oauthkit.Server).TokenHandler).ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/token", nil))
	if w.Code != http.StatusInternalServerError {
		t.Errorf("panicking build: %d, want 500", w.Code)
	}
	tenants, _ = oauthkit.NewTenants(oauthkit.TenantsConfig{
		Tenant: func(*http.Request) string { return "a" },
		Server: func(context.Context, string) (*oauthkit.Server, error) { return nil, nil },
	})
	if _, err := tenants.Server(t.Context(), "a"); err == nil || errors.Is(err, oauthkit.ErrUnknownTenant) {
		t.Errorf("nil Server and nil error: %v, want a fault", err)
	}
}

// TestTenantsAddRemove adds a tenant at run time, serves it, removes it:
// its endpoints are then 404 and nothing it issued is accepted anywhere;
// Set replaces a tenant's Server.
func TestTenantsAddRemove(t *testing.T) {
	e := tnNewEnv(t, false, "a")
	if w := e.post("c", "/token", e.redeemForm("x")); w.Code != http.StatusNotFound {
		t.Fatalf("c before it is added: %d", w.Code)
	}
	e.add(t, "c")
	tr := e.tokens(t, "c")
	if !e.active(t, "c", tr.AccessToken) {
		t.Fatal("c's token inactive at c")
	}
	e.mu.Lock()
	delete(e.known, "c")
	e.mu.Unlock()
	e.tenants.Remove("c")
	if w := e.post("c", "/introspect", url.Values{"token": {tr.AccessToken}}); w.Code != http.StatusNotFound {
		t.Errorf("c after Remove: %d, want 404", w.Code)
	}
	if e.active(t, "a", tr.AccessToken) {
		t.Error("removed c's token active at a")
	}
	if _, err := e.tenants.Server(t.Context(), "c"); !errors.Is(err, oauthkit.ErrUnknownTenant) {
		t.Errorf("Server(c) after Remove: %v", err)
	}

	// Set adds a tenant the build function does not know, and replaces it.
	srvA, err := e.tenants.Server(t.Context(), "a")
	if err != nil {
		t.Fatal(err)
	}
	e.tenants.Set("alias", srvA)
	if got, _ := e.tenants.Server(t.Context(), "alias"); got != srvA {
		t.Error("Set did not add the server")
	}
	e.add(t, "d")
	srvD, err := e.build(t.Context(), "d")
	if err != nil {
		t.Fatal(err)
	}
	e.tenants.Set("alias", srvD)
	if got, _ := e.tenants.Server(t.Context(), "alias"); got != srvD {
		t.Error("Set did not replace the server")
	}
}

// TestTenantsBuildOnce: concurrent first requests to a tenant build its
// Server once; a Remove during the build keeps its result out of the cache.
func TestTenantsBuildOnce(t *testing.T) {
	e := tnNewEnv(t, false, "a")
	slow := make(chan struct{})
	e.slow.Store(&slow)
	var wg sync.WaitGroup
	servers := make([]*oauthkit.Server, 50)
	for i := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			servers[i], _ = e.tenants.Server(context.Background(), "a")
		}()
	}
	time.Sleep(20 * time.Millisecond) // let them pile up on the build
	close(slow)
	wg.Wait()
	if n := e.builds.Load(); n != 1 {
		t.Errorf("%d builds for 50 concurrent first requests, want 1", n)
	}
	for _, s := range servers {
		if s == nil || s != servers[0] {
			t.Fatal("concurrent requests got different or no servers")
		}
	}

	// A request that gives up waiting leaves the build running.
	e.add(t, "b")
	slow = make(chan struct{})
	e.slow.Store(&slow)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	started := e.builds.Load()
	if _, err := e.tenants.Server(ctx, "b"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
	for e.builds.Load() == started { // the build runs on, waiting for slow
		runtime.Gosched()
	}
	e.tenants.Remove("b") // during the build: its result is not kept
	e.slow.Store(nil)
	close(slow)
	before := e.builds.Load()
	if _, err := e.tenants.Server(t.Context(), "b"); err != nil {
		t.Fatal(err)
	}
	if e.builds.Load() != before+1 {
		t.Error("the request after Remove found the stale build's server")
	}
}

// TestTenantsConcurrentFlows runs code flows, refreshes and cross-tenant
// attempts in 100 tenants at once over one shared store (with -race in
// CI): every flow succeeds at its own tenant and fails at its neighbour.
func TestTenantsConcurrentFlows(t *testing.T) {
	const n = 100
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("t%d", i)
	}
	e := tnNewEnv(t, false, ids...)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			other := ids[(i+1)%n]
			code := e.code(t, id)
			if w := e.post(other, "/token", e.redeemForm(code)); w.Code != http.StatusBadRequest {
				t.Errorf("%s's code at %s: %d", id, other, w.Code)
			}
			tr := tnOK(t, e.post(id, "/token", e.redeemForm(code)))
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}}
			if w := e.post(other, "/token", form); w.Code != http.StatusBadRequest {
				t.Errorf("%s's refresh token at %s: %d", id, other, w.Code)
			}
			next := tnOK(t, e.post(id, "/token", form))
			if e.active(t, other, next.AccessToken) || !e.active(t, id, next.AccessToken) {
				t.Errorf("%s's access token: active at %s, or inactive at its own tenant", id, other)
			}
		}()
	}
	wg.Wait()
	if got := e.builds.Load(); got != n {
		t.Errorf("%d builds for %d tenants", got, n)
	}
}

// TestServerHandleMetadata mounts one server's metadata at the paths its
// issuer gives: with a path (RFC 8414 §3.1 insertion, OpenID Connect
// appended) and without; the OpenID path only when OpenID Connect is on.
func TestServerHandleMetadata(t *testing.T) {
	keys, err := jwt.NewKeySet(mustKey(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		issuer string
		oidc   bool
		found  []string
		absent []string
	}{
		{"https://id.example.com/acme", true, []string{"/.well-known/oauth-authorization-server/acme", "/acme/.well-known/openid-configuration"}, []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"}},
		{"https://id.example.com/acme", false, []string{"/.well-known/oauth-authorization-server/acme"}, []string{"/acme/.well-known/openid-configuration"}},
		{"https://id.example.com", true, []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"}, nil},
	} {
		t.Run(fmt.Sprintf("%s/oidc=%v", tc.issuer, tc.oidc), func(t *testing.T) {
			store := memory.NewStore()
			cfg := oauthkit.Config{Issuer: tc.issuer, Clients: store, Codes: store, Tokens: store}
			if tc.oidc {
				cfg.IDTokens, cfg.Endpoints.JWKS = keys, tc.issuer+"/jwks"
			}
			srv, err := oauthkit.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			srv.HandleMetadata(mux)
			for _, path := range append(tc.found, tc.absent...) {
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
				var m oauthkit.Metadata
				json.Unmarshal(w.Body.Bytes(), &m)
				if want := slices.Contains(tc.found, path); (w.Code == http.StatusOK) != want || want && m.Issuer != tc.issuer {
					t.Errorf("GET %s: %d, issuer %q; want found %v", path, w.Code, m.Issuer, want)
				}
			}
		})
	}
}

func mustKey(t testing.TB) *jwt.Key {
	t.Helper()
	k, err := jwt.GenerateKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestJWKSHandler: the server's JWKS holds the keys of its ID tokens and of
// its JWT access tokens, each once; none without a KeyPublisher.
func TestJWKSHandler(t *testing.T) {
	idKeys, _ := jwt.NewKeySet(mustKey(t))
	atKeys, _ := jwt.NewKeySet(mustKey(t))
	kids := func(t *testing.T, cfg oauthkit.Config) []string {
		t.Helper()
		store := memory.NewStore()
		cfg.Issuer, cfg.Clients, cfg.Codes, cfg.Tokens = "https://id.example.com", store, store, store
		if cfg.IDTokens != nil {
			cfg.Endpoints.JWKS = "https://id.example.com/jwks"
		}
		srv, err := oauthkit.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		srv.JWKSHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/jwks", nil))
		var set struct{ Keys []struct{ Kid string } }
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &set) != nil || set.Keys == nil {
			t.Fatalf("JWKS: %d %s", w.Code, w.Body)
		}
		var out []string
		for _, k := range set.Keys {
			out = append(out, k.Kid)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		cfg  oauthkit.Config
		want []string
	}{
		{"None", oauthkit.Config{}, nil},
		{"OneKeySet", oauthkit.Config{IDTokens: idKeys, AccessTokens: &jwt.AccessTokens{Keys: idKeys}}, []string{idKeys.ActiveKeyID()}},
		{"TwoKeySets", oauthkit.Config{IDTokens: idKeys, AccessTokenFormats: map[string]oauthkit.TokenIssuer{"jwt": &jwt.AccessTokens{Keys: atKeys}}}, []string{idKeys.ActiveKeyID(), atKeys.ActiveKeyID()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, kids(t, tc.cfg)); diff != "" {
				t.Errorf("kids (-want +got):\n%s", diff)
			}
		})
	}
	store := memory.NewStore()
	srv, _ := oauthkit.New(oauthkit.Config{Issuer: "https://id.example.com", Clients: store, Codes: store, Tokens: store})
	w := httptest.NewRecorder()
	srv.JWKSHandler().ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/jwks", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", w.Code)
	}
}

// TestTenantsSetNil: Set with a nil Server is a programming error, caught
// at once rather than at the tenant's next request.
func TestTenantsSetNil(t *testing.T) {
	tenants, _ := oauthkit.NewTenants(oauthkit.TenantsConfig{Tenant: func(*http.Request) string { return "a" }})
	defer func() {
		if recover() == nil {
			t.Error("Set(id, nil) did not panic")
		}
	}()
	tenants.Set("a", nil)
}

// TestTenantsWithoutBuild: with no TenantsConfig.Server, only the tenants
// given to Set are served.
func TestTenantsWithoutBuild(t *testing.T) {
	e := tnNewEnv(t, false, "a")
	srv, err := e.tenants.Server(t.Context(), "a")
	if err != nil {
		t.Fatal(err)
	}
	tenants, _ := oauthkit.NewTenants(oauthkit.TenantsConfig{Tenant: func(r *http.Request) string { return r.PathValue("tenant") }})
	tenants.Set("a", srv)
	store := memory.NewStore()
	plain, err := oauthkit.New(oauthkit.Config{Issuer: tnHost + "/plain", Clients: store, Codes: store, Tokens: store})
	if err != nil {
		t.Fatal(err)
	}
	tenants.Set("plain", plain) // no OpenID Connect
	mux := http.NewServeMux()
	tenants.HandleMetadata(mux, "/{tenant}")
	for path, want := range map[string]int{
		"/.well-known/oauth-authorization-server/a": http.StatusOK, "/a/.well-known/openid-configuration": http.StatusOK,
		"/.well-known/oauth-authorization-server/b":     http.StatusNotFound,
		"/.well-known/oauth-authorization-server/plain": http.StatusOK, "/plain/.well-known/openid-configuration": http.StatusNotFound,
	} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != want {
			t.Errorf("GET %s: %d, want %d", path, w.Code, want)
		}
	}
}
