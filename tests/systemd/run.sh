#!/usr/bin/env bash
# The real-systemd stories: boot Debian 12 with systemd as PID 1 in a
# systemd-nspawn container, install the pam-jit package there and play
# tests/systemd/stories.sh inside, printing its ok / not ok lines.
#
#   run.sh DEB-DIR      (make check-systemd passes build/deb)
#
# The root file system comes from debootstrap once and is cached under
# $JIT_SYSTEMD_CACHE (default /var/cache/jit-systemd-test), keyed by the
# suite, the package list and this file's setup steps; each run boots an
# overlay of it, so the cache is never changed. If the container cannot be
# built or booted, this says what failed and exits 1: it never passes
# without having played the stories.
#
# Environment: MIRROR (default: the first bookworm mirror of
# /etc/apt/sources.list*), JIT_SYSTEMD_CACHE, JIT_KEEP=1 (keep the work
# directory: the overlay's upper layer, the container's journal, the log).
#
# Host requirements (FACTS.md): systemd-container and debootstrap installed
# with --no-install-recommends; the hybrid cgroup layout of these machines
# needs the launching shell in a fresh cgroup of its own in both hierarchies,
# SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1, --keep-unit and --private-network.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SUITE=bookworm
CACHE=${JIT_SYSTEMD_CACHE:-/var/cache/jit-systemd-test}
STORY_TIMEOUT=${JIT_SYSTEMD_TIMEOUT:-900}
# Everything the stories and the package need, so that the .deb installs
# offline (the container has no network). The package's Depends must stay
# inside this list: the install story says which one is missing otherwise.
PACKAGES=(systemd systemd-sysv dbus libpam-systemd libpam-runtime sudo openssh-server openssh-client
          sqlite3 python3 procps
          libcurl4 libinih1 libjson-c5 libsqlite3-0 libssl3 libsystemd0 libpam0g libpq5)

t0=$(date +%s)
say() { echo "# [$(( $(date +%s) - t0 ))s] $*"; }
die() {  # die WHAT [LOG]: the container could not be set up
        echo "not ok 1 - real systemd container: $1"
        [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 30 "$2" | sed 's/^/#   /'
        echo "# the systemd stories did not run"
        exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, systemd-nspawn, cgroups)"
DEB_DIR=${1:-}
[ -n "$DEB_DIR" ] || die "usage: $0 DEB-DIR (make check-systemd builds it with make deb)"
DEB=$(find "$DEB_DIR" -maxdepth 1 -name 'pam-jit_*.deb' -printf '%T@ %p\n' 2>/dev/null | sort -n | tail -n 1 | cut -d' ' -f2-)
[ -n "$DEB" ] || die "no pam-jit_*.deb in $DEB_DIR (run make deb)"
for c in systemd-nspawn debootstrap nsenter flock dpkg-deb; do
        command -v "$c" >/dev/null || die "$c not found: apt-get install --no-install-recommends systemd-container debootstrap"
done
[ -d /sys/fs/cgroup/unified ] || [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] ||
        die "no cgroup2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified"

# One run at a time on a machine: they share the cache.
mkdir -p "$CACHE"
exec 8>"$CACHE/.lock"
flock 8

# Remove a run's cgroups, killing what still runs in them first (a
# container whose systemd-nspawn was killed lives on otherwise).
cgroups_remove() {  # cgroups_remove NAME
        local d=/sys/fs/cgroup/unified/$1
        [ -d "$d" ] || d=/sys/fs/cgroup/$1
        if [ -f "$d/cgroup.kill" ]; then
                echo 1 >"$d/cgroup.kill" 2>/dev/null
                for _ in $(seq 1 50); do
                        grep -q '^populated 0' "$d/cgroup.events" 2>/dev/null && break
                        sleep 0.1
                done
        fi
        for d in /sys/fs/cgroup/unified/$1 /sys/fs/cgroup/systemd/$1 /sys/fs/cgroup/$1; do
                [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
        done
        return 0
}

# What a run killed outright left behind (we hold the lock: no run is live):
# its container, its cgroups and its overlay mount.
for d in /sys/fs/cgroup/unified/jit-systemd-* /sys/fs/cgroup/jit-systemd-*; do
        [ -d "$d" ] && cgroups_remove "${d##*/}"
done
for d in /sys/fs/cgroup/systemd/jit-systemd-*; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
done
findmnt -rn -o TARGET | grep -E '^/var/tmp/jit-systemd\.[^/]+/root$' | while read -r m; do
        umount "$m" && rm -rf "${m%/root}"
done

# ---- the mirror --------------------------------------------------------------
# The first URI for the suite in sources.list (one-line format) or a
# .sources file (deb822), the security archive excepted.
find_mirror() {
        local f
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
                [ -f "$f" ] || continue
                awk -v s="$SUITE" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                        if ($(i + 1) == s && $i !~ /security/) { print $i; exit } }' "$f"
        done
        for f in /etc/apt/sources.list.d/*.sources; do
                [ -f "$f" ] || continue
                awk -v s="$SUITE" 'BEGIN { RS = ""; FS = "\n" }
                        { t = u = su = ""
                          for (i = 1; i <= NF; i++) {
                                if ($i ~ /^Types:/) t = $i; if ($i ~ /^URIs:/) u = $i; if ($i ~ /^Suites:/) su = $i }
                          if (t ~ /[ \t]deb([ \t]|$)/ && (su " ") ~ ("[ \t]" s "[ \t]") && u !~ /security/) {
                                sub(/^URIs:[ \t]*/, "", u); split(u, a, /[ \t]+/); print a[1]; exit } }' "$f"
        done
}
MIRROR=${MIRROR:-$(find_mirror | head -n 1)}
[ -n "$MIRROR" ] || die "no $SUITE mirror in /etc/apt/sources.list*; set MIRROR=http://deb.debian.org/debian"

