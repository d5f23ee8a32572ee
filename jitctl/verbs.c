/* SPDX-License-Identifier: BSD-3-Clause */
/* Every verb jitctl knows, its options and its help, in one table. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"
#include "duration.h"
#include "grant.h"
#include "output.h"
#include "proto.h"
#include "util.h"

/* Columns: name, function, getopt string, long-only options, required options,
 * min and max positional arguments, first positional is a grant ID, usage, help.
 * A grant ID is this host's ("12") or a fleet grant's ("F12"). */
const struct cmd_verb cmd_verbs[] = {
        { "request", cmd_request, ":hs:r:t:d:m:H:", CMD_L_WAIT, "", 0, 0, false,
          "request [-r ROLE] [-H PATTERN,...] [-t TICKET] [-d DURATION] [-m REASON] [--wait[=TIMEOUT]]",
          "ask for an elevation; --wait waits for the approval (default 15m); -H: a fleet grant's hosts" },
        { "list", cmd_list, ":hs:r:", CMD_L_ALL | CMD_L_USER | CMD_L_STATE | CMD_L_JSON | CMD_L_HOST, "", 0, 0, false,
          "list [--all] [--user USER] [--state STATE] [--role ROLE] [--host PATTERN] [--json]",
          "open grants (--all: ended ones too), the fleet's after; approvers and admins see everyone's" },
        { "show", cmd_show, ":hs:", CMD_L_JSON, "", 1, 1, true,
          "show ID [--json]",
          "every field of one grant; a fleet grant (F12): its approvals and what each host did" },
        { "approve", cmd_approve, ":hs:m:U", CMD_L_KEY, "", 1, 1, true,
          "approve ID [-m NOTE] [--key FILE] [-U|--agent]",
          "approve someone else's pending request (a fleet grant: signed with your SSH key)" },
        { "deny", cmd_deny, ":hs:m:", 0, "m", 1, 1, true,
          "deny ID -m NOTE",
          "turn down someone else's pending request (a fleet grant: F12)" },
        { "cancel", cmd_cancel, ":hs:", 0, "", 1, 1, true,
          "cancel ID",
          "withdraw your own pending request (a fleet grant: F12)" },
        { "release", cmd_release, ":hs:", 0, "", 0, 1, true,
          "release [ID]",
          "end your own grant now: the task is done" },
        { "revoke", cmd_revoke, ":hs:m:", CMD_L_USER | CMD_L_ALL, "m", 0, 1, true,
          "revoke ID -m REASON | revoke --user USER --all -m REASON",
          "end anyone's grant now, or every open grant of a user (with [fleet]: fleet-wide) (admins)" },
        { "extend", cmd_extend, ":hs:d:m:", 0, "dm", 1, 1, true,
          "extend ID -d DURATION -m REASON",
          "ask for more time on your grant" },
        { "break-glass", cmd_break_glass, ":hs:r:d:m:", 0, "rm", 0, 0, false,
          "break-glass -r ROLE -m REASON [-d DURATION]",
          "emergency grant without approval, reviewed by an admin afterwards" },
        { "check", cmd_check, ":hs:S:", 0, "", 1, 1, false,
          "check USER [-S SERVICE]",
          "what the PAM module would be told for USER, and why (root)" },
        { "status", cmd_status, ":hs:", 0, "", 0, 0, false,
          "status",
          "is jitd up, and your open grants" },
        { "review", cmd_review, ":hs:m:", CMD_L_ACCEPT | CMD_L_REJECT | CMD_L_JSON | CMD_L_FLEET, "", 0, 1, true,
          "review [ID --accept|--reject -m NOTE | --json [--fleet]]",
          "break-glass grants awaiting review, or settle one (admins, not the grant's user)" },
        { "audit", cmd_audit, ":hs:", CMD_L_SINCE | CMD_L_GRANT | CMD_L_JSON | CMD_L_LOG | CMD_L_JOURNAL | CMD_L_HOST,
          "", 0, 1, false,
          "audit [--since TIME] [--grant ID] [--host PATTERN] [--json] | audit verify [--host PATTERN] [--log FILE | "
          "--journal]",
          "the audit trail (admins; with [fleet] every host's); verify checks the hash chains" },
        { "replay", cmd_replay, ":hs:", CMD_L_SESSION, "", 1, 1, true,
          "replay ID [--session N]",
          "play a recorded session of a grant back (admins, and approvers of its role; not its user)" },
        { "ssh-session", cmd_ssh_session, ":hs:", 0, "", 0, 0, false,
          "ssh-session",
          "sshd's ForceCommand: run the login shell or command, recorded with tlog when the grant records" },
        { "reload", cmd_reload, ":hs:", 0, "", 0, 0, false,
          "reload",
          "re-read jitd.conf; a broken one is refused and the old one stays (admins)" },
        { "report", cmd_report, ":hs:", CMD_L_SINCE | CMD_L_JSON | CMD_L_PROMETHEUS | CMD_L_HOST, "", 0, 0, false,
          "report [--since TIME] [--host PATTERN] [--json | --prometheus]",
          "governance figures: standing sudo rules, grants, approval and revocation times, break-glass" },
        { "doctor", cmd_doctor, ":hs:c:", CMD_L_PAM_DIR | CMD_L_SUDOERS | CMD_L_JSON, "", 0, 0, false,
          "doctor [-c CONFIG] [--pam-dir DIR] [--sudoers FILE] [--json]",
          "is this host set up right: config, jitd, PAM stacks, sudoers, ticket system, clock, teardown" },
        { "fleet", cmd_fleet, ":hD:", CMD_L_PASSWORD_FILE | CMD_L_SSLCERT | CMD_L_SSLKEY, "", 0, 2, false,
          "fleet init -D CONNINFO | fleet add-host HOST -D CONNINFO (--password-file FILE | --sslcert FILE --sslkey FILE)",
          "the fleet's PostgreSQL database: create or migrate its schema; add a host's role and its password or certificate" },
        {}
};

const struct cmd_verb *cmd_find(const char *name)
{
        for (const struct cmd_verb *v = cmd_verbs; name && v->name; v++)
                if (strcmp(v->name, name) == 0)
                        return v;
        return NULL;
}
