/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <json-c/json.h>

#include "ending.h"
#include "gating.h"
#include "grants.h"
#include "log.h"
#include "reconcile.h"
#include "recording.h"
#include "record.h"
#include "sessions.h"
#include "store.h"
#include "sudoers.h"

/* An audit event outside a state change (reconciliation repairs). */
static void audit_repair(struct jitd *d, const struct jit_grant *g, int64_t id, const char *event, const char *what)
{
        json_object *det = json_object_new_object();
        struct change c = {};
        int r;

        if (!det)
                return;
        json_object_object_add(det, "what", json_object_new_string(what));
        if (g)
                c.next = *g;
        else
                c.next.id = id;
        r = change_add_event(&c, event, &actor_jitd, now_realtime(),
                             json_object_to_json_string_ext(det, JSON_C_TO_STRING_PLAIN));
        json_object_put(det);
        if (r >= 0)
                r = ending_record_sessions(d, NULL, 0, &c, 1);
        if (r < 0)
                log_msg(LOG_ERR, "cannot keep the audit event %s: %s", event, strerror(-r));
        change_done(&c);
}

/* Should this grant have a rule on the host now? Active or scheduled, its
 * role gates sudo, its end not waiting to be recorded, and, for a single
 * use, not used yet. */
static int wants_rule(struct jitd *d, const struct jit_grant *g, bool *ret)
{
        const struct role *r = config_find_role(d->config, g->role);
        uint64_t used = 0;
        int k;

        if ((g->state != GRANT_ACTIVE && g->state != GRANT_SCHEDULED) || ending_contains(d->ending, g->id) ||
            !gating_role_needs_sudoers(r)) {
                *ret = false;
                return 0;
        }
        if (r->uses == 1) {
                k = store_session_count(d->store, g->id, &used);
                if (k < 0)
                        return k;
        }
        *ret = used == 0;
        return 0;
}

static void reconcile_dropins(struct jitd *d)
{
        _cleanup_free_ int64_t *ids = NULL;
        size_t n = 0;
        int r;

        r = sudoers_list(d->config->sudoers_dir, &ids, &n);
        if (r < 0 && r != -ENOENT) {
                log_msg(LOG_ERR, "reconcile: cannot list %s: %s", d->config->sudoers_dir, strerror(-r));
                return;
        }
        for (size_t i = 0; i < n; i++) {
                struct jit_grant g;
                bool have, want = false;

                r = grants_get(d, ids[i], &g);
                if (r < 0 && r != -ENOENT) {
                        log_msg(LOG_ERR, "reconcile: cannot read grant %lld: %s; its rule stays for now",
                                (long long) ids[i], store_last_error(d->store));
                        continue;
                }
                have = r >= 0;
                if (have && wants_rule(d, &g, &want) < 0) {
                        log_msg(LOG_ERR, "reconcile: cannot tell whether grant %lld is used up: %s",
                                (long long) ids[i], store_last_error(d->store));
                        continue;
                }
                if (want)
                        continue;
                r = sudoers_remove(d->config->sudoers_dir, ids[i]);
                if (r < 0) {
                        log_msg(LOG_ERR, "reconcile: cannot remove jit-%lld: %s", (long long) ids[i], strerror(-r));
                        continue;
                }
                audit_repair(d, have ? &g : NULL, ids[i], "dropin-removed",
                             !have ? "drop-in of an unknown grant" :
                             g.state == GRANT_ACTIVE || g.state == GRANT_SCHEDULED ?
                             "the grant's role no longer gates sudo, or its single use is spent" :
                             "drop-in of a grant that is not active");
        }
}

struct restore_walk {
        struct jit_grant *v;
        size_t n, cap;
};

static int collect_open(const struct jit_grant *g, void *userdata)
{
        struct restore_walk *w = userdata;

        if (array_reserve((void **) &w->v, &w->cap, w->n, sizeof(*w->v)) < 0)
                return -ENOMEM;
        w->v[w->n++] = *g;
        return 0;
}

/* Grants are read a page at a time: ten thousand active grants must not
 * mean ten thousand rows in memory at once. */
#define RESTORE_PAGE 64

/* A grant that is recorded active or scheduled gets its rule back: no commit
 * is involved, the record already says so. */
