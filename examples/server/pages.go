package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oauthkit/oauthkit"
)

// This file is the host's side of the authorization endpoint: sessions, the
// login and consent pages, and their CSRF protection. The library never
// renders pages; it calls the Authorizer and redirects what it returns.

// Names of the form fields the pages add to the authorization request.
// They are never echoed back as hidden fields.
const (
	fieldUsername = "username"
	fieldPassword = "password"
	fieldCSRF     = "csrf_token"
	fieldAction   = "action"
)

// Values of the action field: which submit button was pressed.
const (
	actionLogin   = "login"
	actionApprove = "approve"
	actionDeny    = "deny"
)

var ownFields = []string{fieldUsername, fieldPassword, fieldCSRF, fieldAction}

// sessionLifetime is how long a sign-in lasts.
const sessionLifetime = 8 * time.Hour

// session is a signed-in resource owner.
type session struct {
	subject  string
	authTime time.Time
	expires  time.Time
	// consents maps a client ID to the scopes the user approved for it.
	consents map[string][]string
}

// sessions holds sessions in memory, keyed by their random ID. Only a
// successful sign-in creates one, so the map grows only with real users.
type sessions struct {
	mu    sync.Mutex
	byID  map[string]*session
	sweep int // inserts since the last sweep of expired sessions
}

func newSessions() *sessions { return &sessions{byID: make(map[string]*session)} }

// create starts a session for subject and returns its ID.
func (s *sessions) create(subject string, now time.Time) (string, error) {
	id, err := randomString()
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sweep++; s.sweep >= max(len(s.byID), 64) {
		s.sweep = 0
		maps.DeleteFunc(s.byID, func(_ string, ss *session) bool { return !now.Before(ss.expires) })
	}
	s.byID[id] = &session{
		subject:  subject,
		authTime: now,
		expires:  now.Add(sessionLifetime),
		consents: make(map[string][]string),
	}
	return id, nil
}

// get returns a copy of the live session with the given ID.
func (s *sessions) get(id string, now time.Time) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[id]
	if !ok {
		return session{}, false
	}
	if !now.Before(ss.expires) {
		delete(s.byID, id)
		return session{}, false
	}
	return session{subject: ss.subject, authTime: ss.authTime, expires: ss.expires}, true
}

