-- oauthkit PostgreSQL schema, version 3: client names, client subjects,
-- single retries of a refresh, and request deadlines.
--
-- name records oauthkit.Client.Name, the client's name for people
-- (RFC 7591 §2 client_name); clients registered before have none.
--
-- subject_is_client records oauthkit.Token.SubjectIsClient: a token issued
-- to a client for itself (client_credentials), whose subject is a client ID
-- and never a user's (RFC 9700 §4.15.1). Tokens stored before this version
-- were all taken as users' tokens, so the default is false.
--
-- retried_at is set on a rotated refresh token when it is accepted once
-- more within the grace period (a client retrying a request whose response
-- it lost); a token retried before is reused, not retried, when presented
-- again (RFC 9700 §4.14.2).

ALTER TABLE oauthkit_clients
	ADD COLUMN name text NOT NULL DEFAULT '';

ALTER TABLE oauthkit_tokens
	ADD COLUMN subject_is_client boolean NOT NULL DEFAULT false,
	ADD COLUMN retried_at timestamptz;

-- oauthkit_deadline(deadline, setting) fails the transaction that calls
-- it if the database's clock is past deadline; otherwise it bounds the
-- waits that setting governs, for the rest of the transaction, to the time
-- left: lock waits by default (lock_timeout), or the pauses between its
-- statements (idle_in_transaction_session_timeout). The store calls it
-- first and last in every transaction that writes codes or tokens, with the
-- deadline of the request's context: a transaction that reaches the
-- database late, or waits past its deadline, rolls back instead of
-- committing after its client has been told it failed.
--
-- It is one SELECT, which PostgreSQL inlines into the caller's statement: a
-- PL/pgSQL function would cost more than the statements it guards. So it
-- fails as setting a parameter to an invalid value fails, with SQLSTATE
-- 22023 and a message that names the deadline, which the store recognizes.
CREATE FUNCTION oauthkit_deadline(deadline timestamptz, setting text DEFAULT 'lock_timeout') RETURNS text
LANGUAGE sql VOLATILE AS $$
	SELECT set_config(setting, CASE WHEN clock_timestamp() < deadline
		THEN greatest(1, least(ceil(extract(epoch FROM deadline - clock_timestamp()) * 1000), 2147483647))::bigint::text
		ELSE 'oauthkit: the request''s deadline has passed' END, true)
$$;

-- oauthkit_refuse_revoked(revoked) fails the transaction that calls it,
-- with SQLSTATE OK001, if revoked is true: the store's code redemption uses
-- it to roll back the code's consumption when the grant of the tokens it
-- stores was revoked.
CREATE FUNCTION oauthkit_refuse_revoked(revoked boolean) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF revoked THEN
		RAISE EXCEPTION 'oauthkit: grant revoked' USING ERRCODE = 'OK001';
	END IF;
	RETURN false;
END
$$;
