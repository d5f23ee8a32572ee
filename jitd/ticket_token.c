/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * token_file, read by jitd (root) at start: the helper that talks to the
 * ticket system gets the token from jitd and never opens the file, which has
 * to be root's alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ticket_helper.h"
#include "util.h"

static void closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}

int ticket_token_read(const char *path, char **ret, char *why, size_t why_size)
{
        _cleanup_(closep) int fd = -1;
        char buf[TICKET_TOKEN_MAX + 2];
        struct stat st;
        ssize_t n;
        size_t len;

        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                int r = -errno;

                if (r == -ELOOP) {
                        snprintf(why, why_size, "token_file %s is a symbolic link", path);
                        return -EPERM;
                }
                snprintf(why, why_size, "cannot open token_file %s: %s", path, strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0) {
                int r = -errno;

                snprintf(why, why_size, "cannot stat token_file %s: %s", path, strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                snprintf(why, why_size, "token_file %s is not a regular file", path);
                return -EPERM;
        }
        if (st.st_uid != 0) {
                snprintf(why, why_size, "token_file %s is owned by uid %u, not root", path, (unsigned) st.st_uid);
                return -EPERM;
        }
        if (st.st_mode & 077) {
                snprintf(why, why_size, "token_file %s has mode %04o: group and others must have no access "
                         "(chmod 600)", path, (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }
        if (st.st_size > TICKET_TOKEN_MAX + 2) {
                snprintf(why, why_size, "token_file %s is larger than %d bytes", path, TICKET_TOKEN_MAX);
                return -EINVAL;
        }
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0) {
                int r = -errno;

                snprintf(why, why_size, "cannot read token_file %s: %s", path, strerror(-r));
                return r;
        }
        len = (size_t) n;
        if (len > 0 && buf[len - 1] == '\n')
                len--;
        if (len > 0 && buf[len - 1] == '\r')
                len--;
        buf[len] = '\0';
        if (len > TICKET_TOKEN_MAX) {
                explicit_bzero(buf, sizeof(buf));
                snprintf(why, why_size, "token_file %s is larger than %d bytes", path, TICKET_TOKEN_MAX);
                return -EINVAL;
        }
        /* The token goes into a header line: a CR or LF would start a header of
         * the file's choosing. */
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) buf[i] < 0x20 || (unsigned char) buf[i] >= 0x7f) {
                        explicit_bzero(buf, sizeof(buf));
                        snprintf(why, why_size, "token_file %s must hold one line of printable ASCII", path);
                        return -EINVAL;
                }
        if (len == 0) {
                snprintf(why, why_size, "token_file %s is empty", path);
                return -EINVAL;
        }
        *ret = strdup(buf);
        explicit_bzero(buf, sizeof(buf));
        return *ret ? 0 : -ENOMEM;
}
