package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	oauth2jwt "golang.org/x/oauth2/jwt"

	"github.com/oauthkit/oauthkit/grants"
)

// idpIssuer is the trusted issuer of the JWT bearer grant tests.
const idpIssuer = "https://idp.example"

// idpKey is an identity provider's RSA key: x/oauth2/jwt signs with RS256
// only, from a PEM private key.
type idpKey struct {
	kid  string
	priv *rsa.PrivateKey
}

func newIDPKey(t *testing.T, kid string) idpKey {
	t.Helper()
	priv, err := rsaKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	return idpKey{kid: kid, priv: priv}
}

// pem returns the private key as PKCS #8 PEM, as x/oauth2/jwt reads it.
func (k idpKey) pem(t *testing.T) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// jwks returns the public key as a JWK Set for RS256, the algorithm of
// x/oauth2/jwt.
func (k idpKey) jwks(t *testing.T) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.priv.PublicKey, KeyID: k.kid, Algorithm: "RS256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// basicAuth adds the client's credentials (client_secret_basic) to every
// request: x/oauth2/jwt sends only grant_type and assertion, and this
// server authenticates the client of every grant.
type basicAuth struct {
	id, secret string
	next       http.RoundTripper
}

func (b basicAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(b.id, b.secret)
	return b.next.RoundTrip(r)
}

