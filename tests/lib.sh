#!/usr/bin/env bash
# Shared pieces of the integration stories: a private directory with copies of
# the built programs, real test users, a real jitd on a temporary socket and
# database, and TAP-style "ok N - ..." / "not ok N - ..." reporting.
# Nothing here touches /etc/pam.d, /etc/sudoers or /etc/sudoers.d.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build
N=0
FAILED=0
CREATED_USERS=()
CREATED_GROUPS=()
JITD_PID=
# Functions cleanup runs first, before $T goes (tests/pg_lib.sh adds pg_stop).
CLEANUP_HOOKS=()

[ "$(id -u)" -eq 0 ] || { echo "# integration tests need root (they create test users)"; exit 1; }

cleanup() {
        local rc=$? hook
        for hook in "${CLEANUP_HOOKS[@]}"; do "$hook"; done
        jitd_stop
        for u in "${CREATED_USERS[@]}"; do userdel -f "$u" >/dev/null 2>&1; done
        for g in "${CREATED_GROUPS[@]}"; do groupdel "$g" >/dev/null 2>&1; done
        if [ -n "${JIT_KEEP:-}" ]; then echo "# kept $T"
        elif [ -n "${T:-}" ] && [ -d "$T" ]; then rm -rf "$T"; fi
        exit "$rc"
}

# A private world: $T holds the config, socket, database and copies of the
# programs (so test users can run them whatever the checkout's permissions).
jt_setup() {
        # One story at a time on a machine: they share test user names and
        # the cgroup subtree. The lock goes with the process.
        exec 9>/tmp/jit-integration.lock
        flock 9
        T=$(mktemp -d /tmp/jit-test.XXXXXX)
        chmod 0755 "$T"
        trap cleanup EXIT
        mkdir -p "$T/bin" "$T/pam" "$T/db" "$T/sudoers.d"
        chmod 0750 "$T/sudoers.d"
        install -m 0755 "$BUILD/jitd" "$BUILD/jitctl" "$BUILD/tests/pamcheck" "$BUILD/tests/rawsend" "$T/bin/"
        install -m 0644 "$BUILD/pam_jit.so" "$T/bin/"
        SOCK=$T/jitd.sock
        CONF=$T/jitd.conf
        DB=$T/db/jitd.db
}

group_add() {  # group_add NAME
        getent group "$1" >/dev/null && return 0
        groupadd "$1" && CREATED_GROUPS+=("$1")
}

user_add() {  # user_add NAME [GROUP,...]
        local name=$1 groups=${2:-}
        if ! getent passwd "$name" >/dev/null; then
                useradd -M -N -s /bin/bash -d /nonexistent "$name" || return 1
                CREATED_USERS+=("$name")
        fi
        [ -n "$groups" ] && usermod -a -G "$groups" "$name"
        return 0
}

# Write the config from stdin; root-owned and not writable by others, as jitd demands.
config_write() {
        cat >"$CONF"
        chmod 0644 "$CONF"
}

# JIT_VALGRIND=1 runs jitd under valgrind; its report lands in $T/valgrind.*
jitd_start() {
        if [ -n "${JIT_VALGRIND:-}" ]; then
                valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
                        --log-file="${JIT_VALGRIND_LOG:-$T/valgrind}.%p" "$T/bin/jitd" -c "$CONF" 2>>"$T/jitd.log" 9>&- &
        else
                # 9>&-: a jitd that outlives its test must not hold the lock.
                "$T/bin/jitd" -c "$CONF" 2>>"$T/jitd.log" 9>&- &
        fi
        JITD_PID=$!
        for _ in $(seq 1 400); do
                # Answered means the loop runs: start-up reconciliation is done.
                [ -S "$SOCK" ] && "$T/bin/jitctl" -s "$SOCK" status >/dev/null 2>&1 && return 0
                kill -0 "$JITD_PID" 2>/dev/null || break
                sleep 0.05
        done
        echo "# jitd did not start:"; sed 's/^/#   /' "$T/jitd.log"
        return 1
}

