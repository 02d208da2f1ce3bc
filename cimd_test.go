package oauthkit_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// docServer is an https server of client ID metadata documents, counting
// the requests for each path.
type docServer struct {
	ts    *httptest.Server
	mu    sync.Mutex
	docs  map[string]http.HandlerFunc
	count map[string]int
}

func newDocServer(t *testing.T) *docServer { return newDocServerB(t) }

func newDocServerB(t testing.TB) *docServer {
	d := &docServer{docs: map[string]http.HandlerFunc{}, count: map[string]int{}}
	d.ts = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		h := d.docs[r.URL.Path]
		d.count[r.URL.Path]++
		d.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(d.ts.Close)
	return d
}

// url returns the URL of path, the client ID of the document there.
func (d *docServer) url(path string) string { return d.ts.URL + path }

// serve serves a JSON document at path, with a Cache-Control header if
// cacheControl is set.
func (d *docServer) serve(path string, doc map[string]any, cacheControl string) {
	d.handle(path, func(w http.ResponseWriter, r *http.Request) {
		if cacheControl != "" {
			w.Header().Set("Cache-Control", cacheControl)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(doc)
	})
}

func (d *docServer) handle(path string, h http.HandlerFunc) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.docs[path] = h
}

func (d *docServer) hits(path string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.count[path]
}

// tlsConfig trusts the server's certificate.
func (d *docServer) tlsConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(d.ts.Certificate())
	return &tls.Config{RootCAs: pool}
}

