/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "deadline.h"
#include "effects.h"
#include "ending.h"
#include "grants.h"
#include "log.h"
#include "record.h"
#include "store.h"
#include "tombstone.h"

int grants_get(struct jitd *d, int64_t id, struct jit_grant *ret)
{
        if (ending_lookup(d->ending, id, ret) >= 0)
                return 0;
        return store_grant_get(d->store, id, ret);
}

/* Writes inside the step's transaction, before and after the grant's row. */
struct step_io {
        int (*pre)(struct jitd *d, struct jit_grant *g, void *data);
        int (*post)(struct jitd *d, struct jit_grant *g, void *data);
        void *data;
};

static void after_end_recorded(struct jitd *d, const struct change *c)
{
        effects_after_commit(d, c);
}

/* An end: its privilege goes first, then the record, now or later. */
static int step_end(struct jitd *d, struct jit_grant *g, const struct fsm_result *res, const struct actor *a,
                    int64_t now)
{
        struct change ch;
        unsigned effects = res->effects;
        int r;

        effects_end_host(d, &res->next, &effects, 1);
        r = change_from_fsm(&ch, res, a, now);
        if (r < 0) {
                /* The host side is done; the record is what is missing: the
                 * deadline or reconciliation will find the grant again. */
                log_msg(LOG_ERR, "grant %lld: cannot build its record: %s", (long long) res->next.id, strerror(-r));
                return r;
        }
        r = ending_record(d, &ch, after_end_recorded);
        change_done(&ch);
        if (r < 0)
                return r;
        /* Left out of the timer while its record waits; re-read either way. */
        deadline_rearm(d);
        *g = res->next;
        return r;
}

/*
 * One or two FSM steps (an approval that completes an extension applies it)
 * in one transaction. new_grant: g is inserted.
 */
static int step(struct jitd *d, struct jit_grant *g, const struct fsm_event *evs, size_t n_evs, bool new_grant,
                const struct actor *a, const struct step_io *io, char *why, size_t why_size)
{
        const struct role *r = config_find_role(d->config, g->role);
        struct sudoers_prepared prep;
        struct fsm_result res, res2, first;
        struct fsm_event retry;
        struct change ch = {};
        /* Outlives the block below: the failed activation's audit event
         * points at it until change_from_fsm has copied it. */
        char fail_why[256] = "";
        int64_t now = now_realtime();
        bool failed_activation = false;
        int k;

        sudoers_prepared_init(&prep);
        k = grant_fsm_step(g, r, &evs[0], now, &res, why, why_size);
        if (k < 0)
                return k;
        first = res;
        if (n_evs > 1) {
                k = grant_fsm_step(&res.next, r, &evs[1], now, &res2, why, why_size);
                if (k < 0)
                        return k;
                /* Both steps' events, the second's effects. */
                for (size_t i = 0; i < res2.n_audit && res.n_audit < FSM_AUDIT_MAX; i++)
                        res.audit[res.n_audit++] = res2.audit[i];
                res.next = res2.next;
                res.effects |= res2.effects;
        }
        if (fsm_result_is_ending(&res) && !new_grant && n_evs == 1 && !io)
                return step_end(d, g, &res, a, now);

        k = store_begin(d->store);
        if (k < 0)
                return k;
        if (io && io->pre && (k = io->pre(d, &res.next, io->data)) < 0)
                goto fail;
        if (new_grant) {
                k = store_grant_insert(d->store, &res.next);
                if (k < 0)
                        goto fail;
        }
        if (res.effects & FX_DROPIN_PLACE) {
                k = effects_prepare_dropin(d, &res.next, &prep, fail_why, sizeof(fail_why));
                if (k < 0) {
                        /* An activation records that it failed and stays
                         * pending; anything else (an extension) changes
                         * nothing. */
                        if (evs[n_evs - 1].type == FSM_EXTEND) {
                                snprintf(why, why_size, "%s", fail_why);
                                goto fail;
                        }
                        /* The step that activates records that it failed,
                         * after the first step's events (a fleet grant:
                         * requested, then approved without activation). */
                        retry = evs[n_evs - 1];
                        retry.activation_failed = fail_why;
                        res2 = res;
                        k = grant_fsm_step(n_evs > 1 ? &first.next : g, r, &retry, now, &res, why, why_size);
                        if (k < 0)
                                goto fail;
                        if (n_evs > 1) {
                                for (size_t i = 0; i < res.n_audit && first.n_audit < FSM_AUDIT_MAX; i++)
                                        first.audit[first.n_audit++] = res.audit[i];
                                first.next = res.next;
                                first.effects = res.effects;
                                res = first;
                        }
                        res.next.id = res2.next.id;
                        snprintf(why, why_size, "%s", fail_why);
                        failed_activation = true;
                }
        }
        k = change_from_fsm(&ch, &res, a, now);
        if (k < 0)
                goto fail;
        /* Inserted or not, the row now says what the step decided. */
        k = store_grant_update(d->store, &ch.next);
        if (k >= 0)
                k = change_write_events(d, &ch);
        if (k >= 0 && io && io->post)
                k = io->post(d, &ch.next, io->data);
        if (k >= 0)
                k = store_commit(d->store);
        if (k < 0)
                goto fail;

        /* Committed: now what it grants. */
        if (prep.dfd >= 0)
                effects_place_dropin(d, &prep, ch.next.id);
        change_log(&ch);
        effects_after_commit(d, &ch);
        *g = ch.next;
        change_done(&ch);
        return failed_activation ? -EAGAIN : 0;
fail:
        store_rollback(d->store);
        sudoers_discard(&prep);
        change_done(&ch);
        if (new_grant)
                g->id = 0;
        return k;
}

