/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The grant state machine. Every transition is written together with its audit
 * event in one transaction; the journal line follows the commit, so the
 * journal never tells of a change the database does not hold.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <syslog.h>

#include "jitd.h"

const struct actor actor_jitd = { .uid = 0, .name = "jitd" };

/* Events written in the current transaction, sent to the journal after commit. */
struct pending_log {
        char event[32];
        struct jit_grant g;
        struct actor a;
        char actor_name[JIT_USER_MAX + 1];
        char *details;
};

struct txn {
        struct pending_log logs[4];
        size_t n;
};

static int audit(struct jitd *d, struct txn *t, const struct actor *a, const struct jit_grant *g,
                 const char *event, json_object *details)
{
        const char *text = json_object_to_json_string_ext(details, JSON_C_TO_STRING_PLAIN);
        int r;

        r = store_audit_append(d->store, now_realtime(), a->uid, a->name, g->id, event, text, NULL);
        if (r < 0)
                return r;
        if (t && t->n < ELEMENTSOF(t->logs)) {
                struct pending_log *l = &t->logs[t->n];

                snprintf(l->event, sizeof(l->event), "%s", event);
                l->g = *g;
                snprintf(l->actor_name, sizeof(l->actor_name), "%s", a->name);
                l->a.uid = a->uid;
                l->a.name = l->actor_name;
                l->details = strdup(text);
                t->n++;
        }
        return 0;
}

static void txn_flush_logs(struct txn *t, bool committed)
{
        for (size_t i = 0; i < t->n; i++) {
                struct pending_log *l = &t->logs[i];

                /* Break-glass is the emergency path: it pages somebody. */
                if (committed)
                        log_event(strcmp(l->event, "break-glass") == 0 ? LOG_ALERT : LOG_NOTICE, l->event, &l->g,
                                  l->a.uid, l->a.name, l->details);
                free(l->details);
        }
        t->n = 0;
}

static json_object *details_new(void)
{
        return json_object_new_object();
}

static void details_str(json_object *o, const char *k, const char *v)
{
        if (v && v[0])
                json_object_object_add(o, k, json_object_new_string(v));
}

static void details_int(json_object *o, const char *k, int64_t v)
{
        json_object_object_add(o, k, json_object_new_int64(v));
}

/* Activation writes the drop-in before the state: a grant is never active
 * without its rule. When the drop-in cannot be written the grant stays as it
 * was, the failure is audited in the same transaction, and -EAGAIN tells the
 * caller to commit that and report why (reconciliation retries later).
 *
 * A change window (from a ticket; 0 = none) bounds the grant: it starts no
 * earlier than win_start (scheduled until then, the drop-in's NOTBEFORE says
 * the same) and ends no later than win_end. The clock starts at activation,
 * not at request. -ETIME when the window is already over. */
static int activate_window(struct jitd *d, struct txn *t, struct jit_grant *g, const struct actor *a,
                           int64_t now, int64_t win_start, int64_t win_end, char *why, size_t why_size)
{
        const struct role *r = config_find_role(d->config, g->role);
        struct jit_grant next = *g;
        json_object *det = details_new();
        int ret;

        if (!next.approved_at)
                next.approved_at = now;
        next.starts_at = win_start > now ? win_start : now;
        next.expires_at = next.starts_at + (int64_t) next.duration;
        if (win_end && next.expires_at > win_end)
                next.expires_at = win_end;
        if (next.expires_at <= next.starts_at || next.expires_at <= now) {
                snprintf(why, why_size, "the ticket's change window is already over");
                json_object_put(det);
                return -ETIME;
        }
        next.state = next.starts_at > now ? GRANT_SCHEDULED : GRANT_ACTIVE;
        ret = r ? enforce_install(d, &next, r, why, why_size) : -ENOENT;
        if (!r)
                snprintf(why, why_size, "role %s no longer exists", g->role);
        if (ret < 0) {
                details_str(det, "why", why);
                ret = audit(d, t, a, g, "activation-failed", det);
                json_object_put(det);
                return ret < 0 ? ret : -EAGAIN;
        }
        ret = store_grant_update(d->store, &next);
        if (ret >= 0) {
                details_str(det, "approval", next.approval);
                details_int(det, "starts_at", next.starts_at);
                details_int(det, "expires_at", next.expires_at);
                ret = audit(d, t, a, &next, next.state == GRANT_ACTIVE ? "activated" : "scheduled", det);
        }
        json_object_put(det);
        if (ret < 0) {
                /* The transaction will roll back: take the rule away again. */
                enforce_withdraw(d, next.id);
                return ret;
        }
        *g = next;
        ticketflow_note(d, g);
        return 0;
}

