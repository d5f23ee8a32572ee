/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <systemd/sd-event.h>

#include "ending.h"
#include "log.h"
#include "store.h"
#include "tombstone.h"

struct waiting {
        struct waiting *next;
        bool grant_row;                 /* change carries the grant's new row */
        struct change change;           /* grant_row: the end of a grant */
        ending_after_fn after;
        struct change *events;          /* otherwise: events about grants, no rows */
        size_t n_events;
        struct session_row *rows;
        size_t n_rows;
};

/* The grants whose end waits, as a small open-addressing set: deadlines and
 * PAM checks ask for every grant they look at, and ten thousand may wait. */
struct idset {
        int64_t *v;                     /* 0: free; -1: deleted */
        size_t cap, used;
};

static size_t idset_slot(int64_t id, size_t cap)
{
        uint64_t h = (uint64_t) id * UINT64_C(0x9e3779b97f4a7c15);

        return (size_t) (h >> 17) & (cap - 1);
}

static bool idset_has(const struct idset *s, int64_t id)
{
        if (!s->cap)
                return false;
        for (size_t i = idset_slot(id, s->cap), k = 0; k < s->cap; i = (i + 1) & (s->cap - 1), k++) {
                if (s->v[i] == 0)
                        return false;
                if (s->v[i] == id)
                        return true;
        }
        return false;
}

static int idset_add(struct idset *s, int64_t id)
{
        if ((s->used + 1) * 2 > s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 64;
                int64_t *v = calloc(cap, sizeof(*v));

                if (!v)
                        return -ENOMEM;
                for (size_t i = 0; i < s->cap; i++)
                        if (s->v[i] > 0) {
                                size_t j = idset_slot(s->v[i], cap);

                                while (v[j])
                                        j = (j + 1) & (cap - 1);
                                v[j] = s->v[i];
                        }
                free(s->v);
                s->v = v;
                s->cap = cap;
                s->used = 0;
                for (size_t i = 0; i < cap; i++)
                        s->used += v[i] > 0;
        }
        for (size_t i = idset_slot(id, s->cap);; i = (i + 1) & (s->cap - 1))
                if (s->v[i] <= 0) {
                        s->v[i] = id;
                        s->used++;
                        return 0;
                }
}

static void idset_del(struct idset *s, int64_t id)
{
        if (!s->cap)
                return;
        for (size_t i = idset_slot(id, s->cap), k = 0; k < s->cap; i = (i + 1) & (s->cap - 1), k++) {
                if (s->v[i] == 0)
                        return;
                if (s->v[i] == id) {
                        s->v[i] = -1;   /* the probe chain goes on through it */
                        return;
                }
        }
}

struct ending {
        struct jitd *d;
        char *dir;                      /* tombstones: ends kept across a restart */
        char *dir_disk;                 /* the same next to the database: across a reboot (may be NULL) */
        struct idset ended;             /* ids of the grant rows that wait */
        struct waiting *head, **tail;
        size_t n;
        sd_event_source *timer;
        uint64_t backoff_ms;
        int64_t logged_at_ms;           /* monotonic; 0: the last attempt worked */
        int last_error;
};

static int write_one(struct jitd *d, struct waiting *w)
{
        int r = store_begin(d->store);

        if (r < 0)
                return r;
        for (size_t i = 0; r >= 0 && i < w->n_rows; i++) {
                const struct session_row *x = &w->rows[i];

                switch (x->kind) {
                case SESSION_ROW_TORN_DOWN:
                        r = store_session_torn_down(d->store, x->session_id, x->at, x->reason);
                        break;
                case SESSION_ROW_MOVED:
                        r = store_session_set_grant(d->store, x->session_id, x->grant_id);
                        break;
                case SESSION_ROW_CLOSED:
                        r = store_session_close(d->store, x->session_id, x->at, x->reason);
                        break;
                }
        }
        if (r >= 0 && w->grant_row)
                r = change_write(d, &w->change, false);
        for (size_t i = 0; r >= 0 && i < w->n_events; i++)
                r = change_write_events(d, &w->events[i]);
        if (r >= 0)
                r = store_commit(d->store);
        if (r < 0) {
                store_rollback(d->store);
                return r;
        }
        if (w->grant_row) {
                change_log(&w->change);
                if (w->after)
                        w->after(d, &w->change);
        }
        for (size_t i = 0; i < w->n_events; i++)
                change_log(&w->events[i]);
        return 0;
}

