/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * audit and audit verify with [fleet]: every host's events as the fleet
 * holds them (jit.audit, uploaded by each host; schema version 2).
 *
 * audit: a stream of PROTO_REP_EVENT, in the order the fleet received them
 * (jit.audit.seq: each host's own events in their order), each with the
 * host's name (PF_HOST), its place in the host's chain (PF_COUNT), the
 * host's grant id (PF_ID) and the fleet grant's (PF_FLEET_ID). It is read a
 * page of FA_PAGE rows at a time, and the next page only once the client has
 * read the last one (conn_stream's CONN_STREAM_WAIT): at most one page per
 * connection is held, and the connection's queue cap still applies. A page
 * that cannot be read ends the stream with an ok {message} saying so.
 *
 * audit verify: for each host (of --host), its chain recomputed from the
 * fleet copy, FV_PAGE rows per statement, one statement at a time: the loop
 * hashes at most FV_PAGE events between two turns. A plain chain is
 * recomputed with audit_hash_plain (jitd/audit.c: the formula the host
 * used); after an audit-key event naming a key, the events are HMACs under a
 * key that is not here: each is checked to link to the one before
 * (prev_hash), not recomputed. The first bad event of a host is reported
 * with why; the other hosts go on.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "conn.h"
#include "audit_stream.h"
#include "fleet_audit.h"
#include "fleet_hosts.h"
#include "fleet_mirror.h"
#include "handlers.h"
#include "json_reply.h"

#define EPOCH(x) "pg_catalog.floor(pg_catalog.date_part('epoch', " x "))::bigint"

/* ---- audit -------------------------------------------------------------- */

#define FA_PAGE 64
static const char page_sql[] =
        "SELECT a.seq, a.host, a.host_seq, " EPOCH("a.event_at") ", COALESCE(a.actor_uid, 0), a.actor, "
        "COALESCE(a.host_grant, 0), a.grant_id, a.event, pg_catalog.\"left\"(a.details, 4097), a.hash "
        "FROM jit.audit a WHERE a.seq > $1::bigint "
        "AND ($2::bigint IS NULL OR a.event_at >= pg_catalog.to_timestamp($2::bigint)) "
        "AND ($3::bigint IS NULL OR a.grant_id = $3::bigint) "
        "AND ($4::text IS NULL OR a.host = ANY (pg_catalog.string_to_array($4::text, ','))) "
        "ORDER BY a.seq LIMIT 64";

struct fa_row {
        int64_t seq, host_seq, at, actor_uid, host_grant, grant;
        char host[JIT_HOST_MAX + 1];
        char actor[65];
        char event[65];
        char hash[STORE_HASH_LEN + 1];
        char *details;
};

struct fa_stream {
        struct jitd *d;
        uint64_t serial;
        char since[24], grant[24];
        char *hosts;                    /* NULL: every host */
        char pattern[JIT_HOST_MAX + 1];
        int64_t cursor;
        struct fa_row rows[FA_PAGE];
        size_t n, i;
        uint64_t count;
        bool in_flight, orphan, last;
        char *notice;                   /* an ok {message} to send before the end */
};

static void rows_clear(struct fa_stream *s)
{
        for (size_t k = 0; k < s->n; k++)
                free(s->rows[k].details);
        s->n = s->i = 0;
}

static void fa_free(struct fa_stream *s)
{
        rows_clear(s);
        free(s->hosts);
        free(s->notice);
        free(s);
}

/* The connection's end of the stream: a statement in flight keeps the
 * state until its answer comes (on_page frees it then). */
static void fa_stream_free(void *state)
{
        struct fa_stream *s = state;

        if (!s)
                return;
        if (s->in_flight) {
                s->orphan = true;
                return;
        }
        fa_free(s);
}

static void fa_fail(struct fa_stream *s, const char *fmt, const char *why)
{
        free(s->notice);
        if (asprintf(&s->notice, fmt, why) < 0)
                s->notice = NULL;
        s->last = true;
}

static void resume(struct fa_stream *s)
{
        conn_stream_resume(conn_find(s->d->conns, s->serial));
}

static void copy(char *dst, size_t size, const char *src)
{
        snprintf(dst, size, "%s", src ? src : "");
}

static void on_page(int r, const PGresult *res, const char *why, void *userdata)
{
        struct fa_stream *s = userdata;
        int rows;

        s->in_flight = false;
        if (s->orphan || r == -ECANCELED) {
                if (s->orphan)
                        fa_free(s);
                return;
        }
        if (r < 0) {
                fa_fail(s, "the fleet's audit was cut short: %s", r == -EIO && why ? why :
                        "the fleet database went away before it answered");
                resume(s);
                return;
        }
        rows_clear(s);
        rows = PQntuples(res);
        for (int k = 0; k < rows && k < FA_PAGE; k++) {
                struct fa_row *w = &s->rows[s->n];

                *w = (struct fa_row) {
                        .seq = strtoll(PQgetvalue(res, k, 0), NULL, 10),
                        .host_seq = strtoll(PQgetvalue(res, k, 2), NULL, 10),
                        .at = strtoll(PQgetvalue(res, k, 3), NULL, 10),
                        .actor_uid = strtoll(PQgetvalue(res, k, 4), NULL, 10),
                        .host_grant = strtoll(PQgetvalue(res, k, 6), NULL, 10),
                        .grant = PQgetisnull(res, k, 7) ? 0 : strtoll(PQgetvalue(res, k, 7), NULL, 10),
                };
                copy(w->host, sizeof(w->host), PQgetvalue(res, k, 1));
                copy(w->actor, sizeof(w->actor), PQgetvalue(res, k, 5));
                copy(w->event, sizeof(w->event), PQgetvalue(res, k, 8));
                copy(w->hash, sizeof(w->hash), PQgetvalue(res, k, 10));
                w->details = strdup(PQgetvalue(res, k, 9));
                s->cursor = w->seq;
                s->n++;
        }
        s->last = rows < FA_PAGE;
        resume(s);
}

static int fa_query(struct fa_stream *s)
{
        char cursor[24];
        const char *params[4] = { cursor, s->since[0] ? s->since : NULL, s->grant[0] ? s->grant : NULL, s->hosts };
        int r;

        snprintf(cursor, sizeof(cursor), "%" PRId64, s->cursor);
        r = fleet_mirror_query(s->d->fleet, page_sql, 4, params, on_page, s);
        if (r >= 0)
                s->in_flight = true;
        return r;
}

static int fa_send(struct conn *c, struct fa_stream *s, const struct fa_row *w)
{
        struct proto_msg m;
        char event[32];

        proto_init(&m, PROTO_REP_EVENT);
        proto_set_str(&m, PF_HOST, w->host);
        proto_set_u64(&m, PF_COUNT, (uint64_t) w->host_seq);
        proto_set_u64(&m, PF_NOW, (uint64_t) (w->at > 0 ? w->at : 0));
        proto_set_u64(&m, PF_UID, (uint64_t) (w->actor_uid > 0 ? w->actor_uid : 0));
        if (proto_set_str(&m, PF_ACTOR, w->actor) < 0)
                proto_set_str(&m, PF_ACTOR, "?");
        if (w->host_grant > 0)
                proto_set_u64(&m, PF_ID, (uint64_t) w->host_grant);
        if (w->grant > 0)
                proto_set_u64(&m, PF_FLEET_ID, (uint64_t) w->grant);
        /* The protocol's event field is shorter than the schema's. */
        snprintf(event, sizeof(event), "%s", w->event);
        proto_set_str(&m, PF_EVENT, event);
        proto_set_str(&m, PF_HASH, w->hash);
        if (!w->details || proto_set_str(&m, PF_DETAILS, w->details[0] ? w->details : "{}") < 0)
                proto_set_str(&m, PF_DETAILS, "{\"truncated\":true}");
        if (conn_send(c, &m) < 0)
                return -EPIPE;
        s->count++;
        return 0;
}

static int fa_next(struct conn *c, void *state)
{
        struct fa_stream *s = state;
        struct proto_msg m;

        if (s->i < s->n) {
                if (fa_send(c, s, &s->rows[s->i]) < 0)
                        return -EPIPE;
                s->i++;
                return 1;
        }
        if (s->in_flight)
                return CONN_STREAM_WAIT;
        if (!s->last) {
                if (fa_query(s) >= 0)
                        return CONN_STREAM_WAIT;
                fa_fail(s, "the fleet's audit was cut short: %s", "the fleet database is unreachable");
        }
        if (s->notice) {
                proto_init(&m, PROTO_REP_OK);
                proto_set_str(&m, PF_MESSAGE, s->notice);
                free(s->notice);
                s->notice = NULL;
                if (conn_send(c, &m) < 0)
                        return -EPIPE;
                return 1;
        }
        proto_init(&m, PROTO_REP_END);
        proto_set_u64(&m, PF_COUNT, s->count);
        return conn_send(c, &m) < 0 ? -EPIPE : 0;
}

static void fa_on_hosts(int r, const char *names, size_t n, const char *why, void *userdata)
{
        struct fa_stream *s = userdata;

        s->in_flight = false;
        if (s->orphan || r == -ECANCELED) {
                if (s->orphan)
                        fa_free(s);
                return;
        }
        if (r < 0)
                fa_fail(s, "the fleet's audit is unavailable: %s", r == -EIO && why ? why :
                        "the fleet database went away before it answered");
        else if (n == 0)
                fa_fail(s, "no host of the fleet matches %s", s->pattern);
        else if (!(s->hosts = strdup(names)))
                fa_fail(s, "%s", "out of memory");
        resume(s);
}

int fleet_audit_stream(struct request *req, int64_t since, int64_t fleet_grant, const char *pattern)
{
        struct fa_stream *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return reply_error(req, ENOMEM, "out of memory"), HANDLED;
        s->d = req->d;
        s->serial = conn_serial(req->conn);
        if (since > 0)
                snprintf(s->since, sizeof(s->since), "%" PRId64, since);
        if (fleet_grant > 0)
                snprintf(s->grant, sizeof(s->grant), "%" PRId64, fleet_grant);
        if (pattern) {
                snprintf(s->pattern, sizeof(s->pattern), "%s", pattern);
                r = fleet_hosts_matching(req->d, s->pattern, fa_on_hosts, s);
                if (r >= 0)
                        s->in_flight = true;
        } else
                r = fa_query(s);
        if (r < 0) {
                fa_free(s);
                /* This host's trail at least, and a line saying why. */
                return audit_local_stream(req, since, 0, r == -ENOTCONN ? "the fleet's audit is unavailable (the "
                                          "fleet database is unreachable): this host's trail follows" :
                                          "the fleet's audit is unavailable: this host's trail follows");
        }
        (void) conn_stream(req->conn, fa_next, s, fa_stream_free);
        return HANDLED;
}

/* ---- audit verify --------------------------------------------------------- */

#define FV_PAGE 256
static const char chain_sql[] =
        "SELECT a.host_seq, " EPOCH("a.event_at") ", a.actor_uid, a.actor, a.host_grant, a.event, a.details, "
        "a.prev_hash, a.hash FROM jit.audit a WHERE a.host = $1 AND a.host_seq > $2::bigint "
        "ORDER BY a.host_seq LIMIT 256";

struct fv_host {
        int64_t expect, events, first_at, last_at, bad, keyed_from, keyed;
        char prev[STORE_HASH_LEN + 1];
        char why[200];
};

struct fv_req {
        struct jitd *d;
        uint64_t serial;
        json_object *doc, *hosts;
        char **names;
        size_t n_names, at;
        struct fv_host h;
        char pattern[JIT_HOST_MAX + 1];
};

static void fv_free(struct fv_req *v)
{
        if (!v)
                return;
        json_object_put(v->doc);
        json_object_put(v->hosts);
        strv_free(v->names);
        free(v);
}

static void fv_finish(struct fv_req *v, const char *error)
{
        json_object *fleet = json_object_new_object();
        const char *text;

        json_object_object_add(fleet, "hosts", v->hosts);
        v->hosts = NULL;
        if (v->pattern[0])
                json_object_object_add(fleet, "pattern", json_object_new_string(v->pattern));
        if (error)
                json_object_object_add(fleet, "error", json_object_new_string(error));
        json_object_object_add(v->doc, "fleet", fleet);
        text = json_object_to_json_string_ext(v->doc, JSON_C_TO_STRING_PLAIN);
        later_reply_json(v->d, v->serial, text ? strdup(text) : NULL);
        fv_free(v);
}

static void host_done(struct fv_req *v)
{
        json_object *o = json_object_new_object();
        struct fv_host *h = &v->h;

        json_object_object_add(o, "host", json_object_new_string(v->names[v->at]));
        json_object_object_add(o, "events", json_object_new_int64(h->events));
        json_object_object_add(o, "first_at", h->first_at ? json_object_new_int64(h->first_at) : NULL);
        json_object_object_add(o, "last_at", h->last_at ? json_object_new_int64(h->last_at) : NULL);
        json_object_object_add(o, "intact", json_object_new_boolean(h->bad == 0));
        json_object_object_add(o, "bad_seq", h->bad ? json_object_new_int64(h->bad) : NULL);
        json_object_object_add(o, "why", h->bad ? json_object_new_string(h->why) : NULL);
        json_object_object_add(o, "keyed_from", h->keyed_from ? json_object_new_int64(h->keyed_from) : NULL);
        json_object_object_add(o, "keyed_events", json_object_new_int64(h->keyed));
        json_object_array_add(v->hosts, o);
}

static void fv_next_host(struct fv_req *v);

/* One row of the host's chain; false when it is the first bad one. */
static bool check_row(struct fv_req *v, const PGresult *res, int k)
{
        struct fv_host *h = &v->h;
        int64_t seq = strtoll(PQgetvalue(res, k, 0), NULL, 10);
        const char *event = PQgetvalue(res, k, 5), *details = PQgetvalue(res, k, 6);
        const char *prev = PQgetvalue(res, k, 7), *hash = PQgetvalue(res, k, 8);
        char id[AUDIT_KEY_ID_LEN + 1], computed[STORE_HASH_LEN + 1];
        struct audit_fields f;
        int m;

#define BAD(...) do { h->bad = seq; snprintf(h->why, sizeof(h->why), __VA_ARGS__); return false; } while (0)
        if (seq != h->expect) {
                h->bad = h->expect;
                snprintf(h->why, sizeof(h->why), "event %" PRId64 " is missing (deleted)", h->expect);
                return false;
        }
        if (PQgetisnull(res, k, 7) || PQgetisnull(res, k, 2) || PQgetisnull(res, k, 4))
                BAD("event %" PRId64 " lacks the fields its hash covers (uploaded before schema version 2)", seq);
        if (strcmp(prev, h->prev) != 0)
                BAD("event %" PRId64 " does not link to event %" PRId64 " (inserted, reordered or edited)", seq,
                    seq - 1);
        if (strlen(hash) != STORE_HASH_LEN)
                BAD("event %" PRId64 " has no valid hash", seq);
        m = audit_marker_key(event, details, id);
        if (m < 0)
                BAD("event %" PRId64 " was edited (an audit-key event that names no key)", seq);
        if (m > 0 && id[0] && !h->keyed_from)
                h->keyed_from = seq;
        else if (m > 0 && !id[0])
                h->keyed_from = 0;      /* plain again from here on */
        if (h->keyed_from) {
                h->keyed++;
        } else {
                f = (struct audit_fields) {
                        .seq = seq, .at = strtoll(PQgetvalue(res, k, 1), NULL, 10),
                        .actor_uid = strtoll(PQgetvalue(res, k, 2), NULL, 10),
                        .grant_id = strtoll(PQgetvalue(res, k, 4), NULL, 10),
                        .actor = PQgetvalue(res, k, 3), .actor_len = strlen(PQgetvalue(res, k, 3)),
                        .event = event, .event_len = strlen(event), .details = details,
                        .details_len = strlen(details),
                };
                if (audit_hash_plain(v->d->audit, h->prev, &f, computed) < 0 || strcmp(computed, hash) != 0)
                        BAD("event %" PRId64 " was edited (its hash does not match its fields)", seq);
        }
#undef BAD
        if (!h->first_at)
                h->first_at = strtoll(PQgetvalue(res, k, 1), NULL, 10);
        h->last_at = strtoll(PQgetvalue(res, k, 1), NULL, 10);
        snprintf(h->prev, sizeof(h->prev), "%s", hash);
        h->events++;
        h->expect = seq + 1;
        return true;
}

static int fv_query(struct fv_req *v);

static void on_chain(int r, const PGresult *res, const char *why, void *userdata)
{
        struct fv_req *v = userdata;
        int rows;

        if (r == -ECANCELED) {
                fv_free(v);
                return;
        }
        if (r < 0) {
                fv_finish(v, r == -EIO && why ? why : "the fleet database went away before it answered");
                return;
        }
        rows = PQntuples(res);
        for (int k = 0; k < rows; k++)
                if (!check_row(v, res, k)) {
                        rows = 0;       /* this host is done: its first bad event */
                        break;
                }
        if (rows == FV_PAGE) {
                if (fv_query(v) < 0)
                        fv_finish(v, "the fleet database is unreachable");
                return;
        }
        host_done(v);
        v->at++;
        fv_next_host(v);
}

static int fv_query(struct fv_req *v)
{
        char after[24];
        const char *params[2] = { v->names[v->at], after };

        snprintf(after, sizeof(after), "%" PRId64, v->h.expect - 1);
        return fleet_mirror_query(v->d->fleet, chain_sql, 2, params, on_chain, v);
}

static void fv_next_host(struct fv_req *v)
{
        if (v->at >= v->n_names) {
                fv_finish(v, NULL);
                return;
        }
        v->h = (struct fv_host) { .expect = 1 };
        memset(v->h.prev, '0', STORE_HASH_LEN);
        if (fv_query(v) < 0)
                fv_finish(v, "the fleet database is unreachable");
}

static void fv_on_hosts(int r, const char *names, size_t n, const char *why, void *userdata)
{
        struct fv_req *v = userdata;

        if (r == -ECANCELED) {
                fv_free(v);
                return;
        }
        if (r < 0) {
                fv_finish(v, r == -EIO && why ? why : "the fleet database went away before it answered");
                return;
        }
        if (n > 0 && strv_split(names, ',', &v->names) < 0) {
                fv_finish(v, "out of memory");
                return;
        }
        v->n_names = n;
        fv_next_host(v);
}

void fleet_audit_verify_later(struct jitd *d, uint64_t serial, json_object *local, const char *pattern)
{
        struct fv_req *v = calloc(1, sizeof(*v));
        const char *text;
        int r;

        if (!v) {
                json_object_put(local);
                later_reply_error(d, serial, ENOMEM, "out of memory");
                return;
        }
        v->d = d;
        v->serial = serial;
        v->doc = json_object_new_object();
        v->hosts = json_object_new_array();
        json_object_object_add(v->doc, "local", local);
        if (pattern)
                snprintf(v->pattern, sizeof(v->pattern), "%s", pattern);
        if (!d->fleet) {
                json_object_object_add(v->doc, "fleet", NULL);
                text = json_object_to_json_string_ext(v->doc, JSON_C_TO_STRING_PLAIN);
                later_reply_json(d, serial, text ? strdup(text) : NULL);
                fv_free(v);
                return;
        }
        r = fleet_hosts_matching(d, pattern ? pattern : "*", fv_on_hosts, v);
        if (r < 0)
                fv_finish(v, r == -ENOTCONN ? "the fleet database is unreachable" : strerror(-r));
}

int fleet_audit_verify(struct request *req, json_object *local, const char *pattern)
{
        const char *text;
        json_object *doc;
        int r;

        if (!req->d->fleet) {
                doc = json_object_new_object();
                json_object_object_add(doc, "local", local);
                json_object_object_add(doc, "fleet", NULL);
                text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
                r = reply_json(req, text ? strdup(text) : NULL);
                json_object_put(doc);
                return r;
        }
        fleet_audit_verify_later(req->d, request_hold(req), local, pattern);
        return HANDLED_LATER;
}
