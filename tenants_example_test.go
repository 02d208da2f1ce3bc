package oauthkit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
	"github.com/oauthkit/oauthkit/storage/tenant"
)

// ExampleNewTenants serves two issuers from one shared store, each tenant
// under a path of its own, with its metadata where RFC 8414 §3.1 puts it.
func ExampleNewTenants() {
	store := memory.NewStore()
	known := map[string]bool{"acme": true, "globex": true}
	tenants, err := oauthkit.NewTenants(oauthkit.TenantsConfig{
		Tenant: func(r *http.Request) string { return r.PathValue("tenant") },
		Server: func(ctx context.Context, id string) (*oauthkit.Server, error) {
			if !known[id] {
				return nil, oauthkit.ErrUnknownTenant
			}
			view, err := tenant.Scope(store, id)
			if err != nil {
				return nil, err
			}
			return oauthkit.New(oauthkit.Config{
				Issuer:  "https://id.example.com/" + id,
				Clients: view, Codes: view, Tokens: view,
			})
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/{tenant}/token", tenants.Handler((*oauthkit.Server).TokenHandler))
	tenants.HandleMetadata(mux, "/{tenant}")

	for _, path := range []string{"/.well-known/oauth-authorization-server/acme", "/.well-known/oauth-authorization-server/initech"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		var m oauthkit.Metadata
		json.Unmarshal(w.Body.Bytes(), &m)
		fmt.Println(w.Code, m.Issuer, m.TokenEndpoint)
	}
	// Output:
	// 200 https://id.example.com/acme https://id.example.com/acme/token
	// 404
}
