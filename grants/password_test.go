package grants_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
)

// fakeUsers is a UserAuthenticator with one user, alice, whose password has
// characters that need form encoding. It records the credentials it is
// asked about. fault, when set, is returned for every call.
type fakeUsers struct {
	fault error
	calls []string // "username:password"
}

const (
	alicePassword = "p@ss w:rd+%&="
	aliceSubject  = "user-1"
)

func (u *fakeUsers) AuthenticateUser(_ context.Context, username, password string) (string, error) {
	u.calls = append(u.calls, username+":"+password)
	switch {
	case u.fault != nil:
		return "", u.fault
	case username == "alice" && password == alicePassword:
		return aliceSubject, nil
	default:
		// Wrapped, as the contract allows.
		return "", fmt.Errorf("user %q: %w", username, oauthkit.ErrInvalidCredentials)
	}
}

func passwordClient() *oauthkit.Client {
	return &oauthkit.Client{
		ID:            "legacy",
		SecretHash:    "$sha256$unused-the-token-endpoint-authenticates",
		GrantTypes:    []string{oauthkit.GrantTypePassword, oauthkit.GrantTypeRefreshToken},
		Scopes:        []string{"read", "write"},
		DefaultScopes: []string{"read"},
	}
}

func TestPassword(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		form    url.Values
		want    *oauthkit.Grant
		wantErr *oauthkit.Error
		// wantCalls are the credentials the authenticator must have seen.
		wantCalls []string
	}{
		{
			name:      "success",
			form:      url.Values{"username": {"alice"}, "password": {alicePassword}, "scope": {"write"}},
			want:      &oauthkit.Grant{Subject: aliceSubject, Scope: []string{"write"}, AuthTime: now, RefreshToken: true},
			wantCalls: []string{"alice:" + alicePassword},
		},
		{
			name:      "success with the default scopes",
			form:      url.Values{"username": {"alice"}, "password": {alicePassword}},
			want:      &oauthkit.Grant{Subject: aliceSubject, Scope: []string{"read"}, AuthTime: now, RefreshToken: true},
			wantCalls: []string{"alice:" + alicePassword},
		},
		{
			name:    "missing username",
			form:    url.Values{"password": {alicePassword}},
			wantErr: oauthkit.ErrInvalidRequest,
		},
		{
			name:    "empty username",
			form:    url.Values{"username": {""}, "password": {alicePassword}},
			wantErr: oauthkit.ErrInvalidRequest,
		},
		{
			name:    "missing password",
			form:    url.Values{"username": {"alice"}},
			wantErr: oauthkit.ErrInvalidRequest,
		},
		{
			name:    "missing both",
			form:    url.Values{},
			wantErr: oauthkit.ErrInvalidRequest,
		},
		{
			name:      "wrong password",
			form:      url.Values{"username": {"alice"}, "password": {"guess"}},
			wantErr:   oauthkit.ErrInvalidGrant,
			wantCalls: []string{"alice:guess"},
		},
		{
			name:      "unknown user",
			form:      url.Values{"username": {"mallory"}, "password": {alicePassword}},
			wantErr:   oauthkit.ErrInvalidGrant,
			wantCalls: []string{"mallory:" + alicePassword},
		},
		{
			name:    "scope the client may not have",
			form:    url.Values{"username": {"alice"}, "password": {alicePassword}, "scope": {"admin"}},
			wantErr: oauthkit.ErrInvalidScope,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users := &fakeUsers{}
			req := &oauthkit.TokenRequest{
				GrantType: oauthkit.GrantTypePassword,
				Client:    passwordClient(),
				Form:      tt.form,
				Time:      now,
			}
			got, err := grants.Password{Users: users}.HandleGrant(t.Context(), req)
			checkError(t, err, tt.wantErr)
			if diff := cmp.Diff(tt.want, got, grantOpts); diff != "" {
				t.Errorf("HandleGrant (-want +got):\n%s", diff)
			}
			if tt.wantCalls != nil {
				if diff := cmp.Diff(tt.wantCalls, users.calls); diff != "" {
					t.Errorf("authenticator calls (-want +got):\n%s", diff)
				}
			}
			// Credentials missing from the request are never checked.
			if errors.Is(err, oauthkit.ErrInvalidRequest) && len(users.calls) != 0 {
				t.Errorf("authenticator called for an invalid request: %q", users.calls)
			}
		})
	}
}

// TestPasswordInternalErrors checks that faults are returned as they are,
// not as protocol errors, so that the token endpoint answers server_error
// and logs them.
func TestPasswordInternalErrors(t *testing.T) {
	fault := errors.New("user directory unreachable")
	tests := []struct {
		name  string
		users oauthkit.UserAuthenticator
		want  error // nil: any non-protocol error
	}{
		{"authenticator fault", &fakeUsers{fault: fault}, fault},
		{"authenticator fault wrapping a store error", &fakeUsers{fault: fmt.Errorf("lookup: %w", oauthkit.ErrUnavailable)}, oauthkit.ErrUnavailable},
		{"no authenticator", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &oauthkit.TokenRequest{
				GrantType: oauthkit.GrantTypePassword,
				Client:    passwordClient(),
				Form:      url.Values{"username": {"alice"}, "password": {alicePassword}},
				Time:      time.Now(),
			}
			got, err := grants.Password{Users: tt.users}.HandleGrant(t.Context(), req)
			if got != nil || err == nil {
				t.Fatalf("HandleGrant = %+v, %v; want an error", got, err)
			}
			var oe *oauthkit.Error
			if errors.As(err, &oe) {
				t.Errorf("HandleGrant error %v is a protocol error (%s); want an internal fault", err, oe.Code)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("HandleGrant error = %v, want %v passed through", err, tt.want)
			}
		})
	}
}

func TestPasswordGrantType(t *testing.T) {
	if got := (grants.Password{}).GrantType(); got != "password" {
		t.Errorf("GrantType() = %q, want password", got)
	}
}
