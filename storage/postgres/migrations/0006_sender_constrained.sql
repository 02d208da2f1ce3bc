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
