/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for common/client.c against a small server on a pthread, bound to
 * a SOCK_SEQPACKET socket in a fresh mkdtemp() directory. The server never
 * calls ck_assert (it is not the test's thread): it writes the first problem it
 * sees into srv->error, which the test checks after server_stop(). Every test
 * counts /proc/self/fd before and after, so any descriptor the client leaks
 * fails it.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "proto.h"
#include "util.h"

#define SLACK_MS 300            /* generous: valgrind runs these too */

enum serve_mode {
        SERVE_ECHO,             /* answer every request (see build_reply) until hang-up */
        SERVE_SILENT,           /* read requests, never answer */
        SERVE_HOLD,             /* never read at all, wait for hang-up */
        SERVE_CLOSE,            /* read the request, then close */
        SERVE_CLOSE_AT_ONCE,    /* accept and close without reading */
        SERVE_REPLY_CLOSE,      /* answer, then close at once */
        SERVE_RAW,              /* answer every request with srv->raw */
};

struct server {
        char dir[64];
        char path[128];
        int lfd;
        int stop[2];
        enum serve_mode mode;
        const uint8_t *raw;
        size_t raw_len;
        unsigned stream;        /* SERVE_ECHO: grants sent in answer to LIST */
        pthread_t thread;
        bool running;
        /* What the server saw; read after server_stop(). */
        unsigned conns, requests;
        uid_t peer_uid;
        struct proto_msg last;
        char error[256];
};

static int count_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int n = 0;

        ck_assert_ptr_nonnull(d);
        while ((e = readdir(d)))
                if (e->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

static void server_fail(struct server *srv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void server_fail(struct server *srv, const char *fmt, ...)
{
        va_list ap;

        if (srv->error[0])
                return;
        va_start(ap, fmt);
        vsnprintf(srv->error, sizeof(srv->error), fmt, ap);
        va_end(ap);
}

/* Wait until fd has events (or, for events == 0, hang-up) or stop is signalled.
 * 1: fd ready; 0: stopped or safety timeout. */
static int server_wait(struct server *srv, int fd, short events)
{
        for (;;) {
                struct pollfd p[2] = { { .fd = fd, .events = events }, { .fd = srv->stop[0], .events = POLLIN } };
                int n = poll(p, 2, 30000);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return 0;
                if (p[1].revents)
                        return 0;
                return 1;
        }
}

static void send_msg(struct server *srv, int fd, const struct proto_msg *m)
{
        uint8_t buf[PROTO_MAX_FRAME];
        size_t len = 0;
        int r = proto_encode(m, buf, sizeof(buf), &len);

        if (r < 0) {
                server_fail(srv, "server: encode: %s", strerror(-r));
                return;
        }
        if (send(fd, buf, len, MSG_NOSIGNAL) != (ssize_t) len)
                server_fail(srv, "server: send: %m");
}

static void build_reply(struct server *srv, int fd, const struct proto_msg *req)
{
        static _Thread_local struct proto_msg rep;
        static _Thread_local char big[4097];

        switch (req->type) {
        case PROTO_REQ_PING:
                proto_init(&rep, PROTO_REP_OK);
                proto_set_str(&rep, PF_VERSION, "test-1.0");
                proto_set_u64(&rep, PF_NOW, (uint64_t) now_realtime());
                proto_set_u64(&rep, PF_UID, srv->peer_uid);
                proto_set_str(&rep, PF_USER, "tester");
                proto_set_str(&rep, PF_HOST, "unit.example.com");
                break;
        case PROTO_REQ_CHECK: {
                const char *user = proto_get_str(req, PF_USER), *service = proto_get_str(req, PF_SERVICE);
                char msg[128];

                proto_init(&rep, PROTO_REP_DECISION);
                if (user && strcmp(user, "alice") == 0) {
                        proto_set_u64(&rep, PF_DECISION, PROTO_DECISION_ALLOW);
                        proto_set_u64(&rep, PF_ID, 7);
                        proto_set_str(&rep, PF_ROLE, "dba");
                        proto_set_u64(&rep, PF_EXPIRES_AT, 1700003600);
                } else
                        proto_set_u64(&rep, PF_DECISION, PROTO_DECISION_IGNORE);
                snprintf(msg, sizeof(msg), "user %s service %s", user ? user : "-", service ? service : "-");
                proto_set_str(&rep, PF_MESSAGE, msg);
                break;
        }
        case PROTO_REQ_STATUS:
                /* A big reply: close to the largest legal message. */
                proto_init(&rep, PROTO_REP_OK);
                memset(big, 'd', sizeof(big) - 1);
                big[sizeof(big) - 1] = '\0';
                proto_set_str(&rep, PF_DETAILS, big);
                big[1024] = '\0';
                proto_set_str(&rep, PF_MESSAGE, big);
                proto_set_u64(&rep, PF_COUNT, 4096);
                break;
        case PROTO_REQ_LIST:
                for (unsigned i = 0; i < srv->stream; i++) {
                        proto_init(&rep, PROTO_REP_GRANT);
                        proto_set_u64(&rep, PF_ID, i + 1);
                        proto_set_str(&rep, PF_USER, "alice");
                        proto_set_str(&rep, PF_STATE, "active");
                        send_msg(srv, fd, &rep);
                }
                proto_init(&rep, PROTO_REP_END);
                proto_set_u64(&rep, PF_COUNT, srv->stream);
                break;
        default:
                proto_init(&rep, PROTO_REP_ERROR);
                proto_set_u64(&rep, PF_ERRNO, EPERM);
                proto_set_str(&rep, PF_MESSAGE, proto_type_name(req->type));
                break;
        }
        send_msg(srv, fd, &rep);
}

static void serve_conn(struct server *srv, int fd)
{
        static _Thread_local uint8_t buf[PROTO_MAX_FRAME + 1];
        static _Thread_local struct proto_msg req;
        struct ucred cred;
        socklen_t sl = sizeof(cred);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &sl) < 0)
                server_fail(srv, "server: SO_PEERCRED: %m");
        else
                srv->peer_uid = cred.uid;
        if (srv->mode == SERVE_CLOSE_AT_ONCE)
                return;
        if (srv->mode == SERVE_HOLD) {
                server_wait(srv, fd, 0);        /* POLLHUP is always reported */
                return;
        }
        for (;;) {
                ssize_t n;
                char why[256];
                int r;

                if (!server_wait(srv, fd, POLLIN))
                        return;
                n = recv(fd, buf, sizeof(buf), 0);
                if (n == 0)
                        return;                 /* the client hung up */
                if (n < 0) {
                        server_fail(srv, "server: recv: %m");
                        return;
                }
                r = proto_decode(buf, (size_t) n, &req, why, sizeof(why));
                if (r < 0) {
                        server_fail(srv, "server: bad request: %s", why);
                        return;
                }
                srv->requests++;
                srv->last = req;
                switch (srv->mode) {
                case SERVE_ECHO:
                        build_reply(srv, fd, &req);
                        break;
                case SERVE_SILENT:
                        break;
                case SERVE_CLOSE:
                        return;
                case SERVE_REPLY_CLOSE:
                        build_reply(srv, fd, &req);
                        return;
                case SERVE_RAW:
                        if (send(fd, srv->raw, srv->raw_len, MSG_NOSIGNAL) != (ssize_t) srv->raw_len)
                                server_fail(srv, "server: send raw: %m");
                        break;
                default:
                        return;
                }
        }
}

static void *server_main(void *arg)
{
        struct server *srv = arg;

        while (server_wait(srv, srv->lfd, POLLIN)) {
                int fd = accept4(srv->lfd, NULL, NULL, SOCK_CLOEXEC);

                if (fd < 0) {
                        server_fail(srv, "server: accept: %m");
                        break;
                }
                srv->conns++;
                serve_conn(srv, fd);
                close(fd);
        }
        return NULL;
}

/* A temp directory and the socket path in it; nothing bound yet. */
static void server_init(struct server *srv)
{
        memset(srv, 0, sizeof(*srv));
        srv->lfd = -1;
        srv->stop[0] = srv->stop[1] = -1;
        strcpy(srv->dir, "/tmp/check_client.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(srv->dir));
        snprintf(srv->path, sizeof(srv->path), "%s/jitd.sock", srv->dir);
}

static int bind_socket(const char *path, int type)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
        strcpy(sa.sun_path, path);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        return fd;
}

/* Bind, listen, and serve on a thread until server_stop(). */
static void server_start(struct server *srv, enum serve_mode mode)
{
        srv->mode = mode;
        srv->lfd = bind_socket(srv->path, SOCK_SEQPACKET);
        ck_assert_int_eq(listen(srv->lfd, 16), 0);
        ck_assert_int_eq(pipe2(srv->stop, O_CLOEXEC), 0);
        ck_assert_int_eq(pthread_create(&srv->thread, NULL, server_main, srv), 0);
        srv->running = true;
}

static void server_stop(struct server *srv)
{
        if (srv->running) {
                ck_assert_int_eq(write(srv->stop[1], "x", 1), 1);
                ck_assert_int_eq(pthread_join(srv->thread, NULL), 0);
                srv->running = false;
        }
        if (srv->stop[0] >= 0)
                close(srv->stop[0]);
        if (srv->stop[1] >= 0)
                close(srv->stop[1]);
        if (srv->lfd >= 0)
                close(srv->lfd);
        srv->lfd = srv->stop[0] = srv->stop[1] = -1;
        unlink(srv->path);
        ck_assert_int_eq(rmdir(srv->dir), 0);
}

static void assert_server_ok(const struct server *srv)
{
        ck_assert_msg(srv->error[0] == '\0', "%s", srv->error);
}

static int64_t deadline_in(int ms)
{
        return now_monotonic_ms() + ms;
}

static void ping(struct proto_msg *m)
{
        proto_init(m, PROTO_REQ_PING);
}

/* ---- round trips ------------------------------------------------------------ */

START_TEST(test_call_round_trip)
{
        static struct server srv;
        static struct proto_msg req, rep;
        int fds = count_fds();
        uint64_t v = 0;

        server_init(&srv);
        server_start(&srv, SERVE_ECHO);

        ping(&req);
        ck_assert_int_eq(client_call(srv.path, &req, &rep, 2000), 0);
        ck_assert_uint_eq(rep.type, PROTO_REP_OK);
        ck_assert_str_eq(proto_get_str(&rep, PF_VERSION), "test-1.0");
        ck_assert_str_eq(proto_get_str(&rep, PF_USER), "tester");
        ck_assert_str_eq(proto_get_str(&rep, PF_HOST), "unit.example.com");
        ck_assert(proto_get_u64(&rep, PF_UID, &v));
        ck_assert_uint_eq(v, getuid());
        ck_assert(proto_get_u64(&rep, PF_NOW, &v));
        ck_assert_uint_ge(v, (uint64_t) now_realtime() - 5);

        proto_init(&req, PROTO_REQ_CHECK);
        ck_assert_int_eq(proto_set_str(&req, PF_USER, "alice"), 0);
        ck_assert_int_eq(proto_set_str(&req, PF_SERVICE, "sudo"), 0);
        ck_assert_int_eq(proto_set_str(&req, PF_TTY, "/dev/pts/1"), 0);
        ck_assert_int_eq(client_call(srv.path, &req, &rep, 2000), 0);
        ck_assert_uint_eq(rep.type, PROTO_REP_DECISION);
        ck_assert(proto_get_u64(&rep, PF_DECISION, &v));
        ck_assert_uint_eq(v, PROTO_DECISION_ALLOW);
        ck_assert_str_eq(proto_get_str(&rep, PF_MESSAGE), "user alice service sudo");
        ck_assert_str_eq(proto_get_str(&rep, PF_ROLE), "dba");
        ck_assert(proto_get_u64(&rep, PF_EXPIRES_AT, &v));
        ck_assert_uint_eq(v, 1700003600);

        /* A reply near the largest legal message. */
        proto_init(&req, PROTO_REQ_STATUS);
        ck_assert_int_eq(client_call(srv.path, &req, &rep, 2000), 0);
        ck_assert_uint_eq(rep.type, PROTO_REP_OK);
        ck_assert_uint_eq(strlen(proto_get_str(&rep, PF_DETAILS)), 4096);
        ck_assert_uint_eq(strlen(proto_get_str(&rep, PF_MESSAGE)), 1024);

        /* An error reply is a successful exchange. */
        proto_init(&req, PROTO_REQ_RELOAD);
        ck_assert_int_eq(client_call(srv.path, &req, &rep, 2000), 0);
        ck_assert_uint_eq(rep.type, PROTO_REP_ERROR);
        ck_assert(proto_get_u64(&rep, PF_ERRNO, &v));
        ck_assert_uint_eq(v, EPERM);
        ck_assert_str_eq(proto_get_str(&rep, PF_MESSAGE), "reload");

        server_stop(&srv);
        assert_server_ok(&srv);
        ck_assert_uint_eq(srv.conns, 4);
        ck_assert_uint_eq(srv.requests, 4);
        ck_assert_uint_eq(srv.peer_uid, getuid());
        ck_assert_uint_eq(srv.last.type, PROTO_REQ_RELOAD);
        ck_assert_int_eq(count_fds(), fds);
}
END_TEST

START_TEST(test_request_arrives_intact)
{
        static struct server srv;
        static struct proto_msg req, rep;
        int fds = count_fds();

        server_init(&srv);
        server_start(&srv, SERVE_ECHO);
        proto_init(&req, PROTO_REQ_CHECK);
        ck_assert_int_eq(proto_set_str(&req, PF_USER, "bob"), 0);
        ck_assert_int_eq(proto_set_str(&req, PF_SERVICE, "sshd"), 0);
        ck_assert_int_eq(proto_set_str(&req, PF_RHOST, "10.1.2.3"), 0);
        ck_assert_int_eq(proto_set_str(&req, PF_TTY, "ssh"), 0);
        ck_assert_int_eq(client_call(srv.path, &req, &rep, 2000), 0);
        server_stop(&srv);
        assert_server_ok(&srv);
        ck_assert_uint_eq(srv.last.type, PROTO_REQ_CHECK);
        ck_assert_uint_eq(srv.last.present, req.present);
        ck_assert_str_eq(proto_get_str(&srv.last, PF_USER), "bob");
        ck_assert_str_eq(proto_get_str(&srv.last, PF_SERVICE), "sshd");
        ck_assert_str_eq(proto_get_str(&srv.last, PF_RHOST), "10.1.2.3");
        ck_assert_str_eq(proto_get_str(&srv.last, PF_TTY), "ssh");
        ck_assert_int_eq(count_fds(), fds);
}
END_TEST

START_TEST(test_connection_reuse_and_stream)
{
        static struct server srv;
        static struct proto_msg req, rep;
        int fds = count_fds(), fd = -1, flags;
        uint64_t v = 0;

        server_init(&srv);
        srv.stream = 25;
        server_start(&srv, SERVE_ECHO);
        ck_assert_int_eq(client_connect(srv.path, deadline_in(2000), &fd), 0);
        ck_assert_int_ge(fd, 0);
        /* O_CLOEXEC and non-blocking, as promised. */
        flags = fcntl(fd, F_GETFD);
        ck_assert_int_ge(flags, 0);
        ck_assert(flags & FD_CLOEXEC);
        flags = fcntl(fd, F_GETFL);
        ck_assert_int_ge(flags, 0);
        ck_assert(flags & O_NONBLOCK);

        /* Several exchanges, strictly in turn, on one connection. */
        for (int i = 0; i < 50; i++) {
                ping(&req);
                ck_assert_int_eq(client_send(fd, &req, deadline_in(2000)), 0);
                ck_assert_int_eq(client_recv(fd, &rep, deadline_in(2000)), 0);
                ck_assert_uint_eq(rep.type, PROTO_REP_OK);
        }
        /* A stream: grants, then end. */
        proto_init(&req, PROTO_REQ_LIST);
        ck_assert_int_eq(proto_set_u64(&req, PF_FLAGS, PROTO_F_ALL), 0);
        ck_assert_int_eq(client_send(fd, &req, deadline_in(2000)), 0);
        for (unsigned i = 0; i < 25; i++) {
                ck_assert_int_eq(client_recv(fd, &rep, deadline_in(2000)), 0);
                ck_assert_uint_eq(rep.type, PROTO_REP_GRANT);
                ck_assert(proto_get_u64(&rep, PF_ID, &v));
                ck_assert_uint_eq(v, i + 1);
        }
        ck_assert_int_eq(client_recv(fd, &rep, deadline_in(2000)), 0);
        ck_assert_uint_eq(rep.type, PROTO_REP_END);
        ck_assert(proto_get_u64(&rep, PF_COUNT, &v));
        ck_assert_uint_eq(v, 25);

        /* A reply already queued is taken even when the deadline has passed. */
        ping(&req);
        ck_assert_int_eq(client_send(fd, &req, deadline_in(2000)), 0);
        {
                struct pollfd p = { .fd = fd, .events = POLLIN };

                ck_assert_int_eq(poll(&p, 1, 2000), 1);
        }
        ck_assert_int_eq(client_recv(fd, &rep, now_monotonic_ms() - 1), 0);
        ck_assert_uint_eq(rep.type, PROTO_REP_OK);

        close(fd);
        server_stop(&srv);
        assert_server_ok(&srv);
        ck_assert_uint_eq(srv.conns, 1);
        ck_assert_uint_eq(srv.requests, 52);
        ck_assert_int_eq(count_fds(), fds);
}
END_TEST

START_TEST(test_many_calls_no_leak)
{
        static struct server srv;
        static struct proto_msg req, rep;
        int fds = count_fds();

        server_init(&srv);
        server_start(&srv, SERVE_ECHO);
        ping(&req);
        for (int i = 0; i < 200; i++) {
                ck_assert_int_eq(client_call(srv.path, &req, &rep, 2000), 0);
                ck_assert_uint_eq(rep.type, PROTO_REP_OK);
        }
        server_stop(&srv);
        assert_server_ok(&srv);
        ck_assert_uint_eq(srv.requests, 200);
        ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* ---- connecting ------------------------------------------------------------- */

START_TEST(test_connect_missing)
{
        static struct server srv;
        static struct proto_msg req, rep;
        char path[256];
        int fds = count_fds(), fd = -1;

        server_init(&srv);
        ck_assert_int_eq(client_connect(srv.path, deadline_in(1000), &fd), -ENOENT);
        ck_assert_int_eq(fd, -1);
        snprintf(path, sizeof(path), "%s/no/such/dir/jitd.sock", srv.dir);
        ck_assert_int_eq(client_connect(path, deadline_in(1000), &fd), -ENOENT);
        ping(&req);
        ck_assert_int_eq(client_call(srv.path, &req, &rep, 1000), -ENOENT);
        ck_assert_int_eq(count_fds(), fds);
        server_stop(&srv);
}
END_TEST

START_TEST(test_connect_refused)
{
        static struct server srv;
        static struct proto_msg req, rep;
        int fds = count_fds(), fd = -1, bound;

        server_init(&srv);

        /* Bound, but nobody listens. */
        bound = bind_socket(srv.path, SOCK_SEQPACKET);
        ck_assert_int_eq(client_connect(srv.path, deadline_in(1000), &fd), -ECONNREFUSED);
        ck_assert_int_eq(fd, -1);
        ping(&req);
        ck_assert_int_eq(client_call(srv.path, &req, &rep, 1000), -ECONNREFUSED);
        /* A stale socket file: jitd died without removing it. */
        close(bound);
        ck_assert_int_eq(client_connect(srv.path, deadline_in(1000), &fd), -ECONNREFUSED);
        ck_assert_int_eq(unlink(srv.path), 0);
        /* Something that is not a socket. */
        {
                int f = open(srv.path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

                ck_assert_int_ge(f, 0);
                close(f);
        }
        ck_assert_int_eq(client_connect(srv.path, deadline_in(1000), &fd), -ECONNREFUSED);
        ck_assert_int_eq(unlink(srv.path), 0);

        ck_assert_int_eq(count_fds(), fds);
        server_stop(&srv);
}
END_TEST

START_TEST(test_connect_wrong_socket_type)
{
        static struct server srv;
        int fds = count_fds(), fd = -1, stream;

        /* A SOCK_STREAM listener where jitd should be. */
        server_init(&srv);
        stream = bind_socket(srv.path, SOCK_STREAM);
        ck_assert_int_eq(listen(stream, 4), 0);
        ck_assert_int_eq(client_connect(srv.path, deadline_in(1000), &fd), -EPROTOTYPE);
        ck_assert_int_eq(fd, -1);
        close(stream);
        ck_assert_int_eq(count_fds(), fds);
        server_stop(&srv);
}
END_TEST

START_TEST(test_connect_name_too_long)
{
        const size_t max = sizeof(((struct sockaddr_un *) NULL)->sun_path);
        char path[sizeof(((struct sockaddr_un *) NULL)->sun_path) + 16];
        int fds = count_fds(), fd = -1;

        memset(path, 'p', sizeof(path) - 1);
        path[0] = '/';
        path[sizeof(path) - 1] = '\0';
        ck_assert_int_eq(client_connect(path, deadline_in(1000), &fd), -ENAMETOOLONG);
        path[max] = '\0';
        ck_assert_int_eq(client_connect(path, deadline_in(1000), &fd), -ENAMETOOLONG);
        /* One byte shorter fits (and then simply does not exist). */
        path[max - 1] = '\0';
        ck_assert_int_eq(client_connect(path, deadline_in(1000), &fd), -ENOENT);
        ck_assert_int_eq(fd, -1);
        ck_assert_int_eq(count_fds(), fds);
}
END_TEST

START_TEST(test_connect_backlog_full)
{
        static struct server srv;
        int fds = count_fds(), first = -1, fd = -1;
        int64_t t0, took;

        /* A listener with backlog 0 that never accepts: the first connection
         * queues, the next gets EAGAIN until the deadline. */
        server_init(&srv);
        srv.lfd = bind_socket(srv.path, SOCK_SEQPACKET);
        ck_assert_int_eq(listen(srv.lfd, 0), 0);
        ck_assert_int_eq(client_connect(srv.path, deadline_in(1000), &first), 0);
        t0 = now_monotonic_ms();
        ck_assert_int_eq(client_connect(srv.path, t0 + 200, &fd), -ETIMEDOUT);
        took = now_monotonic_ms() - t0;
        ck_assert_int_eq(fd, -1);
        ck_assert_int_ge(took, 200);
        ck_assert_int_le(took, 200 + SLACK_MS);
        close(first);
        server_stop(&srv);
        ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* ---- failing servers -------------------------------------------------------- */

START_TEST(test_recv_timeout)
{
        static struct server srv;
        static struct proto_msg req, rep;
        int fds = count_fds(), fd = -1;
        int64_t t0, took;

        server_init(&srv);
        server_start(&srv, SERVE_SILENT);
        ck_assert_int_eq(client_connect(srv.path, deadline_in(2000), &fd), 0);
        ping(&req);
        ck_assert_int_eq(client_send(fd, &req, deadline_in(2000)), 0);
        t0 = now_monotonic_ms();
        ck_assert_int_eq(client_recv(fd, &rep, t0 + 300), -ETIMEDOUT);
        took = now_monotonic_ms() - t0;
        ck_assert_int_ge(took, 300);
        ck_assert_int_le(took, 300 + SLACK_MS);

        /* A deadline already past fails at once. */
        t0 = now_monotonic_ms();
        ck_assert_int_eq(client_recv(fd, &rep, t0 - 10), -ETIMEDOUT);
        ck_assert_int_le(now_monotonic_ms() - t0, SLACK_MS);
        close(fd);

        /* client_call: the whole exchange is bounded by timeout_ms. */
        t0 = now_monotonic_ms();
        ck_assert_int_eq(client_call(srv.path, &req, &rep, 250), -ETIMEDOUT);
        took = now_monotonic_ms() - t0;
        ck_assert_int_ge(took, 250);
        ck_assert_int_le(took, 250 + SLACK_MS);

        server_stop(&srv);
        assert_server_ok(&srv);
        ck_assert_uint_eq(srv.requests, 2);
        ck_assert_int_eq(count_fds(), fds);
}
END_TEST

START_TEST(test_send_timeout)
{
        static struct server srv;
        static struct proto_msg req;
        static char details[4097];
        int fds = count_fds(), fd = -1, r = 0, sent = 0;
        int64_t t0 = 0, took;

        /* A server that never reads: the socket buffer fills up, and then
         * client_send waits for room until the deadline. */
        server_init(&srv);
        server_start(&srv, SERVE_HOLD);
        ck_assert_int_eq(client_connect(srv.path, deadline_in(2000), &fd), 0);
        /* The largest request there is, to fill the buffer quickly. */
        proto_init(&req, PROTO_REQ_REQUEST);
        memset(details, 'r', 512);
        details[512] = '\0';
        ck_assert_int_eq(proto_set_str(&req, PF_REASON, details), 0);
        details[64] = '\0';
        ck_assert_int_eq(proto_set_str(&req, PF_ROLE, details), 0);
        ck_assert_int_eq(proto_set_str(&req, PF_TICKET, details), 0);
        ck_assert_int_eq(proto_set_u64(&req, PF_DURATION, 60), 0);
        for (int i = 0; i < 100000; i++) {
                t0 = now_monotonic_ms();
                r = client_send(fd, &req, t0 + 150);
                if (r < 0)
                        break;
                sent++;
        }
        took = now_monotonic_ms() - t0;
        ck_assert_int_eq(r, -ETIMEDOUT);
        ck_assert_int_gt(sent, 0);
        ck_assert_int_ge(took, 150);
        ck_assert_int_le(took, 150 + SLACK_MS);
        close(fd);
        server_stop(&srv);
        assert_server_ok(&srv);
        ck_assert_int_eq(count_fds(), fds);
}
END_TEST

START_TEST(test_server_closes)
{
        static struct server srv;
        static struct proto_msg req, rep;
        int fds = count_fds(), fd = -1;
        int64_t t0;

        server_init(&srv);
        server_start(&srv, SERVE_CLOSE);
        ck_assert_int_eq(client_connect(srv.path, deadline_in(2000), &fd), 0);
        ping(&req);
        ck_assert_int_eq(client_send(fd, &req, deadline_in(2000)), 0);
        t0 = now_monotonic_ms();
        ck_assert_int_eq(client_recv(fd, &rep, t0 + 2000), -ECONNRESET);
        ck_assert_int_lt(now_monotonic_ms() - t0, 1000);        /* at once, not at the deadline */
        /* Sending on the dead connection: an error, and no SIGPIPE. */
        ck_assert_int_eq(client_send(fd, &req, deadline_in(1000)), -ECONNRESET);
        ck_assert_int_eq(client_recv(fd, &rep, deadline_in(1000)), -ECONNRESET);
        close(fd);

        ck_assert_int_eq(client_call(srv.path, &req, &rep, 2000), -ECONNRESET);
        server_stop(&srv);
        assert_server_ok(&srv);
        ck_assert_uint_eq(srv.requests, 2);
        ck_assert_int_eq(count_fds(), fds);
}
END_TEST

START_TEST(test_server_closes_before_request)
{
        static struct server srv;
        static struct proto_msg req, rep;
        int fds = count_fds(), fd = -1, r;

        server_init(&srv);
        server_start(&srv, SERVE_CLOSE_AT_ONCE);
        ck_assert_int_eq(client_connect(srv.path, deadline_in(2000), &fd), 0);
        /* Wait until the server has hung up. */
        {
                struct pollfd p = { .fd = fd, .events = POLLIN };

                ck_assert_int_eq(poll(&p, 1, 2000), 1);
        }
        ping(&req);
        ck_assert_int_eq(client_send(fd, &req, deadline_in(1000)), -ECONNRESET);
        close(fd);
        /* client_call fails in send or in recv, always with ECONNRESET. */
        r = client_call(srv.path, &req, &rep, 2000);
        ck_assert_int_eq(r, -ECONNRESET);
        server_stop(&srv);
        assert_server_ok(&srv);
        ck_assert_uint_eq(srv.requests, 0);
        ck_assert_int_eq(count_fds(), fds);
}
END_TEST

START_TEST(test_reply_then_close)
{
        static struct server srv;
        static struct proto_msg req, rep;
        int fds = count_fds(), fd = -1;

        /* The reply is delivered even though the server hangs up right after. */
        server_init(&srv);
        server_start(&srv, SERVE_REPLY_CLOSE);
        ck_assert_int_eq(client_connect(srv.path, deadline_in(2000), &fd), 0);
        ping(&req);
        ck_assert_int_eq(client_send(fd, &req, deadline_in(2000)), 0);
        ck_assert_int_eq(client_recv(fd, &rep, deadline_in(2000)), 0);
        ck_assert_uint_eq(rep.type, PROTO_REP_OK);
        ck_assert_int_eq(client_recv(fd, &rep, deadline_in(2000)), -ECONNRESET);
        close(fd);
        server_stop(&srv);
        assert_server_ok(&srv);
        ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* One request against a server answering raw bytes; returns client_call's result. */
static int call_raw(const void *raw, size_t len)
{
        static struct server srv;
        static struct proto_msg req, rep;
        int fds = count_fds(), r;

        server_init(&srv);
        srv.raw = raw;
        srv.raw_len = len;
        server_start(&srv, SERVE_RAW);
        ping(&req);
        r = client_call(srv.path, &req, &rep, 2000);
        server_stop(&srv);
        assert_server_ok(&srv);
        ck_assert_uint_eq(srv.requests, 1);
        ck_assert_int_eq(count_fds(), fds);
        return r;
}

static size_t frame(uint8_t *b, uint8_t version, uint8_t type, const void *payload, size_t n)
{
        uint32_t magic = PROTO_MAGIC, len = (uint32_t) n;

        for (int i = 0; i < 4; i++) {
                b[i] = (uint8_t) (magic >> (8 * i));
                b[8 + i] = (uint8_t) (len >> (8 * i));
        }
        b[4] = version;
        b[5] = type;
        b[6] = b[7] = 0;
        memcpy(b + PROTO_HEADER_SIZE, payload, n);
        return PROTO_HEADER_SIZE + n;
}

START_TEST(test_server_garbage)
{
        static uint8_t b[PROTO_MAX_FRAME + 64];
        size_t n;

        /* Shorter than a header. */
        ck_assert_int_eq(call_raw("garbage", 7), -EBADMSG);
        ck_assert_int_eq(call_raw("\x44\x54\x49\x4a\x01\x40", 6), -EBADMSG);
        /* Not ours at all: bad magic. */
        ck_assert_int_eq(call_raw("HTTP/1.1 400 Bad Request\r\n\r\n", 28), -EPROTO);
        /* A newer protocol. */
        n = frame(b, 2, PROTO_REP_OK, "", 0);
        ck_assert_int_eq(call_raw(b, n), -EPROTO);
        /* Unknown reply type. */
        n = frame(b, PROTO_VERSION, 99, "", 0);
        ck_assert_int_eq(call_raw(b, n), -EBADMSG);
        /* A field the reply type does not carry. */
        n = frame(b, PROTO_VERSION, PROTO_REP_ERROR, "\x0b\x06\x00" "active", 9);
        ck_assert_int_eq(call_raw(b, n), -EBADMSG);
        /* A field running past the end. */
        n = frame(b, PROTO_VERSION, PROTO_REP_ERROR, "\x0e\x40\x00" "oops", 7);
        ck_assert_int_eq(call_raw(b, n), -EBADMSG);
        /* Length field lying. */
        n = frame(b, PROTO_VERSION, PROTO_REP_OK, "", 0);
        b[8] = 4;
        ck_assert_int_eq(call_raw(b, n), -EBADMSG);
        /* A control character in a message. */
        n = frame(b, PROTO_VERSION, PROTO_REP_ERROR, "\x0e\x03\x00" "a\nb", 6);
        ck_assert_int_eq(call_raw(b, n), -EBADMSG);
        /* And a well-formed raw reply does go through. */
        n = frame(b, PROTO_VERSION, PROTO_REP_ERROR, "\x0e\x03\x00" "a b", 6);
        ck_assert_int_eq(call_raw(b, n), 0);
}
END_TEST

START_TEST(test_server_oversize)
{
        static uint8_t b[65536], x[PROTO_MAX_FRAME];
        size_t n;

        /* A datagram over PROTO_MAX_FRAME, with a header that matches it. */
        memset(x, 'x', sizeof(x));
        n = frame(b, PROTO_VERSION, PROTO_REP_OK, x, PROTO_MAX_FRAME + 1 - PROTO_HEADER_SIZE);
        ck_assert_uint_eq(n, PROTO_MAX_FRAME + 1);
        ck_assert_int_eq(call_raw(b, n), -EBADMSG);
        ck_assert_int_eq(call_raw(b, PROTO_MAX_FRAME + 2), -EBADMSG);
        memset(b, 'x', sizeof(b));
        ck_assert_int_eq(call_raw(b, sizeof(b)), -EBADMSG);
        /* Exactly PROTO_MAX_FRAME is read whole and judged by the decoder
         * (here: a lying length field), not cut to size. */
        n = frame(b, PROTO_VERSION, PROTO_REP_OK, "", 0);
        ck_assert_int_eq(call_raw(b, PROTO_MAX_FRAME), -EBADMSG);
}
END_TEST

START_TEST(test_server_empty_datagram)
{
        int r;

        /* SEQPACKET cannot tell an empty datagram from a hang-up; either way
         * it must be an error, never a reply. */
        r = call_raw("", 0);
        ck_assert_msg(r == -ECONNRESET || r == -EBADMSG, "empty datagram: %d", r);
}
END_TEST

START_TEST(test_send_unencodable)
{
        static struct server srv;
        static struct proto_msg req, rep;
        int fds = count_fds(), fd = -1;

        server_init(&srv);
        server_start(&srv, SERVE_ECHO);
        ck_assert_int_eq(client_connect(srv.path, deadline_in(2000), &fd), 0);
        proto_init(&req, PROTO_TYPE_INVALID);
        ck_assert_int_eq(client_send(fd, &req, deadline_in(1000)), -EINVAL);
        ck_assert_int_eq(client_call(srv.path, &req, &rep, 1000), -EINVAL);
        /* Nothing went out: the connection is still in step. */
        ping(&req);
        ck_assert_int_eq(client_send(fd, &req, deadline_in(2000)), 0);
        ck_assert_int_eq(client_recv(fd, &rep, deadline_in(2000)), 0);
        ck_assert_uint_eq(rep.type, PROTO_REP_OK);
        close(fd);
        server_stop(&srv);
        assert_server_ok(&srv);
        ck_assert_uint_eq(srv.requests, 1);
        ck_assert_int_eq(count_fds(), fds);
}
END_TEST

static Suite *client_suite(void)
{
        Suite *s = suite_create("client");
        TCase *tc = tcase_create("exchange");

        /* Valgrind is slow; nothing here waits long unless it fails. */
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_call_round_trip);
        tcase_add_test(tc, test_request_arrives_intact);
        tcase_add_test(tc, test_connection_reuse_and_stream);
        tcase_add_test(tc, test_many_calls_no_leak);
        tcase_add_test(tc, test_send_unencodable);
        suite_add_tcase(s, tc);

        tc = tcase_create("connect");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_connect_missing);
        tcase_add_test(tc, test_connect_refused);
        tcase_add_test(tc, test_connect_wrong_socket_type);
        tcase_add_test(tc, test_connect_name_too_long);
        tcase_add_test(tc, test_connect_backlog_full);
        suite_add_tcase(s, tc);

        tc = tcase_create("failures");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_recv_timeout);
        tcase_add_test(tc, test_send_timeout);
        tcase_add_test(tc, test_server_closes);
        tcase_add_test(tc, test_server_closes_before_request);
        tcase_add_test(tc, test_reply_then_close);
        tcase_add_test(tc, test_server_garbage);
        tcase_add_test(tc, test_server_oversize);
        tcase_add_test(tc, test_server_empty_datagram);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(client_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
