/* SPDX-License-Identifier: BSD-3-Clause */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "duration.h"
#include "util.h"

/* The role from PRODUCT.md, verbatim. */
#define PRODUCT_ROLE \
        "[role:web-admin]\n" \
        "members    = alice, %webops          # users and %groups who may request (eligibility)\n" \
        "hosts      = web*, db01              # glob patterns matched against this host's name; default *\n" \
        "services   = sudo                    # PAM services this role gates: sudo, sshd, login, su ...\n" \
        "runas      = root                    # sudo target user(s)\n" \
        "commands   = /usr/bin/systemctl, /usr/bin/journalctl   # or ALL\n" \
        "nopasswd   = no                      # yes: the grant's sudoers rule carries NOPASSWD\n" \
        "approval   = ticket                  # any of: ticket, peer, auto (list = all required)\n" \
        "approvers  = %security               # for peer approval; never the requester\n" \
        "approvals  = 1                       # how many distinct approvers\n" \
        "ticket     = required                # required | optional | none\n" \
        "ticket_pattern = ^(CHG|INC)[0-9]+$\n" \
        "default_duration = 1h\n" \
        "max_duration     = 4h\n" \
        "break_glass      = %oncall           # who may use break-glass for this role\n" \
        "break_glass_duration = 30m\n"

/* A role with nothing to complain about, to put one mistake next to. Lines 1-3. */
#define OK_ROLE "[role:r]\nmembers = alice\napprovers = bob\n"

static char dir[] = "/tmp/check_config.XXXXXX";
static char path[PATH_MAX];
static struct config *cfg;
static struct config_errors errs;

static void setup(void)
{
        strcpy(dir, "/tmp/check_config.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/jitd.conf", dir);
        cfg = NULL;
        errs = (struct config_errors) { 0 };
}

static void teardown(void)
{
        config_free(cfg);
        cfg = NULL;
        config_errors_clear(&errs);
        unlink(path);
        rmdir(dir);
}

static void write_file(const char *content, size_t len)
{
        FILE *f = fopen(path, "we");

        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(content, 1, len, f), len);
        ck_assert_int_eq(fclose(f), 0);
}

static int load(const char *content)
{
        write_file(content, strlen(content));
        return config_load(path, &cfg, &errs);
}

static void dump_errors(void)
{
        for (size_t i = 0; i < errs.n; i++)
                fprintf(stderr, "  got: %s\n", errs.lines[i]);
}

static void expect_error(unsigned line, const char *msg)
{
        char *want = NULL;

        ck_assert_int_ge(asprintf(&want, "%s:%u: %s", path, line, msg), 0);
        for (size_t i = 0; i < errs.n; i++)
                if (strcmp(errs.lines[i], want) == 0) {
                        free(want);
                        return;
                }
        dump_errors();
        ck_abort_msg("missing error: %s", want);
}

/* content has exactly one problem: at line, saying msg. */
static void expect_only(const char *content, unsigned line, const char *msg)
{
        int r = load(content);

        if (errs.n != 1)
                dump_errors();
        ck_assert_int_eq(r, -EINVAL);
        ck_assert_ptr_null(cfg);
        expect_error(line, msg);
        ck_assert_uint_eq(errs.n, 1);
}

static void expect_clean(const char *content)
{
        int r = load(content);

        if (r != 0)
                dump_errors();
        ck_assert_int_eq(r, 0);
        ck_assert_uint_eq(errs.n, 0);
        ck_assert_ptr_nonnull(cfg);
}

static void assert_strv(char **v, const char *const *want, size_t n)
{
        ck_assert_ptr_nonnull(v);
        ck_assert_uint_eq(strv_length(v), n);
        for (size_t i = 0; i < n; i++)
                ck_assert_str_eq(v[i], want[i]);
}

/* ---- what parses ---- */

START_TEST(test_product_role)
{
        const struct role *r;

        expect_clean(PRODUCT_ROLE);
        ck_assert_uint_eq(cfg->n_roles, 1);
        r = config_find_role(cfg, "web-admin");
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq(r->name, "web-admin");
        ck_assert_uint_eq(r->line, 1);
        assert_strv(r->members, (const char *[]) { "alice", "%webops" }, 2);
        assert_strv(r->hosts, (const char *[]) { "web*", "db01" }, 2);
        assert_strv(r->services, (const char *[]) { "sudo" }, 1);
        assert_strv(r->runas, (const char *[]) { "root" }, 1);
        assert_strv(r->commands, (const char *[]) { "/usr/bin/systemctl", "/usr/bin/journalctl" }, 2);
        ck_assert(!r->nopasswd);
        ck_assert_uint_eq(r->approval, APPROVAL_TICKET);
        assert_strv(r->approvers, (const char *[]) { "%security" }, 1);
        ck_assert_uint_eq(r->approvals, 1);
        ck_assert_int_eq(r->ticket, TICKET_REQUIRED);
        ck_assert_str_eq(r->ticket_pattern, "^(CHG|INC)[0-9]+$");
        ck_assert(r->ticket_re_set);
        ck_assert_int_eq(regexec(&r->ticket_re, "CHG123", 0, NULL, 0), 0);
        ck_assert_int_ne(regexec(&r->ticket_re, "FOO-1", 0, NULL, 0), 0);
        ck_assert_uint_eq(r->default_duration, 3600);
        ck_assert_uint_eq(r->max_duration, 4 * 3600);
        assert_strv(r->break_glass, (const char *[]) { "%oncall" }, 1);
        ck_assert_uint_eq(r->break_glass_duration, 1800);
        ck_assert_uint_eq(r->uses, 0);
        ck_assert_uint_eq(r->max_extensions, 0);
}
END_TEST

START_TEST(test_empty_file_defaults)
{
        char host[256];

        expect_clean("");
        ck_assert_str_eq(cfg->path, path);
        ck_assert_str_eq(cfg->socket, JIT_DEFAULT_SOCKET);
        ck_assert_str_eq(cfg->database, JIT_DEFAULT_DATABASE);
        ck_assert_str_eq(cfg->sudoers_dir, JIT_DEFAULT_SUDOERS);
        ck_assert_str_eq(cfg->visudo, JIT_DEFAULT_VISUDO);
        ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
        ck_assert_str_eq(cfg->host, host);
        ck_assert_ptr_null(cfg->admin_group);
        ck_assert_int_eq(cfg->teardown, TEARDOWN_AUTO);
        ck_assert_uint_eq(cfg->warn_before, 0);
        ck_assert_ptr_null(cfg->metrics_file);
        ck_assert_ptr_null(cfg->notify);
        ck_assert_ptr_null(cfg->audit_key);
        ck_assert_uint_eq(cfg->review_within, 86400);
        ck_assert_uint_eq(cfg->n_roles, 0);
        ck_assert_ptr_null(config_find_role(cfg, "web-admin"));
        ck_assert_str_eq(cfg->ticket.provider, "none");
        ck_assert_uint_eq(cfg->ticket.poll, 60);
        ck_assert_uint_eq(cfg->ticket.timeout, 10);
        ck_assert_uint_eq(cfg->ticket.pending_timeout, 86400);
        ck_assert(!cfg->ticket.comment);
        ck_assert(!cfg->ticket.allow_http);
        /* No [fleet]: nothing of it is set. */
        ck_assert_uint_eq(cfg->fleet.line, 0);
        ck_assert_ptr_null(cfg->fleet.database);
        ck_assert_ptr_null(cfg->fleet.password_file);
}
END_TEST

