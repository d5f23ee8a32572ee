#!/usr/bin/env bash
# Session recording with real sudo, in a private mount namespace: a recorded
# grant's sudo session is written in sudo's own I/O log format under the
# grant's directory, sealed into the audit chain ("recorded", with the
# SHA-256 anyone can recompute with coreutils), replayed with jitctl replay by
# an approver (not by the user, nor by others); an unrecorded role leaves no
# recording; one byte changed is named by audit verify; with the recording
# directory full the session is refused, with one line for the user, and the
# refusal is audited; retention prunes with an audited event, but never the
# recordings of a break-glass grant whose review is pending.
. "$(dirname "$0")/../lib.sh"
needs_plain_pam_module
in_private_namespace "$@"
jt_setup

group_add jt_sec
user_add jt_alice
user_add jt_bob jt_sec
user_add jt_carol
user_add jt_dave

REC=$T/rec
config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
record_dir = $REC
record_retention = 1h

[role:ops]
members   = jt_alice
services  = sudo
commands  = ALL
nopasswd  = yes
approval  = peer
approvers = %jt_sec
ticket    = none
record    = all

[role:plain]
members   = jt_carol
services  = sudo
commands  = ALL
nopasswd  = yes
approval  = auto
ticket    = none

[role:quiet]
members   = jt_dave
services  = sudo
commands  = ALL
nopasswd  = yes
approval  = auto
ticket    = none
record    = output
break_glass = jt_dave
EOF2
sudoers_write
system_pam_stack "$T/pam-sudo"
bind_over "$T/sudoers" /etc/sudoers
bind_over "$T/pam-sudo" /etc/pam.d/sudo
jitd_start || exit 1

