package oauthkit_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
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
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/internal/josetest"
	"github.com/oauthkit/oauthkit/storage/memory"
)

const pkjIssuer = "https://auth.example.com"

// pkjKey is a client's signing key.
type pkjKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

func (k pkjKey) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

func pkjKeySet(t testing.TB, keys ...pkjKey) []byte {
	t.Helper()
	var set jose.JSONWebKeySet
	for _, k := range keys {
		set.Keys = append(set.Keys, k.public())
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newPKJKey(t testing.TB, kid string, alg jose.SignatureAlgorithm) pkjKey {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	return pkjKey{kid: kid, alg: alg, priv: priv}
}

// pkjSign signs claims as a client does: a compact JWS with the key's alg
// and kid, plus the given header options.
func pkjSign(t testing.TB, k pkjKey, claims any, opts ...func(*jose.SignerOptions) *jose.SignerOptions) string {
	t.Helper()
	o := (&jose.SignerOptions{}).WithType("JWT")
	if k.kid != "" {
		o = o.WithHeader(jose.HeaderKey("kid"), k.kid)
	}
	for _, f := range opts {
		o = f(o)
	}
	return pkjSignWith(t, jose.SigningKey{Algorithm: k.alg, Key: k.priv}, o, claims)
}

func pkjSignWith(t testing.TB, key jose.SigningKey, o *jose.SignerOptions, claims any) string {
	t.Helper()
	return josetest.Sign(t, key, o, claims)
}

var pkjJTI atomic.Int64

// pkjClaims are valid assertion claims for client at now, with a fresh jti.
func pkjClaims(client string, now time.Time) map[string]any {
	return map[string]any{
		"iss": client, "sub": client, "aud": pkjIssuer + "/token",
		"exp": now.Add(time.Minute).Unix(), "iat": now.Unix(),
		"jti": fmt.Sprintf("jti-%d", pkjJTI.Add(1)),
	}
}

// pkjFixture is a token endpoint over HTTP that accepts private_key_jwt,
// with clients whose keys are registered inline or at a jwks_uri.
type pkjFixture struct {
	now      time.Time
	tokenURL string
	keys     map[string]pkjKey // by kid
	fetches  atomic.Int32      // of /good
}

// pkjClients are the fixture's clients: "svc" with its keys inline, "svc2"
// with another key, "uri" with its keys at a jwks_uri (and "slow", "huge",
// "garbage", "down" at ones that fail), "secret" registered for
// client_secret_basic although its keys are known.
func newPKJFixture(t testing.TB) *pkjFixture {
	t.Helper()
	f := &pkjFixture{now: time.Now().Truncate(time.Second), keys: map[string]pkjKey{}}
	for _, k := range []pkjKey{
		newPKJKey(t, "ec1", jose.ES256), newPKJKey(t, "ed1", jose.EdDSA), newPKJKey(t, "rs1", jose.RS256),
		newPKJKey(t, "ps1", jose.PS256), newPKJKey(t, "other", jose.ES256), newPKJKey(t, "u1", jose.ES256),
	} {
		f.keys[k.kid] = k
	}
	goodSet := pkjKeySet(t, f.keys["u1"])
	jwksSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/good":
			f.fetches.Add(1)
			w.Write(goodSet)
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case "/huge":
			w.Write([]byte(`{"keys":[],"pad":"` + strings.Repeat("x", 1<<20) + `"}`))
		case "/garbage":
			w.Write([]byte("<html>not a key set</html>"))
		default:
			http.Error(w, "down", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(jwksSrv.Close)

	ccClient := func(id string, edit func(c *oauthkit.Client)) *oauthkit.Client {
		c := &oauthkit.Client{ID: id, AuthMethod: oauthkit.AuthMethodPrivateKeyJWT,
			GrantTypes: []string{oauthkit.GrantTypeClientCredentials}, Scopes: []string{"read"}}
		edit(c)
		return c
	}
	inline := pkjKeySet(t, f.keys["ec1"], f.keys["ed1"], f.keys["rs1"], f.keys["ps1"])
	hash, err := oauthkit.HashSecret("a-generated-secret-of-at-least-32-characters")
	if err != nil {
		t.Fatal(err)
	}
	clients := []*oauthkit.Client{
		ccClient("svc", func(c *oauthkit.Client) { c.JWKS = inline }),
		ccClient("svc2", func(c *oauthkit.Client) { c.JWKS = pkjKeySet(t, f.keys["other"]) }),
		ccClient("secret", func(c *oauthkit.Client) { c.JWKS, c.AuthMethod, c.SecretHash = inline, "", hash }),
		ccClient("nokeys", func(c *oauthkit.Client) {}),
	}
	for _, path := range []string{"good", "slow", "huge", "garbage", "down"} {
		clients = append(clients, ccClient(path, func(c *oauthkit.Client) { c.JWKSURI = jwksSrv.URL + "/" + path }))
	}
	clients = append(clients, ccClient("plainhttp", func(c *oauthkit.Client) { c.JWKSURI = "http://127.0.0.1:1/jwks" }))
	f.serve(t, memory.NewStore(clients...), oauthkit.PrivateKeyJWT{HTTPClient: jwksSrv.Client(), FetchTimeout: 300 * time.Millisecond})
	return f
}

// serve starts the fixture's token endpoint: the client_credentials grant,
// the clients of store, the client authentication methods, the fixture's
// clock.
func (f *pkjFixture) serve(t testing.TB, store *memory.Store, methods ...oauthkit.ClientAuthMethod) {
	t.Helper()
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:  pkjIssuer,
		Clients: store, Codes: store, Tokens: store, ReplayCache: store,
		Grants:            []oauthkit.GrantHandler{grants.ClientCredentials{}},
		ClientAuthMethods: methods,
		Now:               func() time.Time { return f.now },
		Logger:            slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.TokenHandler())
	t.Cleanup(ts.Close)
	f.tokenURL = ts.URL
}

// sign returns an assertion of the key kid over pkjClaims(client) edited by
// edit.
func (f *pkjFixture) sign(t testing.TB, kid, client string, edit func(c map[string]any)) string {
	t.Helper()
	c := pkjClaims(client, f.now)
	if edit != nil {
		edit(c)
	}
	return pkjSign(t, f.keys[kid], c)
}

// pkjAnswer is the outcome of a token request.
type pkjAnswer struct {
	Status      int
	Error       string
	Description string
}

// post sends a client_credentials request with the assertion and the
// extra parameters.
func (f *pkjFixture) post(t testing.TB, assertion string, extra url.Values, basic bool) pkjAnswer {
	t.Helper()
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {oauthkit.ClientAssertionTypeJWTBearer},
		"client_assertion":      {assertion},
	}
	for k, v := range extra {
		form[k] = v
	}
	req, err := http.NewRequest(http.MethodPost, f.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth("secret", "a-generated-secret-of-at-least-32-characters")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK && body.AccessToken == "" {
		t.Fatal("200 without an access token")
	}
	return pkjAnswer{resp.StatusCode, body.Error, body.Description}
}

// A client authenticates with private_key_jwt through golang.org/x/oauth2's
// client credentials flow, its assertion in the endpoint parameters, with
// keys registered inline and at a jwks_uri.
func TestPrivateKeyJWTEndToEnd(t *testing.T) {
	f := newPKJFixture(t)
	for _, tt := range []struct{ client, kid string }{{"svc", "ec1"}, {"svc", "ed1"}, {"svc", "rs1"}, {"svc", "ps1"}, {"good", "u1"}} {
		t.Run(tt.client+"/"+tt.kid, func(t *testing.T) {
			cfg := clientcredentials.Config{
				ClientID: tt.client, TokenURL: f.tokenURL, Scopes: []string{"read"},
				AuthStyle: oauth2.AuthStyleInParams,
				EndpointParams: url.Values{
					"client_assertion_type": {oauthkit.ClientAssertionTypeJWTBearer},
					"client_assertion":      {f.sign(t, tt.kid, tt.client, nil)},
				},
			}
			tok, err := cfg.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken == "" || tok.Extra("scope") != "read" {
				t.Errorf("token %+v, scope %v", tok, tok.Extra("scope"))
			}
		})
	}
}

// Every rule of RFC 7523 §3 and of the method, broken one at a time.
func TestPrivateKeyJWTHostile(t *testing.T) {
	f := newPKJFixture(t)
	ec := f.keys["ec1"]
	valid := func(edit func(c map[string]any)) string { return f.sign(t, "ec1", "svc", edit) }
	enc := base64.RawURLEncoding
	unsigned := func(header string) string {
		payload, _ := json.Marshal(pkjClaims("svc", f.now))
		return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString(payload) + "."
	}
	pubJWK, _ := json.Marshal(ec.public())
	good := valid(nil)
	parts := strings.Split(good, ".")

	ok := pkjAnswer{Status: 200}
	refused := func(desc string) pkjAnswer {
		return pkjAnswer{Status: 400, Error: "invalid_client", Description: desc}
	}
	tests := []struct {
		name      string
		assertion string
		extra     url.Values
		basic     bool
		want      pkjAnswer
		elapsed   time.Duration // if set, the answer must come within it
	}{
		{name: "valid", assertion: valid(nil), want: ok},
		{name: "aud the issuer", assertion: valid(func(c map[string]any) { c["aud"] = pkjIssuer }), want: ok},
		{name: "aud a list", assertion: valid(func(c map[string]any) { c["aud"] = []string{"https://x.example.com", pkjIssuer} }), want: ok},
		{name: "client_id sent too", assertion: valid(nil), extra: url.Values{"client_id": {"svc"}}, want: ok},
		{name: "nbf and iat within the leeway", assertion: valid(func(c map[string]any) {
			c["nbf"], c["iat"] = f.now.Add(20*time.Second).Unix(), f.now.Add(20*time.Second).Unix()
		}), want: ok},
		{name: "exp at the bound", assertion: valid(func(c map[string]any) { c["exp"] = f.now.Add(5 * time.Minute).Unix() }), want: ok},

		{name: "wrong aud", assertion: valid(func(c map[string]any) { c["aud"] = "https://evil.example.com/token" }), want: refused("client_assertion aud must contain the issuer or the token endpoint URL")},
		{name: "aud with a trailing slash", assertion: valid(func(c map[string]any) { c["aud"] = pkjIssuer + "/" }), want: refused("client_assertion aud must contain the issuer or the token endpoint URL")},
		{name: "no aud", assertion: valid(func(c map[string]any) { delete(c, "aud") }), want: refused("client_assertion aud must contain the issuer or the token endpoint URL")},
		{name: "expired", assertion: valid(func(c map[string]any) { c["exp"] = f.now.Add(-time.Second).Unix() }), want: refused("client_assertion expired")},
		{name: "expires now", assertion: valid(func(c map[string]any) { c["exp"] = f.now.Unix() }), want: refused("client_assertion expired")},
		{name: "exp far ahead", assertion: valid(func(c map[string]any) { c["exp"] = f.now.Add(time.Hour).Unix() }), want: refused("client_assertion exp more than 5m0s ahead")},
		{name: "exp beyond the bound and leeway", assertion: valid(func(c map[string]any) { c["exp"] = f.now.Add(5*time.Minute + 31*time.Second).Unix() }), want: refused("client_assertion exp more than 5m0s ahead")},
		{name: "exp overflowing", assertion: valid(func(c map[string]any) { c["exp"] = 1e300 }), want: refused("client_assertion claims are not a well-formed JSON object")},
		{name: "no exp", assertion: valid(func(c map[string]any) { delete(c, "exp") }), want: refused("client_assertion exp missing")},
		{name: "exp a string", assertion: valid(func(c map[string]any) { c["exp"] = "soon" }), want: refused("client_assertion claims are not a well-formed JSON object")},
		{name: "nbf in the future", assertion: valid(func(c map[string]any) { c["nbf"] = f.now.Add(time.Minute).Unix() }), want: refused("client_assertion not yet valid (nbf)")},
		{name: "iat in the future", assertion: valid(func(c map[string]any) { c["iat"] = f.now.Add(time.Minute).Unix() }), want: refused("client_assertion iat in the future")},
		{name: "no jti", assertion: valid(func(c map[string]any) { delete(c, "jti") }), want: refused("client_assertion jti missing")},
		{name: "iss is not sub", assertion: valid(func(c map[string]any) { c["iss"] = "svc2" }), want: refused("client_assertion iss and sub must both be the client ID")},
		{name: "no iss", assertion: valid(func(c map[string]any) { delete(c, "iss") }), want: refused("client_assertion iss missing")},
		{name: "no sub", assertion: valid(func(c map[string]any) { delete(c, "sub") }), want: refused("client_assertion sub missing")},
		{name: "sub is not client_id", assertion: valid(nil), extra: url.Values{"client_id": {"svc2"}}, want: refused("client_id does not match the client_assertion sub")},
		{name: "signed with another client's key", assertion: f.sign(t, "other", "svc", nil), want: refused("client_assertion signed with an unknown key")},
		{name: "unknown client", assertion: f.sign(t, "ec1", "nobody", nil), want: refused("client authentication failed")},
		{name: "client registered for another method", assertion: f.sign(t, "ec1", "secret", nil), want: refused("client authentication failed")},
		{name: "client without keys", assertion: f.sign(t, "ec1", "nokeys", nil), want: refused("the client has no registered keys")},
		{name: "two methods at once", assertion: valid(nil), basic: true, want: pkjAnswer{Status: 400, Error: "invalid_request", Description: "more than one client authentication method"}},

		{name: "alg none", assertion: unsigned(`{"alg":"none","kid":"ec1"}`), want: refused("client_assertion signature algorithm not allowed")},
		{name: "HS256 keyed with the public key", assertion: pkjSignWith(t, jose.SigningKey{Algorithm: jose.HS256, Key: pubJWK},
			(&jose.SignerOptions{}).WithHeader("kid", "ec1"), pkjClaims("svc", f.now)), want: refused("client_assertion signature algorithm not allowed")},
		{name: "unknown kid", assertion: pkjSign(t, newPKJKey(t, "ec9", jose.ES256), pkjClaims("svc", f.now)), want: refused("client_assertion signed with an unknown key")},
		{name: "known kid, another key", assertion: pkjSign(t, pkjKey{kid: "ec1", alg: jose.ES256, priv: f.keys["other"].priv}, pkjClaims("svc", f.now)), want: refused("client_assertion signature invalid")},
		{name: "alg of another key type", assertion: pkjSign(t, pkjKey{kid: "rs1", alg: jose.ES256, priv: ec.priv}, pkjClaims("svc", f.now)), want: refused("client_assertion signed with an unknown key")},
		{name: "embedded jwk of the attacker's key", assertion: pkjSignWith(t, jose.SigningKey{Algorithm: jose.ES256, Key: f.keys["other"].priv},
			&jose.SignerOptions{EmbedJWK: true}, pkjClaims("svc", f.now)), want: refused("client_assertion signature invalid")},
		{name: "tampered payload", assertion: parts[0] + "." + enc.EncodeToString([]byte(`{"iss":"svc","sub":"svc","aud":"`+pkjIssuer+`","exp":`+jsonNumber(f.now.Add(time.Minute).Unix())+`,"jti":"forged"}`)) + "." + parts[2],
			want: refused("client_assertion signature invalid")},
		{name: "crit header", assertion: pkjSign(t, ec, pkjClaims("svc", f.now), func(o *jose.SignerOptions) *jose.SignerOptions { return o.WithCritical("exp").WithHeader("exp", 1) }),
			want: refused("client_assertion signature invalid")},
		{name: "not a JWT", assertion: "garbage", want: refused("client_assertion is not a signed JWT in compact serialization")},
		{name: "JWE shape", assertion: "a.b.c.d.e", want: refused("client_assertion is not a signed JWT in compact serialization")},
		{name: "bad base64", assertion: "!!!." + parts[1] + "." + parts[2], want: refused("client_assertion is not a well-formed JWS")},
		{name: "too long", assertion: parts[0] + "." + strings.Repeat("A", 9000) + "." + parts[2], want: refused("client_assertion too long")},
		{name: "empty", assertion: "", want: refused("client_assertion missing")},

		{name: "jwks_uri unknown kid", assertion: f.sign(t, "ec1", "good", nil), want: refused("client_assertion signed with an unknown key")},
		{name: "jwks_uri slow", assertion: f.sign(t, "u1", "slow", nil), want: pkjAnswer{Status: 503, Error: "server_error"}, elapsed: 2 * time.Second},
		{name: "jwks_uri huge", assertion: f.sign(t, "u1", "huge", nil), want: refused("the client's jwks_uri serves no usable JWK Set")},
		{name: "jwks_uri garbage", assertion: f.sign(t, "u1", "garbage", nil), want: refused("the client's jwks_uri serves no usable JWK Set")},
		{name: "jwks_uri down", assertion: f.sign(t, "u1", "down", nil), want: pkjAnswer{Status: 503, Error: "server_error"}},
		{name: "jwks_uri not https", assertion: f.sign(t, "u1", "plainhttp", nil), want: refused("the client's jwks_uri is not an https URL")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			got := f.post(t, tt.assertion, tt.extra, tt.basic)
			if tt.elapsed > 0 && time.Since(start) > tt.elapsed {
				t.Errorf("answered after %v, want within %v", time.Since(start), tt.elapsed)
			}
			if tt.want.Status == 503 {
				got.Description = "" // server_error says nothing of the cause
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }

// An assertion is accepted once: replayed in sequence, or by 50 requests
// at once, exactly one is served. Another client may use the same jti.
func TestPrivateKeyJWTReplay(t *testing.T) {
	f := newPKJFixture(t)
	claims := pkjClaims("svc", f.now)
	claims["jti"] = "shared-jti"
	first := pkjSign(t, f.keys["ec1"], claims)
	if got := f.post(t, first, nil, false); got.Status != 200 {
		t.Fatalf("first use: %+v", got)
	}
	want := pkjAnswer{Status: 400, Error: "invalid_client", Description: "client_assertion replayed (jti used before)"}
	if diff := cmp.Diff(want, f.post(t, first, nil, false)); diff != "" {
		t.Errorf("replay (-want +got):\n%s", diff)
	}
	claims2 := pkjClaims("svc2", f.now)
	claims2["jti"] = "shared-jti"
	if got := f.post(t, pkjSign(t, f.keys["other"], claims2), nil, false); got.Status != 200 {
		t.Errorf("another client's jti: %+v", got)
	}

	concurrent := f.sign(t, "ec1", "svc", nil)
	const n = 50
	answers := make([]pkjAnswer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { answers[i] = f.post(t, concurrent, nil, false) })
	}
	wg.Wait()
	accepted := 0
	for _, a := range answers {
		switch {
		case a.Status == 200:
			accepted++
		case a != want:
			t.Errorf("answer %+v", a)
		}
	}
	if accepted != 1 {
		t.Errorf("%d of %d concurrent replays accepted, want 1", accepted, n)
	}
}

// A jwks_uri is fetched once for many assertions, again for an unknown kid
// only after the refetch interval.
func TestPrivateKeyJWTRemoteKeysCached(t *testing.T) {
	f := newPKJFixture(t)
	for range 3 {
		if got := f.post(t, f.sign(t, "u1", "good", nil), nil, false); got.Status != 200 {
			t.Fatalf("%+v", got)
		}
	}
	for range 3 { // unknown kids: refetches rate-limited (the clock stands still)
		f.post(t, f.sign(t, "ec1", "good", nil), nil, false)
	}
	if n := f.fetches.Load(); n != 1 {
		t.Errorf("%d fetches of the jwks_uri, want 1", n)
	}
}

// New refuses PrivateKeyJWT and ClientSecretJWT without a replay cache (or
// a seal key) or with a bad configuration.
func TestAssertionMethodConfig(t *testing.T) {
	tests := []struct {
		name    string
		m       oauthkit.ClientAuthMethod
		replay  bool
		wantErr string
	}{
		{name: "defaults", m: oauthkit.PrivateKeyJWT{}, replay: true},
		{name: "no replay cache", m: oauthkit.PrivateKeyJWT{}, wantErr: "needs Config.ReplayCache"},
		{name: "HS256", m: oauthkit.PrivateKeyJWT{Algorithms: []string{"ES256", "HS256"}}, replay: true, wantErr: `"HS256" is not an allowed`},
		{name: "none", m: oauthkit.PrivateKeyJWT{Algorithms: []string{"none"}}, replay: true, wantErr: `"none" is not an allowed`},
		{name: "empty algorithms", m: oauthkit.PrivateKeyJWT{Algorithms: []string{}}, replay: true, wantErr: "Algorithms is empty"},
		{name: "negative lifetime", m: oauthkit.PrivateKeyJWT{MaxLifetime: -1}, replay: true, wantErr: "must not be negative"},

		{name: "client_secret_jwt defaults", m: oauthkit.ClientSecretJWT{SealKey: csjSealKey}, replay: true},
		{name: "client_secret_jwt without a seal key", m: oauthkit.ClientSecretJWT{}, replay: true, wantErr: "SealKey must be a 32-byte key"},
		{name: "client_secret_jwt with a short seal key", m: oauthkit.ClientSecretJWT{SealKey: csjSealKey[:16]}, replay: true, wantErr: "SealKey must be a 32-byte key"},
		{name: "client_secret_jwt without a replay cache", m: oauthkit.ClientSecretJWT{SealKey: csjSealKey}, wantErr: "ClientSecretJWT needs Config.ReplayCache"},
		{name: "client_secret_jwt RS256", m: oauthkit.ClientSecretJWT{SealKey: csjSealKey, Algorithms: []string{"HS256", "RS256"}}, replay: true, wantErr: `"RS256" is not HS256, HS384 or HS512`},
		{name: "client_secret_jwt none", m: oauthkit.ClientSecretJWT{SealKey: csjSealKey, Algorithms: []string{"none"}}, replay: true, wantErr: `"none" is not HS256`},
		{name: "client_secret_jwt empty algorithms", m: oauthkit.ClientSecretJWT{SealKey: csjSealKey, Algorithms: []string{}}, replay: true, wantErr: "Algorithms is empty"},
		{name: "client_secret_jwt negative lifetime", m: oauthkit.ClientSecretJWT{SealKey: csjSealKey, MaxLifetime: -1}, replay: true, wantErr: "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := oauthkit.Config{Issuer: pkjIssuer, Clients: memory.NewClients(), Codes: memory.NewCodes(), Tokens: memory.NewTokens(),
				ClientAuthMethods: []oauthkit.ClientAuthMethod{tt.m}}
			if tt.replay {
				cfg.ReplayCache = memory.NewReplayCache()
			}
			_, err := oauthkit.New(cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// The metadata lists private_key_jwt, client_secret_jwt and their
// algorithms (RFC 8414 §2), from the configured methods.
func TestAssertionMethodMetadata(t *testing.T) {
	tests := []struct {
		svcMetadataCase
		methods []oauthkit.ClientAuthMethod
		algs    []string
	}{
		{
			svcMetadataCase: svcMetadataCase{name: "private_key_jwt", golden: "metadata-private-key-jwt.json"},
			methods:         []oauthkit.ClientAuthMethod{oauthkit.PrivateKeyJWT{Algorithms: []string{"ES256", "EdDSA", "PS256"}}},
			algs:            []string{"ES256", "EdDSA", "PS256"},
		},
		{
			svcMetadataCase: svcMetadataCase{name: "client_secret_jwt", golden: "metadata-client-secret-jwt.json"},
			methods: []oauthkit.ClientAuthMethod{
				oauthkit.PrivateKeyJWT{Algorithms: []string{"ES256", "EdDSA"}},
				oauthkit.ClientSecretJWT{SealKey: csjSealKey},
			},
			algs: []string{"ES256", "EdDSA", "HS256", "HS384", "HS512"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.svcMetadataCase
			c.config = func(issuer string, _ oauthkit.Signer) oauthkit.Config {
				cfg := oauthkit.Config{
					Issuer:            issuer,
					ReplayCache:       memory.NewReplayCache(),
					ClientAuthMethods: tt.methods,
					Grants:            []oauthkit.GrantHandler{grants.ClientCredentials{}},
				}
				if tt.name == "private_key_jwt" {
					cfg.Endpoints = oauthkit.Endpoints{Introspection: issuer + "/introspect", Revocation: issuer + "/revoke"}
				}
				return cfg
			}
			srv := svcMetadataServer(t, c, svcIssuer)
			rec := httptest.NewRecorder()
			srv.MetadataHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/oauth-authorization-server", nil))
			svcGolden(t, c.golden, rec.Body.Bytes())
			m := srv.Metadata()
			names := []string{"client_secret_basic", "client_secret_post", "none"}
			for _, method := range tt.methods {
				names = append(names, method.Name())
			}
			if diff := cmp.Diff(names, m.TokenEndpointAuthMethodsSupported); diff != "" {
				t.Errorf("token_endpoint_auth_methods_supported (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.algs, m.TokenEndpointAuthSigningAlgValuesSupported); diff != "" {
				t.Errorf("token_endpoint_auth_signing_alg_values_supported (-want +got):\n%s", diff)
			}
		})
	}

	plain := svcMetadataServer(t, svcMetadataCases[0], svcIssuer).Metadata()
	if plain.TokenEndpointAuthSigningAlgValuesSupported != nil {
		t.Errorf("signing algorithms %v published without a method that signs", plain.TokenEndpointAuthSigningAlgValuesSupported)
	}
}

// BenchmarkPrivateKeyJWT compares, in one run, a client_credentials request
// authenticated by client_secret_basic, the same request authenticated by
// an ES256 private_key_jwt assertion (keys registered inline, jti
// remembered in storage/memory), and a bare go-jose ES256 verification of
// such an assertion (parse and verify). The target: private_key_jwt costs
// at most 1.2 verifications above client_secret_basic. Each assertion is
// signed, with a fresh jti, while the timer is stopped.
func BenchmarkPrivateKeyJWT(b *testing.B) {
	key := newPKJKey(b, "ec1", jose.ES256)
	hash, err := oauthkit.HashSecret(benchSecret)
	if err != nil {
		b.Fatal(err)
	}
	store := memory.NewStore(
		&oauthkit.Client{ID: "svc", SecretHash: hash, GrantTypes: []string{oauthkit.GrantTypeClientCredentials}, Scopes: []string{"read"}},
		&oauthkit.Client{ID: "jwt", AuthMethod: oauthkit.AuthMethodPrivateKeyJWT, JWKS: pkjKeySet(b, key),
			GrantTypes: []string{oauthkit.GrantTypeClientCredentials}, Scopes: []string{"read"}},
	)
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:  benchIssuer,
		Clients: store, Codes: store, Tokens: store, ReplayCache: store,
		Grants:            []oauthkit.GrantHandler{grants.ClientCredentials{}},
		ClientAuthMethods: []oauthkit.ClientAuthMethod{oauthkit.PrivateKeyJWT{}},
	})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.TokenHandler()
	sign := func() string {
		c := pkjClaims("jwt", time.Now())
		c["aud"] = benchIssuer
		return pkjSign(b, key, c)
	}

	b.Run("client_secret_basic", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			benchPost(b, h, "svc", benchCCForm)
		}
	})
	b.Run("private_key_jwt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			form := benchCCForm + "&client_assertion_type=" + url.QueryEscape(oauthkit.ClientAssertionTypeJWTBearer) + "&client_assertion=" + sign()
			req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			b.StartTimer()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
	b.Run("go-jose_ES256_verify", func(b *testing.B) {
		assertion, pub := sign(), key.priv.Public()
		b.ReportAllocs()
		for b.Loop() {
			jws, err := jose.ParseSignedCompact(assertion, []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := jws.Verify(pub); err != nil {
				b.Fatal(err)
			}
		}
	})
}