START_TEST(test_role_defaults)
{
        const struct role *r;

        expect_clean("[role:minimal]\nmembers = alice\napprovers = %admins\n");
        r = config_find_role(cfg, "minimal");
        ck_assert_ptr_nonnull(r);
        assert_strv(r->hosts, (const char *[]) { "*" }, 1);
        assert_strv(r->services, (const char *[]) { "sudo" }, 1);
        assert_strv(r->runas, (const char *[]) { "root" }, 1);
        assert_strv(r->commands, (const char *[]) { "ALL" }, 1);
        ck_assert(!r->nopasswd);
        ck_assert_uint_eq(r->approval, APPROVAL_PEER);
        ck_assert_uint_eq(r->approvals, 1);
        ck_assert_int_eq(r->ticket, TICKET_OPTIONAL);
        ck_assert_ptr_null(r->ticket_pattern);
        ck_assert(!r->ticket_re_set);
        ck_assert_uint_eq(r->default_duration, 3600);
        ck_assert_uint_eq(r->max_duration, 4 * 3600);
        ck_assert_ptr_null(r->break_glass);
        ck_assert_uint_eq(r->break_glass_duration, 1800);
        ck_assert_uint_eq(r->uses, 0);
        ck_assert_uint_eq(r->max_extensions, 0);
}
END_TEST

START_TEST(test_jitd_section)
{
        expect_clean("; a comment\n"
                     "# another\n"
                     "\n"
                     "[jitd]\n"
                     "socket = /tmp/x/jitd.sock\n"
                     "database = /tmp/x/jitd.db\n"
                     "sudoers_dir = /tmp/x/sudoers.d\n"
                     "host = web01\n"
                     "admin_group = jitadmins\n"
                     "teardown = cgroup\n"
                     "visudo = /bin/true\n"
                     "warn_before = 5m\n"
                     "metrics_file = /tmp/x/metrics.prom\n"
                     "notify = /usr/local/bin/jit-notify\n"
                     "audit_key = /etc/pam_jit/audit.key\n"
                     "review_within = 2d\n");
        ck_assert_str_eq(cfg->socket, "/tmp/x/jitd.sock");
        ck_assert_str_eq(cfg->database, "/tmp/x/jitd.db");
        ck_assert_str_eq(cfg->sudoers_dir, "/tmp/x/sudoers.d");
        ck_assert_str_eq(cfg->host, "web01");
        ck_assert_str_eq(cfg->admin_group, "jitadmins");
        ck_assert_int_eq(cfg->teardown, TEARDOWN_CGROUP);
        ck_assert_str_eq(cfg->visudo, "/bin/true");
        ck_assert_uint_eq(cfg->warn_before, 300);
        ck_assert_str_eq(cfg->metrics_file, "/tmp/x/metrics.prom");
        ck_assert_str_eq(cfg->notify, "/usr/local/bin/jit-notify");
        ck_assert_str_eq(cfg->audit_key, "/etc/pam_jit/audit.key");
        ck_assert_uint_eq(cfg->review_within, 2 * 86400);
}
END_TEST

START_TEST(test_jitd_values)
{
        static const struct {
                const char *line;
                enum teardown_mode mode;
        } t[] = {
                { "teardown = auto", TEARDOWN_AUTO },     { "teardown = systemd", TEARDOWN_SYSTEMD },
                { "teardown = cgroup", TEARDOWN_CGROUP }, { "teardown = pidfd", TEARDOWN_PIDFD },
                { "teardown = none", TEARDOWN_NONE },
        };
        char buf[128];

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                snprintf(buf, sizeof(buf), "[jitd]\n%s\nadmin_group = %%wheel\nwarn_before = off\n", t[i].line);
                expect_clean(buf);
                ck_assert_int_eq(cfg->teardown, t[i].mode);
                ck_assert_str_eq(cfg->admin_group, "wheel");
                ck_assert_uint_eq(cfg->warn_before, 0);
                config_free(cfg);
                cfg = NULL;
        }
}
END_TEST


/* ---- session recording -------------------------------------------------- */

START_TEST(test_record_defaults)
{
        const struct role *r;

        expect_clean("[role:minimal]\nmembers = alice\napprovers = %admins\n");
        r = config_find_role(cfg, "minimal");
        ck_assert_int_eq(r->record, RECORD_NONE);
        ck_assert_int_eq(cfg->record_break_glass, RECORD_ALL);
        ck_assert_str_eq(cfg->record_dir, "/var/log/jit/sessions");
        ck_assert_uint_eq(cfg->record_retention, 90 * 86400);
        ck_assert(!config_records_any(cfg));
        ck_assert_int_eq(config_record_mode(cfg, r, false), RECORD_NONE);
        ck_assert_int_eq(config_record_mode(cfg, r, true), RECORD_ALL);
}
END_TEST

START_TEST(test_record_values)
{
        static const struct {
                const char *role, *bg;
                enum record_mode want, want_bg;
        } t[] = {
                { "none", "none", RECORD_NONE, RECORD_NONE },
                { "output", "none", RECORD_OUTPUT, RECORD_OUTPUT },
                { "all", "none", RECORD_ALL, RECORD_ALL },
                { "none", "output", RECORD_NONE, RECORD_OUTPUT },
                { "output", "all", RECORD_OUTPUT, RECORD_ALL },
                { "all", "output", RECORD_ALL, RECORD_ALL },   /* break-glass never records less */
        };
        char buf[512];

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                const struct role *r;

                snprintf(buf, sizeof(buf), "[jitd]\nrecord_break_glass = %s\nrecord_dir = /srv/rec-1/jit_x\n"
                         "record_retention = 30d\n[role:r]\nmembers = alice\napprovers = %%admins\nrecord = %s\n"
                         "break_glass = alice\n", t[i].bg, t[i].role);
                expect_clean(buf);
                r = config_find_role(cfg, "r");
                ck_assert_int_eq(r->record, t[i].want);
                ck_assert_int_eq(config_record_mode(cfg, r, false), t[i].want);
                ck_assert_int_eq(config_record_mode(cfg, r, true), t[i].want_bg);
                ck_assert_int_eq(config_records_any(cfg), t[i].want_bg != RECORD_NONE);
                ck_assert_str_eq(cfg->record_dir, "/srv/rec-1/jit_x");
                ck_assert_uint_eq(cfg->record_retention, 30 * 86400);
                config_free(cfg);
                cfg = NULL;
        }
}
END_TEST

START_TEST(test_err_record_values)
{
        expect_only("[role:r]\nmembers = alice\napprovers = %admins\nrecord = yes\n", 4,
                    "record: 'yes' is not one of none, output, all");
        config_errors_clear(&errs);
        expect_only("[jitd]\nrecord_break_glass = input\n", 2,
                    "record_break_glass: 'input' is not one of none, output, all");
        config_errors_clear(&errs);
        {
                char msg[512];

                snprintf(msg, sizeof(msg), "record_retention: 'forever': %s", duration_strerror(-EINVAL));
                expect_only("[jitd]\nrecord_retention = forever\n", 2, msg);
        }
}
END_TEST

