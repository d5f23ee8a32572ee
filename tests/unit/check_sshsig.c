/* SPDX-License-Identifier: BSD-3-Clause */
/* common/sshsig.c, jitctl/sshsig_sign.c, jitd/sshsig_verify.c: approvals
 * signed and verified by the real ssh-keygen (ed25519 and ecdsa keys made
 * here, an ssh-agent), every way a signature must fail, an allowed_signers
 * file refused before anything runs, and a hung or chatty ssh-keygen (a
 * stand-in) killed within its bound, reaped, and never heard from after a
 * cancel. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "approval_text.h"
#include "sshsig.h"
#include "sshsig_sign.h"
#include "sshsig_verify.h"
#include "test_dirs.h"
#include "util.h"

static char root[64];
static char keys[128], signers[192], signers_dir[128];
static char alice_fp[128], bob_fp[128];
static char fake_sleep[192], fake_marker[192], marker[192], fake_noisy[192], fake_liar[192], fake_two[192];
static char fake_exit255[192], sleep_child[192];
static char text[APPROVAL_TEXT_MAX];

/* ---- fixtures --------------------------------------------------------- */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
        char cmd[2048];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        ck_assert_int_lt(n, (int) sizeof(cmd));
        ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

static char *slurp(const char *path)
{
        char *buf = calloc(1, 65536);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        ck_assert_ptr_nonnull(buf);
        ck_assert_int_ge(fd, 0);
        n = read(fd, buf, 65535);
        ck_assert_int_ge(n, 0);
        close(fd);
        return buf;
}

static void put(const char *path, const char *content, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t) strlen(content));
        close(fd);
        ck_assert_int_eq(chmod(path, mode), 0);
}

/* "ssh-ed25519 AAAA... comment" of a public key, without its newline. */
static char *pubkey(const char *name)
{
        char p[256], *s;

        snprintf(p, sizeof(p), "%s/%s.pub", keys, name);
        s = slurp(p);
        s[strcspn(s, "\n")] = '\0';
        return s;
}

static void fingerprint(const char *name, char *out, size_t size)
{
        char cmd[512], line[512];
        FILE *f;

        snprintf(cmd, sizeof(cmd), "ssh-keygen -lf %s/%s.pub", keys, name);
        f = popen(cmd, "r");
        ck_assert_ptr_nonnull(f);
        ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
        pclose(f);
        /* "256 SHA256:... comment (ED25519)" */
        ck_assert_int_eq(sscanf(line, "%*d %127s", out), 1);
        (void) size;
}

static void fake(char *path, size_t size, const char *name, const char *body)
{
        char content[1024];

        snprintf(path, size, "%s/%s", root, name);
        snprintf(content, sizeof(content), "#!/bin/sh\n%s\n", body);
        put(path, content, 0755);
}

/* Made once, before the tests fork: keys, the allowed_signers file the
 * tests share (they never change it), the stand-ins for ssh-keygen. */
static void make_world(void)
{
        static char *hosts[] = { (char *) "web*", (char *) "db1", NULL };
        struct approval_fields f = {
                .grant = 7, .user = "alice", .role = "web-admin", .hosts = hosts, .duration = 3600,
                .ticket = "CHG-1", .requested = 1700000000, .approver = "bob",
        };
        char content[4096], *a, *b, *t = NULL;

        snprintf(keys, sizeof(keys), "%s/keys", root);
        ck_assert_int_eq(mkdir(keys, 0700), 0);
        sh("ssh-keygen -q -t ed25519 -N '' -C alice@test -f %s/alice", keys);
        sh("ssh-keygen -q -t ecdsa -b 256 -N '' -C bob@test -f %s/bob", keys);
        sh("ssh-keygen -q -t ed25519 -N '' -C carol@test -f %s/carol", keys);
        sh("ssh-keygen -q -t ed25519 -N '' -C dave@test -f %s/dave", keys);
        fingerprint("alice", alice_fp, sizeof(alice_fp));
        fingerprint("bob", bob_fp, sizeof(bob_fp));

        snprintf(signers_dir, sizeof(signers_dir), "%s/etc", root);
        ck_assert_int_eq(mkdir(signers_dir, 0755), 0);
        snprintf(signers, sizeof(signers), "%s/allowed_signers", signers_dir);
        a = pubkey("alice");
        b = pubkey("bob");
        /* carol has a key but is not listed; dave is listed only for the
         * agent test. */
        snprintf(content, sizeof(content),
                 "# approvers of the web fleet\n"
                 "\n"
                 "alice namespaces=\"pam-jit-approval\" %s\n"
                 "  bob,robert namespaces=\"file,pam-jit-approval\" %s\n",
                 a, b);
        free(a);
        free(b);
        a = pubkey("dave");
        snprintf(content + strlen(content), sizeof(content) - strlen(content),
                 "dave NAMESPACES=\"pam-jit-approval\" %s\n", a);
        free(a);
        put(signers, content, 0644);

        snprintf(marker, sizeof(marker), "%s/ran", root);
        snprintf(sleep_child, sizeof(sleep_child), "%s/sleep.child", root);
        {
                char body[512];

                snprintf(body, sizeof(body), "touch %s\nexit 0", marker);
                fake(fake_marker, sizeof(fake_marker), "marker.sh", body);
                /* A hung ssh-keygen with a child of its own: both must go. */
                snprintf(body, sizeof(body), "sleep 60 &\necho $! > %s\nwait", sleep_child);
                fake(fake_sleep, sizeof(fake_sleep), "sleep.sh", body);
        }
        fake(fake_noisy, sizeof(fake_noisy), "noisy.sh", "yes 'Good \"pam-jit-approval\"' | head -c 200000\nsleep 30");
        fake(fake_liar, sizeof(fake_liar), "liar.sh",
             "echo 'Good \"pam-jit-approval\" signature for mallory with ED25519 key SHA256:AAAA'");
        fake(fake_two, sizeof(fake_two), "two.sh",
             "printf -- '-----BEGIN SSH SIGNATURE-----\\nU1NIU0lH\\n-----END SSH SIGNATURE-----\\n'\n"
             "printf -- '-----BEGIN SSH SIGNATURE-----\\nU1NIU0lH\\n-----END SSH SIGNATURE-----\\n'");
        fake(fake_exit255, sizeof(fake_exit255), "exit255.sh",
             "echo 'Good \"pam-jit-approval\" signature for alice with ED25519 key SHA256:AAAA'\nexit 255");

        ck_assert_int_eq(approval_text(&f, &t), 0);
        snprintf(text, sizeof(text), "%s", t);
        free(t);
}

