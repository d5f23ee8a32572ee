/* SPDX-License-Identifier: BSD-3-Clause */
/* jitd/tombstone.c: unrecorded ends kept across a restart, read back as
 * written, and nothing else read back. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record.h"
#include "tombstone.h"

static char dir[64], sock[128], *tombs;

static void setup(void)
{
        char why[256];

        snprintf(dir, sizeof(dir), "/tmp/check_tombstone.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(sock, sizeof(sock), "%s/jitd.sock", dir);
        ck_assert_int_eq(tombstone_dir(sock, &tombs, why, sizeof(why)), 0);
}

static void teardown(void)
{
        char cmd[128];

        free(tombs);
        tombs = NULL;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
}

static void make_change(struct change *c, int64_t id)
{
        const struct actor root = { .uid = 0, .name = "root" };

        memset(c, 0, sizeof(*c));
        c->next.id = id;
        c->next.state = GRANT_REVOKED;
        c->next.ended_at = 1700000000;
        snprintf(c->next.end_reason, sizeof(c->next.end_reason), "laptop \"stolen\"\n");
        c->effects = 6;
        ck_assert_int_eq(change_add_event(c, "revoked", &root, 1700000000, "{\"reason\":\"laptop\"}"), 0);
        ck_assert_int_eq(change_add_event(c, "torn-down", &actor_jitd, 1700000001, NULL), 0);
        c->ev[0].alert = true;
}

struct seen {
        int n;
        int64_t ids[8];
        struct change first;
        int bad;
};

static int on_one(int64_t id, struct change *c, void *userdata)
{
        struct seen *s = userdata;

        if (s->n == 0)
                ck_assert_int_eq(change_copy(&s->first, c), 0);
        s->ids[s->n++] = id;
        return 0;
}

static void on_bad(const char *name, int r, void *userdata)
{
        struct seen *s = userdata;

        (void) name;
        (void) r;
        s->bad++;
}

START_TEST(test_round_trip)
{
        struct change c;
        struct seen s = { 0 };

        make_change(&c, 12);
        ck_assert_int_eq(tombstone_put(tombs, &c), 0);
        change_done(&c);
        make_change(&c, 3);
        ck_assert_int_eq(tombstone_put(tombs, &c), 0);
        change_done(&c);
        ck_assert_int_eq(tombstone_foreach(tombs, on_one, on_bad, &s), 0);
        ck_assert_int_eq(s.n, 2);
        ck_assert_int_eq(s.bad, 0);
        ck_assert_int_eq(s.ids[0], 3);
        ck_assert_int_eq(s.ids[1], 12);
        ck_assert_int_eq(s.first.next.id, 3);
        ck_assert_int_eq(s.first.next.state, GRANT_REVOKED);
        ck_assert_int_eq(s.first.next.ended_at, 1700000000);
        ck_assert_str_eq(s.first.next.end_reason, "laptop \"stolen\"\n");
        ck_assert_uint_eq(s.first.effects, 6);
        ck_assert_uint_eq(s.first.n, 2);
        ck_assert_str_eq(s.first.ev[0].event, "revoked");
        ck_assert_str_eq(s.first.ev[0].actor, "root");
        ck_assert(s.first.ev[0].alert);
        ck_assert_str_eq(s.first.ev[0].details, "{\"reason\":\"laptop\"}");
        ck_assert_str_eq(s.first.ev[1].actor, "jitd");
        ck_assert_int_eq(s.first.ev[1].at, 1700000001);
        change_done(&s.first);

        ck_assert_int_eq(tombstone_drop(tombs, 3), 0);
        ck_assert_int_eq(tombstone_drop(tombs, 3), 0);
        memset(&s, 0, sizeof(s));
        ck_assert_int_eq(tombstone_foreach(tombs, on_one, on_bad, &s), 0);
        ck_assert_int_eq(s.n, 1);
        ck_assert_int_eq(s.ids[0], 12);
        change_done(&s.first);
}
END_TEST

static void plant(const char *name, const char *text, mode_t mode)
{
        char p[256];
        int fd;

        snprintf(p, sizeof(p), "%s/%s", tombs, name);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        ck_assert_int_eq(chmod(p, mode), 0);
}

/* Only what tombstone_put writes comes back: another grant's id inside, an
 * open state, garbage, a file others may read; leftovers of a crash are
 * skipped. */
START_TEST(test_refuses_the_rest)
{
        static const char good[] = "{\"id\":7,\"state\":\"released\",\"ended_at\":5,\"end_reason\":\"\","
                                   "\"effects\":0,\"events\":[]}";
        struct seen s = { 0 };

        plant("7", good, 0600);
        plant("8", "{\"id\":7,\"state\":\"released\",\"ended_at\":5,\"end_reason\":\"\",\"effects\":0,"
                   "\"events\":[]}", 0600);
        plant("9", "{\"id\":9,\"state\":\"active\",\"ended_at\":5,\"end_reason\":\"\",\"effects\":0,"
                   "\"events\":[]}", 0600);
        plant("10", "not json", 0600);
        plant("11", good, 0644);
        plant(".12.tmp", good, 0600);
        plant("x", good, 0600);
        ck_assert_int_eq(tombstone_foreach(tombs, on_one, on_bad, &s), 0);
        ck_assert_int_eq(s.n, 1);
        ck_assert_int_eq(s.ids[0], 7);
        ck_assert_int_eq(s.bad, 4);
        change_done(&s.first);
}
END_TEST

START_TEST(test_dir_vetted)
{
        char why[256], *d = NULL;

        ck_assert_int_eq(chmod(tombs, 0777), 0);
        ck_assert_int_eq(tombstone_dir(sock, &d, why, sizeof(why)), -EPERM);
        ck_assert_ptr_nonnull(strstr(why, "writable"));
        ck_assert_int_eq(chmod(tombs, 0700), 0);
        ck_assert_int_eq(tombstone_dir(sock, &d, why, sizeof(why)), 0);
        free(d);
}
END_TEST

int main(void)
{
        Suite *su = suite_create("tombstone");
        TCase *tc = tcase_create("tombstone");
        SRunner *sr;
        int failed;

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_refuses_the_rest);
        tcase_add_test(tc, test_dir_vetted);
        suite_add_tcase(su, tc);
        sr = srunner_create(su);
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
