-- oauthkit PostgreSQL schema, version 1: clients, authorization codes and
-- tokens.
--
-- Codes and tokens are stored under oauthkit.HashToken of their value, never
-- the value itself; client secrets only as oauthkit.HashSecret or
-- HashLowEntropySecret hashes. Revoking a token deletes its row; rows that
-- have expired are removed by Store.DeleteExpired. Nullable arrays keep the
-- difference between a nil and an empty Go slice.

CREATE TABLE oauthkit_clients (
	id                  text PRIMARY KEY,
	secret_hash         text NOT NULL DEFAULT '',
	auth_method         text NOT NULL DEFAULT '',
	redirect_uris       text[],
	grant_types         text[],
	scopes              text[],
	default_scopes      text[],
	audience            text[],
	access_token_format text NOT NULL DEFAULT '',
	updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE oauthkit_codes (
	id                    text PRIMARY KEY,
	grant_id              text NOT NULL,
	client_id             text NOT NULL,
	redirect_uri          text NOT NULL,
	redirect_uri_param    boolean NOT NULL,
	subject               text NOT NULL,
	scope                 text[],
	auth_time             timestamptz,
	acr                   text NOT NULL,
	code_challenge        text NOT NULL,
	code_challenge_method text NOT NULL,
	nonce                 text NOT NULL,
	expires_at            timestamptz NOT NULL,
	-- consumed_at is the first redemption; uses counts every attempt, so
	-- that one UPDATE tells a first use (1) from a replay (more).
	consumed_at           timestamptz,
	uses                  integer NOT NULL DEFAULT 0
);

CREATE INDEX oauthkit_codes_expires_at_idx ON oauthkit_codes (expires_at);

CREATE TABLE oauthkit_tokens (
	id         text PRIMARY KEY,
	kind       text NOT NULL CHECK (kind IN ('access_token', 'refresh_token')),
	grant_id   text NOT NULL,
	parent_id  text,
	client_id  text NOT NULL,
	subject    text NOT NULL,
	scope      text[],
	audience   text[],
	issued_at  timestamptz,
	expires_at timestamptz NOT NULL,
	auth_time  timestamptz,
	acr        text NOT NULL,
	rotated_at timestamptz
);

CREATE INDEX oauthkit_tokens_grant_id_idx ON oauthkit_tokens (grant_id);
CREATE INDEX oauthkit_tokens_parent_id_idx ON oauthkit_tokens (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX oauthkit_tokens_expires_at_idx ON oauthkit_tokens (expires_at);
