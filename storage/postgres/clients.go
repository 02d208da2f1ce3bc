package postgres

import (
	"context"
	"errors"
	"fmt"

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
	var c oauthkit.Client
	err := s.pool.QueryRow(ctx, `SELECT id, name, secret_hash, auth_method, redirect_uris, grant_types,
		scopes, default_scopes, audience, resources, dpop_bound_access_tokens,
		require_pushed_authorization_requests, access_token_format, jwks, jwks_uri, sealed_secret
		FROM oauthkit_clients WHERE id = $1`, id).Scan(
		&c.ID, &c.Name, &c.SecretHash, &c.AuthMethod, &c.RedirectURIs, &c.GrantTypes,
		&c.Scopes, &c.DefaultScopes, &c.Audience, &c.Resources, &c.DPoPBoundAccessTokens,
		&c.RequirePushedAuthorizationRequests, &c.AccessTokenFormat, &c.JWKS, &c.JWKSURI, &c.SealedSecret)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, notFound("client")
	case err != nil:
		return nil, wrapErr("client", err)
	}
	return &c, nil
}

// PutClient adds c, or replaces the client with the same ID. It refuses a
// client that fails [oauthkit.Client.Validate]. The secret is stored as given
// in c.SecretHash, which must be a hash made by oauthkit.HashSecret or
// oauthkit.HashLowEntropySecret, never a secret. It drops the client from
// this Store's client cache (see [Store.CacheClients]).
func (s *Store) PutClient(ctx context.Context, c *oauthkit.Client) error {
	if err := checkClient(c); err != nil {
		return err
	}
	// Even if the write fails: it may have committed.
	defer s.invalidateClient(c.ID)
	_, err := s.pool.Exec(ctx, `INSERT INTO oauthkit_clients (id, secret_hash, auth_method,
		redirect_uris, grant_types, scopes, default_scopes, audience, access_token_format, name,
		jwks, jwks_uri, sealed_secret, resources, dpop_bound_access_tokens,
		require_pushed_authorization_requests)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, secret_hash = excluded.secret_hash,
			auth_method = excluded.auth_method, redirect_uris = excluded.redirect_uris,
			grant_types = excluded.grant_types, scopes = excluded.scopes,
			default_scopes = excluded.default_scopes, audience = excluded.audience,
			access_token_format = excluded.access_token_format, jwks = excluded.jwks,
			jwks_uri = excluded.jwks_uri, sealed_secret = excluded.sealed_secret,
			resources = excluded.resources, dpop_bound_access_tokens = excluded.dpop_bound_access_tokens,
			require_pushed_authorization_requests = excluded.require_pushed_authorization_requests,
			updated_at = now()`,
		c.ID, c.SecretHash, c.AuthMethod, c.RedirectURIs, c.GrantTypes,
		c.Scopes, c.DefaultScopes, c.Audience, c.AccessTokenFormat, c.Name,
		c.JWKS, c.JWKSURI, c.SealedSecret, c.Resources, c.DPoPBoundAccessTokens,
		c.RequirePushedAuthorizationRequests)
	return wrapErr("put client", err)
}

// DeleteClient removes the client with the given ID. Tokens already issued
// to it stay valid until they expire or are revoked. Unknown IDs are not an
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
	for _, s := range [][]string{{c.ID, c.Name, c.SecretHash, c.AuthMethod, c.AccessTokenFormat, c.JWKSURI},
		c.RedirectURIs, c.GrantTypes, c.Scopes, c.DefaultScopes, c.Audience, c.Resources} {
		for _, v := range s {
			if !storable(v) {
				return fmt.Errorf("postgres: client %q has a value that is not valid UTF-8 or has a NUL byte", c.ID)
			}
		}
	}
	return nil
}
