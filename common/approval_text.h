/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The text a fleet approval signs: one canonical rendering of a grant,
 * produced by the same code in jitctl (which has the approver sign it with
 * ssh-keygen -Y sign) and in jitd (which has ssh-keygen -Y verify check it).
 * Signer and verifier never exchange the text itself, only the grant's fields
 * through the database: each side renders them again, so a field changed in
 * the database changes the text and the signature no longer verifies.
 *
 *   pam_jit approval v1
 *   grant <id>
 *   user <user>
 *   role <role>
 *   hosts <pattern>[,<pattern>...]
 *   duration <seconds>
 *   ticket <ticket, or - for none>
 *   requested <unix seconds>
 *   approver <approver's login name>
 *
 * Every line ends in "\n", nothing else is in it (no trailing spaces, no
 * blank line). The rendering is one-to-one: a field may not contain a line
 * break or any other control character (so it cannot forge the next line), a
 * host pattern may not contain a comma or be empty (so the list splits back
 * into the same patterns), and the ticket "-" is refused (it would read as
 * "no ticket"). Text must be UTF-8 without the code points valid_text()
 * refuses (C1 controls, bidirectional overrides), which could make what an
 * approver is shown differ from what they sign.
 */
#ifndef JIT_APPROVAL_TEXT_H
#define JIT_APPROVAL_TEXT_H

#include <stdint.h>

/* The SSHSIG namespace of an approval signature (ssh-keygen -n): a signature
 * made for anything else (git commits, "file") never verifies as one. */
#define JIT_SSHSIG_NAMESPACE "pam-jit-approval"

/* The first line: a new version of the text gets a new line, never a
 * different meaning for the same one. */
#define APPROVAL_TEXT_MAGIC "pam_jit approval v1"

/* The first line of an extension's text: an approval of a grant never
 * verifies as the approval of an extension, nor the other way round. */
#define EXTENSION_TEXT_MAGIC "pam_jit extension v1"

/* Upper bound of a rendered text (every field at its limit), for buffers. */
#define APPROVAL_TEXT_MAX 2048

struct approval_fields {
        int64_t grant;                  /* > 0 */
        const char *user;               /* 1..JIT_USER_MAX bytes */
        const char *role;               /* 1..JIT_ROLE_MAX */
        char *const *hosts;             /* NULL-terminated, at least one; each 1..JIT_HOST_MAX,
                                         * joined with ',' at most JIT_LIST_MAX */
        uint64_t duration;              /* seconds, > 0 */
        const char *ticket;             /* NULL or "" for none (rendered "-"); else 1..JIT_TICKET_MAX */
        int64_t requested;              /* unix seconds, > 0 */
        const char *approver;           /* 1..JIT_USER_MAX */
};

/* The canonical text of f as a fresh string in *ret_text. 0, -EINVAL when a
 * field breaks a rule above, -ENOMEM. */
int approval_text(const struct approval_fields *f, char **ret_text);

/* Extension n of a grant (jitctl extend F12), as jit.extensions holds it. */
struct extension_fields {
        int64_t n;                      /* 1, 2, ... in the order the fleet recorded them */
        uint64_t duration;              /* seconds it adds, > 0 */
        int64_t requested;              /* unix seconds, > 0 */
};

/* The canonical text an approver signs for extension x of the grant f: the
 * grant's lines as approval_text has them, under EXTENSION_TEXT_MAGIC, then
 *
 *   extension <n>
 *   adds <seconds>
 *   asked <unix seconds>
 *
 * before the approver's line. Same rules and errors as approval_text. */
int extension_text(const struct approval_fields *f, const struct extension_fields *x, char **ret_text);

#endif
