/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Decision latency: the CHECK round trip pam_jit makes (connect, send, recv,
 * close through client_call, the message built before the clock starts, as
 * pam_jit's own elapsed_us does), against several jitd instances and a bare
 * SOCK_SEQPACKET echo server, alternating between them round after round so
 * that whatever else the machine does falls on all of them alike. Also over
 * one persistent connection, which is what the protocol allows but pam_jit
 * does not do.
 *
 * Isolation: the same measurement on a jitd with a ticket system, alternating
 * rounds without and with N requests whose ticket lookups hang.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "jitbench.h"
#include "util.h"

#define MAX_TARGETS 8
#define MAX_CLIENTS 64
#define CALL_TIMEOUT_MS 5000

struct target {
        char *name;
        char *sock;
        char **users;
        int expect;             /* enum proto_decision; 0: any reply (the echo) */
        pid_t server;           /* who listens (SO_PEERCRED), for its CPU time */
};

/* The pid that listens on sock: SO_PEERCRED of a connection names it. */
static pid_t server_pid(const char *sock)
{
        struct ucred cred = {};
        socklen_t len = sizeof(cred);
        int fd;

        if (client_connect(sock, now_monotonic_ms() + CALL_TIMEOUT_MS, &fd) < 0)
                return 0;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                cred.pid = 0;
        close(fd);
        return cred.pid;
}

/* Nanoseconds a process has run on a CPU, all its threads
 * (/proc/PID/task/TID/schedstat, first field); 0 when unknown. */
static int64_t server_cpu_ns(pid_t pid)
{
        char path[64];
        struct dirent *de;
        int64_t total = 0;
        DIR *d;

        if (pid <= 0)
                return 0;
        snprintf(path, sizeof(path), "/proc/%d/task", (int) pid);
        d = opendir(path);
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                char p[300];
                long long ns;
                FILE *f;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(p, sizeof(p), "/proc/%d/task/%s/schedstat", (int) pid, de->d_name);
                f = fopen(p, "re");
                if (f && fscanf(f, "%lld", &ns) == 1)
                        total += ns;
                if (f)
                        fclose(f);
        }
        closedir(d);
        return total;
}

static void pin_to_cpu(long cpu)
{
        cpu_set_t set;

        CPU_ZERO(&set);
        CPU_SET((int) cpu, &set);
        if (sched_setaffinity(0, sizeof(set), &set) < 0)
                perror("jitbench: sched_setaffinity");
}

struct worker {
        pthread_t thread;
        const struct target *t;
        const char *service;
        unsigned index;
        bool persistent;
        long calls;             /* by count ... */
        int64_t until;          /* ... or until this monotonic time (0: by count) */
        pthread_barrier_t *start;
        struct samples s;
        long errors;
        char first_error[160];
};

static void worker_error(struct worker *w, const char *fmt, int r)
{
        if (w->errors++ == 0)
                snprintf(w->first_error, sizeof(w->first_error), fmt, strerror(-r));
}

static void *worker_run(void *userdata)
{
        struct worker *w = userdata;
        struct proto_msg *req = malloc(sizeof(*req)), *rep = malloc(sizeof(*rep));
        size_t nusers = list_length(w->t->users);
        int fd = -1, r;

        pthread_barrier_wait(w->start);
        if (!req || !rep || nusers == 0)
                goto out;
        if (w->persistent && (r = client_connect(w->t->sock, now_monotonic_ms() + CALL_TIMEOUT_MS, &fd)) < 0) {
                worker_error(w, "connect: %s", r);
                goto out;
        }
        for (long i = 0; w->until ? now_ns() < w->until : i < w->calls; i++) {
                const char *user = w->t->users[(w->index * 7 + (size_t) i) % nusers];
                int64_t t0, t1;
                uint64_t decision = 0;

                if (msg_pam(req, PROTO_REQ_CHECK, user, w->service) < 0) {
                        worker_error(w, "encode: %s", -EINVAL);
                        break;
                }
                t0 = now_ns();
                if (w->persistent) {
                        int64_t deadline = now_monotonic_ms() + CALL_TIMEOUT_MS;

                        r = client_send(fd, req, deadline);
                        if (r >= 0)
                                r = client_recv(fd, rep, deadline);
                } else
                        r = client_call(w->t->sock, req, rep, CALL_TIMEOUT_MS);
                t1 = now_ns();
                if (r < 0) {
                        worker_error(w, "call: %s", r);
                        if (w->persistent)
                                break;
                        continue;
                }
                if (w->t->expect && (rep->type != PROTO_REP_DECISION ||
                                     !proto_get_u64(rep, PF_DECISION, &decision) ||
                                     decision != (uint64_t) w->t->expect)) {
                        if (w->errors++ == 0)
                                snprintf(w->first_error, sizeof(w->first_error),
                                         "reply %s, decision %llu for %s", proto_type_name(rep->type) ?
                                         proto_type_name(rep->type) : "?", (unsigned long long) decision, user);
                        continue;
                }
                if (samples_add(&w->s, t1 - t0) < 0)
                        break;
        }
out:
        if (fd >= 0)
                close(fd);
        free(req);
        free(rep);
        return NULL;
}

