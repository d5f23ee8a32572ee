/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Revocation latency: from a grant's end time (a wall-clock second) to its
 * drop-in gone (inotify IN_DELETE on the sudoers directory) and to its
 * session's process dead (its pidfd readable).
 *
 * Sessions register as pam_jit's session phase does: session-open from a root
 * process whose pid is the session (sudo's own process in real life; here a
 * child of ours that registers and then waits in pause() to be killed).
 *
 * revoke-one: a user's auto-approved request with a short duration, one
 * session, several trials one after another.
 *
 * revoke-many: N active grants written with `populate`, one session each.
 * Registering N sessions takes a while, so the common end time is set only
 * afterwards: jitd is stopped, the grants are moved to end at T (database and
 * drop-ins, as jitd would have written them), jitd starts again (its state is
 * its database: nothing is lost) and the clock runs against T. Meanwhile a
 * prober process sends a PAM check every 5 ms, from one second before T until
 * every session is dead: does jitd still answer while it tears down?
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "grant.h"
#include "jitbench.h"
#include "util.h"

#define STATUS_FD 3
#define REGISTER_IN_FLIGHT 16

/* The session process: register, report 'k' (or 'f') on STATUS_FD, wait to be killed. */
static void session_child(const char *sock, const char *user, const char *service, int status_fd)
{
        struct proto_msg *req = malloc(sizeof(*req)), *rep = malloc(sizeof(*rep));
        bool ok;

        if (dup2(status_fd, STATUS_FD) < 0)
                _exit(1);
        close_range(STATUS_FD + 1, ~0U, 0);
        /* As pam_jit: the account decision first, its token at session-open. */
        ok = req && rep && msg_pam(req, PROTO_REQ_CHECK, user, service) >= 0 &&
             client_call(sock, req, rep, 30000) >= 0 && rep->type == PROTO_REP_DECISION &&
             proto_get_str(rep, PF_TOKEN);
        if (ok) {
                char token[80];

                snprintf(token, sizeof(token), "%s", proto_get_str(rep, PF_TOKEN));
                ok = msg_pam(req, PROTO_REQ_SESSION_OPEN, user, service) >= 0 &&
                     proto_set_str(req, PF_TOKEN, token) >= 0 && client_call(sock, req, rep, 30000) >= 0 &&
                     rep->type == PROTO_REP_OK;
        }
        if (!ok && rep && rep->type == PROTO_REP_ERROR && getenv("JITBENCH_VERBOSE"))
                fprintf(stderr, "jitbench: session-open %s: %s\n", user, proto_get_str(rep, PF_MESSAGE));
        (void) !write(STATUS_FD, ok ? "k" : "f", 1);
        close(STATUS_FD);
        free(req);
        free(rep);
        if (!ok)
                _exit(1);
        for (;;)
                pause();
}

struct slot {
        pid_t pid;
        int pidfd;
        int64_t grant_id;
        int64_t dropin_gone;    /* CLOCK_REALTIME ns; 0: not yet */
        int64_t dead;
        bool valid;             /* registered, alive when the clock started */
};

struct watch {
        int ep, ino;
        struct slot *slots;
        size_t n;
        size_t n_gone, n_dead;
        int64_t *id_index;      /* (grant id << 20 | slot), sorted: id -> slot */
};

static int cmp_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

        return x < y ? -1 : x > y;
}

static int watch_init(struct watch *w, const char *dropins, struct slot *slots, size_t n)
{
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };

        *w = (struct watch) { .slots = slots, .n = n };
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        w->ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        w->id_index = calloc(n ? n : 1, sizeof(*w->id_index));
        if (w->ep < 0 || w->ino < 0 || !w->id_index ||
            inotify_add_watch(w->ino, dropins, IN_DELETE) < 0 || epoll_ctl(w->ep, EPOLL_CTL_ADD, w->ino, &ev) < 0)
                return -errno;
        for (size_t i = 0; i < n; i++) {
                w->id_index[i] = slots[i].grant_id << 20 | (int64_t) i;
                if (!slots[i].valid)
                        continue;
                slots[i].pidfd = pidfd_open(slots[i].pid, 0);
                ev.data.u64 = i + 1;
                if (slots[i].pidfd < 0 || epoll_ctl(w->ep, EPOLL_CTL_ADD, slots[i].pidfd, &ev) < 0)
                        return -errno;
        }
        qsort(w->id_index, n, sizeof(*w->id_index), cmp_i64);
        return 0;
}

