package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit/dpop"
)

// replayCache is an in-memory dpop.ReplayCache; a server would use one of
// oauthkit's ReplayCache implementations, shared by its instances.
type replayCache struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (c *replayCache) Remember(_ context.Context, key string, now, expiresAt time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[key]; ok && now.Before(exp) {
		return false, nil
	}
	c.seen[key] = expiresAt
	return true, nil
}

// newProof makes a DPoP proof as a client does, with go-jose.
func newProof(key *ecdsa.PrivateKey, method, url, nonce string) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		log.Fatal(err)
	}
	claims := map[string]any{"jti": rand.Text(), "htm": method, "htu": url, "iat": time.Now().Unix()}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		log.Fatal(err)
	}
	proof, _ := jws.CompactSerialize()
	return proof
}

// A token endpoint checks the proof that comes with a token request, and
// binds the token it issues to the proof's key by its thumbprint.
func Example() {
	v, err := dpop.New(dpop.Config{
		Algorithms: []string{"ES256", "EdDSA"},
		Replay:     &replayCache{seen: map[string]time.Time{}},
	})
	if err != nil {
		log.Fatal(err)
	}
	clientKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	proof := newProof(clientKey, "POST", "https://as.example.com/token", "")

	req := dpop.Request{Method: "POST", URL: "https://as.example.com/token"}
	p, err := v.Verify(context.Background(), proof, req)
	if err != nil {
		log.Fatal(err)
	}
	jkt, _ := dpop.Thumbprint(&clientKey.PublicKey)
	fmt.Println("cnf.jkt is the client key's thumbprint:", p.Thumbprint == jkt)

	// The same proof, presented again.
	_, err = v.Verify(context.Background(), proof, req)
	fmt.Println(err)
	fmt.Println("invalid_dpop_proof:", errors.Is(err, dpop.ErrInvalidProof))

	// A proof made for another endpoint.
	_, err = v.Verify(context.Background(), newProof(clientKey, "POST", "https://as.example.com/revoke", ""), req)
	fmt.Println(err)
	// Output:
	// cnf.jkt is the client key's thumbprint: true
	// DPoP proof replayed (jti used before)
	// invalid_dpop_proof: true
	// DPoP proof htu does not match the request URL
}

// A server that requires nonces answers a proof without one with
// use_dpop_nonce and a DPoP-Nonce header; the client retries with it.
func ExampleNonces() {
	key := make([]byte, 32) // in production: random, secret, the same on every instance
	nonces, err := dpop.NewNonces(key, 5*time.Minute)
	if err != nil {
		log.Fatal(err)
	}
	v, err := dpop.New(dpop.Config{Replay: &replayCache{seen: map[string]time.Time{}}, Nonces: nonces})
	if err != nil {
		log.Fatal(err)
	}
	clientKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	req := dpop.Request{Method: "POST", URL: "https://as.example.com/token"}

	_, err = v.Verify(context.Background(), newProof(clientKey, req.Method, req.URL, ""), req)
	if errors.Is(err, dpop.ErrUseNonce) {
		fmt.Println("400 use_dpop_nonce, with DPoP-Nonce:", len(nonces.Nonce(time.Now())), "characters")
	}
	nonce := nonces.Nonce(time.Now()) // from the DPoP-Nonce header
	_, err = v.Verify(context.Background(), newProof(clientKey, req.Method, req.URL, nonce), req)
	fmt.Println(err)
	// Output:
	// 400 use_dpop_nonce, with DPoP-Nonce: 43 characters
	// <nil>
}

// The thumbprint of the key of RFC 7638 §3.1.
func ExampleThumbprint() {
	var jwk jose.JSONWebKey
	err := jwk.UnmarshalJSON([]byte(`{"kty":"RSA","e":"AQAB",
		"n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(dpop.Thumbprint(jwk.Key))
	// Output: NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs <nil>
}

// Proofs and request URLs are compared in this normal form.
func ExampleNormalizeHTU() {
	fmt.Println(dpop.NormalizeHTU("HTTPS://AS.Example.com:443/a/../token?x=1#f"))
	// Output: https://as.example.com/token <nil>
}
