/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvtd's interrupt remapping against the VT-d model, whose interrupt entry cache really
 * caches: remapped delivery, compatibility format blocked, source-id validation, the stale
 * entries a missing IEC invalidation leaves behind, IEC batching, the enable handshakes with
 * stuck hardware, and two units with their own tables. Each request is a DWORD write by a
 * requester id, as a device's MSI would be.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

VT_GLOBALS;

#define SID_A 0x0310 /* 03:02.0 */
#define SID_B 0x0418 /* 04:03.0 */

static bool ir_up(struct rig *r, unsigned order)
{
    if (!rig_up(r, NULL, NULL)) {
        return false;
    }
    enum vtd_err e = vtd_ir_enable(&r->u, order);
    CHECK_ERR(e, VTD_OK);
    return e == VTD_OK;
}

/* Encode, write and invalidate entry idx; returns false on any failure. */
static bool program(struct rig *r, uint32_t idx, const struct vtd_irte_spec *s)
{
    struct vtd_irte e;
    enum vtd_err err = vtd_irte_encode(s, false, &e);
    CHECK_ERR(err, VTD_OK);
    if (err == VTD_OK) {
        CHECK_ERR(err = vtd_ir_set(&r->u, idx, &e), VTD_OK);
    }
    if (err == VTD_OK) {
        static struct vtd_batch b;
        vtd_batch_init(&b, &r->u);
        CHECK_ERR(err = vtd_batch_add_iec_index(&b, idx, 0), VTD_OK);
        CHECK_ERR(err = vtd_batch_submit(&b, 0), VTD_OK);
    }
    return err == VTD_OK;
}

static enum vtd_err iec_one(struct rig *r, uint32_t idx)
{
    static struct vtd_batch b;
    vtd_batch_init(&b, &r->u);
    enum vtd_err e = vtd_batch_add_iec_index(&b, idx, 0);
    return e == VTD_OK ? vtd_batch_submit(&b, 0) : e;
}

static int irq(struct rig *r, uint16_t sid, uint32_t idx, uint32_t sub, struct vtd_model_irq *out)
{
    return vtd_model_interrupt(r->m, sid, vtd_ir_msi_addr(idx), vtd_ir_msi_data() + sub, out);
}

/* The single fault record the unit holds now. */
static bool one_fault(struct rig *r, struct vtd_fault *f)
{
    size_t n = 0;
    bool ovf = true;
    CHECK_ERR(vtd_fault_read(&r->u, f, 1, &n, &ovf), VTD_OK);
    CHECK_EQ(n, 1);
    CHECK(!ovf);
    return n == 1;
}

static void check_clean(struct rig *r)
{
    struct vtd_model_stats st;
    vtd_model_get_stats(r->m, &st);
    CHECK_EQ(st.gcmd_multi_change, 0);
    CHECK_EQ(st.freed_while_cached, 0);
    CHECK_EQ(st.iqe, 0);
    CHECK_EQ(st.bad_reg_access, 0);
}

static void test_remapped_delivery_of_programmed_entry(void)
{
    struct rig r = {0};
    if (!ir_up(&r, 0)) {
        rig_down(&r);
        return;
    }
    CHECK(vtd_model_ir_enabled(r.m));
    uint32_t gsts = r.hw->read32(r.hw->ctx, VTD_GSTS_REG);
    CHECK(gsts & VTD_GSTS_IRES);
    CHECK(gsts & VTD_GSTS_IRTPS);
    CHECK(!(gsts & VTD_GSTS_CFIS));
    CHECK(gsts & VTD_GSTS_TES); /* translation kept on by the IR commands */
    CHECK(gsts & VTD_GSTS_QIES);
    uint32_t idx;
    CHECK_ERR(vtd_ir_alloc(&r.u, 1, &idx), VTD_OK);
    struct vtd_irte_spec s = {.vector = 0x45,
                              .dest = 3,
                              .level = true,
                              .logical = true,
                              .delivery = 1,
                              .svt = VTD_IRTE_SVT_SID,
                              .sid = SID_A};
    if (program(&r, idx, &s)) {
        struct vtd_model_irq out = {0};
        CHECK_EQ(irq(&r, SID_A, idx, 0, &out), 0);
        CHECK_EQ(out.vector, 0x45);
        CHECK_EQ(out.dest, 3);
        CHECK(out.level);
        CHECK(out.logical);
        CHECK_EQ(out.delivery, 1);
        CHECK(out.remapped);
        CHECK_EQ(out.index, idx);
    }
    /* a multi-message block: message n reaches entry base + n through the subhandle */
    uint32_t base;
    CHECK_ERR(vtd_ir_alloc(&r.u, 4, &base), VTD_OK);
    CHECK_EQ(base % 4, 0);
    for (uint32_t n = 0; n < 4; n++) {
        struct vtd_irte_spec m = {.vector = (uint8_t)(0x60 + n), .dest = n};
        program(&r, base + n, &m);
    }
    for (uint32_t n = 0; n < 4; n++) {
        struct vtd_model_irq out = {0};
        CHECK_EQ(irq(&r, SID_B, base, n, &out), 0);
        CHECK_EQ(out.vector, 0x60 + n);
        CHECK_EQ(out.dest, n);
        CHECK_EQ(out.index, base + n);
    }
    check_clean(&r);
    rig_down(&r);
}

