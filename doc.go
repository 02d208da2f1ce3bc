// Package oauthkit is an embeddable OAuth 2.0 authorization server: the
// protocol of RFC 6749 and its security extensions as http.Handlers that a
// Go program mounts on its own mux, with its own stores and its own login.
//
// # Wiring
//
// A host builds a [Server] from a [Config] and mounts its handlers wherever
// it likes:
//
//	srv, err := oauthkit.New(oauthkit.Config{
//		Issuer:     "https://auth.example.com",
//		Clients:    clients,            // a ClientStore
//		Codes:      memory.NewCodes(),  // a CodeStore
//		Tokens:     memory.NewTokens(), // a TokenStore
//		Authorizer: login,              // the host's login and consent
//		Grants:     []oauthkit.GrantHandler{grants.ClientCredentials{}},
//	})
//	mux.Handle("/authorize", srv.AuthorizeHandler())
//	mux.Handle("POST /token", srv.TokenHandler())
//	mux.Handle("GET /.well-known/oauth-authorization-server", srv.MetadataHandler())
//
// The authorization_code and refresh_token grants are built in; every other
// grant type is opted into through Config.Grants (see package grants), and a
// client uses only the grant types it is registered for.
//
// # The host's part
//
// The library never renders pages and never stores users. At the
// authorization endpoint it validates the request and then calls the
// [Authorizer], which authenticates the resource owner with the host's own
// sessions and returns their [Consent], or writes a login or consent page
// and returns [ErrResponseWritten]. The password grant calls a
// [UserAuthenticator]; OpenID Connect userinfo calls a [ClaimsSource].
//
// With Config.PAR set, clients may push their authorization requests first
// ([Server.PushedAuthorizationHandler], RFC 9126) and send the browser with
// a request_uri alone; one validation serves both endpoints, and the
// request_uri is used up when the authorization endpoint answers the
// client, so that pages posting AuthorizeRequest.Form back keep working.
//
// The device authorization grant (RFC 8628, Config.Device) is the same
// split the other way round: the library serves the device authorization
// endpoint and the device's polls, and the host's verification page, behind
// its own login, calls [Server.DeviceRequest] with the code the user typed,
// then [Server.ApproveDevice] or [Server.DenyDevice].
//
// # The token pipeline
//
// The token, introspection, revocation and device authorization endpoints
// share one back-channel path, and each concern of it has one home that a
// host extends without library code: client authentication methods
// ([ClientAuthMethod] in Config.ClientAuthMethods, such as [PrivateKeyJWT]),
// request and response formats ([Codec] in Config.Codecs, such as
// [JSONCodec]), what each request issues ([IssuanceHook] in
// Config.Issuance), throttling ([RateLimiter], such as [TokenBucket]) and
// grants ([GrantHandler] in Config.Grants). The
// metadata is generated from the same values.
//
// # Stores
//
// Three small interfaces hold the state: [ClientStore], [CodeStore] and
// [TokenStore]; optional ones add one-transaction code redemption
// ([CodeRedeemer]), single-use identifiers ([ReplayCache]), pushed
// authorization requests ([PushedRequestStore]) and device authorizations
// ([DeviceStore]). Their contracts follow the protocol's invariants rather than
// CRUD: a code is consumed in one atomic call, a refresh token is rotated in
// one atomic call that also detects reuse, and every token carries the ID of
// the grant it was issued under, so that a replayed code or a reused refresh
// token revokes everything issued from it. Stores see only hashes of codes,
// tokens and secrets. Package storage/memory has reference implementations,
// storage/postgres (a module of its own) a shared one, and storage/storetest
// checks any implementation against the contracts.
//
// # Tokens
//
// Access tokens are opaque by default ([OpaqueTokens]); package jwt issues
// RFC 9068 JWT access tokens and signs OpenID Connect ID tokens. Every
// format is stored the same way, so revocation ([Server.RevocationHandler])
// and introspection ([Server.IntrospectionHandler]) treat them alike.
// Resource servers validate tokens with package bearer.
//
// With Config.DPoP ([DPoPConfig], RFC 9449), a token request carrying a
// DPoP proof gets tokens bound to the proof's key (Token.JKT, cnf.jkt) and
// token_type DPoP; a public client's refresh token is bound too. The proof
// checks are package dpop's.
//
// # Client registration
//
// Config.Registration turns on dynamic client registration (RFC 7591) and
// its management (RFC 7592) at [Server.RegistrationHandler]: clients
// register their metadata, checked by the rules a host's own clients
// follow, into a [ClientRegistry]. [ClientIDMetadataDocuments] wraps
// Config.Clients so that a client may instead name itself by the https URL
// of its metadata document, which the server fetches safely. Together with
// resource indicators (Config.Resources) and package bearer's RFC 9728
// metadata, they are what an MCP server's authorization server needs; see
// examples/mcp.
//
// # Multi-tenant
//
// [Tenants] serves many issuers from one process: a host function maps
// each request to a tenant ID (r.PathValue("tenant")), and another builds
// that tenant's immutable Server, with its own issuer, keys, lifetimes,
// policy and stores (a storage/tenant view of one shared store), once, on
// first use; [Tenants.Remove] and [Tenants.Set] change tenants at run time.
// [Tenants.Handler] serves any endpoint of the tenant's Server, an unknown
// tenant getting 404; [Tenants.HandleMetadata] and [Server.HandleMetadata]
// mount the metadata at RFC 8414 §3.1's and OpenID Connect Discovery's paths
// of an issuer with a path; [Server.JWKSHandler] publishes each issuer's
// keys. Token issuers take the issuer from the Server
// ([TokenIssuer.IssueAccessToken]), never from a second setting. At each
// refresh, Config.RefreshPolicy ([RefreshPolicy]) may refuse a user no
// longer active or narrow the scope.
//
// # Errors
//
// Every protocol error is an [*Error] carrying the RFC error code, matched
// with errors.Is against [ErrInvalidRequest] and its siblings. Internal
// causes are wrapped, logged with log/slog, and never sent to a client.
//
// # Security defaults
//
// Redirect URIs match exactly (with the RFC 8252 loopback port exception,
// for public clients only); PKCE with S256 is required; codes are
// single-use and live one minute; refresh tokens rotate with reuse
// detection; client secrets, codes and tokens are stored as hashes and
// compared in constant time; the implicit
// and password grants are off until the host turns them on. Every setting
// that weakens a default says so in its name.
package oauthkit
