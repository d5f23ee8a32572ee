#!/usr/bin/env bash
# Story: three hosts (web-01, web-02, db-01), each with its own jitd, socket,
# store and sudoers directory, share one PostgreSQL 15 fleet database. A grant
# for web-* is requested once and approved once (bob's SSHSIG over the
# canonical text, made with ssh-keygen -Y sign) by calling the schema's
# functions as web-01's role: both web hosts enforce it (drop-in, PAM) and
# db-01 does not. A revocation recorded on db-01 ends it on both web hosts
# within sync + 1 s, pushed by NOTIFY, and also when no notification comes
# (catch-up only). An approval whose signature has one byte changed is
# enforced nowhere and audited (fleet-refused); a duration over web-02's own
# maximum is enforced on web-01 only. PostgreSQL stopped: PAM goes on, the
# grant runs to its end, one log line per outage, status says so; restarted:
# a host that was away applies the revocation it missed at once. db-01
# reaches the database by TCP at host=localhost, a name jitd resolves off its
# loop (jitd/resolve.c) and hands libpq as hostaddr=, and enforces a grant.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fleet_lib.sh"
. "$(dirname "$0")/../pg_lib.sh"
pg_require
command -v ssh-keygen >/dev/null || { echo "# SKIP ssh-keygen is missing"; exit 0; }
jt_setup

HOSTS="web-01 web-02 db-01"
# shellcheck disable=SC2034 # used by tests/fleet_lib.sh
declare -A PID

# TCP on localhost as well as the socket, at a port of this story's own (a
# parallel story or the machine's PostgreSQL may hold 5432); every client
# here, jitd included, gets it from PGPORT.
PG_TCP=$((20000 + RANDOM % 30000))
export PGPORT=$PG_TCP
if ! pg_start; then
        not_ok "PostgreSQL 15 starts in $T/pg"
        finish
        exit
fi
ok "PostgreSQL 15 starts in $T/pg"

OWNER_PW=$(pg_random)
pg_super "CREATE ROLE jit_owner LOGIN CREATEROLE PASSWORD '$OWNER_PW'" "CREATE DATABASE fleet OWNER jit_owner" \
         "REVOKE CONNECT ON DATABASE fleet FROM PUBLIC"
ADMIN="host=$PG_DIR dbname=fleet user=jit_owner"
admin() { PGPASSWORD=$OWNER_PW "$T/bin/jitctl" "$@"; }
owner_sql() { pg_as "$ADMIN" "$OWNER_PW" "$@"; }
expect 0 "fleet init" 'created' -- admin fleet init -D "$ADMIN"

group_add jt_webops
user_add jt_alice jt_webops
user_add jt_bob

# bob's key, listed for approvals in an allowed_signers file root keeps.
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
        [ "$h" = db-01 ] && CONNINFO[$h]=$(sed "s|host=[^ ]*|host=localhost|" <<<"${CONNINFO[$h]}")
        PW[$h]=$(cat "$d/password")
        max=4h
        [ "$h" = web-02 ] && max=2h
        cat >"$d/jitd.conf" <<EOF2
[jitd]
socket = $d/jitd.sock
database = $d/db/jitd.db
sudoers_dir = $d/sudoers.d
host = $h
teardown = ${JIT_FLEET_TEARDOWN:-pidfd}

[role:web-admin]
members = %jt_webops
hosts = *
approval = peer
approvers = jt_bob
ticket = optional
max_duration = $max

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
ok "three hosts added with jitctl fleet add-host, each with its jitd.conf"

CLEANUP_HOOKS=(hosts_stop "${CLEANUP_HOOKS[@]}")

for h in $HOSTS; do
        host_start "$h" || { not_ok "jitd starts on $h with [fleet]"; finish; exit; }
done
ok "jitd starts on web-01, web-02 and db-01 with [fleet] (it no longer refuses it)"
st() { "$T/bin/jitctl" -s "$T/h/$1/jitd.sock" status; }
status_has() { local out; out=$(st "$1" 2>&1); grep -q "$2" <<<"$out"; }
wait_for 10 status_has web-01 '^fleet: connected' &&
        ok "jitctl status shows the fleet connection" || not_ok "status shows the connection" "$(st web-01 2>&1)"


