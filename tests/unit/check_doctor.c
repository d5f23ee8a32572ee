/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for jitctl/doctor_parse.c: PAM lines, controls and stacks (with
 * includes, in a scratch directory), the order rule, sudoers include
 * directives and scans, directory comparison, ticket URL endpoints, mountinfo
 * lines and mount options. */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor_parse.h"
#include "util.h"

static char dir[64];

static void setup(void)
{
        strcpy(dir, "/tmp/check_doctor.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
        (void) sb, (void) flag, (void) ftw;
        return remove(p);
}

static void teardown(void)
{
        nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Write dir/name; returns the full path in a rotating static buffer. */
static const char *put(const char *name, const char *content)
{
        static char bufs[4][256];
        static unsigned next;
        char *p = bufs[next++ % ELEMENTSOF(bufs)];
        FILE *f;

        snprintf(p, sizeof(bufs[0]), "%s/%s", dir, name);
        f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_ge(fputs(content, f), 0);
        ck_assert_int_eq(fclose(f), 0);
        return p;
}

/* ---- PAM lines ---------------------------------------------------------- */

START_TEST(test_pam_split)
{
        char l1[] = "account  required  pam_jit.so socket=/run/x.sock  debug  ";
        char l2[] = "account [success=1 new_authtok_reqd=done default=ignore]\tpam_unix.so";
        char l3[] = "@include common-account";
        char l4[] = "   \t ";
        char l5[] = "account required";
        char l6[] = "account [success=1 default=ignore pam_unix.so";
        char l7[] = "-session optional pam_systemd.so";
        struct doctor_pam_fields f;

        ck_assert_int_eq(doctor_pam_split(l1, &f), 1);
        ck_assert_str_eq(f.type, "account");
        ck_assert_str_eq(f.control, "required");
        ck_assert_str_eq(f.module, "pam_jit.so");
        ck_assert_str_eq(f.args, "socket=/run/x.sock  debug");

        ck_assert_int_eq(doctor_pam_split(l2, &f), 1);
        ck_assert_str_eq(f.control, "[success=1 new_authtok_reqd=done default=ignore]");
        ck_assert_str_eq(f.module, "pam_unix.so");
        ck_assert_str_eq(f.args, "");

        ck_assert_int_eq(doctor_pam_split(l3, &f), 1);
        ck_assert_str_eq(f.type, "@include");
        ck_assert_ptr_null(f.control);
        ck_assert_str_eq(f.module, "common-account");

        ck_assert_int_eq(doctor_pam_split(l4, &f), 0);
        ck_assert_int_eq(doctor_pam_split(l5, &f), -EINVAL);
        ck_assert_int_eq(doctor_pam_split(l6, &f), -EINVAL);
        ck_assert_int_eq(doctor_pam_split(l7, &f), 1);
        ck_assert_str_eq(f.type, "-session");
}
END_TEST

START_TEST(test_pam_phase)
{
        ck_assert_int_eq(doctor_pam_phase_from("auth"), DOCTOR_PAM_AUTH);
        ck_assert_int_eq(doctor_pam_phase_from("Account"), DOCTOR_PAM_ACCOUNT);
        ck_assert_int_eq(doctor_pam_phase_from("-session"), DOCTOR_PAM_SESSION);
        ck_assert_int_eq(doctor_pam_phase_from("password"), DOCTOR_PAM_PASSWORD);
        ck_assert_int_eq(doctor_pam_phase_from("accounts"), DOCTOR_PAM_NONE);
        ck_assert_int_eq(doctor_pam_phase_from("@include"), DOCTOR_PAM_NONE);
        ck_assert_int_eq(doctor_pam_phase_from(NULL), DOCTOR_PAM_NONE);
}
END_TEST

static const struct {
        const char *control;
        int on_success;
        bool enforces;
} controls[] = {
        { "required", DOCTOR_PAM_CONTINUES, true },
        { "Requisite", DOCTOR_PAM_CONTINUES, true },
        { "optional", DOCTOR_PAM_CONTINUES, false },
        { "sufficient", DOCTOR_PAM_ENDS, false },
        { "[success=done default=ignore]", DOCTOR_PAM_ENDS, false },
        { "[default=done]", DOCTOR_PAM_ENDS, true },
        { "[success=2 default=ignore]", 2, false },
        { "[success=1 new_authtok_reqd=done default=ignore]", 1, false },
        { "[new_authtok_reqd=done success=ok]", DOCTOR_PAM_CONTINUES, true },
        { "[success=ok]", DOCTOR_PAM_CONTINUES, true },            /* unlisted codes: bad */
        { "[success=ok perm_denied=ignore default=bad]", DOCTOR_PAM_CONTINUES, false },
        { "[perm_denied=die]", DOCTOR_PAM_CONTINUES, true },
        { "[perm_denied=1 default=bad]", DOCTOR_PAM_CONTINUES, false },
        { "[default=ignore]", DOCTOR_PAM_CONTINUES, false },
        { "[success=ok perm_denied=ok]", DOCTOR_PAM_CONTINUES, true },
        { "[success=0]", DOCTOR_PAM_CONTINUES, true },
        { "[success=x]", DOCTOR_PAM_CONTINUES, true },
        { "[]", DOCTOR_PAM_CONTINUES, true },
        { "include", DOCTOR_PAM_CONTINUES, false },
};

START_TEST(test_pam_controls)
{
        const char *c = controls[_i].control;

        ck_assert_msg(doctor_pam_on_success(c) == controls[_i].on_success, "on_success(%s) = %d", c,
                      doctor_pam_on_success(c));
        ck_assert_msg(doctor_pam_enforces(c) == controls[_i].enforces, "enforces(%s)", c);
}
END_TEST

START_TEST(test_pam_module_args)
{
        char buf[16];

        ck_assert(doctor_pam_is_jit("pam_jit.so"));
        ck_assert(doctor_pam_is_jit("/lib/x86_64-linux-gnu/security/pam_jit.so"));
        ck_assert(!doctor_pam_is_jit("pam_jit.so.bak"));
        ck_assert(!doctor_pam_is_jit("xpam_jit.so"));
        ck_assert(!doctor_pam_is_jit(NULL));

        ck_assert(doctor_pam_has_arg("socket=/a prompt debug", "prompt"));
        ck_assert(doctor_pam_has_arg("[socket=/a b] prompt", "prompt"));
        ck_assert(!doctor_pam_has_arg("promptx debug", "prompt"));
        ck_assert(!doctor_pam_has_arg("", "prompt"));
        ck_assert(!doctor_pam_has_arg("[prompt x]", "prompt"));

        ck_assert(doctor_pam_arg_value("debug socket=/r/j.sock", "socket", buf, sizeof(buf)));
        ck_assert_str_eq(buf, "/r/j.sock");
        ck_assert(doctor_pam_arg_value("[socket=/a b]", "socket", buf, sizeof(buf)));
        ck_assert_str_eq(buf, "/a b");
        ck_assert(!doctor_pam_arg_value("socketx=/a", "socket", buf, sizeof(buf)));
        ck_assert(!doctor_pam_arg_value("socket=/a/very/long/path/indeed", "socket", buf, sizeof(buf)));
        ck_assert(!doctor_pam_arg_value("socket", "socket", buf, sizeof(buf)));
}
END_TEST

/* ---- PAM stacks --------------------------------------------------------- */

static const char common_account[] =
        "# Debian 12\n"
        "account\t[success=1 new_authtok_reqd=done default=ignore]\tpam_unix.so\n"
        "account\trequisite\t\t\tpam_deny.so\n"
        "account\trequired\t\t\tpam_permit.so\n";

/* Load dir/sudo written from text, analyse it. */
static void analyse(const char *text, struct doctor_pam_stack *s, struct doctor_pam_verdict *v)
{
        put("sudo", text);
        ck_assert_int_eq(doctor_pam_load(dir, "sudo", s), 0);
        doctor_pam_analyse(s, v);
}

START_TEST(test_stack_debian)
{
        struct doctor_pam_stack s;
        struct doctor_pam_verdict v;

        put("common-account", common_account);
        put("common-session", "session required pam_unix.so\n");
        analyse("#%PAM-1.0\n"
                "auth requisite pam_jit.so prompt\n"
                "@include common-account\n"
                "account  required  pam_jit.so\n"
                "@include common-session\n"
                "session  optional  pam_jit.so\n", &s, &v);
        ck_assert_uint_eq(s.n, 7);
        ck_assert_ptr_nonnull(v.auth);
        ck_assert_ptr_nonnull(v.account);
        ck_assert_ptr_nonnull(v.session);
        ck_assert_ptr_null(v.bypass);
        ck_assert_uint_eq(v.account->line, 4);
        ck_assert_uint_eq(v.session->line, 6);
        ck_assert_str_eq(s.rules[0].control, "requisite");
        /* The included rules keep their own file and line. */
        ck_assert_str_eq(s.rules[1].module, "pam_unix.so");
        ck_assert_uint_eq(s.rules[1].line, 2);
        ck_assert_ptr_nonnull(strstr(s.rules[1].file, "/common-account"));
        ck_assert_ptr_null(s.note);
        doctor_pam_stack_free(&s);
}
END_TEST

START_TEST(test_stack_bypass)
{
        struct doctor_pam_stack s;
        struct doctor_pam_verdict v;

        put("common-account", common_account);
        analyse("account sufficient pam_permit.so\n@include common-account\naccount required pam_jit.so\n"
                "session optional pam_jit.so\n", &s, &v);
        ck_assert_ptr_nonnull(v.bypass);
        ck_assert_str_eq(v.bypass->module, "pam_permit.so");
        ck_assert_uint_eq(v.bypass->line, 1);
        doctor_pam_stack_free(&s);

        /* Sufficient after ours does no harm. */
        analyse("account required pam_jit.so\naccount sufficient pam_permit.so\n", &s, &v);
        ck_assert_ptr_null(v.bypass);
        doctor_pam_stack_free(&s);

        /* A sufficient in another phase does not matter either. */
        analyse("auth sufficient pam_permit.so\naccount required pam_jit.so\n", &s, &v);
        ck_assert_ptr_null(v.bypass);
        doctor_pam_stack_free(&s);

        /* success=done inside an included file. */
        put("common-account", "account [success=done default=ignore] pam_unix.so\n");
        analyse("@include common-account\naccount required pam_jit.so\n", &s, &v);
        ck_assert_ptr_nonnull(v.bypass);
        ck_assert_ptr_nonnull(strstr(v.bypass->file, "common-account"));
        doctor_pam_stack_free(&s);
}
END_TEST

START_TEST(test_stack_jumps)
{
        struct doctor_pam_stack s;
        struct doctor_pam_verdict v;

        /* success=1 skips the next account rule: ours. Session lines in
         * between are another stack and do not count. */
        analyse("account [success=1 default=ignore] pam_unix.so\nsession optional pam_jit.so\n"
                "account required pam_jit.so\n", &s, &v);
        ck_assert_ptr_nonnull(v.bypass);
        doctor_pam_stack_free(&s);

        /* success=1 skips pam_deny only. */
        analyse("account [success=1 default=ignore] pam_unix.so\naccount requisite pam_deny.so\n"
                "account required pam_jit.so\n", &s, &v);
        ck_assert_ptr_null(v.bypass);
        doctor_pam_stack_free(&s);

        /* success=2 reaches over pam_deny and ours. */
        analyse("account [success=2 default=ignore] pam_unix.so\naccount requisite pam_deny.so\n"
                "account required pam_jit.so\naccount required pam_permit.so\n", &s, &v);
        ck_assert_ptr_nonnull(v.bypass);
        doctor_pam_stack_free(&s);
}
END_TEST

START_TEST(test_stack_include_controls)
{
        struct doctor_pam_stack s;
        struct doctor_pam_verdict v;

        /* "account include X" takes X's account rules only. */
        put("system-auth", "auth required pam_unix.so\naccount sufficient pam_permit.so\n"
            "session required pam_unix.so\n");
        analyse("account include system-auth\naccount required pam_jit.so\n", &s, &v);
        ck_assert_uint_eq(s.n, 2);
        ck_assert_ptr_nonnull(v.bypass);
        doctor_pam_stack_free(&s);

        /* A substack's sufficient ends the substack only. */
        analyse("account substack system-auth\naccount required pam_jit.so\n", &s, &v);
        ck_assert_uint_eq(s.n, 2);
        ck_assert(s.rules[0].substack);
        ck_assert_ptr_null(v.bypass);
        doctor_pam_stack_free(&s);
}
END_TEST

START_TEST(test_stack_lines)
{
        struct doctor_pam_stack s;
        struct doctor_pam_verdict v;

        /* A continued line counts from its first line; '#' cuts mid-line;
         * blank and comment lines inside a continuation are skipped. */
        analyse("# comment\n"
                "\n"
                "account \\\n"
                "\n"
                "   required \\\n"
                "   pam_jit.so debug # prompt\n"
                "session optional pam_jit.so socket=/x#y\n"
                "account [success=1 default=ignore pam_bad.so\n"
                "bogus required pam_permit.so\n", &s, &v);
        ck_assert_uint_eq(s.n, 2);
        ck_assert_ptr_nonnull(v.account);
        ck_assert_uint_eq(v.account->line, 3);
        ck_assert_str_eq(v.account->control, "required");
        ck_assert_str_eq(v.account->args, "debug");
        ck_assert(!doctor_pam_has_arg(v.account->args, "prompt"));
        ck_assert_str_eq(v.session->args, "socket=/x");
        ck_assert_ptr_null(v.auth);
        doctor_pam_stack_free(&s);
}
END_TEST

START_TEST(test_stack_notes)
{
        struct doctor_pam_stack s;
        struct doctor_pam_verdict v;

        analyse("@include gone\naccount required pam_jit.so\n", &s, &v);
        ck_assert_ptr_nonnull(s.note);
        ck_assert_ptr_nonnull(strstr(s.note, "cannot read included gone"));
        ck_assert_ptr_nonnull(v.account);
        doctor_pam_stack_free(&s);

        /* One level: an include inside an include is named, not followed. */
        put("level1", "@include level2\naccount required pam_unix.so\n");
        put("level2", "account required pam_jit.so\n");
        analyse("@include level1\n", &s, &v);
        ck_assert_uint_eq(s.n, 1);
        ck_assert_ptr_nonnull(s.note);
        ck_assert_ptr_nonnull(strstr(s.note, "level2 not followed"));
        ck_assert_ptr_null(v.account);
        doctor_pam_stack_free(&s);

        /* An absolute include. */
        {
                char line[300];

                snprintf(line, sizeof(line), "@include %s\n", put("abs", "account required pam_jit.so\n"));
                analyse(line, &s, &v);
                ck_assert_ptr_nonnull(v.account);
                ck_assert_ptr_null(s.note);
                doctor_pam_stack_free(&s);
        }

        ck_assert_int_eq(doctor_pam_load(dir, "nothere", &s), -ENOENT);
        doctor_pam_stack_free(NULL);
}
END_TEST

/* ---- sudoers ------------------------------------------------------------ */

static const struct {
        const char *line;
        int kind;
        const char *path;
} directives[] = {
        { "@includedir /etc/sudoers.d\n", DOCTOR_SUDOERS_INCLUDEDIR, "/etc/sudoers.d" },
        { "#includedir /etc/sudoers.d", DOCTOR_SUDOERS_INCLUDEDIR, "/etc/sudoers.d" },
        { "  @includedir\t/etc/sudoers.d  ", DOCTOR_SUDOERS_INCLUDEDIR, "/etc/sudoers.d" },
        { "@include /etc/sudoers.local", DOCTOR_SUDOERS_INCLUDE, "/etc/sudoers.local" },
        { "#include sudoers.local", DOCTOR_SUDOERS_INCLUDE, "/etc/sudoers.local" },
        { "@includedir sudoers.d", DOCTOR_SUDOERS_INCLUDEDIR, "/etc/sudoers.d" },
        { "@include \"/etc/with space\"", DOCTOR_SUDOERS_INCLUDE, "/etc/with space" },
        { "@include /etc/with\\ space", DOCTOR_SUDOERS_INCLUDE, "/etc/with space" },
        { "@include /etc/sudoers.%h", DOCTOR_SUDOERS_INCLUDE, "/etc/sudoers.web01" },
        { "@include /etc/100%%", DOCTOR_SUDOERS_INCLUDE, "/etc/100%" },
        { "# includedir /etc/sudoers.d", DOCTOR_SUDOERS_OTHER, NULL },
        { "#includedirx /etc/sudoers.d", DOCTOR_SUDOERS_OTHER, NULL },
        { "@includes /x", DOCTOR_SUDOERS_OTHER, NULL },
        { "root ALL=(ALL:ALL) ALL", DOCTOR_SUDOERS_OTHER, NULL },
        { "Defaults env_reset", DOCTOR_SUDOERS_OTHER, NULL },
        { "#", DOCTOR_SUDOERS_OTHER, NULL },
        { "", DOCTOR_SUDOERS_OTHER, NULL },
        { "@includedir ", -EINVAL, NULL },
        { "@include \"\"", -EINVAL, NULL },
};

START_TEST(test_sudoers_directive)
{
        char *path = NULL;
        int r = doctor_sudoers_directive(directives[_i].line, "/etc/sudoers", "web01", &path);

        ck_assert_msg(r == directives[_i].kind, "'%s': %d", directives[_i].line, r);
        if (directives[_i].path)
                ck_assert_str_eq(path, directives[_i].path);
        free(path);
}
END_TEST

START_TEST(test_sudoers_scan)
{
        struct doctor_sudoers_scan s;
        char text[512], dropins[128];
        const char *main_file;

        snprintf(dropins, sizeof(dropins), "%s/sudoers.d", dir);
        ck_assert_int_eq(mkdir(dropins, 0750), 0);

        /* Covered through an @include, relative, with a trailing slash. */
        put("local", "@includedir /elsewhere\n#includedir sudoers.d/\n");
        main_file = put("sudoers", "root ALL=(ALL:ALL) ALL\n@include local\n");
        ck_assert_int_eq(doctor_sudoers_scan(main_file, dropins, "h", &s), 0);
        ck_assert_ptr_nonnull(s.where);
        ck_assert_ptr_nonnull(strstr(s.where, "/local:2"));
        ck_assert_ptr_nonnull(strstr(s.seen, "/elsewhere, "));
        ck_assert_ptr_null(s.note);
        doctor_sudoers_scan_clear(&s);

        /* Not covered: what is included is listed; a missing include noted. */
        snprintf(text, sizeof(text), "@includedir /etc/sudoers.d\n@include %s/gone\n", dir);
        main_file = put("sudoers", text);
        ck_assert_int_eq(doctor_sudoers_scan(main_file, dropins, "h", &s), 0);
        ck_assert_ptr_null(s.where);
        ck_assert_str_eq(s.seen, "/etc/sudoers.d");
        ck_assert_ptr_nonnull(s.note);
        ck_assert_ptr_nonnull(strstr(s.note, "gone"));
        doctor_sudoers_scan_clear(&s);

        /* An include loop ends at once, and is named. */
        main_file = put("sudoers", "@include sudoers\n");
        ck_assert_int_eq(doctor_sudoers_scan(main_file, dropins, "h", &s), 0);
        ck_assert_ptr_null(s.where);
        ck_assert_ptr_null(s.seen);
        ck_assert_ptr_nonnull(s.note);
        ck_assert_ptr_nonnull(strstr(s.note, "include loop"));
        doctor_sudoers_scan_clear(&s);

        snprintf(text, sizeof(text), "%s/none", dir);
        ck_assert_int_eq(doctor_sudoers_scan(text, dropins, "h", &s), -ENOENT);
        doctor_sudoers_scan_clear(NULL);
}
END_TEST

/* Issue 12, finding 12: a sudoers file that includes itself k times was
 * read k^8 times (minutes for k = 10). Each case must end well inside the
 * test's timeout. */
START_TEST(test_sudoers_self_include)
{
        struct doctor_sudoers_scan s;
        char text[4096], dropins[128];
        const char *main_file;
        size_t n = 0;

        snprintf(dropins, sizeof(dropins), "%s/sudoers.d", dir);
        ck_assert_int_eq(mkdir(dropins, 0750), 0);
        for (int i = 0; i < 50; i++)
                n += (size_t) snprintf(text + n, sizeof(text) - n, "@include sudoers\n#include %s/sudoers\n", dir);
        snprintf(text + n, sizeof(text) - n, "@includedir %s\n", dropins);
        main_file = put("sudoers", text);
        ck_assert_int_eq(doctor_sudoers_scan(main_file, dropins, "h", &s), 0);
        ck_assert_ptr_nonnull(s.where);
        ck_assert_ptr_nonnull(strstr(s.where, "/sudoers:101"));
        ck_assert_str_eq(s.seen, dropins);      /* read once, listed once */
        ck_assert_ptr_nonnull(s.note);
        ck_assert_msg(strstr(s.note, "include loop") && strstr(s.note, "/sudoers:1 includes"), "%s", s.note);
        doctor_sudoers_scan_clear(&s);
}
END_TEST

START_TEST(test_sudoers_mutual_include)
{
        struct doctor_sudoers_scan s;
        char dropins[128];
        const char *main_file;

        snprintf(dropins, sizeof(dropins), "%s/sudoers.d", dir);
        ck_assert_int_eq(mkdir(dropins, 0750), 0);
        /* a -> b -> c -> a, each many times, through relative names and a
         * symbolic link (the same inode by another name). */
        put("a", "@include b\n@include b\n@include b\n@include b\n@include b\n@include b\n@include b\n");
        put("b", "@include c\n@include c\n@include c\n@include c\n@include c\n@include c\n@include c\n");
        put("c", "@include a\n@include alias\n@include a\n@include alias\n@include a\n@include alias\n");
        {
                char target[128], link[128];

                snprintf(target, sizeof(target), "%s/a", dir);
                snprintf(link, sizeof(link), "%s/alias", dir);
                ck_assert_int_eq(symlink(target, link), 0);
        }
        main_file = put("sudoers", "@include a\n@includedir /etc/sudoers.d\n");
        ck_assert_int_eq(doctor_sudoers_scan(main_file, dropins, "h", &s), 0);
        ck_assert_ptr_null(s.where);
        ck_assert_str_eq(s.seen, "/etc/sudoers.d");
        ck_assert_ptr_nonnull(s.note);
        ck_assert_msg(strstr(s.note, "include loop") && strstr(s.note, "/c:1 includes"), "%s", s.note);
        doctor_sudoers_scan_clear(&s);
}
END_TEST

START_TEST(test_sudoers_diamond_and_depth)
{
        struct doctor_sudoers_scan s;
        char dropins[128], name[32], text[64];
        const char *main_file;

        snprintf(dropins, sizeof(dropins), "%s/sudoers.d", dir);
        ck_assert_int_eq(mkdir(dropins, 0750), 0);

        /* Two ways to the same file is no loop: read once, no note. */
        put("left", "@include shared\n");
        put("right", "@include shared\n");
        put("shared", "@includedir sudoers.d\n");
        main_file = put("sudoers", "@include left\n@include right\n");
        ck_assert_int_eq(doctor_sudoers_scan(main_file, dropins, "h", &s), 0);
        ck_assert_ptr_nonnull(s.where);
        ck_assert_ptr_nonnull(strstr(s.where, "/shared:1"));
        ck_assert_str_eq(s.seen, dropins);
        ck_assert_ptr_null(s.note);
        doctor_sudoers_scan_clear(&s);

        /* A chain 16 deep is followed; the 17th level is named, not read. */
        for (int i = 1; i <= 20; i++) {
                snprintf(name, sizeof(name), "chain%d", i);
                snprintf(text, sizeof(text), i < 20 ? "@include chain%d\n" : "@includedir sudoers.d\n", i + 1);
                put(name, text);
        }
        main_file = put("sudoers", "@include chain1\n");
        ck_assert_int_eq(doctor_sudoers_scan(main_file, dropins, "h", &s), 0);
        ck_assert_ptr_null(s.where);
        ck_assert_ptr_nonnull(s.note);
        ck_assert_msg(strstr(s.note, "/chain16:1: includes nested more than 16 deep"), "%s", s.note);
        doctor_sudoers_scan_clear(&s);
}
END_TEST

START_TEST(test_sudoers_not_regular)
{
        struct doctor_sudoers_scan s;
        char dropins[128], fifo[128], text[512];
        const char *main_file;

        snprintf(dropins, sizeof(dropins), "%s/sudoers.d", dir);
        ck_assert_int_eq(mkdir(dropins, 0750), 0);
        snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
        ck_assert_int_eq(mkfifo(fifo, 0600), 0);
        /* Neither blocks nor reads forever. */
        snprintf(text, sizeof(text), "@include /dev/zero\n@include %s\n@include %s\n@includedir %s\n", fifo,
                 dropins, dropins);
        main_file = put("sudoers", text);
        ck_assert_int_eq(doctor_sudoers_scan(main_file, dropins, "h", &s), 0);
        ck_assert_ptr_nonnull(s.where);
        ck_assert_ptr_nonnull(s.note);
        ck_assert_msg(strstr(s.note, "cannot read /dev/zero") && strstr(s.note, "not a regular file"), "%s", s.note);
        doctor_sudoers_scan_clear(&s);
        ck_assert_int_eq(doctor_sudoers_scan(fifo, dropins, "h", &s), -EINVAL);
        ck_assert_int_eq(doctor_sudoers_scan("/dev/zero", dropins, "h", &s), -EINVAL);
        ck_assert_int_eq(doctor_sudoers_scan(dropins, dropins, "h", &s), -EISDIR);
}
END_TEST

START_TEST(test_pam_not_regular)
{
        struct doctor_pam_stack s;
        char path[128];

        snprintf(path, sizeof(path), "%s/fifo", dir);
        ck_assert_int_eq(mkfifo(path, 0600), 0);
        put("svc", "@include fifo\n@include /dev/zero\naccount required pam_jit.so\n");
        ck_assert_int_eq(doctor_pam_load(dir, "svc", &s), 0);
        ck_assert_uint_eq(s.n, 1);
        ck_assert_ptr_nonnull(s.note);
        ck_assert_msg(strstr(s.note, "cannot read included fifo: not a regular file"), "%s", s.note);
        doctor_pam_stack_free(&s);
        ck_assert_int_eq(doctor_pam_load(dir, "fifo", &s), -EINVAL);
}
END_TEST

START_TEST(test_same_dir)
{
        char a[128], b[160];

        ck_assert(doctor_same_dir("/no/such//dir/", "/no/such/dir"));
        ck_assert(doctor_same_dir("/no/./such/dir", "/no/such/dir"));
        ck_assert(doctor_same_dir("/", "//"));
        ck_assert(!doctor_same_dir("/no/such/dir", "/no/such/dir2"));
        ck_assert(!doctor_same_dir("/no/such/dir", NULL));
        /* Existing ones go by realpath: a symlink names the same directory. */
        snprintf(a, sizeof(a), "%s/real", dir);
        snprintf(b, sizeof(b), "%s/link", dir);
        ck_assert_int_eq(mkdir(a, 0755), 0);
        ck_assert_int_eq(symlink(a, b), 0);
        ck_assert(doctor_same_dir(a, b));
}
END_TEST

/* ---- URLs --------------------------------------------------------------- */

static const struct {
        const char *url, *host, *port;
} urls[] = {
        { "https://jira.example.com", "jira.example.com", "443" },
        { "https://jira.example.com/", "jira.example.com", "443" },
        { "https://jira.example.com:8443/rest", "jira.example.com", "8443" },
        { "http://10.0.0.1/x", "10.0.0.1", "80" },
        { "https://user:pw@host.example:444/p?q#f", "host.example", "444" },
        { "https://[::1]:8443/x", "::1", "8443" },
        { "https://[2001:db8::1]/", "2001:db8::1", "443" },
        { "https://host:/x", "host", "443" },
        { "https://host?x=1", "host", "443" },
        { "ftp://host/", NULL, NULL },
        { "https://", NULL, NULL },
        { "https:///path", NULL, NULL },
        { "https://host:0/", NULL, NULL },
        { "https://host:65536/", NULL, NULL },
        { "https://host:8x/", NULL, NULL },
        { "https://[::1/", NULL, NULL },
        { "https://[::1]x/", NULL, NULL },
        { "host.example", NULL, NULL },
};

START_TEST(test_url_endpoint)
{
        char host[64], port[8];
        int r = doctor_url_endpoint(urls[_i].url, host, sizeof(host), port, sizeof(port));

        if (!urls[_i].host) {
                ck_assert_msg(r == -EINVAL, "accepted %s", urls[_i].url);
                return;
        }
        ck_assert_msg(r == 0, "refused %s", urls[_i].url);
        ck_assert_str_eq(host, urls[_i].host);
        ck_assert_str_eq(port, urls[_i].port);
}
END_TEST

START_TEST(test_url_small_buffers)
{
        char host[4], port[8];

        ck_assert_int_eq(doctor_url_endpoint("https://abcd/", host, sizeof(host), port, sizeof(port)), -EINVAL);
        ck_assert_int_eq(doctor_url_endpoint("https://abc/", host, sizeof(host), port, sizeof(port)), 0);
        ck_assert_int_eq(doctor_url_endpoint("https://abc:443/", host, sizeof(host), port, 3), -EINVAL);
}
END_TEST

static Suite *doctor_suite(void)
{
        Suite *s = suite_create("doctor");
        TCase *tc;

        tc = tcase_create("pam");
        tcase_add_test(tc, test_pam_split);
        tcase_add_test(tc, test_pam_phase);
        tcase_add_loop_test(tc, test_pam_controls, 0, (int) ELEMENTSOF(controls));
        tcase_add_test(tc, test_pam_module_args);
        suite_add_tcase(s, tc);

        tc = tcase_create("stacks");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_stack_debian);
        tcase_add_test(tc, test_stack_bypass);
        tcase_add_test(tc, test_stack_jumps);
        tcase_add_test(tc, test_stack_include_controls);
        tcase_add_test(tc, test_stack_lines);
        tcase_add_test(tc, test_stack_notes);
        suite_add_tcase(s, tc);

        tc = tcase_create("sudoers");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_loop_test(tc, test_sudoers_directive, 0, (int) ELEMENTSOF(directives));
        tcase_add_test(tc, test_sudoers_scan);
        tcase_add_test(tc, test_sudoers_self_include);
        tcase_add_test(tc, test_sudoers_mutual_include);
        tcase_add_test(tc, test_sudoers_diamond_and_depth);
        tcase_add_test(tc, test_sudoers_not_regular);
        tcase_add_test(tc, test_pam_not_regular);
        tcase_add_test(tc, test_same_dir);
        suite_add_tcase(s, tc);

        tc = tcase_create("urls");
        tcase_add_loop_test(tc, test_url_endpoint, 0, (int) ELEMENTSOF(urls));
        tcase_add_test(tc, test_url_small_buffers);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(doctor_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
