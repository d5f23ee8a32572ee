/* SPDX-License-Identifier: BSD-3-Clause */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "standing.h"
#include "util.h"

struct scan {
        struct standing *st;
        size_t cap_rules, cap_errors;
        char host[HOST_NAME_MAX + 1];   /* short host name, for %h */
        /* The files being read, outermost first: a file that includes
         * itself, directly or not, is reported once instead of having its
         * rules counted over and over. */
        struct { dev_t dev; ino_t ino; } chain[STANDING_DEPTH_MAX + 1];
        unsigned depth;
        /* Every file read in this scan: each is read once, however often it
         * is included (a rule is standing privilege once), so that a fan of
         * includes cannot make the scan read one file 100^4 times. */
        struct { dev_t dev; ino_t ino; } *seen;
        size_t n_seen, cap_seen;
};

enum line_kind { LINE_OTHER, LINE_RULE, LINE_INCLUDE, LINE_INCLUDEDIR };

static int scan_file(struct scan *sc, const char *path);

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static const char *skip_space(const char *p)
{
        while (is_space(*p))
                p++;
        return p;
}

/* s starts with the word w followed by white space. */
static bool word_is(const char *s, const char *w)
{
        size_t n = strlen(w);

        return strncmp(s, w, n) == 0 && is_space(s[n]);
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
        size_t ncap;
        void *nv;

        if (n < *cap)
                return 0;
        ncap = *cap ? *cap * 2 : 16;
        nv = reallocarray(*v, ncap, size);
        if (!nv)
                return -ENOMEM;
        *v = nv;
        *cap = ncap;
        return 0;
}

__attribute__((format(printf, 2, 3)))
static int add_error(struct scan *sc, const char *fmt, ...)
{
        struct standing *st = sc->st;
        va_list ap;
        char *s;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        if (grow((void **) &st->errors, &sc->cap_errors, st->n_errors, sizeof(*st->errors)) < 0) {
                free(s);
                return -ENOMEM;
        }
        st->errors[st->n_errors++] = s;
        return 0;
}

/* Length of the UTF-8 sequence at p (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *p)
{
        size_t n;

        if (p[0] < 0x80)
                return 1;
        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                n = 2;
        else if (p[0] >= 0xe0 && p[0] <= 0xef)
                n = 3;
        else if (p[0] >= 0xf0 && p[0] <= 0xf4)
                n = 4;
        else
                return 0;
        for (size_t i = 1; i < n; i++)
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
        return n;
}

/* The rule as quoted in the report: white space runs as one space, control
 * bytes and broken UTF-8 as '?' (the text ends up in JSON, on terminals and
 * in Prometheus files), at most STANDING_EXCERPT_MAX code points. */
static char *excerpt(const char *line)
{
        const unsigned char *p = (const unsigned char *) skip_space(line);
        char *out = malloc(STANDING_EXCERPT_MAX * 4 + 1), *o = out;
        size_t points = 0;

        if (!out)
                return NULL;
        while (*p && points < STANDING_EXCERPT_MAX) {
                size_t n;

                if (is_space((char) *p)) {
                        p = (const unsigned char *) skip_space((const char *) p);
                        if (*p)
                                *o++ = ' ';
                        points++;
                        continue;
                }
                n = utf8_len(p);
                if (n == 0 || *p < 0x20 || *p == 0x7f) {
                        *o++ = '?';
                        p++;
                } else {
                        memcpy(o, p, n);
                        o += n;
                        p += n;
                }
                points++;
        }
        *o = '\0';
        return out;
}

/* One item of a user or host list: a name, %group, +netgroup, #uid, alias,
 * ALL, with '!' in front or not; backslash escapes and double quotes kept
 * together. */
static bool scan_item(const char **pp)
{
        const char *p = *pp, *start = p;

        while (*p && !is_space(*p) && *p != ',' && *p != '=') {
                if (*p == '\\' && p[1]) {
                        p += 2;
                } else if (*p == '"') {
                        for (p++; *p && *p != '"'; p++)
                                if (*p == '\\' && p[1])
                                        p++;
                        if (*p != '"')
                                return false;
                        p++;
                } else
                        p++;
        }
        if (p == start)
                return false;
        *pp = p;
        return true;
}

