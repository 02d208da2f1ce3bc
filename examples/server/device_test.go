package main

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit"
)

// deviceConfig is the demo config with "tv", a public client registered
// for the device authorization grant.
func deviceConfig() config {
	cfg := demoConfig()
	cfg.Clients = append(cfg.Clients, clientConfig{
		ID: "tv", Name: "Demo TV", Public: true,
		GrantTypes: []string{oauthkit.GrantTypeDeviceCode, oauthkit.GrantTypeRefreshToken},
		Scopes:     []string{"read"},
	})
	return cfg
}

// deviceClient is tv's x/oauth2 configuration, with the endpoints found in
// the metadata, as a device finds them.
func deviceClient(t *testing.T, ts *testServer) *oauth2.Config {
	t.Helper()
	resp, err := ts.Client().Get(ts.issuer + pathMetadata)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct {
		TokenEndpoint               string   `json:"token_endpoint"`
		DeviceAuthorizationEndpoint string   `json:"device_authorization_endpoint"`
		GrantTypesSupported         []string `json:"grant_types_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.DeviceAuthorizationEndpoint != ts.issuer+pathDeviceAuthorization || !strings.Contains(strings.Join(m.GrantTypesSupported, " "), oauthkit.GrantTypeDeviceCode) {
		t.Fatalf("metadata without the device grant: %+v", m)
	}
	return &oauth2.Config{
		ClientID: "tv",
		Endpoint: oauth2.Endpoint{DeviceAuthURL: m.DeviceAuthorizationEndpoint, TokenURL: m.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   []string{"read"},
	}
}

// TestDeviceFlow runs the device flow with a browser without JavaScript:
// x/oauth2 asks for a device authorization; the user opens
// verification_uri_complete, continues, signs in and approves on the same
// pages as the authorization endpoint's; the device's polls get the token,
// which the demo API accepts. Then another device is denied.
func TestDeviceFlow(t *testing.T) {
	ts := startServer(t, deviceConfig(), false)
	t.Cleanup(ts.Close)
	deviceFlow(t, ts)
}

// TestDeviceFlowPostgres is TestDeviceFlow with -store postgres.
func TestDeviceFlowPostgres(t *testing.T) {
	dbURL, _ := postgresSchema(t)
	st, err := openStores(t.Context(), dbURL)
	if err != nil {
		t.Fatalf("openStores: %v", err)
	}
	t.Cleanup(st.close)
	cfg := deviceConfig()
	ts := httptest.NewUnstartedServer(nil)
	cfg.Issuer = "http://" + ts.Listener.Addr().String()
	a, err := newApp(t.Context(), cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		ts.Close()
		t.Fatalf("newApp: %v", err)
	}
	ts.Config.Handler = a
	ts.Start()
	t.Cleanup(ts.Close)
	deviceFlow(t, &testServer{Server: ts, app: a, issuer: cfg.Issuer})
}

// deviceFlow is TestDeviceFlow's flow against ts.
func deviceFlow(t *testing.T, ts *testServer) {
	conf := deviceClient(t, ts)
	ctx := clientContext(t.Context(), ts)
	ua := newUserAgent(t, ts)

	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	if da.VerificationURI != ts.issuer+pathDevice || da.VerificationURIComplete != da.VerificationURI+"?user_code="+url.QueryEscape(da.UserCode) {
		t.Fatalf("verification URIs %q, %q", da.VerificationURI, da.VerificationURIComplete)
	}
	p := ua.get(da.VerificationURIComplete)
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="user_code" value="`+da.UserCode+`"`) {
		t.Fatalf("verification page (status %d) without the code filled in:\n%s", p.status, p.body)
	}
	p = ua.post(ts.issuer+pathDevice, url.Values{fieldUserCode: {da.UserCode}, fieldAction: {actionContinue}})
	if !isLoginPage(p) || !strings.Contains(p.body, da.UserCode) || !strings.Contains(p.body, "Demo TV") {
		t.Fatalf("want the login page naming the client and the code, got %d:\n%s", p.status, p.body)
	}
	p = ua.login(p, "alice", "wonderland")
	if !isConsentPage(p) || !strings.Contains(p.body, da.UserCode) {
		t.Fatalf("want the consent page with the code, got %d:\n%s", p.status, p.body)
	}
	p = ua.submit(ts.issuer, parseForm(t, p), actionApprove, nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, "Device connected") {
		t.Fatalf("approval: %d\n%s", p.status, p.body)
	}
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatalf("DeviceAccessToken: %v", err)
	}
	resp, err := conf.Client(ctx, tok).Get(ts.issuer + pathAPIMe)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/api/me with the device's token: %d", resp.StatusCode)
	}

	// A second device: the user, signed in, goes straight to the consent
	// page (never approved without it), and denies.
	da, err = conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	p = ua.post(ts.issuer+pathDevice, url.Values{fieldUserCode: {strings.ToLower(da.UserCode)}, fieldAction: {actionContinue}})
	if !isConsentPage(p) {
		t.Fatalf("want the consent page, got %d:\n%s", p.status, p.body)
	}
	p = ua.submit(ts.issuer, parseForm(t, p), actionDeny, nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, "Request denied") {
		t.Fatalf("denial: %d\n%s", p.status, p.body)
	}
	var re *oauth2.RetrieveError
	if _, err := conf.DeviceAccessToken(ctx, da); !errors.As(err, &re) || re.ErrorCode != "access_denied" {
		t.Fatalf("DeviceAccessToken after denial: %v, want access_denied", err)
	}
}

