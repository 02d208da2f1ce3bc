package oauthkit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// AuthorizationCode is an issued authorization code as stored: everything
// the code is bound to (RFC 6749 §4.1.2, RFC 7636 §4.4), never the code
// itself.
type AuthorizationCode struct {
	// ID is the SHA-256 of the code, as made by [HashToken].
	ID string
	// GrantID names the authorization this code starts. Every token issued
	// from the code carries it, so a replayed code revokes them all.
	GrantID string
	// ClientID is the client the code was issued to.
	ClientID string
	// RedirectURI is the redirection URI the response was sent to.
	RedirectURI string
	// RedirectURIParam reports whether the authorization request had a
	// redirect_uri parameter; if so the token request must repeat it
	// (RFC 6749 §4.1.3).
	RedirectURIParam bool
	// Subject identifies the resource owner who approved the request.
	Subject string
	// Scope is the granted scope.
	Scope []string
	// AuthTime is when the resource owner last authenticated, or zero.
	AuthTime time.Time
	// ACR is the authentication context class reference, or empty.
	ACR string
	// CodeChallenge and CodeChallengeMethod are the PKCE parameters
	// (RFC 7636 §4.3); both empty when PKCE was not used.
	CodeChallenge       string
	CodeChallengeMethod string
	// Nonce is the OpenID Connect nonce, or empty.
	Nonce string
	// ExpiresAt is when the code stops being redeemable.
	ExpiresAt time.Time
}

// CodeStore keeps authorization codes until they are redeemed.
//
// Implementations must be safe for concurrent use. Codes are single-use:
// ConsumeCode is one atomic operation, never a read followed by a delete.
type CodeStore interface {
	// CreateCode stores a new code. It returns an error wrapping ErrExists if
	// a code with the same ID is stored already.
	CreateCode(ctx context.Context, code *AuthorizationCode) error
	// ConsumeCode atomically marks the code with the given ID as used and
	// returns it, if the code was issued to clientID. If the code was used
	// before, it returns the stored code together with an error wrapping
	// ErrReused, so that the caller can revoke what was issued from it; used
	// codes must be remembered until they expire. It returns an error
	// wrapping ErrNotFound, and changes nothing, if the code is unknown,
	// expired at now, or issued to another client: a client that is not the
	// code's owner can neither redeem it nor make its owner's redemption
	// look like a replay. Any other error is an internal fault.
	ConsumeCode(ctx context.Context, id, clientID string, now time.Time) (*AuthorizationCode, error)
}

// CodeRedeemer is an optional capability of a CodeStore that keeps the
// tokens too, in one database: it redeems a code and stores the tokens
// issued for it in one transaction. The token endpoint uses it when
// Config.Codes implements it and Config.Tokens is the same value; otherwise
// it calls ConsumeCode and then TokenStore.CreateTokens, and a fault between
// the two leaves the code used and no token issued (the client must start a
// new authorization).
type CodeRedeemer interface {
	// RedeemCode consumes the code with the given ID as ConsumeCode does and
	// calls issue with it, only when ConsumeCode would have returned it
	// without error. It then stores the tokens issue returns, as
	// TokenStore.CreateTokens does, in the same transaction as the
	// consumption: the code is used if and only if the tokens are stored.
	//
	// If issue returns an error, the code stays used, nothing is stored, and
	// RedeemCode returns that error. The other errors are those of
	// ConsumeCode (ErrNotFound; ErrReused, with the code returned) and of
	// CreateTokens (ErrExists; ErrReused for a revoked grant, with the code
	// returned too); with any of them but ConsumeCode's ErrReused, the code
	// is not used afterwards if it was not before.
	RedeemCode(ctx context.Context, id, clientID string, now time.Time,
		issue func(*AuthorizationCode) ([]*Token, error)) (*AuthorizationCode, error)
}

// TokenKind tells access tokens from refresh tokens.
type TokenKind uint8

// Token kinds.
const (
	AccessToken TokenKind = iota + 1
	RefreshToken
)

// String returns "access_token" or "refresh_token", the RFC 7009 token type
// hints.
func (k TokenKind) String() string {
	switch k {
	case AccessToken:
		return "access_token"
	case RefreshToken:
		return "refresh_token"
	default:
		return "unknown"
	}
}

// Token is an issued access or refresh token as stored: its metadata and a
// hash of it, never the token itself.
type Token struct {
	// ID is the store key: [HashToken] of an opaque token, or
	// [SelfContainedTokenID] of a self-contained token's identifier (a JWT's
	// jti). The two never collide, so no presented string is ever taken for
	// a token of the other kind.
	ID string
	// Kind is AccessToken or RefreshToken.
	Kind TokenKind
	// GrantID names the authorization the token was issued under: one
	// redeemed code, one client_credentials request, one refresh family.
	// Revoking a grant revokes every token that carries its ID.
	GrantID string
	// ParentID is the ID of the refresh token this token was issued in
	// exchange for, or empty.
	ParentID string
	// ClientID is the client the token was issued to.
	ClientID string
	// Subject identifies the resource owner or, when SubjectIsClient is
	// set, the client itself.
	Subject string
	// SubjectIsClient reports that no resource owner is involved (the
	// client_credentials grant): Subject is then the client's ID, and the
	// token must never be taken for a user's (RFC 9700 §4.15.1).
	SubjectIsClient bool
	// Scope is the granted scope.
	Scope []string
	// Audience lists the intended resource servers.
	Audience []string
	// IssuedAt and ExpiresAt bound the token's life.
	IssuedAt  time.Time
	ExpiresAt time.Time
	// AuthTime is when the resource owner last authenticated, or zero.
	AuthTime time.Time
	// ACR is the authentication context class reference, or empty.
	ACR string
	// RotatedAt is set by the store when a refresh token has been exchanged
	// for a new one; a rotated token is no longer valid but is kept, until
	// it expires, to detect reuse.
	RotatedAt time.Time
}