static char *sign_with(const char *key)
{
        char p[256], *sig = NULL;

        snprintf(p, sizeof(p), "%s/%s", keys, key);
        ck_assert_int_eq(sshsig_sign(p, false, text, &sig), 0);
        ck_assert_int_eq(sshsig_armored_check(sig), 0);
        return sig;
}

/* Children of this process, zombies included. */
static int children(void)
{
        DIR *d = opendir("/proc");
        struct dirent *de;
        int n = 0;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d))) {
                char p[300], buf[512], *close_paren;
                int fd, ppid;
                ssize_t k;

                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                snprintf(p, sizeof(p), "/proc/%s/stat", de->d_name);
                fd = open(p, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                k = read(fd, buf, sizeof(buf) - 1);
                close(fd);
                if (k <= 0)
                        continue;
                buf[k] = '\0';
                close_paren = strrchr(buf, ')');
                if (close_paren && sscanf(close_paren + 1, " %*c %d", &ppid) == 1 && ppid == getpid())
                        n++;
        }
        closedir(d);
        return n;
}

/* Gone, or a zombie that is not ours to reap (a grandchild, reparented). */
static bool dead(pid_t pid)
{
        char p[64], buf[512], *c;
        int fd;
        ssize_t k;

        snprintf(p, sizeof(p), "/proc/%d/stat", (int) pid);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return true;
        k = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (k <= 0)
                return true;
        buf[k] = '\0';
        c = strrchr(buf, ')');
        return c && (c[2] == 'Z' || c[2] == 'X');
}

static bool ran(void)
{
        return access(marker, F_OK) == 0;
}

static void use_program(const char *path)
{
        unlink(marker);
        sshsig_set_program(path);
}

/* A directory of its own with an allowed_signers file holding content. */
static void own_signers(char *path, size_t size, const char *content, mode_t mode)
{
        char d[128];

        test_subdir(d, sizeof(d), root);
        ck_assert_int_eq(chmod(d, 0755), 0);
        snprintf(path, size, "%s/allowed_signers", d);
        put(path, content, mode);
}

/* ---- the asynchronous API through a real loop ------------------------ */

struct outcome {
        int calls;
        int r;
        struct sshsig_result res;
        int ticks;
};

static void on_done(int r, const struct sshsig_result *res, void *userdata)
{
        struct outcome *o = userdata;

        o->calls++;
        o->r = r;
        o->res = *res;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct outcome *o = userdata;

        o->ticks++;
        (void) sd_event_source_set_time(s, usec + 100 * 1000);
        return 0;
}

/* Runs the loop until the callback came or max_ms passed; a 100 ms timer
 * ticks meanwhile, to show that the loop was never held up. */
static void loop_for(sd_event *e, struct outcome *o, int max_ms, bool until_done)
{
        sd_event_source *tick = NULL;
        uint64_t now;
        int64_t end = now_monotonic_ms() + max_ms;

        ck_assert_int_ge(sd_event_now(e, CLOCK_MONOTONIC, &now), 0);
        ck_assert_int_ge(sd_event_add_time(e, &tick, CLOCK_MONOTONIC, now + 100 * 1000, 1000, on_tick, o), 0);
        ck_assert_int_ge(sd_event_source_set_enabled(tick, SD_EVENT_ON), 0);
        while (now_monotonic_ms() < end && !(until_done && o->calls > 0))
                ck_assert_int_ge(sd_event_run(e, 50 * 1000), 0);
        sd_event_source_disable_unref(tick);
}

static int verify_async(const char *allowed, const char *principal, const char *t, const char *sig,
                        struct outcome *o)
{
        struct sshsig_job *j = NULL;
        sd_event *e = NULL;
        int r;

        memset(o, 0, sizeof(*o));
        ck_assert_int_ge(sd_event_new(&e), 0);
        r = sshsig_verify_start(e, allowed, principal, t, sig, on_done, o, &j);
        if (r < 0) {
                ck_assert_ptr_null(j);
                sd_event_unref(e);
                return r;
        }
        loop_for(e, o, 15000, true);
        ck_assert_int_eq(o->calls, 1);
        sshsig_job_cancel(j);
        sd_event_unref(e);
        ck_assert_int_eq(children(), 0);
        return o->r;
}

/* ---- signing and verifying for real ----------------------------------- */

START_TEST(test_good_ed25519)
{
        struct sshsig_result res;
        struct outcome o;
        char *sig = sign_with("alice");

        ck_assert_int_eq(sshsig_verify_sync(signers, "alice", text, sig, &res), 0);
        ck_assert_str_eq(res.fingerprint, alice_fp);
        ck_assert_str_eq(res.key_type, "ED25519");
        ck_assert_int_eq(verify_async(signers, "alice", text, sig, &o), 0);
        ck_assert_str_eq(o.res.fingerprint, alice_fp);
        ck_assert_str_eq(o.res.key_type, "ED25519");
        ck_assert_int_eq(children(), 0);
        free(sig);
}
END_TEST

