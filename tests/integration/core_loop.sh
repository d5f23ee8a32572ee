#!/usr/bin/env bash
# The core loop as users live it: alice is refused by PAM, asks for an
# elevation, cannot approve it herself, bob approves, PAM lets her through until
# the grant expires; an admin revokes a second grant; history stays listable.
. "$(dirname "$0")/../lib.sh"
jt_setup

group_add jt_ops; group_add jt_sec; group_add jt_admins
user_add jt_alice jt_ops
user_add jt_bob jt_sec
user_add jt_carol
user_add jt_dave jt_admins
user_add jt_erin jt_sec

config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
admin_group = jt_admins

[role:web-admin]
members    = jt_alice, %jt_ops          # users and groups
hosts      = test*, db01
services   = sudo, sshd
runas      = root
commands   = ALL
approval   = peer
approvers  = %jt_sec
approvals  = 1
ticket     = optional
ticket_pattern = ^(CHG|INC)[0-9]+\$
default_duration = 1h
max_duration     = 4h

[role:two-eyes]
members    = jt_alice
services   = login
approval   = peer
approvers  = jt_bob, jt_erin, jt_alice
approvals  = 2
default_duration = 1h
max_duration = 2h

[role:auto-ops]
members    = jt_carol
services   = sudo
approval   = auto
ticket     = none
default_duration = 30m
max_duration = 1h

[role:elsewhere]
members    = jt_carol
hosts      = prod*
services   = sshd
approval   = auto
ticket     = none
EOF2

expect 0 "jitd --check accepts the config" "OK \(4 roles, host testhost\)" -- "$T/bin/jitd" -c "$CONF" --check
jitd_start || exit 1
pam_service sudo ""
pam_service login ""
pam_service sshd ""

expect 1 "alice is denied by pam_jit before any grant, and told how to request" \
        "no active elevation for jt_alice on testhost; request one: jitctl request -r web-admin" -- \
        pam_check sudo jt_alice
expect 0 "a user no role covers is ignored by pam_jit (the rest of the stack decides)" "account: PAM_SUCCESS" -- \
        pam_check sudo jt_dave
expect 0 "a role for other hosts does not cover this one" "account: PAM_SUCCESS" -- pam_check sshd jt_carol

expect 0 "alice requests web-admin with a ticket and waits for approval" \
        "grant [0-9]+ for web-admin is pending" -- \
        jc jt_alice request -r web-admin -t CHG1234 -d 3s -m "deploy the fix"
