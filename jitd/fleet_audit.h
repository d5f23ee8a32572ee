/* SPDX-License-Identifier: BSD-3-Clause */
/* audit and audit verify with [fleet] (fleet_audit.c). */
#ifndef JITD_FLEET_AUDIT_H
#define JITD_FLEET_AUDIT_H

#include <stdint.h>

#include <json-c/json.h>

#include "request.h"

/* The fleet's audit events (since: event time at or after, 0 any;
 * fleet_grant: its events only, 0 any; pattern: --host, or NULL), a page
 * at a time as the client reads. The database unreachable at the start:
 * this host's trail (audit_local_stream) after a line saying so. */
int fleet_audit_stream(struct request *req, int64_t since, int64_t fleet_grant, const char *pattern);

/* The answer to audit verify as a document (json_reply.h):
 *
 *   {"local": {"intact": true, "events": N[, "recordings": {"checked", "bad", "message"}]} |
 *             {"intact": false, "bad_seq": N, "why": "..."},
 *    "fleet": null (no [fleet]) |
 *             {"hosts": [{"host", "events", "first_at", "last_at", "intact", "bad_seq", "why",
 *                         "keyed_from", "keyed_events"}, ...],
 *              "pattern": "..." (with --host), "error": "..." (the fleet part is incomplete)}}
 *
 * local (taken) is this host's own chain, verified by the caller. Each
 * host of the fleet (jit.hosts, those pattern matches) is checked from the
 * fleet copy: events, first and last event time, intact or its first bad
 * event and why; keyed_from: where its current HMAC-keyed segment starts
 * (those events are checked link by link only: the key is not here). */
int fleet_audit_verify(struct request *req, json_object *local, const char *pattern);
/* The same for a request already held (record_verify.c: after the
 * recordings were hashed again); answers through later_reply_*. */
void fleet_audit_verify_later(struct jitd *d, uint64_t serial, json_object *local, const char *pattern);

#endif
