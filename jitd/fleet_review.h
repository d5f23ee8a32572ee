/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * review (the listing, no id) with [fleet] (fleet_review.c): this host's
 * break-glass grants awaiting review, then those of the fleet's OTHER hosts,
 * as their uploaded audit says (doc/FLEET.md, Break-glass): a "break-glass"
 * event with no "reviewed" event for the same (host, host_grant). Read-only:
 * a review is made on the grant's own host, where the grant is.
 *
 * Each of the fleet's is one ok {message, details} after the local grants:
 * the line a person reads and, as details, the object review --json --fleet
 * prints (man/jitctl.1, FLEET_REVIEW):
 *
 *   {"host": "web-01", "grant": 7, "user": "alice", "uid": 1001,
 *    "role": "web-admin", "reason": "pager", "duration": 1800,
 *    "used_at": "2026-11-23T14:05:00Z", "review": "pending"}
 *
 * Lines that are no grant: {"error": WHY} when the fleet part is missing
 * (the database unreachable, or gone before it answered), {"more": true}
 * when more than FLEET_REVIEW_MAX wait, and a line without details when none
 * does.
 */
#ifndef JITD_FLEET_REVIEW_H
#define JITD_FLEET_REVIEW_H

#include <stdint.h>

#include "request.h"

#define FLEET_REVIEW_MAX 200

struct store_filter;

/* The local listing of f (break-glass grants awaiting review), then the
 * fleet's, read with one statement through the link. */
int fleet_review_list(struct request *req, const struct store_filter *f);

/* One pending review of another host, from its uploaded "break-glass"
 * event: host, the host's grant id, the actor (user) and uid, the event's
 * time (RFC 3339 UTC) and details (its JSON text: role, reason, duration;
 * anything else, or a field missing, shows as "?" or 0). The line in
 * *ret_line, the object's JSON text in *ret_details. 0 or -ENOMEM. */
int fleet_review_entry(const char *host, int64_t grant, const char *user, int64_t uid, const char *used_at,
                       const char *details, char **ret_line, char **ret_details);

#endif
