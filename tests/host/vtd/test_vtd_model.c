/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvtd against the VT-d model, legacy mode: bring-up and its deadlines, map/unmap with real
 * (stale-able) IOTLB and device ATCs, fences, invalidation time-outs and queue errors,
 * asynchronous completion, fault recording and removal sequences.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

VT_GLOBALS;

#define SID_A 0x0100 /* 01:00.0 */
#define SID_B 0x0200 /* 02:00.0 */
#define IOVA 0x40000000ull

static void attach(struct rig *r, uint16_t sid, unsigned flags)
{
    CHECK_ERR(vtd_dev_attach(&r->u, sid, &r->d, flags, 8), VTD_OK);
}

static bool setup_domain(struct rig *r)
{
    enum vtd_err e = vtd_domain_init(&r->d, &r->u, 1, 0);
    CHECK_ERR(e, VTD_OK);
    return e == VTD_OK;
}

/* A unit with domain 1 and the ATS device SID_A attached to it; false (torn down) on failure. */
static bool rig_with_ats_device(struct rig *r)
{
    if (!rig_up(r, NULL, NULL) || !setup_domain(r)) {
        rig_down(r);
        return false;
    }
    vtd_model_add_device(r->m, SID_A, VTD_MODEL_DEV_ATS);
    vtd_model_set_ats_enabled(r->m, SID_A, true);
    attach(r, SID_A, VTD_DEV_ATS);
    return true;
}

static void unmap_and_flush(struct rig *r, uint64_t iova, uint64_t size, int ats_sid,
                            enum vtd_err want)
{
    struct vtd_unmap_result res;
    CHECK_ERR(vtd_domain_unmap(&r->d, iova, size, &res), VTD_OK);
    static struct vtd_batch b;
    vtd_batch_init(&b, &r->u);
    CHECK_ERR(vtd_batch_add_unmap(&b, &r->d, &res), VTD_OK);
    if (ats_sid >= 0) {
        CHECK_ERR(vtd_batch_add_devtlb(&b, (uint16_t)ats_sid, 8, iova, size), VTD_OK);
    }
    enum vtd_err e = vtd_batch_submit(&b, 0);
    CHECK_ERR(e, want);
    if (e == VTD_OK) {
        vtd_page_list_release(&r->u, &res.freed);
    }
}

static void test_bringup_enables_translation_fail_closed(void)
{
    struct rig r = {0};
    if (!rig_up(&r, NULL, NULL)) {
        rig_down(&r);
        return;
    }
    CHECK(r.hw->read32(r.hw->ctx, VTD_GSTS_REG) & VTD_GSTS_TES);
    CHECK(r.hw->read32(r.hw->ctx, VTD_GSTS_REG) & VTD_GSTS_QIES);
    CHECK(r.hw->read32(r.hw->ctx, VTD_GSTS_REG) & VTD_GSTS_RTPS);
    vtd_model_add_device(r.m, SID_A, 0);
    uint32_t v;
    int fr = dma_read(&r, SID_A, VTD_MODEL_NO_PASID, 0x1000, &v);
    CHECK_EQ(fr, 1); /* root entry not present */
    struct vtd_fault f[4];
    size_t n;
    bool ovf;
    CHECK_ERR(vtd_fault_read(&r.u, f, 4, &n, &ovf), VTD_OK);
    CHECK_EQ(n, 1);
    CHECK_EQ(f[0].sid, SID_A);
    CHECK_EQ(f[0].reason, 1);
    CHECK_EQ(f[0].addr, 0x1000);
    CHECK(!f[0].write);
    CHECK(!ovf);
    CHECK_ERR(vtd_fault_read(&r.u, f, 4, &n, &ovf), VTD_OK);
    CHECK_EQ(n, 0);
    rig_down(&r);
}

static void test_handshake_times_out_when_hardware_stuck(void)
{
    struct rig r = {0};
    r.m = vtd_model_create(NULL);
    r.hw = vtd_model_hw(r.m);
    struct vtd_unit_config c = {.timeout_ns = 5000000};
    CHECK_ERR(vtd_unit_probe(&r.u, r.hw, &c), VTD_OK);
    vtd_model_set_commands_stuck(r.m, true);
    uint64_t t0 = vtd_model_now(r.m);
    CHECK_ERR(vtd_unit_set_root_table(&r.u), VTD_ERR_TIMEOUT);
    uint64_t dt = vtd_model_now(r.m) - t0;
    CHECK(dt >= 5000000 && dt < 10000000);
    CHECK_ERR(vtd_unit_reg_invalidate_global(&r.u), VTD_ERR_TIMEOUT);
    vtd_model_set_commands_stuck(r.m, false);
    CHECK_ERR(vtd_unit_set_root_table(&r.u), VTD_OK);
    rig_down(&r);
}

