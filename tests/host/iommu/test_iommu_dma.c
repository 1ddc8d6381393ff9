/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IOMMU server's basic promises, checked by DMA through the VT-d model: a mapping moves
 * exactly the right bytes, an unmapped or unattached address faults and the fault reaches the
 * client that owns the device, clients are isolated from each other's memory, devices and
 * IOVAs, RMRR ranges stay identity-mapped, and a large unmap costs one queue submission.
 */
#include "fixture.h"

#define DEV1 0x0100 /* 01:00.0 */
#define DEV2 0x0200 /* 02:00.0 */
#define DEV3 0x0300

static void test_map_then_dma_moves_the_right_bytes(void)
{
    struct fx f;
    uint16_t sids[] = {DEV1};
    uint8_t buf[0x2000], back[0x2000];
    uint64_t h;
    CHECK(fx_init(&f, NULL, NULL));
    fx_add_device(&f, DEV1, 0, true);
    fx_client(&f, CLIENT_A, POOL_A, sids, 1);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV1, &h), IOMMU_OK);
    CHECK_EQ(IOMMU_HANDLE_SID(h), DEV1);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0x3000, 0x4000, IOMMU_READ | IOMMU_WRITE), IOMMU_OK);
    fx_fill(&f, POOL_A + 0x3000, 0x4000, 1);
    /* device reads iova 0x11000..0x13000 = pool + 0x4000.. */
    CHECK_EQ(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x11000, buf, sizeof(buf), false), 0);
    CHECK(fx_same(&f, POOL_A + 0x4000, buf, sizeof(buf)));
    /* device writes: lands at the mapped physical address and nowhere else */
    for (size_t i = 0; i < sizeof(back); i++) {
        back[i] = (uint8_t)(0x5a ^ i);
    }
    CHECK_EQ(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x12000, back, 0x1000, true), 0);
    CHECK(fx_same(&f, POOL_A + 0x5000, back, 0x1000));
    fx_fill(&f, POOL_A + 0x3000, 0x4000, 1); /* restore and compare the neighbours untouched */
    CHECK_EQ(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x10000, buf, 0x1000, false), 0);
    CHECK(fx_same(&f, POOL_A + 0x3000, buf, 0x1000));
out:
    fx_fini(&f);
}

static void test_unmap_then_dma_faults_and_fault_reaches_owner(void)
{
    struct fx f;
    uint16_t sids[] = {DEV1};
    uint8_t buf[64];
    uint64_t h, status = 99;
    CHECK(fx_init(&f, NULL, NULL));
    fx_add_device(&f, DEV1, 0, true);
    fx_client(&f, CLIENT_A, POOL_A, sids, 1);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV1, &h), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x40000, 0, 0, 0x1000, IOMMU_READ | IOMMU_WRITE), IOMMU_OK);
    /* the DMA fills the IOTLB: the unmap must invalidate it */
    CHECK_EQ(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x40000, buf, sizeof(buf), false), 0);
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0x40000, 0x1000, &status), IOMMU_OK);
    CHECK_EQ(status, 0);
    int fr = vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x40000, buf, sizeof(buf), true);
    CHECK(fr > 0);
    CHECK_EQ(f.notifies, 0);
    CHECK(!iommu_fault_service(f.s, 0));
    CHECK_EQ(f.notifies, 1);
    CHECK_EQ(f.last_notified, CLIENT_A);
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_fault_read(&m, 8);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_OK);
    struct iommu_fault_read_rets rets;
    iommu_reply_fault_read(&r, &rets);
    CHECK_EQ(rets.count, 1);
    CHECK_EQ(rets.dropped, 0);
    struct iommu_fault_rec rec;
    iommu_fault_unpack(&r.w[2], &rec);
    CHECK_EQ(rec.sid, DEV1);
    CHECK_EQ(rec.addr, 0x40000);
    CHECK_EQ(rec.reason, (unsigned)fr);
    CHECK(rec.write);
    /* read again: empty */
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_OK);
    CHECK_EQ(r.w[0], 0);
    struct iommu_counts c;
    iommu_server_counts(f.s, &c);
    CHECK_EQ(c.pins, 0);
    CHECK_EQ(c.mappings, 0);
