package oauthkit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/oauthkit/oauthkit/internal/authheader"
)

// IssuanceHook is where the host decides, per token request, what the
// library leaves open: lifetimes per client or grant, extra claims in JWT
// access tokens (RFC 9068 §2.2.3) and ID tokens, extra response parameters
// (such as RFC 8693 issued_token_type), the token type, and token values
// imported from another system. It runs for every grant, the implicit one
// included, after the grant has said what to issue and before anything is
// minted. Nil (Config.Issuance) keeps the defaults.
//
// Implementations must be safe for concurrent use.
type IssuanceHook interface {
	// Issue may change the fields of iss that its doc says may change. An
	// *Error refuses the request as it is; any other error is an internal
	// fault.
	Issue(ctx context.Context, iss *Issuance) error
}

// IssuanceFunc adapts a function to the IssuanceHook interface.
type IssuanceFunc func(ctx context.Context, iss *Issuance) error

// Issue calls f(ctx, iss).
func (f IssuanceFunc) Issue(ctx context.Context, iss *Issuance) error { return f(ctx, iss) }

// Issuance is a token issuance about to happen, as an IssuanceHook sees it.
type Issuance struct {
	// GrantType is the grant_type of the request, or "implicit" for an
	// access token from the authorization endpoint.
	GrantType string
	// Client is the client the tokens are for.
	Client *Client
	// Subject and SubjectIsClient are the tokens' subject (see Token).
	Subject         string
	SubjectIsClient bool
	// Scope and Audience are the granted scope and the access token's
	// audience.
	Scope    []string
	Audience []string
	// Form holds the request's parameters (nil for the implicit grant), for
	// grants that pass the hook their own (an external_token's values).
	Form map[string][]string
	// JKT is the thumbprint of the DPoP key the access token is bound to
	// (RFC 9449 §6), or empty for a bearer token.
	JKT string

	// The fields below may be changed.

	// AccessTokenLifetime and RefreshTokenLifetime start at the Config's;
	// each must stay positive.
	AccessTokenLifetime  time.Duration
	RefreshTokenLifetime time.Duration
	// TokenType is the response's token_type, "Bearer" at first, or "DPoP"
	// for a DPoP-bound token (JKT set), which must stay so: a type name of
	// RFC 6749 §11.1 (such as RFC 8693's "N_A") or an absolute URI.
	TokenType string
	// AccessTokenClaims are claims added to a JWT access token (the
	// client's TokenIssuer must implement ClaimsIssuer). They never replace
	// a claim the library sets: naming one (iss, exp, aud, sub, client_id,
	// jti, cnf, iat, nbf, scope, auth_time, acr, act) is a fault.
	AccessTokenClaims map[string]any
	// IDTokenClaims are claims added to the ID token, if one is issued;
	// they never replace a claim of OIDC Core §2 (iss, sub, aud, exp, iat,
	// auth_time, nonce, acr, amr, azp, at_hash, c_hash).
	IDTokenClaims map[string]any
	// Response are parameters added to the token response, starting with
	// the grant's (Grant.Response); they never replace one of RFC 6749 §5.1.
	Response []Param
	// AccessToken and RefreshToken, if set, are the values to issue instead
	// of new ones: tokens imported from another system, stored like any
	// other, as hashes only. They start at the grant's ImportAccessToken
	// and ImportRefreshToken (see Grant). Each must have the b64token syntax of
	// RFC 6750 §2.1, at least 32 characters, and the variety of a random
	// value (a cheap screen against words and counters: the importer
	// answers for their randomness, which must be 128 bits at least). A
	// value already in use fails the request (invalid_grant), as do the
	// same value for both (invalid_request).
	AccessToken, RefreshToken string
}

// ClaimsIssuer is implemented by a TokenIssuer whose tokens carry claims,
// such as package jwt's: it issues a token with extra claims, which never
// replace those it sets itself.
type ClaimsIssuer interface {
	IssueAccessTokenWithClaims(ctx context.Context, issuer string, t *Token, claims map[string]any) (string, error)
}

// Claims the library sets, which an IssuanceHook must not name.
var (
	reservedAccessClaims = []string{"iss", "exp", "aud", "sub", "client_id", "jti", "cnf", "iat", "nbf", "scope", "auth_time", "acr", "act"}
	reservedIDClaims     = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash", "c_hash"}
	reservedResponse     = []string{"access_token", "token_type", "expires_in", "refresh_token", "scope", "id_token"}
)

