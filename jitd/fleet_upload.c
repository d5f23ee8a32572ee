/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <systemd/sd-event.h>

#include "audit.h"
#include "fleet_mirror.h"
#include "fleet_upload.h"
#include "log.h"

/* Events read from the store at a time: the upload's memory is bounded by
 * it, and the position is written to the store once per batch. */
#define UPLOAD_BATCH 64
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 60000
/* A stopped upload is tried again at each reconnect and this often. */
#define STOP_RECHECK_USEC (300 * UINT64_C(1000000))

/* Every name qualified: the host role's search_path is not ours to trust. */
static const char append_sql[] =
        "SELECT jit.audit_append($1, $2::bigint, $3::bigint, $4::bigint, $5, $6::bigint, $7::bigint, $8, $9, $10, $11)";
/* Every open fleet grant of a user ($4), ended in one statement: the ids
 * ended. MATERIALIZED: the planner may not evaluate end_grant for any row
 * before the user's own rows are picked (AND has no order in SQL). */
static const char end_user_sql[] =
        "WITH mine AS MATERIALIZED (SELECT g.id FROM jit.grants g WHERE g.user_name = $4 AND g.state = 'open') "
        "SELECT m.id FROM mine m WHERE jit.end_grant($1, m.id, 'revoked', $2, $3) ORDER BY m.id";

struct pending {
        struct audit_event e;           /* details owned */
        int64_t fleet_grant;
};

struct fleet_upload {
        struct jitd *d;
        struct fleet_mirror *m;
        sd_event_source *post, *defer, *timer;
        uint64_t seen;                  /* audit_chain_appended when last looked */

        int64_t position;               /* the newest seq the database confirmed */
        int64_t persisted;              /* the position as the store has it */
        struct pending batch[UPLOAD_BATCH];
        size_t n, idx;
        bool in_flight, backing_off;
        unsigned backoff_ms;
        bool troubled;                  /* a transient failure was logged */

        bool stopped, recheck;
        int64_t stop_seq;
        char stop_why[200];

        bool ue_maybe, ue_flushing;     /* revoke --all entries may wait; a pass runs */
        bool ue_logged;
};

static void send_next(struct fleet_upload *u);

/* ---- the pure parts ------------------------------------------------------ */

static bool event_name_ok(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 64 || s[0] < 'a' || s[0] > 'z')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
                        return false;
        return true;
}

static bool hash_ok(const char *h)
{
        if (strlen(h) != STORE_HASH_LEN)
                return false;
        for (size_t i = 0; i < STORE_HASH_LEN; i++)
                if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
                        return false;
        return true;
}

int fleet_upload_params(const char *host, const struct audit_event *e, int64_t fleet_grant,
                        struct fleet_upload_call *ret)
{
        struct fleet_upload_call *c = ret;

        /* What jit.audit's checks would refuse (fleet_schema_v1/v2.sql):
         * refused here, the event could never be stored either. */
        if (!host || !e || !c || e->seq <= 0 || e->grant_id < 0 || fleet_grant < 0 || !e->details ||
            strlen(e->actor) > 64 || !event_name_ok(e->event) || strlen(e->details) > 65536 ||
            !hash_ok(e->hash) || !hash_ok(e->prev_hash))
                return -EINVAL;
        *c = (struct fleet_upload_call) {};
        snprintf(c->seq, sizeof(c->seq), "%" PRId64, e->seq);
        snprintf(c->at, sizeof(c->at), "%" PRId64, e->at);
        snprintf(c->uid, sizeof(c->uid), "%u", (unsigned) e->actor_uid);
        snprintf(c->host_grant, sizeof(c->host_grant), "%" PRId64, e->grant_id);
        snprintf(c->grant, sizeof(c->grant), "%" PRId64, fleet_grant);
        c->params[0] = host;
        c->params[1] = c->seq;
        c->params[2] = c->at;
        c->params[3] = c->uid;
        c->params[4] = e->actor;
        c->params[5] = c->host_grant;
        c->params[6] = fleet_grant > 0 ? c->grant : NULL;       /* SQL NULL: no fleet grant */
        c->params[7] = e->event;
        c->params[8] = e->details;
        c->params[9] = e->prev_hash;
        c->params[10] = e->hash;
        return 0;
}

