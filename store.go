package oauthkit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
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
	// Resources are the resource indicators the authorization request named
	// and the resource owner granted (RFC 8707 §2): absolute URIs, or nil.
	// The token request may narrow them, never widen them.
	Resources []string
	// DPoPJKT is the RFC 7638 thumbprint of the key the authorization
	// request bound the code to (RFC 9449 §10, dpop_jkt), or empty: the
	// token request must then carry a DPoP proof made with that key.
	DPoPJKT string
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
	// Actor is the party the token was issued to act for Subject, by a
	// token exchange (RFC 8693 §4.1, the act claim), or nil.
	Actor *Actor
	// JKT is the RFC 7638 SHA-256 thumbprint of the public key the token is
	// bound to (RFC 9449 §6, cnf.jkt), or empty for a bearer token: only a
	// presenter holding the private key may use it.
	JKT string
	// RotatedAt is set by the store when a refresh token has been exchanged
	// for a new one; a rotated token is no longer valid but is kept, until
	// it expires, to detect reuse.
	RotatedAt time.Time
}

// Actor is the party acting for a token's subject, as the act claim of
// RFC 8693 §4.1 names it: its subject and, if that actor was itself acting
// for another, the actor before it. Its JSON form is the act claim's.
type Actor struct {
	// Subject is the actor's sub.
	Subject string `json:"sub"`
	// Actor is the prior actor in a chain of delegations, or nil.
	Actor *Actor `json:"act,omitempty"`
}

