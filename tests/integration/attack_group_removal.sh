#!/usr/bin/env bash
# Issue 12, finding 5: removal from a group is enforced without a reload.
# alice is a member through %jt_team: she holds an active grant and has a
# request pending. Once `gpasswd -d` takes her out of the group (no `jitctl
# reload`), the next PAM account check is PAM_PERM_DENIED, a new session is
# refused, and her pending request can no longer be approved (the approver
# gets exit 1, the request does not become active).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault_lib.sh"
. "$(dirname "$0")/../attack_lib.sh"
jt_setup

group_add jt_team
user_add jt_alice jt_team
user_add jt_bob
config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
teardown = cgroup

[role:ops]
members   = %jt_team
services  = sudo
runas     = root
commands  = ALL
approval  = auto
ticket    = none
default_duration = 1h
max_duration = 4h

[role:peer]
members   = %jt_team
services  = su
approval  = peer
approvers = jt_bob
ticket    = none
default_duration = 1h
max_duration = 4h
EOF2
jitd_start || exit 1
db_seed_grant_ids
verdict_service sudo ""
# sudo-i (gated with sudo): account as in verdict_service, then the contract's
# session line, for pamcheck --phase open (the subject is PAM_RUSER there).
cat >"$T/pam/sudo-i" <<EOF2
account  [success=done ignore=ignore default=die] $T/bin/pam_jit.so socket=$SOCK
account  required pam_deny.so
session  required $T/bin/pam_jit.so socket=$SOCK
session  required pam_permit.so
EOF2
# As sudo does: the account phase for alice, then the session phase with
# PAM_USER the target and PAM_RUSER alice, in one PAM handle.
session_open() { pam_check sudo-i jt_alice --phase account --user root --ruser jt_alice --phase open --phase close; }

expect 0 "alice (through %jt_team) gets an ops grant" "active" -- jc jt_alice request -r ops -d 1h
a=$(grant_of jt_alice ops)
expect 0 "alice requests peer: pending" "pending" -- jc jt_alice request -r peer -d 1h
p=$(grant_of jt_alice peer)
expect_verdict SUCCESS "a member: PAM lets alice through" sudo jt_alice
expect 0 "a member: her sudo session opens" "open: PAM_SUCCESS" -- session_open

gpasswd -d jt_alice jt_team >/dev/null || { not_ok "gpasswd -d jt_alice jt_team"; finish; exit; }
expect 1 "NSS no longer lists alice in jt_team" "" -- bash -c "id -nG jt_alice | grep -qw jt_team"

expect_verdict PERM_DENIED "removed from the group: the next PAM account check is PAM_PERM_DENIED" sudo jt_alice
out=$(session_open 2>&1)
if grep -q "open: PAM_SUCCESS" <<<"$out"; then
        not_ok "removed from the group: a new session is refused" "$out"
else
        ok "removed from the group: a new session is refused ($(grep '^open:' <<<"$out"))"
fi
expect 1 "removed from the group: bob cannot approve her pending request" "" -- jc jt_bob approve "$p"
st=$(grant_state "$p")
[ "$st" != active ] && ok "the request did not become active ($st)" || not_ok "the request did not become active" "$st"
echo "# grant $a is $(grant_state "$a") now; no reload was asked for"
finish
