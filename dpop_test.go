package oauthkit_test

// DPoP at the token endpoint (RFC 9449 §5, §8, §10): hostile proofs, each
// rule broken once; binding of access and refresh tokens; refresh tokens of
// public clients bound, of confidential ones not; reuse detection that a
// key check does not short-circuit; codes bound with dpop_jkt; nonces;
// replays across concurrent requests.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/dpop"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/internal/josetest"
	"github.com/oauthkit/oauthkit/jwt"
	"github.com/oauthkit/oauthkit/storage/memory"
)

const (
	dpopIssuer   = "https://as.example.com"
	dpopTokenURL = dpopIssuer + "/token"
	dpopSecret   = "web-secret-0123456789abcdefghijklmnopqrstuv"
	dpopRedirect = "https://app.example.com/cb"
	dpopVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	dpopChal     = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

var dpopNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// dpopKey is a client's DPoP key pair.
type dpopKey struct {
	priv *ecdsa.PrivateKey
	jkt  string
}

func newDPoPKey(t testing.TB) dpopKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jkt, err := dpop.Thumbprint(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return dpopKey{priv, jkt}
}

// dpopAbsent, as a header or claim value, removes that member.
var dpopAbsent = new(struct{})

// proof returns a proof signed with go-jose: ES256, typ dpop+jwt, the
// public jwk, and the claims of a POST to the token endpoint at dpopNow
// with a fresh jti; header and claims change members (dpopAbsent removes
// one).
func (k dpopKey) proof(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	h := map[jose.HeaderKey]any{"typ": "dpop+jwt", "jwk": jose.JSONWebKey{Key: &k.priv.PublicKey}}
	for name, v := range header {
		if v == dpopAbsent {
			delete(h, jose.HeaderKey(name))
		} else {
			h[jose.HeaderKey(name)] = v
		}
	}
	c := map[string]any{"jti": rand.Text(), "htm": "POST", "htu": dpopTokenURL, "iat": dpopNow.Unix()}
	for name, v := range claims {
		if v == dpopAbsent {
			delete(c, name)
		} else {
			c[name] = v
		}
	}
	return josetest.Sign(t, jose.SigningKey{Algorithm: jose.ES256, Key: k.priv}, &jose.SignerOptions{ExtraHeaders: h}, c)
}

func dpopATH(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// dpopEnv is a server with DPoP on over memory stores, and a fixed clock.
type dpopEnv struct {
	srv   *oauthkit.Server
	store *memory.Store
	now   time.Time
	mu    sync.Mutex
}

func (e *dpopEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *dpopEnv) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// dpopClients are:
//   - spa: public, code and refresh;
//   - web: confidential, code, refresh and client credentials;
//   - bound: confidential, client credentials, DPoPBoundAccessTokens.
func dpopClients(t testing.TB) []*oauthkit.Client {
	hash, err := oauthkit.HashSecret(dpopSecret)
	if err != nil {
		t.Fatal(err)
	}
	codeRefresh := []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken}
	return []*oauthkit.Client{
		{ID: "spa", RedirectURIs: []string{dpopRedirect}, GrantTypes: codeRefresh, Scopes: []string{"read", "openid"}},
		{ID: "web", SecretHash: hash, RedirectURIs: []string{dpopRedirect}, GrantTypes: append(codeRefresh, oauthkit.GrantTypeClientCredentials), Scopes: []string{"read"}},
		{ID: "bound", SecretHash: hash, GrantTypes: []string{oauthkit.GrantTypeClientCredentials}, Scopes: []string{"read"}, DPoPBoundAccessTokens: true},
	}
}

func newDPoPEnv(t testing.TB, configure func(*oauthkit.Config)) *dpopEnv {
	t.Helper()
	e := &dpopEnv{store: memory.NewStore(dpopClients(t)...), now: dpopNow}
	cfg := oauthkit.Config{
		Issuer:  dpopIssuer,
		Clients: e.store, Codes: e.store, Tokens: e.store, ReplayCache: e.store,
		Grants: []oauthkit.GrantHandler{grants.ClientCredentials{}},
		DPoP:   &oauthkit.DPoPConfig{},
		Now:    e.clock,
		Logger: slog.New(slog.DiscardHandler),
	}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := oauthkit.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.srv = srv
	return e
}

// post sends a token request by client with form and the given DPoP
// header values.
func (e *dpopEnv) post(client string, form url.Values, proofs ...string) *httptest.ResponseRecorder {
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	if client == "spa" {
		f.Set("client_id", client)
	}
	r := httptest.NewRequest(http.MethodPost, dpopTokenURL, strings.NewReader(f.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if client != "spa" {
		r.SetBasicAuth(client, dpopSecret)
	}
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	w := httptest.NewRecorder()
	e.srv.TokenHandler().ServeHTTP(w, r)
	return w
}

var clientCredentials = url.Values{"grant_type": {oauthkit.GrantTypeClientCredentials}}

// dpopResult is what a token endpoint answer says, as the tests compare it.
type dpopResult struct {
	Status    int
	Error     string
	TokenType string
}

func readDPoPResult(t testing.TB, w *httptest.ResponseRecorder) (dpopResult, map[string]any) {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	res := dpopResult{Status: w.Code}
	res.Error, _ = body["error"].(string)
	res.TokenType, _ = body["token_type"].(string)
	return res, body
}

func TestDPoPTokenEndpointHostileProofs(t *testing.T) {
	key, other := newDPoPKey(t), newDPoPKey(t)
	e := newDPoPEnv(t, nil)
	// A proof signed by other but carrying key's jwk.
	forged := func(t testing.TB) string {
		h := map[jose.HeaderKey]any{"typ": "dpop+jwt", "jwk": jose.JSONWebKey{Key: &key.priv.PublicKey}}
		c := map[string]any{"jti": rand.Text(), "htm": "POST", "htu": dpopTokenURL, "iat": dpopNow.Unix()}
		return josetest.Sign(t, jose.SigningKey{Algorithm: jose.ES256, Key: other.priv}, &jose.SignerOptions{ExtraHeaders: h}, c)
	}
	unsigned := func(t testing.TB) string {
		h, _ := json.Marshal(map[string]any{"alg": "none", "typ": "dpop+jwt", "jwk": jose.JSONWebKey{Key: &key.priv.PublicKey}})
		c, _ := json.Marshal(map[string]any{"jti": rand.Text(), "htm": "POST", "htu": dpopTokenURL, "iat": dpopNow.Unix()})
		return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
	}
	privateJWK := func(t testing.TB) string {
		return key.proof(t, map[string]any{"jwk": jose.JSONWebKey{Key: key.priv}}, nil)
	}
	replayed := key.proof(t, nil, nil)
	if w := e.post("web", clientCredentials, replayed); w.Code != http.StatusOK {
		t.Fatalf("first use of a proof: %d %s", w.Code, w.Body)
	}
	ok := dpopResult{Status: 200, TokenType: "DPoP"}
	bad := dpopResult{Status: 400, Error: "invalid_dpop_proof"}
	tests := []struct {
		name   string
		proofs func(t testing.TB) []string
		want   dpopResult
	}{
		{"valid", func(t testing.TB) []string { return []string{key.proof(t, nil, nil)} }, ok},
		{"htu with query and fragment ignored", func(t testing.TB) []string {
			return []string{key.proof(t, nil, map[string]any{"htu": dpopTokenURL + "?a=b#c"})}
		}, ok},
		{"htu with the default port and upper-case host", func(t testing.TB) []string {
			return []string{key.proof(t, nil, map[string]any{"htu": "https://AS.example.com:443/token"})}
		}, ok},
		{"two DPoP headers", func(t testing.TB) []string { return []string{key.proof(t, nil, nil), key.proof(t, nil, nil)} }, bad},
		{"two proofs in one header", func(t testing.TB) []string { return []string{key.proof(t, nil, nil) + "," + key.proof(t, nil, nil)} }, bad},
		{"not a JWT", func(testing.TB) []string { return []string{"not-a-jwt"} }, bad},
		{"empty header", func(testing.TB) []string { return []string{""} }, bad},
		{"typ JWT", func(t testing.TB) []string { return []string{key.proof(t, map[string]any{"typ": "JWT"}, nil)} }, bad},
		{"typ missing", func(t testing.TB) []string { return []string{key.proof(t, map[string]any{"typ": dpopAbsent}, nil)} }, bad},
		{"alg none", func(t testing.TB) []string { return []string{unsigned(t)} }, bad},
		{"jwk missing", func(t testing.TB) []string { return []string{key.proof(t, map[string]any{"jwk": dpopAbsent}, nil)} }, bad},
		{"jwk private", func(t testing.TB) []string { return []string{privateJWK(t)} }, bad},
		{"signature by another key", func(t testing.TB) []string { return []string{forged(t)} }, bad},
		{"jti missing", func(t testing.TB) []string { return []string{key.proof(t, nil, map[string]any{"jti": dpopAbsent})} }, bad},
		{"htm GET", func(t testing.TB) []string { return []string{key.proof(t, nil, map[string]any{"htm": "GET"})} }, bad},
		{"htm missing", func(t testing.TB) []string { return []string{key.proof(t, nil, map[string]any{"htm": dpopAbsent})} }, bad},
		{"htu of another host", func(t testing.TB) []string {
			return []string{key.proof(t, nil, map[string]any{"htu": "https://evil.example.com/token"})}
		}, bad},
		{"htu of another path", func(t testing.TB) []string {
			return []string{key.proof(t, nil, map[string]any{"htu": dpopIssuer + "/userinfo"})}
		}, bad},
		{"htu over http", func(t testing.TB) []string {
			return []string{key.proof(t, nil, map[string]any{"htu": "http://as.example.com/token"})}
		}, bad},
		{"htu missing", func(t testing.TB) []string { return []string{key.proof(t, nil, map[string]any{"htu": dpopAbsent})} }, bad},
		{"iat stale", func(t testing.TB) []string {
			return []string{key.proof(t, nil, map[string]any{"iat": dpopNow.Add(-dpop.DefaultMaxAge - time.Second).Unix()})}
		}, bad},
		{"iat in the future", func(t testing.TB) []string {
			return []string{key.proof(t, nil, map[string]any{"iat": dpopNow.Add(dpop.DefaultLeeway + time.Second).Unix()})}
		}, bad},
		{"iat missing", func(t testing.TB) []string { return []string{key.proof(t, nil, map[string]any{"iat": dpopAbsent})} }, bad},
		{"iat a string", func(t testing.TB) []string { return []string{key.proof(t, nil, map[string]any{"iat": "now"})} }, bad},
		{"replayed jti", func(testing.TB) []string { return []string{replayed} }, bad},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := readDPoPResult(t, e.post("web", clientCredentials, tc.proofs(t)...))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDPoPTokenResponseBindsAccessToken(t *testing.T) {
	key := newDPoPKey(t)
	e := newDPoPEnv(t, func(c *oauthkit.Config) {
		c.Endpoints.Introspection = dpopIssuer + "/introspect"
	})
	w := e.post("web", clientCredentials, key.proof(t, nil, nil))
	res, body := readDPoPResult(t, w)
	if res.Status != 200 || res.TokenType != "DPoP" {
		t.Fatalf("got %+v %s", res, w.Body)
	}
	access := body["access_token"].(string)
	tok, err := e.srv.ValidateAccessToken(t.Context(), access)
	if err != nil {
		t.Fatal(err)
	}
	if tok.JKT != key.jkt {
		t.Errorf("Token.JKT = %q, want %q", tok.JKT, key.jkt)
	}
	// Introspection shows cnf.jkt and token_type DPoP (RFC 9449 §6.2).
	r := httptest.NewRequest(http.MethodPost, dpopIssuer+"/introspect", strings.NewReader(url.Values{"token": {access}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("web", dpopSecret)
	iw := httptest.NewRecorder()
	e.srv.IntrospectionHandler().ServeHTTP(iw, r)
	var intro struct {
		Active    bool              `json:"active"`
		TokenType string            `json:"token_type"`
		Cnf       map[string]string `json:"cnf"`
	}
	if err := json.Unmarshal(iw.Body.Bytes(), &intro); err != nil {
		t.Fatal(err)
	}
	want := struct {
		Active    bool              `json:"active"`
		TokenType string            `json:"token_type"`
		Cnf       map[string]string `json:"cnf"`
	}{true, "DPoP", map[string]string{"jkt": key.jkt}}
	if diff := cmp.Diff(want, intro); diff != "" {
		t.Errorf("introspection (-want +got):\n%s", diff)
	}

	// Without a proof, the same client gets a bearer token.
	res, _ = readDPoPResult(t, e.post("web", clientCredentials))
	if res.TokenType != "Bearer" {
		t.Errorf("without a proof: token_type %q, want Bearer", res.TokenType)
	}
}

func TestDPoPJWTAccessTokenCarriesCnf(t *testing.T) {
	key := newDPoPKey(t)
	signing, err := jwt.GenerateKey(jwt.ES256)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwt.NewKeySet(signing)
	if err != nil {
		t.Fatal(err)
	}
	e := newDPoPEnv(t, func(c *oauthkit.Config) {
		c.AccessTokens = &jwt.AccessTokens{Keys: keys}
	})
	_, body := readDPoPResult(t, e.post("web", clientCredentials, key.proof(t, nil, nil)))
	access, _ := body["access_token"].(string)
	jws, err := jose.ParseSigned(access, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("access token %q: %v", access, err)
	}
	payload, err := jws.Verify(signing.Public())
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Cnf.JKT != key.jkt {
		t.Errorf("cnf.jkt = %q, want %q", claims.Cnf.JKT, key.jkt)
	}
}

func TestDPoPBoundAccessTokensClient(t *testing.T) {
	key := newDPoPKey(t)
	e := newDPoPEnv(t, nil)
	got, _ := readDPoPResult(t, e.post("bound", clientCredentials))
	if diff := cmp.Diff(dpopResult{Status: 400, Error: "invalid_request"}, got); diff != "" {
		t.Errorf("without a proof (-want +got):\n%s", diff)
	}
	got, _ = readDPoPResult(t, e.post("bound", clientCredentials, key.proof(t, nil, nil)))
	if diff := cmp.Diff(dpopResult{Status: 200, TokenType: "DPoP"}, got); diff != "" {
		t.Errorf("with a proof (-want +got):\n%s", diff)
	}
}

// dpopCode stores a code for client, bound to jkt if not empty, and returns
// it.
func (e *dpopEnv) dpopCode(t testing.TB, client, jkt string) string {
	t.Helper()
	return e.dpopCodeScope(t, client, jkt, "read")
}

func (e *dpopEnv) dpopCodeScope(t testing.TB, client, jkt string, scope ...string) string {
	t.Helper()
	raw := rand.Text() + rand.Text()
	err := e.store.CreateCode(t.Context(), &oauthkit.AuthorizationCode{
		ID: oauthkit.HashToken(raw), GrantID: rand.Text(), ClientID: client, RedirectURI: dpopRedirect,
		Subject: "alice", Scope: scope, CodeChallenge: dpopChal, CodeChallengeMethod: "S256",
		DPoPJKT: jkt, ExpiresAt: e.clock().Add(time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func codeForm(code string) url.Values {
	return url.Values{"grant_type": {oauthkit.GrantTypeAuthorizationCode}, "code": {code}, "code_verifier": {dpopVerifier}}
}

func refreshForm(rt string) url.Values {
	return url.Values{"grant_type": {oauthkit.GrantTypeRefreshToken}, "refresh_token": {rt}}
}

func TestDPoPCodeBoundWithDPoPJKT(t *testing.T) {
	key, other := newDPoPKey(t), newDPoPKey(t)
	e := newDPoPEnv(t, nil)
	tests := []struct {
		name  string
		proof func(t testing.TB) []string
		want  dpopResult
	}{
		{"proof of the key", func(t testing.TB) []string { return []string{key.proof(t, nil, nil)} }, dpopResult{Status: 200, TokenType: "DPoP"}},
		{"no proof", func(testing.TB) []string { return nil }, dpopResult{Status: 400, Error: "invalid_grant"}},
		{"proof of another key", func(t testing.TB) []string { return []string{other.proof(t, nil, nil)} }, dpopResult{Status: 400, Error: "invalid_grant"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := readDPoPResult(t, e.post("spa", codeForm(e.dpopCode(t, "spa", key.jkt)), tc.proof(t)...))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// A bad proof does not use up the code: the client retries.
	code := e.dpopCode(t, "spa", key.jkt)
	if got, _ := readDPoPResult(t, e.post("spa", codeForm(code), "junk")); got.Error != "invalid_dpop_proof" {
		t.Fatalf("junk proof: %+v", got)
	}
	if got, _ := readDPoPResult(t, e.post("spa", codeForm(code), key.proof(t, nil, nil))); got.Status != 200 {
		t.Errorf("retry after a bad proof: %+v", got)
	}
}

func TestDPoPRefreshBinding(t *testing.T) {
	key, other := newDPoPKey(t), newDPoPKey(t)
	e := newDPoPEnv(t, nil)
	start := func(t *testing.T, client string) string {
		t.Helper()
		_, body := readDPoPResult(t, e.post(client, codeForm(e.dpopCode(t, client, "")), key.proof(t, nil, nil)))
		rt, _ := body["refresh_token"].(string)
		if rt == "" {
			t.Fatalf("no refresh token: %v", body)
		}
		return rt
	}
	stored := func(t *testing.T, rt string) *oauthkit.Token {
		t.Helper()
		tok, err := e.store.Token(t.Context(), oauthkit.HashToken(rt), e.clock())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	invalidGrant := dpopResult{Status: 400, Error: "invalid_grant"}
	t.Run("public client: bound", func(t *testing.T) {
		rt := start(t, "spa")
		if got := stored(t, rt).JKT; got != key.jkt {
			t.Errorf("refresh token JKT = %q, want the key's", got)
		}
		for name, proofs := range map[string][]string{
			"no proof":      nil,
			"another key":   {other.proof(t, nil, nil)},
			"invalid proof": {"junk"},
		} {
			got, _ := readDPoPResult(t, e.post("spa", refreshForm(rt), proofs...))
			want := invalidGrant
			if name == "invalid proof" {
				want = dpopResult{Status: 400, Error: "invalid_dpop_proof"}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", name, diff)
			}
		}
		// Refused attempts changed nothing: the holder of the key refreshes.
		got, body := readDPoPResult(t, e.post("spa", refreshForm(rt), key.proof(t, nil, nil)))
		if diff := cmp.Diff(dpopResult{Status: 200, TokenType: "DPoP"}, got); diff != "" {
			t.Fatalf("with the key (-want +got):\n%s", diff)
		}
		if got := stored(t, body["refresh_token"].(string)).JKT; got != key.jkt {
			t.Errorf("rotated refresh token JKT = %q, want the key's", got)
		}
	})
	t.Run("confidential client: not bound", func(t *testing.T) {
		rt := start(t, "web")
		if got := stored(t, rt).JKT; got != "" {
			t.Errorf("refresh token JKT = %q, want none", got)
		}
		got, body := readDPoPResult(t, e.post("web", refreshForm(rt), other.proof(t, nil, nil)))
		if diff := cmp.Diff(dpopResult{Status: 200, TokenType: "DPoP"}, got); diff != "" {
			t.Fatalf("with another key (-want +got):\n%s", diff)
		}
		access, _ := e.srv.ValidateAccessToken(t.Context(), body["access_token"].(string))
		if access == nil || access.JKT != other.jkt {
			t.Errorf("access token not bound to the new proof's key: %+v", access)
		}
		got, _ = readDPoPResult(t, e.post("web", refreshForm(body["refresh_token"].(string))))
		if diff := cmp.Diff(dpopResult{Status: 200, TokenType: "Bearer"}, got); diff != "" {
			t.Errorf("without a proof (-want +got):\n%s", diff)
		}
	})
	t.Run("reused rotated token revokes the family, whatever the key", func(t *testing.T) {
		for name, proofs := range map[string]func() []string{
			"no proof":    func() []string { return nil },
			"another key": func() []string { return []string{other.proof(t, nil, nil)} },
			"the key":     func() []string { return []string{key.proof(t, nil, nil)} },
		} {
			t.Run(name, func(t *testing.T) {
				rt := start(t, "spa")
				_, body := readDPoPResult(t, e.post("spa", refreshForm(rt), key.proof(t, nil, nil)))
				next := body["refresh_token"].(string)
				access := body["access_token"].(string)
				if got, _ := readDPoPResult(t, e.post("spa", refreshForm(rt), proofs()...)); got.Error != "invalid_grant" {
					t.Fatalf("reuse: %+v", got)
				}
				if _, err := e.store.Token(t.Context(), oauthkit.HashToken(next), e.clock()); err == nil {
					t.Error("the successor refresh token survived the reuse")
				}
				if _, err := e.srv.ValidateAccessToken(t.Context(), access); err == nil {
					t.Error("the successor access token survived the reuse")
				}
			})
		}
	})
}

func TestDPoPRefreshGraceRetryNeedsTheKey(t *testing.T) {
	key, other := newDPoPKey(t), newDPoPKey(t)
	e := newDPoPEnv(t, func(c *oauthkit.Config) { c.RefreshTokenGracePeriod = time.Minute })
	_, body := readDPoPResult(t, e.post("spa", codeForm(e.dpopCode(t, "spa", "")), key.proof(t, nil, nil)))
	rt := body["refresh_token"].(string)
	if got, _ := readDPoPResult(t, e.post("spa", refreshForm(rt), key.proof(t, nil, nil))); got.Status != 200 {
		t.Fatalf("first refresh: %+v", got)
	}
	// Within the grace period a retry of rt is allowed, but only to the
	// key's holder: a thief's retry is reuse.
	if got, _ := readDPoPResult(t, e.post("spa", refreshForm(rt), other.proof(t, nil, nil))); got.Error != "invalid_grant" {
		t.Fatalf("retry with another key: %+v", got)
	}
	if got, _ := readDPoPResult(t, e.post("spa", refreshForm(rt), key.proof(t, nil, nil))); got.Error != "invalid_grant" {
		t.Errorf("retry with the key after the family was revoked: %+v", got)
	}
}

func TestDPoPNonces(t *testing.T) {
	key := newDPoPKey(t)
	nonces, err := dpop.NewNonces([]byte(strings.Repeat("k", 32)), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	e := newDPoPEnv(t, func(c *oauthkit.Config) { c.DPoP.Nonces = nonces })
	w := e.post("web", clientCredentials, key.proof(t, nil, nil))
	got, _ := readDPoPResult(t, w)
	if diff := cmp.Diff(dpopResult{Status: 400, Error: "use_dpop_nonce"}, got); diff != "" {
		t.Errorf("without a nonce (-want +got):\n%s", diff)
	}
	nonce := w.Header().Get("DPoP-Nonce")
	if nonce == "" {
		t.Fatal("use_dpop_nonce without a DPoP-Nonce header")
	}
	w = e.post("web", clientCredentials, key.proof(t, nil, map[string]any{"nonce": nonce}))
	if got, _ := readDPoPResult(t, w); got.Status != 200 {
		t.Fatalf("with the nonce: %+v", got)
	}
	if w.Header().Get("DPoP-Nonce") == "" {
		t.Error("success without a DPoP-Nonce header")
	}
	// Two periods later the nonce is stale: a fresh one comes back.
	e.advance(2*time.Minute + time.Second)
	w = e.post("web", clientCredentials, key.proof(t, nil, map[string]any{"nonce": nonce, "iat": e.clock().Unix()}))
	got, _ = readDPoPResult(t, w)
	if got.Error != "use_dpop_nonce" || w.Header().Get("DPoP-Nonce") == nonce {
		t.Errorf("stale nonce: %+v, DPoP-Nonce %q", got, w.Header().Get("DPoP-Nonce"))
	}
	// A nonce refusal uses up no code.
	code := e.dpopCode(t, "spa", "")
	w = e.post("spa", codeForm(code), key.proof(t, nil, map[string]any{"iat": e.clock().Unix()}))
	fresh := w.Header().Get("DPoP-Nonce")
	w = e.post("spa", codeForm(code), key.proof(t, nil, map[string]any{"nonce": fresh, "iat": e.clock().Unix()}))
	if got, _ := readDPoPResult(t, w); got.Status != 200 {
		t.Errorf("code retried with the nonce: %+v %s", got, w.Body)
	}
}

// TestDPoPConcurrentReplay sends one proof in 50 concurrent requests: one is
// accepted (RFC 9449 §11.1).
func TestDPoPConcurrentReplay(t *testing.T) {
	key := newDPoPKey(t)
	e := newDPoPEnv(t, nil)
	proof := key.proof(t, nil, nil)
	const n = 50
	var wg sync.WaitGroup
	results := make([]dpopResult, n)
	for i := range n {
		wg.Go(func() {
			results[i], _ = readDPoPResult(t, e.post("web", clientCredentials, proof))
		})
	}
	wg.Wait()
	tally := map[dpopResult]int{}
	for _, r := range results {
		tally[r]++
	}
	want := map[dpopResult]int{{Status: 200, TokenType: "DPoP"}: 1, {Status: 400, Error: "invalid_dpop_proof"}: n - 1}
	if diff := cmp.Diff(want, tally); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

func TestDPoPConfig(t *testing.T) {
	store := memory.NewStore()
	base := oauthkit.Config{Issuer: dpopIssuer, Clients: store, Codes: store, Tokens: store}
	tests := []struct {
		name    string
		dpop    *oauthkit.DPoPConfig
		replay  bool
		wantErr string
	}{
		{"off", nil, false, ""},
		{"no replay cache", &oauthkit.DPoPConfig{}, false, "needs Config.ReplayCache"},
		{"HMAC", &oauthkit.DPoPConfig{Algorithms: []string{"HS256"}}, true, "not an asymmetric"},
		{"none", &oauthkit.DPoPConfig{Algorithms: []string{"none"}}, true, "not an asymmetric"},
		{"empty list", &oauthkit.DPoPConfig{Algorithms: []string{}}, true, "empty"},
		{"negative MaxAge", &oauthkit.DPoPConfig{MaxAge: -time.Second}, true, "negative"},
		{"ES256 only", &oauthkit.DPoPConfig{Algorithms: []string{"ES256"}}, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			cfg.DPoP = tc.dpop
			if tc.replay {
				cfg.ReplayCache = store
			}
			_, err := oauthkit.New(cfg)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("New: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("New: %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
}

func TestDPoPMetadataAndDefaults(t *testing.T) {
	e := newDPoPEnv(t, nil)
	got := e.srv.Metadata().DPoPSigningAlgValuesSupported
	want := []string{"ES256", "ES384", "ES512", "EdDSA", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dpop_signing_alg_values_supported (-want +got):\n%s", diff)
	}
	e = newDPoPEnv(t, func(c *oauthkit.Config) { c.DPoP = &oauthkit.DPoPConfig{Algorithms: []string{"ES256"}} })
	if diff := cmp.Diff([]string{"ES256"}, e.srv.Metadata().DPoPSigningAlgValuesSupported); diff != "" {
		t.Errorf("configured (-want +got):\n%s", diff)
	}
	e = newDPoPEnv(t, func(c *oauthkit.Config) { c.DPoP = nil })
	if got := e.srv.Metadata().DPoPSigningAlgValuesSupported; got != nil {
		t.Errorf("DPoP off: %v", got)
	}
	// DPoP off: the header is ignored; a client that requires DPoP is a
	// configuration fault.
	if got, _ := readDPoPResult(t, e.post("web", clientCredentials, "junk")); got.TokenType != "Bearer" {
		t.Errorf("DPoP off, with a header: %+v", got)
	}
	if got, _ := readDPoPResult(t, e.post("bound", clientCredentials)); got.Status != 500 {
		t.Errorf("DPoP off, a DPoP-bound client: %+v", got)
	}
}

func TestDPoPIssuanceHookTokenType(t *testing.T) {
	key := newDPoPKey(t)
	var seen string
	e := newDPoPEnv(t, func(c *oauthkit.Config) {
		c.Issuance = oauthkit.IssuanceFunc(func(_ context.Context, iss *oauthkit.Issuance) error {
			seen = iss.TokenType + " " + iss.JKT
			if len(iss.Form["downgrade"]) > 0 {
				iss.TokenType = "Bearer"
			}
			return nil
		})
	})
	if got, _ := readDPoPResult(t, e.post("web", clientCredentials, key.proof(t, nil, nil))); got.TokenType != "DPoP" {
		t.Errorf("got %+v", got)
	}
	if seen != "DPoP "+key.jkt {
		t.Errorf("hook saw %q", seen)
	}
	form := url.Values{"grant_type": {oauthkit.GrantTypeClientCredentials}, "downgrade": {"1"}}
	if got, _ := readDPoPResult(t, e.post("web", form, key.proof(t, nil, nil))); got.Status != 500 {
		t.Errorf("a hook that makes a bound token Bearer: %+v", got)
	}
}

func TestDPoPUserInfo(t *testing.T) {
	key, other := newDPoPKey(t), newDPoPKey(t)
	const userinfo = dpopIssuer + "/userinfo"
	e := newDPoPEnv(t, func(c *oauthkit.Config) { c.Endpoints.UserInfo = userinfo })
	_, body := readDPoPResult(t, e.post("spa", codeForm(e.dpopCodeScope(t, "spa", "", "openid")), key.proof(t, nil, nil)))
	bound := body["access_token"].(string)
	_, body = readDPoPResult(t, e.post("spa", codeForm(e.dpopCodeScope(t, "spa", "", "openid"))))
	unbound := body["access_token"].(string)
	proof := func(k dpopKey, token string, over map[string]any) string {
		c := map[string]any{"htm": "GET", "htu": userinfo, "ath": dpopATH(token)}
		for n, v := range over {
			c[n] = v
		}
		return k.proof(t, nil, c)
	}
	const algs = `algs="ES256 ES384 ES512 EdDSA RS256 RS384 RS512 PS256 PS384 PS512"`
	type result struct {
		Status    int
		Challenge string
	}
	tests := []struct {
		name   string
		auth   string
		proofs []string
		want   result
	}{
		{"DPoP with its proof", "DPoP " + bound, []string{proof(key, bound, nil)}, result{200, ""}},
		{"Bearer, unbound", "Bearer " + unbound, nil, result{200, ""}},
		{"no token", "", nil, result{401, `Bearer realm="` + dpopIssuer + `", DPoP realm="` + dpopIssuer + `", ` + algs}},
		{"bound as Bearer", "Bearer " + bound, nil, result{401, `Bearer realm="` + dpopIssuer + `", error="invalid_token", error_description="a DPoP-bound access token must be presented with the DPoP scheme and a proof", DPoP realm="` + dpopIssuer + `", ` + algs}},
		{"proof of another key", "DPoP " + bound, []string{proof(other, bound, nil)}, result{401, `Bearer realm="` + dpopIssuer + `", DPoP realm="` + dpopIssuer + `", error="invalid_token", error_description="invalid DPoP key binding", ` + algs}},
		{"ath of another token", "DPoP " + bound, []string{proof(key, unbound, nil)}, result{401, `Bearer realm="` + dpopIssuer + `", DPoP realm="` + dpopIssuer + `", error="invalid_dpop_proof", error_description="DPoP proof ath does not match the access token", ` + algs}},
		{"htu of the token endpoint", "DPoP " + bound, []string{proof(key, bound, map[string]any{"htu": dpopTokenURL})}, result{401, `Bearer realm="` + dpopIssuer + `", DPoP realm="` + dpopIssuer + `", error="invalid_dpop_proof", error_description="DPoP proof htu does not match the request URL", ` + algs}},
		{"no proof", "DPoP " + bound, nil, result{401, `Bearer realm="` + dpopIssuer + `", DPoP realm="` + dpopIssuer + `", error="invalid_dpop_proof", error_description="DPoP proof missing", ` + algs}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, userinfo, nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			for _, p := range tc.proofs {
				r.Header.Add("DPoP", p)
			}
			w := httptest.NewRecorder()
			e.srv.UserInfoHandler().ServeHTTP(w, r)
			got := result{w.Code, w.Header().Get("WWW-Authenticate")}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// failingReplay is a ReplayCache that cannot be reached.
type failingReplay struct{ err error }

func (f failingReplay) Remember(context.Context, string, time.Time, time.Time) (bool, error) {
	return false, f.err
}

// A replay cache that fails is the server's fault: 500, or 503 with
// Retry-After when it is unavailable, never a refused proof; at the token
// endpoint and at userinfo.
func TestDPoPReplayCacheFault(t *testing.T) {
	key := newDPoPKey(t)
	for _, tc := range []struct {
		name   string
		err    error
		status int
	}{
		{"fault", errors.New("replay cache exploded"), 500},
		{"unavailable", fmt.Errorf("%w: dial tcp", oauthkit.ErrUnavailable), 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDPoPEnv(t, func(c *oauthkit.Config) {
				c.ReplayCache = failingReplay{tc.err}
				c.Endpoints.UserInfo = dpopIssuer + "/userinfo"
			})
			got, _ := readDPoPResult(t, e.post("web", clientCredentials, key.proof(t, nil, nil)))
			if diff := cmp.Diff(dpopResult{Status: tc.status, Error: "server_error"}, got); diff != "" {
				t.Errorf("token endpoint (-want +got):\n%s", diff)
			}
			r := httptest.NewRequest(http.MethodGet, dpopIssuer+"/userinfo", nil)
			r.Header.Set("Authorization", "DPoP some-token")
			r.Header.Set("DPoP", key.proof(t, nil, map[string]any{"htm": "GET", "htu": dpopIssuer + "/userinfo", "ath": dpopATH("some-token")}))
			w := httptest.NewRecorder()
			e.srv.UserInfoHandler().ServeHTTP(w, r)
			if w.Code != http.StatusInternalServerError {
				t.Errorf("userinfo: %d %s", w.Code, w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}
