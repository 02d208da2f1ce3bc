package oauthkit_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/jwt"
)

// TestJWTIdentifierIsNoToken checks that a JWT access token's jti, readable
// in its payload, is refused wherever an access token is accepted, and that
// a JWT whose signing key was retired is refused everywhere too: a presented
// string only ever matches the kind of token it is.
func TestJWTIdentifierIsNoToken(t *testing.T) {
	e := svcNewEnv(t, func(c *oauthkit.Config) {
		// OpenID Connect on, for userinfo.
		c.IDTokens = c.AccessTokenFormats["jwt"].(*jwt.AccessTokens).Keys
		c.Endpoints.JWKS = c.Issuer + "/jwks"
	})
	tr := svcCodeFlow(t, e, "jwt-app", "openid read")
	jti := svcJTI(t, tr.AccessToken)

	// The JWT itself is accepted everywhere, which gives the refusals
	// below their meaning.
	if !presentedTokenWorks(t, e, tr.AccessToken) {
		t.Fatal("the live JWT is refused; the fixture is broken")
	}
	if presentedTokenWorks(t, e, jti) {
		t.Error("the jti of a live JWT was accepted as an access token")
	}
	// Revoking by jti changes nothing: the JWT stays valid.
	svcWantRevoked(t, svcRevoke(e, "jwt-app", jti, ""))
	if !presentedTokenWorks(t, e, tr.AccessToken) {
		t.Error("revoking the jti revoked the JWT")
	}

	// Retire the key that signed the token.
	key, err := jwt.GenerateKey(jwt.ES256)
	if err != nil {
		t.Fatal(err)
	}
	old := e.signer.ActiveKeyID()
	if err := e.signer.Rotate(key); err != nil {
		t.Fatal(err)
	}
	if err := e.signer.Retire(old); err != nil {
		t.Fatal(err)
	}
	if presentedTokenWorks(t, e, tr.AccessToken) {
		t.Error("a JWT signed by a retired key was accepted")
	}
	if presentedTokenWorks(t, e, jti) {
		t.Error("the jti of a JWT signed by a retired key was accepted")
	}
}

// presentedTokenWorks presents token at every place that accepts an access
// token and reports whether all accepted it; it fails the test if some
// accept it and others do not.
func presentedTokenWorks(t *testing.T, e *svcEnv, token string) bool {
	t.Helper()
	results := map[string]bool{}

	_, err := e.srv.ValidateAccessToken(t.Context(), token)
	if err != nil && !errors.Is(err, oauthkit.ErrNotFound) {
		t.Fatalf("ValidateAccessToken: %v", err)
	}
	results["ValidateAccessToken"] = err == nil

	_, err = bearer.Local(e.srv, "").Validate(t.Context(), token)
	results["bearer.Local"] = err == nil

	r := httptest.NewRequest(http.MethodGet, svcIssuer+"/userinfo", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	e.srv.UserInfoHandler().ServeHTTP(rec, r)
	results["userinfo"] = rec.Code == http.StatusOK

	results["introspection"] = svcIntrospect(t, e, "jwt-app", token)["active"] == true

	all, any := true, false
	for _, ok := range results {
		all, any = all && ok, any || ok
	}
	if any && !all {
		t.Errorf("token %.12q… accepted only by some: %v", token, results)
	}
	return all
}