static int activate(struct jitd *d, struct txn *t, struct jit_grant *g, const struct actor *a, int64_t now,
                    char *why, size_t why_size)
{
        return activate_window(d, t, g, a, now, 0, 0, why, why_size);
}

/* A scheduled grant reaches its start: its drop-in (with NOTBEFORE) is in
 * place since it was scheduled; only the state changes. */
static int start_scheduled(struct jitd *d, struct txn *t, struct jit_grant *g)
{
        json_object *det = details_new();
        int r;

        g->state = GRANT_ACTIVE;
        r = store_grant_update(d->store, g);
        if (r >= 0) {
                details_int(det, "expires_at", g->expires_at);
                r = audit(d, t, &actor_jitd, g, "activated", det);
        }
        json_object_put(det);
        return r;
}

static int commit_or_rollback(struct jitd *d, struct txn *t, int r);

/* Commit (also when activation failed: its audit event and whatever led up to
 * it stand), re-arm the timer, and pass -EAGAIN through. */
static int finish(struct jitd *d, struct txn *t, int r)
{
        bool failed_activation = r == -EAGAIN;

        r = commit_or_rollback(d, t, failed_activation ? 0 : r);
        if (r >= 0)
                grants_rearm_timer(d);
        return r < 0 ? r : failed_activation ? -EAGAIN : 0;
}

static int commit_or_rollback(struct jitd *d, struct txn *t, int r)
{
        if (r >= 0)
                r = store_commit(d->store);
        if (r < 0) {
                store_rollback(d->store);
                log_msg(LOG_ERR, "database: %s", store_last_error(d->store));
        }
        txn_flush_logs(t, r >= 0);
        return r;
}

int grants_create(struct jitd *d, struct jit_grant *g, const struct role *r, const struct actor *a,
                  char *why, size_t why_size)
{
        struct txn t = {};
        int64_t now = now_realtime();
        json_object *det;
        int ret;

        g->state = GRANT_PENDING;
        g->requested_at = now;
        ret = store_begin(d->store);
        if (ret < 0)
                return ret;
        ret = store_grant_insert(d->store, g);
        if (ret >= 0) {
                det = details_new();
                details_str(det, "ticket", g->ticket);
                details_str(det, "reason", g->reason);
                details_int(det, "duration", (int64_t) g->duration);
                details_str(det, "approval", g->approval);
                ret = audit(d, &t, a, g, "requested", det);
                json_object_put(det);
        }
        if (ret >= 0 && r->approval == APPROVAL_AUTO)
                ret = activate(d, &t, g, &actor_jitd, now, why, why_size);
        return finish(d, &t, ret);
}

int grants_approve(struct jitd *d, struct jit_grant *g, const struct role *r, const struct actor *a,
                   const char *note, char *why, size_t why_size)
{
        struct txn t = {};
        int64_t now = now_realtime();
        unsigned have = 0;
        json_object *det;
        int ret;

        ret = store_begin(d->store);
        if (ret < 0)
                return ret;
        ret = store_approval_add(d->store, g->id, a->uid, a->name, true, note, now);
        if (ret >= 0)
                ret = store_approval_count(d->store, g->id, &have);
        if (ret >= 0) {
                size_t len = strlen(g->approvers);

                if (len + 1 + strlen(a->name) < sizeof(g->approvers))
                        snprintf(g->approvers + len, sizeof(g->approvers) - len, "%s%s", len ? "," : "",
                                 a->name);
                ret = store_grant_update(d->store, g);
        }
        if (ret >= 0) {
                det = details_new();
                details_str(det, "note", note);
                details_int(det, "approvals", have);
                details_int(det, "needed", g->approvals_needed);
                ret = audit(d, &t, a, g, "approved", det);
                json_object_put(det);
        }
        /* With ticket approval too, the ticket has the last word: the
         * caller asks it, and its answer activates. */
        if (ret >= 0 && have >= g->approvals_needed && !(r->approval & APPROVAL_TICKET))
                ret = activate(d, &t, g, a, now, why, why_size);
        return finish(d, &t, ret);
}

