package oauthkit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/oauthkit/oauthkit/dpop"
	"github.com/oauthkit/oauthkit/pkce"
)

// GrantHandler serves one grant type at the token endpoint (RFC 6749 §4).
// The token endpoint authenticates the client, checks that it is registered
// for the grant type, and then calls the handler; the handler validates the
// grant's own parameters and says what to issue tokens for. Issuing and
// storing the tokens is the token endpoint's work.
//
// Implementations must be safe for concurrent use.
type GrantHandler interface {
	// GrantType returns the grant_type value served, such as
	// "client_credentials" or an absolute URI for an extension grant.
	GrantType() string
	// HandleGrant validates req and returns the grant to issue tokens for.
	// To refuse, it returns an *Error (such as ErrInvalidGrant with a
	// description); any other error is an internal fault, answered with
	// server_error and logged.
	HandleGrant(ctx context.Context, req *TokenRequest) (*Grant, error)
}

// RepeatableParameters is implemented by a GrantHandler whose grant allows
// some parameters to appear more than once, such as RFC 8707 "resource".
// Every other parameter sent twice is refused with invalid_request
// (RFC 6749 §3.2).
type RepeatableParameters interface {
	RepeatableParameters() []string
}

// OptionalClientAuthentication is implemented by a GrantHandler whose grant
// a client may use without authenticating, because the grant itself proves
// enough, such as an assertion grant (RFC 7523 §3.1). A request of that
// grant that carries no client credentials but a client_id is then
// accepted for any client registered for the grant, as a public client's
// is; credentials that it does carry are checked as usual. Without this
// interface, a client registered with credentials must present them.
type OptionalClientAuthentication interface {
	ClientAuthenticationOptional() bool
}

// TokenRequest is an access token request whose client is authenticated
// (or, for a grant with OptionalClientAuthentication, identified).
type TokenRequest struct {
	// GrantType is the grant_type parameter.
	GrantType string
	// Client is the authenticated client.
	Client *Client
	// Form holds the request parameters. Each appears once, except those the
	// grant declared repeatable.
	Form url.Values
	// Header holds the request's HTTP header fields, for grants that read
	// one (an assertion); the body is in Form only.
	Header http.Header
	// DPoP is the request's DPoP proof, checked already (RFC 9449 §5), or
	// nil when there is none or Config.DPoP is nil. The tokens issued for
	// the grant are bound to its key whatever the grant handler does; a
	// grant bound to a key itself (a refresh token) compares
	// DPoP.Thumbprint with that key.
	DPoP *dpop.Proof
	// Time is when the request arrived, by the server's clock.
	Time time.Time
	// Resources are the request's resource parameters (RFC 8707 §2), which
	// may repeat at the token endpoint for every grant: each already
	// checked to be a resource the client may ask for (Config.Resources,
	// Client.Resources), without repeats; nil if there were none. Unless
	// the grant sets Grant.Audience itself, the access token's audience is
	// these resources, narrowed from those an authorization code or refresh
	// token was granted for (invalid_target if they are not among them).
	Resources []string

	s *Server
}

// AccessToken returns the stored record of an active access token issued
// by this server, as [Server.ValidateAccessToken] does, for grants that
// take one as input (a token exchange's subject_token). It returns an error
// wrapping ErrNotFound for anything else: unknown, expired, revoked,
// malformed, or a refresh token.
func (r *TokenRequest) AccessToken(ctx context.Context, token string) (*Token, error) {
	return r.s.ValidateAccessToken(ctx, token)
}

// Scope returns the scope to grant for the request's scope parameter: the
// requested scopes if the client may have them all, the client's
// DefaultScopes if the parameter is absent, and otherwise invalid_scope.
func (r *TokenRequest) Scope() ([]string, error) {
	scope, err := resolveScope(r.Client, r.Form.Get("scope"))
	if err != nil {
		return nil, err
	}
	return scope, nil
}

