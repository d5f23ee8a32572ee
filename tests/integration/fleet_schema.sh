#!/usr/bin/env bash
# Story: an admin sets up the fleet's PostgreSQL database (a real PostgreSQL
# 15 in $T, SCRAM passwords on a private socket). `jitctl fleet init`
# creates the schema, again is a no-op, migrates an older one in one
# transaction and refuses a newer one; `jitctl fleet add-host` makes a host's
# role with a password only it holds (0600 file, never on the wire, never
# over an existing file) and prints its [fleet] lines. Logged in as that
# role, a host writes through its functions as itself and is refused as any
# other host, cannot touch a table directly, and nobody (the owner included)
# edits the audit record. jitd parses [fleet] and refuses a password in it
# (tests/integration/fleet_mirror.sh runs jitd with it).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../pg_lib.sh"
pg_require
jt_setup

# log_statement=all: the server's log is where a clear password would show.
if ! pg_start "log_statement=all"; then
        not_ok "PostgreSQL 15 starts in $T/pg"
        finish
        exit
fi
ok "PostgreSQL 15 starts in $T/pg (socket only, SCRAM for every role)"

# The owner: a role of its own that owns the database and may create roles,
# not the superuser (its SECURITY DEFINER functions run as it).
OWNER_PW=$(pg_random)
pg_super "CREATE ROLE jit_owner LOGIN CREATEROLE PASSWORD '$OWNER_PW'" \
         "CREATE DATABASE fleet OWNER jit_owner" "REVOKE CONNECT ON DATABASE fleet FROM PUBLIC" \
         "CREATE DATABASE fleet0 OWNER jit_owner" "CREATE DATABASE fleet1 OWNER jit_owner" \
         "CREATE DATABASE fleetbad OWNER jit_owner" \
         "CREATE DATABASE notours OWNER jit_owner"
ADMIN="host=$PG_DIR dbname=fleet user=jit_owner"

# The admin's jitctl, with the owner's password from the environment.
admin() { PGPASSWORD=$OWNER_PW "$T/bin/jitctl" "$@"; }
owner_sql() { pg_as "host=$PG_DIR dbname=${2:-fleet} user=jit_owner" "$OWNER_PW" "$1"; }
super_sql() { PG_DB=${2:-fleet} pg_super "$1"; }

# ---- the command line ---------------------------------------------------------

expect 2 "jitctl fleet alone prints its usage" '^usage: jitctl fleet init -D CONNINFO \| fleet add-host HOST' -- \
        "$T/bin/jitctl" fleet
grep -q '^jitctl: fleet needs init or add-host$' <<<"$LAST_OUT" && ok "... after saying what is missing" ||
        not_ok "what is missing" "$LAST_OUT"
expect 2 "fleet init without -D is a usage error" 'fleet init needs -D CONNINFO' -- "$T/bin/jitctl" fleet init
expect 2 "fleet add-host without HOST is a usage error" 'fleet add-host needs HOST' -- \
        "$T/bin/jitctl" fleet add-host -D "$ADMIN"
expect 2 "fleet add-host without --password-file is a usage error" 'needs --password-file FILE' -- \
        "$T/bin/jitctl" fleet add-host web01 -D "$ADMIN"
expect 2 "fleet init takes no --password-file" 'does not take --password-file' -- \
        "$T/bin/jitctl" fleet init -D "$ADMIN" --password-file "$T/x"
expect 2 "an unknown fleet command is a usage error" "unknown fleet command 'frob'" -- \
        "$T/bin/jitctl" fleet frob -D "$ADMIN"
expect 1 "a wrong password: refused by the server, said on one line" \
        '^jitctl: cannot use the database: .*password authentication failed for user "jit_owner"$' -- \
        env PGPASSWORD=wrong "$T/bin/jitctl" fleet init -D "$ADMIN"

# ---- init -------------------------------------------------------------------------

expect 0 "fleet init creates the schema" '^fleet schema created at version 3$' -- admin fleet init -D "$ADMIN"
[ "$(owner_sql "SELECT version FROM jit.schema_version")" = 3 ] && ok "jit.schema_version says 3" ||
        not_ok "jit.schema_version says 3" "$(owner_sql "TABLE jit.schema_version" 2>&1)"
