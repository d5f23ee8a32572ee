/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the wall clock decides: scheduled grants start, active grants end,
 * warn_before notices go out. Grants that end together are ended chunk by
 * chunk (CLOCK_CHUNK at a time: their rules with one flush, their sessions'
 * kills all sent, one transaction for their records), and requests are served
 * between chunks, so ten thousand grants ending in the same second do not
 * stop PAM for seconds.
 */
#ifndef JITD_CLOCK_H
#define JITD_CLOCK_H

#include <stdbool.h>

#include "jitd.h"

#define CLOCK_CHUNK 256

struct clock;

int clock_new(struct jitd *d, struct clock **ret);
void clock_free(struct clock *c);
/* The deadline timer fired (deadline.h calls it). */
void clock_on_due(struct jitd *d);
/* Grants are being worked through. */
bool clock_busy(const struct jitd *d);
/* Finish everything that is due now (start-up, shutdown). */
void clock_run_now(struct jitd *d);

#endif
