/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Client connections: who is on the other end (the kernel's word: uid, pid,
 * and the start time of that pid), reading one datagram at a time, and the
 * replies queued for it. Every resource a client controls is bounded here:
 *
 *   - connections: JITD_MAX_CONNECTIONS in all, CONN_MAX_PER_UID per user
 *     (root, the PAM module's uid, is bounded only by the total, and the
 *     idlest connection of another user makes room for it);
 *   - replies: CONN_QUEUE_MAX_BYTES queued per connection; a listing is a
 *     stream, produced page by page as the client reads, never all at once;
 *   - requests: CONN_RATE_PER_SEC per user (burst CONN_RATE_BURST), root
 *     exempt: past it, a request is answered "too many requests".
 *
 * A connection carries one request at a time: while a request is held (its
 * answer waits for a bus, a ticket system, a retry), the connection is not
 * read, which is also the backpressure.
 */
#ifndef JITD_CONN_H
#define JITD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "proto.h"

#define JITD_MAX_CONNECTIONS    1024
#define CONN_MAX_PER_UID        32
#define CONN_QUEUE_MAX_BYTES    (256 * 1024)
#define CONN_RATE_PER_SEC       50
#define CONN_RATE_BURST         200

struct sd_event;
struct conn;
struct conn_set;

/* Called for every well-formed request; the handler replies (now or later). */
typedef void (*conn_request_fn)(void *userdata, struct conn *c, const struct proto_msg *m);

int conn_set_new(struct sd_event *e, conn_request_fn on_request, void *userdata, struct conn_set **ret);
void conn_set_free(struct conn_set *s);
/* Take an accepted socket. -EUSERS when its user holds CONN_MAX_PER_UID
 * connections already (the socket is closed). */
int conn_add(struct conn_set *s, int fd);
/* Make room when accept() runs out of descriptors: close the idlest
 * connection, another user's before root's. false when there is none. */
bool conn_evict_idlest(struct conn_set *s);
unsigned conn_count(const struct conn_set *s);

/* The peer, from the kernel at accept time. */
const struct ucred *conn_cred(const struct conn *c);
/* The start time of the peer's process, read the first time it is asked
 * while the peer is pinned by its pidfd (0: it is gone, or unknown). */
uint64_t conn_pid_start(struct conn *c);
/* What names the peer's process for good: its pidfs inode (Linux 6.9), else
 * its start time. For binding something to that process (tokens). */
uint64_t conn_peer_key(struct conn *c);
uint64_t conn_serial(const struct conn *c);
/* NULL when that connection is gone. */
struct conn *conn_find(struct conn_set *s, uint64_t serial);

/* Queue one message; it is sent as the client reads. -ENOBUFS when the
 * queue is over its cap (the connection is closed: a client that does not
 * read loses it). */
int conn_send(struct conn *c, const struct proto_msg *m);
/* The same with an open descriptor passed along (SCM_RIGHTS): conn_send_fd
 * takes fd over and closes it once sent, or on failure. */
int conn_send_fd(struct conn *c, const struct proto_msg *m, int fd);
/* The descriptor the request being handled carried (SCM_RIGHTS), now the
 * caller's; -1 when it carried none. One not taken is closed after the
 * handler returns. */
int conn_take_fd(struct conn *c);
/* Not read again until released: the request's answer comes later. */
void conn_hold(struct conn *c);
void conn_release(struct conn *c);
/* Drop the connection now. */
void conn_close(struct conn *c);

/* A reply of any size, produced by next() whenever the queue has room:
 * next returns 1 when it has more, 0 after its last message (the END), <0
 * on failure (the connection is closed). state is freed with free_state
 * when the stream ends or the connection goes. The connection is held for
 * the whole stream. */
typedef int (*conn_stream_fn)(struct conn *c, void *state);
int conn_stream(struct conn *c, conn_stream_fn next, void *state, void (*free_state)(void *state));
/* next may also return CONN_STREAM_WAIT: nothing to send now (a page is
 * being read from the fleet database); next is not called again until
 * conn_stream_resume(). */
#define CONN_STREAM_WAIT 2
void conn_stream_resume(struct conn *c);

/* Per-user request rate: false (and the request is to be refused) when uid
 * is over its budget. Root is never limited. */
bool conn_rate_ok(struct conn_set *s, uid_t uid);

#endif
