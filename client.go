package oauthkit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Grant types of RFC 6749 and its extensions.
const (
	GrantTypeAuthorizationCode = "authorization_code"
	GrantTypeRefreshToken      = "refresh_token"
	GrantTypeClientCredentials = "client_credentials"
	GrantTypePassword          = "password"
	// GrantTypeImplicit is not sent as a grant_type; a client registered
	// with it may use response_type=token when Config.AllowImplicitGrant is set.
	GrantTypeImplicit = "implicit"
)

// Client is a registered OAuth client. Clients are read from a [ClientStore]
// and must not be modified by the library or the store's callers.
type Client struct {
	// ID is the client_id.
	ID string
	// Name is the client's name for people, as on a consent page
	// (RFC 7591 §2 client_name), or empty. The library never shows it.
	Name string
	// SecretHash is the hash of the client secret made by [HashSecret] or
	// [HashLowEntropySecret]. It is empty for public clients.
	SecretHash string
	// AuthMethod is how the client authenticates at the token endpoint:
	// AuthMethodSecretBasic, AuthMethodSecretPost, AuthMethodNone (a public
	// client), or the name of a method in Config.ClientAuthMethods, such as
	// AuthMethodPrivateKeyJWT (with JWKS or JWKSURI) or
	// AuthMethodClientSecretJWT (with SealedSecret). A client whose
	// AuthMethod is set may only use that method.
	// Empty means: with a SecretHash, either client_secret_basic or
	// client_secret_post (RFC 6749 §2.3.1 lets the client choose, and most
	// client libraries try one, then the other); without one, none.
	AuthMethod string
	// RedirectURIs are the registered redirection URIs, matched exactly;
	// for a public client, a loopback IP literal URI matches any port (see
	// [MatchRedirectURI]).
	RedirectURIs []string
	// GrantTypes the client may use, such as GrantTypeAuthorizationCode.
	// A client with no grant types can do nothing.
	GrantTypes []string
	// Scopes the client may request. A request for any other scope is
	// refused with invalid_scope.
	Scopes []string
	// DefaultScopes are granted when a request has no scope parameter
	// (RFC 6749 §3.3). Empty means such a request gets no scope.
	DefaultScopes []string
	// Audience lists the resource servers tokens are meant for; it becomes
	// the tokens' aud. Empty means no audience restriction.
	Audience []string
	// Resources are resource indicators (RFC 8707) this client may ask
	// for, besides the server's Config.Resources: absolute URIs without a
	// fragment. A request naming any other is refused with invalid_target.
	Resources []string
	// DPoPBoundAccessTokens requires every token request of this client
	// to carry a DPoP proof, so that all its tokens are sender-constrained
	// (RFC 9449 §5.2, dpop_bound_access_tokens).
	DPoPBoundAccessTokens bool
	// RequirePushedAuthorizationRequests requires this client's
	// authorization requests to come through the pushed authorization
	// request endpoint (RFC 9126 §6).
	RequirePushedAuthorizationRequests bool
	// AccessTokenFormat selects the access token format for this client:
	// empty for the server default, or a key of Config.AccessTokenFormats.
	AccessTokenFormat string
	// JWKS is the client's public keys, a JWK Set (RFC 7517 §5) in JSON,
	// for methods that verify what the client signs, such as
	// private_key_jwt (RFC 7523 §2.2). JWKSURI is where the server fetches
	// them instead (RFC 7591 §2); a client has one or the other.
	JWKS    []byte
	JWKSURI string
	// SealedSecret is the client secret itself, sealed by
	// [SealClientSecret], for client_secret_jwt ([ClientSecretJWT]), which
	// verifies an HMAC keyed with it: only for a client with that
	// AuthMethod, and nil for every other.
	SealedSecret []byte
	// Registration is what dynamic client registration (RFC 7591, RFC 7592)
	// records of a client that registered itself, or that a client ID
	// metadata document describes: nil for a client the host registered.
	Registration *ClientRegistration
}

