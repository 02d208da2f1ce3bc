package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit/storage/memory"
	"github.com/oauthkit/oauthkit/storage/tenant"
)

// testSecret is the demo client's secret at both tenants.
var testSecret = rand.Text() + rand.Text()

const testAdmin = "admin-password"

// app is the example running on a free port.
type app struct {
	*hub
	base string
}

// startApp runs the example on a free port with store shared by its
// tenants.
func startApp(t *testing.T, store tenant.Store) *app {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	h, err := newApp(t.Context(), config{Base: base, Store: store, ClientSecret: testSecret, AdminPassword: testAdmin,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = h
	ts.Start()
	t.Cleanup(ts.Close)
	return &app{h, base}
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

// location returns the query of the redirect to the client's redirect URI.
func (a answer) location(t *testing.T) url.Values {
	t.Helper()
	u, err := url.Parse(a.header.Get("Location"))
	if err != nil || a.status/100 != 3 || !strings.HasPrefix(u.String(), redirectURI+"?") {
		t.Fatalf("%d %q %q: want a redirect to %s", a.status, a.header.Get("Location"), a.body, redirectURI)
	}
	return u.Query()
}

// do sends a request, a form body if form is set, following no redirect;
// user, if set, authenticates by HTTP Basic.
func do(t *testing.T, method, rawURL string, form url.Values, user, password string, header ...string) answer {
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
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
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

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	hiddenRe   = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// signIn opens the authorization URL, checks the login page, and posts it
// back with the user's name and password, as a browser would; it returns
// the answer to the post.
func signIn(t *testing.T, authURL, user, password string) answer {
	t.Helper()
	page := do(t, http.MethodGet, authURL, nil, "", "")
	m := formAction.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil {
		t.Fatalf("GET %s: %d %q, want the login page", authURL, page.status, page.body)
	}
	if got := page.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("login page Cache-Control %q, want no-store", got)
	}
	form := url.Values{"username": {user}, "password": {password}}
	for _, f := range hiddenRe.FindAllStringSubmatch(page.body, -1) {
		form.Add(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	u, _ := url.Parse(authURL)
	return do(t, http.MethodPost, u.Scheme+"://"+u.Host+html.UnescapeString(m[1]), form, "", "")
}

// authURL is an authorization request of the demo client at tenant id,
// with PKCE for verifier (none if empty) and params added.
func (a *app) authURL(id, path, verifier string, params ...string) string {
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"scope": {"profile orders"}, "state": {"xyz"}}
	if verifier != "" {
		q.Set("code_challenge", oauth2.S256ChallengeFromVerifier(verifier))
		q.Set("code_challenge_method", "S256")
	}
	for i := 0; i+1 < len(params); i += 2 {
		q.Set(params[i], params[i+1])
	}
	return a.base + "/" + id + path + "?" + q.Encode()
}

// code signs user in at tenant id and returns the code and its verifier.
func (a *app) code(t *testing.T, id, user, password string) (code, verifier string) {
	t.Helper()
	verifier = oauth2.GenerateVerifier()
	q := signIn(t, a.authURL(id, pathAuth, verifier), user, password).location(t)
	if q.Get("code") == "" || q.Get("state") != "xyz" || q.Get("iss") != a.base+"/"+id {
		t.Fatalf("authorization response %v, want a code, state xyz and iss %s/%s", q, a.base, id)
	}
	return q.Get("code"), verifier
}

// token posts form to the token endpoint of tenant id at path, with the
// demo client's credentials.
func (a *app) token(t *testing.T, id, path string, form url.Values) answer {
	t.Helper()
	return do(t, http.MethodPost, a.base+"/"+id+path, form, clientID, testSecret)
}

// redeem exchanges a code at tenant id.
func (a *app) redeem(t *testing.T, id, code, verifier string) answer {
	t.Helper()
	return a.token(t, id, pathToken, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier}})
}

// refresh exchanges a refresh token at tenant id.
func (a *app) refresh(t *testing.T, id, rt string) answer {
	t.Helper()
	return a.token(t, id, pathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

// me calls tenant id's API with an access token.
func (a *app) me(t *testing.T, id, at string) answer {
	t.Helper()
	return do(t, http.MethodGet, a.base+"/"+id+pathMe, nil, "", "", "Authorization", "Bearer "+at)
}

// admin calls an admin route of tenant id.
func (a *app) admin(t *testing.T, method, id, path string, form url.Values) answer {
	t.Helper()
	return do(t, method, a.base+"/"+id+"/admin/users/"+path, form, "admin", testAdmin)
}

// tokenShape is what a token response shows, values replaced by whether
// they are there.
type tokenShape struct {
	AccessToken, RefreshToken bool
	TokenType                 string
	ExpiresIn                 float64
	Scope                     string
}

// checkHeaders checks the headers the document shows on every token
// response (RFC 6749 §5.1).
func checkHeaders(t *testing.T, a answer) {
	t.Helper()
	for name, want := range map[string]string{"Content-Type": "application/json;charset=UTF-8", "Cache-Control": "no-store", "Pragma": "no-cache"} {
		if got := a.header.Get(name); got != want {
			t.Errorf("token response %s %q, want %q", name, got, want)
		}
	}
}

// checkToken checks a token response against the document's, and returns
// its access and refresh tokens.
func checkToken(t *testing.T, a answer, want tokenShape) (at, rt string) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("token response %d %s, want 200", a.status, a.body)
	}
	checkHeaders(t, a)
	m := a.json(t)
	at, _ = m["access_token"].(string)
	rt, _ = m["refresh_token"].(string)
	got := tokenShape{AccessToken: at != "", RefreshToken: rt != ""}
	got.TokenType, _ = m["token_type"].(string)
	got.ExpiresIn, _ = m["expires_in"].(float64)
	got.Scope, _ = m["scope"].(string)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("token response %s (-want +got):\n%s", a.body, diff)
	}
	return at, rt
}

// checkError checks a token error response: status, error code and the
// document's headers.
func checkError(t *testing.T, what string, a answer, status int, code string) {
	t.Helper()
	if a.status != status || a.json(t)["error"] != code {
		t.Errorf("%s: %d %s, want %d %s", what, a.status, a.body, status, code)
	}
	checkHeaders(t, a)
}

var full = tokenShape{AccessToken: true, RefreshToken: true, TokenType: "Bearer", ExpiresIn: 600, Scope: "profile orders"}

// TestDocument replays the document's three steps at tenant acme, with a
// memory store.
func TestDocument(t *testing.T) { replayDocument(t, startApp(t, memory.NewStore())) }

func replayDocument(t *testing.T, a *app) {
	// Step 1: GET /{tenant}/oauth2/v1/auth/?…&scope=[SCOPES]&state=[STATE], with PKCE.
	code, verifier := a.code(t, "acme", "alice", "wonderland")
	// Step 2: POST /{tenant}/oauth2/v1/token/ with the code, the redirect URI and the app's credentials.
	at, rt := checkToken(t, a.redeem(t, "acme", code, verifier), full)
	if m := a.me(t, "acme", at).json(t); m["sub"] != "alice" || m["iss"] != a.base+"/acme" {
		t.Errorf("API with the access token: %v", m)
	}
	// Step 3: refresh while alice is offline (no browser, no session):
	// each refresh returns a new access token and refresh token.
	for range 3 {
		prev := rt
		at, rt = checkToken(t, a.refresh(t, "acme", rt), full)
		if rt == prev {
			t.Error("refresh returned the same refresh token")
		}
	}
	if got := a.me(t, "acme", at); got.status != http.StatusOK {
		t.Errorf("API with the refreshed access token: %d %s", got.status, got.body)
	}
	// The user is blocked: the refresh token stops working, and so do the
	// access token and signing in.
	if got := a.admin(t, http.MethodPost, "acme", "alice/block", nil); got.status != http.StatusNoContent {
		t.Fatalf("block alice: %d %s", got.status, got.body)
	}
	checkError(t, "refresh after alice was blocked", a.refresh(t, "acme", rt), http.StatusBadRequest, "invalid_grant")
	if got := a.me(t, "acme", at); got.status != http.StatusUnauthorized || !strings.HasPrefix(got.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("API after alice was blocked: %d %v, want 401 with a Bearer challenge", got.status, got.header)
	}
	q := signIn(t, a.authURL("acme", pathAuth, oauth2.GenerateVerifier()), "alice", "wonderland").location(t)
	if q.Get("error") != "access_denied" || q.Get("state") != "xyz" {
		t.Errorf("blocked alice signing in: %v, want access_denied", q)
	}
}

// TestPaths serves the document's endpoints with and without their
// trailing slash, and publishes them in each tenant's metadata.
func TestPaths(t *testing.T) {
	a := startApp(t, memory.NewStore())
	for _, auth := range []string{pathAuth, strings.TrimSuffix(pathAuth, "/")} {
		for _, tok := range []string{pathToken, strings.TrimSuffix(pathToken, "/")} {
			t.Run(auth+" "+tok, func(t *testing.T) {
				verifier := oauth2.GenerateVerifier()
				q := signIn(t, a.authURL("globex", auth, verifier), "alice", "looking-glass").location(t)
				form := url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
				_, rt := checkToken(t, a.token(t, "globex", tok, form), tokenShape{true, true, "Bearer", 3600, "profile orders"})
				checkToken(t, a.token(t, "globex", tok, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}),
					tokenShape{true, true, "Bearer", 3600, "profile orders"})
			})
		}
	}
	t.Run("the document's ?&", func(t *testing.T) {
		// GET /{tenant}/oauth2/v1/auth/?&scope=[SCOPES]&state=[STATE]: an empty
		// first parameter, and no redirect_uri, the client having one.
		u := strings.Replace(a.authURL("acme", pathAuth, oauth2.GenerateVerifier()), "?", "?&", 1)
		u = strings.Replace(u, "redirect_uri="+url.QueryEscape(redirectURI), "", 1)
		if q := signIn(t, u, "alice", "wonderland").location(t); q.Get("code") == "" {
			t.Errorf("authorization response %v, want a code", q)
		}
	})
	for _, id := range []string{"acme", "globex"} {
		iss := a.base + "/" + id
		m := do(t, http.MethodGet, a.base+"/.well-known/oauth-authorization-server/"+id, nil, "", "").json(t)
		want := map[string]any{"issuer": iss, "authorization_endpoint": iss + pathAuth, "token_endpoint": iss + pathToken, "jwks_uri": iss + pathKeys}
		got := map[string]any{}
		for k := range want {
			got[k] = m[k]
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("metadata of %s (-want +got):\n%s", id, diff)
		}
	}
}

