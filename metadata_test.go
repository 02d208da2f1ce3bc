package oauthkit_test

import (
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// The -update flag rewrites golden files. The internal tests of package
// oauthkit define it, and they are compiled into the same test binary, so a
// second definition would panic; it is defined here only if they do not.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files under testdata/golden")
	}
}

func svcUpdate() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// svcGolden compares got with testdata/golden/name, or rewrites the file
// with -update.
func svcGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if svcUpdate() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (go test -update writes it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update if intended):\n%s", path, diff)
	}
}

// svcMetadataCase is a server configuration whose metadata is pinned by a
// golden file.
type svcMetadataCase struct {
	name   string
	golden string
	oidc   bool // an OpenID provider: the document must satisfy OpenID Connect Discovery
	config func(issuer string, signer oauthkit.Signer) oauthkit.Config
}

var svcMetadataCases = []svcMetadataCase{
	{
		name:   "plain OAuth",
		golden: "metadata-oauth.json",
		config: func(issuer string, _ oauthkit.Signer) oauthkit.Config {
			return oauthkit.Config{Issuer: issuer, Grants: []oauthkit.GrantHandler{grants.ClientCredentials{}}}
		},
	},
	{
		name:   "device authorization",
		golden: "metadata-device.json",
		config: func(issuer string, _ oauthkit.Signer) oauthkit.Config {
			return oauthkit.Config{
				Issuer: issuer,
				Device: &oauthkit.DeviceConfig{Store: memory.NewDevices(), VerificationURI: issuer + "/device"},
			}
		},
	},
	{
		name:   "implicit and plain PKCE",
		golden: "metadata-implicit-plain-pkce.json",
		config: func(issuer string, _ oauthkit.Signer) oauthkit.Config {
			return oauthkit.Config{
				Issuer:             issuer,
				AllowImplicitGrant: true,
				AllowPlainPKCE:     true,
				ScopesSupported:    []string{"read", "write"},
			}
		},
	},
	{
		name:   "OpenID Connect with token services",
		golden: "discovery-oidc.json",
		oidc:   true,
		config: func(issuer string, signer oauthkit.Signer) oauthkit.Config {
			return oauthkit.Config{
				Issuer: issuer,
				Endpoints: oauthkit.Endpoints{
					Authorization: issuer + "/oauth2/auth",
					Token:         issuer + "/oauth2/token",
					Revocation:    issuer + "/oauth2/revoke",
					Introspection: issuer + "/oauth2/introspect",
					JWKS:          issuer + "/.well-known/jwks.json",
					UserInfo:      issuer + "/userinfo",
				},
				IDTokens:        signer,
				ScopesSupported: []string{"profile", "email", "read"},
				ClaimsSupported: []string{"email", "email_verified", "name", "sub"},
				Grants:          []oauthkit.GrantHandler{grants.ClientCredentials{}},
			}
		},
	},
	{
		name:   "OpenID Connect with implicit and hybrid flows",
		golden: "discovery-oidc-implicit.json",
		oidc:   true,
		config: func(issuer string, signer oauthkit.Signer) oauthkit.Config {
			return oauthkit.Config{
				Issuer:             issuer,
				Endpoints:          oauthkit.Endpoints{JWKS: issuer + "/jwks", UserInfo: issuer + "/userinfo"},
				IDTokens:           signer,
				AllowImplicitGrant: true,
				ScopesSupported:    []string{"openid", "email"},
			}
		},
	},
}

func svcMetadataServer(t *testing.T, c svcMetadataCase, issuer string) *oauthkit.Server {
	t.Helper()
	cfg := c.config(issuer, oidcNewSigner(t))
	cfg.Clients, cfg.Codes, cfg.Tokens = memory.NewClients(), memory.NewCodes(), memory.NewTokens()
	srv, err := oauthkit.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return srv
}

