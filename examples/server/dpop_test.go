package main

// DPoP (RFC 9449) in the example server, driven by x/oauth2 through a
// transport that signs a go-jose proof for each request and, like real DPoP
// clients, retries once with the server's nonce when asked for one.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauthkit/oauthkit/dpop"
)

// dpopClient signs DPoP proofs with its own key.
type dpopClient struct {
	key *ecdsa.PrivateKey
	jkt string

	mu    sync.Mutex
	nonce string // the last DPoP-Nonce the server sent
}

func newDPoPClient(t testing.TB) *dpopClient {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jkt, err := dpop.Thumbprint(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return &dpopClient{key: key, jkt: jkt}
}

// proof returns a proof for a request of method to u, for accessToken if
// not empty (ath), with the last nonce the server sent.
func (c *dpopClient) proof(method, u, accessToken string) (string, error) {
	c.mu.Lock()
	nonce := c.nonce
	c.mu.Unlock()
	htu, _, _ := strings.Cut(u, "?")
	claims := map[string]any{"jti": rand.Text(), "htm": method, "htu": htu, "iat": time.Now().Unix()}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: c.key}, &jose.SignerOptions{
		ExtraHeaders: map[jose.HeaderKey]any{"typ": "dpop+jwt", "jwk": jose.JSONWebKey{Key: &c.key.PublicKey}},
	})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// do sends req with a fresh proof (and "Authorization: DPoP accessToken"
// if accessToken is set) and, if the server answers use_dpop_nonce, once
// more with its nonce.
func (c *dpopClient) do(base http.RoundTripper, req *http.Request, accessToken string) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		r := req.Clone(req.Context())
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = body
		}
		p, err := c.proof(r.Method, r.URL.String(), accessToken)
		if err != nil {
			return nil, err
		}
		r.Header.Set("DPoP", p)
		if accessToken != "" {
			r.Header.Set("Authorization", "DPoP "+accessToken)
		}
		resp, err := base.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		if n := resp.Header.Get("DPoP-Nonce"); n != "" {
			c.mu.Lock()
			c.nonce = n
			c.mu.Unlock()
		}
		if attempt > 0 || !c.asksForNonce(resp) {
			return resp, nil
		}
		resp.Body.Close()
	}
}

