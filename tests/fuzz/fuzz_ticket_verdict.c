/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A ticket system's answer, read into a verdict for each preset
 * (jitd/ticket_verdict.c): the strict JSON reader, then ticket_judge.
 * Input: one byte picks the preset (and a user_map or not), the rest is the
 * response body. Also ticket_parse_time on the whole body as a string.
 */
#include <errno.h>
#include <json-c/json.h>

#include "fuzz_ticket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct ticket_settings *s;
        struct ticket_result r;
        json_object *root = NULL;
        char why[256] = "", *body;
        int64_t t;
        int k;

        if (size < 1)
                return 0;
        s = fuzz_ticket_settings(data[0], data[0] / FUZZ_PRESETS);
        body = fuzz_strndup(data + 1, size - 1);

        k = ticket_parse_time(body, &t);
        if (k == 0 && t < 0)
                fuzz_fail("a time before 1970: %lld", (long long) t);
        if (k != 0 && k != -EINVAL)
                fuzz_fail("ticket_parse_time returned %d", k);

        k = ticket_json_parse(body, size - 1, &root, why, sizeof(why));
        if (k < 0) {
                if (root)
                        fuzz_fail("a refused body left a root behind");
                if (k != -EBADMSG && k != -E2BIG)
                        fuzz_fail("ticket_json_parse returned %d", k);
                fuzz_check_line("parse why", why, sizeof(why));
                /* What was refused had a NUL or trailing data, or was not JSON. */
                free(body);
                return 0;
        }
        if (memchr(body, '\0', size - 1))
                fuzz_fail("a body with a NUL byte was accepted");
        ticket_judge(s, "OPS-1", FUZZ_USER, root, &r);
        fuzz_check_result(&r);
        (void) ticket_json_string(root, "/fields/status/name");
        json_object_put(root);
        free(body);
        return 0;
}
