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

/* Equal strings, or both NULL. */
bool streq_ptr(const char *a, const char *b);

/* Writes the formatted reason into why (when why is not NULL and size > 0)
 * and returns r: "return fail_why(-EPERM, why, size, "...", ...)". */
int fail_why(int r, char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

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
/* One UTF-8 sequence at s, of at most n bytes: its length (1 to 4) with the
 * code point in *ret_cp, or 0 when the bytes there are not UTF-8 (a stray
 * continuation byte, a cut sequence, an overlong form, a surrogate, anything
 * above U+10FFFF). RFC 3629's table, nothing more lenient. */
size_t utf8_decode(const char *s, size_t n, uint32_t *ret_cp);
/* Code points no free text may carry, because they change what a terminal or
 * a log viewer shows instead of being shown: C0 controls (NUL included), DEL,
 * C1 controls (U+0080..U+009F), the bidirectional marks, embeddings,
 * overrides and isolates (U+061C, U+200E, U+200F, U+202A..U+202E,
 * U+2066..U+2069), and the line and paragraph separators U+2028, U+2029 (a
 * new line to some viewers). */
bool text_forbidden(uint32_t cp);
/* Free text a person gives (reasons, notes, messages): n bytes of valid UTF-8
 * without a forbidden code point (so no NUL either). Everything else passes:
 * any script, emoji, quotes, shell metacharacters. */
bool valid_text_n(const char *s, size_t n);
/* The same for a NUL-terminated string of at most max bytes. */
bool valid_text(const char *s, size_t max);

enum {
        TEXT_LINES = 1 << 0,            /* also '\n' and '\t': a note of several lines */
};
/* valid_text_n, with newline and tab allowed when flags has TEXT_LINES. */
bool valid_text_nf(const char *s, size_t n, unsigned flags);
/* src copied into dst (dst_size bytes, always NUL-terminated) as text that
 * can go anywhere: what valid_text_nf() refuses becomes '?', and a cut never
 * leaves half a character. NULL is "". */
void text_sanitize(char *dst, size_t dst_size, const char *src, unsigned flags);

enum {
        TEXT_ESCAPE_QUOTE = 1 << 0,     /* also '"' and '\\' as \" and \\ (a key="value" field) */
};
/* s made safe to show: each byte that is not part of valid UTF-8, and each
 * C0 control and DEL, as \xNN; every other forbidden code point as \uNNNN;
 * the rest as it is. A fresh string in *ret; 0 or -ENOMEM. NULL is "". */
int text_escape(const char *s, unsigned flags, char **ret);
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
