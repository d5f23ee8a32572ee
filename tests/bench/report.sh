#!/usr/bin/env bash
# The table of `make bench`: reads the "R name key=value ..." lines that
# tests/bench.sh collected, prints the table, and writes BENCHMARKS.md with
# the machine, date and commit, the raw figures, and tests/bench/ANALYSIS.md
# (profiles and proposed fixes, written by hand) appended.
# Usage: report.sh RESULTS OUTPUT ROOT
set -uo pipefail
RES=$1 OUT=$2 ROOT=$3

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

D="decision, p50 / p99 / max"
row 1 "$D, 1k grants, 1 client, connect per call (pam_jit)" "$(lat dec.j1k.c1.call)" \
        "echo floor: $(lat dec.echo.c1.call)" "-" ""
row 1 "$D, 1k grants, 8 clients, connect per call" "$(lat dec.j1k.c8.call)" \
        "echo floor: $(lat dec.echo.c8.call)" "-" ""
row 1 "$D, 100k grants, 1 client, connect per call" "$(lat dec.j100k.c1.call)" \
        "echo floor: $(lat dec.echo.c1.call)" "-" ""
row 1 "$D, **100k grants, 8 clients**, connect per call" "$(lat dec.j100k.c8.call)" \
        "echo floor: $(lat dec.echo.c8.call)" "p99 ≤ 50 µs" "$(verdict "$(check dec.j100k.c8.call p99 le 50)")"
row 1 "$D, 1k grants, 1 client, one persistent connection" "$(lat dec.j1k.c1.persist)" \
        "echo floor: $(lat dec.echo.c1.persist)" "-" ""
row 1 "$D, 100k grants, 1 client, one persistent connection" "$(lat dec.j100k.c1.persist)" \
        "echo floor: $(lat dec.echo.c1.persist)" "-" ""
row 1 "$D, 100k grants, 8 clients, persistent connections" "$(lat dec.j100k.c8.persist)" \
        "echo floor: $(lat dec.echo.c8.persist)" "-" ""
row 1 "$D, 100k grants, deny path (no grant: NSS lookup), 1 client" "$(lat dec.j100kdeny.c1.call)" \
        "allow path: $(lat dec.j100k.c1.call)" "-" ""
row 1 "$D, 100k grants, deny path, 8 clients" "$(lat dec.j100kdeny.c8.call)" \
        "allow path: $(lat dec.j100k.c8.call)" "-" ""

a=$(res sudo.pam_jit p50) b=$(res sudo.pam_permit p50) c=$(res sudo.pam_exec p50)
if [ "$a" != - ] && [ "$b" != - ]; then
        rab=$(calc %.3f "$a / $b"); dab=$(calc %.2f "$a - $b")
        ok=$(le "$rab" 1.02; echo $?)
else
        rab=- dab=- ok=-
fi
[ "$c" != - ] && [ "$b" != - ] && rcb=$(calc %.2f "$c / $b") || rcb=-
row 2 "real \`sudo -n true\`, median (p90): pam_jit account + session" \
        "$a ms ($(res sudo.pam_jit p90)), ratio **$rab** (+$dab ms)" \
        "pam_permit: $b ms ($(res sudo.pam_permit p90))" "ratio ≤ 1.02" "$(verdict "$ok")"
row 2 "real \`sudo -n true\`, median (p90): pam_exec + curl to a local HTTP endpoint" \
        "$c ms ($(res sudo.pam_exec p90)), ratio $rcb" "pam_permit: $b ms; pam_jit: $a ms" "-" ""

if has iso.skipped reason; then
        row 3 "decision p99, 8 clients, while 50 ticket lookups hang 5 s" \
                "not run ($(res iso.skipped reason))" "-" "p99 ≤ 100 µs" "not run"
else
        row 3 "$D, 8 clients, 100k grants, while 50 ticket lookups hang 5 s" "$(lat iso.hang)" \
                "no lookups: $(lat iso.base); server saw max $(res iso.server max_inflight) in flight" \
                "p99 ≤ 100 µs" "$(verdict "$(check iso.hang p99 le 100)")"
fi

