package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit"
)

// discoverPAR returns the pushed authorization request endpoint and the
// require_pushed_authorization_requests flag from the metadata, as a
// client finds them (RFC 9126 §5).
func discoverPAR(t *testing.T, ts *testServer) (endpoint string, required bool) {
	t.Helper()
	resp, err := ts.Client().Get(ts.issuer + pathMetadata)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct {
		Endpoint string `json:"pushed_authorization_request_endpoint"`
		Required bool   `json:"require_pushed_authorization_requests"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m.Endpoint, m.Required
}

// pushRequest posts conf's authorization request with PKCE for verifier
// and the given state to the PAR endpoint, authenticated with the client's
// secret (HTTP Basic) or, for a public client, its client_id, and returns
// the status and response body.
func pushRequest(t *testing.T, ts *testServer, endpoint string, conf *oauth2.Config, verifier, state string) (int, map[string]any) {
	t.Helper()
	form := url.Values{
		"client_id": {conf.ClientID}, "response_type": {"code"}, "redirect_uri": {conf.RedirectURL},
		"scope": {strings.Join(conf.Scopes, " ")}, "state": {state},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
	}
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if conf.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(conf.ClientID), url.QueryEscape(conf.ClientSecret))
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("PAR response %d %q: %v", resp.StatusCode, body, err)
	}
	return resp.StatusCode, out
}

// TestPushedAuthorizationRequests runs the code flow with PAR through the
// login and consent pages, which post the request_uri back: it is used
// once, when the code is issued, and lives a minute.
func TestPushedAuthorizationRequests(t *testing.T) {
	ts := demoServer()
	endpoint, required := discoverPAR(t, ts)
	if endpoint != ts.issuer+pathPAR || required {
		t.Fatalf("metadata: pushed_authorization_request_endpoint %q, require_pushed_authorization_requests %v; want %s, false", endpoint, required, ts.issuer+pathPAR)
	}
	for _, c := range []struct{ id, secret string }{{"web", "s3cret"}, {"spa", ""}} {
		t.Run(c.id, func(t *testing.T) {
			conf := oauthConfig(ts, c.id, c.secret, "read")
			verifier := oauth2.GenerateVerifier()
			status, pushed := pushRequest(t, ts, endpoint, conf, verifier, c.id+"-pushed")
			uri, _ := pushed["request_uri"].(string)
			if status != http.StatusCreated || !strings.HasPrefix(uri, oauthkit.RequestURIPrefix) || pushed["expires_in"] != float64(60) {
				t.Fatalf("push: %d %v, want 201 with a request_uri that lives 60 s", status, pushed)
			}
			authURL := conf.AuthCodeURL("", oauth2.SetAuthURLParam("request_uri", uri))
			ua := newUserAgent(t, ts)
			p := ua.get(authURL)
			if !isLoginPage(p) {
				t.Fatalf("want the login page, got %d:\n%s", p.status, p.body)
			}
			// A reload of the page before a decision is allowed (RFC
			// 9126 §4).
			if p = ua.get(authURL); !isLoginPage(p) {
				t.Fatalf("reload: want the login page again, got %d:\n%s", p.status, p.body)
			}
			p = ua.login(p, "alice", "wonderland")
			if isConsentPage(p) {
				p = ua.submit(ua.issuer, parseForm(t, p), actionApprove, nil)
			}
			if p.location == nil {
				t.Fatalf("want a redirect to the client, got %d:\n%s", p.status, p.body)
			}
			q := checkRedirect(t, ts, p.location, c.id+"-pushed")
			if _, err := conf.Exchange(clientContext(t.Context(), ts), q.Get("code"), oauth2.VerifierOption(verifier)); err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			// Used once: the same link again is refused, on the error page.
			p = ua.get(authURL)
			if p.status != http.StatusBadRequest || p.location != nil || !strings.Contains(p.body, "invalid_request_uri") {
				t.Errorf("second use: %d, want 400 invalid_request_uri on the error page:\n%s", p.status, p.body)
			}
		})
	}
	t.Run("request_uri of another client", func(t *testing.T) {
		conf := oauthConfig(ts, "web", "s3cret", "read")
		_, pushed := pushRequest(t, ts, endpoint, conf, oauth2.GenerateVerifier(), "x")
		uri, _ := pushed["request_uri"].(string)
		p := newUserAgent(t, ts).get(ts.issuer + pathAuthorize + "?" + url.Values{"client_id": {"spa"}, "request_uri": {uri}}.Encode())
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "invalid_request_uri") {
			t.Errorf("%d, want 400 invalid_request_uri:\n%s", p.status, p.body)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		status, body := pushRequest(t, ts, endpoint, oauthConfig(ts, "web", "wrong", "read"), oauth2.GenerateVerifier(), "x")
		if status != http.StatusUnauthorized || body["error"] != "invalid_client" {
			t.Errorf("%d %v, want 401 invalid_client", status, body)
		}
	})
}

// TestPushedAuthorizationRequired checks require_pushed_authorization_requests,
// server-wide and per client: such a client's request that was not pushed
// is refused with invalid_request (RFC 9126 §4), and a pushed one works.
func TestPushedAuthorizationRequired(t *testing.T) {
	serverWide := demoConfig()
	serverWide.RequirePushedAuthorizationRequests = true
	perClient := demoConfig()
	for i := range perClient.Clients {
		if perClient.Clients[i].ID == "spa" {
			perClient.Clients[i].RequirePushedAuthorizationRequests = true
		}
	}
	for _, tc := range []struct {
		name         string
		cfg          config
		wantMetadata bool
		wantRequired map[string]bool
	}{
		{"server-wide", serverWide, true, map[string]bool{"spa": true, "web": true}},
		{"per client", perClient, false, map[string]bool{"spa": true, "web": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.cfg, false)
			t.Cleanup(ts.Close)
			endpoint, required := discoverPAR(t, ts)
			if required != tc.wantMetadata {
				t.Errorf("require_pushed_authorization_requests = %v, want %v", required, tc.wantMetadata)
			}
			for id, secret := range map[string]string{"spa": "", "web": "s3cret"} {
				conf := oauthConfig(ts, id, secret, "read")
				ua := newUserAgent(t, ts)
				p := ua.get(conf.AuthCodeURL("plain", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
				refused := p.location != nil && p.location.Query().Get("error") == "invalid_request"
				if refused != tc.wantRequired[id] {
					t.Errorf("%s without PAR: %d, Location %v; refused = %v, want %v", id, p.status, p.location, refused, tc.wantRequired[id])
				}
				verifier := oauth2.GenerateVerifier()
				_, pushed := pushRequest(t, ts, endpoint, conf, verifier, "pushed")
				uri, _ := pushed["request_uri"].(string)
				loc := ua.authorize(conf.AuthCodeURL("", oauth2.SetAuthURLParam("request_uri", uri)), actionApprove)
				if q := checkRedirect(t, ts, loc, "pushed"); q.Get("code") == "" {
					t.Errorf("%s with PAR: %v, want a code", id, q)
				}
			}
		})
	}
}
