package main

import (
	"bytes"
	stdcmp "cmp"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/dpop"
	"github.com/oauthkit/oauthkit/pkce"
)

// env is the app on an httptest server, and a browser that stops at every
// redirect.
type env struct {
	ts      *httptest.Server
	app     *app
	browser *http.Client
}

func newEnv(t *testing.T, cfg config) *env {
	t.Helper()
	e := &env{}
	e.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.app.ServeHTTP(w, r) }))
	t.Cleanup(e.ts.Close)
	cfg.Issuer = e.ts.URL
	cfg.Logger = slog.New(slog.DiscardHandler)
	var err error
	if e.app, err = newApp(cfg); err != nil {
		t.Fatal(err)
	}
	e.browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

// A tool's DPoP key.
type toolKey struct {
	priv ed25519.PrivateKey
	jkt  string
}

func newToolKey(t *testing.T) toolKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jkt, err := dpop.Thumbprint(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return toolKey{priv, jkt}
}

// sameDevice is the redirect URI of a tool listening on a loopback port.
const sameDevice = "http://127.0.0.1:53121/oauth/callback"

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

// signIn walks the code flow's pages as a browser would: the authorization
// request, the login form posted back with alice's password, and the
// redirect to the client, or for the cross-device client the confirmation
// page that shows the code. It returns the code.
func (e *env) signIn(t *testing.T, clientID, redirectURI, verifier string) string {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI}, "scope": {"openid"},
		"state": {"st"}, "code_challenge": {pkce.Challenge(verifier)}, "code_challenge_method": {"S256"}}
	return e.signInAt(t, e.ts.URL+pathAuthorize+"?"+q.Encode(), redirectURI)
}

// signInAt is signIn for the authorization request authURL, whose state
// is st.
func (e *env) signInAt(t *testing.T, authURL, redirectURI string) string {
	t.Helper()
	page := e.get(t, authURL)
	form := url.Values{"username": {"alice"}, "password": {"wonderland"}}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		form.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	resp, err := e.browser.PostForm(e.ts.URL+pathAuthorize, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc.String(), redirectURI+"?") {
		t.Fatalf("login: %d, Location %q; want a redirect to %s", resp.StatusCode, resp.Header.Get("Location"), redirectURI)
	}
	if got, want := loc.Query().Get("state"), must(url.Parse(authURL)).Query().Get("state"); got != want {
		t.Fatalf("state %q", got)
	}
	if !strings.HasPrefix(redirectURI, e.ts.URL+pathConfirmation) {
		return loc.Query().Get("code")
	}
	m := regexp.MustCompile(`<code id="code">([^<]+)</code>`).FindStringSubmatch(e.get(t, loc.String()))
	if m == nil {
		t.Fatal("the confirmation page shows no code")
	}
	return html.UnescapeString(m[1])
}

