/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fleet's documents as a person reads them: show F12
 * (jitd/handlers_fleet_show.c) and audit verify of the fleet copy
 * (jitd/fleet_audit.c). Pure: JSON text in, lines out.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "duration.h"
#include "fleet_view.h"
#include "output.h"

static json_object *get(json_object *o, const char *key)
{
        json_object *v = NULL;

        return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *str(json_object *o, const char *key)
{
        json_object *v = get(o, key);

        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int64_t num(json_object *o, const char *key)
{
        json_object *v = get(o, key);

        return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
}

static void when(int64_t t, char *buf, size_t size)
{
        output_local_time(t, true, buf, size);
}

/* "web-*, db01" from ["web-*", "db01"]. */
static void join(json_object *a, char *buf, size_t size)
{
        size_t used = 0, n = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;

        buf[0] = '\0';
        for (size_t i = 0; i < n && used < size; i++) {
                const char *s = json_object_get_string(json_object_array_get_idx(a, i));
                int k = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", s ? s : "?");

                if (k < 0)
                        break;
                used += (size_t) k;
        }
}

#define W ((int) sizeof("approvals:") + 3)

int fleet_view_show(FILE *f, const char *json)
{
        json_object *o = output_parse_object(json), *end, *ap, *here, *hosts;
        char buf[1200], t[64];
        const char *note;
        size_t n;

        if (!o || !get(o, "fleet_id") || !str(o, "user") || !str(o, "role"))
                goto bad;
        snprintf(buf, sizeof(buf), "F%" PRId64, num(o, "fleet_id"));
        output_kv(f, W, "fleet grant", buf);
        output_kv(f, W, "user", str(o, "user"));
        output_kv(f, W, "role", str(o, "role"));
        join(get(o, "hosts"), buf, sizeof(buf));
        output_kv(f, W, "hosts", buf);
        output_kv(f, W, "asked on", str(o, "origin_host"));
        output_kv(f, W, "ticket", str(o, "ticket"));
        output_kv(f, W, "reason", str(o, "reason"));
        duration_format((uint64_t) num(o, "duration"), buf, sizeof(buf));
        output_kv(f, W, "duration", buf);
        output_kv(f, W, "break-glass", json_object_get_boolean(get(o, "break_glass")) ? "yes" : "no");
        when(num(o, "requested_at"), t, sizeof(t));
        output_kv(f, W, "requested", t);
        output_kv(f, W, "state", str(o, "state"));
        end = get(o, "end");
        if (end) {
                when(num(end, "at"), t, sizeof(t));
                snprintf(buf, sizeof(buf), "%s by %s on %s at %s%s%s", str(end, "kind") ? str(end, "kind") : "?",
                         str(end, "by") ? str(end, "by") : "?", str(end, "host") ? str(end, "host") : "?", t,
                         str(end, "reason") && str(end, "reason")[0] ? ": " : "",
                         str(end, "reason") ? str(end, "reason") : "");
                output_kv(f, W, "ended", buf);
        } else if (num(o, "ended_at")) {
                when(num(o, "ended_at"), t, sizeof(t));
                output_kv(f, W, "ended", t);
        }
        ap = get(o, "approvals");
        n = json_object_is_type(ap, json_type_array) ? json_object_array_length(ap) : 0;
        if (get(o, "approvals_needed_here"))
                snprintf(buf, sizeof(buf), "%zu (this host's role asks for %" PRId64 ")", n,
                         num(o, "approvals_needed_here"));
        else
                snprintf(buf, sizeof(buf), "%zu (this host has no role %s)", n, str(o, "role"));
        output_kv(f, W, "approvals", buf);
        for (size_t i = 0; i < n; i++) {
                json_object *a = json_object_array_get_idx(ap, i);

                when(num(a, "at"), t, sizeof(t));
                note = str(a, "note");
                fputs("  ", f);
                snprintf(buf, sizeof(buf), "%s on %s at %s%s%s%s", str(a, "approver") ? str(a, "approver") : "?",
                         str(a, "host") ? str(a, "host") : "?", t, note && note[0] ? ": \"" : "",
                         note && note[0] ? note : "", note && note[0] ? "\"" : "");
                output_fputs_safe(buf, f);
                fputc('\n', f);
        }
        ap = get(o, "extensions");
        n = json_object_is_type(ap, json_type_array) ? json_object_array_length(ap) : 0;
        for (size_t i = 0; i < n; i++) {
                json_object *x = json_object_array_get_idx(ap, i);
                const char *by = str(x, "approvers"), *added;
                char adds[32];

                if (i == 0)
                        output_kv(f, W, "extensions", "");
                when(num(x, "at"), t, sizeof(t));
                duration_format((uint64_t) num(x, "adds"), adds, sizeof(adds));
                added = !get(x, "added_here") ? "" :
                        json_object_get_boolean(get(x, "added_here")) ? "; added here" : "; not added here";
                snprintf(buf, sizeof(buf), "%" PRId64 ": %s more, asked on %s at %s (%s%s%s): \"%s\"", num(x, "n"),
                         adds, str(x, "host") ? str(x, "host") : "?", t, by && by[0] ? "approved by " : "no approval",
                         by && by[0] ? by : "", added, str(x, "reason") ? str(x, "reason") : "");
                fputs("  ", f);
                output_fputs_safe(buf, f);
                fputc('\n', f);
        }
        here = get(o, "here");
        if (get(here, "grant")) {
                char exp[64] = "";

                if (num(here, "expires_at"))
                        when(num(here, "expires_at"), exp, sizeof(exp));
                snprintf(buf, sizeof(buf), "enforced on %s as grant %" PRId64 " (%s%s%s)", str(here, "host"),
                         num(here, "grant"), str(here, "state") ? str(here, "state") : "?", exp[0] ? ", until " : "",
                         exp);
        } else
                snprintf(buf, sizeof(buf), "not enforced on %s", str(here, "host") ? str(here, "host") : "?");
        output_kv(f, W, "here", buf);
        hosts = get(o, "per_host");
        n = json_object_is_type(hosts, json_type_array) ? json_object_array_length(hosts) : 0;
        fputs("per host (the uploaded audit):\n", f);
        if (n == 0)
                fputs("  no host has uploaded an event about it\n", f);
        else {
                static const char *const headers[] = { "HOST", "ENFORCED", "ENDED", "LAST EVENT", "REFUSED" };
                struct output_table *tab = NULL;

                if (output_table_new(ELEMENTSOF(headers), headers, &tab) < 0)
                        goto bad;
                for (size_t i = 0; i < n; i++) {
                        json_object *h = json_object_array_get_idx(hosts, i), *ref = get(h, "refused");
                        char en[64], ed[64], why[600] = "-";
                        size_t nr = json_object_is_type(ref, json_type_array) ? json_object_array_length(ref) : 0;
                        const char *cells[5];

                        if (num(h, "enforced_at"))
                                when(num(h, "enforced_at"), en, sizeof(en));
                        else
                                snprintf(en, sizeof(en), "-");
                        if (num(h, "ended_at"))
                                when(num(h, "ended_at"), ed, sizeof(ed));
                        else
                                snprintf(ed, sizeof(ed), "-");
                        if (nr) {
                                json_object *last = json_object_array_get_idx(ref, nr - 1);

                                snprintf(why, sizeof(why), "%s", str(last, "why") ? str(last, "why") : "?");
                        }
                        cells[0] = str(h, "host") ? str(h, "host") : "?";
                        cells[1] = en;
                        cells[2] = ed;
                        cells[3] = str(h, "last_event") ? str(h, "last_event") : "-";
                        cells[4] = why;
                        if (output_table_add(tab, cells) < 0) {
                                output_table_free(tab);
                                goto bad;
                        }
                }
                output_table_print(tab, f);
                output_table_free(tab);
        }
        if (str(o, "per_host_note")) {
                fputs("  (", f);
                output_fputs_safe(str(o, "per_host_note"), f);
                fputs(")\n", f);
        }
        json_object_put(o);
        return 0;
bad:
        json_object_put(o);
        return -EBADMSG;
}

int fleet_view_verify(FILE *f, const char *json, bool *ret_ok)
{
        json_object *o = output_parse_object(json), *fleet, *hosts;
        bool ok = true;
        char a[64], b[64];
        size_t n;

        if (!o)
                return -EBADMSG;
        fleet = get(o, "fleet");
        if (!fleet) {
                json_object_put(o);
                *ret_ok = true;
                return 0;
        }
        hosts = get(fleet, "hosts");
        n = json_object_is_type(hosts, json_type_array) ? json_object_array_length(hosts) : 0;
        if (n == 0 && str(fleet, "error")) {
                fputs("fleet copy (jit.audit): the fleet part is incomplete: ", f);
                output_fputs_safe(str(fleet, "error"), f);
                fputc('\n', f);
                json_object_put(o);
                *ret_ok = false;
                return 0;
        }
        fprintf(f, "fleet copy (jit.audit): %zu host%s%s%s\n", n, n == 1 ? "" : "s",
                str(fleet, "pattern") ? " matching " : "", str(fleet, "pattern") ? str(fleet, "pattern") : "");
        for (size_t i = 0; i < n; i++) {
                json_object *h = json_object_array_get_idx(hosts, i);
                int64_t events = num(h, "events");

                fputs("  ", f);
                output_fputs_safe(str(h, "host") ? str(h, "host") : "?", f);
                fputs(": ", f);
                if (!json_object_get_boolean(get(h, "intact"))) {
                        ok = false;
                        fprintf(f, "BROKEN at event %" PRId64 ": ", num(h, "bad_seq"));
                        output_fputs_safe(str(h, "why") ? str(h, "why") : "?", f);
                        fprintf(f, " (%" PRId64 " event%s before it intact)\n", events, events == 1 ? "" : "s");
                        continue;
                }
                if (events == 0) {
                        fputs("no events uploaded\n", f);
                        continue;
                }
                when(num(h, "first_at"), a, sizeof(a));
                when(num(h, "last_at"), b, sizeof(b));
                fprintf(f, "intact, %" PRId64 " event%s from %s to %s", events, events == 1 ? "" : "s", a, b);
                if (num(h, "keyed_events"))
                        fprintf(f, "; keyed: links checked, hashes not recomputable here (%" PRId64 " event%s)",
                                num(h, "keyed_events"), num(h, "keyed_events") == 1 ? "" : "s");
                fputc('\n', f);
        }
        if (str(fleet, "error")) {
                ok = false;
                fputs("  the fleet part is incomplete: ", f);
                output_fputs_safe(str(fleet, "error"), f);
                fputc('\n', f);
        }
        json_object_put(o);
        *ret_ok = ok;
        return 0;
}

/* "12s" (or "872ms" from milliseconds) / "-" for a statistic that may be
 * null. */
static void stat_text(json_object *o, const char *key, bool ms, char *buf, size_t size)
{
        json_object *v = get(o, key);
        int64_t x;

        if (!v || !json_object_is_type(v, json_type_int)) {
                snprintf(buf, size, "-");
                return;
        }
        x = json_object_get_int64(v);
        if (ms && x < 1000)
                snprintf(buf, size, "%" PRId64 "ms", x);
        else
                duration_format((uint64_t) (ms ? x / 1000 : x), buf, size);
}

static void print_stats(FILE *f, const char *key, json_object *s, bool ms)
{
        char med[32], p95[32], buf[160];

        stat_text(s, "median", ms, med, sizeof(med));
        stat_text(s, "p95", ms, p95, sizeof(p95));
        snprintf(buf, sizeof(buf), "median %s, p95 %s (%" PRId64 " grant%s)", med, p95, num(s, "count"),
                 num(s, "count") == 1 ? "" : "s");
        if (get(s, "incomplete") && num(s, "incomplete"))
                snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "; %" PRId64 " not torn down everywhere yet",
                         num(s, "incomplete"));
        output_kv(f, 26, key, buf);
}

int fleet_view_report(FILE *f, const char *json, bool *ret_ok)
{
        json_object *o = output_parse_object(json), *fleet, *hosts, *g;
        char buf[256], t[64];
        size_t n;

        if (!o)
                return -EBADMSG;
        fleet = get(o, "fleet");
        if (!fleet) {
                json_object_put(o);
                *ret_ok = true;
                return 0;
        }
        fprintf(f, "\nfleet%s%s\n", str(fleet, "pattern") ? ", hosts matching " : "",
                str(fleet, "pattern") ? str(fleet, "pattern") : "");
        hosts = get(fleet, "hosts");
        n = json_object_is_type(hosts, json_type_array) ? json_object_array_length(hosts) : 0;
        if (get(fleet, "active_grants")) {
                snprintf(buf, sizeof(buf), "%" PRId64 " on %zu host%s (as each host's uploaded audit says)",
                         num(fleet, "active_grants"), n, n == 1 ? "" : "s");
                output_kv(f, 26, "standing privilege", buf);
        }
        for (size_t i = 0; i < n; i++) {
                json_object *h = json_object_array_get_idx(hosts, i);

                if (num(h, "last_event_at"))
                        when(num(h, "last_event_at"), t, sizeof(t));
                else
                        snprintf(t, sizeof(t), "never");
                snprintf(buf, sizeof(buf), "%" PRId64 " active (%" PRId64 " fleet), newest event %s",
                         num(h, "active_grants"), num(h, "active_fleet_grants"), t);
                fputs("  ", f);
                output_kv(f, 24, str(h, "host") ? str(h, "host") : "?", buf);
        }
        g = get(fleet, "grants");
        if (g) {
                snprintf(buf, sizeof(buf), "%" PRId64 " (open %" PRId64 ", revoked %" PRId64 ", released %" PRId64
                         ", denied %" PRId64 ", cancelled %" PRId64 ")", num(g, "total"), num(g, "open"),
                         num(g, "revoked"), num(g, "released"), num(g, "denied"), num(g, "cancelled"));
                output_kv(f, 26, "fleet grants", buf);
        }
        if (get(fleet, "time_to_approve_s"))
                print_stats(f, "fleet time to approve", get(fleet, "time_to_approve_s"), false);
        if (get(fleet, "time_to_revoke_ms"))
                print_stats(f, "fleet time to revoke", get(fleet, "time_to_revoke_ms"), true);
        g = get(fleet, "break_glass");
        if (g) {
                json_object *bh = get(g, "hosts");
                char *safe;
                size_t m = json_object_is_type(bh, json_type_array) ? json_object_array_length(bh) : 0;

                snprintf(buf, sizeof(buf), "%" PRId64 " use%s, %" PRId64 " awaiting review", num(g, "uses"),
                         num(g, "uses") == 1 ? "" : "s", num(g, "reviews_pending"));
                output_kv(f, 26, "fleet break-glass", buf);
                /* Only the hosts that have any: a fleet is mostly quiet. */
                for (size_t i = 0; i < m; i++) {
                        json_object *h = json_object_array_get_idx(bh, i);

                        if (num(h, "uses") == 0 && num(h, "reviews_pending") == 0)
                                continue;
                        snprintf(buf, sizeof(buf), "%" PRId64 " use%s, %" PRId64 " awaiting review", num(h, "uses"),
                                 num(h, "uses") == 1 ? "" : "s", num(h, "reviews_pending"));
                        /* (jit.hosts' CHECK keeps names plain; the owner could drop it.) */
                        safe = output_strdup_safe(str(h, "host") ? str(h, "host") : "?");
                        fputs("  ", f);
                        output_kv(f, 24, safe ? safe : "?", buf);
                        free(safe);
                }
        }
        *ret_ok = !str(fleet, "error");
        if (str(fleet, "error")) {
                fputs("  the fleet part is incomplete: ", f);
                output_fputs_safe(str(fleet, "error"), f);
                fputc('\n', f);
        }
        json_object_put(o);
        return 0;
}

/* A review line's details: another host's grant (it names its host), the
 * fleet part missing ({"error"}) or cut ({"more"}); NULL when none. */
static json_object *review_details(const char *details)
{
        json_object *o = details ? json_tokener_parse(details) : NULL;

        if (o && !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

void fleet_view_reviews(FILE *f, char *const *lines, char *const *details, size_t n)
{
        bool any = false;

        for (size_t i = 0; i < n; i++) {
                json_object *o = review_details(details ? details[i] : NULL);

                if (str(o, "host"))
                        any = true;
                json_object_put(o);
                if (i == 0)
                        fputs("fleet:\n", f);
                fputs("  ", f);
                output_fputs_safe(lines[i] ? lines[i] : "?", f);
                fputc('\n', f);
        }
        /* The grant lives on its host, and so does its review. */
        if (any)
                fputs("  (a review is made on the grant's own host: jitctl review ID --accept|--reject -m NOTE "
                      "there)\n", f);
}

int fleet_view_reviews_json(json_object *local, char *const *details, size_t n, json_object **ret)
{
        json_object *o = json_object_new_object(), *fleet = n ? json_object_new_array() : NULL, *error = NULL;
        bool more = false;

        if (!o || !local || (n && !fleet)) {
                json_object_put(o);
                json_object_put(local);
                json_object_put(fleet);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *d = review_details(details ? details[i] : NULL);

                if (str(d, "host")) {
                        json_object_array_add(fleet, d);
                        continue;
                }
                if (str(d, "error") && !error)
                        error = json_object_get(get(d, "error"));
                else if (json_object_is_type(get(d, "more"), json_type_boolean) &&
                         json_object_get_boolean(get(d, "more")))
                        more = true;
                json_object_put(d);
        }
        if (error) {
                json_object_put(fleet);
                fleet = NULL;
        }
        json_object_object_add(o, "local", local);
        json_object_object_add(o, "fleet", fleet);
        if (error)
                json_object_object_add(o, "fleet_error", error);
        if (more)
                json_object_object_add(o, "fleet_more", json_object_new_boolean(true));
        *ret = o;
        return 0;
}
