package oauthkit

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit/pkce"
)

// authorizeWant is the expected outcome of an authorization request.
type authorizeWant struct {
	status int
	// page is the error code of a response shown to the resource owner and
	// not sent to the client (RFC 6749 §4.1.2.1).
	page string
	// to and mode say where the response was sent (empty: nowhere).
	to, mode string
	// params are the response parameters other than error_description; a
	// value "*" stands for any non-empty value.
	params url.Values
	// description reports whether error_description is sent.
	description bool
	// asked reports whether the Authorizer is consulted.
	asked bool
	// logged is a substring of the expected log output; "" means nothing
	// may be logged.
	logged string
	// body, if set, is the exact response body.
	body string
	// header lists further response headers.
	header map[string]string
}

// responseParams returns the parameters of a response sent to a client: the
// given ones, plus the state "xyz" of codeRequest and iss (RFC 9207).
func responseParams(kv ...string) url.Values {
	v := url.Values{"state": {"xyz"}, "iss": {testIssuer}}
	for i := 0; i < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func redirectedError(code, to, mode string) authorizeWant {
	return authorizeWant{status: http.StatusFound, to: to, mode: mode, params: responseParams("error", code), description: true}
}

func shownError(status int, code string) authorizeWant {
	return authorizeWant{status: status, page: code}
}

func codeSent(to string) authorizeWant {
	return authorizeWant{status: http.StatusFound, to: to, mode: ResponseModeQuery, params: responseParams("code", "*"), asked: true}
}

// authorizeAs returns an Authorizer answering consent, err.
func authorizeAs(consent *Consent, err error) Authorizer {
	return AuthorizerFunc(func(http.ResponseWriter, *http.Request, *AuthorizeRequest) (*Consent, error) {
		return consent, err
	})
}

func TestAuthorizeEndpoint(t *testing.T) {
	implicit := func(c *Config) { c.AllowImplicitGrant = true }
	webErr := func(code string) authorizeWant { return redirectedError(code, webRedirect, ResponseModeQuery) }
	spaErr := func(code string) authorizeWant { return redirectedError(code, spaRedirect, ResponseModeQuery) }
	withParams := func(w authorizeWant, params url.Values) authorizeWant { w.params = params; return w }
	withDescription := func(w authorizeWant, d bool) authorizeWant { w.description = d; return w }
	asked := func(w authorizeWant) authorizeWant { w.asked = true; return w }
	logged := func(w authorizeWant, s string) authorizeWant { w.logged = s; return w }
	status := func(w authorizeWant, s int) authorizeWant { w.status = s; return w }
	implicitTo := "https://implicit.example.com/cb"

	tests := []struct {
		name       string
		configure  func(*Config)
		method     string     // GET when empty
		params     url.Values // request parameters
		raw        string     // raw query or body, instead of params
		authorizer Authorizer // approveAll when nil
		clients    func(*fakeClients)
		codes      func(*fakeCodes)
		want       authorizeWant
	}{
		// Errors about the client or the redirect URI are never redirected.
		{name: "missing client_id", params: codeRequest("web", url.Values{"client_id": {""}}), want: shownError(400, "invalid_request")},
		{name: "empty client_id", raw: "client_id=&response_type=code&code_challenge=" + testChallenge + "&code_challenge_method=S256", want: shownError(400, "invalid_request")},
		{name: "unknown client_id", params: codeRequest("nobody", nil), want: shownError(400, "invalid_request")},
		{name: "repeated client_id", params: codeRequest("web", url.Values{"client_id": {"web", "web"}}), want: shownError(400, "invalid_request")},
		{name: "repeated client_id naming two clients", params: codeRequest("web", url.Values{"client_id": {"web", "spa"}}), want: shownError(400, "invalid_request")},
		{name: "unregistered redirect_uri", params: codeRequest("web", url.Values{"redirect_uri": {"https://evil.example.com/cb"}}), want: shownError(400, "invalid_request")},
		{name: "redirect_uri of another client", params: codeRequest("web", url.Values{"redirect_uri": {spaRedirect}}), want: shownError(400, "invalid_request")},
		{name: "redirect_uri with a trailing slash", params: codeRequest("web", url.Values{"redirect_uri": {webRedirect + "/"}}), want: shownError(400, "invalid_request")},
		{name: "redirect_uri in another case", params: codeRequest("web", url.Values{"redirect_uri": {"https://APP.example.com/cb"}}), want: shownError(400, "invalid_request")},
		{name: "redirect_uri with an added query", params: codeRequest("web", url.Values{"redirect_uri": {webRedirect + "?next=https://evil.example.com"}}), want: shownError(400, "invalid_request")},
		{name: "redirect_uri with a fragment", params: codeRequest("web", url.Values{"redirect_uri": {webRedirect + "#x"}}), want: shownError(400, "invalid_request")},
		{name: "redirect_uri that is no URI", params: codeRequest("web", url.Values{"redirect_uri": {"::not a uri"}}), want: shownError(400, "invalid_request")},
		{name: "repeated redirect_uri", params: codeRequest("web", url.Values{"redirect_uri": {webRedirect, webRedirect}}), want: shownError(400, "invalid_request")},
		{name: "redirect_uri omitted with two registered", params: codeRequest("multi", nil), want: shownError(400, "invalid_request")},
		{name: "redirect_uri omitted with none registered", params: codeRequest("svc", nil), want: shownError(400, "invalid_request")},
		{name: "localhost redirect_uri on another port", params: codeRequest("localhost", url.Values{"redirect_uri": {"http://localhost:9999/cb"}}), want: shownError(400, "invalid_request")},
		{name: "https loopback redirect_uri", params: codeRequest("native", url.Values{"redirect_uri": {"https://127.0.0.1:9999/cb"}}), want: shownError(400, "invalid_request")},
		{name: "loopback redirect_uri with another path", params: codeRequest("native", url.Values{"redirect_uri": {"http://127.0.0.1:9999/other"}}), want: shownError(400, "invalid_request")},
		{
			// RFC 8252 §7.3's any-port rule is for native apps only: a
			// confidential web client's loopback URI is matched exactly.
			name: "confidential client's loopback redirect_uri on another port",
			configure: func(c *Config) {
				c.Clients.(*fakeClients).clients["web"].RedirectURIs = []string{"http://127.0.0.1:9999/cb"}
			},
			params: codeRequest("web", url.Values{"redirect_uri": {"http://127.0.0.1:31337/cb"}}),
			want:   shownError(400, "invalid_request"),
		},
		{
			name: "confidential client's loopback redirect_uri on its port",
			configure: func(c *Config) {
				c.Clients.(*fakeClients).clients["web"].RedirectURIs = []string{"http://127.0.0.1:9999/cb"}
			},
			params: codeRequest("web", url.Values{"redirect_uri": {"http://127.0.0.1:9999/cb"}}),
			want:   codeSent("http://127.0.0.1:9999/cb"),
		},
		{
			// A page cannot post to a private-use scheme: refuse, redirected
			// in the default mode, which can reach the app.
			name: "form_post to a private-use-scheme redirect_uri",
			configure: func(c *Config) {
				c.Clients.(*fakeClients).clients["spa"].RedirectURIs = []string{"com.example.app:/cb"}
			},
			params: codeRequest("spa", url.Values{"redirect_uri": {"com.example.app:/cb"}, "response_mode": {ResponseModeFormPost}}),
			want:   redirectedError("invalid_request", "com.example.app:/cb", ResponseModeQuery),
		},
		{name: "invalid redirect_uri and invalid response_type", params: codeRequest("web", url.Values{"redirect_uri": {"https://evil.example.com/cb"}, "response_type": {"bogus"}}), want: shownError(400, "invalid_request")},
		{name: "malformed escape in query", raw: "client_id=web&response_type=code&%zz", want: shownError(400, "invalid_request")},
		{name: "semicolon in query", raw: "client_id=web;response_type=code", want: shownError(400, "invalid_request")},
		{name: "PUT", method: http.MethodPut, params: codeRequest("web", nil), want: func() authorizeWant {
			w := shownError(http.StatusMethodNotAllowed, "invalid_request")
			w.header = map[string]string{"Allow": "GET, POST"}
			return w
		}()},
		{name: "POST with a JSON body", method: http.MethodPost, raw: `{"client_id":"web"}`, want: shownError(400, "invalid_request")},
		{
			name:    "client store failure",
			params:  codeRequest("web", nil),
			clients: func(s *fakeClients) { s.failOn("Client", errors.New("clients table: connection reset by 10.1.2.3")) },
			want:    logged(shownError(500, "server_error"), "connection reset by 10.1.2.3"),
		},
		{
			name:    "client store unavailable",
			params:  codeRequest("web", nil),
			clients: func(s *fakeClients) { s.failOn("Client", fmt.Errorf("dial 10.1.2.3: %w", ErrUnavailable)) },
			want:    logged(shownError(503, "temporarily_unavailable"), "dial 10.1.2.3"),
		},

		// Other errors go to the client, with state and iss, in the
		// response mode.
		{name: "missing response_type", params: codeRequest("web", url.Values{"response_type": {""}}), want: webErr("invalid_request")},
		{name: "unknown response_type", params: codeRequest("web", url.Values{"response_type": {"magic"}}), want: withDescription(webErr("unsupported_response_type"), false)},
		{name: "response_type with a repeated value", params: codeRequest("web", url.Values{"response_type": {"code code"}}), want: withDescription(webErr("unsupported_response_type"), false)},
		{
			name:   "response_type token with the implicit grant disabled",
			params: codeRequest("implicit", url.Values{"response_type": {ResponseTypeToken}}),
			want:   withDescription(redirectedError("unsupported_response_type", implicitTo, ResponseModeFragment), false),
		},
		{
			name:      "response_type token for a client without the implicit grant",
			configure: implicit,
			params:    codeRequest("web", url.Values{"response_type": {ResponseTypeToken}}),
			want:      redirectedError("unauthorized_client", webRedirect, ResponseModeFragment),
		},
		{
			name:   "response_type code for a client without the authorization_code grant",
			params: codeRequest("implicit", nil),
			want:   redirectedError("unauthorized_client", implicitTo, ResponseModeQuery),
		},
		{name: "unknown scope", params: codeRequest("web", url.Values{"scope": {"read delete"}}), want: webErr("invalid_scope")},
		{
			// A client allowed openid while OpenID Connect is off would wait
			// for an ID token that never comes.
			name: "openid scope with OpenID Connect off",
			configure: func(c *Config) {
				web := c.Clients.(*fakeClients).clients["web"]
				web.Scopes = append(slices.Clone(web.Scopes), ScopeOpenID)
			},
			params: codeRequest("web", url.Values{"scope": {"openid read"}}),
			want:   logged(webErr("invalid_scope"), "OpenID Connect is off"),
		},
		{name: "malformed scope", params: codeRequest("web", url.Values{"scope": {`read "write"`}}), want: webErr("invalid_scope")},
		{name: "public client without code_challenge", params: codeRequest("spa", url.Values{"code_challenge": {""}, "code_challenge_method": {""}}), want: spaErr("invalid_request")},
		{name: "confidential client without code_challenge", params: codeRequest("web", url.Values{"code_challenge": {""}, "code_challenge_method": {""}}), want: webErr("invalid_request")},
		{
			name:      "confidential client without code_challenge when PKCE is optional for it",
			configure: func(c *Config) { c.PKCEOptionalForConfidentialClients = true },
			params:    codeRequest("web", url.Values{"code_challenge": {""}, "code_challenge_method": {""}}),
			want:      codeSent(webRedirect),
		},
		{
			name:      "public client without code_challenge when PKCE is optional for confidential clients",
			configure: func(c *Config) { c.PKCEOptionalForConfidentialClients = true },
			params:    codeRequest("spa", url.Values{"code_challenge": {""}, "code_challenge_method": {""}}),
			want:      spaErr("invalid_request"),
		},
		{name: "plain code_challenge_method", params: codeRequest("spa", url.Values{"code_challenge": {testVerifier}, "code_challenge_method": {pkce.Plain}}), want: spaErr("invalid_request")},
		{name: "code_challenge_method omitted means plain", params: codeRequest("spa", url.Values{"code_challenge": {testVerifier}, "code_challenge_method": {""}}), want: spaErr("invalid_request")},
		{
			name:      "plain code_challenge_method when allowed",
			configure: func(c *Config) { c.AllowPlainPKCE = true },
			params:    codeRequest("spa", url.Values{"code_challenge": {testVerifier}, "code_challenge_method": {pkce.Plain}}),
			want:      codeSent(spaRedirect),
		},
		{
			name:      "malformed plain code_challenge when allowed",
			configure: func(c *Config) { c.AllowPlainPKCE = true },
			params:    codeRequest("spa", url.Values{"code_challenge": {"too-short"}, "code_challenge_method": {pkce.Plain}}),
			want:      spaErr("invalid_request"),
		},
		{name: "unknown code_challenge_method", params: codeRequest("spa", url.Values{"code_challenge_method": {"S512"}}), want: spaErr("invalid_request")},
		{name: "code_challenge_method without code_challenge", params: codeRequest("spa", url.Values{"code_challenge": {""}}), want: spaErr("invalid_request")},
		{name: "S256 code_challenge too short", params: codeRequest("spa", url.Values{"code_challenge": {testChallenge[:42]}}), want: spaErr("invalid_request")},
		{name: "S256 code_challenge too long", params: codeRequest("spa", url.Values{"code_challenge": {testChallenge + "A"}}), want: spaErr("invalid_request")},
		{name: "S256 code_challenge not base64url", params: codeRequest("spa", url.Values{"code_challenge": {strings.Replace(testChallenge, "-", "+", 1)}}), want: spaErr("invalid_request")},
		{
			name:   "repeated state",
			params: codeRequest("web", url.Values{"state": {"a", "b"}}),
			want:   withParams(webErr("invalid_request"), url.Values{"error": {"invalid_request"}, "state": {"a"}, "iss": {testIssuer}}),
		},
		{name: "repeated response_type", params: codeRequest("web", url.Values{"response_type": {"code", "code"}}), want: webErr("invalid_request")},
		{name: "repeated scope", params: codeRequest("web", url.Values{"scope": {"read", "write"}}), want: webErr("invalid_request")},
		{name: "repeated code_challenge", params: codeRequest("web", url.Values{"code_challenge": {testChallenge, testChallenge}}), want: webErr("invalid_request")},
		{name: "unknown response_mode", params: codeRequest("web", url.Values{"response_mode": {"web_message"}}), want: webErr("invalid_request")},
		{
			name:      "response_mode query with response_type token",
			configure: implicit,
			params:    codeRequest("implicit", url.Values{"response_type": {ResponseTypeToken}, "response_mode": {ResponseModeQuery}}),
			want:      redirectedError("invalid_request", implicitTo, ResponseModeFragment),
		},
		{
			name:   "error in form_post response mode",
			params: codeRequest("web", url.Values{"response_mode": {ResponseModeFormPost}, "scope": {"nope"}}),
			want:   status(redirectedError("invalid_scope", webRedirect, ResponseModeFormPost), http.StatusOK),
		},
		{
			name:   "error in fragment response mode",
			params: codeRequest("web", url.Values{"response_mode": {ResponseModeFragment}, "scope": {"nope"}}),
			want:   redirectedError("invalid_scope", webRedirect, ResponseModeFragment),
		},
		{
			name:   "error without state",
			params: codeRequest("web", url.Values{"state": {""}, "scope": {"nope"}}),
			want:   withParams(webErr("invalid_scope"), url.Values{"error": {"invalid_scope"}, "iss": {testIssuer}}),
		},
		{name: "POST error", method: http.MethodPost, params: codeRequest("web", url.Values{"scope": {"nope"}}), want: status(webErr("invalid_scope"), http.StatusSeeOther)},

		// The Authorizer's answers.
		{name: "access denied", params: codeRequest("web", nil), authorizer: authorizeAs(nil, ErrAccessDenied), want: asked(withDescription(webErr("access_denied"), false))},
		{
			name:       "access denied with a description",
			params:     codeRequest("web", nil),
			authorizer: authorizeAs(nil, ErrAccessDenied.WithDescription("the resource owner said no")),
			want:       asked(webErr("access_denied")),
		},
		{
			name:       "access denied in form_post",
			params:     codeRequest("web", url.Values{"response_mode": {ResponseModeFormPost}}),
			authorizer: authorizeAs(nil, ErrAccessDenied),
			want:       asked(withDescription(status(redirectedError("access_denied", webRedirect, ResponseModeFormPost), http.StatusOK), false)),
		},
		{name: "login required", params: codeRequest("web", nil), authorizer: authorizeAs(nil, ErrLoginRequired), want: asked(withDescription(webErr("login_required"), false))},
		{
			name:       "Authorizer internal error",
			params:     codeRequest("web", nil),
			authorizer: authorizeAs(nil, errors.New("ldap: bind failed for cn=admin,dc=example")),
			want:       logged(asked(withDescription(webErr("server_error"), false)), "ldap: bind failed for cn=admin,dc=example"),
		},
		{
			name:       "Authorizer store unavailable",
			params:     codeRequest("web", nil),
			authorizer: authorizeAs(nil, fmt.Errorf("sessions: %w", ErrUnavailable)),
			want:       logged(asked(withDescription(webErr("temporarily_unavailable"), false)), "sessions: oauthkit: store unavailable"),
		},
		{
			name:       "Authorizer returns neither consent nor error",
			params:     codeRequest("web", nil),
			authorizer: authorizeAs(nil, nil),
			want:       logged(asked(withDescription(webErr("server_error"), false)), "no consent"),
		},
		{
			name:       "consent without a subject",
			params:     codeRequest("web", nil),
			authorizer: authorizeAs(&Consent{}, nil),
			want:       logged(asked(withDescription(webErr("server_error"), false)), "no consent"),
		},
		{
			name:       "consent to a scope beyond the request",
			params:     codeRequest("web", url.Values{"scope": {"read"}}),
			authorizer: authorizeAs(&Consent{Subject: "alice", Scope: []string{"read", "admin"}}, nil),
			want:       logged(asked(withDescription(webErr("server_error"), false)), "not requested"),
		},
		{
			name:       "Authorizer wrote the response",
			params:     codeRequest("web", nil),
			authorizer: AuthorizerFunc(loginPage),
			want:       authorizeWant{status: http.StatusOK, asked: true, body: "<h1>Sign in</h1>", header: map[string]string{"X-Login": "1"}},
		},
		{
			name:      "no Authorizer",
			configure: func(c *Config) { c.Authorizer = nil },
			params:    codeRequest("web", nil),
			want:      logged(withDescription(webErr("server_error"), false), "Authorizer is nil"),
		},
		{
			name:   "code store failure",
			params: codeRequest("web", nil),
			codes:  func(s *fakeCodes) { s.failOn("CreateCode", errors.New("codes: disk full on /var/lib/pg")) },
			want:   logged(asked(withDescription(webErr("server_error"), false)), "disk full on /var/lib/pg"),
		},
		{
			name:   "code store unavailable",
			params: codeRequest("web", nil),
			codes:  func(s *fakeCodes) { s.failOn("CreateCode", fmt.Errorf("codes: %w", ErrUnavailable)) },
			want:   logged(asked(withDescription(webErr("temporarily_unavailable"), false)), "codes: oauthkit: store unavailable"),
		},

		// Successful responses.
		{name: "code", params: codeRequest("web", nil), want: codeSent(webRedirect)},
		{name: "code with the registered redirect_uri", params: codeRequest("web", url.Values{"redirect_uri": {webRedirect}}), want: codeSent(webRedirect)},
		{
			name:   "code without state",
			params: codeRequest("web", url.Values{"state": {""}}),
			want:   withParams(codeSent(webRedirect), url.Values{"code": {"*"}, "iss": {testIssuer}}),
		},
		{name: "unknown parameters are ignored", params: codeRequest("web", url.Values{"ui_locales": {"fr"}, "x-custom": {"1"}}), want: codeSent(webRedirect)},
		{name: "empty parameters are ignored", params: codeRequest("web", url.Values{"response_mode": {""}, "x-empty": {""}}), want: codeSent(webRedirect)},
		{name: "explicit query response mode", params: codeRequest("web", url.Values{"response_mode": {ResponseModeQuery}}), want: codeSent(webRedirect)},
		{
			name:   "code in fragment response mode",
			params: codeRequest("web", url.Values{"response_mode": {ResponseModeFragment}}),
			want:   authorizeWant{status: http.StatusFound, to: webRedirect, mode: ResponseModeFragment, params: responseParams("code", "*"), asked: true},
		},
		{
			name:   "code in form_post response mode",
			params: codeRequest("web", url.Values{"response_mode": {ResponseModeFormPost}}),
			want:   authorizeWant{status: http.StatusOK, to: webRedirect, mode: ResponseModeFormPost, params: responseParams("code", "*"), asked: true},
		},
		{name: "POST form request", method: http.MethodPost, params: codeRequest("web", nil), want: status(codeSent(webRedirect), http.StatusSeeOther)},
		{
			name:   "IPv4 loopback redirect_uri on another port",
			params: codeRequest("native", url.Values{"redirect_uri": {"http://127.0.0.1:49152/cb"}}),
			want:   codeSent("http://127.0.0.1:49152/cb"),
		},
		{
			name:   "IPv6 loopback redirect_uri on another port",
			params: codeRequest("native", url.Values{"redirect_uri": {"http://[::1]:50000/cb"}}),
			want:   codeSent("http://[::1]:50000/cb"),
		},
		{
			name:   "registered redirect_uri with a query keeps it",
			params: codeRequest("tenant", nil),
			want: withParams(codeSent("https://tenant.example.com/cb"),
				url.Values{"tenant": {"a"}, "code": {"*"}, "state": {"xyz"}, "iss": {testIssuer}}),
		},
		{
			name:   "registered redirect_uri with a query keeps it in fragment mode",
			params: codeRequest("tenant", url.Values{"response_mode": {ResponseModeFragment}}),
			want:   authorizeWant{status: http.StatusFound, to: "https://tenant.example.com/cb", mode: ResponseModeFragment, params: responseParams("code", "*"), asked: true},
		},
		{
			name:      "implicit",
			configure: implicit,
			params:    codeRequest("implicit", url.Values{"response_type": {ResponseTypeToken}}),
			want: authorizeWant{status: http.StatusFound, to: implicitTo, mode: ResponseModeFragment, asked: true,
				params: responseParams("access_token", "*", "token_type", "Bearer", "expires_in", "3600")},
		},
		{
			name:       "implicit with a narrower consent",
			configure:  implicit,
			params:     codeRequest("implicit", url.Values{"response_type": {ResponseTypeToken}, "scope": {"read write"}}),
			authorizer: authorizeAs(&Consent{Subject: "alice", Scope: []string{"read"}}, nil),
			want: authorizeWant{status: http.StatusFound, to: implicitTo, mode: ResponseModeFragment, asked: true,
				params: responseParams("access_token", "*", "token_type", "Bearer", "expires_in", "3600", "scope", "read")},
		},
		{
			name:      "implicit in form_post response mode",
			configure: implicit,
			params:    codeRequest("implicit", url.Values{"response_type": {ResponseTypeToken}, "response_mode": {ResponseModeFormPost}}),
			want: authorizeWant{status: http.StatusOK, to: implicitTo, mode: ResponseModeFormPost, asked: true,
				params: responseParams("access_token", "*", "token_type", "Bearer", "expires_in", "3600")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked := false
			authorizer := tt.authorizer
			if authorizer == nil {
				authorizer = approveAll
			}
			e := newTestEnv(t, func(c *Config) {
				c.Authorizer = AuthorizerFunc(func(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest) (*Consent, error) {
					asked = true
					return authorizer.Authorize(w, r, req)
				})
				if tt.configure != nil {
					tt.configure(c)
				}
			})
			if tt.clients != nil {
				tt.clients(e.clients)
			}
			if tt.codes != nil {
				tt.codes(e.codes)
			}
			method, raw := tt.method, tt.raw
			if method == "" {
				method = http.MethodGet
			}
			if raw == "" {
				raw = tt.params.Encode()
			}
			w := e.authorizeRaw(method, raw)
			checkAuthorizeResponse(t, e, w, tt.want)
			if asked != tt.want.asked {
				t.Errorf("Authorizer consulted: %t, want %t", asked, tt.want.asked)
			}
		})
	}
}

// loginPage is an Authorizer that shows a login page.
func loginPage(w http.ResponseWriter, _ *http.Request, _ *AuthorizeRequest) (*Consent, error) {
	w.Header().Set("X-Login", "1")
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "<h1>Sign in</h1>")
	return nil, ErrResponseWritten
}

