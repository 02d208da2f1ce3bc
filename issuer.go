package oauthkit

import (
	"context"
	"io"
)

// TokenIssuer mints access tokens.
//
// Implementations must be safe for concurrent use.
type TokenIssuer interface {
	// IssueAccessToken returns the access token to send for t, whose fields
	// other than ID are set, and sets t.ID to the key under which t is
	// stored and later found: [HashToken] of an opaque token, or the hash of
	// a self-contained token's unique identifier.
	IssueAccessToken(ctx context.Context, t *Token) (string, error)
}

// OpaqueTokens issues opaque access tokens: 256-bit random strings that mean
// nothing without the token store. It is the default TokenIssuer.
type OpaqueTokens struct {
	// Rand is the source of tokens. Nil means crypto/rand.
	Rand io.Reader
}

// IssueAccessToken returns a new random token and sets t.ID to its hash.
func (o OpaqueTokens) IssueAccessToken(_ context.Context, t *Token) (string, error) {
	tok, err := randomToken(o.Rand)
	if err != nil {
		return "", err
	}
	t.ID = HashToken(tok)
	return tok, nil
}
