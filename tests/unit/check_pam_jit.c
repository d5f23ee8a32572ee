/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pam_jit.so as sudo and sshd see it: the BUILT module, loaded by the real
 * libpam from a service file in a temporary directory (pam_start_confdir),
 * talking to a fake jitd that runs in a thread of this process and decodes
 * requests with the real common/proto.c.
 *
 * The module is built from pam_jit/pam_jit.so's path in $PAM_JIT_SO, default
 * build/pam_jit.so (tests run from the repository root).
 *
 * Seeing PAM_IGNORE through libpam: a stack whose only module ignores comes out
 * as PAM_PERM_DENIED, indistinguishable from a denial. So every line of pam_jit
 * is `[success=done ignore=ignore default=die]` followed by pam_debug.so
 * returning PAM_MODULE_UNKNOWN, a code pam_jit never returns: the result is
 * pam_jit's own code, with PAM_MODULE_UNKNOWN meaning "pam_jit ignored".
 *
 * Seeing the log: this program defines pam_syslog and pam_vsyslog, which
 * interpose libpam's (the module calls them through the PLT), so a test can
 * count the lines the module wrote and nothing reaches the host's syslog.
 */
#include <check.h>
#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>
#include <security/pam_ext.h>

#include "proto.h"
#include "util.h"

#define MARKER_IGNORED PAM_MODULE_UNKNOWN
#define TIMEOUT_MS 300

static char so_path[PATH_MAX];

/* snprintf that fails the test instead of truncating. */
__attribute__((format(printf, 3, 4)))
static void xfmt(char *buf, size_t size, const char *format, ...)
{
        va_list ap;
        int n;

        va_start(ap, format);
        n = vsnprintf(buf, size, format, ap);
        va_end(ap);
        ck_assert_msg(n >= 0 && (size_t) n < size, "test buffer too small");
}

/* ---- log capture ------------------------------------------------------ */

struct log_line {
        int prio;
        char text[1400];
};

static struct {
        int n;
        struct log_line line[64];
} logs;

void pam_vsyslog(const pam_handle_t *pamh, int priority, const char *fmt, va_list args)
{
        (void) pamh;
        if (logs.n >= (int) ELEMENTSOF(logs.line))
                return;
        logs.line[logs.n].prio = priority & LOG_PRIMASK;
        vsnprintf(logs.line[logs.n].text, sizeof(logs.line[0].text), fmt, args);
        logs.n++;
}

void pam_syslog(const pam_handle_t *pamh, int priority, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        pam_vsyslog(pamh, priority, fmt, ap);
        va_end(ap);
}

/* Lines that are not LOG_DEBUG: what an admin sees without `debug`. */
static int log_count(void)
{
        int n = 0;

        for (int i = 0; i < logs.n; i++)
                if (logs.line[i].prio != LOG_DEBUG)
                        n++;
        return n;
}

static const struct log_line *log_find(const char *needle)
{
        for (int i = 0; i < logs.n; i++)
                if (strstr(logs.line[i].text, needle))
                        return &logs.line[i];
        return NULL;
}

static void log_dump(void)
{
        for (int i = 0; i < logs.n; i++)
                fprintf(stderr, "  log[%d] <%d> %s\n", i, logs.line[i].prio, logs.line[i].text);
}

/* ---- conversation ----------------------------------------------------- */

/* Every message the module sends, prompts included, in order. A prompt is
 * answered with `answer`; with answer NULL the conversation fails, as sudo's
 * does with -n or without a terminal. */
struct conv_log {
        int n;
        int style[8];
        char text[8][1200];
        int prompts;
        const char *answer;
        int answer_delay_ms;          /* how long the "user" takes to type */
};

static bool is_prompt(int style)
{
        return style == PAM_PROMPT_ECHO_ON || style == PAM_PROMPT_ECHO_OFF;
}

static int conv_fn(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
        struct conv_log *c = data;
        bool fail = false;

        for (int i = 0; i < n; i++) {
                /* pam_debug (the ignore marker) announces itself; not ours. */
                if (msg[i]->msg_style == PAM_TEXT_INFO && strstr(msg[i]->msg, "=module_unknown"))
                        continue;
                if (is_prompt(msg[i]->msg_style)) {
                        c->prompts++;
                        fail = fail || !c->answer;
                }
                if (c->n < (int) ELEMENTSOF(c->style)) {
                        c->style[c->n] = msg[i]->msg_style;
                        snprintf(c->text[c->n], sizeof(c->text[0]), "%s", msg[i]->msg);
                        c->n++;
                }
        }
        if (fail)
                return PAM_CONV_ERR;
        if (c->answer_delay_ms > 0) {
                struct timespec ts = { c->answer_delay_ms / 1000, (long) (c->answer_delay_ms % 1000) * 1000000L };

                nanosleep(&ts, NULL);
        }
        *resp = calloc((size_t) n, sizeof(**resp));
        if (!*resp)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++)
                if (is_prompt(msg[i]->msg_style)) {
                        (*resp)[i].resp = strdup(c->answer);
                        ck_assert_ptr_nonnull((*resp)[i].resp);
                }
        return PAM_SUCCESS;
}

/* ---- fake jitd -------------------------------------------------------- */

enum fake_mode {
        FAKE_NONE = -1,       /* no fake at all */
        FAKE_ALLOW,
        FAKE_DENY,            /* decision 2 with f->message */
        FAKE_IGNORE,
        FAKE_OK,              /* PROTO_REP_OK */
        FAKE_ERROR,           /* PROTO_REP_ERROR {f->err, f->message} */
        FAKE_GARBLED,         /* bytes that are no jitd message */
        FAKE_BAD_VERSION,     /* an "allow" with protocol version 2 */
        FAKE_TRUNCATED,       /* an "allow" missing its last byte */
        FAKE_WRONG_TYPE,      /* a grant record */
        FAKE_NO_DECISION,     /* a decision reply without PF_DECISION */
        FAKE_BAD_DECISION,    /* decision 7 */
        FAKE_CLOSE,           /* closes without a reply */
        FAKE_HANG,            /* never answers */
};

/* How the fake answers request-for, whatever the mode for the rest. */
enum rf_mode {
        RF_GRANT,             /* a grant record built from struct fake_rf */
        RF_ERROR,             /* PROTO_REP_ERROR {err, message} */
        RF_DECISION,          /* a decision: no answer to request-for */
        RF_GARBLED,
        RF_CLOSE,             /* closes without a reply */
        RF_HANG,              /* never answers */
};

struct fake_rf {
        enum rf_mode mode;
        int delay_ms;                 /* before answering */
        uint64_t id;
        char state[17];
        uint64_t expires_at;          /* 0: absent */
        uint64_t starts_at;           /* 0: absent */
        uint64_t err;
        char message[1025];           /* "": absent */
};

struct fake {
        char path[PATH_MAX];
        int lfd;
        int stop[2];
        pthread_t thread;
        pthread_mutex_t lock;
        enum fake_mode mode;
        uint64_t err;
        char message[1025];
        char host[JIT_HOST_MAX + 1];  /* PF_HOST of decision replies; "": absent */
        int delay_ms;                 /* before answering anything but request-for */
        struct fake_rf rf;
        int requests;                 /* datagrams received */
        bool decoded;                 /* the last one decoded */
        char why[256];
        struct proto_msg last;
        int rf_requests;              /* request-for messages received */
        struct proto_msg rf_last;     /* the last of them */
};

static int wait_readable(struct fake *f, int fd)
{
        struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = f->stop[0], .events = POLLIN } };

        for (;;) {
                int n = poll(p, 2, -1);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || p[1].revents)
                        return -1;
                if (p[0].revents)
                        return 0;
        }
}

/* Sleep, but wake up for fake_stop. */
static void fake_sleep(struct fake *f, int ms)
{
        struct pollfd p = { .fd = f->stop[0], .events = POLLIN };
        int64_t end = now_monotonic_ms() + ms;

        for (int64_t left = ms; left > 0; left = end - now_monotonic_ms()) {
                int n = poll(&p, 1, (int) left);

                if (n > 0 || (n < 0 && errno != EINTR))
                        return;
        }
}

