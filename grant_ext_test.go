package oauthkit_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/jwt"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// deviceLikeGrant stands for an extension grant that finishes an
// authorization made elsewhere, as RFC 8628's device grant does: it issues
// an ID token with the authorization's nonce, and continues a grant.
type deviceLikeGrant struct{}

func (deviceLikeGrant) GrantType() string { return "urn:example:device_like" }

func (deviceLikeGrant) HandleGrant(_ context.Context, req *oauthkit.TokenRequest) (*oauthkit.Grant, error) {
	return &oauthkit.Grant{
		Subject: "alice", Scope: []string{"openid", "read"}, RefreshToken: true,
		IDToken: true, Nonce: req.Form.Get("nonce"), GrantID: req.Form.Get("continue"),
	}, nil
}

// TestExtensionGrantIDTokenAndContinuation checks that an extension grant
// can ask for an ID token and continue an existing grant, as the built-in
// code grant does.
func TestExtensionGrantIDTokenAndContinuation(t *testing.T) {
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
	store := memory.NewStore(&oauthkit.Client{ID: "tv", SecretHash: hash, Scopes: []string{"openid", "read"},
		GrantTypes: []string{"urn:example:device_like", oauthkit.GrantTypeRefreshToken}})
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer: "https://auth.example.com", Clients: store, Codes: store, Tokens: store,
		IDTokens: keys, Endpoints: oauthkit.Endpoints{JWKS: "https://auth.example.com/jwks", Revocation: "https://auth.example.com/revoke"},
		Grants: []oauthkit.GrantHandler{deviceLikeGrant{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &issuanceEnv{srv: srv, secret: secret}
	status, first := e.token("tv", url.Values{"grant_type": {"urn:example:device_like"}, "nonce": {"n-1"}})
	if status != 200 {
		t.Fatalf("first: %d %v", status, first)
	}
	idToken, _ := first["id_token"].(string)
	if idToken == "" {
		t.Fatalf("no id_token in %v", first)
	}
	if claims := jwtPayload(t, idToken); claims["nonce"] != "n-1" || claims["sub"] != "alice" || claims["at_hash"] == nil {
		t.Errorf("ID token claims %v", claims)
	}
	tok, err := srv.ValidateAccessToken(t.Context(), first["access_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	status, second := e.token("tv", url.Values{"grant_type": {"urn:example:device_like"}, "continue": {tok.GrantID}})
	if status != 200 {
		t.Fatalf("second: %d %v", status, second)
	}
	next, err := srv.ValidateAccessToken(t.Context(), second["access_token"].(string))
	if err != nil || next.GrantID != tok.GrantID {
		t.Fatalf("continued token: %+v, %v; want grant %s", next, err, tok.GrantID)
	}
	// Revoking the first refresh token revokes the grant, continued tokens
	// included (RFC 7009 §2.1).
	if err := store.RevokeGrant(t.Context(), tok.GrantID); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.ValidateAccessToken(t.Context(), second["access_token"].(string)); err == nil {
		t.Error("a token of the continued grant outlived its revocation")
	}
}
