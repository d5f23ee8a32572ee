/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "coverage.h"
#include "duration.h"
#include "ending.h"
#include "log.h"
#include "policy.h"
#include "record.h"
#include "sessions.h"
#include "teardown_ops.h"

/* How long a kill waits for its processes to be verifiably gone before it
 * records what is left and tries again later. */
#define KILL_WAIT_MS            1000
#define RETRY_FIRST_MS          1000
#define RETRY_MAX_MS            30000

struct open_op {
        struct open_op *next;
        struct sessions *s;
        struct jit_session x;
        struct teardown_op *op;
        sessions_open_fn done;
        void *userdata;
};

/* One grant whose sessions are being ended. */
/* What a kill batch keeps of each grant while its kills are in flight: what
 * its torn-down event and log line need, not the whole row (ten thousand
 * grants ending together keep forty batches in flight). */
struct ending_grant {
        int64_t id, expires_at, ended_at;
        enum grant_state state;
        char user[JIT_USER_MAX + 1];
        char role[JIT_ROLE_MAX + 1];
        char ticket[JIT_TICKET_MAX + 1];
        unsigned killed, moved, untracked, left, failed;
        bool rule_left;                 /* its drop-in could not be removed */
};

static void ending_grant_set(struct ending_grant *eg, const struct jit_grant *g)
{
        eg->id = g->id;
        eg->expires_at = g->expires_at;
        eg->ended_at = g->ended_at;
        eg->state = g->state;
        memcpy(eg->user, g->user, sizeof(eg->user));
        memcpy(eg->role, g->role, sizeof(eg->role));
        memcpy(eg->ticket, g->ticket, sizeof(eg->ticket));
}

/* The grant as far as an event about it needs (id, state, times, names). */
static void ending_grant_row(const struct ending_grant *eg, struct jit_grant *g)
{
        memset(g, 0, sizeof(*g));
        g->id = eg->id;
        g->expires_at = eg->expires_at;
        g->ended_at = eg->ended_at;
        g->state = eg->state;
        memcpy(g->user, eg->user, sizeof(g->user));
        memcpy(g->role, eg->role, sizeof(g->role));
        memcpy(g->ticket, eg->ticket, sizeof(g->ticket));
}

/* The sessions being killed in one go, and whose they are. */
struct kill_batch {
        struct kill_batch *next;
        struct sessions *s;
        struct teardown_op *op;
        struct ending_grant *grants;
        size_t n_grants;
        int64_t *session_ids;           /* per target */
        size_t *owner;                  /* per target: index into grants */
        size_t n;
        bool repair;                    /* reconciliation, not a grant's end */
};

struct sessions {
        struct jitd *d;
        struct open_op *opens;
        struct kill_batch *batches;
        /* Grants whose sessions were not all verified dead: killed again. */
        int64_t *retry;
        size_t n_retry, cap_retry;
        sd_event_source *retry_timer;
        uint64_t retry_ms;
};

static int64_t now_realtime_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- registration ----------------------------------------------------- */

static void open_unlink(struct open_op *o)
{
        for (struct open_op **p = &o->s->opens; *p; p = &(*p)->next)
                if (*p == o) {
                        *p = o->next;
                        return;
                }
}

/* A session that must not run is on record as closed at once, so that the
 * attempt stays visible and nothing tries to kill it later. Best effort: if
 * even that cannot be written, its grant's end kills whatever is there. */
static void record_refused(struct jitd *d, const struct jit_session *x, const char *why)
{
        struct session_row row = { .session_id = x->id, .kind = SESSION_ROW_CLOSED, .at = now_realtime() };

        snprintf(row.reason, sizeof(row.reason), "%s", why);
        if (ending_record_sessions(d, &row, 1, NULL, 0) < 0)
                log_msg(LOG_ERR, "session %lld: cannot record that it was refused", (long long) x->id);
}

/* Is the grant still one a session may run under? Asked again when the
 * attach comes back: the grant may have ended meanwhile. */
static bool grant_still_live(struct jitd *d, int64_t grant_id)
{
        struct jit_grant g;

        if (ending_contains(d->ending, grant_id))
                return false;
        if (store_grant_get(d->store, grant_id, &g) < 0)
                return false;   /* cannot tell: the session does not run */
        return g.state == GRANT_ACTIVE && g.expires_at > now_realtime();
}

static void kill_one_now(struct jitd *d, const struct jit_session *x);