row 4 "revocation, one grant: end time → drop-in removed, p50 / p99 / max" "$(lat revoke1.dropin)" \
        "session dead: $(lat revoke1.dead)" "-" ""
row 4 "revocation, one grant: end time → both done (5 trials)" "$(lat revoke1.done)" "-" "≤ 100 ms" \
        "$(verdict "$(check revoke1.done max le 100)")"
n=$(res revokeN.done grants)
row 4 "revocation, $n grants ending in one second, each with a live session: drop-in removed" \
        "$(lat revokeN.dropin)" "one grant: $(lat revoke1.dropin)" "-" ""
row 4 "the same: session dead" "$(lat revokeN.dead)" "one grant: $(lat revoke1.dead)" "-" ""
row 4 "the same: both done (last one = max)" "$(lat revokeN.done)" \
        "missing: $(res revokeN.done missing) of $(res revokeN.done valid)" "all ≤ 5 s" \
        "$(verdict "$(if has revokeN.done max; then [ "$(res revokeN.done missing)" = 0 ] && le "$(res revokeN.done max)" 5000; echo $?; else echo -; fi)")"

v=$(res visudo p50)
[ "$v" != - ] && ceil=$(calc %.0f "1000 / $v") || ceil=-
row 5 "auto-approved requests to active (drop-in written + visudo), $(res throughput clients) clients" \
        "**$(res throughput rate) grants/s** ($(res throughput active) of $(res throughput requests) in $(res throughput elapsed_ms) ms; per request p50 $(res throughput p50) ms, p99 $(res throughput p99) ms)" \
        "\`visudo -cf\` alone: $v ms (ceiling ≈ $ceil/s on one core)" "≥ 200/s" \
        "$(verdict "$(check throughput rate ge 200)")"

kib() { [ "$1" = - ] && echo - || calc %.1f "$1 / 1024"; }
row 6 "jitd RSS / peak (VmHWM), empty database, idle" \
        "$(kib "$(res rss.idle-idle rss_kib)") / $(kib "$(res rss.idle-idle hwm_kib)") MiB" "-" "-" ""
row 6 "jitd RSS / peak, 100k grants, after the decision runs" \
        "$(kib "$(res rss.after-100k rss_kib)") / $(kib "$(res rss.after-100k hwm_kib)") MiB" \
        "just started: $(kib "$(res rss.idle-100k rss_kib)") / $(kib "$(res rss.idle-100k hwm_kib)") MiB" \
        "≤ 10 MiB" "$(verdict "$(check rss.after-100k hwm_kib le 10240)")"
row 6 "jitd peak RSS with $n grants and sessions, through their revocation" \
        "$(kib "$(res revokeN.done hwm_after_kib)") MiB" "-" "-" ""
w100=$(res wakeups.100k switches) w0=$(res wakeups.idle switches)
wok=-
[ "$w100" != - ] && wok=$( [ "$w100" = 0 ] && [ "$w0" = 0 ]; echo $?)
row 6 "wake-ups when idle (context switches in 10 s)" "empty: $w0, 1k: $(res wakeups.1k switches), 100k: $w100" \
        "reconciliation timer: 1 per 120 s by design" "none" "$(verdict "$wok")"

machine() {
        local cpu commit fs
        cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
        commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
        [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ] && commit="$commit (with uncommitted changes)"
        fs=$(df -T /tmp 2>/dev/null | awk 'NR == 2 { print $2 }')
        echo "- machine: $(nproc) CPUs, $cpu, Linux $(uname -r), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit: $commit"
        echo "- $(sudo -V 2>/dev/null | head -n 1); SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1); databases on $fs (/tmp), synchronous = FULL"
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
        echo "Written by \`make bench\` (tests/bench.sh); every figure below comes from one run on this machine."
        echo
        machine
        echo
        table
        echo
        cat "$ROOT/tests/bench/METHOD.md"
        echo
        echo "## Raw figures of this run"
        echo
        echo '```'
        grep '^R ' "$RES"
        echo '```'
        echo
        cat "$ROOT/tests/bench/ANALYSIS.md"
} >"$OUT"
echo
echo "# written $OUT"
