// SPDX-License-Identifier: BSD-2-Clause
//
// Host tests for the root task's pure parts: the policy table is internally consistent and every
// kernel-test role exists; the untyped mirror places objects where the kernel would (aligned to
// their size, smallest fitting region first), refuses what does not fit; the device-untyped tree
// splits toward any address in any order; the slot map hands out and reuses runs; the
// ELF symbol lookup finds symbols in a real ELF and never reads outside a truncated or corrupted
// one (run under AddressSanitizer).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <init/init.h>
#include <portcullis/object_size.h>

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("  check failed: %s (line %d)\n", #cond, __LINE__);                             \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static void test_policy_table_is_consistent_and_has_test_roles(void)
{
    CHECK(init_policy_check() == NULL);
    const char *roles[] = {"ping",  "pong", "irq_rtc", "msi_edu",   "faulter",
                           "nocap", "fuzz", "bench",   "bench_peer"};
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        CHECK(init_policy_find(roles[i]) != NULL);
    }
    CHECK(init_policy_find("no_such_role") == NULL);
    char role[32];
    CHECK(init_policy_of_cmdline("ktest_ping.elf role=ping n=3", role, sizeof(role)) ==
          init_policy_find("ping"));
    CHECK(strcmp(role, "ping") == 0);
    CHECK(init_policy_of_cmdline("x.elf role=nope", role, sizeof(role)) == NULL);
    CHECK(strcmp(role, "nope") == 0); /* named, but not in the policy */
    CHECK(init_policy_of_cmdline("x.elf n=3", role, sizeof(role)) == NULL && role[0] == '\0');
    CHECK(init_policy_of_cmdline("x.elf role=ping", role, 3) == NULL && role[0] == '\0');
    CHECK(init_policy_find(NULL) == NULL);
    const init_role_t *f = init_policy_find("faulter");
    CHECK(f != NULL && (f->flags & ROLE_EXPECT_FAULT) && f->grant_count == 1);
    const init_role_t *e = init_policy_find("msi_edu");
    CHECK(e != NULL && e->pci_vendor == 0x1234 && e->pci_device == 0x11e8);
    CHECK(strcmp(init_grant_kind_name(GRANT_IRQ_MSI), "irq-msi") == 0);
    CHECK(strcmp(init_grant_kind_name(0), "?") == 0);
}

/* The kinds come from one list (INIT_GRANT_KINDS): numbered as the table has them, each with its
 * own name. */
static void test_every_grant_kind_has_one_name_and_a_stable_number(void)
{
    CHECK(GRANT_ENDPOINT == 1 && GRANT_IRQ_MSI == 5 && GRANT_HOTPLUG_SLOTS == 17 &&
          GRANT_DMA_POOL == 18 && GRANT_KIND_COUNT_ == 19);
    for (unsigned k = 1; k < GRANT_KIND_COUNT_; k++) {
        const char *n = init_grant_kind_name(k);
        CHECK(n != NULL && strcmp(n, "?") != 0 && n[0] != '\0');
        for (unsigned j = 1; j < k; j++) {
            CHECK(strcmp(init_grant_kind_name(j), n) != 0);
        }
    }
    CHECK(strcmp(init_grant_kind_name(GRANT_KIND_COUNT_), "?") == 0);
}

/* Behaviour the root task attaches to a role or a grant comes from declared flags, found through
 * the policy's queries (no task matches role or object names). */
