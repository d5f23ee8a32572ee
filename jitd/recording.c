/* SPDX-License-Identifier: BSD-3-Clause */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <syslog.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "ending.h"
#include "log.h"
#include "rechash.h"
#include "record.h"
#include "recording.h"
#include "util.h"

#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS   5000
#define PRUNE_EVERY_MS (3600 * 1000)
#define PRUNE_FIRST_MS (10 * 1000)
#define PRUNE_BATCH    64
/* sudo's %{seq}: six base-36 digits, written as three levels of two. */
#define SEQ_DIGITS 6
/* How far back from the seq a session-open looks when two sessions of the
 * same grant began at once and the newest is claimed already. */
#define CLAIM_LOOK_BACK 8
#define SCAN_MAX 100000

struct settle {
        int64_t grant_id;
        int64_t due_ms;                 /* monotonic */
};

struct recorder {
        struct jitd *d;
        int64_t refused_grant;          /* the last refusal audited, and when */
        int64_t refused_ms;
        int64_t *queue;                 /* recording ids to seal, in order */
        size_t n_queue, cap_queue;
        struct settle *settles;
        size_t n_settles, cap_settles;
        int64_t *writing;               /* recordings still being written (an ssh pipe open) */
        size_t n_writing, cap_writing;

        struct rechash *job;            /* the recording being hashed */
        struct jit_recording cur;
        bool cur_complete;
        bool have_result;               /* hashed; its record waits */
        char hex[RECHASH_HEX_LEN + 1];
        uint64_t size;
        unsigned retry_ms;
        int64_t retry_at_ms;            /* 0: not waiting */
        int64_t next_prune_ms;

        sd_event_source *work;          /* a defer: one step per turn of the loop */
        sd_event_source *timer;         /* settles, retries, pruning */
};

static void timer_arm(struct recorder *r);

/* The grant as it stands: the end that waits for its record, else the
 * store's row (grants.h grants_get, which this leaf below effects.c may not
 * call). */
static int grant_now(struct jitd *d, int64_t id, struct jit_grant *ret)
{
        if (d->ending && ending_lookup(d->ending, id, ret) >= 0)
                return 0;
        return store_grant_get(d->store, id, ret);
}

static bool is_writing(const struct recorder *r, int64_t id)
{
        for (size_t i = 0; r && i < r->n_writing; i++)
                if (r->writing[i] == id)
                        return true;
        return false;
}

void recording_set_writing(struct jitd *d, int64_t recording_id, bool writing)
{
        struct recorder *r = d->recorder;

        if (!r)
                return;
        for (size_t i = 0; i < r->n_writing; i++)
                if (r->writing[i] == recording_id) {
                        if (!writing)
                                r->writing[i] = r->writing[--r->n_writing];
                        return;
                }
        if (writing && array_reserve((void **) &r->writing, &r->cap_writing, r->n_writing, sizeof(*r->writing)) >= 0)
                r->writing[r->n_writing++] = recording_id;
}

static int64_t prune_every_ms(const struct jitd *d)
{
        int64_t half = (int64_t) d->config->record_retention * 500;

        return half < 1000 ? 1000 : half > PRUNE_EVERY_MS ? PRUNE_EVERY_MS : half;
}

enum record_mode recording_mode(const struct jitd *d, const struct jit_grant *g)
{
        return config_record_mode(d->config, config_find_role(d->config, g->role), g->break_glass);
}

static int open_record_dir(const char *dir, int *ret_fd, char *why, size_t why_size)
{
        struct stat st;
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0) {
                int r = -errno;

                snprintf(why, why_size, "record_dir %s: %s", dir,
                         r == -ELOOP || r == -ENOTDIR ? "not a directory (or a symlink)" : strerror(-r));
                return r == -ELOOP ? -ENOTDIR : r;
        }
        if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 077)) {
                snprintf(why, why_size, "record_dir %s must be owned by root with no access for group or others "
                         "(mode 0700)", dir);
                close(fd);
                return -EPERM;
        }
        *ret_fd = fd;
        return 0;
}

