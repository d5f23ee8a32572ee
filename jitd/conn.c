/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "conn.h"
#include "log.h"
#include "teardown.h"
#include "util.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* Frames a stream keeps queued before it waits for the client to read. */
#define STREAM_LOW_WATER 8

struct frame {
        struct frame *next;
        int fd;                     /* passed with the datagram (SCM_RIGHTS), then closed; -1: none */
        size_t len;
        uint8_t data[];
};

struct conn {
        struct conn *prev, *next;
        struct conn_set *set;
        int fd;
        sd_event_source *io;
        uint64_t serial;            /* unique for jitd's lifetime: late answers find us by it */
        struct ucred cred;
        int pidfd;                  /* the peer, pinned (SO_PEERPIDFD); -1 without one */
        uint64_t peer_ino;          /* its pidfs inode: unique per process for the boot; 0 unknown */
        uint64_t pid_start;         /* its start time, read when first asked */
        bool start_known;
        uint64_t last_used;
        struct frame *out_head, *out_tail;
        size_t out_bytes, out_frames;
        unsigned held;
        conn_stream_fn stream;
        void *stream_state;
        void (*stream_free)(void *state);
        int passed_fd;              /* a descriptor the current request carried; -1: none */
        bool stream_waiting;        /* next said CONN_STREAM_WAIT: until conn_stream_resume */
        bool dead;
};

struct rate {
        uid_t uid;
        double tokens;
        uint64_t at_ms;
};

#define RATE_SLOTS 128

struct conn_set {
        sd_event *event;
        conn_request_fn on_request;
        void *userdata;
        struct conn *conns;         /* doubly linked */
        struct conn *dead;          /* closed, freed after the current event */
        sd_event_source *reaper;
        unsigned n;
        uint64_t tick;
        uint64_t serial;
        struct rate rates[RATE_SLOTS];
        /* Users at their connection cap, each logged once until they are
         * below it again. */
        uid_t capped[16];
        size_t n_capped;
};

static void conn_update_events(struct conn *c);

static void stream_end(struct conn *c)
{
        if (!c->stream)
                return;
        if (c->stream_free)
                c->stream_free(c->stream_state);
        c->stream = NULL;
        c->stream_state = NULL;
        c->stream_free = NULL;
        c->stream_waiting = false;
        if (c->held)
                c->held--;
}

static void frames_free(struct conn *c)
{
        while (c->out_head) {
                struct frame *f = c->out_head;

                c->out_head = f->next;
                if (f->fd >= 0)
                        close(f->fd);
                free(f);
        }
        c->out_tail = NULL;
        c->out_bytes = c->out_frames = 0;
}

void conn_close(struct conn *c)
{
        struct conn_set *s;

        if (!c || c->dead)
                return;
        s = c->set;
        c->dead = true;
        stream_end(c);
        c->io = sd_event_source_disable_unref(c->io);
        close(c->fd);
        c->fd = -1;
        if (c->pidfd >= 0)
                close(c->pidfd);
        c->pidfd = -1;
        if (c->prev)
                c->prev->next = c->next;
        else
                s->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        frames_free(c);
        s->n--;
        for (size_t i = 0; i < s->n_capped; i++)
                if (s->capped[i] == c->cred.uid) {
                        s->capped[i] = s->capped[--s->n_capped];
                        break;
                }
        /* Freed after this event: whoever is on the stack (a handler that
         * replied into a closed connection) may still look at it. */
        c->prev = NULL;
        c->next = s->dead;
        s->dead = c;
        (void) sd_event_source_set_enabled(s->reaper, SD_EVENT_ONESHOT);
}

static int on_reap(sd_event_source *src, void *userdata)
{
        struct conn_set *s = userdata;

        (void) src;
        while (s->dead) {
                struct conn *c = s->dead;

                s->dead = c->next;
                free(c);
        }
        return 0;
}

