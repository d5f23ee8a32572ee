/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

static bool in_set(char c, const char *set)
{
        return c != '\0' && strchr(set, c) != NULL;
}

static bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
static bool is_alpha(char c) { return is_lower(c) || (c >= 'A' && c <= 'Z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

bool valid_user_name(const char *s)
{
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n > JIT_USER_MAX)
                return false;
        if (!(is_lower(s[0]) || s[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++) {
                if (is_lower(s[i]) || is_digit(s[i]) || in_set(s[i], "_.-"))
                        continue;
                /* Samba machine accounts end in '$'; nowhere else. */
                if (s[i] == '$' && i == n - 1)
                        continue;
                return false;
        }
        return true;
}

static bool valid_word(const char *s, size_t max, const char *extra, bool allow_empty)
{
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0)
                return allow_empty;
        if (n > max || !is_alnum(s[0]))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_alnum(s[i]) && !in_set(s[i], extra))
                        return false;
        return true;
}

bool valid_role_name(const char *s)
{
        return valid_word(s, JIT_ROLE_MAX, "_.-", false);
}

bool valid_ticket(const char *s)
{
        return valid_word(s, JIT_TICKET_MAX, "_.:/#-", true);
}

bool valid_host_name(const char *s)
{
        return valid_word(s, JIT_HOST_MAX, "_.-", false);
}

bool valid_service_name(const char *s)
{
        return valid_word(s, JIT_SERVICE_MAX, "_.-", false);
}

bool valid_sudoers_command(const char *s)
{
        size_t n;

        if (!s)
                return false;
        if (strcmp(s, "ALL") == 0)
                return true;
        n = strlen(s);
        if (n < 2 || n >= 4096 || s[0] != '/' || s[n - 1] == '/')
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._+-") == n;
}

size_t utf8_decode(const char *s, size_t n, uint32_t *ret_cp)
{
        const unsigned char *p = (const unsigned char *) s;
        unsigned char lo = 0x80, hi = 0xbf;    /* the second byte's range */
        uint32_t cp;
        size_t len;

        if (n == 0)
                return 0;
        if (p[0] < 0x80) {
                *ret_cp = p[0];
                return 1;
        }
        /* RFC 3629 section 4: the lead byte fixes the length and narrows the
         * second byte so that overlong forms, surrogates and code points past
         * U+10FFFF have no encoding at all. */
        if (p[0] >= 0xc2 && p[0] <= 0xdf) {
                len = 2;
                cp = p[0] & 0x1f;
        } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
                len = 3;
                cp = p[0] & 0x0f;
                if (p[0] == 0xe0)
                        lo = 0xa0;
                else if (p[0] == 0xed)
                        hi = 0x9f;
        } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
                len = 4;
                cp = p[0] & 0x07;
                if (p[0] == 0xf0)
                        lo = 0x90;
                else if (p[0] == 0xf4)
                        hi = 0x8f;
        } else
                return 0;
        if (n < len || p[1] < lo || p[1] > hi)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if (i > 1 && (p[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3f);
        }
        *ret_cp = cp;
        return len;
}

