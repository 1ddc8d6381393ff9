/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Remapped interrupts against the VT-d model: a driver gets an interrupt only through an entry
 * the server wrote for its own device, on a vector the root task granted; anything else a device
 * sends into the interrupt window (another device's handle, a compatibility-format message, a
 * freed entry) is blocked by the remapping hardware and reported to the device's owner. The
 * entries follow the device's lifecycle: a fence clears them before the device is blocked, removal
 * frees them, a re-plug gets fresh ones and the old handle is stale; a fault flood stays bounded.
 * The model, not QEMU 7.2, is what proves the blocking of compatibility format and DMA-originated
 * writes (docs/interrupts.md says which level proves what).
 */
#include "fixture.h"

#define DEV_A 0x0100 /* 01:00.0, client A's */
#define DEV_B 0x0200 /* 02:00.0, client B's */
#define PORT 0x0008  /* 00:01.0, a root port no client holds */
#define VEC_A1 0x61
#define VEC_A2 0x62
#define VEC_B 0x71
#define T_CC 1
#define T_IEC 4

static struct vtd_model_desc_log logbuf[4096];

/* Two clients, each attached to its device, A with two vector grants (0, 1), B with one (0). */
static bool setup(struct fx *f, uint64_t *ha, uint64_t *hb)
{
    uint16_t a[] = {DEV_A}, b[] = {DEV_B};
    if (!fx_init(f, NULL, NULL)) {
        return false;
    }
    fx_add_device(f, DEV_A, 0, true);
    fx_add_device(f, DEV_B, 0, true);
    fx_client(f, CLIENT_A, POOL_A, a, 1);
    fx_client(f, CLIENT_B, POOL_B, b, 1);
    unsigned g = 99;
    if (iommu_client_grant_vector(f->s, CLIENT_A, DEV_A, VEC_A1, &g) != IOMMU_OK || g != 0 ||
        iommu_client_grant_vector(f->s, CLIENT_A, DEV_A, VEC_A2, &g) != IOMMU_OK || g != 1 ||
        iommu_client_grant_vector(f->s, CLIENT_B, DEV_B, VEC_B, &g) != IOMMU_OK || g != 0) {
        return false;
    }
    return fx_attach(f, CLIENT_A, DEV_A, ha) == IOMMU_OK &&
           fx_attach(f, CLIENT_B, DEV_B, hb) == IOMMU_OK;
}

static uint64_t irq_alloc(struct fx *f, uint64_t badge, uint64_t dev, uint64_t grant,
                          struct iommu_irq_alloc_rets *out)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_irq_alloc(&m, dev, grant);
    uint64_t e = fx_call(f, badge, &m, &r);
    iommu_reply_irq_alloc(&r, out);
    return e;
}

static uint64_t irq_free(struct fx *f, uint64_t badge, uint64_t irq)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_irq_free(&m, irq);
    return fx_call(f, badge, &m, &r);
}

static uint64_t irq_retarget(struct fx *f, uint64_t badge, uint64_t irq, uint64_t grant)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_irq_retarget(&m, irq, grant);
    return fx_call(f, badge, &m, &r);
}

/* The device at sid writes (addr, data) into the interrupt window. */
static int send(struct fx *f, uint16_t sid, uint64_t addr, uint64_t data, struct vtd_model_irq *o)
{
    struct vtd_model_irq tmp;
    return vtd_model_interrupt(f->m, sid, addr, (uint32_t)data, o ? o : &tmp);
}

/* Faults routed to `badge` so far: read them (up to max). */
static unsigned faults(struct fx *f, uint64_t badge, struct iommu_fault_rec *out, unsigned max,
                       uint64_t *dropped)
{
    while (iommu_fault_service(f->s, 0)) {
    }
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_fault_read(&m, max);
    if (fx_call(f, badge, &m, &r) != IOMMU_OK) {
        return 0;
    }
    struct iommu_fault_read_rets rets;
    iommu_reply_fault_read(&r, &rets);
    for (unsigned i = 0; i < rets.count && i < max; i++) {
        iommu_fault_unpack(&r.w[2 + i * IOMMU_FAULT_WORDS], &out[i]);
    }
    if (dropped) {
        *dropped = rets.dropped;
    }
    return (unsigned)rets.count;
}

