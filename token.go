package oauthkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TokenResponse is a successful access token response (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// TokenHandler returns the token endpoint (RFC 6749 §3.2): it accepts POST
// requests with an application/x-www-form-urlencoded body, authenticates the
// client, and dispatches on grant_type to the built-in and configured
// GrantHandlers. Every response carries Cache-Control: no-store.
func (s *Server) TokenHandler() http.Handler {
	return http.HandlerFunc(s.serveToken)
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	s.backChannel(w, r, "token", func(form url.Values) map[string]bool {
		return s.repeatable[form.Get("grant_type")]
	}, func(ctx context.Context, r *http.Request, form url.Values, client *Client, codec Codec) (encoded, *Error) {
		resp, oerr := s.token(ctx, r, form, client)
		if oerr != nil {
			return encoded{}, oerr
		}
		if codec != nil {
			return encoded{params: resp.params()}, nil
		}
		return encoded{json: resp.appendJSON(make([]byte, 0, 256))}, nil
	})
}

// Constant header values, shared by every response to save allocations.
// They are never modified in place.
var (
	headerNoStore = []string{"no-store"}
	headerNoCache = []string{"no-cache"}
	headerJSON    = []string{"application/json;charset=UTF-8"}
)

// appendJSON appends r as a JSON object, as encoding/json would, without
// reflection: the token endpoint's hottest path.
func (r *TokenResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"access_token":`...)
	b = appendJSONString(b, r.AccessToken)
	b = append(b, `,"token_type":`...)
	b = appendJSONString(b, r.TokenType)
	if r.ExpiresIn != 0 {
		b = append(b, `,"expires_in":`...)
		b = strconv.AppendInt(b, r.ExpiresIn, 10)
	}
	for _, f := range [...]struct{ name, value string }{
		{`,"refresh_token":`, r.RefreshToken},
		{`,"scope":`, r.Scope},
		{`,"id_token":`, r.IDToken},
	} {
		if f.value != "" {
			b = append(b, f.name...)
			b = appendJSONString(b, f.value)
		}
	}
	return append(b, '}')
}

// params returns r's members under their RFC 6749 §5.1 names, as
// appendJSON writes them.
func (r *TokenResponse) params() []Param {
	p := make([]Param, 0, 6)
	p = append(p, Param{"access_token", r.AccessToken}, Param{"token_type", r.TokenType})
	if r.ExpiresIn != 0 {
		p = append(p, Param{"expires_in", r.ExpiresIn})
	}
	for _, f := range [...]Param{{"refresh_token", r.RefreshToken}, {"scope", r.Scope}, {"id_token", r.IDToken}} {
		if f.Value != "" {
			p = append(p, f)
		}
	}
	return p
}

// appendJSONString appends s as a JSON string. Tokens and scopes are plain
// ASCII, so the fast path copies; anything else goes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// token handles one token request of an authenticated client, returning
// the response or the error.
func (s *Server) token(ctx context.Context, r *http.Request, form url.Values, client *Client) (TokenResponse, *Error) {
	grantType := form.Get("grant_type")
	handler, ok := s.grants[grantType]
	switch {
	case grantType == "":
		return TokenResponse{}, ErrInvalidRequest.WithDescription("missing grant_type")
	case !ok:
		return TokenResponse{}, ErrUnsupportedGrantType
	case !client.AllowsGrant(grantType):
		return TokenResponse{}, ErrUnauthorizedClient.WithDescription("client is not allowed the %s grant", grantType)
	}
	req := &TokenRequest{GrantType: grantType, Client: client, Form: form, Header: r.Header, Time: s.now()}
	grant, err := handler.HandleGrant(ctx, req)
	if err != nil {
		return TokenResponse{}, asError(err)
	}
	if grant == nil {
		return TokenResponse{}, ErrServerError.Wrap(errors.New("oauthkit: GrantHandler returned neither grant nor error"))
	}
	return s.issue(ctx, client, grant, req.Time)
}

// readForm parses an application/x-www-form-urlencoded body of at most
// MaxRequestBytes.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request) (url.Values, *Error) {
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, ErrInvalidRequest.WithDescription("content type must be application/x-www-form-urlencoded")
		}
	}
	body, oerr := s.readBody(w, r)
	if oerr != nil {
		return nil, oerr
	}
	form, err := url.ParseQuery(body)
	if err != nil {
		return nil, ErrInvalidRequest.WithDescription("malformed request body")
	}
	return form, nil
}

// readBody reads a request body of at most MaxRequestBytes.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (string, *Error) {
	if r.ContentLength > s.cfg.MaxRequestBytes {
		return "", errBodyTooLarge()
	}
	if r.ContentLength < 0 { // length unknown: read up to the limit
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxRequestBytes))
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return "", errBodyTooLarge()
		case err != nil:
			return "", errBodyUnreadable()
		}
		return string(body), nil
	}
	body := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(r.Body, body); err != nil {
		return "", errBodyUnreadable()
	}
	return string(body), nil
}

// errBodyTooLarge and errBodyUnreadable make readBody's errors when they
// happen, never on the way to success, and a fresh copy each time.
func errBodyTooLarge() *Error   { return ErrInvalidRequest.WithDescription("request body too large") }
func errBodyUnreadable() *Error { return ErrInvalidRequest.WithDescription("unreadable request body") }

// repeatedParam returns the name of a parameter that appears more than once
// and is not allowed to, or "" (RFC 6749 §3.1, §3.2). At the token endpoint
// every parameter counts, since a grant handler may read any of them; a
// grant declares the ones it lets repeat (RepeatableParameters).
func repeatedParam(form url.Values, allowed map[string]bool) string {
	for name, values := range form {
		if len(values) > 1 && !allowed[name] {
			return name
		}
	}
	return ""
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

// errorBody is the JSON error response of RFC 6749 §5.2.
type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
	ErrorURI         string `json:"error_uri,omitempty"`
}

func writeJSONError(w http.ResponseWriter, e *Error) {
	writeJSON(w, e.HTTPStatus(), errorBody{e.Code, sanitizeDescription(e.Description), e.URI})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // only for host-supplied values that cannot be encoded
		status, body = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	writeJSONBody(w, status, body)
}

func writeJSONBody(w http.ResponseWriter, status int, body []byte) {
	w.Header()["Content-Type"] = headerJSON
	w.WriteHeader(status)
	w.Write(body)
}

// sanitizeDescription drops characters RFC 6749 §5.2 forbids in
// error_description (anything outside %x20-21 / %x23-5B / %x5D-7E).
func sanitizeDescription(d string) string {
	for i := 0; i < len(d); i++ {
		if c := d[i]; c < 0x20 || c == '"' || c == '\\' || c > 0x7e {
			return strings.Map(func(r rune) rune {
				if r < 0x20 || r == '"' || r == '\\' || r > 0x7e {
					return -1
				}
				return r
			}, d)
		}
	}
	return d
}