static void test_compat_format_blocked_and_fault_decoded(void)
{
    struct rig r = {0};
    if (!ir_up(&r, 0)) {
        rig_down(&r);
        return;
    }
    /* compatibility format: no bit 4, vector in the data */
    int rc = vtd_model_interrupt(r.m, SID_B, 0xfee03000ull, 0x41, NULL);
    CHECK_EQ(rc, 0x25);
    struct vtd_fault f;
    if (one_fault(&r, &f)) {
        CHECK(f.ir);
        CHECK_EQ(f.reason, 0x25);
        CHECK_EQ(f.sid, SID_B);
        CHECK_EQ(f.addr, 0);
        CHECK(strcmp(vtd_fault_reason_name(f.reason), "unknown fault reason") != 0);
    }
    struct vtd_model_stats st;
    vtd_model_get_stats(r.m, &st);
    CHECK_EQ(st.irq_blocked, 1);
    CHECK_EQ(st.irq_delivered, 0);
    rig_down(&r);
}

static void test_source_id_validation(void)
{
    struct rig r = {0};
    if (!ir_up(&r, 0)) {
        rig_down(&r);
        return;
    }
    uint32_t idx, bus_idx;
    CHECK_ERR(vtd_ir_alloc(&r.u, 1, &idx), VTD_OK);
    CHECK_ERR(vtd_ir_alloc(&r.u, 1, &bus_idx), VTD_OK);
    struct vtd_irte_spec s = {.vector = 0x50, .dest = 1, .svt = VTD_IRTE_SVT_SID, .sid = SID_A};
    program(&r, idx, &s);
    CHECK_EQ(irq(&r, SID_A, idx, 0, NULL), 0);
    CHECK_EQ(irq(&r, SID_A + 1, idx, 0, NULL), 0x26); /* another function */
    struct vtd_fault f;
    if (one_fault(&r, &f)) {
        CHECK(f.ir);
        CHECK_EQ(f.reason, 0x26);
        CHECK_EQ(f.sid, SID_A + 1);
        CHECK_EQ(f.ir_index, idx);
    }
    /* SQ = 3: only bus and device compared, any function passes */
    s.sq = 3;
    program(&r, idx, &s);
    CHECK_EQ(irq(&r, SID_A + 1, idx, 0, NULL), 0);
    CHECK_EQ(irq(&r, SID_A + 8, idx, 0, NULL), 0x26); /* another device */
    one_fault(&r, &f);
    /* bus range 3..4 */
    struct vtd_irte_spec b = {
        .vector = 0x51, .dest = 1, .svt = VTD_IRTE_SVT_BUS, .sid = (0x03 << 8) | 0x04};
    program(&r, bus_idx, &b);
    CHECK_EQ(irq(&r, SID_A, bus_idx, 0, NULL), 0);
    CHECK_EQ(irq(&r, SID_B, bus_idx, 0, NULL), 0);
    CHECK_EQ(irq(&r, 0x0508, bus_idx, 0, NULL), 0x26);
    if (one_fault(&r, &f)) {
        CHECK_EQ(f.sid, 0x0508);
        CHECK_EQ(f.ir_index, bus_idx);
    }
    check_clean(&r);
    rig_down(&r);
}

