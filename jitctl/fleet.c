/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitctl fleet init | add-host: the admin's side of the fleet database. No
 * jitd is involved: jitctl speaks to PostgreSQL with the connection string
 * given by -D (the schema owner's, with CREATEROLE for add-host; a password
 * or a client certificate, as libpq takes them). The work is in
 * fleet_schema.c and fleet_host.c; this file checks the command line, says
 * what happened, and prints the lines a host's jitd.conf gets: a host logs
 * in with a password file (--password-file) or with a client certificate
 * (--sslcert and --sslkey: its role then has no password at all).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "duration.h"
#include "fleet_host.h"
#include "fleet_pq.h"
#include "fleet_schema.h"
#include "util.h"

#define say jitctl_say

/* Room for the database's messages, which quote names and statements. */
#define WHY_MAX 1024

__attribute__((format(printf, 3, 4)))
static int usage(const struct jitctl_ctx *ctx, const struct cmd_verb *v, const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        say(ctx, "%s", msg);
        fprintf(ctx->err, "usage: jitctl %s\n", v->usage);
        return CMD_E_USAGE;
}

static int connect_db(const struct jitctl_ctx *ctx, const char *conninfo, PGconn **ret)
{
        char why[WHY_MAX];
        int r;

        r = fleet_pq_connect(conninfo, ret, why, sizeof(why));
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                say(ctx, "cannot use the database: %s", why);
                return CMD_E_FAILED;
        }
        return 0;
}

static int fleet_init(const struct jitctl_ctx *ctx, const struct jitctl_args *a)
{
        _cleanup_pgconn_ PGconn *c = NULL;
        struct fleet_schema_change ch;
        char why[WHY_MAX];
        int r;

        r = connect_db(ctx, a->conninfo, &c);
        if (r < 0)
                return r;
        r = fleet_schema_init(c, &ch, why, sizeof(why));
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                say(ctx, "fleet init: %s", why);
                return CMD_E_FAILED;
        }
        switch (ch.action) {
        case FLEET_SCHEMA_CREATE:
                fprintf(ctx->out, "fleet schema created at version %d\n", ch.to);
                break;
        case FLEET_SCHEMA_MIGRATE:
                fprintf(ctx->out, "fleet schema migrated from version %d to %d\n", ch.from, ch.to);
                break;
        case FLEET_SCHEMA_CURRENT:
                fprintf(ctx->out, "fleet schema is at version %d already: nothing to do\n", ch.to);
                break;
        }
        if (ch.action != FLEET_SCHEMA_CURRENT && ch.superuser)
                say(ctx, "note: the schema belongs to a superuser, so its SECURITY DEFINER functions run as "
                    "one; an owner role of its own (LOGIN CREATEROLE, owning the database) is safer: see "
                    "doc/FLEET.md");
        return 0;
}

