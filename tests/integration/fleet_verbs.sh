#!/usr/bin/env bash
# Story: the jitctl verbs that write to the fleet, through each host's jitd
# (users never reach PostgreSQL). Three hosts (web-01, web-02, db-01) share
# one PostgreSQL 15 database. jt_alice asks on web-01 with jitctl request -r
# web-admin -H 'web-*'; jt_bob approves on web-02 with jitctl approve ID --key
# K (jitctl signs the canonical text, web-02's jitd verifies the signature
# against its allowed_signers before the database sees it): both web hosts
# enforce it, db-01 does not. Refused: alice approving her own request (her
# key is listed too), carol (not an approver), a bad signature (never reaches
# the database), a scope wider than the role's hosts, a role approved by
# ticket and peer together without a ticket (ticket-, ticket-and-peer- and
# auto-approved fleet grants are fleet_ticket.sh's story). PostgreSQL stopped: a request fails with
# the clear line and nothing is created locally. An admin's revoke on db-01
# (where the grant is not enforced) ends it on both web hosts; with the
# database down, a revoke on web-01 ends it there at once, the fleet's end is
# queued in web-01's store and sent on reconnect, and web-02 drops it then.
# revoke --user jt_alice --all on web-02 ends her grants there at once and
# every open fleet grant of hers in one statement; web-01 drops its copies.
# jitctl release ID by jt_alice on web-01 ends her fleet grant there, then in
# the fleet: web-02 drops it; jt_bob cannot release it (on web-01 by its
# local copy, on db-01 by the database's row); with the database down her
# release on web-01 ends it there at once and is queued, db-01 refuses (it
# cannot tell whose the grant is), and web-02 drops it after the restart.
# jitctl list shows the fleet's open grants after the local ones (not
# enforced on db-01, enforced on web-01 as its local grant; jt_carol sees none
# of jt_alice's), and with the database down the local list and one line
# saying the fleet part is unavailable. Fleet grants are named F12 (jitctl request prints that
# form; a plain number is always a grant of the host asked).
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
group_add jt_admins
user_add jt_alice jt_webops
user_add jt_bob
user_add jt_carol jt_webops
user_add jt_dave jt_admins

# bob's key, listed for approvals in an allowed_signers file root keeps.
mkdir -m 0700 "$T/bobkeys" "$T/alicekeys"
ssh-keygen -q -t ed25519 -N '' -C bob -f "$T/bobkeys/key" || exit 1
ssh-keygen -q -t ed25519 -N '' -C alice -f "$T/alicekeys/key" || exit 1
chown -R jt_bob "$T/bobkeys"; chown -R jt_alice "$T/alicekeys"
mkdir -m 0755 "$T/signers"
{ echo "jt_bob namespaces=\"pam-jit-approval\" $(cat "$T/bobkeys/key.pub")"
  echo "jt_alice namespaces=\"pam-jit-approval\" $(cat "$T/alicekeys/key.pub")"; } >"$T/signers/allowed_signers"
chmod 0644 "$T/signers/allowed_signers"

# shellcheck disable=SC2034 # PW is used by tests/fleet_lib.sh (as_host)
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
        # shellcheck disable=SC2034 # read by as_host (tests/fleet_lib.sh)
        PW[$h]=$(cat "$d/password")
        cat >"$d/jitd.conf" <<EOF2
[jitd]
socket = $d/jitd.sock
database = $d/db/jitd.db
sudoers_dir = $d/sudoers.d
host = $h
teardown = ${JIT_FLEET_TEARDOWN:-pidfd}
admin_group = jt_admins

[role:web-admin]
members = %jt_webops
hosts = web-*
approval = peer
approvers = jt_bob, jt_alice
ticket = optional
max_duration = 4h

[role:db-admin]
members = %jt_webops
hosts = db-*
approval = ticket, peer
approvers = jt_bob

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


jc_on() {  # jc_on HOST USER ARGS...: jitctl as USER against HOST's jitd
        local h=$1 u=$2; shift 2
        runuser -u "$u" -- "$T/bin/jitctl" -s "$T/h/$h/jitd.sock" "$@"
}
local_grants() { sqlite3 "$T/h/$1/db/jitd.db" "SELECT count(*) FROM grants"; }
fleet_grants() { owner_sql "SELECT count(*) FROM jit.grants"; }
fleet_approvals() { owner_sql "SELECT count(*) FROM jit.approvals"; }

# ---- request -------------------------------------------------------------------------------

