/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * show F12: one fleet grant as the fleet knows it, as one JSON document
 * (json_reply.h; jitctl renders it, jitctl/fleet_view.c):
 *
 *   {"fleet_id": 12, "origin_host": "web-01", "user": "alice", "role": "web-admin",
 *    "hosts": ["web-*"], "duration": 3600, "ticket": null, "reason": "...", "break_glass": false,
 *    "requested_at": T, "state": "open" | "revoked" | ..., "ended_at": T | null,
 *    "end": {"kind", "by", "host", "reason", "at"} | null,
 *    "approvals": [{"approver", "host", "at", "note"}, ...],
 *    "approvals_needed_here": N | null          (null: this host has no such role),
 *    "here": {"host": H, "grant": N | null, "state": "active" | null, "expires_at": T | null},
 *    "hosts": [{"host", "events", "enforced_at": T | null, "ended_at": T | null,
 *               "last_event": "...", "refused": [{"at": T, "why": "..."}]}, ...],
 *    "per_host_note": "..."                        (only when the audit part is unavailable)}
 *
 * "hosts" comes from the uploaded audit (jit.audit rows whose grant_id is
 * the fleet id): enforced_at is a host's first activated or scheduled event,
 * ended_at its last end event (expired, revoked, released, denied,
 * cancelled), refused its fleet-refused events with their reasons. Whether
 * an approval's signature verifies on this host is not re-checked here:
 * "here" says whether this host enforces the grant, which it does only once
 * the signatures verified against its allowed_signers.
 *
 * Who may see it: its user, and approvers and admins (as a local grant).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fleet_mirror.h"
#include "grants.h"
#include "handlers_fleet.h"
#include "json_reply.h"
#include "store.h"

#define EPOCH(x) "pg_catalog.floor(pg_catalog.date_part('epoch', " x "))::bigint"

static const char grant_sql[] =
        "SELECT g.id, g.origin_host, g.user_name, g.role, pg_catalog.array_to_json(g.host_scope), g.duration, "
        "g.ticket, g.reason, g.break_glass, " EPOCH("g.requested_at") ", g.state, " EPOCH("g.ended_at") ", "
        "r.kind, r.by_user, r.reason, r.host, " EPOCH("r.revoked_at") ", "
        "(SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.approver, a.host, " EPOCH("a.approved_at") ", "
        "        a.note) ORDER BY a.approved_at, a.approver) FROM jit.approvals a WHERE a.grant_id = g.id), "
        "(SELECT pg_catalog.json_agg(pg_catalog.json_build_array(x.n, x.duration, x.host, " EPOCH("x.requested_at") ", "
        "        x.reason, (SELECT pg_catalog.string_agg(ea.approver, ',' ORDER BY ea.approved_at, ea.approver) "
        "                   FROM jit.extension_approvals ea WHERE ea.grant_id = x.grant_id AND ea.n = x.n)) "
        "        ORDER BY x.n) FROM jit.extensions x WHERE x.grant_id = g.id) "
        "FROM jit.grants g LEFT JOIN jit.revocations r ON r.grant_id = g.id WHERE g.id = $1::bigint";

/* At most this many hosts: a grant's scope is at most 64 patterns, but a
 * pattern may cover thousands of hosts; the document must stay bounded. */
#define SHOW_HOSTS_MAX 1000
static const char hosts_sql[] =
        "SELECT a.host, pg_catalog.count(*), "
        EPOCH("pg_catalog.min(a.event_at) FILTER (WHERE a.event IN ('activated', 'scheduled'))") ", "
        EPOCH("pg_catalog.max(a.event_at) FILTER (WHERE a.event IN ('expired', 'revoked', 'released', 'denied', "
              "'cancelled'))") ", "
        "(pg_catalog.array_agg(a.event ORDER BY a.host_seq DESC))[1], "
        "pg_catalog.json_agg(pg_catalog.json_build_array(" EPOCH("a.event_at") ", a.details) ORDER BY a.host_seq) "
        "  FILTER (WHERE a.event = 'fleet-refused') "
        "FROM jit.audit a WHERE a.grant_id = $1::bigint GROUP BY a.host ORDER BY a.host LIMIT 1001";

struct show_req {
        struct jitd *d;
        uint64_t serial;
        int64_t id;
        char sid[24];
        char peer[JIT_USER_MAX + 1];
        bool see_all;
        json_object *doc;
};

static void show_free(struct show_req *s)
{
        if (!s)
                return;
        json_object_put(s->doc);
        free(s);
}

static json_object *int_or_null(const PGresult *res, int row, int col)
{
        if (PQgetisnull(res, row, col))
                return NULL;
        return json_object_new_int64(strtoll(PQgetvalue(res, row, col), NULL, 10));
}

static json_object *str_or_null(const PGresult *res, int row, int col)
{
        const char *v = PQgetvalue(res, row, col);

        return PQgetisnull(res, row, col) || !v[0] ? NULL : json_object_new_string(v);
}

