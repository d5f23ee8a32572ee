/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "sshsig_verify.h"
#include "util.h"

struct sshsig_job {
        struct sshsig_run run;
        char *principal;
        sd_event *event;
        sd_event_source *io[2];         /* its stdout, its stderr */
        sd_event_source *exit_source;   /* its pidfd */
        sd_event_source *timer;
        sshsig_done_fn cb;
        void *userdata;
        bool done;                      /* the callback has been called */
};

static void job_sources_off(struct sshsig_job *j)
{
        for (int i = 0; i < 2; i++)
                j->io[i] = sd_event_source_disable_unref(j->io[i]);
        j->exit_source = sd_event_source_disable_unref(j->exit_source);
        j->timer = sd_event_source_disable_unref(j->timer);
}

static int on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct sshsig_job *j = userdata;
        int i = fd == j->run.fd[0] ? 0 : 1, r;

        (void) revents;
        r = sshsig_run_read(&j->run, i);
        if (r == 0)
                return 0;
        /* At its end, or past the limit (kill it: an answer does not take
         * 16 KiB), or unreadable: this source has nothing more to give. */
        if (r < 0)
                sshsig_run_kill(&j->run);
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct sshsig_job *j = userdata;

        (void) s;
        (void) usec;
        /* Its exit (through the pidfd) finishes the job. */
        j->run.timed_out = true;
        sshsig_run_kill(&j->run);
        return 0;
}

static int on_exit_of(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct sshsig_job *j = userdata;
        struct sshsig_result res;
        int r;

        (void) s;
        (void) fd;
        (void) revents;
        r = sshsig_run_reap(&j->run, false);
        if (r == -EAGAIN)
                return 0;
        /* What it wrote before it exited is in the pipes. */
        for (int i = 0; i < 2; i++)
                if (j->run.fd[i] >= 0 && !j->run.overflow)
                        (void) sshsig_run_read(&j->run, i);
        job_sources_off(j);
        r = sshsig_verify_outcome(&j->run, j->principal, &res);
        j->done = true;
        /* The last thing done with j: the callback may cancel (free) it. */
        j->cb(r, &res, j->userdata);
        return 0;
}

static void job_free(struct sshsig_job *j)
{
        job_sources_off(j);
        sshsig_run_done(&j->run);
        sd_event_unref(j->event);
        free(j->principal);
        free(j);
}

static int on_reap_orphan(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        siginfo_t si;

        (void) revents;
        (void) userdata;
        memset(&si, 0, sizeof(si));
        if (waitid(P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0)
                return 0;
        sd_event_source_disable_unref(s);
        return 0;
}

void sshsig_job_cancel(struct sshsig_job *j)
{
        sd_event_source *s = NULL;

        if (!j)
                return;
        if (j->run.pid > 0 && !j->run.reaped) {
                sshsig_run_kill(&j->run);
                /* Killed, but not necessarily gone yet: waiting for it here
                 * would hold up the loop, so the loop reaps it when its pidfd
                 * says it has exited. */
                if (sshsig_run_reap(&j->run, false) == -EAGAIN &&
                    sd_event_add_io(j->event, &s, j->run.pidfd, EPOLLIN, on_reap_orphan, NULL) >= 0) {
                        (void) sd_event_source_set_io_fd_own(s, 1);
                        (void) sd_event_source_set_floating(s, 1);
                        sd_event_source_unref(s);
                        /* The pidfd is the source's now; the run forgets the child. */
                        j->run.pidfd = -1;
                        j->run.pid = 0;
                }
        }
        job_free(j);
}

int sshsig_verify_start(sd_event *e, const char *allowed_signers, const char *principal, const char *text,
                        const char *armored, sshsig_done_fn cb, void *userdata, struct sshsig_job **ret)
{
        struct sshsig_result res;
        struct sshsig_job *j;
        int r;

        if (!e || !cb || !ret)
                return -EINVAL;
        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->run = (struct sshsig_run) SSHSIG_RUN_INIT;
        j->event = sd_event_ref(e);
        j->cb = cb;
        j->userdata = userdata;
        j->principal = principal ? strdup(principal) : NULL;
        if (!j->principal) {
                r = principal ? -ENOMEM : -EINVAL;
                goto fail;
        }
        r = sshsig_verify_spawn(allowed_signers, principal, text, armored, &j->run, &res);
        if (r < 0)
                goto fail;
        for (int i = 0; r >= 0 && i < 2; i++)
                r = sd_event_add_io(e, &j->io[i], j->run.fd[i], EPOLLIN, on_output, j);
        if (r >= 0)
                r = sd_event_add_io(e, &j->exit_source, j->run.pidfd, EPOLLIN, on_exit_of, j);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &j->timer, CLOCK_MONOTONIC,
                                               (uint64_t) SSHSIG_VERIFY_TIMEOUT_MS * 1000, 1000, on_timeout, j);
        if (r < 0)
                goto fail;
        *ret = j;
        return 0;
fail:
        /* Nothing reported; what had started is killed and left to the loop
         * to reap, as a cancel does. */
        sshsig_job_cancel(j);
        return r;
}
