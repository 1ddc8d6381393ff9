/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host unit tests of the kernel's pure logic: the capability derivation tree, untyped placement
 * arithmetic, physical range sets, and the MADT / RSDP parsers' bounds and checksum checks.
 */
#include <kernel/cdt.h>
#include <kernel/memmap.h>
#include <plat/acpi.h>
#include <plat/ioapic.h>
#include <portcullis/errors.h>
#include <portcullis/object_size.h>
#include <portcullis/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, __LINE__, __func__, #c);    \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static k_slot_t slots[16];

static void set_cap(k_slot_t *s, uint8_t type, uint64_t obj)
{
    memset(s, 0, sizeof(*s));
    s->cap.type = type;
    s->cap.obj = obj;
}

static void test_cdt_revoke_set_is_exactly_the_descendants(void)
{
    k_cdt_reset();
    set_cap(&slots[0], PC_OBJ_UNTYPED, 0x100000);
    k_cdt_insert_root(&slots[0]);
    set_cap(&slots[1], PC_OBJ_ENDPOINT, 0xA);
    k_cdt_insert_child(&slots[0], &slots[1]);
    slots[2].cap = slots[1].cap;
    k_cdt_insert_child(&slots[1], &slots[2]); /* copy of the endpoint */
    set_cap(&slots[3], PC_OBJ_NOTIFICATION, 0xB);
    k_cdt_insert_child(&slots[0], &slots[3]);
    set_cap(&slots[4], PC_OBJ_UNTYPED, 0x200000); /* an unrelated root */
    k_cdt_insert_root(&slots[4]);
    CHECK(k_cdt_has_children(&slots[0]));
    CHECK(k_cdt_has_children(&slots[1]));
    CHECK(!k_cdt_has_children(&slots[2]));
    CHECK(!k_cdt_has_children(&slots[4]));
    /* count descendants of slot 0 */
    unsigned n = 0;
    for (k_slot_t *s = slots[0].next; s && s->depth > slots[0].depth; s = s->next) {
        n++;
    }
    CHECK(n == 3);
}

static void test_cdt_final_cap_detection_by_neighbours(void)
{
    /* continues the tree above: endpoint has two caps, notification one */
    CHECK(!k_cdt_is_final(&slots[1]));
    CHECK(!k_cdt_is_final(&slots[2]));
    CHECK(k_cdt_is_final(&slots[3]));
    k_cdt_remove(&slots[1]);
    CHECK(k_slot_empty(&slots[1]));
    CHECK(k_cdt_is_final(&slots[2])); /* now the last endpoint cap */
    CHECK(slots[2].depth == 1);       /* lifted to its grandparent's child */
    CHECK(k_cdt_has_children(&slots[0]));
}

static void test_cdt_move_keeps_position_and_children(void)
{
    k_cdt_reset();
    set_cap(&slots[0], PC_OBJ_UNTYPED, 0x100000);
    k_cdt_insert_root(&slots[0]);
    set_cap(&slots[1], PC_OBJ_TCB, 0xC);
    k_cdt_insert_child(&slots[0], &slots[1]);
    memset(&slots[5], 0, sizeof(slots[5]));
    k_cdt_move(&slots[0], &slots[5]);
    CHECK(k_slot_empty(&slots[0]));
    CHECK(slots[5].cap.type == PC_OBJ_UNTYPED);
    CHECK(k_cdt_has_children(&slots[5]));
    CHECK(slots[1].prev == &slots[5]);
    /* removing the parent leaves the child as a root */
    k_cdt_remove(&slots[5]);
    CHECK(slots[1].depth == 0);
    CHECK(k_cdt_is_final(&slots[1]));
}

static void test_cdt_untyped_caps_never_alias(void)
{
    k_cap_t a = {.type = PC_OBJ_UNTYPED, .obj = 0x1000}, b = a;
    CHECK(!k_cap_same_object(&a, &b));
    k_cap_t e1 = {.type = PC_OBJ_ENDPOINT, .obj = 5, .w2 = 1},
            e2 = {.type = PC_OBJ_ENDPOINT, .obj = 5, .w2 = 2};
    CHECK(k_cap_same_object(&e1, &e2)); /* badges differ, object is the same */
    k_cap_t i1 = {.type = PC_CAP_IRQ_HANDLER, .aux = 0x31},
            i2 = {.type = PC_CAP_IRQ_HANDLER, .aux = 0x32};
    CHECK(!k_cap_same_object(&i1, &i2));
}

