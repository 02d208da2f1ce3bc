package oauthkit

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	apiResource   = "https://api.example.com/"
	filesResource = "https://files.example.com/"
	// testJKT is the thumbprint of RFC 9449 §10's example.
	testJKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
)

// TestAuthorizeResourcesAndDPoPJKT checks the resource (RFC 8707 §2) and
// dpop_jkt (RFC 9449 §10) parameters of an authorization request: what the
// code keeps, and the errors, redirected once the client and redirect URI
// are known good (RFC 6749 §4.1.2.1).
func TestAuthorizeResourcesAndDPoPJKT(t *testing.T) {
	withResources := func(c *Config) {
		c.Resources = []string{apiResource}
		c.Clients.(*fakeClients).clients["web"].Resources = []string{filesResource}
	}
	tests := []struct {
		name string
		// extra changes codeRequest("web", nil).
		extra url.Values
		// wantErr is the error redirected to the client, or "".
		wantErr       string
		wantResources []string
		wantJKT       string
		// dpopOff runs the request on a server without Config.DPoP,
		// which does not know dpop_jkt and ignores it (RFC 6749 §3.1).
		dpopOff bool
	}{
		{name: "no resource", extra: nil},
		{name: "server resource", extra: url.Values{"resource": {apiResource}}, wantResources: []string{apiResource}},
		{name: "client resource", extra: url.Values{"resource": {filesResource}}, wantResources: []string{filesResource}},
		{name: "two resources, one twice", extra: url.Values{"resource": {filesResource, apiResource, filesResource}}, wantResources: []string{filesResource, apiResource}},
		{name: "resource of no one", extra: url.Values{"resource": {"https://evil.example.com/"}}, wantErr: "invalid_target"},
		{name: "one good resource and one bad", extra: url.Values{"resource": {apiResource, "https://evil.example.com/"}}, wantErr: "invalid_target"},
		{name: "relative resource", extra: url.Values{"resource": {"/api"}}, wantErr: "invalid_target"},
		{name: "resource with a fragment", extra: url.Values{"resource": {apiResource + "#x"}}, wantErr: "invalid_target"},
		{name: "empty resource", extra: url.Values{"resource": {"", apiResource}}, wantErr: "invalid_target"},
		{name: "dpop_jkt", extra: url.Values{"dpop_jkt": {testJKT}}, wantJKT: testJKT},
		{name: "dpop_jkt and resource", extra: url.Values{"dpop_jkt": {testJKT}, "resource": {apiResource}}, wantJKT: testJKT, wantResources: []string{apiResource}},
		{name: "dpop_jkt too short", extra: url.Values{"dpop_jkt": {testJKT[:42]}}, wantErr: "invalid_request"},
		{name: "dpop_jkt too long", extra: url.Values{"dpop_jkt": {testJKT + "A"}}, wantErr: "invalid_request"},
		{name: "dpop_jkt padded", extra: url.Values{"dpop_jkt": {testJKT[:42] + "="}}, wantErr: "invalid_request"},
		{name: "dpop_jkt in standard base64", extra: url.Values{"dpop_jkt": {"0ZcOCORZNYy+DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}, wantErr: "invalid_request"},
		{name: "dpop_jkt with stray bits", extra: url.Values{"dpop_jkt": {testJKT[:42] + "J"}}, wantErr: "invalid_request"},
		{name: "dpop_jkt repeated", extra: url.Values{"dpop_jkt": {testJKT, testJKT}}, wantErr: "invalid_request"},
		{name: "dpop_jkt, DPoP off", extra: url.Values{"dpop_jkt": {testJKT}}, dpopOff: true},
		{name: "malformed dpop_jkt, DPoP off", extra: url.Values{"dpop_jkt": {"x"}}, dpopOff: true},
		{name: "state repeated beside a repeated resource", extra: url.Values{"resource": {apiResource, apiResource}, "state": {"xyz", "xyz"}}, wantErr: "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, func(c *Config) {
				withResources(c)
				if !tc.dpopOff {
					c.DPoP, c.ReplayCache = &DPoPConfig{}, &fakeReplay{}
				}
			})
			var seen *AuthorizeRequest
			e.srv.cfg.Authorizer = AuthorizerFunc(func(_ http.ResponseWriter, _ *http.Request, req *AuthorizeRequest) (*Consent, error) {
				seen = req
				return &Consent{Subject: "alice", AuthTime: testEpoch}, nil
			})
			w := e.authorizeGet(codeRequest("web", tc.extra))
			res := readAuthorizeResponse(t, w)
			if res.to != webRedirect {
				t.Fatalf("response went to %q (status %d, body %q), want %s", res.to, w.Code, w.Body, webRedirect)
			}
			if tc.wantErr != "" {
				if got := res.params.Get("error"); got != tc.wantErr || res.params.Get("state") != "xyz" {
					t.Errorf("error %q, state %q; want %s, xyz", got, res.params.Get("state"), tc.wantErr)
				}
				if seen != nil {
					t.Error("the Authorizer was asked about an invalid request")
				}
				return
			}
			code, ok := e.codes.stored(res.params.Get("code"))
			if !ok {
				t.Fatalf("no code stored; response %v", res.params)
			}
			if d := cmp.Diff(tc.wantResources, code.Resources); d != "" {
				t.Errorf("code resources (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantResources, seen.Resources); d != "" {
				t.Errorf("AuthorizeRequest.Resources (-want +got):\n%s", d)
			}
			if code.DPoPJKT != tc.wantJKT || seen.DPoPJKT != tc.wantJKT {
				t.Errorf("dpop_jkt: code %q, request %q; want %q", code.DPoPJKT, seen.DPoPJKT, tc.wantJKT)
			}
			if tc.wantJKT != "" {
				// Bound to a key: without a proof made with it, the code is
				// refused (RFC 9449 §10); dpop_test.go redeems such codes
				// with one.
				w := e.token(asClient("web", url.Values{"grant_type": {GrantTypeAuthorizationCode},
					"code": {res.params.Get("code")}, "code_verifier": {testVerifier}}))
				if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"invalid_grant"`) {
					t.Errorf("a dpop_jkt code redeemed without a proof: %d %s", w.Code, w.Body)
				}
				return
			}
			// The code's token request may narrow the resources; here it
			// names none and gets the code's.
			tok := e.redeem(t, "web", res.params.Get("code"))
			if tok.AccessToken == "" {
				t.Error("no access token for the code")
			}
		})
	}
}

// TestImplicitResourcesAreTheAudience checks that the resources of an
// implicit grant's request become its access token's audience (RFC 8707
// §2), and that without them the client's Audience stays.
func TestImplicitResourcesAreTheAudience(t *testing.T) {
	for _, tc := range []struct {
		name      string
		resources []string
		want      []string
	}{
		{"with resources", []string{apiResource}, []string{apiResource}},
		{"without", nil, []string{"https://default.example.com/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, func(c *Config) {
				c.AllowImplicitGrant = true
				c.Resources = []string{apiResource}
				c.Clients.(*fakeClients).clients["implicit"].Audience = []string{"https://default.example.com/"}
			})
			params := codeRequest("implicit", url.Values{"response_type": {ResponseTypeToken}, "code_challenge": {""}, "code_challenge_method": {""}})
			params["resource"] = tc.resources
			res := readAuthorizeResponse(t, e.authorizeGet(params))
			tok, ok := e.tokens.stored(res.params.Get("access_token"))
			if !ok {
				t.Fatalf("no access token stored; response %v", res.params)
			}
			if d := cmp.Diff(tc.want, tok.Audience); d != "" {
				t.Errorf("audience (-want +got):\n%s", d)
			}
		})
	}
}