static void test_policy_declares_the_iommu_server_its_clients_and_ready_signals(void)
{
    const init_role_t *srv = init_policy_iommu_server();
    CHECK(srv != NULL && (srv->flags & ROLE_IOMMU_SERVER));
    const init_grant_t *served = init_role_grant(srv, GRANT_SERVER_ENDPOINT);
    CHECK(served != NULL && served->kind == GRANT_ENDPOINT && served->object != NULL);
    CHECK(served != NULL && init_policy_iommu_endpoint() == served->object);
    size_t count = 0, clients = 0, ready = 0, hotplug_servers = 0;
    const init_role_t *roles = init_policy_roles(&count);
    for (size_t i = 0; i < count; i++) {
        const init_grant_t *c = init_role_grant(&roles[i], GRANT_IOMMU_CLIENT);
        if (c != NULL) {
            clients++;
            CHECK(strcmp(c->object, init_policy_iommu_endpoint()) == 0);
            CHECK(c->flags & GRANT_BADGE_TASK_ID);
        }
        const init_grant_t *r = init_role_grant(&roles[i], GRANT_READY_SIGNAL);
        if (r != NULL) {
            ready++;
            CHECK(r->kind == GRANT_NOTIFICATION && r->object != NULL);
        }
        hotplug_servers += (roles[i].flags & ROLE_HOTPLUG_SERVER) != 0;
        CHECK(i == (size_t)(srv - roles) || !(roles[i].flags & ROLE_IOMMU_SERVER));
    }
    CHECK(clients >= 2 && ready >= 1 && hotplug_servers == 1);
    /* init.revoke without init.revoke_role names the first role with a ready signal: the edu
     * driver, before the pool-revocation target */
    const init_role_t *first_ready = NULL;
    for (size_t i = 0; i < count && first_ready == NULL; i++) {
        first_ready = init_role_grant(&roles[i], GRANT_READY_SIGNAL) != NULL ? &roles[i] : NULL;
    }
    CHECK(first_ready != NULL && strcmp(first_ready->role, "edu_driver") == 0);
    const init_role_t *pr = init_policy_find("iommu_pool_revoke");
    CHECK(pr != NULL && init_role_grant(pr, GRANT_READY_SIGNAL) != NULL &&
          init_role_grant(pr, GRANT_IOMMU_CLIENT) != NULL);
    /* a driver is a client; the hotplug server's endpoint to the IOMMU server is not a client's */
    CHECK(init_role_grant(init_policy_find("edu_driver"), GRANT_IOMMU_CLIENT) != NULL);
    CHECK(init_role_grant(init_policy_find("hotplug"), GRANT_IOMMU_CLIENT) == NULL);
    CHECK(init_role_grant(NULL, GRANT_IOMMU_CLIENT) == NULL);
}

static void test_untyped_mirror_aligns_and_prefers_small_regions(void)
{
    ut_pool_t p;
    ut_pool_init(&p);
    CHECK(ut_pool_add(&p, 0x100000, 20, false, 8));  /* 1 MiB */
    CHECK(ut_pool_add(&p, 0x200000, 16, false, 9));  /* 64 KiB */
    CHECK(ut_pool_add(&p, 0x800000, 23, false, 10)); /* 8 MiB */
    CHECK(!ut_pool_add(&p, 0x1000, 16, false, 11));  /* misaligned */
    CHECK(ut_pool_add(&p, 0xb0000000, 28, true, 12));
    CHECK(ut_pool_ram_total(&p) == (1u << 20) + (1u << 16) + (1u << 23));

    uint64_t off = 99;
    int i = ut_pool_plan(&p, (unsigned)pc_object_bits(PC_OBJ_ENDPOINT, 0), 1, &off);
    CHECK(i == 1 && off == 0); /* smallest region that fits */
    ut_pool_commit(&p, i, off, PC_ENDPOINT_BITS, 1);
    i = ut_pool_plan(&p, (unsigned)pc_object_bits(PC_OBJ_TCB, 0), 2, &off);
    CHECK(i == 1 && off == 2048); /* TCB aligned to 2 KiB after the 32-byte endpoint */
    ut_pool_commit(&p, i, off, PC_TCB_BITS, 2);
    CHECK(p.r[1].watermark == 6144);
    i = ut_pool_plan(&p, (unsigned)pc_object_bits(PC_OBJ_FRAME_2M, 0), 1, &off);
    CHECK(i == 2 && off == 0); /* only the 8 MiB region holds a 2 MiB frame */
    i = ut_pool_plan(&p, (unsigned)pc_object_bits(PC_OBJ_FRAME_2M, 0), 5, &off);
    CHECK(i < 0); /* 10 MiB fits nowhere */
    CHECK(pc_object_bits(PC_OBJ_CNODE, 8) == 14);
    CHECK(pc_object_bits(PC_OBJ_CNODE, 0) == -1);
    CHECK(pc_object_bits(PC_OBJ_UNTYPED, 48) == -1);
    CHECK(pc_object_bits(99, 0) == -1);
    p.r[1].exhausted = true;
    i = ut_pool_plan(&p, PC_ENDPOINT_BITS, 1, &off);
    CHECK(i == 0); /* exhausted regions are skipped */
}

