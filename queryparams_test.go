package oauthkit_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// headerGrant is an extension grant that reads a request header, as a
// DPoP-aware or assertion grant does: it grants only when the header is
// there.
type headerGrant struct{}

func (headerGrant) GrantType() string { return "urn:example:grant:header" }

func (headerGrant) HandleGrant(_ context.Context, req *oauthkit.TokenRequest) (*oauthkit.Grant, error) {
	if req.Header.Get("X-Proof") != "ok" {
		return nil, oauthkit.ErrInvalidGrant.WithDescription("no proof header")
	}
	return &oauthkit.Grant{}, nil
}

// TestBackChannelParameters checks where the token endpoint reads its
// parameters: the body only, unless InsecureAllowQueryParameters lets the
// query in too, where a parameter in both places is repeated; and that a
// grant sees the request's headers.
func TestBackChannelParameters(t *testing.T) {
	secret, hash, err := oauthkit.GenerateSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	newServer := func(t *testing.T, allowQuery bool) *oauthkit.Server {
		store := memory.NewStore(&oauthkit.Client{ID: "svc", SecretHash: hash, AuthMethod: oauthkit.AuthMethodSecretPost,
			GrantTypes: []string{oauthkit.GrantTypeClientCredentials, "urn:example:grant:header"}})
		srv, err := oauthkit.New(oauthkit.Config{
			Issuer: "https://auth.example.com", Clients: store, Codes: store, Tokens: store,
			Grants:                       []oauthkit.GrantHandler{grants.ClientCredentials{}, headerGrant{}},
			InsecureAllowQueryParameters: allowQuery,
		})
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
	creds := url.Values{"client_id": {"svc"}, "client_secret": {secret}}
	cc := url.Values{"grant_type": {"client_credentials"}}
	tests := []struct {
		name        string
		allowQuery  bool
		query, body url.Values
		header      string
		wantStatus  int
		wantError   string
		bodiless    bool // no body and no Content-Type, as curl -X POST 'url?params' sends
	}{
		{name: "body", body: merge(cc, creds), wantStatus: 200},
		{name: "query ignored by default", query: merge(cc, creds), wantStatus: 400, wantError: "invalid_client"},
		{name: "grant_type in the query ignored by default", query: cc, body: creds, wantStatus: 400, wantError: "invalid_request"},
		{name: "query allowed", allowQuery: true, query: merge(cc, creds), wantStatus: 200},
		{name: "query and body, allowed", allowQuery: true, query: cc, body: creds, wantStatus: 200},
		{name: "in both query and body", allowQuery: true, query: cc, body: merge(cc, creds), wantStatus: 400, wantError: "invalid_request"},
		{name: "bodiless POST, query allowed", allowQuery: true, bodiless: true, query: merge(cc, creds), wantStatus: 200},
		{name: "bodiless POST, query not allowed", bodiless: true, query: merge(cc, creds), wantStatus: 400, wantError: "invalid_request"},
		{name: "bodiless POST without a query", allowQuery: true, bodiless: true, wantStatus: 400, wantError: "invalid_request"},
		{name: "grant reads a header", body: merge(creds, url.Values{"grant_type": {"urn:example:grant:header"}}), header: "ok", wantStatus: 200},
		{name: "grant without its header", body: merge(creds, url.Values{"grant_type": {"urn:example:grant:header"}}), wantStatus: 400, wantError: "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.allowQuery)
			r := httptest.NewRequest(http.MethodPost, "/token?"+tt.query.Encode(), strings.NewReader(tt.body.Encode()))
			if !tt.bodiless {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tt.header != "" {
				r.Header.Set("X-Proof", tt.header)
			}
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

// merge returns the union of a and b.
func merge(a, b url.Values) url.Values {
	m := url.Values{}
	for _, v := range []url.Values{a, b} {
		for k, vs := range v {
			m[k] = append(m[k], vs...)
		}
	}
	return m
}

// assertedGrant is a grant whose request proves enough by itself, so that
// its client need not authenticate (RFC 7523 §3.1).
type assertedGrant struct{ headerGrant }

func (assertedGrant) GrantType() string                  { return "urn:example:grant:asserted" }
func (assertedGrant) ClientAuthenticationOptional() bool { return true }

// TestOptionalClientAuthentication checks that a grant declaring
// OptionalClientAuthentication accepts a client_id alone for a client
// registered with a secret, still checks credentials that are sent, and
// that other grants still require them.
func TestOptionalClientAuthentication(t *testing.T) {
	secret, hash, err := oauthkit.GenerateSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	store := memory.NewStore(&oauthkit.Client{ID: "svc", SecretHash: hash,
		GrantTypes: []string{oauthkit.GrantTypeClientCredentials, "urn:example:grant:asserted"}})
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer: "https://auth.example.com", Clients: store, Codes: store, Tokens: store,
		Grants: []oauthkit.GrantHandler{grants.ClientCredentials{}, assertedGrant{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
	}{
		{"client_id alone", url.Values{"grant_type": {"urn:example:grant:asserted"}, "client_id": {"svc"}}, 200},
		{"with its secret", url.Values{"grant_type": {"urn:example:grant:asserted"}, "client_id": {"svc"}, "client_secret": {secret}}, 200},
		{"with a wrong secret", url.Values{"grant_type": {"urn:example:grant:asserted"}, "client_id": {"svc"}, "client_secret": {"x" + secret}}, 400},
		{"unknown client", url.Values{"grant_type": {"urn:example:grant:asserted"}, "client_id": {"nobody"}}, 400},
		{"nothing at all", url.Values{"grant_type": {"urn:example:grant:asserted"}}, 400},
		{"another grant, client_id alone", url.Values{"grant_type": {"client_credentials"}, "client_id": {"svc"}}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(tt.form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("X-Proof", "ok")
			rec := httptest.NewRecorder()
			srv.TokenHandler().ServeHTTP(rec, r)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d (body %s)", rec.Code, tt.wantStatus, rec.Body)
			}
		})
	}
}
