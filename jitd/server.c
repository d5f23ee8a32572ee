/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The socket side of jitd: listening, accepting, reading one datagram at a time
 * and queueing replies. A slow reader never blocks the loop: replies that do
 * not fit in the socket buffer wait in a per-connection queue and the
 * connection is not read again until that queue drains.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "jitd.h"

struct frame {
        struct frame *next;
        size_t len;
        uint8_t data[];
};

struct conn {
        struct conn *prev, *next;
        int fd;
        uint64_t serial;            /* unique for jitd's lifetime: deferred replies find us by it */
        struct ucred cred;
        uint64_t last_used;
        struct frame *out_head, *out_tail;
        bool want_out;
};

/* Tag epoll events: the listening, timer and signal fds are told apart by
 * pointer identity in main.c; connections carry their struct. */

/* Is something already answering on path? Then another jitd owns it. */
static bool socket_alive(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd, r;

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return false;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        r = connect(fd, (struct sockaddr *) &sa, sizeof(sa));
        close(fd);
        return r == 0;
}

/* Room for every connection jitd keeps, plus the database, the ticket
 * engine's transfers and teardown's pidfds: the usual soft limit of 1024
 * would run out before JITD_MAX_CONNECTIONS and leave the listening socket
 * readable but unacceptable. The hard limit is left as the admin set it. */
static void raise_fd_limit(void)
{
        struct rlimit rl;
        rlim_t want = JITD_MAX_CONNECTIONS * 4;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
                return;
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
}

int server_listen(struct jitd *d)
{
        const char *path = d->config->socket;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int n, fd, r;

        raise_fd_limit();

        /* Socket activation first (jitd.socket); the path in the config is
         * then only what the unit says too. */
        n = sd_listen_fds(1);
        if (n > 1)
                return -E2BIG;
        if (n == 1 && sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_SEQPACKET, 1, NULL, 0) > 0) {
                d->listen_fd = SD_LISTEN_FDS_START;
                d->listen_fd_ours = false;
                r = fcntl(d->listen_fd, F_GETFL);
                if (r < 0 || fcntl(d->listen_fd, F_SETFL, r | O_NONBLOCK) < 0)
                        return -errno;
                return 0;
        }

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        r = mkdir_parent(path, 0755);
        if (r < 0)
                return r;
        if (socket_alive(path))
                return -EADDRINUSE;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            /* Anyone may connect; what they may do is decided per request
             * from SO_PEERCRED. */
            chmod(path, 0666) < 0 || listen(fd, 128) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        d->listen_fd = fd;
        d->listen_fd_ours = true;
        return 0;
}

static void frames_free(struct frame *f)
{
        while (f) {
                struct frame *next = f->next;

                free(f);
                f = next;
        }
}

/* The connection is closed and unlinked at once, but its memory lives until
 * server_reap(): a later event of the same epoll batch may still point at
 * it, and sees fd < 0. */
static void conn_free(struct jitd *d, struct conn *c)
{
        if (!c || c->fd < 0)
                return;
        epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
        if (c->prev)
                c->prev->next = c->next;
        else
                d->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        frames_free(c->out_head);
        c->out_head = c->out_tail = NULL;
        d->n_conns--;
        c->prev = NULL;
        c->next = d->dead_conns;
        d->dead_conns = c;
}

void server_reap(struct jitd *d)
{
        while (d->dead_conns) {
                struct conn *c = d->dead_conns;

                d->dead_conns = c->next;
                free(c);
        }
}

void server_close(struct jitd *d)
{
        while (d->conns)
                conn_free(d, d->conns);
        server_reap(d);
        if (d->listen_fd >= 0) {
                close(d->listen_fd);
                if (d->listen_fd_ours)
                        unlink(d->config->socket);
        }
        d->listen_fd = -1;
}

static int conn_update_events(struct jitd *d, struct conn *c)
{
        /* While replies are queued we stop reading: that is the backpressure. */
        struct epoll_event ev = { .events = c->out_head ? EPOLLOUT : EPOLLIN, .data.ptr = c };

        return epoll_ctl(d->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) < 0 ? -errno : 0;
}

/* Drop the least recently used connection to make room: an idle client must
 * not be able to starve PAM of connections. */
static void evict_one(struct jitd *d)
{
        struct conn *victim = NULL;

        for (struct conn *c = d->conns; c; c = c->next)
                if (!victim || c->last_used < victim->last_used)
                        victim = c;
        if (victim) {
                log_msg(LOG_WARNING, "too many connections; dropping the idlest (pid %d uid %u)",
                        (int) victim->cred.pid, (unsigned) victim->cred.uid);
                conn_free(d, victim);
        }
}

