package oauthkit_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/jwt"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// importGrant imports the access_token and refresh_token it is sent through
// Grant.ImportAccessToken and ImportRefreshToken, with no issuance hook.
type importGrant struct{}

func (importGrant) GrantType() string { return "urn:example:import" }

func (importGrant) HandleGrant(_ context.Context, req *oauthkit.TokenRequest) (*oauthkit.Grant, error) {
	return &oauthkit.Grant{
		Subject: "alice", Scope: []string{"read"}, RefreshToken: true,
		ImportAccessToken: req.Form.Get("access_token"), ImportRefreshToken: req.Form.Get("refresh_token"),
	}, nil
}

// newImportEnv is a server with importGrant for the clients "svc"
// (opaque), "jwt" (JWT access tokens) and "norefresh" (not registered for
// refresh_token), and the issuance hook hook, if not nil.
func newImportEnv(t *testing.T, hook oauthkit.IssuanceHook) *issuanceEnv {
	t.Helper()
	secret, hash, err := oauthkit.GenerateSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwt.GenerateKey(jwt.ES256)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwt.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	grantTypes := []string{"urn:example:import", oauthkit.GrantTypeRefreshToken}
	store := memory.NewStore(
		&oauthkit.Client{ID: "svc", SecretHash: hash, GrantTypes: grantTypes, Scopes: []string{"read"}},
		&oauthkit.Client{ID: "jwt", SecretHash: hash, GrantTypes: grantTypes, Scopes: []string{"read"}, AccessTokenFormat: "jwt"},
		&oauthkit.Client{ID: "norefresh", SecretHash: hash, GrantTypes: grantTypes[:1], Scopes: []string{"read"}},
	)
	e := &issuanceEnv{secret: secret, keys: keys}
	e.srv, err = oauthkit.New(oauthkit.Config{
		Issuer: "https://auth.example.com", Clients: store, Codes: store, Tokens: store,
		AccessTokenFormats: map[string]oauthkit.TokenIssuer{"jwt": &jwt.AccessTokens{Keys: keys}},
		Grants:             []oauthkit.GrantHandler{grants.ClientCredentials{}, importGrant{}},
		Issuance:           hook,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func importForm(access, refresh string) url.Values {
	f := url.Values{"grant_type": {"urn:example:import"}, "access_token": {access}}
	if refresh != "" {
		f.Set("refresh_token", refresh)
	}
	return f
}

// TestGrantImport imports token values through the Grant's fields, with no
// issuance hook: they are the response, work as any token (validation,
// rotation), and pass the same screen as the hook's imports.
func TestGrantImport(t *testing.T) {
	e := newImportEnv(t, nil)
	for _, client := range []string{"svc", "jwt"} {
		t.Run(client, func(t *testing.T) {
			access, refresh := "imp-AT-9f8e7d6c5b4a3928170"+client+"6f5e4d3c2b1a0ZyXwVu", "imp-RT-0a1b2c3d4e5f6071829"+client+"3a4b5c6d7e8f9AbCdEf"
			status, body := e.token(client, importForm(access, refresh))
			if status != 200 || body["access_token"] != access || body["refresh_token"] != refresh || body["token_type"] != "Bearer" {
				t.Fatalf("%d %v, want the imported values back", status, body)
			}
			tok, err := e.srv.ValidateAccessToken(t.Context(), access)
			if err != nil || tok.Subject != "alice" || tok.ID != oauthkit.HashToken(access) || tok.ClientID != client {
				t.Fatalf("imported access token: %+v, %v", tok, err)
			}
			if status, body := e.token(client, importForm(access, refresh+"x")); status != 400 || body["error"] != "invalid_grant" {
				t.Errorf("access token imported twice: %d %v, want invalid_grant", status, body)
			}
			status, body = e.token(client, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
			if status != 200 || body["refresh_token"] == refresh || body["access_token"] == access {
				t.Fatalf("refresh with the imported token: %d %v", status, body)
			}
			if status, body := e.token(client, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}); status != 400 || body["error"] != "invalid_grant" {
				t.Errorf("the rotated imported refresh token: %d %v, want invalid_grant", status, body)
			}
		})
	}
	good := "imp-ok-0a1b2c3d4e5f60718293a4b5c6d7e8f9AbCdEf"
	for name, form := range map[string]url.Values{
		"short":        importForm("0a1b2c3d4e5f", ""),
		"words":        importForm("password1password1password1password1", ""),
		"low variety":  importForm(strings.Repeat("ab", 20), ""),
		"space":        importForm("has space 0123456789abcdefghijklmnopqrstuv", ""),
		"non-ASCII":    importForm("non-ASCII-é-0123456789abcdefghijklmnopqrstuv", ""),
		"bad refresh":  importForm(good, "short"),
		"same values":  importForm(good, good),
		"refresh only": {"grant_type": {"urn:example:import"}, "refresh_token": {strings.Repeat("ab", 20)}},
	} {
		if status, body := e.token("svc", form); status != 400 || body["error"] != "invalid_request" {
			t.Errorf("%s: %d %v, want invalid_request", name, status, body)
		}
	}
	if _, err := e.srv.ValidateAccessToken(t.Context(), good); err == nil {
		t.Error("a refused import left its access token behind")
	}
	// A client that may not refresh gets no refresh token, and the value
	// it sent is not stored.
	refresh := "imp-RT-norefresh-0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	status, body := e.token("norefresh", importForm("imp-AT-norefresh-0a1b2c3d4e5f60718293a4b5c6d7e8f9", refresh))
	if status != 200 || body["refresh_token"] != nil {
		t.Errorf("client without refresh_token: %d %v, want no refresh token", status, body)
	}
	if status, _ := e.token("svc", importForm("imp-AT-other-0a1b2c3d4e5f60718293a4b5c6d7e8f9", refresh)); status != 200 {
		t.Errorf("the refresh value not issued before was taken: %d", status)
	}
}

// TestGrantImportHook checks that the grant's imported values reach the
// issuance hook, which may keep, replace or drop them.
func TestGrantImportHook(t *testing.T) {
	access, replaced := "imp-AT-hook-0a1b2c3d4e5f60718293a4b5c6d7e8f9", "imp-AT-repl-0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	var seen string
	e := newImportEnv(t, oauthkit.IssuanceFunc(func(_ context.Context, iss *oauthkit.Issuance) error {
		seen = iss.AccessToken
		switch iss.Form["mode"][0] {
		case "replace":
			iss.AccessToken = replaced
		case "drop":
			iss.AccessToken = ""
		case "weak":
			iss.AccessToken = "weak"
		}
		return nil
	}))
	form := importForm(access, "")
	form.Set("mode", "keep")
	if status, body := e.token("svc", form); status != 200 || body["access_token"] != access || seen != access {
		t.Fatalf("keep: %d %v, hook saw %q", status, body, seen)
	}
	form = importForm(access+"2", "")
	form.Set("mode", "replace")
	if status, body := e.token("svc", form); status != 200 || body["access_token"] != replaced || seen != access+"2" {
		t.Fatalf("replace: %d %v, hook saw %q", status, body, seen)
	}
	form.Set("mode", "drop")
	if status, body := e.token("svc", form); status != 200 || body["access_token"] == access+"2" || body["access_token"] == "" {
		t.Fatalf("drop: %d %v, want a new value", status, body)
	}
	form = importForm(access+"3", "")
	form.Set("mode", "weak")
	if status, body := e.token("svc", form); status != 400 || body["error"] != "invalid_request" {
		t.Fatalf("weak value from the hook: %d %v, want invalid_request", status, body)
	}
}
