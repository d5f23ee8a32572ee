/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The systemd backend of teardown: one transient scope per session, as
 * systemd-run --scope and logind do. Everything goes through the bus the
 * caller hands in, so that tests can talk to a fake manager on a socketpair.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "teardown_internal.h"
#include "util.h"

#define SD_DEST        "org.freedesktop.systemd1"
#define SD_PATH        "/org/freedesktop/systemd1"
#define SD_MANAGER     "org.freedesktop.systemd1.Manager"
#define SD_UNIT        "org.freedesktop.systemd1.Unit"
#define SD_UNIT_PREFIX "/org/freedesktop/systemd1/unit"
#define SD_NO_SUCH_UNIT "org.freedesktop.systemd1.NoSuchUnit"
#define SD_UNIT_EXISTS "org.freedesktop.systemd1.UnitExists"

/* Per call and per job wait. systemd answers in milliseconds unless it is
 * busy starting hundreds of units; jitd must not hang on it for long. */
#define BUS_TIMEOUT_USEC (5 * UINT64_C(1000000))

/* systemd's own error names are not in libsystemd's errno map. */
static int bus_errno(const sd_bus_error *e, int r)
{
        if (sd_bus_error_has_name(e, SD_NO_SUCH_UNIT) ||
            sd_bus_error_has_name(e, SD_BUS_ERROR_UNKNOWN_OBJECT))
                return -ENOENT;
        if (sd_bus_error_has_name(e, SD_UNIT_EXISTS))
                return -EEXIST;
        if (sd_bus_error_is_set(e))
                return -sd_bus_error_get_errno(e);
        return r;
}

static int call(sd_bus *bus, const char *path, const char *interface, const char *member,
                sd_bus_message **ret_reply, const char *types, ...)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, SD_DEST, path, interface, member);
        if (r < 0)
                return r;
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        if (r < 0)
                return r;
        r = sd_bus_call(bus, m, BUS_TIMEOUT_USEC, &error, &reply);
        if (r < 0)
                return bus_errno(&error, r);
        if (ret_reply)
                *ret_reply = TAKE_PTR(reply);
        return 0;
}

int teardown_systemd_unit_name(int64_t grant_id, uint64_t session_id, char *buf, size_t size)
{
        int n;

        if (grant_id <= 0 || !buf)
                return -EINVAL;
        n = snprintf(buf, size, "jit-g%" PRId64 "-s%" PRIu64 ".scope", grant_id, session_id);
        if (n < 0 || (size_t) n >= size)
                return -ENAMETOOLONG;
        return 0;
}

/* Digits only, no sign, no leading zero: one spelling per number, so that a
 * handle read back names exactly the unit that was made. */
static const char *skip_number(const char *p)
{
        const char *s = p;

        if (*p == '0')
                return p + 1;
        while (*p >= '0' && *p <= '9')
                p++;
        return p == s || p - s > 20 ? NULL : p;
}

bool teardown_systemd_valid_unit(const char *unit)
{
        const char *p;

        /* Grant ids start at 1. */
        if (!unit || strncmp(unit, "jit-g", 5) != 0 || unit[5] == '0')
                return false;
        p = skip_number(unit + 5);
        if (!p || strncmp(p, "-s", 2) != 0)
                return false;
        p = skip_number(p + 2);
        return p && strcmp(p, ".scope") == 0 && p - unit < TEARDOWN_HANDLE_MAX - 6;
}

int teardown_systemd_start_message(sd_bus *bus, const char *unit, pid_t pid, const char *description,
                                   sd_bus_message **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (!bus || !teardown_systemd_valid_unit(unit) || pid <= 1 || !description || !ret)
                return -EINVAL;
        r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "StartTransientUnit");
        if (r < 0)
                return r;
        /* "fail": never replace a job already queued for a unit of this name. */
        r = sd_bus_message_append(m, "ss", unit, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)",
                                          "Description", "s", description,
                                          "Slice", "s", JIT_SLICE,
                                          /* Stopping the scope at the grant's end is the kill itself;
                                           * nothing is owed a chance to clean up. */
                                          "KillSignal", "i", (int32_t) SIGKILL,
                                          /* A scope that failed would otherwise stay loaded forever. */
                                          "CollectMode", "s", "inactive-or-failed",
                                          "PIDs", "au", 1, (uint32_t) pid);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

struct job_wait {
        const char *job;        /* NULL until the method reply named it */
        bool done;
        char result[32];
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct job_wait *w = userdata;
        const char *job, *unit, *result;
        uint32_t id;

        (void) error;
        if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0)
                return 0;
        if (w->job && !w->done && strcmp(job, w->job) == 0) {
                snprintf(w->result, sizeof(w->result), "%s", result);
                w->done = true;
        }
        return 0;
}

