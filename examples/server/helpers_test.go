package main

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

// testServer is the example app behind an httptest server whose URL is the
// issuer.
type testServer struct {
	*httptest.Server
	app    *app
	issuer string
}

// Client returns the HTTP client for the server: the httptest server's, or
// http.DefaultClient for a server the test did not start itself (a
// testServer with only an issuer, such as one started by run).
func (ts *testServer) Client() *http.Client {
	if ts.Server == nil {
		return http.DefaultClient
	}
	return ts.Server.Client()
}

// startServer starts the app for cfg (its issuer is set to the server's
// URL) over http, or over https when tls is set.
func startServer(t testing.TB, cfg config, tls bool) *testServer {
	t.Helper()
	return startCustomServer(t, cfg, tls, slog.New(slog.DiscardHandler), nil)
}

// startCustomServer is startServer with the app logging to logger and, when
// edit is not nil, edited by edit before it serves its first request.
func startCustomServer(t testing.TB, cfg config, tls bool, logger *slog.Logger, edit func(*app)) *testServer {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	scheme := "http://"
	if tls {
		scheme = "https://"
	}
	cfg.Issuer = scheme + ts.Listener.Addr().String()
	a, err := newApp(context.Background(), cfg, nil, logger)
	if err != nil {
		ts.Close()
		t.Fatalf("newApp: %v", err)
	}
	if edit != nil {
		edit(a)
	}
	ts.Config.Handler = a
	if tls {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	return &testServer{Server: ts, app: a, issuer: cfg.Issuer}
}

// demoServer is one server with the demo config shared by the tests that
// need nothing else: newApp hashes five secrets with Argon2id, which is
// slow under -race. It is never closed; the process ends first.
var demoServer = sync.OnceValue(func() *testServer {
	return startServer(&onceTB{}, demoConfig(), false)
})

// onceTB lets startServer run outside a test; any failure panics.
type onceTB struct{ testing.TB }

func (*onceTB) Helper() {}
func (*onceTB) Fatalf(format string, args ...any) {
	panic("starting the demo server: " + format)
}

// userAgent is a browser without JavaScript: a cookie jar and no automatic
// redirects, so that each step of the flow is seen.
type userAgent struct {
	t      testing.TB
	client *http.Client
	issuer string
}

func newUserAgent(t testing.TB, ts *testServer) *userAgent {
	return newAgent(t, ts.Client(), ts.issuer)
}

// newAgent returns a user agent of the server at issuer that uses base's
// transport.
func newAgent(t testing.TB, base *http.Client, issuer string) *userAgent {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := *base
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &userAgent{t: t, client: &c, issuer: issuer}
}

// page is a response with its body read.
type page struct {
	status   int
	header   http.Header
	body     string
	location *url.URL
}

func (ua *userAgent) do(req *http.Request) *page {
	ua.t.Helper()
	resp, err := ua.client.Do(req)
	if err != nil {
		ua.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		ua.t.Fatalf("reading %s: %v", req.URL, err)
	}
	p := &page{status: resp.StatusCode, header: resp.Header, body: string(body)}
	if loc := resp.Header.Get("Location"); loc != "" {
		if p.location, err = resp.Location(); err != nil {
			ua.t.Fatalf("bad Location %q: %v", loc, err)
		}
	}
	return p
}

func (ua *userAgent) get(u string) *page {
	ua.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		ua.t.Fatal(err)
	}
	return ua.do(req)
}

func (ua *userAgent) post(u string, form url.Values) *page {
	ua.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		ua.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return ua.do(req)
}

// cookie returns the value of the named cookie the agent holds for u.
func (ua *userAgent) cookie(u, name string) string {
	pu, err := url.Parse(u)
	if err != nil {
		ua.t.Fatal(err)
	}
	for _, c := range ua.client.Jar.Cookies(pu) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

var (
	formRE   = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	inputRE  = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
	buttonRE = regexp.MustCompile(`<button type="submit"[^>]* name="action" value="([^"]*)"`)
)

// htmlForm is the one form of a login or consent page.
type htmlForm struct {
	action  string
	fields  url.Values // the hidden inputs
	buttons []string   // values of the action buttons
}

func parseForm(t testing.TB, p *page) htmlForm {
	t.Helper()
	m := formRE.FindAllStringSubmatch(p.body, -1)
	if len(m) != 1 {
		t.Fatalf("want one POST form on the page, found %d; page (status %d):\n%s", len(m), p.status, p.body)
	}
	f := htmlForm{action: html.UnescapeString(m[0][1]), fields: url.Values{}}
	for _, in := range inputRE.FindAllStringSubmatch(p.body, -1) {
		f.fields.Add(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	for _, b := range buttonRE.FindAllStringSubmatch(p.body, -1) {
		f.buttons = append(f.buttons, b[1])
	}
	return f
}

// submit posts the form with the given button and extra fields, resolving
// its action against base.
func (ua *userAgent) submit(base string, f htmlForm, button string, extra url.Values) *page {
	ua.t.Helper()
	target, err := url.Parse(base)
	if err != nil {
		ua.t.Fatal(err)
	}
	action, err := target.Parse(f.action)
	if err != nil {
		ua.t.Fatal(err)
	}
	form := url.Values{}
	for k, v := range f.fields {
		form[k] = append([]string(nil), v...)
	}
	for k, v := range extra {
		form[k] = v
	}
	form.Set("action", button)
	return ua.post(action.String(), form)
}

func isLoginPage(p *page) bool {
	return p.status == http.StatusOK && strings.Contains(p.body, `name="password"`)
}

func isConsentPage(p *page) bool {
	return p.status == http.StatusOK && strings.Contains(p.body, `value="approve"`)
}

// login submits the login page p as username/password and returns the
// next page.
func (ua *userAgent) login(p *page, username, password string) *page {
	ua.t.Helper()
	if !isLoginPage(p) {
		ua.t.Fatalf("want the login page, got status %d:\n%s", p.status, p.body)
	}
	return ua.submit(ua.issuer, parseForm(ua.t, p), actionLogin, url.Values{"username": {username}, "password": {password}})
}

// authorize runs the authorization request at authURL through login (when
// the page asks) and consent (when asked) with the given button, and
// returns the redirect to the client.
func (ua *userAgent) authorize(authURL, consentButton string) *url.URL {
	ua.t.Helper()
	p := ua.get(authURL)
	if isLoginPage(p) {
		p = ua.login(p, "alice", "wonderland")
	}
	if isConsentPage(p) {
		p = ua.submit(ua.issuer, parseForm(ua.t, p), consentButton, nil)
	}
	if p.status != http.StatusFound && p.status != http.StatusSeeOther || p.location == nil {
		ua.t.Fatalf("want a redirect to the client, got status %d:\n%s", p.status, p.body)
	}
	return p.location
}

// oauthConfig is the x/oauth2 configuration of a demo client.
func oauthConfig(ts *testServer, id, secret string, scopes ...string) *oauth2.Config {
	style := oauth2.AuthStyleInHeader
	if secret == "" {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID:     id,
		ClientSecret: secret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   ts.issuer + pathAuthorize,
			TokenURL:  ts.issuer + pathToken,
			AuthStyle: style,
		},
		RedirectURL: callbackURI(ts.issuer, id), // the demo clients' callback page
		Scopes:      scopes,
	}
}

// clientContext makes x/oauth2 use the test server's client (for TLS).
func clientContext(ctx context.Context, ts *testServer) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, ts.Client())
}
