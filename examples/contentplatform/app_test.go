package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// cb is the document's redirect_uri parameter, escaped as it escapes it.
const cb = "https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb"

// startApp runs the example on a free port, its URL the issuer.
func startApp(t *testing.T) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	h, err := newApp("http://"+ts.Listener.Addr().String(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = h
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

// answer is one HTTP response.
type answer struct {
	status int
	header http.Header
	body   string
}

// json decodes the body as a JSON object.
func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(a.body), &m); err != nil {
		t.Fatalf("%d %q: not a JSON object: %v", a.status, a.body, err)
	}
	return m
}

// location parses the Location header.
func (a answer) location(t *testing.T) *url.URL {
	t.Helper()
	u, err := url.Parse(a.header.Get("Location"))
	if err != nil || a.header.Get("Location") == "" {
		t.Fatalf("%d %q: no Location", a.status, a.body)
	}
	return u
}

// curl sends what `curl -X method -u user:password URL` sends: no body and
// no Content-Type unless form is set (as -d would), and no redirect
// followed. An empty user sends no credentials.
func curl(t *testing.T, method, rawURL, user, password string, form url.Values) answer {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(raw)}
}

// secureWith calls /secure with the access token, as the document's
//
//	curl -i -H "Authorization: Bearer <access_token>" http://localhost:9191/secure
func secureWith(t *testing.T, ts *httptest.Server, token string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ts.URL+pathSecure, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(raw)}
}

// tokenShape is what a token response shows, values replaced by whether
// they are there.
type tokenShape struct {
	AccessToken, RefreshToken bool
	TokenType                 string
	ExpiresIn                 float64
	Scope                     string
}

func shape(m map[string]any) tokenShape {
	s := tokenShape{AccessToken: m["access_token"] != nil, RefreshToken: m["refresh_token"] != nil}
	s.TokenType, _ = m["token_type"].(string)
	s.ExpiresIn, _ = m["expires_in"].(float64)
	s.Scope, _ = m["scope"].(string)
	return s
}

// checkToken checks a token endpoint answer against the shape the
// document shows and the headers RFC 6749 §5.1 requires, and returns its
// fields.
func checkToken(t *testing.T, a answer, want tokenShape) map[string]any {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("token response %d %s", a.status, a.body)
	}
	if got := a.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	if got := a.header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
		t.Errorf("Content-Type %q", got)
	}
	m := a.json(t)
	if diff := cmp.Diff(want, shape(m)); diff != "" {
		t.Errorf("token response %s (-want +got):\n%s", a.body, diff)
	}
	return m
}

// checkSecure checks that /secure answers the token as the document shows.
func checkSecure(t *testing.T, ts *httptest.Server, token string) {
	t.Helper()
	if a := secureWith(t, ts, token); a.status != http.StatusOK || a.body != "Secure Hello!" {
		t.Errorf("/secure: %d %q, want 200 Secure Hello!", a.status, a.body)
	}
}

