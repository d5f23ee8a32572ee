/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading /proc/self/mountinfo: where cgroup2 is mounted and with which
 * options. One reader for jitd's teardown (where to make session cgroups) and
 * jitctl doctor (is it there, is it favordynmods).
 */
#ifndef JIT_MOUNTINFO_H
#define JIT_MOUNTINFO_H

#include <stdbool.h>

/* One line of /proc/PID/mountinfo, split in place: the root of the mount
 * within its file system, the mount point (with its \ooo escapes undone), the
 * file system type and the super options (those of the file system, shared by
 * every mount of it: "rw,nsdelegate,favordynmods"). Returns 1 with the fields
 * set, 0 for a line that is not a mountinfo line. */
struct mount_entry {
        char *root, *point, *fstype, *super;
};
int mountinfo_split(char *line, struct mount_entry *ret);

/* Is name one of the comma-separated options? A whole option only:
 * "favordynmods" is not in "nofavordynmods", nor "rw" in "rw=1". */
bool mount_has_option(const char *options, const char *name);

/* The cgroup2 mount of this mount namespace. One that shows the whole
 * hierarchy (root "/") wins over a bind mount of a subtree. *ret_point and
 * *ret_super (either may be NULL) are malloc'ed. -ENOENT when there is none. */
int mountinfo_cgroup2(char **ret_point, char **ret_super);

#endif