static void on_attached(void *userdata, int r)
{
        struct open_op *o = userdata;
        struct jitd *d = o->s->d;

        open_unlink(o);
        o->op = NULL;
        if (r >= 0 && !grant_still_live(d, o->x.grant_id)) {
                /* It ended while the attach was in flight: its end saw the
                 * row but maybe not the scope. */
                kill_one_now(d, &o->x);
                r = -ECANCELED;
        }
        if (r < 0) {
                char why[64];

                snprintf(why, sizeof(why), "refused: %s", r == -ECANCELED ? "its grant ended" : strerror(-r));
                record_refused(d, &o->x, why);
        }
        o->done(d, o->userdata, r, &o->x);
        free(o);
}

int sessions_open(struct jitd *d, const struct jit_session *in, uid_t login_uid, sessions_open_fn done,
                  void *userdata)
{
        struct sessions *s = d->sessions;
        struct open_op *o;
        int r;

        o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        *o = (struct open_op) { .s = s, .x = *in, .done = done, .userdata = userdata };
        o->x.handle[0] = '\0';
        /* The row and the handle that will find the session, in one commit,
         * before anything is attached. No fsync: a power loss ends the
         * sessions too; a crash of jitd keeps the row. */
        r = store_begin_relaxed(d->store);
        if (r >= 0)
                r = store_session_insert(d->store, &o->x);
        if (r >= 0)
                r = teardown_handle(d->teardown, o->x.grant_id, (uint64_t) o->x.id, o->x.pid, o->x.pid_start,
                                    login_uid, o->x.handle, sizeof(o->x.handle));
        if (r >= 0)
                r = store_session_set_handle(d->store, o->x.id, o->x.handle);
        if (r >= 0)
                r = store_commit(d->store);
        if (r < 0) {
                store_rollback(d->store);
                free(o);
                return r;
        }
        r = teardown_op_attach(d->teardown, d->event, o->x.handle, o->x.grant_id, (uint64_t) o->x.id, o->x.pid,
                               o->x.pid_start, on_attached, o, &o->op);
        if (r < 0) {
                record_refused(d, &o->x, "refused: cannot attach");
                free(o);
                return r;
        }
        o->next = s->opens;
        s->opens = o;
        return 0;
}

/* ---- ending ----------------------------------------------------------- */

static void batch_free(struct kill_batch *b)
{
        if (!b)
                return;
        teardown_op_cancel(b->op);
        free(b->grants);
        free(b->session_ids);
        free(b->owner);
        free(b);
}

static void batch_unlink(struct kill_batch *b)
{
        for (struct kill_batch **p = &b->s->batches; *p; p = &(*p)->next)
                if (*p == b) {
                        *p = b->next;
                        return;
                }
}

static int retry_add(struct sessions *s, int64_t grant_id)
{
        for (size_t i = 0; i < s->n_retry; i++)
                if (s->retry[i] == grant_id)
                        return 0;
        if (array_reserve((void **) &s->retry, &s->cap_retry, s->n_retry, sizeof(*s->retry)) < 0)
                return -ENOMEM;
        s->retry[s->n_retry++] = grant_id;
        return 0;
}

static void retry_arm(struct sessions *s)
{
        uint64_t now = 0;

        if (!s->n_retry) {
                s->retry_ms = 0;
                (void) sd_event_source_set_enabled(s->retry_timer, SD_EVENT_OFF);
                return;
        }
        if (sd_event_source_get_enabled(s->retry_timer, NULL) > 0)
                return;
        s->retry_ms = s->retry_ms ? s->retry_ms * 2 : RETRY_FIRST_MS;
        if (s->retry_ms > RETRY_MAX_MS)
                s->retry_ms = RETRY_MAX_MS;
        (void) sd_event_now(s->d->event, CLOCK_MONOTONIC, &now);
        (void) sd_event_source_set_time(s->retry_timer, now + s->retry_ms * 1000);
        (void) sd_event_source_set_enabled(s->retry_timer, SD_EVENT_ONESHOT);
}

/* The evidence for time-to-revoke: from the grant's end (its expiry, or the
 * moment it was revoked or released) to the moment its privilege was gone. */
