#!/usr/bin/env bash
# Runs the unit tests (Check programs in build/tests/check_*) and the
# integration stories (tests/integration/*.sh), then prints one summary line:
# "N passed, N failed". Usage: run.sh [unit|integration] [NAME-FILTER]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

what=${1:-all}
filter=${2:-}
passed=0 failed=0 skipped=0
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
                # A case marked "# SKIP" is skipped, not passed; so is a
                # story that ran no case and said why ("# SKIP ...").
                sk=$(grep -cE '^ok .*# SKIP' "$log")
                p=$(( $(grep -c '^ok ' "$log") - sk ))
                f=$(grep -c '^not ok ' "$log")
                if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$sk" -eq 0 ] && grep -qE '^# (SKIP|skipped)' "$log"; then
                        sk=1
                fi
                skipped=$((skipped + sk))
                [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
                passed=$((passed + p)) failed=$((failed + f))
                if [ "$f" -ne 0 ]; then
                        failures+=("$t")
                        echo "FAIL $t (rc $rc)"
                        grep -E '^(not ok|#)' "$log" | head -n 60
                        tail -n 25 "$log"
                elif [ "$p" -eq 0 ] && [ "$sk" -gt 0 ]; then
                        echo "SKIP $t: $(grep -m1 -oE '# (SKIP|skipped).*' "$log")"
                else
                        echo "ok   $t ($p cases$([ "$sk" -gt 0 ] && echo ", $sk skipped"))"
                        grep -E '^(ok .*)?# SKIP' "$log" | sed 's/^/     /'
                fi
                rm -f "$log"
        done
fi

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed$([ "$skipped" -gt 0 ] && echo ", $skipped skipped")"
[ "$failed" -eq 0 ]
