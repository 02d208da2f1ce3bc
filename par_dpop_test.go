package oauthkit

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit/dpop"
	"github.com/oauthkit/oauthkit/internal/josetest"
)

// DPoP at the pushed authorization request endpoint (RFC 9449 §10.1): a
// proof there is checked as at the token endpoint, with the PAR endpoint's
// URL as htu, and its key's thumbprint becomes the request's dpop_jkt.

// fakeReplay is a ReplayCache in a map, or one failing with err.
type fakeReplay struct {
	mu   sync.Mutex
	seen map[string]time.Time
	err  error
}

func (f *fakeReplay) Remember(_ context.Context, key string, now, expiresAt time.Time) (bool, error) {
	if f.err != nil {
		return false, f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if exp, ok := f.seen[key]; ok && now.Before(exp) {
		return false, nil
	}
	if f.seen == nil {
		f.seen = make(map[string]time.Time)
	}
	f.seen[key] = expiresAt
	return true, nil
}

// parKey is a client's DPoP key, signing proofs at testEpoch.
type parKey struct {
	priv *ecdsa.PrivateKey
	jkt  string
}

func newPARKey(t testing.TB) parKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jkt, err := dpop.Thumbprint(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return parKey{priv, jkt}
}

// proof returns a proof of a POST to htu with a fresh jti and the claims
// of over besides.
func (k parKey) proof(t testing.TB, htu string, over map[string]any) string {
	t.Helper()
	c := map[string]any{"jti": rand.Text(), "htm": "POST", "htu": htu, "iat": testEpoch.Unix()}
	for n, v := range over {
		c[n] = v
	}
	h := map[jose.HeaderKey]any{"typ": "dpop+jwt", "jwk": jose.JSONWebKey{Key: &k.priv.PublicKey}}
	return josetest.Sign(t, jose.SigningKey{Algorithm: jose.ES256, Key: k.priv}, &jose.SignerOptions{ExtraHeaders: h}, c)
}

const (
	parURL   = testIssuer + "/par"
	tokenURL = testIssuer + "/token"
)

// newPARDPoPEnv is newPAREnv with DPoP on.
func newPARDPoPEnv(t testing.TB, configure func(*Config)) (*testEnv, *fakePushed) {
	return newPAREnv(t, func(c *Config) {
		c.DPoP = &DPoPConfig{}
		c.ReplayCache = &fakeReplay{}
		if configure != nil {
			configure(c)
		}
	})
}

// pushedForm returns the form of the one pushed request in store.
func (s *fakePushed) pushedForm(t testing.TB) url.Values {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) != 1 {
		t.Fatalf("%d pushed requests stored, want 1", len(s.reqs))
	}
	for _, r := range s.reqs {
		return r.Form
	}
	return nil
}

// parResult is what the PAR endpoint answered, as the tests compare it.
type parResult struct {
	Status int
	Error  string
	JKT    string // the stored request's dpop_jkt, after a 201
}

