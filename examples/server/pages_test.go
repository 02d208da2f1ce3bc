package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit"
)

// recorderAgent drives an app in process, with httptest.ResponseRecorder: a
// browser that keeps its cookies and can send a request with a context of
// the test's choosing (one already cancelled: a browser that has gone).
type recorderAgent struct {
	t       *testing.T
	app     *app
	cookies map[string]*http.Cookie
}

func newRecorderAgent(t *testing.T, a *app) *recorderAgent {
	return &recorderAgent{t: t, app: a, cookies: make(map[string]*http.Cookie)}
}

// serve sends req with the agent's cookies, keeps the cookies of the
// response, and returns the response as a page.
func (ra *recorderAgent) serve(req *http.Request) *page {
	ra.t.Helper()
	for _, c := range ra.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	ra.app.ServeHTTP(rec, req)
	resp := rec.Result()
	for _, c := range resp.Cookies() {
		ra.cookies[c.Name] = c
	}
	body, _ := io.ReadAll(resp.Body)
	p := &page{status: resp.StatusCode, header: resp.Header, body: string(body)}
	if loc, err := resp.Location(); err == nil {
		p.location = loc
	}
	return p
}

func (ra *recorderAgent) get(u string) *page {
	ra.t.Helper()
	return ra.serve(httptest.NewRequest(http.MethodGet, u, nil))
}

// postForm submits form to the authorization endpoint with ctx.
func (ra *recorderAgent) postForm(ctx context.Context, form url.Values) *page {
	ra.t.Helper()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, ra.app.issuer+pathAuthorize, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return ra.serve(req)
}

// loginForm returns the login form's fields, filled in for username and
// password with the login button pressed.
func loginForm(t *testing.T, p *page, username, password string) url.Values {
	t.Helper()
	if !strings.Contains(p.body, `name="password"`) {
		t.Fatalf("want the login page, got status %d:\n%s", p.status, p.body)
	}
	form := parseForm(t, p).fields
	form.Set(fieldUsername, username)
	form.Set(fieldPassword, password)
	form.Set(fieldAction, actionLogin)
	return form
}

// sessionCount returns the number of sessions the pages hold.
func (p *pages) sessionCount() int {
	p.sessions.mu.Lock()
	defer p.sessions.mu.Unlock()
	return len(p.sessions.byID)
}

