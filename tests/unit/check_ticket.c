/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ticket engine (jitd/ticket_worker.c, which runs in the ticket helper)
 * against tests/ticketd.py, which answers with each system's real response
 * shapes on 127.0.0.1 (http and https with a test CA made here with
 * openssl). main() starts one server for the whole run; every test resets
 * it. The engine is driven in-process, the way the helper drives it: an
 * epoll on ticket_worker_fd(), ticket_worker_process() when it is readable.
 * jitd's side (the proxy, the helper's sandbox and restarts) is
 * tests/integration/tickets_privsep.sh.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "test_dirs.h"
#include "config.h"
#include "http.h"
#include "ticket.h"
#include "ticket_internal.h"
#include "util.h"

#define TOKEN "jit-test-token"
#define HOST  "web1"
#define WAIT_MS 15000

static char rootdir[200];
static char tmpdir[256];
static char ca_pem[PATH_MAX], other_pem[PATH_MAX];
static int http_port, https_port;
static pid_t server_pid = -1;

/* ---- the server's control API, through plain blocking curl (test side only) ---- */

struct buf {
        char *p;
        size_t n;
};

static size_t buf_add(char *p, size_t size, size_t n, void *userdata)
{
        struct buf *b = userdata;
        char *q = realloc(b->p, b->n + size * n + 1);

        if (!q)
                return 0;
        memcpy(q + b->n, p, size * n);
        b->n += size * n;
        q[b->n] = '\0';
        b->p = q;
        return size * n;
}

static long ctl(const char *method, const char *path, const char *json, char **ret_body)
{
        struct buf b = { 0 };
        char url[512];
        long code = 0;
        CURL *h = curl_easy_init();

        ck_assert_ptr_nonnull(h);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", http_port, path);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, buf_add);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        if (json)
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
        ck_assert_int_eq(curl_easy_perform(h), CURLE_OK);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(h);
        if (ret_body)
                *ret_body = b.p ? b.p : strdup("");
        else
                free(b.p);
        return code;
}

static void set_ticket(const char *id, const char *json)
{
        char path[256], *esc = NULL;

        ck_assert_int_eq(http_escape(id, &esc), 0);
        snprintf(path, sizeof(path), "/_control/ticket/%s", esc);
        free(esc);
        ck_assert_int_eq(ctl("POST", path, json, NULL), 200);
}

static json_object *ctl_json(const char *path)
{
        char *body = NULL;
        json_object *o;

        ck_assert_int_eq(ctl("GET", path, NULL, &body), 200);
        o = json_tokener_parse(body);
        free(body);
        ck_assert_ptr_nonnull(o);
        return o;
}

static int count_of(const char *what, const char *ticket)
{
        json_object *o = ctl_json("/_control/count"), *t = NULL, *n = NULL;
        int v = 0;

        if (json_object_object_get_ex(o, what, &t) && json_object_object_get_ex(t, ticket, &n))
                v = json_object_get_int(n);
        json_object_put(o);
        return v;
}

/* Lookups the server answered for this ticket. */
static int lookups_of(const char *ticket)
{
        return count_of("tickets", ticket);
}

static size_t notes_count(void)
{
        json_object *o = ctl_json("/_control/notes");
        size_t n = json_object_array_length(o);

        json_object_put(o);
        return n;
}

/* ---- fixtures ---- */

static void setup(void)
{
        test_subdir(tmpdir, sizeof(tmpdir), rootdir);
        ck_assert_int_eq(ctl("POST", "/_control/reset", "{}", NULL), 200);
}

static void teardown(void)
{
        test_remove_dir(tmpdir);
}

static char *write_file(const char *name, const char *content, mode_t mode)
{
        char path[PATH_MAX];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        unlink(path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t) strlen(content));
        ck_assert_int_eq(fchmod(fd, mode), 0);
        close(fd);
        return strdup(path);
}

static char **list(const char *s)
{
        char **v = NULL;

        ck_assert_int_eq(strv_split(s, ',', &v), 0);
        return v;
}

static void cfg_clear(struct ticket_config *c)
{
        free(c->provider);
        free(c->url);
        free(c->token_file);
        free(c->auth);
        free(c->lookup);
        free(c->status);
        free(c->requester);
        free(c->user_map);
        strv_free(c->approved);
        strv_free(c->closed);
        free(c->window_start);
        free(c->window_end);
        free(c->hosts);
        free(c->ca_file);
        free(c->project);
        memset(c, 0, sizeof(*c));
}

static void set_str(char **field, const char *v)
{
        free(*field);
        *field = v ? strdup(v) : NULL;
}

static void set_url(struct ticket_config *c, const char *scheme, int port)
{
        char url[128];

        snprintf(url, sizeof(url), "%s://127.0.0.1:%d", scheme, port);
        set_str(&c->url, url);
}

static void set_token(struct ticket_config *c, const char *content, mode_t mode)
{
        free(c->token_file);
        c->token_file = write_file("token", content, mode);
}

/* What each preset looks like at the test server. */
struct preset_case {
        const char *provider;
        const char *ticket;
        const char *token;              /* token_file content */
        const char *note_method, *note_path, *note_type, *note_field;
        const char *hosts;              /* pointer to the ticket's host list */
        const char *window_start, *window_end;  /* NULL: the preset's (or none) */
};

static const struct preset_case presets[] = {
        { "jira", "OPS-1", TOKEN "\n", "POST", "/rest/api/2/issue/OPS-1/comment", "application/json", "/body",
          "/fields/customfield_10200", "/fields/customfield_10300", "/fields/customfield_10301" },
        { "servicenow", "CHG0030001", "svc-jit:" TOKEN "\n", "PATCH",
          "/api/now/table/change_request/" /* + md5 */, "application/json", "/work_notes",
          "/result/0/cmdb_ci.name", NULL, NULL },
        { "redmine", "101", TOKEN, "PUT", "/issues/101.json", "application/json", "/issue/notes",
          "/issue/custom_fields/0/value", "/issue/custom_fields/1/value", "/issue/custom_fields/2/value" },
        { "rt", "201", TOKEN "\r\n", "POST", "/REST/2.0/ticket/201/comment", "text/plain", NULL,
          "/CustomFields/0/values", "/Starts", "/Due" },
        { "gitlab", "301", TOKEN, "POST", "/api/v4/projects/ops%2Fchanges/issues/301/notes", "application/json",
          "/body", "/labels", NULL, NULL },
        { "http", "H-1", TOKEN, NULL, NULL, NULL, NULL, "/ticket/hosts", "/ticket/window/start",
          "/ticket/window/end" },
};

static void cfg_preset(struct ticket_config *c, const struct preset_case *p)
{
        memset(c, 0, sizeof(*c));
        set_str(&c->provider, p->provider);
        set_url(c, "http", http_port);
        c->allow_http = true;
        c->timeout = 5;
        c->poll = 60;
        set_token(c, p->token, 0600);
        if (strcmp(p->provider, "gitlab") == 0)
                set_str(&c->project, "ops/changes");
        if (strcmp(p->provider, "http") == 0) {
                set_str(&c->lookup, "{url}/http/ticket/{ticket}");
                set_str(&c->status, "/ticket/state");
                set_str(&c->requester, "/ticket/owner");
                c->approved = list("approved");
                c->closed = list("closed,rejected");
        }
}

/* What jitd and its helper do between them: jitd reads the token, the
 * helper builds the engine with it. */
static int worker_new(const struct ticket_config *c, struct ticket_worker **ret, char *why, size_t size)
{
        struct ticket_worker_options o = { .cfg = c, .host = HOST };
        char *token = NULL;
        int r;

        if (c->token_file && ticket_system_configured(c)) {
                r = ticket_token_read(c->token_file, &token, why, size);
                if (r < 0)
                        return r;
        }
        o.token = token;
        r = ticket_worker_new(&o, ret, why, size);
        free(token);
        return r;
}

static struct ticket_worker *engine(const struct ticket_config *c)
{
        struct ticket_worker *e = NULL;
        char why[256] = "";
        int r = worker_new(c, &e, why, sizeof(why));

        ck_assert_msg(r == 0, "ticket_worker_new: %d %s", r, why);
        ck_assert_ptr_nonnull(e);
        return e;
}

static int engine_fails(const struct ticket_config *c, char *why, size_t size)
{
        struct ticket_worker *e = NULL;
        int r = worker_new(c, &e, why, size);

        ck_assert_ptr_null(e);
        return r;
}

/* ---- driving the engine ---- */

struct outcome {
        int calls;
        struct ticket_result r;
        char ticket[JIT_TICKET_MAX + 1];
};

static void on_done(void *userdata, const char *ticket, const struct ticket_result *r)
{
        struct outcome *o = userdata;

        o->calls++;
        o->r = *r;
        snprintf(o->ticket, sizeof(o->ticket), "%s", ticket);
}