// object returns the act claim as a JSON object of Param values, or nil.
func (a *Actor) object() map[string]any {
	if a == nil {
		return nil
	}
	o := map[string]any{"sub": a.Subject}
	if a.Actor != nil {
		o["act"] = a.Actor.object()
	}
	return o
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

// SubjectRevoker is an optional capability of a TokenStore: it revokes
// everything a resource owner was granted, as a host must once the user is
// blocked or their rights change (RFC 9700 §4.14.2 leaves refresh tokens
// valid until revoked). A host calls it; the library never does.
type SubjectRevoker interface {
	// RevokeSubject revokes, as RevokeGrant does, every grant with a token
	// whose Subject is subject and whose SubjectIsClient is false, or with
	// an authorization code stored for subject: their tokens are revoked,
	// and tokens of those grants stored afterwards (by a code redeemed or a
	// refresh rotated at the same time) are refused with ErrReused for at
	// least MaxCodeLifetime. Tokens issued to a client for itself
	// (client_credentials) are not a resource owner's and stay; so does a
	// device authorization approved but not yet polled for (the host's
	// verification page should stop approving for the subject first). A
	// subject with nothing stored is not an error; any error is an internal
	// fault.
	RevokeSubject(ctx context.Context, subject string) error
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

// DeviceStatus is where a device authorization stands (RFC 8628 §3.4).
type DeviceStatus uint8

// Device authorization states. A pending authorization is approved or
// denied once, at the verification page; an approved one is redeemed once,
// by the device's token request.
const (
	DevicePending DeviceStatus = iota + 1
	DeviceApproved
	DeviceDenied
	DeviceRedeemed
)

// String returns the status's name, such as "pending".
func (s DeviceStatus) String() string {
	switch s {
	case DevicePending:
		return "pending"
	case DeviceApproved:
		return "approved"
	case DeviceDenied:
		return "denied"
	case DeviceRedeemed:
		return "redeemed"
	default:
		return "unknown"
	}
}

// DeviceAuthorization is a device authorization request (RFC 8628 §3.1)
// as stored: never its device code or user code, only their hashes.
type DeviceAuthorization struct {
	// ID is [HashToken] of the device code.
	ID string
	// UserCodeID is [HashToken] of the user code in its canonical form
	// (upper case, without separators): the key the verification page
	// looks it up by.
	UserCodeID string
	// ClientID is the client (the device) that asked.
	ClientID string
	// Scope is the requested scope, as resolved for the client.
	Scope []string
	// Resources are the requested resource indicators (RFC 8707), or nil.
	Resources []string
	// ExpiresAt is when the device code and the user code expire.
	ExpiresAt time.Time
	// Interval is the least time the client must wait between polls; the
	// store adds five seconds to it each time the client polls faster
	// (RFC 8628 §3.5, slow_down).
	Interval time.Duration
	// LastPolledAt is when the client last polled, or zero. The store
	// sets it.
	LastPolledAt time.Time
	// Status is where the authorization stands. The store sets it.
	Status DeviceStatus
	// Subject, AuthTime and ACR describe the resource owner who approved
	// it; they are set when Status becomes DeviceApproved.
	Subject  string
	AuthTime time.Time
	ACR      string
}

// DeviceStore keeps device authorizations (RFC 8628) from the device
// authorization request until their tokens are issued or they expire.
//
// Implementations must be safe for concurrent use. Every method is one
// atomic operation: the decision at the verification page happens once,
// and the tokens are issued once, however many requests race.
type DeviceStore interface {
	// CreateDeviceAuthorization stores a new pending authorization. It
	// returns an error wrapping ErrExists, and stores nothing, if its ID or
	// its UserCodeID is held by another unexpired authorization (the caller
	// then draws new codes).
	CreateDeviceAuthorization(ctx context.Context, a *DeviceAuthorization) error
	// DeviceAuthorizationByUserCode returns the pending authorization whose
	// UserCodeID is userCodeID. It returns an error wrapping ErrNotFound if
	// there is none, or it is expired at now, or it is no longer pending.
	DeviceAuthorizationByUserCode(ctx context.Context, userCodeID string, now time.Time) (*DeviceAuthorization, error)
	// DecideDeviceAuthorization records the resource owner's decision on
	// the pending authorization whose UserCodeID is userCodeID: approved,
	// with its Subject, AuthTime and ACR taken from approval, or denied if
	// approval is nil. It returns an error wrapping ErrNotFound, and
	// changes nothing, if there is no such authorization pending and
	// unexpired at now: of concurrent decisions, one wins.
	DecideDeviceAuthorization(ctx context.Context, userCodeID string, now time.Time, approval *DeviceAuthorization) error
	// PollDeviceAuthorization records a token request for the
	// authorization whose ID is id, made by clientID at now, and returns
	// the authorization as it was before this poll (its LastPolledAt and
	// Interval those the poll was measured against):
	//
	//   - unknown, or issued to another client: an error wrapping
	//     ErrNotFound, and nothing changes;
	//   - expired at now: returned as it is (the caller answers
	//     expired_token), and nothing changes;
	//   - pending: LastPolledAt becomes now and, if the previous poll was
	//     less than Interval before now, Interval grows by five seconds;
	//   - approved: it becomes DeviceRedeemed (the caller issues the
	//     tokens: of concurrent polls, exactly one sees DeviceApproved);
	//   - denied or redeemed: returned as it is.
	//
	// Any other error is an internal fault.
	PollDeviceAuthorization(ctx context.Context, id, clientID string, now time.Time) (*DeviceAuthorization, error)
}

// PushedRequest is a pushed authorization request (RFC 9126) as stored,
// under the hash of its request_uri.
type PushedRequest struct {
	// ID is [HashToken] of the request_uri.
	ID string
	// ClientID is the client that pushed it; only it may use the
	// request_uri.
	ClientID string
	// Form holds the authorization request's parameters as pushed, after
	// they were validated.
	Form url.Values
	// ExpiresAt is when the request_uri stops being usable.
	ExpiresAt time.Time
}

// PushedRequestStore keeps pushed authorization requests until they are
// used or expire (RFC 9126 §2.2).
//
// Implementations must be safe for concurrent use.
type PushedRequestStore interface {
	// CreatePushedRequest stores a new pushed request. It returns an
	// error wrapping ErrExists if its ID is taken.
	CreatePushedRequest(ctx context.Context, r *PushedRequest) error
	// PushedRequest returns the pushed request with the given ID, without
	// using it up, if it was pushed by clientID and is unexpired at now.
	// Otherwise it returns an error wrapping ErrNotFound. Any other error
	// is an internal fault.
	//
	// The authorization endpoint reads a pushed request with it while the
	// host's login and consent pages post the request_uri back, and a user
	// reloads them (RFC 9126 §4 allows such duplicates); it consumes the
	// request only when it answers the client.
	PushedRequest(ctx context.Context, id, clientID string, now time.Time) (*PushedRequest, error)
	// ConsumePushedRequest atomically removes the pushed request with the
	// given ID and returns it, if it was pushed by clientID and is
	// unexpired at now. Otherwise it returns an error wrapping ErrNotFound
	// and changes nothing: a request_uri is used once, by its own client,
	// and of concurrent calls exactly one succeeds. Any other error is an
	// internal fault.
	ConsumePushedRequest(ctx context.Context, id, clientID string, now time.Time) (*PushedRequest, error)
}