expect 1 "a scope wider than the role's hosts is refused" "wider than role 'web-admin' allows; nothing was requested" -- \
        jc_on web-01 jt_alice request -r web-admin -H '*' -d 1h -m 'too wide'
expect 1 "a scope naming a host outside the role is refused" "wider than role" -- \
        jc_on web-01 jt_alice request -r web-admin -H 'web-01,db-01' -d 1h -m 'too wide'
expect 1 "a role approved by ticket and peer together is refused without a ticket, saying why" \
        "role db-admin is approved through its ticket: give one with -t TICKET" -- \
        jc_on web-01 jt_alice request -r db-admin -m 'both'
expect 1 "a duration over the role's maximum is refused" "" -- \
        jc_on web-01 jt_alice request -r web-admin -H 'web-*' -d 5h -m 'too long'
[ "$(fleet_grants)" = 0 ] && ok "... none of them reached the database" || not_ok "grants in the database: $(fleet_grants)"

expect 0 "jt_alice requests web-admin on web-* from web-01" "fleet grant F[0-9]+ for web-admin on hosts web-\\* for 1h is pending" -- \
        jc_on web-01 jt_alice request -r web-admin -H 'web-*' -d 1h -m 'deploy'
G1=$(grep -oE 'fleet grant F[0-9]+' <<<"$LAST_OUT" | head -1 | grep -oE 'F[0-9]+')
row=$(owner_sql "SELECT origin_host || ' ' || user_name || ' ' || role || ' ' || array_to_string(host_scope, ',') || ' ' || duration FROM jit.grants WHERE id = ${G1#F}")
[ "$row" = "web-01 jt_alice web-admin web-* 3600" ] && ok "the grant is in the database as asked: $row" ||
        not_ok "the grant row" "$row"
[ "$(local_grants web-01)" = 0 ] && ok "... and no local grant on web-01 (the mirror enforces it once approved)" ||
        not_ok "a local grant on web-01 before any approval"
no_dropin web-01 && no_dropin web-02 && ok "no drop-in anywhere before the approval" || not_ok "drop-in before approval"

# ---- approve -------------------------------------------------------------------------------

expect 1 "jt_alice cannot approve her own request (her key is listed too)" "your own request" -- \
        jc_on web-02 jt_alice approve "$G1" --key "$T/alicekeys/key"
expect 1 "jt_carol, not an approver, cannot approve" "jt_carol is not an approver of role web-admin" -- \
        jc_on web-02 jt_carol approve "$G1" --key "$T/bobkeys/key.pub"
# bob signing with alice's key: the signature is not his.
cp "$T/alicekeys/key" "$T/bobkeys/other" && chown jt_bob "$T/bobkeys/other"
expect 1 "a signature by another key than bob's listed one is refused by jitd" "does not verify.*nothing was approved" -- \
        jc_on web-02 jt_bob approve "$G1" --key "$T/bobkeys/other"
[ "$(fleet_approvals)" = 0 ] && ok "... and never reached the database" || not_ok "approvals: $(fleet_approvals)"
expect 0 "jt_bob approves on web-02 with --key" "fleet grant $G1 approved by jt_bob" -- \
        jc_on web-02 jt_bob approve "$G1" --key "$T/bobkeys/key" -m 'go'
[ "$(fleet_approvals)" = 1 ] && ok "one approval in the database" || not_ok "approvals: $(fleet_approvals)"
wait_for 5 has_dropin web-01 && wait_for 5 has_dropin web-02 &&
        ok "the grant is enforced on web-01 and web-02 (drop-ins)" || not_ok "drop-ins on the web hosts"
expect 0 "PAM allows jt_alice on web-01" "PAM_SUCCESS" -- pam web-01
expect 0 "PAM allows jt_alice on web-02" "PAM_SUCCESS" -- pam web-02
sleep 1.5
no_dropin db-01 && ok "db-01 (outside the scope) has no drop-in" || not_ok "db-01 has a drop-in"
expect 1 "PAM denies jt_alice on db-01" "PAM_PERM_DENIED" -- pam db-01
expect 1 "approving it again once more is refused by the database (one approval per approver)" "" -- \
        jc_on web-02 jt_bob approve "$G1" --key "$T/bobkeys/key"

# ---- revoke ----------------------------------------------------------------------------------

expect 1 "jt_carol (not an admin) cannot revoke" "is for admins" -- \
        jc_on db-01 jt_carol revoke "$G1" -m 'no'
