#!/usr/bin/env bash
# ssh sessions of a recorded grant, with real sshd on 127.0.0.1 in a private
# mount namespace: `jitctl ssh-session` as sshd's ForceCommand runs the
# session under tlog-rec, whose recording goes through a pipe to jitd into a
# root-only file; it is sealed into the audit chain when the session ends and
# replayed with jitctl replay (tlog-play). A user of an unrecorded role gets
# the plain shell and no recording. A recorded grant's ssh session that
# starts no recording (sshd without the ForceCommand) loses its grant.
. "$(dirname "$0")/../lib.sh"
needs_plain_pam_module
in_private_namespace "$@"
command -v tlog-rec >/dev/null || { echo "# SKIP: tlog is not installed (tests/deps.sh installs it)"; exit 0; }
jt_setup

user_add jt_sshu
user_add jt_sshv
user_add jt_sshw
for u in jt_sshu jt_sshv jt_sshw; do usermod -p '*' "$u"; done      # key login only

REC=$T/rec
config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
record_dir = $REC

[role:shell]
members   = jt_sshu, jt_sshv
services  = sshd
approval  = auto
ticket    = none
record    = all

[role:plainshell]
members   = jt_sshw
services  = sshd
approval  = auto
ticket    = none
EOF2

# tlog keeps a utmp record for a terminal session: a private /run has one
# (and sshd's privilege separation directory), without touching the host's.
mount -t tmpfs -o mode=0755 jt-run /run
mkdir -p /run/sshd
install -m 0664 -g utmp /dev/null /run/utmp

port=$(( 20000 + RANDOM % 20000 ))
while ss -ltn 2>/dev/null | grep -q ":$port "; do port=$(( port + 1 )); done
mkdir -p "$T/keys"
ssh-keygen -q -t ed25519 -N '' -f "$T/ssh_host_ed25519_key"
ssh-keygen -q -t ed25519 -N '' -f "$T/client_key"
for u in jt_sshu jt_sshv jt_sshw; do cp "$T/client_key.pub" "$T/keys/$u"; chmod 0644 "$T/keys/$u"; done
cat >"$T/sshd_config" <<EOF2
Port $port
ListenAddress 127.0.0.1
HostKey $T/ssh_host_ed25519_key
PidFile $T/sshd.pid
UsePAM yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile $T/keys/%u
StrictModes no
PrintMotd no
LogLevel VERBOSE
Subsystem sftp /usr/lib/openssh/sftp-server
Match User jt_sshu,jt_sshw
        ForceCommand $T/bin/jitctl -s $SOCK ssh-session
        PermitUserRC no
EOF2
system_pam_stack "$T/pam-sshd"
bind_over "$T/pam-sshd" /etc/pam.d/sshd
jitd_start || exit 1
/usr/sbin/sshd -f "$T/sshd_config" -D -e 2>"$T/sshd.log" &
SSHD_PID=$!
# shellcheck disable=SC2154 # rc is set by the trap's first command
trap 'rc=$?; kill "$SSHD_PID" 2>/dev/null; (exit $rc); cleanup' EXIT
wait_for 5 bash -c "ss -ltn | grep -q ':$port '" || { echo "# sshd did not start"; cat "$T/sshd.log"; exit 1; }

ssh_as() {
        local u=$1; shift
        ssh -i "$T/client_key" -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no \
            -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -o LogLevel=ERROR "$u@127.0.0.1" "$@"
}
last_id() { jc "$1" list --all --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[-1]["id"] if d else "")'; }
sealed() { sqlite3 "$DB" "SELECT count(*) FROM recordings WHERE grant_id = $1 AND kind = 'tlog' AND sealed_at IS NOT NULL"; }

expect 0 "jt_sshu gets a recorded shell grant" "active" -- jc jt_sshu request -r shell -d 1h
id=$(last_id jt_sshu)
expect 0 "a command over ssh runs, through tlog" "^secret-ssh$" -- ssh_as jt_sshu 'echo secret-ssh'
wait_for 5 bash -c "[ \$(sqlite3 '$DB' \"SELECT count(*) FROM recordings WHERE grant_id = $id AND sealed_at IS NOT NULL\") = 1 ]" \
        && ok "the ssh recording is sealed when the session ends" || not_ok "ssh recording sealed" "$(tail -5 "$T/jitd.log")"
path=$(sqlite3 "$DB" "SELECT path FROM recordings WHERE grant_id = $id ORDER BY id LIMIT 1")
perm=$(stat -c '%a %U' "$REC/$path" 2>&1)
[ "$perm" = "600 root" ] && ok "the recording file is root's, 0600 ($path)" || not_ok "recording file mode" "$perm"
expect 0 "it holds tlog's JSON with the output" '"out_txt":"secret-ssh' -- cat "$REC/$path"
want=$(cd "$(dirname "$REC/$path")" && sha256sum "$(basename "$path")" | sha256sum | cut -d' ' -f1)
expect 0 "the recorded event carries the seal coreutils computes" "\"sha256\":\"$want\"" -- \
        sqlite3 "$DB" "SELECT details FROM audit WHERE event = 'recorded' AND grant_id = $id"
