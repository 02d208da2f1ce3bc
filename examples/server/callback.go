package main

import (
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"time"

	"github.com/oauthkit/oauthkit"
)

// The callback page is where the demo clients' authorization responses
// land: {issuer}/callback/{client_id} is their redirect URI, so the code
// flow that the banner and the index page start ends on a page of the
// example itself, not at an address where nothing listens. The page shows
// the response and a curl command that redeems the code; it redeems nothing
// itself (the code is single-use, and redeeming it is the reader's step).

// verifierPlaceholder stands for the PKCE code_verifier in the callback
// page's command when the page does not know it.
const verifierPlaceholder = "PASTE_THE_CODE_VERIFIER_HERE"

// callbackView is what the callback page shows of an authorization
// response.
type callbackView struct {
	Code, State, Iss string
	// WrongIss is set when iss names another issuer (RFC 9207 §2.4): the
	// response is not this server's.
	WrongIss bool
	// Error, ErrorDescription and ErrorURI are the error response's
	// (RFC 6749 §4.1.2.1); ErrorText says it in plain words.
	Error, ErrorDescription, ErrorURI, ErrorText string
	// Command redeems the code, or is empty when the page does not know
	// the client. VerifierKnown says whether its code_verifier is the real
	// one or verifierPlaceholder; SecretKnown, whether its credentials are
	// the client's or placeholders.
	// AssertionNeeded, whether the command has assertionPlaceholder for a
	// private_key_jwt or client_secret_jwt client's assertion;
	// AssertionMACed, whether it is client_secret_jwt's.
	Command                                     string
	VerifierKnown, SecretKnown, AssertionNeeded bool
	AssertionMACed                              bool
	// TokenURL is the token endpoint, CodeLifetime how long the code lives
	// ("60 s").
	TokenURL, CodeLifetime string
}

// secretPlaceholder stands for a client secret the callback page does not
// show (of a client that is not a demo client).
const secretPlaceholder = "PASTE_THE_CLIENT_SECRET_HERE"

// callback serves the callback page, GET /callback/{client} (and /callback,
// for a client unknown to the page).
func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := &callbackView{
		Code:             q.Get("code"),
		State:            q.Get("state"),
		Iss:              q.Get("iss"),
		Error:            q.Get("error"),
		ErrorDescription: q.Get("error_description"),
		ErrorURI:         q.Get("error_uri"),
		TokenURL:         a.issuer + pathToken,
		CodeLifetime:     seconds(a.codeLifetime),
	}
	v.WrongIss = v.Iss != "" && v.Iss != a.issuer
	data := pageData{Title: "Authorization code received", Callback: v}
	status := http.StatusOK
	switch {
	case v.Error != "":
		data.Title = "Authorization not granted"
		v.ErrorText = callbackErrorText(v.Error)
	case v.Code == "":
		data.Title = "No authorization response"
		status = http.StatusBadRequest
	default:
		a.redeemCommand(v, r.PathValue("client"))
	}
	if c, ok := a.byID[r.PathValue("client")]; ok {
		data.ClientID, data.ClientName = c.ID, c.ID
		if c.Name != "" {
			data.ClientName = c.Name
		}
	}
	a.pages.render(w, "", status, callbackTemplate, data)
}

// redeemCommand sets v.Command to a curl command that redeems v.Code for
// the client clientID, if it is a client of the config whose redirect URI
// is this page. The credentials are the client's for a demo client, whose
// secret the banner prints too, and placeholders otherwise; the
// code_verifier is the one of the banner's authorization URL when the
// response is to it (same client and state), and a placeholder otherwise.
func (a *app) redeemCommand(v *callbackView, clientID string) {
	c, ok := a.byID[clientID]
	redirectURI := callbackURI(a.issuer, clientID)
	if !ok || !slices.Contains(c.RedirectURIs, redirectURI) || !c.uses(oauthkit.GrantTypeAuthorizationCode) {
		return
	}
	v.SecretKnown = c.DemoCallback || c.Public
	v.AssertionNeeded = c.signsAssertions()
	v.AssertionMACed = c.AuthMethod == oauthkit.AuthMethodClientSecretJWT
	if !v.SecretKnown && !v.AssertionNeeded {
		c.Secret = secretPlaceholder
	}
	verifier := verifierPlaceholder
	if clientID == a.try.ClientID && v.State == a.try.State {
		verifier, v.VerifierKnown = a.try.Verifier, true
	}
	v.Command = curlLine(v.TokenURL, c, "grant_type=authorization_code", formParam("redirect_uri", redirectURI),
		formParam("code_verifier", verifier), formParam("code", v.Code))
}

