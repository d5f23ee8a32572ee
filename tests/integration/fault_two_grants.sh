#!/usr/bin/env bash
# Two grants cover one sudo session: the session belongs to the grant that
# ends last. Ending the other one (revoked, in either order of creation)
# leaves the session alive and PAM still lets the user through; ending the
# last one kills it within 1 s. And a session whose command only the broad
# grant's rule allows dies when that grant ends, even though a narrow grant
# (another command) lasts longer.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault_lib.sh"
needs_plain_pam_module
in_private_namespace "$@"
jt_setup

user_add jt_alice
M=$$
# shellcheck disable=SC2154 # rc is set by the trap's first command
trap 'rc=$?; kill_marked "sleep 62[0-9].[0-9]$M"; (exit $rc); cleanup' EXIT

role() {  # role NAME COMMANDS
        cat <<EOF2

[role:$1]
members   = jt_alice
services  = sudo
runas     = root
commands  = $2
nopasswd  = yes
approval  = auto
ticket    = none
default_duration = 1h
max_duration = 8h
EOF2
}
{
        cat <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
teardown = cgroup
EOF2
        role short ALL
        role long ALL
        role narrow /usr/bin/id
        role broad ALL
} | config_write
sudoers_write
system_pam_stack "$T/pam-sudo"
bind_over "$T/sudoers" /etc/sudoers
bind_over "$T/pam-sudo" /etc/pam.d/sudo
jitd_start || exit 1
verdict_service sudo ""

live_sessions() { sqlite3 "$DB" "SELECT count(*) FROM sessions WHERE torn_down_at IS NULL AND closed_at IS NULL"; }
start_session() {  # start_session MARK
        as jt_alice sudo -n sleep "$1$M" >/dev/null 2>&1 &
        wait_for 3 alive_marked "sleep $1$M" && wait_for 3 bash -c "[ \$(sqlite3 '$DB' 'SELECT count(*) FROM sessions WHERE closed_at IS NULL AND torn_down_at IS NULL') -ge 1 ]"
}
# survives NAME MARK: the session is still alive 1.5 s after its other grant ended.
survives() {
        sleep 1.5
        alive_marked "sleep $2$M" && ok "$1: the session is still alive" \
                || not_ok "$1: the session is still alive" "it was killed; $(grep -E 'torn|kill' "$T/jitd.log" | tail -n 3)"
}
dies_within_1s() {  # dies_within_1s NAME MARK START-MS
        wait_for 3 gone_marked "sleep $2$M"
        local late=$(( $(now_ms) - $3 ))
        if ! alive_marked "sleep $2$M" && [ "$late" -lt 1000 ]; then ok "$1: the session died ${late} ms later"
        else not_ok "$1: the session dies within 1 s" "after $late ms: $(pgrep -af "sleep $2" || true)"; fi
}
revoke() { jc root revoke "$1" -m "$2" >/dev/null; }

# 1. The shorter grant is the older one.
expect 0 "alice gets short for 10m" "active" -- jc jt_alice request -r short -d 10m
s=$(grant_of jt_alice short)
expect 0 "alice gets long for 4h" "active" -- jc jt_alice request -r long -d 4h
l=$(grant_of jt_alice long)
start_session 620.1 && ok "a long sudo session runs under both grants" || not_ok "sudo session started"
revoke "$s" "shorter first"
survives "shorter (older) grant revoked" 620.1
expect_verdict SUCCESS "PAM still lets alice through on the 4h grant" sudo jt_alice
t=$(now_ms); revoke "$l" "then the longer"
dies_within_1s "then the 4h grant revoked" 620.1 "$t"
kill_marked "sleep 620.1$M"

# 2. The longer grant is the older one.
expect 0 "alice gets long for 4h again" "active" -- jc jt_alice request -r long -d 4h
l=$(grant_of jt_alice long)
expect 0 "alice gets short for 10m again" "active" -- jc jt_alice request -r short -d 10m
s=$(grant_of jt_alice short)
start_session 621.1 && ok "a long sudo session runs under both grants" || not_ok "sudo session started"
revoke "$l" "longer first"
survives "longer (older) grant revoked first" 621.1
expect_verdict SUCCESS "PAM still lets alice through on the 10m grant" sudo jt_alice
t=$(now_ms); revoke "$s" "then the shorter"
dies_within_1s "then the 10m grant revoked" 621.1 "$t"
kill_marked "sleep 621.1$M"

# 3. narrow (one command, 8h, older) and broad (ALL, 5s): a command only
# broad allows dies when broad ends.
expect 0 "alice gets narrow (/usr/bin/id) for 8h" "active" -- jc jt_alice request -r narrow -d 8h
expect 0 "alice gets broad (ALL) for 5s" "active" -- jc jt_alice request -r broad -d 5s
b=$(grant_of jt_alice broad)
end=$(grant_expires "$b")
start_session 622.1 && ok "sudo -n sleep runs (only broad's rule allows it)" || not_ok "sudo session started under broad"
wait_for $(( end - $(date +%s) + 3 )) gone_marked "sleep 622.1$M"
late=$(( $(now_ms) - end * 1000 ))
if ! alive_marked "sleep 622.1$M" && [ "$late" -lt 1000 ]; then
        ok "the root command died with broad, ${late} ms after its end"
else
        not_ok "the root command dies when broad ends (within 1 s)" "still alive ${late} ms after broad's end"
fi
expect 0 "narrow still lets alice run id" "^0$" -- as jt_alice sudo -n /usr/bin/id -u
finish
