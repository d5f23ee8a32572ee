#!/usr/bin/env bash
# Real sudo, as a real test user, in a private mount namespace: denied before
# a grant, allowed during it (sudo -l shows the NOTAFTER rule), denied after;
# a running sudo session and the children it forked die at expiry; with jitd
# killed by SIGKILL, sudo still refuses after NOTAFTER and the restarted jitd
# kills what survived and removes the drop-in.
. "$(dirname "$0")/../lib.sh"
needs_plain_pam_module
in_private_namespace "$@"
jt_setup

group_add jt_sec
user_add jt_alice
user_add jt_bob jt_sec
user_add jt_carol
user_add jt_dave

config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
warn_before = 2s

[role:ops]
members   = jt_alice
services  = sudo
runas     = root
commands  = ALL
nopasswd  = yes
approval  = peer
approvers = %jt_sec
ticket    = none
default_duration = 1h
max_duration = 4h

[role:batch]
members   = jt_bob, jt_carol, jt_dave
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
M=$$    # markers unique to this run, so that stray processes cannot confuse it
# shellcheck disable=SC2154 # rc is set by the trap's first command
trap 'rc=$?; pkill -f "sleep 61[3-7].$M" 2>/dev/null; chattr -i "$T"/sudoers.d/* 2>/dev/null; (exit $rc); cleanup' EXIT
open_sessions() { sqlite3 "$DB" "SELECT count(*) FROM sessions WHERE grant_id = $1 AND closed_at IS NULL"; }

sudo_as() { as "$1" sudo -n "${@:2}"; }
grant_id() { jc jt_alice list --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[0]["id"] if d else "")'; }

expect 1 "before a grant real sudo refuses alice" "" -- sudo_as jt_alice true
expect 0 "alice requests ops for 4s" "pending" -- jc jt_alice request -r ops -d 4s -m "e2e"
id=$(grant_id)
expect 1 "a pending grant gives no sudo" "" -- sudo_as jt_alice true
expect 0 "bob approves" "active" -- jc jt_bob approve "$id"
[ -f "$T/sudoers.d/jit-$id" ] && ok "the drop-in jit-$id exists" || not_ok "the drop-in jit-$id exists"
perm=$(stat -c '%a %U:%G' "$T/sudoers.d/jit-$id" 2>&1)
[ "$perm" = "440 root:root" ] && ok "the drop-in is 0440 root:root" || not_ok "drop-in mode" "$perm"
expect 0 "visudo accepts the drop-in" "" -- visudo -cf "$T/sudoers.d/jit-$id"
expect 0 "during the grant sudo runs a command as root" "^0$" -- sudo_as jt_alice id -u
expect 0 "sudo -l shows the rule with NOTAFTER" "NOTAFTER=[0-9]{14}Z" -- sudo_as jt_alice -l

# A long session and a child it forked; both must die at expiry.
as jt_alice sudo -n sh -c "sleep 613.1$M & exec sleep 613.2$M" >/dev/null 2>&1 &
wait_for 3 pgrep -f "sleep 613.1$M" && wait_for 3 pgrep -f "sleep 613.2$M"
expires=$(jc jt_alice show "$id" --json | python3 -c 'import json,sys,datetime; g=json.load(sys.stdin); print(int(datetime.datetime.fromisoformat(g["expires_at"].replace("Z","+00:00")).timestamp()))')
wait_for 8 bash -c "! pgrep -f '[s]leep 613.[12]$M'"
gone_ms=$(now_ms)
late=$(( gone_ms - expires * 1000 ))
if ! pgrep -f "sleep 613.[12]$M" >/dev/null && [ "$late" -lt 1000 ]; then
        ok "the sudo session and its child died ${late} ms after the end time (< 1 s)"
else
        not_ok "the sudo session and its child died within 1 s of expiry" "late by ${late} ms; $(pgrep -af "sleep 613" || true)"
fi
[ ! -e "$T/sudoers.d/jit-$id" ] && ok "the drop-in is gone" || not_ok "the drop-in is gone"
expect 1 "after expiry sudo refuses again" "" -- sudo_as jt_alice true
expect 0 "the grant is expired" "state: +expired" -- jc jt_alice show "$id"

# A command left running in the background by a sudo that has returned (its
# session is closed), double-forked and setsid'ed to escape, dies too.
expect 0 "alice requests a 3s grant" "pending" -- jc jt_alice request -r ops -d 3s
idb=$(grant_id)
jc jt_bob approve "$idb" >/dev/null
as jt_alice sudo -n sh -c "setsid sh -c 'sleep 616.1$M &' </dev/null >/dev/null 2>&1" </dev/null >/dev/null 2>&1
if wait_for 3 pgrep -f "sleep 616.1$M"; then ok "sudo returned, leaving a setsid'ed background command"
else not_ok "the background command started"; fi
expect 0 "sudo's session is closed" "^1$" -- \
        sqlite3 "$DB" "SELECT count(*) FROM sessions WHERE grant_id = $idb AND closed_at IS NOT NULL"