/* Until the client gives up and hangs up, or the test ends. */
static void fake_hang(struct fake *f, int cfd)
{
        uint8_t buf[64];

        while (wait_readable(f, cfd) == 0 && recv(cfd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
                ;
}

static void fake_reply(int fd, const struct proto_msg *m, int damage)
{
        uint8_t buf[PROTO_MAX_FRAME];
        size_t len;

        ck_assert_int_eq(proto_encode(m, buf, sizeof(buf), &len), 0);
        if (damage == 1)
                buf[4] = PROTO_VERSION + 1;
        else if (damage == 2)
                len--;
        (void) send(fd, buf, len, MSG_NOSIGNAL);
}

/* request-for: what jitd's handler would answer, from f->rf. The grant
 * echoes the role and ticket it was asked for, as jitd's does. */
static void fake_serve_request_for(struct fake *f, int cfd, const struct proto_msg *req)
{
        struct proto_msg m;
        struct fake_rf rf;
        const char *role = proto_get_str(req, PF_ROLE);

        pthread_mutex_lock(&f->lock);
        rf = f->rf;
        pthread_mutex_unlock(&f->lock);
        fake_sleep(f, rf.delay_ms);

        switch (rf.mode) {
        case RF_GRANT:
                proto_init(&m, PROTO_REP_GRANT);
                proto_set_u64(&m, PF_ID, rf.id);
                proto_set_str(&m, PF_USER, proto_get_str(req, PF_USER));
                proto_set_str(&m, PF_ROLE, role ? role : "web-admin");
                proto_set_str(&m, PF_TICKET, proto_get_str(req, PF_TICKET));
                proto_set_str(&m, PF_STATE, rf.state);
                if (rf.expires_at)
                        proto_set_u64(&m, PF_EXPIRES_AT, rf.expires_at);
                if (rf.starts_at)
                        proto_set_u64(&m, PF_STARTS_AT, rf.starts_at);
                if (rf.message[0])
                        proto_set_str(&m, PF_MESSAGE, rf.message);
                fake_reply(cfd, &m, 0);
                break;
        case RF_ERROR:
                proto_init(&m, PROTO_REP_ERROR);
                proto_set_u64(&m, PF_ERRNO, rf.err);
                if (rf.message[0])
                        proto_set_str(&m, PF_MESSAGE, rf.message);
                fake_reply(cfd, &m, 0);
                break;
        case RF_DECISION:
                proto_init(&m, PROTO_REP_DECISION);
                proto_set_u64(&m, PF_DECISION, PROTO_DECISION_ALLOW);
                fake_reply(cfd, &m, 0);
                break;
        case RF_GARBLED:
                (void) send(cfd, "HTTP/1.0 200 OK\r\n\r\nallow", 24, MSG_NOSIGNAL);
                break;
        case RF_CLOSE:
                break;
        case RF_HANG:
                fake_hang(f, cfd);
                break;
        }
}

static void fake_serve(struct fake *f, int cfd)
{
        uint8_t buf[PROTO_MAX_FRAME + 1];
        struct proto_msg m;
        enum fake_mode mode;
        bool request_for;
        int delay_ms;
        ssize_t n;

        if (wait_readable(f, cfd) < 0)
                return;
        n = recv(cfd, buf, sizeof(buf), 0);
        if (n <= 0)
                return;
        pthread_mutex_lock(&f->lock);
        f->requests++;
        f->decoded = proto_decode(buf, (size_t) n, &f->last, f->why, sizeof(f->why)) == 0;
        request_for = f->decoded && f->last.type == PROTO_REQ_REQUEST_FOR;
        if (request_for) {
                f->rf_requests++;
                f->rf_last = f->last;
        }
        mode = f->mode;
        delay_ms = f->delay_ms;
        pthread_mutex_unlock(&f->lock);

        if (request_for) {
                fake_serve_request_for(f, cfd, &f->rf_last);
                return;
        }
        fake_sleep(f, delay_ms);
        switch (mode) {
        case FAKE_ALLOW:
        case FAKE_BAD_VERSION:
        case FAKE_TRUNCATED:
                proto_init(&m, PROTO_REP_DECISION);
                proto_set_u64(&m, PF_DECISION, PROTO_DECISION_ALLOW);
                proto_set_str(&m, PF_ROLE, "web-admin");
                fake_reply(cfd, &m, mode == FAKE_BAD_VERSION ? 1 : mode == FAKE_TRUNCATED ? 2 : 0);
                break;
        case FAKE_DENY:
                proto_init(&m, PROTO_REP_DECISION);
                proto_set_u64(&m, PF_DECISION, PROTO_DECISION_DENY);
                if (f->message[0])
                        proto_set_str(&m, PF_MESSAGE, f->message);
                if (f->host[0])
                        proto_set_str(&m, PF_HOST, f->host);
                fake_reply(cfd, &m, 0);
                break;
        case FAKE_IGNORE:
                proto_init(&m, PROTO_REP_DECISION);
                proto_set_u64(&m, PF_DECISION, PROTO_DECISION_IGNORE);
                fake_reply(cfd, &m, 0);
                break;
        case FAKE_OK:
                proto_init(&m, PROTO_REP_OK);
                fake_reply(cfd, &m, 0);
                break;
        case FAKE_ERROR:
                proto_init(&m, PROTO_REP_ERROR);
                proto_set_u64(&m, PF_ERRNO, f->err);
                proto_set_str(&m, PF_MESSAGE, f->message);
                fake_reply(cfd, &m, 0);
                break;
        case FAKE_GARBLED:
                (void) send(cfd, "HTTP/1.0 200 OK\r\n\r\nallow", 24, MSG_NOSIGNAL);
                break;
        case FAKE_WRONG_TYPE:
                proto_init(&m, PROTO_REP_GRANT);
                proto_set_u64(&m, PF_ID, 1);
                proto_set_str(&m, PF_STATE, "active");
                fake_reply(cfd, &m, 0);
                break;
        case FAKE_NO_DECISION:
                proto_init(&m, PROTO_REP_DECISION);
                proto_set_str(&m, PF_MESSAGE, "maybe");
                fake_reply(cfd, &m, 0);
                break;
        case FAKE_BAD_DECISION:
                proto_init(&m, PROTO_REP_DECISION);
                proto_set_u64(&m, PF_DECISION, 7);
                fake_reply(cfd, &m, 0);
                break;
        case FAKE_CLOSE:
        case FAKE_NONE:
                break;
        case FAKE_HANG:
                fake_hang(f, cfd);
                break;
        }
}

static void *fake_main(void *arg)
{
        struct fake *f = arg;

        while (wait_readable(f, f->lfd) == 0) {
                int cfd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);

                if (cfd < 0)
                        continue;
                fake_serve(f, cfd);
                close(cfd);
        }
        return NULL;
}

static struct fake *fake_start(const char *path, enum fake_mode mode)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct fake *f = calloc(1, sizeof(*f));

        ck_assert_ptr_nonnull(f);
        xfmt(f->path, sizeof(f->path), "%s", path);
        f->mode = mode;
        pthread_mutex_init(&f->lock, NULL);
        ck_assert_int_eq(pipe2(f->stop, O_CLOEXEC), 0);
        f->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(f->lfd, 0);
        ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
        memcpy(sa.sun_path, path, strlen(path) + 1);
        ck_assert_int_eq(bind(f->lfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        ck_assert_int_eq(listen(f->lfd, 16), 0);
        ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
        return f;
}

static void fake_stop(struct fake *f)
{
        if (!f)
                return;
        ck_assert_int_eq(write(f->stop[1], "x", 1), 1);
        pthread_join(f->thread, NULL);
        close(f->lfd);
        close(f->stop[0]);
        close(f->stop[1]);
        unlink(f->path);
        pthread_mutex_destroy(&f->lock);
        free(f);
}

static void fake_set(struct fake *f, enum fake_mode mode, uint64_t err, const char *message)
{
        pthread_mutex_lock(&f->lock);
        f->mode = mode;
        f->err = err;
        snprintf(f->message, sizeof(f->message), "%s", message ? message : "");
        pthread_mutex_unlock(&f->lock);
}

/* The grant the fake answers request-for with. */
static void fake_set_grant(struct fake *f, uint64_t id, const char *state, uint64_t expires_at,
                           const char *message)
{
        pthread_mutex_lock(&f->lock);
        f->rf.mode = RF_GRANT;
        f->rf.id = id;
        snprintf(f->rf.state, sizeof(f->rf.state), "%s", state ? state : "");
        f->rf.expires_at = expires_at;
        snprintf(f->rf.message, sizeof(f->rf.message), "%s", message ? message : "");
        pthread_mutex_unlock(&f->lock);
}

static void fake_set_rf(struct fake *f, enum rf_mode mode, uint64_t err, const char *message)
{
        pthread_mutex_lock(&f->lock);
        f->rf.mode = mode;
        f->rf.err = err;
        snprintf(f->rf.message, sizeof(f->rf.message), "%s", message ? message : "");
        pthread_mutex_unlock(&f->lock);
}

static void fake_set_starts(struct fake *f, uint64_t starts_at)
{
        pthread_mutex_lock(&f->lock);
        f->rf.starts_at = starts_at;
        pthread_mutex_unlock(&f->lock);
}

static void fake_set_host(struct fake *f, const char *host)
{
        pthread_mutex_lock(&f->lock);
        snprintf(f->host, sizeof(f->host), "%s", host ? host : "");
        pthread_mutex_unlock(&f->lock);
}

static void fake_set_delays(struct fake *f, int check_ms, int request_for_ms)
{
        pthread_mutex_lock(&f->lock);
        f->delay_ms = check_ms;
        f->rf.delay_ms = request_for_ms;
        pthread_mutex_unlock(&f->lock);
}

/* A copy of the last request-for the fake received, and how many so far. */
static int fake_last_rf(struct fake *f, struct proto_msg *ret)
{
        int n;

        pthread_mutex_lock(&f->lock);
        n = f->rf_requests;
        if (n > 0 && ret)
                *ret = f->rf_last;
        pthread_mutex_unlock(&f->lock);
        return n;
}

/* A copy of what the fake received last, and how many datagrams so far. */
static int fake_last(struct fake *f, struct proto_msg *ret)
{
        int n;

        pthread_mutex_lock(&f->lock);
        n = f->requests;
        if (n > 0 && ret) {
                ck_assert_msg(f->decoded, "fake jitd could not decode the request: %s", f->why);
                *ret = f->last;
        }
        pthread_mutex_unlock(&f->lock);
        return n;
}

/* ---- PAM fixture ------------------------------------------------------ */

struct t {
        char dir[64];             /* mkdtemp: service files and sockets */
        char sock[128];           /* where the fake jitd listens */
        struct fake *fake;
        struct conv_log conv;
        struct pam_conv pconv;
        pam_handle_t *pamh;
};

static void write_file(const char *dir, const char *name, const char *text)
{
        char path[256];
        FILE *fp;

        xfmt(path, sizeof(path), "%s/%s", dir, name);
        fp = fopen(path, "we");
        ck_assert_ptr_nonnull(fp);
        fputs(text, fp);
        ck_assert_int_eq(fclose(fp), 0);
}

static void t_init(struct t *t, enum fake_mode mode)
{
        memset(t, 0, sizeof(*t));
        logs.n = 0;
        xfmt(t->dir, sizeof(t->dir), "/tmp/pam_jit_test.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(t->dir));
        xfmt(t->sock, sizeof(t->sock), "%s/jitd.sock", t->dir);
        /* libpam complains when a confdir lacks "other". */
        write_file(t->dir, "other", "auth required pam_deny.so\naccount required pam_deny.so\n"
                   "session required pam_deny.so\n");
        t->pconv.conv = conv_fn;
        t->pconv.appdata_ptr = &t->conv;
        if (mode != FAKE_NONE)
                t->fake = fake_start(t->sock, mode);
}

/* Start a transaction for SERVICE as USER (NULL: unset), pam_jit given ARGS;
 * socket= and timeout= come first so ARGS can override them. */
static void t_start(struct t *t, const char *service, const char *user, const char *args)
{
        char text[4096];

        xfmt(text, sizeof(text),
                 "auth    [success=done ignore=ignore default=die] %1$s socket=%2$s timeout=%3$d %4$s\n"
                 "auth    required pam_debug.so auth=module_unknown cred=module_unknown\n"
                 "account [success=done ignore=ignore default=die] %1$s socket=%2$s timeout=%3$d %4$s\n"
                 "account required pam_debug.so acct=module_unknown\n"
                 "session [success=done ignore=ignore default=die] %1$s socket=%2$s timeout=%3$d %4$s\n"
                 "session required pam_debug.so open_session=module_unknown close_session=module_unknown\n",
                 so_path, t->sock, TIMEOUT_MS, args ? args : "");
        write_file(t->dir, service, text);
        t->conv.n = 0;
        ck_assert_int_eq(pam_start_confdir(service, user, &t->pconv, t->dir, &t->pamh), PAM_SUCCESS);
}

static void t_end_pam(struct t *t)
{
        if (t->pamh)
                pam_end(t->pamh, PAM_SUCCESS);
        t->pamh = NULL;
}

static void t_done(struct t *t)
{
        char path[256];
        DIR *d;
        struct dirent *e;

        t_end_pam(t);
        fake_stop(t->fake);
        t->fake = NULL;
        d = opendir(t->dir);
        if (d) {
                while ((e = readdir(d)))
                        if (e->d_name[0] != '.') {
                                xfmt(path, sizeof(path), "%s/%s", t->dir, e->d_name);
                                unlink(path);
                        }
                closedir(d);
        }
        rmdir(t->dir);
}

/* The module's own code, with the marker turned back into PAM_IGNORE. */
static int seen(int r)
{
        return r == MARKER_IGNORED ? PAM_IGNORE : r;
}

static int account(struct t *t, int flags)
{
        return seen(pam_acct_mgmt(t->pamh, flags));
}

static void set_item(struct t *t, int item, const char *value)
{
        ck_assert_int_eq(pam_set_item(t->pamh, item, value), PAM_SUCCESS);
}

#define ck_assert_pam(got, want) \
        ck_assert_msg((got) == (want), "PAM code %d (%s), expected %d (%s)", (got), \
                      pam_strerror(NULL, (got)), (want), pam_strerror(NULL, (want)))

/* Exactly one line for the admin, containing needle; dump the log if not. */
static void assert_one_log(const char *needle)
{
        if (log_count() != 1 || !log_find(needle))
                log_dump();
        ck_assert_int_eq(log_count(), 1);
        ck_assert_ptr_nonnull(log_find(needle));
}

static void assert_one_error_msg(struct t *t, const char *text)
{
        ck_assert_int_eq(t->conv.n, 1);
        ck_assert_int_eq(t->conv.style[0], PAM_ERROR_MSG);
        ck_assert_str_eq(t->conv.text[0], text);
}

#define UNAVAILABLE "pam_jit: elevation service unavailable; access denied"

/* ---- decisions -------------------------------------------------------- */

START_TEST(test_allow)
{
        struct t t;
        struct proto_msg m;
        const char *s;

        t_init(&t, FAKE_ALLOW);
        t_start(&t, "jit-test", "alice", NULL);
        set_item(&t, PAM_TTY, "/dev/pts/3");
        set_item(&t, PAM_RHOST, "192.0.2.7");
        ck_assert_pam(account(&t, 0), PAM_SUCCESS);
        ck_assert_int_eq(t.conv.n, 0);
        ck_assert_int_eq(log_count(), 0);

        ck_assert_int_eq(fake_last(t.fake, &m), 1);
        ck_assert_uint_eq(m.type, PROTO_REQ_CHECK);
        ck_assert_str_eq(proto_get_str(&m, PF_USER), "alice");
        ck_assert_str_eq(proto_get_str(&m, PF_SERVICE), "jit-test");
        ck_assert_str_eq(proto_get_str(&m, PF_TTY), "/dev/pts/3");
        s = proto_get_str(&m, PF_RHOST);
        ck_assert_str_eq(s, "192.0.2.7");
        t_done(&t);
}
END_TEST

START_TEST(test_allow_without_optional_items)
{
        struct t t;
        struct proto_msg m;

        t_init(&t, FAKE_ALLOW);
        t_start(&t, "jit-test", "alice", NULL);
        ck_assert_pam(account(&t, 0), PAM_SUCCESS);
        ck_assert_int_eq(fake_last(t.fake, &m), 1);
        ck_assert(!proto_has(&m, PF_TTY));
        ck_assert(!proto_has(&m, PF_RHOST));
        t_done(&t);
}
END_TEST

START_TEST(test_deny_shows_message)
{
        static const char msg[] = "no active grant for web-admin; run: jitctl request -r web-admin -t TICKET";
        struct t t;

        t_init(&t, FAKE_DENY);
        fake_set(t.fake, FAKE_DENY, 0, msg);
        t_start(&t, "jit-test", "alice", NULL);
        ck_assert_pam(account(&t, 0), PAM_PERM_DENIED);
        assert_one_error_msg(&t, msg);
        /* A denial is jitd's normal answer, audited there: no syslog noise. */
        ck_assert_int_eq(log_count(), 0);
        t_done(&t);
}
END_TEST

/* jitd's message reaches a terminal: escape sequences and bidi overrides in
 * it (words from a ticket system, a reason) are shown escaped, not obeyed. */
START_TEST(test_deny_message_escaped)
{
        struct t t;

        t_init(&t, FAKE_DENY);
        /* C0 bytes never pass the reply decoder; C1 controls (CSI as
         * U+009B) and bidi overrides do, and are escaped here. */
        fake_set(t.fake, FAKE_DENY, 0, "ticket says \xc2\x9b" "2J and \xe2\x80\xae evil");
        t_start(&t, "jit-test", "alice", NULL);
        ck_assert_pam(account(&t, 0), PAM_PERM_DENIED);
        assert_one_error_msg(&t, "ticket says \\u009b2J and \\u202e evil");
        t_done(&t);
}
END_TEST

START_TEST(test_deny_without_message)
{
        struct t t;

        t_init(&t, FAKE_DENY);
        t_start(&t, "jit-test", "alice", NULL);
        ck_assert_pam(account(&t, 0), PAM_PERM_DENIED);
        ck_assert_int_eq(t.conv.n, 1);
        ck_assert_int_eq(t.conv.style[0], PAM_ERROR_MSG);
        ck_assert_ptr_nonnull(strstr(t.conv.text[0], "jitctl request"));
        t_done(&t);
}
END_TEST

START_TEST(test_deny_silent)
{
        struct t t;

        t_init(&t, FAKE_DENY);
        fake_set(t.fake, FAKE_DENY, 0, "you shall not pass");
        t_start(&t, "jit-test", "alice", NULL);
        /* sudo always passes PAM_SILENT; the denial line must still show. */
        ck_assert_pam(account(&t, PAM_SILENT), PAM_PERM_DENIED);
        ck_assert_int_eq(t.conv.n, 1);
        ck_assert_ptr_nonnull(strstr(t.conv.text[0], "you shall not pass"));
        t_done(&t);
}
END_TEST

START_TEST(test_ignore)
{
        struct t t;

        t_init(&t, FAKE_IGNORE);
        t_start(&t, "jit-test", "alice", NULL);
        ck_assert_pam(account(&t, 0), PAM_IGNORE);
        ck_assert_int_eq(t.conv.n, 0);
        ck_assert_int_eq(log_count(), 0);
        t_done(&t);
}
END_TEST

START_TEST(test_ignore_strict)
{
        struct t t;

        t_init(&t, FAKE_IGNORE);
        t_start(&t, "jit-test", "alice", "strict");
        ck_assert_pam(account(&t, 0), PAM_PERM_DENIED);
        assert_one_log("strict");
        ck_assert_int_eq(t.conv.n, 1);
        ck_assert_int_eq(t.conv.style[0], PAM_ERROR_MSG);
        t_done(&t);
}
END_TEST

START_TEST(test_authenticate_same_as_account)
{
        struct t t;

        t_init(&t, FAKE_ALLOW);
        t_start(&t, "jit-test", "alice", "role=web-admin");
        t.conv.answer = "CHG1234";      /* would be taken if asked; must not be */
        ck_assert_pam(seen(pam_authenticate(t.pamh, 0)), PAM_SUCCESS);
        fake_set(t.fake, FAKE_DENY, 0, "request one");
        ck_assert_pam(seen(pam_authenticate(t.pamh, 0)), PAM_PERM_DENIED);
        assert_one_error_msg(&t, "request one");
        fake_set(t.fake, FAKE_IGNORE, 0, NULL);
        ck_assert_pam(seen(pam_authenticate(t.pamh, 0)), PAM_IGNORE);
        fake_set(t.fake, FAKE_GARBLED, 0, NULL);
        ck_assert_pam(seen(pam_authenticate(t.pamh, 0)), PAM_PERM_DENIED);
        ck_assert_int_eq(log_count(), 1);
        /* Without `prompt`, auth never asks. */
        ck_assert_int_eq(t.conv.prompts, 0);
        ck_assert_int_eq(fake_last_rf(t.fake, NULL), 0);
        t_done(&t);
}
END_TEST

/* libpam walks setcred along the chain the last authenticate took and acts
 * on the cached auth results, so the stack cannot show what pam_sm_setcred
 * itself returns: call it directly, on a real handle. */
START_TEST(test_setcred_ignores)
{
        typedef int (*sm_fn)(pam_handle_t *, int, int, const char **);
        struct t t;
        void *dl;
        sm_fn setcred;

        t_init(&t, FAKE_ALLOW);
        t_start(&t, "jit-test", "alice", NULL);
        dl = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
        ck_assert_ptr_nonnull(dl);
        setcred = (sm_fn) dlsym(dl, "pam_sm_setcred");
        ck_assert_ptr_nonnull(setcred);
        ck_assert_pam(setcred(t.pamh, PAM_ESTABLISH_CRED, 0, NULL), PAM_IGNORE);
        ck_assert_pam(setcred(t.pamh, PAM_DELETE_CRED, 0, NULL), PAM_IGNORE);
        ck_assert_pam(seen(pam_setcred(t.pamh, PAM_ESTABLISH_CRED)), PAM_IGNORE);
        ck_assert_int_eq(fake_last(t.fake, NULL), 0);
        dlclose(dl);
        t_done(&t);
}
END_TEST

/* ---- fail closed ------------------------------------------------------ */

/* Every way jitd can fail to give a clear answer: denied, one log line that
 * contains `why`, one line for the user. */
static void fail_closed(enum fake_mode mode, uint64_t err, const char *why)
{
        struct t t;

        t_init(&t, mode);
        fake_set(t.fake, mode, err, "check is for root only");
        t_start(&t, "jit-test", "alice", NULL);
        ck_assert_pam(account(&t, 0), PAM_PERM_DENIED);
        assert_one_log(why);
        ck_assert_ptr_nonnull(log_find("denying"));
        assert_one_error_msg(&t, UNAVAILABLE);
        t_done(&t);
}

START_TEST(test_error_reply)
{
        fail_closed(FAKE_ERROR, EPERM, "check is for root only (Operation not permitted)");
}
END_TEST

START_TEST(test_garbled)
{
        fail_closed(FAKE_GARBLED, 0, "not a jitd protocol version 1 message");
}
END_TEST

START_TEST(test_bad_version)
{
        fail_closed(FAKE_BAD_VERSION, 0, "not a jitd protocol version 1 message");
}
END_TEST

START_TEST(test_truncated)
{
        fail_closed(FAKE_TRUNCATED, 0, "garbled reply");
}
END_TEST

START_TEST(test_wrong_type)
{
        fail_closed(FAKE_WRONG_TYPE, 0, "unexpected 'grant'");
}
END_TEST

START_TEST(test_no_decision)
{
        fail_closed(FAKE_NO_DECISION, 0, "no decision");
}
END_TEST

START_TEST(test_bad_decision)
{
        fail_closed(FAKE_BAD_DECISION, 0, "unknown decision 7");
}
END_TEST

START_TEST(test_closed_without_reply)
{
        fail_closed(FAKE_CLOSE, 0, "closed the connection");
}
END_TEST

START_TEST(test_hung_server)
{
        struct t t;
        int64_t start, took;

        t_init(&t, FAKE_HANG);
        t_start(&t, "jit-test", "alice", NULL);
        start = now_monotonic_ms();
        ck_assert_pam(account(&t, 0), PAM_PERM_DENIED);
        took = now_monotonic_ms() - start;
        ck_assert_int_lt(took, TIMEOUT_MS + 300);
        ck_assert_int_ge(took, TIMEOUT_MS - 10);
        assert_one_log("did not answer within 300 ms");
        assert_one_error_msg(&t, UNAVAILABLE);
        t_done(&t);
}
END_TEST

START_TEST(test_no_socket)
{
        struct t t;
        char want[256];

        t_init(&t, FAKE_NONE);
        t_start(&t, "jit-test", "alice", NULL);
        ck_assert_pam(account(&t, 0), PAM_PERM_DENIED);
        xfmt(want, sizeof(want), "jitd unreachable at %s: No such file or directory; denying", t.sock);
        assert_one_log(want);
        assert_one_error_msg(&t, UNAVAILABLE);
        t_done(&t);
}
END_TEST

/* A socket file that nobody listens on: jitd died without cleaning up. */
static void make_dead_socket(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        memcpy(sa.sun_path, path, strlen(path) + 1);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        close(fd);
}

START_TEST(test_connection_refused)
{
        struct t t;

        t_init(&t, FAKE_NONE);
        make_dead_socket(t.sock);
        t_start(&t, "jit-test", "alice", NULL);
        ck_assert_pam(account(&t, 0), PAM_PERM_DENIED);
        assert_one_log("Connection refused; denying");
        assert_one_error_msg(&t, UNAVAILABLE);
        t_done(&t);
}
END_TEST

START_TEST(test_failure_silent)
{
        struct t t;

        t_init(&t, FAKE_NONE);
        t_start(&t, "jit-test", "alice", NULL);
        ck_assert_pam(account(&t, PAM_SILENT), PAM_PERM_DENIED);
        ck_assert_int_eq(t.conv.n, 1);
        ck_assert_int_eq(log_count(), 1);
        t_done(&t);
}
END_TEST

/* ---- subjects and items ----------------------------------------------- */

START_TEST(test_no_user)
{
        struct t t;

        t_init(&t, FAKE_ALLOW);
        t_start(&t, "jit-test", NULL, NULL);
        ck_assert_pam(account(&t, 0), PAM_USER_UNKNOWN);
        assert_one_log("PAM_USER is not set");
        set_item(&t, PAM_USER, "");
        ck_assert_pam(account(&t, 0), PAM_USER_UNKNOWN);
        ck_assert_pam(seen(pam_open_session(t.pamh, 0)), PAM_USER_UNKNOWN);
        ck_assert_int_eq(fake_last(t.fake, NULL), 0);
        t_done(&t);
}
END_TEST

START_TEST(test_bad_user_name)
{
        struct t t;

        t_init(&t, FAKE_ALLOW);
        t_start(&t, "jit-test", "Alice Smith", NULL);
        ck_assert_pam(account(&t, 0), PAM_PERM_DENIED);
        assert_one_log("'Alice Smith' is not one jitd accepts");
        ck_assert_int_eq(t.conv.n, 1);
        ck_assert_int_eq(fake_last(t.fake, NULL), 0);
        t_end_pam(&t);

        /* A name that could forge a log line is not echoed. */
        logs.n = 0;
        t_start(&t, "jit-test", "bob\nJan 1 fake: root login", NULL);
        ck_assert_pam(account(&t, 0), PAM_PERM_DENIED);
        assert_one_log("(unprintable)");
        ck_assert_ptr_null(log_find("fake: root"));
        t_done(&t);
}
END_TEST

START_TEST(test_rhost_too_long)
{
        struct t t;
        char host[300];

        memset(host, 'a', sizeof(host) - 1);
        host[sizeof(host) - 1] = '\0';
        t_init(&t, FAKE_ALLOW);
        t_start(&t, "jit-test", "alice", NULL);
        set_item(&t, PAM_RHOST, host);
        ck_assert_pam(account(&t, 0), PAM_PERM_DENIED);
        assert_one_log("PAM_RHOST is too long");
        ck_assert_int_eq(fake_last(t.fake, NULL), 0);
        t_done(&t);
}
END_TEST

/* sudo: account asks about the invoking user (PAM_USER), the session phase
 * about PAM_RUSER because PAM_USER is the target there (FACTS.md). */
static void sudo_story(const char *service)
{
        struct t t;
        struct proto_msg m;

        t_init(&t, FAKE_ALLOW);
        t_start(&t, service, "alice", NULL);
        set_item(&t, PAM_TTY, "/dev/pts/1");
        ck_assert_pam(account(&t, 0), PAM_SUCCESS);
        ck_assert_int_eq(fake_last(t.fake, &m), 1);
        ck_assert_uint_eq(m.type, PROTO_REQ_CHECK);
        ck_assert_str_eq(proto_get_str(&m, PF_USER), "alice");
        ck_assert_str_eq(proto_get_str(&m, PF_SERVICE), service);

        set_item(&t, PAM_USER, "root");
        set_item(&t, PAM_RUSER, "alice");
        fake_set(t.fake, FAKE_OK, 0, NULL);
        ck_assert_pam(seen(pam_open_session(t.pamh, 0)), PAM_SUCCESS);
        ck_assert_int_eq(fake_last(t.fake, &m), 2);
        ck_assert_uint_eq(m.type, PROTO_REQ_SESSION_OPEN);
        ck_assert_str_eq(proto_get_str(&m, PF_USER), "alice");
        ck_assert_str_eq(proto_get_str(&m, PF_SERVICE), service);
        ck_assert_str_eq(proto_get_str(&m, PF_TTY), "/dev/pts/1");

        ck_assert_pam(seen(pam_close_session(t.pamh, 0)), PAM_SUCCESS);
        ck_assert_int_eq(fake_last(t.fake, &m), 3);
        ck_assert_uint_eq(m.type, PROTO_REQ_SESSION_CLOSE);
        ck_assert_str_eq(proto_get_str(&m, PF_USER), "alice");
        ck_assert_str_eq(proto_get_str(&m, PF_SERVICE), service);
        ck_assert_int_eq(log_count(), 0);
        t_done(&t);
}

START_TEST(test_sudo_session_subject_is_ruser)
{
        sudo_story("sudo");
}
END_TEST

START_TEST(test_sudo_i_session_subject_is_ruser)
{
        sudo_story("sudo-i");
}
END_TEST

START_TEST(test_sudo_session_without_ruser)
{
        struct t t;
        struct proto_msg m;

        t_init(&t, FAKE_OK);
        t_start(&t, "sudo", "root", NULL);
        ck_assert_pam(seen(pam_open_session(t.pamh, 0)), PAM_SUCCESS);
        ck_assert_int_eq(fake_last(t.fake, &m), 1);
        ck_assert_str_eq(proto_get_str(&m, PF_USER), "root");
        t_done(&t);
}
END_TEST

/* sshd: PAM_RUSER means nothing special; the subject stays PAM_USER. */
START_TEST(test_sshd_session_subject_is_user)
{
        struct t t;
        struct proto_msg m;

        t_init(&t, FAKE_OK);
        t_start(&t, "sshd", "alice", NULL);
        set_item(&t, PAM_RUSER, "mallory");
        set_item(&t, PAM_RHOST, "198.51.100.4");
        set_item(&t, PAM_TTY, "ssh");
        ck_assert_pam(seen(pam_open_session(t.pamh, 0)), PAM_SUCCESS);
        ck_assert_int_eq(fake_last(t.fake, &m), 1);
        ck_assert_uint_eq(m.type, PROTO_REQ_SESSION_OPEN);
        ck_assert_str_eq(proto_get_str(&m, PF_USER), "alice");
        ck_assert_str_eq(proto_get_str(&m, PF_SERVICE), "sshd");
        ck_assert_str_eq(proto_get_str(&m, PF_RHOST), "198.51.100.4");
        ck_assert_str_eq(proto_get_str(&m, PF_TTY), "ssh");
        t_done(&t);
}
END_TEST

/* ---- session results -------------------------------------------------- */

START_TEST(test_session_results)
{
        struct t t;

        t_init(&t, FAKE_ERROR);
        t_start(&t, "sshd", "alice", NULL);

        /* Not gated: jitd says so with a decision, and only then. */
        fake_set(t.fake, FAKE_IGNORE, 0, NULL);
        ck_assert_pam(seen(pam_open_session(t.pamh, 0)), PAM_IGNORE);
        ck_assert_int_eq(log_count(), 0);
        /* Nothing to close is no problem. */
        fake_set(t.fake, FAKE_ERROR, ENOENT, "no open session");
        ck_assert_pam(seen(pam_close_session(t.pamh, 0)), PAM_IGNORE);
        ck_assert_int_eq(log_count(), 0);

        /* Any error at open refuses the session, with a code sudo cannot
         * ignore (it ignores PAM_SESSION_ERR), and one line for the user. */
        fake_set(t.fake, FAKE_ERROR, ENOENT, "no active grant");
        ck_assert_pam(seen(pam_open_session(t.pamh, 0)), PAM_PERM_DENIED);
        assert_one_log("no active grant (No such file or directory); session refused");
        logs.n = 0;
        fake_set(t.fake, FAKE_ERROR, EOPNOTSUPP, "sessions not implemented");
        ck_assert_pam(seen(pam_open_session(t.pamh, 0)), PAM_PERM_DENIED);
        assert_one_log("session refused");
        logs.n = 0;
        fake_set(t.fake, FAKE_ERROR, EPERM, "no account decision");
        ck_assert_pam(seen(pam_open_session(t.pamh, 0)), PAM_PERM_DENIED);
        assert_one_log("no account decision (Operation not permitted); session refused");

        logs.n = 0;
        fake_set(t.fake, FAKE_GARBLED, 0, NULL);
        ck_assert_pam(seen(pam_open_session(t.pamh, 0)), PAM_PERM_DENIED);
        assert_one_log("session refused");

        logs.n = 0;
        fake_set(t.fake, FAKE_ALLOW, 0, NULL);          /* a decision is no answer to a close */
        ck_assert_pam(seen(pam_close_session(t.pamh, 0)), PAM_SESSION_ERR);
        assert_one_log("unexpected 'decision'");

        /* The user reads one line per refused session. */
        ck_assert_int_gt(t.conv.n, 0);
        t_end_pam(&t);

        logs.n = 0;
        fake_stop(t.fake);
        t.fake = NULL;
        t_start(&t, "sshd", "alice", NULL);
        ck_assert_pam(seen(pam_open_session(t.pamh, 0)), PAM_PERM_DENIED);
        assert_one_log("unreachable");
        t_done(&t);
}
END_TEST

/* ---- the ticket prompt (auth with `prompt`) --------------------------- */

#define DENIAL "no active grant for web-admin; run: jitctl request -r web-admin -t TICKET"
#define NOT_A_TICKET "pam_jit: that is not a ticket number"

/* sudo's auth phase with `prompt`: jitd denies (a role covers alice, no
 * grant), and the "user" will answer the prompt with `answer`. */
static void prompt_init(struct t *t, const char *args, const char *answer)
{
        char text[256];

        t_init(t, FAKE_DENY);
        fake_set(t->fake, FAKE_DENY, 0, DENIAL);
        fake_set_host(t->fake, "web01.example.org");
        xfmt(text, sizeof(text), "prompt %s", args ? args : "");
        t_start(t, "sudo", "alice", text);
        t->conv.answer = answer;
}

static int authenticate(struct t *t)
{
        /* sudo always passes PAM_SILENT: nothing may depend on it. */
        return seen(pam_authenticate(t->pamh, PAM_SILENT));
}

/* The prompt came first, then exactly one line of the given style. */
static void assert_prompt_then(struct t *t, const char *host, int style, const char *text)
{
        char want[300];

        if (t->conv.n != 2)
                for (int i = 0; i < t->conv.n; i++)
                        fprintf(stderr, "  conv[%d] %d %s\n", i, t->conv.style[i], t->conv.text[i]);
        ck_assert_int_eq(t->conv.n, 2);
        ck_assert_int_eq(t->conv.prompts, 1);
        ck_assert_int_eq(t->conv.style[0], PAM_PROMPT_ECHO_ON);
        xfmt(want, sizeof(want), "Ticket for elevation on %s: ", host);
        ck_assert_str_eq(t->conv.text[0], want);
        ck_assert_int_eq(t->conv.style[1], style);
        ck_assert_str_eq(t->conv.text[1], text);
}

/* What the module prints for a time: HH:MM local, the date first when it is
 * not today. Computed here the same way so the test holds across midnight. */
static void local_hhmm(uint64_t t, char *buf, size_t size)
{
        time_t when = (time_t) t, now = time(NULL);
        struct tm tw, tn;

        ck_assert_ptr_nonnull(localtime_r(&when, &tw));
        ck_assert_ptr_nonnull(localtime_r(&now, &tn));
        ck_assert_uint_gt(strftime(buf, size, tw.tm_year == tn.tm_year && tw.tm_yday == tn.tm_yday ?
                                   "%H:%M" : "%Y-%m-%d %H:%M", &tw), 0);
}

START_TEST(test_prompt_active)
{
        struct t t;
        struct proto_msg m;
        uint64_t expires = (uint64_t) now_realtime() + 3600, timeout = 0;
        char when[32], want[256];

        prompt_init(&t, "role=web-admin", "CHG1234");
        set_item(&t, PAM_TTY, "/dev/pts/4");
        set_item(&t, PAM_RHOST, "192.0.2.9");
        fake_set_grant(t.fake, 42, "active", expires, "ticket CHG1234 is approved: grant active");
        ck_assert_pam(authenticate(&t), PAM_SUCCESS);

        local_hhmm(expires, when, sizeof(when));
        xfmt(want, sizeof(want), "pam_jit: grant 42 for web-admin is active until %s (ticket CHG1234)", when);
        assert_prompt_then(&t, "web01.example.org", PAM_TEXT_INFO, want);

        /* The check, then the request-for with everything jitd needs. */
        ck_assert_int_eq(fake_last(t.fake, NULL), 2);
        ck_assert_int_eq(fake_last_rf(t.fake, &m), 1);
        ck_assert_uint_eq(m.type, PROTO_REQ_REQUEST_FOR);
        ck_assert_str_eq(proto_get_str(&m, PF_USER), "alice");
        ck_assert_str_eq(proto_get_str(&m, PF_SERVICE), "sudo");
        ck_assert_str_eq(proto_get_str(&m, PF_TICKET), "CHG1234");
        ck_assert_str_eq(proto_get_str(&m, PF_ROLE), "web-admin");
        ck_assert_str_eq(proto_get_str(&m, PF_TTY), "/dev/pts/4");
        ck_assert_str_eq(proto_get_str(&m, PF_RHOST), "192.0.2.9");
        /* What is left of the module's budget once connected. */
        ck_assert(proto_get_u64(&m, PF_TIMEOUT, &timeout));
        ck_assert_uint_le(timeout, TIMEOUT_MS);
        ck_assert_uint_ge(timeout, TIMEOUT_MS - 100);
        /* A grant is jitd's business and audited there. */
        ck_assert_int_eq(log_count(), 0);
        t_done(&t);
}
END_TEST

/* No host in the decision (an older jitd), no role option, no expiry. */
START_TEST(test_prompt_defaults)
{
        struct t t;
        struct proto_msg m;

        prompt_init(&t, NULL, "INC-7");
        fake_set_host(t.fake, NULL);
        fake_set_grant(t.fake, 3, "active", 0, NULL);
        ck_assert_pam(authenticate(&t), PAM_SUCCESS);
        assert_prompt_then(&t, "this host", PAM_TEXT_INFO, "pam_jit: grant 3 for web-admin is active (ticket INC-7)");
        ck_assert_int_eq(fake_last_rf(t.fake, &m), 1);
        ck_assert(!proto_has(&m, PF_ROLE));     /* jitd picks the user's only role */
        ck_assert(!proto_has(&m, PF_TTY));
        ck_assert(!proto_has(&m, PF_RHOST));
        t_done(&t);
}
END_TEST

/* A host name that is no host name is not shown. */
START_TEST(test_prompt_odd_host)
{
        struct t t;

        prompt_init(&t, NULL, "");
        fake_set_host(t.fake, "web01 (production)");
        ck_assert_pam(authenticate(&t), PAM_PERM_DENIED);
        assert_prompt_then(&t, "this host", PAM_ERROR_MSG, DENIAL);
        t_done(&t);
}
END_TEST

/* Every state but active denies, with one line saying why. */
static void prompt_waiting(const char *state, uint64_t starts_at, const char *message, const char *want)
{
        struct t t;

        prompt_init(&t, "role=web-admin", "CHG1");
        fake_set_grant(t.fake, 7, state, 0, message);
        fake_set_starts(t.fake, starts_at);
        ck_assert_pam(authenticate(&t), PAM_PERM_DENIED);
        assert_prompt_then(&t, "web01.example.org", PAM_ERROR_MSG, want);
        ck_assert_int_eq(fake_last_rf(t.fake, NULL), 1);
        ck_assert_int_eq(log_count(), 0);
        t_done(&t);
}

START_TEST(test_prompt_pending)
{
        prompt_waiting("pending", 0, "ticket CHG1 is In Progress: waiting for it to be approved",
                       "pam_jit: grant 7 is pending: ticket CHG1 is In Progress: waiting for it to be approved");
        /* jitd's line names the grant already: not twice. */
        prompt_waiting("pending", 0, "grant 7 for web-admin is pending: needs 1 approval",
                       "pam_jit: grant 7 for web-admin is pending: needs 1 approval");
        prompt_waiting("pending", 0, NULL, "pam_jit: grant 7 is pending; follow it with 'jitctl show 7'");
        prompt_waiting("pending", 0, "ticket CHG1: \xc2\x9b" "31mred",
                       "pam_jit: grant 7 is pending: ticket CHG1: \\u009b31mred");
}
END_TEST

START_TEST(test_prompt_scheduled)
{
        uint64_t starts = (uint64_t) now_realtime() + 1800;
        char when[32], want[128];

        prompt_waiting("scheduled", starts, "ticket CHG1 is approved: grant scheduled",
                       "pam_jit: grant 7 is scheduled: ticket CHG1 is approved: grant scheduled");
        local_hhmm(starts, when, sizeof(when));
        xfmt(want, sizeof(want), "pam_jit: grant 7 is scheduled to start at %s", when);
        prompt_waiting("scheduled", starts, NULL, want);
}
END_TEST

START_TEST(test_prompt_denied_state)
{
        prompt_waiting("denied", 0, "ticket CHG1: Closed", "pam_jit: grant 7 is denied: ticket CHG1: Closed");
        prompt_waiting("expired", 0, NULL, "pam_jit: grant 7 is expired");
}
END_TEST

START_TEST(test_prompt_error_reply)
{
        struct t t;

        prompt_init(&t, "role=web-admin", "CHG1");
        fake_set_rf(t.fake, RF_ERROR, EPERM, "alice may not request web-admin on web01");
        ck_assert_pam(authenticate(&t), PAM_PERM_DENIED);
        assert_prompt_then(&t, "web01.example.org", PAM_ERROR_MSG,
                           "pam_jit: alice may not request web-admin on web01");
        /* jitd's answer, audited there: not the log's. */
        ck_assert_int_eq(log_count(), 0);

        t.conv.n = t.conv.prompts = 0;
        fake_set_rf(t.fake, RF_ERROR, ENOENT, NULL);
        ck_assert_pam(authenticate(&t), PAM_PERM_DENIED);
        assert_prompt_then(&t, "web01.example.org", PAM_ERROR_MSG,
                           "pam_jit: elevation request refused: No such file or directory");
        ck_assert_int_eq(fake_last_rf(t.fake, NULL), 2);
        t_done(&t);
}
END_TEST

/* Enter on an empty line, or no answer at all (sudo -n, no terminal): the
 * denial stands as the check gave it, and jitd is not asked for anything. */
START_TEST(test_prompt_no_answer)
{
        struct t t;

        prompt_init(&t, NULL, "");
        ck_assert_pam(authenticate(&t), PAM_PERM_DENIED);
        assert_prompt_then(&t, "web01.example.org", PAM_ERROR_MSG, DENIAL);

        t.conv.n = t.conv.prompts = 0;
        t.conv.answer = NULL;
        ck_assert_int_eq(log_count(), 0);
        ck_assert_pam(authenticate(&t), PAM_PERM_DENIED);
        assert_prompt_then(&t, "web01.example.org", PAM_ERROR_MSG, DENIAL);
        /* libpam's own pam_prompt says so; the module adds nothing. */
        assert_one_log("conversation failed");

        ck_assert_int_eq(fake_last(t.fake, NULL), 2);   /* two checks */
        ck_assert_int_eq(fake_last_rf(t.fake, NULL), 0);
        t_done(&t);
}
END_TEST

/* Anything but a ticket number is refused here, before jitd, and is not
 * echoed (a user used to sudo may type a password). */
START_TEST(test_prompt_bad_ticket)
{
        static const char *const bad[] = {
                "CHG 1234", "CHG1234;id", "CHG1\n", "CHG1\nJan 1 fake: root", " CHG1", "CHG1 ", "-CHG1",
                "$(id)", "CHG1`id`", "CHG1|id", "../../etc/passwd?x=1", "CHG1&x=1", "tic\x7fket", "CHG1\t",
                "hunter2!", "\xc3\xa9t\xc3\xa9", NULL /* JIT_TICKET_MAX + 1 characters */,
        };
        char longest[JIT_TICKET_MAX + 2];
        struct t t;

        memset(longest, 'A', sizeof(longest) - 1);
        longest[sizeof(longest) - 1] = '\0';
        prompt_init(&t, NULL, NULL);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                t.conv.n = t.conv.prompts = 0;
                t.conv.answer = bad[i] ? bad[i] : longest;
                ck_assert_pam(authenticate(&t), PAM_PERM_DENIED);
                ck_assert_int_eq(t.conv.n, 2);
                ck_assert_int_eq(t.conv.style[1], PAM_ERROR_MSG);
                ck_assert_msg(strncmp(t.conv.text[1], NOT_A_TICKET, strlen(NOT_A_TICKET)) == 0,
                              "answer %zu: %s", i, t.conv.text[1]);
                ck_assert_ptr_null(strstr(t.conv.text[1], t.conv.answer));
                ck_assert_ptr_null(strchr(t.conv.text[1], '\n'));
        }
        ck_assert_int_eq(fake_last_rf(t.fake, NULL), 0);
        ck_assert_int_eq(log_count(), 0);

        /* The longest ticket that is one still goes. */
        t.conv.n = t.conv.prompts = 0;
        longest[JIT_TICKET_MAX] = '\0';
        t.conv.answer = longest;
        fake_set_grant(t.fake, 9, "pending", 0, "waiting");
        ck_assert_pam(authenticate(&t), PAM_PERM_DENIED);
        ck_assert_str_eq(t.conv.text[1], "pam_jit: grant 9 is pending: waiting");
        ck_assert_int_eq(fake_last_rf(t.fake, NULL), 1);
        t_done(&t);
}
END_TEST

/* jitd hangs on the request: denied within the module's timeout. */
START_TEST(test_prompt_hang)
{
        struct t t;
        int64_t start, took;

        prompt_init(&t, NULL, "CHG1");
        fake_set_rf(t.fake, RF_HANG, 0, NULL);
        start = now_monotonic_ms();
        ck_assert_pam(authenticate(&t), PAM_PERM_DENIED);
        took = now_monotonic_ms() - start;
        ck_assert_int_ge(took, TIMEOUT_MS - 10);
        ck_assert_int_lt(took, TIMEOUT_MS + 300);
        assert_one_log("did not answer within 300 ms; denying");
        assert_prompt_then(&t, "web01.example.org", PAM_ERROR_MSG, UNAVAILABLE);
        ck_assert_int_eq(fake_last_rf(t.fake, NULL), 1);
        t_done(&t);
}
END_TEST

/* The check and the request each get the whole timeout, and the user's
 * typing counts against neither: 200 + (typing 400) + 200 ms passes a
 * 300 ms timeout. */
START_TEST(test_prompt_fresh_budget)
{
        struct t t;

        prompt_init(&t, NULL, "CHG1");
        t.conv.answer_delay_ms = 400;
        fake_set_delays(t.fake, 200, 200);
        fake_set_grant(t.fake, 5, "active", 0, NULL);
        ck_assert_pam(authenticate(&t), PAM_SUCCESS);
        assert_prompt_then(&t, "web01.example.org", PAM_TEXT_INFO,
                           "pam_jit: grant 5 for web-admin is active (ticket CHG1)");
        ck_assert_int_eq(log_count(), 0);
        t_done(&t);
}
END_TEST

/* Anything but a grant or an error from jitd: fail closed, one log line. */
static void prompt_fail_closed(enum rf_mode mode, uint64_t id, const char *state, const char *why)
{
        struct t t;

        prompt_init(&t, NULL, "CHG1");
        if (mode == RF_GRANT)
                fake_set_grant(t.fake, id, state, 0, NULL);
        else
                fake_set_rf(t.fake, mode, 0, NULL);
        ck_assert_pam(authenticate(&t), PAM_PERM_DENIED);
        assert_one_log(why);
        ck_assert_ptr_nonnull(log_find("; denying"));
        assert_prompt_then(&t, "web01.example.org", PAM_ERROR_MSG, UNAVAILABLE);
        t_done(&t);
}

START_TEST(test_prompt_fail_closed)
{
        prompt_fail_closed(RF_GARBLED, 0, NULL, "not a jitd protocol version 1 message");
        prompt_fail_closed(RF_CLOSE, 0, NULL, "closed the connection without a reply");
        prompt_fail_closed(RF_DECISION, 0, NULL, "request-for request with an unexpected 'decision'");
        prompt_fail_closed(RF_GRANT, 0, "active", "carries no grant id or state");
        prompt_fail_closed(RF_GRANT, 4, "", "carries no grant id or state");
}
END_TEST

/* jitd went away between the check and the request. */
START_TEST(test_prompt_jitd_gone)
{
        struct t t;

        prompt_init(&t, NULL, "CHG1");
        t.conv.answer_delay_ms = 1;
        ck_assert_pam(authenticate(&t), PAM_PERM_DENIED);       /* warm: the fake answers */
        fake_stop(t.fake);
        t.fake = NULL;
        logs.n = 0;
        t.conv.n = t.conv.prompts = 0;
        ck_assert_pam(authenticate(&t), PAM_PERM_DENIED);
        /* No check answer, so no prompt at all. */
        ck_assert_int_eq(t.conv.prompts, 0);
        assert_one_log("unreachable");
        assert_one_error_msg(&t, UNAVAILABLE);
        t_done(&t);
}
END_TEST

/* No role covers the user: not this module's business, nothing asked. */
START_TEST(test_prompt_not_for_ignore)
{
        struct t t;

        prompt_init(&t, NULL, "CHG1");
        fake_set(t.fake, FAKE_IGNORE, 0, NULL);
        ck_assert_pam(authenticate(&t), PAM_IGNORE);
        ck_assert_int_eq(t.conv.prompts, 0);
        ck_assert_int_eq(t.conv.n, 0);
        t_end_pam(&t);

        t_start(&t, "sudo", "alice", "prompt strict");
        ck_assert_pam(authenticate(&t), PAM_PERM_DENIED);
        ck_assert_int_eq(t.conv.prompts, 0);
        ck_assert_int_eq(fake_last_rf(t.fake, NULL), 0);
        t_done(&t);
}
END_TEST

/* An active grant: nothing to ask. */
START_TEST(test_prompt_not_for_allow)
{
        struct t t;

        prompt_init(&t, NULL, "CHG1");
        fake_set(t.fake, FAKE_ALLOW, 0, NULL);
        ck_assert_pam(authenticate(&t), PAM_SUCCESS);
        ck_assert_int_eq(t.conv.n, 0);
        ck_assert_int_eq(fake_last_rf(t.fake, NULL), 0);
        t_done(&t);
}
END_TEST

/* account runs for every gated service, NOPASSWD included: it never asks. */
START_TEST(test_prompt_never_in_account)
{
        struct t t;

        prompt_init(&t, "role=web-admin", "CHG1");
        fake_set_grant(t.fake, 1, "active", 0, NULL);
        ck_assert_pam(account(&t, PAM_SILENT), PAM_PERM_DENIED);
        assert_one_error_msg(&t, DENIAL);
        ck_assert_int_eq(t.conv.prompts, 0);
        ck_assert_int_eq(fake_last_rf(t.fake, NULL), 0);
        t_done(&t);
}
END_TEST

START_TEST(test_prompt_debug_line)
{
        struct t t;
        const struct log_line *l;

        prompt_init(&t, "debug role=web-admin", "CHG1234");
        fake_set_grant(t.fake, 42, "active", 0, NULL);
        ck_assert_pam(authenticate(&t), PAM_SUCCESS);
        ck_assert_int_eq(log_count(), 0);
        l = log_find("request-for: subject=alice service=sudo role=web-admin result=active grant=42 elapsed=");
        if (!l)
                log_dump();
        ck_assert_ptr_nonnull(l);
        ck_assert_int_eq(l->prio, LOG_DEBUG);
        /* What the user typed stays out of the log, debug or not. */
        for (int i = 0; i < logs.n; i++)
                ck_assert_ptr_null(strstr(logs.line[i].text, "CHG1234"));
        t_done(&t);
}
END_TEST

/* ---- options ---------------------------------------------------------- */

START_TEST(test_unknown_option_and_bad_value)
{
        struct t t;

        t_init(&t, FAKE_ALLOW);
        t_start(&t, "jit-test", "alice", "frobnicate timeout=abc use_first_pass=1");
        ck_assert_pam(account(&t, 0), PAM_SUCCESS);
        if (log_count() != 3)
                log_dump();
        ck_assert_int_eq(log_count(), 3);
        ck_assert_ptr_nonnull(log_find("unknown option 'frobnicate'; ignored"));
        ck_assert_ptr_nonnull(log_find("unknown option 'use_first_pass'; ignored"));
        ck_assert_ptr_nonnull(log_find("option 'timeout': 'abc'"));
        t_done(&t);
}
END_TEST

/* timeout=abc on its own keeps the default 1500 ms. */
START_TEST(test_bad_timeout_keeps_default)
{
        struct t t;
        int64_t start, took;
        char text[1024];

        /* A plain stack: only the options under test. */
        t_init(&t, FAKE_HANG);
        xfmt(text, sizeof(text), "account required %s socket=%s timeout=abc\n", so_path, t.sock);
        write_file(t.dir, "jit-test", text);
        ck_assert_int_eq(pam_start_confdir("jit-test", "alice", &t.pconv, t.dir, &t.pamh), PAM_SUCCESS);
        start = now_monotonic_ms();
        ck_assert_pam(pam_acct_mgmt(t.pamh, 0), PAM_PERM_DENIED);
        took = now_monotonic_ms() - start;
        ck_assert_int_ge(took, 1500 - 10);
        ck_assert_int_lt(took, 1500 + 300);
        ck_assert_ptr_nonnull(log_find("did not answer within 1500 ms"));
        t_done(&t);
}
END_TEST

START_TEST(test_debug_line)
{
        struct t t;
        const struct log_line *l;

        t_init(&t, FAKE_ALLOW);
        t_start(&t, "jit-test", "alice", "debug");
        ck_assert_pam(account(&t, 0), PAM_SUCCESS);
        ck_assert_int_eq(log_count(), 0);
        l = log_find("subject=alice service=jit-test decision=allow elapsed=");
        if (!l)
                log_dump();
        ck_assert_ptr_nonnull(l);
        ck_assert_int_eq(l->prio, LOG_DEBUG);
        t_done(&t);
}
END_TEST

/* ---- the shared object ------------------------------------------------ */

/* A `make asan` build links the sanitizer runtimes into everything. */
static bool sanitized_build(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
        return true;
#else
        return false;
#endif
}

START_TEST(test_elf_needed_and_exports)
{
        const ElfW(Ehdr) *eh;
        const ElfW(Shdr) *sh;
        struct stat st;
        const char *base;
        int fd, needed = 0, exported = 0;
        bool libc = false, libpam = false;

        fd = open(so_path, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(fstat(fd, &st), 0);
        base = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        ck_assert_ptr_ne(base, MAP_FAILED);
        eh = (const ElfW(Ehdr) *) base;
        ck_assert(memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0);
        ck_assert_int_eq(eh->e_type, ET_DYN);
        ck_assert_uint_le(eh->e_shoff + (size_t) eh->e_shnum * sizeof(*sh), (size_t) st.st_size);
        sh = (const ElfW(Shdr) *) (base + eh->e_shoff);

        for (unsigned i = 0; i < eh->e_shnum; i++) {
                const char *strtab = base + sh[sh[i].sh_link].sh_offset;

                if (sh[i].sh_type == SHT_DYNAMIC) {
                        const ElfW(Dyn) *d = (const ElfW(Dyn) *) (base + sh[i].sh_offset);

                        for (; d->d_tag != DT_NULL; d++) {
                                const char *name = strtab + d->d_un.d_val;

                                ck_assert_msg(d->d_tag != DT_RPATH && d->d_tag != DT_RUNPATH,
                                              "pam_jit.so carries an rpath");
                                if (d->d_tag != DT_NEEDED)
                                        continue;
                                needed++;
                                if (strcmp(name, "libc.so.6") == 0)
                                        libc = true;
                                else if (strcmp(name, "libpam.so.0") == 0)
                                        libpam = true;
                                else if (sanitized_build() && (strncmp(name, "libasan.so", 10) == 0 ||
                                                               strncmp(name, "libubsan.so", 11) == 0))
                                        needed--;       /* make asan: the sanitizer runtime */
                                else
                                        ck_abort_msg("pam_jit.so needs %s", name);
                        }
                } else if (sh[i].sh_type == SHT_DYNSYM) {
                        const ElfW(Sym) *s = (const ElfW(Sym) *) (base + sh[i].sh_offset);
                        size_t n = sh[i].sh_size / sizeof(*s);

                        for (size_t k = 0; k < n; k++) {
                                int bind = ELF64_ST_BIND(s[k].st_info);
                                const char *name = strtab + s[k].st_name;

                                if (s[k].st_shndx == SHN_UNDEF || bind == STB_LOCAL)
                                        continue;
                                ck_assert_msg(strncmp(name, "pam_sm_", 7) == 0,
                                              "pam_jit.so exports %s", name);
                                exported++;
                        }
                }
        }
        munmap((void *) base, (size_t) st.st_size);
        ck_assert(libc && libpam);
        ck_assert_int_eq(needed, 2);
        ck_assert_int_eq(exported, 5);  /* authenticate, setcred, acct_mgmt, open/close_session */
}
END_TEST

/* ---- no descriptor left behind ---------------------------------------- */

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

START_TEST(test_no_fd_leak)
{
        static const enum fake_mode modes[] = {
                FAKE_ALLOW, FAKE_DENY, FAKE_IGNORE, FAKE_ERROR, FAKE_GARBLED, FAKE_BAD_VERSION,
                FAKE_TRUNCATED, FAKE_WRONG_TYPE, FAKE_CLOSE, FAKE_HANG, FAKE_OK,
        };
        static const enum rf_mode rf_modes[] = {
                RF_GRANT, RF_GRANT, RF_ERROR, RF_DECISION, RF_GARBLED, RF_CLOSE, RF_HANG, RF_GRANT,
        };
        struct t t;
        char dead[160];
        int before, after;

        t_init(&t, FAKE_NONE);
        xfmt(dead, sizeof(dead), "%s/dead.sock", t.dir);
        make_dead_socket(dead);
        before = count_fds();

        t.fake = fake_start(t.sock, FAKE_ALLOW);
        t_start(&t, "sudo", "alice", "timeout=50");
        set_item(&t, PAM_RUSER, "alice");
        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                fake_set(t.fake, modes[i], ENOENT, "x");
                (void) pam_authenticate(t.pamh, 0);
                (void) pam_acct_mgmt(t.pamh, 0);
                (void) pam_open_session(t.pamh, 0);
                (void) pam_close_session(t.pamh, 0);
        }
        t_end_pam(&t);

        /* The prompt flow, every way the request can end. */
        fake_set(t.fake, FAKE_DENY, 0, "x");
        t_start(&t, "sudo", "alice", "timeout=50 prompt role=web-admin");
        for (size_t i = 0; i < ELEMENTSOF(rf_modes); i++) {
                t.conv.answer = i % 3 == 2 ? "bad ticket" : "CHG1";
                fake_set_rf(t.fake, rf_modes[i], EPERM, "x");
                if (rf_modes[i] == RF_GRANT)
                        fake_set_grant(t.fake, 1, i % 2 ? "active" : "pending", 0, NULL);
                (void) pam_authenticate(t.pamh, PAM_SILENT);
        }
        t.conv.answer = NULL;
        (void) pam_authenticate(t.pamh, PAM_SILENT);
        t_end_pam(&t);
        fake_stop(t.fake);
        t.fake = NULL;

        /* Nobody there, and a dead socket file. */
        t_start(&t, "jit-test", "alice", NULL);
        (void) pam_acct_mgmt(t.pamh, 0);
        (void) pam_open_session(t.pamh, 0);
        t_end_pam(&t);
        {
                char args[256];

                xfmt(args, sizeof(args), "socket=%s", dead);
                t_start(&t, "jit-test", "alice", args);
                (void) pam_acct_mgmt(t.pamh, 0);
                (void) pam_close_session(t.pamh, 0);
                t_end_pam(&t);
        }

        after = count_fds();
        ck_assert_int_eq(after, before);
        t_done(&t);
}
END_TEST

/* ---- cost ------------------------------------------------------------- */

/* Not a benchmark, a guard: a decision is a local round trip, tens of
 * microseconds (FACTS.md), nowhere near the timeout. Prints the mean. */
START_TEST(test_round_trip_cost)
{
        enum { N = 200 };
        struct t t;
        int64_t start, took;

        t_init(&t, FAKE_ALLOW);
        t_start(&t, "jit-test", "alice", NULL);
        ck_assert_pam(account(&t, 0), PAM_SUCCESS);         /* warm up */
        start = now_monotonic_ms();
        for (int i = 0; i < N; i++)
                ck_assert_pam(account(&t, 0), PAM_SUCCESS);
        took = now_monotonic_ms() - start;
        if (getenv("PAM_JIT_TIMING"))
                fprintf(stderr, "pam_acct_mgmt against the fake jitd: %.1f us per call\n",
                        (double) took * 1000.0 / N);
        ck_assert_int_lt(took, (int64_t) N * 20);      /* < 20 ms each, even under valgrind */
        t_done(&t);
}
END_TEST

static Suite *pam_jit_suite(void)
{
        Suite *s = suite_create("pam_jit");
        TCase *tc;

        tc = tcase_create("decisions");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_allow);
        tcase_add_test(tc, test_allow_without_optional_items);
        tcase_add_test(tc, test_deny_shows_message);
        tcase_add_test(tc, test_deny_message_escaped);
        tcase_add_test(tc, test_deny_without_message);
        tcase_add_test(tc, test_deny_silent);
        tcase_add_test(tc, test_ignore);
        tcase_add_test(tc, test_ignore_strict);
        tcase_add_test(tc, test_authenticate_same_as_account);
        tcase_add_test(tc, test_setcred_ignores);
        suite_add_tcase(s, tc);

        tc = tcase_create("fail-closed");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_error_reply);
        tcase_add_test(tc, test_garbled);
        tcase_add_test(tc, test_bad_version);
        tcase_add_test(tc, test_truncated);
        tcase_add_test(tc, test_wrong_type);
        tcase_add_test(tc, test_no_decision);
        tcase_add_test(tc, test_bad_decision);
        tcase_add_test(tc, test_closed_without_reply);
        tcase_add_test(tc, test_hung_server);
        tcase_add_test(tc, test_no_socket);
        tcase_add_test(tc, test_connection_refused);
        tcase_add_test(tc, test_failure_silent);
        suite_add_tcase(s, tc);

        tc = tcase_create("subjects");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_no_user);
        tcase_add_test(tc, test_bad_user_name);
        tcase_add_test(tc, test_rhost_too_long);
        tcase_add_test(tc, test_sudo_session_subject_is_ruser);
        tcase_add_test(tc, test_sudo_i_session_subject_is_ruser);
        tcase_add_test(tc, test_sudo_session_without_ruser);
        tcase_add_test(tc, test_sshd_session_subject_is_user);
        tcase_add_test(tc, test_session_results);
        suite_add_tcase(s, tc);

        tc = tcase_create("prompt");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_prompt_active);
        tcase_add_test(tc, test_prompt_defaults);
        tcase_add_test(tc, test_prompt_odd_host);
        tcase_add_test(tc, test_prompt_pending);
        tcase_add_test(tc, test_prompt_scheduled);
        tcase_add_test(tc, test_prompt_denied_state);
        tcase_add_test(tc, test_prompt_error_reply);
        tcase_add_test(tc, test_prompt_no_answer);
        tcase_add_test(tc, test_prompt_bad_ticket);
        tcase_add_test(tc, test_prompt_hang);
        tcase_add_test(tc, test_prompt_fresh_budget);
        tcase_add_test(tc, test_prompt_fail_closed);
        tcase_add_test(tc, test_prompt_jitd_gone);
        tcase_add_test(tc, test_prompt_not_for_ignore);
        tcase_add_test(tc, test_prompt_not_for_allow);
        tcase_add_test(tc, test_prompt_never_in_account);
        tcase_add_test(tc, test_prompt_debug_line);
        suite_add_tcase(s, tc);

        tc = tcase_create("options");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_unknown_option_and_bad_value);
        tcase_add_test(tc, test_bad_timeout_keeps_default);
        tcase_add_test(tc, test_debug_line);
        suite_add_tcase(s, tc);

        tc = tcase_create("hygiene");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_elf_needed_and_exports);
        tcase_add_test(tc, test_no_fd_leak);
        tcase_add_test(tc, test_round_trip_cost);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        const char *so = getenv("PAM_JIT_SO");
        SRunner *sr;
        int failed;

        /* PAM wants an absolute module path. */
        if (!realpath(so && *so ? so : "build/pam_jit.so", so_path)) {
                fprintf(stderr, "check_pam_jit: cannot find the module (%s): %s\n",
                        so && *so ? so : "build/pam_jit.so", strerror(errno));
                return 1;
        }
        sr = srunner_create(pam_jit_suite());
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
