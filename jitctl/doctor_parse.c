/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Parsing for jitctl doctor: PAM stacks as Linux-PAM reads them, sudoers
 * include directives as sudo resolves them, a ticket URL's endpoint. Nothing
 * here decides OK, WARN or FAIL; doctor.c does, from what these return.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor_parse.h"
#include "util.h"

/* Bounds on what one sudoers scan reads, whatever the files say: sudo itself
 * allows 128 nested includes; real setups use two or three levels, a few
 * dozen files and some kilobytes. */
#define SUDOERS_DEPTH_MAX 16
#define SUDOERS_FILES_MAX 256
#define SUDOERS_BYTES_MAX (16u << 20)
#define DOCTOR_FILE_MAX   (4 << 20)     /* one PAM or sudoers file */

/* Open a file doctor reads: a regular file only, since a FIFO would block and
 * /dev/zero never ends (O_NONBLOCK keeps open() itself from waiting on a
 * FIFO), of at most DOCTOR_FILE_MAX bytes. -EISDIR for a directory, -EINVAL
 * for another kind of file, -EFBIG for a file too large. */
static int open_text(const char *path, FILE **ret, struct stat *ret_st)
{
        struct stat st;
        FILE *f;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                r = -errno;
        else if (S_ISDIR(st.st_mode))
                r = -EISDIR;
        else if (!S_ISREG(st.st_mode))
                r = -EINVAL;
        else if (st.st_size > DOCTOR_FILE_MAX)
                r = -EFBIG;
        else if (!(f = fdopen(fd, "r")))
                r = -errno;
        else {
                if (ret_st)
                        *ret_st = st;
                *ret = f;
                return 0;
        }
        close(fd);
        return r;
}

static const char *open_error(int r)
{
        return r == -EINVAL ? "not a regular file" : strerror(-r);
}

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static char *skip_space(char *s)
{
        while (is_space(*s))
                s++;
        return s;
}

/* ---- PAM: lines --------------------------------------------------------- */

/* The end of the word at s: a "[...]" group counts as one word, as in
 * Linux-PAM's _pam_StrTok. NULL when a '[' is not closed. */
static char *word_end(char *s)
{
        if (*s == '[') {
                char *close = strchr(s, ']');

                return close ? close + 1 : NULL;
        }
        while (*s && !is_space(*s))
                s++;
        return s;
}

/* Cut the next word off *p; NULL at the end of the line or on an unclosed '['. */
static char *next_word(char **p, bool *bad)
{
        char *s = skip_space(*p), *e;

        if (!*s)
                return NULL;
        e = word_end(s);
        if (!e) {
                *bad = true;
                return NULL;
        }
        if (*e)
                *e++ = '\0';
        *p = e;
        return s;
}

int doctor_pam_split(char *line, struct doctor_pam_fields *ret)
{
        struct doctor_pam_fields f = {};
        bool bad = false;
        char *p = line, *end;

        f.type = next_word(&p, &bad);
        if (!f.type)
                return bad ? -EINVAL : 0;
        if (strcmp(f.type, "@include") != 0) {
                f.control = next_word(&p, &bad);
                if (!f.control)
                        return -EINVAL;
        }
        f.module = next_word(&p, &bad);
        if (!f.module)
                return -EINVAL;
        f.args = skip_space(p);
        end = f.args + strlen(f.args);
        while (end > f.args && is_space(end[-1]))
                *--end = '\0';
        *ret = f;
        return 1;
}

enum doctor_pam_phase doctor_pam_phase_from(const char *type)
{
        static const struct {
                const char *name;
                enum doctor_pam_phase phase;
        } names[] = {
                { "auth", DOCTOR_PAM_AUTH },       { "account", DOCTOR_PAM_ACCOUNT },
                { "session", DOCTOR_PAM_SESSION }, { "password", DOCTOR_PAM_PASSWORD },
        };

        if (!type)
                return DOCTOR_PAM_NONE;
        /* "-session": the same phase; a missing module is just not logged. */
        if (type[0] == '-')
                type++;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcasecmp(type, names[i].name) == 0)
                        return names[i].phase;
        return DOCTOR_PAM_NONE;
}

