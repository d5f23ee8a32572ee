/* SPDX-License-Identifier: BSD-3-Clause */
/* common/sslkey.c: the [fleet] client certificate and key, judged before
 * libpq reads them (root's key, mode 0600, no link, absolute paths, both or
 * neither). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sslkey.h"

static char dir[64], key[128], cert[128], link_path[128];

static void setup(void)
{
        int fd;

        strcpy(dir, "/tmp/check_sslkey.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(key, sizeof(key), "%s/client.key", dir);
        snprintf(cert, sizeof(cert), "%s/client.crt", dir);
        snprintf(link_path, sizeof(link_path), "%s/link.key", dir);
        fd = open(key, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "-----BEGIN PRIVATE KEY-----\n", 28), 28);
        ck_assert_int_eq(fchmod(fd, 0600), 0);
        close(fd);
}

static void teardown(void)
{
        unlink(key);
        unlink(link_path);
        rmdir(dir);
}

static int check(const char *c, const char *k, char *why, size_t size)
{
        why[0] = '\0';
        return sslkey_check(c, k, why, size);
}

START_TEST(test_none)
{
        char why[256];

        ck_assert_int_eq(check(NULL, NULL, why, sizeof(why)), 0);
        ck_assert_int_eq(check("", "", why, sizeof(why)), 0);
}
END_TEST

START_TEST(test_good)
{
        char why[256];

        /* Only the key is a secret: the certificate is not opened. */
        ck_assert_int_eq(check(cert, key, why, sizeof(why)), 0);
        ck_assert_int_eq(chmod(key, 0400), 0);
        ck_assert_int_eq(check(cert, key, why, sizeof(why)), 0);
        /* An OpenSSL engine's key is not a file. */
        ck_assert_int_eq(check(cert, "pkcs11:token=fleet", why, sizeof(why)), 0);
}
END_TEST

START_TEST(test_mode)
{
        static const mode_t bad[] = { 0640, 0644, 0604, 0660, 0700 };
        char why[256], want[64];

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ck_assert_int_eq(chmod(key, bad[i]), 0);
                ck_assert_int_eq(check(cert, key, why, sizeof(why)), bad[i] == 0700 ? 0 : -EPERM);
                if (bad[i] == 0700)
                        continue;
                snprintf(want, sizeof(want), "(it is mode %04o, owned by uid %u)", (unsigned) bad[i],
                         (unsigned) geteuid());
                ck_assert_msg(strstr(why, want), "%s", why);
                ck_assert_msg(strstr(why, "must be a regular file owned by root, mode 0600"), "%s", why);
                ck_assert_ptr_nonnull(strstr(why, key));
        }
}
END_TEST

START_TEST(test_owner)
{
        char why[256];

        if (geteuid() != 0)
                return;                 /* chown needs root; the unit tests run as root in CI */
        ck_assert_int_eq(chown(key, 65534, 65534), 0);
        ck_assert_int_eq(check(cert, key, why, sizeof(why)), -EPERM);
        ck_assert_msg(strstr(why, "owned by uid 65534"), "%s", why);
}
END_TEST

START_TEST(test_not_a_file)
{
        char why[256];

        ck_assert_int_eq(check(cert, dir, why, sizeof(why)), -EPERM);
        ck_assert_msg(strstr(why, "not a regular file"), "%s", why);
        ck_assert_int_eq(symlink(key, link_path), 0);
        ck_assert_int_eq(check(cert, link_path, why, sizeof(why)), -ELOOP);
        ck_assert_msg(strstr(why, "is a symlink"), "%s", why);
        ck_assert_int_eq(unlink(key), 0);
        ck_assert_int_eq(check(cert, key, why, sizeof(why)), -ENOENT);
        ck_assert_msg(strstr(why, "No such file or directory"), "%s", why);
        ck_assert_ptr_nonnull(strstr(why, key));
}
END_TEST

START_TEST(test_pairs_and_paths)
{
        char why[256];

        ck_assert_int_eq(check(cert, NULL, why, sizeof(why)), -EINVAL);
        ck_assert_msg(strstr(why, "sslcert without sslkey"), "%s", why);
        ck_assert_int_eq(check(cert, "", why, sizeof(why)), -EINVAL);
        ck_assert_int_eq(check(NULL, key, why, sizeof(why)), -EINVAL);
        ck_assert_msg(strstr(why, "sslkey without sslcert"), "%s", why);
        ck_assert_int_eq(check("client.crt", key, why, sizeof(why)), -EINVAL);
        ck_assert_msg(strstr(why, "sslcert client.crt: not an absolute path"), "%s", why);
        ck_assert_int_eq(check(cert, "tls/client.key", why, sizeof(why)), -EINVAL);
        ck_assert_msg(strstr(why, "sslkey tls/client.key: not an absolute path"), "%s", why);
        /* A short buffer: cut, terminated. */
        ck_assert_int_eq(sslkey_check(cert, NULL, why, 8), -EINVAL);
        ck_assert_uint_eq(strlen(why), 7);
        ck_assert_int_eq(sslkey_check(cert, NULL, NULL, 0), -EINVAL);
}
END_TEST

static Suite *sslkey_suite(void)
{
        Suite *s = suite_create("sslkey");
        TCase *tc = tcase_create("sslkey");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_none);
        tcase_add_test(tc, test_good);
        tcase_add_test(tc, test_mode);
        tcase_add_test(tc, test_owner);
        tcase_add_test(tc, test_not_a_file);
        tcase_add_test(tc, test_pairs_and_paths);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(sslkey_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