func TestPushedAuthorizationDPoP(t *testing.T) {
	key, other := newPARKey(t), newPARKey(t)
	replayed := key.proof(t, parURL, nil)
	tests := []struct {
		name   string
		extra  url.Values // pushed parameters besides codeRequest's
		proofs func(t testing.TB) []string
		want   parResult
	}{
		{"proof", nil, func(t testing.TB) []string { return []string{key.proof(t, parURL, nil)} },
			parResult{Status: 201, JKT: key.jkt}},
		{"proof and its dpop_jkt", url.Values{"dpop_jkt": {key.jkt}}, func(t testing.TB) []string { return []string{key.proof(t, parURL, nil)} },
			parResult{Status: 201, JKT: key.jkt}},
		{"dpop_jkt alone", url.Values{"dpop_jkt": {other.jkt}}, func(testing.TB) []string { return nil },
			parResult{Status: 201, JKT: other.jkt}},
		{"neither", nil, func(testing.TB) []string { return nil },
			parResult{Status: 201}},
		{"proof htu with query", nil, func(t testing.TB) []string { return []string{key.proof(t, parURL+"?x=1", nil)} },
			parResult{Status: 201, JKT: key.jkt}},

		{"proof and another key's dpop_jkt", url.Values{"dpop_jkt": {other.jkt}}, func(t testing.TB) []string { return []string{key.proof(t, parURL, nil)} },
			parResult{Status: 400, Error: "invalid_request"}},
		{"proof and a malformed dpop_jkt", url.Values{"dpop_jkt": {"abc"}}, func(t testing.TB) []string { return []string{key.proof(t, parURL, nil)} },
			parResult{Status: 400, Error: "invalid_request"}},
		{"proof for the token endpoint", nil, func(t testing.TB) []string { return []string{key.proof(t, tokenURL, nil)} },
			parResult{Status: 400, Error: "invalid_dpop_proof"}},
		{"proof of a GET", nil, func(t testing.TB) []string { return []string{key.proof(t, parURL, map[string]any{"htm": "GET"})} },
			parResult{Status: 400, Error: "invalid_dpop_proof"}},
		{"proof too old", nil, func(t testing.TB) []string {
			return []string{key.proof(t, parURL, map[string]any{"iat": testEpoch.Add(-time.Hour).Unix()})}
		}, parResult{Status: 400, Error: "invalid_dpop_proof"}},
		{"junk proof", nil, func(testing.TB) []string { return []string{"junk"} },
			parResult{Status: 400, Error: "invalid_dpop_proof"}},
		{"two proofs", nil, func(t testing.TB) []string { return []string{key.proof(t, parURL, nil), key.proof(t, parURL, nil)} },
			parResult{Status: 400, Error: "invalid_dpop_proof"}},
		{"empty DPoP header", nil, func(testing.TB) []string { return []string{""} },
			parResult{Status: 400, Error: "invalid_dpop_proof"}},
		{"replayed proof, first", nil, func(testing.TB) []string { return []string{replayed} },
			parResult{Status: 201, JKT: key.jkt}},
	}
	e, store := newPARDPoPEnv(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store.mu.Lock()
			store.reqs = nil
			store.mu.Unlock()
			r := asPAR("web", codeRequest("web", tt.extra))
			for _, p := range tt.proofs(t) {
				r.Header.Add("DPoP", p)
			}
			w := e.par(r)
			got := parResult{Status: w.Code}
			var body struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			got.Error = body.Error
			if w.Code == http.StatusCreated {
				got.JKT = store.pushedForm(t).Get("dpop_jkt")
			} else if store.len() != 0 {
				t.Error("a refused request was stored")
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s\nbody %s", d, w.Body)
			}
		})
	}
	t.Run("replayed proof, again", func(t *testing.T) {
		r := asPAR("web", codeRequest("web", nil))
		r.Header.Set("DPoP", replayed)
		if w := e.par(r); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"invalid_dpop_proof"`) {
			t.Errorf("replayed proof: %d %s", w.Code, w.Body)
		}
	})
	t.Run("a request refused for its parameters keeps its proof usable", func(t *testing.T) {
		proof := key.proof(t, parURL, nil)
		r := asPAR("web", codeRequest("web", url.Values{"code_challenge_method": {"plain"}}))
		r.Header.Set("DPoP", proof)
		if w := e.par(r); w.Code != http.StatusBadRequest || strings.Contains(w.Body.String(), "dpop") {
			t.Fatalf("bad request: %d %s", w.Code, w.Body)
		}
		r = asPAR("web", codeRequest("web", nil))
		r.Header.Set("DPoP", proof)
		if w := e.par(r); w.Code != http.StatusCreated {
			t.Errorf("the same proof with a good request: %d %s", w.Code, w.Body)
		}
	})
}

// A code from a request pushed with a proof is bound to the proof's key
// (RFC 9449 §10.1): redeemed with a proof of that key only.
func TestPushedAuthorizationDPoPBindsCode(t *testing.T) {
	key, other := newPARKey(t), newPARKey(t)
	e, _ := newPARDPoPEnv(t, nil)
	code := func(t *testing.T) string {
		t.Helper()
		r := asPAR("web", codeRequest("web", nil))
		r.Header.Set("DPoP", key.proof(t, parURL, nil))
		w := e.par(r)
		var resp struct {
			RequestURI string `json:"request_uri"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &resp); w.Code != http.StatusCreated || err != nil {
			t.Fatalf("push: %d %s", w.Code, w.Body)
		}
		res := readAuthorizeResponse(t, e.useRequestURI("web", resp.RequestURI, nil))
		c, ok := e.codes.stored(res.params.Get("code"))
		if !ok || c.DPoPJKT != key.jkt {
			t.Fatalf("code %v stored with dpop_jkt %q, want %q", ok, c.DPoPJKT, key.jkt)
		}
		return res.params.Get("code")
	}
	redeem := func(code string, proofs ...string) *http.Request {
		r := asClient("web", url.Values{"grant_type": {GrantTypeAuthorizationCode}, "code": {code}, "code_verifier": {testVerifier}})
		for _, p := range proofs {
			r.Header.Add("DPoP", p)
		}
		return r
	}
	for _, tt := range []struct {
		name   string
		proofs func(t testing.TB) []string
		want   string // error, or "" for a DPoP token
	}{
		{"no proof", func(testing.TB) []string { return nil }, "invalid_grant"},
		{"proof of another key", func(t testing.TB) []string { return []string{other.proof(t, tokenURL, nil)} }, "invalid_grant"},
		{"the PAR proof's key", func(t testing.TB) []string { return []string{key.proof(t, tokenURL, nil)} }, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := e.token(redeem(code(t), tt.proofs(t)...))
			var body struct {
				Error     string `json:"error"`
				TokenType string `json:"token_type"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Error != tt.want || tt.want == "" && body.TokenType != TokenTypeDPoP {
				t.Errorf("token response %d %s, want error %q", w.Code, w.Body, tt.want)
			}
		})
	}
}

// Server nonces (RFC 9449 §8) at the PAR endpoint: a proof without one is
// answered use_dpop_nonce with a DPoP-Nonce to retry with.
func TestPushedAuthorizationDPoPNonce(t *testing.T) {
	nonces, err := dpop.NewNonces([]byte("0123456789abcdef0123456789abcdef"), 0)
	if err != nil {
		t.Fatal(err)
	}
	key := newPARKey(t)
	e, store := newPARDPoPEnv(t, func(c *Config) { c.DPoP.Nonces = nonces })
	r := asPAR("web", codeRequest("web", nil))
	r.Header.Set("DPoP", key.proof(t, parURL, nil))
	w := e.par(r)
	nonce := w.Header().Get("DPoP-Nonce")
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"use_dpop_nonce"`) || nonce == "" {
		t.Fatalf("proof without a nonce: %d %s, DPoP-Nonce %q", w.Code, w.Body, nonce)
	}
	r = asPAR("web", codeRequest("web", nil))
	r.Header.Set("DPoP", key.proof(t, parURL, map[string]any{"nonce": nonce}))
	if w := e.par(r); w.Code != http.StatusCreated || w.Header().Get("DPoP-Nonce") == "" {
		t.Fatalf("proof with the nonce: %d %s", w.Code, w.Body)
	}
	if got := store.pushedForm(t).Get("dpop_jkt"); got != key.jkt {
		t.Errorf("dpop_jkt %q, want %q", got, key.jkt)
	}
}

// Without Config.DPoP the header is ignored, as at the token endpoint; a
// failing replay cache is a server fault, not a refused proof.
func TestPushedAuthorizationDPoPOffAndFaults(t *testing.T) {
	key := newPARKey(t)
	t.Run("DPoP off", func(t *testing.T) {
		e, store := newPAREnv(t, nil)
		r := asPAR("web", codeRequest("web", nil))
		r.Header.Set("DPoP", key.proof(t, parURL, nil))
		if w := e.par(r); w.Code != http.StatusCreated {
			t.Fatalf("push: %d %s", w.Code, w.Body)
		}
		if got := store.pushedForm(t); got.Has("dpop_jkt") {
			t.Errorf("dpop_jkt %q stored by a server without DPoP", got.Get("dpop_jkt"))
		}
	})
	t.Run("replay cache fault", func(t *testing.T) {
		e, store := newPARDPoPEnv(t, func(c *Config) { c.ReplayCache = &fakeReplay{err: errors.New("database down")} })
		r := asPAR("web", codeRequest("web", nil))
		r.Header.Set("DPoP", key.proof(t, parURL, nil))
		if w := e.par(r); w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), `"server_error"`) {
			t.Errorf("push: %d %s, want 500 server_error", w.Code, w.Body)
		}
		if store.len() != 0 {
			t.Error("stored despite the fault")
		}
	})
}
