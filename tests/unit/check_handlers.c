/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for jitd's dispatch and handlers, in-process: a real core
 * (jitd_fixture.h) and a connection over a socketpair, the test process (root)
 * as the peer. The PAM questions (check, session-open with its token,
 * session-close of one's own session only), a busy database (requests wait,
 * then are refused; the PAM check is answered at once), and listings streamed
 * page by page.
 */
#include "jitd_fixture.h"

#include <poll.h>
#include <sqlite3.h>
#include <sys/socket.h>

#include "conn.h"
#include "dispatch.h"
#include "grants.h"

#define ROLES "[role:ops]\nmembers = root\nservices = sudo, login\napproval = auto\nticket = none\n"

struct harness {
        struct fixture f;
        int client;
};

static void harness_start(struct harness *h, const char *roles)
{
        int sv[2];

        fixture_start(&h->f, roles, "/bin/true");
        ck_assert_int_eq(conn_set_new(h->f.d.event, dispatch, &h->f.d, &h->f.d.conns), 0);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        ck_assert_int_eq(conn_add(h->f.d.conns, sv[0]), 0);
        h->client = sv[1];
}

static void harness_stop(struct harness *h)
{
        close(h->client);
        dispatch_free_parked(&h->f.d);
        conn_set_free(h->f.d.conns);
        fixture_stop(&h->f);
}

static void send_msg(struct harness *h, const struct proto_msg *m)
{
        uint8_t buf[PROTO_MAX_FRAME];
        size_t len;

        ck_assert_int_eq(proto_encode(m, buf, sizeof(buf), &len), 0);
        ck_assert_int_eq(send(h->client, buf, len, 0), (ssize_t) len);
}

/* Run the loop until a reply is there (within ms), and read it. */
static bool recv_msg(struct harness *h, struct proto_msg *ret, int ms)
{
        int64_t until = now_monotonic_ms() + ms;
        uint8_t buf[PROTO_MAX_FRAME];

        for (;;) {
                struct pollfd p = { .fd = h->client, .events = POLLIN };
                ssize_t n;

                if (poll(&p, 1, 0) > 0) {
                        n = recv(h->client, buf, sizeof(buf), 0);
                        ck_assert_int_gt(n, 0);
                        ck_assert_int_eq(proto_decode(buf, (size_t) n, ret, NULL, 0), 0);
                        return true;
                }
                if (now_monotonic_ms() >= until)
                        return false;
                (void) sd_event_run(h->f.d.event, 5 * 1000);
        }
}

static void ask(struct harness *h, const struct proto_msg *req, struct proto_msg *rep)
{
        send_msg(h, req);
        ck_assert_msg(recv_msg(h, rep, 5000), "no reply to %s", proto_type_name(req->type));
}

static void pam_msg(struct proto_msg *m, enum proto_type t, const char *user, const char *service)
{
        proto_init(m, t);
        ck_assert_int_eq(proto_set_str(m, PF_USER, user), 0);
        ck_assert_int_eq(proto_set_str(m, PF_SERVICE, service), 0);
}

static uint64_t u64(const struct proto_msg *m, enum proto_field f)
{
        uint64_t v = 0;

        ck_assert_msg(proto_get_u64(m, f, &v), "no %s in the reply", proto_field_name(f));
        return v;
}

static int64_t grant_now(struct harness *h)
{
        struct jit_grant g = { .uid = 0, .duration = 3600 };
        char why[256];

        strcpy(g.user, "root");
        strcpy(g.host, "testhost");
        strcpy(g.role, "ops");
        strcpy(g.approval, "auto");
        ck_assert_int_eq(grants_create(&h->f.d, &g, FSM_REQUEST, &actor_jitd, why, sizeof(why)), 0);
        ck_assert_int_eq(g.state, GRANT_ACTIVE);
        return g.id;
}

