#!/usr/bin/env bash
# Story: PostgreSQL killed with SIGKILL and restarted during churn: nothing
# lost, nothing duplicated, every host converges (issue 14, item 9).
#
# Three hosts (web-01, web-02, db-01), each with its own jitd, share one
# PostgreSQL 15 database. Two drivers, seeded (the seed is printed; set
# JIT_CHURN_SEED to replay the same choices), churn for about 40 s through
# jitctl on random hosts: requests (ten users, at most 8 each, the fleet's
# limit per 10 minutes; random scopes; some of 10 s that expire during the
# churn), signed approvals by jt_bob and jt_eve, revokes by jt_dave (an admin)
# and releases by the grant's user, and lists. Every command and its answer
# is recorded. Meanwhile the postmaster and all its children are SIGKILLed
# five times, as in a crash, and started again on the same data directory:
#   1. at a random moment;
#   2. while an approval waits for its commit to be acknowledged (a
#      synchronous standby that never comes: the commit is in the WAL, the
#      answer never leaves), so its answer is lost: jt_bob must not be told
#      that nothing was approved;
#   3. right after web-01 enforced a new grant while web-02 was stopped: an
#      admin revokes it on web-02 with the database down (queued there), and
#      web-02 must never enforce it after the database comes back; the jitds
#      are then watched for 5 s with the database down (no CPU spin);
#   4. at a random moment;
#   5. while jt_dave's revoke --user jt_m1 --all waits for its commit to be
#      acknowledged: he must not be told that nothing was ended in the fleet
#      (it stays queued on db-01 and is sent again).
# Then, once every host has applied every change and sent every queued end,
# the records are checked against what each command answered, in SQL (the
# command log and each host's state are loaded next to the fleet's tables):
#   - every answer is one of the clear lines (a failure says what did not
#     happen, or that the outcome is unknown), and says the truth: what was
#     acknowledged is recorded, what was said not to happen did not;
#   - nothing duplicated: one grant per request, one change per write, one
#     local grant per fleet grant and host, no audit event twice;
#   - every host converged: it enforces (drop-in, PAM) exactly the open,
#     approved, unexpired grants of its scope, no ended or out-of-scope one,
#     its applied seq is the fleet's last, its queue of ends is empty, its
#     audit chain verifies, and its jitd is alive; a host that revoked or
#     released a grant it did not enforce never enforced it afterwards.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fleet_lib.sh"
. "$(dirname "$0")/../pg_lib.sh"
pg_require
command -v ssh-keygen >/dev/null || { echo "# SKIP ssh-keygen is missing"; exit 0; }
jt_setup
STORY_T0=$(now_ms)

HOSTS="web-01 web-02 db-01"
HOST_LIST=(web-01 web-02 db-01)
# shellcheck disable=SC2034 # used by tests/fleet_lib.sh
declare -A PID

SEED=${JIT_CHURN_SEED:-$(( $(date +%s%N) / 1000 % 1000000 ))}
echo "# seed $SEED (JIT_CHURN_SEED=$SEED bash $0 replays these choices; the timing is the machine's)"
RANDOM=$SEED

# The postmaster is this shell's child: it can be killed and started again
# here even where PID 1 reaps no orphan (tests/pg_lib.sh, pg_launch).
# shellcheck disable=SC2034 # read by tests/pg_lib.sh
PG_CHILD=1
if ! pg_start; then
        not_ok "PostgreSQL 15 starts in $T/pg"
        finish
        exit
fi
ok "PostgreSQL 15 starts in $T/pg"

OWNER_PW=$(pg_random)
pg_super "CREATE ROLE jit_owner LOGIN CREATEROLE PASSWORD '$OWNER_PW'" "CREATE DATABASE fleet OWNER jit_owner" \
         "REVOKE CONNECT ON DATABASE fleet FROM PUBLIC"
ADMIN="host=$PG_DIR dbname=fleet user=jit_owner"
admin() { PGPASSWORD=$OWNER_PW "$T/bin/jitctl" "$@"; }
# The superuser on the fleet's database: the story's own tables (schema
# story) sit next to jit's, so that each check is one query.
fleet_sql() { PGPASSWORD=$PG_SUPERPW pg_psql -F $'\t' -d "host=$PG_DIR dbname=fleet user=postgres" "$@"; }
expect 0 "fleet init" 'created' -- admin fleet init -D "$ADMIN"

group_add jt_webops
group_add jt_admins
USERS=()
for i in 1 2 3 4 5 6 7 8 9 10; do
        user_add "jt_c$i" jt_webops
        USERS+=("jt_c$i")
done
user_add jt_m1 jt_webops        # the targeted steps' requester
user_add jt_bob
user_add jt_eve
user_add jt_dave jt_admins
mkdir -m 0755 "$T/keys" "$T/signers"
for a in jt_bob jt_eve; do
        mkdir -m 0700 "$T/keys/$a"
        ssh-keygen -q -t ed25519 -N '' -C "$a" -f "$T/keys/$a/key" || exit 1
        chown -R "$a" "$T/keys/$a"
        echo "$a namespaces=\"pam-jit-approval\" $(cat "$T/keys/$a/key.pub")" >>"$T/signers/allowed_signers"
done
chmod 0644 "$T/signers/allowed_signers"

declare -A CONNINFO PW
for h in $HOSTS; do
        d=$T/h/$h
        mkdir -p "$d/db" "$d/pam" "$d/sudoers.d"
        chmod 0755 "$T/h" "$d"
        chmod 0750 "$d/sudoers.d"
        out=$(admin fleet add-host "$h" -D "$ADMIN" --password-file "$d/password") ||
                { not_ok "fleet add-host $h" "$out"; finish; exit; }
        CONNINFO[$h]=$(sed -n 's/^database = //p' <<<"$out")
        # shellcheck disable=SC2034 # read by as_host (tests/fleet_lib.sh)
        PW[$h]=$(cat "$d/password")
        cat >"$d/jitd.conf" <<EOF2
