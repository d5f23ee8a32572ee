/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading a ticket system's answer. Fields are found by JSON Pointer; what a
 * pointer lands on is read as a list of strings:
 *
 *  - a string is itself ("" is nothing); a number or boolean its JSON text;
 *    null nothing;
 *  - an object is its identity member: the first of username, login, name,
 *    value, id, emailAddress, email that is a string or number. The order puts
 *    logins before display names (GitLab's "name" is a display name anyone can
 *    set, its "username" is not), so a user cannot pose as another by
 *    renaming;
 *  - an array is its elements, each read as above (nested arrays are
 *    skipped).
 *
 * A field matches a set of values when any of its strings does: statuses and
 * hosts case-insensitively (Jira says "Approved", DNS ignores case), requesters
 * exactly. A hosts string may list several names separated by commas or
 * blanks.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json_pointer.h>

#include "ticket_internal.h"
#include "ticket_ipc.h"
#include "util.h"

#define VALUES_MAX 64
#define JSON_DEPTH 32

struct values {
        const char *v[VALUES_MAX];
        size_t n;
        bool present;                   /* the pointer resolved (even to null) */
};

static const char *const identity_members[] = { "username", "login", "name", "value", "id", "emailAddress", "email" };

int ticket_json_parse(const char *body, size_t len, json_object **ret, char *why, size_t why_size)
{
        struct json_tokener *tok;
        enum json_tokener_error err;
        json_object *o;
        size_t end;

        if (len == 0) {
                snprintf(why, why_size, "empty response from the ticket system");
                return -EBADMSG;
        }
        if (len > INT_MAX)
                return -E2BIG;
        /* No JSON text holds a NUL byte (in a string it must be escaped), and
         * json-c's tokener would stop at one: refuse it wherever it is. */
        if (memchr(body, '\0', len)) {
                snprintf(why, why_size, "malformed JSON from the ticket system: a NUL byte");
                return -EBADMSG;
        }
        tok = json_tokener_new_ex(JSON_DEPTH);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, body, (int) len);
        err = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (!o || err != json_tokener_success) {
                json_object_put(o);
                snprintf(why, why_size, "malformed JSON from the ticket system: %s",
                         err == json_tokener_continue ? "truncated" : json_tokener_error_desc(err));
                return -EBADMSG;
        }
        /* JSON's white space (RFC 8259 section 2), spelt out: strchr() would
         * also find the terminating NUL. */
        for (; end < len; end++)
                if (body[end] != ' ' && body[end] != '\t' && body[end] != '\r' && body[end] != '\n') {
                        json_object_put(o);
                        snprintf(why, why_size, "malformed JSON from the ticket system: trailing data");
                        return -EBADMSG;
                }
        *ret = o;
        return 0;
}

static const char *scalar(json_object *o)
{
        switch (json_object_get_type(o)) {
        case json_type_string:
                /* "Approved\u0000 (not really)" would read as "Approved" to
                 * every C string function below: such a value is no value. */
                if (strlen(json_object_get_string(o)) != (size_t) json_object_get_string_len(o))
                        return NULL;
                return json_object_get_string(o);
        case json_type_int:
        case json_type_double:
        case json_type_boolean:
                return json_object_get_string(o);
        default:
                return NULL;
        }
}

/* An empty string is how several systems say "nobody" or "none". */
static const char *identity(json_object *o)
{
        json_object *m;
        const char *s;

        if (json_object_get_type(o) != json_type_object)
                return (s = scalar(o)) && s[0] ? s : NULL;
        for (size_t i = 0; i < ELEMENTSOF(identity_members); i++)
                if (json_object_object_get_ex(o, identity_members[i], &m) && (s = scalar(m)) && s[0])
                        return s;
        return NULL;
}

static void values_at(json_object *root, const char *pointer, struct values *out)
{
        json_object *o = NULL;
        const char *s;

        memset(out, 0, sizeof(*out));
        if (!pointer || json_pointer_get(root, pointer, &o) < 0)
                return;
        out->present = true;
        if (json_object_get_type(o) != json_type_array) {
                if ((s = identity(o)))
                        out->v[out->n++] = s;
                return;
        }
        for (size_t i = 0; i < json_object_array_length(o) && out->n < VALUES_MAX; i++)
                if ((s = identity(json_object_array_get_idx(o, i))))
                        out->v[out->n++] = s;
}

const char *ticket_json_string(json_object *root, const char *pointer)
{
        struct values v;

        values_at(root, pointer, &v);
        return v.n > 0 ? v.v[0] : NULL;
}

static bool any_in(const struct values *v, char *const *set)
{
        for (size_t i = 0; i < v->n; i++)
                for (char *const *p = set; p && *p; p++)
                        if (strcasecmp(v->v[i], *p) == 0)
                                return true;
        return false;
}