static void test_map_then_dma_ok_unmap_then_dma_faults(void)
{
    struct rig r = {0};
    if (!rig_up(&r, NULL, NULL) || !setup_domain(&r)) {
        rig_down(&r);
        return;
    }
    vtd_model_add_device(r.m, SID_A, 0);
    attach(&r, SID_A, 0);
    poke(&r, BUF_PA(3), 0xfeedf00d);
    CHECK_ERR(vtd_domain_map(&r.d, IOVA, BUF_PA(3), 0x1000, VTD_R | VTD_W), VTD_OK);
    uint32_t v = 0;
    CHECK_EQ(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA, &v), 0);
    CHECK_EQ(v, 0xfeedf00d);
    /* Without the invalidation the IOTLB still translates: the model really caches. */
    struct vtd_unmap_result res;
    CHECK_ERR(vtd_domain_unmap(&r.d, IOVA, 0x1000, &res), VTD_OK);
    CHECK_EQ(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA, &v), 0);
    static struct vtd_batch b;
    vtd_batch_init(&b, &r.u);
    CHECK_ERR(vtd_batch_add_unmap(&b, &r.d, &res), VTD_OK);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    vtd_page_list_release(&r.u, &res.freed);
    CHECK(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA, &v) > 0);
    /* Read-only mapping: writes fault with reason 5 */
    CHECK_ERR(vtd_domain_map(&r.d, IOVA, BUF_PA(3), 0x1000, VTD_R), VTD_OK);
    uint32_t w = 1;
    CHECK_EQ(vtd_model_dma(r.m, SID_A, VTD_MODEL_NO_PASID, IOVA, &w, 4, true), 5);
    struct vtd_model_stats st;
    vtd_model_get_stats(r.m, &st);
    CHECK_EQ(st.freed_while_cached, 0);
    rig_down(&r);
}

static void test_superpage_map_unmap_with_dma(void)
{
    struct rig r = {0};
    if (!rig_up(&r, NULL, NULL) || !setup_domain(&r)) {
        rig_down(&r);
        return;
    }
    vtd_model_add_device(r.m, SID_A, 0);
    attach(&r, SID_A, 0);
    poke(&r, 0x200000 + 0x1234 * 4, 0x12345678);
    CHECK_ERR(vtd_domain_map(&r.d, IOVA, 0x200000, 0x200000, VTD_R | VTD_W), VTD_OK);
    CHECK_EQ(r.d.table_pages, 2);
    uint32_t v = 0;
    CHECK_EQ(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA + 0x1234 * 4, &v), 0);
    CHECK_EQ(v, 0x12345678);
    unmap_and_flush(&r, IOVA, 0x200000, -1, VTD_OK);
    CHECK(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA + 0x1234 * 4, &v) > 0);
    rig_down(&r);
}

static void test_unmap_ats_device_flushes_its_atc(void)
{
    struct rig r = {0};
    if (!rig_with_ats_device(&r)) {
        return;
    }
    CHECK_ERR(vtd_domain_map(&r.d, IOVA, BUF_PA(1), 0x2000, VTD_R | VTD_W), VTD_OK);
    uint32_t v;
    CHECK_EQ(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA + 0x1000, &v), 0);
    /* IOTLB alone is not enough: the ATC keeps the translation */
    struct vtd_unmap_result res;
    CHECK_ERR(vtd_domain_unmap(&r.d, IOVA, 0x2000, &res), VTD_OK);
    static struct vtd_batch b;
    vtd_batch_init(&b, &r.u);
    CHECK_ERR(vtd_batch_add_unmap(&b, &r.d, &res), VTD_OK);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    CHECK_EQ(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA + 0x1000, &v), 0);
    vtd_batch_init(&b, &r.u);
    CHECK_ERR(vtd_batch_add_devtlb(&b, SID_A, 8, IOVA, 0x2000), VTD_OK);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    CHECK(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA + 0x1000, &v) > 0);
    CHECK_EQ(log_count(&r, VTD_DESC_DEVTLB, SID_A), 1);
    rig_down(&r);
}

static void test_fenced_device_never_gets_devtlb_descriptor(void)
{
    struct rig r = {0};
    if (!rig_with_ats_device(&r)) {
        return;
    }
    CHECK_ERR(vtd_domain_map(&r.d, IOVA, BUF_PA(1), 0x1000, VTD_R), VTD_OK);
    struct vtd_unmap_result res;
    CHECK_ERR(vtd_domain_unmap(&r.d, IOVA, 0x1000, &res), VTD_OK);
    static struct vtd_batch b;
    vtd_batch_init(&b, &r.u);
    CHECK_ERR(vtd_batch_add_unmap(&b, &r.d, &res), VTD_OK);
    CHECK_ERR(vtd_batch_add_devtlb(&b, SID_A, 8, IOVA, 0x1000), VTD_OK);
    /* The fence arrives after the batch was built and before it is submitted. */
    vtd_unit_fence(&r.u, SID_A);
    vtd_model_set_device_present(r.m, SID_A, false);
    vtd_model_clear_log(r.m);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    CHECK_EQ(b.n_skipped, 1);
    CHECK_EQ(log_count(&r, VTD_DESC_DEVTLB, SID_A), 0);
    CHECK_EQ(log_count(&r, VTD_DESC_IOTLB, -1), 1);
    /* Blocking the fenced device also sends it nothing, and cannot time out. */
    CHECK_ERR(vtd_dev_block(&r.u, SID_A), VTD_OK);
    CHECK_EQ(log_count(&r, VTD_DESC_DEVTLB, SID_A), 0);
    struct vtd_model_stats st;
    vtd_model_get_stats(r.m, &st);
    CHECK_EQ(st.ite, 0);
    rig_down(&r);
}

/* The caller-supplied predicate works like the unit's own set. */
static bool fence_b(void *ctx, uint16_t sid)
{
    (void)ctx;
    return sid == SID_B;
}