// prepareIssuance returns what to issue for grant beyond the Config's
// defaults: the token values the grant imports, as the issuance hook then
// leaves them, screened. It returns nil, the defaults, when there is
// neither a hook nor an import.
func (s *Server) prepareIssuance(ctx context.Context, client *Client, grant *Grant, subject string, subjectIsClient bool, audience []string) (*Issuance, *Error) {
	if s.cfg.Issuance == nil && grant.ImportAccessToken == "" && grant.ImportRefreshToken == "" && grant.Response == nil {
		return nil, nil
	}
	iss := &Issuance{
		GrantType: grant.grantType, Client: client, Subject: subject, SubjectIsClient: subjectIsClient,
		Scope: grant.Scope, Audience: audience, Form: grant.form, JKT: grant.jkt,
		AccessTokenLifetime: s.cfg.AccessTokenLifetime, RefreshTokenLifetime: s.cfg.RefreshTokenLifetime,
		TokenType:   tokenType(grant.jkt),
		AccessToken: grant.ImportAccessToken, RefreshToken: grant.ImportRefreshToken,
		Response: slices.Clone(grant.Response),
	}
	if s.cfg.Issuance != nil {
		if err := s.cfg.Issuance.Issue(ctx, iss); err != nil {
			return nil, asError(err)
		}
	}
	var problem string
	switch {
	case iss.AccessTokenLifetime <= 0 || iss.RefreshTokenLifetime <= 0:
		problem = "set a lifetime that is not positive"
	case !validTokenType(iss.TokenType):
		problem = fmt.Sprintf("set the token type %q", iss.TokenType)
	case grant.jkt != "" && iss.TokenType != TokenTypeDPoP:
		problem = fmt.Sprintf("set the token type %q for a DPoP-bound token", iss.TokenType)
	case namesAny(iss.AccessTokenClaims, reservedAccessClaims) != "":
		problem = "named the access token claim " + namesAny(iss.AccessTokenClaims, reservedAccessClaims)
	case namesAny(iss.IDTokenClaims, reservedIDClaims) != "":
		problem = "named the ID token claim " + namesAny(iss.IDTokenClaims, reservedIDClaims)
	}
	for _, p := range iss.Response {
		if slices.Contains(reservedResponse, p.Name) || p.Name == "" {
			problem = "named the response parameter " + p.Name
		}
	}
	if problem != "" {
		return nil, ErrServerError.Wrap(errors.New("oauthkit: the IssuanceHook (or the grant) " + problem))
	}
	for _, v := range []string{iss.AccessToken, iss.RefreshToken} {
		if v != "" && !importable(v) {
			return nil, ErrInvalidRequest.WithDescription("an imported token value is not a long random b64token")
		}
	}
	if iss.AccessToken != "" && iss.AccessToken == iss.RefreshToken {
		return nil, ErrInvalidRequest.WithDescription("the imported access and refresh tokens are the same value")
	}
	return iss, nil
}

// tokenType is the token_type of an access token bound to the DPoP key
// of thumbprint jkt, or of a bearer token if jkt is empty.
func tokenType(jkt string) string {
	if jkt != "" {
		return TokenTypeDPoP
	}
	return "Bearer"
}

// namesAny returns a key of claims that is in names, or "".
func namesAny(claims map[string]any, names []string) string {
	for _, n := range names {
		if _, ok := claims[n]; ok {
			return n
		}
	}
	return ""
}

