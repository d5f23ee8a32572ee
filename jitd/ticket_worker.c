/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ticket engine proper, run in the ticket helper (ticket_helper.c), never
 * in jitd itself: lookups shared per ticket, retries, notes.
 *
 * Retries. Only what may pass on its own is retried: the system unreachable,
 * a timeout, a 5xx, a 503 without Retry-After. Each request gets up to three
 * attempts, 1 s and 2 s apart, all inside 3 x timeout from the first (a later
 * attempt gets a shorter timeout, or is not made). A 429 or 503 with
 * Retry-After is reported at once with retry_after, for the caller to schedule
 * its next poll; certificate failures, malformed or oversized answers,
 * redirects and other 4xx are reported at once too, as asking again would get
 * the same answer.
 *
 * Callbacks run from ticket_worker_process() only, after the transfer is
 * taken out of the engine's lists, so they may start lookups, cancel, and post
 * notes; they must not free the engine. A lookup whose every waiter is
 * cancelled is dropped with its transfer (and its connection).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ticket_internal.h"
#include "util.h"

#define ATTEMPTS        3
#define MIN_ATTEMPT_MS  500             /* a retry with less time left than this is not worth it */
#define NOTE_MAX        8192
#define ID_CACHE        64
#define ID_MAX          64

static const uint64_t backoff_ms[ATTEMPTS - 1] = { 1000, 2000 };

struct waiter {
        struct waiter *next;
        ticket_done_fn cb;
        void *userdata;
        bool cancelled;
        char user[JIT_USER_MAX + 1];
};

/* One lookup in flight for a ticket, with everybody waiting for it. */
struct fetch {
        struct fetch *next;
        struct ticket_worker *e;
        struct waiter *waiters, **tail;
        unsigned attempt;
        int64_t started_ms;
        char ticket[JIT_TICKET_MAX + 1];
};

/* A note on its way; resolving while it first looks the record id up. */
struct note {
        struct note *next;
        struct ticket_worker *e;
        char *text;
        unsigned attempt;
        bool resolving;
        int64_t started_ms;
        char ticket[JIT_TICKET_MAX + 1];
};

struct ticket_worker {
        struct ticket_settings *s;
        struct http_client *http;
        struct fetch *fetches;
        struct fetch *delivering;       /* its callbacks are running: ticket_worker_cancel() must see it */
        struct note *notes;
        struct {
                char ticket[JIT_TICKET_MAX + 1];
                char id[ID_MAX + 1];
        } ids[ID_CACHE];                /* servicenow's sys_id per ticket, for notes */
        size_t next_id;
        ticket_log_fn log;
        void *log_userdata;
};

static bool ticket_ok(const char *t)
{
        return t && t[0] && valid_ticket(t);
}

/* Overwrite every copy of secret in s. curl's messages never carry headers,
 * where the token lives; this is for a token someone put in a URL. */
static void redact_one(char *s, const char *secret)
{
        size_t n;
        char *p;

        if (!secret || (n = strlen(secret)) < 4)
                return;
        while ((p = strstr(s, secret))) {
                memset(p, '*', 3);
                memmove(p + 3, p + n, strlen(p + n) + 1);
        }
}

static void redact(const struct ticket_settings *s, char *why)
{
        redact_one(why, s->token);
        redact_one(why, s->password);
}

static const char *cached_id(const struct ticket_worker *e, const char *ticket)
{
        for (size_t i = 0; i < ID_CACHE; i++)
                if (e->ids[i].ticket[0] && strcmp(e->ids[i].ticket, ticket) == 0)
                        return e->ids[i].id;
        return NULL;
}

static void cache_id(struct ticket_worker *e, const char *ticket, json_object *root)
{
        const char *id = e->s->id ? ticket_json_string(root, e->s->id) : NULL;
        size_t i;

        if (!id || !id[0] || strlen(id) > ID_MAX ||
            strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(id))
                return;
        for (i = 0; i < ID_CACHE; i++)
                if (strcmp(e->ids[i].ticket, ticket) == 0)
                        break;
        if (i == ID_CACHE) {
                i = e->next_id;
                e->next_id = (e->next_id + 1) % ID_CACHE;
        }
        snprintf(e->ids[i].ticket, sizeof(e->ids[i].ticket), "%s", ticket);
        snprintf(e->ids[i].id, sizeof(e->ids[i].id), "%s", id);
}

