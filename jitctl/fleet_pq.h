/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitctl's fleet commands and libpq: a connection with sane defaults,
 * statements with parameters (never a value pasted into SQL text), the
 * database's errors as one line, and the connection string a host gets.
 * Functions return 0 or a negative errno; what went wrong is written to
 * why (size bytes), for the verb to say.
 */
#ifndef JITCTL_FLEET_PQ_H
#define JITCTL_FLEET_PQ_H

#include <stddef.h>

#include <libpq-fe.h>

/* Oldest server the schema is written for: GENERATED ... AS IDENTITY, EXECUTE
 * FUNCTION in triggers, row-level security. Tested on 15. */
#define FLEET_PQ_SERVER_MIN 130000

static inline void fleet_pq_clearp(PGresult **r)
{
        PQclear(*r);
}
static inline void fleet_pq_finishp(PGconn **c)
{
        if (*c)
                PQfinish(*c);
}
#define _cleanup_pgresult_ __attribute__((cleanup(fleet_pq_clearp)))
#define _cleanup_pgconn_   __attribute__((cleanup(fleet_pq_finishp)))

/* Connect with conninfo (key=value pairs or a URI; the admin's, so it may
 * hold a password). connect_timeout=10, application_name=jitctl and
 * client_encoding=UTF8 unless conninfo says otherwise; notices are not
 * printed. -ECONNREFUSED with why when it does not work out, -EPROTO for a
 * server older than FLEET_PQ_SERVER_MIN. */
int fleet_pq_connect(const char *conninfo, PGconn **ret, char *why, size_t size);

/* One statement, values as text parameters $1..$n (NULL for SQL NULL). The
 * result is handed over when it is PGRES_COMMAND_OK or PGRES_TUPLES_OK;
 * anything else is -EIO with the database's message in why. */
int fleet_pq_query(PGconn *c, const char *sql, int n, const char *const *values, PGresult **ret, char *why,
                   size_t size);
/* The same, the result not wanted. */
int fleet_pq_exec(PGconn *c, const char *sql, int n, const char *const *values, char *why, size_t size);
/* Several statements without parameters: jitctl's own compiled-in SQL only
 * (the schema), never text that holds a value from outside. */
int fleet_pq_script(PGconn *c, const char *sql, char *why, size_t size);
/* BEGIN, and the search path every statement of jitctl's assumes for the
 * transaction: pg_catalog, then pg_temp. The session's own search path must
 * not decide which function or operator a name in the DDL means. */
int fleet_pq_begin(PGconn *c, char *why, size_t size);
/* COMMIT, and make sure it was one: a transaction that failed earlier
 * answers COMMIT with ROLLBACK, which libpq reports as success. */
int fleet_pq_commit(PGconn *c, char *why, size_t size);
/* ROLLBACK, for the way out of a failed transaction: errors ignored (the
 * first error is the one worth saying; PQfinish ends the transaction too). */
void fleet_pq_rollback(PGconn *c);

/* The database's message of a failed result, or of the connection when res
 * is NULL, on one line (libpq's own messages span several). */
void fleet_pq_error(PGconn *c, const PGresult *res, char *why, size_t size);

/* The connection string a host's jitd.conf gets: admin's, read by libpq,
 * without what belongs to the admin (user, password, passfile, sslpassword,
 * sslcert, sslkey), with user=role and, for a host that logs in with a
 * client certificate, the host's own sslcert and sslkey (both or neither:
 * paths on that host, not read here); as key='value' pairs that jitd.conf
 * reads back unchanged and that carry no password (common/conninfo.h). A
 * fresh string in *ret; -EINVAL with why when admin cannot be read or the
 * result cannot go into jitd.conf. */
int fleet_pq_host_conninfo(const char *admin, const char *role, const char *sslcert, const char *sslkey, char **ret,
                           char *why, size_t size);

#endif
