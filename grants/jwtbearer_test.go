package grants_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/memory"
)

const (
	jbIdP       = "https://idp.example.com"  // a trusted issuer, keys inline
	jbRemoteIdP = "https://idp2.example.com" // a trusted issuer, keys at a jwks_uri
	jbSecret    = "a-generated-secret-of-at-least-32-characters"
)

// jbSubject is the fixture's Subject hook: alice of a trusted issuer is
// "<issuer>|alice"; a client acting for itself may be its "robot"; "broken"
// is a fault of the user directory; anyone else is unknown.
func jbSubject(_ context.Context, iss, sub string, client *oauthkit.Client) (string, error) {
	switch {
	case sub == "broken":
		return "", errors.New("user directory unreachable")
	case iss == client.ID && sub == "robot":
		return "robot-of-" + client.ID, nil
	case iss != client.ID && sub == "alice":
		return iss + "|alice", nil
	}
	return "", fmt.Errorf("no user %q of %s: %w", sub, iss, oauthkit.ErrNotFound)
}

// jbSigner is a key that signs assertions: ES256 unless it is RSA.
type jbSigner struct {
	kid  string
	priv crypto.Signer
}

func newJBSigner(t testing.TB, kid string) jbSigner {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return jbSigner{kid, priv}
}

// set returns the JWK Set of the public keys of signers.
func jbSet(t testing.TB, signers ...jbSigner) []byte {
	t.Helper()
	var set jose.JSONWebKeySet
	for _, s := range signers {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: s.priv.Public(), KeyID: s.kid, Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sign returns claims as a compact JWS of key with alg (ES256 or RS256
// by the key's type when empty), with s's kid in its header.
func (s jbSigner) sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	alg := jose.ES256
	if _, ok := s.priv.(*rsa.PrivateKey); ok {
		alg = jose.RS256
	}
	return jbJWS(t, jose.SigningKey{Algorithm: alg, Key: s.priv}, s.kid, claims)
}

func jbJWS(t testing.TB, key jose.SigningKey, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(key, opts)
	if err != nil {
		t.Fatal(err)
	}
	compact, err := josejwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return compact
}

var jbJTI atomic.Int64

// jbFixture is a token endpoint over HTTP serving the JWT bearer grant.
type jbFixture struct {
	now    time.Time
	issuer string
	store  *memory.Store
	keys   map[string]jbSigner // idp, remote, self, attacker
}

// newJBFixture starts a token endpoint whose grant trusts jbIdP (keys
// inline) and jbRemoteIdP (keys at a jwks_uri, or at path of the jwks
// server when set), and the extra issuers, and takes client-signed
// assertions. Its clients, all authenticating with client_secret_basic and
// jbSecret: "app" and "self" (with its keys and selfKeys) are registered
// for the grant, "cc" is not. now nil means the real clock.
func newJBFixture(t testing.TB, now *time.Time, extra []grants.TrustedIssuer, selfKeys ...jbSigner) *jbFixture {
	t.Helper()
	f := &jbFixture{keys: map[string]jbSigner{}}
	for _, name := range []string{"idp", "remote", "self", "attacker"} {
		f.keys[name] = newJBSigner(t, name+"-1")
	}
	remoteSet := jbSet(t, f.keys["remote"])
	jwksSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/jwks" {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		w.Write(remoteSet)
	}))
	t.Cleanup(jwksSrv.Close)

	hash, err := oauthkit.HashSecret(jbSecret)
	if err != nil {
		t.Fatal(err)
	}
	client := func(id string, grantTypes ...string) *oauthkit.Client {
		return &oauthkit.Client{ID: id, SecretHash: hash, GrantTypes: grantTypes,
			Scopes: []string{"read", "write"}, DefaultScopes: []string{"read"}}
	}
	self := client("self", grants.GrantTypeJWTBearer)
	self.JWKS = jbSet(t, append(selfKeys, f.keys["self"])...)
	f.store = memory.NewStore(client("app", grants.GrantTypeJWTBearer), self,
		client("cc", oauthkit.GrantTypeClientCredentials))

	var h http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	f.issuer = ts.URL
	bearer, err := grants.NewJWTBearer(grants.JWTBearerConfig{
		Issuer:      f.issuer,
		ReplayCache: f.store,
		TrustedIssuers: append([]grants.TrustedIssuer{
			{Issuer: jbIdP, JWKS: jbSet(t, f.keys["idp"])},
			{Issuer: jbRemoteIdP, JWKSURI: jwksSrv.URL + "/jwks"},
		}, extra...),
		ClientSignedAssertions: true,
		Subject:                jbSubject,
		HTTPClient:             jwksSrv.Client(),
		FetchTimeout:           time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := oauthkit.Config{
		Issuer:  f.issuer,
		Clients: f.store, Codes: f.store, Tokens: f.store, ReplayCache: f.store,
		Grants: []oauthkit.GrantHandler{bearer, grants.ClientCredentials{}},
		Logger: slog.New(slog.DiscardHandler),
	}
	if now != nil {
		f.now = *now
		cfg.Now = func() time.Time { return f.now }
	}
	srv, err := oauthkit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h = srv.TokenHandler()
	return f
}

// claims are valid claims of an assertion that iss issues about sub at
// the fixture's time, for its token endpoint, with a fresh jti.
func (f *jbFixture) claims(iss, sub string) map[string]any {
	return map[string]any{
		"iss": iss, "sub": sub, "aud": f.issuer + "/token",
		"exp": f.now.Add(time.Minute).Unix(), "iat": f.now.Unix(),
		"jti": fmt.Sprintf("jb-%d", jbJTI.Add(1)),
	}
}

// jbAnswer is the outcome of a token request: the error, or the stored
// access token's subject.
type jbAnswer struct {
	Status      int
	Error       string
	Description string
	Subject     string
	Scope       string
}

// post sends a JWT bearer request of client with the assertion and the
// extra parameters.
func (f *jbFixture) post(t testing.TB, client, assertion string, extra url.Values) jbAnswer {
	t.Helper()
	form := url.Values{"grant_type": {grants.GrantTypeJWTBearer}, "assertion": {assertion}}
	for k, v := range extra {
		form[k] = v
	}
	hc := &http.Client{Transport: basicAuth{client, jbSecret}}
	resp, err := hc.PostForm(f.issuer+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error        string `json:"error"`
		Description  string `json:"error_description"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		Scope        string `json:"scope"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	a := jbAnswer{Status: resp.StatusCode, Error: body.Error, Description: body.Description, Scope: body.Scope}
	if resp.StatusCode == http.StatusOK {
		if body.RefreshToken != "" {
			t.Error("a refresh token issued for a JWT bearer grant")
		}
		a.Subject = f.subjectOf(t, body.AccessToken)
	}
	return a
}

// subjectOf returns the subject of a stored access token.
func (f *jbFixture) subjectOf(t testing.TB, accessToken string) string {
	t.Helper()
	now := f.now
	if now.IsZero() {
		now = time.Now()
	}
	tok, err := f.store.Token(context.Background(), oauthkit.HashToken(accessToken), now)
	if err != nil {
		t.Fatalf("the access token issued is not stored: %v", err)
	}
	if tok.SubjectIsClient {
		t.Errorf("token of %s marked as the client's own", tok.Subject)
	}
	return tok.Subject
}

// basicAuth adds client authentication to the requests of a client
// library that sends none of its own.
type basicAuth struct{ id, secret string }

func (b basicAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(b.id, b.secret)
	return http.DefaultTransport.RoundTrip(r)
}

// A client obtains a token with golang.org/x/oauth2/jwt, which signs RS256
// assertions (its only algorithm) with a private key PEM: for a trusted
// issuer whose public key is registered inline, and for the client itself.
// The library sends no client authentication; the client adds its Basic
// credentials in its transport.
func TestJWTBearerEndToEnd(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	rsaSigner := jbSigner{kid: "rsa-1", priv: rsaKey}
	const rsaIdP = "https://rsa-idp.example.com"
	f := newJBFixture(t, nil, []grants.TrustedIssuer{{Issuer: rsaIdP, JWKS: jbSet(t, rsaSigner)}}, rsaSigner)

	tests := []struct {
		name, client, iss, sub string
		want                   string // the tokens' subject
	}{
		{name: "trusted issuer", client: "app", iss: rsaIdP, sub: "alice", want: rsaIdP + "|alice"},
		{name: "the client itself", client: "self", iss: "self", sub: "robot", want: "robot-of-self"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &jwt.Config{
				Email:         tt.iss,
				Subject:       tt.sub,
				PrivateKey:    pemKey,
				PrivateKeyID:  rsaSigner.kid,
				TokenURL:      f.issuer + "/token",
				Expires:       2 * time.Minute,
				PrivateClaims: map[string]any{"jti": fmt.Sprintf("e2e-%d", jbJTI.Add(1))},
			}
			ctx := context.WithValue(t.Context(), oauth2.HTTPClient, &http.Client{Transport: basicAuth{tt.client, jbSecret}})
			tok, err := cfg.TokenSource(ctx).Token()
			if err != nil {
				t.Fatal(err)
			}
			if got := f.subjectOf(t, tok.AccessToken); got != tt.want {
				t.Errorf("token subject %q, want %q", got, tt.want)
			}
			if tok.Extra("scope") != "read" || tok.TokenType != "Bearer" {
				t.Errorf("token type %q, scope %v; want Bearer, the default scope", tok.TokenType, tok.Extra("scope"))
			}
		})
	}
}

// Every rule of RFC 7523 §3 and of the grant, broken one at a time, and
// the assertions it accepts.
func TestJWTBearerHostile(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	f := newJBFixture(t, &now, nil)
	idp, self, attacker := f.keys["idp"], f.keys["self"], f.keys["attacker"]
	valid := func(edit func(c map[string]any)) string {
		c := f.claims(jbIdP, "alice")
		if edit != nil {
			edit(c)
		}
		return idp.sign(t, c)
	}
	enc := base64.RawURLEncoding
	payload, _ := json.Marshal(f.claims(jbIdP, "alice"))
	pubJWK, _ := json.Marshal(jose.JSONWebKey{Key: idp.priv.Public()})
	parts := strings.Split(valid(nil), ".")

	ok := func(subject, scope string) jbAnswer { return jbAnswer{Status: 200, Subject: subject, Scope: scope} }
	refused := func(desc string) jbAnswer { return jbAnswer{Status: 400, Error: "invalid_grant", Description: desc} }
	tests := []struct {
		name      string
		client    string // "app" if empty
		assertion string
		extra     url.Values
		want      jbAnswer
	}{
		{name: "trusted issuer, keys inline", assertion: valid(nil), want: ok(jbIdP+"|alice", "read")},
		{name: "trusted issuer, keys at a jwks_uri", assertion: f.keys["remote"].sign(t, f.claims(jbRemoteIdP, "alice")), want: ok(jbRemoteIdP+"|alice", "read")},
		{name: "signed by the client itself", client: "self", assertion: self.sign(t, f.claims("self", "robot")), want: ok("robot-of-self", "read")},
		{name: "scope requested", assertion: valid(nil), extra: url.Values{"scope": {"write read"}}, want: ok(jbIdP+"|alice", "write read")},
		{name: "aud the issuer", assertion: valid(func(c map[string]any) { c["aud"] = f.issuer }), want: ok(jbIdP+"|alice", "read")},
		{name: "nbf and iat within the leeway", assertion: valid(func(c map[string]any) {
			c["nbf"], c["iat"] = now.Add(20*time.Second).Unix(), now.Add(20*time.Second).Unix()
		}), want: ok(jbIdP+"|alice", "read")},

		{name: "wrong aud", assertion: valid(func(c map[string]any) { c["aud"] = "https://evil.example.com/token" }), want: refused("assertion aud must contain the issuer or the token endpoint URL")},
		{name: "no aud", assertion: valid(func(c map[string]any) { delete(c, "aud") }), want: refused("assertion aud must contain the issuer or the token endpoint URL")},
		{name: "expired", assertion: valid(func(c map[string]any) { c["exp"] = now.Add(-time.Second).Unix() }), want: refused("assertion expired")},
		{name: "exp far ahead", assertion: valid(func(c map[string]any) { c["exp"] = now.Add(time.Hour).Unix() }), want: refused("assertion exp more than 5m0s ahead")},
		{name: "no exp", assertion: valid(func(c map[string]any) { delete(c, "exp") }), want: refused("assertion exp missing")},
		{name: "nbf in the future", assertion: valid(func(c map[string]any) { c["nbf"] = now.Add(time.Minute).Unix() }), want: refused("assertion not yet valid (nbf)")},
		{name: "iat in the future", assertion: valid(func(c map[string]any) { c["iat"] = now.Add(time.Minute).Unix() }), want: refused("assertion iat in the future")},
		{name: "no jti", assertion: valid(func(c map[string]any) { delete(c, "jti") }), want: refused("assertion jti missing")},
		{name: "no sub", assertion: valid(func(c map[string]any) { delete(c, "sub") }), want: refused("assertion sub missing")},
		{name: "no iss", assertion: valid(func(c map[string]any) { delete(c, "iss") }), want: refused("assertion iss missing")},

		{name: "alg none", assertion: enc.EncodeToString([]byte(`{"alg":"none","kid":"idp-1"}`)) + "." + enc.EncodeToString(payload) + ".", want: refused("assertion signature algorithm not allowed")},
		{name: "HS256 keyed with the public key", assertion: jbJWS(t, jose.SigningKey{Algorithm: jose.HS256, Key: pubJWK}, "idp-1", f.claims(jbIdP, "alice")), want: refused("assertion signature algorithm not allowed")},
		{name: "unknown kid", assertion: jbSigner{"idp-9", attacker.priv}.sign(t, f.claims(jbIdP, "alice")), want: refused("assertion signed with an unknown key")},
		{name: "known kid, attacker's key", assertion: jbSigner{"idp-1", attacker.priv}.sign(t, f.claims(jbIdP, "alice")), want: refused("assertion signature invalid")},
		{name: "trusted iss, another issuer's key", assertion: jbSigner{"remote-1", f.keys["remote"].priv}.sign(t, f.claims(jbIdP, "alice")), want: refused("assertion signed with an unknown key")},
		{name: "tampered payload", assertion: parts[0] + "." + enc.EncodeToString(payload) + "." + parts[2], want: refused("assertion signature invalid")},
		{name: "untrusted iss", assertion: attacker.sign(t, f.claims("https://evil.example.com", "alice")), want: refused("assertion iss is not a trusted issuer")},
		{name: "iss another client", client: "app", assertion: self.sign(t, f.claims("self", "robot")), want: refused("assertion iss is not a trusted issuer")},
		{name: "client-signed with another key", client: "self", assertion: jbSigner{"self-1", attacker.priv}.sign(t, f.claims("self", "robot")), want: refused("assertion signature invalid")},
		{name: "client-signed by a client without keys", assertion: attacker.sign(t, f.claims("app", "robot")), want: refused("the client has no registered keys")},
		{name: "sub rejected by the hook", assertion: valid(func(c map[string]any) { c["sub"] = "mallory" }), want: refused("the assertion's sub is not a resource owner this client may act for")},
		{name: "client acting for a trusted issuer's user", client: "self", assertion: self.sign(t, f.claims("self", "alice")), want: refused("the assertion's sub is not a resource owner this client may act for")},
		{name: "hook fault", assertion: valid(func(c map[string]any) { c["sub"] = "broken" }), want: jbAnswer{Status: 500, Error: "server_error"}},
		{name: "not a JWT", assertion: "garbage", want: refused("assertion is not a signed JWT in compact serialization")},
		{name: "too long", assertion: parts[0] + "." + strings.Repeat("A", 9000) + "." + parts[2], want: refused("assertion too long")},

		{name: "missing assertion", assertion: "", want: jbAnswer{Status: 400, Error: "invalid_request", Description: "missing assertion"}},
		{name: "scope the client may not have", assertion: valid(nil), extra: url.Values{"scope": {"admin"}}, want: jbAnswer{Status: 400, Error: "invalid_scope", Description: "scope admin is not allowed for this client"}},
		{name: "client not registered for the grant", client: "cc", assertion: valid(nil), want: jbAnswer{Status: 400, Error: "unauthorized_client", Description: "client is not allowed the " + grants.GrantTypeJWTBearer + " grant"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := tt.client
			if client == "" {
				client = "app"
			}
			got := f.post(t, client, tt.assertion, tt.extra)
			if tt.want.Status == 500 {
				got.Description = ""
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

// An assertion is accepted once: replayed in sequence, by another client,
// or by 50 requests at once, exactly one is served. An assertion refused
// for its scope is not spent.
func TestJWTBearerReplay(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	f := newJBFixture(t, &now, nil)
	idp := f.keys["idp"]
	replayed := jbAnswer{Status: 400, Error: "invalid_grant", Description: "assertion replayed (jti used before)"}

	first := idp.sign(t, f.claims(jbIdP, "alice"))
	if got := f.post(t, "app", first, url.Values{"scope": {"admin"}}); got.Error != "invalid_scope" {
		t.Fatalf("refused scope: %+v", got)
	}
	if got := f.post(t, "app", first, nil); got.Status != 200 {
		t.Fatalf("first use: %+v", got)
	}
	for _, client := range []string{"app", "self"} {
		if diff := cmp.Diff(replayed, f.post(t, client, first, nil)); diff != "" {
			t.Errorf("replay by %s (-want +got):\n%s", client, diff)
		}
	}

	// Every answer, tallied: one token, and the same refusal for the others.
	concurrent := idp.sign(t, f.claims(jbIdP, "alice"))
	const n = 50
	tally := make(map[jbAnswer]int)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			a := f.post(t, "app", concurrent, nil)
			mu.Lock()
			defer mu.Unlock()
			tally[a]++
		})
	}
	wg.Wait()
	want := map[jbAnswer]int{{Status: 200, Subject: jbIdP + "|alice", Scope: "read"}: 1, replayed: n - 1}
	if diff := cmp.Diff(want, tally); diff != "" {
		t.Errorf("answers to %d concurrent uses of one assertion (-want +got):\n%s", n, diff)
	}
}

// A trusted issuer's jwks_uri that cannot be fetched is the server's
// fault: 503, never a refusal of the client.
func TestJWTBearerIssuerKeysUnavailable(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	const down = "https://down.example.com"
	f := newJBFixture(t, &now, nil)
	bearer, err := grants.NewJWTBearer(grants.JWTBearerConfig{
		Issuer: f.issuer, ReplayCache: f.store, Subject: jbSubject,
		TrustedIssuers: []grants.TrustedIssuer{{Issuer: down, JWKSURI: "https://127.0.0.1:1/jwks"}},
		FetchTimeout:   time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	client, _ := f.store.Client(t.Context(), "app")
	req := &oauthkit.TokenRequest{GrantType: grants.GrantTypeJWTBearer, Client: client, Time: now,
		Form: url.Values{"assertion": {f.keys["idp"].sign(t, f.claims(down, "alice"))}}}
	_, err = bearer.HandleGrant(t.Context(), req)
	if _, isProtocol := errors.AsType[*oauthkit.Error](err); isProtocol || !errors.Is(err, oauthkit.ErrUnavailable) {
		t.Errorf("HandleGrant error = %v, want an internal fault wrapping ErrUnavailable", err)
	}
}

// NewJWTBearer refuses a configuration that is unsafe or accepts nothing.
func TestNewJWTBearerConfig(t *testing.T) {
	keys := jbSet(t, newJBSigner(t, "k1"))
	good := func(edit func(c *grants.JWTBearerConfig)) grants.JWTBearerConfig {
		c := grants.JWTBearerConfig{
			Issuer: "https://as.example.com", ReplayCache: memory.NewReplayCache(), Subject: jbSubject,
			TrustedIssuers: []grants.TrustedIssuer{{Issuer: jbIdP, JWKS: keys}},
		}
		if edit != nil {
			edit(&c)
		}
		return c
	}
	tests := []struct {
		name    string
		cfg     grants.JWTBearerConfig
		wantErr string
	}{
		{name: "valid", cfg: good(nil)},
		{name: "client-signed only", cfg: good(func(c *grants.JWTBearerConfig) { c.TrustedIssuers, c.ClientSignedAssertions = nil, true })},
		{name: "jwks_uri", cfg: good(func(c *grants.JWTBearerConfig) {
			c.TrustedIssuers[0] = grants.TrustedIssuer{Issuer: jbIdP, JWKSURI: "https://idp.example.com/jwks"}
		})},
		{name: "no issuer", cfg: good(func(c *grants.JWTBearerConfig) { c.Issuer = "" }), wantErr: "Issuer is required"},
		{name: "no replay cache", cfg: good(func(c *grants.JWTBearerConfig) { c.ReplayCache = nil }), wantErr: "ReplayCache is required"},
		{name: "no subject hook", cfg: good(func(c *grants.JWTBearerConfig) { c.Subject = nil }), wantErr: "Subject is required"},
		{name: "nothing trusted", cfg: good(func(c *grants.JWTBearerConfig) { c.TrustedIssuers = nil }), wantErr: "would accept nothing"},
		{name: "HS256", cfg: good(func(c *grants.JWTBearerConfig) { c.Algorithms = []string{"HS256"} }), wantErr: `"HS256" is not an allowed`},
		{name: "none", cfg: good(func(c *grants.JWTBearerConfig) { c.Algorithms = []string{"none"} }), wantErr: `"none" is not an allowed`},
		{name: "empty algorithms", cfg: good(func(c *grants.JWTBearerConfig) { c.Algorithms = []string{} }), wantErr: "Algorithms is empty"},
		{name: "negative lifetime", cfg: good(func(c *grants.JWTBearerConfig) { c.MaxLifetime = -time.Second }), wantErr: "must not be negative"},
		{name: "issuer without keys", cfg: good(func(c *grants.JWTBearerConfig) { c.TrustedIssuers[0].JWKS = nil }), wantErr: "exactly one of JWKS and JWKSURI"},
		{name: "issuer with both", cfg: good(func(c *grants.JWTBearerConfig) { c.TrustedIssuers[0].JWKSURI = "https://idp.example.com/jwks" }), wantErr: "exactly one of JWKS and JWKSURI"},
		{name: "issuer without a name", cfg: good(func(c *grants.JWTBearerConfig) { c.TrustedIssuers[0].Issuer = "" }), wantErr: "has no Issuer"},
		{name: "issuer twice", cfg: good(func(c *grants.JWTBearerConfig) { c.TrustedIssuers = append(c.TrustedIssuers, c.TrustedIssuers[0]) }), wantErr: "listed twice"},
		{name: "http jwks_uri", cfg: good(func(c *grants.JWTBearerConfig) {
			c.TrustedIssuers[0] = grants.TrustedIssuer{Issuer: jbIdP, JWKSURI: "http://idp.example.com/jwks"}
		}), wantErr: "must be an https URL"},
		{name: "unusable JWKS", cfg: good(func(c *grants.JWTBearerConfig) { c.TrustedIssuers[0].JWKS = []byte(`{"keys":[]}`) }), wantErr: "not a usable JWK Set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := grants.NewJWTBearer(tt.cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("NewJWTBearer: %v", err)
			case tt.wantErr == "" && g.GrantType() != "urn:ietf:params:oauth:grant-type:jwt-bearer":
				t.Errorf("GrantType() = %q", g.GrantType())
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("NewJWTBearer: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