/* A JSON text from the database, parsed; an empty array when NULL. */
static json_object *json_col(const PGresult *res, int row, int col)
{
        json_object *o = PQgetisnull(res, row, col) ? NULL : json_tokener_parse(PQgetvalue(res, row, col));

        return o ? o : json_object_new_array();
}

static void add(json_object *o, const char *key, json_object *v)
{
        json_object_object_add(o, key, v);
}

static void finish(struct show_req *s)
{
        const char *text = json_object_to_json_string_ext(s->doc, JSON_C_TO_STRING_PLAIN);

        later_reply_json(s->d, s->serial, text ? strdup(text) : NULL);
        show_free(s);
}

/* The approvals as [approver, host, at, note] arrays, into objects. */
static json_object *approvals(const PGresult *res, int col)
{
        json_object *in = json_col(res, 0, col), *out = json_object_new_array();
        size_t n = json_object_is_type(in, json_type_array) ? json_object_array_length(in) : 0;

        for (size_t i = 0; i < n; i++) {
                json_object *a = json_object_array_get_idx(in, i), *o = json_object_new_object();

                add(o, "approver", json_object_get(json_object_array_get_idx(a, 0)));
                add(o, "host", json_object_get(json_object_array_get_idx(a, 1)));
                add(o, "at", json_object_get(json_object_array_get_idx(a, 2)));
                add(o, "note", json_object_get(json_object_array_get_idx(a, 3)));
                json_object_array_add(out, o);
        }
        json_object_put(in);
        return out;
}

/* The extensions as [n, adds, host, at, reason, approvers] arrays, into
 * objects, each saying whether this host added it to its copy. */
static json_object *extensions(struct store *st, int64_t id, const PGresult *res, int col)
{
        json_object *in = json_col(res, 0, col), *out = json_object_new_array();
        size_t n = json_object_is_type(in, json_type_array) ? json_object_array_length(in) : 0;

        for (size_t i = 0; i < n; i++) {
                json_object *x = json_object_array_get_idx(in, i), *o = json_object_new_object();
                int64_t k = json_object_get_int64(json_object_array_get_idx(x, 0));
                unsigned applied;
                bool has = false;

                add(o, "n", json_object_get(json_object_array_get_idx(x, 0)));
                add(o, "adds", json_object_get(json_object_array_get_idx(x, 1)));
                add(o, "host", json_object_get(json_object_array_get_idx(x, 2)));
                add(o, "at", json_object_get(json_object_array_get_idx(x, 3)));
                add(o, "reason", json_object_get(json_object_array_get_idx(x, 4)));
                add(o, "approvers", json_object_get(json_object_array_get_idx(x, 5)));
                add(o, "added_here", store_fleet_extension_state(st, id, k, &applied, &has) >= 0 ?
                    json_object_new_boolean(has) : NULL);
                json_object_array_add(out, o);
        }
        json_object_put(in);
        return out;
}

/* What this host does with it: its copy, if it has one. */
static json_object *here(struct jitd *d, int64_t id)
{
        json_object *o = json_object_new_object();
        struct jit_grant g;
        int64_t local = 0;

        add(o, "host", json_object_new_string(d->config->host));
        if (store_fleet_lookup(d->store, id, &local) >= 0 && grants_get(d, local, &g) >= 0) {
                add(o, "grant", json_object_new_int64(local));
                add(o, "state", json_object_new_string(grant_state_to_string(g.state)));
                add(o, "expires_at", g.expires_at > 0 ? json_object_new_int64(g.expires_at) : NULL);
        } else {
                add(o, "grant", NULL);
                add(o, "state", NULL);
                add(o, "expires_at", NULL);
        }
        return o;
}

static void on_hosts(int r, const PGresult *res, const char *why, void *userdata)
{
        struct show_req *s = userdata;
        json_object *hosts = json_object_new_array();
        int rows;

        if (r == -ECANCELED) {
                json_object_put(hosts);
                show_free(s);
                return;
        }
        if (r < 0) {
                /* The grant stands; the hosts' part says why it is missing. */
                add(s->doc, "per_host", hosts);
                add(s->doc, "per_host_note", json_object_new_string(why ? why :
                                                                 "the fleet database went away before it answered"));
                finish(s);
                return;
        }
        rows = PQntuples(res);
        for (int i = 0; i < rows && i < SHOW_HOSTS_MAX; i++) {
                json_object *h = json_object_new_object(), *ref = json_col(res, i, 5), *refused;
                size_t n = json_object_is_type(ref, json_type_array) ? json_object_array_length(ref) : 0;

                add(h, "host", json_object_new_string(PQgetvalue(res, i, 0)));
                add(h, "events", int_or_null(res, i, 1));
                add(h, "enforced_at", int_or_null(res, i, 2));
                add(h, "ended_at", int_or_null(res, i, 3));
                add(h, "last_event", str_or_null(res, i, 4));
                refused = json_object_new_array();
                for (size_t k = 0; k < n; k++) {
                        json_object *e = json_object_array_get_idx(ref, k), *o = json_object_new_object(), *d, *w;
                        const char *details = json_object_get_string(json_object_array_get_idx(e, 1));

                        add(o, "at", json_object_get(json_object_array_get_idx(e, 0)));
                        d = details ? json_tokener_parse(details) : NULL;
                        w = d && json_object_object_get_ex(d, "why", &w) ? json_object_get(w) : NULL;
                        add(o, "why", w ? w : json_object_new_string(details ? details : ""));
                        json_object_put(d);
                        json_object_array_add(refused, o);
                }
                json_object_put(ref);
                add(h, "refused", refused);
                json_object_array_add(hosts, h);
        }
        add(s->doc, "per_host", hosts);
        if (rows > SHOW_HOSTS_MAX)
                add(s->doc, "per_host_note", json_object_new_string("more hosts recorded events about it than are "
                                                                 "shown (" "1000" ")"));
        finish(s);
}

