#!/usr/bin/env bash
# The table of `make bench`: reads the "R name key=value ..." lines that
# tests/bench.sh collected, prints the table, and writes BENCHMARKS.md with
# the machine, date and commit, the raw figures, and tests/bench/ANALYSIS.md
# (profiles and proposed fixes, written by hand) appended.
# Usage: report.sh RESULTS OUTPUT ROOT [SECTIONS]
#
# With SECTIONS (JB_ONLY: a run of some sections only) and an existing
# OUTPUT, only those sections' rows are new: every raw figure of OUTPUT that
# belongs to another section is kept, the table is made from both, and the
# header says which sections were measured when. Without SECTIONS, the whole
# file comes from this run.
set -uo pipefail
RES=$1 OUT=$2 ROOT=$3 ONLY=${4:-}

# The raw figures of each section, by name (populate lines carry the work
# directory in their name: their instance's directory says which section).
section_re() {
        case $1 in
        footprint) echo '^(rss\.idle-(idle|1k|100k)|wakeups\.)' ;;
        decision) echo '^(dec\.|ping\.|rss\.after-100k|populate\..*/(1k|100k)/)' ;;
        sudo) echo '^(sudo\.pam_|cgroup\.|populate\..*/sp/)' ;;
        record) echo '^(sudo\.(recorded|unrecorded)$|record\.)' ;;
        throughput) echo '^(throughput|dropins\.tp|visudo|rss\.idle-empty-tp)' ;;
        revoke) echo '^(revoke1\.|revokeN\.|populate\..*/rv/)' ;;
        isolation) echo '^(iso\.|populate\..*/iso/)' ;;
        fleet) echo '^fleet\.' ;;
        *) echo '^$' ;;
        esac
}
PARTIAL=
if [ -n "$ONLY" ] && [ -f "$OUT" ] && grep -q '^R ' "$OUT"; then
        PARTIAL=1
        re=$(for s in $ONLY; do section_re "$s"; done | paste -sd '|')
        MERGED=$(mktemp)
        trap 'rm -f "$MERGED"' EXIT
        # Old figures of the other sections first, then this run's.
        grep '^R ' "$OUT" | awk -v re="$re" '!($2 ~ re) && $2 != "bench.run"' >"$MERGED"
        grep '^R ' "$RES" >>"$MERGED"
        OLD_HEAD=$(awk '/^\| # \|/ { exit } /^- / { print }' "$OUT" | grep -v "^- re-measured .*: $ONLY\$" |
                { if [[ " $ONLY " == *" fleet "* ]]; then grep -v '^- postgres (PostgreSQL)'; else cat; fi; })
        RES=$MERGED
fi

res() {
        awk -v n="$1" -v k="$2" '$1 == "R" && $2 == n {
                for (i = 3; i <= NF; i++) { split($i, a, "="); if (a[1] == k) v = a[2] } }
                END { print (v == "" ? "-" : v) }' "$RES"
}
has() { [ "$(res "$1" "$2")" != - ]; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
lat() {  # lat NAME: "p50 / p99 / max unit"
        has "$1" p50 || { echo "not run"; return; }
        local e; e=$(res "$1" errors)
        printf '%s / %s / %s %s' "$(res "$1" p50)" "$(res "$1" p99)" "$(res "$1" max)" \
                "$(res "$1" unit | sed 's/^us$/µs/')"
        [ "$e" != - ] && [ "$e" != 0 ] && printf ' (%s errors)' "$e"
}
verdict() {  # verdict OK? (0/1) or "-" when not measured
        case $1 in
        -) echo "not run" ;;
        0) echo "**met**" ;;
        *) echo "**MISSED**" ;;
        esac
}
check() {  # check NAME KEY le|ge LIMIT
        local v; v=$(res "$1" "$2")
        [ "$v" = - ] && { echo -; return; }
        "$3" "$v" "$4"; echo $?
}

