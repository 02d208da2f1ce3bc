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
