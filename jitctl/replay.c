/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Recordings: the list under `jitctl show`, and `jitctl replay`.
 *
 * The recordings are root's (0600 files in 0700 directories). jitd decides
 * who may replay one (admins, and approvers of the grant's role who are not
 * its user) and hands over an open descriptor of each of its files; jitctl
 * copies them into a private directory (0700, removed afterwards), checks
 * them against the seal in the audit chain, and only then runs the player
 * on the copy: sudoreplay(8) for sudo's I/O logs, tlog-play(8) for tlog.
 * An altered recording is not played: it is reported, exit status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client.h"
#include "commands.h"
#include "output.h"
#include "rechash.h"
#include "util.h"

#define say jitctl_say

#define SUDOREPLAY "/usr/bin/sudoreplay"
#define TLOG_PLAY  "/usr/bin/tlog-play"

static const char *str_of(json_object *o, const char *key)
{
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
               json_object_get_string(v) : NULL;
}

static int64_t int_of(json_object *o, const char *key)
{
        json_object *v;

        return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static void local_time(int64_t t, char *buf, size_t size)
{
        time_t tt = (time_t) t;
        struct tm tm;

        if (t <= 0 || !localtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, size, "-");
}

struct show_walk {
        json_object *arr;
        size_t n;
};

static int show_cb(const struct proto_msg *m, void *userdata)
{
        struct show_walk *w = userdata;
        const char *d = proto_get_str(m, PF_DETAILS);
        json_object *o = d ? json_tokener_parse(d) : NULL;

        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return 0;
        }
        json_object_array_add(w->arr, o);
        w->n++;
        return 0;
}

void jitctl_show_recordings(const struct jitctl_ctx *ctx, int64_t id, json_object *o)
{
        struct jitctl_ctx quiet = *ctx;
        struct show_walk w = { .arr = json_object_new_array() };
        struct proto_msg req;
        char *sink = NULL;
        size_t sink_len = 0;
        FILE *err;

        if (!w.arr)
                return;
        /* A jitd without recordings (an older one) is no error here. */
        err = open_memstream(&sink, &sink_len);
        if (!err) {
                json_object_put(w.arr);
                return;
        }
        quiet.err = err;
        proto_init(&req, PROTO_REQ_RECORDINGS);
        (void) proto_set_u64(&req, PF_ID, (uint64_t) id);
        (void) jitctl_stream(&quiet, &req, PROTO_REP_EVENT, show_cb, &w);
        fclose(err);
        free(sink);
        if (o) {
                json_object_object_add(o, "recordings", w.arr);
                return;
        }
        if (w.n)
                fprintf(ctx->out, "recordings:\n");
        for (size_t i = 0; i < w.n; i++) {
                json_object *x = json_object_array_get_idx(w.arr, i);
                const char *kind = str_of(x, "kind"), *path = str_of(x, "path"), *hash = str_of(x, "sha256");
                const char *service = str_of(x, "service"), *tty = str_of(x, "tty");
                char opened[32];

                local_time(int_of(x, "opened_at") ? int_of(x, "opened_at") : int_of(x, "found_at"), opened,
                           sizeof(opened));
                fprintf(ctx->out, "  session %lld: %s", (long long) int_of(x, "n"), kind ? kind : "?");
                if (int_of(x, "session"))
                        fprintf(ctx->out, " (jitd session %lld%s%s%s%s)", (long long) int_of(x, "session"),
                                service ? ", " : "", service ? service : "", tty && tty[0] ? ", " : "",
                                tty && tty[0] ? tty : "");
                fprintf(ctx->out, ", %s", opened);
                if (int_of(x, "pruned_at"))
                        fprintf(ctx->out, ", pruned");
                else if (hash)
                        fprintf(ctx->out, ", %lld bytes, sealed sha256:%.16s...", (long long) int_of(x, "size"), hash);
                else
                        fprintf(ctx->out, ", not sealed yet");
                fprintf(ctx->out, "  [%s]\n", path ? path : "?");
        }
        json_object_put(w.arr);
}