/* One datagram, with fd passed along when fd >= 0. */
static ssize_t send_frame(int sock, const void *data, size_t len, int fd)
{
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct iovec iov = { .iov_base = (void *) data, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        struct cmsghdr *cm;

        if (fd < 0)
                return send(sock, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        memset(&u, 0, sizeof(u));
        mh.msg_control = u.buf;
        mh.msg_controllen = sizeof(u.buf);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        return sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Send what is queued; 0 when drained or waiting for the client, <0 when
 * the peer is gone. */
static int flush(struct conn *c)
{
        while (c->out_head) {
                struct frame *f = c->out_head;
                ssize_t n = send_frame(c->fd, f->data, f->len, f->fd);

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
                c->out_bytes -= f->len;
                c->out_frames--;
                if (f->fd >= 0)
                        close(f->fd);
                free(f);
        }
        return 0;
}

/* A stream tops the queue up while the client keeps reading. */
static int pump(struct conn *c)
{
        while (c->stream && !c->stream_waiting && !c->dead && c->out_frames < STREAM_LOW_WATER) {
                int r = c->stream(c, c->stream_state);

                if (r < 0)
                        return r;
                if (r == 0)
                        stream_end(c);
                else if (r == CONN_STREAM_WAIT)
                        c->stream_waiting = true;
                if (flush(c) < 0)
                        return -EPIPE;
        }
        return 0;
}

static void conn_update_events(struct conn *c)
{
        uint32_t ev = 0;

        if (c->dead)
                return;
        if (c->out_head)
                ev |= EPOLLOUT;
        else if (!c->held)
                ev |= EPOLLIN;
        /* With nothing to send and a request held, only a hang-up matters:
         * epoll reports it whatever the mask. */
        (void) sd_event_source_set_io_events(c->io, ev);
}

/* One datagram, and the first descriptor passed with it (SCM_RIGHTS) in
 * *ret_fd; any other is closed at once. MSG_TRUNC: the real length. */
static ssize_t recv_with_fd(int sock, uint8_t *buf, size_t size, int *ret_fd)
{
        union {
                char buf[CMSG_SPACE(4 * sizeof(int))];
                struct cmsghdr align;
        } u;
        struct iovec iov = { .iov_base = buf, .iov_len = size };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
        ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);

        if (n < 0)
                return n;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
                size_t k;

                if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                        continue;
                k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++) {
                        int fd;

                        memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                        if (*ret_fd < 0)
                                *ret_fd = fd;
                        else
                                close(fd);
                }
        }
        return (mh.msg_flags & MSG_TRUNC) && n <= (ssize_t) size ? (ssize_t) size + 1 : n;
}

static void conn_read(struct conn *c)
{
        uint8_t buf[PROTO_MAX_FRAME + 1];
        struct conn_set *s = c->set;
        struct proto_msg *msg;
        char why[256];
        ssize_t n;
        int r;

        n = recv_with_fd(c->fd, buf, sizeof(buf), &c->passed_fd);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                conn_close(c);
                return;
        }
        if (n < 0)
                return;
        c->last_used = ++s->tick;
        msg = malloc(sizeof(*msg));
        if (!msg) {
                conn_close(c);
                return;
        }
        if (n > PROTO_MAX_FRAME) {
                snprintf(why, sizeof(why), "message of %zd bytes exceeds the limit of %d", n, PROTO_MAX_FRAME);
                r = -EBADMSG;
        } else
                r = proto_decode(buf, (size_t) n, msg, why, sizeof(why));
        if (r < 0) {
                struct proto_msg rep;

                log_msg(LOG_WARNING, "refused a message from pid %d uid %u: %s", (int) c->cred.pid,
                        (unsigned) c->cred.uid, why);
                proto_init(&rep, PROTO_REP_ERROR);
                proto_set_u64(&rep, PF_ERRNO, (uint64_t) -r);
                proto_set_str(&rep, PF_MESSAGE, why);
                (void) conn_send(c, &rep);
                free(msg);
                return;
        }
        s->on_request(s->userdata, c, msg);
        free(msg);
        /* A descriptor no handler took goes with the request. */
        if (c->passed_fd >= 0) {
                close(c->passed_fd);
                c->passed_fd = -1;
        }
}

int conn_take_fd(struct conn *c)
{
        int fd = c->passed_fd;

        c->passed_fd = -1;
        return fd;
}

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        struct conn *c = userdata;

        (void) src;
        (void) fd;
        if (revents & EPOLLOUT) {
                if (flush(c) < 0 || pump(c) < 0) {
                        conn_close(c);
                        return 0;
                }
                conn_update_events(c);
                return 0;
        }
        if ((revents & (EPOLLHUP | EPOLLERR)) && !(revents & EPOLLIN)) {
                conn_close(c);
                return 0;
        }
        if (revents & EPOLLIN)
                conn_read(c);
        if (!c->dead)
                conn_update_events(c);
        return 0;
}

int conn_set_new(sd_event *e, conn_request_fn on_request, void *userdata, struct conn_set **ret)
{
        struct conn_set *s;
        int r;

        if (!e || !on_request || !ret)
                return -EINVAL;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = (struct conn_set) { .event = e, .on_request = on_request, .userdata = userdata };
        r = sd_event_add_post(e, &s->reaper, on_reap, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->reaper, SD_EVENT_OFF);
        if (r < 0) {
                sd_event_source_unref(s->reaper);
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}

void conn_set_free(struct conn_set *s)
{
        if (!s)
                return;
        while (s->conns)
                conn_close(s->conns);
        on_reap(NULL, s);
        sd_event_source_disable_unref(s->reaper);
        free(s);
}

unsigned conn_count(const struct conn_set *s)
{
        return s ? s->n : 0;
}

static unsigned count_uid(const struct conn_set *s, uid_t uid)
{
        unsigned n = 0;

        for (const struct conn *c = s->conns; c; c = c->next)
                n += c->cred.uid == uid;
        return n;
}

/* A user at the cap may have hung up connections whose hang-up is not
 * processed yet (it is in the same batch of events as this accept): close
 * those first, so that a client that just quit makes room at once. */
static void reap_hung_up(struct conn_set *s, uid_t uid)
{
        for (struct conn *c = s->conns, *next; c; c = next) {
                struct pollfd p = { .fd = c->fd, .events = POLLRDHUP };

                next = c->next;
                if (c->cred.uid == uid && poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR)))
                        conn_close(c);
        }
}

