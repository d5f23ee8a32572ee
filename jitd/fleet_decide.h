/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Whether a fleet grant is enforced on this host: a pure decision over the
 * grant's fields as the fleet database holds them, this host's jitd.conf, the
 * user and approvers as NSS resolved them, and what each approval's signature
 * verification said. No I/O, no clock: jitd/fleet_mirror.c gathers the inputs
 * (NSS, ssh-keygen -Y verify) and acts on the verdict; the unit test
 * tests/unit/check_fleet_decide.c covers each rule.
 *
 * The database cannot give more than local policy (doc/FLEET.md): a grant is
 * enforced here only when its host scope matches this host, the local role
 * exists and applies to this host, the user is a member of it here, the
 * duration is within its local maximum, the ticket fits it, and the LOCAL
 * role's approval path says yes here:
 *   peer: enough distinct approvers whom the local role names (never the
 *         requester) signed the grant's canonical text with a key this
 *         host's allowed_signers lists;
 *   ticket (alone, or with auto): this host's own lookup of the ticket
 *         finds it approved (FLEET_TICKET: the lookup is the caller's);
 *   ticket and peer: the peer rules first (FLEET_VERIFY, a refusal while
 *         too few signatures count), then, once they are met, this host's
 *         own lookup (FLEET_TICKET with the approvers counted);
 *   auto (alone): local policy approves it at once.
 *
 * fleet_decide_extension judges one extension of a grant enforced here.
 */
#ifndef JITD_FLEET_DECIDE_H
#define JITD_FLEET_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "policy.h"
#include "util.h"

/* Approvals of one grant looked at; more are ignored (a role asks for a few). */
#define FLEET_APPROVALS_MAX 16

/* A verification's outcome, as fleet_approval.verified holds it. */
enum fleet_sig {
        FLEET_SIG_UNKNOWN = 0,          /* not verified yet */
        FLEET_SIG_GOOD,                 /* ssh-keygen said Good for this approver and text */
        FLEET_SIG_BAD,                  /* anything else: a deny */
};

struct fleet_approval {
        const char *approver;
        const char *signature;          /* armored SSHSIG */
        int64_t approved_at;            /* unix seconds, the database's clock */
        const struct principal *who;    /* the approver through NSS; NULL: no such user here */
        enum fleet_sig verified;
};

struct fleet_grant {
        int64_t id;                     /* jit.grants.id */
        const char *user, *role, *ticket;
        char *const *scope;             /* host patterns, NULL-terminated */
        uint64_t duration;              /* seconds */
        int64_t requested_at;           /* unix seconds */
        bool break_glass;
        const struct principal *who;    /* the user through NSS; NULL: no such user here */
        struct fleet_approval *approvals;
        size_t n_approvals;
};

enum fleet_verdict_kind {
        FLEET_NOT_HERE,                 /* its scope does not name this host: nothing to say */
        FLEET_WAIT,                     /* no approval yet: nothing to say */
        FLEET_VERIFY,                   /* approvals[verify] must be verified first */
        FLEET_REFUSE,                   /* not enforced here: why says why (audited once) */
        FLEET_APPLY,                    /* enforce it, with approvers and ends_at (auto: none) */
        FLEET_TICKET,                   /* enforce it once this host's own lookup finds its
                                         * ticket approved, ending at ends_at at the latest
                                         * (ticket and peer: with approvers, the peers counted) */
};

struct fleet_verdict {
        enum fleet_verdict_kind kind;
        char why[256];                  /* FLEET_REFUSE */
        size_t verify;                  /* FLEET_VERIFY: the approval to verify next */
        /* FLEET_APPLY, FLEET_TICKET: the approvals counted, comma-separated
         * (none for ticket alone and auto), and how many. */
        char approvers[JIT_LIST_MAX + 1];
        unsigned approvals;
        /* FLEET_APPLY, FLEET_TICKET: when the grant ends everywhere, its
         * duration after the approval that completed it (peer, and ticket
         * with peer) or after its request (ticket alone, auto): a time
         * every host shares, so that a host that learns of it, or hears
         * from the ticket system, late does not give it longer. */
        int64_t ends_at;
};

/* Extension n of a fleet grant (jit.extensions), with its approvals. */
struct fleet_extension {
        int64_t n;
        uint64_t duration;              /* seconds it adds */
        int64_t requested_at;           /* unix seconds */
        struct fleet_approval *approvals;
        size_t n_approvals;
};

/* This host's copy of the grant, as its store holds it. */
struct fleet_copy {
        bool active;
        int64_t starts_at, expires_at;
        unsigned extended;              /* extensions applied to it so far */
};

enum fleet_ext_kind {
        FLEET_EXT_WAIT,                 /* not yet (not signed enough, copy not active): why may say */
        FLEET_EXT_VERIFY,               /* approvals[verify] must be verified first */
        FLEET_EXT_REFUSE,               /* never here: why says why (audited once) */
        FLEET_EXT_APPLY,                /* add its duration to the copy */
};

struct fleet_ext_verdict {
        enum fleet_ext_kind kind;
        char why[256];
        size_t verify;
        char approvers[JIT_LIST_MAX + 1]; /* FLEET_EXT_APPLY of a peer role: the approvals counted */
        unsigned approvals;
};

/* Does one of the scope's patterns (fnmatch) match host? */
bool fleet_scope_matches(char *const *scope, const char *host);

/* The verdict on g for host under c at now. allowed_signers false: no
 * approval can verify here (refused, saying so). c->ticket says whether this
 * host has a ticket system to look tickets up in. Returns 0 with *ret set,
 * -EINVAL for a malformed g. */
int fleet_decide(const struct config *c, const char *host, bool allowed_signers, const struct fleet_grant *g,
                 int64_t now, struct fleet_verdict *ret);

/* The verdict on extension x of g, which this host enforces as copy: the
 * LOCAL role's limits (max_extensions, max_duration, as handle_extend) and
 * approval path (peer: signatures over the extension's text by approvers it
 * names, never the grant's user; ticket or auto: the active copy is enough).
 * The caller asks for each extension not applied yet, in the order of n, and
 * counts in copy->extended those applied before. 0 with *ret set, -EINVAL
 * for malformed input. */
int fleet_decide_extension(const struct config *c, bool allowed_signers, const struct fleet_grant *g,
                           const struct fleet_extension *x, const struct fleet_copy *copy,
                           struct fleet_ext_verdict *ret);

#endif
