#!/usr/bin/env bash
# Story: a host reads the fleet from a hot standby. PostgreSQL refuses LISTEN
# during recovery ("cannot execute LISTEN during recovery", SQLSTATE 25006),
# so a jitd pointed at a read replica gets no push; issue 14 asks that the
# catch-up every `sync` works against read replicas. web-01 uses the primary,
# web-02 a streaming standby made with pg_basebackup -R: web-02 connects,
# says once (log and status) that it has no push, enforces a grant approved
# on the primary and drops it when it is revoked there, each within sync +
# replication + a margin; its own writes (a request) are refused by the
# standby with a clear line. Before the fix, jitd took the refused LISTEN for
# a failed connection and retried for ever without catching up.
# shellcheck disable=SC2034 # PID and PW are used by tests/fleet_lib.sh
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fleet_lib.sh"
. "$(dirname "$0")/../pg_lib.sh"
pg_require
command -v ssh-keygen >/dev/null || { echo "# SKIP ssh-keygen is missing"; exit 0; }
jt_setup

HOSTS="web-01 web-02"
declare -A PID

if ! pg_start "wal_level=replica" "max_wal_senders=4"; then
        not_ok "PostgreSQL 15 starts in $T/pg"
        finish
        exit
fi
ok "PostgreSQL 15 (the primary) starts in $T/pg"

OWNER_PW=$(pg_random)
pg_super "CREATE ROLE jit_owner LOGIN CREATEROLE PASSWORD '$OWNER_PW'" "CREATE DATABASE fleet OWNER jit_owner" \
         "REVOKE CONNECT ON DATABASE fleet FROM PUBLIC"
ADMIN="host=$PG_DIR dbname=fleet user=jit_owner"
admin() { PGPASSWORD=$OWNER_PW "$T/bin/jitctl" "$@"; }
expect 0 "fleet init" 'created' -- admin fleet init -D "$ADMIN"

group_add jt_webops
user_add jt_alice jt_webops
user_add jt_bob
ssh-keygen -q -t ed25519 -N '' -C bob -f "$T/bob_key" || exit 1
mkdir -m 0755 "$T/signers"
echo "jt_bob namespaces=\"pam-jit-approval\" $(cat "$T/bob_key.pub")" >"$T/signers/allowed_signers"
chmod 0644 "$T/signers/allowed_signers"

declare -A CONNINFO PW
for h in $HOSTS; do
        d=$T/h/$h
        mkdir -p "$d/db" "$d/pam" "$d/sudoers.d"
        chmod 0755 "$T/h" "$d"
        chmod 0750 "$d/sudoers.d"
        out=$(admin fleet add-host "$h" -D "$ADMIN" --password-file "$d/password") ||
                { not_ok "fleet add-host $h" "$out"; finish; exit; }
        CONNINFO[$h]=$(sed -n 's/^database = //p' <<<"$out")
        PW[$h]=$(cat "$d/password")
done

# The standby: a base backup of the primary over its socket (-R writes the
# standby's primary_conninfo), started on a socket directory of its own.
SB=$T/pgsb
sb_stop() {
        [ -f "$SB/data/postmaster.pid" ] || return 0
        runuser -u postgres -- "$PGBIN/pg_ctl" -D "$SB/data" -m fast -w -t 30 stop >/dev/null 2>&1 9>&-
}
CLEANUP_HOOKS+=(sb_stop)
echo "local replication postgres scram-sha-256" >>"$PG_DIR/data/pg_hba.conf"
pg_super "SELECT pg_reload_conf()" >/dev/null
mkdir -m 0700 "$SB" && chown postgres: "$SB"
if runuser -u postgres -- env PGPASSWORD="$PG_SUPERPW" "$PGBIN/pg_basebackup" -h "$PG_DIR" -U postgres \
                -D "$SB/data" -R >"$SB/basebackup.log" 2>&1 9>&- &&
   runuser -u postgres -- "$PGBIN/pg_ctl" -D "$SB/data" -l "$SB/log" -w -t 60 \
                -o "-c listen_addresses='' -c unix_socket_directories='$SB'" start >/dev/null 2>&1 9>&-; then
        ok "a hot standby of it streams in $SB"