/* The next logical line, the way Linux-PAM's _pam_assemble_line builds it:
 * everything from the first '#' on is a comment, even mid-line; a line
 * ending in '\' goes on with the next one; lines with nothing but blanks or a
 * comment are skipped, also inside a continuation. *first: the physical line
 * it began on. Returns 1, 0 at the end of the file, -ENOMEM. */
static int pam_next_line(FILE *f, char **buf, size_t *cap, unsigned *lineno, char **out, unsigned *first)
{
        size_t len = 0;
        bool any = false;

        free(*out);
        *out = NULL;
        for (;;) {
                char *s, *hash, *end, *grown;
                bool more = false;
                size_t n;

                if (getline(buf, cap, f) < 0)
                        return any;
                (*lineno)++;
                s = skip_space(*buf);
                if (!*s || *s == '#')
                        continue;
                if (!any)
                        *first = *lineno;
                any = true;
                hash = strchr(s, '#');
                if (hash)
                        *hash = '\0';
                end = s + strlen(s);
                while (end > s && is_space(end[-1]))
                        *--end = '\0';
                if (!hash && end > s && end[-1] == '\\') {
                        end[-1] = ' ';
                        more = true;
                }
                n = strlen(s);
                grown = realloc(*out, len + n + 1);
                if (!grown)
                        return -ENOMEM;
                *out = grown;
                memcpy(*out + len, s, n + 1);
                len += n;
                if (!more)
                        return 1;
        }
}

/* ---- PAM: stacks -------------------------------------------------------- */

struct pam_loader {
        const char *dir;
        struct doctor_pam_stack *s;
        bool oom;
};

static void stack_note(struct pam_loader *l, const char *fmt, const char *a, const char *b)
{
        if (l->s->note)
                return;
        if (asprintf(&l->s->note, fmt, a, b) < 0) {
                l->s->note = NULL;
                l->oom = true;
        }
}

static int stack_add(struct pam_loader *l, enum doctor_pam_phase phase, const struct doctor_pam_fields *f,
                     const char *file, unsigned line, bool substack)
{
        struct doctor_pam_stack *s = l->s;
        struct doctor_pam_rule *v, *r;

        v = reallocarray(s->rules, s->n + 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        s->rules = v;
        r = &s->rules[s->n];
        *r = (struct doctor_pam_rule) { .phase = phase, .line = line, .substack = substack };
        r->control = strdup(f->control);
        r->module = strdup(f->module);
        r->args = strdup(f->args);
        r->file = strdup(file);
        s->n++;         /* counted even when half-made, so that the free sees it */
        if (!r->control || !r->module || !r->args || !r->file)
                return -ENOMEM;
        return 0;
}

/* Read one file into l->s: only the rules of phase `only` unless it is
 * DOCTOR_PAM_NONE. depth 0 is the service's own file; includes are followed
 * from there only, which is every stock Debian stack (common-* include
 * nothing). */
static int pam_load_file(struct pam_loader *l, const char *name, enum doctor_pam_phase only, bool substack,
                         unsigned depth)
{
        _cleanup_free_ char *path = NULL, *buf = NULL, *line = NULL;
        size_t cap = 0;
        unsigned lineno = 0, first = 0;
        FILE *f;
        int r = 0;

        if (name[0] == '/')
                path = strdup(name);
        else if (asprintf(&path, "%s/%s", l->dir, name) < 0)
                path = NULL;
        if (!path)
                return -ENOMEM;
        r = open_text(path, &f, NULL);
        if (r < 0)
                return r;
        for (;;) {
                struct doctor_pam_fields fl;
                enum doctor_pam_phase phase;
                bool include, sub;

                r = pam_next_line(f, &buf, &cap, &lineno, &line, &first);
                if (r <= 0)
                        break;
                if (doctor_pam_split(line, &fl) <= 0)
                        continue;       /* Linux-PAM logs and skips these too */
                include = strcmp(fl.type, "@include") == 0;
                phase = include ? only : doctor_pam_phase_from(fl.type);
                if (!include && (phase == DOCTOR_PAM_NONE || (only != DOCTOR_PAM_NONE && phase != only)))
                        continue;
                if (!include && strcasecmp(fl.control, "include") != 0 && strcasecmp(fl.control, "substack") != 0) {
                        r = stack_add(l, phase, &fl, path, first, substack);
                        if (r < 0)
                                break;
                        continue;
                }
                if (depth > 0) {
                        stack_note(l, "%s: %s not followed (doctor follows includes one level deep)", path,
                                   fl.module);
                        continue;
                }
                sub = substack || (!include && strcasecmp(fl.control, "substack") == 0);
                r = pam_load_file(l, fl.module, phase, sub, depth + 1);
                if (r == -ENOMEM)
                        break;
                if (r < 0)
                        stack_note(l, "cannot read included %s: %s", fl.module, open_error(r));
        }
        if (r >= 0 && ferror(f))
                r = -EIO;
        fclose(f);
        if (r >= 0 && l->oom)
                r = -ENOMEM;
        return r;
}

int doctor_pam_load(const char *dir, const char *service, struct doctor_pam_stack *ret)
{
        struct doctor_pam_stack s = {};
        struct pam_loader l = { .dir = dir, .s = &s };
        int r;

        if (!dir || !service || !ret)
                return -EINVAL;
        r = pam_load_file(&l, service, DOCTOR_PAM_NONE, false, 0);
        if (r < 0) {
                doctor_pam_stack_free(&s);
                return r;
        }
        *ret = s;
        return 0;
}

void doctor_pam_stack_free(struct doctor_pam_stack *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->n; i++) {
                free(s->rules[i].control);
                free(s->rules[i].module);
                free(s->rules[i].args);
                free(s->rules[i].file);
        }
        free(s->rules);
        free(s->note);
        *s = (struct doctor_pam_stack) {};
}

