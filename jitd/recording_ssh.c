/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ssh sessions of recorded grants, recorded with tlog (tlog-rec, run by
 * `jitctl ssh-session` as sshd's ForceCommand, as the user).
 *
 * tlog runs as the user, so whatever it writes to a file the user could
 * rewrite before the seal. It writes to a pipe instead, whose read end
 * `jitctl ssh-session` passes to jitd (SCM_RIGHTS) before it starts tlog:
 * jitd appends what arrives to a root-only file, <record_dir>/<grant>/ssh/
 * <session>. The user can add to the pipe, never take back what jitd has
 * read. The pipe closing (tlog and the shell gone) ends the recording, which
 * is then sealed like sudo's. When jitd cannot write (a full disk) it closes
 * the pipe: tlog fails, and the session ends with it.
 *
 * A recorded grant's ssh session that starts no recording within
 * RECORDING_SSH_GRACE_MS (sshd without the ForceCommand, ~/.ssh/rc tricks)
 * gets its grant revoked: nothing runs unrecorded for long.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "ending.h"
#include "grants.h"
#include "record.h"
#include "log.h"
#include "recording.h"
#include "recording_ssh.h"
#include "teardown.h"

#define COPY_CHUNK (64 * 1024)
#define COPY_PER_TURN 16                /* chunks per turn of the loop */
#define SSH_RECORDINGS_MAX 256
#define SSH_RECORDING_MAX_BYTES (INT64_C(4) << 30)
#define ANCESTORS_MAX 12

struct ssh_rec {
        struct ssh_rec *next;
        struct jitd *d;
        int in, out;
        int64_t recording_id, grant_id, session_id;
        uint64_t bytes;
        sd_event_source *io;
};

struct awaiting {
        struct awaiting *next;
        struct jitd *d;
        int64_t grant_id;
        pid_t pid;                      /* the session's process (sshd's) */
        bool started;
        sd_event_source *timer;
};

static struct ssh_rec *recs;            /* one jitd per process: file-local lists are its own */
static struct awaiting *awaits;
static size_t n_recs;

static void rec_free(struct ssh_rec *r)
{
        for (struct ssh_rec **p = &recs; *p; p = &(*p)->next)
                if (*p == r) {
                        *p = r->next;
                        n_recs--;
                        break;
                }
        sd_event_source_disable_unref(r->io);
        if (r->in >= 0)
                close(r->in);
        if (r->out >= 0)
                close(r->out);
        free(r);
}

static int write_all(int fd, const char *buf, size_t len)
{
        while (len) {
                ssize_t w = write(fd, buf, len);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -errno;
                buf += w;
                len -= (size_t) w;
        }
        return 0;
}

/* The end of one recording: sealed once nothing more can come. */
static void rec_end(struct ssh_rec *r, const char *failure)
{
        struct jitd *d = r->d;
        int64_t id = r->recording_id, session_id = r->session_id;

        if (failure) {
                struct jit_grant g = { .id = r->grant_id };

                (void) grants_get(d, r->grant_id, &g);
                recording_refused(d, &g, "sshd", 0, failure);
        }
        if (r->out >= 0 && fsync(r->out) < 0 && errno != EINVAL)
                log_msg(LOG_WARNING, "recording %lld: fsync: %s", (long long) id, strerror(errno));
        rec_free(r);
        recording_set_writing(d, id, false);
        recording_seal_soon(d, id);
        (void) session_id;
}

static int on_pipe(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct ssh_rec *r = userdata;
        static char buf[COPY_CHUNK];

        (void) s;
        (void) fd;
        (void) revents;
        for (int i = 0; i < COPY_PER_TURN; i++) {
                ssize_t n = read(r->in, buf, sizeof(buf));
                int k;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n <= 0) {
                        rec_end(r, NULL);
                        return 0;
                }
                if (r->bytes + (uint64_t) n > (uint64_t) SSH_RECORDING_MAX_BYTES) {
                        rec_end(r, "the ssh recording reached its size limit; the session is cut");
                        return 0;
                }
                k = write_all(r->out, buf, (size_t) n);
                if (k < 0) {
                        char why[128];

                        /* Closing the pipe fails tlog, and the session ends. */
                        snprintf(why, sizeof(why), "the ssh recording cannot be written: %s", strerror(-k));
                        rec_end(r, why);
                        return 0;
                }
                r->bytes += (uint64_t) n;
        }
        return 0;
}

/* The registered open sshd session that pid descends from: the session's
 * process is sshd's privileged child, the caller a few generations below. */