// A password that cannot be checked (the verifier is overloaded, or the
// browser has gone) is never answered as a wrong password nor as a server
// error: an overloaded verifier gets the login page again with 503 and
// Retry-After, an abandoned request nothing at all; neither signs anyone in
// or logs an error.
func TestLoginPasswordNotChecked(t *testing.T) {
	tests := []struct {
		name string
		// busy makes the password check fail as oauthkit.VerifySecret
		// does with a full queue (busyVerify).
		busy bool
		// cancel cancels the POST's context before it is served, as when
		// the browser closes the connection; the real password check
		// (with its real VerifySecret) runs.
		cancel bool
		// wantStatus, wantRetryAfter and wantText describe the answer;
		// wantNothing says no page, cookie or redirect is written.
		wantStatus     int
		wantRetryAfter string
		wantText       string
		wantNothing    bool
	}{
		{name: "verifier overloaded", busy: true, wantStatus: http.StatusServiceUnavailable, wantRetryAfter: "2", wantText: msgBusy},
		{name: "request abandoned", cancel: true, wantNothing: true},
		{name: "control: wrong password", wantStatus: http.StatusOK, wantText: msgWrongPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
			cfg := demoConfig()
			cfg.Issuer = "http://127.0.0.1:9000"
			a, err := newApp(t.Context(), cfg, nil, logger)
			if err != nil {
				t.Fatal(err)
			}
			var busy atomic.Bool
			busy.Store(tt.busy)
			a.pages.users.(*userStore).verify = func(ctx context.Context, hash, secret string) (bool, error) {
				if busy.Load() {
					return busyVerify(ctx, hash, secret)
				}
				return oauthkit.VerifySecret(ctx, hash, secret)
			}

			ra := newRecorderAgent(t, a)
			conf := &oauth2.Config{
				ClientID: "web", Scopes: []string{"read"}, RedirectURL: callbackURI(a.issuer, "web"),
				Endpoint: oauth2.Endpoint{AuthURL: a.issuer + pathAuthorize},
			}
			login := ra.get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
			password := "wonderland"
			if !tt.busy && !tt.cancel {
				password = "not-wonderland"
			}
			form := loginForm(t, login, "alice", password)
			cookiesBefore := len(ra.cookies)

			ctx, cancel := context.WithCancel(t.Context())
			if tt.cancel {
				cancel()
			}
			defer cancel()
			p := ra.postForm(ctx, form)

			if n := a.pages.sessionCount(); n != 0 {
				t.Errorf("%d sessions after the sign-in, want none", n)
			}
			if _, ok := ra.cookies[a.pages.sessionCookieName()]; ok {
				t.Errorf("a session cookie was set")
			}
			if got := logs.String(); got != "" {
				t.Errorf("logged at warning level or above:\n%s", got)
			}
			if p.location != nil {
				t.Errorf("redirected to %s, want no redirect to the client", p.location)
			}
			if tt.wantNothing {
				if p.body != "" || len(ra.cookies) != cookiesBefore || p.header.Get("Set-Cookie") != "" {
					t.Errorf("wrote a response (status %d, headers %v):\n%s", p.status, p.header, p.body)
				}
				return
			}
			if p.status != tt.wantStatus || !strings.Contains(p.body, `name="password"`) {
				t.Fatalf("status %d, want the login page with %d:\n%s", p.status, tt.wantStatus, p.body)
			}
			if got := p.header.Get("Retry-After"); got != tt.wantRetryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetryAfter)
			}
			if !strings.Contains(p.body, tt.wantText) {
				t.Errorf("the page does not say %q:\n%s", tt.wantText, p.body)
			}
			if tt.busy && strings.Contains(p.body, msgWrongPassword) {
				t.Errorf("an unchecked password is called wrong")
			}
			if !strings.Contains(p.body, `value="alice"`) || strings.Contains(p.body, password) {
				t.Errorf("the page should keep the username and never repeat the password:\n%s", p.body)
			}
			checkPageHeaders(t, p, "'self' "+a.issuer)

			// Once the checks are no longer queued, the same form signs in.
			busy.Store(false)
			if p := ra.postForm(t.Context(), loginForm(t, p, "alice", "wonderland")); !isConsentPage(p) {
				t.Errorf("resubmitting the form: status %d, want the consent page:\n%s", p.status, p.body)
			}
		})
	}
}

