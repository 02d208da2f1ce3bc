package oauthkit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Lifetimes of pushed authorization requests (RFC 9126 §2.2).
const (
	DefaultPARLifetime = time.Minute
	MaxPARLifetime     = 10 * time.Minute
)

// RequestURIPrefix begins every request_uri of a pushed authorization
// request (RFC 9126 §2.2); a 256-bit random value follows it.
const RequestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// PARConfig turns on pushed authorization requests (RFC 9126): clients post
// an authorization request to PushedAuthorizationHandler, authenticated as
// at the token endpoint, and send the browser to the authorization endpoint
// with only client_id and the request_uri they got back.
type PARConfig struct {
	// Store keeps pushed requests until they are used or expire. Required.
	Store PushedRequestStore
	// Lifetime is how long a request_uri stays usable. Zero means
	// DefaultPARLifetime; at most MaxPARLifetime. The request_uri is used
	// up only when the authorization endpoint answers the client, so the
	// lifetime must also cover the user's time on the login and consent
	// pages: a user slower than it gets invalid_request_uri, and the
	// client must push again.
	Lifetime time.Duration
	// RequireForAllClients refuses, with invalid_request, every
	// authorization request that was not pushed (RFC 9126 §5,
	// require_pushed_authorization_requests). Without it, only clients
	// with Client.RequirePushedAuthorizationRequests must push theirs.
	RequireForAllClients bool
}

func (c *PARConfig) validate() error {
	switch {
	case c.Store == nil:
		return errors.New("oauthkit: Config.PAR.Store is required")
	case c.Lifetime < 0 || c.Lifetime > MaxPARLifetime:
		return fmt.Errorf("oauthkit: Config.PAR.Lifetime must be between 0 and %v", MaxPARLifetime)
	}
	if c.Lifetime == 0 {
		c.Lifetime = DefaultPARLifetime
	}
	return nil
}

// requiresPAR reports whether client's authorization requests must be
// pushed: by the server's policy or its own (RFC 9126 §4). A client that
// requires it on a server without Config.PAR can start no authorization:
// its requirement is kept, never silently dropped.
func (s *Server) requiresPAR(client *Client) bool {
	return client.RequirePushedAuthorizationRequests || s.cfg.PAR != nil && s.cfg.PAR.RequireForAllClients
}

// clientAuthParams are the parameters of client authentication (RFC 6749
// §2.3.1, RFC 7521 §4.2): a pushed request relies on them for client
// authentication only (RFC 9126 §2.1), and never stores them.
var clientAuthParams = []string{"client_secret", "client_assertion", "client_assertion_type"}

// PushedAuthorizationHandler returns the pushed authorization request
// endpoint (RFC 9126 §2). It authenticates the client as the token
// endpoint does (public clients by client_id), validates the request as
// the authorization endpoint would, stores it and answers 201 with a
// request_uri, single-use, bound to the client and valid for
// Config.PAR.Lifetime. With Config.DPoP, a request with a DPoP proof (htu
// Endpoints.PushedAuthorization) is bound to the proof's key as if it had
// carried that key's dpop_jkt (RFC 9449 §10.1), and responses carry a
// DPoP-Nonce if nonces are on. With Config.PAR nil it answers 404 Not
// Found.
func (s *Server) PushedAuthorizationHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.PAR == nil {
			http.NotFound(w, r)
			return
		}
		s.setDPoPNonce(w.Header())
		s.backChannel(w, r, "pushed_authorization", resourceRules, func(ctx context.Context, r *http.Request, form url.Values, client *Client, _ Codec) (encoded, *Error) {
			resp, oerr := s.pushAuthorizeRequest(ctx, client, form, r.Header)
			if oerr != nil {
				return encoded{}, oerr
			}
			return encoded{json: appendJSONBuffer(resp.appendJSON), status: http.StatusCreated}, nil
		})
	})
}

// resourceRules lets resource repeat (RFC 8707 §2); any other parameter of
// a pushed or device authorization request appears once.
func resourceRules(url.Values) requestRules { return requestRules{repeatable: resourceRepeatable} }

var resourceRepeatable = map[string]bool{"resource": true}

// pushResponse is the answer of the pushed authorization request endpoint
// (RFC 9126 §2.2).
type pushResponse struct {
	requestURI string
	expiresIn  int64
}

