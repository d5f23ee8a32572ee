/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Text hygiene (common/util.c, jitctl/output.c): valid_text_n against a
 * reference reading of RFC 3629 and the forbidden code points; text_escape's
 * output is always valid text and loses nothing that was valid; jitctl's
 * JSON is valid UTF-8 JSON for any string, with every valid string coming
 * back unchanged and every forbidden code point written as an escape.
 */
#include <json-c/json.h>

#include "fuzz.h"
#include "output.h"
#include "util.h"

/* RFC 3629 by its definition: decode leniently, then refuse overlongs,
 * surrogates and what lies past U+10FFFF. */
static bool reference_valid(const uint8_t *s, size_t n)
{
        size_t i = 0;

        while (i < n) {
                uint8_t c = s[i];
                size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
                uint32_t cp, min[] = { 0, 0, 0x80, 0x800, 0x10000 };

                if (len == 0 || i + len > n)
                        return false;
                cp = len == 1 ? c : c & (0x7f >> len);
                for (size_t k = 1; k < len; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return false;
                        cp = cp << 6 | (s[i + k] & 0x3f);
                }
                if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x61c || cp == 0x200e || cp == 0x200f ||
                    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
                        return false;
                i += len;
        }
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = fuzz_strndup(data, size), *e = NULL, *q = NULL, *buf = NULL;
        bool valid = valid_text_n(s, size);
        size_t len = 0;
        json_object *o, *back;
        struct json_tokener *tok;
        FILE *f;

        if (valid != reference_valid(data, size))
                fuzz_fail("valid_text_n says %d, RFC 3629 says %d", valid, !valid);
        if (valid != valid_text(s, size) && !memchr(s, '\0', size))
                fuzz_fail("valid_text and valid_text_n disagree");

        /* Escaped text is valid text; valid text is left alone (no quoting). */
        if (text_escape(s, 0, &e) < 0 || text_escape(s, TEXT_ESCAPE_QUOTE, &q) < 0)
                abort();
        if (!valid_text(e, SIZE_MAX - 1) || !valid_text(q, SIZE_MAX - 1))
                fuzz_fail("escaped text is not valid text");
        if (valid && strcmp(e, s) != 0)
                fuzz_fail("valid text was changed by escaping");
        for (const char *p = q; *p; p++) {
                if (*p == '\\' && (p[1] == '\\' || p[1] == '"')) {
                        p++;
                        continue;
                }
                if (*p == '"')
                        fuzz_fail("an unescaped quote in quoted text: %s", q);
        }

        /* JSON: the string as jitctl would print it. */
        o = json_object_new_string(s);
        f = open_memstream(&buf, &len);
        if (!o || !f || output_json_print(f, o) < 0)
                abort();
        fclose(f);
        tok = json_tokener_new();
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        back = json_tokener_parse_ex(tok, buf, (int) len - 1);
        if (!back || json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != len - 1)
                fuzz_fail("invalid JSON for a string: %s", buf);
        if (!valid_text_n(buf, len - 1))
                fuzz_fail("raw forbidden code point in JSON: %s", buf);
        /* Up to its first NUL (a C string's end), valid UTF-8 comes back as it was. */
        {
                size_t n = strlen(s), i = 0;
                bool utf8 = true;

                while (i < n && utf8) {
                        uint32_t cp;
                        size_t k = utf8_decode(s + i, n - i, &cp);

                        utf8 = k > 0;
                        i += k;
                }
                if (utf8 && strcmp(json_object_get_string(back), s) != 0)
                        fuzz_fail("a UTF-8 string changed on its way through JSON");
        }
        json_object_put(back);
        json_tokener_free(tok);
        json_object_put(o);
        free(buf);
        free(e);
        free(q);
        free(s);
        return 0;
}
