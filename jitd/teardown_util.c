/* SPDX-License-Identifier: BSD-3-Clause */
/* Small helpers the teardown backends share: deadlines, writing a control
 * file, parsing the numbers in handles. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "teardown_internal.h"
#include "util.h"

int64_t td_deadline_after(int64_t ms)
{
        return now_monotonic_ms() + ms;
}

int td_remaining_ms(int64_t deadline)
{
        int64_t left = deadline - now_monotonic_ms();

        return left <= 0 ? 0 : (int) left;
}

void td_sleep_ms(int ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int td_strdup_to(const char *s, char **ret)
{
        char *copy = strdup(s);

        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

int td_write_string(const char *path, const char *s)
{
        size_t n = strlen(s);
        ssize_t w;
        int fd, r = 0;

        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return -errno;
        w = write(fd, s, n);
        if (w < 0)
                r = -errno;
        else if ((size_t) w != n)
                r = -EIO;
        close(fd);
        return r;
}

/* Numbers in handles have one spelling (no sign, no leading zero), so a
 * handle is valid only if formatting what it parses to gives it back. */
bool td_parse_u64(const char *s, const char **end, uint64_t *ret)
{
        char *e;

        if (*s < '0' || *s > '9')
                return false;
        errno = 0;
        *ret = strtoull(s, &e, 10);
        if (errno != 0)
                return false;
        *end = e;
        return true;
}

int td_proc_cgroup(pid_t pid, char *buf, size_t size)
{
        _cleanup_free_ char *line = NULL;
        char path[40];
        size_t cap = 0;
        int r = -ENOENT;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT || errno == ESRCH ? -ESRCH : -errno;
        while (getline(&line, &cap, f) > 0)
                if (strncmp(line, "0::", 3) == 0) {
                        line[strcspn(line, "\n")] = '\0';
                        r = strcpy_checked(buf, size, line + 3);
                        break;
                }
        fclose(f);
        return r;
}