static void test_clear_takes_effect_only_after_iec(void)
{
    struct rig r = {0};
    if (!ir_up(&r, 0)) {
        rig_down(&r);
        return;
    }
    uint32_t idx;
    CHECK_ERR(vtd_ir_alloc(&r.u, 1, &idx), VTD_OK);
    struct vtd_irte_spec s = {.vector = 0x70, .dest = 2};
    program(&r, idx, &s);
    struct vtd_model_irq out = {0};
    CHECK_EQ(irq(&r, SID_A, idx, 0, &out), 0); /* now cached */
    CHECK_ERR(vtd_ir_clear(&r.u, idx), VTD_OK);
    /* without the invalidation the unit still delivers the stale entry */
    out.vector = 0;
    CHECK_EQ(irq(&r, SID_A, idx, 0, &out), 0);
    CHECK_EQ(out.vector, 0x70);
    CHECK_ERR(iec_one(&r, idx), VTD_OK);
    CHECK_EQ(irq(&r, SID_A, idx, 0, NULL), 0x22);
    struct vtd_fault f;
    if (one_fault(&r, &f)) {
        CHECK(f.ir);
        CHECK_EQ(f.reason, 0x22);
        CHECK_EQ(f.ir_index, idx);
        CHECK_EQ(f.sid, SID_A);
    }
    CHECK_ERR(vtd_ir_free(&r.u, idx, 1), VTD_OK);
    CHECK_EQ(vtd_ir_in_use(&r.u), 0);
    /* an index beyond the table */
    CHECK_EQ(irq(&r, SID_A, 256, 0, NULL), 0x21);
    if (one_fault(&r, &f)) {
        CHECK_EQ(f.ir_index, 256);
    }
    check_clean(&r);
    rig_down(&r);
}

static void test_retarget_seen_only_after_iec(void)
{
    struct rig r = {0};
    if (!ir_up(&r, 0)) {
        rig_down(&r);
        return;
    }
    uint32_t idx;
    CHECK_ERR(vtd_ir_alloc(&r.u, 2, &idx), VTD_OK);
    struct vtd_irte_spec s = {.vector = 0x80, .dest = 1};
    program(&r, idx + 1, &s);
    struct vtd_model_irq out = {0};
    CHECK_EQ(irq(&r, SID_A, idx + 1, 0, &out), 0);
    CHECK_EQ(out.vector, 0x80);
    /* present -> present */
    s.vector = 0x81;
    s.dest = 5;
    struct vtd_irte e;
    CHECK_ERR(vtd_irte_encode(&s, false, &e), VTD_OK);
    CHECK_ERR(vtd_ir_set(&r.u, idx + 1, &e), VTD_OK);
    CHECK_EQ(irq(&r, SID_A, idx + 1, 0, &out), 0);
#ifndef VTD_NO_CMPXCHG16B
    CHECK_EQ(out.vector, 0x80); /* stale until invalidated */
    CHECK_EQ(out.dest, 1);
#endif
    CHECK_ERR(iec_one(&r, idx + 1), VTD_OK);
    CHECK_EQ(irq(&r, SID_A, idx + 1, 0, &out), 0);
    CHECK_EQ(out.vector, 0x81);
    CHECK_EQ(out.dest, 5);
    check_clean(&r);
    rig_down(&r);
}

