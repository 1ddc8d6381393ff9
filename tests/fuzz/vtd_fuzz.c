/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for libvtd's decoders and builders: fault records, page request
 * descriptors, CAP/ECAP decoding, then batch building and submission against a fake unit that
 * executes the queue, and map/unmap sequences checked against a shadow of what should be
 * mapped. Invariants that must hold for any input: decoded fields in range, no device-TLB
 * descriptor for a fenced source-id ever reaches the queue, every submission completes, the
 * page tables translate exactly what was mapped, and no table page leaks.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vtd/vtd.h>

#define POOL 64
#define BASE 0x200000ull

struct fake {
    uint32_t regs[0x400];
    uint8_t *mem; /* POOL pages */
    bool used[POOL];
    unsigned in_use;
    uint64_t now;
    uint16_t fenced_sid;
};

static struct fake F;

static void *p2v(void *c, uint64_t pa)
{
    (void)c;
    if (pa < BASE || pa >= BASE + POOL * 4096ull) {
        abort(); /* libvtd followed a pointer it never allocated */
    }
    return F.mem + (pa - BASE);
}
static uint32_t rd32(void *c, uint32_t off)
{
    (void)c;
    return F.regs[(off & 0xffc) / 4];
}
static uint64_t rd64(void *c, uint32_t off)
{
    return rd32(c, off) | (uint64_t)rd32(c, off + 4) << 32;
}
static void wr32(void *c, uint32_t off, uint32_t v)
{
    (void)c;
    if (off == VTD_GCMD_REG) {
        F.regs[VTD_GSTS_REG / 4] = v & ~(uint32_t)VTD_GCMD_WBF;
        return;
    }
    F.regs[(off & 0xffc) / 4] = v;
}
/* The queue: execute descriptors from IQH to the new tail at once. */
static void run_queue(uint64_t tail)
{
    uint64_t iqa = rd64(NULL, VTD_IQA_REG);
    unsigned shift = (iqa & VTD_IQA_DW) ? 5 : 4;
    uint32_t entries = (uint32_t)((4096ull << (iqa & 7)) >> shift);
    uint32_t h = (uint32_t)((rd64(NULL, VTD_IQH_REG) & VTD_IQ_QH_MASK) >> shift);
    uint32_t t = (uint32_t)((tail & VTD_IQ_QH_MASK) >> shift);
    uint8_t *q = p2v(NULL, iqa & VTD_IQA_ADDR_MASK);
    for (; h != t; h = (h + 1) % entries) {
        const uint64_t *d = (const uint64_t *)(q + ((size_t)h << shift));
        unsigned type = VTD_DESC_TYPE_GET(d[0]);
        if (type == 0 || type > 9) {
            abort();
        }
        if (type == VTD_DESC_DEVTLB && VTD_DESC_DEVTLB_SID_GET(d[0]) == F.fenced_sid) {
            abort(); /* fence violated */
        }
        if (type == VTD_DESC_PDEVTLB && VTD_DESC_PDEVTLB_SID_GET(d[0]) == F.fenced_sid) {
            abort();
        }
        if (type == VTD_DESC_IEC && (d[0] & VTD_DESC_IEC_G_INDEX) &&
            (VTD_DESC_IEC_IM_GET(d[0]) > 16 ||
             (VTD_DESC_IEC_IIDX_GET(d[0]) & ((1u << VTD_DESC_IEC_IM_GET(d[0])) - 1)))) {
            abort(); /* index-selective IEC: mask too wide or index not aligned to it */
        }
        if (type == VTD_DESC_WAIT) {
            bool sw = d[0] & VTD_DESC_WAIT_SW, in = d[0] & VTD_DESC_WAIT_IF;
            if (sw == in) {
                abort(); /* exactly one of SW / IF */
            }
            if (sw) {
                *(uint32_t *)p2v(NULL, d[1] & ~3ull) = (uint32_t)(d[0] >> 32);
            }
        }
    }
    F.regs[VTD_IQH_REG / 4] = (uint32_t)((uint64_t)h << shift);
}
static void wr64(void *c, uint32_t off, uint64_t v)
{
    if (off == VTD_IQT_REG && (F.regs[VTD_GSTS_REG / 4] & VTD_GSTS_QIES)) {
        run_queue(v);
    }
    if (off == VTD_CCMD_REG) {
        v &= ~VTD_CCMD_ICC;
    }
    if (off == (uint32_t)VTD_ECAP_IRO(rd64(c, VTD_ECAP_REG)) * 16 + VTD_IOTLB_OFF) {
        v &= ~VTD_IOTLB_IVT;
    }
    wr32(c, off, (uint32_t)v);
    wr32(c, off + 4, (uint32_t)(v >> 32));
}
static void *alloc(void *c, uint64_t *pa)
{
    (void)c;
    for (unsigned i = 0; i < POOL; i++) {
        if (!F.used[i]) {
            F.used[i] = true;
            F.in_use++;
            memset(F.mem + i * 4096, 0, 4096);
            *pa = BASE + i * 4096ull;
            return F.mem + i * 4096;
        }
    }
    return NULL;
}
static void release(void *c, void *va, uint64_t pa)
{
    (void)c;
    unsigned i = (unsigned)((pa - BASE) / 4096);
    if (i >= POOL || !F.used[i] || va != F.mem + i * 4096) {
        abort(); /* double or foreign free */
    }
    F.used[i] = false;
    F.in_use--;
}
static void flush(void *c, const void *va, size_t len)
{
    (void)c;
    (void)va;
    (void)len;
}
static uint64_t now(void *c)
{
    (void)c;
    return F.now;
}
static void relax(void *c)
{
    (void)c;
    F.now += 1000;
}