int recording_open_dir(struct jitd *d, int *ret_fd, char *why, size_t why_size)
{
        return open_record_dir(d->config->record_dir, ret_fd, why, why_size);
}

int recording_dir_check(const char *record_dir, bool create, char *why, size_t why_size)
{
        int fd = -1, r;

        if (create) {
                r = mkdir_parent(record_dir, 0755);
                if (r < 0) {
                        snprintf(why, why_size, "cannot create the parent of record_dir %s: %s", record_dir,
                                 strerror(-r));
                        return r;
                }
                if (mkdir(record_dir, 0700) < 0 && errno != EEXIST) {
                        r = -errno;
                        snprintf(why, why_size, "cannot create record_dir %s: %s", record_dir, strerror(-r));
                        return r;
                }
        }
        r = open_record_dir(record_dir, &fd, why, why_size);
        if (fd >= 0)
                close(fd);
        return r;
}

int recording_make_subdir(int dfd, const char *name, int *ret_fd)
{
        struct stat st;
        int fd;

        if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ELOOP ? -ENOTDIR : -errno;
        if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 077)) {
                close(fd);
                return -EPERM;
        }
        *ret_fd = fd;
        return 0;
}

int recording_prepare_grant(struct jitd *d, const struct jit_grant *g, char *iolog_dir, size_t size, char *why,
                            size_t why_size)
{
        char name[32];
        int dfd = -1, gfd = -1, sfd = -1, r;

        r = open_record_dir(d->config->record_dir, &dfd, why, why_size);
        if (r < 0)
                return r;
        snprintf(name, sizeof(name), "%" PRId64, g->id);
        r = recording_make_subdir(dfd, name, &gfd);
        if (r >= 0)
                r = recording_make_subdir(gfd, "sudo", &sfd);
        if (r < 0)
                snprintf(why, why_size, "cannot make the recording directory %s/%s/sudo: %s", d->config->record_dir,
                         name, r == -EPERM ? "something else stands there" : strerror(-r));
        else if ((size_t) snprintf(iolog_dir, size, "%s/%s/sudo", d->config->record_dir, name) >= size)
                r = -ENAMETOOLONG;
        if (sfd >= 0)
                close(sfd);
        if (gfd >= 0)
                close(gfd);
        close(dfd);
        return r;
}

/* base36 as sudo writes its seq: 0-9 then A-Z. */
static int seq_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'A' && c <= 'Z')
                return c - 'A' + 10;
        return -1;
}

static bool seq_decrement(char seq[SEQ_DIGITS + 1])
{
        for (int i = SEQ_DIGITS - 1; i >= 0; i--) {
                int v = seq_digit(seq[i]);

                if (v > 0) {
                        v--;
                        seq[i] = (char) (v < 10 ? '0' + v : 'A' + v - 10);
                        return strcmp(seq, "000000") != 0;
                }
                seq[i] = 'Z';
        }
        return false;
}

/* The newest seq sudo handed out in dir sfd. */
static int read_seq(int sfd, char seq[SEQ_DIGITS + 1])
{
        char buf[16];
        ssize_t n;
        int fd = openat(sfd, "seq", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n < SEQ_DIGITS)
                return -ENOENT;         /* empty: sudo could not write it (a full disk) */
        for (int i = 0; i < SEQ_DIGITS; i++)
                if (seq_digit(buf[i]) < 0)
                        return -EBADMSG;
        memcpy(seq, buf, SEQ_DIGITS);
        seq[SEQ_DIGITS] = '\0';
        return 0;
}

static void seq_path(int64_t grant_id, const char *seq, char *buf, size_t size)
{
        snprintf(buf, size, "%" PRId64 "/sudo/%.2s/%.2s/%.2s", grant_id, seq, seq + 2, seq + 4);
}

