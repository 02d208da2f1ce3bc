package main

import (
	"context"
	"encoding/json"
	"errors"
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
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/jwt"
)

// testKey is one RS256 key for every test: making one takes a while.
var testKey = sync.OnceValue(func() *jwt.Key {
	k, err := jwt.GenerateKey(jwt.RS256)
	if err != nil {
		panic(err)
	}
	return k
})

// env is a running example with its demo clients' secrets.
type env struct {
	*httptest.Server
	webSecret, reportsSecret string
}

// start runs the example on a free port with the user directory dir (nil
// for the demo one).
func start(t *testing.T, dir directory) *env {
	t.Helper()
	e := &env{Server: httptest.NewUnstartedServer(nil)}
	var webHash, reportsHash string
	var err error
	if e.webSecret, webHash, err = oauthkit.GenerateSecret(nil); err != nil {
		t.Fatal(err)
	}
	if e.reportsSecret, reportsHash, err = oauthkit.GenerateSecret(nil); err != nil {
		t.Fatal(err)
	}
	h, err := newApp(config{Issuer: "http://" + e.Listener.Addr().String(), Clients: demoClients(webHash, reportsHash), Key: testKey(), Users: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e.Config.Handler = h
	e.Start()
	t.Cleanup(e.Close)
	return e
}

// authorizeURL is the document's sample authorization request.
func (e *env) authorizeURL(responseType, clientID, redirectURI string) string {
	return e.URL + pathAuthorize + "?response_type=" + responseType + "&client_id=" + clientID +
		"&redirect_uri=" + url.QueryEscape(redirectURI) + "&state=STATE"
}

// browser returns an HTTP client with cookies that stops at any redirect
// away from the server: to the client.
func (e *env) browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	host := e.Listener.Addr().String()
	return &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host != host {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

var nextField = regexp.MustCompile(`name="next" value="([^"]*)"`)

// walk opens authURL in browser and, if it shows the sign-in form, fills
// it in as alice, returning the response that redirects to the client.
func (e *env) walk(t *testing.T, browser *http.Client, authURL string) *http.Response {
	t.Helper()
	resp, err := browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Request.URL.Path == pathLogin {
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := nextField.FindSubmatch(page)
		if resp.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("sign-in page: %d %s", resp.StatusCode, page)
		}
		resp, err = browser.PostForm(e.URL+pathLogin, url.Values{"username": {"alice"}, "password": {"wonderland"}, "next": {html.UnescapeString(string(m[1]))}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return resp
}

// redirected checks that resp redirects with 302 Found to redirectURI and
// returns the response parameters, from the query or, with inFragment,
// from the fragment.
func redirected(t *testing.T, resp *http.Response, redirectURI string, inFragment bool) url.Values {
	t.Helper()
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), redirectURI) {
		t.Fatalf("%d, Location %q: want 302 Found to %s", resp.StatusCode, resp.Header.Get("Location"), redirectURI)
	}
	raw := loc.RawQuery
	if inFragment {
		if raw != "" {
			t.Errorf("Location %s: parameters in the query, want them in the fragment", loc)
		}
		raw = loc.Fragment
	} else if loc.Fragment != "" {
		t.Errorf("Location %s: a fragment, want the parameters in the query only", loc)
	}
	params, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	return params
}

// tokenRequest posts form to the token endpoint as the document does,
// with Basic credentials if user is not empty, and returns the status,
// headers and JSON body.
func (e *env) tokenRequest(t *testing.T, user, password string, form url.Values) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.URL+pathToken, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token response %d: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, resp.Header, body
}

// code runs the authorization code flow of the document's Step 1 and 2 for
// clientID and returns the code.
func (e *env) code(t *testing.T, clientID string) string {
	t.Helper()
	params := redirected(t, e.walk(t, e.browser(t), e.authorizeURL("code", clientID, webRedirectURI)), webRedirectURI, false)
	if params.Get("state") != "STATE" || params.Get("code") == "" {
		t.Fatalf("response parameters %v, want a code and state STATE", params)
	}
	return params.Get("code")
}

// claims verifies token with the server's published keys, as an RS256 JWT
// access token (RFC 9068), and returns its claims.
func (e *env) claims(t *testing.T, token string) map[string]any {
	t.Helper()
	resp, err := http.Get(e.URL + pathJWKS)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var keys jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&keys); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("access token is no RS256 JWS: %v", err)
	}
	h := jws.Signatures[0].Header
	found := keys.Key(h.KeyID)
	if len(found) != 1 || h.ExtraHeaders["typ"] != "at+jwt" {
		t.Fatalf("header %+v: want a published kid and typ at+jwt", h)
	}
	payload, err := jws.Verify(found[0])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// callAPI calls the API with token and returns the status, the challenge
// and the body.
func (e *env) callAPI(t *testing.T, token string) (int, string, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.URL+pathAPI, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body) // empty for refusals
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body
}

