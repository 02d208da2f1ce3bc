-- oauthkit PostgreSQL schema, version 6: sender-constrained tokens (DPoP,
-- RFC 9449) and pushed authorization requests (RFC 9126).
--
-- jkt records Token.JKT, the RFC 7638 thumbprint of the key a DPoP-bound
-- token is bound to (cnf.jkt, RFC 9449 §6); dpop_jkt records
-- AuthorizationCode.DPoPJKT, the key the authorization request bound the
-- code to (RFC 9449 §10). Empty for a bearer token and an unbound code, as
-- every row stored before this version is.
--
-- dpop_bound_access_tokens and require_pushed_authorization_requests record
-- the client's flags of those names (RFC 9449 §5.2, RFC 9126 §6); clients
-- registered before this version have neither.

ALTER TABLE oauthkit_tokens
	ADD COLUMN jkt text NOT NULL DEFAULT '';

ALTER TABLE oauthkit_codes
	ADD COLUMN dpop_jkt text NOT NULL DEFAULT '';

ALTER TABLE oauthkit_clients
	ADD COLUMN dpop_bound_access_tokens boolean NOT NULL DEFAULT false,
	ADD COLUMN require_pushed_authorization_requests boolean NOT NULL DEFAULT false;

-- Pushed authorization requests (RFC 9126)
--
-- Store.CreatePushedRequest keeps here each pushed authorization request
-- under the SHA-256 of its request_uri (oauthkit.HashToken), bound to the
-- client that pushed it, until it is used or expires (a minute by default,
-- ten at most). form holds the request's parameters as the
-- application/x-www-form-urlencoded encoding of url.Values: plain ASCII
-- whatever the values hold (invalid UTF-8 and NUL bytes are escaped), names
-- sorted and each name's values in order. Store.PushedRequest reads a row;
-- Store.ConsumePushedRequest deletes it in one DELETE ... RETURNING, whose
-- row lock lets exactly one of concurrent uses, from any instance, have it.
-- Store.DeleteExpired removes the rows nobody used.

CREATE TABLE oauthkit_pushed_requests (
	id         text PRIMARY KEY,
	client_id  text NOT NULL,
	form       text NOT NULL,
	expires_at timestamptz NOT NULL
);

CREATE INDEX oauthkit_pushed_requests_expires_at_idx ON oauthkit_pushed_requests (expires_at);
