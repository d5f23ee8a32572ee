#!/usr/bin/env bash
# A scheduled grant (its ticket's change window opens in the future) has its
# drop-in in place already, with NOTBEFORE, so that sudo lets the user in at
# the window's start on its own. Neither start-up reconciliation (a jitd
# restart) nor a reload may remove it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault_lib.sh"
jt_setup

user_add jt_alice
ticketd_start s3cret jt_alice || exit 1
# shellcheck disable=SC2154 # rc is assigned inside the trap string
trap 'rc=$?; kill "$TICKETD" 2>/dev/null; (exit $rc); cleanup' EXIT

printf 'admin:s3cret\n' >"$T/token"; chmod 0600 "$T/token"
config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
teardown = cgroup

[role:change]
members   = jt_alice
services  = sudo
runas     = root
commands  = ALL
approval  = ticket
ticket    = required
default_duration = 1h
max_duration = 4h

[ticket]
provider   = servicenow
url        = https://127.0.0.1:$HTTPS
token_file = $T/token
ca_file    = $T/ca.pem
poll       = 1s
timeout    = 3s
EOF2
jitd_start || exit 1

ws=$(( $(date +%s) + 120 )); we=$(( ws + 600 ))
ticket CHG800 "{\"state\":\"approved\",\"requester\":\"jt_alice\",\"hosts\":[\"testhost\"],\"window\":[$ws,$we]}"
expect 0 "a ticket whose window opens in 2 minutes schedules the grant" "scheduled" -- \
        jc jt_alice request -r change -t CHG800
id=$(grant_of jt_alice change)
drop=$T/sudoers.d/jit-$id
expect 0 "its drop-in is in place with NOTBEFORE" "NOTBEFORE=[0-9]{14}Z" -- cat "$drop"
cp "$drop" "$T/dropin.before"

expect 0 "an admin reloads the configuration" "" -- jc root reload
if [ -e "$drop" ]; then ok "jitctl reload (its reconciliation) keeps the scheduled grant's drop-in"
else not_ok "reload keeps the scheduled grant's drop-in" "removed; $(tail -n 3 "$T/jitd.log")"; fi
cmp -s "$drop" "$T/dropin.before" && ok "unchanged after the reload" || not_ok "drop-in unchanged after reload" "$(cat "$drop" 2>&1)"
expect 0 "the grant is still scheduled after the reload" "^scheduled$" -- grant_state "$id"

# Judge the restart on its own: put the drop-in back as jitd wrote it.
[ -e "$drop" ] || install -m 0440 -o root -g root "$T/dropin.before" "$drop"
jitd_stop
jitd_start || exit 1
if [ -e "$drop" ]; then ok "a jitd restart (start-up reconciliation) keeps the scheduled grant's drop-in"
else not_ok "restart keeps the scheduled grant's drop-in" "removed; $(grep -i "jit-$id\|grant $id" "$T/jitd.log" | tail -n 3)"; fi
cmp -s "$drop" "$T/dropin.before" && ok "unchanged, NOTBEFORE included" || not_ok "drop-in unchanged after restart" "$(cat "$drop" 2>&1)"
expect 0 "the grant is still scheduled" "^scheduled$" -- grant_state "$id"
expect 0 "no dropin-removed event for it" "^0$" -- \
        sqlite3 "$DB" "SELECT count(*) FROM audit WHERE grant_id = $id AND event = 'dropin-removed'"

# A second restart and reload, now that the first ones may have rewritten it.
jitd_stop; jitd_start || exit 1
jc root reload >/dev/null
[ -e "$drop" ] && ok "still there after a second restart and reload" || not_ok "drop-in survives a second restart and reload"
finish
