#!/usr/bin/env bash
# The real-systemd stories, played INSIDE the Debian 12 container that
# tests/systemd/run.sh boots (systemd 252 as PID 1, logind, dbus, sshd,
# journald). Run as a transient system service; prints ok / not ok lines and
# leaves its exit status in /srv/jit/out/rc.
#
# Written against the behaviour issue 13 asks for, not against today's code:
# a story that fails names what it saw. JIT_DEB and JIT_DEB_BUMP name the
# package and a copy of it with a higher version.
set -uo pipefail
export LC_ALL=C.UTF-8 SYSTEMD_PAGER='' SYSTEMD_COLORS=0
unset DEBIAN_FRONTEND     # the package must not ask anything, whatever the frontend

OUT=/srv/jit/out
T=$(mktemp -d /tmp/stories.XXXXXX)
N=0
FAILED=0
trap 'echo "$FAILED" >"$OUT/failed"; [ "$FAILED" -eq 0 ] && [ "$N" -gt 0 ]; echo $? >"$OUT/rc"' EXIT

DB=/var/lib/jitd/jitd.db
USER_A=alice
KEY=/root/.ssh/alice
START=$(date +%s)

# ---- reporting (the same shape as tests/lib.sh) --------------------------------
ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() {
        N=$((N + 1)); FAILED=$((FAILED + 1))
        echo "not ok $N - $1"
        [ -n "${2:-}" ] && sed 's/^/#   /' <<<"$2"
        return 0
}
check() {  # check DESCRIPTION DETAIL CMD...: ok when CMD succeeds
        local desc=$1 detail=$2; shift 2
        if "$@" >/dev/null 2>&1; then ok "$desc"; else not_ok "$desc" "$detail"; fi
}
expect() {  # expect RC DESCRIPTION [PATTERN] -- CMD...
        local want=$1 desc=$2 pattern=
        shift 2
        if [ "$1" != -- ]; then pattern=$1; shift; fi
        shift
        local out rc
        out=$("$@" 2>&1 </dev/null); rc=$?
        if [ "$rc" -ne "$want" ]; then
                not_ok "$desc" "expected exit $want, got $rc: $*"$'\n'"$out"
        elif [ -n "$pattern" ] && ! grep -qE -- "$pattern" <<<"$out"; then
                not_ok "$desc" "output does not match /$pattern/: $*"$'\n'"$out"
        else
                ok "$desc"
        fi
        LAST_OUT=$out
}
section() { echo "# ---- $* ($(( $(date +%s) - START ))s)"; }