# ---- the root file system, cached ------------------------------------------
# Set up once, inside the cache: a host name, no console getty, sshd for
# key logins only (openssh-server's postinst enabled it and made its host
# keys). Users and everything else are the stories' own. Changing this
# function changes the key, so the cache follows.
setup_root() {  # setup_root DIR
        local r=$1
        echo jit-test >"$r/etc/hostname"
        # No getty on the container console: nobody reads it.
        ln -sf /dev/null "$r/etc/systemd/system/console-getty.service"
        # sshd: keys only, fast, quiet.
        cat >"$r/etc/ssh/sshd_config.d/jit-test.conf" <<'EOS'
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
PrintMotd no
EOS
}
key=$(printf '%s\n' "$SUITE" "${PACKAGES[@]}" "$(declare -f setup_root)" | sha256sum | cut -c1-16)
ROOTFS=$CACHE/$SUITE-$key
if [ ! -f "$ROOTFS/.complete" ]; then
        say "building the root file system ($SUITE from $MIRROR) into $ROOTFS"
        tmp=$CACHE/.build-$key
        rm -rf "$tmp" "$ROOTFS"
        mkdir -p "$tmp"
        include=$(IFS=,; echo "${PACKAGES[*]}")
        if ! debootstrap --variant=minbase --include="$include" "$SUITE" "$tmp/root" "$MIRROR" >"$tmp.log" 2>&1; then
                die "debootstrap $SUITE from $MIRROR failed (log: $tmp.log)" "$tmp.log"
        fi
        setup_root "$tmp/root" || die "setting up the root file system failed"
        touch "$tmp/root/.complete"
        mv "$tmp/root" "$ROOTFS" && rm -rf "$tmp" "$tmp.log"
        # Older keys are dead weight: 300 MB each.
        find "$CACHE" -mindepth 1 -maxdepth 1 -name "$SUITE-*" ! -path "$ROOTFS" -exec rm -rf {} +
        say "root file system ready"
else
        say "cached root file system $ROOTFS"
fi

# ---- one container -----------------------------------------------------------
WORK=$(mktemp -d /var/tmp/jit-systemd.XXXXXX)
NAME=jit-test-$$
CG=jit-systemd-$$
NSPAWN_PID=
LEADER=
chmod 0755 "$WORK"
mkdir -p "$WORK/upper" "$WORK/ovl" "$WORK/root" "$WORK/share/out"

