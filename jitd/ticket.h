/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ticket systems: one generic engine over libcurl (multi interface) and
 * json-c, configured by [ticket] (common/config.h struct ticket_config), with
 * presets for jira, servicenow, redmine, rt, gitlab, and http (by hand).
 *
 * Never blocks: the engine owns an epoll fd (curl's sockets and a timerfd for
 * curl's timeouts) that jitd's loop watches as one fd; when it is readable
 * jitd calls ticket_engine_process(), which runs transfers and calls the
 * completion callbacks. At most one lookup per ticket is in flight: a second
 * ticket_lookup() for the same ticket joins the first and gets the same
 * result. Retries with backoff for transient failures; 429/503 Retry-After
 * honoured (reported in the result so the caller can schedule its re-poll).
 *
 * Secrets: the token is read from token_file at ticket_engine_new() (root-owned,
 * not group/world readable, else -EPERM with a reason) and never appears in
 * any string this module hands back.
 *
 * The program calls http_global_init() (http.h: opens libcurl and calls
 * curl_global_init()) once before ticket_engine_new(), and ignores SIGPIPE: transfers run with CURLOPT_NOSIGNAL, so a TLS peer that
 * hangs up mid-write would otherwise kill the process.
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
        char why[256];          /* one line for users and logs; never holds the token */
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
void ticket_engine_free(struct ticket_engine *e);

/* The fd jitd's loop must watch for EPOLLIN. */
int ticket_engine_fd(const struct ticket_engine *e);
/* Run whatever is ready; calls completion callbacks. */
void ticket_engine_process(struct ticket_engine *e);

/* Look a ticket up for user (the requester binding is checked against user
 * through `requester` and `user_map`). cb is called exactly once, later, from
 * ticket_engine_process() (never from inside this call). -EINVAL for a ticket
 * that does not match the URL-safe pattern (it is URL-encoded anyway), or a
 * user that is not a valid user name. Callbacks may call ticket_lookup(),
 * ticket_cancel() and ticket_comment(), not ticket_engine_free(). */
int ticket_lookup(struct ticket_engine *e, const char *ticket, const char *user, ticket_done_fn cb,
                  void *userdata);
/* Cancel every pending callback carrying this userdata (the caller's object
 * is going away); transfers may finish, nobody is told. */
void ticket_cancel(struct ticket_engine *e, void *userdata);

/* Post a note to the ticket through the system's comment API when `comment =
 * yes` (fire and forget: failures are retried a few times, then logged by the
 * caller through the optional log callback). With comment = no it does
 * nothing and returns 0. -EINVAL for a ticket as ticket_lookup() refuses it,
 * or a text with control characters other than newline and tab, or longer
 * than 8 KiB. */
int ticket_comment(struct ticket_engine *e, const char *ticket, const char *text);

/* Optional: told once when a note is given up (after its retries, or at once
 * for an answer that retrying cannot fix). why never holds the token. */
typedef void (*ticket_log_fn)(void *userdata, const char *ticket, const char *why);
void ticket_engine_set_log(struct ticket_engine *e, ticket_log_fn fn, void *userdata);

/* How often to re-check (the `poll` key), seconds. */
uint64_t ticket_engine_poll_interval(const struct ticket_engine *e);

#endif
