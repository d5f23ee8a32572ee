/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Standing privilege: the sudo rules on this host that jitd does not manage.
 *
 * The main sudoers file is read with everything it includes, the way sudo
 * reads it (sudoers(5)): "@include FILE", "#include FILE", "@includedir DIR"
 * and "#includedir DIR"; a relative path is taken from the directory of the
 * file that names it; "%h" in a path is the short host name; an included
 * directory contributes its files in strcmp order, skipping names that
 * contain '.' or end in '~' (and anything that is not a regular file).
 * Lines ending in '\' are joined with the next one.
 *
 * A rule is a user specification: a logical line that is not blank, not a
 * comment, not an include, not a Defaults line and not an alias definition
 * (User_Alias, Runas_Alias, Host_Alias, Cmnd_Alias, Cmd_Alias), and whose
 * words are a user list, a host list and '=' ("alice, %ops web* = ...").
 * "#1000 ALL=..." is a rule: sudo reads '#' before digits as a uid. Rules in
 * a file whose name is jit-<digits> are jitd's own grants and not counted;
 * everything else is, root's own rule included (it is standing privilege,
 * but readers want to tell it apart: root_rules counts the rules whose user
 * list is just root or #0).
 *
 * Nothing here logs: a file that cannot be read goes into errors and the
 * scan carries on, so one broken drop-in does not hide the others.
 */
#ifndef JITD_STANDING_H
#define JITD_STANDING_H

#include <stdbool.h>
#include <stddef.h>

#define STANDING_DEFAULT_SUDOERS "/etc/sudoers"
/* How much of a rule is quoted (code points, white space runs as one space). */
#define STANDING_EXCERPT_MAX     80
/* Files nested deeper than this are not read (a file that includes itself,
 * directly or not, is caught before: it is reported and read once). */
#define STANDING_DEPTH_MAX       128
/* A sudoers file larger than this is not read (and is reported). */
/* Files read in one scan, each once. */
#define STANDING_FILES_MAX       4096
#define STANDING_FILE_MAX        (16 * 1024 * 1024)

struct standing_rule {
        char *file;             /* the path as reached through the includes */
        unsigned line;          /* first physical line of the rule */
        char *text;             /* excerpt: at most STANDING_EXCERPT_MAX code points */
        bool root;              /* the user list is just root (or #0) */
};

struct standing {
        struct standing_rule *rules;    /* in the order sudo reads them */
        size_t n_rules;
        size_t n_root;
        char **errors;                  /* "FILE: what went wrong", one per problem */
        size_t n_errors;
};

/* Scan sudoers (NULL: STANDING_DEFAULT_SUDOERS) and what it includes. 0 with
 * *ret filled in (errors listed inside it, main file included), or -ENOMEM. */
int standing_scan(const char *sudoers, struct standing **ret);
void standing_free(struct standing *st);

/* "FILE:LINE: text", as listed in the report. 0 or -ENOMEM. */
int standing_rule_format(const struct standing_rule *r, char **ret);

#endif
