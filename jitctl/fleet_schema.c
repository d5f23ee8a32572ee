/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_pq.h"
#include "fleet_schema.h"
#include "util.h"

/* build/gen/, from jitctl/fleet_schema_v*.sql (Makefile). */
#include "fleet_schema_v1.sql.h"
#include "fleet_schema_v2.sql.h"
#include "fleet_schema_v3.sql.h"

/* Version 0: the schema and its version row, nothing else. Owned by whoever
 * runs the first init, which makes that role the owner of everything. */
static const char bootstrap_sql[] =
        "CREATE SCHEMA jit;\n"
        "CREATE TABLE jit.schema_version (\n"
        "    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),\n"
        "    version     integer NOT NULL CHECK (version >= 0),\n"
        "    migrated_at timestamptz NOT NULL DEFAULT pg_catalog.now()\n"
        ");\n"
        "INSERT INTO jit.schema_version (version) VALUES (0);\n";

/* steps[v] takes the schema from version v to v + 1. A new version is a new
 * file and one more line here; a released step is never edited. */
static const char *const steps[] = {
        fleet_schema_v1_sql,
        fleet_schema_v2_sql,
        fleet_schema_v3_sql,
};

/* pg_advisory_xact_lock key of init ("jit_init"): two inits take turns
 * instead of both finding no schema and both creating it. */
#define INIT_LOCK "7667787793714538868"

int fleet_schema_latest(void)
{
        return (int) ELEMENTSOF(steps);
}

const char *fleet_schema_step(int v)
{
        return v >= 0 && v < fleet_schema_latest() ? steps[v] : NULL;
}

int fleet_schema_plan(int have, int latest, enum fleet_schema_action *ret)
{
        if (have < FLEET_SCHEMA_NONE || have > FLEET_SCHEMA_VERSION_MAX || latest < 1 ||
            latest > FLEET_SCHEMA_VERSION_MAX)
                return -EINVAL;
        if (have > latest)
                return -EPROTONOSUPPORT;
        *ret = have == FLEET_SCHEMA_NONE ? FLEET_SCHEMA_CREATE
             : have < latest             ? FLEET_SCHEMA_MIGRATE
                                         : FLEET_SCHEMA_CURRENT;
        return 0;
}

/* Schema jit's owner and version, and whether the connected role is a
 * superuser. FLEET_SCHEMA_NONE (and owner "") when there is no schema jit. */
static int read_version(PGconn *c, int *ret_version, char *owner, size_t owner_size, bool *ret_superuser,
                        char *why, size_t size)
{
        _cleanup_pgresult_ PGresult *ns = NULL, *su = NULL, *ver = NULL;
        const char *v;
        char *end;
        long n;
        int r;

        r = fleet_pq_query(c, "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user",
                           0, NULL, &su, why, size);
        if (r < 0)
                return r;
        r = fleet_pq_query(c, "SELECT pg_catalog.pg_get_userbyid(n.nspowner), "
                           "pg_catalog.to_regclass('jit.schema_version') IS NOT NULL "
                           "FROM pg_catalog.pg_namespace n WHERE n.nspname = 'jit'", 0, NULL, &ns, why, size);
        if (r < 0)
                return r;
        if (PQntuples(ns) == 0) {
                *ret_version = FLEET_SCHEMA_NONE;
                snprintf(owner, owner_size, "%s", "");
                *ret_superuser = PQntuples(su) == 1 && strcmp(PQgetvalue(su, 0, 0), "t") == 0;
                return 0;
        }
        if (strcmp(PQgetvalue(ns, 0, 1), "t") != 0)
                return fail_why(-EEXIST, why, size, "schema jit exists but is not a pam_jit fleet schema "
                            "(it has no jit.schema_version)");
        r = fleet_pq_query(c, "SELECT version FROM jit.schema_version", 0, NULL, &ver, why, size);
        if (r < 0)
                return r;
        if (PQntuples(ver) != 1)
                return fail_why(-EEXIST, why, size, "jit.schema_version has %d rows instead of one", PQntuples(ver));
        v = PQgetvalue(ver, 0, 0);
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno || end == v || *end || n < 0 || n > FLEET_SCHEMA_VERSION_MAX)
                return fail_why(-EEXIST, why, size, "jit.schema_version holds a version jitctl cannot read");
        *ret_version = (int) n;
        snprintf(owner, owner_size, "%s", PQgetvalue(ns, 0, 0));
        *ret_superuser = PQntuples(su) == 1 && strcmp(PQgetvalue(su, 0, 0), "t") == 0;
        return 0;
}

