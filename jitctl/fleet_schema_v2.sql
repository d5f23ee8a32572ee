-- pam_jit fleet schema, version 2: the step from version 1 to version 2.
--
-- Run by `jitctl fleet init` in the same transaction as the version bump, as
-- the owner of schema jit (see fleet_schema_v1.sql for the conventions: every
-- name qualified, every function with a fixed search path, REVOKE from PUBLIC
-- at the end).
--
-- Why: version 1 stored a host's audit event with its hash but not every field
-- the hash is computed over (jitd/audit.h: prev_hash, seq, at, actor_uid,
-- actor, grant_id, event, details). With them, anyone who can read the fleet
-- copy can recompute each host's plain SHA-256 chain (`jitctl audit verify`
-- with [fleet]) and, for a keyed (HMAC) chain, still check that each event
-- links to the one before it. The database also refuses, at upload, an event
-- that does not link to the one stored before it: a host cannot rewrite its
-- history in the fleet copy by uploading a different chain after the fact.

-- Columns, nullable: a version-1 row (none is written by a released jitd,
-- which never uploaded) has no values for them; every row appended by the
-- function below has all of them.
--   actor_uid   the actor's uid as the host recorded it
--   host_grant  the grant id in the host's own store, as hashed (0 when the
--               event is about no grant); grant_id stays the fleet grant's id
--   prev_hash   the hash of the host's event before it (64 '0's for the first)
ALTER TABLE jit.audit
    ADD COLUMN actor_uid  bigint,
    ADD COLUMN host_grant bigint CHECK (host_grant >= 0),
    ADD COLUMN prev_hash  text CHECK (prev_hash ~ '^[0-9a-f]{64}$');

-- Details as the host wrote them, which is what its hash covers: 4096 bytes
-- was too tight to be sure no event would ever be stuck in a host's upload
-- queue for being too long (one that cannot be stored can never be skipped:
-- the order is enforced). 65536 is far above anything jitd writes.
ALTER TABLE jit.audit DROP CONSTRAINT audit_details_check;
ALTER TABLE jit.audit ADD CONSTRAINT audit_details_check CHECK (pg_catalog.length(details) <= 65536);

-- `jitctl show F12` and the fleet report read a grant's events on every host.
CREATE INDEX audit_grant ON jit.audit (grant_id) WHERE grant_id IS NOT NULL;

-- Version 1's function cannot fill the new columns: replaced, not overloaded,
-- so no host can keep uploading events that cannot be verified.
DROP FUNCTION jit.audit_append(text, bigint, timestamptz, text, bigint, text, text, text);

-- One event of p_host's audit chain, with every field its hash covers. In
-- order and exactly once, as in version 1: the next host_seq is stored
-- (true); the one already stored with the same hash is the retry of an upload
-- whose answer was lost (false, nothing written); a gap, another event at a
-- stored place, or an event whose prev_hash is not the hash stored before it
-- is refused. p_at is the host's time of the event in whole seconds since the
-- epoch, as hashed. The host's row is locked so that two uploads of one host
-- take turns.
CREATE FUNCTION jit.audit_append(p_host text, p_host_seq bigint, p_at bigint, p_actor_uid bigint, p_actor text,
                                 p_host_grant bigint, p_grant bigint, p_event text, p_details text,
                                 p_prev_hash text, p_hash text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    last_seq bigint;
    stored text;
    before text;
BEGIN
    PERFORM jit.check_host(p_host);
    PERFORM 1 FROM jit.hosts WHERE name = p_host FOR NO KEY UPDATE;
    SELECT a.hash INTO stored FROM jit.audit a WHERE a.host = p_host AND a.host_seq = p_host_seq;
    IF FOUND THEN
        IF stored = p_hash THEN
            RETURN false;
        END IF;
        RAISE EXCEPTION 'audit event %/% is stored already, with another hash', p_host, p_host_seq
            USING ERRCODE = 'unique_violation';
    END IF;
    SELECT COALESCE(pg_catalog.max(a.host_seq), 0) INTO last_seq FROM jit.audit a WHERE a.host = p_host;
    IF p_host_seq <> last_seq + 1 THEN
        RAISE EXCEPTION 'audit event %/% out of order: the next is %', p_host, p_host_seq, last_seq + 1
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF last_seq = 0 THEN
        before := pg_catalog.repeat('0', 64);
    ELSE
        SELECT a.hash INTO before FROM jit.audit a WHERE a.host = p_host AND a.host_seq = last_seq;
    END IF;
    IF p_prev_hash IS DISTINCT FROM before THEN
        RAISE EXCEPTION 'audit event %/% does not link to the event stored before it', p_host, p_host_seq
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_at IS NULL OR p_actor_uid IS NULL OR p_host_grant IS NULL THEN
        RAISE EXCEPTION 'audit event %/%: time, actor uid and grant are required', p_host, p_host_seq
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO jit.audit (host, host_seq, event_at, actor_uid, actor, host_grant, grant_id, event, details,
                           prev_hash, hash)
        VALUES (p_host, p_host_seq, pg_catalog.to_timestamp(p_at), p_actor_uid, p_actor, p_host_grant, p_grant,
                p_event, COALESCE(p_details, ''), p_prev_hash, p_hash);
    RETURN true;
END
$$;

-- ---- privileges -------------------------------------------------------------

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA jit FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    jit.audit_append(text, bigint, bigint, bigint, text, bigint, bigint, text, text, text, text)
    TO jit_host;