// get returns the body of a 200 answer to a GET.
func (e *env) get(t *testing.T, u string) string {
	t.Helper()
	resp, err := e.browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

// answer is a response of the token endpoint.
type answer struct {
	status int
	header http.Header
	body   map[string]any
}

// kind is the document's error name of an error answer.
func (a answer) kind() string { s, _ := a.body["error"].(string); return s }

// token posts a JSON body to /v1/token with a proof of key, if it is not
// nil.
func (e *env) token(t *testing.T, key *toolKey, contentType, body string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.ts.URL+pathToken, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if key != nil {
		p, err := proof(key.priv, http.MethodPost, e.ts.URL+pathToken)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("DPoP", p)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	if err := json.NewDecoder(resp.Body).Decode(&a.body); err != nil {
		t.Fatalf("%d: body is not JSON: %v", resp.StatusCode, err)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q", got)
	}
	if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
		t.Errorf("Content-Type %q", got)
	}
	return a
}

// post is token with a JSON object of string members.
func (e *env) post(t *testing.T, key *toolKey, members map[string]string) answer {
	t.Helper()
	b, err := json.Marshal(members)
	if err != nil {
		t.Fatal(err)
	}
	return e.token(t, key, "application/json", string(b))
}

func exchange(clientID, code, verifier, redirectURI string) map[string]string {
	return map[string]string{"clientId": clientID, "grantType": "authorization_code", "code": code,
		"codeVerifier": verifier, "redirectUri": redirectURI}
}

func refresh(clientID, token string) map[string]string {
	return map[string]string{"clientId": clientID, "grantType": "refresh_token", "refreshToken": token}
}

// checkSuccess checks a 200 answer against the document's response
// syntax, and that its tokens are bound to key, and returns its
// refreshToken and the accessToken's sessionToken.
func (e *env) checkSuccess(t *testing.T, a answer, key toolKey, withIDToken bool) (refreshToken, session string) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("%d %v; want 200", a.status, a.body)
	}
	want := []string{"accessToken", "expiresIn", "refreshToken", "tokenType"}
	if withIDToken {
		want = append(want, "idToken")
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, slices.Sorted(maps.Keys(a.body))); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	if a.body["tokenType"] != tokenTypeSigV4 {
		t.Errorf("tokenType %v", a.body["tokenType"])
	}
	if exp, _ := a.body["expiresIn"].(float64); exp < 1 || exp > 900 {
		t.Errorf("expiresIn %v, want 1 to 900", a.body["expiresIn"])
	}
	creds, _ := a.body["accessToken"].(map[string]any)
	session, _ = creds["sessionToken"].(string)
	id, secret := e.app.minter.credentials(session)
	if diff := cmp.Diff(map[string]any{"accessKeyId": id, "secretAccessKey": secret, "sessionToken": session}, creds); diff != "" || session == "" {
		t.Errorf("accessToken (-want +got):\n%s", diff)
	}
	if len(id) != 20 || len(secret) != 40 {
		t.Errorf("accessKeyId %q, secretAccessKey of %d characters", id, len(secret))
	}
	refreshToken, _ = a.body["refreshToken"].(string)
	// Both are bound to the proof's key (cnf.jkt).
	ctx := t.Context()
	if tok, err := e.app.srv.ValidateAccessToken(ctx, session); err != nil || tok.JKT != key.jkt {
		t.Errorf("session token: %+v, %v; want bound to %s", tok, err, key.jkt)
	}
	if tok, err := e.app.store.Token(ctx, oauthkit.HashToken(refreshToken), time.Now()); err != nil || tok.JKT != key.jkt || tok.Kind != oauthkit.RefreshToken {
		t.Errorf("refresh token: %+v, %v; want bound to %s", tok, err, key.jkt)
	}
	if withIDToken {
		keys := oidc.NewRemoteKeySet(ctx, e.ts.URL+pathJWKS)
		v := oidc.NewVerifier(e.ts.URL, keys, &oidc.Config{ClientID: e.clientOf(t, refreshToken), SupportedSigningAlgs: []string{"ES256"}})
		idToken, err := v.Verify(ctx, a.body["idToken"].(string))
		if err != nil || idToken.Subject != "alice" {
			t.Errorf("idToken: %v, %v", idToken, err)
		}
	}
	return refreshToken, session
}

