#!/usr/bin/env bash
# `sudo -i` is gated like sudo: a role that gates sudo (services defaults to
# sudo) gates every sudo PAM service, sudo-i included. Through pamcheck with
# a service file named sudo-i, and through real `sudo -i` in a private mount
# namespace, in the standing-rule deployment (sudoers keeps a rule for alice,
# pam_jit is the gate): without a grant PAM_PERM_DENIED (not PAM_IGNORE) and
# sudo -i refuses; with a grant PAM_SUCCESS, the sudo -i session is
# registered under it and killed at its end.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault_lib.sh"
needs_plain_pam_module
in_private_namespace "$@"
jt_setup

user_add jt_alice
M=$$
# shellcheck disable=SC2154 # rc is set by the trap's first command
trap 'rc=$?; kill_marked "sleep 623.[0-9]$M"; (exit $rc); cleanup' EXIT
config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
teardown = cgroup

[role:ops]
members   = jt_alice
runas     = root
commands  = ALL
nopasswd  = yes
approval  = auto
ticket    = none
default_duration = 1h
max_duration = 4h
EOF2
sudoers_write
echo "jt_alice ALL=(ALL) NOPASSWD: ALL" >>"$T/sudoers"    # the standing eligibility rule
contract_pam_stack "$T/pam-sudo"
bind_over "$T/sudoers" /etc/sudoers
bind_over "$T/pam-sudo" /etc/pam.d/sudo
bind_over "$T/pam-sudo" /etc/pam.d/sudo-i
jitd_start || exit 1
verdict_service sudo ""
verdict_service sudo-i ""

expect_verdict PERM_DENIED "no grant: service sudo is denied" sudo jt_alice
expect_verdict PERM_DENIED "no grant: service sudo-i is denied too, not ignored" sudo-i jt_alice
expect 1 "no grant: real sudo -i refuses alice despite the standing rule" "" -- as jt_alice sudo -n -i true
expect 1 "no grant: real sudo refuses alice too" "" -- as jt_alice sudo -n true

expect 0 "alice gets a 5s grant" "active" -- jc jt_alice request -r ops -d 5s
id=$(grant_of jt_alice ops)
end=$(grant_expires "$id")
expect_verdict SUCCESS "with the grant: service sudo-i passes" sudo-i jt_alice
as jt_alice sudo -n -i sleep "623.1$M" >"$T/sudo-i.out" 2>&1 &
if wait_for 3 bash -c "[ \$(sqlite3 '$DB' \"SELECT count(*) FROM sessions WHERE grant_id = $id AND service = 'sudo-i' AND closed_at IS NULL\") = 1 ]"; then
        ok "the sudo -i session is registered under grant $id as sudo-i"
else
        not_ok "sudo -i session registered" "$(cat "$T/sudo-i.out"; sqlite3 "$DB" 'SELECT * FROM sessions')"
fi
alive_marked "sleep 623.1$M" && ok "sudo -i runs the command" || not_ok "sudo -i runs the command" "$(cat "$T/sudo-i.out")"
wait_for $(( end - $(date +%s) + 3 )) gone_marked "sleep 623.1$M"
late=$(( $(now_ms) - end * 1000 ))
if gone_marked "sleep 623.1$M" && [ "$late" -lt 1000 ]; then
        ok "the sudo -i session died ${late} ms after the grant's end"
else
        not_ok "the sudo -i session dies within 1 s of the grant's end" "alive ${late} ms after the end"
fi
expect_verdict PERM_DENIED "after the end: service sudo-i is denied again" sudo-i jt_alice
expect 1 "after the end: real sudo -i refuses again" "" -- as jt_alice sudo -n -i true
finish