START_TEST(test_good_ecdsa_second_name)
{
        struct sshsig_result res;
        struct outcome o;
        char *sig = sign_with("bob");

        ck_assert_int_eq(sshsig_verify_sync(signers, "bob", text, sig, &res), 0);
        ck_assert_str_eq(res.fingerprint, bob_fp);
        ck_assert_str_eq(res.key_type, "ECDSA");
        /* "bob,robert": either name of the line. */
        ck_assert_int_eq(verify_async(signers, "robert", text, sig, &o), 0);
        ck_assert_str_eq(o.res.fingerprint, bob_fp);
        free(sig);
}
END_TEST

START_TEST(test_text_changed)
{
        char *sig = sign_with("alice"), changed[sizeof(text) + 1];
        struct sshsig_result res;
        struct outcome o;

        /* One byte anywhere: the duration 3600 becomes 3601, or one more
         * newline at the end. */
        snprintf(changed, sizeof(changed), "%s", text);
        changed[strstr(changed, "duration 3600") - changed + strlen("duration 360")] = '1';
        ck_assert_int_eq(sshsig_verify_sync(signers, "alice", changed, sig, &res), -EBADMSG);
        ck_assert_str_eq(res.fingerprint, "");
        ck_assert_str_ne(res.detail, "");
        ck_assert_int_eq(verify_async(signers, "alice", changed, sig, &o), -EBADMSG);
        ck_assert_str_eq(o.res.fingerprint, "");
        snprintf(changed, sizeof(changed), "%s\n", text);
        ck_assert_int_eq(sshsig_verify_sync(signers, "alice", changed, sig, NULL), -EBADMSG);
        free(sig);
}
END_TEST

START_TEST(test_other_principal)
{
        char *sig = sign_with("alice");
        struct outcome o;

        /* bob is listed, with his own key: alice's signature is not his. */
        ck_assert_int_eq(sshsig_verify_sync(signers, "bob", text, sig, NULL), -EBADMSG);
        ck_assert_int_eq(verify_async(signers, "bob", text, sig, &o), -EBADMSG);
        free(sig);
}
END_TEST

START_TEST(test_other_namespace)
{
        struct sshsig_result res;
        struct outcome o;
        char p[256], *sig;

        /* alice's own key, over the very text, for git or "file": not an
         * approval. */
        snprintf(p, sizeof(p), "%s/file.sig", root);
        sh("printf '%%s' '%s' | ssh-keygen -Y sign -n file -f %s/alice > %s 2>/dev/null", text, keys, p);
        sig = slurp(p);
        ck_assert_int_eq(sshsig_armored_check(sig), 0);
        ck_assert_int_eq(sshsig_verify_sync(signers, "alice", text, sig, &res), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(res.detail, "namespace"));
        ck_assert_int_eq(verify_async(signers, "alice", text, sig, &o), -EBADMSG);
        free(sig);
}
END_TEST

START_TEST(test_key_not_listed)
{
        char *sig = sign_with("carol");
        struct sshsig_result res;
        struct outcome o;

        /* carol is in no line: refused before ssh-keygen runs. */
        use_program(fake_marker);
        ck_assert_int_eq(sshsig_verify_sync(signers, "carol", text, sig, &res), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(res.detail, "does not list carol"));
        ck_assert_int_eq(verify_async(signers, "carol", text, sig, &o), -EBADMSG);
        ck_assert(!ran());
        /* carol's key claiming to be alice: ssh-keygen finds no such key. */
        use_program(NULL);
        ck_assert_int_eq(sshsig_verify_sync(signers, "alice", text, sig, NULL), -EBADMSG);
        ck_assert_int_eq(verify_async(signers, "alice", text, sig, &o), -EBADMSG);
        free(sig);
}
END_TEST

START_TEST(test_options_enforced_by_ssh_keygen)
{
        char path[256], content[1024], *a = pubkey("alice"), *sig = sign_with("alice");

        /* The line is alice's, but her key expired: ssh-keygen says no. */
        snprintf(content, sizeof(content), "alice namespaces=\"pam-jit-approval\",valid-before=\"20200101\" %s\n", a);
        own_signers(path, sizeof(path), content, 0644);
        ck_assert_int_eq(sshsig_verify_sync(path, "alice", text, sig, NULL), -EBADMSG);
        snprintf(content, sizeof(content), "alice valid-after=\"20200101\",namespaces=\"pam-jit-approval\" %s\n", a);
        own_signers(path, sizeof(path), content, 0644);
        ck_assert_int_eq(sshsig_verify_sync(path, "alice", text, sig, NULL), 0);
        free(a);
        free(sig);
}
END_TEST

/* ---- garbage in ------------------------------------------------------- */

START_TEST(test_armored_check)
{
        static const char *const bad[] = {
                "",
                "hello",
                "-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n",
                "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----",   /* no final newline */
                "-----BEGIN SSH SIGNATURE-----\r\nU1NIU0lH\r\n-----END SSH SIGNATURE-----\r\n",
                "-----BEGIN SSH SIGNATURE-----\nQUFB\n-----END SSH SIGNATURE-----\n",     /* not SSHSIG */
                "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n\n-----END SSH SIGNATURE-----\n",
                "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH=A\n-----END SSH SIGNATURE-----\n",
                "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH===\n-----END SSH SIGNATURE-----\n",
                "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH AA\n-----END SSH SIGNATURE-----\n",
                "x-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n",
                "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n\n",
                "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n"
                "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n",
                "-----BEGIN SSH SIGNATURE-----\nVersion: 1\nU1NIU0lH\n-----END SSH SIGNATURE-----\n",
        };
        char line[200];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(sshsig_armored_check(bad[i]) == -EBADMSG, "accepted #%zu", i);
        ck_assert_int_eq(sshsig_armored_check(NULL), -EBADMSG);
        ck_assert_int_eq(sshsig_armored_check("-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAA==\n"
                                              "-----END SSH SIGNATURE-----\n"), 0);
        /* A line longer than 76 characters. */
        memset(line, 'A', sizeof(line));
        memcpy(line, "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH", 38);
        snprintf(line + 38 + 70, sizeof(line) - 38 - 70, "\n-----END SSH SIGNATURE-----\n");
        ck_assert_int_eq(sshsig_armored_check(line), -EBADMSG);
}
END_TEST

