/* SPDX-License-Identifier: BSD-3-Clause */
/* Ticket settings for each preset, as jitd would build them from a [ticket]
 * section, for the ticket harnesses. Built once per process (no token file:
 * nothing here opens a file or a socket). */
#ifndef JIT_FUZZ_TICKET_H
#define JIT_FUZZ_TICKET_H

#include "config.h"
#include "fuzz.h"
#include "ticket_internal.h"
#include "util.h"

#define FUZZ_PRESETS 6
#define FUZZ_HOST "web1"
#define FUZZ_USER "alice"

static const struct {
        const char *provider;
        const char *hosts, *window_start, *window_end;
} fuzz_presets[FUZZ_PRESETS] = {
        { "jira", "/fields/customfield_10200", "/fields/customfield_10300", "/fields/customfield_10301" },
        { "servicenow", "/result/0/cmdb_ci.name", NULL, NULL },
        { "redmine", "/issue/custom_fields/0/value", "/issue/custom_fields/1/value", "/issue/custom_fields/2/value" },
        { "rt", "/CustomFields/0/values", "/Starts", "/Due" },
        { "gitlab", "/labels", NULL, NULL },
        { "http", "/ticket/hosts", "/ticket/window/start", "/ticket/window/end" },
};

static char *fuzz_xstrdup(const char *s)
{
        char *c = s ? strdup(s) : NULL;

        if (s && !c)
                abort();
        return c;
}

/* Settings for preset i; variant 1 adds a user_map, so that both spellings
 * of a requester are tried. */
static struct ticket_settings *fuzz_ticket_settings(unsigned i, unsigned variant)
{
        static struct ticket_settings *cache[FUZZ_PRESETS][2];
        struct ticket_config c = {};
        char why[256] = "";
        int r;

        i %= FUZZ_PRESETS;
        variant %= 2;
        if (cache[i][variant])
                return cache[i][variant];
        c.provider = fuzz_xstrdup(fuzz_presets[i].provider);
        c.url = fuzz_xstrdup("https://tickets.example.org");
        c.hosts = fuzz_xstrdup(fuzz_presets[i].hosts);
        c.window_start = fuzz_xstrdup(fuzz_presets[i].window_start);
        c.window_end = fuzz_xstrdup(fuzz_presets[i].window_end);
        c.comment = true;
        if (variant)
                c.user_map = fuzz_xstrdup("{user}@example.org");
        if (strcmp(c.provider, "gitlab") == 0)
                c.project = fuzz_xstrdup("ops/changes");
        if (strcmp(c.provider, "http") == 0) {
                c.lookup = fuzz_xstrdup("{url}/http/ticket/{ticket}");
                c.status = fuzz_xstrdup("/ticket/state");
                c.requester = fuzz_xstrdup("/ticket/owner");
                if (strv_split("approved", ',', &c.approved) < 0 || strv_split("closed,rejected", ',', &c.closed) < 0)
                        abort();
                c.comment = false;
        }
        r = ticket_settings_new(&c, FUZZ_HOST, NULL, &cache[i][variant], why, sizeof(why));
        if (r < 0)
                fuzz_fail("settings for %s: %d %s", c.provider, r, why);
        free(c.provider);
        free(c.url);
        free(c.hosts);
        free(c.window_start);
        free(c.window_end);
        free(c.user_map);
        free(c.project);
        free(c.lookup);
        free(c.status);
        free(c.requester);
        strv_free(c.approved);
        strv_free(c.closed);
        return cache[i][variant];
}

/* A line for users and logs: NUL-terminated inside its buffer, no byte
 * below 0x20, no DEL. */
static void fuzz_check_line(const char *what, const char *s, size_t size)
{
        if (!memchr(s, '\0', size))
                fuzz_fail("%s is not NUL-terminated", what);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        fuzz_fail("%s holds byte 0x%02x: %s", what, *p, s);
}

static void fuzz_check_result(const struct ticket_result *r)
{
        if (r->verdict < TICKET_APPROVED || r->verdict > TICKET_ERROR)
                fuzz_fail("verdict %d out of range", (int) r->verdict);
        fuzz_check_line("why", r->why, sizeof(r->why));
        fuzz_check_line("status", r->status, sizeof(r->status));
        if (r->window_start < 0 || r->window_end < 0 || r->retry_after < 0)
                fuzz_fail("negative time in a result");
        if (r->verdict == TICKET_APPROVED && r->window_start && r->window_end && r->window_end <= r->window_start)
                fuzz_fail("approved with a window that ends before it starts");
}

#endif
