/* SPDX-License-Identifier: BSD-3-Clause */
/* Small helpers shared by jitd, jitctl and pam_jit. libc only: pam_jit links this. */
#ifndef JIT_UTIL_H
#define JIT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#define JIT_USER_MAX      32    /* useradd's limit on Debian */
#define JIT_ROLE_MAX      64
#define JIT_TICKET_MAX    64
#define JIT_HOST_MAX      253
#define JIT_SERVICE_MAX   32
#define JIT_REASON_MAX    512
#define JIT_TTY_MAX       64
#define JIT_LIST_MAX      1024  /* comma-separated name lists on the wire */

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p) { free(*(void **)p); }
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)

/* Hand a pointer over to the caller: returns it and clears the local. */
#define TAKE_PTR(p) ({ __typeof__(p) _p_ = (p); (p) = NULL; _p_; })

/* User names as useradd accepts them: [a-z_][a-z0-9_.-]*[$]? up to 32. Nothing
 * that could mean something in sudoers (%, +, #, ',', ':', '=', '\\', quotes,
 * white space, control characters). */
bool valid_user_name(const char *s);
/* Role names: [A-Za-z0-9][A-Za-z0-9_.-]* up to JIT_ROLE_MAX. */
bool valid_role_name(const char *s);
/* Tickets: [A-Za-z0-9][A-Za-z0-9_.:/#-]* up to JIT_TICKET_MAX (no space, no
 * control character, no shell or sudoers metacharacter). An empty ticket is
 * valid (it means "no ticket"); the role decides whether that is allowed. */
bool valid_ticket(const char *s);
/* A role's command as it goes into a sudoers rule: "ALL", or a plain absolute
 * path of [A-Za-z0-9/._+-] with no trailing '/'. No white space (arguments),
 * no ',' ':' '=' '\\' '#' '!' '(' or quotes (sudoers syntax), no glob, and no
 * trailing '/' (sudoers reads that as every command in the directory). The
 * config checks it, and the drop-in writer checks it again. */
bool valid_sudoers_command(const char *s);
/* Free text (reasons, notes): printable, no control characters, up to max bytes.
 * UTF-8 is passed through. */
bool valid_text(const char *s, size_t max);
/* Host names: [A-Za-z0-9.-_] up to JIT_HOST_MAX. */
bool valid_host_name(const char *s);
/* PAM service names: [A-Za-z0-9_.-] up to JIT_SERVICE_MAX. */
bool valid_service_name(const char *s);

/* Seconds since the epoch, wall clock (grant windows are wall-clock times). */
int64_t now_realtime(void);
/* Milliseconds, monotonic (timeouts). */
int64_t now_monotonic_ms(void);

/* Copy with truncation check: -ENAMETOOLONG when src does not fit. */
int strcpy_checked(char *dst, size_t size, const char *src);

/* Make the directory that holds path (one level, with mode) unless it is
 * there already; -ENOTDIR when something else has its name. 0 for a path
 * without a parent ("x", "/x"). */
int mkdir_parent(const char *path, mode_t mode);

/* Room for element n (0-based) in a growing array of size-byte elements:
 * doubles *cap as needed. 0 or -ENOMEM (the array is left as it was). */
int array_reserve(void **v, size_t *cap, size_t n, size_t size);

/* "a, b ,c" -> NULL-terminated vector {"a","b","c"}; empty items dropped.
 * Returns 0 or -ENOMEM. */
int strv_split(const char *s, char sep, char ***ret);
void strv_free(char **v);
size_t strv_length(char *const *v);
bool strv_contains(char *const *v, const char *s);
/* Join with sep into a fresh string; "" for NULL or empty vector. */
int strv_join(char *const *v, const char *sep, char **ret);

#endif
