/* SPDX-License-Identifier: BSD-3-Clause */
/* jitd: the entry point. Argument parsing, start-up, the event loop, and the
 * mapping of failures to exit codes. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "jitd.h"
#include "sudoers.h"
#include "teardown.h"
#include "ticket.h"
#include "ticket_helper.h"

enum { EXIT_CONFIG = 1, EXIT_USAGE = 2, EXIT_RUNTIME = 3 };

/* Tags for the non-connection fds in epoll: their addresses are unique. */
static const char tag_listen, tag_timer, tag_signal, tag_reconcile, tag_tickets, tag_ticket_poll, tag_deferred,
        tag_metrics, tag_watchdog;

/* How often drop-ins and sessions are checked against the database. */
#define RECONCILE_INTERVAL_SEC 120

static void usage(FILE *f)
{
        fprintf(f,
                "usage: jitd [-c FILE] [--check]\n"
                "  -c, --config FILE  configuration (default %s)\n"
                "  -t, --check        check the configuration, print every error, and exit\n"
                "  -h, --help         this text\n"
                "      --version      print the version\n",
                JIT_DEFAULT_CONFIG);
}

/* Load and check; on any problem print every error and return <0. */
static int load_config(const char *path, struct config **ret)
{
        struct config_errors e = {};
        int r;

        r = config_load_trusted(path, ret, &e);
        for (size_t i = 0; i < e.n; i++)
                fprintf(stderr, "%s\n", e.lines[i]);
        config_errors_clear(&e);
        return r;
}

static int epoll_add(int epfd, int fd, const void *tag)
{
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = (void *) tag };

        return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static bool needs_sudoers(const struct config *c)
{
        for (size_t i = 0; i < c->n_roles; i++)
                if (enforce_role_needs_sudoers(&c->roles[i]))
                        return true;
        return false;
}

static int setup(struct jitd *d)
{
        sigset_t mask;
        int r;

        r = mkdir_parent(d->config->database, 0700);
        if (r < 0) {
                log_msg(LOG_ERR, "cannot create the directory of %s: %s", d->config->database, strerror(-r));
                return r;
        }
        r = store_open(d->config->database, &d->store);
        if (r < 0) {
                log_msg(LOG_ERR, "cannot open database %s: %s", d->config->database, strerror(-r));
                return r;
        }
        if (needs_sudoers(d->config) && (r = sudoers_dir_check(d->config->sudoers_dir)) < 0) {
                log_msg(LOG_ERR, "sudoers_dir %s: %s", d->config->sudoers_dir,
                        r == -EPERM ? "must be owned by root and not writable by group or others" : strerror(-r));
                return r;
        }
        {
                char why[512] = "";

                r = ticketflow_setup(d, why, sizeof(why));
                if (r < 0) {
                        log_msg(LOG_ERR, "[ticket]: %s", why[0] ? why : strerror(-r));
                        return r;
                }
        }
        r = teardown_new(d->config->teardown, NULL, &d->teardown);
        if (r < 0) {
                log_msg(LOG_ERR, "teardown mechanism unavailable: %s", strerror(-r));
                return r;
        }
        log_msg(LOG_INFO, "sessions are torn down with %s", teardown_mode_name(d->teardown));
        d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        d->timer_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
        d->reconcile_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        d->metrics_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        d->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        signal(SIGPIPE, SIG_IGN);
        if (d->epoll_fd < 0 || d->timer_fd < 0 || d->reconcile_fd < 0 || d->metrics_fd < 0 || d->signal_fd < 0) {
                log_msg(LOG_ERR, "cannot set up the event loop: %m");
                return -errno;
        }
        r = server_listen(d);
        if (r < 0) {
                log_msg(LOG_ERR, "cannot listen on %s: %s%s", d->config->socket, strerror(-r),
                        r == -EADDRINUSE ? " (is another jitd running?)" : "");
                return r;
        }
        if ((r = epoll_add(d->epoll_fd, d->listen_fd, &tag_listen)) < 0 ||
            (r = epoll_add(d->epoll_fd, d->timer_fd, &tag_timer)) < 0 ||
            (r = epoll_add(d->epoll_fd, d->signal_fd, &tag_signal)) < 0 ||
            (r = epoll_add(d->epoll_fd, d->reconcile_fd, &tag_reconcile)) < 0 ||
            (r = epoll_add(d->epoll_fd, d->deferred_fd, &tag_deferred)) < 0 ||
            (r = epoll_add(d->epoll_fd, d->metrics_fd, &tag_metrics)) < 0)
                return r;
        governance_arm_metrics(d);
        {
                /* WatchdogSec=: ping from the loop itself at half the
                 * interval, so a wedged loop is what systemd notices. */
                uint64_t usec = 0;

                if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
                        struct itimerspec its = { .it_value = { (time_t) (usec / 2000000), (long) ((usec / 2) % 1000000) * 1000 } };

                        its.it_interval = its.it_value;
                        d->watchdog_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
                        if (d->watchdog_fd < 0 || timerfd_settime(d->watchdog_fd, 0, &its, NULL) < 0 ||
                            (r = epoll_add(d->epoll_fd, d->watchdog_fd, &tag_watchdog)) < 0)
                                return d->watchdog_fd < 0 ? -errno : r;
                }
        }
        if (d->tickets && ((r = epoll_add(d->epoll_fd, ticket_engine_fd(d->tickets), &tag_tickets)) < 0 ||
                           (r = epoll_add(d->epoll_fd, d->ticket_poll_fd, &tag_ticket_poll)) < 0))
                return r;
        {
                struct itimerspec its = { .it_value = { RECONCILE_INTERVAL_SEC, 0 },
                                          .it_interval = { RECONCILE_INTERVAL_SEC, 0 } };

                if (timerfd_settime(d->reconcile_fd, 0, &its, NULL) < 0)
                        return -errno;
        }
        return 0;
}

