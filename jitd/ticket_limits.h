/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What jitd remembers about the ticket system's answers, to bound what users
 * can make it do there (ticket.c applies these; ticket.h lists the numbers):
 *
 *  - the last answer for each (ticket, user): reused for lookups within the
 *    cache time (half the poll interval, at most TICKET_CACHE_MAX_MS), and
 *    the requester binding it found, which decides whether jitd may write on
 *    that ticket about that user's grant;
 *  - a budget of lookups per user (a token bucket): TICKET_BUDGET_BURST at
 *    once, then one per TICKET_BUDGET_REFILL_MS;
 *  - notes per ticket per hour.
 *
 * Fixed-size tables, the least recently used entry replaced: memory does not
 * grow with what users try. No I/O; the caller passes the time in.
 */
#ifndef JITD_TICKET_LIMITS_H
#define JITD_TICKET_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "ticket.h"

#define TICKET_SEEN_MAX         1024    /* (ticket, user) answers remembered */
#define TICKET_BUDGETS_MAX      256     /* users with a budget in use */
#define TICKET_NOTED_MAX        256     /* tickets with notes this hour */

struct ticket_limits;

/* poll_s: the poll interval, for the cache time. */
int ticket_limits_new(uint64_t poll_s, struct ticket_limits **ret);
void ticket_limits_free(struct ticket_limits *l);

/* How long an answer is reused, milliseconds. */
int64_t ticket_limits_cache_ms(const struct ticket_limits *l);

/* Remember an answer. A TICKET_ERROR says nothing about the ticket: it is
 * neither reused nor changes the binding on record. */
void ticket_limits_record(struct ticket_limits *l, const char *ticket, const char *user, int64_t now_ms,
                          const struct ticket_result *r);
/* The answer recorded within the cache time, into *ret. */
bool ticket_limits_cached(struct ticket_limits *l, const char *ticket, const char *user, int64_t now_ms,
                          struct ticket_result *ret);
/* Whether the last answer for (ticket, user) said the ticket names user as
 * its requester. false when there is none on record. */
bool ticket_limits_requester_ok(const struct ticket_limits *l, const char *ticket, const char *user);

/* Take one lookup from user's budget: 0, or -EAGAIN with the milliseconds
 * until there is one again. */
int ticket_limits_charge(struct ticket_limits *l, const char *user, int64_t now_ms, int64_t *ret_wait_ms);

/* Count one note to ticket: 0, or -EDQUOT past TICKET_NOTES_PER_HOUR in the
 * hour that began with the ticket's first note. */
int ticket_limits_note(struct ticket_limits *l, const char *ticket, int64_t now_ms);

#endif
