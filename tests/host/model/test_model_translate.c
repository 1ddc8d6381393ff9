/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Self-tests of the VT-d model: registers and handshakes, legacy table walks, fault recording,
 * and caches that really cache (a stale translation survives until it is invalidated).
 */
#include "tm.h"

#define SID_A 0x0010 /* 00:02.0 */
#define SID_B 0x0018 /* 00:03.0 */

static void test_cap_ecap_are_read_only_and_gcmd_reads_zero(void)
{
    struct tm t;
    CHECK(tm_init(&t, NULL));
    uint64_t cap = t.hw->read64(t.hw->ctx, R_CAP);
    CHECK_EQ(cap, 0x00d2008c22260206ull);
    t.hw->write64(t.hw->ctx, R_CAP, 0);
    t.hw->write64(t.hw->ctx, R_ECAP, 0);
    CHECK_EQ(t.hw->read64(t.hw->ctx, R_CAP), cap);
    CHECK(t.hw->read64(t.hw->ctx, R_ECAP) != 0);
    t.hw->write32(t.hw->ctx, R_GCMD, GCMD_TE);
    CHECK_EQ(t.hw->read32(t.hw->ctx, R_GCMD), 0);
    /* FECTL starts masked. */
    CHECK(t.hw->read32(t.hw->ctx, R_FECTL) & (1u << 31));
    tm_fini(&t);
}

static void test_gcmd_status_appears_only_after_polling(void)
{
    struct tm t;
    CHECK(tm_init(&t, NULL));
    uint64_t root = tm_alloc(&t);
    t.hw->write64(t.hw->ctx, R_RTADDR, root);
    t.hw->write32(t.hw->ctx, R_GCMD, GCMD_SRTP);
    CHECK_EQ(t.hw->read32(t.hw->ctx, R_GSTS) & GCMD_SRTP, 0);
    t.hw->relax(t.hw->ctx);
    CHECK(t.hw->read32(t.hw->ctx, R_GSTS) & GCMD_SRTP);
    /* TE: level-triggered by the value written. */
    t.hw->write32(t.hw->ctx, R_GCMD, GCMD_TE);
    CHECK_EQ(t.hw->read32(t.hw->ctx, R_GSTS) & GCMD_TE, 0);
    t.hw->relax(t.hw->ctx);
    CHECK(t.hw->read32(t.hw->ctx, R_GSTS) & GCMD_TE);
    /* Writing 0 turns translation off again. */
    t.hw->write32(t.hw->ctx, R_GCMD, 0);
    t.hw->relax(t.hw->ctx);
    CHECK_EQ(t.hw->read32(t.hw->ctx, R_GSTS) & GCMD_TE, 0);
    struct vtd_model_stats st;
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.gcmd_multi_change, 0);
    /* Changing two fields in one write is counted (VT-d 11.4.4 forbids it). */
    t.hw->write32(t.hw->ctx, R_GCMD, GCMD_TE | GCMD_SRTP);
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.gcmd_multi_change, 1);
    tm_fini(&t);
}

static void test_stuck_commands_never_complete(void)
{
    struct tm t;
    CHECK(tm_init(&t, NULL));
    vtd_model_set_commands_stuck(t.m, true);
    t.hw->write64(t.hw->ctx, R_RTADDR, tm_alloc(&t));
    CHECK(!tm_gcmd(&t, GCMD_SRTP, true));
    vtd_model_set_commands_stuck(t.m, false);
    t.hw->relax(t.hw->ctx);
    CHECK(t.hw->read32(t.hw->ctx, R_GSTS) & GCMD_SRTP);
    tm_fini(&t);
}

static void test_translation_off_passes_dma_through(void)
{
    struct tm t;
    CHECK(tm_init(&t, NULL));
    uint64_t pa = 0;
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x1234000, true, &pa), 0);
    CHECK_EQ(pa, 0x1234000);
    tm_fini(&t);
}