static bool called(void *arg)
{
        return ((struct outcome *) arg)->calls > 0;
}

/* jitd's loop in small: wait for the engine's fd, process when it is ready. */
static int64_t run_until(struct ticket_worker *e, bool (*pred)(void *), void *arg, int64_t max_ms)
{
        struct epoll_event ev = { .events = EPOLLIN };
        int64_t start = now_monotonic_ms();
        int ep = epoll_create1(EPOLL_CLOEXEC);

        ck_assert_int_ge(ep, 0);
        ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, ticket_worker_fd(e), &ev), 0);
        while (!pred(arg)) {
                int64_t left = start + max_ms - now_monotonic_ms();

                if (left <= 0)
                        break;
                if (epoll_wait(ep, &ev, 1, left > 50 ? 50 : (int) left) > 0)
                        ticket_worker_process(e);
        }
        close(ep);
        return now_monotonic_ms() - start;
}

static struct ticket_result lookup_ms(struct ticket_worker *e, const char *ticket, const char *user,
                                      int64_t *ret_ms)
{
        struct outcome o = { 0 };
        int64_t ms;

        ck_assert_int_eq(ticket_worker_lookup(e, ticket, user, on_done, &o), 0);
        ck_assert_int_eq(o.calls, 0);   /* never from inside ticket_worker_lookup() */
        ms = run_until(e, called, &o, WAIT_MS);
        ck_assert_msg(o.calls == 1, "no answer for %s within %d ms", ticket, WAIT_MS);
        ck_assert_str_eq(o.ticket, ticket);
        ck_assert(!strstr(o.r.why, TOKEN));
        if (ret_ms)
                *ret_ms = ms;
        return o.r;
}

static struct ticket_result lookup(struct ticket_worker *e, const char *ticket, const char *user)
{
        return lookup_ms(e, ticket, user, NULL);
}

static void expect(struct ticket_worker *e, const char *ticket, enum ticket_verdict v)
{
        struct ticket_result r = lookup(e, ticket, "alice");

        ck_assert_msg(r.verdict == v, "%s: verdict %d, wanted %d (%s)", ticket, r.verdict, v, r.why);
}

/* ---- presets, each against its system's real shapes ---- */

START_TEST(test_preset_lifecycle)
{
        const struct preset_case *p = &presets[_i];
        struct ticket_config c;
        struct ticket_worker *e;
        struct ticket_result r;

        cfg_preset(&c, p);
        e = engine(&c);

        set_ticket(p->ticket, "{\"state\":\"pending\"}");
        r = lookup(e, p->ticket, "alice");
        ck_assert_msg(r.verdict == TICKET_PENDING, "%s: %d %s", p->provider, r.verdict, r.why);
        ck_assert_int_eq(r.window_start, 0);

        set_ticket(p->ticket, "{\"state\":\"approved\"}");
        r = lookup(e, p->ticket, "alice");
        ck_assert_msg(r.verdict == TICKET_APPROVED, "%s: %d %s", p->provider, r.verdict, r.why);
        ck_assert(r.status[0]);

        set_ticket(p->ticket, "{\"state\":\"closed\"}");
        expect(e, p->ticket, TICKET_CLOSED);
        set_ticket(p->ticket, "{\"state\":\"rejected\"}");
        expect(e, p->ticket, TICKET_CLOSED);

        r = lookup(e, "999", "alice");
        ck_assert_msg(r.verdict == TICKET_NOT_FOUND, "%s: %d %s", p->provider, r.verdict, r.why);
        ck_assert_str_eq(r.why, "ticket 999 not found");

        ticket_worker_free(e);
        cfg_clear(&c);
}
END_TEST

START_TEST(test_preset_requester)
{
        const struct preset_case *p = &presets[_i];
        struct ticket_config c;
        struct ticket_worker *e;
        struct ticket_result r;
        char want[256];

        cfg_preset(&c, p);
        e = engine(&c);
        set_ticket(p->ticket, "{\"state\":\"approved\",\"requester\":\"bob\"}");
        r = lookup(e, p->ticket, "alice");
        ck_assert_int_eq(r.verdict, TICKET_REFUSED);
        /* The requester hears nothing from somebody else's ticket: not who
         * asked for it, not its status. The admin's detail says who. */
        snprintf(want, sizeof(want), "ticket %s does not name you as its requester", p->ticket);
        ck_assert_str_eq(r.why, want);
        ck_assert_str_eq(r.status, "");
        ck_assert(!r.requester_ok);
        snprintf(want, sizeof(want), "ticket %s was requested by bob, not alice", p->ticket);
        ck_assert_str_eq(r.detail, want);
        expect(e, p->ticket, TICKET_REFUSED);
        r = lookup(e, p->ticket, "bob");
        ck_assert_int_eq(r.verdict, TICKET_APPROVED);
        ck_assert(r.requester_ok);
        ck_assert_str_eq(r.detail, "");

        /* Closed, but somebody else's: still only "not yours". */
        set_ticket(p->ticket, "{\"state\":\"closed\"}");
        r = lookup(e, p->ticket, "alice");
        ck_assert_int_eq(r.verdict, TICKET_REFUSED);
        ck_assert_str_eq(r.status, "");
        ck_assert_ptr_null(strstr(r.why, "bob"));
        r = lookup(e, p->ticket, "bob");
        ck_assert_int_eq(r.verdict, TICKET_CLOSED);
        ck_assert(r.requester_ok);

        /* Refused before approval too: no point waiting for it. */
        set_ticket(p->ticket, "{\"state\":\"pending\"}");
        expect(e, p->ticket, TICKET_REFUSED);

        set_ticket(p->ticket, "{\"state\":\"approved\",\"requester\":null}");
        r = lookup(e, p->ticket, "alice");
        ck_assert_int_eq(r.verdict, TICKET_REFUSED);
        ck_assert_ptr_nonnull(strstr(r.why, "does not name you as its requester"));
        ck_assert_ptr_nonnull(strstr(r.detail, "names no requester"));

        ticket_worker_free(e);
        cfg_clear(&c);
}
END_TEST

START_TEST(test_preset_hosts)
{
        const struct preset_case *p = &presets[_i];
        struct ticket_config c;
        struct ticket_worker *e;
        struct ticket_result r;

        cfg_preset(&c, p);
        set_str(&c.hosts, p->hosts);
        e = engine(&c);

        set_ticket(p->ticket, "{\"state\":\"approved\",\"hosts\":[\"web2\"]}");
        r = lookup(e, p->ticket, "alice");
        ck_assert_int_eq(r.verdict, TICKET_REFUSED);
        ck_assert_ptr_nonnull(strstr(r.why, "not for this host (web1)"));

        set_ticket(p->ticket, "{\"hosts\":[]}");
        expect(e, p->ticket, TICKET_REFUSED);

        /* servicenow's change has one configuration item */
        set_ticket(p->ticket, strcmp(p->provider, "servicenow") == 0 ? "{\"hosts\":[\"WEB1\"]}"
                                                                      : "{\"hosts\":[\"db1\",\"WEB1\"]}");
        expect(e, p->ticket, TICKET_APPROVED);

        ticket_worker_free(e);
        cfg_clear(&c);
}
END_TEST

START_TEST(test_preset_window)
{
        const struct preset_case *p = &presets[_i];
        struct ticket_config c;
        struct ticket_worker *e;
        struct ticket_result r;

        cfg_preset(&c, p);
        if (strcmp(p->provider, "gitlab") == 0) {       /* issues have no change window */
                cfg_clear(&c);
                return;
        }
        set_str(&c.window_start, p->window_start);
        set_str(&c.window_end, p->window_end);
        e = engine(&c);

        /* 2024-05-01 10:00 and 12:00 UTC, in the system's own format */
        set_ticket(p->ticket, "{\"state\":\"approved\",\"window\":[1714557600,1714564800]}");
        r = lookup(e, p->ticket, "alice");
        ck_assert_msg(r.verdict == TICKET_APPROVED, "%s: %s", p->provider, r.why);
        ck_assert_int_eq(r.window_start, 1714557600);
        ck_assert_int_eq(r.window_end, 1714564800);

        /* The system's own "unset" (null, "", RT's 1970) is no window. */
        set_ticket(p->ticket, "{\"window\":[null,null]}");
        r = lookup(e, p->ticket, "alice");
        ck_assert_int_eq(r.verdict, TICKET_APPROVED);
        ck_assert_int_eq(r.window_start, 0);
        ck_assert_int_eq(r.window_end, 0);

        set_ticket(p->ticket, "{\"window\":[null,1714564800]}");
        r = lookup(e, p->ticket, "alice");
        ck_assert_int_eq(r.window_start, 0);
        ck_assert_int_eq(r.window_end, 1714564800);

        /* Reported while pending too, for the user to see. */
        set_ticket(p->ticket, "{\"state\":\"pending\",\"window\":[1714557600,1714564800]}");
        r = lookup(e, p->ticket, "alice");
        ck_assert_int_eq(r.verdict, TICKET_PENDING);
        ck_assert_int_eq(r.window_start, 1714557600);

        set_ticket(p->ticket, "{\"state\":\"approved\",\"window\":[1714564800,1714557600]}");
        r = lookup(e, p->ticket, "alice");
        ck_assert_int_eq(r.verdict, TICKET_REFUSED);
        ck_assert_ptr_nonnull(strstr(r.why, "ends before it starts"));

        ticket_worker_free(e);
        cfg_clear(&c);
}
END_TEST

