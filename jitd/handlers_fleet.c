/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The jitctl verbs that write to the fleet (doc/FLEET.md), through this
 * host's jitd: the host's database credentials are root's, users never
 * reach PostgreSQL. Each checks this host's policy first, then sends one
 * parameterised statement through the mirror's link (fleet_mirror_query),
 * and answers only once PostgreSQL has answered, that is after the commit.
 *
 *   request (with [fleet]): a fleet grant for a scope within the role's
 *     hosts patterns (default: those patterns), jit.request_grant; approved
 *     by peers (signatures), by the ticket (each host's own lookup), by both
 *     (the signatures, then each host's lookup) or by each host's auto
 *     policy, as the role says there;
 *   approval-text: a fleet grant's fields, for the approver's jitctl to
 *     render the canonical text and sign it (jitd never signs);
 *   approve with a signature: the grant read again from the database, the
 *     text rendered here, the signature verified against [fleet]
 *     allowed_signers (ssh-keygen from the loop) before jit.approve_grant, so
 *     a bad signature never reaches the database.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <json-c/json.h>

#include "approval_text.h"
#include "conn.h"
#include "duration.h"
#include "fleet_mirror.h"
#include "fleet_upload.h"
#include "grants.h"
#include "handlers.h"
#include "handlers_fleet.h"
#include "log.h"
#include "sshsig_verify.h"
#include "store.h"
#include "ticketflow.h"

#define UNREACHABLE "the fleet database is unreachable; nothing was %s"

/* A member may ask at most FLEET_REQUESTS_PER_10MIN times in ten minutes
 * (counted over the fleet: the database never says a grant expired, so open
 * ones cannot be counted): no row when over it. */
#define FLEET_REQUESTS_PER_10MIN 8
static const char request_sql[] =
        "SELECT jit.request_grant($1, $2, $3, pg_catalog.string_to_array($4, ','), $5::integer, $6, $7, false) "
        "WHERE (SELECT pg_catalog.count(*) FROM jit.grants g WHERE g.user_name = $2 "
        "       AND g.requested_at > pg_catalog.now() - interval '10 minutes') < $8::integer";
static const char grant_sql[] =
        "SELECT g.id, g.user_name, g.role, pg_catalog.array_to_string(g.host_scope, ','), g.duration, g.ticket, "
        "pg_catalog.floor(pg_catalog.date_part('epoch', g.requested_at))::bigint, g.state, "
        "(SELECT pg_catalog.count(*) FROM jit.approvals a WHERE a.grant_id = g.id), "
        "x.n, x.duration, pg_catalog.floor(pg_catalog.date_part('epoch', x.requested_at))::bigint, "
        "(SELECT pg_catalog.string_agg(ea.approver, ',') FROM jit.extension_approvals ea "
        " WHERE ea.grant_id = x.grant_id AND ea.n = x.n) "
        "FROM jit.grants g LEFT JOIN LATERAL (SELECT * FROM jit.extensions e WHERE e.grant_id = g.id "
        "                                     ORDER BY e.n DESC LIMIT 1) x ON true "
        "WHERE g.id = $1::bigint";
static const char approve_sql[] = "SELECT jit.approve_grant($1, $2::bigint, $3, $4, $5)";
static const char approve_ext_sql[] = "SELECT jit.approve_extension($1, $2::bigint, $3::integer, $4, $5, $6)";

bool fleet_pattern_valid(const char *p)
{
        size_t n = p ? strlen(p) : 0;

        if (n == 0 || n > 253)
                return false;
        return strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.*?_-[]") == n;
}

int fleet_scope_check(const struct role *r, const char *given, char *scope, size_t size, char *why, size_t why_size)
{
        size_t used = 0;

        if (!given || !given[0]) {
                /* The role's own patterns; a role for every host: "*". */
                if (!r->hosts)
                        given = "*";
                else {
                        for (char **h = r->hosts; *h; h++) {
                                int k = snprintf(scope + used, size - used, "%s%s", used ? "," : "", *h);

                                if (k < 0 || (size_t) k >= size - used || !fleet_pattern_valid(*h)) {
                                        snprintf(why, why_size, "role %s: its hosts patterns cannot be a fleet scope",
                                                 r->name);
                                        return -EINVAL;
                                }
                                used += (size_t) k;
                        }
                        return 0;
                }
        }
        if ((size_t) snprintf(scope, size, "%s", given) >= size) {
                snprintf(why, why_size, "host scope too long");
                return -E2BIG;
        }
        for (char *p = scope, *next; p; p = next) {
                next = strchr(p, ',');
                if (next)
                        *next = '\0';
                if (!fleet_pattern_valid(p)) {
                        snprintf(why, why_size, "'%.64s' is not a host name pattern", p);
                        return -EINVAL;
                }
                if (!policy_scope_within(r, p, why, why_size))
                        return -EPERM;
                if (next)
                        *next++ = ',';
        }
        return 0;
}

/* ---- request ------------------------------------------------------------ */

struct fleet_req {
        struct jitd *d;
        uint64_t serial;
        unsigned approval;              /* the role's here: what the answer says comes next */
        struct jit_grant g;
        char scope[JIT_HOST_MAX + 1];
};

static void on_requested(int r, const PGresult *res, const char *why, void *userdata)
{
        struct fleet_req *f = userdata;
        char msg[1400], dbuf[32];
        char *end;
        long long id;

        if (r == -ECANCELED)
                goto out;
        if (r == -ECONNRESET) {
                later_reply_error(f->d, f->serial, EIO, "the fleet database went away before it answered; the "
                                  "request may or may not be recorded: see jitctl list before asking again");
                goto out;
        }
        if (r < 0) {
                later_reply_error(f->d, f->serial, EIO, "the fleet database refused the request: %s",
                                  why ? why : strerror(-r));
                goto out;
        }
        if (PQntuples(res) == 0) {
                later_reply_error(f->d, f->serial, EAGAIN, "%s asked for %d fleet grants in the last 10 minutes "
                                  "already; nothing was requested", f->g.user, FLEET_REQUESTS_PER_10MIN);
                goto out;
        }
        errno = 0;
        id = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), &end, 10) : 0;
        if (id <= 0 || errno) {
                later_reply_error(f->d, f->serial, EIO, "the fleet database answered without a grant id");
                goto out;
        }
        f->g.fleet_id = id;             /* a fleet grant: no local id */
        f->g.state = GRANT_PENDING;
        f->g.requested_at = now_realtime();
        duration_format(f->g.duration, dbuf, sizeof(dbuf));
        if ((f->approval & APPROVAL_TICKET) && (f->approval & APPROVAL_PEER))
                snprintf(msg, sizeof(msg), "fleet grant F%lld for %s on hosts %s for %s is pending: needs %u approval%s "
                         "(jitctl approve F%lld on a host where the approver may approve) and each host in its scope "
                         "enforces it once its own lookup finds ticket %s approved; it ends %s after the approval "
                         "that completes it at the latest (jitctl list shows where)", id, f->g.role, f->scope, dbuf,
                         f->g.approvals_needed, f->g.approvals_needed == 1 ? "" : "s", id, f->g.ticket, dbuf);
        else if (f->approval & APPROVAL_TICKET)
                snprintf(msg, sizeof(msg), "fleet grant F%lld for %s on hosts %s for %s is pending: each host in its "
                         "scope enforces it once its own lookup finds ticket %s approved; it ends %s after this request "
                         "at the latest (jitctl list shows where)", id, f->g.role, f->scope, dbuf, f->g.ticket, dbuf);
        else if (f->approval == APPROVAL_AUTO)
                snprintf(msg, sizeof(msg), "fleet grant F%lld for %s on hosts %s for %s is requested: each host in its "
                         "scope whose own policy approves role %s automatically enforces it at once (jitctl list "
                         "shows where)", id, f->g.role, f->scope, dbuf, f->g.role);
        else
                snprintf(msg, sizeof(msg), "fleet grant F%lld for %s on hosts %s for %s is pending: needs %u approval%s "
                         "(jitctl approve F%lld on a host where the approver may approve)", id, f->g.role, f->scope,
                         dbuf, f->g.approvals_needed, f->g.approvals_needed == 1 ? "" : "s", id);
        log_msg(LOG_NOTICE, "fleet grant F%lld requested by %s for role %s on hosts %s", id, f->g.user, f->g.role,
                f->scope);
        later_reply_grant(f->d, f->serial, &f->g, msg);
out:
        free(f);
}

