package oauthkit_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// RFC 7592 §2.3: a client that deletes its registration loses its tokens,
// access and refresh, while other clients keep theirs.
func TestRegistrationDeleteRevokesTokens(t *testing.T) {
	e := regStart(t, nil)
	pub := e.register(t, map[string]any{
		"redirect_uris":              []string{"http://127.0.0.1/callback"},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"token_endpoint_auth_method": "none",
	})
	conf := e.config(str(pub, "client_id"), "", oauth2.AuthStyleInParams, "read")
	conf.RedirectURL = "http://127.0.0.1:49152/callback"
	tok := e.codeFlow(t, conf)
	refreshed, err := e2eRefresh(e.e2eEnv, conf, tok.RefreshToken)
	if err != nil {
		t.Fatalf("refresh before the deletion: %v", err)
	}
	other := e.register(t, map[string]any{"grant_types": []string{"client_credentials"}, "scope": "read"})
	cc := clientcredentials.Config{ClientID: str(other, "client_id"), ClientSecret: str(other, "client_secret"),
		TokenURL: e.meta.TokenEndpoint, AuthStyle: oauth2.AuthStyleInHeader}
	otherTok, err := cc.Token(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []string{refreshed.AccessToken, otherTok.AccessToken} {
		if _, err := e.srv.ValidateAccessToken(t.Context(), at); err != nil {
			t.Fatalf("access token before the deletion: %v", err)
		}
	}

	if r := e.do(t, http.MethodDelete, str(pub, "registration_client_uri"), str(pub, "registration_access_token"), nil); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %v", r.status, r.body)
	}
	if _, err := e.srv.ValidateAccessToken(t.Context(), refreshed.AccessToken); !errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("the deleted client's access token: %v, want ErrNotFound", err)
	}
	for name, rt := range map[string]string{"current": refreshed.RefreshToken, "rotated": tok.RefreshToken} {
		if _, err := e.tokens.Token(t.Context(), oauthkit.HashToken(rt), time.Now()); !errors.Is(err, oauthkit.ErrNotFound) {
			t.Errorf("the deleted client's %s refresh token is still stored: %v", name, err)
		}
	}
	if _, err := e2eRefresh(e.e2eEnv, conf, refreshed.RefreshToken); err == nil {
		t.Error("refresh after the deletion: no error")
	}
	if _, err := e.srv.ValidateAccessToken(t.Context(), otherTok.AccessToken); err != nil {
		t.Errorf("another client's access token after the deletion: %v", err)
	}
}

// failingRevoker is a memory.Store whose RevokeClientTokens fails.
type failingRevoker struct{ *memory.Store }

func (failingRevoker) RevokeClientTokens(context.Context, string) error {
	return oauthkit.ErrUnavailable
}

// A failure to revoke the tokens deletes nothing: the client may retry.
func TestRegistrationDeleteRevocationFault(t *testing.T) {
	e := regStart(t, func(cfg *oauthkit.Config) {
		cfg.Tokens = failingRevoker{cfg.Registration.Store.(*memory.Store)}
	})
	e.faultsExpected = true
	info := e.register(t, map[string]any{"redirect_uris": []string{e2eRedirectURI}})
	uri, rat := str(info, "registration_client_uri"), str(info, "registration_access_token")
	if r := e.do(t, http.MethodDelete, uri, rat, nil); r.status != http.StatusServiceUnavailable || str(r.body, "error") != "server_error" {
		t.Errorf("DELETE with the revocation failing: %d %v, want 503 server_error", r.status, r.body)
	}
	if r := e.do(t, http.MethodGet, uri, rat, nil); r.status != http.StatusOK {
		t.Errorf("GET after a failed DELETE: %d %v, want the client still registered", r.status, r.body)
	}
}

// RegistrationConfig.MaxClientsPerSource caps the clients one source has
// registered at a time; a deletion frees a place; sources count apart.
func TestRegistrationClientCap(t *testing.T) {
	e := regStart(t, func(cfg *oauthkit.Config) { cfg.Registration.MaxClientsPerSource = 2 })
	md := map[string]any{"redirect_uris": []string{e2eRedirectURI}}
	first := e.register(t, md)
	e.register(t, md)
	r := e.do(t, http.MethodPost, e.registration, "", md)
	if r.status != http.StatusForbidden || str(r.body, "error") != "access_denied" || str(r.body, "error_description") == "" {
		t.Errorf("third registration from one source: %d %v, want 403 access_denied", r.status, r.body)
	}
	// Another source (the handler called directly with its RemoteAddr).
	req := httptest.NewRequest(http.MethodPost, e.registration, strings.NewReader(`{"redirect_uris":["`+e2eRedirectURI+`"]}`))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = "192.0.2.9:4711"
	w := httptest.NewRecorder()
	e.srv.RegistrationHandler().ServeHTTP(w, req)
	if w.Code != http.StatusCreated {
		t.Errorf("registration from another source: %d %s", w.Code, w.Body)
	}
	if r := e.do(t, http.MethodDelete, str(first, "registration_client_uri"), str(first, "registration_access_token"), nil); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %v", r.status, r.body)
	}
	e.register(t, md) // the deleted client's place
}

// Of concurrent registrations from one source, exactly the cap succeed.
func TestRegistrationClientCapConcurrent(t *testing.T) {
	const max, n = 5, 40
	e := regStart(t, func(cfg *oauthkit.Config) { cfg.Registration.MaxClientsPerSource = max })
	md := map[string]any{"redirect_uris": []string{e2eRedirectURI}}
	var mu sync.Mutex
	statuses := make(map[int]int)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			r := e.do(t, http.MethodPost, e.registration, "", md)
			mu.Lock()
			statuses[r.status]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if statuses[http.StatusCreated] != max || statuses[http.StatusForbidden] != n-max {
		t.Errorf("%d concurrent registrations, cap %d: statuses %v", n, max, statuses)
	}
}
