/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Free slots of the server's own CNode: where received capabilities (pinned frames, client
 * notifications), saved reply capabilities and the table pool's objects are kept. Slots come from
 * the range the root task left free; a freed slot is emptied first and reused.
 */
#include <portcullis/portcullis.h>

#include "iommu_srv.h"

static pc_cptr_t g_cnode;
static uint32_t g_next_slot;
uint32_t srv_slot_end;
static pc_cptr_t g_free_slots[1024]; /* at most the CNode size (2^10) */
static unsigned g_nfree_slots;

void srv_slots_init(pc_cptr_t cnode, uint32_t first_free, uint32_t end_free)
{
    g_cnode = cnode;
    g_next_slot = first_free;
    srv_slot_end = end_free;
}

pc_cptr_t srv_slot_alloc(void)
{
    if (g_nfree_slots > 0) {
        return g_free_slots[--g_nfree_slots];
    }
    if (g_next_slot >= srv_slot_end) {
        return 0;
    }
    return g_next_slot++;
}

void srv_slot_free(pc_cptr_t slot)
{
    (void)pc_cnode_delete(g_cnode, slot);
    if (g_nfree_slots < sizeof(g_free_slots) / sizeof(g_free_slots[0])) {
        g_free_slots[g_nfree_slots++] = slot;
    }
}