/* Saved reply caps are roots of their own: each is its object's only cap, so deleting one always
 * finalises it (wakes its caller), even when two stale ones (object 0) are list neighbours. */
static void test_cdt_reply_caps_are_always_final_roots(void)
{
    k_cdt_reset();
    set_cap(&slots[0], PC_OBJ_ENDPOINT, 0xE);
    k_cdt_insert_root(&slots[0]);
    set_cap(&slots[1], PC_CAP_REPLY, 0x5000);
    k_cdt_insert_root(&slots[1]);
    set_cap(&slots[2], PC_CAP_REPLY, 0);
    k_cdt_insert_root(&slots[2]);
    set_cap(&slots[3], PC_CAP_REPLY, 0);
    k_cdt_insert_root(&slots[3]);
    CHECK(slots[1].depth == 0 && slots[2].depth == 0 && slots[3].depth == 0);
    CHECK(k_cdt_is_final(&slots[1]) && k_cdt_is_final(&slots[2]) && k_cdt_is_final(&slots[3]));
    CHECK(!k_cdt_has_children(&slots[2]));
    k_cap_t a = {.type = PC_CAP_REPLY, .obj = 0x5000}, b = a;
    CHECK(!k_cap_same_object(&a, &b));
    /* a move keeps it a root and final; the endpoint is untouched */
    memset(&slots[4], 0, sizeof(slots[4]));
    k_cdt_move(&slots[1], &slots[4]);
    CHECK(slots[1].cap.type == PC_OBJ_NULL && slots[4].cap.type == PC_CAP_REPLY);
    CHECK(slots[4].depth == 0 && k_cdt_is_final(&slots[4]) && k_cdt_is_final(&slots[0]));
    k_cdt_remove(&slots[4]);
    k_cdt_remove(&slots[2]);
    k_cdt_remove(&slots[3]);
    CHECK(k_cdt_head()->next == &slots[0] && slots[0].next == NULL);
}

static void test_untyped_watermark_aligns_and_bounds(void)
{
    uint64_t first, nf;
    /* 64 KiB untyped at 1 MiB, watermark 16 bytes in, 4 KiB objects: first at +4 KiB */
    CHECK(pc_untyped_place(0x100000, 16, 16, 12, 1, &first, &nf) == PC_OK);
    CHECK(first == 0x101000 && nf == 0x2000);
    /* exactly fills the rest */
    CHECK(pc_untyped_place(0x100000, 16, 0x2000, 12, 14, &first, &nf) == PC_OK && nf == 0x10000);
    CHECK(pc_untyped_place(0x100000, 16, 0x2000, 12, 15, &first, &nf) == PC_ERR_NOT_ENOUGH_MEMORY);
    /* object bigger than the untyped */
    CHECK(pc_untyped_place(0x100000, 12, 0, 21, 1, &first, &nf) == PC_ERR_NOT_ENOUGH_MEMORY);
    /* huge counts do not wrap */
    CHECK(pc_untyped_place(0x100000, 16, 0, 4, ~0ull, &first, &nf) == PC_ERR_NOT_ENOUGH_MEMORY);
    CHECK(pc_untyped_place(0x100000, 16, 0, 4, 1ull << 60, &first, &nf) ==
          PC_ERR_NOT_ENOUGH_MEMORY);
    /* watermark at the end of a maximal untyped */
    CHECK(pc_untyped_place(0, 47, 1ull << 47, 12, 1, &first, &nf) == PC_ERR_NOT_ENOUGH_MEMORY);
    /* corrupt inputs are rejected, not computed */
    CHECK(pc_untyped_place(0x100000, 16, 0x20000, 12, 1, &first, &nf) == PC_ERR_INVALID_ARGUMENT);
    CHECK(pc_untyped_place(0x100800, 16, 0, 12, 1, &first, &nf) == PC_ERR_INVALID_ARGUMENT);
    CHECK(pc_untyped_place(0x100000, 16, 0, 12, 0, &first, &nf) == PC_ERR_INVALID_ARGUMENT);
}

