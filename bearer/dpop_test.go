package bearer_test

// DPoP at the resource (RFC 9449 §7, §9): hostile proofs, each rule broken
// once; bound tokens refused as bearer tokens; challenges of both schemes;
// nonces; replays; and, end to end, tokens bound by oauthkit's token
// endpoint and checked through JWKS, Local and introspection.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/dpop"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/internal/josetest"
	"github.com/oauthkit/oauthkit/jwt"
	"github.com/oauthkit/oauthkit/storage/memory"
)

const (
	rsOrigin = "https://rs.example.com"
	rsURL    = rsOrigin + "/api/me"
)

// proofKey is a client's DPoP key.
type proofKey struct {
	priv *ecdsa.PrivateKey
	jkt  string
}

func newProofKey(t testing.TB) proofKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jkt, err := dpop.Thumbprint(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return proofKey{priv, jkt}
}

var proofAbsent = new(struct{})

// proof returns a proof of a GET of rsURL at now presenting token (ath),
// signed with go-jose, changed by claims (proofAbsent removes a claim).
func (k proofKey) proof(t testing.TB, now time.Time, token string, claims map[string]any) string {
	t.Helper()
	sum := sha256.Sum256([]byte(token))
	c := map[string]any{"jti": rand.Text(), "htm": "GET", "htu": rsURL, "iat": now.Unix(),
		"ath": base64.RawURLEncoding.EncodeToString(sum[:])}
	for name, v := range claims {
		if v == proofAbsent {
			delete(c, name)
		} else {
			c[name] = v
		}
	}
	h := map[jose.HeaderKey]any{"typ": "dpop+jwt", "jwk": jose.JSONWebKey{Key: &k.priv.PublicKey}}
	return josetest.Sign(t, jose.SigningKey{Algorithm: jose.ES256, Key: k.priv}, &jose.SignerOptions{ExtraHeaders: h}, c)
}

// boundValidator knows "bound", a token bound to jkt, and the tokens of
// fakeValidator.
func boundValidator(now time.Time, jkt string) bearer.ValidatorFunc {
	return func(ctx context.Context, token string) (*bearer.Claims, error) {
		if token == "bound" || token == "bound-other" {
			return &bearer.Claims{Subject: "alice", ClientID: "spa", Scope: []string{"read"}, ExpiresAt: now.Add(time.Hour), JKT: jkt}, nil
		}
		return fakeValidator(now)(ctx, token)
	}
}

