package oauthkit

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestResourceIndicators checks RFC 8707 at the token endpoint: the
// resources a code or refresh family was granted for bound what a token
// request may name, a request narrows them for the access token only, and
// the access token's audience is what was asked for.
func TestResourceIndicators(t *testing.T) {
	const a, b, c = "https://a.example", "https://b.example", "https://c.example"
	tests := []struct {
		name    string
		granted []string // the code's Resources
		redeem  step
		refresh *step // then a refresh with the new refresh token
	}{
		{
			name:    "granted resources become the audience",
			granted: []string{a, b},
			redeem:  step{access: []string{a, b}, refresh: []string{a, b}},
			refresh: &step{access: []string{a, b}, refresh: []string{a, b}},
		},
		{
			name:    "the code exchange narrows, the family keeps the grant",
			granted: []string{a, b},
			redeem:  step{resources: []string{b}, access: []string{b}, refresh: []string{a, b}},
			refresh: &step{resources: []string{a}, access: []string{a}, refresh: []string{a, b}},
		},
		{
			name:    "repeated resource counts once",
			granted: []string{a, b},
			redeem:  step{resources: []string{a, a}, access: []string{a}, refresh: []string{a, b}},
		},
		{
			name:    "the code exchange cannot widen",
			granted: []string{a},
			redeem:  step{resources: []string{a, c}, wantErr: "invalid_target"},
		},
		{
			name:    "a refresh cannot widen",
			granted: []string{a},
			redeem:  step{access: []string{a}, refresh: []string{a}},
			refresh: &step{resources: []string{b}, wantErr: "invalid_target"},
		},
		{
			name:    "no grant restriction: the first request's resources bind the family",
			redeem:  step{resources: []string{c}, access: []string{c}, refresh: []string{c}},
			refresh: &step{resources: []string{a}, wantErr: "invalid_target"},
		},
		{
			name:    "neither: the client's audience",
			redeem:  step{},
			refresh: &step{},
		},
		{
			name:    "a resource no policy allows",
			granted: []string{a},
			redeem:  step{resources: []string{"https://d.example"}, wantErr: "invalid_target"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, nil)
			web := *e.clients.clients["web"]
			web.Resources = []string{c} // on top of Config.Resources: a, b
			e.clients.clients["web"] = &web

			raw := "code-for-" + tt.name
			if err := e.codes.CreateCode(t.Context(), &AuthorizationCode{
				ID: HashToken(raw), GrantID: "g", ClientID: "web", RedirectURI: webRedirect,
				Subject: "alice", Scope: []string{"read"}, Resources: tt.granted,
				ExpiresAt: testEpoch.Add(DefaultCodeLifetime),
			}); err != nil {
				t.Fatal(err)
			}
			form := url.Values{"grant_type": {GrantTypeAuthorizationCode}, "code": {raw}}
			rt := e.resourceStep(t, "redeem", form, tt.redeem)
			if tt.refresh == nil || rt == "" {
				return
			}
			e.resourceStep(t, "refresh", url.Values{"grant_type": {GrantTypeRefreshToken}, "refresh_token": {rt}}, *tt.refresh)
		})
	}
}

// step is one token request of TestResourceIndicators.
type step struct {
	resources []string
	wantErr   string   // an error code, or "" for success
	access    []string // the access token's audience
	refresh   []string // the refresh token's audience
}

// resourceStep sends form with st's resources as web and checks the
// outcome; it returns the new refresh token, if any.
func (e *testEnv) resourceStep(t *testing.T, name string, form url.Values, st step) string {
	t.Helper()
	if st.resources != nil {
		form["resource"] = st.resources
	}
	w := e.token(asClient("web", form))
	if st.wantErr != "" {
		var body errorBody
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error != st.wantErr || w.Code != 400 {
			t.Fatalf("%s: %d %s, want 400 %s", name, w.Code, w.Body, st.wantErr)
		}
		return ""
	}
	if w.Code != 200 {
		t.Fatalf("%s: %d %s", name, w.Code, w.Body)
	}
	var resp TokenResponse
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	at, _ := e.tokens.stored(resp.AccessToken)
	rt, _ := e.tokens.stored(resp.RefreshToken)
	want := st.access
	if want == nil {
		want = e.clients.clients["web"].Audience
	}
	if diff := cmp.Diff(want, at.Audience); diff != "" {
		t.Errorf("%s: access token audience (-want +got):\n%s", name, diff)
	}
	want = st.refresh
	if want == nil {
		want = e.clients.clients["web"].Audience
	}
	if diff := cmp.Diff(want, rt.Audience); diff != "" {
		t.Errorf("%s: refresh token audience (-want +got):\n%s", name, diff)
	}
	return resp.RefreshToken
}

// TestMalformedVerifierSpendsNoCode checks that a token request whose
// code_verifier is not RFC 7636 §4.1 syntax is refused with
// invalid_request before the code is consumed: the client may retry with
// its real verifier.
func TestMalformedVerifierSpendsNoCode(t *testing.T) {
	e := newTestEnv(t, nil)
	code := e.authorizeCode(t, "web", nil)
	w := e.token(asClient("web", url.Values{"grant_type": {GrantTypeAuthorizationCode}, "code": {code}, "code_verifier": {"too-short"}}))
	var body errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 400 || body.Error != "invalid_request" {
		t.Fatalf("malformed verifier: %d %s, want 400 invalid_request", w.Code, w.Body)
	}
	if tok := e.redeem(t, "web", code); tok.AccessToken == "" {
		t.Error("the code was spent by a malformed request")
	}
}
