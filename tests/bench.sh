#!/usr/bin/env bash
# make bench: every figure of BENCHMARKS.md, measured in one run on this
# machine, each beside what it is compared with (alternating where both run
# in the same process), then one table on stdout and BENCHMARKS.md written.
#
#   1 decision latency   CHECK round trips (what pam_jit sends) against jitd
#                        with 1k and 100k grants, 1 and 8 clients, beside a
#                        bare SOCK_SEQPACKET echo server (the floor)
#   2 sudo overhead      real `sudo -n true` with pam_jit, with pam_permit, and
#                        with pam_exec asking an HTTP endpoint (alternating)
#   3 isolation          decision latency while 50 ticket lookups hang 5 s
#   4 revocation         one grant; 10,000 grants ending in the same second
#   5 throughput         auto-approved requests to active, per second
#   6 footprint          RSS idle and with 100k grants; wake-ups when idle
#   7 fleet              100 jitds (host names, stores, sudoers directories,
#                        PostgreSQL roles of their own) on one PostgreSQL 15:
#                        approval and revocation to every host, with and
#                        without LISTEN/NOTIFY; PostgreSQL's connections and
#                        CPU; jitd RSS per host (tests/bench/fleet.sh)
#
# Like the integration stories it runs as root, takes the machine-wide lock,
# creates its own users (jb_*) and removes them, and touches /etc/sudoers and
# /etc/pam.d/sudo only inside a private mount namespace.
# Environment: JB_ONLY="decision sudo ..." runs some sections only (footprint,
# decision, sudo, record, throughput, revoke, isolation, fleet) and then updates only
# their rows of BENCHMARKS.md (tests/bench/report.sh keeps the other rows' raw
# figures from the file as it was, and says so); JB_QUICK=1 uses small sizes;
# JB_FLEET_HOSTS=N sets the fleet's size; JB_KEEP=1 keeps the work directory.
. "$(dirname "$0")/lib.sh"
in_private_namespace "$@"

exec 9>/tmp/jit-integration.lock
flock 9

T=$(mktemp -d /tmp/jit-bench.XXXXXX)
chmod 0755 "$T"
BIN=$T/bin
RES=$T/results.txt
PIDS=()
mkdir -p "$BIN"
install -m 0755 "$BUILD/jitd" "$BUILD/jitctl" "$BUILD/bench/jitbench" "$ROOT/tests/bench/httpd.py" \
        "$ROOT/tests/bench/httpcheck.sh" "$BIN/"
install -m 0644 "$BUILD/pam_jit.so" "$BIN/"
: >"$RES"

QUICK=${JB_QUICK:-}
N_BIG=100000 N_SMALL=1000 N_REVOKE=10000 SUDO_ITER=200 ROUNDS=5 CALLS=4000
if [ -n "$QUICK" ]; then
        N_BIG=10000 N_SMALL=1000 N_REVOKE=500 SUDO_ITER=30 ROUNDS=2 CALLS=1000
fi

# The favordynmods rows remount cgroup2 (a superblock option: the whole host
# sees it while they run); the original options are put back right after them
# and, should the run stop in between, here.
FDM_ROOT='' FDM_SUPER=''
cg_super() {  # cg_super MOUNTPOINT: the super options of the cgroup2 mounted there
        awk -v m="$1" '{ for (i = 1; i <= NF; i++) if ($i == "-") break }
                $5 == m && $(i + 1) == "cgroup2" { print $(i + 3); exit }' /proc/self/mountinfo
}
fdm_restore() {
        [ -n "$FDM_ROOT" ] || return 0
        # mount(8) keeps the options in place on a remount (favordynmods
        # included): --options-source=disable passes exactly the original ones.
        if ! mount --options-source=disable -o "remount,$FDM_SUPER" -t cgroup2 cgroup2 "$FDM_ROOT" ||
                [[ ",$(cg_super "$FDM_ROOT")," == *,favordynmods,* ]]; then
                echo "# COULD NOT RESTORE the options of cgroup2 at $FDM_ROOT ($FDM_SUPER): run" \
                        "mount --options-source=disable -o remount,$FDM_SUPER -t cgroup2 cgroup2 $FDM_ROOT"
        fi
        FDM_ROOT=
}

