/* SPDX-License-Identifier: BSD-3-Clause */
/* The governance verbs: audit (export and verify), review of break-glass
 * grants, reload. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "duration.h"
#include "fleet_view.h"
#include "grant.h"
#include "output.h"
#include "proto.h"
#include "util.h"

static int since_arg(struct jitctl_ctx *ctx, const struct jitctl_args *a, struct proto_msg *m)
{
        int64_t since;

        if (!a->since)
                return 0;
        if (jitctl_parse_since(a->since, now_realtime(), &since) < 0) {
                jitctl_say(ctx, "invalid --since '%s': a duration ago (7d, 12h) or a date (YYYY-MM-DD)", a->since);
                return CMD_E_USAGE;
        }
        proto_set_u64(m, PF_SINCE, (uint64_t) (since > 0 ? since : 0));
        return 0;
}

struct audit_out {
        const struct jitctl_ctx *ctx;
        FILE *f;
        bool json;
        bool incomplete;                /* jitd said the fleet's part is missing or cut short */
        struct output_table *t;
};

/* The table, made at the first event: with [fleet] events carry their host
 * (a HOST column first). */
static int audit_table(struct audit_out *o, bool fleet)
{
        static const char *const headers[] = { "SEQ", "TIME", "ACTOR", "GRANT", "EVENT", "DETAILS" };
        static const char *const fleet_headers[] = { "HOST", "SEQ", "TIME", "ACTOR", "GRANT", "EVENT", "DETAILS" };

        if (o->t || o->json)
                return 0;
        return fleet ? output_table_new(ELEMENTSOF(fleet_headers), fleet_headers, &o->t) :
                       output_table_new(ELEMENTSOF(headers), headers, &o->t);
}

static int audit_one(const struct proto_msg *m, void *userdata)
{
        struct audit_out *o = userdata;
        const char *actor = proto_get_str(m, PF_ACTOR), *event = proto_get_str(m, PF_EVENT);
        const char *details = proto_get_str(m, PF_DETAILS), *hash = proto_get_str(m, PF_HASH);
        const char *host = proto_get_str(m, PF_HOST);
        uint64_t seq = 0, at = 0, uid = 0, id = 0, fid = 0;
        char when[40], seqs[24], grant[24];
        int r;

        if (m->type == PROTO_REP_OK) {
                /* The fleet's part is missing or cut short: said, and the
                 * exit status says so too. */
                jitctl_say(o->ctx, "%s", proto_get_str(m, PF_MESSAGE) ? proto_get_str(m, PF_MESSAGE) : "?");
                o->incomplete = true;
                return 0;
        }
        proto_get_u64(m, PF_COUNT, &seq);
        proto_get_u64(m, PF_NOW, &at);
        proto_get_u64(m, PF_UID, &uid);
        proto_get_u64(m, PF_ID, &id);
        proto_get_u64(m, PF_FLEET_ID, &fid);
        r = audit_table(o, host != NULL);
        if (r < 0)
                return r;
        if (o->json) {
                json_object *e = json_object_new_object(), *a = json_object_new_object(), *d;

                output_rfc3339((int64_t) at, when, sizeof(when));
                if (host) {
                        /* A fleet event: its host, its place in that
                         * host's chain (seq), that host's grant id (grant)
                         * and the fleet grant's. */
                        json_object_object_add(e, "host", json_object_new_string(host));
                        json_object_object_add(e, "fleet_grant", fid ? json_object_new_int64((int64_t) fid) : NULL);
                }
                json_object_object_add(e, "seq", json_object_new_int64((int64_t) seq));
                json_object_object_add(e, "time", json_object_new_string(when));
                json_object_object_add(a, "uid", json_object_new_int64((int64_t) uid));
                json_object_object_add(a, "name", json_object_new_string(actor ? actor : ""));
                json_object_object_add(e, "actor", a);
                json_object_object_add(e, "grant", id ? json_object_new_int64((int64_t) id) : NULL);
                json_object_object_add(e, "event", json_object_new_string(event ? event : ""));
                d = details ? json_tokener_parse(details) : NULL;
                json_object_object_add(e, "details", d ? d : json_object_new_object());
                json_object_object_add(e, "hash", json_object_new_string(hash ? hash : ""));
                output_json_print(o->f, e);
                json_object_put(e);
                return 0;
        }
        output_local_time((int64_t) at, true, when, sizeof(when));
        snprintf(seqs, sizeof(seqs), "%llu", (unsigned long long) seq);
        /* A fleet grant as the verbs take it (F12); else the host's own
         * grant id. */
        if (fid)
                snprintf(grant, sizeof(grant), "F%llu", (unsigned long long) fid);
        else
                snprintf(grant, sizeof(grant), "%llu", (unsigned long long) id);
        {
                const char *cells[] = { host ? host : "", seqs, when, actor ? actor : "?", id || fid ? grant : "-",
                                        event ? event : "?", details ? details : "{}" };

                return output_table_add(o->t, host ? cells : cells + 1);
        }
}