out:
    fx_fini(&f);
}

static void test_unmap_flushes_the_device_tlb_of_an_ats_device(void)
{
    struct fx f;
    uint16_t sids[] = {DEV1};
    uint8_t buf[64];
    CHECK(fx_init(&f, NULL, NULL));
    fx_add_device(&f, DEV1, VTD_MODEL_DEV_ATS, true);
    fx_client(&f, CLIENT_A, POOL_A, sids, 1);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV1, NULL), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x40000, 0, 0, 0x2000, IOMMU_READ | IOMMU_WRITE), IOMMU_OK);
    CHECK_EQ(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x40000, buf, sizeof(buf), false), 0);
    CHECK_EQ(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x40000, buf, sizeof(buf), false), 0);
    struct vtd_model_stats st;
    vtd_model_get_stats(f.m, &st);
    CHECK(st.atc_hits > 0); /* the second DMA was served by the device's own ATC */
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0x40000, 0x2000, NULL), IOMMU_OK);
    CHECK_EQ(fx_count_desc(&f, 0, 3, DEV1), 1);
    CHECK(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x40000, buf, sizeof(buf), false) > 0);
    CHECK(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x41000, buf, sizeof(buf), false) > 0);
out:
    fx_fini(&f);
}

static void test_unattached_device_cannot_dma(void)
{
    struct fx f;
    uint16_t sids[] = {DEV1};
    uint8_t buf[64];
    CHECK(fx_init(&f, NULL, NULL));
    fx_add_device(&f, DEV1, 0, true);
    fx_add_device(&f, DEV2, 0, true);
    fx_client(&f, CLIENT_A, POOL_A, sids, 1);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV1, NULL), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x0, 0, 0, 0x10000, IOMMU_READ | IOMMU_WRITE), IOMMU_OK);
    CHECK_EQ(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x1000, buf, sizeof(buf), false), 0);
    /* DEV2 was never attached: fail-closed, even at the client's IOVAs and at physical addresses */
    CHECK(vtd_model_dma(f.m, DEV2, VTD_MODEL_NO_PASID, 0x1000, buf, sizeof(buf), false) > 0);
    iommu_fault_service(f.s, 0);
    CHECK(vtd_model_dma(f.m, DEV2, VTD_MODEL_NO_PASID, POOL_A, buf, sizeof(buf), false) > 0);
    iommu_fault_service(f.s, 0);
    CHECK_EQ(f.notifies, 0); /* nobody owns DEV2: not routed to A */
    CHECK_EQ(f.s->stats.faults_unowned, 2);
out:
    fx_fini(&f);
}

