package oauthkit

import (
	"context"
	"io"
	"time"
)

// TokenIssuer mints access tokens.
//
// Implementations must be safe for concurrent use.
type TokenIssuer interface {
	// IssueAccessToken returns the access token that issuer (the server's
	// Config.Issuer, for tokens that name it) sends for t, whose fields
	// other than ID are set (GrantID is empty for the first token of a new
	// grant: the grant is then named after the token's ID), and sets t.ID to
	// the key under which t is stored and later found: [HashToken] of an
	// opaque token, or [SelfContainedTokenID] of a self-contained token's
	// unique identifier. The ID must be unique.
	IssueAccessToken(ctx context.Context, issuer string, t *Token) (string, error)
}

// OpaqueTokens issues opaque access tokens: 256-bit random strings that mean
// nothing without the token store. It is the default TokenIssuer.
type OpaqueTokens struct {
	// Rand is the source of tokens. Nil means crypto/rand.
	Rand io.Reader
}

// IssueAccessToken returns a new random token and sets t.ID to its hash.
// An opaque token names no issuer.
func (o OpaqueTokens) IssueAccessToken(_ context.Context, _ string, t *Token) (string, error) {
	tok, err := randomToken(o.Rand)
	if err != nil {
		return "", err
	}
	t.ID = HashToken(tok)
	return tok, nil
}

// TokenVerifier is implemented by a TokenIssuer whose tokens are
// self-contained (signed JWTs): it finds the store ID of a presented token,
// so that introspection, revocation and bearer validation treat every format
// alike.
type TokenVerifier interface {
	// VerifyAccessToken checks the token's signature, that it names issuer
	// (the server's Config.Issuer) and its expiry at now, and returns its store ID (the ID IssueAccessToken set, made by
	// [SelfContainedTokenID]; the server refuses to issue or look up any
	// other). It returns
	// an error wrapping ErrNotFound for a token that is not a valid token of
	// this issuer.
	VerifyAccessToken(ctx context.Context, issuer, token string, now time.Time) (id string, err error)
}

// Signer signs JSON Web Tokens, such as OpenID Connect ID tokens. Package
// jwt provides one backed by a rotating key set.
//
// Implementations must be safe for concurrent use.
type Signer interface {
	// Algorithm returns the JWS "alg" of the active signing key, such as
	// "ES256".
	Algorithm() string
	// Sign returns a compact JWS of claims, JSON-encoded, with the header
	// "typ" set to typ (omitted when empty) and "kid" naming the key.
	Sign(ctx context.Context, typ string, claims any) (string, error)
}
