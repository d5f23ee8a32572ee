/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Recordings on the wire: the list of a grant's recordings (whoever may see
 * the grant), and replay (admins, and the approvers of the grant's role who
 * are not its user). The recordings are root's, 0600 in 0700 directories:
 * replay hands the client an open descriptor of each file (SCM_RIGHTS), so
 * that an admin who is not root reads exactly what jitd authorised, and
 * nothing else under record_dir. Every replay is an audit event.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conn.h"
#include "ending.h"
#include "handlers_record.h"
#include "log.h"
#include "rechash.h"
#include "record.h"
#include "recording.h"
#include "recording_ssh.h"
#include "store_record.h"

/* A grant's recordings listed at most: each is one reply message. */
#define LIST_MAX 500

struct rec_list {
        struct jit_recording *v;
        size_t n, cap;
};

static int collect(const struct jit_recording *x, void *userdata)
{
        struct rec_list *l = userdata;

        if (array_reserve((void **) &l->v, &l->cap, l->n, sizeof(*l->v)) < 0)
                return -ENOMEM;
        l->v[l->n++] = *x;
        return 0;
}

static json_object *recording_json(struct jitd *d, const struct jit_recording *x, size_t n)
{
        json_object *o = json_object_new_object();
        struct jit_session s;

        if (!o)
                return NULL;
        json_object_object_add(o, "n", json_object_new_int64((int64_t) n));
        json_object_object_add(o, "session", json_object_new_int64(x->session_id));
        json_object_object_add(o, "kind", json_object_new_string(x->kind));
        json_object_object_add(o, "path", json_object_new_string(x->path));
        json_object_object_add(o, "found_at", json_object_new_int64(x->found_at));
        if (x->sealed_at) {
                json_object_object_add(o, "sealed_at", json_object_new_int64(x->sealed_at));
                json_object_object_add(o, "size", json_object_new_int64((int64_t) x->size));
                json_object_object_add(o, "sha256", json_object_new_string(x->hash));
        }
        if (x->pruned_at)
                json_object_object_add(o, "pruned_at", json_object_new_int64(x->pruned_at));
        if (x->session_id > 0 && store_session_get(d->store, x->session_id, &s) >= 0) {
                json_object_object_add(o, "service", json_object_new_string(s.service));
                json_object_object_add(o, "tty", json_object_new_string(s.tty));
                json_object_object_add(o, "opened_at", json_object_new_int64(s.opened_at));
                if (s.closed_at)
                        json_object_object_add(o, "closed_at", json_object_new_int64(s.closed_at));
        }
        return o;
}

static int load(struct request *req, struct jit_grant *g, struct rec_list *l)
{
        int64_t id;
        int r;

        if (!request_get_id(req, &id))
                return HANDLED;
        if (!request_load_grant(req, id, g, &r))
                return r;
        r = store_recording_foreach(req->d->store, g->id, false, collect, l);
        if (r < 0)
                return reply_store_failure(req, r, "reading the grant's recordings");
        return 1;
}

