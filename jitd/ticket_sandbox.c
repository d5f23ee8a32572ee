/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ticket helper's confinement. It parses what a remote system sends
 * (HTTP, TLS, JSON), so it runs as a user of its own with nothing a root
 * process has: no supplementary groups, no capabilities, no_new_privs, not
 * dumpable, and a seccomp filter.
 *
 * The filter is an allow-list of what glibc, libcurl, OpenSSL and the name
 * resolver (files, DNS; NSS modules that talk over a local socket) need;
 * anything else fails with ENOSYS (so that a libc falling back to an older
 * call still works), and what a compromised helper would reach for kills it
 * at once: executing anything, tracing or reading other processes, mounts,
 * namespaces, modules, keys, BPF, changing its ids or capabilities; changing
 * files is refused (EACCES). Arguments
 * are checked where that is cheap: clone only for threads, sockets only for
 * IPv4, IPv6, local and routing netlink, files opened read-only, memory never
 * writable and executable at once, signals only to itself, ioctl only to ask
 * how many bytes are waiting or to set non-blocking.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "ticket_helper.h"
#include "util.h"

#ifndef __O_TMPFILE
#define __O_TMPFILE 020000000
#endif

static int fail(char *why, size_t size, int r, const char *what)
{
        snprintf(why, size, "%s: %s", what, strerror(-r));
        return r;
}

/* Capabilities the process holds, effective or permitted. */
static int caps_held(bool *ret)
{
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};

        if (syscall(SYS_capget, &h, d) < 0)
                return -errno;
        *ret = false;
        for (size_t i = 0; i < ELEMENTSOF(d); i++)
                if (d[i].effective || d[i].permitted || d[i].inheritable)
                        *ret = true;
        return 0;
}

int ticket_sandbox_drop(uid_t uid, gid_t gid, char *why, size_t why_size)
{
        struct rlimit zero = { 0, 0 };
        uid_t ru, eu, su;
        gid_t rg, eg, sg;
        bool caps = true;

        if (uid == 0 || gid == 0) {
                snprintf(why, why_size, "the helper must not run as root (uid %u, gid %u)", (unsigned) uid,
                         (unsigned) gid);
                return -EPERM;
        }
        if (chdir("/") < 0)
                return fail(why, why_size, -errno, "chdir /");
        /* jitd needs CAP_SETUID and CAP_SETGID for this (jitd.service). */
        if (setgroups(0, NULL) < 0)
                return fail(why, why_size, -errno, "the ticket helper cannot drop its groups (setgroups)");
        if (setresgid(gid, gid, gid) < 0)
                return fail(why, why_size, -errno, "the ticket helper cannot change its group (setresgid)");
        /* The bounding set too, when CAP_SETPCAP allows: what no later exec
         * could get back. (There is no later exec: seccomp kills it, and
         * no_new_privs would void set-user-ID bits and file capabilities.) */
        for (int cap = 0; cap <= 63; cap++)
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL && errno != EPERM)
                        return fail(why, why_size, -errno, "PR_CAPBSET_DROP");
        (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        if (setresuid(uid, uid, uid) < 0)
                return fail(why, why_size, -errno, "the ticket helper cannot change its user (setresuid)");
        /* Check rather than trust: every id, no groups, no capability, and
         * no way back to root. */
        if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != uid || eu != uid || su != uid ||
            rg != gid || eg != gid || sg != gid || getgroups(0, NULL) != 0) {
                snprintf(why, why_size, "the helper's ids did not change as asked");
                return -EPERM;
        }
        if (caps_held(&caps) < 0 || caps) {
                snprintf(why, why_size, "the helper still holds capabilities");
                return -EPERM;
        }
        if (setuid(0) == 0 || setgid(0) == 0) {
                snprintf(why, why_size, "the helper could become root again");
                return -EPERM;
        }
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return fail(why, why_size, -errno, "PR_SET_NO_NEW_PRIVS");
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return fail(why, why_size, -errno, "PR_SET_DUMPABLE");
        if (setrlimit(RLIMIT_CORE, &zero) < 0 || setrlimit(RLIMIT_FSIZE, &zero) < 0)
                return fail(why, why_size, -errno, "setrlimit");
        return 0;
}

