/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "fleet_link.h"
#include "resolve.h"
#include "sslkey.h"
#include "util.h"

/* How long a connection attempt and a query may take before the link is
 * taken for lost: a partition shows as silence, not as an error. */
#define CONNECT_TIMEOUT_USEC (10 * UINT64_C(1000000))
#define QUERY_TIMEOUT_USEC   (30 * UINT64_C(1000000))
/* Reconnection: 250 ms doubling to 30 s, each +-20%, so that a fleet that
 * lost its database does not come back in step. */
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000
/* A password file is a line, not a document. */
#define PASSWORD_MAX 1024
/* A DNS name is at most 253 characters. */
#define HOST_NAME_MAX_LEN 255

enum link_state { LINK_IDLE, LINK_RESOLVING, LINK_CONNECTING, LINK_LISTEN, LINK_READY };

struct fleet_link {
        sd_event *e;
        char *conninfo, *password_file;
        const char *channel;
        struct fleet_link_ops ops;
        void *userdata;

        enum link_state state;
        PGconn *conn;
        int fd;
        sd_event_source *io, *timer;
        bool flushing;
        unsigned backoff_ms;

        /* libpq would resolve a host name with a blocking getaddrinfo():
         * this attempt's names are resolved first, one at a time, off the
         * loop (resolve.c), and libpq gets their addresses as hostaddr=. */
        struct resolve_job *job;
        char *hosts;                    /* the host list as given */
        const char *next;               /* its entry to look at next, or NULL */
        char *hostaddr;                 /* the addresses so far, one per entry */
        size_t n_addrs;
        char resolving[HOST_NAME_MAX_LEN + 1];

        /* LISTEN refused (a hot standby, some poolers): the link works
         * without push, and the catch-up every sync is all there is. */
        bool no_push;
        char no_push_why[256];

        fleet_query_fn cb;              /* the query in flight (LISTEN has none) */
        void *cb_data;
        PGresult *result;
};

static void connect_start(struct fleet_link *l);

/* The [fleet] password_file, judged on the descriptor that is read: root's,
 * a regular file, no link, readable by root alone. */
static int password_read(const char *path, char *buf, size_t size, char *why, size_t why_size)
{
        struct stat st;
        ssize_t n;
        int fd, r = 0;

        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = -errno;
                snprintf(why, why_size, "password_file %s: %s", path, r == -ELOOP ? "is a symlink" : strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                snprintf(why, why_size, "password_file %s: %s", path, strerror(-r));
        } else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) || st.st_size <= 0 ||
                   st.st_size >= (off_t) size) {
                r = -EPERM;
                snprintf(why, why_size, "password_file %s: must be a regular file owned by root, mode 0600, "
                         "of at most %d bytes", path, PASSWORD_MAX);
        } else if ((n = read(fd, buf, size - 1)) != st.st_size) {
                r = n < 0 ? -errno : -EIO;
                snprintf(why, why_size, "password_file %s: cannot read it", path);
        } else {
                buf[n] = '\0';
                buf[strcspn(buf, "\r\n")] = '\0';
                if (!buf[0]) {
                        r = -EINVAL;
                        snprintf(why, why_size, "password_file %s: empty", path);
                }
        }
        close(fd);
        if (r < 0)
                explicit_bzero(buf, size);
        return r;
}

/* The first line of a libpq message, which ends in a newline. */
static void one_line(const char *msg, char *buf, size_t size)
{
        snprintf(buf, size, "%s", msg && msg[0] ? msg : "unknown error");
        buf[strcspn(buf, "\n")] = '\0';
}

static void arm_timer(struct fleet_link *l, uint64_t usec)
{
        (void) sd_event_source_set_time_relative(l->timer, usec);
        (void) sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT);
}

static void disarm_timer(struct fleet_link *l)
{
        (void) sd_event_source_set_enabled(l->timer, SD_EVENT_OFF);
}

static void drop_conn(struct fleet_link *l)
{
        resolve_cancel(l->job);
        l->job = NULL;
        free(l->hosts);
        free(l->hostaddr);
        l->hosts = l->hostaddr = NULL;
        l->next = NULL;
        l->n_addrs = 0;
        l->io = sd_event_source_disable_unref(l->io);
        l->fd = -1;
        if (l->result) {
                PQclear(l->result);
                l->result = NULL;
        }
        if (l->conn) {
                /* Non-blocking by now: the goodbye is sent if it fits. */
                PQfinish(l->conn);
                l->conn = NULL;
        }
        l->flushing = false;
}