int grants_create(struct jitd *d, struct jit_grant *g, enum fsm_event_type type, const struct actor *a, char *why,
                  size_t why_size)
{
        struct fsm_event ev = { .type = type };

        if (type != FSM_REQUEST && type != FSM_BREAK_GLASS)
                return -EINVAL;
        g->id = 0;
        return step(d, g, &ev, 1, true, a, NULL, why, why_size);
}

int grants_step(struct jitd *d, struct jit_grant *g, const struct fsm_event *ev, const struct actor *a, char *why,
                size_t why_size)
{
        if (ev->type == FSM_REQUEST || ev->type == FSM_BREAK_GLASS || ev->type == FSM_APPROVE)
                return -EINVAL;
        return step(d, g, ev, 1, false, a, NULL, why, why_size);
}

struct approval {
        const struct actor *a;
        const char *note;
        int64_t at;
};

static int add_approval(struct jitd *d, struct jit_grant *g, void *data)
{
        const struct approval *ap = data;

        return store_approval_add(d->store, g->id, ap->a->uid, ap->a->name, true, ap->note, ap->at);
}

int grants_approve(struct jitd *d, struct jit_grant *g, const struct actor *a, const char *note, char *why,
                   size_t why_size)
{
        struct approval ap = { .a = a, .note = note, .at = now_realtime() };
        struct step_io io = { .pre = add_approval, .data = &ap };
        struct fsm_event ev = { .type = FSM_APPROVE, .text = note, .actor = a->name };
        unsigned have = 0;
        int k;

        /* jitd is the only writer: the count read now is the count in the
         * transaction, plus this approval. */
        k = store_approval_count(d->store, g->id, &have);
        if (k < 0)
                return k;
        ev.approvals = have + 1;
        return step(d, g, &ev, 1, false, a, &io, why, why_size);
}

int grants_approvals_have(struct jitd *d, const struct jit_grant *g, unsigned *ret)
{
        int64_t fleet_id;
        unsigned have = 0;
        int k;

        k = store_fleet_id_of(d->store, g->id, &fleet_id);
        if (k < 0 && k != -ENOENT)
                return k;
        if (k == 0) {
                /* Its peer approvals are the fleet's signed ones, which the
                 * mirror verified and counted before it made the copy
                 * (fleet_decide), and recorded as its approvers; the store's
                 * approval rows are local approvals. */
                if (g->approvers[0]) {
                        have = 1;
                        for (const char *p = g->approvers; *p; p++)
                                have += *p == ',';
                }
        } else {
                k = store_approval_count(d->store, g->id, &have);
                if (k < 0)
                        return k;
        }
        *ret = have;
        return 0;
}

