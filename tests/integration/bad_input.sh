#!/usr/bin/env bash
# Bad input gets a clear error, nothing is written, and jitd keeps serving;
# a PAM module facing a dead or hung jitd denies within its timeout.
. "$(dirname "$0")/../lib.sh"
jt_setup

group_add jt_sec
user_add jt_alice
user_add jt_bob jt_sec

config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost

[role:web-admin]
members   = jt_alice
approval  = peer
approvers = %jt_sec
ticket_pattern = ^(CHG|INC)[0-9]+\$
default_duration = 1h
max_duration = 4h
EOF2
jitd_start || exit 1
pam_service sudo "timeout=400"

expect 0 "a valid request is accepted" "pending" -- jc jt_alice request -r web-admin -t CHG1 -m "baseline"
jc jt_alice cancel 1 >/dev/null
grants=$(db_count grants); events=$(db_count audit)
unchanged() {
        if [ "$(db_count grants)" = "$grants" ] && [ "$(db_count audit)" = "$events" ]; then
                ok "$1: nothing was written"
        else
                not_ok "$1: nothing was written" "grants $(db_count grants) (was $grants), audit $(db_count audit) (was $events)"
        fi
}

for d in -5m 0 0s 1x 99999999d 90 "1h 30m" ""; do
        expect 2 "duration '$d' is a usage error" "duration" -- jc jt_alice request -r web-admin -d "$d"
done
unchanged "bad durations"
expect 1 "a duration over the role's maximum is refused" "exceeds the role's maximum" -- \
        jc jt_alice request -r web-admin -d 5h
expect 1 "a ticket with a shell metacharacter is refused" "invalid ticket" -- jc jt_alice request -r web-admin -t 'CHG1;id'
expect 1 "a ticket with sudoers metacharacters is refused" "invalid ticket" -- jc jt_alice request -r web-admin -t 'CHG1,ALL=(ALL)'
expect 1 "a ticket with a newline is refused" "" -- jc jt_alice request -r web-admin -t $'CHG1\nalice ALL=(ALL) ALL'
expect 1 "a ticket not matching ticket_pattern is refused" "does not match" -- jc jt_alice request -r web-admin -t FOO-1
expect 1 "a role name with a newline is refused" "" -- jc jt_alice request -r $'web-admin\nx'
expect 1 "a role name with sudoers metacharacters is refused" "invalid role name" -- jc jt_alice request -r 'web admin,ALL'
expect 1 "an unknown role is refused" "no role 'nope'" -- jc jt_alice request -r nope
expect 1 "a reason with control characters is refused" "" -- jc jt_alice request -r web-admin -m $'ok\x1b[31mred'
expect 1 "bob is not eligible and is told why" "not eligible for role web-admin on host testhost: not a member" -- \
        jc jt_bob request -r web-admin
unchanged "refused requests"

# Hand-made frames: the decoder refuses them, jitd answers why and keeps serving.
raw() { as "$1" "$T/bin/rawsend" "$SOCK" "${@:2}"; }
f_ok=$(frame 1 "")
expect 0 "a well-formed ping frame is answered" "^ok" -- raw jt_alice "$f_ok"
expect 0 "a truncated frame is refused" "error EBADMSG: message of 5 bytes is shorter than the header" -- \
        raw jt_alice 4454494a01
expect 0 "an oversized frame is refused" "error EBADMSG: message of 9000 bytes exceeds the limit" -- raw jt_alice Z9000
expect 0 "a wrong protocol version is refused" "error EPROTO: protocol version 9" -- raw jt_alice "$(frame 1 "" 9)"
expect 0 "an unknown request type is refused" "error EBADMSG: unknown message type 200" -- raw jt_alice "$(frame 200 "")"
expect 0 "a reply type sent as a request is refused" "error EBADMSG: 'ok' is a reply" -- raw jt_alice "$(frame 64 "")"
expect 0 "a length field that lies is refused" "error EBADMSG: length field" -- raw jt_alice 4454494a0101000005000000
expect 0 "a client claiming another user's name is refused" \
        "error EBADMSG: field 'user' not allowed in 'request'" -- \
        raw jt_bob "$(frame 3 "$(fstr 2 jt_alice)$(fstr 6 web-admin)")"
expect 0 "a check from a non-root peer is refused" "error EPERM: 'check' is for root only" -- \
        raw jt_alice "$(frame 2 "$(fstr 2 jt_alice)$(fstr 5 sudo)")"
expect 0 "a zero duration on the wire is refused" "error EINVAL: duration out of range" -- \
        raw jt_alice "$(frame 3 "$(fstr 6 web-admin)$(fu64 10 0)")"
expect 0 "a string with a newline on the wire is refused" "error EBADMSG: field 'reason' contains control" -- \
        raw jt_alice "$(frame 3 "$(fstr 6 web-admin)$(fstr 8 $'a\nb')")"
