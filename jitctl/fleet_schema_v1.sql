-- pam_jit fleet schema, version 1: the step from version 0 to version 1.
--
-- Run by `jitctl fleet init` inside the one transaction that also reads and
-- sets jit.schema_version, after the bootstrap (schema jit and
-- jit.schema_version at 0, jitctl/fleet_schema.c), as the role that owns
-- schema jit: that role owns every object here, and the SECURITY DEFINER
-- functions run as it. doc/FLEET.md explains the design; these comments say
-- why each piece is the way it is.
--
-- Every name is qualified (jit., pg_catalog.): the session's search_path is
-- whatever the admin's connection had, and it must not decide what these
-- statements mean.

-- ---- roles ------------------------------------------------------------------

-- jit_host: the group every host's login role belongs to (jitctl fleet
-- add-host makes them). It can log in as nobody, owns nothing, and is given
-- below exactly: USAGE on the schema, SELECT on the tables, EXECUTE on the
-- write functions. Roles are cluster-wide, so a jit_host made by another
-- database's fleet is reused, but only if it is as powerless as ours would be.
DO $$
DECLARE
    r pg_catalog.pg_roles%ROWTYPE;
BEGIN
    SELECT * INTO r FROM pg_catalog.pg_roles WHERE rolname = 'jit_host';
    IF NOT FOUND THEN
        CREATE ROLE jit_host NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
    ELSIF r.rolcanlogin OR r.rolsuper OR r.rolcreatedb OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls THEN
        RAISE EXCEPTION 'role jit_host exists and can do more than a fleet host may (login, superuser, createdb, createrole, replication or bypassrls)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- Connecting is all a host needs of the database itself; this keeps
    -- working when the admin revokes CONNECT from PUBLIC, as they should.
    EXECUTE pg_catalog.format('GRANT CONNECT ON DATABASE %I TO jit_host', pg_catalog.current_database());
END
$$;

-- ---- tables -----------------------------------------------------------------

