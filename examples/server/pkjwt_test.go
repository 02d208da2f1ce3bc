package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauthkit/oauthkit"
)

// clientKey is a client's ES256 key pair, which signs its private_key_jwt
// assertions.
type clientKey struct {
	kid  string
	priv *ecdsa.PrivateKey
}

func newClientKey(t *testing.T, kid string) clientKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return clientKey{kid: kid, priv: priv}
}

// jwks returns the public key as a JWK Set in JSON.
func (k clientKey) jwks(t *testing.T) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.priv.PublicKey, KeyID: k.kid, Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertion signs a client assertion (RFC 7523 §3) for clientID with aud
// and a new jti, valid for a minute.
func (k clientKey) assertion(t *testing.T, clientID, aud string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s, err := jwt.Signed(signer).Claims(jwt.Claims{
		Issuer: clientID, Subject: clientID, Audience: jwt.Audience{aud},
		Expiry: jwt.NewNumericDate(now.Add(time.Minute)), IssuedAt: jwt.NewNumericDate(now), ID: rand.Text(),
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// assertionConfig is x/oauth2's client_credentials configuration of the
// private_key_jwt client id, with assertion as its client assertion.
func assertionConfig(ts *testServer, id, assertion string) *clientcredentials.Config {
	return &clientcredentials.Config{
		ClientID: id, TokenURL: ts.issuer + pathToken, Scopes: []string{"read"},
		AuthStyle: oauth2.AuthStyleInParams, // client_id in the form, no secret
		EndpointParams: url.Values{
			"client_assertion_type": {oauthkit.ClientAssertionTypeJWTBearer},
			"client_assertion":      {assertion},
		},
	}
}

// A client registered for private_key_jwt with its jwks gets tokens with
// assertions signed by its key (x/oauth2 clientcredentials, the assertion
// in EndpointParams); the metadata lists the method and its algorithms; an
// assertion is accepted once, and one signed by another key not at all.
func TestPrivateKeyJWT(t *testing.T) {
	key := newClientKey(t, "k1")
	cfg, err := parseConfig("", strings.NewReader(`{"clients": [
		{"id": "signer", "token_endpoint_auth_method": "private_key_jwt", "jwks": `+key.jwks(t)+`,
		 "grant_types": ["client_credentials"], "scopes": ["read"]},
		{"id": "svc", "secret": "svc-secret", "grant_types": ["client_credentials"], "scopes": ["read"]}
	], "users": []}`))
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, cfg, false)
	t.Cleanup(ts.Close)
	ctx := clientContext(t.Context(), ts)

	t.Run("metadata", func(t *testing.T) {
		m := metadata(t, ts)
		if methods := stringList(m["token_endpoint_auth_methods_supported"]); !slices.Contains(methods, "private_key_jwt") {
			t.Errorf("token_endpoint_auth_methods_supported = %q, want private_key_jwt", methods)
		}
		algs := stringList(m["token_endpoint_auth_signing_alg_values_supported"])
		if !slices.Contains(algs, "ES256") || !slices.Equal(algs, clientKeyAlgorithms) {
			t.Errorf("token_endpoint_auth_signing_alg_values_supported = %q, want %q", algs, clientKeyAlgorithms)
		}
		for _, a := range algs {
			if a == "none" || strings.HasPrefix(a, "HS") {
				t.Errorf("token_endpoint_auth_signing_alg_values_supported has %q", a)
			}
		}
	})

	var access string
	for _, aud := range []string{ts.issuer + pathToken, ts.issuer} {
		t.Run("aud "+aud, func(t *testing.T) {
			tok, err := assertionConfig(ts, "signer", key.assertion(t, "signer", aud)).Token(ctx)
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if tok.AccessToken == "" || tok.TokenType != "Bearer" {
				t.Fatalf("token = %+v", tok)
			}
			access = tok.AccessToken
		})
	}
	t.Run("demo API", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, ts.issuer+pathAPIMe, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+access)
		p := newUserAgent(t, ts).do(req)
		var me map[string]any
		if err := json.Unmarshal([]byte(p.body), &me); p.status != http.StatusOK || err != nil || me["sub"] != "signer" || me["client_id"] != "signer" {
			t.Errorf("/api/me: status %d, %s", p.status, p.body)
		}
	})

	refused := func(t *testing.T, cc *clientcredentials.Config) {
		t.Helper()
		_, err := cc.Token(ctx)
		if got := retrieveError(t, err); got != "invalid_client" {
			t.Errorf("error = %q, want invalid_client", got)
		}
	}
	t.Run("replayed", func(t *testing.T) {
		a := key.assertion(t, "signer", ts.issuer+pathToken)
		if _, err := assertionConfig(ts, "signer", a).Token(ctx); err != nil {
			t.Fatalf("first use: %v", err)
		}
		refused(t, assertionConfig(ts, "signer", a))
	})
	t.Run("another key", func(t *testing.T) {
		refused(t, assertionConfig(ts, "signer", newClientKey(t, "k1").assertion(t, "signer", ts.issuer+pathToken)))
	})
	t.Run("wrong aud", func(t *testing.T) {
		refused(t, assertionConfig(ts, "signer", key.assertion(t, "signer", "https://elsewhere.example/token")))
	})
	t.Run("without an assertion", func(t *testing.T) {
		refused(t, &clientcredentials.Config{ClientID: "signer", TokenURL: ts.issuer + pathToken, AuthStyle: oauth2.AuthStyleInParams})
	})
	t.Run("a secret client cannot use an assertion", func(t *testing.T) {
		refused(t, assertionConfig(ts, "svc", key.assertion(t, "svc", ts.issuer+pathToken)))
	})
	t.Run("the secret client still works", func(t *testing.T) {
		cc := clientcredentials.Config{ClientID: "svc", ClientSecret: "svc-secret", TokenURL: ts.issuer + pathToken, Scopes: []string{"read"}}
		if _, err := cc.Token(ctx); err != nil {
			t.Errorf("Token: %v", err)
		}
	})
}

