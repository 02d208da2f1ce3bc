package grants

import (
	"context"
	"errors"
	"slices"

	"github.com/oauthkit/oauthkit"
)

// GrantTypeTokenExchange is the grant_type of token exchange
// ([RFC 8693 §2.1]).
//
// [RFC 8693 §2.1]: https://www.rfc-editor.org/rfc/rfc8693#section-2.1
const GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

// Token type identifiers of RFC 8693 §3.
const (
	TokenTypeAccessToken  = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeRefreshToken = "urn:ietf:params:oauth:token-type:refresh_token"
	TokenTypeIDToken      = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeJWT          = "urn:ietf:params:oauth:token-type:jwt"
)

// Exchange is a token exchange request whose tokens have been verified, as
// an ExchangePolicy sees it.
type Exchange struct {
	// Client is the authenticated client asking.
	Client *oauthkit.Client
	// Subject is the subject token: the stored record of an access token
	// of this server, or, for a trusted issuer's JWT, a record with only
	// Subject set (the resource owner its sub maps to).
	Subject *oauthkit.Token
	// SubjectTokenType is the subject_token_type parameter.
	SubjectTokenType string
	// SubjectIssuer is the trusted issuer of a JWT subject token, or empty
	// for a token of this server.
	SubjectIssuer string
	// Actor is the actor token, verified as the subject token is, or nil;
	// ActorTokenType and ActorIssuer are its type and issuer.
	Actor          *oauthkit.Token
	ActorTokenType string
	ActorIssuer    string
	// Scope is the scope to grant: the scope parameter, or, without one,
	// the subject token's scope that the client may have.
	Scope []string
	// Audience holds the audience parameters (logical names, RFC 8693
	// §2.1), and Resources the resource parameters, already checked
	// against Config.Resources and Client.Resources. Together they are the
	// issued token's audience; the policy decides whether the client may
	// have a token for each of them.
	Audience  []string
	Resources []string
}

// ExchangePolicy decides whether an exchange may happen. It returns nil to
// allow it; an *oauthkit.Error to refuse it with that error (RFC 8693
// §2.2.2: invalid_request for tokens unacceptable to the policy,
// invalid_target for an audience or resource it will not issue for); any
// other error is an internal fault.
type ExchangePolicy func(ctx context.Context, x *Exchange) error

// TokenExchangeConfig configures a TokenExchange grant.
type TokenExchangeConfig struct {
	// Policy decides what may be exchanged. Nil refuses every exchange:
	// an exchange hands one party's authority to another, so nothing is
	// allowed until the host says what is.
	Policy ExchangePolicy
	// JWT, if set, also accepts subject and actor tokens of type
	// TokenTypeJWT signed by one of its trusted issuers, verified by the
	// same rules as its assertions (RFC 7523 §3: aud this server, exp, a
	// jti accepted once) and mapped to a resource owner by its Subject.
	// Nil accepts only this server's access tokens.
	JWT *JWTBearer
}

// TokenExchange serves token exchange ([RFC 8693]): a client presents a
// subject_token (an access token of this server, of type
// TokenTypeAccessToken or TokenTypeJWT, or a trusted issuer's JWT of type
// TokenTypeJWT), optionally an actor_token of the party that will act for
// the subject, and obtains an access token for the same subject, with:
//
//   - a scope within the subject token's and the client's (invalid_scope
//     beyond them);
//   - an audience made of the audience and resource parameters (each may
//     repeat; resources must be ones the client may ask for, RFC 8707);
//   - the act claim of RFC 8693 §4.1 naming the actor token's subject, with
//     the subject token's own act, if any, nested as the prior actor (in JWT
//     access tokens and introspection); without an actor token, the subject
//     token's act is kept;
//   - issued_token_type TokenTypeAccessToken in the response, and no
//     refresh token.
//
// requested_token_type may be TokenTypeAccessToken only. A subject or actor
// token that is unknown, expired, revoked, a refresh token, of an
// unsupported type, or without a resource owner (a client_credentials
// token, as subject) is refused with invalid_request (RFC 8693 §2.2.2), as
// is every exchange the Policy does not allow. Make it with
// NewTokenExchange, add it to Config.Grants, and register
// GrantTypeTokenExchange on the clients that may use it.
//
// For example, an API gateway that may exchange users' tokens for tokens to
// call one internal service on their behalf:
//
//	exchange := grants.NewTokenExchange(grants.TokenExchangeConfig{
//		Policy: func(ctx context.Context, x *grants.Exchange) error {
//			if x.Client.ID != "gateway" || !slices.Equal(x.Resources, []string{"https://orders.internal"}) {
//				return oauthkit.ErrInvalidTarget.WithDescription("not an exchange this client may make")
//			}
//			return nil
//		},
//	})
//
// [RFC 8693]: https://www.rfc-editor.org/rfc/rfc8693
type TokenExchange struct {
	cfg TokenExchangeConfig
}

// NewTokenExchange returns the grant cfg configures.
func NewTokenExchange(cfg TokenExchangeConfig) *TokenExchange {
	return &TokenExchange{cfg: cfg}
}

// GrantType returns GrantTypeTokenExchange.
func (*TokenExchange) GrantType() string { return GrantTypeTokenExchange }