func (e *env) clientOf(t *testing.T, refreshToken string) string {
	tok, err := e.app.store.Token(t.Context(), oauthkit.HashToken(refreshToken), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok.ClientID
}

// checkError checks an error answer's status and the document's error
// name.
func checkError(t *testing.T, a answer, status int, kind string) {
	t.Helper()
	if a.status != status || a.kind() != kind {
		t.Errorf("%d %v; want %d %s", a.status, a.body, status, kind)
	}
}

// TestSameDevice replays the document's two requests for the same-device
// client: the code exchange (credentials, ID token, bound refresh token)
// and refreshes, a refresh with another key refused, and a reused rotated
// refresh token revoking the family.
func TestSameDevice(t *testing.T) {
	e := newEnv(t, config{})
	key, other := newToolKey(t), newToolKey(t)
	verifier := newVerifier(t)
	code := e.signIn(t, clientSameDevice, sameDevice, verifier)

	r0, _ := e.checkSuccess(t, e.post(t, &key, exchange(clientSameDevice, code, verifier, sameDevice)), key, true)
	r1, _ := e.checkSuccess(t, e.post(t, &key, refresh(clientSameDevice, r0)), key, false)
	if r1 == r0 {
		t.Fatal("the refresh token did not rotate")
	}

	// Another key, or none: refused, and the token stays good.
	checkError(t, e.post(t, &other, refresh(clientSameDevice, r1)), http.StatusBadRequest, "AccessDeniedException")
	checkError(t, e.post(t, nil, refresh(clientSameDevice, r1)), http.StatusBadRequest, "ValidationException")
	r2, session := e.checkSuccess(t, e.post(t, &key, refresh(clientSameDevice, r1)), key, false)

	// r1 again, rotated: reuse, which revokes the family.
	checkError(t, e.post(t, &key, refresh(clientSameDevice, r1)), http.StatusBadRequest, "AccessDeniedException")
	checkError(t, e.post(t, &key, refresh(clientSameDevice, r2)), http.StatusBadRequest, "AccessDeniedException")
	if _, err := e.app.srv.ValidateAccessToken(t.Context(), session); err == nil {
		t.Error("the family's session token is still valid")
	}
}

// TestCrossDevice signs in through the confirmation page that shows the
// code, which only its own client redeems.
func TestCrossDevice(t *testing.T) {
	e := newEnv(t, config{})
	key := newToolKey(t)
	verifier := newVerifier(t)
	redirectURI := e.ts.URL + pathConfirmation
	code := e.signIn(t, clientCrossDevice, redirectURI, verifier)

	checkError(t, e.post(t, &key, exchange(clientSameDevice, code, verifier, redirectURI)), http.StatusBadRequest, "AccessDeniedException")
	e.checkSuccess(t, e.post(t, &key, exchange(clientCrossDevice, code, verifier, redirectURI)), key, true)
	checkError(t, e.post(t, &key, exchange(clientCrossDevice, code, verifier, redirectURI)), http.StatusBadRequest, "AccessDeniedException")
}

// TestValidationException sends requests the document calls syntax
// errors: each is a 400 ValidationException, and none spends the code.
func TestValidationException(t *testing.T) {
	e := newEnv(t, config{})
	key := newToolKey(t)
	verifier := newVerifier(t)
	code := e.signIn(t, clientSameDevice, sameDevice, verifier)
	good := exchange(clientSameDevice, code, verifier, sameDevice)
	const absent = "\x00"
	with := func(name, value string) string {
		m := maps.Clone(good)
		if value == absent {
			delete(m, name)
		} else {
			m[name] = value
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	valid, _ := json.Marshal(good)
	tests := []struct {
		name, contentType, body string
		noProof                 bool
		msg                     string // in the message
	}{
		{name: "verifier of 42 characters", msg: "codeVerifier must be", body: with("codeVerifier", strings.Repeat("a", 42))},
		{name: "verifier of 129 characters", body: with("codeVerifier", strings.Repeat("a", 129))},
		{name: "verifier with +", body: with("codeVerifier", strings.Repeat("a", 42)+"+")},
		{name: "verifier with a space", body: with("codeVerifier", strings.Repeat("a", 42)+" ")},
		{name: "empty verifier", body: with("codeVerifier", "")},
		{name: "no verifier", msg: "codeVerifier is required", body: with("codeVerifier", absent)},
		{name: "no redirectUri", msg: "redirectUri is required", body: with("redirectUri", absent)},
		{name: "empty code", msg: "code is required", body: with("code", "")},
		{name: "code of 513 characters", body: with("code", strings.Repeat("c", 513))},
		{name: "clientId off the pattern", msg: "clientId must match", body: with("clientId", "arn:aws:signin:::devtools/other-device")},
		{name: "no clientId", body: with("clientId", absent)},
		{name: "grantType off the pattern", msg: "grantType must be", body: with("grantType", "password")},
		{name: "no grantType", body: with("grantType", absent)},
		{name: "an unknown member", body: with("scope", "openid")},
		{name: "an RFC name", body: with("client_id", clientSameDevice)},
		{name: "a number", body: `{"clientId": 1}`},
		{name: "not JSON", body: `clientId=x`},
		{name: "a form", contentType: "application/x-www-form-urlencoded", body: "client_id=x"},
		{name: "no DPoP proof", body: string(valid), noProof: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := stdcmp.Or(tt.contentType, "application/json")
			k := &key
			if tt.noProof {
				k = nil
			}
			a := e.token(t, k, ct, tt.body)
			checkError(t, a, http.StatusBadRequest, "ValidationException")
			if msg, _ := a.body["message"].(string); a.body["oauthError"] != "invalid_request" || !strings.Contains(msg, tt.msg) {
				t.Errorf("oauthError %v, message %q; want invalid_request, a message with %q", a.body["oauthError"], msg, tt.msg)
			}
		})
	}
	t.Run("a bad proof", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, e.ts.URL+pathToken, bytes.NewReader(valid))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("DPoP", "not-a-jwt")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		checkError(t, answer{status: resp.StatusCode, body: body}, http.StatusBadRequest, "ValidationException")
	})
	t.Run("GET", func(t *testing.T) {
		resp, err := http.Get(e.ts.URL + pathToken)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		checkError(t, answer{status: resp.StatusCode, body: body}, http.StatusMethodNotAllowed, "ValidationException")
		if got := resp.Header.Get("Allow"); got != http.MethodPost {
			t.Errorf("Allow %q", got)
		}
	})
	// None of them spent the code.
	e.checkSuccess(t, e.post(t, &key, good), key, true)
}

