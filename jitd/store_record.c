/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store_record.h"

#define REC_COLUMNS "id, grant_id, session_id, kind, path, found_at, sealed_at, size, hash, pruned_at"

/* A statement for one call; SQLite keeps its plan cache warm for us. */
struct stmt {
        struct store *s;
        sqlite3_stmt *st;
};

static void stmt_done(struct stmt *x)
{
        sqlite3_finalize(x->st);
        x->st = NULL;
}

static int prepare(struct store *s, const char *sql, struct stmt *ret)
{
        int rc = sqlite3_prepare_v3(store_sqlite(s), sql, -1, 0, &ret->st, NULL);

        ret->s = s;
        if (rc != SQLITE_OK)
                return store_sqlite_error(s, rc, "prepare recordings");
        return 0;
}

static int bind_i(struct stmt *x, int i, int64_t v)
{
        int rc = sqlite3_bind_int64(x->st, i, v);

        return rc == SQLITE_OK ? 0 : store_sqlite_error(x->s, rc, "bind");
}

static int bind_t(struct stmt *x, int i, const char *v)
{
        int rc = sqlite3_bind_text(x->st, i, v, -1, SQLITE_STATIC);

        return rc == SQLITE_OK ? 0 : store_sqlite_error(x->s, rc, "bind");
}

static int done(struct stmt *x, const char *what)
{
        int rc = sqlite3_step(x->st);

        return rc == SQLITE_DONE ? 0 : store_sqlite_error(x->s, rc, what);
}

static void copy_text(sqlite3_stmt *st, int col, char *buf, size_t size)
{
        const unsigned char *t = sqlite3_column_text(st, col);

        snprintf(buf, size, "%s", t ? (const char *) t : "");
}

static void read_row(sqlite3_stmt *st, struct jit_recording *x)
{
        memset(x, 0, sizeof(*x));
        x->id = sqlite3_column_int64(st, 0);
        x->grant_id = sqlite3_column_int64(st, 1);
        x->session_id = sqlite3_column_int64(st, 2);
        copy_text(st, 3, x->kind, sizeof(x->kind));
        copy_text(st, 4, x->path, sizeof(x->path));
        x->found_at = sqlite3_column_int64(st, 5);
        x->sealed_at = sqlite3_column_int64(st, 6);
        x->size = (uint64_t) sqlite3_column_int64(st, 7);
        copy_text(st, 8, x->hash, sizeof(x->hash));
        x->pruned_at = sqlite3_column_int64(st, 9);
}

int store_recording_add(struct store *s, struct jit_recording *x)
{
        struct stmt q __attribute__((cleanup(stmt_done))) = { 0 };
        int r;

        if (!x || x->grant_id <= 0 || !x->path[0] || strlen(x->path) > RECORDING_PATH_MAX ||
            (strcmp(x->kind, "sudo") != 0 && strcmp(x->kind, "tlog") != 0))
                return -EINVAL;
        r = prepare(s, "INSERT INTO recordings (grant_id, session_id, kind, path, found_at) "
                       "VALUES (?1, NULLIF(?2, 0), ?3, ?4, ?5) ON CONFLICT (path) DO NOTHING", &q);
        if (r < 0 || (r = bind_i(&q, 1, x->grant_id)) < 0 || (r = bind_i(&q, 2, x->session_id)) < 0 ||
            (r = bind_t(&q, 3, x->kind)) < 0 || (r = bind_t(&q, 4, x->path)) < 0 ||
            (r = bind_i(&q, 5, x->found_at)) < 0 || (r = done(&q, "insert recording")) < 0)
                return r;
        if (sqlite3_changes(store_sqlite(s)) == 0)
                return 0;
        x->id = sqlite3_last_insert_rowid(store_sqlite(s));
        return 1;
}

