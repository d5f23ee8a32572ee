/* SPDX-License-Identifier: BSD-3-Clause */
/* Who may do what under a role. Pure decisions over a config and a user; group
 * membership comes from NSS unless a test supplies its own. */
#ifndef JIT_POLICY_H
#define JIT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

/* A resolved user: name, uid, primary gid, and group names it is in. */
struct principal {
        char *name;
        uid_t uid;
        gid_t gid;
        char **groups;              /* group names, NULL-terminated */
};

/* Look the user up through NSS. -ENOENT when there is no such user; any
 * other NSS failure is an error (the caller denies). With a config, groups
 * holds only the groups it names (%group entries, admin_group) that the user
 * is in, each asked of NSS by name: all any decision needs, at a fraction of
 * the cost. Without one (NULL), every group of the user. */
int principal_from_uid(const struct config *c, uid_t uid, struct principal **ret);
int principal_from_name(const struct config *c, const char *name, struct principal **ret);
void principal_free(struct principal *p);
/* A deep copy; -ENOMEM. */
int principal_copy(const struct principal *p, struct principal **ret);

/* Does p match a list of "user" and "%group" entries? */
bool policy_list_matches(char *const *list, const struct principal *p);
/* Does host match one of the role's glob patterns (fnmatch)? */
bool policy_host_matches(const struct role *r, const char *host);
/* Does the role gate this PAM service? (common/gating.c: sudo's names count
 * as one.) */
bool policy_service_matches(const struct role *r, const char *service);

/* May p request role r on host? false with a one-line reason in why
 * ("not a member", "role does not apply to host web01"). */
bool policy_eligible(const struct role *r, const struct principal *p, const char *host,
                     char *why, size_t why_size);
/* Is the ticket acceptable for the role? why: "ticket required", "ticket does
 * not match ^(CHG|INC)[0-9]+$", "role takes no ticket". */
bool policy_ticket_ok(const struct role *r, const char *ticket, char *why, size_t why_size);
/* Resolve the requested duration: 0 means the role's default. -ERANGE with why
 * when it exceeds max_duration. */
int policy_duration(const struct role *r, uint64_t requested, uint64_t *ret, char *why, size_t why_size);
/* Is the host pattern within role r's hosts patterns: does every host name it
 * could match match one of them? Decided conservatively: the same pattern, a
 * literal name a pattern matches, or a pattern whose literal prefix (up to its
 * first * ? [) starts with the literal prefix of a role pattern that is that
 * prefix and one final '*' ("web-0*" within "web-*"). A role without hosts
 * takes any pattern. false with why otherwise. */
bool policy_scope_within(const struct role *r, const char *pattern, char *why, size_t why_size);
/* Does host name pattern (as a role's hosts patterns: fnmatch, case
 * folded) match host? jitctl's --host PATTERN with [fleet]. */
bool policy_pattern_matches(const char *pattern, const char *host);
/* May p approve role r's grants (p is not the requester: the caller checks that)? */
bool policy_is_approver(const struct role *r, const struct principal *p);

/* Whether one more extension of duration seconds fits role r's limits, for a
 * grant active from starts_at until expires_at that was extended `extended`
 * times before. Without max_extensions a grant never lasts past max_duration
 * from its activation; with it, up to that many extensions of at most
 * max_duration each. One rule for a local grant (jitd's extend), the host
 * asked for a fleet grant's extension, and every host that applies one. */
enum extension_limit {
        EXTENSION_WITHIN,
        EXTENSION_PAST_MAX_DURATION,    /* no max_extensions: past max_duration from starts_at */
        EXTENSION_TOO_MANY,             /* max_extensions reached */
        EXTENSION_TOO_LONG,             /* one extension adds more than max_duration */
};
enum extension_limit policy_extension_limit(const struct role *r, int64_t starts_at, int64_t expires_at,
                                            unsigned extended, uint64_t duration);
/* Is p an approver of any role (sees every grant)? */
bool policy_is_any_approver(const struct config *c, const struct principal *p);
/* root, or member of [jitd] admin_group. */
bool policy_is_admin(const struct config *c, const struct principal *p);
/* May p use break-glass for role r? */
bool policy_break_glass_ok(const struct role *r, const struct principal *p);

/* Does any role cover (p, service, host): p eligible (or on its break_glass
 * list), host and service match?
 * Used for the PAM decision: not covered -> ignore. */
bool policy_covers(const struct config *c, const struct principal *p, const char *service,
                   const char *host);

#endif