cleanup() {
        local rc=$?
        if [ -n "$LEADER" ] && kill -0 "$LEADER" 2>/dev/null; then
                nsenter -t "$LEADER" -a systemctl poweroff --no-block >/dev/null 2>&1
        fi
        if [ -n "$NSPAWN_PID" ]; then
                for _ in $(seq 1 100); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.2; done
                kill -KILL "$NSPAWN_PID" 2>/dev/null
                wait "$NSPAWN_PID" 2>/dev/null
        fi
        cgroups_remove "$CG"
        if umount "$WORK/root" 2>/dev/null || ! mountpoint -q "$WORK/root"; then
                if [ -n "${JIT_KEEP:-}" ]; then echo "# kept $WORK"; else rm -rf "$WORK"; fi
        else
                echo "# $WORK/root is still mounted; left in place"
        fi
        exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mount -t overlay overlay -o "lowerdir=$ROOTFS,upperdir=$WORK/upper,workdir=$WORK/ovl" "$WORK/root" ||
        die "cannot mount an overlay of $ROOTFS"

# The package, and a copy with a higher version for the upgrade story.
cp "$DEB" "$WORK/share/"
version=$(dpkg-deb -f "$DEB" Version)
if ! { dpkg-deb -R "$DEB" "$WORK/bump" &&
       sed -i "s/^Version: .*/Version: $version+systemdtest1/" "$WORK/bump/DEBIAN/control" &&
       dpkg-deb --root-owner-group -b "$WORK/bump" "$WORK/share/pam-jit_${version}+systemdtest1_bump.deb" >/dev/null; }; then
        die "cannot make the upgrade package from $DEB"
fi
rm -rf "$WORK/bump"
cp "$HERE/stories.sh" "$WORK/share/"

# nspawn must start from a cgroup of its own in every hierarchy (FACTS.md).
boot() {
        local d
        for d in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do
                [ -d "$d" ] || continue
                mkdir -p "$d/$CG" && echo "$BASHPID" >"$d/$CG/cgroup.procs" || return 1
        done
        export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
        exec 8>&-       # the lock: a container that outlives this run must not hold it
        exec systemd-nspawn -D "$WORK/root" -M "$NAME" -b --register=no --keep-unit --private-network \
                --console=passive --bind="$WORK/share:/srv/jit" </dev/null
}
say "booting $NAME"
( boot ) >"$WORK/nspawn.log" 2>&1 &
NSPAWN_PID=$!
for _ in $(seq 1 100); do
        LEADER=$(pgrep -P "$NSPAWN_PID" 2>/dev/null | head -n 1)
        [ -n "$LEADER" ] && break
        kill -0 "$NSPAWN_PID" 2>/dev/null || break
        sleep 0.1
done
[ -n "$LEADER" ] || die "systemd-nspawn did not start the container" "$WORK/nspawn.log"
inside() { nsenter -t "$LEADER" -a "$@"; }
# The leader exists before its manager listens: wait for a state, not an
# error about the bus.
state=
for _ in $(seq 1 120); do
        state=$(timeout 60 nsenter -t "$LEADER" -a systemctl is-system-running --wait 2>&1)
        case "$state" in running|degraded|maintenance|stopping|offline) break ;; esac
        kill -0 "$NSPAWN_PID" 2>/dev/null || break
        sleep 0.5
done
case "$state" in
running) ;;
degraded) say "booted degraded: $(inside systemctl --failed --no-legend --plain | awk '{ print $1 }' | tr '\n' ' ')" ;;
*) die "systemd in the container did not come up (is-system-running: ${state:-timeout})" "$WORK/nspawn.log" ;;
esac
say "systemd $(inside systemctl --version | awk 'NR == 1 { print $2 }') is PID 1 in $NAME; playing the stories"

# The stories run as a transient service of the container's systemd (a
# process entered with plain nsenter sits outside its cgroup tree). Not with
# systemd-run --wait --pipe: that follows the unit over D-Bus, and one story
# stops the bus. Output goes to a file on the shared directory instead.
OUT=$WORK/share/out
: >"$OUT/log"
if ! inside systemd-run -q --unit=jit-stories --collect -p "RuntimeMaxSec=$STORY_TIMEOUT" \
        -p StandardOutput=append:/srv/jit/out/log -p StandardError=append:/srv/jit/out/log \
        -E "JIT_DEB=/srv/jit/$(basename "$DEB")" -E "JIT_DEB_BUMP=/srv/jit/pam-jit_${version}+systemdtest1_bump.deb" \
        -- /bin/bash /srv/jit/stories.sh; then
        die "cannot start the stories in the container"
fi
tail --pid=$$ -n +1 -f "$OUT/log" 8>&- &
TAIL=$!
deadline=$(( $(date +%s) + STORY_TIMEOUT + 30 ))
while [ ! -f "$OUT/rc" ] && [ "$(date +%s)" -lt "$deadline" ]; do
        inside systemctl is-active -q jit-stories.service 2>/dev/null || { sleep 1; [ -f "$OUT/rc" ] || break; }
        sleep 1
done
sleep 0.5
kill "$TAIL" 2>/dev/null; wait "$TAIL" 2>/dev/null
if [ ! -f "$OUT/rc" ]; then
        echo "not ok - the stories did not finish (timeout ${STORY_TIMEOUT}s or killed)"
        exit 1
fi
say "done"
exit "$(cat "$OUT/rc")"
