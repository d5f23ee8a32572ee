/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The engine (ticket.h) answers per (ticket, user) lookup; the verdict is
 * applied to every open grant of that user naming that ticket:
 *   pending grant: approved -> active (or scheduled inside the change window),
 *                  closed/refused/not found -> denied, pending/error -> wait;
 *   active grant:  anything but approved or a transient error -> revoked.
 *
 * The engine (ticket.c) is a proxy to the ticket helper, which does the HTTP,
 * TLS and JSON without privilege. A grant that ends takes its lookup with it
 * (ticket_cancel) unless another open grant of the same user names the same
 * ticket. Lookups jitd makes on its own (the poll) are marked
 * TICKET_LOOKUP_POLL: they are not charged to the user.
 *
 * A fleet grant's copy (jitd/fleet_mirror.c) is a grant like any other here,
 * with three differences: its first lookup waits a random delay
 * (ticketflow_check_soon), so that the hosts of a fleet do not ask the
 * ticket system together; while its ticket does not approve it, why is
 * audited once per reason as fleet-refused; and it never outlives the
 * fleet's end (its duration after the request, or, with peer approvals
 * too, after the approval that completed them), pending or active.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "fleet_refused.h"
#include "grants.h"
#include "log.h"
#include "request.h"
#include "store.h"
#include "ticket.h"
#include "ticketflow.h"

struct lookup_ctx {
        struct lookup_ctx *next;
        struct jitd *d;
        char ticket[JIT_TICKET_MAX + 1];
        char user[JIT_USER_MAX + 1];
};

struct deferred {
        struct deferred *next;
        uint64_t serial;            /* the connection waiting */
        int64_t grant_id;
        int64_t deadline_ms;        /* monotonic */
};

/* A first lookup waiting for its delay (ticketflow_check_soon). */
struct soon {
        struct soon *next;
        int64_t due_ms;             /* monotonic */
        char ticket[JIT_TICKET_MAX + 1];
        char user[JIT_USER_MAX + 1];
};

struct ticketflow {
        struct jitd *d;
        struct ticket_engine *engine;
        sd_event_source *engine_source;
        sd_event_source *poll_timer;
        sd_event_source *deferred_timer;
        sd_event_source *soon_timer;
        struct lookup_ctx *lookups;
        struct deferred *deferred;
        struct soon *soon;
        size_t n_soon;
};

bool ticketflow_needed(const struct role *r)
{
        return r && (r->approval & APPROVAL_TICKET);
}

/* The next re-check, with +-10% jitter so a fleet does not poll in step. */
static void arm_poll(struct ticketflow *t)
{
        uint64_t interval = ticket_engine_poll_interval(t->engine) * 1000;
        int64_t jitter = (int64_t) (interval / 10);
        int64_t next = (int64_t) interval + (jitter ? (int64_t) (random() % (2 * jitter + 1)) - jitter : 0);

        (void) sd_event_source_set_time_relative(t->poll_timer, (uint64_t) (next > 100 ? next : 100) * 1000);
        (void) sd_event_source_set_enabled(t->poll_timer, SD_EVENT_ONESHOT);
}

