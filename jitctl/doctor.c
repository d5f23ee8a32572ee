/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitctl doctor: is this host set up right? Each check prints one line, OK,
 * WARN or FAIL, its name, what it found and, unless OK, the fix. FAIL is for
 * what leaves privilege unguarded or stops jitd from working; WARN for what
 * weakens it or could not be checked from here. Exit 1 on any FAIL.
 *
 * Everything is read, nothing is changed: the fixes are for the admin to run.
 * Every path can be pointed elsewhere (-c, --pam-dir, --sudoers, -s), so that
 * the tests run on files in a temporary directory. The parsing of PAM stacks,
 * sudoers includes and URLs lives in doctor_parse.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/timex.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client.h"
#include "commands.h"
#include "config.h"
#include "doctor_parse.h"
#include "dropin.h"
#include "gating.h"
#include "grant.h"
#include "mountinfo.h"
#include "output.h"
#include "policy.h"
#include "proto.h"
#include "util.h"

#ifndef JIT_VERSION
#define JIT_VERSION "unknown"
#endif

#define DOCTOR_PAM_DIR     "/etc/pam.d"
#define DOCTOR_SUDOERS     "/etc/sudoers"
#define CONNECT_TIMEOUT_MS 2000
#define LIST_IDS_MAX       8            /* drop-ins and grants named in one line */
#define NAME_WIDTH         12

enum status { ST_OK, ST_WARN, ST_FAIL };

static const char *const status_names[] = { [ST_OK] = "OK", [ST_WARN] = "WARN", [ST_FAIL] = "FAIL" };

struct doctor {
        struct jitctl_ctx *ctx;
        bool json;
        struct json_object *checks;     /* --json: the results, printed at the end */
        struct json_object *last;       /* --json: the last check, for its details */
        unsigned n_fail, n_warn;

        const char *config_path, *pam_dir, *sudoers;
        struct config *cfg;             /* NULL when it did not load: defaults below */
        const char *socket, *sudoers_dir, *visudo;
        char short_host[HOST_NAME_MAX + 1];     /* for %h in sudoers */

        bool reached;                   /* jitd answered PING */
        char jitd_host[JIT_HOST_MAX + 1];
};

/* ---- output ------------------------------------------------------------- */

static void report(struct doctor *d, enum status st, const char *name, const char *found, const char *fix)
{
        if (st == ST_FAIL)
                d->n_fail++;
        else if (st == ST_WARN)
                d->n_warn++;
        if (d->json) {
                struct json_object *o = json_object_new_object();

                json_object_object_add(o, "check", json_object_new_string(name ? name : "?"));
                json_object_object_add(o, "status", json_object_new_string(status_names[st]));
                json_object_object_add(o, "found", json_object_new_string(found ? found : ""));
                json_object_object_add(o, "fix", st != ST_OK && fix ? json_object_new_string(fix) : NULL);
                json_object_array_add(d->checks, o);
                d->last = o;
                return;
        }
        fprintf(d->ctx->out, "%-4s  %-*s  ", status_names[st], NAME_WIDTH, name ? name : "?");
        output_fputs_safe(found, d->ctx->out);
        if (st != ST_OK && fix && fix[0]) {
                fputs("; fix: ", d->ctx->out);
                output_fputs_safe(fix, d->ctx->out);
        }
        fputc('\n', d->ctx->out);
}

/* One more line under the last check (config errors, one per line). */
static void report_detail(struct doctor *d, const char *line)
{
        if (d->json) {
                struct json_object *a;

                if (!d->last)
                        return;
                if (!json_object_object_get_ex(d->last, "details", &a)) {
                        a = json_object_new_array();
                        json_object_object_add(d->last, "details", a);
                }
                json_object_array_add(a, json_object_new_string(line));
                return;
        }
        fputs("        ", d->ctx->out);
        output_fputs_safe(line, d->ctx->out);
        fputc('\n', d->ctx->out);
}

/* printf into a fresh string; NULL when out of memory, which every user
 * takes as "nothing to say" (report() prints NULL as empty). */
