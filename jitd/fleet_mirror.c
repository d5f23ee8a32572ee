/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "approval_text.h"
#include "ending.h"
#include "fleet_decide.h"
#include "fleet_link.h"
#include "fleet_mirror.h"
#include "fleet_refused.h"
#include "fleet_upload.h"
#include "grants.h"
#include "log.h"
#include "record.h"
#include "sshsig_verify.h"
#include "store.h"
#include "ticketflow.h"

/* The channel jit.record_change notifies (jitctl/fleet_schema_v1.sql). */
#define FLEET_CHANNEL "jit_changes"
/* Changes read per query: a catch-up after a long absence goes page by
 * page, each a bounded amount of work for the loop. */
#define FLEET_PAGE 64

/* Every name qualified: the host role's search_path is not ours to trust.
 * The request time is in whole seconds, rounded down, as the canonical text
 * has it (doc/FLEET-SIGNATURES.md). */
#define GRANT_COLUMNS \
        "g.id, g.user_name, g.role, pg_catalog.array_to_json(g.host_scope), g.duration, " \
        "g.ticket, g.break_glass, " \
        "pg_catalog.floor(pg_catalog.date_part('epoch', g.requested_at))::bigint, g.state, " \
        "r.kind, r.by_user, r.reason, r.host, " \
        "(SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.approver, a.signature, " \
        "        pg_catalog.floor(pg_catalog.date_part('epoch', a.approved_at))::bigint) " \
        "        ORDER BY a.approved_at, a.approver) " \
        " FROM jit.approvals a WHERE a.grant_id = g.id), " \
        "g.reason, "
/* The grant's extensions (schema version 3). */
#define EXTENSIONS_COLUMN \
        "(SELECT pg_catalog.json_agg(pg_catalog.json_build_array(x.n, x.duration, " \
        "        pg_catalog.floor(pg_catalog.date_part('epoch', x.requested_at))::bigint, x.reason, " \
        "        (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(ea.approver, ea.signature, " \
        "                pg_catalog.floor(pg_catalog.date_part('epoch', ea.approved_at))::bigint) " \
        "                ORDER BY ea.approved_at, ea.approver) " \
        "         FROM jit.extension_approvals ea WHERE ea.grant_id = x.grant_id AND ea.n = x.n)) ORDER BY x.n) " \
        " FROM jit.extensions x WHERE x.grant_id = g.id) "
#define PAGE_SQL(extensions) \
        "SELECT c.seq, c.kind, " GRANT_COLUMNS extensions \
        "FROM jit.changes c LEFT JOIN jit.grants g ON g.id = c.grant_id " \
        "LEFT JOIN jit.revocations r ON r.grant_id = c.grant_id " \
        "WHERE c.seq > $1::bigint ORDER BY c.seq LIMIT $2::integer"
#define REVISIT_SQL(extensions) \
        "SELECT 0, 'revisit', " GRANT_COLUMNS extensions \
        "FROM jit.grants g LEFT JOIN jit.revocations r ON r.grant_id = g.id " \
        "WHERE g.id = ANY($1::bigint[]) ORDER BY g.id"
/* [0]: a schema older than FLEET_SCHEMA_NEEDED, read as such (no
 * extensions), so that ends and grants still reach a host whose jitd was
 * upgraded before the schema; [1]: the schema this jitd reads whole. */
static const char *const page_sql[2] = { PAGE_SQL("NULL "), PAGE_SQL(EXTENSIONS_COLUMN) };
/* Grants read again by id (seq 0: no change of their own), see revisit_add. */
static const char *const revisit_sql[2] = { REVISIT_SQL("NULL "), REVISIT_SQL(EXTENSIONS_COLUMN) };
/* Is there anything after seq $1? The catch-up every sync mostly finds
 * nothing, and this costs the server an index probe where page_sql, planned
 * afresh at each call, costs several times that (BENCHMARKS.md, section 7). */
static const char probe_sql[] = "SELECT 1 FROM jit.changes c WHERE c.seq > $1::bigint LIMIT 1";

/* The fleet schema this jitd reads (jitctl/fleet_schema_v3.sql: extensions);
 * a newer one only adds (doc/FLEET.md), an older one lacks what page_sql
 * reads. */
#define FLEET_SCHEMA_NEEDED 3
static const char version_sql[] = "SELECT version FROM jit.schema_version";

/* Who a mirrored grant's own events name: the fleet, not a local user. */
static const struct actor actor_fleet = { .uid = 0, .name = "fleet" };

struct row_approval {
        char approver[JIT_USER_MAX + 1];
        char *signature;
        int64_t at;
        enum fleet_sig verified;
        bool transient;                 /* BAD for now: ssh-keygen did not answer yes or no (timeout, no memory) */
        char detail[160];
};

/* Extension n of the row's grant (jit.extensions), with its approvals. */
struct row_ext {
        int64_t n;
        uint64_t duration;
        int64_t requested_at;
        char reason[JIT_REASON_MAX + 1];
        size_t n_ap;
        struct row_approval ap[FLEET_APPROVALS_MAX];
};

/* A grant has at most this many extensions (jit.extensions.n). */
#define FLEET_EXTENSIONS_MAX 64

struct row {
        int64_t seq;
        int64_t grant;                  /* 0: not about a grant, or unreadable */
        char user[JIT_USER_MAX + 1], role[JIT_ROLE_MAX + 1], ticket[JIT_TICKET_MAX + 1];
        char reason[JIT_REASON_MAX + 1];
        char **scope;
        uint64_t duration;
        bool break_glass;
        int64_t requested_at;
        bool ended;
        char end_kind[16], end_by[JIT_USER_MAX + 1], end_host[JIT_HOST_MAX + 1];
        char end_reason[JIT_REASON_MAX + 1];
        size_t n_ap;
        struct row_approval ap[FLEET_APPROVALS_MAX];
        struct row_ext *ext;            /* in the order of n */
        size_t n_ext;
};

/* jit.audit_append takes the most (fleet_upload.c). */
#define FLEET_QUERY_PARAMS_MAX FLEET_UPLOAD_PARAMS
/* A verb's statement waiting for the link. */
struct fleet_op {
        struct fleet_op *next;
        const char *sql;
        int n_params;
        char *params[FLEET_QUERY_PARAMS_MAX];
        fleet_query_fn cb;
        void *userdata;
};

#define SYNC_ACCURACY_USEC 1000
/* Grants read again at a sync; more wait for a change of their own. */
#define FLEET_REVISIT_MAX 256

