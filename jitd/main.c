/* SPDX-License-Identifier: BSD-3-Clause */
/* jitd: the entry point. Argument parsing, start-up, the event loop (sd-event),
 * and the mapping of failures to exit codes. */
#include <errno.h>
#include <inttypes.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "audit.h"
#include "audit_key.h"
#include "clock.h"
#include "deadline.h"
#include "dispatch.h"
#include "ending.h"
#include "gating.h"
#include "fleet_mirror.h"
#include "grants.h"
#include "log.h"
#include "metrics.h"
#include "nsscache.h"
#include "reconcile.h"
#include "recording.h"
#include "recording_ssh.h"
#include "reload.h"
#include "server.h"
#include "sessions.h"
#include "sshsig.h"
#include "store.h"
#include "sudoers.h"
#include "teardown.h"
#include "tombstone.h"
#include "ticket.h"
#include "ticket_helper.h"
#include "ticketflow.h"
#include "tokens.h"
#include "vet.h"

enum { EXIT_CONFIG = 1, EXIT_USAGE = 2, EXIT_RUNTIME = 3 };

/* How often drop-ins and sessions are checked against the database. */
#define RECONCILE_EVERY_USEC (120 * UINT64_C(1000000))
/* A repair asked for by an effect that failed after its commit. */
#define REPAIR_SOON_USEC (1 * UINT64_C(1000000))
/* At exit, how long kills in flight may take to be verified. */
#define DRAIN_USEC (2 * UINT64_C(1000000))

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