// Without a private_key_jwt client, the metadata does not offer the method.
func TestPrivateKeyJWTNotOfferedByDefault(t *testing.T) {
	m := metadata(t, demoServer())
	if methods := stringList(m["token_endpoint_auth_methods_supported"]); slices.Contains(methods, "private_key_jwt") {
		t.Errorf("token_endpoint_auth_methods_supported = %q without a private_key_jwt client", methods)
	}
	if algs, ok := m["token_endpoint_auth_signing_alg_values_supported"]; ok {
		t.Errorf("token_endpoint_auth_signing_alg_values_supported = %v without a private_key_jwt client", algs)
	}
}

// The banner shows a private_key_jwt client without a secret, and its
// commands use only clients that curl can authenticate as; the callback
// page's command for such a client has a placeholder for the assertion.
func TestPrivateKeyJWTBannerAndCallback(t *testing.T) {
	key := newClientKey(t, "k1")
	cfg, err := parseConfig("", strings.NewReader(`{"clients": [
		{"id": "signer", "token_endpoint_auth_method": "private_key_jwt", "jwks": `+key.jwks(t)+`,
		 "redirect_uris": ["https://signer.example/cb"], "grant_types": ["client_credentials", "authorization_code"], "scopes": ["read"]},
		{"id": "svc", "secret": "svc-secret", "grant_types": ["client_credentials"], "scopes": ["read"]}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	signer := cfg.Clients[0]
	ts := startCustomServer(t, cfg, false, slog.New(slog.DiscardHandler), func(a *app) {
		signer.RedirectURIs = []string{callbackURI(a.issuer, signer.ID)}
		a.byID[signer.ID] = signer
	})
	t.Cleanup(ts.Close)

	var b strings.Builder
	printBanner(&b, ts.app, cfg)
	banner := b.String()
	if !strings.Contains(banner, "signer   private_key_jwt (signs assertions with a key of its jwks)") {
		t.Errorf("the banner does not show the private_key_jwt client:\n%s", banner)
	}
	if line := bannerLine(t, banner, "Try it (client_credentials for svc)"); !strings.Contains(line, "-u svc:svc-secret") {
		t.Errorf("Try it = %q, want svc's", line)
	}
	if ts.app.try.AuthorizeURL != "" {
		t.Errorf("the banner's authorization URL is for a private_key_jwt client: %s", ts.app.try.AuthorizeURL)
	}

	p := newUserAgent(t, ts).get(ts.issuer + pathCallback + "/signer?code=abc")
	cmd := callbackCommand(p)
	for _, want := range []string{"-d client_id=signer", "-d client_assertion_type=" + url.QueryEscape(oauthkit.ClientAssertionTypeJWTBearer),
		"-d client_assertion=" + assertionPlaceholder, "-d code=abc"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("callback command %q lacks %q", cmd, want)
		}
	}
	if strings.Contains(cmd, "-u ") || strings.Contains(p.body, secretPlaceholder) {
		t.Errorf("the callback page asks for a secret of a private_key_jwt client:\n%s", p.body)
	}
	if !strings.Contains(p.body, "Replace <code>"+assertionPlaceholder+"</code> with a client assertion") {
		t.Errorf("the callback page does not say what the assertion is:\n%s", p.body)
	}
}

// metadata fetches the server's RFC 8414 metadata.
func metadata(t *testing.T, ts *testServer) map[string]any {
	t.Helper()
	p := newUserAgent(t, ts).get(ts.issuer + pathMetadata)
	var m map[string]any
	if err := json.Unmarshal([]byte(p.body), &m); p.status != http.StatusOK || err != nil {
		t.Fatalf("metadata: status %d: %s (%v)", p.status, p.body, err)
	}
	return m
}

// stringList converts a JSON array of strings.
func stringList(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// A private_key_jwt client needs its public keys (jwks) and no secret; jwks
// is refused on a client of another method; every key must be a public
// signature key the server can use.
func TestParseConfigJWKS(t *testing.T) {
	key := newClientKey(t, "k1")
	pub := key.jwks(t)
	jwkOf := func(k jose.JSONWebKey) string {
		b, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	private := jwkOf(jose.JSONWebKey{Key: key.priv, KeyID: "k1"})
	rsaSmall, err := rsaKey(1024)
	if err != nil {
		t.Fatal(err)
	}
	ecPub := func(kid, alg, use string) string {
		return jwkOf(jose.JSONWebKey{Key: &key.priv.PublicKey, KeyID: kid, Algorithm: alg, Use: use})
	}
	client := func(extra string) string {
		return `{"clients": [{"id": "a", "grant_types": ["client_credentials"]` + extra + `}]}`
	}
	const method = `, "token_endpoint_auth_method": "private_key_jwt"`

	cfg, err := parseConfig("", strings.NewReader(client(method+`, "jwks": `+pub)))
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	c := cfg.Clients[0]
	if c.AuthMethod != "private_key_jwt" || c.Secret != "" || c.Public || string(c.JWKS) != pub {
		t.Errorf("client = %+v, want private_key_jwt with jwks %s", c, pub)
	}

	tests := []struct{ name, in, wantErr string }{
		{"without jwks", client(method), `config: clients[0].jwks: required for private_key_jwt: the client's public keys, a JWK Set such as {"keys": [{"kty": "EC", "crv": "P-256", "x": "…", "y": "…"}]}`},
		{"jwks null", client(method + `, "jwks": null`), `config: clients[0].jwks: required for private_key_jwt`},
		{"with a secret", client(method + `, "secret": "s", "jwks": ` + pub), `config: clients[0].secret: a private_key_jwt client authenticates with its keys (jwks), not a secret: remove the secret`},
		{"public", client(method + `, "public": true, "jwks": ` + pub), `config: clients[0].token_endpoint_auth_method: "private_key_jwt" is a method of a confidential client: remove "public": true`},
		{"jwks without a method", client(`, "secret": "s", "jwks": ` + pub), `config: clients[0].jwks: the client's public keys serve only "token_endpoint_auth_method": "private_key_jwt" and the assertions of the grant urn:ietf:params:oauth:grant-type:jwt-bearer; name that method or grant type, or remove jwks`},
		{"jwks with client_secret_basic", client(`, "secret": "s", "token_endpoint_auth_method": "client_secret_basic", "jwks": ` + pub), `config: clients[0].jwks: the client's public keys serve only`},
		{"jwks is an array", client(method + `, "jwks": []`), `config: clients[0].jwks: want an object, got array`},
		{"jwks without keys", client(method + `, "jwks": {}`), `config: clients[0].jwks.keys: required: a JWK Set is {"keys": [...]} (RFC 7517 §5)`},
		{"jwks with no key", client(method + `, "jwks": {"keys": []}`), `config: clients[0].jwks.keys: empty; list the client's public keys`},
		{"jwks with an unknown member", client(method + `, "jwks": {"keys": [` + ecPub("k1", "", "") + `], "extra": 1}`), `config: clients[0].jwks.extra: unknown field`},
		{"not a JWK", client(method + `, "jwks": {"keys": [{"kty": "EC"}]}`), `config: clients[0].jwks.keys[0]: not a JSON Web Key (RFC 7517 §4)`},
		{"private key", client(method + `, "jwks": {"keys": [` + private + `]}`), `config: clients[0].jwks.keys[0]: a private key: jwks holds the client's public keys only`},
		{"symmetric key", client(method + `, "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}]}`), `config: clients[0].jwks.keys[0]: a symmetric key (kty "oct")`},
		{"small RSA key", client(method + `, "jwks": {"keys": [` + jwkOf(jose.JSONWebKey{Key: &rsaSmall.PublicKey}) + `]}`), `config: clients[0].jwks.keys[0]: an RSA key of 1024 bits; at least 2048`},
		{"encryption key", client(method + `, "jwks": {"keys": [` + ecPub("k1", "", "enc") + `]}`), `config: clients[0].jwks.keys[0]: "use" is "enc"; assertions need signature keys`},
		{"HMAC alg", client(method + `, "jwks": {"keys": [` + ecPub("k1", "HS256", "") + `]}`), `config: clients[0].jwks.keys[0]: "alg" "HS256" is not accepted; want one of ES256`},
		{"alg of another curve", client(method + `, "jwks": {"keys": [` + ecPub("k1", "ES384", "") + `]}`), `config: clients[0].jwks.keys[0]: "alg" "ES384" does not fit the key`},
		{"duplicate kid", client(method + `, "jwks": {"keys": [` + ecPub("k1", "", "") + `, ` + ecPub("k1", "ES256", "sig") + `]}`), `config: clients[0].jwks.keys[1].kid: duplicate kid "k1"`},
		{"jwks with client_secret_jwt", client(`, "secret": "` + strings.Repeat("s", 32) + `", "token_endpoint_auth_method": "client_secret_jwt", "jwks": ` + pub), `config: clients[0].jwks: the client's public keys serve only`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig("", strings.NewReader(tt.in))
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("parseConfig error:\n got %v\nwant prefix %s", err, tt.wantErr)
			}
		})
	}
}

