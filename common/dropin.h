/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The names of jitd's sudoers drop-ins: "jit-<grant id>", the id in canonical
 * decimal (no sign, no leading zero), so that one id names exactly one file.
 * Shared by jitd (writing, listing, reconciling) and jitctl doctor (finding
 * stray rules).
 */
#ifndef JIT_DROPIN_H
#define JIT_DROPIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DROPIN_PREFIX "jit-"
/* "jit-" and up to 19 digits, with the NUL. */
#define DROPIN_NAME_MAX 24

/* "jit-<id>" into buf; -EINVAL for id <= 0, -ENAMETOOLONG when buf is short. */
int dropin_name(int64_t id, char *buf, size_t size);
/* The grant id of a drop-in name; false for any other name (temporary files,
 * "jit-01", "jit-1.bak", other programs' drop-ins). */
bool dropin_parse_name(const char *name, int64_t *ret_id);

#endif