# ---- helpers -----------------------------------------------------------------
as_a() { runuser -u "$USER_A" -- "$@"; }
wait_for() {  # wait_for SECONDS CMD...
        local deadline=$(( $(date +%s%N) + $1 * 1000000000 )); shift
        until "$@" >/dev/null 2>&1; do
                [ "$(date +%s%N)" -ge "$deadline" ] && return 1
                sleep 0.1
        done
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
gone() { ! alive "$1"; }
procs() { pgrep -f -- "$1" | tr '\n' ' '; }   # pids whose command line matches an ERE
no_procs() { ! pgrep -f -- "$1" >/dev/null; }
cgroup_of() { sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null; }
dropins() { find /etc/sudoers.d -maxdepth 1 -name 'jit-*' -printf '%f ' 2>/dev/null; }
describe_procs() {  # the processes matching an ERE, with their cgroups
        local p
        for p in $(pgrep -f -- "$1"); do
                echo "pid $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) cgroup $(cgroup_of "$p")"
        done
}

# grant DURATION: alice's auto-approved grant; sets GID and GEXP (epoch s).
grant() {
        local out
        GID='' GEXP=''
        out=$(as_a jitctl request -r ops -d "$1" -m "systemd story" 2>&1)
        GID=$(sed -n 's/^grant \([0-9][0-9]*\) .* is active.*/\1/p' <<<"$out")
        if [ -z "$GID" ]; then
                echo "# request failed: $out"
                return 1
        fi
        GEXP=$(jitctl show "$GID" --json | python3 -c 'import datetime, json, sys
g = json.load(sys.stdin)
print(int(datetime.datetime.fromisoformat(g["expires_at"].replace("Z", "+00:00")).timestamp()))')
}
grant_state() { jitctl show "$1" --json 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["state"])'; }
sleep_until() {  # sleep_until EPOCH
        local d=$(( $1 * 1000 - $(now_ms) ))
        [ "$d" -gt 0 ] && sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
        return 0
}
sessions_of_grant() { sqlite3 "$DB" "SELECT count(*) FROM sessions WHERE grant_id = $1 AND service = '$2'" 2>/dev/null; }

ssh_a() {
        ssh -i "$KEY" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
            -o LogLevel=ERROR -o ConnectTimeout=5 "$USER_A@127.0.0.1" "$@"
}
# ssh_session TAG: an ssh login of alice running "sleep TAG" in the
# background; sets SSH_PID (the client), SID (logind's session id, empty
# when pam_systemd made none), SLEEP (the remote sleep's pid). Returns 1 if
# the login did not get that far.
ssh_session() {
        local tag=$1
        SSH_PID='' SID='' SLEEP=''
        ssh_a "echo sid=\${XDG_SESSION_ID:-none}; exec sleep $tag" >"$T/ssh-$tag.out" 2>&1 </dev/null &
        SSH_PID=$!
        wait_for 10 grep -q '^sid=' "$T/ssh-$tag.out" && wait_for 5 pgrep -f "^sleep $tag\$" || return 1
        SID=$(sed -n 's/^sid=//p' "$T/ssh-$tag.out")
        [ "$SID" = none ] && SID=
        SLEEP=$(pgrep -f "^sleep $tag\$" | head -n 1)
        return 0
}
session_listed() { loginctl list-sessions --no-legend 2>/dev/null | awk -v s="$1" '$1 == s { f = 1 } END { exit !f }'; }
not_listed() { ! session_listed "$1"; }
in_scope() { [[ "$(cgroup_of "$1")" == */session-"$2".scope ]]; }

# ============================================================================
section "package: install"
case "$(dpkg-deb -f "$JIT_DEB" Package)" in pam-jit) ;; *) echo "# $JIT_DEB is not pam-jit"; exit 1 ;; esac
members=$(dpkg-deb -I "$JIT_DEB" | awk '/^ +[0-9]+ bytes/ { print $NF }' | tr '\n' ' ')
if [[ " $members " == *" config "* || " $members " == *" templates "* ]]; then
        not_ok "the package asks nothing: no debconf config or templates" "control members: $members"
else
        ok "the package asks nothing: no debconf config or templates ($members)"
fi
expect 0 "libcurl4 is declared (jitd opens it at run time; dpkg-shlibdeps cannot see it)" "(^|, )libcurl4(,|$| )" -- \
        dpkg-deb -f "$JIT_DEB" Depends
expect 0 "dpkg -i installs it offline, every dependency already there" "" -- dpkg -i "$JIT_DEB"
expect 0 "jitd.socket, jitd.service and jitd.timer are enabled" "^enabled.enabled.enabled$" -- \
        bash -c 'systemctl is-enabled jitd.socket jitd.service jitd.timer | paste -sd.'
expect 0 "and running" "^active.active.active$" -- bash -c 'systemctl is-active jitd.socket jitd.service jitd.timer | paste -sd.'
expect 0 "/etc/jit/jitd.conf is a conffile" "/etc/jit/jitd.conf" -- dpkg-query -W -f='${Conffiles}' pam-jit
missing=
for f in /usr/sbin/jitd /usr/bin/jitctl "/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)/security/pam_jit.so" \
         /usr/share/pam-configs/jit /usr/share/doc/pam-jit/examples/jitd.conf.example \
         /usr/share/man/man8/jitd.8.gz /usr/share/man/man8/pam_jit.8.gz /usr/share/man/man1/jitctl.1.gz \
         /usr/share/man/man5/jitd.conf.5.gz /usr/share/bash-completion/completions/jitctl; do
        [ -e "$f" ] || missing+="$f "
done
check "programs, PAM module, profile, example config, man pages, completion are in place" "missing: $missing" \
        test -z "$missing"
check "installing does not enable the PAM profile (Default: no)" "$(grep -l pam_jit /etc/pam.d/* 2>&1)" \
        bash -c '! grep -q pam_jit /etc/pam.d/common-account /etc/pam.d/common-session'

# ============================================================================
section "configuration and the PAM profile"
mkdir -p /root/.ssh
ssh-keygen -q -t ed25519 -N '' -f "$KEY"
for u in "$USER_A" bob; do
        useradd -m -s /bin/bash "$u" && usermod -p '*' "$u"    # key login only
        mkdir -p "/home/$u/.ssh"
        install -o "$u" -m 0600 "$KEY.pub" "/home/$u/.ssh/authorized_keys"
        chown "$u:" "/home/$u/.ssh"
