package oauthkit_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/jwt"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// externalGrant stands for seed 001's external_token grant: the tokens to
// issue are the values the client sends, imported through the issuance
// hook (the password check is left out here).
type externalGrant struct{}

func (externalGrant) GrantType() string { return "urn:example:external_token" }

func (externalGrant) HandleGrant(_ context.Context, req *oauthkit.TokenRequest) (*oauthkit.Grant, error) {
	return &oauthkit.Grant{Subject: req.Form.Get("username"), RefreshToken: true}, nil
}

// issuanceEnv is a server with the issuance hook hook, a JWT client "jwt"
// and an opaque one "svc", both with client_credentials, refresh and the
// external grant.
type issuanceEnv struct {
	srv    *oauthkit.Server
	secret string
	keys   *jwt.KeySet
	log    *bytes.Buffer
}

func newIssuanceEnv(t *testing.T, hook oauthkit.IssuanceFunc) *issuanceEnv {
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
	grantTypes := []string{oauthkit.GrantTypeClientCredentials, oauthkit.GrantTypeRefreshToken, "urn:example:external_token"}
	store := memory.NewStore(
		&oauthkit.Client{ID: "svc", SecretHash: hash, GrantTypes: grantTypes, Scopes: []string{"read"}},
		&oauthkit.Client{ID: "jwt", SecretHash: hash, GrantTypes: grantTypes, Scopes: []string{"read"}, AccessTokenFormat: "jwt"},
	)
	e := &issuanceEnv{secret: secret, keys: keys, log: &bytes.Buffer{}}
	e.srv, err = oauthkit.New(oauthkit.Config{
		Issuer: "https://auth.example.com", Clients: store, Codes: store, Tokens: store,
		AccessTokenFormats: map[string]oauthkit.TokenIssuer{"jwt": &jwt.AccessTokens{Keys: keys}},
		Grants:             []oauthkit.GrantHandler{grants.ClientCredentials{}, externalGrant{}},
		Issuance:           hook,
		Logger:             slog.New(slog.NewTextHandler(e.log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *issuanceEnv) token(client string, form url.Values) (int, map[string]any) {
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(client, e.secret)
	rec := httptest.NewRecorder()
	e.srv.TokenHandler().ServeHTTP(rec, r)
	var body map[string]any
	json.Unmarshal(rec.Body.Bytes(), &body)
	return rec.Code, body
}

// jwtPayload decodes a JWT's claims without verifying it (the test made it).
func jwtPayload(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

var ccForm = url.Values{"grant_type": {"client_credentials"}}

// TestIssuanceHook checks what the hook may decide: lifetimes, claims,
// response parameters, the token type; and that what it may not (a
// registered claim or response parameter, a lifetime of zero) is a fault,
// logged and answered server_error.
func TestIssuanceHook(t *testing.T) {
	t.Run("Lifetimes", func(t *testing.T) {
		e := newIssuanceEnv(t, func(_ context.Context, iss *oauthkit.Issuance) error {
			if iss.GrantType == oauthkit.GrantTypeClientCredentials {
				iss.AccessTokenLifetime = 1799 * time.Second
			}
			return nil
		})
		status, body := e.token("svc", ccForm)
		if status != 200 || body["expires_in"] != float64(1799) {
			t.Fatalf("%d %v, want expires_in 1799", status, body)
		}
		tok, err := e.srv.ValidateAccessToken(t.Context(), body["access_token"].(string))
		if err != nil || time.Until(tok.ExpiresAt) > 1800*time.Second || time.Until(tok.ExpiresAt) < 1790*time.Second {
			t.Errorf("stored token %+v, %v; want it to expire in 1799 s", tok, err)
		}
	})
	t.Run("ClaimsAndResponse", func(t *testing.T) {
		e := newIssuanceEnv(t, func(_ context.Context, iss *oauthkit.Issuance) error {
			iss.AccessTokenClaims = map[string]any{"tenant": "acme", "token_use": "access"}
			iss.Response = []oauthkit.Param{{Name: "issued_token_type", Value: "urn:ietf:params:oauth:token-type:access_token"}}
			iss.TokenType = "N_A"
			return nil
		})
		status, body := e.token("jwt", ccForm)
		if status != 200 || body["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" || body["token_type"] != "N_A" {
			t.Fatalf("%d %v", status, body)
		}
		claims := jwtPayload(t, body["access_token"].(string))
		if claims["tenant"] != "acme" || claims["token_use"] != "access" || claims["sub"] != "jwt" {
			t.Errorf("claims %v, want tenant and token_use added, sub kept", claims)
		}
		if _, err := e.srv.ValidateAccessToken(t.Context(), body["access_token"].(string)); err != nil {
			t.Errorf("the JWT with extra claims does not validate: %v", err)
		}
	})
	faults := []struct {
		name string
		hook oauthkit.IssuanceFunc
		want string
	}{
		{"registered claim", func(_ context.Context, iss *oauthkit.Issuance) error {
			iss.AccessTokenClaims = map[string]any{"sub": "admin"}
			return nil
		}, "claim sub"},
		{"registered ID token claim", func(_ context.Context, iss *oauthkit.Issuance) error {
			iss.IDTokenClaims = map[string]any{"nonce": "x"}
			return nil
		}, "claim nonce"},
		{"registered response parameter", func(_ context.Context, iss *oauthkit.Issuance) error {
			iss.Response = []oauthkit.Param{{Name: "access_token", Value: "x"}}
			return nil
		}, "parameter access_token"},
		{"zero lifetime", func(_ context.Context, iss *oauthkit.Issuance) error {
			iss.AccessTokenLifetime = 0
			return nil
		}, "lifetime"},
		{"bad token type", func(_ context.Context, iss *oauthkit.Issuance) error {
			iss.TokenType = "Bearer token"
			return nil
		}, "token type"},
		{"claims for an opaque token", func(_ context.Context, iss *oauthkit.Issuance) error {
			iss.AccessTokenClaims = map[string]any{"tenant": "acme"}
			return nil
		}, "ClaimsIssuer"},
	}
	for _, tc := range faults {
		t.Run(tc.name, func(t *testing.T) {
			e := newIssuanceEnv(t, tc.hook)
			if status, body := e.token("svc", ccForm); status != 500 || body["error"] != "server_error" {
				t.Errorf("%d %v, want 500 server_error", status, body)
			}
			if !strings.Contains(e.log.String(), tc.want) {
				t.Errorf("log %q lacks %q", e.log.String(), tc.want)
			}
		})
	}
	t.Run("Refused", func(t *testing.T) {
		e := newIssuanceEnv(t, func(context.Context, *oauthkit.Issuance) error {
			return oauthkit.ErrInvalidGrant.WithDescription("the user is blocked")
		})
		if status, body := e.token("svc", ccForm); status != 400 || body["error_description"] != "the user is blocked" {
			t.Errorf("%d %v, want the hook's invalid_grant", status, body)
		}
	})
}

// TestImportedTokens runs seed 001's external_token: the values the client
// sends become this server's tokens, stored as hashes, and work as any
// other: introspection, refresh with rotation, revocation.
func TestImportedTokens(t *testing.T) {
	e := newIssuanceEnv(t, func(_ context.Context, iss *oauthkit.Issuance) error {
		if iss.GrantType == "urn:example:external_token" {
			iss.AccessToken = iss.Form["access_token"][0]
			iss.RefreshToken = iss.Form["refresh_token"][0]
		}
		return nil
	})
	access, refresh := "ext-AT-9f8e7d6c5b4a39281706f5e4d3c2b1a0ZyXwVu", "ext-RT-0a1b2c3d4e5f60718293a4b5c6d7e8f9AbCdEf"
	form := url.Values{"grant_type": {"urn:example:external_token"}, "username": {"alice"}, "access_token": {access}, "refresh_token": {refresh}}
	status, body := e.token("svc", form)
	if status != 200 || body["access_token"] != access || body["refresh_token"] != refresh {
		t.Fatalf("%d %v, want the imported values back", status, body)
	}
	tok, err := e.srv.ValidateAccessToken(t.Context(), access)
	if err != nil || tok.Subject != "alice" || tok.ID != oauthkit.HashToken(access) {
		t.Fatalf("imported access token: %+v, %v", tok, err)
	}
	// The same values again: in use.
	if status, body := e.token("svc", form); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("imported twice: %d %v, want invalid_grant", status, body)
	}
	// The imported refresh token rotates like any other.
	status, body = e.token("svc", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	if status != 200 || body["refresh_token"] == refresh {
		t.Fatalf("refresh with the imported token: %d %v", status, body)
	}
	if status, _ := e.token("svc", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}); status != 400 {
		t.Errorf("the rotated imported refresh token was accepted again: %d", status)
	}
	// Values that are no random b64token are refused.
	for _, v := range []string{"short", "password1password1password1password1", strings.Repeat("ab", 20), "has space 0123456789abcdefghijklmnopqrstuv", "non-ASCII-é-0123456789abcdefghijklmnopqrstuv"} {
		form := url.Values{"grant_type": {"urn:example:external_token"}, "username": {"alice"}, "access_token": {v}, "refresh_token": {refresh + "x"}}
		if status, body := e.token("svc", form); status != 400 || body["error"] != "invalid_request" {
			t.Errorf("imported %q: %d %v, want invalid_request", v, status, body)
		}
	}
}

// TestIssuanceHookIDTokenClaims adds a claim to the ID tokens of the code
// flow.
func TestIssuanceHookIDTokenClaims(t *testing.T) {
	e := oidcNewEnv(t, func(c *oauthkit.Config) {
		c.Issuance = oauthkit.IssuanceFunc(func(_ context.Context, iss *oauthkit.Issuance) error {
			iss.IDTokenClaims = map[string]any{"tenant": "acme"}
			return nil
		})
	})
	conf := &oauth2.Config{
		ClientID: "web", ClientSecret: oidcSecretWeb, RedirectURL: svcRedirect, Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: e.ts.URL + "/authorize", TokenURL: e.ts.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader},
	}
	verifier := oauth2.GenerateVerifier()
	resp := e.authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n")))
	tok, err := conf.Exchange(t.Context(), resp.params.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	claims := jwtPayload(t, tok.Extra("id_token").(string))
	if claims["tenant"] != "acme" || claims["nonce"] != "n" || claims["at_hash"] == nil {
		t.Errorf("ID token claims %v, want tenant added beside nonce and at_hash", claims)
	}
}
