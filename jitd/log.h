/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitd's log: the journal when stderr is the journal (structured JIT_* fields
 * for audit events), otherwise stderr, plus syslog (authpriv) for audit events
 * on a host without a journal.
 */
#ifndef JITD_LOG_H
#define JITD_LOG_H

#include "grant.h"
#include "store.h"

/* Once at start-up, before the loop. */
void log_setup(void);
void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One committed audit event with its seq and hash, and the grant's user,
 * role and ticket when g is given. */
void log_audit(int priority, const struct audit_event *e, const struct jit_grant *g);

#endif