static int end_one(struct jitd *d, struct txn *t, struct jit_grant *g, enum grant_state to,
                   const struct actor *a, const char *reason, int64_t now)
{
        json_object *det = details_new();
        int r;

        g->state = to;
        g->ended_at = now;
        snprintf(g->end_reason, sizeof(g->end_reason), "%s", reason ? reason : "");
        r = store_grant_update(d->store, g);
        if (r >= 0) {
                details_str(det, "reason", reason);
                details_str(det, "from", g->starts_at ? "active" : "pending");
                r = audit(d, t, a, g, grant_state_to_string(to), det);
        }
        json_object_put(det);
        return r;
}

int grants_end(struct jitd *d, struct jit_grant *g, enum grant_state to, const struct actor *a,
               const char *reason)
{
        struct txn t = {};
        int r;

        r = store_begin(d->store);
        if (r < 0)
                return r;
        r = end_one(d, &t, g, to, a, reason, now_realtime());
        r = commit_or_rollback(d, &t, r);
        if (r < 0)
                return r;
        grants_rearm_timer(d);
        enforce_end(d, g);
        return 0;
}

struct due {
        int64_t now;
        int64_t *ids;                   /* active grants whose end has come */
        size_t n, cap;
        int64_t *starting;              /* scheduled grants whose start has come */
        size_t n_starting, cap_starting;
};

static int collect_due(const struct jit_grant *g, void *userdata)
{
        struct due *due = userdata;

        if (g->state == GRANT_ACTIVE && g->expires_at <= due->now) {
                if (array_reserve((void **) &due->ids, &due->cap, due->n, sizeof(*due->ids)) < 0)
                        return -ENOMEM;
                due->ids[due->n++] = g->id;
        } else if (g->state == GRANT_SCHEDULED && g->starts_at <= due->now) {
                if (array_reserve((void **) &due->starting, &due->cap_starting, due->n_starting,
                                  sizeof(*due->starting)) < 0)
                        return -ENOMEM;
                due->starting[due->n_starting++] = g->id;
        }
        return 0;
}

struct ready_walk {
        struct jitd *d;
        int64_t *ids;
        size_t n, cap;
};

/* A pending grant whose approvals are complete should be active: its
 * activation failed before (drop-in not writable) or jitd died half-way. */
static int collect_ready(const struct jit_grant *g, void *userdata)
{
        struct ready_walk *w = userdata;
        const struct role *r = config_find_role(w->d->config, g->role);
        unsigned have = 0;

        if (!r || (r->approval & APPROVAL_TICKET))
                return 0;       /* ticket approval is re-checked by the ticket poll */
        if ((r->approval & APPROVAL_PEER) &&
            (store_approval_count(w->d->store, g->id, &have) < 0 || have < g->approvals_needed))
                return 0;
        if (array_reserve((void **) &w->ids, &w->cap, w->n, sizeof(*w->ids)) < 0)
                return -ENOMEM;
        w->ids[w->n++] = g->id;
        return 0;
}

/* Break-glass: no ticket, no approver, active at once, flagged for review.
 * It must work with the ticket system down, so nothing here asks it. */
int grants_break_glass(struct jitd *d, struct jit_grant *g, const struct actor *a, char *why, size_t why_size)
{
        struct txn t = {};
        int64_t now = now_realtime();
        json_object *det;
        int ret;

        g->state = GRANT_PENDING;
        g->requested_at = now;
        g->break_glass = true;
        snprintf(g->review, sizeof(g->review), "pending");
        snprintf(g->approval, sizeof(g->approval), "break-glass");
        ret = store_begin(d->store);
        if (ret < 0)
                return ret;
        ret = store_grant_insert(d->store, g);
        if (ret >= 0) {
                det = details_new();
                details_str(det, "reason", g->reason);
                details_int(det, "duration", (int64_t) g->duration);
                ret = audit(d, &t, a, g, "break-glass", det);
                json_object_put(det);
        }
        if (ret >= 0)
                ret = activate(d, &t, g, a, now, why, why_size);
        return finish(d, &t, ret);
}

/* A single-use grant (uses = 1) whose session closed: it ends a second from
 * now through the normal expiry, not at once, because the process that
 * closes the session (sudo, sshd) is itself in that session's cgroup and is
 * still returning from close_session. */
