/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitbench: the measuring side of `make bench` (tests/bench.sh drives it and
 * writes BENCHMARKS.md). Each subcommand prints its figures as lines
 *
 *   R <name> key=value key=value ...
 *
 * on stdout (latencies with unit=us or unit=ms), diagnostics on stderr.
 * Nothing here asserts a timing: the figures are reported, never judged.
 */
#ifndef JITBENCH_H
#define JITBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

/* Durations in nanoseconds. */
struct samples {
        int64_t *v;
        size_t n, cap;
        bool sorted;
};

int64_t now_ns(void);           /* CLOCK_MONOTONIC */
int64_t now_real_ns(void);      /* CLOCK_REALTIME: grant end times are wall-clock seconds */
void sleep_ns(int64_t ns);

int samples_add(struct samples *s, int64_t v);
int samples_merge(struct samples *to, const struct samples *from);
void samples_free(struct samples *s);
/* Nearest-rank percentile (sorts in place); 0 when empty. */
int64_t samples_pct(struct samples *s, double pct);
/* "R name n=.. p50=.. p99=.. max=.. unit=.." followed by extra (may be NULL). */
void samples_report(const char *name, struct samples *s, bool millis, const char *extra);

/* "a:b:c" (or with sep ',') into a NULL-terminated vector; exits on ENOMEM. */
char **list_split(const char *s, char sep);
size_t list_length(char *const *v);

/* In a forked child: become user (initgroups, setgid, setuid). 0 or -errno. */
int become_user(const char *user);

/* Parse a non-negative integer option or exit with a message. */
long opt_long(const char *what, const char *s, long min, long max);

/* jitd as a child process: started with -c config, stderr to log. */
pid_t jitd_spawn(const char *jitd, const char *config, const char *log);
/* PING until it answers (start-up reconciliation is done then). */
int jitd_wait_ready(const char *sock, int timeout_ms);
void jitd_stop(pid_t pid);
/* VmRSS and VmHWM of a process in KiB (-1 when unknown). */
void proc_rss_kib(pid_t pid, long *ret_rss, long *ret_hwm);

/* With jitd stopped: the active grants of role in db end at expires, and
 * their drop-ins in dropins say so. *ret (malloc'd) holds them. */
struct jit_grant;
int retime(const char *conf, const char *db, const char *dropins, const char *role, int64_t expires,
           struct jit_grant **ret, size_t *ret_n);

/* Messages as pam_jit builds them. */
int msg_pam(struct proto_msg *m, enum proto_type type, const char *user, const char *service);

int cmd_ready(int argc, char **argv);
int cmd_populate(int argc, char **argv);
int cmd_retime(int argc, char **argv);
int cmd_echo(int argc, char **argv);
int cmd_latency(int argc, char **argv);
int cmd_isolation(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_sudo(int argc, char **argv);
int cmd_visudo(int argc, char **argv);
int cmd_cgmove(int argc, char **argv);
int cmd_throughput(int argc, char **argv);
int cmd_revoke_one(int argc, char **argv);
int cmd_revoke_many(int argc, char **argv);
int cmd_fleet_watch(int argc, char **argv);
int cmd_fleet_stats(int argc, char **argv);

#endif
