/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The governance report over a scripted history: every grant, timestamp and
 * teardown latency below is chosen so that each figure, nearest-rank
 * percentiles included, has exactly one right value.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "test_dirs.h"
#include "report.h"
#include "report_format.h"
#include "report_view.h"
#include "standing.h"
#include "store.h"
#include "audit_helpers.h"

#define T0    INT64_C(1700000000)
#define DAY   INT64_C(86400)
#define SINCE (T0 + DAY)
#define NOW   (T0 + 10 * DAY)
#define NEVER (-1)

static char rootdir[200];
static char tmpdir[256];
static char host[256];

static void setup(void)
{
        test_subdir(tmpdir, sizeof(tmpdir), rootdir);
}

static void teardown(void)
{
        test_remove_dir(tmpdir);
}

static void path_of(char *buf, size_t size, const char *name)
{
        ck_assert_int_lt(snprintf(buf, size, "%s/%s", tmpdir, name), (int) size);
}

static void write_file(const char *name, const char *text)
{
        char p[PATH_MAX];
        FILE *f;

        path_of(p, sizeof(p), name);
        f = fopen(p, "w");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fputs(text, f) >= 0, 1);
        ck_assert_int_eq(fclose(f), 0);
}

/* ---- the sudoers tree ---------------------------------------------------- */

/* Real sudoers syntax: visudo -cf accepts the whole tree (checked below).
 * Expected standing rules, in sudo's reading order, are in expect_rules. */
static void write_sudoers_tree(void)
{
        char p[PATH_MAX], name[PATH_MAX];

        path_of(p, sizeof(p), "sudoers.d");
        ck_assert_int_eq(mkdir(p, 0755), 0);
        write_file("sudoers",
                   "# Test sudoers: the main file.\n"                          /* 1 */
                   "Defaults\tenv_reset\n"
                   "Defaults:alice\t!lecture\n"
                   "Host_Alias\tWEB = web01, web02\n"
                   "User_Alias\tOPS = alice, bob\n"                             /* 5 */
                   "Cmnd_Alias\tSVC = /usr/bin/systemctl restart nginx, \\\n"
                   "\t\t/usr/bin/systemctl reload nginx\n"
                   "\n"
                   "root\tALL=(ALL:ALL) ALL\n"                                  /* 9 */
                   "OPS\tWEB = (root) SVC\n"                                    /* 10 */
                   "carol, dave ALL = (ALL) \\\n"                               /* 11 */
                   "\tNOPASSWD: /usr/bin/journalctl\n"
                   "#1001 ALL = (root) /usr/bin/id\n"                           /* 13: a uid, not a comment */
                   "# @includedir /nonexistent\n"
                   "#@include /nonexistent\n"                                   /* 15 */
                   "@includedir sudoers.d\n"
                   "#include extra\n");
        /* jitd's own drop-in: not standing privilege. */
        write_file("sudoers.d/jit-12",
                   "# jitd grant 12: web-admin for alice, until 2023-11-15T00:00:00Z. Managed by jitd; "
                   "do not edit.\n"
                   "alice ALL=(root) NOTBEFORE=20231114000000Z NOTAFTER=20231115000000Z ALL\n");
        /* Not jit-<digits>: someone else's file, counted. */
        write_file("sudoers.d/jit-old", "frank ALL=(ALL) ALL\n");
        write_file("sudoers.d/ops",
                   "# The ops team.\n"
                   "Defaults:%ops\ttimestamp_timeout=5\n"
                   "Runas_Alias\tDB = postgres, mysql\n"
                   "%ops\tALL = (DB) /usr/bin/psql, /usr/bin/mysql\n"            /* 4 */
                   "erin\tweb01 = (root) /usr/sbin/service nginx \\\n"           /* 5 */
                   "\trestart\n");
        /* sudo skips both names in an includedir. */
        write_file("sudoers.d/ops.dpkg-old", "mallory ALL=(ALL) ALL\n");
        write_file("sudoers.d/backup~", "mallory ALL=(ALL) ALL\n");
        write_file("extra",
                   "# Included with #include, relative to the main file.\n"
                   "%wheel ALL=(ALL) /usr/bin/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, "
                   "/usr/bin/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"
                   "@include \"quoted name\"\n"
                   "@include host-%h\n");
        write_file("quoted name", "grace ALL=(ALL) /usr/bin/true\n");
        snprintf(name, sizeof(name), "host-%s", host);
        write_file(name, "heidi ALL=(ALL) /usr/bin/false\n");
}

static const char *const expect_rules[] = {
        "sudoers:9: root ALL=(ALL:ALL) ALL",
        "sudoers:10: OPS WEB = (root) SVC",
        "sudoers:11: carol, dave ALL = (ALL) NOPASSWD: /usr/bin/journalctl",
        "sudoers:13: #1001 ALL = (root) /usr/bin/id",
        "sudoers.d/jit-old:1: frank ALL=(ALL) ALL",
        "sudoers.d/ops:4: %ops ALL = (DB) /usr/bin/psql, /usr/bin/mysql",
        "sudoers.d/ops:5: erin web01 = (root) /usr/sbin/service nginx restart",
        /* 80 characters of the rule exactly. */
        "extra:2: %wheel ALL=(ALL) /usr/bin/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, /usr/bin/bbb",
        "quoted name:1: grace ALL=(ALL) /usr/bin/true",
        NULL,   /* host-<short host name>:1: ..., filled in by the test */
};

static void expected_location(size_t i, char *buf, size_t size)
{
        if (expect_rules[i])
                snprintf(buf, size, "%s/%s", tmpdir, expect_rules[i]);
        else
                snprintf(buf, size, "%s/host-%s:1: heidi ALL=(ALL) /usr/bin/false", tmpdir, host);
}

#define N_RULES ELEMENTSOF(expect_rules)

static const char *visudo_path(void)
{
        const char *v = getenv("JIT_VISUDO");

        return v && v[0] ? v : "/usr/sbin/visudo";
}

START_TEST(sudoers_fixture_is_real_sudoers)
{
        char p[PATH_MAX];
        pid_t pid;
        int status;

        if (access(visudo_path(), X_OK) < 0) {
                fprintf(stderr, "check_report: no %s, fixture not validated\n", visudo_path());
                return;
        }
        write_sudoers_tree();
        path_of(p, sizeof(p), "sudoers");
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY);

                if (null >= 0) {
                        dup2(null, STDOUT_FILENO);
                        dup2(null, STDERR_FILENO);
                }
                execl(visudo_path(), "visudo", "-c", "-f", p, (char *) NULL);
                _exit(127);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "visudo -cf rejects the fixture");
}
END_TEST

START_TEST(standing_rules_and_where)
{
        struct standing *st = NULL;
        char p[PATH_MAX], want[PATH_MAX + 128];

        write_sudoers_tree();
        path_of(p, sizeof(p), "sudoers");
        ck_assert_int_eq(standing_scan(p, &st), 0);
        ck_assert_uint_eq(st->n_errors, 0);
        ck_assert_uint_eq(st->n_rules, N_RULES);
        ck_assert_uint_eq(st->n_root, 1);
        for (size_t i = 0; i < N_RULES; i++) {
                char *s = NULL;

                ck_assert_int_eq(standing_rule_format(&st->rules[i], &s), 0);
                expected_location(i, want, sizeof(want));
                ck_assert_str_eq(s, want);
                ck_assert_int_eq(st->rules[i].root, i == 0);
                free(s);
        }
        standing_free(st);
}
END_TEST

