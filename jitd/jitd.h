/* SPDX-License-Identifier: BSD-3-Clause */
/* jitd's shared state and the seams between its files. */
#ifndef JITD_H
#define JITD_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "config.h"
#include "grant.h"
#include "policy.h"
#include "proto.h"
#include "store.h"

#define JITD_MAX_CONNECTIONS 1024

struct conn;

struct jitd {
        char *config_path;
        struct config *config;
        struct store *store;
        struct teardown *teardown;
        int epoll_fd;
        int listen_fd;
        bool listen_fd_ours;        /* bound by us (unlink at exit), not socket-activated */
        int timer_fd;               /* CLOCK_REALTIME: the next grant deadline */
        int reconcile_fd;           /* CLOCK_MONOTONIC: periodic reconciliation */
        int metrics_fd;             /* CLOCK_MONOTONIC: metrics_file every minute (when set) */
        int watchdog_fd;            /* CLOCK_MONOTONIC: WATCHDOG=1 at half of WatchdogSec (when set) */
        int signal_fd;
        struct conn *conns;         /* doubly linked */
        struct conn *dead_conns;    /* closed in this batch of events, freed after it */
        unsigned n_conns;
        uint64_t tick;              /* bumps per request, for least-recently-used eviction */
        uint64_t conn_serial;       /* last connection serial handed out */
        struct ticket_engine *tickets;  /* NULL: no ticket system */
        int ticket_poll_fd;         /* CLOCK_MONOTONIC: re-check tickets every `poll` */
        int deferred_fd;            /* CLOCK_MONOTONIC: deadline of the oldest deferred reply */
        struct deferred *deferred;  /* replies waiting for a ticket lookup */
        struct lookup_ctx *lookups; /* lookups in flight (freed at shutdown if unanswered) */
        int64_t *ending;            /* grants due to expire, in order (enforce_expire) */
        size_t ending_n, ending_pos, ending_cap;
        int64_t armed_deadline;     /* what timer_fd is set to; 0 = disarmed */
        int64_t warned_until;       /* grants expiring up to here were warned (warn_before) */
        bool quit;
};

/* One authenticated request being served. */
struct request {
        struct jitd *d;
        struct conn *conn;
        struct ucred cred;                  /* from SO_PEERCRED at accept time */
        const struct principal *peer;       /* the peer's uid, resolved through NSS */
        const struct proto_msg *msg;
};

/* log.c: to the journal when stderr is the journal, otherwise to stderr. */
void log_setup(void);
void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An audit event for the journal with structured JIT_* fields. */
void log_event(int priority, const char *event, const struct jit_grant *g, uid_t actor_uid,
               const char *actor, const char *details);

