#!/usr/bin/env bash
# Issue 12, finding 4: single use is single. A role with `uses = 1`; five
# sudo runs started at once under the same active grant: exactly one runs its
# command, the other four are refused (non-zero exit, no marker). Once that
# one ends, the grant ends within 2 s and further sudo is refused. Real sudo
# in a private mount namespace with the contract's PAM lines.
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
trap 'rc=$?; kill_marked "sleep 660.$M"; (exit $rc); cleanup' EXIT
config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
teardown = cgroup

[role:once]
members   = jt_alice
services  = sudo
runas     = root
commands  = ALL
nopasswd  = yes
approval  = auto
ticket    = none
uses      = 1
default_duration = 1h
max_duration = 4h
EOF2
sudoers_write
contract_pam_stack "$T/pam-sudo"
bind_over "$T/sudoers" /etc/sudoers
bind_over "$T/pam-sudo" /etc/pam.d/sudo
jitd_start || exit 1
db_seed_grant_ids
verdict_service sudo ""
mkdir -p "$T/use"

expect 0 "alice gets a single-use grant" "active" -- jc jt_alice request -r once -d 1h
id=$(grant_of jt_alice once)
expect_verdict SUCCESS "before any use PAM lets alice through" sudo jt_alice

# Five at once. Each command leaves a marker and then waits to be killed.
pids=()
for i in 1 2 3 4 5; do
        "${DIRECT[@]}" sudo -n sh -c "touch '$T/use/$i'; exec sleep 660.$M$i" >"$T/sudo-$i.out" 2>&1 </dev/null &
        pids+=($!)
done
# Settled: every sudo has either exited or started its command.
settled() {
        local i
        for i in 1 2 3 4 5; do
                kill -0 "${pids[i - 1]}" 2>/dev/null && ! pgrep -f "^sleep 660.$M$i" >/dev/null && return 1
        done
        return 0
}
wait_for 10 settled || echo "# not settled after 10 s: $(pgrep -af "660.$M" | tr '\n' ';')"
running=() refused=() other=()
for i in 1 2 3 4 5; do
        if [ -e "$T/use/$i" ]; then
                running+=("$i")
        elif ! kill -0 "${pids[i - 1]}" 2>/dev/null; then
                wait "${pids[i - 1]}"; rc=$?
                if [ "$rc" -ne 0 ]; then refused+=("$i"); else other+=("$i:exit0"); fi
        else
                other+=("$i:hanging")
        fi
done
[ ${#running[@]} -eq 1 ] && ok "exactly one of five concurrent sudo runs its command (run ${running[0]})" \
        || not_ok "exactly one of five concurrent sudo runs its command" "${#running[@]} ran: ${running[*]}"
[ ${#refused[@]} -eq 4 ] && ok "the other four were refused (non-zero exit, no command)" \
        || not_ok "the other four are refused" "refused: ${refused[*]}; other: ${other[*]}; e.g. $(cat "$T/sudo-${refused[0]:-1}.out" 2>/dev/null)"

# The one (or the first, if several ran) ends: the grant ends within 2 s.
first=${running[0]:-}
if [ -n "$first" ]; then
        t=$(now_ms)
        kill_marked "^sleep 660.$M$first"
        wait_for 5 grant_not_active "$id"
        late=$(( $(now_ms) - t ))
        if grant_not_active "$id" && [ "$late" -lt 2000 ]; then
                ok "the grant ended ${late} ms after its one session ended ($(grant_state "$id"))"
        else
                not_ok "the grant ends within 2 s of its one session's end" "after $late ms: $(grant_state "$id")"
        fi
else
        not_ok "the grant ends within 2 s of its one session's end" "no session ran"
fi
kill_marked "^sleep 660.$M"
for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
expect_verdict PERM_DENIED "after its use PAM denies alice" sudo jt_alice
expect 1 "after its use sudo refuses alice" "" -- as jt_alice sudo -n touch "$T/use/after"
[ ! -e "$T/use/after" ] && ok "and the command did not run" || not_ok "the command after the use did not run"
finish