static const struct vtd_hw HW = {NULL,    rd32, rd64,  wr32, wr64, alloc,
                                 release, p2v,  flush, now,  relax};

struct input {
    const uint8_t *p;
    size_t n;
};
static uint64_t take(struct input *in, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes && in->n; i++, in->n--) {
        v |= (uint64_t)*in->p++ << (8 * i);
    }
    return v;
}

static void decoders(struct input *in)
{
    uint64_t lo = take(in, 8), hi = take(in, 8);
    struct vtd_fault f;
    if (vtd_fault_decode(lo, hi, &f) != !!(hi & VTD_FRCD_HI_F)) {
        abort();
    }
    if ((hi & VTD_FRCD_HI_F) && (f.addr & 0xfff || (f.pasid_present && f.pasid > 0xfffff) ||
                                 !vtd_fault_reason_name(f.reason))) {
        abort();
    }
    /* interrupt-remapping faults carry the interrupt index, never a page address */
    if ((hi & VTD_FRCD_HI_F) &&
        (f.ir != (f.reason >= 0x20 && f.reason <= 0x26) ||
         (f.ir && (f.addr || f.ir_index != (uint16_t)(lo >> 48))) || (!f.ir && f.ir_index))) {
        abort();
    }
    /* IRTE decode: fields in range, and what encode accepts decodes back to itself */
    struct vtd_irte ie = {take(in, 8), take(in, 8)};
    bool x2 = take(in, 1) & 1;
    struct vtd_irte_spec sp;
    if (vtd_irte_decode(&ie, x2, &sp)) {
        if (!(ie.lo & VTD_IRTE_P) || (ie.lo & VTD_IRTE_IM) || (!x2 && sp.dest > 0xff) ||
            sp.svt > 3 || sp.sq > 3 || sp.delivery > 7) {
            abort();
        }
        struct vtd_irte e2;
        struct vtd_irte_spec sp2;
        if (vtd_irte_encode(&sp, x2, &e2) == VTD_OK) {
            if (!vtd_irte_decode(&e2, x2, &sp2) || sp2.vector != sp.vector || sp2.dest != sp.dest ||
                sp2.level != sp.level || sp2.logical != sp.logical || sp2.delivery != sp.delivery ||
                sp2.svt != sp.svt || (sp.svt != VTD_IRTE_SVT_NONE && sp2.sid != sp.sid) ||
                (sp.svt == VTD_IRTE_SVT_SID && sp2.sq != sp.sq)) {
                abort();
            }
        } else if (sp.vector >= 16 && sp.svt < 3 && sp.delivery < 2 &&
                   !(sp.svt == VTD_IRTE_SVT_BUS && (sp.sid >> 8) > (sp.sid & 0xff))) {
            abort(); /* a decodable, valid entry must re-encode */
        }
    }
    uint64_t qw[4] = {take(in, 8), take(in, 8), take(in, 8), take(in, 8)};
    struct vtd_page_req r;
    if (vtd_page_req_decode(qw, &r) &&
        (r.prgi > 0x1ff || r.addr & 0xfff || (r.pasid_present && r.pasid > 0xfffff))) {
        abort();
    }
    /* device-TLB size encoding covers the requested block */
    uint64_t addr = take(in, 8) & VTD_MASK(62, 12);
    unsigned order = (unsigned)take(in, 1) % 53;
    uint64_t s;
    uint64_t enc = vtd_devtlb_addr(addr, order, &s);
    if (order && s) {
        unsigned ones = (unsigned)__builtin_ctzll(~(enc >> 12));
        if (ones + 1 != order && order < 52) {
            abort();
        }
    }
    const char *name = vtd_strerror((enum vtd_err)take(in, 1));
    if (!name) {
        abort();
    }
}

