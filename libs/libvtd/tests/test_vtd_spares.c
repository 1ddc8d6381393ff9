/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Lazy reclamation of page-table pages (vtd_domain_set_spare_limit) against the VT-d model: an
 * isolated unmap keeps the emptied tables linked as spares (nothing freed, leaf-only
 * invalidation, DMA to the unmapped page faults), the next map reuses them without allocating,
 * the number of spares is bounded, an unmap covering a spare's whole span reclaims it through
 * the ordinary free-after-invalidation path, and domain teardown returns every page.
 */
#include <stdio.h>

#include "harness.h"

VT_GLOBALS;

#define SID_A 0x0100
#define IOVA 0x400000ull

static bool setup(struct rig *r, unsigned limit)
{
    if (!rig_up(r, NULL, NULL)) {
        return false;
    }
    enum vtd_err e = vtd_domain_init(&r->d, &r->u, 1, 0);
    CHECK_ERR(e, VTD_OK);
    if (e != VTD_OK) {
        return false;
    }
    vtd_domain_set_spare_limit(&r->d, limit);
    vtd_model_add_device(r->m, SID_A, 0);
    CHECK_ERR(vtd_dev_attach(&r->u, SID_A, &r->d, 0, 8), VTD_OK);
    return true;
}

/* Unmap, invalidate as the server does, release what was unlinked; returns the result. */
static struct vtd_unmap_result unmap_flush(struct rig *r, uint64_t iova, uint64_t size)
{
    struct vtd_unmap_result res;
    CHECK_ERR(vtd_domain_unmap(&r->d, iova, size, &res), VTD_OK);
    static struct vtd_batch b;
    vtd_batch_init(&b, &r->u);
    CHECK_ERR(vtd_batch_add_unmap(&b, &r->d, &res), VTD_OK);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    struct vtd_unmap_result copy = res;
    vtd_page_list_release(&r->u, &res.freed);
    return copy;
}

static void test_isolated_unmap_keeps_tables_and_remap_allocates_nothing(void)
{
    struct rig r = {0};
    if (!setup(&r, 4)) {
        rig_down(&r);
        return;
    }
    poke(&r, BUF_PA(1), 0xabcd0001);
    CHECK_ERR(vtd_domain_map(&r.d, IOVA, BUF_PA(1), 0x1000, VTD_R | VTD_W), VTD_OK);
    CHECK_EQ(r.d.table_pages, 3);
    size_t pages = vtd_model_pages_in_use(r.m);
    uint32_t v = 0;
    CHECK_EQ(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA, &v), 0);
    CHECK_EQ(v, 0xabcd0001);
    struct vtd_unmap_result res = unmap_flush(&r, IOVA, 0x1000);
    CHECK_EQ(res.unmapped, 0x1000);
    CHECK_EQ(res.freed.count, 0);
    CHECK(!res.tables_freed); /* leaf-only invalidation (IH) */
    CHECK_EQ(res.inv_start, IOVA);
    CHECK_EQ(res.inv_end, IOVA + 0x1000);
    CHECK_EQ(r.d.spare_tables, 1);
    CHECK_EQ(r.d.table_pages, 3);
    CHECK_EQ(vtd_model_pages_in_use(r.m), pages);
    CHECK(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA, &v) > 0); /* unmapped means unmapped */
    /* Many rounds: no allocation, no free, same translation each time. */
    for (unsigned i = 0; i < 100; i++) {
        poke(&r, BUF_PA(2 + i % 4), 0x5000 + i);
        CHECK_ERR(vtd_domain_map(&r.d, IOVA, BUF_PA(2 + i % 4), 0x1000, VTD_R), VTD_OK);
        CHECK_EQ(r.d.spare_tables, 0);
        v = 0;
        CHECK_EQ(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA, &v), 0);
        CHECK_EQ(v, 0x5000 + i);
        res = unmap_flush(&r, IOVA, 0x1000);
        CHECK_EQ(res.freed.count, 0);
        CHECK(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA, &v) > 0);
    }
    CHECK_EQ(vtd_model_pages_in_use(r.m), pages);
    struct vtd_model_stats st;
    vtd_model_get_stats(r.m, &st);
    CHECK_EQ(st.freed_while_cached, 0);
    rig_down(&r);
}