/* One run: clients threads, calls split among them (or each until
 * duration_ns has passed), samples merged into out. */
static int run_once(const struct target *t, const char *service, int clients, bool persistent, long calls,
                    int64_t duration_ns, struct samples *out, long *errors, int64_t *cpu_ns)
{
        struct worker w[MAX_CLIENTS];
        pthread_barrier_t start;
        int64_t until = 0, cpu0 = server_cpu_ns(t->server);

        pthread_barrier_init(&start, NULL, (unsigned) clients + 1);
        for (int i = 0; i < clients; i++) {
                w[i] = (struct worker) { .t = t, .service = service, .index = (unsigned) i,
                                         .persistent = persistent, .calls = calls / clients, .start = &start };
                if (pthread_create(&w[i].thread, NULL, worker_run, &w[i]) != 0) {
                        fprintf(stderr, "jitbench: cannot start a client thread\n");
                        exit(1);
                }
        }
        if (duration_ns)
                until = now_ns() + duration_ns;
        for (int i = 0; i < clients; i++)
                w[i].until = until;
        pthread_barrier_wait(&start);
        for (int i = 0; i < clients; i++) {
                pthread_join(w[i].thread, NULL);
                if (w[i].errors && *errors == 0)
                        fprintf(stderr, "jitbench: %s: %s\n", t->name, w[i].first_error);
                *errors += w[i].errors;
                if (out)
                        samples_merge(out, &w[i].s);
                samples_free(&w[i].s);
        }
        pthread_barrier_destroy(&start);
        if (cpu_ns)
                *cpu_ns += server_cpu_ns(t->server) - cpu0;
        return 0;
}

static int parse_expect(const char *s)
{
        if (strcmp(s, "allow") == 0)
                return PROTO_DECISION_ALLOW;
        if (strcmp(s, "deny") == 0)
                return PROTO_DECISION_DENY;
        if (strcmp(s, "ignore") == 0)
                return PROTO_DECISION_IGNORE;
        return 0;
}

/* "NAME|SOCKET|user1:user2|allow" */
static int parse_target(const char *spec, struct target *ret)
{
        char **v = list_split(spec, '|');

        if (list_length(v) != 4) {
                fprintf(stderr, "jitbench: target '%s' is not NAME|SOCKET|USERS|EXPECT\n", spec);
                strv_free(v);
                return -EINVAL;
        }
        *ret = (struct target) { .name = strdup(v[0]), .sock = strdup(v[1]), .users = list_split(v[2], ':'),
                                 .expect = parse_expect(v[3]), .server = server_pid(v[1]) };
        strv_free(v);
        return ret->name && ret->sock ? 0 : -ENOMEM;
}

int cmd_echo(int argc, char **argv)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct epoll_event ev = { .events = EPOLLIN }, evs[64];
        uint8_t buf[PROTO_MAX_FRAME + 1];
        int lfd, ep;

        if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "usage: jitbench echo SOCKET\n");
                return 2;
        }
        memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1);
        unlink(argv[1]);
        lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ep = epoll_create1(EPOLL_CLOEXEC);
        ev.data.fd = lfd;
        if (lfd < 0 || ep < 0 || bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(lfd, 128) < 0 ||
            epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
                perror("jitbench echo");
                return 1;
        }
        /* The same shape as jitd's loop (one epoll, non-blocking accept and
         * datagrams), with nothing between receiving and answering. */
        for (;;) {
                int n = epoll_wait(ep, evs, (int) ELEMENTSOF(evs), -1);

                for (int i = 0; i < n; i++) {
                        int fd = evs[i].data.fd;

                        if (fd == lfd) {
                                int c;

                                while ((c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
                                        struct epoll_event cev = { .events = EPOLLIN, .data.fd = c };

                                        if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) < 0)
                                                close(c);
                                }
                                continue;
                        }
                        ssize_t len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

                        if (len > 0) {
                                if (send(fd, buf, (size_t) len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
                                        len = 0;
                        }
                        if (len == 0 || (len < 0 && errno != EAGAIN && errno != EINTR)) {
                                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                                close(fd);
                        }
                }
        }
}