bench_cleanup() {
        local rc=$? pid cgroot db h
        fdm_restore
        for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
        for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
        # Session cgroups that jitd made and that outlive it (their grants
        # never ended): empty by now, removed so that nothing is left behind.
        cgroot=$(findmnt -n -t cgroup2 -o TARGET 2>/dev/null | head -n 1)
        for db in "$T"/*/db/jitd.db; do
                [ -n "$cgroot" ] && [ -f "$db" ] || continue
                while read -r h; do
                        [[ "$h" == cgroup:/jit/g*-s* ]] && rmdir "$cgroot/jit/${h#cgroup:/jit/}" 2>/dev/null
                done < <(sqlite3 "$db" "SELECT handle FROM sessions WHERE torn_down_at IS NULL" 2>/dev/null)
        done
        [ -n "${JB_KEEP:-}" ] && export JIT_KEEP=1
        (exit "$rc")
        cleanup
}
trap bench_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

say() { echo "# [$(printf %3d "$SECONDS") s] $*"; }
want() { [ -z "${JB_ONLY:-}" ] || [[ " $JB_ONLY " == *" $1 "* ]]; }
# jitbench prints "R name key=value ..." lines; they are kept in $RES.
jb() { "$BIN/jitbench" "$@" | tee -a "$RES"; }
res() {  # res NAME KEY: a figure from the results
        awk -v n="$1" -v k="$2" '$1 == "R" && $2 == n {
                for (i = 3; i <= NF; i++) { split($i, a, "="); if (a[1] == k) v = a[2] } }
                END { print (v == "" ? "-" : v) }' "$RES"
}
note() { echo "R $*" >>"$RES"; }

# ---- users and instances ------------------------------------------------
USERS=() NOGRANT=(jb_n0 jb_n1)
for i in $(seq -w 0 19); do USERS+=("jb_u$i"); done
for u in "${USERS[@]}" "${NOGRANT[@]}"; do
        # Left by an interrupted run: ours by name, so removed and made anew.
        getent passwd "$u" >/dev/null && userdel -f "$u" >/dev/null 2>&1
done
getent group jb_users >/dev/null && groupdel jb_users >/dev/null 2>&1
group_add jb_users || exit 1
for u in "${USERS[@]}" "${NOGRANT[@]}"; do user_add "$u" jb_users || exit 1; done
CHECK_USERS=$(IFS=:; echo "${USERS[*]:0:10}")
HANG_USERS=$(IFS=:; echo "${USERS[*]:10:10}")
ALL_USERS=$(IFS=,; echo "${USERS[*]}")

role() {  # role NAME SERVICES APPROVAL [extra lines...]
        local name=$1 services=$2 approval=$3; shift 3
        printf '\n[role:%s]\nmembers = %%jb_users\nservices = %s\napproval = %s\n' "$name" "$services" "$approval"
        printf 'runas = root\ncommands = ALL\nnopasswd = yes\ndefault_duration = 1h\nmax_duration = 2d\n'
        for l in "$@"; do echo "$l"; done
}

# instance NAME: a directory with jitd.conf (roles from stdin), db/, sudoers.d/.
instance() {
        local d=$T/$1
        mkdir -p "$d/db" "$d/sudoers.d"
        chmod 0750 "$d/sudoers.d"
        {
                printf '[jitd]\nsocket = %s\ndatabase = %s\nsudoers_dir = %s\nhost = benchhost\n' \
                        "$d/jitd.sock" "$d/db/jitd.db" "$d/sudoers.d"
                cat
        } >"$d/jitd.conf"
        chmod 0644 "$d/jitd.conf"
}

declare -A JPID
start() {  # start NAME [CPU]: jitd on the instance (pinned to CPU), ready when it answers
        local d=$T/$1 pin=()
        [ -n "${2:-}" ] && pin=(taskset -c "$2")
        "${pin[@]}" "$BIN/jitd" -c "$d/jitd.conf" 2>>"$d/jitd.log" &
        JPID[$1]=$!
        PIDS+=("$!")
        for _ in $(seq 1 600); do
                # A ping (not jitctl status: that lists every grant).
                "$BIN/jitbench" ready "$d/jitd.sock" 100 && return 0
                kill -0 "${JPID[$1]}" 2>/dev/null || break
        done
        echo "# jitd $1 did not start:"; sed 's/^/#   /' "$d/jitd.log" | tail -n 20
        return 1
}
stop() { kill "${JPID[$1]}" 2>/dev/null; wait "${JPID[$1]}" 2>/dev/null; }

history_roles() {
        role ops sudo auto "ticket = none"
        role shell sshd peer "approvers = root" "ticket = none"
}

status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
ctxt() {  # voluntary + involuntary context switches of every thread of PID
        cat /proc/"$1"/task/*/status 2>/dev/null |
                awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }'
}
footprint() {  # footprint LABEL NAME
        local pid=${JPID[$2]}
        note "rss.$1 rss_kib=$(status_kib "$pid" VmRSS) hwm_kib=$(status_kib "$pid" VmHWM)" \
                "anon_kib=$(status_kib "$pid" RssAnon) file_kib=$(status_kib "$pid" RssFile)" \
                "pss_kib=$(awk '$1 == "Pss:" { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null)"
}

