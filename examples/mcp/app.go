package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// Paths of the authorization server and of the MCP server, both under the
// issuer.
const (
	pathAuthorize   = "/authorize"
	pathToken       = "/token"
	pathRegister    = "/register"
	pathASMetadata  = "/.well-known/oauth-authorization-server"
	pathMCP         = "/mcp"
	scopeTools      = "mcp:tools"
	demoUserSubject = "demo-user"
)

// config is what newApp needs.
type config struct {
	// Issuer is the authorization server's issuer identifier and the base
	// of the MCP server's URL, {Issuer}/mcp.
	Issuer string
	// Authorizer signs the user in and asks for consent. Nil approves every
	// request for demoUserSubject: a demo shortcut, never for a real
	// server (see examples/server for login and consent pages).
	Authorizer oauthkit.Authorizer
	// MetadataDocuments configures client ID metadata documents; nil means
	// the defaults (fetches reach only public addresses).
	MetadataDocuments *oauthkit.ClientIDMetadataDocumentConfig
	Logger            *slog.Logger
}

// newApp returns the authorization server and the MCP server it protects,
// on one mux:
//
//   - the authorization server: authorization code with PKCE, refresh,
//     RFC 8414 metadata, dynamic client registration (RFC 7591, open) and
//     client ID metadata documents, so that an MCP client that knows
//     nothing but the MCP server's URL can register itself;
//   - the MCP server at {issuer}/mcp (streamable HTTP) with one tool,
//     whoami, behind package bearer: RFC 9728 metadata at
//     /.well-known/oauth-protected-resource/mcp, named in every 401's
//     challenge, and only tokens whose audience is the MCP server's URL
//     (RFC 8707 resource indicators, as the MCP authorization
//     specification requires).
func newApp(cfg config) (http.Handler, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	resource := cfg.Issuer + pathMCP
	store := memory.NewStore()
	mdCfg := oauthkit.ClientIDMetadataDocumentConfig{}
	if cfg.MetadataDocuments != nil {
		mdCfg = *cfg.MetadataDocuments
	}
	mdCfg.Scopes = []string{scopeTools}
	clients, err := oauthkit.ClientIDMetadataDocuments(store, mdCfg)
	if err != nil {
		return nil, err
	}
	authorizer := cfg.Authorizer
	if authorizer == nil {
		authorizer = oauthkit.AuthorizerFunc(func(http.ResponseWriter, *http.Request, *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
			return &oauthkit.Consent{Subject: demoUserSubject, AuthTime: time.Now()}, nil
		})
	}
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:          cfg.Issuer,
		Clients:         clients,
		Codes:           store,
		Tokens:          store,
		Authorizer:      authorizer,
		ScopesSupported: []string{scopeTools},
		// The MCP server is the one resource; a token issued for it has it
		// as its audience.
		Resources: []string{resource},
		Registration: &oauthkit.RegistrationConfig{
			Store: store,
			// Registration is open: bounded per address.
		},
		RateLimiter: &oauthkit.TokenBucket{Rate: 1, Burst: 20},
		Logger:      cfg.Logger,
	})
	if err != nil {
		return nil, err
	}

	metadataURL, err := bearer.MetadataURL(resource)
	if err != nil {
		return nil, err
	}
	prm, err := bearer.MetadataHandler(bearer.ProtectedResourceMetadata{
		Resource:             resource,
		AuthorizationServers: []string{cfg.Issuer},
		ScopesSupported:      []string{scopeTools},
		ResourceName:         "oauthkit MCP example",
	})
	if err != nil {
		return nil, err
	}
	guard, err := bearer.New(bearer.Config{
		Validator:        forAudience(bearer.Local(srv, resource), resource),
		Realm:            "mcp",
		ResourceMetadata: metadataURL.String(),
		Logger:           cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	mcpServer := mcp.NewServer(&mcp.Implementation{Name: "oauthkit-example", Version: "0.1.0"}, nil)
	mcp.AddTool(mcpServer, &mcp.Tool{Name: "whoami", Description: "Says who the access token was issued for."}, whoami)
	mcpHandler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return mcpServer }, nil)

	mux := http.NewServeMux()
	mux.Handle(pathAuthorize, srv.AuthorizeHandler())
	mux.Handle(pathToken, srv.TokenHandler())
	mux.Handle(pathRegister, srv.RegistrationHandler())
	mux.Handle(pathRegister+"/", srv.RegistrationHandler())
	mux.Handle(pathASMetadata, srv.MetadataHandler())
	mux.Handle(metadataURL.Path, prm)
	mux.Handle(pathMCP, guard.Wrap(withTokenInfo(mcpHandler), scopeTools))
	return mux, nil
}

// forAudience refuses tokens that are not for resource: the MCP
// authorization specification has servers accept only tokens issued for
// them, so a token without an audience is refused too.
func forAudience(v bearer.Validator, resource string) bearer.Validator {
	return bearer.ValidatorFunc(func(ctx context.Context, token string) (*bearer.Claims, error) {
		c, err := v.Validate(ctx, token)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(c.Audience, resource) {
			return nil, fmt.Errorf("%w: not issued for %s", bearer.ErrInvalidToken, resource)
		}
		return c, nil
	})
}

// withTokenInfo hands the claims that package bearer checked to the MCP
// SDK, whose sessions are then bound to the token's subject and whose tool
// handlers see it in RequestExtra.TokenInfo. It checks nothing itself.
func withTokenInfo(next http.Handler) http.Handler {
	return auth.RequireBearerToken(func(ctx context.Context, _ string, r *http.Request) (*auth.TokenInfo, error) {
		c, ok := bearer.FromContext(r.Context())
		if !ok {
			return nil, errors.New("no claims: the handler is not behind bearer")
		}
		return &auth.TokenInfo{Scopes: c.Scope, Expiration: c.ExpiresAt, UserID: c.Subject}, nil
	}, nil)(next)
}

// whoami is the MCP server's one tool.
func whoami(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, struct{}, error) {
	who := "nobody"
	if req.Extra != nil && req.Extra.TokenInfo != nil {
		who = req.Extra.TokenInfo.UserID
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "you are " + who}}}, struct{}{}, nil
}