-- One row per host, written only by `jitctl fleet add-host` (the owner).
-- The role name follows from the host name (jit_host_ and the name with '-'
-- and '.' as '_'), and the CHECK keeps it so: nobody, the owner included,
-- can point one host's row at another host's role by mistake.
CREATE TABLE jit.hosts (
    name     text PRIMARY KEY,
    role     name NOT NULL UNIQUE,
    added_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT hosts_name_valid CHECK (
        pg_catalog.length(name) <= 54
        AND name ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$'),
    CONSTRAINT hosts_role_derived CHECK (
        role::text = 'jit_host_' || pg_catalog.translate(name, '.-', '__'))
);

-- A request, once, for a host scope. What an approver signs (SSHSIG) is a
-- canonical text of id, user_name, role, host_scope, duration, ticket and
-- requested_at, so those columns never change after the insert (trigger
-- below). Whether a grant is active on a host is never recorded here: each
-- host decides that itself, from its own jitd.conf, the signatures it
-- verifies and its own clock. The fleet records requests, approvals and
-- the facts that end a grant; state only says whether it has ended.
CREATE TABLE jit.grants (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    origin_host  text NOT NULL REFERENCES jit.hosts (name),
    user_name    text NOT NULL CHECK (pg_catalog.length(user_name) <= 32
                                      AND user_name ~ '^[a-z_][a-z0-9_.-]*[$]{0,1}$'),
    role         text NOT NULL CHECK (pg_catalog.length(role) <= 64
                                      AND role ~ '^[A-Za-z0-9][A-Za-z0-9_.-]*$'),
    host_scope   text[] NOT NULL CHECK (pg_catalog.cardinality(host_scope) BETWEEN 1 AND 64),
    duration     integer NOT NULL CHECK (duration BETWEEN 1 AND 31622400),
    ticket       text NOT NULL DEFAULT '' CHECK (pg_catalog.length(ticket) <= 64),
    reason       text NOT NULL DEFAULT '' CHECK (pg_catalog.length(reason) <= 512),
    break_glass  boolean NOT NULL DEFAULT false,
    requested_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    state        text NOT NULL DEFAULT 'open'
                 CHECK (state IN ('open', 'revoked', 'released', 'cancelled', 'denied')),
    ended_at     timestamptz,
    CONSTRAINT grants_ended CHECK ((state = 'open') = (ended_at IS NULL))
);

-- One row per approver and grant. signature is the approver's SSHSIG over
-- the grant's canonical text: the database only stores it; every host
-- verifies it against its own allowed_signers before it enforces anything,
-- so a row inserted here by anyone (the owner included) grants nothing.
CREATE TABLE jit.approvals (
    grant_id    bigint NOT NULL REFERENCES jit.grants (id),
    approver    text NOT NULL CHECK (pg_catalog.length(approver) <= 32
                                     AND approver ~ '^[a-z_][a-z0-9_.-]*[$]{0,1}$'),
    signature   text NOT NULL CHECK (pg_catalog.length(signature) <= 8192
                                     AND signature LIKE '-----BEGIN SSH SIGNATURE-----%'),
    note        text NOT NULL DEFAULT '' CHECK (pg_catalog.length(note) <= 512),
    host        text NOT NULL REFERENCES jit.hosts (name),
    approved_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (grant_id, approver)
);

-- How each grant that ended by someone's decision ended: revoked (an admin),
-- released or cancelled (its user), denied (an approver). At most one per
-- grant: the first end wins, a second is a no-op. Expiry is not here: every
-- host computes it from the grant's duration.
CREATE TABLE jit.revocations (
    grant_id   bigint PRIMARY KEY REFERENCES jit.grants (id),
    kind       text NOT NULL CHECK (kind IN ('revoked', 'released', 'cancelled', 'denied')),
    by_user    text NOT NULL CHECK (pg_catalog.length(by_user) <= 32),
    reason     text NOT NULL DEFAULT '' CHECK (pg_catalog.length(reason) <= 512),
    host       text NOT NULL REFERENCES jit.hosts (name),
    revoked_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

-- Every change hosts must learn about, in one sequence: a host that saw up
-- to seq N asks for seq > N (the catch-up every sync, which also works on a
-- read replica), and NOTIFY jit_changes carries N on the primary. The write
-- functions append here last, under a transaction-level advisory lock
-- (jit.record_change), so that rows commit in seq order: otherwise a reader
-- could see 12, remember it, and never see an 11 that committed later.
CREATE TABLE jit.changes (
    seq        bigserial PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('host-added', 'requested', 'approved', 'ended')),
    host       text NOT NULL,
    grant_id   bigint REFERENCES jit.grants (id),
    changed_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

-- Every host's audit events, uploaded in order and exactly once: (host,
-- host_seq) is the event's place in that host's own hash chain, so a retry
-- after a lost answer is recognised (same hash: a no-op) and a gap or a
-- different event at the same place is refused. hash is the host's chain
-- hash of the event, so the fleet copy can be checked against each host's
-- chain. grant_id is the fleet grant when there is one; an event about a
-- host-only grant carries it in details. Append-only: see the trigger below.
CREATE TABLE jit.audit (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host        text NOT NULL REFERENCES jit.hosts (name),
    host_seq    bigint NOT NULL CHECK (host_seq > 0),
    event_at    timestamptz NOT NULL,
    actor       text NOT NULL CHECK (pg_catalog.length(actor) <= 64),
    grant_id    bigint,
    event       text NOT NULL CHECK (pg_catalog.length(event) <= 64 AND event ~ '^[a-z][a-z0-9-]*$'),
    details     text NOT NULL DEFAULT '' CHECK (pg_catalog.length(details) <= 4096),
    hash        text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    received_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    UNIQUE (host, host_seq)
);

-- ---- records are not edited ---------------------------------------------------

-- The record tables are append-only for everyone: UPDATE, DELETE and
-- TRUNCATE are refused by statement triggers, which fire even for the owner
-- and even when no row matches. Hosts cannot do any of that anyway (no such
-- privilege); the trigger is what stops the owner's session, a migration
-- gone wrong or a careless admin. It does not stop the owner from dropping
-- the trigger: what protects the record against its owner is each host's
-- own hash chain (doc/FLEET.md, trust model).
CREATE FUNCTION jit.refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION '%.% is append-only: % refused', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON jit.audit
    FOR EACH STATEMENT EXECUTE FUNCTION jit.refuse_change();
CREATE TRIGGER approvals_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON jit.approvals
    FOR EACH STATEMENT EXECUTE FUNCTION jit.refuse_change();
CREATE TRIGGER revocations_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON jit.revocations
    FOR EACH STATEMENT EXECUTE FUNCTION jit.refuse_change();
CREATE TRIGGER changes_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON jit.changes
    FOR EACH STATEMENT EXECUTE FUNCTION jit.refuse_change();

-- A grant's signed fields never change, and an ended grant stays ended; a
-- grant is never deleted (approvals and revocations point at it).
CREATE FUNCTION jit.grants_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'jit.grants: % refused: grants are never removed', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.id <> OLD.id OR NEW.origin_host <> OLD.origin_host OR NEW.user_name <> OLD.user_name
       OR NEW.role <> OLD.role OR NEW.host_scope <> OLD.host_scope OR NEW.duration <> OLD.duration
       OR NEW.ticket <> OLD.ticket OR NEW.reason <> OLD.reason OR NEW.break_glass <> OLD.break_glass
       OR NEW.requested_at <> OLD.requested_at THEN
        RAISE EXCEPTION 'jit.grants: grant % is signed as requested: only its end may be recorded', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.state <> 'open' THEN
        RAISE EXCEPTION 'jit.grants: grant % has ended (%)', OLD.id, OLD.state
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER grants_guard_rows BEFORE UPDATE OR DELETE ON jit.grants
    FOR EACH ROW EXECUTE FUNCTION jit.grants_guard();
CREATE TRIGGER grants_guard_truncate BEFORE TRUNCATE ON jit.grants
    FOR EACH STATEMENT EXECUTE FUNCTION jit.refuse_change();

-- ---- the write path ---------------------------------------------------------

-- Hosts write only through the functions below. Each is SECURITY DEFINER
-- (it runs as the schema owner, which holds the table privileges jit_host
-- lacks) with search_path fixed to pg_catalog and pg_temp last, so that no
-- object a caller creates can stand in for one of ours; and each first
-- checks that the host it is asked to write as is the host whose role
-- logged in. session_user, not current_user: inside a SECURITY DEFINER
-- function current_user is the owner; session_user is who authenticated,
-- and SET ROLE does not change it (only a superuser's SET SESSION
-- AUTHORIZATION does).

-- The host name of the role that logged in; NULL for any other role.
CREATE FUNCTION jit.session_host() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT h.name FROM jit.hosts h WHERE h.role = session_user
$$;

-- Refuses, with insufficient_privilege, a write attributed to another host.
CREATE FUNCTION jit.check_host(p_host text) RETURNS void
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mine text := jit.session_host();
BEGIN
    IF mine IS NULL THEN
        RAISE EXCEPTION 'role % is not a fleet host', session_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_host IS DISTINCT FROM mine THEN
        RAISE EXCEPTION 'host % may write only as itself, not as %', mine, p_host
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$$;

-- Appends to jit.changes and notifies listeners. The advisory lock (key
-- 0x6a69745f63686e67, "jit_chng") is held until the transaction ends, so
-- changes commit in the order of their seq (see jit.changes). NOTIFY is
-- delivered at commit, so a listener never hears of a change it cannot
-- read yet; its payload is the seq alone.
CREATE FUNCTION jit.record_change(p_kind text, p_host text, p_grant bigint) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s bigint;
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock(7667787793613483623);
    INSERT INTO jit.changes (kind, host, grant_id) VALUES (p_kind, p_host, p_grant) RETURNING seq INTO s;
    PERFORM pg_catalog.pg_notify('jit_changes', s::text);
    RETURN s;
END
$$;

-- A request made on p_host by p_user for p_role on the hosts p_scope
-- matches. The database checks shapes only; whether p_user may ask is each
-- host's own policy, decided again where the grant would apply.
CREATE FUNCTION jit.request_grant(p_host text, p_user text, p_role text, p_scope text[], p_duration integer,
                                  p_ticket text, p_reason text, p_break_glass boolean) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g bigint;
    pattern text;
BEGIN
    PERFORM jit.check_host(p_host);
    IF p_scope IS NULL OR pg_catalog.cardinality(p_scope) = 0 THEN
        RAISE EXCEPTION 'a grant needs a host scope' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH pattern IN ARRAY p_scope LOOP
        IF pattern IS NULL OR pg_catalog.length(pattern) > 253 OR pattern !~ '^[][A-Za-z0-9.*?_-]+$' THEN
            RAISE EXCEPTION 'host scope: % is not a host name pattern', pg_catalog.quote_nullable(pattern)
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    INSERT INTO jit.grants (origin_host, user_name, role, host_scope, duration, ticket, reason, break_glass)
        VALUES (p_host, p_user, p_role, p_scope, p_duration, COALESCE(p_ticket, ''),
                COALESCE(p_reason, ''), COALESCE(p_break_glass, false))
        RETURNING id INTO g;
    PERFORM jit.record_change('requested', p_host, g);
    RETURN g;
END
$$;

-- p_approver's signed approval, recorded by the host p_approver used. The
-- signature is verified by every host, not here: the database holds no keys.
CREATE FUNCTION jit.approve_grant(p_host text, p_grant bigint, p_approver text, p_signature text,
                                  p_note text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g jit.grants%ROWTYPE;
BEGIN
    PERFORM jit.check_host(p_host);
    SELECT * INTO g FROM jit.grants WHERE id = p_grant FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no grant %', p_grant USING ERRCODE = 'no_data_found';
    END IF;
    IF g.state <> 'open' THEN
        RAISE EXCEPTION 'grant % has ended (%)', p_grant, g.state USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_approver = g.user_name THEN
        RAISE EXCEPTION 'grant %: % cannot approve their own request', p_grant, p_approver
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO jit.approvals (grant_id, approver, signature, note, host)
        VALUES (p_grant, p_approver, p_signature, COALESCE(p_note, ''), p_host);
    PERFORM jit.record_change('approved', p_host, p_grant);
END
$$;

-- Ends a grant everywhere. Ending never creates privilege, so any host may
-- record an end for any grant (an admin's `revoke --all` runs on one host);
-- that each kind comes from someone entitled to it (an admin, the grant's
-- user, an approver) is the recording host's check. The first end wins:
-- true when this call ended the grant, false when it had already ended
-- (a retry, or someone else was first).
CREATE FUNCTION jit.end_grant(p_host text, p_grant bigint, p_kind text, p_by text, p_reason text)
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g jit.grants%ROWTYPE;
BEGIN
    PERFORM jit.check_host(p_host);
    SELECT * INTO g FROM jit.grants WHERE id = p_grant FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no grant %', p_grant USING ERRCODE = 'no_data_found';
    END IF;
    IF g.state <> 'open' THEN
        RETURN false;
    END IF;
    INSERT INTO jit.revocations (grant_id, kind, by_user, reason, host)
        VALUES (p_grant, p_kind, p_by, COALESCE(p_reason, ''), p_host);
    UPDATE jit.grants SET state = p_kind, ended_at = pg_catalog.now() WHERE id = p_grant;
    PERFORM jit.record_change('ended', p_host, p_grant);
    RETURN true;
END
$$;

-- One event of p_host's audit chain. In order and exactly once: the next
-- host_seq is stored (true); the one already stored with the same hash is
-- the retry of an upload whose answer was lost (false, nothing written);
-- anything else (a gap, or another event at a stored place) is refused.
-- The host's row is locked so that two uploads from one host take turns.
CREATE FUNCTION jit.audit_append(p_host text, p_host_seq bigint, p_at timestamptz, p_actor text, p_grant bigint,
                                 p_event text, p_details text, p_hash text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    last_seq bigint;
    stored text;
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
    INSERT INTO jit.audit (host, host_seq, event_at, actor, grant_id, event, details, hash)
        VALUES (p_host, p_host_seq, p_at, p_actor, p_grant, p_event, COALESCE(p_details, ''), p_hash);
    RETURN true;
END
$$;

-- ---- privileges -------------------------------------------------------------

-- Functions are executable by PUBLIC by default: not these. Hosts get the
-- write functions and session_host(); check_host, record_change and the
-- trigger functions are called only from inside (as the owner). A per-schema
-- ALTER DEFAULT PRIVILEGES cannot take away what PUBLIC gets globally, so
-- each later version must end with this REVOKE too.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA jit FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    jit.session_host(),
    jit.request_grant(text, text, text, text[], integer, text, text, boolean),
    jit.approve_grant(text, bigint, text, text, text),
    jit.end_grant(text, bigint, text, text, text),
    jit.audit_append(text, bigint, timestamptz, text, bigint, text, text, text)
    TO jit_host;

REVOKE ALL ON SCHEMA jit FROM PUBLIC;
GRANT USAGE ON SCHEMA jit TO jit_host;
REVOKE ALL ON ALL TABLES IN SCHEMA jit FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA jit FROM PUBLIC;

-- Reads are fleet-wide on purpose: `jitctl list`, `show`, `audit` and
-- `report` on any host show the whole fleet, and every host must read every
-- grant, approval and end to decide what applies to it. Nothing secret is
-- stored: no passwords, no keys; signatures are public by nature.
GRANT SELECT ON jit.schema_version, jit.hosts, jit.grants, jit.approvals, jit.revocations, jit.changes, jit.audit
    TO jit_host;

-- Row-level security as the second lock behind the privileges: with RLS on
-- and only SELECT policies, a write privilege granted to jit_host by mistake
-- still writes nothing (no policy allows it). The owner, and with it the
-- SECURITY DEFINER functions, is not subject to RLS (not FORCEd).
ALTER TABLE jit.hosts ENABLE ROW LEVEL SECURITY;
ALTER TABLE jit.grants ENABLE ROW LEVEL SECURITY;
ALTER TABLE jit.approvals ENABLE ROW LEVEL SECURITY;
ALTER TABLE jit.revocations ENABLE ROW LEVEL SECURITY;
ALTER TABLE jit.changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE jit.audit ENABLE ROW LEVEL SECURITY;
CREATE POLICY hosts_read ON jit.hosts FOR SELECT TO jit_host USING (true);
CREATE POLICY grants_read ON jit.grants FOR SELECT TO jit_host USING (true);
CREATE POLICY approvals_read ON jit.approvals FOR SELECT TO jit_host USING (true);
CREATE POLICY revocations_read ON jit.revocations FOR SELECT TO jit_host USING (true);
CREATE POLICY changes_read ON jit.changes FOR SELECT TO jit_host USING (true);
CREATE POLICY audit_read ON jit.audit FOR SELECT TO jit_host USING (true);
