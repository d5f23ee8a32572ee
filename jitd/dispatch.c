/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <systemd/sd-event.h>

#include "conn.h"
#include "dispatch.h"
#include "handlers.h"
#include "handlers_fleet.h"
#include "handlers_record.h"
#include "log.h"

enum access {
        ACCESS_ANY,          /* any local user; handlers restrict to own grants */
        ACCESS_ROOT,         /* uid 0 only: the PAM module's questions */
        ACCESS_ADMIN,        /* root or [jitd] admin_group */
};

struct handler {
        enum proto_type type;
        enum access access;
        /* How long a request may wait for a busy (locked) database before it
         * is refused. PAM's questions wait not at all: the module's whole
         * budget is 1.5 s, and a refusal denies, which is safe. */
        unsigned wait_ms;
        int (*fn)(struct request *req);
};

#define USER_WAIT_MS 3000

static const struct handler handlers[] = {
        { PROTO_REQ_PING,          ACCESS_ANY,   USER_WAIT_MS, handle_ping },
        { PROTO_REQ_CHECK,         ACCESS_ROOT,  0,            handle_check },
        { PROTO_REQ_REQUEST,       ACCESS_ANY,   USER_WAIT_MS, handle_request },
        { PROTO_REQ_APPROVE,       ACCESS_ANY,   USER_WAIT_MS, handle_approve },      /* approver of the grant's role */
        { PROTO_REQ_DENY,          ACCESS_ANY,   USER_WAIT_MS, handle_deny },         /* approver of the grant's role */
        { PROTO_REQ_CANCEL,        ACCESS_ANY,   USER_WAIT_MS, handle_cancel },       /* own grant */
        { PROTO_REQ_RELEASE,       ACCESS_ANY,   USER_WAIT_MS, handle_release },      /* own grant */
        { PROTO_REQ_REVOKE,        ACCESS_ADMIN, USER_WAIT_MS, handle_revoke },
        { PROTO_REQ_LIST,          ACCESS_ANY,   USER_WAIT_MS, handle_list },         /* own, or all for approvers/admins */
        { PROTO_REQ_SHOW,          ACCESS_ANY,   USER_WAIT_MS, handle_show },         /* own, or all for approvers/admins */
        { PROTO_REQ_SESSION_OPEN,  ACCESS_ROOT,  0,            handle_session_open },
        { PROTO_REQ_SESSION_CLOSE, ACCESS_ROOT,  0,            handle_session_close },
        { PROTO_REQ_REQUEST_FOR,   ACCESS_ROOT,  0,            handle_request_for },
        { PROTO_REQ_EXTEND,        ACCESS_ANY,   USER_WAIT_MS, handle_extend },       /* own grant */
        { PROTO_REQ_BREAK_GLASS,   ACCESS_ANY,   USER_WAIT_MS, handle_break_glass },  /* the role's break_glass list */
        { PROTO_REQ_REVIEW,        ACCESS_ADMIN, USER_WAIT_MS, handle_review },       /* never one's own grant */
        { PROTO_REQ_AUDIT,         ACCESS_ADMIN, USER_WAIT_MS, handle_audit },
        { PROTO_REQ_AUDIT_VERIFY,  ACCESS_ADMIN, USER_WAIT_MS, handle_audit_verify },
        { PROTO_REQ_RELOAD,        ACCESS_ADMIN, USER_WAIT_MS, handle_reload },
        { PROTO_REQ_REPORT,        ACCESS_ANY,   USER_WAIT_MS, handle_report },       /* admins and approvers */
        { PROTO_REQ_APPROVAL_TEXT, ACCESS_ANY,   USER_WAIT_MS, handle_approval_text }, /* approver of the fleet grant's role, not its user */
        { PROTO_REQ_RECORDINGS,    ACCESS_ANY,   USER_WAIT_MS, handle_recordings },   /* as show */
        { PROTO_REQ_REPLAY,        ACCESS_ANY,   USER_WAIT_MS, handle_replay },       /* admins, the role's approvers, never the grant's user */
        /* Not parked: the pipe it carries is not kept for a retry. */
        { PROTO_REQ_SSH_RECORD,    ACCESS_ANY,   0,            handle_ssh_record },   /* the caller's own ssh session */
};

#define PARK_FIRST_MS 10
#define PARK_MAX_MS   250

/* A request waiting for a busy database. Its connection is held. */
struct parked {
        struct parked *next;
        struct jitd *d;
        uint64_t serial;
        int64_t deadline_ms;            /* monotonic */
        unsigned backoff_ms;
        sd_event_source *timer;
        struct proto_msg msg;
};

static const struct handler *handler_find(unsigned type)
{
        for (size_t i = 0; i < ELEMENTSOF(handlers); i++)
                if (handlers[i].type == type)
                        return &handlers[i];
        return NULL;
}