static bool has_notes(void *arg)
{
        return notes_count() >= *(size_t *) arg;
}

START_TEST(test_preset_note)
{
        static const char text[] = "jit: grant 7 for alice on web1 (role \"dba\") is active; from 10:00 until 11:00\n"
                                   "ünïcode & <stuff> / \\ ok";
        const struct preset_case *p = &presets[_i];
        struct ticket_config c;
        struct ticket_worker *e;
        json_object *notes, *n, *v, *body;
        char why[256], path[256];
        size_t one = 1, two = 2;

        cfg_preset(&c, p);
        c.comment = true;
        if (!p->note_method) {
                ck_assert_int_eq(engine_fails(&c, why, sizeof(why)), -EINVAL);
                ck_assert_str_eq(why, "provider http has no comment API: set comment = no");
                cfg_clear(&c);
                return;
        }
        e = engine(&c);
        set_ticket(p->ticket, "{\"state\":\"approved\"}");
        /* servicenow: the note needs the record's sys_id, which the engine
         * looks up first when it has not seen the ticket yet. */
        ck_assert_int_eq(ticket_worker_comment(e, p->ticket, text), 0);
        run_until(e, has_notes, &one, WAIT_MS);
        ck_assert_uint_eq(notes_count(), 1);
        run_until(e, called, &(struct outcome) { 0 }, 200);     /* let the answer in */

        notes = ctl_json("/_control/notes");
        n = json_object_array_get_idx(notes, 0);
        ck_assert(json_object_object_get_ex(n, "method", &v));
        ck_assert_str_eq(json_object_get_string(v), p->note_method);
        ck_assert(json_object_object_get_ex(n, "path", &v));
        if (strcmp(p->provider, "servicenow") == 0) {
                ck_assert(json_object_object_get_ex(n, "ticket", &v));
                ck_assert_str_eq(json_object_get_string(v), p->ticket);     /* the sys_id was the ticket's */
        } else {
                ck_assert(json_object_object_get_ex(n, "path", &v));
                ck_assert_str_eq(json_object_get_string(v), p->note_path);
        }
        ck_assert(json_object_object_get_ex(n, "content_type", &v));
        ck_assert_str_eq(json_object_get_string(v), p->note_type);
        ck_assert(json_object_object_get_ex(n, "body", &v));
        if (p->note_field) {
                body = json_tokener_parse(json_object_get_string(v));
                ck_assert_ptr_nonnull(body);
                ck_assert_str_eq(ticket_json_string(body, p->note_field), text);
                json_object_put(body);
        } else {
                ck_assert_str_eq(json_object_get_string(v), text);
        }
        json_object_put(notes);

        /* servicenow remembers the sys_id: the second note needs no lookup. */
        ck_assert_int_eq(lookups_of(p->ticket), strcmp(p->provider, "servicenow") == 0 ? 1 : 0);
        ck_assert_int_eq(ticket_worker_comment(e, p->ticket, "grant 7 ended"), 0);
        run_until(e, has_notes, &two, WAIT_MS);
        ck_assert_uint_eq(notes_count(), 2);
        ck_assert_int_eq(lookups_of(p->ticket), strcmp(p->provider, "servicenow") == 0 ? 1 : 0);

        snprintf(path, sizeof(path), "%s", p->ticket);
        ck_assert_int_eq(ticket_worker_comment(e, "bad ticket", "x"), -EINVAL);
        ck_assert_int_eq(ticket_worker_comment(e, path, "bell\a"), -EINVAL);
        ck_assert_int_eq(ticket_worker_comment(e, path, ""), -EINVAL);
        ticket_worker_free(e);
        cfg_clear(&c);
}
END_TEST

START_TEST(test_preset_wrong_token)
{
        const struct preset_case *p = &presets[_i];
        struct ticket_config c;
        struct ticket_worker *e;
        struct ticket_result r;

        cfg_preset(&c, p);
        set_token(&c, strcmp(p->provider, "servicenow") == 0 ? "svc-jit:wrong-secret" : "wrong-secret", 0600);
        e = engine(&c);
        set_ticket(p->ticket, "{\"state\":\"approved\"}");
        r = lookup(e, p->ticket, "alice");
        ck_assert_int_eq(r.verdict, TICKET_ERROR);
        ck_assert_ptr_nonnull(strstr(r.why, "HTTP 401"));
        ck_assert_ptr_null(strstr(r.why, "wrong-secret"));
        ck_assert_int_eq(r.retry_after, 0);
        ck_assert_int_eq(lookups_of(p->ticket), 0);     /* refused, and not retried */
        ticket_worker_free(e);
        cfg_clear(&c);
}
END_TEST

/* ---- other credentials and mappings ---- */

START_TEST(test_basic_auth_variants)
{
        struct ticket_config c;
        struct ticket_worker *e;

        /* Jira Cloud: "email:apitoken" means basic. */
        cfg_preset(&c, &presets[0]);
        set_token(&c, "alice@example.org:" TOKEN "\n", 0600);
        e = engine(&c);
        set_ticket("OPS-1", "{\"state\":\"approved\"}");
        expect(e, "OPS-1", TICKET_APPROVED);
        ticket_worker_free(e);
        cfg_clear(&c);

        /* RT with a password instead of an auth token. */
        cfg_preset(&c, &presets[3]);
        set_token(&c, "jit:" TOKEN, 0600);
        e = engine(&c);
        set_ticket("201", "{\"state\":\"approved\"}");
        expect(e, "201", TICKET_APPROVED);
        ticket_worker_free(e);
        cfg_clear(&c);

        /* An explicit auth wins over the guess. */
        cfg_preset(&c, &presets[0]);
        set_str(&c.auth, "bearer");
        set_token(&c, "alice@example.org:" TOKEN, 0600);
        e = engine(&c);
        ck_assert_int_eq(lookup(e, "OPS-1", "alice").verdict, TICKET_ERROR);
        ticket_worker_free(e);
        cfg_clear(&c);
}
END_TEST

START_TEST(test_user_map)
{
        struct ticket_config c;
        struct ticket_worker *e;
        struct ticket_result r;

        cfg_preset(&c, &presets[0]);
        set_str(&c.requester, "/fields/reporter/emailAddress");
        set_str(&c.user_map, "{user}@example.org");
        e = engine(&c);
        set_ticket("OPS-1", "{\"state\":\"approved\",\"requester\":\"alice\"}");
        expect(e, "OPS-1", TICKET_APPROVED);
        r = lookup(e, "OPS-1", "bob");
        ck_assert_int_eq(r.verdict, TICKET_REFUSED);
        ck_assert_str_eq(r.why, "ticket OPS-1 does not name you as its requester");
        ck_assert_str_eq(r.detail, "ticket OPS-1 was requested by alice@example.org, not bob");
        ticket_worker_free(e);
        cfg_clear(&c);

        /* The whole reporter object: its login ("name") is what counts, not its display name. */
        cfg_preset(&c, &presets[0]);
        set_str(&c.requester, "/fields/reporter");
        e = engine(&c);
        expect(e, "OPS-1", TICKET_APPROVED);
        ck_assert_int_eq(lookup(e, "OPS-1", "bob").verdict, TICKET_REFUSED);
        ticket_worker_free(e);
        cfg_clear(&c);
}
END_TEST

START_TEST(test_overrides)
{
        struct ticket_config c;
        struct ticket_worker *e;
        struct ticket_result r;

        /* Jira with its own workflow words. */
        cfg_preset(&c, &presets[0]);
        c.approved = list("Waiting for approval");
        c.closed = list("Approved");
        e = engine(&c);
        set_ticket("OPS-1", "{\"state\":\"pending\"}");
        r = lookup(e, "OPS-1", "alice");
        ck_assert_int_eq(r.verdict, TICKET_APPROVED);
        ck_assert_str_eq(r.status, "Waiting for approval");
        set_ticket("OPS-1", "{\"state\":\"approved\"}");
        expect(e, "OPS-1", TICKET_CLOSED);
        ticket_worker_free(e);
        cfg_clear(&c);

        /* A lookup override, and a status pointer that misses. */
        cfg_preset(&c, &presets[0]);
        set_str(&c.lookup, "{url}/rest/api/2/issue/{ticket}?fields=status,reporter");
        set_str(&c.status, "/fields/state/name");
        e = engine(&c);
        r = lookup(e, "OPS-1", "alice");
        ck_assert_int_eq(r.verdict, TICKET_ERROR);
        ck_assert_str_eq(r.why, "the ticket system's answer has no /fields/state/name");
        ticket_worker_free(e);
        cfg_clear(&c);
}
END_TEST

