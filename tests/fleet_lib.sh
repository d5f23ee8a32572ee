# Shared by the fleet stories (fleet_mirror.sh, fleet_verbs.sh, fleet_cert.sh,
# fleet_ticket.sh, fleet_churn.sh): start and stop the hosts' jitds, and look
# at one host. They use the story's T, HOSTS, PID, CONNINFO and PW.
# shellcheck shell=bash
# shellcheck disable=SC2154,SC2004 # T, HOSTS, CONNINFO, PW and PID (an associative array) are the story's

host_start() {  # host_start NAME
        local d=$T/h/$1
        if [ -n "${JIT_VALGRIND:-}" ]; then     # as jitd_start in tests/lib.sh
                valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
                        --log-file="${JIT_VALGRIND_LOG:-$T/valgrind}.$1.%p" "$T/bin/jitd" -c "$d/jitd.conf" \
                        2>>"$d/jitd.log" 9>&- &
        else
                "$T/bin/jitd" -c "$d/jitd.conf" 2>>"$d/jitd.log" 9>&- &
        fi
        PID[$1]=$!
        for _ in $(seq 1 400); do
                "$T/bin/jitctl" -s "$d/jitd.sock" status >/dev/null 2>&1 && return 0
                kill -0 "${PID[$1]}" 2>/dev/null || break
                sleep 0.05
        done
        echo "# jitd of $1 did not start:"; sed 's/^/#   /' "$d/jitd.log"
        return 1
}
hosts_stop() {
        local h
        for h in $HOSTS; do
                [ -n "${PID[$h]:-}" ] || continue
                kill -CONT "${PID[$h]}" 2>/dev/null
                kill "${PID[$h]}" 2>/dev/null
                wait "${PID[$h]}" 2>/dev/null
                PID[$h]=
        done
}

as_host() { local h=$1; shift; pg_as "${CONNINFO[$h]}" "${PW[$h]}" "$@"; }
dropins() { find "$T/h/$1/sudoers.d" -maxdepth 1 -type f ! -name '.*' | wc -l; }
has_dropin() { [ "$(dropins "$1")" -gt 0 ]; }
no_dropin() { [ "$(dropins "$1")" -eq 0 ]; }
pam() { "$T/bin/pamcheck" "$T/h/$1/pam" sudo jt_alice; }
refused() {  # refused HOST FLEET_ID: the fleet-refused events about it
        sqlite3 "$T/h/$1/db/jitd.db" \
                "SELECT count(*) FROM audit WHERE event = 'fleet-refused' AND details LIKE '%\"fleet_grant\":$2,%'"
}
refused_is() { [ "$(refused "$1" "$2")" = "$3" ]; }
dropins_are() { [ "$(dropins "$1")" -eq "$2" ]; }