__attribute__((format(printf, 1, 2)))
static char *fmt(const char *f, ...)
{
        char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, f);
        r = vasprintf(&s, f, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

/* Append "; text" (or text when *s is NULL) to *s. */
__attribute__((format(printf, 2, 3)))
static void append(char **s, const char *f, ...)
{
        char *part = NULL, *joined;
        va_list ap;
        int r;

        va_start(ap, f);
        r = vasprintf(&part, f, ap);
        va_end(ap);
        if (r < 0)
                return;
        if (!*s) {
                *s = part;
                return;
        }
        joined = fmt("%s; %s", *s, part);
        free(part);
        if (joined) {
                free(*s);
                *s = joined;
        }
}

/* Replace *s with a new string. */
static void replace(char **s, char *by)
{
        free(*s);
        *s = by;
}

/* What is wrong with a file's owner and mode, said and fixed: jitd trusts
 * files that only root can change (and, for secrets, only root can read). */
static bool bad_owner_mode(const struct stat *sb, const char *path, mode_t bad, const char *why,
                           const char *chmod_fix, char **found, char **fix)
{
        if (sb->st_uid == 0 && !(sb->st_mode & bad))
                return false;
        if (sb->st_uid != 0) {
                append(found, "owned by uid %u, not root", (unsigned) sb->st_uid);
                append(fix, "chown root:root %s", path);
        }
        if (sb->st_mode & bad) {
                append(found, "mode %04o: %s", (unsigned) (sb->st_mode & 07777), why);
                append(fix, "%s %s", chmod_fix, path);
        }
        return true;
}

/* ---- 1. config ---------------------------------------------------------- */

static void check_config(struct doctor *d)
{
        struct config_errors e = {};
        struct config *cfg = NULL;
        _cleanup_free_ char *found = NULL, *fix = NULL;
        enum status st = ST_OK;
        struct stat sb;
        int r;

        r = config_load(d->config_path, &cfg, &e);
        if (r == -EINVAL) {
                st = ST_FAIL;
                found = fmt("%s: %zu error%s", d->config_path, e.n, e.n == 1 ? "" : "s");
                fix = fmt("correct %s, then check it with: jitd --check -c %s", e.n == 1 ? "it" : "them",
                          d->config_path);
        } else if (r < 0) {
                st = r == -EACCES ? ST_WARN : ST_FAIL;
                found = fmt("cannot read %s: %s", d->config_path, strerror(-r));
                fix = strdup(r == -EACCES ? "run jitctl doctor as root" :
                             r == -ENOENT ? "install one (see jitd.conf(5); make install puts an example there)" :
                             "make it a readable file");
        } else
                found = fmt("%s: %zu role%s", d->config_path, cfg->n_roles, cfg->n_roles == 1 ? "" : "s");

        /* jitd runs as root on what this file says: whoever may write it
         * may grant themselves anything. */
        if (r != -ENOENT && stat(d->config_path, &sb) == 0) {
                if (bad_owner_mode(&sb, d->config_path, S_IWGRP | S_IWOTH, "writable by group or others",
                                   "chmod go-w", &found, &fix))
                        st = ST_FAIL;
                else if (r >= 0)
                        replace(&found, fmt("%s: %zu role%s, root-owned, mode %04o", d->config_path, cfg->n_roles,
                                            cfg->n_roles == 1 ? "" : "s", (unsigned) (sb.st_mode & 07777)));
        }
        /* Without allowed_signers no peer-approved fleet grant verifies on
         * this host: jitd runs, but enforces none of them. */
        if (cfg && cfg->fleet.line && !cfg->fleet.allowed_signers && st == ST_OK) {
                st = ST_WARN;
                replace(&found, fmt("%s:%u: [fleet] has no allowed_signers: no fleet grant is enforced here",
                                    d->config_path, cfg->fleet.line));
                replace(&fix, strdup("set [fleet] allowed_signers to the approvers' keys (jitd.conf(5))"));
        }
        report(d, st, "config", found, fix);
        /* Only parse errors: "cannot open" is already the line itself. */
        for (size_t i = 0; r == -EINVAL && i < e.n; i++)
                report_detail(d, e.lines[i]);
        if (!cfg && !d->json)
                report_detail(d, "(the checks below use the built-in defaults)");
        config_errors_clear(&e);
        d->cfg = cfg;
}

/* ---- 2. jitd ------------------------------------------------------------ */

static void check_jitd(struct doctor *d)
{
        _cleanup_free_ char *found = NULL, *fix = NULL;
        struct proto_msg req, rep;
        const char *version, *host, *msg;
        int r;

        proto_init(&req, PROTO_REQ_PING);
        r = client_call(d->socket, &req, &rep, d->ctx->timeout_ms);
        if (r == -EPROTO || r == -EBADMSG) {
                found = fmt("jitd at %s %s", d->socket, r == -EPROTO ? "speaks another protocol version" :
                            "sent a garbled reply");
                report(d, ST_FAIL, "jitd", found, "install jitd and jitctl from the same build, then: "
                       "systemctl restart jitd");
                return;
        }
        if (r < 0) {
                found = fmt("cannot reach jitd at %s: %s", d->socket, strerror(-r));
                report(d, ST_FAIL, "jitd", found, "start jitd: systemctl start jitd.socket");
                return;
        }
        if (rep.type != PROTO_REP_OK) {
                msg = rep.type == PROTO_REP_ERROR ? proto_get_str(&rep, PF_MESSAGE) : NULL;
                found = fmt("jitd at %s did not answer PING: %s", d->socket, msg ? msg : "unexpected reply");
                report(d, ST_FAIL, "jitd", found, "see its log: journalctl -u jitd");
                return;
        }
        d->reached = true;
        version = proto_get_str(&rep, PF_VERSION);
        host = proto_get_str(&rep, PF_HOST);
        snprintf(d->jitd_host, sizeof(d->jitd_host), "%s", host ? host : "");
        found = fmt("jitd %s on host %s answers at %s", version ? version : "(no version)", host ? host : "?",
                    d->socket);
        if (!version || strcmp(version, JIT_VERSION) != 0) {
                append(&found, "this jitctl is %s", JIT_VERSION);
                report(d, ST_WARN, "jitd", found, "restart jitd after an upgrade: systemctl restart jitd");
                return;
        }
        /* jitd matches grants and roles by its own host name: if it differs
         * from the file here, jitd runs another config than this one. */
        if (d->cfg && host && strcmp(host, d->cfg->host) != 0) {
                append(&found, "but %s says host %s", d->config_path, d->cfg->host);
                fix = fmt("have jitd read this config: jitctl reload (or start it with -c %s)", d->config_path);
                report(d, ST_WARN, "jitd", found, fix);
                return;
        }
        report(d, ST_OK, "jitd", found, NULL);
}

/* ---- 3. PAM ------------------------------------------------------------- */

static bool roles_use_ticket(const struct config *c)
{
        for (size_t i = 0; c && i < c->n_roles; i++)
                if (c->roles[i].approval & APPROVAL_TICKET)
                        return true;
        return false;
}

static const char *control_word(const char *control)
{
        return control[0] == '[' ? "[...]" : control;
}

/* "FILE:LINE", the file relative to the PAM directory when it is in there. */
static char *where(const struct doctor *d, const struct doctor_pam_rule *r)
{
        size_t n = strlen(d->pam_dir);
        const char *f = r->file;

        if (strncmp(f, d->pam_dir, n) == 0 && f[n] == '/')
                f += n + 1;
        return fmt("%s:%u", f, r->line);
}

/* Is the module (a name or a path) this one? */
static bool module_is(const char *module, const char *name)
{
        const char *base = module ? strrchr(module, '/') : NULL;

        return module && strcmp(base ? base + 1 : module, name) == 0;
}

/*
 * The session line's place. pam_systemd is where logind makes its session
 * and moves the process that opened it into session-N.scope; jitd registers
 * the session it finds at pam_jit's line. pam_jit's line ahead of
 * pam_systemd's registers a process that logind then takes away: teardown
 * ends an empty handle and reports success while the session runs on. So
 * pam_jit's session line must come after pam_systemd's (what
 * "pam-auth-update --enable jit" writes). Returns the first pam_systemd
 * session rule after ours, or NULL.
 */
static const struct doctor_pam_rule *logind_after(const struct doctor_pam_stack *s,
                                                  const struct doctor_pam_rule *ours)
{
        bool past = false;

        for (size_t i = 0; s && ours && i < s->n; i++) {
                const struct doctor_pam_rule *r = &s->rules[i];

                if (r == ours)
                        past = true;
                else if (past && r->phase == DOCTOR_PAM_SESSION && module_is(r->module, "pam_systemd.so"))
                        return r;
        }
        return NULL;
}

/* A session rule ahead of pam_jit's whose success ends the session phase or
 * jumps over pam_jit's rule: then the session is never registered. The same
 * rule as doctor_pam_analyse applies to the account phase. */
static const struct doctor_pam_rule *session_bypass(const struct doctor_pam_stack *s,
                                                    const struct doctor_pam_rule *ours)
{
        size_t at = 0, pos = 0;

        if (!s || !ours)
                return NULL;
        for (size_t i = 0; &s->rules[i] != ours; i++)
                if (s->rules[i].phase == DOCTOR_PAM_SESSION && !s->rules[i].substack)
                        at++;
        for (size_t i = 0; &s->rules[i] != ours; i++) {
                const struct doctor_pam_rule *r = &s->rules[i];
                int act;

                if (r->phase != DOCTOR_PAM_SESSION || r->substack)
                        continue;
                act = doctor_pam_on_success(r->control);
                if (act == DOCTOR_PAM_ENDS || (act > 0 && pos + (size_t) act >= at))
                        return r;
                pos++;
        }
        return NULL;
}

/* How to move a line of ours above (or below) a rule that may stand in an
 * included file: name the include line of the service's file then. */
static char *move_fix(const struct doctor *d, const char *path, const struct doctor_pam_rule *other,
                      const char *what)
{
        _cleanup_free_ char *w = where(d, other);

        if (strcmp(other->file, path) == 0)
                return fmt("move the pam_jit %s %s", what, w);
        return fmt("move the pam_jit %s the line of %s that includes %s", what, path, other->file);
}

/* The session line: there, in place, and required. */
static void check_pam_session(struct doctor *d, const struct doctor_pam_stack *s,
                              const struct doctor_pam_verdict *v, const char *path, enum status *st,
                              char **found, char **fix)
{
        const struct doctor_pam_rule *logind, *bypass;
        _cleanup_free_ char *w = NULL;

        if (!v->session) {
                *st = ST_FAIL;
                append(found, "no pam_jit session line: sessions are not registered and outlive the grant");
                append(fix, "add 'session required pam_jit.so' after the session lines of %s", path);
                return;
        }
        w = where(d, v->session);
        if ((logind = logind_after(s, v->session))) {
                _cleanup_free_ char *l = where(d, logind), *m = move_fix(d, path, logind, "session line below");

                *st = ST_FAIL;
                append(found, "session line %s comes before pam_systemd at %s: logind then moves the session's "
                       "processes into its own scope, away from what jitd registered, and teardown misses them",
                       w, l);
                append(fix, "%s (pam-auth-update --enable jit puts it there)", m ? m : "");
        }
        if ((bypass = session_bypass(s, v->session))) {
                _cleanup_free_ char *b = where(d, bypass), *m = move_fix(d, path, bypass, "session line above");

                *st = ST_FAIL;
                append(found, "session line %s comes after '%s %s' at %s, which can end the phase with success "
                       "first: the session is not registered", w, bypass->control, bypass->module, b);
                append(fix, "%s", m ? m : "");
        }
        /* optional (or a bracket that ignores the refusal): a session jitd
         * could not register, because it was unreachable for that moment or
         * its teardown backend failed, runs untracked and outlives the
         * grant. pam_jit(8): a session that cannot be registered under an
         * active grant covering it does not run. */
        if (!doctor_pam_enforces(v->session->control)) {
                *st = *st == ST_OK ? ST_WARN : *st;
                append(found, "session line %s is '%s': a session jitd cannot register runs untracked and "
                       "outlives the grant", w, control_word(v->session->control));
                append(fix, "make it 'session required pam_jit.so'");
        }
}

/* One service's stack. file is the PAM file that holds it: the service's
 * own, or "other" when the service has none (what Linux-PAM falls back to);
 * then the line says so. */
static void check_pam_service_in(struct doctor *d, const char *service, const char *file)
{
        struct doctor_pam_stack s = {};
        struct doctor_pam_verdict v;
        _cleanup_free_ char *name = fmt("pam:%s", service), *path = fmt("%s/%s", d->pam_dir, file);
        _cleanup_free_ char *found = NULL, *fix = NULL;
        enum status st = ST_OK;
        char sock[PATH_MAX];
        int r;

        r = doctor_pam_load(d->pam_dir, file, &s);
        if (r < 0) {
                found = fmt("cannot read %s: %s", path, strerror(-r));
                fix = strdup("create it with 'account required pam_jit.so' and 'session required pam_jit.so' "
                             "after the lines of each phase");
                report(d, r == -EACCES ? ST_WARN : ST_FAIL, name, found, fix);
                return;
        }
        doctor_pam_analyse(&s, &v);

        if (!v.account) {
                st = ST_FAIL;
                append(&found, "no pam_jit account line");
                append(&fix, "add 'account required pam_jit.so' after the account lines of %s", path);
        } else if (!doctor_pam_enforces(v.account->control)) {
                _cleanup_free_ char *w = where(d, v.account);

                st = ST_FAIL;
                append(&found, "account line %s is '%s': a refusal does not count", w,
                       control_word(v.account->control));
                append(&fix, "make it 'account required pam_jit.so'");
        } else if (v.bypass) {
                _cleanup_free_ char *w = where(d, v.account), *b = where(d, v.bypass);

                st = ST_FAIL;
                append(&found, "account line %s comes after '%s %s' at %s, which can end the phase with "
                       "success first", w, v.bypass->control, v.bypass->module, b);
                if (strcmp(v.bypass->file, path) == 0)
                        append(&fix, "move the pam_jit account line above %s", b);
                else
                        append(&fix, "move the pam_jit account line above the line of %s that includes %s", path,
                               v.bypass->file);
        }
        check_pam_session(d, &s, &v, path, &st, &found, &fix);
        if (v.auth && doctor_pam_has_arg(v.auth->args, "prompt") && d->cfg && !roles_use_ticket(d->cfg)) {
                _cleanup_free_ char *w = where(d, v.auth);

                st = st == ST_OK ? ST_WARN : st;
                append(&found, "auth line %s has 'prompt' but no role uses ticket approval", w);
                append(&fix, "drop 'prompt' from %s", w);
        }
        /* The module asks jitd at socket= or at the default; anywhere else
         * it fails closed and refuses everyone a role covers. */
        if (v.account) {
                bool given = doctor_pam_arg_value(v.account->args, "socket", sock, sizeof(sock));

                if (strcmp(given ? sock : JIT_DEFAULT_SOCKET, d->socket) != 0) {
                        _cleanup_free_ char *w = where(d, v.account);

                        st = st == ST_OK ? ST_WARN : st;
                        append(&found, "pam_jit at %s asks %s, jitd listens at %s", w,
                               given ? sock : JIT_DEFAULT_SOCKET, d->socket);
                        append(&fix, "socket=%s on the pam_jit lines", d->socket);
                }
        }
        if (s.note) {
                st = st == ST_OK ? ST_WARN : st;
                append(&found, "%s", s.note);
                append(&fix, "make the included file readable, or check that stack by hand");
        }
        if (st == ST_OK) {
                _cleanup_free_ char *a = where(d, v.account), *se = where(d, v.session);

                found = fmt("%s: account %s (%s), session %s (%s)", path, a, control_word(v.account->control),
                            se, control_word(v.session->control));
                if (v.auth) {
                        _cleanup_free_ char *au = where(d, v.auth);

                        append(&found, "auth %s%s", au, doctor_pam_has_arg(v.auth->args, "prompt") ? " (prompt)" : "");
                }
        } else
                replace(&found, fmt("%s: %s", path, found ? found : ""));
        if (strcmp(service, file) != 0)
                replace(&found, fmt("no %s/%s, so PAM uses %s: %s", d->pam_dir, service, file, found ? found : ""));
        report(d, st, name, found, fix);
        doctor_pam_stack_free(&s);
}

static void check_pam_service(struct doctor *d, const char *service)
{
        check_pam_service_in(d, service, service);
}

/* sudo -i runs the PAM service sudo-i (Debian's sudo: pam_login_service),
 * and a role gating sudo gates it too (pam_jit(8)). Without a sudo-i file
 * Linux-PAM uses "other"; without that either, sudo -i cannot pass PAM. */
static void check_pam_sudo_i(struct doctor *d)
{
        _cleanup_free_ char *i = fmt("%s/sudo-i", d->pam_dir), *o = fmt("%s/other", d->pam_dir), *found = NULL;

        if (!i || !o)
                return;
        if (access(i, F_OK) == 0 || errno != ENOENT)
                check_pam_service_in(d, "sudo-i", "sudo-i");
        else if (access(o, F_OK) == 0 || errno != ENOENT)
                check_pam_service_in(d, "sudo-i", "other");
        else {
                found = fmt("neither %s nor %s: sudo -i cannot open a PAM session here", i, o);
                report(d, ST_OK, "pam:sudo-i", found, NULL);
        }
}

/* sudo always; and every service a role gates on this host. */
static void check_pam(struct doctor *d)
{
        char **done = NULL;
        size_t n = 0;

        check_pam_service(d, "sudo");
        check_pam_sudo_i(d);
        for (size_t i = 0; d->cfg && i < d->cfg->n_roles; i++) {
                const struct role *r = &d->cfg->roles[i];

                if (!policy_host_matches(r, d->cfg->host))
                        continue;
                for (char **s = r->services; s && *s; s++) {
                        bool seen = strcmp(*s, "sudo") == 0 || strcmp(*s, "sudo-i") == 0;
                        char **grown;

                        for (size_t k = 0; k < n && !seen; k++)
                                seen = strcmp(done[k], *s) == 0;
                        /* Service names come from the config: a '/' would
                         * leave the PAM directory. */
                        if (seen || !valid_service_name(*s))
                                continue;
                        grown = reallocarray(done, n + 1, sizeof(*done));
                        if (!grown)
                                break;
                        done = grown;
                        done[n++] = *s;
                        check_pam_service(d, *s);
                }
        }
        free(done);
}

/* ---- 4. sudoers --------------------------------------------------------- */

static void check_sudoers(struct doctor *d)
{
        struct doctor_sudoers_scan s = {};
        _cleanup_free_ char *found = NULL, *fix = NULL;
        int r;

        r = doctor_sudoers_scan(d->sudoers, d->sudoers_dir, d->short_host, &s);
        if (r < 0) {
                found = fmt("cannot read %s: %s", d->sudoers, strerror(-r));
                report(d, r == -EACCES ? ST_WARN : ST_FAIL, "sudoers", found,
                       r == -EACCES ? "run jitctl doctor as root" : "point --sudoers at the main sudoers file");
                return;
        }
        if (s.loop) {
                /* visudo -c says "too many levels of includes" and sudo
                 * refuses every rule: nobody can sudo, with or without a grant. */
                found = fmt("%s: %s", d->sudoers, s.note);
                fix = fmt("remove the include that loops back, then check with visudo -c -f %s", d->sudoers);
                report(d, ST_FAIL, "sudoers", found, fix);
        } else if (s.where) {
                found = fmt("%s includes %s (%s)", d->sudoers, d->sudoers_dir, s.where);
                if (s.note) {
                        /* Something sudo reads could not be followed: what
                         * it holds is unknown to this check. */
                        append(&found, "%s", s.note);
                        report(d, ST_WARN, "sudoers", found, "make every included file readable by root, a regular "
                               "file, and within sudo's limits");
                } else {
                        report(d, ST_OK, "sudoers", found, NULL);
                }
        } else {
                found = fmt("%s has no @includedir for %s, so sudo never reads jitd's drop-ins (%s%s)", d->sudoers,
                            d->sudoers_dir, s.seen ? "it includes " : "it includes no directory",
                            s.seen ? s.seen : "");
                if (s.note)
                        append(&found, "%s", s.note);
                fix = fmt("add the line '@includedir %s' with visudo -f %s", d->sudoers_dir, d->sudoers);
                report(d, ST_FAIL, "sudoers", found, fix);
        }
        doctor_sudoers_scan_clear(&s);
}

static void check_sudoers_dir(struct doctor *d)
{
        _cleanup_free_ char *found = NULL, *fix = NULL;
        const char *dir = d->sudoers_dir;
        struct stat sb;

        /* jitd's own test (jitd/sudoers.c): a real directory, root's, not
         * writable by group or others; it refuses to start otherwise. */
        if (lstat(dir, &sb) < 0) {
                int e = errno;

                found = fmt("%s: %s", dir, strerror(e));
                fix = e == ENOENT ? fmt("mkdir -m 0750 %s", dir) : fmt("make %s a directory jitd can use", dir);
                report(d, e == EACCES ? ST_WARN : ST_FAIL, "sudoers_dir", found, fix);
                return;
        }
        if (S_ISLNK(sb.st_mode) || !S_ISDIR(sb.st_mode)) {
                found = fmt("%s is %s: jitd refuses it", dir,
                            S_ISLNK(sb.st_mode) ? "a symbolic link" : "not a directory");
                report(d, ST_FAIL, "sudoers_dir", found, "set sudoers_dir in [jitd] to the real directory");
                return;
        }
        if (bad_owner_mode(&sb, dir, S_IWGRP | S_IWOTH, "writable by group or others", "chmod go-w", &found, &fix)) {
                replace(&found, fmt("%s: %s", dir, found ? found : ""));
                report(d, ST_FAIL, "sudoers_dir", found, fix);
                return;
        }
        found = fmt("%s: root-owned, mode %04o", dir, (unsigned) (sb.st_mode & 07777));
        report(d, ST_OK, "sudoers_dir", found, NULL);
}

/* The recording directory, when some role records (jitd.conf(5) record):
 * jitd's own test (jitd/recording.c), and room for what sudo writes. */
static void check_record_dir(struct doctor *d)
{
        _cleanup_free_ char *found = NULL, *fix = NULL;
        const char *dir;
        struct statvfs sv;
        struct stat sb;

        if (!d->cfg || !config_records_any(d->cfg))
                return;
        dir = d->cfg->record_dir;
        if (lstat(dir, &sb) < 0) {
                int e = errno;

                found = fmt("%s: %s", dir, strerror(e));
                fix = e == ENOENT ? fmt("jitd creates it at start (mode 0700); or: mkdir -p -m 0700 %s", dir) :
                                    fmt("make %s a directory jitd can use", dir);
                report(d, e == EACCES || e == ENOENT ? ST_WARN : ST_FAIL, "record_dir", found, fix);
                return;
        }
        if (S_ISLNK(sb.st_mode) || !S_ISDIR(sb.st_mode)) {
                found = fmt("%s is %s: jitd refuses it, and no recorded session runs", dir,
                            S_ISLNK(sb.st_mode) ? "a symbolic link" : "not a directory");
                report(d, ST_FAIL, "record_dir", found, "set record_dir in [jitd] to a real directory");
                return;
        }
        if (bad_owner_mode(&sb, dir, 077, "open to group or others", "chmod 0700", &found, &fix)) {
                replace(&found, fmt("%s: %s", dir, found ? found : ""));
                report(d, ST_FAIL, "record_dir", found, fix);
                return;
        }
        if (statvfs(dir, &sv) == 0 && (uint64_t) sv.f_bavail * sv.f_frsize < 64ull * 1024 * 1024) {
                found = fmt("%s: root's, mode %04o, but only %llu KiB free: recorded sessions are refused below "
                            "1 MiB", dir, (unsigned) (sb.st_mode & 07777),
                            (unsigned long long) ((uint64_t) sv.f_bavail * sv.f_frsize / 1024));
                report(d, ST_WARN, "record_dir", found, "free some space, or shorten record_retention");
                return;
        }
        found = fmt("%s: root-owned, mode %04o", dir, (unsigned) (sb.st_mode & 07777));
        report(d, ST_OK, "record_dir", found, NULL);
}

/* ---- 5. visudo ---------------------------------------------------------- */

static void check_visudo(struct doctor *d)
{
        _cleanup_free_ char *found = NULL, *fix = NULL;
        struct stat sb;

        /* jitd has every drop-in checked by visudo before sudo can read it,
         * and refuses to activate a grant without it. */
        if (stat(d->visudo, &sb) < 0 || !S_ISREG(sb.st_mode)) {
                found = S_ISREG(sb.st_mode) || errno ? fmt("%s: %s", d->visudo, strerror(errno)) :
                        fmt("%s is not a regular file", d->visudo);
                fix = fmt("apt-get install sudo, or set visudo = PATH in [jitd] of %s", d->config_path);
                report(d, ST_FAIL, "visudo", found, fix);
                return;
        }
        if (!(sb.st_mode & 0111) || access(d->visudo, X_OK) < 0) {
                found = fmt("%s is not executable (mode %04o)", d->visudo, (unsigned) (sb.st_mode & 07777));
                fix = fmt("chmod 0755 %s", d->visudo);
                report(d, ST_FAIL, "visudo", found, fix);
                return;
        }
        found = fmt("%s", d->visudo);
        report(d, ST_OK, "visudo", found, NULL);
}

/* ---- 6. drop-ins -------------------------------------------------------- */

struct grant_list {
        struct jit_grant *v;
        size_t n;
};

/* Active grants, everyone's (admins only), over the stable client API so
 * that what went wrong ends up in the check's line, not on stderr. */
static int fetch_active(const struct doctor *d, struct grant_list *ret, char *why, size_t why_size)
{
        struct grant_list l = {};
        struct proto_msg req, rep;
        int fd = -1, r;

        proto_init(&req, PROTO_REQ_LIST);
        if ((r = proto_set_u64(&req, PF_FLAGS, PROTO_F_ALL)) < 0 || (r = proto_set_str(&req, PF_STATE, "active")) < 0)
                return r;
        r = client_connect(d->socket, now_monotonic_ms() + d->ctx->timeout_ms, &fd);
        if (r >= 0)
                r = client_send(fd, &req, now_monotonic_ms() + d->ctx->timeout_ms);
        while (r >= 0) {
                struct jit_grant *grown;

                r = client_recv(fd, &rep, now_monotonic_ms() + d->ctx->timeout_ms);
                if (r < 0 || rep.type == PROTO_REP_END)
                        break;
                if (rep.type == PROTO_REP_ERROR) {
                        const char *msg = proto_get_str(&rep, PF_MESSAGE);

                        snprintf(why, why_size, "jitd refused the listing: %s", msg ? msg : "no reason given");
                        r = -EPERM;
                        break;
                }
                grown = reallocarray(l.v, l.n + 1, sizeof(*l.v));
                if (!grown) {
                        r = -ENOMEM;
                        break;
                }
                l.v = grown;
                if (rep.type != PROTO_REP_GRANT || grant_from_proto(&rep, &l.v[l.n]) < 0) {
                        snprintf(why, why_size, "jitd sent a reply jitctl cannot read");
                        r = -EBADMSG;
                        break;
                }
                l.n++;
        }
        if (fd >= 0)
                close(fd);
        if (r < 0) {
                if (r != -EPERM && r != -EBADMSG)
                        snprintf(why, why_size, "listing grants: %s", strerror(-r));
                free(l.v);
                return r;
        }
        *ret = l;
        return 0;
}

static int list_dropins(const char *dir, int64_t **ret, size_t *ret_n)
{
        int64_t *v = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *dp;

        dp = opendir(dir);
        if (!dp)
                return -errno;
        while ((de = readdir(dp))) {
                int64_t id, *grown;

                if (!dropin_parse_name(de->d_name, &id))
                        continue;
                grown = reallocarray(v, n + 1, sizeof(*v));
                if (!grown) {
                        free(v);
                        closedir(dp);
                        return -ENOMEM;
                }
                v = grown;
                v[n++] = id;
        }
        closedir(dp);
        *ret = v;
        *ret_n = n;
        return 0;
}

static void check_dropins(struct doctor *d)
{
        _cleanup_free_ int64_t *ids = NULL;
        _cleanup_free_ char *found = NULL, *stray = NULL, *missing = NULL;
        struct grant_list g = {};
        size_t n_ids = 0, n_stray = 0, n_missing = 0, n_sudo = 0;
        char why[256] = "";
        int r;

        if (!d->cfg) {
                report(d, ST_WARN, "drop-ins", "not checked: the config does not load", "correct the config first");
                return;
        }
        if (geteuid() != 0) {
                report(d, ST_WARN, "drop-ins", "not checked: needs root (everyone's grants, the drop-in directory)",
                       "run jitctl doctor as root");
                return;
        }
        if (!d->reached) {
                report(d, ST_WARN, "drop-ins", "not checked: jitd is unreachable",
                       "start jitd: systemctl start jitd.socket");
                return;
        }
        r = list_dropins(d->sudoers_dir, &ids, &n_ids);
        if (r < 0) {
                found = fmt("not checked: cannot read %s: %s", d->sudoers_dir, strerror(-r));
                report(d, ST_WARN, "drop-ins", found, "see the sudoers_dir line");
                return;
        }
        r = fetch_active(d, &g, why, sizeof(why));
        if (r < 0) {
                found = fmt("not checked: %s", why);
                report(d, ST_WARN, "drop-ins", found, "run jitctl doctor as root, with jitd running");
                return;
        }
        /* A drop-in without an active sudo grant of this host. */
        for (size_t i = 0; i < n_ids; i++) {
                bool ok = false;

                for (size_t k = 0; k < g.n && !ok; k++)
                        ok = g.v[k].id == ids[i] && strcmp(g.v[k].host, d->jitd_host) == 0 &&
                             gating_role_needs_sudoers(config_find_role(d->cfg, g.v[k].role));
                if (!ok && n_stray++ < LIST_IDS_MAX)
                        replace(&stray, fmt("%s%sjit-%lld", stray ? stray : "", stray ? ", " : "", (long long) ids[i]));
        }
        /* An active sudo grant of this host without its drop-in. */
        for (size_t k = 0; k < g.n; k++) {
                bool have = false;

                if (strcmp(g.v[k].host, d->jitd_host) != 0 || !gating_role_needs_sudoers(config_find_role(d->cfg, g.v[k].role)))
                        continue;
                n_sudo++;
                for (size_t i = 0; i < n_ids && !have; i++)
                        have = ids[i] == g.v[k].id;
                if (!have && n_missing++ < LIST_IDS_MAX)
                        replace(&missing, fmt("%s%sgrant %lld (%s, %s)", missing ? missing : "", missing ? ", " : "",
                                              (long long) g.v[k].id, g.v[k].user, g.v[k].role));
        }
        free(g.v);
        if (!n_stray && !n_missing) {
                found = fmt("%zu active sudo grant%s on %s, %zu drop-in%s in %s", n_sudo, n_sudo == 1 ? "" : "s",
                            d->jitd_host, n_ids, n_ids == 1 ? "" : "s", d->sudoers_dir);
                report(d, ST_OK, "drop-ins", found, NULL);
                return;
        }
        if (n_stray)
                append(&found, "%s%s without an active grant", stray, n_stray > LIST_IDS_MAX ? ", ..." : "");
        if (n_missing)
                append(&found, "%s%s without a drop-in", missing, n_missing > LIST_IDS_MAX ? ", ..." : "");
        report(d, ST_WARN, "drop-ins", found,
               "jitd repairs this at its next reconciliation (every 2 minutes) or restart");
}

/* ---- 7. ticket system --------------------------------------------------- */

static void check_token_file(struct doctor *d, const char *path)
{
        _cleanup_free_ char *found = NULL, *fix = NULL;
        struct stat sb;
        int fd;

        /* As jitd opens it (jitd/ticket_presets.c): no symlink, a regular
         * file, root's, nothing for group and others. */
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &sb) < 0) {
                int e = errno;

                if (fd >= 0)
                        close(fd);
                found = fmt("%s: %s", path, e == ELOOP ? "a symbolic link, refused by jitd" : strerror(e));
                fix = e == EACCES ? strdup("run jitctl doctor as root") :
                      e == ELOOP ? strdup("point token_file at the file itself") :
                      fmt("put the API token in %s, mode 0600, owned by root", path);
                report(d, e == EACCES ? ST_WARN : ST_FAIL, "token_file", found, fix);
                return;
        }
        close(fd);
        if (!S_ISREG(sb.st_mode)) {
                found = fmt("%s is not a regular file", path);
                report(d, ST_FAIL, "token_file", found, "point token_file at a regular file");
                return;
        }
        if (bad_owner_mode(&sb, path, 077, "group or others have access", "chmod 0600", &found, &fix)) {
                replace(&found, fmt("%s: %s", path, found ? found : ""));
                report(d, ST_FAIL, "token_file", found, fix);
                return;
        }
        found = fmt("%s: root-owned, mode %04o", path, (unsigned) (sb.st_mode & 07777));
        report(d, ST_OK, "token_file", found, NULL);
}

