/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for common/grant.c: state names and the grant <-> message mapping. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grant.h"
#include "proto.h"
#include "util.h"

static const struct {
        enum grant_state state;
        const char *name;
        bool open;
} states[] = {
        { GRANT_PENDING,   "pending",   true },
        { GRANT_SCHEDULED, "scheduled", true },
        { GRANT_ACTIVE,    "active",    true },
        { GRANT_EXPIRED,   "expired",   false },
        { GRANT_REVOKED,   "revoked",   false },
        { GRANT_RELEASED,  "released",  false },
        { GRANT_DENIED,    "denied",    false },
        { GRANT_CANCELLED, "cancelled", false },
};

/* ---- states --------------------------------------------------------------- */

START_TEST(test_state_names)
{
        enum grant_state s = GRANT_STATE_MAX_;

        ck_assert_str_eq(grant_state_to_string(states[_i].state), states[_i].name);
        ck_assert_int_eq(grant_state_from_string(states[_i].name, &s), 0);
        ck_assert_int_eq(s, states[_i].state);
        ck_assert(grant_state_is_open(states[_i].state) == states[_i].open);
        ck_assert(!!(GRANT_STATES_OPEN & GRANT_STATE_MASK(states[_i].state)) == states[_i].open);
        ck_assert(GRANT_STATES_ALL & GRANT_STATE_MASK(states[_i].state));
        /* A state name fits the wire field. */
        ck_assert_uint_le(strlen(states[_i].name), 16);
}
END_TEST

START_TEST(test_state_unknown)
{
        static const char *const bad[] = {
                "", "Active", "ACTIVE", "active ", " active", "activ", "actived", "invalid", "open",
                "cancelled\n", "canceled", "pending\t", "0", "2",
        };
        enum grant_state s = GRANT_ACTIVE;

        ck_assert_int_eq((int) ELEMENTSOF(states), GRANT_STATE_MAX_);
        ck_assert_uint_eq(GRANT_STATES_ALL, 0xff);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ck_assert_msg(grant_state_from_string(bad[i], &s) == -EINVAL, "accepted \"%s\"", bad[i]);
                ck_assert_int_eq(s, GRANT_ACTIVE);      /* untouched */
        }
        ck_assert_int_eq(grant_state_from_string(NULL, &s), -EINVAL);
        ck_assert_int_eq(s, GRANT_ACTIVE);

        ck_assert_str_eq(grant_state_to_string(GRANT_STATE_MAX_), "invalid");
        ck_assert_str_eq(grant_state_to_string((enum grant_state) 100), "invalid");
        ck_assert_str_eq(grant_state_to_string((enum grant_state) -1), "invalid");
        ck_assert(!grant_state_is_open(GRANT_STATE_MAX_));
}
END_TEST

/* ---- grant <-> proto ------------------------------------------------------ */

/* Append whole UTF-8 pieces while they fit, then pad with ASCII to exactly n bytes. */
static void fill_utf8(char *dst, size_t n)
{
        static const char *const pieces[] = {
                "Datenbank-Wiederherstellung nach Ausfall – ", "修复订单表 ", "✓ ", "naïve café ", "🚑 ",
                "Ελληνικά ", "(ticket OPS-1234; see runbook §4.2) ",
        };
        size_t len = 0;

        for (size_t i = 0;; i++) {
                const char *p = pieces[i % ELEMENTSOF(pieces)];

                if (len + strlen(p) > n)
                        break;
                memcpy(dst + len, p, strlen(p));
                len += strlen(p);
        }
        memset(dst + len, '.', n - len);
        dst[n] = '\0';
}

static void fill_ascii(char *dst, size_t n, char first, char rest)
{
        memset(dst, rest, n);
        if (n)
                dst[0] = first;
        dst[n] = '\0';
}