static void note_capped(struct conn_set *s, uid_t uid)
{
        for (size_t i = 0; i < s->n_capped; i++)
                if (s->capped[i] == uid)
                        return;
        if (s->n_capped < ELEMENTSOF(s->capped))
                s->capped[s->n_capped++] = uid;
        log_msg(LOG_WARNING, "uid %u holds %d connections already; refusing more", (unsigned) uid, CONN_MAX_PER_UID);
}

bool conn_evict_idlest(struct conn_set *s)
{
        struct conn *victim = NULL;

        /* Another user's connection before root's: root's are the PAM
         * module's, and a flood must not push them out. */
        for (struct conn *c = s->conns; c; c = c->next)
                if (!victim || (victim->cred.uid == 0 && c->cred.uid != 0) ||
                    ((victim->cred.uid == 0) == (c->cred.uid == 0) && c->last_used < victim->last_used))
                        victim = c;
        if (!victim)
                return false;
        log_msg(LOG_WARNING, "too many connections; dropping the idlest (pid %d uid %u)", (int) victim->cred.pid,
                (unsigned) victim->cred.uid);
        conn_close(victim);
        return true;
}

/* pidfds live on pidfs (Linux 6.9), where each process's inode number is
 * its own for the whole boot: then a pidfd names the process with one fstat.
 * Before that every pidfd shares one anonymous inode. */
static bool pidfs_names_processes(void)
{
        static int known = -1;
        struct stat a, b;
        int fa, fb;

        if (known >= 0)
                return known;
        fa = pidfd_open(getpid(), 0);
        fb = pidfd_open(getppid(), 0);
        known = fa >= 0 && fb >= 0 && fstat(fa, &a) == 0 && fstat(fb, &b) == 0 && a.st_ino != b.st_ino &&
                a.st_ino != 0 && b.st_ino != 0;
        if (fa >= 0)
                close(fa);
        if (fb >= 0)
                close(fb);
        return known;
}

/* The peer pinned with its pidfd (Linux 6.5), and named by the pidfd's
 * inode where pidfs gives one. Its start time (read from /proc) is only
 * needed to register a session, and read then, while the pidfd keeps its pid
 * from being reused. */
static void peer_pin(struct conn *c)
{
        socklen_t len = sizeof(int);
        struct stat st;

        c->pidfd = -1;
        if (c->cred.pid <= 0)
                return;
        if (getsockopt(c->fd, SOL_SOCKET, SO_PEERPIDFD, &c->pidfd, &len) < 0) {
                c->pidfd = -1;
                return;
        }
        if (pidfs_names_processes() && fstat(c->pidfd, &st) == 0)
                c->peer_ino = (uint64_t) st.st_ino;
}

int conn_add(struct conn_set *s, int fd)
{
        socklen_t len = sizeof(struct ucred);
        struct conn *c;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c) {
                close(fd);
                return -ENOMEM;
        }
        c->fd = fd;
        c->passed_fd = -1;
        c->set = s;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) < 0) {
                r = -errno;
                close(fd);
                free(c);
                return r;
        }
        if (c->cred.uid != 0 && count_uid(s, c->cred.uid) >= CONN_MAX_PER_UID) {
                reap_hung_up(s, c->cred.uid);
                if (count_uid(s, c->cred.uid) >= CONN_MAX_PER_UID) {
                        note_capped(s, c->cred.uid);
                        close(fd);
                        free(c);
                        return -EUSERS;
                }
        }
        if (s->n >= JITD_MAX_CONNECTIONS)
                conn_evict_idlest(s);
        peer_pin(c);
        r = sd_event_add_io(s->event, &c->io, fd, EPOLLIN, on_io, c);
        if (r < 0) {
                if (c->pidfd >= 0)
                        close(c->pidfd);
                close(fd);
                free(c);
                return r;
        }
        c->last_used = ++s->tick;
        c->serial = ++s->serial;
        c->next = s->conns;
        if (s->conns)
                s->conns->prev = c;
        s->conns = c;
        s->n++;
        return 0;
}

