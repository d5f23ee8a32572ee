/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for jitd/sudoers.c: rendering (golden text, the real visudo,
 * hostile input), and installing, reading, listing and removing drop-ins in a
 * scratch directory. Runs as root (chown, a tmpfs for ENOSPC). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "grant.h"
#include "sudoers.h"
#include "util.h"

#define REAL_VISUDO "/usr/sbin/visudo"
#define T_START INT64_C(1795442645)     /* 2026-11-23T14:04:05Z */
#define T_END   INT64_C(1795446245)     /* 2026-11-23T15:04:05Z */

/* top: one directory for the whole run, removed by main() whatever happened.
 * Per test, under it: root/ (0755), root/sudoers.d (the drop-in dir, 0755),
 * root/aux (scripts, symlink targets; never inspected by the code under test). */
static char top[64], root[128], sd[192], aux[192];

static const char *path_in(const char *dir, const char *name)
{
        static char bufs[4][256];
        static unsigned next;
        char *b = bufs[next++ % ELEMENTSOF(bufs)];

        ck_assert_int_lt(snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name), (int) sizeof(bufs[0]));
        return b;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void) st;
        (void) ftw;
        return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void setup(void)
{
        snprintf(root, sizeof(root), "%s/t.XXXXXX", top);
        ck_assert_ptr_nonnull(mkdtemp(root));
        ck_assert_int_eq(chmod(root, 0755), 0);
        snprintf(sd, sizeof(sd), "%s/sudoers.d", root);
        snprintf(aux, sizeof(aux), "%s/aux", root);
        ck_assert_int_eq(mkdir(sd, 0755), 0);
        ck_assert_int_eq(chmod(sd, 0755), 0);
        ck_assert_int_eq(mkdir(aux, 0755), 0);
}

static void teardown(void)
{
        if (!root[0])
                return;
        /* Only mounted if test_install_enospc failed half-way. */
        umount2(path_in(root, "small"), MNT_DETACH);
        nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        root[0] = '\0';
}

/* ---- helpers ---------------------------------------------------------------- */

static void write_file(const char *path, const char *text, mode_t mode)
{
        FILE *f = fopen(path, "w");

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fputs(text, f) >= 0, 1);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_int_eq(chmod(path, mode), 0);
}