// Grant is what a GrantHandler authorizes: the tokens issued will carry
// these values.
type Grant struct {
	// Subject identifies the resource owner. Empty means that no resource
	// owner is involved (client_credentials): the tokens' subject is then the
	// client, marked so with Token.SubjectIsClient, so that it is never
	// taken for a user whose identifier happens to equal the client ID
	// (RFC 9700 §4.15.1).
	Subject string
	// Scope is the granted scope; it must be within the client's Scopes.
	Scope []string
	// Audience lists the resource servers the access token is for. Nil
	// means the request's resource parameters (TokenRequest.Resources) if
	// it had any, and otherwise the client's Audience.
	Audience []string
	// AuthTime is when the resource owner authenticated, or zero.
	AuthTime time.Time
	// ACR is the authentication context class reference, or empty.
	ACR string
	// RefreshToken asks for a refresh token. It is issued only if the client
	// is also registered for the refresh_token grant.
	RefreshToken bool
	// IDToken asks for an OpenID Connect ID token (OIDC Core §3.1.3.3), as
	// the authorization code grant does for the openid scope: it is issued
	// when the server has Config.IDTokens, Scope has openid and a resource
	// owner is the subject. Nonce is its nonce, if the authorization request
	// had one (a device authorization grant, say).
	IDToken bool
	Nonce   string
	// GrantID continues an existing grant (the authorization a code or a
	// device code started) instead of starting one, so that revoking that
	// grant revokes these tokens too. Empty starts a new grant. A grant
	// handler sets it only to a grant of the same client and subject.
	GrantID string
	// ImportAccessToken and ImportRefreshToken, if set, are token values
	// minted elsewhere (by another authorization server the host is taking
	// over from, say) that become this server's tokens for this grant,
	// instead of new ones: stored only as hashes, and then introspected,
	// refreshed, rotated and revoked like any other. They pass the screen of
	// Issuance.AccessToken and Issuance.RefreshToken, where they start, so
	// that an IssuanceHook sees and may replace them: the b64token syntax of
	// RFC 6750 §2.1, at least 32 characters, the variety of a random value,
	// two different values (invalid_request otherwise); a value already in
	// use is invalid_grant. The refresh token is imported only where one is
	// issued (RefreshToken, and a client registered for refresh_token).
	ImportAccessToken, ImportRefreshToken string
	// Actor is the party the tokens let act for Subject (a token
	// exchange's actor_token, RFC 8693 §4.1), or nil. It is recorded on the
	// tokens and appears as the act claim in JWT access tokens and in
	// introspection responses.
	Actor *Actor
	// Response are parameters the grant adds to the token response, such
	// as RFC 8693's issued_token_type. They never replace one of RFC 6749
	// §5.1; an IssuanceHook sees them in Issuance.Response and may add more.
	Response []Param

	// Set by the built-in grants only.
	granted       []string       // resources the code or refresh family was granted for; empty: no restriction
	resources     []string       // the request's resource parameters (TokenRequest.Resources)
	rotate        string         // ID of the refresh token being exchanged
	refreshScope  []string       // scope of the new refresh token, if not Scope
	codeID        string         // the authorization code to redeem, if any
	grantType     string         // the request's grant_type, or "implicit"
	form          url.Values     // the request's parameters (nil for the implicit grant)
	idTokenClaims map[string]any // set by the issuance hook
	imported      bool           // a token value was imported (Import… or the hook)
	jkt           string         // thumbprint of the request's DPoP key: the tokens are bound to it
}

// authorizationCodeGrant redeems authorization codes (RFC 6749 §4.1.3).
type authorizationCodeGrant struct{ s *Server }

func (authorizationCodeGrant) GrantType() string { return GrantTypeAuthorizationCode }

func (g authorizationCodeGrant) HandleGrant(_ context.Context, req *TokenRequest) (*Grant, error) {
	raw := req.Form.Get("code")
	if raw == "" {
		return nil, ErrInvalidRequest.WithDescription("missing code")
	}
	if v := req.Form.Get("code_verifier"); v != "" && !pkce.ValidVerifier(v) {
		// Refused before the code is spent: a malformed request is the
		// client's bug, not an attack on the code (RFC 7636 §4.1).
		return nil, ErrInvalidRequest.WithDescription("malformed code_verifier")
	}
	// The code is consumed when the tokens are stored (Server.redeemCode),
	// so that both happen in one transaction where the store allows it.
	return &Grant{codeID: HashToken(raw)}, nil
}