const aliceSubject = "822415d3-fc7f-4934-9e55-9dec65e72148"

// The document's code flow, step by step: the authorization request, the
// code in the query with the state, the code exchanged with Basic client
// authentication and client_id in the body, the documented response with an
// RS256 JWT carrying the documented claims, refreshes that return no new
// refresh token and leave the old one valid, and the API.
func TestDocumentCodeFlow(t *testing.T) {
	e := start(t, nil)
	code := e.code(t, "web")
	status, h, body := e.tokenRequest(t, "web", e.webSecret, url.Values{
		"grant_type": {"authorization_code"}, "client_id": {"web"}, "code": {code}, "redirect_uri": {webRedirectURI},
	})
	if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("code exchange: %d %v %v", status, h, body)
	}
	if body["token_type"] != "Bearer" || body["expires_in"] != 3600.0 || body["access_token"] == nil || body["refresh_token"] == nil {
		t.Fatalf("code exchange body %v, want the documented members", body)
	}
	access, refresh := body["access_token"].(string), body["refresh_token"].(string)
	c := e.claims(t, access)
	want := map[string]any{
		"token_use": "access", "scope": scopePets, "client_id": "web", "username": "alice",
		"sub": aliceSubject, "iss": e.URL, "aud": e.URL + "/api",
	}
	for name, v := range want {
		if c[name] != v {
			t.Errorf("claim %s = %v, want %v", name, c[name], v)
		}
	}
	if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 3600 {
		t.Errorf("exp - iat = %v, want 3600", exp-iat)
	}

	// Refresh twice with the same refresh token: not rotated.
	for i := range 2 {
		status, _, body = e.tokenRequest(t, "web", e.webSecret, url.Values{
			"grant_type": {"refresh_token"}, "client_id": {"web"}, "refresh_token": {refresh},
		})
		if status != http.StatusOK || body["refresh_token"] != nil || body["access_token"] == access || body["expires_in"] != 3600.0 {
			t.Fatalf("refresh %d: %d %v, want a new access token and no refresh token", i, status, body)
		}
		if c := e.claims(t, body["access_token"].(string)); c["username"] != "alice" || c["token_use"] != "access" {
			t.Errorf("refreshed token's claims %v", c)
		}
	}

	status, _, api := e.callAPI(t, access)
	if status != http.StatusOK || api["username"] != "alice" || api["sub"] != aliceSubject || api["client_id"] != "web" {
		t.Errorf("API: %d %v", status, api)
	}

	// The same code again: "consumed already"; and the tokens issued for
	// it are revoked (RFC 6749 §4.1.2), the refresh token with them.
	status, _, body = e.tokenRequest(t, "web", e.webSecret, url.Values{
		"grant_type": {"authorization_code"}, "client_id": {"web"}, "code": {code}, "redirect_uri": {webRedirectURI},
	})
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("code reused: %d %v, want 400 invalid_grant", status, body)
	}
	status, _, body = e.tokenRequest(t, "web", e.webSecret, url.Values{
		"grant_type": {"refresh_token"}, "client_id": {"web"}, "refresh_token": {refresh},
	})
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("refresh after the code's reuse: %d %v, want 400 invalid_grant", status, body)
	}
}

