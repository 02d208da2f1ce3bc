package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit"
)

// testApp runs the app on an httptest server and returns it with the demo
// client's configuration and a browser: an HTTP client with cookies that
// stops at the client's redirect URI, where nothing listens.
func testApp(t *testing.T) (*httptest.Server, *oauth2.Config, *http.Client) {
	t.Helper()
	secret, hash, err := oauthkit.GenerateSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	var app http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { app.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	if app, err = newApp(ts.URL, hash); err != nil {
		t.Fatal(err)
	}
	conf := &oauth2.Config{
		ClientID: "web", ClientSecret: secret, RedirectURL: redirectURI, Scopes: []string{"read"},
		Endpoint: oauth2.Endpoint{AuthURL: ts.URL + "/authorize", TokenURL: ts.URL + "/token"},
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirectURI) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return ts, conf, browser
}

// callback returns the parameters of the response that reached the client.
func callback(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirectURI) {
		t.Fatalf("status %d, Location %q: want a redirect to the client", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}

// TestCodeFlow signs in through the login page and runs the code flow with
// PKCE and a refresh, with golang.org/x/oauth2 as the client.
func TestCodeFlow(t *testing.T) {
	ts, conf, browser := testApp(t)
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, ts.Client())
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier))

	resp, err := browser.Get(authURL) // no session: to the login page
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login" {
		t.Fatalf("authorization request ended at %s with %d, want the login page", resp.Request.URL, resp.StatusCode)
	}
	next := resp.Request.URL.Query().Get("next")

	// A wrong password shows the form again and signs no one in.
	resp, err = browser.PostForm(ts.URL+"/login", url.Values{"username": {"alice"}, "password": {"wrong"}, "next": {next}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login" {
		t.Fatalf("wrong password: ended at %s with %d, want the login page again", resp.Request.URL, resp.StatusCode)
	}

	resp, err = browser.PostForm(ts.URL+"/login", url.Values{"username": {"alice"}, "password": {"wonderland"}, "next": {next}})
	if err != nil {
		t.Fatal(err)
	}
	params := callback(t, resp)
	if params.Get("state") != "st" || params.Get("code") == "" {
		t.Fatalf("callback parameters %v, want a code and state st", params)
	}
	tok, err := conf.Exchange(ctx, params.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	tok.Expiry = tok.Expiry.Add(-2 * 3600e9) // force a refresh
	next2, err := conf.TokenSource(ctx, tok).Token()
	if err != nil || next2.AccessToken == tok.AccessToken || next2.RefreshToken == "" {
		t.Fatalf("refresh: %v (same token: %t)", err, next2 != nil && next2.AccessToken == tok.AccessToken)
	}
}

// TestPromptNone checks that a client asking for no interaction is told
// login_required, not shown a login page, when no one is signed in.
func TestPromptNone(t *testing.T) {
	_, conf, browser := testApp(t)
	resp, err := browser.Get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none")))
	if err != nil {
		t.Fatal(err)
	}
	if got := callback(t, resp).Get("error"); got != "login_required" {
		t.Errorf("error %q, want login_required", got)
	}
}

// TestLoginRefusesForeignNext checks that the login page returns only to
// the authorization endpoint: it is no open redirector.
func TestLoginRefusesForeignNext(t *testing.T) {
	ts, _, browser := testApp(t)
	for _, next := range []string{"https://evil.example/", "//evil.example/authorize", "/\\evil.example", "/other", "", "https://evil.example/authorize"} {
		resp, err := browser.PostForm(ts.URL+"/login", url.Values{"username": {"alice"}, "password": {"wonderland"}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("login with next %q: status %d at %s, want 400", next, resp.StatusCode, resp.Request.URL)
		}
	}
	if !safeNext("/authorize?client_id=web") {
		t.Error("safeNext refuses the authorization endpoint")
	}
}

// TestVerifyPasswordUnknownUser checks that an unknown user is refused even
// with the demo user's password.
func TestVerifyPasswordUnknownUser(t *testing.T) {
	ok, err := verifyPassword(t.Context(), "mallory", "wonderland")
	if ok || err != nil {
		t.Errorf("verifyPassword(mallory) = %t, %v; want false, nil", ok, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	// A request abandoned by its client does no hashing.
	if ok, err := verifyPassword(ctx, "alice", "wonderland"); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("verifyPassword with an ended context = %t, %v; want false, context.Canceled", ok, err)
	}
}

// TestREADME checks that the Go lines of the README's "Wiring" section are
// lines of this program, in order (a line "// …" stands for lines left out),
// so that what the README shows compiles and runs.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Skipf("no README: %v", err)
	}
	_, section, _ := strings.Cut(string(readme), "\n## Wiring\n")
	_, block, found := strings.Cut(section, "```go\n")
	block, _, closed := strings.Cut(block, "```")
	if !found || !closed {
		t.Fatal(`the README's "Wiring" section has no Go block`)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	at := 0
	for _, want := range strings.Split(block, "\n") {
		want = strings.TrimSpace(want)
		if want == "" || want == "// …" {
			continue
		}
		for at < len(lines) && strings.TrimSpace(lines[at]) != want {
			at++
		}
		if at == len(lines) {
			t.Fatalf("README line %q is not in main.go (after the lines before it)", want)
		}
		at++
	}
}
