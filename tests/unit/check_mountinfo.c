/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for common/mountinfo.c. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mountinfo.h"
#include "util.h"

START_TEST(test_mountinfo_split)
{
        char hybrid[] = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,favordynmods\n";
        char systemd[] = "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
                         "rw,nsdelegate,memory_recursiveprot";
        char bind[] = "90 80 0:30 /jit /srv/my\\040cg rw master:9 - cgroup2 cgroup2 rw";
        char bare[] = "36 35 98:0 / /mnt rw - ext4 /dev/vda";
        char junk[] = "not a mountinfo line";
        char short_[] = "36 35 98:0 / - cgroup2 cgroup2 rw";
        struct mount_entry m;

        ck_assert_int_eq(mountinfo_split(hybrid, &m), 1);
        ck_assert_str_eq(m.root, "/");
        ck_assert_str_eq(m.point, "/sys/fs/cgroup/unified");
        ck_assert_str_eq(m.fstype, "cgroup2");
        ck_assert_str_eq(m.super, "rw,favordynmods");

        /* optional fields ("shared:9") before the separator */
        ck_assert_int_eq(mountinfo_split(systemd, &m), 1);
        ck_assert_str_eq(m.point, "/sys/fs/cgroup");
        ck_assert_str_eq(m.super, "rw,nsdelegate,memory_recursiveprot");

        /* a bind mount of a subtree, its mount point with an escaped space */
        ck_assert_int_eq(mountinfo_split(bind, &m), 1);
        ck_assert_str_eq(m.root, "/jit");
        ck_assert_str_eq(m.point, "/srv/my cg");

        /* no super options at all */
        ck_assert_int_eq(mountinfo_split(bare, &m), 1);
        ck_assert_str_eq(m.fstype, "ext4");
        ck_assert_str_eq(m.super, "");

        ck_assert_int_eq(mountinfo_split(junk, &m), 0);
        ck_assert_int_eq(mountinfo_split(short_, &m), 0);
}
END_TEST

START_TEST(test_mount_option)
{
        ck_assert(mount_has_option("rw,favordynmods", "favordynmods"));
        ck_assert(mount_has_option("favordynmods,rw", "favordynmods"));
        ck_assert(mount_has_option("favordynmods", "favordynmods"));
        ck_assert(mount_has_option("rw,nsdelegate,favordynmods,memory_recursiveprot", "favordynmods"));
        ck_assert(!mount_has_option("rw,nsdelegate,memory_recursiveprot", "favordynmods"));
        ck_assert(!mount_has_option("rw,nofavordynmods", "favordynmods"));
        ck_assert(!mount_has_option("rw,favordynmods2", "favordynmods"));
        ck_assert(!mount_has_option("favordynmods=0", "favordynmods"));
        ck_assert(!mount_has_option("", "favordynmods"));
        ck_assert(!mount_has_option(NULL, "favordynmods"));
}
END_TEST

START_TEST(test_cgroup2_here)
{
        char *point = NULL, *super = NULL;
        int r = mountinfo_cgroup2(&point, &super);

        /* Whatever this machine has: a mount point that exists, or none. */
        ck_assert(r == 0 || r == -ENOENT);
        if (r == 0) {
                ck_assert_ptr_nonnull(point);
                ck_assert_int_eq(point[0], '/');
                ck_assert_ptr_nonnull(super);
        }
        free(point);
        free(super);
}
END_TEST

static Suite *mountinfo_suite(void)
{
        Suite *s = suite_create("mountinfo");
        TCase *tc = tcase_create("mountinfo");

        tcase_add_test(tc, test_mountinfo_split);
        tcase_add_test(tc, test_mount_option);
        tcase_add_test(tc, test_cgroup2_here);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(mountinfo_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
