/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ticket helper's main loop (ticket_helper.h): jitd's messages in, the
 * engine's answers out. Started by jitd as root; everything after CONFIG
 * runs as helper_user inside the sandbox, and nothing the ticket system sends
 * is read before that.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"
#include "ticket_helper.h"
#include "ticket_internal.h"
#include "ticket_ipc.h"
#include "util.h"

#define CONFIG_WAIT_MS 10000

/* A lookup jitd asked for, until its RESULT is sent. */
struct pending {
        struct pending *next;
        struct helper *h;
        uint64_t id;
};

struct helper {
        int fd;
        struct ticket_worker *w;
        struct pending *pending;
        struct tipc_buf out;
        struct tipc_msg in, scratch;
};

/* A message to jitd; jitd gone means we are done. */
static void helper_send(struct helper *h)
{
        for (;;) {
                if (send(h->fd, h->out.p, h->out.len, MSG_NOSIGNAL) >= 0)
                        return;
                if (errno != EINTR)
                        _exit(0);
        }
}

static void pending_drop(struct helper *h, struct pending *p)
{
        for (struct pending **pp = &h->pending; *pp; pp = &(*pp)->next)
                if (*pp == p) {
                        *pp = p->next;
                        break;
                }
        free(p);
}

static void send_result(struct helper *h, uint64_t id, const struct ticket_result *r)
{
        if (tipc_result(&h->out, &h->scratch, id, r) == 0)
                helper_send(h);
}

