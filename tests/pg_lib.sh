#!/usr/bin/env bash
# A throw-away PostgreSQL 15 cluster for the fleet stories, after tests/lib.sh
# (it uses $T and the cleanup hooks): initdb as the postgres OS user into
# $T/pg, password (SCRAM) authentication for every role on a Unix socket in
# that directory, no TCP unless asked (PG_TCP), stopped and removed with the story. Nothing
# of the machine's own PostgreSQL (its clusters, /etc/postgresql) is used or
# touched.
#
#   pg_require            SKIP the story (exit 0) when the binaries are missing
#   pg_start [OPTION...]  initdb and start; OPTIONs are postgres -c settings
#                         (all of them in $PG_OPTS after, for a restart). With
#                         PG_TCP=PORT set: also TCP on localhost:PORT (127.0.0.1
#                         and ::1), the socket named for PORT too, and the same
#                         password authentication there; export PGPORT=PORT.
#   pg_super SQL...       psql as the superuser, to database $PG_DB (default postgres)
#   pg_as CONNINFO PASSWORD SQL...   psql with that connection string and password
#   pg_stop               (a cleanup hook: runs at the end by itself)
#   pg_crash              the server dies as in a crash: the postmaster and
#                         every process it started SIGKILLed (nothing flushed,
#                         no shutdown checkpoint), waited for until gone; set
#                         PG_CHILD=1 before pg_start (see pg_launch)
#   pg_restart            start it again on the same data directory with the
#                         same options (crash recovery first, after pg_crash)

PGBIN=${JIT_PGBIN:-/usr/lib/postgresql/15/bin}
PG_DIR=
PG_SUPERPW=
PG_DB=postgres
PG_TCP=${PG_TCP:-}
PG_OPTS=

pg_require() {
        local b
        for b in initdb pg_ctl postgres psql pg_dump; do
                if [ ! -x "$PGBIN/$b" ]; then
                        echo "# SKIP PostgreSQL 15 is not installed ($PGBIN/$b is missing): bash tests/deps.sh installs postgresql-15"
                        exit 0
                fi
        done
        if ! getent passwd postgres >/dev/null; then
                echo "# SKIP there is no postgres user to run the server as (the postgresql-15 package makes it)"
                exit 0
        fi
}

# A password nobody types: hex from the kernel.
pg_random() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

pg_start() {
        local opt opts=()
        PG_DIR=$T/pg
        mkdir -m 0700 "$PG_DIR" || return 1
        PG_SUPERPW=$(pg_random)
        printf '%s\n' "$PG_SUPERPW" >"$PG_DIR/superpw"
        chown -R postgres: "$PG_DIR" && chmod 0600 "$PG_DIR/superpw" || return 1
        # --auth: no trust anywhere, not even for the bootstrap; the superuser
        # has a password from the start.
        if ! runuser -u postgres -- "$PGBIN/initdb" -D "$PG_DIR/data" -U postgres --pwfile="$PG_DIR/superpw" \
                        --auth=scram-sha-256 -E UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 9>&-; then
                echo "# initdb failed:"; sed 's/^/#   /' "$PG_DIR/initdb.log"
                return 1
        fi
        rm -f "$PG_DIR/superpw"
        # The socket is the only way in, and every role logs in with its password.
        echo "local all all scram-sha-256" >"$PG_DIR/data/pg_hba.conf"
        opts=(-c "listen_addresses=''" -c "unix_socket_directories='$PG_DIR'")
        if [ -n "$PG_TCP" ]; then
                # Loopback only, with the same password authentication.
                printf 'host all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n' \
                        >>"$PG_DIR/data/pg_hba.conf"
                opts=(-c "listen_addresses='localhost'" -c "unix_socket_directories='$PG_DIR'" -c "port=$PG_TCP")
        fi
        for opt in "$@"; do
                opts+=(-c "$opt")
        done
        PG_OPTS=${opts[*]}
        CLEANUP_HOOKS+=(pg_stop)
        if ! pg_launch; then
                echo "# PostgreSQL did not start:"; sed 's/^/#   /' "$PG_DIR/log"
                return 1
        fi
}

