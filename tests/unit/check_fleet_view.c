/* SPDX-License-Identifier: BSD-3-Clause */
/* The fleet's reads as jitctl shows them: grant IDs ("12" is this host's,
 * "F12" a fleet grant's) on the command line, on the wire and in output;
 * show F12, audit verify and the report's fleet part rendered from jitd's
 * documents; --host patterns. Runs with TZ=UTC. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "commands.h"
#include "fleet_view.h"
#include "grant.h"
#include "output.h"
#include "policy.h"
#include "proto.h"

/* 2026-11-23 14:05:00 UTC */
#define T0 "1795442700"

struct capture {
        FILE *f;
        char *buf;
        size_t len;
};

static void capture_start(struct capture *c)
{
        c->buf = NULL;
        c->len = 0;
        c->f = open_memstream(&c->buf, &c->len);
        ck_assert_ptr_nonnull(c->f);
}

static char *capture_end(struct capture *c)
{
        fclose(c->f);
        return c->buf;
}

#define assert_has(out, s) ck_assert_msg(strstr((out), (s)) != NULL, "output lacks \"%s\":\n%s", (s), (out))
#define assert_lacks(out, s) ck_assert_msg(strstr((out), (s)) == NULL, "output has \"%s\":\n%s", (s), (out))

START_TEST(test_parse_grant_ref)
{
        int64_t id = -1, fid = -1;

        ck_assert_int_eq(jitctl_parse_grant_ref("12", &id, &fid), 0);
        ck_assert_int_eq(id, 12);
        ck_assert_int_eq(fid, 0);
        ck_assert_int_eq(jitctl_parse_grant_ref("F12", &id, &fid), 0);
        ck_assert_int_eq(id, 0);
        ck_assert_int_eq(fid, 12);
        ck_assert_int_eq(jitctl_parse_grant_ref("f7", &id, &fid), 0);
        ck_assert_int_eq(id, 0);
        ck_assert_int_eq(fid, 7);
        ck_assert_int_eq(jitctl_parse_grant_ref("F", &id, &fid), -EINVAL);
        ck_assert_int_eq(jitctl_parse_grant_ref("F0", &id, &fid), -ERANGE);
        ck_assert_int_eq(jitctl_parse_grant_ref("0", &id, &fid), -ERANGE);
        ck_assert_int_eq(jitctl_parse_grant_ref("F-1", &id, &fid), -EINVAL);
        ck_assert_int_eq(jitctl_parse_grant_ref("FF1", &id, &fid), -EINVAL);
        ck_assert_int_eq(jitctl_parse_grant_ref("F 1", &id, &fid), -EINVAL);
        ck_assert_int_eq(jitctl_parse_grant_ref("fleet:1", &id, &fid), -EINVAL);
        ck_assert_int_eq(jitctl_parse_grant_ref("12F", &id, &fid), -EINVAL);
        ck_assert_int_eq(jitctl_parse_grant_ref("F99999999999999999999", &id, &fid), -ERANGE);
        ck_assert_int_eq(jitctl_parse_grant_ref(NULL, &id, &fid), -EINVAL);
}
END_TEST

static struct jit_grant fixture(int64_t id, int64_t fleet_id)
{
        struct jit_grant g = { .id = id, .fleet_id = fleet_id, .uid = 1000, .duration = 3600,
                               .state = GRANT_PENDING, .approvals_needed = 1 };

        strcpy(g.user, "alice");
        strcpy(g.host, "web-*");
        strcpy(g.role, "web-admin");
        strcpy(g.approval, "peer");
        return g;
}