static unsigned irtes(struct fx *f)
{
    struct iommu_counts c;
    iommu_server_counts(f->s, &c);
    return c.irtes;
}

static void test_irq_alloc_delivers_the_granted_vector_through_remapping(void)
{
    struct fx f;
    uint64_t ha, hb;
    struct iommu_irq_alloc_rets a;
    struct vtd_model_irq o;
    CHECK(setup(&f, &ha, &hb));
    CHECK(vtd_model_ir_enabled(f.m));
    CHECK_EQ(irq_alloc(&f, CLIENT_A, ha, 0, &a), IOMMU_OK);
    CHECK_EQ(a.msi_addr & 0xfff00010ull, 0xfee00010ull); /* remappable format */
    CHECK_EQ(send(&f, DEV_A, a.msi_addr, a.msi_data, &o), 0);
    CHECK(o.remapped);
    CHECK_EQ(o.vector, VEC_A1);
    CHECK_EQ(o.dest, 0);
    CHECK(!o.level);
    CHECK_EQ(irtes(&f), 1);
    CHECK_EQ(vtd_ir_in_use(iommu_server_vtd_unit(f.s, 0)), 1);
out:
    fx_fini(&f);
}

static void test_foreign_handle_from_another_device_is_blocked_and_reported_to_its_owner(void)
{
    struct fx f;
    uint64_t ha, hb;
    struct iommu_irq_alloc_rets a;
    struct iommu_fault_rec rec[4];
    CHECK(setup(&f, &ha, &hb));
    CHECK_EQ(irq_alloc(&f, CLIENT_A, ha, 0, &a), IOMMU_OK);
    /* B's driver programs A's pair into its device: source-id validation refuses it. */
    CHECK_EQ(send(&f, DEV_B, a.msi_addr, a.msi_data, NULL), VTD_MODEL_FR_IR_SID_ERR);
    /* A neighbouring index (a guessed handle) is not present. */
    CHECK_EQ(send(&f, DEV_B, a.msi_addr + (1u << 5), 0, NULL), VTD_MODEL_FR_IR_NOT_PRESENT);
    CHECK_EQ(faults(&f, CLIENT_A, rec, 4, NULL), 0); /* nothing reaches A */
    unsigned n = faults(&f, CLIENT_B, rec, 4, NULL);
    CHECK(n >= 1);
    CHECK_EQ(rec[0].sid, DEV_B);
    CHECK_EQ(rec[0].reason, VTD_MODEL_FR_IR_SID_ERR);
    CHECK_EQ(rec[0].addr, (a.msi_addr >> 5) & 0x7fff); /* the index the request named */
out:
    fx_fini(&f);
}

static void test_compatibility_format_is_blocked_with_cfis_clear_and_reported(void)
{
    struct fx f;
    uint64_t ha, hb;
    struct iommu_fault_rec rec[4];
    CHECK(setup(&f, &ha, &hb));
    /* A hostile driver aims its device at B's vector in compatibility format. */
    CHECK_EQ(send(&f, DEV_A, 0xfee00000ull, VEC_B, NULL), VTD_MODEL_FR_IR_COMPAT_BLOCKED);
    CHECK_EQ(faults(&f, CLIENT_B, rec, 4, NULL), 0);
    CHECK_EQ(faults(&f, CLIENT_A, rec, 4, NULL), 1);
    CHECK_EQ(rec[0].reason, VTD_MODEL_FR_IR_COMPAT_BLOCKED);
    CHECK_EQ(rec[0].sid, DEV_A);
out:
    fx_fini(&f);
}

static uint64_t delivered(struct fx *f)
{
    struct vtd_model_stats st;
    vtd_model_get_stats(f->m, &st);
    return st.irq_delivered;
}

/* The edu engine pointed at the interrupt window: its writes are interrupt requests of the device
 * and go through the same checks as its MSIs; a mapping of the range would not matter. */
