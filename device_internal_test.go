package oauthkit

// Tests of the device authorization grant (RFC 8628) on fake stores: the
// configuration, the device authorization endpoint, the device_code grant's
// every answer, the verification page's calls and their limit, user codes.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fakeDevices is a DeviceStore in a map, keeping the contract of store.go.
type fakeDevices struct {
	faults
	mu   sync.Mutex
	auth map[string]*DeviceAuthorization
}

func (s *fakeDevices) CreateDeviceAuthorization(_ context.Context, a *DeviceAuthorization) error {
	if err := s.fault("CreateDeviceAuthorization"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.auth == nil {
		s.auth = make(map[string]*DeviceAuthorization)
	}
	for _, o := range s.auth {
		if o.ID == a.ID || o.UserCodeID == a.UserCodeID {
			return fmt.Errorf("device authorization: %w", ErrExists)
		}
	}
	c := *a
	c.Scope, c.Resources, c.Status, c.LastPolledAt = slices.Clone(a.Scope), slices.Clone(a.Resources), DevicePending, time.Time{}
	s.auth[c.ID] = &c
	return nil
}

func (s *fakeDevices) byUserCode(id string, now time.Time) *DeviceAuthorization {
	for _, a := range s.auth {
		if a.UserCodeID == id && a.Status == DevicePending && now.Before(a.ExpiresAt) {
			return a
		}
	}
	return nil
}

func (s *fakeDevices) DeviceAuthorizationByUserCode(_ context.Context, id string, now time.Time) (*DeviceAuthorization, error) {
	if err := s.fault("DeviceAuthorizationByUserCode"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.byUserCode(id, now)
	if a == nil {
		return nil, fmt.Errorf("device authorization: %w", ErrNotFound)
	}
	c := *a
	return &c, nil
}

func (s *fakeDevices) DecideDeviceAuthorization(_ context.Context, id string, now time.Time, approval *DeviceAuthorization) error {
	if err := s.fault("DecideDeviceAuthorization"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.byUserCode(id, now)
	if a == nil {
		return fmt.Errorf("device authorization: %w", ErrNotFound)
	}
	if approval == nil {
		a.Status = DeviceDenied
		return nil
	}
	a.Status, a.Subject, a.AuthTime, a.ACR = DeviceApproved, approval.Subject, approval.AuthTime, approval.ACR
	return nil
}

func (s *fakeDevices) PollDeviceAuthorization(_ context.Context, id, clientID string, now time.Time) (*DeviceAuthorization, error) {
	if err := s.fault("PollDeviceAuthorization"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.auth[id]
	if !ok || a.ClientID != clientID {
		return nil, fmt.Errorf("device authorization: %w", ErrNotFound)
	}
	before := *a
	if !now.Before(a.ExpiresAt) {
		return &before, nil
	}
	switch a.Status {
	case DevicePending:
		if !a.LastPolledAt.IsZero() && now.Sub(a.LastPolledAt) < a.Interval {
			a.Interval += 5 * time.Second
		}
		a.LastPolledAt = now
	case DeviceApproved:
		a.Status = DeviceRedeemed
	}
	return &before, nil
}

// stored returns the authorization of a device code.
func (s *fakeDevices) stored(deviceCode string) (DeviceAuthorization, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.auth[HashToken(deviceCode)]
	if !ok {
		return DeviceAuthorization{}, false
	}
	return *a, true
}

// fakeSigner "signs" ID tokens as the JSON of their claims.
type fakeSigner struct{}

func (fakeSigner) Algorithm() string { return "ES256" }

func (fakeSigner) Sign(_ context.Context, _ string, claims any) (string, error) {
	b, err := json.Marshal(claims)
	return string(b), err
}

const (
	deviceVerificationURI = "https://auth.example.com/device"
	deviceResource        = "https://api.example.com"
)

// deviceEnv is a test server with the device grant on fake stores, the
// test clients and two device clients: "tv" (public) and "box"
// (confidential, client_secret_basic, with a resource of its own).
type deviceEnv struct {
	*testEnv
	devices *fakeDevices
}

const boxSecret = "box-secret-0123456789abcdefghijklmnopqrstuvw"

func newDeviceEnv(t *testing.T, configure func(*Config)) *deviceEnv {
	t.Helper()
	devices := &fakeDevices{}
	e := newTestEnv(t, func(c *Config) {
		c.Device = &DeviceConfig{Store: devices, VerificationURI: deviceVerificationURI}
		c.IDTokens, c.Endpoints.JWKS = fakeSigner{}, testIssuer+"/jwks"
		c.Resources = []string{deviceResource}
		if configure != nil {
			configure(c)
		}
	})
	hash, err := HashSecret(boxSecret)
	if err != nil {
		t.Fatal(err)
	}
	device := []string{GrantTypeDeviceCode, GrantTypeRefreshToken}
	e.clients.clients["tv"] = &Client{ID: "tv", GrantTypes: device, Scopes: []string{"openid", "read", "write"}, DefaultScopes: []string{"read"}}
	e.clients.clients["box"] = &Client{ID: "box", SecretHash: hash, GrantTypes: device, Scopes: []string{"read"},
		Resources: []string{"https://box.example.com"}}
	return &deviceEnv{testEnv: e, devices: devices}
}

// post serves a request of client to h, authenticated as the client is
// registered to.
func (e *deviceEnv) post(h http.Handler, client string, form url.Values) *httptest.ResponseRecorder {
	var r *http.Request
	if client == "box" {
		r = withBasic(tokenPost(form), "box", boxSecret)
	} else {
		r = asClient(client, form)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

type deviceResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// start makes a device authorization request and returns its response.
func (e *deviceEnv) start(t *testing.T, client string, form url.Values) deviceResponse {
	t.Helper()
	w := e.post(e.srv.DeviceAuthorizationHandler(), client, form)
	if w.Code != http.StatusOK {
		t.Fatalf("device authorization: %d %s", w.Code, w.Body)
	}
	var resp deviceResponse
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

// poll makes the device's token request.
func (e *deviceEnv) poll(client, deviceCode string) *httptest.ResponseRecorder {
	return e.post(e.srv.TokenHandler(), client, url.Values{"grant_type": {GrantTypeDeviceCode}, "device_code": {deviceCode}})
}

// decide approves (as alice) or denies the request of a user code.
func (e *deviceEnv) decide(t *testing.T, userCode string, approve bool) {
	t.Helper()
	ctx := context.Background()
	req, err := e.srv.DeviceRequest(ctx, userCode, "198.51.100.7")
	if err != nil {
		t.Fatalf("DeviceRequest: %v", err)
	}
	if approve {
		err = e.srv.ApproveDevice(ctx, req, DeviceApproval{Subject: "alice", AuthTime: testEpoch, ACR: "urn:example:mfa"})
	} else {
		err = e.srv.DenyDevice(ctx, req)
	}
	if err != nil {
		t.Fatalf("decision: %v", err)
	}
}

// errorCode returns the error member of a JSON error response.
func errorCode(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body %q: %v", w.Body, err)
	}
	return body.Error
}

func TestDeviceConfig(t *testing.T) {
	store := &fakeDevices{}
	tests := []struct {
		name string
		cfg  func(*Config)
		want string // part of New's error; empty for success
	}{
		{"defaults", func(c *Config) {}, ""},
		{"no store", func(c *Config) { c.Device.Store = nil }, "Store is required"},
		{"no verification URI", func(c *Config) { c.Device.VerificationURI = "" }, "VerificationURI is required"},
		{"relative verification URI", func(c *Config) { c.Device.VerificationURI = "/device" }, "absolute URL"},
		{"verification URI with fragment", func(c *Config) { c.Device.VerificationURI = "https://a.example/device#x" }, "no fragment"},
		{"http verification URI", func(c *Config) { c.Device.VerificationURI = "http://a.example/device" }, "must use https"},
		{"loopback http verification URI", func(c *Config) { c.Device.VerificationURI = "http://127.0.0.1:8080/device" }, ""},
		{"verification URI with a query", func(c *Config) { c.Device.VerificationURI = "https://a.example/device?lang=en" }, ""},
		{"fractional lifetime", func(c *Config) { c.Device.Lifetime = 1500 * time.Millisecond }, "Lifetime must be"},
		{"negative lifetime", func(c *Config) { c.Device.Lifetime = -time.Minute }, "Lifetime must be"},
		{"sub-second interval", func(c *Config) { c.Device.Interval = 500 * time.Millisecond }, "Interval must be"},
		{"fractional interval", func(c *Config) { c.Device.Interval = 2500 * time.Millisecond }, "Interval must be"},
		{"interval not shorter than lifetime", func(c *Config) { c.Device.Interval, c.Device.Lifetime = time.Minute, time.Minute }, "shorter than"},
		{"device endpoint without Device", func(c *Config) { c.Device = nil; c.Endpoints.DeviceAuthorization = testIssuer + "/device" }, "needs Config.Device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{
				Issuer: testIssuer, Clients: &fakeClients{}, Codes: &fakeCodes{}, Tokens: &fakeTokens{},
				Device: &DeviceConfig{Store: store, VerificationURI: deviceVerificationURI},
			}
			tt.cfg(&cfg)
			_, err := New(cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("New: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestDeviceMetadata(t *testing.T) {
	tests := []struct {
		name         string
		device       bool
		endpoint     string
		wantEndpoint string
	}{
		{"off", false, "", ""},
		{"default endpoint", true, "", testIssuer + "/device_authorization"},
		{"endpoint set", true, testIssuer + "/oauth/device", testIssuer + "/oauth/device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, func(c *Config) {
				if tt.device {
					c.Device = &DeviceConfig{Store: &fakeDevices{}, VerificationURI: deviceVerificationURI}
				}
				c.Endpoints.DeviceAuthorization = tt.endpoint
			})
			m := e.srv.Metadata()
			if m.DeviceAuthorizationEndpoint != tt.wantEndpoint {
				t.Errorf("device_authorization_endpoint %q, want %q", m.DeviceAuthorizationEndpoint, tt.wantEndpoint)
			}
			if got := slices.Contains(m.GrantTypesSupported, GrantTypeDeviceCode); got != tt.device {
				t.Errorf("grant_types_supported %v: device_code listed %v, want %v", m.GrantTypesSupported, got, tt.device)
			}
			if !tt.device {
				w := httptest.NewRecorder()
				e.srv.DeviceAuthorizationHandler().ServeHTTP(w, asClient("spa", url.Values{}))
				if w.Code != http.StatusNotFound {
					t.Errorf("device authorization without Device: %d, want 404", w.Code)
				}
				if w := e.token(asClient("spa", url.Values{"grant_type": {GrantTypeDeviceCode}, "device_code": {"x"}})); w.Code != http.StatusBadRequest || errorCode(t, w) != "unsupported_grant_type" {
					t.Errorf("device_code grant without Device: %d %s", w.Code, w.Body)
				}
			}
		})
	}
}

func TestDeviceAuthorizationResponse(t *testing.T) {
	e := newDeviceEnv(t, nil)
	w := e.post(e.srv.DeviceAuthorizationHandler(), "tv", url.Values{"scope": {"openid read"}, "resource": {deviceResource}})
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	for k, want := range map[string]string{"Cache-Control": "no-store", "Content-Type": "application/json;charset=UTF-8"} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s %q, want %q", k, got, want)
		}
	}
	var resp deviceResponse
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	canonical, ok := canonicalUserCode(resp.UserCode)
	if !ok || len(resp.DeviceCode) != 43 || resp.UserCode != formatUserCode(canonical) {
		t.Errorf("device_code %q, user_code %q: want 43 characters and XXXX-XXXX", resp.DeviceCode, resp.UserCode)
	}
	want := deviceResponse{
		DeviceCode: resp.DeviceCode, UserCode: resp.UserCode,
		VerificationURI:         deviceVerificationURI,
		VerificationURIComplete: deviceVerificationURI + "?user_code=" + resp.UserCode,
		ExpiresIn:               600,
		Interval:                5,
	}
	if diff := cmp.Diff(want, resp); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	got, ok := e.devices.stored(resp.DeviceCode)
	if !ok {
		t.Fatal("authorization not stored under HashToken(device_code)")
	}
	wantStored := DeviceAuthorization{
		ID: HashToken(resp.DeviceCode), UserCodeID: HashToken(canonical), ClientID: "tv",
		Scope: []string{"openid", "read"}, Resources: []string{deviceResource},
		ExpiresAt: testEpoch.Add(DefaultDeviceLifetime), Interval: 4 * time.Second, Status: DevicePending,
	}
	if diff := cmp.Diff(wantStored, got); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	if bytes.Contains(w.Body.Bytes(), []byte(got.ID)) || strings.Contains(got.UserCodeID, canonical) {
		t.Error("the store holds a code in the clear")
	}
}

func TestDeviceAuthorizationVerificationURIWithQuery(t *testing.T) {
	e := newDeviceEnv(t, func(c *Config) { c.Device.VerificationURI = "https://auth.example.com/device?lang=en" })
	resp := e.start(t, "tv", nil)
	if want := "https://auth.example.com/device?lang=en&user_code=" + resp.UserCode; resp.VerificationURIComplete != want {
		t.Errorf("verification_uri_complete %q, want %q", resp.VerificationURIComplete, want)
	}
}

func TestDeviceAuthorizationErrors(t *testing.T) {
	tests := []struct {
		name       string
		request    func(e *deviceEnv) *http.Request
		setup      func(e *deviceEnv)
		wantStatus int
		wantCode   string
	}{
		{
			name: "GET",
			request: func(*deviceEnv) *http.Request {
				return httptest.NewRequest(http.MethodGet, "/device_authorization?client_id=tv", nil)
			},
			wantStatus: http.StatusMethodNotAllowed, wantCode: "invalid_request",
		},
		{
			name:       "no client",
			request:    func(*deviceEnv) *http.Request { return tokenPost(url.Values{"scope": {"read"}}) },
			wantStatus: http.StatusBadRequest, wantCode: "invalid_client",
		},
		{
			name:       "wrong secret",
			request:    func(*deviceEnv) *http.Request { return withBasic(tokenPost(url.Values{}), "box", "wrong") },
			wantStatus: http.StatusUnauthorized, wantCode: "invalid_client",
		},
		{
			name:       "confidential client without its secret",
			request:    func(*deviceEnv) *http.Request { return tokenPost(url.Values{"client_id": {"box"}}) },
			wantStatus: http.StatusBadRequest, wantCode: "invalid_client",
		},
		{
			name:       "client not registered for the grant",
			request:    func(*deviceEnv) *http.Request { return asClient("spa", url.Values{}) },
			wantStatus: http.StatusBadRequest, wantCode: "unauthorized_client",
		},
		{
			name:       "scope not allowed",
			request:    func(*deviceEnv) *http.Request { return asClient("tv", url.Values{"scope": {"read admin"}}) },
			wantStatus: http.StatusBadRequest, wantCode: "invalid_scope",
		},
		{
			name:       "malformed scope",
			request:    func(*deviceEnv) *http.Request { return asClient("tv", url.Values{"scope": {"read\x01"}}) },
			wantStatus: http.StatusBadRequest, wantCode: "invalid_scope",
		},
		{
			name:       "scope repeated",
			request:    func(*deviceEnv) *http.Request { return asClient("tv", url.Values{"scope": {"read", "write"}}) },
			wantStatus: http.StatusBadRequest, wantCode: "invalid_request",
		},
		{
			name: "resource not allowed",
			request: func(*deviceEnv) *http.Request {
				return asClient("tv", url.Values{"resource": {"https://box.example.com"}})
			},
			wantStatus: http.StatusBadRequest, wantCode: "invalid_target",
		},
		{
			name:       "resource with a fragment",
			request:    func(*deviceEnv) *http.Request { return asClient("tv", url.Values{"resource": {deviceResource + "#x"}}) },
			wantStatus: http.StatusBadRequest, wantCode: "invalid_target",
		},
		{
			name: "store fault",
			setup: func(e *deviceEnv) {
				e.devices.failOn("CreateDeviceAuthorization", errors.New("disk on fire"))
			},
			request:    func(*deviceEnv) *http.Request { return asClient("tv", url.Values{}) },
			wantStatus: http.StatusInternalServerError, wantCode: "server_error",
		},
		{
			name: "store unavailable",
			setup: func(e *deviceEnv) {
				e.devices.failOn("CreateDeviceAuthorization", fmt.Errorf("restarting: %w", ErrUnavailable))
			},
			request:    func(*deviceEnv) *http.Request { return asClient("tv", url.Values{}) },
			wantStatus: http.StatusServiceUnavailable, wantCode: "server_error",
		},
		{
			name:       "codes always taken",
			setup:      func(e *deviceEnv) { e.devices.failOn("CreateDeviceAuthorization", ErrExists) },
			request:    func(*deviceEnv) *http.Request { return asClient("tv", url.Values{}) },
			wantStatus: http.StatusInternalServerError, wantCode: "server_error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDeviceEnv(t, nil)
			if tt.setup != nil {
				tt.setup(e)
			}
			w := httptest.NewRecorder()
			e.srv.DeviceAuthorizationHandler().ServeHTTP(w, tt.request(e))
			if w.Code != tt.wantStatus || errorCode(t, w) != tt.wantCode {
				t.Errorf("got %d %s, want %d %s", w.Code, w.Body, tt.wantStatus, tt.wantCode)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Error("error without Cache-Control: no-store")
			}
		})
	}
}

func TestDeviceAuthorizationBrokenRandomness(t *testing.T) {
	e := newDeviceEnv(t, func(c *Config) { c.Rand = failingReader{} })
	w := e.post(e.srv.DeviceAuthorizationHandler(), "tv", nil)
	if w.Code != http.StatusInternalServerError || errorCode(t, w) != "server_error" {
		t.Errorf("got %d %s, want 500 server_error", w.Code, w.Body)
	}
}

// existsOnce fails its first CreateDeviceAuthorization with ErrExists, as
// when a drawn user code is pending already.
type existsOnce struct {
	*fakeDevices
	once sync.Once
}

func (s *existsOnce) CreateDeviceAuthorization(ctx context.Context, a *DeviceAuthorization) error {
	err := error(nil)
	s.once.Do(func() { err = fmt.Errorf("user code: %w", ErrExists) })
	if err != nil {
		return err
	}
	return s.fakeDevices.CreateDeviceAuthorization(ctx, a)
}

func TestDeviceAuthorizationRedrawsTakenCodes(t *testing.T) {
	store := &existsOnce{fakeDevices: &fakeDevices{}}
	e := newDeviceEnv(t, func(c *Config) { c.Device.Store = store })
	e.devices = store.fakeDevices
	resp := e.start(t, "tv", nil)
	if _, ok := e.devices.stored(resp.DeviceCode); !ok {
		t.Error("the second draw was not stored")
	}
}

func TestDevicePolling(t *testing.T) {
	tests := []struct {
		name       string
		client     string                                                       // the poller; "tv" when empty
		steps      func(t *testing.T, e *deviceEnv, resp deviceResponse) string // returns the device code to poll with
		wantStatus int
		wantCode   string
	}{
		{
			name:       "first poll",
			steps:      func(_ *testing.T, _ *deviceEnv, r deviceResponse) string { return r.DeviceCode },
			wantStatus: http.StatusBadRequest, wantCode: "authorization_pending",
		},
		{
			name: "second poll at the interval",
			steps: func(t *testing.T, e *deviceEnv, r deviceResponse) string {
				e.poll("tv", r.DeviceCode)
				e.clock.Advance(5 * time.Second)
				return r.DeviceCode
			},
			wantStatus: http.StatusBadRequest, wantCode: "authorization_pending",
		},
		{
			name: "second poll a little early (network jitter)",
			steps: func(t *testing.T, e *deviceEnv, r deviceResponse) string {
				e.poll("tv", r.DeviceCode)
				e.clock.Advance(5*time.Second - 300*time.Millisecond)
				return r.DeviceCode
			},
			wantStatus: http.StatusBadRequest, wantCode: "authorization_pending",
		},
		{
			name: "second poll too fast",
			steps: func(t *testing.T, e *deviceEnv, r deviceResponse) string {
				e.poll("tv", r.DeviceCode)
				e.clock.Advance(2 * time.Second)
				return r.DeviceCode
			},
			wantStatus: http.StatusBadRequest, wantCode: "slow_down",
		},
		{
			name: "the old interval after slow_down",
			steps: func(t *testing.T, e *deviceEnv, r deviceResponse) string {
				e.poll("tv", r.DeviceCode)
				e.clock.Advance(time.Second)
				if w := e.poll("tv", r.DeviceCode); errorCode(t, w) != "slow_down" {
					t.Fatalf("second poll: %s", w.Body)
				}
				e.clock.Advance(5 * time.Second)
				return r.DeviceCode
			},
			wantStatus: http.StatusBadRequest, wantCode: "slow_down",
		},
		{
			name: "the new interval after slow_down",
			steps: func(t *testing.T, e *deviceEnv, r deviceResponse) string {
				e.poll("tv", r.DeviceCode)
				e.clock.Advance(time.Second)
				if w := e.poll("tv", r.DeviceCode); errorCode(t, w) != "slow_down" {
					t.Fatalf("second poll: %s", w.Body)
				}
				e.clock.Advance(10 * time.Second)
				return r.DeviceCode
			},
			wantStatus: http.StatusBadRequest, wantCode: "authorization_pending",
		},
		{
			name: "expired",
			steps: func(t *testing.T, e *deviceEnv, r deviceResponse) string {
				e.clock.Advance(DefaultDeviceLifetime)
				return r.DeviceCode
			},
			wantStatus: http.StatusBadRequest, wantCode: "expired_token",
		},
		{
			name: "approved, then expired before the poll",
			steps: func(t *testing.T, e *deviceEnv, r deviceResponse) string {
				e.decide(t, r.UserCode, true)
				e.clock.Advance(DefaultDeviceLifetime + time.Second)
				return r.DeviceCode
			},
			wantStatus: http.StatusBadRequest, wantCode: "expired_token",
		},
		{
			name: "denied",
			steps: func(t *testing.T, e *deviceEnv, r deviceResponse) string {
				e.decide(t, r.UserCode, false)
				return r.DeviceCode
			},
			wantStatus: http.StatusBadRequest, wantCode: "access_denied",
		},
		{
			name: "approved",
			steps: func(t *testing.T, e *deviceEnv, r deviceResponse) string {
				e.decide(t, r.UserCode, true)
				return r.DeviceCode
			},
			wantStatus: http.StatusOK,
		},
		{
			name: "redeemed",
			steps: func(t *testing.T, e *deviceEnv, r deviceResponse) string {
				e.decide(t, r.UserCode, true)
				if w := e.poll("tv", r.DeviceCode); w.Code != http.StatusOK {
					t.Fatalf("first redemption: %d %s", w.Code, w.Body)
				}
				return r.DeviceCode
			},
			wantStatus: http.StatusBadRequest, wantCode: "invalid_grant",
		},
		{
			name:       "unknown device code",
			steps:      func(*testing.T, *deviceEnv, deviceResponse) string { return "not-a-device-code" },
			wantStatus: http.StatusBadRequest, wantCode: "invalid_grant",
		},
		{
			name:   "another client's device code",
			client: "box",
			steps: func(t *testing.T, e *deviceEnv, r deviceResponse) string {
				e.decide(t, r.UserCode, true)
				return r.DeviceCode
			},
			wantStatus: http.StatusBadRequest, wantCode: "invalid_grant",
		},
		{
			name:       "missing device code",
			steps:      func(*testing.T, *deviceEnv, deviceResponse) string { return "" },
			wantStatus: http.StatusBadRequest, wantCode: "invalid_request",
		},
		{
			name:       "client not registered for the grant",
			client:     "spa",
			steps:      func(_ *testing.T, _ *deviceEnv, r deviceResponse) string { return r.DeviceCode },
			wantStatus: http.StatusBadRequest, wantCode: "unauthorized_client",
		},
		{
			name: "store fault",
			steps: func(t *testing.T, e *deviceEnv, r deviceResponse) string {
				e.devices.failOn("PollDeviceAuthorization", errors.New("disk on fire"))
				return r.DeviceCode
			},
			wantStatus: http.StatusInternalServerError, wantCode: "server_error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDeviceEnv(t, nil)
			resp := e.start(t, "tv", url.Values{"scope": {"read"}})
			code := tt.steps(t, e, resp)
			client := tt.client
			if client == "" {
				client = "tv"
			}
			w := e.poll(client, code)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d %s, want %d %s", w.Code, w.Body, tt.wantStatus, tt.wantCode)
			}
			if tt.wantCode != "" && errorCode(t, w) != tt.wantCode {
				t.Errorf("error %s, want %s", w.Body, tt.wantCode)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Error("answer without Cache-Control: no-store")
			}
		})
	}
}

func TestDeviceTokens(t *testing.T) {
	tests := []struct {
		name         string
		form         url.Values
		wantAudience []string
		wantIDToken  bool
	}{
		{"scope and resource", url.Values{"scope": {"read write"}, "resource": {deviceResource}}, []string{deviceResource}, false},
		{"default scope, no resource", nil, nil, false},
		{"openid", url.Values{"scope": {"openid read"}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDeviceEnv(t, nil)
			resp := e.start(t, "tv", tt.form)
			e.clock.Advance(30 * time.Second)
			e.decide(t, strings.ToLower(strings.ReplaceAll(resp.UserCode, "-", " ")), true)
			tok := e.mustToken(t, asClient("tv", url.Values{
				"grant_type": {GrantTypeDeviceCode}, "device_code": {resp.DeviceCode},
				"scope": {"write"}, // ignored: the device authorization request fixed the scope
			}))
			if tok.RefreshToken == "" || tok.TokenType != "Bearer" {
				t.Errorf("response %+v: want a Bearer token and a refresh token", tok)
			}
			if (tok.IDToken != "") != tt.wantIDToken {
				t.Errorf("id_token %q, want one: %v", tok.IDToken, tt.wantIDToken)
			}
			a, _ := e.devices.stored(resp.DeviceCode)
			got, ok := e.tokens.stored(tok.AccessToken)
			if !ok {
				t.Fatal("access token not stored")
			}
			want := Token{
				Kind: AccessToken, ClientID: "tv", Subject: "alice", Scope: a.Scope, Audience: tt.wantAudience,
				IssuedAt: testEpoch.Add(30 * time.Second), ExpiresAt: testEpoch.Add(30*time.Second + DefaultAccessTokenLifetime),
				AuthTime: testEpoch, ACR: "urn:example:mfa",
			}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Token{}, "ID", "GrantID"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("stored access token (-want +got):\n%s", diff)
			}
			if a.Status != DeviceRedeemed {
				t.Errorf("authorization %v after redemption, want redeemed", a.Status)
			}
			// The refresh token works like any other.
			e.refresh(t, "tv", tok.RefreshToken)
		})
	}
}

