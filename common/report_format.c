/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "report_format.h"

/* The member at a dotted path ("grants.active"); NULL when any step is
 * missing. No key of the report contains a dot. */
static json_object *at(json_object *o, const char *path)
{
        while (o && *path) {
                size_t n = strcspn(path, ".");
                json_object *next = NULL;
                char key[32];

                if (n >= sizeof(key) || !json_object_is_type(o, json_type_object))
                        return NULL;
                memcpy(key, path, n);
                key[n] = '\0';
                if (!json_object_object_get_ex(o, key, &next))
                        return NULL;
                o = next;
                path += n + (path[n] == '.');
        }
        return o;
}

static bool is_int(json_object *v)
{
        return v && json_object_is_type(v, json_type_int);
}

/* A summary's figures: median and p95 may be null (no observations). */
static bool stats_ok(json_object *s)
{
        json_object *m = at(s, "median"), *p = at(s, "p95");

        /* (json-c gives JSON null as NULL: ask whether the key is there.) */
        if (!json_object_is_type(s, json_type_object) || !json_object_object_get_ex(s, "median", NULL) ||
            !json_object_object_get_ex(s, "p95", NULL))
                return false;
        return is_int(at(s, "count")) && is_int(at(s, "sum")) &&
               (is_int(m) || json_object_is_type(m, json_type_null)) &&
               (is_int(p) || json_object_is_type(p, json_type_null));
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metric(FILE *f, const char *name, const char *type, const char *help, int64_t v)
{
        head(f, name, type, help);
        fprintf(f, "%s %" PRId64 "\n", name, v);
}

/* Label values escape backslash, double quote and newline, nothing else. */
static void label_value(FILE *f, const char *s)
{
        for (; *s; s++) {
                if (*s == '\\')
                        fputs("\\\\", f);
                else if (*s == '"')
                        fputs("\\\"", f);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        }
}

/* Seconds, or milliseconds shown as seconds with three exact decimals (no
 * floating point on the way); NaN for null. */
static void value(FILE *f, json_object *v, bool ms)
{
        int64_t x;
        uint64_t a;

        if (!is_int(v)) {
                fputs("NaN", f);
                return;
        }
        x = json_object_get_int64(v);
        if (!ms) {
                fprintf(f, "%" PRId64, x);
                return;
        }
        a = x < 0 ? (uint64_t) 0 - (uint64_t) x : (uint64_t) x;
        fprintf(f, "%s%" PRIu64 ".%03" PRIu64, x < 0 ? "-" : "", a / 1000, a % 1000);
}

static void summary(FILE *f, const char *name, const char *help, json_object *s, bool ms)
{
        head(f, name, "summary", help);
        fprintf(f, "%s{quantile=\"0.5\"} ", name);
        value(f, at(s, "median"), ms);
        fprintf(f, "\n%s{quantile=\"0.95\"} ", name);
        value(f, at(s, "p95"), ms);
        fprintf(f, "\n%s_sum ", name);
        value(f, at(s, "sum"), ms);
        fprintf(f, "\n%s_count %" PRId64 "\n", name, json_object_get_int64(at(s, "count")));
}

/* The fleet's figures (the report's "fleet" key, jitd/fleet_report.h): a
 * per-host figure, in the order the families are printed. */
static const struct {
        const char *key, *name, *help;
} host_figures[] = {
        { "active_grants", "jit_fleet_host_active_grants",
          "Grants active on a host (fleet copies and its own), as its uploaded audit says." },
        { "active_fleet_grants", "jit_fleet_host_active_fleet_grants",
          "Of a host's active grants, the copies of fleet grants." },
        { "last_event_at", "jit_fleet_host_last_event_timestamp_seconds",
          "When the host's newest uploaded audit event happened (unix time; NaN: none yet)." },
};

/* The fleet's break-glass (its "break_glass" key), when jitd gave it: an
 * older jitd's report has none, which is no error. */
static bool fleet_bg_ok(json_object *bg)
{
        json_object *hosts = at(bg, "hosts");

        if (!json_object_is_type(bg, json_type_object) || !is_int(at(bg, "uses")) ||
            !is_int(at(bg, "reviews_pending")) || !json_object_is_type(hosts, json_type_array))
                return false;
        for (size_t i = 0; i < json_object_array_length(hosts); i++) {
                json_object *h = json_object_array_get_idx(hosts, i);

                if (!json_object_is_type(at(h, "host"), json_type_string) || !is_int(at(h, "uses")) ||
                    !is_int(at(h, "reviews_pending")))
                        return false;
        }
        return true;
}

static const struct {
        const char *key, *name, *help;
} bg_host_figures[] = {
        { "uses", "jit_fleet_host_break_glass_uses", "Break-glass grants used on a host in the report's window." },
        { "reviews_pending", "jit_fleet_host_break_glass_reviews_pending",
          "Break-glass grants on a host awaiting review (no reviewed event uploaded for them)." },
};

static void render_fleet_bg(json_object *bg, FILE *f)
{
        json_object *hosts = at(bg, "hosts");

        metric(f, "jit_fleet_break_glass_uses", "gauge",
               "Break-glass grants used on the fleet's hosts in the report's window, as their uploaded audit says.",
               json_object_get_int64(at(bg, "uses")));
        metric(f, "jit_fleet_break_glass_reviews_pending", "gauge",
               "Break-glass grants on the fleet's hosts awaiting review, as their uploaded audit says.",
               json_object_get_int64(at(bg, "reviews_pending")));
        for (size_t k = 0; k < sizeof(bg_host_figures) / sizeof(bg_host_figures[0]); k++) {
                head(f, bg_host_figures[k].name, "gauge", bg_host_figures[k].help);
                for (size_t i = 0; i < json_object_array_length(hosts); i++) {
                        json_object *h = json_object_array_get_idx(hosts, i);

                        fprintf(f, "%s{host=\"", bg_host_figures[k].name);
                        label_value(f, json_object_get_string(at(h, "host")));
                        fputs("\"} ", f);
                        value(f, at(h, bg_host_figures[k].key), false);
                        fputc('\n', f);
                }
        }
}

static const char *const fleet_states[] = { "open", "revoked", "released", "denied", "cancelled" };

/* The "fleet" key's shape, checked before anything is printed. With
 * "error", only that it is a string: what came before the error is not
 * printed. */
static bool fleet_ok(json_object *fl)
{
        json_object *hosts = at(fl, "hosts"), *grants = at(fl, "grants"), *err = NULL, *bg = NULL;

        if (!json_object_is_type(fl, json_type_object))
                return false;
        if (json_object_object_get_ex(fl, "error", &err))
                return json_object_is_type(err, json_type_string);
        if (json_object_object_get_ex(fl, "break_glass", &bg) && !fleet_bg_ok(bg))
                return false;
        if (!is_int(at(fl, "active_grants")) || !json_object_is_type(hosts, json_type_array) ||
            !stats_ok(at(fl, "time_to_approve_s")) || !stats_ok(at(fl, "time_to_revoke_ms")) ||
            !is_int(at(fl, "time_to_revoke_ms.incomplete")))
                return false;
        for (size_t i = 0; i < sizeof(fleet_states) / sizeof(fleet_states[0]); i++)
                if (!is_int(at(grants, fleet_states[i])))
                        return false;
        for (size_t i = 0; i < json_object_array_length(hosts); i++) {
                json_object *h = json_object_array_get_idx(hosts, i), *last = NULL;

                if (!json_object_is_type(at(h, "host"), json_type_string) || !is_int(at(h, "active_grants")) ||
                    !is_int(at(h, "active_fleet_grants")) || !json_object_object_get_ex(h, "last_event_at", &last) ||
                    !(is_int(last) || json_object_is_type(last, json_type_null)))
                        return false;
        }
        return true;
}

/* jit_fleet_report_up says whether the fleet's figures follow: a scraper
 * tells "the fleet part is missing" from "the fleet is quiet". A fleet part
 * cut short prints none of its figures, so that no series comes and goes
 * with the database's hiccups. */
static void render_fleet(json_object *fl, FILE *f)
{
        json_object *hosts = at(fl, "hosts");
        bool up = !json_object_object_get_ex(fl, "error", NULL);

        metric(f, "jit_fleet_report_up", "gauge",
               "Whether the fleet's figures follow (0: the fleet database could not be read in full, and none do).",
               up);
        if (!up)
                return;
        metric(f, "jit_fleet_active_grants", "gauge",
               "Grants active on the fleet's hosts, as their uploaded audit says.",
               json_object_get_int64(at(fl, "active_grants")));
        for (size_t k = 0; k < sizeof(host_figures) / sizeof(host_figures[0]); k++) {
                head(f, host_figures[k].name, "gauge", host_figures[k].help);
                for (size_t i = 0; i < json_object_array_length(hosts); i++) {
                        json_object *h = json_object_array_get_idx(hosts, i);

                        fprintf(f, "%s{host=\"", host_figures[k].name);
                        label_value(f, json_object_get_string(at(h, "host")));
                        fputs("\"} ", f);
                        value(f, at(h, host_figures[k].key), false);
                        fputc('\n', f);
                }
        }
        head(f, "jit_fleet_grants", "gauge",
             "Fleet grants requested in the report's window, by their state in the fleet.");
        for (size_t i = 0; i < sizeof(fleet_states) / sizeof(fleet_states[0]); i++)
                fprintf(f, "jit_fleet_grants{state=\"%s\"} %" PRId64 "\n", fleet_states[i],
                        json_object_get_int64(at(at(fl, "grants"), fleet_states[i])));
        summary(f, "jit_fleet_time_to_approve_seconds",
                "Fleet grants, from request to the approval that completed it.", at(fl, "time_to_approve_s"), false);
        summary(f, "jit_fleet_time_to_revoke_seconds",
                "Fleet grants, from revocation or release to the teardown on the last host that enforced it.",
                at(fl, "time_to_revoke_ms"), true);
        metric(f, "jit_fleet_revocations_incomplete", "gauge",
               "Fleet grants revoked or released that a host which enforced them has not reported torn down.",
               json_object_get_int64(at(fl, "time_to_revoke_ms.incomplete")));
        if (json_object_object_get_ex(fl, "break_glass", NULL))
                render_fleet_bg(at(fl, "break_glass"), f);
}

/* The integers the metrics are made of, by where they sit in the report. */
enum {
        I_NOW, I_RULES, I_ROOT_RULES, I_ACTIVE, I_DENIED, I_CANCELLED, I_RELEASED, I_EXPIRED,
        I_ADMIN, I_TICKET, I_OTHER, I_INCOMPLETE, I_BG_USES, I_PENDING, I_OVERDUE, I_N_
};

static int render(json_object *o, FILE *f)
{
        json_object *v[I_N_] = {
                [I_NOW] = at(o, "now"),
                [I_RULES] = at(o, "standing_sudo.rules"),
                [I_ROOT_RULES] = at(o, "standing_sudo.root_rules"),
                [I_ACTIVE] = at(o, "grants.active"),
                [I_DENIED] = at(o, "grants.denied"),
                [I_CANCELLED] = at(o, "grants.cancelled"),
                [I_RELEASED] = at(o, "grants.released"),
                [I_EXPIRED] = at(o, "grants.expired"),
                [I_ADMIN] = at(o, "revocation.admin"),
                [I_TICKET] = at(o, "revocation.ticket"),
                [I_OTHER] = at(o, "revocation.other"),
                [I_INCOMPLETE] = at(o, "revocation.time_to_revoke_ms.incomplete"),
                [I_BG_USES] = at(o, "break_glass.uses"),
                [I_PENDING] = at(o, "break_glass.reviews_pending"),
                [I_OVERDUE] = at(o, "break_glass.reviews_overdue"),
        };
        json_object *errors = at(o, "standing_sudo.errors"), *paths = at(o, "approval.by_path");
        json_object *approve = at(o, "approval.time_to_approve_s");
        json_object *revoke = at(o, "revocation.time_to_revoke_ms");
        json_object *fleet = NULL;
        int64_t x[I_N_];

        /* Check everything before printing anything. With [fleet] (jitctl's
         * report; jitd's metrics file has this host's figures only) the
         * report has a "fleet" key. */
        if (!json_object_is_type(errors, json_type_array) || !json_object_is_type(paths, json_type_object) ||
            !stats_ok(approve) || !stats_ok(revoke) ||
            (json_object_object_get_ex(o, "fleet", &fleet) && !fleet_ok(fleet)))
                return -EBADMSG;
        for (size_t i = 0; i < I_N_; i++) {
                if (!is_int(v[i]))
                        return -EBADMSG;
                x[i] = json_object_get_int64(v[i]);
        }
        {
                json_object_object_foreach(paths, key, n) {
                        (void) key;
                        if (!is_int(n))
                                return -EBADMSG;
                }
        }

        metric(f, "jit_report_timestamp_seconds", "gauge", "When these figures were computed (unix time).",
               x[I_NOW]);
        metric(f, "jit_standing_sudo_rules", "gauge", "Sudo user specifications not managed by jitd, root's included.",
               x[I_RULES]);
        metric(f, "jit_standing_sudo_root_rules", "gauge", "Standing sudo rules whose user list is just root.",
               x[I_ROOT_RULES]);
        metric(f, "jit_standing_sudo_scan_errors", "gauge", "Sudoers files or directories that could not be read.",
               (int64_t) json_object_array_length(errors));
        metric(f, "jit_active_grants", "gauge", "Grants active now.", x[I_ACTIVE]);
        head(f, "jit_grants_total", "counter", "Grants requested, by approval path.");
        {
                json_object_object_foreach(paths, key, n) {
                        fputs("jit_grants_total{approval=\"", f);
                        label_value(f, key);
                        fprintf(f, "\"} %" PRId64 "\n", json_object_get_int64(n));
                }
        }
        summary(f, "jit_time_to_approve_seconds", "From request to approval, break-glass left out.", approve,
                false);
        summary(f, "jit_time_to_revoke_seconds", "From the end of a grant to its teardown finished.", revoke, true);
        metric(f, "jit_teardowns_incomplete_total", "counter", "Teardowns that left something behind.",
               x[I_INCOMPLETE]);
        metric(f, "jit_denials_total", "counter", "Requests denied.", x[I_DENIED]);
        metric(f, "jit_cancellations_total", "counter", "Requests withdrawn by their requester.", x[I_CANCELLED]);
        metric(f, "jit_releases_total", "counter", "Grants released early by their user.", x[I_RELEASED]);
        metric(f, "jit_expiries_total", "counter", "Grants that ran to their end.", x[I_EXPIRED]);
        head(f, "jit_revocations_total", "counter", "Grants revoked, by who or what ended them.");
        fprintf(f, "jit_revocations_total{by=\"admin\"} %" PRId64 "\n", x[I_ADMIN]);
        fprintf(f, "jit_revocations_total{by=\"ticket\"} %" PRId64 "\n", x[I_TICKET]);
        fprintf(f, "jit_revocations_total{by=\"other\"} %" PRId64 "\n", x[I_OTHER]);
        metric(f, "jit_break_glass_total", "counter", "Break-glass grants.", x[I_BG_USES]);
        metric(f, "jit_reviews_pending", "gauge", "Break-glass grants awaiting review.", x[I_PENDING]);
        metric(f, "jit_reviews_overdue", "gauge", "Break-glass grants whose review is overdue.", x[I_OVERDUE]);
        /* A jitd that records sessions says so; an older one has no such
         * figures, which is no error. */
        if (is_int(at(o, "recording.sessions")) && is_int(at(o, "recording.bytes"))) {
                metric(f, "jit_recorded_sessions_total", "counter", "Session recordings sealed in the audit chain.",
                       json_object_get_int64(at(o, "recording.sessions")));
                metric(f, "jit_recorded_bytes_total", "counter", "Total size of the sealed session recordings.",
                       json_object_get_int64(at(o, "recording.bytes")));
        }
        if (fleet)
                render_fleet(fleet, f);
        return 0;
}

int report_prometheus(const char *json, char **ret_text)
{
        json_tokener *tok;
        json_object *o;
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        if (!json || !ret_text)
                return -EINVAL;
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, json, -1);
        /* One object and nothing after it. */
        r = !o || json_tokener_get_error(tok) != json_tokener_success ||
            json_tokener_get_parse_end(tok) != strlen(json) || !json_object_is_type(o, json_type_object)
                ? -EBADMSG : 0;
        json_tokener_free(tok);
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        f = open_memstream(&buf, &size);
        if (!f) {
                json_object_put(o);
                return -ENOMEM;
        }
        r = render(o, f);
        json_object_put(o);
        if (ferror(f) && r == 0)
                r = -ENOMEM;
        if (fclose(f) != 0 && r == 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret_text = buf;
        return 0;
}