jitd_stop() {
        if [ -n "${JITD_PID:-}" ]; then
                kill -CONT "$JITD_PID" 2>/dev/null
                kill "$JITD_PID" 2>/dev/null
                wait "$JITD_PID" 2>/dev/null
                JITD_PID=
        fi
}

as() {  # as USER CMD...: run as a real test user, no environment carried over
        local user=$1; shift
        if [ "$user" = root ]; then "$@"; else runuser -u "$user" -- "$@"; fi
}

jc() {  # jc USER ARGS...: jitctl as USER against the test jitd
        local user=$1; shift
        as "$user" "$T/bin/jitctl" -s "$SOCK" "$@"
}

# A PAM service file in the private confdir; pam_jit first, then what follows.
pam_service() {  # pam_service NAME "module options" [extra lines...]
        local name=$1 opts=$2; shift 2
        {
                echo "auth     required $T/bin/pam_jit.so socket=$SOCK $opts"
                echo "account  required $T/bin/pam_jit.so socket=$SOCK $opts"
                for l in "$@"; do echo "$l"; done
                echo "account  required pam_permit.so"
                echo "session  optional $T/bin/pam_jit.so socket=$SOCK $opts"
        } >"$T/pam/$name"
}

pam_check() {  # pam_check SERVICE USER [pamcheck args]: account phase through real libpam
        "$T/bin/pamcheck" "$T/pam" "$@"
}

ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() {
        N=$((N + 1)); FAILED=$((FAILED + 1))
        echo "not ok $N - $1"
        [ -n "${2:-}" ] && sed 's/^/#   /' <<<"$2"
        return 0
}

# expect RC DESCRIPTION [PATTERN] -- CMD...: exit status RC, and output
# (stdout+stderr) matching the extended regex PATTERN when given.
expect() {
        local want=$1 desc=$2 pattern=
        shift 2
        if [ "$1" != -- ]; then pattern=$1; shift; fi
        shift
        local out rc
        out=$("$@" 2>&1); rc=$?
        if [ "$rc" -ne "$want" ]; then
                not_ok "$desc" "expected exit $want, got $rc: $*"$'\n'"$out"
        elif [ -n "$pattern" ] && ! grep -qE -- "$pattern" <<<"$out"; then
                not_ok "$desc" "output does not match /$pattern/: $*"$'\n'"$out"
        else
                ok "$desc"
        fi
        # shellcheck disable=SC2034 # for the stories that source this file
        LAST_OUT=$out
}