/* ---- windows in every spelling ---- */

START_TEST(test_parse_time)
{
        static const struct {
                const char *s;
                int64_t t;
        } good[] = {
                { "2024-05-01T10:00:00Z", 1714557600 },
                { "2024-05-01T10:00:00.000+0000", 1714557600 },
                { "2024-05-01T12:00:00+02:00", 1714557600 },
                { "2024-05-01T05:30:00-04:30", 1714557600 },
                { "2024-05-01T12:00:00+02", 1714557600 },
                { "2024-05-01T10:00:00.123456789Z", 1714557600 },
                { "2024-05-01 10:00:00", 1714557600 },
                { "2024-05-01t10:00z", 1714557600 },
                { "2024-05-01T10:00:00", 1714557600 },
                { "2024-02-29 00:00:00", 1709164800 },
                { "1970-01-01T00:00:00Z", 0 },
                { "0000-00-00 00:00:00", 0 },
                { "", 0 },
        };
        static const char *const bad[] = {
                "2024-05-01", "2024-13-01 00:00:00", "2023-02-29 00:00:00", "2024-05-01 24:00:00",
                "2024-05-01T10:00:00+25:00", "2024-05-01T10:00:00 Z", "2024-5-1 10:00:00", "yesterday",
                "2024-05-01T10:00:00.Z", "1969-12-31T23:59:59Z", "2024-05-01T10:00:00+02:00x", "0",
        };
        int64_t t;

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                t = -1;
                ck_assert_msg(ticket_parse_time(good[i].s, &t) == 0, "%s", good[i].s);
                ck_assert_msg(t == good[i].t, "%s: %lld", good[i].s, (long long) t);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(ticket_parse_time(bad[i], &t) == -EINVAL, "%s", bad[i]);
}
END_TEST

START_TEST(test_window_spellings)
{
        struct ticket_config c;
        struct ticket_worker *e;
        struct ticket_result r;

        cfg_preset(&c, &presets[5]);
        set_str(&c.window_start, "/ticket/window/start");
        set_str(&c.window_end, "/ticket/window/end");
        e = engine(&c);
        set_ticket("H-1", "{\"state\":\"approved\",\"window\":[\"2024-05-01T12:00:00.5+02:00\","
                          "\"2024-05-01 12:00:00\"]}");
        r = lookup(e, "H-1", "alice");
        ck_assert_int_eq(r.verdict, TICKET_APPROVED);
        ck_assert_int_eq(r.window_start, 1714557600);
        ck_assert_int_eq(r.window_end, 1714564800);

        set_ticket("H-1", "{\"window\":[\"0000-00-00 00:00:00\",\"\"]}");
        r = lookup(e, "H-1", "alice");
        ck_assert_int_eq(r.verdict, TICKET_APPROVED);
        ck_assert_int_eq(r.window_start, 0);
        ck_assert_int_eq(r.window_end, 0);

        set_ticket("H-1", "{\"window\":[\"next tuesday\",null]}");
        r = lookup(e, "H-1", "alice");
        ck_assert_int_eq(r.verdict, TICKET_ERROR);
        ck_assert_str_eq(r.why, "ticket H-1: the change window \"next tuesday\" is not a date");
        ticket_worker_free(e);
        cfg_clear(&c);
}
END_TEST

/* ---- faults ---- */

static struct ticket_worker *jira_engine(struct ticket_config *c, unsigned timeout)
{
        cfg_preset(c, &presets[0]);
        c->timeout = timeout;
        set_ticket("OPS-1", "{\"state\":\"approved\"}");
        return engine(c);
}

static struct ticket_result fault(const char *mode_json, int64_t *ret_ms)
{
        struct ticket_config c;
        struct ticket_worker *e = jira_engine(&c, 5);
        struct ticket_result r;

        set_ticket("OPS-1", mode_json);
        r = lookup_ms(e, "OPS-1", "alice", ret_ms);
        ck_assert_int_eq(r.verdict, TICKET_ERROR);
        ticket_worker_free(e);
        cfg_clear(&c);
        return r;
}

static int unused_port(void)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &a, &len), 0);
        close(fd);
        return ntohs(a.sin_port);
}

START_TEST(test_server_down)
{
        struct ticket_config c;
        struct ticket_worker *e;
        struct ticket_result r;
        int64_t ms;

        cfg_preset(&c, &presets[0]);
        set_url(&c, "http", unused_port());
        e = engine(&c);
        r = lookup_ms(e, "OPS-1", "alice", &ms);
        ck_assert_int_eq(r.verdict, TICKET_ERROR);
        ck_assert_msg(strstr(r.why, "cannot reach the ticket system"), "%s", r.why);
        /* three attempts, 1 s and 2 s apart */
        ck_assert_int_ge(ms, 2900);
        ck_assert_int_lt(ms, 8000);
        ticket_worker_free(e);
        cfg_clear(&c);
}
END_TEST

START_TEST(test_slow)
{
        struct ticket_config c;
        struct ticket_worker *e = jira_engine(&c, 1);
        struct ticket_result r;
        int64_t ms;

        set_ticket("OPS-1", "{\"mode\":\"slow\",\"slow\":4}");
        r = lookup_ms(e, "OPS-1", "alice", &ms);
        ck_assert_int_eq(r.verdict, TICKET_ERROR);
        ck_assert_str_eq(r.why, "the ticket system did not answer within 1s");
        /* all attempts inside 3 x timeout */
        ck_assert_int_ge(ms, 2900);
        ck_assert_int_lt(ms, 4500);
        ck_assert_int_eq(lookups_of("OPS-1"), 2);
        ticket_worker_free(e);
        cfg_clear(&c);
}
END_TEST

START_TEST(test_5xx_retried)
{
        struct ticket_result r;
        int64_t ms;

        r = fault("{\"mode\":\"500\"}", &ms);
        ck_assert_str_eq(r.why, "the ticket system failed (HTTP 500)");
        ck_assert_int_eq(lookups_of("OPS-1"), 3);
        ck_assert_int_ge(ms, 2900);

        ck_assert_int_eq(ctl("POST", "/_control/reset", "{}", NULL), 200);
        r = fault("{\"mode\":\"503\",\"retry_after\":\"\"}", NULL);
        ck_assert_str_eq(r.why, "the ticket system is busy (HTTP 503)");
        ck_assert_int_eq(lookups_of("OPS-1"), 3);
}
END_TEST

START_TEST(test_retry_after)
{
        struct ticket_result r;

        r = fault("{\"mode\":\"429\"}", NULL);
        ck_assert_int_eq(r.retry_after, 7);
        ck_assert_str_eq(r.why, "the ticket system is busy (HTTP 429): retry after 7s");
        ck_assert_int_eq(lookups_of("OPS-1"), 1);

        r = fault("{\"mode\":\"503\",\"retry_after\":\"120\"}", NULL);
        ck_assert_int_eq(r.retry_after, 120);

        r = fault("{\"mode\":\"429\",\"retry_after\":\"date:+30\"}", NULL);
        ck_assert_int_ge(r.retry_after, 28);
        ck_assert_int_le(r.retry_after, 31);
}
END_TEST

START_TEST(test_bad_answers)
{
        struct ticket_result r;
        int64_t ms;

        r = fault("{\"mode\":\"malformed\"}", &ms);
        ck_assert_str_eq(r.why, "malformed JSON from the ticket system: truncated");
        ck_assert_int_lt(ms, 2000);             /* not retried */
        r = fault("{\"mode\":\"trailing\"}", NULL);
        ck_assert_msg(strstr(r.why, "malformed JSON from the ticket system: "), "%s", r.why);
        r = fault("{\"mode\":\"wrongtype\"}", NULL);
        ck_assert_str_eq(r.why, "wrong content type 'text/html; charset=utf-8' from the ticket system (expected "
                                "JSON)");
        r = fault("{\"mode\":\"redirect\"}", NULL);
        ck_assert_str_eq(r.why, "redirect refused (HTTP 302 from the ticket system)");
        r = fault("{\"mode\":\"huge\"}", &ms);
        ck_assert_str_eq(r.why, "the ticket system's response is larger than 1 MiB");
        ck_assert_int_lt(ms, 2000);
        r = fault("{\"mode\":\"hugelen\"}", NULL);
        ck_assert_str_eq(r.why, "the ticket system's response is larger than 1 MiB");
        ck_assert_int_eq(ctl("POST", "/_control/reset", "{}", NULL), 200);
        set_ticket("OPS-1", "{\"mode\":\"404\"}");
        {
                struct ticket_config c;
                struct ticket_worker *e = jira_engine(&c, 5);

                set_ticket("OPS-1", "{\"mode\":\"404\"}");
                expect(e, "OPS-1", TICKET_NOT_FOUND);
                ticket_worker_free(e);
                cfg_clear(&c);
        }
}
END_TEST

