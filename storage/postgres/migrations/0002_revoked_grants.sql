-- oauthkit PostgreSQL schema, version 2: revoked grants.
--
-- Store.RevokeGrant (and the reuse of a rotated refresh token) records the
-- grant here, and CreateTokens refuses tokens of a recorded grant, so that a
-- code replayed while its first redemption is still storing its tokens
-- revokes those tokens too. Rows are kept for oauthkit.MaxCodeLifetime,
-- after which Store.DeleteExpired removes them.

CREATE TABLE oauthkit_revoked_grants (
	grant_id   text PRIMARY KEY,
	revoked_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);

CREATE INDEX oauthkit_revoked_grants_expires_at_idx ON oauthkit_revoked_grants (expires_at);
