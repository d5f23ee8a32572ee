/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "util.h"

static int remaining_ms(int64_t deadline_ms)
{
        int64_t left = deadline_ms - now_monotonic_ms();

        if (left <= 0)
                return 0;
        return left > 60000 ? 60000 : (int) left;
}

/* Wait for events on fd until the deadline. 0, -ETIMEDOUT, or -errno. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
        for (;;) {
                struct pollfd p = { .fd = fd, .events = events };
                int ms = remaining_ms(deadline_ms);
                int n;

                if (ms == 0)
                        return -ETIMEDOUT;
                n = poll(&p, 1, ms);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        continue;       /* re-check the deadline */
                if (p.revents & (POLLERR | POLLNVAL))
                        return -ECONNRESET;
                return 0;               /* readable, writable, or hung up (recv says which) */
        }
}

int client_connect(const char *path, int64_t deadline_ms, int *ret_fd)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct ucred cred = { 0 };
        socklen_t len = sizeof(cred);
        int fd, r;

        if (!path || strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        for (;;) {
                if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0)
                        break;
                r = -errno;
                if (r == -EINTR)
                        continue;
                /* A full backlog gives EAGAIN on Unix sockets: retry briefly
                 * until the deadline instead of failing at once. */
                if (r == -EAGAIN && remaining_ms(deadline_ms) > 0) {
                        struct timespec ts = { 0, 2 * 1000 * 1000 };

                        nanosleep(&ts, NULL);
                        continue;
                }
                close(fd);
                return r == -EAGAIN ? -ETIMEDOUT : r;
        }
        /* Nothing is sent to a peer that is not root: in a socket directory
         * a user could write, their own "jitd" would answer allow. The
         * kernel's word on who listens, as sssd's PAM client asks it. */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred) || cred.uid != 0) {
                close(fd);
                return -EPERM;
        }
        *ret_fd = fd;
        return 0;
}

int client_send(int fd, const struct proto_msg *m, int64_t deadline_ms)
{
        return client_send_fd(fd, m, deadline_ms, -1);
}

int client_send_fd(int fd, const struct proto_msg *m, int64_t deadline_ms, int pass_fd)
{
        uint8_t buf[PROTO_MAX_FRAME];
        size_t len;
        int r;

        r = proto_encode(m, buf, sizeof(buf), &len);
        if (r < 0)
                return r;
        for (;;) {
                union {
                        char buf[CMSG_SPACE(sizeof(int))];
                        struct cmsghdr align;
                } u;
                struct iovec iov = { .iov_base = buf, .iov_len = len };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
                ssize_t n;

                if (pass_fd >= 0) {
                        struct cmsghdr *cm;

                        memset(&u, 0, sizeof(u));
                        mh.msg_control = u.buf;
                        mh.msg_controllen = sizeof(u.buf);
                        cm = CMSG_FIRSTHDR(&mh);
                        cm->cmsg_level = SOL_SOCKET;
                        cm->cmsg_type = SCM_RIGHTS;
                        cm->cmsg_len = CMSG_LEN(sizeof(int));
                        memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
                }
                n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n == (ssize_t) len)
                        return 0;
                if (n >= 0)
                        return -EIO;    /* cannot happen on SEQPACKET */
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return errno == EPIPE ? -ECONNRESET : -errno;
                r = wait_fd(fd, POLLOUT, deadline_ms);
                if (r < 0)
                        return r;
        }
}

int client_recv(int fd, struct proto_msg *ret, int64_t deadline_ms)
{
        uint8_t buf[PROTO_MAX_FRAME + 1];
        int r;

        for (;;) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);

                if (n == 0)
                        return -ECONNRESET;
                if (n > (ssize_t) PROTO_MAX_FRAME)
                        return -EBADMSG;
                if (n > 0)
                        return proto_decode(buf, (size_t) n, ret, NULL, 0);
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;
                r = wait_fd(fd, POLLIN, deadline_ms);
                if (r < 0)
                        return r;
        }
}

int client_recv_fd(int fd, struct proto_msg *ret, int64_t deadline_ms, int *ret_fd)
{
        uint8_t buf[PROTO_MAX_FRAME + 1];
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        int r;

        *ret_fd = -1;
        for (;;) {
                struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                                     .msg_controllen = sizeof(u.buf) };
                ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

                if (n >= 0) {
                        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
                                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
                                    cm->cmsg_len == CMSG_LEN(sizeof(int)))
                                        memcpy(ret_fd, CMSG_DATA(cm), sizeof(int));
                        if (n == 0)
                                r = -ECONNRESET;
                        else if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || n > (ssize_t) PROTO_MAX_FRAME)
                                r = -EBADMSG;
                        else
                                r = proto_decode(buf, (size_t) n, ret, NULL, 0);
                        if (r < 0 && *ret_fd >= 0) {
                                close(*ret_fd);
                                *ret_fd = -1;
                        }
                        return r;
                }
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;
                r = wait_fd(fd, POLLIN, deadline_ms);
                if (r < 0)
                        return r;
        }
}

int client_call(const char *path, const struct proto_msg *req, struct proto_msg *ret, int timeout_ms)
{
        int64_t deadline = now_monotonic_ms() + timeout_ms;
        int fd = -1, r;

        r = client_connect(path, deadline, &fd);
        if (r < 0)
                return r;
        r = client_send(fd, req, deadline);
        if (r >= 0)
                r = client_recv(fd, ret, deadline);
        close(fd);
        return r;
}
