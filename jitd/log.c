/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "jitd.h"

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

static void event_to_journal(int priority, const char *event, const struct jit_grant *g, uid_t actor_uid,
                             const char *actor, const char *details)
{
        sd_journal_send("MESSAGE=jit %s: grant %lld user %s role %s by %s", event, (long long) (g ? g->id : 0),
                        g ? g->user : "-", g ? g->role : "-", actor, "PRIORITY=%d", priority,
                        "SYSLOG_IDENTIFIER=jitd", "JIT_EVENT=%s", event, "JIT_GRANT=%lld",
                        (long long) (g ? g->id : 0), "JIT_USER=%s", g ? g->user : "", "JIT_ROLE=%s",
                        g ? g->role : "", "JIT_TICKET=%s", g ? g->ticket : "", "JIT_ACTOR=%s", actor,
                        "JIT_ACTOR_UID=%u", (unsigned) actor_uid, "JIT_DETAILS=%s", details ? details : "{}", NULL);
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

/* The fields of an event, prefix first ("jitd: notice:" for stderr, "" for
 * syslog), in a fresh string; NULL on ENOMEM. */
static char *event_line(const char *prefix, const char *keys[8], const char *event, const struct jit_grant *g,
                        uid_t actor_uid, const char *actor, const char *details)
{
        char *buf = NULL, id[24], uid[16];
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        const char *values[8];

        if (!f)
                return NULL;
        snprintf(id, sizeof(id), "%lld", (long long) (g ? g->id : 0));
        snprintf(uid, sizeof(uid), "%u", (unsigned) actor_uid);
        values[0] = event;
        values[1] = id;
        values[2] = g ? g->user : "-";
        values[3] = g ? g->role : "-";
        values[4] = g && g->ticket[0] ? g->ticket : "-";
        values[5] = actor;
        values[6] = uid;
        values[7] = details ? details : "{}";
        fputs(prefix, f);
        for (size_t i = 0; i < 8; i++)
                field(f, keys[i], values[i]);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* Every audit event also leaves the host's log: the journal with JIT_*
 * fields where there is one, else syslog (authpriv), for a SIEM that does not
 * read the database. */
void log_event(int priority, const char *event, const struct jit_grant *g, uid_t actor_uid,
               const char *actor, const char *details)
{
        static const char *syslog_keys[8] = { "JIT_EVENT", "JIT_GRANT", "JIT_USER", "JIT_ROLE", "JIT_TICKET",
                                              "JIT_ACTOR", "JIT_ACTOR_UID", "JIT_DETAILS" };
        static const char *stderr_keys[8] = { "event", "grant", "user", "role", "ticket", "actor", "actor_uid",
                                              "details" };
        char prefix[32];

        if (to_journal || journal_exists)
                event_to_journal(priority, event, g, actor_uid, actor, details);
        else {
                _cleanup_free_ char *line = event_line("", syslog_keys, event, g, actor_uid, actor, details);

                /* The line starts with the blank before the first key. */
                syslog(priority, "%s", line ? line + 1 : "JIT_EVENT=lost (out of memory)");
        }
        if (to_journal)
                return;
        snprintf(prefix, sizeof(prefix), "jitd: %s:", prio_name(priority));
        {
                _cleanup_free_ char *line = event_line(prefix, stderr_keys, event, g, actor_uid, actor, details);

                fprintf(stderr, "%s\n", line ? line : "jitd: error: an event line was lost (out of memory)");
        }
}
