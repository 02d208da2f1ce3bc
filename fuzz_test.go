package oauthkit

// Fuzz targets for the parsers and endpoints that take raw input. Seed
// corpora are in testdata/fuzz/<Name>/; run one with, for example,
//
//	go test -run='^$' -fuzz='^FuzzTokenRequest$' -fuzztime=30s .

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit/pkce"
)

// FuzzAuthorizeRequest sends a fuzzed query (GET) or form body (POST) to the
// authorization endpoint, with stores that never fail. It must never panic
// or answer 5xx, and it may send a response only to a redirect URI
// registered for the request's client_id (RFC 6749 §4.1.2.1).
func FuzzAuthorizeRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string, post bool) {
		e := newTestEnv(t, func(c *Config) { c.AllowImplicitGrant = true })
		method := http.MethodGet
		if post {
			method = http.MethodPost
		}
		w := e.authorizeRaw(method, raw)
		loc := w.Header().Get("Location")
		switch w.Code {
		case http.StatusFound, http.StatusSeeOther, http.StatusOK, http.StatusBadRequest:
		default:
			t.Fatalf("status %d for %q (body %q)", w.Code, raw, w.Body)
		}
		if w.Code == http.StatusBadRequest && loc != "" {
			t.Fatalf("error page with Location %q", loc)
		}
		var target string
		switch {
		case loc != "":
			target = loc
		case w.Code == http.StatusOK:
			m := formActionRE.FindStringSubmatch(w.Body.String())
			if m == nil {
				t.Fatalf("200 without a form_post form: %q", w.Body)
			}
			target = html.UnescapeString(m[1])
		default:
			return // not sent to the client
		}
		// Sent to the client: the request must have named a known client
		// once and a redirect URI registered for it.
		form, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatalf("unparsable request %q sent to %q", raw, target)
		}
		if len(form["client_id"]) != 1 || len(form["redirect_uri"]) > 1 {
			t.Fatalf("request %q without exactly one client_id sent to %q", raw, target)
		}
		client, ok := e.clients.clients[form.Get("client_id")]
		if !ok {
			t.Fatalf("request for unknown client %q sent to %q", form.Get("client_id"), target)
		}
		base := form.Get("redirect_uri")
		switch {
		case base == "" && len(client.RedirectURIs) == 1:
			base = client.RedirectURIs[0]
		case base == "":
			t.Fatalf("request %q without redirect_uri sent to %q", raw, target)
		case !slices.ContainsFunc(client.RedirectURIs, func(reg string) bool { return MatchRedirectURI(reg, base, client.Public()) }):
			t.Fatalf("request %q sent to %q, not registered for %s", raw, target, client.ID)
		}
		if loc == "" {
			if target != base {
				t.Fatalf("form_post action %q, want %q", target, base)
			}
			return
		}
		rest, ok := strings.CutPrefix(loc, base)
		if !ok || rest == "" || !strings.ContainsRune("?&#", rune(rest[0])) || rest[0] == '&' && !strings.Contains(base, "?") {
			t.Fatalf("Location %q does not extend redirect URI %q", loc, base)
		}
	})
}

// FuzzTokenRequest sends a fuzzed body and Authorization header to the
// token endpoint, with a redeemable code ("fuzz-code", verifier
// testVerifier) and refresh token ("fuzz-refresh") for client web, and
// stores that never fail. Every response must be JSON with
// Cache-Control: no-store: a token, or an RFC 6749 §5.2 error code with
// its status.
func FuzzTokenRequest(f *testing.F) {
	codes := []string{"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope", "invalid_target"}
	f.Fuzz(func(t *testing.T, body, authorization string) {
		e := newTestEnv(t, nil)
		ctx := context.Background()
		err := e.codes.CreateCode(ctx, &AuthorizationCode{
			ID: HashToken("fuzz-code"), GrantID: "fuzz-grant-1", ClientID: "web", RedirectURI: webRedirect,
			Subject: "alice", Scope: []string{"read"}, CodeChallenge: testChallenge, CodeChallengeMethod: pkce.S256,
			ExpiresAt: testEpoch.Add(time.Minute),
		})
		if err != nil {
			t.Fatal(err)
		}
		err = e.tokens.CreateTokens(ctx, &Token{
			ID: HashToken("fuzz-refresh"), Kind: RefreshToken, GrantID: "fuzz-grant-2", ClientID: "web",
			Subject: "alice", Scope: []string{"read", "write"}, IssuedAt: testEpoch, ExpiresAt: testEpoch.Add(time.Hour),
		})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		w := e.token(r)

		h := w.Header()
		if h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" || h.Get("Content-Type") != "application/json;charset=UTF-8" {
			t.Fatalf("headers %v", h)
		}
		var resp map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
			t.Fatalf("body %q is not JSON: %v", w.Body, err)
		}
		if w.Code == http.StatusOK {
			if at, _ := resp["access_token"].(string); at == "" || resp["token_type"] != "Bearer" {
				t.Fatalf("200 without a token: %s", w.Body)
			}
			return
		}
		code, _ := resp["error"].(string)
		if !slices.Contains(codes, code) {
			t.Fatalf("status %d with error %q: %s", w.Code, code, w.Body)
		}
		wantStatus := http.StatusBadRequest
		if code == "invalid_client" && h.Get("WWW-Authenticate") != "" {
			wantStatus = http.StatusUnauthorized
		}
		if w.Code != wantStatus {
			t.Fatalf("status %d for %s", w.Code, w.Body)
		}
		if w.Code == http.StatusUnauthorized && authorization == "" {
			t.Fatalf("401 without an Authorization header: %s", w.Body)
		}
		if d, _ := resp["error_description"].(string); strings.ContainsFunc(d, func(r rune) bool { return r < 0x20 || r == '"' || r == '\\' || r > 0x7e }) {
			t.Fatalf("error_description %q has characters RFC 6749 §5.2 forbids", d)
		}
	})
}