tables=$(owner_sql "SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'jit'")
[ "$tables" = "approvals audit changes extension_approvals extensions grants hosts revocations schema_version" ] && ok "the tables are there: $tables" ||
        not_ok "the tables are there" "$tables"
owners=$(owner_sql "SELECT string_agg(DISTINCT pg_get_userbyid(proowner), ' ') FROM pg_proc
                    WHERE pronamespace = 'jit'::regnamespace")
[ "$owners" = jit_owner ] && ok "every function belongs to the schema owner" || not_ok "functions' owner" "$owners"
public=$(owner_sql "SELECT count(*) FROM pg_proc WHERE pronamespace = 'jit'::regnamespace
                    AND has_function_privilege('public', oid, 'EXECUTE')")
[ "$public" = 0 ] && ok "no function of the schema is executable by PUBLIC" || not_ok "PUBLIC may execute $public functions"
jh=$(owner_sql "SELECT rolcanlogin, rolsuper, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = 'jit_host'")
[ "$jh" = "f|f|f|f" ] && ok "jit_host is a group role that can do nothing by itself" || not_ok "jit_host" "$jh"

# pg_dump's \restrict lines carry a fresh random key each time.
dump() { PGPASSWORD=$PG_SUPERPW "$PGBIN/pg_dump" -h "$PG_DIR" -U postgres -s -n jit fleet | grep -v '^\\\(un\)\{0,1\}restrict '; }
before=$(dump; owner_sql "TABLE jit.schema_version")
expect 0 "fleet init again is a no-op" '^fleet schema is at version 3 already: nothing to do$' -- \
        admin fleet init -D "$ADMIN"
after=$(dump; owner_sql "TABLE jit.schema_version")
[ "$before" = "$after" ] && grep -q 'CREATE TABLE jit.audit' <<<"$before" && ok "... and changed nothing (schema dump and version row alike)" ||
        not_ok "a second init changed the schema" "$(diff <(echo "$before") <(echo "$after") | head -20)"

owner_sql "UPDATE jit.schema_version SET version = 4" >/dev/null
expect 1 "a newer schema version is refused" \
        'fleet init: the fleet schema is at version 4, newer than this jitctl knows \(3\): use a newer jitctl' -- \
        admin fleet init -D "$ADMIN"
[ "$(owner_sql "SELECT version FROM jit.schema_version")" = 4 ] && ok "... and left as it was" ||
        not_ok "a newer schema was touched"
expect 1 "add-host refuses a newer schema too" 'newer than this jitctl knows' -- \
        admin fleet add-host web09 -D "$ADMIN" --password-file "$T/web09.password"
[ ! -e "$T/web09.password" ] && ok "... and leaves no password file" || not_ok "a password file was left"
owner_sql "UPDATE jit.schema_version SET version = 3" >/dev/null

# Version 0, as the bootstrap leaves it: the schema and its version row.
v0="CREATE SCHEMA jit;
    CREATE TABLE jit.schema_version (singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        version integer NOT NULL CHECK (version >= 0), migrated_at timestamptz NOT NULL DEFAULT now());
    INSERT INTO jit.schema_version (version) VALUES (0);"
owner_sql "$v0" fleet0 >/dev/null
expect 1 "add-host refuses a schema older than jitctl's" 'older than this jitctl.*run jitctl fleet init' -- \
        admin fleet add-host web09 -D "host=$PG_DIR dbname=fleet0 user=jit_owner" --password-file "$T/web09.password"
expect 0 "fleet init migrates version 0 to 3" '^fleet schema migrated from version 0 to 3$' -- \
        admin fleet init -D "host=$PG_DIR dbname=fleet0 user=jit_owner"
[ "$(owner_sql "SELECT version FROM jit.schema_version" fleet0)" = 3 ] &&
        [ "$(owner_sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'jit'" fleet0)" = 9 ] &&
        ok "... to the whole of version 3" || not_ok "migration 0 -> 3 incomplete"

# A step that fails leaves nothing behind: one transaction.
owner_sql "$v0 CREATE TABLE jit.grants (x integer);" fleetbad >/dev/null
expect 1 "a migration that fails is refused with the database's reason" \
        'step to version 1: relation "grants" already exists' -- \
        admin fleet init -D "host=$PG_DIR dbname=fleetbad user=jit_owner"
state=$(owner_sql "SELECT version, to_regclass('jit.hosts') IS NULL, to_regclass('jit.audit') IS NULL
                   FROM jit.schema_version" fleetbad)
[ "$state" = "0|t|t" ] && ok "... and rolled back whole: still version 0, no table of version 1" ||
        not_ok "a failed migration left something" "$state"

# Version 1, as a jitctl of that version left it (its step applied by hand,
# with one event uploaded the version-1 way): init migrates it to 2, keeps the
# event, and replaces the function that could not fill the new columns.
owner_sql "$v0" fleet1 >/dev/null
{ echo "SET search_path = pg_catalog, pg_temp;"; cat "$ROOT/jitctl/fleet_schema_v1.sql"
  echo "UPDATE jit.schema_version SET version = 1;"
  echo "INSERT INTO jit.hosts (name, role) VALUES ('old01', 'jit_host_old01');"
  echo "INSERT INTO jit.audit (host, host_seq, event_at, actor, event, hash) VALUES ('old01', 1, now(), 'root', 'requested', repeat('e', 64));"
} >"$T/v1.sql"
if PGPASSWORD=$OWNER_PW pg_psql -d "host=$PG_DIR dbname=fleet1 user=jit_owner" -1 -f "$T/v1.sql" >/dev/null; then
        ok "a version-1 schema made with its own step"
else
        not_ok "a version-1 schema made with its own step"
fi
expect 0 "fleet init migrates version 1 to 3" '^fleet schema migrated from version 1 to 3$' -- \
        admin fleet init -D "host=$PG_DIR dbname=fleet1 user=jit_owner"
v1=$(owner_sql "SELECT (SELECT version FROM jit.schema_version), (SELECT count(*) || ' ' || min(hash) FROM jit.audit),
                       (SELECT string_agg(pg_get_function_identity_arguments(oid), ';') FROM pg_proc
                        WHERE proname = 'audit_append' AND pronamespace = 'jit'::regnamespace)" fleet1)
[[ "$v1" == "3|1 $(printf 'e%.0s' {1..64})|p_host text, p_host_seq bigint, p_at bigint, p_actor_uid bigint,"* ]] &&
        ok "... keeping the uploaded event, with the one version-2 audit_append" || not_ok "migration 1 -> 3" "$v1"

owner_sql "CREATE SCHEMA jit" notours >/dev/null
expect 1 "a schema jit that is not a fleet schema is refused" 'not a pam_jit fleet schema' -- \
        admin fleet init -D "host=$PG_DIR dbname=notours user=jit_owner"

# ---- add-host -------------------------------------------------------------------

expect 0 "fleet add-host web01 makes its role and prints the [fleet] lines" \
        "^database = .*user=jit_host_web01$" -- \
        admin fleet add-host web01 -D "$ADMIN password=$OWNER_PW" --password-file "$T/web01.password"
lines=$LAST_OUT
if grep -qx '\[fleet\]' <<<"$lines" && grep -qx "password_file = $T/web01.password" <<<"$lines" &&
   grep -qx 'sync = 2s' <<<"$lines" && ! grep -q "$OWNER_PW\|jit_owner" <<<"$lines"; then
        ok "... [fleet], password_file and sync = 2s, nothing of the admin's (user, password)"
else
        not_ok "the printed lines" "$lines"
fi
WEB01=$(sed -n 's/^database = //p' <<<"$lines")
read -r mode owner size < <(stat -c '%a %U %s' "$T/web01.password")
[ "$mode $owner $size" = "600 root 65" ] && ok "the password file is root's, mode 0600, 64 hex digits and a newline" ||
        not_ok "the password file" "$mode $owner $size"
PW01=$(cat "$T/web01.password")
role=$(super_sql "SELECT rolcanlogin, rolsuper, rolcreaterole, rolconnlimit, left(rolpassword, 14),
                         pg_has_role(oid, 'jit_host', 'MEMBER')
                  FROM pg_authid WHERE rolname = 'jit_host_web01'")
[ "$role" = "t|f|f|8|SCRAM-SHA-256\$|t" ] && ok "role jit_host_web01: login, SCRAM verifier, member of jit_host" ||
        not_ok "role jit_host_web01" "$role"
if ! grep -qF "$PW01" "$PG_DIR/log" && grep -q 'CREATE ROLE "jit_host_web01" .* PASSWORD '"'"'SCRAM-SHA-256' "$PG_DIR/log"
then
        ok "the server saw only the SCRAM verifier, never the password (log_statement=all)"
else
        not_ok "the password reached the server" "$(grep -n 'jit_host_web01' "$PG_DIR/log" | cut -c1-200)"
fi

echo keep >"$T/taken.password"
expect 1 "add-host refuses an existing password file" 'taken.password exists: add-host writes a new password file' -- \
        admin fleet add-host web02 -D "$ADMIN" --password-file "$T/taken.password"
[ "$(cat "$T/taken.password")" = keep ] && [ -z "$(super_sql "SELECT 1 FROM pg_roles WHERE rolname = 'jit_host_web02'")" ] &&
        ok "... leaving the file as it was and making no role" || not_ok "the existing file or a role changed"
ln -s "$T/elsewhere" "$T/link.password"
expect 1 "add-host refuses a symbolic link as the password file" 'exists' -- \
        admin fleet add-host web02 -D "$ADMIN" --password-file "$T/link.password"
[ ! -e "$T/elsewhere" ] && ok "... and writes nothing through it" || not_ok "written through a link"
expect 1 "add-host refuses a host that is there already" 'host web01 is in the fleet already' -- \
        admin fleet add-host WEB01 -D "$ADMIN" --password-file "$T/again.password"
[ ! -e "$T/again.password" ] && ok "... and removes the password file it had made" || not_ok "a password file was left"
expect 1 "add-host refuses a name that is not a host name" "'web_03' is not a host name" -- \
        admin fleet add-host web_03 -D "$ADMIN" --password-file "$T/web03.password"
expect 1 "add-host refuses a name whose role would not fit" 'longer than 54 characters' -- \
        admin fleet add-host "$(printf 'a%.0s' {1..55})" -D "$ADMIN" --password-file "$T/long.password"
expect 0 "add-host web-02" 'user=jit_host_web_02$' -- \
        admin fleet add-host web-02 -D "$ADMIN" --password-file "$T/web02.password"
WEB02=$(sed -n 's/^database = //p' <<<"$LAST_OUT")
PW02=$(cat "$T/web02.password")
expect 1 "add-host refuses web.02, whose role is web-02's" 'role jit_host_web_02 exists already' -- \
        admin fleet add-host web.02 -D "$ADMIN" --password-file "$T/web.02.password"
[ ! -e "$T/web.02.password" ] && [ "$(owner_sql "SELECT count(*) FROM jit.hosts")" = 2 ] &&
        ok "... leaving no file and no row" || not_ok "a refused add-host left something"
[ "$(owner_sql "SELECT string_agg(kind || ':' || host, ' ' ORDER BY seq) FROM jit.changes")" = \
  "host-added:web01 host-added:web-02" ] && ok "each host added is a change in jit.changes" ||
        not_ok "jit.changes" "$(owner_sql "TABLE jit.changes")"

# ---- a host, logged in with the printed line and its password ---------------------

h1() { pg_as "$WEB01" "$PW01" "$@"; }
h2() { pg_as "$WEB02" "$PW02" "$@"; }
SIG="-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQ==
-----END SSH SIGNATURE-----"

expect 0 "web01 logs in with the printed database line and its password file" '^web01$' -- \
        h1 "SELECT jit.session_host()"
expect 0 "web01 requests a grant as itself" '^1$' -- \
        h1 "SELECT jit.request_grant('web01', 'alice', 'web-admin', ARRAY['web*'], 3600, 'CHG1', 'TLS fix', false)"
expect 1 "web01 cannot request as web-02" 'host web01 may write only as itself, not as web-02' -- \
        h1 "SELECT jit.request_grant('web-02', 'alice', 'web-admin', ARRAY['web*'], 3600, 'CHG1', 'x', false)"
expect 1 "web01 cannot approve as web-02" 'host web01 may write only as itself, not as web-02' -- \
        h1 "SELECT jit.approve_grant('web-02', 1, 'bob', \$\$$SIG\$\$, 'ok')"
expect 0 "web-02 records bob's signed approval as itself" '' -- \
        h2 "SELECT jit.approve_grant('web-02', 1, 'bob', \$\$$SIG\$\$, 'ok')"
expect 1 "the requester cannot approve their own grant" 'alice cannot approve their own request' -- \
        h2 "SELECT jit.approve_grant('web-02', 1, 'alice', \$\$$SIG\$\$, 'me')"
Z=$(printf '0%.0s' {1..64}) HA=$(printf 'a%.0s' {1..64}) HB=$(printf 'b%.0s' {1..64})
ev() {  # ev HOST SEQ PREV HASH: one event of HOST's chain, every hashed field given
        echo "SELECT jit.audit_append('$1', $2, 1700000000, 1001, 'alice', 7, 1, 'requested', '{}', '$3', '$4')"
}
expect 0 "web01 uploads audit event 1 of its chain" '^t$' -- h1 "$(ev web01 1 "$Z" "$HA")"
expect 0 "... and its retry is a no-op (exactly once)" '^f$' -- h1 "$(ev web01 1 "$Z" "$HA")"
expect 1 "... another event at a stored place is refused" 'stored already, with another hash' -- \
        h1 "$(ev web01 1 "$Z" "$HB")"
expect 1 "... a gap in the chain is refused (in order)" 'out of order: the next is 2' -- h1 "$(ev web01 3 "$HA" "$HB")"
expect 1 "... an event that does not link to the one before is refused" 'does not link to the event stored before it' -- \
        h1 "$(ev web01 2 "$HB" "$HB")"
expect 1 "... and so is a first event that does not start a chain" 'does not link' -- h2 "$(ev web-02 1 "$HA" "$HB")"
expect 1 "web01 cannot upload audit events as web-02" 'may write only as itself' -- h1 "$(ev web-02 1 "$Z" "$HA")"
expect 1 "web01 cannot call the owner's own functions" 'permission denied for function record_change' -- \
        h1 "SELECT jit.record_change('ended', 'web01', 1)"
# LISTEN in the same session: psql prints the notification after the call.
expect 0 "ending a grant notifies jit_changes" \
        'Asynchronous notification "jit_changes" with payload "[0-9]+" received' -- \
        env PGPASSWORD="$PW01" "$PGBIN/psql" -X -v ON_ERROR_STOP=1 -At -d "$WEB01" \
        -c "LISTEN jit_changes" -c "SELECT jit.end_grant('web01', 1, 'revoked', 'root', 'laptop stolen')"
seq=$(sed -nE 's/.*with payload "([0-9]+)".*/\1/p' <<<"$LAST_OUT")
[ -n "$seq" ] && [ "$seq" = "$(owner_sql "SELECT max(seq) FROM jit.changes WHERE kind = 'ended'")" ] &&
        ok "... whose payload is the seq of its change" || not_ok "the notification's payload" "$LAST_OUT"
expect 0 "... and a second end is a no-op" '^f$' -- \
        h2 "SELECT jit.end_grant('web-02', 1, 'released', 'alice', 'done')"
[ "$(owner_sql "SELECT state || ' ' || (SELECT kind || ' ' || host FROM jit.revocations WHERE grant_id = 1)
                FROM jit.grants WHERE id = 1")" = "revoked revoked web01" ] &&
        ok "the grant is revoked, recorded as web01's" || not_ok "the end of grant 1" "$(owner_sql "TABLE jit.grants")"

for sql in "INSERT INTO jit.grants (origin_host, user_name, role, host_scope, duration) VALUES ('web01', 'x', 'r', ARRAY['*'], 60)" \
           "UPDATE jit.grants SET state = 'open'" \
           "DELETE FROM jit.approvals" \
           "INSERT INTO jit.hosts (name, role) VALUES ('evil', 'jit_host_evil')" \
           "INSERT INTO jit.audit (host, host_seq, event_at, actor, event, hash) VALUES ('web01', 2, now(), 'x', 'x', repeat('c', 64))" \
           "UPDATE jit.audit SET actor = 'mallory'" \
           "DELETE FROM jit.audit" \
           "TRUNCATE jit.audit"; do
        expect 1 "web01 cannot: ${sql%% (*}" 'permission denied for table' -- h1 "$sql"
done
[ "$(owner_sql "SELECT count(*) || ' ' || min(actor) FROM jit.audit")" = "1 alice" ] &&
        ok "the audit record is as web01 uploaded it" || not_ok "the audit record changed"

# Row-level security is the second lock: a write privilege granted by
# mistake still writes nothing.
super_sql "GRANT INSERT ON jit.grants TO jit_host" >/dev/null
expect 1 "with INSERT granted by mistake, row-level security still refuses web01's insert" \
        'new row violates row-level security policy for table "grants"' -- \
        h1 "INSERT INTO jit.grants (origin_host, user_name, role, host_scope, duration) VALUES ('web01', 'x', 'r', ARRAY['*'], 60)"
super_sql "REVOKE INSERT ON jit.grants FROM jit_host" >/dev/null

# ---- the owner cannot edit the record either ----------------------------------------

for op in "UPDATE jit.audit SET actor = 'mallory'" "DELETE FROM jit.audit" "TRUNCATE jit.audit"; do
        expect 1 "the owner's ${op%% *} of audit rows is refused by the trigger" \
                "jit.audit is append-only: ${op%% *} refused" -- owner_sql "$op"
done
expect 1 "the owner cannot change what was signed" 'is signed as requested: only its end may be recorded' -- \
        owner_sql "UPDATE jit.grants SET duration = 86400 WHERE id = 1"
expect 1 "... nor reopen an ended grant" 'grant 1 has ended \(revoked\)' -- \
        owner_sql "UPDATE jit.grants SET state = 'open', ended_at = NULL WHERE id = 1"

# ---- jitd and [fleet] --------------------------------------------------------------------

jitd_conf() {  # jitd_conf [FLEET LINES]
        config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = web01

[role:ops]
members   = root
approval  = auto
ticket    = none
$1
EOF2
}

jitd_conf "[fleet]
database = $WEB01 password=$PW01
password_file = $T/web01.password"
expect 1 "jitd --check refuses a password in [fleet] database, at its line" \
        "^$CONF:12: database: the connection string carries a password \(password=...\); put it in password_file instead$" -- \
        "$T/bin/jitd" --check -c "$CONF"
grep -qF "$PW01" <<<"$LAST_OUT" && not_ok "... and does not quote it" "$LAST_OUT" || ok "... without quoting it"

jitd_conf "$(grep -v '^#' <<<"$lines")"
expect 0 "with the printed lines, jitd --check accepts [fleet]" "^$CONF: OK" -- "$T/bin/jitd" --check -c "$CONF"
expect 1 "jitctl doctor WARNs that [fleet] has no allowed_signers (no fleet grant is enforced)" \
        "^WARN +config +$CONF:11: \[fleet\] has no allowed_signers" -- \
        "$T/bin/jitctl" -s "$SOCK" doctor -c "$CONF" --pam-dir "$T/pam" --sudoers "$T/sudoers"

# A running jitd takes a reload that adds [fleet], and says the connection
# waits for the next start (the fleet_mirror story runs jitd with it).
jitd_conf ""
if jitd_start; then
        jitd_conf "$(grep -v '^#' <<<"$lines")"
        expect 0 "a reload that adds [fleet] is taken" '' -- jc root reload
        grep -q '\[fleet\] database, write_database, password_file and sync changes take effect at the next start' "$T/jitd.log" &&
                ok "... saying that the connection waits for the next start" || not_ok "the reload's warning"
        expect 0 "... and jitd goes on" '' -- jc root status
else
        not_ok "jitd starts without [fleet]"
fi

finish
