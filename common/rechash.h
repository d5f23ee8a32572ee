/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The seal of a session recording: one SHA-256 over its files in a fixed
 * order, computed so that anyone can check it with coreutils. A recording is
 * a directory of plain files (sudo's I/O log of one session) or one plain
 * file (a tlog recording). For each file, in byte order of its name, one line
 * as sha256sum(1) prints it ("<hex digest>  <name>\n"); the seal is the
 * SHA-256 of those lines:
 *
 *   cd DIR && ls -A | LC_ALL=C sort | xargs sha256sum | sha256sum
 *
 * The size is the sum of the files' sizes. Anything in the directory that is
 * not a plain file (a subdirectory, a symlink, a FIFO) fails the hash: a
 * recording holds nothing else.
 *
 * jitd hashes in bounded steps (rechash_step) from its event loop, so that a
 * large recording never holds the loop; jitctl and the tests hash at once.
 * Nothing here logs.
 */
#ifndef JIT_RECHASH_H
#define JIT_RECHASH_H

#include <stddef.h>
#include <stdint.h>

#define RECHASH_HEX_LEN 64
/* More files than sudo ever writes for one session (it writes eight). */
#define RECHASH_FILES_MAX 64

struct rechash;

/* Start hashing path (relative to dirfd, or AT_FDCWD), which is opened
 * without following a symlink. -ENOENT: it is gone; -EBADMSG: it holds
 * something that is not a plain file, or more than RECHASH_FILES_MAX. */
int rechash_open(int dirfd, const char *path, struct rechash **ret);
/* Hash at most budget more bytes: 1 when there is more to do, 0 when done,
 * <0 on a read error. */
int rechash_step(struct rechash *h, size_t budget);
/* After rechash_step() returned 0: the seal (RECHASH_HEX_LEN hex digits and a
 * NUL) and the total size. */
int rechash_result(const struct rechash *h, char hex[RECHASH_HEX_LEN + 1], uint64_t *ret_size);
void rechash_free(struct rechash *h);

/* All at once. */
int rechash_path(int dirfd, const char *path, char hex[RECHASH_HEX_LEN + 1], uint64_t *ret_size);

#endif
