/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "approval_text.h"
#include "util.h"

/* One field: present, at most max bytes, and text that keeps to its line.
 * valid_text_n refuses every byte below 0x20 and 0x7f (so "\n", "\r", "\t"
 * and NUL among them), invalid UTF-8, C1 controls and bidi overrides. */
static bool field_ok(const char *s, size_t max)
{
        size_t n;

        if (!s)
                return false;
        n = strnlen(s, max + 1);
        return n >= 1 && n <= max && valid_text_n(s, n);
}

static int hosts_join(char *const *hosts, char **ret)
{
        size_t total = 0, n = 0;
        char *s, *p;

        if (!hosts || !hosts[0])
                return -EINVAL;
        for (; hosts[n]; n++) {
                if (!field_ok(hosts[n], JIT_HOST_MAX) || strchr(hosts[n], ','))
                        return -EINVAL;
                total += strlen(hosts[n]) + (n > 0);
                if (total > JIT_LIST_MAX)
                        return -EINVAL;
        }
        s = p = malloc(total + 1);
        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                size_t k = strlen(hosts[i]);

                if (i > 0)
                        *p++ = ',';
                memcpy(p, hosts[i], k);
                p += k;
        }
        *p = '\0';
        *ret = s;
        return 0;
}

/* The grant's lines, checked, and the extension's when x is given. */
static int render(const struct approval_fields *f, const struct extension_fields *x, char **ret_text)
{
        _cleanup_free_ char *hosts = NULL;
        char ext[128] = "";
        const char *ticket;
        char *text = NULL;
        int r;

        if (!f || !ret_text)
                return -EINVAL;
        if (f->grant <= 0 || f->duration == 0 || f->requested <= 0)
                return -EINVAL;
        if (!field_ok(f->user, JIT_USER_MAX) || !field_ok(f->role, JIT_ROLE_MAX) ||
            !field_ok(f->approver, JIT_USER_MAX))
                return -EINVAL;
        /* "-" stands for no ticket, so a ticket of that name would render the
         * same text as none. */
        if (!f->ticket || f->ticket[0] == '\0')
                ticket = "-";
        else if (!field_ok(f->ticket, JIT_TICKET_MAX) || strcmp(f->ticket, "-") == 0)
                return -EINVAL;
        else
                ticket = f->ticket;
        if (x) {
                if (x->n <= 0 || x->duration == 0 || x->requested <= 0)
                        return -EINVAL;
                snprintf(ext, sizeof(ext), "extension %" PRId64 "\nadds %" PRIu64 "\nasked %" PRId64 "\n", x->n,
                         x->duration, x->requested);
        }
        r = hosts_join(f->hosts, &hosts);
        if (r < 0)
                return r;

        r = asprintf(&text,
                     "%s\n"
                     "grant %" PRId64 "\n"
                     "user %s\n"
                     "role %s\n"
                     "hosts %s\n"
                     "duration %" PRIu64 "\n"
                     "ticket %s\n"
                     "requested %" PRId64 "\n"
                     "%s"
                     "approver %s\n",
                     x ? EXTENSION_TEXT_MAGIC : APPROVAL_TEXT_MAGIC, f->grant, f->user, f->role, hosts, f->duration,
                     ticket, f->requested, ext, f->approver);
        if (r < 0)
                return -ENOMEM;
        *ret_text = text;
        return 0;
}

int approval_text(const struct approval_fields *f, char **ret_text)
{
        return render(f, NULL, ret_text);
}

int extension_text(const struct approval_fields *f, const struct extension_fields *x, char **ret_text)
{
        return x ? render(f, x, ret_text) : -EINVAL;
}