/* ---- PAM: controls ------------------------------------------------------ */

/* The action a "[value=action ...]" control gives `value`, else its
 * "default=" action, else "bad" (Linux-PAM's default for a bracketed control).
 * Copied into buf. */
static void bracket_action(const char *control, const char *value, char *buf, size_t size)
{
        const char *p = control + 1, *dflt = NULL, *found = NULL;
        size_t vlen = strlen(value);

        while (*p && *p != ']') {
                size_t n;

                while (is_space(*p))
                        p++;
                n = strcspn(p, " \t\n]");
                if (n > vlen && strncasecmp(p, value, vlen) == 0 && p[vlen] == '=')
                        found = p + vlen + 1;
                else if (n > 8 && strncasecmp(p, "default=", 8) == 0)
                        dflt = p + 8;
                p += n;
        }
        p = found ? found : dflt ? dflt : "bad";
        snprintf(buf, size, "%.*s", (int) strcspn(p, " \t\n]"), p);
}

int doctor_pam_on_success(const char *control)
{
        char action[32];
        char *end;
        long n;

        if (!control)
                return DOCTOR_PAM_CONTINUES;
        if (strcasecmp(control, "sufficient") == 0)
                return DOCTOR_PAM_ENDS;
        if (control[0] != '[')
                return DOCTOR_PAM_CONTINUES;    /* required, requisite, optional, include */
        bracket_action(control, "success", action, sizeof(action));
        if (strcasecmp(action, "done") == 0)
                return DOCTOR_PAM_ENDS;
        if (action[0] >= '1' && action[0] <= '9') {
                errno = 0;
                n = strtol(action, &end, 10);
                if (errno == 0 && !*end && n > 0 && n < INT_MAX)
                        return (int) n;
        }
        return DOCTOR_PAM_CONTINUES;            /* ok, ignore, bad, die, reset */
}

bool doctor_pam_enforces(const char *control)
{
        char action[32];

        if (!control)
                return false;
        if (strcasecmp(control, "required") == 0 || strcasecmp(control, "requisite") == 0)
                return true;
        if (control[0] != '[')
                return false;                   /* optional, sufficient */
        /* ok and done make the code the phase's result too, if nothing
         * failed before; ignore, reset and jumps throw the refusal away. */
        bracket_action(control, "perm_denied", action, sizeof(action));
        return strcasecmp(action, "bad") == 0 || strcasecmp(action, "die") == 0 ||
               strcasecmp(action, "ok") == 0 || strcasecmp(action, "done") == 0;
}