// TestClient runs the flow with golang.org/x/oauth2, checking the JWT
// access token with the tenant's published keys.
func TestClient(t *testing.T) {
	a := startApp(t, memory.NewStore())
	iss := a.base + "/acme"
	cfg := oauth2.Config{ClientID: clientID, ClientSecret: testSecret, RedirectURL: redirectURI, Scopes: []string{"profile"},
		Endpoint: oauth2.Endpoint{AuthURL: iss + pathAuth, TokenURL: iss + pathToken, AuthStyle: oauth2.AuthStyleInHeader}}
	verifier := oauth2.GenerateVerifier()
	q := signIn(t, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), "bob", "builder").location(t)
	tok, err := cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSigned(tok.AccessToken, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var keys jose.JSONWebKeySet
	json.Unmarshal([]byte(do(t, http.MethodGet, iss+pathKeys, nil, "", "").body), &keys)
	payload, err := jws.Verify(keys.Key(jws.Signatures[0].Header.KeyID)[0])
	if err != nil {
		t.Fatalf("the access token does not verify with acme's keys: %v", err)
	}
	var claims struct{ Iss, Sub, Scope string }
	json.Unmarshal(payload, &claims)
	if claims.Iss != iss || claims.Sub != "bob" || claims.Scope != "profile" {
		t.Errorf("access token claims %+v", claims)
	}
	tok.Expiry = time.Now().Add(-time.Minute) // make the client refresh
	next, err := cfg.TokenSource(t.Context(), tok).Token()
	if err != nil || next.AccessToken == tok.AccessToken || next.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh with x/oauth2: %v", err)
	}
}

