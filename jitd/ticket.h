/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ticket systems: one generic engine over libcurl (multi interface) and
 * json-c, configured by [ticket] (common/config.h struct ticket_config), with
 * presets for jira, servicenow, redmine, rt, gitlab, and http (by hand).
 *
 * Privilege separation (the OpenSSH pattern): jitd never talks HTTP, TLS or
 * JSON itself. ticket_engine_new() starts a helper process (jitd's own
 * binary, run again with a hidden argument; ticket_helper.c) that becomes
 * helper_user (default nobody) with no capabilities, no_new_privs and a
 * seccomp filter, and runs the engine (ticket_worker.c) there; what this API
 * hands back is decoded strictly from the helper's messages (ticket_ipc.h).
 * A helper that dies, hangs or says anything malformed is killed and started
 * again with backoff; its lookups in flight end as TICKET_ERROR.
 *
 * Never blocks (but for the helper's start in ticket_engine_new()): the
 * engine owns an epoll fd that jitd's loop watches as one fd; when it is
 * readable jitd calls ticket_engine_process(), which reads the helper and
 * calls the completion callbacks. At most one lookup per ticket is in flight:
 * a second ticket_lookup() for the same ticket joins the first and gets the
 * same result. Retries with backoff for transient failures; 429/503
 * Retry-After honoured (reported in the result so the caller can schedule its
 * re-poll).
 *
 * Limits, so that one user cannot spend the ticket system's quota or jitd's
 * descriptors: at most TICKET_INFLIGHT_PER_USER lookups of one user at the
 * helper at once (more wait their turn, up to TICKET_QUEUED_PER_USER); a
 * result is reused for TICKET_CACHE_MAX_MS (at most half the poll interval)
 * by lookups of the same ticket for the same user; lookups a user causes
 * (not jitd's own re-checks, TICKET_LOOKUP_POLL) are paced by a budget of
 * TICKET_BUDGET_BURST, refilled one per TICKET_BUDGET_REFILL_MS; and at most
 * TICKET_NOTES_PER_HOUR notes go to one ticket in an hour.
 *
 * Secrets: the token is read from token_file at ticket_engine_new() by jitd
 * (root-owned, not group/world readable, else -EPERM with a reason), handed
 * to the helper, and never appears in any string this module hands back.
 *
 * The program ignores SIGPIPE.
 */
#ifndef JITD_TICKET_H
#define JITD_TICKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum ticket_verdict {
        TICKET_APPROVED = 1,    /* status in `approved`, and every configured binding holds */
        TICKET_PENDING,         /* exists, status neither approved nor closed */
        TICKET_CLOSED,          /* status in `closed` (or a rejection): deny a request, revoke a grant */
        TICKET_REFUSED,         /* exists but binds to someone/somewhere else: requester or host mismatch */
        TICKET_NOT_FOUND,       /* 404, or an empty result set (servicenow) */
        TICKET_ERROR,           /* transient: down, timeout, 5xx, 429, TLS, malformed, oversized */
};

struct ticket_result {
        enum ticket_verdict verdict;
        char status[64];        /* the status value as the system spells it ("" when unknown) */
        int64_t window_start;   /* unix seconds, 0 = none (or an "unset" value) */
        int64_t window_end;
        int64_t retry_after;    /* seconds the system asked us to wait (429/503), 0 = none */
        bool requester_ok;      /* the requester binding was checked and names the user */
        char why[256];          /* one line for the user; never holds the token, nor anything
                                 * from a ticket that does not name the user as its requester */
        char detail[256];       /* for the admin's log only (may name other people); "" = none */
};

/* Limits (see above). */
#define TICKET_INFLIGHT_PER_USER        4
#define TICKET_QUEUED_PER_USER          64
#define TICKET_INFLIGHT_MAX             64
#define TICKET_CACHE_MAX_MS             15000
#define TICKET_BUDGET_BURST             10
#define TICKET_BUDGET_REFILL_MS         6000
#define TICKET_NOTES_PER_HOUR           10

enum {
        TICKET_LOOKUP_POLL = 1 << 0,    /* jitd's own re-check: always asks, not charged to the user */
};

typedef void (*ticket_done_fn)(void *userdata, const char *ticket, const struct ticket_result *r);

struct ticket_engine;

/* Whether cfg names a ticket system (provider set and not "none"): only then
 * does ticket_engine_new() build an engine, and need libcurl. */
bool ticket_system_configured(const struct ticket_config *cfg);

/* Build the engine for this host. -EINVAL with why for a config that cannot
 * work (unknown preset field, bad URL, http without allow_http), -EPERM with
 * why for a token_file with wrong ownership/mode. provider "none" gives
 * *ret = NULL and returns 0. */
int ticket_engine_new(const struct ticket_config *cfg, const char *host, struct ticket_engine **ret,
                      char *why, size_t why_size);
/* Stops the helper (SIGKILL: nothing it holds is worth waiting for). */
void ticket_engine_free(struct ticket_engine *e);

/* The fd jitd's loop must watch for EPOLLIN. */
int ticket_engine_fd(const struct ticket_engine *e);
/* Run whatever is ready; calls completion callbacks. */
void ticket_engine_process(struct ticket_engine *e);

/* Look a ticket up for user (the requester binding is checked against user
 * through `requester` and `user_map`). cb is called exactly once, later, from
 * ticket_engine_process() (never from inside this call); a lookup the limits
 * refuse gets TICKET_ERROR saying so (and retry_after). flags: TICKET_LOOKUP_*.
 * -EINVAL for a ticket that does not match the URL-safe pattern (it is
 * URL-encoded anyway), or a user that is not a valid user name. Callbacks may
 * call ticket_lookup(), ticket_cancel() and ticket_comment(), not
 * ticket_engine_free(). */
int ticket_lookup(struct ticket_engine *e, const char *ticket, const char *user, unsigned flags,
                  ticket_done_fn cb, void *userdata);
/* Cancel every pending callback carrying this userdata (the caller's object
 * is going away); nobody is told. A lookup nobody else waits for is dropped,
 * its connection closed. */
void ticket_cancel(struct ticket_engine *e, void *userdata);

/* Post a note about user's grant to the ticket through the system's comment
 * API when `comment = yes` (fire and forget: failures are retried a few
 * times, then logged by the caller through the optional log callback). With
 * comment = no it does nothing and returns 0. Only to a ticket that names
 * user as its requester, as the last lookup of that ticket for user found
 * (requester_ok): -EPERM otherwise, so that jitd never writes on somebody
 * else's ticket. -EDQUOT past TICKET_NOTES_PER_HOUR for the ticket. -EINVAL
 * for a ticket as ticket_lookup() refuses it, or a text with control
 * characters other than newline and tab, or longer than 8 KiB. */
int ticket_comment(struct ticket_engine *e, const char *ticket, const char *user, const char *text);

/* Optional: told once when a note is given up (after its retries, or at once
 * for an answer that retrying cannot fix), and (with ticket NULL) when the
 * helper stops, is restarted or is killed for a malformed message. why never
 * holds the token. */
typedef void (*ticket_log_fn)(void *userdata, const char *ticket, const char *why);
void ticket_engine_set_log(struct ticket_engine *e, ticket_log_fn fn, void *userdata);

/* How often to re-check (the `poll` key), seconds. */
uint64_t ticket_engine_poll_interval(const struct ticket_engine *e);

#endif
