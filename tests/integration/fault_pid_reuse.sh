#!/usr/bin/env bash
# A recycled pid closes nobody else's session. Alice's session is opened by
# pid P, which dies without closing it; a root process that gets the same
# pid P (build/tests/withpid) sends session-close for another user: refused,
# alice's session stays open and her single-use grant is not used up. And
# the process that opened a session cannot close it in another user's name.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault_lib.sh"
jt_setup

user_add jt_alice
user_add jt_bob
install -m 0755 "$BUILD/tests/withpid" "$T/bin/"
config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
teardown = cgroup

[role:once]
members   = jt_alice
services  = login
approval  = auto
ticket    = none
uses      = 1

[role:plain]
members   = jt_alice
services  = sshd
approval  = auto
ticket    = none
EOF2
jitd_start || exit 1
session_row() { sqlite3 "$DB" "SELECT id, pid FROM sessions WHERE grant_id = $1 ORDER BY id DESC LIMIT 1"; }
is_open() { [ "$(sqlite3 "$DB" "SELECT closed_at IS NULL FROM sessions WHERE id = $1")" = 1 ]; }

expect 0 "alice gets a single-use login grant" "active" -- jc jt_alice request -r once
g=$(grant_of jt_alice once)
expect 0 "a session for alice is opened by pid P (a root process), which then exits without closing" "^ok [0-9]+$" -- \
        python3 "$ROOT/tests/helpers/pamlike.py" "$SOCK" jt_alice login
IFS='|' read -r sid P <<<"$(session_row "$g")"
[ -n "$P" ] && is_open "$sid" && ok "session $sid of pid $P is open on record" || not_ok "session open on record" "$(session_row "$g")"
! kill -0 "$P" 2>/dev/null && ok "pid $P is gone" || not_ok "pid $P is gone"

out=$("$T/bin/withpid" "$P" "$T/bin/rawsend" "$SOCK" "$(session_close_frame jt_bob login)" 2>&1); rc=$?
if [ "$rc" -eq 125 ]; then
        echo "# SKIP pid $P could not be had again: $out"
        exit 0
fi
grep -q '^error' <<<"$out" && ok "a new process with the recycled pid $P closing for jt_bob is refused" \
        || not_ok "session-close from a recycled pid for another user is refused" "answer: $out"
is_open "$sid" && ok "alice's session $sid is still open" || not_ok "alice's session stays open" "$(sqlite3 "$DB" "SELECT * FROM sessions WHERE id = $sid")"
sleep 1.6
expect 0 "her single-use grant is not used up" "^active$" -- grant_state "$g"

# The right pid, the wrong user: one process opens alice's session, then
# sends session-close naming jt_bob.
expect 0 "alice gets a plain sshd grant" "active" -- jc jt_alice request -r plain
p=$(grant_of jt_alice plain)
out=$(python3 "$ROOT/tests/helpers/pamlike.py" "$SOCK" jt_alice sshd --close-as jt_bob 2>&1)
sid2=$(sqlite3 "$DB" "SELECT max(id) FROM sessions WHERE grant_id = $p")
grep -q '^ok ' <<<"$(head -n 1 <<<"$out")" && ok "the process opens alice's sshd session $sid2" || not_ok "session opened" "$out"
! grep -q '^ok ' <<<"$(sed -n 2p <<<"$out")" && ok "its session-close naming jt_bob is refused" \
        || not_ok "session-close by the right pid for the wrong user is refused" "answers: $(tr '\n' ' ' <<<"$out")"
is_open "$sid2" && ok "alice's sshd session $sid2 is still open" || not_ok "session closed by a wrong-user close" "$(sqlite3 "$DB" "SELECT * FROM sessions WHERE id = $sid2")"
finish
