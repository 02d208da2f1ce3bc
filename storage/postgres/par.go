package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/oauthkit/oauthkit"
)

var _ oauthkit.PushedRequestStore = (*Store)(nil)

// CreatePushedRequest stores a new pushed authorization request (RFC 9126),
// or returns an error wrapping oauthkit.ErrExists if its ID is taken. The
// form is stored in its URL encoding, so any value can be kept (invalid
// UTF-8 and NUL bytes included).
func (s *Store) CreatePushedRequest(ctx context.Context, r *oauthkit.PushedRequest) error {
	if r == nil || r.ID == "" || r.ExpiresAt.IsZero() {
		return errors.New("postgres: pushed request needs an ID and an expiry")
	}
	if !storable(r.ID) || !storable(r.ClientID) {
		return errors.New("postgres: pushed request has an ID or client ID that is not valid UTF-8 or has a NUL byte")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO oauthkit_pushed_requests (id, client_id, form, expires_at)
		VALUES ($1, $2, $3, $4)`, r.ID, r.ClientID, r.Form.Encode(), micro(r.ExpiresAt))
	return wrapErr("create pushed request", err)
}

// PushedRequest returns the pushed request with the given ID, without using
// it up, if clientID pushed it and it is unexpired at now; otherwise an
// error wrapping oauthkit.ErrNotFound. See oauthkit.PushedRequestStore.
func (s *Store) PushedRequest(ctx context.Context, id, clientID string, now time.Time) (*oauthkit.PushedRequest, error) {
	if !storable(id) || !storable(clientID) {
		return nil, notFound("pushed request")
	}
	var p pushedRow
	err := p.scan(s.pool.QueryRow(ctx, `SELECT id, client_id, form, expires_at FROM oauthkit_pushed_requests
		WHERE id = $1 AND client_id = $2 AND expires_at > $3`, id, clientID, micro(now)))
	if err != nil {
		return nil, wrapErr("read pushed request", err)
	}
	return p.result()
}

// consumePushedSQL deletes the pushed request $1 if $3 pushed it and it is
// unexpired at $2, and returns it: the row lock of the DELETE orders
// concurrent uses, and only the first finds the row. Another client's
// request is left as it is.
const consumePushedSQL = `DELETE FROM oauthkit_pushed_requests
	WHERE id = $1 AND expires_at > $2 AND client_id = $3
	RETURNING id, client_id, form, expires_at`

// ConsumePushedRequest removes the pushed request and returns it, in one
// statement (one round trip, within the deadline of ctx: see
// checkDeadline), atomic across every Store sharing the database: of
// concurrent calls, from any instance, exactly one returns it. An unknown
// or expired request, or another client's, is oauthkit.ErrNotFound and is
// left unchanged.
func (s *Store) ConsumePushedRequest(ctx context.Context, id, clientID string, now time.Time) (*oauthkit.PushedRequest, error) {
	if !storable(id) || !storable(clientID) {
		return nil, notFound("pushed request")
	}
	ctx, deadline, cancel := withDeadline(ctx)
	defer cancel()
	var p pushedRow
	b := &pgx.Batch{}
	b.Queue(checkDeadline, deadline)
	b.Queue(consumePushedSQL, id, micro(now), clientID).QueryRow(func(row pgx.Row) error {
		// No row is not an error for the batch, which would drop the
		// connection's prepared statements.
		if err := p.scan(row); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		return nil
	})
	b.Queue(checkDeadline, deadline)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, wrapErr("consume pushed request", err)
	}
	return p.result()
}

// pushedRow is a row of oauthkit_pushed_requests.
type pushedRow struct {
	r     oauthkit.PushedRequest
	form  string
	found bool
}

func (p *pushedRow) scan(row pgx.Row) error {
	err := row.Scan(&p.r.ID, &p.r.ClientID, &p.form, &p.r.ExpiresAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	p.found = true
	return nil
}

// result returns the request read, or an error wrapping
// oauthkit.ErrNotFound if there was none.
func (p *pushedRow) result() (*oauthkit.PushedRequest, error) {
	if !p.found {
		return nil, notFound("pushed request")
	}
	form, err := url.ParseQuery(p.form)
	if err != nil {
		return nil, fmt.Errorf("postgres: pushed request %s: stored form: %w", p.r.ID, err)
	}
	r := p.r
	r.Form = form
	r.ExpiresAt = r.ExpiresAt.UTC()
	return &r, nil
}
