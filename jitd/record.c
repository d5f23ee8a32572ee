/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "record.h"

const struct actor actor_jitd = { .uid = 0, .name = "jitd" };

static char *details_json(const struct fsm_audit *a)
{
        json_object *o = json_object_new_object();
        char *text;

        if (!o)
                return NULL;
        for (size_t i = 0; i < a->n_fields; i++) {
                const struct fsm_field *f = &a->fields[i];

                json_object_object_add(o, f->key, f->str ? json_object_new_string(f->str) :
                                                           json_object_new_int64(f->num));
        }
        text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return text;
}

static int event_set(struct change_event *e, const char *event, const struct actor *a, int64_t at)
{
        if (!event || strlen(event) >= sizeof(e->event) || !a || !a->name || strlen(a->name) >= sizeof(e->actor))
                return -EINVAL;
        memset(e, 0, sizeof(*e));
        snprintf(e->event, sizeof(e->event), "%s", event);
        snprintf(e->actor, sizeof(e->actor), "%s", a->name);
        e->actor_uid = a->uid;
        e->at = at;
        return 0;
}

int change_from_fsm(struct change *c, const struct fsm_result *res, const struct actor *a, int64_t now)
{
        int r;

        memset(c, 0, sizeof(*c));
        c->next = res->next;
        c->effects = res->effects;
        for (size_t i = 0; i < res->n_audit; i++) {
                struct change_event *e = &c->ev[c->n];

                r = event_set(e, res->audit[i].event, res->audit[i].by_jitd ? &actor_jitd : a, now);
                if (r < 0)
                        goto fail;
                e->alert = res->audit[i].alert;
                e->details = details_json(&res->audit[i]);
                if (!e->details) {
                        r = -ENOMEM;
                        goto fail;
                }
                c->n++;
        }
        return 0;
fail:
        change_done(c);
        return r;
}

int change_add_event(struct change *c, const char *event, const struct actor *a, int64_t at, const char *details)
{
        struct change_event *e;
        int r;

        if (c->n >= CHANGE_EVENTS_MAX)
                return -E2BIG;
        e = &c->ev[c->n];
        r = event_set(e, event, a, at);
        if (r < 0)
                return r;
        e->details = strdup(details ? details : "{}");
        if (!e->details)
                return -ENOMEM;
        c->n++;
        return 0;
}

void change_done(struct change *c)
{
        for (size_t i = 0; i < c->n; i++) {
                free(c->ev[i].details);
                c->ev[i].details = NULL;
        }
        c->n = 0;
}

int change_copy(struct change *dst, const struct change *src)
{
        *dst = *src;
        for (size_t i = 0; i < src->n; i++) {
                dst->ev[i].details = strdup(src->ev[i].details ? src->ev[i].details : "{}");
                if (!dst->ev[i].details) {
                        dst->n = i;
                        change_done(dst);
                        return -ENOMEM;
                }
        }
        return 0;
}

int change_write_events(struct jitd *d, struct change *c)
{
        for (size_t i = 0; i < c->n; i++) {
                struct change_event *ce = &c->ev[i];
                struct audit_event e = { .at = ce->at, .actor_uid = ce->actor_uid, .grant_id = c->next.id,
                                         .details = ce->details };
                int r;

                snprintf(e.actor, sizeof(e.actor), "%s", ce->actor);
                snprintf(e.event, sizeof(e.event), "%s", ce->event);
                r = audit_append(d->audit, d->store, &e);
                if (r < 0)
                        return r;
                ce->seq = e.seq;
                memcpy(ce->hash, e.hash, sizeof(ce->hash));
                memcpy(ce->prev_hash, e.prev_hash, sizeof(ce->prev_hash));
        }
        return 0;
}

int change_write(struct jitd *d, struct change *c, bool insert)
{
        int r = insert ? store_grant_insert(d->store, &c->next) : store_grant_update(d->store, &c->next);

        if (r < 0)
                return r;
        return change_write_events(d, c);
}

void change_log(const struct change *c)
{
        for (size_t i = 0; i < c->n; i++) {
                const struct change_event *ce = &c->ev[i];
                struct audit_event e = { .seq = ce->seq, .at = ce->at, .actor_uid = ce->actor_uid,
                                         .grant_id = c->next.id, .details = ce->details };

                snprintf(e.actor, sizeof(e.actor), "%s", ce->actor);
                snprintf(e.event, sizeof(e.event), "%s", ce->event);
                memcpy(e.hash, ce->hash, sizeof(e.hash));
                memcpy(e.prev_hash, ce->prev_hash, sizeof(e.prev_hash));
                audit_log_committed(&e, c->next.id ? &c->next : NULL, ce->alert);
        }
}

int change_record(struct jitd *d, struct change *c, bool insert)
{
        int r = store_begin(d->store);

        if (r < 0)
                return r;
        r = change_write(d, c, insert);
        if (r >= 0)
                r = store_commit(d->store);
        if (r < 0) {
                store_rollback(d->store);
                return r;
        }
        change_log(c);
        return 0;
}
