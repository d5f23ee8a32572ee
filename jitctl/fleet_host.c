/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fleet_host.h"
#include "fleet_pq.h"
#include "fleet_schema.h"
#include "fleet_secret.h"
#include "util.h"

/* A host's jitd needs a connection or two (LISTEN, and its writes); the
 * limit keeps one host's credentials from taking every connection the
 * server has. */
#define FLEET_HOST_CONNECTIONS 8

static bool is_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int fleet_host_name(const char *host, char *buf, size_t size)
{
        size_t n, label = 0;

        if (!host || !host[0])
                return -EINVAL;
        n = strlen(host);
        if (n > (size_t) FLEET_HOST_MAX)
                return -ENAMETOOLONG;
        if (size < n + 1)
                return -ENOBUFS;
        for (size_t i = 0; i < n; i++) {
                char c = host[i];

                if (c == '.') {
                        if (label == 0)                 /* ".x", "x..y" */
                                return -EINVAL;
                        label = 0;
                        continue;
                }
                if (c == '-') {
                        if (label == 0 || i + 1 == n || host[i + 1] == '.')
                                return -EINVAL;         /* a label starts and ends alphanumeric */
                } else if (!is_alnum(c))
                        return -EINVAL;
                label++;
        }
        if (label == 0)                                 /* "x." */
                return -EINVAL;
        for (size_t i = 0; i <= n; i++)
                buf[i] = host[i] >= 'A' && host[i] <= 'Z' ? (char) (host[i] - 'A' + 'a') : host[i];
        return 0;
}

int fleet_host_role(const char *name, char *buf, size_t size)
{
        size_t p = sizeof(FLEET_ROLE_PREFIX) - 1, n = name ? strlen(name) : 0;

        if (n == 0 || size < p + n + 1)
                return -EINVAL;
        memcpy(buf, FLEET_ROLE_PREFIX, p);
        for (size_t i = 0; i <= n; i++)
                buf[p + i] = name[i] == '-' || name[i] == '.' ? '_' : name[i];
        return 0;
}

/* One row or none for a query with parameters: 1, 0 or a negative errno. */
static int exists(PGconn *c, const char *sql, const char *value, char *why, size_t size)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        const char *params[] = { value };
        int r;

        r = fleet_pq_query(c, sql, 1, params, &res, why, size);
        return r < 0 ? r : PQntuples(res) > 0;
}

/* secret NULL: a role with no password (PASSWORD NULL), which no password
 * authentication lets in: a host that logs in with a client certificate. */
static int create_role(PGconn *c, const struct fleet_host_added *a, const char *secret, char *why, size_t size)
{
        char *verifier = NULL, *ident = NULL, *literal = NULL, *sql = NULL;
        int r = -ENOMEM;

        /* The verifier is computed here, so the password itself never goes
         * to the server, nor into its statement log. DDL takes no
         * parameters: the name and the verifier are escaped by libpq. */
        if (secret) {
                verifier = PQencryptPasswordConn(c, secret, a->role, "scram-sha-256");
                if (!verifier) {
                        fleet_pq_error(c, NULL, why, size);
                        return -EIO;
                }
        }
        ident = PQescapeIdentifier(c, a->role, strlen(a->role));
        literal = verifier ? PQescapeLiteral(c, verifier, strlen(verifier)) : NULL;
        if (!ident || (verifier && !literal)) {
                fleet_pq_error(c, NULL, why, size);
                r = -EIO;
                goto out;
        }
        if (asprintf(&sql, "CREATE ROLE %s LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                     "NOBYPASSRLS CONNECTION LIMIT %d PASSWORD %s IN ROLE jit_host", ident,
                     FLEET_HOST_CONNECTIONS, literal ? literal : "NULL") < 0) {
                sql = NULL;
                goto out;
        }
        r = fleet_pq_exec(c, sql, 0, NULL, why, size);
out:
        free(sql);
        PQfreemem(literal);
        PQfreemem(ident);
        PQfreemem(verifier);
        return r;
}

/* The transaction: nothing is committed before the password is on disk
 * (secret NULL and fd -1: no password, nothing to write). */