int cmd_latency(int argc, char **argv)
{
        static const struct option opts[] = {
                { "target", required_argument, NULL, 't' },
                { "clients", required_argument, NULL, 'c' },
                { "modes", required_argument, NULL, 'm' },
                { "calls", required_argument, NULL, 'n' },
                { "rounds", required_argument, NULL, 'r' },
                { "warmup", required_argument, NULL, 'w' },
                { "service", required_argument, NULL, 's' },
                { "cpu", required_argument, NULL, 'C' },
                { "tag", required_argument, NULL, 'T' },
                {}
        };
        struct target t[MAX_TARGETS];
        const char *tag = NULL;
        int64_t *cpu;
        size_t nt = 0, nc, nm;
        char **clients = NULL, **modes = NULL;
        const char *service = "sudo";
        long calls = 5000, rounds = 5, warmup = 500;
        struct samples *s;
        long *errors;
        int opt;

        while ((opt = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (opt) {
                case 't':
                        if (nt == MAX_TARGETS || parse_target(optarg, &t[nt]) < 0)
                                return 2;
                        nt++;
                        break;
                case 'c': strv_free(clients); clients = list_split(optarg, ','); break;
                case 'm': strv_free(modes); modes = list_split(optarg, ','); break;
                case 'n': calls = opt_long("--calls", optarg, 1, 100000000); break;
                case 'r': rounds = opt_long("--rounds", optarg, 1, 1000); break;
                case 'w': warmup = opt_long("--warmup", optarg, 0, 1000000); break;
                case 's': service = optarg; break;
                case 'C': pin_to_cpu(opt_long("--cpu", optarg, 0, CPU_SETSIZE - 1)); break;
                case 'T': tag = optarg; break;
                default: return 2;
                }
        }
        if (!clients)
                clients = list_split("1,8", ',');
        if (!modes)
                modes = list_split("call,persist", ',');
        nc = list_length(clients);
        nm = list_length(modes);
        if (nt == 0 || nc == 0 || nm == 0) {
                fprintf(stderr, "usage: jitbench latency --target NAME|SOCKET|u1:u2|allow ... [--clients 1,8]\n"
                        "         [--modes call,persist] [--calls N] [--rounds R] [--warmup N] [--service S]\n");
                return 2;
        }
        s = calloc(nt * nc * nm, sizeof(*s));
        errors = calloc(nt * nc * nm, sizeof(*errors));
        cpu = calloc(nt * nc * nm, sizeof(*cpu));
        if (!s || !errors || !cpu)
                return 1;
        for (size_t i = 0; i < nt; i++) {
                long e = 0;

                run_once(&t[i], service, 1, false, warmup, 0, NULL, &e, NULL);
        }
        for (long round = 0; round < rounds; round++)
                for (size_t c = 0; c < nc; c++)
                        for (size_t m = 0; m < nm; m++)
                                for (size_t k = 0; k < nt; k++) {
                                        /* Rotate who goes first, so no target always follows another. */
                                        size_t i = (k + (size_t) round) % nt;
                                        size_t slot = (i * nc + c) * nm + m;
                                        int n = (int) opt_long("--clients", clients[c], 1, MAX_CLIENTS);

                                        run_once(&t[i], service, n, strcmp(modes[m], "persist") == 0, calls, 0,
                                                 &s[slot], &errors[slot], &cpu[slot]);
                                }
        for (size_t i = 0; i < nt; i++)
                for (size_t c = 0; c < nc; c++)
                        for (size_t m = 0; m < nm; m++) {
                                size_t slot = (i * nc + c) * nm + m;
                                char name[160], extra[96];

                                snprintf(name, sizeof(name), "dec.%s.c%s.%s%s%s", t[i].name, clients[c], modes[m],
                                         tag ? "." : "", tag ? tag : "");
                                /* The server's own CPU time per answered call: what a
                                 * decision costs jitd, wherever it is scheduled. */
                                snprintf(extra, sizeof(extra), "errors=%ld server_cpu_us=%.1f", errors[slot],
                                         s[slot].n ? (double) cpu[slot] / 1e3 / (double) s[slot].n : 0.0);
                                samples_report(name, &s[slot], false, extra);
                                samples_free(&s[slot]);
                        }
        free(s);
        free(errors);
        free(cpu);
        strv_free(clients);
        strv_free(modes);
        return 0;
}

/* N requests whose replies wait for a ticket lookup that hangs: sent, not
 * read. Each is request-for (root, as pam_jit's prompt sends it) for a
 * different (user, role), so none is refused as a duplicate. */
struct hang {
        int fd;
        int64_t sent;
};

static int hang_start(const char *sock, char **users, char **roles, const char *service, long n, long round,
                      long timeout_ms, struct hang *h)
{
        size_t nu = list_length(users), nr = list_length(roles);
        struct proto_msg *m = malloc(sizeof(*m));
        int r = 0;

        if (!m)
                return -ENOMEM;
        for (long i = 0; i < n; i++) {
                char ticket[JIT_TICKET_MAX + 1];

                h[i].fd = -1;
                snprintf(ticket, sizeof(ticket), "BENCH-%ld-%02ld", round, i);
                if ((r = msg_pam(m, PROTO_REQ_REQUEST_FOR, users[(size_t) i % nu], service)) < 0 ||
                    (r = proto_set_str(m, PF_ROLE, roles[((size_t) i / nu) % nr])) < 0 ||
                    (r = proto_set_str(m, PF_TICKET, ticket)) < 0 ||
                    (r = proto_set_u64(m, PF_TIMEOUT, (uint64_t) timeout_ms)) < 0 ||
                    (r = client_connect(sock, now_monotonic_ms() + CALL_TIMEOUT_MS, &h[i].fd)) < 0 ||
                    (r = client_send(h[i].fd, m, now_monotonic_ms() + CALL_TIMEOUT_MS)) < 0)
                        break;
                h[i].sent = now_ns();
        }
        free(m);
        return r;
}

/* Read every reply, then revoke the grants so that the next round can ask
 * for the same (user, role) again. */
static void hang_finish(const char *sock, struct hang *h, long n, struct samples *reply_ms, long *pending,
                        long *errors)
{
        struct proto_msg *rep = malloc(sizeof(*rep)), *req = malloc(sizeof(*req));

        for (long i = 0; rep && req && i < n; i++) {
                uint64_t id = 0;
                const char *state;

                if (h[i].fd < 0) {
                        (*errors)++;
                        continue;
                }
                if (client_recv(h[i].fd, rep, now_monotonic_ms() + 15000) < 0 || rep->type != PROTO_REP_GRANT ||
                    !proto_get_u64(rep, PF_ID, &id)) {
                        if (*errors == 0 && rep->type == PROTO_REP_ERROR)
                                fprintf(stderr, "jitbench isolation: request refused: %s\n",
                                        proto_get_str(rep, PF_MESSAGE) ? proto_get_str(rep, PF_MESSAGE) : "?");
                        (*errors)++;
                        close(h[i].fd);
                        continue;
                }
                samples_add(reply_ms, now_ns() - h[i].sent);
                state = proto_get_str(rep, PF_STATE);
                if (state && strcmp(state, "pending") == 0)
                        (*pending)++;
                close(h[i].fd);
                proto_init(req, PROTO_REQ_REVOKE);
                proto_set_u64(req, PF_ID, id);
                proto_set_str(req, PF_REASON, "benchmark round over");
                client_call(sock, req, rep, CALL_TIMEOUT_MS);
        }
        free(rep);
        free(req);
}

int cmd_isolation(int argc, char **argv)
{
        static const struct option opts[] = {
                { "target", required_argument, NULL, 't' },
                { "rounds", required_argument, NULL, 'r' },
                { "window-ms", required_argument, NULL, 'W' },
                { "hang", required_argument, NULL, 'n' },
                { "hang-users", required_argument, NULL, 'u' },
                { "hang-roles", required_argument, NULL, 'R' },
                { "hang-service", required_argument, NULL, 'S' },
                { "timeout-ms", required_argument, NULL, 'T' },
                { "service", required_argument, NULL, 's' },
                { "cpu", required_argument, NULL, 'C' },
                {}
        };
        struct target t = {};
        char **users = NULL, **roles = NULL;
        const char *service = "sudo", *hang_service = "sudo";
        long rounds = 3, window_ms = 1500, n = 50, timeout_ms = 5000, cpu = -1;
        long e[4] = { 0 }, e_req = 0, pending = 0;
        int64_t cpu_ns[4] = { 0 };
        /* [0] 1 client, no lookups; [1] 8 clients, none; [2] 1 client, lookups hang; [3] 8 clients, hang */
        struct samples s[4] = {}, reply = {};
        static const char *const names[4] = { "iso.c1.base", "iso.c8.base", "iso.c1.hang", "iso.c8.hang" };
        struct hang *h;
        char extra[128];
        int opt;

        while ((opt = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (opt) {
                case 't': if (parse_target(optarg, &t) < 0) return 2; break;
                case 'r': rounds = opt_long("--rounds", optarg, 1, 100); break;
                case 'W': window_ms = opt_long("--window-ms", optarg, 100, 60000); break;
                case 'n': n = opt_long("--hang", optarg, 1, 1000); break;
                case 'u': users = list_split(optarg, ':'); break;
                case 'R': roles = list_split(optarg, ':'); break;
                case 'S': hang_service = optarg; break;
                case 'T': timeout_ms = opt_long("--timeout-ms", optarg, 100, 60000); break;
                case 's': service = optarg; break;
                case 'C': cpu = opt_long("--cpu", optarg, 0, CPU_SETSIZE - 1); break;
                default: return 2;
                }
        }
        if (!t.sock || list_length(users) == 0 || list_length(roles) == 0) {
                fprintf(stderr, "usage: jitbench isolation --target NAME|SOCKET|USERS|allow --hang-users u1:u2\n"
                        "         --hang-roles r1:r2 [--hang 50] [--rounds 3] [--window-ms 1500] [--cpu N]\n");
                return 2;
        }
        h = calloc((size_t) n, sizeof(*h));
        if (!h)
                return 1;
        run_once(&t, service, 1, false, 500, 0, NULL, &e[0], NULL);
        e[0] = 0;
        for (long round = 0; round < rounds; round++)
                for (int hung = 0; hung < 2; hung++) {
                        int r;

                        if (hung) {
                                r = hang_start(t.sock, users, roles, hang_service, n, round, timeout_ms, h);
                                if (r < 0)
                                        fprintf(stderr, "jitbench isolation: sending the hanging requests: %s\n",
                                                strerror(-r));
                                /* Let the lookups reach the ticket server. */
                                sleep_ns(200000000);
                        }
                        /* One client pinned (if asked) like the decision runs, then 8 free. */
                        if (cpu >= 0)
                                pin_to_cpu(cpu);
                        run_once(&t, service, 1, false, 0, window_ms * 1000000, &s[hung * 2], &e[hung * 2],
                                 &cpu_ns[hung * 2]);
                        if (cpu >= 0) {
                                cpu_set_t all;

                                CPU_ZERO(&all);
                                for (int c = 0; c < CPU_SETSIZE; c++)
                                        CPU_SET(c, &all);
                                sched_setaffinity(0, sizeof(all), &all);
                        }
                        run_once(&t, service, 8, false, 0, window_ms * 1000000, &s[hung * 2 + 1], &e[hung * 2 + 1],
                                 &cpu_ns[hung * 2 + 1]);
                        if (hung)
                                hang_finish(t.sock, h, n, &reply, &pending, &e_req);
                }
        for (int i = 0; i < 4; i++) {
                snprintf(extra, sizeof(extra), "errors=%ld server_cpu_us=%.1f", e[i],
                         s[i].n ? (double) cpu_ns[i] / 1e3 / (double) s[i].n : 0.0);
                samples_report(names[i], &s[i], false, extra);
                samples_free(&s[i]);
        }
        snprintf(extra, sizeof(extra), "pending=%ld errors=%ld per_round=%ld", pending, e_req, n);
        samples_report("iso.requests", &reply, true, extra);
        free(h);
        return 0;
}

/* What an admin's ping (jitctl status) costs: the loop serves nothing else
 * meanwhile, PAM decisions included. */
int cmd_ping(int argc, char **argv)
{
        struct proto_msg *req = malloc(sizeof(*req)), *rep = malloc(sizeof(*rep));
        struct samples s = {};
        char name[96], extra[32];
        long n, errors = 0;

        if (argc != 4 || !req || !rep) {
                fprintf(stderr, "usage: jitbench ping NAME SOCKET N\n");
                free(req);
                free(rep);
                return 2;
        }
        n = opt_long("N", argv[3], 1, 100000);
        proto_init(req, PROTO_REQ_PING);
        for (long i = 0; i < n; i++) {
                int64_t t0 = now_ns();

                if (client_call(argv[2], req, rep, 60000) < 0 || rep->type != PROTO_REP_OK)
                        errors++;
                else
                        samples_add(&s, now_ns() - t0);
        }
        snprintf(name, sizeof(name), "ping.%s", argv[1]);
        snprintf(extra, sizeof(extra), "errors=%ld", errors);
        samples_report(name, &s, true, extra);
        samples_free(&s);
        free(req);
        free(rep);
        return 0;
}