START_TEST(test_grant_ref_wire_and_output)
{
        struct jit_grant fleet = fixture(0, 12), copy = fixture(7, 12), got;
        struct proto_msg m;
        struct json_object *o;
        struct capture c;
        char buf[32], *out;

        output_grant_ref(&fleet, buf, sizeof(buf));
        ck_assert_str_eq(buf, "F12");
        output_grant_ref(&copy, buf, sizeof(buf));
        ck_assert_str_eq(buf, "7");

        /* A fleet grant travels without a local id. */
        proto_init(&m, PROTO_REP_GRANT);
        ck_assert_int_eq(grant_to_proto(&fleet, &m), 0);
        ck_assert(!proto_has(&m, PF_ID));
        ck_assert_int_eq(grant_from_proto(&m, &got), 0);
        ck_assert_int_eq(got.id, 0);
        ck_assert_int_eq(got.fleet_id, 12);
        proto_init(&m, PROTO_REP_GRANT);
        ck_assert_int_eq(grant_to_proto(&copy, &m), 0);
        ck_assert_int_eq(grant_from_proto(&m, &got), 0);
        ck_assert_int_eq(got.id, 7);
        ck_assert_int_eq(got.fleet_id, 12);
        /* Neither id: refused. */
        proto_init(&m, PROTO_REP_GRANT);
        ck_assert_int_eq(proto_set_u64(&m, PF_UID, 1), 0);
        ck_assert_int_eq(proto_set_str(&m, PF_STATE, "pending"), 0);
        ck_assert_int_eq(proto_set_str(&m, PF_USER, "alice"), 0);
        ck_assert_int_eq(proto_set_str(&m, PF_ROLE, "r"), 0);
        ck_assert_int_eq(grant_from_proto(&m, &got), -EBADMSG);

        capture_start(&c);
        output_grant_summary(c.f, &fleet, 0);
        out = capture_end(&c);
        ck_assert_str_eq(out, "fleet grant F12 for web-admin is pending: needs 1 approval\n");
        free(out);

        ck_assert_int_eq(output_grant_json(&fleet, &o), 0);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "id")), "F12");
        ck_assert_int_eq(json_object_get_int64(json_object_object_get(o, "fleet_id")), 12);
        json_object_put(o);
        ck_assert_int_eq(output_grant_json(&copy, &o), 0);
        ck_assert_int_eq(json_object_get_int64(json_object_object_get(o, "id")), 7);
        ck_assert_int_eq(json_object_get_int64(json_object_object_get(o, "fleet_id")), 12);
        json_object_put(o);
        /* A grant of this host only has no fleet_id key at all. */
        copy.fleet_id = 0;
        ck_assert_int_eq(output_grant_json(&copy, &o), 0);
        ck_assert(!json_object_object_get_ex(o, "fleet_id", NULL));
        json_object_put(o);
}
END_TEST

static const char show_doc[] =
        "{\"fleet_id\":12,\"origin_host\":\"web-01\",\"user\":\"alice\",\"role\":\"web-admin\","
        "\"hosts\":[\"web-*\",\"db01\"],\"duration\":3600,\"ticket\":null,\"reason\":\"deploy\","
        "\"break_glass\":false,\"requested_at\":" T0 ",\"state\":\"revoked\",\"ended_at\":" T0 ","
        "\"end\":{\"kind\":\"revoked\",\"by\":\"dave\",\"host\":\"db-01\",\"reason\":\"done\",\"at\":" T0 "},"
        "\"approvals\":[{\"approver\":\"bob\",\"host\":\"web-02\",\"at\":" T0 ",\"note\":\"go\"}],"
        "\"approvals_needed_here\":1,"
        "\"here\":{\"host\":\"web-01\",\"grant\":7,\"state\":\"revoked\",\"expires_at\":null},"
        "\"per_host\":[{\"host\":\"db-01\",\"events\":1,\"enforced_at\":null,\"ended_at\":null,"
        "\"last_event\":\"fleet-refused\",\"refused\":[{\"at\":" T0 ",\"why\":\"role web-admin does not apply\"}]},"
        "{\"host\":\"web-01\",\"events\":4,\"enforced_at\":" T0 ",\"ended_at\":" T0 ",\"last_event\":\"revoked\","
        "\"refused\":[]}]}";

START_TEST(test_view_show)
{
        struct capture c;
        char *out;

        capture_start(&c);
        ck_assert_int_eq(fleet_view_show(c.f, show_doc), 0);
        out = capture_end(&c);
        assert_has(out, "fleet grant:   F12\n");
        assert_has(out, "hosts:         web-*, db01\n");
        assert_has(out, "ended:         revoked by dave on db-01 at 2026-11-23 14:05:00: done\n");
        assert_has(out, "approvals:     1 (this host's role asks for 1)\n");
        assert_has(out, "  bob on web-02 at 2026-11-23 14:05:00: \"go\"\n");
        assert_has(out, "here:          enforced on web-01 as grant 7 (revoked)\n");
        assert_has(out, "HOST    ENFORCED             ENDED                LAST EVENT     REFUSED\n");
        assert_has(out, "db-01   -                    -                    fleet-refused  role web-admin does not apply\n");
        assert_has(out, "web-01  2026-11-23 14:05:00  2026-11-23 14:05:00  revoked        -\n");
        free(out);

        capture_start(&c);
        ck_assert_int_eq(fleet_view_show(c.f, "{\"user\":\"a\"}"), -EBADMSG);
        ck_assert_int_eq(fleet_view_show(c.f, "[1]"), -EBADMSG);
        ck_assert_int_eq(fleet_view_show(c.f, "{\"fleet_id\":1,\"user\":\"a\",\"role\":\"r\"} x"), -EBADMSG);
        free(capture_end(&c));
}
END_TEST