static void test_spare_tables_are_bounded_by_the_limit(void)
{
    struct rig r = {0};
    if (!setup(&r, 2)) {
        rig_down(&r);
        return;
    }
    /* Four leaf tables under one level-2 table (one per 2 MiB). */
    for (unsigned i = 0; i < 4; i++) {
        CHECK_ERR(vtd_domain_map(&r.d, (uint64_t)i << 21, BUF_PA(i), 0x1000, VTD_R), VTD_OK);
    }
    CHECK_EQ(r.d.table_pages, 6);
    size_t pages = vtd_model_pages_in_use(r.m);
    unsigned freed = 0;
    for (unsigned i = 0; i < 4; i++) {
        struct vtd_unmap_result res = unmap_flush(&r, (uint64_t)i << 21, 0x1000);
        freed += (unsigned)res.freed.count;
        CHECK_EQ(res.tables_freed, res.freed.count > 0);
    }
    CHECK_EQ(r.d.spare_tables, 2);
    /* the first two stay as spares (so their level-2 parent stays in use), the others go */
    CHECK_EQ(freed, 2);
    CHECK_EQ(r.d.table_pages, 4);
    CHECK_EQ(vtd_model_pages_in_use(r.m), pages - 2);
    uint32_t v;
    for (unsigned i = 0; i < 4; i++) {
        CHECK(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, (uint64_t)i << 21, &v) > 0);
    }
    rig_down(&r);
}

static void test_unmap_covering_a_spare_reclaims_it_after_invalidation(void)
{
    struct rig r = {0};
    if (!setup(&r, 4)) {
        rig_down(&r);
        return;
    }
    size_t pages0 = vtd_model_pages_in_use(r.m);
    CHECK_ERR(vtd_domain_map(&r.d, IOVA, BUF_PA(1), 0x1000, VTD_R), VTD_OK);
    CHECK_ERR(vtd_domain_map(&r.d, 1ull << 30, BUF_PA(2), 0x1000, VTD_R), VTD_OK);
    unmap_flush(&r, IOVA, 0x1000);
    CHECK_EQ(r.d.spare_tables, 1);
    /* An unmap of the whole 2 MiB the spare spans (nothing mapped there any more). */
    struct vtd_unmap_result res;
    CHECK_ERR(vtd_domain_unmap(&r.d, IOVA & ~0x1fffffull, 0x200000, &res), VTD_OK);
    CHECK_EQ(res.unmapped, 0);
    CHECK_EQ(res.freed.count, 1);
    CHECK(res.tables_freed);
    CHECK(res.inv_start <= IOVA && res.inv_end >= IOVA + 0x1000);
    /* the level-2 table above became empty by an unmap not covering it: a spare now */
    CHECK_EQ(r.d.spare_tables, 1);
    static struct vtd_batch b;
    vtd_batch_init(&b, &r.u);
    CHECK_ERR(vtd_batch_add_unmap(&b, &r.d, &res), VTD_OK);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    vtd_page_list_release(&r.u, &res.freed);
    /* A covering unmap of everything reclaims the rest: only the top table stays. */
    res = unmap_flush(&r, 0, 1ull << 39);
    CHECK_EQ(res.unmapped, 0x1000);
    CHECK_EQ(r.d.spare_tables, 0);
    CHECK_EQ(r.d.table_pages, 1);
    CHECK_EQ(vtd_model_pages_in_use(r.m), pages0);
    struct vtd_model_stats st;
    vtd_model_get_stats(r.m, &st);
    CHECK_EQ(st.freed_while_cached, 0);
    rig_down(&r);
}

static void test_domain_destroy_frees_spares(void)
{
    struct rig r = {0};
    if (!setup(&r, 8)) {
        rig_down(&r);
        return;
    }
    size_t pages0 = vtd_model_pages_in_use(r.m);
    for (unsigned i = 0; i < 3; i++) {
        CHECK_ERR(vtd_domain_map(&r.d, (uint64_t)i << 30, BUF_PA(i), 0x1000, VTD_R), VTD_OK);
        unmap_flush(&r, (uint64_t)i << 30, 0x1000);
    }
    CHECK_EQ(r.d.spare_tables, 3);
    CHECK_EQ(vtd_model_pages_in_use(r.m), pages0 + 6);
    vtd_domain_destroy(&r.d);
    CHECK_EQ(r.d.spare_tables, 0);
    CHECK_EQ(vtd_model_pages_in_use(r.m), pages0 - 1);
    rig_down(&r);
}

static void test_limit_zero_reclaims_at_once(void)
{
    struct rig r = {0};
    if (!setup(&r, 0)) {
        rig_down(&r);
        return;
    }
    CHECK_ERR(vtd_domain_map(&r.d, IOVA, BUF_PA(1), 0x1000, VTD_R), VTD_OK);
    struct vtd_unmap_result res = unmap_flush(&r, IOVA, 0x1000);
    CHECK_EQ(res.freed.count, 2);
    CHECK(res.tables_freed);
    CHECK_EQ(r.d.spare_tables, 0);
    CHECK_EQ(r.d.table_pages, 1);
    rig_down(&r);
}

int main(void)
{
    RUN(test_isolated_unmap_keeps_tables_and_remap_allocates_nothing);
    RUN(test_spare_tables_are_bounded_by_the_limit);
    RUN(test_unmap_covering_a_spare_reclaims_it_after_invalidation);
    RUN(test_domain_destroy_frees_spares);
    RUN(test_limit_zero_reclaims_at_once);
    VT_MAIN_END();
}
