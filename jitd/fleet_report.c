/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * report with [fleet]: the fleet's figures, added to this host's report as
 * its "fleet" key (definitions in fleet_report.h). Each figure is one
 * statement; PostgreSQL does the counting and the percentiles
 * (percentile_disc: the nearest rank, as report.h defines them), so jitd
 * holds a few rows at a time and the loop only waits for answers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fleet_hosts.h"
#include "fleet_mirror.h"
#include "fleet_report.h"
#include "json_reply.h"

#define HOSTS_FILTER(n) "($" n "::text IS NULL OR a.host = ANY (pg_catalog.string_to_array($" n "::text, ',')))"
/* A grant whose scope matches one of the hosts $n (NULL: any). */
#define SCOPE_FILTER(n)                                                                                 \
        "($" n "::text IS NULL OR EXISTS (SELECT 1 FROM pg_catalog.unnest(g.host_scope) s(p), "          \
        "pg_catalog.unnest(pg_catalog.string_to_array($" n "::text, ',')) h(n) WHERE h.n ~* "            \
        FLEET_SQL_GLOB_RE("s.p") "))"

/* Standing privilege per host, as its uploaded audit says: the host's
 * grants (fleet copies and its own) whose last activation is after their
 * last end. */
static const char standing_sql[] =
        "SELECT h.name, COALESCE(x.n, 0), COALESCE(x.nf, 0), "
        "pg_catalog.floor(pg_catalog.date_part('epoch', (SELECT a.event_at FROM jit.audit a WHERE a.host = h.name "
        "  ORDER BY a.host_seq DESC LIMIT 1)))::bigint "
        "FROM jit.hosts h LEFT JOIN ("
        "  SELECT t.host, pg_catalog.count(*) AS n, pg_catalog.count(*) FILTER (WHERE t.fleet) AS nf FROM ("
        "    SELECT a.host, a.host_grant, pg_catalog.bool_or(a.grant_id IS NOT NULL) AS fleet, "
        "      pg_catalog.max(a.host_seq) FILTER (WHERE a.event IN ('activated', 'break-glass')) AS on_seq, "
        "      pg_catalog.max(a.host_seq) FILTER (WHERE a.event IN ('expired', 'revoked', 'released', 'denied', "
        "        'cancelled')) AS off_seq "
        "    FROM jit.audit a WHERE a.host_grant > 0 AND " HOSTS_FILTER("1") " GROUP BY a.host, a.host_grant) t "
        "  WHERE t.on_seq IS NOT NULL AND (t.off_seq IS NULL OR t.off_seq < t.on_seq) GROUP BY t.host) x "
        "ON x.host = h.name "
        "WHERE ($1::text IS NULL OR h.name = ANY (pg_catalog.string_to_array($1::text, ','))) "
        "ORDER BY h.name LIMIT 20000";

/* Grants requested in the window, by how they stand in the fleet. */
static const char grants_sql[] =
        "SELECT g.state, pg_catalog.count(*) FROM jit.grants g "
        "WHERE g.requested_at >= pg_catalog.to_timestamp($1::bigint) AND " SCOPE_FILTER("2") " GROUP BY g.state";

/* Time to approve: from the request to the approval that completed it, the
 * k-th in time, k the approvals this host's role of that name asks for (1
 * for a role this host does not have). Break-glass grants are left out. */
static const char approve_sql[] =
        "WITH need AS (SELECT m.role, m.n FROM ROWS FROM (pg_catalog.unnest(pg_catalog.string_to_array($2::text, ',')), "
        "     pg_catalog.unnest(pg_catalog.string_to_array($3::text, ',')::integer[])) AS m(role, n)), "
        "t AS (SELECT GREATEST(0, pg_catalog.floor(pg_catalog.date_part('epoch', "
        "     (SELECT a.approved_at FROM jit.approvals a WHERE a.grant_id = g.id ORDER BY a.approved_at, a.approver "
        "      OFFSET COALESCE((SELECT need.n FROM need WHERE need.role = g.role), 1) - 1 LIMIT 1) "
        "     - g.requested_at))) AS s "
        "  FROM jit.grants g WHERE g.requested_at >= pg_catalog.to_timestamp($1::bigint) AND NOT g.break_glass "
        "  AND " SCOPE_FILTER("4") ") "
        "SELECT pg_catalog.count(t.s), COALESCE(pg_catalog.sum(t.s), 0), "
        "pg_catalog.percentile_disc(0.5) WITHIN GROUP (ORDER BY t.s), "
        "pg_catalog.percentile_disc(0.95) WITHIN GROUP (ORDER BY t.s) FROM t WHERE t.s IS NOT NULL";