/* Classes of SQLSTATE that say "not now" rather than "not this": the
 * connection, a transaction rolled back (serialization, deadlock), resources,
 * a lock, an operator (a cancel, a shutdown), the system, an internal
 * error. */
static bool transient(const char *sqlstate)
{
        static const char *const classes[] = { "08", "40", "53", "55", "57", "58", "XX" };

        if (!sqlstate || strlen(sqlstate) != 5)
                return true;    /* not the server's refusal: a client-side failure */
        for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
                if (strncmp(sqlstate, classes[i], 2) == 0)
                        return true;
        return false;
}

enum fleet_upload_verdict fleet_upload_judge(int r, const char *answer, const char *sqlstate, const char *message,
                                             int64_t seq, int64_t position, int64_t *ret_from)
{
        static const char next_is[] = "out of order: the next is ";
        const char *p;

        if (r == 0)
                /* true: stored now; false: the same event was there (an
                 * earlier try whose answer was lost). Anything else is not
                 * the function we know. */
                return answer && (strcmp(answer, "t") == 0 || strcmp(answer, "f") == 0) ? FLEET_UPLOAD_STORED :
                                                                                          FLEET_UPLOAD_STOP;
        if (r == -ECONNRESET || r == -ENOTCONN)
                return FLEET_UPLOAD_WAIT;
        if (r != -EIO || transient(sqlstate))
                return FLEET_UPLOAD_RETRY;
        /* "out of order" with a next place at or before what it confirmed:
         * the database lost events it had (restored from a backup). They are
         * sent again from the store; nothing is skipped. */
        if (sqlstate && strcmp(sqlstate, "22023") == 0 && message && (p = strstr(message, next_is))) {
                char *end;
                long long next;

                errno = 0;
                next = strtoll(p + strlen(next_is), &end, 10);
                if (!errno && end != p + strlen(next_is) && next >= 1 && next <= position && next <= seq) {
                        if (ret_from)
                                *ret_from = next - 1;
                        return FLEET_UPLOAD_REWIND;
                }
        }
        return FLEET_UPLOAD_STOP;
}

unsigned fleet_upload_backoff(unsigned ms)
{
        if (ms < BACKOFF_MIN_MS)
                return BACKOFF_MIN_MS;
        return ms >= BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS : ms * 2;
}

/* ---- the position ------------------------------------------------------- */

/* Written without fsync (a crash of jitd keeps it; a power loss may lose
 * it, and then the events after the older position are sent again, which
 * the database answers with "already there"). */
static void persist(struct fleet_upload *u)
{
        struct store *s = u->d->store;
        int r;

        if (u->persisted == u->position)
                return;
        r = store_begin_relaxed(s);
        if (r >= 0)
                r = store_fleet_upload_set(s, u->position);
        if (r >= 0)
                r = store_commit(s);
        if (r < 0) {
                store_rollback(s);
                return;         /* next time: the position in memory is what counts while we run */
        }
        u->persisted = u->position;
}

/* ---- the batch ---------------------------------------------------------- */

static void batch_clear(struct fleet_upload *u)
{
        for (size_t i = 0; i < u->n; i++)
                free((char *) u->batch[i].e.details);
        u->n = u->idx = 0;
}

static int batch_add(const struct audit_event *e, void *userdata)
{
        struct fleet_upload *u = userdata;
        struct pending *p;
        int64_t fleet_id = 0;
        int r;

        if (u->n >= UPLOAD_BATCH)
                return -E2BIG;
        /* The fleet's id when the grant is a fleet grant's copy here. */
        if (e->grant_id > 0) {
                r = store_fleet_id_of(u->d->store, e->grant_id, &fleet_id);
                if (r == -ENOENT)
                        fleet_id = 0;
                else if (r < 0)
                        return r;
        }
        p = &u->batch[u->n];
        p->e = *e;
        p->e.details = strdup(e->details ? e->details : "");
        if (!p->e.details)
                return -ENOMEM;
        p->fleet_grant = fleet_id;
        u->n++;
        return 0;
}

static int batch_load(struct fleet_upload *u)
{
        struct store_audit_filter f = { .after_seq = u->position, .limit = UPLOAD_BATCH };
        int r;

        batch_clear(u);
        r = store_audit_foreach(u->d->store, &f, batch_add, u);
        if (r < 0) {
                batch_clear(u);
                return r;
        }
        return 0;
}