START_TEST(test_json_limits)
{
        char why[256] = "", deep[200];
        json_object *o = NULL;
        size_t n = 0;

        /* 33 levels: one past the limit */
        for (int i = 0; i < 33; i++)
                deep[n++] = '[';
        for (int i = 0; i < 33; i++)
                deep[n++] = ']';
        deep[n] = '\0';
        ck_assert_int_eq(ticket_json_parse(deep, n, &o, why, sizeof(why)), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(why, "malformed JSON"));
        ck_assert_int_eq(ticket_json_parse(deep + 1, n - 2, &o, why, sizeof(why)), 0);
        json_object_put(o);
        ck_assert_int_eq(ticket_json_parse("{\"a\":1}\n ", 9, &o, why, sizeof(why)), 0);
        json_object_put(o);
        ck_assert_int_eq(ticket_json_parse("{\"a\":\"\xff\"}", 9, &o, why, sizeof(why)), -EBADMSG);
        ck_assert_int_eq(ticket_json_parse("{\"a\":'x'}", 9, &o, why, sizeof(why)), -EBADMSG);
        ck_assert_int_eq(ticket_json_parse("{\"a\":1,}", 8, &o, why, sizeof(why)), -EBADMSG);
        ck_assert_int_eq(ticket_json_parse("{\"a\":1}\0x", 9, &o, why, sizeof(why)), -EBADMSG);
        ck_assert_int_eq(ticket_json_parse("", 0, &o, why, sizeof(why)), -EBADMSG);
}
END_TEST

/* Issue 12, finding 12: the reader took NUL bytes after the value for white
 * space (strchr finds the terminator), and a "\u0000" inside a string cut
 * it short for every C string function after it. */
START_TEST(test_json_nul)
{
        static const struct {
                const char *body;
                size_t len;
        } bad[] = {
                { "{\"a\":1}\0", 8 },
                { "{\"a\":1}\0\0\0\0", 11 },
                { "{\"a\":1}\n\0", 9 },
                { "{\"a\":1} \0 ", 10 },
                { "{\"a\":1}\0{\"a\":2}", 15 },
                { "\0{\"a\":1}", 8 },
                { " \0{\"a\":1}", 9 },
                { "{\"a\":\0 1}", 9 },
                { "{\"a\":\"x\0y\"}", 11 },
                { "[1,\0 2]", 7 },
        };
        char why[256];
        json_object *o;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                o = NULL;
                why[0] = '\0';
                ck_assert_msg(ticket_json_parse(bad[i].body, bad[i].len, &o, why, sizeof(why)) == -EBADMSG,
                              "case %zu accepted", i);
                ck_assert_ptr_null(o);
                ck_assert_msg(strstr(why, "malformed JSON"), "case %zu: %s", i, why);
        }
        /* Only JSON's own white space may follow. */
        ck_assert_int_eq(ticket_json_parse("{\"a\":1}\v", 8, &o, why, sizeof(why)), -EBADMSG);
        ck_assert_int_eq(ticket_json_parse("{\"a\":1}\f", 8, &o, why, sizeof(why)), -EBADMSG);
        ck_assert_int_eq(ticket_json_parse("{\"a\":1} \t\r\n", 11, &o, why, sizeof(why)), 0);
        json_object_put(o);
}
END_TEST

static json_object *parse_ok(const char *body)
{
        char why[256] = "";
        json_object *o = NULL;

        ck_assert_msg(ticket_json_parse(body, strlen(body), &o, why, sizeof(why)) == 0, "%s: %s", body, why);
        return o;
}

START_TEST(test_json_escaped_nul)
{
        struct ticket_config c = {};
        struct ticket_settings *st = NULL;
        struct ticket_result r;
        char why[256] = "";
        json_object *o;

        set_str(&c.provider, "http");
        set_str(&c.url, "http://127.0.0.1:1");
        c.allow_http = true;
        set_str(&c.lookup, "{url}/t/{ticket}");
        set_str(&c.status, "/state");
        set_str(&c.requester, "/owner");
        set_str(&c.window_start, "/start");
        c.approved = list("approved");
        c.closed = list("closed");
        ck_assert_msg(ticket_settings_new(&c, HOST, NULL, &st, why, sizeof(why)) == 0, "%s", why);

        /* "approved\u0000..." is not "approved". */
        o = parse_ok("{\"state\":\"approved\\u0000 by nobody\",\"owner\":\"alice\"}");
        ticket_judge(st, "T-1", "alice", o, &r);
        ck_assert_int_ne(r.verdict, TICKET_APPROVED);
        json_object_put(o);

        /* Nor is "alice\u0000" the requester alice. */
        o = parse_ok("{\"state\":\"approved\",\"owner\":\"alice\\u0000mallory\"}");
        ticket_judge(st, "T-1", "alice", o, &r);
        ck_assert_int_eq(r.verdict, TICKET_REFUSED);
        json_object_put(o);

        /* A window cut short by a NUL is no date. */
        o = parse_ok("{\"state\":\"approved\",\"owner\":\"alice\",\"start\":\"2024-05-01T10:00:00Z\\u0000x\"}");
        ticket_judge(st, "T-1", "alice", o, &r);
        ck_assert_int_eq(r.verdict, TICKET_ERROR);
        ck_assert_int_eq(r.window_start, 0);
        json_object_put(o);

        /* The same answers without the NUL pass, so the settings are right. */
        o = parse_ok("{\"state\":\"approved\",\"owner\":\"alice\"}");
        ticket_judge(st, "T-1", "alice", o, &r);
        ck_assert_int_eq(r.verdict, TICKET_APPROVED);
        json_object_put(o);
        ticket_settings_free(st);
        cfg_clear(&c);
}
END_TEST

/* What a ticket system says reaches terminals and logs (issue 12, finding 11). */
START_TEST(test_sanitize)
{
        static const struct {
                const char *in;
                size_t size;
                const char *out;
        } cases[] = {
                { "Approved", 64, "Approved" },
                { "Genehmigt \xe2\x9c\x93", 64, "Genehmigt \xe2\x9c\x93" },
                { "Appr\x1b[2Joved\x7f", 64, "Appr?[2Joved?" },
                { "Approved\xe2\x80\xae" "desrever", 64, "Approved?desrever" },
                { "\xc2\x9b" "2J\xc2\x85", 64, "?2J?" },
                { "\xe2\x81\xa6x\xe2\x81\xa9\xe2\x80\x8f", 64, "?x??" },
                { "caf\xe9", 64, "caf?" },
                { "\xed\xa0\x80", 64, "???" },
                { "ab\xe2\x9c\x93", 5, "ab" },               /* never half a character */
                { "ab\xe2\x9c\x93", 6, "ab\xe2\x9c\x93" },
                { "abc", 1, "" },
        };
        char out[64];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                memset(out, 'x', sizeof(out));
                text_sanitize(out, cases[i].size, cases[i].in, 0);
                ck_assert_msg(strcmp(out, cases[i].out) == 0, "case %zu: \"%s\"", i, out);
        }
        text_sanitize(out, sizeof(out), NULL, 0);
        ck_assert_str_eq(out, "");
}
END_TEST

/* ---- TLS ---- */

static void cfg_tls(struct ticket_config *c, const char *host, const char *ca)
{
        char url[128];

        cfg_preset(c, &presets[0]);
        snprintf(url, sizeof(url), "https://%s:%d", host, https_port);
        set_str(&c->url, url);
        c->allow_http = false;
        set_str(&c->ca_file, ca);
}

START_TEST(test_tls)
{
        struct ticket_config c;
        struct ticket_worker *e;
        struct ticket_result r;

        set_ticket("OPS-1", "{\"state\":\"approved\"}");
        cfg_tls(&c, "127.0.0.1", ca_pem);
        e = engine(&c);
        expect(e, "OPS-1", TICKET_APPROVED);
        ticket_worker_free(e);
        cfg_clear(&c);

        cfg_tls(&c, "localhost", ca_pem);
        e = engine(&c);
        expect(e, "OPS-1", TICKET_APPROVED);
        ticket_worker_free(e);
        cfg_clear(&c);

        /* Signed by someone else: refused, and said so. */
        cfg_tls(&c, "127.0.0.1", other_pem);
        e = engine(&c);
        r = lookup(e, "OPS-1", "alice");
        ck_assert_int_eq(r.verdict, TICKET_ERROR);
        ck_assert_msg(strstr(r.why, "certificate"), "%s", r.why);
        ck_assert_int_eq(lookups_of("OPS-1"), 2);
        ticket_worker_free(e);
        cfg_clear(&c);

        /* The system store does not know the test CA either. */
        cfg_tls(&c, "127.0.0.1", NULL);
        e = engine(&c);
        r = lookup(e, "OPS-1", "alice");
        ck_assert_int_eq(r.verdict, TICKET_ERROR);
        ck_assert_msg(strstr(r.why, "certificate"), "%s", r.why);
        ticket_worker_free(e);
        cfg_clear(&c);

        /* The https server on a plain http client: not a silent downgrade. */
        cfg_preset(&c, &presets[0]);
        set_url(&c, "http", https_port);
        e = engine(&c);
        ck_assert_int_eq(lookup(e, "OPS-1", "alice").verdict, TICKET_ERROR);
        ticket_worker_free(e);
        cfg_clear(&c);
}
END_TEST