// A CSRF token is bound to the authorization request it was shown with: a
// token from the consent page of client A, scopes X and redirect URI R
// approves that request only, not another client, more, fewer or other
// scopes, or another redirect URI, even in the same browser and session
// (issue 7, item 14).
func TestCSRFBoundToRequest(t *testing.T) {
	const cb, other = "http://127.0.0.1:9999/cb", "http://127.0.0.1:9999/other"
	cfg := demoConfig()
	// web gets a second redirect URI; spa may ask for web's scopes, at
	// web's first redirect URI.
	cfg.Clients[0].RedirectURIs = []string{cb, other}
	cfg.Clients[1].RedirectURIs = []string{cb}
	cfg.Clients[1].Scopes = []string{"read", "write"}
	ts := startServer(t, cfg, false)
	t.Cleanup(ts.Close)

	ua := newUserAgent(t, ts)
	challenge := oauth2.S256ChallengeOption(oauth2.GenerateVerifier())
	authURL := func(clientID, redirect string, scopes ...string) string {
		conf := oauthConfig(ts, clientID, "", scopes...)
		conf.RedirectURL = redirect
		return conf.AuthCodeURL("st", challenge)
	}
	// consentPage shows the consent page of u; no consent is remembered
	// until the last step, so that every request here shows it.
	consentPage := func(t *testing.T, u string) *page {
		t.Helper()
		p := ua.get(u)
		if !isConsentPage(p) {
			t.Fatalf("status %d, want the consent page:\n%s", p.status, p.body)
		}
		return p
	}

	// Signed in, then shown A's consent page: web, read write, cb.
	urlA := authURL("web", cb, "read", "write")
	if p := ua.login(ua.get(urlA), "alice", "wonderland"); !isConsentPage(p) {
		t.Fatalf("status %d, want the consent page", p.status)
	}
	tokenA := parseForm(t, consentPage(t, urlA)).fields.Get(fieldCSRF)

	tests := []struct {
		name string
		url  string                // the request whose consent page is submitted with tokenA
		edit func(form url.Values) // edits the page's hidden fields; nil for none
	}{
		{name: "another client", url: authURL("spa", cb, "read", "write")},
		{name: "more scopes", url: authURL("web", cb, "read", "write", "profile")},
		{name: "fewer scopes", url: authURL("web", cb, "read")},
		{name: "other scopes", url: authURL("web", cb, "profile")},
		{name: "another redirect URI", url: authURL("web", other, "read", "write")},
		{name: "A's form for another client", url: urlA, edit: func(f url.Values) { f.Set("client_id", "spa") }},
		{name: "A's form for more scopes", url: urlA, edit: func(f url.Values) { f.Set("scope", "read write profile") }},
		{name: "A's form for another redirect URI", url: urlA, edit: func(f url.Values) { f.Set("redirect_uri", other) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := consentPage(t, tt.url)
			f := parseForm(t, page)
			if tt.edit != nil {
				tt.edit(f.fields)
			}
			f.fields.Set(fieldCSRF, tokenA)
			got := ua.submit(ts.issuer, f, actionApprove, nil)
			if got.status != http.StatusForbidden || !strings.Contains(got.body, "This form was not accepted") {
				t.Errorf("status %d, want the 403 page:\n%s", got.status, got.body)
			}
			if tt.edit == nil {
				// The page's own token is good: only A's token is
				// refused. (Deny, so that nothing is remembered.)
				got := ua.submit(ts.issuer, parseForm(t, page), actionDeny, nil)
				if got.location == nil || got.location.Query().Get("error") != "access_denied" {
					t.Errorf("with the page's own token: status %d, want access_denied at the client", got.status)
				}
			}
		})
	}

	// The right token still works: on A's own page, and on A's request
	// with its scopes asked in another order (the same set).
	t.Run("control: A's page", func(t *testing.T) {
		f := parseForm(t, consentPage(t, urlA))
		f.fields.Set(fieldCSRF, tokenA)
		got := ua.submit(ts.issuer, f, actionDeny, nil)
		if got.location == nil || got.location.Query().Get("error") != "access_denied" {
			t.Errorf("status %d, want access_denied at the client:\n%s", got.status, got.body)
		}
	})
	t.Run("control: A's scopes in another order", func(t *testing.T) {
		f := parseForm(t, consentPage(t, authURL("web", cb, "write", "read")))
		f.fields.Set(fieldCSRF, tokenA)
		got := ua.submit(ts.issuer, f, actionApprove, nil)
		if got.location == nil || got.location.Query().Get("code") == "" {
			t.Errorf("status %d, want a redirect with a code:\n%s", got.status, got.body)
		}
	})
}