/* ---- sending ------------------------------------------------------------ */

static void retry_later(struct fleet_upload *u, const char *why)
{
        uint64_t jitter, delay;

        u->backoff_ms = fleet_upload_backoff(u->backoff_ms);
        jitter = u->backoff_ms / 5;
        delay = u->backoff_ms - jitter + (jitter ? (uint64_t) random() % (2 * jitter + 1) : 0);
        u->backing_off = true;
        (void) sd_event_source_set_time_relative(u->timer, delay * 1000);
        (void) sd_event_source_set_enabled(u->timer, SD_EVENT_ONESHOT);
        /* Once until the upload works again, not at every try. */
        if (!u->troubled)
                log_msg(LOG_WARNING, "fleet: uploading audit event %" PRId64 " failed (%s); retrying with backoff",
                        u->position + 1, why);
        u->troubled = true;
}

static void stop(struct fleet_upload *u, int64_t seq, const char *why)
{
        bool first = !u->stopped;

        u->stopped = true;
        u->recheck = false;
        u->stop_seq = seq;
        snprintf(u->stop_why, sizeof(u->stop_why), "%s", why);
        persist(u);
        if (first)
                log_msg(LOG_ERR, "fleet: audit upload stopped at event %" PRId64 ": %s; nothing after it is uploaded "
                        "until that is resolved, nothing is skipped (this host's chain: jitctl audit verify)", seq, why);
        (void) sd_event_source_set_time_relative(u->timer, STOP_RECHECK_USEC);
        (void) sd_event_source_set_enabled(u->timer, SD_EVENT_ONESHOT);
}

static void soon(struct fleet_upload *u)
{
        (void) sd_event_source_set_enabled(u->defer, SD_EVENT_ONESHOT);
}

static void on_appended(int r, const PGresult *res, const char *why, void *userdata)
{
        struct fleet_upload *u = userdata;
        struct pending *p = &u->batch[u->idx];
        const char *answer = NULL, *sqlstate = NULL, *message = NULL;
        char text[256];
        int64_t from = 0;

        u->in_flight = false;
        if (r == -ECANCELED)
                return;         /* jitd stops: the position is written at free */
        if (res && r == 0 && PQntuples(res) == 1 && PQnfields(res) == 1 && !PQgetisnull(res, 0, 0))
                answer = PQgetvalue(res, 0, 0);
        if (res && r == -EIO) {
                sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
                message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        }
        switch (fleet_upload_judge(r, answer, sqlstate, message, p->e.seq, u->position, &from)) {
        case FLEET_UPLOAD_STORED:
                if (u->stopped)
                        log_msg(LOG_NOTICE, "fleet: audit upload resumed at event %" PRId64, p->e.seq);
                else if (u->troubled)
                        log_msg(LOG_NOTICE, "fleet: audit upload going again at event %" PRId64, p->e.seq);
                u->stopped = u->recheck = u->troubled = false;
                u->backoff_ms = 0;
                u->position = p->e.seq;
                u->idx++;
                if (u->idx >= u->n)
                        persist(u);
                /* Back through the loop: PAM checks, the catch-up and the
                 * verbs take their turns between two events. */
                soon(u);
                return;
        case FLEET_UPLOAD_WAIT:
                return;         /* fleet_upload_up when the link is back */
        case FLEET_UPLOAD_RETRY:
                retry_later(u, message ? message : why ? why : strerror(-r));
                return;
        case FLEET_UPLOAD_REWIND:
                log_msg(LOG_WARNING, "fleet: the fleet database lacks this host's audit events from %" PRId64 " on "
                        "(restored from a backup?): sending them again", from + 1);
                u->position = from;
                batch_clear(u);
                persist(u);
                soon(u);
                return;
        case FLEET_UPLOAD_STOP:
                if (r == 0)
                        snprintf(text, sizeof(text), "the fleet database answered %s, not true or false",
                                 answer ? answer : "nothing");
                else
                        snprintf(text, sizeof(text), "the fleet database refused it: %s",
                                 message ? message : why ? why : "?");
                stop(u, p->e.seq, text);
                return;
        }
}