START_TEST(test_http_refused)
{
        struct ticket_config c;
        char why[256];

        cfg_preset(&c, &presets[0]);
        c.allow_http = false;
        ck_assert_int_eq(engine_fails(&c, why, sizeof(why)), -EINVAL);
        ck_assert_str_eq(why, "url: plain http is refused unless allow_http = yes");

        set_str(&c.url, "https://tickets.example.org");
        set_str(&c.lookup, "http://tickets.example.org/{ticket}");
        ck_assert_int_eq(engine_fails(&c, why, sizeof(why)), -EINVAL);
        ck_assert_str_eq(why, "lookup: plain http is refused unless allow_http = yes");

        set_str(&c.lookup, "{url}/{ticket}/{nope}");
        ck_assert_int_eq(engine_fails(&c, why, sizeof(why)), -EINVAL);
        ck_assert_str_eq(why, "lookup: unknown placeholder in '{nope}'");
        cfg_clear(&c);

        cfg_preset(&c, &presets[4]);
        set_str(&c.project, NULL);
        ck_assert_int_eq(engine_fails(&c, why, sizeof(why)), -EINVAL);
        ck_assert_str_eq(why, "provider gitlab needs project (like 42 or group/repo)");
        cfg_clear(&c);

        cfg_preset(&c, &presets[0]);
        c.timeout = 3600;
        ck_assert_int_eq(engine_fails(&c, why, sizeof(why)), -EINVAL);
        ck_assert_str_eq(why, "timeout: at most 600s for a ticket lookup");
        cfg_clear(&c);

        cfg_preset(&c, &presets[0]);
        set_str(&c.provider, "bugzilla");
        ck_assert_int_eq(engine_fails(&c, why, sizeof(why)), -EINVAL);
        cfg_clear(&c);
}
END_TEST

START_TEST(test_provider_none)
{
        struct ticket_config c = { 0 };
        struct ticket_worker *e = (struct ticket_worker *) &c;
        char why[64];

        set_str(&c.provider, "none");
        ck_assert_int_eq(worker_new(&c, &e, why, sizeof(why)), 0);
        ck_assert_ptr_null(e);
        ticket_worker_free(NULL);
        ticket_worker_process(NULL);
        ticket_worker_cancel(NULL, NULL);
        ck_assert_int_lt(ticket_worker_fd(NULL), 0);
        ck_assert(!ticket_system_configured(&c));
        ck_assert(!ticket_system_configured(NULL));
        set_str(&c.provider, "jira");
        ck_assert(ticket_system_configured(&c));
        cfg_clear(&c);
        ck_assert(!ticket_system_configured(&c));
}
END_TEST

/* What curl_easy_escape gave before http.c did it itself: RFC 3986's
 * unreserved characters kept, every other byte as %XX in upper case. */
START_TEST(test_escape)
{
        static const struct { const char *in, *out; } v[] = {
                { "", "" },
                { "AZaz09-._~", "AZaz09-._~" },
                { "a/b?c#d%e&f g+h=i", "a%2Fb%3Fc%23d%25e%26f%20g%2Bh%3Di" },
                { "..%2F", "..%252F" },
                { "\xc3\xa9\x01\x7f\xff", "%C3%A9%01%7F%FF" },
        };

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                char *e = NULL;

                ck_assert_int_eq(http_escape(v[i].in, &e), 0);
                ck_assert_str_eq(e, v[i].out);
                free(e);
        }
        ck_assert_int_eq(http_escape(NULL, &(char *) { NULL }), -EINVAL);
}
END_TEST

/* ---- the token file ---- */

static void expect_token_refused(struct ticket_config *c, int err, const char *needle)
{
        char why[256] = "";

        ck_assert_int_eq(engine_fails(c, why, sizeof(why)), err);
        ck_assert_msg(strstr(why, needle), "why: %s", why);
        ck_assert_ptr_null(strstr(why, TOKEN));
}

START_TEST(test_token_file)
{
        struct ticket_config c;
        char link[PATH_MAX];

        if (geteuid() != 0)
                return;                 /* root-owned files need root */
        cfg_preset(&c, &presets[0]);

        set_token(&c, TOKEN, 0640);
        expect_token_refused(&c, -EPERM, "has mode 0640: group and others must have no access");
        set_token(&c, TOKEN, 0604);
        expect_token_refused(&c, -EPERM, "has mode 0604");
        set_token(&c, TOKEN, 0620);
        expect_token_refused(&c, -EPERM, "has mode 0620");

        set_token(&c, TOKEN, 0600);
        ck_assert_int_eq(chown(c.token_file, 1, 1), 0);
        expect_token_refused(&c, -EPERM, "is owned by uid 1, not root");

        set_token(&c, TOKEN, 0600);
        snprintf(link, sizeof(link), "%s/link", tmpdir);
        ck_assert_int_eq(symlink(c.token_file, link), 0);
        set_str(&c.token_file, link);
        expect_token_refused(&c, -EPERM, "is a symbolic link");

        set_str(&c.token_file, tmpdir);
        expect_token_refused(&c, -EPERM, "is not a regular file");

        snprintf(link, sizeof(link), "%s/missing", tmpdir);
        set_str(&c.token_file, link);
        expect_token_refused(&c, -ENOENT, "cannot open token_file");

        set_token(&c, "\n", 0600);
        expect_token_refused(&c, -EINVAL, "is empty");
        set_token(&c, TOKEN "\nX-Injected: 1\n", 0600);
        expect_token_refused(&c, -EINVAL, "one line of printable ASCII");
        cfg_clear(&c);

        cfg_preset(&c, &presets[1]);
        set_token(&c, TOKEN, 0600);
        expect_token_refused(&c, -EINVAL, "auth = basic needs token_file to hold user:secret");
        set_str(&c.token_file, NULL);
        set_str(&c.auth, "basic");
        expect_token_refused(&c, -EINVAL, "auth = basic needs token_file");
        cfg_clear(&c);
}
END_TEST

/* ---- tickets that try to be more than a ticket ---- */

START_TEST(test_hostile_tickets)
{
        static const char *const bad[] = {
                "", "a b", "x;rm -rf /", "$(id)", "`id`", "a?b=1", "a&b", "../etc", "-x", "a%2Fb", "a\nb",
                "a'b", "a\"b", "CHG1^ORnumber=CHG2", "0123456789012345678901234567890123456789012345678901234567890123456789",
        };
        static const char weird[] = "A#1:x/y.z_-";
        struct ticket_config c;
        struct ticket_worker *e;
        struct outcome o = { 0 };

        for (size_t p = 0; p < 2; p++) {
                cfg_preset(&c, &presets[p]);    /* a path and a query parameter */
                e = engine(&c);
                for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                        ck_assert_msg(ticket_worker_lookup(e, bad[i], "alice", on_done, &o) == -EINVAL, "%s", bad[i]);
                ck_assert_int_eq(ticket_worker_lookup(e, "OPS-1", "not a user", on_done, &o), -EINVAL);
                ck_assert_int_eq(ticket_worker_lookup(e, "OPS-1", NULL, on_done, &o), -EINVAL);

                /* Allowed characters that mean something in a URL arrive intact. */
                set_ticket(weird, "{\"state\":\"approved\"}");
                expect(e, weird, TICKET_APPROVED);
                ck_assert_int_eq(lookups_of(weird), 1);
                ck_assert_int_eq(ctl("POST", "/_control/reset", "{}", NULL), 200);
                ticket_worker_free(e);
                cfg_clear(&c);
        }
        ck_assert_int_eq(o.calls, 0);
}
END_TEST

/* ---- sharing, isolation, cancelling ---- */

