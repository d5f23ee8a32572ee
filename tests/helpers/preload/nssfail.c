/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nssfail.so: an LD_PRELOAD shim that makes NSS fail for chosen users, as a
 * directory timeout (LDAP, SSSD) would, while the program runs.
 *
 *   JIT_NSSFAIL_FILE=/path LD_PRELOAD=build/tests/nssfail.so jitd ...
 *
 * While /path exists, each of its lines names a user whose lookups fail, or
 * is "*" for every user. getpwnam_r and getpwuid_r then return EIO with a
 * NULL result (not "no such user": that is 0 with NULL), getpwnam and
 * getpwuid return NULL with errno EIO, and getgrouplist returns -1 with
 * *ngroups left as it was (a caller that grows its buffer on -1 reaches
 * its own cap and gives up). A line "%group" (or "*") makes getgrnam_r of
 * that group return EIO. Without the file everything passes through to the
 * real functions.
 * The file is read at every call, so a test turns the fault on and off at
 * run time by creating and removing it.
 *
 * Built on its own (not one of the tests/helpers programs), without sanitizers:
 * see the nssfail.so rule in the Makefile.
 */
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define FAULT_ERRNO EIO

typedef int (*getpwnam_r_fn)(const char *, struct passwd *, char *, size_t, struct passwd **);
typedef int (*getpwuid_r_fn)(uid_t, struct passwd *, char *, size_t, struct passwd **);
typedef struct passwd *(*getpwnam_fn)(const char *);
typedef struct passwd *(*getpwuid_fn)(uid_t);
typedef int (*getgrouplist_fn)(const char *, gid_t, gid_t *, int *);
typedef int (*getgrnam_r_fn)(const char *, struct group *, char *, size_t, struct group **);

static void *next(const char *name)
{
        void *f = dlsym(RTLD_NEXT, name);

        if (!f) {
                fprintf(stderr, "nssfail: no next %s\n", name);
                abort();
        }
        return f;
}

/* Is name (NULL: any user) one the fault file names? */
static bool faulty(const char *name)
{
        const char *path = getenv("JIT_NSSFAIL_FILE");
        char line[256];
        bool hit = false;
        FILE *f;
        int saved = errno;

        if (!path || !*path)
                return false;
        f = fopen(path, "re");
        if (!f) {
                errno = saved;
                return false;
        }
        while (!hit && fgets(line, sizeof(line), f)) {
                line[strcspn(line, " \t\r\n")] = '\0';
                if (!line[0])
                        continue;
                hit = strcmp(line, "*") == 0 || (name && strcmp(line, name) == 0);
        }
        fclose(f);
        errno = saved;
        return hit;
}

int getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t size, struct passwd **res)
{
        static getpwnam_r_fn real;

        if (!real)
                real = (getpwnam_r_fn) next("getpwnam_r");
        if (faulty(name)) {
                *res = NULL;
                return FAULT_ERRNO;
        }
        return real(name, pw, buf, size, res);
}

int getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t size, struct passwd **res)
{
        static getpwuid_r_fn real;
        int r;

        if (!real)
                real = (getpwuid_r_fn) next("getpwuid_r");
        /* The name is known only after the real lookup: fail if it is listed. */
        r = real(uid, pw, buf, size, res);
        if (r == 0 && *res && faulty((*res)->pw_name)) {
                *res = NULL;
                return FAULT_ERRNO;
        }
        return r;
}

struct passwd *getpwnam(const char *name)
{
        static getpwnam_fn real;

        if (!real)
                real = (getpwnam_fn) next("getpwnam");
        if (faulty(name)) {
                errno = FAULT_ERRNO;
                return NULL;
        }
        return real(name);
}

struct passwd *getpwuid(uid_t uid)
{
        static getpwuid_fn real;
        struct passwd *p;

        if (!real)
                real = (getpwuid_fn) next("getpwuid");
        p = real(uid);
        if (p && faulty(p->pw_name)) {
                errno = FAULT_ERRNO;
                return NULL;
        }
        return p;
}

int getgrouplist(const char *user, gid_t group, gid_t *groups, int *ngroups)
{
        static getgrouplist_fn real;

        if (!real)
                real = (getgrouplist_fn) next("getgrouplist");
        if (faulty(user)) {
                errno = FAULT_ERRNO;
                return -1;
        }
        return real(user, group, groups, ngroups);
}

int getgrnam_r(const char *name, struct group *gr, char *buf, size_t size, struct group **res)
{
        static getgrnam_r_fn real;
        char key[260];

        if (!real)
                real = (getgrnam_r_fn) next("getgrnam_r");
        snprintf(key, sizeof(key), "%%%s", name ? name : "");
        if (faulty(key)) {
                *res = NULL;
                return FAULT_ERRNO;
        }
        return real(name, gr, buf, size, res);
}