static void test_client_cannot_map_memory_it_does_not_hold(void)
{
    struct fx f;
    uint16_t sids[] = {DEV1};
    CHECK(fx_init(&f, NULL, NULL));
    fx_add_device(&f, DEV1, 0, true);
    fx_client(&f, CLIENT_A, POOL_A, sids, 1);
    unsigned ro;
    CHECK_EQ(iommu_client_grant_memory(f.s, CLIENT_A, 0xc00000, 0x10000, IOMMU_READ, &ro),
             IOMMU_OK);
    uint64_t fp = iommu_server_fingerprint(f.s);
    /* a grant index it was never given */
    CHECK_EQ(fx_map(&f, CLIENT_A, 0, 5, 0, 0x1000, IOMMU_READ), IOMMU_ERR_BAD_MEMORY);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0, 1u << 31, 0, 0x1000, IOMMU_READ), IOMMU_ERR_BAD_MEMORY);
    /* beyond its pool: the next physical page belongs to somebody else */
    CHECK_EQ(fx_map(&f, CLIENT_A, 0, 0, POOL_SIZE, 0x1000, IOMMU_READ), IOMMU_ERR_RANGE);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0, 0, POOL_SIZE - 0x1000, 0x2000, IOMMU_READ), IOMMU_ERR_RANGE);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0, 0, UINT64_MAX - 0xfff, 0x2000, IOMMU_READ), IOMMU_ERR_RANGE);
    /* write access to a read-only grant */
    CHECK_EQ(fx_map(&f, CLIENT_A, 0, ro, 0, 0x1000, IOMMU_WRITE), IOMMU_ERR_RIGHTS);
    /* "the transferred frame" without a frame */
    CHECK_EQ(fx_map(&f, CLIENT_A, 0, IOMMU_MEM_CAP, 0, 0x1000, IOMMU_READ), IOMMU_ERR_BAD_MEMORY);
    CHECK_EQ(iommu_server_fingerprint(f.s), fp);
    /* with a frame capability: mapped, pinned, released on unmap */
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_map(&m, 0x100000, IOMMU_MEM_CAP, 0, 0x2000, IOMMU_READ);
    m.ncaps = 1;
    m.cap[0] = (struct iommu_cap_ref){.kind = IOMMU_CAP_FRAME,
                                      .rights = IOMMU_READ,
                                      .pa = 0xd00000,
                                      .size = 0x2000,
                                      .cookie = 77};
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_OK);
    CHECK(r.cap_kept);
    iommu_encode_map(&m, 0x200000, IOMMU_MEM_CAP, 0, 0x1000, IOMMU_WRITE);
    m.ncaps = 1;
    m.cap[0] = (struct iommu_cap_ref){.kind = IOMMU_CAP_FRAME,
                                      .rights = IOMMU_READ,
                                      .pa = 0xe00000,
                                      .size = 0x1000,
                                      .cookie = 78};
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_RIGHTS);
    CHECK(!r.cap_kept);
    CHECK_EQ(f.releases, 0);
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0x100000, 0x2000, NULL), IOMMU_OK);
    CHECK_EQ(f.releases, 1);
    CHECK_EQ(f.last_released, 77);
out:
    fx_fini(&f);
}

static void test_client_cannot_touch_other_clients_device_or_iovas(void)
{
    struct fx f;
    uint16_t sa[] = {DEV1, DEV3}, sb[] = {DEV2, DEV3};
    uint8_t buf[64];
    uint64_t ha, hb, h3;
    CHECK(fx_init(&f, NULL, NULL));
    fx_add_device(&f, DEV1, 0, true);
    fx_add_device(&f, DEV2, 0, true);
    fx_add_device(&f, DEV3, 0, true);
    fx_client(&f, CLIENT_A, POOL_A, sa, 2);
    fx_client(&f, CLIENT_B, POOL_B, sb, 2);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV1, &ha), IOMMU_OK);
    CHECK_EQ(fx_attach(&f, CLIENT_B, DEV2, &hb), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_B, 0x10000, 0, 0, 0x1000, IOMMU_READ | IOMMU_WRITE), IOMMU_OK);
    fx_fill(&f, POOL_B, 0x1000, 9);
    uint64_t fp = iommu_server_fingerprint(f.s);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV2, NULL), IOMMU_ERR_NOT_GRANTED);
    CHECK_EQ(fx_detach(&f, CLIENT_A, hb, NULL), IOMMU_ERR_NOT_ATTACHED);
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0x10000, 0x1000, NULL), IOMMU_ERR_NOT_MAPPED);
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_ats_flush(&m, hb, 0, 0);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_NOT_ATTACHED);
    /* an unregistered badge is nobody */
    iommu_encode_unmap(&m, 0x10000, 0x1000);
    CHECK_EQ(fx_call(&f, 0x666, &m, &r), IOMMU_ERR_DENIED);
    CHECK_EQ(fx_call(&f, HP_BADGE, &m, &r), IOMMU_ERR_DENIED);
    CHECK_EQ(iommu_server_fingerprint(f.s), fp);
    /* A's device cannot reach B's IOVA, B's device still can */
    CHECK(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x10000, buf, sizeof(buf), false) > 0);
    CHECK_EQ(vtd_model_dma(f.m, DEV2, VTD_MODEL_NO_PASID, 0x10000, buf, sizeof(buf), false), 0);
    CHECK(fx_same(&f, POOL_B, buf, sizeof(buf)));
    /* a device granted to both belongs to whoever attaches first */
    CHECK_EQ(fx_attach(&f, CLIENT_B, DEV3, &h3), IOMMU_OK);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV3, NULL), IOMMU_ERR_BUSY);
    CHECK_EQ(fx_attach(&f, CLIENT_B, DEV3, NULL), IOMMU_ERR_ALREADY);
    CHECK_EQ(fx_detach(&f, CLIENT_A, h3, NULL), IOMMU_ERR_NOT_ATTACHED);
    CHECK_EQ(fx_detach(&f, CLIENT_B, h3, NULL), IOMMU_OK);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV3, NULL), IOMMU_OK);
