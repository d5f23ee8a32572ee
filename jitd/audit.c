/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "audit.h"
#include "log.h"

#define KEY_ID_LABEL "pam_jit audit key id"
#define MARKER_PREFIX "{\"key_id\":\""
#define MARKER_SUFFIX "\"}"

struct chain_key {
        unsigned char bytes[AUDIT_KEY_MAX];
        size_t len;
        char id[AUDIT_KEY_ID_LEN + 1];
};

struct audit_chain {
        EVP_MD *md;     /* fetched once: EVP_sha256() would look it up at every event */
        EVP_MAC *mac;   /* HMAC, fetched when keyed */
        struct chain_key keys[AUDIT_KEYS_MAX];
        size_t n_keys;  /* keys[0] chains new events; 0: plain SHA-256 */
        uint64_t appended;      /* events written so far (committed or not) */
        char marker_details[sizeof(MARKER_PREFIX) + AUDIT_KEY_ID_LEN + sizeof(MARKER_SUFFIX)];
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
        EVP_MAC_free(c->mac);
        explicit_bzero(c->keys, sizeof(c->keys));
        free(c);
}

/* Feeds either a plain digest or an HMAC: the chain's input is the same. */
struct hasher {
        EVP_MD_CTX *md;
        EVP_MAC_CTX *mac;
};

static bool update(struct hasher *h, const void *data, size_t len)
{
        return h->mac ? EVP_MAC_update(h->mac, data, len) == 1 : EVP_DigestUpdate(h->md, data, len) == 1;
}

static int hasher_start(const struct audit_chain *c, const struct chain_key *k, struct hasher *h)
{
        char digest[] = "SHA2-256";
        OSSL_PARAM params[] = {
                OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                OSSL_PARAM_construct_end(),
        };

        *h = (struct hasher) {};
        if (k) {
                h->mac = EVP_MAC_CTX_new(c->mac);
                if (!h->mac)
                        return -ENOMEM;
                return EVP_MAC_init(h->mac, k->bytes, k->len, params) == 1 ? 0 : -EIO;
        }
        h->md = EVP_MD_CTX_new();
        if (!h->md)
                return -ENOMEM;
        return EVP_DigestInit_ex(h->md, c->md, NULL) == 1 ? 0 : -EIO;
}

static bool hasher_finish(struct hasher *h, unsigned char *out, size_t *ret_len)
{
        unsigned n = 0;
        size_t m = 0;
        bool ok;

        if (h->mac) {
                ok = EVP_MAC_final(h->mac, out, &m, EVP_MAX_MD_SIZE) == 1;
                *ret_len = m;
        } else {
                ok = EVP_DigestFinal_ex(h->md, out, &n) == 1;
                *ret_len = n;
        }
        return ok;
}

static void hasher_free(struct hasher *h)
{
        EVP_MAC_CTX_free(h->mac);
        EVP_MD_CTX_free(h->md);
}

static void hex(const unsigned char *in, size_t n, char *out)
{
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[in[i] >> 4];
                out[2 * i + 1] = digits[in[i] & 0xf];
        }
        out[2 * n] = '\0';
}

int audit_chain_set_keys(struct audit_chain *c, const struct audit_keyring *k)
{
        if (k->n == 0 || k->n > AUDIT_KEYS_MAX)
                return -EINVAL;
        if (!c->mac) {
                c->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
                if (!c->mac)
                        return -ENOTSUP;
        }
        for (size_t i = 0; i < k->n; i++) {
                struct chain_key *ck = &c->keys[i];
                unsigned char md[EVP_MAX_MD_SIZE];
                struct hasher h;
                size_t len = 0;
                int r;

                memcpy(ck->bytes, k->key[i].bytes, k->key[i].len);
                ck->len = k->key[i].len;
                /* The id names the key in the chain without revealing it: an
                 * HMAC of a fixed label, so it cannot be computed without the
                 * key either. */
                r = hasher_start(c, ck, &h);
                if (r >= 0 && (!update(&h, KEY_ID_LABEL, strlen(KEY_ID_LABEL)) || !hasher_finish(&h, md, &len) ||
                               len < AUDIT_KEY_ID_LEN / 2))
                        r = -EIO;
                hasher_free(&h);
                explicit_bzero(md + AUDIT_KEY_ID_LEN / 2, sizeof(md) - AUDIT_KEY_ID_LEN / 2);
                if (r < 0) {
                        explicit_bzero(c->keys, sizeof(c->keys));
                        c->n_keys = 0;
                        return r;
                }
                hex(md, AUDIT_KEY_ID_LEN / 2, ck->id);
        }
        c->n_keys = k->n;
        return 0;
}

