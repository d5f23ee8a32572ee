/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * audit verify, second half: every recording the chain says was sealed
 * ("recorded") and not pruned ("recording-pruned") is hashed again, in
 * bounded steps from the loop, and compared with its seal. The seals come
 * from the chain (just verified), never from the recordings table, which is
 * not hash-chained. A recording missing before its retention ended is
 * "removed"; shorter than sealed, "truncated"; otherwise different,
 * "edited".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "log.h"
#include "rechash.h"
#include "record_verify.h"
#include "store_record.h"

/* Problems named in the answer; the count says how many there were. */
#define NAMED_MAX 5

struct sealed {
        int64_t grant_id;
        int64_t at;
        char path[RECORDING_PATH_MAX + 1];
        char hash[RECHASH_HEX_LEN + 1];
        uint64_t size;
        bool pruned;
};

struct verify_job {
        struct jitd *d;
        uint64_t serial;
        int64_t chain_seq;
        struct sealed *v;
        size_t n, cap, at, checked, bad;
        struct rechash *h;
        int dfd;
        sd_event_source *work;
        char named[1000];
        json_object *local;     /* audit verify's document (jitctl): its "local" part */
        record_verify_then_fn then;
        char pattern[256];      /* and the --host pattern for its fleet part */
        bool has_pattern;
};

static int collect(const struct audit_event *e, void *userdata)
{
        struct verify_job *j = userdata;
        bool pruned = strcmp(e->event, "recording-pruned") == 0;
        json_object *o, *v;
        const char *path;

        if (!pruned && strcmp(e->event, "recorded") != 0)
                return 0;
        o = e->details ? json_tokener_parse(e->details) : NULL;
        path = o && json_object_object_get_ex(o, "path", &v) ? json_object_get_string(v) : NULL;
        if (!path || strlen(path) > RECORDING_PATH_MAX) {
                json_object_put(o);
                return 0;
        }
        if (pruned) {
                for (size_t i = 0; i < j->n; i++)
                        if (strcmp(j->v[i].path, path) == 0)
                                j->v[i].pruned = true;
        } else if (array_reserve((void **) &j->v, &j->cap, j->n, sizeof(*j->v)) >= 0) {
                struct sealed *s = &j->v[j->n++];

                memset(s, 0, sizeof(*s));
                s->grant_id = e->grant_id;
                s->at = e->at;
                snprintf(s->path, sizeof(s->path), "%s", path);
                if (json_object_object_get_ex(o, "sha256", &v))
                        snprintf(s->hash, sizeof(s->hash), "%s", json_object_get_string(v));
                if (json_object_object_get_ex(o, "size", &v))
                        s->size = (uint64_t) json_object_get_int64(v);
        } else {
                json_object_put(o);
                return -ENOMEM;
        }
        json_object_put(o);
        return 0;
}

static void job_free(struct verify_job *j)
{
        if (!j)
                return;
        sd_event_source_disable_unref(j->work);
        rechash_free(j->h);
        if (j->dfd >= 0)
                close(j->dfd);
        json_object_put(j->local);
        free(j->v);
        free(j);
}

static void problem(struct verify_job *j, const struct sealed *s, const char *what)
{
        size_t len = strlen(j->named);

        j->bad++;
        log_msg(LOG_ALERT, "audit verify: recording %s of grant %lld %s", s->path, (long long) s->grant_id, what);
        if (j->bad <= NAMED_MAX && len < sizeof(j->named) - 1)
                snprintf(j->named + len, sizeof(j->named) - len, "%sgrant %lld %s: %s", len ? "; " : "",
                         (long long) s->grant_id, s->path, what);
}

/* The answer inside the document: {"checked": N, "bad": N, "message": "..."}
 * under "local"."recordings"; then the rest (the fleet's part) by then. */
static void finish_document(struct verify_job *j)
{
        json_object *o = json_object_new_object();
        json_object *local = j->local;
        char msg[1400];

        if (j->bad)
                snprintf(msg, sizeof(msg), "%zu recording%s do%s not match %s seal: %s%s", j->bad,
                         j->bad == 1 ? "" : "s", j->bad == 1 ? "es" : "", j->bad == 1 ? "its" : "their", j->named,
                         j->bad > NAMED_MAX ? "; ..." : "");
        else
                snprintf(msg, sizeof(msg), "%zu recording%s on disk match%s %s seal", j->checked,
                         j->checked == 1 ? "" : "s", j->checked == 1 ? "es" : "", j->checked == 1 ? "its" : "their");
        if (!o) {
                later_reply_error(j->d, j->serial, ENOMEM, "out of memory");
                job_free(j);
                return;
        }
        json_object_object_add(o, "checked", json_object_new_int64((int64_t) j->checked));
        json_object_object_add(o, "bad", json_object_new_int64((int64_t) j->bad));
        json_object_object_add(o, "message", json_object_new_string(msg));
        json_object_object_add(local, "recordings", o);
        j->local = NULL;
        j->then(j->d, j->serial, local, j->has_pattern ? j->pattern : NULL);
        job_free(j);
}