static void test_fence_predicate_from_caller_is_consulted(void)
{
    struct rig r = {0};
    struct vtd_unit_config c = {.fenced = fence_b};
    if (!rig_up(&r, NULL, &c)) {
        rig_down(&r);
        return;
    }
    vtd_model_add_device(r.m, SID_B, VTD_MODEL_DEV_ATS);
    static struct vtd_batch b;
    vtd_batch_init(&b, &r.u);
    CHECK_ERR(vtd_batch_add_devtlb(&b, SID_B, 8, 0, 0), VTD_OK);
    vtd_model_clear_log(r.m);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    CHECK_EQ(log_count(&r, VTD_DESC_DEVTLB, SID_B), 0);
    CHECK_EQ(b.n_skipped, 1);
    rig_down(&r);
}

static void test_ite_on_absent_device_quarantines_and_completes_batch(void)
{
    struct rig r = {0};
    struct vtd_model_config mc = {.ite_timeout_ns = 2000000};
    if (!rig_up(&r, &mc, NULL) || !setup_domain(&r)) {
        rig_down(&r);
        return;
    }
    vtd_model_add_device(r.m, SID_A, VTD_MODEL_DEV_ATS);
    vtd_model_add_device(r.m, SID_B, VTD_MODEL_DEV_ATS);
    vtd_model_set_ats_enabled(r.m, SID_A, true);
    vtd_model_set_ats_enabled(r.m, SID_B, true);
    attach(&r, SID_A, VTD_DEV_ATS);
    attach(&r, SID_B, VTD_DEV_ATS);
    CHECK_ERR(vtd_domain_map(&r.d, IOVA, BUF_PA(1), 0x1000, VTD_R), VTD_OK);
    uint32_t v;
    CHECK_EQ(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA, &v), 0);
    CHECK_EQ(dma_read(&r, SID_B, VTD_MODEL_NO_PASID, IOVA, &v), 0);
    /* B vanishes without a fence (the hotplug server was too late). */
    vtd_model_set_device_present(r.m, SID_B, false);
    struct vtd_unmap_result res;
    CHECK_ERR(vtd_domain_unmap(&r.d, IOVA, 0x1000, &res), VTD_OK);
    static struct vtd_batch b;
    vtd_batch_init(&b, &r.u);
    CHECK_ERR(vtd_batch_add_unmap(&b, &r.d, &res), VTD_OK);
    CHECK_ERR(vtd_batch_add_devtlb(&b, SID_B, 8, IOVA, 0x1000), VTD_OK);
    CHECK_ERR(vtd_batch_add_devtlb(&b, SID_A, 8, IOVA, 0x1000), VTD_OK);
    uint64_t t0 = vtd_model_now(r.m);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_ERR_ITE);
    uint64_t dt = vtd_model_now(r.m) - t0;
    CHECK(dt < r.u.cfg.timeout_ns);
    CHECK_EQ(b.n_failed, 1);
    CHECK_EQ(b.failed_sid[0], SID_B);
    CHECK(vtd_unit_is_fenced(&r.u, SID_B));
    CHECK(!vtd_unit_is_fenced(&r.u, SID_A));
    /* The IOTLB and the present device's ATC were invalidated. */
    CHECK(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA, &v) > 0);
    struct vtd_model_stats st;
    vtd_model_get_stats(r.m, &st);
    CHECK_EQ(st.ite, 1);
    CHECK_EQ(r.u.stats.ite, 1);
    /* The queue keeps working, and B gets nothing more. */
    unsigned devtlb_b = log_count(&r, VTD_DESC_DEVTLB, SID_B);
    CHECK_ERR(vtd_domain_map(&r.d, IOVA, BUF_PA(2), 0x1000, VTD_R), VTD_OK);
    unmap_and_flush(&r, IOVA, 0x1000, SID_B, VTD_OK);
    CHECK_EQ(log_count(&r, VTD_DESC_DEVTLB, SID_B), devtlb_b);
    vtd_model_get_stats(r.m, &st);
    CHECK_EQ(st.ite, 1);
    CHECK_EQ(st.wait_sw_and_if, 0);
    /* Quarantine over (device blocked, ATS off): the server may unfence. */
    CHECK_ERR(vtd_dev_block(&r.u, SID_B), VTD_OK);
    vtd_unit_unfence(&r.u, SID_B);
    CHECK(!vtd_unit_is_fenced(&r.u, SID_B));
    rig_down(&r);
}

static void test_ite_with_two_absent_devices_is_bounded(void)
{
    struct rig r = {0};
    struct vtd_model_config mc = {.ite_timeout_ns = 1000000};
    if (!rig_up(&r, &mc, NULL)) {
        rig_down(&r);
        return;
    }
    uint16_t sids[3] = {SID_A, SID_B, 0x0300};
    static struct vtd_batch b;
    vtd_batch_init(&b, &r.u);
    for (unsigned i = 0; i < 3; i++) {
        vtd_model_add_device(r.m, sids[i], VTD_MODEL_DEV_ATS);
        vtd_model_set_ats_enabled(r.m, sids[i], true);
        CHECK_ERR(vtd_batch_add_devtlb(&b, sids[i], 8, 0, 0), VTD_OK);
    }
    vtd_model_set_device_present(r.m, SID_A, false);
    vtd_model_set_device_present(r.m, 0x0300, false);
    CHECK_ERR(vtd_batch_add_iotlb_global(&b), VTD_OK);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_ERR_ITE);
    CHECK_EQ(b.n_failed, 2);
    CHECK(vtd_unit_is_fenced(&r.u, SID_A));
    CHECK(vtd_unit_is_fenced(&r.u, 0x0300));
    CHECK(!vtd_unit_is_fenced(&r.u, SID_B));
    CHECK(b.attempts <= 3);
    rig_down(&r);
}

