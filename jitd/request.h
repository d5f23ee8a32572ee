/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One request being served, and the ways to answer it: now, or later (by the
 * connection's serial, once a bus, a ticket system or the database has
 * answered; the connection is held until then).
 *
 * Handlers return HANDLED (answered, or a stream started), HANDLED_LATER (the
 * connection is held and the answer comes later), or -EBUSY: not answered
 * and nothing changed because the database is busy; dispatch retries the
 * request from a timer for a while, then refuses it.
 */
#ifndef JITD_REQUEST_H
#define JITD_REQUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "grant.h"
#include "jitd.h"
#include "policy.h"
#include "proto.h"

#define HANDLED         0
#define HANDLED_LATER   1

struct conn;

struct request {
        struct jitd *d;
        struct conn *conn;
        struct ucred cred;                  /* from SO_PEERCRED at accept time */
        const struct principal *peer;       /* the peer's uid through NSS; NULL for root-only requests */
        const struct proto_msg *msg;
};

int reply_msg(struct request *req, const struct proto_msg *m);
int reply_error(struct request *req, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int reply_grant(struct request *req, const struct jit_grant *g, const char *message);
/* The database failed: -EBUSY (not answered: dispatch retries) when it was
 * busy, else an error reply saying nothing changed, and HANDLED. */
int reply_store_failure(struct request *req, int r, const char *what);

/* Answers for a held connection; each releases it. A connection that went
 * away meanwhile is no error. */
void later_reply_msg(struct jitd *d, uint64_t serial, const struct proto_msg *m);
void later_reply_error(struct jitd *d, uint64_t serial, int err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
void later_reply_grant(struct jitd *d, uint64_t serial, const struct jit_grant *g, const char *message);
/* A grant reply for g with message, to add fields to before sending. */
int grant_msg(struct proto_msg *m, const struct jit_grant *g, const char *message);
/* Hold the request's connection for a later answer; its serial. */
uint64_t request_hold(struct request *req);

struct actor request_actor(const struct request *req);
/* Each of these replies itself (an error) when it returns false. */
bool request_get_id(struct request *req, int64_t *ret);
/* Does the request name a fleet grant (PF_FLEET_ID, jitctl's "F12") rather
 * than a grant of this host (PF_ID)? 1 with *ret, 0 when it does not, -1
 * after replying (out of range, both given, or no [fleet] here). */
int request_fleet_ref(struct request *req, int64_t *ret);
/* Only grants the peer may see: others are "no grant N". A read failure
 * replies too, except -EBUSY, which is returned through *ret_err. */
bool request_load_grant(struct request *req, int64_t id, struct jit_grant *ret, int *ret_err);
bool request_pam_subject(struct request *req, const char **ret_user, const char **ret_service);
/* Approvers and admins see every grant. */
bool request_may_see_all(const struct request *req);

#endif