wait_for 6 bash -c "! pgrep -f '[s]leep 616.1$M'" && ok "the escaped background command died with the grant" \
        || not_ok "escaped background command died with the grant" "$(pgrep -af 'sleep 616' || true)"

# pam_jit is the second lock: a drop-in that survives its grant opens nothing.
expect 0 "alice gets a new grant" "pending" -- jc jt_alice request -r ops -d 1h
id2=$(grant_id)
jc jt_bob approve "$id2" >/dev/null
cp -p "$T/sudoers.d/jit-$id2" "$T/saved-dropin"
expect 0 "an admin revokes it" "revoked" -- jc root revoke "$id2" -m "test the second lock"
cp -p "$T/saved-dropin" "$T/sudoers.d/jit-$id2"
expect 1 "with the drop-in put back by hand, pam_jit still refuses" "" -- sudo_as jt_alice true
rm -f "$T/sudoers.d/jit-$id2"

# jitd dies hard before the end time; sudo itself stops at NOTAFTER; the
# restarted jitd kills the surviving session and removes the drop-in.
expect 0 "alice requests a 3s grant" "pending" -- jc jt_alice request -r ops -d 3s
id3=$(grant_id)
jc jt_bob approve "$id3" >/dev/null
as jt_alice sudo -n sleep 614.1$M >/dev/null 2>&1 &
# Registered means acknowledged: sudo runs the command only then.
wait_for 5 bash -c "[ \$(sqlite3 '$DB' 'SELECT count(*) FROM sessions WHERE grant_id = $id3 AND closed_at IS NULL') = 1 ] && pgrep -f 'sleep 614.1$M'" \
        && ok "the sudo session is registered under grant $id3" || not_ok "the sudo session is registered"
kill -KILL "$JITD_PID"; wait "$JITD_PID" 2>/dev/null; JITD_PID=
sleep 3.5
[ -e "$T/sudoers.d/jit-$id3" ] && ok "with jitd dead the drop-in is still there" || not_ok "drop-in survived jitd's death"
expect 1 "yet sudo refuses after NOTAFTER on its own" "" -- sudo_as jt_alice true
pgrep -f "sleep 614.1$M" >/dev/null && ok "the session survived while jitd was dead" || not_ok "session survived jitd"
jitd_start || exit 1
wait_for 3 bash -c "! pgrep -f '[s]leep 614.1$M'" && ok "the restarted jitd killed the surviving session" \
        || not_ok "restarted jitd killed the session" "$(pgrep -af 'sleep 614' || true)
$(sqlite3 "$DB" 'SELECT * FROM sessions') $(tail -n 12 "$T/jitd.log")"
[ ! -e "$T/sudoers.d/jit-$id3" ] && ok "and removed the drop-in" || not_ok "restarted jitd removed the drop-in"
expect 0 "the grant is expired" "state: +expired" -- jc jt_alice show "$id3"

# warn_before: a session on a terminal is told before its grant ends.
expect 0 "alice requests a 4s grant" "pending" -- jc jt_alice request -r ops -d 4s
id5=$(grant_id)
jc jt_bob approve "$id5" >/dev/null
typescript=$(as jt_alice script -qfec "sudo -n sleep 615.1$M" /dev/null 2>&1)
if grep -q "jit: your elevation (grant $id5, role ops) ends at" <<<"$typescript"; then
        ok "the terminal of the sudo session got the end-of-grant notice"
else
        not_ok "end-of-grant notice on the terminal" "$(cat -v <<<"$typescript") $(sqlite3 "$DB" "SELECT tty FROM sessions WHERE grant_id = $id5") $(grep -E 'warned|grant=$id5|grant $id5' "$T/jitd.log")"
fi
expect 0 "and the session was still closed at the end" "^1$" -- \
        sqlite3 "$DB" "SELECT count(*) FROM sessions WHERE grant_id = $id5 AND end_reason = 'expired'"

# A drop-in planted by hand, and one altered behind jitd's back, are repaired.
expect 0 "alice gets a grant again" "pending" -- jc jt_alice request -r ops -d 1h
id4=$(grant_id)
jc jt_bob approve "$id4" >/dev/null
echo "jt_alice ALL=(ALL) NOPASSWD: ALL" >"$T/sudoers.d/jit-9999"; chmod 0440 "$T/sudoers.d/jit-9999"
echo "# tampered" >>"$T/sudoers.d/jit-$id4"
jitd_stop; jitd_start || exit 1
[ ! -e "$T/sudoers.d/jit-9999" ] && ok "reconciliation removed a planted jit-9999" || not_ok "planted drop-in removed"
if ! grep -q tampered "$T/sudoers.d/jit-$id4" 2>/dev/null && [ -e "$T/sudoers.d/jit-$id4" ]; then
        ok "reconciliation rewrote the altered drop-in"