static void test_iec_ops_share_one_submission(void)
{
    struct rig r = {0};
    if (!ir_up(&r, 0)) {
        rig_down(&r);
        return;
    }
    /* 64 entries two apart, so no two invalidations merge */
    uint32_t idx[128];
    for (unsigned i = 0; i < 128; i++) {
        CHECK_ERR(vtd_ir_alloc(&r.u, 1, &idx[i]), VTD_OK);
        CHECK_EQ(idx[i], i);
    }
    static struct vtd_batch b;
    vtd_batch_init(&b, &r.u);
    for (unsigned i = 0; i < 64; i++) {
        struct vtd_irte_spec s = {.vector = (uint8_t)(0x20 + i), .dest = 0};
        struct vtd_irte e;
        CHECK_ERR(vtd_irte_encode(&s, false, &e), VTD_OK);
        CHECK_ERR(vtd_ir_set(&r.u, 2 * i, &e), VTD_OK);
        CHECK_ERR(vtd_batch_add_iec_index(&b, 2 * i, 0), VTD_OK);
    }
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    for (unsigned i = 0; i < 64; i++) {
        struct vtd_model_irq out = {0};
        CHECK_EQ(irq(&r, SID_A, 2 * i, 0, &out), 0);
        CHECK_EQ(out.vector, 0x20 + i);
    }
    struct vtd_model_stats st0, st1;
    vtd_model_get_stats(r.m, &st0);
    vtd_batch_init(&b, &r.u);
    for (unsigned i = 0; i < 64; i++) {
        CHECK_ERR(vtd_ir_clear(&r.u, 2 * i), VTD_OK);
        CHECK_ERR(vtd_batch_add_iec_index(&b, 2 * i, 0), VTD_OK);
    }
    CHECK_EQ(b.n, 64);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    vtd_model_get_stats(r.m, &st1);
    CHECK_EQ(st1.tail_writes - st0.tail_writes, 1);
    CHECK_EQ(st1.waits - st0.waits, 1);
    CHECK_EQ(st1.iec_invalidations - st0.iec_invalidations, 64);
    CHECK_EQ(st1.descriptors - st0.descriptors, 65);
    unsigned blocked = 0;
    for (unsigned i = 0; i < 64; i++) {
        blocked += irq(&r, SID_A, 2 * i, 0, NULL) == 0x22;
    }
    CHECK_EQ(blocked, 64);
    /* IEC and IOTLB work together: still one tail write and one wait */
    vtd_model_get_stats(r.m, &st0);
    vtd_batch_init(&b, &r.u);
    CHECK_ERR(vtd_batch_add_iec_index(&b, 4, 2), VTD_OK);
    CHECK_ERR(vtd_batch_add_iotlb_global(&b), VTD_OK);
    CHECK_ERR(vtd_batch_add_iec_index(&b, 64, 6), VTD_OK);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    vtd_model_get_stats(r.m, &st1);
    CHECK_EQ(st1.tail_writes - st0.tail_writes, 1);
    CHECK_EQ(st1.waits - st0.waits, 1);
    CHECK_EQ(st1.iec_invalidations - st0.iec_invalidations, 2);
    for (unsigned i = 0; i < 128; i++) {
        CHECK_ERR(vtd_ir_free(&r.u, idx[i], 1), VTD_OK);
    }
    check_clean(&r);
    rig_down(&r);
}

static void test_enable_with_stuck_commands_times_out_and_rolls_back(void)
{
    struct rig r = {0};
    struct vtd_unit_config c = {.timeout_ns = 5000000};
    if (!rig_up(&r, NULL, &c)) {
        rig_down(&r);
        return;
    }
    size_t pages = vtd_model_pages_in_use(r.m);
    vtd_model_set_commands_stuck(r.m, true);
    uint64_t t0 = vtd_model_now(r.m);
    CHECK_ERR(vtd_ir_enable(&r.u, 0), VTD_ERR_TIMEOUT);
    uint64_t dt = vtd_model_now(r.m) - t0;
    CHECK(dt >= 5000000 && dt < 10000000);
    CHECK(!vtd_ir_enabled(&r.u));
    CHECK_EQ(vtd_ir_size(&r.u), 0);
    CHECK_EQ(vtd_model_pages_in_use(r.m), pages);
    CHECK(!vtd_model_ir_enabled(r.m));
    CHECK(!(r.u.gcmd & VTD_GCMD_IRE));
    uint32_t idx;
    CHECK_ERR(vtd_ir_alloc(&r.u, 1, &idx), VTD_ERR_STATE);
    vtd_model_set_commands_stuck(r.m, false);
    CHECK_ERR(vtd_ir_enable(&r.u, 0), VTD_OK);
    CHECK(vtd_model_ir_enabled(r.m));
    CHECK_EQ(vtd_model_pages_in_use(r.m), pages + 1);
    /* disable with stuck commands: times out, nothing freed, still usable */
    vtd_model_set_commands_stuck(r.m, true);
    CHECK_ERR(vtd_ir_disable(&r.u), VTD_ERR_TIMEOUT);
    CHECK(vtd_ir_enabled(&r.u));
    CHECK_EQ(vtd_model_pages_in_use(r.m), pages + 1);
    vtd_model_set_commands_stuck(r.m, false);
    CHECK_ERR(vtd_ir_disable(&r.u), VTD_OK);
    CHECK(!vtd_model_ir_enabled(r.m));
    CHECK_EQ(vtd_model_pages_in_use(r.m), pages);
    check_clean(&r);
    rig_down(&r);
}

