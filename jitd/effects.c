/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "deadline.h"
#include "effects.h"
#include "gating.h"
#include "log.h"
#include "notify.h"
#include "recording.h"
#include "sessions.h"
#include "ticket.h"

int effects_prepare_dropin(struct jitd *d, const struct jit_grant *next, struct sudoers_prepared *ret, char *why,
                           size_t why_size)
{
        const struct role *r = config_find_role(d->config, next->role);
        _cleanup_free_ char *text = NULL;
        int k;

        if (!r) {
                snprintf(why, why_size, "role %s no longer exists", next->role);
                return -ENOENT;
        }
        char iolog_dir[512];
        enum record_mode mode = config_record_mode(d->config, r, next->break_glass);

        if (mode != RECORD_NONE) {
                k = recording_prepare_grant(d, next, iolog_dir, sizeof(iolog_dir), why, why_size);
                if (k < 0)
                        return k;
        }
        k = sudoers_render_recorded(next, r, mode, mode != RECORD_NONE ? iolog_dir : NULL, &text);
        if (k < 0) {
                snprintf(why, why_size, "cannot render the sudoers rule: %s", strerror(-k));
                return k;
        }
        k = sudoers_prepare(d->config->sudoers_dir, next->id, text, d->config->visudo, ret);
        if (k == -EBADMSG)
                snprintf(why, why_size, "visudo rejected the sudoers drop-in");
        else if (k == -EPERM)
                snprintf(why, why_size, "%s is not root-owned or is writable by group or others",
                         d->config->sudoers_dir);
        else if (k < 0)
                snprintf(why, why_size, "cannot write the sudoers drop-in in %s: %s", d->config->sudoers_dir,
                         strerror(-k));
        return k;
}

void effects_place_dropin(struct jitd *d, struct sudoers_prepared *p, int64_t grant_id)
{
        int k = sudoers_place(p);

        if (k >= 0)
                return;
        log_msg(LOG_ERR, "grant %lld: its sudoers rule could not be put in place: %s; repairing", (long long) grant_id,
                strerror(-k));
        if (d->repair_soon)
                d->repair_soon(d);
}

void effects_end_host(struct jitd *d, const struct jit_grant *gs, const unsigned *effects, size_t n)
{
        _cleanup_free_ int64_t *ids = calloc(n ? n : 1, sizeof(*ids));
        _cleanup_free_ int *errs = calloc(n ? n : 1, sizeof(*errs));
        _cleanup_free_ struct jit_grant *ending = calloc(n ? n : 1, sizeof(*ending));
        _cleanup_free_ bool *left = calloc(n ? n : 1, sizeof(*left));
        _cleanup_free_ size_t *slot = calloc(n ? n : 1, sizeof(*slot));
        size_t n_ids = 0, n_ending = 0;
        int r;

        if (!ids || !errs || !ending || !left || !slot) {
                /* Without memory the rules go one by one; sessions follow
                 * through the repair. */
                for (size_t i = 0; i < n; i++)
                        if (effects[i] & FX_DROPIN_REMOVE)
                                (void) sudoers_remove(d->config->sudoers_dir, gs[i].id);
                if (d->repair_soon)
                        d->repair_soon(d);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                slot[i] = SIZE_MAX;
                if (effects[i] & FX_DROPIN_REMOVE)
                        ids[n_ids++] = gs[i].id;
                if (effects[i] & FX_SESSIONS_END) {
                        slot[i] = n_ending;
                        ending[n_ending++] = gs[i];
                }
        }
        /* The rules first: sudo stops at once, whatever the sessions do. */
        if (n_ids) {
                r = sudoers_remove_many(d->config->sudoers_dir, ids, n_ids, errs);
                for (size_t i = 0, k_id = 0; i < n; i++) {
                        int k;

                        if (!(effects[i] & FX_DROPIN_REMOVE))
                                continue;
                        k = r < 0 ? r : errs[k_id++];
                        if (k >= 0)
                                continue;
                        log_msg(LOG_ERR, "grant %lld: cannot remove %s/jit-%lld: %s", (long long) gs[i].id,
                                d->config->sudoers_dir, (long long) gs[i].id, strerror(-k));
                        if (slot[i] != SIZE_MAX)
                                left[slot[i]] = true;
                }
                if (r < 0 && d->repair_soon)
                        d->repair_soon(d);
        }
        if (n_ending)
                sessions_end_grants(d, ending, left, n_ending);
        /* What the ended grants recorded is sealed once their sessions are
         * gone. */
        for (size_t i = 0; i < n; i++)
                if (effects[i] & (FX_SESSIONS_END | FX_DROPIN_REMOVE))
                        recording_grants_ended(d, &gs[i].id, 1);
}

/* A note on the grant's ticket (comment = yes) when its state changes. */
static void ticket_note(struct jitd *d, const struct jit_grant *g)
{
        const struct role *role = config_find_role(d->config, g->role);
        char text[1536], from[32] = "-", until[32] = "-";
        const char *what;
        time_t t;
        struct tm tm;
        int r;

        if (!d->ticket_engine || !d->config->ticket.comment || !g->ticket[0] || !role ||
            !(role->approval & APPROVAL_TICKET))
                return;
        switch (g->state) {
        case GRANT_ACTIVE: what = "is active"; break;
        case GRANT_SCHEDULED: what = "is scheduled"; break;
        case GRANT_PENDING: return;
        default: what = grant_state_to_string(g->state); break;
        }
        t = (time_t) g->starts_at;
        if (g->starts_at && gmtime_r(&t, &tm))
                strftime(from, sizeof(from), "%Y-%m-%d %H:%M UTC", &tm);
        t = (time_t) (g->ended_at ? g->ended_at : g->expires_at);
        if (t && gmtime_r(&t, &tm))
                strftime(until, sizeof(until), "%Y-%m-%d %H:%M UTC", &tm);
        snprintf(text, sizeof(text), "jit: grant %lld for %s on %s (role %s) %s; from %s until %s%s%s",
                 (long long) g->id, g->user, g->host, g->role, what, from, until, g->end_reason[0] ? "; " : "",
                 g->end_reason);
        r = ticket_comment(d->ticket_engine, g->ticket, g->user, text);
        /* Notes go only to tickets that name the grant's user. */
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

void effects_after_commit(struct jitd *d, const struct change *c)
{
        if (c->effects & FX_TICKET_NOTE)
                ticket_note(d, &c->next);
        if ((c->effects & FX_NOTIFY) && d->config->notify &&
            notify_break_glass(d->event, d->config->notify, &c->next) < 0)
                log_msg(LOG_ERR, "break-glass grant %lld: cannot run notify %s", (long long) c->next.id,
                        d->config->notify);
        if (c->effects & FX_DEADLINE)
                deadline_rearm(d);
}