// checkAuthorizeResponse checks an authorization response against want.
func checkAuthorizeResponse(t *testing.T, e *testEnv, w *httptest.ResponseRecorder, want authorizeWant) {
	t.Helper()
	if w.Code != want.status {
		t.Errorf("status = %d, want %d (body %q)", w.Code, want.status, w.Body)
	}
	h := w.Header()
	for k, v := range want.header {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if want.body != "" && w.Body.String() != want.body {
		t.Errorf("body = %q, want %q", w.Body, want.body)
	}
	logs := e.logs.String()
	switch {
	case want.logged == "" && logs != "":
		t.Errorf("unexpected log output: %s", logs)
	case want.logged != "" && !strings.Contains(logs, want.logged):
		t.Errorf("log output %q does not contain %q", logs, want.logged)
	case want.logged != "" && (strings.Contains(w.Body.String(), want.logged) || strings.Contains(h.Get("Location"), want.logged)):
		t.Errorf("the internal cause %q reached the response", want.logged)
	}

	res := readAuthorizeResponse(t, w)
	if res.to != want.to || res.mode != want.mode {
		t.Fatalf("response sent to %q in mode %q, want %q in mode %q (Location %q)", res.to, res.mode, want.to, want.mode, h.Get("Location"))
	}
	if want.page != "" {
		// Not redirected: the default error page.
		body := w.Body.String()
		if !strings.HasPrefix(body, want.page+":") {
			t.Errorf("error page %q does not start with %q", body, want.page+":")
		}
		for k, v := range map[string]string{"Content-Type": "text/plain;charset=UTF-8", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
			if got := h.Get(k); got != v {
				t.Errorf("error page header %s = %q, want %q", k, got, v)
			}
		}
		return
	}
	if want.to == "" {
		return
	}

	// Sent to the client.
	got := url.Values{}
	for k, vs := range res.params {
		got[k] = slices.Clone(vs)
	}
	desc, hasDesc := got["error_description"]
	delete(got, "error_description")
	for k, vs := range want.params {
		if len(vs) == 1 && vs[0] == "*" && len(got[k]) == 1 && got[k][0] != "" {
			got[k] = []string{"*"}
		}
	}
	if diff := cmp.Diff(want.params, got); diff != "" {
		t.Errorf("response parameters (-want +got):\n%s", diff)
	}
	if hasDesc != want.description {
		t.Errorf("error_description %q sent: %t, want %t", desc, hasDesc, want.description)
	}
	for _, d := range desc {
		if d == "" || strings.ContainsFunc(d, func(r rune) bool { return r < 0x20 || r == '"' || r == '\\' || r > 0x7e }) {
			t.Errorf("error_description %q is empty or has characters RFC 6749 §4.1.2.1 forbids", d)
		}
	}
	if got := h.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := h.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy = %q, want no-referrer", got)
	}
	switch res.mode {
	case ResponseModeQuery:
		if loc := h.Get("Location"); strings.Contains(loc, "#") {
			t.Errorf("query response with a fragment: %q", loc)
		}
	case ResponseModeFragment, ResponseModeFormPost:
		// The parameters must not also be in the query (of the redirect or
		// of the form action).
		q, _ := url.ParseQuery(res.query)
		for k := range res.params {
			if q.Has(k) {
				t.Errorf("%s response has %s in the query %q", res.mode, k, res.query)
			}
		}
	}
	if res.mode == ResponseModeFormPost {
		csp := h.Get("Content-Security-Policy")
		for _, directive := range []string{"default-src 'none'", "script-src 'sha256-" + formPostScriptHash + "'", "form-action " + cspSource(want.to), "frame-ancestors 'none'"} {
			if !strings.Contains(csp, directive) {
				t.Errorf("Content-Security-Policy %q lacks %q", csp, directive)
			}
		}
		if got := h.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("X-Frame-Options = %q, want DENY", got)
		}
		if got := h.Get("Content-Type"); got != "text/html;charset=UTF-8" {
			t.Errorf("Content-Type = %q, want text/html;charset=UTF-8", got)
		}
	}
}

