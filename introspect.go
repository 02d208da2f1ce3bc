package oauthkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Introspection is an RFC 7662 §2.2 introspection response.
type Introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Subject   string   `json:"sub,omitempty"`
	ExpiresAt int64    `json:"exp,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Audience  []string `json:"aud,omitempty"`
	Issuer    string   `json:"iss,omitempty"`
	AuthTime  int64    `json:"auth_time,omitempty"`
	ACR       string   `json:"acr,omitempty"`
	// Act is the actor of a delegated token (RFC 8693 §4.1, whose act
	// claim serves introspection responses too).
	Act *Actor `json:"act,omitempty"`
	// Confirmation is the key a sender-constrained token is bound to
	// (RFC 7800 §3.1; cnf.jkt, RFC 9449 §6.2), or nil.
	Confirmation *Confirmation `json:"cnf,omitempty"`
}

// Confirmation is the cnf member of an introspection response and of a JWT
// access token: the key the token is bound to.
type Confirmation struct {
	// JKT is the RFC 7638 SHA-256 thumbprint of the DPoP key
	// (RFC 9449 §6.1).
	JKT string `json:"jkt"`
}

// object returns the cnf member as a JSON object of Param values, or nil.
func (c *Confirmation) object() map[string]any {
	if c == nil {
		return nil
	}
	return map[string]any{"jkt": c.JKT}
}

var inactive = &Introspection{Active: false}

// appendJSON appends the response as JSON (RFC 7662 §2.2).
func (i *Introspection) appendJSON(b []byte) []byte {
	body, _ := json.Marshal(i) // strings, numbers and string lists: cannot fail
	return append(b, body...)
}

// params returns the response's members under their RFC 7662 §2.2 names,
// leaving out the empty ones, as appendJSON does.
func (i *Introspection) params() []Param {
	p := []Param{{"active", i.Active}}
	for _, f := range [...]Param{{"scope", i.Scope}, {"client_id", i.ClientID}, {"sub", i.Subject},
		{"exp", i.ExpiresAt}, {"iat", i.IssuedAt}, {"token_type", i.TokenType}, {"aud", i.Audience},
		{"iss", i.Issuer}, {"auth_time", i.AuthTime}, {"acr", i.ACR}, {"act", i.Act.object()}, {"cnf", i.Confirmation.object()}} {
		switch v := f.Value.(type) {
		case string:
			if v == "" {
				continue
			}
		case int64:
			if v == 0 {
				continue
			}
		case []string:
			if len(v) == 0 {
				continue
			}
		case map[string]any:
			if v == nil {
				continue
			}
		}
		p = append(p, f)
	}
	return p
}

// ValidateAccessToken returns the stored metadata of an active access token
// presented to a resource server, whatever its format. It returns an error
// wrapping ErrNotFound for anything else: unknown, expired, revoked,
// malformed, or a refresh token. Other errors are internal faults. It is the
// in-process path for resource servers running beside the authorization
// server.
func (s *Server) ValidateAccessToken(ctx context.Context, token string) (*Token, error) {
	now := s.now()
	t, err := s.lookupToken(ctx, token, now)
	if err != nil {
		return nil, err
	}
	if t.Kind != AccessToken || !t.Active(now) {
		return nil, ErrNotFound
	}
	return t, nil
}

// lookupToken finds the stored token for a presented token: through the
// TokenVerifier of its issuer for self-contained tokens, by HashToken for
// opaque ones. The two kinds of ID never meet (SelfContainedTokenID): a
// JWT's jti presented alone hashes to an ID no JWT is stored under, and a
// JWT that no verifier accepts (a retired key, a bad signature) is looked up
// as an opaque string and found by none.
func (s *Server) lookupToken(ctx context.Context, raw string, now time.Time) (*Token, error) {
	if raw == "" || len(raw) > 8<<10 {
		return nil, ErrNotFound
	}
	if strings.Count(raw, ".") == 2 { // a JWS in compact serialization
		for _, v := range s.verifiers {
			id, err := v.VerifyAccessToken(ctx, s.cfg.Issuer, raw, now)
			switch {
			case err == nil && !strings.HasPrefix(id, selfContainedPrefix):
				return nil, fmt.Errorf("oauthkit: TokenVerifier %T returned an ID not made by SelfContainedTokenID", v)
			case err == nil:
				return s.cfg.Tokens.Token(ctx, id, now)
			case !errors.Is(err, ErrNotFound):
				return nil, err // a fault, not "not this issuer's token"
			}
		}
	}
	return s.cfg.Tokens.Token(ctx, HashToken(raw), now)
}

// IntrospectionHandler returns the token introspection endpoint (RFC 7662).
// Callers authenticate as confidential clients; resource servers are
// registered as such. A refresh token is described only to the client it
// was issued to; an access token to its client, to any client when it has no
// audience, and otherwise only to the clients named in its audience. Every
// other token, and anything invalid, expired, revoked or unknown, reads
// {"active":false}.
func (s *Server) IntrospectionHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.backChannel(w, r, "introspection", noRules, func(ctx context.Context, _ *http.Request, form url.Values, client *Client, codec Codec) (encoded, *Error) {
			raw, oerr := tokenParam(form)
			if oerr != nil {
				return encoded{}, oerr
			}
			if client.Public() {
				return encoded{}, ErrInvalidClient.WithDescription("public clients cannot introspect tokens")
			}
			resp, oerr := s.introspect(ctx, client, raw)
			if oerr != nil {
				return encoded{}, oerr
			}
			if codec != nil {
				return encoded{params: resp.params()}, nil
			}
			return encoded{json: appendJSONBuffer(resp.appendJSON)}, nil
		})
	})
}

func (s *Server) introspect(ctx context.Context, caller *Client, raw string) (*Introspection, *Error) {
	now := s.now()
	t, err := s.lookupToken(ctx, raw, now)
	switch {
	case errors.Is(err, ErrNotFound):
		return inactive, nil
	case err != nil:
		return nil, ErrServerError.Wrap(err)
	case !t.Active(now) || !mayIntrospect(caller, t):
		return inactive, nil
	}
	resp := &Introspection{
		Active:    true,
		Scope:     strings.Join(t.Scope, " "),
		ClientID:  t.ClientID,
		Subject:   t.Subject,
		ExpiresAt: t.ExpiresAt.Unix(),
		IssuedAt:  t.IssuedAt.Unix(),
		Audience:  t.Audience,
		Issuer:    s.cfg.Issuer,
		ACR:       t.ACR,
		Act:       t.Actor,
	}
	// token_type says what the token is: "Bearer" or "DPoP" (RFC 9449
	// §6.2) for access tokens, as the token response said, and for refresh
	// tokens the RFC 7009 type hint "refresh_token", so that a resource
	// server never takes a refresh token for an access token. cnf.jkt
	// names the key a token is bound to.
	resp.TokenType = tokenType(t.JKT)
	if t.Kind == RefreshToken {
		resp.TokenType = t.Kind.String()
	}
	if t.JKT != "" {
		resp.Confirmation = &Confirmation{JKT: t.JKT}
	}
	if !t.AuthTime.IsZero() {
		resp.AuthTime = t.AuthTime.Unix()
	}
	return resp, nil
}

func mayIntrospect(caller *Client, t *Token) bool {
	switch {
	case caller.ID == t.ClientID:
		return true
	case t.Kind == RefreshToken:
		return false
	default:
		return len(t.Audience) == 0 || slices.Contains(t.Audience, caller.ID)
	}
}

// RevocationHandler returns the token revocation endpoint (RFC 7009). The
// client authenticates (public clients by client_id) and may revoke only
// tokens issued to it. Revoking a refresh token revokes its whole grant: the
// refresh token family and every access token issued under it. Revoking an
// access token revokes that token. Unknown, expired and invalid tokens get
// 200, as RFC 7009 §2.2 says; token_type_hint is accepted but not needed,
// since every token is found the same way.
func (s *Server) RevocationHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.backChannel(w, r, "revocation", noRules, func(ctx context.Context, _ *http.Request, form url.Values, client *Client, _ Codec) (encoded, *Error) {
			raw, oerr := tokenParam(form)
			if oerr != nil {
				return encoded{}, oerr
			}
			return encoded{}, s.revoke(ctx, client, raw) // 200 with an empty body (RFC 7009 §2.2)
		})
	})
}

func (s *Server) revoke(ctx context.Context, client *Client, raw string) *Error {
	t, err := s.lookupToken(ctx, raw, s.now())
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return ErrServerError.Wrap(err)
	case t.ClientID != client.ID:
		// RFC 7009 §2.1: the request is refused and the client informed.
		return ErrUnauthorizedClient.WithDescription("the token was not issued to this client")
	case t.Kind == RefreshToken:
		err = s.cfg.Tokens.RevokeGrant(ctx, t.GrantID)
	default:
		err = s.cfg.Tokens.RevokeToken(ctx, t.ID)
	}
	if err != nil {
		return ErrServerError.Wrap(err)
	}
	return nil
}

// tokenParam returns the token parameter of introspection and revocation
// requests (RFC 7662 §2.1, RFC 7009 §2.1).
func tokenParam(form url.Values) (string, *Error) {
	token := form.Get("token")
	if token == "" {
		return "", ErrInvalidRequest.WithDescription("missing token")
	}
	return token, nil
}