static void walk_sizes(unsigned aw)
{
    struct vtd_model_config cfg = {0};
    if (aw == 2) {
        cfg.cap = 0x00d2008c222f0406ull; /* SAGAW and MGAW: 48-bit (4-level) */
    }
    struct tm t;
    CHECK(tm_init(&t, &cfg));
    CHECK(tm_enable(&t, false));
    uint64_t pt = tm_legacy_ctx(&t, SID_A, 1, 0, aw);
    unsigned levels = aw + 2;
    uint64_t base4k = aw == 2 ? 0x7f0000001000ull : 0x40001000ull;
    tm_map(&t, pt, levels, base4k, TM_BUF_BASE, 12, true, true);
    tm_map(&t, pt, levels, 0x200000, TM_BUF_BASE + 0x200000, 21, true, false);
    tm_map(&t, pt, levels, 0x80000000ull, 0, 30, true, true);
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, base4k + 0x123, true, &pa), 0);
    CHECK_EQ(pa, TM_BUF_BASE + 0x123);
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x3fffff, false, &pa), 0);
    CHECK_EQ(pa, TM_BUF_BASE + 0x3fffff);
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x80000000ull + 0x2345678, true,
                                 &pa),
             0);
    CHECK_EQ(pa, 0x2345678);
    /* Read-only 2 MiB page: write faults with "write to read-only". */
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x200010, true, &pa),
             VTD_MODEL_FR_WRITE);
    /* Data really moves through the translation. */
    char out[] = "through the IOMMU";
    CHECK_EQ(vtd_model_dma(t.m, SID_A, VTD_MODEL_NO_PASID, base4k + 0xff8, out, sizeof(out), true),
             VTD_MODEL_FR_WRITE); /* crosses into the unmapped next page: faults */
    CHECK_EQ(vtd_model_dma(t.m, SID_A, VTD_MODEL_NO_PASID, base4k + 0x10, out, sizeof(out), true),
             0);
    CHECK(memcmp(vtd_model_phys(t.m, TM_BUF_BASE + 0x10, sizeof(out)), out, sizeof(out)) == 0);
    tm_fini(&t);
}

static void test_walks_3_level_with_superpages(void)
{
    walk_sizes(1);
}

static void test_walks_4_level_with_superpages(void)
{
    walk_sizes(2);
}

static void test_walk_fault_reasons_are_named_as_in_the_spec(void)
{
    struct vtd_model_config cfg = {.cap = 0x00d2038c22260206ull}; /* NFR = 4 records */
    struct tm t;
    CHECK(tm_init(&t, &cfg));
    CHECK(tm_enable(&t, false));
    uint64_t pa;
    /* Bus 1 has no root entry. */
    CHECK_EQ(vtd_model_translate(t.m, 0x0100, VTD_MODEL_NO_PASID, 0, false, &pa),
             VTD_MODEL_FR_ROOT_NOT_PRESENT);
    uint64_t pt = tm_legacy_ctx(&t, SID_A, 1, 0, 1);
    /* Same bus, function without a context entry. */
    CHECK_EQ(vtd_model_translate(t.m, SID_B, VTD_MODEL_NO_PASID, 0, false, &pa),
             VTD_MODEL_FR_CTX_NOT_PRESENT);
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x5000, false, &pa),
             VTD_MODEL_FR_READ);
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x5000, true, &pa),
             VTD_MODEL_FR_WRITE);
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 1ull << 39, false, &pa),
             VTD_MODEL_FR_ADDR_BEYOND_AGAW);
    /* A reserved bit (bit 51: beyond the 48-bit host address width) in a leaf. */
    tm_w64(&t, tm_pte_addr(&t, pt, 3, 0x9000, 12), TM_BUF_BASE | (1ull << 51) | 3);
    CHECK_EQ(vtd_model_translate(t.m, 0x0010, VTD_MODEL_NO_PASID, 0x9000, false, &pa),
             VTD_MODEL_FR_PTE_RSVD);
    /* TT = 3 is reserved: invalid context programming. */
    uint64_t pt_c = tm_alloc(&t);
    tm_legacy_ctx_raw(&t, 0x0020, pt_c | (3 << 2) | 1, 1 | (2 << 8));
    CHECK_EQ(vtd_model_translate(t.m, 0x0020, VTD_MODEL_NO_PASID, 0, false, &pa),
             VTD_MODEL_FR_CTX_INVALID);
    /* AW = 2 (48-bit) while SAGAW offers only 39-bit. */
    tm_legacy_ctx_raw(&t, 0x0028, pt_c | 1, 2 | (2 << 8));
    CHECK_EQ(vtd_model_translate(t.m, 0x0028, VTD_MODEL_NO_PASID, 0, false, &pa),
             VTD_MODEL_FR_CTX_INVALID);
    /* Reserved bits in a context entry. */
    tm_legacy_ctx_raw(&t, 0x0030, pt_c | 1 | (1ull << 5), 1 | (2 << 8));
    CHECK_EQ(vtd_model_translate(t.m, 0x0030, VTD_MODEL_NO_PASID, 0, false, &pa),
             VTD_MODEL_FR_CTX_RSVD);
    CHECK(strcmp(vtd_model_fault_reason_name(VTD_MODEL_FR_ROOT_NOT_PRESENT),
                 "root entry not present") == 0);
    CHECK(strcmp(vtd_model_fault_reason_name(0xee), "unknown") == 0);
    tm_fini(&t);
}

