/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one wall-clock timer: set for the next moment something must happen
 * to a grant (an active one ends, a scheduled one starts, a warn_before
 * notice is due). The grants whose end waits for its record (ending.h) are
 * left out, so a failing database never makes the timer fire again and again
 * for the same grant.
 */
#ifndef JITD_DEADLINE_H
#define JITD_DEADLINE_H

#include <stdint.h>

#include "jitd.h"

struct deadline;

/* on_due runs from the loop when the timer fires; it re-arms the timer
 * (deadline_rearm) when it is done with what was due. */
typedef void (*deadline_fn)(struct jitd *d);
int deadline_new(struct jitd *d, deadline_fn on_due, struct deadline **ret);
void deadline_free(struct deadline *t);

/* Read the next deadline from the store and set the timer for it; off when
 * there is none. A store that cannot be read sets it a second from now, to
 * look again. */
void deadline_rearm(struct jitd *d);
/* Off until the next deadline_rearm (due grants are being worked through). */
void deadline_pause(struct jitd *d);

/* warn_before: grants ending up to this time were warned already. */
int64_t deadline_warned_until(const struct jitd *d);
void deadline_set_warned_until(struct jitd *d, int64_t t);

#endif
