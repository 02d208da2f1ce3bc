package main

import (
	"errors"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strconv"

	"github.com/oauthkit/oauthkit"
)

// This file is the host's side of the device authorization grant (RFC 8628
// §3.3): the verification page, where the user types the code the device
// shows (or follows verification_uri_complete, which fills it in), then
// signs in and approves or denies on the same login and consent pages as
// the authorization endpoint's. The library serves the device authorization
// endpoint and the device's polls; the page calls Server.DeviceRequest,
// ApproveDevice and DenyDevice.

// deviceInterval is the least time between a device's polls: the library's
// default, five seconds. Tests shorten it.
var deviceInterval = oauthkit.DefaultDeviceInterval

// fieldUserCode is the verification page's input, as RFC 8628 §3.3.1 names
// the query parameter of verification_uri_complete.
const fieldUserCode = "user_code"

// actionContinue is the verification page's submit button: look the code up
// and go on to sign-in or consent.
const actionContinue = "continue"

// deviceBody bounds the verification page's form posts.
const deviceBody = 16 << 10

// device serves the verification page, pathDevice. GET shows the form, with
// the user_code query parameter filled in; POST with action continue looks
// the code up and shows the login page, or the consent page to a signed-in
// user, for it; login, approve and deny are those pages' buttons, each with
// the CSRF token of its form. A device request is never approved without the
// consent page, even for a client the user approved before: the user must
// see which code they approve (RFC 8628 §5.4).
func (p *pages) device(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		code := ""
		if q := r.URL.Query()[fieldUserCode]; len(q) == 1 {
			code = q[0]
		}
		p.devicePage(w, http.StatusOK, code, "")
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, deviceBody)
	if err := r.ParseForm(); err != nil {
		p.devicePage(w, http.StatusBadRequest, "", "This form could not be read. Please type the code again.")
		return
	}
	form := r.PostForm // never the query: the form's fields only
	code := form.Get(fieldUserCode)
	req, err := p.server.DeviceRequest(r.Context(), code, limiterKey(r))
	var oerr *oauthkit.Error
	switch {
	case errors.Is(err, oauthkit.ErrNotFound):
		p.devicePage(w, http.StatusOK, code, "This code is not valid: it may be mistyped, expired or used already. Check it on your device, or start again there.")
		return
	case errors.As(err, &oerr) && oerr.HTTPStatus() == http.StatusTooManyRequests:
		// The library bounds user-code lookups per limiter key (RFC 8628
		// §5.1): its default bucket gains a lookup every 12 seconds.
		w.Header().Set("Retry-After", strconv.Itoa(int(1/oauthkit.DefaultUserCodeRate)))
		p.devicePage(w, http.StatusTooManyRequests, code, "Too many codes were tried from here. Please wait a minute and try again.")
		return
	case err != nil:
		p.log.ErrorContext(r.Context(), "device request", "error", err)
		p.devicePage(w, http.StatusInternalServerError, code, "Something went wrong on this server. Please try again later.")
		return
	}
	f := formRequest{
		action: p.base + pathDevice, client: req.Client, scope: req.Scope,
		hidden:   url.Values{fieldUserCode: {req.UserCode}},
		userCode: req.UserCode,
		binding:  csrfBinding{clientID: req.Client.ID, target: "device " + req.UserCode, scope: req.Scope},
	}
	sid, ss, signedIn := p.currentSession(r)
	action := form.Get(fieldAction)
	if action != actionContinue && !p.checkCSRF(r, form, f.binding, sid) {
		p.forbidden(w, req.Client)
		return
	}
	switch action {
	case actionLogin:
		username := form.Get(fieldUsername)
		var failed signInFailure
		sid, ss, failed = p.signIn(w, r, sid, username, form.Get(fieldPassword))
		switch {
		case failed.abandoned:
			return
		case failed.err != nil:
			p.deviceFault(w, r, failed.err)
			return
		case failed.msg != "":
			p.pageError(w, r, p.loginPage(w, r, f, sid, username, failed.status, failed.msg))
			return
		}
		signedIn = true
	case actionApprove:
		if signedIn {
			err := p.server.ApproveDevice(r.Context(), req, oauthkit.DeviceApproval{Subject: ss.subject, AuthTime: ss.authTime})
			p.deviceDone(w, r, err, "Device connected", "You can return to your device: it signs in within a few seconds.")
			return
		}
		// Not signed in (the token came from a login page, bound to no
		// session): show the login page.
	case actionDeny:
		err := p.server.DenyDevice(r.Context(), req)
		p.deviceDone(w, r, err, "Request denied", "The device was not given access. You can close this page.")
		return
	}
	if !signedIn {
		p.pageError(w, r, p.loginPage(w, r, f, sid, "", http.StatusOK, ""))
		return
	}
	p.pageError(w, r, p.consentPage(w, r, f, sid, ss))
}

// limiterKey is whose user-code lookups count together: the client's
// network address (without the port). Behind a proxy, a real server would
// take the address the proxy reports.
func limiterKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// devicePage renders the verification page's form with code filled in and
// msg, an error, if any.
func (p *pages) devicePage(w http.ResponseWriter, status int, code, msg string) {
	p.render(w, "", status, deviceTemplate, pageData{Title: "Connect a device", UserCode: code, Error: msg, Action: p.base + pathDevice})
}

// deviceDone renders the end of a decision: title and lead, or, when the
// decision failed, why.
func (p *pages) deviceDone(w http.ResponseWriter, r *http.Request, err error, title, lead string) {
	switch {
	case errors.Is(err, oauthkit.ErrNotFound):
		// Decided meanwhile (another tab), or expired.
		p.devicePage(w, http.StatusOK, "", "This code is no longer valid: it expired or was used already. Start again on your device.")
	case err != nil:
		p.deviceFault(w, r, err)
	default:
		p.render(w, "", http.StatusOK, deviceDoneTemplate, pageData{Title: title, Error: lead})
	}
}

// deviceFault answers a fault of the stores.
func (p *pages) deviceFault(w http.ResponseWriter, r *http.Request, err error) {
	p.log.ErrorContext(r.Context(), "device verification", "error", err)
	p.devicePage(w, http.StatusInternalServerError, "", "Something went wrong on this server. Please try again later.")
}

// pageError answers err, a fault while rendering the login or consent page.
func (p *pages) pageError(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		p.deviceFault(w, r, err)
	}
}

var (
	deviceTemplate = template.Must(template.New("device").Parse(pageHead + `<p>Enter the code shown on your device.</p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>
{{end}}<form method="post" action="{{.Action}}">
<label for="user_code">Code</label>
<input type="text" id="user_code" name="user_code" value="{{.UserCode}}" autocomplete="off" autocapitalize="characters" spellcheck="false" required autofocus>
<div class="buttons">
<button type="submit" class="primary" name="action" value="continue">Continue</button>
</div>
</form>
` + pageFoot))

	deviceDoneTemplate = template.Must(template.New("device-done").Parse(pageHead + `<p>{{.Error}}</p>
` + pageFoot))
)