say "work directory $T"
# The jitds with 1k and 100k grants, the idle one and the echo server: for
# the sections that use them.
if want footprint || want decision || want sudo || want revoke; then
        history_roles | instance idle
        role one sudo auto "ticket = none" >>"$T/idle/jitd.conf"
        history_roles | instance 1k
        history_roles | instance 100k
        say "populating: $N_SMALL and $N_BIG grants ($((N_SMALL / 10)) and $((N_BIG / 10)) users)"
        jb populate --config "$T/1k/jitd.conf" --db "$T/1k/db/jitd.db" --dropins "$T/1k/sudoers.d" \
                --ended "$((N_SMALL - 200))" --users "$((N_SMALL / 10))" --active "$ALL_USERS" >/dev/null || exit 1
        jb populate --config "$T/100k/jitd.conf" --db "$T/100k/db/jitd.db" --dropins "$T/100k/sudoers.d" \
                --ended "$((N_BIG - 200))" --users "$((N_BIG / 10))" --active "$ALL_USERS" >/dev/null || exit 1
        # The servers of the decision runs share vCPU 0, so that "client on the
        # same vCPU" and "client on the other vCPU" mean the same for all of them.
        start idle || exit 1
        start 1k 0 || exit 1
        start 100k 0 || exit 1
        taskset -c 0 "$BIN/jitbench" echo "$T/echo.sock" &
        PIDS+=("$!")
        wait_for 5 test -S "$T/echo.sock" || { echo "# the echo server did not start"; exit 1; }
fi

# ---- 6 footprint, idle --------------------------------------------------
if want footprint; then
        say "footprint: idle for 10 s"
        sleep 1
        for n in idle 1k 100k; do footprint "idle-$n" "$n"; done
        declare -A c0
        for n in idle 1k 100k; do c0[$n]=$(ctxt "${JPID[$n]}"); done
        sleep 10
        for n in idle 1k 100k; do
                note "wakeups.$n switches=$(( $(ctxt "${JPID[$n]}") - ${c0[$n]} )) seconds=10"
        done
fi

