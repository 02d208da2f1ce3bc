-- oauthkit PostgreSQL schema, version 3: client subjects, single retries
-- of a refresh, and request deadlines.
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

ALTER TABLE oauthkit_tokens
	ADD COLUMN subject_is_client boolean NOT NULL DEFAULT false,
	ADD COLUMN retried_at timestamptz;

-- oauthkit_deadline(deadline) fails the transaction that calls it, with
-- SQLSTATE 57014 (query_canceled), if the database's clock is past
-- deadline; otherwise it bounds every lock wait, statement and idle pause
-- of the rest of the transaction to the time left. The store calls it
-- first and last in every transaction that writes codes or tokens, with the
-- deadline of the request's context: a transaction that reaches the
-- database late, or waits past its deadline, rolls back instead of
-- committing after its client has been told it failed.
CREATE FUNCTION oauthkit_deadline(deadline timestamptz) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	left_ms bigint := ceil(extract(epoch FROM deadline - clock_timestamp()) * 1000);
BEGIN
	IF left_ms IS NULL OR left_ms <= 0 THEN
		RAISE EXCEPTION 'oauthkit: the request''s deadline has passed'
			USING ERRCODE = 'query_canceled';
	END IF;
	left_ms := least(left_ms, 2147483647);
	PERFORM set_config('lock_timeout', left_ms::text, true),
		set_config('statement_timeout', left_ms::text, true),
		set_config('idle_in_transaction_session_timeout', left_ms::text, true);
END
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