/* Allowed whatever the arguments. */
static const char *const allowed[] = {
        /* memory, threads, signals to itself, time */
        "brk", "munmap", "mremap", "madvise", "membarrier", "futex", "futex_waitv", "set_robust_list",
        "get_robust_list", "rseq", "set_tid_address", "exit", "exit_group", "rt_sigaction", "rt_sigprocmask",
        "rt_sigreturn", "rt_sigpending", "rt_sigtimedwait", "sigaltstack", "restart_syscall", "sched_yield",
        "sched_getaffinity", "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid",
        "getresuid", "getresgid", "getgroups", "getrandom", "clock_gettime", "clock_getres", "clock_nanosleep",
        "nanosleep", "gettimeofday", "time", "uname", "sysinfo", "getrusage", "getcwd", "arch_prctl",
        /* descriptors it has or makes */
        "read", "readv", "pread64", "preadv", "preadv2", "write", "writev", "pwrite64", "close", "close_range",
        "dup", "dup3", "fcntl", "lseek", "fstat", "fstatfs", "newfstatat", "statx", "stat", "lstat", "statfs",
        "access", "faccessat", "faccessat2", "readlink", "readlinkat", "getdents64", "pipe2", "eventfd2",
        /* the event loop */
        "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll", "select",
        "pselect6", "timerfd_create", "timerfd_settime", "timerfd_gettime",
        /* the network */
        "connect", "bind", "listen", "getsockname", "getpeername", "setsockopt", "getsockopt", "shutdown",
        "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
};

/* Kill the process: nothing the helper does needs them, and each is a step
 * out of the sandbox. */
static const char *const fatal[] = {
        "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise",
        "pidfd_getfd", "pidfd_open", "kcmp", "mount", "umount2", "mount_setattr", "move_mount", "open_tree",
        "fsopen", "fsconfig", "fsmount", "fspick", "pivot_root", "chroot", "setns", "unshare", "kexec_load",
        "kexec_file_load", "bpf", "perf_event_open", "userfaultfd", "init_module", "finit_module",
        "delete_module", "reboot", "swapon", "swapoff", "acct", "keyctl", "add_key", "request_key",
        "open_by_handle_at", "name_to_handle_at", "setuid", "setgid", "setreuid", "setregid", "setresuid",
        "setresgid", "setfsuid", "setfsgid", "setgroups", "capset", "personality", "iopl", "ioperm",
        "quotactl", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname",
        "setdomainname", "syslog", "vhangup", "uselib", "lookup_dcookie", "fanotify_init", "fork", "vfork",
};

/* Refused with EACCES: changing files (the helper only reads: CA store,
 * resolv.conf, hosts, NSS modules). RLIMIT_FSIZE 0 stops writes anyway. */
static const char *const refused[] = {
        "memfd_create", "mknod", "mknodat", "chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown",
        "fchownat", "link", "linkat", "symlink", "symlinkat", "rename", "renameat", "renameat2", "unlink",
        "unlinkat", "mkdir", "mkdirat", "rmdir", "truncate", "ftruncate", "creat", "utimensat", "utimes",
        "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
};

static int rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n, const struct scmp_arg_cmp *a)
{
        int nr = seccomp_syscall_resolve_name(name);

        if (nr == __NR_SCMP_ERROR)
                return 0;               /* not a system call on this architecture */
        return seccomp_rule_add_array(ctx, action, nr, n, a);
}

/* KILL_PROCESS needs the seccomp() system call, which a service manager's
 * own filter may refuse (systemd's @system-service does not list it; then
 * libseccomp loads through prctl): SIGSYS instead, which ends the process
 * just as well, there being no handler. The call never runs either way. */
