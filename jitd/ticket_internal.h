/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inside the ticket helper: the settings a [ticket] section resolves to once
 * its preset is applied (ticket_presets.c), the reading of a response into a
 * verdict (ticket_verdict.c), and the engine that runs the lookups
 * (ticket_worker.c). None of this runs in jitd's own process.
 */
#ifndef JITD_TICKET_INTERNAL_H
#define JITD_TICKET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "config.h"
#include "http.h"
#include "ticket.h"
#include "ticket_helper.h"

#define TICKET_MAX_BODY   (1024 * 1024)
#define TICKET_TIMEOUT_MAX 600          /* seconds; a lookup may take 3 x this with retries */

enum comment_format { COMMENT_NONE = 0, COMMENT_JSON, COMMENT_TEXT };

/* Everything [ticket] can say, with the preset filled in under the config.
 * Templates have {url} and {project} substituted; {ticket} (and {id} in
 * comment_url) are left for each request. */
struct ticket_settings {
        char *provider;
        char *host;                     /* this machine, for the hosts binding */
        char *lookup;
        char *status, *requester, *user_map, *window_start, *window_end, *hosts;
        char **approved, **closed;      /* NULL = nothing */
        /* Preset-only: */
        char *exists;                   /* must resolve, else NOT_FOUND (servicenow's empty result) */
        char *state;                    /* a second field that also closes (gitlab, servicenow) */
        char **state_closed;
        char *id;                       /* the record id comment_url needs ({id}) */
        char *comment_url;
        enum http_method comment_method;
        enum comment_format comment_format;
        char *comment_field;            /* "body", "issue/notes": where the text goes in the JSON */
        bool comment;
        uint64_t timeout_ms, poll;
        /* Credentials, one of the two forms; token is kept to redact it. */
        char *token;
        char *auth_header;
        char *user, *password;
        bool allow_http;
        char *ca_file;
};

/* token: what token_file holds (NULL: no token_file). */
int ticket_settings_new(const struct ticket_config *cfg, const char *host, const char *token,
                        struct ticket_settings **ret, char *why, size_t why_size);
void ticket_settings_free(struct ticket_settings *s);

/* Strict JSON: depth 32, valid UTF-8, nothing but white space after the
 * value. why gets json-c's reason. */
int ticket_json_parse(const char *body, size_t len, json_object **ret, char *why, size_t why_size);

/* The verdict for user from a parsed 2xx body. Fills every field of r. */
void ticket_judge(const struct ticket_settings *s, const char *ticket, const char *user, json_object *root,
                  struct ticket_result *r);

/* The value at pointer as a string, when it is a string or a number; objects
 * give their identity member (see ticket_verdict.c). NULL when absent. */
const char *ticket_json_string(json_object *root, const char *pointer);

/* "2024-05-01T10:00:00Z", "...T10:00:00.123+02:00", "...+0200", "2024-05-01
 * 10:00:00" (UTC). Values systems use for "unset" ("", "0000-00-00 00:00:00")
 * give 0. -EINVAL for anything else. */
int ticket_parse_time(const char *s, int64_t *ret);

/* The engine: what ticket.h promises, run inside the helper. The same
 * contracts as ticket_engine_*() and ticket_lookup() there, but for the
 * limits, which jitd keeps. */
struct ticket_worker;
struct ticket_worker_options {
        const struct ticket_config *cfg;
        const char *host;               /* this machine, for the hosts binding */
        const char *token;              /* token_file's line; NULL without token_file */
        const char *ca_pem;             /* ca_file's contents (read before privileges went); */
        size_t ca_pem_len;              /*   NULL: ca_file by name, if set */
};
int ticket_worker_new(const struct ticket_worker_options *o, struct ticket_worker **ret, char *why,
                      size_t why_size);
void ticket_worker_free(struct ticket_worker *w);
int ticket_worker_fd(const struct ticket_worker *w);
void ticket_worker_process(struct ticket_worker *w);
int ticket_worker_lookup(struct ticket_worker *w, const char *ticket, const char *user, ticket_done_fn cb,
                         void *userdata);
void ticket_worker_cancel(struct ticket_worker *w, void *userdata);
int ticket_worker_comment(struct ticket_worker *w, const char *ticket, const char *text);
void ticket_worker_set_log(struct ticket_worker *w, ticket_log_fn fn, void *userdata);

#endif
