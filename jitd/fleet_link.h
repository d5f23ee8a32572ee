/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitd's connection to the fleet's PostgreSQL database, driven by the
 * sd-event loop and never blocking it: PQconnectStartParams/PQconnectPoll
 * on io sources, then one parameterised query at a time with
 * PQsendQueryParams, PQflush, PQconsumeInput, PQisBusy and PQgetResult,
 * LISTEN on a channel, reconnection with exponential backoff and jitter.
 *
 * The password is read from the [fleet] password_file at each connection
 * (root's, mode 0600, no link: else the attempt fails), passed as libpq's
 * password parameter, and wiped from our memory right after. A host that
 * logs in with a client certificate instead names sslcert and sslkey in the
 * connection string: the key is judged at each connection by the same rules
 * (common/sslkey.h), else the attempt fails, and a key with a passphrase is
 * refused (libpq gets an empty one: OpenSSL never asks on a terminal).
 * Nothing here logs: the state changes go to the owner's callback, which
 * says them once per outage.
 *
 * libpq would resolve a host name with a blocking getaddrinfo() inside
 * PQconnectStartParams: when the connection string's host= holds names and
 * no hostaddr=, each entry is resolved first, off the loop (resolve.c, its
 * first address), and libpq gets host= as given (for verify-full) with
 * hostaddr= those addresses. A name that does not resolve is a failed
 * attempt like any other. A host from PGHOST or a service file is not seen
 * here and would still be looked up by libpq.
 */
#ifndef JITD_FLEET_LINK_H
#define JITD_FLEET_LINK_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

struct sd_event;
struct fleet_link;

struct fleet_link_ops {
        /* Connected and listening: a catch-up is due. */
        void (*up)(void *userdata);
        /* The connection failed or was lost (why: one line, never a
         * password); the link retries by itself. */
        void (*down)(const char *why, void *userdata);
        /* A notification on the channel. */
        void (*notified)(void *userdata);
};

/* A query's end: r 0 with res (PGRES_TUPLES_OK or PGRES_COMMAND_OK), or a
 * negative errno: -EIO with res and why (the server refused it),
 * -ECONNRESET (the connection went; res NULL). res is freed after the call. */
typedef void (*fleet_query_fn)(int r, const PGresult *res, const char *why, void *userdata);

/* Starts connecting at once. conninfo and password_file are copied;
 * channel is a static identifier (LISTEN takes no parameter); NULL: no LISTEN
 * (a link for writes only). */
int fleet_link_new(struct sd_event *e, const char *conninfo, const char *password_file, const char *channel,
                   const struct fleet_link_ops *ops, void *userdata, struct fleet_link **ret);
void fleet_link_free(struct fleet_link *l);

/* Connected and listening, no query in flight. */
bool fleet_link_ready(const struct fleet_link *l);

/* Whether the server accepted LISTEN on this connection; when it did not
 * (a hot standby), *ret_why is its refusal, valid until the next connection. */
bool fleet_link_pushing(const struct fleet_link *l, const char **ret_why);

/* Sends one query with text parameters. -ENOTCONN when not connected,
 * -EBUSY while another runs; cb comes exactly once from the loop otherwise,
 * unless the link is freed first (then never). */
int fleet_link_query(struct fleet_link *l, const char *sql, int n_params, const char *const *params,
                     fleet_query_fn cb, void *userdata);

#endif