// TestAccessDeniedException: a verifier of the right syntax that does not
// match spends the code, which is single-use (RFC 6749 §4.1.2).
func TestAccessDeniedException(t *testing.T) {
	e := newEnv(t, config{})
	key := newToolKey(t)
	verifier := newVerifier(t)
	code := e.signIn(t, clientSameDevice, sameDevice, verifier)
	wrong := newVerifier(t)
	checkError(t, e.post(t, &key, exchange(clientSameDevice, code, wrong, sameDevice)), http.StatusBadRequest, "AccessDeniedException")
	checkError(t, e.post(t, &key, exchange(clientSameDevice, code, verifier, sameDevice)), http.StatusBadRequest, "AccessDeniedException")
	checkError(t, e.post(t, &key, exchange(clientSameDevice, "no-such-code", verifier, sameDevice)), http.StatusBadRequest, "AccessDeniedException")
	checkError(t, e.post(t, &key, exchange(clientSameDevice, code, verifier, "http://127.0.0.1:1/other")), http.StatusBadRequest, "AccessDeniedException")
	checkError(t, e.post(t, &key, refresh(clientSameDevice, "no-such-token")), http.StatusBadRequest, "AccessDeniedException")
}

// TestTooManyRequestsError goes over the rate limit, per source address.
func TestTooManyRequestsError(t *testing.T) {
	e := newEnv(t, config{RateLimiter: perAddress{&oauthkit.TokenBucket{Rate: 0.01, Burst: 2}}})
	key := newToolKey(t)
	for range 2 {
		checkError(t, e.post(t, &key, refresh(clientSameDevice, "no-such-token")), http.StatusBadRequest, "AccessDeniedException")
	}
	// The limit is the address's, whichever client asks.
	a := e.post(t, &key, refresh(clientCrossDevice, "no-such-token"))
	checkError(t, a, http.StatusTooManyRequests, "TooManyRequestsError")
	if a.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
}

