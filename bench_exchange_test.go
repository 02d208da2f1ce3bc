package oauthkit_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// BenchmarkTokenExchange exchanges an opaque access token (RFC 8693) for a
// new one, beside a client_credentials request on the same server in the
// same run: the target is at most twice its cost. The exchange does all a
// client_credentials request does, and finds the subject token in the
// store and asks the policy.
func BenchmarkTokenExchange(b *testing.B) {
	hash, err := oauthkit.HashSecret(benchSecret)
	if err != nil {
		b.Fatal(err)
	}
	store := memory.NewStore(
		&oauthkit.Client{ID: "svc", SecretHash: hash, GrantTypes: []string{oauthkit.GrantTypeClientCredentials}, Scopes: []string{"read"}},
		&oauthkit.Client{ID: "gateway", SecretHash: hash, GrantTypes: []string{grants.GrantTypeTokenExchange}, Scopes: []string{"read"}},
	)
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer: benchIssuer, Clients: store, Codes: store, Tokens: store,
		Resources: []string{"https://api.example.com"},
		Grants: []oauthkit.GrantHandler{grants.ClientCredentials{}, grants.NewTokenExchange(grants.TokenExchangeConfig{
			Policy: func(context.Context, *grants.Exchange) error { return nil },
		})},
	})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.TokenHandler()
	// A user's token to exchange, stored as the token endpoint would.
	if err := store.CreateTokens(b.Context(), &oauthkit.Token{
		ID: oauthkit.HashToken(benchOpaque), Kind: oauthkit.AccessToken, GrantID: "g", ClientID: "web",
		Subject: "alice", Scope: []string{"read"}, ExpiresAt: time.Now().AddDate(1, 0, 0),
	}); err != nil {
		b.Fatal(err)
	}
	form := url.Values{
		"grant_type": {grants.GrantTypeTokenExchange}, "subject_token": {benchOpaque},
		"subject_token_type": {grants.TokenTypeAccessToken}, "resource": {"https://api.example.com"},
	}.Encode()
	b.Run("client_credentials", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			benchPost(b, h, "svc", benchCCForm)
		}
	})
	b.Run("opaque", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			benchPost(b, h, "gateway", form)
		}
	})
}