[jitd]
socket = $d/jitd.sock
database = $d/db/jitd.db
sudoers_dir = $d/sudoers.d
host = $h
teardown = ${JIT_FLEET_TEARDOWN:-pidfd}
admin_group = jt_admins

[role:churn]
members = %jt_webops
hosts = web-*, db-*
approval = peer
approvers = jt_bob, jt_eve
ticket = optional
max_duration = 4h

[fleet]
database = ${CONNINFO[$h]}
password_file = $d/password
sync = 1s
allowed_signers = $T/signers/allowed_signers
EOF2
        chmod 0644 "$d/jitd.conf"
        cat >"$d/pam/sudo" <<EOF2
account  required $T/bin/pam_jit.so socket=$d/jitd.sock
account  required pam_permit.so
EOF2
done
CLEANUP_HOOKS=(hosts_stop "${CLEANUP_HOOKS[@]}")
for h in $HOSTS; do
        host_start "$h" || { not_ok "jitd starts on $h with [fleet]"; finish; exit; }
done
st() { "$T/bin/jitctl" -s "$T/h/$1/jitd.sock" status; }
status_has() { local out; out=$(st "$1" 2>&1); grep -q "$2" <<<"$out"; }
all_connected() { local h; for h in $HOSTS; do status_has "$h" '^fleet: connected' || return 1; done; }
wait_for 15 all_connected && ok "three hosts (web-01, web-02, db-01) connected to the fleet" ||
        { not_ok "the hosts connect" "$(for h in $HOSTS; do st "$h" 2>&1 | grep fleet; done)"; finish; exit; }

jc_on() {  # jc_on HOST USER ARGS...: jitctl as USER against HOST's jitd
        local h=$1 u=$2; shift 2
        runuser -u "$u" -- "$T/bin/jitctl" -s "$T/h/$h/jitd.sock" "$@"
}
host_db() { sqlite3 -separator $'\t' "$T/h/$1/db/jitd.db" "$2"; }

