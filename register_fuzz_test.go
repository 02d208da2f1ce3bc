package oauthkit_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// FuzzRegistration sends a fuzzed client metadata document to the
// registration endpoint (RFC 7591 §3.1). It must never panic or answer
// anything but 201 or 400; a client it registers must pass
// Client.Validate, and a 400 must carry an RFC 7591 §3.2.2 error.
// Run it with:
//
//	go test -run='^$' -fuzz='^FuzzRegistration$' -fuzztime=30s .
func FuzzRegistration(f *testing.F) {
	store := memory.NewStore()
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer: "https://as.example", Clients: store, Codes: store, Tokens: store,
		Grants:          []oauthkit.GrantHandler{grants.ClientCredentials{}},
		ScopesSupported: []string{"read", "write"},
		Registration: &oauthkit.RegistrationConfig{Store: store, GrantTypes: []string{
			oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken, oauthkit.GrantTypeClientCredentials}},
	})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.RegistrationHandler()
	f.Fuzz(func(t *testing.T, body string) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "https://as.example/register", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(w, r)
		var resp map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
			t.Fatalf("status %d, body %q: not JSON", w.Code, w.Body)
		}
		switch w.Code {
		case http.StatusCreated:
			id, _ := resp["client_id"].(string)
			c, err := store.Client(t.Context(), id)
			if err != nil {
				t.Fatalf("registered client %q not stored: %v", id, err)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("registered %q, which fails Validate: %v", body, err)
			}
			store.DeleteClient(t.Context(), id)
		case http.StatusBadRequest:
			switch resp["error"] {
			case "invalid_client_metadata", "invalid_redirect_uri", "invalid_request":
			default:
				t.Fatalf("400 with error %v", resp["error"])
			}
		default:
			t.Fatalf("status %d for %q (body %q)", w.Code, body, w.Body)
		}
	})
}
