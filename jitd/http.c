/* SPDX-License-Identifier: BSD-3-Clause */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "http.h"
#include "util.h"

/* A day: anything longer is a unit mistake, and it keeps the value in a long. */
#define HTTP_TIMEOUT_MAX_MS (86400 * 1000)
_Static_assert(sizeof(((struct http_response *) 0)->error) >= CURL_ERROR_SIZE, "error too small");

/* libcurl's soname since 7.16; the headers we build against are for it. */
#ifndef HTTP_LIBCURL
#define HTTP_LIBCURL "libcurl.so.4"
#endif

/* libcurl is opened by http_global_init(), not linked: with what it pulls in
 * (TLS, Kerberos, LDAP, SSH, IDN, ... some 30 libraries) it is ~4.5 MiB of
 * resident pages in every jitd, and most configure no ticket system. Each
 * pointer has the type of the function it stands for. (curl's compile-time
 * checks of curl_easy_setopt's argument types apply only to calls by name,
 * so the setopt calls below spell their types out.) */
#define LIBCURL_FUNCTIONS(X) \
        X(global_init) X(global_cleanup) X(free) X(slist_append) X(slist_free_all) \
        X(easy_init) X(easy_cleanup) X(easy_setopt) X(easy_getinfo) X(easy_strerror) \
        X(multi_init) X(multi_cleanup) X(multi_setopt) X(multi_assign) X(multi_add_handle) \
        X(multi_remove_handle) X(multi_socket_action) X(multi_info_read)

static struct {
        void *dl;               /* set once every pointer below is, and curl_global_init succeeded */
#define LIBCURL_FIELD(f) __typeof__(curl_##f) *f;
        LIBCURL_FUNCTIONS(LIBCURL_FIELD)
#undef LIBCURL_FIELD
} libcurl;