static int find_session(struct jitd *d, pid_t pid, uid_t uid, struct jit_session *ret, struct jit_grant *ret_g)
{
        for (int depth = 0; depth < ANCESTORS_MAX && pid > 1; depth++) {
                char path[64], line[512], *p;
                struct jit_session x;
                uint64_t start = 0;
                FILE *f;
                int ppid = 0;

                if (store_session_find_open(d->store, pid, &x) >= 0 && strcmp(x.service, "sshd") == 0 &&
                    proc_start_time(pid, &start) >= 0 && (x.pid_start == 0 || x.pid_start == start) &&
                    grants_get(d, x.grant_id, ret_g) >= 0 && ret_g->uid == uid) {
                        *ret = x;
                        return 0;
                }
                snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
                f = fopen(path, "re");
                if (!f)
                        return -ENOENT;
                p = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
                fclose(f);
                if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
                        return -ENOENT;
                pid = ppid;
        }
        return -ENOENT;
}

static int open_file(struct jitd *d, const struct jit_grant *g, int64_t session_id, char *path, size_t size,
                     int *ret_fd)
{
        char why[256], dir[64];
        int dfd, gfd = -1, sfd = -1, r;

        r = recording_open_dir(d, &dfd, why, sizeof(why));
        if (r < 0)
                return r;
        snprintf(dir, sizeof(dir), "%" PRId64, g->id);
        r = recording_make_subdir(dfd, dir, &gfd);
        if (r >= 0)
                r = recording_make_subdir(gfd, "ssh", &sfd);
        for (int k = 1; r >= 0 && k <= 16; k++) {
                char name[48];
                int fd;

                if (k == 1)
                        snprintf(name, sizeof(name), "%" PRId64, session_id);
                else
                        snprintf(name, sizeof(name), "%" PRId64 "-%d", session_id, k);
                fd = openat(sfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0 && errno == EEXIST)
                        continue;
                if (fd < 0) {
                        r = -errno;
                        break;
                }
                snprintf(path, size, "%" PRId64 "/ssh/%s", g->id, name);
                *ret_fd = fd;
                r = 1;
                break;
        }
        if (sfd >= 0)
                close(sfd);
        if (gfd >= 0)
                close(gfd);
        close(dfd);
        return r == 1 ? 0 : r < 0 ? r : -EEXIST;
}

static void awaiting_free(struct awaiting *a)
{
        for (struct awaiting **p = &awaits; *p; p = &(*p)->next)
                if (*p == a) {
                        *p = a->next;
                        break;
                }
        sd_event_source_disable_unref(a->timer);
        free(a);
}

static void mark_started(int64_t grant_id, pid_t pid)
{
        for (struct awaiting *a = awaits; a; a = a->next)
                if (a->grant_id == grant_id && a->pid == pid)
                        a->started = true;
}

/* "recording-started": where, and the command asked for ("" for a login
 * shell), which tlog itself does not record. */
static void audit_started(struct jitd *d, const struct jit_grant *g, const struct jit_recording *x,
                          const char *command)
{
        json_object *det = json_object_new_object();
        struct change c = {};
        int r;

        if (!det)
                return;
        json_object_object_add(det, "recording", json_object_new_int64(x->id));
        json_object_object_add(det, "session", json_object_new_int64(x->session_id));
        json_object_object_add(det, "path", json_object_new_string(x->path));
        json_object_object_add(det, "command", json_object_new_string(command ? command : ""));
        c.next = *g;
        r = change_add_event(&c, "recording-started", &actor_jitd, now_realtime(),
                             json_object_to_json_string_ext(det, JSON_C_TO_STRING_PLAIN));
        json_object_put(det);
        if (r >= 0)
                r = ending_record_sessions(d, NULL, 0, &c, 1);
        if (r < 0)
                log_msg(LOG_ERR, "grant %lld: cannot keep the audit event recording-started: %s", (long long) g->id,
                        strerror(-r));
        change_done(&c);
}

int recording_ssh_start(struct jitd *d, pid_t peer, uid_t uid, int pipe_fd, const char *command,
                        enum record_mode *ret_mode, char *why, size_t why_size)
{
        struct jit_recording x = { .found_at = now_realtime() };
        struct jit_session s;
        struct jit_grant g;
        struct ssh_rec *r;
        int out = -1, k;

