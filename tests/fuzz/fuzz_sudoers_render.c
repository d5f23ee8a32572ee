/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sudoers drop-in (jitd/sudoers.c sudoers_render) from fuzzed grant and
 * role fields. Whatever it agrees to render must be exactly one comment line
 * and one rule whose every byte is one sudoers reads as a plain word or as
 * the rule's own punctuation: no field can add a line, a rule, a Defaults,
 * an alias or an option. With JIT_FUZZ_VISUDO=/usr/sbin/visudo each rendered
 * text is also checked by visudo -cf (slow: for a focused run).
 *
 * Input: id, starts_at, expires_at (8 bytes each, little-endian), a flags
 * byte (bit 0: NOPASSWD), then NUL-separated: user, grant role, ticket,
 * runas list, commands list (comma-separated), role name.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "grant.h"
#include "sudoers.h"
#include "util.h"

static int64_t get64(const uint8_t *p)
{
        uint64_t v = 0;

        for (int i = 7; i >= 0; i--)
                v = (v << 8) | p[i];
        return (int64_t) v;
}

/* The next NUL-terminated piece of [*p, end), copied into dst (cut to fit). */
static void piece(const uint8_t **p, const uint8_t *end, char *dst, size_t size)
{
        const uint8_t *z = memchr(*p, '\0', (size_t) (end - *p));
        size_t n = (size_t) ((z ? z : end) - *p);

        snprintf(dst, size, "%.*s", (int) (n < size ? n : size - 1), (const char *) *p);
        /* A piece with a NUL inside stops there: keep the field's bytes as the
         * fuzzer wrote them up to it, like a C string would. */
        *p = z ? z + 1 : end;
}

static void visudo_check(const char *text)
{
        const char *visudo = getenv("JIT_FUZZ_VISUDO");
        const char *path;
        pid_t pid;
        int status;

        if (!visudo)
                return;
        path = fuzz_write("dropin", text, strlen(text));
        pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY);

                dup2(null, 1);
                dup2(null, 2);
                execl(visudo, visudo, "-cqf", path, (char *) NULL);
                _exit(127);
        }
        if (pid < 0 || waitpid(pid, &status, 0) < 0)
                abort();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fuzz_fail("visudo refuses a rendered drop-in:\n%s", text);
}

static void check(const struct jit_grant *g, const char *text)
{
        const char *nl1 = strchr(text, '\n'), *line2, *nl2;
        size_t ulen = strlen(g->user);

        if (strncmp(text, "# jitd grant ", 13) != 0 || !nl1)
                fuzz_fail("no comment line first:\n%s", text);
        if (nl1[-1] == '\\')
                fuzz_fail("the comment line ends in a backslash:\n%s", text);
        line2 = nl1 + 1;
        nl2 = strchr(line2, '\n');
        if (!nl2 || nl2[1] != '\0')
                fuzz_fail("not exactly two lines:\n%s", text);
        if (strncmp(line2, g->user, ulen) != 0 || strncmp(line2 + ulen, " ALL=(", 6) != 0)
                fuzz_fail("the rule is not for the grant's user:\n%s", text);
        for (const char *p = line2; p < nl2; p++)
                if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.$/+=:(), -", *p) || !*p)
                        fuzz_fail("byte 0x%02x in the rule:\n%s", (unsigned char) *p, text);
        for (const unsigned char *p = (const unsigned char *) text; p < (const unsigned char *) nl1; p++)
                if (*p < 0x20 || *p == 0x7f)
                        fuzz_fail("control byte in the comment:\n%s", text);
        visudo_check(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const uint8_t *p, *end = data + size;
        struct jit_grant g = { .state = GRANT_ACTIVE };
        struct role r = {};
        char runas[256], commands[1024], name[128], *text = NULL;
        int k;

        if (size < 25)
                return 0;
        g.id = get64(data);
        g.starts_at = get64(data + 8);
        g.expires_at = get64(data + 16);
        r.nopasswd = data[24] & 1;
        p = data + 25;
        piece(&p, end, g.user, sizeof(g.user));
        piece(&p, end, g.role, sizeof(g.role));
        piece(&p, end, g.ticket, sizeof(g.ticket));
        piece(&p, end, runas, sizeof(runas));
        piece(&p, end, commands, sizeof(commands));
        piece(&p, end, name, sizeof(name));
        r.name = name[0] ? name : g.role;
        if (strv_split(runas, ',', &r.runas) < 0 || strv_split(commands, ',', &r.commands) < 0)
                abort();
        k = sudoers_render(&g, &r, &text);
        if (k == 0)
                check(&g, text);
        else if (text)
                fuzz_fail("a refusal left text behind");
        else if (k != -EINVAL && k != -EFBIG && k != -ENOMEM)
                fuzz_fail("sudoers_render returned %d", k);
        free(text);
        strv_free(r.runas);
        strv_free(r.commands);
        return 0;
}