/* Time to revoke: from the revocation (or release) recorded in the fleet to
 * the teardown of the LAST host that had enforced the grant (an "activated"
 * event): each host's first "torn-down" event, its done_ms (rule gone,
 * sessions killed), or, without one, its first end event (whole seconds).
 * A grant some such host has not uploaded an end for is counted as
 * incomplete, not timed. Milliseconds, as the local report's. */
static const char revoke_sql[] =
        "WITH e AS (SELECT r.grant_id, pg_catalog.floor(pg_catalog.date_part('epoch', r.revoked_at) * 1000) AS at_ms "
        "  FROM jit.revocations r JOIN jit.grants g ON g.id = r.grant_id "
        "  WHERE r.kind IN ('revoked', 'released') AND g.requested_at >= pg_catalog.to_timestamp($1::bigint)), "
        "ph AS (SELECT e.grant_id, e.at_ms, a.host, COALESCE("
        "    pg_catalog.min(pg_catalog.\"substring\"(a.details, '\"done_ms\":([0-9]{1,18})')::bigint) "
        "      FILTER (WHERE a.event = 'torn-down'), "
        "    pg_catalog.min(pg_catalog.floor(pg_catalog.date_part('epoch', a.event_at)) * 1000) "
        "      FILTER (WHERE a.event IN ('expired', 'revoked', 'released'))) AS ended_ms "
        "  FROM e JOIN jit.audit a ON a.grant_id = e.grant_id "
        "  WHERE " HOSTS_FILTER("2") " GROUP BY e.grant_id, e.at_ms, a.host "
        "  HAVING pg_catalog.bool_or(a.event = 'activated')), "
        "pg AS (SELECT ph.grant_id, pg_catalog.bool_and(ph.ended_ms IS NOT NULL) AS done, "
        "  pg_catalog.max(GREATEST(0, ph.ended_ms - ph.at_ms)) AS lat FROM ph GROUP BY ph.grant_id) "
        "SELECT pg_catalog.count(*) FILTER (WHERE pg.done), "
        "COALESCE(pg_catalog.sum(pg.lat) FILTER (WHERE pg.done), 0), "
        "pg_catalog.percentile_disc(0.5) WITHIN GROUP (ORDER BY pg.lat) FILTER (WHERE pg.done), "
        "pg_catalog.percentile_disc(0.95) WITHIN GROUP (ORDER BY pg.lat) FILTER (WHERE pg.done), "
        "pg_catalog.count(*) FILTER (WHERE NOT pg.done) FROM pg";

/* Break-glass per host, as its uploaded audit says (doc/FLEET.md, the
 * break-glass events): the host's grants with a "break-glass" event in the
 * window ($1), and, whenever used, those with no "reviewed" event for the
 * same (host, host_grant). */
static const char break_glass_sql[] =
        "SELECT h.name, COALESCE(x.uses, 0), COALESCE(x.pending, 0) FROM jit.hosts h LEFT JOIN ("
        "  SELECT a.host, pg_catalog.count(DISTINCT a.host_grant) FILTER "
        "      (WHERE a.event_at >= pg_catalog.to_timestamp($1::bigint)) AS uses, "
        "    pg_catalog.count(DISTINCT a.host_grant) FILTER (WHERE NOT EXISTS (SELECT 1 FROM jit.audit r "
        "      WHERE r.host = a.host AND r.host_grant = a.host_grant AND r.event = 'reviewed')) AS pending "
        "  FROM jit.audit a WHERE a.event = 'break-glass' AND a.host_grant > 0 AND " HOSTS_FILTER("2")
        "  GROUP BY a.host) x ON x.host = h.name "
        "WHERE ($2::text IS NULL OR h.name = ANY (pg_catalog.string_to_array($2::text, ','))) "
        "ORDER BY h.name LIMIT 20000";

enum step { STEP_STANDING, STEP_GRANTS, STEP_APPROVE, STEP_REVOKE, STEP_BREAK_GLASS, STEP_DONE };

struct fr_req {
        struct jitd *d;
        uint64_t serial;
        json_object *report, *fleet;
        enum step step;
        char since[24];
        char pattern[JIT_HOST_MAX + 1];
        char *hosts;                    /* NULL: every host */
        char *roles, *needs;            /* this host's roles and their approvals, ',' joined */
};