out:
    fx_fini(&f);
}

static void test_map_checks_alignment_overlap_and_range(void)
{
    struct fx f;
    uint16_t sids[] = {DEV1};
    CHECK(fx_init(&f, NULL, NULL));
    fx_add_device(&f, DEV1, 0, true);
    fx_client(&f, CLIENT_A, POOL_A, sids, 1);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x4000, IOMMU_READ), IOMMU_OK);
    uint64_t fp = iommu_server_fingerprint(f.s);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x20001, 0, 0, 0x1000, IOMMU_READ), IOMMU_ERR_ALIGN);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x20000, 0, 0x10, 0x1000, IOMMU_READ), IOMMU_ERR_ALIGN);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x20000, 0, 0, 0x1001, IOMMU_READ), IOMMU_ERR_ALIGN);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x20000, 0, 0, 0, IOMMU_READ), IOMMU_ERR_ALIGN);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x13000, 0, 0, 0x2000, IOMMU_READ), IOMMU_ERR_OVERLAP);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0xf000, 0, 0, 0x2000, IOMMU_READ), IOMMU_ERR_OVERLAP);
    CHECK_EQ(fx_map(&f, CLIENT_A, UINT64_MAX - 0xfff, 0, 0, 0x2000, IOMMU_READ), IOMMU_ERR_RANGE);
    CHECK_EQ(fx_map(&f, CLIENT_A, 1ull << 48, 0, 0, 0x1000, IOMMU_READ), IOMMU_ERR_RANGE);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x20000, 0, 0, 0x1000, 0), IOMMU_ERR_RIGHTS);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x20000, 0, 0, 0x1000, 4), IOMMU_ERR_RIGHTS);
    /* unmap must not split a mapping, nor find nothing */
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0x11000, 0x1000, NULL), IOMMU_ERR_SPLIT);
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0x10000, 0x2000, NULL), IOMMU_ERR_SPLIT);
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0x30000, 0x1000, NULL), IOMMU_ERR_NOT_MAPPED);
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0x10000, 0, NULL), IOMMU_ERR_ALIGN);
    CHECK_EQ(fx_unmap(&f, CLIENT_A, UINT64_MAX & ~0xfffull, 0x2000, NULL), IOMMU_ERR_RANGE);
    CHECK_EQ(iommu_server_fingerprint(f.s), fp);
    /* a range around the mapping with holes either side is fine */
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0x8000, 0x20000, NULL), IOMMU_OK);
out:
    fx_fini(&f);
}

static void test_mapping_table_full_is_an_error_not_a_crash(void)
{
    struct fx f;
    CHECK(fx_init(&f, NULL, NULL));
    fx_client(&f, CLIENT_A, POOL_A, NULL, 0);
    for (unsigned i = 0; i < IOMMU_MAPS_PER_DOMAIN; i++) {
        CHECK_EQ(fx_map(&f, CLIENT_A, (uint64_t)i * 0x2000, 0, 0, 0x1000, IOMMU_READ), IOMMU_OK);
    }
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000000, 0, 0, 0x1000, IOMMU_READ), IOMMU_ERR_NO_SLOTS);
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0, (uint64_t)IOMMU_MAPS_PER_DOMAIN * 0x2000, NULL), IOMMU_OK);
    struct iommu_counts c;
    iommu_server_counts(f.s, &c);
    CHECK_EQ(c.mappings, 0);
    CHECK_EQ(f.s->clients[0].mem[0].pins, 0);
out:
    fx_fini(&f);
}