static void test_fault_record_layout_and_w1c(void)
{
    struct tm t;
    CHECK(tm_init(&t, NULL));
    CHECK(tm_enable(&t, false));
    tm_legacy_ctx(&t, SID_A, 1, 0, 1);
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0xabc123, false, &pa),
             VTD_MODEL_FR_READ);
    uint32_t fsts = t.hw->read32(t.hw->ctx, R_FSTS);
    CHECK(fsts & FSTS_PPF);
    CHECK_EQ((fsts >> 8) & 0xff, 0); /* FRI */
    uint64_t lo = t.hw->read64(t.hw->ctx, 0x220), hi = t.hw->read64(t.hw->ctx, 0x228);
    CHECK_EQ(lo, 0xabc000);
    CHECK_EQ(hi & 0xffff, SID_A);
    CHECK_EQ((hi >> 32) & 0xff, VTD_MODEL_FR_READ);
    CHECK(hi & (1ull << 62)); /* T: read */
    CHECK(hi & (1ull << 63)); /* F */
    CHECK_EQ(hi & (1ull << 31), 0); /* no PASID */
    /* F is write-1-to-clear; the rest read-only. */
    t.hw->write64(t.hw->ctx, 0x220, 0);
    CHECK_EQ(t.hw->read64(t.hw->ctx, 0x220), 0xabc000);
    t.hw->write32(t.hw->ctx, 0x22c, 1u << 31);
    CHECK_EQ(t.hw->read64(t.hw->ctx, 0x228) >> 63, 0);
    CHECK_EQ(t.hw->read32(t.hw->ctx, R_FSTS) & FSTS_PPF, 0);
    /* PPF is read-only: writing it does nothing. */
    t.hw->write32(t.hw->ctx, R_FSTS, FSTS_PPF);
    CHECK_EQ(t.hw->read32(t.hw->ctx, R_FSTS), 0);
    tm_fini(&t);
}

static void test_fault_overflow_sets_pfo_and_drops(void)
{
    struct vtd_model_config cfg = {.cap = 0x00d2038c22260206ull}; /* NFR field 3: 4 records */
    struct tm t;
    CHECK(tm_init(&t, &cfg));
    CHECK(tm_enable(&t, false));
    tm_legacy_ctx(&t, SID_A, 1, 0, 1);
    uint64_t pa;
    for (unsigned i = 0; i < 6; i++) {
        CHECK(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, i * 0x1000ull, true, &pa) ==
              VTD_MODEL_FR_WRITE);
    }
    struct vtd_model_stats st;
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.faults_recorded, 4);
    CHECK_EQ(st.faults_dropped, 2);
    uint32_t fsts = t.hw->read32(t.hw->ctx, R_FSTS);
    CHECK(fsts & FSTS_PFO);
    CHECK(fsts & FSTS_PPF);
    for (unsigned i = 0; i < 4; i++) {
        CHECK_EQ(t.hw->read64(t.hw->ctx, 0x220 + i * 16), i * 0x1000ull);
    }
    /* Free record 0 and 1; the internal index wrapped to 0, so the next fault lands there. */
    t.hw->write32(t.hw->ctx, 0x22c, 1u << 31);
    t.hw->write32(t.hw->ctx, 0x23c, 1u << 31);
    t.hw->write32(t.hw->ctx, R_FSTS, FSTS_PFO);
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x77000, false, &pa),
             VTD_MODEL_FR_READ);
    CHECK_EQ(t.hw->read64(t.hw->ctx, 0x220), 0x77000);
    CHECK_EQ(t.hw->read32(t.hw->ctx, R_FSTS) & FSTS_PFO, 0);
    /* After all records are cleared, PPF drops and FRI names the next record written. */
    for (unsigned i = 0; i < 4; i++) {
        t.hw->write32(t.hw->ctx, 0x22c + i * 16, 1u << 31);
    }
    CHECK_EQ(t.hw->read32(t.hw->ctx, R_FSTS) & FSTS_PPF, 0);
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x88000, false, &pa),
             VTD_MODEL_FR_READ);
    CHECK_EQ((t.hw->read32(t.hw->ctx, R_FSTS) >> 8) & 0xff, 1);
    tm_fini(&t);
}