static void full_grant(struct jit_grant *g)
{
        memset(g, 0, sizeof(*g));
        g->id = INT64_MAX;
        fill_ascii(g->user, JIT_USER_MAX, '_', 'u');
        g->uid = UINT32_MAX - 1;
        fill_ascii(g->host, JIT_HOST_MAX, 'h', '.');
        fill_ascii(g->role, JIT_ROLE_MAX, 'R', '-');
        fill_ascii(g->ticket, JIT_TICKET_MAX, 'T', '#');
        fill_utf8(g->reason, JIT_REASON_MAX);
        g->duration = UINT64_MAX;
        g->state = GRANT_REVOKED;
        g->requested_at = 1700000000;
        g->approved_at = 1700000060;
        g->starts_at = 1700000120;
        g->expires_at = INT64_MAX;
        g->ended_at = 1700001000;
        fill_utf8(g->end_reason, JIT_REASON_MAX);
        for (size_t i = 0; i < JIT_LIST_MAX; i++)
                g->approvers[i] = (i % 6 == 5) ? ',' : (char) ('a' + i % 26);
        g->approvers[JIT_LIST_MAX] = '\0';
        fill_ascii(g->approval, sizeof(g->approval) - 1, 't', 'p');
        g->approvals_needed = UINT32_MAX;
        g->break_glass = true;
        fill_ascii(g->review, sizeof(g->review) - 1, 'a', 'c');
}

static void assert_grant_eq(const struct jit_grant *a, const struct jit_grant *b)
{
        ck_assert_int_eq(a->id, b->id);
        ck_assert_str_eq(a->user, b->user);
        ck_assert_uint_eq(a->uid, b->uid);
        ck_assert_str_eq(a->host, b->host);
        ck_assert_str_eq(a->role, b->role);
        ck_assert_str_eq(a->ticket, b->ticket);
        ck_assert_str_eq(a->reason, b->reason);
        ck_assert_uint_eq(a->duration, b->duration);
        ck_assert_int_eq(a->state, b->state);
        ck_assert_int_eq(a->requested_at, b->requested_at);
        ck_assert_int_eq(a->approved_at, b->approved_at);
        ck_assert_int_eq(a->starts_at, b->starts_at);
        ck_assert_int_eq(a->expires_at, b->expires_at);
        ck_assert_int_eq(a->ended_at, b->ended_at);
        ck_assert_str_eq(a->end_reason, b->end_reason);
        ck_assert_str_eq(a->approvers, b->approvers);
        ck_assert_uint_eq(a->approvals_needed, b->approvals_needed);
        ck_assert_str_eq(a->approval, b->approval);
        ck_assert(a->break_glass == b->break_glass);
        ck_assert_str_eq(a->review, b->review);
}

/* grant -> message -> bytes -> message -> grant. */
static void wire_round_trip(const struct jit_grant *g, struct jit_grant *out, struct proto_msg *m)
{
        static struct proto_msg d;
        static uint8_t buf[PROTO_MAX_FRAME];
        char why[256] = "";
        size_t len = 0;

        proto_init(m, PROTO_REP_GRANT);
        ck_assert_int_eq(grant_to_proto(g, m), 0);
        ck_assert_int_eq(proto_encode(m, buf, sizeof(buf), &len), 0);
        ck_assert_msg(proto_decode(buf, len, &d, why, sizeof(why)) == 0, "decode: %s", why);
        ck_assert_uint_eq(d.type, PROTO_REP_GRANT);
        memset(out, 0x5a, sizeof(*out));
        ck_assert_int_eq(grant_from_proto(&d, out), 0);
}

