/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sudoers drop-in of one grant: <dir>/jit-<grant id>, mode 0440 root:root,
 * one comment line and one rule that carries its own NOTBEFORE/NOTAFTER so
 * that sudo stops honouring it on time even when jitd is down.
 *
 * Everything returns 0 or a negative errno and nothing here logs. Strings
 * handed back are malloc'd; release them with free().
 *
 * sudoers_install() forks visudo and waits for that child by pid, so the
 * caller must not set SIGCHLD to SIG_IGN nor reap with waitpid(-1) elsewhere.
 */
#ifndef JITD_SUDOERS_H
#define JITD_SUDOERS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "grant.h"

/* Largest drop-in we write or read back. */
#define SUDOERS_FILE_MAX (64 * 1024)

/* The drop-in text for g under role r (r->name must equal g->role). Every
 * input is re-validated so that no byte can change the sudoers grammar:
 * -EINVAL for a bad user, runas, command, role, ticket, id, or a window that
 * is empty or outside 1970..9999. */
int sudoers_render(const struct jit_grant *g, const struct role *r, char **ret_text);

/* The same, recorded as mode says (RECORD_NONE: as sudoers_render()): the
 * rule carries LOG_OUTPUT: (and LOG_INPUT: for RECORD_ALL, NOLOG_INPUT:
 * otherwise), and a "Defaults:USER" line sends sudo's I/O log of that user to
 * iolog_dir, one %{seq} directory per session, with ignore_iolog_errors off
 * so that sudo refuses to run what it cannot record. iolog_dir must be an
 * absolute path of letters, digits and / . _ - (no sudo escape, nothing the
 * sudoers grammar would read). */
int sudoers_render_recorded(const struct jit_grant *g, const struct role *r, enum record_mode mode,
                            const char *iolog_dir, char **ret_text);

/* dir must be a directory (not a symlink to one), owned by root, not group or
 * world writable: -ENOENT, -ENOTDIR (symlinks included), -EPERM. */
int sudoers_dir_check(const char *dir);

/* Atomically make <dir>/jit-<grant_id> hold text: a temporary file that sudo
 * ignores, checked with `visudo -cf` (visudo must be an absolute path), then
 * renamed over whatever stood there (a planted symlink is replaced, never
 * followed). -EBADMSG: visudo rejected the text. -ETIMEDOUT: visudo hung.
 * -ENOENT: dir or visudo missing. Write errors come through as they are
 * (-ENOSPC). On failure nothing new is left in dir. */
int sudoers_install(const char *dir, int64_t grant_id, const char *text, const char *visudo);

/* The same in two steps, so that a rule goes out only after the commit that
 * records its grant: prepare writes the temporary file and has visudo check
 * it (nothing sudo reads has changed yet); place renames it over
 * <dir>/jit-<grant_id> and flushes the directory; discard removes it
 * instead. Each prepared file is placed or discarded exactly once. */
struct sudoers_prepared {
        int dfd;                        /* -1: nothing prepared */
        char tmp[80];
        char name[32];
};
void sudoers_prepared_init(struct sudoers_prepared *p);
int sudoers_prepare(const char *dir, int64_t grant_id, const char *text, const char *visudo,
                    struct sudoers_prepared *ret);
int sudoers_place(struct sudoers_prepared *p);
void sudoers_discard(struct sudoers_prepared *p);

/* Remove <dir>/jit-<grant_id>. 0 when it (or dir) is already gone. The
 * directory is not vetted: removing a rule never grants anything. */
int sudoers_remove(const char *dir, int64_t grant_id);
/* The same for n grants (ids > 0) with one flush of the directory. A removal
 * that failed leaves its negative errno in ret_errs[i] (0 otherwise, NULL:
 * not wanted); the return value is that of opening and flushing dir. */
int sudoers_remove_many(const char *dir, const int64_t *ids, size_t n, int *ret_errs);

/* Read <dir>/jit-<grant_id> back for reconciliation. -ENOENT when missing;
 * -ELOOP for a symlink; -EPERM when it is not a regular file, 0440 root:root;
 * -EFBIG over SUDOERS_FILE_MAX; -EBADMSG when it holds a NUL byte. Any error
 * but -ENOENT means "not what jitd wrote": reinstall it. dir is vetted as by
 * sudoers_dir_check(). */
int sudoers_read(const char *dir, int64_t grant_id, char **ret_text);

/* Ids of every entry named jit-<id> in dir (canonical decimal, id > 0),
 * ascending; other names are ignored. *ret_ids is NULL when there are none.
 * Like sudoers_remove(), the directory is not vetted, but a missing one is
 * -ENOENT here. */
int sudoers_list(const char *dir, int64_t **ret_ids, size_t *ret_n);

#endif
