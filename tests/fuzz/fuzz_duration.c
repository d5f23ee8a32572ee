/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Durations (common/duration.c), from the command line and jitd.conf:
 * duration_parse accepts only what it promises (a positive number of
 * seconds up to DURATION_MAX_SEC), and what duration_format writes parses
 * back to the same number.
 */
#include <errno.h>

#include "duration.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = fuzz_strndup(data, size), buf[64];
        uint64_t sec = 0, again = 0;
        int r;

        r = duration_parse(s, &sec);
        if (r == 0) {
                if (sec == 0 || sec > DURATION_MAX_SEC)
                        fuzz_fail("'%s' parsed to %llu", s, (unsigned long long) sec);
                duration_format(sec, buf, sizeof(buf));
                if (duration_parse(buf, &again) != 0 || again != sec)
                        fuzz_fail("%llu formats as '%s', which parses to %llu", (unsigned long long) sec, buf,
                                  (unsigned long long) again);
        } else if (r != -EINVAL && r != -ERANGE)
                fuzz_fail("duration_parse returned %d", r);
        if (!duration_strerror(r))
                fuzz_fail("no words for %d", r);
        /* Any number formats into a small buffer without overrunning it. */
        if (size >= 8) {
                uint64_t v;
                char small[8];

                memcpy(&v, data, sizeof(v));
                duration_format(v, buf, sizeof(buf));
                duration_format(v, small, sizeof(small));
                if (!memchr(small, '\0', sizeof(small)))
                        fuzz_fail("duration_format left no terminator");
        }
        free(s);
        return 0;
}