/* The match goes in before the method call: JobRemoved can follow the reply
 * immediately, and sd_bus_call queues it until sd_bus_process runs it. */
static int job_watch(sd_bus *bus, struct job_wait *w, sd_bus_slot **ret_slot)
{
        /* On a real bus only systemd may have sent it; a direct connection
         * (tests) has no sender names. */
        const char *sender = sd_bus_is_bus_client(bus) > 0 ? SD_DEST : NULL;

        return sd_bus_match_signal(bus, ret_slot, sender, SD_PATH, SD_MANAGER, "JobRemoved", on_job_removed, w);
}

static int job_wait_run(sd_bus *bus, struct job_wait *w)
{
        uint64_t deadline = (uint64_t) now_monotonic_ms() * 1000 + BUS_TIMEOUT_USEC;

        while (!w->done) {
                uint64_t now;
                int r = sd_bus_process(bus, NULL);

                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                now = (uint64_t) now_monotonic_ms() * 1000;
                if (now >= deadline)
                        return -ETIMEDOUT;
                r = sd_bus_wait(bus, deadline - now);
                if (r < 0)
                        return r;
        }
        return 0;
}

int teardown_systemd_attach(sd_bus *bus, const char *unit, pid_t pid, const char *description)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        struct job_wait w = { 0 };
        const char *job;
        int r;

        r = teardown_systemd_start_message(bus, unit, pid, description, &m);
        if (r < 0)
                return r;
        r = job_watch(bus, &w, &slot);
        if (r < 0)
                return r;
        r = sd_bus_call(bus, m, BUS_TIMEOUT_USEC, &error, &reply);
        if (r < 0)
                return bus_errno(&error, r);
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return r;
        w.job = job;
        /* The pid moves when the start job runs, not when the call returns:
         * anything it forks before then would stay outside the scope. */
        r = job_wait_run(bus, &w);
        if (r < 0)
                return r;
        return strcmp(w.result, "done") == 0 ? 0 : -EIO;
}

int teardown_systemd_kill(sd_bus *bus, const char *unit)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        struct job_wait w = { 0 };
        const char *job;
        int r;

        if (!bus || !teardown_systemd_valid_unit(unit))
                return -EINVAL;
        r = job_watch(bus, &w, &slot);
        if (r < 0)
                return r;
        r = call(bus, SD_PATH, SD_MANAGER, "StopUnit", &reply, "ss", unit, "replace");
        if (r == -ENOENT)
                return 0;
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &job);
        if (r >= 0) {
                w.job = job;
                r = job_wait_run(bus, &w);
                if (r >= 0 && strcmp(w.result, "done") == 0)
                        return 0;
        }
        /* The stop job failed or is stuck: at least every process gets SIGKILL. */
        r = call(bus, SD_PATH, SD_MANAGER, "KillUnit", NULL, "ssi", unit, "all", (int32_t) SIGKILL);
        return r == -ENOENT ? 0 : r;
}

int teardown_systemd_alive(sd_bus *bus, const char *unit, bool *ret_alive)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        const char *state;
        int r;

        if (!bus || !teardown_systemd_valid_unit(unit) || !ret_alive)
                return -EINVAL;
        r = sd_bus_path_encode(SD_UNIT_PREFIX, unit, &path);
        if (r < 0)
                return r;
        r = call(bus, path, "org.freedesktop.DBus.Properties", "Get", &reply, "ss", SD_UNIT, "ActiveState");
        if (r == -ENOENT) {
                *ret_alive = false;
                return 0;
        }
        if (r >= 0)
                r = sd_bus_message_read(reply, "v", "s", &state);
        if (r < 0)
                return r;
        *ret_alive = strcmp(state, "inactive") != 0 && strcmp(state, "failed") != 0;
        return 0;
}

/* ---- on jitd's loop --------------------------------------------------- */

int systemd_scope_dir(const struct teardown *t, const char *unit, char **ret)
{
        if (!t->cgroot || !teardown_systemd_valid_unit(unit))
                return -EINVAL;
        return asprintf(ret, "%s/" JIT_SLICE "/%s", t->cgroot, unit) < 0 ? -ENOMEM : 0;
}

struct systemd_attach {
        struct systemd_attach *next;
        struct teardown *t;
        sd_bus_slot *call;              /* StartTransientUnit in flight */
        sd_event_source *timer;         /* the whole attach's deadline */
        char *job;                      /* the start job, once the reply named it */
        void (*cb)(void *userdata, int r);
        void *userdata;
};

static void attach_unlink(struct systemd_attach *a)
{
        for (struct systemd_attach **p = &a->t->attaching; *p; p = &(*p)->next)
                if (*p == a) {
                        *p = a->next;
                        break;
                }
}

