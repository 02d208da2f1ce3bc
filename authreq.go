package oauthkit

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/oauthkit/oauthkit/pkce"
)

// The one validation of authorization-request parameters (RFC 6749 §4.1.1,
// §4.2.1 and their extensions), shared by the authorization endpoint, for
// the parameters it receives, and by the pushed authorization request
// endpoint (RFC 9126 §2.1), for those it is pushed; the authorization
// endpoint validates a pushed request again when it is used (RFC 9126 §4).

// authorizeParams are the parameters of an authorization request that may
// appear only once (RFC 6749 §3.1). The authorization endpoint ignores
// parameters it does not know, even repeated, so that a host's login and
// consent forms may post fields of their own; resource may repeat
// (RFC 8707 §2).
var authorizeParams = []string{
	"response_type", "client_id", "redirect_uri", "scope", "state", "response_mode",
	"code_challenge", "code_challenge_method", "nonce", "prompt", "max_age", "request", "request_uri",
	"dpop_jkt",
}

// authorizeClient returns the client an authorization request names in
// client_id. Its errors must not be redirected: the client is unknown.
func (s *Server) authorizeClient(ctx context.Context, form url.Values) (*Client, *Error) {
	if len(form["client_id"]) != 1 || form.Get("client_id") == "" {
		return nil, ErrInvalidRequest.WithDescription("missing or repeated client_id")
	}
	client, err := s.cfg.Clients.Client(ctx, form.Get("client_id"))
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrInvalidRequest.WithDescription("unknown client_id")
	case err != nil:
		return nil, ErrServerError.Wrap(err)
	}
	return client, nil
}

// validateAuthorizeRequest validates the parameters of an authorization
// request of client, whose client_id form names. On error, a nil request
// means the error must not be redirected (RFC 6749 §4.1.2.1: the redirect
// URI is not known good); otherwise the error goes to req.RedirectURI in
// req.ResponseMode.
func (s *Server) validateAuthorizeRequest(ctx context.Context, client *Client, form url.Values) (*AuthorizeRequest, *Error) {
	// Until the redirect URI is known good, nothing is redirected.
	if len(form["redirect_uri"]) > 1 {
		return nil, ErrInvalidRequest.WithDescription("repeated redirect_uri")
	}
	redirectURI, ok := resolveRedirectURI(client, form.Get("redirect_uri"))
	if !ok {
		return nil, ErrInvalidRequest.WithDescription("redirect_uri is missing or not registered for this client")
	}
	req := &AuthorizeRequest{
		Client:              client,
		ResponseType:        form.Get("response_type"),
		RedirectURI:         redirectURI,
		State:               form.Get("state"),
		CodeChallenge:       form.Get("code_challenge"),
		CodeChallengeMethod: form.Get("code_challenge_method"),
		Nonce:               form.Get("nonce"),
		Params:              form,
		Form:                form,
		redirectURIParam:    form.Get("redirect_uri") != "",
	}
	// From here on errors are redirected, in the requested response mode if
	// it is valid and in the response type's default mode otherwise.
	rt, rtOK := parseResponseType(req.ResponseType)
	req.rt = rt
	req.ResponseMode = ResponseModeQuery
	if rt.frontChannel() {
		req.ResponseMode = ResponseModeFragment
	}
	for _, name := range authorizeParams {
		if len(form[name]) > 1 {
			return req, ErrInvalidRequest.WithDescription("parameter %s repeated", name)
		}
	}
	// Request objects are not supported; acting on the outer parameters
	// instead would ignore what the client signed (OIDC Core §6.1, §6.2).
	if form.Has("request") {
		return req, ErrRequestNotSupported.WithDescription("request objects are not supported")
	}
	if form.Has("request_uri") {
		return req, ErrRequestURINotSupported.WithDescription("request_uri is not supported")
	}
	switch mode := form.Get("response_mode"); mode {
	case "":
	case ResponseModeQuery, ResponseModeFragment, ResponseModeFormPost:
		if mode == ResponseModeQuery && rt.frontChannel() {
			// Tokens must never appear in a query string.
			return req, ErrInvalidRequest.WithDescription("response_mode query is not allowed with this response_type")
		}
		if mode == ResponseModeFormPost && !strings.HasPrefix(redirectURI, "https://") && !strings.HasPrefix(redirectURI, "http://") {
			// A page can post only to http(s); the form_post page's CSP
			// would block anything else, leaving the user on a blank page.
			return req, ErrInvalidRequest.WithDescription("response_mode form_post needs an http or https redirect_uri")
		}
		req.ResponseMode = mode
	default:
		return req, ErrInvalidRequest.WithDescription("unsupported response_mode")
	}
	switch {
	case req.ResponseType == "":
		return req, ErrInvalidRequest.WithDescription("missing response_type")
	case !rtOK, rt.frontChannel() && !s.cfg.AllowImplicitGrant, rt.idToken && s.cfg.IDTokens == nil:
		return req, ErrUnsupportedResponseType
	case rt.code && !client.AllowsGrant(GrantTypeAuthorizationCode):
		return req, ErrUnauthorizedClient.WithDescription("client is not allowed the authorization_code grant")
	case rt.frontChannel() && !client.AllowsGrant(GrantTypeImplicit):
		return req, ErrUnauthorizedClient.WithDescription("client is not allowed the implicit grant")
	}
	scope, oerr := resolveScope(client, form.Get("scope"))
	if oerr != nil {
		return req, oerr
	}
	if s.cfg.IDTokens == nil && slices.Contains(scope, ScopeOpenID) {
		// Granting openid as a plain scope would leave the client waiting
		// for an ID token that never comes: refuse, and tell the operator.
		s.warnOpenIDOff(ctx, client.ID)
		return req, ErrInvalidScope.WithDescription("scope openid is not supported by this server")
	}
	req.Scope = scope
	req.openID = s.cfg.IDTokens != nil && slices.Contains(scope, ScopeOpenID)
	switch {
	case rt.idToken && !req.openID:
		return req, ErrInvalidRequest.WithDescription("response_type id_token requires the openid scope")
	case rt.idToken && req.Nonce == "":
		return req, ErrInvalidRequest.WithDescription("nonce is required when an ID token is returned from the authorization endpoint")
	}
	if req.Resources, oerr = s.resolveResources(client, form["resource"]); oerr != nil {
		return req, oerr
	}
	// A server without DPoP does not know dpop_jkt and ignores it
	// (RFC 6749 §3.1): bound to a key, the code could never be redeemed,
	// since the token endpoint then ignores proofs.
	if jkt, ok := form["dpop_jkt"]; ok && s.dpop != nil {
		if !validThumbprint(jkt[0]) {
			return req, ErrInvalidRequest.WithDescription("dpop_jkt is not a base64url SHA-256 JWK thumbprint")
		}
		req.DPoPJKT = jkt[0]
	}
	if req.openID {
		if oerr := parseOpenIDParams(req); oerr != nil {
			return req, oerr
		}
	}
	if rt.code {
		if oerr := s.checkPKCE(req); oerr != nil {
			return req, oerr
		}
	}
	return req, nil
}