static void test_late_completion_never_taken_for_a_newer_one(void)
{
    struct rig r = {0};
    struct vtd_model_config mc = {.ite_timeout_ns = 20000000};
    if (!rig_up(&r, &mc, NULL)) {
        rig_down(&r);
        return;
    }
    vtd_model_add_device(r.m, SID_B, VTD_MODEL_DEV_ATS);
    vtd_model_set_ats_enabled(r.m, SID_B, true);
    vtd_model_set_device_present(r.m, SID_B, false);
    static struct vtd_batch b1, b2;
    vtd_batch_init(&b1, &r.u);
    CHECK_ERR(vtd_batch_add_devtlb(&b1, SID_B, 8, 0, 0), VTD_OK);
    /* The caller's deadline is shorter than the device time-out: abandoned. */
    CHECK_ERR(vtd_batch_submit(&b1, 1000000), VTD_ERR_TIMEOUT);
    vtd_batch_init(&b2, &r.u);
    CHECK_ERR(vtd_batch_add_iotlb_global(&b2), VTD_OK);
    CHECK_ERR(vtd_batch_submit(&b2, 0), VTD_OK);
    CHECK(b2.seq != b1.seq);
    CHECK(vtd_unit_is_fenced(&r.u, SID_B)); /* the late ITE was attributed */
    /* Every status-writing wait carried its own number. */
    static struct vtd_model_desc_log log[256];
    size_t n = vtd_model_desc_log(r.m, log, 256);
    uint32_t seen[256];
    unsigned ns = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t q0 = log[i].qw[0];
        if (VTD_DESC_TYPE_GET(q0) == VTD_DESC_WAIT && (q0 & VTD_DESC_WAIT_SW) && (q0 >> 32)) {
            for (unsigned k = 0; k < ns; k++) {
                CHECK(seen[k] != (uint32_t)(q0 >> 32));
            }
            seen[ns++] = (uint32_t)(q0 >> 32);
        }
    }
    CHECK(ns >= 2);
    rig_down(&r);
}

static void test_ice_reports_device_and_queue_recovers(void)
{
    struct rig r = {0};
    struct vtd_model_config mc = {.ite_timeout_ns = 1000000};
    if (!rig_up(&r, &mc, NULL)) {
        rig_down(&r);
        return;
    }
    vtd_model_add_device(r.m, SID_A, VTD_MODEL_DEV_ATS);
    vtd_model_set_ats_enabled(r.m, SID_A, true);
    vtd_model_inject_ice(r.m, SID_A);
    static struct vtd_batch b;
    vtd_batch_init(&b, &r.u);
    CHECK_ERR(vtd_batch_add_devtlb(&b, SID_A, 8, 0, 0), VTD_OK);
    CHECK_ERR(vtd_batch_add_iotlb_global(&b), VTD_OK);
    enum vtd_err e = vtd_batch_submit(&b, 0);
    CHECK(e == VTD_ERR_ICE || e == VTD_ERR_ITE);
    CHECK_EQ(b.n_failed, 1);
    CHECK_EQ(b.failed_sid[0], SID_A);
    CHECK(vtd_unit_is_fenced(&r.u, SID_A));
    CHECK_EQ(r.u.stats.ice, 1);
    vtd_batch_init(&b, &r.u);
    CHECK_ERR(vtd_batch_add_iotlb_global(&b), VTD_OK);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    rig_down(&r);
}

static void test_iqe_bad_descriptor_is_reported_and_skipped(void)
{
    struct rig r = {0};
    if (!rig_up(&r, NULL, NULL)) {
        rig_down(&r);
        return;
    }
    static struct vtd_batch b;
    vtd_batch_init(&b, &r.u);
    CHECK_ERR(vtd_batch_add_iotlb_domain(&b, 1), VTD_OK);
    /* A PASID descriptor on a legacy 128-bit queue: the unit rejects it. */
    b.ops[b.n++] = (struct vtd_op){.kind = VTD_OP_PC_GLOBAL};
    CHECK_ERR(vtd_batch_add_cc_global(&b), VTD_OK);
    vtd_model_clear_log(r.m);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_ERR_IQE);
    CHECK_EQ(VTD_DESC_TYPE_GET(r.u.last_iqe.desc.qw[0]), VTD_DESC_PC);
    CHECK(r.u.last_iqe.iqei != 0);
    CHECK_EQ(log_count(&r, VTD_DESC_IOTLB, -1), 1);
    CHECK_EQ(log_count(&r, VTD_DESC_CC, -1), 1); /* the rest of the batch still ran */
    vtd_batch_init(&b, &r.u);
    CHECK_ERR(vtd_batch_add_iotlb_global(&b), VTD_OK);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    rig_down(&r);
}