else
        not_ok "a hot standby starts" "$(cat "$SB/basebackup.log" "$SB/log" 2>/dev/null | tail -5)"
        finish
        exit
fi
sb_sql() { PGPASSWORD=$PG_SUPERPW pg_psql -d "host=$SB dbname=fleet user=postgres" -c "$1"; }
[ "$(sb_sql "SELECT pg_is_in_recovery()")" = t ] && ok "... in recovery (read-only)" || not_ok "the standby is in recovery"
PRIMARY02=${CONNINFO[web-02]}
CONNINFO[web-02]=$(sed "s|host=[^ ]*|host=$SB|" <<<"${CONNINFO[web-02]}")

for h in $HOSTS; do
        d=$T/h/$h
        cat >"$d/jitd.conf" <<EOF2
[jitd]
socket = $d/jitd.sock
database = $d/db/jitd.db
sudoers_dir = $d/sudoers.d
host = $h
teardown = ${JIT_FLEET_TEARDOWN:-pidfd}

[role:web-admin]
members = %jt_webops
hosts = web-*
approval = peer
approvers = jt_bob
ticket = optional
max_duration = 4h

[fleet]
database = ${CONNINFO[$h]}
password_file = $d/password
sync = 1s
allowed_signers = $T/signers/allowed_signers
EOF2
        chmod 0644 "$d/jitd.conf"
        cat >"$d/pam/sudo" <<EOF2
account  required $T/bin/pam_jit.so socket=$d/jitd.sock
account  required pam_permit.so
EOF2
done
CLEANUP_HOOKS=(hosts_stop "${CLEANUP_HOOKS[@]}")
for h in $HOSTS; do
        host_start "$h" || { not_ok "jitd starts on $h"; finish; exit; }
done
st() { "$T/bin/jitctl" -s "$T/h/$1/jitd.sock" status 2>&1; }
status_has() { grep -q "$2" <<<"$(st "$1")"; }

wait_for 10 status_has web-01 '^fleet: connected' && ! status_has web-01 'no push' &&
        ok "web-01 (the primary) is connected, with push" || not_ok "web-01's status" "$(st web-01)"
if wait_for 10 status_has web-02 '^fleet: connected.*no push: LISTEN refused, catch-up only'; then
        ok "web-02 (the standby) is connected, and its status says it has no push"
else
        not_ok "web-02 connects to the standby" "$(st web-02; tail -5 "$T/h/web-02/jitd.log")"
fi
[ "$(grep -c 'refused LISTEN (cannot execute LISTEN during recovery)' "$T/h/web-02/jitd.log")" = 1 ] &&
        ok "... and its log says why, once" || not_ok "the LISTEN line" "$(grep fleet "$T/h/web-02/jitd.log")"
! grep -q 'the database is unreachable' "$T/h/web-02/jitd.log" &&
        ok "... not taken for an outage" || not_ok "web-02 took the standby for an outage"

# A grant for web-*, requested and approved on the primary (as web-01).
G=$(as_host web-01 "SELECT jit.request_grant('web-01', 'jt_alice', 'web-admin', ARRAY['web-*'], 3600, '', 'story', false)")
req=$(as_host web-01 "SELECT floor(date_part('epoch', requested_at))::bigint FROM jit.grants WHERE id = $G")
sig=$(printf 'pam_jit approval v1\ngrant %s\nuser jt_alice\nrole web-admin\nhosts web-*\nduration 3600\nticket -\nrequested %s\napprover jt_bob\n' \
        "$G" "$req" | ssh-keygen -Y sign -q -f "$T/bob_key" -n pam-jit-approval)
t0=$(now_ms)
as_host web-01 "SELECT jit.approve_grant('web-01', $G, 'jt_bob', \$\$$sig\$\$, 'ok')" >/dev/null
wait_for 5 has_dropin web-01 && ok "web-01 enforces F$G at once (push)" || not_ok "web-01 enforces F$G"
if wait_for 10 has_dropin web-02; then
        ok "web-02 enforces it from the standby, by catch-up ($(( $(now_ms) - t0 )) ms after the approval; sync 1 s)"
else
        not_ok "web-02 enforces F$G from the standby" "$(st web-02)"