/* Shadow of the mappings: one entry per 4 KiB page of a 64 MiB window. */
#define WIN_PAGES 16384u
static uint32_t shadow[WIN_PAGES]; /* pa >> 12, 0 = unmapped */

static void tables(struct vtd_unit *u, struct input *in)
{
    struct vtd_domain d;
    if (vtd_domain_init(&d, u, 1, 0) != VTD_OK) {
        return;
    }
    memset(shadow, 0, sizeof(shadow));
    static struct vtd_batch b;
    vtd_batch_init(&b, u);
    for (unsigned step = 0; step < 24 && in->n; step++) {
        unsigned op = (unsigned)take(in, 1);
        uint64_t page = take(in, 2) % WIN_PAGES;
        uint64_t pages = 1 + take(in, 2) % 1024;
        if (op & 0x80) {
            /* aligned to 2 MiB to reach superpages sometimes */
            page &= ~511ull;
            pages = 512;
        }
        if (page + pages > WIN_PAGES) {
            pages = WIN_PAGES - page;
        }
        uint64_t iova = page << 12, size = pages << 12;
        if (op & 1) {
            uint64_t pa = ((op & 0x80) ? 0x40000000ull : (0x10000000ull + (take(in, 1) << 12)));
            enum vtd_err e =
                vtd_domain_map(&d, iova, pa, size, VTD_R | ((op >> 1) & 1 ? VTD_W : 0));
            bool free_range = true;
            for (uint64_t i = 0; i < pages; i++) {
                free_range &= shadow[page + i] == 0;
            }
            if (e == VTD_OK) {
                if (!free_range) {
                    abort(); /* overlap accepted */
                }
                for (uint64_t i = 0; i < pages; i++) {
                    shadow[page + i] = (uint32_t)((pa >> 12) + i);
                }
            } else if (e == VTD_ERR_OVERLAP && free_range) {
                abort();
            } else if (e != VTD_ERR_OVERLAP && e != VTD_ERR_NOMEM) {
                abort();
            }
        } else {
            struct vtd_unmap_result res;
            enum vtd_err e = vtd_domain_unmap(&d, iova, size, &res);
            if (e == VTD_OK) {
                uint64_t mapped = 0;
                for (uint64_t i = 0; i < pages; i++) {
                    mapped += shadow[page + i] != 0;
                    shadow[page + i] = 0;
                }
                if (res.unmapped != mapped << 12) {
                    abort();
                }
                if (res.unmapped && !(res.inv_start <= iova && res.inv_end > iova)) {
                    /* the invalidation range must cover what was unmapped */
                    bool covered = false;
                    for (uint64_t i = 0; i < pages && !covered; i++) {
                        covered = res.inv_start <= iova + (i << 12);
                    }
                    if (!covered) {
                        abort();
                    }
                }
                if (vtd_batch_add_unmap(&b, &d, &res) == VTD_ERR_FULL || b.n == VTD_BATCH_OPS) {
                    if (vtd_batch_submit(&b, 0) != VTD_OK) {
                        abort();
                    }
                    vtd_batch_init(&b, u);
                }
                vtd_page_list_release(u, &res.freed);
            } else if (e != VTD_ERR_SPLIT) {
                abort();
            }
        }
        /* spot-check translations against the shadow */
        for (unsigned k = 0; k < 8; k++) {
            uint64_t p = (page + k * 97) % WIN_PAGES;
            uint64_t pa;
            unsigned rights;
            enum vtd_err e = vtd_domain_lookup(&d, p << 12, &pa, &rights);
            if ((e == VTD_OK) != (shadow[p] != 0) || (e == VTD_OK && pa >> 12 != shadow[p])) {
                abort();
            }
        }
    }
    if (b.n && vtd_batch_submit(&b, 0) != VTD_OK) {
        abort();
    }
    vtd_domain_destroy(&d);
}

