#!/usr/bin/env bash
# The teardown record says "complete" only when it verified that nothing of
# the session is left. With `teardown = none` nothing is killed and nothing
# is verified: at the grant's end the torn-down audit event must not claim
# "complete": true, here with the session's process still alive.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault_lib.sh"
jt_setup

user_add jt_alice
HOLDER=
# shellcheck disable=SC2154 # rc is set by the trap's first command
trap 'rc=$?; [ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null; (exit $rc); cleanup' EXIT
config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
teardown = none

[role:ops]
members   = jt_alice
services  = login
approval  = auto
ticket    = none
EOF2
jitd_start || exit 1

expect 0 "alice gets a 3s grant" "active" -- jc jt_alice request -r ops -d 3s
id=$(grant_of jt_alice ops)
end=$(grant_expires "$id")
# A root process opens alice's session (as a login program would) and stays.
python3 "$ROOT/tests/helpers/pamlike.py" "$SOCK" jt_alice login --hold 30 >/dev/null 9>&- &
HOLDER=$!
wait_for 3 bash -c "[ \$(sqlite3 '$DB' 'SELECT count(*) FROM sessions WHERE grant_id = $id') = 1 ]" \
        && ok "the session of pid $HOLDER is registered under grant $id" || not_ok "session registered" "$(tail -n 3 "$T/jitd.log")"
wait_for $(( end - $(date +%s) + 4 )) bash -c "[ \$(sqlite3 '$DB' \"SELECT count(*) FROM audit WHERE grant_id = $id AND event = 'torn-down'\") -ge 1 ]" \
        && ok "the grant ended and its torn-down event is recorded" || not_ok "torn-down recorded" "$(grant_state "$id")"
kill -0 "$HOLDER" 2>/dev/null && ok "the session's process is alive (teardown = none kills nothing)" \
        || not_ok "the session's process is still alive"
details=$(sqlite3 "$DB" "SELECT details FROM audit WHERE grant_id = $id AND event = 'torn-down'")
complete=$(sqlite3 "$DB" "SELECT json_extract(details, '$.complete') FROM audit WHERE grant_id = $id AND event = 'torn-down'")
[ "$complete" != 1 ] && ok "the torn-down event does not claim complete" \
        || not_ok "the torn-down event must not claim \"complete\": true with teardown = none" "$details"
killed=$(sqlite3 "$DB" "SELECT coalesce(json_extract(details, '$.sessions_killed'), 0) FROM audit WHERE grant_id = $id AND event = 'torn-down'")
[ "$killed" = 0 ] && ok "nor counts the live session as killed" \
        || not_ok "the torn-down event does not count a live session as killed" "$details"
finish
