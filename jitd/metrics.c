/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <systemd/sd-event.h>

#include "log.h"
#include "metrics.h"
#include "report.h"

#define METRICS_EVERY_USEC (60 * UINT64_C(1000000))

static void write_metrics(struct jitd *d)
{
        _cleanup_free_ char *json = NULL, *text = NULL;
        int r;

        if (!d->config->metrics_file)
                return;
        r = report_build(d->store, d->config, NULL, 0, now_realtime(), &json);
        if (r >= 0)
                r = report_prometheus(json, &text);
        if (r >= 0)
                r = report_write_metrics_file(d->config->metrics_file, text);
        if (r < 0)
                log_msg(LOG_ERR, "metrics_file %s: %s", d->config->metrics_file, strerror(-r));
}

static int on_metrics(sd_event_source *s, uint64_t usec, void *userdata)
{
        write_metrics(userdata);
        (void) sd_event_source_set_time(s, usec + METRICS_EVERY_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

void metrics_arm(struct jitd *d)
{
        if (!d->config->metrics_file) {
                (void) sd_event_source_set_enabled(d->metrics_source, SD_EVENT_OFF);
                return;
        }
        if (!d->metrics_source &&
            sd_event_add_time_relative(d->event, &d->metrics_source, CLOCK_MONOTONIC, 1000000, 1000000, on_metrics,
                                       d) < 0) {
                log_msg(LOG_ERR, "metrics_file: cannot set up its timer");
                return;
        }
        (void) sd_event_source_set_enabled(d->metrics_source, SD_EVENT_ON);
}

void metrics_free(struct jitd *d)
{
        d->metrics_source = sd_event_source_disable_unref(d->metrics_source);
}