int http_global_init(char *why, size_t why_size)
{
        void *dl;

        if (!why || why_size == 0)
                return -EINVAL;
        why[0] = '\0';
        if (libcurl.dl)
                return 0;
        /* RTLD_NOW: a missing symbol in its dependencies shows here, not at
         * the first transfer. Never closed: curl and OpenSSL keep state. */
        dl = dlopen(HTTP_LIBCURL, RTLD_NOW | RTLD_LOCAL);
        if (!dl) {
                snprintf(why, why_size, "%s", dlerror());
                return -ELIBACC;
        }
#define LIBCURL_LOAD(f) \
        if (!(libcurl.f = (__typeof__(libcurl.f)) dlsym(dl, "curl_" #f))) { \
                snprintf(why, why_size, "%s has no curl_%s", HTTP_LIBCURL, #f); \
                return -ELIBBAD; \
        }
        LIBCURL_FUNCTIONS(LIBCURL_LOAD)
#undef LIBCURL_LOAD
        if (libcurl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                snprintf(why, why_size, "curl_global_init failed");
                return -EIO;
        }
        libcurl.dl = dl;
        return 0;
}

void http_global_cleanup(void)
{
        if (libcurl.dl)
                libcurl.global_cleanup();
        libcurl.dl = NULL;
}

struct transfer {
        struct transfer *next, *prev;
        struct http_client *c;
        CURL *easy;
        struct curl_slist *headers;
        char *buf;                      /* response body, NUL-terminated */
        size_t len, cap;
        bool too_big;
        bool added;                     /* handed to the multi handle; false while delayed */
        bool done;
        CURLcode result;
        int64_t start_at_ms;            /* monotonic; when a delayed transfer is added */
        http_done_fn cb;
        void *userdata;
        char errbuf[CURL_ERROR_SIZE];
};

struct http_client {
        CURLM *multi;
        int epoll_fd, timer_fd;
        int64_t curl_deadline_ms;       /* monotonic; -1 = curl wants no timeout */
        struct transfer *transfers;     /* every transfer not yet reported */
        struct transfer *finished;      /* being reported by http_client_process() */
        bool allow_http;
        size_t max_body;
        char *ca_file, *auth_header, *user, *password;
        char *ca_pem;                   /* with ca_pem_len: instead of ca_file */
        size_t ca_pem_len;
        char in_epoll;                  /* address used as curl's per-socket marker */
};

static void secret_free(char *s)
{
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

static void transfer_free(struct transfer *t)
{
        if (!t)
                return;
        if (t->easy) {
                if (t->added)
                        libcurl.multi_remove_handle(t->c->multi, t->easy);
                libcurl.easy_cleanup(t->easy);
        }
        libcurl.slist_free_all(t->headers);
        free(t->buf);
        free(t);
}

static void transfer_unlink(struct transfer *t)
{
        if (t->prev)
                t->prev->next = t->next;
        else
                t->c->transfers = t->next;
        if (t->next)
                t->next->prev = t->prev;
        t->next = t->prev = NULL;
}

/* One timerfd serves two clocks: curl's own timeout and the earliest delayed
 * start. An absolute deadline already past fires at once, which is what curl
 * means by a timeout of 0 (it must not be driven from inside its callback). */
static void arm_timer(struct http_client *c)
{
        int64_t due = c->curl_deadline_ms;
        struct itimerspec its = { 0 };

        for (struct transfer *t = c->transfers; t; t = t->next)
                if (!t->added && !t->done && (due < 0 || t->start_at_ms < due))
                        due = t->start_at_ms;
        if (due >= 0) {
                if (due < 1)
                        due = 1;        /* it_value 0 would disarm */
                its.it_value.tv_sec = due / 1000;
                its.it_value.tv_nsec = (long) (due % 1000) * 1000000L;
        }
        (void) timerfd_settime(c->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
        struct http_client *c = userp;

        (void) multi;
        c->curl_deadline_ms = timeout_ms < 0 ? -1 : now_monotonic_ms() + timeout_ms;
        arm_timer(c);
        return 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
        struct http_client *c = userp;
        struct epoll_event ev = { .data.fd = s };

        (void) easy;
        if (what == CURL_POLL_REMOVE) {
                /* The fd may already be closed, and then epoll has forgotten it. */
                (void) epoll_ctl(c->epoll_fd, EPOLL_CTL_DEL, s, NULL);
                libcurl.multi_assign(c->multi, s, NULL);
                return 0;
        }
        ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
        if (epoll_ctl(c->epoll_fd, socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) < 0) {
                /* curl reuses fd numbers: our marker can be stale either way. */
                if (errno == EEXIST)
                        (void) epoll_ctl(c->epoll_fd, EPOLL_CTL_MOD, s, &ev);
                else if (errno == ENOENT)
                        (void) epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, s, &ev);
        }
        libcurl.multi_assign(c->multi, s, &c->in_epoll);
        return 0;
}

int http_client_new(const struct http_options *o, struct http_client **ret)
{
        struct http_client *c;
        struct epoll_event ev = { .events = EPOLLIN };

        if (!o || !ret || o->max_body == 0 || (o->auth_header && o->user))
                return -EINVAL;
        if (!libcurl.dl)
                return -ELIBACC;        /* no http_global_init() */
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->epoll_fd = c->timer_fd = -1;
        c->curl_deadline_ms = -1;
        c->allow_http = o->allow_http;
        c->max_body = o->max_body;
        if (o->ca_pem) {
                c->ca_pem = malloc(o->ca_pem_len ? o->ca_pem_len : 1);
                if (!c->ca_pem) {
                        http_client_free(c);
                        return -ENOMEM;
                }
                memcpy(c->ca_pem, o->ca_pem, o->ca_pem_len);
                c->ca_pem_len = o->ca_pem_len;
        }
        if ((o->ca_file && !o->ca_pem && !(c->ca_file = strdup(o->ca_file))) ||
            (o->auth_header && !(c->auth_header = strdup(o->auth_header))) ||
            (o->user && !(c->user = strdup(o->user))) ||
            (o->password && !(c->password = strdup(o->password)))) {
                http_client_free(c);
                return -ENOMEM;
        }
        c->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        ev.data.fd = c->timer_fd;
        if (c->epoll_fd < 0 || c->timer_fd < 0 || epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, c->timer_fd, &ev) < 0) {
                int r = -errno;

                http_client_free(c);
                return r;
        }
        c->multi = libcurl.multi_init();
        if (!c->multi || libcurl.multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK ||
            libcurl.multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
            libcurl.multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
            libcurl.multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK) {
                http_client_free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

void http_client_free(struct http_client *c)
{
        if (!c)
                return;
        while (c->transfers) {
                struct transfer *t = c->transfers;

                transfer_unlink(t);
                transfer_free(t);
        }
        while (c->finished) {
                struct transfer *t = c->finished;

                c->finished = t->next;
                transfer_free(t);
        }
        if (c->multi)
                libcurl.multi_cleanup(c->multi);
        if (c->timer_fd >= 0)
                close(c->timer_fd);
        if (c->epoll_fd >= 0)
                close(c->epoll_fd);
        free(c->ca_file);
        free(c->ca_pem);
        secret_free(c->auth_header);
        secret_free(c->user);
        secret_free(c->password);
        free(c);
}

int http_client_fd(const struct http_client *c)
{
        return c ? c->epoll_fd : -EINVAL;
}

static size_t on_data(char *p, size_t size, size_t n, void *userdata)
{
        struct transfer *t = userdata;
        size_t len = size * n;

        /* Past the cap the transfer is aborted (curl sees a short write), so
         * a hostile server cannot make us buffer more than max_body. */
        if (len > t->c->max_body - t->len) {
                t->too_big = true;
                return 0;
        }
        if (t->len + len + 1 > t->cap) {
                size_t cap = t->cap ? t->cap : 16384;
                char *b;

                while (cap < t->len + len + 1)
                        cap *= 2;
                if (cap > t->c->max_body + 1)
                        cap = t->c->max_body + 1;
                b = realloc(t->buf, cap);
                if (!b)
                        return 0;
                t->buf = b;
                t->cap = cap;
        }
        memcpy(t->buf + t->len, p, len);
        t->len += len;
        t->buf[t->len] = '\0';
        return len;
}

static bool url_allowed(const struct http_client *c, const char *url)
{
        return strncasecmp(url, "https://", 8) == 0 || (c->allow_http && strncasecmp(url, "http://", 7) == 0);
}

static int add_header(struct transfer *t, const char *line)
{
        struct curl_slist *l = libcurl.slist_append(t->headers, line);

        if (!l)
                return -ENOMEM;
        t->headers = l;
        return 0;
}

static int setup_easy(struct transfer *t, const struct http_request *req)
{
        struct http_client *c = t->c;
        const char *protocols = c->allow_http ? "http,https" : "https";
        char line[256];
        CURL *h = t->easy;
        bool ok = true;

        /* Accept JSON, but never a compressed body: the cap is on what we hold. */
        if (add_header(t, "Accept: application/json") < 0 || add_header(t, "Expect:") < 0)
                return -ENOMEM;
        if (req->body) {
                snprintf(line, sizeof(line), "Content-Type: %s", req->content_type);
                if (add_header(t, line) < 0)
                        return -ENOMEM;
        }
        if (c->auth_header && add_header(t, c->auth_header) < 0)
                return -ENOMEM;

        ok = ok && libcurl.easy_setopt(h, CURLOPT_URL, req->url) == CURLE_OK;
        ok = ok && libcurl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols) == CURLE_OK;
        ok = ok && libcurl.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, protocols) == CURLE_OK;
        ok = ok && libcurl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
        ok = ok && libcurl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
        ok = ok && libcurl.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
        ok = ok && libcurl.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
        ok = ok && (!c->ca_file || libcurl.easy_setopt(h, CURLOPT_CAINFO, c->ca_file) == CURLE_OK);
        if (c->ca_pem) {
                /* ca_file as read before the helper gave up its privileges:
                 * the file need not be readable by the helper's user. */
                struct curl_blob blob = { .data = c->ca_pem, .len = c->ca_pem_len, .flags = CURL_BLOB_COPY };

                ok = ok && libcurl.easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob) == CURLE_OK;
        }
        ok = ok && libcurl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long) req->timeout_ms) == CURLE_OK;
        ok = ok && libcurl.easy_setopt(h, CURLOPT_TIMEOUT_MS, (long) req->timeout_ms) == CURLE_OK;
        ok = ok && libcurl.easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) c->max_body) == CURLE_OK;
        ok = ok && libcurl.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK;
        ok = ok && libcurl.easy_setopt(h, CURLOPT_WRITEDATA, t) == CURLE_OK;
        ok = ok && libcurl.easy_setopt(h, CURLOPT_ERRORBUFFER, t->errbuf) == CURLE_OK;
        ok = ok && libcurl.easy_setopt(h, CURLOPT_PRIVATE, t) == CURLE_OK;
        ok = ok && libcurl.easy_setopt(h, CURLOPT_HTTPHEADER, t->headers) == CURLE_OK;
        ok = ok && libcurl.easy_setopt(h, CURLOPT_USERAGENT, "jitd") == CURLE_OK;
        if (c->user) {
                ok = ok && libcurl.easy_setopt(h, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC) == CURLE_OK;
                ok = ok && libcurl.easy_setopt(h, CURLOPT_USERNAME, c->user) == CURLE_OK;
                ok = ok && libcurl.easy_setopt(h, CURLOPT_PASSWORD, c->password ? c->password : "") == CURLE_OK;
        }
        if (req->body) {
                ok = ok && libcurl.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(req->body)) ==
                                   CURLE_OK;
                ok = ok && libcurl.easy_setopt(h, CURLOPT_COPYPOSTFIELDS, req->body) == CURLE_OK;
        }
        if (req->method == HTTP_PUT)
                ok = ok && libcurl.easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT") == CURLE_OK;
        else if (req->method == HTTP_PATCH)
                ok = ok && libcurl.easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PATCH") == CURLE_OK;
        else if (req->method == HTTP_POST && !req->body)
                ok = ok && libcurl.easy_setopt(h, CURLOPT_POST, 1L) == CURLE_OK &&
                     libcurl.easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L) == CURLE_OK;
        return ok ? 0 : -EIO;
}

