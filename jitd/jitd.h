/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitd's state: what every part of the daemon reaches through one pointer.
 * The parts keep their own state behind opaque pointers; their functions are
 * in their own headers (doc/CORE.md has the map).
 */
#ifndef JITD_H
#define JITD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "grant.h"

struct sd_event;
struct sd_event_source;

struct jitd {
        char *config_path;
        struct config *config;
        struct store *store;
        struct audit_chain *audit;
        struct teardown *teardown;
        struct nsscache *nss;           /* users for PAM checks, while the files say the same */
        struct sd_event *event;

        int listen_fd;
        bool listen_fd_ours;            /* bound by us (unlink at exit), not socket-activated */
        struct sd_event_source *listen_source;
        struct conn_set *conns;

        struct ending *ending;          /* ends done on the host, waiting for their record */
        struct deadline *deadline;      /* the wall-clock timer */
        struct clock *clock;            /* what is due, chunk by chunk */
        struct sessions *sessions;      /* attaches and kills in flight */
        struct tokens *tokens;          /* account decisions waiting for their session */
        struct ticketflow *tickets;     /* NULL: no ticket system */
        struct ticket_engine *ticket_engine; /* the same ticket system's engine (notes) */
        /* Set by main: a repair (reconciliation) soon, when an effect after a
         * commit failed (a rule that could not be put in place). */
        void (*repair_soon)(struct jitd *d);

        struct parked *parked;          /* requests waiting for a busy database */
        struct fleet_mirror *fleet;     /* NULL: no [fleet] */
        struct recorder *recorder;      /* session recordings: seals, retention */

        struct sd_event_source *reconcile_source;
        struct sd_event_source *metrics_source;
};

/* Who did something, for the audit trail. */
struct actor {
        uid_t uid;
        const char *name;
};
extern const struct actor actor_jitd;

#endif