// callbackErrorText says what an authorization error response means, in
// plain words.
func callbackErrorText(code string) string {
	switch code {
	case oauthkit.ErrAccessDenied.Code:
		return "The sign-in was cancelled, or the request was denied on the consent page."
	case oauthkit.ErrLoginRequired.Code, oauthkit.ErrConsentRequired.Code, oauthkit.ErrInteractionRequired.Code:
		return "The request asked not to show any page (prompt=none), but the user had to sign in or approve first."
	case oauthkit.ErrInvalidScope.Code:
		return "The request asked for a scope that the client may not have."
	case oauthkit.ErrTemporarilyUnavailable.Code, oauthkit.ErrServerError.Code:
		return "The server could not handle the request just now; try again."
	default:
		return "The server refused the authorization request."
	}
}

// seconds formats d as whole seconds, "60 s".
func seconds(d time.Duration) string {
	return fmt.Sprintf("%d s", int64(d/time.Second))
}

var callbackTemplate = template.Must(template.New("callback").Parse(pageHead + `{{with .Callback}}{{if .Error}}<p class="error">{{.ErrorText}}</p>
<table>
<tr><td>error</td><td><code>{{.Error}}</code></td></tr>
{{if .ErrorDescription}}<tr><td>error_description</td><td>{{.ErrorDescription}}</td></tr>
{{end}}{{if .ErrorURI}}<tr><td>error_uri</td><td><code>{{.ErrorURI}}</code></td></tr>
{{end}}{{if .State}}<tr><td>state</td><td><code>{{.State}}</code></td></tr>
{{end}}{{if .Iss}}<tr><td>iss</td><td><code>{{.Iss}}</code></td></tr>
{{end}}</table>
{{else if .Code}}<p>{{if $.ClientName}}<strong>{{$.ClientName}}</strong> got{{else}}Here is{{end}} an authorization code. This page does not redeem it: that is your step.</p>
<table>
<tr><td>code</td><td><code id="code">{{.Code}}</code></td></tr>
{{if .State}}<tr><td>state</td><td><code>{{.State}}</code></td></tr>
{{end}}{{if .Iss}}<tr><td>iss</td><td><code>{{.Iss}}</code></td></tr>
{{end}}</table>
{{if .WrongIss}}<p class="warning">This response names another issuer than this server: do not redeem its code here (RFC 9207).</p>
{{end}}<p>The code can be redeemed once, within {{.CodeLifetime}} of the redirect that brought you here.</p>
{{if .Command}}<p>Redeem it with this command:</p>
<pre id="command">{{.Command}}</pre>
{{if .VerifierKnown}}<p class="small">The <code>code_verifier</code> is the PKCE verifier of the authorization URL that the banner and the index page show.</p>
{{else}}<p class="small">This server requires PKCE: replace <code>` + verifierPlaceholder + `</code> with the <code>code_verifier</code> whose challenge your authorization request sent.</p>
{{end}}{{if .AssertionNeeded}}<p class="small">Replace <code>` + assertionPlaceholder + `</code> with a client assertion (RFC 7523): a JWT that the client {{if .AssertionMACed}}MACs with its secret (HS256){{else}}signs with its private key{{end}}, with <code>iss</code> and <code>sub</code> its client ID, <code>aud</code> <code>{{.TokenURL}}</code>, <code>exp</code> within 5 minutes and a new <code>jti</code>.</p>
{{else if not .SecretKnown}}<p class="small">Replace <code>` + secretPlaceholder + `</code> with the client's secret.</p>
{{end}}{{else}}<p>Redeem it at the token endpoint <code>{{.TokenURL}}</code> with <code>grant_type=authorization_code</code>, this page's address as <code>redirect_uri</code>, the PKCE <code>code_verifier</code> and the client's credentials.</p>
{{end}}{{else}}<p class="error">This address received no authorization response: no code and no error.</p>
<p>It is where the example server's demo clients come back after signing in; start at the <a href="/">index page</a>.</p>
{{end}}{{end}}` + pageFoot))