int http_submit(struct http_client *c, const struct http_request *req, http_done_fn done, void *userdata)
{
        struct transfer *t;
        int r;

        if (!c || !req || !req->url || !done || req->timeout_ms == 0 || req->timeout_ms > HTTP_TIMEOUT_MAX_MS ||
            (req->body && !req->content_type) || (req->method == HTTP_GET && req->body))
                return -EINVAL;
        if (!url_allowed(c, req->url))
                return -EINVAL;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->c = c;
        t->cb = done;
        t->userdata = userdata;
        t->start_at_ms = now_monotonic_ms() + (int64_t) req->delay_ms;
        t->easy = libcurl.easy_init();
        if (!t->easy) {
                free(t);
                return -ENOMEM;
        }
        r = setup_easy(t, req);
        if (r < 0) {
                transfer_free(t);
                return r;
        }
        if (req->delay_ms == 0) {
                if (libcurl.multi_add_handle(c->multi, t->easy) != CURLM_OK) {
                        transfer_free(t);
                        return -EIO;
                }
                t->added = true;
        }
        t->next = c->transfers;
        if (t->next)
                t->next->prev = t;
        c->transfers = t;
        arm_timer(c);
        return 0;
}

static enum http_failure classify(const struct transfer *t)
{
        switch (t->result) {
        case CURLE_OK:
                return HTTP_OK;
        case CURLE_OPERATION_TIMEDOUT:
                return HTTP_FAIL_TIMEOUT;
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
                return HTTP_FAIL_CONNECT;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
                return HTTP_FAIL_TLS;
        case CURLE_FILESIZE_EXCEEDED:
                return HTTP_FAIL_TOO_BIG;
        case CURLE_WRITE_ERROR:
                return t->too_big ? HTTP_FAIL_TOO_BIG : HTTP_FAIL_OTHER;
        default:
                return HTTP_FAIL_OTHER;
        }
}

