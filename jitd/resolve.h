/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A host name resolved off the event loop. getaddrinfo() blocks for as long
 * as DNS takes (seconds when a server is away), and jitd's loop must not wait
 * for it: each lookup runs in a detached thread and its answer comes back
 * through a socketpair that the loop watches.
 *
 * The thread shares nothing with the loop but that socket: it owns its copy
 * of the name, sends a fixed-size answer with MSG_NOSIGNAL and frees what it
 * owns, whether or not anyone still listens. So a cancel, or the timeout,
 * only closes the loop's end; the thread finishes on its own.
 *
 * Bounds: an answer within RESOLVE_TIMEOUT_USEC (else -ETIMEDOUT), and at
 * most RESOLVE_MAX_THREADS lookups running at once, counting those whose
 * answer nobody waits for any more (else resolve_start says -EAGAIN).
 *
 * An address literal (IPv4, IPv6) is answered without a thread, through the
 * same socket. Nothing here logs.
 */
#ifndef JITD_RESOLVE_H
#define JITD_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESOLVE_TIMEOUT_USEC (5 * UINT64_C(1000000))
#define RESOLVE_MAX_THREADS  4
/* An address as text, IPv6 with a zone included. */
#define RESOLVE_ADDR_MAX     64

struct sd_event;
struct resolve_job;

/* The lookup's end: r 0 and addr, the first address as numeric text, or a
 * negative errno (addr NULL): -ENXIO the name does not resolve, -EAGAIN a
 * temporary failure, -ETIMEDOUT no answer in time. addr is valid during the
 * call; the job is gone once it is called. */
typedef void (*resolve_done_fn)(int r, const char *addr, void *userdata);

/* Resolves name (port may be NULL) from the loop of e; cb comes exactly once
 * from that loop, never from within resolve_start, unless the job is
 * cancelled first. -EINVAL for an empty name or a Unix socket path (starting
 * with '/' or '@': nothing to resolve), -EAGAIN when too many lookups run. */
int resolve_start(struct sd_event *e, const char *name, const char *port, resolve_done_fn cb, void *userdata,
                  struct resolve_job **ret);

/* No callback after it returns. NULL is fine; a job whose callback came is
 * gone and must not be cancelled. */
void resolve_cancel(struct resolve_job *j);

/* An IPv4 or IPv6 literal, which needs no lookup. */
bool resolve_is_literal(const char *name);

/* Lookups running now (threads not yet finished). */
unsigned resolve_running(void);

/* For tests only: the lookup a thread runs (0 or a negative errno, the
 * address as numeric text in addr), and the timeout; NULL and 0 put the
 * defaults back. Read when a job starts. */
typedef int (*resolve_lookup_fn)(const char *name, const char *port, char *addr, size_t size);
void resolve_set_test_hooks(resolve_lookup_fn lookup, uint64_t timeout_usec);

#endif
