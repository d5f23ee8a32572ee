/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "store_record.h"

/* "JITD": tells our database apart from another program's SQLite file that
 * happens to sit at the configured path. */
#define STORE_APPLICATION_ID 0x4a495444
/* Only while opening (migrations at start-up, before the loop runs): once
 * jitd serves, a locked database is an immediate -EBUSY that the caller
 * retries from a timer, never a sleep inside the loop. */
#define OPEN_BUSY_TIMEOUT_MS 5000

/* The filter placeholders are a fixed list, one per state, so that no SQL is
 * ever put together at run time. */
_Static_assert(GRANT_STATE_MAX_ <= 8, "grant foreach binds at most 8 state names");

/* The open states (pending, scheduled, active) as grant_state_to_string()
 * spells them, written out rather than bound so that the partial index
 * grants_open_user applies; store_open() checks the spelling. */
#define OPEN_STATES_SQL "(state = 'pending' OR state = 'scheduled' OR state = 'active')"

/* Each schema version is one step from the previous one; they all run in the
 * same transaction as the user_version bump, so a crash leaves either the old
 * schema or the new one. Append steps, never edit a released one. */
static const char *const migrations[] = {
        /* 0 -> 1 */
        /* AUTOINCREMENT: a grant id names a sudoers drop-in and audit events;
         * it must never be handed out twice, even after the newest row is lost. */
        "CREATE TABLE grants ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  user TEXT NOT NULL,"
        "  uid INTEGER NOT NULL CHECK (uid BETWEEN 0 AND 4294967295),"
        "  host TEXT NOT NULL,"
        "  role TEXT NOT NULL,"
        "  ticket TEXT NOT NULL DEFAULT '',"
        "  reason TEXT NOT NULL DEFAULT '',"
        "  duration INTEGER NOT NULL CHECK (duration >= 0),"
        "  state TEXT NOT NULL,"
        "  requested_at INTEGER,"             /* NULL = unset (0 in struct jit_grant) */
        "  approved_at INTEGER,"
        "  starts_at INTEGER,"
        "  expires_at INTEGER,"
        "  ended_at INTEGER,"
        "  end_reason TEXT NOT NULL DEFAULT '',"
        "  approvers TEXT NOT NULL DEFAULT '',"
        "  approvals_needed INTEGER NOT NULL DEFAULT 0 CHECK (approvals_needed BETWEEN 0 AND 4294967295),"
        "  approval TEXT NOT NULL DEFAULT '',"
        "  break_glass INTEGER NOT NULL DEFAULT 0 CHECK (break_glass IN (0, 1)),"
        "  review TEXT NOT NULL DEFAULT ''"
        ") STRICT;"
        "CREATE INDEX grants_user_state ON grants (user, state);"
        "CREATE INDEX grants_state_expires ON grants (state, expires_at);"
        "CREATE INDEX grants_state_starts ON grants (state, starts_at);"
        "CREATE TABLE approvals ("
        "  grant_id INTEGER NOT NULL REFERENCES grants (id),"
        "  uid INTEGER NOT NULL CHECK (uid BETWEEN 0 AND 4294967295),"
        "  name TEXT NOT NULL,"
        "  approve INTEGER NOT NULL CHECK (approve IN (0, 1)),"
        "  note TEXT NOT NULL DEFAULT '',"
        "  at INTEGER,"
        "  UNIQUE (grant_id, uid)"
        ") STRICT;"
        /* No foreign key on grant_id: events about requests that never became
         * a grant are recorded too, and nothing may stop an audit row. seq is
         * chosen by store_audit_append (it is part of the hash). */
        "CREATE TABLE audit ("
        "  seq INTEGER PRIMARY KEY,"
        "  at INTEGER NOT NULL,"
        "  actor_uid INTEGER NOT NULL,"
        "  actor TEXT NOT NULL,"
        "  grant_id INTEGER,"                 /* NULL = not about a grant */
        "  event TEXT NOT NULL,"
        "  details TEXT NOT NULL,"
        "  prev_hash TEXT NOT NULL,"
        "  hash TEXT NOT NULL"
        ") STRICT;"
        "CREATE INDEX audit_grant ON audit (grant_id);"
        "CREATE INDEX audit_at ON audit (at);",
        /* 1 -> 2: sessions opened under a grant, so that they can be torn down
         * when it ends, also after a jitd restart (handle says how). */
        "CREATE TABLE sessions ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  grant_id INTEGER NOT NULL REFERENCES grants (id),"
        "  pid INTEGER NOT NULL CHECK (pid > 0),"
        "  service TEXT NOT NULL,"
        "  tty TEXT NOT NULL DEFAULT '',"
        "  rhost TEXT NOT NULL DEFAULT '',"
        "  handle TEXT NOT NULL DEFAULT '',"
        "  opened_at INTEGER NOT NULL,"
        "  closed_at INTEGER,"                /* NULL while open */
        "  end_reason TEXT NOT NULL DEFAULT '',"
        /* A closed session may have left processes behind (sudo sh -c
         * 'x &'): only its teardown at the end of the grant settles it. */
        "  torn_down_at INTEGER"
        ") STRICT;"
        "CREATE INDEX sessions_grant_live ON sessions (grant_id, torn_down_at);"
        "CREATE INDEX sessions_live ON sessions (torn_down_at);"
        "CREATE INDEX sessions_pid_open ON sessions (pid, closed_at);"
        /* At most one extension waits per grant: the user asked for more
         * time, the role's approval has to say yes again. */
        "CREATE TABLE extensions ("
        "  grant_id INTEGER PRIMARY KEY REFERENCES grants (id),"
        "  duration INTEGER NOT NULL CHECK (duration > 0),"
        "  reason TEXT NOT NULL DEFAULT '',"
        "  requested_at INTEGER NOT NULL,"
        "  approvers TEXT NOT NULL DEFAULT ''"
        ") STRICT;",
        /* 2 -> 3: the open grants of a user, in id order, straight from an
         * index. With (user, state) the walk pam_jit's every check makes
         * needed a temporary b-tree for the IN list and another for ORDER BY
         * id: a page-cache allocation (~90 KiB) per check, which glibc gave
         * back and took again whenever it sat at the top of the heap (two
         * brk calls and fresh page faults per check). Measured in
         * BENCHMARKS.md: 15 -> 10 us of jitd CPU per check. */
        "CREATE INDEX IF NOT EXISTS grants_open_user ON grants (user, id) WHERE " OPEN_STATES_SQL ";",
        /* 3 -> 4: a session's identity is its pid AND that process's start
         * time (a recycled pid is another process), and for sudo the target
         * user, which decides which grant's rule covers it. */
        ("ALTER TABLE sessions ADD COLUMN pid_start INTEGER NOT NULL DEFAULT 0 CHECK (pid_start >= 0);"
         "ALTER TABLE sessions ADD COLUMN target TEXT NOT NULL DEFAULT '';"),
        /* 4 -> 5: the audit-key events (jitd/audit.h), which every start
         * looks up: without an index that read the whole audit table, and
         * the page cache it filled stayed in jitd's memory. Only those rows
         * are in it, so appending any other event costs nothing more. */
        "CREATE INDEX IF NOT EXISTS audit_key_events ON audit (seq) WHERE event = 'audit-key';",
        /* 5 -> 6: the fleet (jitd/fleet_mirror.c). A fleet grant enforced
         * here is a local grant linked to its fleet id, once: the primary
         * key makes a change replayed twice apply once. A grant this host
         * refused is noted with why, ends_at is when the fleet says it
         * ends (an activation retried later must not give it longer), so the refusal is audited once per
         * reason, not at every replay. last_seq is where catch-up resumes
         * (jit.changes.seq). */
        ("CREATE TABLE fleet_grants ("
         "  fleet_id INTEGER PRIMARY KEY CHECK (fleet_id > 0),"
         "  grant_id INTEGER NOT NULL UNIQUE REFERENCES grants (id),"
         "  ends_at INTEGER NOT NULL CHECK (ends_at > 0)"
         ") STRICT;"
         "CREATE TABLE fleet_refused ("
         "  fleet_id INTEGER NOT NULL CHECK (fleet_id > 0),"
         "  why TEXT NOT NULL,"
         "  at INTEGER NOT NULL,"
         "  PRIMARY KEY (fleet_id, why)"
         ") STRICT;"
         "CREATE TABLE fleet_state ("
         "  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),"
         "  last_seq INTEGER NOT NULL CHECK (last_seq >= 0)"
         ") STRICT;"),
        /* 6 -> 7: ends of fleet grants decided here (revoke) and not yet
         * recorded in the fleet database: the local end stands at once, the
         * fleet's is sent again until the database has it. */
        ("CREATE TABLE fleet_ends ("
         "  fleet_id INTEGER PRIMARY KEY CHECK (fleet_id > 0),"
         "  kind TEXT NOT NULL,"
         "  by_user TEXT NOT NULL,"
         "  reason TEXT NOT NULL,"
         "  at INTEGER NOT NULL"
         ") STRICT;"),
        /* 7 -> 8: uploads to the fleet (jitd/fleet_upload.c). audit_seq is
         * the newest local audit event the fleet database has confirmed: the
         * events after it are the upload queue (the audit table itself, so
         * nothing is copied and nothing is lost). A revoke --user --all made
         * while the database is unreachable waits in fleet_user_ends, once
         * per user, until the database has it. */
        ("CREATE TABLE fleet_upload ("
         "  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),"
         "  audit_seq INTEGER NOT NULL CHECK (audit_seq >= 0)"
         ") STRICT;"
         "CREATE TABLE fleet_user_ends ("
         "  user TEXT PRIMARY KEY,"
         "  by_user TEXT NOT NULL,"
         "  reason TEXT NOT NULL,"
         "  at INTEGER NOT NULL"
         ") STRICT;"),
        /* 8 -> 9: session recordings (jitd/recording.c): each found in a
         * grant's recording directory once (path is unique), sealed once
         * (its "recorded" audit event carries the same size and hash),
         * pruned at most once. session_id is NULL when no session jitd
         * registered made it (sudo refused by PAM after its log began). */
        ("CREATE TABLE recordings ("
         "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
         "  grant_id INTEGER NOT NULL CHECK (grant_id > 0),"
         "  session_id INTEGER,"
         "  kind TEXT NOT NULL CHECK (kind IN ('sudo', 'tlog')),"
         "  path TEXT NOT NULL UNIQUE,"
         "  found_at INTEGER NOT NULL,"
         "  sealed_at INTEGER,"
         "  size INTEGER,"
         "  hash TEXT,"
         "  pruned_at INTEGER"
         ") STRICT;"
         "CREATE INDEX recordings_grant ON recordings (grant_id, id);"
         "CREATE INDEX recordings_unsealed ON recordings (id) WHERE sealed_at IS NULL;"),
        /* 9 -> 10: the extensions of fleet grants applied to their copies
         * here (jitd/fleet_mirror.c), once each: n is jit.extensions.n. */
        ("CREATE TABLE fleet_extensions ("
         "  fleet_id INTEGER NOT NULL CHECK (fleet_id > 0),"
         "  n INTEGER NOT NULL CHECK (n > 0),"
         "  at INTEGER NOT NULL,"
         "  PRIMARY KEY (fleet_id, n)"
         ") STRICT;"),
};
_Static_assert(ELEMENTSOF(migrations) == STORE_SCHEMA_VERSION, "one migration step per schema version");

