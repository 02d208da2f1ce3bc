package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/oauthkit/oauthkit"
)

var _ oauthkit.SubjectRevoker = (*Store)(nil)

// subjectGrants selects the grants of the resource owner $1: those with a
// token of theirs (not a client's own) or a code of theirs (migration 0008
// indexes both lookups).
const subjectGrants = `SELECT grant_id FROM oauthkit_tokens WHERE subject = $1 AND NOT subject_is_client
	UNION SELECT grant_id FROM oauthkit_codes WHERE subject = $1`

// lockSubjectGrants locks the grants of subjectGrants, in the order of
// lockGrants, so that two sessions never wait for each other's second lock.
const lockSubjectGrants = `SELECT pg_advisory_xact_lock(` + grantLockClass + `, hashtext(g))
	FROM (SELECT DISTINCT grant_id AS g FROM (` + subjectGrants + `) AS s ORDER BY 1) AS grants`

// revokeSubjectSQL revokes the grants of subjectGrants as revokeGrantSQL
// does one.
var revokeSubjectSQL = `WITH grants AS (` + subjectGrants + `),
	revoked AS (DELETE FROM oauthkit_tokens WHERE grant_id IN (SELECT grant_id FROM grants))
	` + insertTombstone(`SELECT grant_id, now(), now() + `+tombstoneLife+` FROM grants`)

// RevokeSubject revokes every grant with a token or an authorization code
// of the resource owner subject, as RevokeGrant does; see
// oauthkit.SubjectRevoker. It takes one round trip: a batch, run as one
// transaction within the deadline of ctx (see checkDeadline), that first
// locks those grants, waiting for the code redemptions and refresh token
// exchanges in them to commit, and then, in a statement that sees what they
// stored, deletes their tokens and records them revoked, so that a
// redemption or exchange that comes after finds its token gone or its grant
// revoked.
func (s *Store) RevokeSubject(ctx context.Context, subject string) error {
	if !storable(subject) {
		return nil
	}
	ctx, deadline, cancel := withDeadline(ctx)
	defer cancel()
	b := &pgx.Batch{}
	b.Queue(checkDeadline, deadline)
	b.Queue(lockSubjectGrants, subject)
	b.Queue(revokeSubjectSQL, subject)
	b.Queue(checkDeadline, deadline)
	err := s.pool.SendBatch(ctx, b).Close()
	return wrapErr("revoke subject", err)
}
