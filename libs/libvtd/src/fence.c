/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The unit's fenced set: source-ids that must never be sent a device-TLB invalidation (timed
 * out, answered badly, or removed). Consulted when descriptors are written and set by queue
 * error recovery; calls nothing else in libvtd.
 */
#include "internal.h"

void vtd_unit_fence(struct vtd_unit *u, uint16_t sid)
{
    u->fenced[sid / 64] |= 1ull << (sid % 64);
}

void vtd_unit_unfence(struct vtd_unit *u, uint16_t sid)
{
    u->fenced[sid / 64] &= ~(1ull << (sid % 64));
}

bool vtd_unit_is_fenced(const struct vtd_unit *u, uint16_t sid)
{
    if (u->fenced[sid / 64] & (1ull << (sid % 64))) {
        return true;
    }
    return u->cfg.fenced && u->cfg.fenced(u->cfg.fenced_ctx, sid);
}
