package bearer_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit/internal/josetest"
)

const (
	testIssuer   = "https://as.example.com"
	testAudience = "https://rs.example.com"
)

// t0 is the fake clock's start: tokens are issued at t0.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// testKey is a signing key with its key ID and JWS algorithm.
type testKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv any
}

// public returns the key's public JWK, as a JWKS publishes it.
func (k testKey) public() jose.JSONWebKey {
	jwk := jose.JSONWebKey{Key: k.priv, KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
	return jwk.Public()
}

var (
	rsaOnce sync.Once
	rsaPriv *rsa.PrivateKey
)

// rsaKey returns one RSA key for the whole test binary: generating RSA keys
// is slow.
func rsaKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	rsaOnce.Do(func() {
		var err error
		if rsaPriv, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return rsaPriv
}

func newECKey(t testing.TB, kid string) testKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid: kid, alg: jose.ES256, priv: priv}
}

func newEdKey(t testing.TB, kid string) testKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid: kid, alg: jose.EdDSA, priv: priv}
}

// sign returns a compact JWS of claims signed by k, with the given typ
// header (none when empty) and the key's kid (none when empty).
func sign(t testing.TB, k testKey, typ string, claims any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	return signWith(t, k, opts, claims)
}

func signWith(t testing.TB, k testKey, opts *jose.SignerOptions, claims any) string {
	t.Helper()
	var key any = k.priv
	if k.kid != "" {
		key = jose.JSONWebKey{Key: k.priv, KeyID: k.kid}
	}
	return josetest.Sign(t, jose.SigningKey{Algorithm: k.alg, Key: key}, opts, claims)
}

// validClaims returns the claims of a valid RFC 9068 access token issued at
// t0 for an hour; edit the map for the case at hand.
func validClaims() map[string]any { return claimsAt(t0) }

// claimsAt returns the claims of a valid access token issued at now for an
// hour.
func claimsAt(now time.Time) map[string]any {
	return map[string]any{
		"iss":       testIssuer,
		"sub":       "alice",
		"aud":       testAudience,
		"client_id": "web",
		"scope":     "read write",
		"exp":       now.Add(time.Hour).Unix(),
		"iat":       now.Unix(),
		"jti":       "id-1",
	}
}

// clock is a fake clock that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// jwksServer is a fake jwks_uri whose keys and status the test changes, and
// which counts fetches.
type jwksServer struct {
	mu      sync.Mutex
	keys    []jose.JSONWebKey
	status  int    // 0 means 200
	body    string // served instead of the keys when set
	fetches atomic.Int32
	gate    chan struct{} // if set, each fetch waits for a value from it
}

func newJWKSServer(keys ...testKey) *jwksServer {
	s := &jwksServer{}
	s.setKeys(keys...)
	return s
}

func (s *jwksServer) setKeys(keys ...testKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = s.keys[:0]
	for _, k := range keys {
		s.keys = append(s.keys, k.public())
	}
}

func (s *jwksServer) setStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
}

func (s *jwksServer) setBody(body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = body
}

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.fetches.Add(1)
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if s.status != 0 && s.status != http.StatusOK {
		w.WriteHeader(s.status)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	if s.body != "" {
		w.Write([]byte(s.body))
		return
	}
	json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: s.keys})
}

// handlerTransport is an http.RoundTripper that serves requests with a
// handler in memory, so that tests in a synctest bubble see every goroutine
// block durably.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}
