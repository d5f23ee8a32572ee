#!/usr/bin/env bash
# The ticket system from jitd's side of the fence. jitd (root) never parses
# what the ticket system sends: a helper process does, as an unprivileged user
# with no capabilities, no_new_privs and a seccomp filter, and jitd decodes its
# messages strictly. A helper that is killed or says something malformed is
# replaced and lookups go on. A user cannot use jitd against somebody else's
# ticket (the refusal names nobody, and nothing is written on that ticket), nor
# spend the ticket system's quota or jitd's descriptors by requesting and
# cancelling in a loop.
#
# Runs in a private mount namespace: an /etc/hosts of our own names the ticket
# system, so lookups go through the resolver inside the sandbox.
. "$(dirname "$0")/../lib.sh"
in_private_namespace "$@"
jt_setup

user_add jt_eve
user_add jt_ceo
TICKETD_SAN=tickets.jit.test ticketd_start s3cret jt_eve || exit 1
# shellcheck disable=SC2154 # rc is assigned inside the trap string
trap 'rc=$?; kill "$TICKETD" 2>/dev/null; (exit $rc); cleanup' EXIT
{ cat /etc/hosts; echo "127.0.0.1 tickets.jit.test"; } >"$T/hosts"
bind_over "$T/hosts" /etc/hosts
# As a package installs it: the database's directory is root's alone.
chmod 0700 "$T/db"