static void test_single_record_unit_overflows_on_second_fault(void)
{
    struct tm t; /* QEMU default: NFR = 1 record */
    CHECK(tm_init(&t, NULL));
    CHECK(tm_enable(&t, false));
    tm_legacy_ctx(&t, SID_A, 1, 0, 1);
    uint64_t pa;
    vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x1000, false, &pa);
    vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x2000, false, &pa);
    CHECK_EQ(t.hw->read32(t.hw->ctx, R_FSTS) & (FSTS_PFO | FSTS_PPF), FSTS_PFO | FSTS_PPF);
    CHECK_EQ(t.hw->read64(t.hw->ctx, 0x220), 0x1000);
    tm_fini(&t);
}

static void test_fault_interrupt_held_pending_while_masked(void)
{
    struct tm t;
    CHECK(tm_init(&t, NULL));
    CHECK(tm_enable(&t, false));
    tm_legacy_ctx(&t, SID_A, 1, 0, 1);
    uint64_t pa;
    struct vtd_model_stats st;
    vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x1000, false, &pa);
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.fault_interrupts, 0);
    CHECK(t.hw->read32(t.hw->ctx, R_FECTL) & (1u << 30)); /* IP */
    t.hw->write32(t.hw->ctx, R_FECTL, 0);                  /* unmask */
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.fault_interrupts, 1);
    CHECK_EQ(t.hw->read32(t.hw->ctx, R_FECTL) & (1u << 30), 0);
    /* While PPF is still set, another fault raises no new event. */
    vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x2000, false, &pa);
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.fault_interrupts, 1);
    /* Serviced: the next fault interrupts at once. */
    t.hw->write32(t.hw->ctx, 0x22c, 1u << 31);
    t.hw->write32(t.hw->ctx, R_FSTS, FSTS_PFO);
    vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x3000, false, &pa);
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.fault_interrupts, 2);
    tm_fini(&t);
}

static void test_fpd_suppresses_recording(void)
{
    struct tm t;
    CHECK(tm_init(&t, NULL));
    CHECK(tm_enable(&t, false));
    uint64_t pt = tm_alloc(&t);
    tm_legacy_ctx_raw(&t, SID_A, pt | 2 /* FPD */ | 1, 1 | (1 << 8));
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x1000, false, &pa),
             VTD_MODEL_FR_READ);
    CHECK_EQ(t.hw->read32(t.hw->ctx, R_FSTS), 0);
    tm_fini(&t);
}

