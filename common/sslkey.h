/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The client certificate of a libpq connection ([fleet] database's sslcert
 * and sslkey), judged before libpq reads them: the key is a credential, held
 * to the rules of password_file (root's, mode 0600, no symbolic link, judged
 * on the descriptor opened with O_NOFOLLOW and fstat'ed), which are stricter
 * than libpq's own (libpq takes a root-owned key of mode 0640, and follows a
 * link). Libc only, and only a local open and fstat: jitd calls it from its
 * loop at each connection attempt.
 *
 * libpq reads the key again by its path afterwards: whoever may replace the
 * file between the two has the directory, and so the key, already.
 */
#ifndef JIT_SSLKEY_H
#define JIT_SSLKEY_H

#include <stddef.h>

/* sslcert and sslkey as the connection string gives them (NULL or "" when it
 * does not). 0 when neither is given, or both are absolute paths and sslkey
 * is a regular file owned by root (the effective uid) with no group or other
 * permission bits; an sslkey holding ':' is an OpenSSL engine's key
 * ("engine:name", as libpq reads it), not a file, and is not looked at.
 * -EINVAL (one without the other, a relative path), -ELOOP (a symbolic
 * link), -EPERM (owner, mode, not a regular file) or open's error, with why
 * (size bytes, always terminated) naming the keyword and the path. */
int sslkey_check(const char *sslcert, const char *sslkey, char *why, size_t size);

#endif
