/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What jitd does with an HTTP response from a ticket system, without a
 * network: jitd/ticket_worker.c's classify() (in the unprivileged helper) (transport failure, status, Retry-After,
 * content type, body) and, for a JSON body, the verdict; the record id cache
 * and the comment URL built from an id the system sent; the redaction of the
 * token from every message; the comment body built around a text.
 *
 * ticket_worker.c is compiled into this harness (its functions are static);
 * the archive it links against then gives no second copy.
 *
 * Input: preset byte, failure byte, status (2 bytes), Retry-After byte, then
 * the Content-Type up to the first newline, then the body.
 */
#include "../../jitd/ticket_worker.c"

#include <json-c/json.h>

#include "fuzz_ticket.h"

#define SECRET "sekrit-token-1234"

static bool valid_json(const char *s)
{
        struct json_tokener *tok = json_tokener_new();
        json_object *o;
        bool ok;

        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, s, (int) strlen(s));
        ok = o && json_tokener_get_error(tok) == json_tokener_success && json_tokener_get_parse_end(tok) == strlen(s);
        json_object_put(o);
        json_tokener_free(tok);
        return ok;
}

static bool utf8_only(const char *s)
{
        size_t n = strlen(s), i = 0;

        while (i < n) {
                uint32_t cp;
                size_t k = utf8_decode(s + i, n - i, &cp);

                if (k == 0)
                        return false;
                i += k;
        }
        return true;
}

static void check_url(const char *url)
{
        for (const unsigned char *p = (const unsigned char *) url; *p; p++)
                if (*p <= 0x20 || *p >= 0x7f)
                        fuzz_fail("byte 0x%02x in a URL: %s", *p, url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct ticket_worker e;
        struct ticket_settings *s;
        struct http_response resp = {};
        struct ticket_result r;
        json_object *root = NULL;
        const uint8_t *nl;
        char *ct = NULL, *body;
        size_t ct_len, body_len;

        if (size < 5)
                return 0;
        s = fuzz_ticket_settings(data[0], data[0] / FUZZ_PRESETS);
        if (!s->token)
                s->token = fuzz_xstrdup(SECRET);
        resp.failure = (enum http_failure) (data[1] % 8);       /* 6, 7: out of range, as "other" */
        resp.status = (long) (data[2] | data[3] << 8) % 1000;
        resp.retry_after = data[4];             /* http.c hands on only what is > 0 */
        data += 5;
        size -= 5;
        nl = memchr(data, '\n', size);
        ct_len = nl ? (size_t) (nl - data) : 0;
        if (nl && !(ct_len == 1 && data[0] == '-'))     /* "-": no Content-Type at all */
                ct = fuzz_strndup(data, ct_len);
        body_len = nl ? size - ct_len - 1 : size;
        body = fuzz_strndup(nl ? nl + 1 : data, body_len);
        resp.content_type = ct;
        resp.body = body;
        resp.body_len = body_len;
        snprintf(resp.error, sizeof(resp.error), "curl says: %s", SECRET);

        (void) classify(s, "OPS-1", &resp, &r, &root);
        if (root) {
                char *url = NULL;

                if (r.verdict != 0)
                        fuzz_fail("a root to judge with verdict %d", (int) r.verdict);
                ticket_judge(s, "OPS-1", FUZZ_USER, root, &r);
                /* A record id from the answer goes into the comment URL. */
                e.s = s;
                cache_id(&e, "OPS-1", root);
                if (s->comment_url && make_url(s->comment_url, "OPS-1", cached_id(&e, "OPS-1"), &url) == 0) {
                        check_url(url);
                        free(url);
                }
                json_object_put(root);
        } else if (r.verdict == 0)
                fuzz_fail("no root and no verdict");
        redact(s, r.why);
        if (strstr(r.why, SECRET))
                fuzz_fail("the token survived redaction: %s", r.why);
        fuzz_check_result(&r);

        /* A comment around the body as text (what note_text_ok lets in). */
        if (note_text_ok(body) && utf8_only(body) && s->comment_format == COMMENT_JSON) {
                char *json = NULL;

                if (note_body(s, body, &json) < 0)
                        fuzz_fail("note_body failed");
                if (!valid_json(json))
                        fuzz_fail("note body is not valid JSON: %s", json);
                free(json);
        }
        /* Any ticket and id, escaped, makes a URL without a raw byte. */
        if (s->comment_url) {
                char *url = NULL, *id = fuzz_strndup((const uint8_t *) body, strnlen(body, 256));

                if (make_url(s->comment_url, "OPS-1", id, &url) == 0) {
                        check_url(url);
                        free(url);
                }
                free(id);
        }
        free(ct);
        free(body);
        return 0;
}