static void test_iotlb_keeps_stale_translation_until_invalidated(void)
{
    struct tm t;
    CHECK(tm_init(&t, NULL));
    CHECK(tm_enable(&t, false));
    CHECK(tm_qi_enable(&t, false));
    uint64_t pt = tm_legacy_ctx(&t, SID_A, 7, 0, 1);
    tm_map(&t, pt, 3, 0x10000, TM_BUF_BASE, 12, true, true);
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x10000, true, &pa), 0);
    /* Unmap without invalidation: the IOTLB still translates. */
    tm_w64(&t, tm_pte_addr(&t, pt, 3, 0x10000, 12), 0);
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x10000, true, &pa), 0);
    /* An invalidation of another page or domain does not help. */
    uint64_t d[2][4];
    tm_desc(d[0], d_iotlb_page(7), 0x20000);
    tm_desc(d[1], d_iotlb_dom(8), 0);
    tm_submit(&t, d, 2);
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x10000, true, &pa), 0);
    /* Page-selective with AM = 5: the 128 KiB block holding 0x18000 covers 0x10000. */
    tm_desc(d[0], d_iotlb_page(7), 0x18000 | 5);
    tm_submit(&t, d, 1);
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x10000, true, &pa),
             VTD_MODEL_FR_WRITE);
    tm_fini(&t);
}

static void test_iotlb_superpage_entry_covers_whole_page(void)
{
    struct tm t;
    CHECK(tm_init(&t, NULL));
    CHECK(tm_enable(&t, false));
    CHECK(tm_qi_enable(&t, false));
    uint64_t pt = tm_legacy_ctx(&t, SID_A, 7, 0, 1);
    tm_map(&t, pt, 3, 0x400000, TM_BUF_BASE, 21, true, true);
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x400000, false, &pa), 0);
    tm_w64(&t, tm_pte_addr(&t, pt, 3, 0x400000, 21), 0);
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x5ff000, false, &pa), 0);
    CHECK_EQ(pa, TM_BUF_BASE + 0x1ff000);
    /* A 4 KiB invalidation inside the 2 MiB page drops the whole entry. */
    uint64_t d[1][4];
    tm_desc(d[0], d_iotlb_page(7), 0x480000);
    tm_submit(&t, d, 1);
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x400000, false, &pa),
             VTD_MODEL_FR_READ);
    tm_fini(&t);
}

static void test_iotlb_capacity_is_limited(void)
{
    struct vtd_model_config cfg = {.iotlb_entries = 4};
    struct tm t;
    CHECK(tm_init(&t, &cfg));
    CHECK(tm_enable(&t, false));
    uint64_t pt = tm_legacy_ctx(&t, SID_A, 7, 0, 1);
    for (unsigned i = 0; i < 5; i++) {
        tm_map(&t, pt, 3, i * 0x1000ull, TM_BUF_BASE + i * 0x1000ull, 12, true, true);
    }
    uint64_t pa;
    for (unsigned i = 0; i < 5; i++) {
        CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, i * 0x1000ull, false, &pa),
                 0);
    }
    /* Page 0 was evicted: clearing its PTE takes effect without an invalidation. */
    tm_w64(&t, tm_pte_addr(&t, pt, 3, 0, 12), 0);
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0, false, &pa),
             VTD_MODEL_FR_READ);
    tm_fini(&t);
}

static void test_context_cache_keeps_old_domain_until_invalidated(void)
{
    struct tm t;
    CHECK(tm_init(&t, NULL));
    CHECK(tm_enable(&t, false));
    CHECK(tm_qi_enable(&t, false));
    uint64_t pt1 = tm_legacy_ctx(&t, SID_A, 1, 0, 1);
    tm_map(&t, pt1, 3, 0x1000, TM_BUF_BASE, 12, true, true);
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x1000, false, &pa), 0);
    /* Move the device to domain 2 with an empty table, flushing only the IOTLB. */
    uint64_t pt2 = tm_legacy_ctx(&t, SID_A, 2, 0, 1);
    (void)pt2;
    uint64_t d[2][4];
    tm_desc(d[0], D_IOTLB_GLOBAL, 0);
    tm_submit(&t, d, 1);
    /* The context cache still says domain 1, table pt1. */
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x1000, false, &pa), 0);
    CHECK_EQ(pa, TM_BUF_BASE);
    /* Device-selective context invalidation for another function changes nothing. */
    tm_desc(d[0], d_cc_dev(SID_B, 1), 0);
    tm_submit(&t, d, 1);
    tm_desc(d[0], D_IOTLB_GLOBAL, 0);
    tm_submit(&t, d, 1);
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x1000, false, &pa), 0);
    /* Context-cache then IOTLB invalidation: the new (empty) domain applies. */
    tm_desc(d[0], d_cc_dev(SID_A, 1), 0);
    tm_desc(d[1], D_IOTLB_GLOBAL, 0);
    tm_submit(&t, d, 2);
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x1000, false, &pa),
             VTD_MODEL_FR_READ);
    tm_fini(&t);
}

