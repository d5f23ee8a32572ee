/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "conn.h"
#include "grants.h"
#include "log.h"
#include "request.h"
#include "store.h"

/* Messages quote user input: the protocol refuses control bytes, so they
 * are masked here rather than making the whole reply fail. */
static void error_msg(struct proto_msg *m, int err, const char *fmt, va_list ap)
{
        char text[1025];

        vsnprintf(text, sizeof(text), fmt, ap);
        for (char *p = text; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = '?';
        proto_init(m, PROTO_REP_ERROR);
        proto_set_u64(m, PF_ERRNO, (uint64_t) (err < 0 ? -err : err));
        if (proto_set_str(m, PF_MESSAGE, text) < 0)
                proto_set_str(m, PF_MESSAGE, "(a message that cannot be sent)");
}

int grant_msg(struct proto_msg *m, const struct jit_grant *g, const char *message)
{
        int r;

        proto_init(m, PROTO_REP_GRANT);
        r = grant_to_proto(g, m);
        if (r >= 0)
                r = proto_set_u64(m, PF_NOW, (uint64_t) now_realtime());
        if (r >= 0 && message)
                r = proto_set_str(m, PF_MESSAGE, message);
        return r;
}

int reply_msg(struct request *req, const struct proto_msg *m)
{
        return conn_send(req->conn, m);
}

int reply_error(struct request *req, int err, const char *fmt, ...)
{
        struct proto_msg m;
        va_list ap;

        va_start(ap, fmt);
        error_msg(&m, err, fmt, ap);
        va_end(ap);
        return reply_msg(req, &m);
}

int reply_grant(struct request *req, const struct jit_grant *g, const char *message)
{
        struct proto_msg m;

        if (grant_msg(&m, g, message) < 0)
                return reply_error(req, EIO, "cannot encode grant %lld", (long long) g->id);
        return reply_msg(req, &m);
}

int reply_store_failure(struct request *req, int r, const char *what)
{
        if (r == -EBUSY)
                return -EBUSY;
        log_msg(LOG_ERR, "%s: %s", what, store_last_error(req->d->store));
        reply_error(req, r == -ENOSPC ? ENOSPC : EIO, "%s failed: nothing was changed", what);
        return HANDLED;
}

uint64_t request_hold(struct request *req)
{
        conn_hold(req->conn);
        return conn_serial(req->conn);
}

void later_reply_msg(struct jitd *d, uint64_t serial, const struct proto_msg *m)
{
        struct conn *c = conn_find(d->conns, serial);

        if (!c)
                return;
        conn_release(c);
        (void) conn_send(c, m);
}

void later_reply_error(struct jitd *d, uint64_t serial, int err, const char *fmt, ...)
{
        struct proto_msg m;
        va_list ap;

        va_start(ap, fmt);
        error_msg(&m, err, fmt, ap);
        va_end(ap);
        later_reply_msg(d, serial, &m);
}

void later_reply_grant(struct jitd *d, uint64_t serial, const struct jit_grant *g, const char *message)
{
        struct proto_msg m;

        if (grant_msg(&m, g, message) < 0) {
                later_reply_error(d, serial, EIO, "cannot encode grant %lld", (long long) g->id);
                return;
        }
        later_reply_msg(d, serial, &m);
}

struct actor request_actor(const struct request *req)
{
        return (struct actor) { .uid = req->peer ? req->peer->uid : req->cred.uid,
                                .name = req->peer ? req->peer->name : "root" };
}

bool request_get_id(struct request *req, int64_t *ret)
{
        uint64_t v;

        if (!proto_get_u64(req->msg, PF_ID, &v)) {
                reply_error(req, EINVAL, "a grant id is required");
                return false;
        }
        if (v == 0 || v > INT64_MAX) {
                reply_error(req, EINVAL, "grant id %llu is out of range", (unsigned long long) v);
                return false;
        }
        *ret = (int64_t) v;
        return true;
}

int request_fleet_ref(struct request *req, int64_t *ret)
{
        uint64_t v;

        if (!proto_get_u64(req->msg, PF_FLEET_ID, &v))
                return 0;
        if (proto_has(req->msg, PF_ID)) {
                reply_error(req, EINVAL, "a request names a grant of this host or a fleet grant, not both");
                return -1;
        }
        if (v == 0 || v > INT64_MAX) {
                reply_error(req, EINVAL, "fleet grant id %llu is out of range", (unsigned long long) v);
                return -1;
        }
        if (!req->d->fleet) {
                reply_error(req, EOPNOTSUPP, "F%llu names a fleet grant, and host %s has no [fleet]",
                            (unsigned long long) v, req->d->config->host);
                return -1;
        }
        *ret = (int64_t) v;
        return 1;
}

bool request_may_see_all(const struct request *req)
{
        return policy_is_admin(req->d->config, req->peer) || policy_is_any_approver(req->d->config, req->peer);
}

bool request_load_grant(struct request *req, int64_t id, struct jit_grant *ret, int *ret_err)
{
        int r = grants_get(req->d, id, ret);

        *ret_err = 0;
        /* A grant the peer may not see is reported as missing, so ids do
         * not leak who holds what. */
        if (r == -ENOENT || (r >= 0 && req->peer && ret->uid != req->peer->uid && !request_may_see_all(req))) {
                reply_error(req, ENOENT, "no grant %lld", (long long) id);
                return false;
        }
        if (r == -EBUSY) {
                *ret_err = r;
                return false;
        }
        if (r < 0) {
                log_msg(LOG_ERR, "reading grant %lld: %s", (long long) id, store_last_error(req->d->store));
                reply_error(req, EIO, "cannot read grant %lld", (long long) id);
                return false;
        }
        return true;
}

bool request_pam_subject(struct request *req, const char **ret_user, const char **ret_service)
{
        const char *user = proto_get_str(req->msg, PF_USER);
        const char *service = proto_get_str(req->msg, PF_SERVICE);

        if (!user || !valid_user_name(user)) {
                reply_error(req, EINVAL, "%s needs a valid user name", proto_type_name(req->msg->type));
                return false;
        }
        if (!service || !valid_service_name(service)) {
                reply_error(req, EINVAL, "%s needs a valid service name", proto_type_name(req->msg->type));
                return false;
        }
        *ret_user = user;
        *ret_service = service;
        return true;
}
