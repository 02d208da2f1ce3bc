package oauthkit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oauthkit/oauthkit/internal/formdata"
)

// Response types and modes.
const (
	ResponseTypeCode    = "code"
	ResponseTypeToken   = "token"
	ResponseTypeIDToken = "id_token" // OpenID Connect

	ResponseModeQuery    = "query"
	ResponseModeFragment = "fragment"
	ResponseModeFormPost = "form_post" // OAuth 2.0 Form Post Response Mode
)

// ErrResponseWritten is returned by an Authorizer that has written the
// response itself, such as a login or consent page; the authorization
// endpoint then writes nothing more.
var ErrResponseWritten = errors.New("oauthkit: authorizer wrote the response")

// Authorizer is the host's part of the authorization endpoint: it
// authenticates the resource owner and obtains their consent, with the
// host's own sessions and pages. The library never renders pages.
//
// Authorize is called only for a request that is valid for its client. It
// returns one of:
//   - the resource owner's Consent: the library issues the response;
//   - ErrResponseWritten, after writing a response itself (a login page, a
//     consent page, a redirect to either);
//   - an *Error such as ErrAccessDenied or ErrLoginRequired: the library
//     redirects it to the client;
//   - any other error: an internal fault, logged and redirected to the client
//     as server_error.
//
// A page that continues the flow (a login form, an approve button) submits
// back to the authorization endpoint with the original parameters
// (AuthorizeRequest.Form) and its own fields; the endpoint accepts GET and
// form POST (RFC 6749 §3.1) and ignores parameters it does not know.
type Authorizer interface {
	Authorize(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest) (*Consent, error)
}

// AuthorizerFunc adapts a function to the Authorizer interface.
type AuthorizerFunc func(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest) (*Consent, error)

// Authorize calls f(w, r, req).
func (f AuthorizerFunc) Authorize(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest) (*Consent, error) {
	return f(w, r, req)
}

// AuthorizeRequest is a validated authorization request (RFC 6749 §4.1.1,
// §4.2.1; RFC 7636 §4.3; RFC 8707 §2; RFC 9449 §10), sent to the
// authorization endpoint or pushed first (RFC 9126).
type AuthorizeRequest struct {
	Client       *Client
	ResponseType string
	ResponseMode string
	// RedirectURI is where the response goes: the requested URI, or the
	// client's only registered one when none was requested.
	RedirectURI string
	// Scope is the requested scope, or the client's DefaultScopes.
	Scope               []string
	State               string
	CodeChallenge       string
	CodeChallengeMethod string
	Nonce               string
	// Prompt and MaxAge are the OpenID Connect prompt values and max_age
	// (OIDC Core §3.1.2.1), set only for requests with the openid scope. The
	// Authorizer must honour them: with prompt "none" it must not show a
	// page but return ErrLoginRequired, ErrConsentRequired or
	// ErrInteractionRequired; with "login" it must authenticate the user
	// again. The library refuses a consent whose AuthTime is older than
	// MaxAge with login_required.
	Prompt []string
	MaxAge *time.Duration
	// Resources are the requested resource indicators (RFC 8707 §2), each
	// one the client may ask for, without repeats, or nil: a consent page
	// shows them. The code's token requests may narrow them; an implicit
	// grant's access token has them as its audience.
	Resources []string
	// DPoPJKT is the dpop_jkt parameter (RFC 9449 §10), the thumbprint of
	// the key the code is bound to, or empty; always empty without
	// Config.DPoP, which ignores the parameter.
	DPoPJKT string
	// Params are the authorization request's parameters, as validated,
	// including those the library does not know (such as login_hint): for
	// a pushed request, those the client pushed (RFC 9126 §4); otherwise
	// the same values as Form.
	Params url.Values
	// Form holds this HTTP request's parameters, for pages that post back
	// to the authorization endpoint: for a pushed request only client_id,
	// request_uri and the pages' own fields, since the endpoint ignores the
	// other authorization parameters sent beside a request_uri.
	Form url.Values

	redirectURIParam bool
	pushedID         string // the pushed request this request came from, until it is used
	rt               responseType
	openID           bool
}