const struct ucred *conn_cred(const struct conn *c)
{
        return &c->cred;
}

uint64_t conn_pid_start(struct conn *c)
{
        uint64_t start = 0;

        if (c->start_known)
                return c->pid_start;
        c->start_known = true;
        if (c->cred.pid <= 0 || proc_start_time(c->cred.pid, &start) < 0)
                return 0;
        /* Read while the pid cannot have been reused: the pinned process is
         * still alive afterwards. Without a pidfd, as read. */
        if (c->pidfd >= 0 && pidfd_send_signal(c->pidfd, 0, NULL, 0) < 0)
                return 0;
        c->pid_start = start;
        return start;
}

uint64_t conn_peer_key(struct conn *c)
{
        return c->peer_ino ? c->peer_ino : conn_pid_start(c);
}

uint64_t conn_serial(const struct conn *c)
{
        return c->serial;
}

struct conn *conn_find(struct conn_set *s, uint64_t serial)
{
        for (struct conn *c = s->conns; c; c = c->next)
                if (c->serial == serial)
                        return c;
        return NULL;
}

int conn_send(struct conn *c, const struct proto_msg *m)
{
        return conn_send_fd(c, m, -1);
}

int conn_send_fd(struct conn *c, const struct proto_msg *m, int fd)
{
        uint8_t buf[PROTO_MAX_FRAME];
        struct frame *f;
        size_t len;
        int r;

        if (c->dead) {
                r = -EPIPE;
                goto fail;
        }
        r = proto_encode(m, buf, sizeof(buf), &len);
        if (r < 0)
                goto fail;
        /* Fast path: nothing queued, the datagram goes straight out. */
        if (!c->out_head) {
                ssize_t n = send_frame(c->fd, buf, len, fd);

                if (n == (ssize_t) len) {
                        if (fd >= 0)
                                close(fd);
                        return 0;
                }
                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        r = -errno;
                        conn_close(c);
                        goto fail;
                }
        }
        if (c->out_bytes + len > CONN_QUEUE_MAX_BYTES) {
                log_msg(LOG_WARNING, "pid %d uid %u does not read its replies; closing its connection",
                        (int) c->cred.pid, (unsigned) c->cred.uid);
                conn_close(c);
                r = -ENOBUFS;
                goto fail;
        }
        f = malloc(sizeof(*f) + len);
        if (!f) {
                r = -ENOMEM;
                goto fail;
        }
        f->next = NULL;
        f->fd = fd;
        f->len = len;
        memcpy(f->data, buf, len);
        if (c->out_tail)
                c->out_tail->next = f;
        else
                c->out_head = f;
        c->out_tail = f;
        c->out_bytes += len;
        c->out_frames++;
        conn_update_events(c);
        return 0;
fail:
        if (fd >= 0)
                close(fd);
        return r;
}

void conn_hold(struct conn *c)
{
        if (c->dead)
                return;
        c->held++;
        conn_update_events(c);
}

void conn_release(struct conn *c)
{
        if (c->dead || !c->held)
                return;
        c->held--;
        conn_update_events(c);
}

int conn_stream(struct conn *c, conn_stream_fn next, void *state, void (*free_state)(void *state))
{
        if (c->dead || c->stream) {
                if (free_state)
                        free_state(state);
                return -EBUSY;
        }
        c->stream = next;
        c->stream_state = state;
        c->stream_free = free_state;
        c->held++;
        if (pump(c) < 0) {
                conn_close(c);
                return -EPIPE;
        }
        conn_update_events(c);
        return 0;
}

void conn_stream_resume(struct conn *c)
{
        if (!c || c->dead || !c->stream)
                return;
        c->stream_waiting = false;
        if (pump(c) < 0) {
                conn_close(c);
                return;
        }
        conn_update_events(c);
}

bool conn_rate_ok(struct conn_set *s, uid_t uid)
{
        uint64_t now = (uint64_t) now_monotonic_ms();
        struct rate *slot = NULL, *oldest = &s->rates[0];

        if (uid == 0)
                return true;
        for (size_t i = 0; i < RATE_SLOTS; i++) {
                struct rate *r = &s->rates[i];

                if (r->at_ms && r->uid == uid) {
                        slot = r;
                        break;
                }
                if (r->at_ms < oldest->at_ms)
                        oldest = r;
        }
        if (!slot) {
                slot = oldest;
                *slot = (struct rate) { .uid = uid, .tokens = CONN_RATE_BURST, .at_ms = now };
        }
        slot->tokens += (double) (now - slot->at_ms) * CONN_RATE_PER_SEC / 1000.0;
        if (slot->tokens > CONN_RATE_BURST)
                slot->tokens = CONN_RATE_BURST;
        slot->at_ms = now ? now : 1;
        if (slot->tokens < 1)
                return false;
        slot->tokens -= 1;
        return true;
}