count() { curl -fsS "$CTL/count" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d[sys.argv[1]].get(sys.argv[2], 0))" "$1" "$2"; }
total() { curl -fsS "$CTL/count" | python3 -c "import json,sys; d=json.load(sys.stdin); print(sum(d['tickets'].values()))"; }
helper_pid() { pgrep -P "$JITD_PID" -f -- '--ticket-helper' | head -1; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
grant_id() { sed -nE 's/^grant ([0-9]+) .*/\1/p' <<<"$1" | head -1; }
status_of() { awk -v k="$2:" '$1 == k { $1 = ""; print substr($0, 2) }' "/proc/$1/status"; }

printf 's3cret\n' >"$T/token"; chmod 0600 "$T/token"
{
        cat <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost

EOF2
        for r in change r2 r3 r4 r5 r6; do
                printf '[role:%s]\nmembers = jt_eve, jt_ceo\nservices = sudo\napproval = ticket\nticket = required\ndefault_duration = 1h\n\n' "$r"
        done
        cat <<EOF2
[ticket]
provider   = redmine
url        = https://tickets.jit.test:$HTTPS
token_file = $T/token
ca_file    = $T/ca.pem
poll       = 2s
timeout    = 3s
comment    = yes
EOF2
} | config_write
ticket 100 '{"state":"approved","requester":"jt_eve"}'
jitd_start || exit 1

# ---- what runs where, as whom ----
H=$(helper_pid)
if [ -n "$H" ]; then ok "jitd started its ticket helper (pid $H)"; else not_ok "a ticket helper runs" "$(ps -ef --forest | tail -20)"; fi
nobody_uid=$(id -u nobody) nobody_gid=$(id -g nobody)
uids=$(status_of "$H" Uid) gids=$(status_of "$H" Gid)
[ "$(tr -s '\t ' ' ' <<<"$uids")" = "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" ] &&
        [ "$(tr -s '\t ' ' ' <<<"$gids")" = "$nobody_gid $nobody_gid $nobody_gid $nobody_gid" ] &&
        [ -z "$(status_of "$H" Groups | tr -d ' \t')" ] &&
        ok "the helper runs as nobody (uid $nobody_uid), every id, no supplementary group" ||
        not_ok "helper ids" "Uid: $uids; Gid: $gids; Groups: $(status_of "$H" Groups)"
caps="$(status_of "$H" CapInh) $(status_of "$H" CapPrm) $(status_of "$H" CapEff) $(status_of "$H" CapBnd) $(status_of "$H" CapAmb)"
[ "$(tr -d '0 ' <<<"$caps")" = "" ] && ok "the helper has no capability, not even in its bounding set" ||
        not_ok "no capabilities" "$caps"
[ "$(status_of "$H" NoNewPrivs)" = 1 ] && ok "the helper has no_new_privs" || not_ok "NoNewPrivs" "$(status_of "$H" NoNewPrivs)"
[ "$(status_of "$H" Seccomp)" = 2 ] && ok "the helper runs under a seccomp filter (Seccomp: 2)" ||
        not_ok "seccomp filter" "$(status_of "$H" Seccomp)"
[ "$(stat -c %U "/proc/$H/environ" "/proc/$H/maps" "/proc/$H/fd" | sort -u)" = root ] &&
        ok "the helper is not dumpable (its /proc files stay root's)" ||
        not_ok "not dumpable" "$(stat -c '%U %n' "/proc/$H/environ" "/proc/$H/maps" "/proc/$H/fd")"
if grep -q libcurl "/proc/$JITD_PID/maps"; then
        not_ok "jitd itself does not map libcurl" "$(grep libcurl "/proc/$JITD_PID/maps" | head -2)"
else
        ok "jitd itself does not map libcurl"
fi
grep -q libcurl "/proc/$H/maps" && ok "the helper does" || not_ok "the helper maps libcurl"
targets=$(find "/proc/$H/fd" -mindepth 1 -maxdepth 1 -exec readlink {} \; 2>/dev/null | sort | uniq -c)
if grep -qE "$T|jitd\.sock|\.db" <<<"$targets"; then
        not_ok "the helper holds none of jitd's files" "$targets"
else
        ok "the helper holds none of jitd's files or sockets (only /dev/null, its socketpair, its own)"
fi
expect 1 "nobody cannot open the database" "Permission denied" -- \
        setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups cat "$DB"
expect 2 "nor list the sudoers directory" "Permission denied" -- \
        setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups ls "$T/sudoers.d"
expect 0 "a lookup through the helper (name resolution, TLS, JSON inside the sandbox) activates a grant" \
        "ticket 100 is approved: grant active" -- jc jt_eve request -r change -t 100
id=$(grant_id "$LAST_OUT")
wait_for 3 bash -c "[ \"\$(curl -fsS '$CTL/count' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"notes\"].get(\"100\", 0))')\" -ge 1 ]" &&
        ok "and its note reaches the user's own ticket" || not_ok "note to the user's own ticket" "$(curl -fsS "$CTL/notes")"
jc jt_eve release "$id" >/dev/null 2>&1

# ---- a confused deputy no more ----
ticket 201 '{"state":"approved","requester":"jt_ceo","hosts":["testhost"]}'
ticket 202 '{"state":"closed","requester":"jt_ceo"}'
expect 1 "eve requests with ceo's ticket: refused" "ticket 201 does not name you as its requester" -- \
        jc jt_eve request -r change -t 201
id=$(grant_id "$LAST_OUT")
grep -qiE 'jt_ceo|approved' <<<"$LAST_OUT" && not_ok "the refusal names neither ceo nor the ticket's status" "$LAST_OUT" ||
        ok "the refusal names neither ceo nor the ticket's status"
expect 0 "the grant's end reason says no more" "end reason: +ticket 201 does not name you as its requester" -- \
        jc jt_eve show "$id"
grep -q jt_ceo <<<"$LAST_OUT" && not_ok "show names nobody else" "$LAST_OUT" || ok "show names nobody else"
expect 1 "ceo's closed ticket: refused the same way, its status unsaid" "ticket 202 does not name you as its requester" -- \
        jc jt_eve request -r change -t 202
grep -qi closed <<<"$LAST_OUT" && not_ok "the refusal does not say the ticket is closed" "$LAST_OUT" ||
        ok "the refusal does not say the ticket is closed"
sleep 0.5
n201=$(count notes 201) n202=$(count notes 202)
[ "$n201" = 0 ] && [ "$n202" = 0 ] && ok "nothing was written on ceo's tickets" ||
        not_ok "no note on someone else's ticket" "201: $n201, 202: $n202; $(curl -fsS "$CTL/notes")"
grep -q "ticket 201 was requested by jt_ceo, not jt_eve" "$T/jitd.log" && ok "the admin's log says who requested it" ||
        not_ok "detail in the log" "$(tail -5 "$T/jitd.log")"

# ---- request and cancel in a loop ----
ticket 301 '{"state":"pending","requester":"jt_eve"}'
sleep 2.5                                       # no lookup of ours still in flight
before_jitd=$(fds "$JITD_PID") before_helper=$(fds "$(helper_pid)")
start=$(date +%s)
for _ in $(seq 1 100); do
        id=$(grant_id "$(jc jt_eve request -r change -t 301 2>&1)")
        jc jt_eve cancel "$id" >/dev/null 2>&1
done
secs=$(( $(date +%s) - start + 1 ))
n=$(count tickets 301) notes=$(count notes 301)
# One answer per cache time (half the poll, 1 s) and the poll's own.
[ "$n" -le $(( secs + secs / 2 + 4 )) ] && ok "100 request/cancel cycles in ${secs}s cost $n lookups, not 100" ||
        not_ok "bounded lookups for 100 cycles" "$n lookups in ${secs}s"
[ "$notes" -le 10 ] && ok "and $notes notes on the ticket (at most 10 an hour), not 100" ||
        not_ok "bounded notes" "$notes notes"
before_total=$(total)
start=$(date +%s)
for i in $(seq 400 449); do
        ticket "$i" '{"state":"pending","requester":"jt_eve"}'
        id=$(grant_id "$(jc jt_eve request -r change -t "$i" 2>&1)")
        jc jt_eve cancel "$id" >/dev/null 2>&1
done
secs=$(( $(date +%s) - start + 1 ))
n=$(( $(total) - before_total ))
[ "$n" -le $(( 10 + secs / 6 + secs / 2 + 2 )) ] &&
        ok "50 cycles with 50 different tickets in ${secs}s cost $n lookups (a budget of 10, then one per 6 s)" ||
        not_ok "bounded lookups for different tickets" "$n lookups in ${secs}s"
expect 0 "past the budget the user is told to wait" "too many ticket lookups for jt_eve in a short time" -- \
        jc jt_eve request -r change -t 450
id=$(grant_id "$LAST_OUT"); jc jt_eve cancel "$id" >/dev/null 2>&1
# Slow tickets: each cancelled request takes its lookup and its connection with it.
# (ceo's: eve's budget is spent.)
for i in 460 461 462; do ticket "$i" '{"state":"pending","requester":"jt_ceo","mode":"slow","slow":6}'; done
for i in 460 461 462; do
        ( jc jt_ceo request -r change -t "$i" >/dev/null 2>&1 & )
        sleep 0.7
        id=$(jc jt_ceo list --json | python3 -c 'import json,sys; print([g["id"] for g in json.load(sys.stdin) if g["state"] == "pending"][0])')
        jc jt_ceo cancel "$id" >/dev/null 2>&1
done
sleep 1
after_jitd=$(fds "$JITD_PID") after_helper=$(fds "$(helper_pid)")
[ "$after_jitd" -le "$before_jitd" ] && ok "jitd holds no more descriptors than before the cycles ($before_jitd -> $after_jitd)" ||
        not_ok "no descriptors left behind in jitd" "$before_jitd -> $after_jitd: $(ls -l "/proc/$JITD_PID/fd")"
[ "$after_helper" -le $(( before_helper + 1 )) ] &&
        ok "nor does the helper: cancelled slow lookups closed their connections ($before_helper -> $after_helper)" ||
        not_ok "no connections left behind in the helper" "$before_helper -> $after_helper: $(ls -l "/proc/$(helper_pid)/fd")"

# ---- one user's lookups at the ticket system at once ----
curl -fsS -X POST "$CTL/reset" >/dev/null
for r in r2 r3 r4 r5 r6; do ticket "5$r" '{"state":"pending","requester":"jt_ceo","mode":"slow","slow":3}'; done
for r in r2 r3 r4 r5 r6; do ( jc jt_ceo request -r "$r" -t "5$r" >/dev/null 2>&1 & ); done
sleep 1.5
n=$(total)
[ "$n" -le 4 ] && ok "five slow lookups of one user: $n at the ticket system at once (at most 4)" ||
        not_ok "at most 4 lookups of one user in flight" "$n"
wait_for 8 bash -c "[ \"\$(curl -fsS '$CTL/count' | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)[\"tickets\"].values()))')\" -ge 5 ]" &&
        ok "the fifth waited its turn and went too" || not_ok "queued lookup went" "$(curl -fsS "$CTL/count")"
for id in $(jc jt_ceo list --json | python3 -c 'import json,sys; print(" ".join(str(g["id"]) for g in json.load(sys.stdin) if g["state"] == "pending"))'); do
        jc jt_ceo cancel "$id" >/dev/null 2>&1
done

# ---- a helper that dies ----
H=$(helper_pid)
ticket 601 '{"state":"approved","requester":"jt_ceo","mode":"slow","slow":3}'
jc jt_ceo request -r change -t 601 >"$T/out601" 2>&1 &
sleep 0.7
kill -KILL "$H"
wait $! 2>/dev/null
grep -q "the ticket helper stopped; jitd keeps trying" "$T/out601" && ok "killed with SIGKILL: the lookup in flight ends as an error" ||
        not_ok "in-flight lookup fails when the helper dies" "$(cat "$T/out601")"
if wait_for 3 bash -c "p=\$(pgrep -P $JITD_PID -f -- --ticket-helper); [ -n \"\$p\" ] && [ \"\$p\" != $H ] && grep -q '^Seccomp:.2' /proc/\$p/status"; then
        ok "a new helper was started, sandboxed like the first"
else
        not_ok "helper restarted" "$(tail -3 "$T/jitd.log")"
fi
grep -q "ticket helper (pid $H) was killed by signal 9" "$T/jitd.log" && ok "the log says what happened to it" ||
        not_ok "restart logged" "$(tail -3 "$T/jitd.log")"
ticket 601 '{"mode":"normal"}'
if wait_for 5 bash -c "$T/bin/jitctl -s $SOCK list --all --json | grep -q '\"state\": *\"active\"'"; then
        ok "lookups go on through the new helper: the grant became active at the next poll"
else
        not_ok "lookups after restart" "$(jc jt_ceo list --all 2>&1)"
fi
for id in $(jc jt_ceo list --json | python3 -c 'import json,sys; print(" ".join(str(g["id"]) for g in json.load(sys.stdin)))'); do
        jc jt_ceo release "$id" >/dev/null 2>&1
done

# ---- a helper that lies ----
# Root in the test plays a compromised helper: it takes a copy of the
# helper's end of the socketpair (pidfd_getfd) and writes on it.
inject() {  # inject PID KIND
        python3 - "$1" "$2" <<'EOPY'
import ctypes, os, socket, struct, sys
pid, kind = int(sys.argv[1]), sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
pidfd = os.pidfd_open(pid)
fd = libc.syscall(438, pidfd, 3, 0)              # pidfd_getfd
if fd < 0:
    sys.exit("pidfd_getfd: %s" % os.strerror(ctypes.get_errno()))
s = socket.socket(fileno=fd)
head = struct.pack("<IBBH", 0x4b544a4a, 1, 66, 0)       # RESULT
def u64(tag, v): return struct.pack("<BHQ", tag, 8, v)
def st(tag, b): return struct.pack("<BH", tag, len(b)) + b
if kind == "junk":
    s.send(b"\x00junk that is no message")
elif kind == "unknown-id":
    s.send(head + u64(1, 999999) + u64(5, 1) + st(6, b"Approved") + u64(7, 0) + u64(8, 0) + u64(9, 0)
           + u64(10, 1) + st(11, b"ticket 999 is Approved") + st(12, b""))
elif kind == "fd":
    s.sendmsg([head], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", 0))])
EOPY
}
for kind in junk unknown-id fd; do
        H=$(helper_pid)
        if ! inject "$H" "$kind"; then
                not_ok "$kind: injected" "could not take the helper's socket"
                continue
        fi
        if wait_for 5 bash -c "p=\$(pgrep -P $JITD_PID -f -- --ticket-helper); [ -n \"\$p\" ] && [ \"\$p\" != $H ] && grep -q '^Seccomp:.2' /proc/\$p/status"; then
                ok "$kind from the helper: jitd killed it and started a new one"
        else
                not_ok "$kind: helper replaced" "$(tail -3 "$T/jitd.log")"
        fi
        grep -q "ticket helper (pid $H) .*: it sent a malformed message" "$T/jitd.log" && ok "$kind: logged as malformed" ||
                not_ok "$kind: logged" "$(tail -3 "$T/jitd.log")"
done
ticket 701 '{"state":"approved","requester":"jt_eve"}'
sleep 5                                         # the budget, and the last backoff
expect 0 "and lookups still work afterwards" "ticket 701 is approved: grant active" -- jc jt_eve request -r r2 -t 701
expect 0 "jitd kept serving throughout" "host testhost" -- jc jt_eve status

# ---- a helper that hangs ----
# With timeout = 1s the helper's own retries end within 3 s; jitd gives it
# 5 s more, then replaces it.
jitd_stop
sed -i 's/^timeout .*/timeout    = 1s/' "$CONF"
jitd_start || exit 1
H=$(helper_pid)
kill -STOP "$H"
ticket 801 '{"state":"approved","requester":"jt_ceo"}'
start=$(now_ms)
jc jt_ceo request -r r3 -t 801 >/dev/null 2>&1 &
req=$!
if wait_for 12 bash -c "p=\$(pgrep -P $JITD_PID -f -- --ticket-helper); [ -n \"\$p\" ] && [ \"\$p\" != $H ]"; then
        ok "a stopped helper is replaced after $(( ($(now_ms) - start) / 1000 )) s (its retries take 3 s at most)"
else
        not_ok "hung helper replaced" "$(tail -3 "$T/jitd.log")"
fi
grep -q "ticket helper (pid $H) killed by jitd: a lookup took longer than its retries can" "$T/jitd.log" &&
        ok "the log says it hung" || not_ok "hang logged" "$(tail -3 "$T/jitd.log")"
wait "$req"
if wait_for 5 bash -c "$T/bin/jitctl -s $SOCK list --json | grep -q '\"state\": *\"active\"'"; then
        ok "the request went through at the next poll, through the new helper"
else
        not_ok "request after a hang" "$(jc jt_ceo list 2>&1)"
fi
finish