static int teardown_event(struct change *c, const struct ending_grant *eg, int64_t done_ms, bool repair)
{
        int64_t end = eg->state == GRANT_EXPIRED && eg->expires_at ? eg->expires_at : eg->ended_at;
        json_object *det = json_object_new_object();
        int r;

        if (!det)
                return -ENOMEM;
        json_object_object_add(det, "end", json_object_new_int64(end));
        json_object_object_add(det, "done_ms", json_object_new_int64(done_ms));
        json_object_object_add(det, "latency_ms", json_object_new_int64(done_ms - end * 1000));
        json_object_object_add(det, "sessions_killed", json_object_new_int64(eg->killed));
        if (eg->moved)
                json_object_object_add(det, "sessions_moved", json_object_new_int64(eg->moved));
        if (eg->untracked)
                json_object_object_add(det, "sessions_untracked", json_object_new_int64(eg->untracked));
        if (eg->left)
                json_object_object_add(det, "sessions_left", json_object_new_int64(eg->left));
        if (eg->failed)
                json_object_object_add(det, "sessions_failed", json_object_new_int64(eg->failed));
        if (eg->rule_left)
                json_object_object_add(det, "rule_left", json_object_new_boolean(1));
        /* Complete only when every session was verified gone (or moved to a
         * grant that still covers it). */
        json_object_object_add(det, "complete", json_object_new_boolean(!eg->untracked && !eg->left &&
                                                                         !eg->failed && !eg->rule_left));
        if (repair)
                json_object_object_add(det, "repair", json_object_new_boolean(1));
        memset(c, 0, sizeof(*c));
        ending_grant_row(eg, &c->next);
        r = change_add_event(c, "torn-down", &actor_jitd, done_ms / 1000,
                             json_object_to_json_string_ext(det, JSON_C_TO_STRING_PLAIN));
        json_object_put(det);
        return r;
}

/* The session's record in the audit chain, written with its teardown: who
 * ran what through which service, from when to when, and how it ended.
 * Session rows are committed without fsync (sessions_open), so the chain,
 * which the fleet gets a copy of (fleet_upload.c), takes the session at its
 * end, in the teardown's own transaction: once, whatever happened before.
 * Added to c, a change about eg's grant (begun when empty), which holds up to
 * CHANGE_EVENTS_MAX of them: a grant with thousands of sessions needs a
 * change per few sessions, not one each. */
static int session_event(struct change *c, const struct ending_grant *eg, int64_t id, int k, int64_t done_ms,
                         struct store *st)
{
        json_object *det = json_object_new_object();
        struct jit_session x;
        int r;

        if (!det)
                return -ENOMEM;
        json_object_object_add(det, "session", json_object_new_int64(id));
        /* Its row as the store has it; a row that cannot be read still
         * leaves its id and end on record. */
        if (store_session_get(st, id, &x) >= 0) {
                json_object_object_add(det, "service", json_object_new_string(x.service));
                if (x.target[0])
                        json_object_object_add(det, "target", json_object_new_string(x.target));
                json_object_object_add(det, "pid", json_object_new_int64(x.pid));
                if (x.tty[0])
                        json_object_object_add(det, "tty", json_object_new_string(x.tty));
                if (x.rhost[0])
                        json_object_object_add(det, "rhost", json_object_new_string(x.rhost));
                json_object_object_add(det, "opened_at", json_object_new_int64(x.opened_at));
                if (x.closed_at)
                        json_object_object_add(det, "closed_at", json_object_new_int64(x.closed_at));
        }
        json_object_object_add(det, "end", json_object_new_string(k == -EOPNOTSUPP ? "untracked" : "torn down"));
        if (c->n == 0)
                ending_grant_row(eg, &c->next);
        r = change_add_event(c, "session", &actor_jitd, done_ms / 1000,
                             json_object_to_json_string_ext(det, JSON_C_TO_STRING_PLAIN));
        json_object_put(det);
        return r;
}