// renew starts a session for subject that replaces the session oldID, if
// any, and returns its ID. The consents of the old session carry over when
// it was the same user's (who signed in again, as OpenID Connect's prompt
// and max_age ask); the old ID is no longer valid.
func (s *sessions) renew(oldID, subject string, now time.Time) (string, error) {
	id, err := s.create(subject, now)
	if err != nil || oldID == "" {
		return id, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.byID[oldID]; ok && old.subject == subject && now.Before(old.expires) {
		for clientID, scope := range old.consents {
			s.byID[id].consents[clientID] = slices.Clone(scope)
		}
	}
	delete(s.byID, oldID)
	return id, nil
}

// consented reports whether the session's user has approved every scope of
// scope for clientID before.
func (s *sessions) consented(id, clientID string, scope []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[id]
	if !ok {
		return false
	}
	approved, ok := ss.consents[clientID]
	if !ok {
		return false
	}
	for _, sc := range scope {
		if !slices.Contains(approved, sc) {
			return false
		}
	}
	return true
}

// remember records that the session's user approved scope for clientID.
func (s *sessions) remember(id, clientID string, scope []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[id]
	if !ok {
		return
	}
	approved := slices.Clone(ss.consents[clientID])
	for _, sc := range scope {
		if !slices.Contains(approved, sc) {
			approved = append(approved, sc)
		}
	}
	ss.consents[clientID] = approved
}

func randomString() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// pages renders the login and consent pages and runs the Authorizer.
type pages struct {
	users    oauthkit.UserAuthenticator
	sessions *sessions
	// csrfKey signs CSRF tokens (see csrfToken): a token is good only with
	// the cookie and session it was made for (signed double-submit
	// cookie), for the authorization request it was shown with, and for
	// csrfLifetime.
	csrfKey []byte
	secure  bool // cookies are Secure: the issuer is https
	// base is the issuer's path: empty for the server's own pages, "/{id}"
	// for a tenant's, whose forms post under it and whose cookies are
	// scoped to it.
	base string
	now  func() time.Time
	log  *slog.Logger
	// clientNames are the config's client names by ID, for a store that
	// does not keep oauthkit.Client.Name; see clientName.
	clientNames map[string]string
	// scopeDescriptions say what each scope allows, in plain words, on the
	// consent page.
	scopeDescriptions map[string]string
	// server answers the device verification page's lookups and
	// decisions; set once the server is made.
	server *oauthkit.Server
}

// clientName is how the pages name a client to people: its Name, as the
// store has it or else as the config has it, or its ID when it has none.
func (p *pages) clientName(c *oauthkit.Client) string {
	switch {
	case c.Name != "":
		return c.Name
	case p.clientNames[c.ID] != "":
		return p.clientNames[c.ID]
	default:
		return c.ID
	}
}

// scopeView is a scope as the consent page shows it: its description when
// there is one, and its name.
type scopeView struct {
	Name, Description string
}

// scopeViews returns the consent page's list for scope.
func (p *pages) scopeViews(scope []string) []scopeView {
	out := make([]scopeView, 0, len(scope))
	for _, sc := range scope {
		out = append(out, scopeView{Name: sc, Description: p.scopeDescriptions[sc]})
	}
	return out
}

func newPages(users oauthkit.UserAuthenticator, issuer string, logger *slog.Logger) (*pages, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	u, err := url.Parse(issuer)
	if err != nil {
		return nil, err
	}
	return &pages{
		base:     u.Path,
		users:    users,
		sessions: newSessions(),
		csrfKey:  key,
		secure:   strings.HasPrefix(issuer, "https://"),
		now:      time.Now,
		log:      logger,
	}, nil
}

// Cookie names. Over https the __Host- prefix pins a cookie to this origin
// (no Domain, Path=/, Secure). A tenant's cookies are scoped to its path,
// and named after it too, so that the browser never sends one tenant's
// session, nor the server's own, as another's: __Secure- then (Secure, no
// Domain), as __Host- requires Path=/.
func (p *pages) sessionCookieName() string {
	return p.cookiePrefix() + "oauthkit-session" + p.cookieSuffix()
}
func (p *pages) csrfCookieName() string { return p.cookiePrefix() + "oauthkit-csrf" + p.cookieSuffix() }

func (p *pages) cookiePrefix() string {
	switch {
	case !p.secure:
		return ""
	case p.base != "":
		return "__Secure-"
	default:
		return "__Host-"
	}
}

// cookieSuffix is "-{id}" for a tenant's pages, empty otherwise.
func (p *pages) cookieSuffix() string { return strings.ReplaceAll(p.base, "/", "-") }

// cookiePath is the path the cookies are sent for: the issuer's.
func (p *pages) cookiePath() string { return p.base + "/" }

func (p *pages) setCookie(w http.ResponseWriter, name, value string) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     p.cookiePath(),
		HttpOnly: true,
		Secure:   p.secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// currentSession returns the ID and the session of the request's session
// cookie, if it names a live session.
func (p *pages) currentSession(r *http.Request) (string, session, bool) {
	c, err := r.Cookie(p.sessionCookieName())
	if err != nil || c.Value == "" {
		return "", session{}, false
	}
	ss, ok := p.sessions.get(c.Value, p.now())
	if !ok {
		return "", session{}, false
	}
	return c.Value, ss, true
}

// csrfLifetime is how long a login or consent form may wait for its
// submission: much less than a session, so that a token seen once (in a
// log, a proxy, a shoulder) is soon worthless.
const csrfLifetime = time.Hour

// csrfSkew is how far in the future a token's issue time may be: none is
// expected, the server signs with its own clock, but a clock stepped back a
// little should not refuse every open form.
const csrfSkew = time.Minute

// csrfToken returns the CSRF token of a form shown at issued, for the
// browser's CSRF cookie, its session (empty before sign-in) and the
// authorization request req: "<issued unix seconds>.<HMAC>", where the
// HMAC covers the cookie, the session ID, the client, the redirect URI,
// the scopes and the issue time. So a token from one consent page approves
// nothing but the request it was shown for: not another client, not more
// scopes, not another redirect URI (issue 7, item 14); and not after
// csrfLifetime.
func (p *pages) csrfToken(cookie, sessionID string, b csrfBinding, issued time.Time) string {
	unix := strconv.FormatInt(issued.Unix(), 10)
	return unix + "." + base64.RawURLEncoding.EncodeToString(p.csrfMAC(cookie, sessionID, b, unix))
}

// csrfBinding is the request a CSRF token was made for: its client, its
// scope, and its target, the redirect URI of an authorization request or
// "device " and the user code of a device request (a space never occurs in
// a URI, so the two never meet).
type csrfBinding struct {
	clientID, target string
	scope            []string
}

// authorizeBinding is the CSRF binding of an authorization request.
func authorizeBinding(req *oauthkit.AuthorizeRequest) csrfBinding {
	return csrfBinding{clientID: req.Client.ID, target: req.RedirectURI, scope: req.Scope}
}

// csrfMAC is the HMAC of a CSRF token. Each field is length-prefixed, so
// that no two lists of fields are signed alike.
func (p *pages) csrfMAC(cookie, sessionID string, b csrfBinding, unix string) []byte {
	scope := slices.Clone(b.scope)
	slices.Sort(scope) // the set approved, whatever the order asked
	scope = slices.Compact(scope)
	mac := hmac.New(sha256.New, p.csrfKey)
	for _, f := range []string{"oauthkit-example csrf v2", cookie, sessionID, b.clientID, b.target, strings.Join(scope, " "), unix} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		mac.Write(n[:])
		mac.Write([]byte(f))
	}
	return mac.Sum(nil)
}

