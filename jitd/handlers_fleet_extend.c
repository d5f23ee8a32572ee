/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitctl extend F12 -d DURATION -m REASON: an extension of a fleet grant,
 * asked by its own user on any host. This host checks what it can (the one
 * asking is the grant's user, the grant is open and not break-glass, the
 * role's limits in this jitd.conf, and, where it enforces a copy, that the
 * copy is active and would not outlast max_duration), records it with
 * jit.request_extension, and answers after the commit. It grants nothing by
 * itself: every host in the scope adds it to its copy only when its own
 * policy approves it (jitd/fleet_mirror.c, fleet_decide_extension), so the
 * answer says what comes next, never "extended".
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "duration.h"
#include "ending.h"
#include "fleet_mirror.h"
#include "grants.h"
#include "handlers.h"
#include "handlers_fleet.h"
#include "log.h"
#include "store.h"

/* Every name qualified, as everywhere (the host role's search_path is not
 * ours to trust). */
static const char ext_grant_sql[] =
        "SELECT g.user_name, g.role, g.state, g.break_glass, "
        "(SELECT pg_catalog.count(*) FROM jit.extensions x WHERE x.grant_id = g.id) "
        "FROM jit.grants g WHERE g.id = $1::bigint";
static const char request_ext_sql[] = "SELECT jit.request_extension($1, $2::bigint, $3, $4::integer, $5)";

struct fleet_ext_req {
        struct jitd *d;
        uint64_t serial;
        int64_t id;
        uint64_t duration;
        char user[JIT_USER_MAX + 1], role[JIT_ROLE_MAX + 1], reason[JIT_REASON_MAX + 1];
        char sid[24], sdur[24];
};

static void ext_fail(struct fleet_ext_req *f, int r, const char *why)
{
        if (r == -ECANCELED)
                return;
        if (r == -EIO)
                later_reply_error(f->d, f->serial, EIO, "the fleet database refused the extension of F%" PRId64
                                  ": %s; nothing was requested", f->id, why ? why : "?");
        else
                later_reply_error(f->d, f->serial, EHOSTUNREACH, "the fleet database is unreachable; nothing was "
                                  "requested");
}

static void on_ext_requested(int r, const PGresult *res, const char *why, void *userdata)
{
        struct fleet_ext_req *f = userdata;
        const struct role *role = config_find_role(f->d->config, f->role);
        struct jit_grant g = {};
        char msg[768], dbuf[32];
        char *end;
        long long n;

        if (r == -ECONNRESET) {
                later_reply_error(f->d, f->serial, EIO, "the fleet database went away before it answered; the "
                                  "extension may or may not be recorded: see jitctl show F%" PRId64 " before asking "
                                  "again", f->id);
                goto out;
        }
        if (r < 0) {
                ext_fail(f, r, why);
                goto out;
        }
        errno = 0;
        n = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), &end, 10) : 0;
        if (n <= 0 || errno) {
                later_reply_error(f->d, f->serial, EIO, "the fleet database answered without an extension number");
                goto out;
        }
        duration_format(f->duration, dbuf, sizeof(dbuf));
        if (role && (role->approval & APPROVAL_PEER))
                snprintf(msg, sizeof(msg), "extension %lld of fleet grant F%" PRId64 " (%s more) waits for %u "
                         "approval%s: jitctl approve F%" PRId64 "; each host in its scope adds it once it verifies "
                         "the signatures", n, f->id, dbuf, role->approvals, role->approvals == 1 ? "" : "s", f->id);
        else
                snprintf(msg, sizeof(msg), "extension %lld of fleet grant F%" PRId64 " (%s more) is recorded: each "
                         "host in its scope whose own policy allows it adds it to its copy (jitctl show F%" PRId64
                         " shows the end)", n, f->id, dbuf, f->id);
        log_msg(LOG_NOTICE, "fleet grant F%" PRId64 " of %s: extension %lld (%s) requested", f->id, f->user, n, dbuf);
        snprintf(g.user, sizeof(g.user), "%s", f->user);
        snprintf(g.role, sizeof(g.role), "%s", f->role);
        snprintf(g.host, sizeof(g.host), "%s", f->d->config->host);
        g.fleet_id = f->id;
        g.state = GRANT_ACTIVE;
        g.duration = f->duration;
        later_reply_grant(f->d, f->serial, &g, msg);
out:
        free(f);
}