func TestDeviceRequest(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, e *deviceEnv, resp deviceResponse) (userCode, key string)
		wantErr  error  // matched with errors.Is
		wantText string // part of an error that matches no sentinel
	}{
		{
			name:  "as shown",
			setup: func(_ *testing.T, _ *deviceEnv, r deviceResponse) (string, string) { return r.UserCode, "k" },
		},
		{
			name: "typed in lower case with spaces",
			setup: func(_ *testing.T, _ *deviceEnv, r deviceResponse) (string, string) {
				return " " + strings.ToLower(r.UserCode[:2]+" "+r.UserCode[2:4]+r.UserCode[5:]) + " ", "k"
			},
		},
		{
			name:    "malformed",
			setup:   func(*testing.T, *deviceEnv, deviceResponse) (string, string) { return "AEIO-UAEI", "k" },
			wantErr: ErrUnknownUserCode,
		},
		{
			name:    "unknown",
			setup:   func(*testing.T, *deviceEnv, deviceResponse) (string, string) { return "BCDF-GHJK", "k" },
			wantErr: ErrNotFound,
		},
		{
			name: "expired",
			setup: func(_ *testing.T, e *deviceEnv, r deviceResponse) (string, string) {
				e.clock.Advance(DefaultDeviceLifetime)
				return r.UserCode, "k"
			},
			wantErr: ErrUnknownUserCode,
		},
		{
			name: "decided",
			setup: func(t *testing.T, e *deviceEnv, r deviceResponse) (string, string) {
				e.decide(t, r.UserCode, false)
				return r.UserCode, "k"
			},
			wantErr: ErrUnknownUserCode,
		},
		{
			name: "client unregistered since",
			setup: func(_ *testing.T, e *deviceEnv, r deviceResponse) (string, string) {
				delete(e.clients.clients, "tv")
				return r.UserCode, "k"
			},
			wantErr: ErrUnknownUserCode,
		},
		{
			name: "store fault",
			setup: func(_ *testing.T, e *deviceEnv, r deviceResponse) (string, string) {
				e.devices.failOn("DeviceAuthorizationByUserCode", errors.New("disk on fire"))
				return r.UserCode, "k"
			},
			wantText: "disk on fire",
		},
		{
			name:     "no limiter key",
			setup:    func(_ *testing.T, _ *deviceEnv, r deviceResponse) (string, string) { return r.UserCode, "" },
			wantText: "needs a limiter key",
		},
		{
			name: "too many tries",
			setup: func(t *testing.T, e *deviceEnv, r deviceResponse) (string, string) {
				for range DefaultUserCodeBurst {
					if _, err := e.srv.DeviceRequest(context.Background(), "BCDF-GHJK", "guesser"); !errors.Is(err, ErrNotFound) {
						t.Fatalf("guess: %v", err)
					}
				}
				return r.UserCode, "guesser"
			},
			wantErr: ErrTemporarilyUnavailable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDeviceEnv(t, nil)
			resp := e.start(t, "tv", url.Values{"scope": {"read write"}, "resource": {deviceResource}})
			code, key := tt.setup(t, e, resp)
			got, err := e.srv.DeviceRequest(context.Background(), code, key)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			case tt.wantText != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantText) {
					t.Fatalf("error %v, want one with %q", err, tt.wantText)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			want := &DeviceRequest{
				UserCode: resp.UserCode, Client: e.clients.clients["tv"], Scope: []string{"read", "write"},
				Resources: []string{deviceResource}, ExpiresAt: testEpoch.Add(DefaultDeviceLifetime),
			}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(DeviceRequest{}, Client{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeviceRequestLimit(t *testing.T) {
	e := newDeviceEnv(t, nil)
	resp := e.start(t, "tv", nil)
	ctx := context.Background()
	for range DefaultUserCodeBurst {
		e.srv.DeviceRequest(ctx, "BCDF-GHJK", "guesser")
	}
	_, err := e.srv.DeviceRequest(ctx, resp.UserCode, "guesser")
	var oerr *Error
	if !errors.As(err, &oerr) || oerr.Code != "temporarily_unavailable" || oerr.HTTPStatus() != http.StatusTooManyRequests ||
		!strings.Contains(oerr.Description, "try again in 12 seconds") {
		t.Fatalf("beyond the burst: %v, want temporarily_unavailable, 429, try again in 12 seconds", err)
	}
	if _, err := e.srv.DeviceRequest(ctx, resp.UserCode, "someone else"); err != nil {
		t.Errorf("another key: %v", err)
	}
	e.clock.Advance(12 * time.Second)
	if _, err := e.srv.DeviceRequest(ctx, resp.UserCode, "guesser"); err != nil {
		t.Errorf("after the refill: %v", err)
	}
}

// countingLimiter records what it is asked and refuses everything.
type countingLimiter struct {
	mu   sync.Mutex
	keys []RateLimitKey
}

func (l *countingLimiter) Allow(_ context.Context, key RateLimitKey) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys = append(l.keys, key)
	return false, 1500 * time.Millisecond
}

func TestDeviceRequestLimiterConfigured(t *testing.T) {
	lim := &countingLimiter{}
	e := newDeviceEnv(t, func(c *Config) { c.Device.UserCodeLimiter = lim })
	_, err := e.srv.DeviceRequest(context.Background(), "BCDF-GHJK", "203.0.113.9")
	if !errors.Is(err, ErrTemporarilyUnavailable) || !strings.Contains(err.Error(), "try again in 2 seconds") {
		t.Errorf("error %v", err)
	}
	want := []RateLimitKey{{Endpoint: "device_verification", Caller: "203.0.113.9"}}
	if diff := cmp.Diff(want, lim.keys); diff != "" {
		t.Errorf("limiter asked (-want +got):\n%s", diff)
	}
}

func TestDeviceDecisions(t *testing.T) {
	ctx := context.Background()
	e := newDeviceEnv(t, nil)
	resp := e.start(t, "tv", nil)
	req, err := e.srv.DeviceRequest(ctx, resp.UserCode, "k")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		decide   func() error
		wantErr  error
		wantText string
	}{
		{"approval without subject", func() error { return e.srv.ApproveDevice(ctx, req, DeviceApproval{}) }, nil, "Subject is required"},
		{"nil request", func() error { return e.srv.DenyDevice(ctx, nil) }, nil, "Server.DeviceRequest returned"},
		{"request not from DeviceRequest", func() error { return e.srv.DenyDevice(ctx, &DeviceRequest{UserCode: resp.UserCode}) }, nil, "Server.DeviceRequest returned"},
		{"store fault", func() error {
			e.devices.failOn("DecideDeviceAuthorization", errors.New("disk on fire"))
			defer e.devices.failOn("DecideDeviceAuthorization", nil)
			return e.srv.DenyDevice(ctx, req)
		}, nil, "disk on fire"},
		{"approved", func() error { return e.srv.ApproveDevice(ctx, req, DeviceApproval{Subject: "alice"}) }, nil, ""},
		{"approved twice", func() error { return e.srv.ApproveDevice(ctx, req, DeviceApproval{Subject: "mallory"}) }, ErrUnknownUserCode, ""},
		{"denied after approval", func() error { return e.srv.DenyDevice(ctx, req) }, ErrNotFound, ""},
	}
	for _, tt := range tests { // in order: each step sees the last one's state
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decide()
			switch {
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("error %v, want %v", err, tt.wantErr)
			case tt.wantText != "" && (err == nil || !strings.Contains(err.Error(), tt.wantText)):
				t.Errorf("error %v, want one with %q", err, tt.wantText)
			case tt.wantErr == nil && tt.wantText == "" && err != nil:
				t.Errorf("error %v", err)
			}
		})
	}
	if a, _ := e.devices.stored(resp.DeviceCode); a.Subject != "alice" {
		t.Errorf("approved for %q, want alice", a.Subject)
	}
}