static void test_async_batch_completes_through_the_interrupt(void)
{
    struct rig r = {0};
    if (!rig_up(&r, NULL, NULL)) {
        rig_down(&r);
        return;
    }
    vtd_model_add_device(r.m, SID_A, VTD_MODEL_DEV_ATS);
    vtd_model_set_ats_enabled(r.m, SID_A, true);
    static struct vtd_batch b;
    vtd_batch_init(&b, &r.u);
    CHECK_ERR(vtd_batch_add_iotlb_global(&b), VTD_OK);
    CHECK_ERR(vtd_batch_add_devtlb(&b, SID_A, 8, 0, 0), VTD_OK);
    struct vtd_model_stats st0, st;
    vtd_model_get_stats(r.m, &st0);
    CHECK_ERR(vtd_batch_submit_async(&b, 0), VTD_OK);
    CHECK_ERR(vtd_batch_poll(&b), VTD_ERR_PENDING); /* device answers after 2 us */
    vtd_model_advance(r.m, 100000);
    vtd_model_get_stats(r.m, &st);
    CHECK_EQ(st.completion_interrupts, st0.completion_interrupts + 1);
    CHECK_EQ(vtd_unit_qi_event(&r.u), 1);
    CHECK_ERR(vtd_batch_poll(&b), VTD_OK);
    CHECK_EQ(st.wait_sw_and_if, 0);
    /* an in-flight batch cannot be reused or extended */
    static struct vtd_batch b2;
    vtd_batch_init(&b2, &r.u);
    CHECK_ERR(vtd_batch_submit_async(&b2, 1000), VTD_OK);
    CHECK_ERR(vtd_batch_add_iotlb_global(&b2), VTD_ERR_STATE);
    vtd_model_advance(r.m, 10000);
    CHECK_ERR(vtd_batch_poll(&b2), VTD_OK);
    rig_down(&r);
}

static void test_async_batch_with_absent_device_reports_ite_without_blocking(void)
{
    struct rig r = {0};
    struct vtd_model_config mc = {.ite_timeout_ns = 3000000};
    if (!rig_up(&r, &mc, NULL)) {
        rig_down(&r);
        return;
    }
    vtd_model_add_device(r.m, SID_B, VTD_MODEL_DEV_ATS);
    vtd_model_set_ats_enabled(r.m, SID_B, true);
    vtd_model_set_device_present(r.m, SID_B, false);
    static struct vtd_batch slow, other;
    vtd_batch_init(&slow, &r.u);
    CHECK_ERR(vtd_batch_add_iotlb_domain(&slow, 1), VTD_OK);
    CHECK_ERR(vtd_batch_add_devtlb(&slow, SID_B, 8, 0, 0), VTD_OK);
    CHECK_ERR(vtd_batch_submit_async(&slow, 0), VTD_OK);
    /* Another client's work queued behind it is not lost either. */
    vtd_batch_init(&other, &r.u);
    CHECK_ERR(vtd_batch_add_iotlb_domain(&other, 2), VTD_OK);
    CHECK_ERR(vtd_batch_submit_async(&other, 0), VTD_OK);
    CHECK_ERR(vtd_batch_poll(&slow), VTD_ERR_PENDING);
    unsigned done = 0;
    for (unsigned i = 0; i < 100 && (slow.state != VTD_BATCH_DONE || other.state != VTD_BATCH_DONE);
         i++) {
        vtd_model_advance(r.m, 100000);
        done += vtd_unit_qi_event(&r.u);
    }
    CHECK_EQ(done, 2);
    CHECK_ERR(vtd_batch_poll(&slow), VTD_ERR_ITE);
    CHECK_EQ(slow.n_failed, 1);
    CHECK_EQ(slow.failed_sid[0], SID_B);
    CHECK_ERR(vtd_batch_poll(&other), VTD_OK);
    CHECK(vtd_unit_is_fenced(&r.u, SID_B));
    struct vtd_model_stats st;
    vtd_model_get_stats(r.m, &st);
    CHECK_EQ(st.wait_sw_and_if, 0);
    CHECK_EQ(st.ite, 1);
    rig_down(&r);
}

static void test_batch_of_many_unmaps_costs_one_tail_write_and_one_wait(void)
{
    struct rig r = {0};
    if (!rig_up(&r, NULL, NULL) || !setup_domain(&r)) {
        rig_down(&r);
        return;
    }
    vtd_model_add_device(r.m, SID_A, 0);
    attach(&r, SID_A, 0);
    CHECK_ERR(vtd_domain_map(&r.d, IOVA, BUF_PA(0), 256 * 0x1000, VTD_R), VTD_OK);
    uint32_t v;
    for (unsigned i = 0; i < 256; i++) {
        CHECK_EQ(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA + i * 0x1000ull, &v), 0);
    }
    static struct vtd_batch b;
    vtd_batch_init(&b, &r.u);
    struct vtd_unmap_result res;
    struct vtd_page_list freed = {0};
    for (unsigned i = 0; i < 256; i++) {
        CHECK_ERR(vtd_domain_unmap(&r.d, IOVA + i * 0x1000ull, 0x1000, &res), VTD_OK);
        CHECK_ERR(vtd_batch_add_unmap(&b, &r.d, &res), VTD_OK);
        if (res.freed.count) {
            freed = res.freed;
        }
    }
    struct vtd_model_stats s0, s1;
    vtd_model_get_stats(r.m, &s0);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    vtd_model_get_stats(r.m, &s1);
    CHECK_EQ(s1.tail_writes - s0.tail_writes, 1);
    CHECK_EQ(s1.waits - s0.waits, 1);
    CHECK_EQ(s1.descriptors - s0.descriptors, 2);
    vtd_page_list_release(&r.u, &freed);
    for (unsigned i = 0; i < 256; i += 17) {
        CHECK(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA + i * 0x1000ull, &v) > 0);
    }
    vtd_model_get_stats(r.m, &s1);
    CHECK_EQ(s1.freed_while_cached, 0);
    rig_down(&r);
}

/* ---- Batches of scattered ranges: what was asked for is what the unit invalidated -------- */