#define GRANT_COLUMNS \
        "id, user, uid, host, role, ticket, reason, duration, state, requested_at, approved_at, " \
        "starts_at, expires_at, ended_at, end_reason, approvers, approvals_needed, approval, " \
        "break_glass, review"
#define GRANT_VALUES "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19"
/* id > :after is always bound (0: from the start), so that a listing read page
 * by page starts each page from the index, not from the first row. */
#define GRANT_FILTER "(:role IS NULL OR role = :role) AND (:since IS NULL OR requested_at >= :since) " \
                     "AND id > :after"
#define GRANT_SELECT "SELECT " GRANT_COLUMNS " FROM grants WHERE " GRANT_FILTER
#define GRANT_STATES " AND state IN (:s0, :s1, :s2, :s3, :s4, :s5, :s6, :s7)"
#define GRANT_ORDER  " ORDER BY id LIMIT :limit"

#define AUDIT_COLUMNS "seq, at, actor_uid, actor, grant_id, event, details, prev_hash, hash"
#define SESSION_COLUMNS "id, grant_id, pid, service, tty, rhost, handle, opened_at, closed_at, pid_start, target"

enum stmt_id {
        STMT_BEGIN,
        STMT_COMMIT,
        STMT_ROLLBACK,
        STMT_SYNC_NORMAL,
        STMT_SYNC_FULL,
        STMT_GRANT_INSERT,
        STMT_GRANT_UPDATE,
        STMT_GRANT_GET,
        /* The four walks below are indexed by (user ? 1 : 0) | (states ? 2 : 0):
         * "user = ?" and "state IN (...)" only use their index when they are
         * not hidden behind an "? IS NULL OR" that the planner cannot see through. */
        STMT_GRANT_FOREACH,
        STMT_GRANT_FOREACH_USER,
        STMT_GRANT_FOREACH_STATES,
        STMT_GRANT_FOREACH_USER_STATES,
        STMT_GRANT_FOREACH_USER_OPEN,           /* user, states == GRANT_STATES_OPEN: the PAM check */
        STMT_NEXT_DEADLINE,
        STMT_DEADLINE_ACTIVE,
        STMT_DEADLINE_SCHEDULED,
        STMT_DUE_ACTIVE,
        STMT_DUE_SCHEDULED,
        STMT_APPROVAL_ADD,
        STMT_APPROVAL_COUNT,
        STMT_AUDIT_TAIL,
        STMT_AUDIT_LAST_KEY,
        STMT_AUDIT_INSERT,
        /* Indexed by (since ? 1 : 0) | (grant_id ? 2 : 0), for the same reason. */
        STMT_AUDIT_FOREACH,
        STMT_AUDIT_FOREACH_SINCE,
        STMT_AUDIT_FOREACH_GRANT,
        STMT_AUDIT_FOREACH_GRANT_SINCE,
        STMT_AUDIT_VERIFY,
        STMT_NEXT_EXPIRY_AFTER,
        STMT_OVERDUE_REVIEWS,
        STMT_EXT_PUT,
        STMT_EXT_GET,
        STMT_EXT_DEL,
        STMT_SESSION_INSERT,
        STMT_SESSION_SET_HANDLE,
        STMT_SESSION_CLOSE,
        STMT_SESSION_TORN_DOWN,
        STMT_SESSION_BY_PID,
        STMT_SESSION_OPEN_ALL,
        STMT_SESSION_OPEN_PAGE,
        STMT_SESSION_OPEN_GRANT,
        STMT_SESSION_GET,
        STMT_SESSION_SET_GRANT,
        STMT_SESSION_COUNT_GRANT,
        STMT_FLEET_LINK,
        STMT_FLEET_LOOKUP,
        STMT_FLEET_ID_OF,
        STMT_FLEET_ENDS_AT,
        STMT_FLEET_REFUSED_ADD,
        STMT_FLEET_SEQ_GET,
        STMT_FLEET_SEQ_SET,
        STMT_FLEET_END_PUT,
        STMT_FLEET_END_DEL,
        STMT_FLEET_END_NEXT,
        STMT_FLEET_UPLOAD_GET,
        STMT_FLEET_UPLOAD_SET,
        STMT_FLEET_USER_END_PUT,
        STMT_FLEET_USER_END_DEL,
        STMT_FLEET_USER_END_NEXT,
        STMT_FLEET_USER_END_COUNT,
        STMT_FLEET_EXT_PUT,
        STMT_FLEET_EXT_ENDS,
        STMT_FLEET_EXT_STATE,
        STMT_MAX_,
};

