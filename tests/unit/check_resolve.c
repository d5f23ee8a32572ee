/* SPDX-License-Identifier: BSD-3-Clause */
/* jitd/resolve.c: names resolved off the loop, answers through the loop,
 * literals without a thread, cancel and timeout without a callback after,
 * leak or use-after-free (run once under valgrind, CK_FORK=no). */
#include <check.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "resolve.h"

struct seen {
        int calls, r;
        char addr[RESOLVE_ADDR_MAX];
        sd_event *e;
};

static void on_done(int r, const char *addr, void *userdata)
{
        struct seen *s = userdata;

        s->calls++;
        s->r = r;
        snprintf(s->addr, sizeof(s->addr), "%s", addr ? addr : "");
        if (r < 0)
                ck_assert_ptr_null(addr);
        (void) sd_event_exit(s->e, 0);
}

static int on_deadline(sd_event_source *src, uint64_t usec, void *userdata)
{
        (void) src;
        (void) usec;
        return sd_event_exit(userdata, 0);
}

/* Runs the loop until a callback or limit_ms. A loop that ran to its exit
 * is finished for good: each run gets a fresh one (renew). */
static void run(sd_event *e, unsigned limit_ms)
{
        sd_event_source *t = NULL;

        ck_assert_int_ge(sd_event_add_time_relative(e, &t, CLOCK_MONOTONIC, limit_ms * UINT64_C(1000), 0,
                                                    on_deadline, e), 0);
        ck_assert_int_ge(sd_event_loop(e), 0);
        sd_event_source_disable_unref(t);
}

static void renew(struct seen *s)
{
        s->e = sd_event_unref(s->e);
        ck_assert_int_eq(sd_event_new(&s->e), 0);
}