/* Lost: drop the connection, retry after the backoff, tell the query in
 * flight and the owner. */
static void link_fail(struct fleet_link *l, const char *why)
{
        fleet_query_fn cb = l->cb;
        void *cb_data = l->cb_data;
        char msg[256];
        unsigned jitter;
        int64_t delay;

        one_line(why, msg, sizeof(msg));
        drop_conn(l);
        l->state = LINK_IDLE;
        l->cb = NULL;
        jitter = l->backoff_ms / 5;
        delay = (int64_t) l->backoff_ms + (jitter ? (int64_t) (random() % (2 * jitter + 1)) - (int64_t) jitter : 0);
        arm_timer(l, (uint64_t) (delay > 0 ? delay : 1) * 1000);
        l->backoff_ms = l->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : l->backoff_ms * 2;
        if (cb)
                cb(-ECONNRESET, NULL, "the connection to the fleet database was lost", cb_data);
        if (l->ops.down)
                l->ops.down(msg, l->userdata);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

/* Watch the connection's socket, which libpq may change while it connects
 * (another host or address, SSL after a refusal). The new socket can get the
 * old one's number, and epoll forgot the old one when it was closed: while
 * connecting the source is made anew each time, else an attempt that moved
 * on would wait for the connect timeout. */
static int watch(struct fleet_link *l, uint32_t events)
{
        int fd = PQsocket(l->conn);

        if (fd < 0)
                return -EBADF;
        if (fd != l->fd || !l->io || l->state == LINK_CONNECTING) {
                l->io = sd_event_source_disable_unref(l->io);
                l->fd = fd;
                return sd_event_add_io(l->e, &l->io, fd, events, on_io, l);
        }
        return sd_event_source_set_io_events(l->io, events);
}

static void flush(struct fleet_link *l)
{
        int r = PQflush(l->conn);

        if (r < 0) {
                link_fail(l, PQerrorMessage(l->conn));
                return;
        }
        l->flushing = r == 1;
        if (watch(l, EPOLLIN | (l->flushing ? EPOLLOUT : 0)) < 0)
                link_fail(l, "cannot watch the connection");
}

static int send_query(struct fleet_link *l, const char *sql, int n, const char *const *params)
{
        if (!PQsendQueryParams(l->conn, sql, n, NULL, params, NULL, NULL, 0))
                return -EIO;
        arm_timer(l, QUERY_TIMEOUT_USEC);
        flush(l);
        return 0;
}

static void connected(struct fleet_link *l)
{
        char sql[96];

        if (PQsetnonblocking(l->conn, 1) != 0) {
                link_fail(l, PQerrorMessage(l->conn));
                return;
        }
        /* LISTEN takes an identifier, not a parameter: ours is a constant.
         * A link without a channel (writes only) checks that the server
         * answers instead. */
        if (l->channel)
                snprintf(sql, sizeof(sql), "LISTEN %s", l->channel);
        else
                snprintf(sql, sizeof(sql), "SELECT 1");
        l->state = LINK_LISTEN;
        if (send_query(l, sql, 0, NULL) < 0)
                link_fail(l, PQerrorMessage(l->conn));
}

static void poll_connect(struct fleet_link *l)
{
        switch (PQconnectPoll(l->conn)) {
        case PGRES_POLLING_READING:
                if (watch(l, EPOLLIN) < 0)
                        link_fail(l, "cannot watch the connection");
                return;
        case PGRES_POLLING_WRITING:
                if (watch(l, EPOLLOUT) < 0)
                        link_fail(l, "cannot watch the connection");
                return;
        case PGRES_POLLING_OK:
                connected(l);
                return;
        default:
                link_fail(l, PQerrorMessage(l->conn));
                return;
        }
}

/* A query's results are all in. */
static void finish_query(struct fleet_link *l)
{
        PGresult *res = TAKE_PTR(l->result);
        fleet_query_fn cb = l->cb;
        void *cb_data = l->cb_data;
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        bool good = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
        char why[256];

        disarm_timer(l);
        l->cb = NULL;
        one_line(res ? PQresultErrorMessage(res) : "no result", why, sizeof(why));
        if (l->state == LINK_LISTEN) {
                /* A server that cannot LISTEN at all (a hot standby:
                 * read_only_sql_transaction; feature_not_supported) still
                 * answers the catch-up, which is what a read replica is for
                 * (doc/FLEET.md): go on without push. Any other error is a
                 * failed connection. */
                const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
                const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
                bool cannot_listen = !good && state && (!strcmp(state, "25006") || !strcmp(state, "0A000"));

                l->no_push = cannot_listen;
                if (cannot_listen)
                        one_line(primary ? primary : why, l->no_push_why, sizeof(l->no_push_why));
                PQclear(res);
                if (!good && !cannot_listen) {
                        link_fail(l, why);
                        return;
                }
                l->state = LINK_READY;
                l->backoff_ms = BACKOFF_MIN_MS;
                if (l->ops.up)
                        l->ops.up(l->userdata);
                return;
        }
        if (cb)
                cb(good ? 0 : -EIO, res, good ? NULL : why, cb_data);
        PQclear(res);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct fleet_link *l = userdata;
        bool notified = false;
        PGnotify *n;

        (void) s;
        (void) fd;
        if (l->state == LINK_CONNECTING) {
                poll_connect(l);
                return 0;
        }
        if (l->state == LINK_IDLE || !l->conn)
                return 0;
        if ((revents & EPOLLOUT) && l->flushing) {
                flush(l);
                if (!l->conn)
                        return 0;
        }
        if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                return 0;
        if (!PQconsumeInput(l->conn)) {
                link_fail(l, PQerrorMessage(l->conn));
                return 0;
        }
        while ((n = PQnotifies(l->conn))) {
                notified = true;
                PQfreemem(n);
        }
        /* Results, as far as they are in: PQgetResult would block on the
         * rest, PQisBusy says whether it is there. */
        while ((l->state == LINK_LISTEN || l->cb) && !l->flushing && !PQisBusy(l->conn)) {
                PGresult *res = PQgetResult(l->conn);

                if (!res) {
                        finish_query(l);
                        break;
                }
                if (!l->result)
                        l->result = res;
                else
                        PQclear(res);
        }
        if (l->conn && PQstatus(l->conn) == CONNECTION_BAD) {
                link_fail(l, PQerrorMessage(l->conn));
                return 0;
        }
        if (notified && l->state == LINK_READY && l->ops.notified)
                l->ops.notified(l->userdata);
        return 0;
}

/* A client key with a passphrase: jitd.conf holds no sslpassword, and
 * OpenSSL's default would ask for it on the terminal, blocking the loop.
 * An empty answer: the key does not load, and the attempt fails saying so. */
static int no_passphrase(char *buf, int size, PGconn *conn)
{
        (void) conn;
        if (size > 0)
                buf[0] = '\0';
        return 0;
}

static void ignore_notice(void *arg, const char *message)
{
        (void) arg;
        (void) message;
}

/* hostaddr: NULL, or one address per host entry (empty for a socket). */
static void connect_now(struct fleet_link *l, const char *hostaddr)
{
        char password[PASSWORD_MAX + 1], why[512];
        const char *keys[5] = { "dbname", "fallback_application_name", NULL, NULL, NULL };
        const char *values[5] = { l->conninfo, "jitd", NULL, NULL, NULL };
        size_t n = 2;

        if (hostaddr) {
                /* After dbname, so it adds to the connection string; host=
                 * stays as given, for verify-full and .pgpass. */
                keys[n] = "hostaddr";
                values[n++] = hostaddr;
        }
        if (l->password_file) {
                if (password_read(l->password_file, password, sizeof(password), why, sizeof(why)) < 0) {
                        link_fail(l, why);
                        return;
                }
                keys[n] = "password";
                values[n++] = password;
        }
        /* expand_dbname: "dbname" is the whole connection string. */
        l->conn = PQconnectStartParams(keys, values, 1);
        if (l->password_file)
                explicit_bzero(password, sizeof(password));
        if (!l->conn) {
                link_fail(l, "out of memory");
                return;
        }
        if (PQstatus(l->conn) == CONNECTION_BAD) {
                link_fail(l, PQerrorMessage(l->conn));
                return;
        }
        /* libpq prints the server's notices on stderr by default: the
         * state changes are the owner's to say, once. */
        PQsetNoticeProcessor(l->conn, ignore_notice, NULL);
        l->state = LINK_CONNECTING;
        arm_timer(l, CONNECT_TIMEOUT_USEC);
        /* libpq: start as if PQconnectPoll had said WRITING. */
        if (watch(l, EPOLLOUT) < 0)
                link_fail(l, "cannot watch the connection");
}

static void hostaddr_add(struct fleet_link *l, const char *addr)
{
        /* Sized for it in connect_start. */
        if (l->n_addrs++ > 0)
                strcat(l->hostaddr, ",");
        strcat(l->hostaddr, addr);
}

static void resolve_next(struct fleet_link *l);

static void on_resolved(int r, const char *addr, void *userdata)
{
        struct fleet_link *l = userdata;
        char why[512];

        l->job = NULL;
        if (r < 0) {
                snprintf(why, sizeof(why), "cannot resolve %s: %s", l->resolving,
                         r == -ENXIO      ? "no such host" :
                         r == -EAGAIN     ? "temporary failure in name resolution" :
                         r == -ETIMEDOUT  ? "no answer in time" : strerror(-r));
                link_fail(l, why);
                return;
        }
        hostaddr_add(l, addr);
        resolve_next(l);
}

/* The host entries one by one, as libpq splits them (at each comma); a
 * socket directory or an empty entry gets an empty hostaddr, a literal
 * itself, a name its first address. */
static void resolve_next(struct fleet_link *l)
{
        char why[512];
        int r;

        while (l->next) {
                const char *comma = strchr(l->next, ',');
                size_t len = comma ? (size_t) (comma - l->next) : strlen(l->next);

                if (len > HOST_NAME_MAX_LEN) {
                        link_fail(l, "a host name in the connection string is too long");
                        return;
                }
                memcpy(l->resolving, l->next, len);
                l->resolving[len] = '\0';
                l->next = comma ? comma + 1 : NULL;
                if (!len || l->resolving[0] == '/' || l->resolving[0] == '@')
                        hostaddr_add(l, "");
                else if (resolve_is_literal(l->resolving))
                        hostaddr_add(l, l->resolving);
                else {
                        r = resolve_start(l->e, l->resolving, NULL, on_resolved, l, &l->job);
                        if (r < 0) {
                                snprintf(why, sizeof(why), "cannot resolve %s: %s", l->resolving,
                                         r == -EAGAIN ? "too many lookups at once" : strerror(-r));
                                link_fail(l, why);
                        }
                        return;
                }
        }
        connect_now(l, l->hostaddr);
}

/* Whether a host list holds a name (not only sockets and literals). */
static bool has_name(const char *hosts)
{
        char entry[HOST_NAME_MAX_LEN + 1];

        while (hosts) {
                const char *comma = strchr(hosts, ',');
                size_t len = comma ? (size_t) (comma - hosts) : strlen(hosts);

                if (len > HOST_NAME_MAX_LEN)
                        return true;    /* resolve_next says why */
                memcpy(entry, hosts, len);
                entry[len] = '\0';
                if (len && entry[0] != '/' && entry[0] != '@' && !resolve_is_literal(entry))
                        return true;
                hosts = comma ? comma + 1 : NULL;
        }
        return false;
}

static void connect_start(struct fleet_link *l)
{
        PQconninfoOption *opts, *o;
        const char *host = NULL, *hostaddr = NULL, *sslcert = NULL, *sslkey = NULL;
        char *err = NULL, why[512];
        size_t n = 1;

        opts = PQconninfoParse(l->conninfo, &err);
        if (!opts) {
                link_fail(l, err ? err : "out of memory");
                PQfreemem(err);
                return;
        }
        for (o = opts; o->keyword; o++) {
                if (!strcmp(o->keyword, "host"))
                        host = o->val;
                else if (!strcmp(o->keyword, "hostaddr"))
                        hostaddr = o->val;
                else if (!strcmp(o->keyword, "sslcert"))
                        sslcert = o->val;
                else if (!strcmp(o->keyword, "sslkey"))
                        sslkey = o->val;
        }
        /* A client key is a credential as password_file is: judged at each
         * attempt (a local open and fstat), before libpq reads it. */
        if (sslkey_check(sslcert, sslkey, why, sizeof(why)) < 0) {
                PQconninfoFree(opts);
                link_fail(l, why);
                return;
        }
        /* hostaddr given: libpq looks nothing up, the admin chose. */
        if (!host || !host[0] || (hostaddr && hostaddr[0]) || !has_name(host)) {
                PQconninfoFree(opts);
                connect_now(l, NULL);
                return;
        }
        for (const char *c = host; (c = strchr(c, ',')); c++)
                n++;
        l->hosts = strdup(host);
        PQconninfoFree(opts);
        /* Each entry an address at most, or the literal it is. */
        l->hostaddr = l->hosts ? calloc(1, strlen(l->hosts) + n * (RESOLVE_ADDR_MAX + 1) + 1) : NULL;
        if (!l->hostaddr) {
                link_fail(l, "out of memory");
                return;
        }
        l->next = l->hosts;
        l->n_addrs = 0;
        l->state = LINK_RESOLVING;
        arm_timer(l, CONNECT_TIMEOUT_USEC);
        resolve_next(l);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct fleet_link *l = userdata;

        (void) s;
        (void) usec;
        switch (l->state) {
        case LINK_IDLE:
                connect_start(l);
                break;
        case LINK_RESOLVING:
        case LINK_CONNECTING:
                link_fail(l, "connection timed out");
                break;
        case LINK_LISTEN:
        case LINK_READY:
                if (l->state == LINK_LISTEN || l->cb)
                        link_fail(l, "the database did not answer in time");
                break;
        }
        return 0;
}

int fleet_link_new(sd_event *e, const char *conninfo, const char *password_file, const char *channel,
                   const struct fleet_link_ops *ops, void *userdata, struct fleet_link **ret)
{
        struct fleet_link *l;
        int r;

        if (!e || !conninfo || !ops || !ret)
                return -EINVAL;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        /* For every connection of this process: the fleet link is jitd's
         * only use of libpq. */
        PQsetSSLKeyPassHook_OpenSSL(no_passphrase);
        l->e = sd_event_ref(e);
        l->fd = -1;
        l->channel = channel;
        l->ops = *ops;
        l->userdata = userdata;
        l->backoff_ms = BACKOFF_MIN_MS;
        l->conninfo = strdup(conninfo);
        l->password_file = password_file ? strdup(password_file) : NULL;
        if (!l->conninfo || (password_file && !l->password_file)) {
                fleet_link_free(l);
                return -ENOMEM;
        }
        r = sd_event_add_time_relative(e, &l->timer, CLOCK_MONOTONIC, 0, 0, on_timer, l);
        if (r < 0) {
                fleet_link_free(l);
                return r;
        }
        /* The first attempt from the loop, as every later one. */
        (void) sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT);
        *ret = l;
        return 0;
}

void fleet_link_free(struct fleet_link *l)
{
        if (!l)
                return;
        drop_conn(l);
        l->timer = sd_event_source_disable_unref(l->timer);
        sd_event_unref(l->e);
        free(l->conninfo);
        free(l->password_file);
        free(l);
}

bool fleet_link_ready(const struct fleet_link *l)
{
        return l && l->state == LINK_READY && !l->cb;
}

int fleet_link_query(struct fleet_link *l, const char *sql, int n_params, const char *const *params,
                     fleet_query_fn cb, void *userdata)
{
        int r;

        if (!l || !sql || !cb)
                return -EINVAL;
        if (l->state != LINK_READY)
                return -ENOTCONN;
        if (l->cb)
                return -EBUSY;
        l->cb = cb;
        l->cb_data = userdata;
        r = send_query(l, sql, n_params, params);
        if (r < 0) {
                l->cb = NULL;
                link_fail(l, PQerrorMessage(l->conn));
                return -ENOTCONN;
        }
        /* send_query may have lost the link already: the callback came. */
        return 0;
}

bool fleet_link_pushing(const struct fleet_link *l, const char **ret_why)
{
        if (!l || !l->no_push)
                return true;
        if (ret_why)
                *ret_why = l->no_push_why;
        return false;
}
