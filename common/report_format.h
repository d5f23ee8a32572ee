/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The governance report in the Prometheus text exposition format, for
 * node_exporter's textfile collector. Shared by jitd (the metrics_file it
 * rewrites every minute) and jitctl (report --prometheus), from the report's
 * JSON (schema in jitd/report.h), so that both print the same thing.
 *
 * Metrics (every one with # HELP and # TYPE):
 *   jit_report_timestamp_seconds                 gauge    when the figures were made
 *   jit_standing_sudo_rules                      gauge    sudo rules not managed by jitd
 *   jit_standing_sudo_root_rules                 gauge    of those, root's own
 *   jit_standing_sudo_scan_errors                gauge    sudoers files that could not be read
 *   jit_active_grants                            gauge
 *   jit_grants_total{approval="PATH"}            counter  one sample per approval path
 *   jit_time_to_approve_seconds{quantile="0.5"}  summary  also {quantile="0.95"}, _sum, _count
 *   jit_time_to_revoke_seconds{quantile="0.5"}   summary  the same, from milliseconds (3 decimals)
 *   jit_teardowns_incomplete_total               counter
 *   jit_denials_total                            counter
 *   jit_cancellations_total                      counter
 *   jit_releases_total                           counter
 *   jit_expiries_total                           counter
 *   jit_revocations_total{by="admin|ticket|other"} counter
 *   jit_break_glass_total                        counter
 *   jit_reviews_pending                          gauge
 *   jit_reviews_overdue                          gauge
 * A quantile with no observations is NaN. The counters are counters only
 * over all time (since = 0, as jitd writes the metrics file): history is
 * never deleted, so they never go down.
 *
 * With [fleet] the report has a "fleet" key (jitd/fleet_report.h; jitctl's
 * report, not jitd's metrics file), and these follow:
 *   jit_fleet_report_up                          gauge    1, or 0 when the fleet part has an
 *                                                         "error": then nothing below
 *   jit_fleet_active_grants                      gauge    the sum over the hosts
 *   jit_fleet_host_active_grants{host="H"}       gauge    one sample per host
 *   jit_fleet_host_active_fleet_grants{host="H"} gauge
 *   jit_fleet_host_last_event_timestamp_seconds{host="H"} gauge  NaN: none uploaded
 *   jit_fleet_grants{state="open|revoked|released|denied|cancelled"} gauge
 *                                                         in the window (they change state)
 *   jit_fleet_time_to_approve_seconds            summary  as the local one
 *   jit_fleet_time_to_revoke_seconds             summary  from milliseconds (3 decimals)
 *   jit_fleet_revocations_incomplete             gauge    time_to_revoke_ms.incomplete
 *   jit_fleet_break_glass_uses                   gauge    break_glass.uses (in the window)
 *   jit_fleet_break_glass_reviews_pending        gauge    break_glass.reviews_pending
 *   jit_fleet_host_break_glass_uses{host="H"}    gauge    one sample per host of break_glass.hosts
 *   jit_fleet_host_break_glass_reviews_pending{host="H"} gauge
 *                                                         (the four only when the report has
 *                                                         "break_glass": an older jitd's has not)
 * The fleet part's shape is checked with the rest: a "fleet" key of another
 * shape is -EBADMSG.
 */
#ifndef JIT_REPORT_FORMAT_H
#define JIT_REPORT_FORMAT_H

/* The report's JSON text to exposition text (newline-terminated lines).
 * -EBADMSG when json is not a report of the expected shape; -ENOMEM. */
int report_prometheus(const char *json, char **ret_text);

#endif
