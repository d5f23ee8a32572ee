/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "duration.h"
#include "gating.h"
#include "policy.h"
#include "util.h"

/* NSS answers can be big (a group with thousands of members); past this the
 * entry is treated as unreadable rather than grown without end. */
#define NSS_BUF_MAX (4u << 20)
#define NGROUPS_CAP 65536

static void set_why(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_why(char *why, size_t size, const char *fmt, ...)
{
        va_list ap;

        if (!why || size == 0)
                return;
        va_start(ap, fmt);
        vsnprintf(why, size, fmt, ap);
        va_end(ap);
}

static size_t nss_buf_size(int name)
{
        long n = sysconf(name);

        return n > 0 && n < (long) NSS_BUF_MAX ? (size_t) n : 1024;
}

/* getpw*_r report "no such user" as 0 with no result, or as one of several
 * errnos depending on the NSS module. */
static int nss_missing(int r)
{
        return r == 0 || r == ENOENT || r == ESRCH;
}

static int passwd_lookup(const char *name, uid_t uid, struct passwd *pw, char **ret_buf)
{
        size_t size = nss_buf_size(_SC_GETPW_R_SIZE_MAX);

        for (;;) {
                struct passwd *res = NULL;
                char *buf = malloc(size);
                int r;

                if (!buf)
                        return -ENOMEM;
                r = name ? getpwnam_r(name, pw, buf, size, &res) : getpwuid_r(uid, pw, buf, size, &res);
                if (r == 0 && res) {
                        *ret_buf = buf;
                        return 0;
                }
                free(buf);
                if (r == ERANGE && size < NSS_BUF_MAX) {
                        size *= 2;
                        continue;
                }
                return nss_missing(r) ? -ENOENT : -r;
        }
}

static int group_name(gid_t gid, char **ret)
{
        size_t size = nss_buf_size(_SC_GETGR_R_SIZE_MAX);

        for (;;) {
                struct group gr, *res = NULL;
                char *buf = malloc(size), *s;
                int r;

                if (!buf)
                        return -ENOMEM;
                r = getgrgid_r(gid, &gr, buf, size, &res);
                if (r == 0 && res) {
                        s = strdup(gr.gr_name);
                        free(buf);
                        if (!s)
                                return -ENOMEM;
                        *ret = s;
                        return 0;
                }
                free(buf);
                if (r == ERANGE && size < NSS_BUF_MAX) {
                        size *= 2;
                        continue;
                }
                return nss_missing(r) ? -ENOENT : -r;
        }
}

static int user_groups(const char *user, gid_t gid, char ***ret)
{
        gid_t *gids = NULL;
        char **names = NULL;
        int n = 32, r;
        size_t k = 0;

        for (;;) {
                gid_t *v = realloc(gids, (size_t) n * sizeof(gid_t));
                int want = n;

                if (!v) {
                        r = -ENOMEM;
                        goto out;
                }
                gids = v;
                if (getgrouplist(user, gid, gids, &want) >= 0) {
                        n = want;
                        break;
                }
                /* want now holds the count needed (glibc); grow at least by double. */
                if (n >= NGROUPS_CAP) {
                        r = -E2BIG;
                        goto out;
                }
                n = want > n ? want : n * 2;
        }

        names = calloc((size_t) n + 1, sizeof(char *));
        if (!names) {
                r = -ENOMEM;
                goto out;
        }
        for (int i = 0; i < n; i++) {
                char *s = NULL;

                r = group_name(gids[i], &s);
                if (r == -ENOENT)
                        continue;       /* a gid without a name cannot be written as %group */
                if (r < 0)
                        goto out;
                if (strv_contains(names, s)) {
                        free(s);
                        continue;
                }
                names[k++] = s;
        }
        *ret = names;
        names = NULL;
        r = 0;
out:
        strv_free(names);
        free(gids);
        return r;
}

/* Is user (primary group gid) in group name? Asked of NSS by name, as
 * pam_succeed_if's "ingroup" does: modules are asked in order and the first
 * that knows the group answers, where getgrouplist() would ask every module
 * for every group of the user (with nss-systemd, dozens of system calls). A
 * group no module knows has no members; any other failure is an error. */
static int user_in_group(const char *user, gid_t gid, const char *name, bool *ret)
{
        size_t size = nss_buf_size(_SC_GETGR_R_SIZE_MAX);

        for (;;) {
                struct group gr, *res = NULL;
                char *buf = malloc(size);
                int r;

                if (!buf)
                        return -ENOMEM;
                r = getgrnam_r(name, &gr, buf, size, &res);
                if (r == 0 && res) {
                        *ret = gr.gr_gid == gid || strv_contains(gr.gr_mem, user);
                        free(buf);
                        return 0;
                }
                free(buf);
                if (r == ERANGE && size < NSS_BUF_MAX) {
                        size *= 2;
                        continue;
                }
                if (nss_missing(r)) {
                        *ret = false;
                        return 0;
                }
                return -r;
        }
}

static int add_group(char ***v, size_t *n, size_t *cap, const char *name)
{
        char *s;

        if (strv_contains(*v, name))
                return 0;
        if (array_reserve((void **) v, cap, *n + 1, sizeof(char *)) < 0 || !(s = strdup(name)))
                return -ENOMEM;
        (*v)[(*n)++] = s;
        (*v)[*n] = NULL;
        return 0;
}

/* The groups the config names ("%g" in members, approvers and break_glass,
 * and admin_group) that user is in. */
static int config_groups(const struct config *c, const char *user, gid_t gid, char ***ret)
{
        char **names = calloc(1, sizeof(char *));
        size_t n = 0, cap = 1;
        int r = 0;

        if (!names)
                return -ENOMEM;
        for (size_t i = 0; r >= 0 && i <= c->n_roles; i++) {
                char **const lists[] = {
                        i < c->n_roles ? c->roles[i].members : NULL,
                        i < c->n_roles ? c->roles[i].approvers : NULL,
                        i < c->n_roles ? c->roles[i].break_glass : NULL,
                };

                for (size_t l = 0; r >= 0 && l < ELEMENTSOF(lists); l++)
                        for (char **e = lists[l]; r >= 0 && e && *e; e++) {
                                bool in = false;

                                if ((*e)[0] != '%' || strv_contains(names, *e + 1))
                                        continue;
                                r = user_in_group(user, gid, *e + 1, &in);
                                if (r >= 0 && in)
                                        r = add_group(&names, &n, &cap, *e + 1);
                        }
                if (r >= 0 && i == c->n_roles && c->admin_group && !strv_contains(names, c->admin_group)) {
                        bool in = false;

                        r = user_in_group(user, gid, c->admin_group, &in);
                        if (r >= 0 && in)
                                r = add_group(&names, &n, &cap, c->admin_group);
                }
        }
        if (r < 0) {
                strv_free(names);
                return r;
        }
        *ret = names;
        return 0;
}

static int principal_from_passwd(const struct config *c, const struct passwd *pw, struct principal **ret)
{
        struct principal *p = calloc(1, sizeof(*p));
        int r;

        if (!p)
                return -ENOMEM;
        p->uid = pw->pw_uid;
        p->gid = pw->pw_gid;
        p->name = strdup(pw->pw_name);
        if (!p->name) {
                principal_free(p);
                return -ENOMEM;
        }
        r = c ? config_groups(c, pw->pw_name, pw->pw_gid, &p->groups) :
                user_groups(pw->pw_name, pw->pw_gid, &p->groups);
        if (r < 0) {
                principal_free(p);
                return r;
        }
        *ret = p;
        return 0;
}

int principal_from_uid(const struct config *c, uid_t uid, struct principal **ret)
{
        struct passwd pw;
        char *buf = NULL;
        int r;

        r = passwd_lookup(NULL, uid, &pw, &buf);
        if (r < 0)
                return r;
        r = principal_from_passwd(c, &pw, ret);
        free(buf);
        return r;
}

int principal_from_name(const struct config *c, const char *name, struct principal **ret)
{
        struct passwd pw;
        char *buf = NULL;
        int r;

        if (!name || !*name)
                return -EINVAL;
        r = passwd_lookup(name, 0, &pw, &buf);
        if (r < 0)
                return r;
        r = principal_from_passwd(c, &pw, ret);
        free(buf);
        return r;
}

void principal_free(struct principal *p)
{
        if (!p)
                return;
        free(p->name);
        strv_free(p->groups);
        free(p);
}

int principal_copy(const struct principal *p, struct principal **ret)
{
        struct principal *q = calloc(1, sizeof(*q));
        size_t n = strv_length(p->groups);

        if (!q)
                return -ENOMEM;
        q->uid = p->uid;
        q->gid = p->gid;
        q->name = strdup(p->name);
        q->groups = calloc(n + 1, sizeof(char *));
        if (!q->name || !q->groups) {
                principal_free(q);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                if (!(q->groups[i] = strdup(p->groups[i]))) {
                        principal_free(q);
                        return -ENOMEM;
                }
        *ret = q;
        return 0;
}

bool policy_list_matches(char *const *list, const struct principal *p)
{
        if (!list || !p || !p->name)
                return false;
        for (; *list; list++) {
                const char *e = *list;

                if (e[0] == '%') {
                        if (strv_contains(p->groups, e + 1))
                                return true;
                } else if (strcmp(e, p->name) == 0)
                        return true;
        }
        return false;
}

/* NULL lists mean the defaults documented in config.h, so that a role built by
 * hand behaves like one read from a file. */
bool policy_host_matches(const struct role *r, const char *host)
{
        if (!r || !host)
                return false;
        if (!r->hosts)
                return true;
        /* Host names are case-insensitive (RFC 4343). */
        for (char **h = r->hosts; *h; h++)
                if (fnmatch(*h, host, FNM_CASEFOLD) == 0)
                        return true;
        return false;
}

static size_t literal_prefix(const char *pattern)
{
        return strcspn(pattern, "*?[");
}

static bool pattern_within(const char *inner, const char *outer)
{
        size_t in = literal_prefix(inner), out = literal_prefix(outer);

        if (strcasecmp(inner, outer) == 0)
                return true;
        if (!inner[in])
                return fnmatch(outer, inner, FNM_CASEFOLD) == 0;
        /* outer is PREFIX* and inner's own literal prefix starts with PREFIX. */
        return outer[out] == '*' && !outer[out + 1] && in >= out && strncasecmp(inner, outer, out) == 0;
}

bool policy_scope_within(const struct role *r, const char *pattern, char *why, size_t why_size)
{
        if (!r || !pattern || !pattern[0]) {
                set_why(why, why_size, "%s", "an empty host pattern");
                return false;
        }
        if (!r->hosts)
                return true;
        for (char **h = r->hosts; *h; h++)
                if (pattern_within(pattern, *h))
                        return true;
        set_why(why, why_size, "host pattern '%s' is wider than role '%s' allows", pattern, r->name);
        return false;
}

bool policy_pattern_matches(const char *pattern, const char *host)
{
        return pattern && host && fnmatch(pattern, host, FNM_CASEFOLD) == 0;
}

bool policy_service_matches(const struct role *r, const char *service)
{
        return gating_role_gates(r, service);
}

bool policy_eligible(const struct role *r, const struct principal *p, const char *host,
                     char *why, size_t why_size)
{
        if (!r || !policy_list_matches(r->members, p)) {
                set_why(why, why_size, "not a member");
                return false;
        }
        if (!policy_host_matches(r, host)) {
                set_why(why, why_size, "role '%s' does not apply to host '%s'", r->name, host ? host : "");
                return false;
        }
        set_why(why, why_size, "%s", "");
        return true;
}

static bool ticket_matches(const struct role *r, const char *ticket, bool *ret)
{
        regex_t re;

        if (r->ticket_re_set) {
                *ret = regexec(&r->ticket_re, ticket, 0, NULL, 0) == 0;
                return true;
        }
        /* A role built by hand may carry only the pattern. */
        if (regcomp(&re, r->ticket_pattern, REG_EXTENDED | REG_NOSUB) != 0)
                return false;
        *ret = regexec(&re, ticket, 0, NULL, 0) == 0;
        regfree(&re);
        return true;
}

bool policy_ticket_ok(const struct role *r, const char *ticket, char *why, size_t why_size)
{
        bool match;

        if (!ticket)
                ticket = "";
        if (!r) {
                set_why(why, why_size, "no such role");
                return false;
        }
        /* Checked first: the ticket is echoed in the messages below. */
        if (!valid_ticket(ticket)) {
                set_why(why, why_size, "invalid ticket (letters, digits and _ . : / # - only, at most %d)",
                        JIT_TICKET_MAX);
                return false;
        }
        if (!ticket[0]) {
                if (r->ticket == TICKET_REQUIRED) {
                        set_why(why, why_size, "ticket required");
                        return false;
                }
                set_why(why, why_size, "%s", "");
                return true;
        }
        if (r->ticket == TICKET_NONE) {
                set_why(why, why_size, "this role takes no ticket");
                return false;
        }
        if (r->ticket_pattern) {
                if (!ticket_matches(r, ticket, &match)) {
                        set_why(why, why_size, "role '%s' has an invalid ticket_pattern", r->name);
                        return false;
                }
                if (!match) {
                        set_why(why, why_size, "ticket '%s' does not match %s", ticket, r->ticket_pattern);
                        return false;
                }
        }
        set_why(why, why_size, "%s", "");
        return true;
}

int policy_duration(const struct role *r, uint64_t requested, uint64_t *ret, char *why, size_t why_size)
{
        char a[32], b[32];
        uint64_t d;

        if (!r || !ret)
                return -EINVAL;
        d = requested ? requested : r->default_duration;
        if (d == 0) {
                set_why(why, why_size, "role '%s' has no default duration", r->name);
                return -EINVAL;
        }
        if (d > r->max_duration) {
                duration_format(d, a, sizeof(a));
                duration_format(r->max_duration, b, sizeof(b));
                set_why(why, why_size, "duration %s exceeds the role's maximum of %s", a, b);
                return -ERANGE;
        }
        set_why(why, why_size, "%s", "");
        *ret = d;
        return 0;
}

bool policy_is_approver(const struct role *r, const struct principal *p)
{
        return r && policy_list_matches(r->approvers, p);
}

bool policy_is_any_approver(const struct config *c, const struct principal *p)
{
        if (!c)
                return false;
        for (size_t i = 0; i < c->n_roles; i++)
                if (policy_is_approver(&c->roles[i], p))
                        return true;
        return false;
}

bool policy_is_admin(const struct config *c, const struct principal *p)
{
        if (!p)
                return false;
        if (p->uid == 0)
                return true;
        return c && c->admin_group && strv_contains(p->groups, c->admin_group);
}

bool policy_break_glass_ok(const struct role *r, const struct principal *p)
{
        return r && policy_list_matches(r->break_glass, p);
}

/* break_glass people are covered too: a role that names them gates them, or
 * someone listed only for emergencies would pass through PAM untouched. */
bool policy_covers(const struct config *c, const struct principal *p, const char *service,
                   const char *host)
{
        if (!c || !p)
                return false;
        for (size_t i = 0; i < c->n_roles; i++) {
                const struct role *r = &c->roles[i];

                if ((policy_list_matches(r->members, p) || policy_list_matches(r->break_glass, p)) &&
                    policy_host_matches(r, host) && policy_service_matches(r, service))
                        return true;
        }
        return false;
}

enum extension_limit policy_extension_limit(const struct role *r, int64_t starts_at, int64_t expires_at,
                                            unsigned extended, uint64_t duration)
{
        if (r->max_extensions == 0)
                return expires_at + (int64_t) duration > starts_at + (int64_t) r->max_duration ?
                       EXTENSION_PAST_MAX_DURATION : EXTENSION_WITHIN;
        if (extended >= r->max_extensions)
                return EXTENSION_TOO_MANY;
        return duration > r->max_duration ? EXTENSION_TOO_LONG : EXTENSION_WITHIN;
}
