package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/oauthkit/oauthkit"
)

// grantLockClass is the first key of the transaction-scoped advisory locks
// that serialize the writes to one grant (rotation, revocation): "okg1" as an
// int4. The second key is a hash of the grant ID; a collision between two
// grants only makes them wait for each other.
const grantLockClass = "1869309745"

// lockGrantOf locks the grant of the token $1 until the end of the
// transaction. A statement that follows it in the same transaction takes its
// snapshot after the lock is granted, so it sees every earlier write to the
// grant.
const lockGrantOf = `SELECT pg_advisory_xact_lock(` + grantLockClass + `, hashtext(grant_id))
	FROM oauthkit_tokens WHERE id = $1`

// lockGrants locks the grants $1 (a text array) until the end of the
// transaction, in one order, so that two sessions never wait for each
// other's second lock.
const lockGrants = `SELECT pg_advisory_xact_lock(` + grantLockClass + `, hashtext(g))
	FROM (SELECT DISTINCT unnest($1::text[]) AS g ORDER BY 1) AS grants`

// tombstoneLife is how long a revoked grant refuses new tokens: as long as
// a code of the grant could still be redeemed.
var tombstoneLife = "make_interval(secs => " + strconv.Itoa(int(oauthkit.MaxCodeLifetime/time.Second)) + ")"

// tokenColumns are the columns of a token, in the order scanToken reads them.
const tokenColumns = `id, kind, grant_id, coalesce(parent_id, ''), client_id, subject,
	subject_is_client, scope, audience, issued_at, expires_at, auth_time, acr, actor, jkt, rotated_at`

// insertColumns are the columns tokenArgs supplies, with their types.
var insertColumns = []struct{ name, typ string }{
	{"id", "text"}, {"kind", "text"}, {"grant_id", "text"}, {"parent_id", "text"},
	{"client_id", "text"}, {"subject", "text"}, {"subject_is_client", "boolean"},
	{"scope", "text[]"}, {"audience", "text[]"},
	{"issued_at", "timestamptz"}, {"expires_at", "timestamptz"}, {"auth_time", "timestamptz"},
	{"acr", "text"}, {"actor", "text[]"}, {"jkt", "text"},
}

// insertNames is the list of the names of insertColumns.
var insertNames = func() string {
	var names []string
	for _, c := range insertColumns {
		names = append(names, c.name)
	}
	return strings.Join(names, ", ")
}()

// insertNext inserts the rows of the CTE next.
var insertNext = `INSERT INTO oauthkit_tokens (` + insertNames + `) SELECT * FROM next`

// nextCTE returns the CTE "next", with the names of insertColumns, holding n
// new tokens whose parameters start after the first offset ones.
func nextCTE(n, offset int) string {
	var b strings.Builder
	b.WriteString("next (" + insertNames + ") AS (VALUES ")
	p := offset
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j, c := range insertColumns {
			if j > 0 {
				b.WriteString(", ")
			}
			p++
			b.WriteString("$" + strconv.Itoa(p) + "::" + c.typ)
		}
		b.WriteByte(')')
	}
	b.WriteByte(')')
	return b.String()
}

// createTokensSQL returns the statement that stores n tokens, unless one of
// their grants was revoked, and returns whether that was so; or, if raise is
// set, fails with SQLSTATE OK001 if it was so (migration 0003), so that the
// transaction it runs in rolls back. It runs after lockGrants, in the same
// transaction, so that it sees every revocation of their grants.
func createTokensSQL(n int, raise bool) string {
	result := "refused"
	if raise {
		result = "oauthkit_refuse_revoked(refused)"
	}
	return `WITH ` + nextCTE(n, 0) + `,
	refused AS (
		SELECT EXISTS (SELECT FROM oauthkit_revoked_grants r JOIN next ON r.grant_id = next.grant_id) AS refused
	),
	inserted AS (
		` + insertNext + ` WHERE NOT (SELECT refused FROM refused)
	)
	SELECT ` + result + ` FROM refused`
}

// sqlRevoked is the SQLSTATE of createTokensSQL's refusal.
const sqlRevoked = "OK001"

