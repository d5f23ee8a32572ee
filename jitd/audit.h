/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The audit trail as a hash chain, and its copy in the system log.
 *
 *   hash = hex(SHA-256(prev_hash "\n" F(seq) F(at) F(actor_uid) F(actor)
 *                      F(grant_id) F(event) F(details)))
 *
 * where F(x) is the netstring "<decimal byte length>:<bytes>," and integers are
 * written in decimal ("-5", "0", "42"; grant_id 0 when not about a grant). The
 * length prefixes make the encoding unambiguous: moving bytes from one field to
 * the next changes the input. The first event's prev_hash is 64 '0's.
 *
 * With [jitd] audit_key the hash is HMAC-SHA256 under the key instead, from
 * the "audit-key" event that names the key (it included) on: someone who can
 * write the database but not read the key cannot recompute the chain.
 *
 * Changing this format breaks every existing log: it needs a new schema version
 * that records where the old format ends.
 *
 * Every committed event also goes to the journal (or syslog) with its seq and
 * hash: that copy, off the database, is what shows the newest events deleted
 * or the whole chain recomputed by someone who can write the file.
 */
#ifndef JITD_AUDIT_H
#define JITD_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit_key.h"
#include "grant.h"
#include "store.h"

#define AUDIT_EVENT_KEY  "audit-key"
#define AUDIT_KEY_ID_LEN 16

struct audit_chain;

int audit_chain_new(struct audit_chain **ret);
void audit_chain_free(struct audit_chain *c);

/* Key the chain: new events are HMAC-SHA256 with k's first key; events
 * chained with the others still verify. Copies the keys. */
int audit_chain_set_keys(struct audit_chain *c, const struct audit_keyring *k);
/* The id of the key that chains new events ("" when plain): 16 hex digits of
 * an HMAC of a fixed label, which names the key without revealing it. */
const char *audit_chain_key_id(const struct audit_chain *c);

/* At start, before anything else is appended: when the newest audit-key event
 * does not name the chain's key (or there is none and the chain is keyed),
 * append one, in its own transaction: it and every event after it are
 * chained with that key ("" = plain SHA-256 again). Returns 1 with
 * *ret_marker (valid until the next call) and *ret_last_before (the seq
 * before it) when one was written, 0 when the chain already was as keyed. */
int audit_anchor(struct audit_chain *c, struct store *s, int64_t now, struct audit_event *ret_marker,
                 int64_t *ret_last_before);

/* Append e inside the caller's transaction: e->seq, e->prev_hash and e->hash
 * are filled in. */
int audit_append(struct audit_chain *c, struct store *s, struct audit_event *e);

/* How many events audit_append has written (into transactions that may yet
 * roll back): a cheap "something new" for whoever follows the chain (the
 * fleet upload), which then reads the store for what committed. */
uint64_t audit_chain_appended(const struct audit_chain *c);

/* Walk the chain; 0 when intact, -EBADMSG when broken, with *ret_seq the first
 * bad seq and why a one-line explanation ("event 12 was edited", "event 7 is
 * missing (deleted)", "event 9 does not chain to event 8 (inserted or
 * reordered)"). When intact, *ret_seq is the last seq checked (0: empty log)
 * and why is "". ret_seq and why may be NULL. Other errors: the store's. */
int audit_verify(struct audit_chain *c, struct store *s, int64_t *ret_seq, char *why, size_t why_size);

/* One event's fields as its hash covers them (the formula above); the
 * strings need not end in NUL. */
struct audit_fields {
        int64_t seq, at, actor_uid, grant_id;
        const char *actor, *event, *details;
        size_t actor_len, event_len, details_len;
};
/* The plain (SHA-256, unkeyed) chain hash of f after prev_hash (64 hex
 * digits): the very computation audit_append and audit_verify use, for
 * checking a copy of a host's chain elsewhere (the fleet's jit.audit,
 * jitd/fleet_audit.c). -EINVAL for a prev_hash of the wrong length. */
int audit_hash_plain(const struct audit_chain *c, const char *prev_hash, const struct audit_fields *f,
                     char out[STORE_HASH_LEN + 1]);
/* Is it an audit-key event? 1 with the key id it names in id ("" when the
 * chain goes back to plain SHA-256 from it on; the event itself is chained
 * the new way), 0 when it is another event, -EBADMSG for a marker whose
 * details are not what audit_anchor writes. */
int audit_marker_key(const char *event, const char *details, char id[AUDIT_KEY_ID_LEN + 1]);

/* The journal copy of a committed event: its fields, seq and hash, and the
 * grant's user, role and ticket when g is given. alert: it pages somebody. */
void audit_log_committed(const struct audit_event *e, const struct jit_grant *g, bool alert);

#endif