struct page_range {
    uint64_t start, end; /* [start, end) */
    bool leaf_only;
};

/* The pages an executed IOTLB or device-TLB descriptor invalidates, for (did, sid): [*lo, *hi]
   inclusive, or false if it does not apply. *ih: leaf only (IOTLB page-selective with IH). */
static bool desc_span(const uint64_t *qw, uint16_t did, uint16_t sid, uint64_t *lo, uint64_t *hi,
                      bool *ih)
{
    unsigned type = VTD_DESC_TYPE_GET(qw[0]);
    *ih = false;
    *lo = 0;
    *hi = UINT64_MAX;
    if (type == VTD_DESC_IOTLB) {
        unsigned g = VTD_DESC_G_GET(qw[0]);
        if (g == VTD_G_GLOBAL) {
            return true;
        }
        if (VTD_DESC_DID_GET(qw[0]) != did) {
            return false;
        }
        if (g == VTD_G_PAGE) {
            unsigned am = (unsigned)(qw[1] & 0x3f);
            *lo = qw[1] & ~0xfffull;
            *hi = *lo + (0x1000ull << am) - 1;
            *ih = (qw[1] & VTD_DESC_ADDR_IH) != 0;
        }
        return true;
    }
    if (type == VTD_DESC_DEVTLB && VTD_DESC_DEVTLB_SID_GET(qw[0]) == sid) {
        uint64_t a = qw[1] & ~0xfffull;
        if (!(qw[1] & VTD_DESC_DEVTLB_S)) {
            *lo = a;
            *hi = a + 0xfff;
            return true;
        }
        /* VT-d 6.5.2.5: the lowest clear bit of ADDR[63:12] at position k: 2^(k+1) pages */
        unsigned k = (unsigned)__builtin_ctzll(~(a >> 12));
        if (k + 1 + 12 >= 64) {
            return true;
        }
        uint64_t size = 1ull << (k + 1 + 12);
        *lo = a & ~(size - 1);
        *hi = *lo + size - 1;
        return true;
    }
    return false;
}

/* Every range lies inside one executed descriptor for it, and one without IH unless the range
   was leaf-only. Returns the number of page-selective descriptors that applied. */
