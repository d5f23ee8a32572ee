/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Everything jitd trusts is vetted before it is used: its config, the
 * directories of its database and socket, the database's companion files.
 * Trusted means: what it claims to be (a directory, a regular file; never a
 * symlink), owned by root (jitd's euid), and writable by nobody else. A
 * directory a user can write lets that user plant the database's -wal file
 * (which SQLite replays at open), or their own server on the socket path.
 */
#ifndef JITD_VET_H
#define JITD_VET_H

#include <stddef.h>

/* -ENOENT, -ENOTDIR (a symlink too), -EPERM with why. */
int vet_dir(const char *path, char *why, size_t why_size);
/* The directory that holds path. */
int vet_parent_dir(const char *path, char *why, size_t why_size);
/* The database's directory, the database file and its -wal, -shm and
 * -journal files where they exist: regular files, one link, root's, not
 * writable by group or others. */
int vet_database(const char *path, char *why, size_t why_size);

#endif
