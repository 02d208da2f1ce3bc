package oauthkit_test

// End-to-end tests of the device authorization grant (RFC 8628):
// golang.org/x/oauth2's DeviceAuth and DeviceAccessToken against the
// handlers on an httptest.Server, over storage/memory, with the host's
// verification page played by calls to DeviceRequest, ApproveDevice and
// DenyDevice from another goroutine.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// deviceE2E is a running server with the device grant on, and the client
// of the device: "tv", public, registered for the device_code grant.
type deviceE2E struct {
	srv    *oauthkit.Server
	store  *memory.Store
	client *oauth2.Config
	ctx    context.Context // carries the test server's HTTP client to x/oauth2

	mu      sync.Mutex
	lag     time.Duration // how far the server's clock is behind
	answers []string      // the token endpoint's answers: the error code, or "token"
	polled  []time.Time   // when each answer was written, by the real clock
	onPoll  func(n int, answer string)
}

func (e *deviceE2E) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return time.Now().Add(-e.lag)
}

// deviceStartE2E runs the server. Its polling interval is one second, so
// that x/oauth2, which waits the interval before each poll, finishes soon.
func deviceStartE2E(t *testing.T) *deviceE2E {
	t.Helper()
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	e := &deviceE2E{store: memory.NewStore(&oauthkit.Client{
		ID:         "tv",
		GrantTypes: []string{oauthkit.GrantTypeDeviceCode, oauthkit.GrantTypeRefreshToken},
		Scopes:     []string{"read", "write"},
	})}
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:  ts.URL,
		Clients: e.store, Codes: e.store, Tokens: e.store,
		Device: &oauthkit.DeviceConfig{Store: e.store, VerificationURI: ts.URL + "/device", Interval: time.Second},
		Now:    e.now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.srv = srv
	token := srv.TokenHandler()
	mux.Handle("/token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		token.ServeHTTP(rec, r)
		answer := "token"
		if rec.Code != http.StatusOK {
			var body struct{ Error string }
			json.Unmarshal(rec.Body.Bytes(), &body)
			answer = body.Error
		}
		e.mu.Lock()
		e.answers = append(e.answers, answer)
		e.polled = append(e.polled, time.Now())
		n, onPoll := len(e.answers), e.onPoll
		e.mu.Unlock()
		if onPoll != nil {
			onPoll(n, answer)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	mux.Handle("/device_authorization", srv.DeviceAuthorizationHandler())
	mux.Handle("/.well-known/oauth-authorization-server", srv.MetadataHandler())

	var meta struct {
		TokenEndpoint               string   `json:"token_endpoint"`
		DeviceAuthorizationEndpoint string   `json:"device_authorization_endpoint"`
		GrantTypesSupported         []string `json:"grant_types_supported"`
	}
	resp, err := ts.Client().Get(ts.URL + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil {
		t.Fatal(err)
	}
	if meta.DeviceAuthorizationEndpoint != ts.URL+"/device_authorization" || !strings.Contains(strings.Join(meta.GrantTypesSupported, " "), oauthkit.GrantTypeDeviceCode) {
		t.Fatalf("metadata: %+v", meta)
	}
	e.client = &oauth2.Config{
		ClientID: "tv",
		Endpoint: oauth2.Endpoint{DeviceAuthURL: meta.DeviceAuthorizationEndpoint, TokenURL: meta.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   []string{"read"},
	}
	e.ctx = context.WithValue(t.Context(), oauth2.HTTPClient, ts.Client())
	return e
}

// decide plays the verification page: the user types the code, signs in as
// alice, and approves or denies.
func (e *deviceE2E) decide(t *testing.T, userCode string, approve bool) {
	ctx := context.Background()
	req, err := e.srv.DeviceRequest(ctx, userCode, "192.0.2.1")
	if err != nil {
		t.Errorf("DeviceRequest: %v", err)
		return
	}
	if approve {
		err = e.srv.ApproveDevice(ctx, req, oauthkit.DeviceApproval{Subject: "alice", AuthTime: e.now()})
	} else {
		err = e.srv.DenyDevice(ctx, req)
	}
	if err != nil {
		t.Errorf("decision: %v", err)
	}
}

// setOnPoll has f called after each answer of the token endpoint, with the
// answer's number (from 1).
func (e *deviceE2E) setOnPoll(f func(n int, answer string)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.onPoll = f
}

func (e *deviceE2E) record() ([]string, []time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.answers...), append([]time.Time(nil), e.polled...)
}

func TestDeviceE2EApproved(t *testing.T) {
	t.Parallel()
	e := deviceStartE2E(t)
	da, err := e.client.DeviceAuth(e.ctx)
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	if da.Interval != 1 || da.VerificationURIComplete != da.VerificationURI+"?user_code="+da.UserCode {
		t.Errorf("device authorization response %+v", da)
	}
	// The user approves after the device has polled once.
	e.setOnPoll(func(n int, answer string) {
		if n == 1 {
			go e.decide(t, da.UserCode, true)
		}
	})
	tok, err := e.client.DeviceAccessToken(e.ctx, da)
	if err != nil {
		t.Fatalf("DeviceAccessToken: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Error("no refresh token")
	}
	got, err := e.srv.ValidateAccessToken(context.Background(), tok.AccessToken)
	if err != nil || got.Subject != "alice" || got.ClientID != "tv" || strings.Join(got.Scope, " ") != "read" {
		t.Errorf("access token: %+v, %v", got, err)
	}
	if answers, _ := e.record(); answers[len(answers)-1] != "token" || answers[0] != "authorization_pending" {
		t.Errorf("answers %v, want authorization_pending first and a token last", answers)
	}
	// The refresh token works with the client's token source.
	if _, err := e.client.TokenSource(e.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
		t.Errorf("refresh: %v", err)
	}
}

func TestDeviceE2EDenied(t *testing.T) {
	t.Parallel()
	e := deviceStartE2E(t)
	da, err := e.client.DeviceAuth(e.ctx)
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	go e.decide(t, da.UserCode, false)
	_, err = e.client.DeviceAccessToken(e.ctx, da)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "access_denied" {
		t.Fatalf("DeviceAccessToken: %v, want access_denied", err)
	}
}

// TestDeviceE2ESlowDown sets the server's clock back half a second after
// the first poll, so that the second looks too fast to it: the client gets
// slow_down, waits five seconds more, and its next poll is on time.
func TestDeviceE2ESlowDown(t *testing.T) {
	if testing.Short() {
		t.Skip("takes eight seconds")
	}
	t.Parallel()
	e := deviceStartE2E(t)
	da, err := e.client.DeviceAuth(e.ctx)
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	e.setOnPoll(func(n int, answer string) {
		switch n {
		case 1:
			e.mu.Lock()
			e.lag = 500 * time.Millisecond
			e.mu.Unlock()
		case 2:
			if answer == "slow_down" {
				e.decide(t, da.UserCode, true)
			}
		}
	})
	if _, err := e.client.DeviceAccessToken(e.ctx, da); err != nil {
		t.Fatalf("DeviceAccessToken: %v", err)
	}
	answers, at := e.record()
	if diff := cmp.Diff([]string{"authorization_pending", "slow_down", "token"}, answers); diff != "" {
		t.Fatalf("answers (-want +got):\n%s", diff)
	}
	if gap := at[2].Sub(at[1]); gap < 6*time.Second {
		t.Errorf("the client polled %v after slow_down, want at least 6s (1s + 5s)", gap)
	}
}

// TestDeviceConcurrentRedemptionMemory polls one approved device code from 50
// goroutines at once, over storage/memory: exactly one gets the tokens.
func TestDeviceConcurrentRedemptionMemory(t *testing.T) {
	store := memory.NewStore(&oauthkit.Client{ID: "tv", GrantTypes: []string{oauthkit.GrantTypeDeviceCode}, Scopes: []string{"read"}})
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer: "https://auth.example.com", Clients: store, Codes: store, Tokens: store,
		Device: &oauthkit.DeviceConfig{Store: store, VerificationURI: "https://auth.example.com/device"},
	})
	if err != nil {
		t.Fatal(err)
	}
	post := func(h http.Handler, form url.Values) *httptest.ResponseRecorder {
		form.Set("client_id", "tv")
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	var da struct{ DeviceCode, UserCode string }
	w := post(srv.DeviceAuthorizationHandler(), url.Values{})
	if err := json.Unmarshal(w.Body.Bytes(), &struct {
		DeviceCode *string `json:"device_code"`
		UserCode   *string `json:"user_code"`
	}{&da.DeviceCode, &da.UserCode}); err != nil || w.Code != http.StatusOK {
		t.Fatalf("device authorization: %d %s", w.Code, w.Body)
	}
	req, err := srv.DeviceRequest(t.Context(), da.UserCode, "k")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.ApproveDevice(t.Context(), req, oauthkit.DeviceApproval{Subject: "alice"}); err != nil {
		t.Fatal(err)
	}
	const racers = 50
	statuses := make([]int, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			<-start
			statuses[i] = post(srv.TokenHandler(), url.Values{"grant_type": {oauthkit.GrantTypeDeviceCode}, "device_code": {da.DeviceCode}}).Code
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == http.StatusOK {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d token responses, want exactly 1 (statuses %v)", ok, statuses)
	}
}