START_TEST(test_check_decisions)
{
        struct harness h;
        struct proto_msg *req = malloc(sizeof(*req)), *rep = malloc(sizeof(*rep));

        harness_start(&h, ROLES);
        pam_msg(req, PROTO_REQ_CHECK, "root", "sudo");
        ask(&h, req, rep);
        ck_assert_int_eq(rep->type, PROTO_REP_DECISION);
        ck_assert_int_eq(u64(rep, PF_DECISION), PROTO_DECISION_DENY);
        ck_assert(!proto_has(rep, PF_TOKEN));
        /* sudo -i is sudo. */
        pam_msg(req, PROTO_REQ_CHECK, "root", "sudo-i");
        ask(&h, req, rep);
        ck_assert_int_eq(u64(rep, PF_DECISION), PROTO_DECISION_DENY);
        /* Nobody by that name: the rest of the stack decides. */
        pam_msg(req, PROTO_REQ_CHECK, "nosuchuser0x", "sudo");
        ask(&h, req, rep);
        ck_assert_int_eq(u64(rep, PF_DECISION), PROTO_DECISION_IGNORE);
        /* A service no role gates. */
        pam_msg(req, PROTO_REQ_CHECK, "root", "cron");
        ask(&h, req, rep);
        ck_assert_int_eq(u64(rep, PF_DECISION), PROTO_DECISION_IGNORE);

        (void) grant_now(&h);
        pam_msg(req, PROTO_REQ_CHECK, "root", "sudo");
        ask(&h, req, rep);
        ck_assert_int_eq(u64(rep, PF_DECISION), PROTO_DECISION_ALLOW);
        ck_assert_ptr_nonnull(proto_get_str(rep, PF_TOKEN));
        ck_assert_uint_eq(strlen(proto_get_str(rep, PF_TOKEN)), TOKEN_HEX_LEN);
        free(req);
        free(rep);
        harness_stop(&h);
}
END_TEST

START_TEST(test_session_needs_the_token)
{
        struct harness h;
        struct proto_msg *req = malloc(sizeof(*req)), *rep = malloc(sizeof(*rep));
        char token[TOKEN_HEX_LEN + 1];
        uint64_t sid;

        harness_start(&h, ROLES);
        (void) grant_now(&h);
        /* No account decision: refused. */
        pam_msg(req, PROTO_REQ_SESSION_OPEN, "root", "login");
        ask(&h, req, rep);
        ck_assert_int_eq(rep->type, PROTO_REP_ERROR);
        ck_assert_int_eq(u64(rep, PF_ERRNO), EPERM);
        /* With the token of this process's allow: registered. */
        pam_msg(req, PROTO_REQ_CHECK, "root", "login");
        ask(&h, req, rep);
        snprintf(token, sizeof(token), "%s", proto_get_str(rep, PF_TOKEN));
        pam_msg(req, PROTO_REQ_SESSION_OPEN, "root", "login");
        ck_assert_int_eq(proto_set_str(req, PF_TOKEN, token), 0);
        ask(&h, req, rep);
        ck_assert_int_eq(rep->type, PROTO_REP_OK);
        sid = u64(rep, PF_ID);
        ck_assert_uint_gt(sid, 0);
        /* A token is good once. */
        ask(&h, req, rep);
        ck_assert_int_eq(rep->type, PROTO_REP_ERROR);
        ck_assert_int_eq(u64(rep, PF_ERRNO), EPERM);
        /* Closing: only as the user it was opened for. */
        pam_msg(req, PROTO_REQ_SESSION_CLOSE, "daemon", "login");
        ck_assert_int_eq(proto_set_u64(req, PF_ID, sid), 0);
        ask(&h, req, rep);
        ck_assert_int_eq(rep->type, PROTO_REP_ERROR);
        ck_assert_int_eq(u64(rep, PF_ERRNO), EPERM);
        pam_msg(req, PROTO_REQ_SESSION_CLOSE, "root", "login");
        ck_assert_int_eq(proto_set_u64(req, PF_ID, sid), 0);
        ask(&h, req, rep);
        ck_assert_int_eq(rep->type, PROTO_REP_OK);
        ck_assert_uint_eq(u64(rep, PF_ID), sid);
        /* Twice: nothing open any more. */
        ask(&h, req, rep);
        ck_assert_int_eq(u64(rep, PF_ERRNO), ENOENT);
        free(req);
        free(rep);
        harness_stop(&h);
}
END_TEST

