/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitd.conf: an INI file read with libinih. Parsed whole; every problem is
 * collected as "FILE:LINE: message" and the caller refuses to run when there is
 * any (doas style). Sections: [jitd], [role:NAME] (any number), [ticket],
 * [fleet].
 */
#ifndef JIT_CONFIG_H
#define JIT_CONFIG_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JIT_DEFAULT_CONFIG   "/etc/jit/jitd.conf"
#define JIT_DEFAULT_DATABASE "/var/lib/jitd/jitd.db"
#define JIT_DEFAULT_SUDOERS  "/etc/sudoers.d"
#define JIT_DEFAULT_VISUDO   "/usr/sbin/visudo"
#define JIT_DEFAULT_RECORD_DIR "/var/log/jit/sessions"

enum approval_flags {
        APPROVAL_TICKET = 1 << 0,
        APPROVAL_PEER   = 1 << 1,
        APPROVAL_AUTO   = 1 << 2,
};

enum ticket_mode { TICKET_NONE = 0, TICKET_OPTIONAL, TICKET_REQUIRED };

/* What of a session is recorded: nothing, what it printed, or also what was
 * typed. Ordered: a larger value records more. */
enum record_mode { RECORD_NONE = 0, RECORD_OUTPUT, RECORD_ALL };

enum teardown_mode { TEARDOWN_AUTO = 0, TEARDOWN_SYSTEMD, TEARDOWN_CGROUP, TEARDOWN_PIDFD, TEARDOWN_NONE };

struct role {
        char *name;
        unsigned line;              /* where [role:NAME] stands, for messages */
        char **members;             /* "alice", "%webops" */
        char **hosts;               /* glob patterns; default {"*"} */
        char **services;            /* default {"sudo"} */
        char **runas;               /* default {"root"} */
        char **commands;            /* absolute paths, or {"ALL"}; default {"ALL"} */
        bool nopasswd;              /* default false */
        unsigned approval;          /* enum approval_flags; default APPROVAL_PEER */
        char **approvers;           /* users and %groups */
        unsigned approvals;         /* default 1 */
        enum ticket_mode ticket;    /* default TICKET_OPTIONAL */
        char *ticket_pattern;       /* NULL = any valid ticket */
        regex_t ticket_re;          /* compiled ticket_pattern (REG_EXTENDED|REG_NOSUB) */
        bool ticket_re_set;
        uint64_t default_duration;  /* default 1h */
        uint64_t max_duration;      /* default 4h */
        char **break_glass;         /* users and %groups; NULL = nobody */
        uint64_t break_glass_duration; /* default 30m */
        unsigned uses;              /* 0 = unlimited */
        unsigned max_extensions;    /* default 0 */
        enum record_mode record;    /* default RECORD_NONE */
};

struct ticket_config {
        char *provider;             /* "none" (default), jira, servicenow, redmine, rt, gitlab, http */
        char *url, *token_file, *auth, *lookup, *status, *requester, *user_map;
        char **approved, **closed;
        char *window_start, *window_end, *hosts;
        bool comment;
        bool allow_http;
        uint64_t poll;              /* default 60s */
        uint64_t timeout;           /* default 10s */
        uint64_t pending_timeout;   /* default 1d */
        char *ca_file;
        char *project;              /* gitlab: numeric id or group/subgroup/name, for {project} */
        char *helper_user;          /* the ticket helper's user; NULL = nobody */
};

/* [fleet]: the shared PostgreSQL database of a fleet (doc/FLEET.md). */
struct fleet_config {
        unsigned line;              /* where [fleet] stands; 0: there is none */
        char *database;             /* a libpq connection string without a password */
        char *write_database;       /* the same, for writes (the primary, when database is a replica); NULL: database */
        char *password_file;        /* absolute path; NULL: none (a client certificate, say) */
        uint64_t sync;              /* catch-up interval, seconds; default 2 */
        char *allowed_signers;      /* absolute path; NULL: no peer approval verifies here */
        uint64_t ticket_jitter;     /* seconds: the first lookup of a fleet grant's ticket waits up to this */
};

