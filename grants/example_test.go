package grants_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// A gateway exchanges a user's access token for one that an internal
// service accepts (RFC 8693), the policy allowing exactly that.
func ExampleNewTokenExchange() {
	hash, err := oauthkit.HashSecret("gateway-secret-of-at-least-32-characters")
	if err != nil {
		log.Fatal(err)
	}
	store := memory.NewStore(&oauthkit.Client{ID: "gateway", SecretHash: hash,
		GrantTypes: []string{grants.GrantTypeTokenExchange}, Scopes: []string{"orders:read"}})
	exchange := grants.NewTokenExchange(grants.TokenExchangeConfig{
		Policy: func(_ context.Context, x *grants.Exchange) error {
			if x.Client.ID != "gateway" || len(x.Resources) != 1 || x.Resources[0] != "https://orders.internal" {
				return oauthkit.ErrInvalidTarget.WithDescription("not an exchange this client may make")
			}
			return nil
		},
	})
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:  "https://auth.example.com",
		Clients: store, Codes: store, Tokens: store,
		Resources: []string{"https://orders.internal"},
		Grants:    []oauthkit.GrantHandler{exchange},
	})
	if err != nil {
		log.Fatal(err)
	}
	// The user's token, as the token endpoint stored it earlier.
	userToken := "ZpQx9wY3mK7vN2bL5cR8tH1jF4gD6sA0eU3iO7yT5w"
	store.CreateTokens(context.Background(), &oauthkit.Token{
		ID: oauthkit.HashToken(userToken), Kind: oauthkit.AccessToken, GrantID: "g1", ClientID: "web",
		Subject: "alice", Scope: []string{"orders:read"}, ExpiresAt: time.Now().Add(time.Hour),
	})

	form := url.Values{
		"grant_type":         {grants.GrantTypeTokenExchange},
		"subject_token":      {userToken},
		"subject_token_type": {grants.TokenTypeAccessToken},
		"resource":           {"https://orders.internal"},
	}
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("gateway", "gateway-secret-of-at-least-32-characters")
	w := httptest.NewRecorder()
	srv.TokenHandler().ServeHTTP(w, r)

	var resp map[string]any
	json.Unmarshal(w.Body.Bytes(), &resp)
	fmt.Println(w.Code, resp["token_type"], resp["issued_token_type"], resp["scope"])
	// Output: 200 Bearer urn:ietf:params:oauth:token-type:access_token orders:read
}