static void fr_free(struct fr_req *f)
{
        if (!f)
                return;
        json_object_put(f->report);
        json_object_put(f->fleet);
        free(f->hosts);
        free(f->roles);
        free(f->needs);
        free(f);
}

static void fr_finish(struct fr_req *f, const char *error)
{
        const char *text;

        if (f->pattern[0])
                json_object_object_add(f->fleet, "pattern", json_object_new_string(f->pattern));
        if (error)
                json_object_object_add(f->fleet, "error", json_object_new_string(error));
        json_object_object_add(f->report, "fleet", f->fleet);
        f->fleet = NULL;
        text = json_object_to_json_string_ext(f->report, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        later_reply_json(f->d, f->serial, text ? strdup(text) : NULL);
        fr_free(f);
}

static json_object *int_or_null(const PGresult *res, int row, int col)
{
        if (PQgetisnull(res, row, col))
                return NULL;
        return json_object_new_int64(strtoll(PQgetvalue(res, row, col), NULL, 10));
}

static json_object *stats(const PGresult *res)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "count", int_or_null(res, 0, 0));
        json_object_object_add(o, "sum", int_or_null(res, 0, 1));
        json_object_object_add(o, "median", int_or_null(res, 0, 2));
        json_object_object_add(o, "p95", int_or_null(res, 0, 3));
        return o;
}

static int fr_query(struct fr_req *f);

static void on_step(int r, const PGresult *res, const char *why, void *userdata)
{
        struct fr_req *f = userdata;
        json_object *o;
        int64_t total = 0;
        int rows;

        if (r == -ECANCELED) {
                fr_free(f);
                return;
        }
        if (r < 0) {
                fr_finish(f, r == -EIO && why ? why : "the fleet database went away before it answered");
                return;
        }
        rows = PQntuples(res);
        switch (f->step) {
        case STEP_STANDING:
                o = json_object_new_array();
                for (int i = 0; i < rows; i++) {
                        json_object *h = json_object_new_object();

                        json_object_object_add(h, "host", json_object_new_string(PQgetvalue(res, i, 0)));
                        json_object_object_add(h, "active_grants", int_or_null(res, i, 1));
                        json_object_object_add(h, "active_fleet_grants", int_or_null(res, i, 2));
                        json_object_object_add(h, "last_event_at", int_or_null(res, i, 3));
                        total += strtoll(PQgetvalue(res, i, 1), NULL, 10);
                        json_object_array_add(o, h);
                }
                json_object_object_add(f->fleet, "active_grants", json_object_new_int64(total));
                json_object_object_add(f->fleet, "hosts", o);
                break;
        case STEP_GRANTS: {
                static const char *const states[] = { "open", "revoked", "released", "denied", "cancelled" };

                o = json_object_new_object();
                for (size_t k = 0; k < ELEMENTSOF(states); k++)
                        json_object_object_add(o, states[k], json_object_new_int64(0));
                for (int i = 0; i < rows; i++) {
                        int64_t n = strtoll(PQgetvalue(res, i, 1), NULL, 10);

                        total += n;
                        json_object_object_add(o, PQgetvalue(res, i, 0), json_object_new_int64(n));
                }
                json_object_object_add(o, "total", json_object_new_int64(total));
                json_object_object_add(f->fleet, "grants", o);
                break;
        }
        case STEP_APPROVE:
                if (rows == 1)
                        json_object_object_add(f->fleet, "time_to_approve_s", stats(res));
                break;
        case STEP_REVOKE:
                if (rows == 1) {
                        o = stats(res);
                        json_object_object_add(o, "incomplete", int_or_null(res, 0, 4));
                        json_object_object_add(f->fleet, "time_to_revoke_ms", o);
                }
                break;
        case STEP_BREAK_GLASS: {
                json_object *b = json_object_new_object();
                int64_t pending = 0;

                o = json_object_new_array();
                for (int i = 0; i < rows; i++) {
                        json_object *h = json_object_new_object();

                        json_object_object_add(h, "host", json_object_new_string(PQgetvalue(res, i, 0)));
                        json_object_object_add(h, "uses", int_or_null(res, i, 1));
                        json_object_object_add(h, "reviews_pending", int_or_null(res, i, 2));
                        total += strtoll(PQgetvalue(res, i, 1), NULL, 10);
                        pending += strtoll(PQgetvalue(res, i, 2), NULL, 10);
                        json_object_array_add(o, h);
                }
                json_object_object_add(b, "uses", json_object_new_int64(total));
                json_object_object_add(b, "reviews_pending", json_object_new_int64(pending));
                json_object_object_add(b, "hosts", o);
                json_object_object_add(f->fleet, "break_glass", b);
                break;
        }
        case STEP_DONE:
                break;
        }
        f->step++;
        if (f->step == STEP_DONE) {
                fr_finish(f, NULL);
                return;
        }
        if (fr_query(f) < 0)
                fr_finish(f, "the fleet database is unreachable");
}