static void join(const struct values *v, char *buf, size_t size)
{
        char tmp[512] = "";
        size_t len = 0;

        for (size_t i = 0; i < v->n && len < sizeof(tmp) - 1; i++) {
                int n = snprintf(tmp + len, sizeof(tmp) - len, "%s%s", i ? ", " : "", v->v[i]);

                if (n < 0)
                        break;
                len += (size_t) n;
                if (len >= sizeof(tmp))
                        len = sizeof(tmp) - 1;
        }
        text_sanitize(buf, size, tmp, 0);
}

static bool host_listed(const struct values *v, const char *host)
{
        for (size_t i = 0; i < v->n; i++) {
                const char *p = v->v[i];

                while (*p) {
                        size_t n;

                        p += strspn(p, ", \t");
                        n = strcspn(p, ", \t");
                        if (n > 0 && n == strlen(host) && strncasecmp(p, host, n) == 0)
                                return true;
                        p += n;
                }
        }
        return false;
}

static bool requester_matches(const struct values *v, const char *user, const char *mapped)
{
        for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->v[i], user) == 0 || (mapped && strcmp(v->v[i], mapped) == 0))
                        return true;
        return false;
}

/* "{user}@example.org" -> "alice@example.org"; NULL when there is no map. */
static char *map_user(const char *map, const char *user)
{
        const char *p;
        char *out;

        if (!map || !(p = strstr(map, "{user}")))
                return NULL;
        if (asprintf(&out, "%.*s%s%s", (int) (p - map), map, user, p + 6) < 0)
                return NULL;
        return out;
}

static bool digits(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

static int num(const char *s, size_t n)
{
        int v = 0;

        for (size_t i = 0; i < n; i++)
                v = v * 10 + (s[i] - '0');
        return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), without timegm's normalising of impossible dates. */
static int64_t days_from_civil(int y, int m, int d)
{
        int64_t era, yoe, doy, doe;

        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = y - era * 400;
        doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
        static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

        return m == 2 && leap ? 29 : dim[m - 1];
}

int ticket_parse_time(const char *s, int64_t *ret)
{
        int y, mo, d, h, mi, sec = 0, off = 0;
        const char *p;
        int64_t t;

        if (!s || !ret)
                return -EINVAL;
        if (!s[0]) {
                *ret = 0;
                return 0;
        }
        /* YYYY-MM-DD */
        if (strlen(s) < 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2))
                return -EINVAL;
        y = num(s, 4);
        mo = num(s + 5, 2);
        d = num(s + 8, 2);
        if (y == 0 && mo == 0 && d == 0) {      /* MySQL's and Redmine's "no date" */
                *ret = 0;
                return 0;
        }
        /* [T ]HH:MM[:SS[.frac]] */
        p = s + 10;
        if (!(*p == 'T' || *p == 't' || *p == ' ') || !digits(p + 1, 2) || p[3] != ':' || !digits(p + 4, 2))
                return -EINVAL;
        h = num(p + 1, 2);
        mi = num(p + 4, 2);
        p += 6;
        if (*p == ':') {
                if (!digits(p + 1, 2))
                        return -EINVAL;
                sec = num(p + 1, 2);
                p += 3;
                if (*p == '.' || *p == ',') {
                        size_t n = strspn(p + 1, "0123456789");

                        if (n == 0)
                                return -EINVAL;
                        p += 1 + n;     /* fractions of a second do not move a window */
                }
        }
        /* Z, +HH, +HHMM, +HH:MM, or nothing (UTC, as every system here stores) */
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                int sign = *p == '-' ? -1 : 1, oh, om = 0;

                if (!digits(p + 1, 2))
                        return -EINVAL;
                oh = num(p + 1, 2);
                p += 3;
                if (*p == ':')
                        p++;
                if (digits(p, 2) && p[0]) {
                        om = num(p, 2);
                        p += 2;
                }
                if (oh > 23 || om > 59)
                        return -EINVAL;
                off = sign * (oh * 3600 + om * 60);
        }
        if (*p)
                return -EINVAL;
        if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
                return -EINVAL;
        if (sec == 60)
                sec = 59;               /* a leap second: close enough */
        t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
        if (t < 0)
                return -EINVAL;
        *ret = t;
        return 0;
}

/* A window field: a date string, seconds since the epoch (milliseconds when
 * the number is too large to be seconds), or null / absent for none. */