ROWS=()
row() { ROWS+=("| $1 | $2 | $3 | $4 | $5 | $6 |"); }
cpu() { has "$1" server_cpu_us && printf '; %s µs CPU per call' "$(res "$1" server_cpu_us)"; }
dec() { printf '%s%s' "$(lat "$1")" "$(cpu "$1")"; }
echo_of() { printf 'echo: %s%s' "$(lat "$1")" "$(cpu "$1")"; }

D="decision p50 / p99 / max"
row 1 "$D, 1k grants, 1 client on jitd's vCPU, connect per call (as pam_jit)" "$(dec dec.j1k.c1.call.same)" \
        "$(echo_of dec.echo.c1.call.same)" "-" ""
row 1 "$D, 100k grants, 1 client on jitd's vCPU, connect per call" "$(dec dec.j100k.c1.call.same)" \
        "$(echo_of dec.echo.c1.call.same)" "-" ""
row 1 "$D, 100k grants, 1 client on the other vCPU, connect per call" "$(dec dec.j100k.c1.call.cross)" \
        "$(echo_of dec.echo.c1.call.cross)" "-" ""
row 1 "$D, 1k grants, 8 clients, connect per call" "$(dec dec.j1k.c8.call.free)" \
        "$(echo_of dec.echo.c8.call.free)" "-" ""
row 1 "$D, **100k grants, 8 clients**, connect per call" "$(dec dec.j100k.c8.call.free)" \
        "$(echo_of dec.echo.c8.call.free)" "p99 ≤ 50 µs" "$(verdict "$(check dec.j100k.c8.call.free p99 le 50)")"
row 1 "$D, 100k grants, 1 client on jitd's vCPU, one persistent connection" "$(dec dec.j100k.c1.persist.same)" \
        "$(echo_of dec.echo.c1.persist.same)" "-" ""
row 1 "$D, 100k grants, 8 clients, persistent connections" "$(dec dec.j100k.c8.persist.free)" \
        "$(echo_of dec.echo.c8.persist.free)" "-" ""
row 1 "$D, 100k grants, deny path (covered, no grant: NSS lookup), 1 client on jitd's vCPU" \
        "$(dec dec.j100kdeny.c1.call.same)" "allow path: $(lat dec.j100k.c1.call.same)" "-" ""
row 1 "an admin's ping (\`jitctl status\`), 100k grants: nothing else is served meanwhile" \
        "$(lat ping.j100k)" "1k grants: $(lat ping.j1k)" "-" ""

a=$(res sudo.pam_jit p50) b=$(res sudo.pam_permit p50) c=$(res sudo.pam_exec p50)
ratio() { [ "$1" != - ] && [ "$2" != - ] && calc %.3f "$1 / $2" || echo -; }
rab=$(ratio "$a" "$b")
ok=-; [ "$rab" != - ] && ok=$(le "$rab" 1.02; echo $?)
# Moves 20 ms apart that do not wait although cgroup2 has no favordynmods:
# a kernel before 6.0, or one still in the lock mode an earlier favordynmods
# remount left (Linux 6.18 keeps it until reboot).
fast=
has cgroup.spaced.move p50 && le "$(res cgroup.spaced.move p50)" 1 &&
        fast="; cgroup moves did not wait here (see the kernel row)"
row 2 "real \`sudo -n true\`, median (p90): pam_jit account + session, cgroup teardown (this host's default)" \
        "$a ms ($(res sudo.pam_jit p90)): ratio **$rab**" "pam_permit: $b ms ($(res sudo.pam_permit p90))$fast" \
        "ratio ≤ 1.02" "$(verdict "$ok")"
row 2 "the same, pam_jit in account only (no session registration)" \
        "$(res sudo.pam_jit_account p50) ms ($(res sudo.pam_jit_account p90)): ratio $(ratio "$(res sudo.pam_jit_account p50)" "$b")" \
        "pam_permit: $b ms" "-" ""