static void test_enable_needs_qi_and_ir(void)
{
    struct rig r = {0};
    r.m = vtd_model_create(NULL);
    r.hw = vtd_model_hw(r.m);
    CHECK_ERR(vtd_unit_probe(&r.u, r.hw, NULL), VTD_OK);
    CHECK_ERR(vtd_unit_set_root_table(&r.u), VTD_OK);
    size_t pages = vtd_model_pages_in_use(r.m);
    CHECK_ERR(vtd_ir_enable(&r.u, 0), VTD_ERR_INVAL);
    CHECK_EQ(vtd_model_pages_in_use(r.m), pages);
    CHECK(!vtd_model_ir_enabled(r.m));
    CHECK_ERR(vtd_unit_enable_qi(&r.u), VTD_OK);
    CHECK_ERR(vtd_ir_enable(&r.u, 0), VTD_OK);
    /* QI cannot go while IR needs it; teardown order is IR, QI, destroy */
    CHECK_ERR(vtd_unit_disable_qi(&r.u), VTD_ERR_STATE);
    CHECK_ERR(vtd_ir_disable(&r.u), VTD_OK);
    CHECK_ERR(vtd_unit_disable_qi(&r.u), VTD_OK);
    CHECK_ERR(vtd_unit_destroy(&r.u), VTD_OK);
    CHECK_EQ(vtd_model_pages_in_use(r.m), 0);
    check_clean(&r);
    rig_down(&r);

    struct vtd_model_config mc = {.no_ir = true};
    if (rig_up(&r, &mc, NULL)) {
        CHECK_ERR(vtd_ir_enable(&r.u, 0), VTD_ERR_UNSUPPORTED);
    }
    rig_down(&r);
}

static void test_two_units_each_with_its_own_table(void)
{
    static struct rig r1, r2;
    memset(&r1, 0, sizeof(r1));
    memset(&r2, 0, sizeof(r2));
    if (!ir_up(&r1, 4) || !ir_up(&r2, 10)) {
        rig_down(&r1);
        rig_down(&r2);
        return;
    }
    CHECK_EQ(vtd_ir_size(&r1.u), 16);
    CHECK_EQ(vtd_ir_size(&r2.u), 1024);
    uint32_t a, b;
    CHECK_ERR(vtd_ir_alloc(&r1.u, 1, &a), VTD_OK);
    CHECK_ERR(vtd_ir_alloc(&r2.u, 1, &b), VTD_OK);
    CHECK_EQ(a, b); /* same index, different tables */
    struct vtd_irte_spec s1 = {.vector = 0x91, .dest = 1}, s2 = {.vector = 0x92, .dest = 2};
    program(&r1, a, &s1);
    program(&r2, b, &s2);
    struct vtd_model_irq o1 = {0}, o2 = {0};
    CHECK_EQ(irq(&r1, SID_A, a, 0, &o1), 0);
    CHECK_EQ(irq(&r2, SID_A, b, 0, &o2), 0);
    CHECK_EQ(o1.vector, 0x91);
    CHECK_EQ(o2.vector, 0x92);
    /* unit 1's table ends at 16 entries, unit 2's does not */
    CHECK_EQ(irq(&r1, SID_A, 100, 0, NULL), 0x21);
    CHECK_EQ(irq(&r2, SID_A, 100, 0, NULL), 0x22);
    CHECK_ERR(vtd_ir_disable(&r1.u), VTD_OK);
    CHECK(!vtd_model_ir_enabled(r1.m));
    CHECK(vtd_model_ir_enabled(r2.m));
    CHECK_EQ(irq(&r2, SID_A, b, 0, &o2), 0);
    CHECK_EQ(o2.vector, 0x92);
    check_clean(&r1);
    check_clean(&r2);
    rig_down(&r1);
    rig_down(&r2);
}

int main(void)
{
    RUN(test_remapped_delivery_of_programmed_entry);
    RUN(test_compat_format_blocked_and_fault_decoded);
    RUN(test_source_id_validation);
    RUN(test_clear_takes_effect_only_after_iec);
    RUN(test_retarget_seen_only_after_iec);
    RUN(test_iec_ops_share_one_submission);
    RUN(test_enable_with_stuck_commands_times_out_and_rolls_back);
    RUN(test_enable_needs_qi_and_ir);
    RUN(test_two_units_each_with_its_own_table);
    VT_MAIN_END();
}
