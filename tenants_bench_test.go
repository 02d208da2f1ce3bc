package oauthkit_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/oauthkit/oauthkit"
)

// BenchmarkTenantResolution measures what resolving the tenant adds to a
// request for one tenant among 10 000: an endpoint that does nothing (so
// that only routing is measured) or the metadata endpoint, served through
// Tenants.Handler ("Tenants") and, as the baseline in the same run, mounted
// on the same mux pattern directly ("Direct").
func BenchmarkTenantResolution(b *testing.B) {
	const n = 10_000
	e := tnNewEnv(b, false, "t0")
	srv, err := e.tenants.Server(b.Context(), "t0")
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i < n; i++ { // loaded tenants: servers sharing t0's, as the map is what is measured
		e.tenants.Set(fmt.Sprintf("t%d", i), srv)
	}
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	mux := http.NewServeMux()
	mux.Handle("GET /direct/noop/{tenant}", noop)
	mux.Handle("GET /tenants/noop/{tenant}", e.tenants.Handler(func(*oauthkit.Server) http.Handler { return noop }))
	mux.Handle("GET /direct/metadata/{tenant}", srv.MetadataHandler())
	mux.Handle("GET /tenants/metadata/{tenant}", e.tenants.Handler((*oauthkit.Server).MetadataHandler))
	for _, name := range []string{"Noop/Direct", "Noop/Tenants", "Metadata/Direct", "Metadata/Tenants"} {
		b.Run(name, func(b *testing.B) {
			endpoint, via, _ := strings.Cut(strings.ToLower(name), "/")
			path := "/" + via + "/" + endpoint + "/t4321"
			r := httptest.NewRequest(http.MethodGet, path, nil)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				mux.ServeHTTP(w, r)
			}
			if w.code != http.StatusOK {
				b.Fatalf("status %d", w.code)
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing but the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(p), nil
}
func (w *discardWriter) WriteHeader(code int) { w.code = code }

// BenchmarkTenantBuild measures creating a tenant: TenantsConfig.Server of
// the test host (a view of the shared store, a new ES256 key, New with PAR,
// device flow and OpenID Connect on) and its first resolution.
func BenchmarkTenantBuild(b *testing.B) {
	e := tnNewEnv(b, true)
	e.mu.Lock()
	e.known["t"] = true
	e.mu.Unlock()
	b.ReportAllocs()
	for b.Loop() {
		e.tenants.Remove("t")
		if _, err := e.tenants.Server(b.Context(), "t"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTenantMemory reports the heap an idle tenant keeps (its Server,
// Config, keys and cached metadata, and its Tenants entry), measured with
// runtime.MemStats around building 1 000 tenants.
func BenchmarkTenantMemory(b *testing.B) {
	const n = 1000
	for b.Loop() {
		b.StopTimer()
		e := tnNewEnv(b, true)
		e.mu.Lock()
		for i := range n {
			e.known[fmt.Sprintf("t%d", i)] = true
		}
		e.mu.Unlock()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		for i := range n {
			if _, err := e.tenants.Server(b.Context(), fmt.Sprintf("t%d", i)); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/tenant")
		runtime.KeepAlive(e)
		b.StartTimer()
	}
}