# request SCOPE DURATION: a request as web-01 for jt_alice; prints its id.
request() {
        as_host web-01 "SELECT jit.request_grant('web-01', 'jt_alice', 'web-admin', ARRAY['$1'], $2, '', 'story', false)"
}
# approve ID SCOPE DURATION [CORRUPT]: bob signs the canonical text and web-01 records it.
approve() {
        local id=$1 scope=$2 dur=$3 req sig
        req=$(as_host web-01 "SELECT floor(date_part('epoch', requested_at))::bigint FROM jit.grants WHERE id = $id")
        sig=$(printf 'pam_jit approval v1\ngrant %s\nuser jt_alice\nrole web-admin\nhosts %s\nduration %s\nticket -\nrequested %s\napprover jt_bob\n' \
                "$id" "$scope" "$dur" "$req" | ssh-keygen -Y sign -q -f "$T/bob_key" -n pam-jit-approval) || return 1
        if [ -n "${4:-}" ]; then
                # One byte of the signature blob changed (line 3: inside the signature itself).
                sig=$(awk 'NR == 3 { c = substr($0, 20, 1); $0 = substr($0, 1, 19) (c == "A" ? "B" : "A") substr($0, 21) } { print }' <<<"$sig")
        fi
        as_host web-01 "SELECT jit.approve_grant('web-01', $id, 'jt_bob', \$\$$sig\$\$, 'ok')" >/dev/null
}

# ---- a host name: db-01 by TCP to localhost ---------------------------------------

grep -q 'host=localhost' <<<"${CONNINFO[db-01]}" &&
        ok "db-01's [fleet] database names its host: ${CONNINFO[db-01]}" || not_ok "db-01's conninfo" "${CONNINFO[db-01]}"
tcp_conn() {
        [ "$(pg_super "SELECT count(*) FROM pg_stat_activity WHERE usename = 'jit_host_db_01'
                       AND application_name = 'jitd' AND client_addr IS NOT NULL")" -ge 1 ]
}
if wait_for 10 status_has db-01 '^fleet: connected' && wait_for 5 tcp_conn; then
        ok "db-01's jitd is connected by TCP (from $(pg_super "SELECT string_agg(DISTINCT host(client_addr), ' ')
            FROM pg_stat_activity WHERE usename = 'jit_host_db_01' AND application_name = 'jitd'"))"
else
        not_ok "db-01 connects by TCP to localhost" "$(st db-01 2>&1; tail -5 "$T/h/db-01/jitd.log")"
fi
GD=$(request 'db-*' 3600)
approve "$GD" 'db-*' 3600
wait_for 5 has_dropin db-01 && ok "fleet grant $GD for db-*: enforced on db-01" || not_ok "grant $GD on db-01"
expect 0 "PAM allows jt_alice on db-01" "account: PAM_SUCCESS" -- pam db-01
as_host db-01 "SELECT jit.end_grant('db-01', $GD, 'revoked', 'root', 'next case')" >/dev/null
wait_for 3 no_dropin db-01 && ok "... and revoked: gone from db-01" || not_ok "grant $GD ends on db-01"

# ---- request once, approve once -------------------------------------------------

G=$(request 'web-*' 3600)
t0=$(now_ms)
approve "$G" 'web-*' 3600 || not_ok "bob signs and web-01 records the approval"
if wait_for 5 has_dropin web-01 && wait_for 5 has_dropin web-02; then
        ok "fleet grant $G: the drop-in appears on web-01 and web-02 ($(( $(now_ms) - t0 )) ms after the approval)"
else
        not_ok "the drop-in appears on both web hosts" "$(tail -5 "$T/h/web-01/jitd.log"; tail -5 "$T/h/web-02/jitd.log")"
fi
sleep 1.5   # a sync and more: db-01 has looked
no_dropin db-01 && ok "... and not on db-01 (out of scope)" || not_ok "db-01 got a drop-in"
expect 0 "PAM allows jt_alice on web-01" "account: PAM_SUCCESS" -- pam web-01
expect 0 "PAM allows jt_alice on web-02" "account: PAM_SUCCESS" -- pam web-02
expect 1 "PAM denies jt_alice on db-01" "PAM_PERM_DENIED" -- pam db-01
n=$(sqlite3 "$T/h/web-01/db/jitd.db" "SELECT count(*) FROM fleet_grants WHERE fleet_id = $G")
[ "$n" = 1 ] && ok "web-01's store links its local grant to fleet grant $G" || not_ok "fleet link" "$n"