static void batches(struct vtd_unit *u, struct input *in)
{
    static struct vtd_batch b;
    vtd_batch_init(&b, u);
    F.fenced_sid = (uint16_t)take(in, 2);
    vtd_unit_fence(u, F.fenced_sid);
    for (unsigned i = 0; i < 96 && in->n; i++) {
        unsigned op = (unsigned)take(in, 1) % 11;
        uint16_t id = (uint16_t)take(in, 2);
        uint64_t iova = take(in, 6) << 12;
        uint64_t size = take(in, 3) << 12;
        uint32_t pasid = (uint32_t)take(in, 3);
        switch (op) {
        case 0:
            vtd_batch_add_iotlb_range(&b, id, iova, size, op & 1);
            break;
        case 1:
            vtd_batch_add_iotlb_domain(&b, id);
            break;
        case 2:
            vtd_batch_add_devtlb(&b, id, id & 63, iova, size);
            break;
        case 3:
            vtd_batch_add_cc_device(&b, id, (uint16_t)pasid);
            break;
        case 4:
            vtd_batch_add_piotlb(&b, id, pasid, iova, size);
            break;
        case 5:
            vtd_batch_add_pdevtlb(&b, id, pasid, id & 63, iova, size);
            break;
        case 6:
            vtd_batch_add_pasid_cache(&b, id, pasid);
            break;
        case 7:
            vtd_batch_add_page_response(&b, id, pasid, (uint16_t)iova, id & 31);
            break;
        case 8:
            vtd_batch_add_devtlb(&b, F.fenced_sid, 1, iova, size);
            break;
        case 9:
            vtd_batch_add_iec_index(&b, id, pasid % 18);
            break;
        default:
            vtd_batch_add_iotlb_global(&b);
            break;
        }
        if (b.n > VTD_BATCH_OPS) {
            abort();
        }
    }
    if (vtd_batch_submit(&b, 0) != VTD_OK) {
        abort();
    }
    vtd_unit_unfence(u, F.fenced_sid);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size};
    if (!F.mem) {
        F.mem = aligned_alloc(4096, POOL * 4096);
    }
    decoders(&in);
    uint64_t cap = take(&in, 8), ecap = take(&in, 8);
    struct vtd_features feat;
    if (vtd_features_decode(cap, ecap, &feat) == VTD_OK) {
        if (feat.nfr == 0 || feat.nfr > 256 || feat.max_levels < 3 || feat.max_levels > 4) {
            abort();
        }
    }
    /* A unit shaped by the input, but with the features the engine needs to run. */
    cap = (cap & ~(VTD_MASK(33, 24) | VTD_MASK(21, 16) | VTD_MASK(12, 8))) | (0x22ull << 24) |
          (38ull << 16) | (VTD_SAGAW_39 << 8);
    ecap = (ecap & ~VTD_MASK(17, 8)) | (0x0full << 8) | VTD_ECAP_QI | VTD_ECAP_DT;
    memset(F.regs, 0, sizeof(F.regs));
    memset(F.used, 0, sizeof(F.used));
    F.in_use = 0;
    F.regs[VTD_CAP_REG / 4] = (uint32_t)cap;
    F.regs[VTD_CAP_REG / 4 + 1] = (uint32_t)(cap >> 32);
    F.regs[VTD_ECAP_REG / 4] = (uint32_t)ecap;
    F.regs[VTD_ECAP_REG / 4 + 1] = (uint32_t)(ecap >> 32);
    static struct vtd_unit u;
    struct vtd_unit_config c = {.mode = (ecap & VTD_ECAP_SMTS) && (ecap & VTD_ECAP_SLTS)
                                            ? VTD_MODE_SCALABLE
                                            : VTD_MODE_LEGACY,
                                .no_sw_bits = take(&in, 1) & 1};
    if (vtd_unit_probe(&u, &HW, &c) != VTD_OK || vtd_unit_set_root_table(&u) != VTD_OK ||
        vtd_unit_enable_qi(&u) != VTD_OK) {
        abort();
    }
    batches(&u, &in);
    tables(&u, &in);
    if (vtd_unit_disable_qi(&u) != VTD_OK || vtd_unit_destroy(&u) != VTD_OK || F.in_use != 0) {
        abort(); /* leak */
    }
    return 0;
}
