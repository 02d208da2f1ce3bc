package bearer_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// The Introspection validator against oauthkit's own introspection
// endpoint: tokens issued by the token endpoint pass, with their scope and
// audience; revoked and unknown tokens are refused.
func TestIntrospectionAgainstOauthkit(t *testing.T) {
	svcSecret, svcHash, err := oauthkit.GenerateSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	rsHash, err := oauthkit.HashLowEntropySecret(rsSecret)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	as := httptest.NewServer(mux)
	defer as.Close()
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer: as.URL,
		Clients: memory.NewClients(
			&oauthkit.Client{
				ID: "svc", SecretHash: svcHash,
				GrantTypes: []string{oauthkit.GrantTypeClientCredentials},
				Scopes:     []string{"read", "write"},
				Audience:   []string{rsClientID},
			},
			// The resource server is a client of the authorization server,
			// with credentials only for introspection.
			&oauthkit.Client{ID: rsClientID, SecretHash: rsHash},
		),
		Codes:  memory.NewCodes(),
		Tokens: memory.NewTokens(),
		Grants: []oauthkit.GrantHandler{grants.ClientCredentials{}},
		Logger: discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("POST /token", srv.TokenHandler())
	mux.Handle("POST /introspect", srv.IntrospectionHandler())
	mux.Handle("POST /revoke", srv.RevocationHandler())

	post := func(path, user, pass string, form url.Values) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", as.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	issue := func() string {
		t.Helper()
		resp := post("/token", "svc", svcSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
		defer resp.Body.Close()
		var tok oauthkit.TokenResponse
		if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
			t.Fatalf("token response %d: %v", resp.StatusCode, err)
		}
		return tok.AccessToken
	}

	v, err := bearer.NewIntrospection(bearer.IntrospectionConfig{
		URL: as.URL + "/introspect", ClientID: rsClientID, ClientSecret: rsSecret,
		Issuer: as.URL, Audience: rsClientID, CacheTTL: -1, Logger: discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := bearer.New(bearer.Config{Validator: v, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}

	live := issue()
	revoked := issue()
	resp := post("/revoke", "svc", svcSecret, url.Values{"token": {revoked}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revocation: %d", resp.StatusCode)
	}

	tests := []struct {
		name        string
		token       string
		scopes      []string
		wantStatus  int
		wantSubject string
	}{
		{name: "issued token", token: live, scopes: []string{"read"}, wantStatus: http.StatusNoContent, wantSubject: "svc"},
		{name: "scope not granted", token: live, scopes: []string{"write"}, wantStatus: http.StatusForbidden},
		{name: "revoked token", token: revoked, wantStatus: http.StatusUnauthorized},
		{name: "unknown token", token: "2YotnFZFEjr1zCsicMWpAA", wantStatus: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := serve(m, request("GET", "/", "", "Authorization: Bearer "+tt.token), tt.scopes...)
			if got.Status != tt.wantStatus {
				t.Fatalf("status %d, want %d (WWW-Authenticate: %s)", got.Status, tt.wantStatus, got.Challenge)
			}
			if tt.wantSubject != "" && (got.Claims == nil || got.Claims.Subject != tt.wantSubject || got.Claims.ClientID != "svc") {
				t.Errorf("claims %+v, want subject and client %q", got.Claims, tt.wantSubject)
			}
			// A client_credentials token is the client's own, not a user's.
			if tt.wantSubject != "" && got.Claims != nil && !got.Claims.SubjectIsClient {
				t.Errorf("claims %+v of a client_credentials token: SubjectIsClient not set", got.Claims)
			}
		})
	}

	t.Run("wrong resource server credentials", func(t *testing.T) {
		v, err := bearer.NewIntrospection(bearer.IntrospectionConfig{
			URL: as.URL + "/introspect", ClientID: rsClientID, ClientSecret: "wrong", Logger: discard,
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Validate(context.Background(), live)
		if err == nil || errors.Is(err, bearer.ErrInvalidToken) || errors.Is(err, bearer.ErrUnavailable) {
			t.Errorf("error %v, want an internal fault", err)
		}
	})
}