int fleet_request(struct request *req, const struct principal *who, const struct role *r, uint64_t duration,
                  const char *ticket, const char *reason)
{
        struct jitd *d = req->d;
        const char *given = proto_get_str(req->msg, PF_HOST);
        char why[256] = "", dur[32], cap[16];
        struct fleet_req *f;
        const char *params[8];
        int ret;

        /* Each host approves by its own role: peers' signatures, its own
         * lookup of the ticket (with peer too: both), or its own auto
         * policy. Whatever rests on the ticket needs one. */
        if ((r->approval & APPROVAL_TICKET) && (!ticket || !ticket[0]))
                return reply_error(req, EINVAL, "role %s is approved through its ticket: give one with -t TICKET",
                                   r->name), HANDLED;
        if (duration > INT32_MAX)
                return reply_error(req, EINVAL, "duration out of range"), HANDLED;
        f = calloc(1, sizeof(*f));
        if (!f)
                return reply_error(req, ENOMEM, "out of memory"), HANDLED;
        /* At most a host field's length: the scope travels in one (here and
         * in approval-text's answer). */
        ret = fleet_scope_check(r, given, f->scope, sizeof(f->g.host), why, sizeof(why));
        if (ret < 0) {
                free(f);
                return reply_error(req, -ret, "%s; nothing was requested", why), HANDLED;
        }
        f->d = d;
        strcpy_checked(f->g.user, sizeof(f->g.user), who->name);
        f->g.uid = who->uid;
        strcpy_checked(f->g.host, sizeof(f->g.host), f->scope);
        strcpy_checked(f->g.role, sizeof(f->g.role), r->name);
        strcpy_checked(f->g.ticket, sizeof(f->g.ticket), ticket ? ticket : "");
        strcpy_checked(f->g.reason, sizeof(f->g.reason), reason ? reason : "");
        f->g.duration = duration;
        f->g.approvals_needed = r->approval & APPROVAL_PEER ? r->approvals : 0;
        f->approval = r->approval;
        approval_format(r->approval, f->g.approval, sizeof(f->g.approval));
        snprintf(dur, sizeof(dur), "%" PRIu64, duration);
        params[0] = d->config->host;
        params[1] = who->name;
        params[2] = r->name;
        params[3] = f->scope;
        params[4] = dur;
        params[5] = ticket ? ticket : "";
        params[6] = reason ? reason : "";
        snprintf(cap, sizeof(cap), "%d", FLEET_REQUESTS_PER_10MIN);
        params[7] = cap;
        ret = fleet_mirror_query(d->fleet, request_sql, 8, params, on_requested, f);
        if (ret < 0) {
                free(f);
                if (ret == -ENOTCONN)
                        return reply_error(req, EHOSTUNREACH, UNREACHABLE, "requested"), HANDLED;
                return reply_error(req, -ret, "cannot ask the fleet database: %s; nothing was requested",
                                   strerror(-ret)), HANDLED;
        }
        f->serial = request_hold(req);
        return HANDLED_LATER;
}