static void reload(struct jitd *d)
{
        char why[2048];

        if (jitd_reload(d, why, sizeof(why)) < 0)
                log_msg(LOG_ERR, "reload refused, the old configuration stays in force: %s", why);
        else
                log_msg(LOG_NOTICE, "%s", why);
}

static void on_signal(struct jitd *d)
{
        struct signalfd_siginfo si;

        while (read(d->signal_fd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGHUP) {
                        sd_notify(0, "RELOADING=1");
                        reload(d);
                        sd_notify(0, "READY=1");
                } else
                        d->quit = true;
        }
}

static void on_timer(struct jitd *d)
{
        uint64_t ticks;

        /* ECANCELED means the wall clock was set: every deadline is re-read
         * below either way. */
        if (read(d->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != ECANCELED && errno != EAGAIN)
                log_msg(LOG_ERR, "timer: %m");
        d->armed_deadline = -1;
        grants_process_deadlines(d, now_realtime());
}

static void on_reconcile(struct jitd *d)
{
        uint64_t ticks;

        if (read(d->reconcile_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
                log_msg(LOG_ERR, "reconcile timer: %m");
        enforce_reconcile(d);
}

static int run(struct jitd *d)
{
        struct epoll_event evs[64];

        /* Grants that ended while we were down end now (and lose their
         * drop-ins and sessions); then the host is made to match the
         * database. */
        d->warned_until = now_realtime();
        grants_process_deadlines(d, now_realtime());
        while (enforce_pending(d))
                enforce_continue(d);
        enforce_reconcile(d);
        sd_notifyf(0, "READY=1\nSTATUS=serving on %s, %zu roles", d->config->socket, d->config->n_roles);
        log_msg(LOG_NOTICE, "jitd %s serving on %s for host %s (%zu roles)", JIT_VERSION, d->config->socket,
                d->config->host, d->config->n_roles);
        while (!d->quit) {
                /* While sessions of ended grants are queued, look for
                 * requests without sleeping, then end the next chunk. */
                int n = epoll_wait(d->epoll_fd, evs, (int) ELEMENTSOF(evs), enforce_pending(d) ? 0 : -1);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        log_msg(LOG_ERR, "epoll_wait: %m");
                        return -errno;
                }
                for (int i = 0; i < n; i++) {
                        void *p = evs[i].data.ptr;

                        if (p == &tag_listen) {
                                int r = server_accept(d);

                                if (r < 0)
                                        log_msg(LOG_ERR, "accept: %s", strerror(-r));
                        } else if (p == &tag_timer)
                                on_timer(d);
                        else if (p == &tag_signal)
                                on_signal(d);
                        else if (p == &tag_reconcile)
                                on_reconcile(d);
                        else if (p == &tag_tickets)
                                ticketflow_on_engine(d);
                        else if (p == &tag_ticket_poll)
                                ticketflow_on_poll(d);
                        else if (p == &tag_deferred)
                                ticketflow_on_deferred(d);
                        else if (p == &tag_watchdog) {
                                uint64_t ticks;

                                (void) !read(d->watchdog_fd, &ticks, sizeof(ticks));
                                sd_notify(0, "WATCHDOG=1");
                        } else if (p == &tag_metrics) {
                                uint64_t ticks;

                                (void) !read(d->metrics_fd, &ticks, sizeof(ticks));
                                governance_write_metrics(d);
                        }
                        else
                                server_conn_event(d, p, evs[i].events);
                }
                /* Connections closed in this batch (by their own event, an
                 * eviction or a ticket answer) are freed only now, when no
                 * event of the batch can point at them any more. */
                server_reap(d);
                enforce_continue(d);
        }
        /* What was taken away on the host is finished before we go. */
        while (enforce_pending(d))
                enforce_continue(d);
        sd_notify(0, "STOPPING=1");
        log_msg(LOG_NOTICE, "shutting down");
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "config",  required_argument, NULL, 'c' },
                { "check",   no_argument,       NULL, 't' },
                { "help",    no_argument,       NULL, 'h' },
                { "version", no_argument,       NULL, 'V' },
                {}
        };
        struct jitd d = { .epoll_fd = -1, .listen_fd = -1, .timer_fd = -1, .reconcile_fd = -1, .metrics_fd = -1,
                          .watchdog_fd = -1, .signal_fd = -1,
                          .ticket_poll_fd = -1, .deferred_fd = -1 };
        const char *path = JIT_DEFAULT_CONFIG;
        bool check = false;
        int c, r;

        /* The ticket helper: jitd's binary run again by jitd (ticket.c). */
        if (argc == 2 && strcmp(argv[1], TICKET_HELPER_ARG) == 0)
                return ticket_helper_main();
        while ((c = getopt_long(argc, argv, "c:th", opts, NULL)) >= 0) {
                switch (c) {
                case 'c': path = optarg; break;
                case 't': check = true; break;
                case 'h': usage(stdout); return 0;
                case 'V': printf("jitd %s\n", JIT_VERSION); return 0;
                default: usage(stderr); return EXIT_USAGE;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "jitd: unexpected argument '%s'\n", argv[optind]);
                usage(stderr);
                return EXIT_USAGE;
        }
        log_setup();
        if (load_config(path, &d.config) < 0) {
                fprintf(stderr, "jitd: %s has errors; refusing to start\n", path);
                return EXIT_CONFIG;
        }
        if (check) {
                printf("%s: OK (%zu role%s, host %s)\n", path, d.config->n_roles, d.config->n_roles == 1 ? "" : "s",
                       d.config->host);
                config_free(d.config);
                return 0;
        }
        d.config_path = strdup(path);
        r = d.config_path ? setup(&d) : -ENOMEM;
        if (r >= 0)
                r = run(&d);
        server_close(&d);
        store_free(d.store);
        if (d.epoll_fd >= 0)
                close(d.epoll_fd);
        if (d.timer_fd >= 0)
                close(d.timer_fd);
        if (d.reconcile_fd >= 0)
                close(d.reconcile_fd);
        if (d.metrics_fd >= 0)
                close(d.metrics_fd);
        if (d.watchdog_fd >= 0)
                close(d.watchdog_fd);
        teardown_free(d.teardown);
        free(d.ending);
        ticketflow_shutdown(&d);
        if (d.signal_fd >= 0)
                close(d.signal_fd);
        config_free(d.config);
        free(d.config_path);
        return r < 0 ? EXIT_RUNTIME : 0;
}