START_TEST(test_view_verify)
{
        static const char doc[] =
                "{\"local\":{\"intact\":true,\"events\":3},\"fleet\":{\"hosts\":["
                "{\"host\":\"db-01\",\"events\":4,\"first_at\":" T0 ",\"last_at\":" T0 ",\"intact\":false,"
                "\"bad_seq\":5,\"why\":\"event 5 was edited (its hash does not match its fields)\","
                "\"keyed_from\":null,\"keyed_events\":0},"
                "{\"host\":\"web-01\",\"events\":9,\"first_at\":" T0 ",\"last_at\":" T0 ",\"intact\":true,"
                "\"bad_seq\":null,\"why\":null,\"keyed_from\":3,\"keyed_events\":7},"
                "{\"host\":\"web-02\",\"events\":0,\"first_at\":null,\"last_at\":null,\"intact\":true,"
                "\"bad_seq\":null,\"why\":null,\"keyed_from\":null,\"keyed_events\":0}]}}";
        struct capture c;
        bool ok = true;
        char *out;

        capture_start(&c);
        ck_assert_int_eq(fleet_view_verify(c.f, doc, &ok), 0);
        out = capture_end(&c);
        ck_assert(!ok);
        assert_has(out, "fleet copy (jit.audit): 3 hosts\n");
        assert_has(out, "  db-01: BROKEN at event 5: event 5 was edited (its hash does not match its fields) "
                        "(4 events before it intact)\n");
        assert_has(out, "  web-01: intact, 9 events from 2026-11-23 14:05:00 to 2026-11-23 14:05:00; keyed: links "
                        "checked, hashes not recomputable here (7 events)\n");
        assert_has(out, "  web-02: no events uploaded\n");
        free(out);

        /* No [fleet]: nothing to say, and nothing wrong. */
        capture_start(&c);
        ck_assert_int_eq(fleet_view_verify(c.f, "{\"local\":{\"intact\":true,\"events\":1},\"fleet\":null}", &ok), 0);
        out = capture_end(&c);
        ck_assert(ok);
        ck_assert_str_eq(out, "");
        free(out);

        /* The database went away: said, and not "ok". */
        capture_start(&c);
        ck_assert_int_eq(fleet_view_verify(c.f, "{\"local\":{},\"fleet\":{\"hosts\":[],\"error\":\"the fleet database "
                                                "is unreachable\"}}", &ok), 0);
        out = capture_end(&c);
        ck_assert(!ok);
        ck_assert_str_eq(out, "fleet copy (jit.audit): the fleet part is incomplete: the fleet database is "
                              "unreachable\n");
        free(out);
}
END_TEST

START_TEST(test_view_report)
{
        static const char doc[] =
                "{\"version\":1,\"fleet\":{\"active_grants\":3,\"hosts\":["
                "{\"host\":\"web-01\",\"active_grants\":2,\"active_fleet_grants\":1,\"last_event_at\":" T0 "},"
                "{\"host\":\"web-02\",\"active_grants\":1,\"active_fleet_grants\":1,\"last_event_at\":null}],"
                "\"grants\":{\"open\":2,\"revoked\":1,\"released\":0,\"denied\":1,\"cancelled\":0,\"total\":4},"
                "\"time_to_approve_s\":{\"count\":3,\"sum\":100,\"median\":30,\"p95\":60},"
                "\"time_to_revoke_ms\":{\"count\":2,\"sum\":2500,\"median\":872,\"p95\":1628,\"incomplete\":1}}}";
        struct capture c;
        bool ok = false;
        char *out;

        capture_start(&c);
        ck_assert_int_eq(fleet_view_report(c.f, doc, &ok), 0);
        out = capture_end(&c);
        ck_assert(ok);
        assert_has(out, "standing privilege:        3 on 2 hosts");
        assert_has(out, "  web-01:                  2 active (1 fleet), newest event 2026-11-23 14:05:00\n");
        assert_has(out, "  web-02:                  1 active (1 fleet), newest event never\n");
        assert_has(out, "fleet grants:              4 (open 2, revoked 1, released 0, denied 1, cancelled 0)\n");
        assert_has(out, "fleet time to approve:     median 30s, p95 1m (3 grants)\n");
        assert_has(out, "fleet time to revoke:      median 872ms, p95 1s (2 grants); 1 not torn down everywhere yet\n");
        free(out);

        capture_start(&c);
        ck_assert_int_eq(fleet_view_report(c.f, "{\"version\":1}", &ok), 0);
        out = capture_end(&c);
        ck_assert(ok);
        ck_assert_str_eq(out, "");
        free(out);

        capture_start(&c);
        ck_assert_int_eq(fleet_view_report(c.f, "{\"fleet\":{\"error\":\"the fleet database is unreachable\"}}",
                                           &ok), 0);
        out = capture_end(&c);
        ck_assert(!ok);
        assert_has(out, "the fleet part is incomplete: the fleet database is unreachable\n");
        assert_lacks(out, "standing privilege");
        free(out);
        ck_assert_int_eq(fleet_view_report(stdout, "not json", &ok), -EBADMSG);
}
END_TEST

