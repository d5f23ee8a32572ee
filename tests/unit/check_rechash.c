/* SPDX-License-Identifier: BSD-3-Clause */
/* The seal of a recording (common/rechash.c): the same digest coreutils
 * computes, bounded steps giving the same as one go, and what fails. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rechash.h"
#include "util.h"

static char dir[] = "/tmp/check_rechash.XXXXXX";
static char tmpl[sizeof(dir)];

static void setup(void)
{
        memcpy(dir, "/tmp/check_rechash.XXXXXX", sizeof(dir));
        ck_assert_ptr_nonnull(mkdtemp(dir));
        memcpy(tmpl, dir, sizeof(dir));
}

static void teardown(void)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
        ck_assert_int_eq(system(cmd), 0);
}

static void put(const char *name, const void *data, size_t len)
{
        char p[256];
        int fd;

        snprintf(p, sizeof(p), "%s/%s", dir, name);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, data, len), (ssize_t) len);
        close(fd);
}

/* What the man page tells an auditor to run. */
static void coreutils_seal(const char *path, char out[RECHASH_HEX_LEN + 1])
{
        char cmd[512];
        FILE *p;

        snprintf(cmd, sizeof(cmd), "cd '%s' && ls -A | LC_ALL=C sort | xargs sha256sum | sha256sum", path);
        p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(fscanf(p, "%64s", out), 1);
        pclose(p);
}

START_TEST(test_matches_coreutils)
{
        char big[300000], want[RECHASH_HEX_LEN + 1], got[RECHASH_HEX_LEN + 1];
        uint64_t size = 0;

        for (size_t i = 0; i < sizeof(big); i++)
                big[i] = (char) (i * 7 + 3);
        put("log", "1796440689:alice:root::unknown:24:80\n", 38);
        put("timing", "0 0.1 5\n", 8);
        put("ttyout", big, sizeof(big));
        put("Zeta", "", 0);             /* capitals sort first in C order */
        coreutils_seal(dir, want);
        ck_assert_int_eq(rechash_path(AT_FDCWD, dir, got, &size), 0);
        ck_assert_str_eq(got, want);
        ck_assert_uint_eq(size, 38 + 8 + sizeof(big));
}
END_TEST

START_TEST(test_steps_equal_one_go)
{
        char big[200000], one[RECHASH_HEX_LEN + 1], stepped[RECHASH_HEX_LEN + 1];
        struct rechash *h = NULL;
        uint64_t size = 0;
        unsigned steps = 0;
        int r;

        memset(big, 'x', sizeof(big));
        put("a", big, sizeof(big));
        put("b", "tail", 4);
        ck_assert_int_eq(rechash_path(AT_FDCWD, dir, one, NULL), 0);
        ck_assert_int_eq(rechash_open(AT_FDCWD, dir, &h), 0);
        while ((r = rechash_step(h, 4096)) > 0)
                steps++;
        ck_assert_int_eq(r, 0);
        /* Bounded: never more than the budget per step. */
        ck_assert_uint_ge(steps, sizeof(big) / 4096);
        ck_assert_int_eq(rechash_result(h, stepped, &size), 0);
        ck_assert_str_eq(stepped, one);
        ck_assert_uint_eq(size, sizeof(big) + 4);
        rechash_free(h);
}
END_TEST

START_TEST(test_one_byte_changes_it)
{
        char a[RECHASH_HEX_LEN + 1], b[RECHASH_HEX_LEN + 1], c[RECHASH_HEX_LEN + 1];

        put("log", "abc", 3);
        ck_assert_int_eq(rechash_path(AT_FDCWD, dir, a, NULL), 0);
        put("log", "abd", 3);
        ck_assert_int_eq(rechash_path(AT_FDCWD, dir, b, NULL), 0);
        ck_assert_str_ne(a, b);
        /* A file renamed is another recording too. */
        put("log", "abc", 3);
        {
                char p1[256], p2[256];

                snprintf(p1, sizeof(p1), "%s/log", dir);
                snprintf(p2, sizeof(p2), "%s/loh", dir);
                ck_assert_int_eq(rename(p1, p2), 0);
        }
        ck_assert_int_eq(rechash_path(AT_FDCWD, dir, c, NULL), 0);
        ck_assert_str_ne(a, c);
}
END_TEST

/* A tlog recording is one file, sealed as a directory holding just it. */
START_TEST(test_single_file)
{
        char want[RECHASH_HEX_LEN + 1], got[RECHASH_HEX_LEN + 1], p[256];
        uint64_t size = 0;

        put("17", "{\"ver\":\"2.3\"}\n", 14);
        coreutils_seal(dir, want);
        snprintf(p, sizeof(p), "%s/17", dir);
        ck_assert_int_eq(rechash_path(AT_FDCWD, p, got, &size), 0);
        ck_assert_str_eq(got, want);
        ck_assert_uint_eq(size, 14);
}
END_TEST

START_TEST(test_refuses_what_is_not_plain)
{
        char hex[RECHASH_HEX_LEN + 1], p[256], q[256];

        ck_assert_int_eq(rechash_path(AT_FDCWD, "/nonexistent/rechash", hex, NULL), -ENOENT);
        put("log", "x", 1);
        snprintf(p, sizeof(p), "%s/link", dir);
        ck_assert_int_eq(symlink("/etc/passwd", p), 0);
        ck_assert_int_eq(rechash_path(AT_FDCWD, dir, hex, NULL), -EBADMSG);
        unlink(p);
        snprintf(q, sizeof(q), "%s/sub", dir);
        ck_assert_int_eq(mkdir(q, 0700), 0);
        ck_assert_int_eq(rechash_path(AT_FDCWD, dir, hex, NULL), -EBADMSG);
        rmdir(q);
        /* The recording itself a symlink: refused, not followed. */
        snprintf(q, sizeof(q), "%s/../%s-link", dir, strrchr(dir, '/') + 1);
        ck_assert_int_eq(symlink(dir, q), 0);
        ck_assert_int_eq(rechash_path(AT_FDCWD, q, hex, NULL), -EBADMSG);
        unlink(q);
        ck_assert_int_eq(rechash_path(AT_FDCWD, dir, hex, NULL), 0);
}
END_TEST

START_TEST(test_too_many_files)
{
        char hex[RECHASH_HEX_LEN + 1], name[16];

        for (int i = 0; i <= RECHASH_FILES_MAX; i++) {
                snprintf(name, sizeof(name), "f%d", i);
                put(name, "", 0);
        }
        ck_assert_int_eq(rechash_path(AT_FDCWD, dir, hex, NULL), -EBADMSG);
}
END_TEST

static Suite *rechash_suite(void)
{
        Suite *s = suite_create("rechash");
        TCase *tc = tcase_create("seal");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_matches_coreutils);
        tcase_add_test(tc, test_steps_equal_one_go);
        tcase_add_test(tc, test_one_byte_changes_it);
        tcase_add_test(tc, test_single_file);
        tcase_add_test(tc, test_refuses_what_is_not_plain);
        tcase_add_test(tc, test_too_many_files);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(rechash_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
