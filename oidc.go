package oauthkit

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"hash"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/oauthkit/oauthkit/dpop"
	"github.com/oauthkit/oauthkit/internal/authheader"
)

// ScopeOpenID is the scope that makes a request an OpenID Connect request.
const ScopeOpenID = "openid"

// DefaultIDTokenLifetime is the lifetime of ID tokens when
// Config.IDTokenLifetime is zero.
const DefaultIDTokenLifetime = time.Hour

// ClaimsSource supplies claims about the resource owner for the OpenID
// Connect userinfo endpoint (and for ID tokens issued without an access
// token, OIDC Core §5.4).
//
// Implementations must be safe for concurrent use.
type ClaimsSource interface {
	// Claims returns the claims about subject that the granted scope allows,
	// such as "email" for the email scope. The "sub" claim is always set by
	// the library. An error wrapping ErrNotFound means the subject no longer
	// exists; any other error is an internal fault.
	Claims(ctx context.Context, subject string, scope []string) (map[string]any, error)
}

// idTokenClaims are the claims of an ID token (OIDC Core §2, §3.1.3.6,
// §3.3.2.11).
type idTokenClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	ExpiresAt int64  `json:"exp"`
	IssuedAt  int64  `json:"iat"`
	AuthTime  int64  `json:"auth_time,omitempty"`
	Nonce     string `json:"nonce,omitempty"`
	ACR       string `json:"acr,omitempty"`
	AZP       string `json:"azp"`
	AtHash    string `json:"at_hash,omitempty"`
	CHash     string `json:"c_hash,omitempty"`
}

// idTokenInput is what an ID token is made from.
type idTokenInput struct {
	client      *Client
	subject     string
	nonce       string
	authTime    time.Time
	acr         string
	accessToken string // for at_hash, or empty
	code        string // for c_hash, or empty
	scope       []string
	now         time.Time
	extra       map[string]any // from the issuance hook; never a registered claim
}

// issueIDToken signs an ID token. When no access token is issued with it,
// the scope's claims go in the ID token itself (OIDC Core §5.4).
func (s *Server) issueIDToken(ctx context.Context, in idTokenInput) (string, error) {
	signer := s.cfg.IDTokens
	c := idTokenClaims{
		Issuer:    s.cfg.Issuer,
		Subject:   in.subject,
		Audience:  in.client.ID,
		ExpiresAt: in.now.Add(s.cfg.IDTokenLifetime).Unix(),
		IssuedAt:  in.now.Unix(),
		Nonce:     in.nonce,
		ACR:       in.acr,
		AZP:       in.client.ID,
	}
	if !in.authTime.IsZero() {
		c.AuthTime = in.authTime.Unix()
	}
	alg := signer.Algorithm()
	if in.accessToken != "" {
		c.AtHash = halfHash(alg, in.accessToken)
	}
	if in.code != "" {
		c.CHash = halfHash(alg, in.code)
	}
	// Profile claims go in the ID token only when no access token is, or
	// will be, issued to fetch them from userinfo (OIDC Core §5.4): never
	// for the code flows, whose ID token may travel in the front channel.
	profile := in.accessToken == "" && in.code == "" && s.cfg.Claims != nil
	if !profile && len(in.extra) == 0 {
		return signer.Sign(ctx, "JWT", c)
	}
	var extra map[string]any
	if profile {
		var err error
		if extra, err = s.cfg.Claims.Claims(ctx, in.subject, in.scope); err != nil {
			return "", err
		}
	}
	claims := make(map[string]any, len(extra)+len(in.extra)+11)
	maps.Copy(claims, extra)
	maps.Copy(claims, in.extra)
	for k, v := range map[string]any{"iss": c.Issuer, "sub": c.Subject, "aud": c.Audience, "exp": c.ExpiresAt,
		"iat": c.IssuedAt, "azp": c.AZP} {
		claims[k] = v
	}
	for k, v := range map[string]string{"nonce": c.Nonce, "acr": c.ACR, "c_hash": c.CHash, "at_hash": c.AtHash} {
		if v != "" {
			claims[k] = v
		}
	}
	if c.AuthTime != 0 {
		claims["auth_time"] = c.AuthTime
	}
	return signer.Sign(ctx, "JWT", claims)
}

