package jwt

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/oauthkit/oauthkit"
)

// jtiBytes is the size of a token's random identifier: 128 bits, so that
// two tokens never share one (RFC 7519 §4.1.7).
const jtiBytes = 16

// AccessTokens issues access tokens as signed JWTs in the profile of
// RFC 9068, which resource servers can validate on their own with the
// key set's JWKS. Set it as Config.AccessTokens, or in
// Config.AccessTokenFormats for some clients only. Its "iss" claim is the
// issuer the server passes in, its Config.Issuer: configured once, on the
// server, and one key set per issuer when one process serves many
// (oauthkit.Tenants).
//
// It implements [oauthkit.TokenIssuer] and [oauthkit.TokenVerifier]. The
// store ID of a token is [oauthkit.SelfContainedTokenID] of its "jti", so a
// JWT access token is revoked, introspected and looked up like an opaque
// one, while its jti alone is never taken for a token.
//
// Its fields must not be modified once it is in use; it is then safe for
// concurrent use.
type AccessTokens struct {
	// Keys signs and verifies the tokens. Required.
	//
	// Give access tokens and ID tokens different keys, or rely on the
	// "typ" header as VerifyAccessToken does, so that neither is accepted
	// as the other (RFC 9068 §5).
	Keys *KeySet
	// DefaultAudience is the "aud" claim of tokens whose Token.Audience is
	// empty. RFC 9068 §2.2 requires an audience, so if DefaultAudience is
	// empty too the audience is the issuer.
	DefaultAudience []string
	// Rand is the source of the "jti" claim. Nil means crypto/rand.
	Rand io.Reader
}

// accessTokenClaims are the claims of RFC 9068 §2.2, in the order it lists
// them.
type accessTokenClaims struct {
	Iss      string `json:"iss"`
	Exp      int64  `json:"exp"`
	Aud      any    `json:"aud"` // a string for one audience, else []string
	Sub      string `json:"sub"`
	ClientID string `json:"client_id"`
	Iat      int64  `json:"iat"`
	Jti      string `json:"jti"`
	Scope    string `json:"scope,omitempty"`
	AuthTime int64  `json:"auth_time,omitempty"`
	ACR      string `json:"acr,omitempty"`
	// Act is the actor of a delegated token (RFC 8693 §4.1).
	Act *oauthkit.Actor `json:"act,omitempty"`
	// Cnf is the key a DPoP-bound token is bound to (RFC 9449 §6.1).
	Cnf *oauthkit.Confirmation `json:"cnf,omitempty"`
}

var errNoKeys = errors.New("jwt: AccessTokens.Keys is nil")
var errNoIssuer = errors.New("jwt: AccessTokens: the issuer is empty")

// IssueAccessToken returns a JWT access token of issuer for t, with the "typ" header
// "at+jwt" (RFC 9068 §2.1) and the claims of RFC 9068 §2.2: iss, exp, aud,
// sub, client_id, iat, jti, and scope, auth_time and acr when t has them,
// the act claim of RFC 8693 §4.1 for a token with an Actor, and cnf.jkt for
// a token bound to a DPoP key (t.JKT, RFC 9449 §6.1).
// It sets t.ID to [oauthkit.SelfContainedTokenID] of the jti. t must have Subject, ClientID,
// IssuedAt and ExpiresAt set.
func (a *AccessTokens) IssueAccessToken(_ context.Context, issuer string, t *oauthkit.Token) (string, error) {
	return a.issue(issuer, t, nil)
}

// IssueAccessTokenWithClaims is IssueAccessToken with the private claims
// of RFC 9068 §2.2.3 added (oauthkit.ClaimsIssuer). A claim that
// IssueAccessToken sets itself is never replaced: naming one is an error.
func (a *AccessTokens) IssueAccessTokenWithClaims(_ context.Context, issuer string, t *oauthkit.Token, claims map[string]any) (string, error) {
	return a.issue(issuer, t, claims)
}

