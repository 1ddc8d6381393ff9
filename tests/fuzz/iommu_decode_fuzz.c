/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzzes iommu_decode_client / iommu_decode_hotplug. A server is set up once on the VT-d model
 * (two clients, an ATS device, mappings, a reserved range); every input is a sequence of
 * messages, each decoded against it. Decoding must not change the server or the hardware
 * (descriptor count), and any error must be one the protocol table declares for the method.
 * Accepted requests are not performed, so every input sees the same server.
 *
 * "Does not change the server" is enforced per message by the MMU, not by hashing: the server
 * lives in its own pages, which are made read-only once set up, so any store into it while
 * decoding faults at the instruction that makes it (a crash with its stack). That covers every
 * byte of the object, more than the fingerprint does. The fingerprint is still compared with
 * the one taken after set-up at the end of every input, for state the server might keep
 * elsewhere in a later version. Hashing the whole server after every message (64 devices, 16
 * clients, 20 domains with their mapping lists) used to be ~90% of the run time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <iommu/server.h>
#include <vtd_model.h>

#include "fuzz_take.h"

#define DEV1 0x0100
#define DEV2 0x0200
#define A 0xa1
#define B 0xb2
#define HP 0x4850

static struct iommu_server *srv;
static struct vtd_model *model;
static uint64_t handle1;
static uint64_t fp_setup; /* fingerprint of the server once set up */
static size_t srv_bytes;

static void setup(void)
{
    model = vtd_model_create(&(struct vtd_model_config){0});
    srv_bytes = (sizeof(*srv) + 4095) & ~(size_t)4095;
    void *p = mmap(NULL, srv_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!model || p == MAP_FAILED) {
        abort();
    }
    srv = p;
    vtd_model_add_device(model, DEV1, VTD_MODEL_DEV_ATS);
    vtd_model_add_device(model, DEV2, 0);
    iommu_server_init(srv, &(struct iommu_env){0}, HP);
    struct vtd_unit_config uc = {.no_sw_bits = true};
    if (iommu_server_add_unit(srv, vtd_model_hw(model), &uc, true, NULL) != IOMMU_OK ||
        iommu_server_add_rmrr(srv, DEV2, 0x300000, 0x4000) != IOMMU_OK ||
        iommu_server_add_device(srv, DEV1) != IOMMU_OK ||
        iommu_server_add_device(srv, DEV2) != IOMMU_OK ||
        iommu_client_register(srv, A, 0) != IOMMU_OK ||
        iommu_client_register(srv, B, 0) != IOMMU_OK ||
        iommu_client_grant_memory(srv, A, 0x200000, 0x400000, 3, NULL) != IOMMU_OK ||
        iommu_client_grant_memory(srv, B, 0x800000, 0x400000, 1, NULL) != IOMMU_OK ||
        iommu_client_grant_device(srv, A, DEV1) != IOMMU_OK ||
        iommu_client_grant_device(srv, B, DEV2) != IOMMU_OK) {
        abort();
    }
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_attach(&m, DEV1);
    m.badge = A;
    iommu_handle_client(srv, &m, &r);
    handle1 = r.w[0];
    iommu_encode_map(&m, 0x10000, 0, 0, 0x4000, 3);
    m.badge = A;
    iommu_handle_client(srv, &m, &r);
    iommu_encode_map(&m, 0x40000000, 0, 0x200000, 0x200000, 3);
    m.badge = A;
    iommu_handle_client(srv, &m, &r);
    if (r.err != IOMMU_OK) {
        abort();
    }
    fp_setup = iommu_server_fingerprint(srv);
    if (mprotect(srv, srv_bytes, PROT_READ) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv) {
        setup();
    }
    static const uint64_t badges[] = {A, B, HP, 0, 0x777, A, A, HP};
    static const uint64_t words[] = {
        0,          0x1000,     0x10000, 0x4000, 0x200000, 0x40000000, IOMMU_MEM_CAP,
        UINT64_MAX, 1ull << 48, DEV1,    DEV2,   1,        2,          3};
    struct vtd_model_stats st0, st1;
    vtd_model_get_stats(model, &st0);
    while (size > 2) {
        struct iommu_msg m;
        uint8_t sel = (uint8_t)take(&data, &size, 1);
        iommu_msg_init(&m, take(&data, &size, 1) % 72);
        m.badge = badges[sel & 7];
        bool hp = sel & 8;
        m.len = (sel >> 4) & 7;
        for (unsigned w = 0; w < m.len; w++) {
            uint8_t k = (uint8_t)take(&data, &size, 1);
            if (k < 0x80) {
                m.w[w] = words[k % (sizeof(words) / sizeof(words[0]))];
            } else if (k < 0xa0) {
                m.w[w] = handle1 + ((uint64_t)(k & 3) << 16);
            } else {
                m.w[w] = take(&data, &size, 8);
            }
        }
        if (sel & 0x80) {
            m.ncaps = 1;
            m.cap[0].kind = (uint32_t)take(&data, &size, 1) % 3;
            m.cap[0].rights = (uint32_t)take(&data, &size, 1);
            m.cap[0].pa = take(&data, &size, 8);
            m.cap[0].size = take(&data, &size, 8);
        }
        struct iommu_request req;
        unsigned err = hp ? (unsigned)iommu_decode_hotplug(srv, &m, &req)
                          : (unsigned)iommu_decode_client(srv, &m, &req);
        const struct iommu_method_info *mi = iommu_method_find(m.label);
        if (err != 0 && mi && mi->proto == (hp ? IOMMU_PROTO_HOTPLUG : IOMMU_PROTO_CLIENT) &&
            err != IOMMU_ERR_BAD_LABEL && !(mi->errors & (1ull << err))) {
            fprintf(stderr, "undeclared error %u from %s\n", err, mi->name);
            abort();
        }
    }
    if (iommu_server_fingerprint(srv) != fp_setup) {
        fprintf(stderr, "decode changed the server state\n");
        abort();
    }
    vtd_model_get_stats(model, &st1);
    if (st1.descriptors != st0.descriptors || st1.tail_writes != st0.tail_writes) {
        fprintf(stderr, "decode touched the hardware\n");
        abort();
    }
    return 0;
}
