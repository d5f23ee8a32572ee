#!/usr/bin/env bash
# Real sshd on 127.0.0.1 with pam_jit in account and session, in a private
# mount namespace: a gated user cannot log in without a grant, can with one,
# and is disconnected when it ends.
. "$(dirname "$0")/../lib.sh"
needs_plain_pam_module
in_private_namespace "$@"
jt_setup

user_add jt_sshu
usermod -p '*' jt_sshu      # no password, but not "locked": key login only

config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost

[role:shell]
members   = jt_sshu
services  = sshd
approval  = auto
ticket    = none
default_duration = 4s
max_duration = 1h
EOF2

port=$(( 20000 + RANDOM % 20000 ))
while ss -ltn 2>/dev/null | grep -q ":$port "; do port=$(( port + 1 )); done
mkdir -p "$T/keys" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$T/ssh_host_ed25519_key"
ssh-keygen -q -t ed25519 -N '' -f "$T/client_key"
cp "$T/client_key.pub" "$T/keys/jt_sshu"; chmod 0644 "$T/keys/jt_sshu"
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
EOF2
system_pam_stack "$T/pam-sshd"
bind_over "$T/pam-sshd" /etc/pam.d/sshd
jitd_start || exit 1
/usr/sbin/sshd -f "$T/sshd_config" -D -e 2>"$T/sshd.log" &
SSHD_PID=$!
# shellcheck disable=SC2154 # rc is set by the trap's first command
trap 'rc=$?; kill "$SSHD_PID" 2>/dev/null; (exit $rc); cleanup' EXIT
wait_for 5 bash -c "ss -ltn | grep -q ':$port '" || { echo "# sshd did not start"; cat "$T/sshd.log"; exit 1; }

ssh_in() {
        ssh -i "$T/client_key" -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no \
            -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -o LogLevel=ERROR jt_sshu@127.0.0.1 "$@"
}

expect 255 "without a grant the gated user cannot log in" "" -- ssh_in true
expect 0 "the user gets an auto-approved 4s grant" "active" -- jc jt_sshu request -r shell
expect 0 "with the grant the user logs in" "^hello$" -- ssh_in echo hello
id=$(jc jt_sshu list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
expires=$(jc jt_sshu show "$id" --json | python3 -c 'import json,sys,datetime; g=json.load(sys.stdin); print(int(datetime.datetime.fromisoformat(g["expires_at"].replace("Z","+00:00")).timestamp()))')
ssh_in 'sleep 615.1' >/dev/null 2>&1 &
client=$!
wait_for 3 pgrep -f 'sleep 615.1'
wait_for 10 bash -c "! kill -0 $client 2>/dev/null"
late=$(( $(now_ms) - expires * 1000 ))
if ! kill -0 "$client" 2>/dev/null && ! pgrep -f 'sleep 615.1' >/dev/null && [ "$late" -lt 1000 ]; then
        ok "the open ssh session was disconnected ${late} ms after the grant ended"
else
        not_ok "the ssh session is disconnected at the end of the grant" "late ${late} ms; $(pgrep -af 'sleep 615' || true)"
fi
wait "$client" 2>/dev/null
expect 255 "after the grant the user cannot log in again" "" -- ssh_in true
expect 0 "the session was registered under the grant" "^1$" -- \
        sqlite3 "$DB" "SELECT count(*) FROM sessions WHERE grant_id = $id AND service = 'sshd' AND end_reason LIKE '%expired%'"
finish
