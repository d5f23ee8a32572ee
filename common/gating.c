/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "gating.h"
#include "util.h"

static const char *const sudo_services[] = { "sudo", "sudo-i" };

bool gating_is_sudo_service(const char *service)
{
        for (size_t i = 0; service && i < ELEMENTSOF(sudo_services); i++)
                if (strcmp(service, sudo_services[i]) == 0)
                        return true;
        return false;
}

bool gating_role_gates(const struct role *r, const char *service)
{
        if (!r || !service)
                return false;
        if (!r->services)
                return gating_is_sudo_service(service);
        if (strv_contains(r->services, service))
                return true;
        /* Any of sudo's names in the list stands for all of them. */
        if (gating_is_sudo_service(service))
                for (size_t i = 0; i < ELEMENTSOF(sudo_services); i++)
                        if (strv_contains(r->services, sudo_services[i]))
                                return true;
        return false;
}

bool gating_role_needs_sudoers(const struct role *r)
{
        return gating_role_gates(r, "sudo");
}

bool gating_config_needs_sudoers(const struct config *c)
{
        for (size_t i = 0; c && i < c->n_roles; i++)
                if (gating_role_needs_sudoers(&c->roles[i]))
                        return true;
        return false;
}