START_TEST(test_one_request_per_ticket)
{
        struct ticket_config c;
        struct ticket_worker *e;
        struct outcome a = { 0 }, b = { 0 }, other = { 0 };

        cfg_preset(&c, &presets[0]);
        e = engine(&c);
        set_ticket("OPS-1", "{\"state\":\"approved\"}");
        set_ticket("OPS-2", "{\"state\":\"pending\"}");
        ck_assert_int_eq(ticket_worker_lookup(e, "OPS-1", "alice", on_done, &a), 0);
        ck_assert_int_eq(ticket_worker_lookup(e, "OPS-1", "bob", on_done, &b), 0);
        ck_assert_int_eq(ticket_worker_lookup(e, "OPS-2", "alice", on_done, &other), 0);
        run_until(e, called, &b, WAIT_MS);
        run_until(e, called, &other, WAIT_MS);
        ck_assert_int_eq(a.calls, 1);
        ck_assert_int_eq(b.calls, 1);
        /* one answer, judged for each asker */
        ck_assert_int_eq(a.r.verdict, TICKET_APPROVED);
        ck_assert_int_eq(b.r.verdict, TICKET_REFUSED);
        ck_assert_int_eq(other.r.verdict, TICKET_PENDING);
        ck_assert_int_eq(lookups_of("OPS-1"), 1);
        ck_assert_int_eq(lookups_of("OPS-2"), 1);

        /* Afterwards a new lookup asks again. */
        expect(e, "OPS-1", TICKET_APPROVED);
        ck_assert_int_eq(lookups_of("OPS-1"), 2);
        ticket_worker_free(e);
        cfg_clear(&c);
}
END_TEST

START_TEST(test_isolation)
{
        struct ticket_config c;
        struct ticket_worker *e;
        struct outcome slow = { 0 };
        struct ticket_result r;
        int64_t ms;

        cfg_preset(&c, &presets[0]);
        e = engine(&c);
        set_ticket("OPS-9", "{\"state\":\"approved\",\"mode\":\"slow\",\"slow\":4}");
        set_ticket("OPS-1", "{\"state\":\"approved\"}");
        ck_assert_int_eq(ticket_worker_lookup(e, "OPS-9", "alice", on_done, &slow), 0);
        r = lookup_ms(e, "OPS-1", "alice", &ms);
        ck_assert_int_eq(r.verdict, TICKET_APPROVED);
        ck_assert_int_lt(ms, 1000);
        ck_assert_int_eq(slow.calls, 0);
        /* Freed with a transfer in flight: nobody is called, nothing leaks. */
        ticket_worker_free(e);
        ck_assert_int_eq(slow.calls, 0);
        cfg_clear(&c);
}
END_TEST

struct chain {
        struct ticket_worker *e;
        struct outcome first, second;
};

static void on_first(void *userdata, const char *ticket, const struct ticket_result *r)
{
        struct chain *ch = userdata;

        on_done(&ch->first, ticket, r);
        /* From inside a callback: start another lookup and drop a waiter. */
        ck_assert_int_eq(ticket_worker_lookup(ch->e, "OPS-2", "alice", on_done, &ch->second), 0);
        ticket_worker_cancel(ch->e, &ch->first);
}

START_TEST(test_cancel)
{
        struct ticket_config c;
        struct ticket_worker *e;
        struct outcome a = { 0 }, b = { 0 };
        struct chain ch = { 0 };

        cfg_preset(&c, &presets[0]);
        e = engine(&c);
        set_ticket("OPS-1", "{\"state\":\"approved\"}");
        set_ticket("OPS-2", "{\"state\":\"closed\"}");
        ck_assert_int_eq(ticket_worker_lookup(e, "OPS-1", "alice", on_done, &a), 0);
        ck_assert_int_eq(ticket_worker_lookup(e, "OPS-1", "alice", on_done, &b), 0);
        ticket_worker_cancel(e, &a);
        run_until(e, called, &b, WAIT_MS);
        run_until(e, called, &a, 300);
        ck_assert_int_eq(a.calls, 0);
        ck_assert_int_eq(b.calls, 1);

        ch.e = e;
        ck_assert_int_eq(ticket_worker_lookup(e, "OPS-1", "alice", on_first, &ch), 0);
        ck_assert_int_eq(ticket_worker_lookup(e, "OPS-1", "alice", on_done, &ch.first), 0);
        run_until(e, called, &ch.second, WAIT_MS);
        ck_assert_int_eq(ch.first.calls, 1);    /* the second waiter was cancelled by the first callback */
        ck_assert_int_eq(ch.second.calls, 1);
        ck_assert_int_eq(ch.second.r.verdict, TICKET_CLOSED);
        ticket_worker_free(e);
        cfg_clear(&c);
}
END_TEST

static int open_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        int n = 0;

        ck_assert_ptr_nonnull(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

/* Cancelling the only waiter drops the transfer and its connection: a slow
 * system must not collect connections of requests nobody wants any more. */
START_TEST(test_cancel_drops_transfer)
{
        struct ticket_config c;
        struct ticket_worker *e;
        struct outcome a = { 0 }, b = { 0 }, fast = { 0 };
        int before, during;

        cfg_preset(&c, &presets[0]);
        e = engine(&c);
        set_ticket("OPS-7", "{\"state\":\"approved\",\"mode\":\"slow\",\"slow\":3}");
        set_ticket("OPS-1", "{\"state\":\"approved\"}");
        before = open_fds();
        ck_assert_int_eq(ticket_worker_lookup(e, "OPS-7", "alice", on_done, &a), 0);
        ck_assert_int_eq(ticket_worker_lookup(e, "OPS-7", "alice", on_done, &b), 0);
        run_until(e, called, &a, 500);  /* connected and waiting */
        during = open_fds();
        ck_assert_int_gt(during, before);
        ticket_worker_cancel(e, &a);    /* b still waits: the transfer stays */
        ck_assert_int_eq(open_fds(), during);
        ticket_worker_cancel(e, &b);    /* nobody: it goes */
        ck_assert_int_lt(open_fds(), during);
        /* The engine goes on: another lookup works, nobody cancelled is told. */
        ck_assert_int_eq(ticket_worker_lookup(e, "OPS-1", "alice", on_done, &fast), 0);
        run_until(e, called, &fast, WAIT_MS);
        ck_assert_int_eq(fast.calls, 1);
        ck_assert_int_eq(fast.r.verdict, TICKET_APPROVED);
        run_until(e, called, &a, 3500);
        ck_assert_int_eq(a.calls, 0);
        ck_assert_int_eq(b.calls, 0);
        ck_assert_int_eq(lookups_of("OPS-7"), 1);
        ticket_worker_free(e);
        cfg_clear(&c);
}
END_TEST

/* ---- notes that cannot be delivered ---- */

struct logged {
        int calls;
        char ticket[JIT_TICKET_MAX + 1];
        char why[256];
};

static void on_log(void *userdata, const char *ticket, const char *why)
{
        struct logged *l = userdata;

        l->calls++;
        snprintf(l->ticket, sizeof(l->ticket), "%s", ticket);
        snprintf(l->why, sizeof(l->why), "%s", why);
}

static bool logged(void *arg)
{
        return ((struct logged *) arg)->calls > 0;
}

START_TEST(test_note_failures)
{
        struct ticket_config c;
        struct ticket_worker *e;
        struct logged l = { 0 };

        /* comment = no: nothing is sent */
        cfg_preset(&c, &presets[0]);
        e = engine(&c);
        ck_assert_int_eq(ticket_worker_comment(e, "OPS-1", "hello"), 0);
        run_until(e, logged, &l, 300);
        ck_assert_uint_eq(notes_count(), 0);
        ticket_worker_free(e);
        cfg_clear(&c);

        /* a ticket the system does not know: given up at once, and told */
        for (size_t p = 0; p < 2; p++) {
                memset(&l, 0, sizeof(l));
                cfg_preset(&c, &presets[p]);
                c.comment = true;
                e = engine(&c);
                ticket_worker_set_log(e, on_log, &l);
                ck_assert_int_eq(ticket_worker_comment(e, "NOPE-1", "hello"), 0);
                run_until(e, logged, &l, WAIT_MS);
                ck_assert_int_eq(l.calls, 1);
                ck_assert_str_eq(l.ticket, "NOPE-1");
                ck_assert_msg(strstr(l.why, "not found"), "%s", l.why);
                ticket_worker_free(e);
                cfg_clear(&c);
        }

        /* a failing system: retried, then given up */
        memset(&l, 0, sizeof(l));
        cfg_preset(&c, &presets[4]);
        c.comment = true;
        e = engine(&c);
        ticket_worker_set_log(e, on_log, &l);
        set_ticket("301", "{\"mode\":\"500\"}");
        ck_assert_int_eq(ticket_worker_comment(e, "301", "hello"), 0);
        run_until(e, logged, &l, WAIT_MS);
        ck_assert_int_eq(l.calls, 1);
        ck_assert_str_eq(l.why, "cannot post a note: the ticket system failed (HTTP 500)");
        ck_assert_int_eq(count_of("notes", "301"), 3);
        ticket_worker_free(e);
        cfg_clear(&c);
}
END_TEST

/* ---- config: the gitlab project key ---- */

START_TEST(test_config_project)
{
        static const struct {
                const char *text;
                const char *error;      /* NULL: clean */
        } cases[] = {
                { "[ticket]\nprovider = gitlab\nurl = https://gitlab.example.org\nproject = ops/changes\n", NULL },
                { "[ticket]\nprovider = gitlab\nurl = https://gitlab.example.org\nproject = 42\n", NULL },
                { "[ticket]\nprovider = gitlab\nurl = https://gitlab.example.org\n", "needs project" },
                { "[ticket]\nprovider = gitlab\nurl = https://gitlab.example.org\nproject = ops%2Fchanges\n",
                  "is not a project id or path" },
                { "[ticket]\nprovider = http\nurl = https://t.example.org\nlookup = {url}/{project}/{ticket}\n"
                  "status = /s\napproved = ok\n", "needs project" },
        };
        char path[PATH_MAX];

        snprintf(path, sizeof(path), "%s/jitd.conf", tmpdir);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct config_errors errs = { 0 };
                struct config *cfg = NULL;
                FILE *f = fopen(path, "we");
                int r;

                ck_assert_ptr_nonnull(f);
                fputs(cases[i].text, f);
                fclose(f);
                r = config_load(path, &cfg, &errs);
                if (!cases[i].error) {
                        ck_assert_msg(r == 0, "%s: %s", cases[i].text, errs.n ? errs.lines[0] : "?");
                        ck_assert_ptr_nonnull(cfg->ticket.project);
                } else {
                        ck_assert_int_eq(r, -EINVAL);
                        ck_assert_uint_eq(errs.n, 1);
                        ck_assert_msg(strstr(errs.lines[0], cases[i].error), "%s", errs.lines[0]);
                }
                config_free(cfg);
                config_errors_clear(&errs);
        }
}
END_TEST