/* The fleet's break-glass: the totals, then each host that has any. */
START_TEST(test_view_report_break_glass)
{
        static const char doc[] =
                "{\"version\":1,\"fleet\":{\"active_grants\":0,\"hosts\":[],"
                "\"break_glass\":{\"uses\":3,\"reviews_pending\":2,\"hosts\":["
                "{\"host\":\"db-01\",\"uses\":0,\"reviews_pending\":0},"
                "{\"host\":\"web-01\",\"uses\":2,\"reviews_pending\":1},"
                "{\"host\":\"web-02\",\"uses\":1,\"reviews_pending\":0},"
                "{\"host\":\"web-03\",\"uses\":0,\"reviews_pending\":1}]}}}";
        struct capture c;
        bool ok = false;
        char *out;

        capture_start(&c);
        ck_assert_int_eq(fleet_view_report(c.f, doc, &ok), 0);
        out = capture_end(&c);
        ck_assert(ok);
        assert_has(out, "fleet break-glass:         3 uses, 2 awaiting review\n");
        assert_has(out, "  web-01:                  2 uses, 1 awaiting review\n");
        assert_has(out, "  web-02:                  1 use, 0 awaiting review\n");
        assert_has(out, "  web-03:                  0 uses, 1 awaiting review\n");
        assert_lacks(out, "db-01");
        free(out);

        capture_start(&c);
        ck_assert_int_eq(fleet_view_report(c.f, "{\"fleet\":{\"active_grants\":0,\"hosts\":[],\"break_glass\":"
                                           "{\"uses\":0,\"reviews_pending\":0,\"hosts\":[]}}}", &ok), 0);
        out = capture_end(&c);
        assert_has(out, "fleet break-glass:         0 uses, 0 awaiting review\n");
        free(out);
}
END_TEST

/* review's fleet part (jitd/fleet_review.h): the other hosts' pending
 * reviews, each line as jitd made it, then how a review is made. */
#define REVIEW_LINE "break-glass grant 7 on web-01 of jt_carol for web-admin at 2026-11-23T14:05:00Z, awaiting review: pager"
#define REVIEW_OBJ                                                                                      \
        "{\"host\":\"web-01\",\"grant\":7,\"user\":\"jt_carol\",\"uid\":1001,\"role\":\"web-admin\","       \
        "\"reason\":\"pager\",\"duration\":1800,\"used_at\":\"2026-11-23T14:05:00Z\",\"review\":\"pending\"}"