START_TEST(test_garbage_signature)
{
        static const char junk[] = "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg\n"
                                   "-----END SSH SIGNATURE-----\n";
        char *sig = sign_with("alice"), *two;
        struct sshsig_result res;
        struct outcome o;

        /* Not one armored block: refused without running anything. */
        use_program(fake_marker);
        ck_assert_int_eq(sshsig_verify_sync(signers, "alice", text, "not a signature", &res), -EBADMSG);
        ck_assert_str_ne(res.detail, "");
        ck_assert_int_eq(verify_async(signers, "alice", text, "", &o), -EBADMSG);
        ck_assert_int_eq(asprintf(&two, "%s%s", sig, sig), (int) (2 * strlen(sig)));
        ck_assert_int_eq(sshsig_verify_sync(signers, "alice", text, two, NULL), -EBADMSG);
        ck_assert_int_eq(sshsig_verify_sync(signers, "alice", text, NULL, NULL), -EBADMSG);
        ck_assert(!ran());
        /* Armored, but a cut blob: ssh-keygen itself says no. */
        use_program(NULL);
        ck_assert_int_eq(sshsig_verify_sync(signers, "alice", text, junk, NULL), -EBADMSG);
        ck_assert_int_eq(verify_async(signers, "alice", text, junk, &o), -EBADMSG);
        free(two);
        free(sig);
}
END_TEST

START_TEST(test_bad_arguments)
{
        static const char *const principals[] = { "", "alice,bob", "*", "ali?e", "!alice", "alice bob",
                                                  "alice\n", "al\"ice", "-", NULL };
        char *sig = sign_with("alice"), *big = malloc(SSHSIG_TEXT_MAX + 2), *out = (char *) "untouched";
        struct sshsig_job *j = NULL;
        sd_event *e = NULL;

        ck_assert_ptr_nonnull(big);
        use_program(fake_marker);
        for (size_t i = 0; principals[i]; i++) {
                if (strcmp(principals[i], "-") == 0)
                        continue;       /* a valid principal: only the listing decides */
                ck_assert_msg(sshsig_verify_sync(signers, principals[i], text, sig, NULL) == -EINVAL,
                              "principal '%s' accepted", principals[i]);
        }
        ck_assert_int_eq(sshsig_verify_sync(signers, NULL, text, sig, NULL), -EINVAL);
        ck_assert_int_eq(sshsig_verify_sync(signers, "alice", NULL, sig, NULL), -EINVAL);
        ck_assert_int_eq(sshsig_verify_sync(NULL, "alice", text, sig, NULL), -EINVAL);
        ck_assert_int_eq(sshsig_verify_sync("allowed_signers", "alice", text, sig, NULL), -EINVAL);
        memset(big, 'x', SSHSIG_TEXT_MAX + 1);
        big[SSHSIG_TEXT_MAX + 1] = '\0';
        ck_assert_int_eq(sshsig_verify_sync(signers, "alice", big, sig, NULL), -EINVAL);
        ck_assert_int_eq(sshsig_sign("/nonexistent", false, big, &out), -EINVAL);
        ck_assert_int_eq(sshsig_sign("", false, text, &out), -EINVAL);
        ck_assert_int_eq(sshsig_sign(NULL, false, text, &out), -EINVAL);
        ck_assert_str_eq(out, "untouched");
        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(sshsig_verify_start(e, signers, "alice", text, sig, NULL, NULL, &j), -EINVAL);
        ck_assert_int_eq(sshsig_verify_start(NULL, signers, "alice", text, sig, on_done, NULL, &j), -EINVAL);
        ck_assert_int_eq(sshsig_verify_start(e, signers, "a*", text, sig, on_done, NULL, &j), -EINVAL);
        ck_assert_ptr_null(j);
        sd_event_unref(e);
        ck_assert(!ran());
        ck_assert(sshsig_principal_ok("alice.smith@example.com"));
        ck_assert(sshsig_principal_ok("svc_deploy$"));
        free(big);
        free(sig);
}
END_TEST

/* ---- the allowed_signers file ---------------------------------------- */

/* A good signature by alice verifies against path. */
static void verifies(const char *path)
{
        char *sig = sign_with("alice");

        ck_assert_int_eq(sshsig_verify_sync(path, "alice", text, sig, NULL), 0);
        free(sig);
}

/* The file is refused (r), and nothing ran. */
static void signers_refused(const char *path, int r, const char *why_has)
{
        char *sig = sign_with("alice");
        struct sshsig_result res;
        struct outcome o;

        use_program(fake_marker);
        ck_assert_int_eq(sshsig_verify_sync(path, "alice", text, sig, &res), r);
        if (why_has)
                ck_assert_msg(strstr(res.detail, why_has), "'%s' does not say '%s'", res.detail, why_has);
        ck_assert_int_eq(verify_async(path, "alice", text, sig, &o), r);
        ck_assert(!ran());
        use_program(NULL);
        free(sig);
}