START_TEST(standing_loops_and_unreadable)
{
        struct standing *st = NULL;
        char p[PATH_MAX], want[PATH_MAX + 64];

        /* a includes b includes a: read once each, the loop reported. */
        write_file("a", "root ALL=(ALL:ALL) ALL\n@include b\n");
        write_file("b", "#0 ALL=(ALL) ALL\n@include a\n@includedir missing.d\n");
        path_of(p, sizeof(p), "a");
        ck_assert_int_eq(standing_scan(p, &st), 0);
        ck_assert_uint_eq(st->n_rules, 2);
        ck_assert_uint_eq(st->n_root, 2);
        ck_assert_uint_eq(st->n_errors, 2);
        snprintf(want, sizeof(want), "%s/a: includes itself", tmpdir);
        ck_assert_str_eq(st->errors[0], want);
        snprintf(want, sizeof(want), "%s/missing.d: cannot open directory: No such file or directory", tmpdir);
        ck_assert_str_eq(st->errors[1], want);
        standing_free(st);

        path_of(p, sizeof(p), "nope");
        ck_assert_int_eq(standing_scan(p, &st), 0);
        ck_assert_uint_eq(st->n_rules, 0);
        ck_assert_uint_eq(st->n_errors, 1);
        snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", p);
        ck_assert_str_eq(st->errors[0], want);
        standing_free(st);
}
END_TEST


/* A fan of includes (100 x 100 x 100 x 100 paths to one file): each file is
 * read once and its rule counted once; before, the scan read x 10^8 times. */
START_TEST(standing_include_fanout)
{
        static const char *const files[][2] = {
                { "fan", "a" }, { "a", "b" }, { "b", "c" }, { "c", "x" },
        };
        struct standing *st = NULL;
        char p[PATH_MAX];

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                char text[2000] = "";

                for (int k = 0; k < 100; k++) {
                        strcat(text, "@include ");
                        strcat(text, files[i][1]);
                        strcat(text, "\n");
                }
                write_file(files[i][0], text);
        }
        write_file("x", "ivan ALL=(ALL) ALL\n");
        path_of(p, sizeof(p), "fan");
        ck_assert_int_eq(standing_scan(p, &st), 0);
        ck_assert_uint_eq(st->n_rules, 1);
        ck_assert_uint_eq(st->n_errors, 0);
        standing_free(st);
}
END_TEST

/* ---- the scripted history ------------------------------------------------ */

struct hist {
        int64_t requested_at;
        int64_t approve_after;          /* NEVER: not approved */
        enum grant_state state;
        const char *approval;
        const char *end_reason;
        bool break_glass;
        const char *review;
        int64_t expires_at;             /* 0: requested_at + 1h */
        size_t n_torn;                  /* "torn-down" events, in order */
        const char *torn[2];            /* their details */
};

/* Grant ids are the index + 1. In the window [SINCE, ...): every grant but
 * 1, 18 and 21. */
static const struct hist history[] = {
        /* 1: before the window. */
        { T0, 100, GRANT_EXPIRED, "peer", "expired", .n_torn = 1,
          .torn = { "{\"latency_ms\":99999,\"complete\":true}" } },
        /* 2: requested exactly at the window's start: in it. */
        { SINCE, 60, GRANT_EXPIRED, "peer", "expired", .n_torn = 1,
          .torn = { "{\"latency_ms\":100,\"complete\":true}" } },
        { SINCE + 1000, 120, GRANT_REVOKED, "peer", "revoked by carol: left the team", .n_torn = 1,
          .torn = { "{\"latency_ms\":250,\"complete\":true}" } },
        { SINCE + 2000, 300, GRANT_REVOKED, "ticket", "ticket CHG7: Closed", .n_torn = 1,
          .torn = { "{\"latency_ms\":400,\"complete\":true}" } },
        /* 5: neither admin nor ticket; its teardown left a session behind. */
        { SINCE + 3000, 600, GRANT_REVOKED, "ticket,peer", "alice is no longer eligible for web-admin",
          .n_torn = 1, .torn = { "{\"latency_ms\":50,\"complete\":false}" } },
        /* 6: torn down twice: the first one counts. */
        { SINCE + 4000, 0, GRANT_RELEASED, "auto", "released by the user: task done", .n_torn = 2,
          .torn = { "{\"latency_ms\":1000,\"complete\":true}", "{\"latency_ms\":5000,\"complete\":true}" } },
        /* 7: active now. */
        { NOW - 7200, 30, GRANT_ACTIVE, "auto", "", .expires_at = NOW + 3600 },
        /* 8: still "active" in the store, but past its expiry: not active now. */
        { SINCE + 5000, 900, GRANT_ACTIVE, "peer", "", .expires_at = NOW - 10 },
        /* 9: a teardown event without a latency is no measurement. */
        { SINCE + 6000, 1800, GRANT_EXPIRED, "peer", "expired", .n_torn = 2,
          .torn = { "{}", "{\"latency_ms\":2000,\"complete\":true}" } },
        { SINCE + 7000, 7200, GRANT_SCHEDULED, "peer", "", .expires_at = NOW + 2 * DAY },
        { SINCE + 8000, 60, GRANT_EXPIRED, "peer", "expired", .n_torn = 1,
          .torn = { "{\"latency_ms\":20,\"complete\":true}" } },
        /* 12: denied grants had no rule: their teardown is not timed. */
        { SINCE + 9000, NEVER, GRANT_DENIED, "peer", "denied by dave: not now", .n_torn = 1,
          .torn = { "{\"latency_ms\":7,\"complete\":true}" } },
        { SINCE + 10000, NEVER, GRANT_PENDING, "peer", "", .n_torn = 0 },
        { SINCE + 11000, NEVER, GRANT_CANCELLED, "peer", "cancelled by the requester", .n_torn = 0 },
        /* 15: break-glass, review due exactly now: overdue. */
        { NOW - DAY, 0, GRANT_ACTIVE, "break-glass", "", true, "pending", NOW + 600, .n_torn = 0 },
        /* 16: break-glass, review due in a second. */
        { NOW - DAY + 1, 0, GRANT_EXPIRED, "break-glass", "expired", true, "pending", .n_torn = 1,
          .torn = { "{\"latency_ms\":3000,\"complete\":true}" } },
        { SINCE + 12000, 0, GRANT_RELEASED, "break-glass", "released by the user: task done", true, "accepted",
          .n_torn = 1, .torn = { "{\"latency_ms\":150,\"complete\":true}" } },
        /* 18: before the window, review still pending (and long overdue). */
        { T0 + 10, 0, GRANT_EXPIRED, "break-glass", "expired", true, "pending", .n_torn = 0 },
        /* 19: never approved (its ticket stayed open): nothing to time. */
        { SINCE + 13000, NEVER, GRANT_EXPIRED, "ticket", "ticket CHG9 was not approved within 1d", .n_torn = 1,
          .torn = { "{\"latency_ms\":3,\"complete\":true}" } },
        /* 20: the clock stepped back: counts as 0. */
        { SINCE + 14000, 0, GRANT_RELEASED, "auto", "released by the user: task done", .n_torn = 1,
          .torn = { "{\"latency_ms\":-5,\"complete\":true}" } },
        /* 21: requested before the window, active now: active counts it. */
        { SINCE - 3600, 60, GRANT_ACTIVE, "peer", "", .expires_at = NOW + 7200 },
};

static void make_grant(struct jit_grant *g, const struct hist *h)
{
        memset(g, 0, sizeof(*g));
        snprintf(g->user, sizeof(g->user), "alice");
        g->uid = 1000;
        snprintf(g->host, sizeof(g->host), "web01");
        snprintf(g->role, sizeof(g->role), "web-admin");
        snprintf(g->reason, sizeof(g->reason), "deploy");
        g->duration = 3600;
        g->state = h->state;
        g->requested_at = h->requested_at;
        if (h->approve_after != NEVER) {
                g->approved_at = h->requested_at + h->approve_after;
                g->starts_at = g->approved_at;
                g->expires_at = h->expires_at ? h->expires_at : g->starts_at + 3600;
        }
        if (!grant_state_is_open(h->state))
                g->ended_at = g->expires_at ? g->expires_at : h->requested_at + 60;
        snprintf(g->end_reason, sizeof(g->end_reason), "%s", h->end_reason);
        snprintf(g->approval, sizeof(g->approval), "%s", h->approval);
        g->break_glass = h->break_glass;
        snprintf(g->review, sizeof(g->review), "%s", h->review ? h->review : "");
}

