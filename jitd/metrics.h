/* SPDX-License-Identifier: BSD-3-Clause */
/* [jitd] metrics_file: the report as a Prometheus textfile, rewritten every
 * minute. Only with metrics_file set does the timer run: an idle jitd sleeps. */
#ifndef JITD_METRICS_H
#define JITD_METRICS_H

#include "jitd.h"

/* Arm (or disarm) the timer as the config says. */
void metrics_arm(struct jitd *d);
void metrics_free(struct jitd *d);

#endif
