/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitctl's output. Human output: aligned tables and "key: value" blocks in
 * local time. Machine output (--json): json-c, one document per line.
 *
 * JSON schema (stable; new keys may be added, none removed or retyped):
 *
 *   jitctl list --json   -> [ GRANT, ... ]            (an empty list is [])
 *   jitctl show ID --json -> GRANT
 *
 *   GRANT = {
 *     "id":               integer   grant id
 *     "user":             string    requesting user's name
 *     "uid":              integer   requesting user's uid
 *     "host":             string    host the grant is for
 *     "role":             string
 *     "ticket":           string | null   null when the grant has no ticket
 *     "reason":           string    "" when none was given
 *     "duration":         integer   requested length, seconds
 *     "state":            string    pending | scheduled | active | expired |
 *                                   revoked | released | denied | cancelled
 *     "requested_at":     string | null   RFC 3339 UTC, "2026-11-23T14:05:00Z";
 *     "approved_at":      string | null   null: not (yet) happened
 *     "starts_at":        string | null
 *     "expires_at":       string | null
 *     "ended_at":         string | null
 *     "end_reason":       string | null   why it ended; null while open or none given
 *     "approvers":        [string]  who approved, in order; [] when nobody
 *     "approvals_needed": integer   distinct approvals the role requires
 *     "approval":         string    approval path, e.g. "peer", "ticket,peer",
 *                                   "auto", "break-glass"; "" when unknown
 *     "break_glass":      boolean
 *     "review":           string | null   break-glass review: pending |
 *                                   accepted | rejected; null when not applicable
 *     "fleet_id":         integer   only on a fleet grant's copy: its fleet id
 *   }
 *
 * Strings are UTF-8 as jitd stored them; '/' is not escaped. A control
 * character, C1 control, bidirectional override or line separator is
 * written as its \uNNNN escape, and a byte that is not UTF-8 (a row written
 * by hand or by an older jitd) as U+FFFD: the output is always valid JSON.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "duration.h"
#include "output.h"
#include "util.h"

#define COLUMN_GAP 2

struct output_table {
        size_t ncols;
        size_t nrows;           /* including the header row */
        size_t cap;             /* rows allocated */
        char **cells;           /* nrows * ncols, row-major */
        size_t *width;          /* widest cell of each column so far */
};

/* Text from jitd is whatever its database holds, which need not be what jitd
 * accepts today (an older version, sqlite3 by hand): a control byte, a C1
 * control or a bidirectional override would reach the reader's terminal
 * and rewrite or reorder what it shows. util.c text_escape() shows each
 * as \xNN or \uNNNN instead. */
void output_fputs_safe(const char *s, FILE *f)
{
        char *e = NULL;

        if (!s)
                return;
        if (text_escape(s, 0, &e) < 0) {
                /* Out of memory: show nothing rather than the raw bytes. */
                fputs("?", f);
                return;
        }
        fputs(e, f);
        free(e);
}

char *output_strdup_safe(const char *s)
{
        char *e = NULL;

        return text_escape(s, 0, &e) < 0 ? NULL : e;
}

size_t output_width(const char *s)
{
        size_t n = 0;

        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if ((*p & 0xc0) != 0x80)        /* not a continuation byte */
                        n++;
        return n;
}

void output_table_free(struct output_table *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->nrows * t->ncols; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t->width);
        free(t);
}

int output_table_add(struct output_table *t, const char *const *cells)
{
        char **row;

        if (t->nrows == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 16;
                char **nc = reallocarray(t->cells, cap * t->ncols, sizeof(char *));

                if (!nc)
                        return -ENOMEM;
                t->cells = nc;
                t->cap = cap;
        }
        row = t->cells + t->nrows * t->ncols;
        for (size_t c = 0; c < t->ncols; c++) {
                row[c] = output_strdup_safe(cells[c]);
                if (!row[c]) {
                        while (c > 0)
                                free(row[--c]);
                        return -ENOMEM;
                }
        }
        for (size_t c = 0; c < t->ncols; c++) {
                size_t w = output_width(row[c]);

                if (w > t->width[c])
                        t->width[c] = w;
        }
        t->nrows++;
        return 0;
}

int output_table_new(size_t ncols, const char *const *headers, struct output_table **ret)
{
        struct output_table *t;
        int r;

        if (ncols == 0)
                return -EINVAL;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->ncols = ncols;
        t->width = calloc(ncols, sizeof(size_t));
        r = t->width ? output_table_add(t, headers) : -ENOMEM;
        if (r < 0) {
                output_table_free(t);
                return r;
        }
        *ret = t;
        return 0;
}

