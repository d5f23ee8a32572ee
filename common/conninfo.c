/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The password check of a libpq connection string, without libpq (pam_jit.so
 * and the config parser stay libc-only). The two readers below follow
 * libpq's own (fe-connect.c: conninfo_parse, conninfo_uri_parse_options,
 * conninfo_uri_parse_params, conninfo_uri_decode) step by step, because what
 * matters is where *libpq* would find a password, not where a simpler reading
 * would: a '?' before the '@' still belongs to the user information, a
 * bracketed IPv6 host may hold '?', a query keyword may be percent-encoded.
 * Where this reader is unsure it refuses: a keyword written in another case,
 * or an empty password after ':', is refused although libpq would ignore it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conninfo.h"
#include "util.h"

/* libpq expands only the dbname it is handed by the caller; one more level
 * is checked anyway, so that a password hidden in a dbname that is itself a
 * connection string is refused even if a caller ever expands it. */
#define NEST_MAX 1

/* isspace() in the C locale, which is what libpq's reader uses. */
static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static size_t uri_prefix(const char *s)
{
        if (strncmp(s, "postgresql://", 13) == 0)
                return 13;
        if (strncmp(s, "postgres://", 11) == 0)
                return 11;
        return 0;
}

/* libpq's recognized_connection_string(): what it would expand as a dbname. */
static bool looks_like_conninfo(const char *s)
{
        return uri_prefix(s) > 0 || strchr(s, '=') != NULL;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Percent-decoding in place, as conninfo_uri_decode(): spaces around the
 * text are dropped, a space inside it, a bad "%xy" or "%00" is an error. */
static int uri_decode(char *s)
{
        char *out = s, *in = s;

        while (*in == ' ')
                in++;
        while (*in && *in != ' ') {
                if (*in == '%') {
                        int hi = hexval(in[1]), lo = hi < 0 ? -1 : hexval(in[2]);

                        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                                return -EINVAL;
                        *out++ = (char) (hi << 4 | lo);
                        in += 3;
                } else
                        *out++ = *in++;
        }
        while (*in == ' ')
                in++;
        if (*in)
                return -EINVAL;
        *out = '\0';
        return 0;
}

static int check_nested(const char *s, unsigned depth, char *why, size_t size);

static int check_dbname(const char *value, unsigned depth, char *why, size_t size)
{
        if (depth >= NEST_MAX || !looks_like_conninfo(value))
                return 0;
        return check_nested(value, depth + 1, why, size);
}

/* The keywords whose value is a secret: the password, and the passphrase of
 * a client key. Compared without regard to case: "PASSWORD=" is refused as
 * what it means, not as a typo. */
static const char *secret_keyword(const char *s)
{
        static const char *const secrets[] = { "password", "sslpassword" };

        for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
                if (strcasecmp(s, secrets[i]) == 0)
                        return secrets[i];
        return NULL;
}

static bool is_keyword(const char *s)
{
        return s[0] && strspn(s, "abcdefghijklmnopqrstuvwxyz_") == strlen(s);
}

/* "host=db1 dbname='fleet' user=web01": conninfo_parse()'s reading. */
static int check_pairs(char *cp, unsigned depth, char *why, size_t size)
{
        const char *secret;
        int r;

        while (*cp) {
                char *name, *value, *out;

                if (is_space(*cp)) {
                        cp++;
                        continue;
                }
                name = cp;
                while (*cp && *cp != '=' && !is_space(*cp))
                        cp++;
                if (is_space(*cp)) {
                        *cp++ = '\0';
                        while (is_space(*cp))
                                cp++;
                }
                if (*cp != '=')
                        return fail_why(-EINVAL, why, size, "missing '=' after a keyword "
                                    "(write key=value pairs, or a postgresql:// URI)");
                *cp++ = '\0';
                while (is_space(*cp))
                        cp++;

                value = out = cp;
                if (*cp != '\'') {
                        while (*cp && !is_space(*cp)) {
                                if (*cp == '\\') {
                                        cp++;
                                        if (*cp)
                                                *out++ = *cp++;
                                } else
                                        *out++ = *cp++;
                        }
                        if (*cp)
                                cp++;
                } else {
                        cp++;
                        for (;;) {
                                if (!*cp)
                                        return fail_why(-EINVAL, why, size, "a quoted value without its closing quote");
                                if (*cp == '\\') {
                                        cp++;
                                        if (*cp)
                                                *out++ = *cp++;
                                        continue;
                                }
                                if (*cp == '\'') {
                                        cp++;
                                        break;
                                }
                                *out++ = *cp++;
                        }
                }
                *out = '\0';

                if ((secret = secret_keyword(name)))
                        return fail_why(-EPERM, why, size, "the connection string carries a password "
                                    "(%s=...); put it in password_file instead", secret);
                if (!is_keyword(name))
                        return fail_why(-EINVAL, why, size, "a keyword that is not lower-case letters and '_'");
                if (strcmp(name, "dbname") == 0 && (r = check_dbname(value, depth, why, size)) < 0)
                        return r;
        }
        return 0;
}

/* "?sslmode=require&application_name=jitd": conninfo_uri_parse_params(). */
static int check_params(char *params, unsigned depth, char *why, size_t size)
{
        const char *secret;
        int r;

        while (*params) {
                char *keyword = params, *value = NULL, *p = params;

                for (;;) {
                        if (*p == '=') {
                                if (value)
                                        return fail_why(-EINVAL, why, size, "a URI query parameter with two '='");
                                *p++ = '\0';
                                value = p;
                        } else if (*p == '&' || !*p) {
                                if (*p)
                                        *p++ = '\0';
                                if (!value)
                                        return fail_why(-EINVAL, why, size, "a URI query parameter without '='");
                                break;
                        } else
                                p++;
                }
                if (uri_decode(keyword) < 0 || uri_decode(value) < 0)
                        return fail_why(-EINVAL, why, size, "bad percent-encoding in a URI query parameter");
                if ((secret = secret_keyword(keyword)))
                        return fail_why(-EPERM, why, size, "the connection string carries a password "
                                    "(?%s=...); put it in password_file instead", secret);
                if (strcmp(keyword, "dbname") == 0 && (r = check_dbname(value, depth, why, size)) < 0)
                        return r;
                params = p;
        }
        return 0;
}

/* postgresql://[user[:password]@][host][:port][,...][/dbname][?param=value&...]:
 * conninfo_uri_parse_options(). */
static int check_uri(char *buf, size_t prefix, unsigned depth, char *why, size_t size)
{
        char *start = buf + prefix, *p = start, c;
        int r;

        /* libpq looks for the user information up to the first '/', past
         * any '?' or ':'. */
        while (*p && *p != '@' && *p != '/')
                p++;
        if (*p == '@') {
                if (memchr(start, ':', (size_t) (p - start)))
                        return fail_why(-EPERM, why, size, "the connection string carries a password "
                                    "(user:password@ in the URI); put it in password_file instead");
                p++;
        } else
                p = start;

        for (;;) {
                if (*p == '[') {
                        char *host = ++p;

                        while (*p && *p != ']')
                                p++;
                        if (!*p)
                                return fail_why(-EINVAL, why, size, "a URI with '[' and no ']'");
                        if (p == host)
                                return fail_why(-EINVAL, why, size, "a URI with an empty [] host");
                        p++;
                        if (*p && *p != ':' && *p != '/' && *p != '?' && *p != ',')
                                return fail_why(-EINVAL, why, size, "a URI with text after ']'");
                } else {
                        while (*p && *p != ':' && *p != '/' && *p != '?' && *p != ',')
                                p++;
                }
                c = *p;
                if (c == ':') {
                        p++;
                        while (*p && *p != '/' && *p != '?' && *p != ',')
                                p++;
                        c = *p;
                }
                if (c != ',')
                        break;
                p++;
        }

        if (c == '/') {
                char *dbname = ++p;

                while (*p && *p != '?')
                        p++;
                c = *p;
                *p = '\0';
                if (uri_decode(dbname) < 0)
                        return fail_why(-EINVAL, why, size, "bad percent-encoding in the URI's database name");
                if ((r = check_dbname(dbname, depth, why, size)) < 0)
                        return r;
        }
        if (c == '?')
                return check_params(p + 1, depth, why, size);
        return 0;
}

static int check_nested(const char *s, unsigned depth, char *why, size_t size)
{
        char buf[CONNINFO_MAX + 1];
        size_t n = strlen(s), prefix;

        if (n > CONNINFO_MAX)
                return fail_why(-EINVAL, why, size, "longer than %d bytes", CONNINFO_MAX);
        memcpy(buf, s, n + 1);
        prefix = uri_prefix(buf);
        return prefix ? check_uri(buf, prefix, depth, why, size) : check_pairs(buf, depth, why, size);
}

int conninfo_check(const char *s, char *why, size_t size)
{
        const char *p;

        if (!s)
                return fail_why(-EINVAL, why, size, "no connection string");
        for (p = s; is_space(*p); p++)
                ;
        if (!*p)
                return fail_why(-EINVAL, why, size, "an empty connection string");
        return check_nested(s, 0, why, size);
}