static char *slurp(const char *path)
{
        static char buf[8192];
        FILE *f = fopen(path, "r");
        size_t n;

        ck_assert_ptr_nonnull(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

/* Names in dir, sorted, joined by spaces ("" when empty). */
static const char *listing(const char *dir)
{
        static char buf[1024];
        struct dirent **list;
        int n = scandir(dir, &list, NULL, alphasort);

        ck_assert_int_ge(n, 0);
        buf[0] = '\0';
        for (int i = 0; i < n; i++) {
                if (strcmp(list[i]->d_name, ".") && strcmp(list[i]->d_name, "..")) {
                        if (buf[0])
                                strcat(buf, " ");
                        strncat(buf, list[i]->d_name, sizeof(buf) - strlen(buf) - 2);
                }
                free(list[i]);
        }
        free(list);
        return buf;
}

/* A shell script as a stand-in visudo. */
static const char *script(const char *name, const char *body)
{
        const char *p = path_in(aux, name);
        char text[2048];

        snprintf(text, sizeof(text), "#!/bin/sh\n%s\n", body);
        write_file(p, text, 0755);
        return p;
}

static int run_real_visudo(const char *text)
{
        const char *p = path_in(aux, "candidate");
        char cmd[512];
        int st;

        write_file(p, text, 0440);
        snprintf(cmd, sizeof(cmd), REAL_VISUDO " -cf '%s' >/dev/null 2>&1", p);
        st = system(cmd);
        unlink(p);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *runas_root[] = { "root", NULL };
static char *runas_many[] = { "root", "postgres", "www-data", NULL };
static char *cmds_two[] = { "/usr/bin/systemctl", "/usr/bin/journalctl", NULL };
static char *cmds_one[] = { "/usr/bin/systemctl", NULL };
static char *cmds_all[] = { "ALL", NULL };

static void make_grant(struct jit_grant *g, struct role *r)
{
        memset(g, 0, sizeof(*g));
        memset(r, 0, sizeof(*r));
        g->id = 12;
        strcpy(g->user, "alice");
        strcpy(g->role, "web-admin");
        strcpy(g->ticket, "CHG1234");
        g->starts_at = T_START;
        g->expires_at = T_END;
        r->name = (char *) "web-admin";
        r->runas = runas_root;
        r->commands = cmds_two;
        r->nopasswd = true;
}

static const char *install_text(void)
{
        return "# jitd grant 7: test. Managed by jitd; do not edit.\n"
               "alice ALL=(root) NOTBEFORE=20261123140405Z NOTAFTER=20261123150405Z /usr/bin/id\n";
}

/* ---- render: golden ------------------------------------------------------------ */

#define COMMENT "# jitd grant 12: web-admin for alice, ticket CHG1234, until 2026-11-23T15:04:05Z. " \
                "Managed by jitd; do not edit.\n"
#define WINDOW "NOTBEFORE=20261123140405Z NOTAFTER=20261123150405Z"

static const struct golden {
        const char *what;
        char **runas, **commands;
        bool nopasswd;
        const char *ticket;
        const char *want;
} goldens[] = {
        { "brief example", runas_root, cmds_two, true, "CHG1234",
          COMMENT "alice ALL=(root) " WINDOW " NOPASSWD: /usr/bin/systemctl, /usr/bin/journalctl\n" },
        { "single command, password", runas_root, cmds_one, false, "CHG1234",
          COMMENT "alice ALL=(root) " WINDOW " /usr/bin/systemctl\n" },
        { "ALL, nopasswd", runas_root, cmds_all, true, "CHG1234",
          COMMENT "alice ALL=(root) " WINDOW " NOPASSWD: ALL\n" },
        { "ALL, password", runas_root, cmds_all, false, "CHG1234",
          COMMENT "alice ALL=(root) " WINDOW " ALL\n" },
        { "several runas", runas_many, cmds_two, false, "CHG1234",
          COMMENT "alice ALL=(root, postgres, www-data) " WINDOW " /usr/bin/systemctl, /usr/bin/journalctl\n" },
        { "no ticket", runas_root, cmds_one, true, "",
          "# jitd grant 12: web-admin for alice, until 2026-11-23T15:04:05Z. Managed by jitd; do not edit.\n"
          "alice ALL=(root) " WINDOW " NOPASSWD: /usr/bin/systemctl\n" },
        { "ticket with sudoers-looking characters", runas_root, cmds_one, true, "PROJ-1:a/b#2",
          "# jitd grant 12: web-admin for alice, ticket PROJ-1:a/b#2, until 2026-11-23T15:04:05Z. "
          "Managed by jitd; do not edit.\n"
          "alice ALL=(root) " WINDOW " NOPASSWD: /usr/bin/systemctl\n" },
};

START_TEST(test_render_golden)
{
        const struct golden *t = &goldens[_i];
        struct jit_grant g;
        struct role r;
        char *text = NULL;

        make_grant(&g, &r);
        r.runas = t->runas;
        r.commands = t->commands;
        r.nopasswd = t->nopasswd;
        strcpy(g.ticket, t->ticket);
        ck_assert_int_eq(sudoers_render(&g, &r, &text), 0);
        ck_assert_msg(strcmp(text, t->want) == 0, "%s:\n got: %s\nwant: %s", t->what, text, t->want);
        /* Whatever we render, the real sudo must accept. */
        ck_assert_msg(run_real_visudo(text) == 0, "%s: visudo rejected:\n%s", t->what, text);
        free(text);
}
END_TEST

START_TEST(test_render_odd_but_valid_names)
{
        static char *runas[] = { "_svc", "web01$", "a.b-c", NULL };
        static char *cmds[] = { "/usr/bin/g++", "/opt/x-1.2/b_c/Y+z", NULL };
        struct jit_grant g;
        struct role r;
        char *text = NULL;

        make_grant(&g, &r);
        strcpy(g.user, "svc-backup$");
        r.runas = runas;
        r.commands = cmds;
        ck_assert_int_eq(sudoers_render(&g, &r, &text), 0);
        ck_assert_ptr_nonnull(strstr(text, "\nsvc-backup$ ALL=(_svc, web01$, a.b-c) " WINDOW
                                           " NOPASSWD: /usr/bin/g++, /opt/x-1.2/b_c/Y+z\n"));
        ck_assert_int_eq(run_real_visudo(text), 0);
        free(text);
}
END_TEST

/* Window edges: one second, and the last second sudoers can spell. */
START_TEST(test_render_window_edges)
{
        struct jit_grant g;
        struct role r;
        char *text = NULL;

        make_grant(&g, &r);
        g.expires_at = g.starts_at + 1;
        ck_assert_int_eq(sudoers_render(&g, &r, &text), 0);
        ck_assert_ptr_nonnull(strstr(text, "NOTBEFORE=20261123140405Z NOTAFTER=20261123140406Z NOPASSWD:"));
        free(text);
        text = NULL;

        g.starts_at = 1;
        g.expires_at = INT64_C(253402300799);
        ck_assert_int_eq(sudoers_render(&g, &r, &text), 0);
        ck_assert_ptr_nonnull(strstr(text, "NOTBEFORE=19700101000001Z NOTAFTER=99991231235959Z NOPASSWD:"));
        ck_assert_ptr_nonnull(strstr(text, "until 9999-12-31T23:59:59Z."));
        ck_assert_int_eq(run_real_visudo(text), 0);
        free(text);
}
END_TEST

/* ---- render: hostile input ----------------------------------------------------- */

static void expect_einval(const struct jit_grant *g, const struct role *r, const char *what)
{
        char *sentinel = (char *) "untouched", *text = sentinel;

        ck_assert_msg(sudoers_render(g, r, &text) == -EINVAL, "accepted %s", what);
        ck_assert_msg(text == sentinel, "%s: ret_text set on failure", what);
}

static const char *const bad_users[] = {
        "alice ALL=(ALL) ALL", "al\nice", "%wheel", "ALL", "a,b", "a:b", "", "Alice", "+net", "#0",
        "a=b", "a\\b", "root\t", "a(b)", "al ice",
};

START_TEST(test_render_bad_user)
{
        struct jit_grant g;
        struct role r;

        make_grant(&g, &r);
        strcpy(g.user, bad_users[_i]);
        expect_einval(&g, &r, bad_users[_i]);
}
END_TEST

static const char *const bad_runas[] = {
        "root,ALL", "(ALL)", "ALL", "%wheel", "root)", "root : ALL", "root\n", "#0", "",
};

START_TEST(test_render_bad_runas)
{
        char *runas[] = { "root", (char *) bad_runas[_i], NULL };
        struct jit_grant g;
        struct role r;

        make_grant(&g, &r);
        r.runas = runas;
        expect_einval(&g, &r, bad_runas[_i]);
}
END_TEST

static const char *const bad_commands[] = {
        "/bin/sh, ALL", "/usr/bin/vi *", "relative", "/bin/ls\n", "/bin/x:y", "/bin/a=b", "!/bin/sh",
        "/usr/bin/", "/", "", "sudoedit", "/bin/ls -l", "/bin/a\\,b", "/bin/[a]", "/bin/a?", "/bin/a\"",
        "/bin/a#b", "/bin/é", "ALL ", "all",
};

START_TEST(test_render_bad_command)
{
        char *cmds[] = { "/usr/bin/systemctl", (char *) bad_commands[_i], NULL };
        char *alone[] = { (char *) bad_commands[_i], NULL };
        struct jit_grant g;
        struct role r;

        make_grant(&g, &r);
        r.commands = cmds;
        expect_einval(&g, &r, bad_commands[_i]);
        r.commands = alone;
        expect_einval(&g, &r, bad_commands[_i]);
}
END_TEST

/* A recorded grant: the rule logs what the mode says, and the user's
 * Defaults send sudo's I/O log to the grant's directory; visudo accepts both. */
START_TEST(test_render_recorded)
{
        static const char *const defaults =
                "Defaults:alice iolog_dir=/var/log/jit/sessions/12/sudo, iolog_file=%{seq}, !ignore_iolog_errors, "
                "iolog_mode=0600, iolog_user=root, iolog_group=root, compress_io\n";
        static const struct {
                enum record_mode mode;
                char **commands;
                bool nopasswd;
                const char *rule;
        } t[] = {
                { RECORD_ALL, cmds_all, true, "alice ALL=(root) " WINDOW " NOPASSWD: LOG_INPUT: LOG_OUTPUT: ALL\n" },
                { RECORD_OUTPUT, cmds_all, false, "alice ALL=(root) " WINDOW " NOLOG_INPUT: LOG_OUTPUT: ALL\n" },
                { RECORD_ALL, cmds_two, false, "alice ALL=(root) " WINDOW
                  " LOG_INPUT: LOG_OUTPUT: /usr/bin/systemctl, /usr/bin/journalctl\n" },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                struct jit_grant g;
                struct role r;
                char *text = NULL, *want = NULL;

                make_grant(&g, &r);
                r.runas = runas_root;
                r.commands = t[i].commands;
                r.nopasswd = t[i].nopasswd;
                ck_assert_int_eq(sudoers_render_recorded(&g, &r, t[i].mode, "/var/log/jit/sessions/12/sudo", &text), 0);
                ck_assert_int_ge(asprintf(&want, "%s%s%s", COMMENT, defaults, t[i].rule), 0);
                ck_assert_msg(strcmp(text, want) == 0, "got:\n%s\nwant:\n%s", text, want);
                ck_assert_msg(run_real_visudo(text) == 0, "visudo rejected:\n%s", text);
                free(want);
                free(text);
        }
}
END_TEST

/* RECORD_NONE renders exactly what sudoers_render does; a bad directory or
 * mode renders nothing. */
START_TEST(test_render_recorded_edges)
{
        static const char *const bad_dirs[] = {
                NULL, "", "relative", "/var/log/%{user}", "/a b", "/a,b", "/a\"b", "/a/../etc", "/a:b", "/a=b",
        };
        struct jit_grant g;
        struct role r;
        char *a = NULL, *b = NULL;

        make_grant(&g, &r);
        ck_assert_int_eq(sudoers_render(&g, &r, &a), 0);
        ck_assert_int_eq(sudoers_render_recorded(&g, &r, RECORD_NONE, NULL, &b), 0);
        ck_assert_str_eq(a, b);
        ck_assert_ptr_null(strstr(a, "LOG_"));
        ck_assert_ptr_null(strstr(a, "iolog"));
        free(a);
        free(b);
        for (size_t i = 0; i < ELEMENTSOF(bad_dirs); i++) {
                char *text = NULL;

                ck_assert_msg(sudoers_render_recorded(&g, &r, RECORD_ALL, bad_dirs[i], &text) == -EINVAL, "%s",
                              bad_dirs[i] ? bad_dirs[i] : "(null)");
                ck_assert_ptr_null(text);
        }
        ck_assert_int_eq(sudoers_render_recorded(&g, &r, (enum record_mode) 7, "/var/log/x", &a), -EINVAL);
}
END_TEST

START_TEST(test_render_bad_other)
{
        static char *all_and_more[] = { "ALL", "/bin/ls", NULL };
        static char *more_and_all[] = { "/bin/ls", "ALL", NULL };
        static char *empty[] = { NULL };
        struct jit_grant g;
        struct role r;
        char *text = NULL;

        make_grant(&g, &r);
        strcpy(g.ticket, "CHG1\nalice ALL=(ALL) NOPASSWD: ALL");
        expect_einval(&g, &r, "ticket with a newline");
        make_grant(&g, &r);
        strcpy(g.ticket, "CHG1 x");
        expect_einval(&g, &r, "ticket with a space");
        make_grant(&g, &r);
        strcpy(g.ticket, "CHG1\\");
        expect_einval(&g, &r, "ticket ending in a backslash (line continuation)");

        make_grant(&g, &r);
        strcpy(g.role, "web\nadmin");
        r.name = g.role;
        expect_einval(&g, &r, "role with a newline");
        make_grant(&g, &r);
        strcpy(g.role, "db-admin");
        expect_einval(&g, &r, "grant role differing from the role");
        make_grant(&g, &r);
        r.name = NULL;
        expect_einval(&g, &r, "role without a name");

        make_grant(&g, &r);
        g.expires_at = g.starts_at;
        expect_einval(&g, &r, "expires_at == starts_at");
        g.expires_at = g.starts_at - 1;
        expect_einval(&g, &r, "expires_at < starts_at");
        make_grant(&g, &r);
        g.starts_at = 0;
        expect_einval(&g, &r, "starts_at 0");
        g.starts_at = -5;
        expect_einval(&g, &r, "negative starts_at");
        make_grant(&g, &r);
        g.expires_at = INT64_C(253402300800);
        expect_einval(&g, &r, "year 10000");
        g.expires_at = INT64_MAX;
        expect_einval(&g, &r, "INT64_MAX");

        make_grant(&g, &r);
        g.id = 0;
        expect_einval(&g, &r, "id 0");
        g.id = -3;
        expect_einval(&g, &r, "negative id");

        make_grant(&g, &r);
        r.commands = all_and_more;
        expect_einval(&g, &r, "ALL with more");
        r.commands = more_and_all;
        expect_einval(&g, &r, "more with ALL");
        r.commands = empty;
        expect_einval(&g, &r, "no commands");
        r.commands = NULL;
        expect_einval(&g, &r, "NULL commands");
        make_grant(&g, &r);
        r.runas = empty;
        expect_einval(&g, &r, "no runas");
        r.runas = NULL;
        expect_einval(&g, &r, "NULL runas");

        /* A field without its NUL must not be read past its end. */
        make_grant(&g, &r);
        memset(g.user, 'a', sizeof(g.user));
        expect_einval(&g, &r, "unterminated user");
        make_grant(&g, &r);
        memset(g.ticket, 'A', sizeof(g.ticket));
        expect_einval(&g, &r, "unterminated ticket");

        make_grant(&g, &r);
        ck_assert_int_eq(sudoers_render(NULL, &r, &text), -EINVAL);
        ck_assert_int_eq(sudoers_render(&g, NULL, &text), -EINVAL);
        ck_assert_int_eq(sudoers_render(&g, &r, NULL), -EINVAL);
}
END_TEST

/* ---- directory checks ------------------------------------------------------------ */

START_TEST(test_dir_check)
{
        const char *link = path_in(root, "link");
        const char *file = path_in(root, "file");

        ck_assert_int_eq(sudoers_dir_check(sd), 0);
        ck_assert_int_eq(chmod(sd, 0750), 0);
        ck_assert_int_eq(sudoers_dir_check(sd), 0);

        ck_assert_int_eq(chmod(sd, 0775), 0);
        ck_assert_int_eq(sudoers_dir_check(sd), -EPERM);
        ck_assert_int_eq(chmod(sd, 0757), 0);
        ck_assert_int_eq(sudoers_dir_check(sd), -EPERM);
        ck_assert_int_eq(chmod(sd, 01777), 0);
        ck_assert_int_eq(sudoers_dir_check(sd), -EPERM);
        ck_assert_int_eq(chmod(sd, 0755), 0);
        ck_assert_int_eq(chown(sd, 65534, 0), 0);
        ck_assert_int_eq(sudoers_dir_check(sd), -EPERM);
        ck_assert_int_eq(chown(sd, 0, 0), 0);

        ck_assert_int_eq(symlink(sd, link), 0);
        ck_assert_int_eq(sudoers_dir_check(link), -ENOTDIR);
        write_file(file, "x", 0644);
        ck_assert_int_eq(sudoers_dir_check(file), -ENOTDIR);
        ck_assert_int_eq(sudoers_dir_check(path_in(root, "missing")), -ENOENT);
        ck_assert_int_eq(sudoers_dir_check(""), -EINVAL);
        ck_assert_int_eq(sudoers_dir_check(NULL), -EINVAL);
}
END_TEST

/* ---- install --------------------------------------------------------------------- */

START_TEST(test_install_basic)
{
        struct jit_grant g;
        struct role r;
        char *text = NULL;
        struct stat st;

        make_grant(&g, &r);
        ck_assert_int_eq(sudoers_render(&g, &r, &text), 0);
        umask(0777);    /* must not matter */
        ck_assert_int_eq(sudoers_install(sd, g.id, text, REAL_VISUDO), 0);
        umask(022);
        ck_assert_str_eq(listing(sd), "jit-12");
        ck_assert_int_eq(lstat(path_in(sd, "jit-12"), &st), 0);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_uint_eq(st.st_mode & 07777, 0440);
        ck_assert_uint_eq(st.st_uid, 0);
        ck_assert_uint_eq(st.st_gid, 0);
        ck_assert_str_eq(slurp(path_in(sd, "jit-12")), text);

        /* Reinstalling replaces it in place. */
        ck_assert_int_eq(sudoers_install(sd, g.id, install_text(), REAL_VISUDO), 0);
        ck_assert_str_eq(listing(sd), "jit-12");
        ck_assert_str_eq(slurp(path_in(sd, "jit-12")), install_text());
        free(text);
}
END_TEST

START_TEST(test_install_replaces_symlink)
{
        const char *elsewhere = path_in(aux, "somewhere-else");
        struct stat st;

        write_file(elsewhere, "precious\n", 0644);
        ck_assert_int_eq(symlink(elsewhere, path_in(sd, "jit-7")), 0);
        ck_assert_int_eq(sudoers_install(sd, 7, install_text(), REAL_VISUDO), 0);
        ck_assert_int_eq(lstat(path_in(sd, "jit-7"), &st), 0);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_str_eq(slurp(path_in(sd, "jit-7")), install_text());
        ck_assert_str_eq(slurp(elsewhere), "precious\n");
        ck_assert_int_eq(stat(elsewhere, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0644);
        ck_assert_str_eq(listing(sd), "jit-7");

        /* A dangling one, whose target must not be created. */
        ck_assert_int_eq(unlink(path_in(sd, "jit-7")), 0);
        ck_assert_int_eq(symlink(path_in(aux, "nothing-here"), path_in(sd, "jit-7")), 0);
        ck_assert_int_eq(sudoers_install(sd, 7, install_text(), REAL_VISUDO), 0);
        ck_assert_int_eq(access(path_in(aux, "nothing-here"), F_OK), -1);
        ck_assert_int_eq(lstat(path_in(sd, "jit-7"), &st), 0);
        ck_assert(S_ISREG(st.st_mode));
}
END_TEST

START_TEST(test_install_replaces_file)
{
        struct stat st;

        write_file(path_in(sd, "jit-7"), "alice ALL=(ALL) NOPASSWD: ALL\n", 0666);
        ck_assert_int_eq(chown(path_in(sd, "jit-7"), 65534, 65534), 0);
        ck_assert_int_eq(sudoers_install(sd, 7, install_text(), REAL_VISUDO), 0);
        ck_assert_int_eq(lstat(path_in(sd, "jit-7"), &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0440);
        ck_assert_uint_eq(st.st_uid, 0);
        ck_assert_str_eq(slurp(path_in(sd, "jit-7")), install_text());
        ck_assert_str_eq(listing(sd), "jit-7");
}
END_TEST

START_TEST(test_install_refuses_bad_dir)
{
        const char *link = path_in(root, "link");

        ck_assert_int_eq(chmod(sd, 0775), 0);
        ck_assert_int_eq(sudoers_install(sd, 7, install_text(), REAL_VISUDO), -EPERM);
        ck_assert_str_eq(listing(sd), "");
        ck_assert_int_eq(chmod(sd, 0757), 0);
        ck_assert_int_eq(sudoers_install(sd, 7, install_text(), REAL_VISUDO), -EPERM);
        ck_assert_str_eq(listing(sd), "");
        ck_assert_int_eq(chmod(sd, 0755), 0);

        ck_assert_int_eq(symlink(sd, link), 0);
        ck_assert_int_eq(sudoers_install(link, 7, install_text(), REAL_VISUDO), -ENOTDIR);
        ck_assert_str_eq(listing(sd), "");

        ck_assert_int_eq(sudoers_install(path_in(root, "missing"), 7, install_text(), REAL_VISUDO), -ENOENT);
        ck_assert_int_eq(access(path_in(root, "missing"), F_OK), -1);
}
END_TEST

START_TEST(test_install_bad_args)
{
        char *big = malloc(SUDOERS_FILE_MAX + 2);

        ck_assert_ptr_nonnull(big);
        memset(big, '#', SUDOERS_FILE_MAX + 1);
        big[SUDOERS_FILE_MAX + 1] = '\0';
        ck_assert_int_eq(sudoers_install(sd, 0, install_text(), REAL_VISUDO), -EINVAL);
        ck_assert_int_eq(sudoers_install(sd, -1, install_text(), REAL_VISUDO), -EINVAL);
        ck_assert_int_eq(sudoers_install(NULL, 7, install_text(), REAL_VISUDO), -EINVAL);
        ck_assert_int_eq(sudoers_install(sd, 7, NULL, REAL_VISUDO), -EINVAL);
        ck_assert_int_eq(sudoers_install(sd, 7, install_text(), NULL), -EINVAL);
        ck_assert_int_eq(sudoers_install(sd, 7, install_text(), "visudo"), -EINVAL);
        ck_assert_int_eq(sudoers_install(sd, 7, big, REAL_VISUDO), -EFBIG);
        ck_assert_str_eq(listing(sd), "");
        free(big);
}
END_TEST

START_TEST(test_install_visudo_rejects)
{
        const char *no = script("visudo-no", "exit 1");
        const char *bad = "alice ALL=(root) NOPASSWD: NOTAFTER=20261123150405Z /usr/bin/systemctl\n";

        ck_assert_int_eq(sudoers_install(sd, 7, install_text(), no), -EBADMSG);
        ck_assert_str_eq(listing(sd), "");

        /* The real visudo on really broken text (FACTS.md's tag-before-option). */
        ck_assert_int_eq(sudoers_install(sd, 7, bad, REAL_VISUDO), -EBADMSG);
        ck_assert_str_eq(listing(sd), "");
        ck_assert_int_eq(sudoers_install(sd, 7, "alice ALL=(root\n", REAL_VISUDO), -EBADMSG);
        ck_assert_str_eq(listing(sd), "");

        /* A rejected replacement leaves the installed drop-in as it was. */
        ck_assert_int_eq(sudoers_install(sd, 7, install_text(), REAL_VISUDO), 0);
        ck_assert_int_eq(sudoers_install(sd, 7, bad, REAL_VISUDO), -EBADMSG);
        ck_assert_str_eq(listing(sd), "jit-7");
        ck_assert_str_eq(slurp(path_in(sd, "jit-7")), install_text());

        /* Killed by a signal is not "accepted" either. */
        ck_assert_int_eq(sudoers_install(sd, 8, install_text(), script("visudo-kill", "kill -9 $$")), -EBADMSG);
        ck_assert_str_eq(listing(sd), "jit-7");
}
END_TEST

START_TEST(test_install_visudo_unrunnable)
{
        const char *noexec = path_in(aux, "visudo-noexec");

        ck_assert_int_eq(sudoers_install(sd, 7, install_text(), path_in(aux, "no-such-visudo")), -ENOENT);
        ck_assert_str_eq(listing(sd), "");
        write_file(noexec, "#!/bin/sh\nexit 0\n", 0644);
        ck_assert_int_eq(sudoers_install(sd, 7, install_text(), noexec), -EACCES);
        ck_assert_str_eq(listing(sd), "");
        ck_assert_int_eq(sudoers_install(sd, 7, install_text(), aux), -EACCES);
        ck_assert_str_eq(listing(sd), "");
}
END_TEST

START_TEST(test_install_visudo_hangs)
{
        const char *hang = script("visudo-hang", "exec sleep 60");
        int64_t t0 = now_monotonic_ms();

        ck_assert_int_eq(sudoers_install(sd, 7, install_text(), hang), -ETIMEDOUT);
        ck_assert_int_lt(now_monotonic_ms() - t0, 30000);
        ck_assert_str_eq(listing(sd), "");
}
END_TEST

/* What visudo is given: the temp file (named so sudo skips it, already 0440
 * root:root and complete), a clean environment, no descriptor of ours. */
START_TEST(test_install_visudo_sees)
{
        const char *out = path_in(aux, "seen");
        char body[1024], want[256], *seen;
        int leak = open("/dev/null", O_RDONLY);         /* deliberately inheritable */

        ck_assert_int_ge(leak, 3);
        setenv("JIT_TEST_SECRET", "leaked", 1);
        snprintf(body, sizeof(body),
                 "exec >'%s'\n"
                 "echo \"args=$*\"\n"
                 "echo \"base=$(basename \"$4\")\"\n"
                 "stat -c 'mode=%%a owner=%%u:%%g' \"$4\"\n"
                 "cat \"$4\"\n"
                 "echo \"secret=${JIT_TEST_SECRET:-none}\"\n"
                 "echo \"path=$PATH\"\n"
                 "if [ -e /proc/$$/fd/%d ]; then echo fd=leaked; else echo fd=closed; fi\n"
                 "if [ -t 0 ] || [ -n \"$(cat)\" ]; then echo stdin=odd; else echo stdin=null; fi\n"
                 "exit 0",
                 out, leak);
        ck_assert_int_eq(sudoers_install(sd, 42, install_text(), script("visudo-spy", body)), 0);
        unsetenv("JIT_TEST_SECRET");
        close(leak);

        seen = slurp(out);
        snprintf(want, sizeof(want), "args=-c -q -f %s/.jit-42.tmp", sd);
        ck_assert_msg(strncmp(seen, want, strlen(want)) == 0, "%s", seen);
        ck_assert_ptr_nonnull(strstr(seen, "\nbase=.jit-42.tmp"));
        ck_assert_ptr_nonnull(strstr(seen, "\nmode=440 owner=0:0\n"));
        ck_assert_ptr_nonnull(strstr(seen, install_text()));
        ck_assert_ptr_nonnull(strstr(seen, "\nsecret=none\n"));
        ck_assert_ptr_nonnull(strstr(seen, "\npath=/usr/sbin:/usr/bin:/sbin:/bin\n"));
        ck_assert_ptr_nonnull(strstr(seen, "\nfd=closed\n"));
        ck_assert_ptr_nonnull(strstr(seen, "\nstdin=null\n"));
        ck_assert_str_eq(listing(sd), "jit-42");
}
END_TEST

/* A full file system: -ENOSPC, and nothing left behind. The tmpfs is mounted in
 * a private mount namespace when possible, so it cannot outlive the test. */
START_TEST(test_install_enospc)
{
        char small[192], chunk[4096];
        int fd, k;

        snprintf(small, sizeof(small), "%s/small", root);
        ck_assert_int_eq(mkdir(small, 0755), 0);
        if (unshare(CLONE_NEWNS) == 0)
                ck_assert_int_eq(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL), 0);
        if (mount("tmpfs", small, "tmpfs", MS_NOSUID | MS_NODEV, "size=4k,mode=0755") < 0) {
                fprintf(stderr, "check_sudoers: SKIP test_install_enospc: cannot mount a tmpfs: %s\n",
                        strerror(errno));
                return;
        }
        fd = open(path_in(small, "fill"), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        memset(chunk, 'x', sizeof(chunk));
        do
                k = (int) write(fd, chunk, sizeof(chunk));
        while (k > 0);
        ck_assert_int_eq(errno, ENOSPC);
        close(fd);

        ck_assert_int_eq(sudoers_install(small, 7, install_text(), REAL_VISUDO), -ENOSPC);
        ck_assert_str_eq(listing(small), "fill");

        /* Room again: it works, which shows the failure was the space. */
        ck_assert_int_eq(unlink(path_in(small, "fill")), 0);
        ck_assert_int_eq(sudoers_install(small, 7, install_text(), REAL_VISUDO), 0);
        ck_assert_str_eq(listing(small), "jit-7");
        ck_assert_int_eq(umount2(small, MNT_DETACH), 0);
}
END_TEST

/* ---- remove ------------------------------------------------------------------------ */

START_TEST(test_remove)
{
        ck_assert_int_eq(sudoers_install(sd, 7, install_text(), REAL_VISUDO), 0);
        ck_assert_int_eq(sudoers_install(sd, 8, install_text(), REAL_VISUDO), 0);
        ck_assert_int_eq(sudoers_remove(sd, 7), 0);
        ck_assert_str_eq(listing(sd), "jit-8");
        ck_assert_int_eq(sudoers_remove(sd, 7), 0);
        ck_assert_int_eq(sudoers_remove(sd, 12345), 0);
        ck_assert_str_eq(listing(sd), "jit-8");

        /* A symlink is removed itself, its target left alone. */
        write_file(path_in(aux, "target"), "keep\n", 0644);
        ck_assert_int_eq(symlink(path_in(aux, "target"), path_in(sd, "jit-9")), 0);
        ck_assert_int_eq(sudoers_remove(sd, 9), 0);
        ck_assert_str_eq(slurp(path_in(aux, "target")), "keep\n");
        ck_assert_str_eq(listing(sd), "jit-8");

        /* Teardown works even in a directory install would refuse. */
        ck_assert_int_eq(chmod(sd, 0777), 0);
        ck_assert_int_eq(sudoers_remove(sd, 8), 0);
        ck_assert_str_eq(listing(sd), "");
        ck_assert_int_eq(chmod(sd, 0755), 0);

        ck_assert_int_eq(sudoers_remove(path_in(root, "missing"), 7), 0);
        ck_assert_int_eq(sudoers_remove(sd, 0), -EINVAL);
        ck_assert_int_eq(sudoers_remove(NULL, 7), -EINVAL);
}
END_TEST

START_TEST(test_remove_many)
{
        const int64_t ids[] = { 1, 2, 3, 4, 5 };
        int errs[ELEMENTSOF(ids)] = { 7, 7, 7, 7, 7 };
        const int64_t bad[] = { 2, 0 };

        for (int64_t id = 1; id <= 3; id++)
                ck_assert_int_eq(sudoers_install(sd, id, install_text(), REAL_VISUDO), 0);
        ck_assert_int_eq(sudoers_install(sd, 6, install_text(), REAL_VISUDO), 0);
        /* Something that is not a file cannot be unlinked: reported, the
         * others still go. 5 was never there. */
        ck_assert_int_eq(mkdir(path_in(sd, "jit-4"), 0755), 0);
        ck_assert_int_eq(sudoers_remove_many(sd, ids, ELEMENTSOF(ids), errs), 0);
        ck_assert_int_eq(errs[0], 0);
        ck_assert_int_eq(errs[1], 0);
        ck_assert_int_eq(errs[2], 0);
        ck_assert_int_eq(errs[3], -EISDIR);
        ck_assert_int_eq(errs[4], 0);
        ck_assert_str_eq(listing(sd), "jit-4 jit-6");
        ck_assert_int_eq(rmdir(path_in(sd, "jit-4")), 0);

        /* A bad id refuses the whole call before anything is removed. */
        ck_assert_int_eq(sudoers_remove_many(sd, bad, ELEMENTSOF(bad), errs), -EINVAL);
        ck_assert_str_eq(listing(sd), "jit-6");
        ck_assert_int_eq(sudoers_remove_many(path_in(root, "missing"), ids, 1, errs), 0);
        ck_assert_int_eq(sudoers_remove_many(sd, ids, 0, NULL), 0);
        ck_assert_int_eq(sudoers_remove_many(sd, (const int64_t[]) { 6 }, 1, NULL), 0);
        ck_assert_str_eq(listing(sd), "");
}
END_TEST

/* ---- list ------------------------------------------------------------------------ */

START_TEST(test_list)
{
        static const char *const junk[] = {
                "jit-abc", "jit-", "jit-007", "jit-0", "jit-1x", "jit--1", "jit-+5", "jit- 5", "jit-5~",
                ".jit-5.tmpAbCdEfGh", "jit-5.bak", "JIT-5", "xjit-5", "jit-99999999999999999999",
                "jit-9223372036854775808", "README",
        };
        int64_t *ids = NULL;
        size_t n = 99;

        ck_assert_int_eq(sudoers_list(sd, &ids, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_ptr_null(ids);

        for (size_t i = 0; i < ELEMENTSOF(junk); i++)
                write_file(path_in(sd, junk[i]), "x\n", 0440);
        write_file(path_in(sd, "jit-22"), "x\n", 0440);
        write_file(path_in(sd, "jit-3"), "x\n", 0440);
        write_file(path_in(sd, "jit-9223372036854775807"), "x\n", 0440);
        ck_assert_int_eq(symlink("/nonexistent", path_in(sd, "jit-1")), 0);
        ck_assert_int_eq(sudoers_list(sd, &ids, &n), 0);
        ck_assert_uint_eq(n, 4);
        ck_assert_int_eq(ids[0], 1);
        ck_assert_int_eq(ids[1], 3);
        ck_assert_int_eq(ids[2], 22);
        ck_assert_int_eq(ids[3], INT64_MAX);
        free(ids);

        /* Many, to exercise growth. */
        for (int i = 100; i < 200; i++) {
                char name[32];

                snprintf(name, sizeof(name), "jit-%d", i);
                write_file(path_in(sd, name), "x\n", 0440);
        }
        ck_assert_int_eq(sudoers_list(sd, &ids, &n), 0);
        ck_assert_uint_eq(n, 104);
        for (size_t i = 1; i < n; i++)
                ck_assert_int_lt(ids[i - 1], ids[i]);
        free(ids);

        ck_assert_int_eq(sudoers_list(path_in(root, "missing"), &ids, &n), -ENOENT);
        ck_assert_int_eq(sudoers_list(sd, NULL, &n), -EINVAL);
}
END_TEST

/* ---- read ------------------------------------------------------------------------ */

START_TEST(test_read)
{
        struct jit_grant g;
        struct role r;
        char *text = NULL, *back = NULL, *sentinel = (char *) "untouched";

        make_grant(&g, &r);
        ck_assert_int_eq(sudoers_render(&g, &r, &text), 0);
        ck_assert_int_eq(sudoers_install(sd, g.id, text, REAL_VISUDO), 0);
        ck_assert_int_eq(sudoers_read(sd, g.id, &back), 0);
        ck_assert_str_eq(back, text);
        free(back);
        free(text);

        back = sentinel;
        ck_assert_int_eq(sudoers_read(sd, 13, &back), -ENOENT);
        ck_assert_ptr_eq(back, sentinel);

        ck_assert_int_eq(symlink(path_in(sd, "jit-12"), path_in(sd, "jit-14")), 0);
        ck_assert_int_eq(sudoers_read(sd, 14, &back), -ELOOP);
        ck_assert_ptr_eq(back, sentinel);

        ck_assert_int_eq(chmod(path_in(sd, "jit-12"), 0644), 0);
        ck_assert_int_eq(sudoers_read(sd, 12, &back), -EPERM);
        ck_assert_int_eq(chmod(path_in(sd, "jit-12"), 0440), 0);
        ck_assert_int_eq(chown(path_in(sd, "jit-12"), 65534, 0), 0);
        ck_assert_int_eq(sudoers_read(sd, 12, &back), -EPERM);
        ck_assert_int_eq(chown(path_in(sd, "jit-12"), 0, 65534), 0);
        ck_assert_int_eq(sudoers_read(sd, 12, &back), -EPERM);
        ck_assert_int_eq(chown(path_in(sd, "jit-12"), 0, 0), 0);

        /* A FIFO must not hang the daemon; a directory is no drop-in. */
        ck_assert_int_eq(mkfifo(path_in(sd, "jit-15"), 0440), 0);
        ck_assert_int_eq(sudoers_read(sd, 15, &back), -EPERM);
        ck_assert_int_eq(mkdir(path_in(sd, "jit-16"), 0440), 0);
        ck_assert_int_eq(sudoers_read(sd, 16, &back), -EPERM);

        /* Text after a NUL would be invisible to a string comparison. */
        {
                static const char nul[] = "alice ALL=(root) /bin/ls\n\0alice ALL=(ALL) ALL\n";
                int fd = open(path_in(sd, "jit-17"), O_WRONLY | O_CREAT | O_EXCL, 0440);

                ck_assert_int_ge(fd, 0);
                ck_assert_int_eq(write(fd, nul, sizeof(nul) - 1), (ssize_t) sizeof(nul) - 1);
                close(fd);
                ck_assert_int_eq(sudoers_read(sd, 17, &back), -EBADMSG);
        }
        ck_assert_ptr_eq(back, sentinel);

        /* The dir is vetted as for install. */
        ck_assert_int_eq(chmod(sd, 0777), 0);
        ck_assert_int_eq(sudoers_read(sd, 12, &back), -EPERM);
        ck_assert_int_eq(chmod(sd, 0755), 0);
        ck_assert_int_eq(sudoers_read(sd, 0, &back), -EINVAL);
        ck_assert_int_eq(sudoers_read(sd, 12, NULL), -EINVAL);
        ck_assert_ptr_eq(back, sentinel);
}
END_TEST

START_TEST(test_read_size_cap)
{
        char *big = malloc(SUDOERS_FILE_MAX + 2), *back = NULL;

        ck_assert_ptr_nonnull(big);
        memset(big, '#', SUDOERS_FILE_MAX + 1);
        big[SUDOERS_FILE_MAX] = '\0';
        write_file(path_in(sd, "jit-1"), big, 0440);            /* exactly the cap */
        ck_assert_int_eq(sudoers_read(sd, 1, &back), 0);
        ck_assert_uint_eq(strlen(back), SUDOERS_FILE_MAX);
        free(back);
        back = NULL;
        big[SUDOERS_FILE_MAX] = '#';
        big[SUDOERS_FILE_MAX + 1] = '\0';
        write_file(path_in(sd, "jit-2"), big, 0440);            /* one over */
        ck_assert_int_eq(sudoers_read(sd, 2, &back), -EFBIG);
        ck_assert_ptr_null(back);
        /* An empty file reads as "". */
        write_file(path_in(sd, "jit-3"), "", 0440);
        ck_assert_int_eq(sudoers_read(sd, 3, &back), 0);
        ck_assert_str_eq(back, "");
        free(back);
        free(big);
}
END_TEST

static Suite *sudoers_suite(void)
{
        Suite *s = suite_create("sudoers");
        TCase *tc;

        tc = tcase_create("render");
        tcase_set_timeout(tc, 60);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_loop_test(tc, test_render_golden, 0, ELEMENTSOF(goldens));
        tcase_add_test(tc, test_render_odd_but_valid_names);
        tcase_add_test(tc, test_render_window_edges);
        tcase_add_loop_test(tc, test_render_bad_user, 0, ELEMENTSOF(bad_users));
        tcase_add_loop_test(tc, test_render_bad_runas, 0, ELEMENTSOF(bad_runas));
        tcase_add_loop_test(tc, test_render_bad_command, 0, ELEMENTSOF(bad_commands));
        tcase_add_test(tc, test_render_bad_other);
        tcase_add_test(tc, test_render_recorded);
        tcase_add_test(tc, test_render_recorded_edges);
        suite_add_tcase(s, tc);

        tc = tcase_create("files");
        tcase_set_timeout(tc, 60);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_dir_check);
        tcase_add_test(tc, test_install_basic);
        tcase_add_test(tc, test_install_replaces_symlink);
        tcase_add_test(tc, test_install_replaces_file);
        tcase_add_test(tc, test_install_refuses_bad_dir);
        tcase_add_test(tc, test_install_bad_args);
        tcase_add_test(tc, test_install_visudo_rejects);
        tcase_add_test(tc, test_install_visudo_unrunnable);
        tcase_add_test(tc, test_install_visudo_hangs);
        tcase_add_test(tc, test_install_visudo_sees);
        tcase_add_test(tc, test_install_enospc);
        tcase_add_test(tc, test_remove);
        tcase_add_test(tc, test_remove_many);
        tcase_add_test(tc, test_list);
        tcase_add_test(tc, test_read);
        tcase_add_test(tc, test_read_size_cap);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr;
        int failed;

        if (geteuid() != 0) {
                fprintf(stderr, "check_sudoers: must run as root (chown, 0440 root:root files, tmpfs)\n");
                return EXIT_FAILURE;
        }
        strcpy(top, "/tmp/check_sudoers.XXXXXX");
        if (!mkdtemp(top) || chmod(top, 0755) < 0) {
                perror("check_sudoers: mkdtemp");
                return EXIT_FAILURE;
        }
        sr = srunner_create(sudoers_suite());
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        /* Failed tests in forked children skip their teardown. */
        nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
