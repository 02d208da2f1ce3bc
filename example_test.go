package oauthkit_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// This is the whole wiring of an authorization server into an existing
// net/http app: stores, the host's login, the handlers on the host's mux.
// examples/minimal is the same as a complete, tested program.
func Example() {
	secretHash, _ := oauthkit.HashLowEntropySecret("s3cret")
	store := memory.NewStore(&oauthkit.Client{
		ID:           "web",
		SecretHash:   secretHash,
		RedirectURIs: []string{"https://app.example.com/callback"},
		GrantTypes:   []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken},
		Scopes:       []string{"read", "write"},
	})

	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:  "https://auth.example.com",
		Clients: store,
		Codes:   store,
		Tokens:  store,
		// The host's own login: here, a signed-in user from a session cookie.
		Authorizer: oauthkit.AuthorizerFunc(func(w http.ResponseWriter, r *http.Request, req *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
			user, ok := currentUser(r)
			switch {
			case ok:
				return &oauthkit.Consent{Subject: user, AuthTime: time.Now()}, nil
			case slices.Contains(strings.Fields(req.Params.Get("prompt")), "none"):
				return nil, oauthkit.ErrLoginRequired // no page when the client asked for none
			default:
				// The login page must return only to /authorize: an
				// unchecked next would make it an open redirector.
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
				return nil, oauthkit.ErrResponseWritten
			}
		}),
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux() // the host's existing mux
	mux.Handle("/authorize", srv.AuthorizeHandler())
	mux.Handle("POST /token", srv.TokenHandler())
	mux.Handle("GET /.well-known/oauth-authorization-server", srv.MetadataHandler())
	// log.Fatal(http.ListenAndServe(":8080", mux))
}

// currentUser stands for the host's session lookup.
func currentUser(r *http.Request) (string, bool) {
	c, err := r.Cookie("session")
	if err != nil {
		return "", false
	}
	return c.Value, true
}

// fixedRand is a deterministic randomness source, so that the example's
// output is stable. Real servers leave Config.Rand nil.
type fixedRand struct{ b byte }

func (f *fixedRand) Read(p []byte) (int, error) {
	for i := range p {
		f.b++
		p[i] = f.b
	}
	return len(p), nil
}

// A client_credentials request through the token handler, with a fixed clock
// and randomness.
func ExampleServer_TokenHandler() {
	secret := "generated-secret-with-at-least-32-characters"
	hash, _ := oauthkit.HashSecret(secret)
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer: "https://auth.example.com",
		Clients: memory.NewClients(&oauthkit.Client{
			ID: "svc", SecretHash: hash,
			GrantTypes: []string{oauthkit.GrantTypeClientCredentials},
			Scopes:     []string{"read", "write"},
		}),
		Codes:  memory.NewCodes(),
		Tokens: memory.NewTokens(),
		Grants: []oauthkit.GrantHandler{grants.ClientCredentials{}},
		Now:    func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
		Rand:   &fixedRand{},
	})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(srv.TokenHandler())
	defer ts.Close()

	req, _ := http.NewRequest("POST", ts.URL, strings.NewReader("grant_type=client_credentials&scope=read"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("svc", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, resp.Header.Get("Cache-Control"))
	fmt.Println(string(body))
	// Output:
	// 200 OK no-store
	// {"access_token":"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA","token_type":"Bearer","expires_in":3600,"scope":"read"}
}

// Pushed authorization requests (RFC 9126): a client posts its
// authorization request, authenticated, and sends the browser to the
// authorization endpoint with only client_id and the request_uri it got
// back, usable once.
func ExampleServer_PushedAuthorizationHandler() {
	store := memory.NewStore(&oauthkit.Client{
		ID:           "spa",
		RedirectURIs: []string{"https://spa.example.com/cb"},
		GrantTypes:   []string{oauthkit.GrantTypeAuthorizationCode},
		Scopes:       []string{"read"},
	})
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:  "https://auth.example.com",
		Clients: store, Codes: store, Tokens: store,
		PAR: &oauthkit.PARConfig{Store: store}, // memory.Store keeps pushed requests too
		Authorizer: oauthkit.AuthorizerFunc(func(http.ResponseWriter, *http.Request, *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
			return &oauthkit.Consent{Subject: "alice"}, nil
		}),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(srv.Metadata().PushedAuthorizationRequestEndpoint)

	push := url.Values{
		"client_id": {"spa"}, "response_type": {"code"}, "scope": {"read"}, "state": {"af0ifjsldkj"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
	}
	r := httptest.NewRequest(http.MethodPost, "/par", strings.NewReader(push.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	srv.PushedAuthorizationHandler().ServeHTTP(w, r)
	var pushed struct {
		RequestURI string `json:"request_uri"`
		ExpiresIn  int    `json:"expires_in"`
	}
	json.Unmarshal(w.Body.Bytes(), &pushed)
	fmt.Println(w.Code, strings.HasPrefix(pushed.RequestURI, oauthkit.RequestURIPrefix), pushed.ExpiresIn)

	for range 2 {
		r = httptest.NewRequest(http.MethodGet, "/authorize?"+url.Values{"client_id": {"spa"}, "request_uri": {pushed.RequestURI}}.Encode(), nil)
		w = httptest.NewRecorder()
		srv.AuthorizeHandler().ServeHTTP(w, r)
		if loc, _ := url.Parse(w.Header().Get("Location")); loc.Query().Has("code") {
			fmt.Println(w.Code, "code for state", loc.Query().Get("state"))
		} else {
			fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
		}
	}
	// Output:
	// https://auth.example.com/par
	// 201 true 60
	// 302 code for state af0ifjsldkj
	// 400 invalid_request_uri: request_uri is unknown, expired or used
}
