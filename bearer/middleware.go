package bearer

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oauthkit/oauthkit/dpop"
	"github.com/oauthkit/oauthkit/internal/authheader"
	"github.com/oauthkit/oauthkit/internal/formdata"
)

// DefaultMaxBodyBytes bounds a form body read for its access_token when
// Config.MaxBodyBytes is zero.
const DefaultMaxBodyBytes = 64 << 10

// Config configures a Middleware. The zero value of every optional field is
// the secure default.
type Config struct {
	// Validator decides whether tokens are valid. Required. See [JWKS],
	// [Introspection] and [Fallback].
	Validator Validator

	// Realm is the realm of the WWW-Authenticate challenges (RFC 6750 §3),
	// naming the protected resource to the client. Empty means no realm
	// parameter. It must be printable ASCII.
	Realm string

	// AllowFormBody also accepts the token as the access_token parameter of
	// an application/x-www-form-urlencoded POST, PUT or PATCH body
	// (RFC 6750 §2.2). Off by default: a body is read only when set, and a
	// request with a token in both the header and the body is refused. When
	// the body is read, the handler finds its parameters in
	// http.Request.PostForm.
	//
	// Tokens in the URI query (RFC 6750 §2.3) are never read; see the
	// package documentation.
	AllowFormBody bool
	// MaxBodyBytes bounds the form body read when AllowFormBody is set.
	// Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// ResourceMetadata is the URL of the resource's metadata (RFC 9728
	// §5.1), usually [MetadataURL] of its resource identifier, sent as the
	// resource_metadata parameter of every challenge so that a client that
	// knows only the resource's URL finds its authorization servers. Empty,
	// the default, means no such parameter. It must be an https URL (http
	// only for a loopback host) with no fragment, and printable ASCII
	// without space, '"' or '\'.
	ResourceMetadata string

	// DPoP, if set, also accepts DPoP-bound access tokens with their
	// proofs (RFC 9449 §7); see DPoPConfig. Nil means bearer tokens only:
	// a DPoP-bound token is refused, and the DPoP scheme is not read.
	DPoP *DPoPConfig

	// Now returns the current time, against which the claims' ExpiresAt
	// and, for [Requirements.MaxAge], AuthTime are checked. Nil means
	// time.Now.
	Now func() time.Time
	// Logger receives validator faults and, at debug level, why tokens were
	// refused; never tokens. Nil means slog.Default().
	Logger *slog.Logger
}

// Middleware guards handlers with bearer tokens (RFC 6750). It is safe for
// concurrent use.
type Middleware struct {
	validator     Validator
	realm         string
	resourceMeta  string
	allowForm     bool
	maxBodyBytes  int64
	now           func() time.Time
	log           *slog.Logger
	dpop          *dpopState // nil without Config.DPoP
	noToken       *refusal   // for requests without a token
	malformedAuth *refusal   // for a malformed Authorization header
	repeatedAuth  *refusal   // for more than one Authorization header
	invalidToken  *refusal   // for an invalid token
	boundAsBearer *refusal   // for a DPoP-bound token presented as a bearer token
	unbound       *refusal   // for an unbound token presented with the DPoP scheme
	keyMismatch   *refusal   // for a proof made with another key than the token's
}

