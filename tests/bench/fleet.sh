# make bench, section 7 fleet: sourced by tests/bench.sh (it uses T, BIN,
# RES, PIDS, USERS, QUICK and the helpers there).
#
# A simulated fleet of FN hosts on this machine: each host is one jitd with
# its own host name (fh-000, fh-001, ...), socket, SQLite store, sudoers
# directory, jitd.conf with [fleet], and its own PostgreSQL role and password
# made by `jitctl fleet add-host`, all against ONE throwaway PostgreSQL 15
# cluster (tests/pg_lib.sh: its own directory, socket only, stopped and removed
# at the end). Rounds: a member asks once (jitctl request, default scope fh-*,
# i.e. every host), the approver approves once (jitctl approve --key: an
# SSHSIG every host verifies), the time from the approve command's start to
# the drop-in in place is taken on every host; then an admin revokes it on one
# host (jitctl revoke ID) and the time to the drop-in gone is taken on every
# host (jitbench fleet-watch: inotify on every sudoers directory). The rounds
# run with push (LISTEN/NOTIFY) and then without: the schema's
# jit.record_change is replaced, for those rounds only, by the same function
# without its pg_notify (as pg_get_functiondef gives it, one line taken out),
# so the hosts keep listening and hear nothing, as through a transaction-mode
# pooler or on a replica; they learn of changes from their catch-up every
# sync = 2s (jittered +-10%). The original is put back afterwards.
# PostgreSQL's connections (pg_stat_activity), CPU (/proc of the postmaster
# and its children), transactions (pg_stat_database) and backend memory (PSS),
# and every jitd's RSS, PSS, CPU and wake-ups are read idle and over the rounds.
# shellcheck shell=bash
# shellcheck disable=SC2154 # T, BIN, RES, USERS, QUICK, ROOT are tests/bench.sh's
# shellcheck source=tests/pg_lib.sh
. "$ROOT/tests/pg_lib.sh"

FN=100 FROUNDS=10 FIDLE=20
[ -n "$QUICK" ] && FN=10 FROUNDS=2 FIDLE=6
FN=${JB_FLEET_HOSTS:-$FN}
FSYNC=2
F=$T/fleet
declare -a FPID=()
FHOSTS=()

fleet_stop() {  # every jitd of the fleet, all signalled first
        local p
        for p in "${FPID[@]}"; do kill "$p" 2>/dev/null; done
        for p in "${FPID[@]}"; do wait "$p" 2>/dev/null; done
        FPID=()
}

