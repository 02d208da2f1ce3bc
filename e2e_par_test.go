package oauthkit_test

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit"
)

// e2ePush plays the client's back channel at the pushed authorization
// request endpoint found in the metadata (RFC 9126 §2): it posts conf's
// authorization request with params, authenticated with HTTP Basic when
// conf has a secret, and returns the status and the decoded response.
func (e *e2eEnv) e2ePush(t *testing.T, conf *oauth2.Config, params url.Values) (int, map[string]any) {
	t.Helper()
	form := url.Values{
		"response_type": {"code"},
		"client_id":     {conf.ClientID},
		"redirect_uri":  {conf.RedirectURL},
		"scope":         {strings.Join(conf.Scopes, " ")},
	}
	for k, v := range params {
		form[k] = v
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.meta.PushedAuthorizationRequestEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if conf.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(conf.ClientID), url.QueryEscape(conf.ClientSecret)) // RFC 6749 §2.3.1
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("push: %s %q: %v", resp.Status, body, err)
	}
	return resp.StatusCode, out
}

// TestE2EPushedAuthorizationRequest runs the code flow with PAR (RFC 9126)
// for a confidential and a public client: the client pushes its request,
// sends the browser to the authorization endpoint with the request_uri
// through x/oauth2's AuthCodeURL, and exchanges the code with x/oauth2.
func TestE2EPushedAuthorizationRequest(t *testing.T) {
	hash, err := oauthkit.HashLowEntropySecret(e2eAwkwardSecret)
	if err != nil {
		t.Fatal(err)
	}
	spa := &oauthkit.Client{ID: "spa", RedirectURIs: []string{e2eRedirectURI}, GrantTypes: []string{oauthkit.GrantTypeAuthorizationCode}, Scopes: []string{"read"},
		RequirePushedAuthorizationRequests: true}
	e := e2eStart(t, oauthkit.Config{PAR: &oauthkit.PARConfig{}}, e2eConfidentialClient(hash, ""), spa)
	if e.meta.PushedAuthorizationRequestEndpoint != e.ts.URL+"/par" || e.meta.RequirePushedAuthorizationRequests {
		t.Fatalf("metadata: pushed_authorization_request_endpoint %q, require_pushed_authorization_requests %v; want %s/par, false",
			e.meta.PushedAuthorizationRequestEndpoint, e.meta.RequirePushedAuthorizationRequests, e.ts.URL)
	}
	for _, conf := range []*oauth2.Config{
		e.config("app", e2eAwkwardSecret, oauth2.AuthStyleInHeader, "read", "write"),
		e.config("spa", "", oauth2.AuthStyleInParams, "read"),
	} {
		t.Run(conf.ClientID, func(t *testing.T) {
			verifier := oauth2.GenerateVerifier()
			state := rand.Text()
			status, pushed := e.e2ePush(t, conf, url.Values{
				"state":                 {state},
				"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
				"code_challenge_method": {"S256"},
			})
			uri, _ := pushed["request_uri"].(string)
			if status != http.StatusCreated || !strings.HasPrefix(uri, oauthkit.RequestURIPrefix) || pushed["expires_in"] != float64(60) {
				t.Fatalf("push: %d %v, want 201 with a request_uri and expires_in 60", status, pushed)
			}
			// AuthCodeURL adds its own response_type, redirect_uri and
			// scope, which the server ignores beside a request_uri; the
			// state comes from the pushed request.
			opt := oauth2.SetAuthURLParam("request_uri", uri)
			code := e.code(t, e.authorize(t, conf, "", opt), state)
			tok, err := conf.Exchange(e.ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if tok.AccessToken == "" {
				t.Fatal("no access token")
			}
			// The request_uri was used once.
			resp, err := e.ts.Client().Get(conf.AuthCodeURL("", opt))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(string(body), "invalid_request_uri") {
				t.Errorf("second use of the request_uri: %d %q, want 400 invalid_request_uri", resp.StatusCode, body)
			}
		})
	}
	t.Run("client that requires PAR, without it", func(t *testing.T) {
		conf := e.config("spa", "", oauth2.AuthStyleInParams, "read")
		params := e.authorize(t, conf, "st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
		if params.Get("error") != "invalid_request" || params.Get("state") != "st" {
			t.Errorf("authorization response %v, want invalid_request (RFC 9126 §4)", params)
		}
	})
	t.Run("confidential client without its secret", func(t *testing.T) {
		status, body := e.e2ePush(t, e.config("app", "", oauth2.AuthStyleInParams, "read"), nil)
		if status != http.StatusBadRequest || body["error"] != "invalid_client" {
			t.Errorf("push: %d %v, want 400 invalid_client", status, body)
		}
	})
}
