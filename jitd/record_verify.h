/* SPDX-License-Identifier: BSD-3-Clause */
/* audit verify's check of the sealed recordings (jitd/record_verify.c). */
#ifndef JITD_RECORD_VERIFY_H
#define JITD_RECORD_VERIFY_H

#include <stdint.h>

#include "request.h"

/* Bytes hashed per turn of the loop. */
#define RECORDING_VERIFY_STEP_BYTES (256 * 1024)

/* After the chain verified (chain_seq: its last event): 0 when the chain
 * seals no recording (the caller answers as before); 1 when the answer is
 * given now or later (the connection is held while the recordings are
 * hashed again); <0 on a store failure, nothing answered. */
int record_verify_start(struct request *req, int64_t chain_seq);

#endif
