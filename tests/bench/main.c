/* SPDX-License-Identifier: BSD-3-Clause */
/* jitbench: one subcommand per measurement; tests/bench.sh runs them in turn. */
#include <stdio.h>
#include <string.h>

#include "jitbench.h"
#include "util.h"

static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
        const char *what;
} commands[] = {
        { "ready",       cmd_ready,        "wait until jitd answers a ping (SOCKET [TIMEOUT_MS])" },
        { "populate",    cmd_populate,     "fill a jitd database with grants (and their drop-ins)" },
        { "retime",      cmd_retime,       "move the end of a role's active grants (jitd stopped)" },
        { "echo",        cmd_echo,         "a bare SOCK_SEQPACKET echo server: the floor" },
        { "latency",     cmd_latency,      "CHECK round trips against targets, alternating" },
        { "ping",        cmd_ping,         "what one admin ping (jitctl status) costs" },
        { "isolation",   cmd_isolation,    "CHECK latency with and without hanging ticket lookups" },
        { "sudo",        cmd_sudo,         "real `sudo -n true` under alternating PAM stacks" },
        { "visudo",      cmd_visudo,       "the cost of one `visudo -cf`" },
        { "cgmove",      cmd_cgmove,       "the cost of moving a process into a fresh cgroup" },
        { "throughput",  cmd_throughput,   "auto-approved requests to active, per second" },
        { "revoke-one",  cmd_revoke_one,   "end time to drop-in removed and session dead, one grant" },
        { "revoke-many", cmd_revoke_many,  "the same for many grants ending in one second" },
        { "fleet-watch", cmd_fleet_watch,  "run a command; time its drop-ins appearing or going on every host" },
        { "fleet-stats", cmd_fleet_stats,  "fleet-watch's times as one R line" },
};

int main(int argc, char **argv)
{
        if (argc >= 2)
                for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                        if (strcmp(argv[1], commands[i].name) == 0)
                                return commands[i].fn(argc - 1, argv + 1);
        fprintf(stderr, "usage: jitbench COMMAND [OPTIONS]\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(stderr, "  %-12s %s\n", commands[i].name, commands[i].what);
        return 2;
}
