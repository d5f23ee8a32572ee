/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * list with [fleet]: this host's grants (listing.c, page by page), then the
 * fleet's open grants, read with one parameterised statement on the link,
 * one ok {message, details} each: the line a person reads ("fleet grant F12
 * of alice ...") and the grant as a JSON object for list --json:
 *
 *   {"id": "F12", "fleet_id": 12, "user": "alice", "role": "web-admin",
 *    "hosts": ["web-*"], "state": "open", "requested_at": "2026-11-23T14:04:00Z", "duration": S,
 *    "approvals_given": N, "here": {"grant": 7, "state": "active"} | null}
 *
 * --host PATTERN: the local part only when this host's name matches it;
 * the fleet part, the grants whose scope matches at least one of the
 * fleet's hosts (jit.hosts) that PATTERN matches (fleet_hosts.h), that is
 * the grants that may be enforced on one of those hosts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "conn.h"
#include "fleet_hosts.h"
#include "fleet_mirror.h"
#include "grants.h"
#include "handlers.h"
#include "handlers_fleet.h"
#include "store.h"

/* The fleet's open grants, of a user and of a role when given ($1, $2 NULL:
 * any), whose scope matches one of the hosts $3 (NULL: any); one more than
 * shown, to say there are more. */
#define FLEET_LIST_MAX 200
static const char list_sql[] =
        "SELECT g.id, g.user_name, g.role, pg_catalog.array_to_string(g.host_scope, ','), g.state, "
        "(SELECT pg_catalog.count(*) FROM jit.approvals a WHERE a.grant_id = g.id), "
        "pg_catalog.array_to_json(g.host_scope), "
        "pg_catalog.to_char(g.requested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), g.duration "
        "FROM jit.grants g WHERE g.state = 'open' AND ($1::text IS NULL OR g.user_name = $1::text) "
        "AND ($2::text IS NULL OR g.role = $2::text) "
        "AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM pg_catalog.unnest(g.host_scope) s(p), "
        "     pg_catalog.unnest(pg_catalog.string_to_array($3::text, ',')) h(n) "
        "     WHERE h.n ~* " FLEET_SQL_GLOB_RE("s.p") ")) "
        "ORDER BY g.id LIMIT 201";

struct fleet_list_req {
        struct jitd *d;
        uint64_t serial;
        struct store_filter f;
        bool no_local;
        char user[JIT_USER_MAX + 1];
        char role[JIT_ROLE_MAX + 1];
        char pattern[JIT_HOST_MAX + 1];
};

static json_object *int_col(const PGresult *res, int i, int col)
{
        return json_object_new_int64(strtoll(PQgetvalue(res, i, col), NULL, 10));
}

/* One line per fleet grant, and whether this host enforces it; its JSON
 * object in *ret_details. */
static char *fleet_list_line(struct jitd *d, const PGresult *res, int i, char **ret_details)
{
        const char *id = PQgetvalue(res, i, 0), *n = PQgetvalue(res, i, 5);
        char here[96] = "not enforced here", *line, ref[24];
        int64_t fid = strtoll(id, NULL, 10), local;
        struct jit_grant g;
        json_object *o = json_object_new_object(), *h = NULL, *scope;
        const char *text;

        if (fid > 0 && store_fleet_lookup(d->store, fid, &local) >= 0 && grants_get(d, local, &g) >= 0) {
                snprintf(here, sizeof(here), "%s here as grant %" PRId64 " (%s)",
                         g.state == GRANT_PENDING ? "waiting" : grant_state_is_open(g.state) ? "enforced" : "ended", local,
                         grant_state_to_string(g.state));
                h = json_object_new_object();
                json_object_object_add(h, "grant", json_object_new_int64(local));
                json_object_object_add(h, "state", json_object_new_string(grant_state_to_string(g.state)));
        }
        snprintf(ref, sizeof(ref), "F%s", id);
        json_object_object_add(o, "id", json_object_new_string(ref));
        json_object_object_add(o, "fleet_id", json_object_new_int64(fid));
        json_object_object_add(o, "user", json_object_new_string(PQgetvalue(res, i, 1)));
        json_object_object_add(o, "role", json_object_new_string(PQgetvalue(res, i, 2)));
        scope = json_tokener_parse(PQgetvalue(res, i, 6));
        json_object_object_add(o, "hosts", scope ? scope : json_object_new_array());
        json_object_object_add(o, "state", json_object_new_string(PQgetvalue(res, i, 4)));
        json_object_object_add(o, "requested_at", json_object_new_string(PQgetvalue(res, i, 7)));
        json_object_object_add(o, "duration", int_col(res, i, 8));
        json_object_object_add(o, "approvals_given", int_col(res, i, 5));
        json_object_object_add(o, "here", h);
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        *ret_details = text && strlen(text) <= 4096 ? strdup(text) : NULL;
        json_object_put(o);
        if (asprintf(&line, "fleet grant F%s of %s for %s on hosts %s: %s, %s approval%s; %s", id,
                     PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), n,
                     strcmp(n, "1") == 0 ? "" : "s", here) < 0) {
                free(*ret_details);
                *ret_details = NULL;
                return NULL;
        }
        return line;
}