// fromCode checks the token request, whose parameters are g.form,
// against the consumed code (RFC 6749 §4.1.3, RFC 7636 §4.6) and fills in
// what to issue tokens for.
func (g *Grant) fromCode(s *Server, code *AuthorizationCode) *Error {
	redirectURI := g.form.Get("redirect_uri")
	if code.RedirectURIParam && redirectURI != code.RedirectURI ||
		!code.RedirectURIParam && redirectURI != "" && redirectURI != code.RedirectURI {
		return ErrInvalidGrant.WithDescription("redirect_uri does not match the authorization request")
	}
	if oerr := checkBinding(code.DPoPJKT, g.jkt, "authorization code"); oerr != nil {
		return oerr // RFC 9449 §10: the authorization request named the key (dpop_jkt)
	}
	verifier := g.form.Get("code_verifier")
	switch {
	case code.CodeChallenge == "" && verifier != "":
		// RFC 9700 §4.8.2: PKCE downgrade.
		return ErrInvalidGrant.WithDescription("code_verifier sent for a code issued without code_challenge")
	case code.CodeChallenge != "" && verifier == "":
		return ErrInvalidGrant.WithDescription("missing code_verifier")
	case code.CodeChallenge != "":
		if err := pkce.Verify(code.CodeChallengeMethod, code.CodeChallenge, verifier); err != nil {
			if errors.Is(err, pkce.ErrMalformedVerifier) {
				return ErrInvalidRequest.WithDescription("malformed code_verifier")
			}
			return ErrInvalidGrant.WithDescription("code_verifier does not match code_challenge")
		}
	}
	g.Subject = code.Subject
	g.Scope = code.Scope
	g.AuthTime = code.AuthTime
	g.ACR = code.ACR
	g.RefreshToken = true
	g.GrantID = code.GrantID
	g.IDToken = true
	g.Nonce = code.Nonce
	g.granted = code.Resources
	return nil
}

// RefreshPolicy decides, at each refresh, whether the grant a refresh token
// carries still stands: a refresh token outlives the session it came from,
// and the user may since have been blocked or lost rights (RFC 6749 §6 lets
// the server refuse; §10.4 asks it to keep refresh tokens revocable).
//
// Implementations must be safe for concurrent use.
type RefreshPolicy interface {
	// CheckRefresh is called with the presented refresh token's record t,
	// after it has been found valid for the client, and the scope the
	// refresh would grant (t.Scope, or the narrower scope the request
	// asked for). It returns the scope to grant, scope itself or a
	// non-empty part of it, or an error to refuse: ErrInvalidGrant (derive
	// it with WithDescription), when the user is no longer active, or any
	// other *Error, is answered as it is; any other error is an internal
	// fault, as is a scope that is empty or not within scope. A refusal
	// neither rotates nor revokes the refresh token; revoke the user's
	// tokens with the store where that is meant. The new refresh token
	// keeps t's scope (RFC 6749 §6), so the policy decides afresh at every
	// refresh.
	CheckRefresh(ctx context.Context, t *Token, scope []string) ([]string, error)
}

// RefreshPolicyFunc adapts a function to the RefreshPolicy interface.
type RefreshPolicyFunc func(ctx context.Context, t *Token, scope []string) ([]string, error)

// CheckRefresh calls f(ctx, t, scope).
func (f RefreshPolicyFunc) CheckRefresh(ctx context.Context, t *Token, scope []string) ([]string, error) {
	return f(ctx, t, scope)
}