// ClientRegistration is what a dynamically registered client has beside
// the fields of Client: the hash of its registration access token, the
// times of RFC 7591 §3.2.1, and the metadata of RFC 7591 §2 that the server
// only keeps and echoes back (a consent page may show ClientURI, LogoURI,
// TOSURI and PolicyURI; the library never does).
type ClientRegistration struct {
	// AccessTokenHash is [HashToken] of the registration access token that
	// authorizes reading, updating and deleting the registration
	// (RFC 7592 §3), or empty if there is none.
	AccessTokenHash string
	// IssuedAt is when the client ID was issued (client_id_issued_at), in
	// whole seconds, or zero.
	IssuedAt time.Time
	// SecretExpiresAt is when the client secret stops being accepted
	// (client_secret_expires_at), in whole seconds; zero means never.
	SecretExpiresAt time.Time
	// ResponseTypes are the registered response_types.
	ResponseTypes []string
	// ClientURI, LogoURI, TOSURI and PolicyURI are the client's client_uri,
	// logo_uri, tos_uri and policy_uri; Contacts its contacts; SoftwareID
	// and SoftwareVersion its software_id and software_version.
	ClientURI       string
	LogoURI         string
	TOSURI          string
	PolicyURI       string
	Contacts        []string
	SoftwareID      string
	SoftwareVersion string
}

// secretExpired reports whether the client's secret has expired at now
// (RFC 7591 §3.2.1, client_secret_expires_at).
func (c *Client) secretExpired(now time.Time) bool {
	return c.Registration != nil && !c.Registration.SecretExpiresAt.IsZero() && !now.Before(c.Registration.SecretExpiresAt)
}

// Public reports whether the client has no credentials (AuthMethodNone).
func (c *Client) Public() bool { return c.authMethod() == AuthMethodNone }

func (c *Client) authMethod() string {
	switch {
	case c.AuthMethod != "":
		return c.AuthMethod
	case c.SecretHash != "":
		return AuthMethodSecretBasic
	default:
		return AuthMethodNone
	}
}

// allowsAuthMethod reports whether the client may authenticate with method.
func (c *Client) allowsAuthMethod(method string) bool {
	if c.AuthMethod == "" && c.SecretHash != "" {
		return method == AuthMethodSecretBasic || method == AuthMethodSecretPost
	}
	return c.authMethod() == method
}

// AllowsGrant reports whether the client is registered for grantType.
func (c *Client) AllowsGrant(grantType string) bool {
	return slices.Contains(c.GrantTypes, grantType)
}

// ClientStore finds registered clients.
//
// Implementations must be safe for concurrent use.
type ClientStore interface {
	// Client returns the client with the given ID, or an error wrapping
	// ErrNotFound if there is none. Any other error is an internal fault.
	// The caller does not modify the returned client.
	Client(ctx context.Context, id string) (*Client, error)
}