/* One event as a copy outside the database saw it. */
struct anchor {
        int64_t seq;
        char hash[65];
};

struct anchors {
        struct anchor *v;
        size_t n, cap;
};

static bool is_hash(const char *h, size_t n)
{
        if (n != 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
                        return false;
        return true;
}

static int anchors_add(struct anchors *a, int64_t seq, const char *hash, size_t len)
{
        if (seq <= 0 || !is_hash(hash, len))
                return 0;
        if (array_reserve((void **) &a->v, &a->cap, a->n, sizeof(*a->v)) < 0)
                return -ENOMEM;
        a->v[a->n].seq = seq;
        memcpy(a->v[a->n].hash, hash, 64);
        a->v[a->n].hash[64] = '\0';
        a->n++;
        return 0;
}

/* jitd's event lines (its stderr, or syslog): " seq=N hash=H" fields. */
static int read_log(const char *path, struct anchors *a)
{
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        FILE *f = fopen(path, "re");
        int r = 0;

        if (!f)
                return -errno;
        while (r >= 0 && getline(&line, &cap, f) > 0) {
                const char *seq = strstr(line, " seq="), *hash = strstr(line, " hash=");
                char *end;
                long long v;

                if (!seq || !hash || !strstr(line, "event="))
                        continue;
                errno = 0;
                v = strtoll(seq + 5, &end, 10);
                if (errno || (*end != ' ' && *end != '\n'))
                        continue;
                r = anchors_add(a, v, hash + 6, strcspn(hash + 6, " \n"));
        }
        fclose(f);
        return r;
}

/* journalctl -o json for jitd's entries, as a stream to read; the child is
 * started without a shell, by its path: jitctl often runs as root. */
static int spawn_journalctl(pid_t *ret_pid, FILE **ret_f)
{
        static char *const argv[] = { "journalctl", "-q", "-o", "json", "--no-pager", "SYSLOG_IDENTIFIER=jitd",
                                      NULL };
        posix_spawn_file_actions_t fa;
        int pipefd[2], r;
        pid_t pid;
        FILE *f;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        r = posix_spawn_file_actions_init(&fa);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        if (r == 0)
                r = posix_spawn(&pid, "/usr/bin/journalctl", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(pipefd[1]);
        if (r != 0) {
                close(pipefd[0]);
                return -r;
        }
        f = fdopen(pipefd[0], "r");
        if (!f) {
                r = -errno;
                close(pipefd[0]);
                waitpid(pid, NULL, 0);
                return r;
        }
        *ret_pid = pid;
        *ret_f = f;
        return 0;
}

/* The journal's copies: JIT_SEQ and JIT_HASH of jitd's entries. */
static int read_journal(struct anchors *a)
{
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        int r, status = 0;
        pid_t pid = 0;
        FILE *f = NULL;

        r = spawn_journalctl(&pid, &f);
        if (r < 0)
                return r;
        while (r >= 0 && getline(&line, &cap, f) > 0) {
                json_object *o = json_tokener_parse(line), *seq = NULL, *hash = NULL;

                if (o && json_object_object_get_ex(o, "JIT_SEQ", &seq) &&
                    json_object_object_get_ex(o, "JIT_HASH", &hash) && json_object_is_type(hash, json_type_string))
                        r = anchors_add(a, strtoll(json_object_get_string(seq), NULL, 10),
                                        json_object_get_string(hash), (size_t) json_object_get_string_len(hash));
                json_object_put(o);
        }
        fclose(f);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r >= 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
                return -ENOENT;
        return r;
}

struct db_events {
        struct anchors db;
};

static int db_event(const struct proto_msg *m, void *userdata)
{
        struct db_events *e = userdata;
        const char *hash = proto_get_str(m, PF_HASH);
        uint64_t seq = 0;

        if (m->type != PROTO_REP_EVENT)
                return 0;
        proto_get_u64(m, PF_COUNT, &seq);
        return hash && seq <= INT64_MAX ? anchors_add(&e->db, (int64_t) seq, hash, strlen(hash)) : 0;
}

static const struct anchor *find_seq(const struct anchors *a, int64_t seq)
{
        /* The database's events come in seq order, without gaps when intact. */
        size_t lo = 0, hi = a->n;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;

                if (a->v[mid].seq < seq)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < a->n && a->v[lo].seq == seq ? &a->v[lo] : NULL;
}

/* What verify proves with a copy: every event the copy saw is in the
 * database with the same hash (an edit, even with the chain recomputed,
 * changes the hash), and the database is not behind the copy (the newest
 * events were not deleted). */
static int cross_check(struct jitctl_ctx *ctx, const char *what, const struct anchors *copy)
{
        struct db_events e = {};
        struct proto_msg req;
        int64_t newest_copy = 0, newest_db, missing = 0, differ = 0, first_bad = 0;
        int r;

        proto_init(&req, PROTO_REQ_AUDIT);
        proto_set_u64(&req, PF_FLAGS, PROTO_F_LOCAL);   /* this host's, with [fleet] too */
        r = jitctl_stream(ctx, &req, PROTO_REP_EVENT, db_event, &e);
        if (r < 0) {
                free(e.db.v);
                return r;
        }
        newest_db = e.db.n ? e.db.v[e.db.n - 1].seq : 0;
        for (size_t i = 0; i < copy->n; i++) {
                const struct anchor *x = &copy->v[i], *d = find_seq(&e.db, x->seq);

                if (x->seq > newest_copy)
                        newest_copy = x->seq;
                if (!d) {
                        missing++;
                        if (!first_bad || x->seq < first_bad)
                                first_bad = x->seq;
                } else if (strcmp(d->hash, x->hash) != 0) {
                        differ++;
                        if (!first_bad || x->seq < first_bad)
                                first_bad = x->seq;
                }
        }
        free(e.db.v);
        if (copy->n == 0) {
                jitctl_say(ctx, "%s holds no audit events of jitd's: nothing to compare", what);
                return CMD_E_FAILED;
        }
        if (newest_copy > newest_db) {
                jitctl_say(ctx, "audit trail broken: the newest %lld event%s (up to %lld) that %s saw are missing "
                           "from the database (deleted)", (long long) (newest_copy - newest_db),
                           newest_copy - newest_db == 1 ? "" : "s", (long long) newest_copy, what);
                return CMD_E_FAILED;
        }
        if (missing || differ) {
                jitctl_say(ctx, "audit trail broken: %lld event%s of %s missing from the database, %lld with another "
                           "hash (edited, or the chain recomputed); the first is event %lld", (long long) missing,
                           missing == 1 ? "" : "s", what, (long long) differ, (long long) first_bad);
                return CMD_E_FAILED;
        }
        fprintf(ctx->out, "the database holds every one of the %zu event%s %s saw, unchanged\n", copy->n,
                copy->n == 1 ? "" : "s", what);
        return 0;
}

/* How long jitd may take over audit verify: with [fleet] it recomputes
 * every host's chain from the fleet copy, a page at a time. */
#define VERIFY_TIMEOUT_MS (10 * 60 * 1000)

/* This host's chain, then (with [fleet]) each host's in the fleet copy. */
static int verify_document(struct jitctl_ctx *ctx, const struct jitctl_args *a)
{
        struct jitctl_ctx slow = *ctx;
        struct proto_msg req;
        json_object *doc, *local = NULL, *v;
        char *text = NULL;
        bool fleet_ok = true, intact;
        int r;

        proto_init(&req, PROTO_REQ_AUDIT_VERIFY);
        proto_set_u64(&req, PF_FLAGS, PROTO_F_DOCUMENT);
        if (a->host && proto_set_str(&req, PF_HOST, a->host) < 0) {
                jitctl_say(ctx, "invalid --host pattern");
                return CMD_E_USAGE;
        }
        slow.timeout_ms = VERIFY_TIMEOUT_MS;
        r = jitctl_fetch_document(&slow, &req, &text);
        if (r < 0)
                return r;
        doc = json_tokener_parse(text);
        if (!doc || !json_object_object_get_ex(doc, "local", &local)) {
                jitctl_say(ctx, "jitd sent a verification jitctl cannot read");
                json_object_put(doc);
                free(text);
                return CMD_E_FAILED;
        }
        intact = json_object_object_get_ex(local, "intact", &v) && json_object_get_boolean(v);
        if (intact) {
                int64_t n = json_object_object_get_ex(local, "events", &v) ? json_object_get_int64(v) : 0;

                fprintf(ctx->out, "audit chain intact: %lld event%s verified\n", (long long) n, n == 1 ? "" : "s");
        } else
                jitctl_say(ctx, "audit chain broken: %s", json_object_object_get_ex(local, "why", &v) ?
                           json_object_get_string(v) : "?");
        /* This host's sealed recordings, hashed again (jitd/record_verify.c). */
        if (json_object_object_get_ex(local, "recordings", &v)) {
                json_object *bad = NULL, *msg = NULL;

                json_object_object_get_ex(v, "bad", &bad);
                json_object_object_get_ex(v, "message", &msg);
                if (bad && json_object_get_int64(bad) > 0) {
                        jitctl_say(ctx, "audit chain intact, but %s", msg ? json_object_get_string(msg) : "?");
                        intact = false;
                } else if (msg)
                        fprintf(ctx->out, "audit chain intact; %s\n", json_object_get_string(msg));
        }
        r = fleet_view_verify(ctx->out, text, &fleet_ok);
        json_object_put(doc);
        free(text);
        if (r < 0) {
                jitctl_say(ctx, "jitd sent a verification jitctl cannot read");
                return CMD_E_FAILED;
        }
        return intact && fleet_ok ? 0 : CMD_E_FAILED;
}

static int audit_verify(struct jitctl_ctx *ctx, const struct jitctl_args *a)
{
        struct anchors copy = {};
        int r;

        r = verify_document(ctx, a);
        if (r < 0)
                return r;
        if (!a->log && !a->journal)
                return 0;
        r = a->log ? read_log(a->log, &copy) : read_journal(&copy);
        if (r < 0) {
                jitctl_say(ctx, "cannot read %s: %s", a->log ? a->log : "the journal", strerror(-r));
                free(copy.v);
                return CMD_E_FAILED;
        }
        r = cross_check(ctx, a->log ? a->log : "the journal", &copy);
        free(copy.v);
        return r;
}

int cmd_audit(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        struct audit_out o = { .ctx = ctx, .f = ctx->out };
        struct jitctl_args a;
        struct proto_msg req;
        int r;

        r = jitctl_parse_args(ctx, v, argc, argv, &a);
        if (r != 0)
                return r > 0 ? 0 : r;
        if (a.npos == 1) {
                if (strcmp(a.pos[0], "verify") != 0) {
                        jitctl_say(ctx, "unknown audit command '%s' (only: verify)", a.pos[0]);
                        return CMD_E_USAGE;
                }
                if (a.since || a.grant || a.grant_fleet || a.json || (a.log && a.journal)) {
                        jitctl_say(ctx, "audit verify takes --host PATTERN, and --log FILE or --journal, nothing "
                                   "else");
                        return CMD_E_USAGE;
                }
                return audit_verify(ctx, &a);
        }
        if (a.log || a.journal) {
                jitctl_say(ctx, "--log and --journal go with audit verify");
                return CMD_E_USAGE;
        }
        proto_init(&req, PROTO_REQ_AUDIT);
        r = since_arg(ctx, &a, &req);
        if (r < 0)
                return r;
        if (a.grant)
                proto_set_u64(&req, PF_ID, (uint64_t) a.grant);
        if (a.grant_fleet)
                proto_set_u64(&req, PF_FLEET_ID, (uint64_t) a.grant_fleet);
        if (a.host && proto_set_str(&req, PF_HOST, a.host) < 0) {
                jitctl_say(ctx, "invalid --host pattern");
                return CMD_E_USAGE;
        }
        o.json = a.json;
        r = jitctl_stream(ctx, &req, PROTO_REP_EVENT, audit_one, &o);
        if (r >= 0 && !o.json && !o.t)
                r = audit_table(&o, false);
        if (r >= 0 && o.t)
                output_table_print(o.t, ctx->out);
        output_table_free(o.t);
        if (r >= 0 && o.incomplete)
                r = CMD_E_FAILED;
        return r;
}

/* review --json --fleet: one object, this host's pending reviews as the
 * array review --json prints, and the fleet's (fleet_view.h). */
static int review_json_fleet(const struct jitctl_ctx *ctx, const struct jit_grant *g, size_t n, char **details,
                             size_t n_lines)
{
        json_object *local = json_object_new_array(), *o = NULL, *err = NULL;
        int r = 0;

        if (!local)
                return -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = output_grant_json(&g[i], &o);
                if (r >= 0 && json_object_array_add(local, o) < 0) {
                        json_object_put(o);
                        r = -ENOMEM;
                }
        }
        if (r < 0) {
                json_object_put(local);
                return r;
        }
        r = fleet_view_reviews_json(local, details, n_lines, &o);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(o, "fleet_error", &err))
                jitctl_say(ctx, "the fleet part is unavailable: %s", json_object_get_string(err));
        r = output_json_print(ctx->out, o);
        json_object_put(o);
        return r;
}

