-- pam_jit fleet schema, version 3: the step from version 2 to version 3.
--
-- Run by `jitctl fleet init` in the same transaction as the version bump, as
-- the owner of schema jit (see fleet_schema_v1.sql for the conventions: every
-- name qualified, every function with a fixed search path, REVOKE from PUBLIC
-- at the end).
--
-- Why: extensions of fleet grants (`jitctl extend F12 -d DURATION -m REASON`).
-- An extension is recorded once for the whole scope, as the grant is; each
-- host in the scope adds its duration to its copy only when its own jitd.conf
-- allows it (the role's max_extensions and max_duration) and its own role's
-- approval path approves it: for a peer-approved role, signatures of the
-- approvers over the extension's canonical text (doc/FLEET-SIGNATURES.md,
-- "pam_jit extension v1"), verified against the host's allowed_signers, as
-- for the grant itself. The database stores and orders them; it approves
-- nothing.

-- Extension n (1, 2, ...) of a grant: every host adds them in this order, so
-- a grant ends at the same time on every host that applies the same ones.
CREATE TABLE jit.extensions (
    grant_id     bigint NOT NULL REFERENCES jit.grants (id),
    n            integer NOT NULL CHECK (n BETWEEN 1 AND 64),
    duration     integer NOT NULL CHECK (duration BETWEEN 1 AND 31622400),
    reason       text NOT NULL CHECK (pg_catalog.length(reason) BETWEEN 1 AND 512),
    host         text NOT NULL REFERENCES jit.hosts (name),
    requested_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (grant_id, n)
);

-- One row per approver and extension, as jit.approvals is per grant.
CREATE TABLE jit.extension_approvals (
    grant_id    bigint NOT NULL,
    n           integer NOT NULL,
    approver    text NOT NULL CHECK (pg_catalog.length(approver) <= 32
                                     AND approver ~ '^[a-z_][a-z0-9_.-]*[$]{0,1}$'),
    signature   text NOT NULL CHECK (pg_catalog.length(signature) <= 8192
                                     AND signature LIKE '-----BEGIN SSH SIGNATURE-----%'),
    note        text NOT NULL DEFAULT '' CHECK (pg_catalog.length(note) <= 512),
    host        text NOT NULL REFERENCES jit.hosts (name),
    approved_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (grant_id, n, approver),
    FOREIGN KEY (grant_id, n) REFERENCES jit.extensions (grant_id, n)
);

CREATE TRIGGER extensions_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON jit.extensions
    FOR EACH STATEMENT EXECUTE FUNCTION jit.refuse_change();
CREATE TRIGGER extension_approvals_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON jit.extension_approvals
    FOR EACH STATEMENT EXECUTE FUNCTION jit.refuse_change();

-- Hosts learn of both through jit.changes, as of any other change.
ALTER TABLE jit.changes DROP CONSTRAINT changes_kind_check;
ALTER TABLE jit.changes ADD CONSTRAINT changes_kind_check
    CHECK (kind IN ('host-added', 'requested', 'approved', 'ended', 'extension-requested', 'extension-approved'));

-- The open grant p_grant, locked until the transaction ends (its
-- extensions are numbered and approved one at a time); no_data_found when
-- there is none, invalid_parameter_value when it has ended. Called only from
-- the write functions below (not executable by hosts).
CREATE FUNCTION jit.open_grant(p_grant bigint) RETURNS jit.grants
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g jit.grants%ROWTYPE;
BEGIN
    SELECT * INTO g FROM jit.grants WHERE id = p_grant FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no grant %', p_grant USING ERRCODE = 'no_data_found';
    END IF;
    IF g.state <> 'open' THEN
        RAISE EXCEPTION 'grant % has ended (%)', p_grant, g.state USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN g;
END
$$;

-- Extension n of p_grant, asked on p_host by the grant's own user p_user
-- (the host checked that the one asking is p_user, and its own policy). The
-- next n is returned. The grant must be open; whether it is active anywhere,
-- and whether this extension applies there, is each host's decision.
CREATE FUNCTION jit.request_extension(p_host text, p_grant bigint, p_user text, p_duration integer,
                                      p_reason text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g jit.grants%ROWTYPE;
    n_next integer;
BEGIN
    PERFORM jit.check_host(p_host);
    g := jit.open_grant(p_grant);
    IF p_user IS DISTINCT FROM g.user_name THEN
        RAISE EXCEPTION 'grant % is not %''s to extend', p_grant, p_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF g.break_glass THEN
        RAISE EXCEPTION 'grant % is break-glass: it is not extended', p_grant
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT COALESCE(pg_catalog.max(x.n), 0) + 1 INTO n_next FROM jit.extensions x WHERE x.grant_id = p_grant;
    INSERT INTO jit.extensions (grant_id, n, duration, reason, host)
        VALUES (p_grant, n_next, p_duration, p_reason, p_host);
    PERFORM jit.record_change('extension-requested', p_host, p_grant);
    RETURN n_next;
END
$$;

-- p_approver's signed approval of extension p_n of p_grant, recorded by the
-- host p_approver used. Verified by every host, not here.
CREATE FUNCTION jit.approve_extension(p_host text, p_grant bigint, p_n integer, p_approver text,
                                      p_signature text, p_note text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g jit.grants%ROWTYPE;
BEGIN
    PERFORM jit.check_host(p_host);
    g := jit.open_grant(p_grant);
    IF p_approver = g.user_name THEN
        RAISE EXCEPTION 'grant %: % cannot approve their own extension', p_grant, p_approver
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM 1 FROM jit.extensions x WHERE x.grant_id = p_grant AND x.n = p_n;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'grant % has no extension %', p_grant, p_n USING ERRCODE = 'no_data_found';
    END IF;
    INSERT INTO jit.extension_approvals (grant_id, n, approver, signature, note, host)
        VALUES (p_grant, p_n, p_approver, p_signature, COALESCE(p_note, ''), p_host);
    PERFORM jit.record_change('extension-approved', p_host, p_grant);
END
$$;

-- ---- privileges -------------------------------------------------------------

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA jit FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    jit.request_extension(text, bigint, text, integer, text),
    jit.approve_extension(text, bigint, integer, text, text, text)
    TO jit_host;
REVOKE ALL ON jit.extensions, jit.extension_approvals FROM PUBLIC;
GRANT SELECT ON jit.extensions, jit.extension_approvals TO jit_host;
ALTER TABLE jit.extensions ENABLE ROW LEVEL SECURITY;
ALTER TABLE jit.extension_approvals ENABLE ROW LEVEL SECURITY;
CREATE POLICY extensions_read ON jit.extensions FOR SELECT TO jit_host USING (true);
CREATE POLICY extension_approvals_read ON jit.extension_approvals FOR SELECT TO jit_host USING (true);