// csrfCookie returns the browser's CSRF cookie value, setting a new one if
// it has none.
func (p *pages) csrfCookie(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(p.csrfCookieName()); err == nil && len(c.Value) >= 32 {
		return c.Value, nil
	}
	v, err := randomString()
	if err != nil {
		return "", err
	}
	p.setCookie(w, p.csrfCookieName(), v)
	return v, nil
}

// checkCSRF reports whether a POST with the parameters form carries a token
// made for its CSRF cookie, its session and the request b, no older than
// csrfLifetime, and each of the pages' own fields at most once (as the
// pages' forms send them).
func (p *pages) checkCSRF(r *http.Request, form url.Values, b csrfBinding, sessionID string) bool {
	for _, f := range ownFields {
		if len(form[f]) > 1 {
			return false
		}
	}
	c, err := r.Cookie(p.csrfCookieName())
	if err != nil || c.Value == "" || len(form[fieldCSRF]) != 1 {
		return false
	}
	unix, sig, ok := strings.Cut(form.Get(fieldCSRF), ".")
	if !ok {
		return false
	}
	issued, err := strconv.ParseInt(unix, 10, 64)
	if err != nil || strconv.FormatInt(issued, 10) != unix { // one spelling per time
		return false
	}
	age := p.now().Sub(time.Unix(issued, 0))
	if age > csrfLifetime || age < -csrfSkew {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	return err == nil && hmac.Equal(got, p.csrfMAC(c.Value, sessionID, b, unix))
}

// Authorize is the oauthkit.Authorizer: it signs the user in with the login
// page, asks for consent with the consent page unless the user approved the
// same client and scopes before, and returns the consent. Every POST must
// carry a valid CSRF token.
//
// It honours the OpenID Connect prompt and max_age parameters (OIDC Core
// §3.1.2.1): "login" and "select_account", or a sign-in older than max_age,
// show the login page even to a signed-in user; "consent" shows the consent
// page even when the user approved before; "none" never shows a page but
// answers login_required or consent_required.
//
// A password that could not be checked because too many checks are waiting
// gets the login page again, with 503 and Retry-After, and the form ready
// to resubmit; a sign-in abandoned by the browser before its password was
// checked gets no answer and leaves nothing behind.
func (p *pages) Authorize(w http.ResponseWriter, r *http.Request, req *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
	sid, ss, signedIn := p.currentSession(r)
	justSignedIn := false
	if r.Method == http.MethodPost && req.Form.Has(fieldAction) {
		if !p.checkCSRF(r, req.Form, authorizeBinding(req), sid) {
			p.forbidden(w, req.Client)
			return nil, oauthkit.ErrResponseWritten
		}
		switch req.Form.Get(fieldAction) {
		case actionDeny:
			return nil, oauthkit.ErrAccessDenied.WithDescription("the user denied the request")
		case actionLogin:
			username := req.Form.Get(fieldUsername)
			var failed signInFailure
			sid, ss, failed = p.signIn(w, r, sid, username, req.Form.Get(fieldPassword))
			switch {
			case failed.abandoned:
				return nil, oauthkit.ErrResponseWritten
			case failed.err != nil:
				return nil, failed.err
			case failed.msg != "":
				return p.login(w, r, req, sid, username, failed.status, failed.msg)
			}
			signedIn, justSignedIn = true, true
		case actionApprove:
			if signedIn {
				p.sessions.remember(sid, req.Client.ID, req.Scope)
				return &oauthkit.Consent{Subject: ss.subject, AuthTime: ss.authTime}, nil
			}
			// Not signed in (the token came from a login page, whose
			// token is bound to no session): show the login page.
		}
	}
	promptNone := slices.Contains(req.Prompt, promptNoneValue)
	if !signedIn || !justSignedIn && p.mustSignInAgain(req, ss) {
		if promptNone {
			return nil, oauthkit.ErrLoginRequired.WithDescription("the user is not signed in")
		}
		return p.login(w, r, req, sid, "", http.StatusOK, "")
	}
	if !slices.Contains(req.Prompt, promptConsent) && p.sessions.consented(sid, req.Client.ID, req.Scope) {
		return &oauthkit.Consent{Subject: ss.subject, AuthTime: ss.authTime}, nil
	}
	if promptNone {
		return nil, oauthkit.ErrConsentRequired.WithDescription("the user has not approved this request")
	}
	return p.consent(w, r, req, sid, ss)
}

// signInFailure is why signIn did not sign the user in: a message for the
// login page shown again with status, a browser gone before the password
// was checked (nothing to answer), or a fault.
type signInFailure struct {
	msg       string
	status    int
	abandoned bool
	err       error
}

// signIn checks a username and password from the login page and, if they
// are right, starts a new session in place of the session sid (a new ID at
// each sign-in: no session fixation) and sets its cookie. It returns the new
// session, or why there is none.
func (p *pages) signIn(w http.ResponseWriter, r *http.Request, sid, username, password string) (string, session, signInFailure) {
	subject, err := p.users.AuthenticateUser(r.Context(), username, password)
	switch {
	case errors.Is(err, oauthkit.ErrInvalidCredentials):
		return sid, session{}, signInFailure{msg: msgWrongPassword, status: http.StatusOK}
	case err != nil && r.Context().Err() != nil:
		// The browser has gone (or the request was cut short) before the
		// password was checked: nobody is there to answer, and nothing is
		// recorded. Not a fault worth a log line: a flood of abandoned
		// sign-ins must not become a flood of errors in the log.
		p.log.DebugContext(r.Context(), "sign-in abandoned before the password was checked", "error", err)
		return sid, session{}, signInFailure{abandoned: true}
	case errors.Is(err, oauthkit.ErrUnavailable):
		// Too many password checks are waiting (see oauthkit.VerifySecret):
		// the password was not checked, so the user is told to try again,
		// with the form ready, rather than that it was wrong.
		w.Header().Set("Retry-After", strconv.Itoa(int(busyRetryAfter/time.Second)))
		return sid, session{}, signInFailure{msg: msgBusy, status: http.StatusServiceUnavailable}
	case err != nil:
		return sid, session{}, signInFailure{err: err}
	}
	if sid, err = p.sessions.renew(sid, subject, p.now()); err != nil {
		return sid, session{}, signInFailure{err: err}
	}
	p.setCookie(w, p.sessionCookieName(), sid)
	ss, _ := p.sessions.get(sid, p.now())
	return sid, ss, signInFailure{}
}

// Messages of the login page.
const (
	msgWrongPassword = "Wrong username or password."
	msgBusy          = "Too many sign-ins are being checked right now, so your password was not checked. Please try again in a moment."
)

// busyRetryAfter is the Retry-After of the login page when the password
// could not be checked: a full queue of checks drains in about half a
// second (see oauthkit.VerifySecret).
const busyRetryAfter = 2 * time.Second

// OpenID Connect prompt values (OIDC Core §3.1.2.1).
const (
	promptNoneValue     = "none"
	promptLogin         = "login"
	promptConsent       = "consent"
	promptSelectAccount = "select_account"
)

// mustSignInAgain reports whether an OpenID Connect request asks the
// signed-in user to authenticate again: prompt login or select_account (the
// login page is where another account is chosen), or a sign-in older than
// max_age.
func (p *pages) mustSignInAgain(req *oauthkit.AuthorizeRequest, ss session) bool {
	if slices.Contains(req.Prompt, promptLogin) || slices.Contains(req.Prompt, promptSelectAccount) {
		return true
	}
	return req.MaxAge != nil && p.now().Sub(ss.authTime) > *req.MaxAge
}

// pageData is what the page templates see.
type pageData struct {
	Title string
	// ClientID and ClientName name the client: ClientName for people,
	// ClientID in small print when it differs.
	ClientID   string
	ClientName string
	Scopes     []scopeView
	User       string
	Username   string
	// Error leads an error in plain words; ErrorCode and ErrorDetail are
	// the OAuth error code and description, for the small print.
	Error       string
	ErrorCode   string
	ErrorDetail string
	CSRF        string
	Hidden      url.Values
	// Action is where the login and consent forms post: the authorization
	// endpoint, or the device verification page.
	Action string
	// UserCode is the device request's user code, which the verification
	// page shows and the consent page asks the user to compare.
	UserCode  string
	Issuer    string
	Endpoints [][2]string
	Clients   []clientView
	TryURL    string
	Callback  *callbackView // the callback page's
}

// clientView is what the index page shows of a client: never its secret.
type clientView struct {
	ID         string
	Name       string
	Public     bool
	GrantTypes []string
}

// formRequest is what the login and consent pages show and carry of the
// request they are for: an authorization request, or a device request.
type formRequest struct {
	action     string // where the form posts
	formTarget string // where the form's answer may redirect besides this origin (CSP form-action)
	client     *oauthkit.Client
	scope      []string
	hidden     url.Values // the request's parameters, repeated in the form
	userCode   string     // a device request's
	binding    csrfBinding
}

// authorizeForm is the formRequest of an authorization request.
func (p *pages) authorizeForm(req *oauthkit.AuthorizeRequest) formRequest {
	return formRequest{
		action: p.base + pathAuthorize, formTarget: req.RedirectURI, client: req.Client, scope: req.Scope,
		hidden: hiddenFields(req.Form), binding: authorizeBinding(req),
	}
}

// login renders the login page with the given status, the username filled
// in and msg, an error message, if any.
func (p *pages) login(w http.ResponseWriter, r *http.Request, req *oauthkit.AuthorizeRequest, sid, username string, status int, msg string) (*oauthkit.Consent, error) {
	if err := p.loginPage(w, r, p.authorizeForm(req), sid, username, status, msg); err != nil {
		return nil, err
	}
	return nil, oauthkit.ErrResponseWritten
}

func (p *pages) consent(w http.ResponseWriter, r *http.Request, req *oauthkit.AuthorizeRequest, sid string, ss session) (*oauthkit.Consent, error) {
	if err := p.consentPage(w, r, p.authorizeForm(req), sid, ss); err != nil {
		return nil, err
	}
	return nil, oauthkit.ErrResponseWritten
}

// loginPage renders the login page for f.
func (p *pages) loginPage(w http.ResponseWriter, r *http.Request, f formRequest, sid, username string, status int, msg string) error {
	cookie, err := p.csrfCookie(w, r)
	if err != nil {
		return err
	}
	p.render(w, f.formTarget, status, loginTemplate, pageData{
		Title:      "Sign in",
		ClientID:   f.client.ID,
		ClientName: p.clientName(f.client),
		Username:   username,
		Error:      msg,
		CSRF:       p.csrfToken(cookie, sid, f.binding, p.now()),
		Hidden:     f.hidden,
		Action:     f.action,
		UserCode:   f.userCode,
	})
	return nil
}

// consentPage renders the consent page for f.
func (p *pages) consentPage(w http.ResponseWriter, r *http.Request, f formRequest, sid string, ss session) error {
	cookie, err := p.csrfCookie(w, r)
	if err != nil {
		return err
	}
	p.render(w, f.formTarget, http.StatusOK, consentTemplate, pageData{
		Title:      "Allow access?",
		ClientID:   f.client.ID,
		ClientName: p.clientName(f.client),
		Scopes:     p.scopeViews(f.scope),
		User:       ss.subject,
		CSRF:       p.csrfToken(cookie, sid, f.binding, p.now()),
		Hidden:     f.hidden,
		Action:     f.action,
		UserCode:   f.userCode,
	})
	return nil
}

// forbidden answers a POST whose CSRF token is missing or wrong.
func (p *pages) forbidden(w http.ResponseWriter, client *oauthkit.Client) {
	p.render(w, "", http.StatusForbidden, forbiddenTemplate, pageData{
		Title:      "Request refused",
		ClientID:   client.ID,
		ClientName: p.clientName(client),
	})
}

// errorPage is Config.ErrorPage: it shows an authorization error that must
// not be redirected to the client (unknown client, bad redirect URI). The
// page leads with what went wrong in plain words (plainError), and keeps
// the OAuth error code and description in small print for developers.
func (p *pages) errorPage(w http.ResponseWriter, r *http.Request, e *oauthkit.Error) {
	if e.HTTPStatus() == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", "GET, POST")
	}
	title, lead := plainError(e)
	p.render(w, "", e.HTTPStatus(), errorTemplate, pageData{
		Title:       title,
		Error:       lead,
		ErrorCode:   e.Code,
		ErrorDetail: e.Description,
	})
}