/* record_dir goes into sudoers as iolog_dir: nothing sudo would expand or
 * the grammar would read. */
START_TEST(test_err_record_dir)
{
        static const char *const bad[] = {
                "relative/dir", "/var/log/%{user}", "/var/log/a b", "/var/log/a,b", "/var/log/a\"b", "/",
                "/var/log/jit/", "/var/log/../etc", "/var//log", "/var/log/a=b", "/var/log/a:b",
        };
        char buf[256], msg[256];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                snprintf(buf, sizeof(buf), "[jitd]\nrecord_dir = %s\n", bad[i]);
                snprintf(msg, sizeof(msg), "record_dir: '%s' is not an absolute path of letters, digits, / . _ - "
                         "(at most 200)", bad[i]);
                expect_only(buf, 2, msg);
                config_errors_clear(&errs);
        }
}
END_TEST

START_TEST(test_ticket_section)
{
        const struct ticket_config *t;

        expect_clean("[ticket]\n"
                     "provider = jira\n"
                     "url = https://jira.example.com\n"
                     "token_file = /etc/jit/jira.token\n"
                     "auth = header:X-Api-Key\n"
                     "lookup = {url}/rest/api/2/issue/{ticket}\n"
                     "status = /fields/status/name\n"
                     "approved = Approved, In Progress\n"
                     "closed = Done, Closed\n"
                     "requester = /fields/reporter/name\n"
                     "user_map = /etc/jit/users.map\n"
                     "window_start = /fields/customfield_1\n"
                     "window_end = /fields/customfield_2\n"
                     "hosts = /fields/hosts\n"
                     "comment = yes\n"
                     "allow_http = no\n"
                     "poll = 30s\n"
                     "timeout = 5s\n"
                     "pending_timeout = 2h\n"
                     "ca_file = /etc/ssl/certs/ca.pem\n");
        t = &cfg->ticket;
        ck_assert_str_eq(t->provider, "jira");
        ck_assert_str_eq(t->url, "https://jira.example.com");
        ck_assert_str_eq(t->token_file, "/etc/jit/jira.token");
        ck_assert_str_eq(t->auth, "header:X-Api-Key");
        ck_assert_str_eq(t->lookup, "{url}/rest/api/2/issue/{ticket}");
        ck_assert_str_eq(t->status, "/fields/status/name");
        assert_strv(t->approved, (const char *[]) { "Approved", "In Progress" }, 2);
        assert_strv(t->closed, (const char *[]) { "Done", "Closed" }, 2);
        ck_assert_str_eq(t->requester, "/fields/reporter/name");
        ck_assert_str_eq(t->user_map, "/etc/jit/users.map");
        ck_assert_str_eq(t->window_start, "/fields/customfield_1");
        ck_assert_str_eq(t->window_end, "/fields/customfield_2");
        ck_assert_str_eq(t->hosts, "/fields/hosts");
        ck_assert(t->comment);
        ck_assert(!t->allow_http);
        ck_assert_uint_eq(t->poll, 30);
        ck_assert_uint_eq(t->timeout, 5);
        ck_assert_uint_eq(t->pending_timeout, 7200);
        ck_assert_str_eq(t->ca_file, "/etc/ssl/certs/ca.pem");
}
END_TEST

START_TEST(test_ticket_allow_http)
{
        expect_clean("[ticket]\nurl = http://127.0.0.1:8080\nallow_http = yes\nprovider = redmine\n");
        ck_assert_str_eq(cfg->ticket.url, "http://127.0.0.1:8080");
        ck_assert(cfg->ticket.allow_http);
}
END_TEST

/* The ticket helper's user: nobody unless named, never root. */
START_TEST(test_ticket_helper_user)
{
        expect_clean("[ticket]\nprovider = redmine\nurl = https://rm.example.org\n");
        ck_assert_ptr_null(cfg->ticket.helper_user);
        config_free(cfg);
        cfg = NULL;
        expect_clean("[ticket]\nprovider = redmine\nurl = https://rm.example.org\nhelper_user = _jit-ticket\n");
        ck_assert_str_eq(cfg->ticket.helper_user, "_jit-ticket");
        config_free(cfg);
        cfg = NULL;
        expect_only("[ticket]\nhelper_user = root\n", 2, "helper_user: the ticket helper must not run as root");
        config_errors_clear(&errs);
        expect_only("[ticket]\nhelper_user = no body\n", 2, "helper_user: 'no body' is not a user name");
}
END_TEST

START_TEST(test_full_file)
{
        expect_clean("[jitd]\n"
                     "host = web01\n"
                     "\n"
                     "[ticket]\n"
                     "provider = http\n"
                     "lookup = https://tickets.example.com/api/{ticket}\n"
                     "status = /status\n"
                     "approved = approved\n"
                     "\n" PRODUCT_ROLE "\n"
                     "[role:db-admin]\n"
                     "members = bob\n"
                     "approval = auto\n"
                     "ticket = none\n"
                     "services = sudo, sshd\n"
                     "nopasswd = true\n"
                     "commands = ALL\n"
                     "uses = 1\n"
                     "max_extensions = 2\n"
                     "\n"
                     "[role:pair]\n"
                     "members = carol\n"
                     "approval = ticket, peer\n"
                     "approvers = dave, erin\n"
                     "approvals = 2\n");
        ck_assert_uint_eq(cfg->n_roles, 3);
        ck_assert_str_eq(cfg->roles[0].name, "web-admin");
        ck_assert_uint_eq(cfg->roles[0].line, 10);
        ck_assert_str_eq(cfg->roles[1].name, "db-admin");
        ck_assert_uint_eq(cfg->roles[1].line, 27);
        ck_assert_uint_eq(cfg->roles[1].approval, APPROVAL_AUTO);
        ck_assert_int_eq(cfg->roles[1].ticket, TICKET_NONE);
        ck_assert(cfg->roles[1].nopasswd);
        ck_assert_uint_eq(cfg->roles[1].uses, 1);
        ck_assert_uint_eq(cfg->roles[1].max_extensions, 2);
        assert_strv(cfg->roles[1].services, (const char *[]) { "sudo", "sshd" }, 2);
        ck_assert_uint_eq(cfg->roles[2].approval, APPROVAL_TICKET | APPROVAL_PEER);
        ck_assert_uint_eq(cfg->roles[2].approvals, 2);
        ck_assert_ptr_eq(config_find_role(cfg, "pair"), &cfg->roles[2]);
}
END_TEST

START_TEST(test_comments_and_whitespace)
{
        const struct role *r;

        expect_clean("  [role:r]   ; comment after a section\n"
                     "\tmembers = alice ;semicolon comment\n"
                     "   approvers=bob\n"
                     "ticket_pattern = ^[A-Z]+#[0-9]+$\t# tab before the comment\n"
                     "hosts:web*\n");
        r = config_find_role(cfg, "r");
        ck_assert_ptr_nonnull(r);
        assert_strv(r->members, (const char *[]) { "alice" }, 1);
        assert_strv(r->approvers, (const char *[]) { "bob" }, 1);
        ck_assert_str_eq(r->ticket_pattern, "^[A-Z]+#[0-9]+$");
        assert_strv(r->hosts, (const char *[]) { "web*" }, 1);
}
END_TEST

