package bearer_test

import (
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit/bearer"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares got with testdata/golden/name, or rewrites the file with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
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

func TestMetadataHandler(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		md     bearer.ProtectedResourceMetadata
		want   map[string]any // the document, decoded
	}{
		{
			name:   "minimal",
			golden: "protected-resource-metadata-minimal.json",
			md:     bearer.ProtectedResourceMetadata{Resource: "https://api.example.com"},
			want:   map[string]any{"resource": "https://api.example.com", "bearer_methods_supported": []any{"header"}},
		},
		{
			name:   "MCP server",
			golden: "protected-resource-metadata-mcp.json",
			md: bearer.ProtectedResourceMetadata{
				Resource:             "https://mcp.example.com/mcp",
				AuthorizationServers: []string{"https://auth.example.com"},
				ScopesSupported:      []string{"files:read", "files:write"},
				ResourceName:         "Example MCP server",
			},
			want: map[string]any{
				"resource":                 "https://mcp.example.com/mcp",
				"authorization_servers":    []any{"https://auth.example.com"},
				"scopes_supported":         []any{"files:read", "files:write"},
				"bearer_methods_supported": []any{"header"},
				"resource_name":            "Example MCP server",
			},
		},
		{
			name:   "everything",
			golden: "protected-resource-metadata-full.json",
			md: bearer.ProtectedResourceMetadata{
				Resource:                              "https://api.example.com/photos",
				AuthorizationServers:                  []string{"https://auth.example.com", "https://auth.example.com/tenant/a", "http://127.0.0.1:9000"},
				JWKSURI:                               "https://api.example.com/jwks.json",
				ScopesSupported:                       []string{"photos.read", "photos.write"},
				BearerMethodsSupported:                []string{"header", "body"},
				ResourceSigningAlgValuesSupported:     []string{"ES256", "RS256"},
				ResourceName:                          "Photos",
				ResourceDocumentation:                 "https://developer.example.com/photos",
				ResourcePolicyURI:                     "https://example.com/privacy",
				ResourceTOSURI:                        "http://example.com/tos",
				TLSClientCertificateBoundAccessTokens: true,
				AuthorizationDetailsTypesSupported:    []string{"photo_album"},
				DPoPSigningAlgValuesSupported:         []string{"ES256", "EdDSA"},
				DPoPBoundAccessTokensRequired:         true,
			},
			want: map[string]any{
				"resource":                                   "https://api.example.com/photos",
				"authorization_servers":                      []any{"https://auth.example.com", "https://auth.example.com/tenant/a", "http://127.0.0.1:9000"},
				"jwks_uri":                                   "https://api.example.com/jwks.json",
				"scopes_supported":                           []any{"photos.read", "photos.write"},
				"bearer_methods_supported":                   []any{"header", "body"},
				"resource_signing_alg_values_supported":      []any{"ES256", "RS256"},
				"resource_name":                              "Photos",
				"resource_documentation":                     "https://developer.example.com/photos",
				"resource_policy_uri":                        "https://example.com/privacy",
				"resource_tos_uri":                           "http://example.com/tos",
				"tls_client_certificate_bound_access_tokens": true,
				"authorization_details_types_supported":      []any{"photo_album"},
				"dpop_signing_alg_values_supported":          []any{"ES256", "EdDSA"},
				"dpop_bound_access_tokens_required":          true,
			},
		},
		{
			name:   "no bearer methods",
			golden: "protected-resource-metadata-no-bearer-methods.json",
			md:     bearer.ProtectedResourceMetadata{Resource: "http://localhost:8080/", BearerMethodsSupported: []string{}},
			want:   map[string]any{"resource": "http://localhost:8080/", "bearer_methods_supported": []any{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := bearer.MetadataHandler(tt.md)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/oauth-protected-resource", nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200", rec.Code)
			}
			gotHeader := map[string]string{
				"Content-Type":                rec.Header().Get("Content-Type"),
				"Cache-Control":               rec.Header().Get("Cache-Control"),
				"Access-Control-Allow-Origin": rec.Header().Get("Access-Control-Allow-Origin"),
			}
			wantHeader := map[string]string{
				"Content-Type":                "application/json",
				"Cache-Control":               "public, max-age=3600",
				"Access-Control-Allow-Origin": "*",
			}
			if diff := cmp.Diff(wantHeader, gotHeader); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			var got map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("document (-want +got):\n%s", diff)
			}
			golden(t, tt.golden, rec.Body.Bytes())
		})
	}
}