int grants_ticket_approved(struct jitd *d, struct jit_grant *g, int64_t win_start, int64_t win_end, char *why,
                           size_t why_size)
{
        struct fsm_event ev = { .type = FSM_TICKET_APPROVED, .win_start = win_start, .win_end = win_end };
        int64_t fleet_end;
        unsigned have = 0;
        int k;

        /* A fleet grant's copy: this host's lookup said yes, and the fleet's
         * end still bounds it, however late that came. */
        k = store_fleet_ends_at(d->store, g->id, &fleet_end);
        if (k < 0 && k != -ENOENT)
                return k;
        if (k == 0 && (!ev.win_end || fleet_end < ev.win_end))
                ev.win_end = fleet_end;
        k = grants_approvals_have(d, g, &have);
        if (k < 0)
                return k;
        ev.approvals = have;
        return step(d, g, &ev, 1, false, &actor_jitd, NULL, why, why_size);
}

/* ---- the fleet -------------------------------------------------------- */

struct fleet_link_io {
        int64_t fleet_id;
        int64_t ends_at;
};

static int link_fleet(struct jitd *d, struct jit_grant *g, void *data)
{
        const struct fleet_link_io *l = data;

        return store_fleet_link(d->store, l->fleet_id, g->id, l->ends_at);
}

int grants_mirror(struct jitd *d, struct jit_grant *g, int64_t fleet_id, const char *approvers, unsigned approvals,
                  int64_t ends_at, const struct actor *a, char *why, size_t why_size)
{
        struct fleet_link_io l = { .fleet_id = fleet_id, .ends_at = ends_at };
        struct step_io io = { .post = link_fleet, .data = &l };
        char note[64];
        struct fsm_event evs[2] = {
                { .type = FSM_REQUEST },
                { .type = FSM_APPROVE, .text = note, .actor = approvers, .approvals = approvals, .win_end = ends_at },
        };

        if (fleet_id <= 0 || !approvers || ends_at <= 0)
                return -EINVAL;
        snprintf(note, sizeof(note), "fleet grant %lld", (long long) fleet_id);
        g->id = 0;
        /* No approval from the fleet: the request alone, which the role's
         * own path approves here (auto: at once, within the fleet's end;
         * ticket: when this host's lookup says yes). */
        if (approvals == 0) {
                evs[0].win_end = ends_at;
                return step(d, g, evs, 1, true, a, &io, why, why_size);
        }
        return step(d, g, evs, 2, true, a, &io, why, why_size);
}

/* ---- extensions ------------------------------------------------------- */

static int put_extension(struct jitd *d, struct jit_grant *g, void *data)
{
        (void) g;
        return store_extension_put(d->store, data);
}

static int delete_extension(struct jitd *d, struct jit_grant *g, void *data)
{
        (void) data;
        return store_extension_delete(d->store, g->id);
}

int grants_extension_request(struct jitd *d, struct jit_grant *g, uint64_t duration, const char *reason,
                             const struct actor *a, char *why, size_t why_size)
{
        struct jit_extension x = { .grant_id = g->id, .duration = duration, .requested_at = now_realtime() };
        struct step_io io = { .pre = put_extension, .data = &x };
        struct fsm_event ev = { .type = FSM_EXTENSION_REQUEST, .text = reason, .duration = duration };

        snprintf(x.reason, sizeof(x.reason), "%s", reason ? reason : "");
        return step(d, g, &ev, 1, false, a, &io, why, why_size);
}

struct ext_approval {
        struct jit_extension x;         /* with this approver added */
        bool apply;
};

