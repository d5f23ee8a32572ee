#!/usr/bin/env bash
# Story: extensions of fleet grants (issue 14: "requests, approvals, denials,
# extensions ... in PostgreSQL"). Three hosts share one PostgreSQL 15 database;
# web-admin is peer-approved by jt_bob, with max_extensions = 3 on web-01 and
# 1 on web-02 (each host applies its own jitd.conf). jt_alice asks for F1 on
# web-*, jt_bob approves: both web hosts enforce it. Her `jitctl extend F1`
# is recorded once for the scope and adds nothing until approved; an approval
# row the database's owner forges (no valid signature) adds nothing anywhere;
# jt_bob's signed approval of the next extension (its own text, "pam_jit
# extension v1") adds its time on both hosts, the same end on both, the
# drop-in's NOTAFTER moved. A third extension goes past web-02's
# max_extensions: web-01 applies it, web-02 refuses it (audited once). Not
# hers, ended, break-glass, the database down: refused with a clear line. An
# auto-approved role's extension is added at once on every host, also when
# asked through the local id of the copy. An admin's revoke still ends it
# everywhere.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fleet_lib.sh"
. "$(dirname "$0")/../pg_lib.sh"
pg_require
command -v ssh-keygen >/dev/null || { echo "# SKIP ssh-keygen is missing"; exit 0; }
jt_setup

HOSTS="web-01 web-02 db-01"
# shellcheck disable=SC2034 # used by tests/fleet_lib.sh
declare -A PID

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

mkdir -m 0700 "$T/bobkeys"
ssh-keygen -q -t ed25519 -N '' -C bob -f "$T/bobkeys/key" || exit 1
chown -R jt_bob "$T/bobkeys"
mkdir -m 0755 "$T/signers"
echo "jt_bob namespaces=\"pam-jit-approval\" $(cat "$T/bobkeys/key.pub")" >"$T/signers/allowed_signers"
chmod 0644 "$T/signers/allowed_signers"
# web-02 reads its own copy: the story makes it unsafe for a while.
mkdir -m 0755 "$T/signers2"
cp "$T/signers/allowed_signers" "$T/signers2/allowed_signers"
chmod 0644 "$T/signers2/allowed_signers"
declare -A SIGNERS=([web-01]=$T/signers [web-02]=$T/signers2 [db-01]=$T/signers)

# shellcheck disable=SC2034 # PW is used by tests/fleet_lib.sh (as_host)
declare -A CONNINFO PW MAXEXT=([web-01]=3 [web-02]=1 [db-01]=3)
for h in $HOSTS; do
        d=$T/h/$h
        mkdir -p "$d/db" "$d/pam" "$d/sudoers.d"
        chmod 0755 "$T/h" "$d"
        chmod 0750 "$d/sudoers.d"
        out=$(admin fleet add-host "$h" -D "$ADMIN" --password-file "$d/password") ||
                { not_ok "fleet add-host $h" "$out"; finish; exit; }
        CONNINFO[$h]=$(sed -n 's/^database = //p' <<<"$out")
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
approvers = jt_bob
max_duration = 4h
max_extensions = ${MAXEXT[$h]}

[role:web-auto]
members = %jt_webops
hosts = web-*
approval = auto
max_duration = 1h

[fleet]
database = ${CONNINFO[$h]}
password_file = $d/password
sync = 1s
allowed_signers = ${SIGNERS[$h]}/allowed_signers
EOF2
        chmod 0644 "$d/jitd.conf"
        cat >"$d/pam/sudo" <<EOF2
account  required $T/bin/pam_jit.so socket=$d/jitd.sock
account  required pam_permit.so
EOF2
done
ok "three hosts, web-admin allowing 3 extensions on web-01 and 1 on web-02"

CLEANUP_HOOKS=(hosts_stop "${CLEANUP_HOOKS[@]}")
st() { "$T/bin/jitctl" -s "$T/h/$1/jitd.sock" status; }
status_has() { local out; out=$(st "$1" 2>&1); grep -q "$2" <<<"$out"; }

# A schema older than this jitd reads (an upgrade done in the wrong order):
# said once, nothing read; the host keeps running.
owner_sql "UPDATE jit.schema_version SET version = 2" >/dev/null
host_start web-01 || { not_ok "jitd starts on web-01"; finish; exit; }
wait_for 10 status_has web-01 'but the fleet schema is at version 2, this jitd needs 3: run jitctl fleet init' &&
        ok "on a version-2 schema jitctl status says the schema must be migrated first" ||
        not_ok "status on an old schema" "$(st web-01 2>&1)"