// notValid is the start of what the error page says about a sign-in link
// that cannot be used.
const notValid = "This sign-in link is not valid: "

// plainErrors are the error page's plain words for the errors the library
// does not redirect, by their description (authorize.go in oauthkit).
// TestErrorPage asks the library for each.
var plainErrors = map[string]string{
	"unknown client_id":                                         notValid + "the application that sent you here is not registered with this server.",
	"missing or repeated client_id":                             notValid + "it does not say which application sent you here.",
	"redirect_uri is missing or not registered for this client": notValid + "it would send you back to an address that the application has not registered, so this server does not send you there.",
	"repeated redirect_uri":                                     notValid + "it names more than one address to send you back to.",
	"malformed query":                                           notValid + "its address is garbled.",
	"request_uri is unknown, expired or used":                   notValid + "it was used already, or it has expired. Go back to the application and sign in again.",
	"request_uri is repeated or was not issued by this server":  notValid + "it refers to a request this server did not receive.",
}

// plainError returns the title and the lead sentence of the error page for
// e, in words for the person at the browser rather than for a developer.
func plainError(e *oauthkit.Error) (title, lead string) {
	switch {
	case e.HTTPStatus() == http.StatusMethodNotAllowed:
		return "Sign-in link not valid", "This sign-in address can only be opened as a link or submitted as a form."
	case errors.Is(e, oauthkit.ErrTemporarilyUnavailable):
		return "Please try again", "The server is busy right now and cannot sign you in. Please try again in a moment."
	case errors.Is(e, oauthkit.ErrServerError):
		return "Something went wrong", "Something went wrong on this server, and you cannot sign in right now. Please try again later."
	}
	if lead, ok := plainErrors[e.Description]; ok {
		return "Sign-in link not valid", lead
	}
	return "Sign-in link not valid", notValid + "the application that sent you here made a request this server cannot accept."
}

