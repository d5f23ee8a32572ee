/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PAM module's questions, all from root: may this user use this service
 * now (check, with a token for the session), register this session, close
 * it, and the ticket prompt's request. Every failure on the way to an answer
 * (NSS, the database) is an error reply, which the module turns into a
 * denial: only "no role covers this user here" lets the rest of the stack
 * decide.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "conn.h"
#include "coverage.h"
#include "ending.h"
#include "gating.h"
#include "grants.h"
#include "handlers.h"
#include "log.h"
#include "nsscache.h"
#include "recording.h"
#include "recording_ssh.h"
#include "sessions.h"
#include "store.h"
#include "teardown.h"
#include "tokens.h"

/* How long a request-for may wait for the ticket system. */
#define TICKET_REPLY_WAIT_MS 5000

static void format_time(int64_t t, char *buf, size_t size)
{
        struct tm tm;
        time_t tt = (time_t) t;

        if (!gmtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
                snprintf(buf, size, "%lld", (long long) t);
}

/* The user's grants that bear on a service here. */
struct user_grants {
        struct jit_grant *v;            /* every open grant of the user */
        size_t n, cap;
};

static int collect(const struct jit_grant *g, void *userdata)
{
        struct user_grants *u = userdata;

        if (array_reserve((void **) &u->v, &u->cap, u->n, sizeof(*u->v)) < 0)
                return -ENOMEM;
        u->v[u->n++] = *g;
        return 0;
}

static int user_grants_load(struct jitd *d, const char *user, struct user_grants *ret)
{
        struct store_filter f = { .user = user, .states = GRANT_STATES_OPEN };

        *ret = (struct user_grants) {};
        return store_grant_foreach(d->store, &f, collect, ret);
}

/* Does this grant let p in for service (and, in a session, as target) now?
 * Live, not ending, p still eligible (NSS now), and a single use not spent.
 * A failure to tell is a no. */
static bool grant_lets_in(struct jitd *d, const struct jit_grant *g, const struct principal *p,
                          const char *service, const char *target, int64_t now)
{
        const struct config *c = d->config;
        const struct role *r = config_find_role(c, g->role);
        uint64_t used = 0;

        if (!p || !coverage_live(g, r, service, c->host, now) || ending_contains(d->ending, g->id) ||
            !coverage_runas(r, target))
                return false;
        if (g->break_glass ? !(policy_break_glass_ok(r, p) && policy_host_matches(r, c->host)) :
                             !policy_eligible(r, p, c->host, NULL, 0))
                return false;
        if (r->uses == 1 && (store_session_count(d->store, g->id, &used) < 0 || used > 0))
                return false;
        return true;
}

static const struct role *first_covering_role(const struct config *c, const struct principal *p, const char *service)
{
        for (size_t i = 0; i < c->n_roles; i++) {
                const struct role *r = &c->roles[i];

                if (policy_service_matches(r, service) && policy_eligible(r, p, c->host, NULL, 0))
                        return r;
        }
        return NULL;
}

/* The subject through NSS now. ENOENT is "no such user"; any other failure
 * is replied as an error (the module denies) and false returned. */
static bool subject_lookup(struct request *req, const char *user, struct principal **ret)
{
        int r = nsscache_principal(req->d->nss, req->d->config, user, ret);

        if (r == -ENOENT) {
                *ret = NULL;
                return true;
        }
        if (r < 0) {
                log_msg(LOG_ERR, "cannot look user %s up: %s; denying", user, strerror(-r));
                reply_error(req, EIO, "cannot look user %s up: %s", user, strerror(-r));
                return false;
        }
        return true;
}

/* Does a grant of this user bear on the service at all (open, its role
 * gating it)? Then the user is gated, whatever NSS says about membership. */
static bool holds_grant_for(const struct config *c, const struct user_grants *u, const char *service)
{
        for (size_t i = 0; i < u->n; i++)
                if (policy_service_matches(config_find_role(c, u->v[i].role), service))
                        return true;
        return false;
}

int handle_check(struct request *req)
{
        struct jitd *d = req->d;
        const struct config *c = d->config;
        const char *user, *service;
        struct user_grants u;
        struct principal *p = NULL;
        const struct jit_grant *allow = NULL, *pending = NULL;
        const struct role *covering = NULL;
        int64_t now = now_realtime();
        struct proto_msg m;
        char msg[512], when[64], token[TOKEN_HEX_LEN + 1];
        int r;

        if (!request_pam_subject(req, &user, &service))
                return HANDLED;
        if (!subject_lookup(req, user, &p))
                return HANDLED;
        r = user_grants_load(d, user, &u);
        if (r < 0) {
                principal_free(p);
                free(u.v);
                return reply_store_failure(req, r, "reading grants");
        }
        for (size_t i = 0; i < u.n; i++) {
                const struct jit_grant *g = &u.v[i];

                if (grant_lets_in(d, g, p, service, NULL, now)) {
                        if (!allow || g->expires_at > allow->expires_at)
                                allow = g;
                } else if ((g->state == GRANT_PENDING || g->state == GRANT_SCHEDULED) && !pending &&
                           policy_service_matches(config_find_role(c, g->role), service))
                        pending = g;
        }
        proto_init(&m, PROTO_REP_DECISION);
        if (allow && recording_mode(d, allow) != RECORD_NONE) {
                char why[256];
                int k = 0;

                /* sudo would refuse too (ignore_iolog_errors is off), but
                 * only here is the refusal audited and said in one line.
                 * Other services (sshd, login) have no recorder here yet: a
                 * recorded grant does not let them in unrecorded. */
                if (strcmp(service, "sshd") == 0)
                        k = recording_space_check_dir(d, why, sizeof(why));
                else if (!gating_is_sudo_service(service)) {
                        snprintf(why, sizeof(why), "only sudo and ssh sessions can be recorded here, not %s", service);
                        k = -EOPNOTSUPP;
                } else
                        k = recording_space_check(d, allow, why, sizeof(why));
                if (k < 0) {
                        recording_refused(d, allow, service, req->cred.pid, why);
                        snprintf(msg, sizeof(msg), "jit: elevation %lld is recorded, and its recording cannot be "
                                 "written (%s); refused", (long long) allow->id, why);
                        proto_set_u64(&m, PF_DECISION, PROTO_DECISION_DENY);
                        proto_set_str(&m, PF_ROLE, allow->role);
                        proto_set_str(&m, PF_HOST, c->host);
                        proto_set_str(&m, PF_MESSAGE, msg);
                        reply_msg(req, &m);
                        goto out;
                }
        }
        if (allow) {
                r = tokens_issue(d->tokens, req->cred.pid, conn_peer_key(req->conn), user, service, allow->id, token,
                                 sizeof(token));
                if (r < 0) {
                        reply_error(req, EIO, "cannot issue a session token: %s", strerror(-r));
                        goto out;
                }
                format_time(allow->expires_at, when, sizeof(when));
                snprintf(msg, sizeof(msg), "grant %lld (%s) active until %s", (long long) allow->id, allow->role,
                         when);
                proto_set_u64(&m, PF_DECISION, PROTO_DECISION_ALLOW);
                proto_set_u64(&m, PF_ID, (uint64_t) allow->id);
                proto_set_str(&m, PF_ROLE, allow->role);
                proto_set_u64(&m, PF_EXPIRES_AT, (uint64_t) allow->expires_at);
                proto_set_str(&m, PF_MESSAGE, msg);
                proto_set_str(&m, PF_TOKEN, token);
                reply_msg(req, &m);
                goto out;
        }
        if (p)
                covering = first_covering_role(c, p, service);
        /* Someone only on a break_glass list is gated too, and so is anyone
         * who holds a grant for the service: without an active one they are
         * denied, not left to the rest of the stack. */
        if (covering || pending || (p && policy_covers(c, p, service, c->host)) || holds_grant_for(c, &u, service)) {
                if (pending)
                        snprintf(msg, sizeof(msg), "pam_jit: grant %lld for role %s on %s is %s; see: jitctl show %lld",
                                 (long long) pending->id, pending->role, c->host,
                                 pending->state == GRANT_PENDING ? "waiting for approval" : "scheduled",
                                 (long long) pending->id);
                else if (covering)
                        snprintf(msg, sizeof(msg),
                                 "pam_jit: no active elevation for %s on %s; request one: jitctl request -r %s%s", user,
                                 c->host, covering->name, covering->ticket == TICKET_REQUIRED ? " -t TICKET" : "");
                else
                        snprintf(msg, sizeof(msg), "pam_jit: no active elevation for %s on %s; in an emergency: "
                                 "jitctl break-glass -r ROLE -m REASON", user, c->host);
                proto_set_u64(&m, PF_DECISION, PROTO_DECISION_DENY);
                if (pending || covering)
                        proto_set_str(&m, PF_ROLE, pending ? pending->role : covering->name);
                proto_set_str(&m, PF_HOST, c->host);
        } else {
                snprintf(msg, sizeof(msg), "%s is not covered by any role for %s on %s", user, service, c->host);
                proto_set_u64(&m, PF_DECISION, PROTO_DECISION_IGNORE);
        }
        proto_set_str(&m, PF_MESSAGE, msg);
        reply_msg(req, &m);
out:
        principal_free(p);
        free(u.v);
        return HANDLED;
}

/* ---- sessions --------------------------------------------------------- */

struct open_reply {
        uint64_t serial;
        char user[JIT_USER_MAX + 1];
        char service[JIT_SERVICE_MAX + 1];
        int64_t recording_id;           /* 0: none */
};

static void on_session_open(struct jitd *d, void *userdata, int r, const struct jit_session *x)
{
        struct open_reply *o = userdata;
        struct proto_msg m;

        if (r < 0) {
                log_msg(LOG_ERR, "grant %lld: session of %s via %s (pid %d) refused: %s", (long long) x->grant_id,
                        o->user, o->service, (int) x->pid, strerror(-r));
                later_reply_error(d, o->serial, r == -ECANCELED ? EPERM : EIO,
                                  "the session cannot be registered for teardown (%s): it must not run",
                                  r == -ECANCELED ? "its grant ended" : strerror(-r));
        } else {
                recording_attach_session(d, o->recording_id, x->id);
                proto_init(&m, PROTO_REP_OK);
                proto_set_u64(&m, PF_ID, (uint64_t) x->id);
                later_reply_msg(d, o->serial, &m);
                log_msg(LOG_INFO, "grant %lld: session %lld opened by %s via %s (pid %d%s%s)", (long long) x->grant_id,
                        (long long) x->id, o->user, o->service, (int) x->pid, x->rhost[0] ? " from " : "",
                        x->rhost);
        }
        free(o);
}

static int ignore_session(struct request *req, const char *user, const char *service)
{
        struct proto_msg m;
        char msg[256];

        snprintf(msg, sizeof(msg), "%s is not covered by any role for %s on %s", user, service, req->d->config->host);
        proto_init(&m, PROTO_REP_DECISION);
        proto_set_u64(&m, PF_DECISION, PROTO_DECISION_IGNORE);
        proto_set_str(&m, PF_MESSAGE, msg);
        reply_msg(req, &m);
        return HANDLED;
}

/*
 * A sudo session of a recorded grant runs only with its recording: sudo
 * began it before this phase (or refused to run, ignore_iolog_errors being
 * off), in the directory of one of the covering grants. false: refused, and
 * the reply is sent.
 */
static bool sudo_recording(struct request *req, const struct coverage_candidate *cv, size_t n, size_t owner,
                           const char *service, int64_t *ret_id)
{
        struct jitd *d = req->d;
        const struct jit_grant **gs = calloc(n, sizeof(*gs));
        bool required = recording_mode(d, cv[owner].g) != RECORD_NONE;
        size_t m = 0;
        int r;

        if (!gs) {
                reply_error(req, ENOMEM, "out of memory");
                return false;
        }
        gs[m++] = cv[owner].g;
        for (size_t i = 0; i < n; i++)
                if (i != owner)
                        gs[m++] = cv[i].g;
        r = recording_claim_sudo(d, gs, m, ret_id);
        free(gs);
        if (r < 0 && required) {
                reply_error(req, EIO, "jit: this elevation is recorded, and its recording cannot be noted (%s); "
                            "refused", store_last_error(d->store));
                return false;
        }
        if (r <= 0 && required) {
                recording_refused(d, cv[owner].g, service, req->cred.pid,
                                  "sudo wrote no recording for it (record_dir full or unsafe?)");
                reply_error(req, EPERM, "jit: elevation %lld is recorded, and no recording of this session could be "
                            "written; refused", (long long) cv[owner].g->id);
                return false;
        }
        return true;
}

/*
 * A session opens: sudo's own process, or sshd's per-connection process; its
 * pid and start time come from the kernel, never from the message. It must
 * present the token its account decision carried, and an active grant must
 * still cover it. It is recorded, then attached for teardown, then answered
 * (sessions.h).
 */
int handle_session_open(struct request *req)
{
        struct jitd *d = req->d;
        const struct config *c = d->config;
        const char *user, *service, *token = proto_get_str(req->msg, PF_TOKEN);
        const char *target = proto_get_str(req->msg, PF_TARGET);
        const char *tty = proto_get_str(req->msg, PF_TTY), *rhost = proto_get_str(req->msg, PF_RHOST);
        struct coverage_candidate *cv = NULL;
        struct jit_session x = { .pid = req->cred.pid, .pid_start = conn_pid_start(req->conn),
                                 .opened_at = now_realtime() };
        struct open_reply *o = NULL;
        struct principal *p = NULL;
        struct user_grants u;
        int64_t now = now_realtime(), token_grant = 0, recording_id = 0;
        size_t n = 0;
        int r, k, ret = HANDLED;

        if (!request_pam_subject(req, &user, &service))
                return HANDLED;
        if (target && target[0] && !valid_user_name(target))
                return reply_error(req, EINVAL, "session-open needs a valid target user"), HANDLED;
        if (!subject_lookup(req, user, &p))
                return HANDLED;
        r = user_grants_load(d, user, &u);
        if (r < 0) {
                ret = reply_store_failure(req, r, "reading grants");
                goto out;
        }
        cv = calloc(u.n ? u.n : 1, sizeof(*cv));
        if (!cv) {
                reply_error(req, ENOMEM, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < u.n; i++)
                if (grant_lets_in(d, &u.v[i], p, service, target, now))
                        cv[n++] = (struct coverage_candidate) { .g = &u.v[i], .r = config_find_role(c, u.v[i].role) };
        if (n == 0) {
                if (!(p && policy_covers(c, p, service, c->host)) && !holds_grant_for(c, &u, service)) {
                        ret = ignore_session(req, user, service);
                        goto out;
                }
                /* Covered, and nothing lets the session in now: its grant
                 * ended since the account decision, or never existed. */
                if (token)
                        (void) tokens_take(d->tokens, token, req->cred.pid, conn_peer_key(req->conn), user, service, NULL);
                log_msg(LOG_WARNING, "session of %s via %s (pid %d) refused: no active grant covers it", user,
                        service, (int) req->cred.pid);
                reply_error(req, EPERM, "%s holds no active grant that covers this %s session%s%s", user, service,
                            target && target[0] ? " as " : "", target ? target : "");
                goto out;
        }
        /* The account decision of this very process, for this user. */
        k = tokens_take(d->tokens, token, req->cred.pid, conn_peer_key(req->conn), user, service,
                        &token_grant);
        if (k < 0) {
                log_msg(LOG_WARNING, "session of %s via %s (pid %d) refused: %s", user, service, (int) req->cred.pid,
                        k == -EPERM ? "its token was issued to another process" : "no valid token from the account "
                        "phase (is pam_jit's account line there, before the session line?)");
                reply_error(req, EPERM, "no account decision for this session (token %s): it must not run",
                            k == -EPERM ? "not yours" : "missing, used or stale");
                goto out;
        }
        k = coverage_pick_owner(cv, n);
        if (gating_is_sudo_service(service) && !sudo_recording(req, cv, n, (size_t) k, service, &recording_id))
                goto out;
        if (!gating_is_sudo_service(service) && strcmp(service, "sshd") != 0 &&
            recording_mode(d, cv[k].g) != RECORD_NONE) {
                recording_refused(d, cv[k].g, service, req->cred.pid, "only sudo and ssh sessions can be recorded here");
                reply_error(req, EPERM, "jit: elevation %lld is recorded, and only sudo and ssh sessions can be "
                            "recorded here; this %s session is refused", (long long) cv[k].g->id, service);
                goto out;
        }
        /* ssh: tlog starts later, from sshd's ForceCommand (recording_ssh.h);
         * a session whose recording does not start loses its grant. */
        if (strcmp(service, "sshd") == 0 && recording_mode(d, cv[k].g) != RECORD_NONE &&
            (r = recording_ssh_expect(d, cv[k].g->id, req->cred.pid)) < 0) {
                /* Unwatched, the session could run unrecorded: refused. */
                log_msg(LOG_ERR, "session of %s via sshd (pid %d) refused: cannot watch for its recording: %s", user,
                        (int) req->cred.pid, strerror(-r));
                reply_error(req, -r, "jit: elevation %lld is recorded, and jitd cannot watch for this session's "
                            "recording; refused", (long long) cv[k].g->id);
                goto out;
        }
        x.grant_id = cv[k].g->id;
        strcpy_checked(x.service, sizeof(x.service), service);
        if (target)
                snprintf(x.target, sizeof(x.target), "%s", target);
        if (tty)
                snprintf(x.tty, sizeof(x.tty), "%s", tty);
        if (rhost)
                snprintf(x.rhost, sizeof(x.rhost), "%s", rhost);
        /* Single use: this is the one session; its rule goes now, so that
         * no second sudo can start. */
        if (cv[k].r->uses == 1) {
                struct fsm_event ev = { .type = FSM_USE };
                struct jit_grant g = *cv[k].g;
                char why[256];

                r = grants_step(d, &g, &ev, &actor_jitd, why, sizeof(why));
                if (r < 0 && r != -EALREADY) {
                        ret = reply_store_failure(req, r, "recording the single use");
                        goto out;
                }
        }
        o = calloc(1, sizeof(*o));
        if (!o) {
                reply_error(req, ENOMEM, "out of memory");
                goto out;
        }
        snprintf(o->user, sizeof(o->user), "%s", user);
        snprintf(o->service, sizeof(o->service), "%s", service);
        o->recording_id = recording_id;
        o->serial = request_hold(req);
        r = sessions_open(d, &x, p && !gating_is_sudo_service(service) ? p->uid : TEARDOWN_NOT_LOGIN,
                          on_session_open, o);
        if (r < 0) {
                uint64_t serial = o->serial;

                free(o);
                later_reply_error(d, serial, r == -ENOSPC ? ENOSPC : EIO,
                                  "the session cannot be registered: %s: it must not run", strerror(-r));
                log_msg(LOG_ERR, "session of %s via %s (pid %d) refused: cannot record it: %s", user, service,
                        (int) req->cred.pid, store_last_error(d->store));
                goto out;
        }
        ret = HANDLED_LATER;
out:
        principal_free(p);
        free(cv);
        free(u.v);
        return ret;
}

/*
 * Closing is bookkeeping, not a lock: teardown at the end of the grant still
 * ends whatever a closed session left behind. The session is named by the id
 * its open returned, and must be this process's (pid and start time) and
 * this user's.
 */
int handle_session_close(struct request *req)
{
        struct jitd *d = req->d;
        const char *user, *service;
        struct session_row row = { .kind = SESSION_ROW_CLOSED };
        struct jit_session x;
        struct jit_grant g;
        struct proto_msg m;
        uint64_t id = 0;
        int r;

        if (!request_pam_subject(req, &user, &service))
                return HANDLED;
        (void) proto_get_u64(req->msg, PF_ID, &id);
        if (id > INT64_MAX)
                return reply_error(req, EINVAL, "session id out of range"), HANDLED;
        r = sessions_close(d, (int64_t) id, req->cred.pid, conn_pid_start(req->conn), user, &x);
        if (r == -ENOENT)
                return reply_error(req, ENOENT, "no open session %llu of pid %d", (unsigned long long) id,
                                   (int) req->cred.pid), HANDLED;
        if (r == -EPERM) {
                log_msg(LOG_WARNING, "pid %d asked to close session %llu of another process or user; refused",
                        (int) req->cred.pid, (unsigned long long) id);
                return reply_error(req, EPERM, "session %llu is not this process's", (unsigned long long) id),
                       HANDLED;
        }
        if (r < 0)
                return reply_store_failure(req, r, "closing the session");
        proto_init(&m, PROTO_REP_OK);
        proto_set_u64(&m, PF_ID, (uint64_t) x.id);
        reply_msg(req, &m);
        recording_session_closed(d, x.id);

        row.session_id = x.id;
        row.at = now_realtime();
        snprintf(row.reason, sizeof(row.reason), "closed");
        if (ending_record_sessions(d, &row, 1, NULL, 0) < 0)
                log_msg(LOG_ERR, "session %lld: cannot keep the record of its close", (long long) x.id);
        if (grants_get(d, x.grant_id, &g) >= 0 && g.state == GRANT_ACTIVE) {
                const struct role *role = config_find_role(d->config, g.role);
                struct fsm_event ev = { .type = FSM_USE_UP };
                char why[256];

                if (role && role->uses == 1 && (r = grants_step(d, &g, &ev, &actor_jitd, why, sizeof(why))) < 0 &&
                    r != -EALREADY)
                        log_msg(LOG_ERR, "grant %lld: single use, but ending it failed: %s", (long long) g.id,
                                why[0] ? why : strerror(-r));
        }
        return HANDLED;
}

/* pam_jit's prompt (sudo's auth phase, as root): the user typed a ticket. The
 * reply waits for the ticket system at most as long as the module does. */
int handle_request_for(struct request *req)
{
        const char *user, *service, *ticket = proto_get_str(req->msg, PF_TICKET);
        struct principal *who = NULL;
        struct new_request nr;
        char reason[64];
        uint64_t timeout = TICKET_REPLY_WAIT_MS;
        int r;

        if (!request_pam_subject(req, &user, &service))
                return HANDLED;
        if (!ticket || !ticket[0])
                return reply_error(req, EINVAL, "a ticket is required"), HANDLED;
        r = principal_from_name(req->d->config, user, &who);
        if (r == -ENOENT)
                return reply_error(req, ENOENT, "no user %s", user), HANDLED;
        if (r < 0)
                return reply_error(req, EIO, "cannot look user %s up: %s", user, strerror(-r)), HANDLED;
        proto_get_u64(req->msg, PF_TIMEOUT, &timeout);
        /* Leave the module time to read the answer before its own deadline. */
        timeout = timeout > TICKET_REPLY_WAIT_MS ? TICKET_REPLY_WAIT_MS : timeout;
        timeout = timeout > 200 ? timeout - 150 : timeout / 2;
        snprintf(reason, sizeof(reason), "asked for at the %s prompt", service);
        nr = (struct new_request) {
                .who = who,
                .role_name = proto_get_str(req->msg, PF_ROLE),
                .ticket = ticket,
                .reason = reason,
                .service = service,
                .reply_wait_ms = (int) timeout,
        };
        r = request_grant(req, &nr);
        principal_free(who);
        return r;
}