static void report(struct transfer *t)
{
        struct http_response resp = { .failure = classify(t) };
        curl_off_t retry_after = 0;
        char *ct = NULL;

        if (resp.failure == HTTP_OK) {
                (void) libcurl.easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &resp.status);
                (void) libcurl.easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &ct);
                if (libcurl.easy_getinfo(t->easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
                        resp.retry_after = (int64_t) retry_after;
                resp.content_type = ct;
                resp.body = t->buf ? t->buf : "";
                resp.body_len = t->len;
        } else {
                snprintf(resp.error, sizeof(resp.error), "%s",
                         t->errbuf[0] ? t->errbuf : libcurl.easy_strerror(t->result));
        }
        t->cb(t->userdata, &resp);
}

void http_client_process(struct http_client *c)
{
        struct epoll_event ev[32];
        struct transfer *finished = NULL;
        int running = 0, n;
        int64_t now;
        CURLMsg *m;

        if (!c)
                return;
        n = epoll_wait(c->epoll_fd, ev, (int) ELEMENTSOF(ev), 0);
        for (int i = 0; i < n; i++) {
                int flags = 0;

                if (ev[i].data.fd == c->timer_fd) {
                        uint64_t ticks;

                        (void) !read(c->timer_fd, &ticks, sizeof(ticks));
                        continue;
                }
                if (ev[i].events & EPOLLIN)
                        flags |= CURL_CSELECT_IN;
                if (ev[i].events & EPOLLOUT)
                        flags |= CURL_CSELECT_OUT;
                if (ev[i].events & (EPOLLERR | EPOLLHUP))
                        flags |= CURL_CSELECT_ERR;
                libcurl.multi_socket_action(c->multi, ev[i].data.fd, flags, &running);
        }

        /* Timers are checked on every call, not only when the timerfd was
         * among the events: a short epoll_wait batch must not starve them. */
        now = now_monotonic_ms();
        if (c->curl_deadline_ms >= 0 && now >= c->curl_deadline_ms) {
                c->curl_deadline_ms = -1;
                libcurl.multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        for (struct transfer *t = c->transfers; t; t = t->next)
                if (!t->added && !t->done && t->start_at_ms <= now) {
                        if (libcurl.multi_add_handle(c->multi, t->easy) == CURLM_OK) {
                                t->added = true;
                        } else {
                                t->done = true;
                                t->result = CURLE_OUT_OF_MEMORY;
                        }
                }

        while ((m = libcurl.multi_info_read(c->multi, &n)))
                if (m->msg == CURLMSG_DONE) {
                        char *priv = NULL;
                        struct transfer *t;

                        (void) libcurl.easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
                        t = (struct transfer *) (void *) priv;
                        if (t) {
                                t->done = true;
                                t->result = m->data.result;
                        }
                }

        /* Callbacks run last, on transfers already out of the list, so they
         * may submit new requests freely. */
        for (struct transfer *t = c->transfers, *next; t; t = next) {
                next = t->next;
                if (!t->done)
                        continue;
                transfer_unlink(t);
                t->next = finished;
                finished = t;
        }
        arm_timer(c);
        /* In the client, so that a callback's http_abort() sees them. */
        c->finished = finished;
        while (c->finished) {
                struct transfer *t = c->finished;

                c->finished = t->next;
                report(t);
                transfer_free(t);
        }
}

void http_abort(struct http_client *c, void *userdata)
{
        if (!c)
                return;
        for (struct transfer *t = c->transfers, *next; t; t = next) {
                next = t->next;
                if (t->userdata != userdata)
                        continue;
                transfer_unlink(t);
                transfer_free(t);
        }
        for (struct transfer **pp = &c->finished; *pp;) {
                struct transfer *t = *pp;

                if (t->userdata == userdata) {
                        *pp = t->next;
                        transfer_free(t);
                } else
                        pp = &t->next;
        }
        arm_timer(c);
}

/* RFC 3986's unreserved characters, which is what curl_easy_escape left
 * alone: done here so that building a URL needs no libcurl. */
static bool unreserved(unsigned char ch)
{
        return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
               ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

int http_escape(const char *s, char **ret)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t len = 0;
        char *e, *p;

        if (!s || !ret || strlen(s) > INT_MAX)
                return -EINVAL;
        /* '/', '?', '#', '%' and '&' are encoded like everything else. */
        for (const unsigned char *q = (const unsigned char *) s; *q; q++)
                len += unreserved(*q) ? 1 : 3;
        e = p = calloc(len + 1, 1);     /* calloc: cppcheck reads malloc'd bytes as uninitialised here */
        if (!e)
                return -ENOMEM;
        for (const unsigned char *q = (const unsigned char *) s; *q; q++)
                if (unreserved(*q))
                        *p++ = (char) *q;
                else {
                        *p++ = '%';
                        *p++ = hex[*q >> 4];
                        *p++ = hex[*q & 0xf];
                }
        *p = '\0';
        *ret = e;
        return 0;
}
