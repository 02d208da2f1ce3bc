package bearer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/dpop"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// A resource server accepts DPoP-bound access tokens (RFC 9449) with a
// proof of their key, besides bearer tokens; a bound token presented as a
// bearer token is refused.
func ExampleDPoPConfig() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // the client's
	jkt, _ := dpop.Thumbprint(&key.PublicKey)
	const token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
	validator := bearer.ValidatorFunc(func(ctx context.Context, t string) (*bearer.Claims, error) {
		if t != token {
			return nil, bearer.ErrInvalidToken
		}
		// JWKS, Introspection and Local set JKT from cnf.jkt.
		return &bearer.Claims{Subject: "alice", ClientID: "app", Scope: []string{"read"}, JKT: jkt}, nil
	})
	mw, err := bearer.New(bearer.Config{Validator: validator, Realm: "api", DPoP: &bearer.DPoPConfig{
		Origin:     "https://api.example.com", // htu is this and the request's path
		Algorithms: []string{"ES256"},
		Replay:     memory.NewReplayCache(), // each proof once; share it across instances
	}})
	if err != nil {
		log.Fatal(err)
	}
	h := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := bearer.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s", claims.Subject)
	}), "read")

	// The client's proof for GET https://api.example.com/me with the token.
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, &jose.SignerOptions{
		ExtraHeaders: map[jose.HeaderKey]any{"typ": "dpop+jwt", "jwk": jose.JSONWebKey{Key: &key.PublicKey}},
	})
	sum := sha256.Sum256([]byte(token))
	jws, _ := signer.Sign([]byte(`{"jti":"` + rand.Text() + `","htm":"GET","htu":"https://api.example.com/me","iat":` +
		strconv.FormatInt(time.Now().Unix(), 10) + `,"ath":"` + base64.RawURLEncoding.EncodeToString(sum[:]) + `"}`))
	proof, _ := jws.CompactSerialize()

	for _, auth := range []string{"DPoP " + token, "Bearer " + token, ""} {
		r := httptest.NewRequest("GET", "https://api.example.com/me", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
			r.Header.Set("DPoP", proof)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("WWW-Authenticate")+w.Body.String())
	}
	// Output:
	// 200 hello alice
	// 401 Bearer realm="api", error="invalid_token", error_description="a DPoP-bound access token must be presented with the DPoP scheme and a proof", DPoP realm="api", algs="ES256"
	// 401 Bearer realm="api", DPoP realm="api", algs="ES256"
}