static void test_dma_write_into_the_interrupt_window_is_blocked_and_delivers_nothing(void)
{
    struct fx f;
    uint64_t ha, hb;
    struct iommu_irq_alloc_rets a, b;
    struct iommu_fault_rec rec[4];
    CHECK(setup(&f, &ha, &hb));
    CHECK_EQ(irq_alloc(&f, CLIENT_B, hb, 0, &b), IOMMU_OK); /* entry 0 */
    CHECK_EQ(irq_alloc(&f, CLIENT_A, ha, 0, &a), IOMMU_OK); /* entry 1 */
    CHECK_EQ((b.msi_addr >> 5) & 0x7fff, 0);
    uint64_t before = delivered(&f);
    uint32_t word = VEC_B;
    /* compatibility format, aimed at B's vector */
    CHECK_EQ(vtd_model_dma(f.m, DEV_A, VTD_MODEL_NO_PASID, 0xfee00000ull, &word, 4, true),
             VTD_MODEL_FR_IR_COMPAT_BLOCKED);
    /* B's remappable handle */
    word = (uint32_t)b.msi_data;
    CHECK_EQ(vtd_model_dma(f.m, DEV_A, VTD_MODEL_NO_PASID, b.msi_addr, &word, 4, true),
             VTD_MODEL_FR_IR_SID_ERR);
    /* a buffer sprayed over the first 32 bytes of the window (compatibility format, then
     * entry 0 = B's): every DWORD blocked */
    uint32_t spray[8];
    for (unsigned i = 0; i < 8; i++) {
        spray[i] = i < 4 ? VEC_B : 0;
    }
    CHECK(vtd_model_dma(f.m, DEV_A, VTD_MODEL_NO_PASID, 0xfee00000ull, spray, sizeof(spray),
                        true) != 0);
    CHECK_EQ(delivered(&f), before); /* nothing reached any CPU */
    CHECK_EQ(faults(&f, CLIENT_B, rec, 4, NULL), 0);
    CHECK(faults(&f, CLIENT_A, rec, 4, NULL) >= 1); /* reported to the DMA-ing device's owner */
    CHECK_EQ(rec[0].sid, DEV_A);
    /* control: the device's own entry, written by DMA, is an ordinary MSI */
    word = (uint32_t)a.msi_data;
    CHECK_EQ(vtd_model_dma(f.m, DEV_A, VTD_MODEL_NO_PASID, a.msi_addr, &word, 4, true), 0);
    CHECK_EQ(delivered(&f), before + 1);
out:
    fx_fini(&f);
}

static void test_irq_requests_that_must_fail_change_nothing(void)
{
    struct fx f;
    uint64_t ha, hb;
    struct iommu_irq_alloc_rets a, x;
    CHECK(setup(&f, &ha, &hb));
    CHECK_EQ(irq_alloc(&f, CLIENT_A, ha, 0, &a), IOMMU_OK);
    uint64_t fp = iommu_server_fingerprint(f.s);
    CHECK_EQ(irq_alloc(&f, CLIENT_A, ha, 0, &x), IOMMU_ERR_BUSY);        /* grant in use */
    CHECK_EQ(irq_alloc(&f, CLIENT_A, ha, 5, &x), IOMMU_ERR_NOT_GRANTED); /* no such grant */
    CHECK_EQ(irq_alloc(&f, CLIENT_A, ha, ~0ull, &x), IOMMU_ERR_NOT_GRANTED);
    CHECK_EQ(irq_alloc(&f, CLIENT_A, hb, 0, &x), IOMMU_ERR_NOT_ATTACHED); /* B's device */
    CHECK_EQ(irq_alloc(&f, CLIENT_B, ha, 0, &x), IOMMU_ERR_NOT_ATTACHED);
    CHECK_EQ(irq_alloc(&f, CLIENT_A, ha + (1ull << 16), 0, &x), IOMMU_ERR_STALE);
    CHECK_EQ(irq_alloc(&f, CLIENT_A, 1ull << 60, 0, &x), IOMMU_ERR_BAD_ARG);
    CHECK_EQ(irq_alloc(&f, 0x77, ha, 0, &x), IOMMU_ERR_DENIED);
    CHECK_EQ(irq_free(&f, CLIENT_B, a.irq), IOMMU_ERR_STALE); /* not B's */
    CHECK_EQ(irq_free(&f, CLIENT_A, a.irq ^ (1ull << 16)), IOMMU_ERR_STALE);
    CHECK_EQ(irq_free(&f, CLIENT_A, 1ull << 50), IOMMU_ERR_BAD_ARG);
    CHECK_EQ(irq_retarget(&f, CLIENT_A, a.irq, 7), IOMMU_ERR_NOT_GRANTED);
    CHECK_EQ(irq_retarget(&f, CLIENT_B, a.irq, 0), IOMMU_ERR_STALE);
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_irq_alloc(&m, ha, 1);
    m.len = 1; /* short message */
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_BAD_MSG);
    /* The root task's policy calls refuse what is not theirs to give. */
    unsigned g;
    CHECK_EQ(iommu_client_grant_vector(f.s, CLIENT_A, DEV_B, 0x65, &g), IOMMU_ERR_BAD_ARG);
    CHECK_EQ(iommu_client_grant_vector(f.s, CLIENT_A, DEV_A, 0x1f, &g), IOMMU_ERR_BAD_ARG);
    CHECK_EQ(iommu_client_grant_vector(f.s, CLIENT_A, DEV_A, 0x100, &g), IOMMU_ERR_BAD_ARG);
    CHECK_EQ(iommu_client_grant_vector(f.s, 0x99, DEV_A, 0x65, &g), IOMMU_ERR_BAD_ARG);
    CHECK_EQ(iommu_server_fingerprint(f.s), fp);
    CHECK_EQ(send(&f, DEV_A, a.msi_addr, a.msi_data, NULL), 0); /* still delivered */