static int on_reconcile(sd_event_source *s, uint64_t usec, void *userdata)
{
        reconcile(userdata);
        (void) sd_event_source_set_time(s, usec + RECONCILE_EVERY_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

static void repair_soon(struct jitd *d)
{
        uint64_t now = 0, at = 0;

        if (!d->reconcile_source || sd_event_now(d->event, CLOCK_MONOTONIC, &now) < 0)
                return;
        if (sd_event_source_get_time(d->reconcile_source, &at) >= 0 && at <= now + REPAIR_SOON_USEC)
                return;
        (void) sd_event_source_set_time(d->reconcile_source, now + REPAIR_SOON_USEC);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        struct jitd *d = userdata;
        char why[2048];

        (void) s;
        (void) si;
        sd_notify(0, "RELOADING=1");
        if (jitd_reload(d, why, sizeof(why)) < 0)
                log_msg(LOG_ERR, "reload refused, the old configuration stays in force: %s", why);
        else
                log_msg(LOG_NOTICE, "%s", why);
        sd_notify(0, "READY=1");
        return 0;
}

static int on_quit(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        (void) si;
        (void) userdata;
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* Keys the chain with audit_key, and makes its newest audit-key event say so,
 * before anything else is appended. */
static int audit_setup(struct jitd *d)
{
        struct audit_keyring k;
        struct audit_event marker;
        int64_t before = 0;
        char why[512] = "";
        int r;

        if (d->config->audit_key) {
                r = audit_keys_load(d->config->audit_key, d->config->database, &k, why, sizeof(why));
                if (r < 0) {
                        log_msg(LOG_ERR, "%s; refusing to start", why);
                        return r;
                }
                r = audit_chain_set_keys(d->audit, &k);
                audit_keys_wipe(&k);
                if (r < 0) {
                        log_msg(LOG_ERR, "audit_key %s: HMAC-SHA256 unavailable: %s; refusing to start",
                                d->config->audit_key, strerror(-r));
                        return r;
                }
        }
        r = audit_anchor(d->audit, d->store, now_realtime(), &marker, &before);
        if (r < 0) {
                log_msg(LOG_ERR, "cannot record the audit chain's key: %s; refusing to start", strerror(-r));
                return r;
        }
        if (r > 0) {
                audit_log_committed(&marker, NULL, false);
                if (d->config->audit_key)
                        log_msg(LOG_NOTICE, "audit chain: HMAC-SHA256 with audit key %s from event %" PRId64
                                "%s", audit_chain_key_id(d->audit), marker.seq,
                                before ? "; the events before it stay as they were chained" : "");
                else
                        log_msg(LOG_WARNING, "audit chain: plain SHA-256 again from event %" PRId64 " (audit_key "
                                "is no longer set; the keyed events before it verify only with it)", marker.seq);
        }
        return 0;
}

static int setup(struct jitd *d)
{
        char why[512] = "", *tombs = NULL, *tombs_disk = NULL;
        sigset_t mask;
        int r, fd = -1;

        r = sd_event_new(&d->event);
        if (r < 0) {
                log_msg(LOG_ERR, "cannot set up the event loop: %s", strerror(-r));
                return r;
        }
        r = mkdir_parent(d->config->database, 0700);
        if (r < 0) {
                log_msg(LOG_ERR, "cannot create the directory of %s: %s", d->config->database, strerror(-r));
                return r;
        }
        /* Before SQLite opens anything: a planted -wal would be replayed. */
        r = vet_database(d->config->database, why, sizeof(why));
        if (r < 0) {
                log_msg(LOG_ERR, "database: %s; refusing to start", why);
                return r;
        }
        r = store_open(d->config->database, &d->store);
        if (r < 0) {
                log_msg(LOG_ERR, "cannot open database %s: %s", d->config->database, strerror(-r));
                return r;
        }
        r = nsscache_new(NULL, &d->nss);
        if (r < 0) {
                log_msg(LOG_ERR, "cannot set up: %s", strerror(-r));
                return r;
        }
        r = audit_chain_new(&d->audit);
        if (r < 0) {
                log_msg(LOG_ERR, "the audit chain needs SHA-256 from OpenSSL: %s", strerror(-r));
                return r;
        }
        r = audit_setup(d);
        if (r < 0)
                return r;
        if (gating_config_needs_sudoers(d->config) && (r = sudoers_dir_check(d->config->sudoers_dir)) < 0) {
                log_msg(LOG_ERR, "sudoers_dir %s: %s", d->config->sudoers_dir,
                        r == -EPERM ? "must be owned by root and not writable by group or others" : strerror(-r));
                return r;
        }
        if (config_records_any(d->config) && (r = recording_dir_check(d->config->record_dir, true, why, sizeof(why))) < 0) {
                log_msg(LOG_ERR, "%s; refusing to start", why);
                return r;
        }
        /* The signals the loop reads; a child started later unblocks them
         * (notify.c). SIGPIPE: a client that hangs up is an error return. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        if ((r = sd_event_add_signal(d->event, NULL, SIGTERM, on_quit, d)) < 0 ||
            (r = sd_event_add_signal(d->event, NULL, SIGINT, on_quit, d)) < 0 ||
            (r = sd_event_add_signal(d->event, NULL, SIGHUP, on_sighup, d)) < 0) {
                log_msg(LOG_ERR, "cannot watch signals: %s", strerror(-r));
                return r;
        }
        /* WatchdogSec=: sd-event pings from the loop itself, so a wedged loop
         * is what systemd notices. */
        (void) sd_event_set_watchdog(d->event, true);

        r = tombstone_dir(d->config->socket, &tombs, why, sizeof(why));
        if (r < 0) {
                log_msg(LOG_ERR, "ends not yet recorded cannot be kept across a restart: %s; refusing to start", why);
                return r;
        }
        r = tombstone_dir(d->config->database, &tombs_disk, why, sizeof(why));
        if (r < 0) {
                free(tombs);
                log_msg(LOG_ERR, "ends not yet recorded cannot be kept across a reboot: %s; refusing to start", why);
                return r;
        }
        if ((r = ending_new(d, tombs, tombs_disk, &d->ending)) < 0 || (r = deadline_new(d, clock_on_due, &d->deadline)) < 0 ||
            (r = clock_new(d, &d->clock)) < 0 || (r = sessions_new(d, &d->sessions)) < 0 ||
            (r = tokens_new(&d->tokens)) < 0 || (r = recorder_new(d, &d->recorder)) < 0) {
                log_msg(LOG_ERR, "cannot set up: %s", strerror(-r));
                return r;
        }
        r = ticketflow_setup(d, why, sizeof(why));
        if (r < 0) {
                log_msg(LOG_ERR, "[ticket]: %s", why[0] ? why : strerror(-r));
                return r;
        }
        r = teardown_new(d->config->teardown, NULL, &d->teardown);
        if (r < 0) {
                log_msg(LOG_ERR, "teardown mechanism unavailable: %s", strerror(-r));
                return r;
        }
        r = teardown_attach_event(d->teardown, d->event);
        if (r < 0)
                log_msg(LOG_WARNING, "the system bus is not reachable now (%s): sessions are tracked by pid until "
                        "it is", strerror(-r));
        log_msg(LOG_INFO, "sessions are torn down with %s", teardown_mode_name(d->teardown));
        d->repair_soon = repair_soon;
        r = server_listen(d, why, sizeof(why));
        if (r < 0) {
                log_msg(LOG_ERR, "cannot listen on %s: %s", d->config->socket, why[0] ? why : strerror(-r));
                return r;
        }
        r = sd_event_add_time_relative(d->event, &d->reconcile_source, CLOCK_MONOTONIC, RECONCILE_EVERY_USEC,
                                       1000000, on_reconcile, d);
        if (r < 0) {
                log_msg(LOG_ERR, "cannot set up reconciliation: %s", strerror(-r));
                return r;
        }
        metrics_arm(d);
        /* The fleet: connecting starts from the loop, never blocking it;
         * until it is up, the host goes on with what its store holds. */
        if (d->config->fleet.line) {
                if (d->config->fleet.allowed_signers &&
                    (r = sshsig_signers_open(d->config->fleet.allowed_signers, NULL, &fd, why, sizeof(why))) < 0) {
                        log_msg(LOG_ERR, "[fleet] allowed_signers %s: %s; refusing to start",
                                d->config->fleet.allowed_signers, why[0] ? why : strerror(-r));
                        return r;
                }
                if (fd >= 0)
                        close(fd);
                r = fleet_mirror_new(d, &d->fleet);
                if (r < 0) {
                        log_msg(LOG_ERR, "[fleet]: cannot set up: %s", strerror(-r));
                        return r;
                }
                if (!d->config->fleet.allowed_signers)
                        log_msg(LOG_WARNING, "[fleet] has no allowed_signers: no fleet grant is enforced on this host");
        }
        return 0;
}

static int run(struct jitd *d)
{
        uint64_t until;
        int r;

        /* Grants that ended while we were down end now (and lose their
         * drop-ins and sessions); then the host is made to match the
         * database. */
        deadline_set_warned_until(d, now_realtime());
        r = grants_restore_ends(d);
        if (r < 0) {
                log_msg(LOG_ERR, "cannot restore the ends that were not recorded before the last stop: %s; refusing "
                        "to serve", strerror(-r));
                return r;
        }
        clock_run_now(d);
        reconcile(d);
        recording_resume(d);
        sd_notifyf(0, "READY=1\nSTATUS=serving on %s, %zu role%s", d->config->socket, d->config->n_roles,
                   d->config->n_roles == 1 ? "" : "s");
        log_msg(LOG_NOTICE, "jitd %s serving on %s for host %s (%zu role%s)", JIT_VERSION, d->config->socket,
                d->config->host, d->config->n_roles, d->config->n_roles == 1 ? "" : "s");
        r = sd_event_loop(d->event);
        sd_notify(0, "STOPPING=1");
        log_msg(LOG_NOTICE, "shutting down");
        /* What was taken away on the host is finished before we go: due
         * grants end, kills in flight are verified, waiting records get a
         * last try. */
        clock_run_now(d);
        until = (uint64_t) now_monotonic_ms() * 1000 + DRAIN_USEC;
        while (sessions_in_flight(d->sessions) && (uint64_t) now_monotonic_ms() * 1000 < until)
                if (sd_event_run(d->event, 100000) < 0)
                        break;
        ending_flush(d->ending);
        if (ending_count(d->ending))
                log_msg(LOG_ERR, "%zu records could not be written before exit; the ends they record are kept in "
                        "%s and written at the next start (expiries end again by the clock)", ending_count(d->ending),
                        ending_dir(d->ending));
        return r;
}

static void cleanup(struct jitd *d)
{
        fleet_mirror_free(d->fleet);
        server_close(d);
        dispatch_free_parked(d);
        sessions_free(d->sessions);
        recording_ssh_free_all();
        recorder_free(d->recorder);
        clock_free(d->clock);
        deadline_free(d->deadline);
        ending_free(d->ending);
        tokens_free(d->tokens);
        metrics_free(d);
        d->reconcile_source = sd_event_source_disable_unref(d->reconcile_source);
        ticketflow_shutdown(d);
        teardown_free(d->teardown);
        audit_chain_free(d->audit);
        nsscache_free(d->nss);
        store_free(d->store);
        sd_event_unref(d->event);
        config_free(d->config);
        free(d->config_path);
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
        struct jitd d = { .listen_fd = -1 };
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
                /* --check is what `systemctl reload` runs first: the jitd
                 * that runs keeps its config, nothing refuses to start. */
                fprintf(stderr, "jitd: %s has errors%s\n", path,
                        check ? "; a running jitd keeps the configuration it has" : "; refusing to start");
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
        cleanup(&d);
        return r < 0 ? EXIT_RUNTIME : 0;
}
