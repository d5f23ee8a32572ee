/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitd.conf as a trusted file (checked and parsed on the same descriptor, as
 * doas does), and reloading it while running (SIGHUP or `jitctl reload`): a
 * broken file is refused whole and the old configuration stays in force;
 * after a good one, grants of users who are no longer eligible for their role
 * end, and drop-ins follow the roles' new rules.
 */
#ifndef JITD_RELOAD_H
#define JITD_RELOAD_H

#include <stddef.h>

#include "config.h"
#include "jitd.h"

/* config_load() of a file that must be a regular file, root-owned and not
 * group/world writable, all decided on the descriptor that is then parsed;
 * every problem in e. A [fleet] section is one of them: this jitd does not
 * implement it yet. */
int config_load_trusted(const char *path, struct config **ret, struct config_errors *e);
/* Re-read the config: on any error the old one stays and why lists the
 * errors; on success why says what changed. */
int jitd_reload(struct jitd *d, char *why, size_t size);

#endif