# ---- 1 decision latency -------------------------------------------------
if want decision; then
        targets=(--target "echo|$T/echo.sock|x|any"
                 --target "j1k|$T/1k/jitd.sock|$CHECK_USERS|allow"
                 --target "j100k|$T/100k/jitd.sock|$CHECK_USERS|allow"
                 --target "j100kdeny|$T/100k/jitd.sock|jb_n0:jb_n1|deny")
        say "decision latency, 1 client on the servers' vCPU: echo, 1k, 100k, 100k deny; $ROUNDS rounds"
        jb latency --tag same --cpu 0 --clients 1 --rounds "$ROUNDS" --calls "$CALLS" "${targets[@]}"
        say "decision latency, 1 client on the other vCPU"
        jb latency --tag cross --cpu 1 --clients 1 --rounds "$ROUNDS" --calls "$CALLS" "${targets[@]}"
        say "decision latency, 8 clients, not pinned"
        jb latency --tag free --clients 8 --rounds "$ROUNDS" --calls "$CALLS" "${targets[@]}"
        footprint after-100k 100k
        say "admin ping (jitctl status) at 1k and 100k grants"
        jb ping j1k "$T/1k/jitd.sock" 5
        jb ping j100k "$T/100k/jitd.sock" 5
fi

# ---- 2 sudo overhead ----------------------------------------------------
if want sudo; then
        say "sudo overhead: pam_jit / pam_permit / pam_exec+curl, $SUDO_ITER rounds each"
        # The do-it-yourself variant needs the curl program (tests/deps.sh does not install it).
        command -v curl >/dev/null ||
                { apt-get update -qq && apt-get install -y -qq --no-install-recommends curl; } >/dev/null 2>&1
        python3 "$BIN/httpd.py" "$T/http-check.port" &
        PIDS+=("$!")
        wait_for 5 test -s "$T/http-check.port" || { echo "# the HTTP endpoint did not start"; exit 1; }
        port=$(cat "$T/http-check.port")
        cat >"$T/sudoers" <<EOS
