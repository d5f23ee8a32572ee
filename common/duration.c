/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"

static const struct {
        char unit;
        uint64_t sec;
} units[] = {
        { 'd', 86400 },
        { 'h', 3600 },
        { 'm', 60 },
        { 's', 1 },
};

int duration_parse(const char *s, uint64_t *ret_sec)
{
        uint64_t total = 0;
        size_t next_unit = 0;   /* units before this index are used up */
        bool too_big = false;
        const char *p = s;

        if (!s || !*s)
                return -EINVAL;

        /* Syntax is checked to the end before the range, so that "99999999dx"
         * is reported as the typo it is rather than as "too long". */
        while (*p) {
                uint64_t n = 0;
                const char *digits = p;
                size_t u;

                while (*p >= '0' && *p <= '9') {
                        unsigned d = (unsigned) (*p - '0');

                        if (n > (DURATION_MAX_SEC - d) / 10)
                                too_big = true;   /* saturate; keep scanning */
                        else
                                n = n * 10 + d;
                        p++;
                }
                if (p == digits)
                        return -EINVAL;         /* sign, space, unit without a number */

                for (u = next_unit; u < sizeof(units) / sizeof(units[0]); u++)
                        if (units[u].unit == *p)
                                break;
                /* No unit (bare number), unknown unit, repeated or out of order. */
                if (*p == '\0' || u == sizeof(units) / sizeof(units[0]))
                        return -EINVAL;
                p++;
                next_unit = u + 1;

                if (too_big || n > DURATION_MAX_SEC / units[u].sec) {
                        too_big = true;
                        continue;
                }
                total += n * units[u].sec;      /* both terms <= MAX: no overflow */
                if (total > DURATION_MAX_SEC)
                        too_big = true;
        }

        if (too_big)
                return -ERANGE;
        if (total == 0)
                return -EINVAL;
        *ret_sec = total;
        return 0;
}

void duration_format(uint64_t sec, char *buf, size_t size)
{
        size_t len = 0;

        if (!buf || size == 0)
                return;
        buf[0] = '\0';
        if (sec == 0) {
                snprintf(buf, size, "0s");
                return;
        }
        for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
                uint64_t n = sec / units[u].sec;
                int k;

                if (n == 0)
                        continue;
                sec %= units[u].sec;
                k = snprintf(buf + len, size - len, "%llu%c", (unsigned long long) n, units[u].unit);
                if (k < 0 || (size_t) k >= size - len)
                        return;                 /* truncated, but terminated */
                len += (size_t) k;
        }
}

const char *duration_strerror(int r)
{
        switch (r) {
        case 0:
                return "no error";
        case -EINVAL:
                return "not a duration: use a number with a unit, e.g. 90s, 15m, 1h30m, 2d "
                       "(units d, h, m, s, each once, in that order; at least 1s)";
        case -ERANGE:
                return "duration too long (at most 366d)";
        default:
                return strerror(r < 0 ? -r : r);
        }
}