// splitScope splits a space-delimited scope parameter. It reports false if a
// scope token has characters RFC 6749 §3.3 forbids.
func splitScope(s string) ([]string, bool) {
	if s == "" {
		return nil, true
	}
	fields := strings.Split(s, " ")
	out := fields[:0]
	for _, f := range fields {
		if f == "" {
			continue // tolerate repeated spaces
		}
		for i := 0; i < len(f); i++ {
			c := f[i]
			if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
				return nil, false
			}
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, true
}

// resolveScope validates a requested scope parameter against what the client
// may have, returning the scope to grant.
func resolveScope(client *Client, param string) ([]string, *Error) {
	scope, ok := splitScope(param)
	if !ok {
		return nil, ErrInvalidScope.WithDescription("malformed scope")
	}
	if scope == nil {
		return slices.Clone(client.DefaultScopes), nil
	}
	for _, sc := range scope {
		if !slices.Contains(client.Scopes, sc) {
			return nil, ErrInvalidScope.WithDescription("scope %s is not allowed for this client", sc)
		}
	}
	return scope, nil
}

// Validate checks a client registration against the rules of RFC 6749 and
// RFC 9700: a known AuthMethod that fits SecretHash, absolute redirect URIs
// without fragments (https, http on a loopback IP literal, or a private-use
// scheme for native apps, RFC 8252 §7.1; never http://localhost, which
// RFC 8252 §8.3 advises against, since the name may not resolve to the
// loopback interface), redirect URIs for every redirect-based grant,
// and no client_credentials for public clients. Stores may call it before
// saving a client; the library does not, so that hosts stay free to load
// legacy registrations.
func (c *Client) Validate() error {
	method := c.authMethod()
	switch {
	case c.ID == "":
		return errors.New("oauthkit: client has no ID")
	case method != AuthMethodSecretBasic && method != AuthMethodSecretPost && method != AuthMethodNone &&
		method != AuthMethodPrivateKeyJWT && method != AuthMethodClientSecretJWT:
		return fmt.Errorf("oauthkit: client %s: unknown auth method %q", c.ID, c.AuthMethod)
	case method == AuthMethodNone && c.SecretHash != "":
		return fmt.Errorf("oauthkit: client %s: a public client has no secret", c.ID)
	case (method == AuthMethodSecretBasic || method == AuthMethodSecretPost) && c.SecretHash == "":
		return fmt.Errorf("oauthkit: client %s: auth method %s needs a secret hash", c.ID, method)
	case method == AuthMethodPrivateKeyJWT && len(c.JWKS) == 0 && c.JWKSURI == "":
		return fmt.Errorf("oauthkit: client %s: auth method %s needs jwks or jwks_uri", c.ID, method)
	case (method == AuthMethodClientSecretJWT) != (len(c.SealedSecret) > 0):
		return fmt.Errorf("oauthkit: client %s: a sealed secret is for auth method %s, and only it", c.ID, AuthMethodClientSecretJWT)
	case method == AuthMethodNone && c.AllowsGrant(GrantTypeClientCredentials):
		return fmt.Errorf("oauthkit: client %s: a public client cannot use client_credentials", c.ID)
	case len(c.JWKS) > 0 && c.JWKSURI != "":
		return fmt.Errorf("oauthkit: client %s: jwks and jwks_uri are exclusive (RFC 7591 §2)", c.ID)
	case c.JWKSURI != "" && !strings.HasPrefix(c.JWKSURI, "https://"):
		return fmt.Errorf("oauthkit: client %s: jwks_uri must be an https URL", c.ID)
	case (c.AllowsGrant(GrantTypeAuthorizationCode) || c.AllowsGrant(GrantTypeImplicit)) && len(c.RedirectURIs) == 0:
		return fmt.Errorf("oauthkit: client %s: redirect-based grants need a redirect URI", c.ID)
	}
	for _, s := range c.DefaultScopes {
		if !slices.Contains(c.Scopes, s) {
			return fmt.Errorf("oauthkit: client %s: default scope %s is not among its scopes", c.ID, s)
		}
	}
	for _, r := range c.Resources {
		if !validResource(r) {
			return fmt.Errorf("oauthkit: client %s: resource %q is not an absolute URI without a fragment (RFC 8707 §2)", c.ID, r)
		}
	}
	for _, raw := range c.RedirectURIs {
		if err := validateRedirectURI(raw); err != nil {
			return fmt.Errorf("oauthkit: client %s: redirect URI %q: %w", c.ID, raw, err)
		}
	}
	return nil
}

func validateRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("not a URI")
	case !u.IsAbs():
		return errors.New("not an absolute URI (it needs a scheme, such as https://)")
	case (u.Scheme == "https" || u.Scheme == "http") && u.Host == "":
		return errors.New("has no host")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return errors.New("has a fragment (RFC 6749 §3.1.2)")
	case u.User != nil:
		return errors.New("has user information")
	case u.Scheme == "https" && u.Host != "":
		return nil
	case u.Scheme == "http" && isLoopbackIP(u.Hostname()):
		return nil
	case u.Scheme == "http" && u.Hostname() == "localhost":
		return errors.New("use http://127.0.0.1 or http://[::1], not localhost (RFC 8252 §8.3)")
	case u.Scheme == "http":
		return errors.New("http is allowed only for loopback IP literals (RFC 9700 §2.6, RFC 8252 §7.3)")
	case strings.Contains(u.Scheme, "."):
		return nil // a private-use scheme in reverse domain notation (RFC 8252 §7.1)
	default:
		return errors.New("scheme must be https, loopback http, or a reverse-domain private-use scheme")
	}
}
