/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitd's side of the ticket engine (ticket.h): a proxy to the ticket helper.
 *
 * The helper is jitd's own binary run with TICKET_HELPER_ARG (posix_spawn:
 * nothing of jitd's address space runs in it; every descriptor but the
 * socketpair is closed before exec). It gets CONFIG (with the token, which
 * only jitd can read), becomes helper_user inside its sandbox and answers
 * READY. ticket_engine_new() waits for that answer, so a config the helper
 * refuses is an error at start, as it was in-process.
 *
 * Each lookup has an id. Its life here: QUEUED (waiting for the helper, or
 * for its user's turn), SENT (the helper has it; exactly one RESULT comes
 * back, a cancelled lookup's too), DONE (the result is ready; callbacks run
 * from ticket_engine_process() only). Everything the helper sends is decoded
 * strictly (ticket_ipc.c) and must fit what was asked: a RESULT for an id
 * that is not SENT, a second READY, a message with descriptors attached, or
 * anything that does not decode makes jitd kill the helper. So does silence:
 * a lookup SENT longer than the helper's own retries can take, or no READY
 * within HELPER_START_MS. A helper that is gone (killed, crashed) fails its
 * lookups in flight with TICKET_ERROR and is started again after a backoff
 * (HELPER_BACKOFF_MIN_MS doubling to HELPER_BACKOFF_MAX_MS, back to the
 * minimum once a helper ran for HELPER_STABLE_MS).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ticket.h"
#include "ticket_helper.h"
#include "ticket_ipc.h"
#include "ticket_limits.h"
#include "util.h"

extern char **environ;

#define HELPER_START_MS         10000
#define HELPER_BACKOFF_MIN_MS   250
#define HELPER_BACKOFF_MAX_MS   30000
#define HELPER_STABLE_MS        60000
#define HELPER_SNDBUF           (1024 * 1024)
#define NOTE_MAX                TIPC_TEXT_MAX

enum helper_state { HELPER_DOWN, HELPER_STARTING, HELPER_READY };
enum lookup_state { LOOKUP_QUEUED, LOOKUP_SENT, LOOKUP_DONE };

struct lookup {
        struct lookup *next;
        uint64_t id;
        enum lookup_state state;
        bool cancelled;
        unsigned flags;
        int64_t deadline_ms;            /* SENT: the helper is hung if no answer by then */
        ticket_done_fn cb;
        void *userdata;
        struct ticket_result result;    /* DONE */
        char ticket[JIT_TICKET_MAX + 1];
        char user[JIT_USER_MAX + 1];
};

struct ticket_engine {
        int epoll_fd;                   /* what jitd watches: the three below */
        int timer_fd;                   /* restart, start and hang deadlines */
        int kick_fd;                    /* eventfd: results ready without the helper */
        int sock;                       /* our end of the socketpair; -1 without a helper */
        pid_t pid;
        enum helper_state state;
        const char *broken;             /* a send failed: stop the helper at the next safe point */
        int64_t started_ms, restart_at_ms, backoff_ms;
        uint64_t next_id;
        unsigned n_sent;
        uint64_t notes_sent, notes_failed;
        struct lookup *lookups, **tail; /* in the order they were asked */
        struct lookup *delivering;      /* callbacks running: ticket_cancel() must see these */
        struct ticket_limits *limits;
        ticket_log_fn log;
        void *log_userdata;
        uint64_t poll;
        int64_t hang_ms;
        bool comment;
        char exe[PATH_MAX];
        struct tipc_buf config;         /* CONFIG, kept for restarts (holds the token) */
        struct tipc_buf out;
        struct tipc_msg in;             /* the helper's last message */
        struct tipc_msg scratch;        /* for the encoder's own check */
        uint8_t buf[TIPC_MAX_MSG + 1];
};

static void say(struct ticket_engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct ticket_engine *e, const char *fmt, ...)
{
        char line[512];
        va_list ap;

        if (!e->log)
                return;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        e->log(e->log_userdata, NULL, line);
}

static void kick(struct ticket_engine *e)
{
        uint64_t one = 1;

        (void) !write(e->kick_fd, &one, sizeof(one));
}

