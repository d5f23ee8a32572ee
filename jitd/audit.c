/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <openssl/evp.h>

#include "audit.h"
#include "log.h"

struct audit_chain {
        EVP_MD *md;     /* fetched once: EVP_sha256() would look it up at every event */
};

int audit_chain_new(struct audit_chain **ret)
{
        struct audit_chain *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        /* The first fetch also initialises OpenSSL: part of the start, not of
         * the first grant, and an OpenSSL without SHA-256 fails the start. */
        c->md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
        if (!c->md) {
                free(c);
                return -ENOTSUP;
        }
        *ret = c;
        return 0;
}

void audit_chain_free(struct audit_chain *c)
{
        if (!c)
                return;
        EVP_MD_free(c->md);
        free(c);
}

struct fields {
        int64_t seq, at, actor_uid, grant_id;
        const char *actor, *event, *details;
        size_t actor_len, event_len, details_len;
};

static bool hash_field(EVP_MD_CTX *ctx, const void *data, size_t len)
{
        char prefix[24];
        int n = snprintf(prefix, sizeof(prefix), "%zu:", len);

        return EVP_DigestUpdate(ctx, prefix, (size_t) n) == 1 && EVP_DigestUpdate(ctx, data, len) == 1 &&
               EVP_DigestUpdate(ctx, ",", 1) == 1;
}

static bool hash_int(EVP_MD_CTX *ctx, int64_t v)
{
        char buf[24];
        int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

        return hash_field(ctx, buf, (size_t) n);
}

static int chain_hash(const struct audit_chain *c, const char *prev_hash, const struct fields *e,
                      char out[STORE_HASH_LEN + 1])
{
        static const char hex[] = "0123456789abcdef";
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        EVP_MD_CTX *ctx;
        bool ok;

        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        ok = EVP_DigestInit_ex(ctx, c->md, NULL) == 1 && EVP_DigestUpdate(ctx, prev_hash, STORE_HASH_LEN) == 1 &&
             EVP_DigestUpdate(ctx, "\n", 1) == 1 && hash_int(ctx, e->seq) && hash_int(ctx, e->at) &&
             hash_int(ctx, e->actor_uid) && hash_field(ctx, e->actor, e->actor_len) && hash_int(ctx, e->grant_id) &&
             hash_field(ctx, e->event, e->event_len) && hash_field(ctx, e->details, e->details_len) &&
             EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len * 2 == STORE_HASH_LEN;
        EVP_MD_CTX_free(ctx);
        if (!ok)
                return -EIO;
        for (unsigned i = 0; i < md_len; i++) {
                out[2 * i] = hex[md[i] >> 4];
                out[2 * i + 1] = hex[md[i] & 0xf];
        }
        out[STORE_HASH_LEN] = '\0';
        return 0;
}

int audit_append(struct audit_chain *c, struct store *s, struct audit_event *e)
{
        struct fields f;
        int64_t last;
        int r;

        if (!e->details)
                e->details = "{}";
        if (!e->event[0] || strlen(e->actor) > JIT_USER_MAX)
                return -EINVAL;
        /* Asked every time rather than cached: a rowid lookup costs little, and
         * there is no cache to get wrong after a rollback. */
        r = store_audit_tail(s, &last, e->prev_hash);
        if (r < 0)
                return r;
        if (last < 0 || last == INT64_MAX)
                return -EBADMSG;
        e->seq = last + 1;
        f = (struct fields) {
                .seq = e->seq, .at = e->at, .actor_uid = (int64_t) e->actor_uid, .grant_id = e->grant_id,
                .actor = e->actor, .actor_len = strlen(e->actor), .event = e->event, .event_len = strlen(e->event),
                .details = e->details, .details_len = strlen(e->details),
        };
        r = chain_hash(c, e->prev_hash, &f, e->hash);
        if (r < 0)
                return r;
        return store_audit_insert(s, e);
}

struct verify {
        const struct audit_chain *c;
        char prev[STORE_HASH_LEN + 1];
        int64_t expect;
        int64_t bad;
        int err;
        char reason[128];
};

/* Stops the walk at the first broken event; the reason is already in v. */
static int broken(struct verify *v, int64_t seq)
{
        v->bad = seq;
        return 1;
}

/*
 * Checks each row, in seq order, for: a gap in seq (deleted rows), a prev_hash
 * that is not the previous row's hash (rows inserted, replayed or reordered),
 * and a hash that does not match the row's own fields (row edited).
 */
static int verify_one(const struct audit_raw *e, void *userdata)
{
        struct verify *v = userdata;
        char hash[STORE_HASH_LEN + 1];
        struct fields f;
        int r;

        if (e->seq > v->expect) {
                snprintf(v->reason, sizeof(v->reason), "event %" PRId64 " is missing (deleted)", v->expect);
                return broken(v, v->expect);
        }
        if (e->seq < v->expect || !e->prev_hash || e->prev_hash_len != STORE_HASH_LEN ||
            memcmp(e->prev_hash, v->prev, STORE_HASH_LEN) != 0) {
                if (e->seq == 1 || e->seq < v->expect)
                        snprintf(v->reason, sizeof(v->reason),
                                 "event %" PRId64 " does not start the chain (inserted or reordered)", e->seq);
                else
                        snprintf(v->reason, sizeof(v->reason), "event %" PRId64 " does not chain to event %"
                                 PRId64 " (inserted or reordered)", e->seq, e->seq - 1);
                return broken(v, e->seq);
        }
        if (!e->typed || !e->actor || !e->event || !e->details) {
                snprintf(v->reason, sizeof(v->reason), "event %" PRId64 " was edited", e->seq);
                return broken(v, e->seq);
        }
        f = (struct fields) {
                .seq = e->seq, .at = e->at, .actor_uid = e->actor_uid, .grant_id = e->grant_id,
                .actor = e->actor, .actor_len = e->actor_len, .event = e->event, .event_len = e->event_len,
                .details = e->details, .details_len = e->details_len,
        };
        r = chain_hash(v->c, v->prev, &f, hash);
        if (r < 0) {
                v->err = r;
                return r;
        }
        if (!e->hash || e->hash_len != STORE_HASH_LEN || memcmp(e->hash, hash, STORE_HASH_LEN) != 0) {
                snprintf(v->reason, sizeof(v->reason), "event %" PRId64 " was edited", e->seq);
                return broken(v, e->seq);
        }
        memcpy(v->prev, e->hash, STORE_HASH_LEN);
        v->expect = e->seq + 1;
        return 0;
}

int audit_verify(struct audit_chain *c, struct store *s, int64_t *ret_seq, char *why, size_t why_size)
{
        struct verify v = { .c = c, .expect = 1 };
        int r;

        memset(v.prev, '0', STORE_HASH_LEN);
        r = store_audit_walk_raw(s, 0, verify_one, &v);
        if (v.err < 0)
                return v.err;
        if (r < 0)
                return r;
        if (v.bad) {
                if (ret_seq)
                        *ret_seq = v.bad;
                if (why && why_size)
                        snprintf(why, why_size, "%s", v.reason);
                return -EBADMSG;
        }
        if (ret_seq)
                *ret_seq = v.expect - 1;
        if (why && why_size)
                why[0] = '\0';
        return 0;
}

void audit_log_committed(const struct audit_event *e, const struct jit_grant *g, bool alert)
{
        log_audit(alert ? LOG_ALERT : LOG_NOTICE, e, g);
}
