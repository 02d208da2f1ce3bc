package oauthkittest

import (
	"context"
	"net/http"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauthkit/oauthkit/pkce"
)

// OAuth2Config returns the golang.org/x/oauth2 configuration of client c
// at this server, asking for scopes: for a host's own client code, or to
// drive a flow step by step. A client without a secret sends its client_id
// in the request body; one with a secret authenticates with HTTP Basic.
func (s *Server) OAuth2Config(c Client, scopes ...string) *oauth2.Config {
	style := oauth2.AuthStyleInHeader
	if c.Secret == "" {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID:     c.ID,
		ClientSecret: c.Secret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   s.URL + authorizationPath,
			TokenURL:  s.URL + tokenPath,
			AuthStyle: style,
		},
		RedirectURL: c.RedirectURI,
		Scopes:      scopes,
	}
}

// AuthorizationCode runs the authorization code flow with PKCE for client c
// through the server's authorization and token endpoints, as the client
// would with golang.org/x/oauth2, and returns the tokens. The authorization
// request asks for scopes (none: the client's default scopes) and is sent
// where a browser would send it, without following the redirect to the
// client. The Authorizer must answer it at once, as Approve and Deny do;
// a refusal, or a page shown instead, is reported with t.Fatal.
func (s *Server) AuthorizationCode(t testing.TB, c Client, scopes ...string) *oauth2.Token {
	t.Helper()
	cfg := s.OAuth2Config(c, scopes...)
	verifier, err := pkce.GenerateVerifier(s.rand)
	if err != nil {
		t.Fatalf("oauthkittest: %v", err)
	}
	state, err := pkce.GenerateVerifier(s.rand) // any unguessable string
	if err != nil {
		t.Fatalf("oauthkittest: %v", err)
	}
	browser := *s.HTTPServer.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, authURL, nil)
	if err != nil {
		t.Fatalf("oauthkittest: %v", err)
	}
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatalf("oauthkittest: authorization request: %v", err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("oauthkittest: the authorization endpoint answered %s, not a redirect to the client (does the Authorizer show a page?)", resp.Status)
	}
	q := loc.Query()
	switch {
	case q.Has("error"):
		t.Fatalf("oauthkittest: authorization request refused: %s: %s", q.Get("error"), q.Get("error_description"))
	case q.Get("code") == "":
		t.Fatalf("oauthkittest: the authorization endpoint redirected to %s, with no code", loc.Redacted())
	case q.Get("state") != state || q.Get("iss") != s.URL:
		t.Fatalf("oauthkittest: the authorization response has state %q and iss %q, want %q and %q", q.Get("state"), q.Get("iss"), state, s.URL)
	}
	tok, err := cfg.Exchange(s.context(t), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("oauthkittest: exchanging the code: %v", err)
	}
	return tok
}

// ClientCredentials gets a token for client c itself with the
// client_credentials grant, through the token endpoint, with
// golang.org/x/oauth2/clientcredentials. No scopes means the client's
// default scopes.
func (s *Server) ClientCredentials(t testing.TB, c Client, scopes ...string) *oauth2.Token {
	t.Helper()
	cfg := clientcredentials.Config{
		ClientID:     c.ID,
		ClientSecret: c.Secret,
		TokenURL:     s.URL + tokenPath,
		Scopes:       scopes,
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	tok, err := cfg.Token(s.context(t))
	if err != nil {
		t.Fatalf("oauthkittest: client_credentials: %v", err)
	}
	return tok
}

// Refresh exchanges tok's refresh token, issued to client c, for new tokens
// through the token endpoint, with golang.org/x/oauth2. The server rotates
// refresh tokens: tok's is used up.
func (s *Server) Refresh(t testing.TB, c Client, tok *oauth2.Token) *oauth2.Token {
	t.Helper()
	if tok == nil || tok.RefreshToken == "" {
		t.Fatalf("oauthkittest: Refresh needs a token with a refresh token")
	}
	// Without an access token the token source must refresh.
	src := s.OAuth2Config(c).TokenSource(s.context(t), &oauth2.Token{RefreshToken: tok.RefreshToken})
	next, err := src.Token()
	if err != nil {
		t.Fatalf("oauthkittest: refreshing: %v", err)
	}
	return next
}

// context returns t's context, carrying the HTTP client that golang.org/x/oauth2
// uses to reach the server.
func (s *Server) context(t testing.TB) context.Context {
	return context.WithValue(t.Context(), oauth2.HTTPClient, s.HTTPServer.Client())
}