bool doctor_pam_is_jit(const char *module)
{
        const char *base;

        if (!module)
                return false;
        base = strrchr(module, '/');
        return strcmp(base ? base + 1 : module, "pam_jit.so") == 0;
}

/* Call fn on each argument word (brackets stripped) until it returns true. */
static bool args_find(const char *args, bool (*fn)(const char *w, size_t n, void *ud), void *ud)
{
        const char *p = args;

        while (p && *p) {
                const char *w;
                size_t n;

                while (is_space(*p))
                        p++;
                if (!*p)
                        break;
                if (*p == '[') {
                        const char *close = strchr(p, ']');

                        w = p + 1;
                        n = close ? (size_t) (close - w) : strlen(w);
                        p = close ? close + 1 : w + n;
                } else {
                        w = p;
                        n = strcspn(p, " \t\n");
                        p += n;
                }
                if (fn(w, n, ud))
                        return true;
        }
        return false;
}

static bool word_is(const char *w, size_t n, void *ud)
{
        const char *name = ud;

        return n == strlen(name) && strncmp(w, name, n) == 0;
}

bool doctor_pam_has_arg(const char *args, const char *name)
{
        return name && args_find(args, word_is, (void *) name);
}

struct arg_value {
        const char *key;
        char *buf;
        size_t size;
        bool found;
};

static bool word_value(const char *w, size_t n, void *ud)
{
        struct arg_value *a = ud;
        size_t k = strlen(a->key);

        if (n <= k || strncmp(w, a->key, k) != 0 || w[k] != '=')
                return false;
        if (n - k - 1 >= a->size)
                return true;            /* there, but too long: stop with found false */
        memcpy(a->buf, w + k + 1, n - k - 1);
        a->buf[n - k - 1] = '\0';
        a->found = true;
        return true;
}

bool doctor_pam_arg_value(const char *args, const char *key, char *buf, size_t size)
{
        struct arg_value a = { .key = key, .buf = buf, .size = size };

        if (!key || !buf || size == 0)
                return false;
        args_find(args, word_value, &a);
        return a.found;
}

/*
 * The order rule, kept simple on purpose. Linux-PAM runs a phase's rules in
 * order; pam_jit's account rule can only refuse if it is reached, and its
 * refusal only counts if no rule before it already ended the phase with
 * success. So a rule ahead of ours is a bypass when its success:
 *   - ends the phase: "sufficient", or "[success=done ...]" (or default=done);
 *   - jumps over ours: "[success=N ...]" with ours among the next N rules.
 * "required" rules ahead are harmless: they can only add a failure. Debian's
 * common-account is fine: its "[success=1 ...] pam_unix.so" jumps over the
 * pam_deny on the next line only, and it ends with "required pam_permit.so".
 * Only the success action is looked at (new_authtok_reqd=done in
 * common-account is a password change, not a grant). Rules that came from a
 * substack are left out: their done or jump ends only the substack.
 */
void doctor_pam_analyse(const struct doctor_pam_stack *s, struct doctor_pam_verdict *ret)
{
        struct doctor_pam_verdict v = {};
        size_t ours = 0, pos = 0;

        for (size_t i = 0; s && i < s->n; i++) {
                const struct doctor_pam_rule *r = &s->rules[i];

                if (!doctor_pam_is_jit(r->module))
                        continue;
                if (r->phase == DOCTOR_PAM_AUTH && !v.auth)
                        v.auth = r;
                else if (r->phase == DOCTOR_PAM_SESSION && !v.session)
                        v.session = r;
                else if (r->phase == DOCTOR_PAM_ACCOUNT && !v.account)
                        v.account = r;
        }
        if (v.account) {
                /* Positions count account rules only: each phase is its own stack. */
                for (size_t i = 0; &s->rules[i] != v.account; i++)
                        if (s->rules[i].phase == DOCTOR_PAM_ACCOUNT && !s->rules[i].substack)
                                ours++;
                for (size_t i = 0; &s->rules[i] != v.account && !v.bypass; i++) {
                        const struct doctor_pam_rule *r = &s->rules[i];
                        int act;

                        if (r->phase != DOCTOR_PAM_ACCOUNT || r->substack)
                                continue;
                        act = doctor_pam_on_success(r->control);
                        if (act == DOCTOR_PAM_ENDS || (act > 0 && pos + (size_t) act >= ours))
                                v.bypass = r;
                        pos++;
                }
        }
        *ret = v;
}