Defaults env_reset
Defaults !lecture
Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
root ALL=(ALL:ALL) ALL
@includedir $T/1k/sudoers.d
EOS
        chmod 0440 "$T/sudoers"
        # The same jitd with teardown = pidfd: sessions registered, no cgroup move.
        { history_roles; printf '\n'; } | instance sp
        sed -i 's/^host = benchhost$/host = benchhost\nteardown = pidfd/' "$T/sp/jitd.conf"
        jb populate --config "$T/sp/jitd.conf" --db "$T/sp/db/jitd.db" --dropins "$T/sp/sudoers.d" \
                --ended 100 --users 10 --active "${USERS[0]}" >/dev/null || exit 1
        # Neither jitd is pinned here, as in production (jitd.service sets no
        # CPUAffinity): the 1k one was held on vCPU 0 for the decision runs,
        # and a jitd held on one vCPU drags sudo across vCPUs at every
        # wake-up (sync wake-ups pull sudo to jitd's vCPU, the balancer pushes
        # it back), which is this VM's dearest operation.
        start sp || exit 1
        taskset -apc "0-$(($(nproc) - 1))" "${JPID[1k]}" >/dev/null
        echo "@includedir $T/sp/sudoers.d" >>"$T/sudoers"
        sock=$T/1k/jitd.sock
        printf 'auth required pam_permit.so\naccount required %s socket=%s\naccount required pam_permit.so\nsession optional %s socket=%s\nsession required pam_permit.so\n' \
                "$BIN/pam_jit.so" "$sock" "$BIN/pam_jit.so" "$sock" >"$T/pam-a"
        printf 'auth required pam_permit.so\naccount required %s socket=%s\naccount required pam_permit.so\nsession optional pam_permit.so\nsession required pam_permit.so\n' \
                "$BIN/pam_jit.so" "$sock" >"$T/pam-a1"
        sed "s|socket=$sock|socket=$T/sp/jitd.sock|g" "$T/pam-a" >"$T/pam-a2"
        printf 'auth required pam_permit.so\naccount required pam_permit.so\naccount required pam_permit.so\nsession optional pam_permit.so\nsession required pam_permit.so\n' >"$T/pam-b"
        printf 'auth required pam_permit.so\naccount required pam_exec.so quiet %s %s\naccount required pam_permit.so\nsession optional pam_permit.so\nsession required pam_permit.so\n' \
                "$BIN/httpcheck.sh" "$port" >"$T/pam-c"
        cp "$T/pam-b" "$T/pam-sudo"
        bind_over "$T/sudoers" /etc/sudoers
        bind_over "$T/pam-sudo" /etc/pam.d/sudo
        jb sudo --user "${USERS[0]}" --pam "$T/pam-sudo" --iterations "$SUDO_ITER" --warmup 10 \
                --variant "pam_jit=$T/pam-a" --variant "pam_jit_account=$T/pam-a1" --variant "pam_jit_pidfd=$T/pam-a2" \
                --variant "pam_permit=$T/pam-b" --variant "pam_exec=$T/pam-c"
        cgroot=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
        if [ -n "$cgroot" ] && [ -d "$cgroot/jit" ]; then
                say "cgroup migration cost: spaced like sudo calls (20 ms apart), and back to back"
                jb cgmove spaced "$cgroot/jit" 50 20
                jb cgmove b2b "$cgroot/jit" 50 0
        fi
        # The cgroup stack once more with cgroup2 remounted favordynmods, the
        # fix jitctl doctor proposes, beside pam_permit under the same option
        # (it makes every fork and exit a little dearer). JB_NO_FAVORDYNMODS=1
        # skips it: Linux 6.18 keeps the per-thread-group lock it switches to
        # after the option is taken off again, until the next boot (the kernel
        # logs "per threadgroup rwsem mechanism can't be disabled"), so the
        # cgroup rows of later runs no longer show the default cost.
        super=$([ -n "$cgroot" ] && cg_super "$cgroot")
        if [ -n "${JB_NO_FAVORDYNMODS:-}" ]; then
                note "sudo.fdm skipped=JB_NO_FAVORDYNMODS"
        elif [ -z "$super" ] || [ ! -d "$cgroot/jit" ]; then
                note "sudo.fdm skipped=no-cgroup2"
        elif [[ ",$super," == *,favordynmods,* ]]; then
                note "sudo.fdm skipped=already-on"
        else
                FDM_ROOT=$cgroot FDM_SUPER=$super
                if mount -o remount,favordynmods "$cgroot" 2>"$T/fdm.err" &&
                        [[ ",$(cg_super "$cgroot")," == *,favordynmods,* ]]; then
                        say "sudo overhead with cgroup2 at $cgroot remounted favordynmods (until the end of this row)"
                        jb sudo --user "${USERS[0]}" --pam "$T/pam-sudo" --iterations "$SUDO_ITER" --warmup 10 \
                                --variant "pam_jit_fdm=$T/pam-a" --variant "pam_permit_fdm=$T/pam-b"
                        jb cgmove fdm "$cgroot/jit" 50 20
                        fdm_restore
                        jb cgmove after "$cgroot/jit" 10 20
                else
                        note "sudo.fdm skipped=refused"
                        say "favordynmods: the kernel refused the remount: $(head -n 1 "$T/fdm.err")"
                        fdm_restore
                fi
        fi
        umount /etc/pam.d/sudo /etc/sudoers
        stop sp
        taskset -apc 0 "${JPID[1k]}" >/dev/null
fi

