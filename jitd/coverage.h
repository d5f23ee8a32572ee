/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which grants cover a session, pure decisions over grants and roles (no
 * store, no NSS: callers pass what they looked up). One place for the PAM
 * check, session registration and the end of a grant:
 *
 *   - a grant is live for a service when it is active, inside its window,
 *     its role still exists, gates the service (common/gating.c) and applies
 *     to this host;
 *   - it covers a session when, for sudo, its role may also run commands as
 *     the session's target user;
 *   - a session belongs to the covering grant that ends last among those
 *     whose rule allows everything the others allow ("maximal"); when none
 *     is maximal (two narrow rules that differ), to the one that ends first,
 *     so that it never outlives a rule that may be the one that let it in;
 *   - when its grant ends early it moves to another covering grant that
 *     allows at least as much, the one that ends last; otherwise it dies.
 */
#ifndef JITD_COVERAGE_H
#define JITD_COVERAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "grant.h"

/* Active, started, not past its end, role present, gates service, applies to host. */
bool coverage_live(const struct jit_grant *g, const struct role *r, const char *service, const char *host,
                   int64_t now);
/* May the role's commands run as target? "" (not sudo) always may. */
bool coverage_runas(const struct role *r, const char *target);
/* Does role a allow everything role b allows (commands and runas)? */
bool coverage_allows_all_of(const struct role *a, const struct role *b);

struct coverage_candidate {
        const struct jit_grant *g;
        const struct role *r;
};
/* The owner of a new session among covering candidates; -1 when n is 0. */
int coverage_pick_owner(const struct coverage_candidate *v, size_t n);
/* Where a session of a grant of role `from` can move: the candidate that
 * allows all of from and ends last; -1 when none. */
int coverage_pick_move(const struct coverage_candidate *v, size_t n, const struct role *from);

#endif