out:
    fx_fini(&f);
}

static void test_free_clears_the_entry_and_the_handle_goes_stale(void)
{
    struct fx f;
    uint64_t ha, hb;
    struct iommu_irq_alloc_rets a, b;
    CHECK(setup(&f, &ha, &hb));
    CHECK_EQ(irq_alloc(&f, CLIENT_A, ha, 0, &a), IOMMU_OK);
    CHECK_EQ(irq_free(&f, CLIENT_A, a.irq), IOMMU_OK);
    CHECK_EQ(send(&f, DEV_A, a.msi_addr, a.msi_data, NULL), VTD_MODEL_FR_IR_NOT_PRESENT);
    CHECK_EQ(irq_free(&f, CLIENT_A, a.irq), IOMMU_ERR_STALE);
    CHECK_EQ(irtes(&f), 0);
    /* The slot and index come back, under a new handle; the old one stays stale. */
    CHECK_EQ(irq_alloc(&f, CLIENT_A, ha, 0, &b), IOMMU_OK);
    CHECK(b.irq != a.irq);
    CHECK_EQ(irq_free(&f, CLIENT_A, a.irq), IOMMU_ERR_STALE);
    CHECK_EQ(send(&f, DEV_A, b.msi_addr, b.msi_data, NULL), 0);
out:
    fx_fini(&f);
}

static void test_retarget_moves_the_interrupt_to_another_granted_vector(void)
{
    struct fx f;
    uint64_t ha, hb;
    struct iommu_irq_alloc_rets a;
    struct vtd_model_irq o;
    CHECK(setup(&f, &ha, &hb));
    CHECK_EQ(irq_alloc(&f, CLIENT_A, ha, 0, &a), IOMMU_OK);
    CHECK_EQ(send(&f, DEV_A, a.msi_addr, a.msi_data, &o), 0);
    CHECK_EQ(o.vector, VEC_A1); /* now cached in the model's interrupt entry cache */
    CHECK_EQ(irq_retarget(&f, CLIENT_A, a.irq, 1), IOMMU_OK);
    CHECK_EQ(send(&f, DEV_A, a.msi_addr, a.msi_data, &o), 0);
    CHECK_EQ(o.vector, VEC_A2); /* the cache was invalidated: the new vector */
    /* grant 0 is free again: a second interrupt may take it */
    struct iommu_irq_alloc_rets b;
    CHECK_EQ(irq_alloc(&f, CLIENT_A, ha, 0, &b), IOMMU_OK);
    CHECK_EQ(irq_retarget(&f, CLIENT_A, a.irq, 0), IOMMU_ERR_BUSY);
out:
    fx_fini(&f);
}