// maxBasicCredentials is the longest base64 credential string
// ParseBasicAuth accepts (client.go); longer ones are refused.
const maxBasicCredentials = 384

// FuzzParseBasicAuth checks that ParseBasicAuth reverses the encoding of
// RFC 6749 §2.3.1 (form-urlencode, then HTTP Basic) for any ID and secret
// within its size limit, and that on any header it either fails or yields a
// non-empty ID that round-trips.
func FuzzParseBasicAuth(f *testing.F) {
	f.Fuzz(func(t *testing.T, id, secret string) {
		r := httptest.NewRequest(http.MethodPost, "/token", nil)
		r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		header := r.Header.Get("Authorization")
		tooLong := len(header)-len("Basic ") > maxBasicCredentials
		gotID, gotSecret, ok := ParseBasicAuth(header)
		if ok && (gotID != id || gotSecret != secret) || !ok && id != "" && !tooLong {
			t.Fatalf("ParseBasicAuth(encode(%q, %q)) = %q, %q, %t", id, secret, gotID, gotSecret, ok)
		}

		// The ID as a raw header.
		gotID, gotSecret, ok = ParseBasicAuth(id)
		if !ok {
			return
		}
		if gotID == "" {
			t.Fatalf("ParseBasicAuth(%q) succeeded with an empty ID", id)
		}
		r.SetBasicAuth(url.QueryEscape(gotID), url.QueryEscape(gotSecret))
		if id2, secret2, ok2 := ParseBasicAuth(r.Header.Get("Authorization")); !ok2 || id2 != gotID || secret2 != gotSecret {
			t.Fatalf("ParseBasicAuth(%q) = %q, %q, which do not round-trip: %q, %q, %t", id, gotID, gotSecret, id2, secret2, ok2)
		}
	})
}

// FuzzMatchRedirectURI checks, against net/url as an independent parser,
// that two different URIs match only under the loopback rule of
// RFC 8252 §7.3: http, the same loopback IP literal, no user info, and the
// same path, query and fragment; only the port may differ.
func FuzzMatchRedirectURI(f *testing.F) {
	f.Fuzz(func(t *testing.T, registered, requested string) {
		if MatchRedirectURI(registered, requested, false) != (registered == requested) {
			t.Fatalf("MatchRedirectURI(%q, %q, false) is not string equality", registered, requested)
		}
		match := MatchRedirectURI(registered, requested, true)
		if match != MatchRedirectURI(requested, registered, true) {
			t.Fatalf("MatchRedirectURI is not symmetric for %q, %q", registered, requested)
		}
		if registered == requested {
			if !match {
				t.Fatalf("%q does not match itself", registered)
			}
			return
		}
		if !match {
			return
		}
		reg, err1 := url.Parse(registered)
		req, err2 := url.Parse(requested)
		switch {
		case err1 != nil || err2 != nil:
			t.Fatalf("matched %q and %q, which net/url cannot parse: %v, %v", registered, requested, err1, err2)
		case reg.Scheme != "http" || req.Scheme != "http" || reg.Opaque != "" || req.Opaque != "":
			t.Fatalf("matched %q and %q: schemes %q and %q", registered, requested, reg.Scheme, req.Scheme)
		case reg.Hostname() != req.Hostname() || reg.Hostname() != "127.0.0.1" && reg.Hostname() != "::1":
			t.Fatalf("matched %q and %q: hosts %q and %q", registered, requested, reg.Hostname(), req.Hostname())
		case reg.User != nil || req.User != nil:
			t.Fatalf("matched %q and %q, with user info", registered, requested)
		case reg.EscapedPath() != req.EscapedPath() || reg.RawQuery != req.RawQuery || reg.EscapedFragment() != req.EscapedFragment():
			t.Fatalf("matched %q and %q: they differ beyond the port", registered, requested)
		}
		for _, u := range []*url.URL{reg, req} {
			if p := u.Port(); p != "" {
				if n, err := strconv.Atoi(p); err != nil || n > 65535 {
					t.Fatalf("matched %q and %q with port %q, which is not a TCP port", registered, requested, p)
				}
			}
		}
	})
}