// jwtBearerConfig is the config of the JWT bearer grant tests: the trusted
// issuer idpIssuer with key, the client app (a secret, the grant) and the
// client signer (a secret, the grant, and its own keys), and the user alice.
func jwtBearerConfig(t *testing.T, idp idpKey, signer clientKey) config {
	t.Helper()
	cfg, err := parseConfig("", strings.NewReader(`{
		"trusted_issuers": [{"issuer": "`+idpIssuer+`", "jwks": `+idp.jwks(t)+`}],
		"clients": [
			{"id": "app", "secret": "app-secret", "grant_types": ["`+grants.GrantTypeJWTBearer+`"], "scopes": ["read"]},
			{"id": "signer", "secret": "signer-secret", "jwks": `+signer.jwks(t)+`,
			 "grant_types": ["`+grants.GrantTypeJWTBearer+`"], "scopes": ["read"]},
			{"id": "svc", "secret": "svc-secret", "grant_types": ["client_credentials"], "scopes": ["read"]}
		],
		"users": [{"username": "alice", "password": "wonderland"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// idpAssertion is x/oauth2/jwt's configuration for an assertion of iss,
// signed with key, for sub, with the jti jti.
func idpAssertion(t *testing.T, ts *testServer, key idpKey, iss, sub, jti string) *oauth2jwt.Config {
	return &oauth2jwt.Config{
		Email:         iss, // x/oauth2/jwt's name for the iss claim
		PrivateKey:    key.pem(t),
		PrivateKeyID:  key.kid,
		Subject:       sub,
		TokenURL:      ts.issuer + pathToken, // and the aud
		Expires:       time.Minute,           // the default, an hour, is beyond the 5 minutes allowed
		PrivateClaims: map[string]any{"jti": jti},
	}
}

// signedAssertion is a JWT bearer grant assertion that key signs (ES256),
// with iss, sub and aud, valid for a minute, with a new jti.
func signedAssertion(t *testing.T, key clientKey, iss, sub, aud string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key.priv, KeyID: key.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s, err := josejwt.Signed(signer).Claims(josejwt.Claims{
		Issuer: iss, Subject: sub, Audience: josejwt.Audience{aud},
		Expiry: josejwt.NewNumericDate(now.Add(time.Minute)), IssuedAt: josejwt.NewNumericDate(now), ID: rand.Text(),
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// bearerGrant is x/oauth2's clientcredentials configuration turned into a
// JWT bearer grant request of the client id (client_secret_basic) with
// assertion and scope read: clientcredentials lets EndpointParams replace
// grant_type.
func bearerGrant(ts *testServer, id, secret, assertion string) *clientcredentials.Config {
	return &clientcredentials.Config{
		ClientID: id, ClientSecret: secret, TokenURL: ts.issuer + pathToken, Scopes: []string{"read"},
		AuthStyle: oauth2.AuthStyleInHeader,
		EndpointParams: map[string][]string{
			"grant_type": {grants.GrantTypeJWTBearer},
			"assertion":  {assertion},
		},
	}
}

// errorCode returns the RFC 6749 §5.2 error code and description of an
// x/oauth2 error, from its body when x/oauth2 did not parse them
// (x/oauth2/jwt does not).
func errorCode(t *testing.T, err error) (code, description string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not an *oauth2.RetrieveError", err)
	}
	if re.ErrorCode != "" {
		return re.ErrorCode, re.ErrorDescription
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(re.Body, &body); err != nil {
		t.Fatalf("error response %q: %v", re.Body, err)
	}
	return body.Error, body.Description
}

// The JWT bearer grant (RFC 7523 §2.1) end to end: assertions of a trusted
// issuer made by x/oauth2/jwt, and assertions a client signs itself with
// go-jose, give access tokens for the user their sub names; an untrusted
// issuer, an unknown user, a replayed assertion and a wrong aud are each
// refused with invalid_grant.
func TestJWTBearer(t *testing.T) {
	idp, signerKey := newIDPKey(t, "idp-1"), newClientKey(t, "s1")
	ts := startServer(t, jwtBearerConfig(t, idp, signerKey), false)
	t.Cleanup(ts.Close)
	ctx := clientContext(t.Context(), ts)
	// x/oauth2/jwt's requests, authenticated as app.
	appCtx := context.WithValue(t.Context(), oauth2.HTTPClient,
		&http.Client{Transport: basicAuth{id: "app", secret: "app-secret", next: ts.Client().Transport}})

	t.Run("metadata", func(t *testing.T) {
		if got := stringList(metadata(t, ts)["grant_types_supported"]); !slices.Contains(got, grants.GrantTypeJWTBearer) {
			t.Errorf("grant_types_supported = %q, want %s", got, grants.GrantTypeJWTBearer)
		}
	})

	t.Run("trusted issuer with x/oauth2/jwt", func(t *testing.T) {
		for _, aud := range []string{"", ts.issuer} { // the token endpoint, then the issuer
			jc := idpAssertion(t, ts, idp, idpIssuer, "alice", rand.Text())
			jc.Audience = aud
			tok, err := jc.TokenSource(appCtx).Token()
			if err != nil {
				t.Fatalf("aud %q: Token: %v", aud, err)
			}
			if tok.AccessToken == "" || tok.RefreshToken != "" {
				t.Fatalf("token = %+v, want an access token and no refresh token", tok)
			}
			in := introspect(t, ts, "svc", "svc-secret", tok.AccessToken)
			if in["active"] != true || in["sub"] != "alice" || in["client_id"] != "app" {
				t.Errorf("introspection = %v, want alice's token for app", in)
			}
		}
	})

	t.Run("client-signed assertion", func(t *testing.T) {
		a := signedAssertion(t, signerKey, "signer", "alice", ts.issuer+pathToken)
		tok, err := bearerGrant(ts, "signer", "signer-secret", a).Token(ctx)
		if err != nil {
			t.Fatalf("Token: %v", err)
		}
		resp := callAPI(t, ts, http.MethodGet, pathAPIMe, "Bearer "+tok.AccessToken)
		var me map[string]any
		if err := json.Unmarshal([]byte(resp.body), &me); resp.status != http.StatusOK || err != nil ||
			me["user"] != "alice" || me["client_id"] != "signer" {
			t.Errorf("/api/me: status %d: %s", resp.status, resp.body)
		}
	})

	// invalidGrant checks an invalid_grant refusal whose description has
	// why, so that each test is refused for its own reason.
	invalidGrant := func(t *testing.T, err error, why string) {
		t.Helper()
		if err == nil {
			t.Fatal("the assertion was accepted")
		}
		if code, desc := errorCode(t, err); code != "invalid_grant" || !strings.Contains(desc, why) {
			t.Errorf("error = %q (%s), want invalid_grant (%s)", code, desc, why)
		}
	}
	const (
		untrusted = "iss is not a trusted issuer"
		badSig    = "signature invalid"
		notAUser  = "sub is not a resource owner"
		replayed  = "replayed"
		wrongAud  = "aud must contain the issuer or the token endpoint"
	)
	t.Run("untrusted issuer", func(t *testing.T) {
		_, err := idpAssertion(t, ts, newIDPKey(t, "idp-1"), "https://evil.example", "alice", rand.Text()).TokenSource(appCtx).Token()
		invalidGrant(t, err, untrusted)
	})
	t.Run("trusted issuer, another key", func(t *testing.T) {
		_, err := idpAssertion(t, ts, newIDPKey(t, "idp-1"), idpIssuer, "alice", rand.Text()).TokenSource(appCtx).Token()
		invalidGrant(t, err, badSig)
	})
	t.Run("unknown user", func(t *testing.T) {
		_, err := idpAssertion(t, ts, idp, idpIssuer, "mallory", rand.Text()).TokenSource(appCtx).Token()
		invalidGrant(t, err, notAUser)
		_, err = bearerGrant(ts, "signer", "signer-secret", signedAssertion(t, signerKey, "signer", "mallory", ts.issuer+pathToken)).Token(ctx)
		invalidGrant(t, err, notAUser)
	})
	t.Run("a client is not a user", func(t *testing.T) {
		_, err := bearerGrant(ts, "signer", "signer-secret", signedAssertion(t, signerKey, "signer", "svc", ts.issuer+pathToken)).Token(ctx)
		invalidGrant(t, err, notAUser)
	})
	t.Run("replayed", func(t *testing.T) {
		jti := rand.Text()
		if _, err := idpAssertion(t, ts, idp, idpIssuer, "alice", jti).TokenSource(appCtx).Token(); err != nil {
			t.Fatalf("first use: %v", err)
		}
		// A new JWT (new iat and exp) with the same jti.
		_, err := idpAssertion(t, ts, idp, idpIssuer, "alice", jti).TokenSource(appCtx).Token()
		invalidGrant(t, err, replayed)

		a := signedAssertion(t, signerKey, "signer", "alice", ts.issuer+pathToken)
		if _, err := bearerGrant(ts, "signer", "signer-secret", a).Token(ctx); err != nil {
			t.Fatalf("first use: %v", err)
		}
		_, err = bearerGrant(ts, "signer", "signer-secret", a).Token(ctx)
		invalidGrant(t, err, replayed)
	})
	t.Run("wrong aud", func(t *testing.T) {
		jc := idpAssertion(t, ts, idp, idpIssuer, "alice", rand.Text())
		jc.Audience = "https://elsewhere.example/token"
		_, err := jc.TokenSource(appCtx).Token()
		invalidGrant(t, err, wrongAud)
		_, err = bearerGrant(ts, "signer", "signer-secret", signedAssertion(t, signerKey, "signer", "alice", "https://elsewhere.example")).Token(ctx)
		invalidGrant(t, err, wrongAud)
	})
	t.Run("signed as another client", func(t *testing.T) {
		// app has no keys: an assertion with iss signer, sent by app, is
		// neither a trusted issuer's nor app's own.
		a := signedAssertion(t, signerKey, "signer", "alice", ts.issuer+pathToken)
		_, err := bearerGrant(ts, "app", "app-secret", a).Token(ctx)
		invalidGrant(t, err, untrusted)
	})
	t.Run("a client without the grant", func(t *testing.T) {
		_, err := bearerGrant(ts, "svc", "svc-secret", signedAssertion(t, signerKey, "signer", "alice", ts.issuer+pathToken)).Token(ctx)
		if got := retrieveError(t, err); got != "unauthorized_client" {
			t.Errorf("error = %q, want unauthorized_client", got)
		}
	})
}

// Without a client registered for the JWT bearer grant, it is neither
// served nor advertised, even with trusted issuers; the banner names them.
func TestJWTBearerFollowsClients(t *testing.T) {
	cfg := jwtBearerConfig(t, newIDPKey(t, "idp-1"), newClientKey(t, "s1"))
	cfg.Clients = cfg.Clients[2:] // svc only
	ts := startServer(t, cfg, false)
	t.Cleanup(ts.Close)
	if got := ts.app.server.Metadata().GrantTypesSupported; slices.Contains(got, grants.GrantTypeJWTBearer) {
		t.Errorf("grant_types_supported = %v without a client of the grant", got)
	}
	var b strings.Builder
	printBanner(&b, ts.app, cfg)
	if !strings.Contains(b.String(), "Trusted issuer (JWT bearer grant assertions, RFC 7523): "+idpIssuer) {
		t.Errorf("the banner does not name the trusted issuer:\n%s", b.String())
	}
}

// trusted_issuers: each an https issuer URL, once, with a JWK Set of public
// signature keys; a client of the JWT bearer grant needs a trusted issuer
// or its own jwks.
func TestParseConfigTrustedIssuers(t *testing.T) {
	idp := newIDPKey(t, "idp-1")
	pub := idp.jwks(t)
	grant := `"grant_types": ["` + grants.GrantTypeJWTBearer + `"]`
	doc := func(issuers, clients string) string {
		if clients == "" {
			clients = `{"id": "app", "secret": "s", ` + grant + `}`
		}
		return `{"trusted_issuers": [` + issuers + `], "clients": [` + clients + `]}`
	}
	issuer := func(iss string) string { return `{"issuer": "` + iss + `", "jwks": ` + pub + `}` }

	cfg, err := parseConfig("", strings.NewReader(doc(issuer(idpIssuer)+", "+issuer("https://login.example.com/tenant/v2.0"), "")))
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	if len(cfg.TrustedIssuers) != 2 || cfg.TrustedIssuers[0].Issuer != idpIssuer || string(cfg.TrustedIssuers[0].JWKS) != pub {
		t.Errorf("trusted issuers = %+v", cfg.TrustedIssuers)
	}
	signer := newClientKey(t, "s1")
	if _, err := parseConfig("", strings.NewReader(`{"clients": [{"id": "signer", "secret": "s", "jwks": `+signer.jwks(t)+`, `+grant+`}]}`)); err != nil {
		t.Errorf("a client of the grant with its own jwks and no trusted issuer: %v", err)
	}

	secret := func(k jose.JSONWebKey) string {
		b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k}})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct{ name, in, wantErr string }{
		{"not a list", `{"trusted_issuers": {}}`, `config: trusted_issuers: want an array, got object`},
		{"unknown member", doc(`{"issuer": "`+idpIssuer+`", "jwks": `+pub+`, "jwks_uri": "https://idp.example/jwks"}`, ""), `config: trusted_issuers[0].jwks_uri: unknown field`},
		{"no issuer", doc(`{"jwks": `+pub+`}`, ""), `config: trusted_issuers[0].issuer: required: the iss of the issuer's JWTs, such as "https://idp.example"`},
		{"not a URL", doc(issuer("idp"), ""), `config: trusted_issuers[0].issuer: "idp" is not an absolute URL`},
		{"http", doc(issuer("http://idp.example"), ""), `config: trusted_issuers[0].issuer: "http://idp.example" must use https (http only on a loopback host, for development)`},
		{"query", doc(issuer("https://idp.example?x=1"), ""), `config: trusted_issuers[0].issuer: "https://idp.example?x=1" must have no user info, query or fragment`},
		{"duplicate", doc(issuer(idpIssuer)+", "+issuer(idpIssuer), ""), `config: trusted_issuers[1].issuer: duplicate issuer "https://idp.example"`},
		{"a client ID", doc(issuer(idpIssuer), `{"id": "`+idpIssuer+`", "secret": "s", `+grant+`}`), `config: trusted_issuers[0].issuer: "https://idp.example" is also a client ID`},
		{"no jwks", doc(`{"issuer": "`+idpIssuer+`"}`, ""), `config: trusted_issuers[0].jwks: required: the issuer's public keys`},
		{"private key", doc(`{"issuer": "`+idpIssuer+`", "jwks": `+secret(jose.JSONWebKey{Key: idp.priv, KeyID: "k"})+`}`, ""), `config: trusted_issuers[0].jwks.keys[0]: a private key: jwks holds the issuer's public keys only`},
		{"symmetric key", doc(`{"issuer": "`+idpIssuer+`", "jwks": `+secret(jose.JSONWebKey{Key: []byte(strings.Repeat("k", 32)), KeyID: "k"})+`}`, ""), `config: trusted_issuers[0].jwks.keys[0]: a symmetric key (kty "oct"): assertions are verified with the issuer's public keys`},
		{"HMAC alg", doc(`{"issuer": "`+idpIssuer+`", "jwks": `+secret(jose.JSONWebKey{Key: &idp.priv.PublicKey, Algorithm: "HS256"})+`}`, ""), `config: trusted_issuers[0].jwks.keys[0]: "alg" "HS256" is not accepted`},
		{"grant without issuers or keys", `{"clients": [{"id": "app", "secret": "s", ` + grant + `}]}`, `config: clients[0].grant_types[0]: the JWT bearer grant needs assertions it can verify: list their issuers in trusted_issuers, or give the client the public keys it signs its own assertions with (jwks)`},
		{"jwks on a public client", `{"clients": [{"id": "app", "public": true, "jwks": ` + signer.jwks(t) + `, ` + grant + `}]}`, `config: clients[0].jwks: a public client has no credentials`},
		{"client private key", `{"clients": [{"id": "app", "secret": "s", "jwks": ` + secret(jose.JSONWebKey{Key: signer.priv, KeyID: "k"}) + `, ` + grant + `}]}`, `config: clients[0].jwks.keys[0]: a private key: jwks holds the client's public keys only`},
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