struct fleet_mirror {
        struct jitd *d;
        struct fleet_op *ops, *op_running;      /* queued verbs' statements, the one in flight */
        struct fleet_link *link;        /* [fleet] database: the catch-up, and everything without wlink */
        struct fleet_link *wlink;       /* [fleet] write_database, or NULL: verbs, ends, uploads */
        bool wup, woutage_logged;
        int64_t wsince;
        char wdown_why[256];
        struct fleet_upload *upload;    /* this host's audit chain and queued revoke --all */
        sd_event_source *sync_timer;
        uint64_t sync_ms;

        bool up, outage_logged, want, busy;
        bool ends_maybe, flushing;      /* ends may wait in the store's queue; one is being sent */
        int64_t since;                  /* of the connection's state, unix seconds */
        char down_why[256];
        int64_t last_seq;
        int64_t last_catchup;

        struct row *rows;
        size_t n_rows, idx;
        bool page_full;
        struct sshsig_job *job;
        struct row_approval *job_ap;    /* what the running verification decides (in rows) */

        /* Grants to read again at the next sync though no change of theirs
         * comes: a verification that failed for a passing reason, an
         * extension waiting for its copy's ticket lookup. */
        int schema;                     /* of this connection: 0 not read yet, -1 unreadable */
        int64_t revisit[FLEET_REVISIT_MAX];
        size_t n_revisit;
        bool revisit_due, revisit_full_logged;
        bool changes_known;             /* a notification or a full page: no probe first */
        char schema_why[256];           /* the schema is too old: what the status says */
        bool schema_due;                /* an older schema's version is asked again at this sync */
};

static void catchup(struct fleet_mirror *m);
static void process(struct fleet_mirror *m);
static void ops_kick(struct fleet_mirror *m);

static void rows_free(struct fleet_mirror *m)
{
        for (size_t i = 0; i < m->n_rows; i++) {
                strv_free(m->rows[i].scope);
                for (size_t k = 0; k < m->rows[i].n_ap; k++)
                        free(m->rows[i].ap[k].signature);
                for (size_t x = 0; x < m->rows[i].n_ext; x++)
                        for (size_t k = 0; k < m->rows[i].ext[x].n_ap; k++)
                                free(m->rows[i].ext[x].ap[k].signature);
                free(m->rows[i].ext);
        }
        free(m->rows);
        m->rows = NULL;
        m->n_rows = m->idx = 0;
}

/* ---- reading a page --------------------------------------------------- */

static int copy_field(char *dst, size_t size, const PGresult *res, int i, int col)
{
        const char *v = PQgetisnull(res, i, col) ? "" : PQgetvalue(res, i, col);

        return (size_t) snprintf(dst, size, "%s", v) < size ? 0 : -EMSGSIZE;
}