static struct store *scripted_store(const struct hist *h, size_t n)
{
        struct store *s = NULL;
        char p[PATH_MAX];

        path_of(p, sizeof(p), "jitd.db");
        ck_assert_int_eq(store_open(p, &s), 0);
        ck_assert_int_eq(store_begin(s), 0);
        for (size_t i = 0; i < n; i++) {
                struct jit_grant g;

                make_grant(&g, &h[i]);
                ck_assert_int_eq(store_grant_insert(s, &g), 0);
                ck_assert_int_eq(g.id, (int64_t) i + 1);
                ck_assert_int_eq(test_audit_append(s, g.requested_at, 1000, "alice", g.id, "requested", "{}",
                                                    NULL), 0);
                for (size_t k = 0; k < h[i].n_torn; k++)
                        ck_assert_int_eq(test_audit_append(s, g.ended_at + 1 + (int64_t) k, 0, "jitd", g.id,
                                                            "torn-down", h[i].torn[k], NULL), 0);
        }
        ck_assert_int_eq(store_commit(s), 0);
        return s;
}

static json_object *get(json_object *o, const char *path)
{
        char buf[128], *save = NULL;

        snprintf(buf, sizeof(buf), "%s", path);
        for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
                json_object *next = NULL;

                ck_assert_msg(json_object_object_get_ex(o, k, &next), "no %s in the report", path);
                o = next;
        }
        return o;
}

static int64_t num(json_object *o, const char *path)
{
        json_object *v = get(o, path);

        ck_assert_msg(json_object_is_type(v, json_type_int), "%s is not an integer", path);
        return json_object_get_int64(v);
}

static json_object *build_report(struct store *s, const struct config *c, int64_t since, char **ret_text)
{
        char p[PATH_MAX], *text = NULL;
        json_object *o;

        path_of(p, sizeof(p), "sudoers");
        ck_assert_int_eq(report_build(s, c, p, since, NOW, &text), 0);
        ck_assert_ptr_nonnull(text);
        ck_assert_ptr_null(strchr(text, '\n'));
        o = json_tokener_parse(text);
        ck_assert_ptr_nonnull(o);
        if (ret_text)
                *ret_text = text;
        else
                free(text);
        return o;
}

START_TEST(figures_in_window)
{
        struct config c = { .review_within = DAY };
        struct store *s;
        json_object *o, *paths, *loc;
        char want[PATH_MAX + 128];

        write_sudoers_tree();
        s = scripted_store(history, ELEMENTSOF(history));
        o = build_report(s, &c, SINCE, NULL);

        ck_assert_int_eq(num(o, "version"), 1);
        ck_assert_int_eq(num(o, "now"), NOW);
        ck_assert_int_eq(num(o, "since"), SINCE);

        ck_assert_int_eq(num(o, "standing_sudo.rules"), (int64_t) N_RULES);
        ck_assert_int_eq(num(o, "standing_sudo.root_rules"), 1);
        loc = get(o, "standing_sudo.locations");
        ck_assert_uint_eq(json_object_array_length(loc), N_RULES);
        for (size_t i = 0; i < N_RULES; i++) {
                expected_location(i, want, sizeof(want));
                ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(loc, i)), want);
        }
        ck_assert_uint_eq(json_object_array_length(get(o, "standing_sudo.errors")), 0);

        ck_assert_int_eq(num(o, "grants.total"), 18);
        ck_assert_int_eq(num(o, "grants.active"), 3);          /* 7, 15, 21 */
        ck_assert_int_eq(num(o, "grants.denied"), 1);
        ck_assert_int_eq(num(o, "grants.cancelled"), 1);
        ck_assert_int_eq(num(o, "grants.released"), 3);        /* 6, 17, 20 */
        ck_assert_int_eq(num(o, "grants.expired"), 5);         /* 2, 9, 11, 16, 19 */
        ck_assert_int_eq(num(o, "grants.revoked"), 3);

        /* Keys in strcmp order, as counted. */
        paths = get(o, "approval.by_path");
        ck_assert_int_eq(json_object_object_length(paths), 5);
        ck_assert_str_eq(json_object_to_json_string_ext(paths, JSON_C_TO_STRING_PLAIN),
                         "{\"auto\":3,\"break-glass\":3,\"peer\":9,\"ticket\":2,\"ticket,peer\":1}");

        /* 0 0 30 60 60 [120] 300 600 900 1800 (7200): n = 11, median = x6,
         * p95 = x[ceil(10.45)] = x11. */
        ck_assert_int_eq(num(o, "approval.time_to_approve_s.count"), 11);
        ck_assert_int_eq(num(o, "approval.time_to_approve_s.sum"), 11070);
        ck_assert_int_eq(num(o, "approval.time_to_approve_s.median"), 120);
        ck_assert_int_eq(num(o, "approval.time_to_approve_s.p95"), 7200);

        ck_assert_int_eq(num(o, "revocation.admin"), 1);
        ck_assert_int_eq(num(o, "revocation.ticket"), 1);
        ck_assert_int_eq(num(o, "revocation.other"), 1);
        /* 0 20 50 100 [150] 250 400 1000 2000 (3000): n = 10, median = x5
         * (the lower middle), p95 = x[ceil(9.5)] = x10. */
        ck_assert_int_eq(num(o, "revocation.time_to_revoke_ms.count"), 10);
        ck_assert_int_eq(num(o, "revocation.time_to_revoke_ms.sum"), 6970);
        ck_assert_int_eq(num(o, "revocation.time_to_revoke_ms.median"), 150);
        ck_assert_int_eq(num(o, "revocation.time_to_revoke_ms.p95"), 3000);
        ck_assert_int_eq(num(o, "revocation.time_to_revoke_ms.incomplete"), 1);

        ck_assert_int_eq(num(o, "break_glass.uses"), 3);
        ck_assert_int_eq(num(o, "break_glass.reviews_pending"), 3);   /* 15, 16, 18 */
        ck_assert_int_eq(num(o, "break_glass.reviews_overdue"), 2);   /* 15 (exactly due), 18 */
        ck_assert_int_eq(num(o, "break_glass.review_within_s"), DAY);

        json_object_put(o);
        store_free(s);
}
END_TEST

START_TEST(figures_all_time)
{
        struct store *s;
        json_object *o;

        write_sudoers_tree();
        s = scripted_store(history, ELEMENTSOF(history));
        /* No config: review_within defaults to a day. */
        o = build_report(s, NULL, 0, NULL);

        ck_assert_int_eq(num(o, "since"), 0);
        ck_assert_int_eq(num(o, "grants.total"), 21);
        ck_assert_int_eq(num(o, "grants.active"), 3);
        ck_assert_int_eq(num(o, "grants.expired"), 7);         /* + 1, 18 */
        ck_assert_int_eq(num(o, "approval.by_path.peer"), 11);
        ck_assert_int_eq(num(o, "approval.by_path.break-glass"), 4);
        /* + 100 (1) and 60 (21): 0 0 30 60 60 60 [100] 120 ... (7200), n = 13. */
        ck_assert_int_eq(num(o, "approval.time_to_approve_s.count"), 13);
        ck_assert_int_eq(num(o, "approval.time_to_approve_s.sum"), 11230);
        ck_assert_int_eq(num(o, "approval.time_to_approve_s.median"), 100);
        ck_assert_int_eq(num(o, "approval.time_to_approve_s.p95"), 7200);
        /* + 99999 (1); 18 has no teardown event: n = 11, x6 and x11. */
        ck_assert_int_eq(num(o, "revocation.time_to_revoke_ms.count"), 11);
        ck_assert_int_eq(num(o, "revocation.time_to_revoke_ms.sum"), 106969);
        ck_assert_int_eq(num(o, "revocation.time_to_revoke_ms.median"), 250);
        ck_assert_int_eq(num(o, "revocation.time_to_revoke_ms.p95"), 99999);
        ck_assert_int_eq(num(o, "break_glass.uses"), 4);
        ck_assert_int_eq(num(o, "break_glass.reviews_pending"), 3);
        ck_assert_int_eq(num(o, "break_glass.reviews_overdue"), 2);
        ck_assert_int_eq(num(o, "break_glass.review_within_s"), DAY);
        json_object_put(o);
        store_free(s);
}
END_TEST