static void batch_record(struct kill_batch *b, const int *results)
{
        struct sessions *s = b->s;
        struct jitd *d = s->d;
        struct session_row *rows = NULL;
        struct change *cs = NULL;
        size_t n_rows = 0, n_cs = 0, cap_cs = b->n / CHANGE_EVENTS_MAX + 2 * b->n_grants + 1;
        int64_t done_ms = now_realtime_ms();
        int r = 0;

        rows = calloc(b->n ? b->n : 1, sizeof(*rows));
        /* The sessions' records (a change per CHANGE_EVENTS_MAX sessions of a
         * grant), then one change per grant. */
        cs = calloc(cap_cs, sizeof(*cs));
        if (!rows || !cs) {
                log_msg(LOG_ERR, "cannot record the teardown of %zu grants: out of memory", b->n_grants);
                goto out;
        }
        for (size_t i = 0; i < b->n; i++) {
                struct ending_grant *eg = &b->grants[b->owner[i]];
                int k = results ? results[i] : 0;
                struct session_row *row = &rows[n_rows];

                if (k == -EOPNOTSUPP)
                        eg->untracked++;
                else if (k == -EBUSY)
                        eg->left++;
                else if (k < 0)
                        eg->failed++;
                else
                        eg->killed++;
                if (k == -EBUSY || (k < 0 && k != -EOPNOTSUPP)) {
                        /* Still there, or not known to be gone: stays live
                         * on record, and is killed again. */
                        log_msg(LOG_ERR, "grant %lld: session %lld %s: %s; trying again", (long long) eg->id,
                                (long long) b->session_ids[i], k == -EBUSY ? "still has processes" :
                                "could not be killed", strerror(-k));
                        (void) retry_add(s, eg->id);
                        continue;
                }
                *row = (struct session_row) { .session_id = b->session_ids[i], .kind = SESSION_ROW_TORN_DOWN,
                                              .at = done_ms / 1000 };
                /* The grant's end says why it was ended, as it always has. */
                snprintf(row->reason, sizeof(row->reason), "%s%s", k == -EOPNOTSUPP ? "untracked, " : "",
                         grant_state_to_string(eg->state));
                n_rows++;
                if (r >= 0) {
                        /* A batch lists each grant's sessions together. */
                        if (n_cs && cs[n_cs - 1].next.id == eg->id && cs[n_cs - 1].n < CHANGE_EVENTS_MAX)
                                r = session_event(&cs[n_cs - 1], eg, b->session_ids[i], k, done_ms, d->store);
                        else if (n_cs + b->n_grants >= cap_cs)
                                r = -E2BIG;     /* not grouped as built: never */
                        else if ((r = session_event(&cs[n_cs], eg, b->session_ids[i], k, done_ms, d->store)) >= 0)
                                n_cs++;
                }
        }
        for (size_t j = 0; r >= 0 && j < b->n_grants; j++) {
                r = teardown_event(&cs[n_cs], &b->grants[j], done_ms, b->repair);
                if (r < 0)
                        break;
                n_cs++;
        }
        if (r >= 0 && (n_rows || n_cs))
                r = ending_record_sessions(d, rows, n_rows, cs, n_cs);
        if (r < 0)
                log_msg(LOG_ERR, "cannot keep the teardown record of %zu grant%s: %s", b->n_grants,
                        b->n_grants == 1 ? "" : "s", strerror(-r));
        for (size_t j = 0; j < b->n_grants; j++) {
                const struct ending_grant *eg = &b->grants[j];

                if (eg->killed || eg->moved || eg->left || eg->untracked)
                        log_msg(LOG_NOTICE, "grant %lld (%s, %s) %s: %u session%s killed%s%s%s", (long long) eg->id,
                                eg->user, eg->role, grant_state_to_string(eg->state), eg->killed,
                                eg->killed == 1 ? "" : "s", eg->moved ? ", some moved to a covering grant" : "",
                                eg->left ? ", some still running (retrying)" : "",
                                eg->untracked ? ", some untracked (teardown = none)" : "");
        }
out:
        for (size_t j = 0; j < n_cs; j++)
                change_done(&cs[j]);
        free(cs);
        free(rows);
        retry_arm(s);
}

static void on_killed(void *userdata, const int *results, size_t n)
{
        struct kill_batch *b = userdata;

        (void) n;
        b->op = NULL;
        batch_unlink(b);
        batch_record(b, results);
        batch_free(b);
}

struct live_walk {
        struct jit_session *v;
        size_t n, cap;
};

static int collect_live(const struct jit_session *x, void *userdata)
{
        struct live_walk *w = userdata;

        if (array_reserve((void **) &w->v, &w->cap, w->n, sizeof(*w->v)) < 0)
                return -ENOMEM;
        w->v[w->n++] = *x;
        return 0;
}

struct cands_walk {
        struct jitd *d;
        const struct jit_grant *skip;
        size_t n_skip;
        struct jit_grant *v;
        size_t n, cap;
};

