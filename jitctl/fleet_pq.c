/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conninfo.h"
#include "fleet_pq.h"
#include "util.h"

/* libpq's messages end in '\n' and may span lines ("connection to server
 * ... failed: FATAL:  password authentication failed ..."): one line, runs of
 * white space as one space. */
static void one_line(const char *msg, char *why, size_t size)
{
        size_t n = 0;
        bool blank = true;

        if (size == 0)
                return;
        for (const char *p = msg ? msg : ""; *p && n + 1 < size; p++) {
                bool sp = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';

                if (sp && blank)
                        continue;
                why[n++] = sp ? ' ' : *p;
                blank = sp;
        }
        while (n > 0 && why[n - 1] == ' ')
                n--;
        why[n] = '\0';
        if (n == 0)
                snprintf(why, size, "unknown database error");
}

void fleet_pq_error(PGconn *c, const PGresult *res, char *why, size_t size)
{
        const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

        if (primary)
                one_line(primary, why, size);
        else if (res && PQresultErrorMessage(res)[0])
                one_line(PQresultErrorMessage(res), why, size);
        else
                one_line(c ? PQerrorMessage(c) : NULL, why, size);
}

/* Notices ("NOTICE: ... skipping") are not for jitctl's user. */
static void quiet(void *arg, const char *message)
{
        (void) arg;
        (void) message;
}

int fleet_pq_connect(const char *conninfo, PGconn **ret, char *why, size_t size)
{
        /* Ours first: with expand_dbname, what the connection string says
         * comes after and wins. */
        static const char *const keys[] = { "connect_timeout", "application_name", "client_encoding", "dbname",
                                            NULL };
        const char *values[] = { "10", "jitctl", "UTF8", conninfo, NULL };
        _cleanup_pgconn_ PGconn *c = NULL;

        if (!conninfo || !conninfo[0])
                return fail_why(-EINVAL, why, size, "no connection string");
        c = PQconnectdbParams(keys, values, 1);
        if (!c)
                return -ENOMEM;
        if (PQstatus(c) != CONNECTION_OK) {
                fleet_pq_error(c, NULL, why, size);
                return -ECONNREFUSED;
        }
        if (PQserverVersion(c) < FLEET_PQ_SERVER_MIN)
                return fail_why(-EPROTO, why, size, "the server is PostgreSQL %d.%d; the fleet needs %d or later",
                            PQserverVersion(c) / 10000, PQserverVersion(c) % 10000, FLEET_PQ_SERVER_MIN / 10000);
        PQsetNoticeProcessor(c, quiet, NULL);
        *ret = TAKE_PTR(c);
        return 0;
}

static int check_result(PGconn *c, PGresult *res, char *why, size_t size)
{
        ExecStatusType st;

        if (!res) {
                fleet_pq_error(c, NULL, why, size);
                return -EIO;
        }
        st = PQresultStatus(res);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
                fleet_pq_error(c, res, why, size);
                return -EIO;
        }
        return 0;
}

int fleet_pq_query(PGconn *c, const char *sql, int n, const char *const *values, PGresult **ret, char *why,
                   size_t size)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        int r;

        /* Text parameters, text results: the types come from the SQL. */
        res = PQexecParams(c, sql, n, NULL, values, NULL, NULL, 0);
        r = check_result(c, res, why, size);
        if (r < 0)
                return r;
        if (ret)
                *ret = TAKE_PTR(res);
        return 0;
}

int fleet_pq_exec(PGconn *c, const char *sql, int n, const char *const *values, char *why, size_t size)
{
        return fleet_pq_query(c, sql, n, values, NULL, why, size);
}

int fleet_pq_script(PGconn *c, const char *sql, char *why, size_t size)
{
        _cleanup_pgresult_ PGresult *res = PQexec(c, sql);

        return check_result(c, res, why, size);
}

int fleet_pq_begin(PGconn *c, char *why, size_t size)
{
        int r = fleet_pq_exec(c, "BEGIN", 0, NULL, why, size);

        if (r < 0)
                return r;
        r = fleet_pq_exec(c, "SET LOCAL search_path = pg_catalog, pg_temp", 0, NULL, why, size);
        if (r < 0)
                fleet_pq_rollback(c);
        return r;
}