// TestInternalServerException fails the issuance hook: a 500 that says
// nothing of the cause.
func TestInternalServerException(t *testing.T) {
	e := newEnv(t, config{Rand: failingReader{}})
	key := newToolKey(t)
	verifier := newVerifier(t)
	code := e.signIn(t, clientSameDevice, sameDevice, verifier)
	a := e.post(t, &key, exchange(clientSameDevice, code, verifier, sameDevice))
	checkError(t, a, http.StatusInternalServerError, "InternalServerException")
	if b, _ := json.Marshal(a.body); strings.Contains(string(b), "minting") {
		t.Errorf("the cause was sent: %s", b)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

// TestLoginPage: a wrong password shows the form again.
func TestLoginPage(t *testing.T) {
	e := newEnv(t, config{})
	q := url.Values{"response_type": {"code"}, "client_id": {clientSameDevice}, "redirect_uri": {sameDevice}, "scope": {"openid"},
		"code_challenge": {pkce.Challenge(newVerifier(t))}, "code_challenge_method": {"S256"},
		"username": {"alice"}, "password": {"wrong"}}
	resp, err := e.browser.PostForm(e.ts.URL+pathAuthorize, q)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "Wrong user name or password") {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
}

func newVerifier(t *testing.T) string {
	t.Helper()
	v, err := pkce.GenerateVerifier(nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestBanner replays the requests the banner prints, as a user pasting
// them would: the authorization URL in a browser, then the two curl
// commands with CODE and REFRESH_TOKEN replaced and a proof of the demo
// key.
func TestBanner(t *testing.T) {
	e := newEnv(t, config{})
	var b strings.Builder
	printBanner(&b, e.ts.URL)
	banner := b.String()
	authURL := regexp.MustCompile(`(?m)^   (http\S+/v1/authorize\?\S+)$`).FindStringSubmatch(banner)
	bodies := regexp.MustCompile(`(?m)-H "DPoP: \$\(go run \./examples/devtools -proof -issuer (\S+)\)" -d '(\{.*\})'$`).FindAllStringSubmatch(banner, -1)
	if authURL == nil || len(bodies) != 2 || bodies[0][1] != e.ts.URL {
		t.Fatalf("banner:\n%s", banner)
	}
	code := e.signInAt(t, authURL[1], e.ts.URL+pathConfirmation)
	key := toolKey{demoKey(), must(dpop.Thumbprint(demoKey().Public()))}
	r0, _ := e.checkSuccess(t, e.token(t, &key, "application/json", strings.Replace(bodies[0][2], "CODE", code, 1)), key, true)
	e.checkSuccess(t, e.token(t, &key, "application/json", strings.Replace(bodies[1][2], "REFRESH_TOKEN", r0, 1)), key, false)
}

// FuzzReadRequest reads any body: never a panic, only invalid_request
// refusals, and what is accepted keeps the document's constraints.
func FuzzReadRequest(f *testing.F) {
	a := newAPI()
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, pathToken, nil)
		r.Header.Set("Content-Type", "application/json")
		p, oerr := a.ReadRequest(r, []byte(body))
		if oerr != nil {
			if oerr.Code != oauthkit.ErrInvalidRequest.Code {
				t.Fatalf("%q: %v", body, oerr)
			}
			return
		}
		id, gt, v := p.Get("client_id"), p.Get("grant_type"), p.Get("code_verifier")
		switch {
		case id != clientSameDevice && id != clientCrossDevice,
			gt != oauthkit.GrantTypeAuthorizationCode && gt != oauthkit.GrantTypeRefreshToken,
			gt == oauthkit.GrantTypeAuthorizationCode && (!pkce.ValidVerifier(v) || p.Get("code") == "" || p.Get("redirect_uri") == ""),
			gt == oauthkit.GrantTypeRefreshToken && p.Get("refresh_token") == "",
			len(p.Get("code")) > 512, len(p.Get("refresh_token")) > 2048, len(p.Get("redirect_uri")) > 2048:
			t.Fatalf("accepted %q: %v", body, p)
		}
	})
}
