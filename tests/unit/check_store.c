/* SPDX-License-Identifier: BSD-3-Clause */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "test_dirs.h"
#include "store.h"
#include "audit_helpers.h"

/* Each test gets its own directory under one root that main() removes: a
 * failed test skips its teardown (Check ends the forked child), the root
 * cleanup still runs. */
static char rootdir[200];
static char tmpdir[256];
static char dbpath[PATH_MAX];

static void setup(void)
{
        test_subdir(tmpdir, sizeof(tmpdir), rootdir);
        snprintf(dbpath, sizeof(dbpath), "%s/jitd.db", tmpdir);
}

static void teardown(void)
{
        test_remove_dir(tmpdir);
}

static struct store *open_store(void)
{
        struct store *s = NULL;

        ck_assert_int_eq(store_open(dbpath, &s), 0);
        ck_assert_ptr_nonnull(s);
        return s;
}

/* A second connection, playing the part of someone with write access to the file. */
static sqlite3 *raw_open(void)
{
        sqlite3 *db = NULL;

        ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        sqlite3_busy_timeout(db, 1000);
        return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
        char *err = NULL;
        int rc = sqlite3_exec(db, sql, NULL, NULL, &err);

        ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, err ? err : "?");
        sqlite3_free(err);
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
        sqlite3_stmt *st = NULL;
        int64_t v;

        ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
}

static void raw_text(sqlite3 *db, const char *sql, char *buf, size_t size)
{
        sqlite3_stmt *st = NULL;

        ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        snprintf(buf, size, "%s", (const char *) sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
}

static void make_grant(struct jit_grant *g, const char *user, const char *role, enum grant_state state)
{
        memset(g, 0, sizeof(*g));
        snprintf(g->user, sizeof(g->user), "%s", user);
        g->uid = 1000;
        snprintf(g->host, sizeof(g->host), "web01");
        snprintf(g->role, sizeof(g->role), "%s", role);
        snprintf(g->ticket, sizeof(g->ticket), "CHG1");
        snprintf(g->reason, sizeof(g->reason), "deploy");
        g->duration = 3600;
        g->state = state;
        g->requested_at = 1700000000;
}

static int64_t insert_grant(struct store *s, const char *user, const char *role, enum grant_state state)
{
        struct jit_grant g;

        make_grant(&g, user, role, state);
        ck_assert_int_eq(store_grant_insert(s, &g), 0);
        ck_assert_int_gt(g.id, 0);
        return g.id;
}

static void assert_grant_eq(const struct jit_grant *a, const struct jit_grant *b)
{
        ck_assert_int_eq(a->id, b->id);
        ck_assert_str_eq(a->user, b->user);
        ck_assert_uint_eq(a->uid, b->uid);
        ck_assert_str_eq(a->host, b->host);
        ck_assert_str_eq(a->role, b->role);
        ck_assert_str_eq(a->ticket, b->ticket);
        ck_assert_str_eq(a->reason, b->reason);
        ck_assert_uint_eq(a->duration, b->duration);
        ck_assert_int_eq(a->state, b->state);
        ck_assert_int_eq(a->requested_at, b->requested_at);
        ck_assert_int_eq(a->approved_at, b->approved_at);
        ck_assert_int_eq(a->starts_at, b->starts_at);
        ck_assert_int_eq(a->expires_at, b->expires_at);
        ck_assert_int_eq(a->ended_at, b->ended_at);
        ck_assert_str_eq(a->end_reason, b->end_reason);
        ck_assert_str_eq(a->approvers, b->approvers);
        ck_assert_uint_eq(a->approvals_needed, b->approvals_needed);
        ck_assert_str_eq(a->approval, b->approval);
        ck_assert_int_eq(a->break_glass, b->break_glass);
        ck_assert_str_eq(a->review, b->review);
}

/* ---- open ---- */

START_TEST(test_open_creates_0600)
{
        mode_t old = umask(0);
        struct store *s = open_store();
        struct stat st;
        char wal[PATH_MAX + 8];
        int64_t seq;

        umask(old);
        ck_assert_int_eq(stat(dbpath, &st), 0);
        ck_assert_int_eq(st.st_mode & 07777, 0600);
        ck_assert(S_ISREG(st.st_mode));

        /* The WAL appears with the first write and must be as private. */
        insert_grant(s, "alice", "web", GRANT_PENDING);
        ck_assert_int_eq(store_begin(s), 0);
        ck_assert_int_eq(test_audit_append(s, 1, 0, "root", 1, "grant.request", NULL, &seq), 0);
        ck_assert_int_eq(store_commit(s), 0);
        snprintf(wal, sizeof(wal), "%s-wal", dbpath);
        ck_assert_int_eq(stat(wal, &st), 0);
        ck_assert_int_eq(st.st_mode & 077, 0);
        store_free(s);
}
END_TEST

START_TEST(test_open_pragmas)
{
        struct store *s = open_store();
        sqlite3 *db = raw_open();
        char mode[16];

        raw_text(db, "PRAGMA journal_mode", mode, sizeof(mode));
        ck_assert_str_eq(mode, "wal");
        ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name NOT LIKE 'sqlite_%'"), 12);
        sqlite3_close(db);
        store_free(s);
}
END_TEST

START_TEST(test_open_refuses_unsafe_file)
{
        struct store *s = (struct store *) 0x1;
        char link[PATH_MAX + 8];
        FILE *f;

        /* Group-writable: someone else could grant themselves root. */
        f = fopen(dbpath, "w");
        ck_assert_ptr_nonnull(f);
        fclose(f);
        ck_assert_int_eq(chmod(dbpath, 0620), 0);
        ck_assert_int_eq(store_open(dbpath, &s), -EPERM);
        ck_assert_ptr_eq(s, (struct store *) 0x1);

        /* A symlink is not followed. */
        ck_assert_int_eq(chmod(dbpath, 0600), 0);
        snprintf(link, sizeof(link), "%s/link.db", tmpdir);
        ck_assert_int_eq(symlink(dbpath, link), 0);
        ck_assert_int_eq(store_open(link, &s), -ELOOP);

        /* A directory is not a database. */
        ck_assert_int_lt(store_open(tmpdir, &s), 0);
        ck_assert_ptr_eq(s, (struct store *) 0x1);
        ck_assert_int_eq(store_open(NULL, &s), -EINVAL);
}
END_TEST

START_TEST(test_open_not_a_database)
{
        struct store *s = (struct store *) 0x1;
        FILE *f = fopen(dbpath, "w");
        char junk[4096];

        ck_assert_ptr_nonnull(f);
        memset(junk, 'J', sizeof(junk));
        ck_assert_uint_eq(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
        fclose(f);
        ck_assert_int_eq(chmod(dbpath, 0600), 0);
        ck_assert_int_eq(store_open(dbpath, &s), -EUCLEAN);
        ck_assert_ptr_eq(s, (struct store *) 0x1);
}
END_TEST

START_TEST(test_open_foreign_database)
{
        struct store *s = (struct store *) 0x1;
        sqlite3 *db = NULL;

        ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
        raw_exec(db, "CREATE TABLE grants (x); INSERT INTO grants VALUES (1)");
        sqlite3_close(db);
        ck_assert_int_eq(chmod(dbpath, 0600), 0);
        ck_assert_int_eq(store_open(dbpath, &s), -EPROTONOSUPPORT);
        ck_assert_ptr_eq(s, (struct store *) 0x1);
}
END_TEST

START_TEST(test_open_newer_version_refused)
{
        struct store *s = open_store();
        sqlite3 *db;

        store_free(s);
        db = raw_open();
        {
                char sql[64];

                snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION + 1);
                raw_exec(db, sql);
        }
        sqlite3_close(db);

        s = (struct store *) 0x1;
        ck_assert_int_eq(store_open(dbpath, &s), -EPROTONOSUPPORT);
        ck_assert_ptr_eq(s, (struct store *) 0x1);
        /* Refused without being changed. */
        db = raw_open();
        ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION + 1);
        sqlite3_close(db);
}
END_TEST