# The server on $PG_DIR/data with $PG_OPTS, answered when it accepts
# connections. With PG_CHILD set, the postmaster is this shell's child (through
# runuser) rather than pg_ctl's orphan: where nothing reaps orphans (PID 1 of
# some containers), a postmaster killed by pg_crash would stay a zombie, and
# its postmaster.pid would keep naming a process that "exists": the restart
# would be refused.
pg_launch() {
        local job pm deadline
        if [ -z "${PG_CHILD:-}" ]; then
                # 9>&-: the server must not hold the stories' lock.
                runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 \
                        -o "$PG_OPTS" start >/dev/null 2>&1 9>&-
                return
        fi
        # As pg_ctl does it: the options through a shell, which execs postgres.
        runuser -u postgres -- sh -c "exec '$PGBIN/postgres' -D '$PG_DIR/data' $PG_OPTS" >>"$PG_DIR/log" 2>&1 9>&- &
        job=$!
        deadline=$(( $(date +%s) + 60 ))
        while [ "$(date +%s)" -lt "$deadline" ] && kill -0 "$job" 2>/dev/null; do
                # Ready, and this postmaster's file (not the one a crash left).
                pm=$(ps -o pid= --ppid "$job" | tr -d ' ')
                if [ -n "$pm" ] && [ "$(sed -n 1p "$PG_DIR/data/postmaster.pid" 2>/dev/null)" = "$pm" ] &&
                   [ "$(sed -n 8p "$PG_DIR/data/postmaster.pid" 2>/dev/null | tr -d ' ')" = ready ]; then
                        return 0
                fi
                sleep 0.05
        done
        return 1
}

pg_stop() {
        [ -n "$PG_DIR" ] && [ -f "$PG_DIR/data/postmaster.pid" ] || return 0
        runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 9>&-
}

# Dead, or a zombie (an orphan nobody reaps): it holds no shared memory and
# no socket either way.
pg_gone() {
        local st
        st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
        [ "$st" = Z ]
}

pg_crash() {
        local pm pp p kids=() deadline
        pm=$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null)
        [ -n "$pm" ] && kill -0 "$pm" 2>/dev/null || { echo "# pg_crash: no postmaster running"; return 1; }
        pp=$(ps -o ppid= -p "$pm" | tr -d ' ')
        # Stopped first, so that it forks no child between the listing and the kill.
        kill -STOP "$pm"
        mapfile -t kids < <(ps -o pid= --ppid "$pm")
        kill -KILL "$pm" "${kids[@]}" 2>/dev/null
        # runuser (PG_CHILD) stops itself when its child stops, as a shell
        # would: it must go on to reap the postmaster, whose postmaster.pid
        # would otherwise name a zombie, which counts as running.
        [ -n "${PG_CHILD:-}" ] && kill -CONT "$pp" 2>/dev/null
        deadline=$(( $(date +%s) + 10 ))
        for p in "$pm" "${kids[@]}"; do
                until pg_gone "$p" && { [ -z "${PG_CHILD:-}" ] || [ "$p" != "$pm" ] || [ ! -e "/proc/$pm" ]; }; do
                        [ "$(date +%s)" -lt "$deadline" ] || { echo "# pg_crash: process $p outlives SIGKILL"; return 1; }
                        sleep 0.02
                done
        done
}

pg_restart() {
        # The postmaster.pid a crash left names a dead process: the new
        # postmaster sees that and starts anyway.
        if ! pg_launch; then
                echo "# PostgreSQL did not start again:"; tail -n 20 "$PG_DIR/log" | sed 's/^/#   /'
                return 1
        fi
}

# psql without ~/.psqlrc, stopping at the first error, rows as bare text.
pg_psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }

pg_super() {
        local sql
        for sql in "$@"; do
                PGPASSWORD=$PG_SUPERPW pg_psql -d "host=$PG_DIR dbname=$PG_DB user=postgres" -c "$sql" || return
        done
}

pg_as() {  # pg_as CONNINFO PASSWORD SQL...
        local conninfo=$1 password=$2 sql
        shift 2
        for sql in "$@"; do
                PGPASSWORD=$password pg_psql -d "$conninfo" -c "$sql" || return
        done
}