int store_recording_get(struct store *s, int64_t id, struct jit_recording *ret)
{
        struct stmt q __attribute__((cleanup(stmt_done))) = { 0 };
        int r, rc;

        r = prepare(s, "SELECT " REC_COLUMNS " FROM recordings WHERE id = ?1", &q);
        if (r < 0 || (r = bind_i(&q, 1, id)) < 0)
                return r;
        rc = sqlite3_step(q.st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return store_sqlite_error(s, rc, "read recording");
        read_row(q.st, ret);
        return 0;
}

static int update2(struct store *s, const char *sql, int64_t a, int64_t b, const char *what)
{
        struct stmt q __attribute__((cleanup(stmt_done))) = { 0 };
        int r;

        r = prepare(s, sql, &q);
        if (r < 0 || (r = bind_i(&q, 1, a)) < 0 || (r = bind_i(&q, 2, b)) < 0)
                return r;
        return done(&q, what);
}

int store_recording_set_session(struct store *s, int64_t id, int64_t session_id)
{
        return update2(s, "UPDATE recordings SET session_id = ?2 WHERE id = ?1", id, session_id, "recording session");
}

int store_recording_pruned(struct store *s, int64_t id, int64_t at)
{
        return update2(s, "UPDATE recordings SET pruned_at = ?2 WHERE id = ?1 AND pruned_at IS NULL", id, at,
                       "prune recording");
}

int store_recording_seal(struct store *s, int64_t id, int64_t at, uint64_t size, const char *hash)
{
        struct stmt q __attribute__((cleanup(stmt_done))) = { 0 };
        int r;

        if (!hash || strlen(hash) != STORE_HASH_LEN || size > INT64_MAX)
                return -EINVAL;
        r = prepare(s, "UPDATE recordings SET sealed_at = ?2, size = ?3, hash = ?4 WHERE id = ?1 AND sealed_at IS NULL",
                    &q);
        if (r < 0 || (r = bind_i(&q, 1, id)) < 0 || (r = bind_i(&q, 2, at)) < 0 ||
            (r = bind_i(&q, 3, (int64_t) size)) < 0 || (r = bind_t(&q, 4, hash)) < 0)
                return r;
        r = done(&q, "seal recording");
        if (r < 0)
                return r;
        return sqlite3_changes(store_sqlite(s)) == 1 ? 0 : -EALREADY;
}

static int walk(struct stmt *q, int (*cb)(const struct jit_recording *x, void *userdata), void *userdata)
{
        int rc;

        while ((rc = sqlite3_step(q->st)) == SQLITE_ROW) {
                struct jit_recording x;
                int r;

                read_row(q->st, &x);
                r = cb(&x, userdata);
                if (r < 0)
                        return r;
        }
        return rc == SQLITE_DONE ? 0 : store_sqlite_error(q->s, rc, "walk recordings");
}

int store_recording_foreach(struct store *s, int64_t grant_id, bool unsealed_only,
                            int (*cb)(const struct jit_recording *x, void *userdata), void *userdata)
{
        struct stmt q __attribute__((cleanup(stmt_done))) = { 0 };
        int r;

        r = prepare(s, unsealed_only ?
                    "SELECT " REC_COLUMNS " FROM recordings WHERE sealed_at IS NULL AND (?1 = 0 OR grant_id = ?1) "
                    "ORDER BY id" :
                    "SELECT " REC_COLUMNS " FROM recordings WHERE (?1 = 0 OR grant_id = ?1) ORDER BY id", &q);
        if (r < 0 || (r = bind_i(&q, 1, grant_id)) < 0)
                return r;
        return walk(&q, cb, userdata);
}

int store_recording_foreach_expired(struct store *s, int64_t before, int64_t limit,
                                    int (*cb)(const struct jit_recording *x, void *userdata), void *userdata)
{
        struct stmt q __attribute__((cleanup(stmt_done))) = { 0 };
        int r;

        /* A break-glass grant whose review is pending keeps its recordings:
         * the reviewer has not seen them yet. */
        r = prepare(s, "SELECT r.id, r.grant_id, r.session_id, r.kind, r.path, r.found_at, r.sealed_at, r.size, "
                       "r.hash, r.pruned_at FROM recordings r JOIN grants g ON g.id = r.grant_id "
                       "WHERE r.sealed_at IS NOT NULL AND r.sealed_at < ?1 AND r.pruned_at IS NULL "
                       "AND NOT (g.break_glass = 1 AND g.review = 'pending') ORDER BY r.id LIMIT ?2", &q);
        if (r < 0 || (r = bind_i(&q, 1, before)) < 0 || (r = bind_i(&q, 2, limit)) < 0)
                return r;
        return walk(&q, cb, userdata);
}

int store_recording_totals(struct store *s, int64_t since, uint64_t *ret_count, uint64_t *ret_bytes)
{
        struct stmt q __attribute__((cleanup(stmt_done))) = { 0 };
        int r, rc;

        r = prepare(s, "SELECT count(*), coalesce(sum(r.size), 0) FROM recordings r JOIN grants g ON g.id = r.grant_id "
                       "WHERE r.sealed_at IS NOT NULL AND (?1 = 0 OR g.requested_at >= ?1)", &q);
        if (r < 0 || (r = bind_i(&q, 1, since)) < 0)
                return r;
        rc = sqlite3_step(q.st);
        if (rc != SQLITE_ROW)
                return store_sqlite_error(s, rc, "count recordings");
        *ret_count = (uint64_t) sqlite3_column_int64(q.st, 0);
        *ret_bytes = (uint64_t) sqlite3_column_int64(q.st, 1);
        return 0;
}