bool text_forbidden(uint32_t cp)
{
        return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
               (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

static bool text_allowed(uint32_t cp, unsigned flags)
{
        if (cp == '\n' || cp == '\t')
                return flags & TEXT_LINES;
        return !text_forbidden(cp);
}

bool valid_text_nf(const char *s, size_t n, unsigned flags)
{
        size_t i = 0;

        if (!s)
                return false;
        while (i < n) {
                uint32_t cp;
                size_t k = utf8_decode(s + i, n - i, &cp);

                if (k == 0 || !text_allowed(cp, flags))
                        return false;
                i += k;
        }
        return true;
}

bool valid_text_n(const char *s, size_t n)
{
        return valid_text_nf(s, n, 0);
}

void text_sanitize(char *dst, size_t dst_size, const char *src, unsigned flags)
{
        size_t n = src ? strlen(src) : 0, i = 0, o = 0;

        if (dst_size == 0)
                return;
        while (i < n) {
                uint32_t cp;
                size_t k = utf8_decode(src + i, n - i, &cp);

                if (k == 0 || !text_allowed(cp, flags)) {
                        if (o + 1 >= dst_size)
                                break;
                        dst[o++] = '?';
                        i += k ? k : 1;
                        continue;
                }
                if (o + k >= dst_size)
                        break;          /* a whole character or nothing */
                memcpy(dst + o, src + i, k);
                o += k;
                i += k;
        }
        dst[o] = '\0';
}

bool valid_text(const char *s, size_t max)
{
        size_t n;

        if (!s)
                return false;
        n = strnlen(s, max + 1);
        return n <= max && valid_text_n(s, n);
}

int text_escape(const char *s, unsigned flags, char **ret)
{
        size_t n = s ? strlen(s) : 0, i = 0, o = 0;
        char *out;

        /* Worst case: every byte becomes "\xNN" (a 2-byte forbidden code
         * point becomes a 6-byte "\uNNNN", 3 per byte; 3-byte ones 2). */
        if (n > (SIZE_MAX - 1) / 4)
                return -ENOMEM;
        out = malloc(n * 4 + 1);
        if (!out)
                return -ENOMEM;
        while (i < n) {
                uint32_t cp;
                size_t k = utf8_decode(s + i, n - i, &cp);

                if (k == 0 || (k == 1 && text_forbidden(cp))) {
                        o += (size_t) sprintf(out + o, "\\x%02x", (unsigned char) s[i]);
                        i++;
                        continue;
                }
                if (text_forbidden(cp))
                        o += (size_t) sprintf(out + o, "\\u%04x", (unsigned) cp);
                else if ((flags & TEXT_ESCAPE_QUOTE) && (cp == '"' || cp == '\\')) {
                        out[o++] = '\\';
                        out[o++] = (char) cp;
                } else {
                        memcpy(out + o, s + i, k);
                        o += k;
                }
                i += k;
        }
        out[o] = '\0';
        *ret = out;
        return 0;
}

int64_t now_realtime(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec;
}

int64_t now_monotonic_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int strcpy_checked(char *dst, size_t size, const char *src)
{
        size_t n = strlen(src);

        if (n >= size)
                return -ENAMETOOLONG;
        memcpy(dst, src, n + 1);
        return 0;
}

void strv_free(char **v)
{
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

size_t strv_length(char *const *v)
{
        size_t n = 0;

        if (v)
                while (v[n])
                        n++;
        return n;
}

bool strv_contains(char *const *v, const char *s)
{
        if (!v || !s)
                return false;
        for (; *v; v++)
                if (strcmp(*v, s) == 0)
                        return true;
        return false;
}

int strv_split(const char *s, char sep, char ***ret)
{
        char **v = NULL;
        size_t n = 0;
        const char *p = s;

        v = calloc(1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        while (p && *p) {
                /* strchr() finds the terminator for sep == '\0'. */
                const char *end = sep ? strchr(p, sep) : NULL;
                const char *b = p, *e = end ? end : p + strlen(p);
                char **nv;

                while (b < e && (*b == ' ' || *b == '\t'))
                        b++;
                while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
                        e--;
                if (e > b) {
                        nv = realloc(v, (n + 2) * sizeof(char *));
                        if (!nv)
                                goto oom;
                        v = nv;
                        v[n] = strndup(b, (size_t) (e - b));
                        if (!v[n])
                                goto oom;
                        v[++n] = NULL;
                }
                p = end ? end + 1 : NULL;
        }
        *ret = v;
        return 0;
oom:
        strv_free(v);
        return -ENOMEM;
}

int strv_join(char *const *v, const char *sep, char **ret)
{
        size_t len = 1, seplen = strlen(sep);
        char *s, *p;

        for (size_t i = 0; v && v[i]; i++)
                len += strlen(v[i]) + (i ? seplen : 0);
        s = malloc(len);
        if (!s)
                return -ENOMEM;
        p = s;
        for (size_t i = 0; v && v[i]; i++) {
                size_t n = strlen(v[i]);

                if (i) {
                        memcpy(p, sep, seplen);
                        p += seplen;
                }
                memcpy(p, v[i], n);
                p += n;
        }
        *p = '\0';
        *ret = s;
        return 0;
}

int array_reserve(void **v, size_t *cap, size_t n, size_t size)
{
        size_t ncap;
        void *nv;

        if (n < *cap)
                return 0;
        ncap = *cap ? *cap * 2 : 16;
        if (ncap <= n)
                ncap = n + 1;
        nv = reallocarray(*v, ncap, size);
        if (!nv)
                return -ENOMEM;
        *v = nv;
        *cap = ncap;
        return 0;
}

int mkdir_parent(const char *path, mode_t mode)
{
        struct stat st;
        char *dir, *slash;
        int r = 0;

        if (!path)
                return -EINVAL;
        dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                if (mkdir(dir, mode) < 0 && errno != EEXIST)
                        r = -errno;
                else if (stat(dir, &st) < 0)
                        r = -errno;
                else if (!S_ISDIR(st.st_mode))
                        r = -ENOTDIR;
        }
        free(dir);
        return r;
}

int fail_why(int r, char *why, size_t size, const char *fmt, ...)
{
        va_list ap;

        if (why && size > 0) {
                va_start(ap, fmt);
                vsnprintf(why, size, fmt, ap);
                va_end(ap);
        }
        return r;
}

bool streq_ptr(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