void systemd_attach_cancel(struct systemd_attach *a)
{
        if (!a)
                return;
        attach_unlink(a);
        sd_bus_slot_unref(a->call);
        sd_event_source_disable_unref(a->timer);
        free(a->job);
        free(a);
}

static void attach_finish(struct systemd_attach *a, int r)
{
        void (*cb)(void *userdata, int r) = a->cb;
        void *userdata = a->userdata;

        systemd_attach_cancel(a);
        cb(userdata, r);
}

static int on_job_removed_async(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct teardown *t = userdata;
        const char *job, *unit, *result;
        uint32_t id;

        (void) error;
        if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0)
                return 0;
        for (struct systemd_attach *a = t->attaching; a; a = a->next)
                if (a->job && strcmp(a->job, job) == 0) {
                        attach_finish(a, strcmp(result, "done") == 0 ? 0 : -EIO);
                        break;
                }
        return 0;
}

/* The bus went away (dbus restarted, stopped): every attach in flight fails
 * (its session is refused), and the next session looks for the bus again. */
static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct teardown *t = userdata;

        (void) error;
        if (!sd_bus_message_is_signal(m, "org.freedesktop.DBus.Local", "Disconnected"))
                return 0;
        while (t->attaching)
                attach_finish(t->attaching, -ECONNRESET);
        t->job_slot = sd_bus_slot_unref(t->job_slot);
        if (t->bus) {
                sd_bus_detach_event(t->bus);
                t->bus = sd_bus_flush_close_unref(t->bus);
        }
        return 0;
}

#define BUS_RETRY_MS 5000

int systemd_bus_ensure(struct teardown *t)
{
        sd_bus *bus = NULL;
        int r;

        if (t->bus)
                return 0;
        if (!t->event || t->mode != TEARDOWN_SYSTEMD)
                return -EOPNOTSUPP;
        if (now_monotonic_ms() < t->bus_retry_ms)
                return -ENOTCONN;
        t->bus_retry_ms = now_monotonic_ms() + BUS_RETRY_MS;
        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        /* Connecting is a connect() to a local socket; everything after it
         * (Hello included) runs on the loop. */
        r = sd_bus_set_address(bus, "unix:path=/run/dbus/system_bus_socket");
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, 1);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r >= 0)
                r = sd_bus_attach_event(bus, t->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_match_signal_async(bus, &t->job_slot, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved",
                                              on_job_removed_async, NULL, t);
        /* A filter, not a match: the Local signals never reach the daemon. */
        if (r >= 0)
                r = sd_bus_add_filter(bus, NULL, on_disconnected, t);
        if (r < 0) {
                t->job_slot = sd_bus_slot_unref(t->job_slot);
                sd_bus_detach_event(bus);
                sd_bus_flush_close_unref(bus);
                return r;
        }
        t->bus = bus;
        return 0;
}

static int on_start_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct systemd_attach *a = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        const char *job;
        int r;

        (void) error;
        a->call = sd_bus_slot_unref(a->call);
        if (e) {
                attach_finish(a, bus_errno(e, -EIO));
                return 0;
        }
        r = sd_bus_message_read(m, "o", &job);
        if (r >= 0 && !(a->job = strdup(job)))
                r = -ENOMEM;
        if (r < 0)
                attach_finish(a, r);
        /* Otherwise JobRemoved finishes it: the pid moves when the start job
         * runs, not when the call returns. */
        return 0;
}

static int on_attach_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void) s;
        (void) usec;
        attach_finish(userdata, -ETIMEDOUT);
        return 0;
}

int systemd_attach_start(struct teardown *t, const char *unit, pid_t pid, const char *description,
                         void (*cb)(void *userdata, int r), void *userdata, struct systemd_attach **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        struct systemd_attach *a;
        int r;

        r = systemd_bus_ensure(t);
        if (r < 0)
                return r;
        r = teardown_systemd_start_message(t->bus, unit, pid, description, &m);
        if (r < 0)
                return r;
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        *a = (struct systemd_attach) { .t = t, .cb = cb, .userdata = userdata, .next = t->attaching };
        t->attaching = a;
        r = sd_bus_call_async(t->bus, &a->call, m, on_start_reply, a, BUS_TIMEOUT_USEC);
        if (r >= 0)
                r = sd_event_add_time_relative(t->event, &a->timer, CLOCK_MONOTONIC, BUS_TIMEOUT_USEC, 1000,
                                               on_attach_timeout, a);
        if (r < 0) {
                systemd_attach_cancel(a);
                return r;
        }
        *ret = a;
        return 0;
}
