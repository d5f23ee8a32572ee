#!/usr/bin/env bash
# Ticket systems end to end, over HTTPS with a test CA, against a test server
# that speaks each system's real API shapes. For each preset: a pending ticket
# makes the request wait; approved, the grant activates (drop-in written);
# closed, the grant is revoked within one poll interval (drop-in gone); the
# notes reach the ticket. A ticket requested by someone else is refused; sudo's
# prompt grants with an approved ticket and refuses a closed one; faults leave
# no active grant.
. "$(dirname "$0")/../lib.sh"
jt_setup

user_add jt_alice
user_add jt_bob

ticketd_start s3cret jt_alice || exit 1
# shellcheck disable=SC2154 # rc is assigned inside the trap string
trap 'rc=$?; kill "$TICKETD" 2>/dev/null; (exit $rc); cleanup' EXIT
notes() { curl -fsS "$CTL/notes"; }

write_conf() {  # write_conf PROVIDER TOKEN [EXTRA TICKET LINES]
        printf '%s\n' "$2" >"$T/token"; chmod 0600 "$T/token"
        config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost

[role:change]
members   = jt_alice, jt_bob
services  = sudo
approval  = ticket
ticket    = required
default_duration = 1h
max_duration = 4h

[ticket]
provider   = $1
url        = https://127.0.0.1:$HTTPS
token_file = $T/token
ca_file    = $T/ca.pem
poll       = 1s
timeout    = 3s
comment    = yes
$3
EOF2
}