row 2 "the same, account + session, teardown = pidfd (no cgroup move)" \
        "$(res sudo.pam_jit_pidfd p50) ms ($(res sudo.pam_jit_pidfd p90)): ratio $(ratio "$(res sudo.pam_jit_pidfd p50)" "$b")" \
        "pam_permit: $b ms" "-" ""
if has sudo.fdm skipped; then
        row 2 "the same, account + session, cgroup teardown, cgroup2 remounted \`favordynmods\` for this row" \
                "not run ($(res sudo.fdm skipped))" "-" "-" ""
else
        f=$(res sudo.pam_jit_fdm p50) fb=$(res sudo.pam_permit_fdm p50)
        sticky=
        # Moves still fast once the option is off again: this kernel kept the
        # per-thread-group lock that favordynmods switched on (Linux 6.18).
        has cgroup.after.move p50 && le "$(res cgroup.after.move p50)" 1 && ! le "$(res cgroup.spaced.move p50)" 1 &&
                sticky="; after the options were restored moves stayed fast ($(lat cgroup.after.move)): this kernel keeps the favordynmods lock mode until reboot"
        row 2 "the same, account + session, cgroup teardown, cgroup2 remounted \`favordynmods\` for this row" \
                "$f ms ($(res sudo.pam_jit_fdm p90)): ratio $(ratio "$f" "$fb")" \
                "pam_permit, also under favordynmods: $fb ms ($(res sudo.pam_permit_fdm p90))$sticky" "-" ""
fi
# Session recording: a recorded grant's sudo beside an unrecorded one.
if has sudo.recorded p50; then
        row 2 "the same, pam_jit account + session, a grant with \`record = all\` (sudo's I/O log, sealed by jitd)" \
                "$(res sudo.recorded p50) ms ($(res sudo.recorded p90)): ratio $(ratio "$(res sudo.recorded p50)" "$(res sudo.unrecorded p50)")" \
                "unrecorded grant: $(res sudo.unrecorded p50) ms ($(res sudo.unrecorded p90))" "-" ""
fi
row 2 "the same, do-it-yourself: pam_exec + shell + curl to a local HTTP endpoint" \
        "$c ms ($(res sudo.pam_exec p90)): ratio $(ratio "$c" "$b")" "pam_permit: $b ms; pam_jit: $a ms" "-" ""
row 2 "kernel: moving a process into a new cgroup (what session-open does), p50 / p99 / max" \
        "$(lat cgroup.spaced.move) when 20 ms apart" \
        "back to back: $(lat cgroup.b2b.move); favordynmods, 20 ms apart: $(lat cgroup.fdm.move)" "-" ""

if has iso.skipped reason; then
        row 3 "decision p99 while 50 ticket lookups hang 5 s" "not run ($(res iso.skipped reason))" "-" \
                "p99 ≤ 100 µs" "not run"
else
        row 3 "$D, 1 client on jitd's vCPU, 100k grants, while 50 ticket lookups hang 5 s" "$(dec iso.c1.hang)" \
                "no lookups: $(dec iso.c1.base); the server saw $(res iso.server max_inflight) in flight" \
                "p99 ≤ 100 µs" "$(verdict "$(check iso.c1.hang p99 le 100)")"
        row 3 "the same, 8 clients" "$(dec iso.c8.hang)" "no lookups: $(dec iso.c8.base)" "-" ""
fi

row 4 "revocation, one grant: end time → drop-in removed (5 trials)" "$(lat revoke1.dropin)" \
        "session dead: $(lat revoke1.dead)" "-" ""
row 4 "revocation, one grant: end time → both done" "$(lat revoke1.done)" "-" "≤ 100 ms" \
        "$(verdict "$(check revoke1.done max le 100)")"
n=$(res revokeN.done grants)
row 4 "revocation, $n grants ending in one second, each with a live session: drop-in removed" \
        "$(lat revokeN.dropin)" "one grant: $(lat revoke1.dropin)" "-" ""