fi
expect 0 "PAM allows jt_alice on web-02" "PAM_SUCCESS" -- pam web-02

t0=$(now_ms)
as_host web-01 "SELECT jit.end_grant('web-01', $G, 'revoked', 'root', 'story')" >/dev/null
wait_for 5 no_dropin web-01 && ok "revoked on the primary: gone on web-01" || not_ok "web-01 drops F$G"
if wait_for 10 no_dropin web-02; then
        ms=$(( $(now_ms) - t0 ))
        ok "... and on web-02 from the standby, $ms ms after the revocation (sync 1 s, no push)"
else
        not_ok "web-02 drops F$G" "$(st web-02)"
fi
expect 1 "PAM denies jt_alice on web-02" "PAM_PERM_DENIED" -- pam web-02

# Writes need the primary: a request on web-02 is refused by the standby, said plainly.
expect 1 "a request on web-02 is refused by the read-only standby, saying so" 'read-only transaction' -- \
        runuser -u jt_alice -- "$T/bin/jitctl" -s "$T/h/web-02/jitd.sock" request -r web-admin -H web-02 -d 1h -m story

# [fleet] write_database: web-02 keeps reading from the standby and writes
# to the primary (requests, approvals, ends, its audit uploads).
hosts_stop
echo "write_database = $PRIMARY02" >>"$T/h/web-02/jitd.conf"     # [fleet] is the last section
for h in $HOSTS; do
        host_start "$h" || { not_ok "jitd starts on $h"; finish; exit; }
done
wait_for 10 status_has web-02 '^fleet: connected.*no push: LISTEN refused.*; writes: connected for' &&
        ok "with write_database, web-02 reads from the standby and has a write connection to the primary" ||
        not_ok "web-02's status with write_database" "$(st web-02)"
sb_backends=$(sb_sql "SELECT count(*) FROM pg_stat_activity WHERE usename = 'jit_host_web_02'")
pr_backends=$(pg_super "SELECT count(*) FROM pg_stat_activity WHERE usename = 'jit_host_web_02'")
[ "$sb_backends $pr_backends" = "1 1" ] && ok "... one connection to each (standby, primary)" ||
        not_ok "web-02's connections" "standby $sb_backends, primary $pr_backends"
expect 0 "a request on web-02 now reaches the primary" "fleet grant F[0-9]+ for web-admin" -- \
        runuser -u jt_alice -- "$T/bin/jitctl" -s "$T/h/web-02/jitd.sock" request -r web-admin -H 'web-*' -d 1h -m story
G2=$(grep -oE 'F[0-9]+' <<<"$LAST_OUT" | head -1)
cp "$T/bob_key" "$T/bob_key2" && chown jt_bob "$T/bob_key2"
expect 0 "jt_bob approves it on web-02 (signed, verified, written to the primary)" "approved by jt_bob" -- \
        runuser -u jt_bob -- "$T/bin/jitctl" -s "$T/h/web-02/jitd.sock" approve "$G2" --key "$T/bob_key2"
wait_for 5 has_dropin web-01 && wait_for 10 has_dropin web-02 &&
        ok "web-01 (push) and web-02 (catch-up from the standby) enforce $G2" || not_ok "$G2 enforced"
uploaded() {
        [ "$(as_host web-01 "SELECT count(*) FROM jit.audit WHERE host = 'web-02'")" = \
          "$(sqlite3 "$T/h/web-02/db/jitd.db" "SELECT count(*) FROM audit")" ]
}
wait_for 10 uploaded && ok "web-02's audit chain is uploaded to the primary, every event" ||
        not_ok "web-02's uploads" "$(as_host web-01 "SELECT count(*) FROM jit.audit WHERE host = 'web-02'") of $(sqlite3 "$T/h/web-02/db/jitd.db" "SELECT count(*) FROM audit")"
expect 0 "jt_alice releases it on web-02" "" -- \
        runuser -u jt_alice -- "$T/bin/jitctl" -s "$T/h/web-02/jitd.sock" release "$G2"
wait_for 5 no_dropin web-02 && wait_for 5 no_dropin web-01 && ok "... ended on web-02 at once, and on web-01 from the primary" ||
        not_ok "the release through the write connection"
finish