START_TEST(test_signers_writable)
{
        char path[256], *content = slurp(signers);

        own_signers(path, sizeof(path), content, 0666);
        signers_refused(path, -EPERM, "writable by group or others");
        ck_assert_int_eq(chmod(path, 0620), 0);
        signers_refused(path, -EPERM, "writable by group or others");
        ck_assert_int_eq(chmod(path, 0400), 0);
        verifies(path);
        free(content);
}
END_TEST

START_TEST(test_signers_symlink)
{
        char d[128], path[320], dirlink[256];

        test_subdir(d, sizeof(d), root);
        snprintf(path, sizeof(path), "%s/allowed_signers", d);
        ck_assert_int_eq(symlink(signers, path), 0);
        signers_refused(path, -EPERM, "symlink");
        /* Its directory through a symlink. */
        snprintf(dirlink, sizeof(dirlink), "%s/etc-link", d);
        ck_assert_int_eq(symlink(signers_dir, dirlink), 0);
        snprintf(path, sizeof(path), "%s/allowed_signers", dirlink);
        signers_refused(path, -EPERM, "symlink");
}
END_TEST

START_TEST(test_signers_owner_links_kind)
{
        char path[256], link2[300], *content = slurp(signers);

        own_signers(path, sizeof(path), content, 0644);
        ck_assert_int_eq(chown(path, 65534, 65534), 0);
        signers_refused(path, -EPERM, "not by root");
        ck_assert_int_eq(chown(path, 0, 0), 0);
        /* A second name elsewhere could be the one someone else controls. */
        snprintf(link2, sizeof(link2), "%s.2", path);
        ck_assert_int_eq(link(path, link2), 0);
        signers_refused(path, -EPERM, "one link");
        ck_assert_int_eq(unlink(link2), 0);
        verifies(path);
        /* A FIFO, a directory. */
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(mkfifo(path, 0644), 0);
        signers_refused(path, -EPERM, "plain file");
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        signers_refused(path, -EPERM, "plain file");
        ck_assert_int_eq(rmdir(path), 0);
        signers_refused(path, -ENOENT, NULL);
        free(content);
}
END_TEST

START_TEST(test_signers_dir)
{
        char path[256], *content = slurp(signers), *d;

        own_signers(path, sizeof(path), content, 0644);
        d = strndup(path, strrchr(path, '/') - path);
        ck_assert_int_eq(chmod(d, 0777), 0);
        signers_refused(path, -EPERM, "writable by group or others");
        ck_assert_int_eq(chmod(d, 0755), 0);
        ck_assert_int_eq(chown(d, 65534, 0), 0);
        signers_refused(path, -EPERM, "not by root");
        ck_assert_int_eq(chown(d, 0, 0), 0);
        verifies(path);
        free(d);
        free(content);
}
END_TEST

START_TEST(test_signers_too_big)
{
        char path[256];
        int fd;

        own_signers(path, sizeof(path), "", 0644);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(ftruncate(fd, SSHSIG_SIGNERS_MAX + 1), 0);
        close(fd);
        signers_refused(path, -EPERM, "larger than");
}
END_TEST

/* The rules on what the file says, each line alone after a good alice line
 * (or instead of it). */
START_TEST(test_signers_rules)
{
        struct rule {
                const char *line;       /* %s: alice's public key */
                int r;
                const char *why;
        } rules[] = {
                { "alice %s\n", -EPERM, "not limited to namespaces" },
                { "alice namespaces=\"file\" %s\n", -EPERM, "not limited to namespaces" },
                { "alice namespaces=\"*\" %s\n", -EPERM, "not limited to namespaces" },
                { "alice namespaces=\"pam-jit-*\" %s\n", -EPERM, "not limited to namespaces" },
                { "alice namespaces=\"x,pam-jit-approval\" %s\n", 0, NULL },
                { "alice Namespaces=\"pam-jit-approval\" %s\n", 0, NULL },
                { "alice namespaces=pam-jit-approval %s\n", -EPERM, "options" },
                { "alice namespaces=\"pam-jit-approval %s\n", -EPERM, NULL },
                { "alice namespaces=\"pam-jit-approval\",no-touch-required %s\n", -EPERM, "options" },
                { "alice namespaces=\"pam-jit-approval\", %s\n", -EPERM, "options" },
                { "alice namespaces=\"pam-jit-approval\"\n", -EPERM, NULL },
                { "alice namespaces=\"pam-jit-approval\" ssh-dss AAAAB3NzaC1kc3M=\n", -EPERM, "accepted type" },
                { "alice namespaces=\"pam-jit-approval\" ssh-ed25519\n", -EPERM, "no key" },
                { "alice namespaces=\"pam-jit-approval\" ssh-ed25519 AAAA!!\n", -EPERM, "base64" },
                { "* namespaces=\"pam-jit-approval\" %s\n", -EPERM, "pattern" },
                { "al?ce namespaces=\"pam-jit-approval\" %s\n", -EPERM, "pattern" },
                { "alice,bob* namespaces=\"pam-jit-approval\" %s\n", -EPERM, "pattern" },
                { "\"alice\" namespaces=\"pam-jit-approval\" %s\n", -EPERM, "principals" },
                { "alice,,bob namespaces=\"pam-jit-approval\" %s\n", -EPERM, "principals" },
                { "alice namespaces=\"pam-jit-approval\" %s\r\n", -EPERM, "control character" },
                { "hello\n", -EPERM, NULL },
                /* Listed only as a negation, or under another name. */
                { "alice,!alice namespaces=\"pam-jit-approval\" %s\n", -EBADMSG, "does not list alice" },
                { "alicex namespaces=\"pam-jit-approval\" %s\n", -EBADMSG, "does not list alice" },
                { "# alice namespaces=\"pam-jit-approval\" %s\n", -EBADMSG, "does not list alice" },
                /* Comments, blank lines, tabs. */
                { "\n   # a comment\n\talice\tnamespaces=\"pam-jit-approval\"\t%s trailing words\n\n", 0, NULL },
        };
        char *a = pubkey("alice");

        for (size_t i = 0; i < ELEMENTSOF(rules); i++) {
                char content[2048], why[256] = "", path[256];
                int fd = -1, r;

                snprintf(content, sizeof(content), rules[i].line, a);
                own_signers(path, sizeof(path), content, 0644);
                r = sshsig_signers_open(path, "alice", &fd, why, sizeof(why));
                ck_assert_msg(r == rules[i].r, "#%zu: %d, not %d (%s)", i, r, rules[i].r, why);
                if (rules[i].why)
                        ck_assert_msg(strstr(why, rules[i].why), "#%zu: '%s' does not say '%s'", i, why,
                                      rules[i].why);
                if (r == 0) {
                        ck_assert_int_ge(fd, 0);
                        close(fd);
                }
        }
        free(a);
}
END_TEST

