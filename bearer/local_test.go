package bearer_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// localEnv is an authorization server with memory stores and two
// client_credentials clients, one with an audience.
type localEnv struct {
	srv    *oauthkit.Server
	secret string
}

func newLocalEnv(t *testing.T) *localEnv {
	t.Helper()
	secret := strings.Repeat("x", 40)
	hash, err := oauthkit.HashSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	cc := []string{oauthkit.GrantTypeClientCredentials, userGrantType}
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer: "https://as.example",
		Clients: memory.NewClients(
			&oauthkit.Client{ID: "svc", SecretHash: hash, GrantTypes: cc, Scopes: []string{"read"}},
			&oauthkit.Client{ID: "other", SecretHash: hash, GrantTypes: cc, Scopes: []string{"read"}, Audience: []string{"https://other.example"}},
		),
		Codes:  memory.NewCodes(),
		Tokens: memory.NewTokens(),
		Grants: []oauthkit.GrantHandler{grants.ClientCredentials{}, userGrant{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &localEnv{srv: srv, secret: secret}
}

// call sends a form to one of srv's handlers as client id.
func (e *localEnv) call(t *testing.T, h http.Handler, id string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, e.secret)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func (e *localEnv) token(t *testing.T, id string) string {
	t.Helper()
	rec := e.call(t, e.srv.TokenHandler(), id, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
	if rec.Code != http.StatusOK {
		t.Fatalf("token request: %d %s", rec.Code, rec.Body)
	}
	var resp oauthkit.TokenResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	return resp.AccessToken
}

// userGrant is an extension grant that issues tokens to the resource owner
// named in its "user" parameter, so that tests get users' tokens without an
// authorization code flow.
type userGrant struct{}

const userGrantType = "urn:example:test:user"

func (userGrant) GrantType() string { return userGrantType }

func (userGrant) HandleGrant(_ context.Context, req *oauthkit.TokenRequest) (*oauthkit.Grant, error) {
	scope, err := req.Scope()
	if err != nil {
		return nil, err
	}
	return &oauthkit.Grant{Subject: req.Form.Get("user"), Scope: scope}, nil
}

// userToken returns an access token issued to client id for user.
func (e *localEnv) userToken(t *testing.T, id, user string) string {
	t.Helper()
	rec := e.call(t, e.srv.TokenHandler(), id, url.Values{"grant_type": {userGrantType}, "user": {user}, "scope": {"read"}})
	if rec.Code != http.StatusOK {
		t.Fatalf("token request: %d %s", rec.Code, rec.Body)
	}
	var resp oauthkit.TokenResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	return resp.AccessToken
}

func TestLocal(t *testing.T) {
	e := newLocalEnv(t)
	svcToken, otherToken, userToken := e.token(t, "svc"), e.token(t, "other"), e.userToken(t, "svc", "svc")
	revoked := e.token(t, "svc")
	if rec := e.call(t, e.srv.RevocationHandler(), "svc", url.Values{"token": {revoked}}); rec.Code != http.StatusOK {
		t.Fatalf("revocation: %d %s", rec.Code, rec.Body)
	}
	tests := []struct {
		name     string
		audience string
		token    string
		want     *bearer.Claims // nil: refused with ErrInvalidToken
	}{
		{"live token, no audience required", "", svcToken, &bearer.Claims{Subject: "svc", SubjectIsClient: true, ClientID: "svc", Scope: []string{"read"}, Issuer: "https://as.example"}},
		{"token without audience, audience required", "https://api.example", svcToken, &bearer.Claims{Subject: "svc", SubjectIsClient: true, ClientID: "svc", Scope: []string{"read"}, Issuer: "https://as.example"}},
		{"token for another audience", "https://api.example", otherToken, nil},
		{"token for this audience", "https://other.example", otherToken, &bearer.Claims{Subject: "other", SubjectIsClient: true, ClientID: "other", Scope: []string{"read"}, Audience: []string{"https://other.example"}, Issuer: "https://as.example"}},
		// A user whose subject is spelled like the client's ID: the token's
		// record, not the spelling, says whose token it is.
		{"user's token, subject equal to the client ID", "", userToken, &bearer.Claims{Subject: "svc", ClientID: "svc", Scope: []string{"read"}, Issuer: "https://as.example"}},
		{"revoked token", "", revoked, nil},
		{"unknown token", "", "not-a-token", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bearer.Local(e.srv, tt.audience).Validate(t.Context(), tt.token)
			if tt.want == nil {
				if !errors.Is(err, bearer.ErrInvalidToken) {
					t.Fatalf("Validate = %+v, %v; want ErrInvalidToken", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got.ExpiresAt.Before(time.Now()) || got.IssuedAt.IsZero() {
				t.Errorf("times: issued %v, expires %v", got.IssuedAt, got.ExpiresAt)
			}
			got.ExpiresAt, got.IssuedAt = time.Time{}, time.Time{}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLocalMiddleware protects a handler with the in-process validator.
func TestLocalMiddleware(t *testing.T) {
	e := newLocalEnv(t)
	m, err := bearer.New(bearer.Config{Validator: bearer.Local(e.srv, ""), Realm: "api"})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := bearer.FromContext(r.Context())
		w.Write([]byte(c.Subject))
	}), "read")
	for _, tt := range []struct {
		name, auth string
		status     int
		body       string
	}{
		{"valid token", "Bearer " + e.token(t, "svc"), http.StatusOK, "svc"},
		{"garbage token", "Bearer garbage", http.StatusUnauthorized, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Authorization", tt.auth)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status || (tt.body != "" && rec.Body.String() != tt.body) {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, tt.status, tt.body)
			}
		})
	}
}
