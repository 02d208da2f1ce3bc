-- oauthkit PostgreSQL schema, version 7: dynamically registered clients.
--
-- registration records oauthkit.Client.Registration, what dynamic client
-- registration (RFC 7591, RFC 7592) keeps of a client beside its other
-- columns: the hash of its registration access token (oauthkit.HashToken,
-- never the token), client_id_issued_at, client_secret_expires_at, and the
-- metadata the server only echoes back (response_types, client_uri,
-- logo_uri, tos_uri, policy_uri, contacts, software_id, software_version).
-- It is a JSON object the store never queries into, NULL for a client the
-- host registered itself.

ALTER TABLE oauthkit_clients
	ADD COLUMN registration jsonb;

-- registration_source is the source (the host of the request's address)
-- that registered the client through Store.CreateClientCapped, which
-- counts a source's clients under an advisory lock on the source before it
-- inserts one (oauthkit.RegistrationConfig.MaxClientsPerSource); NULL for
-- every other client. UPDATE leaves it as it is.
ALTER TABLE oauthkit_clients
	ADD COLUMN registration_source text;

CREATE INDEX oauthkit_clients_registration_source_idx
	ON oauthkit_clients (registration_source) WHERE registration_source IS NOT NULL;

-- Store.RevokeClientTokens finds a deleted client's tokens by client_id
-- (RFC 7592 §2.3).
CREATE INDEX oauthkit_tokens_client_id_idx ON oauthkit_tokens (client_id);