// responseType is a parsed response_type: a set of code, token and
// id_token (OAuth 2.0 Multiple Response Type Encoding Practices §3).
type responseType struct{ code, token, idToken bool }

func parseResponseType(s string) (responseType, bool) {
	var rt responseType
	for _, v := range strings.Split(s, " ") {
		var p *bool
		switch v {
		case ResponseTypeCode:
			p = &rt.code
		case ResponseTypeToken:
			p = &rt.token
		case ResponseTypeIDToken:
			p = &rt.idToken
		default:
			return responseType{}, false
		}
		if *p {
			return responseType{}, false
		}
		*p = true
	}
	return rt, true
}

// frontChannel reports whether tokens are returned from the authorization
// endpoint itself (the implicit and hybrid flows).
func (rt responseType) frontChannel() bool { return rt.token || rt.idToken }

// Consent is what the resource owner approved.
type Consent struct {
	// Subject identifies the resource owner. Required.
	Subject string
	// Scope is the approved scope, which must be within the requested
	// scope. Nil means all of the requested scope.
	Scope []string
	// AuthTime is when the resource owner authenticated, or zero.
	AuthTime time.Time
	// ACR is the authentication context class reference satisfied, or empty.
	ACR string
}

// AuthorizeHandler returns the authorization endpoint (RFC 6749 §3.1). It
// validates the request, asks the Authorizer for consent, and redirects the
// result to the client. Errors about client_id or redirect_uri are never
// redirected; they go to Config.ErrorPage.
func (s *Server) AuthorizeHandler() http.Handler {
	return http.HandlerFunc(s.serveAuthorize)
}

func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	req, oerr := s.parseAuthorizeRequest(ctx, w, r)
	switch {
	case oerr != nil && req == nil:
		s.showError(ctx, w, r, oerr)
		return
	case oerr != nil:
		s.redirectError(ctx, w, r, req, oerr)
		return
	}
	if s.cfg.Authorizer == nil {
		s.redirectError(ctx, w, r, req, ErrServerError.Wrap(errors.New("oauthkit: Config.Authorizer is nil")))
		return
	}
	consent, err := s.cfg.Authorizer.Authorize(w, r, req)
	switch {
	case errors.Is(err, ErrResponseWritten):
		return
	case err != nil:
		s.redirectError(ctx, w, r, req, asError(err))
		return
	case consent == nil || consent.Subject == "":
		s.redirectError(ctx, w, r, req, ErrServerError.Wrap(errors.New("oauthkit: Authorizer returned no consent and no error")))
		return
	case req.MaxAge != nil && (consent.AuthTime.IsZero() || // max_age and auth_time are whole seconds
		s.now().Unix()-consent.AuthTime.Unix() > int64(*req.MaxAge/time.Second)):
		s.redirectError(ctx, w, r, req, ErrLoginRequired.WithDescription("authentication is older than max_age"))
		return
	}
	if oerr := s.usePushedRequest(ctx, req); oerr != nil {
		s.showError(ctx, w, r, oerr)
		return
	}
	params, oerr := s.approve(ctx, req, consent)
	if oerr != nil {
		s.redirectError(ctx, w, r, req, oerr)
		return
	}
	s.redirectResponse(w, r, req, params)
}

