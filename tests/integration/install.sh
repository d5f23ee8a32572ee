#!/usr/bin/env bash
# Installing the way a packager or an admin would: `make install DESTDIR=...`
# puts every file where jitd(8) and friends say it is, with sane modes, the
# installed programs run, an admin's edited jitd.conf survives a reinstall and
# an uninstall, and `make uninstall` leaves nothing else behind. Everything
# goes to a temporary DESTDIR; nothing on the host is touched.
. "$(dirname "$0")/../lib.sh"

D=$(mktemp -d /tmp/jit-install.XXXXXX)
trap 'rm -rf "$D"' EXIT
MA=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)

mk() { make -C "$ROOT" --no-print-directory "$@"; }

# mode_is MODE FILE: the file exists with exactly that mode.
mode_is() { [ -f "$2" ] && [ "$(stat -c %a "$2")" = "$1" ]; }

# What `make install` must put in place under the default PREFIX=/usr, with
# its mode.
expected=(
        "755 usr/sbin/jitd"
        "755 usr/bin/jitctl"
        "644 lib/$MA/security/pam_jit.so"
        "644 usr/share/man/man1/jitctl.1"
        "644 usr/share/man/man5/jitd.conf.5"
        "644 usr/share/man/man8/jitd.8"
        "644 usr/share/man/man8/pam_jit.8"
        "644 lib/systemd/system/jitd.service"
        "644 lib/systemd/system/jitd.socket"
        "644 lib/systemd/system/jitd.timer"
        "644 usr/share/bash-completion/completions/jitctl"
        "644 etc/jit/jitd.conf"
)

# The PAM directory is Debian's multiarch one, found by the Makefile itself.
expect 0 "make -n install targets Debian's multiarch PAM directory" "/lib/$MA/security/pam_jit.so" -- \
        mk -n install DESTDIR="$D/dry"
[ ! -e "$D/dry" ] && ok "... and a dry run writes nothing" || not_ok "make -n install wrote into $D/dry"

expect 0 "make install DESTDIR=... succeeds" -- mk install DESTDIR="$D/root"
for e in "${expected[@]}"; do
        read -r mode path <<<"$e"
        if mode_is "$mode" "$D/root/$path"; then
                ok "installed /$path (mode $mode)"
        else
                not_ok "installed /$path (mode $mode)" "$(ls -l "$D/root/$path" 2>&1)"
        fi
done
n=$(find "$D/root" -type f | wc -l)
[ "$n" -eq "${#expected[@]}" ] && ok "nothing else was installed ($n files)" ||
        not_ok "nothing else was installed" "$(cd "$D/root" && find . -type f | sort)"

# The installed files work.
expect 0 "the installed jitd --version runs" "^jitd " -- "$D/root/usr/sbin/jitd" --version
expect 0 "the installed jitctl --version runs" "^jitctl " -- "$D/root/usr/bin/jitctl" --version
expect 0 "the installed example jitd.conf passes jitd --check" "OK" -- \
        "$D/root/usr/sbin/jitd" -c "$D/root/etc/jit/jitd.conf" --check
exported=$(nm -D --defined-only "$D/root/lib/$MA/security/pam_jit.so" | awk '$2 == "T" { print $3 }' | sort | tr '\n' ' ')
[ "$exported" = "pam_sm_acct_mgmt pam_sm_authenticate pam_sm_close_session pam_sm_open_session pam_sm_setcred " ] &&
        ok "the installed pam_jit.so exports only pam_sm_*" || not_ok "pam_jit.so exports only pam_sm_*" "$exported"
expect 0 "the bash completion loads and completes jitctl's commands" "request.*status" -- bash -c '
        . "$1"; complete -p jitctl >/dev/null || exit 1
        COMP_WORDS=(jitctl ""); COMP_CWORD=1; _jitctl; echo "${COMPREPLY[*]}"' _ \
        "$D/root/usr/share/bash-completion/completions/jitctl"
for m in jitctl.1 jitd.conf.5 jitd.8 pam_jit.8; do
        sec=${m##*.}
        expect 0 "man $sec ${m%.*} renders from the installed tree" "^NAME" -- \
                bash -c 'MANWIDTH=80 mandoc -Tascii "$1" | col -b' _ "$D/root/usr/share/man/man$sec/$m"
done

# An admin's config is theirs: a reinstall keeps it, and so does uninstall.
echo "# edited by the admin" >>"$D/root/etc/jit/jitd.conf"
expect 0 "make install again succeeds" "keeping the existing" -- mk install DESTDIR="$D/root"
grep -q "edited by the admin" "$D/root/etc/jit/jitd.conf" && ok "... and keeps the admin's jitd.conf" ||
        not_ok "reinstall replaced the admin's jitd.conf"

expect 0 "make uninstall DESTDIR=... succeeds" "keeping .*jitd.conf" -- mk uninstall DESTDIR="$D/root"
left=$(cd "$D/root" && find . -type f | sort)
[ "$left" = "./etc/jit/jitd.conf" ] && ok "uninstall removes every file but the edited jitd.conf" ||
        not_ok "uninstall removes every file but the edited jitd.conf" "$left"

# An unchanged example config is ours to remove, and its directory with it.
expect 0 "make install after uninstall succeeds" -- mk install DESTDIR="$D/root2"
expect 0 "make uninstall succeeds" -- mk uninstall DESTDIR="$D/root2"
left=$(cd "$D/root2" && find . -type f | sort)
[ -z "$left" ] && ok "uninstall removes every file, the unchanged example jitd.conf too" ||
        not_ok "uninstall removes every file" "$left"
[ ! -e "$D/root2/etc/jit" ] && ok "... and the empty /etc/jit" || not_ok "/etc/jit is left behind"

# PREFIX moves the programs, man pages and completion; PAM and systemd
# directories stay where PAM and systemd look.
expect 0 "make install PREFIX=/opt/jit succeeds" -- mk install DESTDIR="$D/opt" PREFIX=/opt/jit
for f in opt/jit/sbin/jitd opt/jit/bin/jitctl opt/jit/share/man/man8/jitd.8 \
        opt/jit/share/bash-completion/completions/jitctl "lib/$MA/security/pam_jit.so" \
        lib/systemd/system/jitd.service etc/jit/jitd.conf; do
        [ -f "$D/opt/$f" ] && ok "PREFIX=/opt/jit: /$f" || not_ok "PREFIX=/opt/jit: /$f missing"
done
expect 0 "make uninstall PREFIX=/opt/jit succeeds" -- mk uninstall DESTDIR="$D/opt" PREFIX=/opt/jit
left=$(cd "$D/opt" && find . -type f | sort)
[ -z "$left" ] && ok "uninstall PREFIX=/opt/jit removes every file" || not_ok "uninstall PREFIX=/opt/jit" "$left"

finish