expect 0 "jt_dave (admin) revokes it on db-01, where it is not enforced" "fleet grant $G1 revoked in the fleet.*not enforced on host db-01" -- \
        jc_on db-01 jt_dave revoke "$G1" -m 'change done'
wait_for 5 no_dropin web-01 && wait_for 5 no_dropin web-02 &&
        ok "gone on web-01 and web-02" || not_ok "the revocation reaches the web hosts"
expect 1 "PAM denies jt_alice on web-02 after the revocation" "PAM_PERM_DENIED" -- pam web-02
expect 0 "revoking it again says it had already ended" "had already ended" -- \
        jc_on db-01 jt_dave revoke "$G1" -m 'again'

# A second grant, revoked while the database is down.
expect 0 "jt_alice asks again (default scope: the role's hosts)" "fleet grant F[0-9]+ for web-admin on hosts web-\\* for 1h" -- \
        jc_on web-01 jt_alice request -r web-admin -d 1h -m 'second'
G2=$(grep -oE 'fleet grant F[0-9]+' <<<"$LAST_OUT" | head -1 | grep -oE 'F[0-9]+')
expect 0 "jt_bob approves it on web-01" "approved by jt_bob" -- jc_on web-01 jt_bob approve "$G2" --key "$T/bobkeys/key"
wait_for 5 has_dropin web-01 && wait_for 5 has_dropin web-02 &&
        ok "grant $G2 enforced on both web hosts" || not_ok "grant $G2 on the web hosts"

# ---- the database goes away ----------------------------------------------------------------

runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 9>&-
ok "PostgreSQL stopped"
wait_for 5 status_has web-01 '^fleet: unreachable for' || not_ok "web-01 sees the outage"
before=$(local_grants web-01)
expect 1 "a request with the database down fails with the clear line" "the fleet database is unreachable; nothing was requested" -- \
        jc_on web-01 jt_carol request -r web-admin -d 1h -m 'outage'
[ "$(local_grants web-01)" = "$before" ] && ok "... and nothing local was created" || not_ok "a local grant appeared"
expect 1 "an approval with the database down fails with the clear line" "the fleet database is unreachable; nothing was approved" -- \
        jc_on web-02 jt_bob approve "$G1" --key "$T/bobkeys/key"
expect 0 "PAM still allows jt_alice on web-01" "PAM_SUCCESS" -- pam web-01
expect 0 "an admin's revoke on web-01 with the database down ends it here at once, and says the fleet end is queued" \
        "ended on host web-01.*unreachable: the fleet end is queued" -- jc_on web-01 jt_dave revoke "$G2" -m 'offboarding'