// hiddenFields returns the authorization request's parameters to repeat in a
// form, without the pages' own fields (never a password).
func hiddenFields(form url.Values) url.Values {
	out := make(url.Values, len(form))
	for k, v := range form {
		if !slices.Contains(ownFields, k) {
			out[k] = v
		}
	}
	return out
}

// render writes an HTML page with the headers every page carries. formTarget
// is where the page's form may lead besides this origin: the authorization
// endpoint answers a form POST with a redirect to the client, and
// form-action applies to that redirect too (CSP Level 3 §6.4.2).
func (p *pages) render(w http.ResponseWriter, formTarget string, status int, t *template.Template, data pageData) {
	setPageHeaders(w.Header(), formTarget)
	var buf strings.Builder
	if err := t.Execute(&buf, data); err != nil {
		p.log.Error("rendering page", "page", t.Name(), "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	io.WriteString(w, buf.String())
}

// setPageHeaders sets the headers of an HTML page: no framing, no scripts,
// only the inline style sheet, forms only to this origin (and formTarget's),
// no caching, no Referer.
func setPageHeaders(h http.Header, formTarget string) {
	formAction := "'self'"
	if src := cspSource(formTarget); src != "" {
		formAction += " " + src
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src '"+styleHash+"'; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
}

// cspSource returns a CSP source expression for the origin of u: scheme and
// host for a URL with a host, or just the scheme for a private-use scheme.
// It returns "" when u has no usable origin.
func cspSource(u string) string {
	if u == "" {
		return ""
	}
	pu, err := url.Parse(u)
	switch {
	case err != nil || pu.Scheme == "":
		return ""
	case pu.Host != "":
		return pu.Scheme + "://" + pu.Host
	default:
		return pu.Scheme + ":"
	}
}

// pageCSS is the one style sheet, inline; styleHash allows exactly it.
const pageCSS = `body{font-family:system-ui,sans-serif;line-height:1.5;color:#1a1a1a;background:#f6f6f4;margin:0}
main{max-width:26rem;margin:3rem auto;padding:1.5rem 2rem;background:#fff;border:1px solid #ddd;border-radius:6px}
h1{font-size:1.4rem;margin-top:0}
label{display:block;margin-top:.8rem;font-weight:600}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;border:1px solid #999;border-radius:4px}
.buttons{margin-top:1.2rem;display:flex;gap:.6rem}
button{padding:.5rem 1.2rem;font-size:1rem;border-radius:4px;border:1px solid #555;background:#eee;cursor:pointer}
button.primary{background:#1f5fbf;border-color:#1f5fbf;color:#fff}
.error{color:#a40000;font-weight:600}
code{background:#f0f0f0;padding:0 .2rem}
table{border-collapse:collapse}td{padding:.1rem .6rem .1rem 0;vertical-align:top}
.small,small{font-size:.8rem;color:#555}
pre{background:#f0f0f0;padding:.5rem;white-space:pre-wrap;word-break:break-all;font-size:.85rem}
.warning{color:#8a4b00;font-weight:600}
`

var styleHash = func() string {
	sum := sha256.Sum256([]byte(pageCSS))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}()

const pageHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · oauthkit example</title>
<style>` + pageCSS + `</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
`

const pageFoot = `</main>
</body>
</html>
`

// clientIDNote follows a client's name: its ID in small print, unless the
// name is the ID.
const clientIDNote = `{{if ne .ClientName .ClientID}} <small>(client ID <code>{{.ClientID}}</code>)</small>{{end}}`

// userCodeNote asks the user, on a device request's login and consent
// pages, to check the code against the device's screen: a link to the
// verification page with someone else's code in it is how a device flow is
// phished (RFC 8628 §5.4).
const userCodeNote = `{{if .UserCode}}<p>Continue only if your device shows the code <strong id="user-code">{{.UserCode}}</strong>. If you did not start this on a device of yours, choose {{if .User}}Deny{{else}}Cancel{{end}}.</p>
{{end}}`

const hiddenInputs = `{{range $name, $values := .Hidden}}{{range $values}}<input type="hidden" name="{{$name}}" value="{{.}}">
{{end}}{{end}}<input type="hidden" name="` + fieldCSRF + `" value="{{.CSRF}}">
`

var (
	loginTemplate = template.Must(template.New("login").Parse(pageHead + `<p>Sign in to continue to <strong>{{.ClientName}}</strong>.` + clientIDNote + `</p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>
{{end}}` + userCodeNote + `<form method="post" action="{{.Action}}">
` + hiddenInputs + `<label for="username">Username</label>
<input type="text" id="username" name="username" value="{{.Username}}" autocomplete="username" autocapitalize="none" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<div class="buttons">
<button type="submit" class="primary" name="action" value="login">Sign in</button>
<button type="submit" name="action" value="deny" formnovalidate>Cancel</button>
</div>
</form>
` + pageFoot))

	consentTemplate = template.Must(template.New("consent").Parse(pageHead + `<p>Signed in as <strong>{{.User}}</strong>.</p>
<p>The application <strong>{{.ClientName}}</strong>` + clientIDNote + ` asks for
{{if .Scopes}}these permissions:</p>
<ul>
{{range .Scopes}}<li>{{if .Description}}{{.Description}} <small>(<code>{{.Name}}</code>)</small>{{else}}<code>{{.Name}}</code>{{end}}</li>
{{end}}</ul>
{{else}}access to your account, with no particular scope.</p>
{{end}}` + userCodeNote + `<form method="post" action="{{.Action}}">
` + hiddenInputs + `<div class="buttons">
<button type="submit" class="primary" name="action" value="approve">Allow</button>
<button type="submit" name="action" value="deny">Deny</button>
</div>
</form>
` + pageFoot))

	forbiddenTemplate = template.Must(template.New("forbidden").Parse(pageHead + `<p class="error">This form was not accepted: it has expired or did not come from this site.</p>
<p>Go back to <strong>{{.ClientName}}</strong> and start signing in again. Your browser must accept cookies from this site.</p>
` + pageFoot))

	errorTemplate = template.Must(template.New("error").Parse(pageHead + `<p class="error">{{.Error}}</p>
<p>Go back to the application and try again. If this keeps happening, tell the application's developers what the small print below says.</p>
<p class="small">Error code <code>{{.ErrorCode}}</code>{{if .ErrorDetail}}: {{.ErrorDetail}}{{end}}</p>
` + pageFoot))

	indexTemplate = template.Must(template.New("index").Parse(pageHead + `<p>An OAuth 2.0 authorization server built with oauthkit.</p>
<table>
{{range .Endpoints}}<tr><td>{{index . 0}}</td><td><a href="{{index . 1}}">{{index . 1}}</a></td></tr>
{{end}}</table>
{{if .TryURL}}<p><a href="{{.TryURL}}">Sign in with the demo client</a> (authorization code with PKCE).</p>
{{end}}<h2>Clients</h2>
<ul>
{{range .Clients}}<li>{{if .Name}}{{.Name}}, {{end}}<code>{{.ID}}</code>{{if .Public}} (public){{end}}: {{range $i, $g := .GrantTypes}}{{if $i}}, {{end}}{{$g}}{{end}}</li>
{{end}}</ul>
` + pageFoot))
)
