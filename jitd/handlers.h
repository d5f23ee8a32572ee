/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The request handlers, one file per audience: the PAM module
 * (handlers_pam.c), users (handlers_user.c), approvers and admins
 * (handlers_admin.c). dispatch.c has checked the coarse access level and
 * resolved the peer; each handler validates its own fields, decides the fine
 * access (own grant, approver of that grant's role), changes grants only
 * through grants.h, and answers as request.h says.
 */
#ifndef JITD_HANDLERS_H
#define JITD_HANDLERS_H

#include "request.h"
#include "store.h"

/* handlers_pam.c */
int handle_check(struct request *req);
int handle_session_open(struct request *req);
int handle_session_close(struct request *req);
int handle_request_for(struct request *req);

/* handlers_user.c */
int handle_ping(struct request *req);
int handle_request(struct request *req);
int handle_cancel(struct request *req);
int handle_release(struct request *req);
int handle_list(struct request *req);
int handle_show(struct request *req);
int handle_extend(struct request *req);
int handle_break_glass(struct request *req);

/* handlers_admin.c */
int handle_approve(struct request *req);
int handle_deny(struct request *req);
int handle_revoke(struct request *req);
int handle_review(struct request *req);
int handle_audit(struct request *req);
int handle_audit_verify(struct request *req);
int handle_reload(struct request *req);
int handle_report(struct request *req);

/* A request for an elevation, from the user (request) or from pam_jit's
 * prompt in the user's name (request-for); shared by both. */
struct new_request {
        const struct principal *who;
        const char *role_name, *ticket, *reason;
        const char *service;            /* request-for: the role must gate it */
        int reply_wait_ms;              /* how long the reply may wait for the ticket system */
};
int request_grant(struct request *req, const struct new_request *nr);
/* A listing of grants matching f, streamed a page at a time; only_reviews:
 * break-glass grants whose review is pending. */
int list_stream_start(struct request *req, const struct store_filter *f, bool only_reviews);
/* Lines after a listing's grants: an ok {message, details when not NULL}
 * each (the fleet's grants, handlers_fleet_list.c). */
struct list_tail {
        char *message;
        char *details;
};
void list_tail_free(struct list_tail *tail, size_t n);
/* A listing of f (none when no_local), then each of tail (taken, freed),
 * before the end. */
int list_stream_start_full(struct request *req, const struct store_filter *f, bool no_local, struct list_tail *tail,
                           size_t n_tail);
/* review's listing (break-glass grants awaiting review), then each of tail
 * (taken, freed: the fleet's, fleet_review.c), before the end. */
int list_stream_start_reviews(struct request *req, const struct store_filter *f, struct list_tail *tail, size_t n_tail);

#endif
