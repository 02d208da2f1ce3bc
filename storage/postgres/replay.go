package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/oauthkit/oauthkit"
)

var _ oauthkit.ReplayCache = (*Store)(nil)

// rememberSQL records the key hash $1 until $3, unless it is recorded
// already and unexpired at $2, and returns a row if it did: an insert, or
// the takeover of an expired row. A conflicting insert waits for the row's
// lock and then sees the committed row, so that of concurrent calls with
// one key exactly one returns a row.
const rememberSQL = `INSERT INTO oauthkit_replay_cache AS r (key_hash, expires_at) VALUES ($1, $3)
	ON CONFLICT (key_hash) DO UPDATE SET expires_at = excluded.expires_at WHERE r.expires_at <= $2
	RETURNING true`

// Remember records key until expiresAt and reports whether it was new:
// false if key is recorded and unexpired at now; see oauthkit.ReplayCache.
// It is one statement (one round trip, within the deadline of ctx: see
// checkDeadline), atomic across every Store sharing the database: of
// concurrent calls with one key, from any instance, exactly one reports
// true. A key remembered again after its record expired is new, and is
// then recorded until the new expiresAt.
//
// Keys are stored as their SHA-256, so any string is a key, of any length,
// invalid UTF-8 and NUL bytes included. Times are compared at the
// microsecond resolution of timestamptz. Errors wrap oauthkit.ErrUnavailable
// when the database cannot be reached in time; anything else is an
// internal fault.
func (s *Store) Remember(ctx context.Context, key string, now, expiresAt time.Time) (bool, error) {
	h := sha256.Sum256([]byte(key))
	ctx, deadline, cancel := withDeadline(ctx)
	defer cancel()
	fresh := false
	b := &pgx.Batch{}
	b.Queue(checkDeadline, deadline)
	b.Queue(rememberSQL, h[:], micro(now), micro(expiresAt)).QueryRow(func(row pgx.Row) error {
		// No row is not an error for the batch, which would drop the
		// connection's prepared statements.
		if err := row.Scan(&fresh); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		return nil
	})
	b.Queue(checkDeadline, deadline)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return false, wrapErr("remember", err)
	}
	return fresh, nil
}