static const char *const stmt_sql[STMT_MAX_] = {
        [STMT_BEGIN] = "BEGIN IMMEDIATE",
        [STMT_COMMIT] = "COMMIT",
        [STMT_ROLLBACK] = "ROLLBACK",
        [STMT_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
        [STMT_SYNC_FULL] = "PRAGMA synchronous = FULL",
        [STMT_GRANT_INSERT] =
                "INSERT INTO grants (" GRANT_COLUMNS ") VALUES (NULL, " GRANT_VALUES ")",
        [STMT_GRANT_UPDATE] =
                "UPDATE grants SET user = ?1, uid = ?2, host = ?3, role = ?4, ticket = ?5, "
                "reason = ?6, duration = ?7, state = ?8, requested_at = ?9, approved_at = ?10, "
                "starts_at = ?11, expires_at = ?12, ended_at = ?13, end_reason = ?14, "
                "approvers = ?15, approvals_needed = ?16, approval = ?17, break_glass = ?18, "
                "review = ?19 WHERE id = ?20",
        [STMT_GRANT_GET] = "SELECT " GRANT_COLUMNS " FROM grants WHERE id = ?1",
        [STMT_GRANT_FOREACH] = GRANT_SELECT GRANT_ORDER,
        [STMT_GRANT_FOREACH_USER] = GRANT_SELECT " AND user = :user" GRANT_ORDER,
        /* Without the hint the planner, knowing neither which states are
         * bound nor that ended grants outnumber open ones, may scan them all
         * (it does once ANALYZE has run). */
        [STMT_GRANT_FOREACH_STATES] =
                "SELECT " GRANT_COLUMNS " FROM grants INDEXED BY grants_state_expires WHERE "
                GRANT_FILTER GRANT_STATES GRANT_ORDER,
        [STMT_GRANT_FOREACH_USER_STATES] = GRANT_SELECT " AND user = :user" GRANT_STATES GRANT_ORDER,
        [STMT_GRANT_FOREACH_USER_OPEN] =
                "SELECT " GRANT_COLUMNS " FROM grants INDEXED BY grants_open_user WHERE "
                GRANT_FILTER " AND user = :user AND " OPEN_STATES_SQL GRANT_ORDER,
        /* Two index lookups that each stop at their first row (min() over the
         * second column of (state, expires_at) / (state, starts_at)), so the
         * cost does not grow with the number of ended grants. */
        [STMT_NEXT_DEADLINE] =
                "SELECT min(d) FROM ("
                "SELECT min(expires_at) AS d FROM grants WHERE state = :active "
                "UNION ALL "
                "SELECT min(starts_at) AS d FROM grants WHERE state = :scheduled)",
        /* Deadlines in order, each walk from its index; the caller skips the
         * grants whose end is being recorded and stops at the first other. */
        [STMT_DEADLINE_ACTIVE] =
                "SELECT id, expires_at FROM grants WHERE state = 'active' ORDER BY expires_at",
        [STMT_DEADLINE_SCHEDULED] =
                "SELECT id, starts_at FROM grants WHERE state = 'scheduled' ORDER BY starts_at",
        [STMT_DUE_ACTIVE] =
                "SELECT id FROM grants WHERE state = 'active' AND expires_at <= ?1 ORDER BY expires_at",
        [STMT_DUE_SCHEDULED] =
                "SELECT id FROM grants WHERE state = 'scheduled' AND starts_at <= ?1 ORDER BY starts_at",
        [STMT_APPROVAL_ADD] =
                "INSERT INTO approvals (grant_id, uid, name, approve, note, at) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        [STMT_APPROVAL_COUNT] = "SELECT count(*) FROM approvals WHERE grant_id = ?1 AND approve = 1",
        [STMT_AUDIT_TAIL] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
        [STMT_AUDIT_LAST_KEY] =
                "SELECT seq, details FROM audit INDEXED BY audit_key_events WHERE event = 'audit-key' "
                "ORDER BY seq DESC LIMIT 1",
        [STMT_AUDIT_INSERT] =
                "INSERT INTO audit (" AUDIT_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        [STMT_AUDIT_FOREACH] =
                "SELECT " AUDIT_COLUMNS " FROM audit WHERE seq > :after ORDER BY seq LIMIT :limit",
        [STMT_AUDIT_FOREACH_SINCE] =
                "SELECT " AUDIT_COLUMNS " FROM audit WHERE seq > :after AND at >= :since ORDER BY seq "
                "LIMIT :limit",
        [STMT_AUDIT_FOREACH_GRANT] =
                "SELECT " AUDIT_COLUMNS " FROM audit WHERE seq > :after AND grant_id = :grant ORDER BY seq "
                "LIMIT :limit",
        [STMT_AUDIT_FOREACH_GRANT_SINCE] =
                "SELECT " AUDIT_COLUMNS " FROM audit WHERE seq > :after AND grant_id = :grant AND at >= :since "
                "ORDER BY seq LIMIT :limit",
        [STMT_AUDIT_VERIFY] = "SELECT " AUDIT_COLUMNS " FROM audit WHERE seq > ?1 ORDER BY seq",
        [STMT_EXT_PUT] =
                "INSERT INTO extensions (grant_id, duration, reason, requested_at, approvers) "
                "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (grant_id) DO UPDATE SET duration = ?2, reason = ?3, "
                "requested_at = ?4, approvers = ?5",
        [STMT_EXT_GET] = "SELECT duration, reason, requested_at, approvers FROM extensions WHERE grant_id = ?1",
        [STMT_EXT_DEL] = "DELETE FROM extensions WHERE grant_id = ?1",
        [STMT_OVERDUE_REVIEWS] =
                "SELECT count(*) FROM grants WHERE break_glass = 1 AND review = 'pending' AND requested_at <= ?1",
        [STMT_NEXT_EXPIRY_AFTER] =
                "SELECT min(expires_at) FROM grants WHERE state = 'active' AND expires_at > ?1",
        [STMT_SESSION_INSERT] =
                "INSERT INTO sessions (grant_id, pid, service, tty, rhost, handle, opened_at, pid_start, target) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        [STMT_SESSION_SET_HANDLE] = "UPDATE sessions SET handle = ?2 WHERE id = ?1",
        [STMT_SESSION_CLOSE] =
                "UPDATE sessions SET closed_at = ?2, end_reason = ?3 WHERE id = ?1 AND closed_at IS NULL",
        [STMT_SESSION_TORN_DOWN] =
                "UPDATE sessions SET torn_down_at = ?2, closed_at = coalesce(closed_at, ?2), "
                "end_reason = CASE WHEN closed_at IS NULL THEN ?3 ELSE end_reason END WHERE id = ?1",
        [STMT_SESSION_BY_PID] =
                "SELECT " SESSION_COLUMNS " FROM sessions WHERE pid = ?1 AND closed_at IS NULL "
                "ORDER BY id DESC LIMIT 1",
        [STMT_SESSION_OPEN_ALL] =
                "SELECT " SESSION_COLUMNS " FROM sessions WHERE torn_down_at IS NULL ORDER BY id",
        [STMT_SESSION_OPEN_PAGE] =
                "SELECT " SESSION_COLUMNS " FROM sessions WHERE torn_down_at IS NULL AND id > ?1 ORDER BY id "
                "LIMIT ?2",
        [STMT_SESSION_OPEN_GRANT] =
                "SELECT " SESSION_COLUMNS " FROM sessions WHERE grant_id = ?1 AND torn_down_at IS NULL "
                "ORDER BY id",
        [STMT_SESSION_GET] = "SELECT " SESSION_COLUMNS " FROM sessions WHERE id = ?1",
        [STMT_SESSION_SET_GRANT] = "UPDATE sessions SET grant_id = ?2 WHERE id = ?1",
        [STMT_SESSION_COUNT_GRANT] = "SELECT count(*) FROM sessions WHERE grant_id = ?1",
        [STMT_FLEET_LINK] = "INSERT INTO fleet_grants (fleet_id, grant_id, ends_at) VALUES (?1, ?2, ?3)",
        [STMT_FLEET_ENDS_AT] = "SELECT (SELECT ends_at FROM fleet_grants WHERE grant_id = ?1)",
        [STMT_FLEET_LOOKUP] = "SELECT (SELECT grant_id FROM fleet_grants WHERE fleet_id = ?1)",
        [STMT_FLEET_ID_OF] = "SELECT (SELECT fleet_id FROM fleet_grants WHERE grant_id = ?1)",
        [STMT_FLEET_REFUSED_ADD] = "INSERT INTO fleet_refused (fleet_id, why, at) VALUES (?1, ?2, ?3)",
        [STMT_FLEET_SEQ_GET] = "SELECT (SELECT last_seq FROM fleet_state WHERE singleton = ?1)",
        [STMT_FLEET_END_PUT] = "INSERT OR IGNORE INTO fleet_ends (fleet_id, kind, by_user, reason, at) "
                               "VALUES (?1, ?2, ?3, ?4, ?5)",
        [STMT_FLEET_END_DEL] = "DELETE FROM fleet_ends WHERE fleet_id = ?1",
        [STMT_FLEET_END_NEXT] = "SELECT fleet_id, kind, by_user, reason, at FROM fleet_ends WHERE fleet_id > ?1 "
                                "ORDER BY fleet_id LIMIT 1",
        [STMT_FLEET_SEQ_SET] =
                "INSERT INTO fleet_state (singleton, last_seq) VALUES (1, ?1) "
                "ON CONFLICT (singleton) DO UPDATE SET last_seq = excluded.last_seq",
        [STMT_FLEET_UPLOAD_GET] = "SELECT (SELECT audit_seq FROM fleet_upload WHERE singleton = ?1)",
        [STMT_FLEET_UPLOAD_SET] =
                "INSERT INTO fleet_upload (singleton, audit_seq) VALUES (1, ?1) "
                "ON CONFLICT (singleton) DO UPDATE SET audit_seq = excluded.audit_seq",
        [STMT_FLEET_USER_END_PUT] = "INSERT OR IGNORE INTO fleet_user_ends (user, by_user, reason, at) "
                                    "VALUES (?1, ?2, ?3, ?4)",
        [STMT_FLEET_USER_END_DEL] = "DELETE FROM fleet_user_ends WHERE user = ?1",
        [STMT_FLEET_USER_END_NEXT] = "SELECT user, by_user, reason, at FROM fleet_user_ends WHERE user > ?1 "
                                     "ORDER BY user LIMIT 1",
        [STMT_FLEET_USER_END_COUNT] = "SELECT count(*) FROM fleet_user_ends",
        [STMT_FLEET_EXT_PUT] = "INSERT INTO fleet_extensions (fleet_id, n, at) VALUES (?1, ?2, ?3)",
        [STMT_FLEET_EXT_ENDS] = "UPDATE fleet_grants SET ends_at = ?2 WHERE fleet_id = ?1",
        [STMT_FLEET_EXT_STATE] = "SELECT count(*), coalesce(sum(n = ?2), 0) FROM fleet_extensions WHERE fleet_id = ?1",
};

struct store {
        sqlite3 *db;
        bool relaxed;                   /* this transaction commits without fsync */
        sqlite3_stmt *stmt[STMT_MAX_];
        char error[256];
};

/* A statement borrowed from the cache for the length of one call. */
struct held {
        struct store *s;
        sqlite3_stmt *st;
        enum stmt_id id;
};

static int errno_from_sqlite(int rc)
{
        switch (rc) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
                return -EEXIST;
        case SQLITE_CONSTRAINT_FOREIGNKEY:
                /* The only foreign key is approvals -> grants. */
                return -ENOENT;
        }
        switch (rc & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_NOTFOUND:
                return -ENOENT;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EUCLEAN;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_CONSTRAINT:
                /* CHECK / NOT NULL: the caller's values, not the disk. */
                return -EINVAL;
        default:
                return -EIO;
        }
}

__attribute__((format(printf, 3, 4)))
static int store_fail(struct store *s, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(s->error, sizeof(s->error), fmt, ap);
        va_end(ap);
        return r;
}

/* Call right after the failing sqlite3_* call: sqlite3_errmsg() describes the
 * most recent call on the connection. */
static int store_sqlite_fail(struct store *s, int rc, const char *what)
{
        const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);

        return store_fail(s, errno_from_sqlite(rc), "%s: %s", what, msg);
}

static void held_release(struct held *h)
{
        if (!h->st)
                return;
        if (h->st == h->s->stmt[h->id]) {
                /* Reset at once: a SELECT left mid-walk would pin a read
                 * snapshot and hold back WAL checkpoints. */
                sqlite3_reset(h->st);
                sqlite3_clear_bindings(h->st);
        } else {
                sqlite3_finalize(h->st);
        }
        h->st = NULL;
}

static int stmt_acquire(struct store *s, enum stmt_id id, struct held *ret)
{
        sqlite3_stmt *st = s->stmt[id];
        int rc;

        if (!sqlite3_stmt_busy(st)) {
                *ret = (struct held) { .s = s, .st = st, .id = id };
                return 0;
        }
        /* The cached one is mid-walk: a callback started the same walk again.
         * Nest with a private copy. */
        rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, 0, &st, NULL);
        if (rc != SQLITE_OK)
                return store_sqlite_fail(s, rc, "prepare");
        *ret = (struct held) { .s = s, .st = st, .id = id };
        return 0;
}

/* Named parameters that a variant of a statement does not use are skipped. */
static int bind_named_text(struct store *s, sqlite3_stmt *st, const char *name, const char *v)
{
        int i = sqlite3_bind_parameter_index(st, name), rc;

        if (i == 0)
                return 0;
        rc = v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
        return rc == SQLITE_OK ? 0 : store_sqlite_fail(s, rc, "bind");
}

static int bind_named_int(struct store *s, sqlite3_stmt *st, const char *name, int64_t v, bool null)
{
        int i = sqlite3_bind_parameter_index(st, name), rc;

        if (i == 0)
                return 0;
        rc = null ? sqlite3_bind_null(st, i) : sqlite3_bind_int64(st, i, v);
        return rc == SQLITE_OK ? 0 : store_sqlite_fail(s, rc, "bind");
}

/* A fixed-size field must be NUL-terminated inside its buffer: anything else
 * is a caller bug that would otherwise read past the struct. */
static int bind_field(struct store *s, sqlite3_stmt *st, int i, const char *v, size_t size,
                      const char *field)
{
        size_t n = strnlen(v, size);
        int rc;

        if (n >= size)
                return store_fail(s, -EINVAL, "%s is not NUL-terminated", field);
        rc = sqlite3_bind_text(st, i, v, (int) n, SQLITE_STATIC);
        return rc == SQLITE_OK ? 0 : store_sqlite_fail(s, rc, "bind");
}

static int bind_int(struct store *s, sqlite3_stmt *st, int i, int64_t v)
{
        int rc = sqlite3_bind_int64(st, i, v);

        return rc == SQLITE_OK ? 0 : store_sqlite_fail(s, rc, "bind");
}

/* 0 means "unset" in the structs and NULL in the tables. */
static int bind_time(struct store *s, sqlite3_stmt *st, int i, int64_t v)
{
        int rc = v == 0 ? sqlite3_bind_null(st, i) : sqlite3_bind_int64(st, i, v);

        return rc == SQLITE_OK ? 0 : store_sqlite_fail(s, rc, "bind");
}

static int bind_text(struct store *s, sqlite3_stmt *st, int i, const char *v)
{
        int rc = sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);

        return rc == SQLITE_OK ? 0 : store_sqlite_fail(s, rc, "bind");
}

/* Text read back from disk: a value that does not fit is a damaged or forged
 * row, refused rather than cut short. */
static int column_field(struct store *s, sqlite3_stmt *st, int col, char *dst, size_t size)
{
        const unsigned char *v;
        int n;

        if (sqlite3_column_type(st, col) != SQLITE_TEXT)
                return store_fail(s, -EBADMSG, "column %s is not text", sqlite3_column_name(st, col));
        v = sqlite3_column_text(st, col);
        if (!v)
                return store_fail(s, -ENOMEM, "out of memory reading %s", sqlite3_column_name(st, col));
        n = sqlite3_column_bytes(st, col);
        if (n < 0 || (size_t) n >= size || memchr(v, '\0', (size_t) n))
                return store_fail(s, -EBADMSG, "column %s holds %d bytes, at most %zu fit",
                                  sqlite3_column_name(st, col), n, size - 1);
        memcpy(dst, v, (size_t) n);
        dst[n] = '\0';
        return 0;
}