// FuzzAuthorizeParams validates fuzzed authorization-request parameters
// (a query string) for the test clients, as both the authorization
// endpoint and the pushed authorization request endpoint do. It must never
// panic; a request it refuses without a request (not redirected) must have
// a bad redirect_uri; and a request it accepts must hold only what the
// client may ask for: its scopes, resources it may name (each once), a
// dpop_jkt of the thumbprint's form, PKCE for a code.
func FuzzAuthorizeParams(f *testing.F) {
	e := newTestEnv(f, func(c *Config) {
		c.AllowImplicitGrant = true
		c.Resources = []string{"https://api.example.com/"}
		c.Clients.(*fakeClients).clients["web"].Resources = []string{"https://files.example.com/"}
		c.DPoP, c.ReplayCache = &DPoPConfig{}, &fakeReplay{} // dpop_jkt is read only with DPoP on
	})
	f.Fuzz(func(t *testing.T, raw string, clientID string) {
		client, ok := e.clients.clients[clientID]
		if !ok {
			return
		}
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		req, oerr := e.srv.validateAuthorizeRequest(context.Background(), client, form)
		switch {
		case req == nil && oerr == nil:
			t.Fatal("neither a request nor an error")
		case req == nil:
			if oerr.Code != ErrInvalidRequest.Code {
				t.Fatalf("unredirectable %s for %q", oerr.Code, raw)
			}
			if _, ok := resolveRedirectURI(client, form.Get("redirect_uri")); ok && len(form["redirect_uri"]) <= 1 {
				t.Fatalf("not redirected with a good redirect_uri: %v for %q", oerr, raw)
			}
			return
		case !slices.ContainsFunc(client.RedirectURIs, func(reg string) bool { return MatchRedirectURI(reg, req.RedirectURI, client.Public()) }):
			t.Fatalf("redirect URI %q not registered for %s", req.RedirectURI, client.ID)
		case oerr != nil:
			return
		}
		for _, s := range req.Scope {
			if !slices.Contains(client.Scopes, s) {
				t.Fatalf("scope %q granted beyond the client's", s)
			}
		}
		for i, r := range req.Resources {
			if !slices.Contains(e.srv.cfg.Resources, r) && !slices.Contains(client.Resources, r) || slices.Index(req.Resources, r) != i {
				t.Fatalf("resources %q for %q", req.Resources, raw)
			}
		}
		if req.DPoPJKT != "" && !validThumbprint(req.DPoPJKT) {
			t.Fatalf("dpop_jkt %q accepted", req.DPoPJKT)
		}
		if req.rt.code && !pkce.ValidChallenge(req.CodeChallengeMethod, req.CodeChallenge) && !(req.CodeChallenge == "" && !client.Public()) {
			t.Fatalf("code request without a valid PKCE challenge: %q", raw)
		}
		for _, name := range authorizeParams {
			if len(form[name]) > 1 {
				t.Fatalf("parameter %s repeated and accepted", name)
			}
		}
	})
}

// FuzzCanonicalUserCode checks the user-code normalizer of the verification
// page: it never panics; what it accepts is 8 characters of the alphabet,
// canonical already, and found again from its shown form typed in any case;
// and it accepts exactly the inputs that, without dashes and spaces and in
// ASCII upper case, are such a code.
func FuzzCanonicalUserCode(f *testing.F) {
	f.Fuzz(func(t *testing.T, typed string) {
		got, ok := canonicalUserCode(typed)
		want := strings.Map(func(r rune) rune { // ASCII upper case only
			if 'a' <= r && r <= 'z' {
				return r - 'a' + 'A'
			}
			return r
		}, strings.NewReplacer("-", "", " ", "").Replace(typed))
		valid := len(typed) <= userCodeMaxInput && len(want) == userCodeLength && strings.Trim(want, userCodeAlphabet) == ""
		if ok != valid || ok && got != want {
			t.Fatalf("canonicalUserCode(%q) = %q, %t; want %q, %t", typed, got, ok, want, valid)
		}
		if !ok {
			return
		}
		shown := formatUserCode(got)
		for _, in := range []string{got, shown, strings.ToLower(shown)} {
			if again, ok := canonicalUserCode(in); !ok || again != got {
				t.Fatalf("canonicalUserCode(%q) = %q, %t; want %q", in, again, ok, got)
			}
		}
	})
}
