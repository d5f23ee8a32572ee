/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Throughput: auto-approved requests, each answered "active" (its drop-in
 * written, visudo-checked and renamed into place, the grant and its audit
 * events committed). A request is for the peer's own uid, so there is one
 * process per test user (setuid), each asking for every role in turn (one
 * open grant per user and role). All start together; the rate is the number
 * of grants made active over the time from the start to the last reply.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "jitbench.h"
#include "util.h"

struct outcome {
        int32_t ok;
        int32_t pad;
        int64_t ns;
};

static void requester(const char *sock, const char *user, char **roles, long duration, int go, int out)
{
        struct proto_msg *req = malloc(sizeof(*req)), *rep = malloc(sizeof(*rep));
        char c;

        if (!req || !rep || become_user(user) < 0)
                _exit(1);
        if (read(go, &c, 1) < 0)
                _exit(1);
        for (size_t i = 0; roles[i]; i++) {
                struct outcome o = {};
                const char *state;
                int64_t t0;
                int r;

                proto_init(req, PROTO_REQ_REQUEST);
                proto_set_str(req, PF_ROLE, roles[i]);
                proto_set_u64(req, PF_DURATION, (uint64_t) duration);
                proto_set_str(req, PF_REASON, "benchmark");
                t0 = now_ns();
                r = client_call(sock, req, rep, 30000);
                o.ns = now_ns() - t0;
                state = r >= 0 && rep->type == PROTO_REP_GRANT ? proto_get_str(rep, PF_STATE) : NULL;
                o.ok = state && strcmp(state, "active") == 0;
                if (!o.ok && getenv("JITBENCH_VERBOSE"))
                        fprintf(stderr, "jitbench throughput: %s %s: %s\n", user, roles[i],
                                r < 0 ? strerror(-r) : proto_get_str(rep, PF_MESSAGE) ? proto_get_str(rep, PF_MESSAGE) :
                                "?");
                if (write(out, &o, sizeof(o)) != (ssize_t) sizeof(o))
                        _exit(1);
        }
        _exit(0);
}

int cmd_throughput(int argc, char **argv)
{
        static const struct option opts[] = {
                { "socket", required_argument, NULL, 's' },
                { "users", required_argument, NULL, 'u' },
                { "roles", required_argument, NULL, 'r' },
                { "duration", required_argument, NULL, 'd' },
                {}
        };
        const char *sock = NULL;
        char **users = NULL, **roles = NULL;
        long duration = 3600, expected, ok = 0, got = 0;
        struct samples s = {};
        int go[2], out[2], opt;
        size_t nu;
        pid_t *pids;
        int64_t t0, last = 0;
        char extra[160];

        while ((opt = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (opt) {
                case 's': sock = optarg; break;
                case 'u': users = list_split(optarg, ','); break;
                case 'r': roles = list_split(optarg, ','); break;
                case 'd': duration = opt_long("--duration", optarg, 1, 86400); break;
                default: return 2;
                }
        }
        nu = list_length(users);
        if (!sock || nu == 0 || list_length(roles) == 0) {
                fprintf(stderr, "usage: jitbench throughput --socket S --users u1,u2 --roles r1,r2 [--duration S]\n");
                return 2;
        }
        expected = (long) (nu * list_length(roles));
        pids = calloc(nu, sizeof(*pids));
        if (!pids || pipe2(go, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
                return 1;
        for (size_t i = 0; i < nu; i++) {
                pids[i] = fork();
                if (pids[i] == 0) {
                        close(go[1]);
                        close(out[0]);
                        requester(sock, users[i], roles, duration, go[0], out[1]);
                }
        }
        close(go[0]);
        close(out[1]);
        sleep_ns(200000000);    /* every requester waits on the pipe */
        t0 = now_ns();
        close(go[1]);           /* go */
        for (;;) {
                struct outcome o;
                ssize_t n = read(out[0], &o, sizeof(o));

                if (n != (ssize_t) sizeof(o))
                        break;
                last = now_ns();
                got++;
                if (o.ok) {
                        ok++;
                        samples_add(&s, o.ns);
                }
        }
        for (size_t i = 0; i < nu; i++)
                waitpid(pids[i], NULL, 0);
        snprintf(extra, sizeof(extra), "requests=%ld replies=%ld active=%ld elapsed_ms=%.0f rate=%.1f clients=%zu",
                 expected, got, ok, (double) (last - t0) / 1e6,
                 last > t0 ? (double) ok * 1e9 / (double) (last - t0) : 0.0, nu);
        samples_report("throughput", &s, true, extra);
        samples_free(&s);
        free(pids);
        strv_free(users);
        strv_free(roles);
        return 0;
}