START_TEST(test_round_trip_full)
{
        static struct jit_grant g, back;
        static struct proto_msg m;
        uint64_t v = 0;

        full_grant(&g);
        ck_assert_uint_eq(strlen(g.reason), JIT_REASON_MAX);
        ck_assert(strstr(g.reason, "修复订单表") != NULL);
        wire_round_trip(&g, &back, &m);
        assert_grant_eq(&g, &back);

        /* Every field went on the wire, with the right value. */
        ck_assert(proto_get_u64(&m, PF_ID, &v));
        ck_assert_uint_eq(v, (uint64_t) INT64_MAX);
        ck_assert(proto_get_u64(&m, PF_UID, &v));
        ck_assert_uint_eq(v, UINT32_MAX - 1);
        ck_assert(proto_get_u64(&m, PF_BREAK_GLASS, &v));
        ck_assert_uint_eq(v, 1);
        ck_assert(proto_get_u64(&m, PF_EXPIRES_AT, &v));
        ck_assert_uint_eq(v, (uint64_t) INT64_MAX);
        ck_assert_str_eq(proto_get_str(&m, PF_STATE), "revoked");
        ck_assert_str_eq(proto_get_str(&m, PF_REASON), g.reason);
        ck_assert_str_eq(proto_get_str(&m, PF_APPROVERS), g.approvers);
        for (unsigned f = PF_REQUESTED_AT; f <= PF_ENDED_AT; f++)
                ck_assert_msg(proto_has(&m, f), "time field %s missing", proto_field_name(f));
        /* grant_to_proto fills no reply-only fields. */
        ck_assert(!proto_has(&m, PF_NOW));
        ck_assert(!proto_has(&m, PF_MESSAGE));

        /* The decoded message itself, without the wire, round trips too. */
        memset(&back, 0, sizeof(back));
        ck_assert_int_eq(grant_from_proto(&m, &back), 0);
        assert_grant_eq(&g, &back);
}
END_TEST

START_TEST(test_round_trip_states)
{
        static struct jit_grant g, back;
        static struct proto_msg m;

        full_grant(&g);
        g.state = states[_i].state;
        wire_round_trip(&g, &back, &m);
        ck_assert_str_eq(proto_get_str(&m, PF_STATE), states[_i].name);
        ck_assert_int_eq(back.state, states[_i].state);
        assert_grant_eq(&g, &back);
}
END_TEST

START_TEST(test_round_trip_minimal)
{
        static struct jit_grant g, back;
        static struct proto_msg m;

        /* A fresh pending request: no times but requested_at, no optional text. */
        memset(&g, 0, sizeof(g));
        g.id = 1;
        strcpy(g.user, "alice");
        g.uid = 0;
        strcpy(g.role, "dba");
        g.state = GRANT_PENDING;
        g.requested_at = 1700000000;
        wire_round_trip(&g, &back, &m);
        assert_grant_eq(&g, &back);
        ck_assert_int_eq(back.approved_at, 0);
        ck_assert_int_eq(back.starts_at, 0);
        ck_assert_int_eq(back.expires_at, 0);
        ck_assert_int_eq(back.ended_at, 0);
        ck_assert_str_eq(back.ticket, "");
        ck_assert_str_eq(back.host, "");
        ck_assert_str_eq(back.review, "");
        ck_assert(!back.break_glass);
        ck_assert_uint_eq(back.duration, 0);

        /* Unset times and empty strings are absent on the wire, not zero. */
        ck_assert(proto_has(&m, PF_REQUESTED_AT));
        ck_assert(!proto_has(&m, PF_APPROVED_AT));
        ck_assert(!proto_has(&m, PF_STARTS_AT));
        ck_assert(!proto_has(&m, PF_EXPIRES_AT));
        ck_assert(!proto_has(&m, PF_ENDED_AT));
        ck_assert(!proto_has(&m, PF_TICKET));
        ck_assert(!proto_has(&m, PF_HOST));
        ck_assert(!proto_has(&m, PF_END_REASON));
        ck_assert(!proto_has(&m, PF_APPROVERS));
        ck_assert(!proto_has(&m, PF_APPROVAL));
        ck_assert(!proto_has(&m, PF_REVIEW));
        ck_assert(!proto_has(&m, PF_REASON));
        /* The always-sent integers. */
        ck_assert(proto_has(&m, PF_ID));
        ck_assert(proto_has(&m, PF_UID));
        ck_assert(proto_has(&m, PF_DURATION));
        ck_assert(proto_has(&m, PF_APPROVALS_NEEDED));
        ck_assert(proto_has(&m, PF_BREAK_GLASS));

        /* No time at all. */
        g.requested_at = 0;
        wire_round_trip(&g, &back, &m);
        ck_assert(!proto_has(&m, PF_REQUESTED_AT));
        ck_assert_int_eq(back.requested_at, 0);

        /* A negative time is "not yet" too. */
        g.expires_at = -5;
        wire_round_trip(&g, &back, &m);
        ck_assert(!proto_has(&m, PF_EXPIRES_AT));
        ck_assert_int_eq(back.expires_at, 0);
}
END_TEST