static int column_int(struct store *s, sqlite3_stmt *st, int col, int64_t min, int64_t max,
                      int64_t *ret)
{
        int64_t v;

        if (sqlite3_column_type(st, col) != SQLITE_INTEGER)
                return store_fail(s, -EBADMSG, "column %s is not an integer", sqlite3_column_name(st, col));
        v = sqlite3_column_int64(st, col);
        if (v < min || v > max)
                return store_fail(s, -EBADMSG, "column %s out of range", sqlite3_column_name(st, col));
        *ret = v;
        return 0;
}

static int column_time(struct store *s, sqlite3_stmt *st, int col, int64_t *ret)
{
        if (sqlite3_column_type(st, col) == SQLITE_NULL) {
                *ret = 0;
                return 0;
        }
        return column_int(s, st, col, INT64_MIN, INT64_MAX, ret);
}

static int read_grant(struct store *s, sqlite3_stmt *st, struct jit_grant *g)
{
        char state[32];
        int64_t v;
        int r;

        memset(g, 0, sizeof(*g));
        if ((r = column_int(s, st, 0, 1, INT64_MAX, &g->id)) < 0 ||
            (r = column_field(s, st, 1, g->user, sizeof(g->user))) < 0 ||
            (r = column_int(s, st, 2, 0, UINT32_MAX, &v)) < 0)
                return r;
        g->uid = (uint32_t) v;
        if ((r = column_field(s, st, 3, g->host, sizeof(g->host))) < 0 ||
            (r = column_field(s, st, 4, g->role, sizeof(g->role))) < 0 ||
            (r = column_field(s, st, 5, g->ticket, sizeof(g->ticket))) < 0 ||
            (r = column_field(s, st, 6, g->reason, sizeof(g->reason))) < 0 ||
            (r = column_int(s, st, 7, 0, INT64_MAX, &v)) < 0)
                return r;
        g->duration = (uint64_t) v;
        if ((r = column_field(s, st, 8, state, sizeof(state))) < 0)
                return r;
        if (grant_state_from_string(state, &g->state) < 0)
                return store_fail(s, -EBADMSG, "grant %" PRId64 " has unknown state '%s'", g->id, state);
        if ((r = column_time(s, st, 9, &g->requested_at)) < 0 ||
            (r = column_time(s, st, 10, &g->approved_at)) < 0 ||
            (r = column_time(s, st, 11, &g->starts_at)) < 0 ||
            (r = column_time(s, st, 12, &g->expires_at)) < 0 ||
            (r = column_time(s, st, 13, &g->ended_at)) < 0 ||
            (r = column_field(s, st, 14, g->end_reason, sizeof(g->end_reason))) < 0 ||
            (r = column_field(s, st, 15, g->approvers, sizeof(g->approvers))) < 0 ||
            (r = column_int(s, st, 16, 0, UINT32_MAX, &v)) < 0)
                return r;
        g->approvals_needed = (uint32_t) v;
        if ((r = column_field(s, st, 17, g->approval, sizeof(g->approval))) < 0 ||
            (r = column_int(s, st, 18, 0, 1, &v)) < 0)
                return r;
        g->break_glass = v != 0;
        return column_field(s, st, 19, g->review, sizeof(g->review));
}

/* ?1..?19 in GRANT_COLUMNS order, without id. */
static int bind_grant(struct store *s, sqlite3_stmt *st, const struct jit_grant *g)
{
        const char *state;
        int r;

        if ((unsigned) g->state >= GRANT_STATE_MAX_ || !(state = grant_state_to_string(g->state)))
                return store_fail(s, -EINVAL, "invalid grant state %d", (int) g->state);
        if (g->duration > INT64_MAX)
                return store_fail(s, -EINVAL, "grant duration out of range");
        if ((r = bind_field(s, st, 1, g->user, sizeof(g->user), "user")) < 0 ||
            (r = bind_int(s, st, 2, g->uid)) < 0 ||
            (r = bind_field(s, st, 3, g->host, sizeof(g->host), "host")) < 0 ||
            (r = bind_field(s, st, 4, g->role, sizeof(g->role), "role")) < 0 ||
            (r = bind_field(s, st, 5, g->ticket, sizeof(g->ticket), "ticket")) < 0 ||
            (r = bind_field(s, st, 6, g->reason, sizeof(g->reason), "reason")) < 0 ||
            (r = bind_int(s, st, 7, (int64_t) g->duration)) < 0 ||
            (r = bind_text(s, st, 8, state)) < 0 ||
            (r = bind_time(s, st, 9, g->requested_at)) < 0 ||
            (r = bind_time(s, st, 10, g->approved_at)) < 0 ||
            (r = bind_time(s, st, 11, g->starts_at)) < 0 ||
            (r = bind_time(s, st, 12, g->expires_at)) < 0 ||
            (r = bind_time(s, st, 13, g->ended_at)) < 0 ||
            (r = bind_field(s, st, 14, g->end_reason, sizeof(g->end_reason), "end_reason")) < 0 ||
            (r = bind_field(s, st, 15, g->approvers, sizeof(g->approvers), "approvers")) < 0 ||
            (r = bind_int(s, st, 16, g->approvals_needed)) < 0 ||
            (r = bind_field(s, st, 17, g->approval, sizeof(g->approval), "approval")) < 0 ||
            (r = bind_int(s, st, 18, g->break_glass ? 1 : 0)) < 0)
                return r;
        return bind_field(s, st, 19, g->review, sizeof(g->review), "review");
}

/* Run a statement that returns no rows. */
static int step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
        int rc = sqlite3_step(st);

        if (rc == SQLITE_DONE)
                return 0;
        if (rc == SQLITE_ROW)
                return store_fail(s, -EIO, "%s: unexpected row", what);
        return store_sqlite_fail(s, rc, what);
}

/* Run a one-row, one-integer query (pragmas, counts). */
static int query_int(struct store *s, const char *sql, int64_t *ret)
{
        sqlite3_stmt *st = NULL;
        int rc, r;

        rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_sqlite_fail(s, rc, sql);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                *ret = sqlite3_column_int64(st, 0);
                r = 0;
        } else {
                r = store_sqlite_fail(s, rc == SQLITE_DONE ? SQLITE_NOTFOUND : rc, sql);
        }
        sqlite3_finalize(st);
        return r;
}

static int exec_sql(struct store *s, const char *sql, const char *what)
{
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

        return rc == SQLITE_OK ? 0 : store_sqlite_fail(s, rc, what);
}

/* Refuses a newer schema (this jitd would misread it) and another program's
 * database; gives the schema version otherwise. */
static int store_identify(struct store *s, int64_t *ret_version)
{
        int64_t version, app_id, objects;
        int r;

        if ((r = query_int(s, "PRAGMA user_version", &version)) < 0 ||
            (r = query_int(s, "PRAGMA application_id", &app_id)) < 0 ||
            (r = query_int(s, "SELECT count(*) FROM sqlite_schema", &objects)) < 0)
                return r;
        if (app_id != 0 && app_id != STORE_APPLICATION_ID)
                return store_fail(s, -EPROTONOSUPPORT, "not a jitd database (application_id %" PRId64 ")",
                                  app_id);
        if (version < 0 || version > STORE_SCHEMA_VERSION)
                return store_fail(s, -EPROTONOSUPPORT, "database schema version %" PRId64
                                  " is not supported (this jitd knows up to %d)", version, STORE_SCHEMA_VERSION);
        if (version == 0 && objects > 0)
                return store_fail(s, -EPROTONOSUPPORT, "not a jitd database (tables but no schema version)");
        *ret_version = version;
        return 0;
}

/* Creates our tables when the file is new and brings an older schema up to
 * date. The version is read again inside the write transaction so that two
 * daemons started at once cannot both run a step. */
static int store_migrate(struct store *s)
{
        char sql[64];
        int64_t version;
        int r;

        r = exec_sql(s, "BEGIN IMMEDIATE", "begin migration");
        if (r < 0)
                return r;
        r = store_identify(s, &version);
        if (r < 0)
                goto fail;
        if (version == STORE_SCHEMA_VERSION)
                return exec_sql(s, "COMMIT", "commit");
        for (int64_t v = version; v < STORE_SCHEMA_VERSION; v++) {
                r = exec_sql(s, migrations[v], "migrate");
                if (r < 0)
                        goto fail;
        }
        /* PRAGMAs take no parameters; these are our own integers. */
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
        if ((r = exec_sql(s, sql, "set user_version")) < 0)
                goto fail;
        snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", STORE_APPLICATION_ID);
        if ((r = exec_sql(s, sql, "set application_id")) < 0)
                goto fail;
        return exec_sql(s, "COMMIT", "commit migration");
fail:
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return r;
}

/* The database decides who may become root. Create it 0600 ourselves (SQLite
 * would use 0644 & ~umask) and refuse one that someone else could write. SQLite
 * gives the -wal and -shm files the database file's mode. */
static int store_prepare_file(const char *path)
{
        struct stat st;
        bool created = true;
        int fd, r = 0;

        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0 && errno == EEXIST) {
                created = false;
                fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        }
        if (fd < 0)
                return -errno;
        if (created && fchmod(fd, 0600) < 0)
                r = -errno;
        else if (fstat(fd, &st) < 0)
                r = -errno;
        else if (!S_ISREG(st.st_mode))
                r = -EINVAL;
        else if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
                r = -EPERM;
        close(fd);
        return r;
}

static void store_freep(struct store **s)
{
        store_free(*s);
}