// TestRefreshPolicy checks the refresh-time policy on its own: a user
// blocked in the directory (by another system, say, with no revocation)
// is refused, and a refresh grants only the rights the user still holds.
func TestRefreshPolicy(t *testing.T) {
	a := startApp(t, memory.NewStore())
	code, verifier := a.code(t, "acme", "alice", "wonderland")
	_, rt := checkToken(t, a.redeem(t, "acme", code, verifier), full)

	if got := a.admin(t, http.MethodPut, "acme", "alice/rights", url.Values{"scope": {"profile"}}); got.status != http.StatusNoContent {
		t.Fatalf("set rights: %d %s", got.status, got.body)
	}
	narrow := tokenShape{true, true, "Bearer", 600, "profile"}
	_, rt = checkToken(t, a.refresh(t, "acme", rt), narrow)
	// RFC 6749 §6: the new refresh token keeps the original scope; with
	// the right back, the next refresh grants it again.
	a.admin(t, http.MethodPut, "acme", "alice/rights", url.Values{"scope": {"profile orders"}})
	_, rt = checkToken(t, a.refresh(t, "acme", rt), full)

	a.admin(t, http.MethodPut, "acme", "alice/rights", url.Values{"scope": {""}})
	checkError(t, "refresh with no rights left", a.refresh(t, "acme", rt), http.StatusBadRequest, "invalid_grant")
	a.admin(t, http.MethodPut, "acme", "alice/rights", url.Values{"scope": {"profile orders"}})
	// A refusal neither rotates nor revokes: the token works again.
	_, rt = checkToken(t, a.refresh(t, "acme", rt), full)

	a.byID["acme"].users.update("alice", func(u *user) { u.blocked = true })
	checkError(t, "refresh of a user blocked in the directory", a.refresh(t, "acme", rt), http.StatusBadRequest, "invalid_grant")
	a.byID["acme"].users.update("alice", func(u *user) { u.blocked = false })
	checkToken(t, a.refresh(t, "acme", rt), full)
}