static int collect_active(const struct jit_grant *g, void *userdata)
{
        struct cands_walk *w = userdata;

        if (g->state != GRANT_ACTIVE || ending_contains(w->d->ending, g->id))
                return 0;
        for (size_t i = 0; i < w->n_skip; i++)
                if (w->skip[i].id == g->id)
                        return 0;
        if (array_reserve((void **) &w->v, &w->cap, w->n, sizeof(*w->v)) < 0)
                return -ENOMEM;
        w->v[w->n++] = *g;
        return 0;
}

/* Another grant of the same user that covers session x and allows all that
 * the ended grant's role allowed; 0 when there is none (or when anything on
 * the way fails: then the session dies). */
static int64_t move_target(struct jitd *d, const struct jit_grant *ended, const struct jit_session *x,
                           const struct jit_grant *batch, size_t n_batch)
{
        const struct config *c = d->config;
        const struct role *from = config_find_role(c, ended->role);
        struct store_filter f = { .user = ended->user, .states = GRANT_STATE_MASK(GRANT_ACTIVE) };
        struct cands_walk w = { .d = d, .skip = batch, .n_skip = n_batch };
        struct coverage_candidate *cv = NULL;
        struct principal *p = NULL;
        int64_t now = now_realtime(), to = 0;
        size_t n = 0;
        int k;

        if (!from || store_grant_foreach(d->store, &f, collect_active, &w) < 0 || w.n == 0)
                goto out;
        /* Eligibility now, as at every decision; an NSS failure moves nothing. */
        if (principal_from_name(d->config, ended->user, &p) < 0)
                goto out;
        cv = calloc(w.n, sizeof(*cv));
        if (!cv)
                goto out;
        for (size_t i = 0; i < w.n; i++) {
                const struct jit_grant *g = &w.v[i];
                const struct role *r = config_find_role(c, g->role);
                bool eligible = r && (g->break_glass ? policy_break_glass_ok(r, p) : policy_eligible(r, p, c->host,
                                                                                                     NULL, 0));

                if (eligible && coverage_live(g, r, x->service, c->host, now) && coverage_runas(r, x->target) &&
                    !(r->uses == 1))
                        cv[n++] = (struct coverage_candidate) { .g = g, .r = r };
        }
        k = coverage_pick_move(cv, n, from);
        if (k >= 0)
                to = cv[k].g->id;
out:
        principal_free(p);
        free(cv);
        free(w.v);
        return to;
}

/* End the live sessions of gs (ended grants): move or kill. repair: the
 * grants ended earlier (reconciliation, retries). */
