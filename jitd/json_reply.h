/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A JSON document as a reply: consecutive pieces of at most
 * JSON_REPLY_CHUNK_MAX bytes, each in the PF_DETAILS of one PROTO_REP_OK,
 * then PROTO_REP_END with PF_COUNT = the number of pieces, produced as the
 * client reads (a stream: never the whole document queued at once). The
 * report (jitd/report.h) and the fleet's views (show of a fleet grant, its
 * audit verification, its report) travel this way.
 *
 * The text must hold no byte below 0x20 and no 0x7f (json-c escapes control
 * characters in strings and prints plain JSON on one line), so plain byte
 * slices, even through a UTF-8 sequence, are valid PF_DETAILS values.
 */
#ifndef JITD_JSON_REPLY_H
#define JITD_JSON_REPLY_H

#include <stdint.h>

#include "request.h"

#define JSON_REPLY_CHUNK_MAX 4096

/* Starts the stream; json is taken (freed when done). HANDLED. */
int reply_json(struct request *req, char *json);
/* The same for a held connection (released); json is taken. A connection
 * gone meanwhile is no error. */
void later_reply_json(struct jitd *d, uint64_t serial, char *json);

#endif
