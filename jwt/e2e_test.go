package jwt_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/jwt"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// rfc9068Claims are the claims RFC 9068 §2.2 puts in an access token.
type rfc9068Claims struct {
	josejwt.Claims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

// A client gets a JWT access token from oauthkit's token endpoint with
// golang.org/x/oauth2, and a resource server verifies it with go-jose
// against the JWKS it fetched from the server.
func TestEndToEndClientCredentials(t *testing.T) {
	for _, tc := range []struct{ alg, keyFile string }{
		{jwt.ES256, "ec-p256-pkcs8.pem"},
		{jwt.EdDSA, "ed25519-pkcs8.pem"},
		{jwt.RS256, "rsa2048-pkcs8.pem"},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			pemBytes, err := os.ReadFile("testdata/keys/" + tc.keyFile)
			if err != nil {
				t.Fatal(err)
			}
			key, err := jwt.ParsePEM(pemBytes, tc.alg)
			if err != nil {
				t.Fatal(err)
			}
			keys, err := jwt.NewKeySet(key)
			if err != nil {
				t.Fatal(err)
			}

			mux := http.NewServeMux()
			ts := httptest.NewServer(mux)
			defer ts.Close()
			secret, hash, err := oauthkit.GenerateSecret(nil)
			if err != nil {
				t.Fatal(err)
			}
			tokens := memory.NewTokens()
			accessTokens := &jwt.AccessTokens{Keys: keys, DefaultAudience: []string{"https://api.example.com"}}
			srv, err := oauthkit.New(oauthkit.Config{
				Issuer:    ts.URL,
				Endpoints: oauthkit.Endpoints{JWKS: ts.URL + "/jwks"},
				Clients: memory.NewClients(&oauthkit.Client{
					ID: "svc", SecretHash: hash,
					GrantTypes: []string{oauthkit.GrantTypeClientCredentials},
					Scopes:     []string{"read", "write"},
				}),
				Codes:               memory.NewCodes(),
				Tokens:              tokens,
				AccessTokens:        accessTokens,
				AccessTokenLifetime: 10 * time.Minute,
				Grants:              []oauthkit.GrantHandler{grants.ClientCredentials{}},
			})
			if err != nil {
				t.Fatal(err)
			}
			mux.Handle("POST /token", srv.TokenHandler())
			mux.Handle("GET /jwks", keys.JWKSHandler())

			cc := clientcredentials.Config{ClientID: "svc", ClientSecret: secret, TokenURL: ts.URL + "/token", Scopes: []string{"read"}}
			tok, err := cc.Token(t.Context())
			if err != nil {
				t.Fatalf("client credentials request: %v", err)
			}
			if tok.TokenType != "Bearer" {
				t.Errorf("token_type %q", tok.TokenType)
			}

			// The resource server's side: fetch the JWKS, verify with go-jose.
			resp, err := http.Get(ts.URL + "/jwks")
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			var jwks jose.JSONWebKeySet
			if err := json.Unmarshal(body, &jwks); err != nil {
				t.Fatalf("JWKS %s: %v", body, err)
			}
			parsed, err := josejwt.ParseSigned(tok.AccessToken, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(tc.alg)})
			if err != nil {
				t.Fatalf("parsing the access token: %v", err)
			}
			if typ := parsed.Headers[0].ExtraHeaders[jose.HeaderType]; typ != "at+jwt" {
				t.Errorf("typ header %v, want at+jwt", typ)
			}
			var got rfc9068Claims
			if err := parsed.Claims(jwks, &got); err != nil {
				t.Fatalf("go-jose verification against the served JWKS: %v", err)
			}
			now := time.Now()
			if err := got.ValidateWithLeeway(josejwt.Expected{
				Issuer:      ts.URL,
				AnyAudience: josejwt.Audience{"https://api.example.com"},
				Time:        now,
			}, 0); err != nil {
				t.Errorf("claims do not validate: %v", err)
			}
			if d := got.Expiry.Time().Sub(got.IssuedAt.Time()); d != 10*time.Minute {
				t.Errorf("exp - iat = %v, want the configured lifetime", d)
			}
			want := []string{"svc", "svc", "read"}
			if diff := cmp.Diff(want, []string{got.Subject, got.ClientID, got.Scope}); diff != "" {
				t.Errorf("sub, client_id, scope (-want +got):\n%s", diff)
			}
			if got.ID == "" {
				t.Error("no jti")
			}

			// The token is in the store under the ID its verifier finds.
			id, err := accessTokens.VerifyAccessToken(t.Context(), ts.URL, tok.AccessToken, now)
			if err != nil {
				t.Fatalf("VerifyAccessToken: %v", err)
			}
			stored, err := tokens.Token(t.Context(), id, now)
			if err != nil {
				t.Fatalf("the issued token is not stored under its ID: %v", err)
			}
			if stored.Subject != "svc" || !slices.Equal(stored.Scope, []string{"read"}) {
				t.Errorf("stored token %+v", stored)
			}
		})
	}
}
