/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "options.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

#define WHY(...) do { if (why) snprintf(why, why_size, __VA_ARGS__); } while (0)

/* The socket is an absolute path: a relative one would be resolved against
 * whatever directory the host process (sudo, sshd) happens to be in. */
static int set_socket(struct pam_jit_options *o, const char *value, char *why, size_t why_size)
{
        if (value[0] != '/') {
                WHY("option 'socket' needs an absolute path, not '%.64s'", value);
                return -EINVAL;
        }
        if (strcpy_checked(o->socket, sizeof(o->socket), value) < 0) {
                WHY("option 'socket': path longer than %zu bytes", sizeof(o->socket) - 1);
                return -EINVAL;
        }
        return 0;
}

static int set_timeout(struct pam_jit_options *o, const char *value, char *why, size_t why_size)
{
        char *end = NULL;
        long v;

        errno = 0;
        v = strtol(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' ||
            v < PAM_JIT_TIMEOUT_MIN || v > PAM_JIT_TIMEOUT_MAX) {
                WHY("option 'timeout': '%.32s' is not a number of milliseconds in %d..%d",
                    value, PAM_JIT_TIMEOUT_MIN, PAM_JIT_TIMEOUT_MAX);
                return -EINVAL;
        }
        o->timeout_ms = (int) v;
        return 0;
}

static int set_role(struct pam_jit_options *o, const char *value, char *why, size_t why_size)
{
        if (!valid_role_name(value)) {
                WHY("option 'role': '%.64s' is not a valid role name", value);
                return -EINVAL;
        }
        return strcpy_checked(o->role, sizeof(o->role), value) < 0 ? -EINVAL : 0;
}

static bool *flag_field(struct pam_jit_options *o, const char *name)
{
        if (strcmp(name, "prompt") == 0)
                return &o->prompt;
        if (strcmp(name, "strict") == 0)
                return &o->strict;
        if (strcmp(name, "debug") == 0)
                return &o->debug;
        return NULL;
}

static const struct {
        const char *name;
        int (*set)(struct pam_jit_options *o, const char *value, char *why, size_t why_size);
} valued[] = {
        { "socket",  set_socket },
        { "timeout", set_timeout },
        { "role",    set_role },
};

int options_set(struct pam_jit_options *o, const char *name, const char *value, char *why, size_t why_size)
{
        bool *flag = flag_field(o, name);

        if (flag) {
                if (value) {
                        WHY("option '%s' takes no value", name);
                        return -EINVAL;
                }
                *flag = true;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(valued); i++) {
                if (strcmp(name, valued[i].name) != 0)
                        continue;
                if (!value || !*value) {
                        WHY("option '%s' needs a value", name);
                        return -EINVAL;
                }
                return valued[i].set(o, value, why, why_size);
        }
        WHY("unknown option '%.64s'", name);
        return -ENOENT;
}

void options_init(struct pam_jit_options *o)
{
        static const struct {
                const char *name, *value;
        } defaults[] = {
                { "socket",  JIT_DEFAULT_SOCKET },
                { "timeout", STRINGIFY(PAM_JIT_TIMEOUT_DEFAULT) },
        };

        memset(o, 0, sizeof(*o));
        /* The defaults are constants that pass their own checks (the unit
         * test makes sure), so the result needs no handling here. */
        for (size_t i = 0; i < ELEMENTSOF(defaults); i++)
                (void) options_set(o, defaults[i].name, defaults[i].value, NULL, 0);
}

int options_parse_arg(struct pam_jit_options *o, const char *arg, char *why, size_t why_size)
{
        const char *eq = strchr(arg, '=');
        char name[32];
        size_t n;

        if (!eq)
                return options_set(o, arg, NULL, why, why_size);
        n = (size_t) (eq - arg);
        if (n >= sizeof(name)) {
                WHY("unknown option '%.*s'", (int) (n > 64 ? 64 : n), arg);
                return -ENOENT;
        }
        memcpy(name, arg, n);
        name[n] = '\0';
        return options_set(o, name, eq + 1, why, why_size);
}
