/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The codec of jitd <-> ticket helper messages (ticket_ipc.h). Both sides use
 * it, so both refuse the same things; jitd is the side that matters: what it
 * decodes comes from a process that parses a remote system's answers and may
 * be under that system's control.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ticket_ipc.h"
#include "util.h"

enum kind { K_NONE = 0, K_U64, K_STR, K_LIST };
enum class { C_LINE = 0, C_NOTE, C_TICKET, C_USER, C_HOST, C_TOKEN };

struct field_spec {
        enum kind kind;
        enum class cls;
        size_t max;             /* strings: bytes */
        uint64_t min_u, max_u;  /* u64: inclusive range */
};

#define U64(lo, hi)      { .kind = K_U64, .min_u = (lo), .max_u = (hi) }
#define STR(c, n)        { .kind = K_STR, .cls = (c), .max = (n) }
#define LIST(c, n)       { .kind = K_LIST, .cls = (c), .max = (n) }

static const struct field_spec fields[TF_LAST_] = {
        [TF_ID] = U64(1, UINT64_MAX),
        [TF_TICKET] = STR(C_TICKET, JIT_TICKET_MAX),
        [TF_USER] = STR(C_USER, JIT_USER_MAX),
        [TF_TEXT] = STR(C_NOTE, TIPC_TEXT_MAX),
        [TF_VERDICT] = U64(TICKET_APPROVED, TICKET_ERROR),
        [TF_STATUS] = STR(C_LINE, sizeof(((struct ticket_result *) 0)->status) - 1),
        [TF_WINDOW_START] = U64(0, TIPC_TIME_MAX),
        [TF_WINDOW_END] = U64(0, TIPC_TIME_MAX),
        [TF_RETRY_AFTER] = U64(0, TIPC_RETRY_MAX),
        [TF_FLAGS] = U64(0, TIPC_F_REQUESTER),
        [TF_WHY] = STR(C_LINE, sizeof(((struct ticket_result *) 0)->why) - 1),
        [TF_DETAIL] = STR(C_LINE, sizeof(((struct ticket_result *) 0)->detail) - 1),
        [TF_ERRNO] = U64(1, 4095),
        [TF_UID] = U64(1, UINT32_MAX - 1),
        [TF_GID] = U64(1, UINT32_MAX - 1),
        [TF_HOST] = STR(C_HOST, JIT_HOST_MAX),
        [TF_TOKEN] = STR(C_TOKEN, TIPC_CONFIG_MAX),
        [TF_PROVIDER] = STR(C_LINE, 64),
        [TF_URL] = STR(C_LINE, TIPC_CONFIG_MAX),
        [TF_AUTH] = STR(C_LINE, 256),
        [TF_LOOKUP] = STR(C_LINE, TIPC_CONFIG_MAX),
        [TF_STATUS_PTR] = STR(C_LINE, 1024),
        [TF_REQUESTER] = STR(C_LINE, 1024),
        [TF_USER_MAP] = STR(C_LINE, 1024),
        [TF_APPROVED] = LIST(C_LINE, 256),
        [TF_CLOSED] = LIST(C_LINE, 256),
        [TF_WINDOW_START_PTR] = STR(C_LINE, 1024),
        [TF_WINDOW_END_PTR] = STR(C_LINE, 1024),
        [TF_HOSTS] = STR(C_LINE, 1024),
        [TF_CA_FILE] = STR(C_LINE, TIPC_CONFIG_MAX),
        [TF_PROJECT] = STR(C_LINE, 1024),
        [TF_COMMENT_ON] = U64(0, 1),
        [TF_ALLOW_HTTP] = U64(0, 1),
        [TF_TIMEOUT] = U64(0, 86400),
        [TF_POLL] = U64(0, 86400 * 366),
};

#define F(x) (UINT64_C(1) << (x))

