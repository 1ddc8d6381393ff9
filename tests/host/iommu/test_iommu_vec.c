/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * map_vec against the VT-d model: a scatter list of pool ranges mapped by one message with one
 * queue submission (caching mode), every range reachable by DMA afterwards and unmapped strictly
 * by one request; an aligned 2 MiB range becomes a superpage; a list with any bad range is
 * refused whole and changes nothing.
 */
#include "fixture.h"

#define DEV 0x0100
#define RW (IOMMU_READ | IOMMU_WRITE)
#define CAP_CM (0x00d2008c22260206ull | (1ull << 7)) /* QEMU q35 with caching-mode=on */

static uint64_t map_vec(struct fx *f, const uint64_t *ranges, unsigned n, uint64_t *mapped)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_map_vec_list(&m, ranges, n);
    uint64_t e = fx_call(f, CLIENT_A, &m, &r);
    struct iommu_map_vec_rets out;
    iommu_reply_map_vec(&r, &out);
    if (mapped) {
        *mapped = out.mapped;
    }
    return e;
}

static uint64_t tail_writes(struct fx *f)
{
    struct vtd_model_stats st;
    vtd_model_get_stats(f->m, &st);
    return st.tail_writes;
}

static bool setup(struct fx *f, const struct vtd_model_config *mc)
{
    uint16_t sids[] = {DEV};
    uint64_t h;
    if (!fx_init(f, mc, NULL)) {
        return false;
    }
    fx_add_device(f, DEV, 0, true);
    fx_client(f, CLIENT_A, POOL_A, sids, 1);
    return fx_attach(f, CLIENT_A, DEV, &h) == IOMMU_OK;
}

static void test_scatter_list_of_64_pages_is_one_submission_and_every_page_works(void)
{
    struct fx f;
    struct vtd_model_config mc = {.cap = CAP_CM};
    uint64_t ranges[64], mapped = 0, status = 0;
    CHECK(setup(&f, &mc));
    /* 64 pages at IOVAs 8 KiB apart, from pool pages in reverse order (a real scatter list) */
    for (unsigned i = 0; i < 64; i++) {
        ranges[i] = IOMMU_VEC_RANGE(0x100000 + i * 0x2000ull, 0, RW, (63 - i) * 0x1000ull, 4096);
    }
    uint64_t t0 = tail_writes(&f);
    CHECK_EQ(map_vec(&f, ranges, 64, &mapped), IOMMU_OK);
    CHECK_EQ(mapped, 64 * 4096);
    CHECK_EQ(tail_writes(&f) - t0, 1); /* one queue submission for the whole list */
    for (unsigned i = 0; i < 64; i++) {
        fx_fill(&f, POOL_A + (63 - i) * 0x1000ull, 64, i);
        uint8_t buf[64];
        CHECK_EQ(
            vtd_model_dma(f.m, DEV, VTD_MODEL_NO_PASID, 0x100000 + i * 0x2000ull, buf, 64, false),
            0);
        CHECK(fx_same(&f, POOL_A + (63 - i) * 0x1000ull, buf, 64));
        /* the holes between the pages stay unmapped */
        CHECK(vtd_model_dma(f.m, DEV, VTD_MODEL_NO_PASID, 0x101000 + i * 0x2000ull, buf, 4, false) >
              0);
    }
    CHECK_EQ(f.s->clients[0].mem[0].pins, 64);
    t0 = tail_writes(&f);
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0x100000, 64 * 0x2000, &status), IOMMU_OK);
    CHECK_EQ(tail_writes(&f) - t0, 1);
    CHECK_EQ(f.s->clients[0].mem[0].pins, 0);
    uint8_t b;
    CHECK(vtd_model_dma(f.m, DEV, VTD_MODEL_NO_PASID, 0x100000, &b, 1, false) > 0);
out:
    fx_fini(&f);
}

static void test_aligned_2m_range_becomes_a_superpage(void)
{
    struct fx f;
    uint64_t r2m = IOMMU_VEC_RANGE(0x40000000ull, 0, RW, 0, 2ull << 20), mapped = 0, st = 0;
    uint64_t r4k = IOMMU_VEC_RANGE(0x80000000ull, 0, RW, 0x200000, 4096);
    CHECK(setup(&f, NULL));
    CHECK_EQ(POOL_A & ((2u << 20) - 1), 0); /* the grant's memory is 2 MiB aligned */
    const struct iommu_domain *d = &f.s->domains[f.s->clients[0].domain];
    uint64_t pages = d->vd.table_pages;
    CHECK_EQ(map_vec(&f, &r2m, 1, &mapped), IOMMU_OK);
    CHECK_EQ(mapped, 2u << 20);
    uint64_t after_2m = d->vd.table_pages;
    /* a 4 KiB range in a fresh 1 GiB region needs one table more than the 2 MiB one did: the
     * 2 MiB one had no leaf table */
    CHECK_EQ(map_vec(&f, &r4k, 1, &mapped), IOMMU_OK);
    CHECK_EQ(d->vd.table_pages - after_2m, after_2m - pages + 1);
    uint8_t buf[16];
    fx_fill(&f, POOL_A + 0x1ff000, 16, 7);
    CHECK_EQ(vtd_model_dma(f.m, DEV, VTD_MODEL_NO_PASID, 0x401ff000ull, buf, 16, false), 0);
    CHECK(fx_same(&f, POOL_A + 0x1ff000, buf, 16));
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0x40000000ull, 2u << 20, &st), IOMMU_OK);
out:
    fx_fini(&f);
}