static struct slot *watch_find(struct watch *w, int64_t id)
{
        size_t lo = 0, hi = w->n;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int64_t mid_id = w->id_index[mid] >> 20;

                if (mid_id == id)
                        return &w->slots[w->id_index[mid] & ((1 << 20) - 1)];
                if (mid_id < id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

static void watch_inotify(struct watch *w)
{
        char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t len;

        while ((len = read(w->ino, buf, sizeof(buf))) > 0) {
                int64_t now = now_real_ns();

                for (char *p = buf; p < buf + len;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;
                        char *end;
                        long long id;

                        p += sizeof(*e) + e->len;
                        if (!e->len || strncmp(e->name, "jit-", 4) != 0)
                                continue;
                        id = strtoll(e->name + 4, &end, 10);
                        if (*end)
                                continue;
                        struct slot *s = watch_find(w, id);

                        if (s && s->valid && !s->dropin_gone) {
                                s->dropin_gone = now;
                                w->n_gone++;
                        }
                }
        }
}

/* Until every valid slot has both events, or the deadline (CLOCK_REALTIME ns). */
static void watch_run(struct watch *w, size_t want, int64_t deadline)
{
        struct epoll_event evs[256];

        while ((w->n_gone < want || w->n_dead < want) && now_real_ns() < deadline) {
                int n = epoll_wait(w->ep, evs, (int) ELEMENTSOF(evs), 100);
                int64_t now = now_real_ns();

                for (int i = 0; i < n; i++) {
                        struct slot *s;

                        if (evs[i].data.u64 == 0) {
                                watch_inotify(w);
                                continue;
                        }
                        s = &w->slots[evs[i].data.u64 - 1];
                        if (!s->dead) {
                                s->dead = now;
                                w->n_dead++;
                        }
                        epoll_ctl(w->ep, EPOLL_CTL_DEL, s->pidfd, NULL);
                        close(s->pidfd);
                        s->pidfd = -1;
                }
        }
        watch_inotify(w);
}

static void watch_free(struct watch *w)
{
        for (size_t i = 0; i < w->n; i++)
                if (w->slots[i].pidfd >= 0)
                        close(w->slots[i].pidfd);
        if (w->ep >= 0)
                close(w->ep);
        if (w->ino >= 0)
                close(w->ino);
        free(w->id_index);
}

/* Latencies from end (unix seconds) of the valid slots, in ms samples; a
 * missing event counts in *missing and not in the samples. */
static void latencies(const struct slot *slots, size_t n, int64_t end, struct samples *gone, struct samples *dead,
                      struct samples *done, long *missing)
{
        int64_t t = end * 1000000000;

        for (size_t i = 0; i < n; i++) {
                const struct slot *s = &slots[i];

                if (!s->valid)
                        continue;
                if (s->dropin_gone)
                        samples_add(gone, s->dropin_gone - t);
                if (s->dead)
                        samples_add(dead, s->dead - t);
                if (s->dropin_gone && s->dead)
                        samples_add(done, (s->dropin_gone > s->dead ? s->dropin_gone : s->dead) - t);
                else
                        (*missing)++;
        }
}

/* As user: request role for duration seconds; the grant's id and end. */
static int request_as(const char *sock, const char *user, const char *role, long duration, int64_t *ret_id,
                      int64_t *ret_end)
{
        int p[2];
        int64_t out[2] = { 0, 0 };
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid == 0) {
                struct proto_msg *req = malloc(sizeof(*req)), *rep = malloc(sizeof(*rep));
                uint64_t id = 0, end = 0;
                const char *state;

                close(p[0]);
                if (!req || !rep || become_user(user) < 0)
                        _exit(1);
                proto_init(req, PROTO_REQ_REQUEST);
                proto_set_str(req, PF_ROLE, role);
                proto_set_u64(req, PF_DURATION, (uint64_t) duration);
                if (client_call(sock, req, rep, 10000) >= 0 && rep->type == PROTO_REP_GRANT &&
                    (state = proto_get_str(rep, PF_STATE)) && strcmp(state, "active") == 0 &&
                    proto_get_u64(rep, PF_ID, &id) && proto_get_u64(rep, PF_EXPIRES_AT, &end)) {
                        out[0] = (int64_t) id;
                        out[1] = (int64_t) end;
                } else if (rep->type == PROTO_REP_ERROR)
                        fprintf(stderr, "jitbench: request %s as %s: %s\n", role, user,
                                proto_get_str(rep, PF_MESSAGE));
                (void) !write(p[1], out, sizeof(out));
                _exit(0);
        }
        close(p[1]);
        if (pid < 0 || read(p[0], out, sizeof(out)) != (ssize_t) sizeof(out))
                out[0] = 0;
        close(p[0]);
        if (pid > 0)
                waitpid(pid, NULL, 0);
        if (!out[0])
                return -EIO;
        *ret_id = out[0];
        *ret_end = out[1];
        return 0;
}

/* Fork a registered session for user; its pid, or -errno. */
static pid_t session_start(const char *sock, const char *user, const char *service)
{
        int p[2];
        char c = 0;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid == 0)
                session_child(sock, user, service, p[1]);
        close(p[1]);
        if (pid < 0 || read(p[0], &c, 1) != 1 || c != 'k') {
                close(p[0]);
                if (pid > 0) {
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                }
                return -EIO;
        }
        close(p[0]);
        return pid;
}

