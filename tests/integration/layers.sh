#!/usr/bin/env bash
# No two source files call each other's functions in a circle: the graph of
# "a.o uses a symbol b.o defines", per program, has no loop (tsort decides),
# and the leaves stay leaves: the store, the sudoers writer, teardown and the
# state machine call nothing of jitd's upper layers.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OBJ=$ROOT/build/obj
N=0
FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"; [ -n "${2:-}" ] && sed 's/^/#   /' <<<"$2"; }

edges() {  # edges DIR...: "from to" per line, file names without .o
        local defs uses
        defs=$(mktemp) uses=$(mktemp)
        # The objects of the sources there are now (not of removed ones).
        for d in "$@"; do
                for c in "$ROOT/$d"/*.c; do
                        o=$OBJ/$d/$(basename "${c%.c}").o
                        [ -e "$o" ] && nm --defined-only -g "$o" |
                                awk -v f="$d/$(basename "${o%.o}")" '$2 ~ /[TDBR]/ { print $3, f }'
                done
        done >"$defs"
        for d in "$@"; do
                for c in "$ROOT/$d"/*.c; do
                        o=$OBJ/$d/$(basename "${c%.c}").o
                        [ -e "$o" ] && nm -u "$o" | awk -v f="$d/$(basename "${o%.o}")" '{ print f, $2 }'
                done
        done >"$uses"
        awk 'NR == FNR { def[$1] = $2; next } ($2 in def) && def[$2] != $1 { print $1, def[$2] }' "$defs" "$uses" |
                sort -u
        rm -f "$defs" "$uses"
}

for prog in "jitd common" "jitctl common" "pam_jit common"; do
        # shellcheck disable=SC2086 # two directory names
        e=$(edges $prog)
        if [ -z "$e" ]; then
                not_ok "${prog%% *}: objects found" "build first (make all)"
                continue
        fi
        if loop=$(tsort <<<"$e" 2>&1 >/dev/null) && [ -z "$loop" ]; then
                ok "${prog%% *}: no file calls another in a circle ($(wc -l <<<"$e") edges)"
        else
                not_ok "${prog%% *}: files that call each other in a circle" "$loop"
        fi
done

# The leaves and the core call nothing above them.
e=$(edges jitd common)
for leaf in store sudoers teardown teardown_cgroup teardown_logind teardown_pidfd teardown_systemd teardown_util grant_fsm coverage \
            audit log vet tokens notify conn sshsig_verify resolve; do
        up=$(awk -v f="jitd/$leaf" '$1 == f && $2 ~ /^jitd\// { print $2 }' <<<"$e" |
             grep -vE '^jitd/(store|sudoers|teardown|teardown_cgroup|teardown_logind|teardown_pidfd|teardown_systemd|teardown_util|audit|log|grant_fsm|coverage)$' || true)
        if [ -z "$up" ]; then
                ok "jitd/$leaf.c calls no upper layer"
        else
                not_ok "jitd/$leaf.c calls upward" "$up"
        fi
done
# Grant rows are written by grants.c and by record.c (the record of a change,
# which ending.c writes later when it had to wait): nowhere else.
callers=$(for c in "$ROOT"/jitd/*.c; do
                o=$OBJ/jitd/$(basename "${c%.c}").o
                nm -u "$o" 2>/dev/null | grep -qE ' (store_grant_insert|store_grant_update)$' && basename "${o%.o}"
          done | sort | tr '\n' ' ')
if [ "$callers" = "grants record " ]; then
        ok "grant rows are written by grants.c and record.c alone"
else
        not_ok "grant rows are written by grants.c and record.c alone" "writers: $callers"
fi
# pam_jit.so runs inside every PAM client: it starts no program. Running
# ssh-keygen (common/sshsig.c) is for jitd and jitctl only.
so=$ROOT/build/pam_jit.so
if [ ! -e "$so" ]; then
        not_ok "pam_jit.so starts no program" "build first (make all)"
elif spawn=$(nm -D --undefined-only "$so" | awk '{ print $NF }' | sed 's/@.*//' |
             grep -xE 'posix_spawnp?|fork|vfork|clone3?|exec[lv]p?e?|fexecve|execveat|system|popen|memfd_create|pidfd_open'); then
        not_ok "pam_jit.so starts no program" "it imports: $(tr '\n' ' ' <<<"$spawn")"
else
        ok "pam_jit.so starts no program (no spawn, exec or fork imported)"
fi
echo "# $N cases, $FAILED failed"
[ "$FAILED" -eq 0 ]
