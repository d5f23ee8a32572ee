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
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (to_journal)
                sd_journal_print(priority, "%s", line);
        else
                fprintf(stderr, "jitd: %s: %s\n", prio_name(priority), line);
}

/* Every audit event also leaves the host's log: the journal with JIT_*
 * fields where there is one, else syslog (authpriv), for a SIEM that does not
 * read the database. */
void log_event(int priority, const char *event, const struct jit_grant *g, uid_t actor_uid,
               const char *actor, const char *details)
{
        if (to_journal || journal_exists)
                event_to_journal(priority, event, g, actor_uid, actor, details);
        else
                syslog(priority, "JIT_EVENT=%s JIT_GRANT=%lld JIT_USER=%s JIT_ROLE=%s JIT_TICKET=%s JIT_ACTOR=%s "
                       "JIT_ACTOR_UID=%u JIT_DETAILS=%s", event, (long long) (g ? g->id : 0), g ? g->user : "",
                       g ? g->role : "", g ? g->ticket : "", actor, (unsigned) actor_uid,
                       details ? details : "{}");
        if (to_journal)
                return;
        fprintf(stderr, "jitd: %s: event=%s grant=%lld user=%s role=%s ticket=%s actor=%s(%u) details=%s\n",
                prio_name(priority), event, (long long) (g ? g->id : 0), g ? g->user : "-",
                g ? g->role : "-", g && g->ticket[0] ? g->ticket : "-", actor, (unsigned) actor_uid,
                details ? details : "{}");
}