START_TEST(test_crlf_and_bom)
{
        expect_clean("\xef\xbb\xbf[role:r]\r\nmembers = alice\r\napprovers = bob\r\n");
        assert_strv(cfg->roles[0].members, (const char *[]) { "alice" }, 1);
        assert_strv(cfg->roles[0].approvers, (const char *[]) { "bob" }, 1);
}
END_TEST

/* inih's own line buffer is 200 bytes; longer lines must still be read whole,
 * and the line count must not drift. */
START_TEST(test_long_line)
{
        char buf[4096], *p = buf;
        const struct role *r;

        p += sprintf(p, "[role:r]\napprovers = bob\nmembers = ");
        for (int i = 0; i < 100; i++)
                p += sprintf(p, "%suser%02d", i ? ", " : "", i);
        p += sprintf(p, "   # a comment\nbogus = 1\n");
        ck_assert_int_eq(load(buf), -EINVAL);
        expect_error(4, "unknown key 'bogus' in [role:r]");
        ck_assert_uint_eq(errs.n, 1);

        config_errors_clear(&errs);
        *strstr(buf, "bogus") = '\0';
        expect_clean(buf);
        r = config_find_role(cfg, "r");
        ck_assert_uint_eq(strv_length(r->members), 100);
        ck_assert_str_eq(r->members[99], "user99");
}
END_TEST

/* ---- one test per kind of mistake, each with its exact file:line ---- */

START_TEST(test_err_unknown_key)
{
        expect_only("\n[role:web-admin]\nmembers = alice\napprovers = bob\nmember = bob\n", 5,
                    "unknown key 'member' in [role:web-admin]");
}
END_TEST

START_TEST(test_err_unknown_key_jitd)
{
        expect_only("[jitd]\nsokcet = /run/x\n", 2, "unknown key 'sokcet' in [jitd]");
}
END_TEST

START_TEST(test_err_unknown_section)
{
        /* One message for the section, none for its keys. */
        expect_only("[jitd]\n[roles]\nmembers = alice\nfoo = bar\n", 2, "unknown section [roles]");
}
END_TEST

START_TEST(test_err_section_without_name)
{
        expect_only("[role]\nmembers = alice\n", 1, "unknown section [role] (a role is [role:NAME])");
}
END_TEST

START_TEST(test_err_key_outside_section)
{
        expect_only("members = alice\n" OK_ROLE, 1, "key 'members' outside of any section");
}
END_TEST

START_TEST(test_err_syntax)
{
        expect_only(OK_ROLE "ticket required\n", 4, "syntax error: expected 'key = value' or '[section]'");
}
END_TEST

START_TEST(test_err_unclosed_section)
{
        expect_only("[jitd\nhost = a\n", 1, "syntax error: '[' without a closing ']'");
}
END_TEST

START_TEST(test_err_text_after_section)
{
        expect_only("[jitd] host = a\n", 1, "syntax error: text after ']'");
}
END_TEST

START_TEST(test_err_indented_is_not_continuation)
{
        expect_only(OK_ROLE "hosts = web01,\n    web02\n", 5,
                    "syntax error: expected 'key = value' or '[section]'");
}
END_TEST

START_TEST(test_err_missing_key_name)
{
        expect_only(OK_ROLE "= alice\n", 4, "missing key name before '='");
}
END_TEST

START_TEST(test_err_duplicate_role)
{
        expect_only(OK_ROLE "\n[role:r]\nmembers = bob\n", 5, "duplicate role 'r' (first defined at line 1)");
}
END_TEST

START_TEST(test_err_duplicate_role_keys_still_checked)
{
        int r = load(OK_ROLE "[role:r]\nmembers = Bad!\n");

        ck_assert_int_eq(r, -EINVAL);
        expect_error(4, "duplicate role 'r' (first defined at line 1)");
        expect_error(5, "members: 'Bad!' is not a user name or %group");
        ck_assert_uint_eq(errs.n, 2);
}
END_TEST

START_TEST(test_err_duplicate_key)
{
        expect_only(OK_ROLE "hosts = a\n# comment\nhosts = b\n", 6,
                    "duplicate key 'hosts' in [role:r] (first set at line 4)");
}
END_TEST

START_TEST(test_err_duplicate_section)
{
        expect_only("[jitd]\nhost = a\n[jitd]\n", 3, "duplicate section [jitd] (first at line 1)");
}
END_TEST

START_TEST(test_err_role_name)
{
        expect_only("[role:web admin]\nmembers = alice\napprovers = bob\n", 1,
                    "invalid role name 'web admin' (letters, digits, _ . - and at most 64 characters)");
}
END_TEST

START_TEST(test_err_role_name_empty)
{
        expect_only("[role:]\n", 1, "missing role name in [role:]");
}
END_TEST

START_TEST(test_err_duration)
{
        expect_only(OK_ROLE "default_duration = 5x\n", 4,
                    "default_duration: '5x': not a duration: use a number with a unit, e.g. 90s, 15m, "
                    "1h30m, 2d (units d, h, m, s, each once, in that order; at least 1s)");
}
END_TEST

START_TEST(test_err_duration_range)
{
        expect_only(OK_ROLE "max_duration = 400d\n", 4,
                    "max_duration: '400d': duration too long (at most 366d)");
}
END_TEST

START_TEST(test_err_bool)
{
        expect_only(OK_ROLE "nopasswd = maybe\n", 4, "nopasswd: 'maybe' is not yes or no");
}
END_TEST

START_TEST(test_err_integer)
{
        int r = load(OK_ROLE "approvals = 0\nuses = 1001\nmax_extensions = -1\n"
                     "[role:s]\nmembers = a\napprovers = b\napprovals = 2x\n");

        ck_assert_int_eq(r, -EINVAL);
        expect_error(4, "approvals: 0 is out of range (1..100)");
        expect_error(5, "uses: 1001 is out of range (0..1)");
        expect_error(6, "max_extensions: '-1' is not a number");
        expect_error(10, "approvals: '2x' is not a number");
        ck_assert_uint_eq(errs.n, 4);
}
END_TEST

START_TEST(test_err_integer_overflow)
{
        expect_only(OK_ROLE "uses = 99999999999999999999999\n", 4,
                    "uses: 99999999999999999999999 is out of range (0..1)");
}
END_TEST

START_TEST(test_err_regex)
{
        expect_only(OK_ROLE "ticket_pattern = ^(CHG|INC[0-9]+$\n", 4,
                    "ticket_pattern: '^(CHG|INC[0-9]+$': Unmatched ( or \\(");
}
END_TEST

/* Patterns whose regcomp would take gigabytes (found by fuzz_config: "web"
 * and twenty '+' took 700 MiB) are refused before regcomp sees them. */