static int update_extension(struct jitd *d, struct jit_grant *g, void *data)
{
        struct ext_approval *ea = data;

        (void) g;
        return ea->apply ? 0 : store_extension_put(d->store, &ea->x);
}

static int finish_extension(struct jitd *d, struct jit_grant *g, void *data)
{
        struct ext_approval *ea = data;

        return ea->apply ? store_extension_delete(d->store, g->id) : 0;
}

int grants_extension_approve(struct jitd *d, struct jit_grant *g, const struct actor *a, const char *note,
                             bool ticket_said_yes, bool *ret_applied, char *why, size_t why_size)
{
        const struct role *r = config_find_role(d->config, g->role);
        struct ext_approval ea = {};
        struct step_io io = { .pre = update_extension, .post = finish_extension, .data = &ea };
        struct fsm_event evs[2];
        char **names = NULL;
        size_t have;
        int k;

        if (!r) {
                snprintf(why, why_size, "role %s no longer exists", g->role);
                return -ENOENT;
        }
        k = store_extension_get(d->store, g->id, &ea.x);
        if (k < 0) {
                snprintf(why, why_size, "grant %lld has no extension waiting", (long long) g->id);
                return k;
        }
        if (strv_split(ea.x.approvers, ',', &names) < 0)
                return -ENOMEM;
        have = strv_length(names);
        if (a && !ticket_said_yes) {
                if (strv_contains(names, a->name)) {
                        strv_free(names);
                        snprintf(why, why_size, "you already approved the extension of grant %lld",
                                 (long long) g->id);
                        return -EEXIST;
                }
                size_t len = strlen(ea.x.approvers);

                snprintf(ea.x.approvers + len, sizeof(ea.x.approvers) - len, "%s%s", len ? "," : "", a->name);
                have++;
        }
        strv_free(names);
        /* Peer approvals complete, and the ticket (when the role has one)
         * said yes: applied in this same transaction. */
        ea.apply = (!(r->approval & APPROVAL_PEER) || have >= g->approvals_needed) &&
                   (!(r->approval & APPROVAL_TICKET) || ticket_said_yes);
        evs[0] = (struct fsm_event) { .type = FSM_EXTENSION_APPROVE, .text = note, .approvals = (unsigned) have };
        evs[1] = (struct fsm_event) { .type = FSM_EXTEND, .text = ea.x.reason, .duration = ea.x.duration };
        if (ticket_said_yes && !(r->approval & APPROVAL_PEER)) {
                /* Nobody approved by hand: only the extension itself. */
                if (!ea.apply)
                        return 0;
                k = step(d, g, &evs[1], 1, false, &actor_jitd, &io, why, why_size);
        } else
                k = step(d, g, evs, ea.apply ? 2 : 1, false, a ? a : &actor_jitd, &io, why, why_size);
        if (k >= 0 && ret_applied)
                *ret_applied = ea.apply;
        return k;
}

int grants_extend(struct jitd *d, struct jit_grant *g, uint64_t duration, const char *reason, const struct actor *a,
                  char *why, size_t why_size)
{
        struct fsm_event ev = { .type = FSM_EXTEND, .text = reason, .duration = duration };
        struct step_io io = { .post = delete_extension };

        return step(d, g, &ev, 1, false, a, &io, why, why_size);
}

struct fleet_ext_io {
        int64_t fleet_id, n;
};

static int note_fleet_extension(struct jitd *d, struct jit_grant *next, void *data)
{
        const struct fleet_ext_io *x = data;

        return store_fleet_extension_put(d->store, x->fleet_id, x->n, next->expires_at, now_realtime());
}

int grants_fleet_extend(struct jitd *d, struct jit_grant *g, int64_t fleet_id, int64_t n, uint64_t duration,
                        const char *reason, const struct actor *a, char *why, size_t why_size)
{
        struct fsm_event ev = { .type = FSM_EXTEND, .text = reason, .duration = duration };
        struct fleet_ext_io x = { .fleet_id = fleet_id, .n = n };
        struct step_io io = { .pre = note_fleet_extension, .data = &x };

        return step(d, g, &ev, 1, false, a, &io, why, why_size);
}

