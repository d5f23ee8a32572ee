#!/usr/bin/env bash
# Fault injection for the fault_*.sh stories (sourced after tests/lib.sh):
# NSS errors (build/tests/nssfail.so), a database write-locked by another
# process, a small file system that fills up, a recycled pid
# (build/tests/withpid), raw session frames, and a PAM stack that tells
# pam_jit's IGNORE apart from its SUCCESS and PERM_DENIED.
# shellcheck disable=SC2034 # variables are for the stories that source this

# --- NSS errors --------------------------------------------------------------
# jitd_start_nssfail: jitd_start with the shim preloaded. nss_fail USER... turns
# the fault on for those users ("*" for all), nss_ok turns it off; jitd reads
# the file at every lookup, so this works while it runs.
jitd_start_nssfail() {
        NSSFAIL=$T/nssfail
        install -m 0644 "$BUILD/tests/nssfail.so" "$T/bin/"
        rm -f "$NSSFAIL"
        # verify_asan_link_order: a sanitized jitd with a plain preload.
        JIT_NSSFAIL_FILE=$NSSFAIL LD_PRELOAD=$T/bin/nssfail.so \
                ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 jitd_start
}
nss_fail() { printf '%s\n' "$@" >"$NSSFAIL.tmp" && mv "$NSSFAIL.tmp" "$NSSFAIL"; }
nss_ok() { rm -f "$NSSFAIL"; }

# --- A PAM stack that shows what pam_jit itself answered ------------------------
# account: pam_jit's SUCCESS ends the stack (PAM_SUCCESS), its errors end it
# with that error (PAM_PERM_DENIED ...), and its IGNORE falls through to
# pam_deny, whose PAM_AUTH_ERR therefore means "pam_jit ignored the user".
verdict_service() {  # verdict_service NAME "module options"
        cat >"$T/pam/$1" <<EOS
account  [success=done ignore=ignore default=die] $T/bin/pam_jit.so socket=$SOCK $2
account  required pam_deny.so
EOS
}
# verdict SERVICE USER: prints SUCCESS, PERM_DENIED, IGNORE or the other code.
verdict() {
        local out
        out=$("$T/bin/pamcheck" "$T/pam" "$1" "$2" 2>&1)
        case $out in
        *"account: PAM_SUCCESS"*) echo SUCCESS ;;
        *"account: PAM_PERM_DENIED"*) echo PERM_DENIED ;;
        *"account: PAM_AUTH_ERR"*) echo IGNORE ;;
        *) echo "OTHER: $(tr '\n' ' ' <<<"$out")" ;;
        esac
}
expect_verdict() {  # expect_verdict WANT DESCRIPTION SERVICE USER
        local got
        got=$(verdict "$3" "$4")
        if [ "$got" = "$1" ]; then ok "$2"; else not_ok "$2" "pam_jit answered $got, not $1"; fi
}

# --- A database write-locked by another process --------------------------------
# db_lock SECONDS [DB]: a python sqlite3 client takes the write lock
# (BEGIN EXCLUSIVE; in WAL mode readers go on) and holds it for SECONDS.
# Returns once the lock is held; LOCK_PID is the holder.
db_lock() {
        local secs=$1 db=${2:-$DB}
        rm -f "$T/locked"
        python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
open(sys.argv[3], "w").close()
time.sleep(float(sys.argv[2]))
c.execute("ROLLBACK")
' "$db" "$secs" "$T/locked" 9>&- &
        LOCK_PID=$!
        wait_for 10 test -e "$T/locked" || { echo "# could not take the database write lock"; return 1; }
}
db_unlock() {
        [ -n "${LOCK_PID:-}" ] || return 0
        kill "$LOCK_PID" 2>/dev/null
        wait "$LOCK_PID" 2>/dev/null
        LOCK_PID=
}

