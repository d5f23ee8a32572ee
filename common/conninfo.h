/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A libpq connection string as jitd.conf may hold one ([fleet] database):
 * checked here, without libpq, so that the config parser stays libc-only.
 *
 * jitd.conf is readable by every user (mode 0644 is normal), so a password in
 * it would be everyone's: the password goes in [fleet] password_file. The
 * check reads the string the way libpq does (key = value pairs with quoting
 * and backslash escapes, or a postgresql:// URI with percent-encoding) and
 * refuses any way of writing a password there: the password keyword (and
 * sslpassword, the passphrase of a client key), a password in the URI's user
 * information, a password query parameter (its name percent-encoded or not),
 * and the same inside a dbname that is itself a connection string. A
 * service=NAME entry of pg_service.conf is not looked into.
 */
#ifndef JIT_CONNINFO_H
#define JIT_CONNINFO_H

#include <stddef.h>

/* Longest connection string accepted: a config value, not a document. */
#define CONNINFO_MAX 4096

/* 0 when s is a well-formed connection string without a password;
 * -EPERM when it carries a password; -EINVAL when it is empty, too long or
 * not one libpq would read. Either way why (size bytes, always terminated)
 * says what is wrong, never quoting the string: it may hold a secret. */
int conninfo_check(const char *s, char *why, size_t size);

#endif
