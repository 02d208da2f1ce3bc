package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
)

// DeleteKeyPrefix deletes every client, code, token, revoked grant, device
// authorization and pushed request whose ID starts with prefix: what one
// tenant stored through its view (package storage/tenant), when the tenant
// is removed. Replay keys are stored as hashes, so they stay until they
// expire. It refuses an empty prefix, which would empty the database.
//
// It is one transaction of one DELETE per table, in one round trip. Each
// DELETE walks its table (the prefix is compared with left(), which no
// index serves): a rare administrative operation, run once a tenant is no
// longer served.
func (s *Store) DeleteKeyPrefix(ctx context.Context, prefix string) error {
	if prefix == "" || !storable(prefix) {
		return errors.New("postgres: DeleteKeyPrefix needs a prefix of valid UTF-8 without NUL bytes")
	}
	b := &pgx.Batch{}
	for _, t := range [...]struct{ table, key string }{
		{"oauthkit_clients", "id"}, {"oauthkit_codes", "id"}, {"oauthkit_tokens", "id"},
		{"oauthkit_revoked_grants", "grant_id"}, {"oauthkit_device_authorizations", "id"},
		{"oauthkit_pushed_requests", "id"},
	} {
		b.Queue(`DELETE FROM `+t.table+` WHERE left(`+t.key+`, length($1)) = $1`, prefix)
	}
	err := s.pool.SendBatch(ctx, b).Close()
	if cache := s.clients.Load(); cache != nil {
		cache.invalidatePrefix(prefix)
	}
	return wrapErr("delete key prefix", err)
}

// invalidatePrefix drops the clients whose IDs start with prefix, as
// invalidate drops one.
func (c *clientCache) invalidatePrefix(prefix string) {
	c.mu.Lock()
	for id := range c.entries {
		if strings.HasPrefix(id, prefix) {
			delete(c.entries, id)
		}
	}
	c.gen++
	c.mu.Unlock()
}