func TestDeviceWithoutConfig(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	if _, err := e.srv.DeviceRequest(ctx, "BCDF-GHJK", "k"); err == nil || !strings.Contains(err.Error(), "Config.Device is not set") {
		t.Errorf("DeviceRequest: %v", err)
	}
	if err := e.srv.DenyDevice(ctx, &DeviceRequest{userCodeID: "x"}); err == nil || !strings.Contains(err.Error(), "Config.Device is not set") {
		t.Errorf("DenyDevice: %v", err)
	}
}

// TestDeviceConcurrentRedemption polls one approved device code from 50
// goroutines at once: exactly one gets the tokens.
func TestDeviceConcurrentRedemption(t *testing.T) {
	e := newDeviceEnv(t, nil)
	resp := e.start(t, "tv", nil)
	e.decide(t, resp.UserCode, true)
	const n = 50
	codes := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			codes[i] = e.poll("tv", resp.DeviceCode).Code
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, c := range codes {
		if c == http.StatusOK {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d token responses, want exactly 1 (statuses %v)", ok, codes)
	}
	if got := e.tokens.kinds(); got[AccessToken] != 1 {
		t.Errorf("%d access tokens stored, want 1", got[AccessToken])
	}
}

// byteReader returns bytes in order, then fails.
type byteReader struct{ b []byte }

func (r *byteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func TestNewUserCode(t *testing.T) {
	tests := []struct {
		name    string
		bytes   []byte
		want    string
		wantErr bool
	}{
		{
			name: "every byte accepted",
			// 0..19 are the alphabet in order; 20, 39, 220 and 239 are 0, 19, 0 and 19 modulo 20.
			bytes: []byte{0, 1, 2, 19, 20, 39, 220, 239, 5, 5, 5, 5, 5, 5, 5, 5},
			want:  "BCDZBZBZ",
		},
		{
			name:  "bytes from 240 up drawn again",
			bytes: append([]byte{240, 255, 250, 1, 241, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, make([]byte, 16)...),
			want:  "CDFGHJKL",
		},
		{
			name:    "randomness runs out",
			bytes:   bytes.Repeat([]byte{255}, 16),
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newUserCode(&byteReader{tt.bytes})
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("newUserCode = %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestNewUserCodeUniform draws 20 000 codes from crypto/rand: each of the
// 20 characters must take its share (8 000 of 160 000) at every position
// within a wide margin (a biased draw would favour the first 16).
func TestNewUserCodeUniform(t *testing.T) {
	var counts [userCodeLength][20]int
	const draws = 20000
	for range draws {
		code, err := newUserCode(nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range len(code) {
			counts[i][strings.IndexByte(userCodeAlphabet, code[i])]++
		}
	}
	for i, pos := range counts {
		for j, n := range pos {
			if n < 800 || n > 1200 { // expected 1 000, sd ≈ 31
				t.Errorf("position %d: %c drawn %d times of %d, want about 1 000", i, userCodeAlphabet[j], n, draws)
			}
		}
	}
}

func TestCanonicalUserCode(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{"BCDF-GHJK", "BCDFGHJK", true},
		{"bcdf-ghjk", "BCDFGHJK", true},
		{"BCDFGHJK", "BCDFGHJK", true},
		{" b c d f g h j k ", "BCDFGHJK", true},
		{"--BCDF--GHJK--", "BCDFGHJK", true},
		{"BCDF-GHJ", "", false},
		{"BCDF-GHJKL", "", false},
		{"BCDF-GHJA", "", false}, // a vowel
		{"BCDF-GHJ1", "", false},
		{"BCDF_GHJK", "", false},
		{"BCDF\tGHJK", "", false},
		{"BCDF-GHJ\u212a", "", false}, // Kelvin sign: upper-cases to K in Unicode, not here
		{"", "", false},
		{strings.Repeat(" ", 60) + "BCDFGHJK", "", false}, // longer than userCodeMaxInput
	}
	for _, tt := range tests {
		got, ok := canonicalUserCode(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("canonicalUserCode(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

// TestDeviceTokenResources checks the resource parameters of the
// device_code token request (RFC 8707 §2.2): as for an authorization code,
// they narrow the resources of the device authorization request and may not
// widen them; without any, the token is for all of them.
func TestDeviceTokenResources(t *testing.T) {
	const other = "https://other.example.com"
	tests := []struct {
		name         string
		authorize    []string // the device authorization request's resources
		token        []string // the token request's
		wantAudience []string // of the access token and of the refresh token's family
		wantRefresh  []string
		wantCode     string // the token request's error, if it fails
	}{
		{name: "none", wantAudience: nil},
		{name: "as authorized", authorize: []string{deviceResource, other}, wantAudience: []string{deviceResource, other}, wantRefresh: []string{deviceResource, other}},
		{name: "narrowed", authorize: []string{deviceResource, other}, token: []string{other}, wantAudience: []string{other}, wantRefresh: []string{deviceResource, other}},
		{name: "not authorized", authorize: []string{deviceResource}, token: []string{other}, wantCode: "invalid_target"},
		{name: "only at the token request", token: []string{other}, wantAudience: []string{other}, wantRefresh: []string{other}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDeviceEnv(t, func(c *Config) { c.Resources = []string{deviceResource, other} })
			resp := e.start(t, "tv", url.Values{"resource": tt.authorize})
			e.decide(t, resp.UserCode, true)
			w := e.token(asClient("tv", url.Values{
				"grant_type": {GrantTypeDeviceCode}, "device_code": {resp.DeviceCode}, "resource": tt.token,
			}))
			if tt.wantCode != "" {
				if w.Code != http.StatusBadRequest || errorCode(t, w) != tt.wantCode {
					t.Fatalf("token request: %d %s, want 400 %s", w.Code, w.Body, tt.wantCode)
				}
				return
			}
			if w.Code != http.StatusOK {
				t.Fatalf("token request: %d %s", w.Code, w.Body)
			}
			var tok TokenResponse
			if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil {
				t.Fatal(err)
			}
			access, ok := e.tokens.stored(tok.AccessToken)
			if !ok {
				t.Fatal("access token not stored")
			}
			refresh, ok := e.tokens.stored(tok.RefreshToken)
			if !ok {
				t.Fatal("refresh token not stored")
			}
			got := [][]string{access.Audience, refresh.Audience}
			want := [][]string{tt.wantAudience, tt.wantRefresh}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("audiences of the access and refresh tokens (-want +got):\n%s", diff)
			}
		})
	}
}