static void send_error(struct helper *h, uint64_t id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void send_error(struct helper *h, uint64_t id, const char *fmt, ...)
{
        struct ticket_result r = { .verdict = TICKET_ERROR };
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(r.why, sizeof(r.why), fmt, ap);
        va_end(ap);
        send_result(h, id, &r);
}

static void on_result(void *userdata, const char *ticket, const struct ticket_result *r)
{
        struct pending *p = userdata;
        struct helper *h = p->h;

        (void) ticket;
        send_result(h, p->id, r);
        pending_drop(h, p);
}

static void on_note_failed(void *userdata, const char *ticket, const char *why)
{
        struct helper *h = userdata;

        if (tipc_comment_failed(&h->out, &h->scratch, ticket, why) == 0)
                helper_send(h);
}

static void on_lookup(struct helper *h, const struct tipc_msg *m)
{
        struct pending *p = calloc(1, sizeof(*p));
        int r;

        if (!p) {
                send_error(h, m->u[TF_ID], "the ticket helper is out of memory");
                return;
        }
        p->h = h;
        p->id = m->u[TF_ID];
        p->next = h->pending;
        h->pending = p;
        r = ticket_worker_lookup(h->w, m->s[TF_TICKET], m->s[TF_USER], on_result, p);
        if (r < 0) {
                send_error(h, p->id, "cannot look ticket %s up: %s", m->s[TF_TICKET], strerror(-r));
                pending_drop(h, p);
        }
}

/* Every LOOKUP gets one RESULT, a cancelled one too: that is how jitd knows
 * when it may forget the id. */
static void on_cancel(struct helper *h, const struct tipc_msg *m)
{
        for (struct pending *p = h->pending; p; p = p->next)
                if (p->id == m->u[TF_ID]) {
                        ticket_worker_cancel(h->w, p);
                        send_error(h, p->id, "cancelled");
                        pending_drop(h, p);
                        return;
                }
}

static void on_comment(struct helper *h, const struct tipc_msg *m)
{
        int r = ticket_worker_comment(h->w, m->s[TF_TICKET], m->s[TF_TEXT]);
        char why[128];

        if (r < 0) {
                snprintf(why, sizeof(why), "cannot post a note: %s", strerror(-r));
                on_note_failed(h, m->s[TF_TICKET], why);
        }
}

/* jitd's messages until the socket is empty. jitd is trusted: anything it
 * sends that does not decode is a bug, and the helper stops. */
static void read_jitd(struct helper *h)
{
        static uint8_t buf[TIPC_MAX_MSG + 1];

        for (;;) {
                ssize_t n = recv(h->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return;
                if (n <= 0)
                        _exit(0);       /* jitd closed its end */
                if ((size_t) n > TIPC_MAX_MSG || tipc_decode(buf, (size_t) n, &h->in) < 0)
                        _exit(1);
                switch (h->in.type) {
                case TIPC_LOOKUP: on_lookup(h, &h->in); break;
                case TIPC_CANCEL: on_cancel(h, &h->in); break;
                case TIPC_COMMENT: on_comment(h, &h->in); break;
                default: _exit(1);
                }
        }
}

/* ca_file's contents, read while the helper may still read what root can. */
static int read_ca(const char *path, char **ret, size_t *ret_len, char *why, size_t why_size)
{
        struct stat st;
        char *buf = NULL;
        size_t len = 0;
        int fd, r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                snprintf(why, why_size, "cannot open ca_file %s: %s", path, strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > TICKET_CA_MAX) {
                snprintf(why, why_size, "ca_file %s is not a regular file of at most %d bytes", path,
                         TICKET_CA_MAX);
                close(fd);
                return -EINVAL;
        }
        buf = malloc((size_t) st.st_size + 1);
        if (!buf) {
                close(fd);
                return -ENOMEM;
        }
        while (len < (size_t) st.st_size) {
                ssize_t n = read(fd, buf + len, (size_t) st.st_size - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        r = n < 0 ? -errno : -EIO;
                        break;
                }
                len += (size_t) n;
        }
        close(fd);
        if (r < 0) {
                snprintf(why, why_size, "cannot read ca_file %s: %s", path, strerror(-r));
                free(buf);
                return r;
        }
        buf[len] = '\0';
        *ret = buf;
        *ret_len = len;
        return 0;
}

/* CONFIG, or nothing: a helper jitd does not configure within the time has
 * no business running. */
static int read_config(struct helper *h)
{
        static uint8_t buf[TIPC_MAX_MSG + 1];
        struct pollfd pfd = { .fd = h->fd, .events = POLLIN };
        ssize_t n;

        if (poll(&pfd, 1, CONFIG_WAIT_MS) <= 0)
                return -ETIMEDOUT;
        n = recv(h->fd, buf, sizeof(buf), MSG_TRUNC);
        if (n <= 0 || (size_t) n > TIPC_MAX_MSG || tipc_decode(buf, (size_t) n, &h->in) < 0 ||
            h->in.type != TIPC_CONFIG) {
                explicit_bzero(buf, sizeof(buf));
                return -EBADMSG;
        }
        explicit_bzero(buf, sizeof(buf));
        return 0;
}

static int fail(struct helper *h, int r, const char *why)
{
        if (tipc_failed(&h->out, &h->scratch, r, why[0] ? why : strerror(-r)) == 0)
                helper_send(h);
        return 1;
}

static int setup(struct helper *h)
{
        struct ticket_config cfg;
        struct ticket_worker_options o = {};
        char why[512] = "", *token = NULL, *host = NULL, *ca = NULL;
        uid_t uid = (uid_t) h->in.u[TF_UID];
        gid_t gid = (gid_t) h->in.u[TF_GID];
        pid_t parent = getppid();
        size_t ca_len = 0;
        int r;

        r = tipc_config_get(&h->in, &cfg);
        if (r < 0)
                return fail(h, r, "");
        host = strdup(h->in.s[TF_HOST]);
        if (h->in.s[TF_TOKEN])
                token = strdup(h->in.s[TF_TOKEN]);
        if (!host || (h->in.s[TF_TOKEN] && !token)) {
                explicit_bzero(&h->in, sizeof(h->in));
                r = -ENOMEM;
                goto out;
        }
        /* The token lives on only in the settings the engine makes of it. */
        explicit_bzero(&h->in, sizeof(h->in));
        if (cfg.ca_file && (r = read_ca(cfg.ca_file, &ca, &ca_len, why, sizeof(why))) < 0)
                goto out;
        r = ticket_sandbox_drop(uid, gid, why, sizeof(why));
        if (r < 0)
                goto out;
        /* The parent-death signal does not survive the change of ids: set
         * it now, then check that jitd did not go in between. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent) {
                r = -ESRCH;
                goto out;
        }
        r = http_global_init(why, sizeof(why));
        if (r < 0) {
                char lib[sizeof(why)];

                memcpy(lib, why, sizeof(lib));
                snprintf(why, sizeof(why), "[ticket] needs libcurl: %.480s", lib);
                goto out;
        }
        o.cfg = &cfg;
        o.host = host;
        o.token = token;
        o.ca_pem = ca;
        o.ca_pem_len = ca_len;
        r = ticket_worker_new(&o, &h->w, why, sizeof(why));
        if (r < 0)
                goto out;
        if (!h->w) {
                snprintf(why, sizeof(why), "no ticket system is configured");
                r = -EINVAL;
                goto out;
        }
        ticket_worker_set_log(h->w, on_note_failed, h);
        r = ticket_sandbox_seccomp(why, sizeof(why));
out:
        if (token) {
                explicit_bzero(token, strlen(token));
                free(token);
        }
        free(host);
        free(ca);
        tipc_config_clear(&cfg);
        if (r < 0)
                return fail(h, r, why);
        return 0;
}

int ticket_helper_main(void)
{
        static struct helper helper = { .fd = TIPC_HELPER_FD };
        struct helper *h = &helper;
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = TIPC_HELPER_FD };
        int type = 0, domain = 0, ep;
        socklen_t len = sizeof(type);

        /* Only ever started by jitd, with its socket on fd 3. */
        if (getsockopt(h->fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET ||
            getsockopt(h->fd, SOL_SOCKET, SO_DOMAIN, &domain, &(socklen_t) { sizeof(domain) }) < 0 ||
            domain != AF_UNIX) {
                fprintf(stderr, "jitd: %s is for jitd's own use\n", TICKET_HELPER_ARG);
                return 2;
        }
        if (close_range(h->fd + 1, ~0U, 0) < 0)
                for (int fd = h->fd + 1; fd < 65536; fd++)
                        (void) close(fd);
        signal(SIGPIPE, SIG_IGN);
        if (read_config(h) < 0)
                return 1;
        if (setup(h) != 0)
                return 1;
        ep = epoll_create1(EPOLL_CLOEXEC);
        if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, h->fd, &ev) < 0) {
                (void) fail(h, -errno, "epoll");
                return 1;
        }
        ev.data.fd = ticket_worker_fd(h->w);
        if (epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0) {
                (void) fail(h, -errno, "epoll");
                return 1;
        }
        if (tipc_ready(&h->out, &h->scratch) < 0)
                return 1;
        helper_send(h);
        for (;;) {
                struct epoll_event evs[8];
                int n = epoll_wait(ep, evs, (int) ELEMENTSOF(evs), -1);

                if (n < 0 && errno != EINTR)
                        return 1;
                for (int i = 0; i < n; i++) {
                        if (evs[i].data.fd == ticket_worker_fd(h->w))
                                ticket_worker_process(h->w);
                        else
                                read_jitd(h);
                }
        }
}