/* server.c */
int server_listen(struct jitd *d);
void server_close(struct jitd *d);
int server_accept(struct jitd *d);
void server_conn_event(struct jitd *d, struct conn *c, uint32_t events);
/* Free the connections closed since the last call: once per epoll batch. */
void server_reap(struct jitd *d);
uint64_t conn_serial(const struct conn *c);
/* NULL when that connection is gone. */
struct conn *server_find_conn(struct jitd *d, uint64_t serial);
/* Queue one reply on the request's connection. */
int reply_msg(struct request *req, const struct proto_msg *m);
int reply_error(struct request *req, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int reply_grant(struct request *req, const struct jit_grant *g, const char *message);

/* dispatch.c: validate and route one decoded request. */
void dispatch(struct request *req);

/* grants.c: the grant state machine. Each transition writes the grant and its
 * audit event in one transaction and re-arms the deadline timer. */
struct actor {
        uid_t uid;
        const char *name;
};
extern const struct actor actor_jitd;
/* grants_create and grants_approve return -EAGAIN when the grant should have
 * become active but its drop-in could not be written: what led up to it is
 * committed, the grant stays pending, and why says what went wrong. */
int grants_create(struct jitd *d, struct jit_grant *g, const struct role *r, const struct actor *a,
                  char *why, size_t why_size);
int grants_approve(struct jitd *d, struct jit_grant *g, const struct role *r, const struct actor *a,
                   const char *note, char *why, size_t why_size);
int grants_end(struct jitd *d, struct jit_grant *g, enum grant_state to, const struct actor *a,
               const char *reason);
int grants_process_deadlines(struct jitd *d, int64_t now);
/* End those of the grants ids[0..n) that are still active and due, in one
 * transaction; ret (room for n) receives them as ended, *ret_n of them. */
int grants_expire(struct jitd *d, const int64_t *ids, size_t n, struct jit_grant *ret, size_t *ret_n);
/* Break-glass: an active grant at once, flagged for review; -EAGAIN as above. */
int grants_break_glass(struct jitd *d, struct jit_grant *g, const struct actor *a, char *why, size_t why_size);
/* uses = 1: the grant's first session closed; it ends within a second. */
int grants_use_up(struct jitd *d, struct jit_grant *g, const struct actor *a);
int grants_review(struct jitd *d, struct jit_grant *g, bool accept, const struct actor *a, const char *note);
/* Move an active grant's end out by duration; the drop-in follows. */
int grants_extend(struct jitd *d, struct jit_grant *g, uint64_t duration, const struct actor *a, const char *reason,
                  char *why, size_t why_size);
/* Activate g inside a change window (0 = unbounded): scheduled when it starts
 * later. -ETIME: the window is over; -EAGAIN: drop-in failed (audited). */
int grants_activate_window(struct jitd *d, struct jit_grant *g, int64_t win_start, int64_t win_end, char *why,
                           size_t why_size);
/* Activate pending grants whose approvals are complete but whose activation
 * failed earlier (reconciliation calls this). */
int grants_retry_activation(struct jitd *d);
int grants_rearm_timer(struct jitd *d);

/* reload.c */
/* config_load() of a file that must be root-owned and not group/world
 * writable; every problem in e. */
int config_load_trusted(const char *path, struct config **ret, struct config_errors *e);
/* Re-read the config: on any error the old one stays and why lists the
 * errors; on success why says what changed. */
int jitd_reload(struct jitd *d, char *why, size_t size);

/* enforce.c: the host side of grants. */
int enforce_install(struct jitd *d, const struct jit_grant *g, const struct role *r, char *why, size_t size);
int enforce_end(struct jitd *d, const struct jit_grant *g);
/* Grants whose end time has come (ids of active grants): they are queued and
 * ended chunk by chunk, each chunk in one transaction, then its drop-ins with
 * one directory flush, then its sessions, every kill sent before any is
 * waited for. The first chunk goes now, the rest by enforce_continue(). */
void enforce_expire(struct jitd *d, const int64_t *ids, size_t n);
/* Expiries are queued: the loop must not sleep, nor collect deadlines. */
bool enforce_pending(const struct jitd *d);
/* The next chunk of the queue; the loop serves requests in between. */
void enforce_continue(struct jitd *d);
/* Remove the drop-in of a grant whose activation is being rolled back: it
 * never became active, so there is nothing else to take away. */
void enforce_withdraw(struct jitd *d, int64_t grant_id);
/* Write the end-of-grant notice to the terminals of the grant's sessions. */
void enforce_warn(struct jitd *d, const struct jit_grant *g);
void enforce_reconcile(struct jitd *d);

/* ticketflow.c: grants approved by a ticket system. */
bool ticketflow_needed(const struct role *r);
int ticketflow_setup(struct jitd *d, char *why, size_t size);
void ticketflow_shutdown(struct jitd *d);
int ticketflow_check(struct jitd *d, const struct jit_grant *g);
/* Hold the reply to req until grant_id's ticket answers, or timeout_ms. */
void ticketflow_defer(struct request *req, int64_t grant_id, int timeout_ms);
/* Post the grant's new state to its ticket (comment = yes). */
void ticketflow_note(struct jitd *d, const struct jit_grant *g);
void ticketflow_on_engine(struct jitd *d);
void ticketflow_on_poll(struct jitd *d);
void ticketflow_on_deferred(struct jitd *d);

/* handlers.c: helpers shared by the handler files. Each replies (an error)
 * itself when it returns false. */
struct actor request_actor(const struct request *req);
bool request_get_id(struct request *req, int64_t *ret);
/* Only grants the peer may see: others are "no grant N". */
bool request_load_grant(struct request *req, int64_t id, struct jit_grant *ret);
bool request_pam_subject(struct request *req, const char **ret_user, const char **ret_service);
void reply_store_failure(struct request *req, int r, const char *what);

/* handlers.c */
void handle_ping(struct request *req);
void handle_check(struct request *req);
void handle_request(struct request *req);
void handle_request_for(struct request *req);
void handle_approve(struct request *req);
void handle_deny(struct request *req);
void handle_cancel(struct request *req);
void handle_release(struct request *req);
void handle_revoke(struct request *req);
void handle_list(struct request *req);
void handle_show(struct request *req);
void handle_session_open(struct request *req);
void handle_session_close(struct request *req);

/* governance.c */
void handle_break_glass(struct request *req);
void handle_review(struct request *req);
void handle_audit(struct request *req);
void handle_audit_verify(struct request *req);
void handle_reload(struct request *req);
void handle_extend(struct request *req);
void handle_report(struct request *req);
void governance_write_metrics(struct jitd *d);
void governance_arm_metrics(struct jitd *d);
/* approve on an active grant with a pending extension; true when it replied. */
bool extension_approve(struct request *req, struct jit_grant *g, const struct role *r);
void extension_ticket_approved(struct jitd *d, struct jit_grant *g);

#endif