# ---- revocation, pushed -----------------------------------------------------------

t0=$(now_ms)
expect 0 "db-01 revokes fleet grant $G" '^t$' -- \
        as_host db-01 "SELECT jit.end_grant('db-01', $G, 'revoked', 'root', 'laptop stolen')"
if wait_for 3 no_dropin web-01 && wait_for 3 no_dropin web-02; then
        PUSH_MS=$(( $(now_ms) - t0 ))
        [ "$PUSH_MS" -le 2000 ] && ok "revoked anywhere: gone on both web hosts in $PUSH_MS ms (LISTEN/NOTIFY; sync + 1 s = 2000)" ||
                not_ok "revocation took $PUSH_MS ms"
else
        not_ok "the drop-ins go after the revocation"
fi
expect 1 "PAM denies jt_alice on web-01 after the revocation" "PAM_PERM_DENIED" -- pam web-01
expect 1 "... and on web-02" "PAM_PERM_DENIED" -- pam web-02
state=$(sqlite3 "$T/h/web-02/db/jitd.db" "SELECT g.state || ' ' || g.end_reason FROM grants g JOIN fleet_grants f ON f.grant_id = g.id WHERE f.fleet_id = $G")
grep -q '^revoked fleet: revoked by root on db-01: laptop stolen$' <<<"$state" &&
        ok "web-02 recorded the end through its ending path: $state" || not_ok "web-02's record" "$state"

# ---- revocation without a notification: catch-up alone -------------------------------

G2=$(request 'web-*' 3600)
approve "$G2" 'web-*' 3600
wait_for 5 has_dropin web-01 && wait_for 5 has_dropin web-02 && ok "fleet grant $G2 active on both web hosts" ||
        not_ok "grant $G2 active"
# The owner ends it by hand, without pg_notify: as a change read from a
# replica or through a pooler that drops notifications would be.
t0=$(now_ms)
owner_sql "BEGIN;
           SELECT pg_advisory_xact_lock(7667787793613483623);
           INSERT INTO jit.revocations (grant_id, kind, by_user, reason, host) VALUES ($G2, 'revoked', 'root', 'quiet', 'db-01');
           UPDATE jit.grants SET state = 'revoked', ended_at = now() WHERE id = $G2;
           INSERT INTO jit.changes (kind, host, grant_id) VALUES ('ended', 'db-01', $G2);
           COMMIT;" >/dev/null
if wait_for 4 no_dropin web-01 && wait_for 4 no_dropin web-02; then
        POLL_MS=$(( $(now_ms) - t0 ))
        [ "$POLL_MS" -le 2100 ] && ok "no notification: gone on both web hosts in $POLL_MS ms by catch-up (sync 1 s +-10%, + 1 s)" ||
                not_ok "catch-up took $POLL_MS ms"
else
        not_ok "catch-up ends the grant without a notification"
fi

# ---- an approval whose signature does not verify ------------------------------------

G3=$(request 'web-*' 3600)
approve "$G3" 'web-*' 3600 corrupt
wait_for 5 refused_is web-01 "$G3" 1
r1=$(refused web-01 "$G3") r2=$(refused web-02 "$G3") r3=$(refused db-01 "$G3")
sleep 1.2
if [ "$r1" = 1 ] && [ "$(refused web-02 "$G3")" = 1 ] && [ "$r3" = 0 ]; then
        ok "one byte changed in bob's signature: fleet-refused once on web-01 and web-02 (db-01: out of scope)"
else
        not_ok "fleet-refused events" "web-01 $r1, web-02 $r2, db-01 $r3"
fi
why=$(sqlite3 "$T/h/web-01/db/jitd.db" "SELECT details FROM audit WHERE event = 'fleet-refused' ORDER BY seq DESC LIMIT 1")
grep -q 'the signature of jt_bob does not verify' <<<"$why" && ok "... saying why: $why" || not_ok "the reason" "$why"
no_dropin web-01 && no_dropin web-02 && no_dropin db-01 && ok "... and it is enforced nowhere" || not_ok "a forged approval was enforced"
expect 1 "PAM denies jt_alice on web-01" "PAM_PERM_DENIED" -- pam web-01