// TestDocument replays the document's requests in its order, corrected
// where it contradicts itself (README.md): the user signs in at /authorize
// with HTTP Basic, the client_id is SkyVaultapp's, and the URLs have no
// spaces.
func TestDocument(t *testing.T) {
	ts := startApp(t)
	issuer := ts.URL

	// curl -XPOST -vu SkyVaultapp:secret 'http://localhost:9191/authorize?response_type=code&client_id=alfrescoapp&state=xyz& redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb
	// curl -XPOST -vu SkyVaultapp:secret http://localhost:9191/grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb
	t.Run("authorization code", func(t *testing.T) {
		a := curl(t, "POST", issuer+"/authorize?response_type=code&client_id=SkyVaultapp&state=xyz&redirect_uri="+cb, "admin", "tiger", nil)
		loc := a.location(t)
		q := loc.Query()
		if a.status != http.StatusFound || loc.Scheme+"://"+loc.Host+loc.Path != redirectURI || q.Get("code") == "" ||
			q.Get("state") != "xyz" || q.Get("iss") != issuer {
			t.Fatalf("authorization response %d %s, want 302 to %s with code, state xyz and iss", a.status, loc, redirectURI)
		}
		code := q.Get("code")
		tokenURL := issuer + "/oauth/token?grant_type=authorization_code&code=" + code + "&redirect_uri=" + cb
		m := checkToken(t, curl(t, "POST", tokenURL, "SkyVaultapp", "secret", nil),
			tokenShape{AccessToken: true, RefreshToken: true, TokenType: "bearer", ExpiresIn: 3600, Scope: "read write"})
		checkSecure(t, ts, m["access_token"].(string))

		// RFC 6749 §4.1.2: a code is used once; a replay revokes what it gave.
		if a := curl(t, "POST", tokenURL, "SkyVaultapp", "secret", nil); a.status != 400 || a.json(t)["error"] != "invalid_grant" {
			t.Errorf("the code again: %d %s, want invalid_grant", a.status, a.body)
		}
		if a := secureWith(t, ts, m["access_token"].(string)); a.status != http.StatusUnauthorized {
			t.Errorf("/secure after the code's replay: %d, want 401", a.status)
		}
	})

	// curl -XPOST -vu SkyVaultapp:secret 'http://localhost:9191//authorize?response_type=token& client_id=alfrescoapp&state=xyz&redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb'
	t.Run("implicit", func(t *testing.T) {
		a := curl(t, "POST", issuer+"/authorize?response_type=token&client_id=SkyVaultapp&state=xyz&redirect_uri="+cb, "admin", "tiger", nil)
		loc := a.location(t)
		f, err := url.ParseQuery(loc.Fragment)
		if err != nil || a.status != http.StatusFound || loc.RawQuery != "" {
			t.Fatalf("authorization response %d %s: %v", a.status, loc, err)
		}
		got := map[string]string{}
		for k := range f {
			got[k] = f.Get(k)
		}
		want := map[string]string{"access_token": got["access_token"], "state": "xyz", "token_type": "bearer", "expires_in": "3600", "iss": issuer}
		if diff := cmp.Diff(want, got); diff != "" || got["access_token"] == "" {
			t.Errorf("fragment (-want +got):\n%s", diff)
		}
		checkSecure(t, ts, got["access_token"])
	})

	var refreshToken, accessToken string
	// curl -XPOST -vu SkyVaultapp:secret 'http://localhost:9191/oauth/token?username=admin&password=tiger&grant_type=password'
	t.Run("password", func(t *testing.T) {
		m := checkToken(t, curl(t, "POST", issuer+"/oauth/token?username=admin&password=tiger&grant_type=password", "SkyVaultapp", "secret", nil),
			tokenShape{AccessToken: true, RefreshToken: true, TokenType: "bearer", ExpiresIn: 1799, Scope: "read write"})
		refreshToken, accessToken = m["refresh_token"].(string), m["access_token"].(string)
		checkSecure(t, ts, accessToken)
	})

	// curl -XPOST -vu SkyVaultapp:secret 'http://localhost:9191/oauth/token?grant_type=refresh_token&refresh_token=<refresh_token>'
	t.Run("refresh", func(t *testing.T) {
		refreshURL := issuer + "/oauth/token?grant_type=refresh_token&refresh_token=" + url.QueryEscape(refreshToken)
		m := checkToken(t, curl(t, "POST", refreshURL, "SkyVaultapp", "secret", nil),
			tokenShape{AccessToken: true, RefreshToken: true, TokenType: "bearer", ExpiresIn: 1799, Scope: "read write"})
		if m["refresh_token"] == refreshToken {
			t.Errorf("the refresh token was not rotated")
		}
		checkSecure(t, ts, m["access_token"].(string))
		// RFC 9700 §4.14.2: the replaced refresh token used again is
		// reuse, which revokes the family.
		if a := curl(t, "POST", refreshURL, "SkyVaultapp", "secret", nil); a.status != 400 || a.json(t)["error"] != "invalid_grant" {
			t.Errorf("the rotated refresh token again: %d %s, want invalid_grant", a.status, a.body)
		}
		for _, tok := range []string{accessToken, m["access_token"].(string)} {
			if a := secureWith(t, ts, tok); a.status != http.StatusUnauthorized {
				t.Errorf("/secure with a token of the revoked family: %d, want 401", a.status)
			}
		}
	})

	// The document names client credentials but shows no request.
	t.Run("client credentials", func(t *testing.T) {
		m := checkToken(t, curl(t, "POST", issuer+"/oauth/token?grant_type=client_credentials", "SkyVaultapp", "secret", nil),
			tokenShape{AccessToken: true, TokenType: "bearer", ExpiresIn: 3600, Scope: "read write"})
		checkSecure(t, ts, m["access_token"].(string))
	})

	// curl -XPOST -vu SkyVaultapp:secret 'http://localhost:9191/oauth/token?username=admin&password=admin&access_token=YOUR_CUSTOM_TOKEN& refresh_token=YOUR_CUSTOM_REFRESH_TOKEN&grant_type=external_token'
	t.Run("external_token", func(t *testing.T) {
		external := func(access, refresh string) string {
			return issuer + "/oauth/token?username=admin&password=admin&access_token=" + access + "&refresh_token=" + refresh + "&grant_type=external_token"
		}
		// The placeholders are no random values: the library refuses to
		// import them.
		if a := curl(t, "POST", external("YOUR_CUSTOM_TOKEN", "YOUR_CUSTOM_REFRESH_TOKEN"), "SkyVaultapp", "secret", nil); a.status != 400 || a.json(t)["error"] != "invalid_request" {
			t.Errorf("the placeholders: %d %s, want invalid_request", a.status, a.body)
		}
		access, refresh := "upstream-AT-821c99d4_2c9f_4990_b68d_18eacaff54b2", "upstream-RT-e6f8624f_213d_4343_a971_980e83f734be"
		m := checkToken(t, curl(t, "POST", external(access, refresh), "SkyVaultapp", "secret", nil),
			tokenShape{AccessToken: true, RefreshToken: true, TokenType: "bearer", ExpiresIn: 1799, Scope: "read write"})
		if m["access_token"] != access || m["refresh_token"] != refresh {
			t.Errorf("external_token answered %v, want the submitted tokens", m)
		}
		checkSecure(t, ts, access)
		m = checkToken(t, curl(t, "POST", issuer+"/oauth/token?grant_type=refresh_token&refresh_token="+refresh, "SkyVaultapp", "secret", nil),
			tokenShape{AccessToken: true, RefreshToken: true, TokenType: "bearer", ExpiresIn: 1799, Scope: "read write"})
		checkSecure(t, ts, m["access_token"].(string))
		// The same values again are in use.
		if a := curl(t, "POST", external(access, "upstream-RT-99887766_5544_3322_1100_aabbccddeeff"), "SkyVaultapp", "secret", nil); a.status != 400 || a.json(t)["error"] != "invalid_grant" {
			t.Errorf("an access token in use: %d %s, want invalid_grant", a.status, a.body)
		}
	})
}

