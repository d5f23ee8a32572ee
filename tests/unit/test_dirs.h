/* SPDX-License-Identifier: BSD-3-Clause */
/* Scratch directories for the unit tests: one root per program, made in
 * main() and removed at its end (a failed test skips its own teardown: Check
 * ends the forked child), and one directory per test below it. */
#ifndef TESTS_TEST_DIRS_H
#define TESTS_TEST_DIRS_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void test_remove_dir(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        char p[PATH_MAX];

        if (!d)
                return;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
                if (unlink(p) < 0 && errno == EISDIR)
                        test_remove_dir(p);
        }
        closedir(d);
        rmdir(dir);
}

/* A fresh "<root>/t.XXXXXX" into buf. */
static inline void test_subdir(char *buf, size_t size, const char *root)
{
        int n = snprintf(buf, size, "%s/t.XXXXXX", root);

        ck_assert_int_lt(n, (int) size);
        ck_assert_ptr_nonnull(mkdtemp(buf));
}

#endif