/* The fence's first descriptor for the device is the IEC flush; the block comes after it. */
static void check_fence_order(uint64_t mode)
{
    struct fx f;
    uint64_t ha, hb, st = 0;
    struct iommu_irq_alloc_rets a;
    CHECK(setup(&f, &ha, &hb));
    CHECK_EQ(irq_alloc(&f, CLIENT_A, ha, 0, &a), IOMMU_OK);
    CHECK_EQ(send(&f, DEV_A, a.msi_addr, a.msi_data, NULL), 0);
    size_t from = fx_log(&f, logbuf, 4096);
    CHECK_EQ(fx_fence(&f, DEV_A, mode, &st), IOMMU_HP_OK);
    size_t n = fx_log(&f, logbuf, 4096);
    size_t iec = n, cc = n;
    for (size_t i = from; i < n; i++) {
        unsigned t = fx_desc_type(&logbuf[i]);
        if (t == T_IEC && iec == n) {
            iec = i;
        }
        if (t == T_CC && fx_desc_sid(&logbuf[i]) == DEV_A && cc == n) {
            cc = i;
        }
    }
    CHECK(iec < n);
    CHECK(cc < n);
    CHECK(iec < cc);
    CHECK_EQ(send(&f, DEV_A, a.msi_addr, a.msi_data, NULL), VTD_MODEL_FR_IR_NOT_PRESENT);
    /* the entry is cleared, not freed: its index stays held until removal */
    CHECK_EQ(irtes(&f), 1);
    struct iommu_irq_alloc_rets x;
    CHECK_EQ(irq_alloc(&f, CLIENT_A, ha, 1, &x), IOMMU_ERR_FENCED);
    CHECK_EQ(irq_retarget(&f, CLIENT_A, a.irq, 1), IOMMU_ERR_FENCED);
out:
    fx_fini(&f);
}

static void test_orderly_fence_clears_the_irtes_before_blocking_the_device(void)
{
    check_fence_order(IOMMU_FENCE_ORDERLY);
}

static void test_surprise_fence_clears_the_irtes_before_blocking_the_device(void)
{
    check_fence_order(IOMMU_FENCE_SURPRISE);
}

static void test_replug_gets_fresh_entries_and_the_old_handle_is_stale(void)
{
    struct fx f;
    uint64_t ha, hb, st = 0, gen = 0;
    struct iommu_irq_alloc_rets a, b;
    struct vtd_model_irq o;
    CHECK(setup(&f, &ha, &hb));
    CHECK_EQ(irq_alloc(&f, CLIENT_A, ha, 0, &a), IOMMU_OK);
    CHECK_EQ(fx_fence(&f, DEV_A, IOMMU_FENCE_SURPRISE, &st), IOMMU_HP_OK);
    fx_set_present(&f, DEV_A, false);
    CHECK_EQ(fx_removed(&f, DEV_A), IOMMU_HP_OK);
    CHECK_EQ(irtes(&f), 0);
    CHECK_EQ(vtd_ir_in_use(iommu_server_vtd_unit(f.s, 0)), 0);
    fx_set_present(&f, DEV_A, true);
    CHECK_EQ(fx_added(&f, DEV_A, &gen), IOMMU_HP_OK);
    CHECK_EQ(irq_free(&f, CLIENT_A, a.irq), IOMMU_ERR_STALE);
    CHECK_EQ(irq_alloc(&f, CLIENT_A, ha, 0, &b), IOMMU_ERR_STALE); /* old device handle */
    uint64_t h2;
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV_A, &h2), IOMMU_OK);
    CHECK_EQ(irq_alloc(&f, CLIENT_A, h2, 0, &b), IOMMU_OK);
    CHECK(b.irq != a.irq);
    CHECK_EQ(send(&f, DEV_A, b.msi_addr, b.msi_data, &o), 0);
    CHECK_EQ(o.vector, VEC_A1);
out:
    fx_fini(&f);
}

