#!/usr/bin/env bash
# Fault: the database's file system is full when a grant ends. The clock
# decides that the grant has ended, not the commit: within 1 s of its end its
# drop-in is gone and its sudo session is dead; jitd does not spin (under 5 %
# CPU, a handful of log lines over 5 s) while it cannot record; once space
# returns the missing records (expired, torn-down) are written and the audit
# chain verifies.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault_lib.sh"
needs_plain_pam_module
in_private_namespace "$@"
jt_setup

user_add jt_alice
M=$$
# shellcheck disable=SC2154 # rc is set by the trap's first command
trap 'rc=$?; kill_marked "sleep 618.[0-9]$M"; jitd_stop; umount -l "$T/db" 2>/dev/null; (exit $rc); cleanup' EXIT

small_disk "$T/db" 3m || { echo "# SKIP cannot mount a tmpfs in the private namespace"; exit 0; }
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
system_pam_stack "$T/pam-sudo"
bind_over "$T/sudoers" /etc/sudoers
bind_over "$T/pam-sudo" /etc/pam.d/sudo
jitd_start || exit 1

expect 0 "alice gets a 5s grant" "active" -- jc jt_alice request -r ops -d 5s -m "disk fault"
id=$(grant_of jt_alice ops)
end=$(grant_expires "$id")
as jt_alice sudo -n sleep "618.1$M" >/dev/null 2>&1 &
if wait_for 3 bash -c "[ \$(sqlite3 '$DB' 'SELECT count(*) FROM sessions WHERE grant_id = $id AND closed_at IS NULL') = 1 ]"; then
        ok "a live sudo session is registered under grant $id"
else
        not_ok "sudo session registered" "$(tail -n 5 "$T/jitd.log")"
fi

disk_fill "$T/db"
avail=$(disk_avail "$T/db")
[ "$avail" -lt 4096 ] && ok "the database's file system is full ($avail bytes left)" \
        || not_ok "file system full" "$avail bytes left"
[ "$(( $(now_ms) ))" -lt $(( end * 1000 )) ] && ok "the disk filled before the grant's end" \
        || not_ok "disk filled before the end" "too slow: the grant already ended"

# Within 1 s of the end: drop-in gone, session dead.
ended() { [ ! -e "$T/sudoers.d/jit-$id" ] && gone_marked "sleep 618.1$M"; }
wait_for $(( end - $(date +%s) + 2 )) ended
late=$(( $(now_ms) - end * 1000 ))
if [ ! -e "$T/sudoers.d/jit-$id" ]; then
        [ "$late" -lt 1000 ] && ok "disk full: the drop-in jit-$id is gone ${late} ms after the end" \
                || not_ok "disk full: drop-in removed within 1 s of the end" "late by $late ms"
else
        not_ok "disk full: the drop-in jit-$id is removed at the end" "still there ${late} ms after the end"
fi
if ! alive_marked "sleep 618.1$M"; then
        [ "$late" -lt 1000 ] && ok "disk full: the sudo session is dead ${late} ms after the end" \
                || not_ok "disk full: session killed within 1 s of the end" "late by $late ms"
else
        not_ok "disk full: the sudo session is killed at the end" "alive ${late} ms after the end: $(pgrep -af "sleep 618" || true)"
fi
expect 1 "sudo refuses alice after the end" "" -- as jt_alice sudo -n true

# No spin while recording fails: a 5 s window from now on.
t0=$(now_ms); c0=$(jitd_cpu_ticks); l0=$(log_lines)
sleep 5
t1=$(now_ms); c1=$(jitd_cpu_ticks); l1=$(log_lines)
hz=$(getconf CLK_TCK)
cpu_pct=$(( (c1 - c0) * 1000 * 100 / hz / (t1 - t0) ))
[ "$cpu_pct" -lt 5 ] && ok "jitd used ${cpu_pct} % CPU over 5 s while it could not record (< 5 %)" \
        || not_ok "jitd under 5 % CPU while the disk is full" "${cpu_pct} % ($(( c1 - c0 )) ticks in $(( t1 - t0 )) ms)"
grew=$(( l1 - l0 ))
[ "$grew" -lt 50 ] && ok "its log grew by $grew lines in those 5 s (< 50)" \
        || not_ok "log growth under 50 lines in 5 s" "$grew lines; last ones:"$'\n'"$(tail -n 3 "$T/jitd.log")"
kill -0 "$JITD_PID" 2>/dev/null && ok "jitd is still running" || not_ok "jitd still running"
echo "# grant $id in the database while the disk was full: $(grant_state "$id")"

# Space returns: the records follow.
disk_free "$T/db"
if wait_for 15 bash -c "[ \"\$(sqlite3 '$DB' 'SELECT state FROM grants WHERE id = $id')\" = expired ]"; then
        ok "with space back the grant is recorded expired"
else
        not_ok "grant recorded expired once space returned" "state $(grant_state "$id"); $(tail -n 3 "$T/jitd.log")"
fi
wait_for 5 bash -c "[ \$(sqlite3 '$DB' \"SELECT count(*) FROM audit WHERE grant_id = $id AND event = 'torn-down'\") -ge 1 ]"
expect 0 "the audit table has its expired event" "^1$" -- \
        sqlite3 "$DB" "SELECT count(*) FROM audit WHERE grant_id = $id AND event = 'expired'"
expect 0 "and its torn-down event" "^1$" -- \
        sqlite3 "$DB" "SELECT count(*) FROM audit WHERE grant_id = $id AND event = 'torn-down'"
expect 0 "the audit chain verifies" "intact" -- jc root audit verify
expect 0 "jitd serves normally again" "active" -- jc jt_alice request -r ops -d 1h
finish
