package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit"
)

func TestParseConfig(t *testing.T) {
	withIssuer := demoConfig()
	withIssuer.Issuer = "https://auth.example.com"
	withBob := demoConfig()
	withBob.Users = []userConfig{{Username: "bob", Password: "builder"}}
	withJWT := demoConfig()
	withJWT.AccessTokenFormat = "jwt"
	withNames := demoConfig()
	withNames.ScopeDescriptions = map[string]string{"read": "Read your notes", "admin": "Manage every account"}
	withLimit := demoConfig()
	withLimit.TokenRequestsPerMinute = 30
	withProfiles := demoConfig()
	withProfiles.Users = []userConfig{
		{Username: "bob", Password: "builder", Email: "bob@example.com", Name: "Bob the Builder"},
		{Username: "carol", Password: "c", Name: "Carol Ærø"},
		{Username: "dave", Password: "d", Email: "dave+oauth@sub.example.org"},
	}

	tests := []struct {
		name    string
		in      string
		want    config
		wantErr string
	}{
		{name: "empty object is the demo", in: `{}`, want: demoConfig()},
		{name: "nulls are the demo", in: `{"issuer": null, "access_token_format": null, "clients": null, "users": null}`, want: demoConfig()},
		{name: "partial: issuer only", in: `{"issuer": "https://auth.example.com"}`, want: withIssuer},
		{name: "partial: users only", in: `{"users": [{"username": "bob", "password": "builder"}]}`, want: withBob},
		{name: "explicit opaque", in: `{"access_token_format": "opaque"}`, want: demoConfig()},
		{name: "jwt", in: `{"access_token_format": "jwt"}`, want: withJWT},
		{name: "rate limit", in: `{"rate_limit": {"token_requests_per_minute": 30}}`, want: withLimit},
		{name: "rate limit null", in: `{"rate_limit": null}`, want: demoConfig()},
		{name: "trusted issuers null", in: `{"trusted_issuers": null}`, want: demoConfig()},
		{
			name: "users with email and name",
			in: `{"users": [{"username": "bob", "password": "builder", "email": "bob@example.com", "name": "Bob the Builder"},
				{"username": "carol", "password": "c", "name": "Carol Ærø"}, {"username": "dave", "password": "d", "email": "dave+oauth@sub.example.org"}]}`,
			want: withProfiles,
		},
		{
			name: "scope descriptions",
			in:   `{"scope_descriptions": {"read": "Read your notes", "admin": "Manage every account"}}`,
			want: withNames,
		},
		{
			name: "client names",
			in: `{"clients": [{"id": "app", "name": "Photo Album", "secret": "pw", "grant_types": ["client_credentials"]},
				{"id": "cli", "name": "", "secret": "pw", "grant_types": ["client_credentials"]}], "users": []}`,
			want: config{
				AccessTokenFormat: "opaque",
				Clients: []clientConfig{
					{ID: "app", Name: "Photo Album", Secret: "pw", RedirectURIs: []string{}, GrantTypes: []string{"client_credentials"}, Scopes: []string{}},
					{ID: "cli", Secret: "pw", RedirectURIs: []string{}, GrantTypes: []string{"client_credentials"}, Scopes: []string{}},
				},
				Users: []userConfig{},
			},
		},
		{
			name: "full client list replaces the demo clients",
			in: `{"clients": [
				{"id": "app", "secret": "pw", "redirect_uris": ["https://app.example.com/cb", "com.example.app:/cb", "http://[::1]/cb"],
				 "grant_types": ["authorization_code", "refresh_token"], "scopes": ["read"]},
				{"id": "cli", "public": true, "redirect_uris": ["http://127.0.0.1/cb"]}
			], "users": []}`,
			want: config{
				AccessTokenFormat: "opaque",
				Clients: []clientConfig{
					{ID: "app", Secret: "pw", RedirectURIs: []string{"https://app.example.com/cb", "com.example.app:/cb", "http://[::1]/cb"},
						GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"read"}},
					// RFC 7591 §2: no grant_types means authorization_code.
					{ID: "cli", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}, GrantTypes: []string{"authorization_code"}, Scopes: []string{}},
				},
				Users: []userConfig{},
			},
		},

		{
			// token_endpoint_auth_method: absent lets a client with a
			// secret use basic or post (AuthMethod empty); named, it
			// restricts; "none" makes a client public.
			name: "token endpoint auth methods",
			in: `{"clients": [
				{"id": "any", "secret": "s", "grant_types": ["client_credentials"]},
				{"id": "basic", "secret": "s", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_basic"},
				{"id": "post", "secret": "s", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"},
				{"id": "native", "redirect_uris": ["com.example.app:/cb"], "token_endpoint_auth_method": "none"},
				{"id": "pub", "public": true, "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none"},
				{"id": "nulls", "secret": "s", "public": null, "grant_types": ["client_credentials"], "token_endpoint_auth_method": null}
			], "users": []}`,
			want: config{
				AccessTokenFormat: "opaque",
				Clients: []clientConfig{
					{ID: "any", Secret: "s", RedirectURIs: []string{}, GrantTypes: []string{"client_credentials"}, Scopes: []string{}},
					{ID: "basic", Secret: "s", AuthMethod: "client_secret_basic", RedirectURIs: []string{}, GrantTypes: []string{"client_credentials"}, Scopes: []string{}},
					{ID: "post", Secret: "s", AuthMethod: "client_secret_post", RedirectURIs: []string{}, GrantTypes: []string{"client_credentials"}, Scopes: []string{}},
					{ID: "native", Public: true, AuthMethod: "none", RedirectURIs: []string{"com.example.app:/cb"}, GrantTypes: []string{"authorization_code"}, Scopes: []string{}},
					{ID: "pub", Public: true, AuthMethod: "none", RedirectURIs: []string{"http://127.0.0.1/cb"}, GrantTypes: []string{"authorization_code"}, Scopes: []string{}},
					{ID: "nulls", Secret: "s", RedirectURIs: []string{}, GrantTypes: []string{"client_credentials"}, Scopes: []string{}},
				},
				Users: []userConfig{},
			},
		},

		// Not JSON, or not the right JSON.
		{name: "empty input", in: "  \n", wantErr: "config: empty; want a JSON object (use {} for the demo defaults)"},
		{name: "syntax error names the position", in: "{\n  \"issuer\": \"x\",,\n}", wantErr: "config: line 2, column 17: invalid character ',' looking for beginning of object key string"},
		{name: "truncated", in: `{"issuer": "x"`, wantErr: "config: line 1, column 15: unexpected end of JSON: the file ends before the value does (a missing } or ]?)"},
		{name: "truncated on a later line", in: "{\n  \"clients\": [\n    {\"id\": \"a\"}\n\n", wantErr: "config: line 3, column 16: unexpected end of JSON: the file ends before the value does (a missing } or ]?)"},
		{name: "truncated in a string", in: `{"issuer": "htt`, wantErr: "config: line 1, column 16: unexpected end of JSON: the file ends before the value does (a missing } or ]?)"},
		{name: "trailing data", in: `{} {}`, wantErr: "config: unexpected data after the JSON value"},
		{name: "top level is an array", in: `[]`, wantErr: "config: want an object, got array"},

		// Unknown fields, at every level.
		{name: "unknown top-level field", in: `{"isuer": "x"}`, wantErr: "config: isuer: unknown field"},
		{name: "unknown client field", in: `{"clients": [{"id": "a", "secret": "s", "grant_types": ["client_credentials"]}, {"id": "b", "colour": "red"}]}`, wantErr: "config: clients[1].colour: unknown field"},
		{name: "unknown user field", in: `{"users": [{"username": "bob", "password": "x", "admin": true}]}`, wantErr: "config: users[0].admin: unknown field"},

		// Wrong types.
		{name: "issuer is a number", in: `{"issuer": 5}`, wantErr: "config: issuer: want a string, got number"},
		{name: "format is a boolean", in: `{"access_token_format": true}`, wantErr: "config: access_token_format: want a string, got bool"},
		{name: "clients is an object", in: `{"clients": {}}`, wantErr: "config: clients: want an array, got object"},
		{name: "client is a string", in: `{"clients": ["web"]}`, wantErr: "config: clients[0]: want an object, got string"},
		{name: "public is a string", in: `{"clients": [{"id": "a", "public": "yes"}]}`, wantErr: "config: clients[0].public: want a boolean, got string"},
		{name: "redirect URI is a number", in: `{"clients": [{"id": "a", "secret": "s", "redirect_uris": ["https://a.example/cb", 1]}]}`, wantErr: "config: clients[0].redirect_uris[1]: want a string, got number"},
		{name: "grant types is a string", in: `{"clients": [{"id": "a", "secret": "s", "grant_types": "client_credentials"}]}`, wantErr: "config: clients[0].grant_types: want an array, got string"},
		{name: "scope is an object", in: `{"clients": [{"id": "a", "secret": "s", "grant_types": ["client_credentials"], "scopes": [{}]}]}`, wantErr: "config: clients[0].scopes[0]: want a string, got object"},
		{name: "password is a number", in: `{"users": [{"username": "bob", "password": 1234}]}`, wantErr: "config: users[0].password: want a string, got number"},
		{name: "email is a list", in: `{"users": [{"username": "bob", "password": "x", "email": ["bob@example.com"]}]}`, wantErr: "config: users[0].email: want a string, got array"},

		// Invalid values.
		{name: "issuer http on a public host", in: `{"issuer": "http://auth.example.com"}`, wantErr: `config: issuer: "http://auth.example.com" must use https (http only on a loopback host, for development)`},
		{name: "issuer with a path", in: `{"issuer": "https://auth.example.com/"}`, wantErr: `config: issuer: "https://auth.example.com/" must have no path, not even a trailing slash: the example server mounts its endpoints at the root`},
		{name: "issuer with a query", in: `{"issuer": "https://auth.example.com?a=b"}`, wantErr: `config: issuer: "https://auth.example.com?a=b" must have no user info, query or fragment (RFC 8414 §2)`},
		{name: "issuer relative", in: `{"issuer": "auth.example.com"}`, wantErr: `config: issuer: "auth.example.com" is not an absolute URL`},
		{name: "format in capitals", in: `{"access_token_format": "JWT"}`, wantErr: `config: access_token_format: unknown format "JWT"; want "opaque" or "jwt"`},
		{name: "format unknown", in: `{"access_token_format": "paseto"}`, wantErr: `config: access_token_format: unknown format "paseto"; want "opaque" or "jwt"`},
		{name: "no clients", in: `{"clients": []}`, wantErr: "config: clients: empty; register at least one client, or leave the field out for the demo clients"},
		{name: "client without id", in: `{"clients": [{"secret": "s"}]}`, wantErr: "config: clients[0].id: required"},
		{name: "client id with a control character", in: `{"clients": [{"id": "a\u0007", "secret": "s"}]}`, wantErr: "config: clients[0].id: must be printable ASCII (RFC 6749 Appendix A.1)"},
		{name: "duplicate client id", in: `{"clients": [{"id": "a", "secret": "s", "grant_types": ["client_credentials"]}, {"id": "a", "secret": "t", "grant_types": ["client_credentials"]}]}`, wantErr: `config: clients[1].id: duplicate client id "a"`},
		{name: "confidential client without secret", in: `{"clients": [{"id": "a", "grant_types": ["client_credentials"]}]}`, wantErr: `config: clients[0].secret: required for a confidential client (or set "public": true)`},
		{name: "public client with a secret", in: `{"clients": [{"id": "a", "public": true, "secret": "s"}]}`, wantErr: "config: clients[0].secret: a public client has no secret; remove it or set public to false"},
		{name: "secret not printable", in: `{"clients": [{"id": "a", "secret": "caf\u00e9"}]}`, wantErr: "config: clients[0].secret: must be printable ASCII (RFC 6749 Appendix A.2)"},
		{name: "empty grant types", in: `{"clients": [{"id": "a", "secret": "s", "grant_types": []}]}`, wantErr: "config: clients[0].grant_types: empty; a client with no grant types can do nothing"},
		{name: "unknown grant type", in: `{"clients": [{"id": "a", "secret": "s", "grant_types": ["client_credentials", "magic"]}]}`, wantErr: `config: clients[0].grant_types[1]: unknown grant type "magic"; want one of authorization_code, refresh_token, client_credentials, password, urn:ietf:params:oauth:grant-type:jwt-bearer, external_token, urn:ietf:params:oauth:grant-type:device_code`},
		{name: "implicit grant refused", in: `{"clients": [{"id": "a", "public": true, "grant_types": ["implicit"]}]}`, wantErr: `config: clients[0].grant_types[0]: "implicit" is not offered by the example server (deprecated by RFC 9700 §2.1.2)`},
		{name: "duplicate grant type", in: `{"clients": [{"id": "a", "secret": "s", "grant_types": ["client_credentials", "client_credentials"]}]}`, wantErr: `config: clients[0].grant_types[1]: duplicate grant type "client_credentials"`},
		{name: "public client_credentials", in: `{"clients": [{"id": "a", "public": true, "grant_types": ["client_credentials"]}]}`, wantErr: "config: clients[0].grant_types[0]: client_credentials needs a confidential client (RFC 6749 §4.4)"},
		{name: "code grant without redirect URI", in: `{"clients": [{"id": "a", "secret": "s"}]}`, wantErr: "config: clients[0].redirect_uris: required for the authorization_code grant"},
		{name: "redirect URI empty", in: `{"clients": [{"id": "a", "secret": "s", "redirect_uris": [""]}]}`, wantErr: "config: clients[0].redirect_uris[0]: empty"},
		{name: "redirect URI relative", in: `{"clients": [{"id": "a", "secret": "s", "redirect_uris": ["/cb"]}]}`, wantErr: `config: clients[0].redirect_uris[0]: "/cb": not an absolute URI (it needs a scheme, such as https://)`},
		{name: "redirect URI with fragment", in: `{"clients": [{"id": "a", "secret": "s", "redirect_uris": ["https://a.example/cb#x"]}]}`, wantErr: `config: clients[0].redirect_uris[0]: "https://a.example/cb#x": has a fragment (RFC 6749 §3.1.2)`},
		{name: "redirect URI with user info", in: `{"clients": [{"id": "a", "secret": "s", "redirect_uris": ["https://u@a.example/cb"]}]}`, wantErr: `config: clients[0].redirect_uris[0]: "https://u@a.example/cb": has user information`},
		{name: "redirect URI https without host", in: `{"clients": [{"id": "a", "secret": "s", "redirect_uris": ["https:/cb"]}]}`, wantErr: `config: clients[0].redirect_uris[0]: "https:/cb": has no host`},
		{name: "redirect URI http on a public host", in: `{"clients": [{"id": "a", "secret": "s", "redirect_uris": ["https://a.example/cb", "http://a.example/cb"]}]}`, wantErr: `config: clients[0].redirect_uris[1]: "http://a.example/cb": http is allowed only for loopback IP literals (RFC 9700 §2.6, RFC 8252 §7.3)`},
		{name: "redirect URI on localhost", in: `{"clients": [{"id": "a", "secret": "s", "redirect_uris": ["http://localhost:8080/cb"]}]}`, wantErr: `config: clients[0].redirect_uris[0]: "http://localhost:8080/cb": use http://127.0.0.1 or http://[::1], not localhost (RFC 8252 §8.3)`},
		{name: "redirect URI on localhost without port", in: `{"clients": [{"id": "a", "public": true, "redirect_uris": ["http://localhost/cb"]}]}`, wantErr: `config: clients[0].redirect_uris[0]: "http://localhost/cb": use http://127.0.0.1 or http://[::1], not localhost (RFC 8252 §8.3)`},
		{name: "redirect URI javascript", in: `{"clients": [{"id": "a", "secret": "s", "redirect_uris": ["javascript:alert(1)"]}]}`, wantErr: `config: clients[0].redirect_uris[0]: "javascript:alert(1)": scheme must be https, loopback http, or a reverse-domain private-use scheme`},
		{name: "redirect URI private scheme without dot", in: `{"clients": [{"id": "a", "secret": "s", "redirect_uris": ["myapp:/cb"]}]}`, wantErr: `config: clients[0].redirect_uris[0]: "myapp:/cb": scheme must be https, loopback http, or a reverse-domain private-use scheme`},
		{name: "duplicate redirect URI", in: `{"clients": [{"id": "a", "secret": "s", "redirect_uris": ["https://a.example/cb", "https://a.example/cb"]}]}`, wantErr: `config: clients[0].redirect_uris[1]: duplicate redirect URI "https://a.example/cb"`},
		{name: "scope with a space", in: `{"clients": [{"id": "a", "secret": "s", "grant_types": ["client_credentials"], "scopes": ["read write"]}]}`, wantErr: `config: clients[0].scopes[0]: "read write" is not a scope token (RFC 6749 §3.3: one or more of %x21 / %x23-5B / %x5D-7E)`},
		{name: "empty scope", in: `{"clients": [{"id": "a", "secret": "s", "grant_types": ["client_credentials"], "scopes": [""]}]}`, wantErr: `config: clients[0].scopes[0]: "" is not a scope token (RFC 6749 §3.3: one or more of %x21 / %x23-5B / %x5D-7E)`},
		{name: "duplicate scope", in: `{"clients": [{"id": "a", "secret": "s", "grant_types": ["client_credentials"], "scopes": ["read", "read"]}]}`, wantErr: `config: clients[0].scopes[1]: duplicate scope "read"`},
		{name: "auth method is a number", in: `{"clients": [{"id": "a", "secret": "s", "token_endpoint_auth_method": 1}]}`, wantErr: "config: clients[0].token_endpoint_auth_method: want a string, got number"},
		{name: "auth method empty", in: `{"clients": [{"id": "a", "secret": "s", "grant_types": ["client_credentials"], "token_endpoint_auth_method": ""}]}`, wantErr: "config: clients[0].token_endpoint_auth_method: empty; name a method, or leave the field out"},
		{name: "auth method unknown", in: `{"clients": [{"id": "a", "secret": "s", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_basic "}]}`, wantErr: `config: clients[0].token_endpoint_auth_method: unknown method "client_secret_basic "; want one of client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, none`},
		{name: "client_secret_jwt with a short secret", in: `{"clients": [{"id": "a", "secret": "s", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_jwt"}]}`, wantErr: `config: clients[0].secret: too short (1 characters): client_secret_jwt keys an HMAC with the secret, which needs at least 32 (HS256, RFC 7518 §3.2; 48 for HS384, 64 for HS512)`},
		{name: "auth method none with a secret", in: `{"clients": [{"id": "a", "secret": "s", "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "none"}]}`, wantErr: `config: clients[0].token_endpoint_auth_method: "none" is the method of a public client, which has no secret: remove the secret, or name client_secret_basic or client_secret_post`},
		{name: "auth method none for a client not public", in: `{"clients": [{"id": "a", "public": false, "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "none"}]}`, wantErr: `config: clients[0].token_endpoint_auth_method: "none" is the method of a public client: set "public": true, or name client_secret_basic or client_secret_post`},
		{name: "auth method post for a public client", in: `{"clients": [{"id": "a", "public": true, "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "client_secret_post"}]}`, wantErr: `config: clients[0].token_endpoint_auth_method: "client_secret_post" needs a secret; a public client uses "none"`},
		{name: "client id is a username", in: `{"clients": [{"id": "web", "secret": "s", "grant_types": ["client_credentials"]}, {"id": "bob", "secret": "s", "grant_types": ["client_credentials"]}], "users": [{"username": "alice", "password": "x"}, {"username": "bob", "password": "y"}]}`, wantErr: `config: clients[1].id: "bob" is also the username of users[1]; a client ID must differ from every username, or the client's tokens would name the user as their subject (RFC 9700 §4.15.1)`},
		{name: "demo client id as a username", in: `{"users": [{"username": "svc", "password": "x"}]}`, wantErr: `config: clients[2].id: "svc" is also the username of users[0]; a client ID must differ from every username, or the client's tokens would name the user as their subject (RFC 9700 §4.15.1)`},
		{name: "user without name", in: `{"users": [{"password": "x"}]}`, wantErr: "config: users[0].username: required"},
		{name: "username with spaces around", in: `{"users": [{"username": " bob", "password": "x"}]}`, wantErr: "config: users[0].username: must be printable ASCII without leading or trailing spaces"},
		{name: "user without password", in: `{"users": [{"username": "bob"}]}`, wantErr: "config: users[0].password: required"},
		{name: "email without domain", in: `{"users": [{"username": "bob", "password": "x", "email": "bob"}]}`, wantErr: `config: users[0].email: "bob" is not an e-mail address such as alice@example.com`},
		{name: "email with display name", in: `{"users": [{"username": "bob", "password": "x", "email": "Bob <bob@example.com>"}]}`, wantErr: `config: users[0].email: "Bob <bob@example.com>" is not an e-mail address such as alice@example.com`},
		{name: "email with spaces around", in: `{"users": [{"username": "bob", "password": "x", "email": " bob@example.com"}]}`, wantErr: `config: users[0].email: " bob@example.com" is not an e-mail address such as alice@example.com`},
		{name: "two e-mail addresses", in: `{"users": [{"username": "bob", "password": "x", "email": "bob@example.com, eve@example.com"}]}`, wantErr: `config: users[0].email: "bob@example.com, eve@example.com" is not an e-mail address such as alice@example.com`},
		{name: "name with a newline", in: `{"users": [{"username": "bob", "password": "x", "name": "Bob\nBuilder"}]}`, wantErr: "config: users[0].name: must have no control characters and no leading or trailing spaces"},
		{name: "name with a trailing space", in: `{"users": [{"username": "bob", "password": "x", "name": "Bob "}]}`, wantErr: "config: users[0].name: must have no control characters and no leading or trailing spaces"},
		{name: "client name with a newline", in: `{"clients": [{"id": "a", "name": "A\nB", "secret": "s", "grant_types": ["client_credentials"]}]}`, wantErr: "config: clients[0].name: must have no control characters and no leading or trailing spaces"},
		{name: "client name too long", in: `{"clients": [{"id": "a", "name": "` + strings.Repeat("é", 201) + `", "secret": "s", "grant_types": ["client_credentials"]}]}`, wantErr: "config: clients[0].name: longer than 200 characters"},
		{name: "client name is a number", in: `{"clients": [{"id": "a", "name": 7}]}`, wantErr: "config: clients[0].name: want a string, got number"},
		{name: "scope descriptions is a list", in: `{"scope_descriptions": ["read"]}`, wantErr: "config: scope_descriptions: want an object, got array"},
		{name: "scope description is a number", in: `{"scope_descriptions": {"read": 1}}`, wantErr: "config: scope_descriptions.read: want a string, got number"},
		{name: "scope description empty", in: `{"scope_descriptions": {"read": ""}}`, wantErr: "config: scope_descriptions.read: empty; describe the scope, or leave it out"},
		{name: "scope description with a tab", in: `{"scope_descriptions": {"read": "Read\tit"}}`, wantErr: "config: scope_descriptions.read: must have no control characters and no leading or trailing spaces"},
		{name: "scope description of no scope", in: `{"scope_descriptions": {"two words": "x"}}`, wantErr: `config: scope_descriptions: "two words" is not a scope token (RFC 6749 §3.3)`},
		{name: "trusted issuer without keys", in: `{"trusted_issuers": [{"issuer": "https://idp.example", "jwks": {"keys": []}}]}`, wantErr: "config: trusted_issuers[0].jwks.keys: empty; list the issuer's public keys"},
		{name: "rate limit is a number", in: `{"rate_limit": 30}`, wantErr: "config: rate_limit: want an object, got number"},
		{name: "rate limit unknown field", in: `{"rate_limit": {"token_requests_per_minute": 30, "burst": 5}}`, wantErr: "config: rate_limit.burst: unknown field"},
		{name: "rate limit without its field", in: `{"rate_limit": {}}`, wantErr: "config: rate_limit.token_requests_per_minute: required; how many token requests each client may make per minute (or leave rate_limit out for no limit)"},
		{name: "rate limit null field", in: `{"rate_limit": {"token_requests_per_minute": null}}`, wantErr: "config: rate_limit.token_requests_per_minute: required; how many token requests each client may make per minute (or leave rate_limit out for no limit)"},
		{name: "rate limit zero", in: `{"rate_limit": {"token_requests_per_minute": 0}}`, wantErr: "config: rate_limit.token_requests_per_minute: want a positive integer, got 0"},
		{name: "rate limit negative", in: `{"rate_limit": {"token_requests_per_minute": -5}}`, wantErr: "config: rate_limit.token_requests_per_minute: want a positive integer, got -5"},
		{name: "rate limit fraction", in: `{"rate_limit": {"token_requests_per_minute": 1.5}}`, wantErr: "config: rate_limit.token_requests_per_minute: want a positive integer, got 1.5"},
		{name: "rate limit exponent", in: `{"rate_limit": {"token_requests_per_minute": 1e2}}`, wantErr: "config: rate_limit.token_requests_per_minute: want a positive integer, got 1e2"},
		{name: "rate limit string", in: `{"rate_limit": {"token_requests_per_minute": "30"}}`, wantErr: `config: rate_limit.token_requests_per_minute: want a positive integer, got "30"`},
		{name: "rate limit too large", in: `{"rate_limit": {"token_requests_per_minute": 99999999999999999999}}`, wantErr: "config: rate_limit.token_requests_per_minute: 99999999999999999999 is too large"},
		{name: "duplicate username", in: `{"users": [{"username": "bob", "password": "x"}, {"username": "bob", "password": "y"}]}`, wantErr: `config: users[1].username: duplicate username "bob"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig("", strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("parseConfig = %+v, want error %q", got, tt.wantErr)
				}
				if err.Error() != tt.wantErr {
					t.Fatalf("parseConfig error:\n got %s\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseConfig (-want +got):\n%s", diff)
			}
		})
	}
}

// The example has one rule for redirect URIs, the library's
// (oauthkit.Client.Validate): a config accepts exactly the URIs Validate
// accepts, and refuses the others naming the field and the URI.
func TestRedirectURIRuleIsTheLibrarys(t *testing.T) {
	tests := []struct {
		uri    string
		wantOK bool
	}{
		{uri: "https://app.example.com/cb", wantOK: true},
		{uri: "https://app.example.com:8443/cb?x=1", wantOK: true},
		{uri: "http://127.0.0.1/cb", wantOK: true},
		{uri: "http://127.0.0.1:9999/cb", wantOK: true},
		{uri: "http://[::1]:9999/cb", wantOK: true},
		{uri: "com.example.app:/cb", wantOK: true},
		{uri: "http://localhost/cb"},        // RFC 8252 §8.3
		{uri: "http://localhost:9999/cb"},   // RFC 8252 §8.3
		{uri: "http://LOCALHOST:9999/cb"},   // not a loopback IP literal either
		{uri: "http://127.0.0.1.nip.io/cb"}, // a name, not a loopback IP
		{uri: "http://app.example.com/cb"},  // RFC 9700 §2.6
		{uri: "https://app.example.com/cb#frag"},
		{uri: "https://user@app.example.com/cb"},
		{uri: "/cb"},
		{uri: "myapp:/cb"},
		{uri: "javascript:alert(1)"},
		{uri: "data:text/html,hi"},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			lib := (&oauthkit.Client{ID: "a", AuthMethod: oauthkit.AuthMethodNone, RedirectURIs: []string{tt.uri}}).Validate()
			if (lib == nil) != tt.wantOK {
				t.Fatalf("oauthkit.Client.Validate = %v, want ok=%v: the table is out of date", lib, tt.wantOK)
			}
			in, err := json.Marshal(map[string]any{"clients": []any{map[string]any{"id": "a", "public": true, "redirect_uris": []string{tt.uri}}}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = parseConfig("", bytes.NewReader(in))
			switch {
			case tt.wantOK && err != nil:
				t.Errorf("parseConfig refuses a URI the library accepts: %v", err)
			case !tt.wantOK && err == nil:
				t.Errorf("parseConfig accepts a URI the library refuses (%v)", lib)
			case !tt.wantOK && !strings.HasPrefix(err.Error(), fmt.Sprintf("config: clients[0].redirect_uris[0]: %q: ", tt.uri)):
				t.Errorf("parseConfig error %q does not name the field and the URI", err)
			}
		})
	}
}

// The demo defaults are the contract's (example-server.md), with display
// names, and with the example's own callback page as the redirect URI of
// web and spa once the issuer is known.
func TestDemoConfig(t *testing.T) {
	want := config{
		AccessTokenFormat: "opaque",
		Clients: []clientConfig{
			{ID: "web", Name: "Demo Web App", Secret: "s3cret", DemoCallback: true,
				GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "profile", "read", "write"}},
			{ID: "spa", Name: "Demo Single-Page App", Public: true, DemoCallback: true,
				GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"read"}},
			{ID: "svc", Name: "Demo Service", Secret: "svc-secret", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read", "write"}},
			{ID: "legacy", Name: "Demo Legacy App", Secret: "legacy-secret", GrantTypes: []string{"password", "refresh_token"}, Scopes: []string{"read"}},
		},
		// The contract's demo user, with an e-mail address and a name for
		// the OpenID Connect claims.
		Users: []userConfig{{Username: "alice", Password: "wonderland", Email: "alice@example.com", Name: "Alice Liddell"}},
	}
	got := demoConfig()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("demoConfig (-want +got):\n%s", diff)
	}
	if err := got.validate(); err != nil {
		t.Errorf("the demo config is invalid: %v", err)
	}

	got.Issuer = "http://127.0.0.1:9000"
	got.Clients[1].RedirectURIs = []string{"http://127.0.0.1/cb"} // configured: kept
	got.resolveCallbacks()
	got.resolveCallbacks() // idempotent
	wantURIs := [][]string{{"http://127.0.0.1:9000/callback/web"}, {"http://127.0.0.1/cb"}, nil, nil}
	for i, c := range got.Clients {
		if !cmp.Equal(c.RedirectURIs, wantURIs[i]) {
			t.Errorf("after resolveCallbacks, %s has redirect URIs %q, want %q", c.ID, c.RedirectURIs, wantURIs[i])
		}
	}
	if err := got.validate(); err != nil {
		t.Errorf("the resolved demo config is invalid: %v", err)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, []byte(`{"issuer": "https://auth.example.com"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"clients": [{"id": "a", "secret": "s", "grant_types": ["magic"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.json")
	if err := os.WriteFile(truncated, []byte("{\n  \"clients\": [\n    {\"id\": \"a\", \"secret\": \"s\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	syntax := filepath.Join(dir, "syntax.json")
	if err := os.WriteFile(syntax, []byte("{\n  \"issuer\": \"https://a.example\"\n  \"users\": []\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.json")
	if err := os.WriteFile(huge, []byte(`{"issuer": "`+strings.Repeat("a", maxConfigBytes)+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	wantGood := demoConfig()
	wantGood.Issuer = "https://auth.example.com"

	tests := []struct {
		name    string
		path    string
		want    config
		wantErr string
	}{
		{name: "no path is the demo", path: "", want: demoConfig()},
		{name: "file", path: good, want: wantGood},
		{name: "invalid file", path: bad, wantErr: `config: clients[0].grant_types[0]: unknown grant type "magic"`},
		{name: "missing file", path: filepath.Join(dir, "nope.json"), wantErr: "config: open " + filepath.Join(dir, "nope.json") + ": no such file or directory"},
		{name: "too large", path: huge, wantErr: "config: larger than 1048576 bytes"},
		{name: "truncated file", path: truncated, wantErr: "config: " + truncated + ":3:31: unexpected end of JSON: the file ends before the value does (a missing } or ]?)"},
		{name: "syntax error in a file", path: syntax, wantErr: "config: " + syntax + ":3:3: invalid character '\"' after object key:value pair"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadConfig(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("loadConfig error = %v, want prefix %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("loadConfig (-want +got):\n%s", diff)
			}
		})
	}
}
