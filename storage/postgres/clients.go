package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/oauthkit/oauthkit"
)

// Client returns the client with the given ID, or an error wrapping
// oauthkit.ErrNotFound. With [Store.CacheClients] on, it returns a copy of
// the cached client if it has one, and caches the clients it reads.
func (s *Store) Client(ctx context.Context, id string) (*oauthkit.Client, error) {
	if !storable(id) {
		return nil, notFound("client")
	}
	cache := s.clients.Load()
	if cache == nil {
		return s.readClient(ctx, id)
	}
	c, gen, readAt := cache.get(id)
	if c != nil {
		return c, nil
	}
	c, err := s.readClient(ctx, id)
	if err == nil {
		cache.fill(c, gen, readAt)
	}
	return c, err
}

// readClient reads the client with the given ID from the database.
func (s *Store) readClient(ctx context.Context, id string) (*oauthkit.Client, error) {
	var (
		c   oauthkit.Client
		reg []byte
	)
	err := s.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM oauthkit_clients WHERE id = $1`, id).Scan(
		&c.ID, &c.SecretHash, &c.AuthMethod, &c.RedirectURIs, &c.GrantTypes,
		&c.Scopes, &c.DefaultScopes, &c.Audience, &c.AccessTokenFormat, &c.Name,
		&c.JWKS, &c.JWKSURI, &c.SealedSecret, &reg, &c.Resources, &c.DPoPBoundAccessTokens,
		&c.RequirePushedAuthorizationRequests)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, notFound("client")
	case err != nil:
		return nil, wrapErr("client", err)
	}
	if c.Registration, err = decodeRegistration(reg); err != nil {
		return nil, fmt.Errorf("postgres: client %q: registration: %w", c.ID, err)
	}
	return &c, nil
}

// clientColumns are the columns of a client, in the order of clientValues.
const clientColumns = `id, secret_hash, auth_method, redirect_uris, grant_types, scopes, default_scopes,
	audience, access_token_format, name, jwks, jwks_uri, sealed_secret, registration, resources,
	dpop_bound_access_tokens, require_pushed_authorization_requests`

// clientPlaceholders are the parameters of clientValues, in order.
const clientPlaceholders = `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17`

// clientValues returns the values of c's columns, after checking that the
// database can store them faithfully.
func clientValues(c *oauthkit.Client) ([]any, error) {
	if err := checkClient(c); err != nil {
		return nil, err
	}
	reg, err := encodeRegistration(c.Registration)
	if err != nil {
		return nil, err
	}
	return []any{c.ID, c.SecretHash, c.AuthMethod, c.RedirectURIs, c.GrantTypes, c.Scopes, c.DefaultScopes,
		c.Audience, c.AccessTokenFormat, c.Name, c.JWKS, c.JWKSURI, c.SealedSecret, reg, c.Resources,
		c.DPoPBoundAccessTokens, c.RequirePushedAuthorizationRequests}, nil
}

// PutClient adds c, or replaces the client with the same ID. It refuses a
// client that fails [oauthkit.Client.Validate]. The secret is stored as given
// in c.SecretHash, which must be a hash made by oauthkit.HashSecret or
// oauthkit.HashLowEntropySecret, never a secret. It drops the client from
// this Store's client cache (see [Store.CacheClients]).
func (s *Store) PutClient(ctx context.Context, c *oauthkit.Client) error {
	values, err := clientValues(c)
	if err != nil {
		return err
	}
	// Even if the write fails: it may have committed.
	defer s.invalidateClient(c.ID)
	_, err = s.pool.Exec(ctx, `INSERT INTO oauthkit_clients (`+clientColumns+`)
		VALUES (`+clientPlaceholders+`)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, secret_hash = excluded.secret_hash,
			auth_method = excluded.auth_method, redirect_uris = excluded.redirect_uris,
			grant_types = excluded.grant_types, scopes = excluded.scopes,
			default_scopes = excluded.default_scopes, audience = excluded.audience,
			access_token_format = excluded.access_token_format, jwks = excluded.jwks,
			jwks_uri = excluded.jwks_uri, sealed_secret = excluded.sealed_secret,
			registration = excluded.registration, resources = excluded.resources,
			dpop_bound_access_tokens = excluded.dpop_bound_access_tokens,
			require_pushed_authorization_requests = excluded.require_pushed_authorization_requests,
			updated_at = now()`, values...)
	return wrapErr("put client", err)
}

// CreateClient adds c, a client that registered itself (RFC 7591), or
// returns an error wrapping oauthkit.ErrExists if its ID is taken. It
// refuses what PutClient refuses. With CreateClient, UpdateClient and
// DeleteClient, Store is an [oauthkit.ClientRegistry].
func (s *Store) CreateClient(ctx context.Context, c *oauthkit.Client) error {
	values, err := clientValues(c)
	if err != nil {
		return err
	}
	defer s.invalidateClient(c.ID)
	_, err = s.pool.Exec(ctx, `INSERT INTO oauthkit_clients (`+clientColumns+`)
		VALUES (`+clientPlaceholders+`)`, values...)
	return wrapErr("create client", err)
}

// sourceLockClass is the first key of the transaction-scoped advisory
// locks that serialize the registrations of one source
// (CreateClientCapped): "oks1" as an int4. The second key is a hash of the
// source; a collision only makes two sources wait for each other.
const sourceLockClass = "1869312817"

// Store is an [oauthkit.ClientCapper].
var _ oauthkit.ClientCapper = (*Store)(nil)

// CreateClientCapped adds c as CreateClient does and records source as
// the source that registered it (registration_source), unless source has
// max clients stored: then it returns an error wrapping
// oauthkit.ErrLimitReached and stores nothing. It takes the source's lock,
// counts and inserts in one transaction, so that concurrent registrations
// of one source, on any instance, never exceed max. See
// oauthkit.ClientCapper.
func (s *Store) CreateClientCapped(ctx context.Context, c *oauthkit.Client, source string, max int) error {
	values, err := clientValues(c)
	if err != nil {
		return err
	}
	if !storable(source) {
		return errors.New("postgres: a client's source must be valid UTF-8 without NUL")
	}
	ctx, deadline, cancel := withDeadline(ctx)
	defer cancel()
	defer s.invalidateClient(c.ID)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var n int
		b := &pgx.Batch{}
		b.Queue(checkDeadlineIdle, deadline)
		b.Queue(`SELECT pg_advisory_xact_lock(`+sourceLockClass+`, hashtext($1::text))`, source)
		b.Queue(`SELECT count(*) FROM oauthkit_clients WHERE registration_source = $1`, source).QueryRow(func(r pgx.Row) error { return r.Scan(&n) })
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if n >= max {
			return fmt.Errorf("postgres: clients of a source: %w", oauthkit.ErrLimitReached)
		}
		b = &pgx.Batch{}
		b.Queue(`INSERT INTO oauthkit_clients (`+clientColumns+`, registration_source)
			VALUES (`+clientPlaceholders+`, $18)`, append(values, source)...)
		b.Queue(checkDeadline, deadline)
		return tx.SendBatch(ctx, b).Close()
	})
	if errors.Is(err, oauthkit.ErrLimitReached) {
		return err
	}
	return wrapErr("create client", err)
}

// UpdateClient replaces the client with c's ID by c (RFC 7592 §2.2), or
// returns an error wrapping oauthkit.ErrNotFound if there is none. It
// refuses what PutClient refuses, and drops the client from this Store's
// client cache.
func (s *Store) UpdateClient(ctx context.Context, c *oauthkit.Client) error {
	values, err := clientValues(c)
	if err != nil {
		return err
	}
	defer s.invalidateClient(c.ID)
	tag, err := s.pool.Exec(ctx, `UPDATE oauthkit_clients SET (`+clientColumns+`, updated_at) =
		(`+clientPlaceholders+`, now()) WHERE id = $1`, values...)
	switch {
	case err != nil:
		return wrapErr("update client", err)
	case tag.RowsAffected() == 0:
		return notFound("client")
	}
	return nil
}

// registrationJSON is the JSON form of an oauthkit.ClientRegistration in
// the registration column.
type registrationJSON struct {
	AccessTokenHash string    `json:"access_token_hash,omitempty"`
	IssuedAt        time.Time `json:"issued_at"`
	SecretExpiresAt time.Time `json:"secret_expires_at"`
	ResponseTypes   []string  `json:"response_types,omitempty"`
	ClientURI       string    `json:"client_uri,omitempty"`
	LogoURI         string    `json:"logo_uri,omitempty"`
	TOSURI          string    `json:"tos_uri,omitempty"`
	PolicyURI       string    `json:"policy_uri,omitempty"`
	Contacts        []string  `json:"contacts,omitempty"`
	SoftwareID      string    `json:"software_id,omitempty"`
	SoftwareVersion string    `json:"software_version,omitempty"`
}

// encodeRegistration returns the registration column's value for r: nil
// (NULL) for nil.
func encodeRegistration(r *oauthkit.ClientRegistration) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	return json.Marshal(registrationJSON(*r))
}

// decodeRegistration reads the registration column.
func decodeRegistration(b []byte) (*oauthkit.ClientRegistration, error) {
	if b == nil {
		return nil, nil
	}
	var r registrationJSON
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	reg := oauthkit.ClientRegistration(r)
	return &reg, nil
}

// DeleteClient removes the client with the given ID. Tokens already issued
// to it stay valid until they expire or are revoked (RevokeClientTokens,
// which the client configuration endpoint calls first). Unknown IDs are not an
// error. It drops the client from this Store's client cache (see
// [Store.CacheClients]).
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	if !storable(id) {
		return nil
	}
	defer s.invalidateClient(id)
	_, err := s.pool.Exec(ctx, `DELETE FROM oauthkit_clients WHERE id = $1`, id)
	return wrapErr("delete client", err)
}

// invalidateClient drops the client with the given ID from the client cache,
// if there is one. It runs after the write, so that no read that started
// before the write commits fills the cache afterwards.
func (s *Store) invalidateClient(id string) {
	if cache := s.clients.Load(); cache != nil {
		cache.invalidate(id)
	}
}

// checkClient refuses a client the database could not store faithfully or
// that looks like it carries a plaintext secret.
func checkClient(c *oauthkit.Client) error {
	switch {
	case c == nil || c.ID == "":
		return errors.New("postgres: client needs an ID")
	case c.SecretHash != "" && c.SecretHash[0] != '$':
		// Every hash oauthkit verifies starts with "$"; anything else would
		// be a secret stored in clear (and would never verify).
		return errors.New("postgres: client SecretHash is not a hash; use oauthkit.HashSecret")
	}
	if err := c.Validate(); err != nil {
		return err
	}
	lists := [][]string{{c.ID, c.Name, c.SecretHash, c.AuthMethod, c.AccessTokenFormat, c.JWKSURI},
		c.RedirectURIs, c.GrantTypes, c.Scopes, c.DefaultScopes, c.Audience, c.Resources}
	if r := c.Registration; r != nil {
		lists = append(lists, []string{r.AccessTokenHash, r.ClientURI, r.LogoURI, r.TOSURI, r.PolicyURI,
			r.SoftwareID, r.SoftwareVersion}, r.ResponseTypes, r.Contacts)
	}
	for _, s := range lists {
		for _, v := range s {
			if !storable(v) {
				return fmt.Errorf("postgres: client %q has a value that is not valid UTF-8 or has a NUL byte", c.ID)
			}
		}
	}
	return nil
}
