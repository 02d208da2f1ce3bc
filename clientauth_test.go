package oauthkit_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// headerAuth is a host's own client authentication method: the client ID
// and secret in headers of their own. It stands for any method a host adds
// (an RFC 7523 assertion, a mutual-TLS certificate) without library code.
type headerAuth struct{}

const headerAuthName = "urn:example:header_secret"

func (headerAuth) Name() string { return headerAuthName }

func (headerAuth) Presented(r *http.Request, _ url.Values) bool {
	return r.Header.Get("X-Client-Secret") != ""
}

func (headerAuth) Authenticate(ctx context.Context, r *http.Request, _ url.Values, clients oauthkit.ClientStore) (*oauthkit.Client, error) {
	client, err := clients.Client(ctx, r.Header.Get("X-Client-ID"))
	if err != nil {
		return nil, err
	}
	if ok, err := oauthkit.VerifySecret(ctx, client.SecretHash, r.Header.Get("X-Client-Secret")); err != nil || !ok {
		return nil, oauthkit.ErrInvalidClient.WithDescription("wrong header secret")
	}
	return client, nil
}

// TestHostClientAuthMethod adds a client authentication method through
// Config.ClientAuthMethods: the token endpoint authenticates with it only
// the clients registered for it, and the metadata lists it, from the same
// table.
func TestHostClientAuthMethod(t *testing.T) {
	secret, hash, err := oauthkit.GenerateSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	cc := []string{oauthkit.GrantTypeClientCredentials}
	store := memory.NewStore(
		&oauthkit.Client{ID: "hdr", SecretHash: hash, AuthMethod: headerAuthName, GrantTypes: cc},
		&oauthkit.Client{ID: "basic", SecretHash: hash, AuthMethod: oauthkit.AuthMethodSecretBasic, GrantTypes: cc},
	)
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer: "https://auth.example.com", Clients: store, Codes: store, Tokens: store,
		Endpoints:         oauthkit.Endpoints{Revocation: "https://auth.example.com/revoke", Introspection: "https://auth.example.com/introspect"},
		Grants:            []oauthkit.GrantHandler{grants.ClientCredentials{}},
		ClientAuthMethods: []oauthkit.ClientAuthMethod{headerAuth{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := srv.Metadata()
	all := []string{oauthkit.AuthMethodSecretBasic, oauthkit.AuthMethodSecretPost, oauthkit.AuthMethodNone, headerAuthName}
	if diff := cmp.Diff(all, m.TokenEndpointAuthMethodsSupported); diff != "" {
		t.Errorf("token_endpoint_auth_methods_supported (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(all, m.RevocationEndpointAuthMethodsSupported); diff != "" {
		t.Errorf("revocation_endpoint_auth_methods_supported (-want +got):\n%s", diff)
	}
	noPublic := []string{oauthkit.AuthMethodSecretBasic, oauthkit.AuthMethodSecretPost, headerAuthName}
	if diff := cmp.Diff(noPublic, m.IntrospectionEndpointAuthMethodsSupported); diff != "" {
		t.Errorf("introspection_endpoint_auth_methods_supported (-want +got):\n%s", diff)
	}

	tests := []struct {
		name       string
		set        func(r *http.Request)
		form       url.Values
		wantStatus int
		wantError  string
	}{
		{"header method", func(r *http.Request) { r.Header.Set("X-Client-ID", "hdr"); r.Header.Set("X-Client-Secret", secret) }, nil, 200, ""},
		{"header method, wrong secret", func(r *http.Request) { r.Header.Set("X-Client-ID", "hdr"); r.Header.Set("X-Client-Secret", "x"+secret) }, nil, 400, "invalid_client"},
		{"header method, unknown client", func(r *http.Request) { r.Header.Set("X-Client-ID", "nobody"); r.Header.Set("X-Client-Secret", secret) }, nil, 400, "invalid_client"},
		{"header method for a client registered for Basic", func(r *http.Request) { r.Header.Set("X-Client-ID", "basic"); r.Header.Set("X-Client-Secret", secret) }, nil, 400, "invalid_client"},
		{"Basic for the header method's client", func(r *http.Request) { r.SetBasicAuth("hdr", secret) }, nil, 401, "invalid_client"},
		{"Basic for its own client", func(r *http.Request) { r.SetBasicAuth("basic", secret) }, nil, 200, ""},
		{"two methods at once", func(r *http.Request) { r.SetBasicAuth("basic", secret); r.Header.Set("X-Client-Secret", secret) }, nil, 400, "invalid_request"},
		{"header method and another client_id in the body", func(r *http.Request) { r.Header.Set("X-Client-ID", "hdr"); r.Header.Set("X-Client-Secret", secret) },
			url.Values{"client_id": {"basic"}}, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"grant_type": {"client_credentials"}}
			for k, v := range tt.form {
				form[k] = v
			}
			r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			tt.set(r)
			rec := httptest.NewRecorder()
			srv.TokenHandler().ServeHTTP(rec, r)
			var body struct {
				Error string `json:"error"`
			}
			json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Code != tt.wantStatus || body.Error != tt.wantError {
				t.Errorf("status %d, error %q; want %d, %q (body %s)", rec.Code, body.Error, tt.wantStatus, tt.wantError, rec.Body)
			}
		})
	}
}

// TestClientAuthMethodsRefused checks that New refuses a nil method and one
// without a name.
func TestClientAuthMethodsRefused(t *testing.T) {
	store := memory.NewStore()
	for _, methods := range [][]oauthkit.ClientAuthMethod{{nil}, {namelessAuth{}}} {
		_, err := oauthkit.New(oauthkit.Config{Issuer: "https://auth.example.com", Clients: store, Codes: store, Tokens: store, ClientAuthMethods: methods})
		if err == nil || !strings.Contains(err.Error(), "ClientAuthMethods") {
			t.Errorf("New with ClientAuthMethods %v: error = %v, want one naming Config.ClientAuthMethods", methods, err)
		}
	}
}

type namelessAuth struct{ headerAuth }

func (namelessAuth) Name() string { return "" }