START_TEST(test_to_proto_refusals)
{
        static struct jit_grant g;
        static struct proto_msg m;

        full_grant(&g);
        /* Only a 'grant' message carries a grant. */
        proto_init(&m, PROTO_REP_OK);
        ck_assert_int_lt(grant_to_proto(&g, &m), 0);
        proto_init(&m, PROTO_REQ_REQUEST);
        ck_assert_int_lt(grant_to_proto(&g, &m), 0);
        /* Twice into the same message: the fields are already there. */
        proto_init(&m, PROTO_REP_GRANT);
        ck_assert_int_eq(grant_to_proto(&g, &m), 0);
        ck_assert_int_eq(grant_to_proto(&g, &m), -EEXIST);
        /* Text the wire cannot carry. */
        proto_init(&m, PROTO_REP_GRANT);
        strcpy(g.reason, "two\nlines");
        ck_assert_int_eq(grant_to_proto(&g, &m), -EINVAL);
}
END_TEST

/* A valid grant message built field by field, leaving out the fields in skip. */
static void build(struct proto_msg *m, uint64_t skip)
{
        proto_init(m, PROTO_REP_GRANT);
#define SET_U64(f, v) if (!(skip & (UINT64_C(1) << (f)))) ck_assert_int_eq(proto_set_u64(m, f, v), 0)
#define SET_STR(f, v) if (!(skip & (UINT64_C(1) << (f)))) ck_assert_int_eq(proto_set_str(m, f, v), 0)
        SET_U64(PF_ID, 42);
        SET_U64(PF_UID, 1000);
        SET_STR(PF_USER, "alice");
        SET_STR(PF_ROLE, "dba");
        SET_STR(PF_STATE, "active");
        SET_STR(PF_HOST, "db1");
        SET_U64(PF_DURATION, 3600);
        SET_U64(PF_STARTS_AT, 1700000000);
        SET_U64(PF_EXPIRES_AT, 1700003600);
#undef SET_U64
#undef SET_STR
}

#define SKIP(f) (UINT64_C(1) << (f))

START_TEST(test_from_proto_required)
{
        static const struct {
                unsigned field;
                bool required;
        } fields[] = {
                { PF_ID, true }, { PF_UID, true }, { PF_USER, true }, { PF_ROLE, true }, { PF_STATE, true },
                { PF_HOST, false }, { PF_DURATION, false }, { PF_STARTS_AT, false }, { PF_EXPIRES_AT, false },
        };
        static struct proto_msg m;
        static struct jit_grant g;

        build(&m, 0);
        ck_assert_int_eq(grant_from_proto(&m, &g), 0);
        ck_assert_int_eq(g.id, 42);
        ck_assert_uint_eq(g.uid, 1000);
        ck_assert_str_eq(g.user, "alice");
        ck_assert_str_eq(g.role, "dba");
        ck_assert_int_eq(g.state, GRANT_ACTIVE);
        ck_assert_str_eq(g.host, "db1");
        ck_assert_int_eq(g.expires_at, 1700003600);

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                build(&m, SKIP(fields[i].field));
                ck_assert_msg(grant_from_proto(&m, &g) == (fields[i].required ? -EBADMSG : 0),
                              "without %s", proto_field_name(fields[i].field));
        }
        /* An empty message. */
        proto_init(&m, PROTO_REP_GRANT);
        ck_assert_int_eq(grant_from_proto(&m, &g), -EBADMSG);
}
END_TEST

