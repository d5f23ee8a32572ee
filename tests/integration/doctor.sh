#!/usr/bin/env bash
# jitctl doctor on a private setup: a healthy one passes (only the clock,
# teardown and session-open lines depend on the machine), and each check, broken on purpose,
# says FAIL or WARN with its fix. The PAM stacks, sudoers and config are files
# in $T; nothing under /etc is read for them.
. "$(dirname "$0")/../lib.sh"
jt_setup

user_add jt_alice

PAMD=$T/pam.d
mkdir -p "$PAMD"

# The config; C_* variables change one thing: C_SUDOERS_DIR, C_VISUDO,
# C_TEARDOWN, C_SERVICES, C_ROLE_EXTRA (more role lines), C_TICKET (a section).
conf_text() {
        cat <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = ${C_SUDOERS_DIR:-$T/sudoers.d}
visudo = ${C_VISUDO:-/usr/sbin/visudo}
teardown = ${C_TEARDOWN:-auto}
host = testhost

[role:ops]
members   = jt_alice
services  = ${C_SERVICES:-sudo}
approval  = auto
ticket    = none
${C_ROLE_EXTRA:-}

${C_TICKET:-}
EOF2
}

conf_file() {  # conf_file FILE: a config doctor can be pointed at
        conf_text >"$1"
        chmod 0644 "$1"
}

# Debian 12's common-* files, trimmed to their rules.
cat >"$PAMD/common-auth" <<'EOF2'
auth	[success=1 default=ignore]	pam_unix.so nullok
auth	requisite			pam_deny.so
auth	required			pam_permit.so
EOF2
cat >"$PAMD/common-account" <<'EOF2'
account	[success=1 new_authtok_reqd=done default=ignore]	pam_unix.so
account	requisite			pam_deny.so
account	required			pam_permit.so
EOF2
cat >"$PAMD/common-session-noninteractive" <<'EOF2'
session	[default=1]			pam_permit.so
session	requisite			pam_deny.so
session	required			pam_permit.so
session	required	pam_unix.so
EOF2
# The interactive one (sshd, login, sudo-i) has pam_systemd: logind's session.
cat >"$PAMD/common-session" <<'EOF2'
session	[default=1]			pam_permit.so
session	requisite			pam_deny.so
session	required			pam_permit.so
session	required	pam_unix.so
session	optional	pam_systemd.so
EOF2