START_TEST(review_within_from_config)
{
        struct config c = { .review_within = 3600 };
        struct store *s;
        json_object *o;

        write_sudoers_tree();
        s = scripted_store(history, ELEMENTSOF(history));
        o = build_report(s, &c, SINCE, NULL);
        /* 16 (requested a day less a second ago) is overdue too now. */
        ck_assert_int_eq(num(o, "break_glass.reviews_overdue"), 3);
        ck_assert_int_eq(num(o, "break_glass.review_within_s"), 3600);
        json_object_put(o);
        store_free(s);
}
END_TEST

/* Nearest rank on 20 values 1..20: median x10 = 10 (not 10.5), p95 x19 = 19
 * (not 20); on one value, that value. */
START_TEST(nearest_rank)
{
        struct hist h[20];
        char torn[20][64];
        struct store *s;
        json_object *o;

        write_file("sudoers", "");
        for (int i = 0; i < 20; i++) {
                /* Out of order, so that sorting is exercised. */
                int v = (i * 7) % 20 + 1;

                snprintf(torn[i], sizeof(torn[i]), "{\"latency_ms\":%d,\"complete\":true}", v);
                h[i] = (struct hist) { SINCE + i, v, GRANT_EXPIRED, "peer", "expired", .n_torn = 1,
                                       .torn = { torn[i] } };
        }
        s = scripted_store(h, 20);
        o = build_report(s, NULL, 0, NULL);
        ck_assert_int_eq(num(o, "approval.time_to_approve_s.count"), 20);
        ck_assert_int_eq(num(o, "approval.time_to_approve_s.median"), 10);
        ck_assert_int_eq(num(o, "approval.time_to_approve_s.p95"), 19);
        ck_assert_int_eq(num(o, "revocation.time_to_revoke_ms.median"), 10);
        ck_assert_int_eq(num(o, "revocation.time_to_revoke_ms.p95"), 19);
        ck_assert_int_eq(num(o, "revocation.time_to_revoke_ms.sum"), 210);
        json_object_put(o);
        /* Only the first grant in the window. */
        o = build_report(s, NULL, SINCE + 19, NULL);
        ck_assert_int_eq(num(o, "approval.time_to_approve_s.count"), 1);
        ck_assert_int_eq(num(o, "approval.time_to_approve_s.median"), h[19].approve_after);
        ck_assert_int_eq(num(o, "approval.time_to_approve_s.p95"), h[19].approve_after);
        json_object_put(o);
        store_free(s);
}
END_TEST

/* The whole document, to the byte: key names and order are an interface. */
START_TEST(empty_store_exact_json)
{
        struct store *s = NULL;
        char p[PATH_MAX], want[2 * PATH_MAX + 1024], *text = NULL;

        write_file("sudoers", "root ALL=(ALL:ALL) ALL\n@include gone\n");
        path_of(p, sizeof(p), "jitd.db");
        ck_assert_int_eq(store_open(p, &s), 0);
        path_of(p, sizeof(p), "sudoers");
        ck_assert_int_eq(report_build(s, NULL, p, 0, NOW, &text), 0);
        snprintf(want, sizeof(want),
                 "{\"version\":1,\"now\":1700864000,\"since\":0,"
                 "\"standing_sudo\":{\"rules\":1,\"root_rules\":1,"
                 "\"locations\":[\"%s/sudoers:1: root ALL=(ALL:ALL) ALL\"],"
                 "\"errors\":[\"%s/gone: cannot open: No such file or directory\"]},"
                 "\"grants\":{\"total\":0,\"active\":0,\"denied\":0,\"cancelled\":0,\"released\":0,"
                 "\"expired\":0,\"revoked\":0},"
                 "\"approval\":{\"by_path\":{},"
                 "\"time_to_approve_s\":{\"count\":0,\"sum\":0,\"median\":null,\"p95\":null}},"
                 "\"revocation\":{\"admin\":0,\"ticket\":0,\"other\":0,"
                 "\"time_to_revoke_ms\":{\"count\":0,\"sum\":0,\"median\":null,\"p95\":null,\"incomplete\":0}},"
                 "\"break_glass\":{\"uses\":0,\"reviews_pending\":0,\"reviews_overdue\":0,"
                 "\"review_within_s\":86400},\"recording\":{\"sessions\":0,\"bytes\":0}}", tmpdir, tmpdir);
        ck_assert_str_eq(text, want);
        free(text);
        store_free(s);
}
END_TEST

/* ---- Prometheus ----------------------------------------------------------- */

static const char golden_prometheus[] =
        "# HELP jit_report_timestamp_seconds When these figures were computed (unix time).\n"
        "# TYPE jit_report_timestamp_seconds gauge\n"
        "jit_report_timestamp_seconds 1700864000\n"
        "# HELP jit_standing_sudo_rules Sudo user specifications not managed by jitd, root's included.\n"
        "# TYPE jit_standing_sudo_rules gauge\n"
        "jit_standing_sudo_rules 10\n"
        "# HELP jit_standing_sudo_root_rules Standing sudo rules whose user list is just root.\n"
        "# TYPE jit_standing_sudo_root_rules gauge\n"
        "jit_standing_sudo_root_rules 1\n"
        "# HELP jit_standing_sudo_scan_errors Sudoers files or directories that could not be read.\n"
        "# TYPE jit_standing_sudo_scan_errors gauge\n"
        "jit_standing_sudo_scan_errors 0\n"
        "# HELP jit_active_grants Grants active now.\n"
        "# TYPE jit_active_grants gauge\n"
        "jit_active_grants 3\n"
        "# HELP jit_grants_total Grants requested, by approval path.\n"
        "# TYPE jit_grants_total counter\n"
        "jit_grants_total{approval=\"auto\"} 3\n"
        "jit_grants_total{approval=\"break-glass\"} 3\n"
        "jit_grants_total{approval=\"peer\"} 9\n"
        "jit_grants_total{approval=\"ticket\"} 2\n"
        "jit_grants_total{approval=\"ticket,peer\"} 1\n"
        "# HELP jit_time_to_approve_seconds From request to approval, break-glass left out.\n"
        "# TYPE jit_time_to_approve_seconds summary\n"
        "jit_time_to_approve_seconds{quantile=\"0.5\"} 120\n"
        "jit_time_to_approve_seconds{quantile=\"0.95\"} 7200\n"
        "jit_time_to_approve_seconds_sum 11070\n"
        "jit_time_to_approve_seconds_count 11\n"
        "# HELP jit_time_to_revoke_seconds From the end of a grant to its teardown finished.\n"
        "# TYPE jit_time_to_revoke_seconds summary\n"
        "jit_time_to_revoke_seconds{quantile=\"0.5\"} 0.150\n"
        "jit_time_to_revoke_seconds{quantile=\"0.95\"} 3.000\n"
        "jit_time_to_revoke_seconds_sum 6.970\n"
        "jit_time_to_revoke_seconds_count 10\n"
        "# HELP jit_teardowns_incomplete_total Teardowns that left something behind.\n"
        "# TYPE jit_teardowns_incomplete_total counter\n"
        "jit_teardowns_incomplete_total 1\n"
        "# HELP jit_denials_total Requests denied.\n"
        "# TYPE jit_denials_total counter\n"
        "jit_denials_total 1\n"
        "# HELP jit_cancellations_total Requests withdrawn by their requester.\n"
        "# TYPE jit_cancellations_total counter\n"
        "jit_cancellations_total 1\n"
        "# HELP jit_releases_total Grants released early by their user.\n"
        "# TYPE jit_releases_total counter\n"
        "jit_releases_total 3\n"
        "# HELP jit_expiries_total Grants that ran to their end.\n"
        "# TYPE jit_expiries_total counter\n"
        "jit_expiries_total 5\n"
        "# HELP jit_revocations_total Grants revoked, by who or what ended them.\n"
        "# TYPE jit_revocations_total counter\n"
        "jit_revocations_total{by=\"admin\"} 1\n"
        "jit_revocations_total{by=\"ticket\"} 1\n"
        "jit_revocations_total{by=\"other\"} 1\n"
        "# HELP jit_break_glass_total Break-glass grants.\n"
        "# TYPE jit_break_glass_total counter\n"
        "jit_break_glass_total 3\n"
        "# HELP jit_reviews_pending Break-glass grants awaiting review.\n"
        "# TYPE jit_reviews_pending gauge\n"
        "jit_reviews_pending 3\n"
        "# HELP jit_reviews_overdue Break-glass grants whose review is overdue.\n"
        "# TYPE jit_reviews_overdue gauge\n"
        "jit_reviews_overdue 2\n"
        "# HELP jit_recorded_sessions_total Session recordings sealed in the audit chain.\n"
        "# TYPE jit_recorded_sessions_total counter\n"
        "jit_recorded_sessions_total 0\n"
        "# HELP jit_recorded_bytes_total Total size of the sealed session recordings.\n"
        "# TYPE jit_recorded_bytes_total counter\n"
        "jit_recorded_bytes_total 0\n";

