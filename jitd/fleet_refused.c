/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <json-c/json.h>

#include "fleet_refused.h"
#include "log.h"
#include "record.h"
#include "store.h"

static char *details_of(int64_t fleet_id, const char *user, const char *role, const char *why)
{
        struct json_object *o = json_object_new_object();
        char *s;

        if (!o)
                return NULL;
        json_object_object_add(o, "fleet_grant", json_object_new_int64(fleet_id));
        json_object_object_add(o, "user", json_object_new_string(user));
        json_object_object_add(o, "role", json_object_new_string(role));
        json_object_object_add(o, "why", json_object_new_string(why));
        s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return s;
}

int fleet_refused(struct jitd *d, int64_t fleet_id, const char *user, const char *role, const char *why)
{
        int64_t now = now_realtime();
        struct change c = {};
        char *details;
        int r;

        if (!d || fleet_id <= 0 || !user || !role || !why)
                return -EINVAL;
        details = details_of(fleet_id, user, role, why);
        if (!details)
                return -ENOMEM;
        r = store_begin(d->store);
        if (r < 0)
                goto out;
        r = store_fleet_refused_add(d->store, fleet_id, why, now);
        if (r == -EEXIST) {
                store_rollback(d->store);
                r = 0;
                goto out;
        }
        if (r >= 0)
                r = change_add_event(&c, "fleet-refused", &actor_jitd, now, details);
        if (r >= 0)
                r = change_write_events(d, &c);
        if (r >= 0)
                r = store_commit(d->store);
        if (r < 0) {
                store_rollback(d->store);
                goto out;
        }
        change_log(&c);
        log_msg(LOG_WARNING, "fleet grant F%" PRId64 " (%s for role %s): not enforced on this host: %s", fleet_id, user,
                role, why);
out:
        change_done(&c);
        free(details);
        return r;
}
