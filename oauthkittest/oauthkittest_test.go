package oauthkittest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/jwt"
	"github.com/oauthkit/oauthkit/oauthkittest"
)

const api = "https://api.example.com"

// ignoreIDs compares stored tokens without their random IDs.
var ignoreIDs = cmpopts.IgnoreFields(oauthkit.Token{}, "ID", "GrantID")

// stored returns the server's record of an access token, failing the test
// if the token is not valid.
func stored(t *testing.T, as *oauthkittest.Server, tok *oauth2.Token) *oauthkit.Token {
	t.Helper()
	rec, err := as.ValidateAccessToken(t.Context(), tok.AccessToken)
	if err != nil {
		t.Fatalf("ValidateAccessToken: %v", err)
	}
	return rec
}

// resourceServer registers a confidential client for a resource server that
// introspects tokens, and returns it with its secret.
func resourceServer(t *testing.T, id string) (oauthkittest.Client, oauthkittest.Option) {
	t.Helper()
	secret, hash, err := oauthkit.GenerateSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	return oauthkittest.Client{ID: id, Secret: secret}, oauthkittest.WithClients(&oauthkit.Client{ID: id, SecretHash: hash})
}

// introspect asks the server's introspection endpoint about token, as
// caller.
func introspect(t *testing.T, as *oauthkittest.Server, caller oauthkittest.Client, token string) oauthkit.Introspection {
	t.Helper()
	var got oauthkit.Introspection
	postForm(t, as.URL+"/introspect", caller, url.Values{"token": {token}}, http.StatusOK, &got)
	return got
}

// postForm posts form to u as client, checks the status and decodes the
// JSON body into v, if not nil.
func postForm(t *testing.T, u string, c oauthkittest.Client, form url.Values, wantStatus int, v any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != wantStatus {
		t.Fatalf("POST %s: %s, want %d", u, resp.Status, wantStatus)
	}
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("POST %s: %v", u, err)
		}
	}
}

// recorder is a testing.TB that records a fatal failure instead of failing
// the test, to test what the helpers report.
type recorder struct {
	testing.TB
	fatal string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.fatal = fmt.Sprint(args...)
	runtime.Goexit()
}

// fatal runs f in a goroutine of its own with a recorder, and returns what
// f reported with Fatal, or "".
func fatal(t *testing.T, f func(t testing.TB)) string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.fatal
}

