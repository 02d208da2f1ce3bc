package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/oauthkit/oauthkit"
)

// CreateCode stores a new authorization code, or returns an error wrapping
// oauthkit.ErrExists if its ID is taken.
func (s *Store) CreateCode(ctx context.Context, c *oauthkit.AuthorizationCode) error {
	if c == nil || c.ID == "" || c.ExpiresAt.IsZero() {
		return errors.New("postgres: code needs an ID and an expiry")
	}
	for _, list := range [][]string{{c.ID, c.GrantID, c.ClientID, c.RedirectURI, c.Subject, c.ACR,
		c.CodeChallenge, c.CodeChallengeMethod, c.Nonce, c.DPoPJKT}, c.Scope, c.Resources} {
		for _, v := range list {
			if !storable(v) {
				return errors.New("postgres: code has a value that is not valid UTF-8 or has a NUL byte")
			}
		}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO oauthkit_codes (id, grant_id, client_id, redirect_uri,
		redirect_uri_param, subject, scope, auth_time, acr, code_challenge, code_challenge_method,
		nonce, resources, dpop_jkt, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		c.ID, c.GrantID, c.ClientID, c.RedirectURI, c.RedirectURIParam, c.Subject, c.Scope,
		nullTime(c.AuthTime), c.ACR, c.CodeChallenge, c.CodeChallengeMethod, c.Nonce,
		c.Resources, c.DPoPJKT, micro(c.ExpiresAt))
	return wrapErr("create code", err)
}

// consumeSQL marks the code $1 used, if it is unexpired at $2 and was issued
// to $3, and returns it with its use count: the row lock of the UPDATE
// orders concurrent redemptions, and the use count tells the first (1) from
// every later one. A code of another client is left as it is.
const consumeSQL = `UPDATE oauthkit_codes
	SET uses = least(uses, 2147483646) + 1, consumed_at = coalesce(consumed_at, $2)
	WHERE id = $1 AND expires_at > $2 AND client_id = $3
	RETURNING id, grant_id, client_id, redirect_uri, redirect_uri_param, subject, scope,
		auth_time, acr, code_challenge, code_challenge_method, nonce, resources, dpop_jkt,
		expires_at, uses`

// consumed is the result of consumeSQL.
type consumed struct {
	code     oauthkit.AuthorizationCode
	authTime pgtype.Timestamptz
	uses     int32 // 0 if no code was found
}

// scan reads the row of consumeSQL. No row is not an error for the batch,
// which would drop the connection's prepared statements.
func (r *consumed) scan(row pgx.Row) error {
	c := &r.code
	err := row.Scan(&c.ID, &c.GrantID, &c.ClientID, &c.RedirectURI, &c.RedirectURIParam,
		&c.Subject, &c.Scope, &r.authTime, &c.ACR, &c.CodeChallenge, &c.CodeChallengeMethod,
		&c.Nonce, &c.Resources, &c.DPoPJKT, &c.ExpiresAt, &r.uses)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	return err
}

// result returns the code consumed and the ConsumeCode error it means.
func (r *consumed) result() (*oauthkit.AuthorizationCode, error) {
	if r.uses == 0 {
		return nil, notFound("code")
	}
	c := r.code
	c.ExpiresAt = c.ExpiresAt.UTC()
	c.AuthTime = timeOf(r.authTime)
	if r.uses > 1 {
		return &c, errReusedCode
	}
	return &c, nil
}

// ConsumeCode marks the code used and returns it, in one statement (one
// round trip, within the deadline of ctx: see checkDeadline): the row lock
// of the UPDATE orders concurrent redemptions, and its use count tells the
// first (which succeeds) from every later one (which gets the code and an
// error wrapping oauthkit.ErrReused). An unknown or expired code, or one
// issued to another client than clientID, is oauthkit.ErrNotFound and is
// left unchanged.
func (s *Store) ConsumeCode(ctx context.Context, id, clientID string, now time.Time) (*oauthkit.AuthorizationCode, error) {
	if !storable(id) || !storable(clientID) {
		return nil, notFound("code")
	}
	ctx, deadline, cancel := withDeadline(ctx)
	defer cancel()
	var r consumed
	b := &pgx.Batch{}
	b.Queue(checkDeadline, deadline)
	b.Queue(consumeSQL, id, micro(now), clientID).QueryRow(r.scan)
	b.Queue(checkDeadline, deadline)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, wrapErr("consume code", err)
	}
	return r.result()
}