/* Is the recording at path (under dfd) one sudo began: its log file there? */
static bool sudo_recording_exists(int dfd, const char *path)
{
        char p[RECORDING_PATH_MAX + 16];
        struct stat st;

        snprintf(p, sizeof(p), "%s/log", path);
        return fstatat(dfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

int recording_claim_sudo(struct jitd *d, const struct jit_grant *const *gs, size_t n, int64_t *ret_id)
{
        char why[256];
        int dfd = -1, r = 0;

        if (open_record_dir(d->config->record_dir, &dfd, why, sizeof(why)) < 0)
                return 0;
        for (size_t i = 0; i < n && r == 0; i++) {
                char dir[64], seq[SEQ_DIGITS + 1];
                int sfd;

                if (recording_mode(d, gs[i]) == RECORD_NONE)
                        continue;
                snprintf(dir, sizeof(dir), "%" PRId64 "/sudo", gs[i]->id);
                sfd = openat(dfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sfd < 0)
                        continue;
                if (read_seq(sfd, seq) < 0) {
                        close(sfd);
                        continue;
                }
                close(sfd);
                for (int back = 0; back < CLAIM_LOOK_BACK && r == 0; back++) {
                        struct jit_recording x = { .grant_id = gs[i]->id, .found_at = now_realtime() };

                        if (back > 0 && !seq_decrement(seq))
                                break;
                        seq_path(gs[i]->id, seq, x.path, sizeof(x.path));
                        if (!sudo_recording_exists(dfd, x.path))
                                continue;
                        snprintf(x.kind, sizeof(x.kind), "sudo");
                        r = store_recording_add(d->store, &x);
                        if (r > 0)
                                *ret_id = x.id;
                }
        }
        close(dfd);
        return r;
}

void recording_attach_session(struct jitd *d, int64_t recording_id, int64_t session_id)
{
        if (recording_id > 0 && store_recording_set_session(d->store, recording_id, session_id) < 0)
                log_msg(LOG_WARNING, "recording %lld: cannot note its session %lld: %s", (long long) recording_id,
                        (long long) session_id, store_last_error(d->store));
}

static void audit_event(struct jitd *d, const struct jit_grant *g, const char *event, json_object *det)
{
        struct change c = {};
        int r;

        c.next = *g;
        r = change_add_event(&c, event, &actor_jitd, now_realtime(),
                             json_object_to_json_string_ext(det, JSON_C_TO_STRING_PLAIN));
        if (r >= 0)
                r = ending_record_sessions(d, NULL, 0, &c, 1);
        if (r < 0)
                log_msg(LOG_ERR, "grant %lld: cannot keep the audit event %s: %s", (long long) g->id, event,
                        strerror(-r));
        change_done(&c);
}

static int space_ok(int fd, const char *dir, char *why, size_t why_size)
{
        struct statvfs sv;

        if (fstatvfs(fd, &sv) < 0) {
                int r = -errno;

                snprintf(why, why_size, "cannot tell the free space of %s: %s", dir, strerror(-r));
                return r;
        }
        if ((uint64_t) sv.f_bavail * sv.f_frsize < RECORDING_MIN_FREE_BYTES ||
            (sv.f_files > 0 && sv.f_favail < RECORDING_MIN_FREE_FILES)) {
                snprintf(why, why_size, "%s is full", dir);
                return -ENOSPC;
        }
        return 0;
}

int recording_space_check_dir(struct jitd *d, char *why, size_t why_size)
{
        int fd, r;

        r = open_record_dir(d->config->record_dir, &fd, why, why_size);
        if (r < 0)
                return r;
        r = space_ok(fd, d->config->record_dir, why, why_size);
        close(fd);
        return r;
}

int recording_space_check(struct jitd *d, const struct jit_grant *g, char *why, size_t why_size)
{
        struct stat st;
        char sub[64];
        int dfd, fd, r = 0;

        r = open_record_dir(d->config->record_dir, &dfd, why, why_size);
        if (r < 0)
                return r;
        snprintf(sub, sizeof(sub), "%" PRId64 "/sudo", g->id);
        fd = openat(dfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(dfd);
        if (fd < 0) {
                r = -errno;
                snprintf(why, why_size, "its directory %s/%s: %s", d->config->record_dir, sub, strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 077)) {
                snprintf(why, why_size, "its directory %s/%s is not root's alone", d->config->record_dir, sub);
                close(fd);
                return -EPERM;
        }
        r = space_ok(fd, d->config->record_dir, why, why_size);
        close(fd);
        return r;
}

void recording_refused(struct jitd *d, const struct jit_grant *g, const char *service, pid_t pid, const char *why)
{
        struct recorder *rec = d->recorder;
        json_object *det;
        int64_t now = now_monotonic_ms();

        log_msg(LOG_ERR, "grant %lld: %s session (pid %d) refused: %s", (long long) g->id, service, (int) pid, why);
        /* One event a minute per grant: a user retrying against a full disk
         * must not fill the audit trail too. */
        if (rec && rec->refused_grant == g->id && now - rec->refused_ms < 60000)
                return;
        if (rec) {
                rec->refused_grant = g->id;
                rec->refused_ms = now;
        }
        det = json_object_new_object();
        if (!det)
                return;
        json_object_object_add(det, "service", json_object_new_string(service));
        json_object_object_add(det, "pid", json_object_new_int64(pid));
        json_object_object_add(det, "why", json_object_new_string(why));
        audit_event(d, g, "recording-failed", det);
        json_object_put(det);
}

/* The sealer. */

static void queue_add(struct recorder *r, int64_t id)
{
        for (size_t i = 0; i < r->n_queue; i++)
                if (r->queue[i] == id)
                        return;
        if (r->job && r->cur.id == id)
                return;
        if (array_reserve((void **) &r->queue, &r->cap_queue, r->n_queue, sizeof(*r->queue)) < 0) {
                log_msg(LOG_ERR, "recording %lld: out of memory; it is sealed at the next start", (long long) id);
                return;
        }
        r->queue[r->n_queue++] = id;
        if (!r->retry_at_ms)
                (void) sd_event_source_set_enabled(r->work, SD_EVENT_ONESHOT);
}

static int queue_cb(const struct jit_recording *x, void *userdata)
{
        queue_add(userdata, x->id);
        return 0;
}

struct session_match {
        struct recorder *r;
        int64_t session_id;
};

static int session_cb(const struct jit_recording *x, void *userdata)
{
        struct session_match *m = userdata;

        if (x->session_id == m->session_id)
                queue_add(m->r, x->id);
        return 0;
}

void recording_session_closed(struct jitd *d, int64_t session_id)
{
        struct session_match m = { .r = d->recorder, .session_id = session_id };

        if (!d->recorder || session_id <= 0)
                return;
        if (store_recording_foreach(d->store, 0, true, session_cb, &m) < 0)
                log_msg(LOG_WARNING, "session %lld: cannot look up its recordings: %s; they are sealed when the grant "
                        "ends", (long long) session_id, store_last_error(d->store));
}

void recording_seal_soon(struct jitd *d, int64_t recording_id)
{
        if (d->recorder)
                queue_add(d->recorder, recording_id);
}

void recording_resume(struct jitd *d)
{
        if (d->recorder && store_recording_foreach(d->store, 0, true, queue_cb, d->recorder) < 0)
                log_msg(LOG_ERR, "cannot read the recordings waiting for their seal: %s", store_last_error(d->store));
}

void recording_grants_ended(struct jitd *d, const int64_t *ids, size_t n)
{
        struct recorder *r = d->recorder;

        if (!r)
                return;
        for (size_t i = 0; i < n; i++) {
                if (array_reserve((void **) &r->settles, &r->cap_settles, r->n_settles, sizeof(*r->settles)) < 0)
                        break;
                r->settles[r->n_settles++] = (struct settle) {
                        .grant_id = ids[i], .due_ms = now_monotonic_ms() + RECORDING_SETTLE_MS + 100 };
        }
        timer_arm(r);
}

/* Every recording under <grant>/sudo (three levels of two base-36 digits)
 * and <grant>/ssh gets its row. */
static bool seq_name(const char *s)
{
        return strlen(s) == 2 && seq_digit(s[0]) >= 0 && seq_digit(s[1]) >= 0;
}

static void scan_level(struct jitd *d, int64_t grant_id, int fd, const char *prefix, int depth, const char *kind,
                       unsigned *budget)
{
        DIR *dir = fdopendir(fd);
        struct dirent *e;

        if (!dir) {
                close(fd);
                return;
        }
        while (*budget > 0 && (e = readdir(dir))) {
                char path[RECORDING_PATH_MAX + 1];

                if (e->d_name[0] == '.')
                        continue;
                (*budget)--;
                if (snprintf(path, sizeof(path), "%s/%s", prefix, e->d_name) >= (int) sizeof(path))
                        continue;
                if (strcmp(kind, "sudo") == 0 && !seq_name(e->d_name))
                        continue;
                if (depth > 1) {
                        int sub = openat(dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                        if (sub >= 0)
                                scan_level(d, grant_id, sub, path, depth - 1, kind, budget);
                        continue;
                }
                {
                        struct jit_recording x = { .grant_id = grant_id, .found_at = now_realtime() };

                        snprintf(x.kind, sizeof(x.kind), "%s", kind);
                        snprintf(x.path, sizeof(x.path), "%s", path);
                        if (store_recording_add(d->store, &x) < 0)
                                log_msg(LOG_WARNING, "grant %lld: cannot note the recording %s: %s",
                                        (long long) grant_id, path, store_last_error(d->store));
                }
        }
        closedir(dir);
}

static void scan_grant(struct jitd *d, int64_t grant_id)
{
        char why[256], sub[64], prefix[64];
        unsigned budget = SCAN_MAX;
        int dfd, fd;

        if (open_record_dir(d->config->record_dir, &dfd, why, sizeof(why)) < 0)
                return;
        snprintf(sub, sizeof(sub), "%" PRId64 "/sudo", grant_id);
        fd = openat(dfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
                scan_level(d, grant_id, fd, sub, 3, "sudo", &budget);
        snprintf(prefix, sizeof(prefix), "%" PRId64 "/ssh", grant_id);
        fd = openat(dfd, prefix, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
                scan_level(d, grant_id, fd, prefix, 1, "tlog", &budget);
        close(dfd);
}

/* Ready to seal: sudo closed it, or its grant ended long enough ago that
 * nothing will write it again. *ret_complete: sudo closed it. */
static bool ready(struct jitd *d, int dfd, const struct jit_recording *x, bool *ret_complete)
{
        struct jit_grant g;
        struct stat st;
        char p[RECORDING_PATH_MAX + 16];

        *ret_complete = false;
        if (strcmp(x->kind, "sudo") == 0) {
                snprintf(p, sizeof(p), "%s/timing", x->path);
                if (fstatat(dfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && !(st.st_mode & 0222)) {
                        *ret_complete = true;
                        return true;
                }
        } else if (is_writing(d->recorder, x->id)) {
                return false;           /* its pipe is open: more may come */
        } else if (x->session_id > 0) {
                struct jit_session s;

                if (store_session_get(d->store, x->session_id, &s) >= 0 && s.closed_at > 0) {
                        *ret_complete = true;
                        return true;
                }
        }
        if (grant_now(d, x->grant_id, &g) < 0)
                return true;            /* no grant: nothing will write it */
        return !grant_state_is_open(g.state) && g.ended_at > 0 &&
               (now_realtime() - g.ended_at) * 1000 >= RECORDING_SETTLE_MS;
}

static void job_drop(struct recorder *r)
{
        rechash_free(r->job);
        r->job = NULL;
        r->have_result = false;
        r->retry_ms = 0;
        r->retry_at_ms = 0;
}

static int commit_seal(struct recorder *r)
{
        struct jitd *d = r->d;
        json_object *det = json_object_new_object();
        struct change c = {};
        int k;

        if (!det)
                return -ENOMEM;
        if (grant_now(d, r->cur.grant_id, &c.next) < 0)
                c.next.id = r->cur.grant_id;
        json_object_object_add(det, "recording", json_object_new_int64(r->cur.id));
        json_object_object_add(det, "session", json_object_new_int64(r->cur.session_id));
        json_object_object_add(det, "kind", json_object_new_string(r->cur.kind));
        json_object_object_add(det, "path", json_object_new_string(r->cur.path));
        json_object_object_add(det, "size", json_object_new_int64((int64_t) r->size));
        json_object_object_add(det, "sha256", json_object_new_string(r->hex));
        json_object_object_add(det, "complete", json_object_new_boolean(r->cur_complete));
        k = change_add_event(&c, "recorded", &actor_jitd, now_realtime(),
                             json_object_to_json_string_ext(det, JSON_C_TO_STRING_PLAIN));
        json_object_put(det);
        if (k < 0)
                return k;
        k = store_begin(d->store);
        if (k >= 0) {
                k = store_recording_seal(d->store, r->cur.id, now_realtime(), r->size, r->hex);
                if (k >= 0)
                        k = change_write_events(d, &c);
                if (k >= 0)
                        k = store_commit(d->store);
                if (k < 0)
                        store_rollback(d->store);
        }
        if (k >= 0)
                change_log(&c);
        change_done(&c);
        return k;
}

static void on_result(struct recorder *r)
{
        int k = commit_seal(r);

        if (k >= 0 || k == -EALREADY) {
                if (k >= 0)
                        log_msg(LOG_INFO, "grant %lld: recording %s sealed (%" PRIu64 " bytes, sha256 %s)",
                                (long long) r->cur.grant_id, r->cur.path, r->size, r->hex);
                job_drop(r);
                return;
        }
        /* The database refused (busy, full): the hash stands, the record
         * waits, with backoff. */
        if (!r->retry_ms)
                log_msg(LOG_WARNING, "recording %s: its seal cannot be recorded yet: %s; retrying", r->cur.path,
                        store_last_error(r->d->store));
        r->retry_ms = r->retry_ms ? r->retry_ms * 2 : RETRY_FIRST_MS;
        if (r->retry_ms > RETRY_MAX_MS)
                r->retry_ms = RETRY_MAX_MS;
        r->retry_at_ms = now_monotonic_ms() + r->retry_ms;
        timer_arm(r);
}

static void start_next(struct recorder *r)
{
        struct jitd *d = r->d;
        char why[256];
        int dfd, k;

        while (!r->job && r->n_queue) {
                int64_t id = r->queue[0];

                memmove(r->queue, r->queue + 1, (r->n_queue - 1) * sizeof(*r->queue));
                r->n_queue--;
                if (store_recording_get(d->store, id, &r->cur) < 0 || r->cur.sealed_at || r->cur.pruned_at)
                        continue;
                if (open_record_dir(d->config->record_dir, &dfd, why, sizeof(why)) < 0) {
                        log_msg(LOG_ERR, "recording %s cannot be sealed: %s", r->cur.path, why);
                        continue;
                }
                if (!ready(d, dfd, &r->cur, &r->cur_complete)) {
                        close(dfd);
                        continue;       /* its close or its grant's end brings it back */
                }
                k = rechash_open(dfd, r->cur.path, &r->job);
                close(dfd);
                if (k < 0)
                        log_msg(LOG_ERR, "grant %lld: recording %s cannot be read to seal it: %s",
                                (long long) r->cur.grant_id, r->cur.path, strerror(-k));
        }
}

static int on_work(sd_event_source *s, void *userdata)
{
        struct recorder *r = userdata;
        int k;

        (void) s;
        if (r->retry_at_ms)
                return 0;               /* the timer brings us back */
        if (!r->job)
                start_next(r);
        if (!r->job)
                return 0;
        if (!r->have_result) {
                k = rechash_step(r->job, RECORDING_STEP_BYTES);
                if (k < 0) {
                        log_msg(LOG_ERR, "grant %lld: reading recording %s to seal it: %s", (long long) r->cur.grant_id,
                                r->cur.path, strerror(-k));
                        job_drop(r);
                } else if (k == 0 && rechash_result(r->job, r->hex, &r->size) == 0) {
                        r->have_result = true;
                        on_result(r);
                }
        } else {
                on_result(r);
        }
        if (!r->retry_at_ms && (r->job || r->n_queue))
                (void) sd_event_source_set_enabled(r->work, SD_EVENT_ONESHOT);
        return 0;
}

/* Timer: settled grants are scanned and sealed, a refused seal is tried
 * again, retention runs. */
static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct recorder *r = userdata;
        struct jitd *d = r->d;
        int64_t now = now_monotonic_ms();

        (void) s;
        (void) usec;
        for (size_t i = 0; i < r->n_settles;) {
                if (r->settles[i].due_ms > now) {
                        i++;
                        continue;
                }
                scan_grant(d, r->settles[i].grant_id);
                if (store_recording_foreach(d->store, r->settles[i].grant_id, true, queue_cb, r) < 0)
                        log_msg(LOG_WARNING, "grant %lld: cannot read its recordings: %s", (long long) r->settles[i].grant_id,
                                store_last_error(d->store));
                r->settles[i] = r->settles[--r->n_settles];
        }
        if (r->retry_at_ms && r->retry_at_ms <= now) {
                r->retry_at_ms = 0;
                (void) sd_event_source_set_enabled(r->work, SD_EVENT_ONESHOT);
        }
        if (r->next_prune_ms <= now) {
                int n = recording_prune(d, now_realtime(), PRUNE_BATCH);

                /* A full batch: more are due, soon; otherwise after half
                 * the retention, at most an hour. */
                r->next_prune_ms = now + (n >= PRUNE_BATCH ? 1000 : prune_every_ms(d));
        }
        timer_arm(r);
        return 0;
}

static void timer_arm(struct recorder *r)
{
        int64_t next = r->next_prune_ms, now = now_monotonic_ms();

        for (size_t i = 0; i < r->n_settles; i++)
                if (r->settles[i].due_ms < next)
                        next = r->settles[i].due_ms;
        if (r->retry_at_ms && r->retry_at_ms < next)
                next = r->retry_at_ms;
        if (next < now)
                next = now;
        (void) sd_event_source_set_time(r->timer, (uint64_t) next * 1000);
        (void) sd_event_source_set_enabled(r->timer, SD_EVENT_ONESHOT);
}

/* Retention. */

static int remove_tree(int dfd, const char *path, int depth)
{
        int fd, k = 0;
        DIR *dir;
        struct dirent *e;

        if (unlinkat(dfd, path, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR && errno != EPERM)
                return -errno;
        if (depth == 0)
                return -ELOOP;
        fd = openat(dfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        dir = fdopendir(fd);
        if (!dir) {
                close(fd);
                return -ENOMEM;
        }
        while ((e = readdir(dir)))
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && k == 0)
                        k = remove_tree(dirfd(dir), e->d_name, depth - 1);
        closedir(dir);
        if (k == 0 && unlinkat(dfd, path, AT_REMOVEDIR) < 0 && errno != ENOENT)
                k = -errno;
        return k;
}

/* The directories above a pruned recording that nothing else uses now. */
static void remove_empty_parents(int dfd, const char *path)
{
        char p[RECORDING_PATH_MAX + 1], *slash;

        snprintf(p, sizeof(p), "%s", path);
        while ((slash = strrchr(p, '/'))) {
                *slash = '\0';
                if (unlinkat(dfd, p, AT_REMOVEDIR) < 0)
                        break;
        }
}

struct prune_list {
        struct jit_recording *v;
        size_t n, cap;
};

static int prune_cb(const struct jit_recording *x, void *userdata)
{
        struct prune_list *l = userdata;

        if (array_reserve((void **) &l->v, &l->cap, l->n, sizeof(*l->v)) < 0)
                return -ENOMEM;
        l->v[l->n++] = *x;
        return 0;
}

int recording_prune(struct jitd *d, int64_t now, size_t limit)
{
        struct prune_list l = {};
        char why[256];
        int dfd, k, n = 0;

        if (d->config->record_retention == 0)
                return 0;
        k = store_recording_foreach_expired(d->store, now - (int64_t) d->config->record_retention, (int64_t) limit,
                                            prune_cb, &l);
        if (k < 0 || l.n == 0) {
                free(l.v);
                return k < 0 ? k : 0;
        }
        if (open_record_dir(d->config->record_dir, &dfd, why, sizeof(why)) < 0) {
                log_msg(LOG_ERR, "retention: %s", why);
                free(l.v);
                return -EPERM;
        }
        for (size_t i = 0; i < l.n; i++) {
                const struct jit_recording *x = &l.v[i];
                json_object *det;
                struct jit_grant g = { .id = x->grant_id };

                k = remove_tree(dfd, x->path, 4);
                if (k < 0) {
                        log_msg(LOG_ERR, "retention: cannot remove recording %s: %s", x->path, strerror(-k));
                        continue;
                }
                remove_empty_parents(dfd, x->path);
                (void) grant_now(d, x->grant_id, &g);
                det = json_object_new_object();
                if (!det)
                        continue;
                json_object_object_add(det, "recording", json_object_new_int64(x->id));
                json_object_object_add(det, "path", json_object_new_string(x->path));
                json_object_object_add(det, "sha256", json_object_new_string(x->hash));
                json_object_object_add(det, "sealed_at", json_object_new_int64(x->sealed_at));
                if (store_recording_pruned(d->store, x->id, now) < 0)
                        log_msg(LOG_ERR, "retention: recording %s removed, but its row: %s", x->path,
                                store_last_error(d->store));
                audit_event(d, &g, "recording-pruned", det);
                json_object_put(det);
                n++;
        }
        close(dfd);
        free(l.v);
        return n;
}

int recorder_new(struct jitd *d, struct recorder **ret)
{
        struct recorder *r = calloc(1, sizeof(*r));
        int k;

        if (!r)
                return -ENOMEM;
        r->d = d;
        r->next_prune_ms = now_monotonic_ms() + (prune_every_ms(d) < PRUNE_FIRST_MS ? prune_every_ms(d) : PRUNE_FIRST_MS);
        k = sd_event_add_defer(d->event, &r->work, on_work, r);
        if (k >= 0)
                k = sd_event_source_set_enabled(r->work, SD_EVENT_OFF);
        if (k >= 0)
                k = sd_event_add_time(d->event, &r->timer, CLOCK_MONOTONIC, (uint64_t) r->next_prune_ms * 1000,
                                      100000, on_timer, r);
        if (k < 0) {
                recorder_free(r);
                return k;
        }
        *ret = r;
        return 0;
}

void recorder_free(struct recorder *r)
{
        if (!r)
                return;
        sd_event_source_disable_unref(r->work);
        sd_event_source_disable_unref(r->timer);
        rechash_free(r->job);
        free(r->queue);
        free(r->settles);
        free(r->writing);
        free(r);
}

size_t recording_pending(const struct recorder *r)
{
        return r ? r->n_queue + (r->job ? 1 : 0) + r->n_settles : 0;
}