static void test_noncoherent_walk_needs_cache_flush(void)
{
    struct tm t; /* default ECAP: C = 0 */
    CHECK(tm_init(&t, NULL));
    CHECK(tm_enable(&t, false));
    uint64_t pt = tm_legacy_ctx(&t, SID_A, 1, 0, 1);
    uint64_t pte = tm_pte_addr(&t, pt, 3, 0x3000, 12);
    uint64_t v = TM_BUF_BASE | 3;
    memcpy(vtd_model_phys(t.m, pte, 8), &v, 8); /* CPU store, no clflush */
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x3000, false, &pa),
             VTD_MODEL_FR_READ);
    t.hw->flush_cache(t.hw->ctx, vtd_model_phys(t.m, pte, 8), 8);
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x3000, false, &pa), 0);
    tm_fini(&t);

    /* With C = 1 the same store is visible at once. */
    struct vtd_model_config cfg = {.ecap = 0xf00f5full};
    CHECK(tm_init(&t, &cfg));
    CHECK(tm_enable(&t, false));
    pt = tm_legacy_ctx(&t, SID_A, 1, 0, 1);
    pte = tm_pte_addr(&t, pt, 3, 0x3000, 12);
    memcpy(vtd_model_phys(t.m, pte, 8), &v, 8);
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x3000, false, &pa), 0);
    tm_fini(&t);
}

static void test_freeing_a_cached_table_is_detected(void)
{
    struct tm t;
    CHECK(tm_init(&t, NULL));
    CHECK(tm_enable(&t, false));
    uint64_t pt = tm_legacy_ctx(&t, SID_A, 1, 0, 1);
    /* A leaf table from the unit's allocator. */
    uint64_t leaf_pa;
    void *leaf = t.hw->alloc_page(t.hw->ctx, &leaf_pa);
    CHECK(leaf != NULL);
    CHECK(leaf_pa >= vtd_model_alloc_base(t.m));
    CHECK_EQ(vtd_model_pages_in_use(t.m), 1);
    uint64_t pte = TM_BUF_BASE | 3;
    memcpy(leaf, &pte, 8);
    t.hw->flush_cache(t.hw->ctx, leaf, 8);
    tm_w64(&t, tm_pte_addr(&t, pt, 3, 0, 21), leaf_pa | 3);
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0, false, &pa), 0);
    tm_w64(&t, tm_pte_addr(&t, pt, 3, 0, 21), 0);
    t.hw->free_page(t.hw->ctx, leaf, leaf_pa); /* without invalidating the IOTLB */
    struct vtd_model_stats st;
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.freed_while_cached, 1);
    CHECK_EQ(vtd_model_pages_in_use(t.m), 0);
    tm_fini(&t);
}

static void test_recycled_table_page_must_be_flushed(void)
{
    struct tm t; /* C = 0 */
    CHECK(tm_init(&t, NULL));
    CHECK(tm_enable(&t, false));
    uint64_t pt = tm_legacy_ctx(&t, SID_A, 1, 0, 1);
    uint64_t pa1, pa2;
    void *p1 = t.hw->alloc_page(t.hw->ctx, &pa1);
    t.hw->free_page(t.hw->ctx, p1, pa1); /* poisoned */
    void *p2 = NULL;
    for (int i = 0; i < 100000 && (p2 = t.hw->alloc_page(t.hw->ctx, &pa2)) && pa2 != pa1; i++) {
    }
    CHECK(p2 != NULL && pa2 == pa1);
    /* Link the recycled (CPU-zeroed) page as a leaf table without flushing it. */
    tm_w64(&t, tm_pte_addr(&t, pt, 3, 0, 21), pa2 | 3);
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x1000, false, &pa),
             VTD_MODEL_FR_PTE_RSVD);
    t.hw->flush_cache(t.hw->ctx, p2, 4096);
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x1000, false, &pa),
             VTD_MODEL_FR_READ);
    tm_fini(&t);
}

