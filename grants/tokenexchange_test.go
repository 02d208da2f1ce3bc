package grants_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/jwt"
	"github.com/oauthkit/oauthkit/storage/memory"
)

const (
	txOrders = "https://orders.example"
	txFiles  = "https://files.example"
)

// txFixture is a server over HTTP issuing JWT access tokens, with the
// password grant (client "app", alice), client_credentials (client "svc",
// the actor), and token exchange for "gateway" (allowed by the policy for
// the orders resource and the "orders" audience), "refused" (which the
// policy refuses) and "idless" (registered with a grant whose Policy is
// nil, at another grant type). Every client authenticates with
// client_secret_basic and etSecret.
type txFixture struct {
	etFixture
	keys     *jwt.KeySet
	store    *memory.Store
	clock    atomic.Pointer[time.Time]
	idp      jbSigner
	policies atomic.Int32 // calls of the policy
}

const txNilPolicy = "urn:example:token-exchange-nil-policy"

func newTXFixture(t *testing.T) *txFixture {
	t.Helper()
	f := &txFixture{idp: newJBSigner(t, "idp-1")}
	now := time.Now().UTC().Truncate(time.Second)
	f.clock.Store(&now)
	hash, err := oauthkit.HashSecret(etSecret)
	if err != nil {
		t.Fatal(err)
	}
	client := func(id string, scopes []string, grantTypes ...string) *oauthkit.Client {
		return &oauthkit.Client{ID: id, SecretHash: hash, GrantTypes: grantTypes, Scopes: scopes}
	}
	rw := []string{"read", "write"}
	f.store = memory.NewStore(
		client("app", rw, oauthkit.GrantTypePassword, oauthkit.GrantTypeRefreshToken),
		client("svc", rw, oauthkit.GrantTypeClientCredentials),
		client("gateway", []string{"read"}, grants.GrantTypeTokenExchange),
		client("refused", rw, grants.GrantTypeTokenExchange),
		client("idless", rw, txNilPolicy),
	)
	key, err := jwt.GenerateKey(jwt.ES256)
	if err != nil {
		t.Fatal(err)
	}
	if f.keys, err = jwt.NewKeySet(key); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	issuer := "http://" + ts.Listener.Addr().String()
	jwtGrant, err := grants.NewJWTBearer(grants.JWTBearerConfig{
		Issuer: issuer, ReplayCache: f.store,
		TrustedIssuers: []grants.TrustedIssuer{{Issuer: jbIdP, JWKS: jbSet(t, f.idp)}},
		Subject:        jbSubject,
	})
	if err != nil {
		t.Fatal(err)
	}
	exchange := grants.NewTokenExchange(grants.TokenExchangeConfig{
		JWT: jwtGrant,
		Policy: func(_ context.Context, x *grants.Exchange) error {
			f.policies.Add(1)
			if x.Client.ID != "gateway" {
				return oauthkit.ErrInvalidRequest.WithDescription("this client may not exchange tokens")
			}
			for _, a := range x.Audience {
				if a != "orders" {
					return oauthkit.ErrInvalidTarget.WithDescription("no tokens for %s", a)
				}
			}
			return nil
		},
	})
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:  issuer,
		Clients: f.store, Codes: f.store, Tokens: f.store, ReplayCache: f.store,
		AccessTokens: &jwt.AccessTokens{Keys: f.keys},
		Resources:    []string{txOrders, txFiles},
		Grants: []oauthkit.GrantHandler{
			grants.Password{Users: &fakeUsers{}}, grants.ClientCredentials{}, exchange,
			nilPolicyGrant{grants.NewTokenExchange(grants.TokenExchangeConfig{})},
		},
		Now:    func() time.Time { return *f.clock.Load() },
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = routes(srv)
	ts.Start()
	t.Cleanup(ts.Close)
	f.url = ts.URL
	return f
}

// nilPolicyGrant is a TokenExchange without a policy, at another grant type.
type nilPolicyGrant struct{ *grants.TokenExchange }

func (nilPolicyGrant) GrantType() string { return txNilPolicy }

// routes mounts srv's back-channel endpoints.
func routes(srv *oauthkit.Server) *http.ServeMux {
	m := http.NewServeMux()
	m.Handle("POST /token", srv.TokenHandler())
	m.Handle("POST /introspect", srv.IntrospectionHandler())
	m.Handle("POST /revoke", srv.RevocationHandler())
	return m
}

// token asks for a token as client with form, failing the test on error.
func (f *txFixture) token(t *testing.T, client string, form url.Values) map[string]any {
	t.Helper()
	status, _, body := f.post(t, "/token", client, form)
	if status != 200 {
		t.Fatalf("token request of %s: %d %v", client, status, body)
	}
	return body
}

// aliceToken is an access token of alice with scope, from the password
// grant, and its refresh token.
func (f *txFixture) aliceToken(t *testing.T, scope string) (string, string) {
	body := f.token(t, "app", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {alicePassword}, "scope": {scope}})
	return body["access_token"].(string), body["refresh_token"].(string)
}

// svcToken is an access token of client svc for itself.
func (f *txFixture) svcToken(t *testing.T) string {
	return f.token(t, "svc", url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})["access_token"].(string)
}

