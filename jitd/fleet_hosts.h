/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * --host PATTERN with [fleet]: the fleet's hosts (jit.hosts) whose names
 * PATTERN matches as a role's hosts patterns do (fnmatch, case folded:
 * policy_pattern_matches), for the statements of list, audit, audit verify
 * and report to take as one parameter: the names joined with ','
 * (pg_catalog.string_to_array($n, ',')). Host names have no comma.
 */
#ifndef JITD_FLEET_HOSTS_H
#define JITD_FLEET_HOSTS_H

#include <stddef.h>

#include "jitd.h"

/* At most this many hosts are taken (a fleet of 10,000 names of 54 bytes
 * is 550 kB as one parameter). */
#define FLEET_HOSTS_MAX 20000

/* r 0: names ("" when none matched; valid during the call), n of them;
 * r < 0: the database's error (-EIO with why), -ECONNRESET, or -ECANCELED
 * (jitd stops: do not reply). */
typedef void (*fleet_hosts_fn)(int r, const char *names, size_t n, const char *why, void *userdata);

/* -ENOTCONN at once when the database is unreachable; else cb comes once. */
int fleet_hosts_matching(struct jitd *d, const char *pattern, fleet_hosts_fn cb, void *userdata);

/* The SQL condition "scope pattern s (a text) matches host name h", the
 * glob made a regular expression in the statement: * and ? as in fnmatch,
 * . literal, [...] a class when the brackets pair up (else literal). */
#define FLEET_SQL_GLOB_RE(s)                                                                            \
        "(CASE WHEN " s " ~ '^[^][]*(\\[[^][]+\\][^][]*)*$' "                                         \
        "THEN '^' || pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(" s ", '.', '\\.'), '*', '.*'), " \
        "'?', '.') || '$' "                                                                             \
        "ELSE '^' || pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace("       \
        "pg_catalog.replace(" s ", '.', '\\.'), '[', '\\['), ']', '\\]'), '*', '.*'), '?', '.') || '$' END)"

#endif