// docStore returns the store of documents of d, on a loopback address.
func docStore(t *testing.T, d *docServer, change func(*oauthkit.ClientIDMetadataDocumentConfig)) *oauthkit.ClientIDMetadataDocumentClients {
	t.Helper()
	cfg := oauthkit.ClientIDMetadataDocumentConfig{
		Scopes: []string{"read", "write"}, TLS: d.tlsConfig(), InsecureAllowPrivateAddresses: true,
		FetchTimeout: 2 * time.Second,
	}
	if change != nil {
		change(&cfg)
	}
	s, err := oauthkit.ClientIDMetadataDocuments(memory.NewClients(&oauthkit.Client{ID: "local"}), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func publicDoc(id string) map[string]any {
	return map[string]any{
		"client_id":                  id,
		"client_name":                "Documented App",
		"client_uri":                 "https://app.example/",
		"redirect_uris":              []string{"http://127.0.0.1/callback"},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"token_endpoint_auth_method": "none",
	}
}

func TestClientIDMetadataDocumentFlow(t *testing.T) {
	d := newDocServer(t)
	id := d.url("/oauth/client.json")
	d.serve("/oauth/client.json", publicDoc(id), "max-age=300")

	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	store := memory.NewStore()
	clients := docStore(t, d, nil)
	logs := &syncLog{}
	srv, err := oauthkit.New(oauthkit.Config{Issuer: ts.URL, Clients: clients, Codes: store, Tokens: store,
		Authorizer: e2eConsent("alice"), ScopesSupported: []string{"read"},
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/authorize", srv.AuthorizeHandler())
	mux.Handle("/token", srv.TokenHandler())
	mux.Handle("/.well-known/oauth-authorization-server", srv.MetadataHandler())
	var md struct {
		Supported bool `json:"client_id_metadata_document_supported"`
	}
	getJSON(t, ts.Client(), ts.URL+"/.well-known/oauth-authorization-server", &md)
	if !md.Supported {
		t.Error("client_id_metadata_document_supported is not true")
	}
	e := &e2eEnv{ts: ts, tokens: store.Tokens, logs: logs, ctx: context.WithValue(t.Context(), oauth2.HTTPClient, ts.Client()),
		meta: e2eDiscover(t, ts.Client(), ts.URL)}
	conf := e.config(id, "", oauth2.AuthStyleInParams, "read")
	conf.RedirectURL = "http://127.0.0.1:50000/callback"
	tok := e.codeFlow(t, conf)
	if _, err := e2eRefresh(e, conf, tok.RefreshToken); err != nil {
		t.Errorf("refresh: %v", err)
	}
	if n := d.hits("/oauth/client.json"); n != 1 {
		t.Errorf("document fetched %d times, want once (cached)", n)
	}
	if logs.String() != "" {
		t.Errorf("logged: %s", logs)
	}
	c, err := clients.Client(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Public() || c.Name != "Documented App" || c.Registration.ClientURI != "https://app.example/" ||
		strings.Join(c.Scopes, " ") != "read write" {
		t.Errorf("client %+v", c)
	}
	if c, err := clients.Client(t.Context(), "local"); err != nil || c.ID != "local" {
		t.Errorf("a client of the wrapped store: %v, %v", c, err)
	}
}

func TestClientIDMetadataDocumentRefused(t *testing.T) {
	d := newDocServer(t)
	target := newDocServer(t) // where redirects point: must never be reached
	target.serve("/doc", publicDoc(target.url("/doc")), "")
	tests := []struct {
		name    string
		path    string
		handler func(id string) http.HandlerFunc // nil: no document served
		change  func(*oauthkit.ClientIDMetadataDocumentConfig)
		want    string // part of the error
	}{
		{name: "mismatched client_id", path: "/a", handler: docHandler(func(id string) map[string]any { return publicDoc(id + "x") }), want: "client_id is not its URL"},
		{name: "no client_id", path: "/a", handler: docHandler(func(id string) map[string]any { m := publicDoc(id); delete(m, "client_id"); return m }), want: "client_id is not its URL"},
		{name: "client secret", path: "/a", handler: docHandler(func(id string) map[string]any { m := publicDoc(id); m["client_secret"] = "s"; return m }), want: "client secret"},
		{name: "secret auth method", path: "/a", handler: docHandler(func(id string) map[string]any {
			m := publicDoc(id)
			m["token_endpoint_auth_method"] = "client_secret_basic"
			return m
		}), want: "token_endpoint_auth_method"},
		{name: "client_credentials", path: "/a", handler: docHandler(func(id string) map[string]any {
			m := publicDoc(id)
			m["grant_types"] = []string{"client_credentials"}
			return m
		}), want: "grant_types"},
		{name: "bad redirect URI", path: "/a", handler: docHandler(func(id string) map[string]any {
			m := publicDoc(id)
			m["redirect_uris"] = []string{"http://evil.example/cb"}
			return m
		}), want: "redirect_uris[0]"},
		{name: "not found", path: "/missing", want: "404"},
		{name: "wrong content type", path: "/a", handler: func(string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.Write([]byte("{}"))
			}
		}, want: "application/json"},
		{name: "not JSON", path: "/a", handler: func(string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte("<html>"))
			}
		}, want: "not a JSON object"},
		{name: "huge", path: "/a", handler: func(id string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				m := publicDoc(id)
				m["client_name"] = strings.Repeat("x", 6000)
				json.NewEncoder(w).Encode(m)
			}
		}, want: "larger than 5120 bytes"},
		{name: "endless", path: "/a", handler: func(string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"client_name":"`))
				for r.Context().Err() == nil {
					if _, err := w.Write([]byte(strings.Repeat("x", 1024))); err != nil {
						return
					}
				}
			}
		}, want: "larger than"},
		{name: "slow headers", path: "/a", handler: func(string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
		}, change: func(c *oauthkit.ClientIDMetadataDocumentConfig) { c.FetchTimeout = 100 * time.Millisecond }, want: "Timeout"},
		{name: "slow body", path: "/a", handler: func(string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"client_id":`))
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}
			// Cut off at the timeout: the truncated document is refused
			// (or the read's timeout, whichever the client sees first).
		}, change: func(c *oauthkit.ClientIDMetadataDocumentConfig) { c.FetchTimeout = 100 * time.Millisecond }, want: ""},
		{name: "redirect", path: "/a", handler: func(string) http.HandlerFunc {
			return http.RedirectHandler(target.url("/doc"), http.StatusFound).ServeHTTP
		}, want: "302"},
		{name: "redirect to the metadata address", path: "/a", handler: func(string) http.HandlerFunc {
			return http.RedirectHandler("https://169.254.169.254/latest/meta-data/", http.StatusTemporaryRedirect).ServeHTTP
		}, want: "307"},
		{name: "loopback without the insecure switch", path: "/a", handler: docHandler(publicDoc),
			change: func(c *oauthkit.ClientIDMetadataDocumentConfig) { c.InsecureAllowPrivateAddresses = false }, want: "not public"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := d.url(tt.path)
			if tt.handler != nil {
				d.handle(tt.path, tt.handler(id))
			}
			s := docStore(t, d, tt.change)
			_, err := s.Client(t.Context(), id)
			if !errors.Is(err, oauthkit.ErrNotFound) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Client: %v, want ErrNotFound with %q", err, tt.want)
			}
		})
	}
	if n := target.hits("/doc"); n != 0 {
		t.Errorf("a redirect was followed: the target was fetched %d times", n)
	}
}

// docHandler serves the document doc makes for the request's URL.
func docHandler(doc func(id string) map[string]any) func(id string) http.HandlerFunc {
	return func(id string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(doc(id))
		}
	}
}

func TestClientIDMetadataDocumentPrivateAddresses(t *testing.T) {
	// Names and literals that resolve to addresses that are not public:
	// refused at dial time, after resolution, whatever the name.
	s, err := oauthkit.ClientIDMetadataDocuments(memory.NewClients(), oauthkit.ClientIDMetadataDocumentConfig{FetchTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{
		"https://127.0.0.1/client.json",
		"https://localhost/client.json",
		"https://[::1]/client.json",
		"https://10.0.0.1/client.json",
		"https://169.254.169.254/latest/meta-data",
		"https://[::ffff:127.0.0.1]/client.json",
		"https://0.0.0.0/client.json",
		"https://2130706433/client.json", // 127.0.0.1 as one number
	} {
		_, err := s.Client(t.Context(), id)
		if !errors.Is(err, oauthkit.ErrNotFound) || !strings.Contains(err.Error(), "not public") && !strings.Contains(err.Error(), "no such host") {
			t.Errorf("Client(%s): %v, want ErrNotFound refusing the address", id, err)
		}
	}
}

func TestClientIDMetadataDocumentInvalidURLs(t *testing.T) {
	d := newDocServer(t)
	s := docStore(t, d, nil)
	for _, id := range []string{
		d.url(""), // no path
		d.url("/a#frag"),
		d.url("/a/../b"),
		d.url("/a/./b"),
		d.url("/a/%2e%2E/b"),
		"https://user:pw@" + strings.TrimPrefix(d.url("/a"), "https://"),
		"https:opaque",
	} {
		_, err := s.Client(t.Context(), id)
		if !errors.Is(err, oauthkit.ErrNotFound) {
			t.Errorf("Client(%q): %v, want ErrNotFound", id, err)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.count) != 0 {
		t.Errorf("fetched for invalid client IDs: %v", d.count)
	}
	// An http client ID is no URL client ID: the wrapped store's.
	if _, err := s.Client(t.Context(), "http://app.example/client.json"); !errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("http client ID: %v", err)
	}
}

func TestClientIDMetadataDocumentCache(t *testing.T) {
	d := newDocServer(t)
	clock := &regClock{t: time.Now()}
	s := docStore(t, d, func(c *oauthkit.ClientIDMetadataDocumentConfig) {
		c.Now = clock.Now
		c.MinCacheAge, c.MaxCacheAge = time.Minute, time.Hour
	})
	tests := []struct {
		name         string
		cacheControl string
		fresh, stale time.Duration // still cached after fresh, fetched again after stale
	}{
		{"max-age", "public, max-age=600", 599 * time.Second, 600 * time.Second},
		{"floor", "max-age=1", 59 * time.Second, time.Minute},
		{"no-store at the floor", "no-store", 59 * time.Second, time.Minute},
		{"none at the floor", "", 59 * time.Second, time.Minute},
		{"ceiling", "max-age=86400", 59 * time.Minute, time.Hour},
		{"malformed", "max-age=soon", 59 * time.Second, time.Minute},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/c" + string(rune('a'+i))
			id := d.url(path)
			d.serve(path, publicDoc(id), tt.cacheControl)
			get := func() {
				t.Helper()
				if _, err := s.Client(t.Context(), id); err != nil {
					t.Fatal(err)
				}
			}
			get()
			start := clock.Now()
			clock.t = start.Add(tt.fresh)
			get()
			if n := d.hits(path); n != 1 {
				t.Errorf("after %v: fetched %d times, want 1", tt.fresh, n)
			}
			clock.t = start.Add(tt.stale)
			get()
			if n := d.hits(path); n != 2 {
				t.Errorf("after %v: fetched %d times, want 2", tt.stale, n)
			}
		})
	}
	// A failure is remembered for the floor.
	id := d.url("/gone")
	for range 3 {
		s.Client(t.Context(), id)
	}
	if n := d.hits("/gone"); n != 1 {
		t.Errorf("a 404 fetched %d times, want 1", n)
	}
	clock.Advance(time.Minute)
	s.Client(t.Context(), id)
	if n := d.hits("/gone"); n != 2 {
		t.Errorf("a 404 after the floor: fetched %d times, want 2", n)
	}
}

func TestClientIDMetadataDocumentConcurrent(t *testing.T) {
	d := newDocServer(t)
	id := d.url("/slow")
	release := make(chan struct{})
	var started atomic.Bool
	d.handle("/slow", func(w http.ResponseWriter, r *http.Request) {
		started.Store(true)
		<-release
		docHandler(publicDoc)(id)(w, r)
	})
	s := docStore(t, d, nil)
	const n = 100
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = s.Client(t.Context(), id) })
	}
	for !started.Load() {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond) // let the others join the fetch
	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("lookup %d: %v", i, err)
		}
	}
	if h := d.hits("/slow"); h != 1 {
		t.Errorf("%d concurrent lookups fetched %d times, want once", n, h)
	}
}

func TestClientIDMetadataDocumentConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  oauthkit.ClientIDMetadataDocumentConfig
	}{
		{"secret method", oauthkit.ClientIDMetadataDocumentConfig{AuthMethods: []string{"client_secret_basic"}}},
		{"client_credentials", oauthkit.ClientIDMetadataDocumentConfig{GrantTypes: []string{"client_credentials"}}},
		{"negative", oauthkit.ClientIDMetadataDocumentConfig{MaxBytes: -1}},
		{"ceiling below floor", oauthkit.ClientIDMetadataDocumentConfig{MinCacheAge: time.Hour, MaxCacheAge: time.Minute}},
	} {
		if _, err := oauthkit.ClientIDMetadataDocuments(memory.NewClients(), tc.cfg); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, err := oauthkit.ClientIDMetadataDocuments(nil, oauthkit.ClientIDMetadataDocumentConfig{}); err == nil {
		t.Error("nil store: no error")
	}
}

// A refused document is an unknown client, never its metadata's error code:
// the caller answers invalid_client (or, at the authorization endpoint,
// an error page).
func TestClientIDMetadataDocumentErrorIsNotFoundOnly(t *testing.T) {
	d := newDocServer(t)
	id := d.url("/bad")
	m := publicDoc(id)
	m["redirect_uris"] = []string{"http://evil.example/cb"}
	d.serve("/bad", m, "")
	_, err := docStore(t, d, nil).Client(t.Context(), id)
	if !errors.Is(err, oauthkit.ErrNotFound) || errors.Is(err, oauthkit.ErrInvalidRedirectURI) {
		t.Errorf("Client: %v, want ErrNotFound and no protocol error", err)
	}
}

// Fetches running at once are bounded: beyond the bound a lookup of a new
// URL fails at once with ErrUnavailable, and nothing is cached for it.
func TestClientIDMetadataDocumentFetchesBounded(t *testing.T) {
	d := newDocServer(t)
	release := make(chan struct{})
	var arrived sync.WaitGroup
	const running = 16
	arrived.Add(running)
	for i := range running + 1 {
		path := "/slow" + string(rune('a'+i))
		d.handle(path, func(w http.ResponseWriter, r *http.Request) {
			arrived.Done()
			<-release
			docHandler(publicDoc)(d.url(path))(w, r)
		})
	}
	s := docStore(t, d, nil)
	var wg sync.WaitGroup
	for i := range running {
		wg.Go(func() { s.Client(t.Context(), d.url("/slow"+string(rune('a'+i)))) })
	}
	arrived.Wait()
	last := d.url("/slow" + string(rune('a'+running)))
	if _, err := s.Client(t.Context(), last); !errors.Is(err, oauthkit.ErrUnavailable) {
		t.Errorf("a fetch beyond the bound: %v, want ErrUnavailable", err)
	}
	close(release)
	wg.Wait()
	arrived.Add(1)
	if _, err := s.Client(t.Context(), last); err != nil {
		t.Errorf("after the others finished: %v", err)
	}
}
