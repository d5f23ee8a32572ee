/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The governance report: the figures a JIT programme is judged by, computed
 * from the store (grants and audit events) and from the host's sudoers.
 * Everything returns 0 or a negative errno; nothing here logs.
 *
 * The report is one JSON object on one line (json-c, plain, '/' unescaped).
 * Keys are stable; a change of meaning bumps "version". All numbers are
 * integers; times are unix seconds unless the key says _ms.
 *
 *   {
 *     "version": 1,
 *     "now": T,                 the clock the report was made at
 *     "since": T,               grants requested at or after this; 0 = all time
 *     "standing_sudo": {
 *       "rules": N,             user specifications outside jit-<digits> drop-ins,
 *                               root's own rule included (see standing.h)
 *       "root_rules": N,        of those, the rules whose user list is just root
 *       "locations": ["FILE:LINE: first 80 characters of the rule", ...],
 *       "errors": ["FILE: what could not be read", ...]
 *     },
 *     "grants": {
 *       "total": N,             requested in range, any state
 *       "active": N,            active now: state active and not past expires_at,
 *                               whenever requested (exposure now is not a matter
 *                               of the window)
 *       "denied": N, "cancelled": N, "released": N, "expired": N,
 *       "revoked": N            in range, by state; revoked = admin + ticket + other
 *     },
 *     "approval": {
 *       "by_path": {"peer": N, "ticket,peer": N, "break-glass": N, ...},
 *                               grants in range by their approval string (the
 *                               role's path when requested), keys in strcmp
 *                               order, "none" for an empty one
 *       "time_to_approve_s": {"count": N, "sum": N, "median": N|null, "p95": N|null}
 *                               approved_at - requested_at of the grants in
 *                               range that have an approved_at, break-glass
 *                               grants left out (nobody approved them)
 *     },
 *     "revocation": {
 *       "admin": N,             revoked, end_reason "revoked by NAME: ..."
 *       "ticket": N,            revoked, end_reason "ticket T: ..." (closed ticket)
 *       "other": N,             any other revocation (eligibility lost on reload, ...)
 *       "time_to_revoke_ms": {"count": N, "sum": N, "median": N|null, "p95": N|null,
 *                             "incomplete": N}
 *                               latency_ms of the "torn-down" audit event (end of
 *                               the grant to teardown finished) of each grant in
 *                               range that held privilege: approved_at set and
 *                               state expired, revoked or released. Denied and
 *                               cancelled grants never had a rule to take away.
 *                               A grant torn down twice counts once, with its
 *                               first event; a negative latency (the clock
 *                               stepped back) counts as 0. incomplete: of those
 *                               first teardowns, how many said "complete": false
 *     },
 *     "break_glass": {
 *       "uses": N,              break-glass grants in range
 *       "reviews_pending": N,   break-glass grants whose review is "pending",
 *                               whenever requested (a backlog has no window)
 *       "reviews_overdue": N,   of those, requested_at + review_within <= now
 *       "review_within_s": N    the config's review_within (default 1d)
 *     }
 *   }
 *
 * Percentiles are nearest-rank: over the n values sorted ascending
 * (x[1] <= ... <= x[n]), the p-th percentile is x[ceil(p * n / 100)]. So the
 * median is x[ceil(n / 2)] (the lower middle value when n is even) and the
 * p95 of 20 values is x[19]. Every percentile is one of the values, never an
 * interpolation. With no values, median and p95 are null.
 */
#ifndef JITD_REPORT_H
#define JITD_REPORT_H

#include <stdint.h>

#include "config.h"
#include "report_format.h"
#include "store.h"

#define REPORT_VERSION 1

/* The report as one JSON object (schema above), over grants requested at or
 * after since (0 = all time); now is the clock used for "active" and
 * "overdue". sudoers is the main sudoers file to scan for standing rules
 * (NULL: /etc/sudoers; tests pass their own). c may be NULL (review_within
 * then defaults to 1d). A sudoers file that cannot be read is listed under
 * standing_sudo.errors, not an error of the report. */
int report_build(struct store *s, const struct config *c, const char *sudoers, int64_t since, int64_t now,
                 char **ret_json);

/* report_prometheus() (the same figures in the node_exporter textfile
 * format) is in common/report_format.h: jitctl prints it too. */

/* Write text atomically to path: a temporary file in the same directory
 * (".NAME.XXXXXX", which node_exporter's *.prom glob does not match),
 * mode 0644, fsync'd, then renamed over path. On failure nothing is left
 * behind and path is unchanged. */
int report_write_metrics_file(const char *path, const char *text);

/* Wire format of PROTO_REQ_REPORT (for the handler): the JSON text is sent
 * as consecutive pieces of at most REPORT_CHUNK_MAX bytes, each in the
 * PF_DETAILS of one PROTO_REP_OK, then PROTO_REP_END with PF_COUNT = the
 * number of pieces. The text has no byte below 0x20 and no 0x7f (json-c
 * escapes control characters; report_build puts '?' for DEL and broken
 * UTF-8 in the file names and texts it quotes), so plain byte slices, even
 * through a UTF-8 sequence, are valid PF_DETAILS values. */
#define REPORT_CHUNK_MAX 4096

#endif
