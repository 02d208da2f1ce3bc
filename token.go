package oauthkit

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unsafe"

	"github.com/oauthkit/oauthkit/internal/formdata"
)

// TokenResponse is a successful access token response (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	IDToken      string `json:"id_token,omitempty"`

	extra []Param // from the issuance hook
}

// TokenHandler returns the token endpoint (RFC 6749 §3.2): it accepts POST
// requests with an application/x-www-form-urlencoded body, authenticates the
// client, and dispatches on grant_type to the built-in and configured
// GrantHandlers. Every response carries Cache-Control: no-store.
func (s *Server) TokenHandler() http.Handler {
	return http.HandlerFunc(s.serveToken)
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	s.setDPoPNonce(w.Header())
	s.backChannel(w, r, "token", func(form url.Values) requestRules {
		gt := form.Get("grant_type")
		return requestRules{repeatable: s.repeatable[gt], clientAuthOptional: s.authOptional[gt]}
	}, func(ctx context.Context, r *http.Request, form url.Values, client *Client, codec Codec) (encoded, *Error) {
		resp, oerr := s.token(ctx, r, form, client)
		if oerr != nil {
			return encoded{}, oerr
		}
		if codec != nil {
			return encoded{params: resp.params()}, nil
		}
		return encoded{json: appendJSONBuffer(resp.appendJSON)}, nil
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
	for _, p := range r.extra {
		b = append(b, ',')
		b = appendJSONString(b, p.Name)
		b = append(b, ':')
		b = appendJSONValue(b, p.Value)
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
	return append(p, r.extra...)
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
	// Checked before the grant, so that a bad resource, a bad proof or a
	// missing nonce never uses up a code.
	resources, oerr := s.resolveResources(client, form["resource"])
	if oerr != nil {
		return TokenResponse{}, oerr
	}
	proof, oerr := s.tokenProof(ctx, r.Header, client)
	if oerr != nil {
		return TokenResponse{}, oerr
	}
	req := &TokenRequest{GrantType: grantType, Client: client, Form: form, Header: r.Header, DPoP: proof, Time: s.now(), Resources: resources, s: s}
	grant, err := handler.HandleGrant(ctx, req)
	if err != nil {
		return TokenResponse{}, asError(err)
	}
	if grant == nil {
		return TokenResponse{}, ErrServerError.Wrap(errors.New("oauthkit: GrantHandler returned neither grant nor error"))
	}
	grant.grantType, grant.form, grant.resources = grantType, form, resources
	if proof != nil {
		grant.jkt = proof.Thumbprint
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
	// body is ours and never written again: share it with the string
	// instead of copying it, one allocation less per request.
	form, err := formdata.Parse(unsafe.String(unsafe.SliceData(body), len(body)))
	if err != nil {
		return nil, ErrInvalidRequest.WithDescription("malformed request body")
	}
	return form, nil
}

// readBody reads a request body of at most MaxRequestBytes into a slice of
// its own.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *Error) {
	if r.ContentLength > s.cfg.MaxRequestBytes {
		return nil, errBodyTooLarge()
	}
	if r.ContentLength < 0 { // length unknown: read up to the limit
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxRequestBytes))
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return nil, errBodyTooLarge()
		case err != nil:
			return nil, errBodyUnreadable()
		}
		return body, nil
	}
	body := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(r.Body, body); err != nil {
		return nil, errBodyUnreadable()
	}
	return body, nil
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
