/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fleet schema in PostgreSQL: its versions, the SQL of each step
 * (jitctl/fleet_schema_v*.sql, compiled in), and `jitctl fleet init`, which
 * creates it or migrates it in one transaction. The schema is called jit and
 * its version is the one row of jit.schema_version; version 0 is the
 * bootstrap (the schema and that table) and each step N -> N+1 is one SQL
 * file. A database at a newer version than this jitctl knows is refused,
 * never touched.
 */
#ifndef JITCTL_FLEET_SCHEMA_H
#define JITCTL_FLEET_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#define FLEET_SCHEMA_NONE (-1)         /* no schema jit in the database */
#define FLEET_SCHEMA_VERSION_MAX 10000 /* past this a version row is garbage */

/* The newest version this jitctl makes. */
int fleet_schema_latest(void);
/* The SQL of the step from version v to v + 1 (0 <= v < latest); NULL else. */
const char *fleet_schema_step(int v);

enum fleet_schema_action {
        FLEET_SCHEMA_CREATE,            /* no schema: bootstrap, then every step */
        FLEET_SCHEMA_MIGRATE,           /* an older version: the steps from it */
        FLEET_SCHEMA_CURRENT,           /* nothing to do */
};

/* What init does to a database whose schema is at version have
 * (FLEET_SCHEMA_NONE: none) when latest is the newest it knows: 0 with the
 * action; -EPROTONOSUPPORT when have is newer than latest; -EINVAL for a
 * version that cannot be (below NONE, above FLEET_SCHEMA_VERSION_MAX). */
int fleet_schema_plan(int have, int latest, enum fleet_schema_action *ret);

struct fleet_schema_change {
        enum fleet_schema_action action;
        int from;                       /* FLEET_SCHEMA_NONE when created */
        int to;
        bool superuser;                 /* the owner is a superuser: its functions run as one */
};

/* Create or migrate the schema to the latest version, in one transaction
 * (nothing changes unless everything does; two inits at once take turns),
 * as the role that owns schema jit or will. -EPROTONOSUPPORT for a newer
 * schema, -EPERM when schema jit is another role's, -EEXIST when it is not a
 * fleet schema (no jit.schema_version), -EIO for the database's errors; why
 * says which. */
int fleet_schema_init(PGconn *c, struct fleet_schema_change *ret, char *why, size_t size);

/* Inside the caller's transaction: 0 when the schema is at the latest
 * version; -ENOENT (not there: run init), -ESTALE (older: run init),
 * -EPROTONOSUPPORT (newer), -EEXIST or -EIO otherwise, with why. */
int fleet_schema_require(PGconn *c, char *why, size_t size);

#endif