# tlog-play writes NUL bytes among its terminal controls.
replay_text() { jc root replay "$1" 2>&1 | tr -d '\0'; }
expect 0 "root replays it with tlog-play" "secret-ssh" -- replay_text "$id"
expect 1 "the grant's own user may not replay it" "" -- jc jt_sshu replay "$id"

# A terminal session: what is typed is recorded too (record = all).
{ sleep 1; echo 'echo typed-marker'; sleep 1; echo exit; sleep 1; } | timeout 20 ssh -tt -i "$T/client_key" -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR jt_sshu@127.0.0.1 >"$T/tty.out" 2>&1
grep -q typed-marker "$T/tty.out" && ok "an interactive session over a terminal runs" \
        || not_ok "interactive session" "$(cat "$T/tty.out"; tail -5 "$T/jitd.log"; tail -5 "$T/sshd.log")"
wait_for 5 bash -c "[ \$(sqlite3 '$DB' \"SELECT count(*) FROM recordings WHERE grant_id = $id AND sealed_at IS NOT NULL\") = 2 ]" \
        && ok "the terminal session is sealed too" || not_ok "terminal recording sealed" "$(tail -5 "$T/jitd.log")"
path2=$(sqlite3 "$DB" "SELECT path FROM recordings WHERE grant_id = $id ORDER BY id DESC LIMIT 1")
expect 0 "the input typed is in the recording" '"in_txt":"[^"]*echo typed-' -- cat "$REC/$path2"
expect 0 "show lists both ssh recordings" "session 2: tlog" -- jc root show "$id"
expect 0 "audit verify re-hashes them" "2 recordings on disk match" -- jc root audit verify
printf 'X' | dd of="$REC/$path" bs=1 seek=3 conv=notrunc 2>/dev/null
expect 1 "a byte changed in the ssh recording is named" "$path: edited" -- jc root audit verify

# File transfers run through the ForceCommand too: recorded as commands whose
# output (not their standard input: no terminal) is kept, the command line
# audited with the start.
echo "put $T/keys/jt_sshu /tmp/jt-sftp-probe" >"$T/sftp.batch"
expect 0 "sftp runs under ssh-session" "" -- timeout 20 sftp -b "$T/sftp.batch" -i "$T/client_key" -P "$port" \
        -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR jt_sshu@127.0.0.1
expect 0 "scp (its legacy protocol) runs under ssh-session" "" -- timeout 20 scp -O -i "$T/client_key" -P "$port" \
        -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
        "$T/keys/jt_sshu" jt_sshu@127.0.0.1:/tmp/jt-scp-probe
[ -s /tmp/jt-sftp-probe ] && [ -s /tmp/jt-scp-probe ] && ok "both files arrived" || not_ok "files transferred"
rm -f /tmp/jt-scp-probe /tmp/jt-sftp-probe
expect 0 "the transfers' commands are audited with their recordings" "scp -t .*jt-scp-probe" -- \
        sqlite3 "$DB" "SELECT details FROM audit WHERE event = 'recording-started' AND grant_id = $id"

# An unrecorded role: the plain shell, nothing recorded.
expect 0 "jt_sshw gets an unrecorded shell grant" "active" -- jc jt_sshw request -r plainshell -d 1h
wid=$(last_id jt_sshw)
expect 0 "jt_sshw's command runs" "^plain-ssh$" -- ssh_as jt_sshw 'echo plain-ssh'
sleep 0.5
expect 0 "and leaves no recording" "^0$" -- sqlite3 "$DB" "SELECT count(*) FROM recordings WHERE grant_id = $wid"

# No ForceCommand for jt_sshv: the session starts no recording, and the
# grant is revoked (its session killed) after the grace period.
expect 0 "jt_sshv gets a recorded shell grant" "active" -- jc jt_sshv request -r shell -d 1h
vid=$(last_id jt_sshv)
ssh_as jt_sshv 'sleep 617.1' >/dev/null 2>&1 &
client=$!
wait_for 5 pgrep -f 'sleep 617.1' >/dev/null
wait_for 16 bash -c "! kill -0 $client 2>/dev/null" && ok "the unrecorded ssh session was ended" \
        || not_ok "unrecorded ssh session ended" "$(tail -5 "$T/jitd.log")"
expect 0 "its grant was revoked for starting no recording" "started no recording" -- jc root show "$vid"
wait "$client" 2>/dev/null
finish