# Wire-format builders for hand-made frames (see doc/PROTOCOL.md).
le16() { printf '%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)); }
le32() { printf '%02x%02x%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
le64() { printf '%s%s' "$(le32 $(($1 & 0xffffffff)))" "$(le32 $(($1 >> 32 & 0xffffffff)))"; }
fstr() { local hex; hex=$(printf '%s' "$2" | od -An -tx1 | tr -d ' \n'); printf '%02x%s%s' "$1" "$(le16 $((${#hex} / 2)))" "$hex"; }
fu64() { printf '%02x0800%s' "$1" "$(le64 "$2")"; }
frame() {  # frame TYPE PAYLOAD-HEX [VERSION]
        printf '4454494a%02x%02x0000%s%s' "${3:-1}" "$1" "$(le32 $((${#2} / 2)))" "$2"
}

# Count rows in the database (for "nothing was written" checks).
db_count() { sqlite3 "$DB" "SELECT count(*) FROM $1"; }

finish() {
        echo "# $N cases, $FAILED failed"
        [ "$FAILED" -eq 0 ]
}

# Re-run the calling script inside a private mount namespace, where test
# files can be bind-mounted over /etc/sudoers and /etc/pam.d/* without the
# host ever seeing them; the mounts vanish with the namespace.
# Real sudo and sshd load pam_jit.so; an ASan-built module cannot be loaded
# into programs built without ASan, so `make asan` skips those stories.
needs_plain_pam_module() {
        if [ -n "${JIT_SANITIZED:-}" ]; then
                echo "# skipped under sanitizers: real sudo/sshd cannot load an ASan-built pam_jit.so"
                exit 0
        fi
}

in_private_namespace() {
        if [ -z "${JIT_IN_NAMESPACE:-}" ]; then
                exec unshare --mount --propagation private env JIT_IN_NAMESPACE=1 bash "$0" "$@"
        fi
}

# Bind a file over a system path inside the private namespace only.
bind_over() {  # bind_over FILE TARGET
        [ -n "${JIT_IN_NAMESPACE:-}" ] || { echo "# bind_over outside a private namespace refused"; exit 1; }
        mount --bind "$1" "$2"
}

# The PAM stack of a real program (sudo, sshd) for the namespace: pam_jit as
# the account lock and session registration, pam_permit for the rest.
system_pam_stack() {  # system_pam_stack FILE
        cat >"$1" <<EOS
auth     required pam_permit.so
account  required $T/bin/pam_jit.so socket=$SOCK
account  required pam_permit.so
session  required $T/bin/pam_jit.so socket=$SOCK
session  required pam_permit.so
EOS
}

# A sudoers for the namespace: nothing but root and the test drop-in directory.
sudoers_write() {
        cat >"$T/sudoers" <<EOS
Defaults env_reset
Defaults !lecture
Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
root ALL=(ALL:ALL) ALL
@includedir $T/sudoers.d
EOS
        chmod 0440 "$T/sudoers"
}

# Wait up to $2 seconds (default 5) for a command to succeed.
wait_for() {  # wait_for SECONDS CMD...
        local deadline=$(( $(date +%s%N) + ${1} * 1000000000 )); shift
        while ! "$@" >/dev/null 2>&1; do
                [ "$(date +%s%N)" -ge "$deadline" ] && return 1
                sleep 0.05
        done
}

# Milliseconds since the epoch.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# A test CA, a certificate for 127.0.0.1 signed by it (and one from another
# CA), and tests/ticketd.py serving every ticket system's API over https.
# Sets TICKETD (pid), HTTPS (port), CTL (control URL) for the caller.
# TICKETD_SAN: one more DNS name for the certificate.
# shellcheck disable=SC2034
ticketd_start() {  # ticketd_start TOKEN REQUESTER
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=jit test CA" \
                -keyout "$T/ca.key" -out "$T/ca.pem" >/dev/null 2>&1
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$T/srv.key" -out "$T/srv.csr" >/dev/null 2>&1
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost%s\n' "${TICKETD_SAN:+,DNS:$TICKETD_SAN}" >"$T/san.ext"
        openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
                -extfile "$T/san.ext" -out "$T/srv.pem" >/dev/null 2>&1
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" -keyout "$T/other.key" \
                -out "$T/other.pem" >/dev/null 2>&1
        python3 "$ROOT/tests/ticketd.py" --tls "$T/srv.pem" "$T/srv.key" --token "$1" --requester "$2" \
                --port-file "$T/ports" >/dev/null 2>"$T/ticketd.log" 9>&- &
        TICKETD=$!
        wait_for 10 grep -q '^https ' "$T/ports" || { echo "# ticketd did not start"; cat "$T/ticketd.log"; return 1; }
        HTTPS=$(awk '$1 == "https" { print $2 }' "$T/ports")
        CTL="http://127.0.0.1:$(awk '$1 == "http" { print $2 }' "$T/ports")/_control"
}

# Set a test ticket: ticket ID JSON (see tests/ticketd.py).
ticket() { curl -fsS -X POST -H 'Content-Type: application/json' -d "$2" "$CTL/ticket/$1" >/dev/null; }
