/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ticket helper: the process that talks to the ticket system for jitd
 * (ticket.c starts it; ticket_helper.c is its main loop). jitd runs its own
 * binary again as `jitd --ticket-helper` with the helper's end of a
 * socketpair on fd 3 (TIPC_HELPER_FD) and /dev/null on 0-2. The helper reads
 * CONFIG, drops privileges (ticket_sandbox.c), loads libcurl, builds the
 * engine (ticket_worker.c), installs its seccomp filter, answers READY, and
 * serves LOOKUP, CANCEL and COMMENT until jitd closes the socket.
 */
#ifndef JITD_TICKET_HELPER_H
#define JITD_TICKET_HELPER_H

#include <stddef.h>
#include <sys/types.h>

#define TICKET_HELPER_ARG       "--ticket-helper"
#define TICKET_HELPER_USER      "nobody"        /* helper_user's default */
#define TICKET_TOKEN_MAX        4096
#define TICKET_CA_MAX           (4 * 1024 * 1024)

/* The helper's main(): jitd's main() calls it first thing when argv[1] is
 * TICKET_HELPER_ARG, and exits with what it returns. */
int ticket_helper_main(void);

/* token_file: a regular file owned by root, no access for group or others,
 * one line of printable ASCII up to TICKET_TOKEN_MAX. -EPERM (wrong owner,
 * mode, symbolic link, not a file) or -EINVAL (empty, too long, not one
 * line), why in words. */
int ticket_token_read(const char *path, char **ret, char *why, size_t why_size);

/* Become uid:gid for good: no supplementary groups, no capabilities (the
 * bounding set emptied too), no_new_privs, not dumpable, no core files. */
int ticket_sandbox_drop(uid_t uid, gid_t gid, char *why, size_t why_size);
/* The seccomp filter (ticket_sandbox.c says what it allows): after this the
 * process cannot execute, trace, mount, load modules, change its ids, or open
 * a file for writing. */
int ticket_sandbox_seccomp(char *why, size_t why_size);

#endif
