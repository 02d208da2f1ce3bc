package dpop_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit/internal/josetest"
)

// memReplay is a fake ReplayCache that checks its contract: one atomic
// remember-if-new, with expiry.
type memReplay struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func newMemReplay() *memReplay { return &memReplay{seen: make(map[string]time.Time)} }

func (m *memReplay) Remember(_ context.Context, key string, now, expiresAt time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if exp, ok := m.seen[key]; ok && now.Before(exp) {
		return false, nil
	}
	m.seen[key] = expiresAt
	return true, nil
}

// absent, as a header or claim value, removes that member.
var absent = new(struct{})

// testKey is a client's key pair.
type testKey struct {
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

func (k testKey) public() jose.JSONWebKey { return jose.JSONWebKey{Key: k.priv.Public()} }

var (
	keysOnce sync.Once
	keys     map[string]testKey
)

// testKeys returns keys for each algorithm tested, made once.
func testKeys(t testing.TB) map[string]testKey {
	t.Helper()
	keysOnce.Do(func() {
		ec := func(c elliptic.Curve) *ecdsa.PrivateKey {
			k, err := ecdsa.GenerateKey(c, rand.Reader)
			if err != nil {
				panic(err)
			}
			return k
		}
		rsaKey := func(bits int) *rsa.PrivateKey {
			k, err := rsa.GenerateKey(rand.Reader, bits)
			if err != nil {
				panic(err)
			}
			return k
		}
		_, ed, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		r2048 := rsaKey(2048)
		keys = map[string]testKey{
			"ES256":      {jose.ES256, ec(elliptic.P256())},
			"ES256-b":    {jose.ES256, ec(elliptic.P256())},
			"ES384":      {jose.ES384, ec(elliptic.P384())},
			"ES512":      {jose.ES512, ec(elliptic.P521())},
			"EdDSA":      {jose.EdDSA, ed},
			"RS256":      {jose.RS256, r2048},
			"PS256":      {jose.PS256, r2048},
			"RS256-1024": {jose.RS256, rsaKey(1024)},
		}
	})
	return keys
}

// sign returns a compact JWS of claims signed by k with go-jose. Its header
// has alg, typ "dpop+jwt" and k's public jwk, then the members of header
// (absent removing one).
func sign(t testing.TB, k testKey, header map[string]any, claims any) string {
	t.Helper()
	extra := map[jose.HeaderKey]any{"typ": "dpop+jwt", "jwk": k.public()}
	for name, v := range header {
		if v == absent {
			delete(extra, jose.HeaderKey(name))
		} else {
			extra[jose.HeaderKey(name)] = v
		}
	}
	var signingKey any = k.priv
	if k.alg == jose.HS256 {
		signingKey = []byte(strings.Repeat("s", 32))
	}
	return josetest.Sign(t, jose.SigningKey{Algorithm: k.alg, Key: signingKey}, &jose.SignerOptions{ExtraHeaders: extra}, claims)
}

// unsigned returns a proof with alg "none" and an empty signature.
func unsigned(t testing.TB, k testKey, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]any{"alg": "none", "typ": "dpop+jwt", "jwk": k.public()})
	p, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

// claimsAt returns the claims of a proof of a POST to the token endpoint
// at now, with a fresh jti, then the members of over (absent removing one).
func claimsAt(now time.Time, over map[string]any) map[string]any {
	c := map[string]any{
		"jti": rand.Text(),
		"htm": "POST",
		"htu": "https://as.example.com/token",
		"iat": now.Unix(),
	}
	for name, v := range over {
		if v == absent {
			delete(c, name)
		} else {
			c[name] = v
		}
	}
	return c
}

func ath(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
