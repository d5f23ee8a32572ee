/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_jit's module options. The defaults and every argv word go through one
 * function, options_set(), so a default is parsed and range-checked exactly
 * like the same value written in /etc/pam.d. Nothing here logs: errors come
 * back as a code and one line, and pam_jit.c decides how to say it. */
#ifndef PAM_JIT_OPTIONS_H
#define PAM_JIT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/un.h>

#include "util.h"

#define PAM_JIT_TIMEOUT_DEFAULT 1500
#define PAM_JIT_TIMEOUT_MIN     1
#define PAM_JIT_TIMEOUT_MAX     60000

struct pam_jit_options {
        char socket[sizeof(((struct sockaddr_un *) 0)->sun_path)];
        int timeout_ms;                   /* total for connect + send + receive */
        char role[JIT_ROLE_MAX + 1];      /* "" = none; used by the prompt flow */
        bool prompt;
        bool strict;
        bool debug;
};

/* Fill in the defaults (through options_set). */
void options_init(struct pam_jit_options *o);

/* Set one option. value is NULL for a flag. 0 on success; -ENOENT: no such
 * option; -EINVAL: bad or missing value (o is left unchanged). When why is not
 * NULL it receives one line saying what was wrong. */
int options_set(struct pam_jit_options *o, const char *name, const char *value, char *why, size_t why_size);

/* One argv word: "name=value" or "name". Same returns as options_set. */
int options_parse_arg(struct pam_jit_options *o, const char *arg, char *why, size_t why_size);

#endif