const char *audit_chain_key_id(const struct audit_chain *c)
{
        return c->n_keys ? c->keys[0].id : "";
}

static bool hash_field(struct hasher *h, const void *data, size_t len)
{
        char prefix[24];
        int n = snprintf(prefix, sizeof(prefix), "%zu:", len);

        return update(h, prefix, (size_t) n) && update(h, data, len) && update(h, ",", 1);
}

static bool hash_int(struct hasher *h, int64_t v)
{
        char buf[24];
        int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

        return hash_field(h, buf, (size_t) n);
}

static int chain_hash(const struct audit_chain *c, const struct chain_key *k, const char *prev_hash,
                      const struct audit_fields *e, char out[STORE_HASH_LEN + 1])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        struct hasher h;
        size_t md_len = 0;
        bool ok;
        int r;

        r = hasher_start(c, k, &h);
        if (r < 0) {
                hasher_free(&h);
                return r;
        }
        ok = update(&h, prev_hash, STORE_HASH_LEN) && update(&h, "\n", 1) && hash_int(&h, e->seq) &&
             hash_int(&h, e->at) && hash_int(&h, e->actor_uid) && hash_field(&h, e->actor, e->actor_len) &&
             hash_int(&h, e->grant_id) && hash_field(&h, e->event, e->event_len) &&
             hash_field(&h, e->details, e->details_len) && hasher_finish(&h, md, &md_len) &&
             md_len * 2 == STORE_HASH_LEN;
        hasher_free(&h);
        if (!ok)
                return -EIO;
        hex(md, md_len, out);
        return 0;
}

int audit_hash_plain(const struct audit_chain *c, const char *prev_hash, const struct audit_fields *f,
                     char out[STORE_HASH_LEN + 1])
{
        if (!prev_hash || strlen(prev_hash) != STORE_HASH_LEN || !f->actor || !f->event || !f->details)
                return -EINVAL;
        return chain_hash(c, NULL, prev_hash, f, out);
}

static bool is_marker(const char *event, size_t len)
{
        return len == strlen(AUDIT_EVENT_KEY) && memcmp(event, AUDIT_EVENT_KEY, len) == 0;
}

/* The key id an audit-key event names ("" for plain SHA-256); -EBADMSG when
 * its details are not exactly what audit_anchor writes. */
static int marker_id(const char *details, size_t len, char id[AUDIT_KEY_ID_LEN + 1])
{
        size_t pre = strlen(MARKER_PREFIX), suf = strlen(MARKER_SUFFIX), n;

        if (!details || len < pre + suf || memcmp(details, MARKER_PREFIX, pre) != 0 ||
            memcmp(details + len - suf, MARKER_SUFFIX, suf) != 0)
                return -EBADMSG;
        n = len - pre - suf;
        if (n != 0 && n != AUDIT_KEY_ID_LEN)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789abcdef", details[pre + i]) || !details[pre + i])
                        return -EBADMSG;
        memcpy(id, details + pre, n);
        id[n] = '\0';
        return 0;
}

int audit_marker_key(const char *event, const char *details, char id[AUDIT_KEY_ID_LEN + 1])
{
        if (!event || !is_marker(event, strlen(event)))
                return 0;
        return marker_id(details, details ? strlen(details) : 0, id) < 0 ? -EBADMSG : 1;
}

static const struct chain_key *find_key(const struct audit_chain *c, const char *id)
{
        for (size_t i = 0; i < c->n_keys; i++)
                if (strcmp(c->keys[i].id, id) == 0)
                        return &c->keys[i];
        return NULL;
}