done
cat >/etc/jit/jitd.conf <<'EOF'
# written by tests/systemd/stories.sh
[jitd]
warn_before = 4s

[role:ops]
members   = alice
services  = sudo, sshd
runas     = root
commands  = ALL
nopasswd  = yes
approval  = auto
ticket    = none
default_duration = 10s
max_duration     = 2h

# bob's ssh logins are not gated; only his sudo is.
[role:dba]
members   = bob
services  = sudo
runas     = root
commands  = ALL
nopasswd  = yes
approval  = auto
ticket    = none
max_duration = 1h
EOF
expect 0 "jitd --check accepts the roles" "" -- jitd --check
expect 0 "systemctl reload jitd loads them" "" -- systemctl reload jitd
expect 0 "pam-auth-update --enable jit" "" -- pam-auth-update --enable jit

# Where the lines went: account after the primary block's pam_permit, session
# after pam_systemd, and in the noninteractive file (sudo) too.
line_of() { grep -nE "$2" "$1" | head -n 1 | cut -d: -f1; }
a_jit=$(line_of /etc/pam.d/common-account '^account[[:space:]]+required[[:space:]]+pam_jit\.so')
a_permit=$(line_of /etc/pam.d/common-account '^account[[:space:]]+required[[:space:]]+pam_permit\.so')
check "common-account: 'account required pam_jit.so' after the primary block's pam_permit" \
        "$(grep -v '^#' /etc/pam.d/common-account)" test -n "$a_jit" -a -n "$a_permit" -a "${a_jit:-0}" -gt "${a_permit:-0}"
s_jit=$(line_of /etc/pam.d/common-session '^session[[:space:]]+required[[:space:]]+pam_jit\.so')
s_sd=$(line_of /etc/pam.d/common-session 'pam_systemd\.so')
check "common-session: 'session required pam_jit.so' after pam_systemd" \
        "$(grep -v '^#' /etc/pam.d/common-session)" test -n "$s_jit" -a -n "$s_sd" -a "${s_jit:-0}" -gt "${s_sd:-0}"
check "common-session-noninteractive (sudo's): 'session required pam_jit.so'" \
        "$(grep -v '^#' /etc/pam.d/common-session-noninteractive)" \
        grep -qE '^session[[:space:]]+required[[:space:]]+pam_jit\.so' /etc/pam.d/common-session-noninteractive
expect 0 "jitctl doctor: no FAIL on the installed host" "0 FAIL" -- jitctl doctor
doc=$LAST_OUT
for svc in sudo sudo-i sshd; do
        if grep -qE "^OK +pam:$svc " <<<"$doc"; then ok "doctor: pam:$svc is OK"
        else not_ok "doctor: pam:$svc is OK" "$doc"; fi
done

# ============================================================================
section "socket activation"
systemctl stop jitd.service 2>/dev/null    # "can still be activated by": that is the point
expect 3 "jitd.service stopped: not active" "^inactive$" -- systemctl is-active jitd.service
expect 0 "the socket stays listening" "^active$" -- systemctl is-active jitd.socket
expect 0 "the first connection starts jitd (jitctl status as alice)" "" -- as_a jitctl status
expect 0 "jitd.service is active again, started by the socket" "^active$" -- systemctl is-active jitd.service

# ============================================================================
section "request, sudo, and sudo commands killed at expiry"
expect 1 "without a grant alice's sudo is refused" "" -- as_a sudo -n true
if grant 10s; then ok "alice requests: grant $GID, auto-approved"; else not_ok "alice requests a grant"; fi
check "the grant's drop-in /etc/sudoers.d/jit-$GID is there" "$(dropins)" test -f "/etc/sudoers.d/jit-$GID"
expect 0 "with the grant, sudo works" "^0$" -- as_a sudo -n id -u
as_a sudo -n sleep 1101 >/dev/null 2>&1 &
as_a sudo -n -i sleep 1102 >/dev/null 2>&1 &
wait_for 5 pgrep -f '^sleep 1101$'; wait_for 5 pgrep -f 'sleep.1102$'
check "a 'sudo sleep' runs as root under the grant" "$(describe_procs 'sleep 1101$')" \
        test "$(ps -o user= -p "$(pgrep -f '^sleep 1101$' | head -n 1)" 2>/dev/null | tr -d ' ')" = root
