package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"
)

// TestBrowser runs the login and consent pages in a real browser, Debian's
// chromium driven by chromedp: sign in, approve, and the client's redirect
// URI (a second server) receives the code, which x/oauth2 exchanges; then
// deny, and the client receives access_denied.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not found on PATH; install it (apt-get install chromium) to run the browser test")
	}

	// The client: its redirect URI records what the browser brings.
	responses := make(chan url.Values, 8)
	client := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cb" {
			http.NotFound(w, r)
			return
		}
		select {
		case responses <- r.URL.Query():
		default:
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!DOCTYPE html><title>client</title><p>back at the client</p>")
	}))
	t.Cleanup(client.Close)

	// The demo client "web" is registered with the test client's redirect
	// URI: web is a confidential client, whose loopback redirect URIs match
	// exactly, port included (the any-port rule of RFC 8252 §7.3 is for
	// native apps, which are public clients).
	cfg := demoConfig()
	cfg.Clients[0].RedirectURIs = []string{client.URL + "/cb"}
	ts := startServer(t, cfg, false)
	t.Cleanup(ts.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)

	conf := oauthConfig(ts, "web", "s3cret", "openid", "read")
	conf.RedirectURL = client.URL + "/cb"

	// wait returns the next authorization response the client received.
	wait := func(t *testing.T) url.Values {
		t.Helper()
		select {
		case q := <-responses:
			return q
		case <-time.After(10 * time.Second):
			t.Fatal("the client received no authorization response in 10s (a CSP form-action that blocks the redirect does this)")
			return nil
		}
	}

	t.Run("sign in and approve", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		authURL := conf.AuthCodeURL("browser-state", oauth2.S256ChallengeOption(verifier))
		if err := chromedp.Do(browser,
			chromedp.Navigate(authURL),
			chromedp.WaitVisible(chromedp.ID("username")),
		); err != nil {
			t.Fatalf("opening the login page: %v", err)
		}
		// The inline style sheet applies: the CSP hash is right.
		width, err := chromedp.Run(browser, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("main")).maxWidth`))
		if err != nil || width != "416px" {
			t.Errorf("main max-width = %q (%v), want 416px: the style sheet was blocked", width, err)
		}
		if err := chromedp.Do(browser,
			chromedp.SendKeys(chromedp.ID("username"), "alice"),
			chromedp.SendKeys(chromedp.ID("password"), "wonderland"),
		); err != nil {
			t.Fatalf("filling the login form: %v", err)
		}
		if _, err := chromedp.RunResponse(browser, chromedp.Click(chromedp.CSS(`button[value="login"]`))); err != nil {
			t.Fatalf("signing in: %v", err)
		}
		text, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS("main")))
		if err != nil {
			t.Fatalf("reading the consent page: %v", err)
		}
		for _, want := range []string{"Signed in as alice", "web", "openid", "read"} {
			if !strings.Contains(text, want) {
				t.Errorf("the consent page does not show %q:\n%s", want, text)
			}
		}
		if err := chromedp.Do(browser, chromedp.Click(chromedp.CSS(`button[value="approve"]`))); err != nil {
			t.Fatalf("approving: %v", err)
		}
		q := wait(t)
		if q.Get("state") != "browser-state" || q.Get("iss") != ts.issuer || q.Get("code") == "" {
			t.Fatalf("the client received %v, want a code with state and iss", q)
		}
		tok, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		if tok.AccessToken == "" || tok.RefreshToken == "" {
			t.Errorf("token = %+v, want access and refresh tokens", tok)
		}
	})

	t.Run("demo client ends on the callback page", func(t *testing.T) {
		// spa keeps its demo redirect URI, the example's callback page:
		// the browser lands there, and the page shows the code and a
		// command for it.
		spa := oauthConfig(ts, "spa", "", "read")
		verifier := oauth2.GenerateVerifier()
		if err := chromedp.Do(browser,
			chromedp.Navigate(spa.AuthCodeURL("spa-state", oauth2.S256ChallengeOption(verifier))),
			chromedp.WaitVisible(chromedp.CSS(`button[value="approve"]`)),
		); err != nil {
			t.Fatalf("opening the consent page: %v", err)
		}
		if _, err := chromedp.RunResponse(browser, chromedp.Click(chromedp.CSS(`button[value="approve"]`))); err != nil {
			t.Fatalf("approving: %v", err)
		}
		code, err := chromedp.Run(browser, chromedp.Text(chromedp.ID("code")))
		if err != nil {
			t.Fatalf("reading the code on the callback page: %v", err)
		}
		command, err := chromedp.Run(browser, chromedp.Text(chromedp.ID("command")))
		if err != nil || !strings.Contains(command, "code="+code) || !strings.Contains(command, "client_id=spa") {
			t.Errorf("the callback page's command %q (%v) does not redeem the code %q as spa", command, err, code)
		}
		tok, err := spa.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
		if err != nil || tok.AccessToken == "" {
			t.Fatalf("Exchange of the code shown on the callback page: %v", err)
		}
	})

	t.Run("deny", func(t *testing.T) {
		// Signed in already; a scope not yet approved brings the consent
		// page back.
		deny := oauthConfig(ts, "web", "s3cret", "write")
		deny.RedirectURL = client.URL + "/cb"
		authURL := deny.AuthCodeURL("deny-state", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
		if err := chromedp.Do(browser,
			chromedp.Navigate(authURL),
			chromedp.WaitVisible(chromedp.CSS(`button[value="deny"]`)),
			chromedp.Click(chromedp.CSS(`button[value="deny"]`)),
		); err != nil {
			t.Fatalf("denying: %v", err)
		}
		q := wait(t)
		if q.Get("error") != "access_denied" || q.Get("state") != "deny-state" || q.Has("code") {
			t.Errorf("the client received %v, want error=access_denied with the state and no code", q)
		}
	})
}

// TestBrowserDevice runs the device flow's verification page in the real
// browser: x/oauth2's DeviceAuth starts it, the browser opens
// verification_uri_complete (the code filled in), continues, signs in and
// approves, and DeviceAccessToken, polling meanwhile, gets a token.
func TestBrowserDevice(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not found on PATH; install it (apt-get install chromium) to run the browser test")
	}
	ts := startServer(t, deviceConfig(), false)
	t.Cleanup(ts.Close)
	conf := deviceClient(t, ts)
	ctx := clientContext(t.Context(), ts)
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	type result struct {
		tok *oauth2.Token
		err error
	}
	polled := make(chan result, 1)
	go func() {
		tok, err := conf.DeviceAccessToken(ctx, da)
		polled <- result{tok, err}
	}()

	bctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(bctx,
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)

	if err := chromedp.Do(browser,
		chromedp.Navigate(da.VerificationURIComplete),
		chromedp.WaitVisible(chromedp.ID("user_code")),
	); err != nil {
		t.Fatalf("opening the verification page: %v", err)
	}
	code, err := chromedp.Run(browser, chromedp.Value(chromedp.ID("user_code")))
	if err != nil || code != da.UserCode {
		t.Fatalf("the verification page's user_code is %q (%v), want %q filled in", code, err, da.UserCode)
	}
	if _, err := chromedp.RunResponse(browser, chromedp.Click(chromedp.CSS(`button[value="continue"]`))); err != nil {
		t.Fatalf("continuing: %v", err)
	}
	if err := chromedp.Do(browser,
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "wonderland"),
	); err != nil {
		t.Fatalf("filling the login form: %v", err)
	}
	if _, err := chromedp.RunResponse(browser, chromedp.Click(chromedp.CSS(`button[value="login"]`))); err != nil {
		t.Fatalf("signing in: %v", err)
	}
	text, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatalf("reading the consent page: %v", err)
	}
	for _, want := range []string{"Signed in as alice", "Demo TV", da.UserCode} {
		if !strings.Contains(text, want) {
			t.Errorf("the consent page does not show %q:\n%s", want, text)
		}
	}
	if _, err := chromedp.RunResponse(browser, chromedp.Click(chromedp.CSS(`button[value="approve"]`))); err != nil {
		t.Fatalf("approving: %v", err)
	}
	if text, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS("main"))); err != nil || !strings.Contains(text, "Device connected") {
		t.Errorf("after approving: %q (%v)", text, err)
	}
	select {
	case r := <-polled:
		if r.err != nil || r.tok.AccessToken == "" {
			t.Fatalf("DeviceAccessToken: %v", r.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the device got no token within 15s of the approval")
	}
}
