#!/usr/bin/env bash
# make demo-fleet: the fleet story, narrated, on one machine. A throwaway
# PostgreSQL 15 cluster in a temporary directory (tests/pg_lib.sh), three
# hosts (web-01, web-02, db-01), each a jitd with its own host name, socket,
# store, sudoers directory and PostgreSQL role; each "host" is a set of
# namespaces of its own (UTS for the host name, mount for its /etc/sudoers,
# /etc/pam.d/sudo and /etc/hosts, bound from the temporary directory), inside
# one private mount namespace for the whole demo. demo_alice asks once for
# every web host, demo_bob approves once with an SSH key made here, real sudo
# works on web-01 and web-02 and not on db-01, one revoke on db-01 ends it
# everywhere. Users, processes, the cluster and the directory are removed at
# the end, also on an error or Ctrl-C. Needs root and the programs built
# (make demo-fleet installs the packages and builds first).
# shellcheck disable=SC2034 # PID and CLEANUP_HOOKS are read by tests/fleet_lib.sh and tests/lib.sh
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
. "$(dirname "$0")/fleet_lib.sh"
in_private_namespace "$@"
set +u

if [ -t 1 ]; then B=$'\e[1m' C=$'\e[36m' G=$'\e[32m' R=$'\e[31m' Y=$'\e[33m' Z=$'\e[0m'; else B='' C='' G='' R='' Y='' Z=''; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$Z"; }
say() { printf '%s   %s%s\n' "$Y" "$*" "$Z"; }
die() { printf '%sdemo stopped: %s%s\n' "$R" "$*" "$Z"; exit 1; }
verdict() { if [ "$1" -eq 0 ]; then printf '    %s-> allowed%s\n' "$G" "$Z"; else printf '    %s-> refused%s\n' "$R" "$Z"; fi; }

for b in jitd jitctl pam_jit.so; do
        [ -e "$BUILD/$b" ] || die "$BUILD/$b is missing: run make demo-fleet (it installs the packages and builds)"
done
[ -x "$PGBIN/postgres" ] || die "PostgreSQL 15 is missing: run make demo-fleet (tests/deps.sh installs it)"
command -v ssh-keygen >/dev/null && command -v sudo >/dev/null || die "ssh-keygen or sudo is missing: run tests/deps.sh"