func TestNewServerMetadata(t *testing.T) {
	as := oauthkittest.NewServer(t)
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		t.Run(path, func(t *testing.T) {
			resp, err := as.HTTPServer.Client().Get(as.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var m oauthkit.Metadata
			if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
				t.Fatal(err)
			}
			got := oauthkit.Metadata{
				Issuer:                m.Issuer,
				AuthorizationEndpoint: m.AuthorizationEndpoint,
				TokenEndpoint:         m.TokenEndpoint,
				RevocationEndpoint:    m.RevocationEndpoint,
				IntrospectionEndpoint: m.IntrospectionEndpoint,
				UserInfoEndpoint:      m.UserInfoEndpoint,
				GrantTypesSupported:   m.GrantTypesSupported,
				ScopesSupported:       m.ScopesSupported,
			}
			want := oauthkit.Metadata{
				Issuer:                as.URL,
				AuthorizationEndpoint: as.URL + "/authorize",
				TokenEndpoint:         as.URL + "/token",
				RevocationEndpoint:    as.URL + "/revoke",
				IntrospectionEndpoint: as.URL + "/introspect",
				UserInfoEndpoint:      as.URL + "/userinfo",
				GrantTypesSupported: []string{"authorization_code", "client_credentials",
					"https://pkg.go.dev/github.com/oauthkit/oauthkit/oauthkittest#Server.Mint", "refresh_token"},
				ScopesSupported: []string{"read", "write"},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("metadata (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuthorizationCode(t *testing.T) {
	tests := []struct {
		name      string
		opts      []oauthkittest.Option
		client    func(*oauthkittest.Server) oauthkittest.Client
		scopes    []string
		wantSub   string
		wantScope []string
	}{
		{
			name:      "public client",
			client:    func(as *oauthkittest.Server) oauthkittest.Client { return as.Public },
			scopes:    []string{"read"},
			wantSub:   oauthkittest.DefaultSubject,
			wantScope: []string{"read"},
		},
		{
			name:      "confidential client",
			client:    func(as *oauthkittest.Server) oauthkittest.Client { return as.Confidential },
			scopes:    []string{"write"},
			wantSub:   oauthkittest.DefaultSubject,
			wantScope: []string{"write"},
		},
		{
			name:    "no scope",
			client:  func(as *oauthkittest.Server) oauthkittest.Client { return as.Public },
			wantSub: oauthkittest.DefaultSubject,
		},
		{
			name: "another subject and scopes",
			opts: []oauthkittest.Option{
				oauthkittest.WithScopes("orders:read"),
				oauthkittest.WithConfig(func(c *oauthkit.Config) { c.Authorizer = oauthkittest.Approve("bob") }),
			},
			client:    func(as *oauthkittest.Server) oauthkittest.Client { return as.Public },
			scopes:    []string{"orders:read"},
			wantSub:   "bob",
			wantScope: []string{"orders:read"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := oauthkittest.NewServer(t, tt.opts...)
			c := tt.client(as)
			tok := as.AuthorizationCode(t, c, tt.scopes...)
			if tok.RefreshToken == "" || tok.Type() != "Bearer" || !tok.Valid() {
				t.Errorf("token = %+v, want a valid bearer token with a refresh token", tok)
			}
			now := as.Clock.Now()
			want := &oauthkit.Token{
				Kind:      oauthkit.AccessToken,
				ClientID:  c.ID,
				Subject:   tt.wantSub,
				Scope:     tt.wantScope,
				IssuedAt:  now,
				ExpiresAt: now.Add(oauthkit.DefaultAccessTokenLifetime),
				AuthTime:  now, // Approve uses the server's clock
			}
			if diff := cmp.Diff(want, stored(t, as, tok), ignoreIDs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("stored token (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOpenIDConnect turns OpenID Connect on through WithConfig and mounts
// the key set on the server's mux.
func TestOpenIDConnect(t *testing.T) {
	keys := newKeySet(t)
	as := oauthkittest.NewServer(t, oauthkittest.WithConfig(func(c *oauthkit.Config) {
		c.IDTokens = keys
		c.Endpoints.JWKS = c.Issuer + "/jwks"
	}))
	as.Mux.Handle("GET /jwks", keys.JWKSHandler())
	tok := as.AuthorizationCode(t, as.Confidential, "openid", "read")
	rawIDToken, _ := tok.Extra("id_token").(string)
	if rawIDToken == "" {
		t.Fatalf("no ID token in %+v", tok)
	}
	provider, err := oidc.NewProvider(oidc.ClientContext(t.Context(), as.HTTPServer.Client()), as.URL)
	if err != nil {
		t.Fatal(err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: as.Confidential.ID, Now: as.Clock.Now})
	idToken, err := verifier.Verify(oidc.ClientContext(t.Context(), as.HTTPServer.Client()), rawIDToken)
	if err != nil {
		t.Fatalf("verifying the ID token: %v", err)
	}
	if idToken.Subject != oauthkittest.DefaultSubject {
		t.Errorf("ID token subject %q, want %q", idToken.Subject, oauthkittest.DefaultSubject)
	}
}

func newKeySet(t *testing.T) *jwt.KeySet {
	t.Helper()
	key, err := jwt.GenerateKey(jwt.ES256)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwt.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestClientCredentials(t *testing.T) {
	as := oauthkittest.NewServer(t)
	tok := as.ClientCredentials(t, as.Confidential, "read")
	now := as.Clock.Now()
	want := &oauthkit.Token{
		Kind:            oauthkit.AccessToken,
		ClientID:        as.Confidential.ID,
		Subject:         as.Confidential.ID,
		SubjectIsClient: true,
		Scope:           []string{"read"},
		IssuedAt:        now,
		ExpiresAt:       now.Add(oauthkit.DefaultAccessTokenLifetime),
	}
	if diff := cmp.Diff(want, stored(t, as, tok), ignoreIDs); diff != "" {
		t.Errorf("stored token (-want +got):\n%s", diff)
	}
	if tok.RefreshToken != "" {
		t.Error("client_credentials issued a refresh token (RFC 6749 §4.4.3)")
	}
}

func TestRefresh(t *testing.T) {
	as := oauthkittest.NewServer(t)
	first := as.AuthorizationCode(t, as.Public, "read", "write")
	as.Clock.Advance(time.Minute)
	second := as.Refresh(t, as.Public, first)
	if second.AccessToken == first.AccessToken || second.RefreshToken == first.RefreshToken || second.RefreshToken == "" {
		t.Errorf("refresh gave %+v after %+v, want new tokens", second, first)
	}
	got := stored(t, as, second)
	if want := as.Clock.Now(); !got.IssuedAt.Equal(want) || got.Subject != oauthkittest.DefaultSubject {
		t.Errorf("refreshed token issued at %v to %q, want %v and %q", got.IssuedAt, got.Subject, want, oauthkittest.DefaultSubject)
	}
	// The first refresh token is used up: its reuse revokes the family.
	msg := fatal(t, func(t testing.TB) { as.Refresh(t, as.Public, first) })
	if !strings.Contains(msg, "invalid_grant") {
		t.Errorf("reusing a rotated refresh token reported %q, want invalid_grant", msg)
	}
	if _, err := as.ValidateAccessToken(t.Context(), second.AccessToken); !errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("after reuse, the family's access token validates: %v", err)
	}
}

func TestMint(t *testing.T) {
	rs, withRS := resourceServer(t, "orders-api")
	extra := &oauthkit.Client{ID: "batch", AuthMethod: oauthkit.AuthMethodNone, Audience: []string{"orders-api"}}
	tests := []struct {
		name  string
		grant oauthkittest.Grant
		want  oauthkit.Token // without the times
	}{
		{
			name:  "user token for an audience",
			grant: oauthkittest.Grant{Subject: "alice", Scope: []string{"orders:read"}, Audience: []string{"orders-api"}},
			want: oauthkit.Token{Kind: oauthkit.AccessToken, ClientID: "confidential", Subject: "alice",
				Scope: []string{"orders:read"}, Audience: []string{"orders-api"}},
		},
		{
			name:  "client's own token",
			grant: oauthkittest.Grant{Scope: []string{"read"}},
			want: oauthkit.Token{Kind: oauthkit.AccessToken, ClientID: "confidential", Subject: "confidential",
				SubjectIsClient: true, Scope: []string{"read"}},
		},
		{
			name:  "public client",
			grant: oauthkittest.Grant{ClientID: "public", Subject: "carol"},
			want:  oauthkit.Token{Kind: oauthkit.AccessToken, ClientID: "public", Subject: "carol"},
		},
		{
			name:  "the client's audience",
			grant: oauthkittest.Grant{ClientID: "batch", Subject: "dave", Scope: []string{"orders:write"}},
			want: oauthkit.Token{Kind: oauthkit.AccessToken, ClientID: "batch", Subject: "dave",
				Scope: []string{"orders:write"}, Audience: []string{"orders-api"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := oauthkittest.NewServer(t, withRS, oauthkittest.WithClients(extra))
			tok := as.Mint(t, tt.grant)
			if !tok.Valid() || tok.Type() != "Bearer" || tok.RefreshToken != "" {
				t.Errorf("Mint = %+v, want a valid bearer token without refresh token", tok)
			}
			now := as.Clock.Now()
			want := tt.want
			want.IssuedAt, want.ExpiresAt = now, now.Add(oauthkit.DefaultAccessTokenLifetime)
			if diff := cmp.Diff(&want, stored(t, as, tok), ignoreIDs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("stored token (-want +got):\n%s", diff)
			}
			wantIntro := oauthkit.Introspection{
				Active: true, Scope: strings.Join(want.Scope, " "), ClientID: want.ClientID, Subject: want.Subject,
				ExpiresAt: want.ExpiresAt.Unix(), IssuedAt: now.Unix(), TokenType: "Bearer", Audience: want.Audience, Issuer: as.URL,
			}
			if diff := cmp.Diff(wantIntro, introspect(t, as, rs, tok.AccessToken), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("introspection (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMintJWT(t *testing.T) {
	keys := newKeySet(t)
	as := oauthkittest.NewServer(t, oauthkittest.WithConfig(func(c *oauthkit.Config) {
		c.AccessTokens = &jwt.AccessTokens{Keys: keys, Rand: c.Rand}
	}))
	tok := as.Mint(t, oauthkittest.Grant{Subject: "alice", Scope: []string{"read"}, Audience: []string{api}})
	if strings.Count(tok.AccessToken, ".") != 2 {
		t.Fatalf("Mint = %q, want a JWT", tok.AccessToken)
	}
	claims, err := bearer.Local(as.Server, api).Validate(t.Context(), tok.AccessToken)
	if err != nil || claims.Subject != "alice" {
		t.Fatalf("bearer.Local: %+v, %v; want alice's claims", claims, err)
	}
	if got := introspect(t, as, as.Confidential, tok.AccessToken); !got.Active || got.Subject != "alice" {
		t.Errorf("introspection = %+v, want alice's active token", got)
	}
}

// TestBearer is a resource server's test: package bearer with
// bearer.Local accepts a minted token for its audience and scope, and
// refuses the others as RFC 6750 says.
func TestBearer(t *testing.T) {
	as := oauthkittest.NewServer(t)
	m, err := bearer.New(bearer.Config{Validator: bearer.Local(as.Server, api)})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := bearer.FromContext(r.Context())
		fmt.Fprint(w, claims.Subject)
	}), "read")
	tests := []struct {
		name       string
		grant      oauthkittest.Grant
		wantStatus int
		wantError  string // in WWW-Authenticate
	}{
		{"its audience", oauthkittest.Grant{Subject: "alice", Scope: []string{"read"}, Audience: []string{api}}, http.StatusOK, ""},
		{"among audiences", oauthkittest.Grant{Subject: "alice", Scope: []string{"read"}, Audience: []string{"https://other.example.com", api}}, http.StatusOK, ""},
		{"no audience", oauthkittest.Grant{Subject: "alice", Scope: []string{"read"}}, http.StatusOK, ""},
		{"wrong audience", oauthkittest.Grant{Subject: "alice", Scope: []string{"read"}, Audience: []string{"https://other.example.com"}}, http.StatusUnauthorized, "invalid_token"},
		{"missing scope", oauthkittest.Grant{Subject: "alice", Scope: []string{"write"}, Audience: []string{api}}, http.StatusForbidden, "insufficient_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			as.Mint(t, tt.grant).SetAuthHeader(req)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusOK && rec.Body.String() != "alice" {
				t.Errorf("body %q, want alice", rec.Body.String())
			}
			if got := rec.Header().Get("WWW-Authenticate"); !strings.Contains(got, `error="`+tt.wantError+`"`) && tt.wantError != "" {
				t.Errorf("WWW-Authenticate: %s, want error %s", got, tt.wantError)
			}
		})
	}
}

func TestClock(t *testing.T) {
	as := oauthkittest.NewServer(t)
	start := as.Clock.Now()
	if start.IsZero() || !start.Equal(start.Truncate(time.Second)) {
		t.Errorf("clock starts at %v, want now to the second", start)
	}
	tok := as.Mint(t, oauthkittest.Grant{Subject: "alice"})
	time.Sleep(time.Millisecond)
	if got := as.Clock.Now(); !got.Equal(start) {
		t.Errorf("clock moved by itself to %v", got)
	}
	as.Clock.Advance(oauthkit.DefaultAccessTokenLifetime - time.Second)
	stored(t, as, tok) // still valid
	as.Clock.Advance(time.Second)
	if _, err := as.ValidateAccessToken(t.Context(), tok.AccessToken); !errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("token validates at its expiry: %v", err)
	}
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	as.Clock.Set(fixed)
	if got := stored(t, as, as.Mint(t, oauthkittest.Grant{})).IssuedAt; !got.Equal(fixed) {
		t.Errorf("token issued at %v after Set(%v)", got, fixed)
	}
}

func TestDeterministic(t *testing.T) {
	run := func(t *testing.T) (secret, token string) {
		as := oauthkittest.NewServer(t)
		return as.Confidential.Secret, as.AuthorizationCode(t, as.Public, "read").AccessToken
	}
	var secrets, tokens []string
	for _, name := range []string{"a", "b"} {
		t.Run(name, func(t *testing.T) {
			s, tok := run(t)
			secrets, tokens = append(secrets, s), append(tokens, tok)
		})
	}
	// Two servers in one test agree; tests of other names do not.
	s1, tok1 := run(t)
	s2, tok2 := run(t)
	if s1 != s2 || tok1 != tok2 {
		t.Errorf("two servers of one test differ: %q %q, %q %q", s1, s2, tok1, tok2)
	}
	if secrets[0] == secrets[1] || tokens[0] == tokens[1] {
		t.Errorf("tests %q and %q share secrets or tokens", "a", "b")
	}
}

func TestRevocation(t *testing.T) {
	as := oauthkittest.NewServer(t)
	tok := as.Mint(t, oauthkittest.Grant{Subject: "alice"})
	postForm(t, as.URL+"/revoke", as.Confidential, url.Values{"token": {tok.AccessToken}}, http.StatusOK, nil)
	if _, err := as.ValidateAccessToken(t.Context(), tok.AccessToken); !errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("revoked token validates: %v", err)
	}
}

// TestMintGrantOverNetwork checks that Mint's grant issues nothing to a
// request from the network, even from a client registered for it.
func TestMintGrantOverNetwork(t *testing.T) {
	const grantType = "https://pkg.go.dev/github.com/oauthkit/oauthkit/oauthkittest#Server.Mint"
	secret, hash, err := oauthkit.GenerateSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	as := oauthkittest.NewServer(t, oauthkittest.WithClients(&oauthkit.Client{ID: "greedy", SecretHash: hash, GrantTypes: []string{grantType}}))
	for _, c := range []oauthkittest.Client{as.Confidential, {ID: "greedy", Secret: secret}} {
		t.Run(c.ID, func(t *testing.T) {
			var got struct{ Error string }
			form := url.Values{"grant_type": {grantType}, "subject": {"alice"}}
			postForm(t, as.URL+"/token", c, form, http.StatusBadRequest, &got)
			if got.Error != "unauthorized_client" {
				t.Errorf("error %q, want unauthorized_client", got.Error)
			}
		})
	}
}

// TestFatal checks that what goes wrong is reported through t.Fatal, with
// the protocol error.
func TestFatal(t *testing.T) {
	page := oauthkit.AuthorizerFunc(func(w http.ResponseWriter, _ *http.Request, _ *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
		fmt.Fprint(w, "<form>Log in</form>")
		return nil, oauthkit.ErrResponseWritten
	})
	tests := []struct {
		name string
		opts []oauthkittest.Option
		call func(t testing.TB, as *oauthkittest.Server)
		want string
	}{
		{
			name: "denied",
			opts: []oauthkittest.Option{oauthkittest.WithConfig(func(c *oauthkit.Config) { c.Authorizer = oauthkittest.Deny() })},
			call: func(t testing.TB, as *oauthkittest.Server) { as.AuthorizationCode(t, as.Public, "read") },
			want: "refused: access_denied",
		},
		{
			name: "login page",
			opts: []oauthkittest.Option{oauthkittest.WithConfig(func(c *oauthkit.Config) { c.Authorizer = page })},
			call: func(t testing.TB, as *oauthkittest.Server) { as.AuthorizationCode(t, as.Public, "read") },
			want: "answered 200 OK, not a redirect",
		},
		{
			name: "scope not allowed",
			call: func(t testing.TB, as *oauthkittest.Server) { as.AuthorizationCode(t, as.Public, "admin") },
			want: "refused: invalid_scope",
		},
		{
			name: "wrong secret",
			call: func(t testing.TB, as *oauthkittest.Server) {
				as.ClientCredentials(t, oauthkittest.Client{ID: as.Confidential.ID, Secret: "wrong"})
			},
			want: "invalid_client",
		},
		{
			name: "public client_credentials",
			call: func(t testing.TB, as *oauthkittest.Server) { as.ClientCredentials(t, as.Public) },
			want: "invalid_client",
		},
		{
			name: "no refresh token",
			call: func(t testing.TB, as *oauthkittest.Server) {
				as.Refresh(t, as.Confidential, as.ClientCredentials(t, as.Confidential))
			},
			want: "needs a token with a refresh token",
		},
		{
			name: "mint for an unknown client",
			call: func(t testing.TB, as *oauthkittest.Server) { as.Mint(t, oauthkittest.Grant{ClientID: "nobody"}) },
			want: `client "nobody": 400 {"error":"invalid_client"`,
		},
		{
			name: "invalid config",
			opts: []oauthkittest.Option{oauthkittest.WithConfig(func(c *oauthkit.Config) { c.CodeLifetime = time.Hour })},
			want: "oauthkittest: oauthkit: Config.CodeLifetime",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fatal(t, func(rt testing.TB) {
				as := oauthkittest.NewServer(rt, tt.opts...)
				if tt.call != nil {
					tt.call(rt, as)
				}
			})
			if !strings.Contains(got, tt.want) {
				t.Errorf("reported %q, want it to contain %q", got, tt.want)
			}
		})
	}
}
