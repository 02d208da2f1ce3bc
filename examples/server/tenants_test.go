package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// tenantsConfigJSON has two tenants whose client and user have the same
// names and secrets: the worst case for isolation.
const tenantsConfigJSON = `{
  "tenants": [
    {"id": "acme", "clients": [{"id": "web", "secret": "web-secret-of-the-tenants", "redirect_uris": ["https://app.example/cb"], "scopes": ["openid", "read"], "grant_types": ["authorization_code", "refresh_token"]}],
     "users": [{"username": "alice", "password": "wonderland"}]},
    {"id": "globex", "clients": [{"id": "web", "secret": "web-secret-of-the-tenants", "redirect_uris": ["https://app.example/cb"], "scopes": ["openid", "read"], "grant_types": ["authorization_code", "refresh_token"]}],
     "users": [{"username": "alice", "password": "wonderland"}]}
  ]
}`

func startTenants(t *testing.T) *testServer {
	t.Helper()
	cfg, err := parseConfig("", strings.NewReader(tenantsConfigJSON))
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, cfg, false)
}

// tenantOAuth is the x/oauth2 configuration of tenant id's client.
func tenantOAuth(ts *testServer, id string) *oauth2.Config {
	iss := ts.issuer + "/" + id
	return &oauth2.Config{
		ClientID: "web", ClientSecret: "web-secret-of-the-tenants", Scopes: []string{"openid", "read"},
		Endpoint:    oauth2.Endpoint{AuthURL: iss + pathAuthorize, TokenURL: iss + pathToken, AuthStyle: oauth2.AuthStyleInHeader},
		RedirectURL: "https://app.example/cb",
	}
}

// TestTenantsMetadata: each tenant is an issuer of its own, {issuer}/{id},
// with its metadata at /.well-known/oauth-authorization-server/{id}
// (RFC 8414 §3.1) and {issuer}/{id}/.well-known/openid-configuration, its
// endpoints and keys under its path; an unknown tenant is 404.
func TestTenantsMetadata(t *testing.T) {
	ts := startTenants(t)
	var keys []string
	for _, id := range []string{"acme", "globex"} {
		iss := ts.issuer + "/" + id
		for _, u := range []string{ts.issuer + "/.well-known/oauth-authorization-server/" + id, iss + "/.well-known/openid-configuration"} {
			resp, err := ts.Client().Get(u)
			if err != nil {
				t.Fatal(err)
			}
			var m struct {
				Iss   string `json:"issuer"`
				Token string `json:"token_endpoint"`
				JWKS  string `json:"jwks_uri"`
			}
			err = json.NewDecoder(resp.Body).Decode(&m)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || m.Iss != iss || m.Token != iss+pathToken || m.JWKS != iss+pathJWKS {
				t.Errorf("GET %s: %d %+v, %v; want issuer %s", u, resp.StatusCode, m, err, iss)
			}
		}
		resp, err := ts.Client().Get(iss + pathJWKS)
		if err != nil {
			t.Fatal(err)
		}
		var set struct{ Keys []struct{ Kid string } }
		json.NewDecoder(resp.Body).Decode(&set)
		resp.Body.Close()
		if len(set.Keys) == 0 {
			t.Fatalf("%s publishes no keys", id)
		}
		keys = append(keys, set.Keys[0].Kid)
	}
	if keys[0] == keys[1] {
		t.Error("the tenants share a key")
	}
	resp, err := ts.Client().Get(ts.issuer + pathMetadata) // the server's own issuer stays
	if err != nil {
		t.Fatal(err)
	}
	var own struct {
		Issuer string `json:"issuer"`
	}
	json.NewDecoder(resp.Body).Decode(&own)
	resp.Body.Close()
	if own.Issuer != ts.issuer {
		t.Errorf("the server's own metadata: issuer %q, want %q", own.Issuer, ts.issuer)
	}
	for _, u := range []string{"/.well-known/oauth-authorization-server/initech", "/initech/token"} {
		resp, err := ts.Client().Get(ts.issuer + u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", u, resp.StatusCode)
		}
	}
}