int cmd_revoke_one(int argc, char **argv)
{
        static const struct option opts[] = {
                { "socket", required_argument, NULL, 's' },
                { "user", required_argument, NULL, 'u' },
                { "role", required_argument, NULL, 'r' },
                { "service", required_argument, NULL, 'S' },
                { "dropins", required_argument, NULL, 'D' },
                { "duration", required_argument, NULL, 'd' },
                { "trials", required_argument, NULL, 'n' },
                {}
        };
        const char *sock = NULL, *user = NULL, *role = NULL, *service = "sudo", *dropins = NULL;
        long duration = 2, trials = 5, missing = 0, failed = 0;
        struct samples gone = {}, dead = {}, done = {};
        char extra[64];
        int opt;

        while ((opt = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (opt) {
                case 's': sock = optarg; break;
                case 'u': user = optarg; break;
                case 'r': role = optarg; break;
                case 'S': service = optarg; break;
                case 'D': dropins = optarg; break;
                case 'd': duration = opt_long("--duration", optarg, 1, 60); break;
                case 'n': trials = opt_long("--trials", optarg, 1, 100); break;
                default: return 2;
                }
        }
        if (!sock || !user || !role || !dropins) {
                fprintf(stderr, "usage: jitbench revoke-one --socket S --user U --role R --dropins DIR "
                        "[--service sudo] [--duration 2] [--trials 5]\n");
                return 2;
        }
        for (long t = 0; t < trials; t++) {
                struct slot s = { .pidfd = -1, .valid = true };
                struct watch w;
                int64_t end = 0;

                /* The watch starts before the grant exists: nothing can be missed. */
                if (request_as(sock, user, role, duration, &s.grant_id, &end) < 0 ||
                    (s.pid = session_start(sock, user, service)) < 0) {
                        failed++;
                        continue;
                }
                if (watch_init(&w, dropins, &s, 1) < 0) {
                        perror("jitbench revoke-one: watch");
                        return 1;
                }
                watch_run(&w, 1, (end + 10) * 1000000000);
                watch_free(&w);
                kill(s.pid, SIGKILL);
                waitpid(s.pid, NULL, 0);
                latencies(&s, 1, end, &gone, &dead, &done, &missing);
        }
        snprintf(extra, sizeof(extra), "missing=%ld failed=%ld", missing, failed);
        samples_report("revoke1.dropin", &gone, true, extra);
        samples_report("revoke1.dead", &dead, true, extra);
        samples_report("revoke1.done", &done, true, extra);
        return 0;
}

/* Register one session per slot, at most REGISTER_IN_FLIGHT at a time. */
static size_t register_sessions(const char *sock, const char *prefix, const char *service, struct slot *slots,
                                size_t n)
{
        int st[2];
        size_t inflight = 0, ok = 0;
        char c;

        if (pipe2(st, O_CLOEXEC) < 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                char user[JIT_USER_MAX + 1];

                while (inflight >= REGISTER_IN_FLIGHT && read(st[0], &c, 1) == 1) {
                        inflight--;
                        ok += c == 'k';
                }
                snprintf(user, sizeof(user), "%s%05zu", prefix, i);
                slots[i].pidfd = -1;
                slots[i].pid = fork();
                if (slots[i].pid == 0) {
                        close(st[0]);
                        session_child(sock, user, service, st[1]);
                }
                if (slots[i].pid > 0)
                        inflight++;
        }
        close(st[1]);
        while (inflight > 0 && read(st[0], &c, 1) == 1) {
                inflight--;
                ok += c == 'k';
        }
        close(st[0]);
        /* Those that failed to register have exited: they are not sessions. */
        for (size_t i = 0; i < n; i++)
                slots[i].valid = slots[i].pid > 0 && waitpid(slots[i].pid, NULL, WNOHANG) == 0;
        return ok;
}

#define PROBE_EVERY_NS 5000000

/* The prober: PAM checks (for a user holding nothing) from start until it is
 * killed with SIGTERM, each timed; the figures are printed when it stops. */
static volatile sig_atomic_t probe_stop;

static void probe_on_term(int sig)
{
        (void) sig;
        probe_stop = 1;
}

static pid_t probe_start(const char *sock, int64_t start_real_ns)
{
        struct samples s = {};
        struct proto_msg req, rep;
        long errors = 0;
        char extra[64];
        pid_t pid = fork();

        if (pid != 0)
                return pid;
        signal(SIGTERM, probe_on_term);
        if (msg_pam(&req, PROTO_REQ_CHECK, "jb_probe_nobody", "sudo") < 0)
                _exit(1);
        while (!probe_stop && now_real_ns() < start_real_ns)
                sleep_ns(1000000);
        while (!probe_stop) {
                int64_t t0 = now_ns();

                if (client_call(sock, &req, &rep, 5000) < 0)
                        errors++;
                samples_add(&s, now_ns() - t0);
                sleep_ns(PROBE_EVERY_NS);
        }
        snprintf(extra, sizeof(extra), "errors=%ld every_ms=%d", errors, PROBE_EVERY_NS / 1000000);
        samples_report("revokeN.check", &s, false, extra);
        fflush(stdout);
        _exit(0);
}

int cmd_revoke_many(int argc, char **argv)
{
        static const struct option opts[] = {
                { "jitd", required_argument, NULL, 'j' },
                { "config", required_argument, NULL, 'c' },
                { "socket", required_argument, NULL, 's' },
                { "db", required_argument, NULL, 'd' },
                { "dropins", required_argument, NULL, 'D' },
                { "role", required_argument, NULL, 'r' },
                { "service", required_argument, NULL, 'S' },
                { "prefix", required_argument, NULL, 'p' },
                { "n", required_argument, NULL, 'n' },
                { "lead", required_argument, NULL, 'L' },
                { "log", required_argument, NULL, 'l' },
                {}
        };
        const char *jitd = NULL, *conf = NULL, *sock = NULL, *db = NULL, *dropins = NULL, *role = NULL;
        const char *service = "sudo", *prefix = "jbr", *log = "/dev/null";
        long n = 10000, lead = 10, missing = 0;
        struct samples gone = {}, dead = {}, done = {};
        struct slot *slots;
        struct jit_grant *grants = NULL;
        struct watch w = { .ep = -1, .ino = -1 };
        size_t n_grants = 0, registered, valid = 0;
        int64_t t0, start_ms, register_ms, restart_ms, end;
        long rss = -1, hwm = -1, rss_after = -1, hwm_after = -1;
        pid_t pid, probe = -1;
        char extra[512];
        int opt, r;

        while ((opt = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (opt) {
                case 'j': jitd = optarg; break;
                case 'c': conf = optarg; break;
                case 's': sock = optarg; break;
                case 'd': db = optarg; break;
                case 'D': dropins = optarg; break;
                case 'r': role = optarg; break;
                case 'S': service = optarg; break;
                case 'p': prefix = optarg; break;
                case 'n': n = opt_long("--n", optarg, 1, 100000); break;
                case 'L': lead = opt_long("--lead", optarg, 2, 600); break;
                case 'l': log = optarg; break;
                default: return 2;
                }
        }
        if (!jitd || !conf || !sock || !db || !dropins || !role) {
                fprintf(stderr, "usage: jitbench revoke-many --jitd BIN --config CONF --socket S --db DB "
                        "--dropins DIR --role R [--n N] [--prefix P] [--lead S] [--log FILE]\n");
                return 2;
        }
        {
                struct rlimit rl = { .rlim_cur = (rlim_t) n + 1024, .rlim_max = (rlim_t) n + 1024 };

                if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
                        perror("jitbench revoke-many: RLIMIT_NOFILE");
                        return 1;
                }
        }
        slots = calloc((size_t) n, sizeof(*slots));
        if (!slots)
                return 1;

        t0 = now_ns();
        pid = jitd_spawn(jitd, conf, log);
        if (pid < 0 || jitd_wait_ready(sock, 120000) < 0) {
                fprintf(stderr, "jitbench revoke-many: jitd did not start (see %s)\n", log);
                jitd_stop(pid);
                return 1;
        }
        start_ms = (now_ns() - t0) / 1000000;
        t0 = now_ns();
        registered = register_sessions(sock, prefix, service, slots, (size_t) n);
        register_ms = (now_ns() - t0) / 1000000;
        proc_rss_kib(pid, &rss, &hwm);
        jitd_stop(pid);
        pid = -1;
        fprintf(stderr, "jitbench revoke-many: %zu of %ld sessions registered in %lld ms\n", registered, n,
                (long long) register_ms);

        end = now_real_ns() / 1000000000 + lead;
        r = retime(conf, db, dropins, role, end, &grants, &n_grants);
        if (r < 0) {
                fprintf(stderr, "jitbench revoke-many: retime: %s\n", strerror(-r));
                goto out;
        }
        for (size_t i = 0; i < n_grants; i++) {
                const char *num = grants[i].user + strlen(prefix);
                char *e;
                long k = strncmp(grants[i].user, prefix, strlen(prefix)) == 0 ? strtol(num, &e, 10) : -1;

                if (k >= 0 && k < n && !*e)
                        slots[k].grant_id = grants[i].id;
        }
        for (long i = 0; i < n; i++) {
                slots[i].valid = slots[i].valid && slots[i].grant_id > 0;
                valid += slots[i].valid;
        }
        r = watch_init(&w, dropins, slots, (size_t) n);
        if (r < 0) {
                fprintf(stderr, "jitbench revoke-many: watch: %s\n", strerror(-r));
                goto out;
        }
        t0 = now_ns();
        pid = jitd_spawn(jitd, conf, log);
        if (pid < 0 || jitd_wait_ready(sock, (int) (lead * 1000)) < 0) {
                fprintf(stderr, "jitbench revoke-many: jitd did not restart before the end time\n");
                r = -ETIMEDOUT;
                goto out;
        }
        restart_ms = (now_ns() - t0) / 1000000;
        if (now_real_ns() > end * 1000000000 - 200000000) {
                fprintf(stderr, "jitbench revoke-many: jitd was ready only %lld ms before the end time\n",
                        (long long) (end * 1000000000 - now_real_ns()) / 1000000);
                r = -ETIMEDOUT;
                goto out;
        }
        probe = probe_start(sock, (end - 1) * 1000000000);
        watch_run(&w, valid, (end + 120) * 1000000000);
        if (probe > 0) {
                kill(probe, SIGTERM);
                waitpid(probe, NULL, 0);
        }
        proc_rss_kib(pid, &rss_after, &hwm_after);
        latencies(slots, (size_t) n, end, &gone, &dead, &done, &missing);
        snprintf(extra, sizeof(extra),
                 "grants=%zu sessions=%zu valid=%zu missing=%ld start_ms=%lld register_ms=%lld restart_ms=%lld "
                 "rss_kib=%ld hwm_kib=%ld hwm_after_kib=%ld", n_grants, registered, valid, missing,
                 (long long) start_ms, (long long) register_ms, (long long) restart_ms, rss, hwm, hwm_after);
        samples_report("revokeN.dropin", &gone, true, extra);
        samples_report("revokeN.dead", &dead, true, extra);
        samples_report("revokeN.done", &done, true, extra);
out:
        watch_free(&w);
        for (long i = 0; i < n; i++)
                if (slots[i].pid > 0) {
                        kill(slots[i].pid, SIGKILL);
                        waitpid(slots[i].pid, NULL, 0);
                }
        jitd_stop(pid);
        free(grants);
        free(slots);
        samples_free(&gone);
        samples_free(&dead);
        samples_free(&done);
        return r < 0 ? 1 : 0;
}
