#!/usr/bin/env bash
# make demo: the story, narrated, in a throw-away directory with throw-away
# users. Nothing on the host's PAM or sudoers configuration is touched.
. "$(dirname "$0")/lib.sh"
set +u
if [ -t 1 ]; then B=$'\e[1m'; C=$'\e[36m'; G=$'\e[32m'; R=$'\e[31m'; Z=$'\e[0m'; else B='' C='' G='' R='' Z=''; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$Z"; }
run() {  # run USER CMD...: show and run a command as a user
        local user=$1; shift
        printf '%s%s$ %s%s\n' "$C" "$user" "${*//$T\/bin\//}" "$Z"
        as "$user" "$@" 2>&1 | sed 's/^/    /'
        return "${PIPESTATUS[0]}"
}
pam() {  # what PAM says to a login/sudo of USER for SERVICE
        local out
        out=$(pam_check "$1" "$2" 2>&1)
        sed -n 's/^msg([0-9]*): /    PAM tells the user: /p' <<<"$out"
        if grep -q 'account: PAM_SUCCESS' <<<"$out"; then printf '    %sallowed%s\n' "$G" "$Z"
        else printf '    %sdenied%s\n' "$R" "$Z"; fi
}

jt_setup
group_add demo_sec
user_add demo_alice
user_add demo_bob demo_sec
config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = web01

[role:web-admin]
members    = demo_alice
hosts      = web*
services   = sudo
approval   = peer
approvers  = %demo_sec
ticket     = required
ticket_pattern = ^(CHG|INC)[0-9]+\$
default_duration = 1h
max_duration = 4h
EOF2

step "jitd starts with one role, web-admin, for demo_alice on web* hosts; demo_bob approves"
"$T/bin/jitd" -c "$CONF" --check | sed 's/^/    /'
jitd_start || exit 1
pam_service sudo ""
jc() { local u=$1; shift; run "$u" "$T/bin/jitctl" -s "$SOCK" "$@"; }

step "demo_alice has no standing privilege: pam_jit refuses her"
pam sudo demo_alice
step "She asks for an elevation tied to her change ticket"
jc demo_alice request -r web-admin -t CHG1234 -d 5s -m "roll out the TLS fix"
id=$(as demo_alice "$T/bin/jitctl" -s "$SOCK" list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
step "She cannot approve her own request"
jc demo_alice approve "$id"
step "demo_bob sees it and approves"
jc demo_bob list
jc demo_bob approve "$id" -m "go ahead"
step "Now pam_jit lets her through, for five seconds"
pam sudo demo_alice
jc demo_alice status
step "Time passes; the grant expires on its own"
sleep 5.5
pam sudo demo_alice
step "The history stays: who asked, who approved, when it ended"
jc demo_bob show "$id"
printf '\n%sdone%s: everything ran in %s, which is removed now.\n' "$B" "$Z" "$T"