START_TEST(prometheus_golden)
{
        struct config c = { .review_within = DAY };
        struct store *s;
        char *json = NULL, *text = NULL;
        json_object *o;

        write_sudoers_tree();
        s = scripted_store(history, ELEMENTSOF(history));
        o = build_report(s, &c, SINCE, &json);
        json_object_put(o);
        ck_assert_int_eq(report_prometheus(json, &text), 0);
        ck_assert_str_eq(text, golden_prometheus);
        free(text);
        free(json);
        store_free(s);
}
END_TEST

/* A minimal valid report with one approval path to play with. */
static char *small_report(const char *path_key, const char *approve)
{
        char *s = NULL;

        ck_assert_int_ge(asprintf(&s,
                "{\"version\":1,\"now\":1700864000,\"since\":0,"
                "\"standing_sudo\":{\"rules\":2,\"root_rules\":1,\"locations\":[\"/etc/sudoers:9: root ALL=(ALL:ALL) "
                "ALL\",\"/etc/sudoers.d/ops:4: %%ops ALL=(ALL) ALL\"],\"errors\":[\"/etc/sudoers.d/x: cannot open: "
                "Permission denied\"]},"
                "\"grants\":{\"total\":4,\"active\":1,\"denied\":1,\"cancelled\":0,\"released\":1,\"expired\":0,"
                "\"revoked\":1},"
                "\"approval\":{\"by_path\":{%s},\"time_to_approve_s\":%s},"
                "\"revocation\":{\"admin\":1,\"ticket\":0,\"other\":0,\"time_to_revoke_ms\":{\"count\":2,\"sum\":"
                "12345,\"median\":345,\"p95\":12000,\"incomplete\":0}},"
                "\"break_glass\":{\"uses\":1,\"reviews_pending\":1,\"reviews_overdue\":0,\"review_within_s\":86400}}",
                path_key, approve), 0);
        return s;
}

START_TEST(prometheus_escapes_and_nan)
{
        char *json = small_report("\"we\\\"ird\\\\path\\n\":4",
                                  "{\"count\":0,\"sum\":0,\"median\":null,\"p95\":null}");
        char *text = NULL;

        ck_assert_int_eq(report_prometheus(json, &text), 0);
        ck_assert_ptr_nonnull(strstr(text, "\njit_grants_total{approval=\"we\\\"ird\\\\path\\n\"} 4\n"));
        ck_assert_ptr_nonnull(strstr(text, "\njit_time_to_approve_seconds{quantile=\"0.5\"} NaN\n"
                                           "jit_time_to_approve_seconds{quantile=\"0.95\"} NaN\n"
                                           "jit_time_to_approve_seconds_sum 0\n"
                                           "jit_time_to_approve_seconds_count 0\n"));
        ck_assert_ptr_nonnull(strstr(text, "\njit_time_to_revoke_seconds{quantile=\"0.5\"} 0.345\n"
                                           "jit_time_to_revoke_seconds{quantile=\"0.95\"} 12.000\n"
                                           "jit_time_to_revoke_seconds_sum 12.345\n"));
        ck_assert_ptr_nonnull(strstr(text, "\njit_standing_sudo_scan_errors 1\n"));
        free(text);
        free(json);
}
END_TEST

START_TEST(prometheus_refuses_what_is_not_a_report)
{
        char *good = small_report("\"peer\":4", "{\"count\":1,\"sum\":5,\"median\":5,\"p95\":5}");
        char *text = (char *) "untouched", *bad;
        const char *const cases[] = { "", "[]", "{}", "nonsense", "{\"version\":1}" };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ck_assert_int_eq(report_prometheus(cases[i], &text), -EBADMSG);
                ck_assert_str_eq(text, "untouched");
        }
        /* Trailing bytes after the object. */
        ck_assert_int_ge(asprintf(&bad, "%s{}", good), 0);
        ck_assert_int_eq(report_prometheus(bad, &text), -EBADMSG);
        free(bad);
        /* A figure of the wrong type. */
        bad = small_report("\"peer\":\"4\"", "{\"count\":1,\"sum\":5,\"median\":5,\"p95\":5}");
        ck_assert_int_eq(report_prometheus(bad, &text), -EBADMSG);
        free(bad);
        bad = small_report("\"peer\":4", "{\"count\":1,\"sum\":5,\"median\":\"5\",\"p95\":5}");
        ck_assert_int_eq(report_prometheus(bad, &text), -EBADMSG);
        free(bad);
        /* null is a value; a missing key is not. */
        bad = small_report("\"peer\":4", "{\"count\":0,\"sum\":0,\"p95\":null}");
        ck_assert_int_eq(report_prometheus(bad, &text), -EBADMSG);
        free(bad);
        ck_assert_int_eq(report_prometheus(good, &text), 0);
        free(text);
        free(good);
}
END_TEST

/* small_report() with a "fleet" key (jitd/fleet_report.h) holding fleet. */
static char *fleet_report_json(const char *fleet)
{
        char *local = small_report("\"peer\":4", "{\"count\":1,\"sum\":5,\"median\":5,\"p95\":5}");
        char *s = NULL;
        size_t n = strlen(local);

        ck_assert_int_gt(n, 0);
        local[n - 1] = '\0';            /* the closing brace */
        ck_assert_int_ge(asprintf(&s, "%s,\"fleet\":%s}", local, fleet), 0);
        free(local);
        return s;
}

#define FLEET_HOSTS                                                                                     \
        "\"active_grants\":3,\"hosts\":[{\"host\":\"web-01\",\"active_grants\":2,\"active_fleet_grants\":1,"   \
        "\"last_event_at\":1700863990},{\"host\":\"we\\\"b\\\\2\\n\",\"active_grants\":1,"                \
        "\"active_fleet_grants\":1,\"last_event_at\":null}]"