void output_table_print(const struct output_table *t, FILE *f)
{
        for (size_t r = 0; r < t->nrows; r++) {
                for (size_t c = 0; c < t->ncols; c++) {
                        const char *cell = t->cells[r * t->ncols + c];

                        fputs(cell, f);
                        /* No padding after the last column: no trailing blanks
                         * for diff and grep. */
                        if (c + 1 < t->ncols)
                                fprintf(f, "%*s", (int) (t->width[c] - output_width(cell) + COLUMN_GAP), "");
                }
                fputc('\n', f);
        }
}

void output_local_time(int64_t t, bool seconds, char *buf, size_t size)
{
        time_t tt = (time_t) t;
        struct tm tm;

        if (t <= 0 || !localtime_r(&tt, &tm) ||
            strftime(buf, size, seconds ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M", &tm) == 0)
                snprintf(buf, size, "-");
}

int output_rfc3339(int64_t t, char *buf, size_t size)
{
        time_t tt = (time_t) t;
        struct tm tm;

        if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return -EINVAL;
        return 0;
}

void output_time_left(const struct jit_grant *g, int64_t now, char *buf, size_t size)
{
        if (g->state != GRANT_ACTIVE || g->expires_at <= 0) {
                snprintf(buf, size, "-");
                return;
        }
        duration_format(g->expires_at > now ? (uint64_t) (g->expires_at - now) : 0, buf, size);
}

unsigned output_approvals_given(const struct jit_grant *g)
{
        unsigned n = 0;
        bool in_name = false;

        for (const char *p = g->approvers; *p; p++) {
                if (*p == ',' || *p == ' ')
                        in_name = false;
                else if (!in_name) {
                        in_name = true;
                        n++;
                }
        }
        return n;
}

void output_state(const struct jit_grant *g, char *buf, size_t size)
{
        if (g->state == GRANT_PENDING && g->approvals_needed > 0)
                snprintf(buf, size, "pending (%u/%u)", output_approvals_given(g), g->approvals_needed);
        else
                snprintf(buf, size, "%s", grant_state_to_string(g->state));
}

void output_grant_ref(const struct jit_grant *g, char *buf, size_t size)
{
        if (g->id > 0)
                snprintf(buf, size, "%lld", (long long) g->id);
        else
                snprintf(buf, size, "F%lld", (long long) g->fleet_id);
}

int output_grants_table(FILE *f, const struct jit_grant *g, size_t n, int64_t now)
{
        static const char *const headers[] = {
                "ID", "USER", "ROLE", "STATE", "TICKET", "STARTS", "EXPIRES", "LEFT",
        };
        struct output_table *t = NULL;
        int r;

        r = output_table_new(ELEMENTSOF(headers), headers, &t);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char id[24], state[48], starts[OUTPUT_TIME_MAX], expires[OUTPUT_TIME_MAX],
                        left[OUTPUT_TIME_MAX];
                const char *cells[ELEMENTSOF(headers)];

                output_grant_ref(&g[i], id, sizeof(id));
                output_state(&g[i], state, sizeof(state));
                output_local_time(g[i].starts_at, false, starts, sizeof(starts));
                output_local_time(g[i].expires_at, false, expires, sizeof(expires));
                output_time_left(&g[i], now, left, sizeof(left));
                cells[0] = id;
                cells[1] = g[i].user;
                cells[2] = g[i].role;
                cells[3] = state;
                cells[4] = g[i].ticket[0] ? g[i].ticket : "-";
                cells[5] = starts;
                cells[6] = expires;
                cells[7] = left;
                r = output_table_add(t, cells);
                if (r < 0)
                        goto out;
        }
        output_table_print(t, f);
out:
        output_table_free(t);
        return r;
}

void output_kv(FILE *f, int width, const char *key, const char *value)
{
        int n;

        n = fprintf(f, "%s:", key);
        fprintf(f, "%*s", n < width ? width - n + 1 : 1, "");
        output_fputs_safe(value && value[0] ? value : "-", f);
        fputc('\n', f);
}

void output_grant_show(FILE *f, const struct jit_grant *g, int64_t now)
{
        /* "break-glass:" is the longest key. */
        const int w = (int) sizeof("break-glass:") - 1;
        char buf[3 * OUTPUT_TIME_MAX], t[OUTPUT_TIME_MAX], left[OUTPUT_TIME_MAX];
        const struct { const char *key; int64_t at; } times[] = {
                { "requested", g->requested_at }, { "approved", g->approved_at },
                { "starts", g->starts_at },
        };

        output_grant_ref(g, buf, sizeof(buf));
        output_kv(f, w, "id", buf);
        if (g->id > 0 && g->fleet_id > 0) {
                snprintf(buf, sizeof(buf), "F%lld (this is its copy on this host)", (long long) g->fleet_id);
                output_kv(f, w, "fleet grant", buf);
        }
        output_kv(f, w, "user", g->user);
        snprintf(buf, sizeof(buf), "%lu", (unsigned long) g->uid);
        output_kv(f, w, "uid", buf);
        output_kv(f, w, "host", g->host);
        output_kv(f, w, "role", g->role);
        output_kv(f, w, "ticket", g->ticket);
        output_kv(f, w, "reason", g->reason);
        duration_format(g->duration, buf, sizeof(buf));
        output_kv(f, w, "duration", g->duration ? buf : NULL);
        output_kv(f, w, "state", grant_state_to_string(g->state));
        for (size_t i = 0; i < ELEMENTSOF(times); i++) {
                output_local_time(times[i].at, true, t, sizeof(t));
                output_kv(f, w, times[i].key, t);
        }
        output_local_time(g->expires_at, true, t, sizeof(t));
        output_time_left(g, now, left, sizeof(left));
        if (g->state == GRANT_ACTIVE && g->expires_at > 0) {
                snprintf(buf, sizeof(buf), "%s (%s left)", t, left);
                output_kv(f, w, "expires", buf);
        } else
                output_kv(f, w, "expires", t);
        output_local_time(g->ended_at, true, t, sizeof(t));
        output_kv(f, w, "ended", t);
        output_kv(f, w, "end reason", g->end_reason);
        output_kv(f, w, "approvers", g->approvers);
        snprintf(buf, sizeof(buf), "%u/%u", output_approvals_given(g), g->approvals_needed);
        output_kv(f, w, "approvals", buf);
        output_kv(f, w, "approval", g->approval);
        output_kv(f, w, "break-glass", g->break_glass ? "yes" : "no");
        output_kv(f, w, "review", g->review);
}

void output_grant_summary(FILE *f, const struct jit_grant *g, int64_t now)
{
        char a[OUTPUT_TIME_MAX], b[OUTPUT_TIME_MAX];
        unsigned given = output_approvals_given(g), needed = g->approvals_needed;

        if (g->id > 0)
                fprintf(f, "grant %lld for ", (long long) g->id);
        else
                fprintf(f, "fleet grant F%lld for ", (long long) g->fleet_id);
        output_fputs_safe(g->role, f);
        switch (g->state) {
        case GRANT_PENDING:
                if (needed > given && given == 0)
                        fprintf(f, " is pending: needs %u approval%s", needed, needed == 1 ? "" : "s");
                else if (needed > given)
                        /* Said to the approver whose approval was not the last one. */
                        fprintf(f, " is still pending: %u of %u approvals, needs %u more", given, needed,
                                needed - given);
                else if (g->approval[0]) {
                        fputs(" is pending: waiting for ", f);
                        output_fputs_safe(g->approval, f);
                        fputs(" approval", f);
                } else
                        fputs(" is pending", f);
                break;
        case GRANT_SCHEDULED:
                output_local_time(g->starts_at, false, a, sizeof(a));
                output_local_time(g->expires_at, false, b, sizeof(b));
                fprintf(f, " is scheduled from %s until %s", a, b);
                break;
        case GRANT_ACTIVE:
                fputs(" is active", f);
                if (g->expires_at > 0) {
                        output_local_time(g->expires_at, false, a, sizeof(a));
                        output_time_left(g, now, b, sizeof(b));
                        fprintf(f, " until %s (%s left)", a, b);
                }
                break;
        default:
                fprintf(f, " is %s", grant_state_to_string(g->state));
                if (g->end_reason[0]) {
                        fputs(": ", f);
                        output_fputs_safe(g->end_reason, f);
                }
                break;
        }
        if (g->break_glass)
                fputs(" [break-glass]", f);
        fputc('\n', f);
}

/* json_object_object_add() takes a NULL value as JSON null, so a failed
 * allocation must be told apart from "unset" here. */
static int add(struct json_object *o, const char *key, struct json_object *v)
{
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int add_null(struct json_object *o, const char *key)
{
        return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
}

static int add_str_or_null(struct json_object *o, const char *key, const char *s)
{
        return s && s[0] ? add(o, key, json_object_new_string(s)) : add_null(o, key);
}

static int add_time(struct json_object *o, const char *key, int64_t t)
{
        char buf[OUTPUT_TIME_MAX];

        if (output_rfc3339(t, buf, sizeof(buf)) < 0)
                return add_null(o, key);
        return add(o, key, json_object_new_string(buf));
}

static int add_approvers(struct json_object *o, const char *key, const char *list)
{
        struct json_object *a;
        char **v = NULL;
        int r;

        r = strv_split(list, ',', &v);
        if (r < 0)
                return r;
        a = json_object_new_array();
        for (size_t i = 0; a && v[i]; i++) {
                struct json_object *s = json_object_new_string(v[i]);

                if (!s || json_object_array_add(a, s) < 0) {
                        json_object_put(s);
                        json_object_put(a);
                        a = NULL;
                }
        }
        strv_free(v);
        return add(o, key, a);
}

int output_grant_json(const struct jit_grant *g, struct json_object **ret)
{
        struct json_object *o = json_object_new_object();
        int r;

        if (!o)
                return -ENOMEM;
        /* Key order is the documented order; json-c keeps insertion order. */
        char ref[24];

        /* A fleet grant has no local id: its "id" is the form jitctl takes
         * ("F12"). "fleet_id", last and only when set, is the fleet
         * grant's number, for its copy on this host too. */
        output_grant_ref(g, ref, sizeof(ref));
        if ((r = add(o, "id", g->id > 0 ? json_object_new_int64(g->id) : json_object_new_string(ref))) < 0 ||
            (r = add(o, "user", json_object_new_string(g->user))) < 0 ||
            (r = add(o, "uid", json_object_new_int64(g->uid))) < 0 ||
            (r = add(o, "host", json_object_new_string(g->host))) < 0 ||
            (r = add(o, "role", json_object_new_string(g->role))) < 0 ||
            (r = add_str_or_null(o, "ticket", g->ticket)) < 0 ||
            (r = add(o, "reason", json_object_new_string(g->reason))) < 0 ||
            (r = add(o, "duration", json_object_new_int64((int64_t) g->duration))) < 0 ||
            (r = add(o, "state", json_object_new_string(grant_state_to_string(g->state)))) < 0 ||
            (r = add_time(o, "requested_at", g->requested_at)) < 0 ||
            (r = add_time(o, "approved_at", g->approved_at)) < 0 ||
            (r = add_time(o, "starts_at", g->starts_at)) < 0 ||
            (r = add_time(o, "expires_at", g->expires_at)) < 0 ||
            (r = add_time(o, "ended_at", g->ended_at)) < 0 ||
            (r = add_str_or_null(o, "end_reason", g->end_reason)) < 0 ||
            (r = add_approvers(o, "approvers", g->approvers)) < 0 ||
            (r = add(o, "approvals_needed", json_object_new_int64(g->approvals_needed))) < 0 ||
            (r = add(o, "approval", json_object_new_string(g->approval))) < 0 ||
            (r = add(o, "break_glass", json_object_new_boolean(g->break_glass))) < 0 ||
            (r = add_str_or_null(o, "review", g->review)) < 0 ||
            (g->fleet_id > 0 && (r = add(o, "fleet_id", json_object_new_int64(g->fleet_id))) < 0)) {
                json_object_put(o);
                return r;
        }
        *ret = o;
        return 0;
}

int output_grants_json(FILE *f, const struct jit_grant *g, size_t n)
{
        struct json_object *a = json_object_new_array();
        int r = 0;

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *o;

                r = output_grant_json(&g[i], &o);
                if (r < 0)
                        goto out;
                if (json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        r = -ENOMEM;
                        goto out;
                }
        }
        r = output_json_print(f, a);
out:
        json_object_put(a);
        return r;
}

/* json-c writes whatever bytes a string holds, escaping only what JSON
 * demands (< 0x20, '"', '\\'). A byte that is not UTF-8 would make the whole
 * document invalid, and a C1 control or bidirectional override would act on
 * the terminal of whoever cats it. json-c puts bytes >= 0x7f nowhere but
 * inside strings, so each can be rewritten there without changing the
 * document's meaning: a forbidden code point as its \uNNNN escape (the same
 * string to any parser), a byte that is not UTF-8 as U+FFFD, the
 * replacement character (the one change of content, for bytes that never
 * were text). */
static void json_fputs_utf8(const char *s, FILE *f)
{
        size_t n = strlen(s), i = 0;

        while (i < n) {
                uint32_t cp;
                size_t k = utf8_decode(s + i, n - i, &cp);

                if (k == 0) {
                        fputs("\\ufffd", f);
                        i++;
                        continue;
                }
                if (text_forbidden(cp))
                        fprintf(f, "\\u%04x", (unsigned) cp);
                else
                        fwrite(s + i, 1, k, f);
                i += k;
        }
}

int output_json_print(FILE *f, struct json_object *o)
{
        /* Plain: one document per line, for jq and line-oriented consumers.
         * Tickets such as "JIRA/CHG-1" read better without "\/". */
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE);

        if (!s)
                return -ENOMEM;
        json_fputs_utf8(s, f);
        fputc('\n', f);
        return 0;
}

json_object *output_parse_object(const char *json)
{
        json_tokener *tok = json_tokener_new();
        json_object *o;

        if (!tok)
                return NULL;
        o = json_tokener_parse_ex(tok, json, -1);
        if (o && (json_tokener_get_error(tok) != json_tokener_success ||
                  json_tokener_get_parse_end(tok) != strlen(json) || !json_object_is_type(o, json_type_object))) {
                json_object_put(o);
                o = NULL;
        }
        json_tokener_free(tok);
        return o;
}