START_TEST(test_from_proto_bad_values)
{
        static struct proto_msg m;
        static struct jit_grant g;

        /* id 0 is "not stored yet" and never travels; ids are int64. */
        build(&m, SKIP(PF_ID));
        ck_assert_int_eq(proto_set_u64(&m, PF_ID, 0), 0);
        ck_assert_int_eq(grant_from_proto(&m, &g), -EBADMSG);
        build(&m, SKIP(PF_ID));
        ck_assert_int_eq(proto_set_u64(&m, PF_ID, (uint64_t) INT64_MAX + 1), 0);
        ck_assert_int_eq(grant_from_proto(&m, &g), -EBADMSG);
        build(&m, SKIP(PF_ID));
        ck_assert_int_eq(proto_set_u64(&m, PF_ID, UINT64_MAX), 0);
        ck_assert_int_eq(grant_from_proto(&m, &g), -EBADMSG);
        build(&m, SKIP(PF_ID));
        ck_assert_int_eq(proto_set_u64(&m, PF_ID, (uint64_t) INT64_MAX), 0);
        ck_assert_int_eq(grant_from_proto(&m, &g), 0);
        ck_assert_int_eq(g.id, INT64_MAX);

        /* uid is 32 bits. */
        build(&m, SKIP(PF_UID));
        ck_assert_int_eq(proto_set_u64(&m, PF_UID, (uint64_t) UINT32_MAX + 1), 0);
        ck_assert_int_eq(grant_from_proto(&m, &g), -EBADMSG);
        build(&m, SKIP(PF_UID));
        ck_assert_int_eq(proto_set_u64(&m, PF_UID, UINT32_MAX), 0);
        ck_assert_int_eq(grant_from_proto(&m, &g), 0);
        ck_assert_uint_eq(g.uid, UINT32_MAX);

        /* Unknown state names. */
        {
                static const char *const bad[] = { "", "bogus", "Active", "invalid", "active " };

                for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                        build(&m, SKIP(PF_STATE));
                        ck_assert_int_eq(proto_set_str(&m, PF_STATE, bad[i]), 0);
                        ck_assert_msg(grant_from_proto(&m, &g) == -EBADMSG, "state \"%s\"", bad[i]);
                }
        }

        /* Present but empty user or role. */
        build(&m, SKIP(PF_USER));
        ck_assert_int_eq(proto_set_str(&m, PF_USER, ""), 0);
        ck_assert_int_eq(grant_from_proto(&m, &g), -EBADMSG);
        build(&m, SKIP(PF_ROLE));
        ck_assert_int_eq(proto_set_str(&m, PF_ROLE, ""), 0);
        ck_assert_int_eq(grant_from_proto(&m, &g), -EBADMSG);

        /* A time beyond int64. */
        build(&m, SKIP(PF_EXPIRES_AT));
        ck_assert_int_eq(proto_set_u64(&m, PF_EXPIRES_AT, (uint64_t) INT64_MAX + 1), 0);
        ck_assert_int_eq(grant_from_proto(&m, &g), -EBADMSG);
        build(&m, 0);
        ck_assert_int_eq(proto_set_u64(&m, PF_ENDED_AT, UINT64_MAX), 0);
        ck_assert_int_eq(grant_from_proto(&m, &g), -EBADMSG);
}
END_TEST

START_TEST(test_to_proto_invalid_state)
{
        static struct jit_grant g, back;
        static struct proto_msg m;

        /* An out-of-range state goes out as "invalid" and is refused on the way in. */
        full_grant(&g);
        g.state = GRANT_STATE_MAX_;
        proto_init(&m, PROTO_REP_GRANT);
        ck_assert_int_eq(grant_to_proto(&g, &m), 0);
        ck_assert_str_eq(proto_get_str(&m, PF_STATE), "invalid");
        ck_assert_int_eq(grant_from_proto(&m, &back), -EBADMSG);
}
END_TEST

static Suite *grant_suite(void)
{
        Suite *s = suite_create("grant");
        TCase *tc = tcase_create("states");

        tcase_add_loop_test(tc, test_state_names, 0, (int) ELEMENTSOF(states));
        tcase_add_test(tc, test_state_unknown);
        suite_add_tcase(s, tc);

        tc = tcase_create("proto");
        tcase_add_test(tc, test_round_trip_full);
        tcase_add_loop_test(tc, test_round_trip_states, 0, (int) ELEMENTSOF(states));
        tcase_add_test(tc, test_round_trip_minimal);
        tcase_add_test(tc, test_to_proto_refusals);
        tcase_add_test(tc, test_to_proto_invalid_state);
        tcase_add_test(tc, test_from_proto_required);
        tcase_add_test(tc, test_from_proto_bad_values);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(grant_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