static int fleet_add_host(const struct jitctl_ctx *ctx, const struct cmd_verb *v, const struct jitctl_args *a,
                          const char *host)
{
        _cleanup_pgconn_ PGconn *c = NULL;
        _cleanup_free_ char *conninfo = NULL;
        struct fleet_host_added added;
        char why[WHY_MAX], sync[32];
        int r;

        /* What needs no database is checked first, and so is everything
         * printed at the end: a host must not be added with lines that
         * cannot be pasted. */
        if (fleet_host_check(host, &added, why, sizeof(why)) < 0) {
                say(ctx, "fleet add-host: %s", why);
                return CMD_E_FAILED;
        }
        if (a->password_file && !config_value_fits(a->password_file))
                return usage(ctx, v, "--password-file %s cannot go into jitd.conf "
                             "(white space at an end, a control character, or '#' or ';' after white space)",
                             a->password_file);
        /* The certificate and key are the host's, at these paths there:
         * not read here, but jitd takes absolute paths only. */
        for (size_t i = 0; i < 2; i++) {
                const char *path = i ? a->sslkey : a->sslcert;

                if (path && path[0] != '/') {
                        say(ctx, "fleet add-host: --%s %s is not an absolute path", i ? "sslkey" : "sslcert", path);
                        return CMD_E_FAILED;
                }
        }
        r = fleet_pq_host_conninfo(a->conninfo, added.role, a->sslcert, a->sslkey, &conninfo, why, sizeof(why));
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                say(ctx, "fleet add-host: %s", why);
                return CMD_E_FAILED;
        }

        r = connect_db(ctx, a->conninfo, &c);
        if (r < 0)
                return r;
        /* password_file NULL (--sslcert): a role without a password, which
         * logs in with its certificate alone. */
        r = fleet_host_add(c, host, a->password_file, &added, why, sizeof(why));
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                say(ctx, "fleet add-host: %s", why);
                return CMD_E_FAILED;
        }

        duration_format(FLEET_SYNC_DEFAULT, sync, sizeof(sync));
        if (a->password_file)
                fprintf(ctx->out, "# jitd.conf of %s: copy %s to the same path there (root's, mode 0600).\n",
                        added.name, a->password_file);
        else
                fprintf(ctx->out,
                        "# jitd.conf of %s: its client certificate at %s (CN=%s, from a CA the server's "
                        "ssl_ca_file trusts) and its key at %s (root's, mode 0600).\n"
                        "# The role has no password: pg_hba.conf lets it in with hostssl ... cert (doc/FLEET.md).\n",
                        added.name, a->sslcert, added.role, a->sslkey);
        fprintf(ctx->out,
                "# Add allowed_signers = FILE: the approvers' SSH keys that signed approvals are checked against (jitd.conf(5)).\n"
                "[fleet]\n"
                "database = %s\n",
                conninfo);
        if (a->password_file)
                fprintf(ctx->out, "password_file = %s\n", a->password_file);
        fprintf(ctx->out, "sync = %s\n", sync);
        return 0;
}

int cmd_fleet(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        struct jitctl_args a;
        const char *sub;
        int r;

        r = jitctl_parse_args(ctx, v, argc, argv, &a);
        if (r != 0)
                return r > 0 ? 0 : r;
        sub = a.npos > 0 ? a.pos[0] : NULL;
        if (!sub)
                return usage(ctx, v, "fleet needs init or add-host");
        if (strcmp(sub, "init") == 0) {
                if (a.npos > 1)
                        return usage(ctx, v, "unexpected argument '%s'", a.pos[1]);
                if (a.password_file || a.sslcert || a.sslkey)
                        return usage(ctx, v, "fleet init does not take --%s",
                                     a.password_file ? "password-file" : a.sslcert ? "sslcert" : "sslkey");
                if (!a.conninfo || !a.conninfo[0])
                        return usage(ctx, v, "fleet init needs -D CONNINFO");
                return fleet_init(ctx, &a);
        }
        if (strcmp(sub, "add-host") == 0) {
                if (a.npos < 2 || !a.pos[1][0])
                        return usage(ctx, v, "fleet add-host needs HOST");
                if (!a.conninfo || !a.conninfo[0])
                        return usage(ctx, v, "fleet add-host needs -D CONNINFO");
                /* A password, or a client certificate: one way in. */
                if (a.password_file && (a.sslcert || a.sslkey))
                        return usage(ctx, v, "fleet add-host takes either --password-file or --sslcert and --sslkey");
                if (!a.sslcert != !a.sslkey || (a.sslcert && (!a.sslcert[0] || !a.sslkey[0])))
                        return usage(ctx, v, "fleet add-host needs both --sslcert and --sslkey (the host's client "
                                     "certificate and key)");
                if (!a.sslcert && (!a.password_file || !a.password_file[0]))
                        return usage(ctx, v, "fleet add-host needs --password-file FILE, or --sslcert FILE "
                                     "--sslkey FILE");
                return fleet_add_host(ctx, v, &a, a.pos[1]);
        }
        return usage(ctx, v, "unknown fleet command '%s' (init, add-host)", sub);
}
