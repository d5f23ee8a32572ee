#!/usr/bin/env bash
# No rule without a grant: a drop-in appears only after the commit that
# makes its grant active. With the database's file system full, an approval,
# an auto-approved request and a break-glass all fail with exit 1 and a
# message, leave no jit-* file in the sudoers directory, and leave no active
# grant. Once space returns, the same steps work, each grant with its own
# drop-in.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault_lib.sh"
in_private_namespace "$@"
jt_setup

group_add jt_sec
user_add jt_alice
user_add jt_bob jt_sec
# shellcheck disable=SC2154 # rc is set by the trap's first command
trap 'rc=$?; jitd_stop; umount -l "$T/db" 2>/dev/null; (exit $rc); cleanup' EXIT

small_disk "$T/db" 3m || { echo "# SKIP cannot mount a tmpfs in the private namespace"; exit 0; }
config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
teardown = cgroup

[role:ops]
members   = jt_alice
services  = sudo
runas     = root
commands  = ALL
approval  = peer
approvers = %jt_sec
ticket    = none
default_duration = 1h
max_duration = 4h

[role:emergency]
members   = jt_alice
services  = sudo
runas     = root
commands  = ALL
approval  = peer
approvers = %jt_sec
ticket    = none
break_glass = jt_alice
break_glass_duration = 30m

[role:quick]
members   = jt_alice
services  = sudo
runas     = root
commands  = ALL
approval  = auto
ticket    = none
default_duration = 1h
max_duration = 4h
EOF2
jitd_start || exit 1

dropins() { find "$T/sudoers.d" -mindepth 1 -maxdepth 1 -name 'jit-*' -printf '%f\n' | sort | tr '\n' ' '; }
active() { sqlite3 "$DB" "SELECT count(*) FROM grants WHERE state = 'active'"; }
no_rule_left() {  # no_rule_left WHAT
        sleep 0.5
        local d
        d=$(dropins)
        [ -z "$d" ] && ok "$1: no jit-* file is left in the sudoers directory" \
                || not_ok "$1: no jit-* file is left in the sudoers directory" "found: $d"$'\n'"$(head -n 3 "$T"/sudoers.d/jit-* 2>/dev/null)"
        expect 0 "$1: no grant is active" "^0$" -- active
}

expect 0 "alice requests ops" "pending" -- jc jt_alice request -r ops -m "commit first"
id=$(grant_of jt_alice ops)

disk_fill "$T/db"
expect 1 "disk full: bob's approval fails with exit 1 and says why" "." -- jc jt_bob approve "$id"
no_rule_left "disk full, approve"
expect 1 "disk full: an auto-approved request fails with exit 1 and says why" "." -- jc jt_alice request -r quick
no_rule_left "disk full, request (auto)"
expect 1 "disk full: break-glass fails with exit 1 and says why" "." -- jc jt_alice break-glass -r emergency -m "prod down"
no_rule_left "disk full, break-glass"
sudo_rule=$(grep -l jt_alice "$T"/sudoers.d/* 2>/dev/null | tr '\n' ' ')
[ -z "$sudo_rule" ] && ok "disk full: no file in the sudoers directory names alice" || not_ok "no rule for alice" "$sudo_rule"

# Space returns: every path works, each grant with its own drop-in.
disk_free "$T/db"
sleep 1
[ -z "$(dropins)" ] && ok "space back: still no stray drop-in" || not_ok "no stray drop-in once space is back" "$(dropins)"
expect 0 "space back: alice's auto request is active" "active" -- jc jt_alice request -r quick
q=$(grant_of jt_alice quick)
[ "$(dropins)" = "jit-$q " ] && ok "and only its drop-in jit-$q exists" || not_ok "only jit-$q" "$(dropins)"
expect 0 "the audit chain verifies" "intact" -- jc root audit verify
finish
