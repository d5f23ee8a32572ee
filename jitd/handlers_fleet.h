/* SPDX-License-Identifier: BSD-3-Clause */
/* The verbs that write to the fleet through this jitd (handlers_fleet.c). */
#ifndef JITD_HANDLERS_FLEET_H
#define JITD_HANDLERS_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "request.h"

/* A host name pattern the fleet schema takes: 1..253 of letters, digits and
 * . * ? _ - [ ] (so never a comma). */
bool fleet_pattern_valid(const char *pattern);
/* The scope of a fleet request for role r: given (comma-separated patterns,
 * each within the role's hosts patterns) or, when NULL or empty, the role's
 * own patterns ("*" for a role without hosts), written to scope. 0, or
 * -EINVAL / -E2BIG / -EPERM (wider than the role allows) with why. */
int fleet_scope_check(const struct role *r, const char *given, char *scope, size_t size, char *why, size_t why_size);

/* request with [fleet]: the caller has checked the role, the peer's
 * eligibility, the ticket and the duration. */
int fleet_request(struct request *req, const struct principal *who, const struct role *r, uint64_t duration,
                  const char *ticket, const char *reason);
/* approve with a signature. */
int fleet_approve(struct request *req);
int handle_approval_text(struct request *req);
/* revoke of fleet grant id (admins; "F12", or the local id of its copy
 * here). The local grant, if it is enforced here, ends first; then
 * jit.end_grant, queued in the store until the database has it. */
int fleet_revoke(struct request *req, int64_t id);
/* release of fleet grant id, by the grant's own user ("F12", the local id
 * of its copy, or no id). The local copy, if enforced here, ends first; then
 * jit.end_grant (released), queued as for revoke. Not enforced here: the
 * grant's user is read from the database first (unreachable: refused). */
int fleet_release(struct request *req, int64_t id);
/* The end (kind: a static string, "denied", "cancelled"...) of fleet grant
 * id decided here, after this host's own end if any (here says what
 * happened on this host): queued in the store, then sent with
 * jit.end_grant; the answer goes to the held connection serial. */
void fleet_end_queue(struct jitd *d, uint64_t serial, int64_t id, const char *kind, const char *by,
                     const char *here, const char *reason);
/* deny F12 (an approver of the role in this host's jitd.conf, not its
 * requester) and cancel F12 (its user), of an open fleet grant not yet
 * approved as this host counts approvals (handlers_fleet_end.c). */
int fleet_deny(struct request *req, int64_t id);
int fleet_cancel(struct request *req, int64_t id);
/* show F12: the fleet grant, its approvals, its end and what each host did
 * with it (handlers_fleet_show.c). */
int fleet_show(struct request *req, int64_t id);
/* list with [fleet]: the local listing of f, then the fleet's open grants
 * (f's user and role; pattern: --host, or NULL) read through the link, one
 * line each (handlers_fleet_list.c); the database unreachable: one line
 * saying the fleet part is unavailable. */
struct store_filter;
int fleet_list(struct request *req, const struct store_filter *f, const char *pattern);
/* extend of fleet grant id by its own user ("F12", or the local id of its
 * copy): this host's checks, then jit.request_extension; each host in the
 * scope adds it as its own policy says (handlers_fleet_extend.c). */
int fleet_extend(struct request *req, int64_t id);
/* revoke --user NAME --all (admins): every open grant of the user here (the
 * ending path), then, with [fleet], every open fleet grant of the user in
 * one statement. */
int revoke_user_all(struct request *req);

#endif
