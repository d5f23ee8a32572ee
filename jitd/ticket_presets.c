/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * [ticket] to engine settings: each preset fills in what its system's public
 * REST API needs, the config overrides any of it. The token comes from jitd,
 * which read it from token_file (ticket_token.c).
 *
 * Presets (every value can be overridden by the key of the same name):
 *
 * jira        GET {url}/rest/api/2/issue/{ticket}?fields=*all,-comment,-worklog,
 *             -attachment (every field, custom ones included, but not the
 *             lists that grow with the ticket's life and could pass 1 MiB).
 *             status /fields/status/name; approved Approved; closed Closed,
 *             Done, Resolved, Rejected, Declined, Cancelled, Canceled;
 *             requester /fields/reporter/name (Data Center's login; Cloud has
 *             no name: use /fields/reporter/emailAddress with user_map).
 *             auth basic when token_file holds "email:apitoken" (Cloud), else
 *             bearer (Data Center personal access token).
 *             Note: POST .../issue/{ticket}/comment {"body": text}.
 * servicenow  GET {url}/api/now/table/change_request?sysparm_query=number={ticket}
 *             with sysparm_fields naming what is read, so the reference
 *             requested_by comes dot-walked as a login and dates stay UTC
 *             (sysparm_display_value would turn them into the API user's
 *             time zone). An empty result is "not found".
 *             status /result/0/approval; approved approved; closed rejected,
 *             cancelled; also closed when /result/0/state is 3 (Closed) or 4
 *             (Canceled); requester /result/0/requested_by.user_name; window
 *             /result/0/start_date, /result/0/end_date; auth basic.
 *             Note: PATCH {url}/api/now/table/change_request/{sys_id}
 *             {"work_notes": text}, sys_id from the last lookup of the ticket.
 * redmine     GET {url}/issues/{ticket}.json; header X-Redmine-API-Key;
 *             status /issue/status/name; approved Approved (add such a status
 *             to the workflow); closed Closed, Resolved, Rejected; requester
 *             /issue/author/name, which is the login only when Redmine's user
 *             display format is set to the login (Administration > Settings >
 *             Display). Note: PUT {url}/issues/{ticket}.json {"issue": {"notes": text}}.
 * rt          GET {url}/REST/2.0/ticket/{ticket}; auth token ("Authorization:
 *             token ...") or basic when token_file holds "user:password";
 *             status /Status; approved open (RT has no approval state: "open"
 *             means the queue took the ticket on; a custom lifecycle status
 *             such as "approved" is better); closed resolved, rejected,
 *             deleted; requester /Requestor (a list of user objects, matched by
 *             their id). RT's unset dates (1970-01-01T00:00:00Z) read as no
 *             window when window_start = /Starts, window_end = /Due are set.
 *             Note: POST .../ticket/{ticket}/comment, text/plain.
 * gitlab      GET {url}/api/v4/projects/{project}/issues/{ticket} (project =
 *             id or group/repo, URL-encoded here); header PRIVATE-TOKEN; status
 *             /labels (any label counts); approved approved; closed rejected;
 *             also closed when /state is closed; requester /author/username.
 *             Note: POST .../issues/{ticket}/notes {"body": text}.
 * http        nothing: lookup, status and approved are required; auth bearer
 *             when token_file is set; no notes (comment = yes is refused).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ticket_internal.h"
#include "util.h"

struct preset {
        const char *name;
        const char *lookup, *status, *approved, *closed, *requester, *window_start, *window_end;
        const char *auth;               /* NULL: no credentials unless the config says */
        const char *auth_colon;         /* used instead when the token is "user:secret" */
        const char *exists, *state, *state_closed, *id;
        enum http_method comment_method;
        const char *comment_url;
        enum comment_format comment_format;
        const char *comment_field;
};

static const struct preset presets[] = {
        {
                .name = "jira",
                .lookup = "{url}/rest/api/2/issue/{ticket}?fields=*all,-comment,-worklog,-attachment",
                .status = "/fields/status/name",
                .approved = "Approved",
                .closed = "Closed,Done,Resolved,Rejected,Declined,Cancelled,Canceled",
                .requester = "/fields/reporter/name",
                .auth = "bearer",
                .auth_colon = "basic",
                .comment_method = HTTP_POST,
                .comment_url = "{url}/rest/api/2/issue/{ticket}/comment",
                .comment_format = COMMENT_JSON,
                .comment_field = "body",
        },
        {
                .name = "servicenow",
                .lookup = "{url}/api/now/table/change_request?sysparm_query=number={ticket}&sysparm_limit=1"
                          "&sysparm_exclude_reference_link=true&sysparm_fields=sys_id,number,approval,state,"
                          "start_date,end_date,requested_by.user_name,cmdb_ci.name",
                .status = "/result/0/approval",
                .approved = "approved",
                .closed = "rejected,cancelled",
                .requester = "/result/0/requested_by.user_name",
                .window_start = "/result/0/start_date",
                .window_end = "/result/0/end_date",
                .auth = "basic",
                .exists = "/result/0",
                .state = "/result/0/state",
                .state_closed = "3,4",
                .id = "/result/0/sys_id",
                .comment_method = HTTP_PATCH,
                .comment_url = "{url}/api/now/table/change_request/{id}",
                .comment_format = COMMENT_JSON,
                .comment_field = "work_notes",
        },
        {
                .name = "redmine",
                .lookup = "{url}/issues/{ticket}.json",
                .status = "/issue/status/name",
                .approved = "Approved",
                .closed = "Closed,Resolved,Rejected",
                .requester = "/issue/author/name",
                .auth = "header:X-Redmine-API-Key",
                .comment_method = HTTP_PUT,
                .comment_url = "{url}/issues/{ticket}.json",
                .comment_format = COMMENT_JSON,
                .comment_field = "issue/notes",
        },
        {
                .name = "rt",
                .lookup = "{url}/REST/2.0/ticket/{ticket}",
                .status = "/Status",
                .approved = "open",
                .closed = "resolved,rejected,deleted",
                .requester = "/Requestor",
                .auth = "token",
                .auth_colon = "basic",
                .comment_method = HTTP_POST,
                .comment_url = "{url}/REST/2.0/ticket/{ticket}/comment",
                .comment_format = COMMENT_TEXT,
        },
        {
                .name = "gitlab",
                .lookup = "{url}/api/v4/projects/{project}/issues/{ticket}",
                .status = "/labels",
                .approved = "approved",
                .closed = "rejected",
                .requester = "/author/username",
                .auth = "header:PRIVATE-TOKEN",
                .state = "/state",
                .state_closed = "closed",
                .comment_method = HTTP_POST,
                .comment_url = "{url}/api/v4/projects/{project}/issues/{ticket}/notes",
                .comment_format = COMMENT_JSON,
                .comment_field = "body",
        },
        {
                .name = "http",
                .auth = "bearer",
        },
};

static const struct preset *preset_find(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(presets); i++)
                if (strcmp(presets[i].name, name) == 0)
                        return &presets[i];
        return NULL;
}

static void secret_free(char *s)
{
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

void ticket_settings_free(struct ticket_settings *s)
{
        if (!s)
                return;
        free(s->provider);
        free(s->host);
        free(s->lookup);
        free(s->status);
        free(s->requester);
        free(s->user_map);
        free(s->window_start);
        free(s->window_end);
        free(s->hosts);
        strv_free(s->approved);
        strv_free(s->closed);
        free(s->exists);
        free(s->state);
        strv_free(s->state_closed);
        free(s->id);
        free(s->comment_url);
        free(s->comment_field);
        secret_free(s->token);
        secret_free(s->auth_header);
        secret_free(s->user);
        secret_free(s->password);
        free(s->ca_file);
        free(s);
}

/* The config's value, else the preset's; NULL when neither has one. */
static int pick(const char *cfg, const char *preset, char **ret)
{
        const char *v = cfg ? cfg : preset;

        *ret = NULL;
        if (v && !(*ret = strdup(v)))
                return -ENOMEM;
        return 0;
}

static int pick_list(char *const *cfg, const char *preset, char ***ret)
{
        char **v = NULL;

        *ret = NULL;
        if (cfg) {
                size_t n = strv_length(cfg);

                v = calloc(n + 1, sizeof(char *));
                if (!v)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        if (!(v[i] = strdup(cfg[i]))) {
                                strv_free(v);
                                return -ENOMEM;
                        }
        } else if (preset && strv_split(preset, ',', &v) < 0) {
                return -ENOMEM;
        }
        *ret = v;
        return 0;
}

/* Replace every "{key}" in *s by value. */
static int substitute(char **s, const char *key, const char *value)
{
        char pat[32], *out, *o;
        size_t n = 0, plen, vlen = strlen(value);

        snprintf(pat, sizeof(pat), "{%s}", key);
        plen = strlen(pat);
        for (const char *p = strstr(*s, pat); p; p = strstr(p + plen, pat))
                n++;
        if (n == 0)
                return 0;
        out = o = malloc(strlen(*s) + n * vlen + 1);
        if (!out)
                return -ENOMEM;
        for (const char *p = *s, *q;; p = q + plen) {
                q = strstr(p, pat);
                if (!q) {
                        strcpy(o, p);
                        o += strlen(p);
                        break;
                }
                memcpy(o, p, (size_t) (q - p));
                o += q - p;
                memcpy(o, value, vlen);
                o += vlen;
        }
        *o = '\0';
        free(*s);
        *s = out;
        return 0;
}

/* Only the per-request placeholders may be left, the scheme must be allowed,
 * and nothing may break the URL apart. */
static int check_template(const char *what, const char *t, bool allow_http, bool allow_id, char *why,
                          size_t why_size)
{
        const char *p;

        if (!(strncmp(t, "https://", 8) == 0 || (allow_http && strncmp(t, "http://", 7) == 0))) {
                snprintf(why, why_size, "%s: %s", what,
                         strncmp(t, "http://", 7) == 0 ? "plain http is refused unless allow_http = yes"
                                                       : "not an https:// URL");
                return -EINVAL;
        }
        for (p = t; *p; p++) {
                if ((unsigned char) *p <= ' ' || (unsigned char) *p == 0x7f) {
                        snprintf(why, why_size, "%s: white space or control character in the URL", what);
                        return -EINVAL;
                }
                if (*p != '{')
                        continue;
                if (strncmp(p, "{ticket}", 8) == 0 || (allow_id && strncmp(p, "{id}", 4) == 0))
                        continue;
                snprintf(why, why_size, "%s: unknown placeholder in '%.*s'", what, (int) strcspn(p, "}") + 1, p);
                return -EINVAL;
        }
        return 0;
}

static int make_url(const char *tmpl, const char *url, const char *project, char **ret)
{
        char *s = strdup(tmpl), *base = NULL, *proj = NULL;
        int r = 0;

        if (!s)
                return -ENOMEM;
        if (url) {
                size_t n = strlen(url);

                while (n > 0 && url[n - 1] == '/')
                        n--;
                base = strndup(url, n);
                if (!base)
                        r = -ENOMEM;
        }
        if (r == 0 && project)
                r = http_escape(project, &proj);
        if (r == 0 && base)
                r = substitute(&s, "url", base);
        if (r == 0 && proj)
                r = substitute(&s, "project", proj);
        free(base);
        free(proj);
        if (r < 0) {
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}

static int setup_auth(struct ticket_settings *s, const struct ticket_config *cfg, const struct preset *p,
                      const char *token, char *why, size_t why_size)
{
        const char *auth = cfg->auth;
        char *colon;
        int r;

        if (!token) {
                if (cfg->auth) {
                        snprintf(why, why_size, "auth = %s needs token_file", cfg->auth);
                        return -EINVAL;
                }
                return 0;               /* a system that answers anonymous lookups */
        }
        s->token = strdup(token);
        if (!s->token)
                return -ENOMEM;
        colon = strchr(s->token, ':');
        if (!auth)
                auth = colon && p->auth_colon ? p->auth_colon : p->auth;
        if (strcmp(auth, "basic") == 0) {
                if (!colon) {
                        snprintf(why, why_size, "auth = basic needs token_file to hold user:secret");
                        return -EINVAL;
                }
                if (!(s->user = strndup(s->token, (size_t) (colon - s->token))) || !(s->password = strdup(colon + 1)))
                        return -ENOMEM;
                return 0;
        }
        if (strcmp(auth, "bearer") == 0)
                r = asprintf(&s->auth_header, "Authorization: Bearer %s", s->token);
        else if (strcmp(auth, "token") == 0)
                r = asprintf(&s->auth_header, "Authorization: token %s", s->token);
        else if (strncmp(auth, "header:", 7) == 0 && auth[7])
                r = asprintf(&s->auth_header, "%s: %s", auth + 7, s->token);
        else {
                snprintf(why, why_size, "auth: '%s' is not one of bearer, basic, token, header:NAME", auth);
                return -EINVAL;
        }
        if (r < 0) {
                s->auth_header = NULL;
                return -ENOMEM;
        }
        return 0;
}

static int setup_urls(struct ticket_settings *s, const struct ticket_config *cfg, const struct preset *p,
                      char *why, size_t why_size)
{
        const char *lookup = cfg->lookup ? cfg->lookup : p->lookup;
        const char *comment = p->comment_url;
        int r;

        if (!lookup) {
                snprintf(why, why_size, "provider %s needs lookup", p->name);
                return -EINVAL;
        }
        if ((strstr(lookup, "{url}") || (s->comment && comment && strstr(comment, "{url}"))) && !cfg->url) {
                snprintf(why, why_size, "provider %s needs url", p->name);
                return -EINVAL;
        }
        if ((strstr(lookup, "{project}") || (s->comment && comment && strstr(comment, "{project}"))) &&
            !cfg->project) {
                snprintf(why, why_size, "provider %s needs project (like 42 or group/repo)", p->name);
                return -EINVAL;
        }
        if (cfg->url && check_template("url", cfg->url, cfg->allow_http, false, why, why_size) < 0)
                return -EINVAL;
        r = make_url(lookup, cfg->url, cfg->project, &s->lookup);
        if (r < 0)
                return r;
        if (!strstr(s->lookup, "{ticket}")) {
                snprintf(why, why_size, "lookup: no {ticket} in the URL");
                return -EINVAL;
        }
        r = check_template("lookup", s->lookup, cfg->allow_http, false, why, why_size);
        if (r < 0)
                return r;
        if (!s->comment)
                return 0;
        if (!comment) {
                snprintf(why, why_size, "provider %s has no comment API: set comment = no", p->name);
                return -EINVAL;
        }
        r = make_url(comment, cfg->url, cfg->project, &s->comment_url);
        if (r < 0)
                return r;
        return check_template("comment URL", s->comment_url, cfg->allow_http, true, why, why_size);
}

int ticket_settings_new(const struct ticket_config *cfg, const char *host, const char *token,
                        struct ticket_settings **ret, char *why, size_t why_size)
{
        struct ticket_settings *s;
        const struct preset *p;
        int r;

        if (!cfg || !cfg->provider || !ret || !why || why_size == 0)
                return -EINVAL;
        why[0] = '\0';
        p = preset_find(cfg->provider);
        if (!p) {
                snprintf(why, why_size, "provider: '%s' is not one of jira, servicenow, redmine, rt, gitlab, http",
                         cfg->provider);
                return -EINVAL;
        }
        if (!host || !valid_host_name(host)) {
                snprintf(why, why_size, "this host's name is not valid for a ticket binding");
                return -EINVAL;
        }
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->comment = cfg->comment;
        s->allow_http = cfg->allow_http;
        s->timeout_ms = (cfg->timeout ? cfg->timeout : 10) * 1000;
        if (s->timeout_ms > TICKET_TIMEOUT_MAX * 1000) {
                snprintf(why, why_size, "timeout: at most %ds for a ticket lookup", TICKET_TIMEOUT_MAX);
                r = -EINVAL;
                goto fail;
        }
        s->poll = cfg->poll ? cfg->poll : 60;
        s->comment_method = p->comment_method;
        s->comment_format = p->comment_format;
        if (!(s->provider = strdup(p->name)) || !(s->host = strdup(host)) ||
            pick(cfg->status, p->status, &s->status) < 0 || pick(cfg->requester, p->requester, &s->requester) < 0 ||
            pick(cfg->user_map, NULL, &s->user_map) < 0 ||
            pick(cfg->window_start, p->window_start, &s->window_start) < 0 ||
            pick(cfg->window_end, p->window_end, &s->window_end) < 0 || pick(cfg->hosts, NULL, &s->hosts) < 0 ||
            pick_list(cfg->approved, p->approved, &s->approved) < 0 ||
            pick_list(cfg->closed, p->closed, &s->closed) < 0 || pick(NULL, p->exists, &s->exists) < 0 ||
            pick(NULL, p->state, &s->state) < 0 || pick_list(NULL, p->state_closed, &s->state_closed) < 0 ||
            pick(NULL, p->id, &s->id) < 0 || pick(NULL, p->comment_field, &s->comment_field) < 0 ||
            pick(cfg->ca_file, NULL, &s->ca_file) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        if (!s->status || !s->approved) {
                snprintf(why, why_size, "provider %s needs lookup, status and approved", p->name);
                r = -EINVAL;
                goto fail;
        }
        if (s->user_map && !strstr(s->user_map, "{user}")) {
                snprintf(why, why_size, "user_map: '%s' has no {user}", s->user_map);
                r = -EINVAL;
                goto fail;
        }
        r = setup_urls(s, cfg, p, why, why_size);
        if (r < 0)
                goto fail;
        r = setup_auth(s, cfg, p, token, why, why_size);
        if (r < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        if (r == -ENOMEM && !why[0])
                snprintf(why, why_size, "out of memory");
        ticket_settings_free(s);
        return r;
}