// Statements for the usual numbers of tokens issued together (an access
// token, perhaps with a refresh token), built once.
var (
	createSQL = [...]string{1: createTokensSQL(1, false), 2: createTokensSQL(2, false)}
	redeemSQL = [...]string{1: createTokensSQL(1, true), 2: createTokensSQL(2, true)}
	rotateSQL = [...]string{0: rotateTokenSQL(0), 1: rotateTokenSQL(1), 2: rotateTokenSQL(2)}
)

// insertTokens queues on b the statements that lock the grants of tokens
// and then store the tokens, unless a grant of theirs was revoked: then
// nothing is stored, and *refused is set to true or, if refused is nil, the
// transaction fails with SQLSTATE sqlRevoked.
func insertTokens(b *pgx.Batch, tokens []*oauthkit.Token, refused *bool) {
	raise := refused == nil
	args := make([]any, 0, len(tokens)*len(insertColumns))
	grants := make([]string, 0, 1)
	for _, t := range tokens {
		args = tokenArgs(args, t)
		if !slices.Contains(grants, t.GrantID) {
			grants = append(grants, t.GrantID)
		}
	}
	var sql string
	switch {
	case raise && len(tokens) < len(redeemSQL):
		sql = redeemSQL[len(tokens)]
	case !raise && len(tokens) < len(createSQL):
		sql = createSQL[len(tokens)]
	default:
		sql = createTokensSQL(len(tokens), raise)
	}
	b.Queue(lockGrants, grants)
	if raise {
		b.Queue(sql, args...)
		return
	}
	b.Queue(sql, args...).QueryRow(func(row pgx.Row) error { return row.Scan(refused) })
}

// checkTokens refuses tokens the store contract does not allow or the
// database could not store faithfully.
func checkTokens(tokens []*oauthkit.Token) error {
	for _, t := range tokens {
		if t == nil || t.ID == "" || t.GrantID == "" || t.ExpiresAt.IsZero() ||
			(t.Kind != oauthkit.AccessToken && t.Kind != oauthkit.RefreshToken) {
			return errors.New("postgres: token needs an ID, a grant ID, a kind and an expiry")
		}
		for _, s := range [][]string{{t.ID, t.GrantID, t.ParentID, t.ClientID, t.Subject, t.ACR, t.JKT},
			t.Scope, t.Audience, actorChain(t.Actor)} {
			for _, v := range s {
				if !storable(v) {
					return errors.New("postgres: token has a value that is not valid UTF-8 or has a NUL byte")
				}
			}
		}
	}
	return nil
}

// tokenArgs appends the parameters of t for insertColumns.
func tokenArgs(args []any, t *oauthkit.Token) []any {
	var parent any
	if t.ParentID != "" {
		parent = t.ParentID
	}
	return append(args, t.ID, t.Kind.String(), t.GrantID, parent, t.ClientID, t.Subject, t.SubjectIsClient,
		t.Scope, t.Audience, nullTime(t.IssuedAt), micro(t.ExpiresAt), nullTime(t.AuthTime), t.ACR,
		actorChain(t.Actor), t.JKT)
}

// actorChain returns the subjects of the chain of actors that starts at a,
// the current actor first, as the actor column holds them (migration
// 0005): nil for no actor.
func actorChain(a *oauthkit.Actor) []string {
	var subjects []string
	for ; a != nil; a = a.Actor {
		subjects = append(subjects, a.Subject)
	}
	return subjects
}

// actorOf is the chain of actors whose subjects are subjects, the current
// actor first: nil for none.
func actorOf(subjects []string) *oauthkit.Actor {
	var a *oauthkit.Actor
	for i := len(subjects) - 1; i >= 0; i-- {
		a = &oauthkit.Actor{Subject: subjects[i], Actor: a}
	}
	return a
}