#define FLEET_REST                                                                                      \
        "\"grants\":{\"open\":1,\"revoked\":2,\"released\":0,\"denied\":1,\"cancelled\":0,\"total\":4},"     \
        "\"time_to_approve_s\":{\"count\":3,\"sum\":95,\"median\":30,\"p95\":60},"                         \
        "\"time_to_revoke_ms\":{\"count\":2,\"sum\":1500,\"median\":500,\"p95\":1000,\"incomplete\":1}"

static const char golden_fleet[] =
        "# HELP jit_fleet_report_up Whether the fleet's figures follow (0: the fleet database could not be read "
        "in full, and none do).\n"
        "# TYPE jit_fleet_report_up gauge\n"
        "jit_fleet_report_up 1\n"
        "# HELP jit_fleet_active_grants Grants active on the fleet's hosts, as their uploaded audit says.\n"
        "# TYPE jit_fleet_active_grants gauge\n"
        "jit_fleet_active_grants 3\n"
        "# HELP jit_fleet_host_active_grants Grants active on a host (fleet copies and its own), as its uploaded "
        "audit says.\n"
        "# TYPE jit_fleet_host_active_grants gauge\n"
        "jit_fleet_host_active_grants{host=\"web-01\"} 2\n"
        "jit_fleet_host_active_grants{host=\"we\\\"b\\\\2\\n\"} 1\n"
        "# HELP jit_fleet_host_active_fleet_grants Of a host's active grants, the copies of fleet grants.\n"
        "# TYPE jit_fleet_host_active_fleet_grants gauge\n"
        "jit_fleet_host_active_fleet_grants{host=\"web-01\"} 1\n"
        "jit_fleet_host_active_fleet_grants{host=\"we\\\"b\\\\2\\n\"} 1\n"
        "# HELP jit_fleet_host_last_event_timestamp_seconds When the host's newest uploaded audit event happened "
        "(unix time; NaN: none yet).\n"
        "# TYPE jit_fleet_host_last_event_timestamp_seconds gauge\n"
        "jit_fleet_host_last_event_timestamp_seconds{host=\"web-01\"} 1700863990\n"
        "jit_fleet_host_last_event_timestamp_seconds{host=\"we\\\"b\\\\2\\n\"} NaN\n"
        "# HELP jit_fleet_grants Fleet grants requested in the report's window, by their state in the fleet.\n"
        "# TYPE jit_fleet_grants gauge\n"
        "jit_fleet_grants{state=\"open\"} 1\n"
        "jit_fleet_grants{state=\"revoked\"} 2\n"
        "jit_fleet_grants{state=\"released\"} 0\n"
        "jit_fleet_grants{state=\"denied\"} 1\n"
        "jit_fleet_grants{state=\"cancelled\"} 0\n"
        "# HELP jit_fleet_time_to_approve_seconds Fleet grants, from request to the approval that completed it.\n"
        "# TYPE jit_fleet_time_to_approve_seconds summary\n"
        "jit_fleet_time_to_approve_seconds{quantile=\"0.5\"} 30\n"
        "jit_fleet_time_to_approve_seconds{quantile=\"0.95\"} 60\n"
        "jit_fleet_time_to_approve_seconds_sum 95\n"
        "jit_fleet_time_to_approve_seconds_count 3\n"
        "# HELP jit_fleet_time_to_revoke_seconds Fleet grants, from revocation or release to the teardown on the "
        "last host that enforced it.\n"
        "# TYPE jit_fleet_time_to_revoke_seconds summary\n"
        "jit_fleet_time_to_revoke_seconds{quantile=\"0.5\"} 0.500\n"
        "jit_fleet_time_to_revoke_seconds{quantile=\"0.95\"} 1.000\n"
        "jit_fleet_time_to_revoke_seconds_sum 1.500\n"
        "jit_fleet_time_to_revoke_seconds_count 2\n"
        "# HELP jit_fleet_revocations_incomplete Fleet grants revoked or released that a host which enforced "
        "them has not reported torn down.\n"
        "# TYPE jit_fleet_revocations_incomplete gauge\n"
        "jit_fleet_revocations_incomplete 1\n";

static bool ends_with(const char *s, const char *tail)
{
        size_t n = strlen(s), m = strlen(tail);

        return n >= m && strcmp(s + n - m, tail) == 0;
}

START_TEST(prometheus_fleet)
{
        char *json = fleet_report_json("{" FLEET_HOSTS "," FLEET_REST "}");
        char *local = small_report("\"peer\":4", "{\"count\":1,\"sum\":5,\"median\":5,\"p95\":5}");
        char *text = NULL, *local_text = NULL;

        /* This host's metrics as without [fleet], then the fleet's, exactly. */
        ck_assert_int_eq(report_prometheus(json, &text), 0);
        ck_assert_int_eq(report_prometheus(local, &local_text), 0);
        ck_assert_int_eq(strncmp(text, local_text, strlen(local_text)), 0);
        ck_assert_str_eq(text + strlen(local_text), golden_fleet);
        /* Without [fleet], no fleet metric at all. */
        ck_assert_ptr_null(strstr(local_text, "jit_fleet_"));
        free(text);
        free(local_text);
        free(json);

        /* With --host: the pattern changes nothing in the metrics. */
        json = fleet_report_json("{" FLEET_HOSTS "," FLEET_REST ",\"pattern\":\"web-*\"}");
        ck_assert_int_eq(report_prometheus(json, &text), 0);
        ck_assert(ends_with(text, golden_fleet));
        free(text);
        free(json);

        /* No host, no observation: NaN quantiles, and no host series. */
        json = fleet_report_json("{\"active_grants\":0,\"hosts\":[],\"grants\":{\"open\":0,\"revoked\":0,"
                                 "\"released\":0,\"denied\":0,\"cancelled\":0,\"total\":0},"
                                 "\"time_to_approve_s\":{\"count\":0,\"sum\":0,\"median\":null,\"p95\":null},"
                                 "\"time_to_revoke_ms\":{\"count\":0,\"sum\":0,\"median\":null,\"p95\":null,"
                                 "\"incomplete\":0}}");
        ck_assert_int_eq(report_prometheus(json, &text), 0);
        ck_assert_ptr_nonnull(strstr(text, "\njit_fleet_report_up 1\n"));
        ck_assert_ptr_nonnull(strstr(text, "\n# TYPE jit_fleet_host_active_grants gauge\n# HELP"));
        ck_assert_ptr_nonnull(strstr(text, "\njit_fleet_time_to_revoke_seconds{quantile=\"0.5\"} NaN\n"
                                           "jit_fleet_time_to_revoke_seconds{quantile=\"0.95\"} NaN\n"
                                           "jit_fleet_time_to_revoke_seconds_sum 0.000\n"
                                           "jit_fleet_time_to_revoke_seconds_count 0\n"));
        free(text);
        free(json);
        free(local);
}
END_TEST

/* The fleet's break-glass figures (fleet_report.h "break_glass"), after the
 * rest; a jitd that has none (older) gives the rest alone. */
#define FLEET_BG                                                                                        \
        "\"break_glass\":{\"uses\":3,\"reviews_pending\":2,\"hosts\":[{\"host\":\"web-01\",\"uses\":3,"    \
        "\"reviews_pending\":2},{\"host\":\"we\\\"b\\\\2\\n\",\"uses\":0,\"reviews_pending\":0}]}"