// parseAuthorizeRequest reads and validates an authorization request: the
// parameters it carries, or those its request_uri names (RFC 9126 §4). On
// error, a nil request means the error must not be redirected.
func (s *Server) parseAuthorizeRequest(ctx context.Context, w http.ResponseWriter, r *http.Request) (*AuthorizeRequest, *Error) {
	var form url.Values
	switch r.Method {
	case http.MethodGet:
		var err error
		if form, err = formdata.Parse(r.URL.RawQuery); err != nil {
			return nil, ErrInvalidRequest.WithDescription("malformed query")
		}
	case http.MethodPost:
		var oerr *Error
		if form, oerr = s.readForm(w, r); oerr != nil {
			return nil, oerr
		}
	default:
		e := ErrInvalidRequest.WithDescription("the authorization endpoint accepts only GET and POST")
		e.Status = http.StatusMethodNotAllowed
		return nil, e
	}
	client, oerr := s.authorizeClient(ctx, form)
	if oerr != nil {
		return nil, oerr
	}
	if s.cfg.PAR != nil && form.Has("request_uri") {
		return s.pushedAuthorizeRequest(ctx, client, form)
	}
	req, oerr := s.validateAuthorizeRequest(ctx, client, form)
	if req != nil && s.requiresPAR(client) {
		// RFC 9126 §4: invalid_request, to the client once its redirect
		// URI is known good.
		return req, ErrInvalidRequest.WithDescription("this client must push its authorization requests (RFC 9126)")
	}
	return req, oerr
}

// approve issues the authorization response parameters for a consent.
func (s *Server) approve(ctx context.Context, req *AuthorizeRequest, consent *Consent) (url.Values, *Error) {
	scope := consent.Scope
	if scope == nil {
		scope = req.Scope
	}
	for _, sc := range scope {
		if !slices.Contains(req.Scope, sc) {
			return nil, ErrServerError.Wrap(errors.New("oauthkit: Authorizer consented to a scope that was not requested"))
		}
	}
	now := s.now()
	params := url.Values{}
	var code, accessToken string
	if req.rt.code {
		raw, err := randomToken(s.cfg.Rand)
		if err != nil {
			return nil, ErrServerError.Wrap(err)
		}
		grantID, err := s.newID()
		if err != nil {
			return nil, ErrServerError.Wrap(err)
		}
		err = s.cfg.Codes.CreateCode(ctx, &AuthorizationCode{
			ID:                  HashToken(raw),
			GrantID:             grantID,
			ClientID:            req.Client.ID,
			RedirectURI:         req.RedirectURI,
			RedirectURIParam:    req.redirectURIParam,
			Subject:             consent.Subject,
			Scope:               scope,
			AuthTime:            consent.AuthTime,
			ACR:                 consent.ACR,
			CodeChallenge:       req.CodeChallenge,
			CodeChallengeMethod: req.CodeChallengeMethod,
			Nonce:               req.Nonce,
			Resources:           req.Resources,
			DPoPJKT:             req.DPoPJKT,
			ExpiresAt:           now.Add(s.cfg.CodeLifetime),
		})
		if err != nil {
			return nil, ErrServerError.Wrap(err)
		}
		code = raw
		params.Set("code", code)
	}
	if req.rt.token {
		// RFC 6749 §4.2.2: no refresh token in the implicit grant.
		resp, oerr := s.issue(ctx, req.Client, &Grant{Subject: consent.Subject, Scope: scope, Audience: req.Resources, AuthTime: consent.AuthTime, ACR: consent.ACR, grantType: GrantTypeImplicit}, now)
		if oerr != nil {
			return nil, oerr
		}
		accessToken = resp.AccessToken
		params.Set("access_token", resp.AccessToken)
		params.Set("token_type", resp.TokenType)
		params.Set("expires_in", strconv.FormatInt(resp.ExpiresIn, 10))
		if !slices.Equal(scope, req.Scope) {
			params.Set("scope", resp.Scope) // RFC 6749 §4.2.2: scope when it differs
		}
	}
	if req.rt.idToken {
		idToken, err := s.issueIDToken(ctx, idTokenInput{
			client: req.Client, subject: consent.Subject, nonce: req.Nonce, authTime: consent.AuthTime,
			acr: consent.ACR, accessToken: accessToken, code: code, scope: scope, now: now,
		})
		if err != nil {
			return nil, ErrServerError.Wrap(err)
		}
		params.Set("id_token", idToken)
	}
	return params, nil
}