row 4 "the same: session dead" "$(lat revokeN.dead)" "one grant: $(lat revoke1.dead)" "-" ""
row 4 "the same: both done (the last one is the max)" "$(lat revokeN.done)" \
        "missing: $(res revokeN.done missing) of $(res revokeN.done valid)" "all ≤ 5 s" \
        "$(verdict "$(if has revokeN.done max; then [ "$(res revokeN.done missing)" = 0 ] && le "$(res revokeN.done max)" 5000; echo $?; else echo -; fi)")"
row 4 "the same: a PAM check every 5 ms from 1 s before the end until the last session is dead, p50 / p99 / max" \
        "$(lat revokeN.check) ($(res revokeN.check n) checks, $(res revokeN.check errors) failed)" \
        "pam_jit's default timeout: 1500 ms" "-" ""

v=$(res visudo p50)
[ "$v" != - ] && ceil=$(calc %.0f "1000 / $v") || ceil=-
row 5 "auto-approved requests to active (drop-in written, visudo-checked), $(res throughput clients) clients" \
        "**$(res throughput rate) grants/s** ($(res throughput active) of $(res throughput requests) in $(res throughput elapsed_ms) ms; per request p50 $(res throughput p50) ms, p99 $(res throughput p99) ms)" \
        "\`visudo -cf\` alone: $v ms (≈ $ceil/s)" "≥ 200/s" \
        "$(verdict "$(check throughput rate ge 200)")"

kib() { [ "$1" = - ] && echo - || calc %.1f "$1 / 1024"; }
mem() {  # mem NAME: "VmRSS (peak) MiB; PSS; private anon"
        printf '%s MiB (peak %s); PSS %s; anon %s' "$(kib "$(res "$1" rss_kib)")" "$(kib "$(res "$1" hwm_kib)")" \
                "$(kib "$(res "$1" pss_kib)")" "$(kib "$(res "$1" anon_kib)")"
}
row 6 "jitd memory, empty database, idle: VmRSS (VmHWM); PSS; RssAnon" "$(mem rss.idle-idle)" "-" "-" ""
row 6 "jitd memory, 100k grants, after the decision runs" "$(mem rss.after-100k)" \
        "just started: $(mem rss.idle-100k)" "RSS ≤ 10 MiB" "$(verdict "$(check rss.after-100k hwm_kib le 10240)")"
row 6 "jitd peak RSS with $n grants and sessions, through their revocation" \
        "$(kib "$(res revokeN.done hwm_after_kib)") MiB" "-" "-" ""
w100=$(res wakeups.100k switches) w0=$(res wakeups.idle switches)
wok=-
[ "$w100" != - ] && wok=$( [ "$w100" = 0 ] && [ "$w0" = 0 ]; echo $?)
row 6 "wake-ups when idle (context switches in 10 s)" "empty: $w0, 1k: $(res wakeups.1k switches), 100k: $w100" \
        "by design: reconciliation every 120 s; under systemd the watchdog every WatchdogSec/2" "none" \
        "$(verdict "$wok")"

# ---- 7 fleet ----
fl() {  # fl NAME: "p50 / p99 / max ms", and the missing ones
        has "$1" p50 || { echo "not run"; return; }
        printf '%s / %s / %s ms' "$(res "$1" p50)" "$(res "$1" p99)" "$(res "$1" max)"
        [ "$(res "$1" missing)" != 0 ] && printf ' (%s missing)' "$(res "$1" missing)"
}
fleet_ok() {  # fleet_ok NAME LIMIT_MS: p99 within the limit and none missing
        has "$1" p99 || { echo -; return; }
        le "$(res "$1" p99)" "$2" && [ "$(res "$1" missing)" = 0 ]; echo $?
}
if has fleet.skipped reason; then
        row 7 "fleet: revocation and approval to every host, on PostgreSQL" "not run ($(res fleet.skipped reason))" "-" "-" ""