static void sleep_ms(unsigned ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* A thread left to finish frees its own: wait for it, so that valgrind sees
 * the end of it. */
static void wait_threads(void)
{
        for (int i = 0; i < 500 && resolve_running() > 0; i++)
                sleep_ms(10);
        ck_assert_uint_eq(resolve_running(), 0);
        sleep_ms(20);
}

static atomic_int slow_calls;
static atomic_uint slow_ms = 300;

static int slow_lookup(const char *name, const char *port, char *addr, size_t size)
{
        (void) name;
        (void) port;
        atomic_fetch_add(&slow_calls, 1);
        sleep_ms(atomic_load(&slow_ms));
        snprintf(addr, size, "192.0.2.7");
        return 0;
}

static void setup(void)
{
        resolve_set_test_hooks(NULL, 0);
        atomic_store(&slow_calls, 0);
        atomic_store(&slow_ms, 300);
}

static void teardown(void)
{
        wait_threads();
        resolve_set_test_hooks(NULL, 0);
}

START_TEST(test_localhost)
{
        struct seen s = { 0 };
        struct resolve_job *j = NULL;

        ck_assert_int_eq(sd_event_new(&s.e), 0);
        ck_assert_int_eq(resolve_start(s.e, "localhost", NULL, on_done, &s, &j), 0);
        ck_assert_ptr_nonnull(j);
        /* Never from within resolve_start. */
        ck_assert_int_eq(s.calls, 0);
        run(s.e, 5000);
        ck_assert_int_eq(s.calls, 1);
        ck_assert_int_eq(s.r, 0);
        ck_assert_msg(!strcmp(s.addr, "127.0.0.1") || !strcmp(s.addr, "::1"), "localhost is %s", s.addr);
        ck_assert(resolve_is_literal(s.addr));
        sd_event_unref(s.e);
}
END_TEST

START_TEST(test_literal_no_thread)
{
        static const char *const literals[] = { "127.0.0.1", "::1", "2001:db8::5" };
        struct seen s = { 0 };
        struct resolve_job *j = NULL;

        /* A lookup would be seen (and slow): literals get none. */
        resolve_set_test_hooks(slow_lookup, 0);
        for (size_t i = 0; i < sizeof(literals) / sizeof(literals[0]); i++) {
                renew(&s);
                s.calls = 0;
                ck_assert(resolve_is_literal(literals[i]));
                ck_assert_int_eq(resolve_start(s.e, literals[i], "5432", on_done, &s, &j), 0);
                ck_assert_uint_eq(resolve_running(), 0);
                ck_assert_int_eq(s.calls, 0);
                run(s.e, 1000);
                ck_assert_int_eq(s.calls, 1);
                ck_assert_int_eq(s.r, 0);
                ck_assert_str_eq(s.addr, literals[i]);
        }
        ck_assert_int_eq(atomic_load(&slow_calls), 0);
        ck_assert(!resolve_is_literal("localhost"));
        ck_assert(!resolve_is_literal("db.example.com"));
        ck_assert(!resolve_is_literal(""));
        /* Nothing to resolve in a socket path or nothing. */
        ck_assert_int_eq(resolve_start(s.e, "/run/postgresql", NULL, on_done, &s, &j), -EINVAL);
        ck_assert_int_eq(resolve_start(s.e, "@abstract", NULL, on_done, &s, &j), -EINVAL);
        ck_assert_int_eq(resolve_start(s.e, "", NULL, on_done, &s, &j), -EINVAL);
        sd_event_unref(s.e);
}
END_TEST

START_TEST(test_no_such_name)
{
        struct seen s = { 0 };
        struct resolve_job *j = NULL;

        ck_assert_int_eq(sd_event_new(&s.e), 0);
        /* .invalid never resolves (RFC 6761). */
        ck_assert_int_eq(resolve_start(s.e, "nonexistent.invalid", NULL, on_done, &s, &j), 0);
        run(s.e, 6000);
        ck_assert_int_eq(s.calls, 1);
        ck_assert_int_lt(s.r, 0);
        ck_assert_str_eq(s.addr, "");
        sd_event_unref(s.e);
}
END_TEST

START_TEST(test_cancel)
{
        struct seen s = { 0 };
        struct resolve_job *j = NULL;

        resolve_set_test_hooks(slow_lookup, 0);
        ck_assert_int_eq(sd_event_new(&s.e), 0);
        ck_assert_int_eq(resolve_start(s.e, "db.example.com", NULL, on_done, &s, &j), 0);
        ck_assert_uint_eq(resolve_running(), 1);
        resolve_cancel(j);
        resolve_cancel(NULL);
        /* The thread answers into a closed socket meanwhile. */
        run(s.e, 600);
        ck_assert_int_eq(s.calls, 0);
        wait_threads();
        ck_assert_int_eq(atomic_load(&slow_calls), 1);

        /* And the other order: the answer is in, unread, when cancelled. */
        atomic_store(&slow_ms, 0);
        renew(&s);
        ck_assert_int_eq(resolve_start(s.e, "db.example.com", NULL, on_done, &s, &j), 0);
        wait_threads();
        resolve_cancel(j);
        run(s.e, 200);
        ck_assert_int_eq(s.calls, 0);
        sd_event_unref(s.e);
}
END_TEST

struct ticks {
        int n;
        sd_event_source *src;
};

static int on_tick(sd_event_source *src, uint64_t usec, void *userdata)
{
        struct ticks *t = userdata;

        (void) usec;
        t->n++;
        (void) sd_event_source_set_time_relative(src, 20 * 1000);
        return sd_event_source_set_enabled(src, SD_EVENT_ON);
}

START_TEST(test_loop_runs_while_slow)
{
        struct seen s = { 0 };
        struct ticks t = { 0 };
        struct resolve_job *j = NULL;

        atomic_store(&slow_ms, 500);
        resolve_set_test_hooks(slow_lookup, 0);
        ck_assert_int_eq(sd_event_new(&s.e), 0);
        ck_assert_int_eq(sd_event_add_time_relative(s.e, &t.src, CLOCK_MONOTONIC, 20 * 1000, 1000, on_tick, &t), 0);
        ck_assert_int_eq(sd_event_source_set_enabled(t.src, SD_EVENT_ON), 0);
        ck_assert_int_eq(resolve_start(s.e, "slow.example.com", NULL, on_done, &s, &j), 0);
        run(s.e, 3000);
        ck_assert_int_eq(s.calls, 1);
        ck_assert_int_eq(s.r, 0);
        ck_assert_str_eq(s.addr, "192.0.2.7");
        /* 500 ms of lookup, a tick every 20 ms: the loop was never held. */
        ck_assert_int_ge(t.n, 15);
        sd_event_source_disable_unref(t.src);
        sd_event_unref(s.e);
}
END_TEST

START_TEST(test_timeout_and_bound)
{
        struct seen s = { 0 };
        struct resolve_job *j[RESOLVE_MAX_THREADS + 1] = { 0 };

        atomic_store(&slow_ms, 400);
        resolve_set_test_hooks(slow_lookup, 100 * 1000);
        ck_assert_int_eq(sd_event_new(&s.e), 0);
        ck_assert_int_eq(resolve_start(s.e, "slow.example.com", NULL, on_done, &s, &j[0]), 0);
        run(s.e, 2000);
        ck_assert_int_eq(s.calls, 1);
        ck_assert_int_eq(s.r, -ETIMEDOUT);
        /* The thread still runs, on its own, and counts. */
        ck_assert_uint_eq(resolve_running(), 1);
        renew(&s);
        for (int i = 1; i < RESOLVE_MAX_THREADS; i++)
                ck_assert_int_eq(resolve_start(s.e, "slow.example.com", NULL, on_done, &s, &j[i]), 0);
        ck_assert_int_eq(resolve_start(s.e, "slow.example.com", NULL, on_done, &s, &j[RESOLVE_MAX_THREADS]),
                         -EAGAIN);
        ck_assert_ptr_null(j[RESOLVE_MAX_THREADS]);
        /* A literal needs no slot. */
        ck_assert_int_eq(resolve_start(s.e, "192.0.2.1", NULL, on_done, &s, &j[RESOLVE_MAX_THREADS]), 0);
        resolve_cancel(j[RESOLVE_MAX_THREADS]);
        for (int i = 1; i < RESOLVE_MAX_THREADS; i++)
                resolve_cancel(j[i]);
        wait_threads();
        ck_assert_int_eq(s.calls, 1);
        sd_event_unref(s.e);
}
END_TEST

static Suite *resolve_suite(void)
{
        Suite *s = suite_create("resolve");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_localhost);
        tcase_add_test(tc, test_literal_no_thread);
        tcase_add_test(tc, test_no_such_name);
        tcase_add_test(tc, test_cancel);
        tcase_add_test(tc, test_loop_runs_while_slow);
        tcase_add_test(tc, test_timeout_and_bound);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(resolve_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
