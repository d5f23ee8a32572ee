#!/usr/bin/env bash
# Runs the unit tests (Check programs in build/tests/check_*) and the
# integration stories (tests/integration/*.sh), then prints one summary line:
# "N passed, N failed". Usage: run.sh [unit|integration] [NAME-FILTER]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

what=${1:-all}
filter=${2:-}
passed=0 failed=0
failures=()

count_check() {  # parse Check's "100%: Checks: 12, Failures: 0, Errors: 0"
        local line
        line=$(grep -E '^[0-9]+%: Checks: ' "$1" | tail -n 1)
        if [ -z "$line" ]; then
                echo "0 1"
                return
        fi
        local checks fails errs
        checks=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
        fails=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
        errs=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
        echo "$((checks - fails - errs)) $((fails + errs))"
}

if [ "$what" = all ] || [ "$what" = unit ]; then
        for t in build/tests/check_*; do
                [ -x "$t" ] || continue
                [ -n "$filter" ] && [[ "$t" != *"$filter"* ]] && continue
                log=$(mktemp)
                timeout 600 "$t" >"$log" 2>&1
                rc=$?
                read -r p f < <(count_check "$log")
                [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
                passed=$((passed + p)) failed=$((failed + f))
                if [ "$f" -ne 0 ]; then
                        failures+=("$t")
                        echo "FAIL $t"
                        grep -E ':[EF]:|^[0-9]+%' "$log" | head -n 40
                else
                        echo "ok   $t ($p checks)"
                fi
                rm -f "$log"
        done
fi

if [ "$what" = all ] || [ "$what" = integration ]; then
        for t in tests/integration/*.sh; do
                [ -n "$filter" ] && [[ "$t" != *"$filter"* ]] && continue
                log=$(mktemp)
                timeout 900 bash "$t" >"$log" 2>&1
                rc=$?
                p=$(grep -c '^ok ' "$log")
                f=$(grep -c '^not ok ' "$log")
                [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
                passed=$((passed + p)) failed=$((failed + f))
                if [ "$f" -ne 0 ]; then
                        failures+=("$t")
                        echo "FAIL $t (rc $rc)"
                        grep -E '^(not ok|#)' "$log" | head -n 60
                        tail -n 25 "$log"
                else
                        echo "ok   $t ($p cases)"
                fi
                rm -f "$log"
        done
fi

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