// Active reports whether t may be used at now: not expired and, for a
// refresh token, not rotated.
func (t *Token) Active(now time.Time) bool {
	return now.Before(t.ExpiresAt) && t.RotatedAt.IsZero()
}

// TokenStore keeps issued tokens for validation, rotation and revocation.
//
// Implementations must be safe for concurrent use. Returned tokens belong to
// the caller.
//
// What is atomic with what: every method is one atomic operation, and each
// token request writes through exactly one of them. A code exchange
// consumes the code and stores its tokens in one CodeRedeemer.RedeemCode
// where the store implements it, and otherwise in CodeStore.ConsumeCode
// followed by CreateTokens; a refresh consumes the presented token and
// stores its successors in one RotateRefreshToken; the other grants store
// their tokens in one CreateTokens. A refresh also reads the presented token
// with Token first, which decides nothing: RotateRefreshToken decides again
// under its own atomicity.
type TokenStore interface {
	// CreateTokens stores tokens issued together, atomically: all or none.
	// It returns an error wrapping ErrExists if an ID is already stored, and
	// one wrapping ErrReused if their grant was revoked (see RevokeGrant).
	CreateTokens(ctx context.Context, tokens ...*Token) error
	// Token returns the token with the given ID. It returns an error wrapping
	// ErrNotFound if the token is unknown, expired at now, or revoked.
	// Rotated refresh tokens are returned with RotatedAt set.
	Token(ctx context.Context, id string, now time.Time) (*Token, error)
	// RotateRefreshToken atomically exchanges the refresh token with the
	// given ID for next (the new refresh and access tokens, each with
	// ParentID set to id):
	//
	//   - if the token is unknown, expired at now or revoked, it returns an
	//     error wrapping ErrNotFound and stores nothing;
	//   - if it has not been rotated, it sets its RotatedAt to now and stores
	//     next;
	//   - if grace is positive, it was rotated no more than grace before now,
	//     it has not been retried before, and the refresh token issued in
	//     exchange for it is still stored (not revoked, not expired) and has
	//     not itself been rotated, it revokes the tokens issued in exchange
	//     for it and stores next (a client retrying, once, a request whose
	//     response it lost); the refresh token so revoked is remembered as
	//     rotated, so that presenting it later is reuse;
	//   - otherwise (a second retry, a retry after the successor was used,
	//     the use of a successor revoked by a retry) it revokes every token
	//     of its grant and returns an error wrapping ErrReused
	//     (RFC 9700 §4.14.2).
	//
	// If an ID of next is already stored, it returns an error wrapping
	// ErrExists and changes nothing.
	RotateRefreshToken(ctx context.Context, id string, now time.Time, grace time.Duration, next ...*Token) error
	// RevokeToken revokes the token with the given ID. Unknown IDs are not
	// an error.
	RevokeToken(ctx context.Context, id string) error
	// RevokeGrant revokes every token whose GrantID is grantID, and refuses
	// tokens of that grant stored afterwards: for at least MaxCodeLifetime
	// after the revocation, CreateTokens returns an error wrapping ErrReused
	// for a batch holding one, and stores nothing. (A code replayed while its
	// first redemption is still storing its tokens revokes the grant first;
	// the redemption must then fail too.) Unknown grants are not an error.
	RevokeGrant(ctx context.Context, grantID string) error
}

// ReplayCache remembers single-use identifiers until they expire, so that
// each is accepted once across every instance sharing the store: the jti of
// a client assertion (RFC 7523 §3) or of a DPoP proof (RFC 9449 §11.1).
// Callers put what the identifier is unique within into the key (such as
// the issuer and the jti), hashed if it may be long.
//
// Implementations must be safe for concurrent use.
type ReplayCache interface {
	// Remember atomically records key until expiresAt and reports whether
	// it was new: false if key is recorded already and its record has not
	// expired at now. It is one atomic operation, never a lookup followed
	// by an insert: of concurrent calls with one key, exactly one reports
	// true. Any error is an internal fault.
	Remember(ctx context.Context, key string, now, expiresAt time.Time) (bool, error)
}

// SelfContainedTokenID returns the store ID of a self-contained token (a
// signed JWT) from its unique identifier, such as its "jti": a prefix that
// base64url never produces, then [HashToken] of the identifier. The prefix
// puts such IDs in a space of their own, so that the identifier alone,
// presented as if it were an opaque token, is never found: a TokenVerifier
// must set Token.ID with this function.
func SelfContainedTokenID(identifier string) string {
	return selfContainedPrefix + HashToken(identifier)
}

const selfContainedPrefix = "jti:"

// HashToken returns the store ID of an opaque token or code: its SHA-256,
// base64url-encoded. Tokens are 256-bit random strings, so the hash is
// irreversible and needs no salt; a read of the store yields no usable token.
func HashToken(token string) string {
	var sum [sha256.Size]byte
	var buf [64]byte // tokens are 43 bytes: hash them without a heap copy
	if len(token) <= len(buf) {
		sum = sha256.Sum256(buf[:copy(buf[:], token)])
	} else {
		sum = sha256.Sum256([]byte(token))
	}
	var enc [43]byte
	base64.RawURLEncoding.Encode(enc[:], sum[:])
	return string(enc[:])
}
