/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `jitctl ssh-session`: sshd's ForceCommand for users of roles that gate
 * sshd and record (jitd.conf(5) record). Run as the user who logged in.
 *
 * It asks jitd whether this ssh session is under a recorded grant, passing
 * the read end of a pipe along (SCM_RIGHTS). Not recorded: the user's shell
 * runs as sshd would have run it (the command the client asked for, or a
 * login shell). Recorded: tlog-rec runs the shell, writing its recording to
 * the pipe, whose other end jitd holds and appends to a root-only file: what
 * jitd has read the user can no longer change. jitd unreachable, or a
 * recording it cannot make: nothing runs (exit 1), one line says why.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"
#include "config.h"
#include "util.h"

#define TLOG_REC "/usr/bin/tlog-rec"

static int run_shell(const char *shell, const char *cmd)
{
        char argv0[PATH_MAX + 2];
        const char *base = strrchr(shell, '/');

        if (cmd) {
                execl(shell, shell, "-c", cmd, (char *) NULL);
        } else {
                /* A login shell, as sshd starts it: argv[0] "-bash". */
                snprintf(argv0, sizeof(argv0), "-%s", base ? base + 1 : shell);
                execl(shell, argv0, (char *) NULL);
        }
        fprintf(stderr, "jitctl: cannot run %s: %s\n", shell, strerror(errno));
        return CMD_E_FAILED;
}

int cmd_ssh_session(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        struct jitctl_args a;
        struct proto_msg req, rep;
        struct passwd *pw;
        const char *cmd = getenv("SSH_ORIGINAL_COMMAND");
        char shell[PATH_MAX], fdpath[64], input[32];
        int64_t deadline;
        uint64_t mode = 0;
        int p[2], fd = -1, r;

        r = jitctl_parse_args(ctx, v, argc, argv, &a);
        if (r != 0)
                return r > 0 ? 0 : r;
        errno = 0;
        pw = getpwuid(getuid());
        if (!pw || !pw->pw_shell || pw->pw_shell[0] != '/') {
                jitctl_say(ctx, "cannot find your login shell");
                return CMD_E_FAILED;
        }
        snprintf(shell, sizeof(shell), "%s", pw->pw_shell);
        if (pipe2(p, O_CLOEXEC) < 0) {
                jitctl_say(ctx, "cannot make the recording pipe: %s", strerror(errno));
                return CMD_E_FAILED;
        }
        deadline = now_monotonic_ms() + ctx->timeout_ms;
        proto_init(&req, PROTO_REQ_SSH_RECORD);
        /* The command asked for, for the audit trail: tlog records what it
         * printed, not what it was. Cut to what the field holds. */
        if (cmd) {
                char line[JIT_REASON_MAX + 1];

                snprintf(line, sizeof(line), "%s", cmd);
                for (char *c = line; *c; c++)
                        if ((unsigned char) *c < 0x20 || *c == 0x7f)
                                *c = ' ';
                if (proto_set_str(&req, PF_REASON, line) < 0)
                        (void) proto_set_str(&req, PF_REASON, "(a command jitd cannot carry: not UTF-8 text)");
        }
        r = client_connect(ctx->socket, deadline, &fd);
        if (r >= 0)
                r = client_send_fd(fd, &req, deadline, p[0]);
        if (r >= 0)
                r = client_recv(fd, &rep, deadline);
        if (fd >= 0)
                close(fd);
        close(p[0]);
        if (r < 0) {
                close(p[1]);
                return jitctl_report_transport(ctx, r);
        }
        r = jitctl_check_reply(ctx, &rep, PROTO_REP_OK);
        if (r < 0) {
                close(p[1]);
                return r;
        }
        (void) proto_get_u64(&rep, PF_COUNT, &mode);
        if (mode == RECORD_NONE) {
                close(p[1]);
                return run_shell(shell, cmd);
        }
        /* tlog-rec opens /dev/fd/N itself: N must survive exec. */
        if (fcntl(p[1], F_SETFD, 0) < 0) {
                jitctl_say(ctx, "cannot hand the recording pipe to tlog: %s", strerror(errno));
                close(p[1]);
                return CMD_E_FAILED;
        }
        snprintf(fdpath, sizeof(fdpath), "--file-path=/dev/fd/%d", p[1]);
        /* Input is logged from a terminal only: tlog-rec logging a plain
         * stdin (ssh host CMD) ends the session at its first EOF, before
         * the command has run. The command itself goes to jitd above. */
        snprintf(input, sizeof(input), "--log-input=%s", mode == RECORD_ALL && isatty(STDIN_FILENO) ? "true" : "false");
        fflush(NULL);
        if (cmd)
                execl(TLOG_REC, TLOG_REC, "--writer=file", fdpath, input, "--log-output=true", "--", shell, "-c", cmd,
                      (char *) NULL);
        else
                execl(TLOG_REC, TLOG_REC, "--writer=file", fdpath, input, "--log-output=true", "--", shell, "-l",
                      (char *) NULL);
        jitctl_say(ctx, "this session is recorded, and %s cannot run: %s", TLOG_REC, strerror(errno));
        close(p[1]);
        return CMD_E_FAILED;
}
