/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <systemd/sd-event.h>

#include "clock.h"
#include "deadline.h"
#include "ending.h"
#include "grants.h"
#include "log.h"
#include "sessions.h"
#include "store.h"

struct clock {
        struct jitd *d;
        int64_t *queue;                 /* active grants due, in order */
        size_t n, pos, cap;
        sd_event_source *work;          /* a chunk per turn of the loop, after the requests */
};

static void work_chunk(struct clock *c)
{
        struct jitd *d = c->d;
        size_t n = c->n - c->pos < CLOCK_CHUNK ? c->n - c->pos : CLOCK_CHUNK;

        (void) grants_expire(d, c->queue + c->pos, n);
        c->pos += n;
        if (c->pos < c->n)
                return;
        free(c->queue);
        c->queue = NULL;
        c->n = c->pos = c->cap = 0;
        (void) sd_event_source_set_enabled(c->work, SD_EVENT_OFF);
        deadline_rearm(d);
}

static int on_work(sd_event_source *s, void *userdata)
{
        (void) s;
        work_chunk(userdata);
        return 0;
}

struct due_walk {
        struct clock *c;
        int64_t *starting;
        size_t n_starting, cap_starting;
};

static int collect_due(int64_t id, bool starting, void *userdata)
{
        struct due_walk *w = userdata;
        struct clock *c = w->c;

        if (ending_contains(c->d->ending, id))
                return 0;
        if (starting) {
                if (array_reserve((void **) &w->starting, &w->cap_starting, w->n_starting, sizeof(*w->starting)) < 0)
                        return -ENOMEM;
                w->starting[w->n_starting++] = id;
                return 0;
        }
        if (array_reserve((void **) &c->queue, &c->cap, c->n, sizeof(*c->queue)) < 0)
                return -ENOMEM;
        c->queue[c->n++] = id;
        return 0;
}

struct warn_walk {
        struct jitd *d;
        int64_t from, to;
};

static int warn_one(const struct jit_grant *g, void *userdata)
{
        struct warn_walk *w = userdata;

        if (g->expires_at > w->from && g->expires_at <= w->to)
                sessions_warn(w->d, g);
        return 0;
}

/* warn_before: every active grant whose end falls within warn_before of now
 * and was not warned yet gets its notice. */
static void warnings(struct jitd *d, int64_t now)
{
        struct store_filter f = { .states = GRANT_STATE_MASK(GRANT_ACTIVE) };
        struct warn_walk w = { .d = d, .from = deadline_warned_until(d), .to = now + (int64_t) d->config->warn_before };

        if (!d->config->warn_before || w.to <= w.from)
                return;
        if (store_grant_foreach(d->store, &f, warn_one, &w) >= 0)
                deadline_set_warned_until(d, w.to);
}

void clock_on_due(struct jitd *d)
{
        struct clock *c = d->clock;
        struct due_walk w = { .c = c };
        int64_t now = now_realtime();
        int r;

        if (clock_busy(d))
                return;         /* the queue re-arms the timer when it is through */
        warnings(d, now);
        r = store_due_foreach(d->store, now, collect_due, &w);
        if (r < 0) {
                /* Could not read what is due: look again in a moment. The
                 * rules carry NOTAFTER, so sudo stops on time regardless. */
                log_msg(LOG_ERR, "reading due grants: %s; trying again", store_last_error(d->store));
                free(c->queue);
                c->queue = NULL;
                c->n = c->pos = c->cap = 0;
        }
        for (size_t i = 0; i < w.n_starting; i++) {
                struct fsm_event ev = { .type = FSM_START };
                struct jit_grant g;
                char why[256];

                if (grants_get(d, w.starting[i], &g) >= 0 &&
                    (r = grants_step(d, &g, &ev, &actor_jitd, why, sizeof(why))) < 0 && r != -EALREADY)
                        log_msg(LOG_ERR, "grant %lld: cannot start: %s", (long long) g.id,
                                why[0] ? why : strerror(-r));
        }
        free(w.starting);
        if (c->n) {
                deadline_pause(d);
                work_chunk(c);
                if (c->n)
                        (void) sd_event_source_set_enabled(c->work, SD_EVENT_ON);
                return;
        }
        deadline_rearm(d);
}

bool clock_busy(const struct jitd *d)
{
        return d->clock && d->clock->pos < d->clock->n;
}

void clock_run_now(struct jitd *d)
{
        clock_on_due(d);
        while (clock_busy(d))
                work_chunk(d->clock);
}

int clock_new(struct jitd *d, struct clock **ret)
{
        struct clock *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return -ENOMEM;
        c->d = d;
        r = sd_event_add_defer(d->event, &c->work, on_work, c);
        if (r >= 0)
                r = sd_event_source_set_priority(c->work, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->work, SD_EVENT_OFF);
        if (r < 0) {
                sd_event_source_unref(c->work);
                free(c);
                return r;
        }
        *ret = c;
        return 0;
}

void clock_free(struct clock *c)
{
        if (!c)
                return;
        sd_event_source_disable_unref(c->work);
        free(c->queue);
        free(c);
}
