#!/usr/bin/env bash
# The service-manager protocol without systemd: a datagram socket stands in
# for NOTIFY_SOCKET and collects what jitd says: READY=1 with a STATUS once it
# serves, WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1 around SIGHUP,
# STOPPING=1 at SIGTERM, and a clean exit.
. "$(dirname "$0")/../lib.sh"
jt_setup
config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
EOF2
python3 - "$T/notify.sock" "$T/notify.log" <<'EOF2' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(8)
with open(sys.argv[2], "a") as f:
    try:
        while True:
            f.write(s.recv(4096).decode() + "\n---\n")
            f.flush()
    except socket.timeout:
        pass
EOF2
listener=$!
wait_for 3 test -S "$T/notify.sock"
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=400000 "$T/bin/jitd" -c "$CONF" 2>>"$T/jitd.log" 9>&- &
pid=$!
wait_for 3 grep -q READY=1 "$T/notify.log" && ok "READY=1 once serving" || not_ok "READY=1" "$(cat "$T/notify.log")"
grep -q "STATUS=serving on $SOCK" "$T/notify.log" && ok "with a STATUS line" || not_ok "STATUS"
sleep 1
n=$(grep -c WATCHDOG=1 "$T/notify.log")
[ "$n" -ge 3 ] && ok "WATCHDOG=1 every 200 ms ($n in about a second)" || not_ok "watchdog pings" "$n"
kill -HUP "$pid"
wait_for 3 grep -q RELOADING=1 "$T/notify.log" && ok "RELOADING=1 on SIGHUP" || not_ok "RELOADING=1"
kill -TERM "$pid"
wait "$pid"; rc=$?
[ "$rc" -eq 0 ] && ok "SIGTERM: clean exit" || not_ok "clean exit" "rc $rc"
grep -q STOPPING=1 "$T/notify.log" && ok "STOPPING=1 before exiting" || not_ok "STOPPING=1"
[ ! -e "$SOCK" ] && ok "its socket is removed" || not_ok "socket removed"
kill "$listener" 2>/dev/null; wait "$listener" 2>/dev/null
finish
