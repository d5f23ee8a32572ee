/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
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

bool valid_text(const char *s, size_t max)
{
        size_t n = 0;

        if (!s)
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++, n++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return n <= max;
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
