/* SPDX-License-Identifier: BSD-3-Clause */
/* jitctl report: how the governance report (JSON schema in jitd/report.h)
 * is shown to a person. */
#ifndef JITCTL_REPORT_VIEW_H
#define JITCTL_REPORT_VIEW_H

#include <stdio.h>

/* Longest report text jitctl accepts from jitd. */
#define REPORT_VIEW_TEXT_MAX (16 * 1024 * 1024)

/* The report as aligned sections: standing privilege (with where each rule
 * is), grants, approval, revocation, break-glass. -EBADMSG when json is not
 * a report of the expected shape (nothing printed then); -ENOMEM. */
int report_view_text(FILE *f, const char *json);

#endif