/* ---- the clock -------------------------------------------------------- */

size_t grants_expire(struct jitd *d, const int64_t *ids, size_t n)
{
        struct jit_grant *nexts = calloc(n ? n : 1, sizeof(*nexts));
        unsigned *effects = calloc(n ? n : 1, sizeof(*effects));
        struct change *cs = calloc(n ? n : 1, sizeof(*cs));
        int64_t now = now_realtime();
        struct fsm_event ev = { .type = FSM_EXPIRE };
        size_t k = 0;

        if (!nexts || !effects || !cs) {
                free(nexts);
                free(effects);
                free(cs);
                return 0;       /* still active and due: the timer comes back for them */
        }
        for (size_t i = 0; i < n; i++) {
                struct fsm_result res;
                struct jit_grant g;

                /* Revoked, released or extended since it was found due: not ours. */
                if (ending_contains(d->ending, ids[i]) || store_grant_get(d->store, ids[i], &g) < 0 ||
                    grant_fsm_step(&g, config_find_role(d->config, g.role), &ev, now, &res, NULL, 0) < 0)
                        continue;
                if (change_from_fsm(&cs[k], &res, &actor_jitd, now) < 0)
                        continue;
                nexts[k] = res.next;
                effects[k] = res.effects;
                k++;
        }
        /* The clock decided: the privilege goes first, whatever the disk. */
        effects_end_host(d, nexts, effects, k);
        if (k)
                (void) ending_record_many(d, cs, k, after_end_recorded);
        if (k > 16)
                log_msg(LOG_NOTICE, "%zu grants reached their end", k);
        for (size_t i = 0; i < k; i++)
                change_done(&cs[i]);
        free(cs);
        free(effects);
        free(nexts);
        return k;
}

struct restore {
        struct jitd *d;
        const char *dir;
        int n;
};

static void restore_bad(const char *name, int r, void *userdata)
{
        struct restore *x = userdata;

        log_msg(LOG_ERR, "%s/%s: an unrecorded end that cannot be read: %s; left there", x->dir, name,
                strerror(-r));
}

static int restore_one(int64_t id, struct change *c, void *userdata)
{
        struct restore *x = userdata;
        struct jitd *d = x->d;
        struct jit_grant g;
        unsigned effects;
        int r;

        r = store_grant_get(d->store, id, &g);
        if (r == -ENOENT || (r >= 0 && !grant_state_is_open(g.state))) {
                /* Recorded after all, or never there: nothing to redo. */
                ending_forget(d->ending, id);
                return 0;
        }
        if (r < 0)
                return r;
        g.state = c->next.state;
        g.ended_at = c->next.ended_at;
        memcpy(g.end_reason, c->next.end_reason, sizeof(g.end_reason));
        c->next = g;
        /* Done before the stop; done again, as every end is, in case a rule
         * was put back or a session outlived that jitd. */
        effects = FX_DROPIN_REMOVE | FX_SESSIONS_END;
        effects_end_host(d, &g, &effects, 1);
        log_msg(LOG_WARNING, "grant %lld ended (%s) before jitd stopped, but its record was not written then; "
                "writing it now", (long long) id, grant_state_to_string(g.state));
        r = ending_record(d, c, after_end_recorded);
        if (r == 0)
                ending_forget(d->ending, id);
        if (r >= 0)
                x->n++;
        return r < 0 ? r : 0;
}

int grants_restore_ends(struct jitd *d)
{
        const char *dirs[] = { ending_dir(d->ending), ending_dir_disk(d->ending) };
        struct restore x = { .d = d };
        int r = 0;

        /* The run directory first; after a reboot only the copy next to the
         * database is left. An end found in both is redone once: the first
         * drops both copies. */
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(dirs); i++) {
                if (!dirs[i])
                        continue;
                x.dir = dirs[i];
                r = tombstone_foreach(dirs[i], restore_one, restore_bad, &x);
        }
        return r < 0 ? r : x.n;
}