static void test_a_list_with_any_bad_range_is_refused_whole(void)
{
    struct fx f;
    CHECK(setup(&f, NULL));
    unsigned ro = 0;
    CHECK_EQ(iommu_client_grant_memory(f.s, CLIENT_A, POOL_B, 0x10000, IOMMU_READ, &ro), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x300000, 0, 0x100000, 0x1000, RW), IOMMU_OK);
    uint64_t fp = iommu_server_fingerprint(f.s);
    uint64_t ok1 = IOMMU_VEC_RANGE(0x100000, 0, RW, 0, 4096);
    uint64_t ok2 = IOMMU_VEC_RANGE(0x200000, 0, RW, 0x1000, 4096);
    struct {
        uint64_t last;
        uint64_t err;
    } bad[] = {
        {IOMMU_VEC_RANGE(0x080000, 0, RW, 0x2000, 4096), IOMMU_ERR_BAD_ARG}, /* descending */
        {IOMMU_VEC_RANGE(0x200000, 0, RW, 0x2000, 4096), IOMMU_ERR_BAD_ARG}, /* overlaps ok2 */
        {IOMMU_VEC_RANGE(0x300000, 0, RW, 0x2000, 4096), IOMMU_ERR_OVERLAP}, /* a mapping */
        {IOMMU_VEC_RANGE(0x400000, 0, 0, 0x2000, 4096), IOMMU_ERR_RIGHTS},   /* no rights */
        {IOMMU_VEC_RANGE(0x400000, ro, RW, 0, 4096), IOMMU_ERR_RIGHTS},      /* beyond grant */
        {IOMMU_VEC_RANGE(0x400000, 5, IOMMU_READ, 0, 4096), IOMMU_ERR_BAD_MEMORY},    /* no grant */
        {IOMMU_VEC_RANGE(0x400000, ro, IOMMU_READ, 0xf000, 0x2000), IOMMU_ERR_RANGE}, /* past */
        {IOMMU_VEC_RANGE(0xfffffffff000ull, 0, RW, 0, 4096), IOMMU_ERR_RANGE}, /* past domain */
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t list[3] = {ok1, ok2, bad[i].last};
        CHECK_EQ(map_vec(&f, list, 3, NULL), bad[i].err);
        CHECK_EQ(iommu_server_fingerprint(f.s), fp);
    }
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_map_vec_list(&m, &ok1, 1);
    m.len = 0;
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_BAD_MSG);
    m.len = 1;
    m.ncaps = 1;
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_BAD_MSG);
    CHECK_EQ(iommu_server_fingerprint(f.s), fp);
    /* the good part alone is fine */
    uint64_t list[2] = {ok1, ok2};
    CHECK_EQ(map_vec(&f, list, 2, NULL), IOMMU_OK);
out:
    fx_fini(&f);
}

static void test_map_vec_beyond_the_mapping_table_is_refused(void)
{
    struct fx f;
    uint64_t ranges[64];
    CHECK(setup(&f, NULL));
    unsigned done = 0;
    uint64_t e = IOMMU_OK;
    /* 64 pages a request until the domain's table is full */
    for (unsigned k = 0; e == IOMMU_OK && k < IOMMU_MAPS_PER_DOMAIN / 64 + 1; k++) {
        for (unsigned i = 0; i < 64; i++) {
            ranges[i] = IOMMU_VEC_RANGE(0x10000000ull + (k * 64 + i) * 0x2000ull, 0, RW,
                                        (i % 16) * 0x1000ull, 4096);
        }
        e = map_vec(&f, ranges, 64, NULL);
        done += e == IOMMU_OK;
    }
    CHECK_EQ(e, IOMMU_ERR_NO_SLOTS);
    CHECK_EQ(done, IOMMU_MAPS_PER_DOMAIN / 64);
out:
    fx_fini(&f);
}

int main(void)
{
    RUN(test_scatter_list_of_64_pages_is_one_submission_and_every_page_works);
    RUN(test_aligned_2m_range_becomes_a_superpage);
    RUN(test_a_list_with_any_bad_range_is_refused_whole);
    RUN(test_map_vec_beyond_the_mapping_table_is_refused);
    return fx_report();
}