/* The listing: this host's break-glass grants awaiting review, then, with
 * [fleet], the other hosts' (jitd/fleet_review.h). The fleet part missing
 * is said, and the exit status is list's: 0. */
static int review_list(struct jitctl_ctx *ctx, const struct proto_msg *req, const struct jitctl_args *a)
{
        _cleanup_free_ struct jit_grant *grants = NULL;
        char **lines = NULL, **details = NULL;
        size_t n = 0, n_lines = 0;
        int64_t now;
        int r;

        r = jitctl_fetch_list(ctx, req, &grants, &n, &now, &lines, &details, &n_lines);
        if (r < 0)
                return r;
        if (a->json && a->fleet)
                r = review_json_fleet(ctx, grants, n, details, n_lines);
        else if (a->json)
                /* As before [fleet]: an array of this host's grants. */
                r = output_grants_json(ctx->out, grants, n);
        else {
                if (n == 0)
                        fprintf(ctx->out, "no break-glass grant awaits review\n");
                else
                        r = output_grants_table(ctx->out, grants, n, now);
                if (r >= 0)
                        fleet_view_reviews(ctx->out, lines, details, n_lines);
        }
        jitctl_lines_free(lines, n_lines);
        jitctl_lines_free(details, n_lines);
        return r;
}

int cmd_review(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        struct jitctl_args a;
        struct proto_msg req, rep;
        struct jit_grant g;
        int r;

        r = jitctl_parse_args(ctx, v, argc, argv, &a);
        if (r != 0)
                return r > 0 ? 0 : r;
        proto_init(&req, PROTO_REQ_REVIEW);
        if (a.fleet_id) {
                jitctl_say(ctx, "F%lld is a fleet grant: reviews are of this host's break-glass grants",
                           (long long) a.fleet_id);
                return CMD_E_USAGE;
        }
        if (!a.id) {
                if (a.accept || a.reject || a.message) {
                        jitctl_say(ctx, "--accept, --reject and -m go with a grant ID");
                        return CMD_E_USAGE;
                }
                if (a.fleet && !a.json) {
                        jitctl_say(ctx, "--fleet goes with --json (the listing shows the fleet's part anyway)");
                        return CMD_E_USAGE;
                }
                return review_list(ctx, &req, &a);
        }
        if (a.fleet) {
                jitctl_say(ctx, "--fleet goes with the listing (review --json --fleet)");
                return CMD_E_USAGE;
        }
        if (a.accept == a.reject || !a.message || !a.message[0]) {
                jitctl_say(ctx, "review ID needs exactly one of --accept and --reject, and -m NOTE");
                return CMD_E_USAGE;
        }
        proto_set_u64(&req, PF_ID, (uint64_t) a.id);
        proto_set_u64(&req, PF_FLAGS, a.accept ? PROTO_F_ACCEPT : PROTO_F_REJECT);
        r = proto_set_str(&req, PF_NOTE, a.message);
        if (r < 0) {
                jitctl_say(ctx, "invalid note: control characters are not allowed, at most %d bytes", JIT_REASON_MAX);
                return CMD_E_FAILED;
        }
        r = jitctl_call(ctx, &req, &rep, PROTO_REP_GRANT);
        if (r < 0)
                return r;
        if (grant_from_proto(&rep, &g) < 0)
                return CMD_E_FAILED;
        fprintf(ctx->out, "break-glass grant %lld of %s: review %s\n", (long long) g.id, g.user, g.review);
        return 0;
}

int cmd_reload(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        struct jitctl_args a;
        struct proto_msg req, rep;
        const char *msg;
        int r;

        r = jitctl_parse_args(ctx, v, argc, argv, &a);
        if (r != 0)
                return r > 0 ? 0 : r;
        proto_init(&req, PROTO_REQ_RELOAD);
        r = jitctl_call(ctx, &req, &rep, PROTO_REP_OK);
        if (r < 0)
                return r;
        msg = proto_get_str(&rep, PF_MESSAGE);
        fprintf(ctx->out, "%s\n", msg ? msg : "configuration reloaded");
        return 0;
}
