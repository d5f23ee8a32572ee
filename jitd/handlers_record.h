/* SPDX-License-Identifier: BSD-3-Clause */
/* Handlers for session recordings (jitd/handlers_record.c). */
#ifndef JITD_HANDLERS_RECORD_H
#define JITD_HANDLERS_RECORD_H

#include "request.h"

/* A grant's recordings, one event each (PF_DETAILS JSON), then END. */
int handle_recordings(struct request *req);
/* One recording's files as open descriptors: OK (PF_DETAILS: the
 * recording), one event per file (PF_DETAILS {"name":...}, fd attached), END. */
int handle_replay(struct request *req);
/* `jitctl ssh-session`: the pipe of a tlog recording (fd attached); OK
 * {count: enum record_mode, 0 when the session is not recorded}. */
int handle_ssh_record(struct request *req);

#endif
