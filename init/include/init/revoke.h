/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The root task's revocation scenario (init/src/revoke.c): frames, device, kill and restart
 * of a running driver, one step per "ready" signal of the driver, chosen with init.revoke= on the
 * kernel command line.
 */
#ifndef INIT_REVOKE_H
#define INIT_REVOKE_H

#include <stdbool.h>

/* Reads init.revoke= and init.revoke_role= from the kernel command line (no scenario without). */
void revoke_scenario_init(const char *kcmd);
/* Steps left: the root task keeps serving (and polling) until they ran. */
bool revoke_scenario_pending(void);
/* Runs the next step if the driver signalled "ready" since the last one. Never blocks longer
 * than the IOMMU server's answers. */
void revoke_scenario_poll(void);

#endif /* INIT_REVOKE_H */
