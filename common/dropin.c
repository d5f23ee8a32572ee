/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dropin.h"

int dropin_name(int64_t id, char *buf, size_t size)
{
        int n;

        if (id <= 0 || !buf)
                return -EINVAL;
        n = snprintf(buf, size, DROPIN_PREFIX "%" PRId64, id);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

bool dropin_parse_name(const char *name, int64_t *ret_id)
{
        const char *p;
        int64_t v = 0;

        if (!name || strncmp(name, DROPIN_PREFIX, strlen(DROPIN_PREFIX)) != 0)
                return false;
        p = name + strlen(DROPIN_PREFIX);
        if (*p < '1' || *p > '9')
                return false;
        for (; *p; p++) {
                if (*p < '0' || *p > '9' || v > (INT64_MAX - (*p - '0')) / 10)
                        return false;
                v = v * 10 + (*p - '0');
        }
        if (ret_id)
                *ret_id = v;
        return true;
}