static void waiting_free(struct waiting *w)
{
        if (!w)
                return;
        change_done(&w->change);
        for (size_t i = 0; i < w->n_events; i++)
                change_done(&w->events[i]);
        free(w->events);
        free(w->rows);
        free(w);
}

static void arm(struct ending *e)
{
        uint64_t now = 0;

        if (!e->head) {
                e->backoff_ms = 0;
                (void) sd_event_source_set_enabled(e->timer, SD_EVENT_OFF);
                return;
        }
        e->backoff_ms = e->backoff_ms ? e->backoff_ms * 2 : ENDING_RETRY_FIRST_MS;
        if (e->backoff_ms > ENDING_RETRY_MAX_MS)
                e->backoff_ms = ENDING_RETRY_MAX_MS;
        (void) sd_event_now(e->d->event, CLOCK_MONOTONIC, &now);
        (void) sd_event_source_set_time(e->timer, now + e->backoff_ms * 1000);
        (void) sd_event_source_set_enabled(e->timer, SD_EVENT_ONESHOT);
}

static void note_failure(struct ending *e, int r)
{
        int64_t now = now_monotonic_ms();

        /* Once when it starts, then now and then: a full disk must not also
         * fill the log. */
        if (e->logged_at_ms && now - e->logged_at_ms < ENDING_LOG_EVERY_MS && r == e->last_error)
                return;
        e->logged_at_ms = now;
        e->last_error = r;
        log_msg(LOG_ERR, "cannot record %zu finished change%s yet (the host side is done): %s; retrying", e->n,
                e->n == 1 ? "" : "s", store_last_error(e->d->store));
}

void ending_flush(struct ending *e)
{
        size_t done = 0;
        int r = 0;

        while (e->head) {
                struct waiting *w = e->head;

                r = write_one(e->d, w);
                if (r < 0)
                        break;
                e->head = w->next;
                if (!e->head)
                        e->tail = &e->head;
                e->n--;
                done++;
                if (w->grant_row) {
                        idset_del(&e->ended, w->change.next.id);
                        ending_forget(e, w->change.next.id);
                }
                waiting_free(w);
        }
        if (r < 0)
                note_failure(e, r);
        else if (done && e->logged_at_ms) {
                log_msg(LOG_NOTICE, "recorded %zu change%s that had waited", done, done == 1 ? "" : "s");
                e->logged_at_ms = 0;
        }
        if (r >= 0)
                e->backoff_ms = 0;
        arm(e);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void) s;
        (void) usec;
        ending_flush(userdata);
        return 0;
}

int ending_new(struct jitd *d, char *dir, char *dir_disk, struct ending **ret)
{
        struct ending *e = calloc(1, sizeof(*e));
        int r;

        if (!e) {
                free(dir);
                free(dir_disk);
                return -ENOMEM;
        }
        e->d = d;
        e->dir = dir;
        e->dir_disk = dir_disk;
        e->tail = &e->head;
        r = sd_event_add_time(d->event, &e->timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_retry, e);
        if (r >= 0)
                r = sd_event_source_set_enabled(e->timer, SD_EVENT_OFF);
        if (r < 0) {
                sd_event_source_unref(e->timer);
                free(e->dir);
                free(e->dir_disk);
                free(e);
                return r;
        }
        *ret = e;
        return 0;
}

const char *ending_dir(const struct ending *e)
{
        return e->dir;
}

const char *ending_dir_disk(const struct ending *e)
{
        return e->dir_disk;
}

void ending_forget(struct ending *e, int64_t grant_id)
{
        if (e->dir)
                (void) tombstone_drop(e->dir, grant_id);
        if (e->dir_disk)
                (void) tombstone_drop(e->dir_disk, grant_id);
}

void ending_free(struct ending *e)
{
        if (!e)
                return;
        while (e->head) {
                struct waiting *w = e->head;

                e->head = w->next;
                waiting_free(w);
        }
        sd_event_source_disable_unref(e->timer);
        free(e->ended.v);
        free(e->dir);
        free(e->dir_disk);
        free(e);
}

