/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The config loader (common/config.c): jitd.conf as a file. What it accepts
 * must be what the rest of jitd can use without checking again: every role
 * renders into a sudoers rule (jitd/sudoers.c re-validates and would refuse
 * a config that slipped something past), durations are ordered, the policy
 * functions answer. What it refuses comes with one "FILE:LINE: ..." line per
 * problem.
 */
#include <errno.h>

#include "config.h"
#include "conninfo.h"
#include "fuzz.h"
#include "policy.h"
#include "sudoers.h"
#include "util.h"

static void check_role(const struct config *c, const struct role *r)
{
        struct jit_grant g = { .id = 1, .uid = 1000, .state = GRANT_ACTIVE, .starts_at = 1700000000,
                               .expires_at = 1700003600 };
        char *user[] = { (char *) "alice", NULL };
        struct principal p = { .name = (char *) "alice", .uid = 1000, .gid = 1000, .groups = user };
        char why[256];
        uint64_t d;
        char *text = NULL;
        int k;

        if (!valid_role_name(r->name) || config_find_role(c, r->name) != r)
                fuzz_fail("role '%s' is not findable by its name", r->name);
        if (r->max_duration < r->default_duration || r->default_duration == 0)
                fuzz_fail("role '%s': durations %llu > %llu", r->name, (unsigned long long) r->default_duration,
                          (unsigned long long) r->max_duration);
        strcpy(g.user, "alice");
        snprintf(g.role, sizeof(g.role), "%s", r->name);
        k = sudoers_render(&g, r, &text);
        if (k < 0)
                fuzz_fail("role '%s' was accepted but does not render: %d", r->name, k);
        free(text);
        (void) policy_eligible(r, &p, c->host, why, sizeof(why));
        (void) policy_ticket_ok(r, "CHG-1", why, sizeof(why));
        (void) policy_ticket_ok(r, "", why, sizeof(why));
        (void) policy_duration(r, 0, &d, why, sizeof(why));
        (void) policy_duration(r, 3600, &d, why, sizeof(why));
        (void) policy_host_matches(r, "web01");
        (void) policy_service_matches(r, "sudo");
        (void) policy_is_approver(r, &p);
        (void) policy_break_glass_ok(r, &p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct config_errors e = {};
        struct config *c = NULL;
        const char *path;
        int r;

        path = fuzz_write("jitd.conf", data, size);
        r = config_load(path, &c, &e);
        if (r == 0) {
                if (!c || e.n != 0)
                        fuzz_fail("success with %zu errors", e.n);
                for (size_t i = 0; i < c->n_roles; i++)
                        check_role(c, &c->roles[i]);
                /* A [fleet] database that parsed carries no password. */
                if (c->fleet.line && (!c->fleet.database || conninfo_check(c->fleet.database, NULL, 0) < 0))
                        fuzz_fail("[fleet] accepted without a clean database");
                if (c->fleet.sync < FLEET_SYNC_MIN || c->fleet.sync > FLEET_SYNC_MAX)
                        fuzz_fail("sync %llu out of bounds", (unsigned long long) c->fleet.sync);
                config_free(c);
        } else {
                if (c)
                        fuzz_fail("a refused config was handed back");
                if (r != -EINVAL && r != -ENOMEM)
                        fuzz_fail("config_load returned %d", r);
                if (e.n == 0)
                        fuzz_fail("refused without saying why");
                for (size_t i = 0; i < e.n; i++)
                        if (strncmp(e.lines[i], path, strlen(path)) != 0 || strchr(e.lines[i], '\n'))
                                fuzz_fail("error line not 'FILE:LINE: ...': %s", e.lines[i]);
        }
        config_errors_clear(&e);
        return 0;
}