int grants_use_up(struct jitd *d, struct jit_grant *g, const struct actor *a)
{
        struct txn t = {};
        json_object *det;
        int64_t end = now_realtime() + 1;
        int r;

        if (g->expires_at <= end)
                return 0;
        r = store_begin(d->store);
        if (r < 0)
                return r;
        det = details_new();
        details_int(det, "was_until", g->expires_at);
        g->expires_at = end;
        r = store_grant_update(d->store, g);
        if (r >= 0)
                r = audit(d, &t, a, g, "used-up", det);
        json_object_put(det);
        r = commit_or_rollback(d, &t, r);
        if (r >= 0)
                grants_rearm_timer(d);
        return r;
}

/* Settle the review of a break-glass grant. */
int grants_review(struct jitd *d, struct jit_grant *g, bool accept, const struct actor *a, const char *note)
{
        struct txn t = {};
        json_object *det;
        int r;

        snprintf(g->review, sizeof(g->review), "%s", accept ? "accepted" : "rejected");
        r = store_begin(d->store);
        if (r < 0)
                return r;
        r = store_grant_update(d->store, g);
        if (r >= 0) {
                det = details_new();
                details_str(det, "decision", g->review);
                details_str(det, "note", note);
                r = audit(d, &t, a, g, "reviewed", det);
                json_object_put(det);
        }
        r = commit_or_rollback(d, &t, r);
        return r;
}

/* Push the end of an active grant out by duration (the caller checked the
 * role's limits and approvals); the drop-in's NOTAFTER follows. */
int grants_extend(struct jitd *d, struct jit_grant *g, uint64_t duration, const struct actor *a, const char *reason,
                  char *why, size_t why_size)
{
        const struct role *r = config_find_role(d->config, g->role);
        struct jit_grant next = *g;
        struct txn t = {};
        json_object *det;
        int ret;

        next.expires_at = g->expires_at + (int64_t) duration;
        next.duration = g->duration + duration;
        ret = r ? enforce_install(d, &next, r, why, why_size) : -ENOENT;
        if (ret < 0)
                return ret;
        ret = store_begin(d->store);
        if (ret >= 0)
                ret = store_grant_update(d->store, &next);
        if (ret >= 0) {
                det = details_new();
                details_str(det, "reason", reason);
                details_int(det, "added", (int64_t) duration);
                details_int(det, "from", g->expires_at);
                details_int(det, "until", next.expires_at);
                ret = audit(d, &t, a, &next, "extended", det);
                json_object_put(det);
        }
        ret = commit_or_rollback(d, &t, ret);
        if (ret < 0) {
                /* Put the old NOTAFTER back: the database still says so. */
                char ignored[64];

                enforce_install(d, g, r, ignored, sizeof(ignored));
                return ret;
        }
        *g = next;
        grants_rearm_timer(d);
        ticketflow_note(d, g);
        return 0;
}

int grants_activate_window(struct jitd *d, struct jit_grant *g, int64_t win_start, int64_t win_end, char *why,
                           size_t why_size)
{
        struct txn t = {};
        int r = store_begin(d->store);

        if (r < 0)
                return r;
        r = activate_window(d, &t, g, &actor_jitd, now_realtime(), win_start, win_end, why, why_size);
        if (r == -ETIME) {
                store_rollback(d->store);
                txn_flush_logs(&t, false);
                return r;
        }
        return finish(d, &t, r);
}

int grants_retry_activation(struct jitd *d)
{
        struct store_filter f = { .states = GRANT_STATE_MASK(GRANT_PENDING) };
        struct ready_walk w = { .d = d };
        int r;

        r = store_grant_foreach(d->store, &f, collect_ready, &w);
        for (size_t i = 0; r >= 0 && i < w.n; i++) {
                struct txn t = {};
                struct jit_grant g;
                char why[256];
                int ret;

                if (store_grant_get(d->store, w.ids[i], &g) < 0 || store_begin(d->store) < 0)
                        continue;
                ret = finish(d, &t, activate(d, &t, &g, &actor_jitd, now_realtime(), why, sizeof(why)));
                if (ret == -EAGAIN)
                        log_msg(LOG_WARNING, "grant %lld still cannot be activated: %s", (long long) g.id, why);
                else if (ret >= 0)
                        log_msg(LOG_NOTICE, "grant %lld activated on retry", (long long) g.id);
        }
        free(w.ids);
        return r;
}

struct warn_walk {
        struct jitd *d;
        int64_t from, to;
};