sudo_as() { as "$1" sudo -n "${@:2}"; }
last_id() { jc "$1" list --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[-1]["id"] if d else "")'; }
events() { jc root audit --json | python3 -c "
import json,sys
for l in sys.stdin:
    e=json.loads(l)
    if e['event']=='$1' and (not '$2' or str(e.get('grant_id',e.get('grant','')))=='$2'): print(json.dumps(e.get('details',{})))"; }

perm=$(stat -c '%a %U' "$REC" 2>&1)
[ "$perm" = "700 root" ] && ok "jitd made record_dir root's, 0700" || not_ok "record_dir mode" "$perm"

expect 0 "alice requests ops (record = all)" "pending" -- jc jt_alice request -r ops -d 1h -m "recorded"
id=$(last_id jt_alice)
expect 0 "bob approves" "active" -- jc jt_bob approve "$id"
expect 0 "the drop-in logs input and output" "LOG_INPUT: LOG_OUTPUT:" -- cat "$T/sudoers.d/jit-$id"
expect 0 "the drop-in sends sudo's I/O log to the grant's directory" "iolog_dir=$REC/$id/sudo" -- cat "$T/sudoers.d/jit-$id"
expect 0 "visudo accepts the recorded drop-in" "" -- visudo -cf "$T/sudoers.d/jit-$id"
expect 0 "sudo runs the recorded command" "secret-marker" -- sudo_as jt_alice sh -c 'echo secret-marker'
expect 0 "sudo's I/O log of the session is there" "" -- test -f "$REC/$id/sudo/00/00/01/log"
wait_for 5 bash -c "[ -n \"\$(sqlite3 '$DB' 'SELECT hash FROM recordings WHERE sealed_at IS NOT NULL')\" ]" \
        && ok "the recording is sealed once its session closed" || not_ok "the recording is sealed" "$(tail -5 "$T/jitd.log")"
ev=$(events recorded "$id")
want=$(cd "$REC/$id/sudo/00/00/01" && ls -A | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
got=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sha256"])' "$ev" 2>/dev/null)
[ -n "$want" ] && [ "$want" = "$got" ] && ok "a 'recorded' event carries the SHA-256 coreutils computes ($want)" \
        || not_ok "recorded event hash" "want $want got $got ($ev)"
expect 0 "the recorded event names the session and the path" "\"path\": \"$id/sudo/00/00/01\"" -- echo "$ev"
expect 0 "the session's recording is listed by show" "00/00/01" -- jc jt_alice show "$id"

# Replay: admins and the grant's approvers; not the user, not others.
expect 0 "an approver replays the session: secret-marker" "secret-marker" -- jc jt_bob replay "$id"
expect 0 "root replays it too" "secret-marker" -- jc root replay "$id" --session 1
expect 1 "the grant's own user may not replay it" "" -- jc jt_alice replay "$id"
expect 1 "another user may not replay it" "" -- jc jt_carol replay "$id"
expect 0 "the chain and the recording verify" "intact" -- jc root audit verify

# An unrecorded role records nothing.
expect 0 "carol gets plain (no recording)" "active" -- jc jt_carol request -r plain -d 1h
cid=$(last_id jt_carol)
expect 1 "carol's drop-in has no log tags and no iolog_dir" "" -- grep -E 'LOG_|iolog' "$T/sudoers.d/jit-$cid"
expect 0 "carol's sudo runs" "plain-run" -- sudo_as jt_carol sh -c 'echo plain-run'
[ ! -e "$REC/$cid" ] && ok "an unrecorded role leaves no recording" || not_ok "no recording for plain" "$(find "$REC/$cid")"

expect 0 "report counts the recorded sessions and their size" "recorded sessions: +1 .*" -- \
        jc root report
expect 0 "report --prometheus has the recording figures" "^jit_recorded_sessions_total 1$" -- jc root report --prometheus
doctor_out=$("$T/bin/jitctl" -s "$SOCK" doctor -c "$CONF" 2>&1)
grep -qE "OK +record_dir +$REC: root-owned, mode 0700" <<<"$doctor_out" && ok "doctor checks the recording directory" \
        || not_ok "doctor checks record_dir" "$doctor_out"

# One byte changed: audit verify names the recording.
f=$REC/$id/sudo/00/00/01/log
printf 'X' | dd of="$f" bs=1 seek=0 conv=notrunc 2>/dev/null
expect 1 "one byte changed: audit verify names the recording" "$id/sudo/00/00/01.*(edited|differs)" -- jc root audit verify
expect 1 "jitctl replay refuses an altered recording" "does not match its seal" -- jc root replay "$id"

# Break-glass grants are recorded whatever the role says (record_break_glass
# defaults to all): dave's role records output only, his break-glass both.
expect 0 "dave breaks glass" "active" -- jc jt_dave break-glass -r quiet -m "outage"
did=$(last_id jt_dave)
expect 0 "the break-glass drop-in logs input too" "LOG_INPUT: LOG_OUTPUT:" -- cat "$T/sudoers.d/jit-$did"
expect 0 "dave's sudo runs, recorded" "glass-marker" -- sudo_as jt_dave sh -c 'echo glass-marker'
wait_for 5 bash -c "[ \$(sqlite3 '$DB' 'SELECT count(*) FROM recordings WHERE grant_id = $did AND sealed_at IS NOT NULL') = 1 ]" \
        && ok "dave's break-glass session is sealed" || not_ok "break-glass recording sealed"

# A full recording directory: the session is refused before sudo runs it,
# the user reads one line, the refusal is audited, nothing is half-written.
expect 0 "alice releases her first grant" "released" -- jc jt_alice release "$id"
expect 0 "alice gets a second ops grant" "pending" -- jc jt_alice request -r ops -d 1h -m "full disk"
id2=$(last_id jt_alice)
jc jt_bob approve "$id2" >/dev/null
mount -t tmpfs -o size=256k,mode=0700 jt-rec-full "$REC/$id2/sudo"
dd if=/dev/zero of="$REC/$id2/sudo/fill" bs=4k 2>/dev/null
expect 1 "with the recording directory full, sudo is refused" \
        "^jit: elevation $id2 is recorded, and its recording cannot be written \\(.* is full\\); refused$" -- \
        sudo_as jt_alice sh -c 'echo must-not-run'
grep -q must-not-run <<<"$LAST_OUT" && not_ok "the refused command did not run" || ok "the refused command did not run"
expect 0 "the refusal is audited" "is full" -- events recording-failed "$id2"
left=$(find "$REC/$id2/sudo" -mindepth 1 ! -name fill | wc -l)
[ "$left" = 0 ] && ok "nothing half-written in the full directory" || not_ok "nothing half-written" "$(find "$REC/$id2/sudo")"
umount "$REC/$id2/sudo"
chmod 0755 "$REC/$id2/sudo"
expect 1 "a recording directory others can read: refused" "not root's alone" -- sudo_as jt_alice true
chmod 0700 "$REC/$id2/sudo"
expect 0 "with room and a safe directory, sudo runs again" "room-again" -- sudo_as jt_alice sh -c 'echo room-again'

# Retention: with record_retention = 2s, sealed recordings go, each with an
# audited event, but never those of a break-glass grant awaiting review.
jitd_stop
sed -i 's/^record_retention = 1h/record_retention = 2s/' "$CONF"
jitd_start || exit 1
wait_for 8 test ! -e "$REC/$id/sudo/00/00/01" && ok "alice's first recording is pruned after its retention" \
        || not_ok "alice's recording pruned" "$(tail -5 "$T/jitd.log")"
expect 0 "the pruning is audited" "\"path\": \"$id/sudo/00/00/01\"" -- events recording-pruned "$id"
[ -d "$REC/$did/sudo/00/00/01" ] && ok "the break-glass recording awaiting review is kept" \
        || not_ok "break-glass recording kept"
expect 0 "show says the recording was pruned" "pruned" -- jc root show "$id"
expect 0 "a pruned recording is no audit verify failure" "intact" -- jc root audit verify
expect 0 "an admin reviews dave's break-glass grant" "" -- jc root review "$did" --accept -m "watched the recording"
wait_for 8 test ! -e "$REC/$did/sudo/00/00/01" && ok "reviewed, the break-glass recording is pruned too" \
        || not_ok "reviewed break-glass recording pruned"

finish
