/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Between the server (routing, slot table) and the per-slot state machine: the two slot entry
 * points that only the server may call, after it has validated the slot and the message.
 */
#ifndef HOTPLUG_INTERNAL_H
#define HOTPLUG_INTERNAL_H

#include <hotplug/hotplug.h>

/* Takes over a slot whose port passed hp_server_add_slot's checks. */
void hp_slot_start(struct hp_slot *s, uint64_t now);
/* The slot's current driver answered detached() with the current handle. */
void hp_slot_detached(struct hp_slot *s, uint64_t now);

#endif /* HOTPLUG_INTERNAL_H */