START_TEST(test_err_regex_blowup)
{
        expect_only(OK_ROLE "ticket_pattern = ^web+++++++++++++++++++++ops$\n", 4,
                    "ticket_pattern: '^web+++++++++++++++++++++ops$': too costly for the regex compiler: more than 8 repetitions");
        config_errors_clear(&errs);
        expect_only(OK_ROLE "ticket_pattern = ^(((a{1,32}){1,32}){2})$\n", 4,
                    "ticket_pattern: '^(((a{1,32}){1,32}){2})$': too costly for the regex compiler: repetitions "
                    "that multiply past 1024 copies (nested or stacked)");
        config_errors_clear(&errs);
        expect_only(OK_ROLE "ticket_pattern = ^[0-9]{1,100}$\n", 4,
                    "ticket_pattern: '^[0-9]{1,100}$': too costly for the regex compiler: a bound above 32");
        config_errors_clear(&errs);
        expect_only(OK_ROLE "ticket_pattern = (((((((((a)))))))))\n", 4,
                    "ticket_pattern: '(((((((((a)))))))))': too costly for the regex compiler: groups nested deeper than 8");
        config_errors_clear(&errs);
        /* What tickets look like passes: brackets hold '+' and ']' as members. */
        ck_assert_int_eq(load(OK_ROLE "ticket_pattern = ^(CHG|INC)[0-9]+$\n"), 0);
        config_free(cfg);
        cfg = NULL;
        ck_assert_int_eq(load(OK_ROLE "ticket_pattern = ^[]+A-Z]{2,8}-[0-9]{1,6}(/[a-z]+)?$\n"), 0);
        config_free(cfg);
        cfg = NULL;
        ck_assert_int_eq(load(OK_ROLE "ticket_pattern = ^((a+)+)+$\n"), 0);
        config_free(cfg);
        cfg = NULL;
}
END_TEST

START_TEST(test_err_members)
{
        expect_only("[role:r]\napprovers = bob\nmembers = alice, Bob Smith, %webops\n", 3,
                    "members: 'Bob Smith' is not a user name or %group");
}
END_TEST

START_TEST(test_err_commands)
{
        int r = load(OK_ROLE
                     "[role:a]\nmembers = a\napprovers = b\ncommands = /usr/bin/systemctl restart nginx\n"
                     "[role:b]\nmembers = a\napprovers = b\ncommands = usr/bin/ls\n"
                     "[role:c]\nmembers = a\napprovers = b\ncommands = /usr/bin/\n"
                     "[role:d]\nmembers = a\napprovers = b\ncommands = /bin/a:b, /bin/a=b, /bin/a\\b, /bin/*\n"
                     "[role:e]\nmembers = a\napprovers = b\ncommands = ALL, /bin/ls\n"
                     "[role:f]\nmembers = a\napprovers = b\ncommands =\n");
        const char *what = "is not ALL or an absolute path (letters, digits, / . _ + - only)";
        char msg[256];

        ck_assert_int_eq(r, -EINVAL);
        snprintf(msg, sizeof(msg), "commands: '/usr/bin/systemctl restart nginx' %s", what);
        expect_error(7, msg);
        snprintf(msg, sizeof(msg), "commands: 'usr/bin/ls' %s", what);
        expect_error(11, msg);
        snprintf(msg, sizeof(msg), "commands: '/usr/bin/' %s", what);
        expect_error(15, msg);
        snprintf(msg, sizeof(msg), "commands: '/bin/a:b' %s", what);
        expect_error(19, msg);
        snprintf(msg, sizeof(msg), "commands: '/bin/a=b' %s", what);
        expect_error(19, msg);
        snprintf(msg, sizeof(msg), "commands: '/bin/a\\b' %s", what);
        expect_error(19, msg);
        snprintf(msg, sizeof(msg), "commands: '/bin/*' %s", what);
        expect_error(19, msg);
        expect_error(23, "commands: ALL cannot be combined with other commands");
        expect_error(27, "commands: empty list");
        ck_assert_uint_eq(errs.n, 9);
}
END_TEST

START_TEST(test_err_hosts_services_runas)
{
        int r = load(OK_ROLE "hosts = web*, web/01\nservices = sudo, ss hd\nrunas = root, %wheel\n");

        ck_assert_int_eq(r, -EINVAL);
        expect_error(4, "hosts: 'web/01' is not a host name pattern (letters, digits, . _ - * ? [ ])");
        expect_error(5, "services: 'ss hd' is not a PAM service name");
        expect_error(6, "runas: '%wheel' is not a user name");
        ck_assert_uint_eq(errs.n, 3);
}
END_TEST

START_TEST(test_err_approval_value)
{
        expect_only(OK_ROLE "approval = ticket, manager\n", 4,
                    "approval: 'manager' is not one of ticket, peer, auto");
}
END_TEST

START_TEST(test_err_ticket_mode)
{
        expect_only(OK_ROLE "ticket = mandatory\n", 4,
                    "ticket: 'mandatory' is not one of required, optional, none");
}
END_TEST

START_TEST(test_err_jitd_values)
{
        int r = load("[jitd]\n"
                     "socket = run/jitd.sock\n"
                     "database = jitd.db\n"
                     "teardown = kill\n"
                     "host = web 01\n"
                     "admin_group = Admins\n"
                     "warn_before = 0\n"
                     "notify = mailto:root\n"
                     "review_within = soon\n");

        ck_assert_int_eq(r, -EINVAL);
        expect_error(2, "socket: 'run/jitd.sock' is not an absolute path");
        expect_error(3, "database: 'jitd.db' is not an absolute path");
        expect_error(4, "teardown: 'kill' is not one of auto, systemd, cgroup, pidfd, none");
        expect_error(5, "host: 'web 01' is not a host name");
        expect_error(6, "admin_group: 'Admins' is not a group name");
        expect_error(8, "notify: 'mailto:root' is not an absolute path");
        ck_assert_uint_eq(errs.n, 8);
}
END_TEST

START_TEST(test_err_socket_too_long)
{
        char buf[512], msg[512], sock[200];

        memset(sock, 'a', sizeof(sock) - 1);
        sock[0] = '/';
        sock[sizeof(sock) - 1] = '\0';
        snprintf(buf, sizeof(buf), "[jitd]\nsocket = %s\n", sock);
        snprintf(msg, sizeof(msg), "socket: '%s' is too long for a Unix socket (at most 107 bytes)", sock);
        expect_only(buf, 2, msg);
}
END_TEST

/* ---- cross-checks, reported at the role's [role:...] line ---- */

START_TEST(test_err_max_below_default)
{
        expect_only("\n" OK_ROLE "default_duration = 2h\nmax_duration = 1h\n", 2,
                    "role 'r': default_duration 2h exceeds max_duration 1h");
}
END_TEST

START_TEST(test_err_peer_without_approvers)
{
        expect_only("[role:r]\nmembers = alice\n", 1,
                    "role 'r': approval includes peer (the default) but approvers is not set");
}
END_TEST

START_TEST(test_err_auto_with_peer)
{
        expect_only(OK_ROLE "approval = peer, auto\n", 1,
                    "role 'r': approval cannot combine auto with peer "
                    "(auto approves at once, so no peer would ever be asked)");
}
END_TEST

START_TEST(test_err_ticket_approval_without_ticket)
{
        expect_only("[role:r]\nmembers = alice\napproval = ticket\nticket = none\n", 1,
                    "role 'r': approval includes ticket but ticket = none");
}
END_TEST

START_TEST(test_err_pattern_without_ticket)
{
        expect_only("[role:r]\nmembers = alice\napproval = auto\nticket = none\nticket_pattern = ^C\n", 1,
                    "role 'r': ticket_pattern is set but ticket = none");
}
END_TEST

START_TEST(test_err_no_members)
{
        expect_only("[jitd]\n[role:r]\napprovers = bob\n", 2, "role 'r' has no members");
}
END_TEST