static unsigned check_ranges_covered(struct rig *r, const struct page_range *rg, unsigned n,
                                     uint16_t did, uint16_t sid)
{
    static struct vtd_model_desc_log log[4096];
    size_t nl = vtd_model_desc_log(r->m, log, 4096);
    unsigned selective = 0;
    for (size_t j = 0; j < nl; j++) {
        uint64_t lo, hi;
        bool ih;
        if (desc_span(log[j].qw, did, sid, &lo, &hi, &ih) && (lo != 0 || hi != UINT64_MAX)) {
            selective++;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        bool covered = false;
        for (size_t j = 0; j < nl && !covered; j++) {
            uint64_t lo, hi;
            bool ih;
            covered = desc_span(log[j].qw, did, sid, &lo, &hi, &ih) && lo <= rg[i].start &&
                      rg[i].end - 1 <= hi && (rg[i].leaf_only || !ih);
        }
        if (!covered) {
            fprintf(stderr, "range [0x%llx, 0x%llx) leaf_only=%d not covered\n",
                    (unsigned long long)rg[i].start, (unsigned long long)rg[i].end,
                    rg[i].leaf_only);
        }
        CHECK(covered);
    }
    return selective;
}

/* A fresh batch holding rg[0 .. n) as IOTLB ranges of the rig's domain, or as device-TLB
   ranges of SID_A. */
static void add_ranges(struct vtd_batch *b, struct rig *r, const struct page_range *rg, unsigned n,
                       bool devtlb)
{
    vtd_batch_init(b, &r->u);
    for (unsigned i = 0; i < n; i++) {
        uint64_t size = rg[i].end - rg[i].start;
        if (devtlb) {
            CHECK_ERR(vtd_batch_add_devtlb(b, SID_A, 8, rg[i].start, size), VTD_OK);
        } else {
            CHECK_ERR(vtd_batch_add_iotlb_range(b, r->d.did, rg[i].start, size, rg[i].leaf_only),
                      VTD_OK);
        }
    }
}

static uint32_t lcg(uint32_t *x)
{
    *x = *x * 1664525u + 1013904223u;
    return *x >> 8;
}

/*
 * 64 disjoint ranges of 1..4 pages, 48 pages apart, added in shuffled order, then 16 more that
 * overlap or touch one of them: the batch holds 64 operations, every descriptor stays
 * page-selective, and each of the 80 ranges is inside a descriptor (without IH where the range
 * freed tables). Then 200 random ranges, which overflow the batch: the broader invalidation it
 * collapses to still covers every one. Both for the IOTLB and for a device-TLB.
 */
static void test_scattered_ranges_are_each_covered_by_an_emitted_descriptor(void)
{
    struct rig r = {0};
    if (!rig_with_ats_device(&r)) {
        return;
    }
    static struct page_range rg[200];
    static struct vtd_batch b;
    for (unsigned devtlb = 0; devtlb < 2; devtlb++) {
        uint32_t x = 12345 + devtlb;
        unsigned n = 0;
        for (unsigned i = 0; i < 64; i++) {
            unsigned slot = (i * 37u) % 64u;
            uint64_t start = IOVA + (slot * 48ull + lcg(&x) % 8) * 0x1000;
            rg[n++] =
                (struct page_range){start, start + (1 + lcg(&x) % 4) * 0x1000ull, lcg(&x) % 3 != 0};
        }
        for (unsigned i = 0; i < 16; i++) {
            const struct page_range *o = &rg[lcg(&x) % 64];
            uint64_t start = lcg(&x) % 2 ? o->end : o->start; /* touching or overlapping */
            rg[n++] = (struct page_range){start, start + 0x1000, lcg(&x) % 2 != 0};
        }
        add_ranges(&b, &r, rg, n, devtlb);
        CHECK_EQ(b.n, 64);
        vtd_model_clear_log(r.m);
        CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
        CHECK_EQ(check_ranges_covered(&r, rg, n, r.d.did, SID_A), 64);

        n = 0;
        for (unsigned i = 0; i < 200; i++) {
            uint64_t start = IOVA + (lcg(&x) % 4096) * 0x1000ull;
            rg[n++] = (struct page_range){start, start + (1 + lcg(&x) % 16) * 0x1000ull,
                                          lcg(&x) % 2 != 0};
        }
        add_ranges(&b, &r, rg, n, devtlb);
        vtd_model_clear_log(r.m);
        CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
        check_ranges_covered(&r, rg, n, r.d.did, SID_A);
    }
    rig_down(&r);
}

static void test_fault_overflow_is_reported_and_cleared(void)
{
    struct rig r = {0};
    if (!rig_up(&r, NULL, NULL)) { /* QEMU default: one fault recording register */
        rig_down(&r);
        return;
    }
    vtd_model_add_device(r.m, SID_A, 0);
    vtd_model_add_device(r.m, SID_B, 0);
    uint32_t v;
    CHECK(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, 0x1000, &v) > 0);
    CHECK(dma_read(&r, SID_B, VTD_MODEL_NO_PASID, 0x2000, &v) > 0);
    struct vtd_fault f[8];
    size_t n;
    bool ovf;
    CHECK_ERR(vtd_fault_read(&r.u, f, 8, &n, &ovf), VTD_OK);
    CHECK_EQ(n, 1);
    CHECK(ovf);
    CHECK_EQ(f[0].sid, SID_A);
    CHECK(!(r.hw->read32(r.hw->ctx, VTD_FSTS_REG) & (VTD_FSTS_PFO | VTD_FSTS_PPF)));
    CHECK(dma_read(&r, SID_B, VTD_MODEL_NO_PASID, 0x3000, &v) > 0);
    CHECK_ERR(vtd_fault_read(&r.u, f, 8, &n, &ovf), VTD_OK);
    CHECK_EQ(n, 1);
    CHECK(!ovf);
    CHECK_EQ(f[0].sid, SID_B);
    CHECK_EQ(f[0].addr, 0x3000);
    rig_down(&r);

    /* Four recording registers: all read in order, circularly from FRI. */
    struct vtd_model_config mc = {.cap = 0x00d2008c22260206ull | (3ull << 40)};
    if (!rig_up(&r, &mc, NULL)) {
        rig_down(&r);
        return;
    }
    for (unsigned i = 0; i < 6; i++) {
        vtd_model_add_device(r.m, (uint16_t)(0x100 * (i + 1)), 0);
    }
    for (unsigned i = 0; i < 3; i++) {
        CHECK(dma_read(&r, (uint16_t)(0x100 * (i + 1)), VTD_MODEL_NO_PASID, 0x1000, &v) > 0);
    }
    CHECK_ERR(vtd_fault_read(&r.u, f, 8, &n, &ovf), VTD_OK);
    CHECK_EQ(n, 3);
    for (unsigned i = 0; i < 3 && i < n; i++) {
        CHECK_EQ(f[i].sid, 0x100 * (i + 1));
    }
    for (unsigned i = 0; i < 6; i++) {
        CHECK(dma_read(&r, (uint16_t)(0x100 * (i + 1)), VTD_MODEL_NO_PASID, 0x1000, &v) > 0);
    }
    CHECK_ERR(vtd_fault_read(&r.u, f, 8, &n, &ovf), VTD_OK);
    CHECK_EQ(n, 4);
    CHECK(ovf);
    CHECK_EQ(f[0].sid, 0x100);
    rig_down(&r);
}

static void test_reattach_moves_device_to_new_domain(void)
{
    struct rig r = {0};
    if (!rig_up(&r, NULL, NULL) || !setup_domain(&r)) {
        rig_down(&r);
        return;
    }
    vtd_model_add_device(r.m, SID_A, 0);
    attach(&r, SID_A, 0);
    poke(&r, BUF_PA(1), 111);
    poke(&r, BUF_PA(2), 222);
    CHECK_ERR(vtd_domain_map(&r.d, IOVA, BUF_PA(1), 0x1000, VTD_R), VTD_OK);
    uint32_t v;
    CHECK_EQ(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA, &v), 0);
    CHECK_EQ(v, 111);
    struct vtd_domain d2;
    CHECK_ERR(vtd_domain_init(&d2, &r.u, 2, 0), VTD_OK);
    CHECK_ERR(vtd_domain_map(&d2, IOVA, BUF_PA(2), 0x1000, VTD_R), VTD_OK);
    CHECK_ERR(vtd_dev_attach(&r.u, SID_A, &d2, 0, 0), VTD_OK);
    CHECK_EQ(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA, &v), 0);
    CHECK_EQ(v, 222); /* no stale context cache or IOTLB entry from domain 1 */
    enum vtd_dev_state st;
    uint16_t did;
    CHECK_ERR(vtd_dev_query(&r.u, SID_A, &st, &did), VTD_OK);
    CHECK_EQ(st, VTD_DEV_TRANSLATED);
    CHECK_EQ(did, 2);
    /* Re-plug at the same BDF: blocked, then fresh state */
    CHECK_ERR(vtd_dev_block(&r.u, SID_A), VTD_OK);
    CHECK(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA, &v) > 0);
    CHECK_ERR(vtd_dev_query(&r.u, SID_A, &st, &did), VTD_OK);
    CHECK_EQ(st, VTD_DEV_BLOCKED);
    CHECK_ERR(vtd_dev_attach(&r.u, SID_A, &r.d, 0, 0), VTD_OK);
    CHECK_EQ(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA, &v), 0);
    CHECK_EQ(v, 111);
    rig_down(&r);
}

