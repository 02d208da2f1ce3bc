package grants_test

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
)

// grantOpts compares Grants by their exported fields, with nil and empty
// scopes alike.
var grantOpts = cmp.Options{cmpopts.IgnoreUnexported(oauthkit.Grant{}), cmpopts.EquateEmpty()}

// confidentialClient is a client registered for client_credentials.
func confidentialClient() *oauthkit.Client {
	return &oauthkit.Client{
		ID:            "svc",
		SecretHash:    "$sha256$unused-the-token-endpoint-authenticates",
		GrantTypes:    []string{oauthkit.GrantTypeClientCredentials},
		Scopes:        []string{"read", "write", "admin"},
		DefaultScopes: []string{"read"},
	}
}

// checkError checks that err is the protocol error want (by code), or nil.
func checkError(t *testing.T, err error, want *oauthkit.Error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("HandleGrant error = %v, want nil", err)
		}
		return
	}
	var oe *oauthkit.Error
	if !errors.As(err, &oe) || !errors.Is(err, want) {
		t.Fatalf("HandleGrant error = %v, want %s", err, want.Code)
	}
	if oe.Description == "" {
		t.Errorf("error %s has no description for the client developer", oe.Code)
	}
}

func TestClientCredentials(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		client  func() *oauthkit.Client
		form    url.Values
		want    *oauthkit.Grant
		wantErr *oauthkit.Error
	}{
		{
			name:   "requested scope",
			client: confidentialClient,
			form:   url.Values{"scope": {"read write"}},
			want:   &oauthkit.Grant{Scope: []string{"read", "write"}},
		},
		{
			name:   "scope in any order, repeated, extra spaces",
			client: confidentialClient,
			form:   url.Values{"scope": {"write  read write"}},
			want:   &oauthkit.Grant{Scope: []string{"write", "read"}},
		},
		{
			name:   "no scope parameter gets the default scopes",
			client: confidentialClient,
			form:   url.Values{},
			want:   &oauthkit.Grant{Scope: []string{"read"}},
		},
		{
			name: "no scope parameter and no default scopes",
			client: func() *oauthkit.Client {
				c := confidentialClient()
				c.DefaultScopes = nil
				return c
			},
			form: url.Values{},
			want: &oauthkit.Grant{},
		},
		{
			name:    "scope the client may not have",
			client:  confidentialClient,
			form:    url.Values{"scope": {"read delete"}},
			wantErr: oauthkit.ErrInvalidScope,
		},
		{
			name:    "malformed scope",
			client:  confidentialClient,
			form:    url.Values{"scope": {`read "write"`}},
			wantErr: oauthkit.ErrInvalidScope,
		},
		{
			name:    "scope with a backslash",
			client:  confidentialClient,
			form:    url.Values{"scope": {`read\`}},
			wantErr: oauthkit.ErrInvalidScope,
		},
		{
			name: "public client",
			client: func() *oauthkit.Client {
				c := confidentialClient()
				c.SecretHash = ""
				return c
			},
			form:    url.Values{"scope": {"read"}},
			wantErr: oauthkit.ErrUnauthorizedClient,
		},
		{
			name: "client registered with method none despite a secret",
			client: func() *oauthkit.Client {
				c := confidentialClient()
				c.AuthMethod = oauthkit.AuthMethodNone
				return c
			},
			form:    url.Values{},
			wantErr: oauthkit.ErrUnauthorizedClient,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &oauthkit.TokenRequest{
				GrantType: oauthkit.GrantTypeClientCredentials,
				Client:    tt.client(),
				Form:      tt.form,
				Time:      now,
			}
			got, err := grants.ClientCredentials{}.HandleGrant(t.Context(), req)
			checkError(t, err, tt.wantErr)
			// RFC 6749 §4.4.3: no refresh token, so RefreshToken stays false.
			if diff := cmp.Diff(tt.want, got, grantOpts); diff != "" {
				t.Errorf("HandleGrant (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientCredentialsGrantType(t *testing.T) {
	if got := (grants.ClientCredentials{}).GrantType(); got != "client_credentials" {
		t.Errorf("GrantType() = %q, want client_credentials", got)
	}
}
