/* SPDX-License-Identifier: BSD-3-Clause */
/* audit verify's check of the sealed recordings (jitd/record_verify.c). */
#ifndef JITD_RECORD_VERIFY_H
#define JITD_RECORD_VERIFY_H

#include <stdint.h>

#include <json-c/json.h>

#include "request.h"

/* Bytes hashed per turn of the loop. */
#define RECORDING_VERIFY_STEP_BYTES (256 * 1024)

/* After the chain verified (chain_seq: its last event): 0 when the chain
 * seals no recording (the caller answers as before); 1 when the answer is
 * given now or later (the connection is held while the recordings are
 * hashed again); <0 on a store failure, nothing answered.
 *
 * local: NULL for the plain answer (ok {count, message} or an error);
 * otherwise the "local" part of audit verify's document (fleet_audit.h),
 * which gets "recordings": {checked, bad, message} and is handed with the
 * held request's serial and pattern to then (fleet_audit_verify_later: the
 * fleet's part; a pointer, so that this file calls nothing above it). It
 * is taken over only when 1 is returned. */
typedef void (*record_verify_then_fn)(struct jitd *d, uint64_t serial, json_object *local, const char *pattern);
int record_verify_start(struct request *req, int64_t chain_seq, json_object *local, const char *pattern,
                        record_verify_then_fn then);

#endif
