/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The standing-privilege scan (jitd/standing.c) over a fuzzed sudoers tree.
 * The input is up to six files split at FUZZ_SPLIT: sudoers (the main file),
 * a, b, c in the same directory, and inc/x and inc/jit-7 in a directory
 * that "@includedir inc" reaches (jit-7 stands for one of jitd's drop-ins,
 * whose rules are not counted). Every rule found must be quoted within the
 * excerpt limit on one line, never come from a jit-<digits> file, and the
 * scan must end (self-includes and deep chains are bounded).
 */
#include <errno.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "standing.h"
#include "util.h"

static const char *const names[] = { "sudoers", "a", "b", "c", "inc/x", "inc/jit-7" };

static size_t code_points(const char *s)
{
        size_t n = 0;

        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if ((*p & 0xc0) != 0x80)
                        n++;
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static bool made;
        const uint8_t *starts[ELEMENTSOF(names)];
        size_t lens[ELEMENTSOF(names)], n;
        struct standing *st = NULL;
        char main_path[256];
        int r;

        if (!made) {
                char inc[256];

                snprintf(inc, sizeof(inc), "%s/inc", fuzz_dir());
                if (mkdir(inc, 0755) < 0 && errno != EEXIST)
                        abort();
                made = true;
        }
        n = fuzz_split(data, size, starts, lens, ELEMENTSOF(names));
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                fuzz_write(names[i], i < n ? starts[i] : (const uint8_t *) "", i < n ? lens[i] : 0);
        snprintf(main_path, sizeof(main_path), "%s/sudoers", fuzz_dir());

        r = standing_scan(main_path, &st);
        if (r < 0) {
                if (r != -ENOMEM || st)
                        fuzz_fail("standing_scan returned %d", r);
                return 0;
        }
        if (st->n_root > st->n_rules)
                fuzz_fail("%zu root rules of %zu", st->n_root, st->n_rules);
        for (size_t i = 0; i < st->n_rules; i++) {
                const struct standing_rule *x = &st->rules[i];
                const char *base = strrchr(x->file, '/');
                char *line = NULL;

                base = base ? base + 1 : x->file;
                if (strncmp(base, "jit-", 4) == 0 && base[4] && strspn(base + 4, "0123456789") == strlen(base + 4))
                        fuzz_fail("a rule counted from jitd's own drop-in %s", x->file);
                if (x->line == 0 || code_points(x->text) > STANDING_EXCERPT_MAX)
                        fuzz_fail("rule %s:%u quoted as %zu code points", x->file, x->line, code_points(x->text));
                if (strchr(x->text, '\n'))
                        fuzz_fail("rule %s:%u quoted over several lines", x->file, x->line);
                if (standing_rule_format(x, &line) < 0)
                        abort();
                free(line);
        }
        for (size_t i = 0; i < st->n_errors; i++)
                if (!st->errors[i] || strchr(st->errors[i], '\n'))
                        fuzz_fail("error not one line: %s", st->errors[i] ? st->errors[i] : "(null)");
        standing_free(st);
        return 0;
}