int store_open(const char *path, struct store **ret)
{
        _cleanup_(store_freep) struct store *s = NULL;
        const unsigned char *mode;
        sqlite3_stmt *st = NULL;
        int64_t version;
        int r, rc;

        if (!path || !*path || !ret)
                return -EINVAL;
        r = store_prepare_file(path);
        if (r < 0)
                return r;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        if (strcmp(grant_state_to_string(GRANT_PENDING), "pending") != 0 ||
            strcmp(grant_state_to_string(GRANT_SCHEDULED), "scheduled") != 0 ||
            strcmp(grant_state_to_string(GRANT_ACTIVE), "active") != 0)
                return store_fail(s, -EINVAL, "grant state names changed: update OPEN_STATES_SQL");
        rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);
        sqlite3_extended_result_codes(s->db, 1);
        sqlite3_busy_timeout(s->db, OPEN_BUSY_TIMEOUT_MS);
        /* Defensive: no writable_schema or other ways to corrupt the file from
         * SQL. trusted_schema off: views and triggers in a tampered file cannot
         * call functions with side effects. */
        rc = sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
        if (rc != SQLITE_OK)
                return store_sqlite_fail(s, rc, "defensive mode");
        r = exec_sql(s, "PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF", "pragmas");
        if (r < 0)
                return r;

        /* Refuse a newer or foreign file before touching it, even its journal mode. */
        r = store_identify(s, &version);
        if (r < 0)
                return r;

        rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_sqlite_fail(s, rc, "journal_mode");
        rc = sqlite3_step(st);
        mode = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
        r = mode && strcmp((const char *) mode, "wal") == 0 ? 0 : -EIO;
        sqlite3_finalize(st);
        if (r < 0)
                return r;
        /* A committed grant or revocation must survive power loss: FULL syncs
         * the WAL at every commit (NORMAL would only sync at checkpoints). */
        r = exec_sql(s, "PRAGMA synchronous = FULL", "synchronous");
        if (r < 0)
                return r;
        /* 512 KiB of page cache, not SQLite's 2 MiB: a PAM check reads a few
         * pages (grants_open_user and the user's open grants), while a walk
         * of every open grant (deadlines, at start and at each end) reads
         * one page per grant and fills any cache to its cap, and re-reading
         * those from the kernel's page cache is as fast as a hit (~1 ms for
         * 500 open grants either way). Measured at 100k grants: 1.5 MiB less
         * heap, the same check latency. */
        r = exec_sql(s, "PRAGMA cache_size = -512", "cache_size");
        if (r < 0)
                return r;

        r = store_migrate(s);
        if (r < 0)
                return r;

        /* All up front: a typo in any statement fails here, and the ones that
         * store_rollback() needs can no longer fail to prepare later. */
        for (size_t i = 0; i < STMT_MAX_; i++) {
                rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                        &s->stmt[i], NULL);
                if (rc != SQLITE_OK)
                        return store_sqlite_fail(s, rc, stmt_sql[i]);
        }

        sqlite3_busy_timeout(s->db, 0);
        *ret = TAKE_PTR(s);
        return 0;
}

void store_free(struct store *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < STMT_MAX_; i++)
                sqlite3_finalize(s->stmt[i]);
        /* sqlite3_close (not _v2): everything is finalized, so it cannot defer. */
        sqlite3_close(s->db);
        free(s);
}

sqlite3 *store_sqlite(struct store *s)
{
        return s->db;
}

int store_sqlite_error(struct store *s, int rc, const char *what)
{
        return store_sqlite_fail(s, rc, what);
}

const char *store_last_error(const struct store *s)
{
        if (!s)
                return "no store";
        return s->error[0] ? s->error : "no error";
}

int store_begin(struct store *s)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r;

        if (!sqlite3_get_autocommit(s->db))
                return store_fail(s, -EINVAL, "a transaction is already open");
        r = stmt_acquire(s, STMT_BEGIN, &h);
        if (r < 0)
                return r;
        return step_done(s, h.st, "begin");
}

/* Run one of the cached pragma statements (they cannot fail to prepare). */
static void exec_cached(struct store *s, enum stmt_id id)
{
        sqlite3_stmt *st = s->stmt[id];

        (void) sqlite3_step(st);
        sqlite3_reset(st);
}

/* Session bookkeeping is written on the path of every sudo and ssh login;
 * it need not survive a power loss (which ends the sessions too), only a
 * jitd crash, which WAL commits survive without an fsync. Grants and their
 * audit events keep synchronous = FULL. */
int store_begin_relaxed(struct store *s)
{
        int r;

        if (!sqlite3_get_autocommit(s->db))
                return store_fail(s, -EINVAL, "a transaction is already open");
        exec_cached(s, STMT_SYNC_NORMAL);
        s->relaxed = true;
        r = store_begin(s);
        if (r < 0) {
                exec_cached(s, STMT_SYNC_FULL);
                s->relaxed = false;
        }
        return r;
}

static void end_relaxed(struct store *s)
{
        if (s->relaxed && sqlite3_get_autocommit(s->db)) {
                exec_cached(s, STMT_SYNC_FULL);
                s->relaxed = false;
        }
}

int store_commit(struct store *s)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r;

        if (sqlite3_get_autocommit(s->db))
                return store_fail(s, -EINVAL, "commit without a transaction");
        r = stmt_acquire(s, STMT_COMMIT, &h);
        if (r < 0)
                return r;
        /* On failure the transaction stays open; the caller rolls back. */
        r = step_done(s, h.st, "commit");
        held_release(&h);
        end_relaxed(s);
        return r;
}

void store_rollback(struct store *s)
{
        sqlite3_stmt *st;

        if (!s || sqlite3_get_autocommit(s->db))
                return;
        /* The cached statement, prepared at open, so this cannot fail to prepare. */
        st = s->stmt[STMT_ROLLBACK];
        if (sqlite3_step(st) != SQLITE_DONE)
                store_sqlite_fail(s, sqlite3_errcode(s->db), "rollback");
        sqlite3_reset(st);
        end_relaxed(s);
}

int store_grant_insert(struct store *s, struct jit_grant *g)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r;

        r = stmt_acquire(s, STMT_GRANT_INSERT, &h);
        if (r < 0)
                return r;
        r = bind_grant(s, h.st, g);
        if (r < 0)
                return r;
        r = step_done(s, h.st, "insert grant");
        if (r < 0)
                return r;
        g->id = sqlite3_last_insert_rowid(s->db);
        return 0;
}

int store_grant_update(struct store *s, const struct jit_grant *g)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r;

        r = stmt_acquire(s, STMT_GRANT_UPDATE, &h);
        if (r < 0)
                return r;
        if ((r = bind_grant(s, h.st, g)) < 0 ||
            (r = bind_int(s, h.st, 20, g->id)) < 0 ||
            (r = step_done(s, h.st, "update grant")) < 0)
                return r;
        if (sqlite3_changes(s->db) == 0)
                return store_fail(s, -ENOENT, "no grant %" PRId64, g->id);
        return 0;
}

int store_grant_get(struct store *s, int64_t id, struct jit_grant *ret)
{
        _cleanup_(held_release) struct held h = { 0 };
        struct jit_grant g;
        int r, rc;

        r = stmt_acquire(s, STMT_GRANT_GET, &h);
        if (r < 0)
                return r;
        r = bind_int(s, h.st, 1, id);
        if (r < 0)
                return r;
        rc = sqlite3_step(h.st);
        if (rc == SQLITE_DONE)
                return store_fail(s, -ENOENT, "no grant %" PRId64, id);
        if (rc != SQLITE_ROW)
                return store_sqlite_fail(s, rc, "get grant");
        r = read_grant(s, h.st, &g);
        if (r < 0)
                return r;
        *ret = g;
        return 0;
}

int store_grant_foreach(struct store *s, const struct store_filter *f,
                        int (*cb)(const struct jit_grant *g, void *userdata), void *userdata)
{
        static const char *const state_params[] = { ":s0", ":s1", ":s2", ":s3", ":s4", ":s5", ":s6", ":s7" };
        static const struct store_filter none = { 0 };
        _cleanup_(held_release) struct held h = { 0 };
        struct jit_grant g;
        int r, rc;

        if (!cb)
                return -EINVAL;
        if (!f)
                f = &none;
        if (f->states & ~GRANT_STATES_ALL)
                return store_fail(s, -EINVAL, "unknown state bits 0x%x", f->states);
        if (f->limit < 0)
                return store_fail(s, -EINVAL, "negative limit");
        r = stmt_acquire(s, f->user && f->states == GRANT_STATES_OPEN ? STMT_GRANT_FOREACH_USER_OPEN :
                         STMT_GRANT_FOREACH + (f->user ? 1 : 0) + (f->states ? 2 : 0), &h);
        if (r < 0)
                return r;
        if ((r = bind_named_text(s, h.st, ":user", f->user)) < 0 ||
            (r = bind_named_text(s, h.st, ":role", f->role)) < 0 ||
            (r = bind_named_int(s, h.st, ":since", f->since, f->since == 0)) < 0 ||
            (r = bind_named_int(s, h.st, ":after", f->after_id, false)) < 0 ||
            /* LIMIT -1 is SQLite's "no limit". */
            (r = bind_named_int(s, h.st, ":limit", f->limit ? f->limit : -1, false)) < 0)
                return r;
        /* States not asked for stay NULL, which "IN" never matches. */
        for (unsigned i = 0; i < GRANT_STATE_MAX_; i++)
                if ((f->states & GRANT_STATE_MASK(i)) &&
                    (r = bind_named_text(s, h.st, state_params[i], grant_state_to_string(i))) < 0)
                        return r;

        while ((rc = sqlite3_step(h.st)) == SQLITE_ROW) {
                r = read_grant(s, h.st, &g);
                if (r < 0)
                        return r;
                r = cb(&g, userdata);
                if (r < 0)
                        return r;
        }
        return rc == SQLITE_DONE ? 0 : store_sqlite_fail(s, rc, "list grants");
}

int store_next_deadline(struct store *s, int64_t *ret)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r, rc;

        r = stmt_acquire(s, STMT_NEXT_DEADLINE, &h);
        if (r < 0)
                return r;
        if ((r = bind_named_text(s, h.st, ":active", grant_state_to_string(GRANT_ACTIVE))) < 0 ||
            (r = bind_named_text(s, h.st, ":scheduled", grant_state_to_string(GRANT_SCHEDULED))) < 0)
                return r;
        rc = sqlite3_step(h.st);
        if (rc != SQLITE_ROW)
                return store_sqlite_fail(s, rc, "next deadline");
        if (sqlite3_column_type(h.st, 0) == SQLITE_NULL)
                return -ENOENT;
        *ret = sqlite3_column_int64(h.st, 0);
        return 0;
}

int store_approval_add(struct store *s, int64_t grant_id, uid_t uid, const char *name,
                       bool approve, const char *note, int64_t at)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r;

        if (!name || strlen(name) > JIT_USER_MAX)
                return store_fail(s, -EINVAL, "invalid approver name");
        if (!note)
                note = "";
        if (strlen(note) > JIT_REASON_MAX)
                return store_fail(s, -EINVAL, "approval note too long");
        r = stmt_acquire(s, STMT_APPROVAL_ADD, &h);
        if (r < 0)
                return r;
        if ((r = bind_int(s, h.st, 1, grant_id)) < 0 ||
            (r = bind_int(s, h.st, 2, (int64_t) uid)) < 0 ||
            (r = bind_text(s, h.st, 3, name)) < 0 ||
            (r = bind_int(s, h.st, 4, approve ? 1 : 0)) < 0 ||
            (r = bind_text(s, h.st, 5, note)) < 0 ||
            (r = bind_time(s, h.st, 6, at)) < 0)
                return r;
        return step_done(s, h.st, "add approval");
}

/* A statement that binds one integer and yields one integer (or NULL:
 * -ENOENT). */
