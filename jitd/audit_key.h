/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The audit key file ([jitd] audit_key): the secret that makes the audit chain
 * an HMAC chain, so that someone who can write the database but cannot read
 * this file cannot recompute the chain after an edit.
 *
 * The file is trusted like the config, and more: a regular file of its own,
 * root's, readable by nobody else (mode 0600 or tighter), in a directory only
 * root can write, and not in the database's directory (whoever gets a copy of
 * that directory, a backup or a snapshot, must not get the key with it).
 *
 * One key per line, at least 32 characters (`openssl rand -hex 32` makes
 * one); blank lines and lines starting with '#' are skipped. The first key
 * chains new events; the others are retired keys, kept so that the events
 * they chained can still be verified (rotation: put the new key first).
 */
#ifndef JITD_AUDIT_KEY_H
#define JITD_AUDIT_KEY_H

#include <stddef.h>

#define AUDIT_KEY_MIN   32
#define AUDIT_KEY_MAX   256
#define AUDIT_KEYS_MAX  16

struct audit_keyring {
        size_t n;
        struct {
                unsigned char bytes[AUDIT_KEY_MAX];
                size_t len;
        } key[AUDIT_KEYS_MAX];
};

/* Vets and reads path; database is the database's path (its directory is
 * refused). -EPERM, -EINVAL, -ENOENT... with why naming the file. *ret is
 * set only on success; wipe it with audit_keys_wipe. */
int audit_keys_load(const char *path, const char *database, struct audit_keyring *ret, char *why, size_t why_size);
void audit_keys_wipe(struct audit_keyring *k);

#endif
