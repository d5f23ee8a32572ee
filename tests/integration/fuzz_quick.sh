#!/usr/bin/env bash
# Every libFuzzer harness (tests/fuzz/) builds and runs for a few seconds on
# its seeds without a crash, a leak, a sanitizer report or a broken
# invariant: the fuzz targets stay alive between long campaigns (`make fuzz`,
# see README). Skipped where clang or libFuzzer is missing.
. "$(dirname "$0")/../lib.sh"

secs=${FUZZ_QUICK_SECONDS:-3}
cc=${FUZZ_CC:-clang}
if ! command -v "$cc" >/dev/null 2>&1; then
        echo "# SKIP: $cc is not installed (tests/deps.sh installs it)"
        exit 0
fi
probe=$(mktemp -d /tmp/jit-fuzzprobe.XXXXXX)
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void) d; (void) n; return 0; }' >"$probe/p.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" >/dev/null 2>&1; then
        rm -rf "$probe"
        echo "# SKIP: $cc cannot build a libFuzzer program here (no libclang_rt.fuzzer)"
        exit 0
fi
rm -rf "$probe"

cd "$ROOT" || exit 1
log=$(mktemp /tmp/jit-fuzzbuild.XXXXXX)
if make -s -j2 fuzz-build >"$log" 2>&1; then
        ok "the harnesses build with $cc (ASan, UBSan, libFuzzer)"
else
        not_ok "the harnesses build with $cc (ASan, UBSan, libFuzzer)" "$(tail -n 30 "$log")"
        rm -f "$log"
        finish
        exit
fi
rm -f "$log"

work=$(mktemp -d /tmp/jit-fuzzwork.XXXXXX)
trap 'rm -rf "$work"' EXIT
for src in tests/fuzz/fuzz_*.c; do
        t=$(basename "$src" .c)
        t=${t#fuzz_}
        out=$(FUZZ_WORK=$work bash tests/fuzz/run.sh "$secs" "$t" 2>&1)
        if [ $? -eq 0 ]; then
                ok "fuzz $t for ${secs}s: ${out#PASS "$t": }"
        else
                not_ok "fuzz $t for ${secs}s" "$out"
        fi
done
finish
