#!/usr/bin/env bash
# Issue 12, finding 1: SIGSTOP between account and session. A user may signal
# her own sudo: she stops it right after jitd answered the account check, and
# continues it once the grant was revoked or expired. The session that then
# arrives must be refused: sudo exits non-zero, the command never runs (no
# marker file) and no root process of it is left. Real sudo in a private
# mount namespace with the contract's PAM lines; a pam_exec script right after
# pam_jit's account line stops sudo (its parent) the same way she would, so
# the race is won every time. 18 revocations and 2 expiries: 0 escapes.
# Controls: without the stop, and stopped but continued while the grant is
# still active, the command runs.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault_lib.sh"
. "$(dirname "$0")/../attack_lib.sh"
needs_plain_pam_module
in_private_namespace "$@"
jt_setup

user_add jt_alice
direct jt_alice
M=$$
# shellcheck disable=SC2154 # rc is set by the trap's first command
trap 'rc=$?; rm -f "$T/park/on"; kill_marked "sleep 65[0-9].$M"; (exit $rc); cleanup' EXIT
config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
teardown = cgroup

[role:ops]
members   = jt_alice
services  = sudo
runas     = root
commands  = ALL
nopasswd  = yes
approval  = auto
ticket    = none
default_duration = 1h
max_duration = 4h
EOF2
sudoers_write
mkdir -p "$T/park" "$T/esc"
# The stop: sudo runs this after pam_jit's account line and before the session.
cat >"$T/bin/park" <<EOF2
#!/bin/sh
[ -e "$T/park/on" ] || exit 0
echo "\$PPID" >"$T/park/pid.tmp" && mv "$T/park/pid.tmp" "$T/park/pid"
kill -STOP "\$PPID"
exit 0
EOF2
chmod 0755 "$T/bin/park"
cat >"$T/pam-sudo" <<EOF2
auth     required pam_permit.so
account  required $T/bin/pam_jit.so socket=$SOCK
account  required pam_exec.so seteuid quiet $T/bin/park
account  required pam_permit.so
session  required $T/bin/pam_jit.so socket=$SOCK
session  required pam_permit.so
EOF2
bind_over "$T/sudoers" /etc/sudoers
bind_over "$T/pam-sudo" /etc/pam.d/sudo
jitd_start || exit 1
db_seed_grant_ids

# Controls: the setup lets a command through when nothing is ended.
expect 0 "alice gets a grant" "active" -- jc jt_alice request -r ops -d 1h
g0=$(grant_of jt_alice ops)
expect 0 "control: sudo runs alice's command" "" -- as jt_alice sudo -n touch "$T/esc/control"
[ -e "$T/esc/control" ] && ok "control: the command ran" || not_ok "control: the command ran"

# stop_sudo I: start sudo with marker I, return once it is stopped after the
# account check; SUDO and PARKED (both sudo's pid) are set.
stop_sudo() {
        local mark
        mark="sleep 650.$M$(printf '%03d' "$1")"
        rm -f "$T/park/pid"
        touch "$T/park/on"
        "${DIRECT[@]}" sudo -n sh -c "touch '$T/esc/$1'; exec $mark" >"$T/sudo-$1.out" 2>&1 </dev/null &
        SUDO=$!
        PARKED=
        wait_for 5 test -s "$T/park/pid" || return 1
        rm -f "$T/park/on"
        PARKED=$(cat "$T/park/pid")
        wait_for 3 is_stopped "$PARKED"
}

if stop_sudo 0 && is_stopped "$PARKED"; then
        ok "control: sudo stops after pam_jit's account check"
        as jt_alice kill -CONT "$PARKED"
        wait_for 5 alive_marked "^sleep 650.${M}000"
        [ -e "$T/esc/0" ] && alive_marked "^sleep 650.${M}000" \
                && ok "control: continued while the grant is active, the command runs" \
                || not_ok "control: continued while the grant is active, the command runs" "$(cat "$T/sudo-0.out")"
        kill_marked "^sleep 650.${M}000"
        wait "$SUDO" 2>/dev/null
else
        not_ok "control: sudo stops after pam_jit's account check" "$(cat "$T/sudo-0.out")"
fi
jc root revoke "$g0" -m "controls done" >/dev/null

# The attack, ATTEMPTS times.
escapes=() ran=() survived=() not_refused=() unparked=()
attempt() {  # attempt I revoke|expire
        local i=$1 how=$2 id rc mark alive='' refused=''
        mark="sleep 650.$M$(printf '%03d' "$i")"
        jc jt_alice request -r ops -d "$([ "$how" = expire ] && echo 3s || echo 1h)" >/dev/null \
                || { unparked+=("$i:request-failed"); return; }
        id=$(grant_of jt_alice ops)
        if ! stop_sudo "$i"; then
                unparked+=("$i")
                kill -CONT "$PARKED" 2>/dev/null
                kill_marked "$mark"; wait "$SUDO" 2>/dev/null
                return
        fi
        if [ "$how" = revoke ]; then
                jc root revoke "$id" -m "attempt $i" >/dev/null
        else
                wait_for 8 grant_not_active "$id"
        fi
        grant_not_active "$id" || unparked+=("$i:grant-still-active")
        as jt_alice kill -CONT "$PARKED"
        wait_for 3 bash -c "! kill -0 $SUDO || [ -e '$T/esc/$i' ]"
        # A command that started may still be on its way: give it a moment.
        if [ -e "$T/esc/$i" ] || kill -0 "$SUDO" 2>/dev/null; then
                wait_for 1 alive_marked "^$mark"
        fi
        alive_marked "^$mark" && alive=1
        [ -e "$T/esc/$i" ] && ran+=("$i")
        [ -n "$alive" ] && survived+=("$i")
        { [ -e "$T/esc/$i" ] || [ -n "$alive" ]; } && escapes+=("$i:$how")
        if kill -0 "$SUDO" 2>/dev/null; then
                refused=
                kill_marked "$mark"
                wait "$SUDO" 2>/dev/null
        else
                wait "$SUDO"; rc=$?
                [ "$rc" -ne 0 ] && [ ! -e "$T/esc/$i" ] && refused=1
                kill_marked "^$mark"
        fi
        [ -n "$refused" ] || not_refused+=("$i")
}
ATTEMPTS=20
for i in $(seq 1 $ATTEMPTS); do
        if [ "$i" -le 2 ]; then attempt "$i" expire; else attempt "$i" revoke; fi
done
[ ${#unparked[@]} -eq 0 ] && ok "every one of $ATTEMPTS sudo runs was stopped after account and its grant ended meanwhile" \
        || not_ok "sudo stopped after account and grant ended, every time" "${unparked[*]}"
[ ${#escapes[@]} -eq 0 ] && ok "0 escapes in $ATTEMPTS attempts (18 revoked, 2 expired while sudo was stopped)" \
        || not_ok "0 escapes when the grant ends while sudo is stopped" \
                "${#escapes[@]} of $ATTEMPTS escaped: ${escapes[*]}"
[ ${#not_refused[@]} -eq 0 ] && ok "sudo refused every time: it exited non-zero on its own, running nothing" \
        || not_ok "sudo refuses (exits non-zero, runs nothing) when its session arrives after the grant ended" \
                "not refused in attempts ${not_refused[*]}"
[ ${#ran[@]} -eq 0 ] && ok "the command never ran (no marker file)" \
        || not_ok "the command never runs after the grant ended" "markers of attempts ${ran[*]}"
[ ${#survived[@]} -eq 0 ] && ok "no root process of those sessions was left" \
        || not_ok "no root process survives" "alive after sudo was continued: attempts ${survived[*]}"
finish
