package oauthkittest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit"
)

// Grant is what Mint issues an access token for.
type Grant struct {
	// ClientID is the registered client the token is issued to. Empty means
	// the Server's Confidential client.
	ClientID string
	// Subject is the resource owner. Empty means none: the token is the
	// client's own, as from the client_credentials grant
	// (oauthkit.Token.SubjectIsClient).
	Subject string
	// Scope is the granted scope, whether or not the client is registered
	// for it.
	Scope []string
	// Audience lists the resource servers the token is for. Nil means the
	// client's Audience (none, for the Server's own clients).
	Audience []string
}

// Mint issues an access token for g without an authorization request, for
// testing a resource server: the token is issued and stored by the
// server's token endpoint as any other (in the configured format, with the
// configured lifetime), but the request is handled in process, never over
// the network. The returned token has no refresh token.
//
// Mint uses an extension grant of its own, which the server's metadata
// lists among grant_types_supported and which refuses every request that
// does not come from Mint.
func (s *Server) Mint(t testing.TB, g Grant) *oauth2.Token {
	t.Helper()
	if g.ClientID == "" {
		g.ClientID = s.Confidential.ID
	}
	form := url.Values{"grant_type": {mintGrantType}, "client_id": {g.ClientID}}
	ctx := context.WithValue(t.Context(), mintKey{}, &g)
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, s.URL+tokenPath, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	s.TokenHandler().ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("oauthkittest: minting a token for client %q: %d %s", g.ClientID, w.Code, strings.TrimSpace(w.Body.String()))
	}
	var raw map[string]any
	var resp oauthkit.TokenResponse
	body := w.Body.Bytes()
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("oauthkittest: reading the minted token: %v", err)
	}
	json.Unmarshal(body, &raw) // cannot fail: the same body decoded above
	tok := &oauth2.Token{
		AccessToken: resp.AccessToken,
		TokenType:   resp.TokenType,
		ExpiresIn:   resp.ExpiresIn,
		// By the wall clock, as golang.org/x/oauth2 sets it.
		Expiry: time.Now().Add(time.Duration(resp.ExpiresIn) * time.Second),
	}
	return tok.WithExtra(raw)
}

// mintGrantType is the grant type of Mint's extension grant: an absolute
// URI (RFC 6749 §4.5) that says where to read about it.
const mintGrantType = "https://pkg.go.dev/github.com/oauthkit/oauthkit/oauthkittest#Server.Mint"

// mintKey is the context key under which Mint passes its *Grant to the
// token endpoint. A request from the network cannot carry it.
type mintKey struct{}

// mintGrant serves Mint's extension grant: it grants what the request's
// context says, and refuses requests whose context says nothing.
type mintGrant struct{}

func (mintGrant) GrantType() string { return mintGrantType }

func (mintGrant) HandleGrant(ctx context.Context, _ *oauthkit.TokenRequest) (*oauthkit.Grant, error) {
	g, ok := ctx.Value(mintKey{}).(*Grant)
	if !ok {
		return nil, oauthkit.ErrUnauthorizedClient.WithDescription("this grant is only for oauthkittest.Server.Mint, in process")
	}
	return &oauthkit.Grant{Subject: g.Subject, Scope: slices.Clone(g.Scope), Audience: slices.Clone(g.Audience)}, nil
}

// mintClients lets Mint's requests through client authentication: for a
// request that comes from Mint, and only for it, a registered client is
// presented as a public client registered for Mint's grant alone, so that
// Mint needs no secret and can issue tokens to any registered client.
// Everything else about the client (its audience, its token format) stays.
type mintClients struct{ oauthkit.ClientStore }

func (m mintClients) Client(ctx context.Context, id string) (*oauthkit.Client, error) {
	c, err := m.ClientStore.Client(ctx, id)
	if err != nil || ctx.Value(mintKey{}) == nil {
		return c, err
	}
	minting := *c
	minting.SecretHash = ""
	minting.AuthMethod = oauthkit.AuthMethodNone
	minting.GrantTypes = []string{mintGrantType}
	return &minting, nil
}