elif has fleet.setup hosts; then
        fn=$(res fleet.setup hosts) fr=$(res fleet.revoke.push rounds) fs=$(res fleet.revoke.push sync_s)
        [ "$fs" = - ] && fs=2
        lim=$(( (fs + 1) * 1000 ))
        row 7 "fleet of $fn hosts (a jitd each, own host name, store, sudoers directory, PostgreSQL role) on one PostgreSQL 15: revocation on one host (\`jitctl revoke ID\`) → drop-in gone, each host, with push (LISTEN/NOTIFY), $fr rounds, p50 / p99 / max" \
                "$(fl fleet.revoke.push)" \
                "on all $fn (the last host of each round): $(res fleet.revoke-last.push p50) / $(res fleet.revoke-last.push max) ms (p50 / max); the revoke command itself: $(res fleet.revoke-cmd.push p50) ms" \
                "p99 ≤ 1 s" "$(verdict "$(fleet_ok fleet.revoke.push 1000)")"
        row 7 "the same without push: NOTIFY taken out of \`jit.record_change\` for these rounds, the hosts learn by their catch-up every sync = ${fs} s (±10 %)" \
                "$(fl fleet.revoke.poll)" \
                "on all $fn: $(res fleet.revoke-last.poll p50) / $(res fleet.revoke-last.poll max) ms (p50 / max of the last host)" \
                "p99 ≤ sync + 1 s = $((fs + 1)) s" "$(verdict "$(fleet_ok fleet.revoke.poll "$lim")")"
        row 7 "request → approval (\`jitctl approve ID --key\`: signed, verified by the approver's jitd, recorded) → active, each of the $fn in-scope hosts (each verifies the SSHSIG, checks the drop-in with visudo, writes it), with push" \
                "$(fl fleet.approve.push)" \
                "active on all $fn: $(res fleet.approve-last.push p50) / $(res fleet.approve-last.push max) ms (p50 / max); the approve command itself: $(res fleet.approve-cmd.push p50) ms" \
                "-" ""
        row 7 "the same without push" "$(fl fleet.approve.poll)" \
                "active on all $fn: $(res fleet.approve-last.poll p50) / $(res fleet.approve-last.poll max) ms (p50 / max)" "-" ""
        row 7 "PostgreSQL connections: idle / most during the rounds (pg_stat_activity, client backends)" \
                "$(res fleet.idle conns) host connections, one per jitd / $(res fleet.run.push max_conns) in all" \
                "the bench's own look-up is the one more; max_connections set to $((fn + 50)) (default 100)" "-" ""
        row 7 "PostgreSQL CPU (postmaster and children, /proc schedstat), idle: every host catches up every $fs s" \
                "$(res fleet.idle pg_cpu_pct) % of one CPU; $(res fleet.idle xacts_per_s) transactions/s; $(res fleet.idle pg_cpu_us_per_xact) µs per transaction ($(res fleet.idle pg_backends_cpu_us_per_xact) µs in the hosts' backends alone)" \
                "during the rounds with push: $(res fleet.run.push pg_cpu_pct) % ($(res fleet.run.push pg_cpu_ms_per_round) ms and $(res fleet.run.push xacts_per_round) transactions a round); without: $(res fleet.run.poll pg_cpu_pct) % ($(res fleet.run.poll pg_cpu_ms_per_round) ms, $(res fleet.run.poll xacts_per_round) transactions a round)" "-" ""
        row 7 "PostgreSQL memory per host connection (an idle backend's smaps_rollup), median" \
                "PSS $(kib "$(res fleet.pgbackend.idle pss_median)") MiB; private $(kib "$(res fleet.pgbackend.idle private_median)") MiB" \
                "the whole cluster with $fn connections: PSS $(kib "$(res fleet.pgbackend.idle pg_total_pss_kib)") MiB" "-" ""
        row 7 "jitd per host with [fleet] (libpq loaded, one connection), idle: VmRSS median / max; PSS median" \
                "$(kib "$(res fleet.rss.idle rss_median)") / $(kib "$(res fleet.rss.idle rss_max)") MiB; PSS $(kib "$(res fleet.rss.idle pss_median)") MiB" \
                "after the rounds: $(kib "$(res fleet.rss.after rss_median)") / $(kib "$(res fleet.rss.after rss_max)") MiB (peak $(kib "$(res fleet.rss.after hwm_max)")); without [fleet] (section 6): $(kib "$(res rss.idle-idle rss_kib)") MiB" "-" ""
        row 7 "jitd per host with [fleet], idle: CPU and wake-ups" \
                "$(res fleet.idle jitd_cpu_us_per_host_s) µs of CPU per second; $(res fleet.idle jitd_wakeups_per_host_s) context switches per second" \
                "during the rounds: $(res fleet.run.push jitd_cpu_ms_per_round) ms of CPU a round for all $fn (with push), $(res fleet.run.poll jitd_cpu_ms_per_round) ms (without)" "-" ""
        row 7 "start-up: $fn jitds started at once, until each answers / until each has LISTENed (\`jitctl status\`: connected)" \
                "$(res fleet.start ready_ms) / $(res fleet.start connected_ms) ms" \
                "\`jitctl fleet add-host\` × $fn, one after the other: $(res fleet.setup add_host_ms) ms" "-" ""