func newDPoPMiddleware(t testing.TB, v bearer.Validator, clk *clock, edit func(*bearer.DPoPConfig)) *bearer.Middleware {
	t.Helper()
	d := &bearer.DPoPConfig{Origin: rsOrigin, Algorithms: []string{"ES256", "PS256"}, Replay: memory.NewReplayCache()}
	if edit != nil {
		edit(d)
	}
	m, err := bearer.New(bearer.Config{Validator: v, Realm: realm, DPoP: d, Now: clk.Now, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Challenges with DPoP on: a Bearer and a DPoP challenge, the error in the
// one of the request's scheme.
const (
	bothNoError = `Bearer realm="api", DPoP realm="api", algs="ES256 PS256"`
	dpopPlain   = `DPoP realm="api", algs="ES256 PS256"`
)

func dpopError(code, description string) string {
	return `Bearer realm="api", DPoP realm="api", error="` + code + `", error_description="` + description + `", algs="ES256 PS256"`
}

func bearerError(code, description string) string {
	return `Bearer realm="api", error="` + code + `", error_description="` + description + `", ` + dpopPlain
}

func TestDPoPMiddlewareHostileProofs(t *testing.T) {
	clk := newClock()
	key, other := newProofKey(t), newProofKey(t)
	m := newDPoPMiddleware(t, boundValidator(t0, key.jkt), clk, nil)
	dpopReq := func(token string, proofs ...string) *http.Request {
		h := []string{"Authorization: DPoP " + token}
		for _, p := range proofs {
			h = append(h, "DPoP: "+p)
		}
		return request("GET", rsURL, "", h...)
	}
	ok := outcome{Status: http.StatusNoContent, Reached: true,
		Claims: &bearer.Claims{Subject: "alice", ClientID: "spa", Scope: []string{"read"}, ExpiresAt: t0.Add(time.Hour), JKT: key.jkt}}
	badProof := func(reason string) outcome {
		return outcome{Status: 401, Challenge: dpopError("invalid_dpop_proof", "DPoP proof "+reason)}
	}
	replayed := key.proof(t, t0, "bound", nil)
	if got := serve(m, dpopReq("bound", replayed)); got.Status != http.StatusNoContent {
		t.Fatalf("first use of a proof: %+v", got)
	}
	tests := []struct {
		name string
		req  *http.Request
		want outcome
	}{
		{"valid", dpopReq("bound", key.proof(t, t0, "bound", nil)), ok},
		{"scheme in lower case", request("GET", rsURL, "", "Authorization: dpop bound", "DPoP: "+key.proof(t, t0, "bound", nil)), ok},
		{"no token", request("GET", rsURL, ""), outcome{Status: 401, Challenge: bothNoError}},
		{"bound token as Bearer", request("GET", rsURL, "", "Authorization: Bearer bound"),
			outcome{Status: 401, Challenge: bearerError("invalid_token", "a DPoP-bound access token must be presented with the DPoP scheme and a proof")}},
		{"bound token as Bearer, with a proof", request("GET", rsURL, "", "Authorization: Bearer bound", "DPoP: "+key.proof(t, t0, "bound", nil)),
			outcome{Status: 401, Challenge: bearerError("invalid_token", "a DPoP-bound access token must be presented with the DPoP scheme and a proof")}},
		{"unbound token with DPoP", dpopReq("good", key.proof(t, t0, "good", nil)),
			outcome{Status: 401, Challenge: dpopError("invalid_token", "the access token is not DPoP-bound: present it with the Bearer scheme")}},
		{"proof of another key", dpopReq("bound", other.proof(t, t0, "bound", nil)),
			outcome{Status: 401, Challenge: dpopError("invalid_token", "invalid DPoP key binding: the proof is not made with the token's key")}},
		{"invalid token", dpopReq("nope", key.proof(t, t0, "nope", nil)),
			outcome{Status: 401, Challenge: dpopError("invalid_token", "the access token is invalid, expired or revoked")}},
		{"no proof", dpopReq("bound"), badProof("missing")},
		{"two proofs", dpopReq("bound", key.proof(t, t0, "bound", nil), key.proof(t, t0, "bound", nil)), badProof("sent in more than one DPoP header")},
		{"not a JWT", dpopReq("bound", "junk"), badProof("is not a JWT in compact serialization")},
		{"ath of another token", dpopReq("bound", key.proof(t, t0, "bound-other", nil)), badProof("ath does not match the access token")},
		{"ath missing", dpopReq("bound", key.proof(t, t0, "bound", map[string]any{"ath": proofAbsent})), badProof("ath missing")},
		{"htm POST", dpopReq("bound", key.proof(t, t0, "bound", map[string]any{"htm": "POST"})), badProof("htm does not match the request method")},
		{"htu of another host", dpopReq("bound", key.proof(t, t0, "bound", map[string]any{"htu": "https://evil.example.com/api/me"})), badProof("htu does not match the request URL")},
		{"htu of another path", dpopReq("bound", key.proof(t, t0, "bound", map[string]any{"htu": rsOrigin + "/api/admin"})), badProof("htu does not match the request URL")},
		{"htu of the Host header's choice", func() *http.Request {
			r := dpopReq("bound", key.proof(t, t0, "bound", map[string]any{"htu": "https://evil.example.com/api/me"}))
			r.Host = "evil.example.com"
			return r
		}(), badProof("htu does not match the request URL")},
		{"iat stale", dpopReq("bound", key.proof(t, t0.Add(-dpop.DefaultMaxAge-time.Second), "bound", nil)), badProof("iat too old")},
		{"iat in the future", dpopReq("bound", key.proof(t, t0.Add(dpop.DefaultLeeway+time.Second), "bound", nil)), badProof("iat in the future")},
		{"jti missing", dpopReq("bound", key.proof(t, t0, "bound", map[string]any{"jti": proofAbsent})), badProof("jti missing")},
		{"replayed", dpopReq("bound", replayed), badProof("replayed (jti used before)")},
		{"malformed DPoP authorization", request("GET", rsURL, "", "Authorization: DPoP a b"),
			outcome{Status: 400, Challenge: bearerError("invalid_request", "malformed Authorization header")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, serve(m, tc.req)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("insufficient scope in the DPoP challenge", func(t *testing.T) {
		got := serve(m, dpopReq("bound", key.proof(t, t0, "bound", nil)), "write")
		want := outcome{Status: 403, Challenge: `Bearer realm="api", DPoP realm="api", error="insufficient_scope", error_description="the access token lacks a required scope", scope="write", algs="ES256 PS256"`}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("htu is the request target, whatever StripPrefix did", func(t *testing.T) {
		h := http.StripPrefix("/api", m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, dpopReq("bound", key.proof(t, t0, "bound", nil)))
		if w.Code != 204 {
			t.Errorf("status %d, %s", w.Code, w.Header().Get("WWW-Authenticate"))
		}
	})
}

func TestDPoPMiddlewareOff(t *testing.T) {
	clk := newClock()
	key := newProofKey(t)
	m, err := bearer.New(bearer.Config{Validator: boundValidator(t0, key.jkt), Realm: realm, Now: clk.Now, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	// A DPoP-bound token is no bearer token; the DPoP scheme is not read.
	tests := map[string]struct {
		req  *http.Request
		want outcome
	}{
		"bound as Bearer": {request("GET", rsURL, "", "Authorization: Bearer bound"),
			outcome{Status: 401, Challenge: `Bearer realm="api", error="invalid_token", error_description="a DPoP-bound access token must be presented with the DPoP scheme and a proof"`}},
		"DPoP scheme": {request("GET", rsURL, "", "Authorization: DPoP bound", "DPoP: "+key.proof(t, t0, "bound", nil)),
			outcome{Status: 401, Challenge: noTokenChallenge}},
	}
	for name, tc := range tests {
		if diff := cmp.Diff(tc.want, serve(m, tc.req)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

func TestDPoPMiddlewareNonces(t *testing.T) {
	clk := newClock()
	key := newProofKey(t)
	nonces, err := dpop.NewNonces([]byte(strings.Repeat("n", 32)), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	m := newDPoPMiddleware(t, boundValidator(t0, key.jkt), clk, func(d *bearer.DPoPConfig) { d.Nonces = nonces })
	send := func(proof string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })).
			ServeHTTP(w, request("GET", rsURL, "", "Authorization: DPoP bound", "DPoP: "+proof))
		return w
	}
	w := send(key.proof(t, clk.Now(), "bound", nil))
	want := dpopError("use_dpop_nonce", "DPoP proof nonce missing")
	if w.Code != 401 || w.Header().Get("WWW-Authenticate") != want {
		t.Errorf("without a nonce: %d %s", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	nonce := w.Header().Get("DPoP-Nonce")
	if nonce == "" {
		t.Fatal("no DPoP-Nonce")
	}
	if w := send(key.proof(t, clk.Now(), "bound", map[string]any{"nonce": nonce})); w.Code != 204 || w.Header().Get("DPoP-Nonce") == "" {
		t.Errorf("with the nonce: %d, DPoP-Nonce %q", w.Code, w.Header().Get("DPoP-Nonce"))
	}
	clk.Advance(2*time.Minute + time.Second)
	w = send(key.proof(t, clk.Now(), "bound", map[string]any{"nonce": nonce}))
	if w.Code != 401 || !strings.Contains(w.Header().Get("WWW-Authenticate"), "use_dpop_nonce") || w.Header().Get("DPoP-Nonce") == nonce {
		t.Errorf("stale nonce: %d %s, DPoP-Nonce %q", w.Code, w.Header().Get("WWW-Authenticate"), w.Header().Get("DPoP-Nonce"))
	}
}

// TestDPoPMiddlewareConcurrentReplay sends one proof in 50 concurrent
// requests: one gets through (RFC 9449 §11.1).
func TestDPoPMiddlewareConcurrentReplay(t *testing.T) {
	clk := newClock()
	key := newProofKey(t)
	m := newDPoPMiddleware(t, boundValidator(t0, key.jkt), clk, nil)
	proof := key.proof(t, t0, "bound", nil)
	const n = 50
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses[i] = serve(m, request("GET", rsURL, "", "Authorization: DPoP bound", "DPoP: "+proof)).Status
		})
	}
	wg.Wait()
	tally := map[int]int{}
	for _, s := range statuses {
		tally[s]++
	}
	if diff := cmp.Diff(map[int]int{204: 1, 401: n - 1}, tally); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

func TestDPoPConfigValidation(t *testing.T) {
	replay := memory.NewReplayCache()
	tests := map[string]struct {
		cfg     bearer.DPoPConfig
		wantErr string
	}{
		"valid":            {bearer.DPoPConfig{Origin: "https://api.example.com", Replay: replay}, ""},
		"origin slash":     {bearer.DPoPConfig{Origin: "https://api.example.com/", Replay: replay}, ""},
		"no origin":        {bearer.DPoPConfig{Replay: replay}, "Origin is required"},
		"origin with path": {bearer.DPoPConfig{Origin: "https://api.example.com/api", Replay: replay}, "scheme and authority only"},
		"origin query":     {bearer.DPoPConfig{Origin: "https://api.example.com?x", Replay: replay}, "scheme and authority only"},
		"origin ftp":       {bearer.DPoPConfig{Origin: "ftp://api.example.com", Replay: replay}, "scheme and authority only"},
		"no replay":        {bearer.DPoPConfig{Origin: "https://api.example.com"}, "Replay is required"},
		"HS256":            {bearer.DPoPConfig{Origin: "https://api.example.com", Replay: replay, Algorithms: []string{"HS256"}}, "not an asymmetric"},
	}
	for name, tc := range tests {
		cfg := tc.cfg
		_, err := bearer.New(bearer.Config{Validator: fakeValidator(t0), DPoP: &cfg})
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: %v, want an error with %q", name, err, tc.wantErr)
		}
	}
}

// TestDPoPEndToEnd binds tokens at oauthkit's token endpoint with go-jose
// proofs, and presents them to a resource behind the middleware with JWKS,
// Local and Introspection validators.
func TestDPoPEndToEnd(t *testing.T) {
	signing, err := jwt.GenerateKey(jwt.ES256)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwt.NewKeySet(signing)
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.Repeat("s", 40)
	hash, err := oauthkit.HashSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	store := memory.NewStore(
		&oauthkit.Client{ID: "jwt-client", SecretHash: hash, GrantTypes: []string{oauthkit.GrantTypeClientCredentials}, Scopes: []string{"read"}, AccessTokenFormat: "jwt"},
		&oauthkit.Client{ID: "opaque-client", SecretHash: hash, GrantTypes: []string{oauthkit.GrantTypeClientCredentials}, Scopes: []string{"read"}},
		&oauthkit.Client{ID: "rs", SecretHash: hash},
	)
	mux := http.NewServeMux()
	as := httptest.NewServer(mux)
	defer as.Close()
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer: as.URL, Clients: store, Codes: store, Tokens: store, ReplayCache: store,
		Endpoints:          oauthkit.Endpoints{Introspection: as.URL + "/introspect", JWKS: as.URL + "/jwks"},
		AccessTokenFormats: map[string]oauthkit.TokenIssuer{"jwt": &jwt.AccessTokens{Keys: keys, DefaultAudience: []string{rsOrigin}}},
		Grants:             []oauthkit.GrantHandler{grants.ClientCredentials{}},
		DPoP:               &oauthkit.DPoPConfig{Algorithms: []string{"ES256"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/token", srv.TokenHandler())
	mux.Handle("/introspect", srv.IntrospectionHandler())
	mux.Handle("/jwks", keys.JWKSHandler())

	key := newProofKey(t)
	token := func(t *testing.T, client string) string {
		t.Helper()
		now := time.Now()
		sum := map[string]any{"htm": "POST", "htu": as.URL + "/token", "ath": proofAbsent, "iat": now.Unix()}
		req, _ := http.NewRequest("POST", as.URL+"/token", strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(client, secret)
		req.Header.Set("DPoP", key.proof(t, now, "", sum))
		resp, err := as.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tr oauthkit.TokenResponse
		if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.TokenType != "DPoP" {
			t.Fatalf("token response %+v, %v", tr, err)
		}
		return tr.AccessToken
	}

	jwks, err := bearer.NewJWKS(bearer.JWKSConfig{URL: as.URL + "/jwks", Issuer: as.URL, Audience: rsOrigin, Client: as.Client()})
	if err != nil {
		t.Fatal(err)
	}
	intro, err := bearer.NewIntrospection(bearer.IntrospectionConfig{URL: as.URL + "/introspect", ClientID: "rs", ClientSecret: secret, Issuer: as.URL, Client: as.Client()})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		v      bearer.Validator
		client string
	}{
		"JWKS":          {jwks, "jwt-client"},
		"Local":         {bearer.Local(srv, ""), "opaque-client"},
		"Introspection": {intro, "opaque-client"},
	} {
		t.Run(name, func(t *testing.T) {
			m, err := bearer.New(bearer.Config{Validator: tc.v, Logger: discard,
				DPoP: &bearer.DPoPConfig{Origin: rsOrigin, Replay: memory.NewReplayCache()}})
			if err != nil {
				t.Fatal(err)
			}
			access := token(t, tc.client)
			now := time.Now()
			got := serve(m, request("GET", rsURL, "", "Authorization: DPoP "+access, "DPoP: "+key.proof(t, now, access, nil)))
			if got.Status != 204 || got.Claims.JKT != key.jkt {
				t.Errorf("DPoP with its proof: %d %s, claims %+v", got.Status, got.Challenge, got.Claims)
			}
			if got := serve(m, request("GET", rsURL, "", "Authorization: Bearer "+access)); got.Status != 401 || !strings.Contains(got.Challenge, "invalid_token") {
				t.Errorf("as Bearer: %+v", got)
			}
			other := newProofKey(t)
			if got := serve(m, request("GET", rsURL, "", "Authorization: DPoP "+access, "DPoP: "+other.proof(t, now, access, nil))); got.Status != 401 || !strings.Contains(got.Challenge, "key binding") {
				t.Errorf("proof of another key: %+v", got)
			}
		})
	}
}

type failingReplay struct{}

func (failingReplay) Remember(context.Context, string, time.Time, time.Time) (bool, error) {
	return false, errors.New("replay cache exploded")
}

// A replay cache that fails is the resource's fault: 500 without a
// challenge, never a refused proof; a client that went away gets 503.
func TestDPoPMiddlewareReplayFault(t *testing.T) {
	clk := newClock()
	key := newProofKey(t)
	m := newDPoPMiddleware(t, boundValidator(t0, key.jkt), clk, func(d *bearer.DPoPConfig) { d.Replay = failingReplay{} })
	got := serve(m, request("GET", rsURL, "", "Authorization: DPoP bound", "DPoP: "+key.proof(t, t0, "bound", nil)))
	if diff := cmp.Diff(outcome{Status: 500}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := request("GET", rsURL, "", "Authorization: DPoP bound", "DPoP: "+key.proof(t, t0, "bound", nil)).WithContext(ctx)
	if got := serve(m, req); got.Status != 503 {
		t.Errorf("client gone: %+v", got)
	}
}