// issue mints the token for t with extra claims, if any.
func (a *AccessTokens) issue(issuer string, t *oauthkit.Token, extra map[string]any) (string, error) {
	switch {
	case a.Keys == nil:
		return "", errNoKeys
	case issuer == "":
		return "", errNoIssuer
	case t == nil || t.Subject == "" || t.ClientID == "" || t.IssuedAt.IsZero() || t.ExpiresAt.IsZero():
		return "", errors.New("jwt: IssueAccessToken: token lacks subject, client ID, issue or expiry time")
	}
	var b [jtiBytes]byte
	if a.Rand == nil {
		rand.Read(b[:]) // never fails, and b stays on the stack
	} else {
		// A slice handed to an arbitrary Reader escapes: read into one of
		// its own, so that b stays on the stack in the default case.
		buf := make([]byte, len(b))
		if _, err := io.ReadFull(a.Rand, buf); err != nil {
			return "", fmt.Errorf("jwt: reading randomness: %w", err)
		}
		copy(b[:], buf)
	}
	jti := base64.RawURLEncoding.EncodeToString(b[:])
	c := accessTokenClaims{
		Iss:      issuer,
		Exp:      t.ExpiresAt.Unix(),
		Aud:      a.audience(issuer, t.Audience),
		Sub:      t.Subject,
		ClientID: t.ClientID,
		Iat:      t.IssuedAt.Unix(),
		Jti:      jti,
		Scope:    strings.Join(t.Scope, " "),
		ACR:      t.ACR,
		Act:      t.Actor,
	}
	if !t.AuthTime.IsZero() {
		c.AuthTime = t.AuthTime.Unix()
	}
	if t.JKT != "" {
		c.Cnf = &oauthkit.Confirmation{JKT: t.JKT}
	}
	payload, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("jwt: encoding claims: %w", err)
	}
	if len(extra) > 0 {
		if payload, err = addClaims(payload, extra); err != nil {
			return "", err
		}
	}
	token, err := a.Keys.load().sign(typeAccessToken, payload)
	if err != nil {
		return "", err
	}
	t.ID = oauthkit.SelfContainedTokenID(jti)
	return token, nil
}

// addClaims adds extra to the JSON object payload, refusing any name the
// object has already or that RFC 9068 reserves for the issuer.
func addClaims(payload []byte, extra map[string]any) ([]byte, error) {
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, fmt.Errorf("jwt: encoding claims: %w", err)
	}
	for name, v := range extra {
		switch name {
		case "iss", "exp", "aud", "sub", "client_id", "iat", "jti", "nbf", "cnf", "scope", "auth_time", "acr", "act":
			return nil, fmt.Errorf("jwt: extra claim %q would replace a claim of the token", name)
		}
		claims[name] = v
	}
	out, err := json.Marshal(claims)
	if err != nil {
		return nil, fmt.Errorf("jwt: encoding claims: %w", err)
	}
	return out, nil
}

// audience returns the "aud" claim for a token's audience.
func (a *AccessTokens) audience(issuer string, aud []string) any {
	if len(aud) == 0 {
		aud = a.DefaultAudience
	}
	switch len(aud) {
	case 0:
		return issuer
	case 1:
		return aud[0]
	default:
		return aud
	}
}

// JWKS returns the JSON Web Key Set of Keys (KeySet.JWKS), with which
// resource servers check the tokens: [oauthkit.Server.JWKSHandler] serves
// it (oauthkit.KeyPublisher).
func (a *AccessTokens) JWKS() []byte {
	if a.Keys == nil {
		return (&KeySet{}).JWKS()
	}
	return a.Keys.JWKS()
}

// VerifyAccessToken checks that token is a JWT access token of issuer,
// valid at now, and returns its store ID, [oauthkit.SelfContainedTokenID] of
// its jti.
// It verifies the signature with the key named by "kid" (as
// [KeySet.Verify] does, with typ "at+jwt"), that "iss" is issuer, and that
// "jti" is present. It does not check "aud": the authorization server
// answers for every audience. Any token that fails yields an error wrapping
// both oauthkit.ErrNotFound and ErrInvalidToken; a missing Keys or issuer
// is a configuration fault, reported by an error wrapping neither.
func (a *AccessTokens) VerifyAccessToken(_ context.Context, issuer, token string, now time.Time) (string, error) {
	switch {
	case a.Keys == nil:
		return "", errNoKeys
	case issuer == "":
		return "", errNoIssuer
	}
	c, err := a.Keys.Verify(token, typeAccessToken, now)
	switch {
	case err != nil:
	case c.Issuer != issuer:
		err = errIssuer
	case c.ID == "":
		err = fmt.Errorf("%w jti", errClaim)
	default:
		return oauthkit.SelfContainedTokenID(c.ID), nil
	}
	return "", fmt.Errorf("%w: %w", oauthkit.ErrNotFound, err)
}