check "a 'sudo -i sleep' (PAM service sudo-i) runs too" "$(describe_procs 'sleep.1102$')" pgrep -f 'sleep.1102$'
echo "# before expiry: $(describe_procs 'sleep.110[12]$' | tr '\n' ';')"
sleep_until "$GEXP"
wait_for 8 no_procs 'sleep 1101$'
late=$(( $(now_ms) - GEXP * 1000 ))
check "the 'sudo sleep' is killed at expiry (${late} ms after)" "$(describe_procs 'sleep 1101$')" no_procs 'sleep 1101$'
wait_for 3 no_procs 'sleep.1102$'
check "the 'sudo -i sleep' is killed at expiry too" \
        "$(describe_procs 'sleep.1102$'; echo "sessions registered under grant $GID for sudo-i: $(sessions_of_grant "$GID" sudo-i)")" \
        no_procs 'sleep.1102$'
check "the drop-in is gone" "$(dropins)" test ! -e "/etc/sudoers.d/jit-$GID"
expect 1 "after the grant sudo is refused again" "" -- as_a sudo -n true
expect 0 "the grant is expired" "^expired$" -- grant_state "$GID"
pkill -f 'sleep.110[12]$'; wait 2>/dev/null

# ============================================================================
section "an ssh session under logind, ended at expiry"
expect 255 "without a grant alice cannot log in over ssh (account refused)" "" -- ssh_a true
if grant 12s; then ok "grant $GID for the ssh story"; else not_ok "a grant for the ssh story"; fi
if ssh_session 1201; then
        ok "alice logs in with her key and runs a command"
        check "pam_systemd made a logind session (XDG_SESSION_ID=$SID)" "$(cat "$T/ssh-1201.out")" test -n "$SID"
        leader=$(loginctl show-session "$SID" -p Leader --value 2>/dev/null)
        expect 0 "loginctl shows session $SID active, service sshd, remote" "^Remote=yes,Service=sshd,State=active$" -- \
                bash -c "loginctl show-session $SID -p State -p Service -p Remote | sort | paste -sd,"
        check "the session was registered under grant $GID" "sessions: $(sessions_of_grant "$GID" sshd)" \
                test "$(sessions_of_grant "$GID" sshd)" -ge 1
        check "logind's session is intact: its leader (sshd, pid $leader) is still in session-$SID.scope" \
                "leader $leader is in $(cgroup_of "$leader")" in_scope "$leader" "$SID"
        check "logind's session is intact: the session's command is in session-$SID.scope" \
                "sleep $SLEEP is in $(cgroup_of "$SLEEP")" in_scope "$SLEEP" "$SID"
        expect 0 "logind's session is intact: session-$SID.scope is active" "^active$" -- systemctl is-active "session-$SID.scope"
        sleep_until "$GEXP"
        wait_for 8 gone "$SLEEP"
        late=$(( $(now_ms) - GEXP * 1000 ))
        check "at expiry the session's processes are killed (${late} ms after)" "$(describe_procs '^sleep 1201$')" gone "$SLEEP"
        wait_for 5 gone "$SSH_PID"
        check "the ssh connection is closed" "ssh client $SSH_PID still there" gone "$SSH_PID"
        wait_for 8 not_listed "$SID"
        check "and logind's session $SID is gone" \
                "$(loginctl list-sessions --no-legend; loginctl show-session "$SID" 2>&1 | grep -E '^(State|Scope|Leader)=')" \
                not_listed "$SID"
else
        not_ok "alice logs in with her key and runs a command" "$(cat "$T/ssh-1201.out")"
fi
pkill -f '^sleep 1201$'; wait 2>/dev/null
expect 255 "after the grant alice cannot log in again" "" -- ssh_a true

# ============================================================================
section "sudo inside an ssh session the grant does not gate"
# bob's role gates sudo only: at its end the sudo'd command dies, and his
# ssh session, which no grant allowed and none ended, stays.
if out=$(runuser -u bob -- jitctl request -r dba -d 8s -m "systemd story" 2>&1) &&
   BGID=$(sed -n 's/^grant \([0-9][0-9]*\) .* is active.*/\1/p' <<<"$out") && [ -n "$BGID" ]; then
        ok "bob's grant $BGID for sudo"
else
        not_ok "bob's grant for sudo" "$out"
