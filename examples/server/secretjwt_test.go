package main

import (
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
)

// macSecret is the secret of the client_secret_jwt client of the tests: 32
// characters at least, as HS256 needs.
const macSecret = "mac-secret-0123456789abcdefghijklmnop"

// macAssertion is a client assertion (RFC 7523 §3) of clientID, MACed with
// secret (HS256), for aud, valid for a minute, with a new jti.
func macAssertion(t *testing.T, secret, clientID, aud string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(secret)}, (&jose.SignerOptions{}).WithType("JWT"))
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

// secretJWTConfig has the client_secret_jwt client mac, the
// private_key_jwt client signer (key) and the secret client svc.
func secretJWTConfig(t *testing.T, key clientKey) config {
	t.Helper()
	cfg, err := parseConfig("", strings.NewReader(`{"clients": [
		{"id": "mac", "secret": "`+macSecret+`", "token_endpoint_auth_method": "client_secret_jwt",
		 "redirect_uris": ["https://mac.example/cb"], "grant_types": ["client_credentials", "authorization_code"], "scopes": ["read"]},
		{"id": "signer", "token_endpoint_auth_method": "private_key_jwt", "jwks": `+key.jwks(t)+`,
		 "grant_types": ["client_credentials"], "scopes": ["read"]},
		{"id": "svc", "secret": "svc-secret", "grant_types": ["client_credentials"], "scopes": ["read"]}
	], "users": [{"username": "alice", "password": "wonderland"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A client registered for client_secret_jwt gets tokens with HS256
// assertions MACed with its secret (go-jose, sent by x/oauth2
// clientcredentials); the metadata lists the method and the HMAC
// algorithms; an assertion MACed with another secret, replayed, or for
// another audience is refused; private_key_jwt still works beside it.
func TestClientSecretJWT(t *testing.T) {
	key := newClientKey(t, "k1")
	cfg := secretJWTConfig(t, key)
	ts := startServer(t, cfg, false)
	t.Cleanup(ts.Close)
	ctx := clientContext(t.Context(), ts)
	token := ts.issuer + pathToken

	t.Run("metadata", func(t *testing.T) {
		m := metadata(t, ts)
		methods := stringList(m["token_endpoint_auth_methods_supported"])
		if !slices.Contains(methods, "client_secret_jwt") || !slices.Contains(methods, "private_key_jwt") {
			t.Errorf("token_endpoint_auth_methods_supported = %q, want client_secret_jwt and private_key_jwt", methods)
		}
		algs := stringList(m["token_endpoint_auth_signing_alg_values_supported"])
		if !slices.Contains(algs, "HS256") || !slices.Contains(algs, "ES256") || slices.Contains(algs, "none") {
			t.Errorf("token_endpoint_auth_signing_alg_values_supported = %q, want HS256 and ES256", algs)
		}
	})
	t.Run("HS256 assertion", func(t *testing.T) {
		for _, aud := range []string{token, ts.issuer} {
			tok, err := assertionConfig(ts, "mac", macAssertion(t, macSecret, "mac", aud)).Token(ctx)
			if err != nil {
				t.Fatalf("aud %s: Token: %v", aud, err)
			}
			resp := callAPI(t, ts, http.MethodGet, pathAPIMe, "Bearer "+tok.AccessToken)
			if resp.status != http.StatusOK || !strings.Contains(resp.body, `"client_id":"mac"`) {
				t.Errorf("/api/me: status %d: %s", resp.status, resp.body)
			}
		}
	})
	t.Run("private_key_jwt beside it", func(t *testing.T) {
		if _, err := assertionConfig(ts, "signer", key.assertion(t, "signer", token)).Token(ctx); err != nil {
			t.Errorf("Token: %v", err)
		}
	})

	refused := func(t *testing.T, assertion, why string) {
		t.Helper()
		_, err := assertionConfig(ts, "mac", assertion).Token(ctx)
		if code, desc := errorCode(t, err); code != "invalid_client" || !strings.Contains(desc, why) {
			t.Errorf("error = %q (%s), want invalid_client (%s)", code, desc, why)
		}
	}
	t.Run("wrong secret", func(t *testing.T) {
		refused(t, macAssertion(t, strings.ToUpper(macSecret), "mac", token), "signature invalid")
	})
	t.Run("replayed", func(t *testing.T) {
		a := macAssertion(t, macSecret, "mac", token)
		if _, err := assertionConfig(ts, "mac", a).Token(ctx); err != nil {
			t.Fatalf("first use: %v", err)
		}
		refused(t, a, "replayed")
	})
	t.Run("wrong aud", func(t *testing.T) {
		refused(t, macAssertion(t, macSecret, "mac", "https://elsewhere.example/token"), "aud")
	})
	t.Run("the secret itself", func(t *testing.T) {
		// The secret authenticates only as the HMAC key, never sent.
		cc := assertionConfig(ts, "mac", "")
		cc.EndpointParams = nil
		cc.ClientSecret = macSecret
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
			cc.AuthStyle = style
			_, err := cc.Token(ctx)
			if code, _ := errorCode(t, err); code != "invalid_client" {
				t.Errorf("auth style %d: error = %q, want invalid_client", style, code)
			}
		}
	})
	t.Run("a secret client cannot use an HMAC assertion", func(t *testing.T) {
		_, err := assertionConfig(ts, "svc", macAssertion(t, "svc-secret-but-long-enough-for-hs256!", "svc", token)).Token(ctx)
		if code, _ := errorCode(t, err); code != "invalid_client" {
			t.Errorf("error = %q, want invalid_client", code)
		}
	})

	t.Run("banner and callback", func(t *testing.T) {
		var b strings.Builder
		printBanner(&b, ts.app, cfg)
		banner := b.String()
		if !strings.Contains(banner, "mac      secret "+macSecret+" (client_secret_jwt only)") {
			t.Errorf("the banner does not show the client_secret_jwt client:\n%s", banner)
		}
		if line := bannerLine(t, banner, "Try it (client_credentials for svc)"); !strings.Contains(line, "-u svc:svc-secret") {
			t.Errorf("Try it = %q, want svc's", line)
		}
		c := ts.app.byID["mac"]
		c.RedirectURIs = []string{callbackURI(ts.issuer, "mac")}
		ts.app.byID["mac"] = c
		p := newUserAgent(t, ts).get(ts.issuer + pathCallback + "/mac?code=abc")
		cmd := callbackCommand(p)
		if !strings.Contains(cmd, "-d client_assertion="+assertionPlaceholder) || strings.Contains(cmd, macSecret) {
			t.Errorf("callback command %q, want an assertion placeholder and no secret", cmd)
		}
		if !strings.Contains(p.body, "a JWT that the client MACs with its secret (HS256)") {
			t.Errorf("the callback page does not say how the assertion is made:\n%s", p.body)
		}
	})
}

// With -store postgres, the client's secret is stored sealed, never in
// clear nor hashed, and a restart, with a new seal key, seals and stores it
// again: the client authenticates before and after.
func TestClientSecretJWTPostgres(t *testing.T) {
	dbURL, _ := postgresSchema(t)
	cfg := secretJWTConfig(t, newClientKey(t, "k1"))
	for run := range 2 {
		st, err := openStores(t.Context(), dbURL)
		if err != nil {
			t.Fatalf("openStores: %v", err)
		}
		hs := httptest.NewUnstartedServer(nil)
		cfg.Issuer = "http://" + hs.Listener.Addr().String()
		a, err := newApp(t.Context(), cfg, st, slog.New(slog.DiscardHandler))
		if err != nil {
			hs.Close()
			st.close()
			t.Fatalf("run %d: newApp: %v", run, err)
		}
		hs.Config.Handler = a
		hs.Start()
		ts := &testServer{Server: hs, app: a, issuer: cfg.Issuer}
		_, err = assertionConfig(ts, "mac", macAssertion(t, macSecret, "mac", ts.issuer+pathToken)).Token(clientContext(t.Context(), ts))
		hs.Close()
		st.close()
		if err != nil {
			t.Fatalf("run %d: Token: %v", run, err)
		}
	}
	c, err := openStores(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	stored, err := c.clients.Client(t.Context(), "mac")
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.SealedSecret) == 0 || stored.SecretHash != "" || strings.Contains(string(stored.SealedSecret), macSecret) {
		t.Errorf("stored client: sealed secret %d bytes, hash %q: want the secret sealed only", len(stored.SealedSecret), stored.SecretHash)
	}
}

// A client_secret_jwt client needs a secret of at least 32 characters and
// is confidential.
func TestParseConfigClientSecretJWT(t *testing.T) {
	client := func(extra string) string {
		return `{"clients": [{"id": "mac", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_jwt"` + extra + `}]}`
	}
	cfg, err := parseConfig("", strings.NewReader(client(`, "secret": "`+macSecret+`"`)))
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	if c := cfg.Clients[0]; c.AuthMethod != "client_secret_jwt" || c.Secret != macSecret || c.Public {
		t.Errorf("client = %+v", c)
	}
	tests := []struct{ name, in, wantErr string }{
		{"no secret", client(``), `config: clients[0].secret: required for a confidential client`},
		{"short secret", client(`, "secret": "` + strings.Repeat("s", 31) + `"`), `config: clients[0].secret: too short (31 characters)`},
		{"public", client(`, "public": true`), `config: clients[0].token_endpoint_auth_method: "client_secret_jwt" needs a secret; a public client uses "none"`},
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
