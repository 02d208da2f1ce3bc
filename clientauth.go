package oauthkit

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Client authentication methods ([RFC 7591 §2] names) built into the
// server.
//
// [RFC 7591 §2]: https://www.rfc-editor.org/rfc/rfc7591#section-2
const (
	AuthMethodSecretBasic = "client_secret_basic"
	AuthMethodSecretPost  = "client_secret_post"
	AuthMethodNone        = "none"
)

// ClientAuthMethod is one way for a client to authenticate at the
// back-channel endpoints (token, introspection, revocation): the built-in
// client_secret_basic, client_secret_post and none (RFC 6749 §2.3), or one
// the host adds in Config.ClientAuthMethods, such as an assertion method of
// RFC 7523. The server asks every method whether a request carries its
// credentials; a request must carry exactly one method's (RFC 6749 §2.3).
// The metadata's token_endpoint_auth_methods_supported lists the methods'
// names.
//
// Implementations must be safe for concurrent use.
type ClientAuthMethod interface {
	// Name returns the method's name, as in Client.AuthMethod and the
	// metadata (RFC 7591 §2 token_endpoint_auth_method).
	Name() string
	// Presented reports whether the request carries credentials of this
	// method. It only looks; a malformed presentation is Authenticate's to
	// refuse.
	Presented(r *http.Request, form url.Values) bool
	// Authenticate reads the method's credentials from the request, finds
	// the client they name in clients, and verifies them. It returns the
	// client, or an *Error (invalid_client for missing, malformed or wrong
	// credentials), or clients' error as it is (an unknown client is
	// answered invalid_client), or any other error for an internal fault.
	// The server then checks that the client is registered for the method.
	Authenticate(ctx context.Context, r *http.Request, form url.Values, clients ClientStore) (*Client, error)
}

// ClientAuthMethodWithAlgorithms is a ClientAuthMethod that verifies what the
// client signs, such as [PrivateKeyJWT]. The metadata's
// token_endpoint_auth_signing_alg_values_supported (RFC 8414 §2) lists the
// algorithms of every such method; a method without this capability adds
// none.
type ClientAuthMethodWithAlgorithms interface {
	ClientAuthMethod
	// SigningAlgorithms returns the JWS algorithms the method accepts.
	SigningAlgorithms() []string
}

// builtinAuthMethods are the methods every server has, in the order the
// metadata lists them.
var builtinAuthMethods = []ClientAuthMethod{secretBasic{}, secretPost{}, authNone{}}

// errClientAuthFailed is the answer to wrong credentials, an unknown
// client and a client registered for another method alike.
func errClientAuthFailed() *Error {
	return ErrInvalidClient.WithDescription("client authentication failed")
}

// secretBasic is client_secret_basic: HTTP Basic authentication with the
// form-encoded client ID and secret (RFC 6749 §2.3.1).
type secretBasic struct{}

func (secretBasic) Name() string { return AuthMethodSecretBasic }

// Presented reports an Authorization header of any scheme: the token
// endpoint knows only Basic, so another scheme is malformed credentials.
func (secretBasic) Presented(r *http.Request, _ url.Values) bool {
	return r.Header.Get("Authorization") != ""
}

func (secretBasic) Authenticate(ctx context.Context, r *http.Request, _ url.Values, clients ClientStore) (*Client, error) {
	id, secret, ok := ParseBasicAuth(r.Header.Get("Authorization"))
	if !ok {
		return nil, ErrInvalidClient.WithDescription("malformed Basic credentials")
	}
	return verifyClientSecret(ctx, id, secret, clients)
}

// secretPost is client_secret_post: client_id and client_secret in the
// request body (RFC 6749 §2.3.1).
type secretPost struct{}

func (secretPost) Name() string { return AuthMethodSecretPost }

func (secretPost) Presented(_ *http.Request, form url.Values) bool {
	return form.Get("client_secret") != ""
}

func (secretPost) Authenticate(ctx context.Context, _ *http.Request, form url.Values, clients ClientStore) (*Client, error) {
	id := form.Get("client_id")
	if id == "" {
		return nil, ErrInvalidClient.WithDescription("client_secret without client_id")
	}
	return verifyClientSecret(ctx, id, form.Get("client_secret"), clients)
}

// verifyClientSecret finds the client id and checks its secret.
func verifyClientSecret(ctx context.Context, id, secret string, clients ClientStore) (*Client, error) {
	client, err := clients.Client(ctx, id)
	if err != nil {
		return nil, err
	}
	ok, err := VerifySecret(ctx, client.SecretHash, secret)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, errClientAuthFailed()
	}
	return client, nil
}