// golang.org/x/oauth2 as the client: it sends client_id in the body when
// asked, and keeps the refresh token the server does not replace.
func TestOAuth2Client(t *testing.T) {
	e := start(t, nil)
	conf := &oauth2.Config{
		ClientID: "web", ClientSecret: e.webSecret, RedirectURL: webRedirectURI,
		Endpoint: oauth2.Endpoint{AuthURL: e.URL + pathAuthorize, TokenURL: e.URL + pathToken, AuthStyle: oauth2.AuthStyleInHeader},
	}
	ctx := context.Background()
	tok, err := conf.Exchange(ctx, e.code(t, "web"), oauth2.SetAuthURLParam("client_id", "web"))
	if err != nil {
		t.Fatal(err)
	}
	tok.Expiry = time.Now().Add(-time.Minute) // force a refresh
	next, err := conf.TokenSource(ctx, tok).Token()
	if err != nil || next.AccessToken == tok.AccessToken || next.RefreshToken != tok.RefreshToken {
		t.Fatalf("refresh: %v, %+v", err, next)
	}
	if status, _, _ := e.callAPI(t, next.AccessToken); status != http.StatusOK {
		t.Errorf("API with the refreshed token: %d", status)
	}
}

// The implicit flow, for the client permitted it: the token in the
// fragment, with the same claims, and no refresh token (RFC 6749 §4.2.2).
func TestImplicit(t *testing.T) {
	e := start(t, nil)
	params := redirected(t, e.walk(t, e.browser(t), e.authorizeURL("token", "spa", spaRedirectURI)), spaRedirectURI, true)
	if params.Get("state") != "STATE" || params.Get("token_type") != "Bearer" || params.Get("expires_in") != "3600" ||
		params.Get("access_token") == "" || params.Has("refresh_token") || params.Has("code") {
		t.Fatalf("implicit response %v", params)
	}
	c := e.claims(t, params.Get("access_token"))
	if c["client_id"] != "spa" || c["username"] != "alice" || c["token_use"] != "access" || c["scope"] != scopePets {
		t.Errorf("claims %v", c)
	}
	if status, _, api := e.callAPI(t, params.Get("access_token")); status != http.StatusOK || api["client_id"] != "spa" {
		t.Errorf("API: %d %v", status, api)
	}
}

// The document's negative authorization requests, redirected to the
// client with the state, and those that must not be (RFC 6749 §4.1.2.1).
func TestAuthorizeErrors(t *testing.T) {
	e := start(t, nil)
	web := "&client_id=web&redirect_uri=" + url.QueryEscape(webRedirectURI) + "&state=STATE"
	for _, tc := range []struct {
		name, query, redirectURI string
		fragment                 bool
		want                     string
	}{
		{"no response_type", web[1:], webRedirectURI, false, "invalid_request"},
		{"code_challenge without method", "response_type=code&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" + web, webRedirectURI, false, "invalid_request"},
		{"code_challenge_method plain", "response_type=code&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=plain" + web, webRedirectURI, false, "invalid_request"},
		{"code_challenge_method S512", "response_type=code&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S512" + web, webRedirectURI, false, "invalid_request"},
		{"token for a code client", "response_type=token" + web, webRedirectURI, true, "unauthorized_client"},
		{"token for reports", "response_type=token&client_id=reports&redirect_uri=" + url.QueryEscape(webRedirectURI) + "&state=STATE", webRedirectURI, true, "unauthorized_client"},
		{"code for the implicit client", "response_type=code&client_id=spa&redirect_uri=" + url.QueryEscape(spaRedirectURI) + "&state=STATE", spaRedirectURI, false, "unauthorized_client"},
		{"unknown scope", "response_type=code&scope=api/admin" + web, webRedirectURI, false, "invalid_scope"},
		{"malformed scope", "response_type=code&scope=" + url.QueryEscape(`api/"pets`) + web, webRedirectURI, false, "invalid_scope"},
		{"unknown response_type", "response_type=foo" + web, webRedirectURI, false, "unsupported_response_type"},
		{"id_token without OpenID Connect", "response_type=id_token" + web, webRedirectURI, true, "unsupported_response_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := e.browser(t).Get(e.URL + pathAuthorize + "?" + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			params := redirected(t, resp, tc.redirectURI, tc.fragment)
			if params.Get("error") != tc.want || params.Get("state") != "STATE" {
				t.Errorf("response parameters %v, want error %s and state STATE", params, tc.want)
			}
		})
	}
	// Never redirected: the client or its redirect URI is unknown, or the
	// method is not GET.
	for _, tc := range []struct {
		name, method, query string
		want                int
	}{
		{"unknown client", http.MethodGet, "response_type=code&client_id=nobody&redirect_uri=" + url.QueryEscape(webRedirectURI), http.StatusBadRequest},
		{"unregistered redirect_uri", http.MethodGet, "response_type=code&client_id=web&redirect_uri=" + url.QueryEscape("https://evil.example/cb"), http.StatusBadRequest},
		{"missing client_id", http.MethodGet, "response_type=code", http.StatusBadRequest},
		{"POST", http.MethodPost, web[1:] + "&response_type=code", http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.URL+pathAuthorize+"?"+tc.query, nil)
			resp, err := e.browser(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want || resp.Header.Get("Location") != "" {
				t.Errorf("%d, Location %q: want %d and no redirect", resp.StatusCode, resp.Header.Get("Location"), tc.want)
			}
		})
	}
}

