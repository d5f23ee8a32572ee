/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef JITD_AUDIT_STREAM_H
#define JITD_AUDIT_STREAM_H

#include <stdint.h>

struct request;

/* This host's trail from since (and of grant_id when not 0) as a stream,
 * after an ok {message} notice when notice is not NULL. Returns HANDLED. */
int audit_local_stream(struct request *req, int64_t since, int64_t grant_id, const char *notice);

#endif
