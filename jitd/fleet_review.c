/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * review with [fleet]: the fleet's break-glass grants awaiting review on the
 * other hosts, after this host's own (fleet_review.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "conn.h"
#include "fleet_mirror.h"
#include "fleet_review.h"
#include "handlers.h"
#include "store.h"

/* The other hosts' break-glass events ($1: this host) with no "reviewed"
 * event for the same (host, host_grant), oldest first; one more than shown,
 * to say there are more. */
static const char review_sql[] =
        "SELECT a.host, a.host_grant, a.actor, COALESCE(a.actor_uid, -1), "
        "pg_catalog.to_char(a.event_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), a.details "
        "FROM jit.audit a WHERE a.event = 'break-glass' AND a.host_grant > 0 AND a.host <> $1::text "
        "AND NOT EXISTS (SELECT 1 FROM jit.audit r WHERE r.host = a.host AND r.host_grant = a.host_grant "
        "  AND r.event = 'reviewed') "
        "ORDER BY a.event_at, a.host, a.host_grant LIMIT 201";

struct fleet_review_req {
        struct jitd *d;
        uint64_t serial;
        struct store_filter f;
};

static const char *field_str(json_object *o, const char *key)
{
        json_object *v = NULL;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int64_t field_int(json_object *o, const char *key)
{
        json_object *v = NULL;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return 0;
        return json_object_get_int64(v);
}

int fleet_review_entry(const char *host, int64_t grant, const char *user, int64_t uid, const char *used_at,
                       const char *details, char **ret_line, char **ret_details)
{
        /* The host wrote details; json-c parses it (at most 4096 bytes, the
         * schema's CHECK), and what is not as expected shows as "?". */
        json_object *d = details ? json_tokener_parse(details) : NULL;
        json_object *o = json_object_new_object();
        const char *role = field_str(d, "role"), *reason = field_str(d, "reason"), *text;
        int64_t duration = field_int(d, "duration");
        char *line = NULL, *js = NULL;
        int r = -ENOMEM;

        if (!o)
                goto out;
        json_object_object_add(o, "host", json_object_new_string(host));
        json_object_object_add(o, "grant", json_object_new_int64(grant));
        json_object_object_add(o, "user", json_object_new_string(user));
        json_object_object_add(o, "uid", uid >= 0 ? json_object_new_int64(uid) : NULL);
        json_object_object_add(o, "role", json_object_new_string(role ? role : "?"));
        json_object_object_add(o, "reason", json_object_new_string(reason ? reason : ""));
        json_object_object_add(o, "duration", json_object_new_int64(duration));
        json_object_object_add(o, "used_at", json_object_new_string(used_at));
        json_object_object_add(o, "review", json_object_new_string("pending"));
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text || !(js = strdup(text)))
                goto out;
        if (asprintf(&line, "break-glass grant %" PRId64 " on %s of %s for %s at %s, awaiting review: %s", grant,
                     host, user, role ? role : "?", used_at, reason && reason[0] ? reason : "(no reason)") < 0) {
                line = NULL;
                goto out;
        }
        *ret_line = line;
        *ret_details = js;
        line = js = NULL;
        r = 0;
out:
        free(line);
        free(js);
        json_object_put(o);
        json_object_put(d);
        return r;
}

static void review_send(struct fleet_review_req *l, struct list_tail *tail, size_t n)
{
        struct conn *c = conn_find(l->d->conns, l->serial);
        struct request req = { .d = l->d, .conn = c };

        if (!c) {
                list_tail_free(tail, n);
                return;
        }
        conn_release(c);
        (void) list_stream_start_reviews(&req, &l->f, tail, n);
}

/* The fleet part is one line saying why it is missing; its details say so
 * to review --json --fleet. */
static struct list_tail *unavailable(const char *why)
{
        struct list_tail *tail = calloc(1, sizeof(*tail));
        json_object *o = json_object_new_object();
        const char *text;

        if (!tail || !o)
                goto fail;
        json_object_object_add(o, "error", json_object_new_string(why));
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text || !(tail->details = strdup(text)) ||
            asprintf(&tail->message, "the fleet part is unavailable: %s", why) < 0)
                goto fail;
        json_object_put(o);
        return tail;
fail:
        if (tail)
                free(tail->details);
        free(tail);
        json_object_put(o);
        return NULL;
}

static void on_reviews(int r, const PGresult *res, const char *why, void *userdata)
{
        struct fleet_review_req *l = userdata;
        struct list_tail *tail = NULL;
        size_t n = 0;
        int rows;

        if (r == -ECANCELED)
                goto out;
        if (r < 0) {
                tail = unavailable(r == -EIO && why ? why : "the fleet database went away before it answered");
                review_send(l, tail, tail ? 1 : 0);
                goto out;
        }
        rows = PQntuples(res);
        tail = calloc((size_t) (rows > FLEET_REVIEW_MAX ? FLEET_REVIEW_MAX : rows) + 1, sizeof(*tail));
        if (!tail) {
                review_send(l, NULL, 0);        /* the local listing at least */
                goto out;
        }
        if (rows == 0 && asprintf(&tail[n].message, "no break-glass grant of another host awaits review") >= 0)
                n++;
        for (int i = 0; i < rows && i < FLEET_REVIEW_MAX; i++)
                if (fleet_review_entry(PQgetvalue(res, i, 0), strtoll(PQgetvalue(res, i, 1), NULL, 10),
                                       PQgetvalue(res, i, 2), strtoll(PQgetvalue(res, i, 3), NULL, 10),
                                       PQgetvalue(res, i, 4), PQgetvalue(res, i, 5), &tail[n].message,
                                       &tail[n].details) >= 0)
                        n++;
        if (rows > FLEET_REVIEW_MAX && asprintf(&tail[n].message, "more break-glass grants of other hosts await "
                                                "review: the oldest %d are shown", FLEET_REVIEW_MAX) >= 0) {
                tail[n].details = strdup("{\"more\":true}");
                n++;
        }
        review_send(l, tail, n);
out:
        free(l);
}

int fleet_review_list(struct request *req, const struct store_filter *f)
{
        struct fleet_review_req *l = calloc(1, sizeof(*l));
        const char *params[1] = { req->d->config->host };
        struct list_tail *tail;
        int r;

        if (!l)
                return reply_error(req, ENOMEM, "out of memory"), HANDLED;
        l->d = req->d;
        l->f = *f;
        r = fleet_mirror_query(req->d->fleet, review_sql, 1, params, on_reviews, l);
        if (r >= 0) {
                l->serial = request_hold(req);
                return HANDLED_LATER;
        }
        /* The local listing stands; one line says what is missing. */
        tail = unavailable(r == -ENOTCONN ? "the fleet database is unreachable" : strerror(-r));
        free(l);
        return list_stream_start_reviews(req, f, tail, tail ? 1 : 0);
}
