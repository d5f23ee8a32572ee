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
#include "util.h"

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
        _cleanup_free_ char *safe = NULL;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        /* Messages quote names, tickets and answers from ticket systems: a
         * new line or an escape sequence in one must not start a line of its
         * own or act on whoever reads the log. */
        if (text_escape(line, 0, &safe) < 0)
                safe = NULL;
        if (to_journal)
                sd_journal_print(priority, "%s", safe ? safe : "(message lost: out of memory)");
        else
                fprintf(stderr, "jitd: %s: %s\n", prio_name(priority), safe ? safe : "(message lost: out of memory)");
}

/* One key=value field of an event line. Values a user chose (a reason in
 * the details, a ticket) could otherwise carry " event=x actor=root" and
 * forge fields for whatever parses the line: a value is written bare only
 * when it is a plain word, else in double quotes with '"' and '\\' escaped
 * (and controls, bidi and bytes that are not UTF-8, as everywhere). So each
 * key=value pair is exactly one field, as logfmt reads it. */
static bool bare_word(const char *v)
{
        if (!v[0])
                return false;
        for (const char *p = v; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      strchr("_.-:/#@+$", *p)))
                        return false;
        return true;
}

static void field(FILE *f, const char *key, const char *value)
{
        _cleanup_free_ char *e = NULL;

        if (!value)
                value = "";
        if (bare_word(value)) {
                fprintf(f, " %s=%s", key, value);
                return;
        }
        if (text_escape(value, TEXT_ESCAPE_QUOTE, &e) < 0) {
                fprintf(f, " %s=\"(lost: out of memory)\"", key);
                return;
        }
        fprintf(f, " %s=\"%s\"", key, e);
}

/* The fields of an event after prefix ("jitd: notice:" for stderr, "" for
 * syslog), in a fresh string; NULL on ENOMEM. seq and hash come first after
 * the event's name: its place in the chain. */
static char *event_line(const char *prefix, const struct audit_event *e, const struct jit_grant *g)
{
        static const char *const keys[] = { "event", "seq", "hash", "grant", "user", "role", "ticket", "actor",
                                             "actor_uid", "details" };
        char *buf = NULL, seq[24], id[24], uid[16];
        const char *values[ELEMENTSOF(keys)];
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        snprintf(seq, sizeof(seq), "%" PRId64, e->seq);
        snprintf(id, sizeof(id), "%" PRId64, e->grant_id);
        snprintf(uid, sizeof(uid), "%u", (unsigned) e->actor_uid);
        values[0] = e->event;
        values[1] = seq;
        values[2] = e->hash;
        values[3] = id;
        values[4] = g ? g->user : "-";
        values[5] = g ? g->role : "-";
        values[6] = g && g->ticket[0] ? g->ticket : "-";
        values[7] = e->actor;
        values[8] = uid;
        values[9] = e->details ? e->details : "{}";
        fputs(prefix, f);
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                field(f, keys[i], values[i]);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* Every audit event also leaves the host's log with its place in the chain:
 * the journal with JIT_* fields where there is one, else syslog (authpriv),
 * for a SIEM that does not read the database; and jitd's stderr when that is
 * not the journal. */
void log_audit(int priority, const struct audit_event *e, const struct jit_grant *g)
{
        const char *user = g ? g->user : "", *role = g ? g->role : "", *ticket = g ? g->ticket : "";
        const char *details = e->details ? e->details : "{}";
        _cleanup_free_ char *line = NULL, *sys = NULL;

        if (to_journal || journal_exists)
                sd_journal_send("MESSAGE=jit %s: grant %" PRId64 " user %s role %s by %s (seq %" PRId64 ")",
                                e->event, e->grant_id, g ? user : "-", g ? role : "-", e->actor, e->seq,
                                "PRIORITY=%d", priority, "SYSLOG_IDENTIFIER=jitd", "JIT_EVENT=%s", e->event,
                                "JIT_SEQ=%" PRId64, e->seq, "JIT_HASH=%s", e->hash, "JIT_PREV_HASH=%s", e->prev_hash,
                                "JIT_AT=%" PRId64, e->at, "JIT_GRANT=%" PRId64, e->grant_id, "JIT_USER=%s", user,
                                "JIT_ROLE=%s", role, "JIT_TICKET=%s", ticket, "JIT_ACTOR=%s", e->actor,
                                "JIT_ACTOR_UID=%u", (unsigned) e->actor_uid, "JIT_DETAILS=%s", details, NULL);
        else {
                sys = event_line("", e, g);
                /* The leading space of the first field goes. */
                syslog(priority, "%s", sys ? sys + 1 : "jit event (lost: out of memory)");
        }
        if (to_journal)
                return;
        {
                char prefix[32];

                snprintf(prefix, sizeof(prefix), "jitd: %s:", prio_name(priority));
                line = event_line(prefix, e, g);
        }
        if (line)
                fprintf(stderr, "%s\n", line);
}