int fleet_pq_commit(PGconn *c, char *why, size_t size)
{
        _cleanup_pgresult_ PGresult *res = PQexec(c, "COMMIT");
        int r = check_result(c, res, why, size);

        if (r < 0)
                return r;
        if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
                return fail_why(-EIO, why, size, "the transaction was rolled back");
        return 0;
}

void fleet_pq_rollback(PGconn *c)
{
        PQclear(PQexec(c, "ROLLBACK"));
}

/* What the admin's connection string says about the admin, not the database. */
static bool admins_own(const char *keyword)
{
        static const char *const own[] = { "user", "password", "passfile", "sslpassword", "sslcert", "sslkey" };

        for (size_t i = 0; i < ELEMENTSOF(own); i++)
                if (strcmp(keyword, own[i]) == 0)
                        return true;
        return false;
}

/* key='value' with libpq's quoting: a plain value as it is, anything else in
 * single quotes with ' and \ escaped by a backslash. */
static int append_pair(char **s, size_t *len, const char *key, const char *value)
{
        bool plain = value[0] && strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                "0123456789_./:@,+-") == strlen(value);
        size_t need = strlen(key) + 2 * strlen(value) + 5;
        char *v = realloc(*s, *len + need + 1), *p;

        if (!v)
                return -ENOMEM;
        *s = v;
        p = v + *len;
        if (*len > 0)
                *p++ = ' ';
        p += sprintf(p, "%s=", key);
        if (!plain)
                *p++ = '\'';
        for (const char *q = value; *q; q++) {
                if (!plain && (*q == '\'' || *q == '\\'))
                        *p++ = '\\';
                *p++ = *q;
        }
        if (!plain)
                *p++ = '\'';
        *p = '\0';
        *len = (size_t) (p - v);
        return 0;
}

int fleet_pq_host_conninfo(const char *admin, const char *role, const char *sslcert, const char *sslkey, char **ret,
                           char *why, size_t size)
{
        PQconninfoOption *opts;
        char *err = NULL, *s = NULL, check[256];
        size_t len = 0;
        int r = 0;

        if (!admin || !admin[0] || !role || !role[0])
                return fail_why(-EINVAL, why, size, "no connection string");
        if (!sslcert != !sslkey || (sslcert && (!sslcert[0] || !sslkey[0])))
                return fail_why(-EINVAL, why, size, "a client certificate needs its key, and a key its certificate");
        /* A bare database name is a connection string to libpq's connect
         * functions, but not to PQconninfoParse(). */
        if (!strchr(admin, '=') && strncmp(admin, "postgresql://", 13) != 0 &&
            strncmp(admin, "postgres://", 11) != 0) {
                r = append_pair(&s, &len, "dbname", admin);
                goto host;
        }
        opts = PQconninfoParse(admin, &err);
        if (!opts) {
                if (!err)
                        return -ENOMEM;
                one_line(err, why, size);
                PQfreemem(err);
                return -EINVAL;
        }
        for (PQconninfoOption *o = opts; o->keyword && r >= 0; o++)
                if (o->val && o->val[0] && !admins_own(o->keyword))
                        r = append_pair(&s, &len, o->keyword, o->val);
        PQconninfoFree(opts);
host:
        if (r >= 0)
                r = append_pair(&s, &len, "user", role);
        if (r >= 0 && sslcert)
                r = append_pair(&s, &len, "sslcert", sslcert);
        if (r >= 0 && sslkey)
                r = append_pair(&s, &len, "sslkey", sslkey);
        if (r < 0) {
                free(s);
                return r;
        }
        /* What jitd would refuse, or read back as something else, is not
         * printed for pasting. */
        if (conninfo_check(s, check, sizeof(check)) < 0) {
                free(s);
                return fail_why(-EINVAL, why, size, "the host's connection string would not do: %s", check);
        }
        if (!config_value_fits(s)) {
                free(s);
                return fail_why(-EINVAL, why, size, "the host's connection string cannot go into jitd.conf: "
                            "it holds a '#' or ';' after white space, or a control character");
        }
        *ret = s;
        return 0;
}