static void fleet_list_send(struct fleet_list_req *l, struct list_tail *tail, size_t n)
{
        struct conn *c = conn_find(l->d->conns, l->serial);
        struct request req = { .d = l->d, .conn = c };

        if (!c) {
                list_tail_free(tail, n);
                return;
        }
        conn_release(c);
        (void) list_stream_start_full(&req, &l->f, l->no_local, tail, n);
}

/* The fleet part is one line saying why it is missing. */
static void fleet_list_fail(struct fleet_list_req *l, const char *fmt, const char *why)
{
        struct list_tail *tail = calloc(1, sizeof(*tail));

        if (tail && asprintf(&tail[0].message, fmt, why) < 0) {
                free(tail);
                tail = NULL;
        }
        fleet_list_send(l, tail, tail ? 1 : 0);
}

static void on_fleet_listed(int r, const PGresult *res, const char *why, void *userdata)
{
        struct fleet_list_req *l = userdata;
        struct list_tail *tail = NULL;
        size_t n = 0;
        int rows;

        if (r == -ECANCELED)
                goto out;
        if (r < 0) {
                fleet_list_fail(l, "the fleet part is unavailable: %s", r == -EIO && why ? why :
                                "the fleet database went away before it answered");
                goto out;
        }
        rows = PQntuples(res);
        tail = calloc((size_t) (rows > FLEET_LIST_MAX ? FLEET_LIST_MAX : rows) + 2, sizeof(*tail));
        if (!tail) {
                fleet_list_send(l, NULL, 0);    /* the local listing at least */
                goto out;
        }
        if (rows == 0 && asprintf(&tail[n].message, "no open fleet grant%s%s", l->pattern[0] ? " for hosts " : "",
                                  l->pattern) >= 0)
                n++;
        for (int i = 0; i < rows && i < FLEET_LIST_MAX; i++)
                if ((tail[n].message = fleet_list_line(l->d, res, i, &tail[n].details)))
                        n++;
        if (rows > FLEET_LIST_MAX && asprintf(&tail[n].message, "more open fleet grants are not shown: narrow "
                                              "with --user, --role or --host") >= 0)
                n++;
        fleet_list_send(l, tail, n);
out:
        free(l);
}

static int list_query(struct fleet_list_req *l, const char *hosts)
{
        const char *params[3] = { l->f.user, l->f.role, hosts };

        return fleet_mirror_query(l->d->fleet, list_sql, 3, params, on_fleet_listed, l);
}

static void on_hosts(int r, const char *names, size_t n, const char *why, void *userdata)
{
        struct fleet_list_req *l = userdata;

        if (r == -ECANCELED) {
                free(l);
                return;
        }
        if (r < 0) {
                fleet_list_fail(l, "the fleet part is unavailable: %s", r == -EIO && why ? why :
                                "the fleet database went away before it answered");
                free(l);
                return;
        }
        if (n == 0) {
                fleet_list_fail(l, "no host of the fleet matches %s", l->pattern);
                free(l);
                return;
        }
        r = list_query(l, names);
        if (r < 0) {
                fleet_list_fail(l, "the fleet part is unavailable: %s", "the fleet database is unreachable");
                free(l);
        }
}

int fleet_list(struct request *req, const struct store_filter *f, const char *pattern)
{
        struct fleet_list_req *l = calloc(1, sizeof(*l));
        struct list_tail *tail;
        int r;

        if (!l)
                return reply_error(req, ENOMEM, "out of memory"), HANDLED;
        l->d = req->d;
        l->f = *f;
        if (f->user) {
                snprintf(l->user, sizeof(l->user), "%s", f->user);
                l->f.user = l->user;
        }
        if (f->role) {
                snprintf(l->role, sizeof(l->role), "%s", f->role);
                l->f.role = l->role;
        }
        if (pattern) {
                snprintf(l->pattern, sizeof(l->pattern), "%s", pattern);
                l->no_local = !policy_pattern_matches(pattern, req->d->config->host);
                r = fleet_hosts_matching(req->d, l->pattern, on_hosts, l);
        } else
                r = list_query(l, NULL);
        if (r >= 0) {
                l->serial = request_hold(req);
                return HANDLED_LATER;
        }
        /* The local listing stands; one line says what is missing. */
        tail = calloc(1, sizeof(*tail));
        if (tail && asprintf(&tail[0].message, "the fleet part is unavailable: %s", r == -ENOTCONN ?
                             "the fleet database is unreachable" : strerror(-r)) < 0) {
                free(tail);
                tail = NULL;
        }
        r = list_stream_start_full(req, &l->f, l->no_local, tail, tail ? 1 : 0);
        free(l);
        return r;
}
