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

var _ oauthkit.DeviceStore = (*Store)(nil)

// keepExpiredDevices is how long after it expires a device authorization is
// kept by DeleteExpired, so that the device's polls are answered
// expired_token (RFC 8628 §3.5) rather than invalid_grant: a device polls
// every few seconds, and stops at its first expired_token.
const keepExpiredDevices = 5 * time.Minute

// slowDownMicros is what RFC 8628 §3.5 adds to the polling interval of a
// device that polls too fast, in microseconds (the unit of interval_us).
const slowDownMicros = int64(5 * time.Second / time.Microsecond)

// deviceColumns are the columns of a device authorization, as scanDevice
// reads them, qualified by the table's alias d.
const deviceColumns = `d.id, d.user_code_id, d.client_id, d.scope, d.resources, d.expires_at,
	d.interval_us, d.last_polled_at, d.status, d.subject, d.auth_time, d.acr`

// deviceStatuses are the status column's values, by oauthkit.DeviceStatus.
var deviceStatuses = [...]string{
	oauthkit.DevicePending:  "pending",
	oauthkit.DeviceApproved: "approved",
	oauthkit.DeviceDenied:   "denied",
	oauthkit.DeviceRedeemed: "redeemed",
}

// scannedDevice is a row of deviceColumns.
type scannedDevice struct {
	a                    oauthkit.DeviceAuthorization
	found                bool
	intervalUS           int64
	lastPolled, authTime pgtype.Timestamptz
	status               string
}

// scan reads a row of deviceColumns. No row is not an error for the batch,
// which would drop the connection's prepared statements.
func (r *scannedDevice) scan(row pgx.Row) error {
	a := &r.a
	err := row.Scan(&a.ID, &a.UserCodeID, &a.ClientID, &a.Scope, &a.Resources, &a.ExpiresAt,
		&r.intervalUS, &r.lastPolled, &r.status, &a.Subject, &r.authTime, &a.ACR)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	r.found = err == nil
	return err
}

// result returns the authorization read, or an error wrapping
// oauthkit.ErrNotFound if there was none.
func (r *scannedDevice) result() (*oauthkit.DeviceAuthorization, error) {
	if !r.found {
		return nil, notFound("device authorization")
	}
	a := r.a
	a.ExpiresAt = a.ExpiresAt.UTC()
	a.Interval = time.Duration(r.intervalUS) * time.Microsecond
	a.LastPolledAt, a.AuthTime = timeOf(r.lastPolled), timeOf(r.authTime)
	for s, name := range deviceStatuses {
		if name == r.status && name != "" {
			a.Status = oauthkit.DeviceStatus(s)
		}
	}
	if a.Status == 0 {
		return nil, fmt.Errorf("postgres: device authorization status %q", r.status)
	}
	return &a, nil
}

// createDeviceSQL inserts a pending authorization, unless its ID or its user
// code is held by an unexpired one, and returns a row if it did. Its CTE
// first deletes the expired rows that hold either, by the database's clock
// (the statement is given no time); the INSERT reads the CTE, so that it
// runs after the DELETE and finds the rows it deleted gone. Of concurrent
// inserts of one user code, one inserts and the others find its row: a
// conflicting insert waits for the first to commit, and a DELETE that
// waited for its lock finds the row deleted.
const createDeviceSQL = `WITH freed AS (
		DELETE FROM oauthkit_device_authorizations
		WHERE (id = $1 OR user_code_id = $2) AND expires_at <= now()
		RETURNING 1
	)
	INSERT INTO oauthkit_device_authorizations (id, user_code_id, client_id, scope, resources,
		expires_at, interval_us, status)
	SELECT $1, $2, $3, $4, $5, $6, $7, 'pending' WHERE (SELECT count(*) FROM freed) >= 0
	ON CONFLICT DO NOTHING
	RETURNING true`

