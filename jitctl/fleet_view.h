/* SPDX-License-Identifier: BSD-3-Clause */
/* jitctl: the fleet's documents (show F12, audit verify, report with
 * [fleet]) shown to a person. Each returns 0, or -EBADMSG when json is not
 * of the expected shape. */
#ifndef JITCTL_FLEET_VIEW_H
#define JITCTL_FLEET_VIEW_H

#include <stddef.h>
#include <stdio.h>

/* show F12 (jitd/handlers_fleet_show.c): the fields, the end, each
 * approval, whether this host enforces it, and one line per host from the
 * uploaded audit. */
int fleet_view_show(FILE *f, const char *json);

/* audit verify's document (jitd/fleet_audit.h): one line per host of the
 * fleet copy, "intact", "keyed: links checked", or where it breaks and why.
 * *ret_ok: every host intact and the fleet part complete. The local part
 * is the caller's to show. */
#include <stdbool.h>
int fleet_view_verify(FILE *f, const char *json, bool *ret_ok);
/* report's "fleet" key (jitd/fleet_report.h), after this host's figures:
 * standing privilege per host, the fleet's grants, time to approve and to
 * revoke. Nothing when the report has no "fleet". *ret_ok: the fleet part
 * is complete. */
int fleet_view_report(FILE *f, const char *json, bool *ret_ok);

/* review's fleet part (jitd/fleet_review.h): the n lines jitd sent after
 * this host's grants, each with its details (JSON text) or NULL. Prints
 * "fleet:" and each line, and, when one is another host's grant, that a
 * review is made on the grant's own host. Nothing when n is 0 (no [fleet]). */
void fleet_view_reviews(FILE *f, char *const *lines, char *const *details, size_t n);
/* review --json --fleet: {"local": local (taken), "fleet": [FLEET_REVIEW...]
 * | null, "fleet_error": WHY, "fleet_more": true} ("fleet" null: no [fleet],
 * or the fleet part is missing, and then "fleet_error"; "fleet_more" when
 * jitd left some out). 0 or -ENOMEM (local is freed then too). */
struct json_object;
int fleet_view_reviews_json(struct json_object *local, char *const *details, size_t n, struct json_object **ret);

#endif
