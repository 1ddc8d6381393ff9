/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Hostile and malformed messages: every one gets a defined error, the error is one the
 * protocol table lists for that method, and a rejected message changes nothing — neither the
 * server's state (fingerprint) nor the hardware (no descriptor queued, no page allocated).
 * A deterministic random storm then mixes valid and invalid messages from clients, strangers
 * and the hotplug badge.
 */
#include "fixture.h"

#define DEV1 0x0100
#define DEV2 0x0200

struct snap {
    uint64_t fp, descs;
    size_t pages;
};

static void snap(struct fx *f, struct snap *s)
{
    struct vtd_model_stats st;
    vtd_model_get_stats(f->m, &st);
    s->fp = iommu_server_fingerprint(f->s);
    s->descs = st.descriptors;
    s->pages = vtd_model_pages_in_use(f->m);
}

static bool same(struct fx *f, const struct snap *a)
{
    struct snap b;
    snap(f, &b);
    return a->fp == b.fp && a->descs == b.descs && a->pages == b.pages;
}

static bool setup(struct fx *f, uint64_t *h1)
{
    uint16_t sa[] = {DEV1}, sb[] = {DEV2};
    if (!fx_init(f, NULL, NULL)) {
        return false;
    }
    fx_add_device(f, DEV1, VTD_MODEL_DEV_ATS, true);
    fx_add_device(f, DEV2, 0, true);
    fx_client(f, CLIENT_A, POOL_A, sa, 1);
    fx_client(f, CLIENT_B, POOL_B, sb, 1);
    return fx_attach(f, CLIENT_A, DEV1, h1) == IOMMU_OK &&
           fx_attach(f, CLIENT_B, DEV2, NULL) == IOMMU_OK &&
           fx_map(f, CLIENT_A, 0x10000, 0, 0, 0x4000, IOMMU_READ | IOMMU_WRITE) == IOMMU_OK &&
           fx_map(f, CLIENT_B, 0x10000, 0, 0, 0x4000, IOMMU_READ) == IOMMU_OK;
}

static void test_malformed_messages_get_errors_and_change_nothing(void)
{
    struct fx f;
    uint64_t h1;
    struct iommu_msg m;
    struct iommu_reply r;
    struct snap s0;
    CHECK(setup(&f, &h1));
    snap(&f, &s0);
    /* unknown labels, including the reserved 0 and hotplug labels on the client endpoint */
    uint64_t bad_labels[] = {0, 14, 63, 69, 1ull << 40, UINT64_MAX, IOMMU_LABEL_DEVICE_FENCE};
    for (unsigned i = 0; i < sizeof(bad_labels) / sizeof(bad_labels[0]); i++) {
        iommu_msg_init(&m, bad_labels[i]);
        CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_BAD_LABEL);
    }
    /* wrong word counts */
    iommu_encode_map(&m, 0x40000, 0, 0, 0x1000, IOMMU_READ);
    m.len = 4;
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_BAD_MSG);
    m.len = 6;
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_BAD_MSG);
    m.len = 1000;
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_BAD_MSG);
    /* capabilities where none belong, or too many */
    iommu_encode_unmap(&m, 0x10000, 0x4000);
    m.ncaps = 1;
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_BAD_MSG);
    iommu_encode_map(&m, 0x40000, 0, 0, 0x1000, IOMMU_READ);
    m.ncaps = 1;
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_BAD_MSG);
    m.ncaps = 0xffffffffu;
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_BAD_MSG);
    /* handles: forged generation, bits above 48, another client's device */
    iommu_encode_detach(&m, h1 + (1ull << 16));
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_STALE);
    iommu_encode_detach(&m, h1 | (1ull << 60));
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_BAD_ARG);
    iommu_encode_detach(&m, h1);
    CHECK_EQ(fx_call(&f, CLIENT_B, &m, &r), IOMMU_ERR_NOT_ATTACHED);
    iommu_encode_attach(&m, 0x10000 | DEV2);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_BAD_ARG);
    /* overflowing ranges */
    iommu_encode_ats_flush(&m, h1, UINT64_MAX & ~0xfffull, 0x2000);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_RANGE);
    iommu_encode_ats_flush(&m, h1, 0x123, 0x1000);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_ALIGN);
    iommu_encode_map(&m, 0x40000, 0, 0x1000, UINT64_MAX & ~0xfffull, IOMMU_READ);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_RANGE);
    /* a frame capability that is not one, or wraps */
    iommu_encode_map(&m, 0x40000, IOMMU_MEM_CAP, 0, 0x1000, IOMMU_READ);
    m.ncaps = 1;
    m.cap[0] = (struct iommu_cap_ref){.kind = 7, .rights = 3, .pa = 0x1000, .size = 0x1000};
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_BAD_MEMORY);
    m.cap[0] = (struct iommu_cap_ref){
        .kind = IOMMU_CAP_FRAME, .rights = 3, .pa = UINT64_MAX & ~0xfffull, .size = 0x2000};
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_BAD_MEMORY);
    CHECK(!r.cap_kept);
    /* a stranger and badge 0 */
    iommu_encode_fault_read(&m, 4);
    CHECK_EQ(fx_call(&f, 0, &m, &r), IOMMU_ERR_DENIED);
    CHECK_EQ(fx_call(&f, 12345, &m, &r), IOMMU_ERR_DENIED);
    CHECK(same(&f, &s0));
