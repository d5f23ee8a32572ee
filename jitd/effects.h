/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The executor of a grant's effects, and the only caller of the sudoers
 * writer, session teardown, ticket notes and the break-glass hook on behalf
 * of grants. It applies them in the order of the core invariant
 * (doc/CORE.md): a rule is prepared before the commit and placed after it;
 * a rule is removed and sessions are killed before the end is recorded;
 * notes and the hook follow the commit.
 */
#ifndef JITD_EFFECTS_H
#define JITD_EFFECTS_H

#include <stddef.h>

#include "jitd.h"
#include "record.h"
#include "sudoers.h"

/* The rule next needs, written to a temporary file and checked by visudo;
 * nothing sudo reads has changed. why says what failed. */
int effects_prepare_dropin(struct jitd *d, const struct jit_grant *next, struct sudoers_prepared *ret, char *why,
                           size_t why_size);
/* After the commit: the prepared rule goes in place. A failure is logged and
 * repaired soon (the grant is active without its rule: sudo refuses, which
 * is the safe side). */
void effects_place_dropin(struct jitd *d, struct sudoers_prepared *p, int64_t grant_id);

/* Ending effects for n grants, before their end is recorded: every rule
 * removed with one directory flush (for the grants whose effects ask for it),
 * then their sessions moved or killed (those whose effects ask). */
void effects_end_host(struct jitd *d, const struct jit_grant *gs, const unsigned *effects, size_t n);

/* After the commit of c: the ticket note, the break-glass hook, the timer. */
void effects_after_commit(struct jitd *d, const struct change *c);

#endif