// A CSRF token expires after csrfLifetime, long before the session, and a
// token from the future (beyond csrfSkew) is refused too.
func TestCSRFLifetime(t *testing.T) {
	cfg := demoConfig()
	cfg.Issuer = "http://127.0.0.1:9000"
	a, err := newApp(t.Context(), cfg, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	conf := &oauth2.Config{
		ClientID: "web", Scopes: []string{"read"}, RedirectURL: callbackURI(a.issuer, "web"),
		Endpoint: oauth2.Endpoint{AuthURL: a.issuer + pathAuthorize},
	}
	authURL := conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	tests := []struct {
		name   string
		after  time.Duration // between showing the login page and submitting it
		wantOK bool
	}{
		{name: "at once", after: 0, wantOK: true},
		{name: "at the end of its lifetime", after: csrfLifetime, wantOK: true},
		{name: "expired", after: csrfLifetime + time.Second},
		{name: "clock stepped back a little", after: -csrfSkew, wantOK: true},
		{name: "from the future", after: -csrfSkew - time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			a.pages.now = func() time.Time { return now }
			ra := newRecorderAgent(t, a)
			form := loginForm(t, ra.get(authURL), "alice", "wonderland")
			now = t0.Add(tt.after)
			p := ra.postForm(t.Context(), form)
			switch {
			case tt.wantOK && !isConsentPage(p):
				t.Errorf("status %d, want the consent page", p.status)
			case !tt.wantOK && p.status != http.StatusForbidden:
				t.Errorf("status %d, want 403", p.status)
			}
		})
	}
}

// The login and consent pages name the client by its name, with the ID in
// small print, and the scopes by their descriptions: built in for the demo
// scopes, from scope_descriptions for others, and by name when there is
// none.
func TestPagesShowNamesAndDescriptions(t *testing.T) {
	cfg := demoConfig()
	cfg.ScopeDescriptions = map[string]string{"write": "Change your notes"}
	cfg.Clients[1].Scopes = []string{"read", "photos:view"} // spa
	cfg.Clients[1].Name = ""
	ts := startServer(t, cfg, false)
	t.Cleanup(ts.Close)

	tests := []struct {
		name     string
		clientID string
		scopes   []string
		want     []string // on the consent page
		wantNot  []string
	}{
		{
			name: "named client", clientID: "web", scopes: []string{"openid", "read", "write"},
			want: []string{
				"<strong>Demo Web App</strong> <small>(client ID <code>web</code>)</small> asks for",
				"<li>Know who you are: your user ID on this server <small>(<code>openid</code>)</small></li>",
				"<li>Read your data <small>(<code>read</code>)</small></li>",
				"<li>Change your notes <small>(<code>write</code>)</small></li>", // the config's, over the default
			},
		},
		{
			name: "client without a name", clientID: "spa", scopes: []string{"read", "photos:view"},
			want: []string{
				"The application <strong>spa</strong> asks for",
				"<li>Read your data <small>(<code>read</code>)</small></li>",
				"<li><code>photos:view</code></li>",
			},
			wantNot: []string{"client ID"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ua := newUserAgent(t, ts)
			login := ua.get(oauthConfig(ts, tt.clientID, "", tt.scopes...).AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
			name := strings.SplitAfter(tt.want[0], "</strong>")[0]
			name = name[strings.Index(name, "<strong>"):]
			if !isLoginPage(login) || !strings.Contains(login.body, "Sign in to continue to "+name) {
				t.Errorf("the login page does not name the client as %s:\n%s", name, login.body)
			}
			consent := ua.login(login, "alice", "wonderland")
			if !isConsentPage(consent) {
				t.Fatalf("status %d, want the consent page:\n%s", consent.status, consent.body)
			}
			for _, w := range tt.want {
				if !strings.Contains(consent.body, w) {
					t.Errorf("the consent page does not show %q:\n%s", w, consent.body)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(consent.body, w) {
					t.Errorf("the consent page shows %q:\n%s", w, consent.body)
				}
			}
		})
	}
}

// A client's name comes from the store's oauthkit.Client, or from the
// config when the store does not keep names, or is its ID.
func TestClientName(t *testing.T) {
	p := &pages{clientNames: map[string]string{"web": "From the Config"}}
	tests := []struct {
		name   string
		client oauthkit.Client
		want   string
	}{
		{name: "stored name", client: oauthkit.Client{ID: "web", Name: "Stored"}, want: "Stored"},
		{name: "config name", client: oauthkit.Client{ID: "web"}, want: "From the Config"},
		{name: "no name", client: oauthkit.Client{ID: "spa"}, want: "spa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.clientName(&tt.client); got != tt.want {
				t.Errorf("clientName = %q, want %q", got, tt.want)
			}
		})
	}
}
