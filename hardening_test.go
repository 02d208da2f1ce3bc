package oauthkit_test

// Server-level checks of the hardening review's findings (the store-level
// rules are in storage/storetest, so that every store inherits them).

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// TestNewRefusesIssuer checks the issuer identifiers New refuses, each with
// a message naming what is wrong.
func TestNewRefusesIssuer(t *testing.T) {
	tests := []struct {
		issuer, wantErr string
	}{
		{"https://auth.example.com/", "must not end with a slash"},
		{"https://auth.example.com/tenant/", "must not end with a slash"},
		{"https://auth.example.com?", "no query"},
		{"https://auth.example.com#", "no query, fragment"},
		{"https://auth.example.com?a=b", "no query"},
		{"http://auth.example.com", "must use https"},
		{"", "required"},
	}
	for _, tt := range tests {
		t.Run(tt.issuer, func(t *testing.T) {
			store := memory.NewStore()
			_, err := oauthkit.New(oauthkit.Config{Issuer: tt.issuer, Clients: store, Codes: store, Tokens: store})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New with issuer %q: error = %v, want one containing %q", tt.issuer, err, tt.wantErr)
			}
		})
	}
	store := memory.NewStore()
	if _, err := oauthkit.New(oauthkit.Config{Issuer: "https://auth.example.com/tenant", Clients: store, Codes: store, Tokens: store}); err != nil {
		t.Errorf("New with an issuer with a path: %v", err)
	}
}

// TestPOSTOnlyEndpointsNameThemselves checks that a GET to a POST-only
// endpoint is told which endpoint it reached.
func TestPOSTOnlyEndpointsNameThemselves(t *testing.T) {
	e := svcNewEnv(t, nil)
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{
		{"token", e.srv.TokenHandler()},
		{"revocation", e.srv.RevocationHandler()},
		{"introspection", e.srv.IntrospectionHandler()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := svcDo(tc.h, http.MethodGet, svcAs("app"), url.Values{"token": {"x"}})
			svcWantError(t, rec, http.StatusMethodNotAllowed, "invalid_request")
			want := "the " + tc.name + " endpoint accepts only POST"
			if got := svcErrorBody(t, rec)["error_description"]; got != want {
				t.Errorf("error_description %q, want %q", got, want)
			}
		})
	}
}

// TestRefreshGraceRetriedOnce replays a rotated refresh token within the
// grace period, as a thief holding a stolen copy would: the first replay
// passes (a client that lost a response may retry once), but the
// legitimate client's successor, replaced by that replay, then revokes the
// whole family when presented, and so does a second replay: the thief keeps
// nothing (RFC 9700 §4.14.2).
func TestRefreshGraceRetriedOnce(t *testing.T) {
	for _, name := range []string{"VictimPresentsReplacedSuccessor", "SecondReplay"} {
		t.Run(name, func(t *testing.T) {
			e := svcNewEnv(t, func(c *oauthkit.Config) { c.RefreshTokenGracePeriod = time.Minute })
			first := svcCodeFlow(t, e, "app", "read")
			victim := svcTokenResponse(t, svcRefresh(e, "app", first.RefreshToken))
			e.clock.Advance(time.Second)
			thief := svcTokenResponse(t, svcRefresh(e, "app", first.RefreshToken)) // within grace: once
			e.clock.Advance(time.Second)
			presented := victim.RefreshToken
			if name == "SecondReplay" {
				presented = first.RefreshToken
			}
			svcWantError(t, svcRefresh(e, "app", presented), http.StatusBadRequest, "invalid_grant")
			// The family is revoked: nothing the thief holds works.
			svcWantError(t, svcRefresh(e, "app", thief.RefreshToken), http.StatusBadRequest, "invalid_grant")
			for name, tok := range map[string]string{"thief's": thief.AccessToken, "victim's": victim.AccessToken, "first": first.AccessToken} {
				if svcAccessActive(t, e, tok) {
					t.Errorf("the %s access token is active after reuse", name)
				}
			}
		})
	}
}

// TestStrangerCannotBurnCode presents a stolen code as another client before
// its owner redeems it: the stranger is refused, nothing changes, and the
// owner's redemption then succeeds with its grant intact, with the code
// redeemed in one step (memory.Store) or in two (separate stores).
func TestStrangerCannotBurnCode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stores func(c *oauthkit.Config)
	}{
		{"SeparateStores", nil},
		{"OneStore", func(c *oauthkit.Config) {
			store := &memory.Store{Clients: c.Clients.(*memory.Clients), Codes: memory.NewCodes(), Tokens: memory.NewTokens()}
			c.Clients, c.Codes, c.Tokens = store, store, store
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := svcNewEnv(t, tc.stores)
			verifier := oauth2.GenerateVerifier()
			code := svcAuthorize(t, e.srv, url.Values{
				"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {svcRedirect}, "scope": {"read"},
				"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
			}).Get("code")
			redeem := func(client string) *httptest.ResponseRecorder {
				return svcDo(e.srv.TokenHandler(), http.MethodPost, svcAs(client), url.Values{
					"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {svcRedirect}, "code_verifier": {verifier},
				})
			}
			svcWantError(t, redeem("other"), http.StatusBadRequest, "invalid_grant")
			tr := svcTokenResponse(t, redeem("app"))
			svcWantError(t, redeem("other"), http.StatusBadRequest, "invalid_grant")
			if !svcAccessActive(t, e, tr.AccessToken) {
				t.Error("the owner's access token is not active after a stranger's attempts")
			}
			// The owner's own replay still revokes what the code issued.
			svcWantError(t, redeem("app"), http.StatusBadRequest, "invalid_grant")
			if svcAccessActive(t, e, tr.AccessToken) {
				t.Error("the access token is active after its code was replayed by its owner")
			}
		})
	}
}

// TestClientSubjectMarked checks that a token issued without a resource
// owner (client_credentials) is recorded as the client's own, and one
// issued for a user is not, even when a client's ID equals the user's
// subject (RFC 9700 §4.15.1).
func TestClientSubjectMarked(t *testing.T) {
	e := svcNewEnv(t, nil)
	rec := svcDo(e.srv.TokenHandler(), http.MethodPost, svcAs("app"), url.Values{"grant_type": {"client_credentials"}})
	cc := svcTokenResponse(t, rec)
	got, err := e.srv.ValidateAccessToken(t.Context(), cc.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if !got.SubjectIsClient || got.Subject != "app" {
		t.Errorf("client_credentials token: Subject %q, SubjectIsClient %t; want \"app\", true", got.Subject, got.SubjectIsClient)
	}
	user := svcCodeFlow(t, e, "app", "read")
	if got, err = e.srv.ValidateAccessToken(t.Context(), user.AccessToken); err != nil {
		t.Fatal(err)
	}
	if got.SubjectIsClient {
		t.Error("a user's token is marked as the client's")
	}
	// A refresh keeps the mark as it was.
	next := svcTokenResponse(t, svcRefresh(e, "app", user.RefreshToken))
	if got, err = e.srv.ValidateAccessToken(t.Context(), next.AccessToken); err != nil || got.SubjectIsClient || got.Subject != svcSubject {
		t.Errorf("refreshed user token: %+v, %v; want the user's", got, err)
	}
}