static int query_int_arg(struct store *s, enum stmt_id id, int64_t arg, int64_t *ret, const char *what)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r, rc;

        r = stmt_acquire(s, id, &h);
        if (r < 0)
                return r;
        r = bind_int(s, h.st, 1, arg);
        if (r < 0)
                return r;
        rc = sqlite3_step(h.st);
        if (rc != SQLITE_ROW)
                return store_sqlite_fail(s, rc, what);
        if (sqlite3_column_type(h.st, 0) == SQLITE_NULL)
                return -ENOENT;
        *ret = sqlite3_column_int64(h.st, 0);
        return 0;
}

int store_approval_count(struct store *s, int64_t grant_id, unsigned *ret)
{
        int64_t n;
        int r = query_int_arg(s, STMT_APPROVAL_COUNT, grant_id, &n, "count approvals");

        if (r < 0)
                return r;
        *ret = (unsigned) n;
        return 0;
}

/* The audit table holds the chain; audit.c computes and checks it. */

int store_audit_tail(struct store *s, int64_t *ret_seq, char ret_hash[STORE_HASH_LEN + 1])
{
        _cleanup_(held_release) struct held h = { 0 };
        const unsigned char *v;
        int r, rc;

        r = stmt_acquire(s, STMT_AUDIT_TAIL, &h);
        if (r < 0)
                return r;
        rc = sqlite3_step(h.st);
        if (rc == SQLITE_DONE) {
                *ret_seq = 0;
                memset(ret_hash, '0', STORE_HASH_LEN);
                ret_hash[STORE_HASH_LEN] = '\0';
                return 0;
        }
        if (rc != SQLITE_ROW)
                return store_sqlite_fail(s, rc, "audit tail");
        v = sqlite3_column_text(h.st, 1);
        if (sqlite3_column_type(h.st, 0) != SQLITE_INTEGER || !v ||
            sqlite3_column_bytes(h.st, 1) != STORE_HASH_LEN)
                return store_fail(s, -EBADMSG, "the newest audit event is malformed");
        *ret_seq = sqlite3_column_int64(h.st, 0);
        memcpy(ret_hash, v, STORE_HASH_LEN);
        ret_hash[STORE_HASH_LEN] = '\0';
        return 0;
}

int store_audit_last_key(struct store *s, int64_t *ret_seq, char *ret_details, size_t size)
{
        _cleanup_(held_release) struct held h = { 0 };
        int64_t seq;
        int r, rc;

        r = stmt_acquire(s, STMT_AUDIT_LAST_KEY, &h);
        if (r < 0)
                return r;
        rc = sqlite3_step(h.st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return store_sqlite_fail(s, rc, "audit-key events");
        if ((r = column_int(s, h.st, 0, 1, INT64_MAX, &seq)) < 0 ||
            (r = column_field(s, h.st, 1, ret_details, size)) < 0)
                return r;
        *ret_seq = seq;
        return 0;
}

int store_audit_insert(struct store *s, const struct audit_event *e)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r;

        /* The event lives or dies with the state change it records. */
        if (sqlite3_get_autocommit(s->db))
                return store_fail(s, -EINVAL, "audit event outside a transaction");
        if (!e->details || strnlen(e->actor, sizeof(e->actor)) >= sizeof(e->actor) || !e->event[0] ||
            strnlen(e->event, sizeof(e->event)) >= sizeof(e->event))
                return store_fail(s, -EINVAL, "invalid audit event");
        r = stmt_acquire(s, STMT_AUDIT_INSERT, &h);
        if (r < 0)
                return r;
        if ((r = bind_int(s, h.st, 1, e->seq)) < 0 ||
            (r = bind_int(s, h.st, 2, e->at)) < 0 ||
            (r = bind_int(s, h.st, 3, (int64_t) e->actor_uid)) < 0 ||
            (r = bind_text(s, h.st, 4, e->actor)) < 0 ||
            (r = bind_time(s, h.st, 5, e->grant_id)) < 0 ||
            (r = bind_text(s, h.st, 6, e->event)) < 0 ||
            (r = bind_text(s, h.st, 7, e->details)) < 0 ||
            (r = bind_field(s, h.st, 8, e->prev_hash, sizeof(e->prev_hash), "prev_hash")) < 0 ||
            (r = bind_field(s, h.st, 9, e->hash, sizeof(e->hash), "hash")) < 0)
                return r;
        return step_done(s, h.st, "append audit event");
}

static int read_audit(struct store *s, sqlite3_stmt *st, struct audit_event *e)
{
        int64_t v;
        int r;

        memset(e, 0, sizeof(*e));
        if ((r = column_int(s, st, 0, 1, INT64_MAX, &e->seq)) < 0 ||
            (r = column_int(s, st, 1, INT64_MIN, INT64_MAX, &e->at)) < 0 ||
            (r = column_int(s, st, 2, 0, UINT32_MAX, &v)) < 0)
                return r;
        e->actor_uid = (uid_t) v;
        if ((r = column_field(s, st, 3, e->actor, sizeof(e->actor))) < 0 ||
            (r = column_time(s, st, 4, &e->grant_id)) < 0 ||
            (r = column_field(s, st, 5, e->event, sizeof(e->event))) < 0 ||
            (r = column_field(s, st, 7, e->prev_hash, sizeof(e->prev_hash))) < 0 ||
            (r = column_field(s, st, 8, e->hash, sizeof(e->hash))) < 0)
                return r;
        if (sqlite3_column_type(st, 6) != SQLITE_TEXT)
                return store_fail(s, -EBADMSG, "audit event %" PRId64 " has no details", e->seq);
        e->details = (const char *) sqlite3_column_text(st, 6);
        if (!e->details)
                return store_fail(s, -ENOMEM, "out of memory reading audit details");
        return 0;
}

int store_audit_foreach(struct store *s, const struct store_audit_filter *f,
                        int (*cb)(const struct audit_event *e, void *userdata), void *userdata)
{
        static const struct store_audit_filter none = { 0 };
        _cleanup_(held_release) struct held h = { 0 };
        struct audit_event e;
        int r, rc;

        if (!cb)
                return -EINVAL;
        if (!f)
                f = &none;
        r = stmt_acquire(s, STMT_AUDIT_FOREACH + (f->since ? 1 : 0) + (f->grant_id ? 2 : 0), &h);
        if (r < 0)
                return r;
        if ((r = bind_named_int(s, h.st, ":since", f->since, false)) < 0 ||
            (r = bind_named_int(s, h.st, ":grant", f->grant_id, false)) < 0 ||
            (r = bind_named_int(s, h.st, ":after", f->after_seq, false)) < 0 ||
            (r = bind_named_int(s, h.st, ":limit", f->limit > 0 ? f->limit : -1, false)) < 0)
                return r;
        while ((rc = sqlite3_step(h.st)) == SQLITE_ROW) {
                r = read_audit(s, h.st, &e);
                if (r < 0)
                        return r;
                r = cb(&e, userdata);
                if (r < 0)
                        return r;
        }
        return rc == SQLITE_DONE ? 0 : store_sqlite_fail(s, rc, "list audit events");
}

/* Column text and length, or NULL when the column is not text at all. */
static const char *column_raw(sqlite3_stmt *st, int col, size_t *ret_len)
{
        const char *v;

        if (sqlite3_column_type(st, col) != SQLITE_TEXT)
                return NULL;
        v = (const char *) sqlite3_column_text(st, col);
        *ret_len = (size_t) sqlite3_column_bytes(st, col);
        return v;
}

/* Rows read raw, not through struct audit_event, so that a forged over-long
 * or mistyped field is reported by the verifier as a broken chain rather than
 * as a read error. */
int store_audit_walk_raw(struct store *s, int64_t after_seq,
                         int (*cb)(const struct audit_raw *e, void *userdata), void *userdata)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r, rc;

        r = stmt_acquire(s, STMT_AUDIT_VERIFY, &h);
        if (r < 0)
                return r;
        r = bind_int(s, h.st, 1, after_seq);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(h.st)) == SQLITE_ROW) {
                struct audit_raw e = { 0 };

                e.seq = sqlite3_column_int64(h.st, 0);
                e.typed = sqlite3_column_type(h.st, 1) == SQLITE_INTEGER &&
                          sqlite3_column_type(h.st, 2) == SQLITE_INTEGER &&
                          (sqlite3_column_type(h.st, 4) == SQLITE_INTEGER ||
                           sqlite3_column_type(h.st, 4) == SQLITE_NULL);
                e.at = sqlite3_column_int64(h.st, 1);
                e.actor_uid = sqlite3_column_int64(h.st, 2);
                e.grant_id = sqlite3_column_int64(h.st, 4);
                e.actor = column_raw(h.st, 3, &e.actor_len);
                e.event = column_raw(h.st, 5, &e.event_len);
                e.details = column_raw(h.st, 6, &e.details_len);
                e.prev_hash = column_raw(h.st, 7, &e.prev_hash_len);
                e.hash = column_raw(h.st, 8, &e.hash_len);
                r = cb(&e, userdata);
                if (r != 0)
                        return r;
        }
        return rc == SQLITE_DONE ? 0 : store_sqlite_fail(s, rc, "read the audit chain");
}

static int read_session(struct store *s, sqlite3_stmt *st, struct jit_session *ret)
{
        struct jit_session x = { 0 };
        int64_t pid, start;
        int r;

        x.id = sqlite3_column_int64(st, 0);
        x.grant_id = sqlite3_column_int64(st, 1);
        if ((r = column_int(s, st, 2, 1, INT32_MAX, &pid)) < 0 ||
            (r = column_field(s, st, 3, x.service, sizeof(x.service))) < 0 ||
            (r = column_field(s, st, 4, x.tty, sizeof(x.tty))) < 0 ||
            (r = column_field(s, st, 5, x.rhost, sizeof(x.rhost))) < 0 ||
            (r = column_field(s, st, 6, x.handle, sizeof(x.handle))) < 0 ||
            (r = column_time(s, st, 7, &x.opened_at)) < 0 ||
            (r = column_time(s, st, 8, &x.closed_at)) < 0 ||
            (r = column_int(s, st, 9, 0, INT64_MAX, &start)) < 0 ||
            (r = column_field(s, st, 10, x.target, sizeof(x.target))) < 0)
                return r;
        x.pid = (pid_t) pid;
        x.pid_start = (uint64_t) start;
        *ret = x;
        return 0;
}

int store_session_insert(struct store *s, struct jit_session *x)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r;

        if (x->pid <= 0 || !x->grant_id || x->pid_start > INT64_MAX)
                return store_fail(s, -EINVAL, "invalid session");
        r = stmt_acquire(s, STMT_SESSION_INSERT, &h);
        if (r < 0)
                return r;
        if ((r = bind_int(s, h.st, 1, x->grant_id)) < 0 ||
            (r = bind_int(s, h.st, 2, x->pid)) < 0 ||
            (r = bind_field(s, h.st, 3, x->service, sizeof(x->service), "service")) < 0 ||
            (r = bind_field(s, h.st, 4, x->tty, sizeof(x->tty), "tty")) < 0 ||
            (r = bind_field(s, h.st, 5, x->rhost, sizeof(x->rhost), "rhost")) < 0 ||
            (r = bind_field(s, h.st, 6, x->handle, sizeof(x->handle), "handle")) < 0 ||
            (r = bind_int(s, h.st, 7, x->opened_at)) < 0 ||
            (r = bind_int(s, h.st, 8, (int64_t) x->pid_start)) < 0 ||
            (r = bind_field(s, h.st, 9, x->target, sizeof(x->target), "target")) < 0)
                return r;
        r = step_done(s, h.st, "insert session");
        if (r < 0)
                return r;
        x->id = sqlite3_last_insert_rowid(s->db);
        return 0;
}

