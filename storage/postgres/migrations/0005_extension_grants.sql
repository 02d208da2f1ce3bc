-- oauthkit PostgreSQL schema, version 5: extension grants, from the issue
-- of that name: resource indicators (RFC 8707), token exchange (RFC 8693)
-- and the device authorization grant (RFC 8628).
--
-- resources records AuthorizationCode.Resources (what the resource owner
-- granted) and Client.Resources (what the client may ask for): NULL for a
-- nil list, as for the other lists.
--
-- actor records Token.Actor, the chain of parties acting for the token's
-- subject (the act claim, RFC 8693 §4.1), as the subjects of the chain in
-- order, the current actor first and the earliest delegation last: an
-- Actor holds nothing but a subject and the actor before it, so the array
-- is the whole chain, and a lookup needs no JSON. NULL is a token with no
-- actor; tokens stored before this version have none.

ALTER TABLE oauthkit_codes
	ADD COLUMN resources text[];

ALTER TABLE oauthkit_tokens
	ADD COLUMN actor text[];

ALTER TABLE oauthkit_clients
	ADD COLUMN resources text[];

-- oauthkit_device_authorizations holds device authorizations
-- (oauthkit.DeviceAuthorization) from the device authorization request until
-- Store.DeleteExpired removes them, five minutes after they expire (until
-- then, the device's polls are answered expired_token, not invalid_grant).
-- id is oauthkit.HashToken of the device code, user_code_id that of the
-- user code: neither code is stored.
--
-- A user code is short, so it is drawn again: once an authorization has
-- expired, a new one may take its user code (or, however unlikely, its ID).
-- Both are unique over every row, and Store.CreateDeviceAuthorization, in
-- one statement, deletes the expired row holding either before it inserts:
-- the old device's next poll is then invalid_grant rather than
-- expired_token, which ends its polling as well. The expiry is judged by the
-- database's clock (CreateDeviceAuthorization is given no time), which the
-- store assumes agrees with the servers' (see the package documentation).
--
-- interval_us is the polling interval in microseconds, grown by five
-- seconds (RFC 8628 §3.5, slow_down) by each poll that comes too soon.
-- Every change of status, and every poll, is one UPDATE whose row lock
-- orders concurrent calls, from any instance: a pending authorization is
-- decided once, and an approved one redeemed once.

CREATE TABLE oauthkit_device_authorizations (
	id             text PRIMARY KEY,
	user_code_id   text NOT NULL UNIQUE,
	client_id      text NOT NULL,
	scope          text[],
	resources      text[],
	expires_at     timestamptz NOT NULL,
	interval_us    bigint NOT NULL,
	last_polled_at timestamptz,
	status         text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'redeemed')),
	-- The resource owner who approved it, once approved.
	subject        text NOT NULL DEFAULT '',
	auth_time      timestamptz,
	acr            text NOT NULL DEFAULT ''
);

CREATE INDEX oauthkit_device_authorizations_expires_at_idx ON oauthkit_device_authorizations (expires_at);
