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
