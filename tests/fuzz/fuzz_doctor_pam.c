/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitctl doctor's PAM reader (jitctl/doctor_parse.c): a service file and the
 * files it @includes, as Linux-PAM reads them, then the analysis doctor
 * bases its verdict on. The input is up to three files split at FUZZ_SPLIT:
 * svc (the service), common (reachable as "@include common" or "include"),
 * and nested. Every rule must be one the loader could have read (a phase, a
 * control, a module), and each analysis answer must point into the stack.
 */
#include <errno.h>

#include "doctor_parse.h"
#include "fuzz.h"
#include "util.h"

static const char *const names[] = { "svc", "common", "nested" };

static bool in_stack(const struct doctor_pam_stack *s, const struct doctor_pam_rule *r)
{
        return !r || (r >= s->rules && r < s->rules + s->n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const uint8_t *starts[ELEMENTSOF(names)];
        size_t lens[ELEMENTSOF(names)], n;
        struct doctor_pam_stack s = {};
        struct doctor_pam_verdict v;
        int r;

        n = fuzz_split(data, size, starts, lens, ELEMENTSOF(names));
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                fuzz_write(names[i], i < n ? starts[i] : (const uint8_t *) "", i < n ? lens[i] : 0);
        r = doctor_pam_load(fuzz_dir(), "svc", &s);
        if (r < 0) {
                if (r != -ENOMEM)
                        fuzz_fail("doctor_pam_load returned %d", r);
                return 0;
        }
        for (size_t i = 0; i < s.n; i++) {
                const struct doctor_pam_rule *x = &s.rules[i];
                char buf[64];

                if (x->phase == DOCTOR_PAM_NONE || !x->control[0] || !x->module[0] || x->line == 0)
                        fuzz_fail("rule %zu: phase %d control '%s' module '%s' line %u", i, (int) x->phase,
                                  x->control, x->module, x->line);
                (void) doctor_pam_on_success(x->control);
                (void) doctor_pam_enforces(x->control);
                (void) doctor_pam_is_jit(x->module);
                (void) doctor_pam_has_arg(x->args, "prompt");
                if (doctor_pam_arg_value(x->args, "socket", buf, sizeof(buf)) && !memchr(buf, '\0', sizeof(buf)))
                        fuzz_fail("arg value not terminated");
        }
        doctor_pam_analyse(&s, &v);
        if (!in_stack(&s, v.auth) || !in_stack(&s, v.account) || !in_stack(&s, v.session) || !in_stack(&s, v.bypass))
                fuzz_fail("the verdict points outside the stack");
        if (v.account && v.account->phase != DOCTOR_PAM_ACCOUNT)
                fuzz_fail("the account rule is not in the account phase");
        doctor_pam_stack_free(&s);

        /* One line split on its own, as a stack line would be. */
        {
                char *line = fuzz_strndup(data, strnlen((const char *) data, size));
                struct doctor_pam_fields f;

                /* "@include FILE" has no control. */
                if (doctor_pam_split(line, &f) > 0 &&
                    (!f.type || (!f.control && strcmp(f.type, "@include") != 0) || !f.module || !f.args))
                        fuzz_fail("split gave a NULL field");
                free(line);
        }
        return 0;
}