pam_sudo() {  # pam_sudo [LINES...]: the sudo stack; no arguments: the recommended one
        if [ $# -eq 0 ]; then
                set -- "@include common-auth" "@include common-account" \
                        "account  required  $T/bin/pam_jit.so socket=$SOCK" \
                        "@include common-session-noninteractive" \
                        "session  required  $T/bin/pam_jit.so socket=$SOCK"
        fi
        printf '%s\n' "#%PAM-1.0" "session required pam_limits.so" "$@" >"$PAMD/sudo"
}
pam_sudo_i() {  # pam_sudo_i [LINES...]: sudo -i's stack; no arguments: the recommended one
        if [ $# -eq 0 ]; then
                set -- "@include common-auth" "@include common-account" \
                        "account  required  $T/bin/pam_jit.so socket=$SOCK" \
                        "@include common-session" \
                        "session  required  $T/bin/pam_jit.so socket=$SOCK"
        fi
        printf '%s\n' "#%PAM-1.0" "$@" >"$PAMD/sudo-i"
}

sudoers_write
pam_sudo
pam_sudo_i
conf_text | config_write
jitd_start || exit 1

doc() {  # doc [ARGS...]: doctor as root on the private setup
        "$T/bin/jitctl" -s "$SOCK" doctor -c "$CONF" --pam-dir "$PAMD" --sudoers "$T/sudoers" "$@"
}

# Every line OK, except clock, teardown and session-open, which depend on the machine.
only_machine_warnings() {
        local out rc bad
        out=$("$@" 2>&1); rc=$?
        bad=$(grep -E '^(WARN|FAIL) ' <<<"$out" | grep -vE '^(WARN|FAIL) +(clock|teardown|session-open) ')
        if [ "$rc" -ne 0 ] || [ -n "$bad" ]; then
                not_ok "a healthy setup: every check OK but the machine-dependent ones" "exit $rc"$'\n'"$out"
        else
                ok "a healthy setup: every check OK but the machine-dependent ones"
        fi
}

# ---- healthy ----------------------------------------------------------------
only_machine_warnings doc
expect 0 "config: file, roles, owner and mode" "^OK +config +$CONF: 1 role, root-owned, mode 0644" -- doc
expect 0 "jitd: version and host" "^OK +jitd +jitd [0-9.]+ on host testhost answers at $SOCK" -- doc
expect 0 "pam: the account and session lines, found through @include" \
        "^OK +pam:sudo +$PAMD/sudo: account sudo:5 \(required\), session sudo:7 \(required\)" -- doc
expect 0 "sudoers: the @includedir and where it is" "^OK +sudoers +.*includes $T/sudoers.d \($T/sudoers:5\)" -- doc
expect 0 "drop-ins: none, and no grant" "^OK +drop-ins +0 active sudo grants on testhost, 0 drop-ins" -- doc
expect 0 "ticket: provider none" "^OK +ticket +provider none" -- doc
expect 0 "clock: OK or WARN, with the reason" "^(OK|WARN) +clock +" -- doc
expect 0 "teardown: the mechanism auto picks here" "^(OK|WARN) +teardown +auto: (systemd|cgroup|pidfd)" -- doc
expect 0 "the socket comes from the config without -s" "^OK +jitd +.* answers at $SOCK" -- \
        env -u JITCTL_SOCKET "$T/bin/jitctl" doctor -c "$CONF" --pam-dir "$PAMD" --sudoers "$T/sudoers"
expect 0 "--json: one document with every check" '"check":"teardown"' -- doc --json
expect 0 "--json: counts" '"fail":0' -- doc --json

# ---- 1. config --------------------------------------------------------------
C_ROLE_EXTRA="membrs = jt_alice" conf_file "$T/bad.conf"
expect 1 "config: an unknown key fails, with file:line below" \
        "^FAIL +config +$T/bad.conf: 1 error" -- doc -c "$T/bad.conf"
expect 1 "config: the error line is shown indented" "^ +$T/bad.conf:1[0-9]: unknown key 'membrs'" -- doc -c "$T/bad.conf"
expect 1 "config: the fix names jitd --check" "fix: correct it, then check it with: jitd --check -c $T/bad.conf" -- \
        doc -c "$T/bad.conf"
chmod 0664 "$CONF"
expect 1 "config: group-writable fails with chmod go-w" \
        "^FAIL +config .*writable by group or others; fix: chmod go-w $CONF" -- doc
chmod 0644 "$CONF"
expect 1 "config: a missing file fails" "^FAIL +config +cannot read $T/none.conf: No such file" -- doc -c "$T/none.conf"

# ---- 3. PAM -----------------------------------------------------------------
pam_sudo "@include common-auth" "@include common-account" "@include common-session-noninteractive"
expect 1 "pam: sudo without pam_jit fails, with the lines to add" \
        "^FAIL +pam:sudo +.*no pam_jit account line.*fix: add 'account required pam_jit.so'" -- doc
pam_sudo "@include common-auth" "account sufficient pam_permit.so" "@include common-account" \
        "account required $T/bin/pam_jit.so socket=$SOCK" \
        "session required $T/bin/pam_jit.so socket=$SOCK"
expect 1 "pam: an account line after 'account sufficient pam_permit.so' fails" \
        "^FAIL +pam:sudo +.*comes after 'sufficient pam_permit.so' at sudo:4, which can end the phase with success first; fix: move the pam_jit account line above sudo:4" -- doc
pam_sudo "@include common-auth" "account [success=3 default=ignore] pam_unix.so" \
        "account required pam_permit.so" "account required $T/bin/pam_jit.so socket=$SOCK" \
        "session required $T/bin/pam_jit.so socket=$SOCK"
expect 1 "pam: a success=N jump over the account line fails" "^FAIL +pam:sudo +.*can end the phase" -- doc
pam_sudo "account optional $T/bin/pam_jit.so socket=$SOCK" "session required $T/bin/pam_jit.so socket=$SOCK"
expect 1 "pam: an optional account line fails: a refusal does not count" \
        "^FAIL +pam:sudo +.*is 'optional': a refusal does not count" -- doc
pam_sudo "@include common-account" "account required $T/bin/pam_jit.so socket=$SOCK" \
        "@include common-session-noninteractive"
expect 1 "pam: no session line fails" "^FAIL +pam:sudo +.*no pam_jit session line.*fix: add 'session required pam_jit.so'" -- doc
pam_sudo "auth requisite $T/bin/pam_jit.so socket=$SOCK prompt" "@include common-auth" \
        "@include common-account" "account required $T/bin/pam_jit.so socket=$SOCK" \
        "@include common-session-noninteractive" "session required $T/bin/pam_jit.so socket=$SOCK"
expect 0 "pam: prompt without a ticket-approved role warns" \
        "^WARN +pam:sudo +.*auth line sudo:3 has 'prompt' but no role uses ticket approval; fix: drop 'prompt'" -- doc
pam_sudo "@include common-account" "account required $T/bin/pam_jit.so" \
        "session required $T/bin/pam_jit.so"
expect 0 "pam: a module asking another socket warns" "^WARN +pam:sudo +.*asks /run/jitd/jitd.sock, jitd listens at $SOCK" -- doc
pam_sudo "@include common-nothere" "account required $T/bin/pam_jit.so socket=$SOCK" \
        "session required $T/bin/pam_jit.so socket=$SOCK"
expect 0 "pam: an include that cannot be read warns" "^WARN +pam:sudo +.*cannot read included common-nothere" -- doc
pam_sudo
rm -f "$PAMD/sudo"
expect 1 "pam: a missing stack fails" "^FAIL +pam:sudo +cannot read $PAMD/sudo: No such file" -- doc
pam_sudo
C_SERVICES="sudo, sshd" conf_file "$T/sshd.conf"
expect 1 "pam: a role gating sshd makes doctor check the sshd stack" "^FAIL +pam:sshd +cannot read $PAMD/sshd" -- \
        doc -c "$T/sshd.conf"
printf '%s\n' "@include common-account" "account required $T/bin/pam_jit.so socket=$SOCK" \
        "session required $T/bin/pam_jit.so socket=$SOCK" >"$PAMD/sshd"
expect 0 "pam: and passes once sshd's stack has pam_jit" "^OK +pam:sshd " -- doc -c "$T/sshd.conf"

# The session line's place (issue 13): logind's pam_systemd must come first.
# 'session optional pam_jit.so' above '@include common-session' in sshd: logind
# moves the session away from what jitd registered.
sshd_stack() { printf '%s\n' "$@" >"$PAMD/sshd"; }
J="$T/bin/pam_jit.so socket=$SOCK"
sshd_stack "@include common-account" "account required $J" "session optional $J" "@include common-session"
expect 1 "pam: a session line above pam_systemd (sshd's, before @include common-session) fails" \
        "^FAIL +pam:sshd +.*session line sshd:3 comes before pam_systemd at common-session:5: logind then moves the session's processes into its own scope.*fix: move the pam_jit session line below the line of $PAMD/sshd that includes $PAMD/common-session" -- \
        doc -c "$T/sshd.conf"
expect 1 "pam: ... and its 'optional' is named too" \
        "session line sshd:3 is 'optional': a session jitd cannot register runs untracked" -- doc -c "$T/sshd.conf"
sshd_stack "@include common-account" "account required $J" "session required $J" "session optional pam_systemd.so"
expect 1 "pam: pam_systemd below the session line in the same file fails, with the line to move below" \
        "^FAIL +pam:sshd +.*comes before pam_systemd at sshd:4.*fix: move the pam_jit session line below sshd:4" -- \
        doc -c "$T/sshd.conf"
sshd_stack "@include common-account" "account required $J" "@include common-session" "session optional $J"
expect 0 "pam: below pam_systemd but optional warns, with 'required' as the fix" \
        "^WARN +pam:sshd +.*session line sshd:4 is 'optional': a session jitd cannot register runs untracked and outlives the grant; fix: make it 'session required pam_jit.so'" -- \
        doc -c "$T/sshd.conf"
sshd_stack "@include common-account" "account required $J" "@include common-session" \
        "session sufficient pam_permit.so" "session required $J"
expect 1 "pam: a session rule that can end the phase before pam_jit's fails" \
        "^FAIL +pam:sshd +.*session line sshd:5 comes after 'sufficient pam_permit.so' at sshd:4, which can end the phase with success first: the session is not registered; fix: move the pam_jit session line above sshd:4" -- \
        doc -c "$T/sshd.conf"
sshd_stack "@include common-account" "account required $J" "@include common-session" \
        "session [success=1 default=ignore] pam_succeed_if.so quiet user = nobody" "session required $J"
expect 1 "pam: a success=1 jump over the session line fails" \
        "^FAIL +pam:sshd +.*comes after '\[success=1 default=ignore\] pam_succeed_if.so'" -- doc -c "$T/sshd.conf"
sshd_stack "@include common-account" "account required $J" "@include common-session" "session required $J"
expect 0 "pam: required, below pam_systemd: OK" "^OK +pam:sshd +$PAMD/sshd: account sshd:2 \(required\), session sshd:4 \(required\)" -- \
        doc -c "$T/sshd.conf"

# What `pam-auth-update --enable jit` writes (debian/pam-configs/jit): the
# lines in the common-* files, which every service includes.
D=$T/pam.debian
mkdir -p "$D"
cp "$PAMD/common-auth" "$D/"
{ cat "$PAMD/common-account"; printf 'account\trequired\t%s\n' "$J"; } >"$D/common-account"
{ cat "$PAMD/common-session"; printf 'session\trequired\t%s\n' "$J"; } >"$D/common-session"
{ cat "$PAMD/common-session-noninteractive"; printf 'session\trequired\t%s\n' "$J"; } >"$D/common-session-noninteractive"
printf '%s\n' "@include common-auth" "@include common-account" "@include common-session-noninteractive" >"$D/sudo"
printf '%s\n' "@include common-auth" "@include common-account" "@include common-session" >"$D/sudo-i"
printf '%s\n' "@include common-auth" "@include common-account" "session required pam_loginuid.so" \
        "@include common-session" "session optional pam_motd.so" >"$D/sshd"
out=$(doc -c "$T/sshd.conf" --pam-dir "$D" 2>&1)
for svc in sudo sudo-i sshd; do
        if grep -qE "^OK +pam:$svc " <<<"$out"; then ok "pam: the pam-auth-update profile's layout passes for $svc"
        else not_ok "pam: the pam-auth-update profile's layout passes for $svc" "$out"; fi
done

# A role gating sudo gates sudo -i (PAM service sudo-i) too.
expect 0 "pam: sudo-i is checked along with sudo" "^OK +pam:sudo-i +$PAMD/sudo-i: account sudo-i:4 \(required\), session sudo-i:6 \(required\)" -- doc
pam_sudo_i "@include common-auth" "@include common-account" "@include common-session"
expect 1 "pam: sudo-i without pam_jit fails" "^FAIL +pam:sudo-i +$PAMD/sudo-i: no pam_jit account line" -- doc
rm -f "$PAMD/sudo-i"
printf '%s\n' "@include common-account" "@include common-session" >"$PAMD/other"
expect 1 "pam: no sudo-i file: the 'other' stack PAM falls back to is checked" \
        "^FAIL +pam:sudo-i +no $PAMD/sudo-i, so PAM uses other: $PAMD/other: no pam_jit account line" -- doc
rm -f "$PAMD/other"
expect 0 "pam: neither sudo-i nor other: sudo -i cannot open a session" "^OK +pam:sudo-i +neither " -- doc
pam_sudo_i

# ---- 4. sudoers -------------------------------------------------------------
cp "$T/sudoers" "$T/sudoers.good"
grep -v includedir "$T/sudoers.good" >"$T/sudoers"
expect 1 "sudoers: no @includedir fails with the line to add" \
        "^FAIL +sudoers +$T/sudoers has no @includedir for $T/sudoers.d.*fix: add the line '@includedir $T/sudoers.d'" -- doc
printf '%s\n' "root ALL=(ALL:ALL) ALL" "#includedir sudoers.d" >"$T/sudoers"
expect 0 "sudoers: a relative #includedir is taken from the file's directory" "^OK +sudoers +" -- doc
printf '%s\n' "root ALL=(ALL:ALL) ALL" "@include $T/sudoers.local" >"$T/sudoers"
printf '%s\n' "@includedir $T/sudoers.d" >"$T/sudoers.local"
expect 0 "sudoers: an @includedir in an @included file counts" "^OK +sudoers +.*\($T/sudoers.local:1\)" -- doc
cp "$T/sudoers.good" "$T/sudoers"
chmod 0770 "$T/sudoers.d"
expect 1 "sudoers_dir: group-writable fails with chmod go-w" \
        "^FAIL +sudoers_dir +.*writable by group or others; fix: chmod go-w $T/sudoers.d" -- doc
chmod 0750 "$T/sudoers.d"
C_SUDOERS_DIR=$T/nodir conf_file "$T/nodir.conf"
expect 1 "sudoers_dir: a missing directory fails" "^FAIL +sudoers_dir +$T/nodir: No such file.*fix: mkdir -m 0750 $T/nodir" -- \
        doc -c "$T/nodir.conf"

# ---- 5. visudo --------------------------------------------------------------
C_VISUDO=$T/bin/visudo-gone conf_file "$T/novisudo.conf"
expect 1 "visudo: a missing visudo fails" "^FAIL +visudo +$T/bin/visudo-gone: No such file.*fix: apt-get install sudo, or set visudo" -- doc -c "$T/novisudo.conf"
install -m 0644 /dev/null "$T/bin/visudo-noexec"
C_VISUDO=$T/bin/visudo-noexec conf_file "$T/novisudo.conf"
expect 1 "visudo: one that is not executable fails" "^FAIL +visudo +$T/bin/visudo-noexec is not executable.*fix: chmod 0755" -- \
        doc -c "$T/novisudo.conf"

# ---- 6. drop-ins ------------------------------------------------------------
expect 0 "alice's auto-approved grant is active" "active" -- jc jt_alice request -r ops
expect 0 "drop-ins: one grant, one drop-in" "^OK +drop-ins +1 active sudo grant on testhost, 1 drop-in" -- doc
install -m 0440 /dev/null "$T/sudoers.d/jit-999"
expect 0 "drop-ins: a planted jit-999 warns, with the repair" \
        "^WARN +drop-ins +jit-999 without an active grant; fix: jitd repairs this at its next reconciliation \(every 2 minutes\) or restart" -- doc
rm -f "$T/sudoers.d/jit-999" "$T/sudoers.d/jit-1"
expect 0 "drop-ins: an active grant without its drop-in warns" "^WARN +drop-ins +grant 1 \(jt_alice, ops\) without a drop-in" -- doc
expect 0 "drop-ins: not checked without root" "^WARN +drop-ins +not checked: needs root" -- \
        as jt_alice "$T/bin/jitctl" -s "$SOCK" doctor -c "$CONF" --pam-dir "$PAMD" --sudoers "$T/sudoers"
expect 0 "alice releases" "released" -- jc jt_alice release 1

# ---- 7. ticket system -------------------------------------------------------
ticket_section() {  # ticket_section URL
        printf '[ticket]\nprovider = http\nlookup = %s/t/{ticket}\nstatus = /status\napproved = approved\ntoken_file = %s\n' \
                "$1" "$T/token"
}
printf 'secret\n' >"$T/token"; chmod 0600 "$T/token"
C_TICKET=$(ticket_section https://127.0.0.1:1) conf_file "$T/ticket.conf"
expect 0 "token_file: root-owned 0600 passes" "^OK +token_file +$T/token: root-owned, mode 0600" -- doc -c "$T/ticket.conf"
expect 0 "ticket_url: an unreachable ticket system warns, break-glass still works" \
        "^WARN +ticket_url +cannot connect to 127.0.0.1 port 1: Connection refused .*break-glass still works" -- doc -c "$T/ticket.conf"
chmod 0644 "$T/token"
expect 1 "token_file: 0644 fails with chmod 0600" "^FAIL +token_file +.*mode 0644: group or others have access; fix: chmod 0600 $T/token" -- \
        doc -c "$T/ticket.conf"
chmod 0600 "$T/token"
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$T/port" &
LISTENER=$!
wait_for 5 test -s "$T/port"
C_TICKET=$(ticket_section "https://127.0.0.1:$(cat "$T/port")") conf_file "$T/ticket.conf"
expect 0 "ticket_url: a listening ticket system passes" "^OK +ticket_url +127.0.0.1 port [0-9]+ accepts connections" -- \
        doc -c "$T/ticket.conf"
kill "$LISTENER" 2>/dev/null; wait "$LISTENER" 2>/dev/null

# ---- 9. teardown ------------------------------------------------------------
C_TEARDOWN=systemd conf_file "$T/systemd.conf"
if [ -d /run/systemd/system ]; then
        expect 0 "teardown: systemd asked for and available" "^OK +teardown +teardown = systemd: available" -- doc -c "$T/systemd.conf"
else
        expect 1 "teardown: systemd asked for on a host without it fails" \
                "^FAIL +teardown +teardown = systemd, but this host was not booted with systemd.*fix: set teardown = auto" -- \
                doc -c "$T/systemd.conf"
fi
C_TEARDOWN=none conf_file "$T/none.conf"
expect 0 "teardown: none warns" "^WARN +teardown +teardown = none: sessions outlive their grant" -- doc -c "$T/none.conf"
if grep -q "session-open" <<<"$LAST_OUT"; then
        not_ok "session-open: no line where sessions are not moved into cgroups" "$LAST_OUT"
else
        ok "session-open: no line where sessions are not moved into cgroups"
fi
rm -f "$T/none.conf"

# session-open: where sessions are moved into a cgroup or scope, whether the
# cgroup2 mount has favordynmods, read here from mountinfo as doctor reads it.
# Nothing is remounted: the host's state decides which line is expected.
out=$(doc -c "$CONF" 2>&1)
mnt=$(sed -nE 's/^OK +teardown +auto: cgroup \(cgroup2 at (.*), with cgroup.kill\)$/\1/p' <<<"$out")
[ -d /run/systemd/system ] && mnt=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
if [ -z "$mnt" ]; then
        ok "session-open # SKIP sessions are not moved into cgroups here (teardown is pidfd)"
else
        super=$(awk -v m="$mnt" '{ for (i = 1; i <= NF; i++) if ($i == "-") break }
                $5 == m && $(i + 1) == "cgroup2" { print $(i + 3); exit }' /proc/self/mountinfo)
        if [[ ",$super," == *,favordynmods,* ]]; then
                expect 0 "session-open: cgroup2 with favordynmods is OK" \
                        "^OK +session-open +cgroup2 at $mnt is mounted with favordynmods" -- doc
        else
                expect 0 "session-open: cgroup2 without favordynmods warns, with the remount as the fix" \
                        "^WARN +session-open +cgroup2 at $mnt is mounted without favordynmods: every session open .*fix: mount -o remount,favordynmods $mnt " -- doc
        fi
fi

# ---- usage ------------------------------------------------------------------
expect 2 "usage: --pam-dir needs a value" "needs a value" -- "$T/bin/jitctl" doctor --pam-dir
expect 2 "usage: an empty -c is refused" "need a path" -- "$T/bin/jitctl" doctor -c ""
expect 2 "usage: doctor takes no arguments" "unexpected argument" -- "$T/bin/jitctl" doctor extra
expect 2 "usage: other commands refuse --sudoers" "does not take --sudoers" -- "$T/bin/jitctl" list --sudoers x

# ---- valgrind -----------------------------------------------------------------
# Not under `make asan`: valgrind cannot run an ASan-built program.
if command -v valgrind >/dev/null && [ -z "${JIT_SANITIZED:-}" ]; then
        expect 0 "valgrind: a full run leaks nothing and touches no bad memory" "" -- \
                valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
                "$T/bin/jitctl" -s "$SOCK" doctor -c "$T/ticket.conf" --pam-dir "$PAMD" --sudoers "$T/sudoers"
fi

# ---- 2. jitd stopped (last: everything above needs it) ------------------------
jitd_stop
expect 1 "jitd: stopped fails, with how to start it" \
        "^FAIL +jitd +cannot reach jitd at $SOCK: .*fix: start jitd: systemctl start jitd.socket" -- doc
expect 1 "drop-ins: not checked while jitd is down" "^WARN +drop-ins +not checked: jitd is unreachable" -- doc
finish