# ---- 2b sudo overhead of a recorded grant -------------------------------
# The same real `sudo -n true`, pam_jit account + session, under a grant whose
# role records (record = all: sudo's I/O log, the session's recording
# claimed, then sealed by jitd) beside one whose role does not; two users of
# one jitd, calls alternating.
if want record; then
        say "sudo overhead of recording: recorded / unrecorded grant, $SUDO_ITER rounds each"
        { role rec sudo auto "record = all"; role plain sudo auto; } | instance rec
        sed -i "s|^host = benchhost\$|host = benchhost\nrecord_dir = $T/rec/sessions\nteardown = pidfd|" "$T/rec/jitd.conf"
        start rec || exit 1
        recu=${USERS[1]} plainu=${USERS[2]}
        runuser -u "$recu" -- "$BIN/jitctl" -s "$T/rec/jitd.sock" request -r rec -d 2h -m bench >/dev/null &&
                runuser -u "$plainu" -- "$BIN/jitctl" -s "$T/rec/jitd.sock" request -r plain -d 2h -m bench >/dev/null ||
                { echo "# recorded bench: the grants were refused"; exit 1; }
        printf 'Defaults env_reset\nDefaults !lecture\nroot ALL=(ALL:ALL) ALL\n@includedir %s\n' "$T/rec/sudoers.d" \
                >"$T/sudoers-rec"
        chmod 0440 "$T/sudoers-rec"
        printf 'auth required pam_permit.so\naccount required %s socket=%s\naccount required pam_permit.so\nsession required %s socket=%s\nsession required pam_permit.so\n' \
                "$BIN/pam_jit.so" "$T/rec/jitd.sock" "$BIN/pam_jit.so" "$T/rec/jitd.sock" >"$T/pam-rec"
        cp "$T/pam-rec" "$T/pam-sudo-rec"
        bind_over "$T/sudoers-rec" /etc/sudoers
        bind_over "$T/pam-sudo-rec" /etc/pam.d/sudo
        jb sudo --user "$recu" --pam "$T/pam-sudo-rec" --iterations "$SUDO_ITER" --warmup 10 \
                --variant "recorded=$T/pam-rec@$recu" --variant "unrecorded=$T/pam-rec@$plainu"
        note "record.sealed n=$(sqlite3 "$T/rec/db/jitd.db" 'SELECT count(*) FROM recordings WHERE sealed_at IS NOT NULL')"
        umount /etc/pam.d/sudo /etc/sudoers
        stop rec
fi

# ---- 5 throughput -------------------------------------------------------
if want throughput; then
        tproles=()
        for i in $(seq -w 0 24); do tproles+=("tp$i"); done
        for r in "${tproles[@]}"; do role "$r" sudo auto "ticket = none"; done | instance tp
        start tp || exit 1
        footprint idle-empty-tp tp
        say "throughput: ${#USERS[@]} users x ${#tproles[@]} roles, auto-approved"
        jb throughput --socket "$T/tp/jitd.sock" --users "$ALL_USERS" --roles "$(IFS=,; echo "${tproles[*]}")"
        note "dropins.tp count=$(find "$T/tp/sudoers.d" -name 'jit-*' | wc -l)"
        dropin=$(find "$T/1k/sudoers.d" -name 'jit-*' | head -n 1)
        jb visudo /usr/sbin/visudo "$dropin" 100
        stop tp
fi

