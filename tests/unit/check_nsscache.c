/* SPDX-License-Identifier: BSD-3-Clause */
/* jitd/nsscache.c: a principal is kept only while files alone answer and the
 * files stay the same. The lookups themselves are real NSS (root and daemon
 * exist everywhere); the files the cache watches are the test's own copies. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nsscache.h"
#include "test_dirs.h"
#include "util.h"

static char dir[64], nss_path[128], passwd_path[128], group_path[128];
static struct nsscache *cache;
static char *members[] = { "%root", NULL };
static struct role role = { .name = "r", .members = members };
static struct config cfg = { .roles = &role, .n_roles = 1 };

static void put(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");

        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        fclose(f);
}

static void setup(void)
{
        struct nsscache_files files = { nss_path, passwd_path, group_path };

        snprintf(dir, sizeof(dir), "/tmp/check_nsscache.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(nss_path, sizeof(nss_path), "%s/nsswitch.conf", dir);
        snprintf(passwd_path, sizeof(passwd_path), "%s/passwd", dir);
        snprintf(group_path, sizeof(group_path), "%s/group", dir);
        put(nss_path, "# the test's\npasswd:         files systemd\ngroup:          files systemd\n");
        put(passwd_path, "root:x:0:0:root:/root:/bin/bash\n");
        put(group_path, "root:x:0:\n");
        ck_assert_int_eq(nsscache_new(&files, &cache), 0);
}

static void teardown(void)
{
        nsscache_free(cache);
        test_remove_dir(dir);
}

/* Looks name up and says whether the cache answered. */
static bool hit(const char *name)
{
        struct principal *p = NULL;
        uint64_t h0, h1, m;

        nsscache_counts(cache, &h0, &m);
        ck_assert_int_eq(nsscache_principal(cache, &cfg, name, &p), 0);
        ck_assert_str_eq(p->name, name);
        principal_free(p);
        nsscache_counts(cache, &h1, &m);
        return h1 > h0;
}

START_TEST(test_kept_while_files_unchanged)
{
        struct principal *p = NULL;

        ck_assert(!hit("root"));
        ck_assert(hit("root"));
        ck_assert(hit("root"));
        ck_assert_int_eq(nsscache_principal(cache, &cfg, "root", &p), 0);
        ck_assert(strv_contains(p->groups, "root"));
        principal_free(p);
        /* Any change to a file (gpasswd, useradd, an editor) starts over. */
        usleep(10000);
        put(group_path, "root:x:0:\nstaff:x:50:\n");
        ck_assert(!hit("root"));
        ck_assert(hit("root"));
        usleep(10000);
        put(passwd_path, "root:x:0:0:root:/root:/bin/bash\nbin:x:2:2::/:/usr/sbin/nologin\n");
        ck_assert(!hit("root"));
        nsscache_flush(cache);
        ck_assert(!hit("root"));
}
END_TEST

START_TEST(test_not_kept_unless_files_answer)
{
        /* daemon is a real user, but not in the test's passwd: another
         * source answered, which may change without a file changing. */
        ck_assert(!hit("daemon"));
        ck_assert(!hit("daemon"));
        /* A group the config names that the test's group file lacks, with a
         * source after files: not kept... */
        members[0] = "%daemon";
        ck_assert(!hit("root"));
        ck_assert(!hit("root"));
        /* ...unless files is the only source of groups. */
        usleep(10000);
        put(nss_path, "passwd: files systemd\ngroup: files\n");
        ck_assert(!hit("root"));
        ck_assert(hit("root"));
        members[0] = "%root";
}
END_TEST

START_TEST(test_not_kept_when_files_is_not_first)
{
        static const char *const confs[] = {
                "passwd: sss files\ngroup: files\n",
                "passwd: files [NOTFOUND=return] systemd\ngroup: files\n",
                "passwd: compat\ngroup: compat\n",
                "group: files\n",
                "passwd: files\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(confs); i++) {
                nsscache_flush(cache);
                usleep(10000);
                put(nss_path, confs[i]);
                ck_assert_msg(!hit("root") && !hit("root"), "cached under: %s", confs[i]);
        }
        usleep(10000);
        put(nss_path, "passwd: files # a comment\n  group:\tfiles\tsystemd\n");
        ck_assert(!hit("root"));
        ck_assert(hit("root"));
}
END_TEST

START_TEST(test_errors_never_kept)
{
        struct principal *p = NULL;

        ck_assert_int_eq(nsscache_principal(cache, &cfg, "no-such-user-jit", &p), -ENOENT);
        ck_assert_int_eq(nsscache_principal(cache, &cfg, "no-such-user-jit", &p), -ENOENT);
        /* A file that cannot be read: nothing is kept. */
        unlink(group_path);
        ck_assert(!hit("root"));
        ck_assert(!hit("root"));
}
END_TEST

int main(void)
{
        Suite *su = suite_create("nsscache");
        TCase *tc = tcase_create("nsscache");
        SRunner *sr;
        int failed;

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_kept_while_files_unchanged);
        tcase_add_test(tc, test_not_kept_unless_files_answer);
        tcase_add_test(tc, test_not_kept_when_files_is_not_first);
        tcase_add_test(tc, test_errors_never_kept);
        suite_add_tcase(su, tc);
        sr = srunner_create(su);
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