static const char golden_fleet_bg[] =
        "# HELP jit_fleet_break_glass_uses Break-glass grants used on the fleet's hosts in the report's window, "
        "as their uploaded audit says.\n"
        "# TYPE jit_fleet_break_glass_uses gauge\n"
        "jit_fleet_break_glass_uses 3\n"
        "# HELP jit_fleet_break_glass_reviews_pending Break-glass grants on the fleet's hosts awaiting review, "
        "as their uploaded audit says.\n"
        "# TYPE jit_fleet_break_glass_reviews_pending gauge\n"
        "jit_fleet_break_glass_reviews_pending 2\n"
        "# HELP jit_fleet_host_break_glass_uses Break-glass grants used on a host in the report's window.\n"
        "# TYPE jit_fleet_host_break_glass_uses gauge\n"
        "jit_fleet_host_break_glass_uses{host=\"web-01\"} 3\n"
        "jit_fleet_host_break_glass_uses{host=\"we\\\"b\\\\2\\n\"} 0\n"
        "# HELP jit_fleet_host_break_glass_reviews_pending Break-glass grants on a host awaiting review (no "
        "reviewed event uploaded for them).\n"
        "# TYPE jit_fleet_host_break_glass_reviews_pending gauge\n"
        "jit_fleet_host_break_glass_reviews_pending{host=\"web-01\"} 2\n"
        "jit_fleet_host_break_glass_reviews_pending{host=\"we\\\"b\\\\2\\n\"} 0\n";

START_TEST(prometheus_fleet_break_glass)
{
        char *json = fleet_report_json("{" FLEET_HOSTS "," FLEET_REST "," FLEET_BG "}");
        char *plain = fleet_report_json("{" FLEET_HOSTS "," FLEET_REST "}");
        char *text = NULL, *plain_text = NULL;

        /* The figures without break-glass, exactly, then the break-glass ones. */
        ck_assert_int_eq(report_prometheus(json, &text), 0);
        ck_assert_int_eq(report_prometheus(plain, &plain_text), 0);
        ck_assert(ends_with(plain_text, golden_fleet));
        ck_assert_int_eq(strncmp(text, plain_text, strlen(plain_text)), 0);
        ck_assert_str_eq(text + strlen(plain_text), golden_fleet_bg);
        ck_assert_ptr_null(strstr(plain_text, "jit_fleet_break_glass_"));
        ck_assert_ptr_null(strstr(plain_text, "jit_fleet_host_break_glass_"));
        free(text);
        free(plain_text);
        free(json);
        free(plain);

        /* No host: the totals, and no host series. */
        json = fleet_report_json("{" FLEET_HOSTS "," FLEET_REST ",\"break_glass\":{\"uses\":0,\"reviews_pending\":0,"
                                 "\"hosts\":[]}}");
        ck_assert_int_eq(report_prometheus(json, &text), 0);
        ck_assert_ptr_nonnull(strstr(text, "\njit_fleet_break_glass_uses 0\n"));
        ck_assert_ptr_nonnull(strstr(text, "\n# TYPE jit_fleet_host_break_glass_uses gauge\n# HELP"));
        ck_assert_ptr_null(strstr(text, "jit_fleet_host_break_glass_reviews_pending{"));
        free(text);
        free(json);

        /* Cut short: none of it. */
        json = fleet_report_json("{" FLEET_HOSTS "," FLEET_REST "," FLEET_BG ",\"error\":\"x\"}");
        ck_assert_int_eq(report_prometheus(json, &text), 0);
        ck_assert_ptr_null(strstr(text, "jit_fleet_break_glass_"));
        ck_assert_ptr_null(strstr(text, "jit_fleet_host_break_glass_"));
        free(text);
        free(json);
}
END_TEST

START_TEST(prometheus_fleet_break_glass_bad_shapes)
{
        const char *const bgs[] = {
                "[]",
                "{}",
                "{\"uses\":1,\"reviews_pending\":0}",
                "{\"uses\":1,\"hosts\":[]}",
                "{\"uses\":\"1\",\"reviews_pending\":0,\"hosts\":[]}",
                "{\"uses\":1,\"reviews_pending\":0,\"hosts\":{}}",
                "{\"uses\":1,\"reviews_pending\":0,\"hosts\":[7]}",
                "{\"uses\":1,\"reviews_pending\":0,\"hosts\":[{\"host\":1,\"uses\":1,\"reviews_pending\":0}]}",
                "{\"uses\":1,\"reviews_pending\":0,\"hosts\":[{\"host\":\"a\",\"reviews_pending\":0}]}",
                "{\"uses\":1,\"reviews_pending\":0,\"hosts\":[{\"host\":\"a\",\"uses\":1,\"reviews_pending\":null}]}",
        };

        for (size_t i = 0; i < ELEMENTSOF(bgs); i++) {
                char *fleet = NULL, *json, *text = (char *) "untouched";

                ck_assert_int_ge(asprintf(&fleet, "{" FLEET_HOSTS "," FLEET_REST ",\"break_glass\":%s}", bgs[i]), 0);
                json = fleet_report_json(fleet);
                ck_assert_msg(report_prometheus(json, &text) == -EBADMSG, "case %zu", i);
                ck_assert_str_eq(text, "untouched");
                free(json);
                free(fleet);
        }
}
END_TEST

/* The fleet part cut short (or never read): this host's metrics, then
 * jit_fleet_report_up 0 and not one fleet figure, even those that came. */
START_TEST(prometheus_fleet_down)
{
        const char *const fleets[] = {
                "{\"error\":\"the fleet database is unreachable\"}",
                "{" FLEET_HOSTS ",\"error\":\"the fleet database went away before it answered\"}",
                "{" FLEET_HOSTS "," FLEET_REST ",\"pattern\":\"web-*\",\"error\":\"x\"}",
        };
        static const char down[] =
                "# HELP jit_fleet_report_up Whether the fleet's figures follow (0: the fleet database could not be "
                "read in full, and none do).\n"
                "# TYPE jit_fleet_report_up gauge\n"
                "jit_fleet_report_up 0\n";

        for (size_t i = 0; i < ELEMENTSOF(fleets); i++) {
                char *json = fleet_report_json(fleets[i]), *text = NULL;

                ck_assert_int_eq(report_prometheus(json, &text), 0);
                ck_assert(ends_with(text, down));
                ck_assert_ptr_eq(strstr(text, "jit_fleet_"), strstr(text, "jit_fleet_report_up"));
                ck_assert_ptr_nonnull(strstr(text, "\njit_active_grants 1\n"));
                free(text);
                free(json);
        }
}
END_TEST

START_TEST(prometheus_fleet_refuses_bad_shapes)
{
        const char *const fleets[] = {
                "[]",
                "{}",
                "{\"error\":3}",
                "{" FLEET_HOSTS "}",
                "{\"active_grants\":3,\"hosts\":{}," FLEET_REST "}",
                "{\"active_grants\":3,\"hosts\":[{\"host\":7,\"active_grants\":2,\"active_fleet_grants\":1,"
                "\"last_event_at\":null}]," FLEET_REST "}",
                "{\"active_grants\":3,\"hosts\":[{\"host\":\"a\",\"active_fleet_grants\":1,"
                "\"last_event_at\":null}]," FLEET_REST "}",
                "{\"active_grants\":3,\"hosts\":[{\"host\":\"a\",\"active_grants\":2,\"active_fleet_grants\":1}],"
                FLEET_REST "}",
                "{\"active_grants\":3,\"hosts\":[{\"host\":\"a\",\"active_grants\":2,\"active_fleet_grants\":1,"
                "\"last_event_at\":\"soon\"}]," FLEET_REST "}",
                "{\"active_grants\":3,\"hosts\":[7]," FLEET_REST "}",
                "{" FLEET_HOSTS ",\"grants\":{\"open\":1,\"revoked\":2,\"released\":0,\"denied\":1,\"total\":4},"
                "\"time_to_approve_s\":{\"count\":3,\"sum\":95,\"median\":30,\"p95\":60},"
                "\"time_to_revoke_ms\":{\"count\":2,\"sum\":1500,\"median\":500,\"p95\":1000,\"incomplete\":1}}",
                "{" FLEET_HOSTS ",\"grants\":{\"open\":1,\"revoked\":2,\"released\":0,\"denied\":1,\"cancelled\":0},"
                "\"time_to_approve_s\":{\"count\":3,\"sum\":95,\"median\":30},"
                "\"time_to_revoke_ms\":{\"count\":2,\"sum\":1500,\"median\":500,\"p95\":1000,\"incomplete\":1}}",
                "{" FLEET_HOSTS ",\"grants\":{\"open\":1,\"revoked\":2,\"released\":0,\"denied\":1,\"cancelled\":0},"
                "\"time_to_approve_s\":{\"count\":3,\"sum\":95,\"median\":30,\"p95\":60},"
                "\"time_to_revoke_ms\":{\"count\":2,\"sum\":1500,\"median\":500,\"p95\":1000}}",
        };

        for (size_t i = 0; i < ELEMENTSOF(fleets); i++) {
                char *json = fleet_report_json(fleets[i]), *text = (char *) "untouched";

                ck_assert_msg(report_prometheus(json, &text) == -EBADMSG, "case %zu", i);
                ck_assert_str_eq(text, "untouched");
                free(json);
        }
}
END_TEST

