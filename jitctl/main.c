/* SPDX-License-Identifier: BSD-3-Clause */
/* jitctl: global options, the verb, and the exit status. The verbs live in
 * commands.c; what they print, in output.c. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"

#ifndef JIT_VERSION
#define JIT_VERSION "unknown"
#endif

enum {
        EXIT_DONE = 0,
        EXIT_FAILED = 1,
        EXIT_USAGE = 2,
        EXIT_UNREACHABLE = 3,
        EXIT_PENDING = 4,
};

static void usage(FILE *f)
{
        fputs("usage: jitctl [-s SOCKET] COMMAND [ARGS...]\n"
              "       jitctl -h | --help | --version\n"
              "\n"
              "Commands:\n", f);
        for (const struct cmd_verb *v = cmd_verbs; v->name; v++)
                fprintf(f, "  %s\n        %s\n", v->usage, v->help);
        fprintf(f, "\n"
                "Options:\n"
                "  -s, --socket SOCKET  jitd's socket (default: $JITCTL_SOCKET, else %s)\n"
                "  -h, --help           this help; COMMAND -h: that command's usage\n"
                "  --version            print the version\n"
                "\n"
                "Durations: 90s, 15m, 1h30m, 2d. Options may follow the ID.\n"
                "Exit status: 0 done, 1 refused or failed, 2 usage, 3 jitd unreachable,\n"
                "4 still pending when --wait ran out.\n", JIT_DEFAULT_SOCKET);
}

static int exit_status(int r)
{
        switch (r) {
        case 0:
                return EXIT_DONE;
        case CMD_E_USAGE:
                return EXIT_USAGE;
        case CMD_E_UNREACHABLE:
                return EXIT_UNREACHABLE;
        case CMD_E_PENDING:
                return EXIT_PENDING;
        case CMD_E_FAILED:
                return EXIT_FAILED;
        default:
                /* Not reported by the verb (out of memory and the like). */
                fprintf(stderr, "jitctl: %s\n", strerror(r < 0 ? -r : r));
                return EXIT_FAILED;
        }
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                { "socket",  required_argument, NULL, 's' },
                { "help",    no_argument,       NULL, 'h' },
                { "version", no_argument,       NULL, 'V' },
                {}
        };
        struct jitctl_ctx ctx = {
                .socket = JIT_DEFAULT_SOCKET,
                .timeout_ms = JITCTL_TIMEOUT_MS,
                .out = stdout,
                .err = stderr,
        };
        const char *env = getenv("JITCTL_SOCKET");
        const struct cmd_verb *v;
        int c, r, status;

        if (env && env[0])
                ctx.socket = env;

        opterr = 0;
        /* "+": stop at the verb; everything after it belongs to the verb. */
        while ((c = getopt_long(argc, argv, "+:s:h", options, NULL)) != -1) {
                switch (c) {
                case 's':
                        if (!optarg[0]) {
                                fputs("jitctl: -s needs a socket path\n", stderr);
                                return EXIT_USAGE;
                        }
                        ctx.socket = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_DONE;
                case 'V':
                        printf("jitctl %s\n", JIT_VERSION);
                        return EXIT_DONE;
                case ':':
                        fprintf(stderr, "jitctl: option '%s' needs a value\n", argv[optind - 1]);
                        return EXIT_USAGE;
                default:
                        if (optopt > 0)
                                fprintf(stderr, "jitctl: unknown option '-%c'\n", optopt);
                        else
                                fprintf(stderr, "jitctl: unknown option '%s'\n", argv[optind - 1]);
                        fputs("Try 'jitctl --help'.\n", stderr);
                        return EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return EXIT_USAGE;
        }
        if (strcmp(argv[optind], "help") == 0) {
                usage(stdout);
                return EXIT_DONE;
        }
        v = cmd_find(argv[optind]);
        if (!v) {
                fputs("jitctl: unknown command '", stderr);
                for (const char *p = argv[optind]; *p; p++)
                        fputc((unsigned char) *p < 0x20 || *p == 0x7f ? '?' : *p, stderr);
                fputs("'\nTry 'jitctl --help'.\n", stderr);
                return EXIT_USAGE;
        }

        r = v->run(&ctx, v, argc - optind, argv + optind);
        status = exit_status(r);
        /* A full disk or a closed pipe must not pass for success. */
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "jitctl: cannot write output: %s\n", strerror(errno));
                if (status == EXIT_DONE)
                        status = EXIT_FAILED;
        }
        return status;
}
