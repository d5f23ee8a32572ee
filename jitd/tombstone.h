/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ends that were done on the host but not yet recorded, kept outside the
 * database. When a grant is revoked or released while the database cannot be
 * written (a full disk, a lock held by someone else), its rule is removed and
 * its sessions killed at once, and the record waits (ending.c). If jitd stops
 * before the record is written, the database still says the grant is active:
 * without a copy elsewhere the next start would let the user in again and put
 * the rule back. (An expiry needs none: the clock ends it again.)
 *
 * The copy is one small file per grant, "<dir>/<grant id>", holding the
 * change (its new state, end time and reason, and its audit events) as JSON,
 * in the directory of jitd's socket (/run/jitd under systemd: a tmpfs, which
 * a full database disk does not fill, and which outlives a restart of jitd
 * but not a reboot), and a second copy beside the database, which outlives a
 * reboot when it could be written. They are written before anything is
 * reported and removed once the record is committed. The next start writes what it finds before
 * serving anyone.
 */
#ifndef JITD_TOMBSTONE_H
#define JITD_TOMBSTONE_H

#include <stdint.h>

#include "record.h"

/* "<directory of beside>/ended", made (0700) and vetted (root's, writable by
 * nobody else). jitd keeps one beside its socket (a tmpfs under systemd:
 * writable when the database's disk is full) and one beside its database
 * (survives a reboot). *ret is malloc'ed; why says what is wrong. */
int tombstone_dir(const char *beside, char **ret, char *why, size_t why_size);

/* Keep c (a grant row change) under its grant id, replacing an older one. */
int tombstone_put(const char *dir, const struct change *c);
/* Its record is written: forget it. No such file is fine. */
int tombstone_drop(const char *dir, int64_t grant_id);

/* Every kept change, in grant id order: cb gets the grant id and the change
 * (events and the fields an end sets: state, ended_at, end_reason; the rest of
 * c->next is zero; c->effects as they were). A file that cannot be read is reported through bad (and
 * left in place) and the walk goes on. */
int tombstone_foreach(const char *dir, int (*cb)(int64_t id, struct change *c, void *userdata),
                      void (*bad)(const char *name, int r, void *userdata), void *userdata);

#endif