else
        not_ok "altered drop-in rewritten"
fi
expect 0 "both repairs are audited" "dropin-removed.*dropin-restored|dropin-restored.*dropin-removed" -- \
        sqlite3 "$DB" "SELECT group_concat(event, ' ') FROM audit WHERE event LIKE 'dropin-%'"
# Grants ending in the same second go together: every drop-in, then every
# session. One drop-in that cannot be removed (immutable) is reported in the
# log and in its audit event, and holds up neither the others nor its own
# sessions' death.
users=(jt_bob jt_carol jt_dave)    # alice holds ops still: her sessions go with that grant
for u in "${users[@]}"; do
        expect 0 "$u gets role batch at once (auto)" "active" -- jc "$u" request -r batch -d 1h -m "mass expiry"
done
mapfile -t bids < <(sqlite3 "$DB" "SELECT id FROM grants WHERE role = 'batch' AND state = 'active' ORDER BY id")
for i in 0 1 2; do
        as "${users[$i]}" sudo -n sleep "617.$i$M" >/dev/null 2>&1 &
done
wait_for 5 bash -c "[ \$(sqlite3 '$DB' \"SELECT count(*) FROM sessions WHERE closed_at IS NULL AND grant_id IN (${bids[0]}, ${bids[1]}, ${bids[2]})\") = 3 ]" \
        && ok "three sudo sessions are registered, one per batch grant" || not_ok "three batch sessions registered"
jitd_stop
immutable=
chattr +i "$T/sudoers.d/jit-${bids[2]}" 2>/dev/null && immutable=1
end=$(( $(date +%s) + 3 ))
sqlite3 "$DB" "UPDATE grants SET expires_at = $end WHERE id IN (${bids[0]}, ${bids[1]}, ${bids[2]})"
jitd_start || exit 1
wait_for 6 bash -c "! pgrep -f '[s]leep 617.[0-2]$M'"
gone_ms=$(now_ms)
late=$(( gone_ms - end * 1000 ))
if ! pgrep -f "sleep 617.[0-2]$M" >/dev/null && [ "$late" -lt 1500 ]; then
        ok "all three sessions died together, within 1.5 s of their common end"
else
        not_ok "three sessions died at their common end" "late by $late ms; $(pgrep -af 'sleep 617' || true)"
fi
[ ! -e "$T/sudoers.d/jit-${bids[0]}" ] && [ ! -e "$T/sudoers.d/jit-${bids[1]}" ] \
        && ok "their drop-ins are gone" || not_ok "batch drop-ins removed" "$(ls "$T/sudoers.d")"
expect 0 "no batch session is left live" "^0$" -- sqlite3 "$DB" \
        "SELECT count(*) FROM sessions WHERE torn_down_at IS NULL AND grant_id IN (${bids[0]}, ${bids[1]}, ${bids[2]})"
expect 0 "each grant has its own torn-down event" "^3$" -- sqlite3 "$DB" \
        "SELECT count(*) FROM audit WHERE event = 'torn-down' AND grant_id IN (${bids[0]}, ${bids[1]}, ${bids[2]}) AND json_extract(details, '$.sessions_killed') = 1"
if [ -n "$immutable" ]; then
        expect 0 "the drop-in that could not go is in the log" "cannot remove .*/jit-${bids[2]}: Operation not permitted" -- \
                cat "$T/jitd.log"
        expect 0 "and its torn-down event says incomplete, the others complete" "^0 1 1$" -- sqlite3 "$DB" \
                "SELECT group_concat(json_extract(details, '$.complete'), ' ') FROM (SELECT details FROM audit WHERE event = 'torn-down' AND grant_id IN (${bids[0]}, ${bids[1]}, ${bids[2]}) ORDER BY grant_id DESC)"
        chattr -i "$T/sudoers.d/jit-${bids[2]}"
        jitd_stop; jitd_start || exit 1
        [ ! -e "$T/sudoers.d/jit-${bids[2]}" ] && ok "once removable, reconciliation removed it" \
                || not_ok "leftover drop-in removed by reconciliation"
else
        rm -f "$T/sudoers.d/jit-${bids[2]}"
        ok "# skip: chattr +i is not supported on $(df -T "$T" | awk 'NR == 2 { print $2 }')"
fi
finish