# CPU time so far in ns: every thread's run time (schedstat), plus with
# +reaped the children the process has waited for (in clock ticks: jitd's
# ssh-keygen and visudo).
cpu_ns() {  # cpu_ns [+reaped] PID...
        local p reaped=0 hz
        [ "$1" = +reaped ] && { reaped=1; shift; }
        hz=$(getconf CLK_TCK)
        for p in "$@"; do
                cat /proc/"$p"/task/*/schedstat 2>/dev/null | awk '{ print "t", $1 }'
                [ "$reaped" = 1 ] && awk '{ sub(/^.*\) /, ""); print "c", $14 + $15 }' "/proc/$p/stat" 2>/dev/null
        done | awk -v hz="$hz" '$1 == "t" { s += $2 } $1 == "c" { s += $2 * 1e9 / hz } END { printf "%.0f\n", s }'
}
pg_pids() {
        local pm
        pm=$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null) || return
        echo "$pm"
        pgrep -P "$pm"
}
# PostgreSQL's CPU, of the processes that live through the window only: the
# backends of the bench's own look-ups come and go between the readings and
# are not counted.
pg_snap() { local p; for p in $(pg_pids); do echo "$p $(cpu_ns "$p")"; done; }
pg_delta_ns() {  # pg_delta_ns BEFORE-FILE AFTER-FILE
        awk 'NR == FNR { a[$1] = $2; next } ($1 in a) { s += $2 - a[$1] } END { printf "%.0f\n", s }' "$1" "$2"
}
fleet_cpu() { cpu_ns +reaped "${FPID[@]}"; }
fleet_ctxt() { local p s=0; for p in "${FPID[@]}"; do s=$((s + $(ctxt "$p"))); done; echo "$s"; }
fdb() { PG_DB=fleet pg_super "$@"; }
host_conns() { pg_super "SELECT count(*) FROM pg_stat_activity WHERE usename LIKE 'jit\\_host\\_%'"; }
all_conns() { pg_super "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"; }
xacts() { pg_super "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'fleet'"; }
# median and max of numbers on stdin
medmax() { sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "median=%s max=%s n=%d", v[int((NR + 1) / 2)], v[NR], NR }'; }
pss_of() { awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }
private_of() { awk '$1 ~ /^Private_/ { s += $2 } END { print s + 0 }' "/proc/$1/smaps_rollup" 2>/dev/null; }
# A pause of 0 to 2 s, so that a change lands anywhere in the hosts' sync period.
pause_random() { sleep "$(awk -v r="$RANDOM" -v a="$1" 'BEGIN { printf "%.3f", a + 2 * r / 32768 }')"; }

fleet_bench() {
        local i h d out t0 ms id r user req_host end_host x0 x1 c0 c1 s0 s1 ev rss pss bpss bpriv pg p b0 b1
        local -a bk
        if [ ! -x "$PGBIN/postgres" ] || ! getent passwd postgres >/dev/null; then
                note "fleet.skipped reason=no-postgresql-15"
                say "fleet NOT RUN: PostgreSQL 15 is not installed (bash tests/deps.sh installs postgresql-15)"
                return 0
        fi
        command -v ssh-keygen >/dev/null || { note "fleet.skipped reason=no-ssh-keygen"; return 0; }
        mkdir -p "$F"
        say "fleet: PostgreSQL 15 in $T/pg, max_connections $((FN + 50))"
        # Every host holds one connection; the superuser's look-ups take one more.
        pg_start "max_connections=$((FN + 50))" || { note "fleet.skipped reason=postgresql-start"; return 0; }
        local owner_pw admin
        owner_pw=$(pg_random)
        pg_super "CREATE ROLE jit_owner LOGIN CREATEROLE PASSWORD '$owner_pw'" "CREATE DATABASE fleet OWNER jit_owner" \
                "REVOKE CONNECT ON DATABASE fleet FROM PUBLIC" >/dev/null || return 1
        admin="host=$PG_DIR dbname=fleet user=jit_owner"
        PGPASSWORD=$owner_pw "$BIN/jitctl" fleet init -D "$admin" >/dev/null || return 1

        # The approver and the key every host trusts for approvals.
        user_add jb_fa || return 1
        mkdir -m 0700 "$F/keys"
        ssh-keygen -q -t ed25519 -N '' -C jb_fa -f "$F/keys/key" || return 1
        chown -R jb_fa "$F/keys"
        echo "jb_fa namespaces=\"pam-jit-approval\" $(cat "$F/keys/key.pub")" >"$F/allowed_signers"
        chmod 0644 "$F/allowed_signers"

        say "fleet: $FN hosts added with jitctl fleet add-host"
        t0=$(now_ms)
        : >"$F/dirs"
        for i in $(seq 0 $((FN - 1))); do
                h=$(printf 'fh-%03d' "$i")
                d=$F/$h
                FHOSTS+=("$h")
                mkdir -p "$d/db" "$d/sudoers.d"
                chmod 0750 "$d/sudoers.d"
                out=$(PGPASSWORD=$owner_pw "$BIN/jitctl" fleet add-host "$h" -D "$admin" --password-file "$d/password") ||
                        { echo "# fleet add-host $h: $out"; return 1; }
                cat >"$d/jitd.conf" <<EOF
[jitd]
socket = $d/jitd.sock
database = $d/db/jitd.db
sudoers_dir = $d/sudoers.d
host = $h
teardown = pidfd

[role:fleet-ops]
members = %jb_users
hosts = fh-*
approval = peer
approvers = jb_fa
ticket = none
runas = root
commands = ALL
nopasswd = yes
default_duration = 1h
max_duration = 4h

[fleet]
$(sed -n 's/^database = /database = /p' <<<"$out")
password_file = $d/password
sync = ${FSYNC}s
allowed_signers = $F/allowed_signers
EOF
                chmod 0644 "$d/jitd.conf"
                echo "$d/sudoers.d" >>"$F/dirs"
        done
        note "fleet.setup hosts=$FN add_host_ms=$(( $(now_ms) - t0 ))"

        # All at once, then each is waited for: start-up is a connection, a
        # SCRAM exchange and a LISTEN per host.
        say "fleet: $FN jitds started at once"
        t0=$(now_ms)
        for h in "${FHOSTS[@]}"; do
                "$BIN/jitd" -c "$F/$h/jitd.conf" 2>>"$F/$h/jitd.log" &
                FPID+=("$!")
                PIDS+=("$!")
        done
        for h in "${FHOSTS[@]}"; do
                "$BIN/jitbench" ready "$F/$h/jitd.sock" 60000 ||
                        { echo "# jitd $h did not start:"; tail -n 5 "$F/$h/jitd.log"; return 1; }
        done
        local ready_ms; ready_ms=$(( $(now_ms) - t0 ))
        connected() { "$BIN/jitctl" -s "$F/$1/jitd.sock" status 2>/dev/null | grep -q '^fleet: connected'; }
        for h in "${FHOSTS[@]}"; do
                wait_for 60 connected "$h" || { echo "# $h is not connected:"; tail -n 5 "$F/$h/jitd.log"; return 1; }
        done
        note "fleet.start hosts=$FN ready_ms=$ready_ms connected_ms=$(( $(now_ms) - t0 )) conns=$(host_conns)"

        # ---- idle ----
        # A backend reports its transactions within 10 s when idle: the
        # start-up's catch-ups are counted before the window opens.
        sleep 11
        say "fleet: idle for $FIDLE s (a catch-up every ${FSYNC} s from each host)"
        x0=$(xacts) c0=$(fleet_cpu) s0=$(fleet_ctxt)
        mapfile -t bk < <(pg_super "SELECT pid FROM pg_stat_activity WHERE usename LIKE 'jit\\_host\\_%'")
        pg_snap >"$F/pg0"
        b0=$(cpu_ns "${bk[@]}")
        t0=$(now_ms)
        sleep "$FIDLE"
        b1=$(cpu_ns "${bk[@]}")
        pg_snap >"$F/pg1"
        x1=$(xacts) c1=$(fleet_cpu) s1=$(fleet_ctxt)
        ms=$(( $(now_ms) - t0 ))
        pg=$(pg_delta_ns "$F/pg0" "$F/pg1")
        note "fleet.idle hosts=$FN seconds=$(calc_ "%.1f" "$ms / 1000") conns=$(host_conns) all_conns=$(all_conns)" \
                "pg_cpu_pct=$(calc_ "%.3f" "$pg / 10000 / $ms")" \
                "xacts_per_s=$(calc_ "%.1f" "($x1 - $x0) * 1000 / $ms")" \
                "pg_cpu_us_per_xact=$(calc_ "%.1f" "($x1 > $x0) ? $pg / 1000 / ($x1 - $x0) : 0")" \
                "pg_backends_cpu_us_per_xact=$(calc_ "%.1f" "($x1 > $x0) ? ($b1 - $b0) / 1000 / ($x1 - $x0) : 0")" \
                "jitd_cpu_pct=$(calc_ "%.3f" "($c1 - $c0) / 10000 / $ms")" \
                "jitd_cpu_us_per_host_s=$(calc_ "%.1f" "($c1 - $c0) / $ms / $FN")" \
                "jitd_wakeups_per_host_s=$(calc_ "%.2f" "($s1 - $s0) * 1000 / $ms / $FN")"
        rss=$(for p in "${FPID[@]}"; do status_kib "$p" VmRSS; done | medmax)
        pss=$(for p in "${FPID[@]}"; do pss_of "$p"; done | medmax)
        bpss=$(for p in "${bk[@]}"; do pss_of "$p"; done | medmax)
        bpriv=$(for p in "${bk[@]}"; do private_of "$p"; done | medmax)
        note "fleet.rss.idle rss_${rss// / rss_} pss_${pss// / pss_}"
        note "fleet.pgbackend.idle pss_${bpss// / pss_} private_${bpriv// / private_} pg_total_pss_kib=$(for p in $(pg_pids); do pss_of "$p"; done |
                awk '{ s += $1 } END { print s + 0 }')"

        # ---- rounds ----
        local push func_orig nopush_sql maxc=0 c
        func_orig=$(fdb "SELECT pg_get_functiondef('jit.record_change'::regproc)")
        nopush_sql=$(grep -v 'pg_notify' <<<"$func_orig")
        if [ "$nopush_sql" = "$func_orig" ] || ! grep -q 'pg_notify' <<<"$func_orig"; then
                echo "# jit.record_change has no pg_notify line to take out: the rounds without push are not run"
                nopush_sql=
        fi
        r=0
        for push in push poll; do
                if [ "$push" = poll ]; then
                        [ -n "$nopush_sql" ] || break
                        fdb "$nopush_sql" >/dev/null || return 1
                        say "fleet: jit.record_change without pg_notify: the hosts learn of changes by catch-up only"
                fi
                say "fleet: $FROUNDS rounds ($push): request, approve on one host, revoke on another; $FN hosts each"
                x0=$(xacts) c0=$(fleet_cpu)
                pg_snap >"$F/pg0"
                t0=$(now_ms)
                for _ in $(seq 1 "$FROUNDS"); do
                        user=${USERS[$((r % ${#USERS[@]}))]}
                        req_host=${FHOSTS[$(( (r * 7) % FN ))]}
                        end_host=${FHOSTS[$(( (r * 7 + FN / 2) % FN ))]}
                        out=$(runuser -u "$user" -- "$BIN/jitctl" -s "$F/$req_host/jitd.sock" request -r fleet-ops -d 1h \
                                -m "bench round $r" 2>&1)
                        id=$(grep -oE 'fleet grant F[0-9]+' <<<"$out" | head -n 1 | grep -oE 'F[0-9]+')
                        [ -n "$id" ] || { echo "# the request failed: $out"; return 1; }
                        pause_random 0.5
                        "$BIN/jitbench" fleet-watch --dirs "$F/dirs" --event create --timeout-ms 30000 \
                                --out "$F/approve.$push" --cmd-out "$F/approve-cmd.$push" --as jb_fa --log "$F/commands.log" -- \
                                "$BIN/jitctl" -s "$F/$req_host/jitd.sock" approve "$id" --key "$F/keys/key" -m bench
                        c=$(all_conns); [ "$c" -gt "$maxc" ] && maxc=$c
                        pause_random 0.5
                        "$BIN/jitbench" fleet-watch --dirs "$F/dirs" --event delete --timeout-ms 30000 \
                                --out "$F/revoke.$push" --cmd-out "$F/revoke-cmd.$push" --log "$F/commands.log" -- \
                                "$BIN/jitctl" -s "$F/$end_host/jitd.sock" revoke "$id" -m "bench round $r"
                        sleep 1
                        r=$((r + 1))
                done
                ms=$(( $(now_ms) - t0 ))
                pg_snap >"$F/pg1"
                x1=$(xacts) c1=$(fleet_cpu)
                pg=$(pg_delta_ns "$F/pg0" "$F/pg1")
                note "fleet.run.$push hosts=$FN rounds=$FROUNDS seconds=$(calc_ "%.1f" "$ms / 1000") max_conns=$maxc" \
                        "pg_cpu_pct=$(calc_ "%.2f" "$pg / 10000 / $ms")" \
                        "xacts_per_s=$(calc_ "%.1f" "($x1 - $x0) * 1000 / $ms")" \
                        "jitd_cpu_pct=$(calc_ "%.2f" "($c1 - $c0) / 10000 / $ms")" \
                        "pg_cpu_ms_per_round=$(calc_ "%.1f" "$pg / 1e6 / $FROUNDS")" \
                        "xacts_per_round=$(calc_ "%.1f" "($x1 - $x0) / $FROUNDS")" \
                        "jitd_cpu_ms_per_round=$(calc_ "%.1f" "($c1 - $c0) / 1e6 / $FROUNDS")"
                jb fleet-stats "fleet.approve.$push" "$F/approve.$push" "hosts=$FN rounds=$FROUNDS sync_s=$FSYNC"
                jb fleet-stats "fleet.approve-cmd.$push" "$F/approve-cmd.$push"
                jb fleet-stats "fleet.revoke.$push" "$F/revoke.$push" "hosts=$FN rounds=$FROUNDS sync_s=$FSYNC"
                jb fleet-stats "fleet.revoke-cmd.$push" "$F/revoke-cmd.$push"
                # The slowest host of each round: "on every host".
                for ev in approve revoke; do
                        awk -v n="$FN" '$1 == "missing" { m = 1 } { if ($1 + 0 > x) x = $1 + 0 }
                                NR % n == 0 { print (m ? "missing" : x); x = 0; m = 0 }' "$F/$ev.$push" >"$F/$ev-last.$push"
                        jb fleet-stats "fleet.$ev-last.$push" "$F/$ev-last.$push"
                done
        done
        [ -n "$nopush_sql" ] && fdb "$func_orig" >/dev/null
        rss=$(for p in "${FPID[@]}"; do status_kib "$p" VmRSS; done | medmax)
        local hwm; hwm=$(for p in "${FPID[@]}"; do status_kib "$p" VmHWM; done | medmax)
        note "fleet.rss.after rss_${rss// / rss_} hwm_${hwm// / hwm_}"
        fleet_stop
}
calc_() { awk "BEGIN { printf \"$1\", $2 }"; }