static void parked_free(struct parked *p)
{
        for (struct parked **pp = &p->d->parked; *pp; pp = &(*pp)->next)
                if (*pp == p) {
                        *pp = p->next;
                        break;
                }
        sd_event_source_disable_unref(p->timer);
        free(p);
}

void dispatch_free_parked(struct jitd *d)
{
        while (d->parked)
                parked_free(d->parked);
}

static int run(struct jitd *d, struct conn *c, const struct proto_msg *m, struct parked *p);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct parked *p = userdata;
        struct conn *c = conn_find(p->d->conns, p->serial);

        (void) s;
        (void) usec;
        if (!c) {
                parked_free(p);
                return 0;
        }
        conn_release(c);
        if (run(p->d, c, &p->msg, p) != -EBUSY)
                parked_free(p);
        return 0;
}

/* Park the request for another try later; false when its wait is over (an
 * existing p is then the caller's to free). */
static bool park(struct jitd *d, struct conn *c, const struct proto_msg *m, const struct handler *h,
                 struct parked *p)
{
        int64_t now = now_monotonic_ms();
        bool fresh = !p;

        if (fresh) {
                if (h->wait_ms == 0)
                        return false;
                p = calloc(1, sizeof(*p));
                if (!p)
                        return false;
                *p = (struct parked) { .d = d, .serial = conn_serial(c), .deadline_ms = now + h->wait_ms,
                                       .msg = *m, .next = d->parked };
                d->parked = p;
        } else if (now >= p->deadline_ms)
                return false;
        p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : PARK_FIRST_MS;
        if (p->backoff_ms > PARK_MAX_MS)
                p->backoff_ms = PARK_MAX_MS;
        if (!p->timer && sd_event_add_time_relative(d->event, &p->timer, CLOCK_MONOTONIC, p->backoff_ms * 1000, 1000,
                                                    on_retry, p) < 0) {
                if (fresh)
                        parked_free(p);
                return false;
        }
        (void) sd_event_source_set_time_relative(p->timer, p->backoff_ms * 1000);
        (void) sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
        conn_hold(c);
        return true;
}

/* -EBUSY: parked again (p stays); anything else: done with p. */
static int run(struct jitd *d, struct conn *c, const struct proto_msg *m, struct parked *p)
{
        const struct handler *h;
        const char *name = proto_type_name(m->type);
        const struct ucred *cred = conn_cred(c);
        struct principal *peer = NULL;
        struct request req = { .d = d, .conn = c, .cred = *cred, .msg = m };
        int r;

        if (!proto_is_request(m->type)) {
                reply_error(&req, EBADMSG, "'%s' is a reply, not a request", name ? name : "?");
                return 0;
        }
        h = handler_find(m->type);
        if (!h) {
                reply_error(&req, EOPNOTSUPP, "request '%s' is not supported by this jitd", name ? name : "?");
                return 0;
        }
        if (!p && !conn_rate_ok(d->conns, cred->uid)) {
                reply_error(&req, EAGAIN, "too many requests from uid %u; slow down", (unsigned) cred->uid);
                return 0;
        }
        if (h->access == ACCESS_ROOT && cred->uid != 0) {
                log_msg(LOG_WARNING, "refused '%s' from uid %u pid %d: root only", name, (unsigned) cred->uid,
                        (int) cred->pid);
                reply_error(&req, EPERM, "'%s' is for root only", name);
                return 0;
        }
        /* The PAM module's questions come from root: they need no principal
         * for the peer (the subject is looked up by the handler). */
        if (h->access != ACCESS_ROOT) {
                r = principal_from_uid(d->config, cred->uid, &peer);
                if (r == -ENOENT) {
                        reply_error(&req, EPERM, "uid %u has no user name on this host", (unsigned) cred->uid);
                        return 0;
                }
                if (r < 0) {
                        reply_error(&req, EIO, "cannot look uid %u up: %s", (unsigned) cred->uid, strerror(-r));
                        return 0;
                }
                req.peer = peer;
        }
        if (h->access == ACCESS_ADMIN && !policy_is_admin(d->config, peer)) {
                reply_error(&req, EPERM, "'%s' is for admins (root%s%s)", name, d->config->admin_group ? " or group " : "",
                            d->config->admin_group ? d->config->admin_group : "");
                principal_free(peer);
                return 0;
        }
        r = h->fn(&req);
        principal_free(peer);
        if (r != -EBUSY)
                return 0;
        if (park(d, c, m, h, p))
                return -EBUSY;
        reply_error(&req, EBUSY, "the database is busy (locked by another process); nothing was changed, try again");
        return 0;
}

void dispatch(void *userdata, struct conn *c, const struct proto_msg *m)
{
        (void) run(userdata, c, m, NULL);
}