static void test_unmap_of_256_pages_is_one_queue_submission(void)
{
    struct fx f;
    uint16_t sids[] = {DEV1};
    uint8_t buf[16];
    CHECK(fx_init(&f, NULL, NULL));
    fx_add_device(&f, DEV1, 0, true);
    fx_client(&f, CLIENT_A, POOL_A, sids, 1);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV1, NULL), IOMMU_OK);
    for (unsigned i = 0; i < 256; i++) {
        CHECK_EQ(fx_map(&f, CLIENT_A, 0x100000 + (uint64_t)i * 0x1000, 0, (uint64_t)i * 0x1000,
                        0x1000, IOMMU_READ),
                 IOMMU_OK);
        CHECK_EQ(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x100000 + (uint64_t)i * 0x1000, buf,
                               sizeof(buf), false),
                 0);
    }
    struct vtd_model_stats a, b;
    vtd_model_get_stats(f.m, &a);
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0x100000, 256 * 0x1000, NULL), IOMMU_OK);
    vtd_model_get_stats(f.m, &b);
    CHECK_EQ(b.tail_writes - a.tail_writes, 1);
    CHECK_EQ(b.waits - a.waits, 1);
    for (unsigned i = 0; i < 256; i += 17) {
        CHECK(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x100000 + (uint64_t)i * 0x1000, buf,
                            sizeof(buf), false) > 0);
    }
out:
    fx_fini(&f);
}

static void test_fault_flood_is_bounded_and_counted(void)
{
    struct fx f;
    uint16_t sids[] = {DEV1};
    uint8_t buf[8];
    CHECK(fx_init(&f, NULL, NULL));
    fx_add_device(&f, DEV1, 0, true);
    fx_client(&f, CLIENT_A, POOL_A, sids, 1);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV1, NULL), IOMMU_OK);
    for (unsigned i = 0; i < 200; i++) {
        CHECK(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x1000000 + (uint64_t)i * 0x1000, buf,
                            sizeof(buf), false) > 0);
        iommu_fault_service(f.s, 0);
    }
    CHECK_EQ(f.notifies, 1); /* coalesced until the client reads */
    struct iommu_msg m;
    struct iommu_reply r;
    uint64_t total = 0, dropped = 0;
    for (int k = 0; k < 100; k++) {
        iommu_encode_fault_read(&m, 100);
        CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_OK);
        CHECK(r.w[0] <= IOMMU_FAULTS_PER_REPLY);
        total += r.w[0];
        dropped += r.w[1];
        if (r.w[0] == 0) {
            break;
        }
    }
    CHECK_EQ(total, IOMMU_FAULT_RING);
    CHECK_EQ(total + dropped, 200);
    /* after reading, the next fault notifies again */
    CHECK(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x2000000, buf, sizeof(buf), false) > 0);
    iommu_fault_service(f.s, 0);
    CHECK_EQ(f.notifies, 2);
out:
    fx_fini(&f);
}

static void test_rmrr_identity_map_is_honoured_and_everything_else_blocked(void)
{
    struct fx f;
    uint16_t sids[] = {DEV1};
    uint8_t buf[32];
    uint64_t h;
    CHECK(fx_init(&f, NULL, NULL));
    CHECK_EQ(iommu_server_add_rmrr(f.s, DEV1, 0x300000, 0x10000), IOMMU_OK);
    fx_add_device(&f, DEV1, 0, true);
    fx_add_device(&f, DEV2, 0, true);
    fx_fill(&f, 0x300000, 0x10000, 3);
    CHECK_EQ(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x304000, buf, sizeof(buf), false), 0);
    CHECK(fx_same(&f, 0x304000, buf, sizeof(buf)));
    CHECK(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x310000, buf, sizeof(buf), false) > 0);
    CHECK(vtd_model_dma(f.m, DEV2, VTD_MODEL_NO_PASID, 0x304000, buf, sizeof(buf), false) > 0);
    fx_client(&f, CLIENT_A, POOL_A, sids, 1);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x308000, 0, 0, 0x1000, IOMMU_READ), IOMMU_OK);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV1, NULL), IOMMU_ERR_OVERLAP);
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0x308000, 0x1000, NULL), IOMMU_OK);
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_attach(&m, DEV1);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_OK);
    h = r.w[0];
    CHECK(r.w[1] & IOMMU_ATTACH_RMRR);
    CHECK_EQ(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x304000, buf, sizeof(buf), false), 0);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x30c000, 0, 0, 0x1000, IOMMU_READ), IOMMU_ERR_OVERLAP);
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0x300000, 0x10000, NULL), IOMMU_ERR_RESERVED);
    CHECK_EQ(fx_detach(&f, CLIENT_A, h, NULL), IOMMU_OK);
    /* back in the identity domain */
    CHECK_EQ(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x304000, buf, sizeof(buf), false), 0);
