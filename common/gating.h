/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which PAM services a role gates, and whether it needs a sudoers rule. One
 * answer for jitd (PAM decisions, drop-ins, sessions) and jitctl doctor, so
 * that the rule can never be spelled three ways again.
 *
 * sudo runs PAM under more than one service name: "sudo" for `sudo CMD` and
 * "sudo-i" for `sudo -i` (Debian ships /etc/pam.d/sudo-i). A role that gates
 * sudo gates both: otherwise `sudo -i` would walk around the gate in the
 * standing-rule deployment, and its session would not be torn down.
 */
#ifndef JIT_GATING_H
#define JIT_GATING_H

#include <stdbool.h>

#include "config.h"

/* Is this one of sudo's PAM services ("sudo", "sudo-i")? */
bool gating_is_sudo_service(const char *service);
/* Does the role gate this PAM service? A role without a services list gates
 * sudo (the documented default). */
bool gating_role_gates(const struct role *r, const char *service);
/* Does the role gate sudo in any of its service names, and so need a sudoers
 * drop-in while a grant of it is active? Roles for sshd or login alone never
 * hand out sudo as a side effect. */
bool gating_role_needs_sudoers(const struct role *r);
/* Does any role of the config need a drop-in (then sudoers_dir must be sound)? */
bool gating_config_needs_sudoers(const struct config *c);

#endif
