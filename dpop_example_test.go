package oauthkit_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// A server with DPoP on binds the tokens of a request that carries a proof
// to the proof's key: token_type DPoP, and the key's thumbprint in the
// token's record (cnf.jkt in introspection and JWT access tokens).
func ExampleDPoPConfig() {
	secretHash, _ := oauthkit.HashSecret("a-long-random-secret-0123456789abcdef")
	store := memory.NewStore(&oauthkit.Client{
		ID: "svc", SecretHash: secretHash,
		GrantTypes: []string{oauthkit.GrantTypeClientCredentials}, Scopes: []string{"read"},
	})
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:  "https://auth.example.com",
		Clients: store, Codes: store, Tokens: store,
		ReplayCache: store, // each proof is accepted once, across instances sharing the store
		Grants:      []oauthkit.GrantHandler{grants.ClientCredentials{}},
		DPoP:        &oauthkit.DPoPConfig{Algorithms: []string{"ES256", "EdDSA"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("dpop_signing_alg_values_supported:", srv.Metadata().DPoPSigningAlgValuesSupported)

	// The client's proof: a JWT signed with its own key, for this request.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, &jose.SignerOptions{
		ExtraHeaders: map[jose.HeaderKey]any{"typ": "dpop+jwt", "jwk": jose.JSONWebKey{Key: &key.PublicKey}},
	})
	jws, _ := signer.Sign([]byte(`{"jti":"` + rand.Text() + `","htm":"POST","htu":"https://auth.example.com/token","iat":` +
		strconv.FormatInt(time.Now().Unix(), 10) + `}`))
	proof, _ := jws.CompactSerialize()

	req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("svc", "a-long-random-secret-0123456789abcdef")
	req.Header.Set("DPoP", proof)
	w := httptest.NewRecorder()
	srv.TokenHandler().ServeHTTP(w, req)
	var resp oauthkit.TokenResponse
	json.Unmarshal(w.Body.Bytes(), &resp)
	tok, _ := srv.ValidateAccessToken(req.Context(), resp.AccessToken)
	fmt.Println("token_type:", resp.TokenType)
	fmt.Println("bound:", tok.JKT != "")

	// The same proof again is a replay.
	req = httptest.NewRequest(http.MethodPost, "/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("svc", "a-long-random-secret-0123456789abcdef")
	req.Header.Set("DPoP", proof)
	w = httptest.NewRecorder()
	srv.TokenHandler().ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// dpop_signing_alg_values_supported: [ES256 EdDSA]
	// token_type: DPoP
	// bound: true
	// 400 {"error":"invalid_dpop_proof","error_description":"DPoP proof replayed (jti used before)"}
}
