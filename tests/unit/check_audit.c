/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitd/audit.c keyed (audit_key) and jitd/audit_key.c: an HMAC chain from the
 * audit-key event on, rotation, a key removed and given back, the keyed tail
 * cut off, and the vetting of the key file.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "test_dirs.h"
#include "audit.h"
#include "audit_key.h"
#include "store.h"
#include "util.h"

static char rootdir[200];
static char tmpdir[256];
static char dbdir[300];
static char dbpath[PATH_MAX];

static const char K1[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const char K2[] = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

static void setup(void)
{
        test_subdir(tmpdir, sizeof(tmpdir), rootdir);
        ck_assert_int_eq(chmod(tmpdir, 0755), 0);
        snprintf(dbdir, sizeof(dbdir), "%s/db", tmpdir);
        ck_assert_int_eq(mkdir(dbdir, 0700), 0);
        snprintf(dbpath, sizeof(dbpath), "%s/jitd.db", dbdir);
}

static void teardown(void)
{
        test_remove_dir(tmpdir);
}

/* A chain keyed with the given keys (NULL-terminated; none: plain). */
static struct audit_chain *chain(const char *first, ...)
{
        struct audit_keyring k = { 0 };
        struct audit_chain *c = NULL;
        const char *key = first;
        va_list ap;

        ck_assert_int_eq(audit_chain_new(&c), 0);
        va_start(ap, first);
        while (key) {
                memcpy(k.key[k.n].bytes, key, strlen(key));
                k.key[k.n].len = strlen(key);
                k.n++;
                key = va_arg(ap, const char *);
        }
        va_end(ap);
        if (k.n)
                ck_assert_int_eq(audit_chain_set_keys(c, &k), 0);
        return c;
}

static void append(struct audit_chain *c, struct store *s, const char *event)
{
        struct audit_event e = { .at = 1000, .actor_uid = 0, .grant_id = 7, .details = "{\"reason\":\"x\"}" };

        snprintf(e.actor, sizeof(e.actor), "root");
        ck_assert_int_eq(strcpy_checked(e.event, sizeof(e.event), event), 0);
        ck_assert_int_eq(store_begin(s), 0);
        ck_assert_int_eq(audit_append(c, s, &e), 0);
        ck_assert_int_eq(store_commit(s), 0);
}

static int anchor(struct audit_chain *c, struct store *s)
{
        struct audit_event m;
        int64_t before = -1;

        return audit_anchor(c, s, 1000, &m, &before);
}

static int verify(struct audit_chain *c, struct store *s, char *why, size_t size)
{
        int64_t seq = 0;

        return audit_verify(c, s, &seq, why, size);
}

static struct store *open_store(void)
{
        struct store *s = NULL;

        ck_assert_int_eq(store_open(dbpath, &s), 0);
        return s;
}

static void raw_exec(const char *sql)
{
        sqlite3 *db = NULL;

        ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        sqlite3_busy_timeout(db, 1000);
        ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
}

START_TEST(test_plain_chain_has_no_marker)
{
        struct store *s = open_store();
        struct audit_chain *c = chain(NULL);
        char why[256];

        ck_assert_int_eq(anchor(c, s), 0);
        append(c, s, "requested");
        append(c, s, "approved");
        ck_assert_int_eq(verify(c, s, why, sizeof(why)), 0);
        ck_assert_str_eq(audit_chain_key_id(c), "");
        audit_chain_free(c);
        store_free(s);
}
END_TEST

START_TEST(test_keyed_chain_starts_with_marker)
{
        struct store *s = open_store();
        struct audit_chain *c = chain(K1, NULL), *plain = chain(NULL), *other = chain(K2, NULL);
        char why[256], details[128];
        int64_t seq = 0;

        ck_assert_int_eq(strlen(audit_chain_key_id(c)), AUDIT_KEY_ID_LEN);
        ck_assert_str_ne(audit_chain_key_id(c), audit_chain_key_id(other));
        ck_assert_int_eq(anchor(c, s), 1);
        ck_assert_int_eq(anchor(c, s), 0);      /* once */
        ck_assert_int_eq(store_audit_last_key(s, &seq, details, sizeof(details)), 0);
        ck_assert_int_eq(seq, 1);
        ck_assert_ptr_nonnull(strstr(details, audit_chain_key_id(c)));
        append(c, s, "requested");
        append(c, s, "approved");
        ck_assert_int_eq(verify(c, s, why, sizeof(why)), 0);
        /* Without the key, or with another, it cannot be checked. */
        ck_assert_int_eq(verify(plain, s, why, sizeof(why)), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(why, "no audit_key is configured"));
        ck_assert_int_eq(verify(other, s, why, sizeof(why)), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(why, "does not hold"));
        audit_chain_free(c);
        audit_chain_free(plain);
        audit_chain_free(other);
        store_free(s);
}
END_TEST

START_TEST(test_keyed_edit_found)
{
        struct store *s = open_store();
        struct audit_chain *c = chain(K1, NULL);
        char why[256];
        int64_t seq = 0;

        ck_assert_int_eq(anchor(c, s), 1);
        append(c, s, "requested");
        append(c, s, "approved");
        store_free(s);
        raw_exec("UPDATE audit SET details = '{\"reason\":\"y\"}' WHERE seq = 2");
        s = open_store();
        ck_assert_int_eq(audit_verify(c, s, &seq, why, sizeof(why)), -EBADMSG);
        ck_assert_int_eq(seq, 2);
        audit_chain_free(c);
        store_free(s);
}
END_TEST

/* Someone without the key deletes the marker and everything after it: what
 * is left is a valid plain chain, which a keyed jitd refuses. */
START_TEST(test_keyed_tail_cut_found)
{
        struct store *s = open_store();
        struct audit_chain *plain = chain(NULL), *c = chain(K1, NULL);
        char why[256];

        append(plain, s, "requested");
        append(plain, s, "approved");
        ck_assert_int_eq(anchor(c, s), 1);
        append(c, s, "released");
        ck_assert_int_eq(verify(c, s, why, sizeof(why)), 0);
        store_free(s);
        raw_exec("DELETE FROM audit WHERE seq >= 3");
        s = open_store();
        ck_assert_int_eq(verify(c, s, why, sizeof(why)), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(why, "not chained with the audit key"));
        audit_chain_free(plain);
        audit_chain_free(c);
        store_free(s);
}
END_TEST

START_TEST(test_rotation_keeps_old_events_verifiable)
{
        struct store *s = open_store();
        struct audit_chain *c1 = chain(K1, NULL), *c21 = chain(K2, K1, NULL), *c2 = chain(K2, NULL);
        char why[256];

        ck_assert_int_eq(anchor(c1, s), 1);
        append(c1, s, "requested");
        ck_assert_int_eq(anchor(c21, s), 1);
        append(c21, s, "approved");
        ck_assert_int_eq(verify(c21, s, why, sizeof(why)), 0);
        /* The retired key dropped from the file: its events cannot be checked. */
        ck_assert_int_eq(verify(c2, s, why, sizeof(why)), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(why, audit_chain_key_id(c1)));
        /* The old key alone: the newest events are not chained with it. */
        ck_assert_int_eq(verify(c1, s, why, sizeof(why)), -EBADMSG);
        audit_chain_free(c1);
        audit_chain_free(c21);
        audit_chain_free(c2);
        store_free(s);
}
END_TEST

/* audit_key removed: a plain marker; given back: a keyed one, and the plain
 * stretch between them verifies as plain. */
START_TEST(test_key_removed_and_given_back)
{
        struct store *s = open_store();
        struct audit_chain *c = chain(K1, NULL), *plain = chain(NULL);
        char why[256];

        ck_assert_int_eq(anchor(c, s), 1);
        append(c, s, "requested");
        ck_assert_int_eq(anchor(plain, s), 1);
        append(plain, s, "approved");
        ck_assert_int_eq(verify(plain, s, why, sizeof(why)), -EBADMSG);
        ck_assert_int_eq(anchor(c, s), 1);
        append(c, s, "released");
        ck_assert_int_eq(verify(c, s, why, sizeof(why)), 0);
        audit_chain_free(c);
        audit_chain_free(plain);
        store_free(s);
}
END_TEST

/* A marker with forged details (another key id, or garbage) is an edit. */
START_TEST(test_marker_edit_found)
{
        struct store *s = open_store();
        struct audit_chain *c = chain(K1, NULL);
        char why[256];
        int64_t seq = 0;

        ck_assert_int_eq(anchor(c, s), 1);
        append(c, s, "requested");
        store_free(s);
        raw_exec("UPDATE audit SET details = '{\"key_id\":\"\"}' WHERE seq = 1");
        s = open_store();
        ck_assert_int_eq(audit_verify(c, s, &seq, why, sizeof(why)), -EBADMSG);
        ck_assert_int_eq(seq, 1);
        store_free(s);
        raw_exec("UPDATE audit SET details = '{\"key_id\":\"zz\"}' WHERE seq = 1");
        s = open_store();
        ck_assert_int_eq(audit_verify(c, s, &seq, why, sizeof(why)), -EBADMSG);
        ck_assert_int_eq(seq, 1);
        ck_assert_ptr_nonnull(strstr(why, "edited"));
        audit_chain_free(c);
        store_free(s);
}
END_TEST

static void write_key(const char *path, const char *text, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        ck_assert_int_eq(chmod(path, mode), 0);
}

static int load(const char *path, struct audit_keyring *k, char *why, size_t size)
{
        return audit_keys_load(path, dbpath, k, why, size);
}

START_TEST(test_key_file_vetting)
{
        char keydir[320], path[400], link[400], why[512];
        struct audit_keyring k;

        snprintf(keydir, sizeof(keydir), "%s/keys", tmpdir);
        ck_assert_int_eq(mkdir(keydir, 0700), 0);
        snprintf(path, sizeof(path), "%s/audit.key", keydir);

        write_key(path, "# the current key first\n\n  0123456789abcdef0123456789abcdef  \r\n"
                  "fedcba9876543210fedcba9876543210\n", 0600);
        ck_assert_int_eq(load(path, &k, why, sizeof(why)), 0);
        ck_assert_uint_eq(k.n, 2);
        ck_assert_uint_eq(k.key[0].len, 32);
        ck_assert_int_eq(memcmp(k.key[0].bytes, "0123456789abcdef", 16), 0);
        audit_keys_wipe(&k);

        ck_assert_int_eq(chmod(path, 0640), 0);
        ck_assert_int_eq(load(path, &k, why, sizeof(why)), -EPERM);
        ck_assert_ptr_nonnull(strstr(why, path));
        ck_assert_int_eq(chmod(path, 0604), 0);
        ck_assert_int_eq(load(path, &k, why, sizeof(why)), -EPERM);
        ck_assert_int_eq(chmod(path, 0400), 0);
        ck_assert_int_eq(load(path, &k, why, sizeof(why)), 0);
        ck_assert_int_eq(chown(path, 65534, 0), 0);
        ck_assert_int_eq(load(path, &k, why, sizeof(why)), -EPERM);
        ck_assert_ptr_nonnull(strstr(why, "not by root"));
        ck_assert_int_eq(chown(path, 0, 0), 0);

        write_key(path, "short\n", 0600);
        ck_assert_int_eq(load(path, &k, why, sizeof(why)), -EINVAL);
        ck_assert_ptr_nonnull(strstr(why, ":1:"));
        write_key(path, "# nothing\n\n", 0600);
        ck_assert_int_eq(load(path, &k, why, sizeof(why)), -EINVAL);

        write_key(path, K1, 0600);
        snprintf(link, sizeof(link), "%s/link.key", keydir);
        ck_assert_int_eq(symlink(path, link), 0);
        ck_assert_int_eq(load(link, &k, why, sizeof(why)), -EPERM);
        ck_assert_int_eq(load("relative.key", &k, why, sizeof(why)), -EINVAL);

        /* Next to the database: refused, whatever its mode. */
        snprintf(path, sizeof(path), "%s/audit.key", dbdir);
        write_key(path, K1, 0600);
        ck_assert_int_eq(load(path, &k, why, sizeof(why)), -EPERM);
        ck_assert_ptr_nonnull(strstr(why, "database's directory"));

        /* A directory others can write: the file could be swapped. */
        ck_assert_int_eq(chmod(keydir, 0777), 0);
        snprintf(path, sizeof(path), "%s/audit.key", keydir);
        ck_assert_int_eq(load(path, &k, why, sizeof(why)), -EPERM);
}
END_TEST

/* audit_hash_plain is the very hash audit_append chains with: recomputing
 * each stored event from its fields and the previous hash gives its hash
 * (what jitd/fleet_audit.c does with the fleet's copy); a changed field
 * does not. */
START_TEST(test_hash_plain_recomputes_append)
{
        struct store *s = open_store();
        struct audit_chain *c = chain(NULL);
        struct audit_event e1 = { .at = 1000, .actor_uid = 42, .grant_id = 7, .details = "{\"reason\":\"x\"}" };
        struct audit_event e2 = { .at = 1001, .actor_uid = 0, .grant_id = 0, .details = "{}" };
        struct audit_fields f;
        char out[STORE_HASH_LEN + 1], zeros[STORE_HASH_LEN + 1];

        snprintf(e1.actor, sizeof(e1.actor), "alice");
        snprintf(e1.event, sizeof(e1.event), "requested");
        snprintf(e2.actor, sizeof(e2.actor), "jitd");
        snprintf(e2.event, sizeof(e2.event), "expired");
        ck_assert_int_eq(store_begin(s), 0);
        ck_assert_int_eq(audit_append(c, s, &e1), 0);
        ck_assert_int_eq(audit_append(c, s, &e2), 0);
        ck_assert_int_eq(store_commit(s), 0);
        memset(zeros, '0', STORE_HASH_LEN);
        zeros[STORE_HASH_LEN] = '\0';
        ck_assert_str_eq(e1.prev_hash, zeros);
        f = (struct audit_fields) { .seq = e1.seq, .at = 1000, .actor_uid = 42, .grant_id = 7, .actor = "alice",
                                    .actor_len = 5, .event = "requested", .event_len = 9,
                                    .details = e1.details, .details_len = strlen(e1.details) };
        ck_assert_int_eq(audit_hash_plain(c, zeros, &f, out), 0);
        ck_assert_str_eq(out, e1.hash);
        f = (struct audit_fields) { .seq = e2.seq, .at = 1001, .actor_uid = 0, .grant_id = 0, .actor = "jitd",
                                    .actor_len = 4, .event = "expired", .event_len = 7, .details = "{}",
                                    .details_len = 2 };
        ck_assert_int_eq(audit_hash_plain(c, e1.hash, &f, out), 0);
        ck_assert_str_eq(out, e2.hash);
        f.at = 1002;
        ck_assert_int_eq(audit_hash_plain(c, e1.hash, &f, out), 0);
        ck_assert_str_ne(out, e2.hash);
        ck_assert_int_eq(audit_hash_plain(c, "short", &f, out), -EINVAL);
        audit_chain_free(c);
        store_free(s);
}
END_TEST

START_TEST(test_marker_key)
{
        char id[AUDIT_KEY_ID_LEN + 1];

        ck_assert_int_eq(audit_marker_key("requested", "{}", id), 0);
        ck_assert_int_eq(audit_marker_key("audit-key", "{\"key_id\":\"0123456789abcdef\"}", id), 1);
        ck_assert_str_eq(id, "0123456789abcdef");
        ck_assert_int_eq(audit_marker_key("audit-key", "{\"key_id\":\"\"}", id), 1);
        ck_assert_str_eq(id, "");
        ck_assert_int_eq(audit_marker_key("audit-key", "{\"key_id\":\"XYZ\"}", id), -EBADMSG);
        ck_assert_int_eq(audit_marker_key("audit-key", "{}", id), -EBADMSG);
}
END_TEST

static Suite *audit_suite(void)
{
        Suite *su = suite_create("audit");
        TCase *tc = tcase_create("keyed");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_plain_chain_has_no_marker);
        tcase_add_test(tc, test_keyed_chain_starts_with_marker);
        tcase_add_test(tc, test_keyed_edit_found);
        tcase_add_test(tc, test_keyed_tail_cut_found);
        tcase_add_test(tc, test_rotation_keeps_old_events_verifiable);
        tcase_add_test(tc, test_key_removed_and_given_back);
        tcase_add_test(tc, test_marker_edit_found);
        tcase_add_test(tc, test_key_file_vetting);
        tcase_add_test(tc, test_hash_plain_recomputes_append);
        tcase_add_test(tc, test_marker_key);
        suite_add_tcase(su, tc);
        return su;
}

int main(void)
{
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        SRunner *sr;
        int failed;

        if (snprintf(rootdir, sizeof(rootdir), "%s/check_audit.XXXXXX", base) >= (int) sizeof(rootdir) ||
            !mkdtemp(rootdir)) {
                fprintf(stderr, "check_audit: cannot create a directory under %s\n", base);
                return 1;
        }
        sr = srunner_create(audit_suite());
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        test_remove_dir(rootdir);
        return failed ? 1 : 0;
}