# ---- 4 revocation -------------------------------------------------------
if want revoke; then
        say "revocation: one grant, 5 trials"
        jb revoke-one --socket "$T/idle/jitd.sock" --user "${USERS[0]}" --role one --dropins "$T/idle/sudoers.d" \
                --duration 2 --trials 5
        say "revocation: $N_REVOKE grants ending in the same second, one live session each"
        # jitd asks NSS about every session's user (eligibility at every
        # decision): the synthetic users jbr00000.. exist, in a copy of
        # /etc/passwd bound over the real one in this namespace only, with
        # jb_users as their primary group.
        jb_gid=$(getent group jb_users | cut -d: -f3)
        cp /etc/passwd "$T/passwd"
        for i in $(seq 0 $((N_REVOKE - 1))); do
                printf 'jbr%05d:x:%d:%d::/nonexistent:/usr/sbin/nologin\n' "$i" $((300000 + i)) "$jb_gid"
        done >>"$T/passwd"
        chmod 0644 "$T/passwd"
        bind_over "$T/passwd" /etc/passwd
        role rv sudo auto "ticket = none" | instance rv
        jb populate --config "$T/rv/jitd.conf" --db "$T/rv/db/jitd.db" --dropins "$T/rv/sudoers.d" --role rv \
                --active-synthetic "$N_REVOKE" --active-prefix jbr >/dev/null || exit 1
        jb revoke-many --jitd "$BIN/jitd" --config "$T/rv/jitd.conf" --socket "$T/rv/jitd.sock" \
                --db "$T/rv/db/jitd.db" --dropins "$T/rv/sudoers.d" --role rv --prefix jbr --n "$N_REVOKE" \
                --lead "${JB_LEAD:-15}" --log "$T/rv/jitd.log"
        umount /etc/passwd
fi

# ---- 3 isolation --------------------------------------------------------
if want isolation; then
        say "isolation: decision latency with and without 50 ticket lookups hanging 5 s"
        python3 "$BIN/httpd.py" "$T/http-slow.port" 5 &
        PIDS+=("$!")
        wait_for 5 test -s "$T/http-slow.port" || { echo "# the slow ticket server did not start"; exit 1; }
        sport=$(cat "$T/http-slow.port")
        {
                history_roles
                for i in 1 2 3 4 5; do role "tk$i" jbtk ticket "ticket = required"; done
                printf '\n[ticket]\nprovider = http\nurl = http://127.0.0.1:%s\nallow_http = yes\n' "$sport"
                printf 'lookup = {url}/ticket/{ticket}\nstatus = /status\napproved = approved\nclosed = closed\n'
                printf 'timeout = 10s\npoll = 1h\n'
        } | instance iso
        if ! "$BIN/jitd" -c "$T/iso/jitd.conf" --check >"$T/iso/check.log" 2>&1; then
                note "iso.skipped reason=config"
                say "isolation NOT RUN: jitd refuses a [ticket] provider=http config:"; sed 's/^/#   /' "$T/iso/check.log"
        else
                jb populate --config "$T/iso/jitd.conf" --db "$T/iso/db/jitd.db" --dropins "$T/iso/sudoers.d" \
                        --ended "$((N_BIG - 200))" --users "$((N_BIG / 10))" --active "$ALL_USERS" >/dev/null || exit 1
                if start iso 0; then
                        jb isolation --target "iso|$T/iso/jitd.sock|$CHECK_USERS|allow" --cpu 0 --rounds 3 \
                                --window-ms 1500 --hang 50 --hang-users "$HANG_USERS" --hang-roles tk1:tk2:tk3:tk4:tk5 \
                                --hang-service jbtk --timeout-ms 5000
                        note "iso.server $(curl -fsS "http://127.0.0.1:$sport/stats" | tr -d '{}" ' | tr ',:' ' =')"
                        stop iso
                else
                        note "iso.skipped reason=start"
                        say "isolation NOT RUN: jitd with a [ticket] provider did not start"
                fi
        fi
fi

# ---- 7 fleet ------------------------------------------------------------
if want fleet; then
        . "$ROOT/tests/bench/fleet.sh"
        fleet_bench || { say "fleet: stopped early (see above)"; note "fleet.skipped reason=failed"; }
        fleet_stop
fi

# ---- report -------------------------------------------------------------
dirty=0
[ -n "$(git -C "$ROOT" status --porcelain -- . ':!BENCHMARKS.md' 2>/dev/null)" ] && dirty=1
note "bench.run commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown) dirty=$dirty at=$(date -u '+%Y-%m-%dT%H:%MZ')"
bash "$ROOT/tests/bench/report.sh" "$RES" "$ROOT/BENCHMARKS.md" "$ROOT" "${JB_ONLY:-}"
