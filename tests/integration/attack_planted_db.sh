#!/usr/bin/env bash
# Issue 12, finding 6: a planted database. jitd vets the database's directory
# and the -wal and -shm files next to the database, not only the database
# file: with the directory writable by a user (owned by her, 0777, 1777) or
# a -wal / -shm that another user owns, that is group or world writable, or
# that is a symlink, jitd refuses to start, names what is wrong, and writes no
# drop-in. The -wal planted here is a real forgery: replayed by SQLite it adds
# an active 30-day ALL grant for mallory that nobody approved (built with
# sqlite3 as root on a copy of the database; on today's jitd it is replayed,
# the drop-in is written and `audit verify` says intact: printed as # record).
# Controls: a clean database, and the root-owned 0600 -wal/-shm a crash
# leaves, start.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault_lib.sh"
. "$(dirname "$0")/../attack_lib.sh"
jt_setup
attack_setup

group_add jt_mgrp
user_add jt_mallory jt_mgrp
user_add jt_bob
DIR=$T/dbp
DB=$DIR/jitd.db
mkdir -p "$DIR" "$T/forge"
chmod 0755 "$DIR"
chmod 0700 "$T/forge"
config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
teardown = cgroup

[role:ops]
members   = jt_mallory
services  = sudo
runas     = root
commands  = ALL
nopasswd  = yes
approval  = peer
approvers = jt_bob
ticket    = none
default_duration = 1h
max_duration = 30d
EOF2

# A database with one pending request of mallory's, closed cleanly.
jitd_start || exit 1
expect 0 "mallory requests ops: pending, it needs bob" "pending" -- jc jt_mallory request -r ops -d 1h
jitd_stop
cp "$DB" "$T/clean.db"
out=$("$PYTHON" "$ATTACK" forge-wal "$T/clean.db" "$T/forge" "$(id -u jt_mallory)" jt_mallory) \
        || { not_ok "forging a -wal" "$out"; finish; exit; }
forged=$(kv grant "$out")
echo "# the forged -wal adds grant $forged (active, 30 days, reason 'forged')"

restore() {  # the clean database in a root-owned 0755 directory, nothing else
        jitd_stop
        chown root:root "$DIR"
        chmod 0755 "$DIR"
        rm -f "$DB" "$DB-wal" "$DB-shm" "$T/sudoers.d"/jit-*
        cp "$T/clean.db" "$DB"
        chmod 0600 "$DB"
}
no_dropin() {  # no_dropin CASE
        local d
        d=$(find "$T/sudoers.d" -name 'jit-*' -printf '%f ')
        [ -z "$d" ] && ok "$1: no drop-in was written" || not_ok "$1: no drop-in may be written" "written: $d"
}
# What a jitd that did start made of the forgery, for the record.
record() {  # record CASE
        local n v d
        d=$(find "$T/sudoers.d" -name 'jit-*' -printf '%f ')
        n=$(sqlite3 "$DB" "SELECT count(*) FROM grants WHERE reason = 'forged' AND state = 'active'" 2>/dev/null)
        [ "${n:-0}" -gt 0 ] || return 0
        jitd_start >/dev/null 2>&1 && v=$(jc root audit verify 2>&1)
        jitd_stop
        echo "# record ($1): jitd replayed the forged -wal: grant $forged active for 30 days, approved by nobody;" \
                "drop-in ${d:-(none) }written; audit verify: ${v:-?}"
}
# refused CASE DESCRIPTION NAME: jitd refuses, writes no drop-in; if it
# started anyway, what it made of the forgery goes on record.
refused() {
        local started=
        jitd_refuses "$2" "$3" || started=1
        no_dropin "$1"
        [ -z "$started" ] || record "$1"
}
plant() {  # plant FILE OWNER MODE: the forged -wal as FILE
        cp "$T/forge/forged-wal" "$1"
        chown "$2" "$1"
        chmod "$3" "$1"
}

# Controls.
restore
jitd_start && ok "control: a clean database in a root-owned 0755 directory starts" \
        || not_ok "control: a clean database starts"
jc jt_mallory list >/dev/null
kill -KILL "$JITD_PID"; wait "$JITD_PID" 2>/dev/null; JITD_PID=
if [ -e "$DB-wal" ] && [ -e "$DB-shm" ]; then
        jitd_start && ok "control: the root-owned 0600 -wal and -shm a crash leaves do not stop a restart" \
                || not_ok "control: a restart after a crash (root-owned -wal and -shm) starts"
else
        echo "# SKIP control: no -wal/-shm left by a killed jitd here"
fi

# The -wal and -shm.
restore; plant "$DB-wal" jt_mallory 0600
refused "-wal owned by mallory" "a -wal owned by mallory: jitd refuses to start, naming it" "jitd.db-wal"
restore; plant "$DB-wal" root 0666
refused "world-writable -wal" "a world-writable -wal: jitd refuses to start, naming it" "jitd.db-wal"
restore; plant "$T/forge/elsewhere-wal" root 0600; ln -s "$T/forge/elsewhere-wal" "$DB-wal"
refused "symlinked -wal" "a -wal that is a symlink: jitd refuses to start, naming it" "jitd.db-wal"
restore; : >"$DB-shm"; chown jt_mallory "$DB-shm"; chmod 0600 "$DB-shm"
refused "-shm owned by mallory" "a -shm owned by mallory: jitd refuses to start, naming it" "jitd.db-shm"
restore; : >"$DB-shm"; chgrp jt_mgrp "$DB-shm"; chmod 0660 "$DB-shm"
refused "group-writable -shm" "a group-writable -shm: jitd refuses to start, naming it" "jitd.db-shm"
restore; : >"$T/forge/elsewhere-shm"; chmod 0600 "$T/forge/elsewhere-shm"; ln -s "$T/forge/elsewhere-shm" "$DB-shm"
refused "symlinked -shm" "a -shm that is a symlink: jitd refuses to start, naming it" "jitd.db-shm"

# The directory: mallory plants the -wal herself.
install -m 0644 "$T/forge/forged-wal" "$T/forged-wal.public"
restore; chmod 0777 "$DIR"
expect 0 "a 0777 database directory: mallory plants the forged jitd.db-wal there herself" "" -- \
        as jt_mallory cp "$T/forged-wal.public" "$DB-wal"
refused "0777 directory" "a world-writable (0777) database directory: jitd refuses to start, naming it" "$DIR"
restore; chmod 1777 "$DIR"; as jt_mallory cp "$T/forged-wal.public" "$DB-wal"
refused "1777 directory" "a sticky world-writable (1777) database directory: jitd refuses to start, naming it" "$DIR"
restore; chown jt_mallory "$DIR"; as jt_mallory cp "$T/forged-wal.public" "$DB-wal"
refused "directory owned by mallory" "a database directory owned by mallory: jitd refuses to start, naming it" "$DIR"
restore
finish