static void test_passthrough_translates_identity(void)
{
    struct rig r = {0};
    if (!rig_up(&r, NULL, NULL)) {
        rig_down(&r);
        return;
    }
    vtd_model_add_device(r.m, SID_A, 0);
    CHECK_ERR(vtd_dev_passthrough(&r.u, SID_A, 5, 0, 0), VTD_OK);
    poke(&r, BUF_PA(4), 0xabcd);
    uint32_t v = 0;
    CHECK_EQ(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, BUF_PA(4), &v), 0);
    CHECK_EQ(v, 0xabcd);
    CHECK_ERR(vtd_dev_block(&r.u, SID_A), VTD_OK);
    CHECK(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, BUF_PA(4), &v) > 0);
    rig_down(&r);
}

static void test_orderly_removal_flushes_atc_then_blocks(void)
{
    struct rig r = {0};
    if (!rig_with_ats_device(&r)) {
        return;
    }
    CHECK_ERR(vtd_domain_map(&r.d, IOVA, BUF_PA(1), 0x1000, VTD_R), VTD_OK);
    uint32_t v;
    CHECK_EQ(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA, &v), 0);
    /* 1. ATS off in config space, 2.-4. block, flush the ATC, wait */
    vtd_model_set_ats_enabled(r.m, SID_A, false);
    vtd_model_clear_log(r.m);
    CHECK_ERR(vtd_dev_block(&r.u, SID_A), VTD_OK);
    CHECK_EQ(log_count(&r, VTD_DESC_DEVTLB, SID_A), 1);
    CHECK_EQ(log_count(&r, VTD_DESC_CC, -1), 1);
    vtd_model_set_ats_enabled(r.m, SID_A, true); /* even if it came back, nothing is cached */
    CHECK(dma_read(&r, SID_A, VTD_MODEL_NO_PASID, IOVA, &v) > 0);
    rig_down(&r);
}

static void test_unit_teardown_returns_every_page(void)
{
    struct rig r = {0};
    if (!rig_up(&r, NULL, NULL) || !setup_domain(&r)) {
        rig_down(&r);
        return;
    }
    vtd_model_add_device(r.m, SID_A, 0);
    attach(&r, SID_A, 0);
    CHECK_ERR(vtd_domain_map(&r.d, IOVA, BUF_PA(1), 0x3000, VTD_R), VTD_OK);
    CHECK_ERR(vtd_unit_destroy(&r.u), VTD_ERR_STATE); /* translation still on */
    CHECK_ERR(vtd_dev_block(&r.u, SID_A), VTD_OK);
    static struct vtd_batch b;
    vtd_batch_init(&b, &r.u);
    CHECK_ERR(vtd_batch_add_iotlb_domain(&b, 1), VTD_OK);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    vtd_domain_destroy(&r.d);
    CHECK_ERR(vtd_unit_disable_translation(&r.u), VTD_OK);
    CHECK_ERR(vtd_unit_disable_qi(&r.u), VTD_OK);
    CHECK_ERR(vtd_unit_destroy(&r.u), VTD_OK);
    CHECK_EQ(vtd_model_pages_in_use(r.m), 0);
    rig_down(&r);
}

int main(void)
{
    RUN(test_bringup_enables_translation_fail_closed);
    RUN(test_handshake_times_out_when_hardware_stuck);
    RUN(test_map_then_dma_ok_unmap_then_dma_faults);
    RUN(test_superpage_map_unmap_with_dma);
    RUN(test_unmap_ats_device_flushes_its_atc);
    RUN(test_fenced_device_never_gets_devtlb_descriptor);
    RUN(test_fence_predicate_from_caller_is_consulted);
    RUN(test_ite_on_absent_device_quarantines_and_completes_batch);
    RUN(test_ite_with_two_absent_devices_is_bounded);
    RUN(test_late_completion_never_taken_for_a_newer_one);
    RUN(test_ice_reports_device_and_queue_recovers);
    RUN(test_iqe_bad_descriptor_is_reported_and_skipped);
    RUN(test_async_batch_completes_through_the_interrupt);
    RUN(test_async_batch_with_absent_device_reports_ite_without_blocking);
    RUN(test_batch_of_many_unmaps_costs_one_tail_write_and_one_wait);
    RUN(test_scattered_ranges_are_each_covered_by_an_emitted_descriptor);
    RUN(test_fault_overflow_is_reported_and_cleared);
    RUN(test_reattach_moves_device_to_new_domain);
    RUN(test_passthrough_translates_identity);
    RUN(test_orderly_removal_flushes_atc_then_blocks);
    RUN(test_unit_teardown_returns_every_page);
    VT_MAIN_END();
}
