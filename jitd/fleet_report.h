/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * report with [fleet] (fleet_report.c): this host's report (report.h) with
 * one more key, "fleet", the fleet's figures:
 *
 *   "fleet": {
 *     "active_grants": N,         the sum over "hosts"
 *     "hosts": [{"host": H, "active_grants": N, "active_fleet_grants": N,
 *                "last_event_at": T | null}, ...]
 *                                 standing privilege per host (jit.hosts, those
 *                                 --host matches), as that host's uploaded audit
 *                                 says: its grants (fleet copies and its own:
 *                                 break-glass, the PAM prompt's) whose last
 *                                 "activated" (or "break-glass") event comes after
 *                                 their last end event (expired, revoked,
 *                                 released, denied, cancelled). As of the host's
 *                                 newest uploaded event, last_event_at: a host
 *                                 that is behind shows what it last said.
 *     "grants": {"total": N, "open": N, "revoked": N, "released": N, "denied": N,
 *                "cancelled": N}   fleet grants requested since "since", by their
 *                                 state in the database (with --host: those whose
 *                                 scope matches a matching host)
 *     "time_to_approve_s": {"count", "sum", "median", "p95"}
 *                                 request to the approval that completed it: the
 *                                 k-th approval in time, k = the approvals this
 *                                 host's role of that name asks for (1 when this
 *                                 host has no such role); grants with fewer
 *                                 approvals, and break-glass grants, not counted
 *     "time_to_revoke_ms": {"count", "sum", "median", "p95", "incomplete"}
 *                                 revocation or release recorded in the fleet
 *                                 (jit.revocations) to the teardown of the LAST
 *                                 host that had enforced the grant (an
 *                                 "activated" event): each host's first
 *                                 "torn-down" event's done_ms, or without one its
 *                                 first end event (whole seconds); negative
 *                                 counts as 0. incomplete: grants some such host
 *                                 has not uploaded an end for (down, or behind)
 *     "break_glass": {"uses": N, "reviews_pending": N,
 *                     "hosts": [{"host": H, "uses": N, "reviews_pending": N}, ...]}
 *                                 each host's own break-glass grants (jit.hosts,
 *                                 those --host matches), as its uploaded audit
 *                                 says: uses, its grants with a "break-glass"
 *                                 event since "since"; reviews_pending, those
 *                                 (whenever used: a backlog has no window) with
 *                                 no "reviewed" event for the same (host,
 *                                 host_grant). The totals are the sums.
 *     "pattern": "..."            with --host
 *     "error": "..."              the fleet part is incomplete: why
 *   }
 *
 * Percentiles are nearest-rank (percentile_disc), as in report.h; null with no
 * values.
 */
#ifndef JITD_FLEET_REPORT_H
#define JITD_FLEET_REPORT_H

#include <stdint.h>

#include "request.h"

/* json: this host's report (taken). Answers later, as json_reply.h. */
int fleet_report(struct request *req, char *json, int64_t since, const char *pattern);

#endif