func errorParams(e *Error) url.Values {
	v := url.Values{"error": {e.Code}}
	if d := sanitizeDescription(e.Description); d != "" {
		v.Set("error_description", d)
	}
	if e.URI != "" {
		v.Set("error_uri", e.URI)
	}
	return v
}

// redirectError sends e to the client. A pushed request is used up first,
// as by a consent: if it cannot be, the error page shows why instead.
func (s *Server) redirectError(ctx context.Context, w http.ResponseWriter, r *http.Request, req *AuthorizeRequest, e *Error) {
	if oerr := s.usePushedRequest(ctx, req); oerr != nil {
		s.showError(ctx, w, r, oerr)
		return
	}
	e = authorizeError(e)
	s.logFault(ctx, "authorize", e)
	s.redirectResponse(w, r, req, errorParams(e))
}

// redirectResponse sends an authorization response to the client in the
// request's response mode, adding state and iss (RFC 9207).
func (s *Server) redirectResponse(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest, params url.Values) {
	if req.State != "" {
		params.Set("state", req.State)
	}
	params.Set("iss", s.cfg.Issuer)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	switch req.ResponseMode {
	case ResponseModeFormPost:
		writeFormPost(w, req.RedirectURI, params)
	case ResponseModeFragment:
		redirect(w, r, req.RedirectURI+"#"+params.Encode())
	default:
		sep := "?"
		if strings.Contains(req.RedirectURI, "?") {
			sep = "&" // keep the registered query (RFC 6749 §3.1.2)
		}
		redirect(w, r, req.RedirectURI+sep+params.Encode())
	}
}

// redirect answers 302 Found to GET and 303 See Other to POST, so that the
// browser never re-posts the form to the client (RFC 9700 §4.12).
func redirect(w http.ResponseWriter, r *http.Request, location string) {
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	w.Header().Set("Location", location)
	w.WriteHeader(status)
}

var formPostTemplate = template.Must(template.New("form_post").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Submit</title></head>
<body>
<form method="post" action="{{.Action}}">
{{range $k, $vs := .Params}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">
{{end}}{{end}}<noscript><button type="submit">Continue</button></noscript>
</form>
<script>` + formPostScript + `</script>
</body></html>
`))

// formPostScript submits the form_post page's form; formPostScriptHash is its
// CSP hash, so that it is the only script the page may run.
const formPostScript = "document.forms[0].submit()"

var formPostScriptHash = func() string {
	sum := sha256.Sum256([]byte(formPostScript))
	return base64.StdEncoding.EncodeToString(sum[:])
}()

// writeFormPost renders the OAuth 2.0 Form Post Response Mode page: an
// auto-submitting form carrying params to action.
func writeFormPost(w http.ResponseWriter, action string, params url.Values) {
	h := w.Header()
	h.Set("Content-Type", "text/html;charset=UTF-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'sha256-"+formPostScriptHash+"'; form-action "+cspSource(action)+"; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	formPostTemplate.Execute(w, struct {
		Action template.URL
		Params url.Values
	}{template.URL(action), params})
}

// cspSource returns the scheme and authority of u for a CSP source list.
func cspSource(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" || p.Host == "" {
		return "'none'"
	}
	return p.Scheme + "://" + p.Host
}

// showError logs and shows an authorization error that must not be
// redirected.
func (s *Server) showError(ctx context.Context, w http.ResponseWriter, r *http.Request, e *Error) {
	e = authorizeError(e)
	s.logFault(ctx, "authorize", e)
	s.errorPage(w, r, e)
}

// errorPage answers an authorization error that must not be redirected.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, e *Error) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	switch e.HTTPStatus() {
	case http.StatusMethodNotAllowed:
		h.Set("Allow", "GET, POST") // RFC 9110 §15.5.6, whoever renders the page
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", retryAfter)
	}
	if s.cfg.ErrorPage != nil {
		s.cfg.ErrorPage(w, r, e)
		return
	}
	h.Set("Content-Type", "text/plain;charset=UTF-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.HTTPStatus())
	w.Write([]byte(e.Code + ": " + sanitizeDescription(e.Description) + "\n"))
}
