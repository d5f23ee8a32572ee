/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Asynchronous HTTP(S) over libcurl's multi interface, for the ticket engine.
 *
 * The client owns one epoll fd holding curl's sockets and a timerfd for
 * curl's timeouts and for delayed starts (retries with backoff), so a caller's
 * event loop watches a single fd and calls http_client_process() when it is
 * readable. Nothing here blocks: no curl_easy_perform, no sleeping for a
 * backoff.
 *
 * libcurl is not linked but opened at run time by http_global_init(), so that
 * jitd never maps it: only the ticket helper calls that, once, from its main
 * thread before any other thread exists (curl_global_init's rule), and before
 * http_client_new(). http_escape() needs no libcurl.
 *
 * Every transfer gets the same hardening: https only (http too with
 * allow_http), certificate and host name checks, no redirects followed (a 3xx
 * comes back as a response), connect and total timeouts, a body cap enforced
 * while receiving, no signals.
 */
#ifndef JITD_HTTP_H
#define JITD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_method { HTTP_GET, HTTP_POST, HTTP_PUT, HTTP_PATCH };

enum http_failure {
        HTTP_OK = 0,            /* a response arrived, whatever its status */
        HTTP_FAIL_CONNECT,      /* refused, unreachable, name lookup, connection lost */
        HTTP_FAIL_TIMEOUT,
        HTTP_FAIL_TLS,          /* handshake or certificate */
        HTTP_FAIL_TOO_BIG,      /* body past max_body */
        HTTP_FAIL_OTHER,        /* refused scheme, garbled HTTP, out of memory */
};

struct http_options {
        bool allow_http;
        const char *ca_file;            /* NULL: the system store */
        const char *ca_pem;             /* instead of ca_file: its contents (PEM), copied */
        size_t ca_pem_len;
        size_t max_body;
        /* Credentials, sent with every request. At most one of the two. */
        const char *auth_header;        /* a whole header line, "Authorization: Bearer ..." */
        const char *user, *password;    /* HTTP basic */
};

struct http_request {
        enum http_method method;
        const char *url;
        const char *content_type;       /* of body; NULL when there is no body */
        const char *body;
        uint64_t timeout_ms;            /* connect and whole transfer; 0 is refused */
        uint64_t delay_ms;              /* start this much later */
};

struct http_response {
        enum http_failure failure;
        long status;                    /* 0 unless failure == HTTP_OK */
        const char *content_type;       /* NULL when the server sent none */
        const char *body;               /* NUL-terminated (the NUL is not counted) */
        size_t body_len;
        int64_t retry_after;            /* seconds from Retry-After (number or date), 0 = none */
        char error[256];                /* curl's words for a failure ("" on HTTP_OK); no credentials */
};

/* Called once per submitted request, from http_client_process() only. The
 * response lives until the callback returns. The callback may submit new
 * requests, but must not free the client. */
typedef void (*http_done_fn)(void *userdata, const struct http_response *r);

struct http_client;

/* Opens libcurl and calls curl_global_init(); does nothing the second time.
 * -ELIBACC when libcurl cannot be opened, -ELIBBAD when it lacks a function
 * we call, -EIO when curl_global_init fails; why says which in words. */
int http_global_init(char *why, size_t why_size);
/* curl_global_cleanup(), when http_global_init() succeeded. */
void http_global_cleanup(void);

/* -ELIBACC before http_global_init(). */
int http_client_new(const struct http_options *o, struct http_client **ret);
/* Drops every transfer without calling its callback. */
void http_client_free(struct http_client *c);

int http_client_fd(const struct http_client *c);
void http_client_process(struct http_client *c);

/* Queue a request. The strings are copied. -EINVAL for a URL whose scheme the
 * options refuse, -ENOMEM, or -EIO when curl refuses the transfer; done is
 * never called when this fails, and never from inside this call. */
int http_submit(struct http_client *c, const struct http_request *req, http_done_fn done, void *userdata);
/* Drop every transfer submitted with this userdata, without calling it back;
 * their connections close. */
void http_abort(struct http_client *c, void *userdata);

/* Percent-encode everything but RFC 3986 unreserved characters. */
int http_escape(const char *s, char **ret);

#endif