/* ---- the metrics file ----------------------------------------------------- */

static size_t count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

static void read_whole(const char *p, char *buf, size_t size)
{
        FILE *f = fopen(p, "r");
        size_t n;

        ck_assert_ptr_nonnull(f);
        n = fread(buf, 1, size - 1, f);
        buf[n] = '\0';
        fclose(f);
}

START_TEST(metrics_file_atomic)
{
        char dir[PATH_MAX], p[PATH_MAX + 32], target[PATH_MAX], link[PATH_MAX + 32], buf[256];
        struct stat a, b;
        mode_t old = umask(077);

        path_of(dir, sizeof(dir), "textfile");
        ck_assert_int_eq(mkdir(dir, 0755), 0);
        snprintf(p, sizeof(p), "%s/jit.prom", dir);

        ck_assert_int_eq(report_write_metrics_file(p, "jit_active_grants 1\n"), 0);
        ck_assert_int_eq(stat(p, &a), 0);
        /* 0644 whatever the umask: node_exporter does not run as root. */
        ck_assert_int_eq(a.st_mode & 07777, 0644);
        ck_assert(S_ISREG(a.st_mode));
        read_whole(p, buf, sizeof(buf));
        ck_assert_str_eq(buf, "jit_active_grants 1\n");
        ck_assert_uint_eq(count_entries(dir), 1);

        /* Replaced, not rewritten in place: a reader never sees half a file. */
        ck_assert_int_eq(report_write_metrics_file(p, "jit_active_grants 2\n"), 0);
        ck_assert_int_eq(stat(p, &b), 0);
        ck_assert(a.st_ino != b.st_ino);
        read_whole(p, buf, sizeof(buf));
        ck_assert_str_eq(buf, "jit_active_grants 2\n");
        ck_assert_uint_eq(count_entries(dir), 1);

        /* A symlink planted at the path is replaced, never written through. */
        path_of(target, sizeof(target), "target");
        write_file("target", "keep\n");
        snprintf(link, sizeof(link), "%s/link.prom", dir);
        ck_assert_int_eq(symlink(target, link), 0);
        ck_assert_int_eq(report_write_metrics_file(link, "x 1\n"), 0);
        ck_assert_int_eq(lstat(link, &a), 0);
        ck_assert(S_ISREG(a.st_mode));
        read_whole(target, buf, sizeof(buf));
        ck_assert_str_eq(buf, "keep\n");

        /* Failure leaves nothing behind. */
        snprintf(p, sizeof(p), "%s/no-such-dir/jit.prom", dir);
        ck_assert_int_eq(report_write_metrics_file(p, "x 1\n"), -ENOENT);
        ck_assert_int_eq(report_write_metrics_file(dir, "x 1\n") < 0, 1);
        ck_assert_uint_eq(count_entries(dir), 2);
        umask(old);
}
END_TEST

/* ---- jitctl's summary ----------------------------------------------------- */

static const char golden_view[] =
        "Governance report, 2023-11-24 22:13:20: all grants\n"
        "\n"
        "Standing privilege\n"
        "  sudo rules outside jitd: 2 (1 of them root's own)\n"
        "    /etc/sudoers:9: root ALL=(ALL:ALL) ALL\n"
        "    /etc/sudoers.d/ops:4: %ops ALL=(ALL) ALL\n"
        "  not read: /etc/sudoers.d/x: cannot open: Permission denied\n"
        "\n"
        "Grants\n"
        "  requested:               4\n"
        "  active now:              1\n"
        "  denied:                  1\n"
        "  cancelled:               0\n"
        "  released:                1\n"
        "  expired:                 0\n"
        "  revoked:                 1\n"
        "\n"
        "Approval\n"
        "  path peer:               3\n"
        "  path ticket\\x01peer:     1\n"
        "  time to approve:         median 2m, p95 1h30m (4 grants)\n"
        "\n"
        "Revocation\n"
        "  by an admin:             1\n"
        "  by a ticket:             0\n"
        "  other:                   0\n"
        "  time to revoke:          median 345ms, p95 12s (2 teardowns)\n"
        "  incomplete teardowns:    0\n"
        "\n"
        "Break-glass\n"
        "  uses:                    1\n"
        "  awaiting review:         1\n"
        "  overdue reviews:         0 (reviews are due within 1d)\n";

START_TEST(view_text)
{
        char *json = small_report("\"peer\":3,\"ticket\\u0001peer\":1",
                                  "{\"count\":4,\"sum\":5800,\"median\":120,\"p95\":5400}");
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        setenv("TZ", "UTC", 1);
        tzset();
        f = open_memstream(&buf, &size);
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(report_view_text(f, json), 0);
        fclose(f);
        ck_assert_str_eq(buf, golden_view);
        free(buf);
        free(json);

        /* Nothing printed for a broken report. */
        buf = NULL;
        f = open_memstream(&buf, &size);
        ck_assert_int_eq(report_view_text(f, "{\"version\":1}"), -EBADMSG);
        fclose(f);
        ck_assert_str_eq(buf, "");
        free(buf);
}
END_TEST

static Suite *report_suite(void)
{
        Suite *s = suite_create("report");
        TCase *tc = tcase_create("report");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, sudoers_fixture_is_real_sudoers);
        tcase_add_test(tc, standing_rules_and_where);
        tcase_add_test(tc, standing_loops_and_unreadable);
        tcase_add_test(tc, standing_include_fanout);
        tcase_add_test(tc, figures_in_window);
        tcase_add_test(tc, figures_all_time);
        tcase_add_test(tc, review_within_from_config);
        tcase_add_test(tc, nearest_rank);
        tcase_add_test(tc, empty_store_exact_json);
        tcase_add_test(tc, prometheus_golden);
        tcase_add_test(tc, prometheus_escapes_and_nan);
        tcase_add_test(tc, prometheus_refuses_what_is_not_a_report);
        tcase_add_test(tc, prometheus_fleet);
        tcase_add_test(tc, prometheus_fleet_down);
        tcase_add_test(tc, prometheus_fleet_refuses_bad_shapes);
        tcase_add_test(tc, prometheus_fleet_break_glass);
        tcase_add_test(tc, prometheus_fleet_break_glass_bad_shapes);
        tcase_add_test(tc, metrics_file_atomic);
        tcase_add_test(tc, view_text);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        SRunner *sr;
        int failed;

        if (gethostname(host, sizeof(host)) < 0)
                snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = '\0';
        host[strcspn(host, ".")] = '\0';
        if (snprintf(rootdir, sizeof(rootdir), "%s/check_report.XXXXXX", base) >= (int) sizeof(rootdir) ||
            !mkdtemp(rootdir)) {
                fprintf(stderr, "check_report: cannot create a directory under %s\n", base);
                return 1;
        }
        sr = srunner_create(report_suite());
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        test_remove_dir(rootdir);
        return failed == 0 ? 0 : 1;
}