# ---- a duration over one host's own maximum ----------------------------------------------

G4=$(request 'web-*' 10800)
approve "$G4" 'web-*' 10800
wait_for 5 has_dropin web-01 && ok "3 h (web-01 allows 4 h): enforced on web-01" || not_ok "3 h on web-01"
wait_for 5 refused_is web-02 "$G4" 1 &&
        no_dropin web-02 && ok "... and refused on web-02, whose role allows 2 h (fleet-refused)" ||
        not_ok "web-02 refuses 3 h" "$(sqlite3 "$T/h/web-02/db/jitd.db" "SELECT details FROM audit WHERE event = 'fleet-refused'")"
expect 0 "PAM: web-01 allows, by its own policy" "PAM_SUCCESS" -- pam web-01
expect 1 "PAM: web-02 denies, by its own policy" "PAM_PERM_DENIED" -- pam web-02
as_host web-01 "SELECT jit.end_grant('web-01', $G4, 'revoked', 'root', 'next case')" >/dev/null
wait_for 3 no_dropin web-01 || not_ok "grant $G4 ends"

# ---- the database goes away ----------------------------------------------------------------

G5=$(request 'web-*' 8)           # runs to its end while the database is down
approve "$G5" 'web-*' 8
G6=$(request 'web-*' 3600)        # revoked while web-02 is away
approve "$G6" 'web-*' 3600
wait_for 5 dropins_are web-02 2 &&
        ok "two more fleet grants active on web-02" || not_ok "grants $G5 and $G6 on web-02"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 9>&-
ok "PostgreSQL stopped (-m immediate)"
expect 0 "PAM still answers on web-01: allowed by the grants it holds" "PAM_SUCCESS" -- pam web-01
expect 1 "PAM still answers on db-01: denied" "PAM_PERM_DENIED" -- pam db-01
wait_for 5 status_has web-01 '^fleet: unreachable for' &&
        ok "jitctl status shows the outage: $(st web-01 | grep '^fleet:')" || not_ok "status in the outage" "$(st web-01)"
# G5's end: 8 s from its approval, on each host's clock.
wait_for 12 dropins_are web-01 1 &&
        ok "fleet grant $G5 expired on time on web-01 with the database down" || not_ok "grant $G5 expiry"
lines=$(grep -c 'the database is unreachable' "$T/h/web-01/jitd.log")
[ "$lines" = 1 ] && ok "web-01 said the outage once in its log (retries are silent)" ||
        not_ok "outage lines: $lines" "$(grep fleet "$T/h/web-01/jitd.log")"

# web-02 is away (stopped) while the database comes back and G6 is revoked.
kill -STOP "${PID[web-02]}"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 \
        -o "$PG_OPTS" start >/dev/null 2>&1 9>&-
ok "PostgreSQL restarted"
wait_for 40 status_has web-01 '^fleet: connected' &&
        ok "web-01 reconnected by itself" || not_ok "web-01 reconnects"
grep -q 'the database is reachable again' "$T/h/web-01/jitd.log" && ok "... and said so once" || not_ok "reconnect line"
as_host db-01 "SELECT jit.end_grant('db-01', $G6, 'revoked', 'root', 'while web-02 was away')" >/dev/null
wait_for 3 no_dropin web-01 && ok "grant $G6 revoked: gone on web-01" || not_ok "grant $G6 on web-01"
has_dropin web-02 && ok "... web-02, away, still has it" || not_ok "web-02 lost it while stopped"
t0=$(now_ms)
kill -CONT "${PID[web-02]}"
if wait_for 40 no_dropin web-02; then
        ok "web-02 back: the revocation it missed is applied at once ($(( $(now_ms) - t0 )) ms after it resumed, reconnect included)"
else
        not_ok "web-02 catches up" "$(tail -5 "$T/h/web-02/jitd.log")"
fi
expect 1 "PAM denies jt_alice on web-02" "PAM_PERM_DENIED" -- pam web-02
grep -E 'password|PGPASSWORD' "$T"/h/*/jitd.log | grep -qF "${PW[web-01]}" &&
        not_ok "a password in a log" || ok "no host logged its password"

echo "# revocation propagation: push ${PUSH_MS:-?} ms, catch-up only ${POLL_MS:-?} ms"
finish
