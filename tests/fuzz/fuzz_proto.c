/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The wire protocol decoder (common/proto.c), the one piece of jitd that
 * every local user reaches. A decoded message must keep every promise of
 * proto.h: known type, allowed fields, strings within their maximum and
 * free of control bytes (in requests: valid text), and it must encode back
 * to a frame of the same length that decodes to the same fields. Grants in
 * replies also go through grant_from_proto and jitctl's output, which must
 * print nothing a terminal acts on and always valid JSON.
 */
#include <errno.h>
#include <json-c/json.h>

#include "fuzz.h"
#include "grant.h"
#include "output.h"
#include "proto.h"
#include "util.h"

static void check_msg(const struct proto_msg *m)
{
        const char *name = proto_type_name(m->type);

        if (!name)
                fuzz_fail("decoded an unknown type %u", m->type);
        for (unsigned f = 1; f < PF_LAST_; f++) {
                const char *s;

                if (!proto_has(m, f) || !(s = proto_get_str(m, f)))
                        continue;
                for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                        if (*p < 0x20 || *p == 0x7f)
                                fuzz_fail("%s: field %s holds byte 0x%02x", name, proto_field_name(f), *p);
                if (proto_is_request(m->type) && !valid_text(s, PROTO_MAX_FRAME))
                        fuzz_fail("%s: field %s is not valid text", name, proto_field_name(f));
        }
}

static bool same(const struct proto_msg *a, const struct proto_msg *b)
{
        if (a->type != b->type || a->present != b->present)
                return false;
        for (unsigned f = 1; f < PF_LAST_; f++) {
                uint64_t x, y;

                if (!proto_has(a, f))
                        continue;
                if (proto_get_str(a, f) ? strcmp(proto_get_str(a, f), proto_get_str(b, f)) != 0
                                        : (!proto_get_u64(a, f, &x) || !proto_get_u64(b, f, &y) || x != y))
                        return false;
        }
        return true;
}

/* Every byte of the output UTF-8, and nothing a terminal acts on but '\n'. */
static void check_screen(const char *what, const char *s, size_t n)
{
        size_t i = 0;

        while (i < n) {
                uint32_t cp;
                size_t k = utf8_decode(s + i, n - i, &cp);

                if (k == 0)
                        fuzz_fail("%s: not UTF-8 at byte %zu", what, i);
                if (cp != '\n' && text_forbidden(cp))
                        fuzz_fail("%s: U+%04X at byte %zu", what, (unsigned) cp, i);
                i += k;
        }
}

static void check_grant_output(const struct proto_msg *m)
{
        struct jit_grant g;
        struct json_object *o = NULL;
        struct json_tokener *tok;
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        if (grant_from_proto(m, &g) < 0)
                return;
        f = open_memstream(&buf, &len);
        if (!f)
                abort();
        output_grant_show(f, &g, 1700000000);
        output_grant_summary(f, &g, 1700000000);
        if (output_grants_table(f, &g, 1, 1700000000) < 0)
                abort();
        fclose(f);
        check_screen("human output", buf, len);
        free(buf);

        buf = NULL;
        f = open_memstream(&buf, &len);
        if (!f || output_grant_json(&g, &o) < 0 || output_json_print(f, o) < 0)
                abort();
        fclose(f);
        json_object_put(o);
        check_screen("json output", buf, len);
        tok = json_tokener_new();
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, buf, (int) len - 1);
        if (!o || json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != len - 1)
                fuzz_fail("jitctl printed invalid JSON: %s", buf);
        json_object_put(o);
        json_tokener_free(tok);
        free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct proto_msg m, d;
        static uint8_t buf[PROTO_MAX_FRAME];
        char why[256] = "";
        size_t len = 0;
        int r;

        r = proto_decode(data, size, &m, why, sizeof(why));
        if (r < 0) {
                if (r != -EBADMSG && r != -EPROTO)
                        fuzz_fail("proto_decode returned %d", r);
                if (!why[0] || strchr(why, '\n'))
                        fuzz_fail("no one-line why: '%s'", why);
                return 0;
        }
        check_msg(&m);
        r = proto_encode(&m, buf, sizeof(buf), &len);
        if (r < 0)
                fuzz_fail("a decoded message does not encode: %d", r);
        if (len != size)
                fuzz_fail("re-encoded to %zu bytes from %zu", len, size);
        r = proto_decode(buf, len, &d, why, sizeof(why));
        if (r < 0)
                fuzz_fail("re-encoded frame refused: %s", why);
        if (!same(&m, &d))
                fuzz_fail("fields changed on the way round");
        if (m.type == PROTO_REP_GRANT)
                check_grant_output(&m);
        return 0;
}