/* Per type: the fields it may carry and those it must. */
static const struct {
        uint64_t allowed, required;
} types[] = {
        [TIPC_CONFIG] = {
                .allowed = F(TF_UID) | F(TF_GID) | F(TF_HOST) | F(TF_TOKEN) | F(TF_PROVIDER) | F(TF_URL) |
                           F(TF_AUTH) | F(TF_LOOKUP) | F(TF_STATUS_PTR) | F(TF_REQUESTER) | F(TF_USER_MAP) |
                           F(TF_APPROVED) | F(TF_CLOSED) | F(TF_WINDOW_START_PTR) | F(TF_WINDOW_END_PTR) |
                           F(TF_HOSTS) | F(TF_CA_FILE) | F(TF_PROJECT) | F(TF_COMMENT_ON) | F(TF_ALLOW_HTTP) |
                           F(TF_TIMEOUT) | F(TF_POLL),
                .required = F(TF_UID) | F(TF_GID) | F(TF_HOST) | F(TF_PROVIDER),
        },
        [TIPC_LOOKUP] = { F(TF_ID) | F(TF_TICKET) | F(TF_USER), F(TF_ID) | F(TF_TICKET) | F(TF_USER) },
        [TIPC_CANCEL] = { F(TF_ID), F(TF_ID) },
        [TIPC_COMMENT] = { F(TF_TICKET) | F(TF_TEXT), F(TF_TICKET) | F(TF_TEXT) },
};

#define RESULT_FIELDS (F(TF_ID) | F(TF_VERDICT) | F(TF_STATUS) | F(TF_WINDOW_START) | F(TF_WINDOW_END) | \
                       F(TF_RETRY_AFTER) | F(TF_FLAGS) | F(TF_WHY) | F(TF_DETAIL))

static bool type_fields(uint8_t type, uint64_t *allowed, uint64_t *required)
{
        switch (type) {
        case TIPC_CONFIG:
        case TIPC_LOOKUP:
        case TIPC_CANCEL:
        case TIPC_COMMENT:
                *allowed = types[type].allowed;
                *required = types[type].required;
                return true;
        case TIPC_READY:
                *allowed = *required = 0;
                return true;
        case TIPC_FAILED:
                *allowed = *required = F(TF_ERRNO) | F(TF_WHY);
                return true;
        case TIPC_RESULT:
                *allowed = *required = RESULT_FIELDS;
                return true;
        case TIPC_COMMENT_FAILED:
                *allowed = *required = F(TF_TICKET) | F(TF_WHY);
                return true;
        default:
                return false;
        }
}

static bool string_ok(const struct field_spec *f, const char *s, size_t len)
{
        if (len > f->max || memchr(s, '\0', len))
                return false;
        switch (f->cls) {
        case C_LINE:
                return valid_text_nf(s, len, 0);
        case C_NOTE:
                return len > 0 && valid_text_nf(s, len, TEXT_LINES);
        case C_TICKET:
                return len > 0 && valid_ticket(s);     /* s is NUL-terminated by the caller */
        case C_USER:
                return valid_user_name(s);
        case C_HOST:
                return valid_host_name(s);
        case C_TOKEN:
                for (size_t i = 0; i < len; i++)
                        if (s[i] < 0x20 || s[i] > 0x7e)
                                return false;
                return len > 0;
        }
        return false;
}

static uint16_t le16(const uint8_t *p)
{
        return (uint16_t) (p[0] | (p[1] << 8));
}