// RedeemCode consumes the code as ConsumeCode does, calls issue with it,
// and stores the tokens issue returns, in one transaction with one commit,
// in two round trips on one connection:
//
//  1. BEGIN, and the UPDATE of ConsumeCode, whose row lock holds off every
//     other redemption of the code until the transaction ends;
//  2. once issue has returned, the lock of the tokens' grants, their INSERT
//     (refused if a grant of theirs was revoked), and COMMIT.
//
// The code is thus used if and only if the tokens are stored, except when
// issue fails: then the consumption alone is committed, and RedeemCode
// returns the code and issue's error. An unknown or expired code, or
// another client's, is oauthkit.ErrNotFound and changes nothing; a used one
// is returned with an error wrapping oauthkit.ErrReused, without calling
// issue, and its use is counted. If the tokens cannot be stored (a taken
// ID: oauthkit.ErrExists; a revoked grant: oauthkit.ErrReused, with the
// code; a fault), the transaction is rolled back and the code stays unused.
//
// Both round trips run within the deadline of ctx (see checkDeadline): the
// transaction waits for no lock, and is not committed, after it. A
// connection that an error leaves inside the transaction is rolled back,
// or, if that cannot be done, closed: pgxpool destroys a connection
// released in a transaction rather than reusing it.
func (s *Store) RedeemCode(ctx context.Context, id, clientID string, now time.Time,
	issue func(*oauthkit.AuthorizationCode) ([]*oauthkit.Token, error)) (*oauthkit.AuthorizationCode, error) {
	if !storable(id) || !storable(clientID) {
		return nil, notFound("code")
	}
	ctx, deadline, cancel := withDeadline(ctx)
	defer cancel()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, wrapErr("redeem code", err)
	}
	defer conn.Release()
	// Every return below leaves the connection outside a transaction or
	// closed, or Release destroys it (pgxpool.Conn.Release checks
	// TxStatus): a panic in issue cannot put a half-done transaction back
	// in the pool.
	var r consumed
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(checkDeadlineIdle, deadline)
	b.Queue(consumeSQL, id, micro(now), clientID).QueryRow(r.scan)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		rollback(ctx, conn)
		return nil, wrapErr("redeem code", err)
	}
	code, err := r.result()
	switch {
	case r.uses == 0: // not found: nothing changed
		rollback(ctx, conn)
		return nil, err
	case err != nil: // reused: count the use, as ConsumeCode does
		if cerr := commit(ctx, conn, deadline, nil); cerr != nil {
			return code, errors.Join(err, wrapErr("redeem code", cerr))
		}
		return code, err
	}
	tokens, err := issue(code)
	if err != nil {
		// The code stays used. Should the commit fail (a fault, the
		// deadline), the code stays unused instead: either way the
		// request fails, with issue's error.
		commit(ctx, conn, deadline, nil)
		return code, err
	}
	if err := checkTokens(tokens); err != nil {
		rollback(ctx, conn)
		return code, err
	}
	if err := commit(ctx, conn, deadline, tokens); err != nil {
		if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == sqlRevoked {
			return code, errRevokedGrant
		}
		return code, wrapErr("redeem code", err)
	}
	return code, nil
}

// commit stores tokens, if any, and commits the transaction open on conn,
// in one round trip; if it fails, it rolls the transaction back.
func commit(ctx context.Context, conn *pgxpool.Conn, deadline time.Time, tokens []*oauthkit.Token) error {
	b := &pgx.Batch{}
	b.Queue(checkDeadline, deadline)
	if len(tokens) > 0 {
		insertTokens(b, tokens, nil)
		b.Queue(checkDeadline, deadline)
	}
	b.Queue("COMMIT")
	err := conn.SendBatch(ctx, b).Close()
	if err != nil {
		rollback(ctx, conn)
	}
	return err
}

// rollback ends the transaction open on conn, if any, so that conn goes back
// to the pool; if ctx has ended, or the ROLLBACK fails, it leaves the
// connection as it is, and Release destroys it.
func rollback(ctx context.Context, conn *pgxpool.Conn) {
	pc := conn.Conn().PgConn()
	if ctx.Err() != nil || pc.IsClosed() || pc.IsBusy() || pc.TxStatus() == 'I' {
		return
	}
	conn.Exec(ctx, "ROLLBACK")
}

var errReusedCode = fmt.Errorf("postgres: code: %w", oauthkit.ErrReused)

// timeOf is the time of a nullable timestamptz, zero for NULL.
func timeOf(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}