static void test_device_tree_splits_toward_any_address(void)
{
    ut_pool_t p;
    ut_pool_init(&p);
    CHECK(ut_pool_add(&p, 0x100000, 20, false, 8));
    CHECK(ut_pool_add(&p, 0xb0000000ull, 28, true, 9));
    CHECK(dev_tree_region(&p, 0xb0200000ull) == 1);
    CHECK(dev_tree_region(&p, 0x100000) < 0); /* RAM is not device memory */
    CHECK(dev_tree_region(&p, 0xc0000000ull) < 0);
    static dev_tree_t t;
    dev_tree_init(&t);
    CHECK(dev_tree_lookup(&t, 0xb0200000ull) < 0);
    int root = dev_tree_add_root(&t, 0xb0000000ull, 28, 9);
    CHECK(root == 0 && !dev_tree_is_leaf(&t, root));
    /* split toward 0xb0208000 down to a 64 KiB leaf */
    uint32_t slot = 100;
    int i = root;
    while (!dev_tree_is_leaf(&t, i)) {
        CHECK(dev_tree_split(&t, i, slot));
        slot += 2;
        i = dev_tree_lookup(&t, 0xb0208000ull);
    }
    CHECK(t.n[i].bits == DEV_LEAF_BITS && t.n[i].paddr == 0xb0200000ull);
    CHECK(t.count == 1 + 2 * (28 - DEV_LEAF_BITS));
    CHECK(!dev_tree_split(&t, root, 500)); /* already split */
    /* a lower address later: the untouched half near it is found, not the leaf */
    int j = dev_tree_lookup(&t, 0xb0008000ull);
    CHECK(j >= 0 && t.n[j].child < 0 && t.n[j].paddr <= 0xb0008000ull &&
          0xb0008000ull - t.n[j].paddr < (1ull << t.n[j].bits) && !dev_tree_is_leaf(&t, j));
    CHECK(dev_tree_lookup(&t, 0xc0000000ull) < 0);
    /* a region smaller than a leaf is a leaf by itself */
    int small = dev_tree_add_root(&t, 0xfed90000ull, 12, 50);
    CHECK(dev_tree_is_leaf(&t, small) && !dev_tree_split(&t, small, 600));
}

static void test_slot_map_hands_out_runs_and_reuses_freed_slots(void)
{
    static slot_map_t m;
    slot_map_init(&m, 0, 64);
    uint32_t a = slot_map_alloc(&m, 10);
    CHECK(a == 1); /* slot 0 is never handed out */
    uint32_t b = slot_map_alloc(&m, 1);
    CHECK(b == 11);
    slot_map_free(&m, a + 2, 3);
    CHECK(slot_map_alloc(&m, 4) == 12); /* the 3-slot hole is too small */
    CHECK(slot_map_alloc(&m, 3) == a + 2);
    CHECK(slot_map_alloc(&m, 100) == 0);
    CHECK(slot_map_alloc(&m, 0) == 0);
    uint32_t used = m.used;
    slot_map_free(&m, 200, 5); /* out of range: ignored */
    slot_map_free(&m, b, 1);
    slot_map_free(&m, b, 1); /* double free: ignored */
    CHECK(m.used == used - 1);
    CHECK(m.high_water == 15);
}