// RepeatableParameters returns audience, which RFC 8693 §2.1 lets repeat
// (resource may repeat for every grant).
func (*TokenExchange) RepeatableParameters() []string { return []string{"audience"} }

// issuedAccessToken is the response's issued_token_type.
var issuedAccessToken = []oauthkit.Param{{Name: "issued_token_type", Value: TokenTypeAccessToken}}

// HandleGrant verifies the tokens, asks the policy, and grants an access
// token for the subject.
func (g *TokenExchange) HandleGrant(ctx context.Context, req *oauthkit.TokenRequest) (*oauthkit.Grant, error) {
	f := req.Form
	subjectToken, subjectType := f.Get("subject_token"), f.Get("subject_token_type")
	actorToken, actorType := f.Get("actor_token"), f.Get("actor_token_type")
	switch {
	case subjectToken == "" || subjectType == "":
		return nil, oauthkit.ErrInvalidRequest.WithDescription("missing subject_token or subject_token_type")
	case (actorToken == "") != (actorType == ""):
		return nil, oauthkit.ErrInvalidRequest.WithDescription("actor_token and actor_token_type go together")
	case f.Has("requested_token_type") && f.Get("requested_token_type") != TokenTypeAccessToken:
		return nil, oauthkit.ErrInvalidRequest.WithDescription("requested_token_type must be %s", TokenTypeAccessToken)
	}
	subject, subjectIssuer, err := g.token(ctx, req, subjectToken, subjectType, "subject_token")
	if err != nil {
		return nil, err
	}
	if subject.SubjectIsClient {
		return nil, oauthkit.ErrInvalidRequest.WithDescription("the subject_token has no resource owner to exchange it for")
	}
	x := &Exchange{
		Client:           req.Client,
		Subject:          subject,
		SubjectTokenType: subjectType,
		SubjectIssuer:    subjectIssuer,
		Audience:         f["audience"],
		Resources:        req.Resources,
	}
	if actorToken != "" {
		if x.Actor, x.ActorIssuer, err = g.token(ctx, req, actorToken, actorType, "actor_token"); err != nil {
			return nil, err
		}
		x.ActorTokenType = actorType
	}
	if x.Scope, err = exchangeScope(req, subject, subjectIssuer); err != nil {
		return nil, err
	}
	if g.cfg.Policy == nil {
		return nil, oauthkit.ErrInvalidRequest.WithDescription("this exchange is not permitted")
	}
	if err := g.cfg.Policy(ctx, x); err != nil {
		return nil, err
	}
	grant := &oauthkit.Grant{
		Subject:  subject.Subject,
		Scope:    x.Scope,
		AuthTime: subject.AuthTime,
		ACR:      subject.ACR,
		Actor:    subject.Actor,
		Response: issuedAccessToken,
	}
	if x.Actor != nil {
		grant.Actor = &oauthkit.Actor{Subject: x.Actor.Subject, Actor: subject.Actor}
	}
	if len(x.Audience) > 0 {
		// Audience parameters name targets that are not resources; with
		// them, the grant sets the whole audience.
		grant.Audience = append(slices.Clone(x.Audience), x.Resources...)
	}
	return grant, nil
}

// token verifies a subject or actor token of type typ, sent as param, and
// returns its record and, for a trusted issuer's JWT, the issuer.
func (g *TokenExchange) token(ctx context.Context, req *oauthkit.TokenRequest, raw, typ, param string) (*oauthkit.Token, string, error) {
	switch typ {
	case TokenTypeAccessToken, TokenTypeJWT:
	case TokenTypeRefreshToken:
		return nil, "", oauthkit.ErrInvalidRequest.WithDescription("a refresh token cannot be a %s", param)
	default:
		return nil, "", oauthkit.ErrInvalidRequest.WithDescription("unsupported %s_type", param)
	}
	t, err := req.AccessToken(ctx, raw)
	switch {
	case err == nil:
		return t, "", nil
	case !errors.Is(err, oauthkit.ErrNotFound):
		return nil, "", err
	case typ == TokenTypeJWT && g.cfg.JWT != nil:
		issuer, subject, err := g.cfg.JWT.verify(ctx, req, raw, param, oauthkit.ErrInvalidRequest)
		if err != nil {
			return nil, "", err
		}
		return &oauthkit.Token{Subject: subject}, issuer, nil
	default:
		return nil, "", oauthkit.ErrInvalidRequest.WithDescription("invalid, expired or revoked %s", param)
	}
}

// exchangeScope returns the scope to grant: the scope parameter, each
// within the subject token's scope (for a token of this server) and the
// client's; or, without one, the subject token's scope that the client may
// have (for a trusted issuer's JWT, the client's default scope).
func exchangeScope(req *oauthkit.TokenRequest, subject *oauthkit.Token, subjectIssuer string) ([]string, error) {
	if subjectIssuer != "" {
		return req.Scope()
	}
	if !req.Form.Has("scope") {
		var scope []string
		for _, s := range subject.Scope {
			if slices.Contains(req.Client.Scopes, s) {
				scope = append(scope, s)
			}
		}
		return scope, nil
	}
	scope, err := req.Scope()
	if err != nil {
		return nil, err
	}
	for _, s := range scope {
		if !slices.Contains(subject.Scope, s) {
			return nil, oauthkit.ErrInvalidScope.WithDescription("scope %s exceeds the subject_token's", s)
		}
	}
	return scope, nil
}