id1=$(jc jt_alice list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
expect 1 "a pending grant does not let alice through" "waiting for approval" -- pam_check sudo jt_alice
expect 1 "alice cannot approve her own request" "cannot approve your own request" -- jc jt_alice approve "$id1"
expect 1 "carol, an approver of nothing, cannot approve (nor learn the grant exists)" "no grant $id1" -- jc jt_carol approve "$id1"
expect 1 "carol cannot even see alice's grant" "no grant $id1" -- jc jt_carol show "$id1"
expect 0 "bob (in %jt_sec) approves" "active" -- jc jt_bob approve "$id1" -m "looks fine"
expect 1 "bob cannot approve twice" "not pending" -- jc jt_bob approve "$id1"
expect 0 "alice is allowed by pam_jit while the grant is active" "account: PAM_SUCCESS" -- pam_check sudo jt_alice
expect 0 "the grant covers sshd too" "account: PAM_SUCCESS" -- pam_check sshd jt_alice
expect 1 "but not a service the role does not gate" "PAM_PERM_DENIED" -- pam_check login jt_alice
expect 0 "jitctl check (root) tells what PAM is told" "allow" -- jc root check jt_alice -S sudo
expect 0 "alice sees her grant active with time left" "web-admin +active" -- jc jt_alice list
sleep 3.5
expect 1 "alice is denied again once the grant expired" "PAM_PERM_DENIED" -- pam_check sudo jt_alice
expect 0 "the grant shows as expired" "state: +expired" -- jc jt_alice show "$id1"

expect 0 "alice requests again" "pending" -- jc jt_alice request -r web-admin -m "second try"
id2=$(jc jt_alice list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
expect 0 "erin approves" "active" -- jc jt_erin approve "$id2"
expect 0 "alice is allowed" "PAM_SUCCESS" -- pam_check sudo jt_alice
expect 1 "alice cannot revoke (admins only)" "for admins" -- jc jt_alice revoke "$id2" -m "no"
expect 2 "revoke needs a reason" "" -- jc jt_dave revoke "$id2"
expect 0 "dave (admin group) revokes" "revoked" -- jc jt_dave revoke "$id2" -m "change window closed"
expect 1 "alice is denied after the revocation" "PAM_PERM_DENIED" -- pam_check sudo jt_alice
expect 1 "revoking twice is refused" "already ended" -- jc jt_dave revoke "$id2" -m "again"

# N distinct approvals, never the requester even when listed as an approver.
expect 0 "alice requests two-eyes" "needs 2 approvals" -- jc jt_alice request -r two-eyes
id3=$(jc jt_alice list --json | python3 -c 'import json,sys; print([g["id"] for g in json.load(sys.stdin) if g["role"]=="two-eyes"][0])')
expect 1 "alice, though listed as approver, cannot approve her own" "own request" -- jc jt_alice approve "$id3"
expect 0 "bob gives the first approval" "still pending" -- jc jt_bob approve "$id3"
expect 1 "the same approver cannot count twice" "already approved" -- jc jt_bob approve "$id3"
expect 1 "one approval of two is not enough for PAM" "PAM_PERM_DENIED" -- pam_check login jt_alice
expect 0 "erin gives the second, the grant activates" "active" -- jc jt_erin approve "$id3"
expect 0 "login is now allowed" "PAM_SUCCESS" -- pam_check login jt_alice
expect 0 "alice releases it: the task is done" "released" -- jc jt_alice release "$id3"
expect 1 "released means denied" "PAM_PERM_DENIED" -- pam_check login jt_alice

# Auto approval; cancel; deny.
expect 0 "carol's auto-approved request is active at once" "active" -- jc jt_carol request
expect 0 "carol is allowed" "PAM_SUCCESS" -- pam_check sudo jt_carol
expect 1 "a second open grant for the same role is refused" "already have grant" -- jc jt_carol request -r auto-ops
expect 0 "carol releases without naming the grant" "released" -- jc jt_carol release
expect 0 "alice requests and changes her mind" "pending" -- jc jt_alice request -r web-admin
id4=$(jc jt_alice list --json | python3 -c 'import json,sys; print([g["id"] for g in json.load(sys.stdin) if g["role"]=="web-admin"][0])')
expect 1 "bob cannot cancel alice's request" "not yours" -- jc jt_bob cancel "$id4"
expect 0 "alice cancels her pending request" "cancelled" -- jc jt_alice cancel "$id4"
expect 0 "alice requests once more" "pending" -- jc jt_alice request -r web-admin -t INC42
id5=$(jc jt_alice list --json | python3 -c 'import json,sys; print([g["id"] for g in json.load(sys.stdin) if g["role"]=="web-admin"][0])')
expect 2 "deny needs a note" "" -- jc jt_bob deny "$id5"
expect 0 "bob denies with a note" "denied" -- jc jt_bob deny "$id5" -m "use the staging host"
expect 1 "a denied grant cannot be approved afterwards" "not pending" -- jc jt_erin approve "$id5"

# History: nothing is deleted; users see their own, approvers and admins all.
hist=$(jc jt_dave list --all --json)
states=$(python3 -c 'import json,sys; print(" ".join(sorted(g["state"] for g in json.load(sys.stdin))))' <<<"$hist")
if [ "$states" = "cancelled denied expired released released revoked" ]; then
        ok "list --all --json shows the whole history ($states)"
else
        not_ok "list --all --json shows the whole history" "got: $states"$'\n'"$hist"
fi
n=$(jc jt_carol list --all --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d), all(g["user"]=="jt_carol" for g in d))')
[ "$n" = "1 True" ] && ok "carol's list --all shows only her own grant" || not_ok "carol sees only her own" "$n"
expect 0 "the expired grant keeps who approved it and when" '"approvers":\["jt_bob"\]' -- jc jt_dave show "$id1" --json
audit=$(sqlite3 "$DB" "SELECT group_concat(event, ' ') FROM (SELECT event FROM audit WHERE grant_id = $id1 ORDER BY seq)")
[ "$audit" = "requested approved activated expired torn-down" ] && ok "every state change of grant $id1 is an audit event" \
        || not_ok "audit events of grant $id1" "$audit"

# jitd restarts with its state.
jitd_stop
jitd_start || exit 1
expect 0 "after a restart the history is still there" "revoked" -- jc jt_dave show "$id2"
finish