/* The template with {ticket} and {id} URL-encoded in. */
static int make_url(const char *tmpl, const char *ticket, const char *id, char **ret)
{
        char *t = NULL, *i = NULL, *out = NULL, *o;
        size_t n = 0;
        int r;

        r = http_escape(ticket, &t);
        if (r == 0 && id)
                r = http_escape(id, &i);
        if (r < 0)
                goto out;
        for (const char *p = tmpl; *p; p++)
                n += strncmp(p, "{ticket}", 8) == 0 ? strlen(t) : strncmp(p, "{id}", 4) == 0 && i ? strlen(i) : 1;
        out = o = malloc(n + 1);
        if (!out) {
                r = -ENOMEM;
                goto out;
        }
        for (const char *p = tmpl; *p;) {
                if (strncmp(p, "{ticket}", 8) == 0) {
                        o = stpcpy(o, t);
                        p += 8;
                } else if (i && strncmp(p, "{id}", 4) == 0) {
                        o = stpcpy(o, i);
                        p += 4;
                } else {
                        *o++ = *p++;
                }
        }
        *o = '\0';
        *ret = out;
        out = NULL;
out:
        free(t);
        free(i);
        free(out);
        return r;
}

static bool json_content_type(const char *ct)
{
        size_t n;

        if (!ct)
                return false;
        n = strcspn(ct, "; \t");
        return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
               (n > 17 && strncasecmp(ct, "application/", 12) == 0 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

/* What the transport and the HTTP status say. Returns whether asking again
 * may help; sets *ret_root (and leaves r->verdict 0) when there is a JSON
 * body to judge. */
static bool classify(const struct ticket_settings *s, const char *ticket, const struct http_response *resp,
                     struct ticket_result *r, json_object **ret_root)
{
        char ct[64];

        memset(r, 0, sizeof(*r));
        *ret_root = NULL;
        r->verdict = TICKET_ERROR;
        switch (resp->failure) {
        case HTTP_OK:
                break;
        case HTTP_FAIL_CONNECT:
                snprintf(r->why, sizeof(r->why), "cannot reach the ticket system: %.200s", resp->error);
                return true;
        case HTTP_FAIL_TIMEOUT:
                snprintf(r->why, sizeof(r->why), "the ticket system did not answer within %llus",
                         (unsigned long long) (s->timeout_ms / 1000));
                return true;
        case HTTP_FAIL_TLS:
                snprintf(r->why, sizeof(r->why), "TLS handshake or certificate check with the ticket system "
                         "failed: %.180s", resp->error);
                return false;
        case HTTP_FAIL_TOO_BIG:
                snprintf(r->why, sizeof(r->why), "the ticket system's response is larger than 1 MiB");
                return false;
        default:
                snprintf(r->why, sizeof(r->why), "request to the ticket system failed: %.200s", resp->error);
                return false;
        }

        if (resp->status == 404) {
                r->verdict = TICKET_NOT_FOUND;
                snprintf(r->why, sizeof(r->why), "ticket %s not found", ticket);
                return false;
        }
        if (resp->status == 429 || resp->status == 503) {
                r->retry_after = resp->retry_after;
                if (resp->retry_after > 0)
                        snprintf(r->why, sizeof(r->why), "the ticket system is busy (HTTP %ld): retry after %llds",
                                 resp->status, (long long) resp->retry_after);
                else
                        snprintf(r->why, sizeof(r->why), "the ticket system is busy (HTTP %ld)", resp->status);
                return resp->status == 503 && resp->retry_after == 0;
        }
        if (resp->status >= 300 && resp->status < 400) {
                snprintf(r->why, sizeof(r->why), "redirect refused (HTTP %ld from the ticket system)", resp->status);
                return false;
        }
        if (resp->status == 401 || resp->status == 403) {
                snprintf(r->why, sizeof(r->why), "the ticket system refused our credentials (HTTP %ld): check "
                         "token_file and auth", resp->status);
                return false;
        }
        if (resp->status >= 500) {
                snprintf(r->why, sizeof(r->why), "the ticket system failed (HTTP %ld)", resp->status);
                return true;
        }
        if (resp->status < 200 || resp->status >= 300) {
                snprintf(r->why, sizeof(r->why), "unexpected HTTP %ld from the ticket system", resp->status);
                return false;
        }
        if (!json_content_type(resp->content_type)) {
                text_sanitize(ct, sizeof(ct), resp->content_type ? resp->content_type : "none", 0);
                snprintf(r->why, sizeof(r->why), "wrong content type '%s' from the ticket system (expected JSON)",
                         ct);
                return false;
        }
        if (ticket_json_parse(resp->body, resp->body_len, ret_root, r->why, sizeof(r->why)) < 0) {
                if (!r->why[0])
                        snprintf(r->why, sizeof(r->why), "cannot read the ticket system's answer");
                return false;
        }
        r->verdict = 0;
        return false;
}

/* When the next attempt may start and how long it may take; false when the
 * budget of 3 x timeout does not allow one. */
static bool next_attempt(const struct ticket_settings *s, unsigned attempt, int64_t started_ms,
                         uint64_t *ret_delay, uint64_t *ret_timeout)
{
        int64_t deadline = started_ms + (int64_t) (ATTEMPTS * s->timeout_ms), start, left;

        if (attempt == 0) {
                *ret_delay = 0;
                *ret_timeout = s->timeout_ms;
                return true;
        }
        if (attempt >= ATTEMPTS)
                return false;
        start = now_monotonic_ms() + (int64_t) backoff_ms[attempt - 1];
        left = deadline - start;
        if (left < MIN_ATTEMPT_MS)
                return false;
        *ret_delay = backoff_ms[attempt - 1];
        *ret_timeout = (uint64_t) left < s->timeout_ms ? (uint64_t) left : s->timeout_ms;
        return true;
}

static void fetch_free(struct fetch *f)
{
        if (!f)
                return;
        while (f->waiters) {
                struct waiter *w = f->waiters;

                f->waiters = w->next;
                free(w);
        }
        free(f);
}

static void fetch_unlink(struct fetch *f)
{
        for (struct fetch **pp = &f->e->fetches; *pp; pp = &(*pp)->next)
                if (*pp == f) {
                        *pp = f->next;
                        return;
                }
}

static void fetch_done(void *userdata, const struct http_response *resp);

static int fetch_submit(struct fetch *f)
{
        struct http_request req = { .method = HTTP_GET };
        char *url = NULL;
        int r;

        if (!next_attempt(f->e->s, f->attempt, f->started_ms, &req.delay_ms, &req.timeout_ms))
                return -ETIMEDOUT;
        r = make_url(f->e->s->lookup, f->ticket, NULL, &url);
        if (r < 0)
                return r;
        req.url = url;
        r = http_submit(f->e->http, &req, fetch_done, f);
        free(url);
        if (r == 0)
                f->attempt++;
        return r;
}

static bool fetch_wanted(const struct fetch *f)
{
        for (const struct waiter *w = f->waiters; w; w = w->next)
                if (!w->cancelled)
                        return true;
        return false;
}

static void fetch_done(void *userdata, const struct http_response *resp)
{
        struct fetch *f = userdata;
        struct ticket_worker *e = f->e;
        struct ticket_result base, r;
        json_object *root = NULL;
        bool transient;

        transient = classify(e->s, f->ticket, resp, &base, &root);
        if (transient && fetch_wanted(f) && fetch_submit(f) == 0)
                return;

        fetch_unlink(f);
        if (root)
                cache_id(e, f->ticket, root);
        redact(e->s, base.why);
        e->delivering = f;
        for (struct waiter *w = f->waiters; w; w = w->next) {
                if (w->cancelled)
                        continue;
                w->cancelled = true;    /* exactly once, even if a callback cancels it now */
                if (root) {
                        ticket_judge(e->s, f->ticket, w->user, root, &r);
                        redact(e->s, r.why);
                } else {
                        r = base;
                }
                w->cb(w->userdata, f->ticket, &r);
        }
        e->delivering = NULL;
        json_object_put(root);
        fetch_free(f);
}

int ticket_worker_lookup(struct ticket_worker *e, const char *ticket, const char *user, ticket_done_fn cb,
                         void *userdata)
{
        struct fetch *f;
        struct waiter *w;
        int r;

        if (!e || !cb || !ticket_ok(ticket) || !user || !valid_user_name(user))
                return -EINVAL;
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->cb = cb;
        w->userdata = userdata;
        snprintf(w->user, sizeof(w->user), "%s", user);

        for (f = e->fetches; f; f = f->next)
                if (strcmp(f->ticket, ticket) == 0) {
                        *f->tail = w;
                        f->tail = &w->next;
                        return 0;
                }

        f = calloc(1, sizeof(*f));
        if (!f) {
                free(w);
                return -ENOMEM;
        }
        f->e = e;
        f->waiters = w;
        f->tail = &w->next;
        f->started_ms = now_monotonic_ms();
        snprintf(f->ticket, sizeof(f->ticket), "%s", ticket);
        r = fetch_submit(f);
        if (r < 0) {
                fetch_free(f);
                return r;
        }
        f->next = e->fetches;
        e->fetches = f;
        return 0;
}

void ticket_worker_cancel(struct ticket_worker *e, void *userdata)
{
        if (!e)
                return;
        for (struct fetch *f = e->fetches, *next; f; f = next) {
                next = f->next;
                for (struct waiter *w = f->waiters; w; w = w->next)
                        if (w->userdata == userdata)
                                w->cancelled = true;
                /* Nobody waits any more: the transfer goes, and with it its
                 * connection (a slow system must not collect them). */
                if (!fetch_wanted(f)) {
                        http_abort(e->http, f);
                        fetch_unlink(f);
                        fetch_free(f);
                }
        }
        if (e->delivering)
                for (struct waiter *w = e->delivering->waiters; w; w = w->next)
                        if (w->userdata == userdata)
                                w->cancelled = true;
}

static void note_free(struct note *n)
{
        if (n) {
                free(n->text);
                free(n);
        }
}

static void note_unlink(struct note *n)
{
        for (struct note **pp = &n->e->notes; *pp; pp = &(*pp)->next)
                if (*pp == n) {
                        *pp = n->next;
                        return;
                }
}

/* {"issue": {"notes": text}} from "issue/notes". */
static int note_body(const struct ticket_settings *s, const char *text, char **ret)
{
        json_object *root, *cur;
        const char *p, *slash;
        char key[64];
        int r = -ENOMEM;

        if (s->comment_format == COMMENT_TEXT)
                return (*ret = strdup(text)) ? 0 : -ENOMEM;
        root = cur = json_object_new_object();
        if (!root)
                return -ENOMEM;
        for (p = s->comment_field; (slash = strchr(p, '/')); p = slash + 1) {
                json_object *child = json_object_new_object();

                snprintf(key, sizeof(key), "%.*s", (int) (slash - p), p);
                if (!child || json_object_object_add(cur, key, child) < 0) {
                        json_object_put(child);
                        goto out;
                }
                cur = child;
        }
        {
                json_object *v = json_object_new_string(text);

                if (!v || json_object_object_add(cur, p, v) < 0) {
                        json_object_put(v);
                        goto out;
                }
        }
        *ret = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        r = *ret ? 0 : -ENOMEM;
out:
        json_object_put(root);
        return r;
}

static void note_done(void *userdata, const struct http_response *resp);

static int note_submit(struct note *n)
{
        const struct ticket_settings *s = n->e->s;
        struct http_request req = { .method = HTTP_GET };
        const char *id = NULL;
        char *url = NULL, *body = NULL;
        int r;

        if (!next_attempt(s, n->attempt, n->started_ms, &req.delay_ms, &req.timeout_ms))
                return -ETIMEDOUT;
        if (strstr(s->comment_url, "{id}") && !(id = cached_id(n->e, n->ticket)))
                n->resolving = true;
        if (n->resolving) {
                r = make_url(s->lookup, n->ticket, NULL, &url);
        } else {
                req.method = s->comment_method;
                req.content_type = s->comment_format == COMMENT_TEXT ? "text/plain" : "application/json";
                r = make_url(s->comment_url, n->ticket, id, &url);
                if (r == 0)
                        r = note_body(s, n->text, &body);
                req.body = body;
        }
        req.url = url;
        if (r == 0)
                r = http_submit(n->e->http, &req, note_done, n);
        free(url);
        free(body);
        if (r == 0)
                n->attempt++;
        return r;
}

static void note_give_up(struct note *n, const char *why)
{
        struct ticket_worker *e = n->e;
        char msg[256];

        note_unlink(n);
        snprintf(msg, sizeof(msg), "%s", why);
        redact(e->s, msg);
        if (e->log)
                e->log(e->log_userdata, n->ticket, msg);
        note_free(n);
}

static void note_done(void *userdata, const struct http_response *resp)
{
        struct note *n = userdata;
        struct ticket_worker *e = n->e;
        struct ticket_result res;
        json_object *root = NULL;
        char why[256];
        bool transient;
        int r;

        if (n->resolving) {
                transient = classify(e->s, n->ticket, resp, &res, &root);
                if (root) {
                        cache_id(e, n->ticket, root);
                        json_object_put(root);
                        n->resolving = false;
                        if (!cached_id(e, n->ticket)) {
                                snprintf(why, sizeof(why), "cannot post a note: ticket %s not found", n->ticket);
                                note_give_up(n, why);
                                return;
                        }
                        /* The lookup was not the note: its attempt does not count. */
                        n->attempt = 0;
                        n->started_ms = now_monotonic_ms();
                        transient = true;
                }
        } else if (resp->failure == HTTP_OK && resp->status >= 200 && resp->status < 300) {
                note_unlink(n);
                note_free(n);
                return;
        } else {
                transient = classify(e->s, n->ticket, resp, &res, &root);
                json_object_put(root);
                if (resp->failure == HTTP_OK && resp->status == 404)
                        snprintf(res.why, sizeof(res.why), "ticket %s not found", n->ticket);
        }
        if (transient) {
                r = note_submit(n);
                if (r == 0)
                        return;
        }
        snprintf(why, sizeof(why), "cannot post a note: %.230s", res.why);
        note_give_up(n, why);
}

static bool note_text_ok(const char *text)
{
        size_t n = 0;

        for (const unsigned char *p = (const unsigned char *) text; *p; p++, n++)
                if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
                        return false;
        return n > 0 && n <= NOTE_MAX;
}

int ticket_worker_comment(struct ticket_worker *e, const char *ticket, const char *text)
{
        struct note *n;
        int r;

        if (!e || !ticket_ok(ticket) || !text || !note_text_ok(text))
                return -EINVAL;
        if (!e->s->comment)
                return 0;
        n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        n->e = e;
        n->started_ms = now_monotonic_ms();
        snprintf(n->ticket, sizeof(n->ticket), "%s", ticket);
        n->text = strdup(text);
        if (!n->text) {
                note_free(n);
                return -ENOMEM;
        }
        r = note_submit(n);
        if (r < 0) {
                note_free(n);
                return r;
        }
        n->next = e->notes;
        e->notes = n;
        return 0;
}

int ticket_worker_new(const struct ticket_worker_options *wo, struct ticket_worker **ret, char *why, size_t why_size)
{
        struct http_options o = { .max_body = TICKET_MAX_BODY };
        struct ticket_worker *e;
        int r;

        if (!wo || !wo->cfg || !ret || !why || why_size == 0)
                return -EINVAL;
        why[0] = '\0';
        if (!ticket_system_configured(wo->cfg)) {
                *ret = NULL;
                return 0;
        }
        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        r = ticket_settings_new(wo->cfg, wo->host, wo->token, &e->s, why, why_size);
        if (r < 0) {
                free(e);
                return r;
        }
        o.allow_http = e->s->allow_http;
        o.ca_file = e->s->ca_file;
        o.ca_pem = wo->ca_pem;
        o.ca_pem_len = wo->ca_pem_len;
        o.auth_header = e->s->auth_header;
        o.user = e->s->user;
        o.password = e->s->password;
        r = http_client_new(&o, &e->http);
        if (r < 0) {
                snprintf(why, why_size, "cannot set up HTTP: %s", strerror(-r));
                ticket_worker_free(e);
                return r;
        }
        *ret = e;
        return 0;
}

void ticket_worker_free(struct ticket_worker *e)
{
        if (!e)
                return;
        http_client_free(e->http);      /* first: no callback may run on what follows */
        while (e->fetches) {
                struct fetch *f = e->fetches;

                e->fetches = f->next;
                fetch_free(f);
        }
        while (e->notes) {
                struct note *n = e->notes;

                e->notes = n->next;
                note_free(n);
        }
        ticket_settings_free(e->s);
        free(e);
}

int ticket_worker_fd(const struct ticket_worker *e)
{
        return e ? http_client_fd(e->http) : -EINVAL;
}

void ticket_worker_process(struct ticket_worker *e)
{
        if (e)
                http_client_process(e->http);
}

void ticket_worker_set_log(struct ticket_worker *e, ticket_log_fn fn, void *userdata)
{
        if (e) {
                e->log = fn;
                e->log_userdata = userdata;
        }
}
