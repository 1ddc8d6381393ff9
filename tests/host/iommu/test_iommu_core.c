/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The server core's one entry point against the VT-d model: iommu_begin picks the protocol by
 * badge (root task, hotplug server, clients); the root protocol registers, grants and removes
 * clients with every refusal changing nothing; a client's fault notification travels as a cookie
 * the core hands back to the transport; and with two remapping units each unit's fault and
 * invalidation-completion events are its own (a fault on unit 1 raises unit 1's event only, a
 * request pending on unit 1 completes on unit 1's completion event).
 */
#include "fixture.h"

#include <iommu/protocol.h>
#include <vtd/vtd.h>

#define ROOT IOMMU_SRV_BADGE_ROOT
#define DRV1 (IOMMU_SRV_BADGE_CLIENT_BASE | 1u)
#define DRV2 (IOMMU_SRV_BADGE_CLIENT_BASE | 2u)
#define DEV_A 0x0100
#define DEV_B 0x0200
#define NTFN_COOKIE 0x77u

static uint64_t begin(struct fx *f, uint64_t badge, struct iommu_msg *m, struct iommu_reply *r)
{
    m->badge = badge;
    CHECK_EQ(iommu_begin(f->s, m, r, NULL, 0, 0), IOMMU_STEP_DONE);
    return r->err;
out:
    return ~0ull;
}

static void msg(struct iommu_msg *m, uint64_t label, unsigned n, const uint64_t *w)
{
    iommu_msg_init(m, label);
    for (unsigned i = 0; i < n; i++) {
        m->w[m->len++] = w[i];
    }
}

static bool setup(struct fx *f)
{
    if (!fx_init(f, NULL, NULL)) {
        return false;
    }
    f->s->env.root_badge = ROOT;
    fx_add_device(f, DEV_A, 0, true);
    return true;
}

static void test_root_protocol_only_for_the_root_badge(void)
{
    struct fx f;
    struct iommu_msg m;
    struct iommu_reply r;
    CHECK(setup(&f));
    uint64_t fp = iommu_server_fingerprint(f.s);
    msg(&m, IOMMU_ROOT_CLIENT_ADD, 3, (uint64_t[]){DRV1, DEV_A, 0});
    /* a client's badge, the hotplug badge: the root methods are unknown labels to them */
    CHECK_EQ(begin(&f, DRV1, &m, &r), IOMMU_ERR_DENIED); /* not registered: no protocol at all */
    fx_client(&f, CLIENT_A, POOL_A, NULL, 0);
    CHECK_EQ(begin(&f, CLIENT_A, &m, &r), IOMMU_ERR_BAD_LABEL);
    CHECK_EQ(begin(&f, HP_BADGE, &m, &r), IOMMU_HP_ERR_BAD_LABEL);
    fp = iommu_server_fingerprint(f.s);
    /* the root badge, with each shape error and bad argument: nothing changes */
    m.len = 2;
    CHECK_EQ(begin(&f, ROOT, &m, &r), IOMMU_ERR_BAD_MSG);
    msg(&m, IOMMU_ROOT_CLIENT_ADD, 3, (uint64_t[]){CLIENT_A, DEV_A, 0}); /* not a client badge */
    CHECK_EQ(begin(&f, ROOT, &m, &r), IOMMU_ERR_BAD_ARG);
    msg(&m, IOMMU_ROOT_CLIENT_ADD, 3, (uint64_t[]){DRV1, 0x10000, 0}); /* sid out of range */
    CHECK_EQ(begin(&f, ROOT, &m, &r), IOMMU_ERR_BAD_ARG);
    msg(&m, IOMMU_ROOT_CLIENT_ADD, 3, (uint64_t[]){DRV1, DEV_A, 1}); /* flags must be 0 */
    CHECK_EQ(begin(&f, ROOT, &m, &r), IOMMU_ERR_BAD_ARG);
    msg(&m, IOMMU_ROOT_REVOKE_DEVICE, 2, (uint64_t[]){DRV1, DEV_A}); /* not registered */
    CHECK_EQ(begin(&f, ROOT, &m, &r), IOMMU_ERR_BAD_ARG);
    msg(&m, 127, 0, NULL);
    CHECK_EQ(begin(&f, ROOT, &m, &r), IOMMU_ERR_BAD_LABEL);
    msg(&m, IOMMU_LABEL_MAP_POOL, 4, (uint64_t[]){0, 0, 0x1000, 3}); /* a client method */
    CHECK_EQ(begin(&f, ROOT, &m, &r), IOMMU_ERR_BAD_LABEL);
    CHECK_EQ(iommu_server_fingerprint(f.s), fp);
out:
    fx_fini(&f);
}

static void test_root_registers_grants_and_removes_a_client(void)
{
    struct fx f;
    struct iommu_msg m;
    struct iommu_reply r;
    uint64_t h = 0;
    CHECK(setup(&f));
    unsigned releases = f.releases;
    msg(&m, IOMMU_ROOT_CLIENT_ADD, 3, (uint64_t[]){DRV1, DEV_A, 0});
    m.ncaps = 1;
    m.cap[0] = (struct iommu_cap_ref){
        .kind = IOMMU_CAP_NOTIFICATION, .rights = IOMMU_WRITE, .cookie = NTFN_COOKIE};
    CHECK_EQ(begin(&f, ROOT, &m, &r), IOMMU_OK);
    CHECK(r.cap_kept); /* the notification stays with the client */
    msg(&m, IOMMU_ROOT_CLIENT_ADD, 3, (uint64_t[]){DRV1, DEV_A, 0});
    CHECK_EQ(begin(&f, ROOT, &m, &r), IOMMU_ERR_BAD_ARG); /* already registered */
    msg(&m, IOMMU_ROOT_GRANT_MEMORY, 4, (uint64_t[]){DRV1, POOL_A, POOL_SIZE, 3});
    CHECK_EQ(begin(&f, ROOT, &m, &r), IOMMU_OK);
    CHECK_EQ(r.len, 1);
    uint64_t grant = r.w[0];
    CHECK_EQ(fx_attach(&f, DRV1, DEV_A, &h), IOMMU_OK);
    CHECK_EQ(fx_map(&f, DRV1, 0x10000, grant, 0, 0x2000, 3), IOMMU_OK);
    /* a DMA fault of DEV_A is signalled through the notification client_add brought */
    uint8_t buf[8];
    CHECK(vtd_model_dma(f.m, DEV_A, 0, 0x900000, buf, sizeof(buf), true) != 0);
    (void)iommu_fault_service(f.s, 0);
    CHECK(f.notifies > 0);
    CHECK_EQ(f.last_notified, DRV1);
    /* a memory revoke through the root protocol: the mapping goes, the grant is refused later */
    msg(&m, IOMMU_ROOT_REVOKE_MEMORY, 2, (uint64_t[]){DRV1, grant});
    CHECK_EQ(begin(&f, ROOT, &m, &r), IOMMU_OK);
    CHECK_EQ(r.len, 2);
    CHECK_EQ(r.w[1], 0); /* no pin left */
    CHECK_EQ(fx_map(&f, DRV1, 0x10000, grant, 0, 0x1000, 3), IOMMU_ERR_REVOKED);
    /* removal drops the client and gives the notification back to the transport */
    msg(&m, IOMMU_ROOT_CLIENT_REMOVE, 1, (uint64_t[]){DRV1});
    CHECK_EQ(begin(&f, ROOT, &m, &r), IOMMU_OK);
    CHECK(f.releases > releases);
    CHECK_EQ(f.last_released, NTFN_COOKIE);
    CHECK_EQ(fx_attach(&f, DRV1, DEV_A, &h), IOMMU_ERR_DENIED);
    struct iommu_counts c;
    iommu_server_counts(f.s, &c);
    CHECK_EQ(c.mappings, 0);
    CHECK_EQ(c.pins, 0);
out:
    fx_fini(&f);
}

/* A capability that is not a writable notification is not kept (the transport deletes it). */
static void test_client_add_keeps_only_a_writable_notification(void)
{
    struct fx f;
    struct iommu_msg m;
    struct iommu_reply r;
    CHECK(setup(&f));
    msg(&m, IOMMU_ROOT_CLIENT_ADD, 3, (uint64_t[]){DRV2, IOMMU_SRV_NO_SID, 0});
    m.ncaps = 1;
    m.cap[0] = (struct iommu_cap_ref){.kind = IOMMU_CAP_NOTIFICATION, .rights = IOMMU_READ};
    CHECK_EQ(begin(&f, ROOT, &m, &r), IOMMU_OK);
    CHECK(!r.cap_kept);
    msg(&m, IOMMU_ROOT_CLIENT_REMOVE, 1, (uint64_t[]){DRV2});
    unsigned releases = f.releases;
    CHECK_EQ(begin(&f, ROOT, &m, &r), IOMMU_OK);
    CHECK_EQ(f.releases, releases); /* nothing was kept, nothing is given back */
out:
    fx_fini(&f);
}

/*
 * Two units, each with its own fault and completion event: a fault of unit 1's device raises
 * unit 1's fault event (not unit 0's) and is served by unit 1's fault service; an unmap pending on
 * unit 1 completes when unit 1's completion event is handled.
 */
static void test_each_unit_has_its_own_fault_and_completion_events(void)
{
    struct fx f;
    struct vtd_model *m2 = NULL;
    struct vtd_model_stats s0, s1;
    struct iommu_pending p;
    struct iommu_msg m;
    struct iommu_reply r;
    uint64_t ha, hb;
    uint16_t sa[] = {DEV_A};
    CHECK(fx_init(&f, NULL, NULL));
    struct vtd_model_config mc2 = {.devtlb_latency_ns = 2000000};
    m2 = fx_second_unit(&f, &mc2, DEV_B, DEV_B);
    CHECK(m2 != NULL);
    fx_add_device(&f, DEV_A, 0, true);
    CHECK_EQ(vtd_model_add_device(m2, DEV_B, 0), 0);
    CHECK_EQ(iommu_server_add_device(f.s, DEV_B), IOMMU_OK);
    fx_client(&f, CLIENT_A, POOL_A, sa, 1);
    CHECK_EQ(iommu_client_register(f.s, CLIENT_B, 1), IOMMU_OK);
    CHECK_EQ(iommu_client_grant_device(f.s, CLIENT_B, DEV_B), IOMMU_OK);
    CHECK_EQ(iommu_client_grant_memory(f.s, CLIENT_B, POOL_B, POOL_SIZE, 3, NULL), IOMMU_OK);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV_A, &ha), IOMMU_OK);
    CHECK_EQ(fx_attach(&f, CLIENT_B, DEV_B, &hb), IOMMU_OK);
    for (unsigned u = 0; u < 2; u++) {
        struct vtd_unit *vu = iommu_server_vtd_unit(f.s, u);
        CHECK_EQ(vtd_unit_fault_event_setup(vu, 0xfee00000u, 0x40 + u), VTD_OK);
        CHECK_EQ(vtd_unit_qi_event_setup(vu, 0xfee00000u, 0x50 + u), VTD_OK);
    }
    vtd_model_get_stats(f.m, &s0);
    vtd_model_get_stats(m2, &s1);
    uint64_t f0 = s0.fault_interrupts, f1 = s1.fault_interrupts;
    uint8_t buf[8];
    CHECK(vtd_model_dma(m2, DEV_B, 0, 0x700000, buf, sizeof(buf), true) != 0);
    vtd_model_get_stats(f.m, &s0);
    vtd_model_get_stats(m2, &s1);
    CHECK_EQ(s0.fault_interrupts, f0);     /* unit 0 saw nothing */
    CHECK_EQ(s1.fault_interrupts, f1 + 1); /* unit 1 raised its own event */
    (void)iommu_fault_service(f.s, 1);
    iommu_encode_fault_read(&m, 8);
    CHECK_EQ(fx_call(&f, CLIENT_B, &m, &r), IOMMU_OK);
    struct iommu_fault_read_rets fr;
    iommu_reply_fault_read(&r, &fr);
    CHECK_EQ(fr.count, 1); /* routed to unit 1's device owner */
    /* an unmap on unit 1 left pending (forced), then finished by unit 1's completion event */
    CHECK_EQ(fx_map(&f, CLIENT_B, 0x10000, 0, 0, 0x1000, 3), IOMMU_OK);
    uint64_t c1 = s1.completion_interrupts;
    iommu_encode_unmap(&m, 0x10000, 0x1000);
    m.badge = CLIENT_B;
    memset(&p, 0, sizeof(p));
    CHECK_EQ(iommu_begin(f.s, &m, &r, &p, IOMMU_BEGIN_ASYNC | IOMMU_BEGIN_FORCE, 0),
             IOMMU_STEP_PENDING);
    CHECK_EQ(p.unit, 1);
    bool done = false;
    for (unsigned i = 0; i < 1000 && !done; i++) {
        vtd_model_advance(m2, 10000);
        (void)iommu_completion_event(f.s, 1);
        done = iommu_complete(f.s, &p, &r);
    }
    CHECK(done);
    CHECK_EQ(r.err, IOMMU_OK);
    vtd_model_get_stats(m2, &s1);
    CHECK(s1.completion_interrupts > c1);
    struct iommu_counts c;
    iommu_server_counts(f.s, &c);
    CHECK_EQ(c.stuck, 0);
out:
    fx_fini(&f);
    if (m2) {
        vtd_model_destroy(m2);
    }
}

int main(void)
{
    RUN(test_root_protocol_only_for_the_root_badge);
    RUN(test_root_registers_grants_and_removes_a_client);
    RUN(test_client_add_keeps_only_a_writable_notification);
    RUN(test_each_unit_has_its_own_fault_and_completion_events);
    return fx_report();
}