/* The sync bounds: more often than every second buys nothing LISTEN does not
 * give already; less often than hourly leaves a missed revocation standing
 * for too long. */
#define FLEET_SYNC_MIN 1
#define FLEET_SYNC_MAX 3600
#define FLEET_SYNC_DEFAULT 2
/* A ticket-approved fleet grant reaches every host of its scope at once (the
 * notification): each host waits a random time below ticket_jitter before its
 * first lookup of the ticket, so that the ticket system is not asked by all
 * of them in the same millisecond. */
#define FLEET_TICKET_JITTER_MIN 1
#define FLEET_TICKET_JITTER_MAX 3600
#define FLEET_TICKET_JITTER_DEFAULT 5

/* What jitd says about a [fleet] it cannot act on yet. */
#define CONFIG_FLEET_UNIMPLEMENTED "[fleet] is not implemented by this jitd yet"

struct config {
        char *path;
        /* [jitd] */
        char *socket;               /* default JIT_DEFAULT_SOCKET */
        char *database;             /* default JIT_DEFAULT_DATABASE */
        char *sudoers_dir;          /* default JIT_DEFAULT_SUDOERS */
        char *host;                 /* default: gethostname() */
        char *admin_group;          /* NULL = only root is an admin */
        char *visudo;               /* default JIT_DEFAULT_VISUDO */
        enum teardown_mode teardown;
        uint64_t warn_before;       /* 0 = off */
        char *metrics_file;         /* NULL = off */
        char *notify;               /* NULL = off */
        char *audit_key;            /* NULL = a plain SHA-256 chain */
        uint64_t review_within;     /* default 1d */
        enum record_mode record_break_glass; /* default RECORD_ALL */
        char *record_dir;           /* default JIT_DEFAULT_RECORD_DIR */
        uint64_t record_retention;  /* default 90d */
        /* [role:*] in file order */
        struct role *roles;
        size_t n_roles;
        /* [ticket] */
        struct ticket_config ticket;
        /* [fleet] */
        struct fleet_config fleet;
};

/* Collected problems, "FILE:LINE: message" each. */
struct config_errors {
        char **lines;
        size_t n;
};
void config_errors_clear(struct config_errors *e);

/* Parse path. On success (0, and e->n == 0) *ret is a complete config with
 * defaults applied and cross-checks done. On any problem returns -EINVAL with
 * every problem in e (file:line each), or another negative errno when the file
 * cannot be read at all (e then holds one line saying so). *ret is set only on
 * success. */
int config_load(const char *path, struct config **ret, struct config_errors *e);
/* The same, read from fd (from its start): the descriptor a caller opened
 * and checked, so that what was checked is what is parsed. path names it in
 * messages. fd stays the caller's. */
int config_load_fd(int fd, const char *path, struct config **ret, struct config_errors *e);

enum config_load_flags {
        /* A [fleet] section is an error (CONFIG_FLEET_UNIMPLEMENTED at its
         * line), reported with every other one: jitd refuses settings it
         * does not implement, while jitctl and the tests can still read them. */
        CONFIG_REFUSE_FLEET = 1 << 0,
};
/* config_load_fd() with enum config_load_flags. */
int config_load_fd_flags(int fd, const char *path, unsigned flags, struct config **ret,
                         struct config_errors *e);
void config_free(struct config *c);

const struct role *config_find_role(const struct config *c, const char *name);

/* Whether value, written as "key = value" in jitd.conf, reads back as the
 * same value: not empty, no control character, no white space at either end,
 * no '#' or ';' after white space (the reader takes those for a comment). For
 * programs that print lines to paste into the file (jitctl fleet add-host). */
bool config_value_fits(const char *value);

/* What a grant of role r records: the role's record, or for a break-glass
 * grant whichever of that and [jitd] record_break_glass records more. */
enum record_mode config_record_mode(const struct config *c, const struct role *r, bool break_glass);
/* Whether any grant under c can be recorded (a recording directory is needed). */
bool config_records_any(const struct config *c);
const char *record_mode_to_string(enum record_mode m);

/* "ticket,peer" etc. into buf. */
void approval_format(unsigned flags, char *buf, size_t size);

#endif