/* "a, b ,c": items separated by commas, white space allowed around them. */
static bool scan_list(const char **pp, size_t *ret_n)
{
        const char *p = *pp, *q;
        size_t n = 0;

        if (!scan_item(&p))
                return false;
        for (n = 1;; n++) {
                q = skip_space(p);
                if (*q != ',')
                        break;
                q = skip_space(q + 1);
                if (!scan_item(&q))
                        return false;
                p = q;
        }
        *pp = p;
        *ret_n = n;
        return true;
}

static bool is_root_list(const char *s, size_t n)
{
        return (n == 4 && strncmp(s, "root", 4) == 0) || (n == 2 && strncmp(s, "#0", 2) == 0);
}

static enum line_kind classify(const char *line, const char **ret_arg, bool *ret_root)
{
        static const char *const aliases[] = {
                "User_Alias", "Runas_Alias", "Host_Alias", "Cmnd_Alias", "Cmd_Alias",
        };
        const char *p = skip_space(line), *users, *q;
        size_t n_users, n_hosts;

        if (*p == '#' || *p == '@') {
                if (word_is(p + 1, "includedir")) {
                        *ret_arg = p + 1 + strlen("includedir");
                        return LINE_INCLUDEDIR;
                }
                if (word_is(p + 1, "include")) {
                        *ret_arg = p + 1 + strlen("include");
                        return LINE_INCLUDE;
                }
                /* "#1000 ALL = ..." is a rule for uid 1000, any other '#' a
                 * comment; '@' starts only directives. */
                if (*p == '@' || !is_digit(p[1]))
                        return LINE_OTHER;
        }
        if (*p == '\0')
                return LINE_OTHER;
        /* Defaults, Defaults:user, Defaults@host, Defaults>runas, Defaults!cmnd. */
        if (strncmp(p, "Defaults", 8) == 0 && (p[8] == '\0' || is_space(p[8]) || strchr(":@>!", p[8])))
                return LINE_OTHER;
        for (size_t i = 0; i < ELEMENTSOF(aliases); i++)
                if (word_is(p, aliases[i]))
                        return LINE_OTHER;

        /* USERS HOSTS = ...: anything else is not a grant of privilege
         * (and visudo would not have let it in). */
        users = q = p;
        if (!scan_list(&q, &n_users) || !is_space(*q))
                return LINE_OTHER;
        *ret_root = n_users == 1 && is_root_list(users, (size_t) (q - users));
        q = skip_space(q);
        if (!scan_list(&q, &n_hosts))
                return LINE_OTHER;
        q = skip_space(q);
        return *q == '=' ? LINE_RULE : LINE_OTHER;
}

/* The directive's argument: "quoted \" path" or an unquoted word with "\ "
 * escapes, with %h expanded. NULL for -ENOMEM; "" when malformed. */
static char *include_arg(const struct scan *sc, const char *arg)
{
        const char *p = skip_space(arg);
        size_t hlen = strlen(sc->host), n = 0;
        char *out = malloc(strlen(p) * (hlen + 1) + 1);
        bool quoted = *p == '"';

        if (!out)
                return NULL;
        if (quoted)
                p++;
        for (; *p; p++) {
                if (quoted ? *p == '"' : is_space(*p))
                        break;
                if (*p == '\\' && p[1]) {
                        out[n++] = *++p;
                } else if (p[0] == '%' && p[1] == 'h') {
                        memcpy(out + n, sc->host, hlen);
                        n += hlen;
                        p++;
                } else
                        out[n++] = *p;
        }
        out[n] = '\0';
        if ((quoted && *p++ != '"') || *skip_space(p) != '\0')
                out[0] = '\0';
        return out;
}

/* A relative include is taken from the directory of the file naming it. */
static char *resolve(const char *from, const char *path)
{
        const char *slash = strrchr(from, '/');
        char *s;

        if (path[0] == '/' || !slash)
                return strdup(path);
        if (asprintf(&s, "%.*s/%s", (int) (slash - from), from, path) < 0)
                return NULL;
        return s;
}

static int add_rule(struct scan *sc, const char *file, unsigned line, const char *text, bool root)
{
        struct standing *st = sc->st;
        struct standing_rule r = { .line = line, .root = root };

        if (grow((void **) &st->rules, &sc->cap_rules, st->n_rules, sizeof(*st->rules)) < 0)
                return -ENOMEM;
        r.file = strdup(file);
        r.text = excerpt(text);
        if (!r.file || !r.text) {
                free(r.file);
                free(r.text);
                return -ENOMEM;
        }
        st->rules[st->n_rules++] = r;
        if (root)
                st->n_root++;
        return 0;
}