// The document's token errors: JSON bodies with its codes, status 400,
// except invalid_client with Basic credentials, which RFC 6749 §5.2 makes a
// 401 with a challenge.
func TestTokenErrors(t *testing.T) {
	e := start(t, nil)
	refresh := func(t *testing.T) string {
		_, _, body := e.tokenRequest(t, "web", e.webSecret, url.Values{
			"grant_type": {"authorization_code"}, "client_id": {"web"}, "code": {e.code(t, "web")}, "redirect_uri": {webRedirectURI},
		})
		return body["refresh_token"].(string)
	}
	revoked := refresh(t)
	req, _ := http.NewRequest(http.MethodPost, e.URL+pathRevoke, strings.NewReader(url.Values{"token": {revoked}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("web", e.webSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("revocation: %v %v", resp, err)
	}
	resp.Body.Close()

	for _, tc := range []struct {
		name           string
		user, password string
		form           url.Values
		status         int
		want           string
	}{
		{"refresh_token missing", "web", e.webSecret, url.Values{"grant_type": {"refresh_token"}, "client_id": {"web"}}, 400, "invalid_request"},
		{"grant_type missing", "web", e.webSecret, url.Values{"client_id": {"web"}}, 400, "invalid_request"},
		{"client_id not the Basic one", "web", e.webSecret, url.Values{"grant_type": {"refresh_token"}, "client_id": {"reports"}, "refresh_token": {"x"}}, 400, "invalid_request"},
		{"wrong secret", "web", "wrong", url.Values{"grant_type": {"refresh_token"}, "client_id": {"web"}, "refresh_token": {"x"}}, 401, "invalid_client"},
		{"unknown client", "nobody", "secret", url.Values{"grant_type": {"refresh_token"}, "client_id": {"nobody"}, "refresh_token": {"x"}}, 401, "invalid_client"},
		{"no client authentication", "", "", url.Values{"grant_type": {"refresh_token"}, "client_id": {"web"}, "refresh_token": {"x"}}, 400, "invalid_client"},
		{"revoked refresh token", "web", e.webSecret, url.Values{"grant_type": {"refresh_token"}, "client_id": {"web"}, "refresh_token": {revoked}}, 400, "invalid_grant"},
		{"unknown code", "web", e.webSecret, url.Values{"grant_type": {"authorization_code"}, "client_id": {"web"}, "code": {"nope"}, "redirect_uri": {webRedirectURI}}, 400, "invalid_grant"},
		{"other redirect_uri", "web", e.webSecret, url.Values{"grant_type": {"authorization_code"}, "client_id": {"web"}, "code": {e.code(t, "web")}, "redirect_uri": {spaRedirectURI}}, 400, "invalid_grant"},
		{"refresh for a client not permitted it", "reports", e.reportsSecret, url.Values{"grant_type": {"refresh_token"}, "client_id": {"reports"}, "refresh_token": {refresh(t)}}, 400, "unauthorized_client"},
		{"password grant", "web", e.webSecret, url.Values{"grant_type": {"password"}, "client_id": {"web"}, "username": {"alice"}, "password": {"wonderland"}}, 400, "unsupported_grant_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := e.tokenRequest(t, tc.user, tc.password, tc.form)
			if status != tc.status || body["error"] != tc.want {
				t.Errorf("%d %v, want %d %s", status, body, tc.status, tc.want)
			}
			if ct := h.Get("Content-Type"); ct != "application/json;charset=UTF-8" {
				t.Errorf("Content-Type %q, want the document's application/json;charset=UTF-8", ct)
			}
			if status == 401 && h.Get("WWW-Authenticate") == "" {
				t.Error("401 without a challenge")
			}
		})
	}

	// A code grant for a client without refresh tokens issues none.
	_, _, body := e.tokenRequest(t, "reports", e.reportsSecret, url.Values{
		"grant_type": {"authorization_code"}, "client_id": {"reports"}, "code": {e.code(t, "reports")}, "redirect_uri": {webRedirectURI},
	})
	if body["access_token"] == nil || body["refresh_token"] != nil {
		t.Errorf("reports' code exchange: %v, want an access token only", body)
	}

	// "Only supports HTTPS POST".
	resp, err = http.Get(e.URL + pathToken)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Errorf("GET token endpoint: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// flaky is the demo directory whose lookups by subject fail while fail is
// set, as a database that is down.
type flaky struct {
	users
	fail atomic.Bool
}

func (f *flaky) bySubject(ctx context.Context, sub string) (*user, error) {
	if f.fail.Load() {
		return nil, errors.New("directory unreachable")
	}
	return f.users.bySubject(ctx, sub)
}

// A fault of the server is redirected to the client as server_error, not
// shown to the user as a 500 page; at the token endpoint it is the JSON
// error of RFC 6749 §5.2.
func TestServerError(t *testing.T) {
	dir := &flaky{users: demoUsers}
	e := start(t, dir)
	browser := e.browser(t)
	code := e.code(t, "web")
	redirected(t, e.walk(t, browser, e.authorizeURL("code", "web", webRedirectURI)), webRedirectURI, false) // signed in
	dir.fail.Store(true)

	for _, tc := range []struct {
		name, clientID, responseType, redirectURI string
		fragment                                  bool
	}{
		{"code", "web", "code", webRedirectURI, false},
		{"implicit", "spa", "token", spaRedirectURI, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params := redirected(t, e.walk(t, browser, e.authorizeURL(tc.responseType, tc.clientID, tc.redirectURI)), tc.redirectURI, tc.fragment)
			if params.Get("error") != "server_error" || params.Get("state") != "STATE" {
				t.Errorf("response parameters %v, want server_error and the state", params)
			}
		})
	}
	status, _, body := e.tokenRequest(t, "web", e.webSecret, url.Values{
		"grant_type": {"authorization_code"}, "client_id": {"web"}, "code": {code}, "redirect_uri": {webRedirectURI},
	})
	if status != http.StatusInternalServerError || body["error"] != "server_error" {
		t.Errorf("code exchange with the directory down: %d %v, want 500 server_error", status, body)
	}
}

// The issuance hook's token_use and username, read by itself: a user who
// no longer exists gets no token.
func TestIssueUnknownUser(t *testing.T) {
	a := &app{users: demoUsers}
	iss := &oauthkit.Issuance{Subject: "gone"}
	if err := a.issue(t.Context(), iss); !errors.Is(err, oauthkit.ErrInvalidGrant) {
		t.Errorf("issue for an unknown subject: %v, want invalid_grant", err)
	}
	iss = &oauthkit.Issuance{Subject: aliceSubject}
	if err := a.issue(t.Context(), iss); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"token_use": "access", "username": "alice"}, iss.AccessTokenClaims); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
}

// The API answers only with a valid token: none, a forged one and one for
// no user are refused.
func TestAPIRefuses(t *testing.T) {
	e := start(t, nil)
	status, challenge, _ := e.callAPI(t, "")
	if status != http.StatusUnauthorized || !strings.HasPrefix(challenge, `Bearer realm="api"`) {
		t.Errorf("no token: %d %q", status, challenge)
	}
	status, challenge, _ = e.callAPI(t, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
	if status != http.StatusUnauthorized || !strings.Contains(challenge, `error="invalid_token"`) {
		t.Errorf("forged token: %d %q", status, challenge)
	}
	// A client's own token (no user): the API wants a user's.
	rec := httptest.NewRecorder()
	own := bearer.NewContext(t.Context(), &bearer.Claims{Subject: "web", ClientID: "web", SubjectIsClient: true})
	pets(rec, httptest.NewRequest(http.MethodGet, pathAPI, nil).WithContext(own))
	if rec.Code != http.StatusForbidden {
		t.Errorf("client's own token: %d, want 403", rec.Code)
	}
}

// The sign-in page returns only to the authorization endpoint, and a wrong
// password signs no one in.
func TestLogin(t *testing.T) {
	e := start(t, nil)
	browser := e.browser(t)
	for _, next := range []string{"https://evil.example/", "//evil.example/oauth2/authorize", "/\\evil.example", "/other", "", "https://evil.example/oauth2/authorize", "/oauth2/%61uthorize"} {
		resp, err := browser.PostForm(e.URL+pathLogin, url.Values{"username": {"alice"}, "password": {"wonderland"}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("next %q: %d at %s, want 400", next, resp.StatusCode, resp.Request.URL)
		}
	}
	authURL := e.authorizeURL("code", "web", webRedirectURI)
	next := strings.TrimPrefix(authURL, e.URL)
	for _, tc := range []struct{ user, password string }{{"alice", "wrong"}, {"mallory", "wonderland"}, {"", ""}} {
		resp, err := browser.PostForm(e.URL+pathLogin, url.Values{"username": {tc.user}, "password": {tc.password}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Wrong username or password") {
			t.Errorf("%s/%s: %d %s, want the form again", tc.user, tc.password, resp.StatusCode, page)
		}
	}
	resp, err := browser.Get(authURL) // still signed out: to the sign-in page
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != pathLogin {
		t.Errorf("after failed sign-ins the authorization request ended at %s, want the sign-in page", resp.Request.URL)
	}
}

// Rotation is off, so no public client may have refresh tokens
// (RFC 9700 §4.14.2).
func TestNewAppRefusesPublicRefresh(t *testing.T) {
	clients := demoClients("h1", "h2")
	clients[2].GrantTypes = append(clients[2].GrantTypes, oauthkit.GrantTypeRefreshToken)
	_, err := newApp(config{Issuer: "http://127.0.0.1:1", Clients: clients, Key: testKey()})
	if err == nil || !strings.Contains(err.Error(), "rotation is off") {
		t.Errorf("newApp with a public client allowed refresh tokens: %v, want refused for that", err)
	}
}

// The access tokens are RS256, as the document's are and as the API
// accepts; a client registration the library would refuse is refused.
func TestNewAppRefusesBadConfig(t *testing.T) {
	es256, err := jwt.GenerateKey(jwt.ES256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newApp(config{Issuer: "http://127.0.0.1:1", Clients: demoClients("h1", "h2"), Key: es256}); err == nil {
		t.Error("newApp accepted an ES256 key")
	} else {
		t.Log(err)
	}
	clients := demoClients("h1", "h2")
	clients[0].RedirectURIs = []string{"https://app.example.com/callback#fragment"}
	if _, err := newApp(config{Issuer: "http://127.0.0.1:1", Clients: clients, Key: testKey()}); err == nil {
		t.Error("newApp accepted a redirect URI with a fragment")
	} else {
		t.Log(err)
	}
}

// The banner's requests work as pasted: its authorization URLs run the
// code and implicit flows, its error requests get the documented errors.
func TestBanner(t *testing.T) {
	e := start(t, nil)
	var out strings.Builder
	banner(&out, e.URL, e.webSecret, e.reportsSecret)
	var browserURLs, errorURLs []string
	for _, line := range strings.Split(out.String(), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, e.URL+pathAuthorize):
			browserURLs = append(browserURLs, line)
		case strings.HasPrefix(line, "curl -i '"):
			errorURLs = append(errorURLs, strings.Trim(strings.TrimPrefix(line, "curl -i "), "'"))
		}
	}
	if len(browserURLs) != 2 {
		t.Fatalf("banner has %d authorization URLs, want 2:\n%s", len(browserURLs), out.String())
	}
	if params := redirected(t, e.walk(t, e.browser(t), browserURLs[0]), webRedirectURI, false); params.Get("code") == "" {
		t.Errorf("code flow: %v", params)
	}
	if params := redirected(t, e.walk(t, e.browser(t), browserURLs[1]), spaRedirectURI, true); params.Get("access_token") == "" {
		t.Errorf("implicit flow: %v", params)
	}
	want := []string{"invalid_request", "invalid_request", "unauthorized_client", "invalid_scope"}
	var got []string
	for _, u := range errorURLs {
		resp, err := e.browser(t).Get(u)
		if err != nil {
			t.Fatal(err)
		}
		loc, _ := url.Parse(resp.Header.Get("Location"))
		resp.Body.Close()
		params, _ := url.ParseQuery(loc.RawQuery + loc.Fragment)
		got = append(got, params.Get("error"))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors of the banner's requests (-want +got):\n%s", diff)
	}
}
