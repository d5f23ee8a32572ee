/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Why a fleet grant is not enforced on this host: one "fleet-refused" audit
 * event per grant and reason (the store remembers which were said), and a
 * log line. The mirror says it when this host's policy refuses a grant
 * (jitd/fleet_mirror.c); the ticket flow says it when this host's own lookup
 * of a ticket-approved fleet grant's ticket does not approve it, or fails
 * (jitd/ticketflow.c).
 */
#ifndef JITD_FLEET_REFUSED_H
#define JITD_FLEET_REFUSED_H

#include <stdint.h>

#include "jitd.h"

/* 0 when noted now or said before; a store error otherwise (nothing noted:
 * the caller may say it again later). */
int fleet_refused(struct jitd *d, int64_t fleet_id, const char *user, const char *role, const char *why);

#endif
