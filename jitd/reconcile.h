/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Making the host match the record, at start and every two minutes: drop-ins
 * named jit-* without an active or scheduled grant are removed, grants that
 * should have a rule and lack it (or have an altered one) get it back,
 * sessions of ended grants are killed, closed sessions are noticed, and
 * pending grants whose approvals are complete are activated again.
 *
 * A grant that cannot be read is left alone: "could not read" is not "no
 * such grant", and a transient read error must never take away an active
 * grant's rule or sessions.
 */
#ifndef JITD_RECONCILE_H
#define JITD_RECONCILE_H

#include "jitd.h"

void reconcile(struct jitd *d);

#endif