func TestMetadataHandlerMethods(t *testing.T) {
	h, err := bearer.MetadataHandler(bearer.ProtectedResourceMetadata{Resource: "https://api.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method     string
		wantStatus int
		wantAllow  string
		wantBody   bool
	}{
		{method: "GET", wantStatus: 200, wantBody: true},
		{method: "HEAD", wantStatus: 200},
		{method: "POST", wantStatus: 405, wantAllow: "GET, HEAD", wantBody: true},
		{method: "OPTIONS", wantStatus: 405, wantAllow: "GET, HEAD", wantBody: true},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, "/.well-known/oauth-protected-resource", nil))
			if rec.Code != tt.wantStatus || rec.Header().Get("Allow") != tt.wantAllow || (rec.Body.Len() > 0) != tt.wantBody {
				t.Errorf("%s: status %d, Allow %q, body %q; want %d, %q, body: %v",
					tt.method, rec.Code, rec.Header().Get("Allow"), rec.Body, tt.wantStatus, tt.wantAllow, tt.wantBody)
			}
		})
	}
}

func TestMetadataHandlerInvalid(t *testing.T) {
	valid := func(edit func(*bearer.ProtectedResourceMetadata)) bearer.ProtectedResourceMetadata {
		md := bearer.ProtectedResourceMetadata{
			Resource:             "https://api.example.com",
			AuthorizationServers: []string{"https://auth.example.com"},
		}
		edit(&md)
		return md
	}
	tests := []struct {
		name    string
		md      bearer.ProtectedResourceMetadata
		wantErr string // a part of the error
	}{
		{name: "no resource", md: bearer.ProtectedResourceMetadata{}, wantErr: "Resource is required"},
		{name: "relative resource", md: valid(func(md *bearer.ProtectedResourceMetadata) { md.Resource = "/api" }), wantErr: "Resource must be an absolute URL"},
		{name: "resource with a fragment", md: valid(func(md *bearer.ProtectedResourceMetadata) { md.Resource = "https://api.example.com/#x" }), wantErr: "Resource must be an absolute URL"},
		{name: "resource with user info", md: valid(func(md *bearer.ProtectedResourceMetadata) { md.Resource = "https://u:p@api.example.com" }), wantErr: "Resource must be an absolute URL"},
		{name: "http resource", md: valid(func(md *bearer.ProtectedResourceMetadata) { md.Resource = "http://api.example.com" }), wantErr: "Resource must use https"},
		{name: "other scheme", md: valid(func(md *bearer.ProtectedResourceMetadata) { md.Resource = "urn:example:api" }), wantErr: "Resource must be an absolute URL"},
		{name: "relative authorization server", md: valid(func(md *bearer.ProtectedResourceMetadata) { md.AuthorizationServers = []string{"auth.example.com"} }), wantErr: "AuthorizationServers must be an absolute URL"},
		{name: "http authorization server", md: valid(func(md *bearer.ProtectedResourceMetadata) {
			md.AuthorizationServers = []string{"http://auth.example.com"}
		}), wantErr: "AuthorizationServers must use https"},
		{name: "authorization server with a query", md: valid(func(md *bearer.ProtectedResourceMetadata) {
			md.AuthorizationServers = []string{"https://auth.example.com?t=a"}
		}), wantErr: "no query"},
		{name: "empty authorization server", md: valid(func(md *bearer.ProtectedResourceMetadata) { md.AuthorizationServers = []string{""} }), wantErr: "AuthorizationServers is required"},
		{name: "http jwks_uri", md: valid(func(md *bearer.ProtectedResourceMetadata) { md.JWKSURI = "http://api.example.com/jwks" }), wantErr: "JWKSURI must use https"},
		{name: "relative documentation", md: valid(func(md *bearer.ProtectedResourceMetadata) { md.ResourceDocumentation = "/docs" }), wantErr: "ResourceDocumentation must be an absolute"},
		{name: "javascript policy", md: valid(func(md *bearer.ProtectedResourceMetadata) { md.ResourcePolicyURI = "javascript://x/%0aalert(1)" }), wantErr: "ResourcePolicyURI must be an absolute"},
		{name: "invalid scope", md: valid(func(md *bearer.ProtectedResourceMetadata) { md.ScopesSupported = []string{"a b"} }), wantErr: "invalid scope"},
		{name: "query bearer method", md: valid(func(md *bearer.ProtectedResourceMetadata) { md.BearerMethodsSupported = []string{"header", "query"} }), wantErr: `"query" is never accepted`},
		{name: "unknown bearer method", md: valid(func(md *bearer.ProtectedResourceMetadata) { md.BearerMethodsSupported = []string{"cookie"} }), wantErr: "unknown method"},
		{name: "repeated bearer method", md: valid(func(md *bearer.ProtectedResourceMetadata) { md.BearerMethodsSupported = []string{"header", "header"} }), wantErr: "repeated"},
		{name: "signing alg none", md: valid(func(md *bearer.ProtectedResourceMetadata) { md.ResourceSigningAlgValuesSupported = []string{"none"} }), wantErr: "invalid algorithm"},
		{name: "DPoP alg empty", md: valid(func(md *bearer.ProtectedResourceMetadata) { md.DPoPSigningAlgValuesSupported = []string{""} }), wantErr: "invalid algorithm"},
		{name: "empty authorization details type", md: valid(func(md *bearer.ProtectedResourceMetadata) { md.AuthorizationDetailsTypesSupported = []string{""} }), wantErr: "empty type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := bearer.MetadataHandler(tt.md)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("MetadataHandler: %v, %v; want an error containing %q", h, err, tt.wantErr)
			}
		})
	}
}

