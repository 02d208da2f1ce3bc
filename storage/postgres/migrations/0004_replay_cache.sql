-- oauthkit PostgreSQL schema, version 4: the replay cache, and the keys of
-- clients that sign what they send (or MAC it, with a sealed secret).
--
-- Store.Remember records here the single-use keys of oauthkit.ReplayCache
-- (the jti of a client assertion or of a DPoP proof, with what it is unique
-- within) until they expire, in one INSERT ... ON CONFLICT DO UPDATE whose
-- row lock orders concurrent calls with one key, from any instance. A key
-- is stored as its SHA-256, so that any string is a key (invalid UTF-8, NUL
-- bytes and long keys included) in 32 bytes of index. An expired row is
-- taken over by the next Remember of its key; Store.DeleteExpired removes
-- the rest.

CREATE TABLE oauthkit_replay_cache (
	key_hash   bytea PRIMARY KEY,
	expires_at timestamptz NOT NULL
);

CREATE INDEX oauthkit_replay_cache_expires_at_idx ON oauthkit_replay_cache (expires_at);

-- Client.JWKS, a JWK Set in JSON, is kept as the bytes given (NULL for a nil
-- one, so that nil and empty stay apart); Client.JWKSURI is where the
-- server fetches the keys instead (private_key_jwt, RFC 7523 §2.2).
-- Client.SealedSecret is the secret of a client_secret_jwt client, sealed
-- by oauthkit.SealClientSecret (encrypted under a key the database never
-- holds), kept as the bytes given like jwks.

ALTER TABLE oauthkit_clients
	ADD COLUMN jwks          bytea,
	ADD COLUMN jwks_uri      text NOT NULL DEFAULT '',
	ADD COLUMN sealed_secret bytea;
