/* SPDX-License-Identifier: BSD-3-Clause */
/* Talking to jitd. libc only (pam_jit links this). Every call is bounded by a
 * deadline on the monotonic clock; nothing here blocks past it. */
#ifndef JIT_CLIENT_H
#define JIT_CLIENT_H

#include <stdint.h>

#include "proto.h"

#define JIT_DEFAULT_SOCKET "/run/jitd/jitd.sock"

/* Connect to the socket. -ENOENT/-ECONNREFUSED: jitd not running;
 * -ETIMEDOUT: the deadline passed (backlog full); -EPERM: the peer is not
 * root (SO_PEERCRED), so it is not jitd and nothing was sent. Returns an
 * O_CLOEXEC, non-blocking fd in *ret_fd. */
int client_connect(const char *path, int64_t deadline_ms, int *ret_fd);
/* Send one message (MSG_NOSIGNAL). */
int client_send(int fd, const struct proto_msg *m, int64_t deadline_ms);
/* Receive and decode one message. -ETIMEDOUT; -ECONNRESET when jitd closed
 * the connection; -EBADMSG/-EPROTO for a garbled reply. */
int client_recv(int fd, struct proto_msg *ret, int64_t deadline_ms);
/* Send one message with pass_fd passed along (SCM_RIGHTS; -1: none). */
int client_send_fd(int fd, const struct proto_msg *m, int64_t deadline_ms, int pass_fd);
/* The same, and the descriptor passed with the message (SCM_RIGHTS) in
 * *ret_fd (-1: none), close-on-exec, the caller's to close. */
int client_recv_fd(int fd, struct proto_msg *ret, int64_t deadline_ms, int *ret_fd);
/* connect + send + recv + close for one request and one reply. */
int client_call(const char *path, const struct proto_msg *req, struct proto_msg *ret, int timeout_ms);

#endif