START_TEST(test_view_reviews)
{
        char *lines[] = { (char *) REVIEW_LINE, (char *) "more break-glass grants of other hosts await review: "
                          "the oldest 200 are shown" };
        char *details[] = { (char *) REVIEW_OBJ, (char *) "{\"more\":true}" };
        char *down_line[] = { (char *) "the fleet part is unavailable: the fleet database is unreachable" };
        char *down[] = { (char *) "{\"error\":\"the fleet database is unreachable\"}" };
        char *none_line[] = { (char *) "no break-glass grant of another host awaits review" };
        char *none[] = { NULL };
        char *odd_line[] = { (char *) "break-glass grant 8 on web-02 of x for y at z, awaiting review: a\nb" };
        char *odd[] = { (char *) "{\"host\":\"web-02\",\"grant\":8}" };
        struct capture c;
        char *out;

        capture_start(&c);
        fleet_view_reviews(c.f, lines, details, 2);
        out = capture_end(&c);
        ck_assert_str_eq(out, "fleet:\n  " REVIEW_LINE "\n"
                              "  more break-glass grants of other hosts await review: the oldest 200 are shown\n"
                              "  (a review is made on the grant's own host: jitctl review ID --accept|--reject "
                              "-m NOTE there)\n");
        free(out);

        capture_start(&c);
        fleet_view_reviews(c.f, down_line, down, 1);
        out = capture_end(&c);
        ck_assert_str_eq(out, "fleet:\n  the fleet part is unavailable: the fleet database is unreachable\n");
        free(out);

        capture_start(&c);
        fleet_view_reviews(c.f, none_line, none, 1);
        out = capture_end(&c);
        ck_assert_str_eq(out, "fleet:\n  no break-glass grant of another host awaits review\n");
        free(out);

        /* No [fleet]: nothing. */
        capture_start(&c);
        fleet_view_reviews(c.f, NULL, NULL, 0);
        out = capture_end(&c);
        ck_assert_str_eq(out, "");
        free(out);

        /* What a host wrote is shown safely. */
        capture_start(&c);
        fleet_view_reviews(c.f, odd_line, odd, 1);
        out = capture_end(&c);
        assert_has(out, "awaiting review: a");
        assert_lacks(out, "a\nb");
        free(out);
}
END_TEST

static char *reviews_json(const char *local, char **details, size_t n)
{
        json_object *o = NULL;
        char *s;

        ck_assert_int_eq(fleet_view_reviews_json(json_tokener_parse(local), details, n, &o), 0);
        s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        return s;
}

START_TEST(test_view_reviews_json)
{
        char *details[] = { (char *) REVIEW_OBJ, (char *) "{\"more\":true}" };
        char *down[] = { (char *) "{\"error\":\"the fleet database is unreachable\"}" };
        char *none[] = { NULL };
        char *junk[] = { (char *) "not json", (char *) "[1]", (char *) "{\"grant\":3}", (char *) REVIEW_OBJ };
        char *s;

        s = reviews_json("[{\"id\":3}]", details, 2);
        ck_assert_str_eq(s, "{\"local\":[{\"id\":3}],\"fleet\":[" REVIEW_OBJ "],\"fleet_more\":true}");
        free(s);
        s = reviews_json("[]", down, 1);
        ck_assert_str_eq(s, "{\"local\":[],\"fleet\":null,\"fleet_error\":\"the fleet database is unreachable\"}");
        free(s);
        s = reviews_json("[]", none, 1);
        ck_assert_str_eq(s, "{\"local\":[],\"fleet\":[]}");
        free(s);
        /* No [fleet] (jitd sent no line): null, and no error. */
        s = reviews_json("[{\"id\":3}]", NULL, 0);
        ck_assert_str_eq(s, "{\"local\":[{\"id\":3}],\"fleet\":null}");
        free(s);
        /* Details that are none of those are left out. */
        s = reviews_json("[]", junk, 4);
        ck_assert_str_eq(s, "{\"local\":[],\"fleet\":[" REVIEW_OBJ "]}");
        free(s);
}
END_TEST

START_TEST(test_host_patterns)
{
        ck_assert(policy_pattern_matches("web-*", "web-01"));
        ck_assert(!policy_pattern_matches("web-*", "db-01"));
        ck_assert(policy_pattern_matches("WEB-0?", "web-01"));
        ck_assert(policy_pattern_matches("web-0[12]", "web-02"));
        ck_assert(!policy_pattern_matches("web-0[12]", "web-03"));
        ck_assert(policy_pattern_matches("*", "anything.example"));
        ck_assert(!policy_pattern_matches(NULL, "web-01"));
        ck_assert(!policy_pattern_matches("web-*", NULL));
}
END_TEST

static Suite *fleet_view_suite(void)
{
        Suite *s = suite_create("fleet_view");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_parse_grant_ref);
        tcase_add_test(tc, test_grant_ref_wire_and_output);
        tcase_add_test(tc, test_view_show);
        tcase_add_test(tc, test_view_verify);
        tcase_add_test(tc, test_view_report);
        tcase_add_test(tc, test_view_report_break_glass);
        tcase_add_test(tc, test_view_reviews);
        tcase_add_test(tc, test_view_reviews_json);
        tcase_add_test(tc, test_host_patterns);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr;
        int failed;

        setenv("TZ", "UTC", 1);
        tzset();
        sr = srunner_create(fleet_view_suite());
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
