/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A fleet host's database password: made here from the kernel's random
 * source, and written once, to a file that did not exist, readable by its
 * owner alone. No libpq: these are plain files and bytes.
 */
#ifndef JITCTL_FLEET_SECRET_H
#define JITCTL_FLEET_SECRET_H

#include <stddef.h>

/* 32 random bytes (getrandom(2)) as 64 lower-case hex digits. */
#define FLEET_SECRET_BYTES 32
#define FLEET_SECRET_LEN   (2 * FLEET_SECRET_BYTES)

/* A fresh password into buf (at least FLEET_SECRET_LEN + 1 bytes). 0 or a
 * negative errno; buf is written only on success. */
int fleet_secret_new(char *buf, size_t size);

/* Create path for a password: O_CREAT | O_EXCL | O_NOFOLLOW, mode 0600
 * whatever the umask. -EEXIST when there is anything by that name (a file, a
 * link, even a dangling one), -EINVAL for a relative path. The descriptor is
 * the caller's. */
int fleet_secret_create(const char *path, int *ret_fd);

/* secret and a newline into fd, synced to disk. 0 or a negative errno. */
int fleet_secret_write(int fd, const char *secret);

/* Undo fleet_secret_create() after a failure: unlink path if it still names
 * the file fd is open on (never someone else's file put there meanwhile),
 * and close fd. */
void fleet_secret_discard(const char *path, int fd);

#endif
