/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Running OpenSSH's ssh-keygen -Y (SSHSIG signatures), the parts shared by
 * jitctl (which signs: jitctl/sshsig_sign.c) and jitd (which verifies,
 * asynchronously: jitd/sshsig_verify.c). libc only, so jitctl can verify too
 * (sshsig_verify_sync) without linking libsystemd; never linked into
 * pam_jit.so.
 *
 * ssh-keygen is run by absolute path with posix_spawn, never through a shell:
 * an empty signal mask, default signal handling, stdin from a sealed memfd,
 * stdout (and stderr, unless the caller keeps its own) into bounded pipes,
 * the descriptors it is given at 3, 4, ... and nothing else of ours.
 * doc/FLEET-SIGNATURES.md says why ssh-keygen rather than a signature library.
 */
#ifndef JIT_SSHSIG_H
#define JIT_SSHSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SSHSIG_PROGRAM            "/usr/bin/ssh-keygen"
#define SSHSIG_OUTPUT_MAX         (16 * 1024)   /* of stdout, and of stderr, per run */
#define SSHSIG_ARMOR_MAX          (16 * 1024)   /* an armored signature */
#define SSHSIG_TEXT_MAX           (64 * 1024)   /* a signed text */
#define SSHSIG_SIGNERS_MAX        (1024 * 1024) /* an allowed_signers file */
#define SSHSIG_PRINCIPAL_MAX      255
#define SSHSIG_VERIFY_TIMEOUT_MS  5000

/* What a verification found out. */
struct sshsig_result {
        char key_type[32];      /* on success: ssh-keygen's name of it, "ED25519", "ECDSA", "ED25519-SK" */
        char fingerprint[64];   /* on success: "SHA256:..." of the signing key, for the audit trail */
        char detail[256];       /* on failure: why, in one line of plain text */
};

/* Tests only: run path instead of SSHSIG_PROGRAM (a stand-in that sleeps or
 * misbehaves); NULL goes back. The string must outlive its use. Nothing in
 * jitd or jitctl calls it: the program is not configurable. */
void sshsig_set_program(const char *path);
const char *sshsig_program(void);

/* Is s exactly one armored SSHSIG block as ssh-keygen writes it:
 * "-----BEGIN SSH SIGNATURE-----\n", lines of base64 starting with the
 * SSHSIG magic, "-----END SSH SIGNATURE-----\n", nothing before or after,
 * at most SSHSIG_ARMOR_MAX bytes? 0 or -EBADMSG. */
int sshsig_armored_check(const char *s);

/* A principal to look up in allowed_signers (ssh-keygen -I): 1 to
 * SSHSIG_PRINCIPAL_MAX bytes of [A-Za-z0-9._@+$-], so a login name or an
 * e-mail address, and never one of ssh's pattern characters (* ? ! ,). */
bool sshsig_principal_ok(const char *s);

/*
 * Opens the allowed_signers file at path for a verification: its directory
 * and the file itself opened without following a symlink, and both owned by
 * root and not writable by group or others, the file regular, of one link
 * and at most SSHSIG_SIGNERS_MAX bytes. Its content must then keep the rules
 * doc/FLEET-SIGNATURES.md gives: every key line limited to this namespace
 * with namespaces="...,pam-jit-approval,..." (a literal entry, not a
 * pattern), and principal patterns (* ?) only on cert-authority lines. With
 * principal, that principal must be listed by name (or a cert-authority line
 * must be there to vouch for it).
 *
 * On success *ret_fd is a sealed memfd holding the very bytes that were
 * checked: what ssh-keygen reads is what was vetted, whatever happens to the
 * file afterwards. -EPERM with why when the file or its directory is not to
 * be trusted or breaks a rule, -EBADMSG when principal is not in it, another
 * negative errno when it cannot be read.
 */
int sshsig_signers_open(const char *path, const char *principal, int *ret_fd, char *why, size_t why_size);