/* ---- approval text and approve ------------------------------------------ */

struct fleet_appr {
        struct jitd *d;
        uint64_t serial;
        struct principal *peer;
        bool approve;                   /* else: approval-text */
        unsigned approval;              /* the role's here: what the answer says comes next */
        char *signature, *note;
        char id[24];
        struct jit_grant g;
        char **scope;
        int64_t requested;
        struct sshsig_job *job;
        uint64_t ext_asked;             /* approve: the extension jitctl signed (PF_EXTENSION), 0: the grant */
        bool ext;                       /* what waits for this approver is extension x */
        struct extension_fields x;
};

static void appr_free(struct fleet_appr *a)
{
        if (!a)
                return;
        sshsig_job_cancel(a->job);
        principal_free(a->peer);
        free(a->signature);
        free(a->note);
        strv_free(a->scope);
        free(a);
}

static void appr_fail(struct fleet_appr *a, int r, const char *why, const char *what)
{
        if (r == -ECANCELED)
                return;
        if (r == -ECONNRESET || r == -ENOTCONN)
                later_reply_error(a->d, a->serial, EHOSTUNREACH, UNREACHABLE, what);
        else
                later_reply_error(a->d, a->serial, r == -EIO ? EIO : -r, "the fleet database refused it: %s; "
                                  "nothing was %s", why ? why : strerror(-r), what);
}

static void on_approved(int r, const PGresult *res, const char *why, void *userdata)
{
        struct fleet_appr *a = userdata;
        char msg[768];

        (void) res;
        if (r == -ECONNRESET) {
                /* Sent, perhaps committed, and the answer lost with the
                 * connection: not "nothing was approved". */
                later_reply_error(a->d, a->serial, EIO, "the fleet database went away before it answered; the "
                                  "approval may or may not be recorded: see jitctl list before approving again");
                goto out;
        }
        if (r < 0) {
                appr_fail(a, r, why, "approved");
                goto out;
        }
        if (a->ext) {
                snprintf(msg, sizeof(msg), "extension %" PRId64 " of fleet grant F%s approved by %s: each host in "
                         "its scope (%s) adds it once it verifies the signatures", a->x.n, a->id, a->peer->name,
                         a->g.host);
                log_msg(LOG_NOTICE, "fleet grant F%s of %s for role %s: extension %" PRId64 " approved by %s "
                        "(signature verified here)", a->id, a->g.user, a->g.role, a->x.n, a->peer->name);
        } else {
                if (a->approval & APPROVAL_TICKET)
                        snprintf(msg, sizeof(msg), "fleet grant F%s approved by %s: each host in its scope (%s) "
                                 "enforces it once it verifies the signatures it needs and its own lookup finds "
                                 "ticket %s approved", a->id, a->peer->name, a->g.host, a->g.ticket);
                else
                        snprintf(msg, sizeof(msg), "fleet grant F%s approved by %s: each host in its scope (%s) "
                                 "enforces it once it verifies the signature", a->id, a->peer->name, a->g.host);
                log_msg(LOG_NOTICE, "fleet grant F%s of %s for role %s approved by %s (signature verified here)",
                        a->id, a->g.user, a->g.role, a->peer->name);
        }
        a->g.state = GRANT_PENDING;
        a->g.fleet_id = a->g.id;
        a->g.id = 0;
        later_reply_grant(a->d, a->serial, &a->g, msg);
out:
        appr_free(a);
}

static void on_verified(int r, const struct sshsig_result *res, void *userdata)
{
        struct fleet_appr *a = userdata;
        const char *params[6];
        char n[24];
        int k;

        sshsig_job_cancel(a->job);
        a->job = NULL;
        if (r < 0) {
                later_reply_error(a->d, a->serial, EPERM, "the signature does not verify for %s against [fleet] "
                                  "allowed_signers: %s; nothing was approved", a->peer->name,
                                  res && res->detail[0] ? res->detail : strerror(-r));
                appr_free(a);
                return;
        }
        params[0] = a->d->config->host;
        params[1] = a->id;
        if (a->ext) {
                snprintf(n, sizeof(n), "%" PRId64, a->x.n);
                params[2] = n;
                params[3] = a->peer->name;
                params[4] = a->signature;
                params[5] = a->note ? a->note : "";
                k = fleet_mirror_query(a->d->fleet, approve_ext_sql, 6, params, on_approved, a);
        } else {
                params[2] = a->peer->name;
                params[3] = a->signature;
                params[4] = a->note ? a->note : "";
                k = fleet_mirror_query(a->d->fleet, approve_sql, 5, params, on_approved, a);
        }
        if (k < 0) {
                appr_fail(a, k, NULL, "approved");
                appr_free(a);
        }
}