// RFC 9728 §3.1: the well-known path goes between the host and the path.
func TestMetadataURL(t *testing.T) {
	tests := []struct {
		resource, want, wantPath string
		wantErr                  bool
	}{
		{resource: "https://resource.example.com", want: "https://resource.example.com/.well-known/oauth-protected-resource", wantPath: "/.well-known/oauth-protected-resource"},
		{resource: "https://resource.example.com/", want: "https://resource.example.com/.well-known/oauth-protected-resource", wantPath: "/.well-known/oauth-protected-resource"},
		{resource: "https://resource.example.com/resource1", want: "https://resource.example.com/.well-known/oauth-protected-resource/resource1", wantPath: "/.well-known/oauth-protected-resource/resource1"},
		{resource: "https://resource.example.com/a/b/", want: "https://resource.example.com/.well-known/oauth-protected-resource/a/b/", wantPath: "/.well-known/oauth-protected-resource/a/b/"},
		{resource: "https://resource.example.com:8443/api?v=2", want: "https://resource.example.com:8443/.well-known/oauth-protected-resource/api?v=2", wantPath: "/.well-known/oauth-protected-resource/api"},
		{resource: "https://resource.example.com/a%2Fb", want: "https://resource.example.com/.well-known/oauth-protected-resource/a%2Fb", wantPath: "/.well-known/oauth-protected-resource/a/b"},
		{resource: "http://127.0.0.1:8080/mcp", want: "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp", wantPath: "/.well-known/oauth-protected-resource/mcp"},
		{resource: "http://resource.example.com/", wantErr: true},
		{resource: "https://resource.example.com/#top", wantErr: true},
		{resource: "/resource1", wantErr: true},
		{resource: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.resource, func(t *testing.T) {
			u, err := bearer.MetadataURL(tt.resource)
			if tt.wantErr {
				if err == nil {
					t.Errorf("MetadataURL(%q) = %v, want an error", tt.resource, u)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.String() != tt.want || u.Path != tt.wantPath {
				t.Errorf("MetadataURL(%q) = %s (path %s), want %s (path %s)", tt.resource, u, u.Path, tt.want, tt.wantPath)
			}
		})
	}
}

// RFC 9728 §5.1: with Config.ResourceMetadata, every challenge names the
// metadata; without it, none does.
func TestMiddlewareResourceMetadata(t *testing.T) {
	const md = "https://rs.example.com/.well-known/oauth-protected-resource/api"
	const rm = `, resource_metadata="` + md + `"`
	m, err := bearer.New(bearer.Config{Validator: fakeValidator(t0), Realm: realm, ResourceMetadata: md, Now: newClock().Now, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		auth string
		req  bearer.Requirements
		want outcome
	}{
		{name: "no token", want: outcome{Status: 401, Challenge: noTokenChallenge + rm}},
		{name: "invalid token", auth: "Bearer bad", want: outcome{Status: 401, Challenge: invalidToken + rm}},
		{name: "malformed", auth: "Bearer a b", want: outcome{Status: 400, Challenge: malformedAuth + rm}},
		{name: "scope missing", auth: "Bearer good", req: bearer.Requirements{Scopes: []string{"admin"}},
			want: outcome{Status: 403, Challenge: `Bearer realm="api", error="insufficient_scope", error_description="the access token lacks a required scope", scope="admin"` + rm}},
		{name: "step-up", auth: "Bearer good", req: bearer.Requirements{ACRValues: []string{"mfa"}},
			want: outcome{Status: 401, Challenge: `Bearer realm="api", error="insufficient_user_authentication", error_description="a different user authentication level is required", acr_values="mfa"` + rm}},
		{name: "fault: no challenge", auth: "Bearer fault", want: outcome{Status: 500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request("GET", "/", "")
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			got := serveWith(m, req, tt.req)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewResourceMetadata(t *testing.T) {
	v := fakeValidator(t0)
	tests := []struct {
		name, url string
		wantErr   bool
	}{
		{name: "off", url: ""},
		{name: "https", url: "https://rs.example.com/.well-known/oauth-protected-resource"},
		{name: "loopback http", url: "http://localhost:8080/.well-known/oauth-protected-resource"},
		{name: "http", url: "http://rs.example.com/.well-known/oauth-protected-resource", wantErr: true},
		{name: "relative", url: "/.well-known/oauth-protected-resource", wantErr: true},
		{name: "fragment", url: "https://rs.example.com/m#x", wantErr: true},
		{name: "quote", url: `https://rs.example.com/m"x`, wantErr: true},
		{name: "space", url: "https://rs.example.com/m x", wantErr: true},
		{name: "newline", url: "https://rs.example.com/m\r\nSet-Cookie: x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bearer.New(bearer.Config{Validator: v, ResourceMetadata: tt.url})
			if (err != nil) != tt.wantErr {
				t.Errorf("New: error %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}