static void arm_deferred(struct ticketflow *t)
{
        int64_t first = 0;

        for (struct deferred *x = t->deferred; x; x = x->next)
                if (!first || x->deadline_ms < first)
                        first = x->deadline_ms;
        if (!first) {
                (void) sd_event_source_set_enabled(t->deferred_timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(t->deferred_timer, (uint64_t) first * 1000);
        (void) sd_event_source_set_enabled(t->deferred_timer, SD_EVENT_ONESHOT);
}

/* Answer every reply waiting on grant_id (all of them when grant_id is 0 and
 * only_expired is set: those whose deadline passed). */
static void answer_deferred(struct ticketflow *t, int64_t grant_id, bool only_expired, const char *message)
{
        struct jitd *d = t->d;
        int64_t now = now_monotonic_ms();

        for (struct deferred **p = &t->deferred; *p;) {
                struct deferred *x = *p;
                struct jit_grant g;

                if ((grant_id && x->grant_id != grant_id) || (only_expired && x->deadline_ms > now)) {
                        p = &x->next;
                        continue;
                }
                *p = x->next;
                if (grants_get(d, x->grant_id, &g) >= 0)
                        later_reply_grant(d, x->serial, &g, message ? message :
                                          g.state == GRANT_PENDING ? "still waiting for the ticket system; jitd keeps "
                                          "checking (see: jitctl show)" : NULL);
                else
                        later_reply_error(d, x->serial, EIO, "cannot read grant %lld", (long long) x->grant_id);
                free(x);
        }
        arm_deferred(t);
}

void ticketflow_defer(struct jitd *d, uint64_t serial, int64_t grant_id, int timeout_ms)
{
        struct ticketflow *t = d->tickets;
        struct deferred *x = t ? calloc(1, sizeof(*x)) : NULL;

        if (!x) {
                later_reply_error(d, serial, ENOMEM, "out of memory");
                return;
        }
        x->serial = serial;
        x->grant_id = grant_id;
        x->deadline_ms = now_monotonic_ms() + timeout_ms;
        x->next = t->deferred;
        t->deferred = x;
        arm_deferred(t);
}

static void lookup_done(void *userdata, const char *ticket, const struct ticket_result *res);

static int check(struct jitd *d, const struct jit_grant *g, unsigned flags)
{
        struct ticketflow *t = d->tickets;
        struct lookup_ctx *x;
        int r;

        if (!t)
                return -EOPNOTSUPP;
        for (x = t->lookups; x; x = x->next)
                if (strcmp(x->ticket, g->ticket) == 0 && strcmp(x->user, g->user) == 0)
                        return 0;       /* already asked: its answer covers this grant */
        x = calloc(1, sizeof(*x));
        if (!x)
                return -ENOMEM;
        x->d = d;
        snprintf(x->ticket, sizeof(x->ticket), "%s", g->ticket);
        snprintf(x->user, sizeof(x->user), "%s", g->user);
        r = ticket_lookup(t->engine, g->ticket, g->user, flags, lookup_done, x);
        if (r < 0) {
                free(x);
                return r;
        }
        x->next = t->lookups;
        t->lookups = x;
        return 0;
}

int ticketflow_check(struct jitd *d, const struct jit_grant *g)
{
        return check(d, g, 0);
}

static void arm_soon(struct ticketflow *t)
{
        int64_t first = 0;

        for (struct soon *x = t->soon; x; x = x->next)
                if (!first || x->due_ms < first)
                        first = x->due_ms;
        if (!first) {
                (void) sd_event_source_set_enabled(t->soon_timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(t->soon_timer, (uint64_t) first * 1000);
        (void) sd_event_source_set_enabled(t->soon_timer, SD_EVENT_ONESHOT);
}

int ticketflow_check_soon(struct jitd *d, const struct jit_grant *g, uint64_t max_delay_ms,
                          uint64_t *ret_delay_ms)
{
        struct ticketflow *t = d->tickets;
        int64_t now = now_monotonic_ms();
        uint64_t delay;
        struct soon *x;

        if (!t)
                return -EOPNOTSUPP;
        /* One lookup answers every grant of the user naming the ticket. */
        for (struct lookup_ctx *l = t->lookups; l; l = l->next)
                if (strcmp(l->ticket, g->ticket) == 0 && strcmp(l->user, g->user) == 0) {
                        if (ret_delay_ms)
                                *ret_delay_ms = 0;
                        return 0;
                }
        for (x = t->soon; x; x = x->next)
                if (strcmp(x->ticket, g->ticket) == 0 && strcmp(x->user, g->user) == 0) {
                        if (ret_delay_ms)
                                *ret_delay_ms = x->due_ms > now ? (uint64_t) (x->due_ms - now) : 0;
                        return 0;
                }
        if (t->n_soon >= TICKETFLOW_SOON_MAX)
                return -EAGAIN;
        x = calloc(1, sizeof(*x));
        if (!x)
                return -ENOMEM;
        delay = max_delay_ms ? (uint64_t) random() % max_delay_ms : 0;
        x->due_ms = now + (int64_t) delay;
        snprintf(x->ticket, sizeof(x->ticket), "%s", g->ticket);
        snprintf(x->user, sizeof(x->user), "%s", g->user);
        x->next = t->soon;
        t->soon = x;
        t->n_soon++;
        arm_soon(t);
        if (ret_delay_ms)
                *ret_delay_ms = delay;
        return 0;
}

/* The first lookups whose delay is over: asked as the user's own (a
 * recent answer for the same ticket and user is reused; the user's budget
 * paces them). */
static int on_soon(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct ticketflow *t = userdata;
        int64_t now = now_monotonic_ms();

        (void) s;
        (void) usec;
        for (struct soon **p = &t->soon; *p;) {
                struct soon *x = *p;
                struct jit_grant probe = {};
                int r;

                if (x->due_ms > now) {
                        p = &x->next;
                        continue;
                }
                *p = x->next;
                t->n_soon--;
                snprintf(probe.ticket, sizeof(probe.ticket), "%s", x->ticket);
                snprintf(probe.user, sizeof(probe.user), "%s", x->user);
                r = check(t->d, &probe, 0);
                if (r < 0)
                        log_msg(LOG_WARNING, "cannot look ticket %s up for %s: %s; the next poll does", x->ticket,
                                x->user, strerror(-r));
                free(x);
        }
        arm_soon(t);
        return 0;
}

struct apply_walk {
        struct jitd *d;
        const struct lookup_ctx *ctx;
        int64_t *ids;
        size_t n, cap;
};

static int collect_named(const struct jit_grant *g, void *userdata)
{
        struct apply_walk *w = userdata;

        if (strcmp(g->ticket, w->ctx->ticket) != 0 || strcmp(g->user, w->ctx->user) != 0 ||
            !ticketflow_needed(config_find_role(w->d->config, g->role)))
                return 0;
        if (array_reserve((void **) &w->ids, &w->cap, w->n, sizeof(*w->ids)) < 0)
                return -ENOMEM;
        w->ids[w->n++] = g->id;
        return 0;
}

/* A fleet grant's copy that this host's lookup did not approve (yet), or
 * could not activate: said once per reason, as the mirror's refusals are.
 * The wait a busy system asks for changes with each answer and is left
 * out, so that it stays one reason. */
static void fleet_not_here(struct jitd *d, const struct jit_grant *g, const char *msg)
{
        char text[JIT_REASON_MAX + 64], *cut;
        int64_t fleet_id;
        int r;

        if (store_fleet_id_of(d->store, g->id, &fleet_id) < 0)
                return;
        snprintf(text, sizeof(text), "%s", msg);
        if ((cut = strstr(text, ": retry after ")) || (cut = strstr(text, ": try again in ")))
                *cut = '\0';
        r = fleet_refused(d, fleet_id, g->user, g->role, text);
        if (r < 0)
                log_msg(LOG_ERR, "fleet grant F%lld: cannot audit why it is not enforced here: %s", (long long) fleet_id,
                        strerror(-r));
}

static void apply(struct jitd *d, struct jit_grant *g, const struct ticket_result *res)
{
        char msg[JIT_REASON_MAX + 64], why[256] = "";
        enum grant_state before = g->state;
        int ret;

        /* The engine's verdicts already name the ticket ("ticket X is
         * Closed"); its transport errors do not. */
        if (strncmp(res->why, "ticket ", 7) == 0)
                snprintf(msg, sizeof(msg), "%s", res->why);
        else
                snprintf(msg, sizeof(msg), "ticket %s: %s", g->ticket, res->why[0] ? res->why : res->status);
        if (g->state == GRANT_PENDING) {
                switch (res->verdict) {
                case TICKET_APPROVED:
                        ret = grants_ticket_approved(d, g, res->window_start, res->window_end, why, sizeof(why));
                        if (ret == -EAGAIN && g->state == GRANT_PENDING && strstr(why, "waiting for"))
                                snprintf(msg, sizeof(msg), "%s", why);
                        else if (ret == -EAGAIN)
                                snprintf(msg, sizeof(msg), "ticket %s is approved, but the grant could not be "
                                         "activated: %s; jitd retries", g->ticket, why);
                        else if (ret < 0)
                                snprintf(msg, sizeof(msg), "ticket %s is approved, but storing that failed; jitd "
                                         "retries", g->ticket);
                        else if (g->state == GRANT_DENIED)
                                snprintf(msg, sizeof(msg), "denied: %s", g->end_reason);
                        else
                                snprintf(msg, sizeof(msg), "ticket %s is approved: grant %s", g->ticket,
                                         grant_state_to_string(g->state));
                        break;
                case TICKET_CLOSED:
                case TICKET_REFUSED:
                case TICKET_NOT_FOUND: {
                        struct fsm_event ev = { .type = FSM_TICKET_REJECTED, .text = msg };

                        if (grants_step(d, g, &ev, &actor_jitd, why, sizeof(why)) < 0)
                                log_msg(LOG_ERR, "grant %lld: cannot record its denial: %s", (long long) g->id,
                                        store_last_error(d->store));
                        break;
                }
                case TICKET_PENDING:
                        snprintf(msg, sizeof(msg), "ticket %s is %s: waiting for it to be approved", g->ticket,
                                 res->status[0] ? res->status : "not approved yet");
                        break;
                case TICKET_ERROR:
                default:
                        snprintf(msg, sizeof(msg), "ticket system: %s; jitd keeps trying", res->why);
                        log_msg(LOG_WARNING, "grant %lld: ticket %s: %s", (long long) g->id, g->ticket, res->why);
                        break;
                }
        } else if (res->verdict == TICKET_APPROVED) {
                bool applied = false;

                /* An extension waiting for its ticket. */
                if (grants_extension_approve(d, g, NULL, NULL, true, &applied, why, sizeof(why)) >= 0 && applied)
                        snprintf(msg, sizeof(msg), "ticket %s is approved: grant extended", g->ticket);
        } else if (res->verdict != TICKET_ERROR) {
                /* The ticket left its approved states: the task it stood for
                 * is over or was never agreed. */
                struct fsm_event ev = { .type = FSM_TICKET_REJECTED, .text = msg };

                if (grants_step(d, g, &ev, &actor_jitd, why, sizeof(why)) < 0)
                        log_msg(LOG_ERR, "grant %lld: cannot revoke it: %s", (long long) g->id, why);
        } else
                log_msg(LOG_WARNING, "grant %lld: re-checking ticket %s: %s (grant unchanged)", (long long) g->id,
                        g->ticket, res->why);
        if (before == GRANT_PENDING && g->state != GRANT_ACTIVE && g->state != GRANT_SCHEDULED)
                fleet_not_here(d, g, msg);
        answer_deferred(d->tickets, g->id, false, msg);
}

static void lookup_unlink(struct ticketflow *t, struct lookup_ctx *ctx)
{
        for (struct lookup_ctx **p = &t->lookups; *p; p = &(*p)->next)
                if (*p == ctx) {
                        *p = ctx->next;
                        return;
                }
}

static void lookup_done(void *userdata, const char *ticket, const struct ticket_result *res)
{
        struct lookup_ctx *ctx = userdata;
        struct jitd *d = ctx->d;
        struct store_filter f = { .user = ctx->user, .states = GRANT_STATES_OPEN };
        struct apply_walk w = { .d = d, .ctx = ctx };

        (void) ticket;
        /* Who the ticket really names is for the admin, not the requester. */
        if (res->detail[0])
                log_msg(LOG_NOTICE, "ticket lookup for %s: %s", ctx->user, res->detail);
        lookup_unlink(d->tickets, ctx);
        if (store_grant_foreach(d->store, &f, collect_named, &w) >= 0)
                for (size_t i = 0; i < w.n; i++) {
                        struct jit_grant g;

                        if (grants_get(d, w.ids[i], &g) >= 0 && grant_state_is_open(g.state))
                                apply(d, &g, res);
                }
        free(w.ids);
        free(ctx);
}

void ticketflow_forget(struct jitd *d, const struct jit_grant *g)
{
        struct ticketflow *t = d->tickets;
        struct store_filter f = { .user = g->user, .states = GRANT_STATES_OPEN };
        struct lookup_ctx probe = {};
        struct apply_walk w = { .d = d, .ctx = &probe };

        if (!t)
                return;
        answer_deferred(t, g->id, false, NULL);
        snprintf(probe.ticket, sizeof(probe.ticket), "%s", g->ticket);
        snprintf(probe.user, sizeof(probe.user), "%s", g->user);
        /* Another open grant still waits for the same answer: keep it. */
        if (store_grant_foreach(d->store, &f, collect_named, &w) < 0 || w.n > 0) {
                free(w.ids);
                return;
        }
        for (struct lookup_ctx *x = t->lookups; x; x = x->next)
                if (strcmp(x->ticket, g->ticket) == 0 && strcmp(x->user, g->user) == 0) {
                        ticket_cancel(t->engine, x);
                        lookup_unlink(t, x);
                        free(x);
                        break;
                }
        for (struct soon **p = &t->soon; *p; p = &(*p)->next)
                if (strcmp((*p)->ticket, g->ticket) == 0 && strcmp((*p)->user, g->user) == 0) {
                        struct soon *x = *p;

                        *p = x->next;
                        t->n_soon--;
                        free(x);
                        arm_soon(t);
                        break;
                }
        free(w.ids);
}

struct poll_walk {
        struct jitd *d;
        struct jit_grant *v;
        size_t n, cap;
};

static int collect_ticket_grants(const struct jit_grant *g, void *userdata)
{
        struct poll_walk *w = userdata;

        if (!ticketflow_needed(config_find_role(w->d->config, g->role)))
                return 0;
        if (array_reserve((void **) &w->v, &w->cap, w->n, sizeof(*w->v)) < 0)
                return -ENOMEM;
        w->v[w->n++] = *g;
        return 0;
}

/* A fleet grant's copy still waiting for its ticket when the fleet's end
 * (its duration after the request, or after its peer approvals) has come:
 * it cannot start here any more, so it ends instead of being looked up
 * again. */
static bool fleet_time_over(struct jitd *d, struct jit_grant *g, int64_t now)
{
        char text[JIT_REASON_MAX + 1], why[256];
        struct fsm_event ev = { .type = FSM_PENDING_TIMEOUT, .text = text };
        int64_t end;

        if (store_fleet_ends_at(d->store, g->id, &end) < 0 || end > now)
                return false;
        snprintf(text, sizeof(text), "its fleet time (%llus from the %s) was over before ticket %s was approved "
                 "here", (unsigned long long) g->duration, g->approvals_needed ? "approval" : "request", g->ticket);
        if (grants_step(d, g, &ev, &actor_jitd, why, sizeof(why)) >= 0)
                ticketflow_forget(d, g);
        return true;
}

/* Every open grant that rests on a ticket is checked again; requests that
 * waited longer than pending_timeout (a fleet grant's copy: past the fleet's
 * end) expire. */
static int on_poll(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct ticketflow *t = userdata;
        struct jitd *d = t->d;
        struct store_filter f = { .states = GRANT_STATES_OPEN };
        struct poll_walk w = { .d = d };
        int64_t now = now_realtime();

        (void) s;
        (void) usec;
        if (store_grant_foreach(d->store, &f, collect_ticket_grants, &w) >= 0)
                for (size_t i = 0; i < w.n; i++) {
                        struct jit_grant *g = &w.v[i];

                        if (g->state == GRANT_PENDING && d->config->ticket.pending_timeout &&
                            g->requested_at + (int64_t) d->config->ticket.pending_timeout <= now) {
                                struct fsm_event ev = { .type = FSM_PENDING_TIMEOUT };
                                char why[256];

                                if (grants_step(d, g, &ev, &actor_jitd, why, sizeof(why)) >= 0)
                                        ticketflow_forget(d, g);
                                continue;
                        }
                        if (g->state == GRANT_PENDING && fleet_time_over(d, g, now))
                                continue;
                        if (check(d, g, TICKET_LOOKUP_POLL) < 0)
                                log_msg(LOG_WARNING, "grant %lld: cannot look ticket %s up", (long long) g->id,
                                        g->ticket);
                }
        free(w.v);
        arm_poll(t);
        return 0;
}

static int on_engine(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct ticketflow *t = userdata;

        (void) s;
        (void) fd;
        (void) revents;
        ticket_engine_process(t->engine);
        return 0;
}

static int on_deferred(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void) s;
        (void) usec;
        answer_deferred(userdata, 0, true, NULL);
        return 0;
}

/* The engine's own news: notes given up, and the helper's life. */
static void on_engine_log(void *userdata, const char *ticket, const char *why)
{
        (void) userdata;
        if (ticket)
                log_msg(LOG_WARNING, "ticket %s: %s", ticket, why);
        else
                log_msg(LOG_WARNING, "%s", why);
}

int ticketflow_setup(struct jitd *d, char *why, size_t size)
{
        struct ticketflow *t;
        int r;

        r = ticket_engine_new(&d->config->ticket, d->config->host, &d->ticket_engine, why, size);
        if (r < 0 || !d->ticket_engine)
                return r;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->d = d;
        t->engine = d->ticket_engine;
        ticket_engine_set_log(t->engine, on_engine_log, d);
        srandom((unsigned) (now_monotonic_ms() ^ getpid()));
        r = sd_event_add_io(d->event, &t->engine_source, ticket_engine_fd(t->engine), EPOLLIN, on_engine, t);
        if (r >= 0)
                r = sd_event_add_time_relative(d->event, &t->poll_timer, CLOCK_MONOTONIC, UINT64_MAX / 2, 1000,
                                               on_poll, t);
        if (r >= 0)
                r = sd_event_add_time(d->event, &t->deferred_timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_deferred, t);
        if (r >= 0)
                r = sd_event_add_time(d->event, &t->soon_timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_soon, t);
        if (r < 0) {
                snprintf(why, size, "cannot watch the ticket engine: %s", strerror(-r));
                d->tickets = t;
                ticketflow_shutdown(d);
                return r;
        }
        (void) sd_event_source_set_enabled(t->deferred_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(t->soon_timer, SD_EVENT_OFF);
        d->tickets = t;
        arm_poll(t);
        return 0;
}

void ticketflow_shutdown(struct jitd *d)
{
        struct ticketflow *t = d->tickets;

        if (t) {
                sd_event_source_disable_unref(t->engine_source);
                sd_event_source_disable_unref(t->poll_timer);
                sd_event_source_disable_unref(t->deferred_timer);
                sd_event_source_disable_unref(t->soon_timer);
                while (t->lookups) {
                        struct lookup_ctx *x = t->lookups;

                        t->lookups = x->next;
                        free(x);
                }
                while (t->deferred) {
                        struct deferred *x = t->deferred;

                        t->deferred = x->next;
                        free(x);
                }
                while (t->soon) {
                        struct soon *x = t->soon;

                        t->soon = x->next;
                        free(x);
                }
                free(t);
        }
        d->tickets = NULL;
        ticket_engine_free(d->ticket_engine);
        d->ticket_engine = NULL;
}