fi
BEXP=$(jitctl show "${BGID:-0}" --json 2>/dev/null | python3 -c 'import datetime, json, sys
print(int(datetime.datetime.fromisoformat(json.load(sys.stdin)["expires_at"].replace("Z", "+00:00")).timestamp()))' 2>/dev/null)
ssh -i "$KEY" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
        bob@127.0.0.1 'sudo -n sleep 1602 </dev/null >/dev/null 2>&1 & echo sid=$XDG_SESSION_ID; exec sleep 1601' \
        >"$T/ssh-bob.out" 2>&1 </dev/null &
BOB_SSH=$!
if wait_for 10 pgrep -f '^sleep 1602$' && wait_for 5 pgrep -f '^sleep 1601$'; then
        BSID=$(sed -n 's/^sid=//p' "$T/ssh-bob.out")
        ok "bob's ssh session ${BSID:-?} runs 'sudo sleep' inside"
        echo "# before expiry: $(describe_procs 'sleep 160[12]$' | tr '\n' ';')"
        sleep_until "${BEXP:-0}"
        wait_for 8 no_procs '^sleep 1602$'
        check "at the grant's end the sudo'd command is killed" "$(describe_procs 'sleep 1602$')" no_procs 'sleep 1602$'
        check "bob's ssh session itself runs on" "$(cat "$T/ssh-bob.out")" pgrep -f '^sleep 1601$'
        check "and so does its logind session ${BSID:-?}" "$(loginctl list-sessions --no-legend)" session_listed "${BSID:-none}"
else
        not_ok "bob's ssh session runs 'sudo sleep' inside" "$(cat "$T/ssh-bob.out"; describe_procs 'sleep 160[12]$')"
fi
kill "$BOB_SSH" 2>/dev/null; pkill -f 'sleep 160[12]$'; wait 2>/dev/null

# ============================================================================
section "loginctl terminate-session of a granted session"
if grant 2m; then ok "grant $GID for the terminate-session story"; else not_ok "a grant for terminate-session"; fi
if ssh_session 1301 && [ -n "$SID" ]; then
        ok "a granted ssh session $SID"
        expect 0 "loginctl terminate-session $SID" "" -- loginctl terminate-session "$SID"
        wait_for 8 gone "$SLEEP"
        check "terminate-session kills the session's processes" \
                "$(describe_procs '^sleep 1301$'; echo "session-$SID.scope: $(systemctl is-active "session-$SID.scope")")" gone "$SLEEP"
        wait_for 5 gone "$SSH_PID"
        check "the ssh connection is closed" "ssh client $SSH_PID still there" gone "$SSH_PID"
        wait_for 8 not_listed "$SID"
        check "and logind's session $SID is gone" "$(loginctl list-sessions --no-legend)" not_listed "$SID"
else
        not_ok "a granted ssh session with a logind session" "$(cat "$T/ssh-1301.out")"
fi
expect 0 "alice releases the grant" "released" -- as_a jitctl release "$GID"
wait_for 5 no_procs '^sleep 1301$'
check "nothing of the session is left after the release" "$(describe_procs '^sleep 1301$')" no_procs '^sleep 1301$'
pkill -f '^sleep 1301$'; wait 2>/dev/null

# ============================================================================
section "a session line above pam_systemd (issue 13, item 2)"
# Hand-written PAM instead of the profile: sshd's own file with
# 'session optional pam_jit.so' before '@include common-session'. doctor must
# say so, and teardown must still end the session or not claim it did.
cp /etc/pam.d/sshd "$T/pam-sshd.orig"
pam-auth-update --disable jit
awk -v acct='account required pam_jit.so' -v sess='session optional pam_jit.so' '
        /^@include common-account/ { print; print acct; next }
        /^@include common-session/ { print sess }
        { print }' "$T/pam-sshd.orig" >/etc/pam.d/sshd
expect 1 "doctor: a session line above pam_systemd fails" \
        "^FAIL +pam:sshd +.*comes before pam_systemd at common-session:[0-9]+" -- jitctl doctor
if grant 10s; then ok "grant $GID (10 s) for an ssh session under that stack"; else not_ok "a grant for the misplaced-line story"; fi
if ssh_session 1351; then
        ok "a granted ssh session (logind session ${SID:-none})"
        echo "# before expiry: $(describe_procs '^sleep 1351$'); leader $(loginctl show-session "${SID:-x}" -p Leader --value 2>/dev/null) in $(cgroup_of "$(loginctl show-session "${SID:-x}" -p Leader --value 2>/dev/null)")"
        sleep_until "$GEXP"
        wait_for 8 gone "$SLEEP"
        late=$(( $(now_ms) - GEXP * 1000 ))
        check "the session is still killed at expiry (${late} ms after)" \
                "still running ${late} ms after expiry: $(describe_procs '^sleep 1351$')"$'\n'"jitd said: $(journalctl -u jitd --since "-30s" --no-pager -o cat | grep -iE "grant $GID|session" | tail -n 4)" \
                gone "$SLEEP"
else
        not_ok "a granted ssh session under the hand-written stack" "$(cat "$T/ssh-1351.out")"
fi
pkill -f '^sleep 1351$'; wait 2>/dev/null
cp "$T/pam-sshd.orig" /etc/pam.d/sshd
expect 0 "back to the profile: pam-auth-update --enable jit" "" -- pam-auth-update --enable jit
wait_for 10 test ! -e "/etc/sudoers.d/jit-$GID"

# ============================================================================
section "the warn_before notice reaches the session's terminal"
# jitd.service has no CAP_DAC_OVERRIDE: it reaches users' terminals (0620,
# user:tty) through the tty group, as wall(1) does.
if grant 8s; then ok "grant $GID (8 s, warn_before = 4s) with a sudo session on a terminal"; else not_ok "a grant for the notice story"; fi
as_a script -qfc "sudo -n sleep 1801" "/home/$USER_A/typescript" >/dev/null 2>&1 </dev/null &
wait_for 5 pgrep -f '^sleep 1801$'
sleep_until "${GEXP:-0}"
wait_for 5 no_procs '^sleep 1801$'
check "the session's terminal got the notice before the end" "$(cat -v "/home/$USER_A/typescript" 2>&1 | tail -n 5)" \
        grep -q "jit: your elevation (grant $GID, role ops) ends at" "/home/$USER_A/typescript"
check "and the session was ended with the grant" "$(describe_procs '^sleep 1801$')" no_procs '^sleep 1801$'
pkill -f 'sleep 1801$'; wait 2>/dev/null

# ============================================================================
section "jitd restarted while a grant ends"
if grant 8s; then ok "grant $GID (8 s) with a sudo session"; else not_ok "a grant for the restart story"; fi
as_a sudo -n sleep 1401 >/dev/null 2>&1 &
wait_for 5 pgrep -f '^sleep 1401$'
sleep_until $(( GEXP - 2 ))
expect 0 "systemctl restart jitd, 2 s before the grant ends" "" -- systemctl restart jitd.service
wait_for 10 bash -c "! pgrep -f '^sleep 1401\$' && test ! -e /etc/sudoers.d/jit-$GID"
late=$(( $(now_ms) - GEXP * 1000 ))
check "the grant still ends: sudo session killed, drop-in gone (${late} ms after expiry)" \
        "$(describe_procs '^sleep 1401$'; dropins)" bash -c "! pgrep -f '^sleep 1401\$' && test ! -e /etc/sudoers.d/jit-$GID"
expect 0 "the grant is expired" "^expired$" -- grant_state "$GID"
pkill -f 'sleep 1401$'; wait 2>/dev/null

section "jitd stopped while a grant ends"
if grant 6s; then ok "grant $GID (6 s) with a sudo session"; else not_ok "a grant for the stop story"; fi
as_a sudo -n sleep 1402 >/dev/null 2>&1 &
wait_for 5 pgrep -f '^sleep 1402$'
expect 0 "systemctl stop jitd.service before the grant ends (socket and timer stay)" "" -- \
        bash -c 'systemctl stop jitd.service 2>/dev/null'
stopped=$(date +%s)
# Nothing may connect to the socket meanwhile: that would start jitd and
# prove socket activation, not the unit files' guarantee that jitd runs.
inactive_sec=$(systemctl show jitd.timer -p TimersMonotonic --value | grep -o 'OnUnitInactiveUSec=[^ ;]*' | head -n 1)
echo "# jitd.timer: $inactive_sec; waiting without touching the socket"
wait_for 60 bash -c "! pgrep -f '^sleep 1402\$' && test ! -e /etc/sudoers.d/jit-$GID"
done_at=$(date +%s)
check "the grant still ends with jitd stopped: session killed, drop-in gone, $(( done_at - GEXP )) s after expiry, $(( done_at - stopped )) s after the stop" \
        "$(describe_procs '^sleep 1402$'; dropins; systemctl is-active jitd.service)" \
        bash -c "! pgrep -f '^sleep 1402\$' && test ! -e /etc/sudoers.d/jit-$GID"
expect 0 "jitd runs again, started by jitd.timer" "^active$" -- systemctl is-active jitd.service
expect 0 "the grant is expired" "^expired$" -- grant_state "$GID"
pkill -f 'sleep 1402$'; wait 2>/dev/null

# ============================================================================
section "the system bus stops mid-session"
if grant 12s; then ok "grant $GID (12 s) for an ssh session"; else not_ok "a grant for the bus story"; fi
if ssh_session 1501; then
        ok "a granted ssh session (logind session ${SID:-none})"
        expect 0 "stop the system bus (dbus.socket, dbus.service; logind goes with it)" "" -- \
                systemctl stop dbus.socket dbus.service
        check "the bus is down" "$(ls -l /run/dbus/ 2>&1)" bash -c '! busctl --system list >/dev/null 2>&1'
        sleep_until "$GEXP"
        wait_for 10 gone "$SLEEP"
        late=$(( $(now_ms) - GEXP * 1000 ))
        check "with the bus down the session is still killed at expiry (${late} ms after)" \
                "still running ${late} ms after expiry: $(describe_procs '^sleep 1501$')" gone "$SLEEP"
        check "and the drop-in is gone" "$(dropins)" test ! -e "/etc/sudoers.d/jit-$GID"
else
        not_ok "a granted ssh session" "$(cat "$T/ssh-1501.out")"
        systemctl stop dbus.socket dbus.service
fi
pkill -f '^sleep 1501$'; wait 2>/dev/null
# A session that opens while the bus is down: refused, or tracked and killed.
if grant 10s; then ok "grant $GID (10 s) with the bus still down"; else not_ok "a grant with the bus down"; fi
if ssh_session 1502; then
        echo "# login with the bus down went through: $(cat "$T/ssh-1502.out" | tr '\n' ' ') $(describe_procs '^sleep 1502$')"
        check "a session opened with the bus down is registered under the grant" \
                "sessions: $(sessions_of_grant "$GID" sshd)" test "$(sessions_of_grant "$GID" sshd)" -ge 1
        sleep_until "$GEXP"
        wait_for 10 gone "$SLEEP"
        check "and killed at expiry, never left running untracked" "$(describe_procs '^sleep 1502$')" gone "$SLEEP"
else
        ok "a session opened with the bus down is refused at open ($(tr '\n' ' ' <"$T/ssh-1502.out"))"
        check "nothing of it runs" "$(describe_procs '^sleep 1502$')" no_procs '^sleep 1502$'
        sleep_until "$GEXP"
fi
pkill -f '^sleep 1502$'; wait 2>/dev/null
expect 0 "the bus comes back" "" -- systemctl start dbus.socket dbus.service systemd-logind.service
expect 0 "jitd still answers" "" -- as_a jitctl status
wait_for 10 test ! -e "/etc/sudoers.d/jit-$GID"

# ============================================================================
section "journald"
jitctl audit --json >"$T/audit.json" 2>"$T/audit.err"
journalctl -o json --no-pager SYSLOG_IDENTIFIER=jitd >"$T/journal.json" 2>/dev/null
report=$(python3 - "$T/audit.json" "$T/journal.json" <<'EOF'
import collections, json, sys
audit = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
journal = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
journal = [e for e in journal if "JIT_EVENT" in e]
want = collections.Counter((str(a.get("grant") or 0), a["event"]) for a in audit)
have = collections.Counter((e.get("JIT_GRANT", "?"), e["JIT_EVENT"]) for e in journal)
fields = ["JIT_EVENT", "JIT_GRANT", "JIT_USER", "JIT_ROLE", "JIT_TICKET", "JIT_ACTOR", "JIT_ACTOR_UID", "JIT_DETAILS"]
short = collections.Counter()
for k, n in want.items():
    if have[k] < n:
        short[k[1]] += n - have[k]
bad = [e for e in journal if any(f not in e for f in fields)]
print("audit events: %d, journal entries with JIT_EVENT: %d" % (len(audit), len(journal)))
print("events: " + ", ".join("%s %d" % (ev, n) for ev, n in sorted(collections.Counter(a["event"] for a in audit).items())))
if short:
    print("MISSING from the journal: " + ", ".join("%s x%d" % (ev, n) for ev, n in sorted(short.items())))
if bad:
    print("ENTRIES WITHOUT SOME JIT_* FIELD: %d, e.g. %s" % (len(bad), sorted(k for k in bad[0] if k.startswith("JIT_"))))
EOF
)
echo "$report" | sed 's/^/# /'
check "the audit log has events to compare" "$(cat "$T/audit.err")" test -s "$T/audit.json"
check "journald shows every audit event (grant, event) with jitd's JIT_* fields" "$report" \
        bash -c "! grep -qE '^(MISSING|ENTRIES)' <<<\"\$1\"" _ "$report"
expect 0 "the audit chain verifies" "" -- jitctl audit verify

# ============================================================================
section "systemd-analyze security"
full=$(systemd-analyze security jitd.service --no-pager 2>&1)
sec=$(tail -n 1 <<<"$full")
level=$(grep -oE 'exposure level for jitd\.service: [0-9.]+' <<<"$sec" | awk '{ print $NF }')
echo "# what counts against jitd.service:"; grep -E '^✗' <<<"$full" | sed 's/^/#   /' 
# Issue 13 asks for 2.6 at most. The ticket helper's CAP_SETUID/CAP_SETGID
# (it becomes an unprivileged user before it parses anything from the
# network) cost 0.3; giving up CAP_DAC_OVERRIDE (terminals through the tty
# group) and write access to the cgroup tree (scopes killed process by
# process) won it back. What is left is printed above; jitd.service says why
# each stays.
check "systemd-analyze security jitd.service: exposure ${level:-?} <= 2.6" "$sec" \
        python3 -c "import sys; sys.exit(0 if float('${level:-99}') <= 2.6 else 1)"

# ============================================================================
section "package: upgrade over itself"
if grant 2h; then ok "an active grant ($GID) across the upgrades"; else not_ok "a grant across the upgrades"; fi
conf_sum=$(sha256sum /etc/jit/jitd.conf)
upgraded_ok() {  # upgraded_ok WHAT
        wait_for 10 as_a jitctl status
        expect 0 "$1: jitd answers" "" -- as_a jitctl status
        expect 0 "$1: jitd.socket, jitd.service, jitd.timer active" "^active.active.active$" -- \
                bash -c 'systemctl is-active jitd.socket jitd.service jitd.timer | paste -sd.'
        expect 0 "$1: the grant is still active" "^active$" -- grant_state "$GID"
        check "$1: its drop-in is still there" "$(dropins)" test -f "/etc/sudoers.d/jit-$GID"
        check "$1: the admin's jitd.conf is kept" "$(head -n 3 /etc/jit/jitd.conf)" \
                bash -c "[ \"\$(sha256sum /etc/jit/jitd.conf)\" = '$conf_sum' ]"
        check "$1: the PAM profile stays enabled" "$(grep -c pam_jit /etc/pam.d/common-account /etc/pam.d/common-session)" \
                bash -c 'grep -q pam_jit.so /etc/pam.d/common-account && grep -q pam_jit.so /etc/pam.d/common-session'
        expect 0 "$1: sudo under the grant still works" "^0$" -- as_a sudo -n id -u
}
expect 0 "dpkg -i of the same package again" "" -- dpkg -i "$JIT_DEB"
upgraded_ok "reinstalled"
expect 0 "dpkg -i of a higher version" "" -- dpkg -i "$JIT_DEB_BUMP"
expect 0 "the higher version is installed" "systemdtest1" -- dpkg-query -W -f='${Version}' pam-jit
upgraded_ok "upgraded"

# ============================================================================
section "package: purge"
expect 0 "dpkg --purge pam-jit (an active grant and its drop-in in place)" "" -- dpkg --purge pam-jit
expect 0 "the package is gone" "not-installed|^$" -- bash -c "dpkg-query -W -f='\${db:Status-Status}' pam-jit 2>/dev/null; true"
check "no drop-in left in /etc/sudoers.d" "$(ls -la /etc/sudoers.d)" test -z "$(dropins)"
check "no /var/lib/jitd" "$(ls -la /var/lib/jitd 2>&1)" test ! -e /var/lib/jitd
check "no /etc/jit" "$(ls -la /etc/jit 2>&1)" test ! -e /etc/jit
check "no /run/jitd" "$(ls -la /run/jitd 2>&1)" test ! -e /run/jitd
check "no pam_jit line in /etc/pam.d" "$(grep -rn pam_jit /etc/pam.d)" bash -c '! grep -rq pam_jit /etc/pam.d'
check "no pam_jit in pam-auth-update's saved state" "$(grep -rn pam_jit /var/lib/pam 2>&1)" \
        bash -c '! grep -rq pam_jit /var/lib/pam'
check "no profile left in /usr/share/pam-configs" "" test ! -e /usr/share/pam-configs/jit
check "no jitd unit left enabled" "$(find /etc/systemd -name 'jitd*' 2>&1)" test -z "$(find /etc/systemd -name 'jitd*')"
check "no jitd process" "$(pgrep -a jitd)" bash -c '! pgrep -x jitd'
expect 1 "alice's sudo is refused: no privilege left behind" "" -- as_a sudo -n true

echo "# $N cases, $FAILED failed, $(( $(date +%s) - START ))s"