static int strcmp_p(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* sudo's rule for @includedir: no '.' anywhere (editor and package
 * manager leftovers such as foo.dpkg-old, and jitd's own temporary files),
 * no trailing '~'. */
static bool dir_entry_wanted(const char *name)
{
        size_t n = strlen(name);

        return n > 0 && !strchr(name, '.') && name[n - 1] != '~';
}

static int scan_dir(struct scan *sc, const char *dir)
{
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        DIR *d;
        int r = 0;

        d = opendir(dir);
        if (!d)
                return add_error(sc, "%s: cannot open directory: %s", dir, strerror(errno));
        while ((errno = 0, de = readdir(d))) {
                char *s;

                if (!dir_entry_wanted(de->d_name))
                        continue;
                if (grow((void **) &names, &cap, n, sizeof(*names)) < 0 || !(s = strdup(de->d_name))) {
                        r = -ENOMEM;
                        goto out;
                }
                names[n++] = s;
        }
        if (errno != 0) {
                r = add_error(sc, "%s: cannot read directory: %s", dir, strerror(errno));
                goto out;
        }
        if (n)
                qsort(names, n, sizeof(*names), strcmp_p);
        for (size_t i = 0; i < n && r >= 0; i++) {
                size_t len = strlen(dir);
                struct stat sb;
                char *path;

                if (asprintf(&path, "%s%s%s", dir, len && dir[len - 1] == '/' ? "" : "/", names[i]) < 0) {
                        r = -ENOMEM;
                        break;
                }
                /* sudo reads regular files only (following symlinks). */
                if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
                        r = scan_file(sc, path);
                free(path);
        }
out:
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        closedir(d);
        return r;
}

static int follow_include(struct scan *sc, const char *file, unsigned line, enum line_kind kind,
                          const char *arg)
{
        _cleanup_free_ char *word = include_arg(sc, arg);
        _cleanup_free_ char *path = NULL;

        if (!word)
                return -ENOMEM;
        if (!word[0])
                return add_error(sc, "%s:%u: cannot read the include directive", file, line);
        path = resolve(file, word);
        if (!path)
                return -ENOMEM;
        if (sc->depth >= STANDING_DEPTH_MAX)
                return add_error(sc, "%s:%u: includes nested deeper than %u", file, line,
                                 STANDING_DEPTH_MAX);
        return kind == LINE_INCLUDEDIR ? scan_dir(sc, path) : scan_file(sc, path);
}

/* jit-<digits>: a drop-in written by jitd (jitd/sudoers.c). */
static bool managed_by_jitd(const char *path)
{
        const char *base = strrchr(path, '/');

        base = base ? base + 1 : path;
        if (strncmp(base, "jit-", 4) != 0 || !base[4])
                return false;
        return strspn(base + 4, "0123456789") == strlen(base + 4);
}

/* Append the next logical line (continuations joined, each "\\\n" read as a
 * space) to *buf; *lineno counts physical lines. 1: a line, 0: end of file. */
static int read_logical(FILE *f, char **buf, size_t *cap, unsigned *lineno)
{
        char *phys = NULL;
        size_t phys_cap = 0, len = 0;
        ssize_t n;
        int r = 0;

        while ((n = getline(&phys, &phys_cap, f)) > 0) {
                bool more;

                (*lineno)++;
                if (phys[n - 1] == '\n')
                        phys[--n] = '\0';
                more = n > 0 && phys[n - 1] == '\\';
                if (more)
                        phys[n - 1] = ' ';
                if (len + (size_t) n + 1 > *cap) {
                        size_t ncap = len + (size_t) n + 1 + 256;
                        char *nb = realloc(*buf, ncap);

                        if (!nb) {
                                r = -ENOMEM;
                                goto out;
                        }
                        *buf = nb;
                        *cap = ncap;
                }
                memcpy(*buf + len, phys, (size_t) n + 1);
                len += (size_t) n;
                r = 1;
                if (!more)
                        break;
        }
        if (n < 0 && ferror(f))
                r = errno ? -errno : -EIO;
out:
        free(phys);
        return r;
}

static int scan_file(struct scan *sc, const char *path)
{
        bool managed = managed_by_jitd(path);
        char *buf = NULL;
        size_t cap = 0;
        unsigned lineno = 0;
        struct stat sb;
        FILE *f;
        int fd, r;

        /* O_NONBLOCK: a FIFO planted where a drop-in should be must not hang jitd. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return add_error(sc, "%s: cannot open: %s", path, strerror(errno));
        if (fstat(fd, &sb) < 0) {
                r = add_error(sc, "%s: cannot stat: %s", path, strerror(errno));
                close(fd);
                return r;
        }
        if (!S_ISREG(sb.st_mode) || sb.st_size > STANDING_FILE_MAX) {
                close(fd);
                if (!S_ISREG(sb.st_mode))
                        return add_error(sc, "%s: not a regular file", path);
                return add_error(sc, "%s: larger than %d bytes, not read", path, STANDING_FILE_MAX);
        }
        for (unsigned i = 0; i < sc->depth; i++)
                if (sc->chain[i].dev == sb.st_dev && sc->chain[i].ino == sb.st_ino) {
                        close(fd);
                        return add_error(sc, "%s: includes itself", path);
                }
        for (size_t i = 0; i < sc->n_seen; i++)
                if (sc->seen[i].dev == sb.st_dev && sc->seen[i].ino == sb.st_ino) {
                        close(fd);
                        return 0;
                }
        if (sc->n_seen >= STANDING_FILES_MAX) {
                close(fd);
                return add_error(sc, "%s: more than %d files included, not read", path, STANDING_FILES_MAX);
        }
        if (array_reserve((void **) &sc->seen, &sc->cap_seen, sc->n_seen, sizeof(*sc->seen)) < 0) {
                close(fd);
                return -ENOMEM;
        }
        sc->seen[sc->n_seen].dev = sb.st_dev;
        sc->seen[sc->n_seen].ino = sb.st_ino;
        sc->n_seen++;
        f = fdopen(fd, "r");
        if (!f) {
                close(fd);
                return -ENOMEM;
        }
        sc->chain[sc->depth].dev = sb.st_dev;
        sc->chain[sc->depth].ino = sb.st_ino;
        sc->depth++;
        for (;;) {
                unsigned first;
                const char *arg = NULL;
                bool root = false;
                enum line_kind kind;

                if (buf)
                        buf[0] = '\0';
                first = lineno + 1;
                r = read_logical(f, &buf, &cap, &lineno);
                if (r <= 0)
                        break;
                kind = classify(buf, &arg, &root);
                if (kind == LINE_RULE && !managed)
                        r = add_rule(sc, path, first, buf, root);
                else if (kind == LINE_INCLUDE || kind == LINE_INCLUDEDIR)
                        r = follow_include(sc, path, first, kind, arg);
                if (r < 0)
                        break;
        }
        if (r < 0 && r != -ENOMEM)
                r = add_error(sc, "%s:%u: cannot read: %s", path, lineno, strerror(-r));
        sc->depth--;
        free(buf);
        fclose(f);
        return r;
}

void standing_free(struct standing *st)
{
        if (!st)
                return;
        for (size_t i = 0; i < st->n_rules; i++) {
                free(st->rules[i].file);
                free(st->rules[i].text);
        }
        free(st->rules);
        for (size_t i = 0; i < st->n_errors; i++)
                free(st->errors[i]);
        free(st->errors);
        free(st);
}

int standing_scan(const char *sudoers, struct standing **ret)
{
        struct scan sc = {};
        int r;

        if (!ret)
                return -EINVAL;
        sc.st = calloc(1, sizeof(*sc.st));
        if (!sc.st)
                return -ENOMEM;
        if (gethostname(sc.host, sizeof(sc.host)) < 0)
                sc.host[0] = '\0';
        sc.host[sizeof(sc.host) - 1] = '\0';
        sc.host[strcspn(sc.host, ".")] = '\0';
        r = scan_file(&sc, sudoers ? sudoers : STANDING_DEFAULT_SUDOERS);
        free(sc.seen);
        if (r < 0) {
                standing_free(sc.st);
                return r;
        }
        *ret = sc.st;
        return 0;
}

int standing_rule_format(const struct standing_rule *r, char **ret)
{
        char *s;

        if (asprintf(&s, "%s:%u: %s", r->file, r->line, r->text) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}