state_of() { jc jt_alice show "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }

n=100
for preset in jira servicenow redmine rt gitlab; do
        n=$((n + 1))
        case $preset in
        servicenow) tok="admin:s3cret" ;;
        *) tok="s3cret" ;;
        esac
        extra=""
        [ "$preset" = gitlab ] && extra="project = group/repo"
        [ "$preset" = servicenow ] && t="CHG$n" || t="$n"
        jitd_stop; rm -f "$DB" "$DB-wal" "$DB-shm"
        curl -fsS -X POST "$CTL/reset" >/dev/null
        write_conf "$preset" "$tok" "$extra"
        ticket "$t" '{"state":"pending","requester":"jt_alice","hosts":["testhost"]}'
        jitd_start || exit 1
        expect 0 "$preset: a request with a pending ticket waits, and says why" \
                "waiting for it to be approved" -- jc jt_alice request -r change -t "$t"
        id=$(jc jt_alice list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
        [ ! -e "$T/sudoers.d/jit-$id" ] && ok "$preset: no drop-in while the ticket is pending" || not_ok "$preset: no drop-in while pending"
        ticket "$t" '{"state":"approved"}'
        if wait_for 4 bash -c "[ \"\$($T/bin/jitctl -s $SOCK show $id --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"state\"])')\" = active ]"; then
                ok "$preset: the ticket is approved: the grant becomes active within a poll"
        else
                not_ok "$preset: approved ticket activates the grant" "$(state_of "$id"); $(tail -3 "$T/jitd.log")"
        fi
        [ -f "$T/sudoers.d/jit-$id" ] && ok "$preset: its drop-in is written" || not_ok "$preset: drop-in written"
        ticket "$t" '{"state":"closed"}'
        start=$(now_ms)
        if wait_for 4 bash -c "[ ! -e $T/sudoers.d/jit-$id ]"; then
                ok "$preset: the ticket is closed: grant revoked and drop-in gone after $(( $(now_ms) - start )) ms (poll 1s)"
        else
                not_ok "$preset: closed ticket revokes the grant" "$(state_of "$id")"
        fi
        expect 0 "$preset: the revocation names the ticket" "end reason: +ticket $t" -- jc jt_alice show "$id"
        wait_for 3 bash -c "curl -fsS '$CTL/notes' | grep -q 'revoked'"
        nn=$(notes | python3 -c "import json,sys; d=json.load(sys.stdin); print(sum(1 for x in d if x['ticket']=='$t' and ('is active' in x['body'] or 'revoked' in x['body'])))")
        [ "$nn" -ge 2 ] && ok "$preset: the ticket got a note at the start and at the end ($nn)" \
                || not_ok "$preset: notes recorded" "$(notes)"
        # Someone else's ticket.
        ticket "9$n" '{"state":"approved","requester":"jt_bob","hosts":["testhost"]}'
        expect 1 "$preset: a ticket requested by another user is refused" "ticket 9$n does not name you as its requester" -- \
                jc jt_alice request -r change -t "9$n"
        grep -q jt_bob <<<"$LAST_OUT" && not_ok "$preset: the refusal does not say who requested the ticket" "$LAST_OUT" \
                || ok "$preset: the refusal does not say who requested the ticket"
done

# A change window that opens in the future: the grant is scheduled (its
# drop-in says NOTBEFORE), becomes active at the window's start through the
# deadline timer, and ends with the window. (ServiceNow: its preset knows
# where a change's window is.)
jitd_stop
write_conf servicenow admin:s3cret ""
jitd_start || exit 1
ws=$(( $(date +%s) + 3 )); we=$(( ws + 3 ))
ticket CHG700 "{\"state\":\"approved\",\"requester\":\"jt_alice\",\"hosts\":[\"testhost\"],\"window\":[$ws,$we]}"
expect 0 "a ticket whose window opens in 3 s schedules the grant" "scheduled" -- jc jt_alice request -r change -t CHG700
id=$(jc jt_alice list --json | python3 -c 'import json,sys; print([g["id"] for g in json.load(sys.stdin) if g["ticket"] == "CHG700"][0])')
expect 0 "its drop-in is in place with NOTBEFORE" "NOTBEFORE=[0-9]{14}Z" -- cat "$T/sudoers.d/jit-$id"
if wait_for 6 bash -c "[ \"\$($T/bin/jitctl -s $SOCK show $id --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"state\"])')\" = active ]"; then
        late=$(( $(now_ms) - ws * 1000 ))
        [ "$late" -lt 1000 ] && ok "at the window's start it became active (${late} ms after)" \
                || not_ok "active at the window's start" "late by $late ms"
else
        not_ok "scheduled grant became active" "$(state_of "$id"); $(tail -3 "$T/jitd.log")"
fi
if wait_for 6 bash -c "[ ! -e $T/sudoers.d/jit-$id ]"; then
        ok "at the window's end the grant expired and its drop-in went"
else
        not_ok "grant ended with its window" "$(state_of "$id")"
fi
expect 0 "its end is the window's end" "state: +expired" -- jc jt_alice show "$id"

# sudo's prompt (pam_jit prompt in auth): approved grants, closed refuses.
jitd_stop; rm -f "$DB" "$DB-wal" "$DB-shm"
curl -fsS -X POST "$CTL/reset" >/dev/null
write_conf redmine s3cret ""
ticket 501 '{"state":"approved","requester":"jt_alice","hosts":["testhost"]}'
ticket 502 '{"state":"closed","requester":"jt_alice","hosts":["testhost"]}'
jitd_start || exit 1
cat >"$T/pam/sudo" <<EOF2
auth     required $T/bin/pam_jit.so socket=$SOCK prompt timeout=4000
account  required $T/bin/pam_jit.so socket=$SOCK
account  required pam_permit.so
EOF2
expect 1 "prompt: a closed ticket is refused, the user is told why" \
        "grant [0-9]+ is denied: ticket 502 is Closed" -- \
        env PAMCHECK_ANSWER=502 "$T/bin/pamcheck" "$T/pam" sudo jt_alice --phase auth
expect 0 "prompt: an approved ticket grants in the same sudo" \
        "grant [0-9]+ for change is active until ([0-9]{4}-[0-9]{2}-[0-9]{2} )?[0-9:]+ \(ticket 501\)" -- \
        env PAMCHECK_ANSWER=501 "$T/bin/pamcheck" "$T/pam" sudo jt_alice --phase auth --phase account
grep -q "Ticket for elevation on testhost: " <<<"$LAST_OUT" && grep -q "account: PAM_SUCCESS" <<<"$LAST_OUT" \
        && ok "prompt: the user was asked for the ticket, and account then passes" || not_ok "prompt asked" "$LAST_OUT"

# Faults: nothing becomes active; jitd keeps serving; the token never shows.
jitd_stop; rm -f "$DB" "$DB-wal" "$DB-shm"; curl -fsS -X POST "$CTL/reset" >/dev/null
write_conf redmine s3cret ""
jitd_start || exit 1
ticket 601 '{"state":"approved","requester":"jt_alice","mode":"500"}'
expect 0 "a 500 from the ticket system: the request stays pending with the reason" "ticket system failed \(HTTP 500\); jitd keeps trying" -- \
        jc jt_alice request -r change -t 601
ticket 602 '{"state":"approved","requester":"jt_alice","mode":"malformed"}'
expect 0 "malformed JSON: pending" "pending" -- jc jt_bob request -r change -t 602
expect 1 "a ticket with URL or shell metacharacters is refused before any lookup" "invalid ticket" -- \
        jc jt_alice request -r change -t '1;rm -rf /'
expect 0 "jitd keeps serving" "host testhost" -- jc jt_alice status
active=$(sqlite3 "$DB" "SELECT count(*) FROM grants WHERE state = 'active'")
[ "$active" = 0 ] && ok "no grant became active through a faulty ticket system" || not_ok "no active grant" "$active"
ls "$T"/sudoers.d/jit-* >/dev/null 2>&1 && not_ok "no drop-in was written" || ok "no drop-in was written"
if grep -q s3cret "$T/jitd.log" || sqlite3 "$DB" "SELECT details FROM audit" | grep -q s3cret; then
        not_ok "the token appears in a log or audit row"
else
        ok "the token appears in no log line or audit row"
fi

# Refused at start: a token file others can read, and plain http.
jitd_stop
chmod 0644 "$T/token"
expect 3 "jitd refuses to start with a world-readable token_file" "token" -- "$T/bin/jitd" -c "$CONF"
chmod 0600 "$T/token"
sed -i "s|^url .*|url = http://127.0.0.1:$HTTPS|" "$CONF"
expect 1 "plain http is refused without allow_http" "http" -- "$T/bin/jitd" -c "$CONF" --check
sed -i "s|^url .*|url = https://127.0.0.1:$HTTPS|; s|^ca_file .*|ca_file = $T/other.pem|" "$CONF"
rm -f "$DB" "$DB-wal" "$DB-shm"
jitd_start || exit 1
ticket 701 '{"state":"approved","requester":"jt_alice"}'
expect 0 "a server certificate from the wrong CA is refused" "certificate" -- jc jt_alice request -r change -t 701
finish