/* ---- sudoers ------------------------------------------------------------ */

static bool is_blank(char c)
{
        return c == ' ' || c == '\t';
}

/* The path after an include keyword: "quoted \" path" or word\ with\ escapes. */
static int sudoers_path_word(const char *p, char **ret)
{
        char *out = malloc(strlen(p) + 1), *o = out;
        bool quoted = *p == '"';

        if (!out)
                return -ENOMEM;
        if (quoted)
                p++;
        while (*p && *p != '\n' && *p != '\r') {
                if (quoted ? *p == '"' : is_blank(*p))
                        break;
                if (*p == '\\' && p[1] && p[1] != '\n')
                        p++;
                *o++ = *p++;
        }
        *o = '\0';
        if (!out[0]) {
                free(out);
                return -EINVAL;
        }
        *ret = out;
        return 0;
}

/* %h is the short host name, %% a percent sign (sudoers(5), "Including
 * other files from within sudoers"). */
static int expand_host(const char *in, const char *host, char **ret)
{
        size_t hlen = host ? strlen(host) : 0, n = 0;
        char *out, *o;

        for (const char *p = in; *p; p++)
                n += p[0] == '%' && p[1] == 'h' ? hlen : 1;
        out = o = malloc(n + 1);
        if (!out)
                return -ENOMEM;
        for (const char *p = in; *p; p++) {
                if (p[0] == '%' && p[1] == 'h') {
                        memcpy(o, host, hlen);
                        o += hlen;
                        p++;
                } else if (p[0] == '%' && p[1] == '%') {
                        *o++ = '%';
                        p++;
                } else
                        *o++ = *p;
        }
        *o = '\0';
        *ret = out;
        return 0;
}

int doctor_sudoers_directive(const char *line, const char *file, const char *host, char **ret_path)
{
        _cleanup_free_ char *word = NULL, *expanded = NULL;
        const char *p;
        const char *slash;
        int kind, r;

        if (!line || !ret_path)
                return -EINVAL;
        p = line;
        while (is_blank(*p))
                p++;
        if (*p != '@' && *p != '#')
                return DOCTOR_SUDOERS_OTHER;
        /* "#includedir" is a directive, "# includedir" a comment. */
        if (strncmp(p + 1, "includedir", 10) == 0 && is_blank(p[11])) {
                kind = DOCTOR_SUDOERS_INCLUDEDIR;
                p += 11;
        } else if (strncmp(p + 1, "include", 7) == 0 && is_blank(p[8])) {
                kind = DOCTOR_SUDOERS_INCLUDE;
                p += 8;
        } else
                return DOCTOR_SUDOERS_OTHER;
        while (is_blank(*p))
                p++;
        r = sudoers_path_word(p, &word);
        if (r < 0)
                return r;
        r = expand_host(word, host ? host : "", &expanded);
        if (r < 0)
                return r;
        if (expanded[0] == '/' || !file || !(slash = strrchr(file, '/'))) {
                *ret_path = TAKE_PTR(expanded);
                return kind;
        }
        /* Relative: in the directory of the file that includes it. */
        if (asprintf(ret_path, "%.*s/%s", (int) (slash - file), file, expanded) < 0)
                return -ENOMEM;
        return kind;
}

static int append_seen(char **seen, const char *dir)
{
        char *s;

        if (asprintf(&s, "%s%s%s", *seen ? *seen : "", *seen ? ", " : "", dir) < 0)
                return -ENOMEM;
        free(*seen);
        *seen = s;
        return 0;
}