int audit_append(struct audit_chain *c, struct store *s, struct audit_event *e)
{
        struct audit_fields f;
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
        f = (struct audit_fields) {
                .seq = e->seq, .at = e->at, .actor_uid = (int64_t) e->actor_uid, .grant_id = e->grant_id,
                .actor = e->actor, .actor_len = strlen(e->actor), .event = e->event, .event_len = strlen(e->event),
                .details = e->details, .details_len = strlen(e->details),
        };
        r = chain_hash(c, c->n_keys ? &c->keys[0] : NULL, e->prev_hash, &f, e->hash);
        if (r < 0)
                return r;
        r = store_audit_insert(s, e);
        if (r >= 0)
                c->appended++;
        return r;
}

uint64_t audit_chain_appended(const struct audit_chain *c)
{
        return c ? c->appended : 0;
}

int audit_anchor(struct audit_chain *c, struct store *s, int64_t now, struct audit_event *ret_marker,
                 int64_t *ret_last_before)
{
        char details[256], id[AUDIT_KEY_ID_LEN + 1] = "", tail_hash[STORE_HASH_LEN + 1];
        struct audit_event e = { .actor_uid = 0, .at = now, .grant_id = 0 };
        int64_t seq, tail;
        int r;

        r = store_audit_last_key(s, &seq, details, sizeof(details));
        if (r < 0 && r != -ENOENT)
                return r;
        /* A malformed marker is left for verify to report; a fresh one
         * follows it. */
        if (r == -ENOENT || marker_id(details, strlen(details), id) < 0)
                id[0] = r == -ENOENT ? '\0' : '?';
        if (strcmp(id, audit_chain_key_id(c)) == 0)
                return 0;
        r = store_audit_tail(s, &tail, tail_hash);
        if (r < 0)
                return r;
        snprintf(c->marker_details, sizeof(c->marker_details), MARKER_PREFIX "%s" MARKER_SUFFIX,
                 audit_chain_key_id(c));
        snprintf(e.actor, sizeof(e.actor), "jitd");
        snprintf(e.event, sizeof(e.event), "%s", AUDIT_EVENT_KEY);
        e.details = c->marker_details;
        r = store_begin(s);
        if (r < 0)
                return r;
        r = audit_append(c, s, &e);
        if (r >= 0)
                r = store_commit(s);
        if (r < 0) {
                store_rollback(s);
                return r;
        }
        *ret_marker = e;
        if (ret_last_before)
                *ret_last_before = tail;
        return 1;
}

struct verify {
        const struct audit_chain *c;
        const struct chain_key *key;    /* what chains the current event; NULL: plain */
        int64_t keyed_from;             /* the audit-key event that chose key */
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
        struct audit_fields f;
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
        if (is_marker(e->event, e->event_len)) {
                char id[AUDIT_KEY_ID_LEN + 1];

                if (marker_id(e->details, e->details_len, id) < 0) {
                        snprintf(v->reason, sizeof(v->reason), "event %" PRId64 " was edited", e->seq);
                        return broken(v, e->seq);
                }
                v->key = id[0] ? find_key(v->c, id) : NULL;
                v->keyed_from = e->seq;
                if (id[0] && !v->key) {
                        snprintf(v->reason, sizeof(v->reason), "events from %" PRId64 " on are chained with audit "
                                 "key %s, %s", e->seq, id, v->c->n_keys ? "which the audit_key file does not hold" :
                                 "and no audit_key is configured");
                        return broken(v, e->seq);
                }
        }
        f = (struct audit_fields) {
                .seq = e->seq, .at = e->at, .actor_uid = e->actor_uid, .grant_id = e->grant_id,
                .actor = e->actor, .actor_len = e->actor_len, .event = e->event, .event_len = e->event_len,
                .details = e->details, .details_len = e->details_len,
        };
        r = chain_hash(v->c, v->key, v->prev, &f, hash);
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
        /* Keyed: jitd's start made the newest audit-key event name the key.
         * A chain whose tail is not chained with it was rewritten by someone
         * without the key (the keyed tail cut off, the rest recomputed). */
        if (c->n_keys && v.key != &c->keys[0]) {
                if (ret_seq)
                        *ret_seq = v.expect;
                if (why && why_size)
                        snprintf(why, why_size, "the newest events are not chained with the audit key (its "
                                 "audit-key event was removed, or the chain recomputed without the key)");
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