static void test_object_sizes(void)
{
    CHECK(pc_object_bits(PC_OBJ_TCB, 0) == PC_TCB_BITS);
    CHECK(pc_object_bits(PC_OBJ_CNODE, 12) == 12 + PC_SLOT_BITS);
    CHECK(pc_object_bits(PC_OBJ_CNODE, 0) == -1);
    CHECK(pc_object_bits(PC_OBJ_CNODE, PC_CNODE_MAX_BITS + 1) == -1);
    CHECK(pc_object_bits(PC_OBJ_UNTYPED, 3) == -1);
    CHECK(pc_object_bits(PC_OBJ_UNTYPED, 48) == -1);
    CHECK(pc_object_bits(PC_OBJ_FRAME_2M, 0) == 21);
    CHECK(pc_object_bits(PC_CAP_IOPORT, 0) == -1);
}

static void test_memmap_merge_remove_complement(void)
{
    k_memmap_t m, c;
    k_memmap_init(&m);
    CHECK(k_memmap_add(&m, 0x100000, 0x200000));
    CHECK(k_memmap_add(&m, 0x300000, 0x400000));
    CHECK(k_memmap_add(&m, 0x200000, 0x300000)); /* bridges both */
    CHECK(m.n == 1 && m.r[0].start == 0x100000 && m.r[0].end == 0x400000);
    CHECK(!k_memmap_add(&m, 5, 5));
    CHECK(k_memmap_remove(&m, 0x180000, 0x190000)); /* split */
    CHECK(m.n == 2 && m.r[0].end == 0x180000 && m.r[1].start == 0x190000);
    CHECK(k_memmap_complement(&m, 0, 0x1000000, &c));
    CHECK(c.n == 3 && c.r[0].start == 0 && c.r[0].end == 0x100000 && c.r[1].start == 0x180000 &&
          c.r[2].start == 0x400000 && c.r[2].end == 0x1000000);
    k_memmap_init(&m);
    k_memmap_add(&m, 0x9fc00, 0x1ffe0000 + 0x123);
    k_memmap_align_inward(&m, 4096);
    CHECK(m.r[0].start == 0xa0000 && m.r[0].end == 0x1ffe0000);
    k_memmap_init(&m);
    k_memmap_add(&m, 0x100, 0x200);
    k_memmap_align_inward(&m, 4096);
    CHECK(m.n == 0);
}

static unsigned blk_count;
static uint64_t blk_total;
static int blk_bad;
static void blk(void *ctx, uint64_t base, unsigned bits)
{
    (void)ctx;
    if (base & ((1ull << bits) - 1)) {
        blk_bad = 1;
    }
    blk_count++;
    blk_total += 1ull << bits;
}

static void test_memmap_blocks_are_aligned_and_cover_the_range(void)
{
    blk_count = 0;
    blk_total = 0;
    blk_bad = 0;
    unsigned n = k_memmap_blocks(0x1e2000, 0x1ffe0000, 12, 47, blk, NULL);
    CHECK(n == blk_count && !blk_bad && blk_total == 0x1ffe0000 - 0x1e2000);
    CHECK(n < 2 * 30);
    blk_count = 0;
    CHECK(k_memmap_blocks(1ull << 32, 1ull << 40, 12, 39, blk, NULL) == 8);
    CHECK(k_memmap_blocks(0x1001, 0x3000, 12, 47, blk, NULL) == 0); /* unaligned input refused */
}

/* ---- MADT ---- */
static uint8_t madt[256];
static size_t madt_len;

static void madt_fix(void)
{
    madt[4] = (uint8_t)madt_len;
    madt[5] = (uint8_t)(madt_len >> 8);
    madt[6] = madt[7] = 0;
    madt[9] = 0;
    uint8_t s = 0;
    for (size_t i = 0; i < madt_len; i++) {
        s = (uint8_t)(s + madt[i]);
    }
    madt[9] = (uint8_t)(0 - s);
}

static void madt_build(void)
{
    memset(madt, 0, sizeof(madt));
    memcpy(madt, "APIC", 4);
    madt[36] = 0x00;
    madt[37] = 0x00;
    madt[38] = 0xE0;
    madt[39] = 0xFE; /* LAPIC 0xFEE00000 */
    size_t o = 44;
    uint8_t lapic[8] = {0, 8, 0, 0, 1, 0, 0, 0};
    memcpy(madt + o, lapic, 8);
    o += 8;
    uint8_t ioapic[12] = {1, 12, 0, 0, 0x00, 0x00, 0xC0, 0xFE, 0, 0, 0, 0};
    memcpy(madt + o, ioapic, 12);
    o += 12;
    uint8_t iso[10] = {2, 10, 0, 0, 2, 0, 0, 0, 0, 0}; /* IRQ0 -> GSI2 */
    memcpy(madt + o, iso, 10);
    o += 10;
    uint8_t iso9[10] = {2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0}; /* IRQ9: level, active high */
    memcpy(madt + o, iso9, 10);
    o += 10;
    madt_len = o;
    madt_fix();
}