// TestErrors replays the negative cases: each is refused with the RFC's
// error, where the RFC puts it.
func TestErrors(t *testing.T) {
	a := startApp(t, memory.NewStore())

	redirected := []struct {
		name, url, user, password, wantError string
	}{
		{"no PKCE (RFC 9700 §2.1.1)", a.authURL("acme", pathAuth, ""), "", "", "invalid_request"},
		{"plain PKCE", a.authURL("acme", pathAuth, "", "code_challenge", strings.Repeat("a", 43), "code_challenge_method", "plain"), "", "", "invalid_request"},
		{"unknown scope", a.authURL("acme", pathAuth, oauth2.GenerateVerifier(), "scope", "admin"), "", "", "invalid_scope"},
		{"a scope the user does not hold", a.authURL("acme", pathAuth, oauth2.GenerateVerifier(), "scope", "orders"), "bob", "builder", "access_denied"},
	}
	for _, c := range redirected {
		t.Run(c.name, func(t *testing.T) {
			var got answer
			if c.user == "" {
				got = do(t, http.MethodGet, c.url, nil, "", "")
			} else {
				got = signIn(t, c.url, c.user, c.password)
			}
			if q := got.location(t); q.Get("error") != c.wantError || q.Get("state") != "xyz" {
				t.Errorf("redirected %v, want error %s and state xyz", q, c.wantError)
			}
		})
	}

	notRedirected := []struct{ name, url string }{
		{"unknown client", a.authURL("acme", pathAuth, oauth2.GenerateVerifier(), "client_id", "other")},
		{"unregistered redirect URI", a.authURL("acme", pathAuth, oauth2.GenerateVerifier(), "redirect_uri", "https://evil.example/cb")},
	}
	for _, c := range notRedirected {
		t.Run(c.name, func(t *testing.T) {
			if got := do(t, http.MethodGet, c.url, nil, "", ""); got.status != http.StatusBadRequest || got.header.Get("Location") != "" {
				t.Errorf("%d Location %q, want 400 and no redirect (RFC 6749 §4.1.2.1)", got.status, got.header.Get("Location"))
			}
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		got := signIn(t, a.authURL("acme", pathAuth, oauth2.GenerateVerifier()), "alice", "looking-glass")
		if got.status != http.StatusOK || !strings.Contains(got.body, "Wrong username or password") || got.header.Get("Location") != "" {
			t.Errorf("%d %q, want the login page again", got.status, got.body)
		}
	})

	t.Run("token endpoint", func(t *testing.T) {
		code, _ := a.code(t, "acme", "alice", "wonderland")
		checkError(t, "wrong code_verifier", a.redeem(t, "acme", code, oauth2.GenerateVerifier()), http.StatusBadRequest, "invalid_grant")
		code, _ = a.code(t, "acme", "alice", "wonderland")
		noVerifier := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
		checkError(t, "no code_verifier", a.token(t, "acme", pathToken, noVerifier), http.StatusBadRequest, "invalid_grant")
		code, verifier := a.code(t, "acme", "alice", "wonderland")
		otherRedirect := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://app.example.com/other"}, "code_verifier": {verifier}}
		checkError(t, "another redirect_uri", a.token(t, "acme", pathToken, otherRedirect), http.StatusBadRequest, "invalid_grant")
		code, verifier = a.code(t, "acme", "alice", "wonderland")
		wrongSecret := do(t, http.MethodPost, a.base+"/acme"+pathToken, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {redirectURI}, "code_verifier": {verifier}}, clientID, "wrong")
		checkError(t, "wrong client secret", wrongSecret, http.StatusUnauthorized, "invalid_client")
		_, rt := checkToken(t, a.redeem(t, "acme", code, verifier), full)
		checkError(t, "the code again", a.redeem(t, "acme", code, verifier), http.StatusBadRequest, "invalid_grant")
		checkError(t, "the refresh token of a replayed code", a.refresh(t, "acme", rt), http.StatusBadRequest, "invalid_grant")
		checkError(t, "unknown refresh token", a.refresh(t, "acme", rand.Text()), http.StatusBadRequest, "invalid_grant")
		checkError(t, "no grant_type", a.token(t, "acme", pathToken, url.Values{}), http.StatusBadRequest, "invalid_request")
		checkError(t, "GET", do(t, http.MethodGet, a.base+"/acme"+pathToken, nil, clientID, testSecret), http.StatusMethodNotAllowed, "invalid_request")
	})

	t.Run("rotated refresh token reused", func(t *testing.T) {
		code, verifier := a.code(t, "globex", "alice", "looking-glass")
		_, rt := checkToken(t, a.redeem(t, "globex", code, verifier), tokenShape{true, true, "Bearer", 3600, "profile orders"})
		_, next := checkToken(t, a.refresh(t, "globex", rt), tokenShape{true, true, "Bearer", 3600, "profile orders"})
		checkError(t, "the old refresh token", a.refresh(t, "globex", rt), http.StatusBadRequest, "invalid_grant")
		checkError(t, "the new one, after the reuse (RFC 9700 §4.14.2)", a.refresh(t, "globex", next), http.StatusBadRequest, "invalid_grant")
	})

	t.Run("admin", func(t *testing.T) {
		for _, c := range []struct {
			name, user, password, path string
			want                       int
		}{
			{"no credentials", "", "", "acme/admin/users/alice/block", http.StatusUnauthorized},
			{"wrong password", "admin", "wrong", "acme/admin/users/alice/block", http.StatusUnauthorized},
			{"a tenant user's credentials", "alice", "wonderland", "acme/admin/users/alice/block", http.StatusUnauthorized},
			{"unknown user", "admin", testAdmin, "acme/admin/users/carol/block", http.StatusNotFound},
			{"unknown tenant", "admin", testAdmin, "initech/admin/users/alice/block", http.StatusNotFound},
		} {
			if got := do(t, http.MethodPost, a.base+"/"+c.path, nil, c.user, c.password); got.status != c.want {
				t.Errorf("%s: %d, want %d", c.name, got.status, c.want)
			}
		}
		for _, c := range []struct {
			name, path string
			form       url.Values
			want       int
		}{
			{"rights without scope", "alice/rights", url.Values{"rights": {"profile"}}, http.StatusBadRequest},
			{"rights too long", "alice/rights", url.Values{"scope": {strings.Repeat("profile ", 1000)}}, http.StatusBadRequest},
			{"rights of an unknown user", "carol/rights", url.Values{"scope": {"profile"}}, http.StatusNotFound},
		} {
			if got := a.admin(t, http.MethodPut, "acme", c.path, c.form); got.status != c.want {
				t.Errorf("%s: %d, want %d", c.name, got.status, c.want)
			}
		}
		if rights, _ := a.byID["acme"].users.active("alice"); !cmp.Equal(rights, []string{"profile", "orders"}) {
			t.Errorf("alice's rights after refused changes: %v", rights)
		}
	})

	t.Run("unknown tenant", func(t *testing.T) {
		for _, path := range []string{"/initech" + pathAuth, "/initech" + pathToken, "/initech" + pathKeys, "/initech" + pathMe,
			"/.well-known/oauth-authorization-server/initech", "/Acme" + pathToken} {
			if got := do(t, http.MethodGet, a.base+path, nil, "", ""); got.status != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", path, got.status)
			}
		}
	})
}

