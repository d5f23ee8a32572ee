/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <systemd/sd-event.h>

#include "deadline.h"
#include "ending.h"
#include "log.h"
#include "store.h"

struct deadline {
        sd_event_source *timer;         /* CLOCK_REALTIME, absolute */
        deadline_fn on_due;
        int64_t armed;                  /* unix seconds; 0: off */
        int64_t warned_until;
};

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct jitd *d = userdata;

        (void) s;
        (void) usec;
        d->deadline->armed = 0;
        d->deadline->on_due(d);
        return 0;
}

int deadline_new(struct jitd *d, deadline_fn on_due, struct deadline **ret)
{
        struct deadline *t = calloc(1, sizeof(*t));
        int r;

        if (!t)
                return -ENOMEM;
        t->on_due = on_due;
        t->warned_until = now_realtime();
        /* Absolute wall-clock time: a clock set forward past the deadline
         * fires it, one set back delays it, as the grant's times demand. */
        r = sd_event_add_time(d->event, &t->timer, CLOCK_REALTIME, UINT64_MAX, 1, on_timer, d);
        if (r >= 0)
                r = sd_event_source_set_enabled(t->timer, SD_EVENT_OFF);
        if (r < 0) {
                sd_event_source_unref(t->timer);
                free(t);
                return r;
        }
        *ret = t;
        return 0;
}

void deadline_free(struct deadline *t)
{
        if (!t)
                return;
        sd_event_source_disable_unref(t->timer);
        free(t);
}

static void arm_at(struct deadline *t, int64_t when)
{
        if (when <= 0) {
                t->armed = 0;
                (void) sd_event_source_set_enabled(t->timer, SD_EVENT_OFF);
                return;
        }
        t->armed = when;
        (void) sd_event_source_set_time(t->timer, (uint64_t) when * 1000000);
        (void) sd_event_source_set_enabled(t->timer, SD_EVENT_ONESHOT);
}

void deadline_rearm(struct jitd *d)
{
        struct deadline *t = d->deadline;
        int64_t when = 0, expiry;
        int r;

        r = store_next_deadline_skipping(d->store, ending_skip, d->ending, &when);
        if (r == -ENOENT)
                when = 0;
        else if (r < 0) {
                /* Reading failed (a read can fail too): look again soon,
                 * rather than never. */
                log_msg(LOG_ERR, "reading the next deadline: %s", store_last_error(d->store));
                arm_at(t, now_realtime() + 1);
                return;
        }
        if (d->config->warn_before && store_next_expiry_after(d->store, t->warned_until, &expiry) >= 0) {
                int64_t warn_at = expiry - (int64_t) d->config->warn_before;

                if (warn_at < 1)
                        warn_at = 1;
                if (!when || warn_at < when)
                        when = warn_at;
        }
        arm_at(t, when);
}

void deadline_pause(struct jitd *d)
{
        arm_at(d->deadline, 0);
}

int64_t deadline_warned_until(const struct jitd *d)
{
        return d->deadline->warned_until;
}

void deadline_set_warned_until(struct jitd *d, int64_t when)
{
        d->deadline->warned_until = when;
}