/* One scan's memory: every file read so far by (device, inode), which of
 * them are being read right now (an include of one of those is a loop), and
 * the running totals for the bounds above. Without it a file that includes
 * itself k times is read k^depth times. */
struct sudoers_walk {
        const char *dir, *host;
        struct doctor_sudoers_scan *s;
        struct walked {
                dev_t dev;
                ino_t ino;
                bool open;
        } *files;
        size_t n_files, cap_files;
        size_t bytes;
};

/* The first note wins, as for notes already; -ENOMEM when it cannot be made. */
__attribute__((format(printf, 2, 3)))
static int walk_note(struct sudoers_walk *w, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (w->s->note)
                return 0;
        va_start(ap, fmt);
        n = vasprintf(&w->s->note, fmt, ap);
        va_end(ap);
        if (n < 0) {
                w->s->note = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* Read path, included at from:line (from is NULL for the main file). A loop,
 * a file already read, and the bounds end that branch with a note and 0;
 * negative errno when path cannot be opened. */
static int sudoers_scan_file(struct sudoers_walk *w, const char *path, unsigned depth, const char *from,
                             unsigned from_line)
{
        _cleanup_free_ char *line = NULL;
        size_t cap = 0, me;
        unsigned lineno = 0;
        struct stat st;
        ssize_t len;
        FILE *f;
        int r;

        r = open_text(path, &f, &st);
        if (r < 0)
                return r;
        for (size_t i = 0; i < w->n_files; i++) {
                if (w->files[i].dev != st.st_dev || w->files[i].ino != st.st_ino)
                        continue;
                fclose(f);
                /* Read before through another include: nothing new in it. */
                if (!w->files[i].open)
                        return 0;
                w->s->loop = true;
                return walk_note(w, "include loop: %s:%u includes %s again, which is still being read "
                                    "(sudo stops at 128 levels and refuses the whole sudoers)", from, from_line, path);
        }
        if (w->n_files >= SUDOERS_FILES_MAX) {
                fclose(f);
                return walk_note(w, "stopped after reading %d sudoers files; %s (included at %s:%u) not read",
                                 SUDOERS_FILES_MAX, path, from, from_line);
        }
        r = array_reserve((void **) &w->files, &w->cap_files, w->n_files, sizeof(*w->files));
        if (r < 0) {
                fclose(f);
                return r;
        }
        me = w->n_files++;
        w->files[me] = (struct walked) { .dev = st.st_dev, .ino = st.st_ino, .open = true };

        while (r >= 0 && (len = getline(&line, &cap, f)) >= 0) {
                _cleanup_free_ char *target = NULL;
                int kind;

                lineno++;
                w->bytes += (size_t) len;
                if (w->bytes > SUDOERS_BYTES_MAX) {
                        r = walk_note(w, "stopped after reading %u MiB of sudoers, at %s:%u",
                                      SUDOERS_BYTES_MAX >> 20, path, lineno);
                        break;
                }
                kind = doctor_sudoers_directive(line, path, w->host, &target);
                if (kind == -ENOMEM) {
                        r = kind;
                        break;
                }
                if (kind == DOCTOR_SUDOERS_INCLUDEDIR) {
                        r = append_seen(&w->s->seen, target);
                        if (r >= 0 && !w->s->where && doctor_same_dir(target, w->dir) &&
                            asprintf(&w->s->where, "%s:%u", path, lineno) < 0) {
                                w->s->where = NULL;
                                r = -ENOMEM;
                        }
                } else if (kind == DOCTOR_SUDOERS_INCLUDE && depth >= SUDOERS_DEPTH_MAX) {
                        r = walk_note(w, "%s:%u: includes nested more than %d deep, %s not read", path, lineno,
                                      SUDOERS_DEPTH_MAX, target);
                } else if (kind == DOCTOR_SUDOERS_INCLUDE) {
                        int k = sudoers_scan_file(w, target, depth + 1, path, lineno);

                        if (k == -ENOMEM)
                                r = k;
                        else if (k < 0)
                                r = walk_note(w, "cannot read %s (included at %s:%u): %s", target, path, lineno,
                                              open_error(k));
                }
        }
        w->files[me].open = false;
        if (r >= 0 && ferror(f))
                r = -EIO;
        fclose(f);
        return r;
}

int doctor_sudoers_scan(const char *path, const char *dir, const char *host, struct doctor_sudoers_scan *ret)
{
        struct doctor_sudoers_scan s = {};
        struct sudoers_walk w = { .dir = dir, .host = host, .s = &s };
        int r;

        if (!path || !dir || !ret)
                return -EINVAL;
        r = sudoers_scan_file(&w, path, 0, NULL, 0);
        free(w.files);
        if (r < 0) {
                doctor_sudoers_scan_clear(&s);
                return r;
        }
        *ret = s;
        return 0;
}

void doctor_sudoers_scan_clear(struct doctor_sudoers_scan *s)
{
        if (!s)
                return;
        free(s->where);
        free(s->seen);
        free(s->note);
        *s = (struct doctor_sudoers_scan) {};
}

/* "a//b/./c/" -> "a/b/c"; "/" stays. */
static void normalize_path(const char *in, char *out, size_t size)
{
        size_t o = 0;

        for (const char *p = in; *p && o + 1 < size; p++) {
                if (*p == '/' && o > 0 && out[o - 1] == '/')
                        continue;
                if (*p == '.' && o > 0 && out[o - 1] == '/' && (p[1] == '/' || !p[1]))
                        continue;
                out[o++] = *p;
        }
        while (o > 1 && out[o - 1] == '/')
                o--;
        out[o] = '\0';
}

bool doctor_same_dir(const char *a, const char *b)
{
        char ra[PATH_MAX], rb[PATH_MAX];

        if (!a || !b)
                return false;
        if (realpath(a, ra) && realpath(b, rb))
                return strcmp(ra, rb) == 0;
        normalize_path(a, ra, sizeof(ra));
        normalize_path(b, rb, sizeof(rb));
        return strcmp(ra, rb) == 0;
}

/* ---- ticket URL --------------------------------------------------------- */

int doctor_url_endpoint(const char *url, char *host, size_t host_size, char *port, size_t port_size)
{
        const char *p, *def, *at, *end, *h, *hend, *pt = NULL;
        size_t alen;

        if (!url || !host || !port || host_size == 0 || port_size == 0)
                return -EINVAL;
        if (strncmp(url, "https://", 8) == 0) {
                p = url + 8;
                def = "443";
        } else if (strncmp(url, "http://", 7) == 0) {
                p = url + 7;
                def = "80";
        } else
                return -EINVAL;
        /* authority = [userinfo@]host[:port], up to the path, query or fragment */
        alen = strcspn(p, "/?#");
        end = p + alen;
        at = memrchr(p, '@', alen);
        h = at ? at + 1 : p;
        if (*h == '[') {
                h++;
                hend = memchr(h, ']', (size_t) (end - h));
                if (!hend || (hend + 1 < end && hend[1] != ':'))
                        return -EINVAL;
                if (hend + 1 < end)
                        pt = hend + 2;
        } else {
                hend = memchr(h, ':', (size_t) (end - h));
                if (hend)
                        pt = hend + 1;
                else
                        hend = end;
        }
        if (hend == h || (size_t) (hend - h) >= host_size)
                return -EINVAL;
        if (pt && pt < end) {
                size_t plen = (size_t) (end - pt);
                long v = 0;

                if (plen > 5 || strspn(pt, "0123456789") < plen || plen >= port_size)
                        return -EINVAL;
                for (size_t i = 0; i < plen; i++)
                        v = v * 10 + (pt[i] - '0');
                if (v < 1 || v > 65535)
                        return -EINVAL;
                memcpy(port, pt, plen);
                port[plen] = '\0';
        } else {
                /* no port, or "host:" with an empty one (RFC 3986: the default) */
                if (strlen(def) >= port_size)
                        return -EINVAL;
                strcpy(port, def);
        }
        memcpy(host, h, (size_t) (hend - h));
        host[hend - h] = '\0';
        return 0;
}