static int keep(struct ending *e, struct waiting *w, int why)
{
        int r;

        if (w->grant_row && idset_add(&e->ended, w->change.next.id) < 0) {
                waiting_free(w);
                return -ENOMEM;
        }
        /* Outside the database too, before anyone is told: a restart must
         * not undo an end that only this process knows of. */
        if (w->grant_row && e->dir && (r = tombstone_put(e->dir, &w->change)) < 0)
                log_msg(LOG_ERR, "grant %lld: cannot keep its unrecorded end in %s: %s; a restart before the "
                        "record is written would make it active again", (long long) w->change.next.id, e->dir,
                        strerror(-r));
        /* And next to the database, for a reboot (the run directory is a
         * tmpfs). On the disk that just failed this may fail too; then only
         * a reboot before the record is written undoes the end. */
        if (w->grant_row && e->dir_disk && (r = tombstone_put(e->dir_disk, &w->change)) < 0)
                log_msg(LOG_WARNING, "grant %lld: cannot keep its unrecorded end in %s as well: %s; it is kept "
                        "until a reboot", (long long) w->change.next.id, e->dir_disk, strerror(-r));
        *e->tail = w;
        e->tail = &w->next;
        e->n++;
        note_failure(e, why);
        if (sd_event_source_get_enabled(e->timer, NULL) <= 0)
                arm(e);
        return 1;
}

int ending_record(struct jitd *d, const struct change *c, ending_after_fn after_commit)
{
        struct ending *e = d->ending;
        struct waiting *w;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->grant_row = true;
        w->after = after_commit;
        r = change_copy(&w->change, c);
        if (r < 0) {
                free(w);
                return r;
        }
        /* Behind what already waits: the trail keeps its order. */
        if (!e->head) {
                r = write_one(d, w);
                if (r >= 0) {
                        waiting_free(w);
                        return 0;
                }
        } else
                r = -EAGAIN;
        return keep(e, w, r);
}

size_t ending_record_many(struct jitd *d, struct change *cs, size_t n, ending_after_fn after_commit)
{
        struct ending *e = d->ending;
        size_t kept = 0;
        int r = -EAGAIN;

        if (!e->head) {
                r = store_begin(d->store);
                for (size_t i = 0; r >= 0 && i < n; i++)
                        r = change_write(d, &cs[i], false);
                if (r >= 0)
                        r = store_commit(d->store);
                if (r < 0)
                        store_rollback(d->store);
        }
        if (r >= 0) {
                for (size_t i = 0; i < n; i++)
                        change_log(&cs[i]);
                for (size_t i = 0; i < n; i++)
                        if (after_commit)
                                after_commit(d, &cs[i]);
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                struct waiting *w = calloc(1, sizeof(*w));

                if (!w || change_copy(&w->change, &cs[i]) < 0) {
                        free(w);
                        log_msg(LOG_ERR, "grant %lld: cannot keep its record: out of memory",
                                (long long) cs[i].next.id);
                        continue;
                }
                w->grant_row = true;
                w->after = after_commit;
                if (keep(e, w, r) > 0)
                        kept++;
        }
        return kept;
}

int ending_record_sessions(struct jitd *d, const struct session_row *rows, size_t n_rows, const struct change *cs,
                           size_t n_changes)
{
        struct ending *e = d->ending;
        struct waiting *w;
        int r = 0;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        if (n_rows) {
                w->rows = calloc(n_rows, sizeof(*w->rows));
                if (!w->rows)
                        r = -ENOMEM;
                else {
                        memcpy(w->rows, rows, n_rows * sizeof(*rows));
                        w->n_rows = n_rows;
                }
        }
        if (r >= 0 && n_changes) {
                w->events = calloc(n_changes, sizeof(*w->events));
                if (!w->events)
                        r = -ENOMEM;
                for (size_t i = 0; r >= 0 && i < n_changes; i++) {
                        r = change_copy(&w->events[i], &cs[i]);
                        if (r >= 0)
                                w->n_events++;
                }
        }
        if (r < 0) {
                waiting_free(w);
                return r;
        }
        if (!e->head) {
                r = write_one(d, w);
                if (r >= 0) {
                        waiting_free(w);
                        return 0;
                }
        } else
                r = -EAGAIN;
        return keep(e, w, r);
}

bool ending_contains(const struct ending *e, int64_t id)
{
        return e && idset_has(&e->ended, id);
}

int ending_lookup(const struct ending *e, int64_t id, struct jit_grant *ret)
{
        const struct jit_grant *found = NULL;

        if (!ending_contains(e, id))
                return -ENOENT;
        /* The newest waiting change of the grant is what it is now. */
        for (const struct waiting *w = e->head; w; w = w->next)
                if (w->grant_row && w->change.next.id == id)
                        found = &w->change.next;
        if (!found)
                return -ENOENT;
        *ret = *found;
        return 0;
}

bool ending_skip(int64_t id, void *userdata)
{
        return ending_contains(userdata, id);
}

size_t ending_count(const struct ending *e)
{
        return e ? e->n : 0;
}
