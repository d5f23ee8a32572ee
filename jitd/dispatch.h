/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every request jitd accepts, who may send it and who serves it, in one table
 * (OpenSSH monitor style). A type missing here is refused. Before the handler
 * runs: the request type, the per-user rate, root-only access, the peer's
 * name through NSS (a failure refuses), admin access. A handler that finds
 * the database busy (and changed nothing) is run again from a timer, with
 * backoff, for at most its table entry's wait; then the request is refused.
 */
#ifndef JITD_DISPATCH_H
#define JITD_DISPATCH_H

#include "jitd.h"
#include "proto.h"

struct conn;

/* conn_request_fn for the connections (userdata: struct jitd). */
void dispatch(void *userdata, struct conn *c, const struct proto_msg *m);
/* Drop every parked request (shutdown). */
void dispatch_free_parked(struct jitd *d);

#endif