/* Without root there is no root-owned token file, so no engine: only what
 * needs none runs. */
static Suite *ticket_suite_unprivileged(void)
{
        Suite *s = suite_create("ticket");
        TCase *tc = tcase_create("offline");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_parse_time);
        tcase_add_test(tc, test_json_limits);
        tcase_add_test(tc, test_json_nul);
        tcase_add_test(tc, test_json_escaped_nul);
        tcase_add_test(tc, test_sanitize);
        tcase_add_test(tc, test_provider_none);
        tcase_add_test(tc, test_escape);
        tcase_add_test(tc, test_config_project);
        suite_add_tcase(s, tc);
        return s;
}

static Suite *ticket_suite(void)
{
        Suite *s = suite_create("ticket");
        TCase *tc;
        int n = (int) ELEMENTSOF(presets);

        tc = tcase_create("presets");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_loop_test(tc, test_preset_lifecycle, 0, n);
        tcase_add_loop_test(tc, test_preset_requester, 0, n);
        tcase_add_loop_test(tc, test_preset_hosts, 0, n);
        tcase_add_loop_test(tc, test_preset_window, 0, n);
        tcase_add_loop_test(tc, test_preset_note, 0, n);
        tcase_add_loop_test(tc, test_preset_wrong_token, 0, n);
        tcase_add_test(tc, test_basic_auth_variants);
        tcase_add_test(tc, test_user_map);
        tcase_add_test(tc, test_overrides);
        suite_add_tcase(s, tc);

        tc = tcase_create("windows");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_parse_time);
        tcase_add_test(tc, test_window_spellings);
        suite_add_tcase(s, tc);

        tc = tcase_create("faults");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_server_down);
        tcase_add_test(tc, test_slow);
        tcase_add_test(tc, test_5xx_retried);
        tcase_add_test(tc, test_retry_after);
        tcase_add_test(tc, test_bad_answers);
        tcase_add_test(tc, test_json_limits);
        tcase_add_test(tc, test_json_nul);
        tcase_add_test(tc, test_json_escaped_nul);
        tcase_add_test(tc, test_sanitize);
        tcase_add_test(tc, test_tls);
        tcase_add_test(tc, test_http_refused);
        tcase_add_test(tc, test_provider_none);
        tcase_add_test(tc, test_escape);
        tcase_add_test(tc, test_token_file);
        tcase_add_test(tc, test_hostile_tickets);
        suite_add_tcase(s, tc);

        tc = tcase_create("engine");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_one_request_per_ticket);
        tcase_add_test(tc, test_isolation);
        tcase_add_test(tc, test_cancel);
        tcase_add_test(tc, test_cancel_drops_transfer);
        tcase_add_test(tc, test_note_failures);
        tcase_add_test(tc, test_config_project);
        suite_add_tcase(s, tc);
        return s;
}

/* ---- the server and its certificates ---- */

static int make_certs(void)
{
        char cmd[4096];

        snprintf(cmd, sizeof(cmd),
                 "set -e; cd '%s'; exec 2>openssl.log; k='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
                 "openssl req -x509 $k -keyout ca.key -out ca.pem -days 2 -subj /CN=jit-test-ca\n"
                 "openssl req -x509 $k -keyout other.key -out other.pem -days 2 -subj /CN=jit-other-ca\n"
                 "openssl req $k -keyout srv.key -out srv.csr -subj /CN=localhost\n"
                 "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext.cnf\n"
                 "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem "
                 "-days 2 -extfile ext.cnf\n",
                 rootdir);
        if (system(cmd) != 0) {
                snprintf(cmd, sizeof(cmd), "cat '%s/openssl.log' >&2", rootdir);
                (void) !system(cmd);
                return -1;
        }
        snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", rootdir);
        snprintf(other_pem, sizeof(other_pem), "%s/other.pem", rootdir);
        return 0;
}

static const char *find_ticketd(const char *argv0)
{
        static char path[PATH_MAX];
        const char *env = getenv("TICKETD");
        char *slash;

        if (env)
                return env;
        if (access("tests/ticketd.py", R_OK) == 0)
                return "tests/ticketd.py";
        /* build/tests/check_ticket -> tests/ticketd.py */
        snprintf(path, sizeof(path), "%s", argv0);
        slash = strrchr(path, '/');
        if (slash) {
                snprintf(slash, sizeof(path) - (size_t) (slash - path), "/../../tests/ticketd.py");
                if (access(path, R_OK) == 0)
                        return path;
        }
        return NULL;
}

static int start_server(const char *script)
{
        char cert[PATH_MAX], key[PATH_MAX], line[64];
        int fds[2];
        FILE *f;

        snprintf(cert, sizeof(cert), "%s/srv.pem", rootdir);
        snprintf(key, sizeof(key), "%s/srv.key", rootdir);
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -1;
        server_pid = fork();
        if (server_pid < 0)
                return -1;
        if (server_pid == 0) {
                dup2(fds[1], STDOUT_FILENO);
                execlp("python3", "python3", script, "--tls", cert, key, "--token", TOKEN, (char *) NULL);
                _exit(127);
        }
        close(fds[1]);
        f = fdopen(fds[0], "r");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f)) {
                if (sscanf(line, "http %d", &http_port) == 1)
                        continue;
                if (sscanf(line, "https %d", &https_port) == 1)
                        break;
        }
        fclose(f);
        return http_port > 0 && https_port > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        const char *script = find_ticketd(argc > 0 ? argv[0] : "");
        char why[512];
        SRunner *sr;
        int failed = 1;

        /* Everything here is 127.0.0.1: a proxy from the environment would only get in the way. */
        unsetenv("http_proxy");
        unsetenv("https_proxy");
        unsetenv("HTTPS_PROXY");
        unsetenv("ALL_PROXY");
        unsetenv("all_proxy");
        signal(SIGPIPE, SIG_IGN);
        if (!script) {
                fprintf(stderr, "check_ticket: cannot find tests/ticketd.py (run from the repository or set TICKETD)\n");
                return 1;
        }
        if (snprintf(rootdir, sizeof(rootdir), "%s/check_ticket.XXXXXX", base) >= (int) sizeof(rootdir) ||
            !mkdtemp(rootdir)) {
                fprintf(stderr, "check_ticket: cannot create a directory under %s\n", base);
                return 1;
        }
        if (http_global_init(why, sizeof(why)) < 0) {
                fprintf(stderr, "check_ticket: %s\n", why);
                goto out;
        }
        if (make_certs() < 0 || start_server(script) < 0) {
                fprintf(stderr, "check_ticket: cannot start %s with a test CA\n", script);
                goto out;
        }
        if (geteuid() != 0)
                fprintf(stderr, "check_ticket: not root: only the tests that need no token file run\n");
        sr = srunner_create(geteuid() == 0 ? ticket_suite() : ticket_suite_unprivileged());
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
out:
        if (server_pid > 0) {
                kill(server_pid, SIGTERM);
                waitpid(server_pid, NULL, 0);
        }
        http_global_cleanup();
        test_remove_dir(rootdir);
        return failed == 0 ? 0 : 1;
}