static int fr_query(struct fr_req *f)
{
        const char *params[4];

        switch (f->step) {
        case STEP_STANDING:
                params[0] = f->hosts;
                return fleet_mirror_query(f->d->fleet, standing_sql, 1, params, on_step, f);
        case STEP_GRANTS:
                params[0] = f->since;
                params[1] = f->hosts;
                return fleet_mirror_query(f->d->fleet, grants_sql, 2, params, on_step, f);
        case STEP_APPROVE:
                params[0] = f->since;
                params[1] = f->roles;
                params[2] = f->needs;
                params[3] = f->hosts;
                return fleet_mirror_query(f->d->fleet, approve_sql, 4, params, on_step, f);
        case STEP_REVOKE:
                params[0] = f->since;
                params[1] = f->hosts;
                return fleet_mirror_query(f->d->fleet, revoke_sql, 2, params, on_step, f);
        case STEP_BREAK_GLASS:
                params[0] = f->since;
                params[1] = f->hosts;
                return fleet_mirror_query(f->d->fleet, break_glass_sql, 2, params, on_step, f);
        default:
                return -EINVAL;
        }
}

static void fr_on_hosts(int r, const char *names, size_t n, const char *why, void *userdata)
{
        struct fr_req *f = userdata;

        if (r == -ECANCELED) {
                fr_free(f);
                return;
        }
        if (r < 0) {
                fr_finish(f, r == -EIO && why ? why : "the fleet database went away before it answered");
                return;
        }
        if (n == 0) {
                fr_finish(f, "no host of the fleet matches the pattern");
                return;
        }
        if (!(f->hosts = strdup(names))) {
                fr_finish(f, "out of memory");
                return;
        }
        if (fr_query(f) < 0)
                fr_finish(f, "the fleet database is unreachable");
}

/* This host's roles and the approvals each asks for, as two lists. */
static int roles_lists(const struct config *c, char **ret_roles, char **ret_needs)
{
        size_t size = c->n_roles * (JIT_ROLE_MAX + 2) + 1;
        char *roles = calloc(1, size), *needs = calloc(1, c->n_roles * 12 + 1);
        size_t ur = 0, un = 0;

        if (!roles || !needs) {
                free(roles);
                free(needs);
                return -ENOMEM;
        }
        for (size_t i = 0; i < c->n_roles; i++) {
                ur += (size_t) snprintf(roles + ur, size - ur, "%s%s", i ? "," : "", c->roles[i].name);
                un += (size_t) snprintf(needs + un, c->n_roles * 12 + 1 - un, "%s%u", i ? "," : "",
                                        c->roles[i].approvals ? c->roles[i].approvals : 1);
        }
        *ret_roles = roles;
        *ret_needs = needs;
        return 0;
}

int fleet_report(struct request *req, char *json, int64_t since, const char *pattern)
{
        struct fr_req *f = calloc(1, sizeof(*f));
        int r;

        if (!f) {
                free(json);
                return reply_error(req, ENOMEM, "out of memory"), HANDLED;
        }
        f->d = req->d;
        f->report = json_tokener_parse(json);
        free(json);
        f->fleet = json_object_new_object();
        snprintf(f->since, sizeof(f->since), "%" PRId64, since > 0 ? since : 0);
        if (pattern)
                snprintf(f->pattern, sizeof(f->pattern), "%s", pattern);
        if (!f->report || !f->fleet || roles_lists(req->d->config, &f->roles, &f->needs) < 0) {
                fr_free(f);
                return reply_error(req, ENOMEM, "out of memory"), HANDLED;
        }
        f->serial = request_hold(req);
        r = pattern ? fleet_hosts_matching(req->d, pattern, fr_on_hosts, f) : fr_query(f);
        if (r < 0)
                fr_finish(f, r == -ENOTCONN ? "the fleet database is unreachable" : strerror(-r));
        return HANDLED_LATER;
}