func exchangeForm(subject, subjectType string, extra url.Values) url.Values {
	f := url.Values{"grant_type": {grants.GrantTypeTokenExchange}, "subject_token": {subject}, "subject_token_type": {subjectType}}
	for k, v := range extra {
		f[k] = v
	}
	return f
}

// claims verifies a JWT access token of the fixture with go-jose and
// returns its claims.
func (f *txFixture) claims(t *testing.T, token string) map[string]any {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(f.keys.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	parsed, err := josejwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := parsed.Claims(set.Keys[0].Key, &claims); err != nil {
		t.Fatalf("signature: %v", err)
	}
	return claims
}

// TestTokenExchangeEndToEnd exchanges alice's token, with svc as the
// actor, over HTTP, and checks the JWT with go-jose and introspection: the
// act claim names the actor, and an exchange of the exchanged token nests
// the prior actor (RFC 8693 §4.1).
func TestTokenExchangeEndToEnd(t *testing.T) {
	f := newTXFixture(t)
	alice, _ := f.aliceToken(t, "read write")
	actor := f.svcToken(t)

	body := f.token(t, "gateway", exchangeForm(alice, grants.TokenTypeAccessToken, url.Values{
		"actor_token": {actor}, "actor_token_type": {grants.TokenTypeAccessToken},
		"resource": {txOrders}, "audience": {"orders"}, "scope": {"read"},
	}))
	if body["issued_token_type"] != grants.TokenTypeAccessToken || body["token_type"] != "Bearer" || body["refresh_token"] != nil || body["scope"] != "read" {
		t.Fatalf("response %v", body)
	}
	exchanged := body["access_token"].(string)
	claims := f.claims(t, exchanged)
	want := map[string]any{"sub": aliceSubject, "client_id": "gateway", "scope": "read",
		"aud": []any{"orders", txOrders}, "act": map[string]any{"sub": "svc"}}
	for k, v := range want {
		if diff := cmp.Diff(v, claims[k]); diff != "" {
			t.Errorf("claim %s (-want +got):\n%s", k, diff)
		}
	}
	_, _, intro := f.post(t, "/introspect", "svc", url.Values{"token": {exchanged}})
	// svc is not in the token's audience, so it learns nothing.
	if intro["active"] != false {
		t.Errorf("introspection by a client outside the audience: %v", intro)
	}

	// The exchanged token exchanged again, svc acting once more: the
	// earlier act is nested as the prior actor.
	body = f.token(t, "gateway", exchangeForm(exchanged, grants.TokenTypeJWT, url.Values{
		"actor_token": {actor}, "actor_token_type": {grants.TokenTypeAccessToken},
	}))
	nested := f.claims(t, body["access_token"].(string))
	if diff := cmp.Diff(map[string]any{"sub": "svc", "act": map[string]any{"sub": "svc"}}, nested["act"]); diff != "" {
		t.Errorf("nested act (-want +got):\n%s", diff)
	}
	// Without an actor, the subject's act stays.
	body = f.token(t, "gateway", exchangeForm(exchanged, grants.TokenTypeAccessToken, nil))
	if diff := cmp.Diff(map[string]any{"sub": "svc"}, f.claims(t, body["access_token"].(string))["act"]); diff != "" {
		t.Errorf("kept act (-want +got):\n%s", diff)
	}
	// The gateway may introspect what it was issued (no audience: any
	// client may).
	_, _, intro = f.post(t, "/introspect", "gateway", url.Values{"token": {body["access_token"].(string)}})
	if diff := cmp.Diff(map[string]any{"sub": "svc"}, intro["act"]); diff != "" || intro["active"] != true {
		t.Errorf("introspection act (-want +got):\n%s\n%v", diff, intro)
	}
}

// TestTokenExchangeTrustedJWT exchanges a trusted issuer's JWT for an
// access token of the user it maps to.
func TestTokenExchangeTrustedJWT(t *testing.T) {
	f := newTXFixture(t)
	claims := func(iss string) map[string]any {
		return map[string]any{"iss": iss, "sub": "alice", "aud": f.url, "exp": time.Now().Add(time.Minute).Unix(),
			"jti": iss + time.Now().String()}
	}
	jwtToken := f.idp.sign(t, claims(jbIdP))
	body := f.token(t, "gateway", exchangeForm(jwtToken, grants.TokenTypeJWT, nil))
	if got := f.claims(t, body["access_token"].(string)); got["sub"] != jbIdP+"|alice" || got["scope"] != nil {
		t.Errorf("claims %v", got)
	}
	// Once only: the jti is spent (RFC 7523 §3, the rules of JWTBearer).
	status, _, body := f.post(t, "/token", "gateway", exchangeForm(jwtToken, grants.TokenTypeJWT, nil))
	if status != 400 || body["error"] != "invalid_request" {
		t.Errorf("replayed JWT: %d %v", status, body)
	}
	// A JWT of an issuer not trusted, or the JWT labelled access_token.
	for _, tok := range []string{newJBSigner(t, "idp-1").sign(t, claims(jbIdP)), f.idp.sign(t, claims("https://evil.example"))} {
		status, _, body := f.post(t, "/token", "gateway", exchangeForm(tok, grants.TokenTypeJWT, nil))
		if status != 400 || body["error"] != "invalid_request" {
			t.Errorf("untrusted JWT: %d %v", status, body)
		}
	}
	status, _, body = f.post(t, "/token", "gateway", exchangeForm(f.idp.sign(t, claims(jbIdP)), grants.TokenTypeAccessToken, nil))
	if status != 400 || body["error"] != "invalid_request" {
		t.Errorf("trusted JWT as access_token: %d %v", status, body)
	}
}

// TestTokenExchangeHostile checks every refusal: RFC 8693 §2.2.2
// invalid_request for bad or unacceptable tokens, invalid_target for
// targets, invalid_scope beyond the subject token's scope.
func TestTokenExchangeHostile(t *testing.T) {
	f := newTXFixture(t)
	alice, aliceRefresh := f.aliceToken(t, "read")
	revoked, _ := f.aliceToken(t, "read")
	if status, _, _ := f.post(t, "/revoke", "app", url.Values{"token": {revoked}}); status != 200 {
		t.Fatal("revocation failed")
	}
	expiring, _ := f.aliceToken(t, "read")
	svc := f.svcToken(t)
	at := grants.TokenTypeAccessToken
	tests := []struct {
		name       string
		client     string
		form       url.Values
		wantError  string
		wantPolicy bool // whether the policy must have been asked
	}{
		{"missing subject_token", "gateway", url.Values{"grant_type": {grants.GrantTypeTokenExchange}, "subject_token_type": {at}}, "invalid_request", false},
		{"missing subject_token_type", "gateway", url.Values{"grant_type": {grants.GrantTypeTokenExchange}, "subject_token": {alice}}, "invalid_request", false},
		{"actor_token without its type", "gateway", exchangeForm(alice, at, url.Values{"actor_token": {svc}}), "invalid_request", false},
		{"actor_token_type without a token", "gateway", exchangeForm(alice, at, url.Values{"actor_token_type": {at}}), "invalid_request", false},
		{"unsupported requested_token_type", "gateway", exchangeForm(alice, at, url.Values{"requested_token_type": {grants.TokenTypeRefreshToken}}), "invalid_request", false},
		{"refresh token as subject", "gateway", exchangeForm(aliceRefresh, grants.TokenTypeRefreshToken, nil), "invalid_request", false},
		{"refresh token labelled access_token", "gateway", exchangeForm(aliceRefresh, at, nil), "invalid_request", false},
		{"unsupported subject_token_type", "gateway", exchangeForm(alice, "urn:ietf:params:oauth:token-type:saml2", nil), "invalid_request", false},
		{"unknown subject_token", "gateway", exchangeForm("no-such-token-0123456789abcdef0123456789", at, nil), "invalid_request", false},
		{"revoked subject_token", "gateway", exchangeForm(revoked, at, nil), "invalid_request", false},
		{"expired subject_token", "gateway", exchangeForm(expiring, at, url.Values{"expire": {"1"}}), "invalid_request", false},
		{"invalid actor_token", "gateway", exchangeForm(alice, at, url.Values{"actor_token": {revoked}, "actor_token_type": {at}}), "invalid_request", false},
		{"a client's own token as subject", "gateway", exchangeForm(svc, at, nil), "invalid_request", false},
		{"scope beyond the subject token's", "gateway", exchangeForm(alice, at, url.Values{"scope": {"read write"}}), "invalid_scope", false},
		{"scope beyond the client's", "refused", exchangeForm(alice, at, url.Values{"scope": {"admin"}}), "invalid_scope", false},
		{"resource no client may ask for", "gateway", exchangeForm(alice, at, url.Values{"resource": {"https://evil.example"}}), "invalid_target", false},
		{"audience the policy refuses", "gateway", exchangeForm(alice, at, url.Values{"audience": {"billing"}}), "invalid_target", true},
		{"client the policy refuses", "refused", exchangeForm(alice, at, nil), "invalid_request", true},
		{"no policy", "idless", url.Values{"grant_type": {txNilPolicy}, "subject_token": {alice}, "subject_token_type": {at}}, "invalid_request", false},
		{"client not registered for the grant", "app", exchangeForm(alice, at, nil), "unauthorized_client", false},
		{"repeated subject_token", "gateway", exchangeForm(alice, at, url.Values{"subject_token": {alice, alice}}), "invalid_request", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.form.Has("expire") {
				tt.form.Del("expire")
				later := time.Now().Add(2 * time.Hour)
				f.clock.Store(&later)
				t.Cleanup(func() { now := time.Now(); f.clock.Store(&now) })
			}
			before := f.policies.Load()
			status, _, body := f.post(t, "/token", tt.client, tt.form)
			if status != 400 || body["error"] != tt.wantError {
				t.Errorf("%d %v, want 400 %s", status, body, tt.wantError)
			}
			if asked := f.policies.Load() != before; asked != tt.wantPolicy {
				t.Errorf("policy asked = %v, want %v", asked, tt.wantPolicy)
			}
		})
	}
}
