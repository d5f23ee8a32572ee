/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef JIT_DURATION_H
#define JIT_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Longest duration accepted anywhere: a year. Grants are meant to be short; a
 * longer value is a typo, not a policy. */
#define DURATION_MAX_SEC (366ULL * 24 * 3600)

/* "90s", "15m", "1h", "1h30m", "2d", "1d2h3m4s". Units d, h, m, s, each at most
 * once and in that order; a bare number is refused (ambiguous). The result is
 * 1 s .. DURATION_MAX_SEC.
 * Returns 0, -EINVAL (syntax, zero, negative) or -ERANGE (too long). */
int duration_parse(const char *s, uint64_t *ret_sec);

/* Shortest form of a duration: 5400 -> "1h30m", 0 -> "0s". Always NUL-terminates;
 * a 32-byte buffer always suffices. */
void duration_format(uint64_t sec, char *buf, size_t size);

/* Human explanation of a duration_parse() error, for messages. */
const char *duration_strerror(int r);

#endif
