/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitd.conf reader. libinih splits "key = value" lines; everything around it
 * is ours, because inih alone cannot give us what the contract asks for:
 *
 *  - Every error with its line. Debian's inih is built without
 *    INI_HANDLER_LINENO, so the handler never learns the line, and inih tells
 *    about only the first syntax error. We feed inih through our own reader
 *    (ini_parse_stream), one physical line per call, so our count is the line
 *    inih is working on when it calls the handler; syntax errors are caught in
 *    the reader, so each one gets its own message.
 *  - Section lines. inih only calls the handler for keys, so an empty
 *    [role:x] would go unnoticed and a role's line would be that of its first
 *    key; the reader sees the header first.
 *  - Comments after values ("members = alice   # who"). Debian's inih strips
 *    inline comments only for ';'. The reader strips '#' and ';' when they
 *    start the line or follow white space, so ticket patterns such as
 *    "^[A-Z]+#[0-9]+$" keep their '#'.
 *  - No surprises from inih's build options: leading white space is stripped,
 *    so an indented line is never a "continuation" of the previous value
 *    (INI_ALLOW_MULTILINE), and lines longer than inih's fixed buffer
 *    (INI_MAX_LINE, 200) are passed shortened while the handler takes the value
 *    from our full copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include <ini.h>

#include "client.h"
#include "config.h"
#include "conninfo.h"
#include "duration.h"
#include "util.h"

#define KEYS_MAX 32

enum section { SEC_NONE, SEC_JITD, SEC_TICKET, SEC_ROLE, SEC_FLEET, SEC_IGNORED };

struct parser {
        const char *path;
        unsigned flags;                 /* enum config_load_flags */
        FILE *f;
        struct config_errors *errors;
        unsigned n_errors;
        bool oom;
        int read_errno;

        char *buf;                      /* getline() buffer */
        size_t buf_size;
        char *cur;                      /* the current line, cleaned, inside buf */
        unsigned lineno;
        bool truncated;                 /* inih got a shortened copy of cur */

        struct config *cfg;
        enum section section;
        char *section_name;             /* as written, for messages */
        struct role *role;              /* SEC_ROLE: a cfg->roles entry or &scratch */
        struct role scratch;            /* a rejected [role:...]: its keys are checked, then dropped */
        unsigned key_line[KEYS_MAX];    /* per key of the current section: where it was set */
        unsigned section_errors;        /* n_errors when the current section began */
        bool ticket_bad;                /* an error inside [ticket]: skip its cross-checks */
        unsigned jitd_line, ticket_line, url_line, lookup_line;
};

struct key {
        const char *name;
        void (*parse)(struct parser *ps, const struct key *k, void *target, const char *value);
        size_t offset;
        long min, max;                  /* parse_uint */
        bool (*valid)(const char *s);   /* parse_list: each item; NULL = anything */
        const char *what;               /* parse_list: what an item must be */
        bool empty_ok;                  /* parse_list: an empty list is stored as NULL */
};

#define FIELD(target, k, type) ((type *) (void *) ((char *) (target) + (k)->offset))

static const struct {
        unsigned flag;
        const char *name;
} approval_names[] = {
        { APPROVAL_TICKET, "ticket" },
        { APPROVAL_PEER, "peer" },
        { APPROVAL_AUTO, "auto" },
};

static const char *const providers[] = { "none", "jira", "servicenow", "redmine", "rt", "gitlab", "http" };