// TestErrors replays the document's requests as it writes them, where
// they contradict it or RFC 6749, and the errors a client meets.
func TestErrors(t *testing.T) {
	ts := startApp(t)
	issuer := ts.URL
	authorize := issuer + "/authorize?response_type=code&client_id=SkyVaultapp&state=xyz&redirect_uri=" + cb
	for _, tc := range []struct {
		name           string
		method, url    string
		user, password string
		form           url.Values
		status         int
		header         http.Header // headers that must be there
		body           string      // text the body must contain
		redirected     string      // the error redirected to the client, if it is
	}{
		{
			name: "authorize as written: client_id alfrescoapp, unknown", method: "POST",
			url:  issuer + "/authorize?response_type=code&client_id=alfrescoapp&state=xyz&redirect_uri=" + cb,
			user: "SkyVaultapp", password: "secret", status: 400, body: "unknown client_id",
		},
		{
			name: "authorize with the client's credentials, not a user's", method: "POST", url: authorize,
			user: "SkyVaultapp", password: "secret", status: 401,
			header: http.Header{"Www-Authenticate": {`Basic realm="SkyVault", charset="UTF-8"`}},
		},
		{name: "authorize without credentials", method: "GET", url: authorize, status: 401},
		{name: "authorize with a wrong password", method: "GET", url: authorize, user: "admin", password: "admin", status: 401},
		{
			name: "authorize at the document's //authorize", method: "POST", url: issuer + "//authorize?response_type=token&client_id=SkyVaultapp",
			user: "admin", password: "tiger", status: http.StatusTemporaryRedirect,
			header: http.Header{"Location": {"/authorize?response_type=token&client_id=SkyVaultapp"}},
		},
		{
			name: "authorize to an unregistered redirect URI", method: "GET",
			url:  issuer + "/authorize?response_type=code&client_id=SkyVaultapp&redirect_uri=https%3A%2F%2Fexample.com%2Fcb",
			user: "admin", password: "tiger", status: 400, body: "redirect_uri",
		},
		{
			name: "authorize without response_type", method: "GET",
			url:  issuer + "/authorize?client_id=SkyVaultapp&state=xyz&redirect_uri=" + cb,
			user: "admin", password: "tiger", status: 302, redirected: "invalid_request",
		},
		{
			name: "authorize an unknown scope", method: "GET", url: authorize + "&scope=admin",
			user: "admin", password: "tiger", status: 302, redirected: "invalid_scope",
		},
		{
			name: "token as written: no /oauth/token path", method: "POST",
			url:  issuer + "/grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&redirect_uri=" + cb,
			user: "SkyVaultapp", password: "secret", status: 404,
		},
		{
			name: "token with an unknown code", method: "POST",
			url:  issuer + "/oauth/token?grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&redirect_uri=" + cb,
			user: "SkyVaultapp", password: "secret", status: 400, body: `"invalid_grant"`,
		},
		{
			name: "token with a wrong client secret", method: "POST",
			url:  issuer + "/oauth/token?username=admin&password=tiger&grant_type=password",
			user: "SkyVaultapp", password: "tiger", status: 401, body: `"invalid_client"`,
			header: http.Header{"Www-Authenticate": {`Basic realm="` + issuer + `"`}},
		},
		{
			name: "token without client authentication", method: "POST",
			url: issuer + "/oauth/token?username=admin&password=tiger&grant_type=password", status: 400, body: `"invalid_client"`, // 401 only after an Authorization header (RFC 6749 §5.2)
		},
		{
			name: "password grant with a wrong password", method: "POST",
			url:  issuer + "/oauth/token?username=admin&password=admin&grant_type=password",
			user: "SkyVaultapp", password: "secret", status: 400, body: `"invalid_grant"`,
		},
		{
			name: "password grant without a password", method: "POST", url: issuer + "/oauth/token?username=admin&grant_type=password",
			user: "SkyVaultapp", password: "secret", status: 400, body: `"invalid_request"`,
		},
		{
			name: "external_token with the platform's password, not the upstream's", method: "POST",
			url:  issuer + "/oauth/token?username=admin&password=tiger&access_token=upstream-AT-fedcba98_7654_3210_0123_456789abcdef&grant_type=external_token",
			user: "SkyVaultapp", password: "secret", status: 400, body: `"invalid_grant"`,
		},
		{
			name: "an unknown grant type", method: "POST", url: issuer + "/oauth/token?grant_type=magic",
			user: "SkyVaultapp", password: "secret", status: 400, body: `"unsupported_grant_type"`,
		},
		{
			name: "a parameter in both the query and the body", method: "POST",
			url: issuer + "/oauth/token?username=admin&password=tiger&grant_type=password", form: url.Values{"grant_type": {"password"}},
			user: "SkyVaultapp", password: "secret", status: 400, body: `"invalid_request"`,
		},
		{
			name: "token by GET", method: "GET", url: issuer + "/oauth/token?grant_type=client_credentials",
			user: "SkyVaultapp", password: "secret", status: 405, header: http.Header{"Allow": {"POST"}},
		},
		{
			name: "secure without a token", method: "GET", url: issuer + "/secure", status: 401,
			header: http.Header{"Www-Authenticate": {`Bearer realm="SkyVault"`}},
		},
		{
			name: "secure with the token in the query (RFC 6750 §2.3, never read)", method: "GET",
			url: issuer + "/secure?access_token=upstream-AT-821c99d4_2c9f_4990_b68d_18eacaff54b2", status: 401,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := curl(t, tc.method, tc.url, tc.user, tc.password, tc.form)
			if a.status != tc.status || !strings.Contains(a.body, tc.body) {
				t.Errorf("%d %q, want %d and %q", a.status, a.body, tc.status, tc.body)
			}
			for name, want := range tc.header {
				if got := a.header.Values(name); !cmp.Equal(got, want) {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			switch {
			case tc.redirected != "":
				loc := a.location(t)
				if loc.Scheme+"://"+loc.Host+loc.Path != redirectURI || loc.Query().Get("error") != tc.redirected {
					t.Errorf("redirected to %s, want %s with error %s", loc, redirectURI, tc.redirected)
				}
			case tc.status != http.StatusTemporaryRedirect && a.header.Get("Location") != "":
				t.Errorf("redirected to %s", a.header.Get("Location"))
			}
		})
	}
	if a := secureWith(t, ts, "upstream-AT-821c99d4_2c9f_4990_b68d_18eacaff54b2"); a.status != 401 ||
		!strings.Contains(a.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("/secure with an unknown token: %d %q, want 401 invalid_token", a.status, a.header.Get("WWW-Authenticate"))
	}
}

// TestOAuth2Client drives the example with golang.org/x/oauth2, a client
// that follows RFC 6749 (parameters in the body), as ordinary clients do.
func TestOAuth2Client(t *testing.T) {
	ts := startApp(t)
	ctx := context.Background()
	conf := &oauth2.Config{
		ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURI,
		Endpoint: oauth2.Endpoint{AuthURL: ts.URL + pathAuthorize, TokenURL: ts.URL + pathToken, AuthStyle: oauth2.AuthStyleInHeader},
	}
	check := func(name string, tok *oauth2.Token, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp, err := conf.Client(ctx, tok).Get(ts.URL + pathSecure)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "Secure Hello!" {
			t.Errorf("%s: /secure %d %q", name, resp.StatusCode, body)
		}
	}

	verifier := oauth2.GenerateVerifier()
	a := curl(t, "GET", conf.AuthCodeURL("xyz", oauth2.S256ChallengeOption(verifier)), "admin", "tiger", nil)
	tok, err := conf.Exchange(ctx, a.location(t).Query().Get("code"), oauth2.VerifierOption(verifier))
	check("authorization code with PKCE", tok, err)

	tok, err = conf.PasswordCredentialsToken(ctx, "admin", "tiger")
	check("password", tok, err)
	if tok.ExpiresIn != 1799 || tok.RefreshToken == "" || tok.Type() != "Bearer" {
		t.Errorf("password: expires_in %d, refresh token %t, type %q", tok.ExpiresIn, tok.RefreshToken != "", tok.Type())
	}
	tok.Expiry = time.Now().Add(-time.Minute) // expired: the client refreshes it
	refreshed, err := conf.TokenSource(ctx, tok).Token()
	check("refresh", refreshed, err)
	if refreshed.AccessToken == tok.AccessToken {
		t.Errorf("refresh: the same access token")
	}

	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: ts.URL + pathToken, AuthStyle: oauth2.AuthStyleInHeader}
	tok, err = cc.Token(ctx)
	check("client credentials", tok, err)
}

// TestBanner runs the requests of the banner that need no value from an
// earlier answer, as pasted.
func TestBanner(t *testing.T) {
	ts := startApp(t)
	var out bytes.Buffer
	banner(&out, ts.URL)
	line := regexp.MustCompile(`^curl (?:-i )?-XPOST -u ([^:]+):(\S+) '([^']+)'$`)
	ran := 0
	for s := bufio.NewScanner(&out); s.Scan(); {
		m := line.FindStringSubmatch(s.Text())
		if m == nil || strings.Contains(m[3], "CODE") || strings.Contains(m[3], "REFRESH_TOKEN") {
			continue
		}
		ran++
		a := curl(t, "POST", m[3], m[1], m[2], nil)
		if a.status != 200 && a.status != 302 || a.header.Get("Location") != "" && a.location(t).Query().Get("error") != "" {
			t.Errorf("%s: %d %s %s", s.Text(), a.status, a.header.Get("Location"), a.body)
		}
	}
	if ran != 5 {
		t.Errorf("ran %d requests of the banner, want 5:\n%s", ran, out.String())
	}
}
