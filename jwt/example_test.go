package jwt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/jwt"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// countingRand is a deterministic randomness source, so that the examples'
// output is stable. Real servers leave Rand nil.
type countingRand struct{ b byte }

func (r *countingRand) Read(p []byte) (int, error) {
	for i := range p {
		r.b++
		p[i] = r.b
	}
	return len(p), nil
}

// An RFC 9068 access token, decoded. The token endpoint fills in the
// oauthkit.Token; here it is built by hand, with a fixed clock.
func ExampleAccessTokens() {
	key, err := jwt.GenerateKey(jwt.ES256)
	if err != nil {
		log.Fatal(err)
	}
	keys, err := jwt.NewKeySet(key)
	if err != nil {
		log.Fatal(err)
	}
	issuer := &jwt.AccessTokens{
		Keys:            keys,
		DefaultAudience: []string{"https://api.example.com"},
		Rand:            &countingRand{},
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t := &oauthkit.Token{
		ClientID:  "svc",
		Subject:   "svc",
		Scope:     []string{"read", "write"},
		IssuedAt:  now,
		ExpiresAt: now.Add(time.Hour),
	}
	token, err := issuer.IssueAccessToken(context.Background(), "https://auth.example.com", t)
	if err != nil {
		log.Fatal(err)
	}

	claims, err := keys.Verify(token, "at+jwt", now)
	if err != nil {
		log.Fatal(err)
	}
	var out bytes.Buffer
	json.Indent(&out, claims.Raw, "", "  ")
	fmt.Println(out.String())

	id, err := issuer.VerifyAccessToken(context.Background(), "https://auth.example.com", token, now)
	fmt.Println(id == t.ID, err)
	// Output:
	// {
	//   "iss": "https://auth.example.com",
	//   "exp": 1767326645,
	//   "aud": "https://api.example.com",
	//   "sub": "svc",
	//   "client_id": "svc",
	//   "iat": 1767323045,
	//   "jti": "AQIDBAUGBwgJCgsMDQ4PEA",
	//   "scope": "read write"
	// }
	// true <nil>
}

// Rotating keys: tokens signed before a rotation keep verifying until the
// old key is retired.
func ExampleKeySet_Rotate() {
	oldKey, _ := jwt.GenerateKey(jwt.ES256)
	newKey, _ := jwt.GenerateKey(jwt.EdDSA)
	keys, err := jwt.NewKeySet(oldKey)
	if err != nil {
		log.Fatal(err)
	}
	ctx, now := context.Background(), time.Now()
	claims := map[string]int64{"exp": now.Add(time.Minute).Unix()}
	before, _ := keys.Sign(ctx, "JWT", claims)

	if err := keys.Rotate(newKey); err != nil {
		log.Fatal(err)
	}
	after, _ := keys.Sign(ctx, "JWT", claims)
	_, err1 := keys.Verify(before, "JWT", now)
	_, err2 := keys.Verify(after, "JWT", now)
	fmt.Println("after Rotate:", keys.Algorithm(), err1, err2)

	if err := keys.Retire(oldKey.KeyID()); err != nil {
		log.Fatal(err)
	}
	_, err1 = keys.Verify(before, "JWT", now)
	fmt.Println("after Retire:", err1)
	// Output:
	// after Rotate: EdDSA <nil> <nil>
	// after Retire: jwt: invalid token: unknown key ID
}

// Loading a key the host stores as PEM.
func ExampleParsePEM() {
	pemBytes, err := os.ReadFile("testdata/keys/ec-p256-sec1.pem")
	if err != nil {
		log.Fatal(err)
	}
	key, err := jwt.ParsePEM(pemBytes, "") // the algorithm follows from the key
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(key.Algorithm(), len(key.KeyID()))
	// Output: ES256 43
}

// Wiring JWT access tokens and the JWKS into a server.
func Example() {
	key, err := jwt.GenerateKey(jwt.ES256) // or jwt.ParsePEM(stored, "")
	if err != nil {
		log.Fatal(err)
	}
	keys, err := jwt.NewKeySet(key)
	if err != nil {
		log.Fatal(err)
	}
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:       "https://auth.example.com",
		Endpoints:    oauthkit.Endpoints{JWKS: "https://auth.example.com/jwks"},
		Clients:      memory.NewClients(),
		Codes:        memory.NewCodes(),
		Tokens:       memory.NewTokens(),
		AccessTokens: &jwt.AccessTokens{Keys: keys},
		Grants:       []oauthkit.GrantHandler{grants.ClientCredentials{}},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /token", srv.TokenHandler())
	mux.Handle("GET /jwks", keys.JWKSHandler())
	// log.Fatal(http.ListenAndServe(":8080", mux))
}