START_TEST(test_reopen_keeps_data)
{
        struct store *s = open_store();
        struct jit_grant g, got;
        unsigned n;
        int64_t seq, id2;
        char why[128];

        make_grant(&g, "alice", "web", GRANT_ACTIVE);
        g.expires_at = 1700003600;
        ck_assert_int_eq(store_grant_insert(s, &g), 0);
        ck_assert_int_eq(store_approval_add(s, g.id, 1002, "bob", true, "ok", 1700000010), 0);
        ck_assert_int_eq(store_begin(s), 0);
        ck_assert_int_eq(test_audit_append(s, 1700000000, 1000, "alice", g.id, "grant.request", "{}", &seq), 0);
        ck_assert_int_eq(store_commit(s), 0);
        store_free(s);

        s = open_store();
        ck_assert_int_eq(store_grant_get(s, g.id, &got), 0);
        assert_grant_eq(&got, &g);
        ck_assert_int_eq(store_approval_count(s, g.id, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(test_audit_verify(s, &seq, why, sizeof(why)), 0);
        ck_assert_int_eq(seq, 1);
        ck_assert_str_eq(why, "");
        id2 = insert_grant(s, "bob", "web", GRANT_PENDING);
        ck_assert_int_gt(id2, g.id);
        store_free(s);
}
END_TEST

START_TEST(test_ids_never_reused)
{
        struct store *s = open_store();
        sqlite3 *db;
        int64_t a, b, c;

        a = insert_grant(s, "alice", "web", GRANT_PENDING);
        b = insert_grant(s, "alice", "web", GRANT_PENDING);
        db = raw_open();
        raw_exec(db, "DELETE FROM grants WHERE id = 2");
        sqlite3_close(db);
        c = insert_grant(s, "alice", "web", GRANT_PENDING);
        ck_assert_int_eq(a, 1);
        ck_assert_int_eq(b, 2);
        ck_assert_int_eq(c, 3);
        store_free(s);
}
END_TEST

START_TEST(test_free_null_and_errors)
{
        struct store *s;

        store_free(NULL);
        store_rollback(NULL);
        ck_assert_ptr_nonnull(store_last_error(NULL));
        s = open_store();
        ck_assert_str_eq(store_last_error(s), "no error");
        store_free(s);
}
END_TEST

/* ---- grants ---- */

START_TEST(test_grant_round_trip)
{
        static const char *const evil =
                "Robert'); DROP TABLE grants;-- \"quoted\" ; `tick` \\ %s %n naïve café ✓ 日本語 🔥";
        struct store *s = open_store();
        struct jit_grant g, got, upd;
        sqlite3 *db;
        size_t n;

        memset(&g, 0, sizeof(g));
        snprintf(g.user, sizeof(g.user), "alice.o-brien_x");
        g.uid = UINT32_MAX - 1;
        snprintf(g.host, sizeof(g.host), "web01.example.com");
        snprintf(g.role, sizeof(g.role), "web-admin");
        snprintf(g.ticket, sizeof(g.ticket), "CHG0012345");
        snprintf(g.reason, sizeof(g.reason), "%s", evil);
        g.duration = 14400;
        g.state = GRANT_ACTIVE;
        g.requested_at = 1700000000;
        g.approved_at = 1700000060;
        g.starts_at = 1700000061;
        g.expires_at = 1700014461;
        g.ended_at = 0;
        snprintf(g.end_reason, sizeof(g.end_reason), "x'; DELETE FROM audit; --");
        snprintf(g.approvers, sizeof(g.approvers), "bob,carol");
        g.approvals_needed = 2;
        snprintf(g.approval, sizeof(g.approval), "ticket,peer");
        g.break_glass = true;
        snprintf(g.review, sizeof(g.review), "pending");

        ck_assert_int_eq(store_grant_insert(s, &g), 0);
        ck_assert_int_eq(g.id, 1);
        memset(&got, 0x5a, sizeof(got));
        ck_assert_int_eq(store_grant_get(s, g.id, &got), 0);
        assert_grant_eq(&got, &g);

        /* Every field changed, each string at its longest. */
        upd = g;
        snprintf(upd.user, sizeof(upd.user), "%.*s", JIT_USER_MAX, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
        upd.uid = 0;
        memset(upd.host, 'h', JIT_HOST_MAX);
        upd.host[JIT_HOST_MAX] = '\0';
        memset(upd.role, 'r', JIT_ROLE_MAX);
        upd.role[JIT_ROLE_MAX] = '\0';
        memset(upd.ticket, 't', JIT_TICKET_MAX);
        upd.ticket[JIT_TICKET_MAX] = '\0';
        /* UTF-8 filling the reason to the byte; multi-byte characters kept whole. */
        n = 0;
        while (n + strlen("日") <= JIT_REASON_MAX) {
                memcpy(upd.reason + n, "日", strlen("日"));
                n += strlen("日");
        }
        while (n < JIT_REASON_MAX)
                upd.reason[n++] = ';';
        upd.reason[n] = '\0';
        upd.duration = (uint64_t) INT64_MAX;
        upd.state = GRANT_REVOKED;
        upd.requested_at = -1;
        upd.approved_at = INT64_MAX;
        upd.starts_at = INT64_MIN;
        upd.expires_at = 1;
        upd.ended_at = 1700000999;
        memset(upd.end_reason, '\'', JIT_REASON_MAX);
        upd.end_reason[JIT_REASON_MAX] = '\0';
        memset(upd.approvers, ',', JIT_LIST_MAX);
        upd.approvers[JIT_LIST_MAX] = '\0';
        upd.approvals_needed = UINT32_MAX;
        snprintf(upd.approval, sizeof(upd.approval), "%.31s", "break-glass-and-more-and-more-and-more");
        upd.break_glass = false;
        snprintf(upd.review, sizeof(upd.review), "%.15s", "rejected-rejected");
        ck_assert_int_eq(store_grant_update(s, &upd), 0);
        ck_assert_int_eq(store_grant_get(s, g.id, &got), 0);
        assert_grant_eq(&got, &upd);

        /* Injection attempts were data: every table is still there. */
        db = raw_open();
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM grants"), 1);
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                                     "AND name IN ('grants', 'approvals', 'audit')"), 3);
        sqlite3_close(db);
        store_free(s);
}
END_TEST

START_TEST(test_grant_unset_times_are_null)
{
        struct store *s = open_store();
        struct jit_grant g, got;
        sqlite3 *db;

        make_grant(&g, "alice", "web", GRANT_PENDING);
        g.requested_at = 0;
        ck_assert_int_eq(store_grant_insert(s, &g), 0);
        db = raw_open();
        ck_assert_int_eq(raw_int(db, "SELECT requested_at IS NULL AND approved_at IS NULL AND "
                                     "starts_at IS NULL AND expires_at IS NULL AND ended_at IS NULL "
                                     "FROM grants WHERE id = 1"), 1);
        sqlite3_close(db);
        ck_assert_int_eq(store_grant_get(s, g.id, &got), 0);
        ck_assert_int_eq(got.requested_at, 0);
        ck_assert_int_eq(got.approved_at, 0);
        ck_assert_int_eq(got.starts_at, 0);
        ck_assert_int_eq(got.expires_at, 0);
        ck_assert_int_eq(got.ended_at, 0);
        store_free(s);
}
END_TEST

START_TEST(test_grant_missing)
{
        struct store *s = open_store();
        struct jit_grant g, got;

        memset(&got, 0x5a, sizeof(got));
        ck_assert_int_eq(store_grant_get(s, 42, &got), -ENOENT);
        ck_assert_int_eq(got.id, 0x5a5a5a5a5a5a5a5a);
        make_grant(&g, "alice", "web", GRANT_PENDING);
        g.id = 42;
        ck_assert_int_eq(store_grant_update(s, &g), -ENOENT);
        store_free(s);
}
END_TEST

START_TEST(test_grant_bad_input)
{
        struct store *s = open_store();
        struct jit_grant g;

        make_grant(&g, "alice", "web", GRANT_PENDING);
        g.state = GRANT_STATE_MAX_;
        ck_assert_int_eq(store_grant_insert(s, &g), -EINVAL);
        ck_assert_int_eq(g.id, 0);

        make_grant(&g, "alice", "web", GRANT_PENDING);
        g.duration = (uint64_t) INT64_MAX + 1;
        ck_assert_int_eq(store_grant_insert(s, &g), -EINVAL);

        /* A field without its NUL inside the buffer is never read past. */
        make_grant(&g, "alice", "web", GRANT_PENDING);
        memset(g.user, 'a', sizeof(g.user));
        ck_assert_int_eq(store_grant_insert(s, &g), -EINVAL);
        ck_assert_int_eq(g.id, 0);
        ck_assert_str_ne(store_last_error(s), "no error");
        store_free(s);
}
END_TEST

static int count_cb(const struct jit_grant *g, void *userdata)
{
        (void) g;
        (*(unsigned *) userdata)++;
        return 0;
}

START_TEST(test_grant_damaged_rows)
{
        struct store *s = open_store();
        struct jit_grant got;
        sqlite3 *db;
        unsigned n = 0;

        insert_grant(s, "alice", "web", GRANT_ACTIVE);
        insert_grant(s, "bob", "web", GRANT_ACTIVE);
        insert_grant(s, "carol", "web", GRANT_ACTIVE);
        db = raw_open();
        /* 1200 bytes where 512 fit; a state nobody knows; a user name one byte too long. */
        raw_exec(db, "UPDATE grants SET reason = replace(hex(zeroblob(600)), '0', 'x') WHERE id = 1");
        raw_exec(db, "UPDATE grants SET state = 'bogus' WHERE id = 2");
        raw_exec(db, "UPDATE grants SET user = 'abcdefghijabcdefghijabcdefghijabc' WHERE id = 3");
        sqlite3_close(db);

        memset(&got, 0x5a, sizeof(got));
        ck_assert_int_eq(store_grant_get(s, 1, &got), -EBADMSG);
        ck_assert_int_eq(got.id, 0x5a5a5a5a5a5a5a5a);
        ck_assert_int_eq(store_grant_get(s, 2, &got), -EBADMSG);
        ck_assert_int_eq(store_grant_get(s, 3, &got), -EBADMSG);
        ck_assert_int_eq(got.id, 0x5a5a5a5a5a5a5a5a);
        ck_assert_int_eq(store_grant_foreach(s, NULL, count_cb, &n), -EBADMSG);
        ck_assert_uint_eq(n, 0);
        store_free(s);
}
END_TEST

struct ids {
        int64_t id[64];
        size_t n;
        int stop_after;
};

static int collect_cb(const struct jit_grant *g, void *userdata)
{
        struct ids *ids = userdata;

        ck_assert_uint_lt(ids->n, ELEMENTSOF(ids->id));
        ids->id[ids->n++] = g->id;
        if (ids->stop_after && (int) ids->n == ids->stop_after)
                return -ECANCELED;
        return 0;
}

static void assert_walk(struct store *s, const struct store_filter *f, const int64_t *want, size_t n)
{
        struct ids ids = { .n = 0 };

        ck_assert_int_eq(store_grant_foreach(s, f, collect_cb, &ids), 0);
        ck_assert_uint_eq(ids.n, n);
        for (size_t i = 0; i < n; i++)
                ck_assert_int_eq(ids.id[i], want[i]);
}

START_TEST(test_grant_foreach_filters)
{
        struct store *s = open_store();
        struct jit_grant g;
        struct ids ids = { .stop_after = 2 };
        struct store_filter f;
        static const struct {
                const char *user, *role;
                enum grant_state state;
                int64_t requested_at;
        } rows[] = {
                { "alice", "web", GRANT_PENDING, 100 },   /* 1 */
                { "bob", "web", GRANT_ACTIVE, 200 },      /* 2 */
                { "alice", "db", GRANT_ACTIVE, 300 },     /* 3 */
                { "carol", "db", GRANT_EXPIRED, 400 },    /* 4 */
                { "alice", "web", GRANT_REVOKED, 500 },   /* 5 */
                { "bob", "db", GRANT_SCHEDULED, 600 },    /* 6 */
                { "alice", "web", GRANT_CANCELLED, 700 }, /* 7 */
                { "bob", "web", GRANT_DENIED, 800 },      /* 8 */
                { "carol", "web", GRANT_RELEASED, 900 },  /* 9 */
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                make_grant(&g, rows[i].user, rows[i].role, rows[i].state);
                g.requested_at = rows[i].requested_at;
                ck_assert_int_eq(store_grant_insert(s, &g), 0);
        }

        assert_walk(s, NULL, (const int64_t[]) { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, 9);
        f = (struct store_filter) { .user = "alice" };
        assert_walk(s, &f, (const int64_t[]) { 1, 3, 5, 7 }, 4);
        f = (struct store_filter) { .user = "nobody" };
        assert_walk(s, &f, NULL, 0);
        f = (struct store_filter) { .user = "alice' OR '1'='1" };
        assert_walk(s, &f, NULL, 0);
        f = (struct store_filter) { .role = "db" };
        assert_walk(s, &f, (const int64_t[]) { 3, 4, 6 }, 3);
        f = (struct store_filter) { .states = GRANT_STATE_MASK(GRANT_ACTIVE) };
        assert_walk(s, &f, (const int64_t[]) { 2, 3 }, 2);
        f = (struct store_filter) { .states = GRANT_STATES_OPEN };
        assert_walk(s, &f, (const int64_t[]) { 1, 2, 3, 6 }, 4);
        f = (struct store_filter) { .states = GRANT_STATES_ALL };
        assert_walk(s, &f, (const int64_t[]) { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, 9);
        f = (struct store_filter) { .states = GRANT_STATE_MASK(GRANT_CANCELLED) | GRANT_STATE_MASK(GRANT_RELEASED) };
        assert_walk(s, &f, (const int64_t[]) { 7, 9 }, 2);
        f = (struct store_filter) { .user = "alice", .states = GRANT_STATES_OPEN };
        assert_walk(s, &f, (const int64_t[]) { 1, 3 }, 2);
        f = (struct store_filter) { .since = 500 };
        assert_walk(s, &f, (const int64_t[]) { 5, 6, 7, 8, 9 }, 5);
        f = (struct store_filter) { .limit = 3 };
        assert_walk(s, &f, (const int64_t[]) { 1, 2, 3 }, 3);
        f = (struct store_filter) { .user = "bob", .role = "web", .states = GRANT_STATES_ALL, .since = 300, .limit = 1 };
        assert_walk(s, &f, (const int64_t[]) { 8 }, 1);

        /* A callback's error stops the walk and comes back. */
        ck_assert_int_eq(store_grant_foreach(s, NULL, collect_cb, &ids), -ECANCELED);
        ck_assert_uint_eq(ids.n, 2);
        /* ... and leaves nothing open behind it. */
        ck_assert_int_eq(store_begin(s), 0);
        ck_assert_int_eq(store_commit(s), 0);

        f = (struct store_filter) { .states = 1u << GRANT_STATE_MAX_ };
        ck_assert_int_eq(store_grant_foreach(s, &f, collect_cb, &ids), -EINVAL);
        f = (struct store_filter) { .limit = -1 };
        ck_assert_int_eq(store_grant_foreach(s, &f, collect_cb, &ids), -EINVAL);
        store_free(s);
}
END_TEST

struct nest {
        struct store *s;
        unsigned outer, inner;
};

/* What jitd does at a tick: walk the open grants and end some of them. */
static int nest_cb(const struct jit_grant *g, void *userdata)
{
        struct nest *n = userdata;
        struct store_filter f = { .states = GRANT_STATES_OPEN };
        struct jit_grant e = *g;

        n->outer++;
        ck_assert_int_eq(store_grant_foreach(n->s, &f, count_cb, &n->inner), 0);
        e.state = GRANT_EXPIRED;
        e.ended_at = 1700009999;
        ck_assert_int_eq(store_grant_update(n->s, &e), 0);
        return 0;
}

START_TEST(test_grant_foreach_nested)
{
        struct store *s = open_store();
        struct store_filter f = { .states = GRANT_STATES_OPEN };
        struct nest n = { .s = s };
        unsigned left = 0;

        for (int i = 0; i < 4; i++)
                insert_grant(s, "alice", "web", GRANT_ACTIVE);
        ck_assert_int_eq(store_begin(s), 0);
        ck_assert_int_eq(store_grant_foreach(s, &f, nest_cb, &n), 0);
        ck_assert_int_eq(store_commit(s), 0);
        ck_assert_uint_eq(n.outer, 4);
        ck_assert_uint_eq(n.inner, 4 + 3 + 2 + 1);
        ck_assert_int_eq(store_grant_foreach(s, &f, count_cb, &left), 0);
        ck_assert_uint_eq(left, 0);
        store_free(s);
}
END_TEST

START_TEST(test_next_deadline)
{
        struct store *s = open_store();
        struct jit_grant g;
        int64_t d = 77, sched;

        ck_assert_int_eq(store_next_deadline(s, &d), -ENOENT);
        ck_assert_int_eq(d, 77);
        insert_grant(s, "alice", "web", GRANT_PENDING);
        ck_assert_int_eq(store_next_deadline(s, &d), -ENOENT);

        make_grant(&g, "alice", "web", GRANT_ACTIVE);
        g.expires_at = 5000;
        ck_assert_int_eq(store_grant_insert(s, &g), 0);
        make_grant(&g, "bob", "web", GRANT_ACTIVE);
        g.expires_at = 4000;
        ck_assert_int_eq(store_grant_insert(s, &g), 0);
        /* Ended grants keep their times but wait for nothing. */
        make_grant(&g, "carol", "web", GRANT_EXPIRED);
        g.expires_at = 10;
        g.starts_at = 5;
        ck_assert_int_eq(store_grant_insert(s, &g), 0);
        /* A pending grant's planned start is not a deadline yet. */
        make_grant(&g, "dave", "web", GRANT_PENDING);
        g.starts_at = 20;
        ck_assert_int_eq(store_grant_insert(s, &g), 0);
        ck_assert_int_eq(store_next_deadline(s, &d), 0);
        ck_assert_int_eq(d, 4000);

        make_grant(&g, "erin", "web", GRANT_SCHEDULED);
        g.starts_at = 3000;
        g.expires_at = 6000;
        ck_assert_int_eq(store_grant_insert(s, &g), 0);
        sched = g.id;
        ck_assert_int_eq(store_next_deadline(s, &d), 0);
        ck_assert_int_eq(d, 3000);

        /* It starts: now its expiry counts, not its start. */
        ck_assert_int_eq(store_grant_get(s, sched, &g), 0);
        g.state = GRANT_ACTIVE;
        ck_assert_int_eq(store_grant_update(s, &g), 0);
        ck_assert_int_eq(store_next_deadline(s, &d), 0);
        ck_assert_int_eq(d, 4000);
        store_free(s);
}
END_TEST

/* ---- approvals ---- */

START_TEST(test_approvals)
{
        struct store *s = open_store();
        int64_t id = insert_grant(s, "alice", "web", GRANT_PENDING);
        int64_t other = insert_grant(s, "alice", "web", GRANT_PENDING);
        unsigned n = 99;

        ck_assert_int_eq(store_approval_count(s, id, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(store_approval_add(s, id, 1002, "bob", true, "looks fine", 100), 0);
        ck_assert_int_eq(store_approval_add(s, id, 1002, "bob", true, "again", 101), -EEXIST);
        ck_assert_int_eq(store_approval_add(s, id, 1002, "bob", false, "changed my mind", 102), -EEXIST);
        ck_assert_int_eq(store_approval_add(s, id, 1003, "carol", false, NULL, 103), 0);
        ck_assert_int_eq(store_approval_add(s, id, 1004, "dave", true, "'; DROP TABLE approvals; --", 104), 0);
        ck_assert_int_eq(store_approval_add(s, other, 1002, "bob", true, "", 105), 0);
        ck_assert_int_eq(store_approval_count(s, id, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(store_approval_count(s, other, &n), 0);
        ck_assert_uint_eq(n, 1);
        /* No such grant. */
        ck_assert_int_eq(store_approval_add(s, 999, 1002, "bob", true, "", 106), -ENOENT);
        ck_assert_int_eq(store_approval_add(s, id, 1005, NULL, true, "", 107), -EINVAL);
        store_free(s);
}
END_TEST

/* ---- transactions ---- */

static int audit_count_cb(const struct audit_event *e, void *userdata)
{
        (void) e;
        (*(unsigned *) userdata)++;
        return 0;
}

START_TEST(test_rollback_discards_grant_and_audit)
{
        struct store *s = open_store();
        struct jit_grant g, got;
        int64_t id, seq = 0;
        unsigned n = 0;

        id = insert_grant(s, "alice", "web", GRANT_PENDING);
        store_rollback(s);                      /* nothing open: harmless */

        ck_assert_int_eq(store_begin(s), 0);
        ck_assert_int_eq(store_begin(s), -EINVAL);
        ck_assert_int_eq(store_grant_get(s, id, &g), 0);
        g.state = GRANT_ACTIVE;
        g.expires_at = 9999;
        ck_assert_int_eq(store_grant_update(s, &g), 0);
        ck_assert_int_eq(store_approval_add(s, id, 1002, "bob", true, "", 5), 0);
        ck_assert_int_eq(test_audit_append(s, 10, 1002, "bob", id, "grant.approve", NULL, &seq), 0);
        ck_assert_int_eq(seq, 1);
        store_rollback(s);
        store_rollback(s);

        ck_assert_int_eq(store_grant_get(s, id, &got), 0);
        ck_assert_int_eq(got.state, GRANT_PENDING);
        ck_assert_int_eq(got.expires_at, 0);
        ck_assert_int_eq(store_approval_count(s, id, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(test_audit_foreach(s, 0, 0, audit_count_cb, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(store_commit(s), -EINVAL);

        /* The chain carries on from where the committed log ends. */
        ck_assert_int_eq(store_begin(s), 0);
        ck_assert_int_eq(store_grant_update(s, &g), 0);
        ck_assert_int_eq(test_audit_append(s, 11, 1002, "bob", id, "grant.approve", NULL, &seq), 0);
        ck_assert_int_eq(store_commit(s), 0);
        ck_assert_int_eq(seq, 1);
        ck_assert_int_eq(test_audit_verify(s, &seq, NULL, 0), 0);
        ck_assert_int_eq(seq, 1);
        ck_assert_int_eq(store_grant_get(s, id, &got), 0);
        ck_assert_int_eq(got.state, GRANT_ACTIVE);
        store_free(s);
}
END_TEST

START_TEST(test_busy)
{
        struct store *s = open_store();
        sqlite3 *db = raw_open();

        raw_exec(db, "BEGIN IMMEDIATE");
        ck_assert_int_eq(store_begin(s), -EBUSY);
        ck_assert_ptr_nonnull(strstr(store_last_error(s), "locked"));
        raw_exec(db, "ROLLBACK");
        ck_assert_int_eq(store_begin(s), 0);
        ck_assert_int_eq(store_commit(s), 0);
        sqlite3_close(db);
        store_free(s);
}
END_TEST

/* ---- audit ---- */

static void append_events(struct store *s, int n)
{
        char details[64];
        int64_t seq;

        ck_assert_int_eq(store_begin(s), 0);
        for (int i = 1; i <= n; i++) {
                snprintf(details, sizeof(details), "{\"i\":%d}", i);
                ck_assert_int_eq(test_audit_append(s, 1700000000 + i, i % 2 ? 0 : 1000 + (uid_t) i,
                                                    i % 2 ? "root" : "alice", i % 3 ? i % 3 : 0,
                                                    "grant.request", details, &seq), 0);
                ck_assert_int_eq(seq, i);
        }
        ck_assert_int_eq(store_commit(s), 0);
}

/* The documented format, computed independently: the test fails if the chain
 * format changes by accident (which would break every existing log). */
static void expected_hash(const char *prev, const struct audit_event *e, char out[65])
{
        char buf[4096], num[4][24];
        unsigned char md[32];
        unsigned md_len;
        int n;

        snprintf(num[0], sizeof(num[0]), "%" PRId64, e->seq);
        snprintf(num[1], sizeof(num[1]), "%" PRId64, e->at);
        snprintf(num[2], sizeof(num[2]), "%u", (unsigned) e->actor_uid);
        snprintf(num[3], sizeof(num[3]), "%" PRId64, e->grant_id);
        n = snprintf(buf, sizeof(buf), "%s\n%zu:%s,%zu:%s,%zu:%s,%zu:%s,%zu:%s,%zu:%s,%zu:%s,", prev,
                     strlen(num[0]), num[0], strlen(num[1]), num[1], strlen(num[2]), num[2],
                     strlen(e->actor), e->actor, strlen(num[3]), num[3], strlen(e->event), e->event,
                     strlen(e->details), e->details);
        ck_assert_int_lt(n, (int) sizeof(buf));
        ck_assert_int_eq(EVP_Digest(buf, (size_t) n, md, &md_len, EVP_sha256(), NULL), 1);
        for (unsigned i = 0; i < md_len; i++)
                snprintf(out + 2 * i, 3, "%02x", md[i]);
}

struct audit_walk {
        int64_t seq[64];
        size_t n;
        char last_hash[65];
};

static int audit_walk_cb(const struct audit_event *e, void *userdata)
{
        struct audit_walk *w = userdata;
        char want[65];

        ck_assert_uint_lt(w->n, ELEMENTSOF(w->seq));
        if (e->seq == 1)
                ck_assert_str_eq(e->prev_hash, "0000000000000000000000000000000000000000000000000000000000000000");
        else if (w->n > 0 && w->seq[w->n - 1] == e->seq - 1)
                ck_assert_str_eq(e->prev_hash, w->last_hash);
        expected_hash(e->prev_hash, e, want);
        ck_assert_str_eq(e->hash, want);
        w->seq[w->n++] = e->seq;
        snprintf(w->last_hash, sizeof(w->last_hash), "%s", e->hash);
        return 0;
}

START_TEST(test_audit_chain_ok)
{
        struct store *s = open_store();
        struct audit_walk w = { .n = 0 };
        int64_t seq = -1;
        char why[128] = "x";

        ck_assert_int_eq(test_audit_verify(s, &seq, why, sizeof(why)), 0);
        ck_assert_int_eq(seq, 0);
        ck_assert_str_eq(why, "");
        append_events(s, 20);
        ck_assert_int_eq(test_audit_verify(s, &seq, why, sizeof(why)), 0);
        ck_assert_int_eq(seq, 20);
        ck_assert_int_eq(test_audit_foreach(s, 0, 0, audit_walk_cb, &w), 0);
        ck_assert_uint_eq(w.n, 20);
        store_free(s);
}
END_TEST

static int audit_fields_cb(const struct audit_event *e, void *userdata)
{
        struct audit_walk *w = userdata;

        if (e->seq == 1) {
                ck_assert_int_eq(e->at, 1234);
                ck_assert_uint_eq(e->actor_uid, 1001);
                ck_assert_str_eq(e->actor, "alice");
                ck_assert_int_eq(e->grant_id, 7);
                ck_assert_str_eq(e->event, "grant.request");
                ck_assert_str_eq(e->details, "{\"reason\":\"it's \\\"urgent\\\"; DROP TABLE audit; -- ✓\"}");
        } else {
                ck_assert_int_eq(e->grant_id, 0);
                ck_assert_str_eq(e->details, "{}");
                ck_assert_str_eq(e->actor, "");
        }
        w->seq[w->n++] = e->seq;
        return 0;
}

START_TEST(test_audit_fields)
{
        struct store *s = open_store();
        struct audit_walk w = { .n = 0 };
        int64_t seq;
        char event[40];

        ck_assert_int_eq(test_audit_append(s, 1, 0, "root", 0, "x", NULL, &seq), -EINVAL);
        ck_assert_int_eq(store_begin(s), 0);
        ck_assert_int_eq(test_audit_append(s, 1234, 1001, "alice", 7, "grant.request",
                                            "{\"reason\":\"it's \\\"urgent\\\"; DROP TABLE audit; -- ✓\"}", NULL), 0);
        ck_assert_int_eq(test_audit_append(s, 2000, 0, "", 0, "jitd.start", NULL, &seq), 0);
        ck_assert_int_eq(seq, 2);
        memset(event, 'e', sizeof(event) - 1);
        event[sizeof(event) - 1] = '\0';
        ck_assert_int_eq(test_audit_append(s, 1, 0, "root", 0, event, NULL, &seq), -EINVAL);
        ck_assert_int_eq(test_audit_append(s, 1, 0, "root", 0, "", NULL, &seq), -EINVAL);
        ck_assert_int_eq(test_audit_append(s, 1, 0, "abcdefghijabcdefghijabcdefghijabc", 0, "x", NULL, &seq), -EINVAL);
        ck_assert_int_eq(store_commit(s), 0);

        ck_assert_int_eq(test_audit_foreach(s, 0, 0, audit_fields_cb, &w), 0);
        ck_assert_uint_eq(w.n, 2);
        store_free(s);
}
END_TEST

START_TEST(test_audit_filters)
{
        struct store *s = open_store();
        struct audit_walk w = { .n = 0 };

        append_events(s, 20);
        ck_assert_int_eq(test_audit_foreach(s, 1700000015, 0, audit_walk_cb, &w), 0);
        ck_assert_uint_eq(w.n, 6);
        ck_assert_int_eq(w.seq[0], 15);
        w.n = 0;
        /* grant_id is i % 3: 2 for 2, 5, 8, 11, 14, 17, 20 */
        ck_assert_int_eq(test_audit_foreach(s, 0, 2, audit_walk_cb, &w), 0);
        ck_assert_uint_eq(w.n, 7);
        ck_assert_int_eq(w.seq[0], 2);
        ck_assert_int_eq(w.seq[6], 20);
        w.n = 0;
        ck_assert_int_eq(test_audit_foreach(s, 1700000010, 2, audit_walk_cb, &w), 0);
        ck_assert_uint_eq(w.n, 4);
        ck_assert_int_eq(w.seq[0], 11);
        store_free(s);
}
END_TEST

/* Moving bytes from one field to the next must change the hash. */
START_TEST(test_audit_unambiguous)
{
        char path2[PATH_MAX];
        struct store *a, *b;
        struct audit_walk wa = { .n = 0 }, wb = { .n = 0 };

        a = open_store();
        snprintf(path2, sizeof(path2), "%s/other.db", tmpdir);
        ck_assert_int_eq(store_open(path2, &b), 0);
        ck_assert_int_eq(store_begin(a), 0);
        ck_assert_int_eq(test_audit_append(a, 1, 0, "ab", 0, "c", "{}", NULL), 0);
        ck_assert_int_eq(store_commit(a), 0);
        ck_assert_int_eq(store_begin(b), 0);
        ck_assert_int_eq(test_audit_append(b, 1, 0, "a", 0, "bc", "{}", NULL), 0);
        ck_assert_int_eq(store_commit(b), 0);
        ck_assert_int_eq(test_audit_foreach(a, 0, 0, audit_walk_cb, &wa), 0);
        ck_assert_int_eq(test_audit_foreach(b, 0, 0, audit_walk_cb, &wb), 0);
        ck_assert_str_ne(wa.last_hash, wb.last_hash);
        store_free(a);
        store_free(b);
}
END_TEST

static void assert_broken(struct store *s, int64_t want_seq, const char *want_why)
{
        int64_t seq = -1;
        char why[128] = "";

        ck_assert_int_eq(test_audit_verify(s, &seq, why, sizeof(why)), -EBADMSG);
        ck_assert_int_eq(seq, want_seq);
        ck_assert_str_eq(why, want_why);
}

START_TEST(test_audit_edit_detected)
{
        struct store *s = open_store();
        sqlite3 *db;

        append_events(s, 20);
        db = raw_open();
        raw_exec(db, "UPDATE audit SET details = '{\"i\":999}' WHERE seq = 12");
        sqlite3_close(db);
        assert_broken(s, 12, "event 12 was edited");
        store_free(s);
}
END_TEST

START_TEST(test_audit_edit_hash_detected)
{
        struct store *s = open_store();
        sqlite3 *db;

        append_events(s, 20);
        db = raw_open();
        /* The newest row, whose hash nothing else points to. */
        raw_exec(db, "UPDATE audit SET actor_uid = 0, hash = lower(hex(randomblob(32))) WHERE seq = 20");
        sqlite3_close(db);
        assert_broken(s, 20, "event 20 was edited");
        store_free(s);
}
END_TEST

START_TEST(test_audit_delete_detected)
{
        struct store *s = open_store();
        sqlite3 *db;

        append_events(s, 20);
        db = raw_open();
        raw_exec(db, "DELETE FROM audit WHERE seq = 7");
        sqlite3_close(db);
        assert_broken(s, 7, "event 7 is missing (deleted)");
        store_free(s);
}
END_TEST

START_TEST(test_audit_delete_first_detected)
{
        struct store *s = open_store();
        sqlite3 *db;

        append_events(s, 5);
        db = raw_open();
        raw_exec(db, "DELETE FROM audit WHERE seq = 1");
        sqlite3_close(db);
        assert_broken(s, 1, "event 1 is missing (deleted)");
        store_free(s);
}
END_TEST

START_TEST(test_audit_delete_and_renumber_detected)
{
        struct store *s = open_store();
        sqlite3 *db;

        append_events(s, 20);
        db = raw_open();
        raw_exec(db, "DELETE FROM audit WHERE seq = 7;"
                     "UPDATE audit SET seq = -seq WHERE seq > 7;"
                     "UPDATE audit SET seq = -seq - 1 WHERE seq < 0");
        sqlite3_close(db);
        assert_broken(s, 7, "event 7 does not chain to event 6 (inserted or reordered)");
        store_free(s);
}
END_TEST

START_TEST(test_audit_insert_detected)
{
        struct store *s = open_store();
        sqlite3 *db;

        append_events(s, 20);
        db = raw_open();
        /* Replay event 5 as a new event 10, the later ones moved up to make room. */
        raw_exec(db, "UPDATE audit SET seq = -seq WHERE seq >= 10;"
                     "UPDATE audit SET seq = 1 - seq WHERE seq < 0;"
                     "INSERT INTO audit SELECT 10, at, actor_uid, actor, grant_id, event, details, "
                     "prev_hash, hash FROM audit WHERE seq = 5");
        sqlite3_close(db);
        assert_broken(s, 10, "event 10 does not chain to event 9 (inserted or reordered)");
        store_free(s);
}
END_TEST

START_TEST(test_audit_forged_append_detected)
{
        struct store *s = open_store();
        sqlite3 *db;

        append_events(s, 20);
        db = raw_open();
        raw_exec(db, "INSERT INTO audit VALUES (21, 1700000100, 1000, 'alice', 3, 'grant.approve', '{}', "
                     "'0000000000000000000000000000000000000000000000000000000000000000', "
                     "lower(hex(randomblob(32))))");
        sqlite3_close(db);
        assert_broken(s, 21, "event 21 does not chain to event 20 (inserted or reordered)");

        /* Chained to the right hash, but its own hash is invented. */
        db = raw_open();
        raw_exec(db, "UPDATE audit SET prev_hash = (SELECT hash FROM audit WHERE seq = 20) WHERE seq = 21");
        sqlite3_close(db);
        assert_broken(s, 21, "event 21 was edited");
        store_free(s);
}
END_TEST

START_TEST(test_audit_reorder_detected)
{
        struct store *s = open_store();
        sqlite3 *db;

        append_events(s, 20);
        db = raw_open();
        raw_exec(db, "UPDATE audit SET seq = 100 WHERE seq = 3;"
                     "UPDATE audit SET seq = 3 WHERE seq = 4;"
                     "UPDATE audit SET seq = 4 WHERE seq = 100");
        sqlite3_close(db);
        assert_broken(s, 3, "event 3 does not chain to event 2 (inserted or reordered)");
        store_free(s);
}
END_TEST

START_TEST(test_audit_malformed_row_detected)
{
        struct store *s = open_store();
        sqlite3 *db;
        unsigned n = 0;

        append_events(s, 5);
        db = raw_open();
        /* Too long for struct audit_event: verify calls it an edit, listing refuses it. */
        raw_exec(db, "UPDATE audit SET actor = replace(hex(zeroblob(40)), '0', 'a') WHERE seq = 4");
        sqlite3_close(db);
        assert_broken(s, 4, "event 4 was edited");
        ck_assert_int_eq(test_audit_foreach(s, 0, 0, audit_count_cb, &n), -EBADMSG);
        ck_assert_uint_eq(n, 3);
        store_free(s);
}
END_TEST

/* ---- scale ---- */

static int scale_cb(const struct jit_grant *g, void *userdata)
{
        int64_t *last = userdata;

        /* id order, every time */
        ck_assert_int_gt(g->id, last[0]);
        last[0] = g->id;
        last[1]++;
        return 0;
}

START_TEST(test_ten_thousand_grants)
{
        struct store *s = open_store();
        struct jit_grant g;
        struct store_filter f;
        unsigned per_state[GRANT_STATE_MAX_] = { 0 }, open_user7 = 0;
        int64_t want = INT64_MAX, want_after = INT64_MAX, min_id = 0, d, walk[2];
        char user[16];

        ck_assert_int_eq(store_begin(s), 0);
        for (int i = 0; i < 10000; i++) {
                enum grant_state st = (enum grant_state) (i % GRANT_STATE_MAX_);

                snprintf(user, sizeof(user), "user%d", i % 100);
                make_grant(&g, user, i % 2 ? "web" : "db", st);
                g.requested_at = 1700000000 + i;
                g.starts_at = 1800000000 + (int64_t) ((i * 7919) % 100003);
                g.expires_at = 1800000000 + (int64_t) ((i * 104729) % 100019);
                ck_assert_int_eq(store_grant_insert(s, &g), 0);
                per_state[st]++;
                if (i % 100 == 7 && grant_state_is_open(st))
                        open_user7++;
                if (st == GRANT_ACTIVE && g.expires_at < want) {
                        want = g.expires_at;
                        min_id = g.id;
                }
                if (st == GRANT_SCHEDULED && g.starts_at < want) {
                        want = g.starts_at;
                        min_id = g.id;
                }
        }
        ck_assert_int_eq(store_commit(s), 0);

        ck_assert_int_eq(store_next_deadline(s, &d), 0);
        ck_assert_int_eq(d, want);

        for (unsigned st = 0; st < GRANT_STATE_MAX_; st++) {
                f = (struct store_filter) { .states = GRANT_STATE_MASK(st) };
                walk[0] = 0;
                walk[1] = 0;
                ck_assert_int_eq(store_grant_foreach(s, &f, scale_cb, walk), 0);
                ck_assert_int_eq(walk[1], per_state[st]);
        }
        f = (struct store_filter) { .user = "user7", .states = GRANT_STATES_OPEN };
        walk[0] = 0;
        walk[1] = 0;
        ck_assert_int_eq(store_grant_foreach(s, &f, scale_cb, walk), 0);
        ck_assert_int_eq(walk[1], open_user7);
        f = (struct store_filter) { .limit = 25, .since = 1700005000 };
        walk[0] = 0;
        walk[1] = 0;
        ck_assert_int_eq(store_grant_foreach(s, &f, scale_cb, walk), 0);
        ck_assert_int_eq(walk[1], 25);
        ck_assert_int_eq(walk[0], 5025);

        /* End the grant that was due first: the deadline moves to the next one. */
        ck_assert_int_eq(store_grant_get(s, min_id, &g), 0);
        g.state = GRANT_EXPIRED;
        ck_assert_int_eq(store_grant_update(s, &g), 0);
        for (int64_t id = 1; id <= 10000; id++) {
                ck_assert_int_eq(store_grant_get(s, id, &g), 0);
                if (g.state == GRANT_ACTIVE && g.expires_at < want_after)
                        want_after = g.expires_at;
                if (g.state == GRANT_SCHEDULED && g.starts_at < want_after)
                        want_after = g.starts_at;
        }
        ck_assert_int_eq(store_next_deadline(s, &d), 0);
        ck_assert_int_eq(d, want_after);
        ck_assert_int_ge(want_after, want);
        store_free(s);
}
END_TEST

static int count_session(const struct jit_session *x, void *userdata)
{
        (void) x;
        (*(int *) userdata)++;
        return 0;
}

START_TEST(test_sessions)
{
        struct store *s = open_store();
        int64_t g1 = insert_grant(s, "alice", "web", GRANT_ACTIVE);
        int64_t g2 = insert_grant(s, "bob", "web", GRANT_ACTIVE);
        struct jit_session a = { .grant_id = g1, .pid = 4242, .opened_at = 100 }, b = a, c = a, got;
        int n = 0;

        snprintf(a.service, sizeof(a.service), "sudo");
        snprintf(a.tty, sizeof(a.tty), "/dev/pts/1");
        b.pid = 4243;
        snprintf(b.service, sizeof(b.service), "sshd");
        snprintf(b.rhost, sizeof(b.rhost), "192.0.2.7");
        c.grant_id = g2;
        c.pid = 4244;
        ck_assert_int_eq(store_session_insert(s, &a), 0);
        ck_assert_int_eq(store_session_insert(s, &b), 0);
        ck_assert_int_eq(store_session_insert(s, &c), 0);
        ck_assert_int_gt(b.id, a.id);
        ck_assert_int_eq(store_session_set_handle(s, a.id, "cgroup:/jit/g1-s1"), 0);

        ck_assert_int_eq(store_session_find_open(s, 4242, &got), 0);
        ck_assert_int_eq(got.id, a.id);
        ck_assert_str_eq(got.handle, "cgroup:/jit/g1-s1");
        ck_assert_str_eq(got.tty, "/dev/pts/1");
        ck_assert_int_eq(got.closed_at, 0);
        ck_assert_int_eq(store_session_find_open(s, 9999, &got), -ENOENT);

        /* Closing keeps the session live (its background processes still
         * have to die with the grant); tearing down settles it. */
        ck_assert_int_eq(store_session_close(s, a.id, 200, "closed"), 0);
        ck_assert_int_eq(store_session_find_open(s, 4242, &got), -ENOENT);
        ck_assert_int_eq(store_session_foreach_live(s, g1, count_session, &n), 0);
        ck_assert_int_eq(n, 2);
        /* Paged: two, then the one after them, then none. */
        n = 0;
        ck_assert_int_eq(store_session_foreach_live_page(s, 0, 2, count_session, &n), 0);
        ck_assert_int_eq(n, 2);
        n = 0;
        ck_assert_int_eq(store_session_foreach_live_page(s, b.id, 2, count_session, &n), 0);
        ck_assert_int_eq(n, 1);
        n = 0;
        ck_assert_int_eq(store_session_foreach_live_page(s, c.id, 2, count_session, &n), 0);
        ck_assert_int_eq(n, 0);
        ck_assert_int_eq(store_session_torn_down(s, a.id, 300, "expired"), 0);
        ck_assert_int_eq(store_session_torn_down(s, b.id, 300, "expired"), 0);
        n = 0;
        ck_assert_int_eq(store_session_foreach_live(s, g1, count_session, &n), 0);
        ck_assert_int_eq(n, 0);
        n = 0;
        ck_assert_int_eq(store_session_foreach_live(s, 0, count_session, &n), 0);
        ck_assert_int_eq(n, 1);
        store_free(s);

        {
                sqlite3 *db = raw_open();

                /* A session closed normally keeps its own reason; one torn
                 * down while open gets the grant's. */
                ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sessions WHERE end_reason = 'closed'"), 1);
                ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sessions WHERE end_reason = 'expired' "
                                             "AND closed_at = 300"), 1);
                sqlite3_close(db);
        }
}
END_TEST

START_TEST(test_session_refuses_bad_input)
{
        struct store *s = open_store();
        struct jit_session x = { .grant_id = 1, .pid = 0 };
        char big[200];

        ck_assert_int_eq(store_session_insert(s, &x), -EINVAL);
        x.pid = 10;
        x.grant_id = 12345;          /* no such grant: the foreign key says no */
        snprintf(x.service, sizeof(x.service), "sudo");
        ck_assert_int_lt(store_session_insert(s, &x), 0);
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        ck_assert_int_eq(store_session_set_handle(s, 1, big), -EINVAL);
        store_free(s);
}
END_TEST

/* A version 1 database (before sessions) is migrated in place, data kept. */
START_TEST(test_migrate_from_v1)
{
        struct store *s = open_store();
        struct jit_grant g;
        int64_t id = insert_grant(s, "alice", "web", GRANT_ACTIVE);
        sqlite3 *db;

        store_free(s);
        db = raw_open();
        raw_exec(db, "DROP TABLE sessions; DROP TABLE extensions; DROP TABLE fleet_grants; DROP TABLE fleet_refused; "
                 "DROP TABLE fleet_state; DROP TABLE fleet_ends; DROP TABLE fleet_upload; DROP TABLE fleet_user_ends; DROP TABLE recordings; "
                 "DROP TABLE fleet_extensions; "
                 "PRAGMA user_version = 1");
        sqlite3_close(db);

        s = open_store();
        ck_assert_int_eq(store_grant_get(s, id, &g), 0);
        ck_assert_str_eq(g.user, "alice");
        {
                struct jit_session x = { .grant_id = id, .pid = 77, .opened_at = 1 };

                snprintf(x.service, sizeof(x.service), "sudo");
                ck_assert_int_eq(store_session_insert(s, &x), 0);
        }
        store_free(s);
        db = raw_open();
        ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
        sqlite3_close(db);
}
END_TEST

/* The fleet's tables: a fleet grant links to one local grant, once; a
 * refusal is noted once per reason; catch-up resumes where it stopped. */
/* Ends of fleet grants waiting for the database: once per grant, in fleet
 * id order, gone once recorded. */
START_TEST(test_fleet_ends)
{
        struct store *s = open_store();
        struct store_fleet_end e = { .fleet_id = 7, .kind = "revoked", .by = "root", .reason = "gone", .at = 100 };
        struct store_fleet_end got;

        ck_assert_int_eq(store_fleet_end_next(s, 0, &got), -ENOENT);
        ck_assert_int_eq(store_fleet_end_put(s, &e), 0);
        e.fleet_id = 3;
        ck_assert_int_eq(store_fleet_end_put(s, &e), 0);
        snprintf(e.reason, sizeof(e.reason), "again");
        ck_assert_int_eq(store_fleet_end_put(s, &e), 0);         /* the first stays */
        ck_assert_int_eq(store_fleet_end_next(s, 0, &got), 0);
        ck_assert_int_eq(got.fleet_id, 3);
        ck_assert_str_eq(got.reason, "gone");
        ck_assert_str_eq(got.kind, "revoked");
        ck_assert_int_eq(got.at, 100);
        ck_assert_int_eq(store_fleet_end_next(s, 3, &got), 0);
        ck_assert_int_eq(got.fleet_id, 7);
        ck_assert_int_eq(store_fleet_end_next(s, 7, &got), -ENOENT);
        ck_assert_int_eq(store_fleet_end_delete(s, 3), 0);
        ck_assert_int_eq(store_fleet_end_next(s, 0, &got), 0);
        ck_assert_int_eq(got.fleet_id, 7);
        e.fleet_id = 0;
        ck_assert_int_eq(store_fleet_end_put(s, &e), -EINVAL);
        store_free(s);
}
END_TEST

/* The upload position (schema 8): 0 until set, then the newest set. */
START_TEST(test_fleet_upload_position)
{
        struct store *s = open_store();
        int64_t seq = -1;

        ck_assert_int_eq(store_fleet_upload_get(s, &seq), 0);
        ck_assert_int_eq(seq, 0);
        ck_assert_int_eq(store_fleet_upload_set(s, 40), 0);
        ck_assert_int_eq(store_fleet_upload_set(s, 41), 0);
        ck_assert_int_eq(store_fleet_upload_get(s, &seq), 0);
        ck_assert_int_eq(seq, 41);
        /* Backwards too: a database restored from a backup is filled again. */
        ck_assert_int_eq(store_fleet_upload_set(s, 12), 0);
        ck_assert_int_eq(store_fleet_upload_get(s, &seq), 0);
        ck_assert_int_eq(seq, 12);
        ck_assert_int_eq(store_fleet_upload_set(s, -1), -EINVAL);
        /* The catch-up's own row is another table: neither moves the other. */
        ck_assert_int_eq(store_fleet_seq_set(s, 99), 0);
        ck_assert_int_eq(store_fleet_upload_get(s, &seq), 0);
        ck_assert_int_eq(seq, 12);
        store_free(s);
        /* Kept across a reopen. */
        s = open_store();
        ck_assert_int_eq(store_fleet_upload_get(s, &seq), 0);
        ck_assert_int_eq(seq, 12);
        store_free(s);
}
END_TEST

/* revoke --user --all waiting for the database: once per user, in name
 * order, kept until deleted. */
START_TEST(test_fleet_user_ends)
{
        struct store *s = open_store();
        struct store_fleet_user_end e = { .user = "carol", .by = "dave", .reason = "offboarding", .at = 100 };
        struct store_fleet_user_end got;
        int64_t n = -1;

        ck_assert_int_eq(store_fleet_user_end_next(s, "", &got), -ENOENT);
        ck_assert_int_eq(store_fleet_user_end_count(s, &n), 0);
        ck_assert_int_eq(n, 0);
        ck_assert_int_eq(store_fleet_user_end_put(s, &e), 0);
        snprintf(e.user, sizeof(e.user), "alice");
        ck_assert_int_eq(store_fleet_user_end_put(s, &e), 0);
        snprintf(e.reason, sizeof(e.reason), "again");
        ck_assert_int_eq(store_fleet_user_end_put(s, &e), 0);    /* the first stays */
        ck_assert_int_eq(store_fleet_user_end_count(s, &n), 0);
        ck_assert_int_eq(n, 2);
        ck_assert_int_eq(store_fleet_user_end_next(s, "", &got), 0);
        ck_assert_str_eq(got.user, "alice");
        ck_assert_str_eq(got.by, "dave");
        ck_assert_str_eq(got.reason, "offboarding");
        ck_assert_int_eq(got.at, 100);
        ck_assert_int_eq(store_fleet_user_end_next(s, "alice", &got), 0);
        ck_assert_str_eq(got.user, "carol");
        ck_assert_int_eq(store_fleet_user_end_next(s, "carol", &got), -ENOENT);
        store_free(s);
        s = open_store();
        ck_assert_int_eq(store_fleet_user_end_delete(s, "alice"), 0);
        ck_assert_int_eq(store_fleet_user_end_next(s, NULL, &got), 0);
        ck_assert_str_eq(got.user, "carol");
        ck_assert_int_eq(store_fleet_user_end_delete(s, "nobody"), 0);
        e.user[0] = '\0';
        ck_assert_int_eq(store_fleet_user_end_put(s, &e), -EINVAL);
        store_free(s);
}
END_TEST

START_TEST(test_fleet_tables)
{
        struct store *s = open_store();
        int64_t id = insert_grant(s, "alice", "web", GRANT_ACTIVE), other = insert_grant(s, "bob", "web", GRANT_ACTIVE);
        int64_t got = 0, seq = -1;

        ck_assert_int_eq(store_fleet_lookup(s, 42, &got), -ENOENT);
        ck_assert_int_eq(store_fleet_link(s, 42, id, 1000), 0);
        ck_assert_int_eq(store_fleet_lookup(s, 42, &got), 0);
        ck_assert_int_eq(got, id);
        ck_assert_int_eq(store_fleet_link(s, 42, other, 1000), -EEXIST);   /* a change replayed */
        ck_assert_int_eq(store_fleet_link(s, 43, id, 1000), -EEXIST);      /* one local grant, one fleet grant */
        ck_assert_int_eq(store_fleet_ends_at(s, id, &got), 0);
        ck_assert_int_eq(got, 1000);
        ck_assert_int_eq(store_fleet_ends_at(s, other, &got), -ENOENT);     /* a local grant */
        ck_assert_int_eq(store_fleet_link(s, 45, other, 0), -EINVAL);
        ck_assert_int_eq(store_fleet_refused_add(s, 44, "no role", 1), 0);
        ck_assert_int_eq(store_fleet_refused_add(s, 44, "no role", 2), -EEXIST);
        ck_assert_int_eq(store_fleet_refused_add(s, 44, "bad signature", 2), 0);
        ck_assert_int_eq(store_fleet_seq_get(s, &seq), 0);
        ck_assert_int_eq(seq, 0);
        ck_assert_int_eq(store_fleet_seq_set(s, 17), 0);
        ck_assert_int_eq(store_fleet_seq_set(s, 18), 0);
        ck_assert_int_eq(store_fleet_seq_get(s, &seq), 0);
        ck_assert_int_eq(seq, 18);
        ck_assert_int_eq(store_fleet_seq_set(s, -1), -EINVAL);
        store_free(s);
}
END_TEST

START_TEST(test_fleet_extensions)
{
        struct store *s = open_store();
        int64_t id = insert_grant(s, "alice", "web", GRANT_ACTIVE), got = 0;
        unsigned applied = 99;
        bool has = true;

        ck_assert_int_eq(store_fleet_link(s, 42, id, 1000), 0);
        ck_assert_int_eq(store_fleet_extension_state(s, 42, 1, &applied, &has), 0);
        ck_assert_uint_eq(applied, 0);
        ck_assert(!has);
        /* Extension 2 applied (1 waits): the link's end moves with it. */
        ck_assert_int_eq(store_fleet_extension_put(s, 42, 2, 1600, 900), 0);
        ck_assert_int_eq(store_fleet_ends_at(s, id, &got), 0);
        ck_assert_int_eq(got, 1600);
        ck_assert_int_eq(store_fleet_extension_state(s, 42, 1, &applied, &has), 0);
        ck_assert_uint_eq(applied, 1);
        ck_assert(!has);
        ck_assert_int_eq(store_fleet_extension_state(s, 42, 2, &applied, &has), 0);
        ck_assert(has);
        /* Once each. */
        ck_assert_int_eq(store_fleet_extension_put(s, 42, 2, 2200, 901), -EEXIST);
        ck_assert_int_eq(store_fleet_extension_put(s, 42, 0, 2200, 901), -EINVAL);
        ck_assert_int_eq(store_fleet_extension_state(s, 43, 1, &applied, &has), 0);
        ck_assert_uint_eq(applied, 0);
        store_free(s);
}
END_TEST

static Suite *store_suite(void)
{
        Suite *su = suite_create("store");
        TCase *tc;

        tc = tcase_create("open");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_open_creates_0600);
        tcase_add_test(tc, test_open_pragmas);
        tcase_add_test(tc, test_open_refuses_unsafe_file);
        tcase_add_test(tc, test_open_not_a_database);
        tcase_add_test(tc, test_open_foreign_database);
        tcase_add_test(tc, test_open_newer_version_refused);
        tcase_add_test(tc, test_reopen_keeps_data);
        tcase_add_test(tc, test_ids_never_reused);
        tcase_add_test(tc, test_free_null_and_errors);
        suite_add_tcase(su, tc);

        tc = tcase_create("grants");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_grant_round_trip);
        tcase_add_test(tc, test_grant_unset_times_are_null);
        tcase_add_test(tc, test_grant_missing);
        tcase_add_test(tc, test_grant_bad_input);
        tcase_add_test(tc, test_grant_damaged_rows);
        tcase_add_test(tc, test_grant_foreach_filters);
        tcase_add_test(tc, test_grant_foreach_nested);
        tcase_add_test(tc, test_next_deadline);
        tcase_add_test(tc, test_approvals);
        suite_add_tcase(su, tc);

        tc = tcase_create("transactions");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_rollback_discards_grant_and_audit);
        tcase_add_test(tc, test_busy);
        suite_add_tcase(su, tc);

        tc = tcase_create("audit");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_audit_chain_ok);
        tcase_add_test(tc, test_audit_fields);
        tcase_add_test(tc, test_audit_filters);
        tcase_add_test(tc, test_audit_unambiguous);
        tcase_add_test(tc, test_audit_edit_detected);
        tcase_add_test(tc, test_audit_edit_hash_detected);
        tcase_add_test(tc, test_audit_delete_detected);
        tcase_add_test(tc, test_audit_delete_first_detected);
        tcase_add_test(tc, test_audit_delete_and_renumber_detected);
        tcase_add_test(tc, test_audit_insert_detected);
        tcase_add_test(tc, test_audit_forged_append_detected);
        tcase_add_test(tc, test_audit_reorder_detected);
        tcase_add_test(tc, test_audit_malformed_row_detected);
        suite_add_tcase(su, tc);

        tc = tcase_create("sessions");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_sessions);
        tcase_add_test(tc, test_session_refuses_bad_input);
        tcase_add_test(tc, test_migrate_from_v1);
        tcase_add_test(tc, test_fleet_tables);
        tcase_add_test(tc, test_fleet_extensions);
        tcase_add_test(tc, test_fleet_ends);
        tcase_add_test(tc, test_fleet_upload_position);
        tcase_add_test(tc, test_fleet_user_ends);
        suite_add_tcase(su, tc);

        tc = tcase_create("scale");
        tcase_add_checked_fixture(tc, setup, teardown);
        /* Generous for valgrind; nothing here is timed. */
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_ten_thousand_grants);
        suite_add_tcase(su, tc);

        return su;
}

int main(void)
{
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        SRunner *sr;
        int failed;

        if (snprintf(rootdir, sizeof(rootdir), "%s/check_store.XXXXXX", base) >= (int) sizeof(rootdir) ||
            !mkdtemp(rootdir)) {
                fprintf(stderr, "check_store: cannot create a directory under %s\n", base);
                return 1;
        }
        sr = srunner_create(store_suite());
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        test_remove_dir(rootdir);
        return failed == 0 ? 0 : 1;
}