static void test_madt_parses_ioapic_and_overrides(void)
{
    k_madt_info_t info;
    madt_build();
    CHECK(k_madt_parse(madt, madt_len, &info) == K_ACPI_OK);
    CHECK(info.cpu_count == 1 && info.ioapic_count == 1 && info.ioapic[0].addr == 0xFEC00000);
    CHECK(info.isa[0].present && info.isa[0].gsi == 2);
    CHECK(info.isa[9].present && info.isa[9].flags == 0x0d);
    CHECK(info.lapic_addr == 0xFEE00000);
}

static void test_madt_rejects_bad_lengths_and_checksums(void)
{
    k_madt_info_t info;
    madt_build();
    CHECK(k_madt_parse(madt, madt_len - 1, &info) == K_ACPI_ERR_TRUNCATED); /* header claims more */
    CHECK(k_madt_parse(madt, 20, &info) == K_ACPI_ERR_TRUNCATED);
    madt[50] ^= 1;
    CHECK(k_madt_parse(madt, madt_len, &info) == K_ACPI_ERR_CHECKSUM);
    madt_build();
    madt[45] = 200; /* LAPIC entry length runs past the table */
    madt_fix();
    CHECK(k_madt_parse(madt, madt_len, &info) == K_ACPI_ERR_MALFORMED);
    madt_build();
    madt[45] = 0; /* zero-length entry would loop forever */
    madt_fix();
    CHECK(k_madt_parse(madt, madt_len, &info) == K_ACPI_ERR_MALFORMED);
    madt_build();
    madt[53] = 4; /* IOAPIC entry too short for its fields */
    madt_fix();
    CHECK(k_madt_parse(madt, madt_len, &info) == K_ACPI_ERR_MALFORMED);
    madt_build();
    madt[0] = 'X';
    madt_fix();
    CHECK(k_madt_parse(madt, madt_len, &info) == K_ACPI_ERR_SIGNATURE);
    /* random garbage never crashes */
    srand(1);
    for (int it = 0; it < 20000; it++) {
        madt_build();
        for (int k = 0; k < 4; k++) {
            madt[44 + rand() % (int)(madt_len - 44)] = (uint8_t)rand();
        }
        madt_fix();
        (void)k_madt_parse(madt, madt_len, &info);
    }
}

static void test_rsdp_found_only_with_valid_checksum(void)
{
    static uint8_t area[0x20000];
    memset(area, 0, sizeof(area));
    uint8_t *r = area + 0x5a30;
    memcpy(r, "RSD PTR ", 8);
    memcpy(r + 9, "BOCHS ", 6);
    r[15] = 0; /* revision 0 */
    r[16] = 0x00;
    r[17] = 0x10;
    uint8_t s = 0;
    for (int i = 0; i < 20; i++) {
        s = (uint8_t)(s + r[i]);
    }
    r[8] = (uint8_t)(0 - s);
    CHECK(k_acpi_find_rsdp(area, sizeof(area)) == 0x5a30);
    r[8] ^= 0x55;
    CHECK(k_acpi_find_rsdp(area, sizeof(area)) == -1);
    r[8] ^= 0x55;
    CHECK(k_acpi_find_rsdp(area, 0x5a30 + 10) == -1); /* truncated at the end of the area */
    /* a revision-2 RSDP whose extended length runs off the area is skipped */
    r[15] = 2;
    r[20] = 0xff;
    r[21] = 0xff;
    s = 0;
    r[8] = 0;
    for (int i = 0; i < 20; i++) {
        s = (uint8_t)(s + r[i]);
    }
    r[8] = (uint8_t)(0 - s);
    CHECK(k_acpi_find_rsdp(area, sizeof(area)) == -1);
}

/* The compatibility format is what the kernel always wrote: vector 7:0, polarity 13, trigger 15,
 * mask 16, destination APIC ID 63:56; no index bits. */