// CreateDeviceAuthorization stores a new pending authorization; see
// oauthkit.DeviceStore. It needs an ID, a UserCodeID and an ExpiresAt. It
// stores the authorization as pending, never polled and undecided, whatever
// a's Status, LastPolledAt, Subject, AuthTime and ACR say.
//
// It is one statement (one round trip, within the deadline of ctx: see
// checkDeadline). An ID or a user code held by an unexpired authorization
// is an error wrapping oauthkit.ErrExists, and nothing is stored. One held
// by an authorization expired by the database's clock (the method is given
// no time; the package assumes the clocks agree) is taken over: the expired
// row is deleted, and its device's next poll is ErrNotFound.
func (s *Store) CreateDeviceAuthorization(ctx context.Context, a *oauthkit.DeviceAuthorization) error {
	if a == nil || a.ID == "" || a.UserCodeID == "" || a.ExpiresAt.IsZero() {
		return errors.New("postgres: device authorization needs an ID, a user code ID and an expiry")
	}
	for _, list := range [][]string{{a.ID, a.UserCodeID, a.ClientID}, a.Scope, a.Resources} {
		for _, v := range list {
			if !storable(v) {
				return errors.New("postgres: device authorization has a value that is not valid UTF-8 or has a NUL byte")
			}
		}
	}
	ctx, deadline, cancel := withDeadline(ctx)
	defer cancel()
	inserted := false
	b := &pgx.Batch{}
	b.Queue(checkDeadline, deadline)
	b.Queue(createDeviceSQL, a.ID, a.UserCodeID, a.ClientID, a.Scope, a.Resources, micro(a.ExpiresAt),
		a.Interval.Microseconds()).QueryRow(func(row pgx.Row) error {
		if err := row.Scan(&inserted); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		return nil
	})
	b.Queue(checkDeadline, deadline)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return wrapErr("create device authorization", err)
	}
	if !inserted {
		return errDeviceExists
	}
	return nil
}

var errDeviceExists = fmt.Errorf("postgres: device authorization: ID or user code: %w", oauthkit.ErrExists)

// DeviceAuthorizationByUserCode returns the pending authorization with the
// given user code, or an error wrapping oauthkit.ErrNotFound if there is
// none, or it is expired at now, or it is decided; see
// oauthkit.DeviceStore. It is one SELECT, like Token.
func (s *Store) DeviceAuthorizationByUserCode(ctx context.Context, userCodeID string, now time.Time) (*oauthkit.DeviceAuthorization, error) {
	if !storable(userCodeID) {
		return nil, notFound("device authorization")
	}
	var r scannedDevice
	err := r.scan(s.pool.QueryRow(ctx, `SELECT `+deviceColumns+` FROM oauthkit_device_authorizations d
		WHERE d.user_code_id = $1 AND d.expires_at > $2 AND d.status = 'pending'`, userCodeID, micro(now)))
	if err != nil {
		return nil, wrapErr("device authorization by user code", err)
	}
	return r.result()
}

// decideDeviceSQL records the decision $3 (approved or denied) on the
// pending authorization with the user code $1 unexpired at $2, with the
// approver's subject, auth time and ACR ($4, $5, $6), and returns a row if
// it did. Its row lock orders concurrent decisions: one that waited finds
// the authorization decided, and changes nothing.
const decideDeviceSQL = `UPDATE oauthkit_device_authorizations
	SET status = $3, subject = $4, auth_time = $5, acr = $6
	WHERE user_code_id = $1 AND expires_at > $2 AND status = 'pending'
	RETURNING true`