func TestMetadataGolden(t *testing.T) {
	for _, c := range svcMetadataCases {
		t.Run(c.name, func(t *testing.T) {
			srv := svcMetadataServer(t, c, svcIssuer)
			rec := httptest.NewRecorder()
			srv.MetadataHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/oauth-authorization-server", nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			for k, want := range map[string]string{"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"} {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s %q, want %q", k, got, want)
				}
			}
			svcGolden(t, c.golden, rec.Body.Bytes())

			var got oauthkit.Metadata
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(srv.Metadata(), got); diff != "" {
				t.Errorf("served document differs from Server.Metadata (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMetadataRequiredMembers checks the members RFC 8414 §2 and, for
// OpenID providers, OpenID Connect Discovery 1.0 §3 require, whatever the
// golden files say.
func TestMetadataRequiredMembers(t *testing.T) {
	for _, c := range svcMetadataCases {
		t.Run(c.name, func(t *testing.T) {
			srv := svcMetadataServer(t, c, svcIssuer)
			rec := httptest.NewRecorder()
			srv.MetadataHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			var doc map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			required := []string{"issuer", "authorization_endpoint", "token_endpoint", "response_types_supported"}
			if c.oidc {
				required = append(required, "jwks_uri", "subject_types_supported", "id_token_signing_alg_values_supported")
			}
			for _, k := range required {
				if v, ok := doc[k]; !ok || v == "" || v == nil {
					t.Errorf("required member %s missing", k)
				}
			}
			m := srv.Metadata()
			if !slices.Contains(m.ResponseTypesSupported, "code") || !slices.Contains(m.CodeChallengeMethodsSupported, "S256") {
				t.Errorf("code flow with S256 not advertised: %v %v", m.ResponseTypesSupported, m.CodeChallengeMethodsSupported)
			}
			if !m.AuthorizationResponseIssParameterSupported {
				t.Error("RFC 9207 iss parameter not advertised")
			}
			if c.oidc {
				if !slices.Contains(m.ScopesSupported, "openid") {
					t.Errorf("scopes_supported %v lacks openid (OpenID Connect Discovery 1.0 §3)", m.ScopesSupported)
				}
				if diff := cmp.Diff([]string{"ES256"}, m.IDTokenSigningAlgValuesSupported); diff != "" {
					t.Errorf("id_token_signing_alg_values_supported (-want +got):\n%s", diff)
				}

			} else if m.JWKSURI != "" || m.SubjectTypesSupported != nil || m.IDTokenSigningAlgValuesSupported != nil || slices.Contains(m.ScopesSupported, "openid") {
				t.Errorf("OpenID members in a plain OAuth document: %+v", m)
			}
		})
	}
}

func TestMetadataMethods(t *testing.T) {
	srv := svcMetadataServer(t, svcMetadataCases[0], svcIssuer)
	tests := []struct {
		method     string
		wantStatus int
	}{
		{http.MethodGet, http.StatusOK},
		{http.MethodHead, http.StatusOK},
		{http.MethodPost, http.StatusMethodNotAllowed},
		{http.MethodPut, http.StatusMethodNotAllowed},
		{http.MethodDelete, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			rec := httptest.NewRecorder()
			srv.MetadataHandler().ServeHTTP(rec, httptest.NewRequest(tt.method, "/", nil))
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q, want GET, HEAD", rec.Header().Get("Allow"))
			}
		})
	}
}

// TestMetadataDiscovery serves each document at both well-known paths of a
// loopback issuer and reads it back with go-oidc, as a relying party would,
// and with x/oauth2's endpoints.
func TestMetadataDiscovery(t *testing.T) {
	for _, c := range svcMetadataCases {
		t.Run(c.name, func(t *testing.T) {
			mux := http.NewServeMux()
			ts := httptest.NewServer(mux)
			defer ts.Close()
			srv := svcMetadataServer(t, c, ts.URL)
			mux.Handle("GET /.well-known/openid-configuration", srv.MetadataHandler())
			mux.Handle("GET /.well-known/oauth-authorization-server", srv.MetadataHandler())
			cfg := c.config(ts.URL, nil)

			p, err := oidc.NewProvider(t.Context(), ts.URL)
			if err != nil {
				t.Fatalf("go-oidc discovery: %v", err)
			}
			wantAuth, wantToken := cfg.Endpoints.Authorization, cfg.Endpoints.Token
			if wantAuth == "" {
				wantAuth = ts.URL + "/authorize"
			}
			if wantToken == "" {
				wantToken = ts.URL + "/token"
			}
			want := oauth2.Endpoint{AuthURL: wantAuth, TokenURL: wantToken}
			if cfg.Device != nil { // go-oidc reads RFC 8628 §4's member too
				want.DeviceAuthURL = ts.URL + "/device_authorization"
			}
			if diff := cmp.Diff(want, p.Endpoint()); diff != "" {
				t.Errorf("x/oauth2 endpoint from discovery (-want +got):\n%s", diff)
			}
			if got := p.UserInfoEndpoint(); got != cfg.Endpoints.UserInfo {
				t.Errorf("userinfo endpoint %q, want %q", got, cfg.Endpoints.UserInfo)
			}
			var discovered oauthkit.Metadata
			if err := p.Claims(&discovered); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(srv.Metadata(), discovered); diff != "" {
				t.Errorf("discovered document (-want +got):\n%s", diff)
			}
			for name, want := range map[string]string{
				"revocation_endpoint":    cfg.Endpoints.Revocation,
				"introspection_endpoint": cfg.Endpoints.Introspection,
				"jwks_uri":               cfg.Endpoints.JWKS,
			} {
				var doc map[string]any
				if err := p.Claims(&doc); err != nil {
					t.Fatal(err)
				}
				got, _ := doc[name].(string)
				if got != want {
					t.Errorf("%s %q, want %q", name, got, want)
				}
			}

			// RFC 8414 §3: the same document at the OAuth well-known path.
			resp, err := http.Get(ts.URL + "/.well-known/oauth-authorization-server")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var rfc8414 oauthkit.Metadata
			if err := json.NewDecoder(resp.Body).Decode(&rfc8414); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(discovered, rfc8414); diff != "" {
				t.Errorf("RFC 8414 document differs from the OpenID one (-want +got):\n%s", diff)
			}
			if rfc8414.Issuer != ts.URL {
				t.Errorf("issuer %q, want %q (RFC 8414 §3.3)", rfc8414.Issuer, ts.URL)
			}
		})
	}
}

// TestMetadataRequestURIParameter: OpenID Connect Discovery 1.0 §3 reads an
// omitted request_uri_parameter_supported as true, and this provider has no
// request_uri support, so an OpenID document must say false.
func TestMetadataRequestURIParameter(t *testing.T) {
	for _, c := range svcMetadataCases {
		if !c.oidc {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			svcMetadataServer(t, c, svcIssuer).MetadataHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			var doc map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if v, ok := doc["request_uri_parameter_supported"]; !ok || v != false {
				t.Errorf("request_uri_parameter_supported = %v (present %v), want false", v, ok)
			}
		})
	}
}
