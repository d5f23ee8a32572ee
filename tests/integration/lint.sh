#!/usr/bin/env bash
# What a newcomer reads must be clean and true: the four man pages pass
# `mandoc -Tlint -W warning` without a word, the shell scripts (make demo's
# and make demo-fleet's, and the bench's, included) pass `shellcheck -S
# warning`, the systemd units pass `systemd-analyze verify`, and the man
# pages name every config key, module option and jitctl command the code
# knows, and carry the same JSON schema as jitctl's output.c.
. "$(dirname "$0")/../lib.sh"

W=$(mktemp -d /tmp/jit-lint.XXXXXX)
trap 'rm -rf "$W"' EXIT

# silent DESCRIPTION CMD...: passes when CMD exits 0 and prints nothing at all.
silent() {
        local desc=$1 out rc
        shift
        out=$("$@" 2>&1); rc=$?
        if [ "$rc" -eq 0 ] && [ -z "$out" ]; then ok "$desc"; else not_ok "$desc" "exit $rc: $*"$'\n'"$out"; fi
}

pages=(man/jitctl.1 man/jitd.conf.5 man/jitd.8 man/pam_jit.8)
cd "$ROOT" || exit 1

for p in "${pages[@]}"; do
        if [ -f "$p" ]; then silent "mandoc -Tlint -W warning $p is silent" mandoc -Tlint -W warning "$p"
        else not_ok "$p exists"; fi
done

for f in tests/*.sh tests/integration/*.sh tests/bench/*.sh .ci/run contrib/*.bash-completion; do
        silent "shellcheck -S warning $f" shellcheck -S warning "$f"
done

# The units, against a copy of this machine's units (sysinit.target and the
# like) with stand-ins for the programs they run: nothing here is started.
if command -v systemd-analyze >/dev/null && [ -d /lib/systemd/system ]; then
        R=$W/root
        mkdir -p "$R/etc/systemd/system" "$R/usr/sbin" "$R/bin" "$R/lib/systemd"
        cp -a /lib/systemd/system "$R/lib/systemd/"
        cp systemd/jitd.service systemd/jitd.socket "$R/etc/systemd/system/"
        install -m 0755 /bin/true "$R/usr/sbin/jitd"
        install -m 0755 /bin/true "$R/bin/kill"
        silent "systemd-analyze verify jitd.service jitd.socket" systemd-analyze verify --man=no --root="$R" \
                /etc/systemd/system/jitd.service /etc/systemd/system/jitd.socket
else
        ok "systemd-analyze verify # SKIP systemd-analyze is not installed"
fi

# missing PAGE PREFIX NAME...: the names that PAGE never shows as
# "<PREFIX>Cm NAME" at the start of a line, PREFIX being an extended regex:
# '\.It (.* )?' for an item of a list (".It Cm socket Ns = Ns Ar path"),
# '\.' for any mention (".Cm request" in a SYNOPSIS).
missing() {
        local page=$1 prefix=$2 n out=()
        shift 2
        for n in "$@"; do
                grep -qE "^${prefix}Cm ${n//./\\.}( |$)" "$page" || out+=("$n")
        done
        echo "${out[*]}"
}

# Every key in config.c's tables is described in jitd.conf(5).
mapfile -t keys < <(grep -oE '\b(JITD|ROLE|TICKET|FLEET)\("[a-z_]+"' common/config.c | sed -E 's/.*"([a-z_]+)"/\1/' | sort -u)
if [ "${#keys[@]}" -lt 20 ]; then
        not_ok "found the config keys in common/config.c" "only ${#keys[@]}: ${keys[*]}"
else
        miss=$(missing man/jitd.conf.5 '\.It (.* )?' "${keys[@]}")
        [ -z "$miss" ] && ok "jitd.conf(5) describes all ${#keys[@]} keys of common/config.c" ||
                not_ok "jitd.conf(5) describes every config key" "missing: $miss"
fi

# Every module option of pam_jit.so is described in pam_jit(8).
mapfile -t opts < <({
        grep -oE 'strcmp\(name, "[a-z]+"\)' pam_jit/options.c
        grep -oE '\{ "[a-z]+", +set_[a-z]+ \}' pam_jit/options.c
} | sed -E 's/[^"]*"([a-z]+)".*/\1/' | sort -u)
if [ "${#opts[@]}" -lt 6 ]; then
        not_ok "found the module options in pam_jit/options.c" "only ${#opts[@]}: ${opts[*]}"
else
        miss=$(missing man/pam_jit.8 '\.It (.* )?' "${opts[@]}")
        [ -z "$miss" ] && ok "pam_jit(8) describes all ${#opts[@]} module options" ||
                not_ok "pam_jit(8) describes every module option" "missing: $miss"
fi

# Every jitctl command in the verb table is in jitctl(1).
mapfile -t verbs < <(grep -oE '^[[:space:]]*\{ "[a-z-]+", cmd_' jitctl/verbs.c | sed -E 's/.*"([a-z-]+)".*/\1/')
if [ "${#verbs[@]}" -lt 10 ]; then
        not_ok "found the jitctl commands in jitctl/verbs.c" "only ${#verbs[@]}: ${verbs[*]}"
else
        miss=$(missing man/jitctl.1 '\.' "${verbs[@]}")
        [ -z "$miss" ] && ok "jitctl(1) describes all ${#verbs[@]} commands" ||
                not_ok "jitctl(1) describes every command" "missing: $miss"
fi

# The GRANT schema in jitctl(1) is the one documented in jitctl/output.c.
schema_keys() {
        awk '/GRANT = \{/ { on = 1; next } on && /^[[:space:]*]*\}/ { exit } on' "$1" |
                grep -oE '^[[:space:]*]*"[a-z_]+":' | grep -oE '"[a-z_]+"' | sort | tr '\n' ' '
}
a=$(schema_keys jitctl/output.c); b=$(schema_keys man/jitctl.1)
[ -n "$a" ] && [ "$a" = "$b" ] && ok "jitctl(1) carries output.c's GRANT schema" ||
        not_ok "jitctl(1) carries output.c's GRANT schema" "output.c: $a"$'\n'"jitctl.1: $b"

finish
