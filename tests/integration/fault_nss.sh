#!/usr/bin/env bash
# Fault: NSS fails (EIO from getpwnam_r/getpwuid_r/getgrouplist, as an LDAP
# or SSSD timeout would). Only "no such user" may ever give PAM_IGNORE; any
# other lookup failure denies, with or without `strict`, and an active grant
# does not let its user through while eligibility cannot be checked.
# jitd runs with build/tests/nssfail.so preloaded; the fault is switched on
# and off per user while it runs.
#
# Users that files alone answers for are kept by jitd while the files stay
# the same (jitd/nsscache.h): a lookup of them cannot time out. The sources
# that can are modelled here as they are deployed, ahead of files: in a
# private mount namespace, an nsswitch.conf with "systemd files" for passwd
# and group is bound over the real one.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault_lib.sh"
in_private_namespace "$@"
jt_setup
sed -E 's/^(passwd|group):.*/\1: systemd files/' /etc/nsswitch.conf >"$T/nsswitch.conf"
chmod 0644 "$T/nsswitch.conf"
bind_over "$T/nsswitch.conf" /etc/nsswitch.conf

group_add jt_team
user_add jt_alice
user_add jt_bob
user_add jt_carol jt_team
ghost=jt_ghost$$
userdel -f "$ghost" >/dev/null 2>&1

config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
teardown = cgroup

[role:ops]
members   = jt_alice, jt_bob
services  = sudo
approval  = auto
ticket    = none
default_duration = 1h
max_duration = 4h

[role:team]
members   = %jt_team
services  = sudo
approval  = auto
ticket    = none
default_duration = 1h
max_duration = 4h
EOF2
jitd_start_nssfail || exit 1
verdict_service sudo ""
# The strict stack: the same service name (the role gates "sudo") in its own
# confdir, with the strict option.
mkdir -p "$T/pam-strict"
sed "s|socket=$SOCK|socket=$SOCK strict|" "$T/pam/sudo" >"$T/pam-strict/sudo"
verdict_strict() {
        case $("$T/bin/pamcheck" "$T/pam-strict" sudo "$1" 2>&1) in
        *"account: PAM_SUCCESS"*) echo SUCCESS ;;
        *"account: PAM_PERM_DENIED"*) echo PERM_DENIED ;;
        *"account: PAM_AUTH_ERR"*) echo IGNORE ;;
        *) echo OTHER ;;
        esac
}
expect_strict() {  # expect_strict WANT DESCRIPTION USER
        local got
        got=$(verdict_strict "$3")
        if [ "$got" = "$1" ]; then ok "$2"; else not_ok "$2" "pam_jit (strict) answered $got, not $1"; fi
}

# Baseline, no fault.
expect_verdict PERM_DENIED "no fault: alice (covered, no grant) is denied" sudo jt_alice
expect_verdict IGNORE "no fault: a user that does not exist is ignored (non-strict)" sudo "$ghost"

# NSS fails for alice: covered-or-not cannot be known, so deny.
nss_fail jt_alice
expect_verdict PERM_DENIED "NSS error for alice, no grant: PAM_PERM_DENIED, not PAM_IGNORE (non-strict)" sudo jt_alice
expect_strict PERM_DENIED "NSS error for alice, no grant: PAM_PERM_DENIED with strict" jt_alice
expect_verdict IGNORE "NSS error for alice: a user that does not exist is still ignored" sudo "$ghost"
expect 0 "jitd still answers other users" "" -- jc jt_bob status
nss_fail '*'
expect_verdict PERM_DENIED "NSS error for every user: alice is denied" sudo jt_alice
expect_verdict PERM_DENIED "NSS error for every user: bob is denied" sudo jt_bob
nss_ok

# The fault is gone: back to the plain decisions.
expect_verdict PERM_DENIED "fault off again: alice (covered, no grant) is denied" sudo jt_alice
expect 0 "alice gets a grant (auto)" "active" -- jc jt_alice request -r ops -d 1h
expect_verdict SUCCESS "with the grant and no fault alice is let through" sudo jt_alice

# A grant does not outweigh a failed eligibility check at the decision.
nss_fail jt_alice
expect_verdict PERM_DENIED "active grant but NSS error for alice: denied (non-strict)" sudo jt_alice
expect_strict PERM_DENIED "active grant but NSS error for alice: denied (strict)" jt_alice
nss_ok
expect_verdict SUCCESS "fault off: alice's grant lets her through again" sudo jt_alice

# Membership through a group: the group's own lookup fails (the user's works).
expect 0 "carol (in %jt_team) gets a grant" "active" -- jc jt_carol request -r team -d 1h
expect_verdict SUCCESS "no fault: carol's grant lets her through" sudo jt_carol
nss_fail '%jt_team'
expect_verdict PERM_DENIED "the lookup of group jt_team fails: carol is denied, grant or not" sudo jt_carol
expect_strict PERM_DENIED "the same with strict" jt_carol
# Every group the config names is looked up for every decision (as one
# getgrouplist() did before): one that cannot be read denies everyone.
expect_verdict PERM_DENIED "and so is alice: which groups she is in cannot be known either" sudo jt_alice
nss_ok
expect_verdict SUCCESS "fault off: carol is let through again" sudo jt_carol
finish