// TestTenantIsolation shows that everything of one tenant is refused at
// the other, though both have a client of the same ID and secret and a
// user of the same name, in one store.
func TestTenantIsolation(t *testing.T) { isolation(t, startApp(t, memory.NewStore())) }

func isolation(t *testing.T, a *app) {
	code, verifier := a.code(t, "acme", "alice", "wonderland")
	checkError(t, "acme's code at globex", a.redeem(t, "globex", code, verifier), http.StatusBadRequest, "invalid_grant")
	at, rt := checkToken(t, a.redeem(t, "acme", code, verifier), full) // untouched by globex's refusal
	checkError(t, "acme's refresh token at globex", a.refresh(t, "globex", rt), http.StatusBadRequest, "invalid_grant")
	if got := a.me(t, "globex", at); got.status != http.StatusUnauthorized {
		t.Errorf("acme's access token at globex's API: %d %s, want 401", got.status, got.body)
	}
	if got := signIn(t, a.authURL("globex", pathAuth, oauth2.GenerateVerifier()), "alice", "wonderland"); !strings.Contains(got.body, "Wrong username or password") {
		t.Errorf("acme alice's password at globex: %d %q, want the login page again", got.status, got.body)
	}
	if do(t, http.MethodGet, a.base+"/acme"+pathKeys, nil, "", "").body == do(t, http.MethodGet, a.base+"/globex"+pathKeys, nil, "", "").body {
		t.Error("acme and globex publish the same keys")
	}

	// Blocking alice at acme leaves globex's alice alone.
	gcode, gverifier := a.code(t, "globex", "alice", "looking-glass")
	_, grt := checkToken(t, a.redeem(t, "globex", gcode, gverifier), tokenShape{true, true, "Bearer", 3600, "profile orders"})
	if got := a.admin(t, http.MethodPost, "acme", "alice/block", nil); got.status != http.StatusNoContent {
		t.Fatalf("block alice at acme: %d %s", got.status, got.body)
	}
	checkError(t, "acme alice's refresh token after she was blocked", a.refresh(t, "acme", rt), http.StatusBadRequest, "invalid_grant")
	checkToken(t, a.refresh(t, "globex", grt), tokenShape{true, true, "Bearer", 3600, "profile orders"})
}

