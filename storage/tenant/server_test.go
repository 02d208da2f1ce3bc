package tenant_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
	"github.com/oauthkit/oauthkit/storage/tenant"
)

const (
	testSecret   = "the web client's secret, the same at every tenant"
	testRedirect = "https://client.example/cb"
)

// tenantServer is one tenant's authorization server on its view of a
// shared store.
type tenantServer struct {
	srv  *oauthkit.Server
	view *tenant.View
	url  string
}

// startTenant runs tenant id's server on its view of shared, with a client
// "web" whose ID and secret every tenant's client shares, and a user who
// consents as subject "alice" at every tenant.
func startTenant(t *testing.T, shared tenant.Store, id string) *tenantServer {
	t.Helper()
	v := view(t, shared, id)
	hash, err := oauthkit.HashSecret(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	err = v.CreateClient(t.Context(), &oauthkit.Client{ID: "web", SecretHash: hash, RedirectURIs: []string{testRedirect},
		GrantTypes: []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken}, Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:  ts.URL + "/" + id,
		Clients: v, Codes: v, Tokens: v, ReplayCache: v,
		Authorizer: oauthkit.AuthorizerFunc(func(http.ResponseWriter, *http.Request, *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
			return &oauthkit.Consent{Subject: "alice", AuthTime: time.Now()}, nil
		}),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/authorize", srv.AuthorizeHandler())
	mux.Handle("/token", srv.TokenHandler())
	return &tenantServer{srv: srv, view: v, url: ts.URL}
}

// oauth2Config is the web client of tenant at, sending its token requests
// to tenant to (the attacker's choice).
func oauth2Config(at, to *tenantServer) *oauth2.Config {
	return &oauth2.Config{ClientID: "web", ClientSecret: testSecret, RedirectURL: testRedirect, Scopes: []string{"read"},
		Endpoint: oauth2.Endpoint{AuthURL: at.url + "/authorize", TokenURL: to.url + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
}

// authorize runs the authorization request at s and returns the code and
// its PKCE verifier.
func authorize(t *testing.T, s *tenantServer) (code, verifier string) {
	t.Helper()
	verifier = oauth2.GenerateVerifier()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(oauth2Config(s, s).AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorization response %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code"), verifier
}

// wantInvalidGrant checks that err is the token endpoint's invalid_grant.
func wantInvalidGrant(t *testing.T, what string, err error) {
	t.Helper()
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); !ok || re.ErrorCode != "invalid_grant" {
		t.Errorf("%s: error = %v, want invalid_grant", what, err)
	}
}

// TestCrossTenantAttacks replays, on one shared memory store, the attacks of
// issue 11 that succeeded with stores shared as they are: tenant a's code,
// refresh token and access token presented to tenant b, whose client has
// the same ID and secret and whose user the same subject. Each is refused,
// and leaves a's artefact working at a. Revoking alice at a leaves alice at
// b alone.
func TestCrossTenantAttacks(t *testing.T) {
	shared := memory.NewStore()
	a, b := startTenant(t, shared, "a"), startTenant(t, shared, "b")
	ctx := t.Context()

	code, verifier := authorize(t, a)
	_, err := oauth2Config(a, b).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	wantInvalidGrant(t, "a's code at b", err)
	tok, err := oauth2Config(a, a).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("a's code at a, after b refused it: %v", err)
	}

	_, err = oauth2Config(a, b).TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	wantInvalidGrant(t, "a's refresh token at b", err)

	if _, err := b.srv.ValidateAccessToken(ctx, tok.AccessToken); !errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("a's access token at b: error = %v, want ErrNotFound", err)
	}
	if got, err := a.srv.ValidateAccessToken(ctx, tok.AccessToken); err != nil || got.Subject != "alice" || got.ClientID != "web" {
		t.Errorf("a's access token at a = %+v, %v; want alice's, of web", got, err)
	}

	refreshed, err := oauth2Config(a, a).TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("a's refresh token at a, after b refused it: %v", err)
	}

	// alice at b, then alice revoked at a.
	code, verifier = authorize(t, b)
	atB, err := oauth2Config(b, b).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.view.RevokeSubject(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	_, err = oauth2Config(a, a).TokenSource(ctx, &oauth2.Token{RefreshToken: refreshed.RefreshToken}).Token()
	wantInvalidGrant(t, "a's refresh token at a, after a revoked alice", err)
	if _, err := oauth2Config(b, b).TokenSource(ctx, &oauth2.Token{RefreshToken: atB.RefreshToken}).Token(); err != nil {
		t.Errorf("b's refresh token at b, after a revoked its own alice: %v", err)
	}
}
