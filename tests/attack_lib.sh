#!/usr/bin/env bash
# Pieces of the attack_*.sh stories (sourced after tests/lib.sh and
# tests/fault_lib.sh): what a hostile local user runs (tests/attack/attack.py:
# a fake jitd, connection and request floods, an audit chain recomputed
# without a key, a forged -wal file), directories a user owns, and a jitd
# start that must be refused.
# shellcheck disable=SC2034 # variables are for the stories that source this

# attack.py next to the other programs, where test users can run it.
# The system's python: a test user cannot run root's (pyenv shims in /root).
attack_setup() {
        install -m 0755 "$ROOT/tests/attack/attack.py" "$T/bin/"
        ATTACK=$T/bin/attack.py
        PYTHON=/usr/bin/python3
        [ -x "$PYTHON" ] || PYTHON=python3
}

# A directory in $T that USER owns (a loose deployment's /run/jitd or
# /var/lib/jitd), mode MODE.
user_dir() {  # user_dir PATH USER MODE
        mkdir -p "$1"
        chown "$2" "$1"
        chmod "$3" "$1"
}

# jitd_refuses DESCRIPTION NAME: jitd -c $CONF must exit non-zero without ever
# serving on $SOCK, and say NAME (a fixed string: the unsafe path). Returns 1
# when jitd started anyway (after stopping it), so that the caller can look at
# what that jitd did; its output is in $T/refuse.out either way.
jitd_refuses() {
        local pid rc
        rm -f "$SOCK"
        "$T/bin/jitd" -c "$CONF" >"$T/refuse.out" 2>&1 9>&- &
        pid=$!
        wait_for 5 bash -c "! kill -0 $pid 2>/dev/null || '$T/bin/jitctl' -s '$SOCK' status"
        if kill -0 "$pid" 2>/dev/null; then
                kill "$pid"; wait "$pid" 2>/dev/null
                not_ok "$1" "jitd started and serves"$'\n'"$(tail -n 20 "$T/refuse.out")"
                return 1
        fi
        wait "$pid"; rc=$?
        if [ "$rc" -ne 0 ] && grep -qF -- "$2" "$T/refuse.out"; then ok "$1"
        else not_ok "$1" "exit $rc, the message does not name $2: $(cat "$T/refuse.out")"; fi
        return 0
}

# "VERDICT MS" of one PAM account check as root through pamcheck (bash's
# clock: no fork to read it).
timed_verdict() {  # timed_verdict SERVICE USER
        local t0 t1 v
        t0=${EPOCHREALTIME/./}
        v=$(verdict "$1" "$2")
        t1=${EPOCHREALTIME/./}
        echo "${v// /_} $(( (t1 - t0) / 1000 ))"
}

# kv KEY LINE: the value of KEY in a line of key=value words (attack.py's output).
kv() { sed -nE "s/(^|.* )$1=([^ ]*).*/\\2/p" <<<"$2"; }

# The state of a process (R, S, T for stopped, ...), empty when it is gone.
proc_state() { awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null; }
is_stopped() { [ "$(proc_state "$1")" = T ]; }

# Wait for the grant to leave the active state; prints nothing, returns 1 on timeout.
grant_not_active() { [ "$(grant_state "$1")" != active ]; }

# "${DIRECT[@]}" CMD... after direct USER: run as a test user with no wrapper
# process in between (setpriv execs, so $! of a background job is the command
# itself). runuser and su stop themselves when their child stops, and stay
# stopped when someone else continues that child.
direct() {  # direct USER: sets DIRECT
        DIRECT=(setpriv --reuid="$1" --regid="$(id -g "$1")" --init-groups --)
}