static void perr(struct parser *ps, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void perr(struct parser *ps, unsigned line, const char *fmt, ...)
{
        struct config_errors *e = ps->errors;
        char *msg = NULL, *full = NULL, **v;
        va_list ap;
        int r;

        ps->n_errors++;
        if (!e)
                return;
        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                goto oom;
        if (line > 0)
                r = asprintf(&full, "%s:%u: %s", ps->path, line, msg);
        else
                r = asprintf(&full, "%s: %s", ps->path, msg);
        free(msg);
        if (r < 0)
                goto oom;
        v = realloc(e->lines, (e->n + 1) * sizeof(char *));
        if (!v) {
                free(full);
                goto oom;
        }
        e->lines = v;
        e->lines[e->n++] = full;
        return;
oom:
        ps->oom = true;
}

void config_errors_clear(struct config_errors *e)
{
        if (!e)
                return;
        for (size_t i = 0; i < e->n; i++)
                free(e->lines[i]);
        free(e->lines);
        e->lines = NULL;
        e->n = 0;
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t';
}

static char *trim(char *s)
{
        size_t n;

        while (is_blank(*s))
                s++;
        n = strlen(s);
        while (n > 0 && is_blank(s[n - 1]))
                s[--n] = '\0';
        return s;
}

static int strv_new1(const char *s, char ***ret)
{
        char **v = calloc(2, sizeof(char *));

        if (!v)
                return -ENOMEM;
        v[0] = strdup(s);
        if (!v[0]) {
                free(v);
                return -ENOMEM;
        }
        *ret = v;
        return 0;
}

static void set_string(struct parser *ps, char **field, const char *value)
{
        char *s = strdup(value);

        if (!s) {
                ps->oom = true;
                return;
        }
        free(*field);
        *field = s;
}

static void role_clear(struct role *r)
{
        free(r->name);
        strv_free(r->members);
        strv_free(r->hosts);
        strv_free(r->services);
        strv_free(r->runas);
        strv_free(r->commands);
        strv_free(r->approvers);
        strv_free(r->break_glass);
        free(r->ticket_pattern);
        if (r->ticket_re_set)
                regfree(&r->ticket_re);
        memset(r, 0, sizeof(*r));
}

static int role_init(struct role *r, const char *name, unsigned line)
{
        *r = (struct role) {
                .line = line,
                .approval = APPROVAL_PEER,
                .approvals = 1,
                .ticket = TICKET_OPTIONAL,
                .default_duration = 3600,
                .max_duration = 4 * 3600,
                .break_glass_duration = 30 * 60,
        };
        r->name = strdup(name);
        if (!r->name || strv_new1("*", &r->hosts) < 0 || strv_new1("sudo", &r->services) < 0 ||
            strv_new1("root", &r->runas) < 0 || strv_new1("ALL", &r->commands) < 0) {
                role_clear(r);
                return -ENOMEM;
        }
        return 0;
}

static void ticket_clear(struct ticket_config *t)
{
        free(t->provider);
        free(t->url);
        free(t->token_file);
        free(t->auth);
        free(t->lookup);
        free(t->status);
        free(t->requester);
        free(t->user_map);
        strv_free(t->approved);
        strv_free(t->closed);
        free(t->window_start);
        free(t->window_end);
        free(t->hosts);
        free(t->ca_file);
        free(t->project);
        free(t->helper_user);
}

void config_free(struct config *c)
{
        if (!c)
                return;
        free(c->path);
        free(c->socket);
        free(c->database);
        free(c->sudoers_dir);
        free(c->host);
        free(c->admin_group);
        free(c->visudo);
        free(c->metrics_file);
        free(c->audit_key);
        free(c->notify);
        free(c->record_dir);
        for (size_t i = 0; i < c->n_roles; i++)
                role_clear(&c->roles[i]);
        free(c->roles);
        ticket_clear(&c->ticket);
        free(c->fleet.database);
        free(c->fleet.write_database);
        free(c->fleet.password_file);
        free(c->fleet.allowed_signers);
        free(c);
}

static int config_new(const char *path, struct config **ret)
{
        struct config *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        c->teardown = TEARDOWN_AUTO;
        c->review_within = 86400;
        c->record_break_glass = RECORD_ALL;
        c->record_retention = 90 * 86400;
        c->ticket.poll = 60;
        c->ticket.timeout = 10;
        c->ticket.pending_timeout = 86400;
        c->fleet.sync = FLEET_SYNC_DEFAULT;
        c->fleet.ticket_jitter = FLEET_TICKET_JITTER_DEFAULT;
        if (!(c->path = strdup(path)) || !(c->socket = strdup(JIT_DEFAULT_SOCKET)) ||
            !(c->database = strdup(JIT_DEFAULT_DATABASE)) || !(c->sudoers_dir = strdup(JIT_DEFAULT_SUDOERS)) ||
            !(c->record_dir = strdup(JIT_DEFAULT_RECORD_DIR)) ||
            !(c->visudo = strdup(JIT_DEFAULT_VISUDO)) || !(c->ticket.provider = strdup("none"))) {
                config_free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

/* Item validators for lists. */

static bool valid_principal(const char *s)
{
        return valid_user_name(s[0] == '%' ? s + 1 : s);
}

static bool valid_host_pattern(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > JIT_HOST_MAX)
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.*?_-[]") == n;
}

static bool valid_item(const char *s)
{
        return valid_text(s, JIT_LIST_MAX);
}

/* Value parsers. Each reports its own errors at the current line. */

static void parse_path(struct parser *ps, const struct key *k, void *target, const char *value)
{
        if (value[0] != '/' || strlen(value) >= PATH_MAX) {
                perr(ps, ps->lineno, "%s: '%s' is not an absolute path", k->name, value);
                return;
        }
        set_string(ps, FIELD(target, k, char *), value);
}

static void parse_socket(struct parser *ps, const struct key *k, void *target, const char *value)
{
        if (value[0] == '/' && strlen(value) >= sizeof(((struct sockaddr_un *) NULL)->sun_path)) {
                perr(ps, ps->lineno, "%s: '%s' is too long for a Unix socket (at most %zu bytes)", k->name,
                     value, sizeof(((struct sockaddr_un *) NULL)->sun_path) - 1);
                return;
        }
        parse_path(ps, k, target, value);
}

static void parse_host(struct parser *ps, const struct key *k, void *target, const char *value)
{
        if (!valid_host_name(value)) {
                perr(ps, ps->lineno, "%s: '%s' is not a host name", k->name, value);
                return;
        }
        set_string(ps, FIELD(target, k, char *), value);
}

/* admin_group = wheel; "%wheel" is accepted too, as everywhere else a group is
 * written that way. */
static void parse_group(struct parser *ps, const struct key *k, void *target, const char *value)
{
        const char *g = value[0] == '%' ? value + 1 : value;

        if (!valid_user_name(g)) {
                perr(ps, ps->lineno, "%s: '%s' is not a group name", k->name, value);
                return;
        }
        set_string(ps, FIELD(target, k, char *), g);
}

/* helper_user = nobody: a user name, and not root's. */
static void parse_user(struct parser *ps, const struct key *k, void *target, const char *value)
{
        if (!valid_user_name(value)) {
                perr(ps, ps->lineno, "%s: '%s' is not a user name", k->name, value);
                return;
        }
        if (strcmp(value, "root") == 0) {
                perr(ps, ps->lineno, "%s: the ticket helper must not run as root", k->name);
                return;
        }
        set_string(ps, FIELD(target, k, char *), value);
}

static void parse_text(struct parser *ps, const struct key *k, void *target, const char *value)
{
        if (!value[0]) {
                perr(ps, ps->lineno, "%s: empty value", k->name);
                return;
        }
        set_string(ps, FIELD(target, k, char *), value);
}

/* notify: a program to run, by absolute path. A URL is refused rather than
 * accepted and ignored: jitd does not post to URLs, and a setting that does
 * nothing would leave the admin believing break-glass pages someone. */
static void parse_notify(struct parser *ps, const struct key *k, void *target, const char *value)
{
        if (strncmp(value, "https://", 8) == 0 || strncmp(value, "http://", 7) == 0) {
                perr(ps, ps->lineno, "%s: '%s': posting to a URL is not implemented; give the absolute path of a "
                     "program (it can post for you)", k->name, value);
                return;
        }
        if (value[0] != '/') {
                perr(ps, ps->lineno, "%s: '%s' is not an absolute path", k->name, value);
                return;
        }
        set_string(ps, FIELD(target, k, char *), value);
}

static void parse_teardown(struct parser *ps, const struct key *k, void *target, const char *value)
{
        static const char *const names[] = {
                [TEARDOWN_AUTO] = "auto",     [TEARDOWN_SYSTEMD] = "systemd", [TEARDOWN_CGROUP] = "cgroup",
                [TEARDOWN_PIDFD] = "pidfd",   [TEARDOWN_NONE] = "none",
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(value, names[i]) == 0) {
                        *FIELD(target, k, enum teardown_mode) = (enum teardown_mode) i;
                        return;
                }
        perr(ps, ps->lineno, "%s: '%s' is not one of auto, systemd, cgroup, pidfd, none", k->name, value);
}

static void parse_record(struct parser *ps, const struct key *k, void *target, const char *value)
{
        for (unsigned i = RECORD_NONE; i <= RECORD_ALL; i++)
                if (strcmp(value, record_mode_to_string((enum record_mode) i)) == 0) {
                        *FIELD(target, k, enum record_mode) = (enum record_mode) i;
                        return;
                }
        perr(ps, ps->lineno, "%s: '%s' is not one of none, output, all", k->name, value);
}

/* record_dir becomes sudo's iolog_dir in every recorded drop-in: sudo expands
 * '%' escapes there and the sudoers grammar would read a quote, a comma or a
 * space, so only plain path characters pass. */
static void parse_record_dir(struct parser *ps, const struct key *k, void *target, const char *value)
{
        size_t n = strlen(value);

        if (value[0] != '/' || n < 2 || n > 200 || value[n - 1] == '/' || strstr(value, "/../") ||
            strstr(value, "/./") || strstr(value, "//") ||
            strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-") != n) {
                perr(ps, ps->lineno, "%s: '%s' is not an absolute path of letters, digits, / . _ - (at most 200)",
                     k->name, value);
                return;
        }
        set_string(ps, FIELD(target, k, char *), value);
}

static void parse_duration(struct parser *ps, const struct key *k, void *target, const char *value)
{
        uint64_t sec;
        int r;

        r = duration_parse(value, &sec);
        if (r < 0) {
                perr(ps, ps->lineno, "%s: '%s': %s", k->name, value, duration_strerror(r));
                return;
        }
        *FIELD(target, k, uint64_t) = sec;
}

/* warn_before = off: 0 is how the config says "off", but duration_parse()
 * refuses 0 as the typo it is everywhere else. */
static void parse_duration_or_off(struct parser *ps, const struct key *k, void *target, const char *value)
{
        if (strcmp(value, "off") == 0) {
                *FIELD(target, k, uint64_t) = 0;
                return;
        }
        parse_duration(ps, k, target, value);
}

/* A duration between k->min and k->max seconds. */
static void parse_duration_range(struct parser *ps, const struct key *k, void *target, const char *value)
{
        char lo[32], hi[32];
        uint64_t sec;
        int r;

        r = duration_parse(value, &sec);
        if (r < 0) {
                perr(ps, ps->lineno, "%s: '%s': %s", k->name, value, duration_strerror(r));
                return;
        }
        if (sec < (uint64_t) k->min || sec > (uint64_t) k->max) {
                duration_format((uint64_t) k->min, lo, sizeof(lo));
                duration_format((uint64_t) k->max, hi, sizeof(hi));
                perr(ps, ps->lineno, "%s: '%s' is out of range (%s..%s)", k->name, value, lo, hi);
                return;
        }
        *FIELD(target, k, uint64_t) = sec;
}

/* [fleet] database: a libpq connection string, without a password (this file
 * is readable by every user). The message never quotes the value. */
static void parse_conninfo(struct parser *ps, const struct key *k, void *target, const char *value)
{
        char why[256];

        if (conninfo_check(value, why, sizeof(why)) < 0) {
                perr(ps, ps->lineno, "%s: %s", k->name, why);
                return;
        }
        set_string(ps, FIELD(target, k, char *), value);
}

static void parse_bool(struct parser *ps, const struct key *k, void *target, const char *value)
{
        static const char *const yes[] = { "yes", "true", "1" }, *const no[] = { "no", "false", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(value, yes[i]) == 0) {
                        *FIELD(target, k, bool) = true;
                        return;
                }
                if (strcasecmp(value, no[i]) == 0) {
                        *FIELD(target, k, bool) = false;
                        return;
                }
        }
        perr(ps, ps->lineno, "%s: '%s' is not yes or no", k->name, value);
}

static void parse_uint(struct parser *ps, const struct key *k, void *target, const char *value)
{
        char *end = NULL;
        long n;

        /* strtol alone would take " 5", "+5" and "-0". */
        if (!value[0] || strspn(value, "0123456789") != strlen(value)) {
                perr(ps, ps->lineno, "%s: '%s' is not a number", k->name, value);
                return;
        }
        errno = 0;
        n = strtol(value, &end, 10);
        if (errno == ERANGE || *end || n < k->min || n > k->max) {
                perr(ps, ps->lineno, "%s: %s is out of range (%ld..%ld)", k->name, value, k->min, k->max);
                return;
        }
        *FIELD(target, k, unsigned) = (unsigned) n;
}

static int split_list(struct parser *ps, const struct key *k, const char *value, char ***ret)
{
        char **v = NULL;
        bool bad = false;

        if (strv_split(value, ',', &v) < 0) {
                ps->oom = true;
                return -ENOMEM;
        }
        for (char **i = v; *i; i++)
                if (k->valid && !k->valid(*i)) {
                        perr(ps, ps->lineno, "%s: '%s' is not %s", k->name, *i, k->what);
                        bad = true;
                }
        if (!bad && !v[0] && !k->empty_ok) {
                perr(ps, ps->lineno, "%s: empty list", k->name);
                bad = true;
        }
        if (bad) {
                strv_free(v);
                return -EINVAL;
        }
        if (!v[0]) {
                strv_free(v);
                v = NULL;
        }
        *ret = v;
        return 0;
}

static void parse_list(struct parser *ps, const struct key *k, void *target, const char *value)
{
        char ***field = FIELD(target, k, char **), **v;

        if (split_list(ps, k, value, &v) < 0)
                return;
        strv_free(*field);
        *field = v;
}

static void parse_commands(struct parser *ps, const struct key *k, void *target, const char *value)
{
        char ***field = FIELD(target, k, char **), **v;

        if (split_list(ps, k, value, &v) < 0)
                return;
        if (strv_contains(v, "ALL") && strv_length(v) > 1) {
                perr(ps, ps->lineno, "%s: ALL cannot be combined with other commands", k->name);
                strv_free(v);
                return;
        }
        strv_free(*field);
        *field = v;
}

static void parse_approval(struct parser *ps, const struct key *k, void *target, const char *value)
{
        unsigned flags = 0;
        char **v = NULL;
        bool bad = false;

        if (strv_split(value, ',', &v) < 0) {
                ps->oom = true;
                return;
        }
        for (char **i = v; *i; i++) {
                size_t j;

                for (j = 0; j < ELEMENTSOF(approval_names); j++)
                        if (strcmp(*i, approval_names[j].name) == 0)
                                break;
                if (j == ELEMENTSOF(approval_names)) {
                        perr(ps, ps->lineno, "%s: '%s' is not one of ticket, peer, auto", k->name, *i);
                        bad = true;
                } else
                        flags |= approval_names[j].flag;
        }
        strv_free(v);
        if (bad)
                return;
        if (flags == 0) {
                perr(ps, ps->lineno, "%s: empty list (use auto to approve without anyone)", k->name);
                return;
        }
        *FIELD(target, k, unsigned) = flags;
}

static void parse_ticket_mode(struct parser *ps, const struct key *k, void *target, const char *value)
{
        enum ticket_mode m;

        if (strcmp(value, "required") == 0)
                m = TICKET_REQUIRED;
        else if (strcmp(value, "optional") == 0)
                m = TICKET_OPTIONAL;
        else if (strcmp(value, "none") == 0)
                m = TICKET_NONE;
        else {
                perr(ps, ps->lineno, "%s: '%s' is not one of required, optional, none", k->name, value);
                return;
        }
        *FIELD(target, k, enum ticket_mode) = m;
}

/* glibc's regcomp expands repetitions into copies, and copies of copies:
 * "a" and twenty '+' took 700 MiB, four nested "{1,32}" 670 MiB (measured).
 * A ticket pattern needs little of that, so what multiplies is bounded
 * before regcomp sees it: each repetition counts as many copies as its
 * bound ('*', '+' and '?' as 2), nested and stacked repetitions multiply,
 * and no part may come to more than 1024 copies. */
#define PATTERN_MAX        256
#define PATTERN_DUP_MAX    32
#define PATTERN_REPS_MAX   8
#define PATTERN_DEPTH_MAX  8
#define PATTERN_COPIES_MAX 1024

static const char *pattern_trouble(const char *p)
{
        unsigned long copies[PATTERN_DEPTH_MAX + 1] = { 1 };   /* the most any part of each open group makes */
        unsigned long atom = 0;                                 /* copies of what a repetition would repeat */
        unsigned depth = 0, reps = 0;

        if (strlen(p) > PATTERN_MAX)
                return "longer than 256 characters";
        while (*p) {
                unsigned long factor;

                if (*p == '(') {
                        if (depth == PATTERN_DEPTH_MAX)
                                return "groups nested deeper than 8";
                        copies[++depth] = 1;
                        atom = 0;
                        p++;
                        continue;
                }
                if (*p == ')') {
                        atom = copies[depth];
                        if (depth > 0)
                                depth--;
                        p++;
                        continue;
                }
                if (*p != '*' && *p != '+' && *p != '?' && *p != '{') {
                        if (*p == '\\') {
                                p += p[1] ? 2 : 1;
                        } else if (*p == '[') {
                                /* A bracket expression: ']' right after '[' or '[^' is a member. */
                                p++;
                                if (*p == '^')
                                        p++;
                                if (*p == ']')
                                        p++;
                                while (*p && *p != ']')
                                        p++;
                                if (*p)
                                        p++;
                        } else {
                                p++;
                        }
                        atom = 1;
                        continue;
                }
                if (++reps > PATTERN_REPS_MAX)
                        return "more than 8 repetitions";
                factor = 2;
                if (*p == '{') {
                        char *e;
                        unsigned long m = strtoul(p + 1, &e, 10), n = m;

                        if (*e == ',')
                                n = e[1] == '}' ? m + 1 : strtoul(e + 1, &e, 10);
                        if (m > PATTERN_DUP_MAX || n > PATTERN_DUP_MAX)
                                return "a bound above 32";
                        factor = n > 1 ? n : 1;
                        p = strchr(p, '}');
                        if (!p)
                                return NULL;    /* regcomp says what is wrong */
                }
                p++;
                atom = (atom ? atom : 1) * factor;
                if (atom > PATTERN_COPIES_MAX)
                        return "repetitions that multiply past 1024 copies (nested or stacked)";
                if (atom > copies[depth])
                        copies[depth] = atom;
        }
        return NULL;
}

static void parse_ticket_pattern(struct parser *ps, const struct key *k, void *target, const char *value)
{
        struct role *r = target;
        const char *trouble;
        regex_t re;
        char msg[256];
        int rc;

        if (!value[0]) {
                perr(ps, ps->lineno, "%s: empty pattern", k->name);
                return;
        }
        trouble = pattern_trouble(value);
        if (trouble) {
                perr(ps, ps->lineno, "%s: '%.64s%s': too costly for the regex compiler: %s", k->name, value,
                     strlen(value) > 64 ? "..." : "", trouble);
                return;
        }
        rc = regcomp(&re, value, REG_EXTENDED | REG_NOSUB);
        if (rc == REG_ESPACE) {
                ps->oom = true;
                return;
        }
        if (rc != 0) {
                regerror(rc, &re, msg, sizeof(msg));
                perr(ps, ps->lineno, "%s: '%s': %s", k->name, value, msg);
                return;
        }
        /* A key is parsed at most once per role, so nothing is replaced here. */
        r->ticket_pattern = strdup(value);
        if (!r->ticket_pattern) {
                regfree(&re);
                ps->oom = true;
                return;
        }
        r->ticket_re = re;
        r->ticket_re_set = true;
}

static void parse_provider(struct parser *ps, const struct key *k, void *target, const char *value)
{
        for (size_t i = 0; i < ELEMENTSOF(providers); i++)
                if (strcmp(value, providers[i]) == 0) {
                        set_string(ps, FIELD(target, k, char *), value);
                        return;
                }
        perr(ps, ps->lineno, "%s: '%s' is not one of none, jira, servicenow, redmine, rt, gitlab, http",
             k->name, value);
}

static bool url_has_scheme(const char *s, bool allow_http)
{
        return strncmp(s, "https://", 8) == 0 || (allow_http && strncmp(s, "http://", 7) == 0);
}

/* The scheme is checked once the whole section is read, as allow_http may
 * come after url. */
static void parse_url(struct parser *ps, const struct key *k, void *target, const char *value)
{
        if (!url_has_scheme(value, true) || strpbrk(value, " \t") || !value[strcspn(value, ":") + 3]) {
                perr(ps, ps->lineno, "%s: '%s' is not an https:// URL", k->name, value);
                return;
        }
        ps->url_line = ps->lineno;
        set_string(ps, FIELD(target, k, char *), value);
}

static void parse_lookup(struct parser *ps, const struct key *k, void *target, const char *value)
{
        if (strncmp(value, "{url}", 5) != 0 && !url_has_scheme(value, true)) {
                perr(ps, ps->lineno, "%s: '%s' must start with {url} or https://", k->name, value);
                return;
        }
        if (!strstr(value, "{ticket}") || strpbrk(value, " \t")) {
                perr(ps, ps->lineno, "%s: '%s' must contain {ticket} and no white space", k->name, value);
                return;
        }
        ps->lookup_line = ps->lineno;
        set_string(ps, FIELD(target, k, char *), value);
}

static void parse_auth(struct parser *ps, const struct key *k, void *target, const char *value)
{
        const char *h = value + strlen("header:");

        if (strcmp(value, "bearer") == 0 || strcmp(value, "basic") == 0 || strcmp(value, "token") == 0 ||
            (strncmp(value, "header:", 7) == 0 && h[0] &&
             strspn(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(h))) {
                set_string(ps, FIELD(target, k, char *), value);
                return;
        }
        perr(ps, ps->lineno, "%s: '%s' is not one of bearer, basic, token, header:NAME", k->name, value);
}

/* RFC 6901: "/a/b", with '~' only as "~0" or "~1". */
static void parse_pointer(struct parser *ps, const struct key *k, void *target, const char *value)
{
        bool ok = value[0] == '/';

        for (const char *p = value; ok && *p; p++)
                if (*p == '~' && p[1] != '0' && p[1] != '1')
                        ok = false;
        if (!ok) {
                perr(ps, ps->lineno, "%s: '%s' is not a JSON Pointer (like /fields/status/name)", k->name, value);
                return;
        }
        set_string(ps, FIELD(target, k, char *), value);
}

/* GitLab's project id or full path; the engine URL-encodes it ('/' -> %2F), so
 * '%' is refused to keep "already encoded" from being encoded twice. */
static void parse_project(struct parser *ps, const struct key *k, void *target, const char *value)
{
        size_t n = strlen(value);

        if (n == 0 || n > 255 || value[0] == '/' || value[n - 1] == '/' ||
            strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-") != n) {
                perr(ps, ps->lineno, "%s: '%s' is not a project id or path (like 42 or group/repo)", k->name, value);
                return;
        }
        set_string(ps, FIELD(target, k, char *), value);
}

#define PRINCIPALS "a user name or %group"
#define JITD(n, p, f)   .name = n, .parse = p, .offset = offsetof(struct config, f)
#define ROLE(n, p, f)   .name = n, .parse = p, .offset = offsetof(struct role, f)
#define TICKET(n, p, f) .name = n, .parse = p, .offset = offsetof(struct ticket_config, f)
#define FLEET(n, p, f)  .name = n, .parse = p, .offset = offsetof(struct fleet_config, f)

static const struct key jitd_keys[] = {
        { JITD("socket", parse_socket, socket) },
        { JITD("database", parse_path, database) },
        { JITD("sudoers_dir", parse_path, sudoers_dir) },
        { JITD("host", parse_host, host) },
        { JITD("admin_group", parse_group, admin_group) },
        { JITD("teardown", parse_teardown, teardown) },
        { JITD("visudo", parse_path, visudo) },
        { JITD("warn_before", parse_duration_or_off, warn_before) },
        { JITD("metrics_file", parse_path, metrics_file) },
        { JITD("notify", parse_notify, notify) },
        { JITD("audit_key", parse_path, audit_key) },
        { JITD("review_within", parse_duration, review_within) },
        { JITD("record_break_glass", parse_record, record_break_glass) },
        { JITD("record_dir", parse_record_dir, record_dir) },
        { JITD("record_retention", parse_duration, record_retention) },
};

static const struct key role_keys[] = {
        { ROLE("members", parse_list, members),
          .valid = valid_principal, .what = PRINCIPALS, .empty_ok = true },
        { ROLE("hosts", parse_list, hosts),
          .valid = valid_host_pattern, .what = "a host name pattern (letters, digits, . _ - * ? [ ])" },
        { ROLE("services", parse_list, services),
          .valid = valid_service_name, .what = "a PAM service name" },
        { ROLE("runas", parse_list, runas),
          .valid = valid_user_name, .what = "a user name" },
        { ROLE("commands", parse_commands, commands),
          .valid = valid_sudoers_command, .what = "ALL or an absolute path (letters, digits, / . _ + - only)" },
        { ROLE("nopasswd", parse_bool, nopasswd) },
        { ROLE("approval", parse_approval, approval) },
        { ROLE("approvers", parse_list, approvers),
          .valid = valid_principal, .what = PRINCIPALS, .empty_ok = true },
        { ROLE("approvals", parse_uint, approvals), .min = 1, .max = 100 },
        { ROLE("ticket", parse_ticket_mode, ticket) },
        { ROLE("ticket_pattern", parse_ticket_pattern, ticket_pattern) },
        { ROLE("default_duration", parse_duration, default_duration) },
        { ROLE("max_duration", parse_duration, max_duration) },
        { ROLE("break_glass", parse_list, break_glass),
          .valid = valid_principal, .what = PRINCIPALS, .empty_ok = true },
        { ROLE("break_glass_duration", parse_duration, break_glass_duration) },
        /* 0 (unlimited) or 1 (single use): counting more uses is not
         * implemented, and a limit that is not enforced must not parse. */
        { ROLE("uses", parse_uint, uses), .min = 0, .max = 1 },
        { ROLE("max_extensions", parse_uint, max_extensions), .min = 0, .max = 100 },
        { ROLE("record", parse_record, record) },
};

static const struct key ticket_keys[] = {
        { TICKET("provider", parse_provider, provider) },
        { TICKET("url", parse_url, url) },
        { TICKET("token_file", parse_path, token_file) },
        { TICKET("auth", parse_auth, auth) },
        { TICKET("lookup", parse_lookup, lookup) },
        { TICKET("status", parse_pointer, status) },
        { TICKET("approved", parse_list, approved),
          .valid = valid_item, .what = "a status value" },
        { TICKET("closed", parse_list, closed),
          .valid = valid_item, .what = "a status value" },
        { TICKET("requester", parse_pointer, requester) },
        { TICKET("user_map", parse_text, user_map) },
        { TICKET("window_start", parse_pointer, window_start) },
        { TICKET("window_end", parse_pointer, window_end) },
        { TICKET("hosts", parse_pointer, hosts) },
        { TICKET("comment", parse_bool, comment) },
        { TICKET("allow_http", parse_bool, allow_http) },
        { TICKET("poll", parse_duration, poll) },
        { TICKET("timeout", parse_duration, timeout) },
        { TICKET("pending_timeout", parse_duration, pending_timeout) },
        { TICKET("ca_file", parse_path, ca_file) },
        { TICKET("project", parse_project, project) },
        { TICKET("helper_user", parse_user, helper_user) },
};

static const struct key fleet_keys[] = {
        { FLEET("database", parse_conninfo, database) },
        { FLEET("write_database", parse_conninfo, write_database) },
        { FLEET("password_file", parse_path, password_file) },
        { FLEET("sync", parse_duration_range, sync), .min = FLEET_SYNC_MIN, .max = FLEET_SYNC_MAX },
        { FLEET("allowed_signers", parse_path, allowed_signers) },
        { FLEET("ticket_jitter", parse_duration_range, ticket_jitter), .min = FLEET_TICKET_JITTER_MIN,
          .max = FLEET_TICKET_JITTER_MAX },
};

_Static_assert(ELEMENTSOF(jitd_keys) <= KEYS_MAX, "key_line too small");
_Static_assert(ELEMENTSOF(role_keys) <= KEYS_MAX, "key_line too small");
_Static_assert(ELEMENTSOF(ticket_keys) <= KEYS_MAX, "key_line too small");
_Static_assert(ELEMENTSOF(fleet_keys) <= KEYS_MAX, "key_line too small");

static void check_role(struct parser *ps, const struct role *r)
{
        char a[32], b[32];

        if (!r->members)
                perr(ps, r->line, "role '%s' has no members", r->name);
        if (r->max_duration < r->default_duration) {
                duration_format(r->default_duration, a, sizeof(a));
                duration_format(r->max_duration, b, sizeof(b));
                perr(ps, r->line, "role '%s': default_duration %s exceeds max_duration %s", r->name, a, b);
        }
        if ((r->approval & APPROVAL_PEER) && !r->approvers)
                perr(ps, r->line, "role '%s': approval includes peer (the default) but approvers is not set",
                     r->name);
        if ((r->approval & APPROVAL_PEER) && (r->approval & APPROVAL_AUTO))
                perr(ps, r->line, "role '%s': approval cannot combine auto with peer "
                     "(auto approves at once, so no peer would ever be asked)", r->name);
        if ((r->approval & APPROVAL_TICKET) && r->ticket == TICKET_NONE)
                perr(ps, r->line, "role '%s': approval includes ticket but ticket = none", r->name);
        if (r->ticket == TICKET_NONE && r->ticket_pattern)
                perr(ps, r->line, "role '%s': ticket_pattern is set but ticket = none", r->name);
        if (!(r->approval & APPROVAL_PEER) && r->approvals > 1)
                perr(ps, r->line, "role '%s': approvals = %u but approval does not include peer", r->name,
                     r->approvals);
        if ((r->approval & APPROVAL_PEER) && r->approvers) {
                bool groups = false;

                for (char **i = r->approvers; *i; i++)
                        groups = groups || (*i)[0] == '%';
                if (!groups && r->approvals > strv_length(r->approvers))
                        perr(ps, r->line, "role '%s': approvals = %u but approvers names only %zu %s",
                             r->name, r->approvals, strv_length(r->approvers),
                             strv_length(r->approvers) == 1 ? "user" : "users");
        }
}

/* Cross-checks run only on a section whose own lines were all fine: a rejected
 * "members = ..." would otherwise also be reported as "no members". */
static void end_section(struct parser *ps)
{
        bool clean = ps->n_errors == ps->section_errors;

        if (ps->section == SEC_ROLE && ps->role && ps->role != &ps->scratch && clean)
                check_role(ps, ps->role);
        if (ps->section == SEC_TICKET && !clean)
                ps->ticket_bad = true;
        if (ps->section == SEC_FLEET && clean && !ps->cfg->fleet.database)
                perr(ps, ps->cfg->fleet.line, "[fleet] needs database (a connection string)");
}

static struct role *find_role(struct config *c, const char *name)
{
        for (size_t i = 0; i < c->n_roles; i++)
                if (strcmp(c->roles[i].name, name) == 0)
                        return &c->roles[i];
        return NULL;
}

static void begin_role(struct parser *ps, const char *name)
{
        struct config *c = ps->cfg;
        const struct role *old = NULL;
        struct role *v;

        if (!name[0])
                perr(ps, ps->lineno, "missing role name in [%s]", ps->section_name);
        else if (!valid_role_name(name))
                perr(ps, ps->lineno, "invalid role name '%s' (letters, digits, _ . - and at most %d characters)",
                     name, JIT_ROLE_MAX);
        else if ((old = find_role(c, name)))
                perr(ps, ps->lineno, "duplicate role '%s' (first defined at line %u)", name, old->line);
        else {
                v = realloc(c->roles, (c->n_roles + 1) * sizeof(*v));
                if (!v) {
                        ps->oom = true;
                        return;
                }
                c->roles = v;
                if (role_init(&c->roles[c->n_roles], name, ps->lineno) < 0) {
                        ps->oom = true;
                        return;
                }
                ps->role = &c->roles[c->n_roles++];
                ps->section = SEC_ROLE;
                return;
        }

        /* Still read the keys, so that their mistakes show up in the same run. */
        role_clear(&ps->scratch);
        if (role_init(&ps->scratch, name, ps->lineno) < 0) {
                ps->oom = true;
                return;
        }
        ps->role = &ps->scratch;
        ps->section = SEC_ROLE;
}

/* s is a trimmed line starting with '['. Returns false when it is malformed. */
static bool begin_section(struct parser *ps, const char *s)
{
        size_t len = strlen(s);
        char *copy, *name;

        end_section(ps);
        ps->section = SEC_IGNORED;
        ps->section_errors = ps->n_errors;
        ps->role = NULL;
        memset(ps->key_line, 0, sizeof(ps->key_line));
        free(ps->section_name);
        ps->section_name = NULL;

        if (len < 2 || s[len - 1] != ']') {
                perr(ps, ps->lineno, strchr(s, ']') ? "syntax error: text after ']'"
                                                    : "syntax error: '[' without a closing ']'");
                return false;
        }
        copy = strndup(s + 1, len - 2);
        if (!copy) {
                ps->oom = true;
                return false;
        }
        name = trim(copy);
        ps->section_name = strdup(name);
        if (!ps->section_name) {
                ps->oom = true;
        } else if (strcmp(name, "jitd") == 0) {
                if (ps->jitd_line)
                        perr(ps, ps->lineno, "duplicate section [jitd] (first at line %u)", ps->jitd_line);
                else
                        ps->jitd_line = ps->lineno;
                ps->section = SEC_JITD;
        } else if (strcmp(name, "ticket") == 0) {
                if (ps->ticket_line)
                        perr(ps, ps->lineno, "duplicate section [ticket] (first at line %u)", ps->ticket_line);
                else
                        ps->ticket_line = ps->lineno;
                ps->section = SEC_TICKET;
        } else if (strcmp(name, "fleet") == 0) {
                if (ps->cfg->fleet.line) {
                        perr(ps, ps->lineno, "duplicate section [fleet] (first at line %u)", ps->cfg->fleet.line);
                } else {
                        ps->cfg->fleet.line = ps->lineno;
                        if (ps->flags & CONFIG_REFUSE_FLEET)
                                perr(ps, ps->lineno, CONFIG_FLEET_UNIMPLEMENTED);
                }
                ps->section = SEC_FLEET;
        } else if (strncmp(name, "role:", 5) == 0) {
                begin_role(ps, trim(name + 5));
        } else {
                /* Its keys are not reported one by one: one message is enough. */
                perr(ps, ps->lineno, "unknown section [%s]%s", name,
                     strcmp(name, "role") == 0 ? " (a role is [role:NAME])" : "");
        }
        free(copy);
        return true;
}

/* Cleans the physical line in ps->buf (n bytes) into ps->cur. Returns false for
 * a line that is empty, a comment, or already reported as an error. */
static bool clean_line(struct parser *ps, size_t n)
{
        char *s = ps->buf;

        if (memchr(s, '\0', n)) {
                perr(ps, ps->lineno, "NUL byte in line");
                return false;
        }
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
                s[--n] = '\0';
        if (ps->lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
                s += 3;
        for (char *p = s; *p; p++) {
                if (((unsigned char) *p < 0x20 && *p != '\t') || *p == 0x7f) {
                        perr(ps, ps->lineno, "control character in line");
                        return false;
                }
                if ((*p == '#' || *p == ';') && (p == s || is_blank(p[-1]))) {
                        *p = '\0';
                        break;
                }
        }
        ps->cur = trim(s);
        return ps->cur[0] != '\0';
}

/* inih's reader: one physical line per call, so that ps->lineno is the line
 * inih is on. Lines inih should not see are handed over as empty lines, which
 * keeps the counts in step. */
static char *read_line(char *buf, int num, void *userdata)
{
        struct parser *ps = userdata;
        const char *s;
        size_t len, sep;
        ssize_t n;

        if (num < 3)
                return NULL;
        errno = 0;
        n = getline(&ps->buf, &ps->buf_size, ps->f);
        if (n < 0) {
                if (ferror(ps->f))
                        ps->read_errno = errno ? errno : EIO;
                else if (errno == ENOMEM)
                        ps->oom = true;
                return NULL;
        }
        ps->lineno++;
        ps->truncated = false;
        strcpy(buf, "\n");
        if (!clean_line(ps, (size_t) n))
                return buf;

        s = ps->cur;
        len = strlen(s);
        if (s[0] == '[') {
                if (!begin_section(ps, s) || len + 2 > (size_t) num)
                        return buf;
        } else {
                sep = strcspn(s, "=:");
                if (!s[sep]) {
                        perr(ps, ps->lineno, "syntax error: expected 'key = value' or '[section]'");
                        return buf;
                }
                if (sep + 3 > (size_t) num) {
                        perr(ps, ps->lineno, "key name too long");
                        return buf;
                }
                if (len + 2 > (size_t) num) {
                        /* The name fits; on_key() takes the value from ps->cur. */
                        len = (size_t) num - 2;
                        ps->truncated = true;
                }
        }
        memcpy(buf, s, len);
        buf[len] = '\n';
        buf[len + 1] = '\0';
        return buf;
}

static void handle_key(struct parser *ps, const char *name, const char *value)
{
        const struct key *table;
        size_t n, i;
        void *target;

        switch (ps->section) {
        case SEC_NONE:
                perr(ps, ps->lineno, "key '%s' outside of any section", name);
                return;
        case SEC_IGNORED:
                return;
        case SEC_JITD:
                table = jitd_keys;
                n = ELEMENTSOF(jitd_keys);
                target = ps->cfg;
                break;
        case SEC_TICKET:
                table = ticket_keys;
                n = ELEMENTSOF(ticket_keys);
                target = &ps->cfg->ticket;
                break;
        case SEC_ROLE:
                table = role_keys;
                n = ELEMENTSOF(role_keys);
                target = ps->role;
                break;
        case SEC_FLEET:
                table = fleet_keys;
                n = ELEMENTSOF(fleet_keys);
                target = &ps->cfg->fleet;
                break;
        default:
                return;
        }
        if (!name[0]) {
                perr(ps, ps->lineno, "missing key name before '='");
                return;
        }
        for (i = 0; i < n; i++)
                if (strcmp(table[i].name, name) == 0)
                        break;
        if (i == n) {
                perr(ps, ps->lineno, "unknown key '%s' in [%s]", name, ps->section_name);
                return;
        }
        if (ps->key_line[i]) {
                perr(ps, ps->lineno, "duplicate key '%s' in [%s] (first set at line %u)", name,
                     ps->section_name, ps->key_line[i]);
                return;
        }
        ps->key_line[i] = ps->lineno;
        table[i].parse(ps, &table[i], target, value);
}

#if INI_HANDLER_LINENO
static int on_key(void *user, const char *section, const char *name, const char *value, int lineno)
#else
static int on_key(void *user, const char *section, const char *name, const char *value)
#endif
{
        struct parser *ps = user;

        (void) section;                 /* ours is in ps, with its line */
#if INI_HANDLER_LINENO
        (void) lineno;                  /* equals ps->lineno: one reader call per line */
#endif
        if (!name)                      /* INI_CALL_HANDLER_ON_NEW_SECTION builds */
                return 1;
        if (!value)
                value = "";
        if (ps->truncated) {
                value = ps->cur + strcspn(ps->cur, "=:") + 1;
                while (is_blank(*value))
                        value++;
        }
        handle_key(ps, name, value);
        return 1;                       /* errors are ours to collect: never stop inih */
}

static void check_ticket(struct parser *ps)
{
        const struct ticket_config *t = &ps->cfg->ticket;

        if (t->url && !url_has_scheme(t->url, t->allow_http))
                perr(ps, ps->url_line, "url: plain http is refused unless allow_http = yes");
        if (t->lookup && strncmp(t->lookup, "{url}", 5) != 0 && !url_has_scheme(t->lookup, t->allow_http))
                perr(ps, ps->lookup_line, "lookup: plain http is refused unless allow_http = yes");
        if (t->lookup && strstr(t->lookup, "{url}") && !t->url)
                perr(ps, ps->lookup_line, "lookup: uses {url} but url is not set");
        if (strcmp(t->provider, "none") == 0 || strcmp(t->provider, "http") == 0) {
                if (strcmp(t->provider, "http") == 0 && (!t->lookup || !t->status || !t->approved))
                        perr(ps, ps->ticket_line, "provider http needs lookup, status and approved");
        } else if (!t->url) {
                perr(ps, ps->ticket_line, "provider %s needs url", t->provider);
        }
        /* Asked only once the URL itself is right: a wrong url already says
         * the lookup cannot be built. */
        if (!t->project && t->url && url_has_scheme(t->url, t->allow_http) &&
            ((t->lookup && strstr(t->lookup, "{project}")) || (strcmp(t->provider, "gitlab") == 0 && !t->lookup)))
                perr(ps, ps->ticket_line, "provider %s needs project (like 42 or group/repo)", t->provider);
}

int config_load(const char *path, struct config **ret, struct config_errors *e)
{
        int fd, r;

        if (!path || !ret)
                return -EINVAL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                struct parser ps = { .path = path, .errors = e };

                r = -errno;
                perr(&ps, 0, "cannot open: %s", strerror(-r));
                return r;
        }
        r = config_load_fd(fd, path, ret, e);
        close(fd);
        return r;
}

int config_load_fd(int fd, const char *path, struct config **ret, struct config_errors *e)
{
        return config_load_fd_flags(fd, path, 0, ret, e);
}

int config_load_fd_flags(int fd, const char *path, unsigned flags, struct config **ret,
                         struct config_errors *e)
{
        struct parser ps = { .path = path, .flags = flags, .errors = e };
        char host[HOST_NAME_MAX + 1];
        int r, own;

        if (fd < 0 || !path || !ret)
                return -EINVAL;
        /* Read from the start of the very file the caller checked. */
        own = dup(fd);
        if (own < 0 || lseek(own, 0, SEEK_SET) < 0 || !(ps.f = fdopen(own, "r"))) {
                r = -errno;
                if (own >= 0)
                        close(own);
                perr(&ps, 0, "cannot read: %s", strerror(-r));
                return r;
        }
        r = config_new(path, &ps.cfg);
        if (r < 0)
                goto out;

        r = ini_parse_stream(read_line, &ps, on_key, &ps);
        if (r == -2)
                ps.oom = true;
        else if (r > 0)                 /* the reader lets through only what inih takes */
                perr(&ps, (unsigned) r, "syntax error");
        if (ps.read_errno) {
                r = -ps.read_errno;
                perr(&ps, 0, "cannot read: %s", strerror(ps.read_errno));
                goto out;
        }

        end_section(&ps);
        if (!ps.ticket_bad)
                check_ticket(&ps);

        if (!ps.cfg->host) {
                if (gethostname(host, sizeof(host)) < 0) {
                        r = -errno;
                        perr(&ps, 0, "cannot get the host name: %s", strerror(-r));
                        goto out;
                }
                host[sizeof(host) - 1] = '\0';
                set_string(&ps, &ps.cfg->host, host);
        }

        if (ps.oom)
                r = -ENOMEM;
        else if (ps.n_errors > 0)
                r = -EINVAL;
        else {
                *ret = TAKE_PTR(ps.cfg);
                r = 0;
        }
out:
        fclose(ps.f);
        free(ps.buf);
        free(ps.section_name);
        role_clear(&ps.scratch);
        config_free(ps.cfg);
        return r;
}

bool config_value_fits(const char *value)
{
        size_t n;

        if (!value || !value[0])
                return false;
        n = strlen(value);
        if (is_blank(value[0]) || is_blank(value[n - 1]))
                return false;
        for (const char *p = value; *p; p++) {
                if (((unsigned char) *p < 0x20 && *p != '\t') || *p == 0x7f)
                        return false;
                /* The same rule as clean_line(). */
                if ((*p == '#' || *p == ';') && p > value && is_blank(p[-1]))
                        return false;
        }
        return true;
}

const struct role *config_find_role(const struct config *c, const char *name)
{
        if (!c || !name)
                return NULL;
        for (size_t i = 0; i < c->n_roles; i++)
                if (strcmp(c->roles[i].name, name) == 0)
                        return &c->roles[i];
        return NULL;
}

void approval_format(unsigned flags, char *buf, size_t size)
{
        size_t len = 0;

        if (!buf || size == 0)
                return;
        buf[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(approval_names); i++) {
                int k;

                if (!(flags & approval_names[i].flag))
                        continue;
                k = snprintf(buf + len, size - len, "%s%s", len ? "," : "", approval_names[i].name);
                if (k < 0 || (size_t) k >= size - len)
                        return;
                len += (size_t) k;
        }
}

const char *record_mode_to_string(enum record_mode m)
{
        switch (m) {
        case RECORD_NONE:
                return "none";
        case RECORD_OUTPUT:
                return "output";
        case RECORD_ALL:
                return "all";
        }
        return "?";
}

enum record_mode config_record_mode(const struct config *c, const struct role *r, bool break_glass)
{
        enum record_mode m = r ? r->record : RECORD_NONE;

        if (break_glass && c && c->record_break_glass > m)
                m = c->record_break_glass;
        return m;
}

bool config_records_any(const struct config *c)
{
        for (size_t i = 0; c && i < c->n_roles; i++)
                if (config_record_mode(c, &c->roles[i], c->roles[i].break_glass != NULL) != RECORD_NONE)
                        return true;
        return false;
}
