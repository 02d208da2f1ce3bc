package oauthkit_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// Dynamic client registration (RFC 7591): registration guarded by an initial
// access token, clients registered into the same store every endpoint reads,
// and each client's registration managed at its registration_client_uri
// (RFC 7592).
func ExampleServer_RegistrationHandler() {
	store := memory.NewStore()
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:  "https://as.example",
		Clients: store, Codes: store, Tokens: store,
		ScopesSupported: []string{"read", "write"},
		Registration: &oauthkit.RegistrationConfig{
			Store:              store,
			InitialAccessToken: oauthkit.InitialAccessTokens("host-issued-initial-token"),
		},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/register", srv.RegistrationHandler())
	mux.Handle("/register/", srv.RegistrationHandler())
	fmt.Println("registration_endpoint:", srv.Metadata().RegistrationEndpoint)

	// A native app registers itself.
	r := httptest.NewRequest(http.MethodPost, "https://as.example/register", strings.NewReader(
		`{"redirect_uris": ["http://127.0.0.1/callback"], "token_endpoint_auth_method": "none", "client_name": "CLI"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer host-issued-initial-token")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	var info oauthkit.ClientInformation
	json.Unmarshal(w.Body.Bytes(), &info)
	fmt.Println(w.Code, info.GrantTypes, info.ResponseTypes, info.Scope)

	// It reads its registration back with its registration access token.
	r = httptest.NewRequest(http.MethodGet, info.RegistrationClientURI, nil)
	r.Header.Set("Authorization", "Bearer "+info.RegistrationAccessToken)
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	fmt.Println(w.Code)
	// Output:
	// registration_endpoint: https://as.example/register
	// 201 [authorization_code] [code] read write
	// 200
}

// A client may name itself by the https URL of its client ID metadata
// document: wrap the store, and every endpoint knows such clients. The
// server publishes client_id_metadata_document_supported.
func ExampleClientIDMetadataDocuments() {
	store := memory.NewStore()
	clients, err := oauthkit.ClientIDMetadataDocuments(store, oauthkit.ClientIDMetadataDocumentConfig{
		Scopes: []string{"mcp:tools"}, // what such clients may ask for
	})
	if err != nil {
		panic(err)
	}
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:  "https://as.example",
		Clients: clients, Codes: store, Tokens: store,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(srv.Metadata().ClientIDMetadataDocumentSupported)
	// Output: true
}

// Open registration with a cap on the clients each source has at a time:
// the store counts and inserts atomically (a ClientCapper, as the memory
// and PostgreSQL stores are), and a client that deletes its registration
// frees its place and loses its tokens (a ClientRevoker token store).
func ExampleRegistrationConfig_maxClientsPerSource() {
	store := memory.NewStore()
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:  "https://as.example",
		Clients: store, Codes: store, Tokens: store,
		Registration: &oauthkit.RegistrationConfig{
			Store:               store,
			MaxClientsPerSource: 2,
		},
		RateLimiter: &oauthkit.TokenBucket{Rate: 1, Burst: 20},
	})
	if err != nil {
		panic(err)
	}
	h := srv.RegistrationHandler()
	register := func() (int, oauthkit.ClientInformation) {
		r := httptest.NewRequest(http.MethodPost, "https://as.example/register",
			strings.NewReader(`{"redirect_uris": ["https://app.example/cb"]}`))
		r.Header.Set("Content-Type", "application/json")
		r.RemoteAddr = "192.0.2.1:50000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var info oauthkit.ClientInformation
		json.Unmarshal(w.Body.Bytes(), &info)
		return w.Code, info
	}
	_, first := register()
	_, _ = register()
	code, _ := register()
	fmt.Println("third:", code)

	r := httptest.NewRequest(http.MethodDelete, first.RegistrationClientURI, nil)
	r.Header.Set("Authorization", "Bearer "+first.RegistrationAccessToken)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	code, _ = register()
	fmt.Println("after a deletion:", w.Code, code)
	// Output:
	// third: 403
	// after a deletion: 204 201
}