out:
    fx_fini(&f);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint64_t interesting(uint64_t h1)
{
    static const uint64_t v[] = {0,
                                 1,
                                 0x1000,
                                 0x2000,
                                 0x4000,
                                 0x10000,
                                 0x11000,
                                 0x200000,
                                 0xfff,
                                 IOMMU_MEM_CAP,
                                 UINT64_MAX,
                                 1ull << 48,
                                 (1ull << 48) - 0x1000,
                                 DEV1,
                                 DEV2,
                                 3,
                                 2,
                                 IOMMU_PASID_FIRST,
                                 POOL_SIZE,
                                 POOL_SIZE - 0x1000};
    switch (rnd() % 4) {
    case 0:
        return rnd();
    case 1:
        return h1 + (rnd() % 3 == 0 ? (1ull << 16) : 0);
    default:
        return v[rnd() % (sizeof(v) / sizeof(v[0]))];
    }
}

static void test_random_message_storm_gets_declared_errors_and_rejections_change_nothing(void)
{
    struct fx f;
    uint64_t h1;
    unsigned errors = 0, oks = 0;
    CHECK(setup(&f, &h1));
    unsigned nmeth;
    const struct iommu_method_info *meth = iommu_methods(&nmeth);
    uint64_t badges[] = {CLIENT_A, CLIENT_B, HP_BADGE, 0, 0x777};
    for (unsigned it = 0; it < 20000; it++) {
        struct iommu_msg m;
        struct iommu_reply r;
        const struct iommu_method_info *mi = &meth[rnd() % nmeth];
        uint64_t label = rnd() % 16 == 0 ? rnd() % 80 : mi->label;
        iommu_msg_init(&m, label);
        m.badge = badges[rnd() % 5];
        m.len = rnd() % 8 == 0 ? (uint32_t)(rnd() % (IOMMU_MSG_WORDS + 1)) : mi->nargs;
        for (unsigned w = 0; w < IOMMU_MSG_WORDS; w++) {
            m.w[w] = interesting(h1);
        }
        if (rnd() % 6 == 0) {
            m.ncaps = (uint32_t)(rnd() % 3);
            m.cap[0] = (struct iommu_cap_ref){.kind = (uint32_t)(rnd() % 3),
                                              .rights = (uint32_t)(rnd() % 4),
                                              .pa = interesting(h1),
                                              .size = interesting(h1),
                                              .cookie = rnd()};
            if (m.ncaps > IOMMU_MSG_CAPS) {
                m.ncaps = IOMMU_MSG_CAPS;
            }
        }
        bool hp = m.badge == HP_BADGE ? rnd() % 4 != 0 : rnd() % 8 == 0;
        if (hp && label == IOMMU_LABEL_DEVICE_ADDED) {
            continue; /* a valid device_added needs the device back: covered elsewhere */
        }
        struct snap before;
        snap(&f, &before);
        if (hp) {
            iommu_handle_hotplug(f.s, &m, &r);
        } else {
            iommu_handle_client(f.s, &m, &r);
        }
        const struct iommu_method_info *known = iommu_method_find(label);
        if (r.err == 0) {
            oks++;
            CHECK(known && known->proto == (hp ? IOMMU_PROTO_HOTPLUG : IOMMU_PROTO_CLIENT));
            continue;
        }
        errors++;
        if (known && known->proto == (hp ? IOMMU_PROTO_HOTPLUG : IOMMU_PROTO_CLIENT) &&
            r.err != IOMMU_ERR_BAD_LABEL) {
            if (!(known->errors & (1ull << r.err))) {
                fprintf(stderr, "undeclared error %s from %s\n",
                        hp ? iommu_hp_errname((unsigned)r.err) : iommu_errname((unsigned)r.err),
                        known->name);
            }
            CHECK(known->errors & (1ull << r.err));
        }
        bool hw_outcome = hp ? r.err == IOMMU_HP_ERR_HW
                             : (r.err == IOMMU_ERR_HW || r.err == IOMMU_ERR_NO_MEMORY ||
                                r.err == IOMMU_ERR_DEVICE_TIMEOUT);
        if (!hw_outcome && !same(&f, &before)) {
            fprintf(stderr, "state changed by rejected label %llu err %llu\n",
                    (unsigned long long)label, (unsigned long long)r.err);
        }
        CHECK(hw_outcome || same(&f, &before));
    }
    printf("     storm: %u errors, %u accepted\n", errors, oks);
    CHECK(errors > 10000);
    CHECK(oks > 20);
    struct iommu_counts c;
    iommu_server_counts(f.s, &c);
    CHECK_EQ(c.stuck, 0);
out:
    fx_fini(&f);
}

static void test_every_method_declares_the_shape_errors(void)
{
    unsigned n;
    const struct iommu_method_info *meth = iommu_methods(&n);
    CHECK(n == 27); /* 13 client methods, 5 hotplug methods, 9 root methods */
    for (unsigned i = 0; i < n; i++) {
        uint64_t need = meth[i].proto == IOMMU_PROTO_HOTPLUG
                            ? (1ull << IOMMU_HP_ERR_BAD_MSG) | (1ull << IOMMU_HP_ERR_DENIED)
                            : (1ull << IOMMU_ERR_BAD_MSG) | (1ull << IOMMU_ERR_DENIED);
        CHECK((meth[i].errors & need) == need);
        CHECK(!(meth[i].errors & 1)); /* OK is not an error */
        CHECK(meth[i].nargs <= IOMMU_MSG_WORDS && meth[i].max_caps <= IOMMU_MSG_CAPS);
        CHECK(iommu_method_find(meth[i].label) == &meth[i]);
    }
out:
    return;
}

int main(void)
{
    RUN(test_malformed_messages_get_errors_and_change_nothing);
    RUN(test_random_message_storm_gets_declared_errors_and_rejections_change_nothing);
    RUN(test_every_method_declares_the_shape_errors);
    return fx_report();
}
