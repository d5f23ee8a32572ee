/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The break-glass hook ([jitd] notify): a program, by absolute path, told
 * about a break-glass grant through its environment (JIT_EVENT, JIT_GRANT,
 * JIT_USER, JIT_UID, JIT_ROLE, JIT_HOST, JIT_REASON, JIT_EXPIRES,
 * JIT_DURATION). It is started with posix_spawn in a session of its own, with
 * an empty signal mask and default signal handling, stdin from /dev/null and
 * no other descriptor of jitd's; jitd never waits for it, and reaps it from
 * the loop when it exits.
 */
#ifndef JITD_NOTIFY_H
#define JITD_NOTIFY_H

#include "grant.h"

struct sd_event;

int notify_break_glass(struct sd_event *e, const char *cmd, const struct jit_grant *g);

#endif
