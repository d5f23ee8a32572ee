/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitd/ticket_sandbox.c: the ticket helper's confinement, tried from inside.
 * Each test forks a child that drops to nobody and loads the filter exactly
 * as the helper does, then attempts one thing; the parent reads how the child
 * ended: killed by SIGSYS, or an exit code saying what the call returned.
 * Needs root (to drop privileges at all); without root the suite is skipped.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ticket_helper.h"
#include "util.h"

static uid_t nobody_uid;
static gid_t nobody_gid;
static char secret[] = "/tmp/jit-sandbox-secret.XXXXXX";

enum { OUT_OK = 0, OUT_FAILED = 10 };   /* exit codes: OUT_FAILED + errno when a call failed */

/* What jitd.service does to jitd before jitd starts the helper: a bounding
 * set of CAP_KILL, CAP_DAC_OVERRIDE, CAP_SETUID and CAP_SETGID (and the
 * permitted set with it), no_new_privs, and a filter of its own that refuses
 * seccomp() with EPERM (@system-service does not list it). */
static int like_jitd_service(void)
{
        static const int keep[] = { CAP_KILL, CAP_DAC_OVERRIDE, CAP_SETUID, CAP_SETGID };
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};
        struct sock_filter f[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = ELEMENTSOF(f), .filter = f };

        for (int cap = 0; cap <= 63; cap++) {
                bool kept = false;

                for (size_t i = 0; i < ELEMENTSOF(keep); i++)
                        kept = kept || keep[i] == cap;
                if (!kept && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return -1;
        }
        for (size_t i = 0; i < ELEMENTSOF(keep); i++)
                d[0].effective = d[0].permitted |= 1u << keep[i];
        if (syscall(SYS_capset, &h, d) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
                return -1;
        return 0;
}

static bool service;

/* Run fn confined; its return is the exit code. -signal when killed. */
static int confined(int (*fn)(void))
{
        char why[256] = "";
        int status = 0;
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                if (service && like_jitd_service() < 0)
                        _exit(98);
                if (ticket_sandbox_drop(nobody_uid, nobody_gid, why, sizeof(why)) < 0 ||
                    ticket_sandbox_seccomp(why, sizeof(why)) < 0) {
                        fprintf(stderr, "sandbox: %s\n", why);
                        _exit(99);
                }
                _exit(fn());
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        if (WIFSIGNALED(status))
                return -WTERMSIG(status);
        return WEXITSTATUS(status);
}

static int result(long r)
{
        return r < 0 ? OUT_FAILED + (errno > 100 ? 100 : errno) : OUT_OK;
}

#define KILLED -SIGSYS

/* ---- what works ---- */

static int do_read_hosts(void)
{
        int fd = open("/etc/hosts", O_RDONLY | O_CLOEXEC);

        return result(fd);
}

static int do_sockets(void)
{
        int a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), b = socket(AF_INET6, SOCK_DGRAM, 0),
            c = socket(AF_UNIX, SOCK_STREAM, 0), d = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);

        return result(a < 0 || b < 0 || c < 0 || d < 0 ? -1 : 0);
}

static void *thread_main(void *arg)
{
        return arg;
}

static int do_thread(void)
{
        pthread_t t;
        void *ret = NULL;

        if (pthread_create(&t, NULL, thread_main, (void *) 42) != 0 || pthread_join(t, &ret) != 0)
                return OUT_FAILED;
        return ret == (void *) 42 ? OUT_OK : OUT_FAILED;
}

static int do_ids(void)
{
        uid_t r, e, s;

        if (getresuid(&r, &e, &s) < 0 || r != nobody_uid || e != nobody_uid || s != nobody_uid)
                return 1;
        if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
                return 2;
        if (getgroups(0, NULL) != 0)
                return 3;
        return OUT_OK;
}

static int do_signal_self(void)
{
        return result(kill(getpid(), 0));
}

START_TEST(test_allowed)
{
        ck_assert_int_eq(confined(do_read_hosts), OUT_OK);
        ck_assert_int_eq(confined(do_sockets), OUT_OK);
        ck_assert_int_eq(confined(do_thread), OUT_OK);
        ck_assert_int_eq(confined(do_ids), OUT_OK);
        ck_assert_int_eq(confined(do_signal_self), OUT_OK);
}
END_TEST

/* ---- what is refused with an error ---- */

