#!/usr/bin/env bash
# Run the libFuzzer harnesses built by `make fuzz-build` (build/fuzz/fuzz_*),
# each for SECONDS on its seeds (tests/fuzz/<target>/corpus) and what earlier
# runs learned (build/fuzz/corpus/<target>), with its dictionary
# (tests/fuzz/<target>/dict) and options (tests/fuzz/<target>/options: extra
# libFuzzer flags, one line). Crashes, leaks, timeouts and broken invariants
# land in build/fuzz/crashes/<target>/; replay one with
#   build/fuzz/fuzz_<target> build/fuzz/crashes/<target>/crash-...
# Prints one line per target, "PASS <target>: ..." or "FAIL <target>: ...",
# and exits 1 when any failed.
# Usage: run.sh SECONDS [TARGET...]   (TARGET: proto, config, ...; default all)
# FUZZ_WORK=DIR keeps what the runs learn in DIR/<target> instead (a scratch
# directory makes a run independent of earlier ones, as `make check` wants).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

secs=${1:-600}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
        for b in build/fuzz/fuzz_*; do
                [ -x "$b" ] && targets+=("${b#build/fuzz/fuzz_}")
        done
fi
[ ${#targets[@]} -gt 0 ] || { echo "no harness in build/fuzz: run make fuzz-build" >&2; exit 1; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
for t in "${targets[@]}"; do
        bin=build/fuzz/fuzz_$t
        src=tests/fuzz/$t
        work=${FUZZ_WORK:-build/fuzz/corpus}/$t
        crashes=build/fuzz/crashes/$t
        log=build/fuzz/logs/$t.log
        if [ ! -x "$bin" ]; then
                echo "FAIL $t: no $bin"
                failed=1
                continue
        fi
        mkdir -p "$work" "$crashes" "$(dirname "$log")" "$src/corpus"
        args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="$crashes/")
        [ -f "$src/dict" ] && args+=(-dict="$src/dict")
        if [ -f "$src/options" ]; then
                read -r -a extra <"$src/options"
                args+=("${extra[@]}")
        fi
        # The harnesses' scratch files: a crash skips their own clean-up.
        scratch=$(mktemp -d /tmp/jit-fuzz.XXXXXX)
        TMPDIR=$scratch "$bin" "${args[@]}" "$work" "$src/corpus" >"$log" 2>&1
        rc=$?
        rm -rf "$scratch"
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        corpus=$(find "$work" -type f | wc -l)
        if [ "$rc" -eq 0 ]; then
                echo "PASS $t: ${runs:-?} runs in ${secs}s, no crash (corpus $corpus)"
        else
                failed=1
                what=$(grep -m 1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz invariant broken' "$log")
                input=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)
                echo "FAIL $t: ${what:-exit $rc} (input: ${input:-none}; log: $log)"
        fi
done
exit "$failed"
