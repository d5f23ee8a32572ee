#!/usr/bin/env bash
# jitctl doctor on hostile sudoers trees (issue 12, finding 12): a file that
# includes itself many times, two files that include each other, an include
# of /dev/zero and of a FIFO. Doctor finishes in moments and names the loop;
# before, the self-include alone kept it busy for minutes.
. "$(dirname "$0")/../lib.sh"
jt_setup

user_add jt_alice

config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost

[role:ops]
members   = jt_alice
services  = sudo
approval  = auto
EOF2
jitd_start || exit 1
mkdir -p "$T/pam.d"
printf '%s\n' "account required $T/bin/pam_jit.so socket=$SOCK" "session optional $T/bin/pam_jit.so socket=$SOCK" \
        >"$T/pam.d/sudo"

finishes() {  # finishes DESC PATTERN FILE: doctor on FILE ends within 10 s with a matching sudoers line
        local start line ELAPSED
        start=$(now_ms)
        timeout 20 "$T/bin/jitctl" -s "$SOCK" doctor -c "$CONF" --pam-dir "$T/pam.d" --sudoers "$3" \
                >"$T/doctor.out" 2>&1
        ELAPSED=$(($(now_ms) - start))
        line=$(grep -E '^(OK|WARN|FAIL) +sudoers ' "$T/doctor.out")
        if [ "$ELAPSED" -ge 10000 ]; then
                not_ok "$1" "doctor took ${ELAPSED} ms"$'\n'"$(cat "$T/doctor.out")"
        elif ! grep -qE -- "$2" <<<"$line"; then
                not_ok "$1" "sudoers line does not match /$2/ (${ELAPSED} ms)"$'\n'"$(cat "$T/doctor.out")"
        else
                ok "$1 (${ELAPSED} ms)"
        fi
}

# A file that includes itself 40 times, then has the @includedir.
mkdir -p "$T/loop"
{
        for _ in $(seq 1 40); do echo "@include $T/loop/sudoers"; done
        echo "@includedir $T/sudoers.d"
} >"$T/loop/sudoers"
# visudo -c refuses such a file ("too many levels of includes") and sudo
# with it: FAIL, whatever else the file holds.
finishes "a self-including sudoers: doctor finishes, names the loop and fails it" \
        "^FAIL +sudoers +.*include loop: $T/loop/sudoers:1 includes $T/loop/sudoers again" \
        "$T/loop/sudoers"

# Two files including each other, by relative names, many times.
printf '@include b\n%.0s' $(seq 1 20) >"$T/loop/a"
printf '@include a\n%.0s' $(seq 1 20) >"$T/loop/b"
printf '%s\n' "@include a" "@includedir $T/sudoers.d" >"$T/loop/main"
finishes "two files including each other: doctor finishes, names the loop and fails it" \
        "^FAIL +sudoers +.*include loop: $T/loop/b:1 includes $T/loop/a again" "$T/loop/main"

# Files that never end or never open.
mkfifo "$T/loop/fifo"
printf '%s\n' "@include /dev/zero" "@include $T/loop/fifo" "@includedir $T/sudoers.d" >"$T/loop/devices"
finishes "an include of /dev/zero or a FIFO is named, not read, and warned about" \
        "^WARN +sudoers +.*cannot read /dev/zero \(included at $T/loop/devices:1\): not a regular file" "$T/loop/devices"
finishes "a FIFO as the sudoers file itself does not hang doctor" "^FAIL +sudoers +cannot read $T/loop/fifo" \
        "$T/loop/fifo"
finish
