package postgres

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/tenant"
)

// TestServerTenants serves two tenants from one PostgreSQL store, each
// through its storage/tenant view and oauthkit.Tenants, with a client of the
// same ID and secret: a code, a refresh token and an access token of one
// are refused at the other (issue 11), and work at their own.
func TestServerTenants(t *testing.T) {
	store := newTestDB(t).store(t)
	tenants, err := oauthkit.NewTenants(oauthkit.TenantsConfig{
		Tenant: func(r *http.Request) string { return r.PathValue("tenant") },
		Server: func(_ context.Context, id string) (*oauthkit.Server, error) {
			view, err := tenant.Scope(store, id)
			if err != nil {
				return nil, err
			}
			return oauthkit.New(oauthkit.Config{
				Issuer:    "https://id.example.com/" + id,
				Endpoints: oauthkit.Endpoints{Introspection: "https://id.example.com/" + id + "/introspect"},
				Clients:   view, Codes: view, Tokens: view,
				Authorizer: oauthkit.AuthorizerFunc(func(http.ResponseWriter, *http.Request, *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
					return &oauthkit.Consent{Subject: "alice", AuthTime: time.Now()}, nil
				}),
				Logger: slog.New(slog.DiscardHandler),
			})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/{tenant}/authorize", tenants.Handler((*oauthkit.Server).AuthorizeHandler))
	mux.Handle("/{tenant}/token", tenants.Handler((*oauthkit.Server).TokenHandler))
	mux.Handle("/{tenant}/introspect", tenants.Handler((*oauthkit.Server).IntrospectionHandler))
	for _, id := range []string{"a", "b"} {
		view, err := tenant.Scope(store, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := view.CreateClient(t.Context(), testClient(t)); err != nil {
			t.Fatal(err)
		}
	}
	post := func(id, path string, form url.Values) (int, map[string]any) {
		r := httptest.NewRequest(http.MethodPost, "/"+id+path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth(testClientID, testSecret)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		var body map[string]any
		json.Unmarshal(w.Body.Bytes(), &body)
		return w.Code, body
	}
	verifier := oauth2.GenerateVerifier()
	q := url.Values{"response_type": {"code"}, "client_id": {testClientID}, "redirect_uri": {testRedirectURI}, "scope": {"read"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/a/authorize?"+q.Encode(), nil))
	loc, _ := url.Parse(w.Header().Get("Location"))
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("authorize at a: %d %q", w.Code, w.Header().Get("Location"))
	}

	if status, body := post("b", "/token", codeForm(code, verifier)); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("a's code at b: %d %v, want invalid_grant", status, body)
	}
	status, tok := post("a", "/token", codeForm(code, verifier))
	if status != http.StatusOK {
		t.Fatalf("a's code at a: %d %v", status, tok)
	}
	access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
	if status, body := post("b", "/token", refreshForm(refresh)); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("a's refresh token at b: %d %v, want invalid_grant", status, body)
	}
	if _, body := post("b", "/introspect", url.Values{"token": {access}}); body["active"] != false {
		t.Errorf("a's access token at b's introspection: %v, want inactive", body)
	}
	if _, body := post("a", "/introspect", url.Values{"token": {access}}); body["active"] != true {
		t.Errorf("a's access token at a's introspection: %v, want active", body)
	}
	if status, body := post("a", "/token", refreshForm(refresh)); status != http.StatusOK {
		t.Errorf("a's refresh token at a: %d %v", status, body)
	}
}