# As tests/lib.sh's jt_setup, without the test helpers (make demo-fleet builds
# the programs only): the stories' lock, a private directory, the clean-up.
exec 9>/tmp/jit-integration.lock
flock -n 9 || { say "waiting for the integration tests running on this machine to finish..."; flock 9; }
SECONDS=0
T=$(mktemp -d /tmp/fleet-demo.XXXXXX)
chmod 0755 "$T"
mkdir -p "$T/bin"
install -m 0755 "$BUILD/jitd" "$BUILD/jitctl" "$T/bin/"
install -m 0644 "$BUILD/pam_jit.so" "$T/bin/"
HOSTS="web-01 web-02 db-01"
declare -A PID
# The jitds stop before PostgreSQL (pg_start adds pg_stop after this), then
# lib.sh's cleanup removes the users and the directory.
CLEANUP_HOOKS=(hosts_stop)
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# show HOST USER CMD...: the command as the user would type it on that host
# (programs by name, without -s SOCKET).
show() {
        local h=$1 u=$2 a shown=''
        shift 2
        for a in "$@"; do
                [[ "$a" == *[\ \*\;]* ]] && a="'$a'"
                shown+=" $a"
        done
        shown=${shown//"$T/bin/"/}
        shown=${shown//" -s $T/h/$h/jitd.sock"/}
        printf '%s%s@%s$%s%s\n' "$C" "$u" "$h" "$shown" "$Z"
}
# on HOST USER CMD...: run it "on" that host: its host name, /etc/sudoers,
# /etc/pam.d/sudo and /etc/hosts, in namespaces of its own, as that user.
on() {
        local h=$1 u=$2 d=$T/h/$1
        shift 2
        unshare --mount --uts --propagation private -- bash -c '
                h=$1 d=$2 u=$3; shift 3
                hostname "$h" && mount --bind "$d/sudoers" /etc/sudoers && mount --bind "$d/pam-sudo" /etc/pam.d/sudo &&
                        mount --bind "$d/hosts" /etc/hosts || exit 99
                if [ "$u" = root ]; then exec "$@"; else exec runuser -u "$u" -- "$@"; fi' \
                on-host "$h" "$d" "$u" "$@"
}
run() {  # run HOST USER CMD...: show it, run it, indent its output (also kept in LAST_OUT)
        local h=$1 u=$2 rc
        shift 2
        show "$h" "$u" "$@"
        on "$h" "$u" "$@" >"$T/out" 2>&1
        rc=$?
        sed 's/^/    /' "$T/out"
        LAST_OUT=$(cat "$T/out")
        return "$rc"
}
jc() { local h=$1 u=$2; shift 2; run "$h" "$u" "$T/bin/jitctl" -s "$T/h/$h/jitd.sock" "$@"; }
has_dropin() { [ -n "$(find "$T/h/$1/sudoers.d" -maxdepth 1 -name 'jit-*' -print -quit)" ]; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

printf '%sThe fleet demo%s: one PostgreSQL, three hosts, one request, one approval, one revocation.\n' "$B" "$Z"
say "Everything lives in $T and in private namespaces; it is all removed at the end."

step "A throwaway PostgreSQL 15, the fleet's one shared database"
pg_start >/dev/null || die "PostgreSQL did not start"
say "initdb and pg_ctl in $T/pg: password (SCRAM) logins on a Unix socket, no TCP."
OWNER_PW=$(pg_random)
pg_super "CREATE ROLE jit_owner LOGIN CREATEROLE PASSWORD '$OWNER_PW'" "CREATE DATABASE fleet OWNER jit_owner" \
        "REVOKE CONNECT ON DATABASE fleet FROM PUBLIC" >/dev/null || die "cannot make the owner role"
say "The schema belongs to a role of its own, jit_owner, not to a superuser."
ADMIN="host=$PG_DIR dbname=fleet user=jit_owner"
admin() { PGPASSWORD=$OWNER_PW "$T/bin/jitctl" "$@"; }
show admin root jitctl fleet init -D "$ADMIN"
admin fleet init -D "$ADMIN" 2>&1 | sed 's/^/    /'
[ "${PIPESTATUS[0]}" -eq 0 ] || die "fleet init failed"

step "People: demo_alice (web team) asks, demo_bob approves with his SSH key"
group_add demo_webops || die "groupadd"
user_add demo_alice demo_webops || die "useradd"
user_add demo_bob || die "useradd"
mkdir -m 0700 "$T/bob"
ssh-keygen -q -t ed25519 -N '' -C demo_bob -f "$T/bob/id_ed25519" || die "ssh-keygen"
chown -R demo_bob "$T/bob"
mkdir -m 0755 "$T/trust"
echo "demo_bob namespaces=\"pam-jit-approval\" $(cat "$T/bob/id_ed25519.pub")" >"$T/trust/allowed_signers"
chmod 0644 "$T/trust/allowed_signers"
say "bob's key is new (ssh-keygen -t ed25519); every host lists it in its allowed_signers:"
sed 's/^/    /; s/\(ssh-ed25519 .\{16\}\).*/\1... demo_bob/' "$T/trust/allowed_signers"
say "An approval counts on a host only if its SSH signature verifies there: neither the database nor"
say "another host can make one up."

step "Three hosts join the fleet: jitctl fleet add-host makes each its own database role and password"
for h in $HOSTS; do
        d=$T/h/$h
        mkdir -p "$d/db" "$d/sudoers.d"
        chmod 0755 "$T/h" "$d"
        chmod 0750 "$d/sudoers.d"
        [ "$h" = web-01 ] && show admin root jitctl fleet add-host "$h" -D "$ADMIN" --password-file "$d/password"
        out=$(admin fleet add-host "$h" -D "$ADMIN" --password-file "$d/password" 2>&1) || die "add-host $h: $out"
        [ "$h" = web-01 ] && sed 's/^/    /' <<<"$out"
        cat >"$d/jitd.conf" <<EOF
[jitd]
socket = $d/jitd.sock
database = $d/db/jitd.db
sudoers_dir = $d/sudoers.d
host = $h
teardown = pidfd

[role:web-admin]
members = %demo_webops
hosts = web-*
approval = peer
approvers = demo_bob
ticket = optional
runas = root
commands = ALL
nopasswd = yes
default_duration = 1h
max_duration = 4h

[fleet]
$(grep '^database = ' <<<"$out")
password_file = $d/password
sync = 2s
allowed_signers = $T/trust/allowed_signers
EOF
        chmod 0644 "$d/jitd.conf"
        # What this host's sudo and PAM see, bound over /etc in its namespace.
        printf 'Defaults env_reset\nDefaults !lecture\nroot ALL=(ALL:ALL) ALL\n@includedir %s/sudoers.d\n' "$d" >"$d/sudoers"
        chmod 0440 "$d/sudoers"
        cat >"$d/pam-sudo" <<EOF
auth     required pam_permit.so
account  required $T/bin/pam_jit.so socket=$d/jitd.sock
account  required pam_permit.so
session  required $T/bin/pam_jit.so socket=$d/jitd.sock
session  required pam_permit.so
EOF
        { cat /etc/hosts; printf '127.0.1.1\t%s\n' "$h"; } >"$d/hosts"
done
say "web-02 and db-01 the same way. The password files are root's (0600); jitd.conf holds no secret."
say "Each host's jitd.conf has the same role: web-admin for %demo_webops on hosts web-*, approved by"
say "demo_bob; and the [fleet] lines add-host printed:"
sed -n '/^\[fleet\]/,$p' "$T/h/web-01/jitd.conf" | sed 's/^/    /'

step "Three jitds start, each with its own host name, store and sudoers directory"
for h in $HOSTS; do
        d=$T/h/$h
        unshare --uts -- sh -c 'hostname "$0" && exec "$1" -c "$2"' "$h" "$T/bin/jitd" "$d/jitd.conf" \
                2>>"$d/jitd.log" 9>&- &
        PID[$h]=$!
done
connected() { "$T/bin/jitctl" -s "$T/h/$1/jitd.sock" status 2>/dev/null | grep -q '^fleet: connected'; }
for h in $HOSTS; do
        wait_for 20 connected "$h" || die "jitd on $h did not connect: $(tail -n 3 "$T/h/$h/jitd.log")"
done
show web-01 root jitctl status
on web-01 root "$T/bin/jitctl" -s "$T/h/web-01/jitd.sock" status 2>&1 | grep -E '^(jitd|fleet)' | sed 's/^/    /'
say "Each jitd holds one connection, LISTENs for changes and catches up every 2 s in case it misses one."
say "PAM asks only the local jitd: a sudo never waits for the network."

step "No standing privilege: demo_alice is refused by sudo on web-01"
run web-01 demo_alice sudo -n id -u; verdict $?
say "sudoers has no rule for her: jitd writes one only for an active grant, and PAM asks jitd too."

step "demo_alice asks once, on web-01, for every web host"
jc web-01 demo_alice request -r web-admin -H 'web-*' -d 1h -m "roll out the TLS fix" || die "the request failed"
GID=$(grep -oE 'fleet grant F[0-9]+' <<<"$LAST_OUT" | head -n 1 | grep -oE 'F[0-9]+')
[ -n "$GID" ] || die "no fleet grant id in the answer"
say "Fleet grant $GID is in PostgreSQL, pending. Nothing is enforced anywhere yet."

step "demo_bob approves once, from web-02: jitctl signs with his key, web-02's jitd checks it"
t0=$(date +%s%N)
jc web-02 demo_bob approve "$GID" --key "$T/bob/id_ed25519" -m "change 4711 approved" || die "the approval failed"
a1='' a2=''
while [ -z "$a1" ] || [ -z "$a2" ]; do
        [ -z "$a1" ] && has_dropin web-01 && a1=$(ms_since "$t0")
        [ -z "$a2" ] && has_dropin web-02 && a2=$(ms_since "$t0")
        [ "$(ms_since "$t0")" -gt 10000 ] && break
        sleep 0.01
done
say "PostgreSQL told every host (NOTIFY); each verified bob's signature against its own allowed_signers"
say "and applied its own jitd.conf: web-01 enforced it ${a1:-?} ms after bob's command started, web-02 after ${a2:-?} ms."
sleep 2.5   # a catch-up and more: db-01 has looked at it too
for h in $HOSTS; do
        printf '    %-7s sudoers.d: %s\n' "$h" "$(cd "$T/h/$h/sudoers.d" && ls -- jit-* 2>/dev/null || echo '(nothing: not in the scope web-*)')"
done

step "sudo works on web-01 and web-02, and not on db-01"
run web-01 demo_alice sudo -n id -u; verdict $?
run web-02 demo_alice sudo -n id -u; verdict $?
run db-01 demo_alice sudo -n id -u; verdict $?
run web-02 demo_alice sudo -n -l | grep -E 'NOTAFTER' | sed 's/^/    /'
say "The rule carries its own end (NOTAFTER): sudo refuses on time even if jitd were down."

step "From any host, the fleet's open grants"
jc db-01 demo_bob list

step "Her laptop is stolen: an admin on db-01 revokes the grant (db-01 never even enforced it)"
t0=$(date +%s%N)
jc db-01 root revoke "$GID" -m "laptop stolen" || die "the revoke failed"
r1='' r2=''
while [ -z "$r1" ] || [ -z "$r2" ]; do
        [ -z "$r1" ] && ! has_dropin web-01 && r1=$(ms_since "$t0")
        [ -z "$r2" ] && ! has_dropin web-02 && r2=$(ms_since "$t0")
        [ "$(ms_since "$t0")" -gt 10000 ] && break
        sleep 0.01
done
say "Gone from web-01 after ${r1:-?} ms and from web-02 after ${r2:-?} ms: each ended its own copy"
say "(rule first, then sessions, then the record), pushed by NOTIFY; a host that missed it catches up."
run web-01 demo_alice sudo -n id -u; verdict $?
run web-02 demo_alice sudo -n id -u; verdict $?

step "The evidence: each host's own hash-chained audit trail..."
jc web-02 root audit
jc web-02 root audit verify

step "...and the fleet's record in PostgreSQL: who asked, who approved (with the signature), who ended it"
show admin jit_owner psql "$ADMIN"
PGPASSWORD=$OWNER_PW "$PGBIN/psql" -X -q -d "$ADMIN" -P footer=off -c "
        SELECT g.id, g.user_name AS \"user\", g.role, array_to_string(g.host_scope, ',') AS scope, g.state,
               a.approver, left(replace(a.signature, E'\n', ' '), 44) || '...' AS signature, r.by_user || ' on ' || r.host || ': ' || r.reason AS ended
        FROM jit.grants g LEFT JOIN jit.approvals a ON a.grant_id = g.id LEFT JOIN jit.revocations r ON r.grant_id = g.id
        WHERE g.id = ${GID#F}" 2>&1 | sed 's/^/    /'
PGPASSWORD=$OWNER_PW "$PGBIN/psql" -X -q -d "$ADMIN" -P footer=off -c "
        SELECT seq, kind, host, grant_id AS grant, to_char(changed_at, 'HH24:MI:SS.MS') AS at FROM jit.changes ORDER BY seq" \
        2>&1 | sed 's/^/    /'
say "Rows there are append-only (triggers refuse UPDATE and DELETE, the owner's too), and each host can"
say "write only as itself."

printf '\n%sdone%s in %d s: the jitds and PostgreSQL stop now, demo_alice and demo_bob are removed, and %s goes.\n' \
        "$B" "$Z" "$SECONDS" "$T"