# ---- the command log ---------------------------------------------------------------------------
#
# run_op LOG OP VERB HOST ACTOR GRANT ARG CMD...: jitctl CMD as ACTOR on HOST,
# and one line in LOG: op, start and end (ms), verb, host, actor, fleet grant
# (its number; a request's from its answer), arg (the request's or revoke's reason, which
# is unique: it finds the rows the command wrote), exit status, the answer on
# one line. Sets OP_RC, OP_OUT, OP_GID.
run_op() {
        local log=$1 op=$2 verb=$3 h=$4 u=$5 g=$6 arg=$7 t0 t1
        shift 7
        t0=$(now_ms)
        OP_OUT=$(jc_on "$h" "$u" "$@" 2>&1)
        OP_RC=$?
        t1=$(now_ms)
        OP_OUT=${OP_OUT//$'\n'/ \/ }
        OP_OUT=${OP_OUT//$'\t'/ }
        OP_OUT=${OP_OUT//\\/\/}
        OP_GID=$g
        if [ "$verb" = request ]; then
                OP_GID=
                [ "$OP_RC" = 0 ] && OP_GID=$(grep -oE 'fleet grant F[0-9]+ for' <<<"$OP_OUT" | head -n 1 | grep -oE '[0-9]+')
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$op" "$t0" "$t1" "$verb" "$h" "$u" "${OP_GID:-\\N}" \
                "$arg" "$OP_RC" "$OP_OUT" >>"$log"
}

# ---- the drivers -------------------------------------------------------------------------------

SCOPES=(default 'web-*' web-01 web-02 db-01 'web-02,db-01')
SHORT_UNTIL_MS=12000            # 10 s grants asked for until then,
SHORT_APPROVE_UNTIL_MS=15000    # and approved until then: all expired before the checks

# drive NAME SEED USER...: churn until $T/stop exists; hold still while
# $T/pause exists (saying so with $T/paused.NAME).
drive() {
        local name=$1 n=0 r el u h g a scope dur
        RANDOM=$2
        shift 2
        local users=("$@") log=$T/ops.$name gids=() open=() long=() avail=() args=()
        local -A asked=() owner=() short=() ended=() by=()
        while [ ! -e "$T/stop" ]; do
                if [ -e "$T/pause" ]; then
                        : >"$T/paused.$name"
                        sleep 0.05
                        continue
                fi
                n=$((n + 1))
                el=$(( $(now_ms) - CHURN_T0 ))
                h=${HOST_LIST[RANDOM % 3]}
                r=$((RANDOM % 100))
                # Open as far as this driver knows; the 10 s ones are mostly
                # left to expire (releases never pick them, revokes seldom).
                open=()
                for g in "${gids[@]}"; do [ -z "${ended[$g]:-}" ] && open+=("$g"); done
                long=()
                for g in "${open[@]}"; do [ -z "${short[$g]:-}" ] && long+=("$g"); done
                if [ "$r" -lt 32 ]; then
                        avail=()
                        for u in "${users[@]}"; do [ "${asked[$u]:-0}" -lt 8 ] && avail+=("$u"); done
                        if [ "${#avail[@]}" -gt 0 ]; then
                                u=${avail[RANDOM % ${#avail[@]}]}
                                scope=${SCOPES[RANDOM % ${#SCOPES[@]}]}
                                dur=1h
                                [ "$el" -lt "$SHORT_UNTIL_MS" ] && [ $((RANDOM % 3)) = 0 ] && dur=10s
                                args=(request -r churn -d "$dur" -m "churn $name-$n")
                                [ "$scope" != default ] && args+=(-H "$scope")
                                run_op "$log" "$name-$n" request "$h" "$u" '' "churn $name-$n" "${args[@]}"
                                if [ -n "$OP_GID" ]; then
                                        gids+=("$OP_GID")
                                        owner[$OP_GID]=$u
                                        [ "$dur" = 10s ] && short[$OP_GID]=1
                                fi
                                # Recorded, or maybe: it counts against the limit.
                                [ -n "$OP_GID" ] || grep -q 'may or may not' <<<"$OP_OUT" &&
                                        asked[$u]=$(( ${asked[$u]:-0} + 1 ))
                        fi
                elif [ "$r" -lt 64 ]; then
                        local cand=()
                        for g in "${open[@]}"; do
                                [ -n "${short[$g]:-}" ] && [ "$el" -ge "$SHORT_APPROVE_UNTIL_MS" ] && continue
                                [[ "${by[$g]:-}" == *jt_bob*jt_eve* || "${by[$g]:-}" == *jt_eve*jt_bob* ]] && continue
                                cand+=("$g")
                        done
                        if [ "${#cand[@]}" -gt 0 ]; then
                                g=${cand[RANDOM % ${#cand[@]}]}
                                a=jt_bob
                                [ $((RANDOM % 2)) = 0 ] && a=jt_eve
                                [[ "${by[$g]:-}" == *"$a"* ]] && { [ "$a" = jt_bob ] && a=jt_eve || a=jt_bob; }
                                run_op "$log" "$name-$n" approve "$h" "$a" "$g" "" \
                                        approve "F$g" --key "$T/keys/$a/key" -m "churn $name-$n"
                                [ "$OP_RC" = 0 ] && by[$g]="${by[$g]:-} $a"
                        fi
                elif [ "$r" -lt 80 ]; then
                        if [ "${#gids[@]}" -gt 0 ]; then
                                g=${gids[RANDOM % ${#gids[@]}]}
                                [ "${#long[@]}" -gt 0 ] && [ $((RANDOM % 5)) != 0 ] && g=${long[RANDOM % ${#long[@]}]}
                                run_op "$log" "$name-$n" revoke "$h" jt_dave "$g" "churn $name-$n" \
                                        revoke "F$g" -m "churn $name-$n"
                                [ "$OP_RC" = 0 ] && ended[$g]=1
                        fi
                elif [ "$r" -lt 94 ]; then
                        if [ "${#long[@]}" -gt 0 ]; then
                                g=${long[RANDOM % ${#long[@]}]}
                                run_op "$log" "$name-$n" release "$h" "${owner[$g]}" "$g" "" release "F$g"
                                [ "$OP_RC" = 0 ] && ended[$g]=1
                        fi
                else
                        run_op "$log" "$name-$n" list "$h" "${users[RANDOM % ${#users[@]}]}" '' '' list
                fi
                sleep "0.$(( RANDOM % 3 + 1 ))"
        done
}

DRIVERS=()
pause_drivers() {
        local name
        rm -f "$T"/paused.*
        : >"$T/pause"
        for name in A B; do
                wait_for 20 test -e "$T/paused.$name" || echo "# driver $name did not pause"
        done
}
resume_drivers() { rm -f "$T/pause" "$T"/paused.*; }

# sleep_until MS: until MS after the churn began.
sleep_until() {
        local left=$(( $1 - ($(now_ms) - CHURN_T0) ))
        [ "$left" -gt 0 ] && sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))"
        return 0
}
since() { echo $(( $(now_ms) - CHURN_T0 )); }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# abort WHY: the story cannot go on (the drivers stop first).
abort() {
        local p
        not_ok "$1" "${2:-}"
        : >"$T/stop"
        rm -f "$T/pause"
        for p in "${DRIVERS[@]}"; do wait "$p"; done
        finish
        exit
}
# crash WHAT: the postmaster and its children SIGKILLed.
crash() {
        echo "# $(since) ms: PostgreSQL SIGKILLed ($1)"
        pg_crash || abort "PostgreSQL is killed ($1)"
}
# restart: started again, and the churn goes on once every host is back (so
# that the next outage begins from a short reconnection backoff).
restart() {
        pg_restart || abort "PostgreSQL starts again after the crash"
        echo "# $(since) ms: PostgreSQL restarted (crash recovery done)"
        wait_for 40 all_connected || abort "every host reconnects within 40 s of the restart" \
                "$(for h in $HOSTS; do st "$h" 2>&1 | grep fleet; done)"
        echo "# $(since) ms: every host is connected again"
}

# A synchronous standby that never connects: every commit from now on is
# flushed to the WAL, then waits for its acknowledgement. Only the next one
# gets that far: the others queue behind jit.record_change's advisory lock.
hold_commits() {
        fleet_sql -c "ALTER SYSTEM SET synchronous_standby_names = 'jit_story_nobody'" -c "SELECT pg_reload_conf()" \
                >/dev/null
        wait_for 5 syncrep_on || echo "# synchronous_standby_names is not in effect"
}
syncrep_on() { [ "$(fleet_sql -c 'SHOW synchronous_standby_names')" = jit_story_nobody ]; }
# waiting FUNCTION: a statement calling jit.FUNCTION waits so (the hosts'
# audit uploads commit too, and may wait as well).
waiting() {
        [ "$(fleet_sql -c "SELECT count(*) FROM pg_stat_activity
                           WHERE wait_event = 'SyncRep' AND query LIKE '%jit.$1(%'")" -ge 1 ]
}
# Gone from the file, still in force: the next start has no standby to wait for.
unhold_at_restart() { fleet_sql -c "ALTER SYSTEM RESET synchronous_standby_names" >/dev/null; }

# ---- the churn -----------------------------------------------------------------------------------

CHURN_T0=$(now_ms)
drive A $((SEED * 10 + 1)) "${USERS[@]:0:5}" & DRIVERS+=($!)
drive B $((SEED * 10 + 2)) "${USERS[@]:5:5}" & DRIVERS+=($!)

# 1. A random moment.
sleep_until $((3000 + RANDOM % 3000))
crash "1, at a random moment"
sleep "$((1 + RANDOM % 3))"
restart

# 2. An approval whose commit is in the WAL but whose answer is lost.
sleep_until $(( $(since) + 3000 ))
pause_drivers
run_op "$T/ops.M" M-1 request web-01 jt_m1 '' "churn M-1" request -r churn -H 'web-*' -d 1h -m "churn M-1"
GL=$OP_GID
[ -n "$GL" ] || abort "jt_m1's request for step 2" "$OP_OUT"
hold_commits
run_op "$T/ops.M" M-2 approve web-02 jt_bob "$GL" '' approve "F$GL" --key "$T/keys/jt_bob/key" -m "churn M-2" &
approver=$!
if wait_for 8 waiting approve_grant; then
        ok "step 2: jt_bob's approval of fleet grant F$GL is committed in the WAL, waiting for its acknowledgement"
else
        not_ok "step 2: the approval waits for its commit's acknowledgement" \
                "$(fleet_sql -c "SELECT pid, wait_event, left(query, 60) FROM pg_stat_activity")"
fi
unhold_at_restart
crash "2, with an approval's answer in flight"
wait "$approver"
resume_drivers
sleep 2
restart

# 3. A grant enforced on web-01 while web-02 is stopped; revoked on web-02
#    with the database down; then 5 s of the jitds with the database down.
sleep_until $(( $(since) + 3000 ))
pause_drivers
kill -STOP "${PID[web-02]}"
run_op "$T/ops.M" M-3 request web-01 jt_m1 '' "churn M-3" request -r churn -H 'web-*' -d 1h -m "churn M-3"
GS=$OP_GID
[ -n "$GS" ] || abort "jt_m1's request for step 3" "$OP_OUT"
run_op "$T/ops.M" M-4 approve web-01 jt_eve "$GS" '' approve "F$GS" --key "$T/keys/jt_eve/key" -m "churn M-4"
linked() { [ "$(host_db "$1" "SELECT count(*) FROM fleet_grants WHERE fleet_id = $2")" = 1 ]; }
wait_for 5 linked web-01 "$GS" || not_ok "step 3: web-01 enforces fleet grant F$GS" "$OP_OUT"
crash "3, with web-02 stopped"
kill -CONT "${PID[web-02]}"
wait_for 10 status_has web-02 '^fleet: unreachable' || not_ok "step 3: web-02 sees the outage" "$(st web-02 2>&1)"
run_op "$T/ops.M" M-5 revoke web-02 jt_dave "$GS" "churn M-5" revoke "F$GS" -m "churn M-5"
if [ "$OP_RC" = 0 ] && grep -q "not enforced on host web-02.*the fleet end is queued here" <<<"$OP_OUT"; then
        ok "step 3: jt_dave revokes fleet grant F$GS on web-02 (which never saw its approval) with the database down: queued"
else
        not_ok "step 3: the revoke on web-02 is queued" "$OP_OUT"
fi
declare -A CPU0
for h in $HOSTS; do CPU0[$h]=$(cpu_ticks "${PID[$h]}"); done
sleep 5
spin=
for h in $HOSTS; do
        used=$(( $(cpu_ticks "${PID[$h]}") - CPU0[$h] ))
        spin+="$h $((used * 10)) ms, "
        [ "$used" -le 50 ] || bad_cpu=1
done
if [ -z "${bad_cpu:-}" ]; then
        ok "the jitds used little CPU in 5 s with the database down (no spin): ${spin%, } (bound 500 ms each)"
else
        not_ok "CPU used in 5 s with the database down (bound 500 ms each)" "${spin%, }"
fi
resume_drivers
sleep 1
restart

# 4. A random moment.
sleep_until $(( $(since) + 3000 + RANDOM % 3000 ))
crash "4, at a random moment"
sleep "$((1 + RANDOM % 3))"
restart

# 5. A revoke --user --all whose commit is in the WAL but whose answer is lost.
sleep_until $(( $(since) + 2000 ))
pause_drivers
hold_commits
run_op "$T/ops.M" M-6 revoke-all db-01 jt_dave '' "churn M-6" revoke --user jt_m1 --all -m "churn M-6" &
revoker=$!
if wait_for 8 waiting end_grant; then
        ok "step 5: jt_dave's revoke --user jt_m1 --all is committed in the WAL, waiting for its acknowledgement"
else
        not_ok "step 5: the revoke --all waits for its commit's acknowledgement" \
                "$(fleet_sql -c "SELECT pid, wait_event, left(query, 60) FROM pg_stat_activity")"
fi
unhold_at_restart
crash "5, with a revoke --all's answer in flight"
wait "$revoker"
resume_drivers
sleep 1
restart

sleep 2
: >"$T/stop"
for p in "${DRIVERS[@]}"; do wait "$p"; done
CHURN_MS=$(since)
cat "$T"/ops.* >"$T/ops.tsv"
echo "# churn: $(wc -l <"$T/ops.tsv") commands in $CHURN_MS ms; $(cut -f4 "$T/ops.tsv" | sort | uniq -c | tr -s ' ' | tr '\n' ',')"

# ---- convergence ---------------------------------------------------------------------------------
#
# Every host has sent every end it queued and applied every change: read in
# that order, so no write can come after (the drivers have stopped).
converged() {
        local h max
        for h in $HOSTS; do
                [ "$(host_db "$h" "SELECT (SELECT count(*) FROM fleet_ends) + (SELECT count(*) FROM fleet_user_ends)")" = 0 ] ||
                        return 1
        done
        max=$(fleet_sql -c "SELECT coalesce(max(seq), 0) FROM jit.changes") || return 1
        for h in $HOSTS; do
                [ "$(host_db "$h" "SELECT coalesce((SELECT last_seq FROM fleet_state), 0)")" = "$max" ] || return 1
        done
}
t0=$(now_ms)
# A reconnection (at most a few seconds after short outages), then a sync
# (1 s) or a notification: 30 s is generous.
if wait_for 30 converged; then
        ok "every host sent its queued ends and applied every change within $(( $(now_ms) - t0 )) ms"
else
        not_ok "every host converges within 30 s" "$(for h in $HOSTS; do
                echo "$h: $(st "$h" 2>&1 | grep fleet); queued ends: $(host_db "$h" "SELECT group_concat(fleet_id) FROM fleet_ends"),$(host_db "$h" "SELECT group_concat(user) FROM fleet_user_ends")"
                done; echo "fleet: last change $(fleet_sql -c "SELECT max(seq) FROM jit.changes")")"
fi

# ---- the story's tables: the command log and each host's state -----------------------------------

fleet_sql -c "CREATE SCHEMA story" -c "
CREATE TABLE story.ops (op text, t0 bigint, t1 bigint, verb text, host text, actor text, gid bigint, arg text,
                        rc int, msg text);
CREATE TABLE story.hosts (name text);
CREATE TABLE story.local (host text, fleet_id bigint, local_id bigint, state text, user_name text, made bigint);
CREATE TABLE story.orphans (host text, local_id bigint, state text, reason text);
CREATE TABLE story.dropins (host text, file text, local_id bigint);
CREATE TABLE story.pam (host text, user_name text, ok boolean);
CREATE TABLE story.seqs (host text, last_seq bigint);
CREATE TABLE story.queue (host text, fleet_id bigint);
CREATE TABLE story.refused (host text, fleet_id bigint, why text, n int);
CREATE TABLE story.dups (host text, grant_id bigint, event text, n int);" >/dev/null ||
        { not_ok "the story's tables"; finish; exit; }
fleet_sql -c "\\copy story.ops FROM '$T/ops.tsv'" >/dev/null || not_ok "the command log loads"
for h in $HOSTS; do
        d=$T/h/$h
        {
                echo "$h"
        } >"$T/load.hosts.$h"
        host_db "$h" "SELECT '$h', f.fleet_id, g.id, g.state, g.user, g.requested_at
                      FROM fleet_grants f JOIN grants g ON g.id = f.grant_id" \
                >"$T/load.local.$h"
        host_db "$h" "SELECT '$h', id, state, reason FROM grants WHERE id NOT IN (SELECT grant_id FROM fleet_grants)" \
                >"$T/load.orphans.$h"
        for f in "$d"/sudoers.d/*; do
                [ -e "$f" ] || continue
                b=${f##*/}
                id=${b#jit-}
                [[ "$id" =~ ^[0-9]+$ ]] || id='\N'
                printf '%s\t%s\t%s\n' "$h" "$b" "$id"
        done >"$T/load.dropins.$h"
        for u in "${USERS[@]}" jt_m1; do
                if "$T/bin/pamcheck" "$d/pam" sudo "$u" >/dev/null 2>&1; then r=t; else r=f; fi
                printf '%s\t%s\t%s\n' "$h" "$u" "$r"
        done >"$T/load.pam.$h"
        host_db "$h" "SELECT '$h', coalesce((SELECT last_seq FROM fleet_state), 0)" >"$T/load.seqs.$h"
        host_db "$h" "SELECT '$h', fleet_id FROM fleet_ends UNION ALL SELECT '$h', NULL FROM fleet_user_ends" \
                >"$T/load.queue.$h"
        host_db "$h" "SELECT '$h', json_extract(details, '\$.fleet_grant'), json_extract(details, '\$.why'), count(*)
                      FROM audit WHERE event = 'fleet-refused' GROUP BY 2, 3" >"$T/load.refused.$h"
        host_db "$h" "SELECT '$h', grant_id, event, count(*) FROM audit WHERE grant_id IS NOT NULL
                      GROUP BY grant_id, event HAVING count(*) > 1" >"$T/load.dups.$h"
        for tbl in hosts local orphans dropins pam seqs queue refused dups; do
                fleet_sql -c "\\copy story.$tbl FROM '$T/load.$tbl.$h'" >/dev/null || not_ok "$h's $tbl loads"
        done
done

# What each command's answer says, as a class: ack (done), unknown (said to
# be unknown), none (said not done), first / already / queued (an end: this
# one ended it, it had ended, it is queued here), ok (a list), odd (anything
# else: not a clear line).
fleet_sql -c "
CREATE VIEW story.ops_c AS SELECT o.*, CASE
  WHEN verb = 'request' AND rc = 0 AND gid IS NOT NULL
       AND msg ~ 'fleet grant F[0-9]+ for churn on hosts [^ ]+ for [0-9a-z]+ is pending' THEN 'ack'
  WHEN verb IN ('request', 'approve') AND rc <> 0 AND msg ~ 'may or may not be recorded' THEN 'unknown'
  WHEN verb = 'revoke-all' AND rc = 0 AND msg ~ 'fleet grants? revoked in the fleet' THEN 'first'
  WHEN verb = 'revoke-all' AND rc = 0 AND msg ~ 'the fleet-wide revocation (stays|is) queued here' THEN 'queued'
  WHEN verb = 'revoke-all' AND rc <> 0 AND msg ~ 'nothing was ended in the fleet' THEN 'none'
  WHEN verb = 'request' AND rc <> 0
       AND msg ~ '(the fleet database is unreachable|fleet grants in the last 10 minutes already); nothing was requested'
       THEN 'none'
  WHEN verb = 'approve' AND rc = 0 AND msg ~ 'fleet grant F[0-9]+ approved by ' THEN 'ack'
  WHEN verb = 'approve' AND rc <> 0 AND msg ~ '(nothing was approved|fleet grant F[0-9]+ has ended \\()' THEN 'none'
  WHEN verb IN ('revoke', 'release') AND rc = 0 AND msg ~ '(revoked|released) in the fleet: ' THEN 'first'
  WHEN verb IN ('revoke', 'release') AND rc = 0 AND msg ~ 'had already ended in the fleet' THEN 'already'
  WHEN verb IN ('revoke', 'release') AND rc = 0 AND msg ~ 'the fleet end (is|stays) queued here' THEN 'queued'
  WHEN verb = 'release' AND rc <> 0 AND msg ~ '(nothing was released|fleet grant F[0-9]+ has ended \\()' THEN 'none'
  WHEN verb = 'list' AND rc = 0 THEN 'ok'
  ELSE 'odd' END AS cls FROM story.ops o;
-- Each grant on each host of its scope: whether it must be enforced there
-- now (open, approved, and before its end: the first approval plus its
-- duration), or must not, or is too close to its end to say.
CREATE VIEW story.want AS
SELECT g.id, h.name AS host, g.user_name, g.state, e.ends_at,
       CASE WHEN g.state <> 'open' OR e.ends_at IS NULL OR e.ends_at < s.now - 3 THEN 'no'
            WHEN e.ends_at > s.now + 5 THEN 'yes' ELSE 'borderline' END AS enforce
FROM jit.grants g CROSS JOIN story.hosts h
CROSS JOIN (SELECT floor(date_part('epoch', now()))::bigint AS now) s
LEFT JOIN LATERAL (SELECT floor(date_part('epoch', min(a.approved_at)))::bigint + g.duration AS ends_at
                   FROM jit.approvals a WHERE a.grant_id = g.id) e ON true
WHERE EXISTS (SELECT 1 FROM pg_catalog.unnest(g.host_scope) p WHERE h.name LIKE replace(p, '*', '%'));" >/dev/null ||
        not_ok "the story's views"

# check DESCRIPTION SQL: passes when SQL finds no row; else prints them.
check() {
        local rows rc
        rows=$(fleet_sql -c "$2" 2>&1)
        rc=$?
        if [ "$rc" -ne 0 ]; then
                not_ok "$1" "the query failed: $rows"
        elif [ -z "$rows" ]; then
                ok "$1"
        else
                not_ok "$1" "$(head -n 30 <<<"$rows")$( [ "$(wc -l <<<"$rows")" -gt 30 ] && echo $'\n'"... $(wc -l <<<"$rows") rows")"
        fi
}
count() { fleet_sql -c "$1"; }

echo "# answers: $(count "SELECT string_agg(verb || ' ' || cls || ' ' || n, ', ' ORDER BY verb, cls)
                            FROM (SELECT verb, cls, count(*) n FROM story.ops_c GROUP BY 1, 2) x")"
echo "# fleet: $(count "SELECT count(*) || ' grants (' || count(*) FILTER (WHERE state = 'open') || ' open), '
                        || (SELECT count(*) FROM jit.approvals) || ' approvals, '
                        || (SELECT count(*) FROM jit.revocations) || ' ends, last change '
                        || (SELECT max(seq) FROM jit.changes) FROM jit.grants")"
echo "# to enforce now: $(count "SELECT coalesce(string_agg(host || ' ' || n, ', '), 'none')
                                 FROM (SELECT host, count(*) n FROM story.want WHERE enforce = 'yes' GROUP BY 1) x")"
[ "$(count "SELECT count(*) FROM story.ops_c WHERE verb IN ('request', 'approve', 'revoke', 'release')
                                                AND cls IN ('ack', 'first')")" -ge 20 ] &&
        ok "the churn did something: at least 20 requests, approvals and ends acknowledged" ||
        not_ok "too little churn acknowledged" "$(count "SELECT verb, cls, count(*) FROM story.ops_c GROUP BY 1, 2")"
[ "$(count "SELECT count(*) FROM story.ops_c WHERE cls IN ('none', 'unknown', 'queued')")" -ge 3 ] &&
        ok "... and some commands met the database down" ||
        not_ok "no command met an outage" "$(count "SELECT verb, cls, count(*) FROM story.ops_c GROUP BY 1, 2")"

# ---- the answers ---------------------------------------------------------------------------------

check "every answer is a clear line: done, not done, unknown, or queued (never anything else)" \
        "SELECT op, verb, host, actor, gid, rc, msg FROM story.ops_c WHERE cls = 'odd' ORDER BY t0"

# ---- nothing lost ----------------------------------------------------------------------------------

check "nothing lost: every acknowledged request is in jit.grants, as asked (user, reason)" \
        "SELECT o.op, o.actor, o.gid, o.arg, g.id, g.user_name, g.reason FROM story.ops_c o
         LEFT JOIN jit.grants g ON g.id = o.gid
         WHERE o.verb = 'request' AND o.cls = 'ack' AND (g.id IS NULL OR g.user_name <> o.actor OR g.reason <> o.arg)"
check "nothing lost: every acknowledged approval is in jit.approvals" \
        "SELECT o.op, o.host, o.actor, o.gid FROM story.ops_c o WHERE o.verb = 'approve' AND o.cls = 'ack'
         AND NOT EXISTS (SELECT 1 FROM jit.approvals a WHERE a.grant_id = o.gid AND a.approver = o.actor)"
check "nothing lost: every acknowledged revoke and release (ended, already ended, or queued) is recorded in jit.revocations" \
        "SELECT o.op, o.verb, o.host, o.actor, o.gid, o.cls, g.state FROM story.ops_c o LEFT JOIN jit.grants g ON g.id = o.gid
         WHERE o.verb IN ('revoke', 'release') AND o.cls IN ('first', 'already', 'queued')
         AND (g.state IS DISTINCT FROM (SELECT r.kind FROM jit.revocations r WHERE r.grant_id = o.gid))"
check "an end answered as the one that ended the grant is the one recorded" \
        "SELECT o.op, o.verb, o.host, o.actor, o.gid, o.arg, r.kind, r.by_user, r.host, r.reason FROM story.ops_c o
         LEFT JOIN jit.revocations r ON r.grant_id = o.gid WHERE o.verb IN ('revoke', 'release') AND o.cls = 'first'
         AND NOT (o.verb = 'revoke' AND r.kind = 'revoked' AND r.reason = o.arg AND r.by_user = o.actor AND r.host = o.host
               OR o.verb = 'release' AND r.kind = 'released' AND r.by_user = o.actor AND r.host = o.host)"
check "an end answered 'had already ended' is not the one recorded" \
        "SELECT o.op, o.host, o.gid, o.arg, r.reason FROM story.ops_c o JOIN jit.revocations r ON r.grant_id = o.gid
         WHERE o.cls = 'already' AND o.verb = 'revoke' AND r.reason = o.arg"

# ---- what was said not to happen did not happen -----------------------------------------------------

check "a request answered 'nothing was requested' left no grant" \
        "SELECT o.op, o.host, o.actor, o.msg, g.id FROM story.ops_c o JOIN jit.grants g ON g.reason = o.arg
         WHERE o.verb = 'request' AND o.cls = 'none'"
check "an approval answered 'nothing was approved' left no approval (of that approver, no other attempt of whom was acknowledged or unknown)" \
        "SELECT o.op, o.host, o.actor, o.gid, o.msg, a.host AS recorded_on, a.approved_at FROM story.ops_c o
         JOIN jit.approvals a ON a.grant_id = o.gid AND a.approver = o.actor
         WHERE o.verb = 'approve' AND o.cls = 'none'
         AND NOT EXISTS (SELECT 1 FROM story.ops_c p WHERE p.verb = 'approve' AND p.gid = o.gid AND p.actor = o.actor
                         AND p.cls IN ('ack', 'unknown'))"
check "a release answered 'nothing was released' left no release by that user on that host" \
        "SELECT o.op, o.host, o.actor, o.gid, o.msg FROM story.ops_c o
         JOIN jit.revocations r ON r.grant_id = o.gid AND r.kind = 'released' AND r.by_user = o.actor AND r.host = o.host
         WHERE o.verb = 'release' AND o.cls = 'none'
         AND NOT EXISTS (SELECT 1 FROM story.ops_c p WHERE p.verb = 'release' AND p.gid = o.gid AND p.actor = o.actor
                         AND p.host = o.host AND p.cls IN ('first', 'queued'))"
check "a revoke --all answered 'nothing was ended in the fleet' ended nothing there" \
        "SELECT o.op, o.host, o.msg, r.grant_id FROM story.ops_c o JOIN jit.revocations r ON r.reason = o.arg
         WHERE o.verb = 'revoke-all' AND o.cls = 'none'"
# Step 2's approval: committed, its answer lost.
row=$(count "SELECT o.cls || ' ' || (SELECT count(*) FROM jit.approvals a WHERE a.grant_id = o.gid AND a.approver = 'jt_bob')
             FROM story.ops_c o WHERE o.op = 'M-2'")
if [ "$row" = "unknown 1" ]; then
        ok "step 2: the approval whose answer was lost is recorded, and jt_bob was told the outcome was unknown"
else
        not_ok "step 2: the approval whose answer was lost (answer class, approvals recorded: $row)" \
                "$(count "SELECT rc, msg FROM story.ops WHERE op = 'M-2'")"
fi

# Step 5's revoke --all: committed, its answer lost, queued on db-01 (and
# sent again, to no further effect).
row=$(count "SELECT o.cls || ' ' || coalesce((SELECT r.kind || ' ' || r.by_user || ' ' || r.host FROM jit.revocations r
                                              WHERE r.grant_id = ${GL:-0} AND r.reason = o.arg), 'not ended')
             FROM story.ops_c o WHERE o.op = 'M-6'")
if [ "$row" = "queued revoked jt_dave db-01" ]; then
        ok "step 5: the revoke --all whose answer was lost ended fleet grant F$GL, and jt_dave was told it stays queued"
else
        not_ok "step 5: the revoke --all whose answer was lost (answer class, end of F$GL: $row)" \
                "$(count "SELECT rc, msg FROM story.ops WHERE op = 'M-6'")"
fi

# ---- nothing duplicated ------------------------------------------------------------------------------

check "nothing duplicated: one grant per request, and none that nobody asked for" \
        "SELECT g.reason, count(*), string_agg(g.id::text, ',') FROM jit.grants g GROUP BY g.reason
         HAVING count(*) > 1 OR NOT EXISTS (SELECT 1 FROM story.ops o WHERE o.verb = 'request' AND o.arg = g.reason)"
check "nothing duplicated: per grant one 'requested' change, one 'approved' per approval, one 'ended' iff it ended" \
        "SELECT * FROM (SELECT g.id, g.state,
                (SELECT count(*) FROM jit.changes c WHERE c.grant_id = g.id AND c.kind = 'requested') AS requested,
                (SELECT count(*) FROM jit.changes c WHERE c.grant_id = g.id AND c.kind = 'approved') AS approved,
                (SELECT count(*) FROM jit.approvals a WHERE a.grant_id = g.id) AS approvals,
                (SELECT count(*) FROM jit.changes c WHERE c.grant_id = g.id AND c.kind = 'ended') AS ended
                FROM jit.grants g) x
         WHERE requested <> 1 OR approved <> approvals OR ended <> (state <> 'open')::int"
check "nothing duplicated: every local grant on each host is one fleet grant's copy (linked once, none unlinked)" \
        "SELECT 'unlinked' AS what, host, local_id, state, reason FROM story.orphans
         UNION ALL SELECT 'twice', host, fleet_id, count(*)::text, '' FROM story.local GROUP BY host, fleet_id HAVING count(*) > 1"
check "nothing duplicated: no audit event twice for one local grant, on any host" \
        "SELECT host, grant_id, event, n FROM story.dups"
check "fleet-refused at most once per grant and reason, and only for a grant whose time was over when the host learned of it" \
        "SELECT host, fleet_id, why, n FROM story.refused WHERE n > 1 OR why NOT LIKE 'its time was over%'"

# ---- every host converges -----------------------------------------------------------------------------

echo "# too close to their end to judge: $(count "SELECT count(*) FROM story.want WHERE enforce = 'borderline'")"
check "every host enforces (local grant active, drop-in) each open, approved, unexpired grant of its scope, and no other" \
        "SELECT w.host, w.id, w.user_name, w.state, w.enforce, w.ends_at, l.local_id, l.state AS local_state,
                d.file AS dropin FROM story.want w
         LEFT JOIN story.local l ON l.host = w.host AND l.fleet_id = w.id
         LEFT JOIN story.dropins d ON d.host = w.host AND d.local_id = l.local_id
         WHERE (w.enforce = 'yes' AND (l.state IS DISTINCT FROM 'active' OR d.file IS NULL))
            OR (w.enforce = 'no' AND (d.file IS NOT NULL OR l.state IN ('pending', 'scheduled', 'active')))
         ORDER BY w.id, w.host"
check "no drop-in but those of grants to enforce" \
        "SELECT d.host, d.file, l.fleet_id, w.enforce FROM story.dropins d
         LEFT JOIN story.local l ON l.host = d.host AND l.local_id = d.local_id
         LEFT JOIN story.want w ON w.host = d.host AND w.id = l.fleet_id
         WHERE w.enforce IS NULL OR w.enforce = 'no'"
check "no host has a copy of a grant outside its scope" \
        "SELECT l.host, l.fleet_id, l.local_id, l.state, g.host_scope FROM story.local l
         LEFT JOIN jit.grants g ON g.id = l.fleet_id
         WHERE NOT EXISTS (SELECT 1 FROM story.want w WHERE w.host = l.host AND w.id = l.fleet_id)"
check "PAM on every host allows exactly the users with a grant to enforce there" \
        "SELECT p.host, p.user_name, p.ok AS pam_allows, coalesce(bool_or(w.enforce = 'yes'), false) AS should
         FROM story.pam p LEFT JOIN story.want w ON w.host = p.host AND w.user_name = p.user_name
         GROUP BY p.host, p.user_name, p.ok
         HAVING p.ok IS DISTINCT FROM coalesce(bool_or(w.enforce = 'yes'), false)
            AND NOT coalesce(bool_or(w.enforce = 'borderline'), false)"
check "each host's applied change is the fleet's last, and its queue of ends is empty" \
        "SELECT s.host, s.last_seq, (SELECT max(seq) FROM jit.changes) AS fleet_last,
                (SELECT string_agg(coalesce(q.fleet_id::text, 'a user'), ',') FROM story.queue q WHERE q.host = s.host) AS queued
         FROM story.seqs s WHERE s.last_seq <> (SELECT max(seq) FROM jit.changes)
            OR EXISTS (SELECT 1 FROM story.queue q WHERE q.host = s.host)"
# (A copy made in the second the command ended is not counted: whole seconds.)
check "a host that ended a grant it did not enforce (revoke or release) never enforced it afterwards" \
        "SELECT o.op, o.verb, o.host, o.gid, o.cls, o.t1 / 1000 AS answered, l.local_id, l.made, l.state
         FROM story.ops_c o JOIN story.local l ON l.host = o.host AND l.fleet_id = o.gid
         WHERE o.verb IN ('revoke', 'release') AND o.cls IN ('first', 'already', 'queued')
         AND o.msg ~ ('not enforced on host ' || o.host)
         AND l.made > o.t1 / 1000"
[ "$(host_db web-02 "SELECT count(*) FROM fleet_grants WHERE fleet_id = ${GS:-0}")" = 0 ] &&
        ok "step 3: web-02 never enforced fleet grant F$GS, revoked there before it learned of the approval" ||
        not_ok "step 3: web-02 enforced fleet grant F$GS after jt_dave revoked it there" \
                "$(host_db web-02 "SELECT a.seq, datetime(a.at, 'unixepoch'), a.event, a.details FROM audit a
                                   JOIN fleet_grants f ON f.grant_id = a.grant_id WHERE f.fleet_id = ${GS:-0}")"

# ---- (audit uploads, issue 14 item 6, go here: each event of each host's chain in jit.audit once, in order) ----

# ---- each host's health --------------------------------------------------------------------------------

# With [fleet], audit verify goes on with every host's chain as uploaded:
# only the host's own (its first line) is this story's; the rest is shown.
for h in $HOSTS; do
        out=$("$T/bin/jitctl" -s "$T/h/$h/jitd.sock" audit verify 2>&1)
        if grep -qE '^audit chain intact: [0-9]+ events verified' <<<"$(head -n 1 <<<"$out")"; then
                ok "$h's own audit chain verifies: $(head -n 1 <<<"$out")"
        else
                not_ok "$h's own audit chain verifies" "$out"
        fi
        [ "$h" = web-01 ] && sed -n '2,$s/^/# fleet copy: /p' <<<"$out"
done
dead=
for h in $HOSTS; do kill -0 "${PID[$h]}" 2>/dev/null || dead+=" $h"; done
[ -z "$dead" ] && ok "the three jitds are alive after the churn and five crashes" || not_ok "jitd died on:$dead"

echo "# seed $SEED; churn $CHURN_MS ms; the story $(( ($(now_ms) - STORY_T0) / 1000 )) s"
finish
