package oauthkit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

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
	audience := grant.Audience
	if audience == nil {
		audience = client.Audience
	}
	access := &Token{
		Kind:            AccessToken,
		GrantID:         grant.grantID,
		ParentID:        grant.rotate,
		ClientID:        client.ID,
		Subject:         subject,
		SubjectIsClient: subjectIsClient,
		Scope:           grant.Scope,
		Audience:        audience,
		IssuedAt:        now,
		ExpiresAt:       now.Add(s.cfg.AccessTokenLifetime),
		AuthTime:        grant.AuthTime,
		ACR:             grant.ACR,
	}
	issuer, err := s.accessTokenIssuer(client)
	if err != nil {
		return TokenResponse{}, nil, ErrServerError.Wrap(err)
	}
	accessToken, err := issuer.IssueAccessToken(ctx, access)
	if err != nil {
		return TokenResponse{}, nil, ErrServerError.Wrap(err)
	}
	if _, selfContained := issuer.(TokenVerifier); selfContained != strings.HasPrefix(access.ID, selfContainedPrefix) {
		// A self-contained token's identifier must never be found as if it
		// were an opaque token, nor the reverse.
		return TokenResponse{}, nil, ErrServerError.Wrap(fmt.Errorf(
			"oauthkit: access token issuer %T must set Token.ID with HashToken (opaque) or SelfContainedTokenID (TokenVerifier)", issuer))
	}
	if access.GrantID == "" {
		// A new grant is named after its first token: unique, and one less
		// random value to draw.
		access.GrantID = access.ID
	}
	resp := TokenResponse{ // returned by value: one allocation less per request
		AccessToken: accessToken,
		TokenType:   "Bearer",
		ExpiresIn:   int64(s.cfg.AccessTokenLifetime / time.Second),
		Scope:       strings.Join(grant.Scope, " "),
	}
	tokens := make([]*Token, 1, 2) // room for a refresh token without growing
	tokens[0] = access
	if grant.RefreshToken && client.AllowsGrant(GrantTypeRefreshToken) {
		raw, err := randomToken(s.cfg.Rand)
		if err != nil {
			return TokenResponse{}, nil, ErrServerError.Wrap(err)
		}
		refresh := *access
		refresh.ID = HashToken(raw)
		refresh.Kind = RefreshToken
		refresh.ExpiresAt = now.Add(s.cfg.RefreshTokenLifetime)
		if grant.refreshScope != nil {
			refresh.Scope = grant.refreshScope
		}
		tokens = append(tokens, &refresh)
		resp.RefreshToken = raw
	}
	return resp, tokens, nil
}

// withIDToken adds an OpenID Connect ID token to resp if grant asks for one.
func (s *Server) withIDToken(ctx context.Context, client *Client, grant *Grant, resp TokenResponse, now time.Time) (TokenResponse, *Error) {
	if !grant.idToken {
		return resp, nil
	}
	var err error
	resp.IDToken, err = s.issueIDToken(ctx, idTokenInput{
		client: client, subject: grant.Subject, nonce: grant.nonce, authTime: grant.AuthTime,
		acr: grant.ACR, accessToken: resp.AccessToken, scope: grant.Scope, now: now,
	})
	if err != nil {
		return TokenResponse{}, ErrServerError.Wrap(err)
	}
	return resp, nil
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