// TestAuthorizeRepeatedUnknownParameter: RFC 6749 §3.1 makes the server
// ignore unrecognized parameters, and the Authorizer contract says that a
// login or consent page posts back "its own fields", which the endpoint
// ignores; a consent form with a checkbox per scope sends its field once per
// box.
func TestAuthorizeRepeatedUnknownParameter(t *testing.T) {
	e := newTestEnv(t, nil)
	params := codeRequest("web", url.Values{"approved_scope": {"read", "write"}})
	checkAuthorizeResponse(t, e, e.authorizeGet(params), codeSent(webRedirect))
}

// TestAuthorizeErrorPageHook checks that errors that must not be redirected
// go to Config.ErrorPage, with the error, and that nothing else is written.
func TestAuthorizeErrorPageHook(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		params  url.Values
		clients func(*fakeClients)
		want    *Error
		cause   string
	}{
		{name: "unknown client", params: codeRequest("nobody", nil), want: ErrInvalidRequest},
		{name: "unregistered redirect_uri", params: codeRequest("web", url.Values{"redirect_uri": {"https://evil.example.com/"}}), want: ErrInvalidRequest},
		{name: "missing client_id", params: url.Values{"response_type": {"code"}}, want: ErrInvalidRequest},
		{
			name:    "client store failure",
			params:  codeRequest("web", nil),
			clients: func(s *fakeClients) { s.failOn("Client", errors.New("boom")) },
			want:    ErrServerError,
			cause:   "boom",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *Error
			e := newTestEnv(t, func(c *Config) {
				c.ErrorPage = func(w http.ResponseWriter, r *http.Request, err *Error) {
					got = err
					w.WriteHeader(http.StatusTeapot)
					fmt.Fprint(w, "host error page")
				}
			})
			if tt.clients != nil {
				tt.clients(e.clients)
			}
			w := e.authorizeGet(tt.params)
			if got == nil {
				t.Fatalf("ErrorPage not called; status %d, Location %q", w.Code, w.Header().Get("Location"))
			}
			if !errors.Is(got, tt.want) {
				t.Errorf("ErrorPage got %v, want code %s", got, tt.want.Code)
			}
			if tt.cause != "" && (got.Unwrap() == nil || got.Unwrap().Error() != tt.cause) {
				t.Errorf("ErrorPage error cause = %v, want %q", got.Unwrap(), tt.cause)
			}
			if w.Code != http.StatusTeapot || w.Body.String() != "host error page" || w.Header().Get("Location") != "" {
				t.Errorf("response = %d %q (Location %q), want only the hook's page", w.Code, w.Body, w.Header().Get("Location"))
			}
		})
	}
}