static int do_write_tmp(void)
{
        return result(open("/tmp/jit-sandbox-write", O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
}

static int do_rdwr_hosts(void)
{
        return result(open("/etc/hosts", O_RDWR | O_CLOEXEC));
}

static int do_read_secret(void)
{
        return result(open(secret, O_RDONLY | O_CLOEXEC));      /* root's, 0600: like the database */
}

static int do_packet_socket(void)
{
        return result(socket(AF_PACKET, SOCK_RAW, 0));
}

static int do_audit_netlink(void)
{
        return result(socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT));
}

static int do_signal_parent(void)
{
        return result(kill(getppid(), 0));
}

static int do_unlink(void)
{
        return result(unlink("/tmp/jit-sandbox-nothing"));
}

static int do_raise_limit(void)
{
        struct rlimit rl = { 1 << 20, 1 << 20 };

        return result(setrlimit(RLIMIT_NOFILE, &rl));
}

START_TEST(test_refused)
{
        ck_assert_int_eq(confined(do_write_tmp), OUT_FAILED + EACCES);
        ck_assert_int_eq(confined(do_rdwr_hosts), OUT_FAILED + EACCES);
        ck_assert_int_eq(confined(do_read_secret), OUT_FAILED + EACCES);
        ck_assert_int_eq(confined(do_packet_socket), OUT_FAILED + ENOSYS);
        ck_assert_int_eq(confined(do_audit_netlink), OUT_FAILED + ENOSYS);
        ck_assert_int_eq(confined(do_signal_parent), OUT_FAILED + ENOSYS);
        ck_assert_int_eq(confined(do_unlink), OUT_FAILED + EACCES);
        ck_assert_int_eq(confined(do_raise_limit), OUT_FAILED + ENOSYS);
}
END_TEST

/* ---- what kills ---- */

static int do_execve(void)
{
        char *argv[] = { (char *) "/bin/true", NULL };

        return result(execve("/bin/true", argv, NULL));
}

static int do_fork(void)
{
        pid_t p = fork();

        if (p == 0)
                _exit(0);
        return result(p);
}

static int do_ptrace(void)
{
        return result(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
}

static int do_setuid(void)
{
        return result(setuid(0));
}

static int do_setgroups(void)
{
        return result(setgroups(0, NULL));
}

static int do_unshare(void)
{
        return result(unshare(CLONE_NEWUSER));
}

static int do_mount(void)
{
        return result(mount("none", "/tmp", "tmpfs", 0, NULL));
}

static int do_wx(void)
{
        return result(mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
                      MAP_FAILED ? -1 : 0);
}

static int do_mprotect_wx(void)
{
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED)
                return OUT_FAILED;
        return result(mprotect(p, 4096, PROT_READ | PROT_WRITE | PROT_EXEC));
}

static int do_bpf(void)
{
        return result(syscall(SYS_bpf, 0, NULL, 0));
}

static int do_process_vm(void)
{
        return result(syscall(SYS_process_vm_readv, getppid(), NULL, 0, NULL, 0, 0));
}

static int do_keyctl(void)
{
        return result(syscall(SYS_keyctl, 0, 0, 0, 0, 0));
}

START_TEST(test_killed)
{
        static const struct {
                const char *what;
                int (*fn)(void);
        } cases[] = {
                { "execve", do_execve }, { "fork", do_fork }, { "ptrace", do_ptrace }, { "setuid", do_setuid },
                { "setgroups", do_setgroups }, { "unshare", do_unshare }, { "mount", do_mount },
                { "mmap wx", do_wx }, { "mprotect wx", do_mprotect_wx }, { "bpf", do_bpf },
                { "process_vm_readv", do_process_vm }, { "keyctl", do_keyctl },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int r = confined(cases[i].fn);

                ck_assert_msg(r == KILLED, "%s: %d, not killed by SIGSYS", cases[i].what, r);
        }
}
END_TEST

/* Under jitd.service's own limits the helper still gets its sandbox (the
 * filter is loaded through prctl, and kills with SIGSYS). */
START_TEST(test_under_the_service)
{
        service = true;
        ck_assert_int_eq(confined(do_ids), OUT_OK);
        ck_assert_int_eq(confined(do_read_hosts), OUT_OK);
        ck_assert_int_eq(confined(do_thread), OUT_OK);
        ck_assert_int_eq(confined(do_write_tmp), OUT_FAILED + EACCES);
        ck_assert_int_eq(confined(do_execve), KILLED);
        ck_assert_int_eq(confined(do_setuid), KILLED);
        ck_assert_int_eq(confined(do_ptrace), KILLED);
        service = false;
}
END_TEST

START_TEST(test_never_root)
{
        char why[256] = "";

        ck_assert_int_eq(ticket_sandbox_drop(0, nobody_gid, why, sizeof(why)), -EPERM);
        ck_assert_ptr_nonnull(strstr(why, "must not run as root"));
        ck_assert_int_eq(ticket_sandbox_drop(nobody_uid, 0, why, sizeof(why)), -EPERM);
}
END_TEST

int main(void)
{
        struct passwd *pw = getpwnam("nobody");
        bool root = geteuid() == 0;
        Suite *s;
        SRunner *sr;
        TCase *tc;
        int failed, fd;

        if (pw) {
                nobody_uid = pw->pw_uid;
                nobody_gid = pw->pw_gid;
        } else {
                nobody_uid = nobody_gid = 65534;
        }
        s = suite_create("ticket_sandbox");
        tc = tcase_create("sandbox");
        tcase_add_test(tc, test_never_root);
        if (root && pw) {
                fd = mkstemp(secret);
                if (fd < 0 || fchmod(fd, 0600) < 0)
                        return EXIT_FAILURE;
                close(fd);
                tcase_add_test(tc, test_allowed);
                tcase_add_test(tc, test_refused);
                tcase_add_test(tc, test_killed);
                tcase_add_test(tc, test_under_the_service);
        } else {
                printf("# SKIP check_ticket_sandbox: confinement tests need root and a user nobody\n");
        }
        tcase_set_timeout(tc, 30);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        if (root && pw)
                unlink(secret);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
