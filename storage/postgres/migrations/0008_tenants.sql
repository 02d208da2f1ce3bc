-- oauthkit PostgreSQL schema, version 8: many tenants in one database, and
-- revocation by subject.
--
-- Tenants need no column of their own. The tenant-scoped view of package
-- storage/tenant stores every key of a tenant's records under the tenant's
-- prefix ("acme/…"): the id, grant_id, parent_id and client_id of tokens,
-- the id, grant_id and client_id of codes, the id of clients, the id,
-- user_code_id and client_id of device authorizations and pushed requests,
-- and the replay keys; and the subjects of tokens, codes and device
-- authorizations. The tenant is thus the first part of every key and of
-- every index on one: one tenant's lookups cannot reach another's rows, and
-- every index already groups a tenant's rows together.
--
-- Store.RevokeSubject revokes every grant with a token or a code of a
-- resource owner: it finds them through the indexes below. Tokens issued to
-- a client for itself (client_credentials) are never a resource owner's,
-- so the tokens' index leaves them out.

CREATE INDEX oauthkit_tokens_subject_idx ON oauthkit_tokens (subject) WHERE NOT subject_is_client;
CREATE INDEX oauthkit_codes_subject_idx ON oauthkit_codes (subject);