int store_session_set_handle(struct store *s, int64_t id, const char *handle)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r;

        if (!handle || strlen(handle) >= sizeof(((struct jit_session *) 0)->handle))
                return store_fail(s, -EINVAL, "invalid session handle");
        r = stmt_acquire(s, STMT_SESSION_SET_HANDLE, &h);
        if (r < 0)
                return r;
        if ((r = bind_int(s, h.st, 1, id)) < 0 || (r = bind_text(s, h.st, 2, handle)) < 0)
                return r;
        return step_done(s, h.st, "set session handle");
}

/* Closing and tearing down differ only in what they set. */
static int session_end(struct store *s, enum stmt_id stmt, int64_t id, int64_t at, const char *reason,
                       const char *what)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r;

        if (!reason)
                reason = "";
        if (strlen(reason) > JIT_REASON_MAX)
                return store_fail(s, -EINVAL, "session end reason too long");
        r = stmt_acquire(s, stmt, &h);
        if (r < 0)
                return r;
        if ((r = bind_int(s, h.st, 1, id)) < 0 || (r = bind_int(s, h.st, 2, at)) < 0 ||
            (r = bind_text(s, h.st, 3, reason)) < 0)
                return r;
        return step_done(s, h.st, what);
}

int store_session_close(struct store *s, int64_t id, int64_t at, const char *reason)
{
        return session_end(s, STMT_SESSION_CLOSE, id, at, reason, "close session");
}

int store_session_find_open(struct store *s, pid_t pid, struct jit_session *ret)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r, rc;

        r = stmt_acquire(s, STMT_SESSION_BY_PID, &h);
        if (r < 0)
                return r;
        r = bind_int(s, h.st, 1, pid);
        if (r < 0)
                return r;
        rc = sqlite3_step(h.st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return store_sqlite_fail(s, rc, "find session");
        return read_session(s, h.st, ret);
}

int store_session_torn_down(struct store *s, int64_t id, int64_t at, const char *reason)
{
        return session_end(s, STMT_SESSION_TORN_DOWN, id, at, reason, "tear down session");
}

int store_session_foreach_live(struct store *s, int64_t grant_id,
                               int (*cb)(const struct jit_session *x, void *userdata), void *userdata)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r, rc;

        r = stmt_acquire(s, grant_id ? STMT_SESSION_OPEN_GRANT : STMT_SESSION_OPEN_ALL, &h);
        if (r < 0)
                return r;
        if (grant_id && (r = bind_int(s, h.st, 1, grant_id)) < 0)
                return r;
        while ((rc = sqlite3_step(h.st)) == SQLITE_ROW) {
                struct jit_session x;

                r = read_session(s, h.st, &x);
                if (r < 0)
                        return r;
                r = cb(&x, userdata);
                if (r < 0)
                        return r;
        }
        if (rc != SQLITE_DONE)
                return store_sqlite_fail(s, rc, "walk sessions");
        return 0;
}

int store_session_foreach_live_page(struct store *s, int64_t after_id, int64_t limit,
                                    int (*cb)(const struct jit_session *x, void *userdata), void *userdata)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r, rc;

        r = stmt_acquire(s, STMT_SESSION_OPEN_PAGE, &h);
        if (r < 0)
                return r;
        if ((r = bind_int(s, h.st, 1, after_id)) < 0 || (r = bind_int(s, h.st, 2, limit)) < 0)
                return r;
        while ((rc = sqlite3_step(h.st)) == SQLITE_ROW) {
                struct jit_session x;

                r = read_session(s, h.st, &x);
                if (r < 0)
                        return r;
                r = cb(&x, userdata);
                if (r < 0)
                        return r;
        }
        if (rc != SQLITE_DONE)
                return store_sqlite_fail(s, rc, "walk sessions");
        return 0;
}

int store_next_expiry_after(struct store *s, int64_t after, int64_t *ret)
{
        return query_int_arg(s, STMT_NEXT_EXPIRY_AFTER, after, ret, "next expiry");
}

int store_count_overdue_reviews(struct store *s, int64_t cutoff, uint64_t *ret)
{
        int64_t n;
        int r = query_int_arg(s, STMT_OVERDUE_REVIEWS, cutoff, &n, "count overdue reviews");

        if (r < 0)
                return r;
        *ret = (uint64_t) n;
        return 0;
}

int store_extension_put(struct store *s, const struct jit_extension *x)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r;

        if (x->duration == 0 || x->duration > INT64_MAX)
                return store_fail(s, -EINVAL, "invalid extension");
        r = stmt_acquire(s, STMT_EXT_PUT, &h);
        if (r < 0)
                return r;
        if ((r = bind_int(s, h.st, 1, x->grant_id)) < 0 ||
            (r = bind_int(s, h.st, 2, (int64_t) x->duration)) < 0 ||
            (r = bind_field(s, h.st, 3, x->reason, sizeof(x->reason), "reason")) < 0 ||
            (r = bind_int(s, h.st, 4, x->requested_at)) < 0 ||
            (r = bind_field(s, h.st, 5, x->approvers, sizeof(x->approvers), "approvers")) < 0)
                return r;
        return step_done(s, h.st, "store extension");
}

int store_extension_get(struct store *s, int64_t grant_id, struct jit_extension *ret)
{
        _cleanup_(held_release) struct held h = { 0 };
        struct jit_extension x = { .grant_id = grant_id };
        int64_t duration;
        int r, rc;

        r = stmt_acquire(s, STMT_EXT_GET, &h);
        if (r < 0)
                return r;
        r = bind_int(s, h.st, 1, grant_id);
        if (r < 0)
                return r;
        rc = sqlite3_step(h.st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return store_sqlite_fail(s, rc, "read extension");
        if ((r = column_int(s, h.st, 0, 1, INT64_MAX, &duration)) < 0 ||
            (r = column_field(s, h.st, 1, x.reason, sizeof(x.reason))) < 0 ||
            (r = column_time(s, h.st, 2, &x.requested_at)) < 0 ||
            (r = column_field(s, h.st, 3, x.approvers, sizeof(x.approvers))) < 0)
                return r;
        x.duration = (uint64_t) duration;
        *ret = x;
        return 0;
}

int store_extension_delete(struct store *s, int64_t grant_id)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r;

        r = stmt_acquire(s, STMT_EXT_DEL, &h);
        if (r < 0)
                return r;
        r = bind_int(s, h.st, 1, grant_id);
        if (r < 0)
                return r;
        return step_done(s, h.st, "delete extension");
}

int store_session_get(struct store *s, int64_t id, struct jit_session *ret)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r, rc;

        r = stmt_acquire(s, STMT_SESSION_GET, &h);
        if (r < 0)
                return r;
        r = bind_int(s, h.st, 1, id);
        if (r < 0)
                return r;
        rc = sqlite3_step(h.st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return store_sqlite_fail(s, rc, "get session");
        return read_session(s, h.st, ret);
}

int store_session_set_grant(struct store *s, int64_t id, int64_t grant_id)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r;

        r = stmt_acquire(s, STMT_SESSION_SET_GRANT, &h);
        if (r < 0)
                return r;
        if ((r = bind_int(s, h.st, 1, id)) < 0 || (r = bind_int(s, h.st, 2, grant_id)) < 0)
                return r;
        return step_done(s, h.st, "move session");
}

int store_session_count(struct store *s, int64_t grant_id, uint64_t *ret)
{
        int64_t n;
        int r = query_int_arg(s, STMT_SESSION_COUNT_GRANT, grant_id, &n, "count sessions");

        if (r < 0)
                return r;
        *ret = (uint64_t) n;
        return 0;
}

static int first_deadline(struct store *s, enum stmt_id id, bool (*skip)(int64_t id, void *userdata),
                          void *userdata, int64_t *ret)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r, rc;

        r = stmt_acquire(s, id, &h);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(h.st)) == SQLITE_ROW) {
                if (skip && skip(sqlite3_column_int64(h.st, 0), userdata))
                        continue;
                if (sqlite3_column_type(h.st, 1) != SQLITE_INTEGER)
                        continue;       /* an active grant without an end: nothing to wait for */
                *ret = sqlite3_column_int64(h.st, 1);
                return 0;
        }
        return rc == SQLITE_DONE ? -ENOENT : store_sqlite_fail(s, rc, "next deadline");
}

int store_next_deadline_skipping(struct store *s, bool (*skip)(int64_t id, void *userdata), void *userdata,
                                 int64_t *ret)
{
        int64_t a = 0, b = 0;
        int ra, rb;

        ra = first_deadline(s, STMT_DEADLINE_ACTIVE, skip, userdata, &a);
        if (ra < 0 && ra != -ENOENT)
                return ra;
        rb = first_deadline(s, STMT_DEADLINE_SCHEDULED, skip, userdata, &b);
        if (rb < 0 && rb != -ENOENT)
                return rb;
        if (ra == -ENOENT && rb == -ENOENT)
                return -ENOENT;
        *ret = ra == -ENOENT ? b : rb == -ENOENT ? a : (a < b ? a : b);
        return 0;
}

int store_due_foreach(struct store *s, int64_t now, int (*cb)(int64_t id, bool starting, void *userdata),
                      void *userdata)
{
        static const enum stmt_id which[] = { STMT_DUE_SCHEDULED, STMT_DUE_ACTIVE };
        int r, rc;

        for (size_t i = 0; i < ELEMENTSOF(which); i++) {
                _cleanup_(held_release) struct held h = { 0 };

                r = stmt_acquire(s, which[i], &h);
                if (r < 0)
                        return r;
                r = bind_int(s, h.st, 1, now);
                if (r < 0)
                        return r;
                while ((rc = sqlite3_step(h.st)) == SQLITE_ROW) {
                        r = cb(sqlite3_column_int64(h.st, 0), which[i] == STMT_DUE_SCHEDULED, userdata);
                        if (r < 0)
                                return r;
                }
                if (rc != SQLITE_DONE)
                        return store_sqlite_fail(s, rc, "due grants");
        }
        return 0;
}

int store_limit_pages(struct store *s, int64_t max_pages)
{
        char sql[64];
        int64_t now;
        int r;

        /* PRAGMAs take no parameters; this is our own integer. */
        snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %" PRId64, max_pages > 0 ? max_pages : INT64_C(4294967294));
        r = query_int(s, sql, &now);
        return r < 0 ? r : 0;
}