static void test_hundred_unplug_replug_cycles_leak_no_irte(void)
{
    struct fx f;
    uint64_t ha, hb, st = 0, gen = 0;
    struct iommu_irq_alloc_rets a;
    CHECK(setup(&f, &ha, &hb));
    CHECK_EQ(irq_alloc(&f, CLIENT_B, hb, 0, &a), IOMMU_OK); /* a bystander's interrupt */
    size_t pages = vtd_model_pages_in_use(f.m);
    uint64_t h = ha;
    for (unsigned c = 0; c < 100; c++) {
        struct iommu_irq_alloc_rets x;
        CHECK_EQ(irq_alloc(&f, CLIENT_A, h, c & 1, &x), IOMMU_OK);
        CHECK_EQ(send(&f, DEV_A, x.msi_addr, x.msi_data, NULL), 0);
        CHECK_EQ(fx_fence(&f, DEV_A, (c % 3) ? IOMMU_FENCE_ORDERLY : IOMMU_FENCE_SURPRISE, &st),
                 IOMMU_HP_OK);
        CHECK_EQ(send(&f, DEV_A, x.msi_addr, x.msi_data, NULL), VTD_MODEL_FR_IR_NOT_PRESENT);
        fx_set_present(&f, DEV_A, false);
        CHECK_EQ(fx_removed(&f, DEV_A), IOMMU_HP_OK);
        fx_set_present(&f, DEV_A, true);
        CHECK_EQ(fx_added(&f, DEV_A, &gen), IOMMU_HP_OK);
        CHECK_EQ(irq_free(&f, CLIENT_A, x.irq), IOMMU_ERR_STALE);
        CHECK_EQ(fx_attach(&f, CLIENT_A, DEV_A, &h), IOMMU_OK);
        CHECK_EQ(irtes(&f), 1);
        CHECK_EQ(vtd_ir_in_use(iommu_server_vtd_unit(f.s, 0)), 1);
    }
    CHECK_EQ(gen, 101);
    CHECK_EQ(vtd_model_pages_in_use(f.m), pages);
    CHECK_EQ(send(&f, DEV_B, a.msi_addr, a.msi_data, NULL), 0); /* the bystander never lost it */
out:
    fx_fini(&f);
}

static void test_detach_and_client_removal_free_the_clients_entries(void)
{
    struct fx f;
    uint64_t ha, hb, st = 0;
    struct iommu_irq_alloc_rets a, b, c;
    CHECK(setup(&f, &ha, &hb));
    CHECK_EQ(irq_alloc(&f, CLIENT_A, ha, 0, &a), IOMMU_OK);
    CHECK_EQ(irq_alloc(&f, CLIENT_A, ha, 1, &b), IOMMU_OK);
    CHECK_EQ(irq_alloc(&f, CLIENT_B, hb, 0, &c), IOMMU_OK);
    CHECK_EQ(irtes(&f), 3);
    CHECK_EQ(fx_detach(&f, CLIENT_A, ha, &st), IOMMU_OK);
    CHECK_EQ(irtes(&f), 1);
    CHECK_EQ(send(&f, DEV_A, a.msi_addr, a.msi_data, NULL), VTD_MODEL_FR_IR_NOT_PRESENT);
    CHECK_EQ(send(&f, DEV_A, b.msi_addr, b.msi_data, NULL), VTD_MODEL_FR_IR_NOT_PRESENT);
    CHECK_EQ(iommu_client_unregister(f.s, CLIENT_B), IOMMU_OK);
    CHECK_EQ(irtes(&f), 0);
    CHECK_EQ(send(&f, DEV_B, c.msi_addr, c.msi_data, NULL), VTD_MODEL_FR_IR_NOT_PRESENT);
    CHECK_EQ(vtd_ir_in_use(iommu_server_vtd_unit(f.s, 0)), 0);
out:
    fx_fini(&f);
}

