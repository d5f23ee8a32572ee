/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "coverage.h"
#include "gating.h"
#include "policy.h"
#include "util.h"

bool coverage_live(const struct jit_grant *g, const struct role *r, const char *service, const char *host,
                   int64_t now)
{
        return g && r && g->state == GRANT_ACTIVE && g->starts_at <= now && g->expires_at > now &&
               strcmp(g->host, host) == 0 && gating_role_gates(r, service) && policy_host_matches(r, host);
}

static bool list_has_all(char *const *list)
{
        return list && strv_contains(list, "ALL");
}

/* The documented defaults of a role built without the list. */
static char *const default_runas[] = { (char *) "root", NULL };
static char *const default_commands[] = { (char *) "ALL", NULL };

static char *const *runas_of(const struct role *r)
{
        return r->runas ? r->runas : default_runas;
}

static char *const *commands_of(const struct role *r)
{
        return r->commands ? r->commands : default_commands;
}

bool coverage_runas(const struct role *r, const char *target)
{
        if (!r)
                return false;
        if (!target || !target[0])
                return true;
        return list_has_all(runas_of(r)) || strv_contains(runas_of(r), target);
}

/* Every entry of b is in a, or a has ALL. */
static bool superset(char *const *a, char *const *b)
{
        if (list_has_all(a))
                return true;
        if (list_has_all(b))
                return false;
        for (; b && *b; b++)
                if (!strv_contains(a, *b))
                        return false;
        return true;
}

bool coverage_allows_all_of(const struct role *a, const struct role *b)
{
        if (!a || !b)
                return false;
        if (a == b)
                return true;
        return superset(commands_of(a), commands_of(b)) && superset(runas_of(a), runas_of(b));
}

static bool ends_later(const struct jit_grant *a, const struct jit_grant *b)
{
        return a->expires_at > b->expires_at || (a->expires_at == b->expires_at && a->id < b->id);
}

int coverage_pick_owner(const struct coverage_candidate *v, size_t n)
{
        int best = -1, first_end = -1;

        for (size_t i = 0; i < n; i++) {
                bool maximal = true;

                for (size_t j = 0; j < n && maximal; j++)
                        if (j != i && !coverage_allows_all_of(v[i].r, v[j].r))
                                maximal = false;
                if (maximal && (best < 0 || ends_later(v[i].g, v[best].g)))
                        best = (int) i;
                if (first_end < 0 || ends_later(v[first_end].g, v[i].g))
                        first_end = (int) i;
        }
        return best >= 0 ? best : first_end;
}

int coverage_pick_move(const struct coverage_candidate *v, size_t n, const struct role *from)
{
        int best = -1;

        for (size_t i = 0; i < n; i++)
                if (coverage_allows_all_of(v[i].r, from) && (best < 0 || ends_later(v[i].g, v[best].g)))
                        best = (int) i;
        return best;
}