static void send_next(struct fleet_upload *u)
{
        struct fleet_upload_call call;
        struct pending *p;
        char why[160];
        int r;

        if (u->in_flight || u->backing_off || (u->stopped && !u->recheck) || !fleet_mirror_connected(u->m))
                return;
        if (u->idx >= u->n) {
                r = batch_load(u);
                if (r < 0) {
                        snprintf(why, sizeof(why), "the local store: %s", store_last_error(u->d->store));
                        retry_later(u, why);
                        return;
                }
                if (u->n == 0) {
                        persist(u);
                        return;         /* all uploaded */
                }
        }
        p = &u->batch[u->idx];
        if (p->e.seq != u->position + 1) {
                /* The chain has a hole here (jitctl audit verify says so):
                 * nothing after it may go before it. */
                snprintf(why, sizeof(why), "event %" PRId64 " is missing from this host's store", u->position + 1);
                stop(u, u->position + 1, why);
                return;
        }
        r = fleet_upload_params(u->d->config->host, &p->e, p->fleet_grant, &call);
        if (r < 0) {
                stop(u, p->e.seq, "the event cannot be stored in the fleet database (a field is malformed)");
                return;
        }
        r = fleet_mirror_query(u->m, append_sql, FLEET_UPLOAD_PARAMS, call.params, on_appended, u);
        if (r == -ENOTCONN)
                return;
        if (r < 0) {
                retry_later(u, strerror(-r));
                return;
        }
        u->in_flight = true;
}

static int on_defer(sd_event_source *s, void *userdata)
{
        (void) s;
        send_next(userdata);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct fleet_upload *u = userdata;

        (void) s;
        (void) usec;
        u->backing_off = false;
        if (u->stopped)
                u->recheck = true;
        send_next(u);
        return 0;
}

/* After every loop iteration: a new event (committed by now) goes at once. */
static int on_post(sd_event_source *s, void *userdata)
{
        struct fleet_upload *u = userdata;
        uint64_t n = audit_chain_appended(u->d->audit);

        (void) s;
        if (n != u->seen) {
                u->seen = n;
                send_next(u);
        }
        return 0;
}

/* ---- revoke --user --all ------------------------------------------------ */

struct user_end_op {
        struct fleet_upload *u;
        char user[JIT_USER_MAX + 1];
        bool flush;
        fleet_query_fn cb;
        void *userdata;
};

static void user_ends_next(struct fleet_upload *u, const char *after);

static void on_user_end(int r, const PGresult *res, const char *why, void *userdata)
{
        struct user_end_op *o = userdata;
        struct fleet_upload *u = o->u;

        if (r == 0) {
                (void) store_fleet_user_end_delete(u->d->store, o->user);
                u->ue_logged = false;
        } else if (r != -ECANCELED) {
                u->ue_maybe = true;
                if (r == -EIO && !u->ue_logged)
                        log_msg(LOG_ERR, "fleet: the revocation of every fleet grant of %s was refused by the "
                                "database (%s); it stays queued and is sent again at each sync", o->user,
                                why ? why : "?");
                if (r == -EIO)
                        u->ue_logged = true;
        }
        if (o->cb)
                o->cb(r, res, why, o->userdata);
        if (o->flush) {
                if (r == 0 || r == -EIO)
                        user_ends_next(u, o->user);
                else
                        u->ue_flushing = false;
        }
        free(o);
}

static int user_end_send(struct fleet_upload *u, const struct store_fleet_user_end *e, bool flush,
                         fleet_query_fn cb, void *userdata)
{
        struct user_end_op *o = calloc(1, sizeof(*o));
        const char *params[4] = { u->d->config->host, e->by, e->reason, e->user };
        int r;

        if (!o)
                return -ENOMEM;
        *o = (struct user_end_op) { .u = u, .flush = flush, .cb = cb, .userdata = userdata };
        snprintf(o->user, sizeof(o->user), "%s", e->user);
        r = fleet_mirror_query(u->m, end_user_sql, 4, params, on_user_end, o);
        if (r < 0)
                free(o);
        return r;
}

static void user_ends_next(struct fleet_upload *u, const char *after)
{
        struct store_fleet_user_end e;
        int r;

        u->ue_flushing = false;
        if (!fleet_mirror_connected(u->m))
                return;
        r = store_fleet_user_end_next(u->d->store, after, &e);
        if (r == -ENOENT)
                return;         /* a pass done: what failed in it set ue_maybe again */
        if (r < 0 || user_end_send(u, &e, true, NULL, NULL) < 0) {
                u->ue_maybe = true;
                return;
        }
        u->ue_flushing = true;
}

