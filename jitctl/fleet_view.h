/* SPDX-License-Identifier: BSD-3-Clause */
/* jitctl: the fleet's documents (show F12, audit verify, report with
 * [fleet]) shown to a person. Each returns 0, or -EBADMSG when json is not
 * of the expected shape. */
#ifndef JITCTL_FLEET_VIEW_H
#define JITCTL_FLEET_VIEW_H

#include <stdio.h>

/* show F12 (jitd/handlers_fleet_show.c): the fields, the end, each
 * approval, whether this host enforces it, and one line per host from the
 * uploaded audit. */
int fleet_view_show(FILE *f, const char *json);

#endif