// New validates cfg and returns a Middleware.
func New(cfg Config) (*Middleware, error) {
	switch {
	case cfg.Validator == nil:
		return nil, errors.New("bearer: Config.Validator is required")
	case !authheader.ValidRealm(cfg.Realm):
		return nil, errors.New("bearer: Config.Realm must be printable ASCII")
	case cfg.MaxBodyBytes < 0:
		return nil, errors.New("bearer: Config.MaxBodyBytes must not be negative")
	}
	if cfg.ResourceMetadata != "" {
		if err := checkEndpoint("Config.ResourceMetadata", cfg.ResourceMetadata); err != nil {
			return nil, err
		}
		if !isScopeToken(cfg.ResourceMetadata) { // the same characters: sent unchanged in a challenge
			return nil, errors.New(`bearer: Config.ResourceMetadata must be printable ASCII without space, '"' or '\'`)
		}
	}
	m := &Middleware{
		validator:    cfg.Validator,
		realm:        cfg.Realm,
		resourceMeta: cfg.ResourceMetadata,
		allowForm:    cfg.AllowFormBody,
		maxBodyBytes: cfg.MaxBodyBytes,
		now:          cfg.Now,
		log:          cfg.Logger,
	}
	if m.maxBodyBytes == 0 {
		m.maxBodyBytes = DefaultMaxBodyBytes
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if cfg.DPoP != nil {
		var err error
		if m.dpop, err = newDPoPState(cfg.DPoP, m.now); err != nil {
			return nil, err
		}
	}
	m.noToken = m.refusal(authheader.Challenge{})
	m.invalidToken = m.refusal(authheader.Challenge{
		Error:       authheader.InvalidToken,
		Description: "the access token is invalid, expired or revoked",
	})
	m.boundAsBearer = m.refusal(authheader.Challenge{
		Error:       authheader.InvalidToken,
		Description: "a DPoP-bound access token must be presented with the DPoP scheme and a proof",
	})
	m.unbound = m.refusal(authheader.Challenge{
		Error:       authheader.InvalidToken,
		Description: "the access token is not DPoP-bound: present it with the Bearer scheme",
	})
	m.keyMismatch = m.refusal(authheader.Challenge{
		Error:       authheader.InvalidToken,
		Description: "invalid DPoP key binding: the proof is not made with the token's key",
	})
	m.malformedAuth = m.invalidRequest(authheader.ErrMalformed.Error())
	m.repeatedAuth = m.invalidRequest(authheader.ErrRepeated.Error())
	return m, nil
}

// Requirements are what a route asks of an access token beyond its
// validity, checked by [Middleware.WrapWith]. The zero value asks nothing
// more.
type Requirements struct {
	// Scopes must all be granted by the token; otherwise the answer is 403
	// insufficient_scope naming them (RFC 6750 §3.1). Each must be an
	// RFC 6749 §3.3 scope-token.
	Scopes []string

	// ACRValues are the authentication context class references the route
	// accepts, in order of preference: the token's "acr" must be one of
	// them ([RFC 9470 §3]). Empty means any, or none. Each must be
	// printable ASCII without space, '"' or '\'.
	ACRValues []string
	// MaxAge is the longest time allowed since the user last authenticated:
	// the token's "auth_time" must be no older, measured with Config.Now.
	// A token without auth_time is refused when it is set. Zero means no
	// limit. It must be a positive whole number of seconds, the unit of
	// the max_age parameter ([RFC 9470 §3]).
	MaxAge time.Duration
}

// Wrap returns next guarded by the middleware, requiring scopes: it is
// WrapWith(next, Requirements{Scopes: scopes}).
func (m *Middleware) Wrap(next http.Handler, scopes ...string) http.Handler {
	return m.WrapWith(next, Requirements{Scopes: scopes})
}

// WrapWith returns next guarded by the middleware: a request reaches next
// only with a valid access token that meets req, with the token's claims in
// the request context ([FromContext]). Otherwise it is answered as RFC 6750
// §3 and [RFC 9470 §3] say:
//
//   - no token: 401 with a challenge and no error code;
//   - a malformed request (bad Authorization syntax, two tokens, a token in
//     both the header and the body): 400 invalid_request;
//   - an invalid, expired or revoked token: 401 invalid_token;
//   - a user authentication that does not meet req.ACRValues or
//     req.MaxAge, or no user authentication at all (a client's own token):
//     401 insufficient_user_authentication, with acr_values and max_age
//     naming what the route requires, and scope naming req.Scopes, so that
//     the client can ask for a token that meets both at once;
//   - a missing scope: 403 insufficient_scope, naming the scopes required;
//   - a validator that cannot decide: 503, or 500 for an internal fault,
//     with no detail; the cause is logged.
//
// The challenges carry Config.ResourceMetadata when it is set. With
// Config.DPoP, a DPoP challenge with the accepted algorithms follows the
// Bearer one (RFC 9449 §7.1), and the error goes in the challenge of the
// scheme the request used; a proof that is missing or invalid is 401
// invalid_dpop_proof, one without a current nonce 401 use_dpop_nonce with a
// DPoP-Nonce header, and a bound token presented as a bearer token, an
// unbound one presented with the DPoP scheme, or a proof of another key
// than the token's, 401 invalid_token.
//
// WrapWith panics if req is invalid (see [Requirements]), as that is a
// programming error.
//
// [RFC 9470 §3]: https://www.rfc-editor.org/rfc/rfc9470#section-3
func (m *Middleware) WrapWith(next http.Handler, req Requirements) http.Handler {
	for _, s := range req.Scopes {
		if !isScopeToken(s) {
			panic(fmt.Sprintf("bearer: Wrap: invalid scope %q", s))
		}
	}
	for _, v := range req.ACRValues {
		if !isScopeToken(v) { // the same characters: space-separated in acr_values
			panic(fmt.Sprintf("bearer: WrapWith: invalid ACR value %q", v))
		}
	}
	if req.MaxAge < 0 || req.MaxAge%time.Second != 0 {
		panic(fmt.Sprintf("bearer: WrapWith: MaxAge %v is not a positive whole number of seconds", req.MaxAge))
	}
	scopes := slices.Clone(req.Scopes)
	acrValues := slices.Clone(req.ACRValues)
	maxAge := req.MaxAge
	insufficient := m.refusal(authheader.Challenge{
		Error:       authheader.InsufficientScope,
		Description: "the access token lacks a required scope",
		Scope:       strings.Join(scopes, " "),
	})
	var stepUp *refusal
	if len(acrValues) > 0 || maxAge > 0 {
		c := authheader.Challenge{
			Error:       authheader.InsufficientUserAuthentication,
			Description: "a different or more recent user authentication is required",
			Scope:       strings.Join(scopes, " "),
			ACRValues:   strings.Join(acrValues, " "),
		}
		switch {
		case maxAge == 0:
			c.Description = "a different user authentication level is required"
		case len(acrValues) == 0:
			c.Description = "a more recent user authentication is required"
		}
		if maxAge > 0 {
			c.MaxAge = strconv.FormatInt(int64(maxAge/time.Second), 10)
		}
		stepUp = m.refusal(c)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, scheme, r, ok := m.authenticate(w, r)
		if !ok {
			return
		}
		if stepUp != nil && !m.userAuthenticationMeets(claims, acrValues, maxAge) {
			m.log.DebugContext(r.Context(), "bearer: user authentication insufficient",
				"acr", claims.ACR, "auth_time", claims.AuthTime)
			stepUp.write(w, scheme)
			return
		}
		if !claims.HasScope(scopes...) {
			insufficient.write(w, scheme)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// userAuthenticationMeets reports whether the user authentication behind
// claims is one of acrValues (if any) and at most maxAge old (if not zero).
// A token without a user (SubjectIsClient) has no user authentication.
func (m *Middleware) userAuthenticationMeets(claims *Claims, acrValues []string, maxAge time.Duration) bool {
	if claims.SubjectIsClient {
		return false
	}
	if len(acrValues) > 0 && !slices.Contains(acrValues, claims.ACR) {
		return false
	}
	if maxAge > 0 && (claims.AuthTime.IsZero() || m.now().Sub(claims.AuthTime) > maxAge) {
		return false
	}
	return true
}

// refusal is a challenge response, formatted once for each scheme a
// request may use.
type refusal struct {
	status int
	bearer string // the challenges for a request with a bearer token, or none
	dpop   string // for a request with the DPoP scheme
}

// refusal formats c, with the middleware's realm and resource metadata URL.
// With DPoP on, a DPoP challenge follows the Bearer one, and c's error goes
// in the challenge of the request's scheme.
func (m *Middleware) refusal(c authheader.Challenge) *refusal {
	c.Realm, c.ResourceMetadata = m.realm, m.resourceMeta
	if m.dpop == nil {
		s := c.String()
		return &refusal{status: c.Status(), bearer: s, dpop: s}
	}
	return &refusal{
		status: c.Status(),
		bearer: authheader.WithDPoP(c, authheader.SchemeBearer, m.dpop.algs),
		dpop:   authheader.WithDPoP(c, authheader.SchemeDPoP, m.dpop.algs),
	}
}

// write answers the request, which used scheme (empty for none), with r.
func (r *refusal) write(w http.ResponseWriter, scheme string) {
	if scheme == authheader.SchemeDPoP {
		w.Header().Set("WWW-Authenticate", r.dpop)
	} else {
		w.Header().Set("WWW-Authenticate", r.bearer)
	}
	w.WriteHeader(r.status)
}

// authenticate finds and validates the request's token and, for the DPoP
// scheme, its proof. On success it returns the claims, the scheme, and the
// request with the claims in its context; otherwise it writes the response
// and returns false.
func (m *Middleware) authenticate(w http.ResponseWriter, r *http.Request) (*Claims, string, *http.Request, bool) {
	if m.dpop != nil && m.dpop.nonces != nil {
		// RFC 9449 §9: the nonce to use next, on every answer.
		w.Header().Set("DPoP-Nonce", m.dpop.nonces.Nonce(m.now()))
	}
	creds, r, refused := m.token(w, r)
	if refused != nil {
		refused.write(w, creds.Scheme)
		return nil, "", nil, false
	}
	ctx := r.Context()
	var proof *dpop.Proof
	if creds.Scheme == authheader.SchemeDPoP {
		var err error
		if proof, err = m.dpop.verify(ctx, r, creds.Token); err != nil {
			m.refuseProof(w, r, err)
			return nil, "", nil, false
		}
	}
	claims, err := m.validator.Validate(ctx, creds.Token)
	switch {
	case err == nil && claims == nil:
		err = errors.New("bearer: Validator returned neither claims nor error")
	case err == nil && !claims.ExpiresAt.IsZero() && !m.now().Before(claims.ExpiresAt):
		err = invalid("expired")
	}
	switch {
	case err == nil && proof == nil && claims.JKT != "":
		// RFC 9449 §7.2: never downgraded to a bearer token.
		m.log.DebugContext(ctx, "bearer: token refused", "reason", "DPoP-bound token presented as a bearer token")
		m.boundAsBearer.write(w, creds.Scheme)
	case err == nil && proof != nil && claims.JKT == "":
		m.log.DebugContext(ctx, "bearer: token refused", "reason", "unbound token presented with the DPoP scheme")
		m.unbound.write(w, creds.Scheme)
	case err == nil && proof != nil && claims.JKT != proof.Thumbprint:
		m.log.DebugContext(ctx, "bearer: token refused", "reason", "DPoP proof made with another key than the token's")
		m.keyMismatch.write(w, creds.Scheme)
	case err == nil:
		return claims, creds.Scheme, r.WithContext(NewContext(ctx, claims)), true
	case errors.Is(err, ErrInvalidToken):
		m.log.DebugContext(ctx, "bearer: token refused", "reason", err)
		m.invalidToken.write(w, creds.Scheme)
	case ctx.Err() != nil: // the client went away
		m.log.DebugContext(ctx, "bearer: token validation abandoned", "error", err)
		w.WriteHeader(http.StatusServiceUnavailable)
	case errors.Is(err, ErrUnavailable):
		m.log.ErrorContext(ctx, "bearer: token validation unavailable", "error", err)
		w.WriteHeader(http.StatusServiceUnavailable)
	default:
		m.log.ErrorContext(ctx, "bearer: token validation fault", "error", err)
		w.WriteHeader(http.StatusInternalServerError)
	}
	return nil, "", nil, false
}

// refuseProof answers a request whose DPoP proof was refused, or whose
// check failed, with err (RFC 9449 §7.1, §9).
func (m *Middleware) refuseProof(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	code := authheader.InvalidDPoPProof
	switch {
	case errors.Is(err, dpop.ErrUseNonce):
		code = authheader.UseDPoPNonce
	case errors.Is(err, dpop.ErrInvalidProof):
	case ctx.Err() != nil:
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	default: // the replay cache's fault
		m.log.ErrorContext(ctx, "bearer: DPoP proof check fault", "error", err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	m.log.DebugContext(ctx, "bearer: DPoP proof refused", "reason", err)
	// err's message says which rule the proof broke, never a token.
	m.refusal(authheader.Challenge{Error: code, Description: err.Error()}).write(w, authheader.SchemeDPoP)
}

// token extracts the access token from the Authorization header or, if
// allowed, the form body (RFC 6750 §2.1, §2.2), or says how to refuse the
// request. The request returned carries the parsed form body, if one was
// read.
func (m *Middleware) token(w http.ResponseWriter, r *http.Request) (authheader.Credentials, *http.Request, *refusal) {
	var none authheader.Credentials
	header, err := authheader.FromHeader(r.Header)
	switch {
	case errors.Is(err, authheader.ErrRepeated):
		return none, r, m.repeatedAuth
	case err != nil:
		return none, r, m.malformedAuth
	case header.Scheme == authheader.SchemeDPoP && m.dpop == nil:
		header = none // a scheme this resource does not accept: no token
	}
	if !m.allowForm || !isFormRequest(r) {
		if header.Token == "" {
			return none, r, m.noToken
		}
		return header, r, nil
	}
	form, reason := m.readForm(w, r)
	if reason != "" {
		return header, r, m.invalidRequest(reason)
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.PostForm = form
	bodyTokens := form["access_token"]
	switch {
	case len(bodyTokens) > 1:
		return header, r2, m.invalidRequest("more than one access_token parameter")
	case len(bodyTokens) == 1 && header.Token != "":
		return header, r2, m.invalidRequest("access token in both the Authorization header and the body")
	case len(bodyTokens) == 1:
		if !authheader.IsB64Token(bodyTokens[0]) {
			return none, r2, m.invalidRequest("malformed access_token parameter")
		}
		return authheader.Credentials{Scheme: authheader.SchemeBearer, Token: bodyTokens[0]}, r2, nil
	case header.Token != "":
		return header, r2, nil
	default:
		return none, r2, m.noToken
	}
}

// isFormRequest reports whether r may carry the token in its body: a method
// whose body has defined semantics and a single-part form content type
// (RFC 6750 §2.2).
func isFormRequest(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return false
	}
	ct := r.Header.Get("Content-Type")
	if ct == "application/x-www-form-urlencoded" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// readForm reads and parses the body of a form request, at most
// maxBodyBytes of ASCII. It returns a reason when the body is not acceptable.
func (m *Middleware) readForm(w http.ResponseWriter, r *http.Request) (url.Values, string) {
	if r.Body == nil || r.Body == http.NoBody {
		return url.Values{}, ""
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, m.maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, "request body too large"
		}
		return nil, "unreadable request body"
	}
	for _, c := range body {
		if c > 0x7e || (c < 0x20 && c != '\t' && c != '\r' && c != '\n') {
			return nil, "request body is not ASCII"
		}
	}
	params, err := formdata.Parse(string(body))
	if err != nil {
		return nil, "malformed request body"
	}
	return params, ""
}

// invalidRequest returns a 400 invalid_request refusal.
func (m *Middleware) invalidRequest(description string) *refusal {
	return m.refusal(authheader.Challenge{Error: authheader.InvalidRequest, Description: description})
}
