/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Grants approved by a ticket system: starting lookups, applying what the
 * ticket says to the grants that name it, re-checking every `poll`, and the
 * replies that wait for a lookup (a request answered with what the ticket
 * said rather than a bare "pending").
 *
 * The engine (ticket.c, a proxy to the ticket helper) answers per (ticket,
 * user) lookup; the verdict is applied to every open grant of that user
 * naming that ticket:
 *   pending grant: approved -> active (or scheduled inside the change window),
 *                  closed/refused/not found -> denied, pending/error -> wait;
 *   active grant:  anything but approved or a transient error -> revoked.
 *
 * A grant that ends takes its lookup with it (ticket_cancel) unless another
 * open grant of the same user names the same ticket. Lookups jitd makes on
 * its own (the poll) are marked TICKET_LOOKUP_POLL: they are not charged to
 * the user. Notes go only to tickets that name the grant's user (the engine
 * refuses the others with -EPERM).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "jitd.h"
#include "ticket.h"

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

bool ticketflow_needed(const struct role *r)
{
        return r && (r->approval & APPROVAL_TICKET);
}

static void arm_monotonic(int fd, int64_t deadline_ms)
{
        struct itimerspec its = {};

        if (deadline_ms > 0) {
                its.it_value.tv_sec = deadline_ms / 1000;
                its.it_value.tv_nsec = (deadline_ms % 1000) * 1000000;
        }
        (void) timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* The next re-check, with +-10% jitter so a fleet does not poll in step. */
static void arm_poll(struct jitd *d)
{
        uint64_t interval = ticket_engine_poll_interval(d->tickets) * 1000;
        int64_t jitter = (int64_t) (interval / 10);
        int64_t next = (int64_t) interval + (jitter ? (int64_t) (random() % (2 * jitter + 1)) - jitter : 0);

        arm_monotonic(d->ticket_poll_fd, now_monotonic_ms() + (next > 100 ? next : 100));
}

static void arm_deferred(struct jitd *d)
{
        int64_t first = 0;

        for (struct deferred *x = d->deferred; x; x = x->next)
                if (!first || x->deadline_ms < first)
                        first = x->deadline_ms;
        arm_monotonic(d->deferred_fd, first);
}

/* Answer every reply waiting on grant_id (all of them when grant_id is 0 and
 * only_expired is set: those whose deadline passed). */
static void answer_deferred(struct jitd *d, int64_t grant_id, bool only_expired, const char *message)
{
        int64_t now = now_monotonic_ms();

        for (struct deferred **p = &d->deferred; *p;) {
                struct deferred *x = *p;
                struct conn *c;
                struct jit_grant g;

                if ((grant_id && x->grant_id != grant_id) || (only_expired && x->deadline_ms > now)) {
                        p = &x->next;
                        continue;
                }
                *p = x->next;
                c = server_find_conn(d, x->serial);
                if (c && store_grant_get(d->store, x->grant_id, &g) >= 0) {
                        struct request req = { .d = d, .conn = c };

                        reply_grant(&req, &g, message ? message :
                                    g.state == GRANT_PENDING ? "still waiting for the ticket system; jitd keeps "
                                    "checking (see: jitctl show)" : NULL);
                }
                free(x);
        }
        arm_deferred(d);
}

void ticketflow_defer(struct request *req, int64_t grant_id, int timeout_ms)
{
        struct deferred *x = calloc(1, sizeof(*x));

        if (!x) {
                reply_error(req, ENOMEM, "out of memory");
                return;
        }
        x->serial = conn_serial(req->conn);
        x->grant_id = grant_id;
        x->deadline_ms = now_monotonic_ms() + timeout_ms;
        x->next = req->d->deferred;
        req->d->deferred = x;
        arm_deferred(req->d);
}

static void note(struct jitd *d, const struct jit_grant *g, const char *what)
{
        char text[1536], from[32] = "-", until[32] = "-";
        time_t t;
        struct tm tm;
        int r;

        if (!d->tickets || !d->config->ticket.comment || !g->ticket[0] ||
            !ticketflow_needed(config_find_role(d->config, g->role)))
                return;
        t = (time_t) g->starts_at;
        if (g->starts_at && gmtime_r(&t, &tm))
                strftime(from, sizeof(from), "%Y-%m-%d %H:%M UTC", &tm);
        t = (time_t) (g->ended_at ? g->ended_at : g->expires_at);
        if (t && gmtime_r(&t, &tm))
                strftime(until, sizeof(until), "%Y-%m-%d %H:%M UTC", &tm);
        snprintf(text, sizeof(text), "jit: grant %lld for %s on %s (role %s) %s; from %s until %s%s%s",
                 (long long) g->id, g->user, g->host, g->role, what, from, until,
                 g->end_reason[0] ? "; " : "", g->end_reason);
        r = ticket_comment(d->tickets, g->ticket, g->user, text);
        if (r == -EPERM)
                log_msg(LOG_INFO, "grant %lld: no note to ticket %s: it was not seen naming %s as its requester",
                        (long long) g->id, g->ticket, g->user);
        else if (r == -EDQUOT)
                log_msg(LOG_NOTICE, "grant %lld: no note to ticket %s: %d notes in the last hour already",
                        (long long) g->id, g->ticket, TICKET_NOTES_PER_HOUR);
        else if (r < 0)
                log_msg(LOG_WARNING, "grant %lld: cannot post a note to ticket %s: %s", (long long) g->id,
                        g->ticket, strerror(-r));
}

static int other_open_grant(const struct jit_grant *g, void *userdata)
{
        const struct jit_grant *ending = userdata;

        /* Negative stops the walk. */
        return g->id != ending->id && strcmp(g->ticket, ending->ticket) == 0 ? -EEXIST : 0;
}

/* The grant ended: nobody needs its lookup any more, unless another open
 * grant of the user names the same ticket. */
static void forget_lookup(struct jitd *d, const struct jit_grant *g)
{
        struct store_filter f = { .user = g->user, .states = GRANT_STATES_OPEN };
        struct lookup_ctx **p, *x;

        for (p = &d->lookups; *p; p = &(*p)->next)
                if (strcmp((*p)->ticket, g->ticket) == 0 && strcmp((*p)->user, g->user) == 0)
                        break;
        /* Kept when another grant needs it, or when we cannot tell. */
        if (!*p || store_grant_foreach(d->store, &f, other_open_grant, (void *) g) != 0)
                return;
        x = *p;
        *p = x->next;
        ticket_cancel(d->tickets, x);
        free(x);
        /* A request still waiting for that lookup hears how its grant ended. */
        answer_deferred(d, g->id, false, NULL);
}

void ticketflow_note(struct jitd *d, const struct jit_grant *g)
{
        if (d->tickets && g->ticket[0] && !grant_state_is_open(g->state))
                forget_lookup(d, g);
        switch (g->state) {
        case GRANT_ACTIVE: note(d, g, "is active"); break;
        case GRANT_SCHEDULED: note(d, g, "is scheduled"); break;
        case GRANT_PENDING: break;
        default: note(d, g, grant_state_to_string(g->state)); break;
        }
}

static void lookup_done(void *userdata, const char *ticket, const struct ticket_result *res);

static int check(struct jitd *d, const struct jit_grant *g, unsigned flags)
{
        struct lookup_ctx *x;
        int r;

        if (!d->tickets)
                return -EOPNOTSUPP;
        for (x = d->lookups; x; x = x->next)
                if (strcmp(x->ticket, g->ticket) == 0 && strcmp(x->user, g->user) == 0)
                        return 0;       /* already asked: its answer covers this grant */
        x = calloc(1, sizeof(*x));
        if (!x)
                return -ENOMEM;
        x->d = d;
        snprintf(x->ticket, sizeof(x->ticket), "%s", g->ticket);
        snprintf(x->user, sizeof(x->user), "%s", g->user);
        r = ticket_lookup(d->tickets, g->ticket, g->user, flags, lookup_done, x);
        if (r < 0) {
                free(x);
                return r;
        }
        x->next = d->lookups;
        d->lookups = x;
        return 0;
}

int ticketflow_check(struct jitd *d, const struct jit_grant *g)
{
        return check(d, g, 0);
}

struct apply_walk {
        struct jitd *d;
        const struct lookup_ctx *ctx;
        const struct ticket_result *res;
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

static void apply(struct jitd *d, struct jit_grant *g, const struct ticket_result *res)
{
        const struct role *r = config_find_role(d->config, g->role);
        char msg[512], why[256];
        unsigned have = 0;
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
                        if ((r->approval & APPROVAL_PEER) &&
                            (store_approval_count(d->store, g->id, &have) < 0 || have < g->approvals_needed)) {
                                snprintf(msg, sizeof(msg), "ticket %s is approved; waiting for %u more approval%s",
                                         g->ticket, g->approvals_needed - have,
                                         g->approvals_needed - have == 1 ? "" : "s");
                                break;
                        }
                        ret = grants_activate_window(d, g, res->window_start, res->window_end, why, sizeof(why));
                        if (ret == -ETIME) {
                                grants_end(d, g, GRANT_DENIED, &actor_jitd, why);
                                snprintf(msg, sizeof(msg), "denied: %s", why);
                        } else if (ret == -EAGAIN)
                                snprintf(msg, sizeof(msg), "ticket %s is approved, but the grant could not be "
                                         "activated: %s; jitd retries", g->ticket, why);
                        else if (ret < 0)
                                snprintf(msg, sizeof(msg), "ticket %s is approved, but storing that failed; jitd "
                                         "retries", g->ticket);
                        else
                                snprintf(msg, sizeof(msg), "ticket %s is approved: grant %s", g->ticket,
                                         grant_state_to_string(g->state));
                        break;
                case TICKET_CLOSED:
                case TICKET_REFUSED:
                case TICKET_NOT_FOUND:
                        grants_end(d, g, GRANT_DENIED, &actor_jitd, msg);
                        break;
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
                extension_ticket_approved(d, g);
        } else if (res->verdict != TICKET_ERROR) {
                /* The ticket left its approved states: the task it stood for
                 * is over or was never agreed. */
                grants_end(d, g, GRANT_REVOKED, &actor_jitd, msg);
        } else
                log_msg(LOG_WARNING, "grant %lld: re-checking ticket %s: %s (grant unchanged)", (long long) g->id,
                        g->ticket, res->why);
        answer_deferred(d, g->id, false, msg);
}

static void lookup_done(void *userdata, const char *ticket, const struct ticket_result *res)
{
        struct lookup_ctx *ctx = userdata;
        struct jitd *d = ctx->d;
        struct store_filter f = { .user = ctx->user, .states = GRANT_STATES_OPEN };
        struct apply_walk w = { .d = d, .ctx = ctx, .res = res };

        (void) ticket;
        /* Who the ticket really names is for the admin, not the requester. */
        if (res->detail[0])
                log_msg(LOG_NOTICE, "ticket lookup for %s: %s", ctx->user, res->detail);
        for (struct lookup_ctx **p = &d->lookups; *p; p = &(*p)->next)
                if (*p == ctx) {
                        *p = ctx->next;
                        break;
                }
        if (store_grant_foreach(d->store, &f, collect_named, &w) >= 0)
                for (size_t i = 0; i < w.n; i++) {
                        struct jit_grant g;

                        if (store_grant_get(d->store, w.ids[i], &g) >= 0)
                                apply(d, &g, res);
                }
        free(w.ids);
        free(ctx);
}

struct poll_walk {
        struct jitd *d;
        int64_t now;
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

/* Every open grant that rests on a ticket is checked again; requests that
 * waited longer than pending_timeout expire. */
void ticketflow_on_poll(struct jitd *d)
{
        struct store_filter f = { .states = GRANT_STATES_OPEN };
        struct poll_walk w = { .d = d, .now = now_realtime() };
        uint64_t ticks;

        (void) !read(d->ticket_poll_fd, &ticks, sizeof(ticks));
        if (store_grant_foreach(d->store, &f, collect_ticket_grants, &w) >= 0)
                for (size_t i = 0; i < w.n; i++) {
                        struct jit_grant *g = &w.v[i];

                        if (g->state == GRANT_PENDING && d->config->ticket.pending_timeout &&
                            g->requested_at + (int64_t) d->config->ticket.pending_timeout <= w.now) {
                                grants_end(d, g, GRANT_EXPIRED, &actor_jitd,
                                           "the ticket was not approved within pending_timeout");
                                answer_deferred(d, g->id, false, NULL);
                                continue;
                        }
                        if (check(d, g, TICKET_LOOKUP_POLL) < 0)
                                log_msg(LOG_WARNING, "grant %lld: cannot look ticket %s up", (long long) g->id,
                                        g->ticket);
                }
        free(w.v);
        arm_poll(d);
}

void ticketflow_on_engine(struct jitd *d)
{
        ticket_engine_process(d->tickets);
}

void ticketflow_on_deferred(struct jitd *d)
{
        uint64_t ticks;

        (void) !read(d->deferred_fd, &ticks, sizeof(ticks));
        answer_deferred(d, 0, true, NULL);
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
        int r;

        d->ticket_poll_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        d->deferred_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (d->ticket_poll_fd < 0 || d->deferred_fd < 0) {
                snprintf(why, size, "timerfd: %s", strerror(errno));
                return -errno;
        }
        r = ticket_engine_new(&d->config->ticket, d->config->host, &d->tickets, why, size);
        if (r < 0)
                return r;
        ticket_engine_set_log(d->tickets, on_engine_log, d);
        srandom((unsigned) (now_monotonic_ms() ^ getpid()));
        if (d->tickets)
                arm_poll(d);
        return 0;
}

void ticketflow_shutdown(struct jitd *d)
{
        ticket_engine_free(d->tickets);
        d->tickets = NULL;
        while (d->lookups) {
                struct lookup_ctx *x = d->lookups;

                d->lookups = x->next;
                free(x);
        }
        while (d->deferred) {
                struct deferred *x = d->deferred;

                d->deferred = x->next;
                free(x);
        }
        if (d->ticket_poll_fd >= 0)
                close(d->ticket_poll_fd);
        if (d->deferred_fd >= 0)
                close(d->deferred_fd);
}
