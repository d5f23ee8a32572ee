#!/usr/bin/env bash
# Issue 12, finding 8: memory and PAM denial of service by one local user.
# mallory has 4,000 grants on record. (a) She opens 300 connections that each
# send `list` of everything (flags=1) and never read: jitd's VmRSS grows by
# less than 16 MiB, she cannot hold more than 32 connections at once (jitd
# closes the rest), and root's PAM checks during the flood are each answered
# within BOUND_MS. (b) She sends requests on one connection as fast as replies
# allow (at least 2,000 `show`s, 3 s): jitd refuses some as too many (EAGAIN,
# "slow down"), while bob's requests and root's PAM checks are still answered
# within BOUND_MS. (The flood client stops opening connections once jitd grew by
# 64 MiB, so that today's jitd does not eat the machine.)
. "$(dirname "$0")/../lib.sh"
# Not a speed target (make bench measures those): a blocked or starved loop
# answers in seconds; a check takes 2 ms here; the margin is for a loaded CI
# machine. tests/attack/attack.py's probe uses the same bound.
BOUND_MS=250
. "$(dirname "$0")/../fault_lib.sh"
. "$(dirname "$0")/../attack_lib.sh"
jt_setup
attack_setup

user_add jt_mallory
user_add jt_bob
user_add jt_alice
direct jt_bob; BOB=("${DIRECT[@]}")
direct jt_mallory; MALLORY=("${DIRECT[@]}")
FLOOD=
# shellcheck disable=SC2154 # rc is set by the trap's first command
trap 'rc=$?; for p in $FLOOD; do kill "$p" 2>/dev/null; done; (exit $rc); cleanup' EXIT
config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
teardown = cgroup

[role:ops]
members   = jt_mallory, jt_bob, jt_alice
services  = sudo
runas     = root
commands  = ALL
approval  = auto
ticket    = none
default_duration = 1h
max_duration = 4h
EOF2
jitd_start || exit 1
verdict_service sudo ""
expect 0 "alice gets a grant" "active" -- jc jt_alice request -r ops -d 1h
expect_verdict SUCCESS "PAM lets alice through" sudo jt_alice

now=$(date +%s)
uid=$(id -u jt_mallory)
sqlite3 "$DB" "PRAGMA busy_timeout = 5000;
INSERT INTO grants (user, uid, host, role, ticket, reason, duration, state, requested_at, approved_at, starts_at,
                    expires_at, ended_at, end_reason, approvers, approvals_needed, approval, break_glass, review)
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 4000)
SELECT 'jt_mallory', $uid, 'testhost', 'ops', '', printf('filler grant %d written by the test, a reason of ordinary length', i),
       3600, 'expired', $now - 7200, $now - 7200, $now - 7200, $now - 3600, $now - 3600, 'expired', '', 0, 'auto', 0, ''
FROM c;" >/dev/null || { not_ok "4,000 grants written"; finish; exit; }
expect 0 "mallory has 4,000 grants on record" "^4000$" -- \
        sqlite3 "$DB" "SELECT count(*) FROM grants WHERE user = 'jt_mallory'"
mine=$(sqlite3 "$DB" "SELECT min(id) FROM grants WHERE user = 'jt_mallory'")
expect 0 "control: mallory may show her own grant $mine" "expired" -- jc jt_mallory show "$mine"

# pam_during PID: root's PAM checks for alice every 100 ms while PID runs;
# sets N_CHECKS, SLOW (>= BOUND_MS) and WRONG (not PAM_SUCCESS).
pam_during() {
        local v ms
        N_CHECKS=0 SLOW=() WRONG=()
        while kill -0 "$1" 2>/dev/null; do
                read -r v ms <<<"$(timed_verdict sudo jt_alice)"
                N_CHECKS=$((N_CHECKS + 1))
                [ "$v" = SUCCESS ] || WRONG+=("$v")
                [ "$ms" -lt "$BOUND_MS" ] || SLOW+=("${ms}ms")
                sleep 0.1
        done
}

