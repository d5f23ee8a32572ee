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
        # 9>&-: the server must not hold the stories' lock.
        if ! runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 \
                        -o "$PG_OPTS" start >/dev/null 2>&1 9>&-; then
                echo "# PostgreSQL did not start:"; sed 's/^/#   /' "$PG_DIR/log"
                return 1
        fi
}

pg_stop() {
        [ -n "$PG_DIR" ] && [ -f "$PG_DIR/data/postmaster.pid" ] || return 0
        runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 9>&-
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