sleep 2.5
[ "$(grep -c 'fleet schema is at version 2' "$T/h/web-01/jitd.log")" = 1 ] &&
        ! grep -q 'catch-up query refused' "$T/h/web-01/jitd.log" &&
        ok "... logged once, and no catch-up is sent to it" || not_ok "the log" "$(tail -5 "$T/h/web-01/jitd.log")"
owner_sql "UPDATE jit.schema_version SET version = 3" >/dev/null
wait_for 5 status_has web-01 '^fleet: connected for [0-9]* s, changes applied' &&
        grep -q 'the fleet schema is at version 3 now: catching up' "$T/h/web-01/jitd.log" &&
        ok "once migrated, web-01 sees it at its next sync and catches up" || not_ok "after the migration" "$(st web-01 2>&1)"
hosts_stop

for h in $HOSTS; do
        host_start "$h" || { not_ok "jitd starts on $h with [fleet]"; finish; exit; }
done
wait_for 10 status_has web-01 '^fleet: connected' && wait_for 10 status_has web-02 '^fleet: connected' &&
        ok "the hosts are connected" || not_ok "connected" "$(st web-01 2>&1)"

jc_on() {  # jc_on HOST USER ARGS...
        local h=$1 u=$2; shift 2
        runuser -u "$u" -- "$T/bin/jitctl" -s "$T/h/$h/jitd.sock" "$@"
}
# The end of fleet grant $2's copy on host $1 (empty: no copy).
ends() {
        sqlite3 "$T/h/$1/db/jitd.db" "SELECT g.expires_at FROM grants g JOIN fleet_grants f ON f.grant_id = g.id
                                      WHERE f.fleet_id = ${2#F} AND g.state = 'active'"
}
ends_is() { [ "$(ends "$1" "$2")" = "$3" ]; }
notafter() { grep -ho 'NOTAFTER=[0-9Z]*' "$T/h/$1"/sudoers.d/jit-* 2>/dev/null | sort -u | tr '\n' ' '; }

# ---- a peer-approved grant ---------------------------------------------------------------

expect 0 "jt_alice requests web-admin on web-* for 1h" "fleet grant F[0-9]+ for web-admin" -- \
        jc_on web-01 jt_alice request -r web-admin -H 'web-*' -d 1h -m 'deploy'
G=$(grep -oE 'F[0-9]+' <<<"$LAST_OUT" | head -1)
# web-02's allowed_signers writable by anyone: it cannot verify anything
# (jitd refuses an unsafe file), which is no verdict on the signature.
chmod 0666 "$T/signers2/allowed_signers"
expect 0 "jt_bob approves it on web-01" "approved by jt_bob" -- jc_on web-01 jt_bob approve "$G" --key "$T/bobkeys/key"
wait_for 5 has_dropin web-01 && ok "enforced on web-01" || not_ok "enforced on web-01"
sleep 2.5
no_dropin web-02 && refused_is web-02 "${G#F}" 0 &&
        ok "web-02, whose allowed_signers is unsafe, does not enforce it, and does not record a refusal" ||
        not_ok "web-02 with an unsafe allowed_signers" "$(dropins web-02) drop-ins, $(refused web-02 "${G#F}") refusals"
chmod 0644 "$T/signers2/allowed_signers"
wait_for 5 has_dropin web-02 && ok "the file made safe, web-02 reads the grant again at its next sync and enforces it" ||
        not_ok "web-02 after the file is fixed"
wait_for 5 eval '[ -n "$(ends web-01 "$G")" ] && [ -n "$(ends web-02 "$G")" ]'
E0=$(ends web-01 "$G")
[ -n "$E0" ] && [ "$E0" = "$(ends web-02 "$G")" ] && ok "both copies end at the same time ($E0)" ||
        not_ok "the copies' ends" "$E0 / $(ends web-02 "$G")"
NA0=$(notafter web-01)

# ---- refused before anything is recorded -----------------------------------------------------

expect 1 "jt_carol cannot extend jt_alice's grant" "is not yours to extend" -- \
        jc_on web-01 jt_carol extend "$G" -d 30m -m 'mine now'
expect 2 "an extension needs a reason" "extend needs -m REASON" -- jc_on web-01 jt_alice extend "$G" -d 30m
expect 1 "an extension beyond the role's max_duration is refused" "adds at most 4h" -- \
        jc_on web-01 jt_alice extend "$G" -d 5h -m 'too long'
[ "$(owner_sql "SELECT count(*) FROM jit.extensions")" = 0 ] && ok "... none reached the database" ||
        not_ok "extensions in the database"

# ---- extension 1: asked, not approved; a forged approval adds nothing --------------------------

expect 0 "jt_alice asks for 30m more on web-01" "extension 1 of fleet grant $G \\(30m more\\) waits for 1 approval" -- \
        jc_on web-01 jt_alice extend "$G" -d 30m -m 'migration slow'
[ "$(owner_sql "SELECT n || ' ' || duration || ' ' || host FROM jit.extensions")" = "1 1800 web-01" ] &&
        ok "recorded once for the whole scope: extension 1, 1800 s, asked on web-01" ||
        not_ok "the extension row" "$(owner_sql "TABLE jit.extensions")"
sleep 2.5
ends_is web-01 "$G" "$E0" && ends_is web-02 "$G" "$E0" && ok "nothing is added before it is approved" ||
        not_ok "added without approval" "$(ends web-01 "$G") $(ends web-02 "$G")"
expect 1 "jt_alice cannot approve her own extension" "your own request" -- \
        jc_on web-02 jt_alice approve "$G" --key "$T/bobkeys/key.pub"
# The database's owner forges jt_bob's approval of extension 1.
owner_sql "INSERT INTO jit.extension_approvals (grant_id, n, approver, signature, host)
           VALUES (${G#F}, 1, 'jt_bob', E'-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----\n', 'web-01');
           SELECT jit.record_change('extension-approved', 'web-01', ${G#F});" >/dev/null &&
        ok "the database's owner inserts an approval of extension 1 by jt_bob without his signature" ||
        not_ok "the forged row"
sleep 2.5
ends_is web-01 "$G" "$E0" && ends_is web-02 "$G" "$E0" && ok "... and no host adds it" ||
        not_ok "a forged approval extended it" "$(ends web-01 "$G") $(ends web-02 "$G")"
grep -q "extension 1.*does not verify\|approval of jt_bob does not verify" "$T/h/web-01/jitd.log" &&
        ok "... web-01 says the signature does not verify" || not_ok "no word of the bad signature" \
        "$(grep -i 'extension\|verify' "$T/h/web-01/jitd.log" | tail -5)"

# ---- extension 2: signed by jt_bob ----------------------------------------------------------

expect 0 "jt_alice asks for 30m more again" "extension 2 of fleet grant $G" -- \
        jc_on web-01 jt_alice extend "$G" -d 30m -m 'still slow'
chmod 0666 "$T/signers2/allowed_signers"
expect 0 "jt_bob approves it on db-01 (where it is not enforced): his key signs extension 2's own text" \
        "extension 2 of fleet grant $G approved by jt_bob" -- jc_on db-01 jt_bob approve "$G" --key "$T/bobkeys/key"
grep -q "signing the approval of extension 2 (30m more) of fleet grant $G" <<<"$LAST_OUT" &&
        ok "... jitctl says what it signs" || not_ok "jitctl's line" "$LAST_OUT"
E2=$((E0 + 1800))
wait_for 5 ends_is web-01 "$G" "$E2" && ok "web-01 adds 30m" || not_ok "web-01's end" "$(ends web-01 "$G") want $E2"
sleep 2.5
ends_is web-02 "$G" "$E0" && ok "web-02 (allowed_signers unsafe again) adds nothing meanwhile" ||
        not_ok "web-02 extended without verifying" "$(ends web-02 "$G")"
chmod 0644 "$T/signers2/allowed_signers"
wait_for 5 ends_is web-01 "$G" "$E2" && wait_for 5 ends_is web-02 "$G" "$E2" &&
        ok "both web hosts add 30m: the same end on both ($E2)" ||
        not_ok "extension 2 applied" "$(ends web-01 "$G") $(ends web-02 "$G") want $E2"
[ "$(notafter web-01)" != "$NA0" ] && ok "web-01's drop-in carries the new NOTAFTER ($(notafter web-01))" ||
        not_ok "the drop-in's NOTAFTER" "$NA0 -> $(notafter web-01)"
n=$(sqlite3 "$T/h/web-02/db/jitd.db" "SELECT count(*) FROM audit WHERE event = 'extended' AND details LIKE '%fleet extension 2, approved by jt_bob%'")
[ "$n" = 1 ] && ok "web-02 audits it once: 'fleet extension 2, approved by jt_bob'" || not_ok "extended events on web-02: $n"
expect 1 "jt_bob approving extension 2 again is refused by the database" "" -- \
        jc_on db-01 jt_bob approve "$G" --key "$T/bobkeys/key"
expect 0 "PAM allows jt_alice on web-02" "PAM_SUCCESS" -- pam web-02
sleep 1.5
ends_is web-01 "$G" "$E2" && ends_is web-02 "$G" "$E2" && ok "extension 1 (forged) is still not added, and 2 only once" ||
        not_ok "ends moved again" "$(ends web-01 "$G") $(ends web-02 "$G")"

# ---- extension 3: within web-01's limit, past web-02's ---------------------------------------

expect 1 "through web-02 a third is refused where it is asked: web-02 allows 1 and counts 2 asked for" \
        "has 2 extensions already, role web-admin's maximum" -- jc_on web-02 jt_alice extend "$G" -d 10m -m 'last bit'
expect 0 "jt_alice asks for a third extension (10m) through web-01" "extension 3 of fleet grant $G" -- \
        jc_on web-01 jt_alice extend "$G" -d 10m -m 'last bit'
expect 0 "jt_bob approves it" "extension 3 of fleet grant $G approved" -- \
        jc_on web-01 jt_bob approve "$G" --key "$T/bobkeys/key"
E3=$((E2 + 600))
wait_for 5 ends_is web-01 "$G" "$E3" && ok "web-01 (max_extensions = 3) adds it" || not_ok "web-01's end" "$(ends web-01 "$G")"
ext3_refused() { [ "$(sqlite3 "$T/h/web-02/db/jitd.db" "SELECT count(*) FROM audit WHERE event = 'fleet-refused' AND details LIKE '%extension 3: %'")" = 1 ]; }
wait_for 5 ext3_refused && ends_is web-02 "$G" "$E2" &&
        ok "web-02 (max_extensions = 1) refuses it, audited once, and keeps its end" ||
        not_ok "web-02" "$(ends web-02 "$G") refused: $(sqlite3 "$T/h/web-02/db/jitd.db" "SELECT details FROM audit WHERE event = 'fleet-refused'")"
n=$(sqlite3 "$T/h/web-02/db/jitd.db" "SELECT details FROM audit WHERE event = 'fleet-refused'")
grep -q "extension 3: it was extended 1 time here already, role web-admin's maximum" <<<"$n" &&
        ok "... saying why" || not_ok "the refusal's words" "$n"
expect 0 "jitctl show $G on web-02 lists the extensions, and which web-02 added" \
        "3: 10m more, asked on web-01 at .*\\(approved by jt_bob; not added here\\)" -- jc_on web-02 jt_alice show "$G"
grep -q '2: 30m more, asked on web-01 at .*(approved by jt_bob; added here): "still slow"' <<<"$LAST_OUT" &&
        grep -q '1: 30m more, asked on web-01 at .*(approved by jt_bob; not added here)' <<<"$LAST_OUT" &&
        ok "... 2 added here; 1 (its approval forged) not" || not_ok "show's extensions" "$LAST_OUT"
expect 1 "a fourth is refused where it is asked: web-01 counts 3 extensions, its maximum" \
        "has 3 extensions already, role web-admin's maximum" -- jc_on web-01 jt_alice extend "$G" -d 1m -m 'more'

# ---- the database down ---------------------------------------------------------------------

runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 9>&-
wait_for 5 status_has web-01 '^fleet: unreachable for' && ok "PostgreSQL stopped" || not_ok "web-01 sees the outage"
expect 1 "an extension with the database down fails with the clear line" \
        "the fleet database is unreachable; nothing was requested" -- \
        jc_on web-01 jt_alice extend "$G" -d 1m -m 'outage'
ends_is web-01 "$G" "$E3" && ok "... and the copy's end is unchanged" || not_ok "web-01's end moved"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 \
        -o "$PG_OPTS" start >/dev/null 2>&1 9>&-
wait_for 40 status_has web-01 '^fleet: connected' && wait_for 40 status_has web-02 '^fleet: connected' &&
        wait_for 40 status_has db-01 '^fleet: connected' &&
        ok "PostgreSQL back, the hosts reconnected" || not_ok "reconnect"

# ---- an auto-approved role ---------------------------------------------------------------------

expect 0 "jt_alice requests web-auto for 10m" "fleet grant F[0-9]+ for web-auto" -- \
        jc_on web-01 jt_alice request -r web-auto -d 10m -m 'quick fix'
A=$(grep -oE 'F[0-9]+' <<<"$LAST_OUT" | head -1)
wait_for 5 eval '[ -n "$(ends web-01 "$A")" ] && [ -n "$(ends web-02 "$A")" ]' &&
        ok "enforced at once on both web hosts" || not_ok "auto grant enforced"
EA=$(ends web-01 "$A")
L=$(sqlite3 "$T/h/web-02/db/jitd.db" "SELECT grant_id FROM fleet_grants WHERE fleet_id = ${A#F}")
expect 0 "jt_alice extends it through its local id on web-02 ($L): the fleet grant is extended" \
        "extension 1 of fleet grant $A \\(5m more\\) is recorded" -- jc_on web-02 jt_alice extend "$L" -d 5m -m 'a bit more'
wait_for 5 ends_is web-01 "$A" $((EA + 300)) && wait_for 5 ends_is web-02 "$A" $((EA + 300)) &&
        ok "both hosts add 5m at once, no approval needed" ||
        not_ok "auto extension" "$(ends web-01 "$A") $(ends web-02 "$A") want $((EA + 300))"
expect 1 "past the role's max_duration from its activation (1h, no max_extensions): refused on the host asked" \
        "would last past role web-auto's maximum of 1h" -- jc_on web-01 jt_alice extend "$A" -d 50m -m 'long'

# ---- the end ----------------------------------------------------------------------------------

expect 0 "jt_dave (admin) revokes $G on db-01" "revoked in the fleet" -- jc_on db-01 jt_dave revoke "$G" -m 'done'
wait_for 5 eval '[ -z "$(ends web-01 "$G")" ] && [ -z "$(ends web-02 "$G")" ]' &&
        ok "the extended grant ends on both web hosts" || not_ok "revocation after extensions"
expect 1 "an ended grant is not extended" "has ended \\(revoked\\)" -- \
        jc_on db-01 jt_alice extend "$G" -d 1m -m 'too late'
[ "$(owner_sql "SELECT count(*) FROM jit.extensions WHERE grant_id = ${G#F}")" = 3 ] &&
        ok "the database holds the 3 extensions asked for, nothing more" || not_ok "extensions rows"
upd=$(as_host web-01 "DELETE FROM jit.extensions" 2>&1)
grep -q 'permission denied' <<<"$upd" && ok "a host's credentials cannot delete extensions" ||
        not_ok "a host deleted extensions" "$upd"
upd=$(as_host web-01 "SELECT jit.approve_extension('web-02', ${A#F}, 1, 'jt_bob', '-----BEGIN SSH SIGNATURE-----x', '')" 2>&1)
grep -q 'may write only as itself' <<<"$upd" && ok "... nor approve an extension as another host" ||
        not_ok "a host wrote as another" "$upd"

# ---- a copy whose activation failed is activated when the fault is gone ----------------------

chmod 0777 "$T/h/web-02/sudoers.d"
expect 0 "jt_alice requests web-admin on web-02 alone" "fleet grant F[0-9]+ for web-admin" -- \
        jc_on web-01 jt_alice request -r web-admin -H web-02 -d 30m -m 'retry'
R=$(grep -oE 'F[0-9]+' <<<"$LAST_OUT" | head -1)
expect 0 "jt_bob approves it" "approved by jt_bob" -- jc_on web-01 jt_bob approve "$R" --key "$T/bobkeys/key"
copy_state() {
        sqlite3 "$T/h/web-02/db/jitd.db" "SELECT g.state FROM grants g JOIN fleet_grants f ON f.grant_id = g.id
                                          WHERE f.fleet_id = ${R#F}"
}
copy_is() { [ "$(copy_state)" = "$1" ]; }
failed_here() { [ "$(sqlite3 "$T/h/web-02/db/jitd.db" "SELECT count(*) FROM audit WHERE event = 'activation-failed'")" -ge 1 ]; }
wait_for 5 failed_here && copy_is pending && [ ! -e "$T/h/web-02/sudoers.d/jit-$(sqlite3 "$T/h/web-02/db/jitd.db" "SELECT grant_id FROM fleet_grants WHERE fleet_id = ${R#F}")" ] &&
        ok "web-02's sudoers_dir is unsafe: its copy stays pending without a drop-in, the failure audited" ||
        not_ok "activation with an unsafe sudoers_dir" "$(copy_state)"
chmod 0750 "$T/h/web-02/sudoers.d"
kill -HUP "${PID[web-02]}"
wait_for 5 copy_is active && ok "the directory fixed, web-02's reconciliation activates the copy (its signed approval counts)" ||
        not_ok "the copy was never retried" "$(copy_state)"

finish
