package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/pkce"
)

// The document's client IDs, its token type, and the response parameter
// that carries the credentials from the issuance hook to the codec.
const (
	clientSameDevice  = "arn:aws:signin:::devtools/same-device"
	clientCrossDevice = "arn:aws:signin:::devtools/cross-device"
	tokenTypeSigV4    = "urn:aws:params:oauth:token-type:access_token_sigv4"
	paramCredentials  = "credentials"
)

// api is the token endpoint's wire format, CreateOAuth2Token: the
// document's camelCase JSON through oauthkit.JSONCodec, the document's
// field constraints checked before anything is spent, and the documented
// response, whose accessToken is a credentials object.
type api struct{ json *oauthkit.JSONCodec }

func newAPI() api {
	return api{&oauthkit.JSONCodec{
		Names: map[string]string{
			"client_id": "clientId", "grant_type": "grantType", "code": "code", "code_verifier": "codeVerifier",
			"redirect_uri": "redirectUri", "refresh_token": "refreshToken",
			"access_token": "accessToken", "expires_in": "expiresIn", "id_token": "idToken", "token_type": "tokenType",
		},
		Error: apiError,
	}}
}

// apiError maps RFC 6749 errors to the document's: a request the server
// cannot read is a ValidationException, one it refuses (a bad code, a
// refresh token of another key) an AccessDeniedException, both 400. The
// status stays the library's, so 429, 500 and 503 keep their meaning; the
// RFC code goes along for clients that speak OAuth (use_dpop_nonce).
func apiError(e *oauthkit.Error) (int, any) {
	kind := "ValidationException"
	switch status := e.HTTPStatus(); {
	case status == http.StatusTooManyRequests:
		kind = "TooManyRequestsError"
	case status >= 500:
		kind = "InternalServerException"
	case e.Code == oauthkit.ErrInvalidGrant.Code, e.Code == oauthkit.ErrInvalidClient.Code,
		e.Code == oauthkit.ErrUnauthorizedClient.Code, e.Code == oauthkit.ErrAccessDenied.Code:
		kind = "AccessDeniedException"
	}
	return e.HTTPStatus(), map[string]string{"error": kind, "message": e.Description, "oauthError": e.Code}
}

// ReadRequest reads the JSON body and checks the document's constraints.
func (a api) ReadRequest(r *http.Request, body []byte) (url.Values, *oauthkit.Error) {
	p, oerr := a.json.ReadRequest(r, body)
	if oerr != nil {
		return nil, oerr
	}
	return p, a.checkFields(p)
}

// checkFields checks the request members against the document: clientId
// and grantType by pattern, lengths, the verifier's syntax (RFC 7636 §4.1,
// which the document repeats), and the members each grant requires. The
// library would find most of this too, but only after it has spent the
// code: a malformed request must not cost the user a sign-in.
func (a api) checkFields(p url.Values) *oauthkit.Error {
	invalid := oauthkit.ErrInvalidRequest.WithDescription
	switch id := p.Get("client_id"); {
	case id != clientSameDevice && id != clientCrossDevice:
		return invalid("clientId must match arn:aws:signin:::devtools/(same-device|cross-device)")
	case len(p.Get("code")) > 512, len(p.Get("redirect_uri")) > 2048, len(p.Get("refresh_token")) > 2048:
		return invalid("a member is longer than the API allows")
	case p.Has("code_verifier") && !pkce.ValidVerifier(p.Get("code_verifier")):
		return invalid("codeVerifier must be 43 to 128 characters of [A-Za-z0-9-._~]")
	}
	var required []string
	switch p.Get("grant_type") {
	case oauthkit.GrantTypeAuthorizationCode:
		required = []string{"code", "code_verifier", "redirect_uri"}
	case oauthkit.GrantTypeRefreshToken:
		required = []string{"refresh_token"}
	default:
		return invalid("grantType must be authorization_code or refresh_token")
	}
	for _, name := range required {
		if p.Get(name) == "" { // absent, or shorter than the minimum length of 1
			return invalid("%s is required for grantType %s", a.json.Names[name], p.Get("grant_type"))
		}
	}
	return nil
}

// WriteResponse writes the documented response: the credentials the
// issuance hook minted, with the access token as their sessionToken, and
// the document's token type. The granted scope is left out: it is always
// the requested one (RFC 6749 §5.1), since the API has no scope member.
func (a api) WriteResponse(w http.ResponseWriter, params []oauthkit.Param) {
	var creds map[string]any
	for _, p := range params {
		if p.Name == paramCredentials {
			creds, _ = p.Value.(map[string]any)
		}
	}
	if creds == nil {
		a.WriteError(w, oauthkit.ErrServerError) // the hook did not run: a wiring fault
		return
	}
	out := make([]oauthkit.Param, 0, len(params))
	for _, p := range params {
		switch p.Name {
		case "access_token":
			creds["sessionToken"] = p.Value
			p.Value = creds
		case "token_type":
			// The library answers "DPoP" for a request with a proof, and its
			// IssuanceHook may not change that; see README.md.
			p.Value = tokenTypeSigV4
		case "scope", paramCredentials:
			continue
		}
		out = append(out, p)
	}
	a.json.WriteResponse(w, out)
}

// WriteError writes the document's error shape.
func (a api) WriteError(w http.ResponseWriter, e *oauthkit.Error) { a.json.WriteError(w, e) }

// minter is the issuance hook: it mints the session token, imported as the
// access token so that the library stores it (as a hash), binds it, expires
// it and revokes it with its refresh family, and the access key ID and
// secret access key that go with it. Those are derived from the session
// token under the host's key, so that an API checking a SigV4 signature
// recomputes them from the session token it was sent (after checking the
// token with Server.ValidateAccessToken) and nothing more is stored.
type minter struct {
	key  []byte    // the host's credentials key
	rand io.Reader // source of session tokens
}

// Issue mints the credentials of one token response.
func (m minter) Issue(_ context.Context, iss *oauthkit.Issuance) error {
	var b [32]byte
	if _, err := io.ReadFull(m.rand, b[:]); err != nil {
		return fmt.Errorf("minting a session token: %w", err) // a fault: InternalServerException
	}
	session := base64.RawURLEncoding.EncodeToString(b[:])
	id, secret := m.credentials(session)
	iss.AccessToken = session
	iss.Response = append(iss.Response, oauthkit.Param{Name: paramCredentials,
		Value: map[string]any{"accessKeyId": id, "secretAccessKey": secret}})
	return nil
}

// credentials returns the access key ID and secret access key of a session
// token.
func (m minter) credentials(session string) (id, secret string) {
	mac := func(label string) []byte {
		h := hmac.New(sha256.New, m.key)
		h.Write([]byte(label + "\x00" + session))
		return h.Sum(nil)
	}
	id = "ASIA" + base32.StdEncoding.EncodeToString(mac("access key id"))[:16]
	secret = base64.StdEncoding.EncodeToString(mac("secret access key"))[:40]
	return id, secret
}

// newMinter returns a minter with a fresh key: credentials last no longer
// than the process, as the in-memory store's tokens do.
func newMinter(r io.Reader) (minter, error) {
	if r == nil {
		r = rand.Reader
	}
	key := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return minter{}, err
	}
	return minter{key: key, rand: r}, nil
}