no_dropin web-01 && ok "... web-01's drop-in is gone at once" || not_ok "web-01 still has a drop-in"
[ "$(sqlite3 "$T/h/web-01/db/jitd.db" "SELECT count(*) FROM fleet_ends WHERE fleet_id = ${G2#F}")" = 1 ] &&
        ok "... the fleet end is kept in web-01's store" || not_ok "no queued fleet end"
sleep 1.5
has_dropin web-02 && ok "web-02 still enforces it while the database is down" || not_ok "web-02 lost it"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 \
        -o "$PG_OPTS" start >/dev/null 2>&1 9>&-
ok "PostgreSQL restarted"
wait_for 40 status_has web-01 '^fleet: connected' && ok "web-01 reconnected" || not_ok "web-01 reconnects"
wait_for 10 no_dropin web-02 && ok "web-01 sent the queued end: web-02 drops grant $G2" || not_ok "web-02 keeps grant $G2"
[ "$(owner_sql "SELECT state || ' ' || (SELECT by_user || ' ' || host FROM jit.revocations WHERE grant_id = ${G2#F}) FROM jit.grants WHERE id = ${G2#F}")" = "revoked jt_dave web-01" ] &&
        ok "the fleet records the revocation by jt_dave on web-01" || not_ok "the fleet's record of $G2"
wait_for 5 sh -c "[ \"\$(sqlite3 '$T/h/web-01/db/jitd.db' 'SELECT count(*) FROM fleet_ends')\" = 0 ]" &&
        ok "web-01's queue is empty" || not_ok "web-01's queue keeps the end"
expect 1 "PAM denies jt_alice on web-02" "PAM_PERM_DENIED" -- pam web-02


# ---- revoke --user --all ---------------------------------------------------------------------

expect 0 "jt_alice asks again, web-01 only" "fleet grant F[0-9]+ for web-admin on hosts web-01 " -- \
        jc_on web-01 jt_alice request -r web-admin -H web-01 -d 1h -m 'third'
G3=$(grep -oE 'fleet grant F[0-9]+' <<<"$LAST_OUT" | head -1 | grep -oE 'F[0-9]+')
expect 0 "... and web-*" "fleet grant F[0-9]+ for web-admin on hosts web-\\*" -- \
        jc_on web-02 jt_alice request -r web-admin -d 1h -m 'fourth'
G4=$(grep -oE 'fleet grant F[0-9]+' <<<"$LAST_OUT" | head -1 | grep -oE 'F[0-9]+')
jc_on web-02 jt_bob approve "$G3" --key "$T/bobkeys/key" >/dev/null 2>&1 &&
        jc_on web-02 jt_bob approve "$G4" --key "$T/bobkeys/key" >/dev/null 2>&1 &&
        ok "jt_bob approves $G3 and $G4" || not_ok "approvals of $G3 and $G4"
wait_for 5 dropins_are web-01 2 && wait_for 5 dropins_are web-02 1 &&
        ok "web-01 enforces both, web-02 one" || not_ok "drop-ins: web-01 $(dropins web-01), web-02 $(dropins web-02)"
expect 2 "revoke --user needs --all (a usage error)" "takes an ID, or --user USER --all" -- jc_on db-01 jt_dave revoke --user jt_alice -m 'x'
expect 0 "jt_dave revokes every grant of jt_alice from web-02" \
        "1 open grant of jt_alice ended on host web-02; 2 fleet grants revoked in the fleet: $G3, $G4" -- \
        jc_on web-02 jt_dave revoke --user jt_alice --all -m 'offboarding'
no_dropin web-02 && ok "gone on web-02 at once" || not_ok "web-02 keeps a drop-in"
wait_for 5 no_dropin web-01 && ok "gone on web-01" || not_ok "web-01 keeps a drop-in"
[ "$(owner_sql "SELECT count(*) FROM jit.grants WHERE state = 'open'")" = 0 ] &&
        ok "no open grant left in the fleet" || not_ok "open grants remain"

# ---- release -----------------------------------------------------------------------------------

fleet_id() { grep -oE 'fleet grant F[0-9]+' <<<"$LAST_OUT" | head -1 | grep -oE 'F[0-9]+'; }
expect 0 "jt_alice asks for web-* to release it herself" "fleet grant F[0-9]+ for web-admin on hosts web-\\*" -- \
        jc_on web-01 jt_alice request -r web-admin -d 1h -m 'fifth'
R1=$(fleet_id)
expect 0 "jt_bob approves $R1" "approved by jt_bob" -- jc_on web-02 jt_bob approve "$R1" --key "$T/bobkeys/key"
wait_for 5 has_dropin web-01 && wait_for 5 has_dropin web-02 &&
        ok "grant $R1 enforced on both web hosts" || not_ok "grant $R1 on the web hosts"
expect 1 "jt_bob cannot release jt_alice's fleet grant where it is enforced" "fleet grant $R1 is not yours to release" -- \
        jc_on web-01 jt_bob release "$R1"
expect 1 "... nor on db-01, where only the database knows whose it is" "fleet grant $R1 is not yours to release" -- \
        jc_on db-01 jt_bob release "$R1"
has_dropin web-01 && has_dropin web-02 &&
        [ "$(owner_sql "SELECT state FROM jit.grants WHERE id = ${R1#F}")" = open ] &&
        ok "... it stays enforced and open" || not_ok "bob's release changed something"
expect 0 "jt_alice releases it on web-01: ended here, then in the fleet" \
        "fleet grant $R1 released in the fleet: every host in its scope ends it: ended on host web-01" -- \
        jc_on web-01 jt_alice release "$R1"
no_dropin web-01 && ok "gone on web-01 at once" || not_ok "web-01 keeps a drop-in"
wait_for 5 no_dropin web-02 && ok "gone on web-02 too" || not_ok "web-02 keeps grant $R1"
[ "$(owner_sql "SELECT state || ' ' || (SELECT kind || ' ' || by_user || ' ' || host FROM jit.revocations WHERE grant_id = ${R1#F}) FROM jit.grants WHERE id = ${R1#F}")" = "released released jt_alice web-01" ] &&
        ok "the fleet records the release by jt_alice on web-01" || not_ok "the fleet's record of $R1"
expect 1 "releasing it again on db-01 says it has ended" "fleet grant $R1 has ended \\(released\\)" -- \
        jc_on db-01 jt_alice release "$R1"

expect 0 "jt_alice asks again" "fleet grant F[0-9]+ for web-admin on hosts web-\\*" -- \
        jc_on web-01 jt_alice request -r web-admin -d 1h -m 'sixth'
R2=$(fleet_id)
expect 0 "jt_bob approves $R2" "approved by jt_bob" -- jc_on web-02 jt_bob approve "$R2" --key "$T/bobkeys/key"
wait_for 5 has_dropin web-01 && wait_for 5 has_dropin web-02 &&
        ok "grant $R2 enforced on both web hosts" || not_ok "grant $R2 on the web hosts"
expect 0 "jitctl list on db-01 shows jt_alice's open fleet grant, not enforced there" \
        "fleet grant $R2 of jt_alice for web-admin on hosts web-\\*: open, 1 approval; not enforced here" -- \
        jc_on db-01 jt_alice list
expect 0 "... and on web-01 as enforced there" "fleet grant $R2 of jt_alice .*; enforced here as grant [0-9]+ \\(active\\)" -- \
        jc_on web-01 jt_alice list
expect 0 "jt_carol's list shows none of jt_alice's fleet grants" "no open fleet grant" -- jc_on web-01 jt_carol list
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 9>&-
ok "PostgreSQL stopped"
wait_for 5 status_has web-01 '^fleet: unreachable for' || not_ok "web-01 sees the outage"
expect 0 "jitctl list with the database down: the local list, and one line saying the fleet part is unavailable" \
        "the fleet part is unavailable: the fleet database is unreachable" -- jc_on web-01 jt_alice list
grep -q "active" <<<"$LAST_OUT" && ok "... the local grant is listed" || not_ok "the local list" "$LAST_OUT"
expect 1 "a release on db-01 (not enforced there) with the database down is refused: whose it is is unknown" \
        "not enforced on host db-01 and the fleet database is unreachable; nothing was released" -- \
        jc_on db-01 jt_alice release "$R2"
expect 0 "jt_alice's release on web-01 (no ID: her one active grant) ends it there at once, the fleet end queued" \
        "fleet grant $R2: ended on host web-01.*unreachable: the fleet end is queued" -- jc_on web-01 jt_alice release
no_dropin web-01 && ok "... web-01's drop-in is gone at once" || not_ok "web-01 still has a drop-in"
[ "$(sqlite3 "$T/h/web-01/db/jitd.db" "SELECT kind || ' ' || by_user FROM fleet_ends WHERE fleet_id = ${R2#F}")" = "released jt_alice" ] &&
        ok "... the release is kept in web-01's store" || not_ok "no queued fleet end"
sleep 1.5
has_dropin web-02 && ok "web-02 still enforces it while the database is down" || not_ok "web-02 lost it"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 \
        -o "$PG_OPTS" start >/dev/null 2>&1 9>&-
ok "PostgreSQL restarted"
wait_for 40 status_has web-01 '^fleet: connected' && ok "web-01 reconnected" || not_ok "web-01 reconnects"
wait_for 10 no_dropin web-02 && ok "web-01 sent the queued release: web-02 drops grant $R2" || not_ok "web-02 keeps grant $R2"
[ "$(owner_sql "SELECT state FROM jit.grants WHERE id = ${R2#F}")" = released ] &&
        ok "the fleet records it as released" || not_ok "the fleet's record of $R2"

# A member cannot fill the fleet database: 8 requests in 10 minutes, then refused.
n=0
for i in 1 2 3 4 5 6 7 8; do
        jc_on web-01 jt_carol request -r web-admin -H web-01 -d 10m -m "churn $i" >/dev/null 2>&1 && n=$((n + 1))
done
[ "$n" = 8 ] && ok "jt_carol's 8 requests are recorded" || not_ok "only $n of 8 requests recorded"
expect 1 "the 9th within 10 minutes is refused" "asked for 8 fleet grants in the last 10 minutes already; nothing was requested" -- \
        jc_on web-01 jt_carol request -r web-admin -H web-01 -d 10m -m 'churn 9'
[ "$(owner_sql "SELECT count(*) FROM jit.grants WHERE user_name = 'jt_carol'")" = 8 ] &&
        ok "... and not recorded" || not_ok "carol's grants in the fleet"

finish