static int add_in_db(PGconn *c, const struct fleet_host_added *a, const char *secret, const char *path, int fd,
                     char *why, size_t size)
{
        const char *name_role[] = { a->name, a->role };
        int r;

        r = fleet_pq_begin(c, why, size);
        if (r < 0)
                return r;
        r = fleet_schema_require(c, why, size);
        if (r < 0)
                goto fail;
        r = exists(c, "SELECT 1 FROM jit.hosts WHERE name = $1", a->name, why, size);
        if (r > 0)
                r = fail_why(-EEXIST, why, size, "host %s is in the fleet already", a->name);
        if (r < 0)
                goto fail;
        /* A role of that name that is not this host's: another host whose
         * name maps to it ("a-b" and "a.b"), or someone else's role. */
        r = exists(c, "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", a->role, why, size);
        if (r > 0)
                r = fail_why(-EEXIST, why, size, "role %s exists already (another host's name maps to it, or it is "
                         "not the fleet's): add-host never reuses a role", a->role);
        if (r < 0)
                goto fail;
        r = create_role(c, a, secret, why, size);
        if (r < 0)
                goto fail;
        r = fleet_pq_exec(c, "INSERT INTO jit.hosts (name, role) VALUES ($1, $2)", 2, name_role, why, size);
        if (r < 0)
                goto fail;
        r = fleet_pq_exec(c, "SELECT jit.record_change('host-added', $1, NULL)", 1, name_role, why, size);
        if (r < 0)
                goto fail;
        r = secret ? fleet_secret_write(fd, secret) : 0;
        if (r < 0) {
                r = fail_why(r, why, size, "cannot write %s: %s", path, strerror(-r));
                goto fail;
        }
        return fleet_pq_commit(c, why, size);
fail:
        fleet_pq_rollback(c);
        return r;
}

int fleet_host_check(const char *host, struct fleet_host_added *ret, char *why, size_t size)
{
        struct fleet_host_added a = {};
        int r;

        r = fleet_host_name(host, a.name, sizeof(a.name));
        if (r == -ENAMETOOLONG)
                return fail_why(-EINVAL, why, size, "host name '%s' is longer than %d characters (its role, %s and "
                            "the name, must fit PostgreSQL's 63)", host, FLEET_HOST_MAX, FLEET_ROLE_PREFIX);
        if (r < 0)
                return fail_why(-EINVAL, why, size, "'%s' is not a host name: letters, digits and '-' in labels "
                            "separated by '.', a label neither starting nor ending with '-'", host ? host : "");
        r = fleet_host_role(a.name, a.role, sizeof(a.role));
        if (r < 0)
                return fail_why(-EINVAL, why, size, "no role name for host %s", a.name);
        *ret = a;
        return 0;
}

int fleet_host_add(PGconn *c, const char *host, const char *password_file, struct fleet_host_added *ret,
                   char *why, size_t size)
{
        struct fleet_host_added a;
        char secret[FLEET_SECRET_LEN + 1];
        int fd = -1, r;

        r = fleet_host_check(host, &a, why, size);
        if (r < 0)
                return r;
        if (!password_file) {
                r = add_in_db(c, &a, NULL, NULL, -1, why, size);
                if (r < 0)
                        return r;
                *ret = a;
                return 0;
        }

        /* First, so that an existing file stops everything before the
         * database is touched. */
        r = fleet_secret_create(password_file, &fd);
        if (r == -EEXIST)
                return fail_why(r, why, size, "%s exists: add-host writes a new password file and never "
                            "overwrites one", password_file);
        if (r == -EINVAL)
                return fail_why(r, why, size, "--password-file %s is not an absolute path", password_file);
        if (r < 0)
                return fail_why(r, why, size, "cannot create %s: %s", password_file, strerror(-r));

        r = fleet_secret_new(secret, sizeof(secret));
        if (r < 0)
                r = fail_why(r, why, size, "no random bytes for the password: %s", strerror(-r));
        else
                r = add_in_db(c, &a, secret, password_file, fd, why, size);
        explicit_bzero(secret, sizeof(secret));
        if (r < 0) {
                fleet_secret_discard(password_file, fd);
                return r;
        }
        /* Written and synced before the commit; closing cannot lose it. */
        close(fd);
        *ret = a;
        return 0;
}