static uint32_t le32(const uint8_t *p)
{
        return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

static uint64_t le64(const uint8_t *p)
{
        return (uint64_t) le32(p) | ((uint64_t) le32(p + 4) << 32);
}

int tipc_decode(const void *buf, size_t len, struct tipc_msg *m)
{
        const uint8_t *p = buf;
        uint64_t allowed, required;
        size_t pos, arena = 0;

        if (!buf || !m)
                return -EINVAL;
        m->type = TIPC_INVALID;
        m->present = 0;
        m->n_items = 0;
        memset(m->s, 0, sizeof(m->s));
        memset(m->u, 0, sizeof(m->u));
        if (len < TIPC_HEADER_SIZE || len > TIPC_MAX_MSG)
                return -EBADMSG;
        if (le32(p) != TIPC_MAGIC || p[4] != TIPC_VERSION || le16(p + 6) != 0)
                return -EBADMSG;
        if (!type_fields(p[5], &allowed, &required))
                return -EBADMSG;
        for (pos = TIPC_HEADER_SIZE; pos < len;) {
                const struct field_spec *f;
                uint8_t tag;
                uint16_t n;

                if (len - pos < 3)
                        return -EBADMSG;
                tag = p[pos];
                n = le16(p + pos + 1);
                pos += 3;
                if (tag == TF_INVALID || tag >= TF_LAST_ || !(allowed & F(tag)) || n > len - pos)
                        return -EBADMSG;
                f = &fields[tag];
                if ((m->present & F(tag)) && f->kind != K_LIST)
                        return -EBADMSG;
                if (f->kind == K_U64) {
                        uint64_t v;

                        if (n != 8)
                                return -EBADMSG;
                        v = le64(p + pos);
                        if (v < f->min_u || v > f->max_u)
                                return -EBADMSG;
                        m->u[tag] = v;
                } else {
                        char *s = m->arena + arena;

                        /* Each field has a 3-byte head in the message and
                         * takes 1 byte more (its NUL) in the arena. */
                        if (arena + n + 1 > sizeof(m->arena))
                                return -EBADMSG;
                        memcpy(s, p + pos, n);
                        s[n] = '\0';
                        arena += n + 1;
                        if (!string_ok(f, s, n))
                                return -EBADMSG;
                        if (f->kind == K_LIST) {
                                if (m->n_items >= ELEMENTSOF(m->items))
                                        return -EBADMSG;
                                m->items[m->n_items].tag = tag;
                                m->items[m->n_items++].s = s;
                        }
                        if (!m->s[tag])
                                m->s[tag] = s;
                }
                m->present |= F(tag);
                pos += n;
        }
        if ((m->present & required) != required)
                return -EBADMSG;
        for (unsigned t = TF_APPROVED; t <= TF_CLOSED; t++) {
                size_t k = 0;

                for (size_t i = 0; i < m->n_items; i++)
                        k += m->items[i].tag == t;
                if (k > TIPC_LIST_MAX)
                        return -EBADMSG;
        }
        /* What no honest helper says: an approval whose window ends before
         * it starts (the helper refuses such a ticket). */
        if (p[5] == TIPC_RESULT && m->u[TF_VERDICT] == TICKET_APPROVED && m->u[TF_WINDOW_START] &&
            m->u[TF_WINDOW_END] && m->u[TF_WINDOW_END] <= m->u[TF_WINDOW_START])
                return -EBADMSG;
        m->type = p[5];
        return 0;
}

static void put_raw(struct tipc_buf *b, const void *p, size_t n)
{
        if (b->err)
                return;
        if (n > sizeof(b->p) - b->len) {
                b->err = -EMSGSIZE;
                return;
        }
        memcpy(b->p + b->len, p, n);
        b->len += n;
}

static void put_head(struct tipc_buf *b, enum tipc_field f, size_t n)
{
        uint8_t h[3] = { (uint8_t) f, (uint8_t) (n & 0xff), (uint8_t) (n >> 8) };

        if (!b->err && n > UINT16_MAX)
                b->err = -EMSGSIZE;
        put_raw(b, h, sizeof(h));
}

void tipc_begin(struct tipc_buf *b, enum tipc_type type)
{
        uint8_t h[TIPC_HEADER_SIZE] = { TIPC_MAGIC & 0xff, (TIPC_MAGIC >> 8) & 0xff, (TIPC_MAGIC >> 16) & 0xff,
                                        TIPC_MAGIC >> 24, TIPC_VERSION, (uint8_t) type, 0, 0 };

        b->len = 0;
        b->err = 0;
        put_raw(b, h, sizeof(h));
}

void tipc_put_u64(struct tipc_buf *b, enum tipc_field f, uint64_t v)
{
        uint8_t le[8];

        for (int i = 0; i < 8; i++)
                le[i] = (uint8_t) (v >> (8 * i));
        put_head(b, f, 8);
        put_raw(b, le, 8);
}

void tipc_put_str(struct tipc_buf *b, enum tipc_field f, const char *s)
{
        size_t n;

        if (!s) {
                if (!b->err)
                        b->err = -EINVAL;
                return;
        }
        n = strlen(s);
        put_head(b, f, n);
        put_raw(b, s, n);
}

int tipc_end(struct tipc_buf *b, struct tipc_msg *scratch)
{
        if (b->err)
                return b->err;
        return tipc_decode(b->p, b->len, scratch) < 0 ? -EINVAL : 0;
}

int tipc_lookup(struct tipc_buf *b, struct tipc_msg *scratch, uint64_t id, const char *ticket, const char *user)
{
        tipc_begin(b, TIPC_LOOKUP);
        tipc_put_u64(b, TF_ID, id);
        tipc_put_str(b, TF_TICKET, ticket);
        tipc_put_str(b, TF_USER, user);
        return tipc_end(b, scratch);
}

int tipc_cancel(struct tipc_buf *b, struct tipc_msg *scratch, uint64_t id)
{
        tipc_begin(b, TIPC_CANCEL);
        tipc_put_u64(b, TF_ID, id);
        return tipc_end(b, scratch);
}

int tipc_comment(struct tipc_buf *b, struct tipc_msg *scratch, const char *ticket, const char *text)
{
        tipc_begin(b, TIPC_COMMENT);
        tipc_put_str(b, TF_TICKET, ticket);
        tipc_put_str(b, TF_TEXT, text);
        return tipc_end(b, scratch);
}

int tipc_ready(struct tipc_buf *b, struct tipc_msg *scratch)
{
        tipc_begin(b, TIPC_READY);
        return tipc_end(b, scratch);
}

int tipc_failed(struct tipc_buf *b, struct tipc_msg *scratch, int err, const char *why)
{
        char line[256];

        text_sanitize(line, sizeof(line), why, 0);
        tipc_begin(b, TIPC_FAILED);
        tipc_put_u64(b, TF_ERRNO, (uint64_t) (err < 0 ? -err : err));
        tipc_put_str(b, TF_WHY, line);
        return tipc_end(b, scratch);
}

int tipc_comment_failed(struct tipc_buf *b, struct tipc_msg *scratch, const char *ticket, const char *why)
{
        char line[256];

        text_sanitize(line, sizeof(line), why, 0);
        tipc_begin(b, TIPC_COMMENT_FAILED);
        tipc_put_str(b, TF_TICKET, ticket);
        tipc_put_str(b, TF_WHY, line);
        return tipc_end(b, scratch);
}

static uint64_t clamp(int64_t v, uint64_t max)
{
        return v < 0 ? 0 : (uint64_t) v > max ? max : (uint64_t) v;
}

int tipc_result(struct tipc_buf *b, struct tipc_msg *scratch, uint64_t id, const struct ticket_result *r)
{
        struct ticket_result c;

        /* What leaves the helper is a line whatever the ticket system said. */
        text_sanitize(c.status, sizeof(c.status), r->status, 0);
        text_sanitize(c.why, sizeof(c.why), r->why, 0);
        text_sanitize(c.detail, sizeof(c.detail), r->detail, 0);
        tipc_begin(b, TIPC_RESULT);
        tipc_put_u64(b, TF_ID, id);
        tipc_put_u64(b, TF_VERDICT, (uint64_t) r->verdict);
        tipc_put_str(b, TF_STATUS, c.status);
        tipc_put_u64(b, TF_WINDOW_START, clamp(r->window_start, TIPC_TIME_MAX));
        tipc_put_u64(b, TF_WINDOW_END, clamp(r->window_end, TIPC_TIME_MAX));
        tipc_put_u64(b, TF_RETRY_AFTER, clamp(r->retry_after, TIPC_RETRY_MAX));
        tipc_put_u64(b, TF_FLAGS, r->requester_ok ? TIPC_F_REQUESTER : 0);
        tipc_put_str(b, TF_WHY, c.why);
        tipc_put_str(b, TF_DETAIL, c.detail);
        return tipc_end(b, scratch);
}

void tipc_result_get(const struct tipc_msg *m, uint64_t *ret_id, struct ticket_result *r)
{
        memset(r, 0, sizeof(*r));
        *ret_id = m->u[TF_ID];
        r->verdict = (enum ticket_verdict) m->u[TF_VERDICT];
        r->window_start = (int64_t) m->u[TF_WINDOW_START];
        r->window_end = (int64_t) m->u[TF_WINDOW_END];
        r->retry_after = (int64_t) m->u[TF_RETRY_AFTER];
        r->requester_ok = m->u[TF_FLAGS] & TIPC_F_REQUESTER;
        /* Lengths were checked against these very sizes. */
        snprintf(r->status, sizeof(r->status), "%s", m->s[TF_STATUS]);
        snprintf(r->why, sizeof(r->why), "%s", m->s[TF_WHY]);
        snprintf(r->detail, sizeof(r->detail), "%s", m->s[TF_DETAIL]);
}

/* [ticket]'s strings and where they go. */
static const struct {
        enum tipc_field tag;
        size_t offset;
} config_strings[] = {
        { TF_PROVIDER, offsetof(struct ticket_config, provider) },
        { TF_URL, offsetof(struct ticket_config, url) },
        { TF_AUTH, offsetof(struct ticket_config, auth) },
        { TF_LOOKUP, offsetof(struct ticket_config, lookup) },
        { TF_STATUS_PTR, offsetof(struct ticket_config, status) },
        { TF_REQUESTER, offsetof(struct ticket_config, requester) },
        { TF_USER_MAP, offsetof(struct ticket_config, user_map) },
        { TF_WINDOW_START_PTR, offsetof(struct ticket_config, window_start) },
        { TF_WINDOW_END_PTR, offsetof(struct ticket_config, window_end) },
        { TF_HOSTS, offsetof(struct ticket_config, hosts) },
        { TF_CA_FILE, offsetof(struct ticket_config, ca_file) },
        { TF_PROJECT, offsetof(struct ticket_config, project) },
};

#define CFG_STR(cfg, i) (*(char **) (void *) ((char *) (cfg) + config_strings[i].offset))

int tipc_config(struct tipc_buf *b, struct tipc_msg *scratch, uid_t uid, gid_t gid, const char *host,
                const char *token, const struct ticket_config *cfg)
{
        tipc_begin(b, TIPC_CONFIG);
        tipc_put_u64(b, TF_UID, uid);
        tipc_put_u64(b, TF_GID, gid);
        tipc_put_str(b, TF_HOST, host);
        if (token)
                tipc_put_str(b, TF_TOKEN, token);
        for (size_t i = 0; i < ELEMENTSOF(config_strings); i++)
                if (CFG_STR(cfg, i))
                        tipc_put_str(b, config_strings[i].tag, CFG_STR(cfg, i));
        for (char *const *v = cfg->approved; v && *v; v++)
                tipc_put_str(b, TF_APPROVED, *v);
        for (char *const *v = cfg->closed; v && *v; v++)
                tipc_put_str(b, TF_CLOSED, *v);
        tipc_put_u64(b, TF_COMMENT_ON, cfg->comment);
        tipc_put_u64(b, TF_ALLOW_HTTP, cfg->allow_http);
        tipc_put_u64(b, TF_TIMEOUT, cfg->timeout);
        tipc_put_u64(b, TF_POLL, cfg->poll);
        return tipc_end(b, scratch);
}

void tipc_config_clear(struct ticket_config *cfg)
{
        if (!cfg)
                return;
        for (size_t i = 0; i < ELEMENTSOF(config_strings); i++)
                free(CFG_STR(cfg, i));
        strv_free(cfg->approved);
        strv_free(cfg->closed);
        memset(cfg, 0, sizeof(*cfg));
}

static int list_get(const struct tipc_msg *m, enum tipc_field tag, char ***ret)
{
        size_t n = 0, k = 0;
        char **v;

        *ret = NULL;
        for (size_t i = 0; i < m->n_items; i++)
                n += m->items[i].tag == tag;
        if (n == 0)
                return 0;
        v = calloc(n + 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_items; i++)
                if (m->items[i].tag == tag && !(v[k++] = strdup(m->items[i].s))) {
                        strv_free(v);
                        return -ENOMEM;
                }
        *ret = v;
        return 0;
}

int tipc_config_get(const struct tipc_msg *m, struct ticket_config *cfg)
{
        memset(cfg, 0, sizeof(*cfg));
        if (m->type != TIPC_CONFIG)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(config_strings); i++)
                if (m->s[config_strings[i].tag] && !(CFG_STR(cfg, i) = strdup(m->s[config_strings[i].tag])))
                        goto nomem;
        if (list_get(m, TF_APPROVED, &cfg->approved) < 0 || list_get(m, TF_CLOSED, &cfg->closed) < 0)
                goto nomem;
        cfg->comment = m->u[TF_COMMENT_ON];
        cfg->allow_http = m->u[TF_ALLOW_HTTP];
        cfg->timeout = m->u[TF_TIMEOUT];
        cfg->poll = m->u[TF_POLL];
        return 0;
nomem:
        tipc_config_clear(cfg);
        return -ENOMEM;
}