static void on_grant(int r, const PGresult *res, const char *why, void *userdata)
{
        struct show_req *s = userdata;
        const struct role *role;
        json_object *o, *end;
        const char *params[1] = { s->sid };
        int k;

        if (r == -ECANCELED)
                goto out;
        if (r < 0) {
                later_reply_error(s->d, s->serial, r == -EIO ? EIO : EHOSTUNREACH, "fleet grant F%" PRId64 ": %s",
                                  s->id, r == -EIO && why ? why : "the fleet database went away before it answered");
                goto out;
        }
        /* Someone else's grant is "no such grant" to who may not see it. */
        if (PQntuples(res) != 1 || (!s->see_all && strcmp(PQgetvalue(res, 0, 2), s->peer) != 0)) {
                later_reply_error(s->d, s->serial, ENOENT, "no fleet grant F%" PRId64, s->id);
                goto out;
        }
        o = s->doc = json_object_new_object();
        if (!o) {
                later_reply_error(s->d, s->serial, ENOMEM, "out of memory");
                goto out;
        }
        add(o, "fleet_id", json_object_new_int64(s->id));
        add(o, "origin_host", json_object_new_string(PQgetvalue(res, 0, 1)));
        add(o, "user", json_object_new_string(PQgetvalue(res, 0, 2)));
        add(o, "role", json_object_new_string(PQgetvalue(res, 0, 3)));
        add(o, "hosts", json_col(res, 0, 4));
        add(o, "duration", int_or_null(res, 0, 5));
        add(o, "ticket", str_or_null(res, 0, 6));
        add(o, "reason", json_object_new_string(PQgetvalue(res, 0, 7)));
        add(o, "break_glass", json_object_new_boolean(strcmp(PQgetvalue(res, 0, 8), "t") == 0));
        add(o, "requested_at", int_or_null(res, 0, 9));
        add(o, "state", json_object_new_string(PQgetvalue(res, 0, 10)));
        add(o, "ended_at", int_or_null(res, 0, 11));
        if (PQgetisnull(res, 0, 12))
                end = NULL;
        else {
                end = json_object_new_object();
                add(end, "kind", json_object_new_string(PQgetvalue(res, 0, 12)));
                add(end, "by", json_object_new_string(PQgetvalue(res, 0, 13)));
                add(end, "host", json_object_new_string(PQgetvalue(res, 0, 15)));
                add(end, "reason", json_object_new_string(PQgetvalue(res, 0, 14)));
                add(end, "at", int_or_null(res, 0, 16));
        }
        add(o, "end", end);
        add(o, "approvals", approvals(res, 17));
        add(o, "extensions", extensions(s->d->store, s->id, res, 18));
        role = config_find_role(s->d->config, PQgetvalue(res, 0, 3));
        add(o, "approvals_needed_here", role ? json_object_new_int64(role->approvals) : NULL);
        add(o, "here", here(s->d, s->id));
        k = fleet_mirror_query(s->d->fleet, hosts_sql, 1, params, on_hosts, s);
        if (k < 0)
                on_hosts(-ENOTCONN, NULL, "the fleet database is unreachable", s);
        return;
out:
        show_free(s);
}

int fleet_show(struct request *req, int64_t id)
{
        struct show_req *s = calloc(1, sizeof(*s));
        const char *params[1];
        int r;

        if (!s)
                return reply_error(req, ENOMEM, "out of memory"), HANDLED;
        s->d = req->d;
        s->id = id;
        s->see_all = request_may_see_all(req);
        snprintf(s->peer, sizeof(s->peer), "%s", req->peer->name);
        snprintf(s->sid, sizeof(s->sid), "%" PRId64, id);
        params[0] = s->sid;
        r = fleet_mirror_query(req->d->fleet, grant_sql, 1, params, on_grant, s);
        if (r < 0) {
                show_free(s);
                return reply_error(req, EHOSTUNREACH, "fleet grant F%" PRId64 ": %s", id,
                                   r == -ENOTCONN ? "the fleet database is unreachable" : strerror(-r)), HANDLED;
        }
        s->serial = request_hold(req);
        return HANDLED_LATER;
}