/* A certificate authority may carry a pattern: the certificate names the
 * principal. alice, not listed by name, comes through her certificate. */
START_TEST(test_signers_cert_authority)
{
        char path[256], content[2048], p[256], *ca, *sig;
        struct sshsig_result res;

        sh("ssh-keygen -q -t ed25519 -N '' -C ca -f %s/ca", keys);
        sh("ssh-keygen -q -s %s/ca -I alice-cert -n alice,alice@example.com -V -5m:+1h %s/alice.pub", keys, keys);
        ca = pubkey("ca");
        snprintf(content, sizeof(content), "*@example.com,alice cert-authority,namespaces=\"pam-jit-approval\" %s\n",
                 ca);
        own_signers(path, sizeof(path), content, 0644);
        /* Her plain key is not what the CA vouches for. */
        sig = sign_with("alice");
        ck_assert_int_eq(sshsig_verify_sync(path, "alice", text, sig, NULL), -EBADMSG);
        free(sig);
        /* Her certificate (ssh-keygen finds the private key next to it). */
        snprintf(p, sizeof(p), "%s/alice-cert.pub", keys);
        ck_assert_int_eq(sshsig_sign(p, false, text, &sig), 0);
        ck_assert_int_eq(sshsig_verify_sync(path, "alice", text, sig, &res), 0);
        ck_assert_str_eq(res.key_type, "ED25519-CERT");
        ck_assert_str_eq(res.fingerprint, alice_fp);
        ck_assert_int_eq(sshsig_verify_sync(path, "alice@example.com", text, sig, NULL), 0);
        /* The pattern matches carol@example.com, her certificate does not. */
        ck_assert_int_eq(sshsig_verify_sync(path, "carol@example.com", text, sig, &res), -EBADMSG);
        free(sig);
        free(ca);
}
END_TEST

/* What ssh-keygen reads is what was checked: a sealed copy, whatever
 * happens to the file afterwards. And ssh-keygen 9.2 does read
 * -f /dev/fd/N, from a memfd as from the file's own descriptor. */