// TestAuthorizeMethodNotAllowedWithErrorPage: RFC 9110 §15.5.6 requires
// Allow on every 405, including one rendered by the host's ErrorPage.
func TestAuthorizeMethodNotAllowedWithErrorPage(t *testing.T) {
	e := newTestEnv(t, func(c *Config) {
		c.ErrorPage = func(w http.ResponseWriter, r *http.Request, err *Error) { w.WriteHeader(err.HTTPStatus()) }
	})
	w := e.authorizeRaw(http.MethodDelete, codeRequest("web", nil).Encode())
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, POST" {
		t.Errorf("got %d with Allow %q, want 405 with Allow \"GET, POST\"", w.Code, w.Header().Get("Allow"))
	}
}

// TestAuthorizeCodeBinding checks what an issued code is bound to
// (RFC 6749 §4.1.2, RFC 7636 §4.4).
func TestAuthorizeCodeBinding(t *testing.T) {
	tests := []struct {
		name       string
		client     string
		extra      url.Values
		authorizer Authorizer
		want       AuthorizationCode
	}{
		{
			name:   "redirect_uri omitted",
			client: "web",
			want: AuthorizationCode{ClientID: "web", RedirectURI: webRedirect, Subject: "alice", Scope: []string{"read"},
				AuthTime: testEpoch, CodeChallenge: testChallenge, CodeChallengeMethod: pkce.S256, ExpiresAt: testEpoch.Add(DefaultCodeLifetime)},
		},
		{
			name:   "redirect_uri sent",
			client: "native",
			extra:  url.Values{"redirect_uri": {"http://127.0.0.1:5555/cb"}, "scope": {"read write"}, "nonce": {"n-1"}},
			want: AuthorizationCode{ClientID: "native", RedirectURI: "http://127.0.0.1:5555/cb", RedirectURIParam: true, Subject: "alice",
				Scope: []string{"read", "write"}, AuthTime: testEpoch, CodeChallenge: testChallenge, CodeChallengeMethod: pkce.S256,
				Nonce: "n-1", ExpiresAt: testEpoch.Add(DefaultCodeLifetime)},
		},
		{
			name:       "narrower consent",
			client:     "spa",
			extra:      url.Values{"scope": {"read write"}},
			authorizer: authorizeAs(&Consent{Subject: "bob", Scope: []string{"write"}, ACR: "mfa"}, nil),
			want: AuthorizationCode{ClientID: "spa", RedirectURI: spaRedirect, Subject: "bob", Scope: []string{"write"}, ACR: "mfa",
				CodeChallenge: testChallenge, CodeChallengeMethod: pkce.S256, ExpiresAt: testEpoch.Add(DefaultCodeLifetime)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, func(c *Config) {
				if tt.authorizer != nil {
					c.Authorizer = tt.authorizer
				}
			})
			raw := e.authorizeCode(t, tt.client, tt.extra)
			got, ok := e.codes.stored(raw)
			if !ok {
				t.Fatal("the code in the response is not stored under HashToken(code)")
			}
			if got.GrantID == "" {
				t.Error("code has no GrantID")
			}
			got.ID, got.GrantID = "", ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("stored code (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAuthorizeImplicitIssuesNoRefreshToken: RFC 6749 §4.2.2 forbids a
// refresh token in the implicit grant, even for a client registered for the
// refresh_token grant.
func TestAuthorizeImplicitIssuesNoRefreshToken(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.AllowImplicitGrant = true })
	w := e.authorizeGet(codeRequest("implicit", url.Values{"response_type": {ResponseTypeToken}, "scope": {"read"}}))
	res := readAuthorizeResponse(t, w)
	if res.mode != ResponseModeFragment {
		t.Fatalf("implicit response in mode %q (Location %q), want fragment", res.mode, w.Header().Get("Location"))
	}
	if res.params.Has("refresh_token") || res.params.Has("code") {
		t.Errorf("implicit response carries %v", res.params)
	}
	if diff := cmp.Diff(map[TokenKind]int{AccessToken: 1}, e.tokens.kinds()); diff != "" {
		t.Errorf("stored tokens by kind (-want +got):\n%s", diff)
	}
	tok, ok := e.tokens.stored(res.params.Get("access_token"))
	if !ok {
		t.Fatal("the access token is not stored under HashToken(token)")
	}
	if tok.ClientID != "implicit" || tok.Subject != "alice" || !slices.Equal(tok.Scope, []string{"read"}) {
		t.Errorf("stored access token = %+v", tok)
	}
}

// TestAuthorizeFormPostEscapes: the form_post page carries request values
// (state) and must escape them, so that a crafted state cannot inject
// markup into the authorization server's origin.
func TestAuthorizeFormPostEscapes(t *testing.T) {
	tests := []struct {
		name  string
		state string
	}{
		{name: "attribute breakout", state: `"><script>alert(1)</script>`},
		{name: "single quote", state: `' onfocus='alert(1)`},
		{name: "ampersand entity", state: `a&amp;b&lt;`},
		{name: "non-ASCII", state: "état 状態"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, nil)
			w := e.authorizeGet(codeRequest("web", url.Values{"response_mode": {ResponseModeFormPost}, "state": {tt.state}}))
			want := authorizeWant{status: http.StatusOK, to: webRedirect, mode: ResponseModeFormPost, params: responseParams("code", "*", "state", tt.state), asked: true}
			checkAuthorizeResponse(t, e, w, want)
			if body := w.Body.String(); strings.Count(body, "<script") != 1 || strings.Contains(body, "alert(1)</script>") {
				t.Errorf("form_post page has injected markup:\n%s", body)
			}
		})
	}
}
