/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitctl doctor's sudoers reader (jitctl/doctor_parse.c): the include
 * directives as sudo resolves them, and the scan for the @includedir of
 * jitd's drop-in directory through every @include. The input is up to four
 * files split at FUZZ_SPLIT: sudoers, a, b and c (relative names reach each
 * other). The scan must end quickly whatever the files say (issue 12: a file
 * including itself was read k^8 times). Also: the ticket URL endpoint and a
 * mountinfo line, from the first line of the input.
 */
#include <errno.h>
#include <sys/stat.h>

#include "doctor_parse.h"
#include "fuzz.h"
#include "mountinfo.h"
#include "util.h"

static const char *const names[] = { "sudoers", "a", "b", "c" };

static void check_lines(const uint8_t *data, size_t size)
{
        char *line = fuzz_strndup(data, strnlen((const char *) data, size));
        char host[256], port[16], *path = NULL;
        struct mount_entry m;
        char file[300];
        int k;

        snprintf(file, sizeof(file), "%s/sudoers", fuzz_dir());
        k = doctor_sudoers_directive(line, file, "web1", &path);
        if (k == DOCTOR_SUDOERS_INCLUDE || k == DOCTOR_SUDOERS_INCLUDEDIR) {
                if (!path || !path[0])
                        fuzz_fail("a directive without a path");
                (void) doctor_same_dir(path, "/etc/sudoers.d");
                free(path);
        } else if (k != DOCTOR_SUDOERS_OTHER && k != -EINVAL && k != -ENOMEM)
                fuzz_fail("doctor_sudoers_directive returned %d", k);
        if (doctor_url_endpoint(line, host, sizeof(host), port, sizeof(port)) == 0) {
                if (!host[0] || !port[0])
                        fuzz_fail("an endpoint without host or port");
        }
        (void) doctor_url_endpoint(line, host, 4, port, 2);
        if (mountinfo_split(line, &m) == 1 && (!m.root || !m.point || !m.fstype || !m.super))
                fuzz_fail("mountinfo split gave a NULL field");
        (void) mount_has_option(line, "favordynmods");
        free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static char dropins[256];
        const uint8_t *starts[ELEMENTSOF(names)];
        size_t lens[ELEMENTSOF(names)], n;
        struct doctor_sudoers_scan s = {};
        char main_path[256];
        int r;

        if (!dropins[0]) {
                snprintf(dropins, sizeof(dropins), "%s/sudoers.d", fuzz_dir());
                if (mkdir(dropins, 0750) < 0 && errno != EEXIST)
                        abort();
        }
        n = fuzz_split(data, size, starts, lens, ELEMENTSOF(names));
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                fuzz_write(names[i], i < n ? starts[i] : (const uint8_t *) "", i < n ? lens[i] : 0);
        snprintf(main_path, sizeof(main_path), "%s/sudoers", fuzz_dir());
        r = doctor_sudoers_scan(main_path, dropins, "web1", &s);
        if (r < 0 && r != -ENOMEM)
                fuzz_fail("doctor_sudoers_scan returned %d", r);
        if (r == 0 && s.where && !strchr(s.where, ':'))
                fuzz_fail("where is not FILE:LINE: %s", s.where);
        doctor_sudoers_scan_clear(&s);
        check_lines(data, size);
        return 0;
}