// CreateTokens stores tokens issued together, all or none, in one round
// trip: a batch, which PostgreSQL runs as one transaction, that locks their
// grants and inserts them in one statement, within the deadline of ctx (see
// checkDeadline). It returns an error wrapping oauthkit.ErrExists if an ID
// is already stored, and one wrapping oauthkit.ErrReused if a grant of
// theirs was revoked in the last oauthkit.MaxCodeLifetime.
func (s *Store) CreateTokens(ctx context.Context, tokens ...*oauthkit.Token) error {
	if len(tokens) == 0 {
		return nil
	}
	if err := checkTokens(tokens); err != nil {
		return err
	}
	ctx, deadline, cancel := withDeadline(ctx)
	defer cancel()
	var refused bool
	b := &pgx.Batch{}
	b.Queue(checkDeadline, deadline)
	insertTokens(b, tokens, &refused)
	b.Queue(checkDeadline, deadline)
	err := s.pool.SendBatch(ctx, b).Close()
	switch {
	case err != nil:
		return wrapErr("create tokens", err)
	case refused:
		return errRevokedGrant
	}
	return nil
}

// Token returns the token with the given ID, or an error wrapping
// oauthkit.ErrNotFound if it is unknown, expired at now, or revoked. A
// rotated refresh token is returned with RotatedAt set.
func (s *Store) Token(ctx context.Context, id string, now time.Time) (*oauthkit.Token, error) {
	if !storable(id) {
		return nil, notFound("token")
	}
	t, err := scanToken(s.pool.QueryRow(ctx,
		`SELECT `+tokenColumns+` FROM oauthkit_tokens WHERE id = $1 AND expires_at > $2`, id, micro(now)))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, notFound("token")
	case err != nil:
		return nil, wrapErr("token", err)
	}
	return t, nil
}

func scanToken(row pgx.Row) (*oauthkit.Token, error) {
	var (
		t                         oauthkit.Token
		kind                      string
		issued, authTime, rotated pgtype.Timestamptz
		actors                    []string
	)
	err := row.Scan(&t.ID, &kind, &t.GrantID, &t.ParentID, &t.ClientID, &t.Subject, &t.SubjectIsClient, &t.Scope,
		&t.Audience, &issued, &t.ExpiresAt, &authTime, &t.ACR, &actors, &t.JKT, &rotated)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "access_token":
		t.Kind = oauthkit.AccessToken
	case "refresh_token":
		t.Kind = oauthkit.RefreshToken
	default:
		return nil, fmt.Errorf("postgres: token kind %q", kind)
	}
	t.ExpiresAt = t.ExpiresAt.UTC()
	t.IssuedAt, t.AuthTime, t.RotatedAt = timeOf(issued), timeOf(authTime), timeOf(rotated)
	t.Actor = actorOf(actors)
	return &t, nil
}

