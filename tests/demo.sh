#!/usr/bin/env bash
# make demo: the whole story, narrated, in a throw-away sandbox: a private
# mount namespace (test sudoers and PAM files bind-mounted over the real ones,
# gone when it ends), a temporary directory, throw-away users, a local ticket
# server. Nothing on the host's PAM or sudoers configuration is touched.
. "$(dirname "$0")/lib.sh"
in_private_namespace "$@"
set +u
if [ -t 1 ]; then B=$'\e[1m' C=$'\e[36m' G=$'\e[32m' R=$'\e[31m' Y=$'\e[33m' Z=$'\e[0m'; else B='' C='' G='' R='' Y='' Z=''; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$Z"; }
say() { printf '%s%s%s\n' "$Y" "$*" "$Z"; }
run() {  # run USER CMD...: show a command as the user would type it, run it as that user
        local user=$1; shift
        local shown="$*"
        shown=${shown//"$T/bin/"/}
        shown=${shown//" -s $SOCK"/}
        printf '%s%s$ %s%s\n' "$C" "$user" "$shown" "$Z"
        as "$user" "$@" 2>&1 | sed 's/^/    /'
        return "${PIPESTATUS[0]}"
}
verdict() { if [ "$1" -eq 0 ]; then printf '    %s-> allowed%s\n' "$G" "$Z"; else printf '    %s-> refused%s\n' "$R" "$Z"; fi; }

jt_setup
group_add demo_sec; group_add demo_oncall; group_add demo_admins
user_add demo_alice demo_oncall
user_add demo_bob "demo_sec,demo_admins"
ticketd_start s3cret demo_alice >/dev/null || exit 1
# shellcheck disable=SC2154 # rc is set by the trap's first command
trap 'rc=$?; kill "$TICKETD" 2>/dev/null; (exit $rc); cleanup' EXIT
printf 's3cret\n' >"$T/token"; chmod 0600 "$T/token"
config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = web01
admin_group = demo_admins
warn_before = 3s

[role:web-admin]
members    = demo_alice
hosts      = web*
services   = sudo
runas      = root
commands   = ALL
nopasswd   = yes
approval   = ticket
ticket     = required
ticket_pattern = ^[0-9]+\$
default_duration = 8s
max_duration = 1h
break_glass = %demo_oncall
break_glass_duration = 6s

[ticket]
provider   = redmine
url        = https://127.0.0.1:$HTTPS
token_file = $T/token
ca_file    = $T/ca.pem
poll       = 1s
comment    = yes
EOF2
sudoers_write
system_pam_stack "$T/pam-sudo"
bind_over "$T/sudoers" /etc/sudoers
bind_over "$T/pam-sudo" /etc/pam.d/sudo

step "web01 runs jitd. demo_alice may elevate to web-admin when a Redmine ticket approves it; demo_bob is on the security team"
"$T/bin/jitd" -c "$CONF" --check | sed 's/^/    /'
jitd_start || exit 1

step "No standing privilege: demo_alice is refused by sudo"
run demo_alice sudo -n systemctl status; verdict $?

step "She asks for an elevation for change ticket 4711, which is still waiting for approval in Redmine"
ticket 4711 '{"state":"pending","requester":"demo_alice"}'
run demo_alice "$T/bin/jitctl" -s "$SOCK" request -r web-admin -t 4711 -m "roll out the TLS fix"
id=$(as demo_alice "$T/bin/jitctl" -s "$SOCK" list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
run demo_alice sudo -n id -u; verdict $?

step "The change board approves ticket 4711; jitd notices within a second"
ticket 4711 '{"state":"approved"}'
wait_for 5 bash -c "[ -e '$T/sudoers.d/jit-$id' ]"
run demo_alice "$T/bin/jitctl" -s "$SOCK" status
step "sudo works now, and the rule it uses expires by itself (NOTAFTER), even if jitd were to die"
run demo_alice sudo -n id -u; verdict $?
run demo_alice sudo -n -l | grep -E 'NOTAFTER|may run' | sed 's/^/    /'

step "A long sudo session is still running when the grant ends: it is warned, then killed"
as demo_alice script -qfec "sudo -n sleep 600" /dev/null 2>&1 | tr -d '\r' | grep -v '^$' | sed 's/^/    /' &
bg=$!
wait "$bg"
say "    (the session ended when the grant did)"
run demo_alice sudo -n id -u; verdict $?
run demo_alice "$T/bin/jitctl" -s "$SOCK" show "$id"

step "03:00, the ticket system is down, production is on fire: break-glass"
kill "$TICKETD" 2>/dev/null
run demo_alice "$T/bin/jitctl" -s "$SOCK" break-glass -r web-admin -m "INC-42: site down, Redmine unreachable"
run demo_alice sudo -n id -u; verdict $?
bgid=$(as demo_alice "$T/bin/jitctl" -s "$SOCK" list --json | python3 -c 'import json,sys; print([g["id"] for g in json.load(sys.stdin) if g["break_glass"]][0])')
say "    an admin who is not demo_alice reviews it afterwards:"
run demo_bob "$T/bin/jitctl" -s "$SOCK" review
run demo_bob "$T/bin/jitctl" -s "$SOCK" review "$bgid" --accept -m "INC-42 confirmed"

step "The evidence: a hash-chained audit trail and the governance report"
run demo_bob "$T/bin/jitctl" -s "$SOCK" audit
run demo_bob "$T/bin/jitctl" -s "$SOCK" audit verify
run demo_bob "$T/bin/jitctl" -s "$SOCK" report
printf '\n%sdone%s: everything ran in a private namespace and in %s, which is removed now.\n' "$B" "$Z" "$T"