static void end_sessions(struct jitd *d, const struct jit_grant *gs, const bool *rule_left, size_t n, bool repair)
{
        struct sessions *s = d->sessions;
        struct kill_batch *b;
        struct teardown_target *targets = NULL;
        struct session_row *moves = NULL;
        struct change *move_events = NULL;
        size_t n_moves = 0, n_move_events = 0;
        struct live_walk all = {};
        size_t *first = NULL;
        int r;

        if (n == 0)
                return;
        b = calloc(1, sizeof(*b));
        if (!b)
                goto oom;
        b->s = s;
        b->repair = repair;
        b->grants = calloc(n, sizeof(*b->grants));
        first = calloc(n + 1, sizeof(*first));
        if (!b->grants || !first)
                goto oom;
        b->n_grants = n;
        for (size_t j = 0; j < n; j++) {
                ending_grant_set(&b->grants[j], &gs[j]);
                b->grants[j].rule_left = rule_left && rule_left[j];
                first[j] = all.n;
                r = store_session_foreach_live(d->store, gs[j].id, collect_live, &all);
                if (r < 0) {
                        /* Not "no sessions": could not read. Try again later. */
                        log_msg(LOG_ERR, "grant %lld: cannot read its sessions: %s; trying again",
                                (long long) gs[j].id, store_last_error(d->store));
                        all.n = first[j];
                        b->grants[j].failed++;
                        (void) retry_add(s, gs[j].id);
                }
        }
        first[n] = all.n;
        targets = calloc(all.n ? all.n : 1, sizeof(*targets));
        b->session_ids = calloc(all.n ? all.n : 1, sizeof(*b->session_ids));
        b->owner = calloc(all.n ? all.n : 1, sizeof(*b->owner));
        moves = calloc(all.n ? all.n : 1, sizeof(*moves));
        move_events = calloc(n, sizeof(*move_events));
        if (!targets || !b->session_ids || !b->owner || !moves || !move_events)
                goto oom;
        for (size_t j = 0; j < n; j++) {
                struct ending_grant *eg = &b->grants[j];
                json_object *moved_ids = NULL;

                for (size_t i = first[j]; i < first[j + 1]; i++) {
                        const struct jit_session *x = &all.v[i];
                        int64_t to = repair ? 0 : move_target(d, &gs[j], x, gs, n);

                        if (to) {
                                moves[n_moves++] = (struct session_row) { .session_id = x->id, .kind =
                                                                          SESSION_ROW_MOVED, .grant_id = to,
                                                                          .at = now_realtime() };
                                eg->moved++;
                                if (!moved_ids)
                                        moved_ids = json_object_new_array();
                                if (moved_ids)
                                        json_object_array_add(moved_ids, json_object_new_int64(x->id));
                                log_msg(LOG_NOTICE, "grant %lld ended: session %lld moves to grant %lld, which "
                                        "covers it", (long long) eg->id, (long long) x->id, (long long) to);
                                continue;
                        }
                        targets[b->n] = (struct teardown_target) { .handle = x->handle, .leader = x->pid,
                                                                   .leader_start = x->pid_start };
                        b->session_ids[b->n] = x->id;
                        b->owner[b->n] = j;
                        b->n++;
                }
                if (moved_ids) {
                        json_object *det = json_object_new_object();

                        if (det) {
                                json_object_object_add(det, "sessions", moved_ids);
                                json_object_object_add(det, "to", json_object_new_int64(moves[n_moves - 1].grant_id));
                                move_events[n_move_events].next = gs[j];
                                if (change_add_event(&move_events[n_move_events], "sessions-moved", &actor_jitd,
                                                     now_realtime(),
                                                     json_object_to_json_string_ext(det, JSON_C_TO_STRING_PLAIN)) >= 0)
                                        n_move_events++;
                                json_object_put(det);
                        } else
                                json_object_put(moved_ids);
                }
        }
        if (n_moves && ending_record_sessions(d, moves, n_moves, move_events, n_move_events) < 0)
                log_msg(LOG_ERR, "cannot keep the record of %zu moved session%s", n_moves, n_moves == 1 ? "" : "s");
        for (size_t j = 0; j < n_move_events; j++)
                change_done(&move_events[j]);
        free(move_events);
        free(moves);
        moves = NULL;
        move_events = NULL;
        /* Even with nothing to kill, the evidence is written from the loop,
         * after the end it follows has been recorded. */
        r = teardown_op_kill(d->teardown, d->event, targets, b->n, KILL_WAIT_MS, on_killed, b, &b->op);
        if (r < 0) {
                log_msg(LOG_ERR, "cannot start killing %zu session%s: %s; trying again", b->n,
                        b->n == 1 ? "" : "s", strerror(-r));
                for (size_t j = 0; j < n; j++)
                        (void) retry_add(s, gs[j].id);
                retry_arm(s);
                batch_free(b);
                goto done;
        }
        b->next = s->batches;
        s->batches = b;
done:
        free(all.v);
        free(targets);
        free(first);
        return;
oom:
        log_msg(LOG_ERR, "cannot end the sessions of %zu grant%s now: out of memory; trying again", n,
                n == 1 ? "" : "s");
        for (size_t j = 0; j < n; j++)
                (void) retry_add(s, gs[j].id);
        retry_arm(s);
        free(move_events);
        free(moves);
        batch_free(b);
        goto done;
}

void sessions_end_grants(struct jitd *d, const struct jit_grant *gs, const bool *rule_left, size_t n)
{
        end_sessions(d, gs, rule_left, n, false);
}

static void kill_one_now(struct jitd *d, const struct jit_session *x)
{
        struct jit_grant g;

        if (ending_lookup(d->ending, x->grant_id, &g) < 0 && store_grant_get(d->store, x->grant_id, &g) < 0) {
                memset(&g, 0, sizeof(g));
                g.id = x->grant_id;
                g.state = GRANT_REVOKED;
        }
        end_sessions(d, &g, NULL, 1, true);
}