static int newer(int have, char *why, size_t size)
{
        return fail_why(-EPROTONOSUPPORT, why, size, "the fleet schema is at version %d, newer than this jitctl "
                    "knows (%d): use a newer jitctl", have, fleet_schema_latest());
}

static int migrate(PGconn *c, int have, const char *owner, struct fleet_schema_change *ch, char *why,
                   size_t size)
{
        int latest = fleet_schema_latest();
        char version[16];
        const char *params[] = { version };
        int r;

        r = fleet_schema_plan(have, latest, &ch->action);
        if (r == -EPROTONOSUPPORT)
                return newer(have, why, size);
        if (r < 0)
                return fail_why(r, why, size, "jit.schema_version holds version %d, which cannot be", have);
        ch->from = have;
        ch->to = have == FLEET_SCHEMA_NONE ? latest : have;
        if (ch->action == FLEET_SCHEMA_CURRENT)
                return 0;
        if (ch->action == FLEET_SCHEMA_MIGRATE) {
                _cleanup_pgresult_ PGresult *me = NULL;

                /* Every object keeps one owner, a superuser's session
                 * included (it can SET ROLE to the owner): the SECURITY
                 * DEFINER functions run as the owner of the tables they
                 * write, and a migration must not split that. */
                r = fleet_pq_query(c, "SELECT current_user", 0, NULL, &me, why, size);
                if (r < 0)
                        return r;
                if (strcmp(PQgetvalue(me, 0, 0), owner) != 0)
                        return fail_why(-EPERM, why, size, "schema jit is owned by %s: run jitctl fleet init as %s",
                                    owner, owner);
        }
        if (ch->action == FLEET_SCHEMA_CREATE) {
                r = fleet_pq_script(c, bootstrap_sql, why, size);
                if (r < 0)
                        return r;
                have = 0;
        }
        for (int v = have; v < latest; v++) {
                r = fleet_pq_script(c, fleet_schema_step(v), why, size);
                if (r < 0) {
                        char step[256];

                        snprintf(step, sizeof(step), "%s", why);
                        return fail_why(r, why, size, "step to version %d: %s", v + 1, step);
                }
        }
        snprintf(version, sizeof(version), "%d", latest);
        r = fleet_pq_exec(c, "UPDATE jit.schema_version SET version = $1::integer, migrated_at = pg_catalog.now()",
                          1, params, why, size);
        if (r < 0)
                return r;
        ch->to = latest;
        return 0;
}

int fleet_schema_init(PGconn *c, struct fleet_schema_change *ret, char *why, size_t size)
{
        struct fleet_schema_change ch = {};
        char owner[128];
        int have, r;

        r = fleet_pq_begin(c, why, size);
        if (r < 0)
                return r;
        r = fleet_pq_exec(c, "SELECT pg_catalog.pg_advisory_xact_lock(" INIT_LOCK ")", 0, NULL, why, size);
        if (r >= 0)
                r = read_version(c, &have, owner, sizeof(owner), &ch.superuser, why, size);
        if (r >= 0)
                r = migrate(c, have, owner, &ch, why, size);
        if (r < 0 || ch.action == FLEET_SCHEMA_CURRENT) {
                /* Nothing was changed, or nothing may be. */
                fleet_pq_rollback(c);
                if (r < 0)
                        return r;
        } else {
                r = fleet_pq_commit(c, why, size);
                if (r < 0)
                        return r;
        }
        *ret = ch;
        return 0;
}

int fleet_schema_require(PGconn *c, char *why, size_t size)
{
        char owner[128];
        bool superuser;
        int have, r;

        r = read_version(c, &have, owner, sizeof(owner), &superuser, why, size);
        if (r < 0)
                return r;
        if (have == FLEET_SCHEMA_NONE)
                return fail_why(-ENOENT, why, size, "there is no fleet schema in this database: "
                            "run jitctl fleet init first");
        if (have < fleet_schema_latest())
                return fail_why(-ESTALE, why, size, "the fleet schema is at version %d, older than this jitctl's "
                            "(%d): run jitctl fleet init to migrate it", have, fleet_schema_latest());
        if (have > fleet_schema_latest())
                return newer(have, why, size);
        return 0;
}
