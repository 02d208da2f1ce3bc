package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/oauthkit/oauthkit"
)

// CreateCode stores a new authorization code, or returns an error wrapping
// oauthkit.ErrExists if its ID is taken.
func (s *Store) CreateCode(ctx context.Context, c *oauthkit.AuthorizationCode) error {
	if c == nil || c.ID == "" || c.ExpiresAt.IsZero() {
		return errors.New("postgres: code needs an ID and an expiry")
	}
	for _, v := range append([]string{c.ID, c.GrantID, c.ClientID, c.RedirectURI, c.Subject, c.ACR,
		c.CodeChallenge, c.CodeChallengeMethod, c.Nonce}, c.Scope...) {
		if !storable(v) {
			return errors.New("postgres: code has a value that is not valid UTF-8 or has a NUL byte")
		}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO oauthkit_codes (id, grant_id, client_id, redirect_uri,
		redirect_uri_param, subject, scope, auth_time, acr, code_challenge, code_challenge_method,
		nonce, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		c.ID, c.GrantID, c.ClientID, c.RedirectURI, c.RedirectURIParam, c.Subject, c.Scope,
		nullTime(c.AuthTime), c.ACR, c.CodeChallenge, c.CodeChallengeMethod, c.Nonce, micro(c.ExpiresAt))
	return wrapErr("create code", err)
}

// ConsumeCode marks the code used and returns it, in one statement: the
// row lock of the UPDATE orders concurrent redemptions, and its use count
// tells the first (which succeeds) from every later one (which gets the code
// and an error wrapping oauthkit.ErrReused). An unknown or expired code is
// oauthkit.ErrNotFound.
func (s *Store) ConsumeCode(ctx context.Context, id, clientID string, now time.Time) (*oauthkit.AuthorizationCode, error) {
	if !storable(id) || !storable(clientID) {
		return nil, notFound("code")
	}
	var (
		c        oauthkit.AuthorizationCode
		authTime pgtype.Timestamptz
		uses     int32
	)
	err := s.pool.QueryRow(ctx, `UPDATE oauthkit_codes
		SET uses = least(uses, 2147483646) + 1, consumed_at = coalesce(consumed_at, $2)
		WHERE id = $1 AND expires_at > $2 AND client_id = $3
		RETURNING id, grant_id, client_id, redirect_uri, redirect_uri_param, subject, scope,
			auth_time, acr, code_challenge, code_challenge_method, nonce, expires_at, uses`,
		id, micro(now), clientID).Scan(&c.ID, &c.GrantID, &c.ClientID, &c.RedirectURI, &c.RedirectURIParam,
		&c.Subject, &c.Scope, &authTime, &c.ACR, &c.CodeChallenge, &c.CodeChallengeMethod,
		&c.Nonce, &c.ExpiresAt, &uses)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, notFound("code")
	case err != nil:
		return nil, wrapErr("consume code", err)
	}
	c.ExpiresAt = c.ExpiresAt.UTC()
	c.AuthTime = timeOf(authTime)
	if uses > 1 {
		return &c, errReusedCode
	}
	return &c, nil
}

var errReusedCode = fmt.Errorf("postgres: code: %w", oauthkit.ErrReused)

// timeOf is the time of a nullable timestamptz, zero for NULL.
func timeOf(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}