// envPostgres names the environment variable with the test database's URL,
// as for package storage/postgres.
const envPostgres = "OAUTHKIT_POSTGRES_URL"

// TestPostgres runs the document, the isolation test and a restart with
// -store postgres://…, in a schema of its own.
func TestPostgres(t *testing.T) {
	base := os.Getenv(envPostgres)
	if base == "" {
		t.Skipf("%s is not set; to run: %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go test ./multitenant", envPostgres, envPostgres)
	}
	schema := "oauthkit_multitenant_" + strings.ToLower(rand.Text())
	exec := func(sql string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("CREATE SCHEMA " + schema)
	t.Cleanup(func() { exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	open := func() tenant.Store {
		store, err := openStore(t.Context(), u.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(store.(interface{ Close() }).Close)
		return store
	}
	store := open()
	t.Run("document", func(t *testing.T) { replayDocument(t, startApp(t, store)) })
	t.Run("isolation", func(t *testing.T) { isolation(t, startApp(t, store)) })
	t.Run("restart", func(t *testing.T) {
		a := startApp(t, store)
		code, verifier := a.code(t, "globex", "alice", "looking-glass")
		_, rt := checkToken(t, a.redeem(t, "globex", code, verifier), tokenShape{true, true, "Bearer", 3600, "profile orders"})
		// A new process on the same database: the clients are updated, the
		// refresh token still works.
		checkToken(t, startApp(t, open()).refresh(t, "globex", rt), tokenShape{true, true, "Bearer", 3600, "profile orders"})
	})
}