// DecideDeviceAuthorization approves (approval non-nil: its Subject,
// AuthTime and ACR) or denies (approval nil) the pending authorization with
// the given user code, in one UPDATE (one round trip, within the deadline
// of ctx: see checkDeadline); see oauthkit.DeviceStore. Of concurrent
// decisions, from any instance, one wins; the others, and a decision on an
// unknown, expired or decided authorization, are errors wrapping
// oauthkit.ErrNotFound and change nothing.
func (s *Store) DecideDeviceAuthorization(ctx context.Context, userCodeID string, now time.Time, approval *oauthkit.DeviceAuthorization) error {
	if !storable(userCodeID) {
		return notFound("device authorization")
	}
	status, subject, authTime, acr := deviceStatuses[oauthkit.DeviceDenied], "", any(nil), ""
	if approval != nil {
		if !storable(approval.Subject) || !storable(approval.ACR) {
			return errors.New("postgres: device approval has a value that is not valid UTF-8 or has a NUL byte")
		}
		status, subject, authTime, acr = deviceStatuses[oauthkit.DeviceApproved], approval.Subject, nullTime(approval.AuthTime), approval.ACR
	}
	ctx, deadline, cancel := withDeadline(ctx)
	defer cancel()
	decided := false
	b := &pgx.Batch{}
	b.Queue(checkDeadline, deadline)
	b.Queue(decideDeviceSQL, userCodeID, micro(now), status, subject, authTime, acr).QueryRow(func(row pgx.Row) error {
		if err := row.Scan(&decided); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		return nil
	})
	b.Queue(checkDeadline, deadline)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return wrapErr("decide device authorization", err)
	}
	if !decided {
		return notFound("device authorization")
	}
	return nil
}

// pollDeviceSQL records a poll at $3 of the authorization $1 by the client
// $2 and returns the row as it was before. The CTE locks the row (FOR
// UPDATE), so that concurrent polls, from any instance, run one after the
// other, each reading the row as the one before left it; the UPDATE then
// writes, by the rules of oauthkit.DeviceStore, and returns the locked,
// previous values. An expired row, or a denied or redeemed one, is written
// unchanged: every poll of a known authorization is one UPDATE.
var pollDeviceSQL = `WITH old AS (
		SELECT * FROM oauthkit_device_authorizations WHERE id = $1 AND client_id = $2 FOR UPDATE
	)
	UPDATE oauthkit_device_authorizations AS n SET
		status = CASE WHEN d.expires_at > $3 AND d.status = 'approved' THEN 'redeemed' ELSE d.status END,
		last_polled_at = CASE WHEN d.expires_at > $3 AND d.status = 'pending' THEN $3 ELSE d.last_polled_at END,
		interval_us = CASE WHEN d.expires_at > $3 AND d.status = 'pending'
			AND d.last_polled_at + d.interval_us * interval '1 microsecond' > $3
			THEN d.interval_us + ` + fmt.Sprint(slowDownMicros) + ` ELSE d.interval_us END
	FROM old AS d
	WHERE n.id = d.id
	RETURNING ` + deviceColumns

// PollDeviceAuthorization records a token request for the authorization
// with the given ID, made by clientID at now, and returns the authorization
// as it was before; see oauthkit.DeviceStore. It is one UPDATE (one round
// trip, within the deadline of ctx: see checkDeadline) whose row lock orders
// concurrent polls, from any instance: of concurrent polls of an approved
// authorization exactly one sees it approved, and every poll of a pending
// one counts towards its slow_down. An unknown authorization, or another
// client's, is an error wrapping oauthkit.ErrNotFound and is left as it is.
// An authorization that expired more than five minutes before the last
// DeleteExpired is gone: ErrNotFound.
func (s *Store) PollDeviceAuthorization(ctx context.Context, id, clientID string, now time.Time) (*oauthkit.DeviceAuthorization, error) {
	if !storable(id) || !storable(clientID) {
		return nil, notFound("device authorization")
	}
	ctx, deadline, cancel := withDeadline(ctx)
	defer cancel()
	var r scannedDevice
	b := &pgx.Batch{}
	b.Queue(checkDeadline, deadline)
	b.Queue(pollDeviceSQL, id, clientID, micro(now)).QueryRow(r.scan)
	b.Queue(checkDeadline, deadline)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, wrapErr("poll device authorization", err)
	}
	return r.result()
}
