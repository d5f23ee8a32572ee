/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "resolve.h"

/* What a lookup sends back: one datagram of a fixed size, so that a read
 * gets all of it or nothing. */
struct answer {
        int r;
        char addr[RESOLVE_ADDR_MAX];
};

/* The thread's own: freed by the thread, never touched by the loop. */
struct request {
        char *name, *port;
        int fd;
        resolve_lookup_fn lookup;
};

struct resolve_job {
        sd_event_source *io, *timer;
        int fd;
        resolve_done_fn cb;
        void *userdata;
};

static atomic_uint running;
static resolve_lookup_fn test_lookup;
static uint64_t test_timeout_usec;

static int eai_errno(int eai, int saved_errno)
{
        switch (eai) {
        case EAI_NONAME:
        case EAI_NODATA:
        case EAI_ADDRFAMILY:
                return -ENXIO;
        case EAI_AGAIN:
                return -EAGAIN;
        case EAI_MEMORY:
                return -ENOMEM;
        case EAI_SYSTEM:
                return saved_errno > 0 ? -saved_errno : -EIO;
        case EAI_FAIL:
                return -EIO;
        default:
                return -EINVAL;
        }
}

/* The first address getaddrinfo gives (its order: RFC 6724), as text. */
static int lookup_flags(const char *name, const char *port, int flags, char *addr, size_t size)
{
        const struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = flags };
        struct addrinfo *ai;
        int r;

        r = getaddrinfo(name, port, &hints, &ai);
        if (r != 0)
                return eai_errno(r, errno);
        r = getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, size, NULL, 0, NI_NUMERICHOST);
        r = r != 0 ? eai_errno(r, errno) : 0;
        freeaddrinfo(ai);
        return r;
}

static int lookup_default(const char *name, const char *port, char *addr, size_t size)
{
        return lookup_flags(name, port, 0, addr, size);
}

bool resolve_is_literal(const char *name)
{
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_flags = AI_NUMERICHOST }, *ai;

        if (!name || !name[0] || getaddrinfo(name, NULL, &hints, &ai) != 0)
                return false;
        freeaddrinfo(ai);
        return true;
}

unsigned resolve_running(void)
{
        return atomic_load(&running);
}

void resolve_set_test_hooks(resolve_lookup_fn lookup, uint64_t timeout_usec)
{
        test_lookup = lookup;
        test_timeout_usec = timeout_usec;
}

static void request_free(struct request *q)
{
        free(q->name);
        free(q->port);
        free(q);
}

static void *lookup_thread(void *p)
{
        struct request *q = p;
        struct answer a = { 0 };

        a.r = q->lookup(q->name, q->port, a.addr, sizeof(a.addr));
        if (a.r > 0)
                a.r = -EIO;
        a.addr[sizeof(a.addr) - 1] = '\0';
        /* Nobody may be listening any more (cancelled, timed out): then
         * this fails with EPIPE, and MSG_NOSIGNAL keeps SIGPIPE away. */
        (void) send(q->fd, &a, sizeof(a), MSG_NOSIGNAL);
        close(q->fd);
        request_free(q);
        atomic_fetch_sub(&running, 1);
        return NULL;
}

/* A slot among RESOLVE_MAX_THREADS, or none. */
static bool slot_take(void)
{
        unsigned n = atomic_load(&running);

        do {
                if (n >= RESOLVE_MAX_THREADS)
                        return false;
        } while (!atomic_compare_exchange_weak(&running, &n, n + 1));
        return true;
}

/* Starts the lookup thread, which takes fd; on failure fd is the caller's. */
static int thread_start(const char *name, const char *port, int fd)
{
        struct request *q;
        pthread_attr_t attr;
        sigset_t all, old;
        pthread_t t;
        int r;

        if (!slot_take())
                return -EAGAIN;
        q = calloc(1, sizeof(*q));
        if (!q) {
                atomic_fetch_sub(&running, 1);
                return -ENOMEM;
        }
        q->name = strdup(name);
        q->port = port ? strdup(port) : NULL;
        q->fd = fd;
        q->lookup = test_lookup ? test_lookup : lookup_default;
        if (!q->name || (port && !q->port)) {
                request_free(q);
                atomic_fetch_sub(&running, 1);
                return -ENOMEM;
        }
        r = pthread_attr_init(&attr);
        if (r == 0) {
                (void) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                /* No signal for this thread: they are the loop's (signalfd). */
                sigfillset(&all);
                (void) pthread_sigmask(SIG_SETMASK, &all, &old);
                r = pthread_create(&t, &attr, lookup_thread, q);
                (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
                (void) pthread_attr_destroy(&attr);
        }
        if (r != 0) {
                request_free(q);
                atomic_fetch_sub(&running, 1);
                return -r;
        }
        return 0;
}

static void job_free(struct resolve_job *j)
{
        j->io = sd_event_source_disable_unref(j->io);
        j->timer = sd_event_source_disable_unref(j->timer);
        if (j->fd >= 0)
                close(j->fd);
        free(j);
}

void resolve_cancel(struct resolve_job *j)
{
        if (j)
                job_free(j);
}

/* The job is freed before the callback, which may start another. */
static void job_done(struct resolve_job *j, int r, const char *addr)
{
        resolve_done_fn cb = j->cb;
        void *userdata = j->userdata;

        job_free(j);
        cb(r, r < 0 ? NULL : addr, userdata);
}

static int on_answer(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct answer a;
        ssize_t n;

        (void) s;
        (void) revents;
        n = recv(fd, &a, sizeof(a), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n != (ssize_t) sizeof(a))
                /* The thread's end closed without an answer: cannot happen
                 * but by a bug; say so rather than wait for the timeout. */
                job_done(userdata, n < 0 ? -errno : -EIO, NULL);
        else
                job_done(userdata, a.r < 0 ? a.r : 0, a.addr);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void) s;
        (void) usec;
        job_done(userdata, -ETIMEDOUT, NULL);
        return 0;
}

int resolve_start(sd_event *e, const char *name, const char *port, resolve_done_fn cb, void *userdata,
                  struct resolve_job **ret)
{
        struct resolve_job *j;
        int sv[2], r;

        if (!e || !name || !cb || !ret || !name[0] || name[0] == '/' || name[0] == '@')
                return -EINVAL;
        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->fd = -1;
        j->cb = cb;
        j->userdata = userdata;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0) {
                r = -errno;
                job_free(j);
                return r;
        }
        j->fd = sv[0];
        r = sd_event_add_io(e, &j->io, j->fd, EPOLLIN, on_answer, j);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &j->timer, CLOCK_MONOTONIC,
                                               test_timeout_usec ? test_timeout_usec : RESOLVE_TIMEOUT_USEC, 0,
                                               on_timeout, j);
        if (r >= 0 && resolve_is_literal(name)) {
                /* No lookup, no thread: the answer goes the same way, so
                 * that it too comes from the loop. */
                struct answer a = { 0 };

                a.r = lookup_flags(name, port, AI_NUMERICHOST, a.addr, sizeof(a.addr));
                if (send(sv[1], &a, sizeof(a), MSG_NOSIGNAL) < 0)
                        r = -errno;
                close(sv[1]);
        } else if (r >= 0) {
                r = thread_start(name, port, sv[1]);
                if (r < 0)
                        close(sv[1]);
        } else {
                close(sv[1]);
        }
        if (r < 0) {
                job_free(j);
                return r;
        }
        *ret = j;
        return 0;
}