static int warn_one(const struct jit_grant *g, void *userdata)
{
        struct warn_walk *w = userdata;

        if (g->expires_at > w->from && g->expires_at <= w->to)
                enforce_warn(w->d, g);
        return 0;
}

/* warn_before: every active grant whose end falls within warn_before of now
 * and was not warned yet gets its notice; warned_until remembers how far. */
static void process_warnings(struct jitd *d, int64_t now)
{
        struct store_filter f = { .states = GRANT_STATE_MASK(GRANT_ACTIVE) };
        struct warn_walk w = { .d = d, .from = d->warned_until, .to = now + (int64_t) d->config->warn_before };

        if (!d->config->warn_before || w.to <= w.from)
                return;
        store_grant_foreach(d->store, &f, warn_one, &w);
        d->warned_until = w.to;
}

/* Scheduled grants that are due start here, in one transaction. Active ones
 * that are due are handed to enforce_expire(), which ends them chunk by
 * chunk (a transaction, the drop-ins, the sessions) and lets the loop serve
 * requests in between: ten thousand grants ending in the same second must not
 * stop PAM for seconds. Until they are through, nothing else is collected. */
int grants_process_deadlines(struct jitd *d, int64_t now)
{
        struct store_filter f = { .states = GRANT_STATE_MASK(GRANT_ACTIVE) | GRANT_STATE_MASK(GRANT_SCHEDULED) };
        struct due due = { .now = now };
        struct txn t = {};
        int r = 0;

        if (enforce_pending(d)) {
                /* The timer fired or the clock moved: arm it afresh later. */
                d->armed_deadline = -1;
                return 0;
        }
        process_warnings(d, now);
        r = store_grant_foreach(d->store, &f, collect_due, &due);
        if (r >= 0 && due.n_starting && (r = store_begin(d->store)) >= 0) {
                for (size_t i = 0; r >= 0 && i < due.n_starting; i++) {
                        struct jit_grant g;

                        r = store_grant_get(d->store, due.starting[i], &g);
                        if (r >= 0)
                                r = start_scheduled(d, &t, &g);
                }
                r = commit_or_rollback(d, &t, r);
        }
        if (r >= 0 && due.n)
                enforce_expire(d, due.ids, due.n);
        free(due.ids);
        free(due.starting);
        if (r < 0)
                log_msg(LOG_ERR, "processing deadlines: %s", strerror(-r));
        grants_rearm_timer(d);
        return r;
}

int grants_expire(struct jitd *d, const int64_t *ids, size_t n, struct jit_grant *ret, size_t *ret_n)
{
        int64_t now = now_realtime();
        struct txn t = {};
        size_t k = 0;
        int r;

        r = store_begin(d->store);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = store_grant_get(d->store, ids[i], &ret[k]);
                if (r < 0)
                        break;
                /* Revoked, released or extended since it was queued: not ours. */
                if (ret[k].state != GRANT_ACTIVE || ret[k].expires_at > now)
                        continue;
                r = end_one(d, &t, &ret[k], GRANT_EXPIRED, &actor_jitd, "expired", now);
                if (r < 0)
                        break;
                k++;
        }
        r = commit_or_rollback(d, &t, r);
        if (r < 0)
                return r;
        if (k > ELEMENTSOF(t.logs))
                log_msg(LOG_NOTICE, "%zu grants reached their end", k);
        *ret_n = k;
        return 0;
}

int grants_rearm_timer(struct jitd *d)
{
        struct itimerspec its = {};
        int64_t deadline = 0, expiry;
        int r;

        r = store_next_deadline(d->store, &deadline);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r == -ENOENT)
                deadline = 0;
        if (d->config->warn_before &&
            store_next_expiry_after(d->store, d->warned_until, &expiry) >= 0) {
                int64_t warn_at = expiry - (int64_t) d->config->warn_before;

                if (warn_at < 1)
                        warn_at = 1;
                if (!deadline || warn_at < deadline)
                        deadline = warn_at;
        }
        /* Expiries are still being worked through: the queue re-arms when
         * it is done, and a timer now would only collect them again. */
        if (enforce_pending(d))
                deadline = 0;
        if (deadline == d->armed_deadline)
                return 0;
        its.it_value.tv_sec = deadline;
        /* CANCEL_ON_SET: a clock step wakes us, and every deadline is re-read. */
        if (timerfd_settime(d->timer_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
                return -errno;
        d->armed_deadline = deadline;
        return 0;
}