// authNone is a public client naming itself with client_id alone
// (RFC 6749 §2.1). A client_id accompanies other methods' credentials in
// the body too, so the server counts none as presented only when no other
// method is.
type authNone struct{}

func (authNone) Name() string { return AuthMethodNone }

func (authNone) Presented(_ *http.Request, form url.Values) bool { return form.Get("client_id") != "" }

func (authNone) Authenticate(ctx context.Context, _ *http.Request, form url.Values, clients ClientStore) (*Client, error) {
	return clients.Client(ctx, form.Get("client_id"))
}

// ParseBasicAuth parses an HTTP Basic Authorization header value carrying
// client credentials. Per RFC 6749 §2.3.1 the client ID and secret are each
// form-urlencoded before being joined with a colon and base64-encoded; they
// are decoded here. It reports false for anything malformed, and for
// credentials longer than 384 base64 characters (about 280 bytes of ID and
// secret), far beyond any generated ones.
func ParseBasicAuth(header string) (id, secret string, ok bool) {
	const prefix = "basic "
	if len(header) <= len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return "", "", false
	}
	encoded := header[len(prefix):]
	var in, out [384]byte // room for generous IDs and secrets, on the stack
	if len(encoded) > len(in) {
		return "", "", false
	}
	n, err := base64.StdEncoding.Decode(out[:], in[:copy(in[:], encoded)])
	if err != nil {
		return "", "", false
	}
	rawID, rawSecret, found := strings.Cut(string(out[:n]), ":")
	if !found {
		return "", "", false
	}
	id, err1 := url.QueryUnescape(rawID)
	secret, err2 := url.QueryUnescape(rawSecret)
	if err1 != nil || err2 != nil || id == "" {
		return "", "", false
	}
	return id, secret, true
}

// authMethodNames returns the names of methods, in order, leaving out those
// in skip.
func authMethodNames(methods []ClientAuthMethod, skip ...string) []string {
	var names []string
	for _, m := range methods {
		if name := m.Name(); !slices.Contains(skip, name) {
			names = append(names, name)
		}
	}
	return names
}

// authenticateClient finds and authenticates the client that sent r, by the
// one method whose credentials the request carries. The returned error is
// invalid_client (with Status 401 when the client used HTTP
// authentication), invalid_request, or server_error.
//
// With optional set (a grant with OptionalClientAuthentication), a request
// that names its client with client_id alone is accepted for any client.
func (s *Server) authenticateClient(ctx context.Context, r *http.Request, form url.Values, optional bool) (*Client, *Error) {
	var method ClientAuthMethod
	for _, m := range s.authMethods {
		switch {
		case !m.Presented(r, form):
		case method == nil || method.Name() == AuthMethodNone:
			method = m // none only when nothing else is presented
		case m.Name() != AuthMethodNone:
			return nil, ErrInvalidRequest.WithDescription("more than one client authentication method")
		}
	}
	if method == nil {
		return nil, ErrInvalidClient.WithDescription("client authentication required")
	}
	name := method.Name()
	client, err := method.Authenticate(ctx, r, form, s.cfg.Clients)
	switch {
	case errors.Is(err, ErrNotFound):
		// Client IDs are public (RFC 6749 §2.2), so unknown and wrong
		// credentials need not take the same time.
		err = errClientAuthFailed()
	case err == nil && !client.allowsAuthMethod(name) && !(optional && name == AuthMethodNone):
		err = errClientAuthFailed()
	case err == nil && (name == AuthMethodSecretBasic || name == AuthMethodSecretPost || name == AuthMethodClientSecretJWT) && client.secretExpired(s.now()):
		err = errClientAuthFailed() // its client_secret_expires_at has passed (RFC 7591 §3.2.1)
	}
	if err != nil {
		oerr := asError(err)
		if oerr.Code == ErrInvalidClient.Code && name == AuthMethodSecretBasic {
			// RFC 6749 §5.2: 401 for a client that attempted HTTP
			// authentication; WWW-Authenticate is added when written.
			c := *oerr
			c.Status = http.StatusUnauthorized
			oerr = &c
		}
		return nil, oerr
	}
	if id := form.Get("client_id"); id != "" && id != client.ID {
		return nil, ErrInvalidRequest.WithDescription("client_id does not match the authenticated client")
	}
	return client, nil
}