func rsaKey(bits int) (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, bits) }

// With -store postgres, the client's jwks is stored with it, and the
// assertions' jti are remembered in the database: an assertion is accepted
// once.
func TestPrivateKeyJWTPostgres(t *testing.T) {
	dbURL, _ := postgresSchema(t)
	st, err := openStores(t.Context(), dbURL)
	if err != nil {
		t.Fatalf("openStores: %v", err)
	}
	t.Cleanup(st.close)
	key := newClientKey(t, "k1")
	cfg, err := parseConfig("", strings.NewReader(`{"clients": [
		{"id": "signer", "token_endpoint_auth_method": "private_key_jwt", "jwks": `+key.jwks(t)+`,
		 "grant_types": ["client_credentials"], "scopes": ["read"]}], "users": []}`))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	cfg.Issuer = "http://" + ts.Listener.Addr().String()
	a, err := newApp(t.Context(), cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		ts.Close()
		t.Fatalf("newApp: %v", err)
	}
	ts.Config.Handler = a
	ts.Start()
	t.Cleanup(ts.Close)
	server := &testServer{Server: ts, app: a, issuer: cfg.Issuer}
	ctx := clientContext(t.Context(), server)

	assertion := key.assertion(t, "signer", server.issuer+pathToken)
	if _, err := assertionConfig(server, "signer", assertion).Token(ctx); err != nil {
		t.Fatalf("Token: %v", err)
	}
	_, err = assertionConfig(server, "signer", assertion).Token(ctx)
	if got := retrieveError(t, err); got != "invalid_client" {
		t.Errorf("replayed assertion: error = %q, want invalid_client", got)
	}
	if n := countRows(t, dbURL, "oauthkit_replay_cache"); n != 1 {
		t.Errorf("%d rows in the replay cache, want 1", n)
	}
}