START_TEST(test_err_empty_members)
{
        expect_only("[role:r]\nmembers =\napprovers = bob\n", 1, "role 'r' has no members");
}
END_TEST

START_TEST(test_err_approvals_without_peer)
{
        expect_only("[role:r]\nmembers = a\napproval = auto\napprovals = 2\n", 1,
                    "role 'r': approvals = 2 but approval does not include peer");
}
END_TEST

START_TEST(test_err_approvals_more_than_approvers)
{
        expect_only(OK_ROLE "approvals = 2\n", 1, "role 'r': approvals = 2 but approvers names only 1 user");
}
END_TEST

START_TEST(test_approvals_with_group)
{
        expect_clean("[role:r]\nmembers = a\napprovers = %sec\napprovals = 5\n");
}
END_TEST

/* ---- [ticket] ---- */

START_TEST(test_err_ticket_provider)
{
        expect_only("[ticket]\nprovider = bugzilla\n", 2,
                    "provider: 'bugzilla' is not one of none, jira, servicenow, redmine, rt, gitlab, http");
}
END_TEST

START_TEST(test_err_ticket_plain_http)
{
        expect_only("[ticket]\nprovider = gitlab\n\nurl = http://gitlab.example.com\n", 4,
                    "url: plain http is refused unless allow_http = yes");
}
END_TEST

START_TEST(test_err_ticket_values)
{
        int r = load("[ticket]\n"
                     "provider = jira\n"
                     "url = ftp://x\n"
                     "auth = magic\n"
                     "status = fields.status\n"
                     "comment = sometimes\n"
                     "poll = 0s\n"
                     "lookup = {url}/issue\n"
                     "token_file = jira.token\n");

        ck_assert_int_eq(r, -EINVAL);
        expect_error(3, "url: 'ftp://x' is not an https:// URL");
        expect_error(4, "auth: 'magic' is not one of bearer, basic, token, header:NAME");
        expect_error(5, "status: 'fields.status' is not a JSON Pointer (like /fields/status/name)");
        expect_error(6, "comment: 'sometimes' is not yes or no");
        expect_error(8, "lookup: '{url}/issue' must contain {ticket} and no white space");
        expect_error(9, "token_file: 'jira.token' is not an absolute path");
        /* No "provider jira needs url": url was given, only wrong. */
        ck_assert_uint_eq(errs.n, 7);
}
END_TEST

START_TEST(test_err_ticket_http_incomplete)
{
        expect_only("[ticket]\nprovider = http\nlookup = https://t/{ticket}\n", 1,
                    "provider http needs lookup, status and approved");
}
END_TEST

/* ---- the file as a whole ---- */

START_TEST(test_many_errors_all_reported)
{
        int r = load("[jitd]\n"                         /* 1 */
                     "teardown = kill\n"                /* 2 */
                     "[role:web-admin]\n"               /* 3 */
                     "member = alice\n"                 /* 4 */
                     "members = alice\n"                /* 5 */
                     "approvers = bob\n"                /* 6 */
                     "default_duration = 1x\n"          /* 7 */
                     "[nonsense]\n"                     /* 8 */
                     "garbage\n"                        /* 9 */
                     "[role:web-admin]\n"               /* 10 */
                     "[role:db]\n"                      /* 11 */
                     "approval = auto, peer\n");        /* 12 */

        ck_assert_int_eq(r, -EINVAL);
        ck_assert_ptr_null(cfg);
        expect_error(2, "teardown: 'kill' is not one of auto, systemd, cgroup, pidfd, none");
        expect_error(4, "unknown key 'member' in [role:web-admin]");
        expect_error(7, "default_duration: '1x': not a duration: use a number with a unit, e.g. 90s, 15m, "
                        "1h30m, 2d (units d, h, m, s, each once, in that order; at least 1s)");
        expect_error(8, "unknown section [nonsense]");
        expect_error(9, "syntax error: expected 'key = value' or '[section]'");
        expect_error(10, "duplicate role 'web-admin' (first defined at line 3)");
        expect_error(11, "role 'db' has no members");
        expect_error(11, "role 'db': approval includes peer (the default) but approvers is not set");
        expect_error(11, "role 'db': approval cannot combine auto with peer "
                         "(auto approves at once, so no peer would ever be asked)");
        ck_assert_uint_eq(errs.n, 9);
}
END_TEST

START_TEST(test_control_characters)
{
        static const char content[] = "[role:r]\nmembers = al\x01ice\napprovers = bob\0x\n";

        write_file(content, sizeof(content) - 1);
        ck_assert_int_eq(config_load(path, &cfg, &errs), -EINVAL);
        expect_error(2, "control character in line");
        expect_error(3, "NUL byte in line");
        ck_assert_uint_eq(errs.n, 2);
}
END_TEST

START_TEST(test_cannot_open)
{
        char want[PATH_MAX + 64];
        struct config *sentinel = (struct config *) &errs;

        cfg = sentinel;
        ck_assert_int_eq(config_load(path, &cfg, &errs), -ENOENT);
        ck_assert_ptr_eq(cfg, sentinel);
        cfg = NULL;
        ck_assert_uint_eq(errs.n, 1);
        snprintf(want, sizeof(want), "%s: cannot open: %s", path, strerror(ENOENT));
        ck_assert_str_eq(errs.lines[0], want);
}
END_TEST

START_TEST(test_directory)
{
        char want[PATH_MAX + 64];

        ck_assert_int_eq(config_load(dir, &cfg, &errs), -EISDIR);
        ck_assert_ptr_null(cfg);
        ck_assert_uint_eq(errs.n, 1);
        snprintf(want, sizeof(want), "%s: cannot read: %s", dir, strerror(EISDIR));
        ck_assert_str_eq(errs.lines[0], want);
}
END_TEST

START_TEST(test_ret_untouched_on_error)
{
        struct config *sentinel = (struct config *) &errs;

        cfg = sentinel;
        write_file("[bogus]\n", 8);
        ck_assert_int_eq(config_load(path, &cfg, &errs), -EINVAL);
        ck_assert_ptr_eq(cfg, sentinel);
        cfg = NULL;
}
END_TEST

START_TEST(test_errors_accumulate_and_clear)
{
        ck_assert_int_eq(load("[x]\n"), -EINVAL);
        ck_assert_int_eq(load("[y]\n"), -EINVAL);
        ck_assert_uint_eq(errs.n, 2);
        config_errors_clear(&errs);
        ck_assert_uint_eq(errs.n, 0);
        ck_assert_ptr_null(errs.lines);
        config_errors_clear(&errs);
        config_errors_clear(NULL);
        config_free(NULL);
        ck_assert_ptr_null(config_find_role(NULL, "x"));
}
END_TEST

START_TEST(test_approval_format)
{
        char buf[32], tiny[5];

        approval_format(APPROVAL_TICKET, buf, sizeof(buf));
        ck_assert_str_eq(buf, "ticket");
        approval_format(APPROVAL_AUTO | APPROVAL_PEER | APPROVAL_TICKET, buf, sizeof(buf));
        ck_assert_str_eq(buf, "ticket,peer,auto");
        approval_format(APPROVAL_PEER | APPROVAL_TICKET, buf, sizeof(buf));
        ck_assert_str_eq(buf, "ticket,peer");
        approval_format(APPROVAL_AUTO, buf, sizeof(buf));
        ck_assert_str_eq(buf, "auto");
        approval_format(0, buf, sizeof(buf));
        ck_assert_str_eq(buf, "");
        approval_format(APPROVAL_TICKET | APPROVAL_PEER, tiny, sizeof(tiny));
        ck_assert_uint_lt(strlen(tiny), sizeof(tiny));
}
END_TEST