// checkRefresh asks p about the refresh of t for scope and returns the
// scope to grant, checked to be a non-empty part of scope.
func checkRefresh(ctx context.Context, p RefreshPolicy, t *Token, scope []string) ([]string, error) {
	cp := *t // the policy sees the record, and cannot change it
	cp.Scope = slices.Clone(t.Scope)
	granted, err := p.CheckRefresh(ctx, &cp, slices.Clone(scope))
	var oerr *Error
	switch {
	case errors.As(err, &oerr):
		return nil, oerr
	case err != nil:
		return nil, ErrServerError.Wrap(err)
	case len(granted) == 0 && len(scope) > 0:
		return nil, ErrServerError.Wrap(errors.New("oauthkit: RefreshPolicy returned an empty scope; refuse with an error instead"))
	}
	for _, sc := range granted {
		if !slices.Contains(scope, sc) {
			return nil, ErrServerError.Wrap(fmt.Errorf("oauthkit: RefreshPolicy returned scope %q beyond the scope it was asked about", sc))
		}
	}
	return granted, nil
}

// refreshTokenGrant exchanges refresh tokens (RFC 6749 §6), rotating them
// unless rotation is disabled (RFC 9700 §4.14.2).
type refreshTokenGrant struct{ s *Server }

func (refreshTokenGrant) GrantType() string { return GrantTypeRefreshToken }

func (g refreshTokenGrant) HandleGrant(ctx context.Context, req *TokenRequest) (*Grant, error) {
	raw := req.Form.Get("refresh_token")
	if raw == "" {
		return nil, ErrInvalidRequest.WithDescription("missing refresh_token")
	}
	id := HashToken(raw)
	old, err := g.s.cfg.Tokens.Token(ctx, id, req.Time)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrInvalidGrant.WithDescription("invalid or expired refresh token")
	case err != nil:
		return nil, ErrServerError.Wrap(err)
	case old.Kind != RefreshToken || old.ClientID != req.Client.ID:
		return nil, ErrInvalidGrant.WithDescription("invalid or expired refresh token")
	}
	var jkt string
	if req.DPoP != nil {
		jkt = req.DPoP.Thumbprint
	}
	if oerr := checkBinding(old.JKT, jkt, "refresh token"); oerr != nil {
		// RFC 9449 §5: a public client's refresh token is used only with
		// its key. A rotated one is still reuse, whoever presents it: its
		// family is revoked as RotateRefreshToken would (RFC 9700
		// §4.14.2), and never exchanged, not even as a retry within the
		// grace period, which only the key's holder may make.
		if !old.RotatedAt.IsZero() {
			if err := g.s.cfg.Tokens.RevokeGrant(ctx, old.GrantID); err != nil {
				return nil, ErrServerError.Wrap(err)
			}
			return nil, ErrInvalidGrant.WithDescription("invalid or expired refresh token")
		}
		return nil, oerr
	}
	scope := old.Scope
	if param := req.Form.Get("scope"); param != "" {
		requested, ok := splitScope(param)
		if !ok {
			return nil, ErrInvalidScope.WithDescription("malformed scope")
		}
		for _, sc := range requested {
			if !slices.Contains(old.Scope, sc) {
				return nil, ErrInvalidScope.WithDescription("scope %s exceeds the original grant", sc)
			}
		}
		scope = requested
	}
	if p := g.s.cfg.RefreshPolicy; p != nil {
		if scope, err = checkRefresh(ctx, p, old, scope); err != nil {
			return nil, err
		}
	}
	subject := old.Subject
	if old.SubjectIsClient {
		subject = "" // the client again, and marked so
	}
	grant := &Grant{
		Subject:      subject,
		Scope:        scope,
		AuthTime:     old.AuthTime,
		ACR:          old.ACR,
		GrantID:      old.GrantID,
		Actor:        old.Actor,
		refreshScope: old.Scope, // RFC 6749 §6: a new refresh token keeps the original scope
		// The family's audience, which a request's resource parameters may
		// narrow (RFC 8707 §2.2).
		granted: old.Audience,
	}
	if g.s.cfg.DisableRefreshTokenRotation {
		if !old.RotatedAt.IsZero() {
			return nil, ErrInvalidGrant.WithDescription("invalid or expired refresh token")
		}
		return grant, nil
	}
	grant.RefreshToken = true
	grant.rotate = id
	return grant, nil
}