int handle_recordings(struct request *req)
{
        struct rec_list l = {};
        struct jit_grant g;
        struct proto_msg m;
        int r = load(req, &g, &l);

        if (r <= 0) {
                free(l.v);
                return r;
        }
        for (size_t i = 0; i < l.n && i < LIST_MAX; i++) {
                json_object *o = recording_json(req->d, &l.v[i], i + 1);

                if (!o)
                        break;
                proto_init(&m, PROTO_REP_EVENT);
                proto_set_u64(&m, PF_ID, (uint64_t) g.id);
                proto_set_str(&m, PF_DETAILS, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
                json_object_put(o);
                if (reply_msg(req, &m) < 0)
                        break;
        }
        proto_init(&m, PROTO_REP_END);
        proto_set_u64(&m, PF_COUNT, l.n);
        reply_msg(req, &m);
        free(l.v);
        return HANDLED;
}

static bool may_replay(struct request *req, const struct jit_grant *g)
{
        const struct role *role = config_find_role(req->d->config, g->role);

        if (policy_is_admin(req->d->config, req->peer))
                return true;
        return role && req->peer && strcmp(req->peer->name, g->user) != 0 && policy_is_approver(role, req->peer);
}

static void audit_replay(struct request *req, const struct jit_grant *g, const struct jit_recording *x)
{
        struct actor a = request_actor(req);
        json_object *det = json_object_new_object();
        struct change c = {};
        int r;

        if (!det)
                return;
        json_object_object_add(det, "recording", json_object_new_int64(x->id));
        json_object_object_add(det, "path", json_object_new_string(x->path));
        c.next = *g;
        r = change_add_event(&c, "recording-replayed", &a, now_realtime(),
                             json_object_to_json_string_ext(det, JSON_C_TO_STRING_PLAIN));
        json_object_put(det);
        if (r >= 0)
                r = ending_record_sessions(req->d, NULL, 0, &c, 1);
        if (r < 0)
                log_msg(LOG_ERR, "grant %lld: cannot keep the audit event recording-replayed: %s", (long long) g->id,
                        strerror(-r));
        change_done(&c);
}

/* The recording's plain files, sorted, opened for reading: fds[i] names[i]. */
static int open_files(const char *record_dir, const char *path, int *fds, char (*names)[256], size_t *ret_n)
{
        struct stat st;
        int dfd, fd, r = 0;
        size_t n = 0;
        DIR *dir;
        struct dirent *e;

        dfd = open(record_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        if (fstat(dfd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 077)) {
                close(dfd);
                return -EPERM;
        }
        fd = openat(dfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        close(dfd);
        if (fd < 0)
                return errno == ELOOP ? -EBADMSG : -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        if (S_ISREG(st.st_mode)) {
                const char *base = strrchr(path, '/');

                fds[0] = fd;
                snprintf(names[0], sizeof(names[0]), "%s", base ? base + 1 : path);
                *ret_n = 1;
                return 0;
        }
        dir = fdopendir(fd);
        if (!dir) {
                close(fd);
                return -ENOMEM;
        }
        while (r == 0 && (e = readdir(dir))) {
                if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
                        continue;
                if (n >= RECHASH_FILES_MAX || strlen(e->d_name) >= sizeof(names[0])) {
                        r = -EBADMSG;
                        break;
                }
                fds[n] = openat(dirfd(dir), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
                if (fds[n] < 0) {
                        r = errno == ELOOP ? -EBADMSG : -errno;
                        break;
                }
                if (fstat(fds[n], &st) < 0 || !S_ISREG(st.st_mode)) {
                        close(fds[n]);
                        r = -EBADMSG;
                        break;
                }
                snprintf(names[n], sizeof(names[n]), "%s", e->d_name);
                n++;
        }
        closedir(dir);
        if (r < 0) {
                while (n)
                        close(fds[--n]);
                return r;
        }
        *ret_n = n;
        return 0;
}

int handle_replay(struct request *req)
{
        struct rec_list l = {};
        struct jit_grant g;
        struct proto_msg m;
        const struct jit_recording *x;
        int fds[RECHASH_FILES_MAX];
        char names[RECHASH_FILES_MAX][256];
        uint64_t want = 0;
        size_t n_files = 0, pick;
        json_object *o;
        int r = load(req, &g, &l);

        if (r <= 0) {
                free(l.v);
                return r;
        }
        if (!may_replay(req, &g)) {
                free(l.v);
                log_msg(LOG_WARNING, "%s asked to replay grant %lld's recordings: refused (admins and the role's "
                        "approvers only, never the grant's user)", req->peer ? req->peer->name : "?", (long long) g.id);
                return reply_error(req, EPERM, "recordings are replayed by admins and by the approvers of role %s "
                                   "(not by the grant's own user)", g.role), HANDLED;
        }
        if (l.n == 0) {
                free(l.v);
                return reply_error(req, ENOENT, "grant %lld has no recording", (long long) g.id), HANDLED;
        }
        (void) proto_get_u64(req->msg, PF_COUNT, &want);
        if (want > l.n) {
                reply_error(req, ENOENT, "grant %lld has %zu recording%s; there is no session %llu", (long long) g.id,
                            l.n, l.n == 1 ? "" : "s", (unsigned long long) want);
                free(l.v);
                return HANDLED;
        }
        pick = want ? (size_t) want - 1 : l.n - 1;
        x = &l.v[pick];
        if (x->pruned_at) {
                reply_error(req, ENOENT, "session %zu of grant %lld was pruned at the end of its retention",
                            pick + 1, (long long) g.id);
                free(l.v);
                return HANDLED;
        }
        r = open_files(req->d->config->record_dir, x->path, fds, names, &n_files);
        if (r < 0) {
                reply_error(req, r == -ENOENT ? ENOENT : EIO, "recording %s cannot be opened: %s", x->path,
                            r == -EBADMSG ? "it holds something that is not a plain file" : strerror(-r));
                free(l.v);
                return HANDLED;
        }
        audit_replay(req, &g, x);
        o = recording_json(req->d, x, pick + 1);
        proto_init(&m, PROTO_REP_OK);
        proto_set_u64(&m, PF_ID, (uint64_t) g.id);
        proto_set_u64(&m, PF_COUNT, n_files);
        if (o)
                proto_set_str(&m, PF_DETAILS, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        reply_msg(req, &m);
        for (size_t i = 0; i < n_files; i++) {
                json_object *f = json_object_new_object();

                proto_init(&m, PROTO_REP_EVENT);
                if (f) {
                        json_object_object_add(f, "name", json_object_new_string(names[i]));
                        proto_set_str(&m, PF_DETAILS, json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN));
                        json_object_put(f);
                }
                (void) conn_send_fd(req->conn, &m, fds[i]);
        }
        proto_init(&m, PROTO_REP_END);
        proto_set_u64(&m, PF_COUNT, n_files);
        reply_msg(req, &m);
        free(l.v);
        return HANDLED;
}

int handle_ssh_record(struct request *req)
{
        struct proto_msg m;
        enum record_mode mode = RECORD_NONE;
        char why[256] = "";
        int fd = conn_take_fd(req->conn), r;

        r = recording_ssh_start(req->d, req->cred.pid, req->cred.uid, fd, proto_get_str(req->msg, PF_REASON), &mode,
                                why, sizeof(why));
        if (r != 1 && fd >= 0)
                close(fd);
        if (r < 0)
                return reply_error(req, EPERM, "jit: this ssh session is recorded, and its recording cannot be made "
                                   "(%s); refused", why), HANDLED;
        proto_init(&m, PROTO_REP_OK);
        proto_set_u64(&m, PF_COUNT, (uint64_t) (r == 1 ? mode : RECORD_NONE));
        reply_msg(req, &m);
        return HANDLED;
}