static void arm(struct ticket_engine *e)
{
        struct itimerspec its = {};
        int64_t due = 0;

        if (e->state == HELPER_DOWN && e->restart_at_ms)
                due = e->restart_at_ms;
        else if (e->state == HELPER_STARTING)
                due = e->started_ms + HELPER_START_MS;
        for (struct lookup *l = e->lookups; l; l = l->next)
                if (l->state == LOOKUP_SENT && (!due || l->deadline_ms < due))
                        due = l->deadline_ms;
        if (due > 0) {
                its.it_value.tv_sec = due / 1000;
                its.it_value.tv_nsec = (due % 1000) * 1000000;
        }
        (void) timerfd_settime(e->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void done(struct lookup *l, enum ticket_verdict v, int64_t retry_after, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void done(struct lookup *l, enum ticket_verdict v, int64_t retry_after, const char *fmt, ...)
{
        va_list ap;

        memset(&l->result, 0, sizeof(l->result));
        l->result.verdict = v;
        l->result.retry_after = retry_after;
        va_start(ap, fmt);
        vsnprintf(l->result.why, sizeof(l->result.why), fmt, ap);
        va_end(ap);
        l->state = LOOKUP_DONE;
}

static void lookup_unlink(struct ticket_engine *e, struct lookup *l)
{
        for (struct lookup **pp = &e->lookups; *pp; pp = &(*pp)->next)
                if (*pp == l) {
                        *pp = l->next;
                        if (e->tail == &l->next)
                                e->tail = pp;
                        return;
                }
}

static int helper_write(struct ticket_engine *e, const struct tipc_buf *b)
{
        for (;;) {
                if (send(e->sock, b->p, b->len, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
                        return 0;
                if (errno == EINTR)
                        continue;
                /* Full means the helper stopped reading. */
                e->broken = errno == EAGAIN ? "the ticket helper stopped reading" : "cannot write to the ticket helper";
                kick(e);
                return -errno;
        }
}

static unsigned count(const struct ticket_engine *e, const char *user, enum lookup_state state)
{
        unsigned n = 0;

        for (const struct lookup *l = e->lookups; l; l = l->next)
                if (l->state == state && strcmp(l->user, user) == 0)
                        n++;
        return n;
}

/* Hand queued lookups to the helper, oldest first, within the limits. The
 * users with lookups at the helper are counted once per call: there are at
 * most TICKET_INFLIGHT_MAX of them. */
static void pump(struct ticket_engine *e)
{
        struct {
                const char *user;
                unsigned n;
        } busy[TICKET_INFLIGHT_MAX];
        size_t n_busy = 0;

        if (e->state != HELPER_READY || e->broken || e->n_sent >= TICKET_INFLIGHT_MAX)
                return;
        for (struct lookup *l = e->lookups; l; l = l->next) {
                size_t i;

                if (l->state != LOOKUP_SENT)
                        continue;
                for (i = 0; i < n_busy && strcmp(busy[i].user, l->user) != 0; i++)
                        ;
                if (i == n_busy) {
                        if (n_busy == ELEMENTSOF(busy))
                                continue;       /* cannot be: one entry per lookup sent */
                        busy[n_busy].user = l->user;
                        busy[n_busy++].n = 0;
                }
                busy[i].n++;
        }
        for (struct lookup *l = e->lookups; l && e->n_sent < TICKET_INFLIGHT_MAX; l = l->next) {
                size_t i;

                if (l->state != LOOKUP_QUEUED)
                        continue;
                for (i = 0; i < n_busy && strcmp(busy[i].user, l->user) != 0; i++)
                        ;
                if (i < n_busy && busy[i].n >= TICKET_INFLIGHT_PER_USER)
                        continue;
                if (tipc_lookup(&e->out, &e->scratch, l->id, l->ticket, l->user) < 0) {
                        done(l, TICKET_ERROR, 0, "cannot ask the ticket helper about ticket %s", l->ticket);
                        kick(e);
                        continue;
                }
                if (helper_write(e, &e->out) < 0)
                        break;
                l->state = LOOKUP_SENT;
                l->deadline_ms = now_monotonic_ms() + e->hang_ms;
                e->n_sent++;
                if (i == n_busy && n_busy < ELEMENTSOF(busy)) {
                        busy[n_busy].user = l->user;
                        busy[n_busy++].n = 0;
                }
                if (i < n_busy)
                        busy[i].n++;
        }
        arm(e);
}

static void reap(struct ticket_engine *e, char *how, size_t size)
{
        int status = 0;

        snprintf(how, size, "stopped");
        if (e->pid <= 0)
                return;
        (void) kill(e->pid, SIGKILL);
        while (waitpid(e->pid, &status, 0) < 0)
                if (errno != EINTR)
                        return;
        e->pid = 0;
        if (WIFEXITED(status))
                snprintf(how, size, "exited with status %d", WEXITSTATUS(status));
        else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
                snprintf(how, size, "was killed by its seccomp filter (SIGSYS)");
        else if (WIFSIGNALED(status))
                snprintf(how, size, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
}

/* The helper goes (killed if it is still there); its lookups, in flight or
 * queued, fail (the caller asks again at its next poll); it is started again
 * later. */
static void helper_stop(struct ticket_engine *e, bool fault, const char *why)
{
        char how[128];
        int64_t now = now_monotonic_ms();
        pid_t pid = e->pid;
        bool any = false;

        if (e->sock >= 0) {
                (void) epoll_ctl(e->epoll_fd, EPOLL_CTL_DEL, e->sock, NULL);
                close(e->sock);
                e->sock = -1;
        }
        reap(e, how, sizeof(how));
        if (fault)
                snprintf(how, sizeof(how), "killed by jitd");
        for (struct lookup *l = e->lookups, *next; l; l = next) {
                next = l->next;
                if (l->state == LOOKUP_DONE)
                        continue;
                if (l->cancelled) {
                        lookup_unlink(e, l);
                        free(l);
                        continue;
                }
                done(l, TICKET_ERROR, 0, "the ticket helper stopped; jitd keeps trying");
                any = true;
        }
        e->n_sent = 0;
        e->notes_sent = e->notes_failed = 0;
        e->broken = NULL;
        if (e->state == HELPER_READY && now - e->started_ms >= HELPER_STABLE_MS)
                e->backoff_ms = HELPER_BACKOFF_MIN_MS;
        e->state = HELPER_DOWN;
        e->restart_at_ms = now + e->backoff_ms;
        say(e, "ticket helper (pid %d) %s: %s; starting it again in %lld ms", (int) pid, how, why,
            (long long) e->backoff_ms);
        e->backoff_ms = e->backoff_ms * 2 > HELPER_BACKOFF_MAX_MS ? HELPER_BACKOFF_MAX_MS : e->backoff_ms * 2;
        if (any)
                kick(e);
        arm(e);
}

static int helper_start(struct ticket_engine *e)
{
        char *argv[] = { (char *) "jitd", (char *) TICKET_HELPER_ARG, NULL };
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t at;
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = -1 };
        sigset_t none, all;
        int sv[2], r, size = HELPER_SNDBUF;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&at);
        /* 0-2 on /dev/null, the socket on 3, nothing else: whatever jitd has
         * open (database, listening socket, connections) stays with jitd. */
        r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, sv[1], TIPC_HELPER_FD);
        if (r == 0)
                r = posix_spawn_file_actions_addclosefrom_np(&fa, TIPC_HELPER_FD + 1);
        /* jitd blocks SIGTERM and friends for its signalfd: the helper gets
         * a clean slate. */
        if (r == 0)
                r = posix_spawnattr_setsigmask(&at, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(&at, &all);
        if (r == 0)
                r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        if (r == 0)
                r = posix_spawn(&pid, e->exe, &fa, &at, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&at);
        close(sv[1]);
        if (r != 0) {
                close(sv[0]);
                return -r;
        }
        e->pid = pid;
        e->sock = sv[0];
        (void) setsockopt(e->sock, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
        ev.data.fd = e->sock;
        e->state = HELPER_STARTING;
        e->started_ms = now_monotonic_ms();
        if (epoll_ctl(e->epoll_fd, EPOLL_CTL_ADD, e->sock, &ev) < 0 || helper_write(e, &e->config) < 0) {
                r = -errno;
                return r < 0 ? r : -EIO;
        }
        arm(e);
        return 0;
}

/* One message from the helper into e->in: 1, 0 when there is none now, <0
 * when the helper is gone (-EPIPE) or said something malformed (-EBADMSG). */
static int helper_read(struct ticket_engine *e, int flags)
{
        struct iovec iov = { .iov_base = e->buf, .iov_len = sizeof(e->buf) };
        union {
                struct cmsghdr h;
                char space[CMSG_SPACE(sizeof(int) * 4)];
        } control;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof(control) };
        ssize_t n;

        do
                n = recvmsg(e->sock, &mh, flags | MSG_TRUNC | MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -EPIPE;
        if (n == 0)
                return -EPIPE;
        /* Descriptors have no business here: close them and refuse. */
        if (mh.msg_controllen > 0 || (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) {
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                                for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
                                        close(((int *) (void *) CMSG_DATA(c))[i]);
                return -EBADMSG;
        }
        if ((size_t) n > TIPC_MAX_MSG || tipc_decode(e->buf, (size_t) n, &e->in) < 0)
                return -EBADMSG;
        return 1;
}

static struct lookup *find_sent(struct ticket_engine *e, uint64_t id)
{
        for (struct lookup *l = e->lookups; l; l = l->next)
                if (l->id == id && l->state == LOOKUP_SENT)
                        return l;
        return NULL;
}

/* A message that fits the conversation, or false. */
static bool on_message(struct ticket_engine *e)
{
        const struct tipc_msg *m = &e->in;
        struct lookup *l;
        uint64_t id;

        switch (m->type) {
        case TIPC_READY:
                if (e->state != HELPER_STARTING)
                        return false;
                e->state = HELPER_READY;
                if (e->backoff_ms > HELPER_BACKOFF_MIN_MS)
                        say(e, "ticket helper (pid %d) is running again", (int) e->pid);
                pump(e);
                return true;
        case TIPC_FAILED:
                if (e->state != HELPER_STARTING)
                        return false;
                say(e, "ticket helper (pid %d) cannot start: %s", (int) e->pid, m->s[TF_WHY]);
                e->broken = "it could not start";
                return true;
        case TIPC_RESULT:
                if (e->state != HELPER_READY)
                        return false;
                id = m->u[TF_ID];
                l = find_sent(e, id);
                if (!l)
                        return false;
                e->n_sent--;
                tipc_result_get(m, &id, &l->result);
                ticket_limits_record(e->limits, l->ticket, l->user, now_monotonic_ms(), &l->result);
                if (l->cancelled) {
                        lookup_unlink(e, l);
                        free(l);
                } else
                        l->state = LOOKUP_DONE;
                return true;
        case TIPC_COMMENT_FAILED:
                /* Never more failures than notes: a helper cannot flood the log. */
                if (e->state != HELPER_READY || e->notes_failed >= e->notes_sent)
                        return false;
                e->notes_failed++;
                if (e->log)
                        e->log(e->log_userdata, m->s[TF_TICKET], m->s[TF_WHY]);
                return true;
        default:
                return false;
        }
}

static void read_helper(struct ticket_engine *e)
{
        while (e->sock >= 0 && !e->broken) {
                int r = helper_read(e, MSG_DONTWAIT);

                if (r == 0)
                        return;
                if (r == -EPIPE) {
                        helper_stop(e, false, "its socket closed");
                        return;
                }
                if (r < 0 || !on_message(e)) {
                        helper_stop(e, true, "it sent a malformed message");
                        return;
                }
        }
}

static void deliver(struct ticket_engine *e)
{
        struct lookup *list = NULL, **tail = &list, **pp = &e->lookups;

        /* Out of the list first (in order, in one pass), so that callbacks
         * may ask and cancel freely. */
        while (*pp) {
                struct lookup *l = *pp;

                if (l->state != LOOKUP_DONE) {
                        pp = &l->next;
                        continue;
                }
                *pp = l->next;
                l->next = NULL;
                *tail = l;
                tail = &l->next;
        }
        e->tail = pp;
        e->delivering = list;
        for (struct lookup *l = list; l; l = l->next) {
                if (l->cancelled)
                        continue;
                l->cancelled = true;    /* exactly once, even if a callback cancels it now */
                l->cb(l->userdata, l->ticket, &l->result);
        }
        e->delivering = NULL;
        while (list) {
                struct lookup *l = list;

                list = l->next;
                free(l);
        }
}

static void on_timer(struct ticket_engine *e)
{
        int64_t now = now_monotonic_ms();

        if (e->state == HELPER_STARTING && now >= e->started_ms + HELPER_START_MS) {
                helper_stop(e, true, "it did not answer its configuration in time");
                return;
        }
        if (e->state == HELPER_READY)
                for (struct lookup *l = e->lookups; l; l = l->next)
                        if (l->state == LOOKUP_SENT && now >= l->deadline_ms) {
                                helper_stop(e, true, "a lookup took longer than its retries can");
                                return;
                        }
        if (e->state == HELPER_DOWN && e->restart_at_ms && now >= e->restart_at_ms) {
                int r;

                e->restart_at_ms = 0;
                r = helper_start(e);
                if (r < 0)
                        helper_stop(e, true, strerror(-r));
        }
        arm(e);
}

void ticket_engine_process(struct ticket_engine *e)
{
        uint64_t ticks;

        if (!e)
                return;
        (void) !read(e->kick_fd, &ticks, sizeof(ticks));
        (void) !read(e->timer_fd, &ticks, sizeof(ticks));
        read_helper(e);
        if (e->broken)
                helper_stop(e, true, e->broken);
        on_timer(e);
        pump(e);
        deliver(e);
        /* Callbacks may have asked for more. */
        if (e->broken)
                helper_stop(e, true, e->broken);
        pump(e);
}

bool ticket_system_configured(const struct ticket_config *cfg)
{
        return cfg && cfg->provider && strcmp(cfg->provider, "none") != 0;
}

static bool ticket_ok(const char *t)
{
        return t && t[0] && valid_ticket(t);
}

int ticket_lookup(struct ticket_engine *e, const char *ticket, const char *user, unsigned flags,
                  ticket_done_fn cb, void *userdata)
{
        int64_t now = now_monotonic_ms(), wait_ms = 0;
        struct lookup *l;

        if (!e || !cb || !ticket_ok(ticket) || !user || !valid_user_name(user) || (flags & ~TICKET_LOOKUP_POLL))
                return -EINVAL;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->id = ++e->next_id;
        l->flags = flags;
        l->cb = cb;
        l->userdata = userdata;
        snprintf(l->ticket, sizeof(l->ticket), "%s", ticket);
        snprintf(l->user, sizeof(l->user), "%s", user);
        if (!(flags & TICKET_LOOKUP_POLL) && ticket_limits_cached(e->limits, ticket, user, now, &l->result))
                l->state = LOOKUP_DONE;
        else if (e->state == HELPER_DOWN)
                done(l, TICKET_ERROR, 0, "the ticket helper is restarting; jitd keeps trying");
        else if (count(e, user, LOOKUP_QUEUED) >= TICKET_QUEUED_PER_USER)
                done(l, TICKET_ERROR, 0, "too many ticket lookups are waiting for %s", user);
        else if (!(flags & TICKET_LOOKUP_POLL) && ticket_limits_charge(e->limits, user, now, &wait_ms) < 0)
                done(l, TICKET_ERROR, (wait_ms + 999) / 1000,
                     "too many ticket lookups for %s in a short time: try again in %llds", user,
                     (long long) ((wait_ms + 999) / 1000));
        else
                l->state = LOOKUP_QUEUED;
        *e->tail = l;
        e->tail = &l->next;
        if (l->state == LOOKUP_DONE)
                kick(e);
        else
                pump(e);
        return 0;
}

void ticket_cancel(struct ticket_engine *e, void *userdata)
{
        if (!e)
                return;
        for (struct lookup *l = e->lookups, *next; l; l = next) {
                next = l->next;
                if (l->userdata != userdata || l->cancelled)
                        continue;
                if (l->state != LOOKUP_SENT) {
                        lookup_unlink(e, l);
                        free(l);
                        continue;
                }
                /* Its RESULT still comes (the helper answers every id); the
                 * helper drops the transfer when nobody else waits for it. */
                l->cancelled = true;
                if (!e->broken && tipc_cancel(&e->out, &e->scratch, l->id) == 0)
                        (void) helper_write(e, &e->out);
        }
        for (struct lookup *l = e->delivering; l; l = l->next)
                if (l->userdata == userdata)
                        l->cancelled = true;
}

static bool note_text_ok(const char *text)
{
        size_t n = 0;

        for (const unsigned char *p = (const unsigned char *) text; *p; p++, n++)
                if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
                        return false;
        return n > 0 && n <= NOTE_MAX;
}

int ticket_comment(struct ticket_engine *e, const char *ticket, const char *user, const char *text)
{
        static char clean[NOTE_MAX + 1];

        if (!e || !ticket_ok(ticket) || !user || !valid_user_name(user) || !text || !note_text_ok(text))
                return -EINVAL;
        if (!e->comment)
                return 0;
        /* Somebody else's ticket, or one not (yet) seen naming user: jitd
         * must not become a way to write on other people's tickets. */
        if (!ticket_limits_requester_ok(e->limits, ticket, user))
                return -EPERM;
        if (e->state != HELPER_READY || e->broken)
                return -EAGAIN;
        if (ticket_limits_note(e->limits, ticket, now_monotonic_ms()) < 0)
                return -EDQUOT;
        /* Free text may hold what the wire refuses (bad UTF-8, C1, bidi). */
        text_sanitize(clean, sizeof(clean), text, TEXT_LINES);
        if (tipc_comment(&e->out, &e->scratch, ticket, clean) < 0)
                return -EINVAL;
        if (helper_write(e, &e->out) < 0)
                return -EIO;
        e->notes_sent++;
        return 0;
}

static int helper_user(const struct ticket_config *cfg, uid_t *ret_uid, gid_t *ret_gid, char *why,
                       size_t why_size)
{
        const char *name = cfg->helper_user ? cfg->helper_user : TICKET_HELPER_USER;
        struct passwd pw, *p = NULL;
        char buf[4096];
        int r;

        r = getpwnam_r(name, &pw, buf, sizeof(buf), &p);
        if (r != 0 || !p) {
                snprintf(why, why_size, "helper_user %s: %s", name, r ? strerror(r) : "no such user");
                return r ? -r : -ENOENT;
        }
        if (p->pw_uid == 0 || p->pw_gid == 0) {
                snprintf(why, why_size, "helper_user %s is root (uid or gid 0): the ticket helper must not be",
                         name);
                return -EPERM;
        }
        *ret_uid = p->pw_uid;
        *ret_gid = p->pw_gid;
        return 0;
}

/* The first start, synchronous: READY, or the helper's reason. */
static int wait_ready(struct ticket_engine *e, char *why, size_t why_size)
{
        int64_t deadline = now_monotonic_ms() + HELPER_START_MS;
        char how[128];

        for (;;) {
                struct pollfd pfd = { .fd = e->sock, .events = POLLIN };
                int64_t left = deadline - now_monotonic_ms();
                int r;

                if (left <= 0) {
                        snprintf(why, why_size, "the ticket helper did not start within %d s",
                                 HELPER_START_MS / 1000);
                        return -ETIMEDOUT;
                }
                r = poll(&pfd, 1, (int) left);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        continue;
                r = helper_read(e, MSG_DONTWAIT);
                if (r == 0)
                        continue;
                if (r == -EPIPE) {
                        reap(e, how, sizeof(how));
                        snprintf(why, why_size, "the ticket helper %s before it was ready", how);
                        return -EIO;
                }
                if (r < 0 || (e->in.type != TIPC_READY && e->in.type != TIPC_FAILED)) {
                        snprintf(why, why_size, "the ticket helper sent a malformed message");
                        return -EBADMSG;
                }
                if (e->in.type == TIPC_FAILED) {
                        snprintf(why, why_size, "%s", e->in.s[TF_WHY]);
                        return -(int) e->in.u[TF_ERRNO];
                }
                e->state = HELPER_READY;
                return 0;
        }
}

int ticket_engine_new(const struct ticket_config *cfg, const char *host, struct ticket_engine **ret,
                      char *why, size_t why_size)
{
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = -1 };
        struct ticket_engine *e;
        char *token = NULL;
        uid_t uid = 0;
        gid_t gid = 0;
        ssize_t n;
        int r;

        if (!cfg || !ret || !why || why_size == 0)
                return -EINVAL;
        why[0] = '\0';
        if (!ticket_system_configured(cfg)) {
                *ret = NULL;
                return 0;
        }
        if (!host || !valid_host_name(host)) {
                snprintf(why, why_size, "this host's name is not valid for a ticket binding");
                return -EINVAL;
        }
        r = helper_user(cfg, &uid, &gid, why, why_size);
        if (r < 0)
                return r;
        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->epoll_fd = e->timer_fd = e->kick_fd = e->sock = -1;
        e->tail = &e->lookups;
        e->backoff_ms = HELPER_BACKOFF_MIN_MS;
        e->poll = cfg->poll ? cfg->poll : 60;
        e->comment = cfg->comment;
        /* The helper's own budget is 3 attempts, backoffs included, within
         * 3 x timeout of the first; past that and some slack it is hung. */
        e->hang_ms = (int64_t) (cfg->timeout ? cfg->timeout : 10) * 3000 + 5000;
        r = ticket_limits_new(e->poll, &e->limits);
        if (r < 0)
                goto fail;
        if (cfg->token_file) {
                r = ticket_token_read(cfg->token_file, &token, why, why_size);
                if (r < 0)
                        goto fail;
        }
        r = tipc_config(&e->config, &e->scratch, uid, gid, host, token, cfg);
        if (token) {
                explicit_bzero(token, strlen(token));
                free(token);
        }
        if (r < 0) {
                snprintf(why, why_size, "[ticket] has a value the ticket helper cannot be given (too long, or "
                         "not printable UTF-8)");
                goto fail;
        }
        /* Run again what runs now, even if the file is replaced later. */
        n = readlink("/proc/self/exe", e->exe, sizeof(e->exe) - 1);
        if (n < 0 || (size_t) n >= sizeof(e->exe) - 1) {
                r = n < 0 ? -errno : -ENAMETOOLONG;
                snprintf(why, why_size, "cannot find jitd's own binary: %s", strerror(-r));
                goto fail;
        }
        e->exe[n] = '\0';
        e->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        e->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        e->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (e->epoll_fd < 0 || e->timer_fd < 0 || e->kick_fd < 0) {
                r = -errno;
                goto fail;
        }
        ev.data.fd = e->timer_fd;
        if (epoll_ctl(e->epoll_fd, EPOLL_CTL_ADD, e->timer_fd, &ev) < 0) {
                r = -errno;
                goto fail;
        }
        ev.data.fd = e->kick_fd;
        if (epoll_ctl(e->epoll_fd, EPOLL_CTL_ADD, e->kick_fd, &ev) < 0) {
                r = -errno;
                goto fail;
        }
        r = helper_start(e);
        if (r < 0) {
                snprintf(why, why_size, "cannot start the ticket helper: %s", strerror(-r));
                goto fail;
        }
        r = wait_ready(e, why, why_size);
        if (r < 0)
                goto fail;
        arm(e);
        *ret = e;
        return 0;
fail:
        if (r == -ENOMEM && !why[0])
                snprintf(why, why_size, "out of memory");
        ticket_engine_free(e);
        return r;
}

void ticket_engine_free(struct ticket_engine *e)
{
        char how[64];

        if (!e)
                return;
        if (e->sock >= 0)
                close(e->sock);
        reap(e, how, sizeof(how));
        while (e->lookups) {
                struct lookup *l = e->lookups;

                e->lookups = l->next;
                free(l);
        }
        ticket_limits_free(e->limits);
        if (e->epoll_fd >= 0)
                close(e->epoll_fd);
        if (e->timer_fd >= 0)
                close(e->timer_fd);
        if (e->kick_fd >= 0)
                close(e->kick_fd);
        explicit_bzero(&e->config, sizeof(e->config));
        free(e);
}

int ticket_engine_fd(const struct ticket_engine *e)
{
        return e ? e->epoll_fd : -EINVAL;
}

void ticket_engine_set_log(struct ticket_engine *e, ticket_log_fn fn, void *userdata)
{
        if (e) {
                e->log = fn;
                e->log_userdata = userdata;
        }
}

uint64_t ticket_engine_poll_interval(const struct ticket_engine *e)
{
        return e ? e->poll : 0;
}
