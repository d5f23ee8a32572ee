/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What jitctl doctor reads besides jitd.conf, parsed apart from the checks so
 * that unit tests reach it: PAM stacks (pam.d(5)), the include directives of
 * sudoers (sudoers(5)), a ticket URL's host and port, and mountinfo lines
 * (proc(5)).
 */
#ifndef JITCTL_DOCTOR_PARSE_H
#define JITCTL_DOCTOR_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* ---- PAM ---------------------------------------------------------------- */

enum doctor_pam_phase {
        DOCTOR_PAM_NONE = 0,
        DOCTOR_PAM_AUTH,
        DOCTOR_PAM_ACCOUNT,
        DOCTOR_PAM_SESSION,
        DOCTOR_PAM_PASSWORD,
};

/* One rule of a service's stack, after @include and include were followed. */
struct doctor_pam_rule {
        enum doctor_pam_phase phase;
        char *control;          /* "required", "[success=1 default=ignore]" */
        char *module;           /* as written: "pam_jit.so" or a path */
        char *args;             /* the rest of the line; "" when none */
        char *file;             /* the file it stands in */
        unsigned line;          /* its line there (the first of a continued line) */
        bool substack;          /* came in through "substack": not modelled, see doctor_pam_analyse */
};

struct doctor_pam_stack {
        struct doctor_pam_rule *rules;
        size_t n;
        char *note;             /* the first include that could not be followed, and why; NULL */
};

/* A logical line (comments and continuations already removed) split in place:
 * type ("auth", "-session", "@include"), control, module, and the rest.
 * Returns 1 with the fields set, 0 for a blank line, -EINVAL when a field is
 * missing or a '[' is not closed. */
struct doctor_pam_fields {
        char *type, *control, *module, *args;
};
int doctor_pam_split(char *line, struct doctor_pam_fields *ret);
/* "account", "-account", "Account" -> DOCTOR_PAM_ACCOUNT; NONE otherwise. */
enum doctor_pam_phase doctor_pam_phase_from(const char *type);

/* Read DIR/SERVICE, following @include FILE and the include/substack controls
 * one level deep (relative names are looked up in DIR). Returns 0, or a
 * negative errno when DIR/SERVICE itself cannot be read. */
int doctor_pam_load(const char *dir, const char *service, struct doctor_pam_stack *ret);
void doctor_pam_stack_free(struct doctor_pam_stack *s);

#define DOCTOR_PAM_CONTINUES 0          /* success goes on to the next rule */
#define DOCTOR_PAM_ENDS      (-1)       /* success ends the phase (sufficient, success=done) */
/* What the phase does when a rule's module succeeds: DOCTOR_PAM_CONTINUES,
 * DOCTOR_PAM_ENDS, or N > 0: it jumps over the next N rules. */
int doctor_pam_on_success(const char *control);
/* Does a refusal (PAM_PERM_DENIED) under this control fail the phase? */
bool doctor_pam_enforces(const char *control);
/* Is this module pam_jit (by name or path)? */
bool doctor_pam_is_jit(const char *module);
/* Module arguments: is the word "name" there? Brackets ("[a b]") are one word. */
bool doctor_pam_has_arg(const char *args, const char *name);
/* The value of "key=value" among the arguments, copied into buf; false when
 * absent or too long. */
bool doctor_pam_arg_value(const char *args, const char *key, char *buf, size_t size);

struct doctor_pam_verdict {
        /* pam_jit's first rule in each phase; NULL when it has none. */
        const struct doctor_pam_rule *auth, *account, *session;
        /* An account rule ahead of pam_jit's whose success ends the phase,
         * or jumps over pam_jit's rule: then pam_jit never gets asked. */
        const struct doctor_pam_rule *bypass;
};
void doctor_pam_analyse(const struct doctor_pam_stack *s, struct doctor_pam_verdict *ret);

/* ---- sudoers ------------------------------------------------------------ */

enum doctor_sudoers_kind {
        DOCTOR_SUDOERS_OTHER = 0,
        DOCTOR_SUDOERS_INCLUDE,         /* @include / #include FILE */
        DOCTOR_SUDOERS_INCLUDEDIR,      /* @includedir / #includedir DIR */
};

/* One line of a sudoers file. For an include directive, returns its kind
 * and the path it names as sudo resolves it: quotes and backslash escapes
 * removed, %h replaced by host (the short host name), and a relative path
 * taken from the directory of file (sudo 1.9.1 and later). Returns
 * DOCTOR_SUDOERS_OTHER for any other line, -EINVAL for a directive without a
 * path, -ENOMEM. */
int doctor_sudoers_directive(const char *line, const char *file, const char *host, char **ret_path);

struct doctor_sudoers_scan {
        char *where;            /* "FILE:LINE" of the directive covering dir; NULL when none */
        char *seen;             /* every directory included, ", "-separated; NULL when none */
        char *note;             /* the first thing that stopped the scan short, and why; NULL.
                                 * an included file that could not be read (or is not a
                                 * regular file), an include loop, includes nested more than
                                 * 16 deep, or the bounds of 256 files and 16 MiB */
        bool loop;              /* an include loop: sudo refuses the whole sudoers */
};
/* Does the sudoers file at path (and the files it @includes) have an
 * @includedir naming dir? Each file is read once, by device and inode, so
 * a loop ends at once and is named in the note. Returns 0 with the answer in
 * *ret (free with doctor_sudoers_scan_clear), or a negative errno when path
 * itself cannot be read (-EINVAL: not a regular file, -EFBIG: over 4 MiB). */
int doctor_sudoers_scan(const char *path, const char *dir, const char *host, struct doctor_sudoers_scan *ret);
void doctor_sudoers_scan_clear(struct doctor_sudoers_scan *s);

/* The same directory? By realpath when both exist, else by their text with
 * repeated and trailing slashes and "/./" ignored. */
bool doctor_same_dir(const char *a, const char *b);

/* ---- ticket URL --------------------------------------------------------- */

/* "https://user@host:8443/path" -> "host" and "8443"; the port defaults to
 * 443 for https and 80 for http; "[::1]" loses its brackets. -EINVAL for
 * anything else. */
int doctor_url_endpoint(const char *url, char *host, size_t host_size, char *port, size_t port_size);

#endif
