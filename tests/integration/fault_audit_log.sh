#!/usr/bin/env bash
# Every audit event reaches the log with its sequence number and hash (here
# jitd logs to stderr): each row of the audit table has a log line with its
# event, seq=N and hash=<64 hex>, the same as in the table. Ten grants ending
# in the same second give ten expired and ten torn-down lines. An extension
# that waits for approval leaves extension-requested and extension-approved
# in the audit TABLE, and one extended event.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault_lib.sh"
jt_setup

group_add jt_sec
user_add jt_alice
user_add jt_bob jt_sec
{
        cat <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
teardown = cgroup

[role:peer]
members   = jt_alice
services  = sudo
approval  = peer
approvers = %jt_sec
ticket    = none
default_duration = 1h
max_duration = 4h
EOF2
        for i in 0 1 2 3 4 5 6 7 8 9; do
                printf '\n[role:r%d]\nmembers = jt_alice\nservices = sudo\napproval = auto\nticket = none\n' "$i"
        done
} | config_write
jitd_start || exit 1

# The log line of audit row SEQ: its event, seq=SEQ and hash=HASH on one line.
logged() {  # logged SEQ EVENT HASH
        grep -E "(^|[^0-9a-zA-Z_])seq=$1([^0-9]|$)" "$T/jitd.log" | grep -F "hash=$3" | grep -qE "(^|[^a-z-])$2([^a-z-]|$)"
}
check_logged() {  # check_logged DESCRIPTION SQL-WHERE: every audit row matching is in the log
        local seq ev h missing=() n=0
        while IFS='|' read -r seq ev h; do
                n=$((n + 1))
                logged "$seq" "$ev" "$h" || missing+=("$seq:$ev")
        done < <(sqlite3 "$DB" "SELECT seq, event, hash FROM audit WHERE $2 ORDER BY seq")
        if [ "$n" -gt 0 ] && [ ${#missing[@]} -eq 0 ]; then ok "$1 ($n events)"
        else not_ok "$1" "$n events, ${#missing[@]} without a log line carrying seq= and hash=: ${missing[*]:0:10}"$'\n'"e.g. $(grep -m 2 'event=' "$T/jitd.log")"; fi
}

# Ten grants that end in the same second.
sleep "$(printf '0.%03d' $(( 999 - 10#$(date +%N) / 1000000 )))"    # at the start of a second
for i in 0 1 2 3 4 5 6 7 8 9; do jc jt_alice request -r "r$i" -d 4s >/dev/null || not_ok "request r$i"; done
ends=$(sqlite3 "$DB" "SELECT count(DISTINCT expires_at) FROM grants WHERE role LIKE 'r_'")
echo "# the ten grants end in $ends distinct second(s)"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM grants WHERE role LIKE 'r_' AND state = 'active'")" = 10 ] \
        && ok "ten grants are active" || not_ok "ten grants active"
wait_for 10 bash -c "[ \$(sqlite3 '$DB' \"SELECT count(*) FROM audit WHERE event = 'torn-down' AND grant_id IN (SELECT id FROM grants WHERE role LIKE 'r_')\") = 10 ]" \
        && ok "all ten ended, ten torn-down events in the table" || not_ok "ten torn-down events" "$(db_count audit)"
ten="grant_id IN (SELECT id FROM grants WHERE role LIKE 'r_')"
n=$(grep -cE "(^|[^a-z-])expired([^a-z-]|$).*seq=[0-9]+.*hash=[0-9a-f]{64}|seq=[0-9]+.*hash=[0-9a-f]{64}.*(^|[^a-z-])expired([^a-z-]|$)" "$T/jitd.log")
[ "$n" -ge 10 ] && ok "ten expired lines with seq and hash in the log" || not_ok "ten expired lines with seq= and hash= in the log" "found $n"
n=$(grep -cE "torn-down.*seq=[0-9]+.*hash=[0-9a-f]{64}|seq=[0-9]+.*hash=[0-9a-f]{64}.*torn-down" "$T/jitd.log")
[ "$n" -ge 10 ] && ok "ten torn-down lines with seq and hash in the log" || not_ok "ten torn-down lines with seq= and hash= in the log" "found $n"
check_logged "each expired and torn-down event of the ten is logged with its own seq and hash" \
        "$ten AND event IN ('expired', 'torn-down')"

# An extension through peer approval.
expect 0 "alice requests peer" "pending" -- jc jt_alice request -r peer -d 1h
p=$(grant_of jt_alice peer)
expect 0 "bob approves" "active" -- jc jt_bob approve "$p"
expect 0 "alice asks to extend it: it waits for an approval" "waits for 1 approval" -- jc jt_alice extend "$p" -d 30m -m "not done"
expect 0 "bob approves the extension" "" -- jc jt_bob approve "$p"
expect 0 "extension-requested is in the audit table" "^1$" -- \
        sqlite3 "$DB" "SELECT count(*) FROM audit WHERE grant_id = $p AND event = 'extension-requested'"
expect 0 "extension-approved is in the audit table" "^1$" -- \
        sqlite3 "$DB" "SELECT count(*) FROM audit WHERE grant_id = $p AND event = 'extension-approved'"
expect 0 "the extended event is there once" "^1$" -- \
        sqlite3 "$DB" "SELECT count(*) FROM audit WHERE grant_id = $p AND event = 'extended'"
expect 0 "the grant runs 1h30m" '"duration":5400' -- jc jt_alice show "$p" --json
expect 0 "the audit chain verifies" "intact" -- jc root audit verify

# Everything recorded in this story reached the log with its seq and hash.
check_logged "every audit event in the table is in the log with its seq and hash" "1"
finish