static int int_field(const PGresult *res, int i, int col, int64_t *ret)
{
        char *end;
        long long v;

        if (PQgetisnull(res, i, col))
                return -EINVAL;
        errno = 0;
        v = strtoll(PQgetvalue(res, i, col), &end, 10);
        if (errno || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_scope(const char *json, char ***ret)
{
        struct json_object *o = json_tokener_parse(json);
        char **v = NULL;
        size_t n;
        int r = 0;

        if (!o || !json_object_is_type(o, json_type_array) || (n = json_object_array_length(o)) == 0 || n > 64) {
                json_object_put(o);
                return -EINVAL;
        }
        v = calloc(n + 1, sizeof(*v));
        for (size_t i = 0; v && i < n && r == 0; i++) {
                struct json_object *e = json_object_array_get_idx(o, i);

                if (!json_object_is_type(e, json_type_string) || !(v[i] = strdup(json_object_get_string(e))))
                        r = -EINVAL;
        }
        json_object_put(o);
        if (!v)
                return -ENOMEM;
        if (r < 0) {
                strv_free(v);
                return r;
        }
        *ret = v;
        return 0;
}

/* The approvals in o, a JSON array of [approver, signature, at], into ap. */
static void parse_approval_list(struct json_object *o, struct row_approval *ap, size_t *n_ap)
{
        size_t n;

        if (!o || !json_object_is_type(o, json_type_array))
                return;
        n = json_object_array_length(o);
        for (size_t i = 0; i < n && *n_ap < FLEET_APPROVALS_MAX; i++) {
                struct json_object *e = json_object_array_get_idx(o, i);
                struct row_approval *a = &ap[*n_ap];

                if (!json_object_is_type(e, json_type_array) || json_object_array_length(e) != 3 ||
                    (size_t) snprintf(a->approver, sizeof(a->approver), "%s",
                                      json_object_get_string(json_object_array_get_idx(e, 0))) >= sizeof(a->approver))
                        continue;
                /* The armor as ssh-keygen wrote it ends in a newline, which
                 * a trip through psql or a client's string handling often
                 * drops: put it back (the signature is the same). */
                {
                        const char *sig = json_object_get_string(json_object_array_get_idx(e, 1));
                        size_t len = sig ? strlen(sig) : 0;

                        if (sig && asprintf(&a->signature, "%s%s", sig, len && sig[len - 1] == '\n' ? "" : "\n") < 0)
                                a->signature = NULL;
                }
                a->at = json_object_get_int64(json_object_array_get_idx(e, 2));
                if (!a->signature)
                        break;
                (*n_ap)++;
        }
}

static int parse_approvals(const char *json, struct row *w)
{
        struct json_object *o = json_tokener_parse(json);

        if (!o || !json_object_is_type(o, json_type_array)) {
                json_object_put(o);
                return -EINVAL;
        }
        parse_approval_list(o, w->ap, &w->n_ap);
        json_object_put(o);
        return 0;
}

/* The grant's extensions: [n, duration, requested, reason, approvals]. One
 * that cannot be read ends the list there: the later ones wait for it (the
 * order is the fleet's), and nothing is given that was not read whole. */
static int parse_extensions(const char *json, struct row *w)
{
        struct json_object *o = json_tokener_parse(json);
        size_t n;

        if (!o || !json_object_is_type(o, json_type_array)) {
                json_object_put(o);
                return -EINVAL;
        }
        n = json_object_array_length(o);
        if (n > FLEET_EXTENSIONS_MAX)
                n = FLEET_EXTENSIONS_MAX;
        w->ext = calloc(n ? n : 1, sizeof(*w->ext));
        if (!w->ext) {
                json_object_put(o);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(o, i);
                struct row_ext *x = &w->ext[w->n_ext];
                int64_t dur;

                if (!json_object_is_type(e, json_type_array) || json_object_array_length(e) != 5)
                        break;
                x->n = json_object_get_int64(json_object_array_get_idx(e, 0));
                dur = json_object_get_int64(json_object_array_get_idx(e, 1));
                x->requested_at = json_object_get_int64(json_object_array_get_idx(e, 2));
                if (x->n != (int64_t) i + 1 || dur <= 0 || x->requested_at <= 0 ||
                    (size_t) snprintf(x->reason, sizeof(x->reason), "%s",
                                      json_object_get_string(json_object_array_get_idx(e, 3))) >= sizeof(x->reason))
                        break;
                x->duration = (uint64_t) dur;
                parse_approval_list(json_object_array_get_idx(e, 4), x->ap, &x->n_ap);
                w->n_ext++;
        }
        json_object_put(o);
        return 0;
}

/* One change row; a grant that cannot be read is left out (grant 0), and
 * its seq still counts. */
static void parse_row(const PGresult *res, int i, struct row *w)
{
        int64_t v;

        (void) int_field(res, i, 0, &w->seq);
        if (PQgetisnull(res, i, 2) || int_field(res, i, 2, &w->grant) < 0)
                return;
        if (copy_field(w->user, sizeof(w->user), res, i, 3) < 0 || copy_field(w->role, sizeof(w->role), res, i, 4) < 0 ||
            parse_scope(PQgetvalue(res, i, 5), &w->scope) < 0 || int_field(res, i, 6, &v) < 0 || v <= 0 ||
            copy_field(w->ticket, sizeof(w->ticket), res, i, 7) < 0 || int_field(res, i, 9, &w->requested_at) < 0 ||
            copy_field(w->reason, sizeof(w->reason), res, i, 16) < 0) {
                w->grant = -w->grant;   /* unreadable: said once, never enforced */
                return;
        }
        w->duration = (uint64_t) v;
        w->break_glass = strcmp(PQgetvalue(res, i, 8), "t") == 0;
        w->ended = strcmp(PQgetvalue(res, i, 10), "open") != 0 || !PQgetisnull(res, i, 11);
        (void) copy_field(w->end_kind, sizeof(w->end_kind), res, i, PQgetisnull(res, i, 11) ? 10 : 11);
        (void) copy_field(w->end_by, sizeof(w->end_by), res, i, 12);
        (void) copy_field(w->end_reason, sizeof(w->end_reason), res, i, 13);
        (void) copy_field(w->end_host, sizeof(w->end_host), res, i, 14);
        if (!PQgetisnull(res, i, 15))
                (void) parse_approvals(PQgetvalue(res, i, 15), w);
        if (!PQgetisnull(res, i, 17))
                (void) parse_extensions(PQgetvalue(res, i, 17), w);
}

static void on_page(int r, const PGresult *res, const char *why, void *userdata)
{
        struct fleet_mirror *m = userdata;
        int n;

        ops_kick(m);            /* the link is free: a verb's statement goes first */
        if (r < 0) {
                m->busy = false;
                if (r == -EIO)
                        log_msg(LOG_ERR, "fleet: catch-up query refused: %s", why ? why : "?");
                return;
        }
        n = PQntuples(res);
        m->rows = calloc(n > 0 ? (size_t) n : 1, sizeof(*m->rows));
        if (!m->rows) {
                m->busy = false;
                return;
        }
        m->n_rows = (size_t) n;
        m->idx = 0;
        for (int i = 0; i < n; i++)
                parse_row(res, i, &m->rows[i]);
        m->page_full = n == FLEET_PAGE;
        m->last_catchup = now_realtime();
        process(m);
}

/* 1: the schema has what this jitd reads; 0: read it as an older one. */
static int schema_whole(const struct fleet_mirror *m)
{
        return m->schema >= FLEET_SCHEMA_NEEDED;
}

/* Read grant id again at the next sync. */
static void revisit_add(struct fleet_mirror *m, int64_t id)
{
        for (size_t i = 0; i < m->n_revisit; i++)
                if (m->revisit[i] == id)
                        return;
        if (m->n_revisit == FLEET_REVISIT_MAX) {
                if (!m->revisit_full_logged)
                        log_msg(LOG_WARNING, "fleet: %d grants wait to be read again; fleet grant %" PRId64 " waits "
                                "for a change of its own", FLEET_REVISIT_MAX, id);
                m->revisit_full_logged = true;
                return;
        }
        m->revisit[m->n_revisit++] = id;
}

/* The grants revisit_add noted, in one query; noted again by handle when
 * they still wait. 0 when sent, <0 when not (nothing to read, no memory). */
static int revisit(struct fleet_mirror *m)
{
        _cleanup_free_ char *ids = NULL;
        const char *params[1];
        size_t len = 0, size = m->n_revisit * 21 + 3;

        if (m->n_revisit == 0)
                return -ENOENT;
        ids = malloc(size);
        if (!ids)
                return -ENOMEM;
        ids[len++] = '{';
        for (size_t i = 0; i < m->n_revisit; i++)
                len += (size_t) snprintf(ids + len, size - len, "%s%" PRId64, i ? "," : "", m->revisit[i]);
        snprintf(ids + len, size - len, "}");
        params[0] = ids;
        if (fleet_link_query(m->link, revisit_sql[schema_whole(m)], 1, params, on_page, m) < 0)
                return -ENOTCONN;
        m->n_revisit = 0;
        m->revisit_full_logged = false;
        return 0;
}

static void on_version(int r, const PGresult *res, const char *why, void *userdata)
{
        struct fleet_mirror *m = userdata;
        char *end;
        long v = -1;

        m->busy = false;
        ops_kick(m);
        if (r == -ECANCELED || r == -ECONNRESET || r == -ENOTCONN)
                return;                 /* read again at the next connection */
        if (r == 0 && PQntuples(res) == 1)
                v = strtol(PQgetvalue(res, 0, 0), &end, 10);
        m->schema = v >= 0 && v < INT_MAX ? (int) v : -1;
        if (m->schema < FLEET_SCHEMA_NEEDED) {
                char was[sizeof(m->schema_why)];

                memcpy(was, m->schema_why, sizeof(was));
                if (m->schema < 0)
                        snprintf(m->schema_why, sizeof(m->schema_why), "the fleet schema's version cannot be read "
                                 "(%.120s)", why ? why : "no row");
                else
                        snprintf(m->schema_why, sizeof(m->schema_why), "the fleet schema is at version %d, this jitd "
                                 "needs %d: run jitctl fleet init", m->schema, FLEET_SCHEMA_NEEDED);
                /* Asked again at every sync; said once. Read meanwhile
                 * without what it lacks: ends and grants still apply. */
                if (strcmp(was, m->schema_why) != 0)
                        log_msg(LOG_ERR, "fleet: %s; until then this host reads it without extensions", m->schema_why);
                catchup(m);
                return;
        }
        if (m->schema_why[0])
                log_msg(LOG_NOTICE, "fleet: the fleet schema is at version %d now: catching up", m->schema);
        m->schema_why[0] = '\0';
        catchup(m);
}

static void on_probe(int r, const PGresult *res, const char *why, void *userdata)
{
        struct fleet_mirror *m = userdata;

        m->busy = false;
        ops_kick(m);
        if (r < 0) {
                if (r == -EIO)
                        log_msg(LOG_ERR, "fleet: catch-up query refused: %s", why ? why : "?");
                return;
        }
        if (PQntuples(res) == 0) {
                m->last_catchup = now_realtime();
                if (m->want)
                        catchup(m);
                return;
        }
        m->changes_known = true;
        catchup(m);
}

static void catchup(struct fleet_mirror *m)
{
        char seq[32], page[16];
        const char *params[2] = { seq, page };
        int r;

        if (m->busy || !fleet_link_ready(m->link)) {
                m->want = true;
                return;
        }
        /* Once per connection: a schema older than this jitd reads. */
        if (m->schema == 0) {
                m->busy = true;
                if (fleet_link_query(m->link, version_sql, 0, NULL, on_version, m) < 0) {
                        m->busy = false;
                        m->want = true;
                }
                return;
        }
        /* An older schema: migrated meanwhile? Asked again at each sync. */
        if (m->schema_due) {
                m->schema_due = false;
                m->schema = 0;
                m->want = false;
                catchup(m);
                return;
        }
        m->busy = true;
        if (m->revisit_due) {
                m->revisit_due = false;
                if (revisit(m) == 0) {
                        m->want = true;         /* the changes after it */
                        return;
                }
        }
        m->want = false;
        snprintf(seq, sizeof(seq), "%" PRId64, m->last_seq);
        snprintf(page, sizeof(page), "%d", FLEET_PAGE);
        if (m->changes_known)
                r = fleet_link_query(m->link, page_sql[schema_whole(m)], 2, params, on_page, m);
        else
                r = fleet_link_query(m->link, probe_sql, 1, params, on_probe, m);
        m->changes_known = false;
        if (r < 0) {
                m->busy = false;
                m->want = true;
        }
}

/* ---- acting on a grant -------------------------------------------------- */

/* "fleet-refused", once per grant and reason. */
static int refuse(struct fleet_mirror *m, const struct row *w, const char *why)
{
        return fleet_refused(m->d, w->grant > 0 ? w->grant : -w->grant, w->user, w->role, why);
}

static int end_local(struct fleet_mirror *m, const struct row *w, int64_t local)
{
        struct jitd *d = m->d;
        struct jit_grant g;
        char reason[JIT_REASON_MAX + 1], why[256];
        struct fsm_event ev = { .type = FSM_REVOKE, .text = reason };
        int r;

        r = grants_get(d, local, &g);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        if (!grant_state_is_open(g.state))
                return 0;
        if (strcmp(w->end_kind, "released") == 0 && g.state != GRANT_PENDING)
                ev.type = FSM_RELEASE;
        /* Cut short if it must: the reason is for people. */
        if (snprintf(reason, sizeof(reason), "fleet: %s by %s on %s%s%.400s", w->end_kind,
                     w->end_by[0] ? w->end_by : "?", w->end_host[0] ? w->end_host : "?",
                     w->end_reason[0] ? ": " : "", w->end_reason) < 0)
                reason[0] = '\0';
        r = grants_step(d, &g, &ev, &actor_fleet, why, sizeof(why));
        if (r == -EALREADY)
                return 0;
        if (r < 0)
                return r;
        ticketflow_forget(d, &g);       /* a copy still waiting for its ticket's lookup */
        log_msg(LOG_NOTICE, "fleet grant F%" PRId64 " ended (%s by %s on %s): local grant %" PRId64 " of %s ended",
                w->grant, w->end_kind, w->end_by, w->end_host, local, g.user);
        return 0;
}

/* A ticket-approved grant's copy (ticket and peer: made once the signatures
 * count) waits, pending, for this host's own lookup of its ticket: the first
 * one after a random delay below [fleet] ticket_jitter (every host hears of
 * the grant at once), joined with one already waiting or in flight for the
 * same ticket and user; then every ticket poll, as a local grant's. */
static void ticket_soon(struct fleet_mirror *m, const struct row *w, const struct jit_grant *g)
{
        struct jitd *d = m->d;
        uint64_t delay = 0;
        int k;

        k = ticketflow_check_soon(d, g, d->config->fleet.ticket_jitter * 1000, &delay);
        if (k < 0)
                log_msg(LOG_WARNING, "fleet grant F%" PRId64 " (%s for role %s) waits here as grant %" PRId64 " for "
                        "ticket %s; its first lookup waits for the next ticket poll: %s", w->grant, w->user, w->role,
                        g->id, w->ticket, strerror(-k));
        else
                log_msg(LOG_NOTICE, "fleet grant F%" PRId64 " (%s for role %s%s%s) waits here as grant %" PRId64 " for "
                        "this host's lookup of ticket %s (in %" PRIu64 " ms)", w->grant, w->user, w->role,
                        g->approvers[0] ? ", approved by " : "", g->approvers, g->id, w->ticket, delay);
}

static int apply(struct fleet_mirror *m, const struct row *w, const struct principal *p,
                 const struct fleet_verdict *v)
{
        struct jitd *d = m->d;
        const struct role *r = config_find_role(d->config, w->role);
        struct jit_grant g = {};
        char why[256] = "";
        int k;

        if (!r)
                return -ENOENT;
        strcpy_checked(g.user, sizeof(g.user), w->user);
        g.uid = p->uid;
        strcpy_checked(g.host, sizeof(g.host), d->config->host);
        strcpy_checked(g.role, sizeof(g.role), r->name);
        strcpy_checked(g.ticket, sizeof(g.ticket), w->ticket);
        snprintf(g.reason, sizeof(g.reason), "%s", w->reason);
        g.duration = w->duration;
        g.approvals_needed = r->approval & APPROVAL_PEER ? r->approvals : 0;
        approval_format(r->approval, g.approval, sizeof(g.approval));
        k = grants_mirror(d, &g, w->grant, v->approvers, v->approvals, v->ends_at, &actor_fleet, why, sizeof(why));
        if (k == -EEXIST)
                return 0;
        if (k == -EAGAIN) {
                log_msg(LOG_ERR, "fleet grant F%" PRId64 ": local grant %" PRId64 " could not be activated: %s",
                        w->grant, g.id, why);
                return 0;
        }
        if (k < 0) {
                if (why[0])
                        return refuse(m, w, why);
                return k;
        }
        if (v->kind == FLEET_TICKET) {
                ticket_soon(m, w, &g);
                return 0;
        }
        if (v->approvals == 0)
                log_msg(LOG_NOTICE, "fleet grant F%" PRId64 " (%s for role %s) enforced here as grant %" PRId64 ": "
                        "role %s is approved automatically here", w->grant, w->user, w->role, g.id, r->name);
        else
                log_msg(LOG_NOTICE, "fleet grant F%" PRId64 " (%s for role %s, approved by %s) enforced here as grant %"
                        PRId64, w->grant, w->user, w->role, v->approvers, g.id);
        return 0;
}

static void on_verified(int r, const struct sshsig_result *res, void *userdata)
{
        struct fleet_mirror *m = userdata;
        struct row_approval *a;

        sshsig_job_cancel(m->job);
        m->job = NULL;
        if (m->idx >= m->n_rows)
                return;
        a = m->job_ap;
        a->verified = r == 0 ? FLEET_SIG_GOOD : FLEET_SIG_BAD;
        /* ssh-keygen's "no" (and a text or name it cannot take) is final;
         * anything else (a timeout, no memory, no process) is asked again. */
        a->transient = r < 0 && r != -EBADMSG && r != -EINVAL;
        if (r < 0)
                log_msg(LOG_INFO, "fleet grant F%" PRId64 ": the approval of %s does not verify: %s",
                        m->rows[m->idx].grant, a->approver, res && res->detail[0] ? res->detail : strerror(-r));
        snprintf(a->detail, sizeof(a->detail), "%.150s", r == 0 ? res->fingerprint : res->detail);
        process(m);
}

/* Starts the verification of approval i of w, or of its extension x: 1
 * while it runs, 0 when it was decided at once (a BAD). */
static int verify(struct fleet_mirror *m, struct row *w, struct row_ext *x, size_t i)
{
        struct row_approval *a = x ? &x->ap[i] : &w->ap[i];
        struct approval_fields f = {
                .grant = w->grant, .user = w->user, .role = w->role, .hosts = w->scope, .duration = w->duration,
                .ticket = w->ticket, .requested = w->requested_at, .approver = a->approver,
        };
        _cleanup_free_ char *text = NULL;
        int r;

        if (x) {
                struct extension_fields e = { .n = x->n, .duration = x->duration, .requested = x->requested_at };

                r = extension_text(&f, &e, &text);
        } else
                r = approval_text(&f, &text);
        if (r >= 0)
                r = sshsig_verify_start(m->d->event, m->d->config->fleet.allowed_signers, a->approver, text,
                                        a->signature, on_verified, m, &m->job);
        if (r < 0) {
                log_msg(LOG_INFO, "fleet grant F%" PRId64 ": the approval of %s does not verify: %s", w->grant,
                        a->approver, strerror(-r));
                a->verified = FLEET_SIG_BAD;
                a->transient = r != -EBADMSG && r != -EINVAL;
                return 0;
        }
        m->job_ap = a;
        return 1;
}

/* The approvals ap as fleet_decide takes them, each approver looked up as
 * the local path asks NSS: no such user is a NULL who, any other failure is
 * not a "no" (<0; who holds what was resolved, for principal_free). */
static int resolve_approvals(const struct config *c, const struct row_approval *ap, size_t n, struct principal **who,
                             struct fleet_approval *fa)
{
        for (size_t i = 0; i < n; i++) {
                int r = principal_from_name(c, ap[i].approver, &who[i]);

                if (r < 0 && r != -ENOENT)
                        return r;
                fa[i] = (struct fleet_approval) { .approver = ap[i].approver, .signature = ap[i].signature,
                                                  .approved_at = ap[i].at, .who = who[i],
                                                  .verified = ap[i].verified };
        }
        return 0;
}

/* ---- extensions ---------------------------------------------------------- */

/* Did a verification among ap fail for a passing reason? */
static bool transient(const struct row_approval *ap, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (ap[i].transient)
                        return true;
        return false;
}

/* The verdict on extension x of w's copy g here, its approvers' signatures
 * verified one at a time: 1 while one is verified, 0 with *v set. */
static int judge_extension(struct fleet_mirror *m, struct row *w, struct row_ext *x, const struct jit_grant *g,
                           unsigned applied, struct fleet_ext_verdict *v)
{
        struct jitd *d = m->d;
        const struct config *c = d->config;
        struct principal *ap[FLEET_APPROVALS_MAX] = { NULL };
        struct fleet_approval fa[FLEET_APPROVALS_MAX];
        struct fleet_extension fx = { .n = x->n, .duration = x->duration, .requested_at = x->requested_at,
                                      .approvals = fa, .n_approvals = x->n_ap };
        struct fleet_grant fg = { .id = w->grant, .user = w->user, .role = w->role, .ticket = w->ticket,
                                  .scope = w->scope, .duration = w->duration, .requested_at = w->requested_at,
                                  .break_glass = w->break_glass };
        struct fleet_copy copy = { .active = g->state == GRANT_ACTIVE && !ending_contains(d->ending, g->id),
                                   .starts_at = g->starts_at, .expires_at = g->expires_at,
                                   .extended = applied };
        int r = 0;

        r = resolve_approvals(c, x->ap, x->n_ap, ap, fa);
        if (r < 0)
                goto out;
        for (;;) {
                r = fleet_decide_extension(c, c->fleet.allowed_signers != NULL, &fg, &fx, &copy, v);
                if (r < 0 || v->kind != FLEET_EXT_VERIFY)
                        break;
                r = verify(m, w, x, v->verify);
                if (r > 0)
                        goto out;
                fa[v->verify].verified = x->ap[v->verify].verified;
        }
out:
        for (size_t i = 0; i < x->n_ap; i++)
                principal_free(ap[i]);
        return r;
}

/* The extensions of w not yet applied to its copy here (local), in order:
 * each applied, refused (audited once) or left to wait as this host's policy
 * says. 0 done, 1 waiting for a verification, <0 try again later. */
static int extensions(struct fleet_mirror *m, struct row *w, int64_t local)
{
        struct jitd *d = m->d;
        struct jit_grant g;
        int r;

        if (w->n_ext == 0)
                return 0;
        r = grants_get(d, local, &g);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        for (size_t i = 0; i < w->n_ext && grant_state_is_open(g.state); i++) {
                struct row_ext *x = &w->ext[i];
                struct fleet_ext_verdict v;
                char reason[JIT_REASON_MAX + 1], why[256] = "", what[320];
                unsigned applied;
                bool has;

                r = store_fleet_extension_state(d->store, w->grant, x->n, &applied, &has);
                if (r < 0)
                        return r;
                if (has)
                        continue;
                r = judge_extension(m, w, x, &g, applied, &v);
                if (r != 0)
                        return r;
                /* Not active yet (its ticket's first lookup), or a signature
                 * not checked for a passing reason: not a verdict. */
                if ((v.kind == FLEET_EXT_WAIT && g.state != GRANT_ACTIVE) ||
                    (v.kind != FLEET_EXT_APPLY && transient(x->ap, x->n_ap))) {
                        revisit_add(m, w->grant);
                        continue;
                }
                if (v.kind == FLEET_EXT_REFUSE) {
                        snprintf(what, sizeof(what), "extension %" PRId64 ": %s", x->n, v.why);
                        r = refuse(m, w, what);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (v.kind != FLEET_EXT_APPLY)
                        continue;
                /* Cut short if it must: the reason is for people. */
                if (snprintf(reason, sizeof(reason), "fleet extension %" PRId64 "%s%s: %.400s", x->n,
                             v.approvers[0] ? ", approved by " : "", v.approvers, x->reason) < 0)
                        reason[0] = '\0';
                r = grants_fleet_extend(d, &g, w->grant, x->n, x->duration, reason, &actor_fleet, why, sizeof(why));
                if (r < 0) {
                        if (why[0] && r != -EBUSY)
                                log_msg(LOG_ERR, "fleet grant F%" PRId64 ": extension %" PRId64 " could not be "
                                        "applied to local grant %" PRId64 ": %s", w->grant, x->n, g.id, why);
                        return r;
                }
                log_msg(LOG_NOTICE, "fleet grant F%" PRId64 ": extension %" PRId64 " (%" PRIu64 "s%s%s) applied to "
                        "local grant %" PRId64 ", which now ends at %" PRId64, w->grant, x->n, x->duration,
                        v.approvers[0] ? ", approved by " : "", v.approvers, g.id, g.expires_at);
        }
        return 0;
}

/* 1 when an end of fleet grant id decided here waits in the store's queue
 * (fleet_mirror_end), 0 when none does. */
static int end_queued(struct fleet_mirror *m, int64_t id)
{
        struct store_fleet_end e;
        int r = store_fleet_end_next(m->d->store, id - 1, &e);

        if (r == -ENOENT)
                return 0;
        return r < 0 ? r : e.fleet_id == id;
}

static bool later_in_page(const struct fleet_mirror *m, size_t i)
{
        for (size_t k = i + 1; k < m->n_rows; k++)
                if (m->rows[k].grant == m->rows[i].grant)
                        return true;
        return false;
}

/* 0 done with the row, 1 waiting for a verification, <0 try again later. */
static int handle(struct fleet_mirror *m, struct row *w)
{
        struct jitd *d = m->d;
        const struct config *c = d->config;
        struct principal *p = NULL, *ap[FLEET_APPROVALS_MAX] = { NULL };
        struct fleet_approval fa[FLEET_APPROVALS_MAX];
        struct fleet_grant fg;
        struct fleet_verdict v;
        int64_t local = 0;
        int r;

        if (w->grant == 0 || later_in_page(m, m->idx))
                return 0;
        if (w->grant < 0)
                return refuse(m, w, "its record in the fleet database cannot be read");
        r = store_fleet_lookup(d->store, w->grant, &local);
        if (r < 0 && r != -ENOENT)
                return r;
        if (w->ended)
                return r >= 0 ? end_local(m, w, local) : 0;
        if (r >= 0)
                return extensions(m, w, local);
        /* Revoked or released here before this host enforced it (with the
         * database away, or its end not yet recorded): the row is older than
         * that decision, and the end follows. */
        r = end_queued(m, w->grant);
        if (r != 0)
                return r < 0 ? r : 0;

        /* NSS as the local path asks it: a failure is not a "no". */
        r = principal_from_name(c, w->user, &p);
        if (r < 0 && r != -ENOENT)
                return r;
        r = resolve_approvals(c, w->ap, w->n_ap, ap, fa);
        if (r < 0)
                goto out;
        fg = (struct fleet_grant) { .id = w->grant, .user = w->user, .role = w->role, .ticket = w->ticket,
                                    .scope = w->scope, .duration = w->duration, .requested_at = w->requested_at,
                                    .break_glass = w->break_glass, .who = p, .approvals = fa,
                                    .n_approvals = w->n_ap };
        for (;;) {
                r = fleet_decide(c, c->host, c->fleet.allowed_signers != NULL, &fg, now_realtime(), &v);
                if (r < 0 || v.kind != FLEET_VERIFY)
                        break;
                r = verify(m, w, NULL, v.verify);
                if (r > 0)
                        goto out;
                fa[v.verify].verified = w->ap[v.verify].verified;
        }
        if (r < 0) {
                r = refuse(m, w, "malformed");
                goto out;
        }
        switch (v.kind) {
        case FLEET_REFUSE:
                if (transient(w->ap, w->n_ap)) {
                        /* Not a verdict: read again at the next sync. */
                        revisit_add(m, w->grant);
                        r = 0;
                        break;
                }
                r = refuse(m, w, v.why);
                break;
        case FLEET_APPLY:
        case FLEET_TICKET:
                r = apply(m, w, p, &v);
                /* Its extensions: at once when it is enforced now. */
                if (r == 0 && w->n_ext && store_fleet_lookup(d->store, w->grant, &local) >= 0)
                        r = extensions(m, w, local);
                break;
        default:
                r = 0;
                break;
        }
out:
        principal_free(p);
        for (size_t i = 0; i < w->n_ap; i++)
                principal_free(ap[i]);
        return r;
}

static void process(struct fleet_mirror *m)
{
        int r;

        while (m->idx < m->n_rows) {
                struct row *w = &m->rows[m->idx];

                r = handle(m, w);
                if (r > 0)
                        return;         /* on_verified comes back here */
                if (r < 0) {
                        /* The store or NSS: the same changes again at the
                         * next sync (each is applied once whatever happens). */
                        log_msg(LOG_WARNING, "fleet: change %" PRId64 " not applied yet: %s", w->seq, strerror(-r));
                        for (size_t i = m->idx; i < m->n_rows; i++)
                                if (m->rows[i].seq == 0 && m->rows[i].grant > 0)
                                        revisit_add(m, m->rows[i].grant);
                        rows_free(m);
                        m->busy = false;
                        return;
                }
                /* A grant read again (seq 0) moves no position. */
                if (w->seq > 0 && store_fleet_seq_set(m->d->store, w->seq) >= 0)
                        m->last_seq = w->seq;
                m->idx++;
        }
        rows_free(m);
        m->busy = false;
        if (m->page_full)
                m->changes_known = true;
        if (m->page_full || m->want)
                catchup(m);
}

/* ---- the verbs' statements ----------------------------------------------- */

/* Where the verbs' statements, the ends and the uploads go. */
static struct fleet_link *writer(const struct fleet_mirror *m)
{
        return m->wlink ? m->wlink : m->link;
}

static bool writer_up(const struct fleet_mirror *m)
{
        return m->wlink ? m->wup : m->up;
}

static void op_free(struct fleet_op *o)
{
        if (!o)
                return;
        for (int i = 0; i < o->n_params; i++)
                free(o->params[i]);
        free(o);
}

static void on_op(int r, const PGresult *res, const char *why, void *userdata)
{
        struct fleet_mirror *m = userdata;
        struct fleet_op *o = m->op_running;

        m->op_running = NULL;
        if (o)
                o->cb(r, res, why, o->userdata);
        op_free(o);
        ops_kick(m);
        if (!m->op_running && m->want && !m->busy)
                catchup(m);
}

static void ops_kick(struct fleet_mirror *m)
{
        while (m->ops && !m->op_running && fleet_link_ready(writer(m))) {
                struct fleet_op *o = m->ops;
                int r;

                m->ops = o->next;
                m->op_running = o;
                r = fleet_link_query(writer(m), o->sql, o->n_params, (const char *const *) o->params, on_op, m);
                if (r < 0) {
                        m->op_running = NULL;
                        o->cb(r == -EBUSY ? -ECONNRESET : r, NULL, NULL, o->userdata);
                        op_free(o);
                }
        }
}

/* When the link goes down, what waits is failed (not sent: it may
 * be long before it comes back). */
static void ops_fail(struct fleet_mirror *m, int r)
{
        while (m->ops) {
                struct fleet_op *o = m->ops;

                m->ops = o->next;
                o->cb(r, NULL, NULL, o->userdata);
                op_free(o);
        }
}

int fleet_mirror_query(struct fleet_mirror *m, const char *sql, int n_params, const char *const *params,
                       fleet_query_fn cb, void *userdata)
{
        struct fleet_op *o, **pp;

        if (!m || !sql || !cb || n_params < 0 || n_params > FLEET_QUERY_PARAMS_MAX)
                return -EINVAL;
        if (!writer_up(m))
                return -ENOTCONN;
        o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        *o = (struct fleet_op) { .sql = sql, .cb = cb, .userdata = userdata };
        for (int i = 0; i < n_params; i++) {
                if (params[i] && !(o->params[i] = strdup(params[i]))) {
                        op_free(o);
                        return -ENOMEM;
                }
                o->n_params = i + 1;
        }
        o->n_params = n_params;
        for (pp = &m->ops; *pp; pp = &(*pp)->next)
                ;
        *pp = o;
        ops_kick(m);
        return 0;
}

/* ---- ends decided here ---------------------------------------------------- */

static const char end_sql[] = "SELECT jit.end_grant($1, $2::bigint, $3, $4, $5)";

struct end_op {
        struct fleet_mirror *m;
        int64_t fleet_id;
        bool flush;
        fleet_query_fn cb;
        void *userdata;
};

static void flush_next(struct fleet_mirror *m, int64_t after);

static void on_end(int r, const PGresult *res, const char *why, void *userdata)
{
        struct end_op *o = userdata;
        struct fleet_mirror *m = o->m;

        /* Recorded, or a grant the database does not have (never will):
         * out of the queue. Anything else stays for the next try. So does
         * an end recorded while a page read before it is being applied (a
         * signature check pending): the queue keeps that page from
         * enforcing the grant (handle); the next flush removes it. */
        if ((r == 0 || (r == -EIO && why && strstr(why, "no grant "))) && m->n_rows == 0)
                (void) store_fleet_end_delete(m->d->store, o->fleet_id);
        else if (r != -ECANCELED)
                m->ends_maybe = true;
        if (o->cb)
                o->cb(r, res, why, o->userdata);
        if (o->flush) {
                if (r == 0 || r == -EIO)
                        flush_next(m, o->fleet_id);
                else
                        m->flushing = false;
        }
        free(o);
}

static int end_send(struct fleet_mirror *m, const struct store_fleet_end *e, bool flush, fleet_query_fn cb,
                    void *userdata)
{
        struct end_op *o = calloc(1, sizeof(*o));
        char id[24];
        const char *params[5] = { m->d->config->host, id, e->kind, e->by, e->reason };
        int r;

        if (!o)
                return -ENOMEM;
        *o = (struct end_op) { .m = m, .fleet_id = e->fleet_id, .flush = flush, .cb = cb, .userdata = userdata };
        snprintf(id, sizeof(id), "%" PRId64, e->fleet_id);
        r = fleet_mirror_query(m, end_sql, 5, params, on_end, o);
        if (r < 0)
                free(o);
        return r;
}

static void flush_next(struct fleet_mirror *m, int64_t after)
{
        struct store_fleet_end e;
        int r;

        m->flushing = false;
        if (!writer_up(m))
                return;
        r = store_fleet_end_next(m->d->store, after, &e);
        if (r == -ENOENT)
                return;                 /* a pass done: what failed in it set ends_maybe again */
        if (r < 0) {
                m->ends_maybe = true;   /* the store: at the next sync */
                return;
        }
        if (end_send(m, &e, true, NULL, NULL) >= 0)
                m->flushing = true;
        else
                m->ends_maybe = true;
}

static void flush_ends(struct fleet_mirror *m)
{
        if (!m->ends_maybe || m->flushing || !writer_up(m))
                return;
        m->ends_maybe = false;
        flush_next(m, 0);
}

int fleet_mirror_end(struct fleet_mirror *m, const struct store_fleet_end *e, fleet_query_fn cb, void *userdata)
{
        if (!m || !e || e->fleet_id <= 0 || !cb)
                return -EINVAL;
        m->ends_maybe = true;
        return end_send(m, e, false, cb, userdata);
}

/* ---- the connection ----------------------------------------------------- */

static void on_up(void *userdata)
{
        struct fleet_mirror *m = userdata;

        if (m->outage_logged)
                log_msg(LOG_NOTICE, "fleet: the database is reachable again; catching up from change %" PRId64,
                        m->last_seq);
        const char *why;

        if (!fleet_link_pushing(m->link, &why))
                log_msg(LOG_NOTICE, "fleet: the database refused LISTEN (%s): no push on this connection, changes "
                        "arrive with the catch-up every %" PRIu64 " ms", why, m->sync_ms);
        m->up = true;
        m->schema = 0;
        m->outage_logged = false;
        m->since = now_realtime();
        m->want = false;
        catchup(m);
        if (m->wlink)
                return;                 /* writes have a connection of their own */
        ops_kick(m);
        m->ends_maybe = true;           /* what an earlier run or outage left */
        flush_ends(m);
        fleet_upload_up(m->upload);
}

static void on_down(const char *why, void *userdata)
{
        struct fleet_mirror *m = userdata;

        if (m->up || !m->since)
                m->since = now_realtime();
        m->up = false;
        if (!m->wlink)
                ops_fail(m, -ECONNRESET);
        snprintf(m->down_why, sizeof(m->down_why), "%s", why);
        /* One line per outage, not one per retry. */
        if (!m->outage_logged)
                log_msg(LOG_WARNING, "fleet: the database is unreachable (%s); PAM decisions and the grants here go "
                        "on, jitd keeps retrying", why);
        m->outage_logged = true;
}

/* The write connection ([fleet] write_database). */
static void on_wup(void *userdata)
{
        struct fleet_mirror *m = userdata;

        if (m->woutage_logged)
                log_msg(LOG_NOTICE, "fleet: the write database is reachable again");
        m->wup = true;
        m->woutage_logged = false;
        m->wsince = now_realtime();
        ops_kick(m);
        m->ends_maybe = true;           /* what an earlier run or outage left */
        flush_ends(m);
        fleet_upload_up(m->upload);
}

static void on_wdown(const char *why, void *userdata)
{
        struct fleet_mirror *m = userdata;

        if (m->wup || !m->wsince)
                m->wsince = now_realtime();
        m->wup = false;
        ops_fail(m, -ECONNRESET);
        snprintf(m->wdown_why, sizeof(m->wdown_why), "%s", why);
        if (!m->woutage_logged)
                log_msg(LOG_WARNING, "fleet: the write database is unreachable (%s); requests, approvals and ends "
                        "are refused or queued, uploads wait, the grants here go on", why);
        m->woutage_logged = true;
}

static void on_notified(void *userdata)
{
        struct fleet_mirror *m = userdata;

        m->changes_known = true;
        catchup(m);
}

static void arm_sync(struct fleet_mirror *m)
{
        int64_t jitter = (int64_t) (m->sync_ms / 10);
        int64_t next = (int64_t) m->sync_ms + (jitter ? (int64_t) (random() % (2 * jitter + 1)) - jitter : 0);

        (void) sd_event_source_set_time_relative(m->sync_timer, (uint64_t) (next > 100 ? next : 100) * 1000);
        (void) sd_event_source_set_enabled(m->sync_timer, SD_EVENT_ONESHOT);
}

static int on_sync(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct fleet_mirror *m = userdata;

        (void) s;
        (void) usec;
        m->revisit_due = m->n_revisit > 0;
        m->schema_due = m->schema != 0 && m->schema < FLEET_SCHEMA_NEEDED;
        catchup(m);
        flush_ends(m);
        fleet_upload_sync(m->upload);
        arm_sync(m);
        return 0;
}

static const struct fleet_upload_link upload_link = {
        .query = fleet_mirror_query,
        .connected = fleet_mirror_connected,
};

int fleet_mirror_new(struct jitd *d, struct fleet_mirror **ret)
{
        static const struct fleet_link_ops ops = { .up = on_up, .down = on_down, .notified = on_notified };
        const struct fleet_config *fc = &d->config->fleet;
        struct fleet_mirror *m;
        int r;

        if (!fc->line || !fc->database)
                return -EINVAL;
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->d = d;
        m->sync_ms = fc->sync * 1000;
        r = store_fleet_seq_get(d->store, &m->last_seq);
        /* Accuracy 1 ms, not sd-event's default 250 ms: the default lets
         * sd-event move the wake-up onto a grid that is the same for every
         * process of the machine (it is derived from the boot id), so the
         * jitter would be lost and every jitd of a host of containers would
         * catch up at the same instant. */
        if (r >= 0)
                r = sd_event_add_time_relative(d->event, &m->sync_timer, CLOCK_MONOTONIC, m->sync_ms * 1000,
                                               SYNC_ACCURACY_USEC, on_sync, m);
        if (r >= 0)
                r = fleet_upload_new(d, m, &upload_link, &m->upload);
        if (r >= 0)
                r = fleet_link_new(d->event, fc->database, fc->password_file, FLEET_CHANNEL, &ops, m, &m->link);
        if (r >= 0 && fc->write_database) {
                static const struct fleet_link_ops wops = { .up = on_wup, .down = on_wdown };

                r = fleet_link_new(d->event, fc->write_database, fc->password_file, NULL, &wops, m, &m->wlink);
        }
        if (r < 0) {
                fleet_mirror_free(m);
                return r;
        }
        arm_sync(m);
        *ret = m;
        return 0;
}

void fleet_mirror_free(struct fleet_mirror *m)
{
        if (!m)
                return;
        sshsig_job_cancel(m->job);
        if (m->op_running) {
                m->op_running->cb(-ECANCELED, NULL, NULL, m->op_running->userdata);
                op_free(m->op_running);
                m->op_running = NULL;
        }
        ops_fail(m, -ECANCELED);
        fleet_link_free(m->link);
        fleet_link_free(m->wlink);
        /* After the statements in flight were cancelled: their callbacks
         * may still name it. */
        fleet_upload_free(m->upload);
        m->sync_timer = sd_event_source_disable_unref(m->sync_timer);
        rows_free(m);
        free(m);
}

bool fleet_mirror_connected(const struct fleet_mirror *m)
{
        return m && writer_up(m);
}

struct fleet_upload *fleet_mirror_upload(struct fleet_mirror *m)
{
        return m ? m->upload : NULL;
}

void fleet_mirror_status(const struct fleet_mirror *m, char *buf, size_t size)
{
        size_t len;

        if (!m) {
                snprintf(buf, size, "off");
                return;
        }
        if (m->up && m->schema_why[0])
                snprintf(buf, size, "connected for %" PRId64 " s, but %s; changes applied up to %" PRId64,
                         now_realtime() - m->since, m->schema_why, m->last_seq);
        else if (m->up)
                snprintf(buf, size, "connected for %" PRId64 " s%s, changes applied up to %" PRId64,
                         now_realtime() - m->since,
                         fleet_link_pushing(m->link, NULL) ? "" : " (no push: LISTEN refused, catch-up only)",
                         m->last_seq);
        else if (m->since)
                snprintf(buf, size, "unreachable for %" PRId64 " s (%.200s), retrying; changes applied up to %" PRId64,
                         now_realtime() - m->since, m->down_why, m->last_seq);
        else
                snprintf(buf, size, "connecting; changes applied up to %" PRId64, m->last_seq);
        len = strlen(buf);
        if (m->wlink && len + 2 < size) {
                if (m->wup)
                        snprintf(buf + len, size - len, "; writes: connected for %" PRId64 " s",
                                 now_realtime() - m->wsince);
                else if (m->wsince)
                        snprintf(buf + len, size - len, "; writes: unreachable for %" PRId64 " s (%.200s), retrying",
                                 now_realtime() - m->wsince, m->wdown_why);
                else
                        snprintf(buf + len, size - len, "; writes: connecting");
                len = strlen(buf);
        }
        if (m->upload && len + 2 < size) {
                memcpy(buf + len, "; ", 3);
                fleet_upload_status(m->upload, buf + len + 2, size - len - 2);
        }
}