/* The grant ended between the account decision and the session: refused. */
START_TEST(test_session_after_the_grant_ended)
{
        struct harness h;
        struct proto_msg *req = malloc(sizeof(*req)), *rep = malloc(sizeof(*rep));
        struct fsm_event ev = { .type = FSM_REVOKE, .text = "test" };
        struct jit_grant g;
        char token[TOKEN_HEX_LEN + 1], why[256];
        int64_t id;

        harness_start(&h, ROLES);
        id = grant_now(&h);
        pam_msg(req, PROTO_REQ_CHECK, "root", "sudo");
        ask(&h, req, rep);
        ck_assert_int_eq(u64(rep, PF_DECISION), PROTO_DECISION_ALLOW);
        snprintf(token, sizeof(token), "%s", proto_get_str(rep, PF_TOKEN));
        ck_assert_int_eq(grants_get(&h.f.d, id, &g), 0);
        ck_assert_int_ge(grants_step(&h.f.d, &g, &ev, &actor_jitd, why, sizeof(why)), 0);
        pam_msg(req, PROTO_REQ_SESSION_OPEN, "root", "sudo");
        ck_assert_int_eq(proto_set_str(req, PF_TOKEN, token), 0);
        ask(&h, req, rep);
        ck_assert_int_eq(rep->type, PROTO_REP_ERROR);
        ck_assert_int_eq(u64(rep, PF_ERRNO), EPERM);
        free(req);
        free(rep);
        harness_stop(&h);
}
END_TEST

/* Another process holds the write lock: a request waits and is then
 * refused as busy, having changed nothing; the PAM check is answered at
 * once (a reader in WAL mode is not blocked). */