static void test_register_invalidation_only_while_qi_off(void)
{
    struct tm t;
    CHECK(tm_init(&t, NULL));
    CHECK(tm_enable(&t, false));
    uint64_t pt = tm_legacy_ctx(&t, SID_A, 3, 0, 1);
    tm_map(&t, pt, 3, 0x1000, TM_BUF_BASE, 12, true, true);
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x1000, false, &pa), 0);
    tm_w64(&t, tm_pte_addr(&t, pt, 3, 0x1000, 12), 0);
    /* IOTLB register at IRO = 0xf0: domain-selective (IIRG = 2), DID 3. */
    t.hw->write64(t.hw->ctx, 0xf8, (1ull << 63) | (2ull << 60) | (3ull << 32));
    CHECK(t.hw->read64(t.hw->ctx, 0xf8) >> 63); /* IVT still set: must poll */
    t.hw->relax(t.hw->ctx);
    uint64_t v = t.hw->read64(t.hw->ctx, 0xf8);
    CHECK_EQ(v >> 63, 0);
    CHECK_EQ((v >> 57) & 3, 2); /* IAIG: domain */
    CHECK_EQ(vtd_model_translate(t.m, SID_A, VTD_MODEL_NO_PASID, 0x1000, false, &pa),
             VTD_MODEL_FR_READ);
    /* Context command, global. */
    t.hw->write64(t.hw->ctx, R_CCMD, (1ull << 63) | (1ull << 61));
    t.hw->relax(t.hw->ctx);
    CHECK_EQ(t.hw->read64(t.hw->ctx, R_CCMD) >> 63, 0);
    /* With QI on, register invalidation is ignored and ICC stays set. */
    CHECK(tm_qi_enable(&t, false));
    t.hw->write64(t.hw->ctx, R_CCMD, (1ull << 63) | (1ull << 61));
    for (int i = 0; i < 10; i++) {
        t.hw->relax(t.hw->ctx);
    }
    CHECK(t.hw->read64(t.hw->ctx, R_CCMD) >> 63);
    struct vtd_model_stats st;
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.reg_inv_while_qi, 1);
    tm_fini(&t);
}

static void test_bad_config_is_refused(void)
{
    struct vtd_model_config cfg = {.cap = 0x00d2008c22260006ull}; /* SAGAW = 0 */
    CHECK(vtd_model_create(&cfg) == NULL);
    struct vtd_model_config cfg2 = {.mem_bytes = 12345};
    CHECK(vtd_model_create(&cfg2) == NULL);
}

int main(void)
{
    RUN(test_cap_ecap_are_read_only_and_gcmd_reads_zero);
    RUN(test_gcmd_status_appears_only_after_polling);
    RUN(test_stuck_commands_never_complete);
    RUN(test_translation_off_passes_dma_through);
    RUN(test_walks_3_level_with_superpages);
    RUN(test_walks_4_level_with_superpages);
    RUN(test_walk_fault_reasons_are_named_as_in_the_spec);
    RUN(test_fault_record_layout_and_w1c);
    RUN(test_fault_overflow_sets_pfo_and_drops);
    RUN(test_single_record_unit_overflows_on_second_fault);
    RUN(test_fault_interrupt_held_pending_while_masked);
    RUN(test_fpd_suppresses_recording);
    RUN(test_iotlb_keeps_stale_translation_until_invalidated);
    RUN(test_iotlb_superpage_entry_covers_whole_page);
    RUN(test_iotlb_capacity_is_limited);
    RUN(test_context_cache_keeps_old_domain_until_invalidated);
    RUN(test_noncoherent_walk_needs_cache_flush);
    RUN(test_freeing_a_cached_table_is_detected);
    RUN(test_recycled_table_page_must_be_flushed);
    RUN(test_register_invalidation_only_while_qi_off);
    RUN(test_bad_config_is_refused);
    printf("%s: %d failure(s)\n", tm_failures ? "FAILED" : "PASSED", tm_failures);
    return tm_failures ? 1 : 0;
}
