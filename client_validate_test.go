package oauthkit_test

import (
	"strings"
	"testing"

	"github.com/oauthkit/oauthkit"
)

func TestClientValidate(t *testing.T) {
	hash, err := oauthkit.HashSecret(strings.Repeat("s", 32))
	if err != nil {
		t.Fatal(err)
	}
	code := []string{oauthkit.GrantTypeAuthorizationCode}
	tests := []struct {
		name    string
		client  oauthkit.Client
		wantErr string // a substring of the error, or "" for valid
	}{
		{"confidential web client", oauthkit.Client{ID: "web", SecretHash: hash, GrantTypes: code, RedirectURIs: []string{"https://app.example/cb"}}, ""},
		{"public native client, loopback", oauthkit.Client{ID: "cli", GrantTypes: code, RedirectURIs: []string{"http://127.0.0.1/cb", "http://[::1]:8080/cb"}}, ""},
		{"public native client, private-use scheme", oauthkit.Client{ID: "app", GrantTypes: code, RedirectURIs: []string{"com.example.app:/cb"}}, ""},
		{"service client without redirect URIs", oauthkit.Client{ID: "svc", SecretHash: hash, GrantTypes: []string{oauthkit.GrantTypeClientCredentials}}, ""},
		{"no ID", oauthkit.Client{SecretHash: hash}, "no ID"},
		{"unknown auth method", oauthkit.Client{ID: "c", SecretHash: hash, AuthMethod: "tls_client_auth"}, "unknown auth method"},
		{"private_key_jwt with a JWK Set", oauthkit.Client{ID: "c", AuthMethod: oauthkit.AuthMethodPrivateKeyJWT, JWKS: []byte(`{"keys":[]}`)}, ""},
		{"private_key_jwt with a jwks_uri", oauthkit.Client{ID: "c", AuthMethod: oauthkit.AuthMethodPrivateKeyJWT, JWKSURI: "https://c.example.com/jwks"}, ""},
		{"private_key_jwt without keys", oauthkit.Client{ID: "c", AuthMethod: oauthkit.AuthMethodPrivateKeyJWT}, "needs jwks or jwks_uri"},
		{"public client with a secret", oauthkit.Client{ID: "c", SecretHash: hash, AuthMethod: oauthkit.AuthMethodNone}, "public client has no secret"},
		{"secret method without a secret", oauthkit.Client{ID: "c", AuthMethod: oauthkit.AuthMethodSecretPost}, "needs a secret hash"},
		{"public client with client_credentials", oauthkit.Client{ID: "c", GrantTypes: []string{oauthkit.GrantTypeClientCredentials}}, "cannot use client_credentials"},
		{"code grant without redirect URI", oauthkit.Client{ID: "c", SecretHash: hash, GrantTypes: code}, "need a redirect URI"},
		{"default scope not allowed", oauthkit.Client{ID: "c", SecretHash: hash, Scopes: []string{"a"}, DefaultScopes: []string{"b"}}, "default scope b"},
		{"fragment", oauthkit.Client{ID: "c", SecretHash: hash, GrantTypes: code, RedirectURIs: []string{"https://app.example/cb#x"}}, "fragment"},
		{"relative", oauthkit.Client{ID: "c", SecretHash: hash, GrantTypes: code, RedirectURIs: []string{"/cb"}}, "not an absolute URI"},
		{"https without a host", oauthkit.Client{ID: "c", SecretHash: hash, GrantTypes: code, RedirectURIs: []string{"https:/cb"}}, "has no host"},
		{"http://localhost", oauthkit.Client{ID: "c", GrantTypes: code, RedirectURIs: []string{"http://localhost:8080/cb"}}, "not localhost (RFC 8252 §8.3)"},
		{"http on a loopback name other than localhost", oauthkit.Client{ID: "c", GrantTypes: code, RedirectURIs: []string{"http://127.0.0.2/cb"}}, "loopback IP literals"},
		{"plain http", oauthkit.Client{ID: "c", SecretHash: hash, GrantTypes: code, RedirectURIs: []string{"http://app.example/cb"}}, "loopback"},
		{"user info", oauthkit.Client{ID: "c", SecretHash: hash, GrantTypes: code, RedirectURIs: []string{"https://u:p@app.example/cb"}}, "user information"},
		{"custom scheme without a dot", oauthkit.Client{ID: "c", GrantTypes: code, RedirectURIs: []string{"myapp:/cb"}}, "scheme must be"},
		{"not a URI", oauthkit.Client{ID: "c", SecretHash: hash, GrantTypes: code, RedirectURIs: []string{"https://app.example/%zz"}}, "not a URI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.client.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