static int split_scope(const char *s, char ***ret)
{
        size_t n = 1, i = 0;
        char **v, *copy, *save = NULL;

        for (const char *p = s; *p; p++)
                n += *p == ',';
        v = calloc(n + 1, sizeof(*v));
        copy = strdup(s);
        if (!v || !copy) {
                free(v);
                free(copy);
                return -ENOMEM;
        }
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                if (!(v[i++] = strdup(t))) {
                        free(copy);
                        strv_free(v);
                        return -ENOMEM;
                }
        free(copy);
        if (i == 0) {
                strv_free(v);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

/* Is name one of the comma-separated names in list? */
static bool csv_has(const char *list, const char *name)
{
        size_t n = strlen(name);

        for (const char *p = list; *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : p + strlen(p))
                if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
                        return true;
        return false;
}

/* approval-text of an extension: the grant's fields and the extension's. */
static void later_reply_ext_text(struct jitd *d, uint64_t serial, const struct jit_grant *g,
                                 const struct extension_fields *x)
{
        struct proto_msg m;

        if (grant_msg(&m, g, "the fields of the fleet grant extension's approval text") < 0 ||
            proto_set_u64(&m, PF_EXTENSION, (uint64_t) x->n) < 0 ||
            proto_set_u64(&m, PF_EXTENSION_ADDS, x->duration) < 0 ||
            proto_set_u64(&m, PF_EXTENSION_AT, (uint64_t) x->requested) < 0) {
                later_reply_error(d, serial, ENOMEM, "the answer does not fit");
                return;
        }
        later_reply_msg(d, serial, &m);
}

static void on_grant(int r, const PGresult *res, const char *why, void *userdata)
{
        struct fleet_appr *a = userdata;
        const struct config *c = a->d->config;
        const struct role *role;
        _cleanup_free_ char *text = NULL;
        const char *what = "approved";      /* approval-text is approve's first step */
        char *end;
        long long v;
        int k;

        if (r < 0) {
                appr_fail(a, r, why, what);
                goto out;
        }
        if (PQntuples(res) != 1) {
                later_reply_error(a->d, a->serial, ENOENT, "no fleet grant F%s", a->id);
                goto out;
        }
        a->g.id = strtoll(PQgetvalue(res, 0, 0), &end, 10);
        v = strtoll(PQgetvalue(res, 0, 4), &end, 10);
        a->requested = strtoll(PQgetvalue(res, 0, 6), &end, 10);
        if ((size_t) snprintf(a->g.user, sizeof(a->g.user), "%s", PQgetvalue(res, 0, 1)) >= sizeof(a->g.user) ||
            (size_t) snprintf(a->g.role, sizeof(a->g.role), "%s", PQgetvalue(res, 0, 2)) >= sizeof(a->g.role) ||
            (size_t) snprintf(a->g.host, sizeof(a->g.host), "%s", PQgetvalue(res, 0, 3)) >= sizeof(a->g.host) ||
            (size_t) snprintf(a->g.ticket, sizeof(a->g.ticket), "%s", PQgetvalue(res, 0, 5)) >= sizeof(a->g.ticket) ||
            v <= 0 || split_scope(a->g.host, &a->scope) < 0) {
                later_reply_error(a->d, a->serial, EBADMSG, "fleet grant F%s cannot be read", a->id);
                goto out;
        }
        a->g.duration = (uint64_t) v;
        a->g.requested_at = a->requested;
        if (strcmp(PQgetvalue(res, 0, 7), "open") != 0) {
                later_reply_error(a->d, a->serial, EALREADY, "fleet grant F%s has ended (%s)", a->id,
                                  PQgetvalue(res, 0, 7));
                goto out;
        }
        /* This host's policy: the role as this jitd.conf has it. */
        role = config_find_role(c, a->g.role);
        if (!role) {
                later_reply_error(a->d, a->serial, EPERM, "fleet grant F%s is for role %s, which host %s does not "
                                  "have: approve it on a host that does", a->id, a->g.role, c->host);
                goto out;
        }
        if (strcmp(a->g.user, a->peer->name) == 0) {
                later_reply_error(a->d, a->serial, EPERM, "fleet grant F%s is your own request: someone else must "
                                  "approve it", a->id);
                goto out;
        }
        if (!policy_is_approver(role, a->peer)) {
                later_reply_error(a->d, a->serial, EPERM, "%s is not an approver of role %s on host %s",
                                  a->peer->name, role->name, c->host);
                goto out;
        }
        a->g.approvals_needed = role->approvals;
        a->approval = role->approval;
        approval_format(role->approval, a->g.approval, sizeof(a->g.approval));
        a->g.state = GRANT_PENDING;
        /* An approved grant whose newest extension this approver has not
         * approved yet: that extension is what waits for them. */
        if (!PQgetisnull(res, 0, 9) && strtoll(PQgetvalue(res, 0, 8), &end, 10) >= (long long) role->approvals &&
            !csv_has(PQgetisnull(res, 0, 12) ? "" : PQgetvalue(res, 0, 12), a->peer->name)) {
                a->ext = true;
                a->x.n = strtoll(PQgetvalue(res, 0, 9), &end, 10);
                v = strtoll(PQgetvalue(res, 0, 10), &end, 10);
                a->x.requested = strtoll(PQgetvalue(res, 0, 11), &end, 10);
                if (a->x.n <= 0 || v <= 0 || a->x.requested <= 0) {
                        later_reply_error(a->d, a->serial, EBADMSG, "fleet grant F%s's extension cannot be read",
                                          a->id);
                        goto out;
                }
                a->x.duration = (uint64_t) v;
        }
        if (!a->approve) {
                struct jit_grant g = a->g;

                g.fleet_id = g.id;
                g.id = 0;
                if (a->ext)
                        later_reply_ext_text(a->d, a->serial, &g, &a->x);
                else
                        later_reply_grant(a->d, a->serial, &g, "the fields of the fleet grant's approval text");
                goto out;
        }
        /* What jitctl signed must be what waits: an extension asked for
         * since it read the fields is signed again. */
        if (a->ext_asked != (a->ext ? (uint64_t) a->x.n : 0)) {
                later_reply_error(a->d, a->serial, ESTALE, "what waits for %s's approval on fleet grant F%s changed "
                                  "since the text was signed (%s): run jitctl approve F%s again; nothing was approved",
                                  a->peer->name, a->id, a->ext ? "an extension was asked for" : "no extension waits",
                                  a->id);
                goto out;
        }
        if (!c->fleet.allowed_signers) {
                later_reply_error(a->d, a->serial, EOPNOTSUPP, "host %s has no [fleet] allowed_signers: it cannot "
                                  "check the signature; nothing was approved", c->host);
                goto out;
        }
        {
                struct approval_fields f = {
                        .grant = a->g.id, .user = a->g.user, .role = a->g.role, .hosts = a->scope,
                        .duration = a->g.duration, .ticket = a->g.ticket, .requested = a->requested,
                        .approver = a->peer->name,
                };

                k = a->ext ? extension_text(&f, &a->x, &text) : approval_text(&f, &text);
        }
        if (k >= 0)
                k = sshsig_verify_start(a->d->event, c->fleet.allowed_signers, a->peer->name, text, a->signature,
                                        on_verified, a, &a->job);
        if (k < 0) {
                later_reply_error(a->d, a->serial, EPERM, "the signature cannot be verified for %s: %s; nothing was "
                                  "approved", a->peer->name, strerror(-k));
                goto out;
        }
        return;                 /* on_verified */
out:
        appr_free(a);
}

static int fleet_fetch(struct request *req, bool approve)
{
        struct fleet_appr *a;
        const char *params[1];
        int64_t id;
        int r;

        r = request_fleet_ref(req, &id);
        if (r < 0)
                return HANDLED;         /* replied */
        if (r == 0)
                return reply_error(req, EINVAL, "a fleet grant's id is required (F12)"), HANDLED;
        a = calloc(1, sizeof(*a));
        if (!a)
                return reply_error(req, ENOMEM, "out of memory"), HANDLED;
        a->d = req->d;
        a->approve = approve;
        snprintf(a->id, sizeof(a->id), "%" PRId64, id);
        r = principal_copy(req->peer, &a->peer);
        if (r >= 0 && approve) {
                const char *sig = proto_get_str(req->msg, PF_SIGNATURE), *note = proto_get_str(req->msg, PF_NOTE);

                /* The armor's line breaks travel as '|' (no control byte
                 * passes the protocol); the armor ends in one. */
                if (!sig || asprintf(&a->signature, "%s|", sig) < 0)
                        r = sig ? -ENOMEM : -EINVAL;
                else
                        for (char *p = a->signature; *p; p++)
                                if (*p == '|')
                                        *p = '\n';
                if (r >= 0 && note && !(a->note = strdup(note)))
                        r = -ENOMEM;
                if (r >= 0)
                        (void) proto_get_u64(req->msg, PF_EXTENSION, &a->ext_asked);
        }
        if (r < 0) {
                appr_free(a);
                return reply_error(req, -r, "%s", r == -EINVAL ? "no signature" : strerror(-r)), HANDLED;
        }
        params[0] = a->id;
        r = fleet_mirror_query(req->d->fleet, grant_sql, 1, params, on_grant, a);
        if (r < 0) {
                appr_free(a);
                if (r == -ENOTCONN)
                        return reply_error(req, EHOSTUNREACH, UNREACHABLE, "approved"), HANDLED;
                return reply_error(req, -r, "cannot ask the fleet database: %s", strerror(-r)), HANDLED;
        }
        a->serial = request_hold(req);
        return HANDLED_LATER;
}

int handle_approval_text(struct request *req)
{
        return fleet_fetch(req, false);
}

int fleet_approve(struct request *req)
{
        return fleet_fetch(req, true);
}

/* ---- revoke ------------------------------------------------------------- */

static void end_reply(struct jitd *d, uint64_t serial, struct request *req, int64_t id, const char *msg)
{
        struct proto_msg m;

        proto_init(&m, PROTO_REP_OK);
        proto_set_u64(&m, PF_ID, (uint64_t) id);
        proto_set_str(&m, PF_MESSAGE, msg);
        if (req)
                reply_msg(req, &m);
        else
                later_reply_msg(d, serial, &m);
}

struct fleet_end_req {
        struct jitd *d;
        uint64_t serial;
        int64_t id;
        const char *kind;               /* revoked, released */
        char by[JIT_USER_MAX + 1];
        char here[160];                 /* what happened on this host */
};

static void on_ended(int r, const PGresult *res, const char *why, void *userdata)
{
        struct fleet_end_req *f = userdata;
        char msg[700];
        bool first = r == 0 && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;

        if (r == -ECANCELED)
                goto out;
        if (r == -ECONNRESET) {
                snprintf(msg, sizeof(msg), "fleet grant F%" PRId64 ": %s; the fleet database went away before it "
                         "answered: the fleet end stays queued here and is sent again when it is back", f->id,
                         f->here);
                end_reply(f->d, f->serial, NULL, f->id, msg);
                goto out;
        }
        if (r < 0) {
                later_reply_error(f->d, f->serial, r == -EIO ? EIO : -r, "fleet grant F%" PRId64 ": %s; the fleet "
                                  "database refused the end: %s", f->id, f->here, why ? why : strerror(-r));
                goto out;
        }
        if (first)
                snprintf(msg, sizeof(msg), "fleet grant F%" PRId64 " %s in the fleet: every host in its scope ends it: "
                         "%s", f->id, f->kind, f->here);
        else
                snprintf(msg, sizeof(msg), "fleet grant F%" PRId64 " had already ended in the fleet: %s", f->id,
                         f->here);
        log_msg(LOG_NOTICE, "fleet grant F%" PRId64 " %s by %s (%s)", f->id, f->kind, f->by,
                first ? "recorded" : "already ended");
        end_reply(f->d, f->serial, NULL, f->id, msg);
out:
        free(f);
}

/* The fleet's end of f->id, after this host's: queued in the store first,
 * so that it survives an outage and a restart, then sent. Replies now (req)
 * or later (f->serial, req NULL); f is taken. */
static int end_in_fleet(struct fleet_end_req *f, struct request *req, const char *reason)
{
        struct store_fleet_end e = { .fleet_id = f->id, .at = now_realtime() };
        char msg[512];
        int r;

        snprintf(e.kind, sizeof(e.kind), "%s", f->kind);
        snprintf(e.by, sizeof(e.by), "%s", f->by);
        snprintf(e.reason, sizeof(e.reason), "%s", reason);
        r = store_fleet_end_put(f->d->store, &e);
        if (r < 0) {
                snprintf(msg, sizeof(msg), "%s; queueing the fleet end", f->here);
                if (req) {
                        free(f);
                        return reply_store_failure(req, r, msg);
                }
                later_reply_error(f->d, f->serial, EIO, "fleet grant F%" PRId64 ": %s: %s; nothing was %s in the "
                                  "fleet", f->id, msg, strerror(-r), f->kind);
                free(f);
                return HANDLED;
        }
        r = fleet_mirror_end(f->d->fleet, &e, on_ended, f);
        if (r < 0) {
                snprintf(msg, sizeof(msg), "fleet grant F%" PRId64 ": %s; the fleet database is unreachable: the "
                         "fleet end is queued here and sent when it is back", f->id, f->here);
                end_reply(f->d, f->serial, req, f->id, msg);
                free(f);
                return HANDLED;
        }
        if (req)
                f->serial = request_hold(req);
        return HANDLED_LATER;
}

void fleet_end_queue(struct jitd *d, uint64_t serial, int64_t id, const char *kind, const char *by,
                     const char *here, const char *reason)
{
        struct fleet_end_req *f = calloc(1, sizeof(*f));

        if (!f) {
                later_reply_error(d, serial, ENOMEM, "out of memory; nothing was %s", kind);
                return;
        }
        f->d = d;
        f->serial = serial;
        f->id = id;
        f->kind = kind;
        snprintf(f->by, sizeof(f->by), "%s", by);
        snprintf(f->here, sizeof(f->here), "%s", here);
        (void) end_in_fleet(f, NULL, reason);
}

int fleet_revoke(struct request *req, int64_t id)
{
        struct jitd *d = req->d;
        const char *reason = proto_get_str(req->msg, PF_REASON);
        struct actor a = request_actor(req);
        struct fleet_end_req *f;
        struct jit_grant g;
        char text[JIT_REASON_MAX + 1], why[256] = "";
        struct fsm_event ev = { .type = FSM_REVOKE, .text = text };
        int64_t local = 0;
        int r;

        if (!reason || !reason[0] || !valid_text(reason, JIT_REASON_MAX))
                return reply_error(req, EINVAL, "a revocation needs a reason"), HANDLED;
        f = calloc(1, sizeof(*f));
        if (!f)
                return reply_error(req, ENOMEM, "out of memory"), HANDLED;
        f->d = d;
        f->id = id;
        f->kind = "revoked";
        snprintf(f->by, sizeof(f->by), "%s", req->peer->name);
        snprintf(f->here, sizeof(f->here), "not enforced on host %s", d->config->host);

        /* Ending effects first, here, whatever the database does. */
        r = store_fleet_lookup(d->store, id, &local);
        if (r < 0 && r != -ENOENT) {
                free(f);
                return reply_store_failure(req, r, "looking the fleet grant up");
        }
        if (r >= 0 && grants_get(d, local, &g) >= 0 && grant_state_is_open(g.state)) {
                snprintf(text, sizeof(text), "revoked by %s: %s", req->peer->name, reason);
                r = grants_step(d, &g, &ev, &a, why, sizeof(why));
                if (r < 0 && r != -EALREADY) {
                        free(f);
                        return reply_store_failure(req, r, "revoking");
                }
                ticketflow_forget(d, &g);
                snprintf(f->here, sizeof(f->here), "ended on host %s (local grant %" PRId64 ")", d->config->host,
                         local);
        }
        return end_in_fleet(f, req, reason);
}

/* ---- release ------------------------------------------------------------ */

#define RELEASE_REASON "task done"

/* The grant read from the database, for a release on a host that does not
 * enforce it: only its own user may release it. */
static void on_release_grant(int r, const PGresult *res, const char *why, void *userdata)
{
        struct fleet_end_req *f = userdata;

        if (r == -ECANCELED)
                goto out;
        if (r < 0) {
                later_reply_error(f->d, f->serial, r == -EIO ? EIO : EHOSTUNREACH, "fleet grant F%" PRId64 ": %s; "
                                  "the fleet database %s: %s; nothing was released", f->id, f->here,
                                  r == -EIO ? "refused the read" : "went away before it answered",
                                  why ? why : strerror(-r));
                goto out;
        }
        if (PQntuples(res) != 1) {
                later_reply_error(f->d, f->serial, ENOENT, "no fleet grant F%" PRId64, f->id);
                goto out;
        }
        if (strcmp(PQgetvalue(res, 0, 1), f->by) != 0) {
                later_reply_error(f->d, f->serial, EPERM, "fleet grant F%" PRId64 " is not yours to release", f->id);
                goto out;
        }
        if (strcmp(PQgetvalue(res, 0, 7), "open") != 0) {
                later_reply_error(f->d, f->serial, EALREADY, "fleet grant F%" PRId64 " has ended (%s)", f->id,
                                  PQgetvalue(res, 0, 7));
                goto out;
        }
        (void) end_in_fleet(f, NULL, RELEASE_REASON);
        return;
out:
        free(f);
}

int fleet_release(struct request *req, int64_t id)
{
        struct jitd *d = req->d;
        struct actor a = request_actor(req);
        struct fleet_end_req *f;
        struct jit_grant g;
        char why[256] = "", sid[24];
        struct fsm_event ev = { .type = FSM_RELEASE, .text = "released by the user: task done" };
        const char *params[1] = { sid };
        int64_t local = 0;
        int r;

        r = store_fleet_lookup(d->store, id, &local);
        if (r < 0 && r != -ENOENT)
                return reply_store_failure(req, r, "looking the fleet grant up");
        if (r >= 0) {
                r = grants_get(d, local, &g);
                if (r < 0)
                        return reply_store_failure(req, r, "reading the grant");
        }
        f = calloc(1, sizeof(*f));
        if (!f)
                return reply_error(req, ENOMEM, "out of memory"), HANDLED;
        f->d = d;
        f->id = id;
        f->kind = "released";
        snprintf(f->by, sizeof(f->by), "%s", req->peer->name);
        snprintf(f->here, sizeof(f->here), "not enforced on host %s", d->config->host);
        if (local == 0) {
                /* Whose it is only the database knows. */
                snprintf(sid, sizeof(sid), "%" PRId64, id);
                r = fleet_mirror_query(d->fleet, grant_sql, 1, params, on_release_grant, f);
                if (r < 0) {
                        free(f);
                        if (r == -ENOTCONN)
                                return reply_error(req, EHOSTUNREACH, "fleet grant F%" PRId64 " is not enforced on "
                                                   "host %s and " UNREACHABLE, id, d->config->host, "released"),
                                       HANDLED;
                        return reply_error(req, -r, "cannot ask the fleet database: %s", strerror(-r)), HANDLED;
                }
                f->serial = request_hold(req);
                return HANDLED_LATER;
        }
        /* The local copy is the fleet grant's user's (the mirror made it). */
        if (g.uid != req->peer->uid || strcmp(g.user, req->peer->name) != 0) {
                free(f);
                return reply_error(req, EPERM, "fleet grant F%" PRId64 " is not yours to release", id), HANDLED;
        }
        /* Ending effects first, here, whatever the database does. */
        if (grant_state_is_open(g.state)) {
                if (g.state != GRANT_ACTIVE && g.state != GRANT_SCHEDULED)
                        ev.type = FSM_REVOKE;
                r = grants_step(d, &g, &ev, &a, why, sizeof(why));
                if (r < 0 && r != -EALREADY) {
                        free(f);
                        return reply_store_failure(req, r, "releasing");
                }
                ticketflow_forget(d, &g);
                snprintf(f->here, sizeof(f->here), "ended on host %s (local grant %" PRId64 ")", d->config->host,
                         local);
        } else
                snprintf(f->here, sizeof(f->here), "already %s on host %s (local grant %" PRId64 ")",
                         grant_state_to_string(g.state), d->config->host, local);
        return end_in_fleet(f, req, RELEASE_REASON);
}

/* ---- revoke --user NAME --all ------------------------------------------- */

#define REVOKE_ALL_MAX 256

struct user_walk {
        int64_t ids[REVOKE_ALL_MAX];
        size_t n;
};

static int collect_open(const struct jit_grant *g, void *userdata)
{
        struct user_walk *w = userdata;

        if (w->n >= REVOKE_ALL_MAX)
                return -E2BIG;
        w->ids[w->n++] = g->id;
        return 0;
}

struct fleet_all_req {
        struct jitd *d;
        uint64_t serial;
        char here[200];
};

static void on_user_ended(int r, const PGresult *res, const char *why, void *userdata)
{
        struct fleet_all_req *f = userdata;
        char msg[1000], ids[600] = "";
        size_t used = 0;
        int n;

        if (r == -ECANCELED)
                goto out;
        if (r == -ECONNRESET || r == -ENOTCONN) {
                snprintf(msg, sizeof(msg), "%s; the fleet database went away before it answered: the fleet-wide "
                         "revocation stays queued here and is sent again when it is back", f->here);
                end_reply(f->d, f->serial, NULL, 0, msg);
                goto out;
        }
        if (r < 0) {
                later_reply_error(f->d, f->serial, r == -EIO ? EIO : -r, "%s; the fleet database refused the ends: "
                                  "%s; the fleet-wide revocation stays queued here and is sent again at each sync",
                                  f->here, why ? why : strerror(-r));
                goto out;
        }
        n = PQntuples(res);
        for (int i = 0; i < n && used < sizeof(ids) - 24; i++)
                used += (size_t) snprintf(ids + used, sizeof(ids) - used, "%sF%s", i ? ", " : "", PQgetvalue(res, i, 0));
        snprintf(msg, sizeof(msg), "%s; %d fleet grant%s revoked in the fleet%s%s", f->here, n, n == 1 ? "" : "s",
                 n ? ": " : "", ids);
        log_msg(LOG_NOTICE, "%s", msg);
        end_reply(f->d, f->serial, NULL, 0, msg);
out:
        free(f);
}

int revoke_user_all(struct request *req)
{
        struct jitd *d = req->d;
        const char *user = proto_get_str(req->msg, PF_USER), *reason = proto_get_str(req->msg, PF_REASON);
        struct store_filter sf = { .user = user, .states = GRANT_STATES_OPEN };
        struct actor a = request_actor(req);
        struct user_walk *w;
        struct fleet_all_req *f;
        struct store_fleet_user_end ue = { .at = now_realtime() };
        char text[JIT_REASON_MAX + 1], why[256];
        struct fsm_event ev = { .type = FSM_REVOKE, .text = text };
        uint64_t flags = 0;
        unsigned ended = 0;
        int r;

        (void) proto_get_u64(req->msg, PF_FLAGS, &flags);
        if (!(flags & PROTO_F_ALL) || proto_has(req->msg, PF_ID))
                return reply_error(req, EINVAL, "revoke --user NAME needs --all, and no id"), HANDLED;
        if (!valid_user_name(user))
                return reply_error(req, EINVAL, "invalid user name"), HANDLED;
        if (!reason || !reason[0] || !valid_text(reason, JIT_REASON_MAX))
                return reply_error(req, EINVAL, "a revocation needs a reason"), HANDLED;
        w = calloc(1, sizeof(*w));
        f = calloc(1, sizeof(*f));
        if (!w || !f) {
                free(w);
                free(f);
                return reply_error(req, ENOMEM, "out of memory"), HANDLED;
        }
        /* Here first: every open grant of the user, fleet copies included. */
        r = store_grant_foreach(d->store, &sf, collect_open, w);
        if (r < 0 && r != -E2BIG) {
                free(w);
                free(f);
                return reply_store_failure(req, r, "reading grants");
        }
        snprintf(text, sizeof(text), "revoked by %s: %s", req->peer->name, reason);
        for (size_t i = 0; i < w->n; i++) {
                struct jit_grant g;

                if (grants_get(d, w->ids[i], &g) < 0 || !grant_state_is_open(g.state))
                        continue;
                why[0] = '\0';
                if (grants_step(d, &g, &ev, &a, why, sizeof(why)) >= 0) {
                        ticketflow_forget(d, &g);
                        ended++;
                }
        }
        free(w);
        snprintf(f->here, sizeof(f->here), "%u open grant%s of %s ended on host %s%s", ended, ended == 1 ? "" : "s",
                 user, d->config->host, r == -E2BIG ? " (more remain: run it again)" : "");
        if (!d->fleet) {
                end_reply(d, 0, req, 0, f->here);
                free(f);
                return HANDLED;
        }
        f->d = d;
        /* The fleet's part is offboarding: kept in the store first, so that
         * an outage or a restart cannot lose it, then sent (and again at
         * each reconnect and sync until the database has it). */
        snprintf(ue.user, sizeof(ue.user), "%s", user);
        snprintf(ue.by, sizeof(ue.by), "%s", req->peer->name);
        snprintf(ue.reason, sizeof(ue.reason), "%s", reason);
        r = store_fleet_user_end_put(d->store, &ue);
        if (r < 0) {
                char msg[400];

                snprintf(msg, sizeof(msg), "%s; queueing the fleet-wide revocation failed, nothing was ended in the "
                         "fleet: run it again", f->here);
                free(f);
                return reply_store_failure(req, r, msg);
        }
        r = fleet_upload_user_end(fleet_mirror_upload(d->fleet), &ue, on_user_ended, f);
        if (r < 0) {
                char msg[400];

                snprintf(msg, sizeof(msg), "%s; %s: the fleet-wide revocation is queued here and sent when it is "
                         "back", f->here, r == -ENOTCONN ? "the fleet database is unreachable" : strerror(-r));
                end_reply(d, 0, req, 0, msg);
                free(f);
                return HANDLED;
        }
        f->serial = request_hold(req);
        return HANDLED_LATER;
}