/* ---- the fleet ---------------------------------------------------------- */

int store_fleet_link(struct store *s, int64_t fleet_id, int64_t grant_id, int64_t ends_at)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r;

        if (fleet_id <= 0 || grant_id <= 0 || ends_at <= 0)
                return store_fail(s, -EINVAL, "invalid fleet link");
        r = stmt_acquire(s, STMT_FLEET_LINK, &h);
        if (r < 0)
                return r;
        if ((r = bind_int(s, h.st, 1, fleet_id)) < 0 || (r = bind_int(s, h.st, 2, grant_id)) < 0 ||
            (r = bind_int(s, h.st, 3, ends_at)) < 0)
                return r;
        return step_done(s, h.st, "link fleet grant");
}

int store_fleet_lookup(struct store *s, int64_t fleet_id, int64_t *ret_grant_id)
{
        return query_int_arg(s, STMT_FLEET_LOOKUP, fleet_id, ret_grant_id, "look fleet grant up");
}

int store_fleet_id_of(struct store *s, int64_t grant_id, int64_t *ret_fleet_id)
{
        return query_int_arg(s, STMT_FLEET_ID_OF, grant_id, ret_fleet_id, "look fleet id up");
}

int store_fleet_ends_at(struct store *s, int64_t grant_id, int64_t *ret_ends_at)
{
        return query_int_arg(s, STMT_FLEET_ENDS_AT, grant_id, ret_ends_at, "look fleet end up");
}

int store_fleet_refused_add(struct store *s, int64_t fleet_id, const char *why, int64_t at)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r;

        if (fleet_id <= 0 || !why)
                return store_fail(s, -EINVAL, "invalid fleet refusal");
        r = stmt_acquire(s, STMT_FLEET_REFUSED_ADD, &h);
        if (r < 0)
                return r;
        if ((r = bind_int(s, h.st, 1, fleet_id)) < 0 || (r = bind_text(s, h.st, 2, why)) < 0 ||
            (r = bind_int(s, h.st, 3, at)) < 0)
                return r;
        return step_done(s, h.st, "note fleet refusal");
}

/* The fleet's one-row counters (the change seq applied, the upload
 * position): 0 until first set, never negative. */
static int counter_get(struct store *s, enum stmt_id id, const char *what, int64_t *ret)
{
        int64_t v = 0;
        int r;

        r = query_int_arg(s, id, 1, &v, what);
        if (r == -ENOENT)
                v = 0;
        else if (r < 0)
                return r;
        *ret = v;
        return 0;
}

static int counter_set(struct store *s, enum stmt_id id, int64_t v, const char *invalid, const char *what)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r;

        if (v < 0)
                return store_fail(s, -EINVAL, "%s", invalid);
        r = stmt_acquire(s, id, &h);
        if (r < 0)
                return r;
        r = bind_int(s, h.st, 1, v);
        if (r < 0)
                return r;
        return step_done(s, h.st, what);
}

int store_fleet_seq_get(struct store *s, int64_t *ret)
{
        return counter_get(s, STMT_FLEET_SEQ_GET, "read fleet sequence", ret);
}

int store_fleet_seq_set(struct store *s, int64_t seq)
{
        return counter_set(s, STMT_FLEET_SEQ_SET, seq, "invalid fleet sequence", "store fleet sequence");
}

int store_fleet_end_put(struct store *s, const struct store_fleet_end *e)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r;

        if (!e || e->fleet_id <= 0)
                return store_fail(s, -EINVAL, "invalid fleet end");
        r = stmt_acquire(s, STMT_FLEET_END_PUT, &h);
        if (r < 0)
                return r;
        if ((r = bind_int(s, h.st, 1, e->fleet_id)) < 0 ||
            (r = bind_field(s, h.st, 2, e->kind, sizeof(e->kind), "kind")) < 0 ||
            (r = bind_field(s, h.st, 3, e->by, sizeof(e->by), "by")) < 0 ||
            (r = bind_field(s, h.st, 4, e->reason, sizeof(e->reason), "reason")) < 0 ||
            (r = bind_int(s, h.st, 5, e->at)) < 0)
                return r;
        return step_done(s, h.st, "queue fleet end");
}

int store_fleet_end_delete(struct store *s, int64_t fleet_id)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r;

        r = stmt_acquire(s, STMT_FLEET_END_DEL, &h);
        if (r < 0)
                return r;
        r = bind_int(s, h.st, 1, fleet_id);
        if (r < 0)
                return r;
        return step_done(s, h.st, "forget fleet end");
}

int store_fleet_end_next(struct store *s, int64_t after, struct store_fleet_end *ret)
{
        _cleanup_(held_release) struct held h = { 0 };
        struct store_fleet_end e = {};
        int r, rc;

        r = stmt_acquire(s, STMT_FLEET_END_NEXT, &h);
        if (r < 0)
                return r;
        r = bind_int(s, h.st, 1, after);
        if (r < 0)
                return r;
        rc = sqlite3_step(h.st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return store_sqlite_fail(s, rc, "read fleet end");
        if ((r = column_int(s, h.st, 0, 1, INT64_MAX, &e.fleet_id)) < 0 ||
            (r = column_field(s, h.st, 1, e.kind, sizeof(e.kind))) < 0 ||
            (r = column_field(s, h.st, 2, e.by, sizeof(e.by))) < 0 ||
            (r = column_field(s, h.st, 3, e.reason, sizeof(e.reason))) < 0 ||
            (r = column_int(s, h.st, 4, 0, INT64_MAX, &e.at)) < 0)
                return r;
        *ret = e;
        return 0;
}

/* ---- uploads to the fleet ------------------------------------------------ */

int store_fleet_upload_get(struct store *s, int64_t *ret)
{
        return counter_get(s, STMT_FLEET_UPLOAD_GET, "read the fleet upload position", ret);
}

int store_fleet_upload_set(struct store *s, int64_t seq)
{
        return counter_set(s, STMT_FLEET_UPLOAD_SET, seq, "invalid fleet upload position",
                           "store the fleet upload position");
}

int store_fleet_user_end_put(struct store *s, const struct store_fleet_user_end *e)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r;

        if (!e || !e->user[0])
                return store_fail(s, -EINVAL, "invalid fleet-wide revocation");
        r = stmt_acquire(s, STMT_FLEET_USER_END_PUT, &h);
        if (r < 0)
                return r;
        if ((r = bind_field(s, h.st, 1, e->user, sizeof(e->user), "user")) < 0 ||
            (r = bind_field(s, h.st, 2, e->by, sizeof(e->by), "by")) < 0 ||
            (r = bind_field(s, h.st, 3, e->reason, sizeof(e->reason), "reason")) < 0 ||
            (r = bind_int(s, h.st, 4, e->at)) < 0)
                return r;
        return step_done(s, h.st, "queue a fleet-wide revocation");
}

int store_fleet_user_end_delete(struct store *s, const char *user)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r;

        if (!user)
                return store_fail(s, -EINVAL, "no user");
        r = stmt_acquire(s, STMT_FLEET_USER_END_DEL, &h);
        if (r < 0)
                return r;
        r = bind_text(s, h.st, 1, user);
        if (r < 0)
                return r;
        return step_done(s, h.st, "forget a fleet-wide revocation");
}

int store_fleet_user_end_next(struct store *s, const char *after, struct store_fleet_user_end *ret)
{
        _cleanup_(held_release) struct held h = { 0 };
        struct store_fleet_user_end e = {};
        int r, rc;

        r = stmt_acquire(s, STMT_FLEET_USER_END_NEXT, &h);
        if (r < 0)
                return r;
        r = bind_text(s, h.st, 1, after ? after : "");
        if (r < 0)
                return r;
        rc = sqlite3_step(h.st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return store_sqlite_fail(s, rc, "read a fleet-wide revocation");
        if ((r = column_field(s, h.st, 0, e.user, sizeof(e.user))) < 0 ||
            (r = column_field(s, h.st, 1, e.by, sizeof(e.by))) < 0 ||
            (r = column_field(s, h.st, 2, e.reason, sizeof(e.reason))) < 0 ||
            (r = column_int(s, h.st, 3, 0, INT64_MAX, &e.at)) < 0)
                return r;
        *ret = e;
        return 0;
}

int store_fleet_user_end_count(struct store *s, int64_t *ret)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r, rc;

        r = stmt_acquire(s, STMT_FLEET_USER_END_COUNT, &h);
        if (r < 0)
                return r;
        rc = sqlite3_step(h.st);
        if (rc != SQLITE_ROW)
                return store_sqlite_fail(s, rc, "count fleet-wide revocations");
        *ret = sqlite3_column_int64(h.st, 0);
        return 0;
}

int store_fleet_extension_put(struct store *s, int64_t fleet_id, int64_t n, int64_t ends_at, int64_t at)
{
        int r;

        if (fleet_id <= 0 || n <= 0 || ends_at <= 0)
                return store_fail(s, -EINVAL, "invalid fleet extension");
        {
                _cleanup_(held_release) struct held h = { 0 };

                r = stmt_acquire(s, STMT_FLEET_EXT_PUT, &h);
                if (r < 0)
                        return r;
                if ((r = bind_int(s, h.st, 1, fleet_id)) < 0 || (r = bind_int(s, h.st, 2, n)) < 0 ||
                    (r = bind_int(s, h.st, 3, at)) < 0)
                        return r;
                r = step_done(s, h.st, "note fleet extension");
                if (r < 0)
                        return r;
        }
        {
                _cleanup_(held_release) struct held h = { 0 };

                r = stmt_acquire(s, STMT_FLEET_EXT_ENDS, &h);
                if (r < 0)
                        return r;
                if ((r = bind_int(s, h.st, 1, fleet_id)) < 0 || (r = bind_int(s, h.st, 2, ends_at)) < 0)
                        return r;
                return step_done(s, h.st, "move fleet end");
        }
}

int store_fleet_extension_state(struct store *s, int64_t fleet_id, int64_t n, unsigned *ret_applied, bool *ret_has)
{
        _cleanup_(held_release) struct held h = { 0 };
        int r, rc;

        r = stmt_acquire(s, STMT_FLEET_EXT_STATE, &h);
        if (r < 0)
                return r;
        if ((r = bind_int(s, h.st, 1, fleet_id)) < 0 || (r = bind_int(s, h.st, 2, n)) < 0)
                return r;
        rc = sqlite3_step(h.st);
        if (rc != SQLITE_ROW)
                return store_sqlite_fail(s, rc, "read fleet extensions");
        *ret_applied = (unsigned) sqlite3_column_int64(h.st, 0);
        *ret_has = sqlite3_column_int64(h.st, 1) > 0;
        return 0;
}