static uint32_t fatal_action(void)
{
        return seccomp_api_get() >= 3 ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_TRAP;
}

static int add_rules(scmp_filter_ctx ctx, uint32_t kill)
{
        const uint64_t wx = PROT_WRITE | PROT_EXEC;
        const uint64_t open_write = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | __O_TMPFILE;
        const uint32_t eacces = SCMP_ACT_ERRNO(EACCES);
        const pid_t self = getpid();
        int r = 0;

        for (size_t i = 0; i < ELEMENTSOF(allowed) && r == 0; i++)
                r = rule(ctx, SCMP_ACT_ALLOW, allowed[i], 0, NULL);
        for (size_t i = 0; i < ELEMENTSOF(fatal) && r == 0; i++)
                r = rule(ctx, kill, fatal[i], 0, NULL);
        for (size_t i = 0; i < ELEMENTSOF(refused) && r == 0; i++)
                r = rule(ctx, eacces, refused[i], 0, NULL);
        if (r < 0)
                return r;

        /* Threads (curl's resolver) but no new process. clone3 hides its
         * flags in memory seccomp cannot read: it gets the default, ENOSYS,
         * which makes glibc use clone. */
        r = rule(ctx, SCMP_ACT_ALLOW, "clone", 1,
                 (struct scmp_arg_cmp[]) { SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD) });
        if (r == 0)
                r = rule(ctx, kill, "clone", 1,
                         (struct scmp_arg_cmp[]) { SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0) });

        /* Memory: never writable and executable at once. */
        for (unsigned i = 0; i < 3 && r == 0; i++) {
                uint64_t v = i == 0 ? 0 : i == 1 ? PROT_WRITE : PROT_EXEC;

                r = rule(ctx, SCMP_ACT_ALLOW, "mmap", 1,
                         (struct scmp_arg_cmp[]) { SCMP_A2(SCMP_CMP_MASKED_EQ, wx, v) });
                if (r == 0)
                        r = rule(ctx, SCMP_ACT_ALLOW, "mprotect", 1,
                                 (struct scmp_arg_cmp[]) { SCMP_A2(SCMP_CMP_MASKED_EQ, wx, v) });
        }
        if (r == 0)
                r = rule(ctx, kill, "mmap", 1,
                         (struct scmp_arg_cmp[]) { SCMP_A2(SCMP_CMP_MASKED_EQ, wx, wx) });
        if (r == 0)
                r = rule(ctx, kill, "mprotect", 1,
                         (struct scmp_arg_cmp[]) { SCMP_A2(SCMP_CMP_MASKED_EQ, wx, wx) });

        /* Files: read-only (CA store, resolv.conf, hosts, NSS modules). */
        if (r == 0)
                r = rule(ctx, SCMP_ACT_ALLOW, "openat", 1,
                         (struct scmp_arg_cmp[]) { SCMP_A2(SCMP_CMP_MASKED_EQ, open_write, 0) });
        if (r == 0)
                r = rule(ctx, SCMP_ACT_ALLOW, "open", 1,
                         (struct scmp_arg_cmp[]) { SCMP_A1(SCMP_CMP_MASKED_EQ, open_write, 0) });
        for (uint64_t bit = 1; bit && r == 0; bit <<= 1) {
                if (!(open_write & bit))
                        continue;
                r = rule(ctx, eacces, "openat", 1,
                         (struct scmp_arg_cmp[]) { SCMP_A2(SCMP_CMP_MASKED_EQ, bit, bit) });
                if (r == 0)
                        r = rule(ctx, eacces, "open", 1,
                                 (struct scmp_arg_cmp[]) { SCMP_A1(SCMP_CMP_MASKED_EQ, bit, bit) });
        }

        /* Sockets: the ticket system, the resolver, local NSS daemons, and
         * the routing table getaddrinfo reads. */
        {
                static const int domains[] = { AF_INET, AF_INET6, AF_UNIX };

                for (size_t i = 0; i < ELEMENTSOF(domains) && r == 0; i++)
                        r = rule(ctx, SCMP_ACT_ALLOW, "socket", 1,
                                 (struct scmp_arg_cmp[]) { SCMP_A0(SCMP_CMP_EQ, (uint64_t) domains[i], 0) });
                if (r == 0)
                        r = rule(ctx, SCMP_ACT_ALLOW, "socket", 2,
                                 (struct scmp_arg_cmp[]) { SCMP_A0(SCMP_CMP_EQ, AF_NETLINK, 0),
                                                           SCMP_A2(SCMP_CMP_EQ, NETLINK_ROUTE, 0) });
                if (r == 0)
                        r = rule(ctx, SCMP_ACT_ALLOW, "socketpair", 1,
                                 (struct scmp_arg_cmp[]) { SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0) });
        }

        /* Signals: only to itself (abort, a thread's cancellation). */
        if (r == 0)
                r = rule(ctx, SCMP_ACT_ALLOW, "tgkill", 1,
                         (struct scmp_arg_cmp[]) { SCMP_A0(SCMP_CMP_EQ, (uint64_t) self, 0) });
        if (r == 0)
                r = rule(ctx, SCMP_ACT_ALLOW, "kill", 1,
                         (struct scmp_arg_cmp[]) { SCMP_A0(SCMP_CMP_EQ, (uint64_t) self, 0) });

        /* Limits may be read, not raised. */
        if (r == 0)
                r = rule(ctx, SCMP_ACT_ALLOW, "prlimit64", 2,
                         (struct scmp_arg_cmp[]) { SCMP_A0(SCMP_CMP_EQ, 0, 0), SCMP_A2(SCMP_CMP_EQ, 0, 0) });
        if (r == 0)
                r = rule(ctx, SCMP_ACT_ALLOW, "getrlimit", 0, NULL);

        /* ioctl: bytes waiting, non-blocking, and "is this a terminal". */
        {
                static const unsigned long reqs[] = { FIONREAD, FIONBIO, TCGETS };

                for (size_t i = 0; i < ELEMENTSOF(reqs) && r == 0; i++)
                        r = rule(ctx, SCMP_ACT_ALLOW, "ioctl", 1,
                                 (struct scmp_arg_cmp[]) { SCMP_A1(SCMP_CMP_EQ, reqs[i], 0) });
        }

        /* prctl: reading, and naming a thread. */
        {
                static const int opts[] = { PR_GET_NAME, PR_SET_NAME, PR_GET_DUMPABLE, PR_GET_NO_NEW_PRIVS,
                                            PR_CAPBSET_READ, PR_GET_SECCOMP };

                for (size_t i = 0; i < ELEMENTSOF(opts) && r == 0; i++)
                        r = rule(ctx, SCMP_ACT_ALLOW, "prctl", 1,
                                 (struct scmp_arg_cmp[]) { SCMP_A0(SCMP_CMP_EQ, (uint64_t) opts[i], 0) });
        }
        return r;
}

int ticket_sandbox_seccomp(char *why, size_t why_size)
{
        scmp_filter_ctx ctx;
        int r;

        uint32_t kill = fatal_action();

        ctx = seccomp_init(SCMP_ACT_ERRNO(ENOSYS));
        if (!ctx) {
                snprintf(why, why_size, "seccomp_init failed");
                return -ENOMEM;
        }
        /* Another architecture's system calls (i386 through int 0x80, x32)
         * would bypass the names above: they kill. No TSYNC: the helper
         * has one thread here (curl's resolver threads come later, and
         * inherit the filter). */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, kill);
        if (r == 0)
                r = add_rules(ctx, kill);
        if (r == 0)
                r = seccomp_load(ctx);
        seccomp_release(ctx);
        if (r < 0)
                return fail(why, why_size, r, "seccomp");
        return 0;
}
