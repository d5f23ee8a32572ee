/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A host joins the fleet (`jitctl fleet add-host`): its name checked, its
 * database role named after it, made with a fresh password that only its
 * SCRAM verifier ever carries to the server (or with no password at all, for
 * a host that logs in with a client certificate), recorded in jit.hosts, and
 * the password written to a new 0600 file; all of it or none of it.
 */
#ifndef JITCTL_FLEET_HOST_H
#define JITCTL_FLEET_HOST_H

#include <stddef.h>

#include <libpq-fe.h>

/* "jit_host_" and the name must fit PostgreSQL's 63-byte identifiers
 * (NAMEDATALEN - 1), which it would otherwise cut short without a word. */
#define FLEET_ROLE_PREFIX "jit_host_"
#define FLEET_HOST_MAX    (63 - (int) (sizeof(FLEET_ROLE_PREFIX) - 1))
#define FLEET_ROLE_MAX    63

/* host as a fleet host name: dot-separated labels of letters, digits and
 * '-' (RFC 1123: not starting or ending with '-'), at most FLEET_HOST_MAX
 * bytes, in lower case (host names are case-insensitive, and the role is
 * named after it). Into buf; 0, -EINVAL (characters, labels) or
 * -ENAMETOOLONG. */
int fleet_host_name(const char *host, char *buf, size_t size);

/* The role of a host name from fleet_host_name(): "jit_host_" and the name
 * with '-' and '.' as '_' (the same rule as jit.hosts' CHECK). Distinct
 * names can share a role ("a-b", "a.b"): add-host refuses the second. */
int fleet_host_role(const char *name, char *buf, size_t size);

struct fleet_host_added {
        char name[FLEET_HOST_MAX + 1];
        char role[FLEET_ROLE_MAX + 1];
};

/* host checked, with its name and role into *ret; -EINVAL with why (which
 * quotes host) when it is not a fleet host name. Needs no database, so a
 * command can say it before connecting. */
int fleet_host_check(const char *host, struct fleet_host_added *ret, char *why, size_t size);

/* Add host to the fleet on c (the admin's connection: CREATEROLE and the
 * schema owner's rights) and write its password to password_file, which
 * must not exist (an absolute path); password_file NULL: the role gets no
 * password (it logs in with a client certificate). On any failure the role,
 * the row and the file are all gone again. 0, or a negative errno with why: -EEXIST
 * (the file, the role or the host is there already), -EINVAL (the name),
 * -ENOENT/-ESTALE/-EPROTONOSUPPORT (the schema: see fleet_schema_require),
 * -EIO (the database). */
int fleet_host_add(PGconn *c, const char *host, const char *password_file, struct fleet_host_added *ret,
                   char *why, size_t size);

#endif
