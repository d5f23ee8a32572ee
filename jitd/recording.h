/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Session recordings: where they are written, which session made which, their
 * seal in the audit chain, and their end after [jitd] record_retention.
 *
 * Layout under [jitd] record_dir (root's, 0700, vetted like sudoers_dir):
 *   <grant id>/sudo/                sudo's iolog_dir for the grant (the drop-in
 *                                   says so); sudo writes one %{seq} directory
 *                                   per session: 00/00/01, 00/00/02, ...
 *   <grant id>/ssh/<session id>     tlog's file for one ssh session
 * A recording's path in the store and the audit chain is relative to
 * record_dir ("12/sudo/00/00/01").
 *
 * sudo writes its I/O log before the PAM session opens: session-open finds
 * the recording the session began (the grant's seq file names it) and refuses
 * a session of a recorded grant that has none. A recording is sealed (hashed,
 * common/rechash.h, and a "recorded" audit event written) when sudo has
 * closed it (its timing file loses its write bits), when its session closes,
 * or a few seconds after its grant ended (a killed sudo never closes it:
 * the event then says "complete": false). Hashing runs in bounded steps from
 * the loop; the seal is retried with backoff while the database refuses it.
 */
#ifndef JITD_RECORDING_H
#define JITD_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jitd.h"
#include "store.h"
#include "store_record.h"

/* Bytes hashed per turn of the loop. */
#define RECORDING_STEP_BYTES (256 * 1024)
/* After a grant ends, how long its sessions have to be gone before what they
 * left is sealed as it is. */
#define RECORDING_SETTLE_MS 3000

struct recorder;

int recorder_new(struct jitd *d, struct recorder **ret);
void recorder_free(struct recorder *r);

/* record_dir, opened and vetted. */
int recording_open_dir(struct jitd *d, int *ret_fd, char *why, size_t why_size);
/* mkdir name in dfd (root's, 0700) and open it, refusing anything else
 * standing there (-EPERM, -ENOTDIR). */
int recording_make_subdir(int dfd, const char *name, int *ret_fd);
/* record_dir has room (recording_space_check without a grant). */
int recording_space_check_dir(struct jitd *d, char *why, size_t why_size);
/* The recording is still being written (writing), or no longer: only a
 * finished one is sealed. */
void recording_set_writing(struct jitd *d, int64_t recording_id, bool writing);
/* This recording is complete: seal it. */
void recording_seal_soon(struct jitd *d, int64_t recording_id);

/* What grant g records (config.h config_record_mode). */
enum record_mode recording_mode(const struct jitd *d, const struct jit_grant *g);

/* record_dir: created (0700, parents too) when create and missing, then
 * vetted: a directory, no symlink, root's, no access for group or others. */
int recording_dir_check(const char *record_dir, bool create, char *why, size_t why_size);

/* Before g's drop-in is rendered: its sudo log directory, created root's and
 * 0700, into iolog_dir. Fails (why says it) when record_dir is unsafe or
 * the directory cannot be made: the grant then gets no rule. */
int recording_prepare_grant(struct jitd *d, const struct jit_grant *g, char *iolog_dir, size_t size, char *why,
                            size_t why_size);

/* session-open of sudo: the recording sudo began for this session, in the
 * directory of one of the grants gs[0..n) (the session's covering grants).
 * 1 with *ret_id: found and claimed (its row written); 0: none is there;
 * <0: the store failed. */
int recording_claim_sudo(struct jitd *d, const struct jit_grant *const *gs, size_t n, int64_t *ret_id);
/* The claimed recording belongs to session_id (registered). */
void recording_attach_session(struct jitd *d, int64_t recording_id, int64_t session_id);
/* Below this much free space (or these many free inodes) in record_dir a
 * recorded session is refused before sudo starts writing. */
#define RECORDING_MIN_FREE_BYTES (1024 * 1024)
#define RECORDING_MIN_FREE_FILES 64
/* The account phase of a recorded grant's sudo: its directory is root's
 * alone and there is room. -ENOSPC, -EPERM, ... with why. */
int recording_space_check(struct jitd *d, const struct jit_grant *g, char *why, size_t why_size);
/* A refused session of a recorded grant: logged, and audited
 * ("recording-failed") at most once a minute per grant. */
void recording_refused(struct jitd *d, const struct jit_grant *g, const char *service, pid_t pid, const char *why);

/* Seal what session_id recorded (it closed). */
void recording_session_closed(struct jitd *d, int64_t session_id);
/* These grants ended: what their directories hold is sealed once their
 * sessions are gone (RECORDING_SETTLE_MS). */
void recording_grants_ended(struct jitd *d, const int64_t *ids, size_t n);
/* At start: everything found and not sealed yet goes to the sealer. */
void recording_resume(struct jitd *d);

/* Retention: recordings sealed more than record_retention ago are removed,
 * each with a "recording-pruned" event, except those of a break-glass grant
 * whose review is pending. At most limit per call; how many went. */
int recording_prune(struct jitd *d, int64_t now, size_t limit);

/* Seals waiting or in progress (tests, status). */
size_t recording_pending(const struct recorder *r);

#endif
