/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_hosts.h"
#include "fleet_mirror.h"
#include "policy.h"

static const char hosts_sql[] = "SELECT h.name FROM jit.hosts h ORDER BY h.name LIMIT 20000";

struct hosts_req {
        char *pattern;
        fleet_hosts_fn cb;
        void *userdata;
};

static void on_hosts(int r, const PGresult *res, const char *why, void *userdata)
{
        struct hosts_req *h = userdata;
        char *names = NULL;
        size_t used = 0, n = 0;
        int rows;

        if (r < 0) {
                h->cb(r, NULL, 0, why, h->userdata);
                goto out;
        }
        rows = PQntuples(res);
        names = malloc((size_t) rows * 56 + 1);
        if (!names) {
                h->cb(-ENOMEM, NULL, 0, "out of memory", h->userdata);
                goto out;
        }
        names[0] = '\0';
        for (int i = 0; i < rows; i++) {
                const char *name = PQgetvalue(res, i, 0);
                size_t k = strlen(name);

                if (k > 54 || !policy_pattern_matches(h->pattern, name))
                        continue;
                if (used)
                        names[used++] = ',';
                memcpy(names + used, name, k + 1);
                used += k;
                n++;
        }
        h->cb(0, names, n, NULL, h->userdata);
out:
        free(names);
        free(h->pattern);
        free(h);
}

int fleet_hosts_matching(struct jitd *d, const char *pattern, fleet_hosts_fn cb, void *userdata)
{
        struct hosts_req *h;
        int r;

        if (!d->fleet)
                return -ENOTCONN;
        h = calloc(1, sizeof(*h));
        if (!h || !(h->pattern = strdup(pattern))) {
                free(h);
                return -ENOMEM;
        }
        h->cb = cb;
        h->userdata = userdata;
        r = fleet_mirror_query(d->fleet, hosts_sql, 0, NULL, on_hosts, h);
        if (r < 0) {
                free(h->pattern);
                free(h);
        }
        return r;
}