static void test_root_route_for_a_port_is_validated_for_that_port_only(void)
{
    struct fx f;
    uint64_t ha, hb, irq = 0, addr = 0, data = 0;
    struct vtd_model_irq o;
    CHECK(setup(&f, &ha, &hb));
    CHECK_EQ(iommu_irq_route(f.s, PORT, 0x80, &irq, &addr, &data), IOMMU_OK);
    CHECK_EQ(send(&f, PORT, addr, data, &o), 0);
    CHECK_EQ(o.vector, 0x80);
    CHECK_EQ(send(&f, DEV_A, addr, data, NULL), VTD_MODEL_FR_IR_SID_ERR);
    CHECK_EQ(iommu_irq_route(f.s, PORT, 0x10, &irq, &addr, &data), IOMMU_ERR_BAD_ARG);
    CHECK_EQ(irq_free(&f, CLIENT_A, irq), IOMMU_ERR_STALE); /* not a client's */
    CHECK_EQ(iommu_irq_unroute(f.s, irq), IOMMU_OK);
    CHECK_EQ(iommu_irq_unroute(f.s, irq), IOMMU_ERR_STALE);
    CHECK_EQ(send(&f, PORT, addr, data, NULL), VTD_MODEL_FR_IR_NOT_PRESENT);
out:
    fx_fini(&f);
}

static uint64_t iec_descriptors(struct vtd_model *m)
{
    struct vtd_model_desc_log log[512];
    size_t n = vtd_model_desc_log(m, log, 512);
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++) {
        k += fx_desc_type(&log[i]) == T_IEC;
    }
    return k;
}

/* Two remapping units: each device's entries live in the table of the unit whose scope holds
 * it, and its fence invalidates only that unit's interrupt entry cache. */
static void test_each_devices_entries_live_in_its_own_units_table(void)
{
    struct fx f;
    struct vtd_model *m2 = NULL;
    uint64_t ha, hb, st = 0;
    struct iommu_irq_alloc_rets a, b;
    struct vtd_model_irq o;
    uint16_t sa[] = {DEV_A};
    CHECK(fx_init(&f, NULL, NULL));
    m2 = fx_second_unit(&f, NULL, 0x0200, 0x02ff);
    CHECK(m2 != NULL);
    fx_add_device(&f, DEV_A, 0, true);
    CHECK_EQ(vtd_model_add_device(m2, DEV_B, 0), 0);
    CHECK_EQ(iommu_server_add_device(f.s, DEV_B), IOMMU_OK);
    fx_client(&f, CLIENT_A, POOL_A, sa, 1);
    CHECK_EQ(iommu_client_register(f.s, CLIENT_B, 1), IOMMU_OK);
    CHECK_EQ(iommu_client_grant_device(f.s, CLIENT_B, DEV_B), IOMMU_OK);
    CHECK_EQ(iommu_client_grant_vector(f.s, CLIENT_A, DEV_A, VEC_A1, NULL), IOMMU_OK);
    CHECK_EQ(iommu_client_grant_vector(f.s, CLIENT_B, DEV_B, VEC_B, NULL), IOMMU_OK);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV_A, &ha), IOMMU_OK);
    CHECK_EQ(fx_attach(&f, CLIENT_B, DEV_B, &hb), IOMMU_OK);
    CHECK(vtd_model_ir_enabled(m2));
    CHECK_EQ(irq_alloc(&f, CLIENT_A, ha, 0, &a), IOMMU_OK);
    CHECK_EQ(irq_alloc(&f, CLIENT_B, hb, 0, &b), IOMMU_OK);
    CHECK_EQ(vtd_ir_in_use(iommu_server_vtd_unit(f.s, 0)), 1);
    CHECK_EQ(vtd_ir_in_use(iommu_server_vtd_unit(f.s, 1)), 1);
    CHECK_EQ(a.msi_addr, b.msi_addr); /* entry 0 of two different tables */
    CHECK_EQ(send(&f, DEV_A, a.msi_addr, a.msi_data, &o), 0);
    CHECK_EQ(o.vector, VEC_A1);
    CHECK_EQ(vtd_model_interrupt(m2, DEV_B, b.msi_addr, (uint32_t)b.msi_data, &o), 0);
    CHECK_EQ(o.vector, VEC_B);
    uint64_t iec0 = iec_descriptors(f.m), iec1 = iec_descriptors(m2);
    CHECK_EQ(fx_fence(&f, DEV_B, IOMMU_FENCE_SURPRISE, &st), IOMMU_HP_OK);
    CHECK_EQ(iec_descriptors(f.m), iec0);
    CHECK(iec_descriptors(m2) > iec1);
    CHECK_EQ(vtd_model_interrupt(m2, DEV_B, b.msi_addr, (uint32_t)b.msi_data, &o),
             VTD_MODEL_FR_IR_NOT_PRESENT);
    CHECK_EQ(send(&f, DEV_A, a.msi_addr, a.msi_data, &o), 0); /* unit 0 untouched */