int server_accept(struct jitd *d)
{
        for (;;) {
                struct epoll_event ev = { .events = EPOLLIN };
                socklen_t len = sizeof(struct ucred);
                struct conn *c;
                int fd;

                fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                                return 0;
                        /* Out of descriptors: the idlest connection makes
                         * room, else the waiting one would keep the listening
                         * socket readable and the loop spinning. */
                        if ((errno == EMFILE || errno == ENFILE) && d->conns) {
                                evict_one(d);
                                continue;
                        }
                        return -errno;
                }
                c = calloc(1, sizeof(*c));
                if (!c) {
                        close(fd);
                        return -ENOMEM;
                }
                c->fd = fd;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) < 0) {
                        close(fd);
                        free(c);
                        continue;
                }
                if (d->n_conns >= JITD_MAX_CONNECTIONS)
                        evict_one(d);
                ev.data.ptr = c;
                if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                        close(fd);
                        free(c);
                        continue;
                }
                c->last_used = ++d->tick;
                c->serial = ++d->conn_serial;
                c->next = d->conns;
                if (d->conns)
                        d->conns->prev = c;
                d->conns = c;
                d->n_conns++;
        }
}

/* Send what is queued; 0 when drained or waiting for EPOLLOUT, <0 when the
 * peer is gone. */
static int conn_flush(struct jitd *d, struct conn *c)
{
        while (c->out_head) {
                struct frame *f = c->out_head;
                ssize_t n = send(c->fd, f->data, f->len, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return -errno;
                }
                c->out_head = f->next;
                if (!c->out_head)
                        c->out_tail = NULL;
                free(f);
        }
        if ((c->out_head != NULL) != c->want_out) {
                c->want_out = c->out_head != NULL;
                return conn_update_events(d, c);
        }
        return 0;
}

int reply_msg(struct request *req, const struct proto_msg *m)
{
        struct conn *c = req->conn;
        uint8_t buf[PROTO_MAX_FRAME];
        struct frame *f;
        size_t len;
        int r;

        r = proto_encode(m, buf, sizeof(buf), &len);
        if (r < 0)
                return r;
        /* Fast path: nothing queued, the datagram goes straight out. */
        if (!c->out_head) {
                ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n == (ssize_t) len)
                        return 0;
                if (n < 0 && errno != EAGAIN && errno != EINTR)
                        return -errno;
        }
        f = malloc(sizeof(*f) + len);
        if (!f)
                return -ENOMEM;
        f->next = NULL;
        f->len = len;
        memcpy(f->data, buf, len);
        if (c->out_tail)
                c->out_tail->next = f;
        else
                c->out_head = f;
        c->out_tail = f;
        return conn_flush(req->d, c);
}

int reply_error(struct request *req, int err, const char *fmt, ...)
{
        struct proto_msg m;
        char text[1025];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        /* Messages can quote user input; the protocol refuses control bytes. */
        for (char *p = text; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = '?';
        proto_init(&m, PROTO_REP_ERROR);
        proto_set_u64(&m, PF_ERRNO, (uint64_t) (err < 0 ? -err : err));
        proto_set_str(&m, PF_MESSAGE, text);
        return reply_msg(req, &m);
}

int reply_grant(struct request *req, const struct jit_grant *g, const char *message)
{
        struct proto_msg m;
        int r;

        proto_init(&m, PROTO_REP_GRANT);
        r = grant_to_proto(g, &m);
        if (r >= 0)
                r = proto_set_u64(&m, PF_NOW, (uint64_t) now_realtime());
        if (r >= 0 && message)
                r = proto_set_str(&m, PF_MESSAGE, message);
        if (r < 0)
                return reply_error(req, EIO, "cannot encode grant %lld", (long long) g->id);
        return reply_msg(req, &m);
}

static void conn_read(struct jitd *d, struct conn *c)
{
        uint8_t buf[PROTO_MAX_FRAME + 1];
        struct proto_msg msg;
        struct request req = { .d = d, .conn = c, .cred = c->cred, .msg = &msg };
        char why[256];
        ssize_t n;
        int r;

        /* One datagram per wake-up keeps one chatty client from starving the
         * others; epoll is level-triggered, so the rest waits its turn. */
        n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                conn_free(d, c);
                return;
        }
        if (n < 0)
                return;
        c->last_used = ++d->tick;
        if (n > PROTO_MAX_FRAME) {
                reply_error(&req, EBADMSG, "message of %zd bytes exceeds the limit of %d", n, PROTO_MAX_FRAME);
                return;
        }
        r = proto_decode(buf, (size_t) n, &msg, why, sizeof(why));
        if (r < 0) {
                log_msg(LOG_WARNING, "refused a message from pid %d uid %u: %s", (int) c->cred.pid,
                        (unsigned) c->cred.uid, why);
                reply_error(&req, -r, "%s", why);
                return;
        }
        dispatch(&req);
}

void server_conn_event(struct jitd *d, struct conn *c, uint32_t events)
{
        if (c->fd < 0)
                return;         /* closed earlier in this batch of events */
        if (events & EPOLLOUT) {
                if (conn_flush(d, c) < 0) {
                        conn_free(d, c);
                        return;
                }
                return;
        }
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                conn_read(d, c);
}

uint64_t conn_serial(const struct conn *c)
{
        return c->serial;
}

struct conn *server_find_conn(struct jitd *d, uint64_t serial)
{
        for (struct conn *c = d->conns; c; c = c->next)
                if (c->serial == serial)
                        return c;
        return NULL;
}