// halfHash is the at_hash / c_hash of value: the base64url left half of its
// hash with the hash function of the JWS algorithm (OIDC Core §3.1.3.6).
func halfHash(alg string, value string) string {
	var h hash.Hash
	switch {
	case alg == "EdDSA", strings.HasSuffix(alg, "512"):
		h = sha512.New() // Ed25519 signs with SHA-512
	case strings.HasSuffix(alg, "384"):
		h = sha512.New384()
	default:
		h = sha256.New()
	}
	h.Write([]byte(value))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// userInfoProof checks the DPoP proof of a userinfo request presenting
// token with the DPoP scheme, returning dpop.Verify's error if it fails.
func (s *Server) userInfoProof(ctx context.Context, r *http.Request, token string) (*dpop.Proof, error) {
	raw, err := dpop.FromHeader(r.Header)
	if err != nil {
		return nil, err
	}
	return s.dpop.Verify(ctx, raw, dpop.Request{Method: r.Method, URL: s.cfg.Endpoints.UserInfo, AccessToken: token})
}

// Prompt values of OIDC Core §3.1.2.1.
var promptValues = []string{"none", "login", "consent", "select_account"}

// parseOpenIDParams validates the OpenID Connect parameters of an
// authorization request whose scope includes openid.
func parseOpenIDParams(req *AuthorizeRequest) *Error {
	if p := req.Params.Get("prompt"); p != "" {
		req.Prompt = strings.Fields(p)
		for _, v := range req.Prompt {
			if !slices.Contains(promptValues, v) {
				return ErrInvalidRequest.WithDescription("unsupported prompt value %s", v)
			}
		}
		if slices.Contains(req.Prompt, "none") && len(req.Prompt) > 1 {
			return ErrInvalidRequest.WithDescription("prompt none cannot be combined with other values")
		}
	}
	if m, ok := req.Params["max_age"]; ok {
		secs, err := parseNonNegative(m[0])
		if err != nil {
			return ErrInvalidRequest.WithDescription("max_age must be a non-negative integer")
		}
		d := time.Duration(secs) * time.Second
		req.MaxAge = &d
	}
	return nil
}

func parseNonNegative(s string) (int64, error) {
	if s == "" || len(s) > 9 {
		return 0, errors.New("out of range")
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, nil
}

// UserInfoHandler returns the OpenID Connect userinfo endpoint (OIDC Core
// §5.3). It accepts an access token with the openid scope in the
// Authorization header (RFC 6750 §2.1) and answers the claims that
// Config.Claims returns for the token's subject and scope, with "sub".
// Errors are RFC 6750 §3 challenges whose realm is the issuer: 401 with no
// error code for a request without a bearer token, 400 invalid_request for
// a malformed Authorization header, 401 invalid_token for a token that is
// unknown, expired or revoked or that has no end-user (Token.SubjectIsClient:
// Config.Claims is never called for it), 403 insufficient_scope for a token
// without the openid scope.
//
// With Config.DPoP and Endpoints.UserInfo set, a DPoP-bound token is
// accepted as "Authorization: DPoP <token>" with a proof whose htu is
// Endpoints.UserInfo and whose ath is the token's hash (RFC 9449 §7), and
// refused as a bearer token; an unbound token is refused with the DPoP
// scheme. A refused proof is 401 invalid_dpop_proof or use_dpop_nonce, and
// the challenges name both schemes.
func (s *Server) UserInfoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		dpopOn := s.dpop != nil && s.cfg.Endpoints.UserInfo != ""
		creds, err := authheader.FromHeader(r.Header)
		if creds.Scheme == authheader.SchemeDPoP && !dpopOn {
			creds = authheader.Credentials{} // a scheme not accepted here: no token
		}
		refuse := func(code, description string) {
			c := authheader.Challenge{Realm: s.cfg.Issuer, Error: code, Description: description}
			if code == authheader.InsufficientScope {
				c.Scope = ScopeOpenID
			}
			if !dpopOn {
				c.Write(w)
				return
			}
			w.Header().Set("WWW-Authenticate", authheader.WithDPoP(c, creds.Scheme, strings.Join(s.dpop.Algorithms(), " ")))
			w.WriteHeader(c.Status())
		}
		switch {
		case err != nil:
			refuse(authheader.InvalidRequest, err.Error())
			return
		case creds.Token == "":
			refuse("", "")
			return
		}
		var proof *dpop.Proof
		if creds.Scheme == authheader.SchemeDPoP {
			s.setDPoPNonce(w.Header())
			if proof, err = s.userInfoProof(ctx, r, creds.Token); err != nil {
				if oerr := dpopError(err); oerr.Code != ErrServerError.Code {
					refuse(oerr.Code, oerr.Description) // invalid_dpop_proof or use_dpop_nonce, 401 (RFC 9449 §7.1, §9)
				} else {
					s.logFault(ctx, "userinfo", oerr)
					w.WriteHeader(http.StatusInternalServerError)
				}
				return
			}
		}
		t, err := s.ValidateAccessToken(ctx, creds.Token)
		switch {
		case errors.Is(err, ErrNotFound):
			refuse(authheader.InvalidToken, "invalid or expired access token")
			return
		case err != nil:
			s.logFault(ctx, "userinfo", ErrServerError.Wrap(err))
			w.WriteHeader(http.StatusInternalServerError)
			return
		case proof == nil && t.JKT != "":
			refuse(authheader.InvalidToken, "a DPoP-bound access token must be presented with the DPoP scheme and a proof")
			return
		case proof != nil && t.JKT != proof.Thumbprint:
			refuse(authheader.InvalidToken, "invalid DPoP key binding")
			return
		case t.SubjectIsClient:
			// The client's own token (client_credentials): its subject is
			// a client ID, which must never be taken for a user's, even
			// one spelled the same (RFC 9700 §4.15.1).
			refuse(authheader.InvalidToken, "the access token has no end-user")
			return
		case !slices.Contains(t.Scope, ScopeOpenID):
			refuse(authheader.InsufficientScope, "the openid scope is required")
			return
		}
		claims := map[string]any{}
		if s.cfg.Claims != nil {
			c, err := s.cfg.Claims.Claims(ctx, t.Subject, t.Scope)
			switch {
			case errors.Is(err, ErrNotFound):
				refuse(authheader.InvalidToken, "the subject no longer exists")
				return
			case err != nil:
				s.logFault(ctx, "userinfo", ErrServerError.Wrap(err))
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			maps.Copy(claims, c)
		}
		claims["sub"] = t.Subject
		writeJSON(w, http.StatusOK, claims)
	})
}