// TestTenantsIsolation signs in at acme and presents everything acme
// issued (code, access and refresh tokens, the session cookie) at globex,
// whose client and user have the same names and secrets: all refused.
func TestTenantsIsolation(t *testing.T) {
	ts := startTenants(t)
	ctx := clientContext(t.Context(), ts)
	acme, globex := tenantOAuth(ts, "acme"), tenantOAuth(ts, "globex")
	ua := newAgent(t, ts.Client(), ts.issuer+"/acme")
	verifier := oauth2.GenerateVerifier()
	loc := ua.authorize(acme.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), actionApprove)
	code := loc.Query().Get("code")
	if code == "" || loc.Query().Get("iss") != ts.issuer+"/acme" {
		t.Fatalf("acme's redirect: %s", loc)
	}

	t.Run("Code", func(t *testing.T) {
		if _, err := globex.Exchange(ctx, code, oauth2.VerifierOption(verifier)); !isGrantError(err, "invalid_grant") {
			t.Errorf("acme's code at globex: %v, want invalid_grant", err)
		}
	})
	tok, err := acme.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("acme's code at acme: %v", err)
	}
	t.Run("AccessToken", func(t *testing.T) {
		for id, want := range map[string]int{"globex": http.StatusUnauthorized, "acme": http.StatusOK, "": http.StatusUnauthorized} {
			u := ts.issuer + "/" + id + pathAPIMe
			if id == "" {
				u = ts.issuer + pathAPIMe
			}
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("acme's access token at %s: %d, want %d", u, resp.StatusCode, want)
			}
		}
	})
	t.Run("RefreshToken", func(t *testing.T) {
		stale := &oauth2.Token{RefreshToken: tok.RefreshToken}
		if _, err := globex.TokenSource(ctx, stale).Token(); !isGrantError(err, "invalid_grant") {
			t.Errorf("acme's refresh token at globex: %v, want invalid_grant", err)
		}
		if _, err := acme.TokenSource(ctx, stale).Token(); err != nil {
			t.Errorf("acme's refresh token at acme: %v", err)
		}
	})
	t.Run("Session", func(t *testing.T) {
		// The agent is signed in at acme: globex asks it to sign in, and so
		// does globex with acme's session cookie sent under globex's name.
		sid := ua.cookie(ts.issuer+"/acme/", "oauthkit-session-acme")
		if sid == "" {
			t.Fatal("no session cookie scoped to /acme/")
		}
		if ua.cookie(ts.issuer+"/globex/", "oauthkit-session-acme") != "" || ua.cookie(ts.issuer+"/", "oauthkit-session-acme") != "" {
			t.Error("acme's session cookie is sent outside /acme/")
		}
		authURL := globex.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))
		if p := ua.get(authURL); !isLoginPage(p) {
			t.Errorf("globex with acme's session: status %d, want the login page", p.status)
		}
		req, _ := http.NewRequest(http.MethodGet, authURL, nil)
		req.AddCookie(&http.Cookie{Name: "oauthkit-session-globex", Value: sid})
		if p := newAgent(t, ts.Client(), ts.issuer+"/globex").do(req); !isLoginPage(p) {
			t.Errorf("globex with acme's session ID as its own cookie: status %d, want the login page", p.status)
		}
		if p := ua.get(acme.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))); isLoginPage(p) {
			t.Error("acme forgot its own session")
		}
	})
}

// isGrantError reports whether err is an RFC 6749 §5.2 error with code.
func isGrantError(err error, code string) bool {
	re, ok := err.(*oauth2.RetrieveError)
	return ok && re.ErrorCode == code
}

// TestTenantsConfigErrors: tenant IDs must fit a path segment, be unique
// and not shadow the server's own paths; a tenant needs clients, and its
// clients and users are checked as the server's are.
func TestTenantsConfigErrors(t *testing.T) {
	client := `{"id": "web", "secret": "s3cret-s3cret", "redirect_uris": ["https://app.example/cb"]}`
	for _, tc := range []struct{ name, tenants, want string }{
		{"BadID", `[{"id": "Acme", "clients": [` + client + `]}]`, "tenants[0].id"},
		{"EmptyID", `[{"clients": [` + client + `]}]`, "tenants[0].id"},
		{"Reserved", `[{"id": "token", "clients": [` + client + `]}]`, "tenants[0].id"},
		{"Duplicate", `[{"id": "a", "clients": [` + client + `]}, {"id": "a", "clients": [` + client + `]}]`, "tenants[1].id"},
		{"NoClients", `[{"id": "a"}]`, "tenants[0].clients"},
		{"BadClient", `[{"id": "a", "clients": [{"id": "web"}]}]`, "tenants[0].clients[0]"},
		{"BadUser", `[{"id": "a", "clients": [` + client + `], "users": [{"username": "bob"}]}]`, "tenants[0].users[0].password"},
		{"UnknownField", `[{"id": "a", "clients": [` + client + `], "issuer": "x"}]`, "tenants[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig("", strings.NewReader(`{"tenants": `+tc.tenants+`}`))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseConfig: %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

// TestTenantsSharedStore: the tenants' records are in the server's one
// store, each under its tenant; a tenant's client is not the server's.
func TestTenantsSharedStore(t *testing.T) {
	ts := startTenants(t)
	for _, id := range []string{"acme/web", "root/../acme/web"} {
		if _, err := ts.app.clients.Client(t.Context(), id); err == nil {
			t.Errorf("a tenant's client is reachable through the server's own client store as %q", id)
		}
	}
	if c, err := ts.app.tenants[0].clients.Client(t.Context(), "web"); err != nil || c.ID != "web" {
		t.Errorf("acme's client: %+v, %v", c, err)
	}
	if ts.app.tenants[0].server.Issuer() != ts.issuer+"/acme" {
		t.Errorf("acme's issuer %q", ts.app.tenants[0].server.Issuer())
	}
}