# (a) 300 connections that never read.
"${MALLORY[@]}" "$PYTHON" "$ATTACK" conns "$SOCK" 300 4 "$JITD_PID" 65536 >"$T/conns.out" 2>&1 9>&- &
FLOOD=$!
pam_during "$FLOOD"
wait "$FLOOD"; FLOOD=
out=$(cat "$T/conns.out")
echo "# flood of connections: $out"
opened=$(kv opened "$out") still=$(kv open "$out") rss0=$(kv rss0 "$out") peak=$(kv peak "$out")
if [ -z "$still" ]; then
        not_ok "the connection flood ran" "$out"
else
        grow=$(( peak - rss0 ))
        if [ -n "${JIT_SANITIZED:-}" ]; then
                # ASan's shadow memory and quarantine keep what jitd freed.
                ok "unread lists grew jitd by $((grow / 1024)) MiB # SKIP the 16 MiB bound under sanitizers"
        elif [ "$grow" -lt 16384 ]; then
                ok "300 unread lists of 4,000 grants grew jitd by $((grow / 1024)) MiB (< 16 MiB)"
        else
                not_ok "unread lists grow jitd by less than 16 MiB" \
                        "VmRSS $rss0 kB -> $peak kB (+$((grow / 1024)) MiB) after $opened connections$([ "$(kv stopped "$out")" = 1 ] && echo ", where the client stopped")"
        fi
        [ "$still" -le 32 ] && ok "mallory holds at most 32 connections at once ($still of $opened open)" \
                || not_ok "one user holds at most 32 connections at once" "$still of $opened still open after 4 s"
fi
[ "$N_CHECKS" -ge 5 ] && [ ${#SLOW[@]} -eq 0 ] && ok "meanwhile $N_CHECKS PAM checks by root were answered within $BOUND_MS ms" \
        || not_ok "root's PAM checks during the connection flood are answered within $BOUND_MS ms" \
                "${#SLOW[@]} of $N_CHECKS slower: ${SLOW[*]:0:12}"
[ ${#WRONG[@]} -eq 0 ] && ok "and each said PAM_SUCCESS for alice" || not_ok "right answers during the flood" "${WRONG[*]:0:12}"
expect 0 "after the flood jitd serves bob" "you are jt_bob" -- jc jt_bob status

# (b) Requests as fast as replies allow.
"${MALLORY[@]}" "$PYTHON" "$ATTACK" rate "$SOCK" 3 2000 "$(frame 10 "$(fu64 1 "$mine")")" >"$T/rate.out" 2>&1 9>&- &
RATE=$!
"${BOB[@]}" "$PYTHON" "$ATTACK" probe "$SOCK" 3 "$(frame 1 "")" >"$T/probe.out" 2>&1 9>&- &
PROBE=$!
FLOOD="$RATE $PROBE"
pam_during "$RATE"
wait "$RATE"; wait "$PROBE"; FLOOD=
rate=$(cat "$T/rate.out") probe=$(cat "$T/probe.out")
echo "# mallory's requests: $rate"
echo "# bob's pings meanwhile: $probe"
if [ -z "$(kv sent "$rate")" ]; then
        not_ok "the request flood ran" "$rate"
else
        [ "$(kv limited "$rate")" -gt 0 ] && ok "jitd refused $(kv limited "$rate") of mallory's $(kv sent "$rate") requests as too many" \
                || not_ok "jitd refuses a user's requests beyond a rate (EAGAIN, too many requests)" \
                        "all $(kv sent "$rate") answered in $(kv secs "$rate") s: $rate"
fi
if [ -n "$(kv worst_ms "$probe")" ] && [ "$(kv slow "$probe")" = 0 ] && [ "$(kv failed "$probe")" = 0 ]; then
        ok "bob's $(kv n "$probe") requests meanwhile were answered within $BOUND_MS ms (worst $(kv worst_ms "$probe") ms)"
else
        not_ok "another user's requests are answered within $BOUND_MS ms during the flood" "$probe"
fi
[ "$N_CHECKS" -ge 5 ] && [ ${#SLOW[@]} -eq 0 ] && [ ${#WRONG[@]} -eq 0 ] \
        && ok "root's $N_CHECKS PAM checks meanwhile were answered within $BOUND_MS ms, rightly" \
        || not_ok "root's PAM checks during the request flood are answered within $BOUND_MS ms" \
                "of $N_CHECKS: slower ${SLOW[*]:0:12}; wrong ${WRONG[*]:0:12}"
finish
