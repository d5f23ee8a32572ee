/* SPDX-License-Identifier: BSD-3-Clause */
/* What jitctl prints: aligned tables, key: value blocks, one-line summaries and
 * JSON. Everything writes to a FILE * handed in, so the unit tests can read it
 * back from a memory stream. Human output never passes a control byte, C1
 * control, bidirectional override or invalid UTF-8 through: they are shown as
 * \xNN or \uNNNN (util.h text_escape). */
#ifndef JITCTL_OUTPUT_H
#define JITCTL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "grant.h"

/* Big enough for any time or duration string below. */
#define OUTPUT_TIME_MAX 64

/* An aligned table: column widths from content, two spaces between columns,
 * no trailing blanks. Cells are copied (and sanitised) when added. */
struct output_table;
int output_table_new(size_t ncols, const char *const *headers, struct output_table **ret);
int output_table_add(struct output_table *t, const char *const *cells);
void output_table_print(const struct output_table *t, FILE *f);
void output_table_free(struct output_table *t);

/* s with what util.h text_escape() escapes escaped. NULL prints nothing. */
void output_fputs_safe(const char *s, FILE *f);
/* The same into a fresh string; NULL on ENOMEM. */
char *output_strdup_safe(const char *s);
/* Display width of a UTF-8 string, counting code points (tables hold names,
 * tickets and times, none of them double-width). */
size_t output_width(const char *s);

/* Local time, "YYYY-MM-DD HH:MM" (":SS" with seconds); "-" when t is 0. */
void output_local_time(int64_t t, bool seconds, char *buf, size_t size);
/* UTC, RFC 3339: "2026-11-23T14:05:00Z". -EINVAL when t is 0 (unset). */
int output_rfc3339(int64_t t, char *buf, size_t size);
/* Time left of an active grant ("1h29m", "45s", "0s" once past); "-" for any
 * other state or when the grant has no expiry. */
void output_time_left(const struct jit_grant *g, int64_t now, char *buf, size_t size);
/* State for tables: "pending (1/2)" when peer approvals are counted. */
void output_state(const struct jit_grant *g, char *buf, size_t size);
/* How many approvals the grant has (names in g->approvers). */
unsigned output_approvals_given(const struct jit_grant *g);

/* ID USER ROLE STATE TICKET STARTS EXPIRES LEFT. 0 or -ENOMEM. */
int output_grants_table(FILE *f, const struct jit_grant *g, size_t n, int64_t now);
/* How jitctl names a grant: "12" (a grant of this host) or "F12" (a fleet
 * grant, id 0 and fleet_id 12): the form every verb takes. */
void output_grant_ref(const struct jit_grant *g, char *buf, size_t size);
/* "key: value" lines, keys aligned, every field of the grant. */
void output_grant_show(FILE *f, const struct jit_grant *g, int64_t now);
/* One line saying where the grant stands, from the grant's fields alone:
 * "grant 12 for web-admin is pending: needs 1 approval", "... is still
 * pending: 1 of 2 approvals, needs 1 more", "... is active until 2026-11-23
 * 15:04 (59m59s left)", "... is denied: NOTE". */
void output_grant_summary(FILE *f, const struct jit_grant *g, int64_t now);
/* Aligned "key: value" line; width is the key column including the colon. */
void output_kv(FILE *f, int width, const char *key, const char *value);

/* The documented JSON shape of a grant (see output.c). 0 or -ENOMEM. */
int output_grant_json(const struct jit_grant *g, struct json_object **ret);
/* A JSON array of grants, one line. 0 or -ENOMEM. */
int output_grants_json(FILE *f, const struct jit_grant *g, size_t n);
/* One document on one line, newline terminated. 0 or -ENOMEM. */
int output_json_print(FILE *f, struct json_object *o);
/* jitd's JSON document: one object and nothing else (NULL otherwise). */
struct json_object *output_parse_object(const char *json);

#endif