/* ---- [fleet] ---- */

/* config_load_fd_flags() on content, as jitd reads its file. */
static int load_flags(const char *content, unsigned flags)
{
        int fd, r;

        write_file(content, strlen(content));
        fd = open(path, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        r = config_load_fd_flags(fd, path, flags, &cfg, &errs);
        close(fd);
        return r;
}

static void assert_no_secret(void)
{
        for (size_t i = 0; i < errs.n; i++)
                ck_assert_msg(!strstr(errs.lines[i], "secret"), "an error quotes the password: %s", errs.lines[i]);
}

START_TEST(test_fleet_section)
{
        expect_clean(OK_ROLE
                     "[fleet]\n"
                     "database = host=/run/postgresql dbname=jit user=jit_host_web01   # the host's role\n"
                     "password_file = /etc/jit/fleet.password\n"
                     "sync = 5s\n");
        ck_assert_uint_eq(cfg->fleet.line, 4);
        ck_assert_str_eq(cfg->fleet.database, "host=/run/postgresql dbname=jit user=jit_host_web01");
        ck_assert_str_eq(cfg->fleet.password_file, "/etc/jit/fleet.password");
        ck_assert_uint_eq(cfg->fleet.sync, 5);
        ck_assert_uint_eq(cfg->n_roles, 1);
}
END_TEST

START_TEST(test_fleet_defaults)
{
        expect_clean("[fleet]\ndatabase = postgresql://jit_host_web01@db1.example.com/jit?sslmode=verify-full\n");
        ck_assert_uint_eq(cfg->fleet.line, 1);
        ck_assert_str_eq(cfg->fleet.database, "postgresql://jit_host_web01@db1.example.com/jit?sslmode=verify-full");
        ck_assert_ptr_null(cfg->fleet.password_file);      /* a client certificate, say */
        ck_assert_uint_eq(cfg->fleet.sync, 2);
        ck_assert_uint_eq(cfg->fleet.ticket_jitter, FLEET_TICKET_JITTER_DEFAULT);
}
END_TEST

START_TEST(test_fleet_sync_bounds)
{
        expect_clean("[fleet]\ndatabase = host=db1\nsync = 1s\n");
        ck_assert_uint_eq(cfg->fleet.sync, 1);
        config_free(cfg);
        cfg = NULL;
        expect_clean("[fleet]\ndatabase = host=db1\nsync = 1h\n");
        ck_assert_uint_eq(cfg->fleet.sync, 3600);
}
END_TEST

START_TEST(test_fleet_ticket_jitter)
{
        expect_clean("[fleet]\ndatabase = host=db1\nticket_jitter = 1s\n");
        ck_assert_uint_eq(cfg->fleet.ticket_jitter, 1);
        config_free(cfg);
        cfg = NULL;
        expect_clean("[fleet]\ndatabase = host=db1\nticket_jitter = 1m30s\n");
        ck_assert_uint_eq(cfg->fleet.ticket_jitter, 90);
        teardown();
        setup();
        expect_only("[fleet]\ndatabase = host=db1\nticket_jitter = 2h\n", 3,
                    "ticket_jitter: '2h' is out of range (1s..1h)");
}
END_TEST

START_TEST(test_fleet_write_database)
{
        expect_clean("[fleet]\ndatabase = host=replica1 dbname=jit\nwrite_database = host=primary dbname=jit\n");
        ck_assert_str_eq(cfg->fleet.write_database, "host=primary dbname=jit");
        teardown();
        setup();
        expect_only("[fleet]\ndatabase = host=db1\nwrite_database = host=db0 password=secret\n", 3,
                    "write_database: the connection string carries a password (password=...); "
                    "put it in password_file instead");
        assert_no_secret();
}
END_TEST

START_TEST(test_err_fleet_password_keyword)
{
        expect_only("[fleet]\ndatabase = host=db1 user=web01 password=secret\n", 2,
                    "database: the connection string carries a password (password=...); "
                    "put it in password_file instead");
        assert_no_secret();
}
END_TEST

START_TEST(test_err_fleet_password_uri)
{
        expect_only("[fleet]\ndatabase = postgresql://web01:secret@db1/jit\n", 2,
                    "database: the connection string carries a password (user:password@ in the URI); "
                    "put it in password_file instead");
        assert_no_secret();
}
END_TEST

START_TEST(test_err_fleet_password_uri_parameter)
{
        expect_only("[fleet]\ndatabase = postgresql://db1/jit?pass%77ord=secret\n", 2,
                    "database: the connection string carries a password (?password=...); "
                    "put it in password_file instead");
        assert_no_secret();
}
END_TEST

START_TEST(test_err_fleet_values)
{
        expect_only("[fleet]\ndatabase = host db1\n", 2,
                    "database: missing '=' after a keyword (write key=value pairs, or a postgresql:// URI)");
        teardown();
        setup();
        expect_only("[fleet]\ndatabase =\n", 2, "database: an empty connection string");
        teardown();
        setup();
        expect_only("[fleet]\ndatabase = host=db1\npassword_file = fleet.password\n", 3,
                    "password_file: 'fleet.password' is not an absolute path");
        teardown();
        setup();
        expect_only("[fleet]\ndatabase = host=db1\nsync = 2h\n", 3, "sync: '2h' is out of range (1s..1h)");
        teardown();
        setup();
        expect_only("[fleet]\ndatabase = host=db1\nsync = 2\n", 3,
                    "sync: '2': not a duration: use a number with a unit, e.g. 90s, 15m, 1h30m, 2d "
                    "(units d, h, m, s, each once, in that order; at least 1s)");
}
END_TEST

START_TEST(test_err_fleet_unknown_key)
{
        expect_only("[fleet]\ndatabase = host=db1\npassword = x\n", 3, "unknown key 'password' in [fleet]");
}
END_TEST

START_TEST(test_err_fleet_needs_database)
{
        expect_only("\n[fleet]\nsync = 2s\n", 2, "[fleet] needs database (a connection string)");
}
END_TEST

START_TEST(test_err_fleet_duplicates)
{
        expect_only("[fleet]\ndatabase = host=db1\n[fleet]\n", 3, "duplicate section [fleet] (first at line 1)");
        teardown();
        setup();
        expect_only("[fleet]\ndatabase = host=db1\ndatabase = host=db2\n", 3,
                    "duplicate key 'database' in [fleet] (first set at line 2)");
}
END_TEST

/* jitd's reading: [fleet] refused at its line, with every other problem. */
START_TEST(test_fleet_refused_by_jitd)
{
        ck_assert_int_eq(load_flags(OK_ROLE "[fleet]\ndatabase = host=db1\n", CONFIG_REFUSE_FLEET), -EINVAL);
        ck_assert_ptr_null(cfg);
        expect_error(4, "[fleet] is not implemented by this jitd yet");
        ck_assert_uint_eq(errs.n, 1);
        teardown();
        setup();

        ck_assert_int_eq(load_flags("[jitd]\nsokcet = /x\n[fleet]\ndatabase = password=secret\n",
                                    CONFIG_REFUSE_FLEET), -EINVAL);
        expect_error(2, "unknown key 'sokcet' in [jitd]");
        expect_error(3, "[fleet] is not implemented by this jitd yet");
        expect_error(4, "database: the connection string carries a password (password=...); "
                     "put it in password_file instead");
        ck_assert_uint_eq(errs.n, 3);
        assert_no_secret();
        teardown();
        setup();

        /* Without [fleet] the flag changes nothing. */
        ck_assert_int_eq(load_flags(OK_ROLE, CONFIG_REFUSE_FLEET), 0);
        ck_assert_ptr_nonnull(cfg);
        ck_assert_uint_eq(errs.n, 0);
}
END_TEST

/* What a program may print as "key = value" for this file. */
START_TEST(test_value_fits)
{
        ck_assert(config_value_fits("host=/run/postgresql dbname=jit user=jit_host_web01"));
        ck_assert(config_value_fits("/etc/jit/fleet.password"));
        ck_assert(config_value_fits("^[A-Z]+#[0-9]+$"));               /* '#' not after a blank */
        ck_assert(config_value_fits("a\tb"));
        ck_assert(!config_value_fits(NULL));
        ck_assert(!config_value_fits(""));
        ck_assert(!config_value_fits(" x"));
        ck_assert(!config_value_fits("x\t"));
        ck_assert(!config_value_fits("application_name='a #1'"));
        ck_assert(!config_value_fits("a ;b"));
        ck_assert(!config_value_fits("a\nb"));
        ck_assert(!config_value_fits("a\x7f"));
}
END_TEST

static Suite *config_suite(void)
{
        Suite *s = suite_create("config");
        TCase *ok = tcase_create("parses");
        TCase *bad = tcase_create("errors");
        TCase *cross = tcase_create("cross-checks");
        TCase *file = tcase_create("file");
        TCase *fleet = tcase_create("fleet");

        tcase_add_checked_fixture(ok, setup, teardown);
        tcase_add_test(ok, test_product_role);
        tcase_add_test(ok, test_empty_file_defaults);
        tcase_add_test(ok, test_role_defaults);
        tcase_add_test(ok, test_jitd_section);
        tcase_add_test(ok, test_jitd_values);
        tcase_add_test(ok, test_ticket_section);
        tcase_add_test(ok, test_ticket_allow_http);
        tcase_add_test(ok, test_ticket_helper_user);
        tcase_add_test(ok, test_full_file);
        tcase_add_test(ok, test_comments_and_whitespace);
        tcase_add_test(ok, test_crlf_and_bom);
        tcase_add_test(ok, test_long_line);
        tcase_add_test(ok, test_approvals_with_group);
        tcase_add_test(ok, test_approval_format);
        suite_add_tcase(s, ok);

        tcase_add_checked_fixture(bad, setup, teardown);
        tcase_add_test(bad, test_err_unknown_key);
        tcase_add_test(bad, test_err_unknown_key_jitd);
        tcase_add_test(bad, test_err_unknown_section);
        tcase_add_test(bad, test_err_section_without_name);
        tcase_add_test(bad, test_err_key_outside_section);
        tcase_add_test(bad, test_err_syntax);
        tcase_add_test(bad, test_err_unclosed_section);
        tcase_add_test(bad, test_err_text_after_section);
        tcase_add_test(bad, test_err_indented_is_not_continuation);
        tcase_add_test(bad, test_err_missing_key_name);
        tcase_add_test(bad, test_err_duplicate_role);
        tcase_add_test(bad, test_err_duplicate_role_keys_still_checked);
        tcase_add_test(bad, test_err_duplicate_key);
        tcase_add_test(bad, test_err_duplicate_section);
        tcase_add_test(bad, test_err_role_name);
        tcase_add_test(bad, test_err_role_name_empty);
        tcase_add_test(bad, test_err_duration);
        tcase_add_test(bad, test_err_duration_range);
        tcase_add_test(bad, test_err_bool);
        tcase_add_test(bad, test_err_integer);
        tcase_add_test(bad, test_err_integer_overflow);
        tcase_add_test(bad, test_err_regex);
        tcase_add_test(bad, test_err_regex_blowup);
        tcase_add_test(bad, test_err_members);
        tcase_add_test(bad, test_err_commands);
        tcase_add_test(bad, test_err_hosts_services_runas);
        tcase_add_test(bad, test_err_approval_value);
        tcase_add_test(bad, test_err_ticket_mode);
        tcase_add_test(bad, test_err_jitd_values);
        tcase_add_test(bad, test_err_socket_too_long);
        tcase_add_test(bad, test_err_ticket_provider);
        tcase_add_test(bad, test_err_ticket_plain_http);
        tcase_add_test(bad, test_err_ticket_values);
        tcase_add_test(bad, test_err_ticket_http_incomplete);
        suite_add_tcase(s, bad);

        tcase_add_checked_fixture(cross, setup, teardown);
        tcase_add_test(cross, test_err_max_below_default);
        tcase_add_test(cross, test_err_peer_without_approvers);
        tcase_add_test(cross, test_err_auto_with_peer);
        tcase_add_test(cross, test_err_ticket_approval_without_ticket);
        tcase_add_test(cross, test_err_pattern_without_ticket);
        tcase_add_test(cross, test_err_no_members);
        tcase_add_test(cross, test_err_empty_members);
        tcase_add_test(cross, test_err_approvals_without_peer);
        tcase_add_test(cross, test_err_approvals_more_than_approvers);
        suite_add_tcase(s, cross);

        tcase_add_checked_fixture(file, setup, teardown);
        tcase_add_test(file, test_many_errors_all_reported);
        tcase_add_test(file, test_control_characters);
        tcase_add_test(file, test_cannot_open);
        tcase_add_test(file, test_directory);
        tcase_add_test(file, test_ret_untouched_on_error);
        tcase_add_test(file, test_errors_accumulate_and_clear);
        suite_add_tcase(s, file);

        tcase_add_test(ok, test_record_defaults);
        tcase_add_test(ok, test_record_values);
        tcase_add_test(bad, test_err_record_values);
        tcase_add_test(bad, test_err_record_dir);

        tcase_add_checked_fixture(fleet, setup, teardown);
        tcase_add_test(fleet, test_fleet_section);
        tcase_add_test(fleet, test_fleet_defaults);
        tcase_add_test(fleet, test_fleet_sync_bounds);
        tcase_add_test(fleet, test_fleet_ticket_jitter);
        tcase_add_test(fleet, test_err_fleet_password_keyword);
        tcase_add_test(fleet, test_fleet_write_database);
        tcase_add_test(fleet, test_err_fleet_password_uri);
        tcase_add_test(fleet, test_err_fleet_password_uri_parameter);
        tcase_add_test(fleet, test_err_fleet_values);
        tcase_add_test(fleet, test_err_fleet_unknown_key);
        tcase_add_test(fleet, test_err_fleet_needs_database);
        tcase_add_test(fleet, test_err_fleet_duplicates);
        tcase_add_test(fleet, test_fleet_refused_by_jitd);
        tcase_add_test(fleet, test_value_fits);
        suite_add_tcase(s, fleet);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(config_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
