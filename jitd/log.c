/* SPDX-License-Identifier: BSD-3-Clause */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "log.h"

/* Set once at start-up, before the loop; read-only afterwards. */
static bool to_journal;         /* stderr is the journal */
static bool journal_exists;     /* a journal runs, though stderr is elsewhere */

/* systemd sets JOURNAL_STREAM to "dev:ino" of the stream it connected to our
 * stderr; when they match, structured journal entries beat plain lines. */
void log_setup(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        to_journal = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
                     (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
        journal_exists = access("/run/systemd/journal/socket", F_OK) == 0;
        if (!to_journal && !journal_exists)
                openlog("jitd", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
}

static const char *prio_name(int p)
{
        static const char *const names[] = { "emerg", "alert", "crit", "error", "warning", "notice",
                                             "info", "debug" };

        return p >= 0 && p < 8 ? names[p] : "info";
}

void log_msg(int priority, const char *fmt, ...)
{
        char line[2048];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (to_journal)
                sd_journal_print(priority, "%s", line);
        else
                fprintf(stderr, "jitd: %s: %s\n", prio_name(priority), line);
}

/* A value for a key=value line: quoted, with '"', '\' and every byte below
 * 0x20 or at 0x7f escaped, so that a reason can never forge another field or
 * another line. */
static void quote(char *out, size_t size, const char *v)
{
        size_t o = 0;

        if (size < 3)
                return;
        out[o++] = '"';
        for (const unsigned char *p = (const unsigned char *) (v ? v : ""); *p && o + 6 < size; p++) {
                if (*p == '"' || *p == '\\') {
                        out[o++] = '\\';
                        out[o++] = (char) *p;
                } else if (*p < 0x20 || *p == 0x7f)
                        o += (size_t) snprintf(out + o, size - o, "\\x%02x", *p);
                else
                        out[o++] = (char) *p;
        }
        out[o++] = '"';
        out[o] = '\0';
}

/* Every audit event also leaves the host's log with its place in the chain:
 * the journal with JIT_* fields where there is one, else syslog (authpriv),
 * for a SIEM that does not read the database. */
void log_audit(int priority, const struct audit_event *e, const struct jit_grant *g)
{
        const char *user = g ? g->user : "", *role = g ? g->role : "", *ticket = g ? g->ticket : "";
        const char *details = e->details ? e->details : "{}";

        if (to_journal || journal_exists)
                sd_journal_send("MESSAGE=jit %s: grant %" PRId64 " user %s role %s by %s (seq %" PRId64 ")",
                                e->event, e->grant_id, g ? user : "-", g ? role : "-", e->actor, e->seq,
                                "PRIORITY=%d", priority, "SYSLOG_IDENTIFIER=jitd", "JIT_EVENT=%s", e->event,
                                "JIT_SEQ=%" PRId64, e->seq, "JIT_HASH=%s", e->hash, "JIT_PREV_HASH=%s", e->prev_hash,
                                "JIT_AT=%" PRId64, e->at, "JIT_GRANT=%" PRId64, e->grant_id, "JIT_USER=%s", user,
                                "JIT_ROLE=%s", role, "JIT_TICKET=%s", ticket, "JIT_ACTOR=%s", e->actor,
                                "JIT_ACTOR_UID=%u", (unsigned) e->actor_uid, "JIT_DETAILS=%s", details, NULL);
        if (to_journal)
                return;
        {
                char q_user[80], q_role[140], q_ticket[140], q_actor[80], q_details[4200];

                quote(q_user, sizeof(q_user), user);
                quote(q_role, sizeof(q_role), role);
                quote(q_ticket, sizeof(q_ticket), ticket);
                quote(q_actor, sizeof(q_actor), e->actor);
                quote(q_details, sizeof(q_details), details);
                if (!journal_exists)
                        syslog(priority, "event=%s seq=%" PRId64 " hash=%s grant=%" PRId64 " user=%s role=%s "
                               "ticket=%s actor=%s actor_uid=%u details=%s", e->event, e->seq, e->hash,
                               e->grant_id, q_user, q_role, q_ticket, q_actor, (unsigned) e->actor_uid, q_details);
                fprintf(stderr, "jitd: %s: event=%s seq=%" PRId64 " hash=%s grant=%" PRId64 " user=%s role=%s "
                        "ticket=%s actor=%s actor_uid=%u details=%s\n", prio_name(priority), e->event, e->seq,
                        e->hash, e->grant_id, q_user, q_role, q_ticket, q_actor, (unsigned) e->actor_uid, q_details);
        }
}