static void user_ends_flush(struct fleet_upload *u)
{
        if (!u->ue_maybe || u->ue_flushing || !fleet_mirror_connected(u->m))
                return;
        u->ue_maybe = false;
        user_ends_next(u, "");
}

int fleet_upload_user_end(struct fleet_upload *u, const struct store_fleet_user_end *e, fleet_query_fn cb,
                          void *userdata)
{
        if (!u || !e || !e->user[0] || !cb)
                return -EINVAL;
        u->ue_maybe = true;
        return user_end_send(u, e, false, cb, userdata);
}

/* ---- the mirror's hooks --------------------------------------------------- */

void fleet_upload_up(struct fleet_upload *u)
{
        if (!u)
                return;
        if (u->stopped)
                u->recheck = true;
        /* A new connection: no reason to wait out a backoff from the old. */
        if (u->backing_off) {
                u->backing_off = false;
                (void) sd_event_source_set_enabled(u->timer, SD_EVENT_OFF);
        }
        send_next(u);
        u->ue_maybe = true;     /* what an earlier run or outage left */
        user_ends_flush(u);
}

void fleet_upload_sync(struct fleet_upload *u)
{
        if (!u)
                return;
        send_next(u);
        user_ends_flush(u);
}

void fleet_upload_status(const struct fleet_upload *u, char *buf, size_t size)
{
        char hash[STORE_HASH_LEN + 1];
        int64_t tail = 0, queued = 0;
        size_t len;

        if (!u || !size)
                return;
        (void) store_audit_tail(u->d->store, &tail, hash);
        if (u->stopped)
                snprintf(buf, size, "audit upload STOPPED at event %" PRId64 ": %.150s", u->stop_seq, u->stop_why);
        else
                snprintf(buf, size, "audit events uploaded up to %" PRId64 " of %" PRId64 " (%" PRId64 " waiting)",
                         u->position, tail, tail > u->position ? tail - u->position : 0);
        len = strlen(buf);
        if (store_fleet_user_end_count(u->d->store, &queued) >= 0 && queued > 0 && len < size)
                snprintf(buf + len, size - len, "; %" PRId64 " fleet-wide revocation%s queued", queued,
                         queued == 1 ? "" : "s");
}

int fleet_upload_new(struct jitd *d, struct fleet_mirror *m, struct fleet_upload **ret)
{
        struct fleet_upload *u;
        char hash[STORE_HASH_LEN + 1];
        int64_t tail = 0;
        int r;

        if (!d || !m || !ret)
                return -EINVAL;
        u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        u->d = d;
        u->m = m;
        u->seen = audit_chain_appended(d->audit);
        r = store_fleet_upload_get(d->store, &u->position);
        if (r >= 0)
                r = store_audit_tail(d->store, &tail, hash);
        if (r >= 0 && u->position > tail) {
                /* Cannot happen with one store file (an event is committed
                 * before it is sent); if it does, the events after the tail
                 * would be skipped: start again where the chain ends. */
                log_msg(LOG_WARNING, "fleet: the upload position %" PRId64 " is past this host's newest audit event "
                        "%" PRId64 "; uploading from there", u->position, tail);
                u->position = tail;
        }
        u->persisted = u->position;
        if (r >= 0)
                r = sd_event_add_post(d->event, &u->post, on_post, u);
        if (r >= 0)
                r = sd_event_add_defer(d->event, &u->defer, on_defer, u);
        if (r >= 0)
                r = sd_event_source_set_enabled(u->defer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time_relative(d->event, &u->timer, CLOCK_MONOTONIC, 0, 0, on_timer, u);
        if (r >= 0)
                r = sd_event_source_set_enabled(u->timer, SD_EVENT_OFF);
        if (r < 0) {
                fleet_upload_free(u);
                return r;
        }
        *ret = u;
        return 0;
}

void fleet_upload_free(struct fleet_upload *u)
{
        if (!u)
                return;
        persist(u);
        batch_clear(u);
        u->post = sd_event_source_disable_unref(u->post);
        u->defer = sd_event_source_disable_unref(u->defer);
        u->timer = sd_event_source_disable_unref(u->timer);
        free(u);
}