static int on_retry(sd_event_source *src, uint64_t usec, void *userdata)
{
        struct sessions *s = userdata;
        struct jitd *d = s->d;
        int64_t *ids = TAKE_PTR(s->retry);
        size_t n = s->n_retry;

        (void) src;
        (void) usec;
        s->n_retry = s->cap_retry = 0;
        for (size_t i = 0; i < n; i++) {
                struct jit_grant g;
                int r = ending_lookup(d->ending, ids[i], &g);

                if (r < 0)
                        r = store_grant_get(d->store, ids[i], &g);
                if (r < 0) {
                        (void) retry_add(s, ids[i]);
                        continue;
                }
                /* Active again? Nothing to end. */
                if (g.state != GRANT_ACTIVE || ending_contains(d->ending, g.id))
                        end_sessions(d, &g, NULL, 1, true);
        }
        free(ids);
        retry_arm(s);
        return 0;
}

/* ---- closing, reconciliation, notices --------------------------------- */

int sessions_close(struct jitd *d, int64_t id, pid_t pid, uint64_t pid_start, const char *user,
                   struct jit_session *ret)
{
        struct jit_session x;
        struct jit_grant g;
        int r;

        r = id ? store_session_get(d->store, id, &x) : store_session_find_open(d->store, pid, &x);
        if (r < 0)
                return r;
        if (x.closed_at)
                return -ENOENT;
        /* Only the process that opened it, that very process (a recycled pid
         * has another start time), for the user it was opened for. */
        if (x.pid != pid || (x.pid_start && x.pid_start != pid_start))
                return -EPERM;
        r = ending_lookup(d->ending, x.grant_id, &g);
        if (r < 0)
                r = store_grant_get(d->store, x.grant_id, &g);
        if (r < 0)
                return r;
        if (!user || strcmp(g.user, user) != 0)
                return -EPERM;
        *ret = x;
        return 0;
}

struct reconcile_walk {
        struct jitd *d;
        struct jit_grant *ended;
        size_t n_ended, cap_ended;
        struct session_row *closed;
        size_t n_closed, cap_closed;
};

static int reconcile_one(const struct jit_session *x, void *userdata)
{
        struct reconcile_walk *w = userdata;
        struct jitd *d = w->d;
        struct jit_grant g;
        bool alive = true;
        int r;

        r = ending_lookup(d->ending, x->grant_id, &g);
        if (r < 0)
                r = store_grant_get(d->store, x->grant_id, &g);
        if (r < 0) {
                /* Could not read is not "no such grant": leave it. A grant
                 * that truly is not there (a damaged database) had its
                 * sessions' owner removed: kill them. */
                if (r != -ENOENT)
                        return 0;
                memset(&g, 0, sizeof(g));
                g.id = x->grant_id;
                g.state = GRANT_REVOKED;
        }
        if (g.state == GRANT_ACTIVE && !ending_contains(d->ending, g.id)) {
                if (x->closed_at || teardown_alive(d->teardown, x->handle, &alive) < 0 || alive)
                        return 0;
                if (array_reserve((void **) &w->closed, &w->cap_closed, w->n_closed, sizeof(*w->closed)) < 0)
                        return 0;
                w->closed[w->n_closed] = (struct session_row) { .session_id = x->id, .kind = SESSION_ROW_CLOSED,
                                                                .at = now_realtime() };
                snprintf(w->closed[w->n_closed].reason, sizeof(w->closed[0].reason), "session ended");
                w->n_closed++;
                return 0;
        }
        for (size_t i = 0; i < w->n_ended; i++)
                if (w->ended[i].id == g.id)
                        return 0;
        if (array_reserve((void **) &w->ended, &w->cap_ended, w->n_ended, sizeof(*w->ended)) < 0)
                return 0;
        w->ended[w->n_ended++] = g;
        return 0;
}

#define RECONCILE_PAGE 256