// validTokenType reports whether t is a token type name of RFC 6749
// §11.1: 1*( "-" / "." / "_" / DIGIT / ALPHA ), or an absolute URI for an
// extension type.
func validTokenType(t string) bool {
	if u, err := url.Parse(t); err == nil && u.IsAbs() && !strings.ContainsAny(t, " \"") {
		return true
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return t != ""
}

// importable reports whether an imported token value passes the screen
// Issuance documents: a b64token of at least 32 characters whose distinct
// characters would carry 128 bits at that length.
func importable(v string) bool {
	if len(v) < 32 || len(v) > 4096 || !authheader.IsB64Token(v) {
		return false
	}
	var seen [256]bool
	distinct := 0
	for i := 0; i < len(v); i++ {
		if !seen[v[i]] {
			seen[v[i]] = true
			distinct++
		}
	}
	return float64(len(v))*math.Log2(float64(distinct)) >= 128
}

// issue mints and stores the tokens for grant and returns the response.
func (s *Server) issue(ctx context.Context, client *Client, grant *Grant, now time.Time) (TokenResponse, *Error) {
	if grant.codeID != "" {
		return s.redeemCode(ctx, client, grant, now)
	}
	resp, tokens, oerr := s.mint(ctx, client, grant, now)
	if oerr != nil {
		return TokenResponse{}, oerr
	}
	var err error
	if grant.rotate != "" {
		err = s.cfg.Tokens.RotateRefreshToken(ctx, grant.rotate, now, s.cfg.RefreshTokenGracePeriod, tokens...)
	} else {
		err = s.cfg.Tokens.CreateTokens(ctx, tokens...)
	}
	switch {
	case grant.rotate != "" && (errors.Is(err, ErrNotFound) || errors.Is(err, ErrReused)):
		return TokenResponse{}, ErrInvalidGrant.WithDescription("invalid or expired refresh token")
	case grant.imported && errors.Is(err, ErrExists):
		return TokenResponse{}, ErrInvalidGrant.WithDescription("an imported token value is already in use")
	case errors.Is(err, ErrReused): // the grant was revoked meanwhile
		return TokenResponse{}, errGrantRevoked()
	case err != nil:
		return TokenResponse{}, ErrServerError.Wrap(err)
	}
	return s.withIDToken(ctx, client, grant, resp, now)
}

func errGrantRevoked() *Error {
	return ErrInvalidGrant.WithDescription("the authorization grant was revoked")
}

// redeemCode consumes the authorization code of grant, issued to client,
// and stores the tokens issued for it: in one transaction if the store is a
// CodeRedeemer, else one after the other.
func (s *Server) redeemCode(ctx context.Context, client *Client, grant *Grant, now time.Time) (TokenResponse, *Error) {
	var (
		resp   TokenResponse
		code   *AuthorizationCode
		issued bool // whether the code was checked and tokens minted for it
		err    error
	)
	if s.redeemer != nil {
		resp, code, issued, err = s.redeemInOneStep(ctx, client, grant, now)
	} else if code, err = s.cfg.Codes.ConsumeCode(ctx, grant.codeID, client.ID, now); err == nil {
		var tokens []*Token
		var oerr *Error
		issued = true
		if resp, tokens, oerr = s.mintForCode(ctx, client, grant, code, now); oerr != nil {
			return TokenResponse{}, oerr // the code stays used
		}
		err = s.cfg.Tokens.CreateTokens(ctx, tokens...)
	}
	if oerr, ok := err.(*Error); ok { // refused when checked: a mismatch, or a fault minting
		return TokenResponse{}, oerr
	}
	switch {
	case errors.Is(err, ErrNotFound):
		// Unknown, expired, or another client's: a stranger learns nothing
		// and changes nothing (RFC 6749 §4.1.3).
		return TokenResponse{}, ErrInvalidGrant.WithDescription("invalid or expired code")
	case errors.Is(err, ErrReused) && !issued && code != nil:
		// Replayed by its own client: revoke what it issued (RFC 6749 §4.1.2).
		if rerr := s.cfg.Tokens.RevokeGrant(ctx, code.GrantID); rerr != nil {
			return TokenResponse{}, ErrServerError.Wrap(rerr)
		}
		return TokenResponse{}, ErrInvalidGrant.WithDescription("code already used")
	case errors.Is(err, ErrReused): // the grant was revoked meanwhile, as by a replay
		return TokenResponse{}, errGrantRevoked()
	case err != nil:
		return TokenResponse{}, asError(err) // a store's fault, or issue's *Error it wrapped
	}
	return s.withIDToken(ctx, client, grant, resp, now)
}

// redeemInOneStep is redeemCode's path through CodeRedeemer: the code is
// checked and the tokens minted inside the store's transaction.
func (s *Server) redeemInOneStep(ctx context.Context, client *Client, grant *Grant, now time.Time) (TokenResponse, *AuthorizationCode, bool, error) {
	var (
		resp   TokenResponse
		issued bool
	)
	code, err := s.redeemer.RedeemCode(ctx, grant.codeID, client.ID, now, func(code *AuthorizationCode) ([]*Token, error) {
		issued = true
		r, tokens, oerr := s.mintForCode(ctx, client, grant, code, now)
		if oerr != nil {
			return nil, oerr
		}
		resp = r
		return tokens, nil
	})
	return resp, code, issued, err
}

// mintForCode checks the token request against the consumed code and mints
// the tokens for it.
func (s *Server) mintForCode(ctx context.Context, client *Client, grant *Grant, code *AuthorizationCode, now time.Time) (TokenResponse, []*Token, *Error) {
	if oerr := grant.fromCode(s, code); oerr != nil {
		return TokenResponse{}, nil, oerr
	}
	return s.mint(ctx, client, grant, now)
}

// mint makes the tokens for grant: the access token, and a refresh token if
// the grant asks for one and the client may have it. It returns the response
// and the records to store.
func (s *Server) mint(ctx context.Context, client *Client, grant *Grant, now time.Time) (TokenResponse, []*Token, *Error) {
	subject, subjectIsClient := grant.Subject, false
	if subject == "" {
		subject, subjectIsClient = client.ID, true
	}
	audience, family, oerr := s.audiences(client, grant)
	if oerr != nil {
		return TokenResponse{}, nil, oerr
	}
	iss, oerr := s.prepareIssuance(ctx, client, grant, subject, subjectIsClient, audience)
	if oerr != nil {
		return TokenResponse{}, nil, oerr
	}
	accessLife, refreshLife, typ := s.cfg.AccessTokenLifetime, s.cfg.RefreshTokenLifetime, tokenType(grant.jkt)
	if iss != nil {
		accessLife, refreshLife, typ = iss.AccessTokenLifetime, iss.RefreshTokenLifetime, iss.TokenType
		grant.idTokenClaims = iss.IDTokenClaims
		grant.imported = iss.AccessToken != "" || iss.RefreshToken != ""
	}
	// One allocation holds the tokens and the batch that lists them.
	batch := new(tokenBatch)
	access := &batch.access
	*access = Token{
		Kind:            AccessToken,
		GrantID:         grant.GrantID,
		ParentID:        grant.rotate,
		ClientID:        client.ID,
		Subject:         subject,
		SubjectIsClient: subjectIsClient,
		Scope:           grant.Scope,
		Audience:        audience,
		IssuedAt:        now,
		ExpiresAt:       now.Add(accessLife),
		AuthTime:        grant.AuthTime,
		ACR:             grant.ACR,
		Actor:           grant.Actor,
		JKT:             grant.jkt,
	}
	accessToken, oerr := s.issueAccessToken(ctx, client, access, iss)
	if oerr != nil {
		return TokenResponse{}, nil, oerr
	}
	if access.GrantID == "" {
		// A new grant is named after its first token: unique, and one less
		// random value to draw.
		access.GrantID = access.ID
	}
	resp := TokenResponse{ // returned by value: one allocation less per request
		AccessToken: accessToken,
		TokenType:   typ,
		ExpiresIn:   int64(accessLife / time.Second),
		Scope:       strings.Join(grant.Scope, " "),
	}
	if iss != nil {
		resp.extra = iss.Response
	}
	tokens := append(batch.list[:0], access)
	if grant.RefreshToken && client.AllowsGrant(GrantTypeRefreshToken) {
		var raw string
		if iss != nil && iss.RefreshToken != "" {
			raw = iss.RefreshToken // imported
		} else {
			var err error
			if raw, err = randomToken(s.cfg.Rand); err != nil {
				return TokenResponse{}, nil, ErrServerError.Wrap(err)
			}
		}
		refresh := &batch.refresh
		*refresh = *access
		refresh.ID = HashToken(raw)
		refresh.Kind = RefreshToken
		refresh.ExpiresAt = now.Add(refreshLife)
		refresh.Audience = family
		if !client.Public() {
			// RFC 9449 §5: a confidential client's refresh token is bound
			// to its credentials already, not to the DPoP key.
			refresh.JKT = ""
		}
		if grant.refreshScope != nil {
			refresh.Scope = grant.refreshScope
		}
		tokens = append(tokens, refresh)
		resp.RefreshToken = raw
	}
	return resp, tokens, nil
}

// audiences returns the audience of the access token for grant, and that
// of its refresh token, which bounds every later refresh of the family:
//
//   - a grant that sets Audience has it for both;
//   - otherwise the request's resource parameters (RFC 8707 §2.2), which
//     must be among the resources the code or refresh family was granted
//     for, if it was restricted, are the access token's audience, and the
//     family keeps its restriction (or, if it had none, takes theirs);
//   - without them, both have the granted resources, or else the client's
//     Audience.
func (s *Server) audiences(client *Client, grant *Grant) (access, family []string, oerr *Error) {
	switch {
	case grant.Audience != nil:
		return grant.Audience, grant.Audience, nil
	case len(grant.resources) > 0 && len(grant.granted) == 0:
		return grant.resources, grant.resources, nil
	case len(grant.resources) > 0:
		// Checked against the client's policy already (Server.token): here
		// only that they narrow the grant.
		for _, r := range grant.resources {
			if !slices.Contains(grant.granted, r) {
				return nil, nil, ErrInvalidTarget.WithDescription("the resource %s was not granted", r)
			}
		}
		return grant.resources, grant.granted, nil
	case len(grant.granted) > 0:
		return grant.granted, grant.granted, nil
	default:
		return client.Audience, client.Audience, nil
	}
}

// tokenBatch holds the tokens of one issuance and the list of them handed
// to the store.
type tokenBatch struct {
	access, refresh Token
	list            [2]*Token
}

// withIDToken adds an OpenID Connect ID token to resp if grant asks for one.
func (s *Server) withIDToken(ctx context.Context, client *Client, grant *Grant, resp TokenResponse, now time.Time) (TokenResponse, *Error) {
	if !grant.IDToken || s.cfg.IDTokens == nil || grant.Subject == "" || !slices.Contains(grant.Scope, ScopeOpenID) {
		return resp, nil
	}
	var err error
	resp.IDToken, err = s.issueIDToken(ctx, idTokenInput{
		client: client, subject: grant.Subject, nonce: grant.Nonce, authTime: grant.AuthTime,
		acr: grant.ACR, accessToken: resp.AccessToken, scope: grant.Scope, now: now, extra: grant.idTokenClaims,
	})
	if err != nil {
		return TokenResponse{}, ErrServerError.Wrap(err)
	}
	return resp, nil
}

// issueAccessToken mints the access token of t, or takes the imported
// value, and sets t.ID.
func (s *Server) issueAccessToken(ctx context.Context, client *Client, t *Token, iss *Issuance) (string, *Error) {
	if iss != nil && iss.AccessToken != "" {
		t.ID = HashToken(iss.AccessToken) // imported: an opaque value to this server
		return iss.AccessToken, nil
	}
	issuer, err := s.accessTokenIssuer(client)
	if err != nil {
		return "", ErrServerError.Wrap(err)
	}
	var token string
	if iss != nil && len(iss.AccessTokenClaims) > 0 {
		ci, ok := issuer.(ClaimsIssuer)
		if !ok {
			return "", ErrServerError.Wrap(fmt.Errorf("oauthkit: access token issuer %T carries no claims (ClaimsIssuer), but the IssuanceHook set some", issuer))
		}
		token, err = ci.IssueAccessTokenWithClaims(ctx, s.cfg.Issuer, t, iss.AccessTokenClaims)
	} else {
		token, err = issuer.IssueAccessToken(ctx, s.cfg.Issuer, t)
	}
	if err != nil {
		return "", ErrServerError.Wrap(err)
	}
	if _, selfContained := issuer.(TokenVerifier); selfContained != strings.HasPrefix(t.ID, selfContainedPrefix) {
		// A self-contained token's identifier must never be found as if it
		// were an opaque token, nor the reverse.
		return "", ErrServerError.Wrap(fmt.Errorf(
			"oauthkit: access token issuer %T must set Token.ID with HashToken (opaque) or SelfContainedTokenID (TokenVerifier)", issuer))
	}
	return token, nil
}

// accessTokenIssuer returns the issuer for the client's token format.
func (s *Server) accessTokenIssuer(client *Client) (TokenIssuer, error) {
	if client.AccessTokenFormat == "" {
		return s.cfg.AccessTokens, nil
	}
	if iss, ok := s.cfg.AccessTokenFormats[client.AccessTokenFormat]; ok {
		return iss, nil
	}
	return nil, fmt.Errorf("oauthkit: client %s has unknown access token format %q", client.ID, client.AccessTokenFormat)
}