expect 0 "garbage then a good frame on one connection: both answered" $'error EBADMSG.*\nok' -- \
        raw jt_alice deadbeef "$f_ok"
unchanged "hand-made frames"
expect 0 "jitd still serves after all of that" "host +testhost" -- jc jt_alice status
grep -q "refused a message from pid" "$T/jitd.log" && ok "jitd logged the refused frames" || not_ok "jitd logged the refused frames"

# An idle connection does not block anyone.
raw jt_alice --hold 3 &
holder=$!
expect 0 "a silent connection does not block others" "host +testhost" -- jc jt_alice status
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null

# A flood of idle connections from one user, more than jitd lets one user
# hold and more than a default descriptor limit allows: past the per-user
# cap they are closed at once, PAM and jitctl still get in, and when they all
# close at once (one batch of hang-up events) jitd is unharmed.
cat >"$T/flood.py" <<'EOF2'
import resource, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
held = []
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    held.append(s)
print(len(held), flush=True)
time.sleep(60)
EOF2
flood_gone() { ! pgrep -u jt_alice -f flood.py >/dev/null; }
flood() {  # flood N WHAT
        rm -f "$T/flood.ready"
        : >"$T/jitd.log"
        as jt_alice python3 "$T/flood.py" "$SOCK" "$1" >"$T/flood.ready" 2>"$T/flood.err" &
        local pid=$!
        if wait_for 20 test -s "$T/flood.ready"; then
                ok "$2: one user opened $1 connections to jitd"
        else
                not_ok "$2: $1 connections opened" "$(cat "$T/flood.err")"
        fi
        expect 0 "$2: jitctl still gets an answer" "host +testhost" -- jc jt_bob status
        expect 1 "$2: a PAM check still gets jitd's answer (no grant), not a timeout" \
                "no active elevation for jt_alice" -- pam_check sudo jt_alice
        expect 0 "$2: jitd refused the user's connections past the per-user cap" \
                "uid [0-9]+ holds [0-9]+ connections already; refusing more" -- cat "$T/jitd.log"
        kill "$pid" 2>/dev/null; pkill -u jt_alice -f flood.py; wait "$pid" 2>/dev/null
        # runuser may be gone before its python has closed every socket.
        wait_for 10 flood_gone
        expect 0 "$2: after all of them closed at once jitd still serves" "host +testhost" -- jc jt_alice status
        expect 1 "$2: no accept failed" -- grep "accept:" "$T/jitd.log"
}
flood 1300 "over the connection cap"
# The same where descriptors run out first: jitd limited to 200 from outside.
prlimit --nofile=200:200 --pid "$JITD_PID"
flood 400 "out of descriptors"

# Config errors: every one reported with file:line, and jitd refuses to start.
bad=$T/bad.conf
cat >"$bad" <<EOF2
[jitd]
socket = $T/other.sock
colour = blue

[role:a]
members = jt_alice
member = jt_bob

[role:b]
members = jt_alice
default_duration = 2h
max_duration = 1h

[role:a]
members = jt_bob
EOF2
chmod 0644 "$bad"
expect 1 "jitd --check reports an unknown key with file:line" "bad.conf:3: .*colour" -- "$T/bin/jitd" -c "$bad" --check
expect 1 "... and a misspelt role key" "bad.conf:7: .*member" -- "$T/bin/jitd" -c "$bad" --check
expect 1 "... and max_duration below default_duration" "bad.conf:9: .*max_duration" -- "$T/bin/jitd" -c "$bad" --check
expect 1 "... and a duplicate role" "bad.conf:14: .*(duplicate|already)" -- "$T/bin/jitd" -c "$bad" --check
expect 1 "jitd refuses to start with a broken config" "refusing to start" -- "$T/bin/jitd" -c "$bad"
# --check is what systemctl reload runs first: the running jitd stays.
expect 1 "jitd --check (the reload's first step) does not say it refuses to start" \
        "a running jitd keeps the configuration it has" -- "$T/bin/jitd" -c "$bad" --check
[ ! -e "$T/other.sock" ] && ok "no socket was created by the refused start" || not_ok "no socket from a refused start"
chmod 0666 "$bad"
expect 1 "jitd refuses a world-writable config" "writable by group or others" -- "$T/bin/jitd" -c "$bad" --check

# PAM fails closed against a hung and a dead jitd, within its timeout.
kill -STOP "$JITD_PID"
start=$(date +%s%N)
expect 1 "pam_jit denies when jitd is hung (SIGSTOP)" "PAM_PERM_DENIED" -- pam_check sudo jt_alice
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 1400 ] && ok "... within its 400 ms timeout plus process start-up (${ms} ms)" || not_ok "hung jitd took ${ms} ms"
kill -CONT "$JITD_PID"
jitd_stop
expect 1 "pam_jit denies when jitd is not running" "PAM_PERM_DENIED" -- pam_check sudo jt_alice
expect 3 "jitctl says jitd is unreachable with exit 3" "cannot reach jitd" -- jc jt_alice status
finish
