package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/bearer"
)

// startApp runs the example on an httptest server whose URL is the issuer.
func startApp(t *testing.T) *httptest.Server { return startAppWith(t, nil) }

// startAppWith is startApp with md as the metadata documents' configuration.
func startAppWith(t *testing.T, md *oauthkit.ClientIDMetadataDocumentConfig) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	h, err := newApp(config{Issuer: "http://" + ts.Listener.Addr().String(), Logger: slog.New(slog.DiscardHandler), MetadataDocuments: md})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = h
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

// browser plays the user's browser: it opens the authorization URL and
// returns the parameters of the redirect back to the client.
func browser(ts *httptest.Server) auth.AuthorizationCodeFetcher {
	return func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, args.URL, nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || resp.StatusCode != http.StatusFound {
			return nil, errors.New("authorization: no redirect, status " + resp.Status)
		}
		q := loc.Query()
		if q.Get("error") != "" {
			return nil, errors.New("authorization: " + q.Get("error") + ": " + q.Get("error_description"))
		}
		return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
	}
}

// The official MCP Go SDK, knowing only the MCP server's URL, discovers the
// authorization server through the 401's resource_metadata (RFC 9728) and
// the server's metadata (RFC 8414), registers itself (RFC 7591), authorizes
// with PKCE and the resource indicator (RFC 8707), and calls the tool.
func TestMCPClientEndToEnd(t *testing.T) {
	ts := startApp(t)
	resource := ts.URL + pathMCP
	handler, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{
			Metadata: &oauthex.ClientRegistrationMetadata{
				ClientName:              "MCP SDK test client",
				RedirectURIs:            []string{"http://127.0.0.1:49152/callback"},
				TokenEndpointAuthMethod: "none",
				GrantTypes:              []string{"authorization_code", "refresh_token"},
			},
		},
		AuthorizationCodeFetcher: browser(ts),
		Client:                   ts.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1.0.0"}, nil)
	session, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: resource, OAuthHandler: handler, HTTPClient: ts.Client()}, nil)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer session.Close()
	tools, err := session.ListTools(t.Context(), nil)
	if err != nil || len(tools.Tools) != 1 || tools.Tools[0].Name != "whoami" {
		t.Fatalf("ListTools: %v, %v", tools, err)
	}
	res, err := session.CallTool(t.Context(), &mcp.CallToolParams{Name: "whoami"})
	if err != nil {
		t.Fatalf("CallTool: %v", err)
	}
	if text := res.Content[0].(*mcp.TextContent).Text; text != "you are "+demoUserSubject {
		t.Errorf("whoami = %q", text)
	}
}

// The same, with the client named by the https URL of its client ID
// metadata document instead of registering: the SDK uses it because the
// server's metadata says client_id_metadata_document_supported.
func TestMCPClientWithMetadataDocument(t *testing.T) {
	var clientID string
	docs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"client_id":                  clientID,
			"client_name":                "MCP SDK test client",
			"redirect_uris":              []string{"http://127.0.0.1:49152/callback"},
			"grant_types":                []string{"authorization_code", "refresh_token"},
			"token_endpoint_auth_method": "none",
		})
	}))
	t.Cleanup(docs.Close)
	clientID = docs.URL + "/client.json"
	roots := x509.NewCertPool()
	roots.AddCert(docs.Certificate())
	// The documents are on a loopback address here: only a test may allow it.
	ts := startAppWith(t, &oauthkit.ClientIDMetadataDocumentConfig{TLS: &tls.Config{RootCAs: roots}, InsecureAllowPrivateAddresses: true})
	handler, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		ClientIDMetadataDocumentConfig: &auth.ClientIDMetadataDocumentConfig{URL: clientID},
		RedirectURL:                    "http://127.0.0.1:49152/callback",
		AuthorizationCodeFetcher:       browser(ts),
		Client:                         ts.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1.0.0"}, nil)
	session, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: ts.URL + pathMCP, OAuthHandler: handler, HTTPClient: ts.Client()}, nil)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer session.Close()
	res, err := session.CallTool(t.Context(), &mcp.CallToolParams{Name: "whoami"})
	if err != nil {
		t.Fatalf("CallTool: %v", err)
	}
	if text := res.Content[0].(*mcp.TextContent).Text; text != "you are "+demoUserSubject {
		t.Errorf("whoami = %q", text)
	}
}

// The MCP server refuses requests without a token with a challenge naming
// its metadata, and tokens for other audiences.
func TestMCPServerRefuses(t *testing.T) {
	ts := startApp(t)
	resp, err := ts.Client().Post(ts.URL+pathMCP, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := `resource_metadata="` + ts.URL + `/.well-known/oauth-protected-resource/mcp"`
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), want) {
		t.Errorf("no token: %d %q, want 401 with %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), want)
	}
	req, _ := http.NewRequest(http.MethodPost, ts.URL+pathMCP, strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer not-a-token-of-this-server")
	resp, err = ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown token: %d, want 401", resp.StatusCode)
	}
}

// A token without the MCP server in its audience is refused, one without
// any audience too.
func TestForAudience(t *testing.T) {
	const resource = "https://mcp.example/mcp"
	for _, tc := range []struct {
		aud  []string
		want bool
	}{
		{[]string{resource}, true},
		{[]string{"https://other.example", resource}, true},
		{[]string{"https://other.example"}, false},
		{nil, false},
	} {
		v := forAudience(bearer.ValidatorFunc(func(context.Context, string) (*bearer.Claims, error) {
			return &bearer.Claims{Subject: "s", Audience: tc.aud}, nil
		}), resource)
		_, err := v.Validate(t.Context(), "t")
		if (err == nil) != tc.want || err != nil && !errors.Is(err, bearer.ErrInvalidToken) {
			t.Errorf("audience %v: %v, want ok %v", tc.aud, err, tc.want)
		}
	}
}
