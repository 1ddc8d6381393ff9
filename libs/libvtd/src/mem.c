/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Page allocation for tables and queues through the accessor. The accessor hands out single
 * pages; queues need one contiguous run, which is assembled here or refused.
 */
#include "mem.h"

void *vtd_alloc_table(struct vtd_unit *u, uint64_t *pa)
{
    void *va = u->hw->alloc_page(u->hw->ctx, pa);
    if (va && (*pa & (VTD_PAGE_SIZE - 1))) {
        /* An accessor that breaks its contract must not corrupt tables. */
        u->hw->free_page(u->hw->ctx, va, *pa);
        return NULL;
    }
    return va;
}

enum vtd_err vtd_alloc_contiguous(struct vtd_unit *u, unsigned pages, void **va_out,
                                  uint64_t *pa_out)
{
    /* The accessor hands out single pages: allocate one by one and insist that each follows the
       previous one both physically and in the CPU's view (queues are one contiguous region). */
    uint64_t pa0 = 0;
    void *va0 = NULL;
    for (unsigned i = 0; i < pages; i++) {
        uint64_t pa;
        void *va = vtd_alloc_table(u, &pa);
        bool contiguous = va && (i == 0 || (pa == pa0 + i * VTD_PAGE_SIZE &&
                                            (char *)va == (char *)va0 + i * VTD_PAGE_SIZE));
        if (!contiguous) {
            if (va) {
                u->hw->free_page(u->hw->ctx, va, pa);
            }
            vtd_free_contiguous(u, i, va0, pa0);
            return va ? VTD_ERR_UNSUPPORTED : VTD_ERR_NOMEM;
        }
        if (i == 0) {
            pa0 = pa;
            va0 = va;
        }
    }
    *va_out = va0;
    *pa_out = pa0;
    return VTD_OK;
}

void vtd_free_contiguous(struct vtd_unit *u, unsigned pages, void *va, uint64_t pa)
{
    for (unsigned j = 0; j < pages; j++) {
        u->hw->free_page(u->hw->ctx, (char *)va + j * VTD_PAGE_SIZE, pa + j * VTD_PAGE_SIZE);
    }
}