// validThumbprint reports whether v is the form of an RFC 7638 JWK
// SHA-256 thumbprint, as dpop_jkt carries it (RFC 9449 §10): 32 bytes in
// unpadded base64url, 43 characters, in the one spelling that decodes to
// them (the last character's unused bits zero).
func validThumbprint(v string) bool {
	if len(v) != 43 {
		return false
	}
	var b [32]byte
	n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(v))
	return err == nil && n == len(b)
}

// warnOpenIDOff logs, once per client, that the client is allowed the
// openid scope while OpenID Connect is off.
func (s *Server) warnOpenIDOff(ctx context.Context, clientID string) {
	if _, warned := s.openIDWarned.LoadOrStore(clientID, true); !warned {
		s.log.WarnContext(ctx, "oauthkit: a client is allowed scope openid but OpenID Connect is off (Config.IDTokens is nil): its requests for openid are refused", "client_id", clientID)
	}
}

// checkPKCE validates the PKCE parameters of a code request (RFC 7636 §4.3).
func (s *Server) checkPKCE(req *AuthorizeRequest) *Error {
	if req.CodeChallenge == "" {
		if req.CodeChallengeMethod != "" {
			return ErrInvalidRequest.WithDescription("code_challenge_method without code_challenge")
		}
		if req.Client.Public() || !s.cfg.PKCEOptionalForConfidentialClients {
			return ErrInvalidRequest.WithDescription("code_challenge required (PKCE)")
		}
		return nil
	}
	if req.CodeChallengeMethod == "" {
		req.CodeChallengeMethod = pkce.Plain // RFC 7636 §4.3 default
	}
	switch {
	case req.CodeChallengeMethod == pkce.Plain && !s.cfg.AllowPlainPKCE:
		return ErrInvalidRequest.WithDescription("code_challenge_method must be S256")
	case req.CodeChallengeMethod != pkce.S256 && req.CodeChallengeMethod != pkce.Plain:
		return ErrInvalidRequest.WithDescription("unsupported code_challenge_method")
	case !pkce.ValidChallenge(req.CodeChallengeMethod, req.CodeChallenge):
		return ErrInvalidRequest.WithDescription("malformed code_challenge")
	}
	return nil
}