/* The grant as the database has it: this host's checks, then the extension. */
static void on_ext_grant(int r, const PGresult *res, const char *why, void *userdata)
{
        struct fleet_ext_req *f = userdata;
        const struct config *c = f->d->config;
        const struct role *role;
        const char *params[5];
        char *end;
        long long count;
        char lim[32];
        int k;

        if (r < 0) {
                ext_fail(f, r == -ECONNRESET ? -ENOTCONN : r, why);
                goto out;
        }
        if (PQntuples(res) != 1) {
                later_reply_error(f->d, f->serial, ENOENT, "no fleet grant F%" PRId64, f->id);
                goto out;
        }
        if (strcmp(PQgetvalue(res, 0, 0), f->user) != 0) {
                later_reply_error(f->d, f->serial, EPERM, "fleet grant F%" PRId64 " is not yours to extend", f->id);
                goto out;
        }
        if (strcmp(PQgetvalue(res, 0, 2), "open") != 0) {
                later_reply_error(f->d, f->serial, EALREADY, "fleet grant F%" PRId64 " has ended (%s); only an open "
                                  "grant can be extended", f->id, PQgetvalue(res, 0, 2));
                goto out;
        }
        if (strcmp(PQgetvalue(res, 0, 3), "t") == 0) {
                later_reply_error(f->d, f->serial, EPERM, "break-glass grants are not extended: request the role "
                                  "normally");
                goto out;
        }
        if ((size_t) snprintf(f->role, sizeof(f->role), "%s", PQgetvalue(res, 0, 1)) >= sizeof(f->role)) {
                later_reply_error(f->d, f->serial, EBADMSG, "fleet grant F%" PRId64 " cannot be read", f->id);
                goto out;
        }
        role = config_find_role(c, f->role);
        if (!role) {
                later_reply_error(f->d, f->serial, EPERM, "fleet grant F%" PRId64 " is for role %s, which host %s "
                                  "does not have: ask on a host that does", f->id, f->role, c->host);
                goto out;
        }
        /* The role's limits as this host has them (each host applies its
         * own again before it adds anything). */
        errno = 0;
        count = strtoll(PQgetvalue(res, 0, 4), &end, 10);
        duration_format(role->max_duration, lim, sizeof(lim));
        if (errno || count < 0) {
                later_reply_error(f->d, f->serial, EBADMSG, "fleet grant F%" PRId64 " cannot be read", f->id);
                goto out;
        }
        /* The extensions asked for so far count here (a bound on asking);
         * the cap from activation is the copy's, checked before. */
        switch (role->max_extensions > 0 ?
                policy_extension_limit(role, 0, 0, count > UINT_MAX ? UINT_MAX : (unsigned) count, f->duration) :
                EXTENSION_WITHIN) {
        case EXTENSION_TOO_MANY:
                later_reply_error(f->d, f->serial, ERANGE, "fleet grant F%" PRId64 " has %lld extension%s already, "
                                  "role %s's maximum", f->id, count, count == 1 ? "" : "s", role->name);
                goto out;
        case EXTENSION_TOO_LONG:
                later_reply_error(f->d, f->serial, ERANGE, "an extension of role %s adds at most %s", role->name,
                                  lim);
                goto out;
        default:
                break;
        }
        params[0] = c->host;
        params[1] = f->sid;
        params[2] = f->user;
        params[3] = f->sdur;
        params[4] = f->reason;
        k = fleet_mirror_query(f->d->fleet, request_ext_sql, 5, params, on_ext_requested, f);
        if (k < 0) {
                ext_fail(f, k, NULL);
                goto out;
        }
        return;
out:
        free(f);
}

int fleet_extend(struct request *req, int64_t id)
{
        struct jitd *d = req->d;
        const char *reason = proto_get_str(req->msg, PF_REASON);
        const char *params[1];
        struct fleet_ext_req *f;
        struct jit_grant g;
        uint64_t duration = 0;
        int64_t local = 0;
        int r;

        if (!proto_get_u64(req->msg, PF_DURATION, &duration) || duration == 0 || duration > DURATION_MAX_SEC ||
            duration > INT32_MAX)
                return reply_error(req, EINVAL, "an extension needs a duration"), HANDLED;
        if (!reason || !reason[0] || !valid_text(reason, JIT_REASON_MAX))
                return reply_error(req, EINVAL, "an extension needs a reason"), HANDLED;
        /* Where this host enforces a copy, the local rules first: only an
         * active grant is extended, and without max_extensions never past
         * max_duration from its activation. */
        r = store_fleet_lookup(d->store, id, &local);
        if (r < 0 && r != -ENOENT)
                return reply_store_failure(req, r, "looking the fleet grant up");
        if (r >= 0) {
                const struct role *role;

                r = grants_get(d, local, &g);
                if (r < 0)
                        return reply_store_failure(req, r, "reading the grant");
                if (g.uid != req->peer->uid || strcmp(g.user, req->peer->name) != 0)
                        return reply_error(req, EPERM, "fleet grant F%" PRId64 " is not yours to extend", id),
                               HANDLED;
                if (g.state != GRANT_ACTIVE || ending_contains(d->ending, g.id))
                        return reply_error(req, EALREADY, "fleet grant F%" PRId64 " is %s on host %s (local grant %"
                                           PRId64 "); only an active grant can be extended", id,
                                           grant_state_to_string(g.state), d->config->host, g.id), HANDLED;
                role = config_find_role(d->config, g.role);
                if (role && role->max_extensions == 0 &&
                    policy_extension_limit(role, g.starts_at, g.expires_at, 0, duration) ==
                    EXTENSION_PAST_MAX_DURATION) {
                        char lim[32];

                        duration_format(role->max_duration, lim, sizeof(lim));
                        return reply_error(req, ERANGE, "fleet grant F%" PRId64 " would last past role %s's maximum "
                                           "of %s from its activation (role %s allows no extensions beyond it)", id,
                                           role->name, lim, role->name), HANDLED;
                }
        }
        f = calloc(1, sizeof(*f));
        if (!f)
                return reply_error(req, ENOMEM, "out of memory"), HANDLED;
        f->d = d;
        f->id = id;
        f->duration = duration;
        snprintf(f->user, sizeof(f->user), "%s", req->peer->name);
        snprintf(f->reason, sizeof(f->reason), "%s", reason);
        snprintf(f->sid, sizeof(f->sid), "%" PRId64, id);
        snprintf(f->sdur, sizeof(f->sdur), "%" PRIu64, duration);
        params[0] = f->sid;
        r = fleet_mirror_query(d->fleet, ext_grant_sql, 1, params, on_ext_grant, f);
        if (r < 0) {
                free(f);
                if (r == -ENOTCONN)
                        return reply_error(req, EHOSTUNREACH, "the fleet database is unreachable; nothing was "
                                           "requested"), HANDLED;
                return reply_error(req, -r, "cannot ask the fleet database: %s", strerror(-r)), HANDLED;
        }
        f->serial = request_hold(req);
        return HANDLED_LATER;
}