/* Copy fd's content to name in dfd (0600). */
static int copy_out(int fd, int dfd, const char *name)
{
        char buf[65536];
        int out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        int r = 0;

        if (out < 0)
                return -errno;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        break;
                }
                if (n == 0)
                        break;
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(out, buf + off, (size_t) (n - off));

                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0) {
                                r = -errno;
                                break;
                        }
                        off += w;
                }
                if (r < 0)
                        break;
        }
        if (close(out) < 0 && r == 0)
                r = -errno;
        return r;
}

static void remove_copy(const char *tmp, const char *rec, char (*names)[256], size_t n, bool dir)
{
        char p[600];

        for (size_t i = 0; i < n; i++) {
                snprintf(p, sizeof(p), "%s/%s", dir ? rec : tmp, names[i]);
                (void) unlink(p);
        }
        if (dir)
                (void) rmdir(rec);
        (void) rmdir(tmp);
}

/* quiet_stdin: a player that reads keys from a standard input that is no
 * terminal gets a pipe kept open until it exits (tlog-play spins without
 * playing when its standard input is at end of file). */
static int run_player(const struct jitctl_ctx *ctx, char *const argv[], bool quiet_stdin)
{
        int status = 0, keep[2] = { -1, -1 };
        pid_t pid;

        if (quiet_stdin && !isatty(STDIN_FILENO) && pipe2(keep, O_CLOEXEC) < 0)
                return -errno;
        fflush(ctx->out);
        fflush(ctx->err);
        pid = fork();
        if (pid < 0) {
                int r = -errno;

                if (keep[0] >= 0) {
                        close(keep[0]);
                        close(keep[1]);
                }
                return r;
        }
        if (pid == 0) {
                if (keep[0] >= 0 && dup2(keep[0], STDIN_FILENO) < 0)
                        _exit(127);
                execv(argv[0], argv);
                fprintf(stderr, "jitctl: cannot run %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        if (keep[0] >= 0)
                close(keep[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        status = -1;
                        break;
                }
        if (keep[1] >= 0)
                close(keep[1]);
        return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

int cmd_replay(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        struct jitctl_args a;
        struct proto_msg req, rep;
        char names[RECHASH_FILES_MAX][256];
        char tmp[256], rec[300], hex[RECHASH_HEX_LEN + 1];
        json_object *info = NULL;
        const char *tmpdir = getenv("TMPDIR"), *kind, *seal, *path;
        int64_t deadline;
        size_t n = 0;
        bool dir, got_end = false;
        int fd = -1, dfd = -1, r;

        r = jitctl_parse_args(ctx, v, argc, argv, &a);
        if (r != 0)
                return r > 0 ? 0 : r;
        if (a.fleet_id) {
                /* Recordings are a host's: its copy of the fleet grant has them. */
                say(ctx, "replay takes this host's grant ID: a fleet grant's copy here is listed with its local ID");
                return CMD_E_USAGE;
        }
        proto_init(&req, PROTO_REQ_REPLAY);
        if (proto_set_u64(&req, PF_ID, (uint64_t) a.id) < 0 ||
            (a.session && proto_set_u64(&req, PF_COUNT, (uint64_t) a.session) < 0))
                return CMD_E_USAGE;
        deadline = now_monotonic_ms() + ctx->timeout_ms;
        r = client_connect(ctx->socket, deadline, &fd);
        if (r >= 0)
                r = client_send(fd, &req, deadline);
        if (r >= 0)
                r = client_recv(fd, &rep, deadline);
        if (r < 0) {
                if (fd >= 0)
                        close(fd);
                return jitctl_report_transport(ctx, r);
        }
        r = jitctl_check_reply(ctx, &rep, PROTO_REP_OK);
        if (r < 0) {
                close(fd);
                return r;
        }
        info = proto_get_str(&rep, PF_DETAILS) ? json_tokener_parse(proto_get_str(&rep, PF_DETAILS)) : NULL;
        kind = info ? str_of(info, "kind") : NULL;
        path = info ? str_of(info, "path") : NULL;
        seal = info ? str_of(info, "sha256") : NULL;
        if (!kind || !path || (strcmp(kind, "sudo") != 0 && strcmp(kind, "tlog") != 0)) {
                say(ctx, "jitd described the recording in a way jitctl cannot read");
                close(fd);
                json_object_put(info);
                return CMD_E_FAILED;
        }
        dir = strcmp(kind, "sudo") == 0;
        snprintf(tmp, sizeof(tmp), "%s/jitctl-replay.XXXXXX", tmpdir && tmpdir[0] == '/' && strlen(tmpdir) < 200 ? tmpdir : "/tmp");
        if (!mkdtemp(tmp)) {
                say(ctx, "cannot make a private directory for the replay: %s", strerror(errno));
                close(fd);
                json_object_put(info);
                return CMD_E_FAILED;
        }
        snprintf(rec, sizeof(rec), "%s/%s", tmp, dir ? "session" : "");
        if (dir && mkdir(rec, 0700) < 0)
                r = -errno;
        if (r >= 0) {
                dfd = open(dir ? rec : tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        r = -errno;
        }
        while (r >= 0 && !got_end) {
                const char *d, *name;
                json_object *f;
                int file = -1;

                r = client_recv_fd(fd, &rep, deadline, &file);
                if (r < 0) {
                        r = jitctl_report_transport(ctx, r);
                        break;
                }
                if (rep.type == PROTO_REP_END) {
                        got_end = true;
                        break;
                }
                if (rep.type != PROTO_REP_EVENT || file < 0 || n >= RECHASH_FILES_MAX) {
                        if (file >= 0)
                                close(file);
                        r = jitctl_check_reply(ctx, &rep, PROTO_REP_EVENT);
                        if (r >= 0) {
                                say(ctx, "jitd sent a file of the recording without its descriptor");
                                r = CMD_E_FAILED;
                        }
                        break;
                }
                d = proto_get_str(&rep, PF_DETAILS);
                f = d ? json_tokener_parse(d) : NULL;
                name = f ? str_of(f, "name") : NULL;
                if (!name || !name[0] || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
                    strlen(name) >= sizeof(names[0])) {
                        say(ctx, "jitd sent a recording file with a name jitctl will not write");
                        r = CMD_E_FAILED;
                } else {
                        snprintf(names[n], sizeof(names[n]), "%s", name);
                        r = copy_out(file, dfd, name);
                        if (r >= 0)
                                n++;
                        else
                                say(ctx, "cannot copy %s of the recording: %s", name, strerror(-r));
                        if (r < 0)
                                r = CMD_E_FAILED;
                }
                json_object_put(f);
                close(file);
        }
        close(fd);
        if (dfd >= 0)
                close(dfd);
        if (r >= 0 && seal) {
                char copy[600];
                uint64_t size = 0;

                snprintf(copy, sizeof(copy), "%s/%s", dir ? rec : tmp, dir ? "" : names[0]);
                if (!dir && n != 1)
                        r = -EBADMSG;
                else
                        r = rechash_path(AT_FDCWD, dir ? rec : copy, hex, &size);
                if (r < 0 || strcmp(hex, seal) != 0) {
                        say(ctx, "session %lld of grant %lld does not match its seal in the audit chain "
                            "(sealed sha256 %s, now %s): it was altered; not replayed", (long long) int_of(info, "n"),
                            (long long) a.id, seal, r < 0 ? strerror(-r) : hex);
                        r = CMD_E_FAILED;
                }
        } else if (r >= 0) {
                fprintf(ctx->err, "jitctl: session %lld of grant %lld is not sealed yet (still running?)\n",
                        (long long) int_of(info, "n"), (long long) a.id);
        }
        if (r >= 0) {
                char *const sudo_argv[] = { (char *) SUDOREPLAY, (char *) "-d", tmp, (char *) "session", NULL };
                char file_arg[600];
                char *const tlog_argv[] = { (char *) TLOG_PLAY, (char *) "-r", (char *) "file", file_arg, NULL };

                snprintf(file_arg, sizeof(file_arg), "--file-path=%s/%s", tmp, n ? names[0] : "");
                if (seal)
                        fprintf(ctx->err, "jitctl: session %lld of grant %lld (%s), sha256 %s matches its seal\n",
                                (long long) int_of(info, "n"), (long long) a.id, path, seal);
                r = run_player(ctx, dir ? sudo_argv : tlog_argv, !dir);
                if (r < 0) {
                        say(ctx, "%s could not play the recording back", dir ? SUDOREPLAY : TLOG_PLAY);
                        r = CMD_E_FAILED;
                }
        }
        remove_copy(tmp, rec, names, n, dir);
        json_object_put(info);
        return r < 0 ? r : 0;
}
