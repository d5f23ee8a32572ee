/* SPDX-License-Identifier: BSD-3-Clause */
/* jitctl/fleet_secret.c: the password, and the file it goes to (new, 0600,
 * never through a link, never over anything). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fleet_secret.h"

static char dir[64], path[128];

static void setup(void)
{
        strcpy(dir, "/tmp/check_fleet_secret.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/fleet.password", dir);
}

static void teardown(void)
{
        char p[160];

        unlink(path);
        snprintf(p, sizeof(p), "%s/other", dir);
        unlink(p);
        rmdir(dir);
}

START_TEST(test_new)
{
        char a[FLEET_SECRET_LEN + 1], b[FLEET_SECRET_LEN + 1], small[FLEET_SECRET_LEN] = "x";

        ck_assert_int_eq(fleet_secret_new(a, sizeof(a)), 0);
        ck_assert_int_eq(fleet_secret_new(b, sizeof(b)), 0);
        ck_assert_uint_eq(strlen(a), 64);
        ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 64);
        ck_assert_str_ne(a, b);
        ck_assert_int_eq(fleet_secret_new(small, sizeof(small)), -EINVAL);
        ck_assert_str_eq(small, "x");
}
END_TEST

START_TEST(test_create_write)
{
        char secret[FLEET_SECRET_LEN + 1], back[FLEET_SECRET_LEN + 8] = "";
        struct stat st;
        mode_t old;
        FILE *f;
        int fd;

        ck_assert_int_eq(fleet_secret_new(secret, sizeof(secret)), 0);
        old = umask(0);                         /* 0600 whatever the umask */
        ck_assert_int_eq(fleet_secret_create(path, &fd), 0);
        umask(old);
        ck_assert_int_eq(fleet_secret_write(fd, secret), 0);
        ck_assert_int_eq(fstat(fd, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
        close(fd);

        f = fopen(path, "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_ptr_nonnull(fgets(back, sizeof(back), f));
        fclose(f);
        ck_assert_uint_eq(strlen(back), 65);
        ck_assert_int_eq(back[64], '\n');
        back[64] = '\0';
        ck_assert_str_eq(back, secret);
}
END_TEST

START_TEST(test_create_refuses)
{
        char other[160];
        int fd = -1;

        /* Anything there already. */
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        close(fd);
        fd = -1;
        ck_assert_int_eq(fleet_secret_create(path, &fd), -EEXIST);
        ck_assert_int_eq(fd, -1);
        unlink(path);

        /* A symbolic link, dangling or not: nothing is written through it. */
        snprintf(other, sizeof(other), "%s/other", dir);
        ck_assert_int_eq(symlink(other, path), 0);
        ck_assert_int_eq(fleet_secret_create(path, &fd), -EEXIST);
        ck_assert_int_eq(access(other, F_OK), -1);
        unlink(path);

        ck_assert_int_eq(fleet_secret_create("fleet.password", &fd), -EINVAL);
        ck_assert_int_eq(fleet_secret_create(NULL, &fd), -EINVAL);
        snprintf(other, sizeof(other), "%s/no/such/dir", dir);
        ck_assert_int_eq(fleet_secret_create(other, &fd), -ENOENT);
        ck_assert_int_eq(fd, -1);
}
END_TEST

START_TEST(test_discard)
{
        char other[160];
        struct stat st;
        int fd, keep;

        ck_assert_int_eq(fleet_secret_create(path, &fd), 0);
        fleet_secret_discard(path, fd);
        ck_assert_int_eq(lstat(path, &st), -1);

        /* Replaced meanwhile: the file there now is someone else's and stays. */
        ck_assert_int_eq(fleet_secret_create(path, &fd), 0);
        snprintf(other, sizeof(other), "%s/other", dir);
        keep = open(other, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        ck_assert_int_ge(keep, 0);
        close(keep);
        ck_assert_int_eq(rename(other, path), 0);
        fleet_secret_discard(path, fd);
        ck_assert_int_eq(lstat(path, &st), 0);

        fleet_secret_discard(path, -1);         /* nothing to undo */
}
END_TEST

static Suite *fleet_secret_suite(void)
{
        Suite *s = suite_create("fleet_secret");
        TCase *tc = tcase_create("secret");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_new);
        tcase_add_test(tc, test_create_write);
        tcase_add_test(tc, test_create_refuses);
        tcase_add_test(tc, test_discard);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(fleet_secret_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