// rotateTokenSQL returns the statement that decides and applies a refresh
// token exchange with n new tokens. It runs after lockGrantOf, in the same
// transaction, so its snapshot holds every earlier write to the grant.
//
// Parameters: $1 the token ID, $2 now, $3 whether a grace period applies,
// $4 the earliest rotation time within it, then the new tokens. The result
// is the outcome, or no row for a token that is unknown, expired or not a
// refresh token:
//
//	exists  an ID of the new tokens is taken: change nothing;
//	rotate  first exchange: mark it rotated, store the new tokens;
//	retry   within the grace period, not retried before, its successor
//	        live and unused: mark it retried, revoke the access tokens
//	        issued for it and mark the refresh token issued for it rotated
//	        (so that presenting that one later is reuse), store the new
//	        tokens;
//	reuse   anything else: revoke the whole grant (RFC 9700 §4.14.2).
func rotateTokenSQL(n int) string {
	sql := "WITH "
	taken := "false"
	if n > 0 {
		sql += nextCTE(n, 4) + ",\n\t"
		taken = "EXISTS (SELECT FROM oauthkit_tokens x JOIN next ON x.id = next.id)"
	}
	sql += `old AS (
		SELECT t.grant_id, CASE
			WHEN ` + taken + ` THEN 'exists'
			WHEN t.rotated_at IS NULL THEN 'rotate'
			WHEN $3::boolean AND t.rotated_at >= $4::timestamptz AND t.retried_at IS NULL AND EXISTS (
				SELECT FROM oauthkit_tokens c
				WHERE c.parent_id = t.id AND c.kind = 'refresh_token'
					AND c.rotated_at IS NULL AND c.expires_at > $2::timestamptz)
				THEN 'retry'
			ELSE 'reuse' END AS outcome
		FROM oauthkit_tokens t
		WHERE t.id = $1 AND t.kind = 'refresh_token' AND t.expires_at > $2::timestamptz
	),
	marked AS (
		UPDATE oauthkit_tokens SET
			rotated_at = coalesce(rotated_at, $2),
			retried_at = CASE WHEN (SELECT outcome FROM old) = 'retry' THEN $2 END
		WHERE id = $1 AND (SELECT outcome FROM old) IN ('rotate', 'retry')
	),
	replaced AS (
		DELETE FROM oauthkit_tokens
		WHERE parent_id = $1 AND kind = 'access_token' AND (SELECT outcome FROM old) = 'retry'
	),
	superseded AS (
		UPDATE oauthkit_tokens SET rotated_at = $2
		WHERE parent_id = $1 AND kind = 'refresh_token' AND rotated_at IS NULL
			AND (SELECT outcome FROM old) = 'retry'
	),
	revoked AS (
		DELETE FROM oauthkit_tokens
		WHERE grant_id = (SELECT grant_id FROM old) AND (SELECT outcome FROM old) = 'reuse'
	),
	tombstone AS (
		` + insertTombstone(`SELECT grant_id, now(), now() + `+tombstoneLife+` FROM old WHERE outcome = 'reuse'`) + `
	)`
	if n > 0 {
		// The new rows go in through a SELECT so that they can be made
		// conditional on the outcome.
		sql += `,
	inserted AS (
		` + insertNext + ` WHERE (SELECT outcome FROM old) IN ('rotate', 'retry')
	)`
	}
	return sql + `
	SELECT outcome FROM old`
}

// RotateRefreshToken exchanges the refresh token with the given ID for next,
// following the rules of oauthkit.TokenStore: an unknown, expired or revoked
// token is oauthkit.ErrNotFound; a rotated one is accepted once more within
// grace of its rotation if its successor is live and unused, and is
// otherwise reused, which revokes its grant and returns oauthkit.ErrReused;
// a taken ID in next is oauthkit.ErrExists and changes nothing. It takes one
// round trip: a batch, run by PostgreSQL as one transaction within the
// deadline of ctx (see checkDeadline), that locks the token's grant and then
// rotates (or retries, or revokes) and inserts in one statement. Concurrent
// exchanges of tokens of one grant, on any number of instances, are applied
// one after the other.
func (s *Store) RotateRefreshToken(ctx context.Context, id string, now time.Time, grace time.Duration, next ...*oauthkit.Token) error {
	if !storable(id) {
		return notFound("refresh token")
	}
	if err := checkTokens(next); err != nil {
		return err
	}
	now = micro(now)
	args := make([]any, 0, 4+len(next)*len(insertColumns))
	args = append(args, id, now, grace > 0, now.Add(-grace))
	for _, t := range next {
		args = tokenArgs(args, t)
	}
	var sql string
	if len(next) < len(rotateSQL) {
		sql = rotateSQL[len(next)]
	} else {
		sql = rotateTokenSQL(len(next))
	}
	ctx, deadline, cancel := withDeadline(ctx)
	defer cancel()
	var outcome string
	b := &pgx.Batch{}
	b.Queue(checkDeadline, deadline)
	b.Queue(lockGrantOf, id)
	b.Queue(sql, args...).QueryRow(func(row pgx.Row) error {
		// No row is an unknown token: not an error for the batch, which
		// would drop the connection's prepared statements.
		if err := row.Scan(&outcome); !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		return nil
	})
	b.Queue(checkDeadline, deadline)
	err := s.pool.SendBatch(ctx, b).Close()
	switch {
	case err == nil && outcome == "":
		return notFound("refresh token")
	case err != nil:
		return wrapErr("rotate refresh token", err)
	case outcome == "reuse":
		return errReusedToken
	case outcome == "exists":
		return errTakenID
	}
	return nil
}