static int window_at(json_object *root, const char *pointer, int64_t *ret, char *bad, size_t bad_size)
{
        json_object *o = NULL;
        int64_t v;

        *ret = 0;
        if (!pointer || json_pointer_get(root, pointer, &o) < 0 || !o)
                return 0;
        switch (json_object_get_type(o)) {
        case json_type_string:
                if (scalar(o) && ticket_parse_time(scalar(o), ret) == 0)
                        return 0;
                break;
        case json_type_int:
                v = json_object_get_int64(o);
                if (v >= 0) {
                        *ret = v > INT64_C(100000000000) ? v / 1000 : v;
                        return 0;
                }
                break;
        default:
                break;
        }
        text_sanitize(bad, bad_size, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), 0);
        return -EINVAL;
}

static void verdict(struct ticket_result *r, enum ticket_verdict v, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void verdict(struct ticket_result *r, enum ticket_verdict v, const char *fmt, ...)
{
        va_list ap;

        r->verdict = v;
        va_start(ap, fmt);
        vsnprintf(r->why, sizeof(r->why), fmt, ap);
        va_end(ap);
}

static void detail(struct ticket_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void detail(struct ticket_result *r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
        va_end(ap);
}

/* The requester binding, read before anything else in the ticket: a ticket
 * that does not name the user tells that user nothing more, neither who
 * asked for it nor its status (why is for the user; detail, for the admin's
 * log, says who). */
static bool check_requester(const struct ticket_settings *s, const char *ticket, const char *user,
                            json_object *root, struct ticket_result *r)
{
        struct values v;
        char names[128];
        char *mapped;
        bool ok;

        if (!s->requester)
                return true;            /* no binding: anyone's ticket, and requester_ok stays false */
        mapped = map_user(s->user_map, user);
        values_at(root, s->requester, &v);
        ok = requester_matches(&v, user, mapped);
        free(mapped);
        if (ok) {
                r->requester_ok = true;
                return true;
        }
        verdict(r, TICKET_REFUSED, "ticket %s does not name you as its requester", ticket);
        join(&v, names, sizeof(names));
        if (v.n == 0)
                detail(r, "ticket %s names no requester (%s)", ticket, s->requester);
        else
                detail(r, "ticket %s was requested by %s, not %s", ticket, names, user);
        return false;
}

static bool check_hosts(const struct ticket_settings *s, const char *ticket, json_object *root,
                        struct ticket_result *r)
{
        struct values v;

        if (s->hosts) {
                values_at(root, s->hosts, &v);
                if (!host_listed(&v, s->host)) {
                        verdict(r, TICKET_REFUSED, "ticket %s is not for this host (%s)", ticket, s->host);
                        return false;
                }
        }
        return true;
}

void ticket_judge(const struct ticket_settings *s, const char *ticket, const char *user, json_object *root,
                  struct ticket_result *r)
{
        struct values st, state;
        char bad[64];
        bool approved, closed;
        int ra, rb;

        memset(r, 0, sizeof(*r));
        if (s->exists && json_pointer_get(root, s->exists, NULL) < 0) {
                verdict(r, TICKET_NOT_FOUND, "ticket %s not found", ticket);
                return;
        }
        if (!check_requester(s, ticket, user, root, r))
                return;
        values_at(root, s->status, &st);
        if (!st.present) {
                verdict(r, TICKET_ERROR, "the ticket system's answer has no %s", s->status);
                return;
        }
        join(&st, r->status, sizeof(r->status));
        closed = any_in(&st, s->closed);
        if (!closed && s->state) {
                values_at(root, s->state, &state);
                if (any_in(&state, s->state_closed)) {
                        closed = true;
                        join(&state, r->status, sizeof(r->status));
                }
        }
        if (closed) {
                verdict(r, TICKET_CLOSED, "ticket %s is %s", ticket, r->status);
                return;
        }
        /* The host binding is checked before approval: a ticket for another
         * host is refused at once instead of waiting to be approved. */
        if (!check_hosts(s, ticket, root, r))
                return;
        approved = any_in(&st, s->approved);
        ra = window_at(root, s->window_start, &r->window_start, bad, sizeof(bad));
        rb = ra < 0 ? 0 : window_at(root, s->window_end, &r->window_end, bad, sizeof(bad));
        if (!approved) {
                if (ra < 0 || rb < 0)
                        r->window_start = r->window_end = 0;
                verdict(r, TICKET_PENDING, "ticket %s is %s, not approved yet", ticket,
                        r->status[0] ? r->status : "without status");
                return;
        }
        if (ra < 0 || rb < 0) {
                r->window_start = r->window_end = 0;
                verdict(r, TICKET_ERROR, "ticket %s: the change window %s is not a date", ticket, bad);
                return;
        }
        if (r->window_start && r->window_end && r->window_end <= r->window_start) {
                verdict(r, TICKET_REFUSED, "ticket %s: its change window ends before it starts", ticket);
                return;
        }
        verdict(r, TICKET_APPROVED, "ticket %s is %s", ticket, r->status);
}