static void restore_rules(struct jitd *d)
{
        struct store_filter f = { .states = GRANT_STATE_MASK(GRANT_ACTIVE) | GRANT_STATE_MASK(GRANT_SCHEDULED),
                                  .limit = RESTORE_PAGE };
        struct restore_walk w = {};
        int r;

        do {
                w.n = 0;
                r = store_grant_foreach(d->store, &f, collect_open, &w);
                if (r < 0)
                        log_msg(LOG_ERR, "reconcile: reading grants: %s", store_last_error(d->store));
                for (size_t i = 0; r >= 0 && i < w.n; i++) {
                        const struct jit_grant *g = &w.v[i];
                        const struct role *role = config_find_role(d->config, g->role);
                        _cleanup_free_ char *want = NULL, *have = NULL;
                        bool wanted = false;
                        int k, w_r;

                        enum record_mode mode = config_record_mode(d->config, role, g->break_glass);
                        char iolog_dir[512], why[256];

                        if (wants_rule(d, g, &wanted) < 0 || !wanted)
                                continue;
                        if (mode != RECORD_NONE &&
                            recording_prepare_grant(d, g, iolog_dir, sizeof(iolog_dir), why, sizeof(why)) < 0) {
                                log_msg(LOG_ERR, "reconcile: grant %lld: %s", (long long) g->id, why);
                                continue;
                        }
                        if (sudoers_render_recorded(g, role, mode, mode != RECORD_NONE ? iolog_dir : NULL, &want) < 0)
                                continue;
                        k = sudoers_read(d->config->sudoers_dir, g->id, &have);
                        if (k >= 0 && strcmp(want, have) == 0)
                                continue;
                        w_r = sudoers_install(d->config->sudoers_dir, g->id, want, d->config->visudo);
                        if (w_r < 0) {
                                log_msg(LOG_ERR, "reconcile: grant %lld: cannot write its rule: %s",
                                        (long long) g->id, strerror(-w_r));
                                continue;
                        }
                        audit_repair(d, g, g->id, "dropin-restored", k == -ENOENT ? "drop-in was missing" :
                                     "drop-in was altered");
                }
                if (w.n)
                        f.after_id = w.v[w.n - 1].id;
        } while (r >= 0 && w.n == RESTORE_PAGE);
        free(w.v);
}

struct ready_walk {
        struct jitd *d;
        int64_t *ids;
        size_t n, cap;
};

/* A pending grant whose approvals are complete should be active: its
 * activation failed before (the rule could not be written) or jitd died
 * half-way. Ticket-approved roles are re-checked by the ticket poll. */
static int collect_ready(const struct jit_grant *g, void *userdata)
{
        struct ready_walk *w = userdata;
        const struct role *r = config_find_role(w->d->config, g->role);
        unsigned have = 0;

        if (!r || (r->approval & APPROVAL_TICKET) || g->break_glass)
                return 0;
        if ((r->approval & APPROVAL_PEER) &&
            (grants_approvals_have(w->d, g, &have) < 0 || have < g->approvals_needed))
                return 0;
        if (array_reserve((void **) &w->ids, &w->cap, w->n, sizeof(*w->ids)) < 0)
                return -ENOMEM;
        w->ids[w->n++] = g->id;
        return 0;
}

static void retry_activation(struct jitd *d)
{
        struct store_filter f = { .states = GRANT_STATE_MASK(GRANT_PENDING) };
        struct ready_walk w = { .d = d };
        int r;

        r = store_grant_foreach(d->store, &f, collect_ready, &w);
        for (size_t i = 0; r >= 0 && i < w.n; i++) {
                struct fsm_event ev = { .type = FSM_RETRY_ACTIVATION };
                struct jit_grant g;
                char why[256] = "";
                int64_t fleet_end;
                int k;

                if (grants_get(d, w.ids[i], &g) < 0)
                        continue;
                /* A fleet grant ends when the fleet says; not knowing when
                 * (a read error) means no activation this round. */
                k = store_fleet_ends_at(d->store, g.id, &fleet_end);
                if (k == 0)
                        ev.win_end = fleet_end;
                else if (k != -ENOENT)
                        continue;
                k = grants_step(d, &g, &ev, &actor_jitd, why, sizeof(why));
                if (k == -EAGAIN)
                        log_msg(LOG_WARNING, "grant %lld still cannot be activated: %s", (long long) g.id, why);
                else if (k >= 0)
                        log_msg(LOG_NOTICE, "grant %lld activated on retry", (long long) g.id);
        }
        free(w.ids);
}

void reconcile(struct jitd *d)
{
        reconcile_dropins(d);
        restore_rules(d);
        sessions_reconcile(d);
        retry_activation(d);
}