var (
	errReusedToken  = fmt.Errorf("postgres: refresh token: %w", oauthkit.ErrReused)
	errTakenID      = fmt.Errorf("postgres: rotate refresh token: new token: %w", oauthkit.ErrExists)
	errRevokedGrant = fmt.Errorf("postgres: create tokens: grant revoked: %w", oauthkit.ErrReused)
)

// insertTombstone returns the INSERT recording the revoked grants that
// query selects (grant_id, revoked_at, expires_at), or extending their
// record.
func insertTombstone(query string) string {
	return `INSERT INTO oauthkit_revoked_grants (grant_id, revoked_at, expires_at) ` + query + `
		ON CONFLICT (grant_id) DO UPDATE SET revoked_at = excluded.revoked_at, expires_at = excluded.expires_at`
}

// RevokeToken revokes (deletes) the token with the given ID. Unknown IDs are
// not an error.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	if !storable(id) {
		return nil
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM oauthkit_tokens WHERE id = $1`, id)
	return wrapErr("revoke token", err)
}

// RevokeGrant revokes (deletes) every token of the grant, and records the
// grant so that CreateTokens refuses its tokens for oauthkit.MaxCodeLifetime.
// It takes the grant's lock first, in the same round trip and transaction,
// so that a token exchange or a token insert in the grant running at the
// same time either completes before (and its tokens are revoked too) or runs
// after (and finds its token gone, or its grant revoked). Like every write,
// it waits for the lock and commits only within the deadline of ctx (see
// checkDeadline).
func (s *Store) RevokeGrant(ctx context.Context, grantID string) error {
	if !storable(grantID) {
		return nil
	}
	ctx, deadline, cancel := withDeadline(ctx)
	defer cancel()
	b := &pgx.Batch{}
	b.Queue(checkDeadline, deadline)
	b.Queue(`SELECT pg_advisory_xact_lock(`+grantLockClass+`, hashtext($1::text))`, grantID)
	b.Queue(revokeGrantSQL, grantID)
	b.Queue(checkDeadline, deadline)
	err := s.pool.SendBatch(ctx, b).Close()
	return wrapErr("revoke grant", err)
}

// Store is an [oauthkit.ClientRevoker].
var _ oauthkit.ClientRevoker = (*Store)(nil)

// RevokeClientTokens revokes (deletes) every token of the client clientID
// and records each of their grants as RevokeGrant does, so that
// CreateTokens refuses their tokens for oauthkit.MaxCodeLifetime. It takes
// the grants' locks first, in the order of lockGrants (as RevokeSubject
// does, so that two revocations cannot deadlock), in the same transaction.
// It is the [oauthkit.ClientRevoker] that the client configuration endpoint calls
// when a client deletes its registration (RFC 7592 §2.3); the tokens are
// found through an index on client_id (migration 0007).
func (s *Store) RevokeClientTokens(ctx context.Context, clientID string) error {
	if !storable(clientID) {
		return nil
	}
	ctx, deadline, cancel := withDeadline(ctx)
	defer cancel()
	b := &pgx.Batch{}
	b.Queue(checkDeadline, deadline)
	b.Queue(`SELECT pg_advisory_xact_lock(`+grantLockClass+`, hashtext(g))
		FROM (SELECT DISTINCT grant_id AS g FROM oauthkit_tokens WHERE client_id = $1 ORDER BY 1) AS grants`, clientID)
	b.Queue(`WITH revoked AS (DELETE FROM oauthkit_tokens WHERE client_id = $1 RETURNING grant_id)
	`+insertTombstone(`SELECT DISTINCT grant_id, now(), now() + `+tombstoneLife+` FROM revoked`), clientID)
	b.Queue(checkDeadline, deadline)
	err := s.pool.SendBatch(ctx, b).Close()
	return wrapErr("revoke client tokens", err)
}

var revokeGrantSQL = `WITH revoked AS (DELETE FROM oauthkit_tokens WHERE grant_id = $1)
	` + insertTombstone(`VALUES ($1, now(), now() + `+tombstoneLife+`)`)