out:
    fx_fini(&f);
}

static void test_ats_flush_reaches_a_live_device_only(void)
{
    struct fx f;
    uint16_t sids[] = {DEV1, DEV2};
    uint64_t h1, h2;
    struct iommu_msg m;
    struct iommu_reply r;
    CHECK(fx_init(&f, NULL, NULL));
    fx_add_device(&f, DEV1, VTD_MODEL_DEV_ATS, true);
    fx_add_device(&f, DEV2, 0, true);
    fx_client(&f, CLIENT_A, POOL_A, sids, 2);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV1, &h1), IOMMU_OK);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV2, &h2), IOMMU_OK);
    size_t mark = fx_log(&f, NULL, 0);
    iommu_encode_ats_flush(&m, h1, 0x10000, 0x3000);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_OK);
    CHECK_EQ(r.w[0], 0);
    CHECK_EQ(fx_count_desc(&f, mark, 3, DEV1), 1);
    iommu_encode_ats_flush(&m, h1, 0, 0);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_OK);
    CHECK_EQ(fx_count_desc(&f, mark, 3, DEV1), 2);
    iommu_encode_ats_flush(&m, h2, 0, 0);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_NOT_ATS);
out:
    fx_fini(&f);
}

static void test_client_unregister_releases_everything_it_held(void)
{
    struct fx f;
    uint16_t sids[] = {DEV1, DEV2};
    uint8_t buf[16];
    struct iommu_counts c0, c1;
    CHECK(fx_init(&f, NULL, NULL));
    fx_add_device(&f, DEV1, VTD_MODEL_DEV_ATS, true);
    fx_add_device(&f, DEV2, 0, true);
    iommu_server_counts(f.s, &c0);
    size_t pages0 = vtd_model_pages_in_use(f.m);
    fx_client(&f, CLIENT_A, POOL_A, sids, 2);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV1, NULL), IOMMU_OK);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV2, NULL), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x4000, IOMMU_READ), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x40000000, 0, 0x200000, 0x200000, IOMMU_READ), IOMMU_OK);
    CHECK_EQ(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x10000, buf, sizeof(buf), false), 0);
    CHECK_EQ(iommu_client_unregister(f.s, CLIENT_A), IOMMU_OK);
    CHECK(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x10000, buf, sizeof(buf), false) > 0);
    CHECK(vtd_model_dma(f.m, DEV2, VTD_MODEL_NO_PASID, 0x40000000, buf, sizeof(buf), false) > 0);
    iommu_server_counts(f.s, &c1);
    CHECK_EQ(c1.domains, c0.domains);
    CHECK_EQ(c1.mappings, 0);
    CHECK_EQ(c1.pins, 0);
    CHECK_EQ(c1.table_pages, c0.table_pages);
    /* context tables of the two buses stay allocated (blocked entries) */
    CHECK_EQ(vtd_model_pages_in_use(f.m), pages0 + 2);
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_fault_read(&m, 1);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_DENIED);
    CHECK_EQ(iommu_client_unregister(f.s, CLIENT_A), IOMMU_ERR_BAD_ARG);
    /* the devices can be given to somebody else */
    fx_client(&f, CLIENT_B, POOL_B, sids, 2);
    CHECK_EQ(fx_attach(&f, CLIENT_B, DEV1, NULL), IOMMU_OK);
out:
    fx_fini(&f);
}