static void finish(struct verify_job *j)
{
        struct proto_msg m;

        if (j->local) {
                finish_document(j);
                return;
        }
        if (j->bad) {
                later_reply_error(j->d, j->serial, EBADMSG,
                                  "audit chain intact (%lld events), but %zu recording%s do%s not match %s seal: %s%s",
                                  (long long) j->chain_seq, j->bad, j->bad == 1 ? "" : "s", j->bad == 1 ? "es" : "",
                                  j->bad == 1 ? "its" : "their", j->named, j->bad > NAMED_MAX ? "; ..." : "");
        } else {
                char msg[256];

                snprintf(msg, sizeof(msg), "audit chain intact; %zu recording%s on disk match%s %s seal", j->checked,
                         j->checked == 1 ? "" : "s", j->checked == 1 ? "es" : "", j->checked == 1 ? "its" : "their");
                proto_init(&m, PROTO_REP_OK);
                proto_set_u64(&m, PF_COUNT, (uint64_t) j->chain_seq);
                proto_set_str(&m, PF_MESSAGE, msg);
                later_reply_msg(j->d, j->serial, &m);
        }
        job_free(j);
}

/* One step: open the next recording, or hash some more of this one. */
static int on_work(sd_event_source *src, void *userdata)
{
        struct verify_job *j = userdata;
        int64_t now = now_realtime();
        int r;

        (void) src;
        if (!j->h) {
                while (j->at < j->n && j->v[j->at].pruned)
                        j->at++;
                if (j->at == j->n) {
                        finish(j);
                        return 0;
                }
                r = rechash_open(j->dfd, j->v[j->at].path, &j->h);
                if (r == -ENOENT) {
                        const struct sealed *s = &j->v[j->at];

                        /* Gone after its retention: pruning whose record was
                         * lost, not tampering. */
                        if (s->at + (int64_t) j->d->config->record_retention > now)
                                problem(j, s, "removed before its retention ended");
                        j->at++;
                } else if (r < 0) {
                        problem(j, &j->v[j->at], r == -EBADMSG ? "edited (something not a plain file was put in it)" :
                                "unreadable");
                        j->at++;
                }
                return sd_event_source_set_enabled(j->work, SD_EVENT_ONESHOT);
        }
        r = rechash_step(j->h, RECORDING_VERIFY_STEP_BYTES);
        if (r > 0)
                return sd_event_source_set_enabled(j->work, SD_EVENT_ONESHOT);
        {
                const struct sealed *s = &j->v[j->at];
                char hex[RECHASH_HEX_LEN + 1];
                uint64_t size = 0;

                if (r < 0 || rechash_result(j->h, hex, &size) < 0)
                        problem(j, s, "unreadable");
                else if (size < s->size)
                        problem(j, s, "truncated (its hash differs from its seal)");
                else if (strcmp(hex, s->hash) != 0)
                        problem(j, s, "edited (its hash differs from its seal)");
                j->checked++;
        }
        rechash_free(j->h);
        j->h = NULL;
        j->at++;
        return sd_event_source_set_enabled(j->work, SD_EVENT_ONESHOT);
}

int record_verify_start(struct request *req, int64_t chain_seq, json_object *local, const char *pattern,
                        record_verify_then_fn then)
{
        struct jitd *d = req->d;
        struct verify_job *j = calloc(1, sizeof(*j));
        struct store_audit_filter f = {};
        char why[256];
        struct stat st;
        int r;

        if (!j)
                return -ENOMEM;
        j->d = d;
        j->dfd = -1;
        j->chain_seq = chain_seq;
        if (pattern) {
                snprintf(j->pattern, sizeof(j->pattern), "%s", pattern);
                j->has_pattern = true;
        }
        r = store_audit_foreach(d->store, &f, collect, j);
        if (r < 0 || j->n == 0) {
                job_free(j);
                return r < 0 ? r : 0;
        }
        j->local = local;       /* ours from here on, also on failure */
        j->then = then;
        j->dfd = open(d->config->record_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (j->dfd < 0 || fstat(j->dfd, &st) < 0 || st.st_uid != 0) {
                snprintf(why, sizeof(why), "record_dir %s cannot be read safely", d->config->record_dir);
                job_free(j);
                reply_error(req, EIO, "audit chain intact, but the recordings cannot be checked: %s", why);
                return 1;
        }
        r = sd_event_add_defer(d->event, &j->work, on_work, j);
        if (r >= 0)
                r = sd_event_source_set_enabled(j->work, SD_EVENT_ONESHOT);
        if (r < 0) {
                j->local = NULL;        /* a failure before holding: the caller's again */
                job_free(j);
                return r;
        }
        j->serial = request_hold(req);
        return 1;
}