fi

machine() {
        local cpu commit fs
        cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
        commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
        # This file itself does not count: every run rewrites it.
        [ -n "$(git -C "$ROOT" status --porcelain -- . ':!BENCHMARKS.md' 2>/dev/null)" ] &&
                commit="$commit (with uncommitted changes)"
        fs=$(df -T /tmp 2>/dev/null | awk 'NR == 2 { print $2 }')
        if [ -n "$PARTIAL" ]; then
                printf '%s\n' "$OLD_HEAD"
                # When and on what the run itself was (tests/bench.sh notes it),
                # so that rendering the file again says the same.
                has bench.run at && commit="$(res bench.run commit)$([ "$(res bench.run dirty)" = 1 ] && echo ' (with uncommitted changes)')"
                echo "- re-measured $(has bench.run at && res bench.run at | tr T ' ' | sed 's/Z$/ UTC/' || date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, with JB_ONLY, the rows of: $ONLY"
                [[ " $ONLY " == *" fleet "* ]] && pg_line
                return
        fi
        echo "- machine: $(nproc) CPUs, $cpu, Linux $(uname -r), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit: $commit"
        echo "- $(sudo -V 2>/dev/null | head -n 1); SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1); databases on $fs (/tmp)"
        pg_line
}
pg_line() {
        [ -x /usr/lib/postgresql/15/bin/postgres ] &&
                echo "- $(/usr/lib/postgresql/15/bin/postgres --version) for the fleet rows; $(ssh -V 2>&1 | cut -d, -f1)"
}

table() {
        echo "| # | measurement | result | side by side, same run | target | verdict |"
        echo "| --- | --- | --- | --- | --- | --- |"
        printf '%s\n' "${ROWS[@]}"
}

echo
table
{
        echo "# Benchmarks"
        echo
        if [ -n "$PARTIAL" ]; then
                echo "Written by \`make bench\` (tests/bench.sh) on this machine: the rows of the sections named in the"
                echo "\"re-measured\" line below come from that run, every other row from the run dated above."
        else
                echo "Written by \`make bench\` (tests/bench.sh); every figure below comes from one run on this machine."
        fi
        echo
        machine
        echo
        table
        echo
        cat "$ROOT/tests/bench/METHOD.md"
        echo
        if [ -n "$PARTIAL" ]; then echo "## Raw figures of these runs"; else echo "## Raw figures of this run"; fi
        echo
        echo '```'
        grep '^R ' "$RES"
        echo '```'
        echo
        cat "$ROOT/tests/bench/ANALYSIS.md"
} >"$OUT"
echo
echo "# written $OUT"