# --- A small file system that fills up (inside a private mount namespace) -------
small_disk() {  # small_disk DIR SIZE: a tmpfs of SIZE (e.g. 3m) on DIR, root 0755
        [ -n "${JIT_IN_NAMESPACE:-}" ] || { echo "# small_disk outside a private namespace refused"; exit 1; }
        mkdir -p "$1"
        mount -t tmpfs -o "size=$2,mode=0755,uid=0,gid=0" jit-test-small "$1"
}
disk_fill() {  # disk_fill DIR: write until ENOSPC
        dd if=/dev/zero of="$1/.fill" bs=64k 2>/dev/null
        dd if=/dev/zero of="$1/.fill2" bs=512 2>/dev/null
        return 0
}
disk_free() { rm -f "$1/.fill" "$1/.fill2"; }
disk_avail() { df --output=avail -B1 "$1" | tail -n 1 | tr -d ' '; }

# --- jitd's resources -----------------------------------------------------------
jitd_cpu_ticks() {  # utime + stime of jitd, in clock ticks
        awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$JITD_PID/stat"
}
jitd_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$JITD_PID/status"; }
log_lines() { wc -l <"$T/jitd.log"; }

# --- Raw session frames (doc/PROTOCOL.md) ----------------------------------------
# session_open_frame USER SERVICE / session_close_frame USER SERVICE [SESSION-ID]
session_open_frame() { frame 11 "$(fstr 2 "$1")$(fstr 5 "$2")"; }
session_close_frame() {
        local id=
        [ -n "${3:-}" ] && id=$(fu64 1 "$3")
        frame 12 "$id$(fstr 2 "$1")$(fstr 5 "$2")"
}

# --- Grants ----------------------------------------------------------------------
grant_state() { sqlite3 "$DB" "SELECT state FROM grants WHERE id = $1"; }
# The newest grant of USER in ROLE.
grant_of() { sqlite3 "$DB" "SELECT max(id) FROM grants WHERE user = '$1' AND role = '$2'"; }
grant_expires() { sqlite3 "$DB" "SELECT expires_at FROM grants WHERE id = $1"; }

# Session cgroups jitd made (teardown = cgroup): their names, one a line.
CGROOT=/sys/fs/cgroup/unified
session_cgroups() { find "$CGROOT/jit" -mindepth 1 -maxdepth 1 -type d -name 'g*-s*' -printf '%f\n' 2>/dev/null | sort; }

# --- Real sudo in the private namespace --------------------------------------------
# The contract's PAM lines for sudo (PRODUCT.md): account required, session
# required; pam_permit for the rest.
contract_pam_stack() {  # contract_pam_stack FILE [SERVICE-PAM-OPTIONS]
        cat >"$1" <<EOS
auth     required pam_permit.so
account  required $T/bin/pam_jit.so socket=$SOCK ${2:-}
account  required pam_permit.so
session  required $T/bin/pam_jit.so socket=$SOCK ${2:-}
session  required pam_permit.so
EOS
}
# Processes whose command line carries this run's unique marker, ended by pid.
kill_marked() {  # kill_marked PATTERN
        local p
        for p in $(pgrep -f "$1"); do kill -KILL "$p" 2>/dev/null; done
        return 0
}
alive_marked() { pgrep -f "$1" >/dev/null; }
# For wait_for: a function, not `bash -c "! pgrep -f PATTERN"` (that bash's
# own command line matches PATTERN).
gone_marked() { ! pgrep -f "$1" >/dev/null; }

# Start grant ids at a random high number, so that names derived from them
# (session cgroups g<grant>-s<session>) do not meet leftovers of earlier runs.
db_seed_grant_ids() {
        local base=$(( (RANDOM << 15 | RANDOM) % 900000 + 100000 ))
        sqlite3 "$DB" "PRAGMA busy_timeout = 5000;
                DELETE FROM sqlite_sequence WHERE name = 'grants';
                INSERT INTO sqlite_sequence (name, seq) VALUES ('grants', $base);" >/dev/null
}
