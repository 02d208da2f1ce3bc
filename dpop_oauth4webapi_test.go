package oauthkit_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/dpop"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// TestDPoPOAuth4WebAPI has an independent client, the npm package
// oauth4webapi (testdata/oauth4webapi/client.mjs, its DPoP() handle), redeem
// a code, call a DPoP-protected resource, refresh and call it again against
// a server that requires nonces; and a second key fail to use the tokens.
// It needs node and `npm ci` in testdata/oauth4webapi.
func TestDPoPOAuth4WebAPI(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the oauth4webapi interop test needs it")
	}
	dir := filepath.Join("testdata", "oauth4webapi")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oauth4webapi", "package.json")); err != nil {
		t.Skip("oauth4webapi is not installed: run `npm ci` in testdata/oauth4webapi")
	}

	const redirect = "https://app.example.com/cb"
	store := memory.NewStore(&oauthkit.Client{ID: "spa", RedirectURIs: []string{redirect},
		GrantTypes: []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken}, Scopes: []string{"read"}})
	nonces, err := dpop.NewNonces(bytes.Repeat([]byte{7}, 32), 0)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	defer ts.Close()
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer: ts.URL, Clients: store, Codes: store, Tokens: store, ReplayCache: store,
		DPoP:   &oauthkit.DPoPConfig{Nonces: nonces},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	api, err := bearer.New(bearer.Config{Validator: bearer.Local(srv, ""), Logger: slog.New(slog.DiscardHandler),
		DPoP: &bearer.DPoPConfig{Origin: ts.URL, Replay: store, Nonces: nonces}})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/token", srv.TokenHandler())
	mux.Handle("/.well-known/oauth-authorization-server", srv.MetadataHandler())
	mux.Handle("GET /api/me", api.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := bearer.FromContext(r.Context())
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"sub": c.Subject, "jkt": c.JKT})
	}), "read"))

	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	sum := sha256.Sum256([]byte(verifier))
	code := "code-" + strings.Repeat("x", 40)
	if err := store.CreateCode(t.Context(), &oauthkit.AuthorizationCode{
		ID: oauthkit.HashToken(code), GrantID: "g1", ClientID: "spa", RedirectURI: redirect, RedirectURIParam: true,
		Subject: "alice", Scope: []string{"read"},
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]), CodeChallengeMethod: "S256",
		ExpiresAt: time.Now().Add(time.Minute),
	}); err != nil {
		t.Fatal(err)
	}

	cmd := exec.CommandContext(t.Context(), node, "client.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ISSUER="+ts.URL, "CLIENT_ID=spa", "CODE="+code, "CODE_VERIFIER="+verifier,
		"REDIRECT_URI="+redirect, "RESOURCE="+ts.URL+"/api/me")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("client.mjs: %v\n%s", err, stderr.String())
	}
	var got struct {
		TokenType          string `json:"token_type"`
		First              resourceCall
		RefreshedTokenType string `json:"refreshed_token_type"`
		Second             resourceCall
		ThiefRefresh       string `json:"thief_refresh"`
		ThiefResource      string `json:"thief_resource"`
		AccessToken        string `json:"access_token"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("client.mjs printed %q: %v", out, err)
	}
	tok, err := srv.ValidateAccessToken(t.Context(), got.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	call := resourceCall{Status: 200, Body: map[string]string{"sub": "alice", "jkt": tok.JKT}}
	want := struct {
		TokenType          string `json:"token_type"`
		First              resourceCall
		RefreshedTokenType string `json:"refreshed_token_type"`
		Second             resourceCall
		ThiefRefresh       string `json:"thief_refresh"`
		ThiefResource      string `json:"thief_resource"`
		AccessToken        string `json:"access_token"`
	}{"dpop", call, "dpop", call, "invalid_grant", "bearer: dpop:invalid_token", got.AccessToken}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("oauth4webapi saw (-want +got):\n%s", diff)
	}
	if tok.JKT == "" {
		t.Error("the access token is not bound")
	}
}

type resourceCall struct {
	Status int               `json:"status"`
	Body   map[string]string `json:"body"`
}