static void test_ioapic_rte_compatibility_format(void)
{
    CHECK(k_ioapic_rte_encode(0x32, false, false, true, false, 0, 0) == 0x10032ull);
    CHECK(k_ioapic_rte_encode(0x41, true, true, true, false, 0, 3) == 0x030000000001A041ull);
    CHECK(k_ioapic_rte_encode(0x41, true, true, false, false, 0, 0xff) == 0xFF0000000000A041ull);
    /* the index is ignored without remap */
    CHECK(k_ioapic_rte_encode(0x41, true, true, true, false, 0xffff, 3) == 0x030000000001A041ull);
}

/* VT-d 5.1.5.1: bit 48 format, index[14:0] in 63:49, index[15] in bit 11, no destination. */
static void test_ioapic_rte_remappable_format(void)
{
    const uint64_t lo = 0x10032ull; /* vector 0x32, edge, high, masked */
    CHECK(k_ioapic_rte_encode(0x32, false, false, true, true, 0, 0) ==
          (0x0001000000000000ull | lo));
    CHECK(k_ioapic_rte_encode(0x32, false, false, true, true, 0x7fff, 0) ==
          (0xFFFF000000000000ull | lo));
    CHECK(k_ioapic_rte_encode(0x32, false, false, true, true, 0x8000, 0) ==
          (0x0001000000000800ull | lo));
    CHECK(k_ioapic_rte_encode(0x32, false, false, true, true, 0xffff, 0) ==
          (0xFFFF000000000800ull | lo));
    CHECK(k_ioapic_rte_encode(0x32, false, false, true, true, 0x1234, 0) ==
          (0x2469000000000000ull | lo));
    /* the destination is not written in the remappable format */
    CHECK(k_ioapic_rte_encode(0x32, false, false, true, true, 1, 0xff) ==
          (0x0003000000000000ull | lo));
    /* trigger, polarity, mask and vector are the compatibility bits */
    CHECK(k_ioapic_rte_encode(0x4f, true, true, false, true, 0, 0) == 0x000100000000A04Full);
    CHECK(k_ioapic_rte_encode(0x4f, true, false, true, true, 0, 0) == 0x000100000001804Full);
    CHECK(k_ioapic_rte_encode(0x4f, false, true, true, true, 0, 0) == 0x000100000001204Full);
}

/* An I/O APIC sends RTE bits 63:48 as MSI address bits 19:4 and bit 11 as address bit 2 (QEMU
 * ioapic_entry_parse); that must be the remappable MSI address of VT-d 5.1.2.2 (handle[14:0] in
 * 19:5, format bit 4, SHV bit 3 = 0, handle[15] bit 2) for every index. */
static void test_ioapic_rte_gives_the_remappable_msi_address(void)
{
    int bad = 0;
    for (uint32_t index = 0; index <= 0xffff; index++) {
        uint64_t rte = k_ioapic_rte_encode(0x30 + (index & 0x1f), index & 1, index & 2, true, true,
                                           index, 0xff);
        uint32_t addr =
            0xFEE00000u | (uint32_t)((rte >> 48) & 0xffff) << 4 | (uint32_t)((rte >> 11) & 1) << 2;
        uint32_t want = 0xFEE00000u | (index & 0x7fff) << 5 | 1u << 4 | (index >> 15) << 2;
        bad += addr != want || (rte & 0xff) != 0x30 + (index & 0x1f);
    }
    CHECK(bad == 0);
}

int main(void)
{
    test_cdt_revoke_set_is_exactly_the_descendants();
    test_cdt_final_cap_detection_by_neighbours();
    test_cdt_reply_caps_are_always_final_roots();
    test_cdt_move_keeps_position_and_children();
    test_cdt_untyped_caps_never_alias();
    test_untyped_watermark_aligns_and_bounds();
    test_object_sizes();
    test_memmap_merge_remove_complement();
    test_memmap_blocks_are_aligned_and_cover_the_range();
    test_madt_parses_ioapic_and_overrides();
    test_madt_rejects_bad_lengths_and_checksums();
    test_rsdp_found_only_with_valid_checksum();
    test_ioapic_rte_compatibility_format();
    test_ioapic_rte_remappable_format();
    test_ioapic_rte_gives_the_remappable_msi_address();
    if (failures) {
        fprintf(stderr, "kernel_host_tests: %d check(s) failed\n", failures);
        return 1;
    }
    printf("kernel_host_tests: all passed\n");
    return 0;
}
