/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sslkey.h"
#include "util.h"

int sslkey_check(const char *sslcert, const char *sslkey, char *why, size_t size)
{
        struct stat st;
        int fd, r = 0;

        if (sslcert && !sslcert[0])
                sslcert = NULL;
        if (sslkey && !sslkey[0])
                sslkey = NULL;
        if (!sslcert && !sslkey)
                return 0;
        /* Either alone, libpq takes the other from root's ~/.postgresql,
         * which nobody configured and jitd does not check. */
        if (!sslkey)
                return fail_why(-EINVAL, why, size, "sslcert without sslkey: name the client key too (sslkey=PATH, "
                            "root's, mode 0600), not libpq's default in root's ~/.postgresql");
        if (!sslcert)
                return fail_why(-EINVAL, why, size, "sslkey without sslcert: name the client certificate too "
                            "(sslcert=PATH), not libpq's default in root's ~/.postgresql");
        /* jitd's working directory is not the admin's. */
        if (sslcert[0] != '/')
                return fail_why(-EINVAL, why, size, "sslcert %s: not an absolute path", sslcert);
        /* libpq reads any sslkey with a ':' as engine:key (a key kept by an
         * OpenSSL engine, such as a TPM's): not a file. */
        if (strchr(sslkey, ':'))
                return 0;
        if (sslkey[0] != '/')
                return fail_why(-EINVAL, why, size, "sslkey %s: not an absolute path", sslkey);

        fd = open(sslkey, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = -errno;
                return fail_why(r, why, size, "sslkey %s: %s", sslkey, r == -ELOOP ? "is a symlink" : strerror(-r));
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                fail_why(r, why, size, "sslkey %s: %s", sslkey, strerror(-r));
        } else if (!S_ISREG(st.st_mode))
                r = fail_why(-EPERM, why, size, "sslkey %s: must be a regular file owned by root, mode 0600 (it is "
                         "not a regular file)", sslkey);
        else if (st.st_uid != geteuid() || (st.st_mode & 077))
                r = fail_why(-EPERM, why, size, "sslkey %s: must be a regular file owned by root, mode 0600 (it is "
                         "mode %04o, owned by uid %u)", sslkey, (unsigned) (st.st_mode & 07777),
                         (unsigned) st.st_uid);
        close(fd);
        return r;
}