static void test_caching_mode_map_invalidates_the_new_range(void)
{
    struct fx f;
    uint16_t sids[] = {DEV1};
    uint8_t buf[16];
    /* QEMU's q35 capabilities with caching-mode=on (CAP.CM, bit 7) */
    struct vtd_model_config mc = {.cap = 0x00d2008c22260206ull | (1ull << 7)};
    CHECK(fx_init(&f, &mc, NULL));
    fx_add_device(&f, DEV1, 0, true);
    fx_client(&f, CLIENT_A, POOL_A, sids, 1);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV1, NULL), IOMMU_OK);
    size_t mark = fx_log(&f, NULL, 0);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x2000, IOMMU_READ), IOMMU_OK);
    CHECK_EQ(fx_count_desc(&f, mark, 2, 0xffffffffu), 1); /* not-present entries may be cached */
    CHECK_EQ(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x11000, buf, sizeof(buf), false), 0);
    fx_fini(&f);
    /* without CM a new mapping needs no invalidation */
    CHECK(fx_init(&f, NULL, NULL));
    fx_add_device(&f, DEV1, 0, true);
    fx_client(&f, CLIENT_A, POOL_A, sids, 1);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV1, NULL), IOMMU_OK);
    mark = fx_log(&f, NULL, 0);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x2000, IOMMU_READ), IOMMU_OK);
    CHECK_EQ(fx_log(&f, NULL, 0), mark);
out:
    fx_fini(&f);
}

static void test_out_of_table_pages_is_an_error_that_changes_nothing(void)
{
    struct fx f;
    /* 4 MiB of simulated memory: 2 MiB (512 pages) for the unit's tables */
    struct vtd_model_config mc = {.mem_bytes = 4u << 20};
    CHECK(fx_init(&f, &mc, NULL));
    fx_client(&f, CLIENT_A, POOL_A, NULL, 0);
    struct iommu_counts c0, c1;
    iommu_server_counts(f.s, &c0);
    size_t pages0 = vtd_model_pages_in_use(f.m);
    unsigned i = 0;
    uint64_t e = IOMMU_OK;
    for (; i < 512 && e == IOMMU_OK; i++) {
        /* a new 1 GiB region each time: two new tables per map */
        uint64_t fp = iommu_server_fingerprint(f.s);
        size_t pages = vtd_model_pages_in_use(f.m);
        e = fx_map(&f, CLIENT_A, (uint64_t)i << 30, 0, 0, 0x1000, IOMMU_READ);
        if (e != IOMMU_OK) {
            CHECK_EQ(e, IOMMU_ERR_NO_MEMORY);
            CHECK_EQ(iommu_server_fingerprint(f.s), fp);
            CHECK_EQ(vtd_model_pages_in_use(f.m), pages);
        }
    }
    CHECK(e == IOMMU_ERR_NO_MEMORY && i > 100);
    /* everything comes back */
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0, 1ull << 39, NULL), IOMMU_OK);
    iommu_server_counts(f.s, &c1);
    CHECK_EQ(c1.table_pages, c0.table_pages);
    CHECK_EQ(c1.pins, 0);
    CHECK_EQ(vtd_model_pages_in_use(f.m), pages0);
out:
    fx_fini(&f);
}

static void test_one_client_cannot_take_more_than_its_table_page_quota(void)
{
    struct fx f;
    CHECK(fx_init(&f, NULL, NULL));
    fx_client(&f, CLIENT_A, POOL_A, NULL, 0);
    fx_client(&f, CLIENT_B, POOL_B, NULL, 0);
    uint64_t e = IOMMU_OK;
    unsigned i = 0;
    for (; i < IOMMU_MAPS_PER_DOMAIN && e == IOMMU_OK; i++) {
        /* 8 KiB across a 2 MiB boundary: two leaf tables per mapping */
        e = fx_map(&f, CLIENT_A, ((uint64_t)i << 22) + 0x200000 - 0x1000, 0, 0, 0x2000, IOMMU_READ);
    }
    CHECK_EQ(e, IOMMU_ERR_NO_MEMORY);
    CHECK(f.s->domains[f.s->clients[0].domain].vd.table_pages >= IOMMU_TABLE_PAGES_QUOTA);
    /* the other client is unaffected */
    CHECK_EQ(fx_map(&f, CLIENT_B, 0x10000, 0, 0, 0x1000, IOMMU_READ), IOMMU_OK);
out:
    fx_fini(&f);
}

