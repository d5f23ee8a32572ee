/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Users as NSS says they are now, without asking NSS at every PAM check when
 * the answer cannot have changed.
 *
 * Every decision checks eligibility against NSS at that moment (a user
 * removed from a group loses it at the next check). Asking costs a dozen
 * system calls per check (getpwnam and one getgrnam per group the config
 * names, each opening and reading the file again). Where the answer comes
 * from files alone, it can only change when a file changes, so a principal
 * is kept while the files are unchanged:
 *
 *   - /etc/nsswitch.conf names "files" first for passwd and group, with no
 *     [STATUS=action] on those lines (so files has the last word on what it
 *     holds);
 *   - the user's line is in /etc/passwd, and every group the config names is
 *     in /etc/group or, when group lists files alone, nowhere;
 *   - /etc/nsswitch.conf, /etc/passwd and /etc/group are what they were when
 *     the principal was looked up: same device, inode, size, change and
 *     modification times (useradd, gpasswd and editors write a new file or
 *     at least a new ctime).
 *
 * Three stat calls decide that at each check. Anything else (LDAP or SSSD
 * first, a user that files does not hold, a failed lookup, an unknown user)
 * goes to NSS every time, and errors are never kept. A reload empties the
 * cache (the groups the config names may have changed).
 */
#ifndef JITD_NSSCACHE_H
#define JITD_NSSCACHE_H

#include <stdint.h>

#include "config.h"
#include "policy.h"

struct nsscache;

/* The files it watches; NULL for the real ones (tests give their own). */
struct nsscache_files {
        const char *nsswitch, *passwd, *group;
};

int nsscache_new(const struct nsscache_files *files, struct nsscache **ret);
void nsscache_free(struct nsscache *c);
/* Forget everything (a reload). */
void nsscache_flush(struct nsscache *c);

/* principal_from_name(cfg, name), from the cache when it may be: *ret is a
 * fresh principal either way (principal_free it). Same returns. */
int nsscache_principal(struct nsscache *c, const struct config *cfg, const char *name, struct principal **ret);

/* Hits and misses so far (tests, metrics). */
void nsscache_counts(const struct nsscache *c, uint64_t *ret_hits, uint64_t *ret_misses);

#endif
