/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A real jitd core in a temporary directory, for the unit tests of grants,
 * the executor and the handlers: a config read from a file, the SQLite store,
 * the audit chain, an sd-event loop, the ending queue, the clock, sessions
 * (teardown = none: nothing of the test process is ever killed) and tokens.
 * visudo is /bin/true or /bin/false, as the test asks.
 */
#ifndef TESTS_JITD_FIXTURE_H
#define TESTS_JITD_FIXTURE_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "audit.h"
#include "clock.h"
#include "config.h"
#include "deadline.h"
#include "ending.h"
#include "jitd.h"
#include "sessions.h"
#include "store.h"
#include "teardown.h"
#include "nsscache.h"
#include "tokens.h"
#include "tombstone.h"

struct fixture {
        char dir[128];
        char dropins[160];
        char db[160];
        char conf[160];
        struct jitd d;
};

static inline void fixture_rm_rf(const char *dir)
{
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        (void) !system(cmd);
}

/* roles: the [role:...] sections; visudo: "/bin/true" or "/bin/false". */
static inline void fixture_start(struct fixture *f, const char *roles, const char *visudo)
{
        struct config_errors e = {};
        FILE *c;

        memset(f, 0, sizeof(*f));
        snprintf(f->dir, sizeof(f->dir), "/tmp/jitd-unit.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(f->dir));
        ck_assert_int_eq(chmod(f->dir, 0755), 0);
        snprintf(f->dropins, sizeof(f->dropins), "%s/sudoers.d", f->dir);
        snprintf(f->db, sizeof(f->db), "%s/jitd.db", f->dir);
        snprintf(f->conf, sizeof(f->conf), "%s/jitd.conf", f->dir);
        ck_assert_int_eq(mkdir(f->dropins, 0750), 0);
        c = fopen(f->conf, "w");
        ck_assert_ptr_nonnull(c);
        fprintf(c, "[jitd]\nsocket = %s/jitd.sock\ndatabase = %s\nsudoers_dir = %s\nvisudo = %s\nhost = testhost\n"
                "teardown = none\n\n%s", f->dir, f->db, f->dropins, visudo, roles);
        fclose(c);
        ck_assert_int_eq(config_load(f->conf, &f->d.config, &e), 0);
        config_errors_clear(&e);
        f->d.listen_fd = -1;
        ck_assert_int_eq(sd_event_new(&f->d.event), 0);
        ck_assert_int_eq(store_open(f->db, &f->d.store), 0);
        ck_assert_int_eq(audit_chain_new(&f->d.audit), 0);
        ck_assert_int_eq(nsscache_new(NULL, &f->d.nss), 0);
        {
                char *tombs = NULL, *tombs_disk = NULL, why[256];

                ck_assert_int_eq(tombstone_dir(f->d.config->socket, &tombs, why, sizeof(why)), 0);
                ck_assert_int_eq(tombstone_dir(f->db, &tombs_disk, why, sizeof(why)), 0);
                ck_assert_int_eq(ending_new(&f->d, tombs, tombs_disk, &f->d.ending), 0);
        }
        ck_assert_int_eq(deadline_new(&f->d, clock_on_due, &f->d.deadline), 0);
        ck_assert_int_eq(clock_new(&f->d, &f->d.clock), 0);
        ck_assert_int_eq(sessions_new(&f->d, &f->d.sessions), 0);
        ck_assert_int_eq(tokens_new(&f->d.tokens), 0);
        ck_assert_int_eq(teardown_new(TEARDOWN_NONE, NULL, &f->d.teardown), 0);
}

static inline void fixture_stop(struct fixture *f)
{
        sessions_free(f->d.sessions);
        clock_free(f->d.clock);
        deadline_free(f->d.deadline);
        ending_free(f->d.ending);
        tokens_free(f->d.tokens);
        teardown_free(f->d.teardown);
        audit_chain_free(f->d.audit);
        nsscache_free(f->d.nss);
        store_free(f->d.store);
        sd_event_unref(f->d.event);
        config_free(f->d.config);
        fixture_rm_rf(f->dir);
}

/* Run the loop until nothing is pending (or ms have passed). */
static inline void fixture_run(struct fixture *f, int ms)
{
        int64_t until = now_monotonic_ms() + ms;

        while (now_monotonic_ms() < until && sd_event_run(f->d.event, 10 * 1000) > 0)
                ;
}

static inline bool fixture_dropin(const struct fixture *f, int64_t id)
{
        char p[256];

        snprintf(p, sizeof(p), "%s/jit-%lld", f->dropins, (long long) id);
        return access(p, F_OK) == 0;
}

/* Anything at all in the drop-in directory (temporary files included)? */
static inline size_t fixture_dropin_files(const struct fixture *f)
{
        char cmd[256];
        FILE *p;
        size_t n = 0;

        snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", f->dropins);
        p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(fscanf(p, "%zu", &n), 1);
        pclose(p);
        return n;
}

struct fixture_counter {
        const char *event;
        int64_t n;
};

static inline int fixture_count_cb(const struct audit_event *e, void *userdata)
{
        struct fixture_counter *k = userdata;

        k->n += strcmp(e->event, k->event) == 0;
        return 0;
}

/* Audit events of that name about grant (0: any). */
static inline int64_t fixture_count(struct fixture *f, const char *event, int64_t grant)
{
        struct fixture_counter c = { event, 0 };
        struct store_audit_filter af = { .grant_id = grant };

        ck_assert_int_eq(store_audit_foreach(f->d.store, &af, fixture_count_cb, &c), 0);
        return c.n;
}

/* Fill the database to the brim: writes that need a new page fail as on a
 * full disk from now on (store_limit_pages(s, 0) lifts it). */
static inline void fixture_fill_disk(struct fixture *f)
{
        struct audit_event e = { .at = 1, .grant_id = 0, .details = "{\"filler\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                                                    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}" };
        int r = 0;

        snprintf(e.actor, sizeof(e.actor), "test");
        snprintf(e.event, sizeof(e.event), "filler");
        ck_assert_int_eq(store_limit_pages(f->d.store, 1), 0);
        for (int i = 0; i < 100000 && r >= 0; i++) {
                r = store_begin(f->d.store);
                if (r < 0)
                        break;
                r = audit_append(f->d.audit, f->d.store, &e);
                if (r >= 0)
                        r = store_commit(f->d.store);
                if (r < 0)
                        store_rollback(f->d.store);
        }
        ck_assert_int_eq(r, -ENOSPC);
}

#endif
