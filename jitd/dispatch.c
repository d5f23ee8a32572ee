/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every request jitd accepts, who may send it and who serves it, in one table
 * (OpenSSH monitor style). A type missing here is refused. The access level is
 * checked before the handler runs; handlers refine it per grant (own grant,
 * approver of that grant's role).
 */
#include <errno.h>
#include <syslog.h>

#include "jitd.h"

enum access {
        ACCESS_ANY,          /* any local user; handlers restrict to own grants */
        ACCESS_ROOT,         /* uid 0 only: the PAM module's questions */
        ACCESS_ADMIN,        /* root or [jitd] admin_group */
};

struct handler {
        enum proto_type type;
        enum access access;
        void (*fn)(struct request *req);
};

static const struct handler handlers[] = {
        { PROTO_REQ_PING,    ACCESS_ANY,   handle_ping },
        { PROTO_REQ_CHECK,   ACCESS_ROOT,  handle_check },
        { PROTO_REQ_REQUEST, ACCESS_ANY,   handle_request },
        { PROTO_REQ_APPROVE, ACCESS_ANY,   handle_approve },   /* approver of the grant's role */
        { PROTO_REQ_DENY,    ACCESS_ANY,   handle_deny },      /* approver of the grant's role */
        { PROTO_REQ_CANCEL,  ACCESS_ANY,   handle_cancel },    /* own grant */
        { PROTO_REQ_RELEASE, ACCESS_ANY,   handle_release },   /* own grant */
        { PROTO_REQ_REVOKE,  ACCESS_ADMIN, handle_revoke },
        { PROTO_REQ_LIST,    ACCESS_ANY,   handle_list },      /* own, or all for approvers/admins */
        { PROTO_REQ_SHOW,    ACCESS_ANY,   handle_show },      /* own, or all for approvers/admins */
        { PROTO_REQ_SESSION_OPEN,  ACCESS_ROOT, handle_session_open },
        { PROTO_REQ_SESSION_CLOSE, ACCESS_ROOT, handle_session_close },
        { PROTO_REQ_REQUEST_FOR,   ACCESS_ROOT, handle_request_for },
        { PROTO_REQ_EXTEND,        ACCESS_ANY,   handle_extend },        /* own grant */
        { PROTO_REQ_BREAK_GLASS,   ACCESS_ANY,   handle_break_glass },   /* the role's break_glass list */
        { PROTO_REQ_REVIEW,        ACCESS_ADMIN, handle_review },        /* never one's own grant */
        { PROTO_REQ_AUDIT,         ACCESS_ADMIN, handle_audit },
        { PROTO_REQ_AUDIT_VERIFY,  ACCESS_ADMIN, handle_audit_verify },
        { PROTO_REQ_RELOAD,        ACCESS_ADMIN, handle_reload },
        { PROTO_REQ_REPORT,        ACCESS_ANY,   handle_report },        /* admins and approvers */
};

static const struct handler *handler_find(unsigned type)
{
        for (size_t i = 0; i < ELEMENTSOF(handlers); i++)
                if (handlers[i].type == type)
                        return &handlers[i];
        return NULL;
}

void dispatch(struct request *req)
{
        const struct handler *h;
        const char *name = proto_type_name(req->msg->type);
        struct principal *peer = NULL;
        int r;

        if (!proto_is_request(req->msg->type)) {
                reply_error(req, EBADMSG, "'%s' is a reply, not a request", name ? name : "?");
                return;
        }
        h = handler_find(req->msg->type);
        if (!h) {
                reply_error(req, EOPNOTSUPP, "request '%s' is not supported by this jitd", name ? name : "?");
                return;
        }
        if (h->access == ACCESS_ROOT && req->cred.uid != 0) {
                log_msg(LOG_WARNING, "refused '%s' from uid %u pid %d: root only", name,
                        (unsigned) req->cred.uid, (int) req->cred.pid);
                reply_error(req, EPERM, "'%s' is for root only", name);
                return;
        }
        /* The PAM module's CHECK is the hot path and comes from root: it needs
         * no principal for the peer. */
        if (h->access != ACCESS_ROOT) {
                r = principal_from_uid(req->cred.uid, &peer);
                if (r < 0) {
                        reply_error(req, EPERM, "uid %u has no user name on this host", (unsigned) req->cred.uid);
                        return;
                }
                req->peer = peer;
        }
        if (h->access == ACCESS_ADMIN && !policy_is_admin(req->d->config, peer)) {
                reply_error(req, EPERM, "'%s' is for admins (root%s%s)", name,
                            req->d->config->admin_group ? " or group " : "",
                            req->d->config->admin_group ? req->d->config->admin_group : "");
                principal_free(peer);
                return;
        }
        h->fn(req);
        req->peer = NULL;
        principal_free(peer);
}
