/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "conn.h"
#include "dispatch.h"
#include "log.h"
#include "server.h"
#include "vet.h"

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
 * engine's transfers and teardown's descriptors: the usual soft limit of 1024
 * would run out before JITD_MAX_CONNECTIONS. The hard limit is left as the
 * admin set it. */
static void raise_fd_limit(void)
{
        struct rlimit rl;
        rlim_t want = JITD_MAX_CONNECTIONS * 4;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
                return;
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct jitd *d = userdata;

        (void) s;
        (void) revents;
        for (;;) {
                int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), r;

                if (c < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                                return 0;
                        /* Out of descriptors: the idlest connection makes
                         * room, else the waiting one would keep the listening
                         * socket readable and the loop spinning. */
                        if ((errno == EMFILE || errno == ENFILE) && conn_evict_idlest(d->conns))
                                continue;
                        log_msg(LOG_ERR, "accept: %m");
                        return 0;
                }
                /* A user over the cap is refused (conn.c says so once). */
                r = conn_add(d->conns, c);
                (void) r;
        }
}

int server_listen(struct jitd *d, char *why, size_t why_size)
{
        const char *path = d->config->socket;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int n, fd, r;

        raise_fd_limit();
        r = conn_set_new(d->event, dispatch, d, &d->conns);
        if (r < 0) {
                snprintf(why, why_size, "%s", strerror(-r));
                return r;
        }
        /* Socket activation first (jitd.socket); the path in the config is
         * then only what the unit says too. */
        n = sd_listen_fds(1);
        if (n > 1) {
                snprintf(why, why_size, "systemd passed %d sockets, jitd takes one", n);
                return -E2BIG;
        }
        if (n == 1 && sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_SEQPACKET, 1, NULL, 0) > 0) {
                d->listen_fd = SD_LISTEN_FDS_START;
                d->listen_fd_ours = false;
                r = fcntl(d->listen_fd, F_GETFL);
                if (r < 0 || fcntl(d->listen_fd, F_SETFL, r | O_NONBLOCK) < 0) {
                        r = -errno;
                        snprintf(why, why_size, "%s", strerror(-r));
                        return r;
                }
        } else {
                if (strlen(path) >= sizeof(sa.sun_path)) {
                        snprintf(why, why_size, "%s: path too long", path);
                        return -ENAMETOOLONG;
                }
                memcpy(sa.sun_path, path, strlen(path) + 1);
                r = mkdir_parent(path, 0755);
                if (r < 0) {
                        snprintf(why, why_size, "cannot create the directory of %s: %s", path, strerror(-r));
                        return r;
                }
                r = vet_parent_dir(path, why, why_size);
                if (r < 0)
                        return r;
                if (socket_alive(path)) {
                        snprintf(why, why_size, "%s: another jitd is running there", path);
                        return -EADDRINUSE;
                }
                if (unlink(path) < 0 && errno != ENOENT) {
                        r = -errno;
                        snprintf(why, why_size, "%s: %s", path, strerror(-r));
                        return r;
                }
                fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0) {
                        r = -errno;
                        snprintf(why, why_size, "socket: %s", strerror(-r));
                        return r;
                }
                if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
                    /* Anyone may connect; what they may do is decided per
                     * request from SO_PEERCRED. */
                    chmod(path, 0666) < 0 || listen(fd, 128) < 0) {
                        r = -errno;
                        close(fd);
                        snprintf(why, why_size, "%s: %s", path, strerror(-r));
                        return r;
                }
                d->listen_fd = fd;
                d->listen_fd_ours = true;
        }
        r = sd_event_add_io(d->event, &d->listen_source, d->listen_fd, EPOLLIN, on_accept, d);
        if (r < 0) {
                snprintf(why, why_size, "%s", strerror(-r));
                return r;
        }
        return 0;
}

void server_close(struct jitd *d)
{
        d->listen_source = sd_event_source_disable_unref(d->listen_source);
        conn_set_free(d->conns);
        d->conns = NULL;
        if (d->listen_fd >= 0) {
                close(d->listen_fd);
                if (d->listen_fd_ours)
                        unlink(d->config->socket);
        }
        d->listen_fd = -1;
}
