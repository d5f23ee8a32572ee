#!/usr/bin/env bash
# When the drop-in cannot be written the grant does not become active: the
# approver is told why, nothing partial is left, the failure is audited, and
# jitd activates the grant once the fault is gone. jitd refuses to start on an
# unsafe sudoers_dir.
. "$(dirname "$0")/../lib.sh"
jt_setup

group_add jt_sec
user_add jt_alice
user_add jt_bob jt_sec

write_conf() {  # write_conf VISUDO SUDOERS_DIR
        config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $2
visudo = $1
host = testhost

[role:ops]
members   = jt_alice
services  = sudo
approval  = peer
approvers = %jt_sec
ticket    = none
EOF2
}

# visudo says no.
printf '#!/bin/sh\nexit 1\n' >"$T/bin/visudo-no"; chmod 0755 "$T/bin/visudo-no"
write_conf "$T/bin/visudo-no" "$T/sudoers.d"
jitd_start || exit 1
expect 0 "alice requests" "pending" -- jc jt_alice request -r ops
expect 1 "bob's approval is recorded but the grant cannot activate: he is told why" \
        "could not be activated: visudo rejected the sudoers drop-in; it stays pending" -- jc jt_bob approve 1
expect 0 "the grant stays pending" "state: +pending" -- jc jt_alice show 1
left=$(find "$T/sudoers.d" -mindepth 1 | wc -l)
[ "$left" -eq 0 ] && ok "nothing was left in the drop-in directory" || not_ok "drop-in directory is empty" "$(ls -la "$T/sudoers.d")"
expect 0 "the failure is audited" "activation-failed" -- sqlite3 "$DB" "SELECT event FROM audit WHERE grant_id = 1"
pam_service sudo ""
expect 1 "PAM still refuses" "PAM_PERM_DENIED" -- pam_check sudo jt_alice

# The fault is fixed; reconciliation (here: a restart) activates the grant.
jitd_stop
write_conf /usr/sbin/visudo "$T/sudoers.d"
jitd_start || exit 1
expect 0 "with visudo fixed the grant activates on its own" "state: +active" -- jc jt_alice show 1
[ -f "$T/sudoers.d/jit-1" ] && ok "and its drop-in is there" || not_ok "drop-in written after the fix"

# sudoers_dir loosened behind jitd's back: refused, not written into.
expect 0 "alice releases" "released" -- jc jt_alice release 1
chmod 0777 "$T/sudoers.d"
expect 0 "alice requests again" "pending" -- jc jt_alice request -r ops
expect 1 "a world-writable sudoers_dir is refused at activation" "not root-owned or is writable" -- jc jt_bob approve 2
[ ! -e "$T/sudoers.d/jit-2" ] && ok "no drop-in was written into it" || not_ok "nothing written into an unsafe dir"
chmod 0750 "$T/sudoers.d"

# jitd refuses to start on an unsafe or missing sudoers_dir.
jitd_stop
mkdir -p "$T/loose"; chmod 0775 "$T/loose"
write_conf /usr/sbin/visudo "$T/loose"
expect 3 "jitd refuses to start with a group-writable sudoers_dir" "must be owned by root and not writable" -- \
        "$T/bin/jitd" -c "$CONF"
write_conf /usr/sbin/visudo "$T/missing"
expect 3 "jitd refuses to start with a missing sudoers_dir" "sudoers_dir $T/missing" -- "$T/bin/jitd" -c "$CONF"
ln -s "$T/sudoers.d" "$T/link"
write_conf /usr/sbin/visudo "$T/link"
expect 3 "jitd refuses a sudoers_dir that is a symlink" "sudoers_dir $T/link" -- "$T/bin/jitd" -c "$CONF"
finish
