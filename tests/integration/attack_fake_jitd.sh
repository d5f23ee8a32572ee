#!/usr/bin/env bash
# Issue 12, finding 7: a fake jitd. With the socket in a directory a user can
# write, mallory runs her own server on the socket path, answering every
# request with a well-formed reply (check: decision ALLOW). The clients trust
# only root: pam_jit checks the server's SO_PEERCRED uid is 0 before sending
# anything, so its account phase is PAM_PERM_DENIED and session-open fails;
# `jitctl -s PATH status` exits 3 saying the peer is not root; the fake server
# receives nothing from either. And jitd itself refuses to start when its
# socket directory is user-writable (owned by mallory, or 1777), naming it.
# Controls: the fake answers a raw client; the real jitd in a root-owned
# directory still serves pam_jit and jitctl.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault_lib.sh"
. "$(dirname "$0")/../attack_lib.sh"
jt_setup
attack_setup

user_add jt_mallory
user_add jt_bob
direct jt_mallory
FAKEPID=
# shellcheck disable=SC2154 # rc is set by the trap's first command
trap 'rc=$?; [ -n "$FAKEPID" ] && kill "$FAKEPID" 2>/dev/null; (exit $rc); cleanup' EXIT
user_dir "$T/userrun" jt_mallory 0755
FAKE=$T/userrun/jitd.sock
COUNT=$T/userrun/count
"${DIRECT[@]}" "$PYTHON" "$ATTACK" fake "$FAKE" "$COUNT" 9>&- &
FAKEPID=$!
wait_for 5 test -S "$FAKE" -a -s "$COUNT" || { not_ok "mallory's fake jitd started"; finish; exit; }
received() { cat "$COUNT"; }

# Controls: the fake is a well-formed server to a client that does not look.
expect 0 "control: the fake answers a raw ping with ok" "^ok" -- "$T/bin/rawsend" "$FAKE" "$(frame 1 "")"
expect 0 "control: the fake answers a raw check with decision" "^decision" -- \
        "$T/bin/rawsend" "$FAKE" "$(frame 2 "$(fstr 2 jt_bob)$(fstr 5 sudo)")"

before=$(received)
SOCK=$FAKE verdict_service fake ""
expect_verdict PERM_DENIED "pam_jit against the fake: the account phase is PAM_PERM_DENIED" fake jt_bob
cat >"$T/pam/fake-s" <<EOF2
session  required $T/bin/pam_jit.so socket=$FAKE
EOF2
out=$(pam_check fake-s jt_bob --phase open 2>&1)
grep -q "open: PAM_SUCCESS" <<<"$out" && not_ok "pam_jit against the fake: session-open fails" "$out" \
        || ok "pam_jit against the fake: session-open fails ($(grep '^open:' <<<"$out"))"
after=$(received)
[ "$after" = "$before" ] && ok "pam_jit sent the fake nothing" \
        || not_ok "pam_jit sends nothing to a server whose uid is not 0" "the fake received $((after - before)) datagrams"

before=$(received)
expect 3 "jitctl -s FAKE status as root: exit 3, the peer is not root" "not root|uid [0-9]" -- \
        "$T/bin/jitctl" -s "$FAKE" status
expect 3 "jitctl -s FAKE status as bob: exit 3, the peer is not root" "not root|uid [0-9]" -- \
        as jt_bob "$T/bin/jitctl" -s "$FAKE" status
after=$(received)
[ "$after" = "$before" ] && ok "jitctl sent the fake nothing" \
        || not_ok "jitctl sends nothing to a server whose uid is not 0" "the fake received $((after - before)) datagrams"
kill "$FAKEPID"; wait "$FAKEPID" 2>/dev/null; FAKEPID=
rm -f "$FAKE"

# jitd vets its socket directory.
conf() {  # conf SOCKET
        config_write <<EOF2
[jitd]
socket = $1
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
teardown = cgroup

[role:ops]
members   = jt_bob
services  = fake, real, sudo
approval  = auto
ticket    = none
EOF2
}
SOCK=$FAKE; conf "$SOCK"
jitd_refuses "a socket directory owned by mallory: jitd refuses to start, naming it" "$T/userrun"
mkdir -p "$T/tmprun"; chmod 1777 "$T/tmprun"
SOCK=$T/tmprun/jitd.sock; conf "$SOCK"
jitd_refuses "a sticky world-writable (1777) socket directory: jitd refuses to start, naming it" "$T/tmprun"

# Control: the real jitd (root, in a root-owned directory) is trusted.
mkdir -p "$T/run"; chmod 0755 "$T/run"
SOCK=$T/run/jitd.sock; conf "$SOCK"
jitd_start || { not_ok "jitd starts with its socket in a root-owned 0755 directory"; finish; exit; }
verdict_service real ""
expect_verdict PERM_DENIED "control: the real jitd denies bob without a grant" real jt_bob
expect 0 "control: bob gets a grant from the real jitd" "active" -- jc jt_bob request -r ops -d 1h
expect_verdict SUCCESS "control: pam_jit trusts the real jitd: PAM_SUCCESS" real jt_bob
expect 0 "control: jitctl status against the real jitd" "you are root" -- "$T/bin/jitctl" -s "$SOCK" status
finish