/* n bytes of data in a fresh memfd, rewound and sealed against any change. */
int sshsig_memfd(const char *name, const void *data, size_t n, int *ret_fd);

/* One run of the program. */
enum {
        SSHSIG_RUN_SETSID       = 1 << 0,       /* a session (and process group) of its own */
        SSHSIG_RUN_KEEP_STDERR  = 1 << 1,       /* stderr stays ours (prompts reach the user) */
};

struct sshsig_run {
        pid_t pid;                      /* 0: none */
        int pidfd;                      /* -1: none */
        int fd[2];                      /* our ends of its stdout and stderr, non-blocking; -1: none */
        bool eof[2];
        char *buf[2];                   /* what it wrote, NUL-terminated */
        size_t len[2];
        unsigned flags;
        bool reaped, killed, timed_out, overflow;
        int code, status;               /* waitid's si_code (CLD_EXITED, CLD_KILLED...) and si_status */
};
#define SSHSIG_RUN_INIT { .pidfd = -1, .fd = { -1, -1 } }

/* Starts sshsig_program() with argv and envp: stdin from in_fd, the n_pass
 * (at most 4) descriptors of pass[] as 3, 4, ...; run must be
 * SSHSIG_RUN_INIT. 0 or a negative errno (nothing left running). */
int sshsig_run_start(struct sshsig_run *run, char *const argv[], char *const envp[], int in_fd, const int *pass,
                     size_t n_pass, unsigned flags);
/* Reads what stream i (0 stdout, 1 stderr) has now: 1 at its end, 0 when
 * there may be more later, -EMSGSIZE past SSHSIG_OUTPUT_MAX (run->overflow;
 * the caller kills), another negative errno. */
int sshsig_run_read(struct sshsig_run *run, int i);
/* SIGKILL to it, and to its process group when it has one of its own (the
 * group stays its own while it is not reaped). */
void sshsig_run_kill(struct sshsig_run *run);
/* Collects its exit: 0, -EAGAIN while it runs (with block false). */
int sshsig_run_reap(struct sshsig_run *run, bool block);
/* Synchronously: reads its output until it exits, killing it after
 * timeout_ms or when it writes too much; always reaps. 0 or a negative errno
 * of the waiting itself (the outcome is in run). */
int sshsig_run_wait(struct sshsig_run *run, int timeout_ms);
/* Kills and reaps it if it still runs, closes and frees everything. */
void sshsig_run_done(struct sshsig_run *run);

/*
 * Verification. sshsig_verify_spawn checks the arguments, opens
 * allowed_signers as above and starts
 *   ssh-keygen -Y verify -f /dev/fd/4 -I PRINCIPAL -n pam-jit-approval -s /dev/fd/3
 * with text on stdin (all three sealed memfds) in a session of its own. Before
 * anything runs: -EINVAL for a bad argument, -EBADMSG for a signature that is
 * not one armored block or a principal allowed_signers does not list, -EPERM
 * for an allowed_signers not to be trusted; res->detail says which.
 * sshsig_verify_outcome turns the finished run into the answer: 0 with
 * res->fingerprint and res->key_type when ssh-keygen said "Good" for this very
 * principal and namespace and exited 0; -EBADMSG when it said no (a bad
 * signature, another key, principal or namespace, a key not listed);
 * -ETIMEDOUT, -EMSGSIZE, -EPROTO, -EIO when it could not give an answer.
 * Anything but 0 is a deny.
 */
int sshsig_verify_spawn(const char *allowed_signers, const char *principal, const char *text, const char *armored,
                        struct sshsig_run *run, struct sshsig_result *res);
int sshsig_verify_outcome(const struct sshsig_run *run, const char *principal, struct sshsig_result *res);

/* The whole verification, blocking for up to SSHSIG_VERIFY_TIMEOUT_MS (for
 * tests and jitctl; jitd uses sshsig_verify_start). res may be NULL. */
int sshsig_verify_sync(const char *allowed_signers, const char *principal, const char *text, const char *armored,
                       struct sshsig_result *res);

#endif