START_TEST(test_busy_database)
{
        struct harness h;
        struct proto_msg *req = malloc(sizeof(*req)), *rep = malloc(sizeof(*rep));
        sqlite3 *other = NULL;
        int64_t t0;

        harness_start(&h, ROLES);
        ck_assert_int_eq(sqlite3_open(h.f.db, &other), SQLITE_OK);
        ck_assert_int_eq(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);

        pam_msg(req, PROTO_REQ_CHECK, "root", "sudo");
        t0 = now_monotonic_ms();
        ask(&h, req, rep);
        ck_assert_int_lt(now_monotonic_ms() - t0, 200);
        ck_assert_int_eq(u64(rep, PF_DECISION), PROTO_DECISION_DENY);

        proto_init(req, PROTO_REQ_REQUEST);
        ck_assert_int_eq(proto_set_str(req, PF_ROLE, "ops"), 0);
        t0 = now_monotonic_ms();
        ask(&h, req, rep);
        ck_assert_int_eq(rep->type, PROTO_REP_ERROR);
        ck_assert_int_eq(u64(rep, PF_ERRNO), EBUSY);
        ck_assert_int_ge(now_monotonic_ms() - t0, 2000);
        ck_assert_int_eq(fixture_dropin_files(&h.f), 0);

        /* The lock goes: the same request goes through. */
        ck_assert_int_eq(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
        ask(&h, req, rep);
        ck_assert_int_eq(rep->type, PROTO_REP_GRANT);
        sqlite3_close(other);
        free(req);
        free(rep);
        harness_stop(&h);
}
END_TEST

/* A listing comes page by page; every grant once, then END with the count. */
START_TEST(test_list_streams)
{
        struct harness h;
        struct proto_msg *req = malloc(sizeof(*req)), *rep = malloc(sizeof(*rep));
        struct fsm_event ev = { .type = FSM_RELEASE, .text = "done" };
        int64_t last = 0;
        uint64_t n = 0;
        char why[256];

        harness_start(&h, ROLES);
        for (int i = 0; i < 300; i++) {
                struct jit_grant g;
                int64_t id = grant_now(&h);

                ck_assert_int_eq(grants_get(&h.f.d, id, &g), 0);
                ck_assert_int_ge(grants_step(&h.f.d, &g, &ev, &actor_jitd, why, sizeof(why)), 0);
        }
        fixture_run(&h.f, 200);
        proto_init(req, PROTO_REQ_LIST);
        ck_assert_int_eq(proto_set_u64(req, PF_FLAGS, PROTO_F_ALL), 0);
        send_msg(&h, req);
        for (;;) {
                ck_assert(recv_msg(&h, rep, 5000));
                if (rep->type == PROTO_REP_END)
                        break;
                ck_assert_int_eq(rep->type, PROTO_REP_GRANT);
                ck_assert_int_gt((int64_t) u64(rep, PF_ID), last);
                last = (int64_t) u64(rep, PF_ID);
                n++;
        }
        ck_assert_uint_eq(n, 300);
        ck_assert_uint_eq(u64(rep, PF_COUNT), 300);
        free(req);
        free(rep);
        harness_stop(&h);
}
END_TEST

/* A stream that has nothing to send for a while (a page being read from the
 * fleet database) says CONN_STREAM_WAIT: it is not asked again, nothing is
 * sent, until conn_stream_resume; then it goes on to its end. */
struct waiting {
        struct conn *conn;
        int step, calls;
};

static int waiting_next(struct conn *c, void *state)
{
        struct waiting *w = state;
        struct proto_msg m;

        w->calls++;
        switch (w->step++) {
        case 0:
        case 2:
                proto_init(&m, PROTO_REP_OK);
                ck_assert_int_eq(proto_set_u64(&m, PF_COUNT, (uint64_t) w->step), 0);
                return conn_send(c, &m) < 0 ? -EPIPE : 1;
        case 1:
                return CONN_STREAM_WAIT;
        default:
                proto_init(&m, PROTO_REP_END);
                return conn_send(c, &m) < 0 ? -EPIPE : 0;
        }
}

static void waiting_request(void *userdata, struct conn *c, const struct proto_msg *m)
{
        struct waiting *w = userdata;

        (void) m;
        w->conn = c;
        ck_assert_int_eq(conn_stream(c, waiting_next, w, NULL), 0);
}

START_TEST(test_stream_waits)
{
        struct harness h;
        struct waiting w = {};
        struct proto_msg *req = malloc(sizeof(*req)), *rep = malloc(sizeof(*rep));
        int sv[2];

        fixture_start(&h.f, ROLES, "/bin/true");
        ck_assert_int_eq(conn_set_new(h.f.d.event, waiting_request, &w, &h.f.d.conns), 0);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        ck_assert_int_eq(conn_add(h.f.d.conns, sv[0]), 0);
        h.client = sv[1];
        proto_init(req, PROTO_REQ_PING);
        send_msg(&h, req);
        ck_assert(recv_msg(&h, rep, 5000));
        ck_assert_int_eq(rep->type, PROTO_REP_OK);
        ck_assert_uint_eq(u64(rep, PF_COUNT), 1);
        /* Waiting: nothing more, and next is not asked again. */
        ck_assert(!recv_msg(&h, rep, 200));
        ck_assert_int_eq(w.calls, 2);
        conn_stream_resume(w.conn);
        ck_assert(recv_msg(&h, rep, 5000));
        ck_assert_int_eq(rep->type, PROTO_REP_OK);
        ck_assert_uint_eq(u64(rep, PF_COUNT), 3);
        ck_assert(recv_msg(&h, rep, 5000));
        ck_assert_int_eq(rep->type, PROTO_REP_END);
        ck_assert_int_eq(w.calls, 4);
        free(req);
        free(rep);
        close(h.client);
        conn_set_free(h.f.d.conns);
        fixture_stop(&h.f);
}
END_TEST

static Suite *handlers_suite(void)
{
        Suite *s = suite_create("handlers");
        TCase *tc = tcase_create("pam");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_check_decisions);
        tcase_add_test(tc, test_session_needs_the_token);
        tcase_add_test(tc, test_session_after_the_grant_ended);
        tcase_add_test(tc, test_busy_database);
        tcase_add_test(tc, test_list_streams);
        tcase_add_test(tc, test_stream_waits);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(handlers_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
