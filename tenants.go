package oauthkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/oauthkit/oauthkit/internal/flight"
)

// ErrUnknownTenant is what TenantsConfig.Server returns, wrapped or not, for
// an ID that names no tenant; Tenants answers the request with 404.
var ErrUnknownTenant = errors.New("oauthkit: unknown tenant")

// TenantsConfig configures Tenants.
type TenantsConfig struct {
	// Tenant returns the ID of the tenant a request is for, such as
	// r.PathValue("tenant") for handlers mounted under "/{tenant}/", or ""
	// for none (404). Required.
	Tenant func(r *http.Request) string

	// Server returns the Server of the tenant id: its own Config, with an
	// Issuer of its own (such as "https://id.example.com/" + id), its
	// stores scoped to the tenant (storage/tenant), its keys, lifetimes and
	// policy. For an ID that names no tenant it returns an error wrapping
	// ErrUnknownTenant; it is asked again at the next request for that ID,
	// so an unknown ID must be cheap to refuse. Any other error is a fault:
	// logged and answered with 500, and retried at the next request.
	//
	// It is called once for concurrent first requests to a tenant, under a
	// context that keeps the first request's values but not its
	// cancellation, and its Server is kept until Remove or Set. Nil serves
	// only the tenants given to Set.
	Server func(ctx context.Context, id string) (*Server, error)

	// Logger receives the faults of Server. Nil means slog.Default().
	Logger *slog.Logger
}

// Tenants serves many issuers from one process: it finds the tenant of each
// request with TenantsConfig.Tenant and serves it with that tenant's own
// immutable Server, built by TenantsConfig.Server on first use and kept,
// as crypto/tls's Config.GetConfigForClient resolves a configuration per
// connection. The tenant is never passed through a context: every
// endpoint, store and key is the tenant's Server's own, so nothing issued
// by one tenant is valid at another that keeps its records apart (give
// each tenant stores of its own or a view of a shared store,
// storage/tenant). Tenants are added and removed at run time with Set and
// Remove.
//
// Tenants is safe for concurrent use.
type Tenants struct {
	cfg     TenantsConfig
	log     *slog.Logger
	servers sync.Map // tenant ID → *Server

	mu       sync.Mutex
	building map[string]*tenantBuild // builds in progress, by tenant ID
}

// tenantBuild is one call of TenantsConfig.Server.
type tenantBuild struct {
	call  *flight.Call[*Server]
	stale bool // Remove or Set came during the build: its result is not kept
}

// NewTenants validates cfg and returns a Tenants with no tenant built yet.
func NewTenants(cfg TenantsConfig) (*Tenants, error) {
	if cfg.Tenant == nil {
		return nil, errors.New("oauthkit: TenantsConfig.Tenant is required")
	}
	t := &Tenants{cfg: cfg, log: cfg.Logger, building: make(map[string]*tenantBuild)}
	if t.log == nil {
		t.log = slog.Default()
	}
	return t, nil
}

// Server returns the Server of tenant id, building it with
// TenantsConfig.Server on first use. It returns an error wrapping
// ErrUnknownTenant if id names no tenant, or ctx's error if ctx ends first
// (the build goes on for the other requests).
func (t *Tenants) Server(ctx context.Context, id string) (*Server, error) {
	if s, ok := t.servers.Load(id); ok {
		return s.(*Server), nil
	}
	if id == "" || t.cfg.Server == nil {
		return nil, ErrUnknownTenant
	}
	c, s := t.build(ctx, id)
	if s != nil {
		return s, nil
	}
	return c.Wait(ctx)
}

// build returns the build of tenant id in progress, or starts one, or
// returns the Server if it was built since the caller looked. Nobody joins
// the call, so the build finishes even if every request waiting for it goes
// away: the next one finds the server.
func (t *Tenants) build(ctx context.Context, id string) (*flight.Call[*Server], *Server) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.servers.Load(id); ok {
		return nil, s.(*Server)
	}
	if b := t.building[id]; b != nil {
		return b.call, nil
	}
	b := &tenantBuild{call: flight.New[*Server](ctx)}
	t.building[id] = b
	go t.run(id, b)
	return b.call, nil
}

// run calls TenantsConfig.Server for tenant id and keeps the Server, unless
// Remove or Set came meanwhile.
func (t *Tenants) run(id string, b *tenantBuild) {
	s, err := t.callServer(b.call.Ctx, id)
	t.mu.Lock()
	if t.building[id] == b {
		delete(t.building, id)
	}
	if err == nil && !b.stale {
		t.servers.Store(id, s)
	}
	t.mu.Unlock()
	b.call.Finish(s, err)
}

// callServer calls TenantsConfig.Server, turning its panic or a nil Server
// into an error: it runs on a goroutine of its own, where a panic would end
// the process.
func (t *Tenants) callServer(ctx context.Context, id string) (s *Server, err error) {
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("oauthkit: TenantsConfig.Server panicked: %v", p)
		}
	}()
	s, err = t.cfg.Server(ctx, id)
	if err == nil && s == nil {
		err = errors.New("oauthkit: TenantsConfig.Server returned neither a Server nor an error")
	}
	return s, err
}

// Set makes s the Server of tenant id, adding the tenant or replacing its
// Server (after a change of its configuration, say): requests that resolve
// the tenant from now on get s. A build of id in progress is not kept.
func (t *Tenants) Set(id string, s *Server) {
	if s == nil {
		panic("oauthkit: Tenants.Set with a nil Server")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.forgetBuild(id)
	t.servers.Store(id, s)
}

// Remove forgets the Server of tenant id, and any build of it in progress:
// the next request for id asks TenantsConfig.Server again, which refuses it
// (ErrUnknownTenant) once the host has deleted the tenant, or builds it
// afresh. Requests already being served finish with the old Server. The
// tenant's records stay in its stores until the host deletes them.
func (t *Tenants) Remove(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.forgetBuild(id)
	t.servers.Delete(id)
}

// forgetBuild marks a build of id in progress stale. t.mu is held.
func (t *Tenants) forgetBuild(id string) {
	if b := t.building[id]; b != nil {
		b.stale = true
		delete(t.building, id)
	}
}

// Handler returns a handler that resolves each request's tenant and serves
// it with endpoint of the tenant's Server, such as
// (*Server).TokenHandler: mount one per endpoint at the paths of the
// tenants' Endpoints. A request for no tenant or an unknown one gets 404,
// as from a mux with no such route, which tells nothing about tenants; a
// fault of TenantsConfig.Server gets 500.
func (t *Tenants) Handler(endpoint func(*Server) http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := t.resolve(w, r); s != nil {
			endpoint(s).ServeHTTP(w, r)
		}
	})
}

// resolve returns the Server of r's tenant, or answers r and returns nil.
func (t *Tenants) resolve(w http.ResponseWriter, r *http.Request) *Server {
	id := t.cfg.Tenant(r)
	if s, ok := t.servers.Load(id); ok { // the hot path: no allocation
		return s.(*Server)
	}
	s, err := t.Server(r.Context(), id)
	switch {
	case err == nil:
		return s
	case errors.Is(err, ErrUnknownTenant):
		http.NotFound(w, r)
	case r.Context().Err() != nil: // the client went away
	default:
		t.log.ErrorContext(r.Context(), "oauthkit: building a tenant's server failed", "tenant", id, "error", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	}
	return nil
}