/* map_pool: the four-word form of a grant map moves the same bytes, keeps the grant's rights and
 * bounds, never takes a capability, and unmaps like any map. */
static void test_map_pool_moves_the_right_bytes_within_grant_bounds_and_rights(void)
{
    struct fx f;
    uint16_t sids[] = {DEV1};
    uint8_t buf[0x1000];
    struct iommu_msg m;
    struct iommu_reply r;
    CHECK(fx_init(&f, NULL, NULL));
    fx_add_device(&f, DEV1, 0, true);
    fx_client(&f, CLIENT_A, POOL_A, sids, 1);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV1, NULL), IOMMU_OK);
    iommu_encode_map_pool(&m, 0x20000, IOMMU_POOL_MEMORY(0, IOMMU_READ), 0x2000, 0x1000);
    CHECK_EQ(m.len, 4u); /* what the kernel's register-only fastpath carries */
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_OK);
    fx_fill(&f, POOL_A + 0x2000, 0x1000, 7);
    CHECK_EQ(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x20000, buf, sizeof(buf), false), 0);
    CHECK(fx_same(&f, POOL_A + 0x2000, buf, sizeof(buf)));
    /* read-only: the device's write faults */
    CHECK(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x20000, buf, sizeof(buf), true) != 0);
    /* declared errors, nothing mapped */
    iommu_encode_map_pool(&m, 0x30000, IOMMU_POOL_MEMORY(0, 4u), 0, 0x1000);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_RIGHTS);
    iommu_encode_map_pool(&m, 0x30000, IOMMU_POOL_MEMORY(1, IOMMU_READ), 0, 0x1000);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_BAD_MEMORY);
    iommu_encode_map_pool(&m, 0x30000, IOMMU_POOL_MEMORY(IOMMU_MEM_CAP, IOMMU_READ), 0, 0x1000);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_BAD_MEMORY);
    iommu_encode_map_pool(&m, 0x30000, IOMMU_POOL_MEMORY(0, IOMMU_READ), POOL_SIZE, 0x1000);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_RANGE);
    iommu_encode_map_pool(&m, 0x20000, IOMMU_POOL_MEMORY(0, IOMMU_READ), 0, 0x1000);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_OVERLAP);
    iommu_encode_map_pool(&m, 0x30000, IOMMU_POOL_MEMORY(0, IOMMU_READ), 0, 0x1000);
    m.ncaps = 1; /* a capability with it: the method takes none */
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_BAD_MSG);
    CHECK_EQ(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x30000, buf, sizeof(buf), false) != 0,
             1);
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0x20000, 0x1000, NULL), IOMMU_OK);
    CHECK(vtd_model_dma(f.m, DEV1, VTD_MODEL_NO_PASID, 0x20000, buf, sizeof(buf), false) != 0);
out:
    fx_fini(&f);
}

int main(void)
{
    RUN(test_map_then_dma_moves_the_right_bytes);
    RUN(test_map_pool_moves_the_right_bytes_within_grant_bounds_and_rights);
    RUN(test_unmap_then_dma_faults_and_fault_reaches_owner);
    RUN(test_unmap_flushes_the_device_tlb_of_an_ats_device);
    RUN(test_unattached_device_cannot_dma);
    RUN(test_client_cannot_map_memory_it_does_not_hold);
    RUN(test_client_cannot_touch_other_clients_device_or_iovas);
    RUN(test_map_checks_alignment_overlap_and_range);
    RUN(test_mapping_table_full_is_an_error_not_a_crash);
    RUN(test_unmap_of_256_pages_is_one_queue_submission);
    RUN(test_fault_flood_is_bounded_and_counted);
    RUN(test_rmrr_identity_map_is_honoured_and_everything_else_blocked);
    RUN(test_ats_flush_reaches_a_live_device_only);
    RUN(test_client_unregister_releases_everything_it_held);
    RUN(test_caching_mode_map_invalidates_the_new_range);
    RUN(test_out_of_table_pages_is_an_error_that_changes_nothing);
    RUN(test_one_client_cannot_take_more_than_its_table_page_quota);
    return fx_report();
}
