/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The listening socket: socket activation (jitd.socket) or our own, in a
 * directory that must be root's and writable by nobody else (a user who can
 * write there could put their own server on the path); accepting connections
 * and handing them to conn.c, whose requests go to dispatch.c.
 */
#ifndef JITD_SERVER_H
#define JITD_SERVER_H

#include <stddef.h>

#include "jitd.h"

/* why says what failed. */
int server_listen(struct jitd *d, char *why, size_t why_size);
void server_close(struct jitd *d);

#endif
