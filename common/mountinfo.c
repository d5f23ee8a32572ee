/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mountinfo.h"
#include "util.h"

/* Mount points in mountinfo have space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
        char *o = s;

        while (*s) {
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
                    s[3] <= '7') {
                        *o++ = (char) ((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
                        s += 4;
                } else
                        *o++ = *s++;
        }
        *o = '\0';
}

/* "ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER" */
int mountinfo_split(char *line, struct mount_entry *ret)
{
        char *sep = strstr(line, " - "), *save = NULL, *f[5], *fstype, *super;

        if (!sep)
                return 0;
        *sep = '\0';
        for (size_t i = 0; i < ELEMENTSOF(f); i++)
                if (!(f[i] = strtok_r(i == 0 ? line : NULL, " ", &save)))
                        return 0;
        save = NULL;
        fstype = strtok_r(sep + 3, " \n", &save);
        if (!fstype || !strtok_r(NULL, " \n", &save))
                return 0;
        super = strtok_r(NULL, " \n", &save);
        unescape_octal(f[3]);
        unescape_octal(f[4]);
        *ret = (struct mount_entry) { .root = f[3], .point = f[4], .fstype = fstype, .super = super ? super : "" };
        return 1;
}

bool mount_has_option(const char *options, const char *name)
{
        size_t n = strlen(name);
        const char *p = options;

        while (p && *p) {
                if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
                        return true;
                p = strchr(p, ',');
                if (p)
                        p++;
        }
        return false;
}

int mountinfo_cgroup2(char **ret_point, char **ret_super)
{
        _cleanup_free_ char *line = NULL, *point = NULL, *super = NULL;
        size_t cap = 0;
        bool found = false;
        FILE *f;

        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return -errno;
        while (getline(&line, &cap, f) > 0) {
                struct mount_entry m;

                if (mountinfo_split(line, &m) <= 0 || strcmp(m.fstype, "cgroup2") != 0 ||
                    (found && strcmp(m.root, "/") != 0))
                        continue;
                free(point);
                free(super);
                point = strdup(m.point);
                super = strdup(m.super);
                if (!point || !super) {
                        fclose(f);
                        return -ENOMEM;
                }
                found = true;
                if (strcmp(m.root, "/") == 0)
                        break;
        }
        fclose(f);
        if (!found)
                return -ENOENT;
        if (ret_point)
                *ret_point = TAKE_PTR(point);
        if (ret_super)
                *ret_super = TAKE_PTR(super);
        return 0;
}