/* A TCP connect to host:port within timeout_ms; no TLS, no token: enough to
 * tell "the network path is there" from "it is not". Name resolution is
 * bounded by the resolver's own timeout (resolv.conf), not by this one. */
static int tcp_probe(const char *host, const char *port, int timeout_ms, char *why, size_t why_size)
{
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, *res = NULL;
        int64_t deadline = now_monotonic_ms() + timeout_ms;
        int r, err = ECONNREFUSED;

        r = getaddrinfo(host, port, &hints, &res);
        if (r != 0) {
                snprintf(why, why_size, "%s", r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
                return -EHOSTUNREACH;
        }
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
                struct pollfd p = { .events = POLLOUT };
                socklen_t len = sizeof(err);
                int64_t left = deadline - now_monotonic_ms();

                if (left <= 0) {
                        err = ETIMEDOUT;
                        break;
                }
                p.fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
                if (p.fd < 0) {
                        err = errno;
                        continue;
                }
                if (connect(p.fd, ai->ai_addr, ai->ai_addrlen) == 0)
                        err = 0;
                else if (errno != EINPROGRESS)
                        err = errno;
                else if ((r = poll(&p, 1, (int) left)) <= 0)
                        err = r == 0 ? ETIMEDOUT : errno;
                else if (getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                        err = errno;
                close(p.fd);
                if (err == 0)
                        break;
        }
        freeaddrinfo(res);
        if (err)
                snprintf(why, why_size, "%s", strerror(err));
        return -err;
}

static void check_ticket(struct doctor *d)
{
        const struct ticket_config *t;
        _cleanup_free_ char *found = NULL, *fix = NULL;
        const char *url;
        char host[JIT_HOST_MAX + 1], port[8], why[128];

        if (!d->cfg) {
                report(d, ST_WARN, "ticket", "not checked: the config does not load", "correct the config first");
                return;
        }
        t = &d->cfg->ticket;
        if (!t->provider || strcmp(t->provider, "none") == 0) {
                report(d, ST_OK, "ticket", "provider none: no ticket system to check", NULL);
                return;
        }
        if (t->token_file)
                check_token_file(d, t->token_file);
        else {
                found = fmt("provider %s without token_file: lookups carry no credentials", t->provider);
                report(d, ST_OK, "token_file", found, NULL);
                replace(&found, NULL);
        }
        /* The base url; for provider http, a lookup template that is a URL
         * of its own. */
        url = t->url ? t->url : t->lookup && strncmp(t->lookup, "{url}", 5) != 0 ? t->lookup : NULL;
        if (!url) {
                found = fmt("provider %s: no url to try", t->provider);
                report(d, ST_OK, "ticket_url", found, NULL);
                return;
        }
        if (doctor_url_endpoint(url, host, sizeof(host), port, sizeof(port)) < 0) {
                found = fmt("cannot tell host and port from %s", url);
                report(d, ST_WARN, "ticket_url", found, "write url as https://HOST[:PORT]/...");
                return;
        }
        if (tcp_probe(host, port, CONNECT_TIMEOUT_MS, why, sizeof(why)) < 0) {
                found = fmt("cannot connect to %s port %s: %s (the network may be down; break-glass still works)",
                            host, port, why);
                fix = fmt("check the network path to %s, and url in [ticket] of %s", host, d->config_path);
                report(d, ST_WARN, "ticket_url", found, fix);
                return;
        }
        found = fmt("%s port %s accepts connections (TLS and token not tried)", host, port);
        report(d, ST_OK, "ticket_url", found, NULL);
}

/* ---- 8. clock ----------------------------------------------------------- */

static void check_clock(struct doctor *d)
{
        struct timex tx = { .modes = 0 };       /* read only: no privilege needed */
        _cleanup_free_ char *found = NULL;
        int state = adjtimex(&tx);

        if (state < 0) {
                found = fmt("cannot read the kernel clock state: %s", strerror(errno));
                report(d, ST_WARN, "clock", found, "enable NTP, e.g. systemd-timesyncd");
                return;
        }
        /* sudo compares the drop-in's NOTBEFORE/NOTAFTER with this clock:
         * a clock that drifts stretches or shortens every grant. */
        if (state == TIME_ERROR || (tx.status & STA_UNSYNC)) {
                found = fmt("not synchronised (%s): NOTAFTER is enforced by sudo with this clock",
                            tx.status & STA_UNSYNC ? "STA_UNSYNC" : "TIME_ERROR");
                report(d, ST_WARN, "clock", found, "enable NTP, e.g. systemd-timesyncd");
                return;
        }
        found = fmt("synchronised (estimated error %ld us)", (long) tx.esterror);
        report(d, ST_OK, "clock", found, NULL);
}

/* ---- 9. teardown -------------------------------------------------------- */

/* sd_booted(3) without libsystemd: that is all it tests. */
static bool systemd_booted(void)
{
        struct stat sb;

        return lstat("/run/systemd/system", &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The cgroup2 mount, as jitd finds it (common/mountinfo.c), and its super
 * options. */
static bool cgroup2_mount(char *buf, size_t size, char *opts, size_t opts_size)
{
        _cleanup_free_ char *point = NULL, *super = NULL;

        if (mountinfo_cgroup2(&point, &super) < 0)
                return false;
        snprintf(buf, size, "%s", point);
        snprintf(opts, opts_size, "%s", super);
        return true;
}

static bool file_exists(const char *dir, const char *name)
{
        char p[PATH_MAX];

        return snprintf(p, sizeof(p), "%s/%s", dir, name) < (int) sizeof(p) && access(p, F_OK) == 0;
}

/* The running kernel's version; false when uname cannot tell. */
static bool kernel_version(unsigned *major, unsigned *minor)
{
        struct utsname u;

        return uname(&u) == 0 && sscanf(u.release, "%u.%u", major, minor) == 2;
}

/* Does this cgroup2 hierarchy have cgroup.kill (Linux 5.14)? The root
 * cgroup never has the file, so look where jitd works (<mount>/jit), else at
 * the first child cgroup, else go by the kernel version. */
static bool cgroup_has_kill(const char *mnt)
{
        unsigned major = 0, minor = 0;
        int verdict = -1;
        struct dirent *de;
        DIR *dp;

        if (file_exists(mnt, "jit/cgroup.kill"))
                return true;
        dp = opendir(mnt);
        while (dp && verdict < 0 && (de = readdir(dp))) {
                char rel[NAME_MAX + 16];

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                snprintf(rel, sizeof(rel), "%s/cgroup.procs", de->d_name);
                if (!file_exists(mnt, rel))
                        continue;       /* not a cgroup */
                snprintf(rel, sizeof(rel), "%s/cgroup.kill", de->d_name);
                verdict = file_exists(mnt, rel);
        }
        if (dp)
                closedir(dp);
        if (verdict >= 0)
                return verdict;
        return kernel_version(&major, &minor) && (major > 5 || (major == 5 && minor >= 14));
}

/* jitd makes <mount>/jit at start; as root, that needs a writable mount. */
static bool cgroup_writable(const char *mnt)
{
        char jit[PATH_MAX + 8];

        if (geteuid() != 0)
                return true;    /* cannot tell for root from here; jitd runs as root */
        snprintf(jit, sizeof(jit), "%s/jit", mnt);
        return access(access(jit, F_OK) == 0 ? jit : mnt, W_OK) == 0;
}

static bool pidfd_works(void)
{
        int fd = pidfd_open(getpid(), 0);

        if (fd < 0)
                return false;
        close(fd);
        return true;
}

/*
 * Registering a session moves the process that opened it (sudo, sshd's) into
 * a cgroup of its own, jitd itself (cgroup) or through systemd (a scope).
 * Since Linux 6.0 such a move write-locks cgroup_threadgroup_rwsem, a per-CPU
 * rwsem whose writer waits for an RCU grace period, 10-30 ms, whenever no
 * other move happened just before: every sudo pays it. Mounting cgroup2 with
 * favordynmods keeps that lock in the mode where writers do not wait (at a
 * small cost to every fork and exit). The lock is one for all hierarchies, so
 * the cgroup2 mount's options tell.
 */
static void check_session_open(struct doctor *d, const char *mechanism, const char *mnt, const char *opts)
{
        _cleanup_free_ char *found = NULL, *fix = NULL;
        unsigned major = 0, minor = 0;

        if (mount_has_option(opts, "favordynmods")) {
                found = fmt("cgroup2 at %s is mounted with favordynmods: a session's process joins its %s "
                            "without waiting", mnt, mechanism);
                report(d, ST_OK, "session-open", found, NULL);
                return;
        }
        if (kernel_version(&major, &minor) && major < 6) {
                found = fmt("Linux before 6.0: a session's process joins its %s without waiting", mechanism);
                report(d, ST_OK, "session-open", found, NULL);
                return;
        }
        found = fmt("cgroup2 at %s is mounted without favordynmods: every session open (each sudo, each ssh "
                    "login) waits one RCU grace period, typically 10-30 ms, for the kernel to move its process "
                    "into the session's %s", mnt, mechanism);
        fix = fmt("mount -o remount,favordynmods %s (Linux 6.0 or later; host-wide: fork and exit get slightly "
                  "slower). It does not survive a reboot: boot with cgroup_favordynmods=1 (Linux 6.7 or later) or "
                  "a kernel built with CONFIG_CGROUP_FAVOR_DYNMODS=y; systemd mounts cgroup2 without it and has no "
                  "setting for that, so otherwise remount from a unit after boot", mnt);
        report(d, ST_WARN, "session-open", found, fix);
}

static void check_teardown(struct doctor *d)
{
        static const char *const escape = "a process that double-forks and calls setsid escapes teardown";
        enum teardown_mode mode = d->cfg ? d->cfg->teardown : TEARDOWN_AUTO;
        _cleanup_free_ char *found = NULL, *cg_why = NULL;
        const char *moves = NULL;       /* what the session's process is moved into, if anything */
        char mnt[PATH_MAX], opts[512];
        bool systemd = systemd_booted(), cgroup = false, mounted, pidfd = pidfd_works();

        mounted = cgroup2_mount(mnt, sizeof(mnt), opts, sizeof(opts));
        if (!mounted)
                cg_why = strdup("no cgroup2 mount");
        else if (!cgroup_has_kill(mnt))
                cg_why = fmt("cgroup2 at %s has no cgroup.kill (Linux 5.14 or later)", mnt);
        else if (!cgroup_writable(mnt))
                cg_why = fmt("cgroup2 at %s is not writable", mnt);
        else
                cgroup = true;

        switch (mode) {
        case TEARDOWN_AUTO:
                if (systemd) {
                        report(d, ST_OK, "teardown", "auto: systemd (a scope per session; /run/systemd/system exists)",
                               NULL);
                        moves = "scope";
                } else if (cgroup) {
                        found = fmt("auto: cgroup (cgroup2 at %s, with cgroup.kill)", mnt);
                        report(d, ST_OK, "teardown", found, NULL);
                        moves = "cgroup";
                } else if (pidfd) {
                        found = fmt("auto: pidfd (not booted with systemd; %s): %s", cg_why, escape);
                        report(d, ST_WARN, "teardown", found,
                               "mount cgroup2 writable (Linux 5.14 or later), e.g. mount -t cgroup2 none /sys/fs/cgroup");
                } else
                        report(d, ST_FAIL, "teardown", "auto: no mechanism works here (no systemd, cgroup2 or pidfd): "
                               "jitd will not start", "run jitd on Linux 5.3 or later, or set teardown = none");
                break;
        case TEARDOWN_SYSTEMD:
                if (systemd) {
                        report(d, ST_OK, "teardown", "teardown = systemd: available", NULL);
                        moves = "scope";
                } else
                        report(d, ST_FAIL, "teardown", "teardown = systemd, but this host was not booted with "
                               "systemd (no /run/systemd/system): jitd will not start", "set teardown = auto in [jitd]");
                break;
        case TEARDOWN_CGROUP:
                if (cgroup) {
                        found = fmt("teardown = cgroup: available (cgroup2 at %s)", mnt);
                        report(d, ST_OK, "teardown", found, NULL);
                        moves = "cgroup";
                } else {
                        found = fmt("teardown = cgroup, but %s: jitd will not start", cg_why);
                        report(d, ST_FAIL, "teardown", found, "set teardown = auto in [jitd]");
                }
                break;
        case TEARDOWN_PIDFD:
                if (pidfd) {
                        found = fmt("teardown = pidfd: available, but %s", escape);
                        report(d, ST_WARN, "teardown", found, systemd || cgroup ?
                               "set teardown = auto: this host has a better mechanism" :
                               "mount cgroup2 writable (Linux 5.14 or later) and set teardown = auto");
                } else
                        report(d, ST_FAIL, "teardown", "teardown = pidfd, but pidfd_open fails (Linux 5.3 or later): "
                               "jitd will not start", "set teardown = auto in [jitd]");
                break;
        case TEARDOWN_NONE:
                report(d, ST_WARN, "teardown", "teardown = none: sessions outlive their grant",
                       "set teardown = auto in [jitd]");
                break;
        }
        /* Only where sessions are moved into cgroups, and only a cgroup2
         * mount's options can be read (a host with cgroup v1 alone: no line). */
        if (moves && mounted)
                check_session_open(d, moves, mnt, opts);
}

/* ---- the verb ----------------------------------------------------------- */

int cmd_doctor(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        struct doctor d = { .ctx = ctx };
        struct jitctl_args a;
        char *dot;
        int r;

        r = jitctl_parse_args(ctx, v, argc, argv, &a);
        if (r != 0)
                return r > 0 ? 0 : r;
        if ((a.config && !a.config[0]) || (a.pam_dir && !a.pam_dir[0]) || (a.sudoers && !a.sudoers[0])) {
                jitctl_say(ctx, "-c, --pam-dir and --sudoers need a path");
                fprintf(ctx->err, "usage: jitctl %s\n", v->usage);
                return CMD_E_USAGE;
        }
        d.json = a.json;
        d.config_path = a.config ? a.config : JIT_DEFAULT_CONFIG;
        d.pam_dir = a.pam_dir ? a.pam_dir : DOCTOR_PAM_DIR;
        d.sudoers = a.sudoers ? a.sudoers : DOCTOR_SUDOERS;
        if (d.json && !(d.checks = json_object_new_array()))
                return -ENOMEM;
        if (gethostname(d.short_host, sizeof(d.short_host)) < 0)
                d.short_host[0] = '\0';
        d.short_host[sizeof(d.short_host) - 1] = '\0';
        dot = strchr(d.short_host, '.');
        if (dot)
                *dot = '\0';

        check_config(&d);
        /* -s (or $JITCTL_SOCKET) wins; else the socket the config names. */
        d.socket = strcmp(ctx->socket, JIT_DEFAULT_SOCKET) != 0 || !d.cfg ? ctx->socket : d.cfg->socket;
        d.sudoers_dir = d.cfg ? d.cfg->sudoers_dir : JIT_DEFAULT_SUDOERS;
        d.visudo = d.cfg ? d.cfg->visudo : JIT_DEFAULT_VISUDO;
        check_jitd(&d);
        check_pam(&d);
        check_sudoers(&d);
        check_sudoers_dir(&d);
        check_record_dir(&d);
        check_visudo(&d);
        check_dropins(&d);
        check_ticket(&d);
        check_clock(&d);
        check_teardown(&d);

        if (d.json) {
                struct json_object *o = json_object_new_object();

                json_object_object_add(o, "checks", d.checks);
                json_object_object_add(o, "fail", json_object_new_int((int) d.n_fail));
                json_object_object_add(o, "warn", json_object_new_int((int) d.n_warn));
                r = output_json_print(ctx->out, o);
                json_object_put(o);
        } else {
                fprintf(ctx->out, "\n%u FAIL, %u WARN\n", d.n_fail, d.n_warn);
                r = 0;
        }
        config_free(d.cfg);
        if (r < 0)
                return r;
        return d.n_fail ? CMD_E_FAILED : 0;
}