out:
    fx_fini(&f);
    if (m2) {
        vtd_model_destroy(m2);
    }
}

/*
 * A device firing blocked interrupts without end: the one fault register and the per-client rate
 * limit keep the server's work per call bounded, the flooder's ring bounded, and another
 * client's map + unmap unaffected.
 */
static void test_ir_fault_flood_is_bounded_and_does_not_starve_others(void)
{
    struct fx f;
    uint64_t ha, hb, st, dropped = 0;
    struct iommu_fault_rec rec[IOMMU_FAULTS_PER_REPLY];
    CHECK(setup(&f, &ha, &hb));
    unsigned maps = 0;
    for (unsigned i = 0; i < 10000; i++) {
        (void)send(&f, DEV_A, 0xfee00000ull, VEC_B, NULL);
        if ((i & 63) == 0) {
            /* one bounded service call (IOMMU_FAULT_BUDGET records at most), then B's work */
            (void)iommu_fault_service(f.s, 0);
            CHECK_EQ(fx_map(&f, CLIENT_B, 0x100000, 0, 0, 0x1000, IOMMU_READ), IOMMU_OK);
            CHECK_EQ(fx_unmap(&f, CLIENT_B, 0x100000, 0x1000, &st), IOMMU_OK);
            maps++;
        }
        if (i % 1000 == 0) {
            vtd_model_advance(f.m, 20000000ull); /* new rate window */
        }
    }
    CHECK_EQ(maps, 157);
    unsigned n = faults(&f, CLIENT_A, rec, IOMMU_FAULTS_PER_REPLY, &dropped);
    CHECK(n >= 1);
    CHECK(f.s->clients[0].ring_count <= IOMMU_FAULT_RING);
    CHECK(f.s->stats.ir_faults >= n);
    CHECK_EQ(faults(&f, CLIENT_B, rec, IOMMU_FAULTS_PER_REPLY, NULL), 0);
    printf("  flood: 10000 blocked interrupts, %llu IR faults read, %llu routed, %llu dropped "
           "(rate/ring), %llu overflows\n",
           (unsigned long long)f.s->stats.ir_faults, (unsigned long long)f.s->stats.faults_routed,
           (unsigned long long)f.s->stats.faults_dropped,
           (unsigned long long)f.s->stats.fault_overflows);
out:
    fx_fini(&f);
}

int main(void)
{
    RUN(test_irq_alloc_delivers_the_granted_vector_through_remapping);
    RUN(test_foreign_handle_from_another_device_is_blocked_and_reported_to_its_owner);
    RUN(test_compatibility_format_is_blocked_with_cfis_clear_and_reported);
    RUN(test_dma_write_into_the_interrupt_window_is_blocked_and_delivers_nothing);
    RUN(test_irq_requests_that_must_fail_change_nothing);
    RUN(test_free_clears_the_entry_and_the_handle_goes_stale);
    RUN(test_retarget_moves_the_interrupt_to_another_granted_vector);
    RUN(test_orderly_fence_clears_the_irtes_before_blocking_the_device);
    RUN(test_surprise_fence_clears_the_irtes_before_blocking_the_device);
    RUN(test_replug_gets_fresh_entries_and_the_old_handle_is_stale);
    RUN(test_hundred_unplug_replug_cycles_leak_no_irte);
    RUN(test_detach_and_client_removal_free_the_clients_entries);
    RUN(test_root_route_for_a_port_is_validated_for_that_port_only);
    RUN(test_each_devices_entries_live_in_its_own_units_table);
    RUN(test_ir_fault_flood_is_bounded_and_does_not_starve_others);
    return fx_report();
}