// TestDevicePageErrors checks the verification page's refusals.
func TestDevicePageErrors(t *testing.T) {
	ts := startServer(t, deviceConfig(), false)
	t.Cleanup(ts.Close)
	conf := deviceClient(t, ts)
	da, err := conf.DeviceAuth(clientContext(t.Context(), ts))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		method     string
		form       url.Values
		wantStatus int
		wantText   string
	}{
		{"wrong code", http.MethodPost, url.Values{fieldUserCode: {"BCDF-GHJK"}, fieldAction: {actionContinue}}, http.StatusOK, "This code is not valid"},
		{"no code", http.MethodPost, url.Values{fieldAction: {actionContinue}}, http.StatusOK, "This code is not valid"},
		{"approve without a CSRF token", http.MethodPost, url.Values{fieldUserCode: {da.UserCode}, fieldAction: {actionApprove}}, http.StatusForbidden, "not accepted"},
		{"deny without a CSRF token", http.MethodPost, url.Values{fieldUserCode: {da.UserCode}, fieldAction: {actionDeny}}, http.StatusForbidden, "not accepted"},
		{"method", http.MethodPut, nil, http.StatusMethodNotAllowed, "method not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, ts.issuer+pathDevice, strings.NewReader(tt.form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			p := newUserAgent(t, ts).do(req)
			if p.status != tt.wantStatus || !strings.Contains(p.body, tt.wantText) {
				t.Errorf("got %d, want %d with %q:\n%s", p.status, tt.wantStatus, tt.wantText, p.body)
			}
		})
	}
	t.Run("guessing", func(t *testing.T) {
		ua := newUserAgent(t, ts)
		var p *page
		for range oauthkit.DefaultUserCodeBurst + 1 {
			p = ua.post(ts.issuer+pathDevice, url.Values{fieldUserCode: {"BCDF-GHJK"}, fieldAction: {actionContinue}})
		}
		if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" || !strings.Contains(p.body, "Too many codes") {
			t.Errorf("guess beyond the limit: %d, Retry-After %q:\n%s", p.status, p.header.Get("Retry-After"), p.body)
		}
		// The right code from the same address is refused too, until the
		// bucket refills: the limit is per address, not per code.
		if p := ua.post(ts.issuer+pathDevice, url.Values{fieldUserCode: {da.UserCode}, fieldAction: {actionContinue}}); p.status != http.StatusTooManyRequests {
			t.Errorf("right code beyond the limit: %d", p.status)
		}
	})
}

func TestDeviceConfigFile(t *testing.T) {
	cfg, err := parseConfig("server.json", strings.NewReader(`{"clients": [{"id": "tv", "public": true,
		"grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"], "scopes": ["read"]}]}`))
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	cfg.Issuer = "http://127.0.0.1:9000"
	a, err := newApp(t.Context(), cfg, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	if m := a.server.Metadata(); m.DeviceAuthorizationEndpoint != cfg.Issuer+pathDeviceAuthorization {
		t.Errorf("device_authorization_endpoint %q", m.DeviceAuthorizationEndpoint)
	}
}