// asksForNonce reports whether resp is a use_dpop_nonce error, of the token
// endpoint (400, JSON) or of a resource (401, WWW-Authenticate).
func (c *dpopClient) asksForNonce(resp *http.Response) bool {
	if strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="use_dpop_nonce"`) {
		return true
	}
	if resp.StatusCode != http.StatusBadRequest {
		return false
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	var e struct{ Error string }
	return json.Unmarshal(body, &e) == nil && e.Error == "use_dpop_nonce"
}

// transport is an http.RoundTripper for x/oauth2: every token request goes
// with a proof.
func (c *dpopClient) transport(base http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) { return c.do(base, req, "") })
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// context makes x/oauth2 send the token requests of ts with proofs of c.
func (c *dpopClient) context(ctx context.Context, ts *testServer) context.Context {
	hc := *ts.Client()
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = c.transport(base)
	return context.WithValue(ctx, oauth2.HTTPClient, &hc)
}

// callAPIDPoP calls GET /api/me with accessToken as scheme ("DPoP", with a
// proof of c when c is not nil, or "Bearer").
func callAPIDPoP(t *testing.T, ts *testServer, c *dpopClient, scheme, accessToken string) apiResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.issuer+pathAPIMe, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := ts.Client().Transport
	if base == nil {
		base = http.DefaultTransport
	}
	var resp *http.Response
	if c != nil && scheme == "DPoP" {
		resp, err = c.do(base, req, accessToken)
	} else {
		req.Header.Set("Authorization", scheme+" "+accessToken)
		resp, err = base.RoundTrip(req)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return apiResponse{status: resp.StatusCode, challenge: resp.Header.Get("WWW-Authenticate"), body: string(body)}
}

func TestDPoPMetadata(t *testing.T) {
	ts := demoServer()
	var md struct {
		Algs []string `json:"dpop_signing_alg_values_supported"`
	}
	getJSON(t, ts, ts.issuer+pathMetadata, &md)
	if !slices.Contains(md.Algs, "ES256") {
		t.Errorf("dpop_signing_alg_values_supported = %v, want ES256 among them", md.Algs)
	}
}

func TestDPoPPublicClient(t *testing.T) {
	ts := demoServer()
	client := newDPoPClient(t)
	ctx := client.context(t.Context(), ts)
	conf := oauthConfig(ts, "spa", "", "read")
	ua := newUserAgent(t, ts)
	verifier := oauth2.GenerateVerifier()
	loc := ua.authorize(conf.AuthCodeURL("dpop", oauth2.S256ChallengeOption(verifier)), actionApprove)
	q := checkRedirect(t, ts, loc, "dpop")
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.TokenType != "DPoP" {
		t.Fatalf("token_type %q, want DPoP", tok.TokenType)
	}

	t.Run("api accepts it as DPoP with a proof of its key", func(t *testing.T) {
		got := callAPIDPoP(t, ts, client, "DPoP", tok.AccessToken)
		if got.status != http.StatusOK || !strings.Contains(got.body, `"client_id":"spa"`) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("api refuses it as Bearer", func(t *testing.T) {
		got := callAPIDPoP(t, ts, nil, "Bearer", tok.AccessToken)
		if got.status != http.StatusUnauthorized || !strings.HasPrefix(got.challenge, `Bearer realm="oauthkit-example", error="invalid_token"`) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("api refuses a proof of another key", func(t *testing.T) {
		got := callAPIDPoP(t, ts, newDPoPClient(t), "DPoP", tok.AccessToken)
		if got.status != http.StatusUnauthorized || !strings.Contains(got.challenge, `DPoP realm="oauthkit-example", error="invalid_token"`) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("api refuses DPoP without ath", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, ts.issuer+pathAPIMe, nil)
		p, err := client.proof(http.MethodGet, ts.issuer+pathAPIMe, "")
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "DPoP "+tok.AccessToken)
		req.Header.Set("DPoP", p)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if c := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || !strings.Contains(c, `error="invalid_dpop_proof", error_description="DPoP proof ath missing"`) {
			t.Errorf("status %d, %s", resp.StatusCode, c)
		}
	})
	t.Run("introspection shows cnf.jkt", func(t *testing.T) {
		m := introspect(t, ts, "svc", "svc-secret", tok.AccessToken)
		cnf, _ := m["cnf"].(map[string]any)
		if m["active"] != true || m["token_type"] != "DPoP" || cnf["jkt"] != client.jkt {
			t.Errorf("introspection %v, want active, token_type DPoP and cnf.jkt %s", m, client.jkt)
		}
	})
	t.Run("the refresh token is bound", func(t *testing.T) {
		expired := *tok
		expired.Expiry = time.Now().Add(-time.Minute)
		for name, ctx := range map[string]context.Context{
			"without a proof":  clientContext(t.Context(), ts),
			"with another key": newDPoPClient(t).context(t.Context(), ts),
		} {
			_, err := conf.TokenSource(ctx, &expired).Token()
			if got := retrieveError(t, err); got != "invalid_grant" {
				t.Errorf("%s: error %q, want invalid_grant", name, got)
			}
		}
		fresh, err := conf.TokenSource(ctx, &expired).Token()
		if err != nil {
			t.Fatalf("refresh with the key: %v", err)
		}
		if fresh.TokenType != "DPoP" || callAPIDPoP(t, ts, client, "DPoP", fresh.AccessToken).status != http.StatusOK {
			t.Errorf("refreshed token %q does not work as DPoP", fresh.TokenType)
		}
	})
}

func TestDPoPBoundClientWithNonces(t *testing.T) {
	cfg := demoConfig()
	cfg.DPoPNonce = true
	cfg.Clients = append(cfg.Clients, clientConfig{ID: "bound", Secret: "bound-secret",
		GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}, DPoPBoundAccessTokens: true})
	ts := startServer(t, cfg, false)
	defer ts.Close()
	cc := clientcredentials.Config{ClientID: "bound", ClientSecret: "bound-secret", TokenURL: ts.issuer + pathToken, Scopes: []string{"read"}, AuthStyle: oauth2.AuthStyleInHeader}

	_, err := cc.Token(clientContext(t.Context(), ts))
	if got := retrieveError(t, err); got != "invalid_request" {
		t.Errorf("without a proof: error %q, want invalid_request", got)
	}
	client := newDPoPClient(t)
	tok, err := cc.Token(client.context(t.Context(), ts))
	if err != nil {
		t.Fatalf("with a proof and the nonce: %v", err)
	}
	if tok.TokenType != "DPoP" || client.nonce == "" {
		t.Errorf("token_type %q, nonce %q", tok.TokenType, client.nonce)
	}
	// The API asks for a nonce of its own too: a new client retries.
	other := &dpopClient{key: client.key, jkt: client.jkt}
	if got := callAPIDPoP(t, ts, other, "DPoP", tok.AccessToken); got.status != http.StatusOK {
		t.Errorf("api: %+v", got)
	}
	// Without a nonce and no retry, the API says use_dpop_nonce.
	req, _ := http.NewRequest(http.MethodGet, ts.issuer+pathAPIMe, nil)
	p, _ := (&dpopClient{key: client.key}).proof(http.MethodGet, ts.issuer+pathAPIMe, tok.AccessToken)
	req.Header.Set("Authorization", "DPoP "+tok.AccessToken)
	req.Header.Set("DPoP", p)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "use_dpop_nonce") || resp.Header.Get("DPoP-Nonce") == "" {
		t.Errorf("no nonce: %d %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestDPoPConfigFields(t *testing.T) {
	cfg, err := parseConfig("", strings.NewReader(`{"dpop_nonce": true, "clients": [
		{"id": "c", "secret": "s", "grant_types": ["client_credentials"], "dpop_bound_access_tokens": true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.DPoPNonce || !cfg.Clients[0].DPoPBoundAccessTokens {
		t.Errorf("parsed %+v", cfg)
	}
	for in, want := range map[string]string{
		`{"dpop_nonce": "yes"}`: "config: dpop_nonce: want a boolean",
		`{"clients": [{"id": "c", "secret": "s", "grant_types": ["client_credentials"], "dpop_bound_access_tokens": 1}]}`: "config: clients[0].dpop_bound_access_tokens: want a boolean",
	} {
		_, err := parseConfig("", strings.NewReader(in))
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}
