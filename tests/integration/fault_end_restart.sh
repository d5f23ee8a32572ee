#!/usr/bin/env bash
# Fault: a grant is revoked (or released) while its record cannot be written
# (the database write-locked by another process), and jitd is stopped before
# the record could be written. The end was done on the host first (drop-in
# gone, sessions dead) and must stay done: after the restart the grant is not
# active again (PAM denies, reconciliation does not put its rule back), and
# the record is written at the start, with its actor and reason. The same
# across a reboot, which empties the run directory (a tmpfs): the copy kept
# beside the database is enough.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault_lib.sh"
jt_setup

user_add jt_alice
user_add jt_bob
user_add jt_carol
# shellcheck disable=SC2154 # rc is set by the trap's first command
trap 'rc=$?; db_unlock; jitd_stop; (exit $rc); cleanup' EXIT

config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
teardown = cgroup

[role:ops]
members   = jt_alice, jt_bob, jt_carol
services  = jit-test
runas     = root
commands  = ALL
approval  = auto
ticket    = none
default_duration = 1h
max_duration = 4h
EOF2
pam_service jit-test "socket=$SOCK"
jitd_start || exit 1

expect 0 "alice gets a 1h grant" "active" -- jc jt_alice request -r ops -d 1h -m "end while locked"
a=$(grant_of jt_alice ops)
expect 0 "bob gets a 1h grant" "active" -- jc jt_bob request -r ops -d 1h -m "end while locked"
b=$(grant_of jt_bob ops)
expect 0 "alice passes PAM" "^account: PAM_SUCCESS$" -- pam_check jit-test jt_alice
check_dropins() { [ ! -e "$T/sudoers.d/jit-$a" ] && [ ! -e "$T/sudoers.d/jit-$b" ]; }

db_lock 60 || exit 1
expect 0 "with the database locked, root revokes alice's grant" "" -- jc root revoke "$a" -m "compromised laptop"
expect 0 "and bob releases his" "" -- jc jt_bob release "$b"
if wait_for 5 check_dropins; then ok "both drop-ins are gone at once"; else not_ok "drop-ins gone" "$(ls "$T/sudoers.d")"; fi
expect 1 "alice is denied while the records wait" "^account: PAM_PERM_DENIED$" -- pam_check jit-test jt_alice
echo "# database still says: alice $(grant_state "$a"), bob $(grant_state "$b")"
jitd_stop
db_unlock
echo "# after the stop the database says: alice $(grant_state "$a"), bob $(grant_state "$b")"

jitd_start || exit 1
expect 1 "after the restart alice is still denied" "^account: PAM_PERM_DENIED$" -- pam_check jit-test jt_alice
expect 0 "after the restart no drop-in came back" "" -- check_dropins
expect 0 "alice's grant is recorded revoked" "^revoked$" -- grant_state "$a"
expect 0 "bob's grant is recorded released" "^released$" -- grant_state "$b"
expect 0 "the revocation is in the audit trail, by root, with its reason" "compromised laptop" -- \
        sqlite3 "$DB" "SELECT actor || ' ' || details FROM audit WHERE grant_id = $a AND event = 'revoked'"
expect 0 "the audit chain verifies" "intact" -- jc root audit verify
sleep 2
expect 0 "still no drop-in after reconciliation had a chance" "" -- check_dropins

# A reboot: the run directory's copies are gone, only the database's disk is left.
expect 0 "carol gets a 1h grant" "active" -- jc jt_carol request -r ops -d 1h -m "end before a reboot"
c=$(grant_of jt_carol ops)
db_lock 60 || exit 1
expect 0 "with the database locked, root revokes carol's grant" "" -- jc root revoke "$c" -m "left the company"
if wait_for 5 test ! -e "$T/sudoers.d/jit-$c"; then ok "carol's drop-in is gone at once"; else not_ok "carol's drop-in gone"; fi
expect 0 "her unrecorded end is kept beside the database too" "" -- test -s "$T/db/ended/$c"
jitd_stop
db_unlock
rm -rf "$T/ended"
echo "# after the 'reboot' the database says: carol $(grant_state "$c")"
jitd_start || exit 1
expect 1 "after the reboot carol is still denied" "^account: PAM_PERM_DENIED$" -- pam_check jit-test jt_carol
expect 0 "no drop-in came back for her" "" -- test ! -e "$T/sudoers.d/jit-$c"
expect 0 "her grant is recorded revoked, with its reason" "^revoked$" -- grant_state "$c"
expect 0 "the copy beside the database is dropped once recorded" "" -- test ! -e "$T/db/ended/$c"
expect 0 "the audit chain verifies" "intact" -- jc root audit verify
finish