func (p pushResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"request_uri":`...)
	b = appendJSONString(b, p.requestURI)
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, p.expiresIn, 10)
	return append(b, '}')
}

// pushAuthorizeRequest validates and stores the authorization request
// client pushed (RFC 9126 §2.1), with the request headers h, whose DPoP
// proof, if any, binds it to a key (RFC 9449 §10.1).
func (s *Server) pushAuthorizeRequest(ctx context.Context, client *Client, form url.Values, h http.Header) (pushResponse, *Error) {
	// client_id is required, as in any authorization request; the
	// back channel has checked that it names the authenticated client.
	switch {
	case form.Get("client_id") == "":
		return pushResponse{}, ErrInvalidRequest.WithDescription("a pushed authorization request needs client_id (RFC 9126 §2.1)")
	case form.Has("request_uri"):
		return pushResponse{}, ErrInvalidRequest.WithDescription("request_uri must not be pushed (RFC 9126 §2.1)")
	}
	params := make(url.Values, len(form))
	for name, values := range form {
		if !slices.Contains(clientAuthParams, name) {
			params[name] = values
		}
	}
	if _, oerr := s.validateAuthorizeRequest(ctx, client, params); oerr != nil {
		// RFC 9126 §2.3: the errors of RFC 6749 §4.1.2.1, and
		// invalid_request where it has none (a bad redirect URI): those
		// validateAuthorizeRequest returns.
		return pushResponse{}, oerr
	}
	// After the request's own checks, so that a request refused for them
	// does not use up its proof's jti.
	if oerr := s.pushedProof(ctx, h, params); oerr != nil {
		return pushResponse{}, oerr
	}
	raw, err := randomToken(s.cfg.Rand)
	if err != nil {
		return pushResponse{}, ErrServerError.Wrap(err)
	}
	uri := RequestURIPrefix + raw
	lifetime := s.cfg.PAR.Lifetime
	err = s.cfg.PAR.Store.CreatePushedRequest(ctx, &PushedRequest{
		ID:        HashToken(uri),
		ClientID:  client.ID,
		Form:      params,
		ExpiresAt: s.now().Add(lifetime),
	})
	if err != nil {
		return pushResponse{}, ErrServerError.Wrap(err)
	}
	return pushResponse{requestURI: uri, expiresIn: int64(lifetime / time.Second)}, nil
}

// pushedAuthorizeRequest is the authorization request that the
// request_uri in form names (RFC 9126 §4), pushed by client: its pushed
// parameters, validated again (the client's registration may have changed
// since, RFC 9126 §7.4), replace every other authorization parameter of
// form. A request_uri that is unknown, expired, used, or another client's
// is invalid_request_uri, never redirected: the redirect URI is in the
// pushed request.
//
// The request_uri is only looked up here, so that the host's login and
// consent pages can post it back (AuthorizeRequest.Form) and a user can
// reload them; it is used up when the endpoint answers the client
// (usePushedRequest), once.
func (s *Server) pushedAuthorizeRequest(ctx context.Context, client *Client, form url.Values) (*AuthorizeRequest, *Error) {
	raw := form.Get("request_uri")
	if len(form["request_uri"]) != 1 || !strings.HasPrefix(raw, RequestURIPrefix) {
		return nil, ErrInvalidRequestURI.WithDescription("request_uri is repeated or was not issued by this server")
	}
	pushed, err := s.cfg.PAR.Store.PushedRequest(ctx, HashToken(raw), client.ID, s.now())
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrInvalidRequestURI.WithDescription("request_uri is unknown, expired or used")
	case err != nil:
		return nil, ErrServerError.Wrap(err)
	}
	req, oerr := s.validateAuthorizeRequest(ctx, client, pushed.Form)
	if req == nil {
		return nil, oerr
	}
	req.pushedID = pushed.ID
	req.Form = make(url.Values, len(form))
	for name, values := range form {
		if name == "client_id" || name == "request_uri" || !isAuthorizeParam(name) {
			req.Form[name] = values
		}
	}
	return req, oerr
}

// isAuthorizeParam reports whether name is a parameter of the
// authorization request that the endpoint reads.
func isAuthorizeParam(name string) bool {
	return name == "resource" || slices.Contains(authorizeParams, name)
}

// usePushedRequest uses up the pushed request req came from, if any,
// before the endpoint answers the client, with a code, tokens or an error:
// of the requests with one request_uri, exactly one gets an answer to the
// client; the others get invalid_request_uri.
func (s *Server) usePushedRequest(ctx context.Context, req *AuthorizeRequest) *Error {
	if req.pushedID == "" {
		return nil
	}
	_, err := s.cfg.PAR.Store.ConsumePushedRequest(ctx, req.pushedID, req.Client.ID, s.now())
	switch {
	case errors.Is(err, ErrNotFound):
		return ErrInvalidRequestURI.WithDescription("request_uri is unknown, expired or used")
	case err != nil:
		return ErrServerError.Wrap(err)
	}
	req.pushedID = ""
	return nil
}