        *ret_mode = RECORD_NONE;
        if (find_session(d, peer, uid, &s, &g) < 0 || !grant_state_is_open(g.state) ||
            (*ret_mode = recording_mode(d, &g)) == RECORD_NONE)
                return 0;               /* not a recorded ssh session: nothing to record */
        if (pipe_fd < 0) {
                snprintf(why, why_size, "no pipe was passed for the recording");
                return -EINVAL;
        }
        if (n_recs >= SSH_RECORDINGS_MAX) {
                snprintf(why, why_size, "too many ssh recordings at once");
                recording_refused(d, &g, "sshd", peer, why);
                return -EUSERS;
        }
        if (recording_space_check_dir(d, why, why_size) < 0) {
                recording_refused(d, &g, "sshd", peer, why);
                return -ENOSPC;
        }
        k = open_file(d, &g, s.id, x.path, sizeof(x.path), &out);
        if (k < 0) {
                snprintf(why, why_size, "cannot create the recording file: %s", strerror(-k));
                recording_refused(d, &g, "sshd", peer, why);
                return k;
        }
        x.grant_id = g.id;
        x.session_id = s.id;
        snprintf(x.kind, sizeof(x.kind), "tlog");
        k = store_recording_add(d->store, &x);
        if (k <= 0) {
                snprintf(why, why_size, "cannot note the recording: %s", k < 0 ? store_last_error(d->store) : "exists");
                close(out);
                return k < 0 ? k : -EEXIST;
        }
        r = calloc(1, sizeof(*r));
        if (!r) {
                close(out);
                return -ENOMEM;
        }
        *r = (struct ssh_rec) { .d = d, .in = pipe_fd, .out = out, .recording_id = x.id, .grant_id = g.id,
                                .session_id = s.id };
        (void) fcntl(pipe_fd, F_SETFL, fcntl(pipe_fd, F_GETFL) | O_NONBLOCK);
        k = sd_event_add_io(d->event, &r->io, pipe_fd, EPOLLIN, on_pipe, r);
        if (k < 0) {
                r->in = -1;             /* the caller closes it */
                free(r);
                close(out);
                return k;
        }
        r->next = recs;
        recs = r;
        n_recs++;
        recording_set_writing(d, x.id, true);
        mark_started(g.id, s.pid);
        audit_started(d, &g, &x, command);
        log_msg(LOG_INFO, "grant %lld: ssh session %lld recorded with tlog into %s", (long long) g.id,
                (long long) s.id, x.path);
        return 1;
}

static int on_grace(sd_event_source *src, uint64_t usec, void *userdata)
{
        struct awaiting *a = userdata;
        struct jitd *d = a->d;
        struct jit_session s;
        struct jit_grant g;
        char why[256];
        int r;

        (void) src;
        (void) usec;
        if (a->started || store_session_find_open(d->store, a->pid, &s) < 0 || s.grant_id != a->grant_id ||
            grants_get(d, a->grant_id, &g) < 0 || !grant_state_is_open(g.state)) {
                awaiting_free(a);
                return 0;
        }
        {
                struct fsm_event ev = { .type = FSM_REVOKE,
                                        .text = "its ssh session started no recording (is `jitctl ssh-session` "
                                                "sshd's ForceCommand?)" };

                log_msg(LOG_ALERT, "grant %lld: ssh session %lld started no recording within %d s; revoking",
                        (long long) g.id, (long long) s.id, RECORDING_SSH_GRACE_MS / 1000);
                r = grants_step(d, &g, &ev, &actor_jitd, why, sizeof(why));
                if (r < 0 && r != -EALREADY)
                        log_msg(LOG_ERR, "grant %lld: revoking it failed: %s", (long long) g.id,
                                why[0] ? why : strerror(-r));
        }
        awaiting_free(a);
        return 0;
}

int recording_ssh_expect(struct jitd *d, int64_t grant_id, pid_t pid)
{
        struct awaiting *a = calloc(1, sizeof(*a));
        int r;

        if (!a)
                return -ENOMEM;
        *a = (struct awaiting) { .d = d, .grant_id = grant_id, .pid = pid };
        r = sd_event_add_time_relative(d->event, &a->timer, CLOCK_MONOTONIC, (uint64_t) RECORDING_SSH_GRACE_MS * 1000,
                                       100000, on_grace, a);
        if (r < 0) {
                free(a);
                return r;
        }
        a->next = awaits;
        awaits = a;
        return 0;
}

void recording_ssh_free_all(void)
{
        while (recs)
                rec_free(recs);
        while (awaits)
                awaiting_free(awaits);
}