START_TEST(test_signers_copy_is_what_was_checked)
{
        char path[256], why[256], buf[4096], *content = slurp(signers), *sig = sign_with("alice");
        char *argv[] = { (char *) "ssh-keygen", (char *) "-Y", (char *) "verify", (char *) "-f", (char *) "/dev/fd/4",
                         (char *) "-I", (char *) "alice", (char *) "-n", (char *) JIT_SSHSIG_NAMESPACE,
                         (char *) "-s", (char *) "/dev/fd/3", NULL };
        char *envp[] = { (char *) "PATH=/usr/bin:/bin", NULL };
        struct sshsig_run run = SSHSIG_RUN_INIT;
        struct sshsig_result res;
        int fd = -1, pass[2], in;
        ssize_t n;

        own_signers(path, sizeof(path), content, 0644);
        ck_assert_int_eq(sshsig_signers_open(path, "alice", &fd, why, sizeof(why)), 0);
        put(path, "alice namespaces=\"pam-jit-approval\" ssh-ed25519 AAAA\n", 0644);
        n = pread(fd, buf, sizeof(buf) - 1, 0);
        ck_assert_int_eq(n, (ssize_t) strlen(content));
        buf[n] = '\0';
        ck_assert_str_eq(buf, content);
        ck_assert_int_eq(write(fd, "x", 1), -1);           /* sealed */
        ck_assert_int_eq(errno, EPERM);
        close(fd);

        /* The plain file's descriptor as /dev/fd/4. */
        put(path, content, 0644);
        pass[1] = open(path, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(sshsig_memfd("sig", sig, strlen(sig), &pass[0]), 0);
        ck_assert_int_ge(sshsig_memfd("text", text, strlen(text), &in), 0);
        ck_assert_int_eq(sshsig_run_start(&run, argv, envp, in, pass, 2, SSHSIG_RUN_SETSID), 0);
        close(in);
        close(pass[0]);
        close(pass[1]);
        ck_assert_int_eq(sshsig_run_wait(&run, SSHSIG_VERIFY_TIMEOUT_MS), 0);
        ck_assert_int_eq(sshsig_verify_outcome(&run, "alice", &res), 0);
        ck_assert_str_eq(res.fingerprint, alice_fp);
        sshsig_run_done(&run);
        free(content);
        free(sig);
}
END_TEST

/* ---- a stand-in that hangs, floods, lies or is missing ----------------- */

START_TEST(test_timeout_sync)
{
        char *sig = sign_with("alice"), *child;
        struct sshsig_result res;
        int64_t t0;

        use_program(fake_sleep);
        unlink(sleep_child);
        t0 = now_monotonic_ms();
        ck_assert_int_eq(sshsig_verify_sync(signers, "alice", text, sig, &res), -ETIMEDOUT);
        ck_assert_int_ge(now_monotonic_ms() - t0, SSHSIG_VERIFY_TIMEOUT_MS - 50);
        ck_assert_int_lt(now_monotonic_ms() - t0, SSHSIG_VERIFY_TIMEOUT_MS + 2000);
        ck_assert_ptr_nonnull(strstr(res.detail, "killed"));
        ck_assert_int_eq(children(), 0);
        /* Its own child went with its process group. */
        child = slurp(sleep_child);
        for (int i = 0; i < 100 && !dead(atoi(child)); i++)
                usleep(20 * 1000);
        ck_assert(dead(atoi(child)));
        free(child);
        free(sig);
}
END_TEST

START_TEST(test_timeout_async)
{
        char *sig = sign_with("alice"), *child;
        struct outcome o;
        int64_t t0;

        use_program(fake_sleep);
        unlink(sleep_child);
        t0 = now_monotonic_ms();
        ck_assert_int_eq(verify_async(signers, "alice", text, sig, &o), -ETIMEDOUT);
        ck_assert_int_ge(now_monotonic_ms() - t0, SSHSIG_VERIFY_TIMEOUT_MS - 50);
        ck_assert_int_lt(now_monotonic_ms() - t0, SSHSIG_VERIFY_TIMEOUT_MS + 2000);
        /* The loop went on meanwhile: 100 ms ticks all along. */
        ck_assert_int_ge(o.ticks, 40);
        ck_assert_int_eq(children(), 0);
        child = slurp(sleep_child);
        for (int i = 0; i < 100 && !dead(atoi(child)); i++)
                usleep(20 * 1000);
        ck_assert(dead(atoi(child)));
        free(child);
        free(sig);
}
END_TEST

START_TEST(test_cancel)
{
        char *sig = sign_with("alice");
        struct sshsig_job *j = NULL;
        struct outcome o = { 0 };
        sd_event *e = NULL;

        ck_assert_int_ge(sd_event_new(&e), 0);
        /* A hung one, cancelled while it runs. */
        use_program(fake_sleep);
        ck_assert_int_eq(sshsig_verify_start(e, signers, "alice", text, sig, on_done, &o, &j), 0);
        loop_for(e, &o, 300, false);
        ck_assert_int_eq(children(), 1);
        sshsig_job_cancel(j);
        loop_for(e, &o, 1500, false);
        ck_assert_int_eq(o.calls, 0);
        ck_assert_int_eq(children(), 0);
        /* A real one, cancelled before it could answer. */
        use_program(NULL);
        ck_assert_int_eq(sshsig_verify_start(e, signers, "alice", text, sig, on_done, &o, &j), 0);
        sshsig_job_cancel(j);
        loop_for(e, &o, 1500, false);
        ck_assert_int_eq(o.calls, 0);
        ck_assert_int_eq(children(), 0);
        sshsig_job_cancel(NULL);
        /* Cancelled and the loop freed before it is reaped: no callback, and
         * nothing left behind but what the loop owned. */
        use_program(fake_sleep);
        ck_assert_int_eq(sshsig_verify_start(e, signers, "alice", text, sig, on_done, &o, &j), 0);
        sshsig_job_cancel(j);
        sd_event_unref(e);
        ck_assert_int_eq(o.calls, 0);
        free(sig);
}
END_TEST

/* Two jobs at once, each with its own answer, and a job freed from inside
 * its own callback. */
struct pair {
        struct outcome o;
        struct sshsig_job *j;
};

static void on_done_free(int r, const struct sshsig_result *res, void *userdata)
{
        struct pair *p = userdata;

        on_done(r, res, &p->o);
        sshsig_job_cancel(p->j);
        p->j = NULL;
}

START_TEST(test_two_jobs)
{
        char *a = sign_with("alice"), *b = sign_with("bob");
        struct pair pa = { 0 }, pb = { 0 };
        sd_event *e = NULL;

        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(sshsig_verify_start(e, signers, "alice", text, a, on_done_free, &pa, &pa.j), 0);
        ck_assert_int_eq(sshsig_verify_start(e, signers, "alice", text, b, on_done_free, &pb, &pb.j), 0);
        for (int64_t end = now_monotonic_ms() + 10000; now_monotonic_ms() < end && (!pa.o.calls || !pb.o.calls);)
                ck_assert_int_ge(sd_event_run(e, 100 * 1000), 0);
        ck_assert_int_eq(pa.o.calls, 1);
        ck_assert_int_eq(pb.o.calls, 1);
        ck_assert_int_eq(pa.o.r, 0);
        ck_assert_str_eq(pa.o.res.fingerprint, alice_fp);
        ck_assert_int_eq(pb.o.r, -EBADMSG);
        ck_assert_ptr_null(pa.j);
        ck_assert_ptr_null(pb.j);
        sd_event_unref(e);
        ck_assert_int_eq(children(), 0);
        free(a);
        free(b);
}
END_TEST

START_TEST(test_flood_liar_missing)
{
        char *sig = sign_with("alice");
        struct sshsig_result res;
        struct outcome o;
        int64_t t0 = now_monotonic_ms();

        /* More than 16 KiB: killed at once, not after the timeout. */
        use_program(fake_noisy);
        ck_assert_int_eq(sshsig_verify_sync(signers, "alice", text, sig, &res), -EMSGSIZE);
        ck_assert_int_eq(verify_async(signers, "alice", text, sig, &o), -EMSGSIZE);
        ck_assert_int_lt(now_monotonic_ms() - t0, SSHSIG_VERIFY_TIMEOUT_MS);
        ck_assert_int_eq(children(), 0);
        /* "Good" for somebody else, exit 0: not an answer about alice. */
        use_program(fake_liar);
        ck_assert_int_eq(sshsig_verify_sync(signers, "alice", text, sig, &res), -EPROTO);
        ck_assert_str_eq(res.fingerprint, "");
        ck_assert_int_eq(verify_async(signers, "alice", text, sig, &o), -EPROTO);
        /* "Good" for alice, but exit 255: the status decides. */
        use_program(fake_exit255);
        ck_assert_int_eq(sshsig_verify_sync(signers, "alice", text, sig, &res), -EBADMSG);
        ck_assert_str_eq(res.fingerprint, "");
        /* No program at all. */
        use_program("/nonexistent/ssh-keygen");
        ck_assert_int_eq(sshsig_verify_sync(signers, "alice", text, sig, &res), -ENOENT);
        ck_assert_int_eq(verify_async(signers, "alice", text, sig, &o), -ENOENT);
        ck_assert_int_eq(o.calls, 0);
        ck_assert_int_eq(children(), 0);
        free(sig);
}
END_TEST

START_TEST(test_sign_failures)
{
        char p[256], *out = (char *) "untouched";

        snprintf(p, sizeof(p), "%s/nobody", keys);
        ck_assert_int_eq(sshsig_sign(p, false, text, &out), -EPERM);
        snprintf(p, sizeof(p), "%s/alice", keys);
        use_program(fake_two);
        ck_assert_int_eq(sshsig_sign(p, false, text, &out), -EBADMSG);
        use_program(fake_marker);
        ck_assert_int_eq(sshsig_sign(p, false, text, &out), -EBADMSG);       /* exit 0, nothing written */
        use_program(fake_noisy);
        ck_assert_int_eq(sshsig_sign(p, false, text, &out), -EMSGSIZE);
        ck_assert_str_eq(out, "untouched");
        ck_assert_int_eq(children(), 0);
}
END_TEST

/* ---- the approver's key in ssh-agent ---------------------------------- */

START_TEST(test_agent)
{
        char sock[256], p[256], *sig = NULL, *out = (char *) "untouched";
        pid_t agent;
        int status;

        snprintf(sock, sizeof(sock), "%s/agent.sock", root);
        unlink(sock);
        agent = fork();
        ck_assert_int_ge(agent, 0);
        if (agent == 0) {
                execl("/usr/bin/ssh-agent", "ssh-agent", "-D", "-a", sock, (char *) NULL);
                _exit(127);
        }
        for (int i = 0; i < 250 && access(sock, F_OK) < 0; i++)
                usleep(20 * 1000);
        ck_assert_int_eq(access(sock, F_OK), 0);
        setenv("SSH_AUTH_SOCK", sock, 1);
        sh("ssh-add -q %s/dave 2>/dev/null", keys);

        /* The public key's file, the private half in the agent. */
        snprintf(p, sizeof(p), "%s/dave.pub", keys);
        ck_assert_int_eq(sshsig_sign(p, true, text, &sig), 0);
        ck_assert_int_eq(sshsig_verify_sync(signers, "dave", text, sig, NULL), 0);
        free(sig);
        /* -U insists on the agent: alice's key is not in it. */
        snprintf(p, sizeof(p), "%s/alice.pub", keys);
        ck_assert_int_eq(sshsig_sign(p, true, text, &out), -EPERM);
        ck_assert_str_eq(out, "untouched");

        ck_assert_int_eq(kill(agent, SIGTERM), 0);
        ck_assert_int_eq(waitpid(agent, &status, 0), agent);
        unsetenv("SSH_AUTH_SOCK");
        ck_assert_int_eq(children(), 0);
}
END_TEST

int main(void)
{
        Suite *su = suite_create("sshsig");
        TCase *tc = tcase_create("sshsig");
        SRunner *sr;
        int failed;

        if (access("/usr/bin/ssh-keygen", X_OK) < 0) {
                printf("# SKIP /usr/bin/ssh-keygen is not installed\n");
                return 0;
        }
        snprintf(root, sizeof(root), "/tmp/check_sshsig.XXXXXX");
        if (!mkdtemp(root))
                return 1;

        /* Unchecked: once, in this process, before the tests fork. */
        tcase_add_unchecked_fixture(tc, make_world, NULL);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_good_ed25519);
        tcase_add_test(tc, test_good_ecdsa_second_name);
        tcase_add_test(tc, test_text_changed);
        tcase_add_test(tc, test_other_principal);
        tcase_add_test(tc, test_other_namespace);
        tcase_add_test(tc, test_key_not_listed);
        tcase_add_test(tc, test_options_enforced_by_ssh_keygen);
        tcase_add_test(tc, test_armored_check);
        tcase_add_test(tc, test_garbage_signature);
        tcase_add_test(tc, test_bad_arguments);
        tcase_add_test(tc, test_signers_writable);
        tcase_add_test(tc, test_signers_symlink);
        tcase_add_test(tc, test_signers_owner_links_kind);
        tcase_add_test(tc, test_signers_dir);
        tcase_add_test(tc, test_signers_too_big);
        tcase_add_test(tc, test_signers_rules);
        tcase_add_test(tc, test_signers_cert_authority);
        tcase_add_test(tc, test_signers_copy_is_what_was_checked);
        tcase_add_test(tc, test_timeout_sync);
        tcase_add_test(tc, test_timeout_async);
        tcase_add_test(tc, test_cancel);
        tcase_add_test(tc, test_two_jobs);
        tcase_add_test(tc, test_flood_liar_missing);
        tcase_add_test(tc, test_sign_failures);
        tcase_add_test(tc, test_agent);
        suite_add_tcase(su, tc);
        sr = srunner_create(su);
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        test_remove_dir(root);
        return failed ? 1 : 0;
}