void sessions_reconcile(struct jitd *d)
{
        struct reconcile_walk w = { .d = d };
        struct live_walk all = {};
        int64_t after = 0;
        int r;

        /* A page of live sessions, then their grants: no walk of one table
         * is open while the other is read, and ten thousand sessions are
         * not all in memory at once. */
        do {
                all.n = 0;
                r = store_session_foreach_live_page(d->store, after, RECONCILE_PAGE, collect_live, &all);
                if (r < 0)
                        log_msg(LOG_ERR, "reconcile: reading sessions: %s", store_last_error(d->store));
                for (size_t i = 0; r >= 0 && i < all.n; i++) {
                        bool busy = false;

                        /* Sessions that are attaching or being killed are not ours here. */
                        for (struct open_op *o = d->sessions->opens; o && !busy; o = o->next)
                                busy = o->x.id == all.v[i].id;
                        for (struct kill_batch *b = d->sessions->batches; b && !busy; b = b->next)
                                for (size_t k = 0; k < b->n && !busy; k++)
                                        busy = b->session_ids[k] == all.v[i].id;
                        if (!busy)
                                reconcile_one(&all.v[i], &w);
                }
                if (all.n)
                        after = all.v[all.n - 1].id;
        } while (r >= 0 && all.n == RECONCILE_PAGE);
        if (w.n_closed && ending_record_sessions(d, w.closed, w.n_closed, NULL, 0) < 0)
                log_msg(LOG_ERR, "reconcile: cannot record %zu closed sessions", w.n_closed);
        for (size_t i = 0; i < w.n_ended; i++)
                log_msg(LOG_NOTICE, "reconcile: grant %lld is %s but has live sessions: killing them",
                        (long long) w.ended[i].id, grant_state_to_string(w.ended[i].state));
        if (w.n_ended)
                end_sessions(d, w.ended, NULL, w.n_ended, true);
        free(all.v);
        free(w.ended);
        free(w.closed);
}

/* The terminal of a session, as PAM named it: "/dev/pts/3", "pts/3" or
 * "tty1". sshd says "ssh", which names no terminal: such sessions get no
 * notice. Only /dev/pts/N and /dev/ttyN are ever opened. */
static bool session_tty_path(const char *tty, char *buf, size_t size)
{
        const char *rest;
        size_t digits;

        if (strncmp(tty, "/dev/", 5) == 0)
                tty += 5;
        if (strncmp(tty, "pts/", 4) == 0)
                rest = tty + 4;
        else if (strncmp(tty, "tty", 3) == 0)
                rest = tty + 3;
        else
                return false;
        digits = strspn(rest, "0123456789");
        if (digits == 0 || digits > 6 || rest[digits] != '\0')
                return false;
        return snprintf(buf, size, "/dev/%s", tty) < (int) size;
}

static int warn_session(const struct jit_session *x, void *userdata)
{
        const char *text = userdata;
        char path[32];
        struct stat st;
        int fd;

        if (x->closed_at || !session_tty_path(x->tty, path, sizeof(path)))
                return 0;
        /* Non-blocking: a terminal that does not drain must not stall jitd. */
        fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return 0;
        if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode))
                (void) !write(fd, text, strlen(text));
        close(fd);
        return 0;
}

void sessions_warn(struct jitd *d, const struct jit_grant *g)
{
        char text[256], when[32], left[32];
        time_t t = (time_t) g->expires_at;
        struct tm tm;
        int64_t now = now_realtime();

        if (!gmtime_r(&t, &tm) || !strftime(when, sizeof(when), "%H:%M:%S UTC", &tm))
                snprintf(when, sizeof(when), "%lld", (long long) g->expires_at);
        duration_format(g->expires_at > now ? (uint64_t) (g->expires_at - now) : 0, left, sizeof(left));
        snprintf(text, sizeof(text),
                 "\r\n*** jit: your elevation (grant %lld, role %s) ends at %s, in %s; this session will be "
                 "closed then. ***\r\n", (long long) g->id, g->role, when, left);
        store_session_foreach_live(d->store, g->id, warn_session, text);
        log_msg(LOG_INFO, "grant %lld ends in %s: its sessions were warned", (long long) g->id, left);
}

/* ---- the module ------------------------------------------------------- */

int sessions_new(struct jitd *d, struct sessions **ret)
{
        struct sessions *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return -ENOMEM;
        s->d = d;
        r = sd_event_add_time(d->event, &s->retry_timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_retry, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->retry_timer, SD_EVENT_OFF);
        if (r < 0) {
                sd_event_source_unref(s->retry_timer);
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}

void sessions_free(struct sessions *s)
{
        if (!s)
                return;
        while (s->opens) {
                struct open_op *o = s->opens;

                s->opens = o->next;
                teardown_op_cancel(o->op);
                free(o);
        }
        while (s->batches) {
                struct kill_batch *b = s->batches;

                s->batches = b->next;
                batch_free(b);
        }
        sd_event_source_disable_unref(s->retry_timer);
        free(s->retry);
        free(s);
}

size_t sessions_in_flight(const struct sessions *s)
{
        size_t n = 0;

        for (const struct open_op *o = s ? s->opens : NULL; o; o = o->next)
                n++;
        for (const struct kill_batch *b = s ? s->batches : NULL; b; b = b->next)
                n += b->n;
        return n;
}