static void test_elf_symbol_lookup_is_bounded(void)
{
    const char *path = getenv("INIT_TEST_ELF");
    FILE *f = path ? fopen(path, "rb") : NULL;
    CHECK(f != NULL);
    if (f == NULL) {
        return;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *img = malloc((size_t)size);
    CHECK(fread(img, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    uint64_t v = 0;
    CHECK(elf_sym_lookup(img, (uint64_t)size, "elf_sym_lookup", &v) && v != 0);
    CHECK(!elf_sym_lookup(img, (uint64_t)size, "no_such_symbol_anywhere", &v));
    CHECK(!elf_sym_lookup(NULL, 100, "main", &v));
    /* Every truncation: the tables end up outside the image and the lookup fails cleanly. */
    for (long cut = 0; cut < size; cut += (cut < 4096 ? 7 : 4093)) {
        uint8_t *part = malloc((size_t)cut + 1);
        memcpy(part, img, (size_t)cut);
        (void)elf_sym_lookup(part, (uint64_t)cut, "elf_sym_lookup", &v);
        free(part);
    }
    /* Corrupted section header table offset and count. */
    uint8_t *bad = malloc((size_t)size);
    memcpy(bad, img, (size_t)size);
    uint64_t huge = ~0ull - 16;
    memcpy(bad + 0x28, &huge, 8);
    CHECK(!elf_sym_lookup(bad, (uint64_t)size, "elf_sym_lookup", &v));
    memcpy(bad, img, (size_t)size);
    uint16_t many = 0xffff;
    memcpy(bad + 0x3c, &many, 2);
    CHECK(!elf_sym_lookup(bad, (uint64_t)size, "elf_sym_lookup", &v));
    free(bad);
    free(img);
}

/* A revoked task arena comes back to the pool: counted as free, reused for a task of at most
 * its size (the smallest that fits), never for a larger one. */
static void test_revoked_arena_returns_to_the_pool_and_is_reused(void)
{
    static ut_pool_t p;
    ut_pool_init(&p);
    CHECK(ut_pool_add(&p, 0x100000, 20, false, 5));
    uint64_t start = ut_pool_ram_free(&p);
    uint64_t off;
    int i = ut_pool_plan(&p, 18, 1, &off); /* an arena of 256 KiB for a task */
    CHECK(i == 0);
    ut_pool_commit(&p, i, off, 18, 1);
    CHECK(ut_pool_ram_free(&p) == start - (1u << 18));
    CHECK(ut_spare_put(&p, 0x100000 + off, 18, 40)); /* the task went away, arena revoked */
    CHECK(ut_pool_ram_free(&p) == start);
    ut_spare_t sp;
    CHECK(!ut_spare_take(&p, 19, &sp)); /* too small for a 512 KiB arena */
    CHECK(ut_spare_take(&p, 16, &sp) && sp.slot == 40 && sp.size_bits == 18);
    CHECK(ut_pool_ram_free(&p) == start - (1u << 18));
    CHECK(!ut_spare_take(&p, 12, &sp));
    CHECK(!ut_spare_put(&p, 0x100000, 3, 40)); /* not an untyped size */
    CHECK(!ut_spare_put(&p, 0x100000, 18, 0));
}

/* Slots remember the task they were allocated for, so a teardown finds all of them. */
static void test_slot_owner_recorded_until_freed(void)
{
    static slot_map_t m;
    slot_map_init(&m, 0, 64);
    uint32_t r = slot_map_alloc(&m, 2); /* the root task's */
    slot_map_set_owner(&m, 7);
    uint32_t a = slot_map_alloc(&m, 3);
    slot_map_set_owner(&m, 0);
    CHECK(slot_map_next_owned(&m, 7, 0) == a);
    CHECK(slot_map_next_owned(&m, 7, a + 1) == a + 1);
    CHECK(slot_map_next_owned(&m, 0, 0) == 0); /* the root task's are never "owned" */
    slot_map_free(&m, a, 3);
    CHECK(slot_map_next_owned(&m, 7, 0) == 0);
    CHECK(m.used == 2 && slot_map_next_owned(&m, 7, r) == 0);
}

int main(void)
{
    test_revoked_arena_returns_to_the_pool_and_is_reused();
    test_slot_owner_recorded_until_freed();
    test_policy_table_is_consistent_and_has_test_roles();
    test_every_grant_kind_has_one_name_and_a_stable_number();
    test_policy_declares_the_iommu_server_its_clients_and_ready_signals();
    test_untyped_mirror_aligns_and_prefers_small_regions();
    test_device_tree_splits_toward_any_address();
    test_slot_map_hands_out_runs_and_reuses_freed_slots();
    test_elf_symbol_lookup_is_bounded();
    printf("init pure parts: %s (%d failed checks)\n", failures ? "FAIL" : "PASS", failures);
    return failures ? 1 : 0;
}
